//! Policy settings (spec §2.3) and report settings, with the vendor presets.
//!
//! Every setting has a documented default (`Settings::default()` is the `holdfast` preset). A preset sets a
//! coherent group of policies; explicit keys in `holdfast.toml` or on the command line override it.
use holdfast_core::money::RoundingMode;
use holdfast_core::records::Interval;
use holdfast_core::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

macro_rules! policy_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($var),+ }
        impl $name {
            pub fn as_str(&self) -> &'static str { match self { $($name::$var => $s),+ } }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim() { $($s => Ok($name::$var),)+
                    _ => Err(format!("{:?} is not one of {}", s, [$($s),+].join(", "))) }
            }
        }
    };
}

policy_enum!(Preset { Holdfast = "holdfast", Chartmogul = "chartmogul", Baremetrics = "baremetrics", Profitwell = "profitwell", Stripe = "stripe" });
policy_enum!(MrrSource { InvoiceLines = "invoice_lines", SubscriptionState = "subscription_state" });
policy_enum!(DiscountPolicy { Net = "net", ForeverOnly = "forever_only", RecurringOnly = "recurring_only", ListPrice = "list_price" });
policy_enum!(ChurnRecognition { BillingSystem = "billing_system", ServicePeriodEnd = "service_period_end", Scheduled = "scheduled" });
policy_enum!(InvoiceThreshold { Paid = "paid", PartiallyPaid = "partially_paid", Issued = "issued" });
policy_enum!(RefundPolicy { Ignore = "ignore", ExcludeFullyRefunded = "exclude_fully_refunded", Deduct = "deduct" });
policy_enum!(UncollectiblePolicy { Include = "include", Exclude = "exclude" });
policy_enum!(ZeroMrrPolicy { Active = "active", Churn = "churn" });
policy_enum!(PausePolicy { Zero = "zero", Keep = "keep", Churn = "churn" });
policy_enum!(SamePeriodPolicy { Keep = "keep", Drop = "drop" });
policy_enum!(FxPolicy { ServiceStartRate = "service_start_rate", PeriodEndRate = "period_end_rate", FixedTable = "fixed_table" });
policy_enum!(IntervalNormalisation { Exact = "exact", Calendar30 = "calendar_30" });
policy_enum!(CustomerChurnFormula { StartingBase = "starting_base", DailySum = "daily_sum", Rolling = "rolling", Stripe = "stripe" });
policy_enum!(RateScope { StartingBase = "starting_base", AllMovements = "all_movements" });
policy_enum!(RetentionMethod { Movements = "movements", PointToPoint = "point_to_point" });
policy_enum!(RenewalBasis { Logo = "logo", Revenue = "revenue" });
policy_enum!(ArpuUnit { Customer = "customer", Seat = "seat" });
policy_enum!(LtvFormula { ArpaOverTrailingChurn = "arpa_over_trailing_churn", ArpaOverPeriodChurn = "arpa_over_period_churn" });
policy_enum!(SegmentHistory { Versioned = "versioned", Current = "current" });
policy_enum!(MergeRule { ExternalId = "external_id", EmailDomain = "email_domain" });

/// All engine settings. Field docs give the default (the `holdfast` preset).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The preset these settings started from (`holdfast`).
    pub preset: Preset,
    /// Where MRR comes from: `invoice_lines` (default) or `subscription_state` (§2.5).
    pub mrr_source: MrrSource,
    /// `net`: every discount while applied (start = contraction, expiry = expansion).
    pub discount_policy: DiscountPolicy,
    /// Standalone credits (negative, non-prorated recurring lines) reduce MRR. Default `false`.
    pub credits_reduce_mrr: bool,
    /// Metered prices count (over their usage period). Default `false`.
    pub include_metered: bool,
    /// When a cancelled subscription stops counting. Default `billing_system` (the source's `ended_at`).
    pub churn_recognition: ChurnRecognition,
    /// Which first invoice makes a customer new. Default `paid` (backdated to the service start).
    pub new_customer_on: InvoiceThreshold,
    /// Which later invoices update MRR. Default `issued`.
    pub existing_mrr_update_on: InvoiceThreshold,
    pub refund_policy: RefundPolicy,
    pub uncollectible_policy: UncollectiblePolicy,
    /// Days past due after which a subscription is churned (`auto-churned-delinquent`). Default none.
    pub delinquency_churn_days: Option<u32>,
    /// A subscription whose dunning ended `unpaid` is churned at that moment. Default `true`.
    pub unpaid_is_churn: bool,
    /// A paying customer at $0: `active` (contraction) or `churn`. Default `active`.
    pub zero_mrr_policy: ZeroMrrPolicy,
    /// Paused subscriptions: `zero` (then `zero_mrr_policy`), `keep`, `churn`. Default `zero`.
    pub pause_policy: PausePolicy,
    /// Changes of one customer within this many minutes of a group's first change are netted. Default 60.
    pub grouping_window_minutes: u32,
    /// Returns after more than this many days are `new_business` (`returning`). Default none (any return
    /// is a reactivation).
    pub reactivation_window_days: Option<u32>,
    /// `drop` ignores customers whose first payment and churn fall in one calendar month. Default `keep`.
    pub same_period_policy: SamePeriodPolicy,
    pub fx_policy: FxPolicy,
    /// Fixed rates into the reporting currency for `fx_policy = fixed_table` (e.g. `EUR = "1.08"`).
    pub fx_fixed_rates: BTreeMap<String, String>,
    pub interval_normalisation: IntervalNormalisation,
    pub reporting_currency: Currency,
    /// IANA time zone of period boundaries. Default `UTC`.
    pub timezone: String,
    pub rounding: RoundingMode,
    pub customer_churn_formula: CustomerChurnFormula,
    /// Base of gross/net MRR churn: movements of the starting base only (default) or all movements.
    pub rate_scope: RateScope,
    /// GRR/NRR method: `movements` (default) or `point_to_point`.
    pub retention_method: RetentionMethod,
    pub quick_ratio_include_reactivation: bool,
    /// A term is renewed if it continues or is replaced within this many days. Default 7.
    pub renewal_grace_days: u32,
    /// Shortest billing interval whose terms count for renewal rates. Default `month`.
    pub renewal_min_interval: Interval,
    pub renewal_rate_basis: RenewalBasis,
    /// Window of `early_cancellation_rate`, days. Default 90.
    pub early_window_days: u32,
    /// Gross margin applied to LTV (0..1). Default 1.0.
    pub gross_margin: f64,
    pub arpu_unit: ArpuUnit,
    pub ltv_formula: LtvFormula,
    pub cmrr_include_trials: bool,
    /// Only changes taking effect within this many days count for CMRR. Default none (unbounded).
    pub cmrr_horizon_days: Option<u32>,
    pub segment_history: SegmentHistory,
    /// Rules that merge duplicate customer records into one account (spec §1). Default
    /// `[external_id, email_domain]`; free-mail domains never merge.
    pub merge_customers_on: Vec<MergeRule>,
    /// Explicit merges, `customer id → id of the account it belongs to` (a mapping file; wins over rules
    /// for the surviving id).
    pub merge_map: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            preset: Preset::Holdfast,
            mrr_source: MrrSource::InvoiceLines,
            discount_policy: DiscountPolicy::Net,
            credits_reduce_mrr: false,
            include_metered: false,
            churn_recognition: ChurnRecognition::BillingSystem,
            new_customer_on: InvoiceThreshold::Paid,
            existing_mrr_update_on: InvoiceThreshold::Issued,
            refund_policy: RefundPolicy::Ignore,
            uncollectible_policy: UncollectiblePolicy::Include,
            delinquency_churn_days: None,
            unpaid_is_churn: true,
            zero_mrr_policy: ZeroMrrPolicy::Active,
            pause_policy: PausePolicy::Zero,
            grouping_window_minutes: 60,
            reactivation_window_days: None,
            same_period_policy: SamePeriodPolicy::Keep,
            fx_policy: FxPolicy::ServiceStartRate,
            fx_fixed_rates: BTreeMap::new(),
            interval_normalisation: IntervalNormalisation::Exact,
            reporting_currency: Currency::USD,
            timezone: "UTC".into(),
            rounding: RoundingMode::HalfAwayFromZero,
            customer_churn_formula: CustomerChurnFormula::StartingBase,
            rate_scope: RateScope::StartingBase,
            retention_method: RetentionMethod::Movements,
            quick_ratio_include_reactivation: false,
            renewal_grace_days: 7,
            renewal_min_interval: Interval::Month,
            renewal_rate_basis: RenewalBasis::Logo,
            early_window_days: 90,
            gross_margin: 1.0,
            arpu_unit: ArpuUnit::Customer,
            ltv_formula: LtvFormula::ArpaOverTrailingChurn,
            cmrr_include_trials: false,
            cmrr_horizon_days: None,
            segment_history: SegmentHistory::Versioned,
            merge_customers_on: vec![MergeRule::ExternalId, MergeRule::EmailDomain],
            merge_map: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// The settings of a preset. Each preset follows the vendor's documented behaviour (spec §2.3).
    pub fn preset(p: Preset) -> Settings {
        let mut s = Settings { preset: p, ..Settings::default() };
        match p {
            Preset::Holdfast => {}
            Preset::Chartmogul => {
                // CM keeps MRR for unpaid subscriptions and paused Stripe subscriptions (as past due).
                s.unpaid_is_churn = false;
                s.pause_policy = PausePolicy::Keep;
            }
            Preset::Baremetrics => {
                s.mrr_source = MrrSource::SubscriptionState;
                s.delinquency_churn_days = Some(30);
                s.zero_mrr_policy = ZeroMrrPolicy::Churn;
                s.grouping_window_minutes = 0;
                s.customer_churn_formula = CustomerChurnFormula::Rolling;
                s.ltv_formula = LtvFormula::ArpaOverPeriodChurn;
            }
            Preset::Profitwell => {
                s.credits_reduce_mrr = true;
                s.include_metered = true;
                s.churn_recognition = ChurnRecognition::ServicePeriodEnd;
                s.same_period_policy = SamePeriodPolicy::Drop;
                s.grouping_window_minutes = 0;
            }
            Preset::Stripe => {
                s.mrr_source = MrrSource::SubscriptionState;
                s.new_customer_on = InvoiceThreshold::Issued;
                s.grouping_window_minutes = 0;
                s.customer_churn_formula = CustomerChurnFormula::Stripe;
                s.ltv_formula = LtvFormula::ArpaOverPeriodChurn;
            }
        }
        s
    }

    /// Sets one key from its string form (`--set key=value` and config files share this path).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        fn opt_u32(v: &str) -> Result<Option<u32>, String> {
            match v.trim() {
                "" | "none" | "null" | "off" => Ok(None),
                x => x.parse().map(Some).map_err(|_| format!("{v:?} is not a whole number or none")),
            }
        }
        fn boolean(v: &str) -> Result<bool, String> {
            match v.trim() {
                "true" | "yes" | "1" => Ok(true),
                "false" | "no" | "0" => Ok(false),
                _ => Err(format!("{v:?} is not true or false")),
            }
        }
        let e = |r: Result<(), String>| r.map_err(|m| format!("setting `{key}`: {m}"));
        e((|| {
            match key {
                "preset" => {
                    let p: Preset = value.parse()?;
                    *self = Settings::preset(p);
                }
                "mrr_source" => self.mrr_source = value.parse()?,
                "discount_policy" => self.discount_policy = value.parse()?,
                "credits_reduce_mrr" => self.credits_reduce_mrr = boolean(value)?,
                "include_metered" => self.include_metered = boolean(value)?,
                "churn_recognition" => self.churn_recognition = value.parse()?,
                "new_customer_on" => self.new_customer_on = value.parse()?,
                "existing_mrr_update_on" => self.existing_mrr_update_on = value.parse()?,
                "refund_policy" => self.refund_policy = value.parse()?,
                "uncollectible_policy" => self.uncollectible_policy = value.parse()?,
                "delinquency_churn_days" => self.delinquency_churn_days = opt_u32(value)?,
                "unpaid_is_churn" => self.unpaid_is_churn = boolean(value)?,
                "zero_mrr_policy" => self.zero_mrr_policy = value.parse()?,
                "pause_policy" => self.pause_policy = value.parse()?,
                "grouping_window_minutes" => {
                    self.grouping_window_minutes = value.trim().parse().map_err(|_| format!("{value:?} is not minutes"))?;
                    if self.grouping_window_minutes > 24 * 60 {
                        return Err("must be between 0 and 1440 minutes".into());
                    }
                }
                "reactivation_window_days" => self.reactivation_window_days = opt_u32(value)?,
                "same_period_policy" => self.same_period_policy = value.parse()?,
                "fx_policy" => self.fx_policy = value.parse()?,
                "interval_normalisation" => self.interval_normalisation = value.parse()?,
                "reporting_currency" => self.reporting_currency = Currency::parse(value)?,
                "timezone" => {
                    holdfast_core::time::Calendar::new(holdfast_core::Grain::Month, value)?;
                    self.timezone = value.trim().to_string()
                }
                "rounding" => {
                    self.rounding = match value.trim() {
                        "half_away_from_zero" => RoundingMode::HalfAwayFromZero,
                        "half_even" => RoundingMode::HalfEven,
                        _ => return Err(format!("{value:?} is not half_away_from_zero or half_even")),
                    }
                }
                "customer_churn_formula" => self.customer_churn_formula = value.parse()?,
                "rate_scope" => self.rate_scope = value.parse()?,
                "retention_method" => self.retention_method = value.parse()?,
                "quick_ratio_include_reactivation" => self.quick_ratio_include_reactivation = boolean(value)?,
                "renewal_grace_days" => self.renewal_grace_days = value.trim().parse().map_err(|_| format!("{value:?} is not days"))?,
                "renewal_min_interval" => self.renewal_min_interval = value.parse()?,
                "renewal_rate_basis" => self.renewal_rate_basis = value.parse()?,
                "early_window_days" => self.early_window_days = value.trim().parse().map_err(|_| format!("{value:?} is not days"))?,
                "gross_margin" => {
                    let g: f64 = value.trim().parse().map_err(|_| format!("{value:?} is not a number"))?;
                    if !(0.0..=1.0).contains(&g) {
                        return Err("must be between 0 and 1".into());
                    }
                    self.gross_margin = g
                }
                "arpu_unit" => self.arpu_unit = value.parse()?,
                "ltv_formula" => self.ltv_formula = value.parse()?,
                "cmrr_include_trials" => self.cmrr_include_trials = boolean(value)?,
                "cmrr_horizon_days" => self.cmrr_horizon_days = opt_u32(value)?,
                "segment_history" => self.segment_history = value.parse()?,
                "merge_customers_on" => {
                    let v = value.trim().trim_start_matches('[').trim_end_matches(']');
                    self.merge_customers_on = if matches!(v.trim(), "" | "none") {
                        vec![]
                    } else {
                        v.split(',').map(|x| x.trim().trim_matches('"').parse()).collect::<Result<_, _>>()?
                    };
                }
                _ => return Err("unknown setting".into()),
            }
            Ok(())
        })())
    }

    /// A short stable hash of the settings, carried by every result (`settings_hash`, spec §1).
    pub fn hash(&self) -> String {
        let text = format!("{self:?}");
        let mut h: u64 = 0xcbf29ce484222325;
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("{h:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_differ_from_default_and_keys_override() {
        assert_eq!(Settings::preset(Preset::Holdfast), Settings::default());
        let mut s = Settings::preset(Preset::Baremetrics);
        assert_eq!(s.zero_mrr_policy, ZeroMrrPolicy::Churn);
        s.set("zero_mrr_policy", "active").unwrap();
        assert_eq!(s.zero_mrr_policy, ZeroMrrPolicy::Active);
        assert_eq!(s.preset, Preset::Baremetrics);
        assert!(s.set("grouping_window_minutes", "5000").unwrap_err().contains("grouping_window_minutes"));
        assert!(s.set("nope", "1").unwrap_err().contains("unknown setting"));
        s.set("delinquency_churn_days", "none").unwrap();
        assert_eq!(s.delinquency_churn_days, None);
        assert_ne!(Settings::default().hash(), s.hash());
    }
}
