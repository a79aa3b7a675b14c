//! Special functions the models need beyond `statrs`: the Gauss hypergeometric series.

/// `₂F₁(a, b; c; z) = Σ_k (a)_k (b)_k / ((c)_k k!) z^k` for `0 ≤ z < 1`, summed until the terms stop
/// mattering (relative 1e-15). `None` when the series does not settle within its iteration budget (z too close
/// to 1 for the parameters), so callers report "undefined" rather than a wrong number.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || c <= 0.0 {
        return None;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 0..1_000_000u32 {
        let k = k as f64;
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        // Terms eventually shrink geometrically (ratio → z); stop once they are negligible and shrinking.
        if term.abs() <= 1e-16 * sum.abs() && (a + k + 1.0) * (b + k + 1.0) / ((c + k + 1.0) * (k + 2.0)) * z < 1.0 {
            return sum.is_finite().then_some(sum);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z)/z; ₂F₁(1, b; b; z) = 1/(1 − z).
        for z in [0.1, 0.5, 0.9] {
            assert!((hyp2f1(1.0, 1.0, 2.0, z).unwrap() + (1.0 - z).ln() / z).abs() < 1e-12);
            assert!((hyp2f1(1.0, 3.3, 3.3, z).unwrap() - 1.0 / (1.0 - z)).abs() < 1e-10);
        }
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 1.0), None);
    }
}
