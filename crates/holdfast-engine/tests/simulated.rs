//! Spec §11 invariants on the simulator's data, under every preset.
use holdfast_engine::settings::Preset;
use holdfast_engine::timeline::Kind;
use holdfast_engine::{run, RunSpec, SegmentBy, Settings, Value};
use holdfast_core::snapshot::Snapshot;

fn v(r: &holdfast_engine::KpiTable, k: &str, p: &str, s: Option<&str>) -> i64 {
    match r.get(k, p, s).and_then(|x| x.value) {
        Some(Value::Money(m)) | Some(Value::Count(m)) => m,
        None => 0,
        other => panic!("{k}: {other:?}"),
    }
}

#[test]
fn roll_forward_and_ledger_hold_on_simulated_companies() {
    for seed in [1u64, 2, 3] {
        let ds = holdfast_sim::generate_dataset(&holdfast_sim::SimConfig::new(seed, 400, 20));
        let snap = Snapshot::from_dataset(&ds).unwrap();
        for preset in [Preset::Holdfast, Preset::Chartmogul, Preset::Baremetrics, Preset::Profitwell, Preset::Stripe] {
            let s = Settings::preset(preset);
            let spec = RunSpec { segment_by: vec![SegmentBy::Plan, SegmentBy::Attribute("country".into()), SegmentBy::Attribute("size".into())], ..RunSpec::default() };
            let r = run(&snap, &s, &spec).unwrap();
            assert!(r.ledger.iter().any(|x| x.kind == Kind::Churn) && r.ledger.iter().any(|x| x.kind == Kind::Expansion));
            for tb in &r.tables {
                let mut segs: Vec<Option<String>> = tb.results.iter().map(|x| x.segment.clone()).collect();
                segs.sort();
                segs.dedup();
                for sg in &segs {
                    let sg = sg.as_deref();
                    let (mut pm, mut pc) = (0, 0);
                    for p in &r.periods {
                        let l = p.label.as_str();
                        if tb.get("mrr", l, sg).is_none() {
                            continue;
                        }
                        let m = v(tb, "mrr", l, sg);
                        let flows: i64 = ["new_business_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "reactivation_mrr", "fx_impact", "segment_in_mrr", "segment_out_mrr"].iter().map(|k| v(tb, k, l, sg)).sum();
                        let start = tb.get("mrr_growth_rate", l, sg).and_then(|x| x.denominator).map(|x| x.as_f64() as i64).unwrap_or(0);
                        assert_eq!(start, pm, "{preset:?} {sg:?} {l}: start = previous end");
                        assert_eq!(m - pm, flows, "{preset:?} seed {seed} {sg:?} {l}: MRR roll-forward");
                        let c = v(tb, "customers", l, sg);
                        let cin = tb.get("segment_in_mrr", l, sg).map(|x| x.n as i64).unwrap_or(0);
                        let cout = tb.get("segment_out_mrr", l, sg).map(|x| x.n as i64).unwrap_or(0);
                        assert_eq!(c - pc, v(tb, "new_customers", l, sg) + v(tb, "reactivated_customers", l, sg) - v(tb, "churned_customers", l, sg) + cin - cout, "{preset:?} {sg:?} {l}: customers");
                        if let Some(Value::Ratio(x)) = tb.get("grr", l, sg).and_then(|x| x.value) {
                            assert!(x <= 1.0 + 1e-12);
                        }
                        (pm, pc) = (m, c);
                    }
                }
            }
            // per customer, the ledger sums to its MRR
            let mut last = vec![0i64; snap.customers.len()];
            for x in &r.ledger {
                assert_eq!(x.mrr - last[x.customer as usize], x.amount + x.fx);
                last[x.customer as usize] = x.mrr;
            }
            for (c, now) in r.customers.iter().enumerate() {
                assert_eq!(now.mrr, last[c]);
            }
        }
    }
}

#[test]
fn single_valued_segments_sum_to_the_total() {
    let ds = holdfast_sim::generate_dataset(&holdfast_sim::SimConfig::new(9, 300, 18));
    let snap = Snapshot::from_dataset(&ds).unwrap();
    let r = run(&snap, &Settings::default(), &RunSpec { segment_by: vec![SegmentBy::Attribute("country".into()), SegmentBy::Currency, SegmentBy::Cohort], ..RunSpec::default() }).unwrap();
    for p in &r.periods {
        let total = v(&r.tables[0], "mrr", &p.label, None);
        for tb in &r.tables[1..] {
            let sum: i64 = tb.results.iter().filter(|x| x.kpi == "mrr" && x.period == p.label).map(|x| x.value.unwrap().as_f64() as i64).sum();
            assert_eq!(sum, total, "{:?} {}", tb.segment_by, p.label);
            let cust: i64 = tb.results.iter().filter(|x| x.kpi == "customers" && x.period == p.label).map(|x| x.value.unwrap().as_f64() as i64).sum();
            assert_eq!(cust, v(&r.tables[0], "customers", &p.label, None));
        }
    }
}
