//! Rendering engine results: human tables, JSON, CSV, and a self-contained HTML report with SVG charts.
//! Nothing here computes a metric; it only formats what the engine returned.
use holdfast_core::time::format_instant;
use holdfast_core::Currency;
use holdfast_engine::timeline::{Change, Kind};
use holdfast_engine::{KpiResult, KpiTable, Run, Value};
use std::fmt::Write as _;

/// KPIs shown in the human report, in order, with short headers.
pub const HEADLINE: &[(&str, &str)] = &[
    ("mrr", "MRR"),
    ("new_business_mrr", "New"),
    ("expansion_mrr", "Expansion"),
    ("contraction_mrr", "Contraction"),
    ("churn_mrr", "Churn"),
    ("reactivation_mrr", "Reactiv."),
    ("fx_impact", "FX"),
    ("net_new_mrr", "Net new"),
    ("customers", "Cust."),
    ("customer_churn_rate", "Logo churn"),
    ("nrr", "NRR"),
    ("grr", "GRR"),
    ("arpa", "ARPA"),
    ("ltv", "LTV"),
];

pub fn fmt_value(v: Option<Value>, cur: Currency) -> String {
    match v {
        None => "—".into(),
        Some(Value::Money(m)) => group_thousands(&cur.format_minor(m)),
        Some(Value::Count(c)) => group_thousands(&c.to_string()),
        Some(Value::Ratio(r)) => format!("{:.1}%", r * 100.0),
        Some(Value::Number(n)) => format!("{n:.2}"),
    }
}

use holdfast_core::money::group_thousands;

pub fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    t
}

/// Periods × headline KPIs of the total table, then the segment breakdown of the last period.
pub fn human_report(run: &Run, cur: Currency, periods: &[String]) -> String {
    let mut out = String::new();
    let total = &run.tables[0];
    let mut t = table();
    let mut header = vec!["Period".to_string()];
    header.extend(HEADLINE.iter().map(|h| h.1.to_string()));
    t.set_header(header);
    for p in periods {
        let mut row = vec![p.clone()];
        for (k, _) in HEADLINE {
            let r = total.get(k, p, None);
            let mut cell = fmt_value(r.and_then(|r| r.value), cur);
            if r.map(|r| r.flags.contains(&"incomplete")).unwrap_or(false) && *k == "mrr" {
                cell.push('*');
            }
            row.push(cell);
        }
        t.add_row(row);
    }
    for (i, _) in HEADLINE.iter().enumerate() {
        if let Some(c) = t.column_mut(i + 1) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    let _ = writeln!(out, "Revenue ({cur}, as of {}, settings {})", format_instant(run.as_of), run.settings_hash);
    let _ = writeln!(out, "{t}");
    if periods.iter().any(|p| total.get("mrr", p, None).map(|r| r.flags.contains(&"incomplete")).unwrap_or(false)) {
        let _ = writeln!(out, "* period not complete at as_of");
    }
    if let Some(last) = periods.last() {
        for tb in run.tables.iter().skip(1) {
            let name = tb.segment_by.clone().unwrap_or_default();
            let mut t = table();
            let mut header = vec![name.clone()];
            header.extend(["MRR", "Net new", "In", "Out", "Cust.", "Logo churn", "NRR", "ARPA"].map(String::from));
            t.set_header(header);
            let mut segs: Vec<&str> = tb.results.iter().filter(|r| r.period == *last && r.kpi == "mrr").filter_map(|r| r.segment.as_deref()).collect();
            segs.sort_by_key(|s| -(tb.get("mrr", last, Some(s)).and_then(|r| r.value).map(|v| v.as_f64()).unwrap_or(0.0) as i64));
            for s in segs {
                let label = s.split_once('=').map(|x| x.1).unwrap_or(s);
                let mut row = vec![label.to_string()];
                for k in ["mrr", "net_new_mrr", "segment_in_mrr", "segment_out_mrr", "customers", "customer_churn_rate", "nrr", "arpa"] {
                    row.push(fmt_value(tb.get(k, last, Some(s)).and_then(|r| r.value), cur));
                }
                t.add_row(row);
            }
            let _ = writeln!(out, "\nBy {name}, {last}");
            let _ = writeln!(out, "{t}");
        }
    }
    out
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    as_of: String,
    settings_hash: &'a str,
    reporting_currency: String,
    settings: &'a holdfast_engine::Settings,
    tables: Vec<JsonTable<'a>>,
}

#[derive(serde::Serialize)]
struct JsonTable<'a> {
    segment_by: Option<&'a str>,
    results: Vec<&'a KpiResult>,
}

pub fn filter<'a>(tb: &'a KpiTable, periods: &[String], kpis: &[String]) -> Vec<&'a KpiResult> {
    tb.results.iter().filter(|r| periods.contains(&r.period) && (kpis.is_empty() || kpis.iter().any(|k| k == r.kpi))).collect()
}

pub fn json_report(run: &Run, s: &holdfast_engine::Settings, periods: &[String], kpis: &[String]) -> String {
    let r = JsonReport {
        as_of: format_instant(run.as_of),
        settings_hash: &run.settings_hash,
        reporting_currency: s.reporting_currency.to_string(),
        settings: s,
        tables: run.tables.iter().map(|t| JsonTable { segment_by: t.segment_by.as_deref(), results: filter(t, periods, kpis) }).collect(),
    };
    serde_json::to_string_pretty(&r).unwrap_or_default()
}

fn value_parts(v: Option<Value>) -> (String, &'static str) {
    match v {
        None => (String::new(), ""),
        Some(Value::Money(m)) => (m.to_string(), "money_minor"),
        Some(Value::Count(c)) => (c.to_string(), "count"),
        Some(Value::Ratio(r)) => (format!("{r}"), "ratio"),
        Some(Value::Number(n)) => (format!("{n}"), "number"),
    }
}

pub fn csv_report(run: &Run, periods: &[String], kpis: &[String]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["kpi", "period", "period_start", "period_end", "segment", "value", "unit", "numerator", "denominator", "n", "flags", "as_of", "settings_hash"]);
    for tb in &run.tables {
        for r in filter(tb, periods, kpis) {
            let (v, unit) = value_parts(r.value);
            let (num, _) = value_parts(r.numerator);
            let (den, _) = value_parts(r.denominator);
            let _ = w.write_record([
                r.kpi.to_string(),
                r.period.clone(),
                format_instant(r.period_start),
                format_instant(r.period_end),
                r.segment.clone().unwrap_or_default(),
                v,
                unit.to_string(),
                num,
                den,
                r.n.to_string(),
                r.flags.join("|"),
                format_instant(run.as_of),
                run.settings_hash.clone(),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub struct LedgerRow<'a> {
    pub change: &'a Change,
    pub customer: &'a str,
}

/// The columns every ledger CSV starts with.
const LEDGER_COLUMNS: [&str; 7] = ["customer_id", "effective_at", "type", "amount", "fx_impact", "mrr_after", "currency"];

fn ledger_cells(customer: &str, c: &Change, cur: Currency) -> [String; 7] {
    [
        customer.to_string(),
        format_instant(c.t),
        c.kind.as_str().to_string(),
        cur.format_minor(c.amount),
        cur.format_minor(c.fx),
        cur.format_minor(c.mrr),
        cur.to_string(),
    ]
}

pub fn ledger_csv(rows: &[LedgerRow], cur: Currency) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(LEDGER_COLUMNS.iter().chain(&["grouped_count", "returning"]));
    for r in rows {
        let c = r.change;
        let _ = w.write_record(ledger_cells(r.customer, c, cur).iter().chain(&[c.grouped.to_string(), c.returning().to_string()]));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub fn ledger_human(rows: &[LedgerRow], cur: Currency) -> String {
    let mut t = table();
    t.set_header(["Customer", "Effective at", "Type", "Amount", "FX", "MRR after", "Grouped"]);
    for r in rows {
        let c = r.change;
        t.add_row([
            r.customer.to_string(),
            format_instant(c.t),
            format!("{}{}", c.kind.as_str(), if c.returning() { " (returning)" } else { "" }),
            group_thousands(&cur.format_minor(c.amount)),
            group_thousands(&cur.format_minor(c.fx)),
            group_thousands(&cur.format_minor(c.mrr)),
            c.grouped.to_string(),
        ]);
    }
    for i in 3..6 {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    format!("{t}\n{} rows", rows.len())
}

/// Checks the MRR and customer roll-forward of every period of the total table; returns the failures.
pub fn roll_forward_failures(run: &Run) -> Vec<String> {
    let tb = &run.tables[0];
    let mut fails = Vec::new();
    let get = |k: &str, p: &str| tb.get(k, p, None).and_then(|r| r.value).map(|v| v.as_f64() as i64).unwrap_or(0);
    let mut prev: Option<(i64, i64)> = None;
    for p in &run.periods {
        let l = p.label.as_str();
        let m = get("mrr", l);
        let c = get("customers", l);
        let m0 = tb.get("mrr_growth_rate", l, None).and_then(|r| r.denominator).map(|v| v.as_f64() as i64).unwrap_or(0);
        let flows: i64 = ["new_business_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "reactivation_mrr", "fx_impact"].iter().map(|k| get(k, l)).sum();
        if m - m0 != flows {
            fails.push(format!("{l}: MRR {m} − start {m0} ≠ movements + FX {flows}"));
        }
        if let Some((pm, pc)) = prev {
            if pm != m0 {
                fails.push(format!("{l}: start MRR {m0} ≠ previous end {pm}"));
            }
            let cf = get("new_customers", l) + get("reactivated_customers", l) - get("churned_customers", l);
            if c - pc != cf {
                fails.push(format!("{l}: customers {c} − {pc} ≠ new + reactivated − churned {cf}"));
            }
        }
        prev = Some((m, c));
    }
    fails
}

/// 1234567 → "1.2M", 44500 → "44.5k".
fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn svg_line(points: &[(String, f64)], title: &str, cur: &str) -> String {
    let (w, h, pad) = (760.0, 240.0, 70.0);
    let max = points.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1.0);
    let n = points.len().max(2) as f64;
    let xy = |i: usize, v: f64| (pad + (w - 2.0 * pad) * i as f64 / (n - 1.0), h - pad + 10.0 - (h - 2.0 * pad) * v / max);
    let mut path = String::new();
    for (i, p) in points.iter().enumerate() {
        let (x, y) = xy(i, p.1);
        let _ = write!(path, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
    }
    let mut s = format!("<figure><figcaption>{title}</figcaption><svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{title}\">");
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let (_, y) = xy(0, v);
        let _ = write!(s, "<line x1=\"{pad}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{} {cur}</text>", w - pad, pad - 6.0, y + 4.0, compact(v));
    }
    let _ = write!(s, "<path d=\"{path}\" class=\"line\"/>");
    for (i, p) in points.iter().enumerate() {
        if points.len() <= 12 || i % (points.len() / 12 + 1) == 0 || i + 1 == points.len() {
            let (x, _) = xy(i, 0.0);
            let _ = write!(s, "<text x=\"{x:.1}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{}</text>", h - 8.0, p.0);
        }
    }
    s.push_str("</svg></figure>");
    s
}

fn svg_movements(rows: &[(String, [f64; 5])], title: &str) -> String {
    let (w, h, pad) = (760.0, 260.0, 50.0);
    let colors = ["#2f7d4f", "#58b37a", "#e7a33e", "#d0473b", "#4f7ac7"];
    let pos_max = rows.iter().map(|r| r.1[0] + r.1[1] + r.1[4]).fold(0.0f64, f64::max);
    let neg_max = rows.iter().map(|r| -(r.1[2] + r.1[3])).fold(0.0f64, f64::max);
    let span = (pos_max + neg_max).max(1.0);
    let zero = pad - 20.0 + (h - 2.0 * pad) * pos_max / span;
    let scale = (h - 2.0 * pad) / span;
    let bw = (w - 2.0 * pad) / rows.len().max(1) as f64;
    let mut s = format!("<figure><figcaption>{title}</figcaption><svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{title}\">");
    let _ = write!(s, "<line x1=\"{pad}\" x2=\"{}\" y1=\"{zero:.1}\" y2=\"{zero:.1}\" class=\"grid\"/>", w - pad);
    for (i, (label, v)) in rows.iter().enumerate() {
        let x = pad + bw * i as f64 + bw * 0.15;
        let (mut up, mut down) = (zero, zero);
        for (k, val) in [0usize, 1, 4, 2, 3].iter().map(|&k| (k, v[k])) {
            let hgt = val.abs() * scale;
            if val >= 0.0 {
                up -= hgt;
                let _ = write!(s, "<rect x=\"{x:.1}\" y=\"{up:.1}\" width=\"{:.1}\" height=\"{hgt:.1}\" fill=\"{}\"/>", bw * 0.7, colors[k]);
            } else {
                let _ = write!(s, "<rect x=\"{x:.1}\" y=\"{down:.1}\" width=\"{:.1}\" height=\"{hgt:.1}\" fill=\"{}\"/>", bw * 0.7, colors[k]);
                down += hgt;
            }
        }
        if rows.len() <= 12 || i % (rows.len() / 12 + 1) == 0 {
            let _ = write!(s, "<text x=\"{:.1}\" y=\"{}\" class=\"axis\" text-anchor=\"middle\">{label}</text>", x + bw * 0.35, h - 8.0);
        }
    }
    let mut lx = pad;
    for (k, name) in ["new business", "expansion", "contraction", "churn", "reactivation"].iter().enumerate() {
        let _ = write!(s, "<rect x=\"{lx}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"13\" class=\"axis\">{name}</text>", colors[k], lx + 14.0);
        lx += 120.0;
    }
    s.push_str("</svg></figure>");
    s
}

/// A self-contained HTML report (no external assets): KPI table and SVG charts of MRR and movements.
pub fn html_report(run: &Run, cur: Currency, periods: &[String]) -> String {
    let total = &run.tables[0];
    let get = |k: &str, p: &str| total.get(k, p, None).and_then(|r| r.value).map(|v| v.as_f64()).unwrap_or(0.0);
    let scale = 10f64.powi(cur.exponent() as i32);
    let mrr: Vec<(String, f64)> = periods.iter().map(|p| (p.clone(), get("mrr", p) / scale)).collect();
    let moves: Vec<(String, [f64; 5])> = periods
        .iter()
        .map(|p| (p.clone(), Kind::MOVEMENTS.map(|k| get(&format!("{}_mrr", k.as_str()), p) / scale)))
        .collect();
    let mut rows = String::new();
    for p in periods {
        let _ = write!(rows, "<tr><th>{p}</th>");
        for (k, _) in HEADLINE {
            let _ = write!(rows, "<td>{}</td>", fmt_value(total.get(k, p, None).and_then(|r| r.value), cur));
        }
        rows.push_str("</tr>");
    }
    let heads: String = HEADLINE.iter().map(|h| format!("<th>{}</th>", h.1)).collect();
    let last = periods.last().cloned().unwrap_or_default();
    let tile = |k: &str, label: &str| format!("<div class=\"tile\"><div class=\"label\">{label}</div><div class=\"value\">{}</div></div>", fmt_value(total.get(k, &last, None).and_then(|r| r.value), cur));
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Holdfast revenue report</title>
<style>body{{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1d2630}}h1{{font-size:1.4rem}}.tiles{{display:flex;gap:1rem;flex-wrap:wrap}}
.tile{{border:1px solid #d8dee4;border-radius:8px;padding:.8rem 1rem;min-width:9rem}}.label{{color:#5b6670;font-size:.8rem}}.value{{font-size:1.3rem;font-weight:600}}
table{{border-collapse:collapse;margin-top:1rem;font-variant-numeric:tabular-nums}}td,th{{padding:.25rem .5rem;border-bottom:1px solid #eef1f4;text-align:right;white-space:nowrap}}
figure{{margin:1.5rem 0}}figcaption{{font-weight:600}}svg{{width:100%;max-width:760px}}.line{{fill:none;stroke:#2f6fb3;stroke-width:2}}.grid{{stroke:#e3e7eb}}.axis{{font-size:10px;fill:#5b6670}}</style></head>
<body><h1>Revenue — {last}</h1><p>As of {as_of} · reporting currency {cur} · settings {hash}</p>
<div class="tiles">{t1}{t2}{t3}{t4}{t5}{t6}</div>
{chart1}{chart2}
<table><thead><tr><th>Period</th>{heads}</tr></thead><tbody>{rows}</tbody></table></body></html>"#,
        as_of = format_instant(run.as_of),
        hash = run.settings_hash,
        t1 = tile("mrr", "MRR"),
        t2 = tile("arr", "ARR"),
        t3 = tile("customers", "Customers"),
        t4 = tile("nrr", "NRR"),
        t5 = tile("customer_churn_rate", "Logo churn"),
        t6 = tile("arpa", "ARPA"),
        chart1 = svg_line(&mrr, "MRR", cur.code()),
        chart2 = svg_movements(&moves, "MRR movements"),
    )
}

/// Ledger rows with their subscriptions and causes (`holdfast movements --explain`).
pub fn explained(rows: &[holdfast_engine::timeline::ExplainedChange], snap: &holdfast_core::snapshot::Snapshot, cur: Currency, format: crate::commands::OutFormat) -> String {
    use crate::commands::OutFormat;
    let detail = |r: &holdfast_engine::timeline::ExplainedChange| -> String {
        r.subscriptions
            .iter()
            .map(|x| format!("{} {} {}→{} ({})", x.subscription, x.currency, x.currency.format_minor(x.native_before), x.currency.format_minor(x.native_after), x.cause.as_str()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let native = |r: &holdfast_engine::timeline::ExplainedChange| match (r.amount_native, r.currency) {
        (Some(v), Some(c)) => format!("{} {c}", c.format_minor(v)),
        _ => String::new(),
    };
    match format {
        OutFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "customer_id": snap.customers.ids.name(r.change.customer),
                        "effective_at": format_instant(r.change.t),
                        "type": r.change.kind.as_str(),
                        "amount": r.change.amount,
                        "fx_impact": r.change.fx,
                        "mrr_after": r.change.mrr,
                        "currency": cur.code(),
                        "amount_native": r.amount_native,
                        "native_currency": r.currency.map(|c| c.to_string()),
                        "grouped_count": r.change.grouped,
                        "returning": r.change.returning(),
                        "subscriptions": r.subscriptions,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(LEDGER_COLUMNS.iter().chain(&["amount_native", "subscriptions"]));
            for r in rows {
                let c = &r.change;
                let _ = w.write_record(ledger_cells(snap.customers.ids.name(c.customer), c, cur).iter().chain(&[native(r), detail(r)]));
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        OutFormat::Table => {
            let mut t = table();
            t.set_header(["Customer", "Effective at", "Type", "Amount", "FX", "MRR after", "Native", "Subscriptions (cause)"]);
            for r in rows {
                let c = &r.change;
                t.add_row([
                    snap.customers.ids.name(c.customer).to_string(),
                    format_instant(c.t),
                    c.kind.as_str().to_string(),
                    group_thousands(&cur.format_minor(c.amount)),
                    group_thousands(&cur.format_minor(c.fx)),
                    group_thousands(&cur.format_minor(c.mrr)),
                    native(r),
                    detail(r),
                ]);
            }
            format!("{t}\n{} rows\n", rows.len())
        }
    }
}
