//! Hand-computed usage KPIs on the fixture of `common` (two paying accounts, four users, March–April 2025).
//!
//! Active days: u1 03-03, 03-10, 03-11, 04-02; u2 03-03; u3 03-05; u4 (unmapped) 03-20. u3's April email is
//! passive. Sessions (gap 30 min): u1 20 min (03-03), 30 min across midnight (03-10 23:50 → 03-11 00:20),
//! 0 min (04-02); u2 0 and 0 min (an hour apart); u3 5 min; u4 15 min.
mod common;
use common::*;
use holdfast_core::time::Calendar;
use holdfast_core::Grain;
use holdfast_engine::result::Value;
use holdfast_engine::segment::SegmentBy;
use holdfast_engine::Settings;
use holdfast_usage::kpis::{km_median, UsageTable, FLAG_NO_USAGE_DATA};
use holdfast_usage::{compute, BillingAccounts, UsageInput, UsageModel, UsageSettings};

fn tables(lines: &[String], us: &UsageSettings, segment: Option<&str>) -> UsageTable {
    let snap = billing();
    let rollup = ingest(lines);
    let model = UsageModel::build(&rollup, us);
    let s = Settings::default();
    let as_of = t("2025-04-30T23:59:59Z");
    let billing = BillingAccounts::build(&snap, &s, as_of).unwrap();
    let links = billing.link_accounts(&rollup);
    let cal = Calendar::utc(Grain::Month);
    let input = UsageInput { rollup: &rollup, model: &model, billing: &billing, links: &links, settings: us, calendar: &cal, from: t("2025-03-01"), to: as_of, as_of };
    let seg = segment.map(|by| billing.segmenter(&SegmentBy::parse(by), &s, t("2025-03-01"), as_of).unwrap());
    compute(&input, seg.as_ref())
}

fn v(tb: &UsageTable, kpi: &str, period: &str) -> Option<f64> {
    tb.get(kpi, period, None).unwrap_or_else(|| panic!("no {kpi} {period}")).value.map(|v| v.as_f64())
}

fn close(a: Option<f64>, b: f64, what: &str) {
    let a = a.unwrap_or_else(|| panic!("{what}: expected {b}, got null"));
    assert!((a - b).abs() < 1e-9, "{what}: expected {b}, got {a}");
}

#[test]
fn activity_counts_and_stickiness() {
    let tb = tables(&fixture_messages(), &UsageSettings::default(), None);
    close(v(&tb, "dau", "2025-03"), 6.0 / 31.0, "dau march");
    assert_eq!(tb.get("dau", "2025-03", None).unwrap().n, 4);
    close(v(&tb, "wau", "2025-03"), 0.0, "wau at 03-31");
    close(v(&tb, "mau", "2025-03"), 4.0, "mau at 03-31");
    close(v(&tb, "stickiness", "2025-03"), (6.0 / 30.0) / 4.0, "stickiness march");
    close(v(&tb, "unmapped_active_users", "2025-03"), 1.0, "unmapped");
    close(v(&tb, "dau", "2025-04"), 1.0 / 30.0, "dau april");
    close(v(&tb, "mau", "2025-04"), 1.0, "mau april");
    close(v(&tb, "stickiness", "2025-04"), 1.0 / 30.0, "stickiness april");
    close(v(&tb, "unmapped_active_users", "2025-04"), 0.0, "unmapped april");
}

#[test]
fn sessions_across_midnight_and_time_in_use() {
    let tb = tables(&fixture_messages(), &UsageSettings::default(), None);
    // six sessions start in March: 20, 30 (across midnight, counted whole where it starts), 0, 0, 5, 15
    close(v(&tb, "session_duration", "2025-03"), 70.0 / 6.0, "mean session");
    close(v(&tb, "session_duration_median", "2025-03"), 10.0, "median session");
    assert_eq!(tb.get("session_duration", "2025-03", None).unwrap().n, 6);
    // per active user per week: (50 + 0 + 5 + 15) min over 4 users × 31/7 weeks
    close(v(&tb, "time_in_use", "2025-03"), 70.0 / (4.0 * 31.0 / 7.0), "time in use");
    close(v(&tb, "time_in_use_median", "2025-03"), 10.0 / (31.0 / 7.0), "median time in use");
    close(v(&tb, "session_duration", "2025-04"), 0.0, "april single-event session");
}

#[test]
fn a_session_across_a_period_end_is_split_in_time_in_use() {
    // 23:50 on March 31 → 00:20 on April 1: 10 minutes in March, 20 in April; the session starts in March
    let lines = vec![
        group("g1", "u1", "cus_a", "2025-03-01T09:00:00Z"),
        track("a", "u1", "Signed In", "2025-03-31T23:50:00Z", None),
        track("b", "u1", "Report Created", "2025-04-01T00:20:00Z", None),
    ];
    let tb = tables(&lines, &UsageSettings::default(), None);
    close(v(&tb, "time_in_use", "2025-03"), 10.0 / (31.0 / 7.0), "march part");
    close(v(&tb, "time_in_use", "2025-04"), 20.0 / (30.0 / 7.0), "april part");
    close(v(&tb, "session_duration", "2025-03"), 30.0, "whole session in its start period");
    assert_eq!(v(&tb, "session_duration", "2025-04"), None);
    // and the session gap is inclusive: 30 minutes apart is one session
    let s = tb.get("session_duration", "2025-03", None).unwrap();
    assert_eq!(s.n, 1);
}

#[test]
fn logins_features_and_seats() {
    let tb = tables(&fixture_messages(), &UsageSettings::default(), None);
    close(v(&tb, "login_frequency", "2025-03"), 5.0 / 4.0 / (31.0 / 7.0), "logins march");
    close(v(&tb, "login_frequency", "2025-04"), 1.0 / (30.0 / 7.0), "logins april");
    // features: Signed In, Report Created, Report Shared, Dashboard Viewed (the passive email is none)
    close(v(&tb, "feature_adoption_breadth", "2025-03"), (3.0 / 4.0 + 2.0 / 4.0) / 2.0, "breadth march");
    close(v(&tb, "feature_adoption_breadth", "2025-04"), 1.0 / 4.0, "breadth april");
    let f = |name: &str| tb.feature(name, "2025-03", None).unwrap().value.map(|v| v.as_f64());
    close(f("Signed In"), 1.0, "signed in");
    close(f("Report Shared"), 0.5, "report shared");
    close(f("Dashboard Viewed"), 0.5, "dashboard");
    assert!(tb.feature("Email Received", "2025-03", None).is_none());
    // seats: cus_a 4 (2 users active), cus_b 2 (1 user) → 3 / 6; in April only cus_a pays: 1 / 4
    close(v(&tb, "seat_utilisation", "2025-03"), 0.5, "seats march");
    close(v(&tb, "seat_utilisation", "2025-04"), 0.25, "seats april");
}

#[test]
fn mru_roll_forward_retention_and_activity_churn() {
    let tb = tables(&fixture_messages(), &UsageSettings::default(), None);
    let c = |k: &str, p: &str| v(&tb, k, p).unwrap() as i64;
    // March: cus_a 5 (u1) + 2 (u2), cus_b 2 (u3); all new
    assert_eq!(c("mru", "2025-03"), 9);
    assert_eq!(c("mru_new", "2025-03"), 9);
    // April: cus_a 1, cus_b stopped paying: contraction 6, churned 2
    assert_eq!(c("mru", "2025-04"), 1);
    assert_eq!(c("mru_contraction", "2025-04"), 6);
    assert_eq!(c("mru_churned", "2025-04"), 2);
    assert_eq!(c("mru", "2025-04") - c("mru", "2025-03"), c("mru_new", "2025-04") + c("mru_resurrected", "2025-04") + c("mru_expansion", "2025-04") - c("mru_contraction", "2025-04") - c("mru_churned", "2025-04"));
    close(v(&tb, "net_usage_retention", "2025-04"), 1.0 / 9.0, "nur");
    let nur_march = tb.get("net_usage_retention", "2025-03", None).unwrap();
    assert_eq!(nur_march.value, None);
    assert!(nur_march.flags.contains(&"empty_denominator"));
    close(v(&tb, "activity_churn_rate", "2025-04"), 0.5, "activity churn");
}

#[test]
fn time_to_value_km_median_and_target_share() {
    let tb = tables(&fixture_messages(), &UsageSettings::default(), None);
    // cus_a shares a report 2 d 10 h 20 min after creation; cus_b never does and churns on day 31
    close(v(&tb, "time_to_value", "2025-03"), 2.0 + (10.0 * 60.0 + 20.0) / 1440.0, "ttv median");
    close(v(&tb, "time_to_value_within_target", "2025-03"), 0.5, "within 14 days");
    // a milestone of two shares is never reached: the median is not defined
    let us = UsageSettings { ttv_milestone_count: 2, ..UsageSettings::default() };
    let tb = tables(&fixture_messages(), &us, None);
    let r = tb.get("time_to_value", "2025-03", None).unwrap();
    assert_eq!(r.value, None);
    assert!(r.flags.contains(&"median_not_reached"));
    assert_eq!(r.denominator, Some(Value::Count(2)));
}

#[test]
fn km_median_with_censoring() {
    // S drops to 2/3 at 1, censored at 2, then to 0 at 3: median 3
    assert_eq!(km_median(&mut [(1.0, true), (2.0, false), (3.0, true)]), Some(3.0));
    assert_eq!(km_median(&mut [(1.0, true), (2.0, true)]), Some(1.0));
    assert_eq!(km_median(&mut [(5.0, false)]), None);
    assert_eq!(km_median(&mut []), None);
}

#[test]
fn segments_partition_the_totals_and_unmapped_users_are_none() {
    let tb = tables(&fixture_messages(), &UsageSettings::default(), Some("country"));
    let mau = |seg: &str| tb.get("mau", "2025-03", Some(seg)).map(|r| r.value.unwrap().as_f64()).unwrap_or(0.0);
    assert_eq!(mau("country=DE"), 2.0);
    assert_eq!(mau("country=FR"), 1.0);
    assert_eq!(mau("country=(none)"), 1.0);
    let seats = tb.get("seat_utilisation", "2025-03", Some("country=DE")).unwrap();
    assert_eq!((seats.numerator, seats.denominator), (Some(Value::Count(2)), Some(Value::Count(4))));
    let mru = |seg: &str, p: &str| tb.get("mru", p, Some(seg)).map(|r| r.value.unwrap().as_f64() as i64).unwrap_or(0);
    assert_eq!((mru("country=DE", "2025-03"), mru("country=FR", "2025-03")), (7, 2));
    assert_eq!(mru("country=FR", "2025-04"), 0);
}

#[test]
fn no_events_at_all_gives_nulls_and_flags() {
    let tb = tables(&[], &UsageSettings::default(), None);
    for kpi in ["stickiness", "session_duration", "time_in_use", "login_frequency", "feature_adoption_breadth", "net_usage_retention", "activity_churn_rate"] {
        let r = tb.get(kpi, "2025-03", None).unwrap_or_else(|| panic!("no {kpi}"));
        assert_eq!(r.value, None, "{kpi}");
        assert!(r.flags.contains(&"empty_denominator"), "{kpi}: {:?}", r.flags);
        assert!(r.flags.contains(&FLAG_NO_USAGE_DATA), "{kpi}");
    }
    // the seats exist, nobody uses them: 0, not null
    close(v(&tb, "seat_utilisation", "2025-03"), 0.0, "seats unused");
    assert_eq!(v(&tb, "mau", "2025-03"), Some(0.0));
}

#[test]
fn a_late_group_call_attributes_earlier_events_of_the_user() {
    // u5 is active before its group call: its events belong to the account it is grouped with
    let lines = vec![track("a", "u5", "Signed In", "2025-03-02T10:00:00Z", None), group("g", "u5", "cus_b", "2025-03-20T10:00:00Z")];
    let tb = tables(&lines, &UsageSettings::default(), None);
    close(v(&tb, "unmapped_active_users", "2025-03"), 0.0, "mapped by the later group call");
    close(v(&tb, "mru", "2025-03"), 1.0, "counted for cus_b");
}
