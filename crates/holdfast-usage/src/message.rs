//! Segment-compatible messages (spec §12.2): `track`, `identify`, `group`, `page` (and `screen`), one JSON
//! object each, or a `{"batch": [...]}` envelope of them.
//!
//! [`parse_message`] is the single entry point the file reader and the HTTP ingest endpoint share. It borrows
//! strings from the input (copying only those with JSON escapes) and keeps only what the rollups need: ids,
//! the event name, the instant, numeric `properties`, `context.groupId` and the group's billing link.
use holdfast_core::time::Ts;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

/// A precise input error: where (file, line), which field, the value found and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct UsageError {
    pub file: Option<PathBuf>,
    /// 1-based line of the file.
    pub line: Option<u64>,
    /// The JSON field (`timestamp`, `event`, `properties.duration_ms`, …), `None` for the whole line.
    pub field: Option<String>,
    /// The offending value, shortened to 80 characters.
    pub value: Option<String>,
    pub expected: String,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: ", p.display())?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        if let Some(v) = &self.value {
            write!(f, "{v:?}: ")?;
        }
        write!(f, "expected {}", self.expected)
    }
}

impl UsageError {
    pub fn new(field: Option<&str>, value: Option<&str>, expected: impl Into<String>) -> UsageError {
        let value = value.map(|v| if v.chars().count() > 80 { v.chars().take(77).collect::<String>() + "…" } else { v.to_string() });
        UsageError { file: None, line: None, field: field.map(str::to_string), value, expected: expected.into() }
    }
    /// Places the error in a file and line.
    pub fn at(mut self, file: &std::path::Path, line: u64) -> UsageError {
        self.file = Some(file.to_path_buf());
        self.line = Some(line);
        self
    }
}

/// The message types Holdfast reads. `screen` is a mobile `page`; `alias` is accepted and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Track,
    Identify,
    Group,
    Page,
    Alias,
}

/// One parsed message. Strings borrow from the input unless they contained escapes.
#[derive(Clone, Debug, PartialEq)]
pub struct Message<'a> {
    pub kind: MessageKind,
    /// `messageId`; `None` when absent (the dedupe key is then the hash of the raw message).
    pub message_id: Option<Cow<'a, str>>,
    pub user_id: Option<Cow<'a, str>>,
    pub anonymous_id: Option<Cow<'a, str>>,
    /// `event` of a track; `name` of a page.
    pub event: Option<Cow<'a, str>>,
    /// `groupId` of a group call.
    pub group_id: Option<Cow<'a, str>>,
    /// `context.groupId` (a track's explicit account), else `properties.groupId`.
    pub context_group_id: Option<Cow<'a, str>>,
    /// `timestamp` → `originalTimestamp` → `receivedAt`, UTC seconds.
    pub timestamp: Ts,
    /// Numeric top-level `properties`, in millionths (exact integers: sums do not depend on order).
    pub numeric: Vec<(Cow<'a, str>, i64)>,
    /// `properties.duration_ms`, when numeric: an explicit duration that extends the event's session.
    pub duration_ms: Option<i64>,
    /// The billing customer a group call links its account to: `traits.stripe_customer_id`, else
    /// `traits.customer_id`.
    pub billing_customer: Option<Cow<'a, str>>,
}

impl Message<'_> {
    /// The user key: `userId`, else `anonymousId` prefixed with `anon:` (a distinct user space).
    pub fn user_key(&self) -> Option<Cow<'_, str>> {
        match (&self.user_id, &self.anonymous_id) {
            (Some(u), _) => Some(Cow::Borrowed(u.as_ref())),
            (None, Some(a)) => Some(Cow::Owned(format!("anon:{a}"))),
            (None, None) => None,
        }
    }
}

/// A JSON id: a string or an integer (Segment allows both for `userId`/`groupId`).
struct Id<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or integer id")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Id((!v.is_empty()).then_some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Id((!v.is_empty()).then(|| Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Id((!v.is_empty()).then_some(Cow::Owned(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Id(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Id(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Id(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Id(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string field, kept raw (borrowed when possible); non-strings are reported with their JSON type.
enum Text<'a> {
    Str(Cow<'a, str>),
    Null,
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text::Other("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Text::Other("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text::Other("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text::Other("a number"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::Other("an object"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::Other("an array"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A property value: numbers kept, everything else skipped without building it.
struct Scalar(Option<f64>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Some(v)))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Scalar, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Scalar, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `properties`: numeric values (in millionths) and the string `groupId` convention.
#[derive(Default)]
struct Props<'a> {
    numeric: Vec<(Cow<'a, str>, f64)>,
    group_id: Option<Cow<'a, str>>,
    not_object: Option<&'static str>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Props<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Props<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Props<'de>, A::Error> {
                let mut p = Props::default();
                // keys borrow from the input (no allocation) unless they contain escapes
                while let Some(k) = m.next_key::<Text<'de>>()? {
                    let Text::Str(k) = k else {
                        m.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    if k == "groupId" {
                        if let Id(Some(g)) = m.next_value::<Id<'de>>()? {
                            p.group_id = Some(g);
                        }
                        continue;
                    }
                    if let Scalar(Some(v)) = m.next_value::<Scalar>()? {
                        p.numeric.push((k, v));
                    }
                }
                Ok(p)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Props<'de>, E> {
                Ok(Props::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Props<'de>, E> {
                Ok(Props::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Props<'de>, E> {
                Ok(Props { not_object: Some("a string"), ..Props::default() })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Props<'de>, E> {
                Ok(Props { not_object: Some("a boolean"), ..Props::default() })
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Props<'de>, E> {
                Ok(Props { not_object: Some("a number"), ..Props::default() })
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Props<'de>, E> {
                Ok(Props { not_object: Some("a number"), ..Props::default() })
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Props<'de>, E> {
                Ok(Props { not_object: Some("a number"), ..Props::default() })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Props<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Props { not_object: Some("an array"), ..Props::default() })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
struct Context<'a> {
    #[serde(rename = "groupId", borrow, default)]
    group_id: Option<Id<'a>>,
}

#[derive(Deserialize, Default)]
struct Traits<'a> {
    #[serde(borrow, default)]
    stripe_customer_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    customer_id: Option<Id<'a>>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Text<'a>>,
    #[serde(rename = "messageId", borrow, default)]
    message_id: Option<Id<'a>>,
    #[serde(rename = "userId", borrow, default)]
    user_id: Option<Id<'a>>,
    #[serde(rename = "anonymousId", borrow, default)]
    anonymous_id: Option<Id<'a>>,
    #[serde(rename = "groupId", borrow, default)]
    group_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    event: Option<Text<'a>>,
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    timestamp: Option<Text<'a>>,
    #[serde(rename = "originalTimestamp", borrow, default)]
    original_timestamp: Option<Text<'a>>,
    #[serde(rename = "receivedAt", borrow, default)]
    received_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    properties: Option<Props<'a>>,
    #[serde(borrow, default)]
    context: Option<Context<'a>>,
    #[serde(borrow, default)]
    traits: Option<Traits<'a>>,
    /// A batch envelope's messages (only meaningful without `type`).
    #[serde(borrow, default)]
    batch: Option<Vec<&'a serde_json::value::RawValue>>,
}

fn id(x: Option<Id<'_>>) -> Option<Cow<'_, str>> {
    x.and_then(|i| i.0)
}

/// Largest magnitude a numeric property may have: its millionths must fit an i64 with room for sums.
const MAX_PROPERTY: f64 = 1e12;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The canonical Segment form `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, parsed without the general ISO-8601 parser
/// (the hot path of ingest); `None` for any other form, which then goes through
/// [`holdfast_core::time::parse_instant`].
fn fast_utc_instant(s: &[u8]) -> Option<Ts> {
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || s[10] != b'T' || s[13] != b':' || s[16] != b':' || *s.last()? != b'Z' {
        return None;
    }
    let frac = &s[19..s.len() - 1];
    if !frac.is_empty() && (frac[0] != b'.' || frac.len() < 2 || !frac[1..].iter().all(u8::is_ascii_digit)) {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<i64> { s[a..b].iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i64)) };
    let (y, mo, d, h, mi, se) = (num(0, 4)?, num(5, 7)?, num(8, 10)?, num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

fn instant(field: &str, t: Text<'_>) -> Result<Option<Ts>, UsageError> {
    match t {
        Text::Null => Ok(None),
        Text::Str(s) if s.is_empty() => Ok(None),
        Text::Str(s) if fast_utc_instant(s.as_bytes()).is_some() => Ok(fast_utc_instant(s.as_bytes())),
        Text::Str(s) => holdfast_core::time::parse_instant(&s)
            .map(Some)
            .map_err(|_| UsageError::new(Some(field), Some(&s), "an ISO-8601 instant with a UTC offset, e.g. 2025-04-01T12:00:00Z")),
        Text::Other(what) => Err(UsageError::new(Some(field), Some(what), "an ISO-8601 instant string")),
    }
}

fn text<'a>(field: &str, t: Option<Text<'a>>) -> Result<Option<Cow<'a, str>>, UsageError> {
    match t {
        None | Some(Text::Null) => Ok(None),
        Some(Text::Str(s)) if s.is_empty() => Ok(None),
        Some(Text::Str(s)) => Ok(Some(s)),
        Some(Text::Other(what)) => Err(UsageError::new(Some(field), Some(what), "a string")),
    }
}

/// Parses one message (not a batch envelope: see [`parse_line`]).
pub fn parse_message(bytes: &[u8]) -> Result<Message<'_>, UsageError> {
    let raw: Raw<'_> = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    from_raw(raw)
}

fn json_error(e: &serde_json::Error) -> UsageError {
    UsageError::new(None, None, format!("one JSON object per line ({e})"))
}

fn from_raw(raw: Raw<'_>) -> Result<Message<'_>, UsageError> {
    let kind = match raw.kind {
        Some(Text::Str(s)) => match s.as_ref() {
            "track" => MessageKind::Track,
            "identify" => MessageKind::Identify,
            "group" => MessageKind::Group,
            "page" | "screen" => MessageKind::Page,
            "alias" => MessageKind::Alias,
            other => return Err(UsageError::new(Some("type"), Some(other), "one of track, identify, group, page, screen, alias")),
        },
        Some(Text::Other(what)) => return Err(UsageError::new(Some("type"), Some(what), "one of track, identify, group, page, screen, alias")),
        None | Some(Text::Null) => return Err(UsageError::new(Some("type"), None, "a message type: track, identify, group, page, screen or alias")),
    };
    let mut timestamp = None;
    for (field, t) in [("timestamp", raw.timestamp), ("originalTimestamp", raw.original_timestamp), ("receivedAt", raw.received_at)] {
        if let Some(t) = t {
            if let Some(ts) = instant(field, t)? {
                timestamp.get_or_insert(ts);
            }
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(UsageError::new(Some("timestamp"), None, "an instant in `timestamp`, `originalTimestamp` or `receivedAt`"));
    };
    let user_id = id(raw.user_id);
    let anonymous_id = id(raw.anonymous_id);
    if user_id.is_none() && anonymous_id.is_none() && kind != MessageKind::Alias {
        return Err(UsageError::new(Some("userId"), None, "a `userId` or an `anonymousId`"));
    }
    let event = match kind {
        MessageKind::Track => Some(text("event", raw.event)?.ok_or_else(|| UsageError::new(Some("event"), None, "the event name of a track message"))?),
        MessageKind::Page => text("name", raw.name)?,
        _ => None,
    };
    let group_id = id(raw.group_id);
    if kind == MessageKind::Group && group_id.is_none() {
        return Err(UsageError::new(Some("groupId"), None, "the account id of a group message"));
    }
    let props = raw.properties.unwrap_or_default();
    if let Some(what) = props.not_object {
        return Err(UsageError::new(Some("properties"), Some(what), "an object"));
    }
    let mut numeric = Vec::with_capacity(props.numeric.len());
    let mut duration_ms = None;
    for (k, v) in props.numeric {
        if !v.is_finite() || v.abs() > MAX_PROPERTY {
            return Err(UsageError::new(Some(&format!("properties.{k}")), Some(&v.to_string()), format!("a number of magnitude at most {MAX_PROPERTY:e}")));
        }
        if k == "duration_ms" {
            if v < 0.0 {
                return Err(UsageError::new(Some("properties.duration_ms"), Some(&v.to_string()), "a duration ≥ 0 in milliseconds"));
            }
            duration_ms = Some(v.round() as i64);
        }
        numeric.push((k, (v * 1e6).round() as i64));
    }
    let context_group_id = raw.context.and_then(|c| id(c.group_id)).or(props.group_id);
    let billing_customer = raw.traits.and_then(|t| id(t.stripe_customer_id).or_else(|| id(t.customer_id)));
    Ok(Message {
        kind,
        message_id: id(raw.message_id),
        user_id,
        anonymous_id,
        event,
        group_id,
        context_group_id,
        timestamp,
        numeric,
        duration_ms,
        billing_customer,
    })
}

/// Parses one JSONL line: a message, or a `{"batch": [...]}` envelope whose messages are handed to `each`
/// in order with their raw bytes (the dedupe key of messages without `messageId`). Errors in a batch name
/// the message's index in the field (`batch[3].timestamp`).
pub fn parse_line<'a>(line: &'a [u8], each: &mut dyn FnMut(&'a [u8], Message<'a>) -> Result<(), UsageError>) -> Result<(), UsageError> {
    let raw: Raw<'a> = serde_json::from_slice(line).map_err(|e| json_error(&e))?;
    match raw.batch {
        Some(batch) if raw.kind.is_none() => {
            for (i, m) in batch.into_iter().enumerate() {
                let bytes = m.get().as_bytes();
                let msg = parse_message(bytes).map_err(|mut e| {
                    e.field = Some(match e.field.take() {
                        Some(f) => format!("batch[{i}].{f}"),
                        None => format!("batch[{i}]"),
                    });
                    e
                })?;
                each(bytes, msg)?;
            }
            Ok(())
        }
        _ => {
            let msg = from_raw(raw)?;
            each(line, msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fast_utc_instant;

    #[test]
    fn the_fast_instant_path_agrees_with_the_general_parser() {
        for s in ["1970-01-01T00:00:00Z", "2024-02-29T23:59:59Z", "2025-04-01T12:00:00.123Z", "1969-12-31T23:59:59Z", "2100-03-01T00:00:00Z", "2000-02-29T12:30:00.5Z"] {
            assert_eq!(fast_utc_instant(s.as_bytes()), holdfast_core::time::parse_instant(s).ok(), "{s}");
        }
        for s in ["2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-04-01T24:00:00Z", "2025-04-01T12:00:00+02:00", "2025-04-01T12:00:00.Z", "2025-04-01 12:00:00Z"] {
            assert_eq!(fast_utc_instant(s.as_bytes()), None, "{s}");
        }
    }
}
