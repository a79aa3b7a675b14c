//! The dashboard: server-rendered pages (maud) over the cached engine run, charts drawn by the embedded
//! ECharts from options rendered into the page.
//!
//! # Adding a section
//! Write a module with a `pub const SECTION: Section` (its path, title, extra query parameters and a
//! `render` function from a [`PageCtx`] to markup) and add it to [`SECTIONS`]: routing, navigation,
//! login, the period/segment picker and error pages come from here.
//!
//! Every number links to the rows behind it ([`drill`]); forms carry the session's CSRF token and are
//! checked before anything is written; pages need a logged-in user (admins may also edit targets).
mod customer;
mod customers;
mod movements;
pub mod overview;
mod revenue;
mod targets;

use crate::auth::{self, Role, SessionUser};
use crate::cache::Computed;
use crate::error::ApiError;
use crate::params::Params;
use crate::select::{Selection, SELECTION_PARAMS};
use crate::state::AppState;
use axum::extract::{Form, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use holdfast_core::money::Currency;
use holdfast_engine::result::{KpiResult, Value};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::sync::Arc;

/// One dashboard section.
pub struct Section {
    /// Route, e.g. `/revenue` or `/customers/{id}` (the `{id}` segment reaches `render` as `path_id`).
    pub path: &'static str,
    pub title: &'static str,
    /// Shown in the navigation bar.
    pub nav: bool,
    /// Query parameters besides the selection's.
    pub params: &'static [&'static str],
    pub render: fn(&PageCtx) -> Result<Markup, ApiError>,
}

/// Every section, in navigation order. Signals, retention and the rest plug in here.
pub const SECTIONS: &[Section] = &[overview::SECTION, revenue::SECTION, customers::SECTION, customer::SECTION, movements::SECTION, targets::SECTION];

/// What a section renders from.
pub struct PageCtx<'a> {
    pub user: &'a SessionUser,
    pub params: &'a Params,
    pub sel: &'a Selection,
    pub c: &'a Computed,
    /// Period labels the selection covers, oldest first.
    pub periods: Vec<String>,
    pub path_id: Option<String>,
    pub targets: Vec<crate::targets::Target>,
}

impl PageCtx<'_> {
    pub fn cur(&self) -> Currency {
        self.c.settings.reporting_currency
    }
    /// The total's result of `kpi` in `period`.
    pub fn kpi(&self, kpi: &str, period: &str) -> Option<&KpiResult> {
        self.c.run.tables.first().and_then(|t| t.get(kpi, period, None))
    }
    /// Query-string pairs that keep the settings part of the selection (preset, overrides, as_of) in links.
    pub fn keep(&self) -> String {
        self.params.to_query(&["period", "segment_by", "grain", "status", "q", "plan", "sort", "offset", "type", "customer", "include_fx"])
    }
}

pub fn router() -> axum::Router<Arc<AppState>> {
    let mut r = axum::Router::new()
        .route("/login", axum::routing::get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/targets", axum::routing::post(targets::create))
        .route("/targets/{id}/delete", axum::routing::post(targets::remove));
    for s in SECTIONS {
        r = r.route(s.path, axum::routing::get(move |st: State<Arc<AppState>>, h: HeaderMap, u: Uri, q: RawQuery| page(st, h, u, q, s)));
    }
    r
}

fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<(String, SessionUser)>, ApiError> {
    let Some(token) = auth::cookie(headers, auth::SESSION_COOKIE) else { return Ok(None) };
    Ok(auth::session_user(&state.db(), token).map_err(ApiError::internal)?.map(|u| (token.to_string(), u)))
}

fn to_login(uri: &Uri) -> Response {
    let next = serde_urlencoded::to_string([("next", uri.to_string())]).unwrap_or_default();
    Redirect::to(&format!("/login?{next}")).into_response()
}

async fn page(State(st): State<Arc<AppState>>, headers: HeaderMap, uri: Uri, RawQuery(q): RawQuery, section: &'static Section) -> Response {
    let user = match session(&st, &headers) {
        Ok(Some((_, u))) => u,
        Ok(None) => return to_login(&uri),
        Err(e) => return error_page(None, e),
    };
    match render_section(&st, &user, &uri, q.as_deref(), section).await {
        Ok(m) => Html(m.into_string()).into_response(),
        Err(e) => error_page(Some(&user), e),
    }
}

async fn render_section(st: &Arc<AppState>, user: &SessionUser, uri: &Uri, q: Option<&str>, section: &Section) -> Result<Markup, ApiError> {
    let known: Vec<&str> = SELECTION_PARAMS.iter().chain(section.params).copied().collect();
    let params = Params::parse(q, &known)?;
    let sel = Selection::from_params(st, &params)?;
    let c = sel.compute(st).await?;
    let periods = sel.periods(&c)?;
    let path_id = section.path.contains('{').then(|| percent_decode(uri.path().rsplit('/').next().unwrap_or("")));
    let targets = crate::targets::list(&st.db()).map_err(ApiError::internal)?;
    let ctx = PageCtx { user, params: &params, sel: &sel, c: &c, periods, path_id, targets };
    let body = (section.render)(&ctx)?;
    Ok(layout(section.title, Some(user), Some(&ctx), body))
}

fn percent_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("x={s}")).ok().and_then(|v| v.into_iter().next()).map(|(_, v)| v).unwrap_or_else(|| s.to_string())
}

fn error_page(user: Option<&SessionUser>, e: ApiError) -> Response {
    let body = html! { h1 { "Cannot show this page" } p.error { (e.message) } p { a href="/" { "Back to the overview" } } };
    (e.status, Html(layout("Error", user, None, body).into_string())).into_response()
}

/// The page frame: navigation, the selection picker, the user and logout.
pub fn layout(title: &str, user: Option<&SessionUser>, ctx: Option<&PageCtx>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Holdfast" }
                link rel="stylesheet" href=(crate::assets::APP_CSS_PATH);
            }
            body {
                header.top {
                    span.brand { "Holdfast" }
                    @if user.is_some() {
                        nav {
                            @for s in SECTIONS.iter().filter(|s| s.nav) {
                                a class=(if s.title == title { "on" } else { "" }) href=(format!("{}{}", s.path, ctx.map(|c| format!("?{}", c.params.to_query(&["offset", "status", "q", "plan", "sort", "type", "customer", "include_fx"]))).unwrap_or_default())) { (s.title) }
                            }
                        }
                    }
                    @if let Some(u) = user {
                        span.who {
                            (u.username) " (" (u.role.as_str()) ")"
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(u.csrf);
                                button.link type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main {
                    @if let Some(c) = ctx { (picker(c)) }
                    (body)
                }
                @if ctx.is_some() {
                    script src=(crate::assets::ECHARTS_PATH) {}
                    script src=(crate::assets::APP_JS_PATH) {}
                }
            }
        }
    }
}

fn picker(ctx: &PageCtx) -> Markup {
    let p = ctx.params;
    let grain = ctx.c.grain.to_string();
    let segs = ctx.sel.segment_by.join(",");
    let mut dims: Vec<String> = ["plan", "billing_interval", "currency", "mrr_band", "cohort"].iter().map(|s| s.to_string()).collect();
    dims.extend((0..ctx.c.snap.customers.attr_keys.len() as u32).map(|k| ctx.c.snap.customers.attr_keys.name(k).to_string()));
    let labels: Vec<&str> = ctx.c.run.periods.iter().map(|p| p.label.as_str()).collect();
    html! {
        form.picker method="get" {
            label { "Grain" select name="grain" { @for g in ["day", "week", "month", "quarter", "year"] { option value=(g) selected[g == grain] { (g) } } } }
            label { "Period (label or FROM..TO)" input name="period" list="periods" value=(p.get("period").unwrap_or("")) placeholder=(labels.last().map(|l| format!("e.g. {l}")).unwrap_or_default()); }
            datalist #periods { @for l in labels.iter().rev().take(48) { option value=(l) {} } }
            label { "Segment by" select name="segment_by" { option value="" { "—" } @for d in &dims { option value=(d) selected[*d == segs] { (d) } } } }
            label { "Preset" select name="preset" { option value="" { "configured" } @for pr in ["holdfast", "chartmogul", "baremetrics", "profitwell", "stripe"] { option value=(pr) selected[p.get("preset") == Some(pr)] { (pr) } } } }
            @for s in p.all("set") { input type="hidden" name="set" value=(s); }
            @for (k, keep) in [("as_of", p.get("as_of")), ("status", p.get("status")), ("q", p.get("q")), ("type", p.get("type")), ("customer", p.get("customer"))] {
                @if let Some(v) = keep { input type="hidden" name=(k) value=(v); }
            }
            button type="submit" { "Apply" }
            span.muted { "as of " (holdfast_core::time::format_instant(ctx.c.run.as_of)) " · " (ctx.cur().code()) }
        }
    }
}

// ------------------------------------------------------------------ formatting

pub use holdfast_core::money::group_thousands;

pub fn money(v: i64, cur: Currency) -> String {
    group_thousands(&cur.format_minor(v))
}

/// A KPI value for people: money with thousands separators, ratios in percent, "—" for null.
pub fn fmt_value(v: Option<Value>, cur: Currency) -> String {
    match v {
        None => "—".into(),
        Some(Value::Money(m)) => money(m, cur),
        Some(Value::Count(c)) => group_thousands(&c.to_string()),
        Some(Value::Ratio(r)) => format!("{:.1} %", r * 100.0),
        Some(Value::Number(n)) => format!("{n:.2}"),
    }
}

/// A chart value (display only): money in major units, ratios in percent.
pub fn chart_value(v: Option<Value>, cur: Currency) -> serde_json::Value {
    let f = match v {
        None => return serde_json::Value::Null,
        Some(Value::Money(m)) => m as f64 / 10f64.powi(cur.exponent() as i32),
        Some(Value::Count(c)) => c as f64,
        Some(Value::Ratio(r)) => (r * 1000.0).round() / 10.0,
        Some(Value::Number(n)) => n,
    };
    serde_json::json!(f)
}

/// The movement types behind a KPI (empty: all movements).
fn drill_types(kpi: &str) -> &'static str {
    match kpi {
        "new_business_mrr" | "new_customers" => "new_business",
        "expansion_mrr" => "expansion",
        "contraction_mrr" => "contraction",
        "churn_mrr" | "churned_customers" | "customer_churn_rate" | "gross_mrr_churn_rate" => "churn",
        "reactivation_mrr" | "reactivated_customers" => "reactivation",
        "fx_impact" => "fx_only",
        "nrr" | "grr" | "net_mrr_churn_rate" => "expansion,contraction,churn",
        _ => "",
    }
}

/// The link from a KPI value to the ledger rows behind it: the movements of that period (of the types
/// the KPI counts), in the same settings.
pub fn drill(ctx: &PageCtx, kpi: &str, period: &str) -> String {
    let mut q = vec![("grain".to_string(), ctx.c.grain.to_string()), ("period".to_string(), period.to_string())];
    let t = drill_types(kpi);
    if !t.is_empty() {
        q.push(("type".into(), t.into()));
    }
    let mut s = format!("/movements?{}", serde_urlencoded::to_string(&q).unwrap_or_default());
    let keep = ctx.keep();
    if !keep.is_empty() {
        s.push('&');
        s.push_str(&keep);
    }
    s
}

/// A chart container and its option (an ECharts option object).
pub fn chart(id: &str, title: &str, option: serde_json::Value, percent: bool) -> Markup {
    let json = serde_json::to_string(&option).unwrap_or_default().replace("</", "<\\/");
    html! {
        div.chart {
            h3 { (title) }
            div.canvas id=(format!("{id}-chart")) data-chart=(format!("{id}-option")) data-unit=(if percent { "percent" } else { "money" }) {}
            script type="application/json" id=(format!("{id}-option")) { (PreEscaped(json)) }
        }
    }
}

/// Previous/next links for a paginated table.
pub fn pager(ctx: &PageCtx, base: &str, total: usize, offset: usize, limit: usize) -> Markup {
    let link = |off: usize| format!("{base}?{}&offset={off}", ctx.params.to_query(&["offset"]));
    html! {
        div.pager {
            @if offset > 0 { a href=(link(offset.saturating_sub(limit))) { "← previous" } }
            span.muted { (offset.min(total) + usize::from(total > 0)) "–" ((offset + limit).min(total)) " of " (group_thousands(&total.to_string())) }
            @if offset + limit < total { a href=(link(offset + limit)) { "next →" } }
        }
    }
}

// ------------------------------------------------------------------ login, logout, CSRF

const LOGIN_CSRF_COOKIE: &str = "holdfast_login_csrf";

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

fn login_markup(error: Option<&str>, csrf: &str, next: &str) -> Markup {
    layout(
        "Log in",
        None,
        None,
        html! {
            form.login method="post" action="/login" {
                h2 { "Log in to Holdfast" }
                @if let Some(e) = error { p.error { (e) } }
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label { "User name" input name="username" autocomplete="username" required autofocus; }
                label { "Password" input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" { "Log in" }
            }
        },
    )
}

/// Login is protected by a double-submit token: a random value in a cookie and in the form must agree.
fn login_response(st: &AppState, status: StatusCode, error: Option<&str>, next: &str) -> Response {
    let mut buf = [0u8; 16];
    let _ = getrandom::fill(&mut buf);
    let token = crate::auth::sha256_hex(&format!("{buf:?}"));
    let mut r = (status, Html(login_markup(error, &token, next).into_string())).into_response();
    let cookie = format!("{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict{}", if st.cfg.secure_cookies { "; Secure" } else { "" });
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_page(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let next = serde_urlencoded::from_str::<Vec<(String, String)>>(q.as_deref().unwrap_or("")).ok().and_then(|v| v.into_iter().find(|(k, _)| k == "next")).map(|(_, v)| v).unwrap_or_default();
    login_response(&st, StatusCode::OK, None, &next)
}

/// Only same-site paths are followed after login.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
    }
}

async fn login(State(st): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let expected = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || expected != f.csrf {
        return login_response(&st, StatusCode::FORBIDDEN, Some("The form expired; please try again."), &f.next);
    }
    if st.login_limiter.take(&format!("login:{}", f.username.trim().to_lowercase())).is_err() {
        return login_response(&st, StatusCode::TOO_MANY_REQUESTS, Some("Too many attempts for this user; wait a minute and try again."), &f.next);
    }
    let st2 = st.clone();
    let (user, pass) = (f.username.clone(), f.password.clone());
    let verified = tokio::task::spawn_blocking(move || auth::verify_password(&st2.db(), &user, &pass)).await;
    let (id, _role) = match verified {
        Ok(Ok(Some(u))) => u,
        Ok(Ok(None)) => return login_response(&st, StatusCode::UNAUTHORIZED, Some("Wrong user name or password."), &f.next),
        _ => return login_response(&st, StatusCode::INTERNAL_SERVER_ERROR, Some("The store could not be read."), &f.next),
    };
    let token = match auth::create_session(&st.db(), id) {
        Ok(t) => t,
        Err(e) => return error_page(None, ApiError::internal(e)),
    };
    let mut r = Redirect::to(safe_next(&f.next)).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&auth::session_cookie(&token, st.cfg.secure_cookies)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// The logged-in user of a form post whose CSRF token matches; else the error to answer.
#[allow(clippy::result_large_err)] // the error is the answer itself, built once on a rare path
pub fn form_user(st: &AppState, headers: &HeaderMap, csrf: &str) -> Result<(String, SessionUser), Response> {
    match session(st, headers) {
        Ok(Some((tok, u))) if !csrf.is_empty() && u.csrf.as_bytes() == csrf.as_bytes() => Ok((tok, u)),
        Ok(Some((_, u))) => Err(error_page(Some(&u), ApiError::forbidden("the form's CSRF token does not match your session; reload the page and try again"))),
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(error_page(None, e)),
    }
}

async fn logout(State(st): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let (token, _) = match form_user(&st, &headers, &f.csrf) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let _ = auth::delete_session(&st.db(), &token);
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = header::HeaderValue::from_str(&auth::session_cookie("", st.cfg.secure_cookies)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub fn is_admin(u: &SessionUser) -> bool {
    u.role == Role::Admin
}
