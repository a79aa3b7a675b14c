//! Targets: a goal for one KPI in one period — `reach` a value by the end of it, `stay_above` or
//! `stay_below` a value — with an owner, stored in the `targets` table and shown as progress on tiles and
//! on the Targets page.
//!
//! Values are exact integers in the KPI's unit: money in minor units of the reporting currency, counts as
//! counts, ratios and plain numbers in millionths (so 95 % is 950 000). Forms and the API take decimal text
//! in display units (`12000.50` currency units, `95` percent for ratios) and convert it without floats.
use crate::auth::{authorize, Scope};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use holdfast_core::money::Currency;
use holdfast_engine::result::Value;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Reach,
    StayAbove,
    StayBelow,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "reach" => Some(Kind::Reach),
            "stay_above" => Some(Kind::StayAbove),
            "stay_below" => Some(Kind::StayBelow),
            _ => None,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Reach => "reach",
            Kind::StayAbove => "stay_above",
            Kind::StayBelow => "stay_below",
        }
    }
}

/// A stored target.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Target {
    pub id: i64,
    pub kpi: String,
    pub grain: String,
    pub period: String,
    /// reach, stay_above or stay_below.
    pub kind: String,
    /// Exact target in the KPI's unit: minor units for money, millionths for ratios and numbers.
    pub target: i64,
    pub owner: Option<String>,
}

/// A new target, as the API and the form take it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTarget {
    /// A KPI name, e.g. `mrr`, `nrr`.
    pub kpi: String,
    /// The grain of `period` (default month).
    #[serde(default)]
    pub grain: Option<String>,
    /// A period label of the grain, e.g. `2025-06`.
    pub period: String,
    /// reach, stay_above or stay_below.
    pub kind: String,
    /// Decimal text in display units: currency units for money (`12000.50`), percent for ratios (`95`).
    pub target: String,
    #[serde(default)]
    pub owner: Option<String>,
}

/// Parses decimal text into an integer with `scale` decimal digits, exactly (no floats). More digits
/// than the scale are an error rather than a silent rounding.
pub fn parse_fixed(s: &str, scale: u32) -> Result<i64, String> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{s:?} is not a decimal number"));
    }
    if frac.len() as u32 > scale {
        return Err(format!("{s:?} has more than {scale} decimal digits"));
    }
    let digits = format!("{int}{frac:0<width$}", width = scale as usize);
    let v: i64 = digits.trim_start_matches('0').parse().or_else(|e| if digits.trim_start_matches('0').is_empty() { Ok(0) } else { Err(e) }).map_err(|_| format!("{s:?} is too large"))?;
    Ok(if neg { -v } else { v })
}

/// Formats a stored target in display units.
pub fn display(v: i64, unit: Unit, cur: Currency) -> String {
    match unit {
        Unit::Money => crate::pages::group_thousands(&cur.format_minor(v)),
        Unit::Count => crate::pages::group_thousands(&v.to_string()),
        Unit::Ratio => holdfast_core::money::format_minor(v, 4) + " %",
        Unit::Number => holdfast_core::money::format_minor(v, 6),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Money,
    Count,
    Ratio,
    Number,
}

impl Unit {
    pub fn of(v: Value) -> Unit {
        match v {
            Value::Money(_) => Unit::Money,
            Value::Count(_) => Unit::Count,
            Value::Ratio(_) => Unit::Ratio,
            Value::Number(_) => Unit::Number,
        }
    }
    /// The actual value in the target's integer unit.
    pub fn scaled(v: Value) -> i64 {
        match v {
            Value::Money(m) | Value::Count(m) => m,
            Value::Ratio(r) | Value::Number(r) => (r * 1e6).round() as i64,
        }
    }
    /// Display text to the stored integer: money in currency units, ratios in percent.
    pub fn parse_display(&self, s: &str, cur: Currency) -> Result<i64, String> {
        match self {
            Unit::Money => parse_fixed(s, cur.exponent() as u32),
            Unit::Count => parse_fixed(s, 0),
            Unit::Ratio => parse_fixed(s, 4), // percent with 4 decimals = millionths
            Unit::Number => parse_fixed(s, 6),
        }
    }
}

/// Where a target stands: `progress` is actual ÷ target for `reach` (None when the target is 0), and `met`
/// whether the condition holds at the period's value.
pub fn evaluate(kind: Kind, target: i64, actual: Option<i64>) -> (Option<f64>, Option<bool>) {
    let Some(a) = actual else { return (None, None) };
    match kind {
        Kind::Reach => ((target != 0).then(|| a as f64 / target as f64), Some(a >= target)),
        Kind::StayAbove => (None, Some(a >= target)),
        Kind::StayBelow => (None, Some(a <= target)),
    }
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Target>> {
    let mut st = conn.prepare("SELECT id, kpi, grain, period, kind, target, owner FROM targets ORDER BY kpi, grain, period, id")?;
    let rows = st.query_map([], |r| Ok(Target { id: r.get(0)?, kpi: r.get(1)?, grain: r.get(2)?, period: r.get(3)?, kind: r.get(4)?, target: r.get(5)?, owner: r.get(6)? }))?;
    rows.collect()
}

/// Validates `t` against the KPIs and periods the engine knows and stores it.
pub async fn insert(state: &Arc<AppState>, t: NewTarget) -> Result<Target, ApiError> {
    let kind = Kind::parse(&t.kind).ok_or_else(|| ApiError::bad("kind", format!("{:?}: expected reach, stay_above or stay_below", t.kind)))?;
    let grain: holdfast_core::Grain = match &t.grain {
        Some(g) => g.parse().map_err(|e: String| ApiError::bad("grain", e))?,
        None => holdfast_core::Grain::Month,
    };
    let c = state.cache.get(state, &state.cfg.settings, grain, &[], None).await?;
    c.calendar.parse_label(&t.period).map_err(|e| ApiError::bad("period", e))?;
    // the unit comes from a value (a numerator's unit can differ: NRR's is money)
    let sample = c.run.tables[0].results.iter().filter(|r| r.kpi == t.kpi).find_map(|r| r.value);
    let unit = match sample {
        Some(v) => Unit::of(v),
        None => return Err(ApiError::bad("kpi", format!("{:?} is not a KPI with values in this store", t.kpi))),
    };
    let value = unit.parse_display(&t.target, c.settings.reporting_currency).map_err(|e| ApiError::bad("target", e))?;
    let owner = t.owner.map(|o| o.trim().to_string()).filter(|o| !o.is_empty());
    let conn = state.db();
    conn.execute(
        "INSERT INTO targets (kpi, grain, period, kind, target, owner, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![t.kpi, grain.to_string(), t.period.trim(), kind.as_str(), value, owner, crate::auth::now()],
    )
    .map_err(ApiError::internal)?;
    Ok(Target { id: conn.last_insert_rowid(), kpi: t.kpi, grain: grain.to_string(), period: t.period.trim().into(), kind: kind.as_str().into(), target: value, owner })
}

pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM targets WHERE id = ?1", [id])? == 1)
}

#[utoipa::path(get, path = "/api/targets", tag = "targets",
    responses((status = 200, description = "Every target", body = Vec<Target>), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_targets(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Read)?;
    let v = list(&st.db()).map_err(ApiError::internal)?;
    Ok(axum::Json(v).into_response())
}

#[utoipa::path(post, path = "/api/targets", tag = "targets", request_body = NewTarget,
    responses((status = 201, description = "Created", body = Target), (status = 400, description = "Malformed JSON or a bad field (named)", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, description = "Body too large"), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_target(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Admin)?;
    let t: NewTarget = parse_json(&body)?;
    let t = insert(&st, t).await?;
    Ok((StatusCode::CREATED, axum::Json(t)).into_response())
}

#[utoipa::path(delete, path = "/api/targets/{id}", tag = "targets", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_target(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, Path(id): Path<i64>) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Admin)?;
    if delete(&st.db(), id).map_err(ApiError::internal)? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("no target with id {id}")))
    }
}

/// Parses a JSON body; a failure is a 400 naming the field (its path) and what was wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." || path.is_empty() {
            // a missing field is reported at the parent: name it from the message
            let m = inner.to_string();
            m.split('`').nth(1).filter(|_| m.starts_with("missing field") || m.starts_with("unknown field")).unwrap_or("body").to_string()
        } else {
            path
        };
        ApiError::bad(&field, format!("{inner}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_parsing_is_exact_and_strict() {
        assert_eq!(parse_fixed("12000.5", 2), Ok(1_200_050));
        assert_eq!(parse_fixed("-0.07", 2), Ok(-7));
        assert_eq!(parse_fixed("95", 4), Ok(950_000));
        assert_eq!(parse_fixed("0", 2), Ok(0));
        assert!(parse_fixed("1.234", 2).unwrap_err().contains("more than 2"));
        assert!(parse_fixed("1e3", 2).is_err());
        assert!(parse_fixed("", 2).is_err());
        assert!(parse_fixed("99999999999999999999", 2).is_err());
    }

    #[test]
    fn evaluation_follows_the_kind() {
        assert_eq!(evaluate(Kind::Reach, 200, Some(150)), (Some(0.75), Some(false)));
        assert_eq!(evaluate(Kind::StayAbove, 900_000, Some(950_000)), (None, Some(true)));
        assert_eq!(evaluate(Kind::StayBelow, 20_000, Some(25_000)), (None, Some(false)));
        assert_eq!(evaluate(Kind::Reach, 0, Some(1)), (None, Some(true)));
        assert_eq!(evaluate(Kind::Reach, 10, None), (None, None));
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<NewTarget>(br#"{"kpi":"mrr","period":"2025-01","kind":"reach"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("target"), "{}", e.message);
        let e = parse_json::<NewTarget>(br#"{"kpi":"mrr","period":7,"kind":"reach","target":"1"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("period"), "{}", e.message);
        let e = parse_json::<NewTarget>(br#"{"kpi":"mrr","#).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
    }
}
