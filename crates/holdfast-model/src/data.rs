//! Raw feature tables and their encoding into a dense numeric matrix.
//!
//! A [`Dataset`] holds named numeric columns (`f64`, `NaN` = missing) and categorical columns (`u32`
//! codes into a level list, [`MISSING`] = missing), one `Vec` per column, rows aligned. An [`Encoder`]
//! is fitted on training rows only (no information from test rows leaks into the encoding) and turns a
//! dataset into a [`Matrix`]:
//! * categorical columns become one-hot columns; levels seen on fewer than `min_level_count` training
//!   rows are folded into one `(other)` column, as are levels never seen in training; a missing value is
//!   a level of its own (`(missing)`), folded like any other;
//! * numeric columns pass through; for models that cannot take `NaN` ([`MissingPolicy::Impute`],
//!   logistic regression) a missing value becomes the training mean plus a `<name> missing` indicator
//!   column (added only when training rows had missing values); trees keep `NaN` and learn a default
//!   direction per split.
//!
//! Every encoded column records the raw feature it came from, so per-prediction drivers can be summed
//! back to the feature a person recognises (`plan`, not `plan=pro` and `plan=(other)`).

/// Code of a missing categorical value.
pub const MISSING: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct NumericColumn {
    pub name: String,
    pub values: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct CategoricalColumn {
    pub name: String,
    /// Row codes: indices into `levels`, or [`MISSING`].
    pub codes: Vec<u32>,
    pub levels: Vec<String>,
}

impl CategoricalColumn {
    pub fn new(name: impl Into<String>) -> Self {
        CategoricalColumn { name: name.into(), codes: Vec::new(), levels: Vec::new() }
    }
    /// Appends a row by level name (interning it). Linear search: categorical features have few levels.
    pub fn push(&mut self, level: Option<&str>) {
        let code = match level {
            None => MISSING,
            Some(l) => match self.levels.iter().position(|x| x == l) {
                Some(k) => k as u32,
                None => {
                    self.levels.push(l.to_string());
                    (self.levels.len() - 1) as u32
                }
            },
        };
        self.codes.push(code);
    }
}

/// Raw features of a set of rows.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub n_rows: usize,
    pub numeric: Vec<NumericColumn>,
    pub categorical: Vec<CategoricalColumn>,
}

impl Dataset {
    /// Names of the raw features: numeric columns, then categorical ones (the indices drivers refer to).
    pub fn feature_names(&self) -> Vec<String> {
        self.numeric.iter().map(|c| c.name.clone()).chain(self.categorical.iter().map(|c| c.name.clone())).collect()
    }
    /// The rows `rows` of every column, in that order.
    pub fn select(&self, rows: &[u32]) -> Dataset {
        Dataset {
            n_rows: rows.len(),
            numeric: self.numeric.iter().map(|c| NumericColumn { name: c.name.clone(), values: rows.iter().map(|&r| c.values[r as usize]).collect() }).collect(),
            categorical: self
                .categorical
                .iter()
                .map(|c| CategoricalColumn { name: c.name.clone(), codes: rows.iter().map(|&r| c.codes[r as usize]).collect(), levels: c.levels.clone() })
                .collect(),
        }
    }
    /// Checks that every column has `n_rows` values (a builder's bug otherwise).
    pub fn validate(&self) -> Result<(), String> {
        for c in &self.numeric {
            if c.values.len() != self.n_rows {
                return Err(format!("numeric column {} has {} rows, expected {}", c.name, c.values.len(), self.n_rows));
            }
        }
        for c in &self.categorical {
            if c.codes.len() != self.n_rows {
                return Err(format!("categorical column {} has {} rows, expected {}", c.name, c.codes.len(), self.n_rows));
            }
        }
        Ok(())
    }
}

/// A dense column-major `f64` matrix: column `j` is `data[j * n_rows .. (j + 1) * n_rows]`. Column-major
/// because every model here works a column at a time (standardising, histogram binning, Xᵀ W X).
#[derive(Clone, Debug)]
pub struct Matrix {
    pub n_rows: usize,
    pub names: Vec<String>,
    /// Raw feature index (into [`Dataset::feature_names`]) each column came from.
    pub source: Vec<u32>,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn n_cols(&self) -> usize {
        self.names.len()
    }
    #[inline]
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.n_rows..(j + 1) * self.n_rows]
    }
    #[inline]
    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.data[col * self.n_rows + row]
    }
}

/// How an encoder treats missing numeric values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingPolicy {
    /// Keep `NaN` (trees learn where missing values go).
    Keep,
    /// Training mean plus an indicator column (linear models).
    Impute,
}

#[derive(Clone, Debug)]
enum Enc {
    Numeric { col: usize, mean: f64, indicator: bool },
    /// `keep[code]` = output offset of that level, or `u32::MAX` for folded; `missing` likewise;
    /// `other` = offset of the `(other)` column if any level is folded.
    Categorical { col: usize, keep: Vec<u32>, missing: u32, other: Option<u32> },
}

/// An encoding fitted on training rows.
#[derive(Clone, Debug)]
pub struct Encoder {
    encs: Vec<Enc>,
    names: Vec<String>,
    source: Vec<u32>,
    pub policy: MissingPolicy,
}

impl Encoder {
    /// Fits on the rows `train` of `data`. `min_level_count`: levels rarer than this in training are
    /// folded into `(other)`.
    pub fn fit(data: &Dataset, train: &[u32], policy: MissingPolicy, min_level_count: usize) -> Encoder {
        let mut encs = Vec::new();
        let mut names = Vec::new();
        let mut source = Vec::new();
        for (j, c) in data.numeric.iter().enumerate() {
            let (mut sum, mut n, mut missing) = (0.0, 0usize, 0usize);
            for &r in train {
                let v = c.values[r as usize];
                if v.is_nan() {
                    missing += 1;
                } else {
                    sum += v;
                    n += 1;
                }
            }
            let mean = if n > 0 { sum / n as f64 } else { 0.0 };
            let indicator = policy == MissingPolicy::Impute && missing > 0;
            names.push(c.name.clone());
            source.push(j as u32);
            if indicator {
                names.push(format!("{} missing", c.name));
                source.push(j as u32);
            }
            encs.push(Enc::Numeric { col: j, mean, indicator });
        }
        let n_num = data.numeric.len();
        for (j, c) in data.categorical.iter().enumerate() {
            let src = (n_num + j) as u32;
            let mut counts = vec![0usize; c.levels.len()];
            let mut missing = 0usize;
            for &r in train {
                match c.codes[r as usize] {
                    MISSING => missing += 1,
                    k => counts[k as usize] += 1,
                }
            }
            let mut keep = vec![u32::MAX; c.levels.len()];
            let mut folded = false;
            for (k, &cnt) in counts.iter().enumerate() {
                if cnt >= min_level_count.max(1) {
                    keep[k] = names.len() as u32;
                    names.push(format!("{}={}", c.name, c.levels[k]));
                    source.push(src);
                } else {
                    folded = true;
                }
            }
            let missing_off = if missing >= min_level_count.max(1) {
                names.push(format!("{}=(missing)", c.name));
                source.push(src);
                (names.len() - 1) as u32
            } else {
                folded |= missing > 0;
                u32::MAX
            };
            // `(other)` also takes levels first seen after training, so keep it whenever anything folds.
            let other = folded.then(|| {
                names.push(format!("{}=(other)", c.name));
                source.push(src);
                (names.len() - 1) as u32
            });
            encs.push(Enc::Categorical { col: j, keep, missing: missing_off, other });
        }
        Encoder { encs, names, source, policy }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Encodes every row of `data` (which must have the columns the encoder was fitted on).
    pub fn transform(&self, data: &Dataset) -> Matrix {
        let n = data.n_rows;
        let mut m = vec![0.0; n * self.names.len()];
        let mut off = 0usize;
        for e in &self.encs {
            match e {
                Enc::Numeric { col, mean, indicator } => {
                    let vals = &data.numeric[*col].values;
                    let dst = &mut m[off * n..(off + 1) * n];
                    match self.policy {
                        MissingPolicy::Keep => dst.copy_from_slice(vals),
                        MissingPolicy::Impute => {
                            for (d, &v) in dst.iter_mut().zip(vals) {
                                *d = if v.is_nan() { *mean } else { v };
                            }
                        }
                    }
                    off += 1;
                    if *indicator {
                        let dst = &mut m[off * n..(off + 1) * n];
                        for (d, &v) in dst.iter_mut().zip(vals) {
                            *d = if v.is_nan() { 1.0 } else { 0.0 };
                        }
                        off += 1;
                    }
                }
                Enc::Categorical { col, keep, missing, other } => {
                    let c = &data.categorical[*col];
                    let mut width = keep.iter().filter(|&&k| k != u32::MAX).count() + (*missing != u32::MAX) as usize;
                    width += other.is_some() as usize;
                    for (r, &code) in c.codes.iter().enumerate() {
                        let target = match code {
                            MISSING => *missing,
                            k => keep.get(k as usize).copied().unwrap_or(u32::MAX),
                        };
                        let target = if target == u32::MAX { other.unwrap_or(u32::MAX) } else { target };
                        if target != u32::MAX {
                            m[target as usize * n + r] = 1.0;
                        }
                    }
                    off += width;
                }
            }
        }
        debug_assert_eq!(off, self.names.len());
        Matrix { n_rows: n, names: self.names.clone(), source: self.source.clone(), data: m }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Dataset {
        let mut plan = CategoricalColumn::new("plan");
        for l in [Some("a"), Some("a"), Some("b"), None, Some("a"), Some("c")] {
            plan.push(l);
        }
        Dataset { n_rows: 6, numeric: vec![NumericColumn { name: "mrr".into(), values: vec![1.0, f64::NAN, 3.0, 5.0, 7.0, 9.0] }], categorical: vec![plan] }
    }

    #[test]
    fn impute_adds_indicator_and_folds_rare_levels() {
        let d = sample();
        let train = [0u32, 1, 2, 3, 4];
        let e = Encoder::fit(&d, &train, MissingPolicy::Impute, 2);
        // mrr, mrr missing, plan=a (3 rows), plan=(other) (b, missing and the unseen c)
        assert_eq!(e.names(), &["mrr", "mrr missing", "plan=a", "plan=(other)"]);
        let m = e.transform(&d);
        assert_eq!(m.get(1, 0), 4.0); // mean of 1, 3, 5, 7
        assert_eq!(m.get(1, 1), 1.0);
        assert_eq!(m.get(0, 1), 0.0);
        assert_eq!(m.col(2), &[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(m.col(3), &[0.0, 0.0, 1.0, 1.0, 0.0, 1.0]);
        assert_eq!(m.source, vec![0, 0, 1, 1]);
    }

    #[test]
    fn keep_policy_passes_nan_and_keeps_frequent_missing_level() {
        let d = sample();
        let e = Encoder::fit(&d, &[0, 1, 2, 3, 4, 5], MissingPolicy::Keep, 1);
        assert_eq!(e.names(), &["mrr", "plan=a", "plan=b", "plan=c", "plan=(missing)"]);
        let m = e.transform(&d);
        assert!(m.get(1, 0).is_nan());
        assert_eq!(m.get(3, 4), 1.0);
    }
}
