//! Column encodings shared by backends: enum and currency decoding without allocation, the compact
//! line-discount text, and human-readable source keys for reports.
use crate::StoreError;
use holdfast_core::records::*;
use holdfast_core::time::{format_instant, Ts};
use holdfast_core::Currency;

/// Sentinel stored in a `valid_from` key column for "no valid_from" (the initial version of a customer).
/// Key columns must be NOT NULL for upserts to match, and `i64::MIN` sorts first, exactly like `None` sorts
/// before `Some` in the records' source-key order. It is far outside any representable instant.
pub(crate) const NO_VALID_FROM: i64 = i64::MIN;

/// String enums of the record model, decoded by exact wire name first (no allocation), then leniently.
pub(crate) trait WireEnum: Copy + Sized + 'static {
    fn all() -> &'static [Self];
    fn wire(self) -> &'static str;
    fn lenient(s: &str) -> Result<Self, String>;
    fn decode(s: &str) -> Result<Self, StoreError> {
        for &v in Self::all() {
            if v.wire() == s {
                return Ok(v);
            }
        }
        Self::lenient(s).map_err(StoreError::Corrupt)
    }
}

macro_rules! wire_enum {
    ($($t:ty),*) => {$(
        impl WireEnum for $t {
            fn all() -> &'static [Self] { <$t>::ALL }
            fn wire(self) -> &'static str { self.as_str() }
            fn lenient(s: &str) -> Result<Self, String> { s.parse() }
        }
    )*};
}
wire_enum!(Interval, UsageType, PriceType, SubscriptionStatus, InvoiceStatus, DiscountDuration);

/// Remembers decoded currency codes so a scan parses each distinct code once.
#[derive(Default)]
pub(crate) struct CurrencyCache {
    known: Vec<(Box<str>, Currency)>,
}

impl CurrencyCache {
    #[inline]
    pub(crate) fn get(&mut self, code: &str) -> Result<Currency, StoreError> {
        for (k, c) in &self.known {
            if **k == *code {
                return Ok(*c);
            }
        }
        let c = Currency::parse(code).map_err(StoreError::Corrupt)?;
        self.known.push((code.into(), c));
        Ok(c)
    }
}

/// Encodes line discounts as `discount_id:amount|discount_id:amount`, into `out` (cleared first).
/// `\` and `|` inside ids are escaped with a backslash; `:` needs no escape because the amount is everything
/// after the last `:`. An empty list encodes as the empty string (stored as NULL).
pub(crate) fn encode_discounts(ds: &[LineDiscount], out: &mut String) {
    use std::fmt::Write;
    out.clear();
    for (i, d) in ds.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        if d.discount_id.contains(['\\', '|']) {
            for ch in d.discount_id.chars() {
                if ch == '\\' || ch == '|' {
                    out.push('\\');
                }
                out.push(ch);
            }
        } else {
            out.push_str(&d.discount_id);
        }
        let _ = write!(out, ":{}", d.amount);
    }
}

/// Decoded line discounts: `(discount id, amount)` pairs borrowed from the stored text (or, for escaped
/// ids, from the caller's scratch vector).
pub(crate) enum DiscountIter<'s> {
    Plain(std::str::Split<'s, char>),
    Unescaped(std::slice::Iter<'s, (String, i64)>),
}

impl<'s> Iterator for DiscountIter<'s> {
    type Item = (&'s str, i64);
    #[inline]
    fn next(&mut self) -> Option<(&'s str, i64)> {
        match self {
            DiscountIter::Plain(parts) => {
                let (id, amount) = parts.next()?.rsplit_once(':').expect("validated by decode_discounts");
                Some((id, amount.parse().expect("validated by decode_discounts")))
            }
            DiscountIter::Unescaped(it) => it.next().map(|(id, amount)| (id.as_str(), *amount)),
        }
    }
}

/// Decodes [`encode_discounts`] text, validating all of it first. Allocates only for escaped ids (rare),
/// which are unescaped into `scratch`.
pub(crate) fn decode_discounts<'s>(s: &'s str, scratch: &'s mut Vec<(String, i64)>) -> Result<DiscountIter<'s>, StoreError> {
    let bad = || StoreError::Corrupt(format!("invalid line discounts {s:?}"));
    if !s.contains('\\') {
        for part in s.split('|') {
            let (_, amount) = part.rsplit_once(':').ok_or_else(bad)?;
            amount.parse::<i64>().map_err(|_| bad())?;
        }
        return Ok(DiscountIter::Plain(s.split('|')));
    }
    // Slow path: split on unescaped '|', then unescape each id.
    scratch.clear();
    let mut cur = String::new();
    let finish = |cur: &mut String, out: &mut Vec<(String, i64)>| -> Result<(), StoreError> {
        // The amount follows the last ':'; amounts never contain ':' or '\'.
        let (id, amount) = cur.rsplit_once(':').ok_or_else(bad)?;
        let amount = amount.parse::<i64>().map_err(|_| bad())?;
        let mut unescaped = String::with_capacity(id.len());
        let mut it = id.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                unescaped.push(it.next().ok_or_else(bad)?);
            } else {
                unescaped.push(c);
            }
        }
        out.push((unescaped, amount));
        cur.clear();
        Ok(())
    };
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                cur.push(chars.next().ok_or_else(bad)?);
            }
            '|' => finish(&mut cur, scratch)?,
            _ => cur.push(c),
        }
    }
    finish(&mut cur, scratch)?;
    Ok(DiscountIter::Unescaped(scratch.iter()))
}

fn key_with_instant(id: &str, t: Option<Ts>) -> String {
    match t {
        None => id.to_string(),
        Some(t) => format!("{id}@{}", format_instant(t)),
    }
}

/// A record's table name and a human-readable source key (`id`, `id@valid_from`, `day base/quote`).
pub(crate) fn display_key(r: &Record) -> String {
    match r {
        Record::Customer(c) => key_with_instant(&c.id, c.valid_from),
        Record::Plan(p) => p.id.clone(),
        Record::Subscription(s) => s.id.clone(),
        Record::SubscriptionItem(i) => key_with_instant(&i.id, Some(i.valid_from)),
        Record::Invoice(i) => i.id.clone(),
        Record::InvoiceLine(l) => l.id.clone(),
        Record::Discount(d) => d.id.clone(),
        Record::FxRate(f) => format!("{} {}/{}", holdfast_core::time::day_to_date(f.day), f.base, f.quote),
        Record::ScheduledItem(x) => x.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(v: &[(&str, i64)]) -> Vec<LineDiscount> {
        v.iter().map(|(i, a)| LineDiscount { discount_id: i.to_string(), amount: *a }).collect()
    }

    #[test]
    fn discounts_round_trip_including_awkward_ids() {
        for case in [
            vec![("co_1", 500)],
            vec![("co_1", -5), ("co:2", 0), ("x", i64::MIN)],
            vec![("a|b", 1), ("c\\d", 2), ("e\\|:", 3), ("", 4)],
        ] {
            let v = ds(&case);
            let mut s = String::new();
            encode_discounts(&v, &mut s);
            let mut scratch = Vec::new();
            let got = decode_discounts(&s, &mut scratch).unwrap();
            let got: Vec<(String, i64)> = got.into_iter().map(|(a, b)| (a.to_string(), b)).collect();
            let want: Vec<(String, i64)> = case.iter().map(|(a, b)| (a.to_string(), *b)).collect();
            assert_eq!(got, want, "encoded as {s:?}");
        }
        for bad in ["nocolon", "a:1|b", "a:x", "a\\|b:1|c", "a:1|", "a\\"] {
            assert!(decode_discounts(bad, &mut Vec::new()).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn discounts_round_trip_for_any_ids(v in proptest::collection::vec(("[a-z|:\\\\_ é]{0,8}", proptest::num::i64::ANY), 1..5)) {
            let ds: Vec<LineDiscount> = v.iter().map(|(i, a)| LineDiscount { discount_id: i.clone(), amount: *a }).collect();
            let mut s = String::new();
            encode_discounts(&ds, &mut s);
            let mut scratch = Vec::new();
            let got: Vec<(String, i64)> = decode_discounts(&s, &mut scratch).unwrap().map(|(a, b)| (a.to_string(), b)).collect();
            proptest::prop_assert_eq!(got, v);
        }
    }

    #[test]
    fn enums_decode_exact_and_lenient() {
        assert_eq!(SubscriptionStatus::decode("past_due").unwrap(), SubscriptionStatus::PastDue);
        assert_eq!(SubscriptionStatus::decode("Cancelled").unwrap(), SubscriptionStatus::Canceled);
        assert!(InvoiceStatus::decode("bogus").is_err());
        let mut cc = CurrencyCache::default();
        assert_eq!(cc.get("EUR").unwrap(), Currency::EUR);
        assert_eq!(cc.get("EUR").unwrap(), Currency::EUR);
        assert!(cc.get("ZZZ").is_err());
    }
}
