//! `holdfast forecast` end to end over a real SQLite store of simulated data.
mod common;
use common::{holdfast, ok};

#[test]
fn forecast_json_csv_and_table_agree() {
    let d = tempfile::tempdir().unwrap();
    ok(&holdfast(d.path(), &["generate", "--out", "data", "--customers", "400", "--months", "26", "--seed", "5"]));
    ok(&holdfast(d.path(), &["import", "data"]));
    let v: serde_json::Value = serde_json::from_str(&ok(&holdfast(d.path(), &["forecast", "--format", "json"]))).unwrap();
    let f = &v["forecast"];
    assert_eq!(f["seasonal"], true);
    let points = f["points"].as_array().unwrap();
    assert_eq!(points.len(), 12);
    for p in points {
        let g = |k: &str| p[k].as_i64().unwrap();
        assert!(g("lo95") <= g("lo80") && g("lo80") <= g("mrr") && g("mrr") <= g("hi80") && g("hi80") <= g("hi95"), "{p}");
    }
    assert!(v["normal_range"]["sentence"].as_str().unwrap().starts_with(f["origin_label"].as_str().unwrap()));
    let csv = ok(&holdfast(d.path(), &["forecast", "--format", "csv", "--months", "6"]));
    assert_eq!(csv.lines().count(), 7);
    assert_eq!(csv.lines().nth(1).unwrap().split(',').nth(2).unwrap(), points[0]["mrr"].to_string());
    assert!(ok(&holdfast(d.path(), &["forecast"])).contains("normal_range:"));
    let bad = holdfast(d.path(), &["forecast", "--months", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("horizon"));
}
