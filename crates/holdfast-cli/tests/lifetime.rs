//! Black-box tests of `holdfast cohorts` and `holdfast ltv` over a real SQLite store of simulated data.
mod common;
use common::{holdfast, ok};

#[test]
fn cohorts_and_ltv_agree_on_the_paying_customers() {
    let d = tempfile::tempdir().unwrap();
    ok(&holdfast(d.path(), &["generate", "--out", "data", "--customers", "400", "--months", "14", "--seed", "5"]));
    ok(&holdfast(d.path(), &["import", "data"]));
    let cohorts: serde_json::Value = serde_json::from_str(&ok(&holdfast(d.path(), &["cohorts", "--format", "json"]))).unwrap();
    let cells = cohorts["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    let mut paying = 0;
    for c in cells {
        let (age, customers, retained) = (c["age"].as_u64().unwrap(), c["customers"].as_u64().unwrap(), c["retained"].as_u64().unwrap());
        assert!(retained <= customers);
        if age == 0 {
            assert_eq!(c["logo_retention"].as_f64(), Some(1.0));
            assert_eq!(c["mrr"], c["new_business_mrr"]);
            paying += customers;
        }
    }
    let pooled = cohorts["pooled_logo_retention"].as_array().unwrap();
    assert_eq!(pooled[0].as_f64(), Some(1.0));
    // P(1) = Σ retained at age 1 / Σ age-0 members, over the cohorts observed at age 1.
    let at = |age: u64, field: &str| -> u64 { cells.iter().filter(|c| c["age"] == age).map(|c| c[field].as_u64().unwrap()).sum() };
    let observed_at_1: u64 = cells.iter().filter(|c| c["age"] == 1).map(|c| c["customers"].as_u64().unwrap()).sum();
    assert!((pooled[1].as_f64().unwrap() - at(1, "retained") as f64 / observed_at_1 as f64).abs() < 1e-12);

    let ltv: serde_json::Value = serde_json::from_str(&ok(&holdfast(d.path(), &["ltv", "--format", "json"]))).unwrap();
    let report = &ltv["report"];
    let per_interval: u64 = report["intervals"].as_array().unwrap().iter().map(|i| i["customers"].as_u64().unwrap()).sum();
    assert_eq!(per_interval + report["customers_without_interval"].as_u64().unwrap(), paying);
    let monthly = report["intervals"].as_array().unwrap().iter().find(|i| i["interval"] == "month").expect("monthly customers in the simulation");
    assert!(monthly["sbg"]["model"]["alpha"].as_f64().unwrap() > 0.0);
    assert!(monthly["clv_new"]["value"].as_i64().unwrap() > 0);

    let csv = ok(&holdfast(d.path(), &["cohorts", "--format", "csv", "--grain", "quarter"]));
    assert!(csv.starts_with("cohort,age,customers,retained,logo_retention,new_business_mrr,mrr,revenue_retention,gross_revenue_retention\n"));
    let table = ok(&holdfast(d.path(), &["ltv"]));
    assert!(table.contains("month billing") && table.contains("customer equity"), "{table}");
    if report["intervals"].as_array().unwrap().len() >= 2 {
        let p = report["interval_log_rank"]["p_value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        assert!(table.contains("Log-rank test"), "{table}");
    }

    let r_rules: serde_json::Value = serde_json::from_str(&ok(&holdfast(d.path(), &["ltv", "--format", "json", "--ci", "log", "--median", "r"]))).unwrap();
    assert_eq!(r_rules["report"]["options"]["ci"], "log");
    let bad = holdfast(d.path(), &["ltv", "--ci", "plain"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = holdfast(d.path(), &["ltv", "--level", "95"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--level 95"));
}
