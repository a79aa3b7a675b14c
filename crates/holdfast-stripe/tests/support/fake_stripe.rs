//! A fake Stripe API on loopback for sync tests: real HTTP/1.1 over `std::net::TcpListener`, serving list
//! pages (`limit`, `starting_after`, `has_more`, `url`) of recorded objects, with faults injected at the TCP
//! level (status codes with `Retry-After`, dropped connections, truncated or invalid bodies). Every response
//! closes its connection, so each request is one TCP connection and a fault hits exactly one request.
#![allow(dead_code)] // each test binary uses a different part
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a faulty response does.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status with a Stripe error body (and `Retry-After` seconds if given).
    Status { code: u16, retry_after: Option<u64> },
    /// This status with `Stripe-Should-Retry: false`.
    StatusNoRetry { code: u16 },
    /// Close the connection without answering.
    Drop,
    /// Announce the full `Content-Length`, send half the body, close.
    TruncateBody,
    /// A complete response whose body is the first half of the JSON.
    InvalidJson,
}

/// Apply `fault` to the next `times` requests whose target (path and query) contains `target`.
#[derive(Clone, Debug)]
pub struct FaultRule {
    pub target: String,
    pub times: usize,
    pub fault: Fault,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Logged {
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    /// Objects per list path, in the order served (Stripe's is newest first; tests need only a fixed order).
    lists: BTreeMap<String, Vec<Value>>,
    faults: Vec<FaultRule>,
    log: Vec<Logged>,
}

pub struct FakeStripe {
    pub base_url: String,
    pub key: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The list path that serves objects of `object` type (`None`: no list endpoint, e.g. `discount`).
fn list_path(o: &Value) -> Option<String> {
    let t = o.get("object")?.as_str()?;
    Some(
        match t {
            "customer" => "/v1/customers",
            "product" => "/v1/products",
            "price" | "plan" => "/v1/prices",
            "coupon" => "/v1/coupons",
            "subscription" => "/v1/subscriptions",
            "subscription_schedule" => "/v1/subscription_schedules",
            "invoice" => "/v1/invoices",
            "credit_note" => "/v1/credit_notes",
            "refund" => "/v1/refunds",
            "event" => "/v1/events",
            "subscription_item" => "/v1/subscription_items",
            _ => return None,
        }
        .to_string(),
    )
}

impl FakeStripe {
    /// Starts a server that accepts `Authorization: Bearer {key}`.
    pub fn start(key: &str) -> FakeStripe {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, k) = (state.clone(), stop.clone(), key.to_string());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, k) = (st.clone(), k.clone());
                std::thread::spawn(move || serve(conn, &st, &k));
            }
        });
        FakeStripe { base_url: format!("http://{addr}"), key: key.to_string(), state, stop, addr, thread: Some(thread) }
    }

    /// Adds objects (list pages and arrays are flattened; a page whose `url` is `/v1/invoices/{id}/lines`
    /// serves those lines there). Objects without a list endpoint are dropped.
    pub fn add(&self, doc: Value) {
        let mut s = self.state.lock().unwrap();
        add_doc(&mut s.lists, doc, None);
    }

    /// Adds every `.json` / `.jsonl` file of a directory (name order).
    pub fn add_dir(&self, dir: &Path) {
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            match f.extension().and_then(|e| e.to_str()) {
                Some("json") => self.add(serde_json::from_str(&text).unwrap()),
                Some("jsonl") => text.lines().filter(|l| !l.trim().is_empty()).for_each(|l| self.add(serde_json::from_str(l).unwrap())),
                _ => {}
            }
        }
    }

    /// Writes what the server serves as an export directory for `holdfast import stripe`: one list page
    /// per endpoint (lines pages with their `url`), events as JSONL.
    pub fn export(&self, dir: &Path) {
        let s = self.state.lock().unwrap();
        for (i, (path, objs)) in s.lists.iter().enumerate() {
            let name = format!("{i:02}{}", path.replace('/', "_"));
            if path == "/v1/events" {
                let text: String = objs.iter().map(|o| format!("{o}\n")).collect();
                std::fs::write(dir.join(format!("{name}.jsonl")), text).unwrap();
            } else {
                let page = json!({"object": "list", "url": path, "has_more": false, "data": objs});
                std::fs::write(dir.join(format!("{name}.json")), page.to_string()).unwrap();
            }
        }
    }

    pub fn fault(&self, target: &str, times: usize, fault: Fault) {
        self.state.lock().unwrap().faults.push(FaultRule { target: target.into(), times, fault });
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn add_doc(lists: &mut BTreeMap<String, Vec<Value>>, doc: Value, at: Option<&str>) {
    match doc {
        Value::Array(a) => a.into_iter().for_each(|d| add_doc(lists, d, at)),
        Value::Object(mut m) if m.get("object").and_then(Value::as_str) == Some("list") => {
            let url = m.get("url").and_then(Value::as_str).map(str::to_string);
            let lines_url = url.filter(|u| u.starts_with("/v1/invoices/") && u.ends_with("/lines"));
            if let Some(Value::Array(a)) = m.remove("data") {
                a.into_iter().for_each(|d| add_doc(lists, d, lines_url.as_deref()));
            }
        }
        o => {
            let path = match at {
                Some(p) => Some(p.to_string()),
                None => list_path(&o),
            };
            if let Some(p) = path {
                lists.entry(p).or_default().push(o);
            }
        }
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn serve(mut conn: TcpStream, state: &Mutex<State>, key: &str) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        if reader.read_line(&mut l).is_err() || l == "\r\n" || l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let fault = {
        let mut s = state.lock().unwrap();
        s.log.push(Logged { target: target.clone(), headers: headers.clone(), at: Instant::now() });
        let rule = s.faults.iter_mut().find(|r| r.times > 0 && target.contains(&r.target));
        rule.map(|r| {
            r.times -= 1;
            r.fault.clone()
        })
    };
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (status, body, retry_after) = if method != "GET" {
        (405, error_body("only GET is served"), None)
    } else if header("authorization") != Some(&format!("Bearer {key}")) {
        // Real Stripe echoes (part of) the key it got; this echoes all of it, to test that callers scrub.
        let got = header("authorization").unwrap_or("").trim_start_matches("Bearer ");
        (401, error_body(&format!("Invalid API Key provided: {got}")), None)
    } else {
        match fault.clone() {
            Some(Fault::Status { code, retry_after }) => (code, error_body("injected failure"), retry_after),
            Some(Fault::StatusNoRetry { code }) => (code, error_body("injected failure, not to be retried"), None),
            _ => {
                let s = state.lock().unwrap();
                match page(&s.lists, &target) {
                    Some(p) => (200, p.to_string(), None),
                    None => (404, error_body(&format!("Unrecognized request URL (GET: {target})")), None),
                }
            }
        }
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nConnection: close\r\n");
    if matches!(fault, Some(Fault::StatusNoRetry { .. })) {
        head.push_str("Stripe-Should-Retry: false\r\n");
    }
    if let Some(s) = retry_after {
        head.push_str(&format!("Retry-After: {s}\r\n"));
    }
    let bytes = body.as_bytes();
    match fault {
        Some(Fault::Drop) => {}
        Some(Fault::TruncateBody) => {
            let _ = conn.write_all(format!("{head}Content-Length: {}\r\n\r\n", bytes.len()).as_bytes());
            let _ = conn.write_all(&bytes[..bytes.len() / 2]);
        }
        Some(Fault::InvalidJson) => {
            let half = &bytes[..bytes.len() / 2];
            let _ = conn.write_all(format!("{head}Content-Length: {}\r\n\r\n", half.len()).as_bytes());
            let _ = conn.write_all(half);
        }
        _ => {
            let _ = conn.write_all(format!("{head}Content-Length: {}\r\n\r\n", bytes.len()).as_bytes());
            let _ = conn.write_all(bytes);
        }
    }
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

fn error_body(message: &str) -> String {
    json!({"error": {"type": "api_error", "message": message}}).to_string()
}

/// The page of a list request, like Stripe's: `limit` (default 10), `starting_after`, filters
/// `status` (subscriptions: canceled ones only with `status=all`), `created[gte]` (events) and
/// `subscription` (subscription items).
fn page(lists: &BTreeMap<String, Vec<Value>>, target: &str) -> Option<Value> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let q: BTreeMap<String, String> = query.split('&').filter(|p| !p.is_empty()).filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect();
    let empty = Vec::new();
    let all = match lists.get(path) {
        Some(a) => a,
        None if path.starts_with("/v1/") && path.matches('/').count() == 2 => &empty,
        None if path.starts_with("/v1/invoices/") && path.ends_with("/lines") => &empty,
        None => return None,
    };
    let keep = |o: &&Value| {
        if path == "/v1/subscriptions" && q.get("status").map(String::as_str) != Some("all") && o["status"] == "canceled" {
            return false;
        }
        if let Some(gte) = q.get("created[gte]") {
            if o["created"].as_i64().unwrap_or(0) < gte.parse::<i64>().unwrap() {
                return false;
            }
        }
        if let Some(sub) = q.get("subscription") {
            if o["subscription"].as_str() != Some(sub) {
                return false;
            }
        }
        true
    };
    let filtered: Vec<&Value> = all.iter().filter(keep).collect();
    let start = match q.get("starting_after") {
        Some(id) => filtered.iter().position(|o| o["id"].as_str() == Some(id))? + 1,
        None => 0,
    };
    let limit: usize = q.get("limit").map(|l| l.parse().unwrap()).unwrap_or(10);
    let data: Vec<Value> = filtered.iter().skip(start).take(limit).map(|o| (*o).clone()).collect();
    let has_more = start + data.len() < filtered.len();
    Some(json!({"object": "list", "url": path, "has_more": has_more, "data": data}))
}
