//! Revenue: the KPI table by period (movements, ARR, ARPA, churn and retention rates), charts of ARR,
//! movements and rates, and — with a segmentation — the latest period by segment. Every cell links to
//! the ledger rows behind it.
use super::{chart, chart_value, drill, fmt_value, PageCtx, Section};
use crate::error::ApiError;
use maud::{html, Markup};
use serde_json::json;

pub const SECTION: Section = Section { path: "/revenue", title: "Revenue", nav: true, params: &[], render };

const ROWS: [(&str, &str); 20] = [
    ("mrr", "MRR"),
    ("arr", "ARR"),
    ("cmrr", "Committed MRR"),
    ("customers", "Customers"),
    ("arpa", "ARPA"),
    ("new_business_mrr", "New business"),
    ("expansion_mrr", "Expansion"),
    ("reactivation_mrr", "Reactivation"),
    ("contraction_mrr", "Contraction"),
    ("churn_mrr", "Churn"),
    ("fx_impact", "FX impact"),
    ("net_new_mrr", "Net new MRR"),
    ("new_customers", "New customers"),
    ("churned_customers", "Churned customers"),
    ("customer_churn_rate", "Logo churn rate"),
    ("gross_mrr_churn_rate", "Gross MRR churn rate"),
    ("net_mrr_churn_rate", "Net MRR churn rate"),
    ("grr", "GRR"),
    ("nrr", "NRR"),
    ("ltv", "LTV"),
];

/// Periods shown in the table: the last 12 of the selection.
const SHOWN: usize = 12;

fn render(ctx: &PageCtx) -> Result<Markup, ApiError> {
    let cur = ctx.cur();
    let shown: Vec<&String> = ctx.periods.iter().skip(ctx.periods.len().saturating_sub(SHOWN)).collect();
    let series = |k: &str| -> Vec<serde_json::Value> { ctx.periods.iter().map(|p| json!({"value": chart_value(ctx.kpi(k, p).and_then(|r| r.value), cur), "link": drill(ctx, k, p)})).collect() };
    let grid = json!({"left": 70, "right": 20, "top": 30, "bottom": 30});
    let arr = json!({"grid": grid, "legend": {}, "xAxis": {"type": "category", "data": ctx.periods},
        "series": [{"name": "ARR", "type": "line", "data": series("arr")}, {"name": "Committed ARR", "type": "line", "data": series("carr")}]});
    let move_series: Vec<serde_json::Value> = [("new_business_mrr", "New business"), ("expansion_mrr", "Expansion"), ("reactivation_mrr", "Reactivation"), ("contraction_mrr", "Contraction"), ("churn_mrr", "Churn")]
        .iter()
        .map(|(k, n)| json!({"name": n, "type": "bar", "stack": if k.starts_with("contraction") || k.starts_with("churn") { "down" } else { "up" }, "data": series(k)}))
        .collect();
    let moves = json!({"grid": grid, "legend": {}, "xAxis": {"type": "category", "data": ctx.periods}, "series": move_series});
    let lines = |ks: &[(&str, &str)]| -> serde_json::Value {
        let s: Vec<serde_json::Value> = ks.iter().map(|(k, n)| json!({"name": n, "type": "line", "data": series(k)})).collect();
        json!({"grid": grid, "legend": {}, "xAxis": {"type": "category", "data": ctx.periods}, "yAxis": {"type": "value", "scale": true}, "series": s})
    };
    // churn rates are a few percent, retention about 100 %: separate charts keep both readable
    let churn = lines(&[("customer_churn_rate", "Logo churn"), ("gross_mrr_churn_rate", "Gross MRR churn"), ("net_mrr_churn_rate", "Net MRR churn")]);
    let retention = lines(&[("nrr", "NRR"), ("grr", "GRR")]);
    let last = ctx.periods.last();
    Ok(html! {
        h1 { "Revenue" }
        div.charts {
            (chart("arr", "ARR", arr, false))
            (chart("movements", "MRR movements by type", moves, false))
            (chart("churn", "Churn rates", churn, true))
            (chart("retention", "Net and gross revenue retention", retention, true))
        }
        h2 { "KPIs by period" }
        table.data #kpi-table {
            thead { tr { th { "KPI" } @for p in &shown { th.num { (p) } } } }
            tbody {
                @for (k, name) in ROWS {
                    tr {
                        td { (name) }
                        @for p in &shown {
                            @let r = ctx.kpi(k, p);
                            td.num title=(r.map(|r| format!("numerator {} · denominator {} · n {} {}", fmt_value(r.numerator, cur), fmt_value(r.denominator, cur), r.n, r.flags.join(" "))).unwrap_or_default()) {
                                a href=(drill(ctx, k, p)) { (fmt_value(r.and_then(|r| r.value), cur)) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(last) = last {
            @for t in ctx.c.run.tables.iter().skip(1) {
                @let by = t.segment_by.clone().unwrap_or_default();
                h2 { "By " (by) " in " (last) }
                table.data {
                    thead { tr { th { (by) } th.num { "MRR" } th.num { "Customers" } th.num { "Net new MRR" } th.num { "Logo churn" } th.num { "NRR" } } }
                    tbody {
                        @for s in t.results.iter().filter(|r| &r.period == last && r.kpi == "mrr").filter_map(|r| r.segment.as_deref()) {
                            tr {
                                td { (s) }
                                @for k in ["mrr", "customers", "net_new_mrr", "customer_churn_rate", "nrr"] {
                                    td.num { a href=(drill(ctx, k, last)) { (fmt_value(t.get(k, last, Some(s)).and_then(|r| r.value), cur)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}
