//! Sync state and source documents live in the import transaction: they commit with the records or not at
//! all, and unchanged documents are not rewritten.
use holdfast_core::records::{CustomerRecord, Record};
use holdfast_store::{SqliteStore, Store};

fn customer(id: &str) -> Record {
    Record::Customer(CustomerRecord { id: id.into(), ..Default::default() })
}

fn docs(store: &mut SqliteStore, source: &str) -> Vec<(String, String)> {
    let mut tx = store.begin_import().unwrap();
    let mut out = Vec::new();
    tx.for_each_sync_document(source, &mut |k, b| out.push((k.to_string(), b.to_string()))).unwrap();
    out
}

#[test]
fn state_documents_and_records_commit_together() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(store.sync_state("stripe").unwrap(), None);
    {
        let mut tx = store.begin_import().unwrap();
        tx.put(&customer("c1")).unwrap();
        tx.set_sync_state("stripe", "cursor-1").unwrap();
        assert!(tx.put_sync_document("stripe", "list/a", "{}").unwrap());
        assert_eq!(tx.sync_state("stripe").unwrap().as_deref(), Some("cursor-1"), "the transaction sees its own writes");
        // dropped without commit
    }
    assert_eq!(store.sync_state("stripe").unwrap(), None);
    assert_eq!(store.table_counts().unwrap()[0].1, 0);
    assert!(docs(&mut store, "stripe").is_empty());

    let mut tx = store.begin_import().unwrap();
    tx.put(&customer("c1")).unwrap();
    tx.set_sync_state("stripe", "cursor-1").unwrap();
    assert!(tx.put_sync_document("stripe", "list/b", "2").unwrap());
    assert!(tx.put_sync_document("stripe", "list/a", "1").unwrap());
    assert!(tx.put_sync_document("stripe", "event/1", "e").unwrap());
    assert!(tx.put_sync_document("other", "list/a", "x").unwrap());
    tx.commit().unwrap();
    assert_eq!(store.sync_state("stripe").unwrap().as_deref(), Some("cursor-1"));
    assert_eq!(store.sync_state("other").unwrap(), None);
    let key_order = |v: Vec<(String, String)>| v.into_iter().map(|(k, b)| format!("{k}={b}")).collect::<Vec<_>>();
    assert_eq!(key_order(docs(&mut store, "stripe")), ["event/1=e", "list/a=1", "list/b=2"]);

    let mut tx = store.begin_import().unwrap();
    assert!(!tx.put_sync_document("stripe", "list/a", "1").unwrap(), "same body: unchanged");
    assert!(tx.put_sync_document("stripe", "list/a", "1b").unwrap());
    assert_eq!(tx.delete_sync_documents("stripe", "list/").unwrap(), 2);
    assert_eq!(tx.delete_sync_documents("stripe", "nothing%").unwrap(), 0, "prefixes are literal, not LIKE patterns");
    tx.set_sync_state("stripe", "cursor-2").unwrap();
    tx.commit().unwrap();
    assert_eq!(key_order(docs(&mut store, "stripe")), ["event/1=e"]);
    assert_eq!(key_order(docs(&mut store, "other")), ["list/a=x"]);
    assert_eq!(store.sync_state("stripe").unwrap().as_deref(), Some("cursor-2"));
}
