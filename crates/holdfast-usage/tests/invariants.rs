//! Invariants on simulated usage: DAU ≤ WAU ≤ MAU, shares in [0, 1], the MRU roll-forward per period and
//! segment, segments partitioning distinct counts, and ingest-order independence.
use holdfast_core::time::Calendar;
use holdfast_core::Grain;
use holdfast_engine::segment::SegmentBy;
use holdfast_engine::Settings;
use holdfast_usage::kpis::UsageTable;
use holdfast_usage::{compute, BillingAccounts, Ingest, IngestSettings, UsageInput, UsageModel, UsageSettings};

fn simulate(customers: usize, months: u32) -> (holdfast_core::records::Dataset, Vec<String>, holdfast_sim::SimConfig) {
    let cfg = holdfast_sim::SimConfig::new(11, customers, months);
    let mut ds = holdfast_core::records::Dataset::default();
    let mut lines = Vec::new();
    let mut sink = |l: &str| lines.push(l.to_string());
    let mut em = holdfast_sim::usage::UsageEmitter::new(cfg.seed, &mut sink);
    holdfast_sim::generate_observed(&cfg, &mut |r| ds.push(r), &mut em);
    drop(em);
    (ds, lines, cfg)
}

fn rollup_of<'a>(lines: impl Iterator<Item = &'a String>) -> holdfast_usage::Rollup {
    let mut ing = Ingest::new(IngestSettings::default(), []);
    for l in lines {
        ing.line(l.as_bytes()).unwrap();
    }
    ing.finish()
}

#[test]
fn simulated_usage_keeps_every_invariant() {
    let (ds, lines, cfg) = simulate(80, 10);
    assert!(lines.len() > 10_000, "{} messages", lines.len());
    let snap = holdfast_core::snapshot::Snapshot::from_dataset(&ds).unwrap();
    let rollup = rollup_of(lines.iter());
    let us = UsageSettings::default();
    let model = UsageModel::build(&rollup, &us);
    assert!(model.unmapped_users > 0, "the simulator leaves some users ungrouped");
    let s = Settings::default();
    let as_of = cfg.end() - 1;
    let billing = BillingAccounts::build(&snap, &s, as_of).unwrap();
    let links = billing.link_accounts(&rollup);
    assert!(links.iter().all(|&c| c != holdfast_core::snapshot::NONE), "every simulated account is a billing customer");
    let (first, last) = model.days.unwrap();
    for (d, [dau, wau, mau]) in model.daily_active(first, last).into_iter().enumerate() {
        assert!(dau <= wau && wau <= mau, "day {d}: {dau} {wau} {mau}");
    }
    let cal = Calendar::utc(Grain::Month);
    let from = holdfast_core::time::date_to_ts(cfg.start);
    let input = UsageInput { rollup: &rollup, model: &model, billing: &billing, links: &links, settings: &us, calendar: &cal, from, to: as_of, as_of };
    let total = compute(&input, None);
    let seg = billing.segmenter(&SegmentBy::Attribute("size".into()), &s, from, as_of).unwrap();
    let by_size = compute(&input, Some(&seg));
    let seg = billing.segmenter(&SegmentBy::Plan, &s, from, as_of).unwrap();
    let by_plan = compute(&input, Some(&seg));
    for tb in [&total, &by_size, &by_plan] {
        check_table(tb);
    }
    // distinct counts: segments partition users (each user-period in one segment)
    let periods: Vec<String> = total.results.iter().filter(|r| r.kpi == "mau").map(|r| r.period.clone()).collect();
    assert!(periods.len() >= 9);
    for tb in [&by_size, &by_plan] {
        for p in &periods {
            for kpi in ["mau", "wau", "mru"] {
                let sum: f64 = tb.results.iter().filter(|r| r.kpi == kpi && &r.period == p).map(|r| r.value.unwrap().as_f64()).sum();
                assert_eq!(sum, total.get(kpi, p, None).unwrap().value.unwrap().as_f64(), "{kpi} {p} by {:?}", tb.segment_by);
            }
        }
    }
    // usage follows health: MRU exists and retention is sensible over the whole range
    let mru: f64 = periods.iter().map(|p| total.get("mru", p, None).unwrap().value.unwrap().as_f64()).sum();
    assert!(mru > 0.0);
}

fn check_table(tb: &UsageTable) {
    let get = |k: &str, p: &str, s: Option<&str>| tb.get(k, p, s).map(|r| r.value.map(|v| v.as_f64()).unwrap_or(0.0) as i64).unwrap_or(0);
    for r in &tb.results {
        if ["stickiness", "feature_adoption_breadth", "activity_churn_rate", "time_to_value_within_target"].contains(&r.kpi) {
            if let Some(v) = r.value {
                assert!((0.0..=1.0).contains(&v.as_f64()), "{} {} {:?} = {}", r.kpi, r.period, r.segment, v.as_f64());
            }
        }
        if r.value.is_none() {
            assert!(!r.flags.is_empty(), "null without a flag: {r:?}");
        }
        if r.kpi == "mru" {
            let (p, s) = (r.period.as_str(), r.segment.as_deref());
            let prev = tb.results.iter().filter(|x| x.kpi == "mru" && x.segment.as_deref() == s && x.period_end == r.period_start).map(|x| x.value.unwrap().as_f64() as i64).next();
            if let Some(prev) = prev {
                let flows = get("mru_new", p, s) + get("mru_resurrected", p, s) + get("mru_expansion", p, s) - get("mru_contraction", p, s) - get("mru_churned", p, s) + get("mru_segment_in", p, s) - get("mru_segment_out", p, s);
                assert_eq!(get("mru", p, s) - prev, flows, "MRU roll-forward {p} {s:?}");
            }
        }
        if r.kpi == "wau" {
            let (p, s) = (r.period.as_str(), r.segment.as_deref());
            assert!(get("wau", p, s) <= get("mau", p, s));
        }
    }
    for f in &tb.features {
        if let Some(v) = f.result.value {
            assert!((0.0..=1.0).contains(&v.as_f64()));
        }
    }
}

#[test]
fn ingest_order_and_splitting_do_not_change_the_rollups() {
    let (_, lines, _) = simulate(20, 6);
    let whole = rollup_of(lines.iter());
    // reversed, in two ingests (the second seeded with the first's message ids), with every message twice
    let half = lines.len() / 2;
    let a = rollup_of(lines[..half].iter().rev());
    let mut ing = Ingest::new(IngestSettings::default(), a.message_ids.iter().copied());
    for l in lines.iter().rev() {
        ing.line(l.as_bytes()).unwrap();
    }
    let b = ing.finish();
    assert_eq!(b.stats.duplicates as usize, half);
    let key = |r: &holdfast_usage::Rollup| {
        let hint = |a: u32| if a == holdfast_core::snapshot::NONE { String::new() } else { r.accounts.name(a).to_string() };
        let mut v: Vec<(String, i32, String, u64)> = r.counts.iter().map(|c| (format!("{}/{}", r.users.name(c.user), hint(c.account)), c.day, r.events.name(c.event).to_string(), c.count)).collect();
        v.sort();
        v
    };
    let mut merged = key(&a);
    merged.extend(key(&b));
    merged.sort();
    // merge equal keys (the store sums them)
    let mut summed: Vec<(String, i32, String, u64)> = Vec::new();
    for x in merged {
        match summed.last_mut() {
            Some(l) if (l.0.as_str(), l.1, l.2.as_str()) == (x.0.as_str(), x.1, x.2.as_str()) => l.3 += x.3,
            _ => summed.push(x),
        }
    }
    let whole = key(&whole);
    assert_eq!(summed.len(), whole.len());
    assert!(summed == whole, "split, reversed and duplicated ingest differs from one ingest");
}
