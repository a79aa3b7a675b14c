//! Result values: every KPI carries its numerator, denominator, n and flags (spec §1).
use serde::Serialize;

/// A KPI value with its unit. Money is exact integer minor units of the reporting currency.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "unit", content = "v", rename_all = "snake_case")]
pub enum Value {
    /// Minor units of the reporting currency.
    Money(i64),
    Count(i64),
    /// A dimensionless ratio (0.25 = 25 %).
    Ratio(f64),
    /// Months, periods or another plain number.
    Number(f64),
}

impl Value {
    pub fn as_f64(&self) -> f64 {
        match *self {
            Value::Money(v) | Value::Count(v) => v as f64,
            Value::Ratio(v) | Value::Number(v) => v,
        }
    }
}

/// One KPI for one period and segment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KpiResult {
    pub kpi: &'static str,
    pub period: String,
    pub period_start: i64,
    pub period_end: i64,
    /// `None` for the total; else `attribute=value`.
    pub segment: Option<String>,
    pub value: Option<Value>,
    pub numerator: Option<Value>,
    pub denominator: Option<Value>,
    /// Number of entities (customers, terms) behind the value.
    pub n: u64,
    pub flags: Vec<&'static str>,
}

pub const FLAG_EMPTY_DENOMINATOR: &str = "empty_denominator";
pub const FLAG_INCOMPLETE: &str = "incomplete";
pub const FLAG_SHORT_HISTORY: &str = "short_history";
pub const FLAG_NEGATIVE_MRR: &str = "negative_mrr";

/// Builds a ratio result: `None` value and the `empty_denominator` flag when the denominator is zero.
pub fn ratio(num: Value, den: Value) -> (Option<Value>, Vec<&'static str>) {
    let d = den.as_f64();
    if d == 0.0 {
        (None, vec![FLAG_EMPTY_DENOMINATOR])
    } else {
        (Some(Value::Ratio(num.as_f64() / d)), vec![])
    }
}
