//! Customer 360: the customer's status, MRR and plan, an MRR-over-time chart and the billing timeline
//! with its explanation (the subscriptions behind each ledger row and why they changed).
use super::{chart, money, PageCtx, Section};
use crate::api::customer_timeline;
use crate::error::ApiError;
use holdfast_core::time::format_instant;
use maud::{html, Markup};
use serde_json::json;

pub const SECTION: Section = Section { path: "/customers/{id}", title: "Customer", nav: false, params: &[], render };

fn render(ctx: &PageCtx) -> Result<Markup, ApiError> {
    let c = ctx.c;
    let cur = ctx.cur();
    let id = ctx.path_id.clone().unwrap_or_default();
    let i = c.snap.customers.ids.get(&id).ok_or_else(|| ApiError::not_found(format!("no customer with id {id:?}")))?;
    let now = &c.run.customers[i as usize];
    let rows = customer_timeline(c, i)?;
    let major = |v: i64| v as f64 / 10f64.powi(cur.exponent() as i32);
    let enc = serde_urlencoded::to_string([("customer", id.as_str())]).unwrap_or_default();
    let mut points: Vec<serde_json::Value> = rows.iter().map(|r| json!({"value": [r.change.t * 1000, major(r.change.mrr)], "link": format!("/movements?{enc}")})).collect();
    // the step line runs on to as_of, where the customer's MRR is the last row's
    if let Some(last) = rows.last().filter(|r| r.change.t < c.run.as_of) {
        points.push(json!({"value": [c.run.as_of * 1000, major(last.change.mrr)], "link": format!("/movements?{enc}")}));
    }
    let option = json!({
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 30},
        "xAxis": {"type": "time"},
        "series": [{"name": "MRR", "type": "line", "step": "end", "data": points}],
    });
    Ok(html! {
        h1 { (id) " " span.muted { (c.snap.customers.name[i as usize].as_deref().unwrap_or("")) } }
        div.tiles {
            a.tile href=(format!("/movements?{enc}")) { div.name { "MRR" } div.value { (money(now.mrr, cur)) } }
            a.tile href=(format!("/customers?status={}", now.status.as_str())) { div.name { "Status" } div.value { (now.status.as_str()) } }
            a.tile href=(format!("/customers?{}", serde_urlencoded::to_string([("plan", c.plan_name(now.plan))]).unwrap_or_default())) { div.name { "Plan" } div.value { (c.plan_name(now.plan)) } }
        }
        div.charts { (chart("customer-mrr", "MRR over time", option, false)) }
        h2 { "Billing timeline" }
        table.data #timeline {
            thead { tr { th { "Effective" } th { "Type" } th.num { "Amount" } th.num { "FX" } th.num { "MRR after" } th { "Native" } th { "Why: subscriptions and causes" } } }
            tbody {
                @for r in &rows {
                    tr {
                        td { (format_instant(r.change.t)) }
                        td { (r.change.kind.as_str()) }
                        td.num { (money(r.change.amount, cur)) }
                        td.num { (money(r.change.fx, cur)) }
                        td.num { (money(r.change.mrr, cur)) }
                        td { @if let (Some(v), Some(cc)) = (r.amount_native, r.currency) { (money(v, cc)) " " (cc.code()) } }
                        td {
                            @for s in &r.subscriptions {
                                div { (s.subscription) ": " (money(s.native_before, s.currency)) " → " (money(s.native_after, s.currency)) " " (s.currency.code()) " (" (s.cause.as_str()) ")" }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(format!("/api/customers/{}?format=csv", enc.trim_start_matches("customer="))) { "Timeline as CSV" } }
    })
}
