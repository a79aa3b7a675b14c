//! One interface over both learners: encode → fit → logits, calibrated probabilities and drivers, plus
//! cross-validated out-of-fold scores.
//!
//! Drivers are reported per raw feature (the one-hot columns of `plan`, or a value and its missing
//! indicator, are summed back), on the calibrated logit scale: with Platt map `(a, b)`, the calibrated
//! logit is `a·bias + b + Σ_f a·c_f`, so [`Explanation::baseline`] + Σ contributions = calibrated logit
//! exactly, and `σ(calibrated logit)` is the reported probability.
use crate::calibrate::Platt;
use crate::cv::Fold;
use crate::data::{Dataset, Encoder, Matrix, MissingPolicy};
use crate::gbt::{Gbt, GbtParams};
use crate::logistic::{Logistic, LogisticParams};
use serde::Serialize;

#[derive(Clone, Copy, Debug)]
pub enum Learner {
    Logistic(LogisticParams),
    Gbt(GbtParams),
}

impl Learner {
    pub fn name(&self) -> &'static str {
        match self {
            Learner::Logistic(_) => "logistic",
            Learner::Gbt(_) => "gbt",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ModelSpec {
    pub learner: Learner,
    /// Categorical levels on fewer training rows than this fold into `(other)`.
    pub min_level_count: usize,
}

impl ModelSpec {
    pub fn logistic() -> Self {
        ModelSpec { learner: Learner::Logistic(LogisticParams::default()), min_level_count: 20 }
    }
    pub fn gbt() -> Self {
        ModelSpec { learner: Learner::Gbt(GbtParams::default()), min_level_count: 20 }
    }
}

#[derive(Clone, Debug)]
enum Fitted {
    Logistic(Logistic),
    Gbt(Gbt),
}

/// A fitted, optionally calibrated model.
#[derive(Clone, Debug)]
pub struct Model {
    encoder: Encoder,
    fitted: Fitted,
    feature_names: Vec<String>,
    pub calibration: Platt,
}

/// One feature's push on a prediction (positive = towards churn).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Driver {
    pub feature: String,
    /// The raw value (a number, a category level, or `missing`).
    pub value: String,
    pub contribution: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// Calibrated logit of an average row (logistic) or of the base score and tree roots (trees).
    pub baseline: f64,
    /// Every raw feature's contribution, in feature order.
    pub contributions: Vec<f64>,
}

impl Model {
    /// Fits on the rows `train` of `data`; `outcomes` and `weights` are indexed by row of `data`.
    pub fn fit(spec: &ModelSpec, data: &Dataset, train: &[u32], outcomes: &[bool], weights: Option<&[f64]>) -> Model {
        let policy = match spec.learner {
            Learner::Logistic(_) => MissingPolicy::Impute,
            Learner::Gbt(_) => MissingPolicy::Keep,
        };
        let encoder = Encoder::fit(data, train, policy, spec.min_level_count);
        let x = encoder.transform(&data.select(train));
        let y: Vec<bool> = train.iter().map(|&r| outcomes[r as usize]).collect();
        let w: Option<Vec<f64>> = weights.map(|w| train.iter().map(|&r| w[r as usize]).collect());
        let fitted = match &spec.learner {
            Learner::Logistic(p) => Fitted::Logistic(Logistic::fit(&x, &y, w.as_deref(), p)),
            Learner::Gbt(p) => Fitted::Gbt(Gbt::fit(&x, &y, w.as_deref(), p)),
        };
        Model { encoder, fitted, feature_names: data.feature_names(), calibration: Platt::IDENTITY }
    }

    pub fn encode(&self, data: &Dataset) -> Matrix {
        self.encoder.transform(data)
    }

    /// Uncalibrated logits of every row of an encoded matrix.
    pub fn logits(&self, x: &Matrix) -> Vec<f64> {
        match &self.fitted {
            Fitted::Logistic(m) => m.logits(x),
            Fitted::Gbt(m) => m.logits(x),
        }
    }

    /// Calibrated probabilities of every row of an encoded matrix.
    pub fn probabilities(&self, x: &Matrix) -> Vec<f64> {
        self.logits(x).into_iter().map(|l| self.calibration.probability(l)).collect()
    }

    /// Exact decomposition of row `row`'s calibrated logit into raw-feature contributions. `scratch`
    /// must have one slot per encoded column (reused across rows: no allocation per column).
    pub fn explain(&self, x: &Matrix, row: usize, scratch: &mut Vec<f64>) -> Explanation {
        scratch.resize(x.n_cols(), 0.0);
        let bias = match &self.fitted {
            Fitted::Logistic(m) => m.contributions(x, row, scratch),
            Fitted::Gbt(m) => m.contributions(x, row, scratch),
        };
        let a = self.calibration.a;
        let mut contributions = vec![0.0; self.feature_names.len()];
        for (j, &c) in scratch.iter().enumerate() {
            contributions[x.source[j] as usize] += a * c;
        }
        Explanation { baseline: a * bias + self.calibration.b, contributions }
    }

    /// The `k` features with the largest absolute contribution to row `row`, largest first; `data` is
    /// the raw dataset `x` was encoded from (for the values shown).
    pub fn top_drivers(&self, data: &Dataset, x: &Matrix, row: usize, k: usize, scratch: &mut Vec<f64>) -> Vec<Driver> {
        let e = self.explain(x, row, scratch);
        let mut idx: Vec<usize> = (0..e.contributions.len()).collect();
        idx.sort_by(|&a, &b| e.contributions[b].abs().total_cmp(&e.contributions[a].abs()).then(a.cmp(&b)));
        let n_num = data.numeric.len();
        let value = |j: usize| -> String {
            if j < n_num {
                let v = data.numeric[j].values[row];
                if v.is_nan() { "missing".into() } else { format!("{}", (v * 1e4).round() / 1e4) }
            } else {
                let c = &data.categorical[j - n_num];
                c.levels.get(c.codes[row] as usize).cloned().unwrap_or_else(|| "missing".into())
            }
        };
        idx.into_iter().take(k).map(|j| Driver { feature: self.feature_names[j].clone(), value: value(j), contribution: e.contributions[j] }).collect()
    }

    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }
}

/// Out-of-fold logits: each fold's test rows scored by a model fitted on its training rows. Rows in no
/// test set are `NaN`.
pub fn out_of_fold(spec: &ModelSpec, data: &Dataset, outcomes: &[bool], weights: Option<&[f64]>, folds: &[Fold]) -> Vec<f64> {
    let mut oof = vec![f64::NAN; data.n_rows];
    for f in folds {
        let m = Model::fit(spec, data, &f.train, outcomes, weights);
        let x = m.encode(&data.select(&f.test));
        for (&r, l) in f.test.iter().zip(m.logits(&x)) {
            oof[r as usize] = l;
        }
    }
    oof
}

/// Cross-validated fit: out-of-fold logits, a Platt map fitted on them, and a final model on `train`
/// carrying that map. Returns the model and the calibrated out-of-fold probabilities (`NaN` outside
/// every test fold).
pub fn fit_calibrated(spec: &ModelSpec, data: &Dataset, train: &[u32], outcomes: &[bool], weights: Option<&[f64]>, folds: &[Fold]) -> (Model, Vec<f64>) {
    let oof = out_of_fold(spec, data, outcomes, weights, folds);
    let scored: Vec<usize> = (0..oof.len()).filter(|&i| !oof[i].is_nan()).collect();
    let l: Vec<f64> = scored.iter().map(|&i| oof[i]).collect();
    let y: Vec<bool> = scored.iter().map(|&i| outcomes[i]).collect();
    let w: Option<Vec<f64>> = weights.map(|w| scored.iter().map(|&i| w[i]).collect());
    let platt = Platt::fit(&l, &y, w.as_deref());
    let mut model = Model::fit(spec, data, train, outcomes, weights);
    model.calibration = platt;
    let probs = oof.iter().map(|&l| if l.is_nan() { f64::NAN } else { platt.probability(l) }).collect();
    (model, probs)
}
