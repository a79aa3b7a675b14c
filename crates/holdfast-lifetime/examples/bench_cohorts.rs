//! Speed of the engine glue (docs/benchmarks.md):
//!
//!     cargo run --release -p holdfast-lifetime --example bench_cohorts -- [customers] [months] [runs]
//!
//! Simulates a company with holdfast-sim (default 100,000 customers over 36 months), builds the snapshot, runs
//! the engine once (ledger + KPIs, not timed here: see `holdfast bench`), then times the cohort matrix
//! (monthly cohorts, logo and revenue retention, pooled curves) and the LTV report (KM, sBG with profile
//! intervals, DEL/DERL, CLV and customer equity per billing interval).
use std::time::Instant;

use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::Calendar;
use holdfast_core::Grain;
use holdfast_engine::{run, RunSpec, Settings};
use holdfast_lifetime::cohorts::{cohort_matrix, ltv_report, LtvOptions};
use holdfast_sim::{generate_dataset, SimConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let months: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(36);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let t = Instant::now();
    let snap = Snapshot::from_dataset(&generate_dataset(&SimConfig::new(42, customers, months))).expect("simulated data is valid");
    println!("simulated {customers} customers × {months} months in {:.1} s", t.elapsed().as_secs_f64());
    let r = run(&snap, &Settings::default(), &RunSpec::default()).expect("default settings are valid");
    println!("ledger rows: {}", r.ledger.len());
    let time = |name: &str, f: &mut dyn FnMut() -> String| {
        let mut ms = Vec::new();
        let mut note = String::new();
        for _ in 0..runs {
            let t = Instant::now();
            note = f();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        println!("{name:<36} min {:>8.1} ms  median {:>8.1} ms   {note}", ms[0], ms[ms.len() / 2]);
    };
    let calendar = Calendar::utc(Grain::Month);
    time("cohort matrix (monthly cohorts)", &mut || format!("{} cells", cohort_matrix(&r, &calendar).cells.len()));
    time("LTV report (all billing intervals)", &mut || {
        let report = ltv_report(&r, &snap, &LtvOptions::default());
        report.intervals.iter().map(|i| format!("{}: {} customers", i.interval, i.customers)).collect::<Vec<_>>().join(", ")
    });
}
