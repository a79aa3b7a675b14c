//! Black-box tests: the real server on a random loopback port over a real SQLite file.
mod common;

use common::*;
use holdfast_server::auth::{self, Role, Scope};
use holdfast_store::Store;

struct World {
    fx: Fixture,
    srv: holdfast_server::RunningServer,
    read: String,
    ingest: String,
    admin: String,
}

fn world() -> World {
    let fx = store(150, 14);
    let mut cfg = config(&fx.db);
    cfg.login_rate_per_second = 0.0; // no refill during the test: the login limit is exact
    let conn = server_db(&fx.db);
    let read = auth::create_key(&conn, Scope::Read, Some("tests")).unwrap().0;
    let ingest = auth::create_key(&conn, Scope::Ingest, None).unwrap().0;
    let admin = auth::create_key(&conn, Scope::Admin, None).unwrap().0;
    let srv = start(cfg);
    World { fx, srv, read, ingest, admin }
}

/// The engine's own answer on the same store, computed here without the server.
fn engine_run(db: &std::path::Path) -> (holdfast_core::snapshot::Snapshot, holdfast_engine::Run) {
    let store = holdfast_store::SqliteStore::open(db).unwrap();
    let snap = store.load_snapshot().unwrap();
    let run = holdfast_engine::run(&snap, &holdfast_engine::Settings::default(), &holdfast_engine::RunSpec::default()).unwrap();
    (snap, run)
}

#[test]
fn read_endpoints_serve_the_engine_numbers() {
    let w = world();
    let a = w.srv.addr;
    let (snap, run) = engine_run(&w.fx.db);

    let st = get(a, "/api/status", &w.read);
    assert_eq!(st.status, 200, "{}", st.text());
    let st = st.json();
    let customers_rows = holdfast_store::SqliteStore::open(&w.fx.db).unwrap().table_counts().unwrap()[0].1;
    assert_eq!(st["tables"]["customers"].as_u64(), Some(customers_rows));
    assert_eq!(st["last_import_seq"], 1);

    // KPIs: a month's MRR and NRR equal the engine's, with numerator/denominator/n/flags
    let p = &run.periods[run.periods.len() - 2].label;
    let k = get(a, &format!("/api/kpis?kpi=mrr,nrr&period={p}"), &w.read);
    assert_eq!(k.status, 200, "{}", k.text());
    let k = k.json();
    assert_eq!(k["total"], 2);
    let rows = k["rows"].as_array().unwrap();
    let want_mrr = match run.tables[0].get("mrr", p, None).unwrap().value { Some(holdfast_engine::Value::Money(m)) => m, v => panic!("{v:?}") };
    let mrr = rows.iter().find(|r| r["kpi"] == "mrr").unwrap();
    assert_eq!(mrr["value"].as_i64(), Some(want_mrr));
    assert_eq!(mrr["unit"], "money_minor");
    let nrr = rows.iter().find(|r| r["kpi"] == "nrr").unwrap();
    let want_nrr = run.tables[0].get("nrr", p, None).unwrap();
    assert_eq!(nrr["n"].as_u64(), Some(want_nrr.n));
    assert!(nrr.get("numerator").is_some() && nrr.get("denominator").is_some() && nrr["flags"].is_array());

    // segmentation and CSV of the same table
    let seg = get(a, &format!("/api/kpis?kpi=mrr&period={p}&segment_by=plan"), &w.read).json();
    let seg_sum: i64 = seg["rows"].as_array().unwrap().iter().filter(|r| !r["segment"].is_null()).map(|r| r["value"].as_i64().unwrap()).sum();
    assert_eq!(seg_sum, want_mrr, "plan segments add up to the total");
    let csv = get(a, &format!("/api/kpis?kpi=mrr&period={p}&format=csv"), &w.read);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("kpi,period,period_start,period_end,segment,value,unit,numerator,denominator,n,flags"));
    assert!(lines.next().unwrap().starts_with(&format!("mrr,{p},")));

    // the overview: the same MRR, and flows that roll the previous MRR forward to it
    let o = get(a, &format!("/api/overview?period=2023-01..{p}"), &w.read).json();
    assert_eq!(o["period"], p.as_str());
    let tile = o["tiles"].as_array().unwrap().iter().find(|t| t["kpi"] == "mrr").unwrap();
    assert_eq!(tile["value"].as_f64(), Some(want_mrr as f64));
    let flows: i64 = o["flows"].as_array().unwrap().iter().map(|f| f[1].as_i64().unwrap()).sum();
    assert_eq!(tile["previous"].as_f64().unwrap() as i64 + flows, want_mrr, "previous MRR + flows = MRR");
    assert_eq!(o["mrr"].as_array().unwrap().last().unwrap()[1].as_i64(), Some(want_mrr));

    // movements of one customer, paginated, equal the ledger's rows
    let top = (0..run.customers.len()).max_by_key(|&i| (run.ledger.iter().filter(|x| x.customer == i as u32).count(), std::cmp::Reverse(i))).unwrap();
    let id = snap.customers.ids.name(top as u32);
    let want: Vec<_> = run.ledger.iter().filter(|x| x.customer == top as u32 && x.kind != holdfast_engine::timeline::Kind::FxOnly).collect();
    let m = get(a, &format!("/api/movements?customer={id}&limit=2"), &w.read).json();
    assert_eq!(m["total"].as_u64(), Some(want.len() as u64));
    assert_eq!(m["rows"].as_array().unwrap().len(), 2.min(want.len()));
    assert_eq!(m["rows"][0]["amount"].as_i64(), Some(want[0].amount));
    let m2 = get(a, &format!("/api/movements?customer={id}&limit=2&offset=1"), &w.read).json();
    assert_eq!(m2["rows"][0], m["rows"][1], "offset moves the page by one row");
    let churn = get(a, &format!("/api/movements?type=churn&period={p}&limit=10000"), &w.read).json();
    let want_churn = match run.tables[0].get("churn_mrr", p, None).unwrap().value { Some(holdfast_engine::Value::Money(m)) => m, v => panic!("{v:?}") };
    let got: i64 = churn["rows"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!(got, want_churn, "the churn rows of a period sum to its churn MRR");

    // customers: sorted by MRR, filtered, searched
    let c = get(a, "/api/customers?status=active&limit=5", &w.read).json();
    let rows = c["rows"].as_array().unwrap();
    assert!(rows.windows(2).all(|p| p[0]["mrr"].as_i64() >= p[1]["mrr"].as_i64()));
    assert!(rows.iter().all(|r| r["status"] == "active"));
    let active = run.customers.iter().filter(|c| c.status == holdfast_engine::timeline::CustomerStatus::Active).count();
    assert_eq!(c["total"].as_u64(), Some(active as u64));
    let q = get(a, &format!("/api/customers?q={}", id.to_uppercase()), &w.read).json();
    assert!(q["rows"].as_array().unwrap().iter().any(|r| r["customer_id"] == id), "search ignores case");
    let by_id = get(a, "/api/customers?sort=id&limit=3", &w.read).json();
    assert_eq!(by_id["rows"][0]["customer_id"], snap.customers.ids.name(0));

    // Customer 360 with the explained timeline
    let d = get(a, &format!("/api/customers/{id}"), &w.read);
    assert_eq!(d.status, 200, "{}", d.text());
    let d = d.json();
    let tl = d["timeline"].as_array().unwrap();
    assert_eq!(tl.last().unwrap()["mrr_after"].as_i64(), Some(run.customers[top].mrr));
    assert!(tl.iter().any(|r| !r["subscriptions"].as_array().unwrap().is_empty()), "rows carry their subscriptions");
    let dcsv = get(a, &format!("/api/customers/{id}?format=csv"), &w.read);
    assert!(dcsv.text().starts_with("effective_at,type,amount"));
    assert_eq!(get(a, "/api/customers/nobody", &w.read).status, 404);

    // policy overrides change the run: without grouping there are at least as many ledger rows
    let g0 = get(a, "/api/movements?set=grouping_window_minutes=0&limit=1", &w.read).json();
    let g = get(a, "/api/movements?limit=1", &w.read).json();
    assert!(g0["total"].as_u64() >= g["total"].as_u64());
    assert_ne!(g0["settings_hash"], g["settings_hash"]);
}

#[test]
fn bad_parameters_are_400s_naming_the_parameter() {
    let w = world();
    let a = w.srv.addr;
    for (path, field) in [
        ("/api/kpis?grian=month", "grian"),
        ("/api/kpis?grain=fortnight", "grain"),
        ("/api/kpis?period=2024-13", "period"),
        ("/api/kpis?kpi=mrrr", "kpi"),
        ("/api/kpis?set=no_such_key=1", "set"),
        ("/api/kpis?preset=quickbooks&set=grouping_window_minutes=0", "preset"),
        ("/api/kpis?format=xml", "format"),
        ("/api/movements?type=upgrade", "type"),
        ("/api/movements?customer=nobody", "customer"),
        ("/api/customers?status=happy", "status"),
        ("/api/customers?limit=0", "limit"),
        ("/api/customers?sort=size", "sort"),
    ] {
        let r = get(a, path, &w.read);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{path}: {}", r.text());
    }
}

#[test]
fn auth_failures_are_401_and_403() {
    let w = world();
    let a = w.srv.addr;
    let none = request(a, "GET", "/api/kpis", &[], b"");
    assert_eq!(none.status, 401);
    assert!(none.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert_eq!(get(a, "/api/kpis", "hf_000000000000_deadbeef").status, 401);
    assert_eq!(get(a, "/api/kpis", &w.ingest).status, 403, "ingest keys cannot read");
    assert_eq!(get(a, "/api/kpis?kpi=mrr&limit=1", &w.admin).status, 200, "admin keys can");
    let body = br#"{"kpi":"mrr","period":"2024-01","kind":"reach","target":"1000"}"#;
    let r = request(a, "POST", "/api/targets", &[("Authorization", &format!("Bearer {}", w.read)), ("Content-Type", "application/json")], body);
    assert_eq!(r.status, 403, "read keys cannot write: {}", r.text());
    let conn = server_db(&w.fx.db);
    let id = w.read.split('_').nth(1).unwrap();
    assert!(auth::revoke_key(&conn, id).unwrap());
    assert_eq!(get(a, "/api/status", &w.read).status, 401, "a revoked key is refused at once");
    assert_eq!(request(a, "GET", "/api/openapi.json", &[], b"").status, 200, "the API description is public");
}

#[test]
fn targets_api_validates_json_and_sizes() {
    let w = world();
    let a = w.srv.addr;
    let auth_h = format!("Bearer {}", w.admin);
    let post = |body: &[u8]| request(a, "POST", "/api/targets", &[("Authorization", &auth_h), ("Content-Type", "application/json")], body);
    for (body, field) in [
        (&br#"{"kpi":"mrr","period":7,"kind":"reach","target":"1"}"#[..], "period"),
        (br#"{"kpi":"mrr","period":"2024-01","kind":"reach"}"#, "target"),
        (br#"{"kpi":"mrr","period":"2024-01","kind":"reach","target":"1","colour":"red"}"#, "colour"),
        (br#"{"kpi":"mrr","period":"2024-01","kind":"climb","target":"1"}"#, "kind"),
        (br#"{"kpi":"mrr","period":"2024-01","kind":"reach","target":"12.345"}"#, "target"),
        (br#"{"kpi":"happiness","period":"2024-01","kind":"reach","target":"1"}"#, "kpi"),
        (br#"{"kpi":"mrr","period":"2024-1x","kind":"reach","target":"1"}"#, "period"),
    ] {
        let r = post(body);
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"]["field"], field, "{}", r.text());
    }
    let r = post(b"{\"kpi\": \"mrr\",");
    assert_eq!(r.status, 400, "truncated JSON: {}", r.text());
    let big = format!("{{\"kpi\":\"mrr\",\"owner\":\"{}\"}}", "x".repeat(200 * 1024));
    assert_eq!(post(big.as_bytes()).status, 413);

    let ok = post(br#"{"kpi":"nrr","period":"2024-01","kind":"stay_above","target":"95","owner":"ana"}"#);
    assert_eq!(ok.status, 201, "{}", ok.text());
    let t = ok.json();
    assert_eq!(t["target"], 950_000, "95 % is stored as 950 000 millionths");
    let list = get(a, "/api/targets", &w.read).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let del = request(a, "DELETE", &format!("/api/targets/{}", t["id"]), &[("Authorization", &auth_h)], b"");
    assert_eq!(del.status, 204);
    assert_eq!(get(a, "/api/targets", &w.read).json().as_array().unwrap().len(), 0);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let fx = store(20, 3);
    let key = auth::create_key(&server_db(&fx.db), Scope::Read, None).unwrap().0;
    let mut cfg = config(&fx.db);
    cfg.rate_limit_per_second = 0.01;
    cfg.rate_limit_burst = 3.0;
    let srv = start(cfg);
    for _ in 0..3 {
        assert_eq!(get(srv.addr, "/api/status", &key).status, 200);
    }
    let r = get(srv.addr, "/api/status", &key);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
}

fn sign(payload: &[u8], secret: &str, t: i64) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(payload);
    let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={sig}")
}

#[test]
fn stripe_webhook_verifies_applies_once_and_refreshes_results() {
    let w = world();
    let a = w.srv.addr;
    let now = auth::now();
    let event = serde_json::json!({"object": "event", "id": "evt_hook_1", "type": "customer.created", "created": now - 10,
        "data": {"object": {"object": "customer", "id": "cus_webhook", "name": "Hooked Ltd", "email": "ops@hooked.example", "created": now - 20}}});
    let payload = serde_json::to_vec(&event).unwrap();
    let fingerprint = || holdfast_store::SqliteStore::open(&w.fx.db).unwrap().content_fingerprint().unwrap();
    let before = fingerprint();
    let post = |sig: &str| request(a, "POST", "/webhooks/stripe", &[("Stripe-Signature", sig), ("Content-Type", "application/json")], &payload);

    // bad signatures: 400, store unchanged
    for sig in [sign(&payload, "whsec_wrong", now), sign(b"{}", "whsec_test", now), sign(&payload, "whsec_test", now - 3600), "garbage".to_string()] {
        let r = post(&sig);
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"]["field"], "Stripe-Signature");
    }
    assert_eq!(fingerprint(), before, "a refused webhook leaves the store unchanged");
    let n: i64 = server_db(&w.fx.db).query_row("SELECT count(*) FROM stripe_webhook_events", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);

    // a good one is applied, and the API sees the new customer (the cache follows the import)
    let ok = post(&sign(&payload, "whsec_test", now));
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["outcome"], "applied");
    assert!(ok.json()["inserted"].as_u64().unwrap() >= 1);
    let after = fingerprint();
    assert_ne!(after, before);
    let found = get(a, "/api/customers?q=cus_webhook", &w.read).json();
    assert_eq!(found["total"], 1, "{found}");

    // redelivery: acknowledged, nothing changes
    let again = post(&sign(&payload, "whsec_test", now));
    assert_eq!(again.json()["outcome"], "duplicate");
    assert_eq!(fingerprint(), after);

    // a webhook body over the limit is refused before it is read
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = request(a, "POST", "/webhooks/stripe", &[("Stripe-Signature", "t=1,v1=00")], &big);
    assert_eq!(r.status, 413);
}

#[test]
fn openapi_document_lists_every_api_route() {
    let w = world();
    let doc = request(w.srv.addr, "GET", "/api/openapi.json", &[], b"").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    let want = [
        ("/api/status", "get"),
        ("/api/kpis", "get"),
        ("/api/overview", "get"),
        ("/api/movements", "get"),
        ("/api/customers", "get"),
        ("/api/customers/{id}", "get"),
        ("/api/targets", "get"),
        ("/api/targets", "post"),
        ("/api/targets/{id}", "delete"),
        ("/webhooks/stripe", "post"),
        ("/v1/track", "post"),
        ("/v1/identify", "post"),
        ("/v1/group", "post"),
        ("/v1/page", "post"),
        ("/v1/batch", "post"),
    ];
    for (p, m) in want {
        assert!(paths.get(p).and_then(|x| x.get(m)).is_some(), "{m} {p} missing from the document");
    }
    assert_eq!(paths.values().map(|v| v.as_object().unwrap().len()).sum::<usize>(), want.len(), "no undocumented extras: {:?}", paths.keys());
    // every documented route answers (not 404/405) on the real server
    for (p, m) in want {
        let path = p.replace("{id}", "1");
        let r = request(w.srv.addr, &m.to_uppercase(), &path, &[("Authorization", &format!("Bearer {}", w.admin))], b"{}");
        assert!(r.status != 404 || p.contains("{id}"), "{m} {p}: {}", r.status);
        assert_ne!(r.status, 405, "{m} {p}");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
}

#[test]
fn dashboard_login_sessions_roles_and_csrf() {
    let w = world();
    let a = w.srv.addr;
    let conn = server_db(&w.fx.db);
    auth::create_user(&conn, "ana", "correct horse", Role::Admin).unwrap();
    auth::create_user(&conn, "rui", "battery staple", Role::Read).unwrap();

    let r = request(a, "GET", "/revenue", &[], b"");
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().starts_with("/login?next="));

    let login = |user: &str, pw: &str| -> (u16, Option<String>) {
        let page = request(a, "GET", "/login", &[], b"");
        let csrf_cookie = page.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
        let token = csrf_cookie.split_once('=').unwrap().1.to_string();
        let body = format!("username={user}&password={}&csrf={token}&next=%2Frevenue", pw.replace(' ', "+"));
        let r = request(a, "POST", "/login", &[("Cookie", &csrf_cookie), ("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes());
        let session = r.all_headers("set-cookie").into_iter().find(|c| c.starts_with("holdfast_session=")).map(String::from);
        if r.status == 303 {
            assert_eq!(r.header("location"), Some("/revenue"));
        }
        (r.status, session)
    };
    assert_eq!(login("ana", "wrong horse").0, 401);
    let (st, cookie) = login("ana", "correct horse");
    assert_eq!(st, 303);
    let cookie = cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();

    for path in ["/", "/revenue", "/customers", "/movements", "/targets", "/revenue?segment_by=plan", "/customers?status=active&sort=name"] {
        let r = request(a, "GET", path, &[("Cookie", &session)], b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r.text().contains("data-chart") || path.starts_with("/customers") || path.starts_with("/movements") || path.starts_with("/targets"), "{path}");
    }
    // a session may read the API but not write it
    assert_eq!(request(a, "GET", "/api/kpis?kpi=mrr&limit=1", &[("Cookie", &session)], b"").status, 200);
    assert_eq!(request(a, "POST", "/api/targets", &[("Cookie", &session)], b"{}").status, 403);

    // forms need the CSRF token of the session
    let page = request(a, "GET", "/targets", &[("Cookie", &session)], b"").text();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let form = |csrf: &str, session: &str| request(a, "POST", "/targets", &[("Cookie", session), ("Content-Type", "application/x-www-form-urlencoded")], format!("csrf={csrf}&kpi=mrr&grain=month&period=2024-06&kind=reach&target=12000&owner=ana").as_bytes());
    assert_eq!(form("forged", &session).status, 403);
    assert_eq!(holdfast_server::targets::list(&conn).unwrap().len(), 0);
    assert_eq!(form(&csrf, &session).status, 303);
    let t = holdfast_server::targets::list(&conn).unwrap();
    assert_eq!((t.len(), t[0].target), (1, 1_200_000), "12000 currency units in minor units");

    // the read-only role sees pages but cannot add targets
    let (_, rc) = login("rui", "battery staple");
    let rs = rc.unwrap().split(';').next().unwrap().to_string();
    let page = request(a, "GET", "/targets", &[("Cookie", &rs)], b"").text();
    assert!(page.contains("Only admins can add targets"));
    let rcsrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(form(&rcsrf, &rs).status, 403);

    // password guessing is slowed per user name: 10 attempts, then 429
    let mut last = 0;
    for _ in 0..9 {
        last = login("rui", "guess guess").0;
    }
    assert_eq!(last, 401);
    assert_eq!(login("rui", "battery staple").0, 429, "the 11th attempt (even right) waits");
    assert_eq!(login("ana", "correct horse").0, 303, "other users are not affected");

    // logout ends the session
    let out = request(a, "POST", "/logout", &[("Cookie", &session), ("Content-Type", "application/x-www-form-urlencoded")], format!("csrf={csrf}").as_bytes());
    assert_eq!(out.status, 303);
    assert_eq!(request(a, "GET", "/", &[("Cookie", &session)], b"").status, 303);

    // assets: embedded, cached
    let e = request(a, "GET", holdfast_server::assets::ECHARTS_PATH, &[], b"");
    assert_eq!(e.status, 200);
    assert!(e.body.len() > 500_000);
    assert!(e.header("cache-control").unwrap().contains("immutable"));
}
