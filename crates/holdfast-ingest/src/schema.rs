//! The columns of every neutral file, in the order the writer emits them.
//!
//! Each kind is a module with one `usize` constant per column (its slot) and `COLS`, the column specs.
//! A column has a canonical name, an optional alias (`id` for the primary key) and whether the column must
//! be present in a CSV header.
use crate::SourceKind;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Col {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    /// The column must be in a CSV header (and its value in every row).
    pub required: bool,
}

impl Col {
    pub fn matches(&self, s: &str) -> bool {
        self.name == s || self.alias == Some(s)
    }
}

macro_rules! schema {
    ($m:ident { $($id:ident = $name:literal $(/ $alias:literal)? $(: $req:ident)? ;)* }) => {
        #[allow(dead_code)]
        pub(crate) mod $m {
            use super::Col;
            #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
            #[repr(usize)]
            enum Idx { $($id),* }
            $(pub const $id: usize = Idx::$id as usize;)*
            pub const COLS: &[Col] = &[$(Col {
                name: $name,
                alias: schema!(@alias $($alias)?),
                required: schema!(@req $($req)?),
            }),*];
        }
    };
    (@alias) => { None };
    (@alias $a:literal) => { Some($a) };
    (@req) => { false };
    (@req $r:ident) => { true };
}

schema!(customer {
    ID = "customer_id" / "id": required;
    EXTERNAL_IDS = "external_ids";
    NAME = "name";
    EMAIL = "email";
    DOMAIN = "domain";
    CREATED_AT = "created_at";
    VALID_FROM = "valid_from";
});

schema!(plan {
    ID = "plan_id" / "id": required;
    NAME = "name";
    PRODUCT = "product";
    CURRENCY = "currency": required;
    AMOUNT = "amount": required;
    PRICE_TYPE = "price_type": required;
    INTERVAL = "interval";
    INTERVAL_COUNT = "interval_count";
    USAGE_TYPE = "usage_type";
});

schema!(discount {
    ID = "discount_id" / "id": required;
    NAME = "name";
    DURATION = "duration": required;
    DURATION_IN_MONTHS = "duration_in_months";
    PERCENT_OFF = "percent_off";
    AMOUNT_OFF = "amount_off";
    CURRENCY = "currency";
    CUSTOMER_ID = "customer_id";
    SUBSCRIPTION_ID = "subscription_id";
    START = "start";
    END = "end";
});

schema!(fx {
    DATE = "date": required;
    BASE = "base": required;
    QUOTE = "quote": required;
    RATE = "rate": required;
});

schema!(subscription {
    ID = "subscription_id" / "id": required;
    CUSTOMER_ID = "customer_id": required;
    STATUS = "status": required;
    CURRENCY = "currency";
    CREATED_AT = "created_at";
    STARTED_AT = "started_at";
    TRIAL_START = "trial_start";
    TRIAL_END = "trial_end";
    CANCEL_AT_PERIOD_END = "cancel_at_period_end";
    CANCEL_AT = "cancel_at";
    CANCELED_AT = "canceled_at";
    ENDED_AT = "ended_at";
    UNPAID_SINCE = "unpaid_since";
    PAUSE_START = "pause_start";
    PAUSE_END = "pause_end";
    CANCELLATION_REASON = "cancellation_reason";
});

schema!(item {
    ID = "item_id" / "id": required;
    SUBSCRIPTION_ID = "subscription_id": required;
    PLAN_ID = "plan_id": required;
    QUANTITY = "quantity";
    VALID_FROM = "valid_from": required;
    VALID_TO = "valid_to";
});

schema!(scheduled {
    ID = "scheduled_item_id" / "id": required;
    SUBSCRIPTION_ID = "subscription_id": required;
    PLAN_ID = "plan_id": required;
    QUANTITY = "quantity";
    VALID_FROM = "valid_from": required;
    VALID_TO = "valid_to";
    SCHEDULED_AT = "scheduled_at": required;
    WITHDRAWN_AT = "withdrawn_at";
});

schema!(invoice {
    ID = "invoice_id" / "id": required;
    CUSTOMER_ID = "customer_id": required;
    CURRENCY = "currency": required;
    STATUS = "status": required;
    ISSUED_AT = "issued_at": required;
    DUE_AT = "due_at";
    PAID_AT = "paid_at";
    TOTAL = "total": required;
    AMOUNT_PAID = "amount_paid";
    AMOUNT_REFUNDED = "amount_refunded";
});

schema!(line {
    ID = "line_id" / "id": required;
    INVOICE_ID = "invoice_id": required;
    CURRENCY = "currency";
    SUBSCRIPTION_ID = "subscription_id";
    ITEM_ID = "item_id";
    PLAN_ID = "plan_id";
    PRICE_TYPE = "price_type": required;
    PERIOD_START = "period_start";
    PERIOD_END = "period_end";
    AMOUNT = "amount": required;
    DISCOUNTS = "discounts";
    TAX_INCLUSIVE = "tax_inclusive";
    QUANTITY = "quantity";
    PRORATED = "prorated";
});

pub(crate) fn cols(kind: SourceKind) -> &'static [Col] {
    match kind {
        SourceKind::Customers => customer::COLS,
        SourceKind::Plans => plan::COLS,
        SourceKind::Discounts => discount::COLS,
        SourceKind::FxRates => fx::COLS,
        SourceKind::Subscriptions => subscription::COLS,
        SourceKind::SubscriptionItems => item::COLS,
        SourceKind::ScheduledItems => scheduled::COLS,
        SourceKind::Invoices => invoice::COLS,
        SourceKind::InvoiceLines => line::COLS,
    }
}

/// Human list of a kind's columns for error messages: `plan_id (or id), name, …`.
pub(crate) fn describe(kind: SourceKind) -> String {
    let mut s = String::new();
    for (i, c) in cols(kind).iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(c.name);
        if let Some(a) = c.alias {
            s.push_str(" (or ");
            s.push_str(a);
            s.push(')');
        }
    }
    s
}
