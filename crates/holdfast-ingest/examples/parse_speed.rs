//! Measures parse speed of invoice lines (the largest file of an import).
//!
//! `cargo run --release -p holdfast-ingest --example parse_speed -- [rows]` (default 1,000,000). Generates
//! invoices and their lines with [`DatasetWriter`]-shaped content in memory, then reads them back.
use holdfast_core::records::*;
use holdfast_core::time::format_instant;
use holdfast_ingest::{DatasetWriter, Format, Reader, SourceKind};
use std::path::Path;
use std::time::Instant;

fn main() {
    let rows: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let invoices = rows / 3 + 1;
    let mut inv = String::from("invoice_id,customer_id,currency,status,issued_at,total\n");
    for i in 0..invoices {
        let t = 1_700_000_000 + (i as i64 % 1000) * 86_400;
        inv.push_str(&format!("in_{i:09},cus_{:07},USD,paid,{},{}.{:02}\n", i / 12, format_instant(t), i % 5000, i % 100));
    }
    for with_currency in [true, false] {
        let mut text = String::from(if with_currency {
            "line_id,invoice_id,currency,subscription_id,item_id,plan_id,price_type,period_start,period_end,amount,discounts,tax_inclusive,quantity,prorated\n"
        } else {
            "line_id,invoice_id,subscription_id,item_id,plan_id,price_type,period_start,period_end,amount,discounts,tax_inclusive,quantity,prorated\n"
        });
        for i in 0..rows {
            let inv = i / 3;
            let start = 1_700_000_000 + (inv as i64 % 1000) * 86_400;
            let disc = if i % 10 == 0 { "co_launch:5.00" } else { "" };
            text.push_str(&format!(
                "il_{i:010},in_{inv:09},{}sub_{:08},si_{:08},price_{},recurring,{},{},{}.{:02},{disc},0.00,{},{}\n",
                if with_currency { "USD," } else { "" },
                inv / 12,
                inv / 12,
                i % 7,
                format_instant(start),
                format_instant(start + 30 * 86_400),
                i % 900,
                i % 100,
                1 + i % 5,
                i % 17 == 0
            ));
        }
        let mut reader = Reader::new();
        reader
            .read_stream(SourceKind::Invoices, Format::Csv, Path::new("invoices.csv"), inv.as_bytes(), &mut |_| Ok(()), &mut |_| {})
            .unwrap();
        let mut sum = 0i64;
        let t0 = Instant::now();
        let n = reader
            .read_stream(
                SourceKind::InvoiceLines,
                Format::Csv,
                Path::new("invoice_lines.csv"),
                text.as_bytes(),
                &mut |r| {
                    if let Record::InvoiceLine(l) = r {
                        sum += l.amount;
                    }
                    Ok(())
                },
                &mut |_| {},
            )
            .unwrap();
        let dt = t0.elapsed().as_secs_f64();
        println!(
            "invoice_lines.csv ({} currency column): {n} rows, {:.1} MB in {dt:.3} s = {:.2} M rows/s, {:.0} MB/s (checksum {sum})",
            if with_currency { "with" } else { "without" },
            text.len() as f64 / 1e6,
            n as f64 / dt / 1e6,
            text.len() as f64 / dt / 1e6
        );
    }

    // JSONL and the writer, on a smaller sample.
    let n = rows.min(300_000);
    let dir = std::env::temp_dir().join(format!("holdfast-parse-speed-{}", std::process::id()));
    let t0 = Instant::now();
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
    let wt = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let ds = holdfast_ingest::read_dataset(&dir).unwrap();
    let rt = t0.elapsed().as_secs_f64();
    println!(
        "jsonl: wrote {} records in {wt:.3} s ({:.2} M/s), read back in {rt:.3} s ({:.2} M/s)",
        ds.len(),
        ds.len() as f64 / wt / 1e6,
        ds.len() as f64 / rt / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
