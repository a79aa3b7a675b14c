//! The snapshot image beside a database file: used when current, ignored when stale or damaged.
mod common;
use common::*;
use holdfast_core::records::Record;
use holdfast_store::sqlite::snapshot_cache_path;
use holdfast_store::{import_records, SqliteStore, Store};

#[test]
fn cache_is_written_used_invalidated_by_imports_and_survives_damage() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let mut store = SqliteStore::open(&db).unwrap();
    let data = sample();
    let (first, rest) = data.invoice_lines.split_at(data.invoice_lines.len() / 2);
    let mut part = data.clone();
    part.invoice_lines = first.to_vec();
    import_records(&mut store, part.records()).unwrap();
    let cache = snapshot_cache_path(&db);
    assert!(!cache.exists());
    let a = dump(&store.load_snapshot().unwrap());
    assert!(cache.exists(), "first load writes the cache");
    assert_eq!(a, dump(&store.load_snapshot().unwrap()), "cached load equals the table load");
    // a new import makes the cache stale
    import_records(&mut store, rest.iter().cloned().map(Record::InvoiceLine)).unwrap();
    let b = dump(&store.load_snapshot().unwrap());
    assert_ne!(a, b);
    let fresh = SqliteStore::open_in_memory().unwrap();
    let mut fresh = fresh;
    import_records(&mut fresh, data.records()).unwrap();
    assert_eq!(b, dump(&fresh.load_snapshot().unwrap()), "after the second import the snapshot has everything");
    // damage: truncated and garbage images are ignored
    let bytes = std::fs::read(&cache).unwrap();
    std::fs::write(&cache, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(b, dump(&store.load_snapshot().unwrap()));
    std::fs::write(&cache, b"not a snapshot at all").unwrap();
    assert_eq!(b, dump(&store.load_snapshot().unwrap()));
    assert_eq!(std::fs::read(&cache).unwrap().len(), bytes.len(), "rewritten");
}
