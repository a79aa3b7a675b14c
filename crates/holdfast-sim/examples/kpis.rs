//! Prints the headline KPIs of a simulated company, recomputed from its records with a simple line-MRR model.
//! `cargo run --release -p holdfast-sim --example kpis -- [customers] [months] [seed]`
#[path = "../tests/common/mod.rs"]
mod common;

use holdfast_sim::{generate_dataset, SimConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let customers = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5_000);
    let months = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(36);
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    let cfg = SimConfig::new(seed, customers, months);
    let ds = generate_dataset(&cfg);
    let k = common::kpis(&ds, &cfg);
    println!("month  customers        MRR(USD)   ARPA   logo_churn  NRR12");
    for m in 0..k.mrr.len() {
        println!(
            "{m:>5} {:>10} {:>15.0} {:>6.0} {:>10.2}% {:>6.1}%",
            k.customers[m],
            k.mrr[m],
            k.mrr[m] / k.customers[m].max(1) as f64,
            100.0 * k.logo_churn[m],
            100.0 * k.nrr12[m]
        );
    }
    println!(
        "mean logo churn (from month 6): {:.2}%  mean NRR12: {:.1}%",
        100.0 * common::mean_from(&k.logo_churn, 6),
        100.0 * common::mean_from(&k.nrr12, 12)
    );
    for (k, v) in common::census(&ds, &cfg) {
        println!("  {k:<42} {v:>8}");
    }
    println!(
        "records: customers {} subs {} items {} invoices {} lines {} discounts {} fx {}",
        ds.customers.len(),
        ds.subscriptions.len(),
        ds.subscription_items.len(),
        ds.invoices.len(),
        ds.invoice_lines.len(),
        ds.discounts.len(),
        ds.fx_rates.len()
    );
}
