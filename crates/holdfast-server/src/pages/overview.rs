//! Overview: KPI tiles for the latest period of the selection (change vs the previous period, target
//! progress), the MRR chart and the net-new-MRR waterfall by movement type.
use super::{chart, chart_value, drill, fmt_value, money, PageCtx, Section};
use crate::error::ApiError;
use crate::targets::{evaluate, Kind, Unit};
use holdfast_engine::result::Value;
use maud::{html, Markup};
use serde_json::json;

pub const SECTION: Section = Section { path: "/", title: "Overview", nav: true, params: &[], render };

/// The tiles, also answered by `/api/overview`.
pub const TILES: [(&str, &str); 8] = [
    ("mrr", "MRR"),
    ("arr", "ARR"),
    ("customers", "Customers"),
    ("net_new_mrr", "Net new MRR"),
    ("customer_churn_rate", "Logo churn"),
    ("nrr", "NRR"),
    ("arpa", "ARPA"),
    ("quick_ratio", "Quick ratio"),
];

/// A KPI tile: value, change vs the previous period, target progress; a link to the rows behind it.
pub fn tile(ctx: &PageCtx, kpi: &str, name: &str, period: &str, prev: Option<&str>) -> Markup {
    let cur = ctx.cur();
    let r = ctx.kpi(kpi, period);
    let v = r.and_then(|r| r.value);
    let pv = prev.and_then(|p| ctx.kpi(kpi, p)).and_then(|r| r.value);
    let delta = match (v, pv) {
        (Some(Value::Money(a)), Some(Value::Money(b))) => Some((a - b, format!("{}{}", if a >= b { "+" } else { "" }, money(a - b, cur)))),
        (Some(Value::Count(a)), Some(Value::Count(b))) => Some((a - b, format!("{:+}", a - b))),
        (Some(Value::Ratio(a)), Some(Value::Ratio(b))) => Some((((a - b) * 1e6) as i64, format!("{:+.1} pts", (a - b) * 100.0))),
        (Some(Value::Number(a)), Some(Value::Number(b))) => Some((((a - b) * 1e6) as i64, format!("{:+.2}", a - b))),
        _ => None,
    };
    let target = ctx.targets.iter().find(|t| t.kpi == kpi && t.period == period && t.grain == ctx.c.grain.to_string());
    html! {
        a.tile href=(drill(ctx, kpi, period)) data-kpi=(kpi) {
            div.name { (name) " · " (period) }
            div.value { (fmt_value(v, cur)) }
            @if let Some((d, text)) = delta {
                @let good = if LOWER_IS_BETTER.contains(&kpi) { -d } else { d };
                div class=(format!("delta {}", if good > 0 { "up" } else if good < 0 { "down" } else { "" })) { (text) " vs " (prev.unwrap_or("")) }
            }
            @if let Some(flags) = r.map(|r| &r.flags).filter(|f| !f.is_empty()) { div.flag { (flags.join(", ")) } }
            @if let Some(t) = target {
                @let kind = Kind::parse(&t.kind).unwrap_or(Kind::Reach);
                @let unit = v.map(Unit::of).unwrap_or(Unit::Money);
                @let (progress, met) = evaluate(kind, t.target, v.map(Unit::scaled));
                div.target {
                    "target: " (t.kind.replace('_', " ")) " " (crate::targets::display(t.target, unit, cur))
                    @if let Some(o) = &t.owner { " · " (o) }
                    @match met { Some(true) => { " · " span.met { "met" } } Some(false) => { " · " span.missed { "not met" } } None => {} }
                }
                @if let Some(p) = progress { div.bar { span style=(format!("width:{:.0}%", (p * 100.0).clamp(0.0, 100.0))) {} } }
            }
        }
    }
}

/// `v` rounded down to two significant digits, for an axis start.
fn nice_floor(v: f64) -> f64 {
    if v <= 0.0 {
        return 0.0;
    }
    let p = 10f64.powf(v.log10().floor() - 1.0);
    (v / p).floor() * p
}

/// The flows from start to end MRR of a period, in waterfall order.
pub const STEPS: [(&str, &str); 6] = [("New business", "new_business_mrr"), ("Expansion", "expansion_mrr"), ("Reactivation", "reactivation_mrr"), ("Contraction", "contraction_mrr"), ("Churn", "churn_mrr"), ("FX", "fx_impact")];

/// The selection's last period and the one before it (which may lie before the selection).
pub fn last_two<'a>(c: &'a crate::cache::Computed, periods: &'a [String]) -> Option<(&'a str, Option<&'a str>)> {
    let last = periods.last()?;
    let prev = periods.len().checked_sub(2).map(|i| periods[i].as_str()).or_else(|| {
        let i = c.run.periods.iter().position(|p| &p.label == last)?;
        i.checked_sub(1).map(|i| c.run.periods[i].label.as_str())
    });
    Some((last.as_str(), prev))
}

/// KPIs where a fall is good news (drawn green).
const LOWER_IS_BETTER: [&str; 4] = ["customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "churned_customers"];

fn render(ctx: &PageCtx) -> Result<Markup, ApiError> {
    let Some((last, prev)) = last_two(ctx.c, &ctx.periods) else { return Ok(html! { p { "No periods with data yet: import billing data first." } }) };
    let cur = ctx.cur();
    let mrr_points: Vec<serde_json::Value> = ctx.periods.iter().map(|p| json!({"value": chart_value(ctx.kpi("mrr", p).and_then(|r| r.value), cur), "link": drill(ctx, "mrr", p)})).collect();
    let mrr = json!({
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "data": ctx.periods},
        "series": [{"name": "MRR", "type": "line", "smooth": false, "areaStyle": {"opacity": 0.08}, "data": mrr_points}],
    });
    // net new MRR by movement type: start → each movement → FX → end, as a floating bar chart
    let m = |k: &str| ctx.kpi(k, last).and_then(|r| r.value).map(|v| match v { Value::Money(x) => x, _ => 0 }).unwrap_or(0);
    let end = m("mrr");
    let steps = STEPS;
    let start = end - steps.iter().map(|(_, k)| m(k)).sum::<i64>();
    let major = |v: i64| v as f64 / 10f64.powi(cur.exponent() as i32);
    let (mut names, mut base, mut bars) = (vec!["Start MRR".to_string()], vec![json!(0)], vec![json!({"value": major(start), "itemStyle": {"color": "#8aa4d6"}, "link": drill(ctx, "mrr", last)})]);
    let mut running = start;
    for (name, k) in steps {
        let d = m(k);
        let low = if d >= 0 { running } else { running + d };
        running += d;
        names.push(name.to_string());
        base.push(json!(major(low)));
        bars.push(json!({"value": major(d.abs()), "signed": major(d), "itemStyle": {"color": if d >= 0 { "#1a7f4b" } else { "#b3261e" }}, "link": drill(ctx, k, last)}));
    }
    names.push("End MRR".into());
    base.push(json!(0));
    bars.push(json!({"value": major(end), "itemStyle": {"color": "#2f6fde"}, "link": drill(ctx, "mrr", last)}));
    // zoom the value axis onto the movements: the stock bars are far taller than the flows
    let lows = base.iter().filter_map(|v| v.as_f64()).filter(|v| *v > 0.0).chain([major(start), major(end)]);
    let lo = lows.fold(f64::INFINITY, f64::min);
    let hi = major(start.max(end)).max(major(running.max(start)));
    let floor = nice_floor((lo - (hi - lo).max(hi * 0.02)).max(0.0));
    let waterfall = json!({
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 30},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"interval": 0, "fontSize": 11}},
        "yAxis": {"type": "value", "min": floor},
        "series": [
            {"name": "base", "type": "bar", "stack": "w", "silent": true, "itemStyle": {"color": "transparent"}, "data": base},
            {"name": "MRR", "type": "bar", "stack": "w", "data": bars},
        ],
    });
    Ok(html! {
        h1 { "Overview" }
        div.tiles { @for (k, name) in TILES { (tile(ctx, k, name, last, prev)) } }
        div.charts {
            (chart("mrr", "MRR by period", mrr, false))
            (chart("waterfall", &format!("Net new MRR in {last}: start {} → end {}", money(start, cur), money(end, cur)), waterfall, false))
        }
    })
}
