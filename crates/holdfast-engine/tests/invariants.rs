//! Spec §11 invariants as property tests over random billing histories.
mod common;
use common::*;
use holdfast_core::records::{DiscountDuration, Interval, SubscriptionStatus as S};
use holdfast_core::time::format_instant;
use holdfast_core::Grain;
use holdfast_engine::line_mrr::add_interval;
use holdfast_engine::settings::*;
use holdfast_engine::timeline::Kind;
use holdfast_engine::{KpiTable, Run, RunSpec, SegmentBy, Settings, Value};
use proptest::prelude::*;
use std::collections::HashMap;

/// A tiny deterministic generator (xorshift) so one `u64` describes a whole history.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

const START: &str = "2023-01-01T00:00:00Z";

/// Random customers with 1–3 subscriptions over ~18 months: monthly/quarterly/annual prices in USD and EUR,
/// seat changes, mid-cycle prorated upgrades, repeating and forever discounts, cancellations at period end
/// and immediately, returns, same-month join-and-churn, attributes that change.
fn history(seed: u64, customers: usize, scale: i64) -> B {
    let mut r = Rng(seed | 1);
    let mut b = B::new();
    b.plan("m", 1_000, Interval::Month, 1).plan("q", 2_700, Interval::Month, 3).plan("y", 10_000, Interval::Year, 1);
    b.plan_in("me", 1_000, Interval::Month, 1, "EUR");
    b.discount("rep", DiscountDuration::Repeating).discount("fov", DiscountDuration::Forever);
    let base = t(START);
    let mut rate = 1_080i64;
    for m in 0..24 {
        let d = format_instant(add_interval(base, Interval::Month, m));
        rate += r.below(41) as i64 - 20;
        b.fx(&d[..10], "EUR", "USD", &format!("{}.{:03}", rate / 1000, rate % 1000));
    }
    for c in 0..customers {
        let cid = format!("c{c:03}");
        let country = ["DE", "FR", "US"][r.below(3) as usize];
        b.customer(&cid, &[("country", country), ("size", ["smb", "mid"][r.below(2) as usize])]);
        if r.chance(20) {
            let when = format_instant(base + r.below(500) as i64 * 86_400);
            b.customer_version(&cid, &when, &[("country", "US"), ("size", "mid")]);
        }
        let nsubs = 1 + r.below(3) as usize;
        for k in 0..nsubs {
            let sid = format!("s{c:03}_{k}");
            let (plan, months_per, cur) = match r.below(4) {
                0 => ("q", 3, "USD"),
                1 => ("y", 12, "USD"),
                2 => ("me", 1, "EUR"),
                _ => ("m", 1, "USD"),
            };
            let start_day = r.below(400) as i64;
            let mut a = base + start_day * 86_400 + r.below(86_400) as i64;
            let terms = 1 + r.below(18 / months_per as u64 + 1) as i64;
            let mut qty = 1 + r.below(5) as i64;
            let unit = if plan == "y" { 10_000 } else if plan == "q" { 2_700 } else { 1_000 };
            let disc = match r.below(5) {
                0 => Some(("rep", 2 + r.below(3))),
                1 => Some(("fov", 99)),
                _ => None,
            };
            let mut last_b = a;
            for term in 0..terms {
                let bnd = add_interval(a, Interval::Month, months_per);
                let amount = unit * qty * scale;
                let (sa, sb) = (format_instant(a), format_instant(bnd));
                let mut l = Line::new(&cid, &sid, plan, &sa, &sb, amount).item(&sid).currency(cur).quantity(qty);
                if let Some((d, n)) = disc {
                    if (term as u64) < n {
                        l = l.discount(d, amount / 5);
                    }
                }
                b.line(l);
                // mid-cycle prorated seat upgrade
                if r.chance(15) {
                    let mid = a + (bnd - a) / 2;
                    let sm = format_instant(mid);
                    let part = unit * scale / 2;
                    b.line(Line::new(&cid, &sid, plan, &sm, &sb, part).item(&sid).currency(cur).prorated().issued(&sm).quantity(1));
                    qty += 1;
                } else if r.chance(15) && qty > 1 {
                    qty -= 1;
                }
                last_b = bnd;
                a = bnd;
            }
            match r.below(4) {
                0 => {
                    // cancel at period end
                    let e = format_instant(last_b);
                    b.sub(&sid, &cid, S::Canceled, Some(&e), Some(&e));
                }
                1 => {
                    // immediate cancel somewhere in the last term
                    let e = format_instant(last_b - r.below(20 * 86_400) as i64 - 1);
                    b.sub(&sid, &cid, S::Canceled, Some(&e), Some(&e));
                }
                2 => {}
                _ => {
                    b.sub(&sid, &cid, S::Active, None, None);
                }
            }
        }
    }
    b
}

fn val(tb: &KpiTable, kpi: &str, p: &str, seg: Option<&str>) -> i64 {
    match tb.get(kpi, p, seg).map(|x| x.value) {
        Some(Some(Value::Money(v))) | Some(Some(Value::Count(v))) => v,
        None => 0,
        other => panic!("{kpi}: {other:?}"),
    }
}

fn check_roll_forward(r: &Run) {
    for tb in &r.tables {
        let mut segs: Vec<Option<String>> = tb.results.iter().map(|x| x.segment.clone()).collect();
        segs.sort();
        segs.dedup();
        for seg in &segs {
            let sg = seg.as_deref();
            let mut prev_mrr = 0;
            let mut prev_cust = 0;
            for p in &r.periods {
                let l = p.label.as_str();
                if tb.get("mrr", l, sg).is_none() {
                    // a segment row is omitted only when every sum is zero
                    assert_eq!((prev_mrr, prev_cust), (0, 0), "{seg:?} {l}: missing row after a non-zero stock");
                    continue;
                }
                let m = val(tb, "mrr", l, sg);
                let flows: i64 = ["new_business_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "reactivation_mrr", "fx_impact", "segment_in_mrr", "segment_out_mrr"].iter().map(|k| val(tb, k, l, sg)).sum();
                assert_eq!(m - prev_mrr, flows, "MRR roll-forward {seg:?} {l}");
                let c = val(tb, "customers", l, sg);
                let cin = tb.get("segment_in_mrr", l, sg).map(|x| x.n as i64).unwrap_or(0);
                let cout = tb.get("segment_out_mrr", l, sg).map(|x| x.n as i64).unwrap_or(0);
                let cf = val(tb, "new_customers", l, sg) + val(tb, "reactivated_customers", l, sg) - val(tb, "churned_customers", l, sg) + cin - cout;
                assert_eq!(c - prev_cust, cf, "customer roll-forward {seg:?} {l}");
                assert_eq!(val(tb, "arr", l, sg), 12 * m);
                prev_mrr = m;
                prev_cust = c;
            }
        }
    }
}

fn check_ledger(r: &Run) {
    let mut by_c: HashMap<u32, Vec<_>> = HashMap::new();
    for x in &r.ledger {
        by_c.entry(x.customer).or_default().push(*x);
    }
    for (c, rows) in by_c {
        let mut mrr = 0;
        let mut churned = false;
        let mut nb = 0;
        for x in &rows {
            assert_eq!(x.mrr - mrr, x.amount + x.fx, "ledger sum, customer {c}");
            match x.kind {
                Kind::NewBusiness => {
                    assert!(x.amount > 0);
                    if !x.returning() {
                        nb += 1;
                    }
                }
                Kind::Expansion | Kind::Reactivation => assert!(x.amount > 0),
                Kind::Contraction => assert!(x.amount < 0),
                Kind::Churn => assert!(x.amount <= 0),
                Kind::FxOnly => assert_eq!(x.amount, 0),
            }
            if x.kind == Kind::Reactivation {
                assert!(churned, "reactivation only after churn");
            }
            churned = x.kind == Kind::Churn || (churned && !x.active());
            mrr = x.mrr;
        }
        assert!(nb <= 1, "one new_business per customer");
        assert_eq!(r.customers[c as usize].mrr, mrr);
    }
}

fn check_ranges(r: &Run, bounded_churn: bool) {
    for tb in &r.tables {
        for x in &tb.results {
            let v = x.value.map(|v| v.as_f64());
            match x.kpi {
                "customer_churn_rate" if !bounded_churn => {}
                "customer_churn_rate" | "early_cancellation_rate" | "renewal_rate" => {
                    if let Some(v) = v {
                        assert!((0.0..=1.0).contains(&v), "{} {} {v}", x.kpi, x.period)
                    }
                }
                "grr" => {
                    if let Some(v) = v {
                        assert!(v <= 1.0 + 1e-12, "grr {v}");
                        let n = tb.get("nrr", &x.period, x.segment.as_deref()).unwrap().value.unwrap().as_f64();
                        assert!(v <= n + 1e-12, "grr ≤ nrr");
                        let g = tb.get("gross_mrr_churn_rate", &x.period, x.segment.as_deref()).unwrap().value.unwrap().as_f64();
                        assert!((v - (1.0 - g)).abs() < 1e-9, "grr = 1 − gross");
                    }
                }
                _ => {}
            }
            if x.flags.contains(&"empty_denominator") {
                assert!(x.value.is_none(), "{} {}", x.kpi, x.period);
            }
        }
    }
}

fn spec(as_of: &str, seg: Vec<SegmentBy>) -> RunSpec {
    RunSpec { as_of: Some(t(as_of)), grain: Grain::Month, segment_by: seg, ..RunSpec::default() }
}

fn all_segments() -> Vec<SegmentBy> {
    vec![SegmentBy::Plan, SegmentBy::Attribute("country".into()), SegmentBy::MrrBand, SegmentBy::Currency, SegmentBy::BillingInterval, SegmentBy::Cohort]
}

fn settings_variants() -> Vec<Settings> {
    let mut v: Vec<Settings> = [Preset::Holdfast, Preset::Chartmogul, Preset::Baremetrics, Preset::Profitwell, Preset::Stripe].map(Settings::preset).to_vec();
    let mut s = Settings::default();
    s.grouping_window_minutes = 0;
    s.churn_recognition = ChurnRecognition::Scheduled;
    s.reactivation_window_days = Some(60);
    v.push(s);
    let mut s = Settings::default();
    s.fx_policy = FxPolicy::PeriodEndRate;
    s.zero_mrr_policy = ZeroMrrPolicy::Churn;
    s.churn_recognition = ChurnRecognition::ServicePeriodEnd;
    v.push(s);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn roll_forward_ledger_and_ranges_hold(seed in any::<u64>(), n in 1usize..25) {
        let b = history(seed, n, 1);
        for s in settings_variants() {
            let r = b.run_spec(&s, spec("2024-07-10", all_segments()));
            check_roll_forward(&r);
            check_ledger(&r);
            check_ranges(&r, s.customer_churn_formula == CustomerChurnFormula::StartingBase);
        }
    }

    #[test]
    fn grouping_changes_class_splits_only(seed in any::<u64>(), n in 1usize..25) {
        let b = history(seed, n, 1);
        let mut s0 = Settings::default();
        s0.grouping_window_minutes = 0;
        let mut s1 = Settings::default();
        s1.grouping_window_minutes = 24 * 60;
        let (r0, r1) = (b.run_spec(&s0, spec("2024-07-10", vec![])), b.run_spec(&s1, spec("2024-07-10", vec![])));
        for p in &r0.periods {
            for k in ["mrr", "net_new_mrr", "fx_impact", "customers"] {
                prop_assert_eq!(val(&r0.tables[0], k, &p.label, None), val(&r1.tables[0], k, &p.label, None), "{} {}", k, p.label);
            }
        }
    }

    #[test]
    fn input_order_does_not_matter(seed in any::<u64>(), n in 1usize..20) {
        let b = history(seed, n, 1);
        let mut shuffled = b.clone();
        let mut r = Rng(seed ^ 0x9e37);
        macro_rules! shuffle { ($v:expr) => { for i in (1..$v.len()).rev() { let j = r.below(i as u64 + 1) as usize; $v.swap(i, j); } } }
        shuffle!(shuffled.ds.invoice_lines);
        shuffle!(shuffled.ds.invoices);
        shuffle!(shuffled.ds.subscriptions);
        shuffle!(shuffled.ds.customers);
        shuffle!(shuffled.ds.fx_rates);
        let s = Settings::default();
        let (a, c) = (b.run_spec(&s, spec("2024-07-10", all_segments())), shuffled.run_spec(&s, spec("2024-07-10", all_segments())));
        prop_assert_eq!(a.tables.len(), c.tables.len());
        for (x, y) in a.tables.iter().zip(&c.tables) {
            prop_assert_eq!(&x.results, &y.results);
        }
    }

    #[test]
    fn scaling_amounts_scales_money_and_keeps_rates(seed in any::<u64>(), n in 1usize..15) {
        // normalisation rounds once per line, so scaled MRR may differ from 3× by a few minor units
        let b1 = history(seed, n, 1);
        let b3 = history(seed, n, 3);
        let s = Settings::default();
        let (r1, r3) = (b1.run_spec(&s, spec("2024-07-10", vec![])), b3.run_spec(&s, spec("2024-07-10", vec![])));
        for p in &r1.periods {
            let l = p.label.as_str();
            for k in ["customer_churn_rate", "customers"] {
                prop_assert_eq!(r1.tables[0].get(k, l, None).unwrap().value, r3.tables[0].get(k, l, None).unwrap().value);
            }
            let (m1, m3) = (val(&r1.tables[0], "mrr", l, None), val(&r3.tables[0], "mrr", l, None));
            // each line rounds once, so allow one minor unit per line in force
            prop_assert!((m3 - 3 * m1).abs() <= 3 * 4 * n as i64, "{} {} {}", l, m1, m3);
        }
    }
}

#[test]
fn same_period_join_and_churn_does_not_move_rates() {
    let b = history(42, 15, 1);
    let mut b2 = b.clone();
    b2.sub("sj", "joiner", S::Canceled, Some("2023-09-20"), Some("2023-09-20"));
    b2.line(Line::new("joiner", "sj", "m", "2023-09-03", "2023-10-03", 5_000));
    let s = Settings::default();
    let (r, r2) = (b.run_spec(&s, spec("2024-07-10", vec![])), b2.run_spec(&s, spec("2024-07-10", vec![])));
    for k in ["customer_churn_rate", "grr", "nrr", "gross_mrr_churn_rate", "net_mrr_churn_rate"] {
        assert_eq!(r.tables[0].get(k, "2023-09", None).unwrap().value, r2.tables[0].get(k, "2023-09", None).unwrap().value, "{k}");
    }
    assert_eq!(val(&r2.tables[0], "churned_customers", "2023-09", None), val(&r.tables[0], "churned_customers", "2023-09", None) + 1);
}

#[test]
fn single_currency_has_no_fx_impact_and_segments_sum_to_total() {
    let mut b = history(7, 20, 1);
    b.ds.invoice_lines.retain(|l| l.plan_id.as_deref() != Some("me"));
    let r = b.run_spec(&Settings::default(), spec("2024-07-10", vec![SegmentBy::Plan]));
    for p in &r.periods {
        assert_eq!(val(&r.tables[0], "fx_impact", &p.label, None), 0);
        let total = val(&r.tables[0], "mrr", &p.label, None);
        let sum: i64 = r.tables[1].results.iter().filter(|x| x.kpi == "mrr" && x.period == p.label).map(|x| x.value.unwrap().as_f64() as i64).sum();
        assert_eq!(total, sum, "{}", p.label);
        let ins: i64 = r.tables[1].results.iter().filter(|x| x.kpi == "segment_in_mrr" && x.period == p.label).map(|x| x.value.unwrap().as_f64() as i64).sum();
        let outs: i64 = r.tables[1].results.iter().filter(|x| x.kpi == "segment_out_mrr" && x.period == p.label).map(|x| x.value.unwrap().as_f64() as i64).sum();
        assert_eq!(ins, -outs);
    }
}

#[test]
fn quarters_sum_monthly_flows_and_take_last_stock() {
    let b = history(99, 20, 1);
    let s = Settings::default();
    let m = b.run_spec(&s, spec("2024-07-10", vec![]));
    let q = b.run_spec(&s, RunSpec { as_of: Some(t("2024-07-10")), grain: Grain::Quarter, ..RunSpec::default() });
    for qp in &q.periods {
        let months: Vec<_> = m.periods.iter().filter(|p| p.start >= qp.start && p.end <= qp.end).collect();
        if months.len() < 3 {
            continue;
        }
        for k in ["new_business_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "reactivation_mrr", "fx_impact"] {
            let sum: i64 = months.iter().map(|p| val(&m.tables[0], k, &p.label, None)).sum();
            assert_eq!(val(&q.tables[0], k, &qp.label, None), sum, "{k} {}", qp.label);
        }
        assert_eq!(val(&q.tables[0], "mrr", &qp.label, None), val(&m.tables[0], "mrr", &months[2].label, None));
    }
}
