//! Measures how fast invoice lines (the largest file of an import) are parsed.
//!
//! `cargo run --release -p holdfast-ingest --example parse_speed -- [rows]` (default 1,000,000). Writes
//! `invoices.csv` and `invoice_lines.csv` with realistic ids, instants, amounts and discounts into a
//! temporary directory (once with, once without the lines' `currency` column), reads them back with a
//! [`Reader`] as `holdfast import` does, and prints rows per second, wall-clock and, on Linux, CPU time of
//! the reading thread (a fairer number on a busy machine). Then the same for JSONL, on fewer rows.
use holdfast_core::records::*;
use holdfast_core::time::format_instant;
use holdfast_ingest::{discover, DatasetWriter, Format, Reader, SourceKind};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// CPU time of this thread in ns (Linux), else 0.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|t| t.parse().ok()))
        .unwrap_or(0)
}

fn measure(dir: &Path, kind: SourceKind) -> (u64, f64, f64, f64) {
    let mut reader = Reader::new();
    let mut out = (0, 0.0, 0.0, 0.0);
    for f in discover(dir).unwrap() {
        let (t, c) = (Instant::now(), cpu_ns());
        let mut sum = 0i64;
        let n = reader
            .read_file(
                &f,
                &mut |r| {
                    if let Record::InvoiceLine(l) = &r {
                        sum = sum.wrapping_add(l.amount);
                    }
                    Ok(())
                },
                &mut |_| {},
            )
            .unwrap();
        if f.kind == kind {
            out = (n, f.bytes as f64 / 1e6, t.elapsed().as_secs_f64(), (cpu_ns() - c) as f64 / 1e9);
        }
        std::hint::black_box(sum);
    }
    out
}

fn report(what: &str, (n, mb, wall, cpu): (u64, f64, f64, f64)) {
    print!("{what}: {n} rows, {mb:.0} MB: wall {wall:.2} s = {:.2} M rows/s", n as f64 / wall / 1e6);
    if cpu > 0.0 {
        print!(", cpu {cpu:.2} s = {:.2} M rows/s", n as f64 / cpu / 1e6);
    }
    println!();
}

fn main() {
    let rows: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let base = std::env::temp_dir().join(format!("holdfast-parse-speed-{}", std::process::id()));
    let invoices = rows / 3 + 1;
    let mut inv = String::from("invoice_id,customer_id,currency,status,issued_at,due_at,paid_at,total,amount_paid,amount_refunded\n");
    for i in 0..invoices {
        let t = 1_700_000_000 + (i as i64 % 1000) * 86_400 + (i as i64 % 7919);
        let _ = writeln!(
            inv,
            "in_{:06}_{:04},cus_{:06},USD,paid,{},{},{},{}.{:02},{}.{:02},0.00",
            i / 12,
            i % 12,
            i / 12,
            format_instant(t),
            format_instant(t + 30 * 86_400),
            format_instant(t + 600),
            i % 5000,
            i % 100,
            i % 5000,
            i % 100
        );
    }
    for with_currency in [true, false] {
        let dir = base.join(if with_currency { "with" } else { "without" });
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("invoices.csv"), &inv).unwrap();
        let mut text = String::with_capacity(rows * 170);
        text.push_str("line_id,invoice_id,");
        if with_currency {
            text.push_str("currency,");
        }
        text.push_str("subscription_id,item_id,plan_id,price_type,period_start,period_end,amount,discounts,tax_inclusive,quantity,prorated\n");
        for i in 0..rows {
            let iv = i / 3;
            let start = 1_700_000_000 + (iv as i64 % 1000) * 86_400 + (iv as i64 % 7919);
            let _ = writeln!(
                text,
                "il_{:06}_{:04}_{},in_{:06}_{:04},{}sub_{:06}_1,si_{:06}_1_{},price_scale_monthly_usd,recurring,{},{},{}.{:02},{},0.00,{},{}",
                iv / 12,
                iv % 12,
                i % 3,
                iv / 12,
                iv % 12,
                if with_currency { "USD," } else { "" },
                iv / 12,
                iv / 12,
                i % 3,
                format_instant(start),
                format_instant(start + 30 * 86_400),
                i % 900,
                i % 100,
                if i % 10 == 0 { "di_000000_1:5.00" } else { "" },
                1 + i % 5,
                i % 17 == 0
            );
        }
        std::fs::write(dir.join("invoice_lines.csv"), &text).unwrap();
        report(
            &format!("invoice_lines.csv ({} currency column)", if with_currency { "with" } else { "without" }),
            measure(&dir, SourceKind::InvoiceLines),
        );
    }

    // JSONL, written by the DatasetWriter.
    let n = rows.min(300_000);
    let dir = base.join("jsonl");
    let mut w = DatasetWriter::create(&dir, Format::Jsonl).unwrap();
    for i in 0..n / 3 + 1 {
        w.write(&Record::Invoice(InvoiceRecord {
            id: format!("in_{i:09}"),
            customer_id: format!("cus_{:07}", i / 12),
            currency: holdfast_core::Currency::USD,
            status: InvoiceStatus::Paid,
            issued_at: 1_700_000_000,
            due_at: None,
            paid_at: None,
            total: 100,
            amount_paid: 100,
            amount_refunded: 0,
        }))
        .unwrap();
    }
    for i in 0..n {
        w.write(&Record::InvoiceLine(InvoiceLineRecord {
            id: format!("il_{i:010}"),
            invoice_id: format!("in_{:09}", i / 3),
            subscription_id: Some(format!("sub_{:08}", i / 36)),
            item_id: Some(format!("si_{:08}", i / 36)),
            plan_id: Some("price_1".into()),
            price_type: PriceType::Recurring,
            period_start: Some(1_700_000_000),
            period_end: Some(1_702_592_000),
            amount: 4999,
            discounts: vec![],
            tax_inclusive: 0,
            quantity: 1,
            prorated: false,
        }))
        .unwrap();
    }
    w.finish().unwrap();
    report("invoice_lines.jsonl", measure(&dir, SourceKind::InvoiceLines));
    let _ = std::fs::remove_dir_all(&base);
}
