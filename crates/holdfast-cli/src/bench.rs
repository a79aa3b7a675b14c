//! `holdfast bench`: import, snapshot load and engine speed on simulated data at a stated scale.
//! Measured, not asserted: the figures go to `docs/benchmarks.md`.
use crate::Failure;
use clap::Args;
use holdfast_core::records::Record;
use holdfast_engine::{RunSpec, SegmentBy, Settings};
use holdfast_store::Store;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub customers: usize,
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Store file used for the benchmark (replaced unless --reuse).
    #[arg(long, default_value = "target/bench/holdfast-bench.db")]
    pub bench_db: PathBuf,
    /// Reuse an existing benchmark store (skip generation and import).
    #[arg(long)]
    pub reuse: bool,
    /// Engine repetitions (the minimum and median are reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// The segmentation computed besides the total.
    #[arg(long = "segment-by", default_value = "plan")]
    pub segment_by: String,
}

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn current_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn reset_peak() {
    // Linux: writing 5 to clear_refs resets the peak RSS counter (VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn bench(a: &BenchArgs) -> Result<(), Failure> {
    let db = &a.bench_db;
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).map_err(Failure::io)?;
    }
    println!("holdfast bench: {} customers × {} months, seed {}, {} threads", a.customers, a.months, a.seed, rayon_threads());
    if !a.reuse || !db.exists() {
        for suffix in ["", "-wal", "-shm", ".snapshot"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let mut store = holdfast_store::SqliteStore::open(db).map_err(|e| Failure::io(e.to_string()))?;
        let cfg = holdfast_sim::SimConfig::new(a.seed, a.customers, a.months);
        let total = Instant::now();
        let mut put_time = Duration::ZERO;
        let mut lines = 0u64;
        let mut records = 0u64;
        let mut gen_time = Duration::ZERO;
        let lines_put;
        let commit_time;
        {
            let mut tx = store.begin_import().map_err(|e| Failure::io(e.to_string()))?;
            let mut buf: Vec<Record> = Vec::with_capacity(65_536);
            let mut err = None;
            let mut line_time = Duration::ZERO;
            let mut flush = |buf: &mut Vec<Record>, put_time: &mut Duration| {
                let t = Instant::now();
                // runs of invoice lines are timed on their own for the lines-per-second figure
                let mut run_start: Option<Instant> = None;
                for r in buf.drain(..) {
                    let is_line = matches!(r, Record::InvoiceLine(_));
                    match (is_line, run_start) {
                        (true, None) => run_start = Some(Instant::now()),
                        (false, Some(s)) => {
                            line_time += s.elapsed();
                            run_start = None;
                        }
                        _ => {}
                    }
                    if let Err(e) = tx.put(&r) {
                        err.get_or_insert(e.to_string());
                    }
                }
                if let Some(s) = run_start {
                    line_time += s.elapsed();
                }
                *put_time += t.elapsed();
            };
            let mut t_gen = Instant::now();
            holdfast_sim::generate(&cfg, &mut |r| {
                if matches!(r, Record::InvoiceLine(_)) {
                    lines += 1;
                }
                records += 1;
                buf.push(r);
                if buf.len() == buf.capacity() {
                    gen_time += t_gen.elapsed();
                    flush(&mut buf, &mut put_time);
                    t_gen = Instant::now();
                }
            });
            gen_time += t_gen.elapsed();
            flush(&mut buf, &mut put_time);
            if let Some(e) = err {
                return Err(Failure::io(e));
            }
            lines_put = line_time;
            let t = Instant::now();
            tx.commit().map_err(|e| Failure::io(e.to_string()))?;
            commit_time = t.elapsed();
            put_time += commit_time;
        }
        let secs = put_time.as_secs_f64();
        println!(
            "import   {records} records ({lines} invoice lines) into SQLite: {secs:.2} s in the store = {:.0} records/s; generation {:.2} s; wall {:.2} s",
            records as f64 / secs,
            gen_time.as_secs_f64(),
            total.elapsed().as_secs_f64()
        );
        println!(
            "         invoice lines alone: {lines} puts in {:.2} s = {:.0} lines/s (commit {:.2} s)",
            lines_put.as_secs_f64(),
            lines as f64 / lines_put.as_secs_f64(),
            commit_time.as_secs_f64()
        );
        println!("         peak RSS during import {:.0} MiB", peak_rss_mib().unwrap_or(f64::NAN));
    }
    reset_peak();
    let store = holdfast_store::SqliteStore::open(db).map_err(|e| Failure::io(e.to_string()))?;
    let cache = holdfast_store::sqlite::snapshot_cache_path(db);
    let from_tables = !cache.exists();
    let t = Instant::now();
    let snap = store.load_snapshot().map_err(|e| Failure::io(e.to_string()))?;
    let load = t.elapsed();
    println!(
        "load     snapshot of {} customers, {} invoices, {} lines: {:.2} s ({})",
        snap.customers.len(),
        snap.invoices.len(),
        snap.lines.len(),
        load.as_secs_f64(),
        if from_tables { "no cache yet: read from the SQLite tables, then cached" } else { "cache present; a stale cache is re-read from the tables" }
    );
    let snap = if from_tables {
        drop(snap);
        reset_peak();
        let t = Instant::now();
        let again = store.load_snapshot().map_err(|e| Failure::io(e.to_string()))?;
        println!("load     again from the snapshot cache: {:.2} s", t.elapsed().as_secs_f64());
        again
    } else {
        snap
    };
    println!("memory   RSS with the snapshot loaded {:.0} MiB", current_rss_mib().unwrap_or(f64::NAN));
    let settings = Settings::default();
    let spec = RunSpec { segment_by: vec![SegmentBy::parse(&a.segment_by)], ..RunSpec::default() };
    let mut times = Vec::new();
    let mut ledger = 0;
    let mut results = 0;
    for _ in 0..a.runs.max(1) {
        let t = Instant::now();
        let run = holdfast_engine::run(&snap, &settings, &spec).map_err(Failure::config)?;
        times.push(t.elapsed().as_secs_f64());
        ledger = run.ledger.len();
        results = run.tables.iter().map(|t| t.results.len()).sum::<usize>();
        let fails = crate::render::roll_forward_failures(&run);
        if !fails.is_empty() {
            return Err(Failure::new(70, format!("roll-forward failed: {}", fails.join("; "))));
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "engine   full ledger ({ledger} rows) + every revenue KPI for every month, total + by {} ({results} results): min {:.3} s, median {:.3} s over {} runs",
        a.segment_by,
        times[0],
        times[times.len() / 2],
        times.len()
    );
    println!("memory   peak RSS of load + engine {:.0} MiB", peak_rss_mib().unwrap_or(f64::NAN));
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
