//! Signal tables: idempotent upserts by source key, rollback of unfinished imports, key-order loading.
use holdfast_signals::records::*;
use holdfast_store::{PutOutcome, SqliteStore, Store};

fn ticket(id: &str, created: i64, kind: &str) -> SignalRecord {
    SignalRecord::Ticket(Ticket {
        ticket_id: id.into(),
        customer_id: Some("cus_1".into()),
        requester_id: None,
        created_at: created,
        first_response_at: Some(created + 60),
        first_resolved_at: None,
        last_resolved_at: None,
        status: None,
        channel: None,
        priority: None,
        ticket_type: Some(kind.into()),
        tags: vec!["a".into(), "b".into()],
        agent_public_replies: 1,
        reopen_count: 0,
        is_spam: false,
        merged_into: None,
    })
}

fn others() -> Vec<SignalRecord> {
    vec![
        SignalRecord::Spend(Spend { day: 20_000, channel: "ads".into(), category: SpendCategory::Marketing, amount: 1_000, currency: holdfast_core::Currency::USD, campaign: None }),
        SignalRecord::Funnel(FunnelEvent { person_id: None, anonymous_id: Some("a1".into()), customer_id: None, stage: Stage::Visitor, stage_at: 5, source: None, medium: None, campaign: None, channel: None }),
        SignalRecord::Cancellation(Cancellation { customer_id: "cus_1".into(), subscription_id: None, cancelled_at: 9, reason_code: "unused".into(), comment: Some("meh".into()) }),
        SignalRecord::Visit(Visit { day: 19_000, visitor_id: "v1".into(), source: None }),
    ]
}

fn import(store: &mut SqliteStore, recs: &[SignalRecord]) -> Vec<PutOutcome> {
    let mut tx = store.begin_import().unwrap();
    let out = recs.iter().map(|r| tx.put_signal(r).unwrap()).collect();
    tx.commit().unwrap();
    out
}

#[test]
fn puts_are_idempotent_by_source_key_and_report_updates() {
    let d = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&d.path().join("s.db")).unwrap();
    let mut recs = vec![ticket("t2", 200, "bug"), ticket("t1", 100, "question")];
    recs.extend(others());
    assert!(import(&mut store, &recs).iter().all(|o| *o == PutOutcome::Inserted));
    assert!(import(&mut store, &recs).iter().all(|o| *o == PutOutcome::Unchanged));
    let fp = store.signals_fingerprint().unwrap();
    let mut tx = store.begin_import().unwrap();
    assert_eq!(tx.put_signal(&ticket("t1", 100, "complaint")).unwrap(), PutOutcome::Updated);
    let summary = tx.commit().unwrap();
    assert_eq!(summary.table("tickets").unwrap().updated, 1);
    assert_eq!(summary.updated_keys, vec![("tickets", "t1".to_string())]);
    assert_ne!(store.signals_fingerprint().unwrap(), fp);
    let loaded = store.load_signal_records().unwrap();
    assert_eq!(loaded.len(), recs.len());
    assert_eq!(loaded[0], ticket("t1", 100, "complaint"), "tickets come back in key order with their new content");
    assert!(loaded.contains(&others()[2]));
    let counts = store.signal_table_counts().unwrap();
    assert_eq!(counts.iter().find(|c| c.0 == "tickets").unwrap().1, 2);
}

#[test]
fn an_unfinished_import_leaves_the_store_unchanged_and_order_does_not_matter() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("s.db");
    let mut store = SqliteStore::open(&path).unwrap();
    import(&mut store, &[ticket("t1", 100, "question")]);
    let fp = store.signals_fingerprint().unwrap();
    {
        let mut tx = store.begin_import().unwrap();
        tx.put_signal(&ticket("t1", 100, "complaint")).unwrap();
        tx.put_signal(&ticket("t9", 900, "bug")).unwrap();
        // dropped without commit: a failed import
    }
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.signals_fingerprint().unwrap(), fp);
    assert_eq!(store.load_signal_records().unwrap(), vec![ticket("t1", 100, "question")]);

    // the same records imported in another order give the same content
    let mut a = SqliteStore::open_in_memory().unwrap();
    let mut b = SqliteStore::open_in_memory().unwrap();
    let mut recs = others();
    recs.push(ticket("t1", 100, "question"));
    import(&mut a, &recs);
    recs.reverse();
    import(&mut b, &recs);
    assert_eq!(a.signals_fingerprint().unwrap(), b.signals_fingerprint().unwrap());
    assert_eq!(a.load_signal_records().unwrap(), b.load_signal_records().unwrap());
    let cols = a.load_signals().unwrap();
    assert_eq!(cols.tickets.created_at, vec![100]);
    assert_eq!(cols.visits.day.len(), 2, "visits.csv rows and visitor funnel rows");
}
