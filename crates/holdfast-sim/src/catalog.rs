//! The simulated company's price book and coupons.
//!
//! | product | USD | EUR | GBP | billing |
//! |---|---|---|---|---|
//! | Starter | 49 | 45 | 39 | flat, per month (annual = 10×) |
//! | Growth | 25 | 23 | 20 | per seat per month (annual = 10×) |
//! | Scale | 45 | 42 | 36 | per seat per month (annual = 10×) |
//! | Enterprise | 80 | 75 | 65 | per seat per month (annual = 10×) |
//! | Insights add-on | 99 | 92 | 79 | flat, monthly, its own subscription |
//! | API calls | 0.50 | 0.45 | 0.40 | per 1,000 calls, metered monthly in arrears |
//! | Onboarding | 1,500 | 1,400 | 1,200 | one-time setup fee |
use holdfast_core::money::Currency;
use holdfast_core::records::{DiscountDuration, DiscountRecord, Interval, PlanRecord, PriceType, UsageType};

pub const CURRENCIES: [Currency; 3] = [Currency::USD, Currency::EUR, Currency::GBP];
const CUR_CODES: [&str; 3] = ["usd", "eur", "gbp"];

/// Subscription tiers, cheapest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Starter,
    Growth,
    Scale,
    Enterprise,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Starter, Tier::Growth, Tier::Scale, Tier::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Starter => "starter",
            Tier::Growth => "growth",
            Tier::Scale => "scale",
            Tier::Enterprise => "enterprise",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Tier::Starter => "Starter",
            Tier::Growth => "Growth",
            Tier::Scale => "Scale",
            Tier::Enterprise => "Enterprise",
        }
    }
    /// Starter is a flat price (quantity 1); the others are priced per seat.
    pub fn per_seat(self) -> bool {
        self != Tier::Starter
    }
    pub fn up(self) -> Option<Tier> {
        match self {
            Tier::Starter => Some(Tier::Growth),
            Tier::Growth => Some(Tier::Scale),
            Tier::Scale => Some(Tier::Enterprise),
            Tier::Enterprise => None,
        }
    }
    pub fn down(self) -> Option<Tier> {
        match self {
            Tier::Starter => None,
            Tier::Growth => Some(Tier::Starter),
            Tier::Scale => Some(Tier::Growth),
            Tier::Enterprise => Some(Tier::Scale),
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// Monthly unit amounts in minor units, by tier then currency (USD, EUR, GBP).
const TIER_MONTHLY: [[i64; 3]; 4] =
    [[4_900, 4_500, 3_900], [2_500, 2_300, 2_000], [4_500, 4_200, 3_600], [8_000, 7_500, 6_500]];
const ADDON_MONTHLY: [i64; 3] = [9_900, 9_200, 7_900];
const METERED_UNIT: [i64; 3] = [50, 45, 40];
const SETUP_FEE: [i64; 3] = [150_000, 140_000, 120_000];

/// Dense plan index; plan ids are in [`plan_ids`] at this index.
pub type PlanIx = u16;

pub fn tier_plan(tier: Tier, annual: bool, cur: usize) -> PlanIx {
    ((tier.index() * 2 + annual as usize) * 3 + cur) as PlanIx
}
pub fn addon_plan(cur: usize) -> PlanIx {
    (24 + cur) as PlanIx
}
pub fn metered_plan(cur: usize) -> PlanIx {
    (27 + cur) as PlanIx
}
pub fn setup_plan(cur: usize) -> PlanIx {
    (30 + cur) as PlanIx
}
pub const PLAN_COUNT: usize = 33;

/// Unit amount of a plan in minor units.
pub fn unit_amount(p: PlanIx) -> i64 {
    let p = p as usize;
    match p {
        0..24 => {
            let cur = p % 3;
            let annual = (p / 3) % 2 == 1;
            let tier = p / 6;
            TIER_MONTHLY[tier][cur] * if annual { 10 } else { 1 }
        }
        24..27 => ADDON_MONTHLY[p - 24],
        27..30 => METERED_UNIT[p - 27],
        _ => SETUP_FEE[p - 30],
    }
}

/// Every price of the catalogue, in plan-index order.
pub fn plan_records() -> Vec<PlanRecord> {
    let mut out = Vec::with_capacity(PLAN_COUNT);
    for tier in Tier::ALL {
        for annual in [false, true] {
            for (cur, code) in CUR_CODES.iter().enumerate() {
                let interval = if annual { "annual" } else { "monthly" };
                out.push(PlanRecord {
                    id: format!("price_{}_{}_{}", tier.as_str(), interval, code),
                    name: Some(format!(
                        "{} ({}{})",
                        tier.title(),
                        interval,
                        if tier.per_seat() { ", per seat" } else { "" }
                    )),
                    product: Some(format!("prod_{}", tier.as_str())),
                    currency: CURRENCIES[cur],
                    amount: unit_amount(tier_plan(tier, annual, cur)),
                    price_type: PriceType::Recurring,
                    interval: Some(if annual { Interval::Year } else { Interval::Month }),
                    interval_count: 1,
                    usage_type: UsageType::Licensed,
                });
            }
        }
    }
    for (cur, code) in CUR_CODES.iter().enumerate() {
        out.push(PlanRecord {
            id: format!("price_insights_monthly_{code}"),
            name: Some("Insights add-on (monthly)".into()),
            product: Some("prod_insights".into()),
            currency: CURRENCIES[cur],
            amount: ADDON_MONTHLY[cur],
            price_type: PriceType::Recurring,
            interval: Some(Interval::Month),
            interval_count: 1,
            usage_type: UsageType::Licensed,
        });
    }
    for (cur, code) in CUR_CODES.iter().enumerate() {
        out.push(PlanRecord {
            id: format!("price_api_calls_metered_{code}"),
            name: Some("API calls (per 1,000, metered)".into()),
            product: Some("prod_api".into()),
            currency: CURRENCIES[cur],
            amount: METERED_UNIT[cur],
            price_type: PriceType::Recurring,
            interval: Some(Interval::Month),
            interval_count: 1,
            usage_type: UsageType::Metered,
        });
    }
    for (cur, code) in CUR_CODES.iter().enumerate() {
        out.push(PlanRecord {
            id: format!("price_onboarding_{code}"),
            name: Some("Onboarding (one-time setup fee)".into()),
            product: Some("prod_onboarding".into()),
            currency: CURRENCIES[cur],
            amount: SETUP_FEE[cur],
            price_type: PriceType::OneTime,
            interval: None,
            interval_count: 1,
            usage_type: UsageType::Licensed,
        });
    }
    debug_assert_eq!(out.len(), PLAN_COUNT);
    out
}

pub fn plan_ids() -> Vec<String> {
    plan_records().into_iter().map(|p| p.id).collect()
}

/// Coupons the company hands out. Each application to a customer is its own [`DiscountRecord`]
/// (`di_<customer>_<n>`), carrying the coupon's terms plus customer, subscription, start and end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coupon {
    /// 50 % off the first paid invoice (once).
    Welcome50,
    /// 20 % off for 3 months (repeating).
    Launch20,
    /// 10 % partner discount, forever.
    Partner10,
    /// 100 USD off the first invoice (once, amount off, USD only).
    Save100,
    /// 100 % off one invoice: a goodwill month granted by customer success (once).
    FreeMonth,
}

impl Coupon {
    pub const ALL: [Coupon; 5] =
        [Coupon::Welcome50, Coupon::Launch20, Coupon::Partner10, Coupon::Save100, Coupon::FreeMonth];

    pub fn id(self) -> &'static str {
        match self {
            Coupon::Welcome50 => "co_welcome50",
            Coupon::Launch20 => "co_launch20",
            Coupon::Partner10 => "co_partner10",
            Coupon::Save100 => "co_save100_usd",
            Coupon::FreeMonth => "co_free_month",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Coupon::Welcome50 => "WELCOME50 — 50% off the first invoice",
            Coupon::Launch20 => "LAUNCH20 — 20% off for 3 months",
            Coupon::Partner10 => "PARTNER10 — 10% partner discount",
            Coupon::Save100 => "SAVE100 — $100 off the first invoice",
            Coupon::FreeMonth => "FREEMONTH — goodwill month, 100% off",
        }
    }
    pub fn duration(self) -> DiscountDuration {
        match self {
            Coupon::Welcome50 | Coupon::Save100 | Coupon::FreeMonth => DiscountDuration::Once,
            Coupon::Launch20 => DiscountDuration::Repeating,
            Coupon::Partner10 => DiscountDuration::Forever,
        }
    }
    pub fn duration_in_months(self) -> Option<u32> {
        (self == Coupon::Launch20).then_some(3)
    }
    /// Percent off in thousandths of a percent.
    pub fn percent_off_milli(self) -> Option<i64> {
        match self {
            Coupon::Welcome50 => Some(50_000),
            Coupon::Launch20 => Some(20_000),
            Coupon::Partner10 => Some(10_000),
            Coupon::FreeMonth => Some(100_000),
            Coupon::Save100 => None,
        }
    }
    pub fn amount_off(self) -> Option<(i64, Currency)> {
        (self == Coupon::Save100).then_some((10_000, Currency::USD))
    }

    /// The coupon definition (no customer, no dates).
    pub fn record(self) -> DiscountRecord {
        let off = self.amount_off();
        DiscountRecord {
            id: self.id().to_string(),
            name: Some(self.name().to_string()),
            duration: self.duration(),
            duration_in_months: self.duration_in_months(),
            percent_off_milli: self.percent_off_milli(),
            amount_off: off.map(|o| o.0),
            currency: off.map(|o| o.1),
            customer_id: None,
            subscription_id: None,
            start: None,
            end: None,
        }
    }
}

pub fn coupon_records() -> Vec<DiscountRecord> {
    Coupon::ALL.iter().map(|c| c.record()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_indexes_match_records() {
        let recs = plan_records();
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r.amount, unit_amount(i as PlanIx), "{}", r.id);
        }
        assert_eq!(recs[tier_plan(Tier::Scale, true, 1) as usize].id, "price_scale_annual_eur");
        assert_eq!(recs[addon_plan(2) as usize].id, "price_insights_monthly_gbp");
        assert_eq!(recs[metered_plan(0) as usize].usage_type, UsageType::Metered);
        assert_eq!(recs[setup_plan(0) as usize].price_type, PriceType::OneTime);
        assert_eq!(unit_amount(tier_plan(Tier::Growth, true, 0)), 25_000);
    }
}
