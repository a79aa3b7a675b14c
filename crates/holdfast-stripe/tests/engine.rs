//! End to end: Stripe objects → records → snapshot → engine ledger.
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::parse_instant;
use holdfast_engine::timeline::Kind::{self, *};
use holdfast_engine::{run, RunSpec, Settings};
use std::path::Path;

fn moves(dir: &str, customer: &str, as_of: &str) -> Vec<(Kind, i64, i64)> {
    let d = holdfast_stripe::read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir)).unwrap_or_else(|e| panic!("{e}"));
    let snap = Snapshot::from_dataset(&d).unwrap();
    let spec = RunSpec { as_of: Some(parse_instant(as_of).unwrap()), ..RunSpec::default() };
    let r = run(&snap, &Settings::default(), &spec).unwrap_or_else(|e| panic!("{e}"));
    let c = snap.customers.ids.get(customer).unwrap();
    r.ledger.iter().filter(|x| x.customer == c && x.kind != FxOnly).map(|x| (x.kind, x.amount, x.t)).collect()
}

/// Spec §10.1 "CM lifecycle" as Stripe subscriptions and invoices, in both API shapes.
#[test]
fn cm_lifecycle_from_stripe_objects() {
    let t = |s: &str| parse_instant(s).unwrap();
    for dir in ["cm_old", "cm_basil"] {
        let m = moves(dir, "cus_A", "2025-03-15");
        assert_eq!(
            m,
            vec![
                (NewBusiness, 16_667, t("2024-01-01")),
                (Expansion, 6_000, t("2024-02-01")),
                (Contraction, -6_000, t("2024-02-15")),
                (Churn, -16_667, t("2025-01-01")),
                (Reactivation, 15_000, t("2025-03-01")),
            ],
            "{dir}"
        );
    }
}

/// Spec §10.1 "CM prorated switch": a Stripe proration pair on an upgrade is an expansion to the new price.
#[test]
fn proration_upgrade_is_an_expansion() {
    let m: Vec<_> = moves("proration", "cus_P", "2019-07-15").into_iter().map(|(k, a, _)| (k, a)).collect();
    assert_eq!(m, vec![(NewBusiness, 10_000), (Expansion, 15_000)]);
}
