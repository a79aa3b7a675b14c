//! Usage rollups in a real SQLite file: sessions merge across imports, dedupe holds across imports, and an
//! import with other ingest settings is refused without writing anything.
use holdfast_store::{SqliteStore, Store};
use holdfast_usage::{Ingest, IngestSettings};

fn track(id: &str, ts: &str) -> String {
    format!(r#"{{"type":"track","messageId":"{id}","userId":"u1","event":"Signed In","timestamp":"{ts}","context":{{"groupId":"acct"}}}}"#)
}

fn import(store: &mut SqliteStore, lines: &[String], settings: &IngestSettings) -> Result<(), holdfast_store::StoreError> {
    let mut tx = store.begin_import()?;
    let mut ing = Ingest::new(settings.clone(), tx.usage_message_ids()?);
    for l in lines {
        ing.line(l.as_bytes()).unwrap();
    }
    tx.put_usage(&ing.finish(), settings)?;
    tx.commit().map(|_| ())
}

#[test]
fn sessions_merge_across_imports_and_duplicates_never_count_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("u.db")).unwrap();
    let s = IngestSettings::default();
    import(&mut store, &[track("a", "2025-01-01T10:00:00Z"), track("b", "2025-01-01T10:20:00Z"), track("c", "2025-01-01T12:00:00Z")], &s).unwrap();
    // 10:40 extends the first session; 09:50 comes before it; 11:10 bridges to 12:00 (≤ 30 min each side)
    import(&mut store, &[track("b", "2025-01-01T10:20:00Z"), track("d", "2025-01-01T10:40:00Z"), track("e", "2025-01-01T09:50:00Z"), track("f", "2025-01-01T11:10:00Z"), track("g", "2025-01-01T11:35:00Z")], &s).unwrap();
    let r = store.load_usage().unwrap();
    let sessions: Vec<(i64, i64, u32)> = r.sessions.iter().map(|x| (x.start, x.end, x.events)).collect();
    let t = |s: &str| holdfast_core::time::parse_instant(s).unwrap();
    assert_eq!(sessions, vec![(t("2025-01-01T09:50:00Z"), t("2025-01-01T12:00:00Z"), 7)]);
    assert_eq!(r.counts.iter().map(|c| c.count).sum::<u64>(), 7);
    assert_eq!(r.accounts.name(r.counts[0].account), "acct");
    let counts = store.usage_counts().unwrap();
    assert_eq!(counts.iter().find(|c| c.0 == "usage_messages").unwrap().1, 7);
}

#[test]
fn other_ingest_settings_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("u.db")).unwrap();
    import(&mut store, &[track("a", "2025-01-01T10:00:00Z")], &IngestSettings::default()).unwrap();
    let before = store.usage_counts().unwrap();
    let other = IngestSettings { session_gap_secs: 600, ..IngestSettings::default() };
    let e = import(&mut store, &[track("b", "2025-01-02T10:00:00Z")], &other).unwrap_err();
    assert!(e.to_string().contains("session_gap_secs=1800") && e.to_string().contains("session_gap_secs=600"), "{e}");
    assert_eq!(store.usage_counts().unwrap(), before);
}

#[test]
fn point_lookups_find_exactly_the_stored_messages_and_new_dimension_ids_stay_dense() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("u.db")).unwrap();
    let s = IngestSettings::default();
    import(&mut store, &[track("a", "2025-01-01T10:00:00Z"), track("b", "2025-01-01T10:20:00Z")], &s).unwrap();
    let mut tx = store.begin_import().unwrap();
    let all = tx.usage_message_ids().unwrap();
    assert_eq!(all.len(), 2);
    let probe = [all[1], 42, all[0]];
    assert_eq!(tx.usage_messages_stored(&probe).unwrap(), vec![all[1], all[0]], "stored ones, in the order asked");
    drop(tx);
    // a second user gets the next id (1): ids stay contiguous, so loading rebuilds the interner
    let other = r#"{"type":"track","messageId":"c","userId":"u2","event":"Signed In","timestamp":"2025-01-02T10:00:00Z"}"#.to_string();
    import(&mut store, &[other], &s).unwrap();
    let r = store.load_usage().unwrap();
    assert_eq!((r.users.len(), r.users.name(1)), (2, "u2"));
}
