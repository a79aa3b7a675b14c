//! Shared by the black-box tests: a real SQLite store of a simulated company, the real server on a random
//! loopback port, and a minimal HTTP/1.1 client (so the tests exercise the wire, not a mock).
#![allow(dead_code)] // each test binary uses a different part
use holdfast_server::{RunningServer, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

/// A store holding a simulated company of `customers` × `months`.
pub fn store(customers: usize, months: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("holdfast.db");
    let mut store = holdfast_store::SqliteStore::open(&db).unwrap();
    let data = holdfast_sim::generate_dataset(&holdfast_sim::SimConfig::new(7, customers, months));
    holdfast_store::import_records(&mut store, data.into_records()).unwrap();
    Fixture { dir, db }
}

pub fn config(db: &Path) -> ServerConfig {
    let mut c = ServerConfig::new(db.to_path_buf());
    c.secure_cookies = false;
    c.refresh_interval = Duration::ZERO;
    c.stripe_webhook_secrets = vec!["whsec_test".into()];
    c
}

pub fn start(cfg: ServerConfig) -> RunningServer {
    RunningServer::start(cfg, "127.0.0.1:0".parse().unwrap()).unwrap()
}

pub fn server_db(db: &Path) -> rusqlite::Connection {
    holdfast_server::auth::open_server_db(db).unwrap()
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn all_headers(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One request on a fresh connection.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // a server may answer (413) before reading a large body and close: ignore a failed write
    let _ = s.write_all(body);
    // read to the end of the body by Content-Length (some servers, like Chromium's, keep the connection open)
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok()) {
                if raw.len() >= end + 4 + len {
                    break;
                }
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    parse(&raw)
}

pub fn get(addr: SocketAddr, path: &str, key: &str) -> Resp {
    let auth = format!("Bearer {key}");
    request(addr, "GET", path, &[("Authorization", &auth)], b"")
}

fn parse(raw: &[u8]) -> Resp {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let mut body = raw[end + 4..].to_vec();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Resp { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
    out
}
