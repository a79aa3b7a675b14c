//! Evaluation of scores against binary outcomes, general enough for churn probabilities and health
//! scores alike: every function takes `scores` (higher = more likely positive), `outcomes` (true =
//! positive, e.g. churned) and optional non-negative `weights` (`None` = every row weighs 1).
//!
//! Ties are handled exactly: rows with equal scores form one threshold group, so ROC-AUC counts a tied
//! positive/negative pair as ½ (the Mann–Whitney statistic) and average precision steps once per group,
//! as scikit-learn does. Every headline metric is returned as a [`KpiResult`] carrying numerator,
//! denominator and n; an empty denominator (no positives, no negatives, no rows) gives `None` with the
//! flag `empty_denominator`, never 0.
use holdfast_core::time::Ts;
use holdfast_engine::result::{ratio, KpiResult, Value, FLAG_EMPTY_DENOMINATOR};
use serde::Serialize;

/// Checks the three parallel inputs; the caller's programming error, not user data, if they disagree.
fn check(scores: &[f64], outcomes: &[bool], weights: Option<&[f64]>) {
    assert_eq!(scores.len(), outcomes.len(), "scores and outcomes differ in length");
    if let Some(w) = weights {
        assert_eq!(w.len(), scores.len(), "weights and scores differ in length");
    }
}

#[inline]
fn weight(weights: Option<&[f64]>, i: usize) -> f64 {
    weights.map(|w| w[i]).unwrap_or(1.0)
}

/// Row indices by descending score (NaN scores last), ties in row order.
fn order_desc(scores: &[f64]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32).collect();
    idx.sort_by(|&a, &b| {
        let (x, y) = (scores[a as usize], scores[b as usize]);
        y.partial_cmp(&x).unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
    });
    idx
}

fn result(kpi: &'static str, label: &str, value: Option<Value>, num: Option<Value>, den: Option<Value>, n: usize, flags: Vec<&'static str>) -> KpiResult {
    KpiResult { kpi, period: label.to_string(), period_start: 0, period_end: 0, segment: None, value, numerator: num, denominator: den, n: n as u64, flags }
}

/// ROC-AUC: the (weighted) share of positive/negative pairs ranked correctly, ties counting ½.
/// Numerator = concordant pair weight, denominator = total positive × negative weight. `label` names
/// what was evaluated (a fold, an observation date, `cv`).
pub fn roc_auc(scores: &[f64], outcomes: &[bool], weights: Option<&[f64]>, label: &str) -> KpiResult {
    check(scores, outcomes, weights);
    let idx = order_desc(scores);
    // Walk groups of equal score from the top: each positive in the group beats every negative below it
    // (seen after the group) — counted as: negatives below = total negatives − negatives seen so far.
    let (mut tot_pos, mut tot_neg) = (0.0, 0.0);
    for i in 0..scores.len() {
        if outcomes[i] {
            tot_pos += weight(weights, i);
        } else {
            tot_neg += weight(weights, i);
        }
    }
    let mut concordant = 0.0;
    let mut neg_seen = 0.0;
    let mut k = 0;
    while k < idx.len() {
        let s = scores[idx[k] as usize];
        let (mut gp, mut gn) = (0.0, 0.0);
        while k < idx.len() && same(scores[idx[k] as usize], s) {
            let i = idx[k] as usize;
            if outcomes[i] {
                gp += weight(weights, i);
            } else {
                gn += weight(weights, i);
            }
            k += 1;
        }
        concordant += gp * (tot_neg - neg_seen - gn) + 0.5 * gp * gn;
        neg_seen += gn;
    }
    let pairs = tot_pos * tot_neg;
    let (value, flags) = ratio(Value::Number(concordant), Value::Number(pairs));
    result("roc_auc", label, value, Some(Value::Number(concordant)), Some(Value::Number(pairs)), scores.len(), flags)
}

#[inline]
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// PR-AUC as average precision: `Σ_k (R_k − R_{k−1}) · P_k` over the distinct score thresholds from
/// the top (scikit-learn's `average_precision_score`, no interpolation). Numerator = that sum times the
/// positive weight, denominator = positive weight; a random ranking scores the positive rate.
pub fn average_precision(scores: &[f64], outcomes: &[bool], weights: Option<&[f64]>, label: &str) -> KpiResult {
    check(scores, outcomes, weights);
    let idx = order_desc(scores);
    let tot_pos: f64 = (0..scores.len()).filter(|&i| outcomes[i]).map(|i| weight(weights, i)).sum();
    // Σ ΔTP_k · precision_k = tot_pos · Σ ΔR_k · P_k
    let (mut tp, mut all, mut sum) = (0.0, 0.0, 0.0);
    let mut k = 0;
    while k < idx.len() {
        let s = scores[idx[k] as usize];
        let mut gp = 0.0;
        while k < idx.len() && same(scores[idx[k] as usize], s) {
            let i = idx[k] as usize;
            let w = weight(weights, i);
            all += w;
            if outcomes[i] {
                gp += w;
            }
            k += 1;
        }
        tp += gp;
        if gp > 0.0 && all > 0.0 {
            sum += gp * tp / all;
        }
    }
    let (value, flags) = ratio(Value::Number(sum), Value::Number(tot_pos));
    result("pr_auc", label, value, Some(Value::Number(sum)), Some(Value::Number(tot_pos)), scores.len(), flags)
}

/// Brier score `Σ w (p − y)² / Σ w` of probabilities `p ∈ [0, 1]`.
pub fn brier(probs: &[f64], outcomes: &[bool], weights: Option<&[f64]>, label: &str) -> KpiResult {
    check(probs, outcomes, weights);
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..probs.len() {
        let w = weight(weights, i);
        let d = probs[i] - if outcomes[i] { 1.0 } else { 0.0 };
        num += w * d * d;
        den += w;
    }
    let (value, flags) = ratio(Value::Number(num), Value::Number(den));
    result("brier", label, value, Some(Value::Number(num)), Some(Value::Number(den)), probs.len(), flags)
}

/// Lift of the top `fraction` of rows by score (0.1 = top decile): the positive rate among them ÷ the
/// overall positive rate. The top group is cut at whole tie groups' weight closest above `fraction`
/// (rows with equal scores cannot be told apart, so they are never split). Numerator = the top group's
/// rate, denominator = the overall rate.
pub fn top_lift(scores: &[f64], outcomes: &[bool], weights: Option<&[f64]>, fraction: f64, label: &str) -> KpiResult {
    check(scores, outcomes, weights);
    let idx = order_desc(scores);
    let (mut tot, mut tot_pos) = (0.0, 0.0);
    for i in 0..scores.len() {
        let w = weight(weights, i);
        tot += w;
        if outcomes[i] {
            tot_pos += w;
        }
    }
    let target = fraction * tot;
    let (mut top, mut top_pos, mut rows) = (0.0, 0.0, 0usize);
    let mut k = 0;
    while k < idx.len() && top < target {
        let s = scores[idx[k] as usize];
        while k < idx.len() && same(scores[idx[k] as usize], s) {
            let i = idx[k] as usize;
            let w = weight(weights, i);
            top += w;
            rows += 1;
            if outcomes[i] {
                top_pos += w;
            }
            k += 1;
        }
    }
    let top_rate = if top > 0.0 { Some(top_pos / top) } else { None };
    let base_rate = if tot > 0.0 { Some(tot_pos / tot) } else { None };
    let (value, flags) = match (top_rate, base_rate) {
        (Some(t), Some(b)) => ratio(Value::Ratio(t), Value::Ratio(b)),
        _ => (None, vec![FLAG_EMPTY_DENOMINATOR]),
    };
    let kpi = if (fraction - 0.1).abs() < 1e-12 { "top_decile_lift" } else { "top_lift" };
    result(kpi, label, value, top_rate.map(Value::Ratio), base_rate.map(Value::Ratio), rows, flags)
}

/// One bin of a calibration table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// `[lo, hi)` of predicted probability (the last bin includes 1).
    pub lo: f64,
    pub hi: f64,
    pub n: u64,
    pub weight: f64,
    /// Weighted mean predicted probability; `None` for an empty bin.
    pub predicted: Option<f64>,
    /// Weighted observed positive rate; `None` for an empty bin.
    pub observed: Option<f64>,
}

/// Calibration table over `bins` equal-width probability bins on `[0, 1]` (probabilities outside are
/// clamped into the end bins). Empty bins are kept (with `None` rates) so tables line up across models.
pub fn calibration(probs: &[f64], outcomes: &[bool], weights: Option<&[f64]>, bins: usize) -> Vec<CalibrationBin> {
    check(probs, outcomes, weights);
    let bins = bins.max(1);
    let mut acc = vec![(0u64, 0.0f64, 0.0f64, 0.0f64); bins]; // n, weight, Σ w p, Σ w y
    for i in 0..probs.len() {
        let p = probs[i];
        let b = if p.is_nan() { continue } else { ((p * bins as f64).floor().max(0.0) as usize).min(bins - 1) };
        let w = weight(weights, i);
        let a = &mut acc[b];
        a.0 += 1;
        a.1 += w;
        a.2 += w * p;
        a.3 += if outcomes[i] { w } else { 0.0 };
    }
    acc.iter()
        .enumerate()
        .map(|(b, &(n, w, sp, sy))| CalibrationBin {
            lo: b as f64 / bins as f64,
            hi: (b + 1) as f64 / bins as f64,
            n,
            weight: w,
            predicted: (w > 0.0).then(|| sp / w),
            observed: (w > 0.0).then(|| sy / w),
        })
        .collect()
}

/// Positive (churn) rate per band: `bands[i]` is row i's band index (`< names.len()`), e.g. the
/// red/yellow/green health band or a probability decile. One result per band, `segment = band=<name>`,
/// numerator = positive weight, denominator = band weight, n = rows in the band.
pub fn rate_per_band(bands: &[u32], outcomes: &[bool], weights: Option<&[f64]>, names: &[&str], label: &str) -> Vec<KpiResult> {
    assert_eq!(bands.len(), outcomes.len(), "bands and outcomes differ in length");
    let mut acc = vec![(0usize, 0.0f64, 0.0f64); names.len()];
    for i in 0..bands.len() {
        let w = weight(weights, i);
        let a = &mut acc[bands[i] as usize];
        a.0 += 1;
        a.1 += w;
        if outcomes[i] {
            a.2 += w;
        }
    }
    names
        .iter()
        .zip(&acc)
        .map(|(name, &(n, w, pos))| {
            let (value, flags) = ratio(Value::Number(pos), Value::Number(w));
            let mut r = result("churn_rate_per_band", label, value, Some(Value::Number(pos)), Some(Value::Number(w)), n, flags);
            r.segment = Some(format!("band={name}"));
            r
        })
        .collect()
}

/// How long before churning accounts were flagged (turned red, crossed a probability threshold).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeadTimeStats {
    /// Churned accounts considered.
    pub churned: u64,
    /// Of those, flagged at or before their churn.
    pub flagged: u64,
    /// `flagged / churned`; `None` when nobody churned.
    pub recall: Option<f64>,
    /// Lead times in days (churn − first flag), over flagged accounts; `None` when none was flagged.
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
    pub p25_days: Option<f64>,
    pub p75_days: Option<f64>,
}

/// Lead-time statistics from each churned account's churn instant and the first instant it was flagged
/// (`None` = never flagged before churning; a flag after the churn counts as not flagged). Quantiles
/// interpolate linearly between order statistics (type 7, as numpy and R's default).
pub fn lead_times(churned_at: &[Ts], first_flagged_at: &[Option<Ts>]) -> LeadTimeStats {
    assert_eq!(churned_at.len(), first_flagged_at.len(), "churn and flag instants differ in length");
    let mut days: Vec<f64> = churned_at
        .iter()
        .zip(first_flagged_at)
        .filter_map(|(&c, f)| f.filter(|&f| f <= c).map(|f| (c - f) as f64 / holdfast_core::time::SECS_PER_DAY as f64))
        .collect();
    days.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| -> Option<f64> {
        if days.is_empty() {
            return None;
        }
        let h = p * (days.len() - 1) as f64;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(days.len() - 1);
        Some(days[lo] + (h - lo as f64) * (days[hi] - days[lo]))
    };
    let n = churned_at.len() as u64;
    LeadTimeStats {
        churned: n,
        flagged: days.len() as u64,
        recall: (n > 0).then(|| days.len() as f64 / n as f64),
        mean_days: (!days.is_empty()).then(|| days.iter().sum::<f64>() / days.len() as f64),
        median_days: q(0.5),
        p25_days: q(0.25),
        p75_days: q(0.75),
    }
}

/// The headline evaluation of one set of probabilities.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub roc_auc: KpiResult,
    pub pr_auc: KpiResult,
    pub brier: KpiResult,
    pub top_decile_lift: KpiResult,
    /// Outcome rate over all rows (the PR-AUC of a random ranking).
    pub base_rate: Option<f64>,
    pub calibration: Vec<CalibrationBin>,
}

/// ROC-AUC, PR-AUC, Brier, top-decile lift and a 10-bin calibration table of `probs`.
pub fn evaluate(probs: &[f64], outcomes: &[bool], weights: Option<&[f64]>, label: &str) -> Evaluation {
    let lift = top_lift(probs, outcomes, weights, 0.1, label);
    let base_rate = match lift.denominator {
        Some(Value::Ratio(r)) => Some(r),
        _ => None,
    };
    Evaluation {
        roc_auc: roc_auc(probs, outcomes, weights, label),
        pr_auc: average_precision(probs, outcomes, weights, label),
        brier: brier(probs, outcomes, weights, label),
        top_decile_lift: lift,
        base_rate,
        calibration: calibration(probs, outcomes, weights, 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(r: &KpiResult) -> Option<f64> {
        r.value.map(|v| v.as_f64())
    }

    /// Brute force over all pairs: the definition the sorted walk must agree with.
    fn auc_pairs(s: &[f64], y: &[bool], w: &[f64]) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] && !y[j] {
                    let ww = w[i] * w[j];
                    den += ww;
                    num += ww * if s[i] > s[j] { 1.0 } else if s[i] == s[j] { 0.5 } else { 0.0 };
                }
            }
        }
        num / den
    }

    #[test]
    fn auc_hand_computed_with_ties() {
        // positives 0.9, 0.5 ; negatives 0.5, 0.1 → pairs: (0.9>0.5)=1, (0.9>0.1)=1, (0.5=0.5)=½, (0.5>0.1)=1
        let s = [0.9, 0.5, 0.5, 0.1];
        let y = [true, true, false, false];
        assert_eq!(v(&roc_auc(&s, &y, None, "t")), Some(3.5 / 4.0));
        // all scores tied → ½ whatever the labels
        assert_eq!(v(&roc_auc(&[0.3; 5], &[true, false, true, false, false], None, "t")), Some(0.5));
    }

    #[test]
    fn auc_matches_pairwise_definition_with_weights() {
        let s = [0.2, 0.8, 0.8, 0.4, 0.1, 0.8, 0.4, 0.9, 0.0, 0.4];
        let y = [false, true, false, true, false, true, false, false, true, true];
        let w = [1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 1.5, 1.0, 2.0, 0.25];
        let got = v(&roc_auc(&s, &y, Some(&w), "t")).unwrap();
        assert!((got - auc_pairs(&s, &y, &w)).abs() < 1e-12);
    }

    #[test]
    fn auc_empty_class_is_null_with_flag() {
        let r = roc_auc(&[0.1, 0.2], &[false, false], None, "t");
        assert_eq!(r.value, None);
        assert_eq!(r.flags, vec![FLAG_EMPTY_DENOMINATOR]);
    }

    #[test]
    fn average_precision_hand_computed() {
        // ranks: 0.9 (+), 0.8 (−), 0.7 (+), 0.1 (−). AP = ½·1 + ½·(2/3) = 5/6
        let s = [0.1, 0.9, 0.7, 0.8];
        let y = [false, true, true, false];
        assert!((v(&average_precision(&s, &y, None, "t")).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // a tie group of one positive and one negative at the top: precision ½ at recall 1
        assert_eq!(v(&average_precision(&[0.5, 0.5], &[true, false], None, "t")), Some(0.5));
    }

    #[test]
    fn brier_and_lift_hand_computed() {
        let p = [0.9, 0.2, 0.6, 0.1];
        let y = [true, false, false, false];
        // (0.01 + 0.04 + 0.36 + 0.01)/4 = 0.105
        assert!((v(&brier(&p, &y, None, "t")).unwrap() - 0.105).abs() < 1e-12);
        // 20 rows, 4 positives (rate 0.2); the 2 top-scored rows hold 1 positive → rate 0.5 → lift 2.5
        let s: Vec<f64> = (0..20).map(|i| 20.0 - i as f64).collect();
        let mut y = vec![false; 20];
        y[0] = true;
        y[5] = true;
        y[9] = true;
        y[15] = true;
        let l = top_lift(&s, &y, None, 0.1, "t");
        assert_eq!(l.kpi, "top_decile_lift");
        assert!((v(&l).unwrap() - 2.5).abs() < 1e-12);
        assert_eq!(l.n, 2);
    }

    #[test]
    fn calibration_bins_and_band_rates() {
        let p = [0.05, 0.15, 0.12, 0.95, 1.0];
        let y = [false, true, false, true, true];
        let t = calibration(&p, &y, None, 10);
        assert_eq!(t.len(), 10);
        assert_eq!(t[0].n, 1);
        assert_eq!(t[1].n, 2);
        assert!((t[1].predicted.unwrap() - 0.135).abs() < 1e-12);
        assert_eq!(t[1].observed, Some(0.5));
        assert_eq!(t[9].n, 2); // 1.0 falls into the last bin
        assert_eq!(t[5].predicted, None);
        let r = rate_per_band(&[0, 0, 1, 2, 2], &y, None, &["red", "yellow", "green"], "t");
        assert_eq!(v(&r[0]), Some(0.5));
        assert_eq!(v(&r[1]), Some(0.0));
        assert_eq!(r[2].segment.as_deref(), Some("band=green"));
        let empty = rate_per_band(&[0], &[true], None, &["red", "green"], "t");
        assert_eq!(empty[1].value, None);
    }

    #[test]
    fn lead_time_quantiles() {
        let d = holdfast_core::time::SECS_PER_DAY;
        let churn = [100 * d, 100 * d, 100 * d, 100 * d, 50 * d];
        let flag = [Some(90 * d), Some(70 * d), Some(40 * d), None, Some(60 * d)]; // last flagged after churn
        let s = lead_times(&churn, &flag);
        assert_eq!((s.churned, s.flagged), (5, 3));
        assert_eq!(s.median_days, Some(30.0));
        assert_eq!(s.p25_days, Some(20.0));
        assert_eq!(s.p75_days, Some(45.0));
        assert!((s.mean_days.unwrap() - 100.0 / 3.0).abs() < 1e-12);
    }
}
