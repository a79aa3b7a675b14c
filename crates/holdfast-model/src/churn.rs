//! The churn-prediction pipeline over a billing snapshot (spec §9 `churn_probability`): observation
//! dates → point-in-time panel → time-ordered cross-validation → calibrated model → scores of the
//! customers active at `as_of` with their top drivers. Surfaces (the CLI) call [`train`] and [`score`]
//! and only render; both are pure.
use crate::cv::time_folds;
use crate::eval::{evaluate, roc_auc, Evaluation};
use crate::features::{build_panel, default_families, PanelSpec};
use crate::model::{fit_calibrated, Driver, Learner, Model, ModelSpec};
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{Calendar, Ts, SECS_PER_DAY};
use holdfast_core::Grain;
use holdfast_engine::{EngineError, Settings};
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct ChurnSpec {
    pub learner: Learner,
    /// Lead time: predict churn within this many days (spec §9: 90).
    pub horizon_days: i64,
    /// How many monthly observation dates to train on (the latest whose horizon is over).
    pub train_dates: usize,
    /// Time-ordered folds (each tests one observation date).
    pub folds: usize,
}

impl Default for ChurnSpec {
    fn default() -> Self {
        ChurnSpec { learner: ModelSpec::logistic().learner, horizon_days: 90, train_dates: 12, folds: 4 }
    }
}

#[derive(Debug)]
pub enum ChurnError {
    Engine(EngineError),
    /// Not enough history or outcomes to train and validate; the message says what is missing.
    History(String),
}

impl std::fmt::Display for ChurnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChurnError::Engine(e) => write!(f, "{e}"),
            ChurnError::History(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ChurnError {}

#[derive(Clone, Debug, Serialize)]
pub struct FoldScore {
    pub test_date: Ts,
    pub train_rows: usize,
    pub test_rows: usize,
    pub roc_auc: Option<f64>,
}

/// A trained, validated model.
pub struct Trained {
    pub model: Model,
    pub spec: ChurnSpec,
    pub dates: Vec<Ts>,
    pub rows: usize,
    pub positives: usize,
    /// Out-of-fold evaluation over all tested observation dates.
    pub evaluation: Evaluation,
    pub folds: Vec<FoldScore>,
}

/// The latest `n` month starts (settings' time zone) whose horizon is over at `end`, oldest first.
pub fn observation_dates(settings: &Settings, end: Ts, horizon_days: i64, n: usize) -> Result<Vec<Ts>, EngineError> {
    let cal = Calendar::new(Grain::Month, &settings.timezone).map_err(EngineError::Config)?;
    let last = end - horizon_days * SECS_PER_DAY;
    let mut dates = Vec::with_capacity(n);
    let mut t = cal.floor(last);
    while dates.len() < n {
        dates.push(t);
        t = cal.floor(t - 1);
    }
    dates.reverse();
    Ok(dates)
}

/// Builds the training panel as of `as_of` and fits the model with time-ordered validation.
pub fn train(snap: &Snapshot, settings: &Settings, spec: &ChurnSpec, as_of: Ts) -> Result<Trained, ChurnError> {
    let dates = observation_dates(settings, as_of, spec.horizon_days, spec.train_dates).map_err(ChurnError::Engine)?;
    let panel = build_panel(snap, settings, &PanelSpec { dates: dates.clone(), horizon_days: spec.horizon_days, label_as_of: as_of }, &default_families())
        .map_err(ChurnError::Engine)?;
    let y: Vec<bool> = panel.label.iter().map(|l| l.unwrap_or(false)).collect();
    let positives = y.iter().filter(|&&b| b).count();
    if panel.data.n_rows == 0 || positives == 0 || positives == panel.data.n_rows {
        return Err(ChurnError::History(format!(
            "cannot train a churn model: {} customer-dates over {} observation dates, {positives} of them churned within {} days (need both churners and stayers)",
            panel.data.n_rows,
            dates.len(),
            spec.horizon_days
        )));
    }
    let folds = time_folds(&panel.date, spec.horizon_days * SECS_PER_DAY, spec.folds);
    if folds.is_empty() {
        return Err(ChurnError::History(format!(
            "cannot validate over time: the {} observation dates do not span more than the {}-day horizon (use more --train-dates or a shorter --horizon-days)",
            dates.len(),
            spec.horizon_days
        )));
    }
    let model_spec = ModelSpec { learner: spec.learner, ..ModelSpec::logistic() };
    let all: Vec<u32> = (0..panel.data.n_rows as u32).collect();
    let (model, oof) = fit_calibrated(&model_spec, &panel.data, &all, &y, None, &folds);
    let tested: Vec<u32> = folds.iter().flat_map(|f| f.test.iter().copied()).collect();
    let p: Vec<f64> = tested.iter().map(|&r| oof[r as usize]).collect();
    let yt: Vec<bool> = tested.iter().map(|&r| y[r as usize]).collect();
    let evaluation = evaluate(&p, &yt, None, "time_cv");
    let fold_scores = folds
        .iter()
        .map(|f| {
            let p: Vec<f64> = f.test.iter().map(|&r| oof[r as usize]).collect();
            let yt: Vec<bool> = f.test.iter().map(|&r| y[r as usize]).collect();
            FoldScore {
                test_date: f.test_date.unwrap_or(0),
                train_rows: f.train.len(),
                test_rows: f.test.len(),
                roc_auc: roc_auc(&p, &yt, None, "fold").value.map(|v| v.as_f64()),
            }
        })
        .collect();
    Ok(Trained { model, spec: spec.clone(), dates, rows: panel.data.n_rows, positives, evaluation, folds: fold_scores })
}

/// One active customer's churn risk.
#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    pub customer: u32,
    /// Calibrated probability of churning within the horizon.
    pub probability: f64,
    /// MRR at `as_of`, reporting-currency minor units.
    pub mrr: i64,
    pub drivers: Vec<Driver>,
}

/// Scores every customer active at `as_of` (as known then), highest probability first (ties by id).
pub fn score(snap: &Snapshot, settings: &Settings, trained: &Trained, as_of: Ts, top_drivers: usize) -> Result<Vec<Prediction>, ChurnError> {
    let panel = build_panel(snap, settings, &PanelSpec { dates: vec![as_of], horizon_days: trained.spec.horizon_days, label_as_of: as_of }, &default_families())
        .map_err(ChurnError::Engine)?;
    let x = trained.model.encode(&panel.data);
    let probs = trained.model.probabilities(&x);
    let mut scratch = Vec::new();
    let mut out: Vec<Prediction> = (0..panel.data.n_rows)
        .map(|r| Prediction {
            customer: panel.customer[r],
            probability: probs[r],
            mrr: panel.mrr[r],
            drivers: trained.model.top_drivers(&panel.data, &x, r, top_drivers, &mut scratch),
        })
        .collect();
    out.sort_by(|a, b| b.probability.total_cmp(&a.probability).then(a.customer.cmp(&b.customer)));
    Ok(out)
}
