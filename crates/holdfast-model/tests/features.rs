//! Point-in-time features on a simulated company: no leakage (features from the full history at an
//! observation date equal those from only what was known then), labels that follow the ledger, and a
//! time-ordered evaluation that learns something real.
use holdfast_core::records::{Dataset as Records, InvoiceStatus, SubscriptionStatus};
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{Calendar, Ts, SECS_PER_DAY};
use holdfast_core::Grain;
use holdfast_engine::timeline::Kind;
use holdfast_engine::{RunSpec, Settings};
use holdfast_model::cv::time_folds;
use holdfast_model::eval::evaluate;
use holdfast_model::features::{build_panel, default_families, Panel, PanelSpec};
use holdfast_model::model::{fit_calibrated, ModelSpec};
use holdfast_sim::{generate_dataset, SimConfig};

/// The records as they stood at `t`: nothing issued, paid, cancelled, ended or started after `t`.
fn known_at(d: &Records, t: Ts) -> Records {
    let mut k = d.clone();
    let after = |x: Option<Ts>| x.is_some_and(|x| x > t);
    k.subscriptions.retain(|s| s.created_at.or(s.started_at).is_none_or(|c| c <= t));
    for s in &mut k.subscriptions {
        if after(s.canceled_at) {
            s.canceled_at = None;
            s.cancel_at = None;
            s.cancel_at_period_end = false;
            s.cancellation_reason = None;
        }
        if after(s.ended_at) {
            s.ended_at = None;
        }
        if after(s.unpaid_since) {
            s.unpaid_since = None;
        }
        if after(s.pause_start) {
            s.pause_start = None;
            s.pause_end = None;
        }
        // the status as it was: a subscription that had not yet ended, paused or fallen due was active
        let ended = s.ended_at.is_some();
        s.status = match s.status {
            SubscriptionStatus::Canceled if !ended => SubscriptionStatus::Active,
            SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid if s.unpaid_since.is_none() => SubscriptionStatus::Active,
            SubscriptionStatus::Paused if s.pause_start.is_none() => SubscriptionStatus::Active,
            st => st,
        };
    }
    let kept: std::collections::HashSet<String> = k.subscriptions.iter().map(|s| s.id.clone()).collect();
    k.subscription_items.retain(|i| kept.contains(&i.subscription_id) && i.valid_from <= t);
    for i in &mut k.subscription_items {
        if after(i.valid_to) {
            i.valid_to = None;
        }
    }
    k.invoices.retain(|i| i.issued_at <= t);
    for i in &mut k.invoices {
        if after(i.paid_at) {
            i.paid_at = None;
            i.amount_paid = 0;
            i.amount_refunded = 0;
            if i.status == InvoiceStatus::Paid {
                i.status = InvoiceStatus::Open;
            }
        }
    }
    let issued: std::collections::HashSet<String> = k.invoices.iter().map(|i| i.id.clone()).collect();
    k.invoice_lines.retain(|l| issued.contains(&l.invoice_id));
    k.fx_rates.retain(|r| (r.day as i64) * SECS_PER_DAY <= t);
    k
}

fn month_starts(from: Ts, to: Ts) -> Vec<Ts> {
    Calendar::utc(Grain::Month).periods(from, to).into_iter().map(|p| p.start).filter(|&s| s >= from).collect()
}

/// Rows keyed by customer id, with every feature rendered (NaN-safe) for comparison.
fn rows(snap: &Snapshot, p: &Panel) -> std::collections::BTreeMap<String, Vec<String>> {
    (0..p.data.n_rows)
        .map(|r| {
            let mut v: Vec<String> = p.data.numeric.iter().map(|c| format!("{}={:?}", c.name, c.values[r])).collect();
            v.extend(p.data.categorical.iter().map(|c| format!("{}={:?}", c.name, c.levels.get(c.codes[r] as usize))));
            (snap.customers.ids.name(p.customer[r]).to_string(), v)
        })
        .collect()
}

#[test]
fn features_at_a_date_ignore_everything_learned_later() {
    let cfg = SimConfig::new(11, 1500, 24);
    let records = generate_dataset(&cfg);
    let full = Snapshot::from_dataset(&records).unwrap();
    let settings = Settings::default();
    let end = cfg.end();
    for t in month_starts(end - 420 * SECS_PER_DAY, end - 100 * SECS_PER_DAY).into_iter().step_by(4) {
        let spec = PanelSpec { dates: vec![t], horizon_days: 90, label_as_of: end };
        let from_full = build_panel(&full, &settings, &spec, &default_families()).unwrap();
        let past = Snapshot::from_dataset(&known_at(&records, t)).unwrap();
        let from_past = build_panel(&past, &settings, &PanelSpec { label_as_of: t, ..spec }, &default_families()).unwrap();
        assert!(from_full.data.n_rows > 300, "{} active customers at {t}", from_full.data.n_rows);
        let (a, b) = (rows(&full, &from_full), rows(&past, &from_past));
        assert_eq!(a.len(), b.len(), "population at {t}");
        for (id, va) in &a {
            assert_eq!(Some(va), b.get(id), "customer {id} at {t}");
        }
        // and the features do vary (the comparison is not between empty rows)
        let pending = from_full.data.numeric.iter().find(|c| c.name == "past_due_days").unwrap();
        assert!(pending.values.iter().any(|&v| v > 0.0) || t < end - 400 * SECS_PER_DAY);
    }
}

#[test]
fn labels_follow_the_ledger_and_stop_at_the_horizon() {
    let cfg = SimConfig::new(3, 800, 18);
    let snap = Snapshot::from_dataset(&generate_dataset(&cfg)).unwrap();
    let settings = Settings::default();
    let end = cfg.end();
    let dates = month_starts(end - 200 * SECS_PER_DAY, end);
    let p = build_panel(&snap, &settings, &PanelSpec { dates: dates.clone(), horizon_days: 90, label_as_of: end }, &default_families()).unwrap();
    let run = holdfast_engine::run(&snap, &settings, &RunSpec { as_of: Some(end), ..Default::default() }).unwrap();
    let mut churned = 0;
    for r in 0..p.data.n_rows {
        let t = p.date[r];
        let c = p.customer[r];
        match p.label[r] {
            None => assert!(t + 90 * SECS_PER_DAY > end),
            Some(l) => {
                let expect = run.ledger.iter().any(|x| x.customer == c && x.kind == Kind::Churn && x.t > t && x.t <= t + 90 * SECS_PER_DAY);
                assert_eq!(l, expect, "customer {c} at {t}");
                churned += l as usize;
            }
        }
    }
    assert!(churned > 10, "{churned} churners labelled");
    let tenure = &p.data.numeric.iter().find(|c| c.name == "tenure_days").unwrap().values;
    assert!(tenure.iter().all(|&d| d >= 0.0));
}

#[test]
fn time_ordered_evaluation_on_simulated_data_beats_chance() {
    let cfg = SimConfig::new(7, 3000, 30);
    let snap = Snapshot::from_dataset(&generate_dataset(&cfg)).unwrap();
    let end = cfg.end();
    let dates = month_starts(end - 600 * SECS_PER_DAY, end - 90 * SECS_PER_DAY);
    let p = build_panel(&snap, &Settings::default(), &PanelSpec { dates, horizon_days: 90, label_as_of: end }, &default_families()).unwrap();
    let y: Vec<bool> = p.label.iter().map(|l| l.expect("every date's horizon is over")).collect();
    let folds = time_folds(&p.date, 90 * SECS_PER_DAY, 4);
    assert_eq!(folds.len(), 4);
    let tested: Vec<u32> = folds.iter().flat_map(|f| f.test.iter().copied()).collect();
    let all: Vec<u32> = (0..p.data.n_rows as u32).collect();
    for spec in [ModelSpec::logistic(), ModelSpec::gbt()] {
        let (_, probs) = fit_calibrated(&spec, &p.data, &all, &y, None, &folds);
        let pr: Vec<f64> = tested.iter().map(|&r| probs[r as usize]).collect();
        let yr: Vec<bool> = tested.iter().map(|&r| y[r as usize]).collect();
        let e = evaluate(&pr, &yr, None, "sim");
        let auc = e.roc_auc.value.unwrap().as_f64();
        println!("sim {}: AUC {auc:.4} PR-AUC {:.4} lift {:.2} base {:.4} rows {}", spec.learner.name(), e.pr_auc.value.unwrap().as_f64(), e.top_decile_lift.value.unwrap().as_f64(), e.base_rate.unwrap(), pr.len());
        assert!(auc > 0.6, "{} AUC {auc}", spec.learner.name());
    }
}
