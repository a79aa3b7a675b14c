//! Probability calibration by Platt scaling: `P(y | s) = σ(a·s + b)` fitted by maximum likelihood on
//! out-of-fold logits (never on the rows the model was trained on, whose scores are over-confident),
//! with Platt's smoothed targets `(N₊ + 1)/(N₊ + 2)` and `1/(N₋ + 2)` so a separable fold cannot send
//! `a` to infinity. Platt rather than isotonic: two parameters are stable on the few hundred churners a
//! typical company has, and the map stays strictly increasing, so calibration never changes AUC.
use crate::logistic::{sigmoid, softplus};

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    /// The identity map on logits.
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    pub fn fit(logits: &[f64], outcomes: &[bool], weights: Option<&[f64]>) -> Platt {
        let w = |i: usize| weights.map(|w| w[i]).unwrap_or(1.0);
        let pos: f64 = (0..logits.len()).filter(|&i| outcomes[i]).map(w).sum();
        let neg: f64 = (0..logits.len()).filter(|&i| !outcomes[i]).map(w).sum();
        if pos == 0.0 || neg == 0.0 {
            return Platt::IDENTITY;
        }
        let (hi, lo) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
        let t = |i: usize| if outcomes[i] { hi } else { lo };
        let loss = |a: f64, b: f64| -> f64 { (0..logits.len()).map(|i| { let z = a * logits[i] + b; w(i) * (softplus(z) - t(i) * z) }).sum() };
        let (mut a, mut b) = (1.0, 0.0);
        let mut cur = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for i in 0..logits.len() {
                let s = logits[i];
                let p = sigmoid(a * s + b);
                let r = w(i) * (p - t(i));
                let h = w(i) * p * (1.0 - p);
                ga += r * s;
                gb += r;
                haa += h * s * s;
                hab += h * s;
                hbb += h;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
            let mut step = 1.0;
            let mut improved = false;
            for _ in 0..30 {
                let (na, nb) = (a - step * da, b - step * db);
                let l = loss(na, nb);
                if l <= cur {
                    a = na;
                    b = nb;
                    cur = l;
                    improved = true;
                    break;
                }
                step *= 0.5;
            }
            if !improved || (step * da).abs().max((step * db).abs()) < 1e-10 {
                break;
            }
        }
        Platt { a, b }
    }

    #[inline]
    pub fn probability(&self, logit: f64) -> f64 {
        sigmoid(self.a * logit + self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_map_and_keeps_order() {
        // outcomes drawn deterministically from P = σ(0.5 s − 1): bucket rows so the observed rate per
        // score equals the model's probability (to the nearest 1/200)
        let mut s = Vec::new();
        let mut y = Vec::new();
        for k in -8..=8 {
            let score = k as f64 * 0.5;
            let p = sigmoid(0.5 * score - 1.0);
            let pos = (p * 200.0).round() as usize;
            for j in 0..200 {
                s.push(score);
                y.push(j < pos);
            }
        }
        let c = Platt::fit(&s, &y, None);
        assert!((c.a - 0.5).abs() < 0.02, "{c:?}");
        assert!((c.b + 1.0).abs() < 0.02, "{c:?}");
        assert!(c.probability(1.0) > c.probability(0.0));
    }

    #[test]
    fn one_class_gives_identity() {
        assert_eq!(Platt::fit(&[0.1, 0.2], &[false, false], None), Platt::IDENTITY);
    }
}
