//! The idempotency model: unchanged re-imports, reported updates, order independence, atomic imports.
mod common;

use common::*;
use holdfast_core::records::*;
use holdfast_core::snapshot::Snapshot;
use holdfast_store::{import_records, PutOutcome, SqliteStore, Store, MAX_REPORTED_UPDATES};
use proptest::prelude::*;

fn file_store(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
    SqliteStore::open(&dir.path().join(name)).unwrap()
}

#[test]
fn reimporting_the_same_data_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = file_store(&dir, "a.db");
    let data = bulk(50, 3);
    import_records(&mut store, data.records()).unwrap();
    let fp = store.content_fingerprint().unwrap();
    let counts = store.table_counts().unwrap();
    let before = dump(&store.load_snapshot().unwrap());

    let mut tx = store.begin_import().unwrap();
    for r in data.records() {
        assert_eq!(tx.put(&r).unwrap(), PutOutcome::Unchanged, "{r:?}");
    }
    let s = tx.commit().unwrap();
    assert_eq!((s.inserted(), s.updated(), s.unchanged()), (0, 0, data.len() as u64));
    for (t, n) in counts_of(&data) {
        assert_eq!(s.table(t).unwrap().unchanged, n, "{t}");
    }
    assert!(s.updated_keys.is_empty());
    assert_eq!(store.content_fingerprint().unwrap(), fp);
    assert_eq!(store.table_counts().unwrap(), counts);
    assert_eq!(dump(&store.load_snapshot().unwrap()), before);

    // Also after reopening the file.
    drop(store);
    let store = file_store(&dir, "a.db");
    assert_eq!(store.content_fingerprint().unwrap(), fp);
    assert_eq!(store.import_log().unwrap().len(), 2);
    assert_eq!(store.import_log().unwrap()[1].unchanged, data.len() as u64);
}

#[test]
fn changed_content_is_updated_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = file_store(&dir, "a.db");
    let data = sample();
    import_records(&mut store, data.records()).unwrap();
    let fp = store.content_fingerprint().unwrap();

    let mut changed = data.clone();
    changed.invoices[1].total += 1; // in_2
    changed.customers[1].attributes.insert("size".into(), "enterprise".into()); // cus_1 version of 2024-06-01
    changed.fx_rates[0].rate.0 += 1; // 2024-03-18 EUR/USD
    changed.invoice_lines[0].discounts.pop(); // il_1
    changed.subscription_items[1].valid_to = Some(ts("2025-01-01")); // si_1@2024-03-05T10:00:00Z
    // A new record alongside.
    changed.plans.push(PlanRecord { id: "price_new".into(), ..changed.plans[0].clone() });

    let s = import_records(&mut store, changed.records()).unwrap();
    assert_eq!(s.updated(), 5);
    assert_eq!(s.inserted(), 1);
    assert_eq!(s.unchanged(), data.len() as u64 - 5);
    assert_eq!(s.table("invoices").unwrap().updated, 1);
    assert_eq!(s.table("plans").unwrap().inserted, 1);
    let keys: Vec<(&str, &str)> = s.updated_keys.iter().map(|(t, k)| (*t, k.as_str())).collect();
    assert_eq!(
        keys,
        [
            ("customers", "cus_1@2024-06-01T00:00:00Z"),
            ("fx_rates", "2024-03-18 EUR/USD"),
            ("subscription_items", "si_1@2024-03-05T10:00:00Z"),
            ("invoices", "in_2"),
            ("invoice_lines", "il_1"),
        ]
    );
    assert_ne!(store.content_fingerprint().unwrap(), fp);
    assert_eq!(store.load_dataset().unwrap(), sorted(&changed));
    let snap = store.load_snapshot().unwrap();
    // invoices stand in key order in the snapshot (their ids are not kept)
    let pos = sorted(&data).invoices.iter().position(|i| i.id == "in_2").unwrap();
    assert_eq!(snap.invoices.total[pos], data.invoices[1].total + 1);
    assert_eq!(dump(&snap), dump(&Snapshot::from_dataset(&changed).unwrap()));

    // Changing it back restores the original fingerprint.
    let s = import_records(&mut store, data.records()).unwrap();
    assert_eq!(s.updated(), 5);
    assert_eq!(s.unchanged(), data.len() as u64 - 5);
    // The extra plan stays: imports never delete.
    assert_eq!(store.load_dataset().unwrap().plans.len(), data.plans.len() + 1);
    let mut with_plan = data.clone();
    with_plan.plans.push(changed.plans.last().unwrap().clone());
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = file_store(&fresh_dir, "b.db");
    import_records(&mut fresh, with_plan.records()).unwrap();
    assert_eq!(store.content_fingerprint().unwrap(), fresh.content_fingerprint().unwrap());
}

#[test]
fn updated_keys_are_capped_but_counts_are_not() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let data = bulk(40, 1);
    import_records(&mut store, data.records()).unwrap();
    let mut changed = data.clone();
    for l in &mut changed.invoice_lines {
        l.quantity += 1;
    }
    let s = import_records(&mut store, changed.records()).unwrap();
    assert_eq!(s.updated(), changed.invoice_lines.len() as u64);
    assert_eq!(s.updated_keys.len(), MAX_REPORTED_UPDATES);
    assert!(s.updated_keys.iter().all(|(t, _)| *t == "invoice_lines"));
}

#[test]
fn repeated_keys_within_one_import() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let data = sample();
    let inv = data.invoices[0].clone();
    let mut other = inv.clone();
    other.total = -1;
    let mut tx = store.begin_import().unwrap();
    assert_eq!(tx.put(&Record::Invoice(inv.clone())).unwrap(), PutOutcome::Inserted);
    assert_eq!(tx.put(&Record::Invoice(inv.clone())).unwrap(), PutOutcome::Unchanged);
    assert_eq!(tx.put(&Record::Invoice(other.clone())).unwrap(), PutOutcome::Updated);
    assert_eq!(tx.put(&Record::Invoice(other.clone())).unwrap(), PutOutcome::Unchanged);
    assert_eq!(tx.put(&Record::Invoice(inv.clone())).unwrap(), PutOutcome::Updated);
    let s = tx.commit().unwrap();
    assert_eq!(s.table("invoices").unwrap(), &holdfast_store::TableSummary { table: "invoices", inserted: 1, updated: 2, unchanged: 2 });
    assert_eq!(store.load_dataset().unwrap().invoices, [inv]);
}

#[test]
fn import_order_does_not_matter() {
    let data = bulk(300, 3);
    let dir = tempfile::tempdir().unwrap();

    let mut a = file_store(&dir, "a.db");
    import_records(&mut a, data.records()).unwrap();

    // Reverse order, in one import.
    let mut b = file_store(&dir, "b.db");
    let mut rev: Vec<Record> = data.records().collect();
    rev.reverse();
    import_records(&mut b, &rev).unwrap();

    // Shuffled, split over several imports (lines before their invoices, children before parents).
    let mut c = file_store(&dir, "c.db");
    let mut shuffled: Vec<Record> = data.records().collect();
    shuffle(&mut shuffled, 0x5eed);
    for chunk in shuffled.chunks(97) {
        import_records(&mut c, chunk).unwrap();
    }

    let fp = a.content_fingerprint().unwrap();
    let snap = dump(&a.load_snapshot().unwrap());
    for s in [&b, &c] {
        assert_eq!(s.content_fingerprint().unwrap(), fp);
        assert_eq!(dump(&s.load_snapshot().unwrap()), snap);
        assert_eq!(s.table_counts().unwrap(), a.table_counts().unwrap());
    }
    assert_eq!(snap, dump(&Snapshot::from_dataset(&data).unwrap()));
}

#[test]
fn fingerprint_distinguishes_content() {
    let fp_of = |d: &Dataset| {
        let mut s = SqliteStore::open_in_memory().unwrap();
        import_records(&mut s, d.records()).unwrap();
        s.content_fingerprint().unwrap()
    };
    let data = sample();
    let base = fp_of(&data);
    assert_eq!(base, fp_of(&data));
    let mut d = data.clone();
    d.customers[0].email = None;
    assert_ne!(fp_of(&d), base);
    let mut d = data.clone();
    d.fx_rates.pop();
    assert_ne!(fp_of(&d), base);
    assert_ne!(fp_of(&Dataset::default()), base);
    // The same record in a different table's position cannot collide with an empty table.
    let mut d = data.clone();
    d.plans.clear();
    assert_ne!(fp_of(&d), base);
}

#[test]
fn a_dropped_import_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = file_store(&dir, "a.db");
    let data = sample();
    import_records(&mut store, data.records()).unwrap();
    let counts = store.table_counts().unwrap();
    let fp = store.content_fingerprint().unwrap();
    let log = store.import_log().unwrap();

    {
        let big = bulk(200, 2);
        let mut tx = store.begin_import().unwrap();
        let mut changed = data.invoices[0].clone();
        changed.total = 0;
        assert_eq!(tx.put(&Record::Invoice(changed)).unwrap(), PutOutcome::Updated);
        for r in big.records() {
            tx.put(&r).unwrap();
        }
        // No commit: dropped, e.g. because a later file failed to parse.
    }
    assert_eq!(store.table_counts().unwrap(), counts);
    assert_eq!(store.content_fingerprint().unwrap(), fp);
    assert_eq!(store.import_log().unwrap(), log);

    // The store is still writable, and the rollback is durable across reopening.
    let s = import_records(&mut store, data.records()).unwrap();
    assert_eq!(s.unchanged(), data.len() as u64);
    drop(store);
    let store = file_store(&dir, "a.db");
    assert_eq!(store.table_counts().unwrap(), counts);
    assert_eq!(store.content_fingerprint().unwrap(), fp);
}

#[test]
fn an_import_abandoned_after_an_error_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = file_store(&dir, "a.db");
    import_records(&mut store, sample().records()).unwrap();
    let fp = store.content_fingerprint().unwrap();
    let counts = store.table_counts().unwrap();
    // `import_records` stops at the first error and drops its transaction; simulate a failing source.
    let result: Result<(), String> = (|| {
        let mut tx = store.begin_import().map_err(|e| e.to_string())?;
        for (i, r) in bulk(20, 2).records().enumerate() {
            if i == 30 {
                return Err("parse error in invoice_lines.csv".into());
            }
            tx.put(&r).map_err(|e| e.to_string())?;
        }
        tx.commit().map(|_| ()).map_err(|e| e.to_string())
    })();
    assert!(result.is_err());
    assert_eq!(store.content_fingerprint().unwrap(), fp);
    assert_eq!(store.table_counts().unwrap(), counts);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any permutation and any split into imports yields the same fingerprint and snapshot.
    #[test]
    fn any_order_and_batching_gives_the_same_store(seed in any::<u64>(), chunk in 1usize..40, dup in any::<bool>()) {
        let data = bulk(12, 2);
        let mut reference = SqliteStore::open_in_memory().unwrap();
        import_records(&mut reference, data.records()).unwrap();

        let mut recs: Vec<Record> = data.records().collect();
        if dup {
            // Duplicates (same content) anywhere must not matter either.
            let extra: Vec<Record> = recs.iter().step_by(3).cloned().collect();
            recs.extend(extra);
        }
        shuffle(&mut recs, seed);
        let mut store = SqliteStore::open_in_memory().unwrap();
        for c in recs.chunks(chunk) {
            import_records(&mut store, c).unwrap();
        }
        prop_assert_eq!(store.content_fingerprint().unwrap(), reference.content_fingerprint().unwrap());
        prop_assert_eq!(dump(&store.load_snapshot().unwrap()), dump(&reference.load_snapshot().unwrap()));
    }
}
