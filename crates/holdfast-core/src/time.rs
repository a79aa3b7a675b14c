//! Instants, grains and periods.
//!
//! An instant is `Ts`: whole seconds since the Unix epoch, UTC. Periods are half-open `[start, end)` whose
//! boundaries are computed in the reporting time zone (spec §1), so a "month" in `Europe/Berlin` starts at
//! local midnight of the 1st.
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Seconds since 1970-01-01T00:00:00Z.
pub type Ts = i64;
pub const SECS_PER_DAY: i64 = 86_400;

/// Parses an ISO-8601 instant: RFC 3339 with `Z` or an offset (`2025-04-01T12:00:00Z`,
/// `2025-04-01T14:00:00+02:00`), or a bare date (`2025-04-01`, midnight UTC). Fractions of a second are
/// truncated. Naive date-times without an offset are rejected: they are ambiguous.
pub fn parse_instant(s: &str) -> Result<Ts, String> {
    let t = s.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts.as_second());
    }
    if t.len() == 10 {
        if let Ok(d) = t.parse::<Date>() {
            return Ok(date_to_ts(d));
        }
    }
    Err(format!("{s:?} is not an ISO-8601 UTC instant (expected e.g. 2025-04-01T12:00:00Z or 2025-04-01)"))
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    s.trim().parse::<Date>().map_err(|_| format!("{s:?} is not a date (expected YYYY-MM-DD)"))
}

pub fn date_to_ts(d: Date) -> Ts {
    d.to_zoned_datetime(TimeZone::UTC).map(|z| z.timestamp().as_second()).unwrap_or(0)
}

/// UTC day number (days since 1970-01-01) of an instant.
#[inline]
pub fn day_of(ts: Ts) -> i32 {
    ts.div_euclid(SECS_PER_DAY) as i32
}

pub fn day_to_date(day: i32) -> Date {
    Timestamp::from_second(day as i64 * SECS_PER_DAY).map(|t| t.to_zoned_datetime(TimeZone::UTC).date()).unwrap_or_default()
}

pub fn date_to_day(d: Date) -> i32 {
    day_of(date_to_ts(d))
}

/// RFC 3339 in UTC, seconds precision.
pub fn format_instant(ts: Ts) -> String {
    match Timestamp::from_second(ts) {
        Ok(t) => t.to_string(),
        Err(_) => ts.to_string(),
    }
}

/// A reporting grain (spec §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, Default)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    Day,
    Week,
    #[default]
    Month,
    Quarter,
    Year,
}

impl FromStr for Grain {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Grain::Day,
            "week" | "weekly" => Grain::Week,
            "month" | "monthly" => Grain::Month,
            "quarter" | "quarterly" => Grain::Quarter,
            "year" | "yearly" | "annual" => Grain::Year,
            _ => return Err(format!("unknown grain {s:?} (expected day, week, month, quarter or year)")),
        })
    }
}
impl fmt::Display for Grain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        })
    }
}

/// A half-open period `[start, end)` with a human label (`2025-03`, `2025-W14`, `2025-Q2`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub start: Ts,
    pub end: Ts,
    pub label: String,
}

/// Calendar of a grain in a time zone: floors instants to period starts and steps between them.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub grain: Grain,
    pub tz: TimeZone,
}

impl Calendar {
    pub fn new(grain: Grain, tz_name: &str) -> Result<Calendar, String> {
        let tz = if tz_name.eq_ignore_ascii_case("utc") {
            TimeZone::UTC
        } else {
            TimeZone::get(tz_name).map_err(|e| format!("unknown time zone {tz_name:?}: {e}"))?
        };
        Ok(Calendar { grain, tz })
    }

    pub fn utc(grain: Grain) -> Calendar {
        Calendar { grain, tz: TimeZone::UTC }
    }

    fn local_date(&self, ts: Ts) -> Date {
        Timestamp::from_second(ts).unwrap_or_default().to_zoned_datetime(self.tz.clone()).date()
    }

    fn start_of_date(&self, d: Date) -> Ts {
        d.to_zoned_datetime(self.tz.clone()).map(|z: ZonedDateTime| z.timestamp().as_second()).unwrap_or(0)
    }

    fn floor_date(&self, d: Date) -> Date {
        match self.grain {
            Grain::Day => d,
            Grain::Week => {
                let back = d.weekday().to_monday_zero_offset() as i64;
                d.checked_sub(back.days()).unwrap_or(d)
            }
            Grain::Month => d.first_of_month(),
            Grain::Quarter => {
                let m = ((d.month() - 1) / 3) * 3 + 1;
                Date::new(d.year(), m, 1).unwrap_or(d)
            }
            Grain::Year => Date::new(d.year(), 1, 1).unwrap_or(d),
        }
    }

    fn step_date(&self, d: Date) -> Date {
        let span = match self.grain {
            Grain::Day => 1.day(),
            Grain::Week => 1.week(),
            Grain::Month => 1.month(),
            Grain::Quarter => 3.months(),
            Grain::Year => 1.year(),
        };
        d.checked_add(span).unwrap_or(d)
    }

    /// Start of the period containing `ts`.
    pub fn floor(&self, ts: Ts) -> Ts {
        self.start_of_date(self.floor_date(self.local_date(ts)))
    }

    /// The period containing `ts`.
    pub fn period_of(&self, ts: Ts) -> Period {
        let d = self.floor_date(self.local_date(ts));
        self.period_from_date(d)
    }

    fn period_from_date(&self, d: Date) -> Period {
        let next = self.step_date(d);
        Period { start: self.start_of_date(d), end: self.start_of_date(next), label: self.label(d) }
    }

    fn label(&self, d: Date) -> String {
        match self.grain {
            Grain::Day => d.to_string(),
            Grain::Week => {
                let w = d.iso_week_date();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            Grain::Month => format!("{:04}-{:02}", d.year(), d.month()),
            Grain::Quarter => format!("{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            Grain::Year => format!("{:04}", d.year()),
        }
    }

    /// Every period that intersects `[from, to)`, in order.
    pub fn periods(&self, from: Ts, to: Ts) -> Vec<Period> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        let mut d = self.floor_date(self.local_date(from));
        loop {
            let p = self.period_from_date(d);
            if p.start >= to {
                break;
            }
            let next = self.step_date(d);
            out.push(p);
            if next == d {
                break;
            }
            d = next;
        }
        out
    }

    /// Parses a period label of this grain (`2025-03`, `2025-Q1`, `2025-W10`, `2025`, `2025-03-04`).
    pub fn parse_label(&self, s: &str) -> Result<Period, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not a {} label", self.grain);
        let d = match self.grain {
            Grain::Day => s.parse::<Date>().map_err(|_| bad())?,
            Grain::Month => {
                let (y, m) = s.split_once('-').ok_or_else(bad)?;
                Date::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, 1).map_err(|_| bad())?
            }
            Grain::Quarter => {
                let (y, q) = s.split_once("-Q").ok_or_else(bad)?;
                let q: i8 = q.parse().map_err(|_| bad())?;
                if !(1..=4).contains(&q) {
                    return Err(bad());
                }
                Date::new(y.parse().map_err(|_| bad())?, (q - 1) * 3 + 1, 1).map_err(|_| bad())?
            }
            Grain::Year => Date::new(s.parse().map_err(|_| bad())?, 1, 1).map_err(|_| bad())?,
            Grain::Week => {
                let (y, w) = s.split_once("-W").ok_or_else(bad)?;
                let wd = jiff::civil::ISOWeekDate::new(
                    y.parse().map_err(|_| bad())?,
                    w.parse().map_err(|_| bad())?,
                    Weekday::Monday,
                )
                .map_err(|_| bad())?;
                wd.date()
            }
        };
        Ok(self.period_from_date(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_instants() {
        assert_eq!(parse_instant("1970-01-02T00:00:00Z"), Ok(86_400));
        assert_eq!(parse_instant("1970-01-02"), Ok(86_400));
        assert_eq!(parse_instant("1970-01-01T02:00:00+02:00"), Ok(0));
        assert!(parse_instant("2025-13-01").is_err());
        assert!(parse_instant("2025-01-01T00:00:00").is_err());
        assert_eq!(format_instant(86_400), "1970-01-02T00:00:00Z");
    }

    #[test]
    fn month_periods_in_utc_and_a_zone() {
        let c = Calendar::utc(Grain::Month);
        let ps = c.periods(parse_instant("2025-01-15").unwrap(), parse_instant("2025-03-02").unwrap());
        let labels: Vec<_> = ps.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["2025-01", "2025-02", "2025-03"]);
        assert_eq!(ps[1].start, parse_instant("2025-02-01").unwrap());
        let berlin = Calendar::new(Grain::Month, "Europe/Berlin").unwrap();
        let p = berlin.period_of(parse_instant("2025-02-28T23:30:00Z").unwrap());
        assert_eq!(p.label, "2025-03");
        assert_eq!(p.start, parse_instant("2025-02-28T23:00:00Z").unwrap());
    }

    #[test]
    fn weeks_quarters_years() {
        let w = Calendar::utc(Grain::Week).period_of(parse_instant("2025-01-01").unwrap());
        assert_eq!(w.label, "2025-W01");
        assert_eq!(w.start, parse_instant("2024-12-30").unwrap());
        assert_eq!(Calendar::utc(Grain::Week).parse_label("2025-W01").unwrap().start, w.start);
        let q = Calendar::utc(Grain::Quarter).period_of(parse_instant("2025-05-05").unwrap());
        assert_eq!((q.label.as_str(), q.start), ("2025-Q2", parse_instant("2025-04-01").unwrap()));
        let y = Calendar::utc(Grain::Year).parse_label("2024").unwrap();
        assert_eq!(y.end - y.start, 366 * SECS_PER_DAY);
    }
}
