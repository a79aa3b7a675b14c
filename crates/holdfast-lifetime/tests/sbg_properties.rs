//! sBG invariants (spec §11.14), uncertainty, projection and money, plus recovery of known parameters from
//! simulated customers.
use holdfast_lifetime::km::KaplanMeier;
use holdfast_lifetime::sbg::{fit, period_discount_rate, project_retention, Sbg, Source, SurvivalCounts};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use statrs::distribution::{Beta, ContinuousCDF};

/// `customers` customers with churn probability θ ~ Beta(α, β), followed for `periods` renewals.
fn simulate(alpha: f64, beta: f64, customers: usize, periods: u32, seed: u64) -> SurvivalCounts {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let dist = Beta::new(alpha, beta).unwrap();
    let (mut observed, mut churned) = (Vec::with_capacity(customers), Vec::with_capacity(customers));
    for _ in 0..customers {
        let theta = dist.inverse_cdf(rng.random_range(1e-9..1.0 - 1e-9));
        let mut t = 0;
        let mut gone = false;
        while t < periods && !gone {
            t += 1;
            gone = rng.random::<f64>() < theta;
        }
        observed.push(t);
        churned.push(gone);
    }
    SurvivalCounts::from_customers(&observed, &churned).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn fit_recovers_simulated_parameters(alpha in 0.5f64..3.0, beta in 1.0f64..8.0, seed in 0u64..1000) {
        let data = simulate(alpha, beta, 20_000, 12, seed);
        let f = fit(&data).unwrap();
        let cov = f.log_covariance.unwrap();
        // Within 4 standard errors on the log scale (a false alarm has probability ~1e-4 per parameter).
        prop_assert!((f.model.alpha.ln() - alpha.ln()).abs() < 4.0 * cov[0][0].sqrt(), "α {} vs {}", f.model.alpha, alpha);
        prop_assert!((f.model.beta.ln() - beta.ln()).abs() < 4.0 * cov[1][1].sqrt(), "β {} vs {}", f.model.beta, beta);
    }

    #[test]
    fn survival_decreases_retention_rises_and_del_matches_derl(alpha in 0.05f64..20.0, beta in 0.05f64..40.0, d in 0.001f64..0.5) {
        let m = Sbg::new(alpha, beta).unwrap();
        let s = m.survival_curve(60);
        for t in 1..=60u32 {
            prop_assert!(s[t as usize] < s[t as usize - 1]);
            if t > 1 { prop_assert!(m.retention_rate(t) >= m.retention_rate(t - 1)); }
            prop_assert!((m.churn_probability(t) - (s[t as usize - 1] - s[t as usize])).abs() < 1e-12);
        }
        if let (Some(del), Some(derl0)) = (m.del(d), m.derl(d, 0)) {
            prop_assert!((del - (1.0 + derl0 / (1.0 + d))).abs() < 1e-9 * del);
        }
    }
}

#[test]
fn log_likelihood_is_maximal_at_the_fit_and_intervals_agree() {
    let cohorts = vec![vec![10000, 8000, 6480, 5307, 4391], vec![10000, 8000, 6480, 5307], vec![10000, 8000, 6480], vec![10000, 8000]];
    let data = SurvivalCounts::from_cohorts(&cohorts).unwrap();
    let f = fit(&data).unwrap();
    for (da, db) in [(1.01, 1.0), (0.99, 1.0), (1.0, 1.01), (1.0, 0.99), (1.01, 1.01)] {
        let nearby = Sbg::new(f.model.alpha * da, f.model.beta * db).unwrap();
        assert!(nearby.log_likelihood(&data) < f.log_likelihood);
    }
    // Standard errors from the natural-scale information agree with the delta method from the log scale.
    let se = f.standard_errors.unwrap();
    let cov = f.log_covariance.unwrap();
    assert!((se[0] / (f.model.alpha * cov[0][0].sqrt()) - 1.0).abs() < 1e-3);
    assert!((se[1] / (f.model.beta * cov[1][1].sqrt()) - 1.0).abs() < 1e-3);
    // Profile-likelihood ends: the profile drops by χ²₁(0.95)/2 = 1.9207 there. α and β are strongly correlated
    // here, so the profile interval is skewed (2.87..5.55 around 3.80); its width stays near the Wald width.
    let p = f.profile_intervals(&data, 0.95);
    let (lo, hi) = (p.alpha.0.unwrap(), p.alpha.1.unwrap());
    assert!(lo < f.model.alpha && f.model.alpha < hi);
    assert!(((hi - lo) / (2.0 * 1.959964 * se[0]) - 1.0).abs() < 0.2, "profile {lo}..{hi}, se {}", se[0]);
    let profile_at = |alpha: f64| {
        let best = (0..4000).map(|i| f.model.beta * (0.5 + i as f64 / 2000.0)).map(|b| Sbg { alpha, beta: b }.log_likelihood(&data)).fold(f64::MIN, f64::max);
        f.log_likelihood - best
    };
    assert!((profile_at(lo) - 1.920729).abs() < 0.01 && (profile_at(hi) - 1.920729).abs() < 0.01);
    let (blo, bhi) = (p.beta.0.unwrap(), p.beta.1.unwrap());
    assert!(blo < f.model.beta && f.model.beta < bhi);
}

#[test]
fn clv_and_customer_equity_in_minor_units() {
    let data = SurvivalCounts::from_cohorts(&[vec![1000, 631, 468, 382, 326, 289, 262, 241]]).unwrap();
    let f = fit(&data).unwrap();
    let d = 0.10;
    let clv = f.clv_new(5_000, d, 0.95).unwrap();
    assert_eq!(clv.value, (5_000.0 * f.model.del(d).unwrap()).round() as i64);
    assert!(clv.lower.unwrap() < clv.value && clv.value < clv.upper.unwrap());
    let existing = f.clv_existing(5_000, d, 3, 0.95).unwrap();
    assert_eq!(existing.value, (5_000.0 * f.model.derl(d, 3).unwrap()).round() as i64);
    // Equity of 10 new-ish (0 renewals) and 5 three-year customers: rounded once from the exact sum.
    let equity = f.customer_equity(5_000, d, &[10, 0, 0, 5], 0.95).unwrap();
    let exact = 5_000.0 * (10.0 * f.model.derl(d, 0).unwrap() + 5.0 * f.model.derl(d, 3).unwrap());
    assert_eq!(equity.value, exact.round() as i64);
    // Constant retention r gives DEL = (1+d)/(1+d−r): a Beta concentrated at θ = 1−r (α, β large).
    let r = 0.8;
    let nearly_constant = Sbg::new(1e6 * (1.0 - r), 1e6 * r).unwrap();
    assert!((nearly_constant.del(d).unwrap() - (1.0 + d) / (1.0 + d - r)).abs() < 1e-3);
    assert!((period_discount_rate(0.10, 12.0) - (1.1f64.powf(1.0 / 12.0) - 1.0)).abs() < 1e-15);
    assert!(((1.0 + period_discount_rate(0.10, 12.0)).powi(12) - 1.1).abs() < 1e-12);
}

#[test]
fn projection_uses_km_inside_the_horizon_and_sbg_beyond() {
    let cohorts = vec![vec![1000, 631, 468, 382, 326, 289, 262, 241]];
    let km = KaplanMeier::from_cohort_counts(&cohorts).unwrap();
    let model = fit(&SurvivalCounts::from_cohorts(&cohorts).unwrap()).unwrap().model;
    let p = project_retention(&km, &model, 12);
    assert_eq!(p.len(), 13);
    for age in 0..=7 {
        assert_eq!(p[age].source, Source::KaplanMeier);
        assert!((p[age].survival - cohorts[0][age] as f64 / 1000.0).abs() < 1e-12);
    }
    let s = model.survival_curve(12);
    for age in 8..=12 {
        assert_eq!(p[age].source, Source::Sbg);
        assert!((p[age].survival - 0.241 * s[age] / s[7]).abs() < 1e-12);
    }
}

#[test]
fn fits_need_a_churn_and_valid_counts() {
    assert!(fit(&SurvivalCounts::from_cohorts(&[vec![100, 100, 100]]).unwrap()).is_err());
    let err = SurvivalCounts::from_cohorts(&[vec![100, 90], vec![100, 80, 81]]).unwrap_err();
    assert_eq!((err.field, err.index), ("cohorts", Some(1)));
    assert!(SurvivalCounts::from_customers(&[0], &[true]).is_err());
}

#[test]
fn constant_churn_runs_to_the_boundary_without_uncertainty() {
    // Exactly geometric survivors (r = 0.9 every period): no heterogeneity, α and β grow without bound.
    let data = SurvivalCounts::from_cohorts(&[vec![100_000, 90_000, 81_000, 72_900, 65_610, 59_049]]).unwrap();
    let f = fit(&data).unwrap();
    assert_eq!(f.flags, vec!["at_boundary"]);
    assert_eq!((f.standard_errors, f.log_covariance), (None, None));
    assert!((f.model.retention_rate(1) - 0.9).abs() < 1e-6 && (f.model.retention_rate(5) - 0.9).abs() < 1e-6);
    let clv = f.clv_new(1_000, 0.01, 0.95).unwrap();
    assert_eq!((clv.lower, clv.upper), (None, None));
}
