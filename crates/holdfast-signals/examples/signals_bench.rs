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
    let t = Instant::now();
    let rows = import(&mut store, &data);
    let s = t.elapsed().as_secs_f64();
    println!("import (parse + upsert + commit, one transaction): {rows} rows in {s:.2} s = {:.0} rows/s", rows as f64 / s);
    let t = Instant::now();
    let again = import(&mut store, &data);
    let s = t.elapsed().as_secs_f64();
    println!("re-import (all unchanged): {again} rows in {s:.2} s = {:.0} rows/s", again as f64 / s);
    let t = Instant::now();
    let sig = store.load_signals().unwrap();
    println!("load signals into columns: {:.2} s {:?}", t.elapsed().as_secs_f64(), sig.counts().map(|(k, n)| format!("{k}={n}")));

    let snap = Snapshot::from_dataset(&ds).unwrap();
    drop(ds);
    let t = Instant::now();
    let run = holdfast_engine::run(&snap, &Settings::default(), &RunSpec::default()).unwrap();
    println!("engine run (ledger + revenue KPIs, for reference): {:.2} s, {} periods", t.elapsed().as_secs_f64(), run.periods.len());
    let t = Instant::now();
    let bill = Billing::from_run(&snap, &run, Currency::USD, 1.0, Some("country")).unwrap();
    println!("billing facts from the run (segmented by country): {:.3} s", t.elapsed().as_secs_f64());
    let cfg = SignalSettings::default();
    let ctx = Ctx::new(&sig, &bill, &cfg);
    let total = Instant::now();
    for sec in Section::ALL {
        let t = Instant::now();
        let n = compute(&ctx, sec).len();
        println!("  {:<10} {n:>7} results in {:.3} s", sec.as_str(), t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let th = holdfast_signals::themes::theme_stats(&ctx);
    println!("  themes     {:>7} themes  in {:.3} s", th.len(), t.elapsed().as_secs_f64());
    println!("all signal KPIs, every month, total + by country: {:.2} s", total.elapsed().as_secs_f64());
}
