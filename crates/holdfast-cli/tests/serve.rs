//! Black-box tests of `holdfast serve`, `keys`, `users` and the demo's hand-over to the dashboard.
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn holdfast(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    c.current_dir(dir).env_remove("HOLDFAST_DB").env_remove("HOLDFAST_CONFIG").env_remove("HOLDFAST_PASSWORD").env_remove("HOLDFAST_STRIPE_WEBHOOK_SECRET").args(args);
    c
}

fn ok(o: Output) -> (String, String) {
    let (out, err) = (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(o.status.success(), "exit {:?}\nstdout:\n{out}\nstderr:\n{err}", o.status.code());
    (out, err)
}

#[test]
fn demo_keys_users_and_a_served_api() {
    let d = tempfile::tempdir().unwrap();
    let (out, _) = ok(holdfast(d.path(), &["demo", "--customers", "120", "--months", "6", "--out", "demo"]).output().unwrap());
    assert!(out.contains("holdfast serve --db demo/holdfast.db"), "{out}");
    let db = ["--db", "demo/holdfast.db"];

    let (key, err) = ok(holdfast(d.path(), &["keys", "create", "--scope", "read", "--name", "ci"]).args(db).output().unwrap());
    let key = key.trim().to_string();
    assert!(key.starts_with("hf_") && err.contains("scope read"), "{key} {err}");
    let bad = holdfast(d.path(), &["keys", "create", "--scope", "root"]).args(db).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected read, ingest or admin"));
    let (list, _) = ok(holdfast(d.path(), &["keys", "list"]).args(db).output().unwrap());
    let id = key.split('_').nth(1).unwrap();
    assert!(list.contains(id) && list.contains("active") && !list.contains(&key), "lists ids, never keys: {list}");

    let short = holdfast(d.path(), &["users", "create", "ana", "--admin", "--password", "short"]).args(db).output().unwrap();
    assert_eq!(short.status.code(), Some(2));
    ok(holdfast(d.path(), &["users", "create", "ana", "--admin"]).args(db).env("HOLDFAST_PASSWORD", "correct horse").output().unwrap());

    // the real command on a free port
    let mut child = holdfast(d.path(), &["serve", "--listen", "127.0.0.1:0"]).args(db).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let addr = line.split("http://").nth(1).unwrap().split('/').next().unwrap().to_string();
    let get = |path: &str, key: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n").unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    };
    let status = get("/api/status", &key);
    assert!(status.starts_with("HTTP/1.1 200") && status.contains("\"customers\":"), "{status}");
    ok(holdfast(d.path(), &["keys", "revoke", id]).args(db).output().unwrap());
    assert!(get("/api/status", &key).starts_with("HTTP/1.1 401"), "revocation from the CLI takes effect at once");
    child.kill().unwrap();
    child.wait().unwrap();

    let missing = holdfast(d.path(), &["serve", "--db", "nothing.db"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(66));
    let (doc, _) = ok(holdfast(d.path(), &["serve", "--print-openapi"]).output().unwrap());
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1") && v["paths"]["/api/kpis"].is_object());
}
