//! Vendor worked examples (spec §10.1) and project scenarios (spec §10.2), one named test each.
mod common;
use common::*;
use holdfast_core::records::{DiscountDuration, Interval, SubscriptionStatus as S};
use holdfast_core::Grain;
use holdfast_engine::settings::*;
use holdfast_engine::timeline::Kind::*;
use holdfast_engine::{SegmentBy, Settings};

fn active(b: &mut B, sub: &str, customer: &str) {
    b.sub(sub, customer, S::Active, None, None);
}

/// ChartMogul's lifecycle example [C3] as one customer's billing history.
fn cm_lifecycle() -> B {
    let mut b = B::new();
    b.plan("gold_y", 50_000, Interval::Year, 1).plan("silver_m", 3_000, Interval::Month, 1).plan("gold_m", 5_000, Interval::Month, 1);
    b.sub("s1", "A", S::Canceled, Some("2024-12-20"), Some("2025-01-01"));
    b.line(Line::new("A", "s1", "gold_y", "2024-01-01", "2025-01-01", 200_000).quantity(4));
    b.sub("s2", "A", S::Canceled, Some("2024-02-15"), Some("2024-02-15"));
    b.line(Line::new("A", "s2", "silver_m", "2024-02-01", "2024-03-01", 6_000).quantity(2));
    active(&mut b, "s3", "A");
    b.line(Line::new("A", "s3", "gold_m", "2025-03-01", "2025-04-01", 15_000).quantity(3));
    b
}

#[test]
fn cm_lifecycle_c3() {
    let b = cm_lifecycle();
    let r = b.run(&Settings::default(), "2025-03-15");
    let snap = b.snapshot();
    assert_eq!(moves(&r, &snap, "A"), vec![(NewBusiness, 16_667), (Expansion, 6_000), (Contraction, -6_000), (Churn, -16_667), (Reactivation, 15_000)]);
    let churn = r.ledger.iter().find(|x| x.kind == Churn).unwrap();
    assert_eq!(churn.t, t("2025-01-01"), "churn at the end of the paid period");
    let tbl = &r.tables[0];
    assert_eq!(money(tbl, "mrr", "2024-02"), 16_667);
    assert_eq!(money(tbl, "mrr", "2025-03"), 15_000);
}

#[test]
fn ledger_rows_explain_their_subscriptions_and_causes() {
    let b = cm_lifecycle();
    let snap = b.snapshot();
    let rows = holdfast_engine::explain(&snap, &Settings::default(), Some(t("2025-03-15")), &[snap.customers.ids.get("A").unwrap()]).unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.change.kind, r.amount_native, r.subscriptions.iter().map(|x| (x.subscription.as_str(), x.cause.as_str())).collect::<Vec<_>>()))
        .collect();
    assert_eq!(
        got,
        vec![
            (NewBusiness, Some(16_667), vec![("s1", "lines")]),
            (Expansion, Some(6_000), vec![("s2", "lines")]),
            (Contraction, Some(-6_000), vec![("s2", "ended")]),
            (Churn, Some(-16_667), vec![("s1", "ended")]),
            (Reactivation, Some(15_000), vec![("s3", "lines")]),
        ]
    );
}

#[test]
fn cm_switch_c5() {
    let mut b = B::new();
    b.plan("bronze", 10_000, Interval::Month, 1).plan("gold", 25_000, Interval::Month, 1);
    active(&mut b, "s", "A");
    b.line(Line::new("A", "s", "bronze", "2019-01-01", "2019-02-01", 10_000));
    b.line(Line::new("A", "s", "gold", "2019-02-01", "2019-03-01", 25_000));
    let r = b.run(&Settings::default(), "2019-02-20");
    assert_eq!(moves(&r, &b.snapshot(), "A"), vec![(NewBusiness, 10_000), (Expansion, 15_000)]);
    assert_eq!(money(&r.tables[0], "mrr", "2019-02"), 25_000);
}

#[test]
fn cm_prorated_switch_c5() {
    let mut b = B::new();
    b.plan("bronze", 10_000, Interval::Month, 1).plan("gold", 25_000, Interval::Month, 1);
    active(&mut b, "s", "A");
    b.line(Line::new("A", "s", "bronze", "2019-05-01", "2019-06-01", 10_000).item("si"));
    b.line(Line::new("A", "s", "bronze", "2019-06-01", "2019-07-01", 10_000).item("si"));
    b.line(Line::new("A", "s", "gold", "2019-06-16", "2019-07-01", 12_500).item("si").prorated().issued("2019-06-16"));
    b.line(Line::new("A", "s", "bronze", "2019-06-16", "2019-07-01", -5_000).item("si").prorated().issued("2019-06-16"));
    b.line(Line::new("A", "s", "gold", "2019-07-01", "2019-08-01", 25_000).item("si"));
    let r = b.run(&Settings::default(), "2019-07-15");
    assert_eq!(moves(&r, &b.snapshot(), "A"), vec![(NewBusiness, 10_000), (Expansion, 15_000)]);
    let exp = r.ledger.iter().find(|x| x.kind == Expansion).unwrap();
    assert_eq!((exp.t, exp.mrr), (t("2019-06-16"), 25_000));
}

#[test]
fn cm_formula_c4_quarterly_plan() {
    let mut b = B::new();
    b.plan("q", 9_000, Interval::Month, 3);
    active(&mut b, "s", "A");
    b.line(Line::new("A", "s", "q", "2024-01-01", "2024-04-01", 9_000));
    let r = b.run(&Settings::default(), "2024-02-01");
    assert_eq!(money(&r.tables[0], "mrr", "2024-01"), 3_000);
}

#[test]
fn cm_customer_churn_c13() {
    let mut b = B::new();
    b.plan("p", 1_000, Interval::Month, 1);
    for i in 0..100 {
        let (c, s) = (format!("c{i}"), format!("s{i}"));
        if i < 10 {
            b.sub(&s, &c, S::Canceled, Some("2024-03-10"), Some("2024-03-10"));
        } else {
            active(&mut b, &s, &c);
        }
        b.line(Line::new(&c, &s, "p", "2024-02-01", "2024-03-01", 1_000));
    }
    b.sub("sn", "new", S::Canceled, Some("2024-03-20"), Some("2024-03-20"));
    b.line(Line::new("new", "sn", "p", "2024-03-05", "2024-04-05", 1_000));
    let r = b.run(&Settings::default(), "2024-04-01");
    approx(ratio(&r.tables[0], "customer_churn_rate", "2024-03"), 0.10);
    assert_eq!(money(&r.tables[0], "churned_customers", "2024-03"), 11);
}

#[test]
fn cm_mrr_churn_c13_c14() {
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    b.sub("sx", "X", S::Canceled, Some("2024-03-10"), Some("2024-03-10"));
    b.line(Line::new("X", "sx", "p", "2024-02-01", "2024-03-01", 1_000));
    b.line(Line::new("X", "sx", "p", "2024-03-01", "2024-04-01", 1_000));
    active(&mut b, "sy", "Y");
    b.line(Line::new("Y", "sy", "p", "2024-02-01", "2024-03-01", 5_000));
    b.line(Line::new("Y", "sy", "p", "2024-03-01", "2024-04-01", 4_000));
    active(&mut b, "sz", "Z");
    b.line(Line::new("Z", "sz", "p", "2024-02-01", "2024-03-01", 4_000));
    b.line(Line::new("Z", "sz", "p", "2024-03-01", "2024-04-01", 5_000));
    let r = b.run(&Settings::default(), "2024-04-01");
    let tb = &r.tables[0];
    approx(ratio(tb, "gross_mrr_churn_rate", "2024-03"), 0.20);
    approx(ratio(tb, "net_mrr_churn_rate", "2024-03"), 0.10);
    approx(ratio(tb, "grr", "2024-03"), 0.80);
    approx(ratio(tb, "nrr", "2024-03"), 0.90);
}

#[test]
fn cm_shopify_daily_c13() {
    // day A: 100 → 95 by a churn of 5
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    active(&mut b, "sp", "P");
    b.line(Line::new("P", "sp", "p", "2024-03-01", "2024-04-01", 9_500));
    b.sub("sq", "Q", S::Canceled, Some("2024-03-05T10:00:00Z"), Some("2024-03-05T10:00:00Z"));
    b.line(Line::new("Q", "sq", "p", "2024-03-01", "2024-04-01", 500));
    let r = run_grain(&b, &Settings::default(), "2024-03-07", Grain::Day, vec![]);
    approx(ratio(&r.tables[0], "gross_mrr_churn_rate", "2024-03-05"), 0.05);
    // day B: 100 → 120 with 10 new business and 10 expansion
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    active(&mut b, "sr", "R");
    b.line(Line::new("R", "sr", "p", "2024-03-01", "2024-04-01", 10_000));
    b.line(Line::new("R", "sr", "p", "2024-03-06T09:00:00Z", "2024-04-06T09:00:00Z", 11_000).issued("2024-03-06T09:00:00Z"));
    active(&mut b, "ss", "S");
    b.line(Line::new("S", "ss", "p", "2024-03-06T12:00:00Z", "2024-04-06T12:00:00Z", 1_000));
    let r = run_grain(&b, &Settings::default(), "2024-03-07", Grain::Day, vec![]);
    approx(ratio(&r.tables[0], "net_mrr_churn_rate", "2024-03-06"), -0.10);
    assert_eq!(money(&r.tables[0], "mrr", "2024-03-06"), 12_000);
}

#[test]
fn cm_ltv_c15() {
    let mut b = B::new();
    b.plan("p", 10_000, Interval::Month, 1);
    for i in 0..100 {
        let (c, s) = (format!("c{i:03}"), format!("s{i:03}"));
        let m = i / 5; // customers 0..29 churn in months 1..6
        if m < 6 {
            let when = format!("2024-{:02}-15", m + 1);
            b.sub(&s, &c, S::Canceled, Some(&when), Some(&when));
        } else {
            active(&mut b, &s, &c);
        }
        b.line(Line::new(&c, &s, "p", "2023-12-01", "2024-01-01", 10_000));
    }
    for m in 0..6 {
        for k in 0..5 {
            let (c, s) = (format!("n{m}{k}"), format!("sn{m}{k}"));
            active(&mut b, &s, &c);
            let a = format!("2024-{:02}-16", m + 1);
            let e = format!("2024-{:02}-16", m + 2);
            b.line(Line::new(&c, &s, "p", &a, &e, 10_000));
        }
    }
    let r = b.run(&Settings::default(), "2024-08-01");
    let tb = &r.tables[0];
    for m in 1..=6 {
        approx(ratio(tb, "customer_churn_rate", &format!("2024-{m:02}")), 0.05);
    }
    assert_eq!(money(tb, "arpa", "2024-07"), 10_000);
    assert_eq!(money(tb, "ltv", "2024-07"), 200_000);
    assert!(tb.get("ltv", "2024-07", None).unwrap().flags.is_empty());
    assert!(tb.get("ltv", "2024-03", None).unwrap().flags.contains(&"short_history"));
}

#[test]
fn cm_arpa_c12() {
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    for (i, m) in [10_000, 10_000, 30_000, 50_000, 50_000].iter().enumerate() {
        let (c, s) = (format!("c{i}"), format!("s{i}"));
        active(&mut b, &s, &c);
        b.line(Line::new(&c, &s, "p", "2024-05-01", "2024-06-01", *m));
    }
    let r = b.run(&Settings::default(), "2024-05-20");
    assert_eq!(money(&r.tables[0], "arpa", "2024-05"), 30_000);
}

#[test]
fn cm_asp_c12() {
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    for i in 0..10 {
        let (c, s) = (format!("c{i}"), format!("s{i}"));
        active(&mut b, &s, &c);
        b.line(Line::new(&c, &s, "p", "2024-05-03", "2024-06-03", if i < 3 { 10_000 } else { 5_000 }));
    }
    let r = b.run(&Settings::default(), "2024-05-20");
    assert_eq!(money(&r.tables[0], "asp", "2024-05"), 6_500);
}

#[test]
fn pw_discounts_p1() {
    let mut b = B::new();
    b.plan("y", 12_000, Interval::Year, 1).plan("m", 1_000, Interval::Month, 1);
    b.discount("ten_forever", DiscountDuration::Forever).discount("ten_2m", DiscountDuration::Repeating);
    active(&mut b, "sa", "A");
    b.line(Line::new("A", "sa", "y", "2024-01-01", "2025-01-01", 12_000).discount("ten_forever", 1_200));
    active(&mut b, "sb", "B");
    b.line(Line::new("B", "sb", "m", "2024-01-01", "2024-02-01", 1_000).discount("ten_2m", 100));
    b.line(Line::new("B", "sb", "m", "2024-02-01", "2024-03-01", 1_000).discount("ten_2m", 100));
    b.line(Line::new("B", "sb", "m", "2024-03-01", "2024-04-01", 1_000));
    let r = b.run(&Settings::default(), "2024-03-15");
    let snap = b.snapshot();
    assert_eq!(moves(&r, &snap, "A"), vec![(NewBusiness, 900)]);
    assert_eq!(moves(&r, &snap, "B"), vec![(NewBusiness, 900), (Expansion, 100)]);
}

#[test]
fn bm_examples_b1() {
    let mut b = B::new();
    b.plan("y", 12_000, Interval::Year, 1).plan("m", 1_000, Interval::Month, 1);
    b.discount("half", DiscountDuration::Forever).discount("full", DiscountDuration::Forever);
    active(&mut b, "sa", "A");
    b.line(Line::new("A", "sa", "y", "2024-01-01", "2025-01-01", 12_000));
    active(&mut b, "sb", "B");
    b.line(Line::new("B", "sb", "m", "2024-01-01", "2024-02-01", 1_000).discount("half", 500));
    active(&mut b, "sc", "C");
    b.line(Line::new("C", "sc", "m", "2024-01-01", "2024-02-01", 1_000));
    b.line(Line::new("C", "sc", "m", "2024-02-01", "2024-03-01", 1_000).discount("full", 1_000));
    let snap = b.snapshot();
    let r = b.run(&Settings::default(), "2024-02-15");
    assert_eq!(moves(&r, &snap, "A"), vec![(NewBusiness, 1_000)]);
    assert_eq!(moves(&r, &snap, "B"), vec![(NewBusiness, 500)]);
    assert_eq!(moves(&r, &snap, "C"), vec![(NewBusiness, 1_000), (Contraction, -1_000)]);
    assert_eq!(money(&r.tables[0], "customers", "2024-02"), 3);
    let bm = b.run(&Settings::preset(Preset::Baremetrics), "2024-02-15");
    assert_eq!(moves(&bm, &snap, "C"), vec![(NewBusiness, 1_000), (Churn, -1_000)]);
    assert_eq!(money(&bm.tables[0], "customers", "2024-02"), 2);
}

#[test]
fn stripe_glossary_s1() {
    let mut b = B::new();
    b.plan("m", 10_000, Interval::Month, 1).plan("y", 60_000, Interval::Year, 1);
    for i in 0..100 {
        let (c, s) = (format!("m{i}"), format!("sm{i}"));
        active(&mut b, &s, &c);
        b.line(Line::new(&c, &s, "m", "2024-01-01", "2024-02-01", 10_000));
    }
    for i in 0..50 {
        let (c, s) = (format!("y{i}"), format!("sy{i}"));
        active(&mut b, &s, &c);
        b.line(Line::new(&c, &s, "y", "2024-01-01", "2025-01-01", 60_000));
    }
    let r = b.run(&Settings::default(), "2024-01-20");
    assert_eq!(money(&r.tables[0], "mrr", "2024-01"), 1_250_000);
}

#[test]
fn stripe_two_subscriptions_s3() {
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    b.sub("a", "A", S::Canceled, Some("2024-03-10"), Some("2024-03-10"));
    b.line(Line::new("A", "a", "p", "2024-03-01", "2024-04-01", 5_000));
    b.sub("b", "A", S::Canceled, Some("2024-03-20"), Some("2024-03-20"));
    b.line(Line::new("A", "b", "p", "2024-03-01", "2024-04-01", 3_000));
    let r = b.run(&Settings::default(), "2024-04-01");
    assert_eq!(moves(&r, &b.snapshot(), "A"), vec![(NewBusiness, 8_000), (Contraction, -5_000), (Churn, -3_000)]);
}

#[test]
fn p1_prorated_quantity_upgrade() {
    let mut b = B::new();
    b.plan("seat", 5_000, Interval::Month, 1);
    active(&mut b, "s", "A");
    b.line(Line::new("A", "s", "seat", "2016-02-01", "2016-03-01", 5_000).item("si"));
    b.line(Line::new("A", "s", "seat", "2016-03-01", "2016-04-01", 5_000).item("si"));
    b.line(Line::new("A", "s", "seat", "2016-03-16", "2016-04-01", 2_500).item("si").prorated().issued("2016-03-16"));
    b.line(Line::new("A", "s", "seat", "2016-04-01", "2016-05-01", 10_000).item("si").quantity(2));
    let r = b.run(&Settings::default(), "2016-04-15");
    let rows: Vec<_> = r.ledger.iter().map(|x| (x.kind, x.amount, x.mrr, x.t)).collect();
    assert_eq!(
        rows,
        vec![
            (NewBusiness, 5_000, 5_000, t("2016-02-01")),
            (Expansion, 4_844, 9_844, t("2016-03-16")),
            (Expansion, 156, 10_000, t("2016-04-01")),
        ]
    );
}

#[test]
fn p2_fx_kept_out_of_movements() {
    let mut b = B::new();
    b.plan_in("eur", 10_000, Interval::Month, 1, "EUR");
    b.fx("2024-01-01", "EUR", "USD", "1.10").fx("2024-02-01", "EUR", "USD", "1.05").fx("2024-03-01", "EUR", "USD", "1.08");
    active(&mut b, "s", "A");
    b.line(Line::new("A", "s", "eur", "2024-01-01", "2024-02-01", 10_000).currency("EUR"));
    b.line(Line::new("A", "s", "eur", "2024-02-01", "2024-03-01", 10_000).currency("EUR"));
    b.line(Line::new("A", "s", "eur", "2024-03-01", "2024-04-01", 12_000).currency("EUR"));
    let r = b.run(&Settings::default(), "2024-03-20");
    let tb = &r.tables[0];
    assert_eq!(money(tb, "new_business_mrr", "2024-01"), 11_000);
    assert_eq!(money(tb, "net_new_mrr", "2024-02"), 0);
    assert_eq!(money(tb, "fx_impact", "2024-02"), -500);
    assert_eq!(money(tb, "mrr", "2024-02"), 10_500);
    assert_eq!(money(tb, "expansion_mrr", "2024-03"), 2_160);
    assert_eq!(money(tb, "fx_impact", "2024-03"), 300);
    assert_eq!(money(tb, "mrr", "2024-03"), 12_960);
}

fn p3() -> B {
    let mut b = B::new();
    b.plan("p", 10_000, Interval::Month, 1);
    for c in ["A", "D"] {
        let s = format!("s{c}");
        active(&mut b, &s, c);
        b.monthly(c, &s, "p", "2024-02-01", 2, 10_000);
    }
    b.sub("sB1", "B", S::Canceled, Some("2024-03-10"), Some("2024-03-10"));
    b.monthly("B", "sB1", "p", "2024-02-01", 2, 10_000);
    active(&mut b, "sB2", "B");
    b.line(Line::new("B", "sB2", "p", "2024-03-25", "2024-04-25", 10_000));
    b.sub("sC", "C", S::Canceled, Some("2024-03-15"), Some("2024-03-15"));
    b.monthly("C", "sC", "p", "2024-02-01", 2, 10_000);
    b.sub("sE", "E", S::Canceled, Some("2024-03-20"), Some("2024-03-20"));
    b.line(Line::new("E", "sE", "p", "2024-03-03", "2024-04-03", 10_000));
    b
}

#[test]
fn p3_rates_of_a_month() {
    let b = p3();
    let r = b.run(&Settings::default(), "2024-04-01");
    let tb = &r.tables[0];
    let m = "2024-03";
    assert_eq!(money(tb, "new_business_mrr", m), 10_000);
    assert_eq!(money(tb, "reactivation_mrr", m), 10_000);
    assert_eq!(money(tb, "churn_mrr", m), -30_000);
    assert_eq!(money(tb, "mrr", "2024-02"), 40_000);
    assert_eq!(money(tb, "mrr", m), 30_000);
    assert_eq!(money(tb, "customers", m), 3);
    assert_eq!((money(tb, "new_customers", m), money(tb, "reactivated_customers", m), money(tb, "churned_customers", m)), (1, 1, 3));
    approx(ratio(tb, "customer_churn_rate", m), 0.25);
    approx(ratio(tb, "gross_mrr_churn_rate", m), 0.50);
    approx(ratio(tb, "net_mrr_churn_rate", m), 0.25);
    approx(ratio(tb, "nrr", m), 0.50);
    approx(ratio(tb, "grr", m), 0.50);
    approx(ratio(tb, "quick_ratio", m), 1.0 / 3.0);
    let mut s = Settings::default();
    s.retention_method = RetentionMethod::PointToPoint;
    let r = b.run(&s, "2024-04-01");
    approx(ratio(&r.tables[0], "nrr", m), 0.75);
    approx(ratio(&r.tables[0], "grr", m), 0.75);
    let mut s = Settings::default();
    s.rate_scope = RateScope::AllMovements;
    s.quick_ratio_include_reactivation = true;
    let r = b.run(&s, "2024-04-01");
    approx(ratio(&r.tables[0], "gross_mrr_churn_rate", m), 0.75);
    approx(ratio(&r.tables[0], "quick_ratio", m), 2.0 / 3.0);
}

#[test]
fn p4_grouping_window() {
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    active(&mut b, "f", "F");
    b.line(Line::new("F", "f", "p", "2024-05-01T10:00:00Z", "2024-06-01T10:00:00Z", 5_000));
    b.line(Line::new("F", "f", "p", "2024-05-01T10:20:00Z", "2024-06-01T10:20:00Z", 8_000));
    b.sub("g1", "G", S::Canceled, Some("2024-05-10T14:00:00Z"), Some("2024-05-10T14:00:00Z"));
    b.line(Line::new("G", "g1", "p", "2024-05-01", "2024-06-01", 3_000));
    b.sub("g2", "G", S::Canceled, Some("2024-05-10T14:05:00Z"), Some("2024-05-10T14:05:00Z"));
    b.line(Line::new("G", "g2", "p", "2024-05-01", "2024-06-01", 2_000));
    let snap = b.snapshot();
    let r = b.run(&Settings::default(), "2024-05-20");
    assert_eq!(moves(&r, &snap, "F"), vec![(NewBusiness, 8_000)]);
    assert_eq!(moves(&r, &snap, "G"), vec![(NewBusiness, 5_000), (Churn, -5_000)]);
    let mut s = Settings::default();
    s.grouping_window_minutes = 0;
    let r0 = b.run(&s, "2024-05-20");
    assert_eq!(moves(&r0, &snap, "F"), vec![(NewBusiness, 5_000), (Expansion, 3_000)]);
    assert_eq!(moves(&r0, &snap, "G"), vec![(NewBusiness, 5_000), (Contraction, -3_000), (Churn, -2_000)]);
    // grouping changes class splits only
    assert_eq!(money(&r.tables[0], "mrr", "2024-05"), money(&r0.tables[0], "mrr", "2024-05"));
    assert_eq!(money(&r.tables[0], "net_new_mrr", "2024-05"), money(&r0.tables[0], "net_new_mrr", "2024-05"));
}

#[test]
fn p5_reactivation_window() {
    let mut b = B::new();
    b.plan("p", 10_000, Interval::Month, 1);
    b.sub("s1", "H", S::Canceled, Some("2025-01-31"), Some("2025-01-31"));
    b.line(Line::new("H", "s1", "p", "2024-12-31", "2025-01-31", 10_000));
    active(&mut b, "s2", "H");
    b.line(Line::new("H", "s2", "p", "2025-06-15", "2025-07-15", 10_000));
    let snap = b.snapshot();
    let r = b.run(&Settings::default(), "2025-06-20");
    assert_eq!(moves(&r, &snap, "H"), vec![(NewBusiness, 10_000), (Churn, -10_000), (Reactivation, 10_000)]);
    let mut s = Settings::default();
    s.reactivation_window_days = Some(90);
    let r = b.run(&s, "2025-06-20");
    assert_eq!(moves(&r, &snap, "H"), vec![(NewBusiness, 10_000), (Churn, -10_000), (NewBusiness, 10_000)]);
    assert!(r.ledger.last().unwrap().returning());
}

#[test]
fn p6_repeating_discount_by_policy() {
    let mut b = B::new();
    b.plan("p", 1_000, Interval::Month, 1);
    b.discount_until("half3", DiscountDuration::Repeating, Some("2024-04-01"));
    active(&mut b, "s", "A");
    for m in 1..=4 {
        let (a, e) = (format!("2024-{m:02}-01"), format!("2024-{:02}-01", m + 1));
        let l = Line::new("A", "s", "p", &a, &e, 1_000);
        b.line(if m <= 3 { l.discount("half3", 500) } else { l });
    }
    let snap = b.snapshot();
    let r = b.run(&Settings::default(), "2024-04-15");
    let tb = &r.tables[0];
    assert_eq!([1, 2, 3, 4].map(|m| money(tb, "mrr", &format!("2024-{m:02}"))), [500, 500, 500, 1_000]);
    assert_eq!(moves(&r, &snap, "A"), vec![(NewBusiness, 500), (Expansion, 500)]);
    // CMRR knows the discount ends; with a 10-day horizon the end (April 1) is out of sight at Feb 29
    assert_eq!(money(tb, "cmrr", "2024-02"), 1_000);
    let mut h = Settings::default();
    h.set("cmrr_horizon_days", "10").unwrap();
    let rh = b.run(&h, "2024-04-15");
    assert_eq!(money(&rh.tables[0], "cmrr", "2024-02"), 500);
    assert_eq!(money(&rh.tables[0], "cmrr", "2024-03"), 1_000);
    for p in [DiscountPolicy::ForeverOnly, DiscountPolicy::ListPrice] {
        let mut s = Settings::default();
        s.discount_policy = p;
        let r = b.run(&s, "2024-04-15");
        assert_eq!([1, 2, 3, 4].map(|m| money(&r.tables[0], "mrr", &format!("2024-{m:02}"))), [1_000; 4]);
    }
}

#[test]
fn segments_roll_forward_with_in_out_rows() {
    let mut b = p3();
    b.customer("A", &[("country", "DE")]).customer_version("A", "2024-03-12", &[("country", "FR")]);
    b.customer("B", &[("country", "FR")]);
    let r = run_grain(&b, &Settings::default(), "2024-04-01", Grain::Month, vec![SegmentBy::Attribute("country".into()), SegmentBy::Plan]);
    let seg = &r.tables[1];
    let get = |kpi: &str, s: &str| seg.get(kpi, "2024-03", Some(s)).map(|x| x.value.unwrap().as_f64() as i64).unwrap_or(0);
    assert_eq!(get("segment_out_mrr", "country=DE"), -10_000);
    assert_eq!(get("segment_in_mrr", "country=FR"), 10_000);
    assert_eq!(get("mrr", "country=FR"), 20_000);
    assert_eq!(get("mrr", "country=DE"), 0);
}

#[test]
fn unknown_segment_attribute_is_a_clear_error() {
    let b = p3();
    let e = holdfast_engine::run(&b.snapshot(), &Settings::default(), &holdfast_engine::RunSpec { segment_by: vec![SegmentBy::Attribute("region".into())], ..Default::default() });
    let msg = e.err().unwrap().to_string();
    assert!(msg.contains("cannot segment by \"region\""), "{msg}");
}

#[test]
fn missing_fx_rate_is_a_clear_error() {
    let mut b = B::new();
    b.plan_in("eur", 10_000, Interval::Month, 1, "EUR");
    b.line(Line::new("A", "s", "eur", "2024-01-01", "2024-02-01", 10_000).currency("EUR"));
    let e = holdfast_engine::run(&b.snapshot(), &Settings::default(), &Default::default()).err().unwrap().to_string();
    assert!(e.contains("no exchange rate from EUR to the reporting currency USD"), "{e}");
}

#[test]
fn empty_denominators_are_null_and_flagged() {
    let mut b = B::new();
    b.plan("p", 1, Interval::Month, 1);
    active(&mut b, "s", "A");
    b.line(Line::new("A", "s", "p", "2024-03-05", "2024-04-05", 1_000));
    let r = b.run(&Settings::default(), "2024-03-20");
    let x = r.tables[0].get("grr", "2024-03", None).unwrap();
    assert_eq!(x.value, None);
    assert!(x.flags.contains(&"empty_denominator"));
    let x = r.tables[0].get("customer_churn_rate", "2024-03", None).unwrap();
    assert_eq!(x.value, None);
    assert!(r.tables[0].get("mrr", "2024-03", None).unwrap().flags.contains(&"incomplete"));
}

#[test]
fn a_billing_migration_merged_by_external_id_is_not_churn_plus_new_business() {
    let mut b = B::new();
    b.plan("p", 10_000, Interval::Month, 1);
    // the old system's record, cancelled at the migration
    b.ds.customers.push(holdfast_core::records::CustomerRecord { id: "old_42".into(), ..Default::default() });
    b.sub("s_old", "old_42", S::Canceled, Some("2024-03-01"), Some("2024-03-01"));
    b.monthly("old_42", "s_old", "p", "2024-01-01", 2, 10_000);
    // the new system's record names the old id
    b.ds.customers.push(holdfast_core::records::CustomerRecord { id: "cus_new".into(), external_ids: vec!["old_42".into()], ..Default::default() });
    active(&mut b, "s_new", "cus_new");
    b.monthly("cus_new", "s_new", "p", "2024-03-01", 2, 10_000);
    let snap = b.snapshot();
    let r = b.run(&Settings::default(), "2024-04-15");
    let all: Vec<_> = r.ledger.iter().map(|x| (snap.customers.ids.name(x.customer).to_string(), x.kind, x.amount)).collect();
    // neither record has a creation time, so the survivor is the smaller id
    assert_eq!(all, vec![("cus_new".to_string(), NewBusiness, 10_000)], "one account, one new business, no churn");
    assert_eq!(money(&r.tables[0], "customers", "2024-03"), 1);
    assert_eq!(r.customers[snap.customers.ids.get("old_42").unwrap() as usize].status.as_str(), "merged");
    let mut off = Settings::default();
    off.set("merge_customers_on", "none").unwrap();
    let r = b.run(&off, "2024-04-15");
    let kinds: Vec<_> = r.ledger.iter().map(|x| x.kind).collect();
    // by customer, then time: cus_new's new business; old_42's new business and churn
    assert_eq!(kinds, vec![NewBusiness, NewBusiness, Churn]);
}

#[test]
fn company_domains_merge_but_free_mail_does_not_and_maps_choose_the_survivor() {
    let mut b = B::new();
    b.plan("p", 10_000, Interval::Month, 1);
    for (c, email) in [("a1", "ops@acme.io"), ("a2", "finance@ACME.io"), ("g1", "x@gmail.com"), ("g2", "y@gmail.com")] {
        b.ds.customers.push(holdfast_core::records::CustomerRecord { id: c.into(), email: Some(email.into()), ..Default::default() });
        let s = format!("s_{c}");
        active(&mut b, &s, c);
        b.line(Line::new(c, &s, "p", "2024-01-01", "2024-02-01", 10_000));
    }
    let r = b.run(&Settings::default(), "2024-01-20");
    assert_eq!(money(&r.tables[0], "customers", "2024-01"), 3, "acme's two records are one account; gmail users stay apart");
    assert_eq!(money(&r.tables[0], "mrr", "2024-01"), 40_000);
    let mut s = Settings::default();
    s.merge_map.insert("a1".into(), "a2".into());
    let snap = b.snapshot();
    let r = b.run(&s, "2024-01-20");
    assert_eq!(r.customers[snap.customers.ids.get("a1").unwrap() as usize].status.as_str(), "merged");
    s.merge_map.insert("nobody".into(), "a2".into());
    let e = holdfast_engine::run(&snap, &s, &Default::default()).err().unwrap().to_string();
    assert!(e.contains("merge map: no customer \"nobody\""), "{e}");
}
