//! Mapping of Stripe objects onto neutral records, both API shapes, and the importer's errors.
use holdfast_core::records::*;
use holdfast_core::time::parse_instant;
use holdfast_stripe::{read_dir, read_dir_report, read_values, StripeError};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}
fn t(s: &str) -> i64 {
    parse_instant(s).unwrap()
}
fn read(name: &str) -> Dataset {
    read_dir(&fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}
fn err(docs: Vec<Value>) -> StripeError {
    let docs = docs.into_iter().enumerate().map(|(i, d)| (format!("page{i}.json"), d)).collect();
    read_values(docs).expect_err("expected an error")
}

#[test]
fn both_api_shapes_of_one_history_give_the_same_records() {
    let old = read("cm_old");
    let basil = read("cm_basil");
    assert_eq!(old, basil);
    assert_eq!(old.subscriptions.len(), 3);
    assert_eq!(old.invoice_lines.len(), 3);
    let gold = old.plans.iter().find(|p| p.id == "price_gold_y").unwrap();
    assert_eq!(
        (gold.name.as_deref(), gold.product.as_deref(), gold.amount, gold.interval, gold.interval_count, gold.price_type),
        (Some("Gold"), Some("prod_gold"), 50_000, Some(Interval::Year), 1, PriceType::Recurring)
    );
    let s1 = old.subscriptions.iter().find(|s| s.id == "sub_1").unwrap();
    assert_eq!(s1.status, SubscriptionStatus::Canceled);
    assert!(s1.cancel_at_period_end);
    assert_eq!(s1.canceled_at, Some(t("2024-12-20")));
    assert_eq!(s1.ended_at, Some(t("2025-01-01")));
    assert_eq!(s1.started_at, Some(t("2024-01-01")));
    assert_eq!(s1.cancellation_reason.as_deref(), Some("too_expensive"));
    let l1 = old.invoice_lines.iter().find(|l| l.id == "il_1").unwrap();
    assert_eq!(
        l1,
        &InvoiceLineRecord {
            id: "il_1".into(),
            invoice_id: "in_0001".into(),
            subscription_id: Some("sub_1".into()),
            item_id: Some("si_1".into()),
            plan_id: Some("price_gold_y".into()),
            price_type: PriceType::Recurring,
            period_start: Some(t("2024-01-01")),
            period_end: Some(t("2025-01-01")),
            amount: 200_000,
            discounts: vec![],
            tax_inclusive: 0,
            quantity: 4,
            prorated: false,
        }
    );
    let i1 = old.invoices.iter().find(|i| i.id == "in_0001").unwrap();
    assert_eq!((i1.issued_at, i1.paid_at, i1.total, i1.amount_paid, i1.status), (t("2024-01-01"), Some(t("2024-01-01") + 300), 200_000, 200_000, InvoiceStatus::Paid));
    let items: Vec<_> = old.subscription_items.iter().map(|i| (i.id.as_str(), i.plan_id.as_str(), i.quantity, i.valid_from, i.valid_to)).collect();
    assert_eq!(
        items,
        vec![
            ("si_1", "price_gold_y", 4, t("2024-01-01"), Some(t("2025-01-01"))),
            ("si_2", "price_silver_m", 2, t("2024-02-01"), Some(t("2024-02-15"))),
            ("si_3", "price_gold_m", 3, t("2025-03-01"), None),
        ]
    );
    let c = &old.customers[0];
    assert_eq!((c.id.as_str(), c.name.as_deref(), c.email.as_deref(), c.created_at), ("cus_A", Some("Acme, Inc."), Some("billing@acme.example"), Some(t("2023-12-28"))));
    let attrs: Vec<_> = c.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(attrs, vec![("country", "US"), ("currency", "USD"), ("metadata.csm_owner", "ann"), ("metadata.size", "51-200")]);
}

#[test]
fn proration_upgrade_pair() {
    let d = read("proration");
    let p: Vec<_> = d.invoice_lines.iter().filter(|l| l.invoice_id == "in_p3").map(|l| (l.plan_id.as_deref().unwrap(), l.amount, l.prorated, l.item_id.as_deref(), l.period_start, l.period_end)).collect();
    assert_eq!(
        p,
        vec![
            ("price_gold", 12_500, true, Some("si_p"), Some(t("2019-06-16")), Some(t("2019-07-01"))),
            ("price_bronze", -5_000, true, Some("si_p"), Some(t("2019-06-16")), Some(t("2019-07-01"))),
        ]
    );
    assert!(d.invoice_lines.iter().filter(|l| l.invoice_id != "in_p3").all(|l| !l.prorated));
    // Prices expanded on lines and items become plans.
    let ids: Vec<_> = d.plans.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, vec!["price_bronze", "price_gold"]);
}

#[test]
fn basil_invoice_with_parent_coupons_taxes_and_a_separate_lines_page() {
    let (d, report) = read_dir_report(&fixture("basil_invoice")).unwrap_or_else(|e| panic!("{e}"));
    let inv = &d.invoices[0];
    assert_eq!((inv.id.as_str(), inv.customer_id.as_str(), inv.total, inv.due_at, inv.paid_at), ("in_b1", "cus_B", 9_550, Some(t("2025-05-01")), Some(t("2025-04-03"))));
    assert_eq!(d.invoice_lines.len(), 2, "both lines, from the separate page");
    let l1 = &d.invoice_lines[0];
    assert_eq!((l1.id.as_str(), l1.subscription_id.as_deref(), l1.item_id.as_deref(), l1.plan_id.as_deref()), ("il_b1", Some("sub_b"), Some("si_b"), Some("price_gold_m")));
    assert_eq!(l1.discounts, vec![LineDiscount { discount_id: "di_launch".into(), amount: 2_000 }, LineDiscount { discount_id: "di_welcome".into(), amount: 500 }]);
    assert_eq!((l1.amount, l1.tax_inclusive, l1.quantity, l1.price_type), (10_000, 1_500, 2, PriceType::Recurring));
    // A line naming its price by id takes it from the price list.
    let l2 = &d.invoice_lines[1];
    assert_eq!((l2.plan_id.as_deref(), l2.tax_inclusive, l2.price_type), (Some("price_addon_legacy"), 0, PriceType::Recurring));
    let p = d.plans.iter().find(|p| p.id == "price_addon_legacy").unwrap();
    assert_eq!((p.amount, p.interval), (2_000, Some(Interval::Month)));
    // Coupons: repeating (expanded `coupon`) and once (clover `source.coupon` by id).
    let launch = d.discounts.iter().find(|x| x.id == "di_launch").unwrap();
    assert_eq!(
        launch,
        &DiscountRecord {
            id: "di_launch".into(),
            name: Some("Launch 20%".into()),
            duration: DiscountDuration::Repeating,
            duration_in_months: Some(3),
            percent_off_milli: Some(20_000),
            amount_off: None,
            currency: None,
            customer_id: Some("cus_B".into()),
            subscription_id: Some("sub_b".into()),
            start: Some(t("2025-04-01")),
            end: Some(t("2025-07-01")),
        }
    );
    let welcome = d.discounts.iter().find(|x| x.id == "di_welcome").unwrap();
    assert_eq!((welcome.duration, welcome.amount_off, welcome.currency.map(|c| c.code().to_string())), (DiscountDuration::Once, Some(500), Some("USD".into())));
    assert_eq!(d.customers[0].attributes.get("country").map(String::as_str), Some("DE"));
    assert!(report.skipped.is_empty());
    assert!(report.notes.is_empty(), "{:?}", report.notes);
}

#[test]
fn truncated_lines_without_their_page_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("basil_invoice/01_objects.json"), dir.path().join("objects.json")).unwrap();
    let e = read_dir(dir.path()).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("invoice in_b1") && s.contains("lines.has_more") && s.contains("/v1/invoices/in_b1/lines"), "{s}");
}

#[test]
fn mixed_shapes_in_one_page_are_an_error() {
    let old: Value = serde_json::from_str(&std::fs::read_to_string(fixture("cm_old/subscriptions.json")).unwrap()).unwrap();
    let basil: Value = serde_json::from_str(&std::fs::read_to_string(fixture("cm_basil/subscriptions.json")).unwrap()).unwrap();
    let mut data = vec![old["data"][0].clone()];
    let mut b1 = basil["data"][1].clone();
    b1["id"] = json!("sub_x");
    data.push(b1);
    let e = err(vec![json!({"object": "list", "data": data, "has_more": false, "url": "/v1/subscriptions"})]);
    let s = e.to_string();
    assert_eq!(e.object_id.as_deref(), Some("sub_x"));
    assert!(s.contains("one API shape per file") && s.contains("subscription sub_1"), "{s}");
    // In separate pages both shapes are fine.
    let ok = read_values(vec![("a.json".into(), old["data"][0].clone()), ("b.json".into(), basil["data"][1].clone())]);
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn an_object_whose_shape_cannot_be_told_is_an_error() {
    let e = err(vec![json!({"object": "subscription", "id": "sub_q", "customer": "cus_1", "status": "active", "items": {"data": []}})]);
    assert_eq!(e.field.as_deref(), Some("current_period_start"));
    assert!(e.to_string().contains("subscription sub_q"), "{e}");
}

#[test]
fn unknown_object_type_is_an_error() {
    let e = err(vec![json!({"object": "list", "data": [{"object": "widget", "id": "wd_1"}]})]);
    let s = e.to_string();
    assert!(s.starts_with("page0.json: widget wd_1: field `object`: \"widget\" — expected a known Stripe object type (customer, product, price, plan, subscription, invoice, line_item, coupon, discount, charge, refund, event, subscription_item, credit_note, subscription_schedule; skipped: "), "{s}");
    let e = err(vec![json!({"object": "event", "id": "evt_1", "type": "widget.created", "created": 1, "data": {"object": {"object": "widget", "id": "wd_2"}}})]);
    assert!(e.to_string().contains("event evt_1: field `data.object.object`: \"widget\""), "{e}");
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), "{\"object\": \"list\",\n \"data\": [\n  {\"id\": \"cus_1\" \"object\": \"customer\"}\n ]}\n").unwrap();
    let e = read_dir(dir.path()).unwrap_err();
    assert_eq!((e.line, e.column), (Some(3), Some(18)), "{e}");
    assert!(e.to_string().starts_with(&format!("{}:3:18: expected valid JSON", dir.path().join("a.json").display())), "{e}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.jsonl"), "{\"object\": \"customer\", \"id\": \"cus_1\"}\n\n{\"object\": \"customer\", \"id\": \"cus_2\", \"na").unwrap();
    let e = read_dir(dir.path()).unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().contains("truncated file"), "{e}");
}

#[test]
fn events_apply_in_created_order() {
    let d = read("events");
    let s = &d.subscriptions[0];
    assert_eq!((s.status, s.ended_at, s.cancellation_reason.as_deref()), (SubscriptionStatus::Canceled, Some(t("2025-03-10")), Some("switched_service")));
    let items: Vec<_> = d.subscription_items.iter().map(|i| (i.quantity, i.valid_from, i.valid_to)).collect();
    assert_eq!(items, vec![(1, t("2025-01-01"), Some(t("2025-02-15T12:00:00Z"))), (2, t("2025-02-15T12:00:00Z"), Some(t("2025-03-10")))]);
    let versions: Vec<_> = d.customers.iter().map(|c| (c.valid_from, c.attributes["metadata.size"].as_str())).collect();
    assert_eq!(versions, vec![(None, "1-10"), (Some(t("2025-02-20T09:00:00Z")), "11-50")]);
}

#[test]
fn an_older_event_never_overwrites_newer_state() {
    let sub = |status: &str, q: i64| json!({"object": "subscription", "id": "sub_1", "customer": "cus_1", "status": status, "created": 100, "current_period_start": 100, "current_period_end": 200,
        "items": {"data": [{"id": "si_1", "created": 100, "price": "price_1", "quantity": q}]}});
    let ev = |id: &str, at: i64, o: Value| json!({"object": "event", "id": id, "type": "customer.subscription.updated", "created": at, "data": {"object": o}});
    let docs = vec![("e.json".to_string(), json!([ev("evt_new", 300, sub("past_due", 5)), ev("evt_old", 200, sub("active", 3))]))];
    let (d, _) = read_values(docs).unwrap();
    assert_eq!(d.subscriptions[0].status, SubscriptionStatus::PastDue);
    assert_eq!(d.subscription_items.last().unwrap().quantity, 5);
}

#[test]
fn unpaid_since_and_deleted_customers() {
    let sub = |status: &str| json!({"object": "subscription", "id": "sub_1", "customer": "cus_1", "status": status, "created": 100, "current_period_start": 1000, "current_period_end": 2000, "items": {"data": []}});
    let ev = |id: &str, ty: &str, at: i64, o: Value| json!({"object": "event", "id": id, "type": ty, "created": at, "data": {"object": o}});
    let (d, _) = read_values(vec![("a.json".into(), json!([sub("past_due"), ev("evt_1", "customer.subscription.updated", 1500, sub("unpaid")),
        {"object": "customer", "id": "cus_1", "name": "Gone Inc", "created": 50}, ev("evt_2", "customer.deleted", 1600, json!({"object": "customer", "id": "cus_1", "deleted": true}))]))]).unwrap();
    assert_eq!(d.subscriptions[0].unpaid_since, Some(1500));
    let last = d.customers.last().unwrap();
    assert_eq!((last.name.as_deref(), last.attributes.get("deleted").map(String::as_str), last.valid_from), (Some("Gone Inc"), Some("true"), Some(1600)));
    // Without the status change: the last failed payment of its invoices, else the current period start.
    let inv = json!({"object": "invoice", "id": "in_1", "customer": "cus_1", "currency": "usd", "status": "open", "created": 1000, "total": 500, "subscription": "sub_1"});
    let (d, _) = read_values(vec![("a.json".into(), json!([sub("unpaid"), ev("evt_3", "invoice.payment_failed", 1200, inv.clone()), ev("evt_4", "invoice.payment_failed", 1400, inv)]))]).unwrap();
    assert_eq!(d.subscriptions[0].unpaid_since, Some(1400));
    let (d, _) = read_values(vec![("a.json".into(), sub("unpaid"))]).unwrap();
    assert_eq!(d.subscriptions[0].unpaid_since, Some(1000));
}

#[test]
fn sub_minor_unit_prices_are_an_error() {
    let p = |dec: &str| json!({"object": "price", "id": "price_1", "currency": "usd", "type": "recurring", "unit_amount": null, "unit_amount_decimal": dec, "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}});
    let (d, _) = read_values(vec![("a.json".into(), p("1250.000"))]).unwrap();
    assert_eq!(d.plans[0].amount, 1250);
    let e = err(vec![p("1250.5")]);
    assert_eq!(e.field.as_deref(), Some("unit_amount_decimal"));
}

#[test]
fn refunds_from_charges() {
    let inv = json!({"object": "invoice", "id": "in_1", "customer": "cus_1", "currency": "usd", "status": "paid", "created": 100, "total": 1000, "amount_paid": 1000, "subscription": null, "charge": "ch_1", "lines": {"data": [], "has_more": false}});
    let ch = json!({"object": "charge", "id": "ch_1", "amount": 1000, "amount_refunded": 400, "invoice": "in_1"});
    let (d, _) = read_values(vec![("a.json".into(), json!([inv, ch]))]).unwrap();
    assert_eq!(d.invoices[0].amount_refunded, 400);
}

#[test]
fn skipped_objects_are_counted() {
    let (_, r) = read_values(vec![("a.json".into(), json!([{"object": "dispute", "id": "dp_1"}, {"object": "payment_intent", "id": "pi_1"}]))]).unwrap();
    assert_eq!(r.skipped.get("dispute"), Some(&1));
    assert_eq!(r.skipped.get("payment_intent"), Some(&1));
}

#[test]
fn pauses_come_from_events() {
    let sub = |pc: Value| json!({"object": "subscription", "id": "sub_1", "customer": "cus_1", "status": "active", "created": 100, "current_period_start": 100, "current_period_end": 200, "pause_collection": pc, "items": {"data": []}});
    let ev = |id: &str, at: i64, o: Value| json!({"object": "event", "id": id, "type": "customer.subscription.updated", "created": at, "data": {"object": o}});
    let paused = json!({"behavior": "void", "resumes_at": 5000});
    // Paused by an event, resumes_at as the end.
    let (d, _) = read_values(vec![("a.json".into(), json!([sub(Value::Null), ev("evt_1", 1000, sub(paused.clone()))]))]).unwrap();
    assert_eq!((d.subscriptions[0].pause_start, d.subscriptions[0].pause_end), (Some(1000), Some(5000)));
    // Resumed early by a later event.
    let (d, _) = read_values(vec![("a.json".into(), json!([sub(Value::Null), ev("evt_1", 1000, sub(paused.clone())), ev("evt_2", 3000, sub(Value::Null))]))]).unwrap();
    assert_eq!((d.subscriptions[0].pause_start, d.subscriptions[0].pause_end), (Some(1000), Some(3000)));
    // Paused in the list export only: the start is unknown, nothing is made up.
    let (d, r) = read_values(vec![("a.json".into(), sub(paused))]).unwrap();
    assert_eq!((d.subscriptions[0].pause_start, d.subscriptions[0].pause_end), (None, None));
    assert!(r.notes.iter().any(|n| n.contains("sub_1") && n.contains("pause")), "{:?}", r.notes);
}

#[test]
fn truncated_subscription_items_need_their_page() {
    let price = json!({"object": "price", "id": "price_2", "currency": "usd", "type": "recurring", "unit_amount": 700, "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}});
    let sub = json!({"object": "subscription", "id": "sub_1", "customer": "cus_1", "status": "active", "created": 100, "current_period_start": 100, "current_period_end": 200,
        "items": {"object": "list", "data": [{"object": "subscription_item", "id": "si_1", "created": 100, "price": "price_1", "quantity": 1, "subscription": "sub_1"}], "has_more": true}});
    let e = err(vec![sub.clone()]);
    assert!(e.to_string().contains("subscription sub_1: field `items.has_more`"), "{e}");
    let page = json!({"object": "list", "url": "/v1/subscription_items", "has_more": false, "data": [{"object": "subscription_item", "id": "si_2", "created": 150, "price": price, "quantity": 4, "subscription": "sub_1"}]});
    let (d, _) = read_values(vec![("s.json".into(), sub), ("items.json".into(), page)]).unwrap();
    let items: Vec<_> = d.subscription_items.iter().map(|i| (i.id.as_str(), i.plan_id.as_str(), i.quantity, i.valid_from)).collect();
    assert_eq!(items, vec![("si_1", "price_1", 1, 100), ("si_2", "price_2", 4, 150)]);
    assert_eq!(d.plans.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["price_2"], "prices expanded on listed items become plans");
}

#[test]
fn basil_lines_from_invoice_items_find_their_subscription_item_by_price() {
    let item = |price: &str| json!({"object": "subscription_item", "id": "si_1", "created": 100, "price": price, "quantity": 1, "subscription": "sub_1", "current_period_start": 100, "current_period_end": 200});
    let sub = |price: &str| json!({"object": "subscription", "id": "sub_1", "customer": "cus_1", "status": "active", "created": 100, "items": {"data": [item(price)]}});
    let line = |id: &str, price: &str, amount: i64| json!({"object": "line_item", "id": id, "amount": amount, "currency": "usd", "period": {"start": 150, "end": 200}, "quantity": 1,
        "parent": {"type": "invoice_item_details", "invoice_item_details": {"invoice_item": "ii_1", "proration": true, "proration_details": {"credited_items": null}, "subscription": "sub_1"}},
        "pricing": {"type": "price_details", "price_details": {"price": price, "product": "prod_1"}}, "taxes": [], "discount_amounts": []});
    let inv = json!({"object": "invoice", "id": "in_1", "customer": "cus_1", "currency": "usd", "status": "paid", "created": 200, "total": 100,
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_1"}}, "lines": {"data": [line("il_up", "price_gold", 125), line("il_cr", "price_bronze", -25)], "has_more": false}});
    let ev = json!({"object": "event", "id": "evt_1", "type": "customer.subscription.updated", "created": 150, "data": {"object": sub("price_gold")}});
    let prices: Vec<Value> = ["price_gold", "price_bronze"].iter().map(|p| json!({"object": "price", "id": p, "currency": "usd", "type": "recurring", "unit_amount": 100, "recurring": {"interval": "month"}})).collect();
    let (d, _) = read_values(vec![("a.json".into(), json!([sub("price_bronze"), ev, inv, prices]))]).unwrap();
    let got: Vec<_> = d.invoice_lines.iter().map(|l| (l.id.as_str(), l.item_id.as_deref(), l.prorated, l.price_type)).collect();
    assert_eq!(got, vec![("il_up", Some("si_1"), true, PriceType::Recurring), ("il_cr", Some("si_1"), true, PriceType::Recurring)]);
}

#[test]
fn deleted_objects() {
    let price = json!({"object": "plan", "id": "gold", "currency": "usd", "amount": 5000, "interval": "month", "interval_count": 1, "usage_type": "licensed", "product": "prod_1"});
    let inv = json!({"object": "invoice", "id": "in_draft", "customer": "cus_1", "currency": "usd", "status": "draft", "created": 100, "total": 100, "subscription": null});
    let ev = |id: &str, ty: &str, at: i64, o: Value| json!({"object": "event", "id": id, "type": ty, "created": at, "data": {"object": o}});
    let (d, r) = read_values(vec![("a.json".into(), json!([price, inv, ev("evt_1", "invoice.deleted", 300, json!({"object": "invoice", "id": "in_draft", "deleted": true})),
        ev("evt_2", "plan.deleted", 400, json!({"object": "plan", "id": "gold", "deleted": true})), {"object": "product", "id": "prod_9", "deleted": true}]))]).unwrap();
    assert!(d.invoices.is_empty());
    assert_eq!(d.plans.len(), 1, "a deleted plan keeps its last state: old lines still refer to it");
    assert!(r.notes.iter().any(|n| n.contains("in_draft")) && r.notes.iter().any(|n| n.contains("prod_9")), "{:?}", r.notes);
}

#[test]
fn discount_events_latest_state_and_deletion_end() {
    let coupon = json!({"object": "coupon", "id": "co_1", "duration": "forever", "percent_off": 12.5});
    let d = |name: &str| json!({"object": "discount", "id": "di_1", "coupon": dict_name(&coupon, name), "customer": "cus_1", "start": 100, "end": null});
    fn dict_name(c: &Value, n: &str) -> Value {
        let mut c = c.clone();
        c["name"] = json!(n);
        c
    }
    let ev = |id: &str, ty: &str, at: i64, o: Value| json!({"object": "event", "id": id, "type": ty, "created": at, "data": {"object": o}});
    let (ds, _) = read_values(vec![("a.json".into(), json!([ev("evt_2", "customer.discount.deleted", 900, d("new")), ev("evt_1", "customer.discount.created", 100, d("old"))]))]).unwrap();
    let r = &ds.discounts[0];
    assert_eq!((r.name.as_deref(), r.percent_off_milli, r.start, r.end), (Some("new"), Some(12_500), Some(100), Some(900)));
}

#[test]
fn a_line_whose_price_is_missing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["01_objects.json", "02_in_b1_lines.json"] {
        std::fs::copy(fixture("basil_invoice").join(f), dir.path().join(f)).unwrap();
    }
    let e = read_dir(dir.path()).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("pricing.price_details.price"));
    let s = e.to_string();
    assert!(s.contains("02_in_b1_lines.json") && s.contains("line_item il_b2") && s.contains("\"price_addon_legacy\"") && s.contains("GET /v1/prices"), "{s}");
}
