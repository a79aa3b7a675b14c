//! Live sync against a fake Stripe API on loopback (tests/support/fake_stripe.rs): same store as
//! `import stripe` of the same objects, retries on 429/5xx/dropped/truncated responses, all-or-nothing on
//! an unfetchable page, resume from the cursor, idempotent re-sync, a key that never shows.
#[path = "support/fake_stripe.rs"]
mod fake_stripe;

use fake_stripe::{FakeStripe, Fault};
use holdfast_store::{SqliteStore, Store};
use holdfast_stripe::sync::{sync, ApiKey, Mode, RetryPolicy, SyncError, SyncOptions, SyncReport};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const KEY: &str = "sk_test_51FakeKeyThatMustNeverBePrinted";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A basil-shape account: the ChartMogul history plus an invoice whose lines need their own page.
fn basil_server() -> FakeStripe {
    let s = FakeStripe::start(KEY);
    s.add_dir(&fixture("cm_basil"));
    s.add_dir(&fixture("basil_invoice"));
    s
}

fn opts(server: &FakeStripe, now: i64) -> SyncOptions {
    let mut o = SyncOptions::new(ApiKey::new(KEY).unwrap());
    o.base_url = server.base_url.clone();
    o.page_limit = 2; // several pages per list
    o.retry = RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(10), max_retry_after: Duration::from_secs(2) };
    o.timeout = Duration::from_secs(10);
    o.now = Some(now);
    o
}

fn run(store: &mut SqliteStore, o: &SyncOptions) -> Result<SyncReport, SyncError> {
    sync(store, o, &mut |_| {})
}

/// Every row of every table (records, sync state, documents, import log), for byte-for-byte comparisons.
fn dump(store: &SqliteStore) -> Vec<(String, Vec<String>)> {
    let c = store.connection();
    let mut tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.retain(|t| !t.starts_with("sqlite_"));
    tables
        .into_iter()
        .map(|t| {
            let n = c.prepare(&format!("SELECT * FROM {t}")).unwrap().column_count();
            let order: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
            let mut st = c.prepare(&format!("SELECT * FROM {t} ORDER BY {}", order.join(", "))).unwrap();
            let rows = st
                .query_map([], |r| Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|")))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (t, rows)
        })
        .collect()
}

fn record_tables(store: &SqliteStore) -> Vec<(String, Vec<String>)> {
    dump(store).into_iter().filter(|(t, _)| holdfast_store::TABLES.contains(&t.as_str())).collect()
}

/// The store `holdfast import stripe` makes of what the server serves.
fn imported(server: &FakeStripe) -> SqliteStore {
    let dir = tempfile::tempdir().unwrap();
    server.export(dir.path());
    let (data, _) = holdfast_stripe::read_dir_report(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut store = SqliteStore::open_in_memory().unwrap();
    holdfast_store::import_records(&mut store, data.into_records()).unwrap();
    store
}

const NOW: i64 = 1_740_000_000;

#[test]
fn full_sync_equals_import_of_the_same_objects_and_resync_changes_nothing() {
    let server = basil_server();
    let mut store = SqliteStore::open_in_memory().unwrap();
    let r = run(&mut store, &opts(&server, NOW)).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(r.mode, Mode::Full { .. }), "{:?}", r.mode);
    let expected = imported(&server);
    assert_eq!(record_tables(&store), record_tables(&expected));
    assert_eq!(store.content_fingerprint().unwrap(), expected.content_fingerprint().unwrap());
    assert!(r.import.inserted() > 0 && r.import.updated() == 0);
    // 3 invoices of cm_basil + 1 of basil_invoice at 2 per page: 2 pages, both fetched.
    assert_eq!(r.fetched["invoices"], (2, 4));
    // the truncated invoice's lines came from their own endpoint
    assert_eq!(r.fetched["invoice_lines"].1, 2);
    let log = server.log();
    assert!(log.iter().any(|l| l.target.starts_with("/v1/invoices/in_b1/lines?limit=2")), "{log:?}");
    assert!(log.iter().any(|l| l.target == "/v1/subscriptions?limit=2&status=all"));
    assert!(log.iter().any(|l| l.target.starts_with("/v1/invoices?limit=2&starting_after=")));
    for l in &log {
        let h = |n: &str| l.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(h("stripe-version").as_deref(), Some("2025-03-31.basil"), "{}", l.target);
        assert_eq!(h("authorization"), Some(format!("Bearer {KEY}")));
    }
    assert_eq!(r.requests, log.len() as u64);
    assert_eq!(r.retries, 0);

    // Again: incremental (nothing new), every record unchanged, the same records.
    let before = record_tables(&store);
    server.clear_log();
    let r2 = run(&mut store, &opts(&server, NOW + 3600)).unwrap();
    assert_eq!(r2.mode, Mode::Incremental { since: NOW - 300 });
    assert_eq!((r2.import.inserted(), r2.import.updated()), (0, 0));
    assert_eq!(r2.import.unchanged(), r.import.inserted());
    assert_eq!(r2.documents_changed, 0);
    assert_eq!(record_tables(&store), before);
    let targets: Vec<String> = server.log().into_iter().map(|l| l.target).collect();
    assert_eq!(targets, vec![format!("/v1/events?limit=2&created%5Bgte%5D={}", NOW - 300)]);

    // A forced full sync of the same account also changes nothing.
    let mut o = opts(&server, NOW + 7200);
    o.full = true;
    let r3 = run(&mut store, &o).unwrap();
    assert!(matches!(r3.mode, Mode::Full { ref reason } if reason.contains("--full")));
    assert_eq!((r3.import.inserted(), r3.import.updated(), r3.documents_changed), (0, 0, 0));
    assert_eq!(record_tables(&store), before);
}

#[test]
fn transient_failures_are_retried_and_give_the_same_store() {
    let reference = {
        let server = basil_server();
        let mut s = SqliteStore::open_in_memory().unwrap();
        run(&mut s, &opts(&server, NOW)).unwrap();
        record_tables(&s)
    };
    let cases: Vec<(&str, Fault)> = vec![
        ("/v1/customers", Fault::Status { code: 429, retry_after: Some(1) }),
        ("/v1/invoices?limit=2&starting_after=", Fault::Status { code: 500, retry_after: None }),
        ("/v1/subscriptions?limit=2&status=all&starting_after=", Fault::Status { code: 503, retry_after: None }),
        ("/v1/prices?limit=2&starting_after=", Fault::Drop),
        ("/v1/invoices/in_b1/lines", Fault::TruncateBody),
        ("/v1/products", Fault::InvalidJson),
    ];
    for (target, fault) in cases {
        let server = basil_server();
        server.fault(target, 1, fault.clone());
        let mut s = SqliteStore::open_in_memory().unwrap();
        let r = run(&mut s, &opts(&server, NOW)).unwrap_or_else(|e| panic!("{fault:?} on {target}: {e}"));
        assert_eq!(r.retries, 1, "{fault:?}");
        assert_eq!(record_tables(&s), reference, "{fault:?}");
        // The faulty request and its retry ask for the same page (later pages of the list may follow).
        let all: Vec<_> = server.log().into_iter().filter(|l| l.target.contains(target)).collect();
        let hits: Vec<_> = all.iter().filter(|l| l.target == all[0].target).collect();
        assert_eq!(hits.len(), 2, "{fault:?}: the faulty request and its retry");
        if let Fault::Status { retry_after: Some(secs), .. } = fault {
            let waited = hits[1].at - hits[0].at;
            assert!(waited >= Duration::from_secs(secs), "Retry-After {secs}s honoured, waited {waited:?}");
        }
    }
}

#[test]
fn retry_after_is_capped() {
    let server = basil_server();
    server.fault("/v1/coupons", 1, Fault::Status { code: 429, retry_after: Some(3600) });
    let mut o = opts(&server, NOW);
    o.retry.max_retry_after = Duration::from_millis(50);
    let mut s = SqliteStore::open_in_memory().unwrap();
    let t = std::time::Instant::now();
    run(&mut s, &o).unwrap();
    assert!(t.elapsed() < Duration::from_secs(30));
}

#[test]
fn an_unfetchable_next_page_fails_the_sync_and_writes_nothing() {
    let server = basil_server();
    let mut store = SqliteStore::open_in_memory().unwrap();
    run(&mut store, &opts(&server, NOW)).unwrap();
    let before = dump(&store);
    let state_before = store.sync_state("stripe").unwrap();
    // Page 2 of invoices fails for good; a forced full sync must not commit pages 1 of anything.
    server.fault("/v1/invoices?limit=2&starting_after=", usize::MAX, Fault::Status { code: 500, retry_after: None });
    let mut o = opts(&server, NOW + 60);
    o.full = true;
    let e = run(&mut store, &o).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SyncError::Incomplete { ref resource, .. } if resource == "invoices"), "{msg}");
    assert!(msg.contains("has_more: true") && msg.contains("wrote nothing") && msg.contains("HTTP 500"), "{msg}");
    assert!(msg.contains("gave up after 4 attempts"), "{msg}");
    assert_eq!(dump(&store), before);
    assert_eq!(store.sync_state("stripe").unwrap(), state_before);

    // The same on a first sync: the store stays empty, no cursor.
    let mut fresh = SqliteStore::open_in_memory().unwrap();
    let empty = dump(&fresh);
    assert!(run(&mut fresh, &opts(&server, NOW)).is_err());
    assert_eq!(dump(&fresh), empty);
    assert_eq!(fresh.sync_state("stripe").unwrap(), None);
}

/// A server answering every request with `body`.
fn one_page_server(body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(mut c) = c else { continue };
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut c, &mut buf);
            let _ = std::io::Write::write_all(&mut c, format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes());
        }
    });
    format!("http://{addr}")
}

#[test]
fn pages_without_has_more_or_that_do_not_advance_are_incomplete() {
    let cases = [
        (r#"{"object":"list","url":"/v1/customers","has_more":true,"data":[{"id":"cus_1","object":"customer","created":1}]}"#, "do not advance"),
        (r#"{"object":"list","url":"/v1/customers","data":[{"id":"cus_1","object":"customer","created":1}]}"#, "no boolean `has_more`"),
        (r#"{"object":"list","url":"/v1/customers","has_more":true,"data":[]}"#, "has_more: true on a page without objects"),
    ];
    for (body, expected) in cases {
        let mut o = SyncOptions::new(ApiKey::new(KEY).unwrap());
        o.base_url = one_page_server(body);
        let mut s = SqliteStore::open_in_memory().unwrap();
        let e = sync(&mut s, &o, &mut |_| {}).unwrap_err();
        assert!(matches!(e, SyncError::Incomplete { .. }), "{e}");
        assert!(e.to_string().contains(expected), "{e}");
        assert_eq!(s.table_counts().unwrap().iter().map(|(_, n)| n).sum::<u64>(), 0);
        assert_eq!(s.sync_state("stripe").unwrap(), None);
    }
}

/// The events fixture: a customer and a subscription (old API shape) and three events.
fn events_server(events: &[&str]) -> FakeStripe {
    let s = FakeStripe::start(KEY);
    s.add(serde_json::from_str(&std::fs::read_to_string(fixture("events/backfill.json")).unwrap()).unwrap());
    add_events(&s, events);
    s
}

fn add_events(s: &FakeStripe, ids: &[&str]) {
    for l in std::fs::read_to_string(fixture("events/events.jsonl")).unwrap().lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if ids.contains(&v["id"].as_str().unwrap()) {
            s.add(v);
        }
    }
}

#[test]
fn resume_fetches_only_new_events_and_equals_an_import_of_the_whole_history() {
    // evt_2 (sub updated, 1739620800) and evt_4 (customer updated, 1740042000) first; evt_3 (sub deleted,
    // 1741608000) arrives later.
    let server = events_server(&["evt_2", "evt_4"]);
    let mut store = SqliteStore::open_in_memory().unwrap();
    let t1 = 1_740_042_000 + 86_400;
    let r1 = run(&mut store, &opts(&server, t1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r1.fetched["events"].1, 2);
    assert_eq!(r1.cursor, t1 - 300);
    let sub_status = |s: &SqliteStore| -> String {
        s.connection().query_row("SELECT status FROM subscriptions WHERE id = 'sub_e'", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(sub_status(&store), "active");

    add_events(&server, &["evt_3"]);
    server.clear_log();
    let t2 = 1_741_608_000 + 3_600;
    let r2 = run(&mut store, &opts(&server, t2)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r2.mode, Mode::Incremental { since: t1 - 300 });
    let targets: Vec<String> = server.log().into_iter().map(|l| l.target).collect();
    assert_eq!(targets, vec![format!("/v1/events?limit=2&created%5Bgte%5D={}", t1 - 300)], "only the events since the cursor");
    assert_eq!(r2.fetched["events"], (1, 1));
    assert_eq!(r2.documents_changed, 1);
    assert_eq!(sub_status(&store), "canceled");
    assert!(r2.import.updated() >= 1);
    // The store equals an import of everything the account ever showed.
    assert_eq!(record_tables(&store), record_tables(&imported(&server)));

    // Re-sync: nothing new, nothing changes.
    let before = record_tables(&store);
    let r3 = run(&mut store, &opts(&server, t2 + 60)).unwrap();
    assert_eq!((r3.import.inserted(), r3.import.updated()), (0, 0));
    assert_eq!(record_tables(&store), before);
}

#[test]
fn a_cursor_older_than_the_event_retention_means_a_full_sync() {
    let server = events_server(&["evt_2", "evt_4", "evt_3"]);
    let mut store = SqliteStore::open_in_memory().unwrap();
    run(&mut store, &opts(&server, 1_741_608_000 + 60)).unwrap();
    server.clear_log();
    let r = run(&mut store, &opts(&server, 1_741_608_000 + 40 * 86_400)).unwrap();
    match &r.mode {
        Mode::Full { reason } => assert!(reason.contains("40 days old") && reason.contains("30 days"), "{reason}"),
        m => panic!("{m:?}"),
    }
    assert!(server.log().iter().any(|l| l.target.starts_with("/v1/customers")));
    assert_eq!((r.import.inserted(), r.import.updated()), (0, 0));
}

#[test]
fn a_wrong_key_fails_at_once_and_the_key_never_shows() {
    let server = basil_server();
    let wrong = "sk_test_wrongKeyThatTheServerEchoes";
    let mut o = opts(&server, NOW);
    o.api_key = ApiKey::new(wrong).unwrap();
    let mut s = SqliteStore::open_in_memory().unwrap();
    let e = run(&mut s, &o).unwrap_err();
    assert!(matches!(e, SyncError::Api { status: 401, .. }), "{e}");
    let shown = format!("{e} {e:?} {o:?}");
    assert!(!shown.contains(wrong), "{shown}");
    assert!(shown.contains("Invalid API Key provided: [redacted]"), "{shown}");
    assert_eq!(server.log().len(), 1, "a 401 is not retried");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let mut o = SyncOptions::new(ApiKey::new(KEY).unwrap());
    o.base_url = "http://api.stripe.com".into();
    let mut s = SqliteStore::open_in_memory().unwrap();
    assert!(matches!(sync(&mut s, &o, &mut |_| {}), Err(SyncError::Config(_))));
}

#[test]
fn an_event_about_an_invoice_with_truncated_lines_fetches_its_lines_again() {
    let server = basil_server();
    let mut store = SqliteStore::open_in_memory().unwrap();
    run(&mut store, &opts(&server, NOW)).unwrap();
    let before = record_tables(&store);
    // in_b1 (lines.has_more: true) shows up in an event, unchanged.
    let objects: Value = serde_json::from_str(&std::fs::read_to_string(fixture("basil_invoice/01_objects.json")).unwrap()).unwrap();
    let invoice = objects.as_array().unwrap().iter().find(|o| o["id"] == "in_b1").unwrap().clone();
    assert_eq!(invoice["lines"]["has_more"], true);
    server.add(serde_json::json!({"id": "evt_inv", "object": "event", "type": "invoice.updated", "created": NOW, "data": {"object": invoice}}));
    server.clear_log();
    let r = run(&mut store, &opts(&server, NOW + 600)).unwrap_or_else(|e| panic!("{e}"));
    let targets: Vec<String> = server.log().into_iter().map(|l| l.target).collect();
    assert_eq!(targets, vec![format!("/v1/events?limit=2&created%5Bgte%5D={}", NOW - 300), "/v1/invoices/in_b1/lines?limit=2".to_string()]);
    assert_eq!(r.documents_changed, 1, "the event is new; the re-fetched lines page is the same");
    assert_eq!((r.import.inserted(), r.import.updated()), (0, 0));
    assert_eq!(record_tables(&store), before);
}

#[test]
fn subscriptions_with_truncated_items_get_their_item_pages() {
    let server = FakeStripe::start(KEY);
    let price = |id: &str, amount: i64| serde_json::json!({"object": "price", "id": id, "currency": "usd", "type": "recurring", "unit_amount": amount, "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}});
    server.add(price("price_1", 500));
    server.add(price("price_2", 700));
    server.add(serde_json::json!({"object": "customer", "id": "cus_1", "created": 100}));
    server.add(serde_json::json!({"object": "subscription", "id": "sub_1", "customer": "cus_1", "status": "active", "created": 100, "current_period_start": 100, "current_period_end": 200,
        "items": {"object": "list", "data": [{"object": "subscription_item", "id": "si_1", "created": 100, "price": "price_1", "quantity": 1, "subscription": "sub_1"}], "has_more": true}}));
    for (id, p, q) in [("si_1", "price_1", 1), ("si_2", "price_2", 4), ("si_3", "price_2", 2)] {
        server.add(serde_json::json!({"object": "subscription_item", "id": id, "created": 150, "price": p, "quantity": q, "subscription": "sub_1"}));
    }
    // an item of another subscription, which the filter must leave out
    server.add(serde_json::json!({"object": "subscription_item", "id": "si_9", "created": 150, "price": "price_2", "quantity": 9, "subscription": "sub_9"}));
    let mut store = SqliteStore::open_in_memory().unwrap();
    let r = run(&mut store, &opts(&server, NOW)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.fetched["subscription_items"], (2, 3));
    let items: Vec<(String, i64)> = store
        .connection()
        .prepare("SELECT id, quantity FROM subscription_items ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(items, vec![("si_1".to_string(), 1), ("si_2".to_string(), 4), ("si_3".to_string(), 2)]);
}

#[test]
fn a_deleted_draft_with_truncated_lines_does_not_block_the_sync() {
    let server = basil_server();
    let mut store = SqliteStore::open_in_memory().unwrap();
    run(&mut store, &opts(&server, NOW)).unwrap();
    let objects: Value = serde_json::from_str(&std::fs::read_to_string(fixture("basil_invoice/01_objects.json")).unwrap()).unwrap();
    let mut draft = objects.as_array().unwrap().iter().find(|o| o["id"] == "in_b1").unwrap().clone();
    draft["id"] = "in_draft".into();
    draft["status"] = "draft".into();
    server.add(serde_json::json!({"id": "evt_d1", "object": "event", "type": "invoice.created", "created": NOW, "data": {"object": draft}}));
    server.add(serde_json::json!({"id": "evt_d2", "object": "event", "type": "invoice.deleted", "created": NOW + 1, "data": {"object": {"id": "in_draft", "object": "invoice", "deleted": true}}}));
    server.clear_log();
    let r = run(&mut store, &opts(&server, NOW + 600)).unwrap_or_else(|e| panic!("{e}"));
    assert!(server.log().iter().all(|l| !l.target.contains("in_draft")), "no lines asked for a deleted invoice");
    assert!(r.mapping.notes.iter().any(|n| n.contains("in_draft") && n.contains("deleted")), "{:?}", r.mapping.notes);
    let n: i64 = store.connection().query_row("SELECT count(*) FROM invoices WHERE id = 'in_draft'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn client_errors_and_should_retry_false_are_not_retried() {
    for (fault, status) in [(Fault::StatusNoRetry { code: 500 }, 500), (Fault::Status { code: 400, retry_after: None }, 400), (Fault::Status { code: 404, retry_after: None }, 404)] {
        let server = basil_server();
        server.fault("/v1/products", 1, fault.clone());
        let mut s = SqliteStore::open_in_memory().unwrap();
        let e = run(&mut s, &opts(&server, NOW)).unwrap_err();
        assert!(matches!(e, SyncError::Api { status: st, .. } if st == status), "{fault:?}: {e}");
        assert_eq!(server.log().iter().filter(|l| l.target.starts_with("/v1/products")).count(), 1, "{fault:?}: asked once");
        assert_eq!(s.sync_state("stripe").unwrap(), None);
    }
}

#[test]
fn a_sync_that_committed_meanwhile_stops_this_one() {
    let server = basil_server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = SqliteStore::open(&path).unwrap();
    run(&mut store, &opts(&server, NOW)).unwrap();
    // While this sync fetches, another process commits a sync (here: only its cursor).
    let mut other_committed = false;
    let e = sync(&mut store, &opts(&server, NOW + 60), &mut |p| {
        if p == holdfast_stripe::sync::Progress::Writing {
            let mut other = SqliteStore::open(&path).unwrap();
            let mut tx = other.begin_import().unwrap();
            tx.set_sync_state("stripe", r#"{"cursor":1,"base_url":"x","stripe_version":"v","last_full_sync":1}"#).unwrap();
            tx.commit().unwrap();
            other_committed = true;
        }
    })
    .unwrap_err();
    assert!(other_committed);
    assert!(matches!(e, SyncError::Concurrent), "{e}");
    assert!(store.sync_state("stripe").unwrap().unwrap().contains(r#""base_url":"x""#), "the other sync's state stands");
}
