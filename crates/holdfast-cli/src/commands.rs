//! The subcommands. Each is: load config → open store → call a library → render.
use crate::config::{self, Config};
use crate::render::{self, LedgerRow};
use crate::{Cli, Command, Failure, PolicyArgs};
use clap::{Args, ValueEnum};
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{parse_instant, Calendar};
use holdfast_engine::timeline::Kind;
use holdfast_engine::Settings;
use holdfast_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq, Default)]
pub enum OutFormat {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Period grain: day, week, month, quarter, year (default from config: month).
    #[arg(long)]
    pub grain: Option<String>,
    /// A period label (`2025-03`, `2025-Q1`) or a range `FROM..TO`; default: every period with data.
    #[arg(long)]
    pub period: Option<String>,
    /// Segment by plan, billing_interval, currency, mrr_band, cohort or any customer attribute (repeatable).
    #[arg(long = "segment-by", value_name = "DIMENSION")]
    pub segment_by: Vec<String>,
    /// Only these KPIs (repeatable), e.g. `--kpi mrr --kpi nrr`.
    #[arg(long = "kpi")]
    pub kpis: Vec<String>,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    /// Which report: revenue, usage, support, voice, funnel, referrals or all.
    #[arg(long, default_value = "revenue")]
    pub section: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Args, Debug)]
pub struct MovementsArgs {
    /// Only this customer id (repeatable).
    #[arg(long)]
    pub customer: Vec<String>,
    /// Only this movement type (new_business, expansion, contraction, churn, reactivation, fx_only; repeatable).
    #[arg(long = "type")]
    pub kind: Vec<String>,
    /// A month label or range (`2025-01..2025-03`) by effective time.
    #[arg(long)]
    pub period: Option<String>,
    /// Include FX-only rows (no movement, only FX impact).
    #[arg(long)]
    pub include_fx: bool,
    /// Show the subscriptions behind each row, their native amounts and why they changed (with --customer).
    #[arg(long, requires = "customer")]
    pub explain: bool,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Args, Debug)]
pub struct CustomersArgs {
    /// Only customers with this status: lead, active, past_due, churned, merged.
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many rows, largest MRR first (0 = all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A directory of neutral files (customers.csv, plans.csv, …) or one file; or the word `stripe`
    /// followed by a directory of Stripe API JSON (list pages, objects, events; both API shapes).
    pub path: PathBuf,
    /// With `stripe`: the directory (or file) of Stripe JSON.
    pub stripe_path: Option<PathBuf>,
}

/// Size and seed of a simulated company.
#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Number of customers.
    #[arg(long, default_value_t = 2_000)]
    pub customers: usize,
    /// Months of history.
    #[arg(long, default_value_t = 24)]
    pub months: u32,
    /// Random seed: the same seed and size give the same company.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Output directory (created if missing).
    #[arg(long, default_value = "generated")]
    pub out: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// csv or jsonl
    #[arg(long, default_value = "csv")]
    pub file_format: String,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub sim: SimArgs,
    /// Directory for the generated files, the store and the reports.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Segmentation shown after the totals.
    #[arg(long = "segment-by", default_value = "plan")]
    pub segment_by: Vec<String>,
    /// After the report, serve the dashboard on the demo store (blocks until Ctrl-C; creates the user
    /// `demo` with a random password, printed). Without it the demo ends and prints how to serve.
    #[arg(long)]
    pub serve: bool,
    /// Address for --serve.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn dispatch(cli: &Cli) -> Result<(), Failure> {
    let mut cfg = config::load(cli.config.as_deref()).map_err(Failure::config)?;
    if let Some(db) = &cli.db {
        cfg.db = db.clone();
    }
    match &cli.command {
        Command::Demo(a) => demo(&cfg, a),
        Command::Import(a) => import(&cfg, a).map(|_| ()),
        Command::Report(a) => report(&cfg, a),
        Command::Movements(a) => movements(&cfg, a),
        Command::Customers(a) => customers(&cfg, a),
        Command::Generate(a) => generate(a),
        Command::Sync(a) => crate::sync::dispatch(&cfg, a),
        Command::Status => status(&cfg),
        Command::Bench(a) => crate::bench::bench(a),
        Command::Reconcile { source } => crate::reconcile::run(&cfg, source),
        Command::Cohorts(a) => crate::lifetime::cohorts(&cfg, a),
        Command::Ltv(a) => crate::lifetime::ltv(&cfg, a),
        Command::Forecast(a) => crate::forecast::forecast(&cfg, a),
        Command::Themes(a) => crate::signals::themes(&cfg, a),
        Command::BenchUsage(a) => crate::usage_bench::bench_usage(a),
        Command::Predict(a) => crate::predict::predict(&cfg, a),
        Command::Serve(a) => crate::serve::serve(&cfg, a),
        Command::Keys(a) => crate::serve::keys(&cfg, a),
        Command::Users(a) => crate::serve::users(&cfg, a),
    }
}

pub fn settings_from(cfg: &Config, p: &PolicyArgs) -> Result<Settings, Failure> {
    let mut s = holdfast_engine::query::apply_overrides(&cfg.settings, p.preset.as_deref(), p.set.iter().map(String::as_str)).map_err(|e| Failure::config(format!("--preset/--set: {e}")))?;
    if let Some(file) = p.merge_map.as_ref().or(cfg.merge_map_file.as_ref()) {
        s.merge_map = read_merge_map(file)?;
    }
    Ok(s)
}

/// Reads `from_customer_id,to_customer_id` rows.
fn read_merge_map(file: &Path) -> Result<std::collections::BTreeMap<String, String>, Failure> {
    let mut r = csv::Reader::from_path(file).map_err(|e| Failure::new(66, format!("merge map {}: {e}", file.display())))?;
    let headers = r.headers().map_err(|e| Failure::data(format!("{}: {e}", file.display())))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name).ok_or_else(|| Failure::data(format!("{}:1: missing column `{name}` (expected from_customer_id,to_customer_id)", file.display())));
    let (f, t) = (col("from_customer_id")?, col("to_customer_id")?);
    let mut out = std::collections::BTreeMap::new();
    for (i, row) in r.records().enumerate() {
        let row = row.map_err(|e| Failure::data(format!("{}:{}: {e}", file.display(), i + 2)))?;
        let (a, b) = (row.get(f).unwrap_or("").trim(), row.get(t).unwrap_or("").trim());
        if a.is_empty() || b.is_empty() {
            return Err(Failure::data(format!("{}:{}: both from_customer_id and to_customer_id are required", file.display(), i + 2)));
        }
        out.insert(a.to_string(), b.to_string());
    }
    Ok(out)
}

pub(crate) fn open_store(path: &Path, must_exist: bool) -> Result<holdfast_store::SqliteStore, Failure> {
    if must_exist && !path.exists() {
        return Err(Failure::new(66, format!("no store at {} (run `holdfast import <dir>` or `holdfast demo` first, or pass --db)", path.display())));
    }
    holdfast_store::SqliteStore::open(path).map_err(|e| Failure::io(format!("cannot open store {}: {e}", path.display())))
}

pub(crate) fn load_snapshot(store: &dyn Store) -> Result<Snapshot, Failure> {
    let t = Instant::now();
    let snap = store.load_snapshot().map_err(|e| Failure::io(format!("cannot load store: {e}")))?;
    tracing::info!(customers = snap.customers.len(), lines = snap.lines.len(), ms = t.elapsed().as_millis() as u64, "snapshot loaded");
    Ok(snap)
}

pub(crate) fn as_of(p: &PolicyArgs) -> Result<Option<i64>, Failure> {
    p.as_of.as_deref().map(parse_instant).transpose().map_err(|e| Failure::new(2, format!("--as-of: {e}")))
}

/// Parses `--period` (`LABEL` or `FROM..TO`, labels of the calendar's grain) into `[start, end)`.
fn period_range(cal: &Calendar, spec: &str) -> Result<(i64, i64), Failure> {
    holdfast_engine::query::period_range(cal, spec).map_err(|e| Failure::new(2, format!("--period: {e}")))
}

/// The labels of the run's periods selected by `--period`.
pub(crate) fn select_periods(run: &holdfast_engine::Run, cal: &Calendar, period: Option<&str>) -> Result<Vec<String>, Failure> {
    holdfast_engine::query::select_periods(run, cal, period).map_err(|e| Failure::new(2, format!("--period: {e}")))
}

pub(crate) fn run_engine(snap: &Snapshot, s: &Settings, grain: holdfast_core::Grain, segs: &[String], as_of: Option<i64>, period: Option<&str>) -> Result<holdfast_engine::Run, Failure> {
    let spec = holdfast_engine::query::run_spec(s, grain, segs, as_of, period).map_err(|e| Failure::new(2, format!("--period: {e}")))?;
    let t = Instant::now();
    let run = holdfast_engine::run(snap, s, &spec).map_err(Failure::config)?;
    tracing::info!(ledger_rows = run.ledger.len(), ms = t.elapsed().as_millis() as u64, "engine run");
    Ok(run)
}

pub fn report(cfg: &Config, a: &ReportArgs) -> Result<(), Failure> {
    // revenue and usage render here; the signal sections (support, voice, funnel, referrals) in `signals`.
    let (revenue, usage, signal_sections) = match a.section.as_str() {
        "revenue" => (true, false, vec![]),
        "usage" => (false, true, vec![]),
        "all" => (true, true, holdfast_signals::Section::ALL.to_vec()),
        other => match holdfast_signals::Section::parse(other) {
            Some(sec) => (false, false, vec![sec]),
            None => return Err(Failure::new(2, format!("--section {other:?}: expected revenue, usage, support, voice, funnel, referrals or all"))),
        },
    };
    if !revenue && !usage {
        print!("{}", crate::signals::report(cfg, a, &signal_sections)?);
        return Ok(());
    }
    let s = settings_from(cfg, &a.policy)?;
    let grain = match &a.grain {
        Some(g) => g.parse().map_err(|e: String| Failure::new(2, format!("--grain: {e}")))?,
        None => cfg.grain,
    };
    let segs = if a.segment_by.is_empty() { cfg.segment_by.clone() } else { a.segment_by.clone() };
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let cal = Calendar::new(grain, &s.timezone).map_err(Failure::config)?;
    let mut parts: Vec<(&str, String)> = Vec::new();
    if revenue {
        let run = run_engine(&snap, &s, grain, &segs, as_of(&a.policy)?, a.period.as_deref())?;
        let periods = select_periods(&run, &cal, a.period.as_deref())?;
        parts.push((
            "revenue",
            match a.format {
                OutFormat::Table => render::human_report(&run, s.reporting_currency, &periods),
                OutFormat::Json => render::json_report(&run, &s, &periods, &a.kpis),
                OutFormat::Csv => render::csv_report(&run, &periods, &a.kpis),
            },
        ));
    }
    if usage {
        let range = a.period.as_deref().map(|p| period_range(&cal, p)).transpose()?;
        parts.push(("usage", crate::usage::report(cfg, a, &store, &snap, &s, &cal, &segs, as_of(&a.policy)?, range)?));
    }
    if parts.len() > 1 && a.format == OutFormat::Json {
        let doc: serde_json::Map<String, serde_json::Value> = parts.iter().map(|(k, v)| (k.to_string(), serde_json::from_str(v).unwrap_or(serde_json::Value::Null))).collect();
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let texts: Vec<&str> = parts.iter().map(|p| p.1.as_str()).collect();
        print!("{}", texts.join("\n"));
    }
    Ok(())
}

pub fn movements(cfg: &Config, a: &MovementsArgs) -> Result<(), Failure> {
    let s = settings_from(cfg, &a.policy)?;
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let kinds: Vec<Kind> = a.kind.iter().map(|k| Kind::parse(k).ok_or_else(|| Failure::new(2, format!("--type {k:?}: expected new_business, expansion, contraction, churn, reactivation or fx_only")))).collect::<Result<_, _>>()?;
    let customers: Vec<u32> = a
        .customer
        .iter()
        .map(|c| snap.customers.ids.get(c).ok_or_else(|| Failure::new(66, format!("no customer {c:?} in the store"))))
        .collect::<Result<_, _>>()?;
    let window = match &a.period {
        Some(p) => Some(period_range(&Calendar::new(holdfast_core::Grain::Month, &s.timezone).map_err(Failure::config)?, p)?),
        None => None,
    };
    let keep = |x: &holdfast_engine::timeline::Change| {
        (if kinds.is_empty() { a.include_fx || x.kind != Kind::FxOnly } else { kinds.contains(&x.kind) }) && window.map(|(f, t)| x.t >= f && x.t < t).unwrap_or(true)
    };
    // Named customers are run on their own (the same code path as the full ledger), not the whole book.
    let explained = if customers.is_empty() {
        None
    } else {
        let rows = holdfast_engine::explain(&snap, &s, as_of(&a.policy)?, &customers).map_err(Failure::config)?;
        Some(rows.into_iter().filter(|x| keep(&x.change)).collect::<Vec<_>>())
    };
    if a.explain {
        print!("{}", render::explained(explained.as_deref().unwrap_or_default(), &snap, s.reporting_currency, a.format));
        return Ok(());
    }
    let run;
    let rows: Vec<LedgerRow> = match &explained {
        Some(rows) => rows.iter().map(|x| LedgerRow { change: &x.change, customer: snap.customers.ids.name(x.change.customer) }).collect(),
        None => {
            run = run_engine(&snap, &s, holdfast_core::Grain::Month, &[], as_of(&a.policy)?, None)?;
            run.ledger.iter().filter(|x| keep(x)).map(|x| LedgerRow { change: x, customer: snap.customers.ids.name(x.customer) }).collect()
        }
    };
    let cur = s.reporting_currency;
    let text = match a.format {
        OutFormat::Table => render::ledger_human(&rows, cur),
        OutFormat::Csv => render::ledger_csv(&rows, cur),
        OutFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "customer_id": r.customer,
                        "effective_at": holdfast_core::time::format_instant(r.change.t),
                        "type": r.change.kind.as_str(),
                        "amount": r.change.amount,
                        "fx_impact": r.change.fx,
                        "mrr_after": r.change.mrr,
                        "currency": cur.code(),
                        "grouped_count": r.change.grouped,
                        "returning": r.change.returning(),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
    };
    print!("{}", if text.ends_with('\n') { text } else { text + "\n" });
    Ok(())
}

pub(crate) fn bar(len: u64, msg: String) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(ProgressStyle::with_template("{msg:24} [{bar:30}] {bytes}/{total_bytes} ({eta})").unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
    pb.set_message(msg);
    pb
}

/// Imports every file under `path` in one transaction. Returns the summary text.
pub fn import(cfg: &Config, a: &ImportArgs) -> Result<String, Failure> {
    if a.path.as_os_str() == "stripe" {
        let Some(dir) = &a.stripe_path else {
            return Err(Failure::new(2, "usage: holdfast import stripe <dir>: the directory of Stripe JSON is missing"));
        };
        return import_stripe(cfg, dir);
    }
    if let Some(extra) = &a.stripe_path {
        return Err(Failure::new(2, format!("unexpected argument {} (only `holdfast import stripe <dir>` takes two)", extra.display())));
    }
    if !a.path.exists() {
        return Err(Failure::new(66, format!("{} does not exist", a.path.display())));
    }
    let signal_files = crate::signals::discover(&a.path)?;
    let event_files = crate::usage::event_files(&a.path)?;
    let files = if crate::signals::is_signal_file(&a.path) || (a.path.is_file() && !event_files.is_empty()) { vec![] } else { holdfast_ingest::discover(&a.path).map_err(Failure::data)? };
    if files.is_empty() && signal_files.is_empty() && event_files.is_empty() {
        return Err(Failure::new(66, format!("no importable files in {} (expected customers.csv, plans.csv, subscriptions.csv, invoices.csv, invoice_lines.csv, events.jsonl, tickets.csv, … or .jsonl)", a.path.display())));
    }
    let mut store = open_store(&cfg.db, false)?;
    let t = Instant::now();
    let mut tx = store.begin_import().map_err(|e| Failure::io(format!("cannot start import: {e}")))?;
    let mut reader = holdfast_ingest::Reader::new();
    let mut rows = 0u64;
    for f in &files {
        let pb = bar(f.bytes, f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        if f.bytes < 4 << 20 {
            pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let mut store_err: Option<String> = None;
        let n = reader
            .read_file(
                f,
                &mut |r| {
                    tx.put(&r).map(|_| ()).map_err(|e| {
                        store_err = Some(e.to_string());
                        holdfast_ingest::ImportError { file: f.path.clone(), line: None, field: None, value: None, expected: format!("a writable store ({e})") }
                    })
                },
                &mut |b| pb.set_position(b),
            )
            .map_err(|e| if store_err.is_some() { Failure::io(e) } else { Failure::data(format!("{e}\nnothing was imported (the import is all or nothing)")) })?;
        pb.finish_and_clear();
        rows += n;
        tracing::info!(file = %f.path.display(), rows = n, "read");
    }
    rows += crate::signals::import_files(&mut *tx, &signal_files)?;
    let usage_summary = crate::usage::import_events(&mut *tx, &event_files, &cfg.usage)?;
    let summary = tx.commit().map_err(|e| Failure::io(format!("import failed, nothing was written: {e}")))?;
    let mut out = format!("imported {rows} rows from {} file(s) into {} in {:.1}s\n", files.len() + signal_files.len() + event_files.len(), cfg.db.display(), t.elapsed().as_secs_f64());
    out.push_str(&usage_summary);
    for ts in &summary.per_table {
        if ts.inserted + ts.updated + ts.unchanged > 0 {
            out.push_str(&format!("  {:<20} {:>9} new {:>9} updated {:>9} unchanged\n", ts.table, ts.inserted, ts.updated, ts.unchanged));
        }
    }
    if !summary.updated_keys.is_empty() {
        out.push_str("  updated (same key, different content):\n");
        for (table, key) in &summary.updated_keys {
            out.push_str(&format!("    {table} {key}\n"));
        }
    }
    eprint!("{out}");
    Ok(out)
}

/// Imports Stripe objects: all are read and mapped first (events must be ordered), then stored in one
/// transaction, so a bad file leaves the store unchanged.
fn import_stripe(cfg: &Config, dir: &Path) -> Result<String, Failure> {
    if !dir.exists() {
        return Err(Failure::new(66, format!("{} does not exist", dir.display())));
    }
    let t = Instant::now();
    let (data, report) = holdfast_stripe::read_dir_report(dir).map_err(|e| Failure::data(format!("{e}\nnothing was imported (the import is all or nothing)")))?;
    let mut store = open_store(&cfg.db, false)?;
    let n = data.len();
    let summary = holdfast_store::import_records(&mut store, data.into_records()).map_err(|e| Failure::io(format!("import failed, nothing was written: {e}")))?;
    let mut out = format!("imported {n} records from Stripe objects in {} into {} in {:.1}s\n", dir.display(), cfg.db.display(), t.elapsed().as_secs_f64());
    for ts in &summary.per_table {
        if ts.inserted + ts.updated + ts.unchanged > 0 {
            out.push_str(&format!("  {:<20} {:>9} new {:>9} updated {:>9} unchanged\n", ts.table, ts.inserted, ts.updated, ts.unchanged));
        }
    }
    for (kind, n) in &report.skipped {
        out.push_str(&format!("  skipped {n} {kind} object(s): not represented in the billing records yet\n"));
    }
    for note in report.notes.iter().take(20) {
        out.push_str(&format!("  note: {note}\n"));
    }
    if report.notes.len() > 20 {
        out.push_str(&format!("  … and {} more notes\n", report.notes.len() - 20));
    }
    eprint!("{out}");
    Ok(out)
}

pub fn customers(cfg: &Config, a: &CustomersArgs) -> Result<(), Failure> {
    use holdfast_engine::timeline::CustomerStatus as St;
    let s = settings_from(cfg, &a.policy)?;
    let want = match a.status.as_deref() {
        None => None,
        Some("lead") => Some(St::Lead),
        Some("active") => Some(St::Active),
        Some("past_due") => Some(St::PastDue),
        Some("churned") => Some(St::Churned),
        Some("merged") => Some(St::Merged),
        Some(x) => return Err(Failure::new(2, format!("--status {x:?}: expected lead, active, past_due, churned or merged"))),
    };
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let run = run_engine(&snap, &s, holdfast_core::Grain::Month, &[], as_of(&a.policy)?, None)?;
    let mut idx: Vec<usize> = (0..run.customers.len()).filter(|&i| want.map(|w| run.customers[i].status == w).unwrap_or(true)).collect();
    idx.sort_by_key(|&i| (-run.customers[i].mrr, snap.customers.ids.name(i as u32).to_string()));
    if a.limit > 0 {
        idx.truncate(a.limit);
    }
    let cur = s.reporting_currency;
    let plan_name = |p: u32| if p == holdfast_core::snapshot::NONE { String::new() } else { snap.plans.ids.name(p).to_string() };
    let rows: Vec<[String; 5]> = idx
        .iter()
        .map(|&i| {
            let c = &run.customers[i];
            [
                snap.customers.ids.name(i as u32).to_string(),
                snap.customers.name[i].as_deref().unwrap_or("").to_string(),
                c.status.as_str().to_string(),
                cur.format_minor(c.mrr),
                plan_name(c.plan),
            ]
        })
        .collect();
    match a.format {
        OutFormat::Table => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(["Customer", "Name", "Status", &format!("MRR ({cur})"), "Plan"]);
            for r in &rows {
                t.add_row(r.iter());
            }
            println!("{t}\n{} customers", rows.len());
        }
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let _ = w.write_record(["customer_id", "name", "status", "mrr", "plan"]);
            for r in &rows {
                let _ = w.write_record(r);
            }
            let _ = w.flush();
        }
        OutFormat::Json => {
            let v: Vec<serde_json::Value> = rows.iter().map(|r| serde_json::json!({"customer_id": r[0], "name": r[1], "status": r[2], "mrr": r[3], "currency": cur.code(), "plan": r[4]})).collect();
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    Ok(())
}

pub fn status(cfg: &Config) -> Result<(), Failure> {
    let store = open_store(&cfg.db, true)?;
    let mut counts = store.table_counts().map_err(|e| Failure::io(e.to_string()))?;
    counts.extend(store.usage_counts().map_err(|e| Failure::io(e.to_string()))?);
    println!("store {}", cfg.db.display());
    for (t, n) in counts {
        println!("  {t:<20} {n:>10}");
    }
    crate::sync::status_lines(&store)?.iter().for_each(|l| println!("{l}"));
    print!("{}", crate::signals::status_lines(&store)?);
    Ok(())
}

pub fn generate(a: &GenerateArgs) -> Result<(), Failure> {
    let format = match a.file_format.as_str() {
        "csv" => holdfast_ingest::Format::Csv,
        "jsonl" => holdfast_ingest::Format::Jsonl,
        other => return Err(Failure::new(2, format!("--file-format {other:?}: expected csv or jsonl"))),
    };
    std::fs::create_dir_all(&a.out).map_err(Failure::io)?;
    let cfg = holdfast_sim::SimConfig::new(a.sim.seed, a.sim.customers, a.sim.months);
    let mut w = holdfast_ingest::DatasetWriter::create(&a.out, format).map_err(Failure::io)?;
    let pb = ProgressBar::new(a.sim.customers as u64);
    pb.set_style(ProgressStyle::with_template("generating [{bar:30}] {pos}/{len} customers ({eta})").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let mut err = None;
    let mut n = 0u64;
    let events = crate::signals::generate(&cfg, &a.out, &mut |r| {
        if let holdfast_core::records::Record::Customer(c) = &r {
            if c.valid_from.is_none() {
                n += 1;
                if n % 1024 == 0 {
                    pb.set_position(n);
                }
            }
        }
        if err.is_none() {
            if let Err(e) = w.write(&r) {
                err = Some(e);
            }
        }
    })?;
    pb.finish_and_clear();
    if let Some(e) = err {
        return Err(Failure::io(e));
    }
    w.finish().map_err(Failure::io)?;
    eprintln!("wrote {} customers × {} months ({events} usage messages) to {}", a.sim.customers, a.sim.months, a.out.display());
    Ok(())
}

pub fn demo(cfg: &Config, a: &DemoArgs) -> Result<(), Failure> {
    let s = settings_from(cfg, &a.policy)?;
    let data = a.out.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data).map_err(Failure::io)?;
    }
    let db = a.out.join("holdfast.db");
    for suffix in ["", "-wal", "-shm", ".snapshot"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(Failure::io)?;
        }
    }
    generate(&GenerateArgs { out: data.clone(), sim: a.sim.clone(), file_format: "csv".into() })?;
    let mut c2 = cfg.clone();
    c2.db = db.clone();
    import(&c2, &ImportArgs { path: data.clone(), stripe_path: None })?;
    let store = open_store(&db, true)?;
    let snap = load_snapshot(&store)?;
    let run = run_engine(&snap, &s, holdfast_core::Grain::Month, &a.segment_by, as_of(&a.policy)?, None)?;
    let periods: Vec<String> = run.periods.iter().map(|p| p.label.clone()).collect();
    let text = render::human_report(&run, s.reporting_currency, &periods);
    print!("{text}");
    let fails = render::roll_forward_failures(&run);
    std::fs::write(a.out.join("report.txt"), &text).map_err(Failure::io)?;
    std::fs::write(a.out.join("report.json"), render::json_report(&run, &s, &periods, &[])).map_err(Failure::io)?;
    std::fs::write(a.out.join("report.csv"), render::csv_report(&run, &periods, &[])).map_err(Failure::io)?;
    std::fs::write(a.out.join("report.html"), render::html_report(&run, s.reporting_currency, &periods)).map_err(Failure::io)?;
    let rows: Vec<LedgerRow> = run.ledger.iter().map(|x| LedgerRow { change: x, customer: snap.customers.ids.name(x.customer) }).collect();
    std::fs::write(a.out.join("movements.csv"), render::ledger_csv(&rows, s.reporting_currency)).map_err(Failure::io)?;
    print!("\n{}", crate::usage::demo_section(cfg, &store, &snap, &s, &a.segment_by, as_of(&a.policy)?, &a.out)?);
    crate::signals::demo(&c2, &a.policy, &periods, 3)?;
    if !fails.is_empty() {
        return Err(Failure::new(70, format!("MRR roll-forward does not hold:\n{}", fails.join("\n"))));
    }
    println!("\nMRR and customer roll-forward hold in all {} months.", periods.len());
    println!("Wrote {0}/report.html, report.txt, report.json, report.csv, movements.csv, usage.json, usage.csv and the store {0}/holdfast.db", a.out.display());
    crate::serve::after_demo(cfg, a, &db)
}
