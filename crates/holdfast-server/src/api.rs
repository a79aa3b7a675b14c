//! The JSON API. Every handler authenticates ([`crate::auth::authorize`]), reads its parameters strictly
//! (an unknown parameter or a bad value is a 400 naming it), takes the engine run from the cache and
//! answers a [`Table`] (JSON, or CSV with `format=csv`) or a document. Routes and the OpenAPI document
//! come from the same `#[utoipa::path]` annotations, so the document cannot miss a route.
use crate::auth::{authorize, Scope};
use crate::cache::Computed;
use crate::error::{ApiError, ErrorBody};
use crate::params::Params;
use crate::select::{Selection, SELECTION_PARAMS};
use crate::state::AppState;
use crate::table::{page, Format, Table};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use holdfast_core::time::{format_instant, Ts};
use holdfast_engine::result::{KpiResult, Value};
use holdfast_engine::timeline::{Change, CustomerStatus, Kind};
use serde_json::{json, Map, Value as J};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API routes. Request bodies are limited to `api_body_limit` bytes, webhooks (whole Stripe objects)
/// to `webhook_body_limit`; larger bodies are refused with 413 before they are read.
pub fn router(api_body_limit: usize, webhook_body_limit: usize) -> OpenApiRouter<Arc<AppState>> {
    let webhooks = OpenApiRouter::new().routes(routes!(crate::webhook::stripe_webhook)).layer(DefaultBodyLimit::max(webhook_body_limit));
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(kpis))
        .routes(routes!(movements))
        .routes(routes!(overview))
        .routes(routes!(customers))
        .routes(routes!(customer))
        .routes(routes!(crate::targets::list_targets, crate::targets::create_target))
        .routes(routes!(crate::targets::delete_target))
        .layer(DefaultBodyLimit::max(api_body_limit))
        .merge(webhooks)
}

fn selection_params(extra: &[&'static str]) -> Vec<&'static str> {
    SELECTION_PARAMS.iter().chain(extra).copied().collect()
}

fn money(v: i64) -> J {
    J::from(v)
}

pub fn value_json(v: Option<Value>) -> J {
    match v {
        None => J::Null,
        Some(Value::Money(m)) | Some(Value::Count(m)) => J::from(m),
        Some(Value::Ratio(r)) | Some(Value::Number(r)) => serde_json::Number::from_f64(r).map(J::Number).unwrap_or(J::Null),
    }
}

pub fn unit(v: Option<Value>) -> &'static str {
    match v {
        None => "",
        Some(Value::Money(_)) => "money_minor",
        Some(Value::Count(_)) => "count",
        Some(Value::Ratio(_)) => "ratio",
        Some(Value::Number(_)) => "number",
    }
}

fn meta(c: &Computed) -> Map<String, J> {
    let mut m = Map::new();
    m.insert("as_of".into(), format_instant(c.run.as_of).into());
    m.insert("settings_hash".into(), c.run.settings_hash.clone().into());
    m.insert("currency".into(), c.settings.reporting_currency.to_string().into());
    m.insert("grain".into(), c.grain.to_string().into());
    m
}

// ---------------------------------------------------------------- status

/// What the store holds and how current the engine results are.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StatusDoc {
    pub version: String,
    pub store: String,
    pub schema_version: i64,
    /// Rows per record table.
    pub tables: std::collections::BTreeMap<String, u64>,
    /// Sequence number of the last committed import (0: none yet).
    pub last_import_seq: i64,
    /// Its commit time (ISO-8601 UTC).
    pub last_import_at: Option<String>,
}

#[utoipa::path(get, path = "/api/status", tag = "store",
    responses((status = 200, description = "Store status", body = StatusDoc), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
async fn status(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Read)?;
    let st2 = st.clone();
    let doc = tokio::task::spawn_blocking(move || -> Result<StatusDoc, ApiError> {
        use holdfast_store::Store;
        let store = st2.store();
        let tables = store.table_counts().map_err(ApiError::internal)?.into_iter().map(|(t, n)| (t.to_string(), n)).collect();
        let log = store.import_log().map_err(ApiError::internal)?;
        Ok(StatusDoc {
            version: env!("CARGO_PKG_VERSION").into(),
            store: st2.cfg.db.display().to_string(),
            schema_version: store.schema_version().map_err(ApiError::internal)?,
            tables,
            last_import_seq: log.last().map(|l| l.seq).unwrap_or(0),
            last_import_at: log.last().map(|l| format_instant(l.committed_at)),
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(doc).into_response())
}

// ---------------------------------------------------------------- KPIs

/// Selection parameters shared by engine-backed endpoints.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query string; parsing is strict and done by `Params`
pub struct KpiQuery {
    /// day, week, month (default), quarter or year.
    grain: Option<String>,
    /// A period label (`2025-03`, `2025-Q1`) or a range `FROM..TO`; default: every period.
    period: Option<String>,
    /// Segmentations besides the total (repeatable or comma-separated): plan, billing_interval, currency, mrr_band, cohort or a customer attribute.
    segment_by: Option<Vec<String>>,
    /// Only these KPIs (repeatable or comma-separated), e.g. `mrr,nrr`.
    kpi: Option<Vec<String>>,
    /// Policy preset: holdfast, chartmogul, baremetrics, profitwell, stripe.
    preset: Option<String>,
    /// Policy override `KEY=VALUE` (repeatable), e.g. `grouping_window_minutes=0`.
    set: Option<Vec<String>>,
    /// Knowledge time (ISO-8601); default: the latest instant in the data.
    as_of: Option<String>,
    /// json (default) or csv.
    format: Option<String>,
    offset: Option<usize>,
    /// Rows per page (1–10000, default 100).
    limit: Option<usize>,
}

/// One KPI value for one period and segment.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct KpiRow {
    pub kpi: String,
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    /// `attribute=value`, or null for the total.
    pub segment: Option<String>,
    /// Null when the denominator is empty (flag `empty_denominator`).
    pub value: Option<f64>,
    /// money_minor (integer minor units of `currency`), count, ratio or number.
    pub unit: String,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub n: u64,
    pub flags: Vec<String>,
}

/// A page of rows.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub as_of: String,
    pub settings_hash: String,
    pub currency: String,
    pub grain: String,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub rows: Vec<T>,
}

/// The KPI results of the selection, totals first then each segmentation.
pub fn kpi_results<'a>(c: &'a Computed, periods: &[String], kpis: &[String]) -> Vec<&'a KpiResult> {
    c.run.tables.iter().flat_map(|t| t.results.iter()).filter(|r| periods.contains(&r.period) && (kpis.is_empty() || kpis.iter().any(|k| k == r.kpi))).collect()
}

#[utoipa::path(get, path = "/api/kpis", tag = "metrics", params(KpiQuery),
    responses((status = 200, description = "KPI values with numerator, denominator, n and flags (CSV with format=csv)", body = Page<KpiRow>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
async fn kpis(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Read)?;
    let p = Params::parse(q.as_deref(), &selection_params(&["kpi", "format", "offset", "limit"]))?;
    let format = Format::parse(p.get("format"))?;
    let (offset, limit) = page(p.get("offset"), p.get("limit").or(Some("10000")))?;
    let sel = Selection::from_params(&st, &p)?;
    let c = sel.compute(&st).await?;
    let periods = sel.periods(&c)?;
    let kpis = p.all("kpi");
    let known: Vec<&str> = c.run.tables.first().map(|t| t.results.iter().map(|r| r.kpi).collect()).unwrap_or_default();
    if let Some(bad) = kpis.iter().find(|k| !known.is_empty() && !known.contains(&k.as_str())) {
        let mut names: Vec<&str> = known.clone();
        names.sort();
        names.dedup();
        return Err(ApiError::bad("kpi", format!("{bad:?} is not a KPI; known: {}", names.join(", "))));
    }
    let all = kpi_results(&c, &periods, &kpis);
    let rows = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            vec![
                J::from(r.kpi),
                J::from(r.period.clone()),
                J::from(format_instant(r.period_start)),
                J::from(format_instant(r.period_end)),
                r.segment.clone().map(J::from).unwrap_or(J::Null),
                value_json(r.value),
                J::from(unit(r.value.or(r.numerator))),
                value_json(r.numerator),
                value_json(r.denominator),
                J::from(r.n),
                J::from(r.flags.clone()),
            ]
        })
        .collect();
    let columns = vec!["kpi", "period", "period_start", "period_end", "segment", "value", "unit", "numerator", "denominator", "n", "flags"];
    Ok(Table { name: "kpis", columns, rows, total: all.len(), offset, limit, meta: meta(&c) }.respond(format))
}

// ---------------------------------------------------------------- movements

/// Which ledger rows to show.
#[derive(Default)]
pub struct MovementFilter {
    pub customers: Vec<u32>,
    pub kinds: Vec<Kind>,
    pub range: Option<(Ts, Ts)>,
    pub include_fx: bool,
}

impl MovementFilter {
    pub fn from_params(c: &Computed, sel: &Selection, p: &Params) -> Result<MovementFilter, ApiError> {
        let mut f = MovementFilter { include_fx: p.flag("include_fx")?, range: sel.range(c)?, ..Default::default() };
        for id in p.all("customer") {
            f.customers.push(c.snap.customers.ids.get(&id).ok_or_else(|| ApiError::bad("customer", format!("{id:?} is not a known customer id")))?);
        }
        for k in p.all("type") {
            f.kinds.push(Kind::parse(&k).ok_or_else(|| ApiError::bad("type", format!("{k:?} is not a movement type; expected new_business, expansion, contraction, churn, reactivation or fx_only")))?);
        }
        if f.kinds.contains(&Kind::FxOnly) {
            f.include_fx = true;
        }
        Ok(f)
    }

    pub fn matches(&self, x: &Change) -> bool {
        (self.include_fx || x.kind != Kind::FxOnly)
            && (self.kinds.is_empty() || self.kinds.contains(&x.kind))
            && self.range.map(|(a, b)| x.t >= a && x.t < b).unwrap_or(true)
            && (self.customers.is_empty() || self.customers.contains(&x.customer))
    }

    /// Matching rows in ledger order (customer, then time).
    pub fn apply<'a>(&'a self, c: &'a Computed) -> Vec<&'a Change> {
        c.run.ledger.iter().filter(|x| self.matches(x)).collect()
    }
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query string; parsing is strict and done by `Params`
pub struct MovementQuery {
    /// Only these customer ids (repeatable or comma-separated).
    customer: Option<Vec<String>>,
    /// Only these types: new_business, expansion, contraction, churn, reactivation, fx_only.
    #[param(rename = "type")]
    kind: Option<Vec<String>>,
    /// A period label or range of the grain, by effective time.
    period: Option<String>,
    grain: Option<String>,
    /// Include FX-only rows.
    include_fx: Option<bool>,
    preset: Option<String>,
    set: Option<Vec<String>>,
    as_of: Option<String>,
    /// json (default) or csv.
    format: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// One row of the MRR movement ledger (money in minor units of the reporting currency).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MovementRow {
    pub customer_id: String,
    pub effective_at: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub amount: i64,
    pub fx_impact: i64,
    pub mrr_after: i64,
    pub grouped: u16,
}

pub const MOVEMENT_PARAMS: [&str; 7] = ["customer", "type", "include_fx", "format", "offset", "limit", "sort"];

#[utoipa::path(get, path = "/api/movements", tag = "metrics", params(MovementQuery),
    responses((status = 200, description = "Ledger rows (CSV with format=csv)", body = Page<MovementRow>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
async fn movements(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Read)?;
    let p = Params::parse(q.as_deref(), &selection_params(&MOVEMENT_PARAMS))?;
    let format = Format::parse(p.get("format"))?;
    let (offset, limit) = page(p.get("offset"), p.get("limit"))?;
    let sel = Selection::from_params(&st, &p)?;
    let c = sel.compute(&st).await?;
    let f = MovementFilter::from_params(&c, &sel, &p)?;
    let mut all = f.apply(&c);
    match p.get("sort") {
        None | Some("customer") => {}
        Some("time") => all.sort_by_key(|x| (x.t, x.customer)),
        Some("-time") => all.sort_by_key(|x| (std::cmp::Reverse(x.t), x.customer)),
        Some("amount") => all.sort_by_key(|x| (x.amount, x.customer, x.t)),
        Some("-amount") => all.sort_by_key(|x| (std::cmp::Reverse(x.amount), x.customer, x.t)),
        Some(x) => return Err(ApiError::bad("sort", format!("{x:?}: expected customer, time, -time, amount or -amount"))),
    }
    let rows = all.iter().skip(offset).take(limit).map(|x| movement_cells(&c, x)).collect();
    Ok(Table { name: "movements", columns: MOVEMENT_COLUMNS.to_vec(), rows, total: all.len(), offset, limit, meta: meta(&c) }.respond(format))
}

pub const MOVEMENT_COLUMNS: [&str; 7] = ["customer_id", "effective_at", "type", "amount", "fx_impact", "mrr_after", "grouped"];

fn movement_cells(c: &Computed, x: &Change) -> Vec<J> {
    vec![J::from(c.customer_name(x.customer)), J::from(format_instant(x.t)), J::from(x.kind.as_str()), money(x.amount), money(x.fx), money(x.mrr), J::from(x.grouped)]
}

// ---------------------------------------------------------------- customers

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query string; parsing is strict and done by `Params`
pub struct CustomerQuery {
    /// lead, active, past_due, churned or merged (repeatable or comma-separated).
    status: Option<Vec<String>>,
    /// Only customers whose plan (largest MRR in force) has this id.
    plan: Option<String>,
    /// Case-insensitive text in the id or name.
    q: Option<String>,
    /// mrr, -mrr (default), id, -id, name, -name, status, plan.
    sort: Option<String>,
    preset: Option<String>,
    set: Option<Vec<String>>,
    as_of: Option<String>,
    format: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// A customer at `as_of` (MRR in minor units of the reporting currency).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CustomerRow {
    pub customer_id: String,
    pub name: String,
    pub status: String,
    pub mrr: i64,
    pub plan: String,
}

pub const CUSTOMER_PARAMS: [&str; 7] = ["status", "plan", "q", "sort", "format", "offset", "limit"];
pub const CUSTOMER_COLUMNS: [&str; 5] = ["customer_id", "name", "status", "mrr", "plan"];

fn parse_status(s: &str) -> Option<CustomerStatus> {
    Some(match s {
        "lead" => CustomerStatus::Lead,
        "active" => CustomerStatus::Active,
        "past_due" => CustomerStatus::PastDue,
        "churned" => CustomerStatus::Churned,
        "merged" => CustomerStatus::Merged,
        _ => return None,
    })
}

/// Customer indices matching `status`, `plan` and `q`, in `sort` order.
pub fn customer_list(c: &Computed, p: &Params) -> Result<Vec<u32>, ApiError> {
    let mut statuses = Vec::new();
    for s in p.all("status") {
        statuses.push(parse_status(&s).ok_or_else(|| ApiError::bad("status", format!("{s:?}: expected lead, active, past_due, churned or merged")))?);
    }
    let plan = match p.get("plan") {
        Some(id) => Some(c.snap.plans.ids.get(id).ok_or_else(|| ApiError::bad("plan", format!("{id:?} is not a known plan id")))?),
        None => None,
    };
    let q = p.get("q").map(|s| s.to_lowercase());
    let name = |i: u32| c.snap.customers.name[i as usize].as_deref().unwrap_or("");
    let keep = |&i: &u32| {
        let now = &c.run.customers[i as usize];
        (statuses.is_empty() || statuses.contains(&now.status))
            && plan.map(|pl| now.plan == pl).unwrap_or(true)
            && q.as_ref().map(|q| c.customer_name(i).to_lowercase().contains(q) || name(i).to_lowercase().contains(q)).unwrap_or(true)
    };
    let mut out: Vec<u32> = if statuses.is_empty() && plan.is_none() && q.is_none() { c.by_mrr.clone() } else { c.by_mrr.iter().copied().filter(keep).collect() };
    let st = |i: u32| c.run.customers[i as usize].status.as_str();
    match p.get("sort") {
        None | Some("-mrr") => {}
        Some("mrr") => out.sort_by_key(|&i| (c.run.customers[i as usize].mrr, i)),
        Some("id") => out.sort_by(|&a, &b| c.customer_name(a).cmp(c.customer_name(b))),
        Some("-id") => out.sort_by(|&a, &b| c.customer_name(b).cmp(c.customer_name(a))),
        Some("name") => out.sort_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b))),
        Some("-name") => out.sort_by(|&a, &b| name(b).cmp(name(a)).then(a.cmp(&b))),
        Some("status") => out.sort_by(|&a, &b| st(a).cmp(st(b)).then(a.cmp(&b))),
        Some("plan") => out.sort_by(|&a, &b| c.plan_name(c.run.customers[a as usize].plan).cmp(c.plan_name(c.run.customers[b as usize].plan)).then(a.cmp(&b))),
        Some(x) => return Err(ApiError::bad("sort", format!("{x:?}: expected mrr, -mrr, id, -id, name, -name, status or plan"))),
    }
    Ok(out)
}

pub fn customer_cells(c: &Computed, i: u32) -> Vec<J> {
    let now = &c.run.customers[i as usize];
    vec![
        J::from(c.customer_name(i)),
        J::from(c.snap.customers.name[i as usize].as_deref().unwrap_or("")),
        J::from(now.status.as_str()),
        money(now.mrr),
        J::from(c.plan_name(now.plan)),
    ]
}

#[utoipa::path(get, path = "/api/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, description = "Customers with status, MRR and plan at as_of (CSV with format=csv)", body = Page<CustomerRow>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
async fn customers(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Read)?;
    let p = Params::parse(q.as_deref(), &selection_params(&CUSTOMER_PARAMS))?;
    let format = Format::parse(p.get("format"))?;
    let (offset, limit) = page(p.get("offset"), p.get("limit"))?;
    let sel = Selection::from_params(&st, &p)?;
    let c = sel.compute(&st).await?;
    let all = customer_list(&c, &p)?;
    let rows = all.iter().skip(offset).take(limit).map(|&i| customer_cells(&c, i)).collect();
    Ok(Table { name: "customers", columns: CUSTOMER_COLUMNS.to_vec(), rows, total: all.len(), offset, limit, meta: meta(&c) }.respond(format))
}

/// A customer with its billing timeline: each ledger row with the subscriptions and causes behind it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CustomerDoc {
    pub customer_id: String,
    pub name: String,
    pub status: String,
    pub mrr: i64,
    pub plan: String,
    pub currency: String,
    pub as_of: String,
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<J>,
}

/// The explained timeline of customer `i`.
pub fn customer_timeline(c: &Computed, i: u32) -> Result<Vec<holdfast_engine::timeline::ExplainedChange>, ApiError> {
    holdfast_engine::explain(&c.snap, &c.settings, Some(c.run.as_of), &[i]).map_err(|e| ApiError::bad("set", e.to_string()))
}

pub fn explained_json(r: &holdfast_engine::timeline::ExplainedChange) -> J {
    json!({
        "effective_at": format_instant(r.change.t),
        "type": r.change.kind.as_str(),
        "amount": r.change.amount,
        "fx_impact": r.change.fx,
        "mrr_after": r.change.mrr,
        "amount_native": r.amount_native,
        "native_currency": r.currency.map(|c| c.to_string()),
        "grouped": r.change.grouped,
        "subscriptions": r.subscriptions.iter().map(|s| json!({
            "subscription": s.subscription, "currency": s.currency.to_string(),
            "native_before": s.native_before, "native_after": s.native_after,
            "mrr_before": s.mrr_before, "mrr_after": s.mrr_after, "cause": s.cause.as_str(),
        })).collect::<Vec<_>>(),
    })
}

#[utoipa::path(get, path = "/api/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "Customer id"), ("format" = Option<String>, Query, description = "json (default) or csv (the timeline)"),
           ("preset" = Option<String>, Query), ("set" = Option<Vec<String>>, Query), ("as_of" = Option<String>, Query)),
    responses((status = 200, description = "The customer and its explained billing timeline", body = CustomerDoc),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
async fn customer(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, Path(id): Path<String>, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    authorize(&st, &method, &headers, Scope::Read)?;
    let p = Params::parse(q.as_deref(), &selection_params(&["format"]))?;
    let format = Format::parse(p.get("format"))?;
    let sel = Selection::from_params(&st, &p)?;
    let c = sel.compute(&st).await?;
    let i = c.snap.customers.ids.get(&id).ok_or_else(|| ApiError::not_found(format!("no customer with id {id:?}")))?;
    let timeline = customer_timeline(&c, i)?;
    if format == Format::Csv {
        let columns = vec!["effective_at", "type", "amount", "fx_impact", "mrr_after", "amount_native", "native_currency", "subscriptions"];
        let rows: Vec<Vec<J>> = timeline
            .iter()
            .map(|r| {
                let subs: Vec<J> = r.subscriptions.iter().map(|s| J::from(format!("{} {}→{} {} ({})", s.subscription, s.native_before, s.native_after, s.currency, s.cause.as_str()))).collect();
                vec![J::from(format_instant(r.change.t)), J::from(r.change.kind.as_str()), money(r.change.amount), money(r.change.fx), money(r.change.mrr), r.amount_native.map(J::from).unwrap_or(J::Null), r.currency.map(|c| J::from(c.to_string())).unwrap_or(J::Null), J::Array(subs)]
            })
            .collect();
        let n = rows.len();
        return Ok(Table { name: "customer_timeline", columns, rows, total: n, offset: 0, limit: n, meta: meta(&c) }.respond(format));
    }
    let cells = customer_cells(&c, i);
    let doc = CustomerDoc {
        customer_id: id,
        name: cells[1].as_str().unwrap_or("").into(),
        status: cells[2].as_str().unwrap_or("").into(),
        mrr: c.run.customers[i as usize].mrr,
        plan: cells[4].as_str().unwrap_or("").into(),
        currency: c.settings.reporting_currency.to_string(),
        as_of: format_instant(c.run.as_of),
        timeline: timeline.iter().map(explained_json).collect(),
    };
    Ok(axum::Json(doc).into_response())
}

// ---------------------------------------------------------------- overview

/// One KPI of the overview: its value in the period and the period before.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OverviewTile {
    pub kpi: String,
    pub name: String,
    /// money_minor, count, ratio or number.
    pub unit: String,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    pub n: u64,
    pub flags: Vec<String>,
}

/// What the dashboard's Overview shows: tiles for the last period of the selection against the one before,
/// the MRR series and the period's MRR flows by movement type (money in minor units).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct OverviewDoc {
    pub as_of: String,
    pub currency: String,
    pub grain: String,
    pub period: Option<String>,
    pub previous_period: Option<String>,
    pub tiles: Vec<OverviewTile>,
    /// `[period, MRR]` for every period of the selection.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub mrr: Vec<(String, J)>,
    /// `[kpi, amount]`: new business, expansion, reactivation, contraction, churn, FX.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub flows: Vec<(String, J)>,
}

#[utoipa::path(get, path = "/api/overview", tag = "metrics",
    params(("grain" = Option<String>, Query), ("period" = Option<String>, Query), ("preset" = Option<String>, Query), ("set" = Option<Vec<String>>, Query), ("as_of" = Option<String>, Query)),
    responses((status = 200, description = "The Overview's numbers", body = OverviewDoc),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
async fn overview(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    use crate::pages::overview::{last_two, STEPS, TILES};
    authorize(&st, &method, &headers, Scope::Read)?;
    let p = Params::parse(q.as_deref(), &SELECTION_PARAMS)?;
    let sel = Selection::from_params(&st, &p)?;
    let c = sel.compute(&st).await?;
    let periods = sel.periods(&c)?;
    let total = &c.run.tables[0];
    let (period, prev) = match last_two(&c, &periods) {
        Some((l, p)) => (Some(l), p),
        None => (None, None),
    };
    let get = |k: &str, p: Option<&str>| p.and_then(|p| total.get(k, p, None));
    let tiles = TILES
        .iter()
        .map(|(k, name)| {
            let r = get(k, period);
            OverviewTile {
                kpi: k.to_string(),
                name: name.to_string(),
                unit: unit(r.and_then(|r| r.value)).into(),
                value: r.and_then(|r| r.value).map(|v| v.as_f64()),
                previous: get(k, prev).and_then(|r| r.value).map(|v| v.as_f64()),
                n: r.map(|r| r.n).unwrap_or(0),
                flags: r.map(|r| r.flags.iter().map(|f| f.to_string()).collect()).unwrap_or_default(),
            }
        })
        .collect();
    let doc = OverviewDoc {
        as_of: format_instant(c.run.as_of),
        currency: c.settings.reporting_currency.to_string(),
        grain: c.grain.to_string(),
        period: period.map(String::from),
        previous_period: prev.map(String::from),
        tiles,
        mrr: periods.iter().map(|p| (p.clone(), value_json(total.get("mrr", p, None).and_then(|r| r.value)))).collect(),
        flows: STEPS.iter().map(|(_, k)| (k.to_string(), value_json(get(k, period).and_then(|r| r.value)))).collect(),
    };
    Ok(axum::Json(doc).into_response())
}
