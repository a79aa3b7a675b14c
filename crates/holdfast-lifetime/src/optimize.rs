//! Small-dimensional numerical optimisation for the maximum-likelihood fits: Nelder–Mead on unconstrained
//! (log-)parameters, a bracketed 1-D minimiser, central-difference Hessians and a pivoting matrix inverse.
//!
//! The models here have two to four parameters and smooth likelihoods, so a derivative-free simplex with
//! restarts reaches the optimum to ~1e-9 in the parameters; pulling in a general optimisation framework would
//! cost more compile time than these ~150 lines.

/// The minimum found by [`nelder_mead`].
#[derive(Clone, Debug)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    /// Function evaluations spent.
    pub evaluations: usize,
}

/// Minimises `f` from `x0` with an initial simplex of edge `step`. Restarts the simplex around the best point
/// until a restart no longer improves the value by more than `ftol` (a single run can stall on a ridge).
/// Non-finite values are treated as +∞, so `f` may return NaN outside its domain.
pub fn nelder_mead(f: impl Fn(&[f64]) -> f64, x0: &[f64], step: f64, ftol: f64) -> Minimum {
    let eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let n = x0.len();
    let mut best = x0.to_vec();
    let mut best_value = eval(&best);
    let mut evaluations = 1;
    let mut edge = step;
    for _restart in 0..50 {
        let (x, value, used) = simplex_run(&eval, &best, edge, ftol, 2000 * (n + 1));
        evaluations += used;
        let improved = best_value - value;
        if value < best_value {
            best = x;
            best_value = value;
        }
        if improved.abs() <= ftol {
            break;
        }
        edge = (edge * 0.5).max(1e-3);
    }
    Minimum { x: best, value: best_value, evaluations }
}

fn simplex_run(f: &impl Fn(&[f64]) -> f64, x0: &[f64], step: f64, ftol: f64, max_evals: usize) -> (Vec<f64>, f64, usize) {
    let n = x0.len();
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    points.push(x0.to_vec());
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        points.push(p);
    }
    let mut values: Vec<f64> = points.iter().map(|p| f(p)).collect();
    let mut evals = n + 1;
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut trial2 = vec![0.0; n];
    while evals < max_evals {
        // Order: best first, worst last.
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        points = order.iter().map(|&i| points[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();
        let spread = (values[n] - values[0]).abs();
        let size = (1..=n).map(|i| dist(&points[i], &points[0])).fold(0.0, f64::max);
        if spread <= ftol * 0.01 && size <= 1e-10 * (1.0 + norm(&points[0])) || size < 1e-13 {
            break;
        }
        if spread <= ftol * 1e-3 && size <= 1e-7 {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for p in &points[..n] {
            for (c, v) in centroid.iter_mut().zip(p) {
                *c += v / n as f64;
            }
        }
        let along = |coef: f64, out: &mut Vec<f64>, worst: &[f64], centroid: &[f64]| {
            for j in 0..n {
                out[j] = centroid[j] + coef * (worst[j] - centroid[j]);
            }
        };
        along(-1.0, &mut trial, &points[n], &centroid);
        let reflected = f(&trial);
        evals += 1;
        if reflected < values[0] {
            along(-2.0, &mut trial2, &points[n], &centroid);
            let expanded = f(&trial2);
            evals += 1;
            if expanded < reflected {
                points[n].copy_from_slice(&trial2);
                values[n] = expanded;
            } else {
                points[n].copy_from_slice(&trial);
                values[n] = reflected;
            }
        } else if reflected < values[n - 1] {
            points[n].copy_from_slice(&trial);
            values[n] = reflected;
        } else {
            let outside = reflected < values[n];
            along(if outside { -0.5 } else { 0.5 }, &mut trial2, &points[n], &centroid);
            let contracted = f(&trial2);
            evals += 1;
            if contracted < values[n].min(reflected) {
                points[n].copy_from_slice(&trial2);
                values[n] = contracted;
            } else {
                // Shrink towards the best point.
                let (best, rest) = points.split_at_mut(1);
                for (p, v) in rest.iter_mut().zip(&mut values[1..]) {
                    for (x, b) in p.iter_mut().zip(&best[0]) {
                        *x = b + 0.5 * (*x - b);
                    }
                    *v = f(p);
                }
                evals += n;
            }
        }
    }
    let best = (0..=n).min_by(|&a, &b| values[a].total_cmp(&values[b])).unwrap_or(0);
    (points[best].clone(), values[best], evals)
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Minimises a unimodal `f` on `[lo, hi]` by golden-section search to absolute tolerance `tol`.
pub fn golden_section(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, tol: f64) -> (f64, f64) {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = hi - g * (hi - lo);
    let mut d = lo + g * (hi - lo);
    let (mut fc, mut fd) = (f(c), f(d));
    while (hi - lo).abs() > tol {
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - g * (hi - lo);
            fc = f(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + g * (hi - lo);
            fd = f(d);
        }
    }
    let x = 0.5 * (lo + hi);
    (x, f(x))
}

/// Finds `x` in `[lo, hi]` with `f(x) = 0` by bisection, given a sign change; `None` without one.
pub fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, tol: f64) -> Option<f64> {
    let (mut flo, fhi) = (f(lo), f(hi));
    if !(flo.is_finite() && fhi.is_finite()) || flo.signum() == fhi.signum() {
        return None;
    }
    while (hi - lo).abs() > tol {
        let mid = 0.5 * (lo + hi);
        let fm = f(mid);
        if fm.signum() == flo.signum() {
            lo = mid;
            flo = fm;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Central-difference Hessian of `f` at `x`, with steps relative to each coordinate.
pub fn hessian(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let h: Vec<f64> = x.iter().map(|v| 1e-4 * v.abs().max(1e-2)).collect();
    let mut m = vec![vec![0.0; n]; n];
    let mut p = x.to_vec();
    let f0 = f(x);
    for i in 0..n {
        for j in i..n {
            let value = if i == j {
                p[i] = x[i] + h[i];
                let fp = f(&p);
                p[i] = x[i] - h[i];
                let fm = f(&p);
                p[i] = x[i];
                (fp - 2.0 * f0 + fm) / (h[i] * h[i])
            } else {
                let mut corner = |si: f64, sj: f64| {
                    p[i] = x[i] + si * h[i];
                    p[j] = x[j] + sj * h[j];
                    let v = f(&p);
                    p[i] = x[i];
                    p[j] = x[j];
                    v
                };
                (corner(1.0, 1.0) - corner(1.0, -1.0) - corner(-1.0, 1.0) + corner(-1.0, -1.0)) / (4.0 * h[i] * h[j])
            };
            m[i][j] = value;
            m[j][i] = value;
        }
    }
    m
}

/// Inverse of a square matrix by Gauss–Jordan elimination with partial pivoting; `None` when singular.
pub fn invert(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut a: Vec<Vec<f64>> = m.to_vec();
    let mut inv: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&r1, &r2| a[r1][col].abs().total_cmp(&a[r2][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 || !a[pivot][col].is_finite() {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col];
        for j in 0..n {
            a[col][j] /= p;
            inv[col][j] /= p;
        }
        for r in 0..n {
            if r != col {
                let factor = a[r][col];
                if factor != 0.0 {
                    for j in 0..n {
                        a[r][j] -= factor * a[col][j];
                        inv[r][j] -= factor * inv[col][j];
                    }
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nelder_mead_finds_the_rosenbrock_minimum() {
        let m = nelder_mead(|x| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2), &[-1.2, 1.0], 0.5, 1e-14);
        assert!((m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5, "{:?}", m);
    }

    #[test]
    fn hessian_and_inverse_of_a_quadratic() {
        // f = x² + 3xy + 5y²: Hessian [[2, 3], [3, 10]], inverse [[10, -3], [-3, 2]] / 11.
        let h = hessian(|x| x[0] * x[0] + 3.0 * x[0] * x[1] + 5.0 * x[1] * x[1], &[0.7, -0.2]);
        assert!((h[0][0] - 2.0).abs() < 1e-5 && (h[0][1] - 3.0).abs() < 1e-5 && (h[1][1] - 10.0).abs() < 1e-5);
        let inv = invert(&h).unwrap();
        assert!((inv[0][0] - 10.0 / 11.0).abs() < 1e-5 && (inv[0][1] + 3.0 / 11.0).abs() < 1e-5);
        assert!(invert(&[vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
    }

    #[test]
    fn one_dimensional_helpers() {
        let (x, _) = golden_section(|x| (x - 2.5).powi(2), 0.0, 10.0, 1e-9);
        assert!((x - 2.5).abs() < 1e-8);
        let root = bisect(|x| x * x - 2.0, 0.0, 2.0, 1e-12).unwrap();
        assert!((root - 2f64.sqrt()).abs() < 1e-10);
        assert!(bisect(|x| x * x + 1.0, 0.0, 2.0, 1e-12).is_none());
    }
}
