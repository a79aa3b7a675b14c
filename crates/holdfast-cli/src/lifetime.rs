//! `holdfast cohorts` and `holdfast ltv`: render the cohort heatmap data and the lifetime models of
//! `holdfast_lifetime::cohorts`; nothing is computed here.
use clap::Args;
use holdfast_core::time::{format_instant, Calendar};
use holdfast_core::Currency;
use holdfast_lifetime::cohorts::{cohort_matrix, ltv_report, CohortMatrix, LtvOptions, LtvReport};
use holdfast_lifetime::km::{CiMethod, MedianRule};
use holdfast_lifetime::sbg::MoneyEstimate;

use crate::commands::{as_of, load_snapshot, open_store, run_engine, settings_from, OutFormat};
use crate::config::Config;
use crate::{Failure, PolicyArgs};

#[derive(Args, Debug)]
pub struct CohortsArgs {
    /// Cohort grain: day, week, month, quarter or year (default: the configured grain).
    #[arg(long)]
    pub grain: Option<String>,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Args, Debug)]
pub struct LtvArgs {
    /// Annual discount rate, scaled to each billing period by compounding.
    #[arg(long, default_value_t = 0.10)]
    pub discount_rate: f64,
    /// Confidence level of every interval.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Periods to project retention beyond the observed horizon.
    #[arg(long, default_value_t = 12)]
    pub project: u32,
    /// Kaplan–Meier confidence intervals: log-log (lifelines) or log (R).
    #[arg(long, default_value = "log-log")]
    pub ci: String,
    /// Kaplan–Meier median: strict (first Ŝ < 0.5, lifelines) or r (Ŝ ≤ 0.5, midpoint on a flat half).
    #[arg(long, default_value = "strict")]
    pub median: String,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", 100.0 * v))
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$}"))
}

fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t
}

pub fn cohorts(cfg: &Config, a: &CohortsArgs) -> Result<(), Failure> {
    let s = settings_from(cfg, &a.policy)?;
    let grain = match &a.grain {
        Some(g) => g.parse().map_err(|e: String| Failure::new(2, format!("--grain: {e}")))?,
        None => cfg.grain,
    };
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let run = run_engine(&snap, &s, grain, &[], as_of(&a.policy)?, None)?;
    let calendar = Calendar::new(grain, &s.timezone).map_err(Failure::config)?;
    let m = cohort_matrix(&run, &calendar);
    print!("{}", render_cohorts(&m, s.reporting_currency, a.format));
    Ok(())
}

fn render_cohorts(m: &CohortMatrix, cur: Currency, format: OutFormat) -> String {
    let header = ["cohort", "age", "customers", "retained", "logo_retention", "new_business_mrr", "mrr", "revenue_retention", "gross_revenue_retention"];
    match format {
        OutFormat::Json => {
            let v = serde_json::json!({ "as_of": format_instant(m.as_of), "grain": m.grain, "currency": cur.code(), "cells": m.cells, "pooled_logo_retention": m.pooled_logo, "pooled_revenue_retention": m.pooled_revenue });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(header);
            let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
            for c in &m.cells {
                let _ = w.write_record([c.cohort.clone(), c.age.to_string(), c.customers.to_string(), c.retained.to_string(), opt(c.logo_retention), c.new_business_mrr.to_string(), c.mrr.to_string(), opt(c.revenue_retention), opt(c.gross_revenue_retention)]);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        OutFormat::Table => {
            let mut t = table();
            t.set_header(["Cohort", "Age", "Customers", "Retained", "Logo", &format!("NB MRR ({cur})"), &format!("MRR ({cur})"), "Revenue", "Gross rev."]);
            for c in &m.cells {
                t.add_row([c.cohort.clone(), c.age.to_string(), c.customers.to_string(), c.retained.to_string(), pct(c.logo_retention), cur.format_minor(c.new_business_mrr), cur.format_minor(c.mrr), pct(c.revenue_retention), pct(c.gross_revenue_retention)]);
            }
            let pooled: Vec<String> = m.pooled_logo.iter().zip(&m.pooled_revenue).enumerate().map(|(k, (l, r))| format!("  age {k}: logo {}, revenue {}", pct(*l), pct(*r))).collect();
            format!("Retention by first-paid {} cohort, as of {}\n{t}\nPooled across cohorts (each age over the cohorts observed at it):\n{}\n", m.grain, format_instant(m.as_of), pooled.join("\n"))
        }
    }
}

pub fn ltv(cfg: &Config, a: &LtvArgs) -> Result<(), Failure> {
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(Failure::new(2, format!("--level {}: expected a confidence level between 0 and 1", a.level)));
    }
    if !(a.discount_rate > 0.0 && a.discount_rate.is_finite()) {
        return Err(Failure::new(2, format!("--discount-rate {}: expected an annual rate > 0, e.g. 0.10", a.discount_rate)));
    }
    if a.project > 1200 {
        return Err(Failure::new(2, format!("--project {}: expected at most 1200 periods", a.project)));
    }
    let ci = match a.ci.as_str() {
        "log-log" | "log_log" => CiMethod::LogLog,
        "log" => CiMethod::Log,
        other => return Err(Failure::new(2, format!("--ci {other:?}: expected log-log or log"))),
    };
    let median = match a.median.as_str() {
        "strict" => MedianRule::Strict,
        "r" => MedianRule::R,
        other => return Err(Failure::new(2, format!("--median {other:?}: expected strict or r"))),
    };
    let s = settings_from(cfg, &a.policy)?;
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let run = run_engine(&snap, &s, holdfast_core::Grain::Month, &[], as_of(&a.policy)?, None)?;
    let options = LtvOptions { level: a.level, annual_discount_rate: a.discount_rate, gross_margin: s.gross_margin, projection_periods: a.project, ci, median };
    let report = ltv_report(&run, &snap, &options);
    print!("{}", render_ltv(&report, s.reporting_currency, a.format));
    Ok(())
}

fn money(cur: Currency, m: Option<MoneyEstimate>) -> String {
    match m {
        None => "—".into(),
        Some(m) => match (m.lower, m.upper) {
            (Some(l), Some(u)) => format!("{} ({} – {})", cur.format_minor(m.value), cur.format_minor(l), cur.format_minor(u)),
            _ => cur.format_minor(m.value),
        },
    }
}

fn render_ltv(r: &LtvReport, cur: Currency, format: OutFormat) -> String {
    match format {
        OutFormat::Json => {
            let v = serde_json::json!({ "as_of": format_instant(r.as_of), "currency": cur.code(), "report": r });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["interval", "customers", "churned", "active", "km_median", "restricted_mean", "alpha", "beta", "alpha_se", "beta_se", "log_likelihood", "expected_lifetime", "del", "margin_per_period", "clv_new", "customer_equity"]);
            let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
            for i in &r.intervals {
                let fit = i.sbg.as_ref();
                let se = fit.and_then(|f| f.standard_errors);
                let _ = w.write_record([
                    i.interval.clone(),
                    i.customers.to_string(),
                    i.churned.to_string(),
                    i.active.to_string(),
                    opt(i.km_median),
                    i.restricted_mean.to_string(),
                    opt(fit.map(|f| f.model.alpha)),
                    opt(fit.map(|f| f.model.beta)),
                    opt(se.map(|s| s[0])),
                    opt(se.map(|s| s[1])),
                    opt(fit.map(|f| f.log_likelihood)),
                    opt(i.expected_lifetime),
                    opt(i.del),
                    i.margin_per_period.to_string(),
                    i.clv_new.map_or_else(String::new, |m| m.value.to_string()),
                    i.customer_equity.map_or_else(String::new, |m| m.value.to_string()),
                ]);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        OutFormat::Table => {
            let level = format!("{:.0}%", 100.0 * r.options.level);
            let mut out = format!("Lifetime value by billing interval, as of {} (discount {:.1}%/year, {level} intervals)\n", format_instant(r.as_of), 100.0 * r.options.annual_discount_rate);
            for i in &r.intervals {
                let mut t = table();
                t.set_header([format!("{} billing", i.interval), String::new()]);
                t.add_row(["customers (churned / active)".to_string(), format!("{} ({} / {})", i.customers, i.churned, i.active)]);
                let (ml, mu) = i.km_median_interval;
                t.add_row(["Kaplan–Meier median lifetime (periods)".to_string(), format!("{} ({} – {})", num(i.km_median, 0), num(ml, 0), num(mu, 0))]);
                t.add_row([format!("restricted mean lifetime to {} periods", i.horizon), format!("{:.2} ± {:.2}", i.restricted_mean, i.restricted_mean_se)]);
                match &i.sbg {
                    Some(f) => {
                        let se = f.standard_errors;
                        let p = i.sbg_profile;
                        let profile = |e: Option<(Option<f64>, Option<f64>)>| e.map_or_else(|| "—".into(), |(l, u)| format!("{} – {}", num(l, 4), num(u, 4)));
                        t.add_row(["sBG α (SE; profile interval)".to_string(), format!("{:.4} ({}; {})", f.model.alpha, num(se.map(|s| s[0]), 4), profile(p.map(|p| p.alpha)))]);
                        t.add_row(["sBG β (SE; profile interval)".to_string(), format!("{:.4} ({}; {})", f.model.beta, num(se.map(|s| s[1]), 4), profile(p.map(|p| p.beta)))]);
                        t.add_row(["sBG log-likelihood".to_string(), format!("{:.2}{}", f.log_likelihood, if f.flags.is_empty() { String::new() } else { format!(" [{}]", f.flags.join(", ")) })]);
                        t.add_row(["sBG mean / median lifetime (periods)".to_string(), format!("{} / {}", i.expected_lifetime.map_or_else(|| "∞ (α ≤ 1)".into(), |v| format!("{v:.2}")), i.sbg_median.map_or_else(|| "—".into(), |v| v.to_string()))]);
                    }
                    None => {
                        t.add_row(["sBG".to_string(), format!("not fitted: {}", i.sbg_error.as_deref().unwrap_or("no data"))]);
                    }
                }
                t.add_row(["discount rate per period".to_string(), format!("{:.4}%", 100.0 * i.discount_rate_per_period)]);
                t.add_row(["DEL / DERL n = 1..5".to_string(), format!("{} / {}", num(i.del, 3), i.derl.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(" "))]);
                t.add_row([format!("margin per period ({cur})"), cur.format_minor(i.margin_per_period)]);
                t.add_row([format!("CLV of a new customer ({cur})"), money(cur, i.clv_new)]);
                t.add_row([format!("customer equity of the active base ({cur})"), money(cur, i.customer_equity)]);
                let curve: Vec<String> = i.retention.iter().map(|p| format!("{}:{:.1}%{}", p.age, 100.0 * p.survival, if p.source == holdfast_lifetime::sbg::Source::Sbg { "*" } else { "" })).collect();
                let lines: Vec<String> = curve.chunks(8).map(|c| c.join(" ")).collect();
                t.add_row(["retention by age (* = sBG projection)".to_string(), lines.join("\n")]);
                out.push_str(&format!("{t}\n"));
            }
            if let Some(test) = &r.interval_log_rank {
                let names: Vec<&str> = r.intervals.iter().map(|i| i.interval.as_str()).collect();
                out.push_str(&format!(
                    "Log-rank test, survival in days by billing interval ({}): χ² {:.2}, {} df, p {:.3e}\n",
                    names.join(" vs "),
                    test.chi_square,
                    test.degrees_of_freedom,
                    test.p_value
                ));
            }
            if r.customers_without_interval > 0 {
                out.push_str(&format!("{} paying customers without a billing interval are not included.\n", r.customers_without_interval));
            }
            out
        }
    }
}
