//! `holdfast predict`: trains the churn model on past observation dates, shows its time-ordered
//! validation (ROC-AUC, PR-AUC, Brier, top-decile lift, calibration) and scores the customers active at
//! `as_of` with a calibrated probability and their top drivers. Rendering only: the pipeline is
//! `holdfast_model::churn`.
use crate::commands::{as_of, load_snapshot, open_store, settings_from, OutFormat};
use crate::config::Config;
use crate::{Failure, PolicyArgs};
use clap::{Args, ValueEnum};
use holdfast_core::time::{format_instant, Ts};
use holdfast_engine::result::KpiResult;
use holdfast_model::churn::{score, train, ChurnError, ChurnSpec, Prediction, Trained};
use holdfast_model::gbt::GbtParams;
use holdfast_model::logistic::LogisticParams;
use holdfast_model::model::Learner;
use std::time::Instant;

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq, Default)]
pub enum ModelKind {
    /// L2 logistic regression (spec §9 default).
    #[default]
    Logistic,
    /// Gradient-boosted trees.
    Gbt,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long, value_enum, default_value_t = ModelKind::Logistic)]
    pub model: ModelKind,
    /// Predict churn within this many days of `as_of`.
    #[arg(long, default_value_t = 90)]
    pub horizon_days: i64,
    /// Monthly observation dates to train on (the latest whose horizon is over).
    #[arg(long, default_value_t = 12)]
    pub train_dates: usize,
    /// Time-ordered validation folds (each tests one observation date).
    #[arg(long, default_value_t = 4)]
    pub folds: usize,
    /// Drivers shown per customer.
    #[arg(long, default_value_t = 3)]
    pub drivers: usize,
    /// At most this many customers, riskiest first (0 = all).
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn predict(cfg: &Config, a: &PredictArgs) -> Result<(), Failure> {
    if a.horizon_days <= 0 || a.train_dates < 2 || a.folds == 0 {
        return Err(Failure::new(2, "--horizon-days must be positive, --train-dates at least 2 and --folds at least 1"));
    }
    let s = settings_from(cfg, &a.policy)?;
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let end = match as_of(&a.policy)? {
        Some(t) => t,
        None => holdfast_engine::data_as_of(&snap).ok_or_else(|| Failure::data("the store holds no invoices or subscriptions to learn from"))?,
    };
    let learner = match a.model {
        ModelKind::Logistic => Learner::Logistic(LogisticParams::default()),
        ModelKind::Gbt => Learner::Gbt(GbtParams::default()),
    };
    let spec = ChurnSpec { learner, horizon_days: a.horizon_days, train_dates: a.train_dates, folds: a.folds };
    let fail = |e: ChurnError| match e {
        ChurnError::Engine(e) => Failure::config(e),
        ChurnError::History(m) => Failure::data(m),
    };
    let t0 = Instant::now();
    let trained = train(&snap, &s, &spec, end).map_err(fail)?;
    let train_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let preds = score(&snap, &s, &trained, end, a.drivers).map_err(fail)?;
    let score_s = t1.elapsed().as_secs_f64();
    tracing::info!(train_s, score_s, rows = trained.rows, scored = preds.len(), "churn model");
    let shown: &[Prediction] = if a.limit > 0 && preds.len() > a.limit { &preds[..a.limit] } else { &preds };
    let id = |p: &Prediction| snap.customers.ids.name(p.customer).to_string();
    let cur = s.reporting_currency;
    match a.format {
        OutFormat::Table => {
            println!("{}", summary(&trained, end, train_s, score_s, preds.len()));
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            let mut header = vec!["Customer".to_string(), format!("MRR ({cur})"), format!("P(churn {} d)", a.horizon_days)];
            header.extend((1..=a.drivers).map(|k| format!("Driver {k}")));
            t.set_header(header);
            for p in shown {
                let mut row = vec![id(p), cur.format_minor(p.mrr), format!("{:.1} %", 100.0 * p.probability)];
                row.extend(p.drivers.iter().map(|d| format!("{} = {} ({:+.2})", d.feature, d.value, d.contribution)));
                t.add_row(row);
            }
            println!("{t}\n{} of {} active customers shown; drivers are contributions to the log-odds of churn", shown.len(), preds.len());
        }
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let mut header = vec!["customer_id".to_string(), "mrr".into(), "currency".into(), "churn_probability".into()];
            for k in 1..=a.drivers {
                header.push(format!("driver_{k}"));
                header.push(format!("driver_{k}_value"));
                header.push(format!("driver_{k}_contribution"));
            }
            let _ = w.write_record(&header);
            for p in shown {
                let mut row = vec![id(p), cur.format_minor(p.mrr), cur.code().to_string(), format!("{:.6}", p.probability)];
                for k in 0..a.drivers {
                    match p.drivers.get(k) {
                        Some(d) => row.extend([d.feature.clone(), d.value.clone(), format!("{:.6}", d.contribution)]),
                        None => row.extend([String::new(), String::new(), String::new()]),
                    }
                }
                let _ = w.write_record(&row);
            }
            let _ = w.flush();
        }
        OutFormat::Json => {
            let predictions: Vec<serde_json::Value> = shown
                .iter()
                .map(|p| serde_json::json!({"customer_id": id(p), "mrr": cur.format_minor(p.mrr), "currency": cur.code(), "churn_probability": p.probability, "drivers": p.drivers}))
                .collect();
            let e = &trained.evaluation;
            let v = serde_json::json!({
                "as_of": format_instant(end),
                "model": trained.spec.learner.name(),
                "horizon_days": trained.spec.horizon_days,
                "training": {
                    "observation_dates": trained.dates.iter().map(|&d| format_instant(d)).collect::<Vec<_>>(),
                    "rows": trained.rows,
                    "churned": trained.positives,
                    "platt": trained.model.calibration,
                },
                "evaluation": {
                    "roc_auc": e.roc_auc, "pr_auc": e.pr_auc, "brier": e.brier, "top_decile_lift": e.top_decile_lift,
                    "base_rate": e.base_rate, "calibration": e.calibration,
                    "folds": trained.folds.iter().map(|f| serde_json::json!({"test_date": format_instant(f.test_date), "train_rows": f.train_rows, "test_rows": f.test_rows, "roc_auc": f.roc_auc})).collect::<Vec<_>>(),
                },
                "timings_s": {"train": train_s, "score": score_s},
                "active_customers": preds.len(),
                "predictions": predictions,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    Ok(())
}

fn val(r: &KpiResult, digits: usize) -> String {
    r.value.map(|v| format!("{:.*}", digits, v.as_f64())).unwrap_or_else(|| format!("null ({})", r.flags.join(", ")))
}

fn summary(t: &Trained, end: Ts, train_s: f64, score_s: f64, scored: usize) -> String {
    let e = &t.evaluation;
    let mut out = format!(
        "Churn model: {} · P(churn within {} days) as of {}\nTrained on {} customer-dates ({} churned) over {} monthly observation dates, {} … {}; trained in {:.2} s, scored {} active customers in {:.2} s\n",
        t.spec.learner.name(),
        t.spec.horizon_days,
        format_instant(end),
        t.rows,
        t.positives,
        t.dates.len(),
        t.dates.first().map(|&d| format_instant(d)).unwrap_or_default(),
        t.dates.last().map(|&d| format_instant(d)).unwrap_or_default(),
        train_s,
        scored,
        score_s,
    );
    out.push_str(&format!(
        "Time-ordered validation ({} folds, {} rows tested): ROC-AUC {} · PR-AUC {} (base rate {}) · Brier {} · top-decile lift {}\n",
        t.folds.len(),
        e.roc_auc.n,
        val(&e.roc_auc, 3),
        val(&e.pr_auc, 3),
        e.base_rate.map(|b| format!("{b:.3}")).unwrap_or_else(|| "null".into()),
        val(&e.brier, 4),
        val(&e.top_decile_lift, 2),
    ));
    for f in &t.folds {
        out.push_str(&format!(
            "  fold {}: trained on {} rows, tested {} rows, ROC-AUC {}\n",
            format_instant(f.test_date),
            f.train_rows,
            f.test_rows,
            f.roc_auc.map(|a| format!("{a:.3}")).unwrap_or_else(|| "null (one class)".into())
        ));
    }
    out.push_str("Calibration (out-of-fold):  predicted → observed (n)\n");
    for b in e.calibration.iter().filter(|b| b.n > 0) {
        out.push_str(&format!(
            "  [{:.1}, {:.1}): {:.3} → {:.3} ({})\n",
            b.lo,
            b.hi,
            b.predicted.unwrap_or(f64::NAN),
            b.observed.unwrap_or(f64::NAN),
            b.n
        ));
    }
    out
}
