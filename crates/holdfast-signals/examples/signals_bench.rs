//! Speed of the signal pipeline on a simulated company:
//! `cargo run --release -p holdfast-signals --example signals_bench -- [customers] [months] [dir]`.
//!
//! Generates billing and signals (not timed), writes the signal CSV files, then times: parsing + importing
//! them into a fresh SQLite file in one transaction, re-importing them (every row unchanged), loading the
//! columns back, taking the billing facts from an engine run, and every KPI section plus the theme
//! statistics. Prints one line per step.
use holdfast_core::snapshot::Snapshot;
use holdfast_core::Currency;
use holdfast_engine::{RunSpec, Settings};
use holdfast_signals::read::{discover, SignalReader};
use holdfast_signals::{compute, Billing, Ctx, Section, SignalSettings};
use holdfast_store::{SqliteStore, Store};
use std::time::Instant;

/// Process CPU time (user + system) in seconds: on a shared machine wall time also measures the neighbours.
fn cpu() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes into the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// `wall s (CPU s)` since `(t, c)`.
fn took(t: Instant, c: f64) -> String {
    format!("{:.2} s wall ({:.2} s CPU)", t.elapsed().as_secs_f64(), cpu() - c)
}

fn import(store: &mut SqliteStore, dir: &std::path::Path) -> u64 {
    let mut tx = store.begin_import().unwrap();
    let mut reader = SignalReader::new();
    let mut rows = 0;
    for f in discover(dir).unwrap() {
        rows += reader
            .read_file(&f, &mut |r| {
                tx.put_signal(&r).unwrap();
                Ok(())
            })
            .unwrap();
    }
    tx.commit().unwrap();
    rows
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let customers: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let months: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(36);
    let dir = std::path::PathBuf::from(args.get(3).cloned().unwrap_or_else(|| "target/bench/signals".into()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = holdfast_sim::SimConfig::new(7, customers, months);

    let t = Instant::now();
    let mut ds = holdfast_core::records::Dataset::default();
    let data = dir.join("data");
    let mut w = holdfast_signals::write::SignalWriter::create(&data).unwrap();
    holdfast_sim::signals::generate_with_signals(&cfg, &mut |r| ds.push(r), &mut |s| w.write(&s).unwrap());
    w.finish().unwrap();
    let bytes: u64 = discover(&data).unwrap().iter().map(|f| f.bytes).sum();
    println!("generate {customers} customers × {months} months with signals: {:.2} s ({:.1} MB of signal CSV)", t.elapsed().as_secs_f64(), bytes as f64 / 1e6);

    let db = dir.join("signals.db");
    let mut store = SqliteStore::open(&db).unwrap();
    let (t, c) = (Instant::now(), cpu());
    let rows = import(&mut store, &data);
    let s = t.elapsed().as_secs_f64();
    println!("import (parse + upsert + commit, one transaction): {rows} rows in {} = {:.0} rows/s wall, {:.0} rows/s CPU", took(t, c), rows as f64 / s, rows as f64 / (cpu() - c));
    let (t, c) = (Instant::now(), cpu());
    let again = import(&mut store, &data);
    let s = t.elapsed().as_secs_f64();
    println!("re-import (all unchanged): {again} rows in {} = {:.0} rows/s wall, {:.0} rows/s CPU", took(t, c), again as f64 / s, again as f64 / (cpu() - c));
    let (t, c) = (Instant::now(), cpu());
    let sig = store.load_signals().unwrap();
    println!("load signals into columns: {} {:?}", took(t, c), sig.counts().map(|(k, n)| format!("{k}={n}")));

    let snap = Snapshot::from_dataset(&ds).unwrap();
    drop(ds);
    let (t, c) = (Instant::now(), cpu());
    let run = holdfast_engine::run(&snap, &Settings::default(), &RunSpec::default()).unwrap();
    println!("engine run (ledger + revenue KPIs, for reference): {}, {} periods", took(t, c), run.periods.len());
    let (t, c) = (Instant::now(), cpu());
    let bill = Billing::from_run(&snap, &run, Currency::USD, 1.0, Some("country")).unwrap();
    println!("billing facts from the run (segmented by country): {}", took(t, c));
    let cfg = SignalSettings::default();
    let ctx = Ctx::new(&sig, &bill, &cfg);
    let (total, c0) = (Instant::now(), cpu());
    for sec in Section::ALL {
        let (t, c) = (Instant::now(), cpu());
        let n = compute(&ctx, sec).len();
        println!("  {:<10} {n:>7} results in {}", sec.as_str(), took(t, c));
    }
    let (t, c) = (Instant::now(), cpu());
    let th = holdfast_signals::themes::theme_stats(&ctx);
    println!("  themes     {:>7} themes  in {}", th.len(), took(t, c));
    println!("all signal KPIs, every month, total + by country: {}", took(total, c0));
}
