//! Uniform access to one row's fields, whether it came from a CSV row or a JSON object, and the typed
//! field parsers shared by every kind. Errors carry file, line and field name.
use crate::error::ImportError;
use crate::schema::{self, Col};
use crate::SourceKind;
use csv::ByteRecord;
use holdfast_core::money::Currency;
use holdfast_core::records::{DiscountDuration, Interval, InvoiceStatus, PriceType, SubscriptionStatus, UsageType};
use holdfast_core::time::{parse_instant, Ts};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// Errors are boxed inside the parsers: a `Result` with an unboxed `ImportError` is ~130 bytes, moved on
/// every field access.
pub(crate) type Res<T> = Result<T, Box<ImportError>>;

pub(crate) const REQUIRED: &str = "a value (this field is required)";
pub(crate) const EXPECT_INSTANT: &str =
    "an ISO-8601 instant with Z or an offset (e.g. 2025-04-01T12:00:00Z) or a date (2025-04-01)";
pub(crate) const EXPECT_CURRENCY: &str = "an ISO-4217 currency code with a minor unit (e.g. USD, EUR, JPY)";
pub(crate) const EXPECT_BOOL: &str = "a boolean: true/false, 1/0 or yes/no";

/// What an amount field of currency `c` must look like.
pub(crate) fn money_expected(c: Currency) -> String {
    match c.exponent() {
        0 => format!("a whole amount of {c} (it has no minor unit), e.g. 1500"),
        e => format!("an amount in major units of {c} with at most {e} decimals, e.g. 49.{}", "9".repeat(e as usize)),
    }
}

/// A field's raw value.
pub(crate) enum Raw<'a> {
    Text(Cow<'a, str>),
    Array(&'a [Value]),
    Object,
}

/// The enums of `records.rs`, with their list of accepted spellings.
pub(crate) trait EnumField: FromStr + Copy {
    fn expected() -> String;
}
macro_rules! enum_field {
    ($($t:ty),*) => { $(impl EnumField for $t { fn expected() -> String { <$t>::expected() } })* };
}
enum_field!(Interval, UsageType, PriceType, SubscriptionStatus, InvoiceStatus, DiscountDuration);

/// Blank (empty or whitespace-only) values are absent.
#[inline]
pub(crate) fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

/// The common amount spelling `[-]digits[.digits]` (at most 18 digits, at most `exp` decimals) as minor
/// units; `None` for anything else, which the caller hands to `Currency::parse_major` to decide.
#[inline]
pub(crate) fn fast_major(s: &str, exp: u8) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 || digits == b"." {
        return None;
    }
    let mut v: i64 = 0;
    let mut decimals: Option<u32> = None;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                v = v * 10 + (c - b'0') as i64;
                if let Some(d) = &mut decimals {
                    *d += 1;
                }
            }
            b'.' if decimals.is_none() => decimals = Some(0),
            _ => return None,
        }
    }
    let d = decimals.unwrap_or(0);
    if d > exp as u32 {
        return None;
    }
    let v = v.checked_mul(10i64.checked_pow(exp as u32 - d)?)?;
    Some(if neg { -v } else { v })
}

/// `b.is_ascii()`, eight bytes at a time (the standard one goes byte by byte here).
#[inline]
fn is_ascii(b: &[u8]) -> bool {
    let mut acc = 0u64;
    let chunks = b.chunks_exact(8);
    for &x in chunks.remainder() {
        acc |= x as u64;
    }
    for c in chunks {
        acc |= u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    }
    acc & 0x8080_8080_8080_8080 == 0
}

/// Parses a boolean spelling.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    for (spelling, v) in [("true", true), ("false", false), ("1", true), ("0", false), ("yes", true), ("no", false)] {
        if t.eq_ignore_ascii_case(spelling) {
            return Some(v);
        }
    }
    None
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The common instant spellings `YYYY-MM-DDTHH:MM:SSZ` and `YYYY-MM-DD`, parsed without the general
/// parser (which dominates the cost of an invoice line otherwise). `None` for anything else, including
/// invalid dates and years outside 1000..=9998: the caller falls back to [`parse_instant`], which decides.
pub(crate) fn fast_instant(b: &[u8]) -> Option<Ts> {
    let (date, time) = match b.len() {
        10 => (b, None),
        20 if b[10] == b'T' && b[19] == b'Z' => (&b[..10], Some(&b[11..19])),
        _ => return None,
    };
    let digit = |x: u8| -> Option<u32> {
        let c = x.wrapping_sub(b'0');
        (c < 10).then_some(c as u32)
    };
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let y = digit(date[0])? * 1000 + digit(date[1])? * 100 + digit(date[2])? * 10 + digit(date[3])?;
    let m = digit(date[5])? * 10 + digit(date[6])?;
    let d = digit(date[8])? * 10 + digit(date[9])?;
    if !(1000..=9998).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let dim = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > dim {
        return None;
    }
    let secs = match time {
        None => 0,
        Some(t) => {
            if t[2] != b':' || t[5] != b':' {
                return None;
            }
            let h = digit(t[0])? * 10 + digit(t[1])?;
            let mi = digit(t[3])? * 10 + digit(t[4])?;
            let s = digit(t[6])? * 10 + digit(t[7])?;
            if h > 23 || mi > 59 || s > 59 {
                return None;
            }
            (h * 3600 + mi * 60 + s) as i64
        }
    };
    Some(days_from_civil(y as i64, m, d) * 86_400 + secs)
}

/// Remembers a few parsed currency codes: a file usually has one or two, parsing each is an allocation.
#[derive(Default)]
pub(crate) struct CurrencyCache {
    entries: Vec<(Box<str>, Currency)>,
}

impl CurrencyCache {
    pub fn get(&mut self, s: &str) -> Option<Currency> {
        for (k, c) in &self.entries {
            if **k == *s {
                return Some(*c);
            }
        }
        let c = Currency::parse(s).ok()?;
        if self.entries.len() < 16 {
            self.entries.push((s.into(), c));
        }
        Some(c)
    }
}

/// One row of input, any format.
pub(crate) trait Src {
    /// The value of field slot `f`; `None` if absent, empty, blank or JSON `null`.
    fn raw(&self, f: usize) -> Res<Option<Raw<'_>>>;
    /// The field's name as the input spells it (header name, or `lines[0].amount` in embedded JSON).
    fn field_name(&self, f: usize) -> String;
    fn file(&self) -> &Path;
    fn line(&self) -> u64;
    /// Customer attributes: unknown CSV columns, or the JSON `attributes` object plus unknown keys.
    fn attributes(&self) -> Res<BTreeMap<String, String>>;

    #[cold]
    fn err(&self, f: usize, value: Option<&str>, expected: impl Into<String>) -> Box<ImportError> {
        let mut e = ImportError::at(self.file(), self.line(), expected).with_field(self.field_name(f));
        if let Some(v) = value {
            e = e.with_value(v);
        }
        Box::new(e)
    }

    fn text(&self, f: usize) -> Res<Option<Cow<'_, str>>> {
        match self.raw(f)? {
            None => Ok(None),
            Some(Raw::Text(t)) => Ok(Some(t)),
            Some(Raw::Array(_)) => Err(self.err(f, Some("[…]"), "a string or a number, not an array")),
            Some(Raw::Object) => Err(self.err(f, Some("{…}"), "a string or a number, not an object")),
        }
    }

    fn req_text(&self, f: usize) -> Res<Cow<'_, str>> {
        self.text(f)?.ok_or_else(|| self.err(f, None, REQUIRED))
    }

    fn req_string(&self, f: usize) -> Res<String> {
        Ok(self.req_text(f)?.into_owned())
    }

    fn opt_string(&self, f: usize) -> Res<Option<String>> {
        Ok(self.text(f)?.map(Cow::into_owned))
    }

    fn opt_ts(&self, f: usize) -> Res<Option<Ts>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => match fast_instant(t.as_bytes()) {
                Some(v) => Ok(Some(v)),
                None => parse_instant(&t).map(Some).map_err(|_| self.err(f, Some(&t), EXPECT_INSTANT)),
            },
        }
    }

    fn req_ts(&self, f: usize) -> Res<Ts> {
        self.opt_ts(f)?.ok_or_else(|| self.err(f, None, REQUIRED))
    }

    fn opt_enum<T: EnumField>(&self, f: usize) -> Res<Option<T>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => t.parse::<T>().map(Some).map_err(|_| self.err(f, Some(&t), format!("one of {}", T::expected()))),
        }
    }

    fn req_enum<T: EnumField>(&self, f: usize) -> Res<T> {
        match self.opt_enum(f)? {
            Some(v) => Ok(v),
            None => Err(self.err(f, None, format!("one of {} (this field is required)", T::expected()))),
        }
    }

    fn opt_bool(&self, f: usize) -> Res<Option<bool>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => parse_bool(&t).map(Some).ok_or_else(|| self.err(f, Some(&t), EXPECT_BOOL)),
        }
    }

    /// A whole number `>= min`; `expected` describes it.
    fn opt_int(&self, f: usize, min: i64, expected: &str) -> Res<Option<i64>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => match t.trim().parse::<i64>() {
                Ok(v) if v >= min => Ok(Some(v)),
                _ => Err(self.err(f, Some(&t), expected)),
            },
        }
    }

    /// A positive `u32` (counts such as `interval_count`).
    fn opt_count(&self, f: usize) -> Res<Option<u32>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => match t.trim().parse::<u32>() {
                Ok(v) if v >= 1 => Ok(Some(v)),
                _ => Err(self.err(f, Some(&t), "a positive whole number (1 or more)")),
            },
        }
    }

    fn opt_currency(&self, f: usize, cache: &mut CurrencyCache) -> Res<Option<Currency>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => cache.get(&t).map(Some).ok_or_else(|| self.err(f, Some(&t), EXPECT_CURRENCY)),
        }
    }

    fn req_currency(&self, f: usize, cache: &mut CurrencyCache) -> Res<Currency> {
        self.opt_currency(f, cache)?.ok_or_else(|| self.err(f, None, format!("{EXPECT_CURRENCY} (this field is required)")))
    }

    /// An amount in major units of `c`, exactly, as minor units.
    fn opt_money(&self, f: usize, c: Currency) -> Res<Option<i64>> {
        match self.text(f)? {
            None => Ok(None),
            Some(t) => match fast_major(&t, c.exponent()) {
                Some(v) => Ok(Some(v)),
                None => c.parse_major(&t).map(Some).map_err(|_| self.err(f, Some(&t), money_expected(c))),
            },
        }
    }

    fn req_money(&self, f: usize, c: Currency) -> Res<i64> {
        self.opt_money(f, c)?.ok_or_else(|| self.err(f, None, format!("{} (this field is required)", money_expected(c))))
    }

    /// A list of ids: `a|b|c` in text, or a JSON array of strings. Items are trimmed, blank items dropped.
    fn list(&self, f: usize) -> Res<Vec<String>> {
        match self.raw(f)? {
            None => Ok(Vec::new()),
            Some(Raw::Text(t)) => Ok(t.split('|').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()),
            Some(Raw::Array(a)) => {
                let mut out = Vec::with_capacity(a.len());
                for v in a {
                    match v {
                        Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                        Value::String(_) | Value::Null => {}
                        Value::Number(n) => out.push(n.to_string()),
                        other => return Err(self.err(f, Some(&other.to_string()), "a list of strings")),
                    }
                }
                Ok(out)
            }
            Some(Raw::Object) => Err(self.err(f, Some("{…}"), "a list of strings (`a|b` or a JSON array)")),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// CSV

/// A CSV header resolved against a kind's columns.
pub(crate) struct CsvHeader {
    pub width: usize,
    /// Column index of each slot.
    pub slot_col: Vec<Option<usize>>,
    /// Each slot's name as the header spells it (canonical name if the column is absent).
    pub slot_name: Vec<String>,
    /// Customer attribute columns: (column index, attribute name).
    pub extras: Vec<(usize, String)>,
    /// Header name per column index, for truncation errors.
    pub names: Vec<String>,
}

fn utf8_error(file: &Path, line: u64, field: Option<&str>, bytes: &[u8], e: std::str::Utf8Error) -> ImportError {
    let at = e.valid_up_to();
    let mut err = ImportError::at(
        file,
        line,
        format!(
            "UTF-8 text (byte 0x{:02X} at offset {at} is not valid UTF-8; re-save the file as UTF-8)",
            bytes.get(at).copied().unwrap_or(0)
        ),
    )
    .with_value(&String::from_utf8_lossy(bytes));
    if let Some(f) = field {
        err = err.with_field(f);
    }
    err
}

impl CsvHeader {
    pub fn build(kind: SourceKind, rec: &ByteRecord, file: &Path) -> Result<CsvHeader, ImportError> {
        let cols = schema::cols(kind);
        let mut h = CsvHeader {
            width: rec.len(),
            slot_col: vec![None; cols.len()],
            slot_name: cols.iter().map(|c| c.name.to_string()).collect(),
            extras: Vec::new(),
            names: Vec::with_capacity(rec.len()),
        };
        let mut unknown: Vec<String> = Vec::new();
        for (i, raw) in rec.iter().enumerate() {
            let raw = if i == 0 { raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw) } else { raw };
            let name = std::str::from_utf8(raw).map_err(|e| utf8_error(file, 1, None, raw, e))?.trim().to_string();
            let err = |expected: String| ImportError::at(file, 1, expected).with_field(name.clone());
            if name.is_empty() {
                return Err(ImportError::at(file, 1, format!("a name for column {} of the header", i + 1)));
            }
            if h.names.contains(&name) {
                return Err(err("each column name at most once in the header".into()));
            }
            match cols.iter().position(|c| c.matches(&name)) {
                Some(slot) => {
                    if h.slot_col[slot].is_some() {
                        let c = &cols[slot];
                        return Err(err(format!(
                            "only one of the columns `{}` and `{}` (they are the same field)",
                            c.name,
                            c.alias.unwrap_or(c.name)
                        )));
                    }
                    h.slot_col[slot] = Some(i);
                    h.slot_name[slot] = name.clone();
                }
                None if kind == SourceKind::Customers => h.extras.push((i, name.clone())),
                None => unknown.push(name.clone()),
            }
            h.names.push(name);
        }
        let fname = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for (slot, c) in cols.iter().enumerate() {
            if c.required && h.slot_col[slot].is_none() {
                let mut expected = format!("a column named `{}` (required in {fname})", c.name);
                if !unknown.is_empty() {
                    expected.push_str(&format!("; the header has unknown columns: {}", unknown.join(", ")));
                }
                return Err(ImportError::at(file, 1, expected).with_field(c.name));
            }
        }
        if !unknown.is_empty() {
            return Err(ImportError::at(file, 1, format!("only known columns in {fname}: {}", schema::describe(kind)))
                .with_field(unknown.join(", ")));
        }
        Ok(h)
    }
}

pub(crate) struct CsvSrc<'a> {
    rec: &'a ByteRecord,
    h: &'a CsvHeader,
    file: &'a Path,
    line: u64,
    /// The whole row is ASCII, so every field is valid UTF-8.
    ascii: bool,
}

impl<'a> CsvSrc<'a> {
    pub fn new(rec: &'a ByteRecord, h: &'a CsvHeader, file: &'a Path, line: u64) -> Self {
        CsvSrc { rec, h, file, line, ascii: is_ascii(rec.as_slice()) }
    }

    #[inline]
    fn cell(&self, col: usize, field: &str) -> Res<Option<&str>> {
        let b = self.rec.get(col).unwrap_or(b"");
        if is_blank(b) {
            return Ok(None);
        }
        if self.ascii {
            // SAFETY: `b` is part of the row's bytes, which are all ASCII, hence valid UTF-8.
            return Ok(Some(unsafe { std::str::from_utf8_unchecked(b) }));
        }
        std::str::from_utf8(b).map(Some).map_err(|e| Box::new(utf8_error(self.file, self.line, Some(field), b, e)))
    }
}

impl Src for CsvSrc<'_> {
    #[inline]
    fn raw(&self, f: usize) -> Res<Option<Raw<'_>>> {
        match self.h.slot_col[f] {
            None => Ok(None),
            Some(c) => Ok(self.cell(c, &self.h.slot_name[f])?.map(|s| Raw::Text(Cow::Borrowed(s)))),
        }
    }
    fn field_name(&self, f: usize) -> String {
        self.h.slot_name[f].clone()
    }
    fn file(&self) -> &Path {
        self.file
    }
    fn line(&self) -> u64 {
        self.line
    }
    fn attributes(&self) -> Res<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (c, name) in &self.h.extras {
            if let Some(v) = self.cell(*c, name)? {
                out.insert(name.clone(), v.to_string());
            }
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------------------
// JSON

pub(crate) struct JsonSrc<'a> {
    vals: Vec<Option<&'a Value>>,
    cols: &'static [Col],
    obj: &'a Map<String, Value>,
    prefix: &'a str,
    file: &'a Path,
    line: u64,
}

/// A scalar JSON value as attribute text; `Err` for arrays and objects; `None` for null and blank strings.
fn scalar_text(v: &Value) -> Result<Option<String>, ()> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if is_blank(s.as_bytes()) => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(()),
    }
}

impl<'a> JsonSrc<'a> {
    /// Resolves `obj`'s keys against `kind`'s fields. Unknown keys are an error except in customers
    /// (attributes) and those in `allowed` (`lines` of an invoice).
    pub fn new(
        kind: SourceKind,
        obj: &'a Map<String, Value>,
        allowed: &[&str],
        prefix: &'a str,
        file: &'a Path,
        line: u64,
    ) -> Result<JsonSrc<'a>, ImportError> {
        let cols = schema::cols(kind);
        let mut vals: Vec<Option<&Value>> = vec![None; cols.len()];
        let mut unknown: Vec<&str> = Vec::new();
        for (k, v) in obj {
            match cols.iter().position(|c| c.matches(k)) {
                Some(i) => {
                    if vals[i].is_some() {
                        let c = &cols[i];
                        return Err(ImportError::at(
                            file,
                            line,
                            format!(
                                "only one of the fields `{}` and `{}` (they are the same field)",
                                c.name,
                                c.alias.unwrap_or(c.name)
                            ),
                        )
                        .with_field(format!("{prefix}{k}")));
                    }
                    vals[i] = Some(v);
                }
                None if kind == SourceKind::Customers || allowed.contains(&k.as_str()) => {}
                None => unknown.push(k),
            }
        }
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|k| format!("{prefix}{k}")).collect();
            let mut known = schema::describe(kind);
            for a in allowed {
                known.push_str(", ");
                known.push_str(a);
            }
            return Err(ImportError::at(file, line, format!("only known fields of {} records: {known}", kind.as_str()))
                .with_field(names.join(", ")));
        }
        Ok(JsonSrc { vals, cols, obj, prefix, file, line })
    }
}

impl Src for JsonSrc<'_> {
    fn raw(&self, f: usize) -> Res<Option<Raw<'_>>> {
        Ok(match self.vals[f] {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if is_blank(s.as_bytes()) => None,
            Some(Value::String(s)) => Some(Raw::Text(Cow::Borrowed(s))),
            Some(Value::Number(n)) => Some(Raw::Text(Cow::Owned(n.to_string()))),
            Some(Value::Bool(b)) => Some(Raw::Text(Cow::Borrowed(if *b { "true" } else { "false" }))),
            Some(Value::Array(a)) => Some(Raw::Array(a)),
            Some(Value::Object(_)) => Some(Raw::Object),
        })
    }
    fn field_name(&self, f: usize) -> String {
        format!("{}{}", self.prefix, self.cols[f].name)
    }
    fn file(&self) -> &Path {
        self.file
    }
    fn line(&self) -> u64 {
        self.line
    }
    fn attributes(&self) -> Res<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let err = |field: String, value: &Value, expected: &str| {
            Box::new(ImportError::at(self.file, self.line, expected).with_field(field).with_value(&value.to_string()))
        };
        const SCALAR: &str = "a string, number or boolean attribute value";
        match self.obj.get("attributes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    if k.trim().is_empty() {
                        return Err(err("attributes".into(), v, "a non-empty attribute name"));
                    }
                    if let Some(t) = scalar_text(v).map_err(|_| err(format!("attributes.{k}"), v, SCALAR))? {
                        out.insert(k.clone(), t);
                    }
                }
            }
            Some(v) => return Err(err("attributes".into(), v, "an object mapping attribute names to values")),
        }
        for (k, v) in self.obj {
            if k == "attributes" || self.cols.iter().any(|c| c.matches(k)) {
                continue;
            }
            if k.trim().is_empty() {
                return Err(err(k.clone(), v, "a non-empty attribute name"));
            }
            if let Some(t) = scalar_text(v).map_err(|_| err(k.clone(), v, SCALAR))? {
                match out.get(k) {
                    Some(prev) if *prev != t => {
                        return Err(err(
                            k.clone(),
                            v,
                            &format!("the same value as attributes.{k} ({prev:?}), or only one of the two"),
                        ))
                    }
                    _ => {
                        out.insert(k.clone(), t);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_major_agrees_with_parse_major() {
        for code in ["USD", "JPY", "KWD"] {
            let c = Currency::parse(code).unwrap();
            for s in [
                "0", "-0", "1", "49.99", "-49.99", "49.9", "49.", ".5", "-.5", "1.230", "1.234", "1.2345", ".", "-", "",
                "+5", " 5", "5 ", "1.2.3", "12a", "999999999999999999", "9999999999999999.99", "-999999999999999999",
                "92233720368547758.07", "00012.50", "1e5",
            ] {
                let general = c.parse_major(s).ok();
                // `None`: the general parser decides.
                if let Some(v) = fast_major(s, c.exponent()) {
                    assert_eq!(Some(v), general, "{code} {s:?}");
                }
            }
            assert_eq!(fast_major("49.99", c.exponent()), c.parse_major("49.99").ok().filter(|_| c.exponent() >= 2));
        }
    }

    #[test]
    fn fast_instant_agrees_with_the_general_parser() {
        let mut checked = 0;
        for y in [1000, 1582, 1899, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 2400, 9998] {
            for m in 0..=13 {
                for d in [0, 1, 15, 28, 29, 30, 31, 32] {
                    for t in ["", "T00:00:00Z", "T23:59:59Z", "T12:34:56Z", "T24:00:00Z", "T12:60:00Z", "T12:00:60Z"] {
                        let s = format!("{y:04}-{m:02}-{d:02}{t}");
                        let general = parse_instant(&s).ok();
                        match fast_instant(s.as_bytes()) {
                            Some(v) => assert_eq!(Some(v), general, "{s}"),
                            None => assert!(general.is_none() || t.ends_with("60Z"), "{s} is valid but not fast-parsed"),
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000);
        for s in ["2025-01-01T00:00:00z", "2025-01-01 00:00:00Z", "2025-1-01", "20250101", "2025-01-01T00:00:00+00:00", "0999-01-01", "9999-12-31"] {
            assert_eq!(fast_instant(s.as_bytes()), None, "{s}");
        }
    }
}
