//! Errors for inputs the models cannot take; each names the argument, the position, the value and what was expected.
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct InputError {
    /// The argument or field, e.g. `durations`.
    pub field: &'static str,
    /// Position in the argument (row or cohort index), when the problem is one element.
    pub index: Option<usize>,
    pub value: String,
    pub expected: String,
}

impl InputError {
    pub(crate) fn at(field: &'static str, index: usize, value: impl fmt::Display, expected: impl Into<String>) -> Self {
        InputError { field, index: Some(index), value: value.to_string(), expected: expected.into() }
    }
    pub(crate) fn whole(field: &'static str, value: impl fmt::Display, expected: impl Into<String>) -> Self {
        InputError { field, index: None, value: value.to_string(), expected: expected.into() }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}[{}] = {}: expected {}", self.field, i, self.value, self.expected),
            None => write!(f, "{} = {}: expected {}", self.field, self.value, self.expected),
        }
    }
}

impl std::error::Error for InputError {}
