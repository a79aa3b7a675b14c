//! Opening stores: URLs, WAL mode, migrations, refusing newer schemas.
mod common;

use common::*;
use holdfast_store::sqlite::{MIGRATIONS, SCHEMA_VERSION};
use holdfast_store::{import_records, open, SqliteStore, Store, StoreError};

#[test]
fn a_new_file_gets_the_current_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.path(), Some(path.as_path()));
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, MIGRATIONS.len() as i64);
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = raw.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut store = SqliteStore::open(&path).unwrap();
    import_records(&mut store, sample().records()).unwrap();
    let fp = store.content_fingerprint().unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.content_fingerprint().unwrap(), fp);
    assert_eq!(store.load_dataset().unwrap(), sorted(&sample()));
}

#[test]
fn an_older_store_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // A store as version 1 left it: record tables, no import log, with a customer row in it.
    let old = SqliteStore::open_at_version(&path, 1).unwrap();
    assert_eq!(old.schema_version().unwrap(), 1);
    old.connection()
        .execute(
            "INSERT INTO customers (id, valid_from, name, content_hash) VALUES ('cus_old', ?1, 'Old Co', 42)",
            [i64::MIN],
        )
        .unwrap();
    let has_log = |c: &rusqlite::Connection| -> bool {
        c.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'imports'", [], |r| r.get::<_, i64>(0)).unwrap() == 1
    };
    assert!(!has_log(old.connection()));
    drop(old);

    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(has_log(store.connection()));
    let snap = store.load_snapshot().unwrap();
    assert_eq!(snap.customers.ids.name(0), "cus_old");
    assert_eq!(snap.customers.name[0].as_deref(), Some("Old Co"));
    // The migrated store takes imports as usual, and logs them.
    import_records(&mut store, sample().records()).unwrap();
    assert_eq!(store.import_log().unwrap().len(), 1);
    // Opening again does not re-run anything.
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.table_counts().unwrap()[0], ("customers", sample().customers.len() as u64 + 1));
}

#[test]
fn a_newer_store_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch("CREATE TABLE future_things (x INTEGER); PRAGMA user_version = 99;").unwrap();
    }
    let err = SqliteStore::open(&path).unwrap_err();
    match &err {
        StoreError::SchemaTooNew { found, supported, .. } => assert_eq!((*found, *supported), (99, SCHEMA_VERSION)),
        other => panic!("unexpected error {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("schema version 99") && msg.contains("upgrade Holdfast"), "{msg}");
    let err = open(&format!("sqlite://{}", path.display())).err().expect("refused through open() too");
    assert!(matches!(err, StoreError::SchemaTooNew { .. }));
    // Nothing was changed: still version 99, still not WAL.
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(raw.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap(), 99);
    assert_eq!(raw.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)).unwrap(), "delete");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "this is not a database, just some text that is long enough to have a header").unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    let err = SqliteStore::open(&dir.path().join("missing-dir").join("h.db")).unwrap_err();
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

#[test]
fn open_understands_urls_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.db");
    let mut s = open(&format!("sqlite://{}", path.display())).unwrap();
    import_records(s.as_mut(), sample().records()).unwrap();
    let fp = s.content_fingerprint().unwrap();
    drop(s);
    // A plain path names the same file.
    let s = open(path.to_str().unwrap()).unwrap();
    assert_eq!(s.content_fingerprint().unwrap(), fp);
    // In memory.
    for m in [":memory:", "sqlite://:memory:"] {
        let mut s = open(m).unwrap();
        import_records(s.as_mut(), sample().records()).unwrap();
        assert_eq!(s.content_fingerprint().unwrap(), fp);
    }
    // Not (yet) supported.
    for url in ["postgres://holdfast@localhost/holdfast", "postgresql://localhost/db"] {
        let err = open(url).err().expect("postgres is not supported yet");
        assert!(matches!(err, StoreError::Unsupported(_)));
        assert!(err.to_string().contains("not yet supported"), "{err}");
    }
    let err = open("mysql://localhost/db").err().unwrap();
    assert!(err.to_string().contains("mysql"), "{err}");
    assert!(open("sqlite://").is_err());
}

#[test]
fn a_boxed_store_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let s = open(":memory:").unwrap();
    assert_send(&s);
    std::thread::spawn(move || s.table_counts().unwrap()).join().unwrap();
}
