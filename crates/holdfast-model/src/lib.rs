//! Churn prediction and the evaluation of any risk score against what happened (spec §9, issue 5).
//!
//! Pure: no I/O, no clocks, no globals; seeded randomness only, so a fit is reproducible.
//! * [`eval`] — ROC-AUC (exact ties), PR-AUC (average precision), Brier, calibration table, churn rate
//!   per band, top-decile lift, lead times; for churn probabilities and health scores alike.
//! * [`data`] — raw feature tables ([`data::Dataset`]) and their encoding into a column-major `f64`
//!   [`data::Matrix`] (one-hot with rare-level folding, missing indicators), fitted on training rows only.
//! * [`logistic`] — L2 logistic regression (Newton/IRLS, standardised features, unpenalised intercept).
//! * [`gbt`] — histogram gradient-boosted trees (log-loss, depth limit, shrinkage, subsampling, learned
//!   missing directions).
//! * [`cv`] — stratified k-fold for static data, time-ordered folds for panels (no future in training).
//! * [`calibrate`] — Platt scaling on out-of-fold logits.
//! * [`churn`] — the pipeline: observation dates → panel → time-ordered CV → calibrated model → scores.
//! * [`features`] — point-in-time billing features and churn labels from the engine's timeline.
//! * [`model`] — one interface over both learners: fit, calibrated probabilities, exact per-prediction
//!   drivers (contributions sum to the calibrated logit).
//!
//! Invariants: a model never sees a test row while fitting (encoder included); contributions plus the
//! baseline equal the calibrated logit; empty denominators give `None` plus `empty_denominator`.
pub mod calibrate;
pub mod churn;
pub mod cv;
pub mod data;
pub mod eval;
pub mod features;
pub mod gbt;
pub mod logistic;
pub mod model;
