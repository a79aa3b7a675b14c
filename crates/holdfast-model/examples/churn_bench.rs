//! Phase timings of the churn pipeline on a simulated company (docs/benchmarks.md):
//!
//!     cargo run --release -p holdfast-model --example churn_bench -- 100000 36 [logistic|gbt]
//!
//! generates `customers` × `months` in memory, then times the point-in-time panel (12 monthly dates +
//! labels), a logistic and a boosted-tree fit on it, time-ordered validation of each (4 folds), and
//! scoring the customers active at the end.
use holdfast_core::snapshot::Snapshot;
use holdfast_engine::Settings;
use holdfast_model::churn::{observation_dates, score, train, ChurnSpec};
use holdfast_model::features::{build_panel, default_families, PanelSpec};
use holdfast_model::model::{Model, ModelSpec};
use std::time::Instant;

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<usize> = raw.iter().take(2).map(|a| a.parse().expect("customers months")).collect();
    let (customers, months) = (args.first().copied().unwrap_or(100_000), args.get(1).copied().unwrap_or(36) as u32);
    let only = raw.get(2).map(String::as_str);
    let learners: Vec<ModelSpec> = [ModelSpec::logistic(), ModelSpec::gbt()].into_iter().filter(|s| only.is_none_or(|o| o == s.learner.name())).collect();
    let cfg = holdfast_sim::SimConfig::new(7, customers, months);
    let t = Instant::now();
    let snap = Snapshot::from_dataset(&holdfast_sim::generate_dataset(&cfg)).expect("simulated data is valid");
    eprintln!("generate + snapshot: {:.2} s ({customers} customers, {months} months)", t.elapsed().as_secs_f64());
    let settings = Settings::default();
    let end = cfg.end();
    let dates = observation_dates(&settings, end, 90, 12).unwrap();
    let t = Instant::now();
    let panel = build_panel(&snap, &settings, &PanelSpec { dates, horizon_days: 90, label_as_of: end }, &default_families()).unwrap();
    println!("panel: {} rows × {} features in {:.2} s", panel.data.n_rows, panel.data.numeric.len() + panel.data.categorical.len(), t.elapsed().as_secs_f64());
    let y: Vec<bool> = panel.label.iter().map(|l| l.unwrap()).collect();
    let all: Vec<u32> = (0..panel.data.n_rows as u32).collect();
    for spec in learners.iter().copied() {
        let t = Instant::now();
        let m = Model::fit(&spec, &panel.data, &all, &y, None);
        println!("{} fit on {} rows: {:.2} s", spec.learner.name(), all.len(), t.elapsed().as_secs_f64());
        let x = m.encode(&panel.data);
        let t = Instant::now();
        let l = m.logits(&x);
        println!("{} logits of {} rows: {:.3} s", spec.learner.name(), l.len(), t.elapsed().as_secs_f64());
    }
    for spec in learners.iter().copied() {
        let c = ChurnSpec { learner: spec.learner, ..ChurnSpec::default() };
        let t = Instant::now();
        let tr = train(&snap, &settings, &c, end).unwrap();
        let train_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let preds = score(&snap, &settings, &tr, end, 3).unwrap();
        let e = &tr.evaluation;
        println!(
            "{}: train (panel + 4-fold time CV + final fit) {:.2} s, score {} customers with drivers {:.2} s; AUC {:.3} PR-AUC {:.3} Brier {:.4} lift {:.2} (base rate {:.3})",
            spec.learner.name(),
            train_s,
            preds.len(),
            t.elapsed().as_secs_f64(),
            e.roc_auc.value.unwrap().as_f64(),
            e.pr_auc.value.unwrap().as_f64(),
            e.brier.value.unwrap().as_f64(),
            e.top_decile_lift.value.unwrap().as_f64(),
            e.base_rate.unwrap()
        );
    }
}
