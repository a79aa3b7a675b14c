//! On a simulated company: signals are coherent with billing, themes find the churn-correlated complaint,
//! shares sum to 1.
use holdfast_core::snapshot::Snapshot;
use holdfast_core::{Currency, Grain};
use holdfast_engine::result::KpiResult;
use holdfast_engine::{RunSpec, Settings};
use holdfast_signals::themes::theme_stats;
use holdfast_signals::{compute, Billing, Ctx, Section, SignalSettings, Signals};
use holdfast_sim::SimConfig;

struct Sim {
    snap: Snapshot,
    run: holdfast_engine::Run,
    sig: Signals,
}

fn simulate(customers: usize, months: u32) -> Sim {
    let cfg = SimConfig::new(11, customers, months);
    let mut ds = holdfast_core::records::Dataset::default();
    let mut recs = Vec::new();
    holdfast_sim::signals::generate_with_signals(&cfg, &mut |r| ds.push(r), &mut |s| recs.push(s));
    let snap = Snapshot::from_dataset(&ds).unwrap();
    let run = holdfast_engine::run(&snap, &Settings::default(), &RunSpec { grain: Grain::Month, ..RunSpec::default() }).unwrap();
    Sim { snap, run, sig: Signals::from_records(recs) }
}

#[test]
fn themes_find_the_churn_correlated_complaint_and_shares_sum_to_one() {
    let s = simulate(3000, 24);
    let bill = Billing::from_run(&s.snap, &s.run, Currency::USD, 1.0, None).unwrap();
    let cfg = SignalSettings::default();
    let ctx = Ctx::new(&s.sig, &bill, &cfg);
    let stats = theme_stats(&ctx);
    let eligible: Vec<_> = stats.iter().filter(|t| t.comments >= cfg.min_theme_comments && t.churn_lift.is_some()).collect();
    assert!(eligible.len() >= 3, "{stats:#?}");
    let top = eligible.iter().max_by(|a, b| a.churn_lift.unwrap().total_cmp(&b.churn_lift.unwrap())).unwrap();
    let churn_words: Vec<&str> = holdfast_sim::signals::CHURN_THEME.split(' ').collect();
    assert!(top.theme.split(' ').all(|w| churn_words.contains(&w)), "top lift theme {:?} is not the churn theme: {stats:#?}", top.theme);
    assert!(top.churn_lift.unwrap() > 1.2, "{top:?}");
    // the price complaint is spread evenly: no strong lift
    let price = stats.iter().find(|t| t.theme.contains("expensive")).expect("the price theme is discovered");
    assert!(price.churn_lift.unwrap() < top.churn_lift.unwrap());

    let voice = compute(&ctx, Section::Voice);
    let by = |kpi: &str, period: &str| voice.iter().find(|r| r.kpi == kpi && r.period == period && r.segment.is_none()).map(|r: &KpiResult| r.value.map(|v| v.as_f64()));
    let mut checked = 0;
    for p in &s.run.periods {
        if let (Some(Some(a)), Some(Some(b)), Some(Some(c))) = (by("nps_promoters", &p.label), by("nps_passives", &p.label), by("nps_detractors", &p.label)) {
            assert!((a + b + c - 1.0).abs() < 1e-9);
            checked += 1;
        }
        let shares: Vec<f64> = holdfast_signals::voice::REASON_KPIS.iter().filter_map(|(_, k, _)| by(k, &p.label).flatten()).collect();
        if !shares.is_empty() {
            assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{}: {shares:?}", p.label);
        }
        let nps = by("nps", &p.label).flatten();
        if let Some(n) = nps {
            assert!((-100.0..=100.0).contains(&n));
        }
    }
    assert!(checked > 20);
}

#[test]
fn unhealthy_signals_precede_churn() {
    let s = simulate(1500, 24);
    let bill = Billing::from_run(&s.snap, &s.run, Currency::USD, 1.0, None).unwrap();
    // customers with an unanswered ticket churn more often than those whose tickets were all answered
    let t = &s.sig.tickets;
    let mut unanswered = vec![false; s.sig.customers.len()];
    let mut any = vec![false; s.sig.customers.len()];
    for i in 0..t.created_at.len() {
        any[t.customer[i] as usize] = true;
        if t.first_response_at[i].get().is_none() {
            unanswered[t.customer[i] as usize] = true;
        }
    }
    let churned = |c: usize| {
        let b = bill.customer_ids.get(s.sig.customers.name(c as u32)).unwrap();
        bill.moves_of(b).iter().any(|m| m.kind == holdfast_engine::timeline::Kind::Churn)
    };
    let rate = |f: &dyn Fn(usize) -> bool| {
        let m: Vec<usize> = (0..any.len()).filter(|&c| any[c] && f(c)).collect();
        m.iter().filter(|&&c| churned(c)).count() as f64 / m.len().max(1) as f64
    };
    let with = rate(&|c| unanswered[c]);
    let without = rate(&|c| !unanswered[c]);
    assert!(with > without, "churn with unanswered tickets {with} vs without {without}");
    // every section computes on simulated data
    let cfg = SignalSettings::default();
    let ctx = Ctx::new(&s.sig, &bill, &cfg);
    for sec in Section::ALL {
        assert!(!compute(&ctx, sec).is_empty());
    }
    let funnel = compute(&ctx, Section::Funnel);
    assert!(funnel.iter().any(|r| r.kpi == "cac" && r.value.is_some()));
    let refs = compute(&ctx, Section::Referrals);
    assert!(refs.iter().any(|r| r.kpi == "viral_coefficient" && r.value.map(|v| v.as_f64() > 0.0).unwrap_or(false)));
}
