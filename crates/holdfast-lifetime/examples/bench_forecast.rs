//! Speed of `forecast` (docs/benchmarks.md):
//!
//!     cargo run --release -p holdfast-lifetime --example bench_forecast -- [customers] [months] [runs]
//!
//! Simulates a company (default 100,000 customers over 36 months), runs the engine once (not timed), then times
//! the monthly movement sums from the ledger and the 12-month forecast with normal_range.
use std::time::Instant;

use holdfast_core::snapshot::Snapshot;
use holdfast_engine::{run, RunSpec, Settings};
use holdfast_lifetime::forecast::{forecast, monthly_movements, normal_range};
use holdfast_sim::{generate_dataset, SimConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let months: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(36);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let snap = Snapshot::from_dataset(&generate_dataset(&SimConfig::new(42, customers, months))).expect("simulated data is valid");
    let r = run(&snap, &Settings::default(), &RunSpec::default()).expect("default settings are valid");
    println!("ledger rows: {}", r.ledger.len());
    let mut ms = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let m = monthly_movements(&r, &r.periods);
        let f = forecast(&m, 0, 12).expect("enough history");
        let n = normal_range(&m).expect("enough history");
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box((f, n));
    }
    ms.sort_by(f64::total_cmp);
    println!("movements + forecast + normal_range   min {:.1} ms  median {:.1} ms", ms[0], ms[ms.len() / 2]);
}
