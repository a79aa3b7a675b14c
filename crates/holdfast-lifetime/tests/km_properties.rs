//! Kaplan–Meier invariants (spec §11.7, §11.13) on random data.
use holdfast_lifetime::km::{pooled_retention, CiMethod, KaplanMeier};
use proptest::prelude::*;

fn subjects() -> impl Strategy<Value = Vec<(u32, bool)>> {
    prop::collection::vec((0u32..40, any::<bool>()), 1..200)
}

proptest! {
    #[test]
    fn survival_is_non_increasing_in_unit_interval_and_inside_its_intervals(data in subjects()) {
        let t: Vec<f64> = data.iter().map(|d| d.0 as f64).collect();
        let e: Vec<bool> = data.iter().map(|d| d.1).collect();
        let km = KaplanMeier::fit(&t, &e, None).unwrap();
        let mut previous = 1.0;
        for &s in &km.survival {
            prop_assert!((0.0..=1.0).contains(&s));
            prop_assert!(s <= previous);
            previous = s;
        }
        for method in [CiMethod::LogLog, CiMethod::Log] {
            for (i, band) in km.intervals(0.95, method).into_iter().enumerate() {
                let s = km.survival[i];
                match band {
                    Some(b) => prop_assert!(b.lower <= s + 1e-12 && s <= b.upper + 1e-12 && b.lower >= 0.0 && b.upper <= 1.0, "{:?} around {}", b, s),
                    None => prop_assert_eq!(s, 0.0),
                }
            }
        }
        let (rmst, se) = km.restricted_mean(40.0);
        prop_assert!((0.0..=40.0).contains(&rmst) && se >= 0.0);
    }

    #[test]
    fn without_censoring_km_is_the_empirical_survival(times in prop::collection::vec(0u32..30, 1..100)) {
        let t: Vec<f64> = times.iter().map(|&x| x as f64).collect();
        let km = KaplanMeier::fit(&t, &vec![true; t.len()], None).unwrap();
        for probe in 0..31 {
            let empirical = times.iter().filter(|&&x| x > probe).count() as f64 / times.len() as f64;
            prop_assert!((km.survival_at(probe as f64) - empirical).abs() < 1e-12);
        }
    }

    #[test]
    fn pooled_km_equals_single_cohort_km_when_cohorts_have_equal_length(
        cohorts in prop::collection::vec(prop::collection::vec(0u64..50, 6), 1..6)
    ) {
        // Random losses per age → survivor counts; all cohorts observed for 5 ages.
        let survivors: Vec<Vec<u64>> = cohorts.iter().map(|losses| {
            let size = 300u64;
            let mut alive = size;
            let mut c = vec![size];
            for &l in &losses[1..] { alive -= l.min(alive); c.push(alive); }
            c
        }).collect();
        let pooled = KaplanMeier::from_cohort_counts(&survivors).unwrap();
        let single: Vec<u64> = (0..6).map(|j| survivors.iter().map(|c| c[j]).sum()).collect();
        let one = KaplanMeier::from_cohort_counts(std::slice::from_ref(&single)).unwrap();
        // The same customers, one row each: lost at age j = event at j, survivors censored at 5.
        let (mut t, mut e) = (vec![], vec![]);
        for j in 1..6 {
            for _ in 0..(single[j - 1] - single[j]) { t.push(j as f64); e.push(true); }
        }
        for _ in 0..single[5] { t.push(5.0); e.push(false); }
        let per_customer = KaplanMeier::fit(&t, &e, None).unwrap();
        let ratio = pooled_retention(&survivors.iter().map(|c| c.iter().map(|&v| v as f64).collect()).collect::<Vec<_>>());
        for (age, r) in ratio.iter().enumerate() {
            let s = pooled.survival_at(age as f64);
            prop_assert!((s - one.survival_at(age as f64)).abs() < 1e-12);
            prop_assert!((s - per_customer.survival_at(age as f64)).abs() < 1e-12);
            prop_assert!((s - r.unwrap()).abs() < 1e-12);
            prop_assert!((pooled.variance_at(age as f64) - per_customer.variance_at(age as f64)).abs() < 1e-12);
        }
    }
}

#[test]
fn bad_input_is_named() {
    let err = KaplanMeier::fit(&[1.0, f64::NAN], &[true, true], None).unwrap_err();
    assert_eq!(err.to_string(), "durations[1] = NaN: expected a finite time ≥ 0");
    let err = KaplanMeier::fit(&[1.0, 2.0], &[true, true], Some(&[0.0, 2.0])).unwrap_err();
    assert_eq!(err.to_string(), "entry[1] = 2: expected a finite time before the duration 2");
    let err = KaplanMeier::from_cohort_counts(&[vec![10, 8], vec![10, 4, 5]]).unwrap_err();
    assert_eq!((err.field, err.index), ("cohorts", Some(1)));
}

#[test]
fn restricted_mean_by_hand() {
    // Events at 2 and 4 of 4 subjects (two censored at 5): S = 1 on [0,2), .75 on [2,4), .5 on [4, ..).
    let km = KaplanMeier::fit(&[2.0, 4.0, 5.0, 5.0], &[true, true, false, false], None).unwrap();
    let (area, se) = km.restricted_mean(6.0);
    assert!((area - (2.0 + 0.75 * 2.0 + 0.5 * 2.0)).abs() < 1e-12);
    // A at t=2: .75·2 + .5·2 = 2.5, n 4 d 1; A at t=4: .5·2 = 1, n 3 d 1.
    let expected = (2.5f64.powi(2) / 12.0 + 1.0 / 6.0).sqrt();
    assert!((se - expected).abs() < 1e-12, "{se} vs {expected}");
    // The median never falls strictly below one half here; under the R rule it is the midpoint rule's end.
    assert_eq!(km.median(holdfast_lifetime::km::MedianRule::Strict), None);
    assert_eq!(km.median(holdfast_lifetime::km::MedianRule::R), Some(4.0));
}
