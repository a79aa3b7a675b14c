//! Fast proleptic-Gregorian calendar arithmetic on UTC instants.
//!
//! The simulator computes millions of period boundaries; doing them with integer civil-date formulas
//! (H. Hinnant's `days_from_civil`) instead of time-zone-aware date types keeps generation fast. Billing is in
//! UTC, like Stripe's period boundaries.
use holdfast_core::Ts;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic-Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Weekday of a day number, Monday = 0 … Sunday = 6.
pub fn weekday(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32 // 1970-01-01 was a Thursday
}

/// A billing-cycle anchor: an instant whose day of month and time of day are reused for every period boundary,
/// clamped to the month's length (Stripe semantics: an anchor on the 31st bills on Feb 28/29, then Mar 31).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// `year * 12 + month - 1` of the anchor.
    months: i64,
    day: u32,
    secs: i64,
}

impl Anchor {
    pub fn of(ts: Ts) -> Anchor {
        let (y, m, d) = civil_from_days(ts.div_euclid(DAY));
        Anchor { months: y * 12 + m as i64 - 1, day: d, secs: ts.rem_euclid(DAY) }
    }

    /// The anchor moved by `k` calendar months.
    pub fn plus_months(&self, k: i64) -> Ts {
        let mi = self.months + k;
        let y = mi.div_euclid(12);
        let m = (mi.rem_euclid(12) + 1) as u32;
        let d = self.day.min(days_in_month(y, m));
        days_from_civil(y, m, d) * DAY + self.secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdfast_core::time::{date_to_ts, parse_instant};
    use jiff::civil::Date;

    #[test]
    fn civil_round_trips_and_matches_jiff() {
        for day in (-800_000i64..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            let jd = Date::new(y as i16, m as i8, d as i8).unwrap();
            assert_eq!(date_to_ts(jd), day * DAY);
        }
        assert_eq!(weekday(days_from_civil(2023, 1, 1)), 6); // a Sunday
    }

    #[test]
    fn anchors_clamp_like_stripe() {
        let a = Anchor::of(parse_instant("2024-01-31T10:00:00Z").unwrap());
        assert_eq!(a.plus_months(1), parse_instant("2024-02-29T10:00:00Z").unwrap());
        assert_eq!(a.plus_months(2), parse_instant("2024-03-31T10:00:00Z").unwrap());
        assert_eq!(a.plus_months(13), parse_instant("2025-02-28T10:00:00Z").unwrap());
        assert_eq!(a.plus_months(-1), parse_instant("2023-12-31T10:00:00Z").unwrap());
    }
}
