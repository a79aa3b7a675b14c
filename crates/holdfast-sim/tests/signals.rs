//! The signal emitter never changes billing, is deterministic, and customer i's signals do not depend on
//! how many customers are generated.
use holdfast_signals::records::SignalRecord;
use holdfast_sim::{generate_dataset, SimConfig};

fn with_signals(cfg: &SimConfig) -> (holdfast_core::records::Dataset, Vec<SignalRecord>) {
    let mut ds = holdfast_core::records::Dataset::default();
    let mut sig = Vec::new();
    holdfast_sim::signals::generate_with_signals(cfg, &mut |r| ds.push(r), &mut |s| sig.push(s));
    (ds, sig)
}

#[test]
fn signals_leave_billing_unchanged_and_are_deterministic() {
    let cfg = SimConfig::new(9, 60, 15);
    let (ds, sig) = with_signals(&cfg);
    assert_eq!(ds, generate_dataset(&cfg));
    assert_eq!(with_signals(&cfg).1, sig);
    for kind in ["Ticket", "Survey", "Cancellation", "Funnel", "Spend", "Referral"] {
        assert!(sig.iter().any(|s| format!("{s:?}").starts_with(kind)), "no {kind} records");
    }
    // every signal instant is before the end of the simulated range
    let end = cfg.end();
    for s in &sig {
        let t = match s {
            SignalRecord::Ticket(t) => t.first_resolved_at.or(t.first_response_at).unwrap_or(t.created_at),
            SignalRecord::Survey(x) => x.responded_at,
            SignalRecord::Cancellation(x) => x.cancelled_at,
            SignalRecord::Funnel(x) => x.stage_at,
            SignalRecord::Referral(x) => x.invitee_converted_at.or(x.invitee_signed_up_at).unwrap_or(x.invited_at),
            SignalRecord::Spend(_) | SignalRecord::Visit(_) => continue,
        };
        assert!(t < end, "{s:?}");
    }
}

#[test]
fn a_customers_signals_do_not_depend_on_the_population_size() {
    let small = with_signals(&SimConfig::new(4, 30, 12)).1;
    let large = with_signals(&SimConfig::new(4, 50, 12)).1;
    let keep = |v: &[SignalRecord]| v.iter().filter(|s| !matches!(s, SignalRecord::Spend(_))).cloned().collect::<Vec<_>>();
    let (a, b) = (keep(&small), keep(&large));
    assert_eq!(&b[..a.len()], &a[..]);
}
