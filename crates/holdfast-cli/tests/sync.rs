//! `holdfast sync stripe` as a black box against the fake Stripe API on loopback: the same report as
//! `import stripe` of the same objects, idempotent re-runs, exit codes, and an API key that never appears
//! in stdout, stderr or logs — even at `--log trace`.
#[path = "../../holdfast-stripe/tests/support/fake_stripe.rs"]
mod fake_stripe;

use fake_stripe::{FakeStripe, Fault};
use std::path::Path;
use std::process::{Command, Output};

const KEY: &str = "sk_test_51CliKeyThatMustNeverBePrinted";

fn holdfast(dir: &Path, key: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    c.current_dir(dir).args(args).env_remove("RUST_LOG").env_remove("HOLDFAST_DB").env_remove("HOLDFAST_CONFIG").env_remove("STRIPE_API_KEY");
    if let Some(k) = key {
        c.env("STRIPE_API_KEY", k);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn ok(o: &Output) -> String {
    let (out, err) = text(o);
    assert!(o.status.success(), "exit {:?}\nstdout:\n{out}\nstderr:\n{err}", o.status.code());
    out
}

fn server() -> FakeStripe {
    let s = FakeStripe::start(KEY);
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdfast-stripe/tests/fixtures");
    s.add_dir(&fx.join("cm_basil"));
    s.add_dir(&fx.join("basil_invoice"));
    s
}

fn assert_no_key(o: &Output, key: &str) {
    let (out, err) = text(o);
    assert!(!out.contains(key) && !err.contains(key), "the key leaked:\nstdout:\n{out}\nstderr:\n{err}");
}

#[test]
fn sync_gives_the_import_report_is_idempotent_and_never_shows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = server();
    server.fault("/v1/customers", 1, Fault::Status { code: 429, retry_after: Some(1) });
    server.fault("/v1/invoices?limit=2&starting_after=", 1, Fault::Status { code: 500, retry_after: None });
    server.fault("/v1/prices", 1, Fault::Drop);
    let sync = ["--db", "synced.db", "--log", "trace", "sync", "stripe", "--base-url", &server.base_url, "--page-limit", "2"];
    let o = holdfast(d, Some(KEY), &sync);
    assert_no_key(&o, KEY);
    let out = ok(&o);
    assert!(out.contains("full sync (first sync of this store)"), "{out}");
    assert!(out.contains("3 retried"), "{out}");
    let (_, logs) = text(&o);
    assert!(logs.contains("retrying"), "retries are logged:\n{logs}");

    // Same report as an import of the same objects.
    std::fs::create_dir(d.join("export")).unwrap();
    server.export(&d.join("export"));
    ok(&holdfast(d, None, &["--db", "imported.db", "import", "stripe", "export"]));
    let report = |db: &str| ok(&holdfast(d, None, &["--db", db, "report", "--format", "json"]));
    assert_eq!(report("synced.db"), report("imported.db"));

    // Again: incremental, nothing changes.
    let o = holdfast(d, Some(KEY), &sync);
    assert_no_key(&o, KEY);
    let out = ok(&o);
    assert!(out.contains("incremental sync") && out.contains("0 inserted, 0 updated"), "{out}");
    assert_eq!(report("synced.db"), report("imported.db"));
}

#[test]
fn key_from_config_and_clear_failures_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = server();
    let base = server.base_url.clone();

    // No key anywhere: configuration error.
    let o = holdfast(d, None, &["--db", "s.db", "sync", "stripe", "--base-url", &base]);
    assert_eq!(o.status.code(), Some(78));
    assert!(text(&o).1.contains("STRIPE_API_KEY"), "{}", text(&o).1);

    // A wrong key: Stripe's 401 (which echoes the key it got) → 78, the key scrubbed.
    let wrong = "sk_test_wrongKeyEchoedByTheServer";
    let o = holdfast(d, Some(wrong), &["--db", "s.db", "--log", "trace", "sync", "stripe", "--base-url", &base]);
    assert_eq!(o.status.code(), Some(78), "{:?}", text(&o));
    assert_no_key(&o, wrong);
    assert!(text(&o).1.contains("HTTP 401"), "{}", text(&o).1);

    // Plain HTTP to a remote host: refused before any request.
    let o = holdfast(d, Some(KEY), &["--db", "s.db", "sync", "stripe", "--base-url", "http://api.stripe.com"]);
    assert_eq!(o.status.code(), Some(78));

    // The key from [stripe] api_key.
    std::fs::write(d.join("holdfast.toml"), format!("[stripe]\napi_key = \"{KEY}\"\n")).unwrap();
    let o = holdfast(d, None, &["--db", "s.db", "--log", "debug", "sync", "stripe", "--base-url", &base, "--page-limit", "2"]);
    assert_no_key(&o, KEY);
    ok(&o);
    let status_before = ok(&holdfast(d, None, &["--db", "s.db", "status"]));
    assert!(status_before.contains(&format!("stripe sync from {base} (Stripe-Version 2025-03-31.basil): cursor ")), "{status_before}");

    // A has_more page that never comes: exit 74, nothing written.
    server.fault("/v1/invoices?limit=2&starting_after=", usize::MAX, Fault::Status { code: 502, retry_after: None });
    let o = holdfast(d, None, &["--db", "s.db", "sync", "stripe", "--base-url", &base, "--page-limit", "2", "--full", "--max-attempts", "2"]);
    assert_no_key(&o, KEY);
    assert_eq!(o.status.code(), Some(74), "{:?}", text(&o));
    let err = text(&o).1;
    assert!(err.contains("invoices: incomplete list") && err.contains("nothing was written"), "{err}");
    assert_eq!(ok(&holdfast(d, None, &["--db", "s.db", "status"])), status_before);
}
