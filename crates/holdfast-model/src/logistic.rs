//! L2-regularised logistic regression fitted by Newton's method (IRLS).
//!
//! Features are standardised with the training mean and standard deviation (a constant column gets
//! standard deviation 1, so it stays at 0 and its coefficient at 0), the penalty `λ/2 · Σ β_j²` applies
//! to the standardised coefficients only — never to the intercept — and the loss is the weighted
//! log-loss summed over rows (so `λ` is comparable to scikit-learn's `1/C`). The objective is strictly
//! convex for `λ > 0`, so Newton's method with step halving converges to the unique optimum; the
//! Hessian (p+1)² is solved by Cholesky. Input must have no `NaN` (encode with
//! [`crate::data::MissingPolicy::Impute`]).
//!
//! Drivers: the logit is `β₀ + Σ_j β_j z_j` with `z_j` the standardised value, so `β_j z_j` is feature
//! j's contribution relative to an average row; contributions plus the intercept sum to the logit exactly.
use crate::data::Matrix;
use rayon::prelude::*;

/// Dot product with eight independent accumulators, so the compiler can vectorise it (a single running
/// sum is a dependency chain it may not reorder).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f64 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[derive(Clone, Copy, Debug)]
pub struct LogisticParams {
    /// L2 penalty on standardised coefficients.
    pub lambda: f64,
    pub max_iter: usize,
    /// Stop when the largest Newton step on a coefficient is below this.
    pub tol: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { lambda: 1.0, max_iter: 50, tol: 1e-7 }
    }
}

#[derive(Clone, Debug)]
pub struct Logistic {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub intercept: f64,
    /// Coefficients on the standardised features.
    pub coef: Vec<f64>,
    pub iterations: usize,
}

#[inline]
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
#[inline]
pub(crate) fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

impl Logistic {
    /// Fits on every row of `x` with outcomes `y` and optional weights.
    pub fn fit(x: &Matrix, y: &[bool], weights: Option<&[f64]>, p: &LogisticParams) -> Logistic {
        let (n, k) = (x.n_rows, x.n_cols());
        assert_eq!(y.len(), n);
        let w = |i: usize| weights.map(|w| w[i]).unwrap_or(1.0);
        let wsum: f64 = (0..n).map(w).sum();
        let mut mean = vec![0.0; k];
        let mut scale = vec![1.0; k];
        // standardised copy, column-major
        let mut z = vec![0.0; n * k];
        for j in 0..k {
            let c = x.col(j);
            let m = if wsum > 0.0 { (0..n).map(|i| w(i) * c[i]).sum::<f64>() / wsum } else { 0.0 };
            let var = if wsum > 0.0 { (0..n).map(|i| w(i) * (c[i] - m).powi(2)).sum::<f64>() / wsum } else { 0.0 };
            let s = if var > 1e-24 { var.sqrt() } else { 1.0 };
            mean[j] = m;
            scale[j] = s;
            for (d, &v) in z[j * n..(j + 1) * n].iter_mut().zip(c) {
                *d = (v - m) / s;
            }
        }
        let ysum: f64 = (0..n).filter(|&i| y[i]).map(w).sum();
        // start from the base rate (clamped so an all-one-class fit stays finite)
        let rate = if wsum > 0.0 { (ysum / wsum).clamp(1e-6, 1.0 - 1e-6) } else { 0.5 };
        let mut beta = vec![0.0; k + 1];
        beta[0] = (rate / (1.0 - rate)).ln();
        let mut eta = vec![beta[0]; n];
        let objective = |eta: &[f64], beta: &[f64]| -> f64 {
            let ll: f64 = (0..n).map(|i| w(i) * (softplus(eta[i]) - if y[i] { eta[i] } else { 0.0 })).sum();
            ll + 0.5 * p.lambda * beta[1..].iter().map(|b| b * b).sum::<f64>()
        };
        let mut obj = objective(&eta, &beta);
        let mut hw = vec![0.0; n]; // w·p(1−p)
        let mut r = vec![0.0; n]; // w·(p − y)
        let mut hess = vec![0.0; (k + 1) * (k + 1)];
        let mut grad = vec![0.0; k + 1];
        let mut sw = vec![0.0; n]; // √(w·p(1−p))
        let mut zw = vec![0.0; n * k]; // standardised columns scaled by sw
        let mut iterations = 0;
        for _ in 0..p.max_iter {
            iterations += 1;
            for i in 0..n {
                let pi = sigmoid(eta[i]);
                hw[i] = w(i) * pi * (1.0 - pi);
                r[i] = w(i) * (pi - if y[i] { 1.0 } else { 0.0 });
            }
            // gradient and Hessian; column 0 is the intercept (all ones). The Hessian is Zᵀ·diag(h)·Z =
            // (√h·Z)ᵀ(√h·Z): scaling each column once makes every entry a plain dot product of two
            // contiguous slices (vectorised), and the k columns' rows are computed in parallel.
            for (s, &h) in sw.iter_mut().zip(&hw) {
                *s = h.sqrt();
            }
            zw.par_chunks_mut(n.max(1)).zip(z.par_chunks(n.max(1))).for_each(|(dst, src)| {
                for ((d, &v), &s) in dst.iter_mut().zip(src).zip(&sw) {
                    *d = v * s;
                }
            });
            grad[0] = r.iter().sum();
            hess[0] = hw.iter().sum::<f64>() + 1e-12;
            let rows: Vec<(f64, f64, Vec<f64>)> = (0..k)
                .into_par_iter()
                .map(|j| {
                    let zj = &z[j * n..(j + 1) * n];
                    let wj = &zw[j * n..(j + 1) * n];
                    let g = dot(zj, &r) + p.lambda * beta[j + 1];
                    let h0 = dot(wj, &sw);
                    let row = (0..=j).map(|l| dot(wj, &zw[l * n..(l + 1) * n])).collect();
                    (g, h0, row)
                })
                .collect();
            for (j, (g, h0, row)) in rows.into_iter().enumerate() {
                grad[j + 1] = g;
                hess[j + 1] = h0;
                hess[(j + 1) * (k + 1)] = h0;
                for (l, v) in row.into_iter().enumerate() {
                    hess[(j + 1) * (k + 1) + l + 1] = v;
                    hess[(l + 1) * (k + 1) + j + 1] = v;
                }
                hess[(j + 1) * (k + 1) + j + 1] += p.lambda;
            }
            let step = cholesky_solve(&mut hess, &grad, k + 1);
            // Newton step with halving until the objective does not increase
            let mut t = 1.0;
            let mut accepted = false;
            let mut new_beta = beta.clone();
            for _ in 0..30 {
                for (nb, (b, s)) in new_beta.iter_mut().zip(beta.iter().zip(&step)) {
                    *nb = b - t * s;
                }
                linear_predictor(&z, n, &new_beta, &mut eta);
                let o = objective(&eta, &new_beta);
                if o <= obj + 1e-12 * obj.abs().max(1.0) {
                    obj = o;
                    accepted = true;
                    break;
                }
                t *= 0.5;
            }
            if !accepted {
                linear_predictor(&z, n, &beta, &mut eta);
                break;
            }
            let max_step = step.iter().map(|s| (t * s).abs()).fold(0.0, f64::max);
            beta = new_beta;
            if max_step < p.tol {
                break;
            }
        }
        Logistic { mean, scale, intercept: beta[0], coef: beta[1..].to_vec(), iterations }
    }

    /// The logit of every row of `x`.
    pub fn logits(&self, x: &Matrix) -> Vec<f64> {
        let n = x.n_rows;
        let mut out = vec![self.intercept; n];
        for j in 0..self.coef.len() {
            let (b, m, s) = (self.coef[j], self.mean[j], self.scale[j]);
            for (o, &v) in out.iter_mut().zip(x.col(j)) {
                *o += b * (v - m) / s;
            }
        }
        out
    }

    /// Per-column contributions `β_j z_j` of row `row` into `out` (length = columns); returns the
    /// intercept, so `intercept + Σ out = logit`.
    pub fn contributions(&self, x: &Matrix, row: usize, out: &mut [f64]) -> f64 {
        for j in 0..self.coef.len() {
            out[j] = self.coef[j] * (x.get(row, j) - self.mean[j]) / self.scale[j];
        }
        self.intercept
    }
}

fn linear_predictor(z: &[f64], n: usize, beta: &[f64], eta: &mut [f64]) {
    eta.fill(beta[0]);
    for j in 1..beta.len() {
        let b = beta[j];
        if b != 0.0 {
            for (e, &v) in eta.iter_mut().zip(&z[(j - 1) * n..j * n]) {
                *e += b * v;
            }
        }
    }
}

/// Solves `A x = b` for a symmetric positive definite `A` (row-major `d × d`, overwritten by its
/// Cholesky factor). The penalty makes every Hessian here positive definite; a tiny pivot (exact
/// collinearity in the unpenalised intercept) is clamped rather than dividing by zero.
fn cholesky_solve(a: &mut [f64], b: &[f64], d: usize) -> Vec<f64> {
    for j in 0..d {
        let mut s = a[j * d + j];
        for k in 0..j {
            s -= a[j * d + k] * a[j * d + k];
        }
        let piv = s.max(1e-12).sqrt();
        a[j * d + j] = piv;
        for i in j + 1..d {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= a[i * d + k] * a[j * d + k];
            }
            a[i * d + j] = s / piv;
        }
    }
    let mut y = b.to_vec();
    for i in 0..d {
        for k in 0..i {
            y[i] -= a[i * d + k] * y[k];
        }
        y[i] /= a[i * d + i];
    }
    for i in (0..d).rev() {
        for k in i + 1..d {
            y[i] -= a[k * d + i] * y[k];
        }
        y[i] /= a[i * d + i];
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(cols: &[&[f64]]) -> Matrix {
        let n = cols[0].len();
        Matrix { n_rows: n, names: (0..cols.len()).map(|j| format!("x{j}")).collect(), source: (0..cols.len() as u32).collect(), data: cols.concat() }
    }

    #[test]
    fn gradient_is_zero_at_the_optimum() {
        // stationarity: Σ (p − y) = 0 (unpenalised intercept) and Σ (p − y) z_j + λ β_j = 0
        let x1 = [0.5, 1.5, -0.3, 2.0, 0.1, -1.2, 0.7, 1.1, -0.4, 0.9];
        let x2 = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        let y = [false, true, false, true, false, false, true, true, false, true];
        let x = matrix(&[&x1, &x2]);
        let p = LogisticParams { lambda: 0.7, ..Default::default() };
        let m = Logistic::fit(&x, &y, None, &p);
        let logits = m.logits(&x);
        let r: Vec<f64> = logits.iter().zip(&y).map(|(&l, &yy)| sigmoid(l) - if yy { 1.0 } else { 0.0 }).collect();
        assert!(r.iter().sum::<f64>().abs() < 1e-9);
        for j in 0..2 {
            let g: f64 = (0..10).map(|i| r[i] * (x.get(i, j) - m.mean[j]) / m.scale[j]).sum::<f64>() + p.lambda * m.coef[j];
            assert!(g.abs() < 1e-9, "gradient {j} = {g}");
        }
        assert!(m.coef[0] > 0.0, "x1 separates churners upward");
    }

    #[test]
    fn contributions_sum_to_logit_and_constant_column_is_inert() {
        let x1 = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let c = [3.0; 6];
        let y = [false, false, true, false, true, true];
        let x = matrix(&[&x1, &c]);
        let m = Logistic::fit(&x, &y, None, &LogisticParams::default());
        assert_eq!(m.coef[1], 0.0);
        let logits = m.logits(&x);
        let mut out = vec![0.0; 2];
        for i in 0..6 {
            let b = m.contributions(&x, i, &mut out);
            assert!((b + out.iter().sum::<f64>() - logits[i]).abs() < 1e-12);
        }
    }

    #[test]
    fn larger_penalty_shrinks_coefficients() {
        let x1 = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.6, 0.75];
        let y = [false, false, true, true, true, false, false, true];
        let x = matrix(&[&x1]);
        let small = Logistic::fit(&x, &y, None, &LogisticParams { lambda: 0.01, ..Default::default() });
        let big = Logistic::fit(&x, &y, None, &LogisticParams { lambda: 100.0, ..Default::default() });
        assert!(big.coef[0].abs() < small.coef[0].abs());
        assert!(big.coef[0] > 0.0);
    }
}
