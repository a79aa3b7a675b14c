//! Record-level invariants of the generated data.
mod common;

use common::plus_months;
use holdfast_core::fx::FxTable;
use holdfast_core::records::{
    Interval, InvoiceStatus, PriceType, Record, SubscriptionItemRecord, SubscriptionStatus, UsageType,
};
use holdfast_core::{Currency, Ts};
use holdfast_sim::{generate, SimConfig};
use std::collections::{HashMap, HashSet};

fn check(cfg: &SimConfig) {
    let end = cfg.end();
    let mut recs = Vec::new();
    generate(cfg, &mut |r| recs.push(r));

    // --- Referential order: everything a record refers to came earlier in the stream. -----------------------
    let mut plans = HashMap::new();
    let mut customers: HashMap<String, Vec<holdfast_core::records::CustomerRecord>> = HashMap::new();
    let mut subs = HashMap::new();
    let mut items: HashMap<String, Vec<SubscriptionItemRecord>> = HashMap::new();
    let mut discounts = HashMap::new();
    let mut invoices = HashMap::new();
    let mut line_ids = HashSet::new();
    let mut lines_of: HashMap<String, Vec<holdfast_core::records::InvoiceLineRecord>> = HashMap::new();
    let mut fx_rows = Vec::new();
    for r in &recs {
        match r {
            Record::Plan(p) => assert!(plans.insert(p.id.clone(), p.clone()).is_none()),
            Record::FxRate(f) => {
                assert!((f.day as i64) * 86_400 < end, "FX row in the future");
                fx_rows.push((f.day, f.base, f.quote, f.rate));
            }
            Record::Discount(d) => {
                if let Some(c) = &d.customer_id {
                    assert!(customers.contains_key(c));
                    let s: &holdfast_core::records::SubscriptionRecord = &subs[d.subscription_id.as_ref().unwrap()];
                    assert_eq!(&s.customer_id, c);
                    assert!(d.start.unwrap() < end);
                }
                assert!(discounts.insert(d.id.clone(), d.clone()).is_none());
            }
            Record::Customer(c) => {
                let v = customers.entry(c.id.clone()).or_default();
                assert!(v.iter().all(|o| o.valid_from != c.valid_from), "duplicate customer version");
                assert!(c.valid_from.is_none_or(|t| t < end) && c.created_at.unwrap() < end);
                v.push(c.clone());
            }
            Record::Subscription(s) => {
                assert!(customers.contains_key(&s.customer_id));
                assert!(subs.insert(s.id.clone(), s.clone()).is_none());
            }
            Record::SubscriptionItem(i) => {
                assert!(subs.contains_key(&i.subscription_id));
                assert!(plans.contains_key(&i.plan_id));
                assert!(i.valid_from < end && i.valid_to.is_none_or(|t| t > i.valid_from));
                assert!(i.quantity >= 0);
                items.entry(i.id.clone()).or_default().push(i.clone());
            }
            Record::ScheduledItem(x) => panic!("the simulator schedules no changes: {x:?}"),
            Record::Invoice(i) => {
                assert!(customers.contains_key(&i.customer_id));
                assert!(invoices.insert(i.id.clone(), i.clone()).is_none());
            }
            Record::InvoiceLine(l) => {
                assert!(invoices.contains_key(&l.invoice_id), "line {} before its invoice", l.id);
                assert!(line_ids.insert(l.id.clone()));
                let s = &subs[l.subscription_id.as_ref().unwrap()];
                assert_eq!(s.customer_id, invoices[&l.invoice_id].customer_id);
                if let Some(it) = &l.item_id {
                    assert!(items.contains_key(it));
                }
                for d in &l.discounts {
                    assert!(discounts.contains_key(&d.discount_id));
                    assert_eq!(discounts[&d.discount_id].subscription_id, l.subscription_id);
                }
                lines_of.entry(l.invoice_id.clone()).or_default().push(l.clone());
            }
        }
    }
    assert!(!invoices.is_empty());

    // --- FX: both pairs quoted every business day, positive, convertible into the reporting currency. ---------
    let t = FxTable::build(cfg.reporting_currency, &fx_rows);
    for c in [Currency::USD, Currency::EUR, Currency::GBP] {
        let r = t.rate(c, (end / 86_400 - 1) as i32).expect("a rate for every billing currency");
        assert!(r.as_f64() > 0.5 && r.as_f64() < 2.0, "{c}: {}", r.as_f64());
    }

    // --- Customers: country consistent with currency. ----------------------------------------------------------
    let currency_of_country = |c: &str| match c {
        "DE" | "FR" | "NL" | "ES" | "IT" | "IE" => Currency::EUR,
        "GB" => Currency::GBP,
        _ => Currency::USD,
    };

    // --- Invoices and lines. -----------------------------------------------------------------------------------
    for (id, inv) in &invoices {
        let ls = lines_of.get(id).expect("every invoice has lines");
        let base = customers[&inv.customer_id].iter().find(|c| c.valid_from.is_none()).unwrap();
        assert_eq!(currency_of_country(&base.attributes["country"]), inv.currency);
        assert!(inv.issued_at < end, "invoice issued in the future");
        let total: i64 = ls.iter().map(|l| l.amount - l.discounts.iter().map(|d| d.amount).sum::<i64>()).sum();
        assert_eq!(inv.total, total, "{id}");
        match inv.status {
            InvoiceStatus::Paid => {
                let p = inv.paid_at.expect("paid invoices have paid_at");
                assert!(p >= inv.issued_at && p < end);
                assert_eq!(inv.amount_paid, total.max(0));
            }
            _ => {
                assert!(inv.paid_at.is_none() && inv.amount_paid == 0);
            }
        }
        assert!(inv.amount_refunded >= 0 && inv.amount_refunded <= inv.amount_paid);
        assert!(inv.due_at.is_some_and(|d| d >= inv.issued_at));
        for l in ls {
            let plan = &plans[l.plan_id.as_ref().unwrap()];
            assert_eq!(plan.currency, inv.currency, "line currency = plan currency");
            assert_eq!(subs[l.subscription_id.as_ref().unwrap()].currency, Some(inv.currency));
            assert!(l.quantity >= 0);
            assert_eq!(l.price_type, plan.price_type);
            match (l.period_start, l.period_end) {
                (Some(a), Some(b)) => assert!(b > a, "period_end > period_start"),
                (None, None) => assert_eq!(l.price_type, PriceType::OneTime),
                _ => panic!("half a period"),
            }
            if l.price_type == PriceType::OneTime {
                assert!(l.period_start.is_none() && l.item_id.is_none());
            }
            let disc: i64 = l.discounts.iter().map(|d| d.amount).sum();
            assert!(disc.abs() <= l.amount.abs() && disc.signum() * l.amount.signum() >= 0);
            if l.tax_inclusive != 0 {
                assert_ne!(inv.currency, Currency::USD, "VAT only for EU/UK customers");
                assert_eq!(l.tax_inclusive, ((l.amount - disc) as f64 / 6.0).round() as i64);
            }
            // Regular licensed lines span exactly one billing interval and bill the item version in force.
            if l.price_type == PriceType::Recurring && plan.usage_type == UsageType::Licensed && !l.prorated {
                let (a, b) = (l.period_start.unwrap(), l.period_end.unwrap());
                let s = &subs[l.subscription_id.as_ref().unwrap()];
                let is_trial = l.amount == 0 && s.trial_start == Some(a) && s.trial_end == Some(b);
                if !is_trial {
                    let n = if plan.interval == Some(Interval::Year) { 12 } else { 1 };
                    // One calendar interval from the billing anchor (an anchor on the 29th–31st is clamped in
                    // short months, so either end may be the clamped one).
                    assert!(
                        plus_months(a, n) == b || plus_months(b, -n) == a,
                        "line {} is not one calendar interval",
                        l.id
                    );
                    assert_eq!(l.amount, plan.amount * l.quantity);
                    assert!(inv.issued_at >= a, "regular invoices are issued at period start");
                    assert!(s.ended_at.is_none_or(|e| a < e), "billing after the end: {l:?} {s:?} {inv:?}");
                }
                let v = item_at(&items[l.item_id.as_ref().unwrap()], a);
                assert_eq!((&v.plan_id, v.quantity), (l.plan_id.as_ref().unwrap(), l.quantity), "line {}", l.id);
            }
            if l.prorated {
                assert!(l.item_id.is_some());
                let a = l.period_start.unwrap();
                let vs = &items[l.item_id.as_ref().unwrap()];
                // The charge bills the new version, the credit the version it replaced.
                let v = if l.amount > 0 { item_at(vs, a) } else { item_at(vs, a - 1) };
                assert_eq!(
                    (&v.plan_id, v.quantity),
                    (l.plan_id.as_ref().unwrap(), l.quantity),
                    "prorated line {}",
                    l.id
                );
            }
        }
    }

    // --- Subscription items: versions of one item tile time without overlap. ---------------------------------
    for vs in items.values() {
        for w in vs.windows(2) {
            assert_eq!(w[0].valid_to, Some(w[1].valid_from), "item {} versions must be contiguous", w[0].id);
        }
    }

    // --- Subscription statuses consistent with dates. -------------------------------------------------------
    for s in subs.values() {
        for t in [s.created_at, s.canceled_at, s.ended_at, s.unpaid_since, s.pause_start].into_iter().flatten() {
            assert!(t < end, "{}: event instant in the future", s.id);
        }
        match s.status {
            SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired => {
                let e = s.ended_at.expect("ended subscriptions have ended_at");
                assert!(e >= s.created_at.unwrap());
                if s.status == SubscriptionStatus::Canceled {
                    assert!(s.canceled_at.is_some_and(|c| c <= e), "{s:?}");
                }
            }
            SubscriptionStatus::Unpaid => assert!(s.unpaid_since.is_some() && s.ended_at.is_none()),
            _ => assert!(s.ended_at.is_none(), "{}: live status with ended_at", s.id),
        }
        if s.status == SubscriptionStatus::Trialing {
            assert!(s.trial_end.unwrap() >= end);
        }
        if let (Some(a), Some(b)) = (s.trial_start, s.trial_end) {
            assert_eq!(b - a, 14 * 86_400);
        }
        if s.cancel_at_period_end {
            assert!(s.cancel_at.is_some() && s.canceled_at.is_some());
            if let Some(e) = s.ended_at {
                assert_eq!(Some(e), s.cancel_at);
            }
        }
        if s.status == SubscriptionStatus::Paused {
            assert!(s.pause_start.unwrap() <= end && end < s.pause_end.unwrap());
        }
        assert_eq!(s.pause_start.is_some(), s.pause_end.is_some());
        if let Some(u) = s.unpaid_since {
            assert!(s.ended_at.is_none_or(|e| e >= u));
        }
        // No subscription outlives its end: nothing is invoiced for a period starting after it ended.
        if let Some(r) = &s.cancellation_reason {
            assert!([
                "too_expensive",
                "missing_features",
                "switched_service",
                "unused",
                "customer_service",
                "too_complex",
                "low_quality",
                "other",
                holdfast_sim::PAYMENT_FAILED
            ]
            .contains(&r.as_str()));
        }
    }
}

fn item_at(vs: &[SubscriptionItemRecord], t: Ts) -> &SubscriptionItemRecord {
    vs.iter()
        .find(|v| v.valid_from <= t && v.valid_to.is_none_or(|e| t < e))
        .unwrap_or_else(|| panic!("no version of {} at {t}", vs[0].id))
}

#[test]
fn records_are_consistent_2000_customers_24_months() {
    check(&SimConfig::new(42, 2_000, 24));
}

#[test]
fn records_are_consistent_with_an_end_of_month_start_and_eur_reporting() {
    let mut cfg = SimConfig::new(7, 600, 14);
    cfg.start = jiff::civil::date(2024, 1, 31);
    cfg.reporting_currency = Currency::EUR;
    check(&cfg);
    let mut cfg = SimConfig::new(8, 300, 7);
    cfg.reporting_currency = Currency::GBP;
    check(&cfg);
}
