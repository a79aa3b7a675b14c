//! A hand-made company with two paying accounts and four users, used by the KPI fixtures.
#![allow(dead_code)]
use holdfast_core::records::*;
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::parse_instant;
use holdfast_core::Currency;
use holdfast_usage::{Ingest, IngestSettings, Rollup};

pub fn t(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

pub fn track(id: &str, user: &str, event: &str, ts: &str, context_group: Option<&str>) -> String {
    let ctx = context_group.map(|g| format!(r#","context":{{"groupId":"{g}"}}"#)).unwrap_or_default();
    format!(r#"{{"type":"track","messageId":"{id}","userId":"{user}","event":"{event}","timestamp":"{ts}"{ctx}}}"#)
}

pub fn group(id: &str, user: &str, account: &str, ts: &str) -> String {
    format!(r#"{{"type":"group","messageId":"{id}","userId":"{user}","groupId":"{account}","timestamp":"{ts}","traits":{{"name":"x"}}}}"#)
}

/// The fixture's messages (see `kpis.rs` for the hand computation).
pub fn fixture_messages() -> Vec<String> {
    vec![
        group("g1", "u1", "cus_a", "2025-03-01T09:00:00Z"),
        group("g2", "u2", "cus_a", "2025-03-01T09:00:00Z"),
        group("g3", "u3", "cus_b", "2025-03-02T09:00:00Z"),
        // u1: a 20-minute session, a session across midnight (30 min), a single-event session in April
        track("m1", "u1", "Signed In", "2025-03-03T10:00:00Z", None),
        track("m2", "u1", "Report Created", "2025-03-03T10:10:00Z", None),
        track("m3", "u1", "Report Shared", "2025-03-03T10:20:00Z", None),
        track("m4", "u1", "Signed In", "2025-03-10T23:50:00Z", None),
        track("m5", "u1", "Report Created", "2025-03-11T00:20:00Z", None),
        track("m6", "u1", "Signed In", "2025-04-02T09:00:00Z", None),
        // u2: two events an hour apart: two sessions of 0 minutes
        track("m7", "u2", "Signed In", "2025-03-03T11:00:00Z", None),
        track("m8", "u2", "Report Created", "2025-03-03T12:00:00Z", None),
        // u3 (account from context.groupId as well): 5 minutes; a passive email in April
        track("m9", "u3", "Signed In", "2025-03-05T08:00:00Z", Some("cus_b")),
        track("m10", "u3", "Dashboard Viewed", "2025-03-05T08:05:00Z", Some("cus_b")),
        track("m11", "u3", "Email Received", "2025-04-03T06:00:00Z", Some("cus_b")),
        // u4: never grouped: unmapped, 15 minutes
        track("m12", "u4", "Signed In", "2025-03-20T15:00:00Z", None),
        track("m13", "u4", "Report Created", "2025-03-20T15:15:00Z", None),
    ]
}

pub fn ingest(lines: &[String]) -> Rollup {
    let mut ing = Ingest::new(IngestSettings::default(), []);
    for l in lines {
        ing.line(l.as_bytes()).unwrap();
    }
    ing.finish()
}

fn line(id: &str, inv: &str, customer_sub: &str, a: &str, b: &str, amount: i64, quantity: i64) -> InvoiceLineRecord {
    InvoiceLineRecord {
        id: id.into(),
        invoice_id: inv.into(),
        subscription_id: Some(customer_sub.into()),
        item_id: None,
        plan_id: Some("pro".into()),
        price_type: PriceType::Recurring,
        period_start: Some(t(a)),
        period_end: Some(t(b)),
        amount,
        discounts: vec![],
        tax_inclusive: 0,
        quantity,
        prorated: false,
    }
}

fn invoice(id: &str, customer: &str, at: &str, total: i64) -> InvoiceRecord {
    InvoiceRecord {
        id: id.into(),
        customer_id: customer.into(),
        currency: Currency::USD,
        status: InvoiceStatus::Paid,
        issued_at: t(at),
        due_at: Some(t(at)),
        paid_at: Some(t(at)),
        total,
        amount_paid: total,
        amount_refunded: 0,
    }
}

/// cus_a (country DE): 4 seats, paying March and April. cus_b (country FR): 2 seats, paying March only.
pub fn billing() -> Snapshot {
    let mut ds = Dataset::default();
    for (id, country) in [("cus_a", "DE"), ("cus_b", "FR")] {
        ds.customers.push(CustomerRecord {
            id: id.into(),
            created_at: Some(t("2025-03-01T00:00:00Z")),
            attributes: [("country".to_string(), country.to_string())].into_iter().collect(),
            ..Default::default()
        });
    }
    ds.plans.push(PlanRecord {
        id: "pro".into(),
        name: Some("Pro".into()),
        product: None,
        currency: Currency::USD,
        amount: 1000,
        price_type: PriceType::Recurring,
        interval: Some(Interval::Month),
        interval_count: 1,
        usage_type: UsageType::Licensed,
    });
    ds.invoices.push(invoice("in_a1", "cus_a", "2025-03-01T00:00:00Z", 4000));
    ds.invoices.push(invoice("in_a2", "cus_a", "2025-04-01T00:00:00Z", 4000));
    ds.invoices.push(invoice("in_b1", "cus_b", "2025-03-01T00:00:00Z", 2000));
    ds.invoice_lines.push(line("il_a1", "in_a1", "sub_a", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z", 4000, 4));
    ds.invoice_lines.push(line("il_a2", "in_a2", "sub_a", "2025-04-01T00:00:00Z", "2025-05-01T00:00:00Z", 4000, 4));
    ds.invoice_lines.push(line("il_b1", "in_b1", "sub_b", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z", 2000, 2));
    Snapshot::from_dataset(&ds).unwrap()
}
