//! The one error type of an import: where (file, line, field), what (the bad value) and what was expected.
use std::fmt;
use std::path::{Path, PathBuf};

/// A rejected input, precise enough to fix the file by hand.
///
/// Displayed as `{file}:{line}: field `{field}`: {value:?} — expected {expected}`, leaving out the parts that
/// are absent, e.g. `data/plans.csv:1: field `currency`: expected a column named `currency` …`.
/// `line` is the 1-based physical line (the CSV header is line 1); for a CSV row spanning several lines
/// (quoted newlines) it is the line the row starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub expected: String,
}

/// Values longer than this (in characters) are shortened in errors.
const MAX_VALUE_CHARS: usize = 120;

impl ImportError {
    /// An error about a whole file (no line, field or value).
    pub fn new(file: impl Into<PathBuf>, expected: impl Into<String>) -> ImportError {
        ImportError { file: file.into(), line: None, field: None, value: None, expected: expected.into() }
    }

    /// An error at a line of a file, e.g. for a sink that rejects a record.
    pub fn at(file: impl Into<PathBuf>, line: u64, expected: impl Into<String>) -> ImportError {
        ImportError::new(file, expected).with_line(line)
    }

    pub fn with_line(mut self, line: u64) -> ImportError {
        self.line = Some(line);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ImportError {
        self.field = Some(field.into());
        self
    }

    /// Sets the offending value, shortened to 120 characters.
    pub fn with_value(mut self, value: &str) -> ImportError {
        self.value = Some(clip(value));
        self
    }
}

pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        if let Some(v) = &self.value {
            write!(f, "{v:?} — ")?;
        }
        write!(f, "expected {}", self.expected)
    }
}

impl std::error::Error for ImportError {}

pub(crate) fn io_error(file: &Path, e: &std::io::Error) -> ImportError {
    ImportError::new(file, format!("a readable file ({e})"))
}
