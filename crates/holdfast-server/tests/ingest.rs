//! Black-box tests of the Segment-compatible ingest endpoints: the real server on a random loopback port
//! over a real SQLite file, checked through the store's own `load_usage`.
mod common;

use base64::Engine as _;
use common::*;
use holdfast_server::auth::{self, Scope};
use holdfast_store::Store;
use holdfast_usage::rollup::PAGE_EVENT;

struct World {
    fx: Fixture,
    srv: holdfast_server::RunningServer,
    read: String,
    ingest: String,
}

fn world_with(tune: impl FnOnce(&mut holdfast_server::ServerConfig)) -> World {
    let fx = store(20, 3);
    let mut cfg = config(&fx.db);
    tune(&mut cfg);
    let conn = server_db(&fx.db);
    let read = auth::create_key(&conn, Scope::Read, None).unwrap().0;
    let ingest = auth::create_key(&conn, Scope::Ingest, Some("segment")).unwrap().0;
    let srv = start(cfg);
    World { fx, srv, read, ingest }
}

fn post(w: &World, path: &str, body: &str) -> Resp {
    let auth = format!("Bearer {}", w.ingest);
    request(w.srv.addr, "POST", path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes())
}

/// Segment's SDKs: the write key as the Basic user name, empty password.
fn post_basic(w: &World, path: &str, body: &str) -> Resp {
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:", w.ingest)));
    request(w.srv.addr, "POST", path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes())
}

fn usage(w: &World) -> holdfast_usage::Rollup {
    holdfast_store::SqliteStore::open(&w.fx.db).unwrap().load_usage().unwrap()
}

fn usage_rows(w: &World) -> Vec<(&'static str, u64)> {
    holdfast_store::SqliteStore::open(&w.fx.db).unwrap().usage_counts().unwrap()
}

fn messages_stored(w: &World) -> u64 {
    usage_rows(w).iter().find(|(t, _)| *t == "usage_messages").unwrap().1
}

/// Events counted per event name (all users, days, accounts).
fn event_count(r: &holdfast_usage::Rollup, name: &str) -> u64 {
    let Some(e) = r.events.get(name) else { return 0 };
    r.counts.iter().filter(|c| c.event == e).map(|c| c.count).sum()
}

fn last_import_seq(w: &World) -> i64 {
    get(w.srv.addr, "/api/status", &w.read).json()["last_import_seq"].as_i64().unwrap()
}

fn ok(r: Resp) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"success": true}), "Segment's answer");
}

#[test]
fn every_endpoint_stores_usage_and_duplicates_count_once() {
    let w = world_with(|_| {});
    let seq0 = last_import_seq(&w);
    assert_eq!(messages_stored(&w), 0);

    ok(post(&w, "/v1/identify", r#"{"userId":"u1","traits":{"email":"a@example.com"},"timestamp":"2026-01-05T09:00:00Z","messageId":"m-id"}"#));
    ok(post(&w, "/v1/group", r#"{"userId":"u1","groupId":"acct-1","traits":{"stripe_customer_id":"cus_1"},"timestamp":"2026-01-05T09:00:01Z","messageId":"m-grp"}"#));
    // Segment SDKs send `type`; curl users often do not: the endpoint implies it
    ok(post_basic(&w, "/v1/track", r#"{"type":"track","userId":"u1","event":"Report Shared","properties":{"duration_ms":60000},"context":{"groupId":"acct-1"},"timestamp":"2026-01-05T09:01:00Z","messageId":"m-t1"}"#));
    ok(post(&w, "/v1/page", r#"{"userId":"u1","name":"Home","timestamp":"2026-01-05T09:02:00Z","messageId":"m-p1"}"#));
    assert_eq!(last_import_seq(&w), seq0 + 4, "one store transaction per request");
    ok(post(
        &w,
        "/v1/batch",
        r#"{"batch":[
            {"type":"track","userId":"u1","event":"Report Shared","context":{"groupId":"acct-1"},"timestamp":"2026-01-06T10:00:00Z","messageId":"m-t2"},
            {"type":"track","userId":"u2","event":"Report Shared","timestamp":"2026-01-07T10:00:00Z","messageId":"m-t3"},
            {"type":"track","userId":"u1","event":"Report Shared","timestamp":"2026-01-05T09:01:00Z","messageId":"m-t1"},
            {"type":"track","userId":"u2","event":"Report Shared","timestamp":"2026-01-07T10:00:00Z","messageId":"m-t3"}
        ],"sentAt":"2026-01-07T10:00:01Z"}"#,
    ));
    assert_eq!(last_import_seq(&w), seq0 + 5);

    let r = usage(&w);
    assert_eq!(messages_stored(&w), 6, "identify, group, page and three distinct tracks");
    assert_eq!(event_count(&r, "Report Shared"), 3, "m-t1 resent in the batch and m-t3 twice within it are counted once");
    assert_eq!(event_count(&r, PAGE_EVENT), 1);
    assert_eq!(r.users.len(), 2);
    let acct = r.accounts.get("acct-1").unwrap();
    assert_eq!(r.links, vec![(acct, "cus_1".into())], "the group call links the account to its billing customer");
    assert_eq!(r.groups.len(), 1);
    let u1 = r.users.get("u1").unwrap();
    let first = r.sessions.iter().find(|s| s.user == u1).unwrap();
    assert_eq!(first.end - first.start, 60, "duration_ms extends the session by a minute");

    // the same requests again change nothing, and write no import (the engine cache stays valid)
    let fingerprint = holdfast_store::SqliteStore::open(&w.fx.db).unwrap().usage_counts().unwrap();
    ok(post(&w, "/v1/track", r#"{"userId":"u1","event":"Report Shared","timestamp":"2026-01-05T09:01:00Z","messageId":"m-t1"}"#));
    ok(post(&w, "/v1/batch", r#"{"batch":[{"type":"track","userId":"u2","event":"Report Shared","timestamp":"2026-01-07T10:00:00Z","messageId":"m-t3"}]}"#));
    assert_eq!(usage_rows(&w), fingerprint);
    assert_eq!(event_count(&usage(&w), "Report Shared"), 3);
    assert_eq!(last_import_seq(&w), seq0 + 5);

    // what `holdfast report --section usage` reads: the model over the stored rollups sees both users
    let model = holdfast_usage::UsageModel::build(&usage(&w), &holdfast_usage::UsageSettings::default());
    assert_eq!(model.n_users, 2);
    let day = |s: &str| (holdfast_core::time::parse_instant(s).unwrap() / 86_400) as i32;
    assert_eq!(model.days, Some((day("2026-01-05T00:00:00Z"), day("2026-01-07T00:00:00Z"))));
}

#[test]
fn a_message_without_timestamp_is_stamped_on_receipt() {
    let w = world_with(|_| {});
    let before = holdfast_server::auth::now() / 86_400;
    ok(post(&w, "/v1/track", r#"{"userId":"u9","event":"Signed In","messageId":"m-now"}"#));
    let r = usage(&w);
    let c = r.counts.iter().find(|c| c.event == r.events.get("Signed In").unwrap()).unwrap();
    let after = holdfast_server::auth::now() / 86_400;
    assert!((before..=after).contains(&(c.day as i64)), "day {} is today", c.day);
}

#[test]
fn a_batch_with_one_bad_element_is_refused_whole() {
    let w = world_with(|_| {});
    let seq0 = last_import_seq(&w);
    let body = r#"{"batch":[
        {"type":"track","userId":"u1","event":"A","timestamp":"2026-01-05T09:01:00Z","messageId":"b1"},
        {"type":"group","userId":"u1","groupId":"acct-1","timestamp":"2026-01-05T09:01:00Z","messageId":"b2"},
        {"type":"track","userId":"u1","event":"B","timestamp":"2026-02-30T09:01:00Z","messageId":"b3"}
    ]}"#;
    let r = post(&w, "/v1/batch", body);
    assert_eq!(r.status, 400, "{}", r.text());
    let e = r.json();
    assert_eq!(e["error"]["field"], "batch[2].timestamp", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("2026-02-30T09:01:00Z"), "names the value: {e}");
    assert!(usage_rows(&w).iter().all(|(_, n)| *n == 0), "nothing stored: {:?}", usage_rows(&w));
    assert_eq!(last_import_seq(&w), seq0);
}

#[test]
fn bad_requests_answer_400_naming_the_field() {
    let w = world_with(|_| {});
    for (path, body, field) in [
        ("/v1/track", r#"{"userId":"u1","event":"A","#, "body"),
        ("/v1/track", r#"{"event":"A","timestamp":"2026-01-05T09:01:00Z"}"#, "userId"),
        ("/v1/track", r#"{"userId":"u1","timestamp":"2026-01-05T09:01:00Z"}"#, "event"),
        ("/v1/track", r#"{"userId":"u1","event":"A","timestamp":"2026-01-05T09:01:00Z","properties":{"n":1e300}}"#, "properties.n"),
        ("/v1/track", r#"{"type":"page","userId":"u1","timestamp":"2026-01-05T09:01:00Z"}"#, "type"),
        ("/v1/group", r#"{"userId":"u1","timestamp":"2026-01-05T09:01:00Z"}"#, "groupId"),
        ("/v1/identify", r#"[1,2]"#, "body"),
        ("/v1/batch", r#"{"batch":[{"type":"identify","userId":"u1","timestamp":"2026-01-05T09:01:00Z"},["track"]]}"#, "batch[1]"),
        ("/v1/page", r#"{"userId":"u1","name":5,"timestamp":"2026-01-05T09:01:00Z"}"#, "name"),
        ("/v1/batch", r#"{"batch":[{"type":"track","userId":"u1","event":"A","timestamp":"2026-01-05T09:01:00Z"}"#, "batch"),
        ("/v1/batch", r#"{"batch":"nope"}"#, "batch"),
        ("/v1/batch", r#"{"messages":[]}"#, "batch"),
        ("/v1/batch", r#"{"batch":[{"type":"launch","userId":"u1","timestamp":"2026-01-05T09:01:00Z"}]}"#, "batch[0].type"),
    ] {
        let r = post(&w, path, body);
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{path} {body}: {}", r.text());
    }
    assert!(usage_rows(&w).iter().all(|(_, n)| *n == 0));
}

#[test]
fn auth_size_and_rate_limits() {
    let w = world_with(|c| {
        c.ingest_body_limit = 4096;
        c.rate_limit_per_second = 0.01;
        c.rate_limit_burst = 6.0;
    });
    let a = w.srv.addr;
    let body = br#"{"userId":"u1","event":"A","timestamp":"2026-01-05T09:01:00Z"}"#;
    assert_eq!(request(a, "POST", "/v1/track", &[], body).status, 401, "no credentials");
    assert_eq!(request(a, "POST", "/v1/track", &[("Authorization", "Bearer hf_nope_nope")], body).status, 401, "unknown key");
    let bad_basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("hf_nope_nope:"));
    assert_eq!(request(a, "POST", "/v1/track", &[("Authorization", &bad_basic)], body).status, 401, "unknown key over Basic");
    let read = format!("Bearer {}", w.read);
    let r = request(a, "POST", "/v1/batch", &[("Authorization", &read)], br#"{"batch":[]}"#);
    assert_eq!(r.status, 403, "a read key cannot ingest: {}", r.text());
    let big = format!(r#"{{"userId":"u1","event":"A","timestamp":"2026-01-05T09:01:00Z","properties":{{"note":"{}"}}}}"#, "x".repeat(8192));
    assert_eq!(post(&w, "/v1/track", &big).status, 413);
    assert!(usage_rows(&w).iter().all(|(_, n)| *n == 0), "refused requests store nothing");
    // the ingest key's bucket: burst 6, the 403 above was the read key's; 413 is refused before auth
    for i in 0..6 {
        assert_eq!(post(&w, "/v1/batch", r#"{"batch":[]}"#).status, 200, "request {i}");
    }
    let r = post(&w, "/v1/batch", r#"{"batch":[]}"#);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
}
