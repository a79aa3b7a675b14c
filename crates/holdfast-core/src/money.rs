//! Currencies and integer money arithmetic.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO-4217 currency: its alphabetic code and the number of decimals of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    pub const USD: Currency = Currency { code: *b"USD", exponent: 2 };
    pub const EUR: Currency = Currency { code: *b"EUR", exponent: 2 };
    pub const GBP: Currency = Currency { code: *b"GBP", exponent: 2 };

    /// Parses a code case-insensitively; unknown codes are an error.
    pub fn parse(s: &str) -> Result<Currency, String> {
        let up = s.trim().to_ascii_uppercase();
        let iso = iso_currency::Currency::from_code(&up)
            .ok_or_else(|| format!("unknown ISO-4217 currency code {s:?}"))?;
        // Funds/metal codes (XAU, XDR…) have no minor unit; money in them is not billing money.
        let exponent = iso
            .exponent()
            .ok_or_else(|| format!("currency {up} has no minor unit and cannot be billed"))?;
        let b = up.as_bytes();
        Ok(Currency { code: [b[0], b[1], b[2]], exponent: exponent as u8 })
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("codes are ASCII")
    }

    /// Decimals of the minor unit (USD 2, JPY 0, KWD 3).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Formats minor units as a decimal amount with the currency's exponent, e.g. `12345 → "123.45"`.
    pub fn format_minor(&self, minor: i64) -> String {
        format_minor(minor, self.exponent)
    }

    /// Parses a decimal amount in major units (`"123.45"`) into minor units, exactly. More decimals than the
    /// currency has are an error rather than a silent rounding.
    pub fn parse_major(&self, s: &str) -> Result<i64, String> {
        parse_decimal_scaled(s, self.exponent as u32)
            .map_err(|e| format!("{e} (expected an amount with at most {} decimals)", self.exponent))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}
impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Formats an integer scaled by `10^exponent` as a plain decimal.
pub fn format_minor(minor: i64, exponent: u8) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let neg = minor < 0;
    let abs = minor.unsigned_abs();
    let p = 10u64.pow(exponent as u32);
    format!("{}{}.{:0width$}", if neg { "-" } else { "" }, abs / p, abs % p, width = exponent as usize)
}

/// Parses `[-]digits[.digits]` into an integer scaled by `10^scale`, exactly; too many decimals is an error.
pub fn parse_decimal_scaled(s: &str, scale: u32) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty number".into());
    }
    let (neg, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{s:?} is not a decimal number"));
    }
    let frac_trim = frac.trim_end_matches('0');
    if frac_trim.len() > scale as usize {
        return Err(format!("{s:?} has more than {scale} decimals"));
    }
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac_trim.bytes()) {
        v = v * 10 + (b - b'0') as i128;
        if v > i64::MAX as i128 * 10 {
            return Err(format!("{s:?} is out of range"));
        }
    }
    v *= 10i128.pow(scale - frac_trim.len() as u32);
    if neg {
        v = -v;
    }
    i64::try_from(v).map_err(|_| format!("{s:?} is out of range"))
}

/// How a value exactly between two minor units is rounded (spec §1: `rounding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    #[default]
    HalfAwayFromZero,
    HalfEven,
}

/// `num / den` rounded to an integer. `den` must be non-zero; the sign of `den` is handled.
#[inline]
pub fn div_round(num: i128, den: i128, mode: RoundingMode) -> i128 {
    debug_assert!(den != 0);
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    let q = num.div_euclid(den); // floor
    let r = num.rem_euclid(den); // 0 <= r < den
    let twice = 2 * r;
    if twice < den {
        q
    } else if twice > den {
        q + 1
    } else {
        match mode {
            // exactly half: away from zero means up for positives (q >= 0) and down (stay at floor) for negatives
            RoundingMode::HalfAwayFromZero => {
                if q >= 0 {
                    q + 1
                } else {
                    q
                }
            }
            RoundingMode::HalfEven => {
                if q % 2 == 0 {
                    q
                } else {
                    q + 1
                }
            }
        }
    }
}

/// `-1234567.89` → `-1,234,567.89`: thousands separators for display (CLI tables, dashboard).
pub fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map(|r| ("-", r)).unwrap_or(("", s));
    let (int, frac) = rest.split_once('.').map(|(a, b)| (a, Some(b))).unwrap_or((rest, None));
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}{}", frac.map(|f| format!(".{f}")).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped_with_sign_and_decimals_kept() {
        assert_eq!(group_thousands("-1234567.89"), "-1,234,567.89");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("1000"), "1,000");
        assert_eq!(group_thousands("0.5"), "0.5");
    }

    use super::*;

    #[test]
    fn currencies_know_their_exponent() {
        assert_eq!(Currency::parse("usd").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert!(Currency::parse("ABC").unwrap_err().contains("unknown"));
    }

    #[test]
    fn decimal_parsing_is_exact() {
        assert_eq!(parse_decimal_scaled("123.45", 2), Ok(12345));
        assert_eq!(parse_decimal_scaled("-0.5", 2), Ok(-50));
        assert_eq!(parse_decimal_scaled("7", 0), Ok(7));
        assert_eq!(parse_decimal_scaled("1.230", 2), Ok(123));
        assert!(parse_decimal_scaled("1.234", 2).is_err());
        assert!(parse_decimal_scaled("12a", 2).is_err());
        assert_eq!(format_minor(-12345, 2), "-123.45");
        assert_eq!(format_minor(5, 3), "0.005");
    }

    #[test]
    fn rounding_modes() {
        let a = RoundingMode::HalfAwayFromZero;
        let e = RoundingMode::HalfEven;
        assert_eq!(div_round(5, 2, a), 3);
        assert_eq!(div_round(-5, 2, a), -3);
        assert_eq!(div_round(5, 2, e), 2);
        assert_eq!(div_round(7, 2, e), 4);
        assert_eq!(div_round(-7, 2, e), -4);
        assert_eq!(div_round(10, 3, a), 3);
        assert_eq!(div_round(-10, 3, a), -3);
        assert_eq!(div_round(11, -3, a), -4);
    }
}
