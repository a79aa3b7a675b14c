//! Format details: aliases, defaults, attributes, JSON value forms, embedded lines, progress.
mod common;
use common::*;
use holdfast_core::money::Currency;
use holdfast_core::records::*;
use holdfast_ingest::{Format, Reader, SourceKind};
use std::path::Path;

#[test]
fn customers_csv_extra_columns_are_attributes() {
    let text = "\u{FEFF}customer_id,external_ids,name,country,size,channel,csm_owner\nc1, a | b ||,Acme,DE,,direct,Ann\n";
    let recs = read("customers.csv", text).unwrap();
    let Record::Customer(c) = &recs[0] else { panic!() };
    assert_eq!(c.id, "c1");
    assert_eq!(c.external_ids, ["a", "b"]);
    assert_eq!(c.name.as_deref(), Some("Acme"));
    let attrs: Vec<(&str, &str)> = c.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(attrs, [("channel", "direct"), ("country", "DE"), ("csm_owner", "Ann")]);
}

#[test]
fn customers_jsonl_attributes_nested_or_top_level() {
    let text = "{\"id\":\"c1\",\"external_ids\":\"x|y\",\"attributes\":{\"country\":\"DE\",\"seats\":12},\"channel\":\"web\",\"size\":null}\n";
    let recs = read("customers.jsonl", text).unwrap();
    let Record::Customer(c) = &recs[0] else { panic!() };
    assert_eq!(c.external_ids, ["x", "y"]);
    assert_eq!(c.attributes.len(), 3);
    assert_eq!(c.attributes["seats"], "12");
    assert_eq!(c.attributes["channel"], "web");
    assert!(err("customers.jsonl", "{\"id\":\"c1\",\"attributes\":{\"country\":\"DE\"},\"country\":\"FR\"}\n")
        .starts_with("customers.jsonl:1: field `country`: \"\\\"FR\\\"\" — expected the same value as attributes.country"));
}

#[test]
fn defaults_aliases_and_value_forms() {
    let recs = read("plans.csv", "id,currency,amount,price_type,interval\np,usd,10,recurring,Month\n").unwrap();
    let Record::Plan(p) = &recs[0] else { panic!() };
    assert_eq!((p.currency, p.amount, p.interval, p.interval_count, p.usage_type), (Currency::USD, 1000, Some(Interval::Month), 1, UsageType::Licensed));
    let recs = read(
        "subscriptions.csv",
        "subscription_id,customer_id,status,cancel_at_period_end,trial_end\ns1,c,cancelled,YES,2025-01-01T01:00:00+01:00\ns2,c,active,0,\n",
    )
    .unwrap();
    let Record::Subscription(s) = &recs[0] else { panic!() };
    assert_eq!((s.status, s.cancel_at_period_end, s.trial_end), (SubscriptionStatus::Canceled, true, Some(ts("2025-01-01T00:00:00Z"))));
    let Record::Subscription(s) = &recs[1] else { panic!() };
    assert!(!s.cancel_at_period_end && s.trial_end.is_none());
    // JSON numbers for amounts, quantities and booleans as JSON values.
    let recs = read(
        "invoice_lines.jsonl",
        "{\"line_id\":\"l\",\"invoice_id\":\"i\",\"currency\":\"EUR\",\"price_type\":\"recurring\",\"amount\":49.99,\"quantity\":3,\"prorated\":true,\"discounts\":[{\"discount_id\":\"d\",\"amount\":5}],\"tax_inclusive\":null}\n",
    )
    .unwrap();
    let Record::InvoiceLine(l) = &recs[0] else { panic!() };
    assert_eq!((l.amount, l.quantity, l.prorated, l.tax_inclusive), (4999, 3, true, 0));
    assert_eq!(l.discounts, [LineDiscount { discount_id: "d".into(), amount: 500 }]);
    // Percent off and FX.
    let recs = read("discounts.csv", "discount_id,duration,percent_off\nd,forever,12.5\n").unwrap();
    let Record::Discount(d) = &recs[0] else { panic!() };
    assert_eq!(d.percent_off_milli, Some(12_500));
    let recs = read("fx_rates.jsonl", "{\"date\":\"2025-01-02\",\"base\":\"EUR\",\"quote\":\"USD\",\"rate\":1.04}\n").unwrap();
    let Record::FxRate(r) = &recs[0] else { panic!() };
    assert_eq!((r.day, r.rate.0), (20090, 1_040_000_000));
}

#[test]
fn jsonl_invoices_may_embed_their_lines() {
    let text = concat!(
        "{\"invoice_id\":\"in_1\",\"customer_id\":\"c\",\"currency\":\"USD\",\"status\":\"paid\",\"issued_at\":\"2025-01-01\",\"total\":\"60.00\",",
        "\"lines\":[{\"line_id\":\"l1\",\"price_type\":\"recurring\",\"amount\":\"50\",\"period_start\":\"2025-01-01\",\"period_end\":\"2025-02-01\"},",
        "{\"line_id\":\"l2\",\"invoice_id\":\"in_1\",\"price_type\":\"one_time\",\"amount\":\"10.00\"}]}\n",
        "{\"invoice_id\":\"in_2\",\"customer_id\":\"c\",\"currency\":\"JPY\",\"status\":\"open\",\"issued_at\":\"2025-02-01\",\"total\":100,\"lines\":[]}\n",
    );
    let mut reader = Reader::new();
    let recs = read_with(&mut reader, "invoices.jsonl", text.as_bytes()).unwrap();
    let kinds: Vec<SourceKind> = recs.iter().map(SourceKind::of).collect();
    assert_eq!(kinds, [SourceKind::Invoices, SourceKind::InvoiceLines, SourceKind::InvoiceLines, SourceKind::Invoices]);
    let Record::InvoiceLine(l) = &recs[1] else { panic!() };
    assert_eq!((l.invoice_id.as_str(), l.amount, l.period_end), ("in_1", 5000, Some(ts("2025-02-01"))));
    // The embedded lines are known to later files of the import: a conflicting copy is a duplicate error.
    let e = read_with(&mut reader, "invoice_lines.csv", b"line_id,invoice_id,price_type,amount\nl1,in_1,recurring,51\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.expected.contains("(invoices.jsonl:1)"), "{e}");
    // Errors inside embedded lines name the array element.
    assert_eq!(
        err("invoices.jsonl", "{\"invoice_id\":\"i\",\"customer_id\":\"c\",\"currency\":\"USD\",\"status\":\"paid\",\"issued_at\":\"2025-01-01\",\"total\":1,\"lines\":[{\"line_id\":\"l\",\"price_type\":\"one_time\",\"amount\":\"1.234\"}]}\n"),
        "invoices.jsonl:1: field `lines[0].amount`: \"1.234\" — expected an amount in major units of USD with at most 2 decimals, e.g. 49.99"
    );
    assert_eq!(
        err("invoices.jsonl", "{\"invoice_id\":\"i\",\"customer_id\":\"c\",\"currency\":\"USD\",\"status\":\"paid\",\"issued_at\":\"2025-01-01\",\"total\":1,\"lines\":[{\"line_id\":\"l\",\"invoice_id\":\"other\",\"price_type\":\"one_time\",\"amount\":\"1\"}]}\n"),
        "invoices.jsonl:1: field `lines[0].invoice_id`: \"other\" — expected \"i\" (the invoice this line is embedded in) or no value"
    );
}

#[test]
fn progress_is_reported_and_rows_counted() {
    let mut text = String::from("line_id,invoice_id,currency,price_type,amount\n");
    for i in 0..5000 {
        text.push_str(&format!("l{i},in_{},USD,recurring,{}.{:02}\n", i / 3, i, i % 100));
    }
    let mut seen = Vec::new();
    let mut n = 0;
    let rows = Reader::new()
        .read_stream(SourceKind::InvoiceLines, Format::Csv, Path::new("invoice_lines.csv"), text.as_bytes(), &mut |_| {
            n += 1;
            Ok(())
        }, &mut |b| seen.push(b))
        .unwrap();
    assert_eq!((rows, n), (5000, 5000));
    assert_eq!(*seen.last().unwrap(), text.len() as u64);
    assert!(seen.len() >= 3 && seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}

#[test]
fn sink_errors_stop_the_import() {
    let e = Reader::new()
        .read_stream(SourceKind::Plans, Format::Csv, Path::new("plans.csv"), &b"plan_id,currency,amount,price_type\np,USD,1,one_time\n"[..], &mut |_| {
            Err(holdfast_ingest::ImportError::at("plans.csv", 2, "a store that works"))
        }, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.to_string(), "plans.csv:2: expected a store that works");
}

#[test]
fn the_example_in_docs_formats_md_is_valid() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/formats.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut lines = doc.lines();
    let mut files = 0;
    while let Some(l) = lines.next() {
        let Some(name) = l.strip_prefix("<!-- file: ").and_then(|r| r.strip_suffix(" -->")) else { continue };
        assert!(lines.next().unwrap().starts_with("```"));
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        std::fs::write(dir.path().join(name), body.join("\n") + "\n").unwrap();
        files += 1;
    }
    assert_eq!(files, 9);
    let ds = holdfast_ingest::read_dataset(dir.path()).unwrap();
    let counts = [
        ds.customers.len(),
        ds.plans.len(),
        ds.discounts.len(),
        ds.fx_rates.len(),
        ds.subscriptions.len(),
        ds.subscription_items.len(),
        ds.invoices.len(),
        ds.invoice_lines.len(),
    ];
    assert_eq!(counts, [3, 3, 1, 2, 2, 3, 3, 4]);
    assert_eq!(ds.customers[1].attributes["size"], "201-1000");
    assert_eq!(ds.invoices[2].total, 99_800);
    let l1 = ds.invoice_lines.iter().find(|l| l.id == "il_0001_1").unwrap();
    assert_eq!(l1.discounts, [LineDiscount { discount_id: "co_launch".into(), amount: 4999 }]);
    // Each invoice's total is its lines minus their discounts.
    for inv in &ds.invoices {
        let sum: i64 = ds
            .invoice_lines
            .iter()
            .filter(|l| l.invoice_id == inv.id)
            .map(|l| l.amount - l.discounts.iter().map(|d| d.amount).sum::<i64>())
            .sum();
        assert_eq!(sum, inv.total, "{}", inv.id);
    }
}

#[test]
fn header_only_files_bom_crlf_and_no_final_newline() {
    assert!(read("plans.csv", "\u{FEFF}plan_id,currency,amount,price_type\r\n").unwrap().is_empty());
    let recs = read("plans.csv", "plan_id,currency,amount,price_type\r\np1,USD,1,one_time\r\n\r\np2,EUR,2.5,one_time").unwrap();
    assert_eq!(recs.len(), 2);
    assert!(read("plans.jsonl", "").unwrap().is_empty());
    let recs = read("plans.jsonl", "{\"plan_id\":\"p\",\"currency\":\"USD\",\"amount\":\"1\",\"price_type\":\"one_time\"}").unwrap();
    assert_eq!(recs.len(), 1);
}
