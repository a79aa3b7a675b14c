//! Source records: one row per billing object, already parsed.
//!
//! Importers produce these, stores keep them keyed by their source key, the simulator generates them.
//! Ids are the source system's ids (strings); the engine interns them into dense integers
//! ([`crate::snapshot`]). Field names follow the neutral file format (`docs/formats.md`).
use crate::fx::Rate;
use crate::money::Currency;
use crate::time::Ts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal $(| $alt:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($var),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn as_str(&self) -> &'static str { match self { $($name::$var => $s),+ } }
            /// The accepted spellings, for error messages.
            pub fn expected() -> String { [$($s),+].join(", ") }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($s $(| $alt)* => Ok($name::$var),)+
                    _ => Err(format!("{:?} is not one of {}", s, $name::expected())),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// Billing interval unit of a recurring price.
    Interval { Day = "day", Week = "week", Month = "month", Year = "year" }
);
string_enum!(
    /// Licensed prices bill a quantity up front; metered prices bill usage in arrears.
    UsageType { Licensed = "licensed", Metered = "metered" }
);
string_enum!(
    PriceType { Recurring = "recurring", OneTime = "one_time" | "onetime" | "one-time" }
);
string_enum!(
    /// Subscription status, Stripe's vocabulary.
    SubscriptionStatus {
        Incomplete = "incomplete",
        IncompleteExpired = "incomplete_expired",
        Trialing = "trialing",
        Active = "active",
        PastDue = "past_due",
        Canceled = "canceled" | "cancelled",
        Unpaid = "unpaid",
        Paused = "paused",
    }
);
string_enum!(
    InvoiceStatus { Draft = "draft", Open = "open", Paid = "paid", Uncollectible = "uncollectible", Void = "void" }
);
string_enum!(
    /// How long a discount applies (Stripe coupon `duration`).
    DiscountDuration { Once = "once", Repeating = "repeating", Forever = "forever" }
);

/// A customer (billing account) row. Several rows with different `valid_from` version its attributes;
/// the row without `valid_from` (or the earliest) is the initial state. Source key: `(id, valid_from)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CustomerRecord {
    pub id: String,
    pub valid_from: Option<Ts>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub domain: Option<String>,
    pub created_at: Option<Ts>,
    /// Other ids of the same account (e.g. in a previous billing system), used for merging.
    pub external_ids: Vec<String>,
    /// Segmentation attributes: `country`, `size`, `channel`, `csm_owner`, any custom column.
    pub attributes: BTreeMap<String, String>,
}

/// A price (Stripe `price`, legacy `plan`). Source key: `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub id: String,
    pub name: Option<String>,
    pub product: Option<String>,
    pub currency: Currency,
    /// Unit amount in minor units.
    pub amount: i64,
    pub price_type: PriceType,
    /// `None` for one-time prices.
    pub interval: Option<Interval>,
    pub interval_count: u32,
    pub usage_type: UsageType,
}

/// A subscription's lifecycle facts. Source key: `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub id: String,
    pub customer_id: String,
    pub status: SubscriptionStatus,
    pub currency: Option<Currency>,
    pub created_at: Option<Ts>,
    pub started_at: Option<Ts>,
    pub trial_start: Option<Ts>,
    pub trial_end: Option<Ts>,
    pub cancel_at_period_end: bool,
    /// Scheduled cancellation instant (Stripe `cancel_at`).
    pub cancel_at: Option<Ts>,
    /// When the cancellation was requested (Stripe `canceled_at`).
    pub canceled_at: Option<Ts>,
    /// When the subscription actually ended (Stripe `ended_at`).
    pub ended_at: Option<Ts>,
    /// When the subscription became `unpaid` (dunning exhausted).
    pub unpaid_since: Option<Ts>,
    pub pause_start: Option<Ts>,
    pub pause_end: Option<Ts>,
    pub cancellation_reason: Option<String>,
}

/// One version of a subscription item's price and quantity, valid over `[valid_from, valid_to)`.
/// Used by `mrr_source = subscription_state` and for CMRR of scheduled changes. Source key: `(id, valid_from)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionItemRecord {
    pub id: String,
    pub subscription_id: String,
    pub plan_id: String,
    pub quantity: i64,
    pub valid_from: Ts,
    pub valid_to: Option<Ts>,
}

/// One item of a scheduled future phase of a subscription (Stripe subscription-schedule phases): from
/// `valid_from` the subscription is to bill `quantity` × `plan_id`, as known from `scheduled_at` until the
/// change takes effect or is `withdrawn_at` (schedule released or canceled). The items of one phase share
/// `(subscription_id, valid_from)`; a phase with no item is written as one row with `quantity = 0`.
/// Used for CMRR only: what is billed comes from invoices or subscription items. Source key: `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledItemRecord {
    pub id: String,
    pub subscription_id: String,
    pub plan_id: String,
    pub quantity: i64,
    pub valid_from: Ts,
    pub valid_to: Option<Ts>,
    pub scheduled_at: Ts,
    pub withdrawn_at: Option<Ts>,
}

/// An invoice header. Source key: `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRecord {
    pub id: String,
    pub customer_id: String,
    pub currency: Currency,
    pub status: InvoiceStatus,
    pub issued_at: Ts,
    pub due_at: Option<Ts>,
    pub paid_at: Option<Ts>,
    /// Invoice total in minor units (after discounts, incl. tax).
    pub total: i64,
    pub amount_paid: i64,
    pub amount_refunded: i64,
}

/// A discount applied to an invoice line: which discount and how much it took off, in minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDiscount {
    pub discount_id: String,
    pub amount: i64,
}

/// An invoice line. Its currency is the invoice's. Source key: `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLineRecord {
    pub id: String,
    pub invoice_id: String,
    pub subscription_id: Option<String>,
    /// Subscription item; lines of one item supersede each other (spec §2.2). Defaults to the subscription.
    pub item_id: Option<String>,
    pub plan_id: Option<String>,
    pub price_type: PriceType,
    pub period_start: Option<Ts>,
    pub period_end: Option<Ts>,
    /// Amount before discounts, including inclusive tax, in minor units (negative for credits).
    pub amount: i64,
    pub discounts: Vec<LineDiscount>,
    /// Inclusive tax contained in `amount`.
    pub tax_inclusive: i64,
    pub quantity: i64,
    pub prorated: bool,
}

/// A coupon/discount definition. Source key: `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountRecord {
    pub id: String,
    pub name: Option<String>,
    pub duration: DiscountDuration,
    pub duration_in_months: Option<u32>,
    /// Percent off in thousandths of a percent (12.5 % = 12_500).
    pub percent_off_milli: Option<i64>,
    pub amount_off: Option<i64>,
    pub currency: Option<Currency>,
    pub customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub start: Option<Ts>,
    pub end: Option<Ts>,
}

/// A daily exchange rate: `rate` units of `quote` per unit of `base` on `day` (UTC day number).
/// Source key: `(day, base, quote)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FxRateRecord {
    pub day: i32,
    pub base: Currency,
    pub quote: Currency,
    pub rate: Rate,
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::money::format_minor(self.0, 9))
    }
}
impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rate::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A parsed record of any kind, as importers stream them into a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Customer(CustomerRecord),
    Plan(PlanRecord),
    Subscription(SubscriptionRecord),
    SubscriptionItem(SubscriptionItemRecord),
    ScheduledItem(ScheduledItemRecord),
    Invoice(InvoiceRecord),
    InvoiceLine(InvoiceLineRecord),
    Discount(DiscountRecord),
    FxRate(FxRateRecord),
}

/// A whole billing data set in memory, row form. Used by the simulator, tests and small imports;
/// large imports stream [`Record`]s instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dataset {
    pub customers: Vec<CustomerRecord>,
    pub plans: Vec<PlanRecord>,
    pub subscriptions: Vec<SubscriptionRecord>,
    pub subscription_items: Vec<SubscriptionItemRecord>,
    pub scheduled_items: Vec<ScheduledItemRecord>,
    pub invoices: Vec<InvoiceRecord>,
    pub invoice_lines: Vec<InvoiceLineRecord>,
    pub discounts: Vec<DiscountRecord>,
    pub fx_rates: Vec<FxRateRecord>,
}

impl Dataset {
    /// Every record, in dependency order (plans and customers before what refers to them).
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.customers
            .iter()
            .cloned()
            .map(Record::Customer)
            .chain(self.plans.iter().cloned().map(Record::Plan))
            .chain(self.discounts.iter().cloned().map(Record::Discount))
            .chain(self.fx_rates.iter().cloned().map(Record::FxRate))
            .chain(self.subscriptions.iter().cloned().map(Record::Subscription))
            .chain(self.subscription_items.iter().cloned().map(Record::SubscriptionItem))
            .chain(self.scheduled_items.iter().cloned().map(Record::ScheduledItem))
            .chain(self.invoices.iter().cloned().map(Record::Invoice))
            .chain(self.invoice_lines.iter().cloned().map(Record::InvoiceLine))
    }

    /// Every record, moved out, in the order of [`Dataset::records`].
    pub fn into_records(self) -> impl Iterator<Item = Record> {
        self.customers
            .into_iter()
            .map(Record::Customer)
            .chain(self.plans.into_iter().map(Record::Plan))
            .chain(self.discounts.into_iter().map(Record::Discount))
            .chain(self.fx_rates.into_iter().map(Record::FxRate))
            .chain(self.subscriptions.into_iter().map(Record::Subscription))
            .chain(self.subscription_items.into_iter().map(Record::SubscriptionItem))
            .chain(self.scheduled_items.into_iter().map(Record::ScheduledItem))
            .chain(self.invoices.into_iter().map(Record::Invoice))
            .chain(self.invoice_lines.into_iter().map(Record::InvoiceLine))
    }

    pub fn push(&mut self, r: Record) {
        match r {
            Record::Customer(x) => self.customers.push(x),
            Record::Plan(x) => self.plans.push(x),
            Record::Subscription(x) => self.subscriptions.push(x),
            Record::SubscriptionItem(x) => self.subscription_items.push(x),
            Record::ScheduledItem(x) => self.scheduled_items.push(x),
            Record::Invoice(x) => self.invoices.push(x),
            Record::InvoiceLine(x) => self.invoice_lines.push(x),
            Record::Discount(x) => self.discounts.push(x),
            Record::FxRate(x) => self.fx_rates.push(x),
        }
    }

    pub fn len(&self) -> usize {
        self.customers.len()
            + self.plans.len()
            + self.subscriptions.len()
            + self.subscription_items.len()
            + self.scheduled_items.len()
            + self.invoices.len()
            + self.invoice_lines.len()
            + self.discounts.len()
            + self.fx_rates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
