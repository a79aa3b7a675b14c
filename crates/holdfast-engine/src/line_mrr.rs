//! Line MRR (spec §2.1): eligibility, monthly normalisation, proration factor, discounts, tax.
use crate::settings::{DiscountPolicy, IntervalNormalisation, Settings};
use holdfast_core::money::div_round;
use holdfast_core::records::{DiscountDuration, Interval};
use holdfast_core::time::SECS_PER_DAY;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// `F` as a rational `num/den`: the factor that turns one billing interval's amount into a month's.
#[inline]
pub fn monthly_factor(interval: Interval, count: u32, norm: IntervalNormalisation) -> (i128, i128) {
    let n = count.max(1) as i128;
    match (interval, norm) {
        (Interval::Month, _) => (1, n),
        (Interval::Year, _) => (1, 12 * n),
        (Interval::Week, IntervalNormalisation::Exact) => (52, 12 * n),
        (Interval::Day, IntervalNormalisation::Exact) => (365, 12 * n),
        (Interval::Week, IntervalNormalisation::Calendar30) => (4, n),
        (Interval::Day, IntervalNormalisation::Calendar30) => (30, n),
    }
}

/// Shifts an instant by a number of calendar units in UTC (negative = back).
pub fn add_interval(ts: i64, interval: Interval, count: i64) -> i64 {
    let Ok(t) = Timestamp::from_second(ts) else { return ts };
    let z = t.to_zoned_datetime(TimeZone::UTC);
    let span = match interval {
        Interval::Day => count.days(),
        Interval::Week => count.weeks(),
        Interval::Month => count.months(),
        Interval::Year => count.years(),
    };
    z.checked_add(span).map(|z| z.timestamp().as_second()).unwrap_or(ts)
}

/// The interval of a line whose price is unknown, from its service period: whole months if within ±3 days
/// of a whole number of months (2- and 3-year terms included), else `None` (then `F = 365/(12·days)`).
pub fn infer_months(a: i64, b: i64) -> Option<u32> {
    let days = (b - a) as f64 / SECS_PER_DAY as f64;
    let approx = (days / 30.436875).round() as i64;
    for m in [approx - 1, approx, approx + 1] {
        if m >= 1 && m <= 36 {
            let end = add_interval(a, Interval::Month, m);
            if (end - b).abs() <= 3 * SECS_PER_DAY {
                return Some(m as u32);
            }
        }
    }
    None
}

/// Discount amounts of one line split by duration.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineDiscounts {
    pub once: i64,
    pub repeating: i64,
    pub forever: i64,
    /// When the earliest once/repeating discount ends, if known.
    pub temp_end: Option<i64>,
}

impl LineDiscounts {
    pub fn add(&mut self, d: DiscountDuration, amount: i64) {
        match d {
            DiscountDuration::Once => self.once += amount,
            DiscountDuration::Repeating => self.repeating += amount,
            DiscountDuration::Forever => self.forever += amount,
        }
    }
    /// The part of what `policy` subtracts that will run out (once and repeating discounts).
    pub fn temporary(&self, policy: DiscountPolicy) -> i64 {
        match policy {
            DiscountPolicy::Net => self.once + self.repeating,
            DiscountPolicy::RecurringOnly => self.repeating,
            DiscountPolicy::ForeverOnly | DiscountPolicy::ListPrice => 0,
        }
    }

    /// The discounts that `policy` subtracts.
    pub fn applied(&self, policy: DiscountPolicy) -> i64 {
        match policy {
            DiscountPolicy::Net => self.once + self.repeating + self.forever,
            DiscountPolicy::RecurringOnly => self.repeating + self.forever,
            DiscountPolicy::ForeverOnly => self.forever,
            DiscountPolicy::ListPrice => 0,
        }
    }
}

/// Inputs for one line's MRR.
#[derive(Clone, Copy, Debug)]
pub struct LineFacts {
    pub amount: i64,
    pub tax_inclusive: i64,
    pub a: i64,
    pub b: i64,
    pub prorated: bool,
    pub interval: Option<(Interval, u32)>,
}

/// `MRR_ℓ = round((A − D − T) × F × G)` in the line currency, exactly, rounding once.
pub fn line_mrr(f: &LineFacts, discount: i64, s: &Settings) -> i64 {
    let net64 = f.amount - discount - f.tax_inclusive;
    // fast path: a whole monthly period (the bulk of lines) needs no division
    if !f.prorated && matches!(f.interval, Some((Interval::Month, 1))) {
        return net64;
    }
    let net = net64 as i128;
    let len = (f.b - f.a).max(1) as i128;
    let (fnum, fden) = match f.interval {
        Some((iv, n)) => monthly_factor(iv, n, s.interval_normalisation),
        None => match infer_months(f.a, f.b) {
            Some(m) => (1, m as i128),
            None => (365 * SECS_PER_DAY as i128, 12 * len),
        },
    };
    let (gnum, gden) = if f.prorated {
        let full = match f.interval {
            Some((iv, n)) => f.b - add_interval(f.b, iv, -(n as i64)),
            None => match infer_months(f.a, f.b) {
                Some(m) => f.b - add_interval(f.b, Interval::Month, -(m as i64)),
                None => f.b - f.a,
            },
        };
        (full.max(1) as i128, len)
    } else {
        (1, 1)
    };
    div_round(net * fnum * gnum, fden * gden, s.rounding) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdfast_core::time::parse_instant as t;

    fn facts(amount: i64, a: &str, b: &str, prorated: bool, iv: Option<(Interval, u32)>) -> LineFacts {
        LineFacts { amount, tax_inclusive: 0, a: t(a).unwrap(), b: t(b).unwrap(), prorated, interval: iv }
    }

    #[test]
    fn cm_formula_90_per_quarter_is_30() {
        let s = Settings::default();
        let f = facts(9000, "2025-01-01", "2025-04-01", false, Some((Interval::Month, 3)));
        assert_eq!(line_mrr(&f, 0, &s), 3000);
        // unknown interval inferred from the period
        let f = facts(9000, "2025-01-01", "2025-04-01", false, None);
        assert_eq!(line_mrr(&f, 0, &s), 3000);
    }

    #[test]
    fn p1_prorated_line_uses_full_period_over_partial() {
        let s = Settings::default();
        let f = facts(2500, "2016-03-16T00:00:00Z", "2016-04-01T00:00:00Z", true, Some((Interval::Month, 1)));
        assert_eq!(line_mrr(&f, 0, &s), 4844);
    }

    #[test]
    fn yearly_weekly_daily_and_calendar_30() {
        let mut s = Settings::default();
        assert_eq!(line_mrr(&facts(200_000, "2025-01-01", "2026-01-01", false, Some((Interval::Year, 1))), 0, &s), 16_667);
        assert_eq!(line_mrr(&facts(1_200, "2025-01-01", "2025-01-08", false, Some((Interval::Week, 1))), 0, &s), 5_200);
        s.interval_normalisation = IntervalNormalisation::Calendar30;
        assert_eq!(line_mrr(&facts(1_200, "2025-01-01", "2025-01-08", false, Some((Interval::Week, 1))), 0, &s), 4_800);
        assert_eq!(line_mrr(&facts(100, "2025-01-01", "2025-01-02", false, Some((Interval::Day, 1))), 0, &s), 3_000);
    }

    #[test]
    fn two_year_term_from_period() {
        assert_eq!(infer_months(t("2024-01-01").unwrap(), t("2026-01-01").unwrap()), Some(24));
        assert_eq!(infer_months(t("2024-01-01").unwrap(), t("2024-01-20").unwrap()), None);
    }
}
