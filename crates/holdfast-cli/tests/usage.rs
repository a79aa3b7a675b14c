//! `holdfast import` with usage events and `holdfast report --section usage`, over real SQLite files.
mod common;
use common::{holdfast, ok_with_stderr as ok};
use std::path::Path;

fn track(id: &str, user: &str, event: &str, ts: &str) -> String {
    format!(r#"{{"type":"track","messageId":"{id}","userId":"{user}","event":"{event}","timestamp":"{ts}","context":{{"groupId":"cus_000000"}}}}"#)
}

fn usage_json(dir: &Path) -> serde_json::Value {
    let out = holdfast(dir, &["--db", "h.db", "report", "--section", "usage", "--format", "json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn value(doc: &serde_json::Value, kpi: &str, period: &str) -> serde_json::Value {
    doc["tables"][0]["results"].as_array().unwrap().iter().find(|r| r["kpi"] == kpi && r["period"] == period).unwrap_or_else(|| panic!("no {kpi} {period}"))["value"].clone()
}

#[test]
fn events_import_with_billing_dedupe_across_imports_and_report() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(&holdfast(p, &["generate", "--out", "data", "--customers", "40", "--months", "8", "--seed", "5"]));
    assert!(p.join("data/events.jsonl").exists());
    let first = ok(&holdfast(p, &["--db", "h.db", "import", "data"]));
    assert!(first.contains("usage messages"), "{first}");
    let before = usage_json(p);
    // re-importing the same directory changes nothing: every message is a duplicate
    let again = ok(&holdfast(p, &["--db", "h.db", "import", "data"]));
    assert!(again.contains("usage messages               0 new"), "{again}");
    assert_eq!(usage_json(p), before);
    // a second file that repeats one known message and adds one new event
    std::fs::create_dir(p.join("more")).unwrap();
    let known = std::fs::read_to_string(p.join("data/events.jsonl")).unwrap().lines().find(|l| l.contains(r#""type":"track""#)).unwrap().to_string();
    std::fs::write(p.join("more/events_late.jsonl"), format!("{known}\n{}\n", track("late-1", "u_new", "Signed In", "2023-08-15T10:00:00Z"))).unwrap();
    let late = ok(&holdfast(p, &["--db", "h.db", "import", "more"]));
    assert!(late.contains("usage messages               1 new         1 duplicate"), "{late}");
    let after = usage_json(p);
    let mau = |doc: &serde_json::Value| value(doc, "mau", "2023-08").as_object().unwrap()["v"].as_i64().unwrap();
    assert_eq!(mau(&after), mau(&before) + 1);
    // the table report renders
    let table = ok(&holdfast(p, &["--db", "h.db", "report", "--section", "usage", "--segment-by", "size"]));
    assert!(table.contains("Usage (as of") && table.contains("Usage by size"), "{table}");
    let all = holdfast(p, &["--db", "h.db", "report", "--section", "all", "--format", "json"]);
    assert!(all.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert!(doc.get("revenue").is_some() && doc.get("usage").is_some());
}

#[test]
fn a_bad_event_names_file_line_and_field_and_leaves_the_store_unchanged() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(&holdfast(p, &["generate", "--out", "data", "--customers", "10", "--months", "4", "--seed", "2"]));
    ok(&holdfast(p, &["--db", "h.db", "import", "data"]));
    let status = ok(&holdfast(p, &["--db", "h.db", "status"]));
    let report = usage_json(p);
    std::fs::create_dir(p.join("bad")).unwrap();
    std::fs::write(p.join("bad/customers.csv"), "customer_id,name\ncus_new,New\n").unwrap();
    std::fs::write(p.join("bad/events.jsonl"), format!("{}\n{}\n", track("x1", "u_x", "Signed In", "2023-03-01T10:00:00Z"), r#"{"type":"track","messageId":"x2","userId":"u_x","event":"Signed In","timestamp":"2023-03-01 10:00"}"#)).unwrap();
    let o = holdfast(p, &["--db", "h.db", "import", "bad"]);
    assert_eq!(o.status.code(), Some(65));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("events.jsonl:2: field `timestamp`: \"2023-03-01 10:00\": expected an ISO-8601 instant"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(ok(&holdfast(p, &["--db", "h.db", "status"])), status);
    assert_eq!(usage_json(p), report);
}
