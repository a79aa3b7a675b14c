//! Loopback load test of the server: a simulated company in a real SQLite store, the real server, and
//! `--clients` concurrent keep-alive HTTP/1.1 clients hammering one URL for `--seconds`. Prints latency
//! percentiles, throughput and errors (anything but 200).
//!
//! ```sh
//! cargo run --release -p holdfast-server --example loadgen -- --customers 100000 --months 36 --clients 50 --seconds 20
//! ```
//! The store is generated once into `--db` (default `target/bench/loadgen-<customers>.db`) and reused.
//!
//! `--ingest N` measures the Segment ingest endpoint instead: each client POSTs `/v1/batch` bodies of `N`
//! distinct track messages (fresh `messageId`s, 20 000 users, 12 event names, 30 days) and the run prints
//! events per second and errors:
//! ```sh
//! cargo run --release -p holdfast-server --example loadgen -- --customers 1000 --months 12 --ingest 500 --clients 4 --seconds 20
//! ```
use holdfast_server::auth::{self, Role, Scope};
use holdfast_server::{RunningServer, ServerConfig};
use holdfast_store::Store as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Args {
    customers: usize,
    months: u32,
    clients: usize,
    seconds: u64,
    db: Option<PathBuf>,
    path: Option<String>,
    /// Messages per `/v1/batch` request (ingest mode).
    ingest: Option<usize>,
}

fn args() -> Args {
    let mut a = Args { customers: 100_000, months: 36, clients: 50, seconds: 20, db: None, path: None, ingest: None };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--customers" => a.customers = val.parse().expect("--customers N"),
            "--months" => a.months = val.parse().expect("--months N"),
            "--clients" => a.clients = val.parse().expect("--clients N"),
            "--seconds" => a.seconds = val.parse().expect("--seconds N"),
            "--db" => a.db = Some(val.into()),
            "--path" => a.path = Some(val),
            "--ingest" => a.ingest = Some(val.parse().expect("--ingest N")),
            x => panic!("unknown argument {x:?} (known: --customers --months --clients --seconds --db --path --ingest)"),
        }
        i += 2;
    }
    a
}

/// One GET on a kept-alive connection; returns the status.
fn get(conn: &mut BufReader<TcpStream>, req: &[u8]) -> std::io::Result<u16> {
    conn.get_mut().write_all(req)?;
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body)?;
    Ok(status)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

fn run_load(addr: SocketAddr, path: &str, auth_header: &str, clients: usize, seconds: u64) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth_header}\r\n\r\n").into_bytes();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let t0 = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let req = req.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::with_capacity(100_000);
                let mut errors = 0u64;
                let mut conn = BufReader::new(TcpStream::connect(addr).unwrap());
                conn.get_ref().set_nodelay(true).unwrap();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match get(&mut conn, &req) {
                        Ok(200) => lat.push(t.elapsed().as_micros() as u32),
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            conn = BufReader::new(TcpStream::connect(addr).unwrap());
                        }
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (l, e) = h.join().unwrap();
        all.extend(l);
        errors += e;
    }
    let secs = t0.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "{path}\n  {clients} clients, {secs:.1} s: {} ok, {errors} errors, {:.0} req/s; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        all.len(),
        all.len() as f64 / secs,
        pct(&all, 0.5),
        pct(&all, 0.9),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
}

/// One `/v1/batch` body of `n` distinct track messages; `seq` makes the message ids unique.
fn batch_body(client: usize, seq: &mut u64, n: usize, out: &mut String) {
    use std::fmt::Write as _;
    const EVENTS: [&str; 12] = ["Signed In", "Report Viewed", "Report Shared", "Dashboard Created", "Export Run", "Filter Applied", "Comment Added", "Invite Sent", "Alert Created", "Search", "Settings Changed", "Heartbeat"];
    out.clear();
    out.push_str("{\"batch\":[");
    for i in 0..n {
        *seq += 1;
        let x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ client as u64;
        let user = x % 20_000;
        let (day, secs) = (1 + (x >> 20) % 30, (x >> 8) % 86_400);
        let _ = write!(
            out,
            "{}{{\"type\":\"track\",\"messageId\":\"lg-{client}-{seq}\",\"userId\":\"user-{user}\",\"event\":\"{}\",\"context\":{{\"groupId\":\"acct-{}\"}},\"properties\":{{\"duration_ms\":{}}},\"timestamp\":\"2026-10-{day:02}T{:02}:{:02}:{:02}Z\"}}",
            if i == 0 { "" } else { "," },
            EVENTS[(x >> 40) as usize % EVENTS.len()],
            user / 8,
            (x >> 16) % 120_000,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
    }
    out.push_str("]}");
}

/// `clients` connections POSTing distinct batches of `n` messages for `seconds`.
fn run_ingest(addr: SocketAddr, auth_header: &str, n: usize, clients: usize, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let t0 = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let auth_header = auth_header.to_string();
            std::thread::spawn(move || {
                let (mut lat, mut errors, mut seq, mut bytes) = (Vec::new(), 0u64, 0u64, 0u64);
                let (mut body, mut req) = (String::new(), Vec::new());
                let mut conn = BufReader::new(TcpStream::connect(addr).unwrap());
                conn.get_ref().set_nodelay(true).unwrap();
                while Instant::now() < deadline {
                    batch_body(client, &mut seq, n, &mut body);
                    req.clear();
                    let _ = write!(req, "POST /v1/batch HTTP/1.1\r\nHost: {addr}\r\n{auth_header}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
                    req.extend_from_slice(body.as_bytes());
                    bytes += body.len() as u64;
                    let t = Instant::now();
                    match get(&mut conn, &req) {
                        Ok(200) => lat.push(t.elapsed().as_micros() as u32),
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            conn = BufReader::new(TcpStream::connect(addr).unwrap());
                        }
                    }
                }
                (lat, errors, bytes)
            })
        })
        .collect();
    let (mut all, mut errors, mut bytes) = (Vec::new(), 0, 0);
    for h in handles {
        let (l, e, b) = h.join().unwrap();
        all.extend(l);
        errors += e;
        bytes += b;
    }
    let secs = t0.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "POST /v1/batch ({n} messages, {:.0} KB per body)\n  {clients} clients, {secs:.1} s: {} ok, {errors} errors, {:.0} req/s, {:.0} events/s; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        bytes as f64 / (all.len() as u64 + errors).max(1) as f64 / 1024.0,
        all.len(),
        all.len() as f64 / secs,
        (all.len() * n) as f64 / secs,
        pct(&all, 0.5),
        pct(&all, 0.9),
        pct(&all, 0.99),
        pct(&all, 1.0)
    );
}

fn main() {
    let a = args();
    let db = a.db.clone().unwrap_or_else(|| PathBuf::from(format!("target/bench/loadgen-{}.db", a.customers)));
    if !db.exists() {
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        let t = Instant::now();
        let mut store = holdfast_store::SqliteStore::open(&db).unwrap();
        let data = holdfast_sim::generate_dataset(&holdfast_sim::SimConfig::new(7, a.customers, a.months));
        holdfast_store::import_records(&mut store, data.into_records()).unwrap();
        println!("generated and imported {} customers × {} months into {} in {:.1} s", a.customers, a.months, db.display(), t.elapsed().as_secs_f64());
    }
    let conn = auth::open_server_db(&db).unwrap();
    holdfast_store::SqliteStore::open(&db).unwrap(); // migrations
    let key = auth::create_key(&conn, Scope::Read, Some("loadgen")).unwrap().0;
    let ingest_key = auth::create_key(&conn, Scope::Ingest, Some("loadgen")).unwrap().0;
    auth::create_user(&conn, "loadgen", "loadgen-password", Role::Read).unwrap();
    let mut cfg = ServerConfig::new(db.clone());
    cfg.rate_limit_per_second = 1e9;
    cfg.rate_limit_burst = 1e9;
    cfg.secure_cookies = false;
    let srv = RunningServer::start(cfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = srv.addr;
    if let Some(n) = a.ingest {
        let usage_before = holdfast_store::SqliteStore::open(&db).unwrap().usage_counts().unwrap();
        run_ingest(addr, &format!("Authorization: Bearer {ingest_key}"), n, a.clients, a.seconds);
        let usage_after = holdfast_store::SqliteStore::open(&db).unwrap().usage_counts().unwrap();
        println!("  usage rows before {usage_before:?}\n  usage rows after  {usage_after:?}");
        return;
    }

    // first request: snapshot load and engine run (what a request pays after each import)
    let mut c = BufReader::new(TcpStream::connect(addr).unwrap());
    let auth_header = format!("Authorization: Bearer {key}");
    let t = Instant::now();
    let status = get(&mut c, format!("GET /api/status HTTP/1.1\r\nHost: {addr}\r\n{auth_header}\r\n\r\n").as_bytes()).unwrap();
    assert_eq!(status, 200);
    let t = Instant::now().max(t);
    let status = get(&mut c, format!("GET /api/kpis?kpi=mrr&limit=1 HTTP/1.1\r\nHost: {addr}\r\n{auth_header}\r\n\r\n").as_bytes()).unwrap();
    assert_eq!(status, 200);
    println!("cold: snapshot load + engine run + answer: {:.2} s", t.elapsed().as_secs_f64());

    // a session cookie for the HTML overview
    let session = auth::create_session(&conn, conn.query_row("SELECT id FROM users WHERE username = 'loadgen'", [], |r| r.get(0)).unwrap()).unwrap();
    let cookie = format!("Cookie: {}={session}", auth::SESSION_COOKIE);

    let overview_kpis = "mrr,arr,customers,net_new_mrr,customer_churn_rate,nrr,arpa,quick_ratio,new_business_mrr,expansion_mrr,reactivation_mrr,contraction_mrr,churn_mrr,fx_impact";
    let paths: Vec<(String, &str)> = match &a.path {
        Some(p) => vec![(p.clone(), auth_header.as_str())],
        None => vec![
            ("/api/overview".to_string(), auth_header.as_str()),
            (format!("/api/kpis?kpi={overview_kpis}"), auth_header.as_str()),
            ("/api/customers?limit=50".to_string(), auth_header.as_str()),
            ("/".to_string(), cookie.as_str()),
        ],
    };
    for (p, h) in &paths {
        run_load(addr, p, h, a.clients, a.seconds);
    }
}
