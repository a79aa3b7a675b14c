#![allow(dead_code)]
use holdfast_core::fx::Rate;
use holdfast_core::money::Currency;
use holdfast_core::records::*;
use holdfast_core::time::{date_to_day, parse_date, parse_instant};
use holdfast_ingest::{Format, ImportError, Reader, SourceKind};
use std::collections::BTreeMap;
use std::path::Path;

pub fn ts(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

/// Reads `text` as file `name` (kind and format from the name) with a fresh reader.
pub fn read(name: &str, text: &str) -> Result<Vec<Record>, ImportError> {
    read_with(&mut Reader::new(), name, text.as_bytes())
}

pub fn read_with(reader: &mut Reader, name: &str, bytes: &[u8]) -> Result<Vec<Record>, ImportError> {
    let p = Path::new(name);
    let kind = SourceKind::from_stem(p.file_stem().unwrap().to_str().unwrap()).unwrap();
    let format = Format::from_extension(p.extension().unwrap().to_str().unwrap()).unwrap();
    let mut out = Vec::new();
    reader.read_stream(kind, format, p, bytes, &mut |r| {
        out.push(r);
        Ok(())
    }, &mut |_| {})?;
    Ok(out)
}

/// The error message of reading `text` as `name`.
pub fn err(name: &str, text: &str) -> String {
    match read(name, text) {
        Ok(r) => panic!("expected an error, read {r:?}"),
        Err(e) => e.to_string(),
    }
}

/// A small data set with every field of every record populated (and a few variants).
pub fn full_dataset() -> Dataset {
    let usd = Currency::USD;
    let jpy = Currency::parse("JPY").unwrap();
    let kwd = Currency::parse("KWD").unwrap();
    let mut attrs = BTreeMap::new();
    attrs.insert("country".to_string(), "DE".to_string());
    attrs.insert("size".to_string(), "51-200".to_string());
    attrs.insert("csm_owner".to_string(), "Zoë \"Z\" O'Neil, Jr.".to_string());
    let mut attrs2 = BTreeMap::new();
    attrs2.insert("channel".to_string(), "partner".to_string());
    Dataset {
        customers: vec![
            CustomerRecord {
                id: "cus_1".into(),
                valid_from: Some(ts("2024-01-01T00:00:00Z")),
                name: Some("Acme, Inc.\nHQ".into()),
                email: Some("billing@acme.test".into()),
                domain: Some("acme.test".into()),
                created_at: Some(ts("2023-12-31T23:59:59Z")),
                external_ids: vec!["legacy-17".into(), "crm:0042".into()],
                attributes: attrs,
            },
            CustomerRecord {
                id: "cus_1".into(),
                valid_from: Some(ts("2024-06-01T00:00:00Z")),
                name: Some("Acme GmbH".into()),
                email: Some("billing@acme.test".into()),
                domain: Some("acme.test".into()),
                created_at: Some(ts("2023-12-31T23:59:59Z")),
                external_ids: vec!["legacy-17".into()],
                attributes: attrs2,
            },
            CustomerRecord { id: "cus_2".into(), ..Default::default() },
        ],
        plans: vec![
            PlanRecord {
                id: "price_pro_m".into(),
                name: Some("Pro monthly".into()),
                product: Some("prod_pro".into()),
                currency: usd,
                amount: 4999,
                price_type: PriceType::Recurring,
                interval: Some(Interval::Month),
                interval_count: 3,
                usage_type: UsageType::Metered,
            },
            PlanRecord {
                id: "price_setup".into(),
                name: Some("Setup".into()),
                product: Some("prod_setup".into()),
                currency: jpy,
                amount: 150_000,
                price_type: PriceType::OneTime,
                interval: None,
                interval_count: 1,
                usage_type: UsageType::Licensed,
            },
        ],
        discounts: vec![
            DiscountRecord {
                id: "co_pct".into(),
                name: Some("Launch 12.5%".into()),
                duration: DiscountDuration::Repeating,
                duration_in_months: Some(6),
                percent_off_milli: Some(12_500),
                amount_off: None,
                currency: Some(usd),
                customer_id: Some("cus_1".into()),
                subscription_id: Some("sub_1".into()),
                start: Some(ts("2024-01-01T00:00:00Z")),
                end: Some(ts("2024-07-01T00:00:00Z")),
            },
            DiscountRecord {
                id: "co_amt".into(),
                name: Some("5 KWD off".into()),
                duration: DiscountDuration::Forever,
                duration_in_months: None,
                percent_off_milli: None,
                amount_off: Some(5_125),
                currency: Some(kwd),
                customer_id: Some("cus_2".into()),
                subscription_id: Some("sub_2".into()),
                start: Some(ts("2024-02-01T00:00:00Z")),
                end: Some(ts("2025-02-01T00:00:00Z")),
            },
        ],
        fx_rates: vec![
            FxRateRecord {
                day: date_to_day(parse_date("2024-01-02").unwrap()),
                base: Currency::EUR,
                quote: usd,
                rate: Rate::parse("1.0934").unwrap(),
            },
            FxRateRecord {
                day: date_to_day(parse_date("2024-01-02").unwrap()),
                base: usd,
                quote: jpy,
                rate: Rate::parse("141.123456789").unwrap(),
            },
        ],
        subscriptions: vec![SubscriptionRecord {
            id: "sub_1".into(),
            customer_id: "cus_1".into(),
            status: SubscriptionStatus::Canceled,
            currency: Some(usd),
            created_at: Some(ts("2024-01-01T00:00:00Z")),
            started_at: Some(ts("2024-01-01T00:00:00Z")),
            trial_start: Some(ts("2024-01-01T00:00:00Z")),
            trial_end: Some(ts("2024-01-15T00:00:00Z")),
            cancel_at_period_end: true,
            cancel_at: Some(ts("2024-12-01T00:00:00Z")),
            canceled_at: Some(ts("2024-11-02T10:11:12Z")),
            ended_at: Some(ts("2024-12-01T00:00:00Z")),
            unpaid_since: Some(ts("2024-10-01T00:00:00Z")),
            pause_start: Some(ts("2024-05-01T00:00:00Z")),
            pause_end: Some(ts("2024-06-01T00:00:00Z")),
            cancellation_reason: Some("too_expensive".into()),
        }],
        subscription_items: vec![SubscriptionItemRecord {
            id: "si_1".into(),
            subscription_id: "sub_1".into(),
            plan_id: "price_pro_m".into(),
            quantity: 7,
            valid_from: ts("2024-01-01T00:00:00Z"),
            valid_to: Some(ts("2024-12-01T00:00:00Z")),
        }],
        scheduled_items: vec![
            ScheduledItemRecord {
                id: "sub_sched_1:1719792000:0".into(),
                subscription_id: "sub_1".into(),
                plan_id: "price_pro_m".into(),
                quantity: 9,
                valid_from: ts("2024-07-01T00:00:00Z"),
                valid_to: None,
                scheduled_at: ts("2024-05-20T10:00:00Z"),
                withdrawn_at: Some(ts("2024-06-15T00:00:00Z")),
            },
            ScheduledItemRecord {
                id: "sub_sched_1:1719792000:1".into(),
                subscription_id: "sub_1".into(),
                plan_id: "price_setup".into(),
                quantity: 0,
                valid_from: ts("2024-07-01T00:00:00Z"),
                valid_to: Some(ts("2025-07-01T00:00:00Z")),
                scheduled_at: ts("2024-05-20T10:00:00Z"),
                withdrawn_at: None,
            },
        ],
        invoices: vec![
            InvoiceRecord {
                id: "in_1".into(),
                customer_id: "cus_1".into(),
                currency: usd,
                status: InvoiceStatus::Paid,
                issued_at: ts("2024-01-15T00:00:00Z"),
                due_at: Some(ts("2024-02-14T00:00:00Z")),
                paid_at: Some(ts("2024-01-16T08:00:00Z")),
                total: 30_497,
                amount_paid: 30_497,
                amount_refunded: 1_000,
            },
            InvoiceRecord {
                id: "in_2".into(),
                customer_id: "cus_2".into(),
                currency: jpy,
                status: InvoiceStatus::Open,
                issued_at: ts("2024-02-01T00:00:00Z"),
                due_at: Some(ts("2024-03-01T00:00:00Z")),
                paid_at: Some(ts("2024-03-02T00:00:00Z")),
                total: -150_000,
                amount_paid: 0,
                amount_refunded: 0,
            },
        ],
        invoice_lines: vec![
            InvoiceLineRecord {
                id: "il_1".into(),
                invoice_id: "in_1".into(),
                subscription_id: Some("sub_1".into()),
                item_id: Some("si_1".into()),
                plan_id: Some("price_pro_m".into()),
                price_type: PriceType::Recurring,
                period_start: Some(ts("2024-01-15T00:00:00Z")),
                period_end: Some(ts("2024-04-15T00:00:00Z")),
                amount: 34_993,
                discounts: vec![
                    LineDiscount { discount_id: "co_pct".into(), amount: 4_374 },
                    LineDiscount { discount_id: "co:legacy".into(), amount: 122 },
                ],
                tax_inclusive: 5_587,
                quantity: 7,
                prorated: true,
            },
            InvoiceLineRecord {
                id: "il_2".into(),
                invoice_id: "in_2".into(),
                subscription_id: Some("sub_2".into()),
                item_id: Some("si_2".into()),
                plan_id: Some("price_setup".into()),
                price_type: PriceType::OneTime,
                period_start: Some(ts("2024-02-01T00:00:00Z")),
                period_end: Some(ts("2024-02-01T00:00:00Z")),
                amount: -150_000,
                discounts: vec![LineDiscount { discount_id: "co_amt".into(), amount: 0 }],
                tax_inclusive: -12,
                quantity: 0,
                prorated: false,
            },
        ],
    }
}
