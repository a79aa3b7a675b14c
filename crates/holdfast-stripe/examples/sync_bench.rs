//! Speed of `holdfast_stripe::sync` against the loopback fake Stripe (tests/support/fake_stripe.rs):
//! `cargo run --release -p holdfast-stripe --example sync_bench -- 10000` syncs N copies of the ChartMogul
//! basil history (1 customer, 3 subscriptions, 3 invoices each) into a fresh SQLite file, then runs an
//! incremental sync with nothing new. Client and server share the machine, so these are lower bounds of what
//! the client alone does; Stripe's own latency and rate limit (100 reads/s in live mode) dominate for real.
#[path = "../tests/support/fake_stripe.rs"]
mod fake_stripe;

use holdfast_store::SqliteStore;
use holdfast_stripe::sync::{sync, ApiKey, SyncOptions};
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

const KEY: &str = "sk_test_bench";

fn main() {
    let n: usize = std::env::args().nth(1).map(|a| a.parse().expect("N customers")).unwrap_or(10_000);
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cm_basil");
    let server = fake_stripe::FakeStripe::start(KEY);
    server.add(read(&fx.join("products.json")));
    server.add(read(&fx.join("prices.json")));
    // Per-customer objects, ids made unique per copy (prices and products stay shared).
    let templates: Vec<String> = ["customers.json", "subscriptions.json", "invoices.json"]
        .iter()
        .flat_map(|f| read(&fx.join(f))["data"].as_array().unwrap().iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .collect();
    let t = Instant::now();
    let mut objects = 0;
    for i in 0..n {
        for tpl in &templates {
            let mut s = tpl.clone();
            for p in ["\"cus_", "\"sub_", "\"si_", "\"in_", "\"il_"] {
                s = s.replace(p, &format!("{p}{i}x"));
            }
            server.add(serde_json::from_str(&s).unwrap());
            objects += 1;
        }
    }
    eprintln!("fake account: {n} customers, {objects} objects (built in {:.1}s)", t.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("bench.db")).unwrap();
    let mut opts = SyncOptions::new(ApiKey::new(KEY).unwrap());
    opts.base_url = server.base_url.clone();
    let t = Instant::now();
    let r = sync(&mut store, &opts, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let full = t.elapsed().as_secs_f64();
    println!(
        "full sync: {full:.2}s for {objects} objects in {} requests ({:.0} objects/s); {} records inserted; {:?}",
        r.requests,
        objects as f64 / full,
        r.import.inserted(),
        r.timings
    );
    let t = Instant::now();
    let r = sync(&mut store, &opts, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "incremental sync, nothing new: {:.2}s ({} requests; {} records unchanged, {} changed); {:?}",
        t.elapsed().as_secs_f64(),
        r.requests,
        r.import.unchanged(),
        r.import.inserted() + r.import.updated(),
        r.timings
    );
    // For comparison: the mapping of `holdfast import stripe` on the same objects as files.
    let export = tempfile::tempdir().unwrap();
    server.export(export.path());
    let t = Instant::now();
    let (data, _) = holdfast_stripe::read_dir_report(export.path()).unwrap();
    println!("read_dir_report (import stripe) of the same objects: {:.2}s, {} records", t.elapsed().as_secs_f64(), data.len());
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}
