//! Targets: every goal with its actual value, progress and whether it is met; admins add and delete them
//! (forms with the session's CSRF token).
use super::{fmt_value, form_user, is_admin, PageCtx, Section};
use crate::error::ApiError;
use crate::state::AppState;
use crate::targets::{display, evaluate, Kind, NewTarget, Unit};
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use std::sync::Arc;

pub const SECTION: Section = Section { path: "/targets", title: "Targets", nav: true, params: &[], render };

fn render(ctx: &PageCtx) -> Result<Markup, ApiError> {
    let cur = ctx.cur();
    let grain = ctx.c.grain.to_string();
    let mut kpis: Vec<&str> = ctx.c.run.tables.first().map(|t| t.results.iter().map(|r| r.kpi).collect()).unwrap_or_default();
    kpis.sort();
    kpis.dedup();
    Ok(html! {
        h1 { "Targets" }
        table.data #targets-table {
            thead { tr { th { "KPI" } th { "Period" } th { "Goal" } th { "Owner" } th.num { "Actual" } th { "Progress" } th {} } }
            tbody {
                @for t in &ctx.targets {
                    @let actual = (t.grain == grain).then(|| ctx.kpi(&t.kpi, &t.period)).flatten().and_then(|r| r.value);
                    @let unit = actual.map(Unit::of).unwrap_or(Unit::Money);
                    @let (progress, met) = evaluate(Kind::parse(&t.kind).unwrap_or(Kind::Reach), t.target, actual.map(Unit::scaled));
                    tr {
                        td { (t.kpi) }
                        td { (t.grain) " " (t.period) }
                        td { (t.kind.replace('_', " ")) " " (display(t.target, unit, cur)) }
                        td { (t.owner.as_deref().unwrap_or("")) }
                        td.num { @if t.grain == grain { a href=(super::drill(ctx, &t.kpi, &t.period)) { (fmt_value(actual, cur)) } } @else { span.muted { "switch grain to " (t.grain) } } }
                        td {
                            @if let Some(p) = progress { (format!("{:.0} %", p * 100.0)) " " }
                            @match met { Some(true) => span.met { "met" }, Some(false) => span.missed { "not met" }, None => span.muted { "no value" } }
                        }
                        td { @if is_admin(ctx.user) {
                            form method="post" action=(format!("/targets/{}/delete", t.id)) {
                                input type="hidden" name="csrf" value=(ctx.user.csrf);
                                button.link type="submit" { "delete" }
                            }
                        } }
                    }
                }
            }
        }
        @if is_admin(ctx.user) {
            h2 { "New target" }
            form.picker method="post" action="/targets" #new-target {
                input type="hidden" name="csrf" value=(ctx.user.csrf);
                label { "KPI" select name="kpi" { @for k in &kpis { option value=(k) selected[*k == "mrr"] { (k) } } } }
                label { "Grain" select name="grain" { @for g in ["month", "quarter", "year", "week", "day"] { option value=(g) selected[g == grain] { (g) } } } }
                label { "Period" input name="period" required value=(ctx.periods.last().cloned().unwrap_or_default()); }
                label { "Goal" select name="kind" { option value="reach" { "reach" } option value="stay_above" { "stay above" } option value="stay_below" { "stay below" } } }
                label { "Value (currency units; percent for rates)" input name="target" required; }
                label { "Owner" input name="owner"; }
                button type="submit" { "Add target" }
            }
        } @else {
            p.muted { "Only admins can add targets." }
        }
    })
}

#[derive(serde::Deserialize)]
pub struct TargetForm {
    csrf: String,
    kpi: String,
    grain: String,
    period: String,
    kind: String,
    target: String,
    #[serde(default)]
    owner: String,
}

pub async fn create(State(st): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<TargetForm>) -> Response {
    let user = match form_user(&st, &headers, &f.csrf) {
        Ok((_, u)) => u,
        Err(r) => return r,
    };
    if !is_admin(&user) {
        return super::error_page(Some(&user), ApiError::forbidden("only admins can add targets"));
    }
    let t = NewTarget { kpi: f.kpi, grain: Some(f.grain), period: f.period, kind: f.kind, target: f.target, owner: Some(f.owner) };
    match crate::targets::insert(&st, t).await {
        Ok(_) => Redirect::to("/targets").into_response(),
        Err(e) => super::error_page(Some(&user), e),
    }
}

pub async fn remove(State(st): State<Arc<AppState>>, headers: HeaderMap, Path(id): Path<i64>, Form(f): Form<super::CsrfForm>) -> Response {
    let user = match form_user(&st, &headers, &f.csrf) {
        Ok((_, u)) => u,
        Err(r) => return r,
    };
    if !is_admin(&user) {
        return super::error_page(Some(&user), ApiError::forbidden("only admins can delete targets"));
    }
    match crate::targets::delete(&st.db(), id) {
        Ok(_) => Redirect::to("/targets").into_response(),
        Err(e) => super::error_page(Some(&user), ApiError::internal(e)),
    }
}
