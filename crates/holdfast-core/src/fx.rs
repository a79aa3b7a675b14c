//! Exchange rates: 9-decimal fixed point, a daily table, conversion into the reporting currency.
use crate::money::{div_round, Currency, RoundingMode};
use std::collections::HashMap;

/// Scale of [`Rate`]: a rate of 1.0 is `1_000_000_000`.
pub const RATE_SCALE: i64 = 1_000_000_000;

/// Units of `quote` per one unit of `base`, in 9-decimal fixed point (spec §1: ≥ 9 dp exact arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate(pub i64);

impl Rate {
    pub const ONE: Rate = Rate(RATE_SCALE);

    pub fn parse(s: &str) -> Result<Rate, String> {
        let v = crate::money::parse_decimal_scaled(s, 9)
            .map_err(|e| format!("{e} (expected a positive rate with at most 9 decimals)"))?;
        if v <= 0 {
            return Err(format!("rate {s:?} must be positive"));
        }
        Ok(Rate(v))
    }

    /// The inverse rate, rounded to 9 decimals.
    pub fn inverse(self) -> Rate {
        Rate(div_round(RATE_SCALE as i128 * RATE_SCALE as i128, self.0 as i128, RoundingMode::HalfAwayFromZero) as i64)
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / RATE_SCALE as f64
    }
}

/// Converts `minor` units of `from` into minor units of `to` at `rate` (`to` per `from`), rounding once.
#[inline]
pub fn convert(minor: i64, from: Currency, to: Currency, rate: Rate, mode: RoundingMode) -> i64 {
    let num = minor as i128 * rate.0 as i128 * 10i128.pow(to.exponent() as u32);
    let den = RATE_SCALE as i128 * 10i128.pow(from.exponent() as u32);
    div_round(num, den, mode) as i64
}

/// Daily rates from each currency into one reporting currency. A day's rate is that day's, else the latest
/// earlier one; before the first known rate, the earliest one is used (and callers may flag it).
#[derive(Clone, Debug, Default)]
pub struct FxTable {
    reporting: Option<Currency>,
    /// per currency: (UTC day, rate into reporting), sorted by day. A handful of currencies: a vector
    /// scan beats hashing on the hot path.
    series: Vec<(Currency, Vec<(i32, Rate)>)>,
    /// per currency: first day and the rate of every day from it to the last known day (O(1) lookups)
    dense: Vec<(Currency, i32, Vec<Rate>)>,
}

impl FxTable {
    /// Builds the table for `reporting` from raw `(day, base, quote, rate)` rows: direct quotes, inverse quotes
    /// and crosses through one intermediate currency quoted on the same day.
    pub fn build(reporting: Currency, rows: &[(i32, Currency, Currency, Rate)]) -> FxTable {
        let mut direct: HashMap<Currency, Vec<(i32, Rate)>> = HashMap::new();
        // day -> base -> quote -> rate, for crosses
        let mut by_day: HashMap<i32, Vec<(Currency, Currency, Rate)>> = HashMap::new();
        for &(day, base, quote, rate) in rows {
            if base == quote {
                continue;
            }
            if quote == reporting {
                direct.entry(base).or_default().push((day, rate));
            } else if base == reporting {
                direct.entry(quote).or_default().push((day, rate.inverse()));
            } else {
                by_day.entry(day).or_default().push((base, quote, rate));
            }
        }
        // Crosses: X→Y quoted and Y→reporting known on that day (or the latest before).
        let mut cross: Vec<(Currency, i32, Rate)> = Vec::new();
        {
            let mut sorted: HashMap<Currency, Vec<(i32, Rate)>> = direct.clone();
            for v in sorted.values_mut() {
                v.sort_by_key(|p| p.0);
            }
            for (day, quotes) in &by_day {
                for &(base, quote, rate) in quotes {
                    for (from, via, r) in [(base, quote, rate), (quote, base, rate.inverse())] {
                        if direct.contains_key(&from) {
                            continue;
                        }
                        if let Some(via_rate) = lookup(&sorted, via, *day) {
                            let combined = div_round(r.0 as i128 * via_rate.0 as i128, RATE_SCALE as i128, RoundingMode::HalfAwayFromZero);
                            cross.push((from, *day, Rate(combined as i64)));
                        }
                    }
                }
            }
        }
        for (c, day, r) in cross {
            direct.entry(c).or_default().push((day, r));
        }
        for v in direct.values_mut() {
            v.sort_by_key(|p| p.0);
            v.dedup_by_key(|p| p.0);
        }
        let mut series: Vec<(Currency, Vec<(i32, Rate)>)> = direct.into_iter().collect();
        series.sort_by_key(|x| x.0);
        let dense = series
            .iter()
            .filter(|(_, v)| !v.is_empty() && (v[v.len() - 1].0 as i64 - v[0].0 as i64) < 100_000)
            .map(|(c, v)| {
                let first = v[0].0;
                let mut days = Vec::with_capacity((v[v.len() - 1].0 - first + 1) as usize);
                let mut k = 0;
                for d in first..=v[v.len() - 1].0 {
                    while k + 1 < v.len() && v[k + 1].0 <= d {
                        k += 1;
                    }
                    days.push(v[k].1);
                }
                (*c, first, days)
            })
            .collect();
        FxTable { reporting: Some(reporting), series, dense }
    }

    pub fn reporting(&self) -> Option<Currency> {
        self.reporting
    }

    /// Rate from `c` into the reporting currency on UTC `day`; `None` if the currency has no rate at all.
    pub fn rate(&self, c: Currency, day: i32) -> Option<Rate> {
        if Some(c) == self.reporting {
            return Some(Rate::ONE);
        }
        if let Some((_, first, days)) = self.dense.iter().find(|x| x.0 == c) {
            let i = (day - first).clamp(0, days.len() as i32 - 1) as usize;
            return days.get(i).copied();
        }
        let v = &self.series.iter().find(|x| x.0 == c)?.1;
        let i = v.partition_point(|p| p.0 <= day);
        if i == 0 {
            v.first().map(|p| p.1)
        } else {
            Some(v[i - 1].1)
        }
    }

    /// The distinct days on which `c`'s rate changes.
    pub fn change_days(&self, c: Currency) -> &[(i32, Rate)] {
        self.series.iter().find(|x| x.0 == c).map(|x| x.1.as_slice()).unwrap_or(&[])
    }
}

fn lookup(series: &HashMap<Currency, Vec<(i32, Rate)>>, c: Currency, day: i32) -> Option<Rate> {
    let v = series.get(&c)?;
    let i = v.partition_point(|p| p.0 <= day);
    if i == 0 {
        v.first().map(|p| p.1)
    } else {
        Some(v[i - 1].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_with_exponents() {
        let usd = Currency::USD;
        let jpy = Currency::parse("JPY").unwrap();
        // ¥15,000 at 0.0067 USD/JPY = $100.50
        assert_eq!(convert(15_000, jpy, usd, Rate::parse("0.0067").unwrap(), RoundingMode::HalfAwayFromZero), 10_050);
        assert_eq!(convert(10_000, Currency::EUR, usd, Rate::parse("1.1").unwrap(), RoundingMode::HalfAwayFromZero), 11_000);
    }

    #[test]
    fn table_uses_latest_earlier_rate_inverse_and_cross() {
        let usd = Currency::USD;
        let eur = Currency::EUR;
        let gbp = Currency::GBP;
        let t = FxTable::build(
            usd,
            &[
                (10, eur, usd, Rate::parse("1.10").unwrap()),
                (20, eur, usd, Rate::parse("1.05").unwrap()),
                (10, usd, gbp, Rate::parse("0.8").unwrap()),
            ],
        );
        assert_eq!(t.rate(eur, 15), Some(Rate::parse("1.10").unwrap()));
        assert_eq!(t.rate(eur, 20), Some(Rate::parse("1.05").unwrap()));
        assert_eq!(t.rate(gbp, 11), Some(Rate::parse("1.25").unwrap()));
        assert_eq!(t.rate(usd, 0), Some(Rate::ONE));
        let t2 = FxTable::build(gbp, &[(1, eur, usd, Rate::parse("1.2").unwrap()), (1, usd, gbp, Rate::parse("0.5").unwrap())]);
        assert_eq!(t2.rate(eur, 1), Some(Rate::parse("0.6").unwrap()));
    }
}
