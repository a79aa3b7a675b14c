//! Product usage in the CLI: event files in `holdfast import`, the events file of `holdfast generate`, and
//! `holdfast report --section usage`. Everything computed comes from `holdfast-usage`.
use crate::commands::{OutFormat, ReportArgs};
use crate::config::Config;
use crate::Failure;
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{format_instant, Calendar};
use holdfast_engine::result::{KpiResult, Value};
use holdfast_engine::{SegmentBy, Settings};
use holdfast_store::{ImportTx, Store};
use holdfast_usage::kpis::UsageTable;
use holdfast_usage::{BillingAccounts, Ingest, UsageInput, UsageModel, UsageSettings};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The file the simulator's usage messages go to, in the generated directory.
pub const EVENTS_FILE: &str = "events.jsonl";

fn is_event_file(p: &Path) -> bool {
    let ext_ok = p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    ext_ok && p.file_stem().and_then(|s| s.to_str()).is_some_and(holdfast_ingest::is_usage_events_stem)
}

/// The usage event files of an import path: `events*.jsonl` in a directory (sorted), or the path itself.
pub fn event_files(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    if path.is_file() {
        return Ok(if is_event_file(path) { vec![path.to_path_buf()] } else { vec![] });
    }
    let mut out: Vec<PathBuf> = holdfast_ingest::visible_files(path).map_err(Failure::io)?.into_iter().map(|(p, _)| p).filter(|p| is_event_file(p)).collect();
    out.sort();
    Ok(out)
}

/// Reads the event files into one rollup (deduplicated against the messages already stored) and merges it
/// into the open import transaction. Returns the summary lines.
pub fn import_events(tx: &mut dyn ImportTx, files: &[PathBuf], settings: &UsageSettings) -> Result<String, Failure> {
    if files.is_empty() {
        return Ok(String::new());
    }
    let t = Instant::now();
    let seen = tx.usage_message_ids().map_err(|e| Failure::io(format!("cannot read stored usage messages: {e}")))?;
    let mut ingest = Ingest::new(settings.ingest.clone(), seen);
    for f in files {
        let bytes = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        let pb = crate::commands::bar(bytes, f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        if bytes < 4 << 20 {
            pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        holdfast_usage::read_file(f, &mut ingest, &mut |b| pb.set_position(b)).map_err(|e| Failure::data(format!("{e}\nnothing was imported (the import is all or nothing)")))?;
        pb.finish_and_clear();
    }
    let parsed = t.elapsed();
    let rollup = ingest.finish();
    let st = rollup.stats;
    let stored = tx.put_usage(&rollup, &settings.ingest).map_err(|e| match e {
        holdfast_store::StoreError::Unsupported(m) => Failure::config(m),
        e => Failure::io(format!("import failed, nothing was written: {e}")),
    })?;
    tracing::info!(messages = st.messages, parse_ms = parsed.as_millis() as u64, total_ms = t.elapsed().as_millis() as u64, "usage events");
    Ok(format!(
        "  {:<20} {:>9} new {:>9} duplicate  ({} track, {} page, {} identify, {} group; {} new users, {} new accounts; {} sessions touched)\n",
        "usage messages", stored.messages, st.duplicates, st.tracks, st.pages, st.identifies, st.groups, stored.new_users, stored.new_accounts, stored.sessions
    ))
}

/// Writes the simulator's usage messages for `cfg` to `dir/events.jsonl` while `records` receives the billing
/// records (one simulation pass).
pub fn generate_with_events(cfg: &holdfast_sim::SimConfig, dir: &Path, records: &mut dyn FnMut(holdfast_core::records::Record), also: &mut dyn holdfast_sim::Observer) -> Result<u64, Failure> {
    use std::io::Write;
    let file = std::fs::File::create(dir.join(EVENTS_FILE)).map_err(|e| Failure::io(format!("{}: {e}", dir.join(EVENTS_FILE).display())))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut err = None;
    let mut sink = |line: &str| {
        if err.is_none() {
            if let Err(e) = w.write_all(line.as_bytes()).and_then(|_| w.write_all(b"\n")) {
                err = Some(e);
            }
        }
    };
    let mut emitter = holdfast_sim::usage::UsageEmitter::new(cfg.seed, &mut sink);
    // One simulator pass feeds the usage emitter and `also` (the signal emitter).
    holdfast_sim::generate_observed(cfg, records, &mut (&mut emitter, also));
    let n = emitter.messages;
    drop(emitter);
    if let Some(e) = err {
        return Err(Failure::io(e));
    }
    w.flush().map_err(Failure::io)?;
    Ok(n)
}

/// The usage tables (total, then one per segmentation) of a store.
pub struct UsageRun {
    pub as_of: i64,
    pub tables: Vec<UsageTable>,
    pub periods: Vec<String>,
}

/// Loads the usage rollups and computes the usage KPIs for the report's periods and segmentations.
#[allow(clippy::too_many_arguments)]
pub fn run(store: &dyn Store, snap: &Snapshot, s: &Settings, us: &UsageSettings, cal: &Calendar, segs: &[String], as_of: Option<i64>, range: Option<(i64, i64)>) -> Result<UsageRun, Failure> {
    let t = Instant::now();
    let rollup = store.load_usage().map_err(|e| Failure::io(format!("cannot load usage rollups: {e}")))?;
    let model = UsageModel::build(&rollup, us);
    tracing::info!(ms = t.elapsed().as_millis() as u64, users = model.n_users, "usage rollups loaded");
    let usage_last = model.days.map(|d| (d.1 as i64 + 1) * 86_400 - 1);
    let as_of = as_of.or_else(|| holdfast_engine::data_as_of(snap).into_iter().chain(usage_last).max()).unwrap_or(0);
    let billing = BillingAccounts::build(snap, s, as_of).map_err(Failure::config)?;
    let links = billing.link_accounts(&rollup);
    let (from, to) = match range {
        Some((f, t)) => (f, (t - 1).min(as_of)),
        None => (model.days.map(|d| d.0 as i64 * 86_400).unwrap_or(as_of).min(as_of), as_of),
    };
    let input = UsageInput { rollup: &rollup, model: &model, billing: &billing, links: &links, settings: us, calendar: cal, from, to, as_of };
    let mut tables = vec![holdfast_usage::compute(&input, None)];
    for by in segs {
        let seg = billing.segmenter(&SegmentBy::parse(by), s, from, as_of).map_err(Failure::config)?;
        tables.push(holdfast_usage::compute(&input, Some(&seg)));
    }
    let mut periods: Vec<String> = Vec::new();
    for r in &tables[0].results {
        if !periods.contains(&r.period) {
            periods.push(r.period.clone());
        }
    }
    tracing::info!(ms = t.elapsed().as_millis() as u64, "usage KPIs");
    Ok(UsageRun { as_of, tables, periods })
}

const HEADLINE: [(&str, &str); 14] = [
    ("dau", "DAU"),
    ("wau", "WAU"),
    ("mau", "MAU"),
    ("stickiness", "Sticky"),
    ("session_duration", "Session min"),
    ("time_in_use", "Min/user/wk"),
    ("login_frequency", "Logins/wk"),
    ("feature_adoption_breadth", "Breadth"),
    ("seat_utilisation", "Seats used"),
    ("mru", "MRU"),
    ("net_usage_retention", "NUR"),
    ("activity_churn_rate", "Act. churn"),
    ("time_to_value", "TTV days"),
    ("unmapped_active_users", "Unmapped"),
];

fn cell(r: Option<&KpiResult>) -> String {
    match r.and_then(|r| r.value) {
        None => "—".into(),
        Some(Value::Ratio(v)) => format!("{:.1}%", v * 100.0),
        Some(Value::Number(v)) => format!("{v:.1}"),
        Some(Value::Count(v)) | Some(Value::Money(v)) => v.to_string(),
    }
}

fn human(run: &UsageRun, periods: &[String]) -> String {
    let mut out = String::new();
    let total = &run.tables[0];
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    let mut header = vec!["Period".to_string()];
    header.extend(HEADLINE.iter().map(|h| h.1.to_string()));
    t.set_header(header);
    for p in periods {
        let mut row = vec![p.clone()];
        for (k, _) in HEADLINE {
            let r = total.get(k, p, None);
            let mut c = cell(r);
            if k == "dau" && r.is_some_and(|r| r.flags.contains(&"incomplete")) {
                c.push('*');
            }
            row.push(c);
        }
        t.add_row(row);
    }
    let _ = writeln!(out, "Usage (as of {})", format_instant(run.as_of));
    let _ = writeln!(out, "{t}");
    if total.results.iter().any(|r| r.flags.contains(&holdfast_usage::kpis::FLAG_NO_USAGE_DATA)) {
        let _ = writeln!(out, "no usage events in the store (import an events.jsonl of Segment messages)");
    }
    if let Some(last) = periods.last() {
        let mut feats: Vec<&holdfast_usage::kpis::FeatureResult> = total.features.iter().filter(|f| f.result.period == *last && f.result.segment.is_none()).collect();
        feats.sort_by(|a, b| a.feature.cmp(&b.feature));
        if !feats.is_empty() {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(["Feature", "Adopting accounts", "Active accounts", "Adoption"]);
            for f in feats {
                let r = &f.result;
                t.add_row([f.feature.clone(), r.numerator.map(|v| v.as_f64().to_string()).unwrap_or_default(), r.denominator.map(|v| v.as_f64().to_string()).unwrap_or_default(), cell(Some(r))]);
            }
            let _ = writeln!(out, "\nFeature adoption, trailing 30 days at the end of {last}\n{t}");
        }
        for tb in run.tables.iter().skip(1) {
            let name = tb.segment_by.clone().unwrap_or_default();
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header([name.as_str(), "MAU", "Sticky", "Breadth", "Seats used", "MRU", "NUR", "Act. churn"]);
            let mut segs: Vec<&str> = tb.results.iter().filter(|r| r.period == *last && r.kpi == "mau").filter_map(|r| r.segment.as_deref()).collect();
            segs.sort_by_key(|s| -(tb.get("mau", last, Some(s)).and_then(|r| r.value).map(|v| v.as_f64()).unwrap_or(0.0) as i64));
            for s in segs {
                let label = s.split_once('=').map(|x| x.1).unwrap_or(s).to_string();
                let mut row = vec![label];
                for k in ["mau", "stickiness", "feature_adoption_breadth", "seat_utilisation", "mru", "net_usage_retention", "activity_churn_rate"] {
                    row.push(cell(tb.get(k, last, Some(s))));
                }
                t.add_row(row);
            }
            let _ = writeln!(out, "\nUsage by {name}, {last}\n{t}");
        }
    }
    out
}

fn keep(r: &KpiResult, periods: &[String], kpis: &[String]) -> bool {
    periods.contains(&r.period) && (kpis.is_empty() || kpis.iter().any(|k| k == r.kpi))
}

fn json(run: &UsageRun, us: &UsageSettings, periods: &[String], kpis: &[String]) -> String {
    let tables: Vec<serde_json::Value> = run
        .tables
        .iter()
        .map(|tb| {
            serde_json::json!({
                "segment_by": tb.segment_by,
                "results": tb.results.iter().filter(|r| keep(r, periods, kpis)).collect::<Vec<_>>(),
                "feature_adoption": tb.features.iter().filter(|f| keep(&f.result, periods, kpis)).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "section": "usage", "as_of": format_instant(run.as_of), "settings": us, "tables": tables })).unwrap_or_default() + "\n"
}

fn csv(run: &UsageRun, periods: &[String], kpis: &[String]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["kpi", "feature", "period", "segment", "value", "numerator", "denominator", "n", "flags"]);
    let num = |v: Option<Value>| v.map(|v| v.as_f64().to_string()).unwrap_or_default();
    for tb in &run.tables {
        let rows = tb.results.iter().map(|r| ("", r)).chain(tb.features.iter().map(|f| (f.feature.as_str(), &f.result)));
        for (feature, r) in rows.filter(|(_, r)| keep(r, periods, kpis)) {
            let _ = w.write_record([r.kpi, feature, &r.period, r.segment.as_deref().unwrap_or(""), &num(r.value), &num(r.numerator), &num(r.denominator), &r.n.to_string(), &r.flags.join("|")]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `holdfast report --section usage`.
#[allow(clippy::too_many_arguments)]
pub fn report(cfg: &Config, a: &ReportArgs, store: &dyn Store, snap: &Snapshot, s: &Settings, cal: &Calendar, segs: &[String], as_of: Option<i64>, range: Option<(i64, i64)>) -> Result<String, Failure> {
    let run = run(store, snap, s, &cfg.usage, cal, segs, as_of, range)?;
    let periods = run.periods.clone();
    Ok(match a.format {
        OutFormat::Table => human(&run, &periods),
        OutFormat::Json => json(&run, &cfg.usage, &periods, &a.kpis),
        OutFormat::Csv => csv(&run, &periods, &a.kpis),
    })
}

/// The usage part of `holdfast demo`: the table text, and `usage.json` / `usage.csv` written to `out`.
pub fn demo_section(cfg: &Config, store: &dyn Store, snap: &Snapshot, s: &Settings, segs: &[String], as_of: Option<i64>, out: &Path) -> Result<String, Failure> {
    let cal = Calendar::new(holdfast_core::Grain::Month, &s.timezone).map_err(Failure::config)?;
    let run = run(store, snap, s, &cfg.usage, &cal, segs, as_of, None)?;
    let periods = run.periods.clone();
    std::fs::write(out.join("usage.json"), json(&run, &cfg.usage, &periods, &[])).map_err(Failure::io)?;
    std::fs::write(out.join("usage.csv"), csv(&run, &periods, &[])).map_err(Failure::io)?;
    Ok(human(&run, &periods))
}
