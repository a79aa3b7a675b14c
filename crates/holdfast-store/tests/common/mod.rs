//! Shared fixtures: a small data set touching every field of every record kind, and a deterministic text
//! dump of a snapshot (the snapshot's interners hold hash maps, so its `Debug` output is not comparable).
#![allow(dead_code)]
use holdfast_core::fx::Rate;
use holdfast_core::records::*;
use holdfast_core::snapshot::{Interner, Snapshot};
use holdfast_core::time::parse_instant;
use holdfast_core::Currency;
use std::fmt::Write;

pub fn ts(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

pub fn cur(s: &str) -> Currency {
    Currency::parse(s).unwrap()
}

pub fn sample() -> Dataset {
    let mut d = Dataset::default();
    d.customers.push(CustomerRecord {
        id: "cus_1".into(),
        valid_from: None,
        name: Some("Acme GmbH".into()),
        email: Some("billing@acme.example".into()),
        domain: Some("acme.example".into()),
        created_at: Some(ts("2024-01-05T10:00:00Z")),
        external_ids: vec!["legacy-17".into(), "crm:9".into()],
        attributes: [("country", "DE"), ("size", "smb"), ("csm_owner", "Zoë")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    });
    d.customers.push(CustomerRecord {
        id: "cus_1".into(),
        valid_from: Some(ts("2024-06-01")),
        attributes: [("size", "mid")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    });
    d.customers.push(CustomerRecord { id: "cus_2".into(), ..Default::default() });
    d.customers.push(CustomerRecord {
        id: "cus_日本".into(),
        name: Some("Nihon KK | \"quoted\"".into()),
        created_at: Some(ts("2023-12-31T23:59:59Z")),
        attributes: [("country", "JP")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    });

    d.plans.push(PlanRecord {
        id: "price_basic_m".into(),
        name: Some("Basic monthly".into()),
        product: Some("prod_basic".into()),
        currency: Currency::EUR,
        amount: 4_900,
        price_type: PriceType::Recurring,
        interval: Some(Interval::Month),
        interval_count: 1,
        usage_type: UsageType::Licensed,
    });
    d.plans.push(PlanRecord {
        id: "price_pro_y".into(),
        name: None,
        product: None,
        currency: cur("JPY"),
        amount: 120_000,
        price_type: PriceType::Recurring,
        interval: Some(Interval::Year),
        interval_count: 1,
        usage_type: UsageType::Metered,
    });
    d.plans.push(PlanRecord {
        id: "price_setup".into(),
        name: Some("Setup fee".into()),
        product: None,
        currency: Currency::USD,
        amount: 25_000,
        price_type: PriceType::OneTime,
        interval: None,
        interval_count: 1,
        usage_type: UsageType::Licensed,
    });

    d.discounts.push(DiscountRecord {
        id: "co_launch".into(),
        name: Some("Launch 20%".into()),
        duration: DiscountDuration::Repeating,
        duration_in_months: Some(3),
        percent_off_milli: Some(20_000),
        amount_off: None,
        currency: None,
        customer_id: Some("cus_1".into()),
        subscription_id: Some("sub_1".into()),
        start: Some(ts("2024-02-01")),
        end: Some(ts("2024-05-01")),
    });
    d.discounts.push(DiscountRecord {
        id: "co_fixed|odd:id\\".into(),
        name: None,
        duration: DiscountDuration::Forever,
        duration_in_months: None,
        percent_off_milli: None,
        amount_off: Some(500),
        currency: Some(Currency::EUR),
        customer_id: None,
        subscription_id: None,
        start: None,
        end: None,
    });

    d.subscriptions.push(SubscriptionRecord {
        id: "sub_1".into(),
        customer_id: "cus_1".into(),
        status: SubscriptionStatus::Canceled,
        currency: Some(Currency::EUR),
        created_at: Some(ts("2024-01-05T10:00:00Z")),
        started_at: Some(ts("2024-01-05T10:00:00Z")),
        trial_start: Some(ts("2024-01-05T10:00:00Z")),
        trial_end: Some(ts("2024-01-19T10:00:00Z")),
        cancel_at_period_end: true,
        cancel_at: Some(ts("2024-09-19T10:00:00Z")),
        canceled_at: Some(ts("2024-08-30T08:00:00Z")),
        ended_at: Some(ts("2024-09-19T10:00:00Z")),
        unpaid_since: None,
        pause_start: Some(ts("2024-04-01")),
        pause_end: Some(ts("2024-05-01")),
        cancellation_reason: Some("too_expensive".into()),
    });
    d.subscriptions.push(SubscriptionRecord {
        id: "sub_2".into(),
        customer_id: "cus_日本".into(),
        status: SubscriptionStatus::PastDue,
        currency: None,
        created_at: None,
        started_at: Some(ts("2024-03-01")),
        trial_start: None,
        trial_end: None,
        cancel_at_period_end: false,
        cancel_at: None,
        canceled_at: None,
        ended_at: None,
        unpaid_since: Some(ts("2024-07-01")),
        pause_start: None,
        pause_end: None,
        cancellation_reason: None,
    });

    d.subscription_items.push(SubscriptionItemRecord {
        id: "si_1".into(),
        subscription_id: "sub_1".into(),
        plan_id: "price_basic_m".into(),
        quantity: 3,
        valid_from: ts("2024-01-05T10:00:00Z"),
        valid_to: Some(ts("2024-03-05T10:00:00Z")),
    });
    d.subscription_items.push(SubscriptionItemRecord {
        id: "si_1".into(),
        subscription_id: "sub_1".into(),
        plan_id: "price_basic_m".into(),
        quantity: 5,
        valid_from: ts("2024-03-05T10:00:00Z"),
        valid_to: None,
    });
    d.subscription_items.push(SubscriptionItemRecord {
        id: "si_2".into(),
        subscription_id: "sub_2".into(),
        plan_id: "price_unknown".into(),
        quantity: 1,
        valid_from: ts("2024-03-01"),
        valid_to: None,
    });
    d.scheduled_items.push(ScheduledItemRecord {
        id: "sub_sched_1:1:0".into(),
        subscription_id: "sub_2".into(),
        plan_id: "price_unknown".into(),
        quantity: 4,
        valid_from: ts("2024-09-01"),
        valid_to: Some(ts("2025-09-01")),
        scheduled_at: ts("2024-05-01T08:30:00Z"),
        withdrawn_at: None,
    });
    d.scheduled_items.push(ScheduledItemRecord {
        id: "sub_sched_1:0:0".into(),
        subscription_id: "sub_2".into(),
        plan_id: "price_unknown".into(),
        quantity: 0,
        valid_from: ts("2024-06-01"),
        valid_to: None,
        scheduled_at: ts("2024-05-01T08:30:00Z"),
        withdrawn_at: Some(ts("2024-05-20")),
    });

    for (i, (c, currency, status)) in [
        ("cus_1", Currency::EUR, InvoiceStatus::Paid),
        ("cus_1", Currency::EUR, InvoiceStatus::Open),
        ("cus_日本", cur("JPY"), InvoiceStatus::Uncollectible),
        ("cus_ghost", Currency::USD, InvoiceStatus::Void),
    ]
    .into_iter()
    .enumerate()
    {
        d.invoices.push(InvoiceRecord {
            id: format!("in_{}", i + 1),
            customer_id: c.into(),
            currency,
            status,
            issued_at: ts("2024-02-05T10:00:00Z") + i as i64 * 86_400 * 30,
            due_at: (i % 2 == 0).then(|| ts("2024-02-19T10:00:00Z") + i as i64 * 86_400 * 30),
            paid_at: (status == InvoiceStatus::Paid).then(|| ts("2024-02-06T10:00:00Z")),
            total: 11_760 - i as i64,
            amount_paid: if status == InvoiceStatus::Paid { 11_760 } else { 0 },
            amount_refunded: i as i64 * 7,
        });
    }

    d.invoice_lines.push(InvoiceLineRecord {
        id: "il_1".into(),
        invoice_id: "in_1".into(),
        subscription_id: Some("sub_1".into()),
        item_id: Some("si_1".into()),
        plan_id: Some("price_basic_m".into()),
        price_type: PriceType::Recurring,
        period_start: Some(ts("2024-02-05T10:00:00Z")),
        period_end: Some(ts("2024-03-05T10:00:00Z")),
        amount: 14_700,
        discounts: vec![
            LineDiscount { discount_id: "co_launch".into(), amount: 2_940 },
            LineDiscount { discount_id: "co_fixed|odd:id\\".into(), amount: 500 },
        ],
        tax_inclusive: 2_347,
        quantity: 3,
        prorated: false,
    });
    d.invoice_lines.push(InvoiceLineRecord {
        id: "il_2".into(),
        invoice_id: "in_1".into(),
        subscription_id: None,
        item_id: None,
        plan_id: Some("price_setup".into()),
        price_type: PriceType::OneTime,
        period_start: None,
        period_end: None,
        amount: 25_000,
        discounts: vec![],
        tax_inclusive: 0,
        quantity: 1,
        prorated: false,
    });
    d.invoice_lines.push(InvoiceLineRecord {
        id: "il_3".into(),
        invoice_id: "in_2".into(),
        subscription_id: Some("sub_1".into()),
        item_id: None,
        plan_id: Some("price_basic_m".into()),
        price_type: PriceType::Recurring,
        period_start: Some(ts("2024-03-05T10:00:00Z")),
        period_end: Some(ts("2024-03-20T10:00:00Z")),
        amount: -4_100,
        discounts: vec![LineDiscount { discount_id: "co_unlisted".into(), amount: -10 }],
        tax_inclusive: -650,
        quantity: 2,
        prorated: true,
    });
    d.invoice_lines.push(InvoiceLineRecord {
        id: "il_4".into(),
        invoice_id: "in_3".into(),
        subscription_id: None,
        item_id: None,
        plan_id: Some("price_pro_y".into()),
        price_type: PriceType::Recurring,
        period_start: Some(ts("2024-04-05T10:00:00Z")),
        period_end: Some(ts("2025-04-05T10:00:00Z")),
        amount: 120_000,
        discounts: vec![],
        tax_inclusive: 0,
        quantity: 1,
        prorated: false,
    });
    d.invoice_lines.push(InvoiceLineRecord {
        id: "il_5".into(),
        invoice_id: "in_4".into(),
        subscription_id: Some("sub_implicit".into()),
        item_id: Some("si_x".into()),
        plan_id: None,
        price_type: PriceType::Recurring,
        period_start: Some(ts("2024-05-01")),
        period_end: None,
        amount: 1,
        discounts: vec![],
        tax_inclusive: 0,
        quantity: 0,
        prorated: false,
    });

    for (day, base, quote, rate) in [
        (19_800, "EUR", "USD", "1.0873"),
        (19_800, "USD", "JPY", "148.123456789"),
        (19_801, "EUR", "USD", "1.09"),
        (19_799, "GBP", "EUR", "1.16"),
    ] {
        d.fx_rates.push(FxRateRecord { day, base: cur(base), quote: cur(quote), rate: Rate::parse(rate).unwrap() });
    }
    d
}

/// Many invoices and lines, for order-independence and batching tests (more rows than one load batch).
pub fn bulk(invoices: usize, lines_per_invoice: usize) -> Dataset {
    let mut d = sample();
    for i in 0..invoices {
        d.invoices.push(InvoiceRecord {
            id: format!("in_bulk_{i:06}"),
            customer_id: format!("cus_bulk_{}", i % 97),
            currency: Currency::EUR,
            status: InvoiceStatus::Paid,
            issued_at: 1_700_000_000 + i as i64 * 3_600,
            due_at: None,
            paid_at: None,
            total: i as i64,
            amount_paid: i as i64,
            amount_refunded: 0,
        });
        for l in 0..lines_per_invoice {
            d.invoice_lines.push(InvoiceLineRecord {
                id: format!("il_bulk_{i:06}_{l}"),
                invoice_id: format!("in_bulk_{i:06}"),
                subscription_id: Some(format!("sub_bulk_{}", i % 97)),
                item_id: (l % 2 == 0).then(|| format!("si_bulk_{}_{l}", i % 97)),
                plan_id: Some(["price_basic_m", "price_pro_y", "price_nowhere"][l % 3].into()),
                price_type: PriceType::Recurring,
                period_start: Some(1_700_000_000 + i as i64 * 3_600),
                period_end: Some(1_700_000_000 + i as i64 * 3_600 + 2_592_000),
                amount: (i * 10 + l) as i64,
                discounts: if l == 1 { vec![LineDiscount { discount_id: "co_launch".into(), amount: 3 }] } else { vec![] },
                tax_inclusive: 0,
                quantity: 1,
                prorated: l == 2,
            });
        }
    }
    d
}

fn names(out: &mut String, label: &str, i: &Interner) {
    let v: Vec<&str> = (0..i.len() as u32).map(|k| i.name(k)).collect();
    writeln!(out, "{label}: {v:?}").unwrap();
}

/// Every column of the snapshot, with interned ids written as dense numbers and the interners as name
/// lists in id order: two dumps are equal iff the snapshots are.
pub fn dump(s: &Snapshot) -> String {
    let mut o = String::new();
    let c = &s.customers;
    names(&mut o, "customers", &c.ids);
    writeln!(o, "customers.created_at {:?}\ncustomers.name {:?}", c.created_at, c.name).unwrap();
    names(&mut o, "attr_keys", &c.attr_keys);
    names(&mut o, "attr_values", &c.attr_values);
    writeln!(o, "attrs {:?}", c.attrs).unwrap();
    let p = &s.plans;
    names(&mut o, "plans", &p.ids);
    writeln!(
        o,
        "plans {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        p.name, p.currency, p.amount, p.price_type, p.interval, p.interval_count, p.usage_type
    )
    .unwrap();
    let d = &s.discounts;
    names(&mut o, "discounts", &d.ids);
    writeln!(o, "discounts {:?} {:?} {:?} {:?} {:?} {:?} {:?}", d.duration, d.percent_off_milli, d.amount_off, d.end, d.start, d.subscription, d.customer).unwrap();
    let x = &s.scheduled;
    writeln!(o, "scheduled {:?} {:?} {:?} {:?} {:?} {:?} {:?}", x.subscription, x.plan, x.quantity, x.valid_from, x.valid_to, x.scheduled_at, x.withdrawn_at).unwrap();
    let su = &s.subscriptions;
    names(&mut o, "subscriptions", &su.ids);
    writeln!(
        o,
        "subscriptions {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        su.customer,
        su.status,
        su.created_at,
        su.started_at,
        su.trial_start,
        su.trial_end,
        su.cancel_at_period_end,
        su.cancel_at,
        su.canceled_at,
        su.ended_at,
        su.unpaid_since,
        su.pause_start,
        su.pause_end
    )
    .unwrap();
    let it = &s.items;
    names(&mut o, "items", &it.ids);
    writeln!(o, "items {:?} {:?} {:?} {:?} {:?} {:?}", it.subscription, it.item, it.plan, it.quantity, it.valid_from, it.valid_to)
        .unwrap();
    names(&mut o, "item_keys", &s.item_keys);
    let inv = &s.invoices;
    names(&mut o, "invoices", &inv.ids);
    writeln!(
        o,
        "invoices {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        inv.customer, inv.currency, inv.status, inv.issued_at, inv.due_at, inv.paid_at, inv.total, inv.flags, inv.payments
    )
    .unwrap();
    let l = &s.lines;
    writeln!(
        o,
        "lines {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        l.invoice, l.subscription, l.item, l.plan, l.flags, l.period_start, l.period_len, l.amount, l.taxes, l.quantity, l.discounts
    )
    .unwrap();
    writeln!(o, "fx {:?}", s.fx_rates).unwrap();
    o
}

/// A deterministic permutation (xorshift-driven Fisher–Yates).
pub fn shuffle<T>(v: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// The data set with every table in source-key order (what a store returns).
pub fn sorted(d: &Dataset) -> Dataset {
    let mut d = d.clone();
    d.customers.sort_by(|a, b| (&a.id, a.valid_from).cmp(&(&b.id, b.valid_from)));
    d.plans.sort_by(|a, b| a.id.cmp(&b.id));
    d.discounts.sort_by(|a, b| a.id.cmp(&b.id));
    d.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
    d.subscription_items.sort_by(|a, b| (&a.id, a.valid_from).cmp(&(&b.id, b.valid_from)));
    d.invoices.sort_by(|a, b| a.id.cmp(&b.id));
    d.invoice_lines.sort_by(|a, b| a.id.cmp(&b.id));
    d.fx_rates.sort_by_key(|r| (r.day, r.base, r.quote));
    d.scheduled_items.sort_by(|a, b| a.id.cmp(&b.id));
    d
}

pub fn counts_of(d: &Dataset) -> Vec<(&'static str, u64)> {
    vec![
        ("customers", d.customers.len() as u64),
        ("plans", d.plans.len() as u64),
        ("discounts", d.discounts.len() as u64),
        ("subscriptions", d.subscriptions.len() as u64),
        ("subscription_items", d.subscription_items.len() as u64),
        ("invoices", d.invoices.len() as u64),
        ("invoice_lines", d.invoice_lines.len() as u64),
        ("fx_rates", d.fx_rates.len() as u64),
        ("scheduled_items", d.scheduled_items.len() as u64),
    ]
}
