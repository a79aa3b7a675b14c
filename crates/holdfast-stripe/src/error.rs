//! The importer's error: where (file, line/column when known, object), which field, what was found and
//! what was expected — the same layout as the neutral importer's errors.
use std::fmt;
use std::path::PathBuf;

/// Reading stops at the first error. Display:
/// `{file}:{line}:{column}: {object type} {object id}: field `{field}`: {value} — expected {expected}`,
/// parts that do not apply left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripeError {
    pub file: PathBuf,
    /// 1-based line (JSONL: the object's line; JSON: where a syntax error is).
    pub line: Option<usize>,
    /// 1-based column of a JSON syntax error.
    pub column: Option<usize>,
    /// Stripe `object` type of the offending object (`invoice`, `line_item`, …).
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// Path of the field inside the object, e.g. `lines.data[1].period.start`.
    pub field: Option<String>,
    /// The offending value, as JSON text (shortened).
    pub value: Option<String>,
    pub expected: String,
}

impl StripeError {
    pub(crate) fn file(file: impl Into<PathBuf>, expected: impl Into<String>) -> Self {
        StripeError {
            file: file.into(),
            line: None,
            column: None,
            object_type: None,
            object_id: None,
            field: None,
            value: None,
            expected: expected.into(),
        }
    }
}

impl fmt::Display for StripeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        f.write_str(":")?;
        match (&self.object_type, &self.object_id) {
            (Some(t), Some(i)) => write!(f, " {t} {i}:")?,
            (Some(t), None) => write!(f, " {t} (no id):")?,
            (None, Some(i)) => write!(f, " object {i}:")?,
            (None, None) => {}
        }
        if let Some(field) = &self.field {
            write!(f, " field `{field}`:")?;
        }
        if let Some(v) = &self.value {
            write!(f, " {v} —")?;
        }
        write!(f, " expected {}", self.expected)
    }
}

impl std::error::Error for StripeError {}

/// Shortens a JSON value for an error message.
pub(crate) fn show(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}…")
    } else {
        s
    }
}
