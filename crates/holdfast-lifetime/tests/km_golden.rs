//! Kaplan–Meier golden values of spec §10.6 (lifelines' tests against R), to the printed precision.
use holdfast_lifetime::km::{log_rank, pooled_retention, CiMethod, KaplanMeier, MedianRule};

fn close(actual: f64, expected: f64, atol: f64, what: &str) {
    assert!((actual - expected).abs() <= atol, "{what}: got {actual}, expected {expected} ± {atol}");
}

fn g3_control() -> KaplanMeier {
    let data = [(34.0, true), (32.0, true), (9.0, true), (19.0, true), (50.0, false), (48.0, false)];
    let (t, e): (Vec<f64>, Vec<bool>) = data.iter().copied().unzip();
    KaplanMeier::fit(&t, &e, None).unwrap()
}

#[test]
fn g3_control_survival_log_log_interval_and_median() {
    let km = g3_control();
    let times = [9.0, 19.0, 32.0, 34.0];
    let s = [0.8333, 0.6667, 0.5, 0.3333];
    let lower = [0.2731, 0.1946, 0.1109, 0.0461];
    let upper = [0.9747, 0.9044, 0.8037, 0.6756];
    for i in 0..4 {
        close(km.survival_at(times[i]), s[i], 5e-5, "S");
        let ci = km.interval_at(times[i], 0.95, CiMethod::LogLog).unwrap();
        close(ci.lower, lower[i], 5e-5, "log-log lower");
        close(ci.upper, upper[i], 5e-5, "log-log upper");
    }
    assert_eq!(km.median(MedianRule::Strict), Some(34.0));
    assert_eq!(km.median(MedianRule::R), Some(33.0));
}

#[test]
fn g3_rit_survival() {
    let data = [(53.0, true), (28.0, false), (69.0, false), (58.0, false), (54.0, false), (25.0, true), (51.0, false), (61.0, false), (57.0, false), (57.0, false), (50.0, false)];
    let (t, e): (Vec<f64>, Vec<bool>) = data.iter().copied().unzip();
    let km = KaplanMeier::fit(&t, &e, None).unwrap();
    close(km.survival_at(25.0), 0.9091, 5e-5, "S(25)");
    close(km.survival_at(53.0), 0.7792, 5e-5, "S(53)");
}

#[test]
fn late_entry() {
    let t = [2.0, 10.0, 5.0, 4.0, 3.0];
    let all = [true; 5];
    let km = KaplanMeier::fit(&t, &all, Some(&[1.0, 2.0, 4.0, 0.0, 0.0])).unwrap();
    for (at, s) in [(0.0, 1.0), (1.0, 1.0), (2.0, 0.6667), (3.0, 0.4444), (4.0, 0.2222), (5.0, 0.1111), (10.0, 0.0)] {
        close(km.survival_at(at), s, 5e-5, &format!("entry 1: S({at})"));
    }
    let km = KaplanMeier::fit(&t, &all, Some(&[1.9, 0.0, 0.0, 0.0, 0.0])).unwrap();
    for (at, s) in [(0.0, 1.0), (1.9, 1.0), (2.0, 0.8), (3.0, 0.6), (4.0, 0.4), (5.0, 0.2), (10.0, 0.0)] {
        close(km.survival_at(at), s, 1e-12, &format!("entry 2: S({at})"));
    }
}

fn gehan() -> (Vec<f64>, Vec<bool>, Vec<u32>) {
    let six_mp = "6 6 6 6* 7 9* 10 10* 11* 13 16 17* 19* 20* 22 23 25* 32* 32* 34* 35*";
    let placebo = "1 1 2 2 3 4 4 5 5 8 8 8 8 11 11 12 12 15 17 22 23";
    let (mut t, mut e, mut g) = (vec![], vec![], vec![]);
    for (group, text) in [(0u32, six_mp), (1, placebo)] {
        for w in text.split_whitespace() {
            t.push(w.trim_end_matches('*').parse().unwrap());
            e.push(!w.ends_with('*'));
            g.push(group);
        }
    }
    (t, e, g)
}

#[test]
fn freireich_gehan_survival_medians_and_log_rank() {
    let (t, e, g) = gehan();
    let pick = |group: u32| -> (Vec<f64>, Vec<bool>) { (0..t.len()).filter(|&i| g[i] == group).map(|i| (t[i], e[i])).unzip() };
    let (t0, e0) = pick(0);
    let km = KaplanMeier::fit(&t0, &e0, None).unwrap();
    for (at, s) in [(6.0, 0.8571), (7.0, 0.8067), (10.0, 0.7529), (13.0, 0.6902), (16.0, 0.6275), (22.0, 0.5378), (23.0, 0.4482)] {
        close(km.survival_at(at), s, 5e-5, &format!("6-MP S({at})"));
    }
    assert_eq!(km.median(MedianRule::Strict), Some(23.0));
    let (t1, e1) = pick(1);
    assert_eq!(KaplanMeier::fit(&t1, &e1, None).unwrap().median(MedianRule::Strict), Some(8.0));
    let test = log_rank(&t, &e, &g).unwrap();
    close(test.chi_square, 16.79, 0.005, "log-rank χ²");
    assert!((test.p_value - 4.2e-5).abs() < 0.05e-5, "p = {}", test.p_value);
    assert_eq!(test.degrees_of_freedom, 1);
    assert_eq!(test.observed, vec![9.0, 21.0]);
}

#[test]
fn note_017_triangle_pooled_retention() {
    let cohorts: Vec<Vec<u64>> = vec![vec![10000, 8000, 6480, 5307, 4391], vec![10000, 8000, 6480, 5307], vec![10000, 8000, 6480], vec![10000, 8000]];
    let expected = [1.0, 0.8, 0.648, 0.5307, 0.4391];
    let pooled = pooled_retention(&cohorts.iter().map(|c| c.iter().map(|&v| v as f64).collect()).collect::<Vec<_>>());
    let km = KaplanMeier::from_cohort_counts(&cohorts).unwrap();
    for k in 0..5 {
        close(pooled[k].unwrap(), expected[k], 1e-12, &format!("pooled P({k})"));
        close(km.survival_at(k as f64), expected[k], 1e-12, &format!("KM S({k})"));
    }
}

#[test]
fn log_rank_with_three_groups_reduces_to_two_when_a_group_is_split_in_identical_halves() {
    // Splitting the placebo arm into two groups with identical data leaves the 6-MP vs placebo contrast; the
    // three-group statistic (2 df) then equals the two-group one, since the halves add no difference.
    let (t, e, g) = gehan();
    let (mut t3, mut e3, mut g3) = (t.clone(), e.clone(), g.clone());
    for i in 0..t.len() {
        if g[i] == 1 {
            t3.push(t[i]);
            e3.push(e[i]);
            g3.push(2);
        }
    }
    let mut t2 = t.clone();
    let mut e2 = e.clone();
    let mut g2 = g.clone();
    for i in 0..t.len() {
        if g[i] == 1 {
            t2.push(t[i]);
            e2.push(e[i]);
            g2.push(1);
        }
    }
    let three = log_rank(&t3, &e3, &g3).unwrap();
    let two = log_rank(&t2, &e2, &g2).unwrap();
    assert_eq!(three.degrees_of_freedom, 2);
    close(three.chi_square, two.chi_square, 1e-9, "χ² with an identical split");
    assert!(three.p_value > two.p_value, "the same χ² on more degrees of freedom is less significant");
    assert!((three.observed.iter().sum::<f64>() - three.expected.iter().sum::<f64>()).abs() < 1e-9, "Σ O = Σ E");
}
