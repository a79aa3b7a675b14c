//! Black-box tests of the `holdfast` binary over real SQLite files.
mod common;
use common::{holdfast, ok};
use std::path::Path;

fn generate(dir: &Path, name: &str, customers: &str) {
    ok(&holdfast(dir, &["generate", "--out", name, "--customers", customers, "--months", "14", "--seed", "3"]));
}

#[test]
fn demo_prints_a_report_whose_roll_forward_holds() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(&holdfast(d.path(), &["demo", "--customers", "300", "--months", "14", "--out", "demo"]));
    assert!(out.contains("roll-forward hold in all 14 months"), "{out}");
    assert!(out.contains("By plan"));
    for f in ["report.html", "report.json", "report.csv", "movements.csv", "holdfast.db"] {
        assert!(d.path().join("demo").join(f).exists(), "{f}");
    }
    let html = std::fs::read_to_string(d.path().join("demo/report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("MRR movements"));
}

#[test]
fn import_is_idempotent_and_reports_updates() {
    let d = tempfile::tempdir().unwrap();
    generate(d.path(), "data", "120");
    let first = holdfast(d.path(), &["import", "data"]);
    ok(&first);
    let report1 = ok(&holdfast(d.path(), &["report", "--format", "json"]));
    let again = holdfast(d.path(), &["import", "data"]);
    ok(&again);
    let msg = String::from_utf8_lossy(&again.stderr);
    assert!(msg.contains(" 0 new") && !msg.contains("updated (same key"), "{msg}");
    assert_eq!(report1, ok(&holdfast(d.path(), &["report", "--format", "json"])));
    // change one plan's amount: an update, reported by key
    let plans = d.path().join("data/plans.csv");
    let text = std::fs::read_to_string(&plans).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let amount_col = header.iter().position(|h| *h == "amount").unwrap();
    let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
    cells[amount_col] = "123.45".into();
    let key = cells[0].clone();
    lines[1] = cells.join(",");
    std::fs::write(&plans, lines.join("\n") + "\n").unwrap();
    let upd = holdfast(d.path(), &["import", "data"]);
    ok(&upd);
    let msg = String::from_utf8_lossy(&upd.stderr);
    assert!(msg.contains("updated (same key, different content)") && msg.contains(&key), "{msg}");
}

#[test]
fn bad_input_names_file_line_field_and_leaves_the_store_unchanged() {
    let d = tempfile::tempdir().unwrap();
    generate(d.path(), "data", "60");
    ok(&holdfast(d.path(), &["import", "data"]));
    let before = ok(&holdfast(d.path(), &["status"]));
    let report_before = ok(&holdfast(d.path(), &["report", "--format", "csv"]));
    let lines_csv = d.path().join("data/invoice_lines.csv");
    let original = std::fs::read(&lines_csv).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let corrupt = |row: usize, name: &str, value: &str| -> Vec<u8> {
        let mut ls: Vec<String> = text.lines().map(String::from).collect();
        let mut cells: Vec<String> = ls[row].split(',').map(String::from).collect();
        cells[col(name)] = value.into();
        ls[row] = cells.join(",");
        (ls.join("\n") + "\n").into_bytes()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (corrupt(5, "quantity", "-3"), "quantity"),
        (corrupt(7, "period_start", "2024-13-45"), "period_start"),
        (corrupt(9, "period_end", "2000-01-01T00:00:00Z"), "period_end"),
        ({
            let mut b = original.clone();
            let at = b.len() / 2;
            b.insert(at, 0xff);
            b
        }, "UTF-8"),
        (original[..original.len() - 7].to_vec(), "invoice_lines.csv"),
    ];
    for (bytes, needle) in cases {
        std::fs::write(&lines_csv, &bytes).unwrap();
        let o = holdfast(d.path(), &["import", "data"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(65), "{needle}: {err}");
        assert!(err.contains("invoice_lines.csv") && err.contains(needle), "{needle}: {err}");
        assert_eq!(before, ok(&holdfast(d.path(), &["status"])), "store changed after {needle}");
        assert_eq!(report_before, ok(&holdfast(d.path(), &["report", "--format", "csv"])));
    }
}

#[test]
fn split_and_reordered_imports_give_the_same_report() {
    let d = tempfile::tempdir().unwrap();
    generate(d.path(), "data", "150");
    ok(&holdfast(d.path(), &["--db", "one.db", "import", "data"]));
    let mut files: Vec<_> = std::fs::read_dir(d.path().join("data")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.reverse();
    for f in &files {
        ok(&holdfast(d.path(), &["--db", "split.db", "import", f.to_str().unwrap()]));
    }
    let a = ok(&holdfast(d.path(), &["--db", "one.db", "report", "--format", "csv", "--segment-by", "country"]));
    let b = ok(&holdfast(d.path(), &["--db", "split.db", "report", "--format", "csv", "--segment-by", "country"]));
    assert_eq!(a, b);
}

#[test]
fn report_and_movements_flags() {
    let d = tempfile::tempdir().unwrap();
    generate(d.path(), "data", "100");
    ok(&holdfast(d.path(), &["import", "data"]));
    let j = ok(&holdfast(d.path(), &["report", "--format", "json", "--grain", "quarter", "--kpi", "mrr", "--kpi", "nrr"]));
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    let rows = v["tables"][0]["results"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r["kpi"] == "mrr" || r["kpi"] == "nrr"));
    assert!(rows.iter().all(|r| r["period"].as_str().unwrap().contains("-Q")));
    let csv = ok(&holdfast(d.path(), &["movements", "--format", "csv", "--type", "churn"]));
    assert!(csv.lines().skip(1).all(|l| l.contains(",churn,")), "{csv}");
    // a named customer's rows (computed for that customer alone) are exactly its rows of the whole ledger
    let all = ok(&holdfast(d.path(), &["movements", "--format", "csv", "--include-fx"]));
    let who = all.lines().nth(1).unwrap().split(',').next().unwrap().to_string();
    let mine = ok(&holdfast(d.path(), &["movements", "--format", "csv", "--include-fx", "--customer", &who]));
    let expected: Vec<&str> = all.lines().skip(1).filter(|l| l.starts_with(&format!("{who},"))).collect();
    assert_eq!(mine.lines().skip(1).collect::<Vec<_>>(), expected);
    assert!(!expected.is_empty());
    let e = holdfast(d.path(), &["report", "--grain", "fortnight"]);
    assert_eq!(e.status.code(), Some(2));
    let e = holdfast(d.path(), &["report", "--set", "zero_mrr_policy=maybe"]);
    assert_eq!(e.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&e.stderr).contains("zero_mrr_policy"));
    let e = holdfast(d.path(), &["--db", "missing.db", "report"]);
    assert_eq!(e.status.code(), Some(66));
    let pre = ok(&holdfast(d.path(), &["report", "--format", "csv", "--preset", "profitwell"]));
    assert!(pre.lines().count() > 10);
}

#[test]
fn import_stripe_objects_gives_the_ledger_and_refuses_bad_files_whole() {
    let d = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdfast-stripe/tests/fixtures/cm_basil");
    let fx = fixtures.to_str().unwrap();
    ok(&holdfast(d.path(), &["import", "stripe", fx]));
    let csv = ok(&holdfast(d.path(), &["movements", "--format", "csv"]));
    let kinds: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(2).unwrap()).collect();
    assert_eq!(kinds, ["new_business", "expansion", "contraction", "churn", "reactivation"], "{csv}");
    let again = holdfast(d.path(), &["import", "stripe", fx]);
    ok(&again);
    assert!(String::from_utf8_lossy(&again.stderr).contains(" 0 new"));
    let before = ok(&holdfast(d.path(), &["status"]));
    let report_before = ok(&holdfast(d.path(), &["report", "--format", "csv"]));
    // Each bad input: exit 65, a message naming file, object and field, and the store unchanged.
    let mixed = r#"[{"object":"invoice","id":"in_x","customer":"cus_A","currency":"usd","created":1,"total":0,"status":"paid","subscription":"sub_x","lines":{"data":[]}},
        {"object":"invoice","id":"in_y","customer":"cus_A","currency":"usd","created":1,"total":0,"status":"paid","parent":{"subscription_details":{"subscription":"sub_x"}},"lines":{"data":[]}}]"#;
    let missing_price = r#"{"object":"invoice","id":"in_z","customer":"cus_A","currency":"usd","created":1,"total":100,"status":"paid","subscription":"sub_x",
        "lines":{"data":[{"id":"il_z","object":"line_item","amount":100,"currency":"usd","type":"subscription","subscription":"sub_x","price":"price_nowhere","period":{"start":1,"end":2}}]}}"#;
    for (name, text, expect) in [
        ("widget.json", r#"{"object":"list","data":[{"object":"widget","id":"w_1"}]}"#, "widget.json: widget w_1: field `object`"),
        ("broken.json", r#"{"object":"list","data":[{"object":"customer","id":"cus_Q""#, "broken.json:1:"),
        ("mixed.json", mixed, "one API shape per file"),
        ("price.json", missing_price, "field `lines.data[0].price`: \"price_nowhere\""),
    ] {
        std::fs::write(d.path().join(name), text).unwrap();
        let bad = holdfast(d.path(), &["import", "stripe", name]);
        let err = String::from_utf8_lossy(&bad.stderr);
        assert_eq!(bad.status.code(), Some(65), "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
        assert_eq!(before, ok(&holdfast(d.path(), &["status"])), "{name}");
        assert_eq!(report_before, ok(&holdfast(d.path(), &["report", "--format", "csv"])), "{name}");
    }
    assert_eq!(holdfast(d.path(), &["import", "stripe"]).status.code(), Some(2));
}

#[test]
fn merge_map_file_merges_customers_and_names_bad_rows() {
    let d = tempfile::tempdir().unwrap();
    generate(d.path(), "data", "80");
    ok(&holdfast(d.path(), &["import", "data"]));
    let active: Vec<String> = ok(&holdfast(d.path(), &["customers", "--status", "active", "--format", "csv", "--limit", "2"])).lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect();
    std::fs::write(d.path().join("merges.csv"), format!("from_customer_id,to_customer_id\n{},{}\n", active[1], active[0])).unwrap();
    let merged = ok(&holdfast(d.path(), &["customers", "--status", "merged", "--format", "csv", "--merge-map", "merges.csv"]));
    assert!(merged.contains(&active[1]), "{merged}");
    std::fs::write(d.path().join("bad.csv"), "from,to\na,b\n").unwrap();
    let e = holdfast(d.path(), &["report", "--merge-map", "bad.csv"]);
    assert_eq!(e.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&e.stderr).contains("bad.csv:1: missing column `from_customer_id`"));
}

#[test]
fn reconcile_stripe_explains_each_difference() {
    let d = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdfast-stripe/tests/fixtures/cm_basil");
    ok(&holdfast(d.path(), &["import", "stripe", fixtures.to_str().unwrap()]));
    // Stripe's export: cus_A as Holdfast sees it in January, one cent off in February, plus a customer
    // Holdfast never imported.
    std::fs::write(d.path().join("mrr.csv"), "customer_id,customer_email,2024-01-31,2024-02-29\ncus_A,billing@acme.example,166.67,166.68\ncus_Z,z@z.example,,49.00\n").unwrap();
    let out = ok(&holdfast(d.path(), &["reconcile", "stripe", "mrr.csv", "--format", "csv"]));
    let rows: Vec<Vec<String>> = out.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect();
    let find = |c: &str, m: &str| rows.iter().find(|r| r[1] == c && r[0] == m).unwrap_or_else(|| panic!("{c} {m}: {out}")).clone();
    assert_eq!(find("cus_A", "2024-02")[5], "rounding", "{out}");
    assert_eq!(find("cus_Z", "2024-02")[5], "missing_data", "{out}");
    assert!(!rows.iter().any(|r| r[1] == "cus_A" && r[0] == "2024-01"), "January agrees: {out}");
    let table = ok(&holdfast(d.path(), &["reconcile", "stripe", "mrr.csv"]));
    assert!(table.contains("Holdfast vs Stripe") && table.contains("missing data"), "{table}");
    // A bad export: exit 65 naming the line and column.
    std::fs::write(d.path().join("bad.csv"), "customer_id,2024-01\ncus_A,12.x5\n").unwrap();
    let bad = holdfast(d.path(), &["reconcile", "stripe", "bad.csv"]);
    assert_eq!(bad.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad.csv:2:"), "{}", String::from_utf8_lossy(&bad.stderr));
    assert_eq!(holdfast(d.path(), &["reconcile", "stripe", "nope.csv"]).status.code(), Some(66));
}
