//! `holdfast predict` end to end over a real SQLite store of a simulated company.
mod common;
use common::{holdfast, ok};

#[test]
fn predict_validates_over_time_and_scores_active_customers() {
    let d = tempfile::tempdir().unwrap();
    ok(&holdfast(d.path(), &["generate", "--out", "data", "--customers", "1500", "--months", "24", "--seed", "5"]));
    ok(&holdfast(d.path(), &["import", "data"]));
    let json = ok(&holdfast(d.path(), &["predict", "--format", "json", "--limit", "0", "--model", "gbt"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["model"], "gbt");
    assert_eq!(v["horizon_days"], 90);
    let dates = v["training"]["observation_dates"].as_array().unwrap();
    assert_eq!(dates.len(), 12);
    let e = &v["evaluation"];
    let auc = e["roc_auc"]["value"]["v"].as_f64().expect("AUC defined");
    assert!(auc > 0.55 && auc < 0.99, "AUC {auc}");
    assert_eq!(e["folds"].as_array().unwrap().len(), 4);
    assert_eq!(e["calibration"].as_array().unwrap().len(), 10);
    assert!(e["top_decile_lift"]["value"]["v"].as_f64().unwrap() > 1.0);
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len() as u64, v["active_customers"].as_u64().unwrap());
    assert!(preds.len() > 300);
    let probs: Vec<f64> = preds.iter().map(|p| p["churn_probability"].as_f64().unwrap()).collect();
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(probs.windows(2).all(|w| w[0] >= w[1]), "riskiest first");
    for p in preds {
        let drivers = p["drivers"].as_array().unwrap();
        assert_eq!(drivers.len(), 3);
        let c: Vec<f64> = drivers.iter().map(|d| d["contribution"].as_f64().unwrap().abs()).collect();
        assert!(c.windows(2).all(|w| w[0] >= w[1]));
    }
    // the same scores as CSV, limited
    let csv = ok(&holdfast(d.path(), &["predict", "--format", "csv", "--limit", "5", "--model", "gbt"]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[0].starts_with("customer_id,mrr,currency,churn_probability,driver_1,driver_1_value,driver_1_contribution"));
    assert!(lines[1].starts_with(preds[0]["customer_id"].as_str().unwrap()));
    let table = ok(&holdfast(d.path(), &["predict", "--limit", "3"]));
    assert!(table.contains("Time-ordered validation") && table.contains("Driver 1"), "{table}");
}

#[test]
fn predict_without_enough_history_says_what_is_missing() {
    let d = tempfile::tempdir().unwrap();
    ok(&holdfast(d.path(), &["generate", "--out", "data", "--customers", "200", "--months", "4", "--seed", "5"]));
    ok(&holdfast(d.path(), &["import", "data"]));
    let o = holdfast(d.path(), &["predict"]);
    assert_eq!(o.status.code(), Some(65), "{}", String::from_utf8_lossy(&o.stderr));
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(msg.contains("cannot"), "{msg}");
}
