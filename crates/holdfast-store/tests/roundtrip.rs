//! put → load: every record kind and every field survives the store.
mod common;

use common::*;
use holdfast_core::fx::Rate;
use holdfast_core::records::*;
use holdfast_core::snapshot::{LINE_TAXED, Snapshot, LINE_DISCOUNTED, LINE_HAS_PERIOD, LINE_PRORATED, LINE_RECURRING, NONE};
use holdfast_core::Currency;
use holdfast_store::{import_records, PutOutcome, SqliteStore, Store};

fn file_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("holdfast.db")).unwrap();
    (dir, store)
}

#[test]
fn every_field_of_every_kind_round_trips() {
    let (_dir, mut store) = file_store();
    let data = sample();
    let mut tx = store.begin_import().unwrap();
    for r in data.records() {
        assert_eq!(tx.put(&r).unwrap(), PutOutcome::Inserted, "{r:?}");
    }
    let summary = tx.commit().unwrap();
    assert_eq!(summary.inserted(), data.len() as u64);
    assert_eq!((summary.updated(), summary.unchanged()), (0, 0));
    assert!(summary.updated_keys.is_empty());
    for (t, n) in counts_of(&data) {
        assert_eq!(summary.table(t).unwrap().inserted, n, "{t}");
    }

    assert_eq!(store.table_counts().unwrap(), counts_of(&data));
    // Full fidelity: every field of every record, in source-key order.
    assert_eq!(store.load_dataset().unwrap(), sorted(&data));
}

#[test]
fn snapshot_equals_the_in_memory_builder() {
    let (_dir, mut store) = file_store();
    let data = sample();
    import_records(&mut store, data.records()).unwrap();
    let snap = store.load_snapshot().unwrap();
    assert_eq!(dump(&snap), dump(&Snapshot::from_dataset(&data).unwrap()));
}

#[test]
fn snapshot_columns() {
    let (_dir, mut store) = file_store();
    import_records(&mut store, sample().records()).unwrap();
    let s = store.load_snapshot().unwrap();

    // Customers: key order, implicit customer from an invoice, versioned attributes.
    let c = &s.customers;
    let ids: Vec<&str> = (0..c.len() as u32).map(|i| c.ids.name(i)).collect();
    assert_eq!(ids, ["cus_1", "cus_2", "cus_日本", "cus_ghost"]);
    assert_eq!(c.name[0].as_deref(), Some("Acme GmbH"));
    assert_eq!(c.created_at[0].get(), Some(ts("2024-01-05T10:00:00Z")));
    assert_eq!(c.name[3], None);
    let size = c.attr_keys.get("size").unwrap();
    let cus1 = c.ids.get("cus_1").unwrap();
    assert_eq!(c.attr_values.name(c.attr_at(cus1, size, ts("2024-03-01")).unwrap()), "smb");
    assert_eq!(c.attr_values.name(c.attr_at(cus1, size, ts("2024-07-01")).unwrap()), "mid");
    let owner = c.attr_keys.get("csm_owner").unwrap();
    assert_eq!(c.attr_values.name(c.attr_at(cus1, owner, 0).unwrap()), "Zoë");

    // Plans.
    let p = &s.plans;
    let setup = p.ids.get("price_setup").unwrap() as usize;
    assert_eq!((p.currency[setup], p.amount[setup], p.price_type[setup], p.interval[setup]), (Currency::USD, 25_000, PriceType::OneTime, None));
    let pro = p.ids.get("price_pro_y").unwrap() as usize;
    assert_eq!((p.currency[pro], p.interval[pro], p.usage_type[pro]), (cur("JPY"), Some(Interval::Year), UsageType::Metered));

    // Discounts, including an id with the separator characters of the line encoding.
    let d = &s.discounts;
    let launch = d.ids.get("co_launch").unwrap() as usize;
    assert_eq!((d.duration[launch], d.percent_off_milli[launch], d.end[launch].get()), (DiscountDuration::Repeating, Some(20_000), Some(ts("2024-05-01"))));
    let odd = d.ids.get("co_fixed|odd:id\\").unwrap() as usize;
    assert_eq!((d.duration[odd], d.amount_off[odd]), (DiscountDuration::Forever, Some(500)));

    // Subscriptions.
    let su = &s.subscriptions;
    let s1 = su.ids.get("sub_1").unwrap() as usize;
    assert_eq!(su.status[s1], Some(SubscriptionStatus::Canceled));
    assert!(su.cancel_at_period_end[s1]);
    assert_eq!(su.pause_start[s1].get(), Some(ts("2024-04-01")));
    assert_eq!(su.ended_at[s1].get(), Some(ts("2024-09-19T10:00:00Z")));
    let s2 = su.ids.get("sub_2").unwrap() as usize;
    assert_eq!((su.status[s2], su.unpaid_since[s2].get()), (Some(SubscriptionStatus::PastDue), Some(ts("2024-07-01"))));
    assert_eq!(su.customer[s2], c.ids.get("cus_日本").unwrap());

    // Items: two versions of si_1 in valid_from order, unknown plan → NONE.
    let it = &s.items;
    assert_eq!(it.quantity, [3, 5, 1]);
    assert_eq!(it.valid_to[0].get(), Some(ts("2024-03-05T10:00:00Z")));
    assert_eq!(it.plan[2], NONE);

    // Invoices.
    let inv = &s.invoices;
    assert_eq!(inv.len(), 4);
    // invoice ids are not kept in a finished snapshot: invoices stand in key order (in_1 … in_4)
    assert!(inv.ids.is_empty());
    let i3 = 2;
    assert_eq!((inv.currency[i3], inv.status[i3], inv.total[i3], inv.amount_refunded(i3)), (cur("JPY"), InvoiceStatus::Uncollectible, 11_758, 14));
    assert_eq!(inv.customer[3], c.ids.get("cus_ghost").unwrap());

    // Lines in id order: flags, periods, money, discounts.
    let l = &s.lines;
    assert_eq!(l.len(), 5);
    assert_eq!(l.flags[0], LINE_RECURRING | LINE_HAS_PERIOD | LINE_DISCOUNTED | LINE_TAXED);
    assert_eq!(l.flags[1], 0);
    assert_eq!(l.flags[2], LINE_RECURRING | LINE_HAS_PERIOD | LINE_PRORATED | LINE_DISCOUNTED | LINE_TAXED);
    assert_eq!(l.flags[4], LINE_RECURRING, "a line with only a period start has no period");
    assert_eq!((l.amount[2], l.tax_inclusive(2), l.quantity[2]), (-4_100, -650, 2));
    assert_eq!((l.period_start[0], l.period_end(0)), (ts("2024-02-05T10:00:00Z"), ts("2024-03-05T10:00:00Z")));
    let unlisted = d.ids.get("co_unlisted").unwrap();
    assert_eq!(l.discounts, [(0, launch as u32, 2_940), (0, odd as u32, 500), (2, unlisted, -10)]);
    assert_eq!(l.subscription[1], NONE);
    assert_ne!(l.subscription[3], NONE, "recurring line without subscription gets an implicit one");

    // FX rates in (day, base, quote) order, exact 9-decimal rates.
    assert_eq!(
        s.fx_rates,
        [
            (19_799, Currency::GBP, Currency::EUR, Rate::parse("1.16").unwrap()),
            (19_800, Currency::EUR, Currency::USD, Rate::parse("1.0873").unwrap()),
            (19_800, Currency::USD, cur("JPY"), Rate(148_123_456_789)),
            (19_801, Currency::EUR, Currency::USD, Rate::parse("1.09").unwrap()),
        ]
    );
}

#[test]
fn large_tables_load_across_batches() {
    // More rows than one loading batch, so batching and buffer reuse are exercised.
    let data = bulk(1_500, 3);
    let (_dir, mut store) = file_store();
    import_records(&mut store, data.records()).unwrap();
    let snap = store.load_snapshot().unwrap();
    assert_eq!(snap.lines.len(), data.invoice_lines.len());
    assert_eq!(dump(&snap), dump(&Snapshot::from_dataset(&data).unwrap()));
    assert_eq!(store.load_dataset().unwrap(), sorted(&data));
}

#[test]
fn in_memory_store_works_too() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    assert!(store.path().is_none());
    let data = sample();
    import_records(&mut store, data.records()).unwrap();
    assert_eq!(dump(&store.load_snapshot().unwrap()), dump(&Snapshot::from_dataset(&data).unwrap()));
}

#[test]
fn empty_store_loads_an_empty_snapshot() {
    let (_dir, store) = file_store();
    let s = store.load_snapshot().unwrap();
    assert!(s.lines.is_empty() && s.customers.is_empty() && s.fx_rates.is_empty());
    assert!(store.table_counts().unwrap().iter().all(|(_, n)| *n == 0));
    assert_eq!(store.load_dataset().unwrap(), Dataset::default());
}

#[test]
fn a_line_without_its_invoice_is_reported_not_panicked() {
    let (_dir, mut store) = file_store();
    let mut data = sample();
    data.invoice_lines[0].invoice_id = "in_missing".into();
    import_records(&mut store, data.records()).unwrap();
    let err = store.load_snapshot().unwrap_err();
    assert!(err.to_string().contains("in_missing"), "{err}");
    // The store stays usable.
    assert_eq!(store.load_dataset().unwrap().invoice_lines.len(), data.invoice_lines.len());
}

#[test]
fn undecodable_stored_values_are_corruption_errors() {
    let (_dir, mut store) = file_store();
    import_records(&mut store, sample().records()).unwrap();
    let conn = store.connection();
    conn.execute("UPDATE invoices SET status = 'bogus' WHERE id = 'in_2'", []).unwrap();
    let err = store.load_snapshot().unwrap_err();
    assert!(matches!(err, holdfast_store::StoreError::Corrupt(_)) && err.to_string().contains("bogus"), "{err}");

    conn.execute("UPDATE invoices SET status = 'paid' WHERE id = 'in_2'", []).unwrap();
    conn.execute("UPDATE customers SET name = CAST(X'FF' AS TEXT) WHERE id = 'cus_2'", []).unwrap();
    let err = store.load_snapshot().unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");

    conn.execute("UPDATE customers SET name = NULL WHERE id = 'cus_2'", []).unwrap();
    conn.execute("UPDATE invoice_lines SET discounts = 'no amount' WHERE id = 'il_1'", []).unwrap();
    let err = store.load_snapshot().unwrap_err();
    assert!(err.to_string().contains("invalid line discounts"), "{err}");
}
