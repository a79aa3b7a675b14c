//! The customer-success signal parts of the CLI: importing signal files inside the billing import's
//! transaction, `holdfast report --section support|voice|funnel|referrals|all`, `holdfast themes`, the
//! `[signals]` and `[themes]` sections of `holdfast.toml`, and writing simulated signals in `generate`.
//! It computes nothing itself: `holdfast-signals` does.
use crate::commands::{self, OutFormat, ReportArgs};
use crate::config::Config;
use crate::{Failure, PolicyArgs};
use anyhow::{bail, Context};
use clap::Args;
use holdfast_core::time::Calendar;
use holdfast_engine::result::KpiResult;
use holdfast_signals::read::{SignalFile, SignalReader};
use holdfast_signals::settings::ThemeRule;
use holdfast_signals::{Billing, Ctx, Section, SignalSettings};
use holdfast_store::{ImportTx, SqliteStore};
use std::path::Path;

/// `[signals]` (scalar settings) and `[themes]` (`name = { keywords = [...], regex = "..." }`).
pub fn apply_toml_section(s: &mut SignalSettings, section: &str, table: &toml::Table) -> anyhow::Result<()> {
    match section {
        "signals" => {
            for (k, v) in table {
                let text = match v {
                    toml::Value::String(x) => x.clone(),
                    toml::Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>().join(","),
                    other => other.to_string(),
                };
                s.set(k, &text).map_err(anyhow::Error::msg).context("in [signals]")?;
            }
        }
        "themes" => {
            for (name, v) in table {
                let Some(t) = v.as_table() else { bail!("[themes] {name} must be a table like {{ keywords = [\"price\"], regex = \"…\" }}") };
                let mut keywords = Vec::new();
                let mut regex = None;
                for (k, x) in t {
                    match k.as_str() {
                        "keywords" => {
                            let arr = x.as_array().with_context(|| format!("[themes] {name}.keywords must be a list of strings"))?;
                            for w in arr {
                                keywords.push(w.as_str().with_context(|| format!("[themes] {name}.keywords must be a list of strings"))?.to_string());
                            }
                        }
                        "regex" => regex = Some(x.as_str().with_context(|| format!("[themes] {name}.regex must be a string"))?.to_string()),
                        other => bail!("[themes] {name} has no key `{other}` (known: keywords, regex)"),
                    }
                }
                let kw: Vec<&str> = keywords.iter().map(String::as_str).collect();
                s.theme_rules.push(ThemeRule::new(name, &kw, regex.as_deref()).map_err(anyhow::Error::msg)?);
            }
        }
        _ => unreachable!("only called for [signals] and [themes]"),
    }
    Ok(())
}

/// The signal files of an import path (a directory, or one signal file).
pub fn discover(path: &Path) -> Result<Vec<SignalFile>, Failure> {
    holdfast_signals::read::discover(path).map_err(Failure::data)
}

/// Whether `path` is a single signal file (then there are no billing files to look for).
pub fn is_signal_file(path: &Path) -> bool {
    path.is_file() && path.file_stem().and_then(|s| s.to_str()).map(holdfast_signals::read::is_signal_stem).unwrap_or(false)
}

/// Streams the signal files into the open import transaction. Returns the rows read.
pub fn import_files(tx: &mut dyn ImportTx, files: &[SignalFile]) -> Result<u64, Failure> {
    let mut reader = SignalReader::new();
    let mut rows = 0;
    for f in files {
        let mut store_err = None;
        let n = reader
            .read_file(f, &mut |r| {
                tx.put_signal(&r).map(|_| ()).map_err(|e| {
                    store_err = Some(e.to_string());
                    holdfast_ingest::ImportError::new(&f.path, format!("a writable store ({e})"))
                })
            })
            .map_err(|e| if store_err.is_some() { Failure::io(e) } else { Failure::data(format!("{e}\nnothing was imported (the import is all or nothing)")) })?;
        tracing::info!(file = %f.path.display(), rows = n, "read");
        rows += n;
    }
    Ok(rows)
}

/// `--section` values this module answers.
struct Loaded {
    store: SqliteStore,
    run: holdfast_engine::Run,
    billing: Billing,
    settings: holdfast_engine::Settings,
    periods: Vec<String>,
}

fn load(cfg: &Config, policy: &PolicyArgs, grain: Option<&str>, period: Option<&str>, segment_by: Option<&str>) -> Result<Loaded, Failure> {
    let s = commands::settings_from(cfg, policy)?;
    let grain = match grain {
        Some(g) => g.parse().map_err(|e: String| Failure::new(2, format!("--grain: {e}")))?,
        None => cfg.grain,
    };
    let store = commands::open_store(&cfg.db, true)?;
    let snap = commands::load_snapshot(&store)?;
    let run = commands::run_engine(&snap, &s, grain, &[], commands::as_of(policy)?, period)?;
    let cal = Calendar::new(grain, &s.timezone).map_err(Failure::config)?;
    let periods = commands::select_periods(&run, &cal, period)?;
    let billing = Billing::from_run(&snap, &run, s.reporting_currency, s.gross_margin, segment_by).map_err(Failure::config)?;
    Ok(Loaded { store, run, billing, settings: s, periods })
}

/// `holdfast report --section support|voice|funnel|referrals|all` (the signal sections).
/// The signal sections' report, rendered in `a.format`.
pub fn report(cfg: &Config, a: &ReportArgs, sections: &[Section]) -> Result<String, Failure> {
    let segs = if a.segment_by.is_empty() { cfg.segment_by.clone() } else { a.segment_by.clone() };
    if segs.len() > 1 {
        return Err(Failure::new(2, "signal sections take at most one --segment-by"));
    }
    let l = load(cfg, &a.policy, a.grain.as_deref(), a.period.as_deref(), segs.first().map(String::as_str))?;
    let sig = l.store.load_signals().map_err(|e| Failure::io(format!("cannot load signals: {e}")))?;
    let ctx = Ctx::new(&sig, &l.billing, &cfg.signals);
    let mut results: Vec<KpiResult> = Vec::new();
    for s in sections {
        results.extend(holdfast_signals::compute(&ctx, *s).into_iter().filter(|r| l.periods.contains(&r.period) && (a.kpis.is_empty() || a.kpis.iter().any(|k| k == r.kpi))));
    }
    let cur = l.settings.reporting_currency;
    let text = match a.format {
        OutFormat::Json => serde_json::to_string_pretty(&serde_json::json!({
            "as_of": holdfast_core::time::format_instant(l.run.as_of),
            "settings_hash": l.run.settings_hash,
            "reporting_currency": cur.code(),
            "sections": sections.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "results": results,
        }))
        .unwrap_or_default()
            + "\n",
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["kpi", "period", "segment", "value", "numerator", "denominator", "n", "flags"]);
            let plain = |v: Option<holdfast_engine::Value>| v.map(|v| v.as_f64().to_string()).unwrap_or_default();
            for r in &results {
                let _ = w.write_record([r.kpi.to_string(), r.period.clone(), r.segment.clone().unwrap_or_default(), plain(r.value), plain(r.numerator), plain(r.denominator), r.n.to_string(), r.flags.join("|")]);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        OutFormat::Table => human(&results, &l.periods, cur),
    };
    Ok(text)
}

/// KPI (and segment) rows × period columns.
fn human(results: &[KpiResult], periods: &[String], cur: holdfast_core::Currency) -> String {
    let mut rows: Vec<(&str, Option<&str>)> = Vec::new();
    for r in results {
        let key = (r.kpi, r.segment.as_deref());
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    let mut header = vec!["KPI".to_string(), "Segment".to_string()];
    header.extend(periods.iter().cloned());
    t.set_header(header);
    for (kpi, seg) in rows {
        let mut row = vec![kpi.to_string(), seg.unwrap_or("").to_string()];
        for p in periods {
            let r = results.iter().find(|r| r.kpi == kpi && r.segment.as_deref() == seg && &r.period == p);
            row.push(r.map(|r| crate::render::fmt_value(r.value, cur)).unwrap_or_default());
        }
        t.add_row(row);
    }
    format!("{t}\n(— = no value: empty denominator; hours for response/resolution times, days for viral cycle time)\n")
}

#[derive(Args, Debug)]
pub struct ThemesArgs {
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `holdfast themes`: feedback themes (rules from `[themes]`, then discovered phrases) with their share of
/// comments overall and per NPS group and their churn lift.
pub fn themes(cfg: &Config, a: &ThemesArgs) -> Result<(), Failure> {
    let l = load(cfg, &a.policy, None, None, None)?;
    let sig = l.store.load_signals().map_err(|e| Failure::io(format!("cannot load signals: {e}")))?;
    let ctx = Ctx::new(&sig, &l.billing, &cfg.signals);
    let mut stats = holdfast_signals::themes::theme_stats(&ctx);
    stats.sort_by(|x, y| y.churn_lift.unwrap_or(f64::NEG_INFINITY).total_cmp(&x.churn_lift.unwrap_or(f64::NEG_INFINITY)));
    match a.format {
        OutFormat::Json => println!("{}", serde_json::to_string_pretty(&stats).unwrap_or_default()),
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let _ = w.write_record(["theme", "source", "comments", "share", "share_promoters", "share_passives", "share_detractors", "mentioning_customers", "mentioning_churned", "other_customers", "other_churned", "churn_lift", "flags"]);
            let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            for s in &stats {
                let _ = w.write_record([
                    s.theme.clone(),
                    s.source.to_string(),
                    s.comments.to_string(),
                    f(s.share),
                    f(s.share_promoters),
                    f(s.share_passives),
                    f(s.share_detractors),
                    s.mentioning_customers.to_string(),
                    s.mentioning_churned.to_string(),
                    s.other_customers.to_string(),
                    s.other_churned.to_string(),
                    f(s.churn_lift),
                    s.flags.join("|"),
                ]);
            }
            let _ = w.flush();
        }
        OutFormat::Table => {
            let pct = |v: Option<f64>| v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_else(|| "—".into());
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(["Theme", "Source", "Comments", "Share", "Promoters", "Passives", "Detractors", "Churned (mentioning)", "Churned (others)", "Churn lift"]);
            for s in &stats {
                t.add_row([
                    s.theme.clone(),
                    s.source.to_string(),
                    s.comments.to_string(),
                    pct(s.share),
                    pct(s.share_promoters),
                    pct(s.share_passives),
                    pct(s.share_detractors),
                    format!("{}/{}", s.mentioning_churned, s.mentioning_customers),
                    format!("{}/{}", s.other_churned, s.other_customers),
                    s.churn_lift.map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into()),
                ]);
            }
            let total = stats.first().map(|s| s.total_comments).unwrap_or(0);
            println!("{t}\n{total} comments; churn lift = churn rate within {} days after mentioning ÷ that of other commenting customers", cfg.signals.theme_churn_window / 86_400);
        }
    }
    Ok(())
}

/// The signal sections of the last `months` periods, after the demo's revenue report.
pub fn demo(cfg: &Config, policy: &PolicyArgs, periods: &[String], months: usize) -> Result<(), Failure> {
    let Some(last) = periods.last() else { return Ok(()) };
    let first = &periods[periods.len().saturating_sub(months)];
    let args = ReportArgs { grain: None, period: Some(format!("{first}..{last}")), segment_by: vec![], kpis: vec![], format: OutFormat::Table, section: "all".into(), policy: policy.clone() };
    println!("\nCustomer-success signals, last {months} months (holdfast report --section support|voice|funnel|referrals):");
    print!("{}", report(cfg, &args, &Section::ALL)?);
    Ok(())
}

/// Signal table row counts for `holdfast status`.
pub fn status_lines(store: &SqliteStore) -> Result<String, Failure> {
    let mut out = String::new();
    for (t, n) in store.signal_table_counts().map_err(|e| Failure::io(e.to_string()))? {
        out.push_str(&format!("  {t:<20} {n:>10}\n"));
    }
    Ok(out)
}

/// `holdfast generate`: billing records into `billing`, signal records as CSV files in `dir`.
pub fn generate(cfg: &holdfast_sim::SimConfig, dir: &Path, billing: &mut dyn FnMut(holdfast_core::records::Record)) -> Result<u64, Failure> {
    let mut w = holdfast_signals::write::SignalWriter::create(dir).map_err(Failure::io)?;
    let mut err = None;
    let mut sink = |r: holdfast_signals::SignalRecord| {
        if err.is_none() {
            if let Err(e) = w.write(&r) {
                err = Some(e);
            }
        }
    };
    let mut em = holdfast_sim::signals::SignalEmitter::new(cfg, &mut sink);
    let events = crate::usage::generate_with_events(cfg, dir, billing, &mut em)?;
    em.finish();
    if let Some(e) = err {
        return Err(Failure::io(e));
    }
    w.finish().map_err(Failure::io)?;
    Ok(events)
}
