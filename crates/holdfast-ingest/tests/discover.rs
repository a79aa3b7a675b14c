mod common;
use holdfast_ingest::{discover, read_dataset, Format, SourceKind};
use std::fs;

#[test]
fn discover_sorts_in_dependency_order_and_ignores_unrelated_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "invoice_lines.csv",
        "invoices.jsonl",
        "subscription_items.csv",
        "subscriptions.csv",
        "fx_rates.csv",
        "discounts.jsonl",
        "plans.csv",
        "customers.csv",
        "customers.jsonl",
        "README.md",
        ".hidden.csv",
        "notes.txt",
    ] {
        fs::write(dir.path().join(name), "x").unwrap();
    }
    fs::create_dir(dir.path().join("archive")).unwrap();
    fs::write(dir.path().join("archive").join("whatever.csv"), "x").unwrap();
    let files = discover(dir.path()).unwrap();
    let got: Vec<(SourceKind, Format)> = files.iter().map(|f| (f.kind, f.format)).collect();
    assert_eq!(
        got,
        [
            (SourceKind::Customers, Format::Csv),
            (SourceKind::Customers, Format::Jsonl),
            (SourceKind::Plans, Format::Csv),
            (SourceKind::Discounts, Format::Jsonl),
            (SourceKind::FxRates, Format::Csv),
            (SourceKind::Subscriptions, Format::Csv),
            (SourceKind::SubscriptionItems, Format::Csv),
            (SourceKind::Invoices, Format::Jsonl),
            (SourceKind::InvoiceLines, Format::Csv),
        ]
    );
    assert!(files.iter().all(|f| f.bytes == 1 && f.path.parent() == Some(dir.path())));
}

#[test]
fn unknown_stems_are_an_error_listing_the_known_names() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("plans.csv"), "x").unwrap();
    fs::write(dir.path().join("invoice_line.csv"), "x").unwrap();
    let e = discover(dir.path()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: \"invoice_line\" — expected a file named after a known kind: customers, plans, discounts, fx_rates, subscriptions, subscription_items, scheduled_items, invoices, invoice_lines (with extension .csv or .jsonl)",
            dir.path().join("invoice_line.csv").display()
        )
    );
}

#[test]
fn a_single_file_and_missing_paths() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Plans.CSV");
    fs::write(&p, "plan_id,currency,amount,price_type\np,EUR,9.5,one_time\n").unwrap();
    let files = discover(&p).unwrap();
    assert_eq!((files.len(), files[0].kind, files[0].format), (1, SourceKind::Plans, Format::Csv));
    assert_eq!(read_dataset(&p).unwrap().plans[0].amount, 950);
    let txt = dir.path().join("plans.txt");
    fs::write(&txt, "").unwrap();
    assert!(discover(&txt).unwrap_err().to_string().contains("expected a .csv or .jsonl file named after a known kind"));
    let missing = dir.path().join("nope");
    assert!(discover(&missing).unwrap_err().to_string().starts_with(&format!("{}: expected an existing file or directory", missing.display())));
    // An empty directory is an empty import.
    let empty = tempfile::tempdir().unwrap();
    assert!(discover(empty.path()).unwrap().is_empty());
}

#[test]
fn read_dataset_reads_invoices_before_lines_across_formats() {
    // Lines in CSV without a currency column, their invoices in JSONL: discover orders invoices first.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("invoices.jsonl"),
        "{\"invoice_id\":\"in_1\",\"customer_id\":\"c\",\"currency\":\"KWD\",\"status\":\"paid\",\"issued_at\":\"2025-01-01\",\"total\":1.5}\n",
    )
    .unwrap();
    fs::write(dir.path().join("invoice_lines.csv"), "line_id,invoice_id,price_type,amount\nl1,in_1,one_time,1.125\n").unwrap();
    let ds = read_dataset(dir.path()).unwrap();
    assert_eq!(ds.invoices[0].total, 1500);
    assert_eq!(ds.invoice_lines[0].amount, 1125);
}
