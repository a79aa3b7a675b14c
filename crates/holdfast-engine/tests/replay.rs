//! Replaying a past `as_of` sees only what was known then (spec §11.16): a subscription exported with its
//! final status `canceled` but an `ended_at` still ahead of `as_of` was active at `as_of`.
mod common;
use common::{Line, B};
use holdfast_core::records::{Interval, SubscriptionStatus as S};
use holdfast_engine::timeline::{CustomerStatus, Kind};
use holdfast_engine::Settings;

#[test]
fn final_canceled_status_does_not_end_a_subscription_before_its_ended_at() {
    let mut b = B::new();
    b.plan("m", 5_000, Interval::Month, 1);
    // cancellation requested on 2024-02-10, effective at the end of the paid period (2024-05-01)
    b.sub("s", "A", S::Canceled, Some("2024-02-10"), Some("2024-05-01"));
    for (a, e) in [("2024-01-01", "2024-02-01"), ("2024-02-01", "2024-03-01"), ("2024-03-01", "2024-04-01"), ("2024-04-01", "2024-05-01")] {
        b.line(Line::new("A", "s", "m", a, e, 5_000));
    }
    let past = b.run(&Settings::default(), "2024-03-15");
    assert_eq!(past.customers[0].status, CustomerStatus::Active);
    assert_eq!(past.customers[0].mrr, 5_000);
    assert!(past.ledger.iter().all(|c| c.kind != Kind::Churn));
    let now = b.run(&Settings::default(), "2024-06-01");
    let churn: Vec<i64> = now.ledger.iter().filter(|c| c.kind == Kind::Churn).map(|c| c.t).collect();
    assert_eq!(churn, vec![common::t("2024-05-01")]);
}
