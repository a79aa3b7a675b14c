mod common;
use common::*;
use holdfast_core::records::Record;
use holdfast_ingest::{discover, read_dataset, write_dataset, DatasetWriter, Format, SourceKind};

#[test]
fn round_trip_csv_and_jsonl() {
    let ds = full_dataset();
    for format in [Format::Csv, Format::Jsonl] {
        let dir = tempfile::tempdir().unwrap();
        write_dataset(&ds, dir.path(), format).unwrap();
        let back = read_dataset(dir.path()).unwrap();
        assert_eq!(back, ds, "{format}");
        // one file per non-empty kind
        let files = discover(dir.path()).unwrap();
        assert_eq!(files.len(), holdfast_ingest::SourceKind::ALL.len());
        assert!(files.iter().all(|f| f.format == format && f.bytes > 0));
    }
}

#[test]
fn round_trip_through_both_formats_and_rewrites_replace_old_files() {
    let ds = full_dataset();
    let dir = tempfile::tempdir().unwrap();
    write_dataset(&ds, dir.path(), Format::Csv).unwrap();
    let csv = read_dataset(dir.path()).unwrap();
    // Rewriting as JSONL into the same directory removes the CSV files.
    write_dataset(&csv, dir.path(), Format::Jsonl).unwrap();
    assert!(discover(dir.path()).unwrap().iter().all(|f| f.format == Format::Jsonl));
    assert_eq!(read_dataset(dir.path()).unwrap(), ds);
    // An empty dataset writes no file and reads back empty.
    let empty = holdfast_core::records::Dataset::default();
    write_dataset(&empty, dir.path(), Format::Csv).unwrap();
    assert!(discover(dir.path()).unwrap().is_empty());
    assert_eq!(read_dataset(dir.path()).unwrap(), empty);
}

#[test]
fn streaming_writer_needs_invoices_before_lines() {
    let ds = full_dataset();
    let dir = tempfile::tempdir().unwrap();
    let mut w = DatasetWriter::create(dir.path(), Format::Csv).unwrap();
    let e = w.write(&Record::InvoiceLine(ds.invoice_lines[0].clone())).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    w.write(&Record::Invoice(ds.invoices[0].clone())).unwrap();
    w.write(&Record::InvoiceLine(ds.invoice_lines[0].clone())).unwrap();
    w.finish().unwrap();
    let back = read_dataset(dir.path()).unwrap();
    assert_eq!(back.invoice_lines, vec![ds.invoice_lines[0].clone()]);
}

#[test]
fn csv_writer_output_is_the_documented_form() {
    let ds = full_dataset();
    let dir = tempfile::tempdir().unwrap();
    write_dataset(&ds, dir.path(), Format::Csv).unwrap();
    let lines = std::fs::read_to_string(dir.path().join("invoice_lines.csv")).unwrap();
    let mut it = lines.lines();
    assert_eq!(
        it.next().unwrap(),
        "line_id,invoice_id,currency,subscription_id,item_id,plan_id,price_type,period_start,period_end,amount,discounts,tax_inclusive,quantity,prorated"
    );
    assert_eq!(
        it.next().unwrap(),
        "il_1,in_1,USD,sub_1,si_1,price_pro_m,recurring,2024-01-15T00:00:00Z,2024-04-15T00:00:00Z,349.93,co_pct:43.74|co:legacy:1.22,55.87,7,true"
    );
    let fx = std::fs::read_to_string(dir.path().join("fx_rates.csv")).unwrap();
    assert_eq!(fx, "date,base,quote,rate\n2024-01-02,EUR,USD,1.0934\n2024-01-02,USD,JPY,141.123456789\n");
    let cus = std::fs::read_to_string(dir.path().join("customers.csv")).unwrap();
    assert!(cus.starts_with("customer_id,external_ids,name,email,domain,created_at,valid_from,channel,country,csm_owner,size\n"));
    assert_eq!(SourceKind::FxRates.columns(), ["date", "base", "quote", "rate"]);
}
