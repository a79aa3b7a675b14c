//! Cohorts and lifetimes from the engine's ledger, on a hand-made history whose retention is computed by hand
//! below. The history builder is the engine tests' own (shared, not copied).
#[path = "../../holdfast-engine/tests/common/mod.rs"]
mod common;
use common::*;
use holdfast_core::records::{Interval, SubscriptionStatus as S};
use holdfast_core::time::Calendar;
use holdfast_core::Grain;
use holdfast_engine::Settings;
use holdfast_lifetime::cohorts::{billing_intervals, cohort_matrix, customer_lifetimes, ltv_report, renewal_periods, BillingInterval, LtvOptions};

/// January cohort: A (stays), B (churns 03-01), C (joins 01-10, churns 02-10).
/// February cohort: D (stays, doubles its MRR from April), E (churns 03-01). As of 2024-06-01.
fn history() -> B {
    let mut b = B::new();
    b.plan("p", 10_000, Interval::Month, 1);
    b.sub("sA", "A", S::Active, None, None);
    b.monthly("A", "sA", "p", "2024-01-01", 6, 10_000);
    b.sub("sB", "B", S::Canceled, Some("2024-02-20"), Some("2024-03-01"));
    b.monthly("B", "sB", "p", "2024-01-01", 2, 10_000);
    b.sub("sC", "C", S::Canceled, Some("2024-02-01"), Some("2024-02-10"));
    b.line(Line::new("C", "sC", "p", "2024-01-10", "2024-02-10", 10_000));
    b.sub("sD", "D", S::Active, None, None);
    b.monthly("D", "sD", "p", "2024-02-01", 2, 10_000);
    b.line(Line::new("D", "sD", "p", "2024-04-01", "2024-05-01", 20_000).quantity(2));
    b.line(Line::new("D", "sD", "p", "2024-05-01", "2024-06-01", 20_000).quantity(2));
    b.line(Line::new("D", "sD", "p", "2024-06-01", "2024-07-01", 20_000).quantity(2));
    b.sub("sE", "E", S::Canceled, Some("2024-02-15"), Some("2024-03-01"));
    b.line(Line::new("E", "sE", "p", "2024-02-01", "2024-03-01", 10_000));
    b
}

#[test]
fn cohort_matrix_by_hand() {
    let run = history().run(&Settings::default(), "2024-06-01T00:00:00Z");
    let m = cohort_matrix(&run, &Calendar::utc(Grain::Month));
    let cells: Vec<(&str, u32, u64, u64, i64, i64)> = m.cells.iter().map(|c| (c.cohort.as_str(), c.age, c.customers, c.retained, c.new_business_mrr, c.mrr)).collect();
    assert_eq!(
        cells,
        vec![
            ("2024-01", 0, 3, 3, 30_000, 30_000),
            ("2024-01", 1, 3, 2, 30_000, 20_000), // C churned 02-10; B's churn at 03-01 is not before the end of February
            ("2024-01", 2, 3, 1, 30_000, 10_000),
            ("2024-01", 3, 3, 1, 30_000, 10_000),
            ("2024-01", 4, 3, 1, 30_000, 10_000), // ends 2024-06-01 = as_of: observed
            ("2024-02", 0, 2, 2, 20_000, 20_000),
            ("2024-02", 1, 2, 1, 20_000, 10_000),
            ("2024-02", 2, 2, 1, 20_000, 20_000), // D's expansion from 04-01
            ("2024-02", 3, 2, 1, 20_000, 20_000),
        ]
    );
    assert!(m.cells.iter().all(|c| c.flags.is_empty()));
    // One day later June is running: the engine sees no June cohort (no one joined), the cells are unchanged.
    let later = history().run(&Settings::default(), "2024-06-02T00:00:00Z");
    assert_eq!(cohort_matrix(&later, &Calendar::utc(Grain::Month)).cells.len(), m.cells.len());
    // As of mid-February the February cohort exists but its first month is not over: age 0 only, incomplete.
    let mid_feb = cohort_matrix(&history().run(&Settings::default(), "2024-02-15T00:00:00Z"), &Calendar::utc(Grain::Month));
    let feb: Vec<_> = mid_feb.cells.iter().filter(|c| c.cohort == "2024-02").collect();
    assert_eq!(feb.len(), 1);
    assert_eq!((feb[0].age, feb[0].customers, feb[0].flags.clone()), (0, 2, vec!["incomplete"]));
    let feb2 = &m.cells[7];
    assert_eq!(feb2.logo_retention, Some(0.5));
    assert_eq!(feb2.revenue_retention, Some(1.0));
    assert_eq!(feb2.gross_revenue_retention, Some(0.5), "gross caps D at its new-business MRR");
    assert!(m.cells.iter().filter(|c| c.age == 0).all(|c| c.logo_retention == Some(1.0) && c.mrr == c.new_business_mrr));
    // Pooled: (2+1)/(3+2), then (1+1)/(2+1), (1+1)/(1+1), 1/1 (only January is observed at age 4).
    let expected = [1.0, 0.6, 0.4, 0.4, 0.4];
    for (k, e) in expected.into_iter().enumerate() {
        assert!((m.pooled_logo[k].unwrap() - e).abs() < 1e-12, "pooled logo {k}");
    }
    // Revenue: 30/50, then ·(10+20)/(20+10), ·(10+20)/(10+20), ·10/10.
    for (k, e) in [1.0, 0.6, 0.6, 0.6, 0.6].into_iter().enumerate() {
        assert!((m.pooled_revenue[k].unwrap() - e).abs() < 1e-12, "pooled revenue {k}");
    }
}

#[test]
fn lifetimes_and_billing_periods() {
    let b = history();
    let run = b.run(&Settings::default(), "2024-06-01T00:00:00Z");
    let snap = b.snapshot();
    let lives = customer_lifetimes(&run);
    let name = |c: u32| snap.customers.ids.name(c).to_string();
    let days: Vec<(String, f64, bool)> = lives.customer.iter().zip(lives.durations_in_days()).zip(&lives.churned).map(|((&c, d), &x)| (name(c), d, x)).collect();
    assert_eq!(days, vec![("A".into(), 152.0, false), ("B".into(), 60.0, true), ("C".into(), 31.0, true), ("D".into(), 121.0, false), ("E".into(), 29.0, true)]);
    let month = BillingInterval { unit: Interval::Month, count: 1 };
    assert!(billing_intervals(&snap).iter().all(|i| *i == Some(month)));
    let periods: Vec<u32> = days.iter().map(|(_, d, x)| renewal_periods(*d, *x, &month)).collect();
    assert_eq!(periods, vec![5, 2, 1, 4, 1]);
}

#[test]
fn ltv_report_by_hand() {
    let b = history();
    let run = b.run(&Settings::default(), "2024-06-01T00:00:00Z");
    let report = ltv_report(&run, &b.snapshot(), &LtvOptions::default());
    assert_eq!(report.customers_without_interval, 0);
    let [monthly] = &report.intervals[..] else { panic!("one interval expected: {:?}", report.intervals) };
    assert_eq!((monthly.interval.as_str(), monthly.customers, monthly.churned, monthly.active, monthly.horizon), ("month", 5, 3, 2, 5));
    // KM over periods: events at 1 (C, E) and 2 (B); D censored at 4, A at 5. S(1) = 3/5, S(2) = 2/5.
    assert!((monthly.retention[1].survival - 0.6).abs() < 1e-12 && (monthly.retention[2].survival - 0.4).abs() < 1e-12);
    assert_eq!(monthly.km_median, Some(2.0));
    // RMST(5) = 1 + 0.6 + 0.4·3.
    assert!((monthly.restricted_mean - 2.8).abs() < 1e-12);
    // ARPA of A (10,000) and D (20,000), one month per period, gross margin 1.
    assert_eq!(monthly.margin_per_period, 15_000);
    let fit = monthly.sbg.as_ref().unwrap();
    let d = 1.1f64.powf(1.0 / 12.0) - 1.0;
    assert!((monthly.discount_rate_per_period - d).abs() < 1e-15);
    let equity = 15_000.0 * (fit.model.derl(d, 5).unwrap() + fit.model.derl(d, 4).unwrap());
    assert_eq!(monthly.customer_equity.unwrap().value, equity.round() as i64);
    assert_eq!(monthly.clv_new.unwrap().value, (15_000.0 * fit.model.del(d).unwrap()).round() as i64);
    assert_eq!(monthly.retention.len(), 5 + 12 + 1);
}
