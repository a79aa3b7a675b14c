//! Bulk-load benchmark of the SQLite store: puts of synthetic invoice lines into a fresh file, a re-import
//! of the same records (all unchanged), then `load_snapshot`.
//!
//! ```text
//! cargo run --release -p holdfast-store --example bulk_load -- [LINES] [DB_PATH] [--puts-only]
//! cargo run --release -p holdfast-store --example bulk_load -- load DB_PATH
//! ```
//! `LINES` defaults to 1,000,000; `DB_PATH` to a file in a temporary directory (give a path to keep the
//! file for `load`). `--puts-only` skips the load measurements; `load DB_PATH` only times `load_snapshot` of
//! an existing store.
use holdfast_core::records::*;
use holdfast_core::Currency;
use holdfast_store::{PutOutcome, SqliteStore, Store};
use std::time::Instant;

const LINES_PER_INVOICE: usize = 4;
const INVOICES_PER_CUSTOMER: usize = 12;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let puts_only = all.iter().any(|a| a == "--puts-only");
    let mut args = all.into_iter().filter(|a| !a.starts_with("--")).peekable();
    if args.peek().map(String::as_str) == Some("load") {
        // `bulk_load load DB_PATH`: only time load_snapshot of an existing store.
        let path = std::path::PathBuf::from(args.nth(1).ok_or("usage: bulk_load load DB_PATH")?);
        let store = SqliteStore::open(&path)?;
        for round in 1..=3 {
            let t = Instant::now();
            let snap = store.load_snapshot()?;
            let secs = t.elapsed().as_secs_f64();
            println!("load_snapshot #{round}: {} lines in {:.2}s ({:.0} lines/s)", snap.lines.len(), secs, snap.lines.len() as f64 / secs);
        }
        return Ok(());
    }
    let n_lines: usize = args.next().map(|s| s.replace('_', "").parse()).transpose()?.unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = args.next().map(std::path::PathBuf::from).unwrap_or_else(|| dir.path().join("bench.db"));
    let _ = std::fs::remove_file(&path);

    let n_invoices = n_lines.div_ceil(LINES_PER_INVOICE);
    let n_customers = n_invoices.div_ceil(INVOICES_PER_CUSTOMER);
    let t0 = Instant::now();
    let (head, lines) = generate(n_customers, n_invoices, n_lines);
    println!(
        "generated {} customers, {} subscriptions, {} invoices, {} lines in {:.2?}",
        n_customers,
        n_customers,
        n_invoices,
        lines.len(),
        t0.elapsed()
    );

    let mut store = SqliteStore::open(&path)?;

    // Headers (customers, subscriptions, invoices) in their own import, untimed for the line rate.
    let t = Instant::now();
    let mut tx = store.begin_import()?;
    for r in &head {
        tx.put(r)?;
    }
    tx.commit()?;
    let head_secs = t.elapsed().as_secs_f64();
    println!("put {} header records (customers, subscriptions, invoices): {:.2}s = {:.0}/s", head.len(), head_secs, head.len() as f64 / head_secs);

    let t = Instant::now();
    let mut tx = store.begin_import()?;
    for r in &lines {
        let o = tx.put(r)?;
        debug_assert_eq!(o, PutOutcome::Inserted);
    }
    let put_secs = t.elapsed().as_secs_f64();
    tx.commit()?;
    let total_secs = t.elapsed().as_secs_f64();
    println!(
        "put {} invoice lines into a fresh file: {:.2}s puts ({:.0} puts/s), {:.2}s incl. commit ({:.0} lines/s)",
        lines.len(),
        put_secs,
        lines.len() as f64 / put_secs,
        total_secs,
        lines.len() as f64 / total_secs
    );

    let t = Instant::now();
    let mut tx = store.begin_import()?;
    for r in &lines {
        let o = tx.put(r)?;
        debug_assert_eq!(o, PutOutcome::Unchanged);
    }
    let s = tx.commit()?;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(s.unchanged(), lines.len() as u64);
    println!("re-import of the same {} lines (all unchanged): {:.2}s ({:.0} puts/s)", lines.len(), secs, lines.len() as f64 / secs);

    if puts_only {
        return Ok(());
    }
    drop(store);
    let size = std::fs::metadata(&path)?.len();
    println!("database file: {:.1} MiB", size as f64 / 1048576.0);
    let store = SqliteStore::open(&path)?;
    for round in 1..=3 {
        let t = Instant::now();
        let snap = store.load_snapshot()?;
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(snap.lines.len(), lines.len());
        println!(
            "load_snapshot #{round}: {} lines, {} invoices in {:.2}s ({:.0} lines/s; 9M lines would take ~{:.1}s)",
            snap.lines.len(),
            snap.invoices.len(),
            secs,
            lines.len() as f64 / secs,
            secs * 9_000_000.0 / lines.len() as f64
        );
    }
    let t = Instant::now();
    let fp = store.content_fingerprint()?;
    println!("content_fingerprint {fp:#018x} in {:.2?}", t.elapsed());
    Ok(())
}

/// Deterministic synthetic data: a customer per 12 invoices, one subscription per customer, 4 lines per
/// invoice (one recurring line per item, some with a discount, some one-time).
fn generate(n_customers: usize, n_invoices: usize, n_lines: usize) -> (Vec<Record>, Vec<Record>) {
    let mut head = Vec::with_capacity(2 * n_customers + n_invoices);
    let day = 86_400i64;
    let t0 = 1_704_067_200i64; // 2024-01-01
    for c in 0..n_customers {
        head.push(Record::Customer(CustomerRecord {
            id: format!("cus_{c:08}"),
            name: Some(format!("Customer {c}")),
            created_at: Some(t0),
            attributes: [("country".to_string(), ["DE", "US", "FR"][c % 3].to_string())].into_iter().collect(),
            ..Default::default()
        }));
        head.push(Record::Subscription(SubscriptionRecord {
            id: format!("sub_{c:08}"),
            customer_id: format!("cus_{c:08}"),
            status: SubscriptionStatus::Active,
            currency: Some(Currency::EUR),
            created_at: Some(t0),
            started_at: Some(t0),
            trial_start: None,
            trial_end: None,
            cancel_at_period_end: false,
            cancel_at: None,
            canceled_at: None,
            ended_at: None,
            unpaid_since: None,
            pause_start: None,
            pause_end: None,
            cancellation_reason: None,
        }));
    }
    for i in 0..n_invoices {
        let c = i / INVOICES_PER_CUSTOMER;
        let month = (i % INVOICES_PER_CUSTOMER) as i64;
        head.push(Record::Invoice(InvoiceRecord {
            id: format!("in_{i:09}"),
            customer_id: format!("cus_{c:08}"),
            currency: Currency::EUR,
            status: InvoiceStatus::Paid,
            issued_at: t0 + month * 30 * day,
            due_at: Some(t0 + month * 30 * day + 14 * day),
            paid_at: Some(t0 + month * 30 * day + 3 * day),
            total: 10_000,
            amount_paid: 10_000,
            amount_refunded: 0,
        }));
    }
    let mut lines = Vec::with_capacity(n_lines);
    for l in 0..n_lines {
        let i = l / LINES_PER_INVOICE;
        let c = i / INVOICES_PER_CUSTOMER;
        let k = l % LINES_PER_INVOICE;
        let month = (i % INVOICES_PER_CUSTOMER) as i64;
        let recurring = k != 3;
        lines.push(Record::InvoiceLine(InvoiceLineRecord {
            id: format!("il_{l:010}"),
            invoice_id: format!("in_{i:09}"),
            subscription_id: recurring.then(|| format!("sub_{c:08}")),
            item_id: recurring.then(|| format!("si_{c:08}_{k}")),
            plan_id: Some(format!("price_{}", (c + k) % 50)),
            price_type: if recurring { PriceType::Recurring } else { PriceType::OneTime },
            period_start: recurring.then_some(t0 + month * 30 * day),
            period_end: recurring.then_some(t0 + (month + 1) * 30 * day),
            amount: 2_500 + (l % 1000) as i64,
            discounts: if l % 10 == 0 {
                vec![LineDiscount { discount_id: format!("co_{}", c % 20), amount: 250 }]
            } else {
                vec![]
            },
            tax_inclusive: 0,
            quantity: 1 + (l % 5) as i64,
            prorated: l % 17 == 0,
        }));
    }
    (head, lines)
}
