//! Record counts and generation speed.
//! `cargo run --release -p holdfast-sim --example sizes -- [customers=100000] [months=36] [seed=42]`
use holdfast_core::records::Record;
use holdfast_sim::{generate, SimConfig};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let customers = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let months = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(36);
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    let cfg = SimConfig::new(seed, customers, months);
    let mut n = [0usize; 9];
    let t0 = Instant::now();
    generate(&cfg, &mut |r| {
        let k = match r {
            Record::Customer(_) => 0,
            Record::Plan(_) => 1,
            Record::Subscription(_) => 2,
            Record::SubscriptionItem(_) => 3,
            Record::Invoice(_) => 4,
            Record::InvoiceLine(_) => 5,
            Record::Discount(_) => 6,
            Record::FxRate(_) => 7,
            Record::ScheduledItem(_) => 8,
        };
        n[k] += 1;
    });
    let secs = t0.elapsed().as_secs_f64();
    let total: usize = n.iter().sum();
    println!("{customers} customers × {months} months, seed {seed}");
    for (name, c) in [
        "customers",
        "plans",
        "subscriptions",
        "subscription_items",
        "invoices",
        "invoice_lines",
        "discounts",
        "fx_rates",
        "scheduled_items",
    ]
    .iter()
    .zip(n)
    {
        println!("  {name:<20} {c:>12}");
    }
    println!("  {:<20} {total:>12}", "total records");
    println!(
        "generated in {secs:.2} s: {:.2} M invoice lines/s, {:.2} M records/s",
        n[5] as f64 / secs / 1e6,
        total as f64 / secs / 1e6
    );
}
