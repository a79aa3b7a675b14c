//! `holdfast reconcile stripe <export.csv>`: Holdfast's month-end MRR per customer against Stripe's own
//! "MRR per subscriber per month" export, each difference with its reason (holdfast_engine::reconcile).
use crate::commands::{as_of, load_snapshot, open_store, settings_from, OutFormat};
use crate::config::Config;
use crate::render::{fmt_value, table};
use crate::{Failure, PolicyArgs};
use clap::{Args, Subcommand};
use holdfast_engine::reconcile::{reconcile, ExternalMrr, Reconciliation};
use holdfast_engine::settings::Preset;
use holdfast_engine::{data_as_of, Settings, Value};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ReconcileSource {
    /// Compare with Stripe's "MRR per subscriber per month" CSV (Dashboard → Billing → Analytics → Download).
    Stripe(ReconcileArgs),
}

#[derive(Args, Debug)]
pub struct ReconcileArgs {
    /// The export (wide: one column per month; or long: customer, month, mrr).
    pub file: PathBuf,
    /// Show at most this many differences in the table (all in JSON/CSV).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(cfg: &Config, src: &ReconcileSource) -> Result<(), Failure> {
    let ReconcileSource::Stripe(a) = src;
    let s = settings_from(cfg, &a.policy)?;
    let cur = s.reporting_currency;
    if !a.file.exists() {
        return Err(Failure::new(66, format!("no export at {}", a.file.display())));
    }
    let rows = holdfast_stripe::mrr_export::read_mrr_export(&a.file, cur).map_err(Failure::data)?;
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let at = as_of(&a.policy)?.or_else(|| data_as_of(&snap)).unwrap_or(0);
    let export: Vec<ExternalMrr> = rows.into_iter().map(|r| ExternalMrr { customer: r.customer, month: r.month, mrr: r.mrr }).collect();
    // Stripe's side: its own MRR rules, in our reporting currency and time zone.
    let stripe = Settings { reporting_currency: cur, timezone: s.timezone.clone(), merge_map: s.merge_map.clone(), ..Settings::preset(Preset::Stripe) };
    let rec = reconcile(&snap, &s, &stripe, at, &export).map_err(|e| Failure::config(e.to_string()))?;
    let out = match a.format {
        OutFormat::Json => serde_json::to_string_pretty(&rec).expect("serialisable") + "\n",
        OutFormat::Csv => csv_out(&rec, cur),
        OutFormat::Table => human(&rec, cur, a.limit),
    };
    print!("{out}");
    Ok(())
}

fn money(m: i64, cur: holdfast_core::money::Currency) -> String {
    fmt_value(Some(Value::Money(m)), cur)
}

fn human(rec: &Reconciliation, cur: holdfast_core::money::Currency, limit: usize) -> String {
    let mut out = String::new();
    let mut t = table();
    t.set_header(["month", "Stripe", "Holdfast", "difference", "accounts", "matching", "rounding", "policy", "missing data", "unexplained"]);
    for m in &rec.months {
        let r = |k: &str| m.by_reason.get(k).map(|v| money(*v, cur)).unwrap_or_default();
        t.add_row([m.month.clone(), money(m.external, cur), money(m.holdfast, cur), money(m.holdfast - m.external, cur), m.accounts.to_string(), m.matching.to_string(), r("rounding"), r("policy"), r("missing_data"), r("unexplained")]);
    }
    out += &format!("Holdfast vs Stripe, month-end MRR ({}; differences are Holdfast − Stripe)\n{t}\n", cur.code());
    if !rec.differing_settings.is_empty() {
        out += &format!("Settings that differ from Stripe's rules: {}\n", rec.differing_settings.join(", "));
    }
    if rec.differences.is_empty() {
        out += "No differences.\n";
        return out;
    }
    let mut d = table();
    d.set_header(["month", "customer", "Stripe", "Holdfast", "difference", "reason", "why"]);
    for x in rec.differences.iter().take(limit) {
        d.add_row([x.month.clone(), x.customer.clone(), money(x.external, cur), money(x.holdfast, cur), money(x.difference, cur), x.reason.as_str().to_string(), x.detail.clone()]);
    }
    out += &format!("\n{d}\n");
    if rec.differences.len() > limit {
        out += &format!("… {} more differences (use --format csv or --limit)\n", rec.differences.len() - limit);
    }
    out
}

fn csv_out(rec: &Reconciliation, cur: holdfast_core::money::Currency) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["month", "customer", "stripe_mrr", "holdfast_mrr", "difference", "reason", "settings", "detail"]);
    for x in &rec.differences {
        let _ = w.write_record([x.month.as_str(), &x.customer, &cur.format_minor(x.external), &cur.format_minor(x.holdfast), &cur.format_minor(x.difference), x.reason.as_str(), &x.settings.join("|"), &x.detail]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
