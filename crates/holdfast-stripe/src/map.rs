//! From Stripe objects to neutral records.
use crate::error::show;
use crate::{ts, Origin, Raw, Report, StripeError};
use holdfast_core::records::*;
use holdfast_core::time::Ts;
use holdfast_core::Currency;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

type R<T> = Result<T, StripeError>;

/// Mapped object types.
const KNOWN: &[&str] = &["customer", "product", "price", "plan", "subscription", "invoice", "line_item", "coupon", "discount", "charge", "refund", "event", "subscription_item", "credit_note", "subscription_schedule"];
/// Known object types that are read but not mapped: billing facts the records cannot hold (credit notes,
/// schedules, disputes, …) and Stripe objects without billing facts that a full events export contains.
const SKIPPED: &[&str] = &[
    "balance_transaction",
    "payment_intent",
    "invoiceitem",
    "invoice_payment",
    "dispute",
    "promotion_code",
    "tax_rate",
    "tax_id",
    "customer_balance_transaction",
    "customer_cash_balance_transaction",
    "cash_balance",
    "payment_method",
    "setup_intent",
    "mandate",
    "source",
    "card",
    "bank_account",
    "checkout.session",
    "billing_portal.session",
    "quote",
    "test_helpers.test_clock",
];

/// Whether events about objects of type `t` carry facts the mapping reads (the live sync stores only those).
pub(crate) fn reads_events_about(t: &str) -> bool {
    KNOWN.contains(&t) && !matches!(t, "event" | "line_item" | "subscription_item")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Old,
    Basil,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Old => "the pre-2025-03-31 API shape",
            Shape::Basil => "the 2025-03-31.basil (or later) API shape",
        }
    }
}

/// Error context: the top-level object being mapped and where it came from.
#[derive(Clone, Copy)]
struct Cx<'a> {
    files: &'a [PathBuf],
    origin: Origin,
    obj: &'a Value,
}

fn nn(v: Option<&Value>) -> Option<&Value> {
    v.filter(|x| !x.is_null())
}

impl<'a> Cx<'a> {
    fn err(&self, field: &str, value: Option<&Value>, expected: impl Into<String>) -> StripeError {
        StripeError {
            file: self.files[self.origin.file].clone(),
            line: self.origin.line,
            column: None,
            object_type: self.obj.get("object").and_then(Value::as_str).map(str::to_string),
            object_id: self.obj.get("id").and_then(Value::as_str).map(str::to_string),
            field: (!field.is_empty()).then(|| field.to_string()),
            value: value.map(show),
            expected: expected.into(),
        }
    }
    fn opt_i64(&self, v: &Value, p: &str, k: &str) -> R<Option<i64>> {
        match nn(v.get(k)) {
            None => Ok(None),
            Some(x) => x.as_i64().map(Some).ok_or_else(|| self.err(&format!("{p}{k}"), Some(x), "a whole number (Stripe amounts are integer minor units)")),
        }
    }
    fn req_i64(&self, v: &Value, p: &str, k: &str) -> R<i64> {
        self.opt_i64(v, p, k)?.ok_or_else(|| self.err(&format!("{p}{k}"), None, "a whole number (required)"))
    }
    fn opt_ts(&self, v: &Value, p: &str, k: &str) -> R<Option<Ts>> {
        match nn(v.get(k)) {
            None => Ok(None),
            Some(x) => ts(x).map(Some).ok_or_else(|| self.err(&format!("{p}{k}"), Some(x), "a Unix timestamp in seconds")),
        }
    }
    fn req_ts(&self, v: &Value, p: &str, k: &str) -> R<Ts> {
        self.opt_ts(v, p, k)?.ok_or_else(|| self.err(&format!("{p}{k}"), None, "a Unix timestamp in seconds (required)"))
    }
    fn opt_str(&self, v: &'a Value, p: &str, k: &str) -> R<Option<&'a str>> {
        match nn(v.get(k)) {
            None => Ok(None),
            Some(x) => x.as_str().map(Some).ok_or_else(|| self.err(&format!("{p}{k}"), Some(x), "a string")),
        }
    }
    fn req_str(&self, v: &'a Value, p: &str, k: &str) -> R<&'a str> {
        self.opt_str(v, p, k)?.ok_or_else(|| self.err(&format!("{p}{k}"), None, "a string (required)"))
    }
    fn opt_bool(&self, v: &Value, p: &str, k: &str) -> R<Option<bool>> {
        match nn(v.get(k)) {
            None => Ok(None),
            Some(x) => x.as_bool().map(Some).ok_or_else(|| self.err(&format!("{p}{k}"), Some(x), "true or false")),
        }
    }
    /// A reference: an id string or an expanded object with an `id`.
    fn opt_ref(&self, v: &Value, p: &str, k: &str) -> R<Option<String>> {
        match nn(v.get(k)) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(x @ Value::Object(m)) => match m.get("id").and_then(Value::as_str) {
                Some(s) => Ok(Some(s.to_string())),
                None => Err(self.err(&format!("{p}{k}"), Some(x), "an id or an expanded object with an `id`")),
            },
            Some(x) => Err(self.err(&format!("{p}{k}"), Some(x), "an id or an expanded object with an `id`")),
        }
    }
    fn currency(&self, v: &Value, p: &str, k: &str) -> R<Option<Currency>> {
        match self.opt_str(v, p, k)? {
            None => Ok(None),
            Some(s) => Currency::parse(s).map(Some).map_err(|e| self.err(&format!("{p}{k}"), v.get(k), format!("an ISO-4217 currency code ({e})"))),
        }
    }
    fn req_currency(&self, v: &Value, p: &str, k: &str) -> R<Currency> {
        self.currency(v, p, k)?.ok_or_else(|| self.err(&format!("{p}{k}"), None, "a currency code (required)"))
    }
    fn parse<T: std::str::FromStr<Err = String>>(&self, v: &Value, p: &str, k: &str) -> R<Option<T>> {
        match self.opt_str(v, p, k)? {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|e: String| self.err(&format!("{p}{k}"), v.get(k), e.split(" is not ").nth(1).unwrap_or(&e).to_string())),
        }
    }
    fn arr(&self, v: &'a Value, p: &str, k: &str) -> R<&'a [Value]> {
        match nn(v.get(k)) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(x) => Err(self.err(&format!("{p}{k}"), Some(x), "an array")),
        }
    }
}

fn ty(v: &Value) -> Option<&str> {
    v.get("object").and_then(Value::as_str)
}
fn id(v: &Value) -> Option<&str> {
    v.get("id").and_then(Value::as_str)
}
fn has(v: &Value, k: &str) -> bool {
    v.get(k).is_some()
}

/// The API shape of a line item, from the fields present.
fn line_shape(cx: &Cx, l: &Value, p: &str) -> R<Option<Shape>> {
    let basil = ["parent", "pricing", "taxes"].iter().any(|k| has(l, k));
    let old = ["proration", "subscription_item", "tax_amounts", "price", "plan"].iter().any(|k| has(l, k));
    match (old, basil) {
        (true, true) => Err(cx.err(p.trim_end_matches('.'), None, "one API shape per line item (it has both old fields such as `proration`/`price`/`tax_amounts` and basil fields `parent`/`pricing`/`taxes`)")),
        (true, false) => Ok(Some(Shape::Old)),
        (false, true) => Ok(Some(Shape::Basil)),
        (false, false) => Ok(None),
    }
}

/// The API shape of an object whose shape matters (subscription, invoice, line item); `None` for others.
fn shape_of(cx: &Cx, v: &Value) -> R<Option<Shape>> {
    if v.get("deleted").and_then(Value::as_bool) == Some(true) {
        return Ok(None); // a deletion stub
    }
    match ty(v) {
        Some("subscription") => {
            let old = has(v, "current_period_start");
            let items = v.get("items").and_then(|i| i.get("data")).and_then(Value::as_array);
            let basil = items.is_some_and(|a| a.iter().any(|i| has(i, "current_period_start")));
            match (old, basil) {
                (true, false) => Ok(Some(Shape::Old)),
                (false, true) => Ok(Some(Shape::Basil)),
                (true, true) => Err(cx.err("current_period_start", None, "the billing period either on the subscription (before 2025-03-31) or on its items (basil), not both")),
                (false, false) => Err(cx.err("current_period_start", None, "a subscription whose API shape can be told: `current_period_start` on the subscription (before 2025-03-31) or on `items.data[]` (basil)")),
            }
        }
        Some("invoice") => {
            let mut shapes = BTreeSet::new();
            let (old_h, basil_h) = (has(v, "subscription"), has(v, "parent"));
            if old_h && basil_h {
                return Err(cx.err("parent", None, "one API shape: the invoice has both `subscription` (before 2025-03-31) and `parent` (basil)"));
            }
            if old_h {
                shapes.insert(0u8);
            }
            if basil_h {
                shapes.insert(1);
            }
            if let Some(a) = v.get("lines").and_then(|l| l.get("data")).and_then(Value::as_array) {
                for (i, l) in a.iter().enumerate() {
                    match line_shape(cx, l, &format!("lines.data[{i}]."))? {
                        Some(Shape::Old) => shapes.insert(0),
                        Some(Shape::Basil) => shapes.insert(1),
                        None => false,
                    };
                }
            }
            match (shapes.contains(&0), shapes.contains(&1)) {
                (true, false) => Ok(Some(Shape::Old)),
                (false, true) => Ok(Some(Shape::Basil)),
                (true, true) => Err(cx.err("lines", None, "the invoice and its lines in one API shape (found both pre-2025-03-31 and basil fields)")),
                (false, false) => Err(cx.err("parent", None, "an invoice whose API shape can be told: `subscription` (before 2025-03-31) or `parent` (basil)")),
            }
        }
        Some("line_item") => match line_shape(cx, v, "")? {
            Some(s) => Ok(Some(s)),
            None => Err(cx.err("parent", None, "a line item whose API shape can be told: `price`/`proration` (before 2025-03-31) or `parent`/`pricing` (basil)")),
        },
        _ => Ok(None),
    }
}

/// One state of an object: from a list (no time) or from an event (`created`).
#[derive(Clone)]
struct State {
    at: Option<Ts>,
    origin: Origin,
    v: Value,
    event: Option<String>,
}

pub(crate) fn map(files: &[PathBuf], raws: Vec<Raw>) -> R<(Dataset, Report)> {
    let mut report = Report::default();
    let mut file_shape: Vec<Option<(Shape, String)>> = vec![None; files.len()];
    let mut check_shape = |cx: &Cx, v: &Value| -> R<()> {
        if let Some(s) = shape_of(cx, v)? {
            let what = format!("{} {}", ty(v).unwrap_or("?"), id(v).unwrap_or("?"));
            match &file_shape[cx.origin.file] {
                None => file_shape[cx.origin.file] = Some((s, what)),
                Some((s0, w0)) if *s0 != s => {
                    return Err(cx.err("", None, format!("one API shape per file: this object has {}, but {w0} in the same file has {} (export each API version separately)", s.name(), s0.name())))
                }
                _ => {}
            }
        }
        Ok(())
    };
    // 1. Classify.
    let mut base: BTreeMap<(String, String), State> = BTreeMap::new();
    let mut events: Vec<(Ts, String, usize, State)> = Vec::new();
    let mut extra_lines: BTreeMap<String, Vec<(Origin, Value)>> = BTreeMap::new();
    let mut extra_items: BTreeMap<String, Vec<(Origin, Value)>> = BTreeMap::new();
    for (seq, raw) in raws.iter().enumerate() {
        let cx = Cx { files, origin: raw.origin, obj: &raw.v };
        if !raw.v.is_object() {
            return Err(cx.err("", Some(&raw.v), "a JSON object (a Stripe list page, object or event)"));
        }
        let t = match ty(&raw.v) {
            Some(t) => t,
            None => return Err(cx.err("object", raw.v.get("object"), "an `object` field naming the Stripe object type")),
        };
        *report.objects.entry(t.to_string()).or_default() += 1;
        if let Some(inv) = &raw.lines_of {
            if t != "line_item" {
                return Err(cx.err("object", raw.v.get("object"), format!("`line_item` (this page lists the lines of invoice {inv})")));
            }
            check_shape(&cx, &raw.v)?;
            extra_lines.entry(inv.clone()).or_default().push((raw.origin, raw.v.clone()));
            continue;
        }
        match t {
            "event" => {
                let et = cx.req_str(&raw.v, "", "type")?.to_string();
                let created = cx.req_ts(&raw.v, "", "created")?;
                let obj = raw.v.get("data").and_then(|d| d.get("object")).filter(|o| o.is_object());
                let Some(obj) = obj else {
                    return Err(cx.err("data.object", None, "the event's object"));
                };
                let it = ty(obj).unwrap_or("");
                if SKIPPED.contains(&it) {
                    *report.skipped.entry(format!("event:{et}")).or_default() += 1;
                    continue;
                }
                if !KNOWN.contains(&it) || matches!(it, "event" | "line_item" | "subscription_item") {
                    return Err(cx.err("data.object.object", obj.get("object"), format!("an event about a known object type ({}; skipped: {})", known_list(), SKIPPED.join(", "))));
                }
                if id(obj).is_none() {
                    return Err(cx.err("data.object.id", None, "the object's id"));
                }
                let icx = Cx { files, origin: raw.origin, obj };
                check_shape(&icx, obj)?;
                let eid = id(&raw.v).unwrap_or("").to_string();
                events.push((created, eid, seq, State { at: Some(created), origin: raw.origin, v: obj.clone(), event: Some(et) }));
            }
            "subscription_item" => match cx.opt_ref(&raw.v, "", "subscription")? {
                Some(sub) => extra_items.entry(sub).or_default().push((raw.origin, raw.v.clone())),
                None => return Err(cx.err("subscription", None, "the subscription of a standalone subscription item")),
            },
            "line_item" => {
                check_shape(&cx, &raw.v)?;
                match cx.opt_ref(&raw.v, "", "invoice")? {
                    Some(inv) => extra_lines.entry(inv).or_default().push((raw.origin, raw.v.clone())),
                    None => return Err(cx.err("invoice", None, "the invoice of a standalone line item (an `invoice` field, or a list page with url /v1/invoices/{id}/lines)")),
                }
            }
            t if SKIPPED.contains(&t) => {
                *report.skipped.entry(t.to_string()).or_default() += 1;
            }
            t if KNOWN.contains(&t) => {
                let Some(oid) = id(&raw.v) else {
                    return Err(cx.err("id", None, "the object's id"));
                };
                check_shape(&cx, &raw.v)?;
                let key = (t.to_string(), oid.to_string());
                if let Some(prev) = base.get(&key) {
                    if prev.v != raw.v {
                        let pf = files[prev.origin.file].display();
                        return Err(cx.err("id", raw.v.get("id"), format!("one state per object outside events: {t} {oid} appears again with different content ({pf}); give later states as events so their order is known")));
                    }
                    continue;
                }
                base.insert(key, State { at: None, origin: raw.origin, v: raw.v.clone(), event: None });
            }
            _ => return Err(cx.err("object", raw.v.get("object"), format!("a known Stripe object type ({}; skipped: {})", known_list(), SKIPPED.join(", ")))),
        }
    }
    // 2. Histories: the list state first, then events in `created` order (ties: event id, then input order).
    events.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    let mut hist: BTreeMap<(String, String), Vec<State>> = BTreeMap::new();
    for (k, s) in base {
        hist.entry(k).or_default().push(s);
    }
    for (_, _, _, s) in events {
        let k = (ty(&s.v).unwrap_or("").to_string(), id(&s.v).unwrap_or("").to_string());
        hist.entry(k).or_default().push(s);
    }
    // Deleted objects (`{"id", "object", "deleted": true}`): customers keep their record (flagged below); a
    // deleted invoice (a draft) is dropped; other objects keep their last state before deletion.
    let is_deleted = |s: &State| s.v.get("deleted").and_then(Value::as_bool) == Some(true);
    hist.retain(|k, h| {
        if k.0 == "customer" || !h.iter().any(is_deleted) {
            return true;
        }
        if k.0 == "invoice" {
            report.notes.push(format!("invoice {}: deleted, skipped", k.1));
            return false;
        }
        h.retain(|s| !is_deleted(s));
        if h.is_empty() {
            report.notes.push(format!("{} {}: deleted and no earlier state, skipped", k.0, k.1));
        }
        !h.is_empty()
    });
    let of = |t: &'static str| hist.iter().filter(move |(k, _)| k.0 == t).map(|(_, h)| h);

    let mut ds = Dataset::default();
    // 3. Products, prices, coupons, discounts.
    let mut product_names: BTreeMap<String, String> = BTreeMap::new();
    for h in of("product") {
        let s = h.last().unwrap();
        if let (Some(i), Some(n)) = (id(&s.v), s.v.get("name").and_then(Value::as_str)) {
            product_names.insert(i.to_string(), n.to_string());
        }
    }
    let mut plans: BTreeMap<String, (PlanRecord, Option<String>)> = BTreeMap::new();
    for t in ["price", "plan"] {
        for h in of(t) {
            let s = h.last().unwrap();
            let cx = Cx { files, origin: s.origin, obj: &s.v };
            let (p, nick) = plan(&cx, &s.v, "", &mut product_names, &mut report)?;
            plans.entry(p.id.clone()).or_insert((p, nick));
        }
    }
    let mut coupons: BTreeMap<String, Value> = BTreeMap::new();
    for h in of("coupon") {
        let s = h.last().unwrap();
        coupons.insert(id(&s.v).unwrap_or("").to_string(), s.v.clone());
    }
    let mut discounts: BTreeMap<String, (Origin, Value, Option<Ts>)> = BTreeMap::new();
    let mut add_discount = |origin: Origin, d: &Value, ended: Option<Ts>| {
        if let (Some(i), true) = (id(d), d.is_object()) {
            discounts.entry(i.to_string()).or_insert((origin, d.clone(), ended));
        }
    };
    for h in of("discount") {
        // The latest state; a `*.discount.deleted` event ends the discount then (if it has no `end`).
        let ended = h.iter().filter(|s| s.event.as_deref().is_some_and(|e| e.ends_with("discount.deleted"))).filter_map(|s| s.at).max();
        let s = h.last().unwrap();
        add_discount(s.origin, &s.v, ended);
    }
    // Embedded discounts and prices (subscriptions, invoices, customers).
    for t in ["subscription", "invoice", "customer"] {
        for h in of(t) {
            let s = h.last().unwrap();
            let mut ds_: Vec<&Value> = Vec::new();
            if let Some(d) = nn(s.v.get("discount")) {
                ds_.push(d);
            }
            collect_discounts(&s.v, &mut ds_);
            if let Some(a) = s.v.get("lines").and_then(|l| l.get("data")).and_then(Value::as_array) {
                for l in a {
                    collect_discounts(l, &mut ds_);
                }
            }
            for d in ds_ {
                add_discount(s.origin, d, None);
            }
            // Expanded prices on items and lines.
            let cx = Cx { files, origin: s.origin, obj: &s.v };
            for (list, what) in [("items", "items.data"), ("lines", "lines.data")] {
                if let Some(a) = s.v.get(list).and_then(|l| l.get("data")).and_then(Value::as_array) {
                    for (i, x) in a.iter().enumerate() {
                        for k in ["price", "plan"] {
                            if let Some(p @ Value::Object(_)) = nn(x.get(k)) {
                                let (p, nick) = plan(&cx, p, &format!("{what}[{i}].{k}."), &mut product_names, &mut report)?;
                                plans.entry(p.id.clone()).or_insert((p, nick));
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
    // Basil lines with an expanded `pricing.price_details.price`.
    for h in of("invoice") {
        let s = h.last().unwrap();
        let cx = Cx { files, origin: s.origin, obj: &s.v };
        if let Some(a) = s.v.get("lines").and_then(|l| l.get("data")).and_then(Value::as_array) {
            for (i, x) in a.iter().enumerate() {
                if let Some(p @ Value::Object(_)) = x.get("pricing").and_then(|p| p.get("price_details")).and_then(|d| nn(d.get("price"))) {
                    let (p, nick) = plan(&cx, p, &format!("lines.data[{i}].pricing.price_details.price."), &mut product_names, &mut report)?;
                    plans.entry(p.id.clone()).or_insert((p, nick));
                }
            }
        }
    }
    for ls in extra_lines.values().chain(extra_items.values()) {
        for (o, l) in ls {
            if let Some(p @ Value::Object(_)) = l.get("pricing").and_then(|p| p.get("price_details")).and_then(|d| nn(d.get("price"))) {
                let cx = Cx { files, origin: *o, obj: l };
                let (p, nick) = plan(&cx, p, "pricing.price_details.price.", &mut product_names, &mut report)?;
                plans.entry(p.id.clone()).or_insert((p, nick));
            }
            let mut v = Vec::new();
            collect_discounts(l, &mut v);
            for d in v {
                add_discount(*o, d, None);
            }
            let cx = Cx { files, origin: *o, obj: l };
            for k in ["price", "plan"] {
                if let Some(p @ Value::Object(_)) = nn(l.get(k)) {
                    let (p, nick) = plan(&cx, p, &format!("{k}."), &mut product_names, &mut report)?;
                    plans.entry(p.id.clone()).or_insert((p, nick));
                    break;
                }
            }
        }
    }
    for (_, (mut p, nick)) in plans {
        p.name = p.product.as_ref().and_then(|pr| product_names.get(pr).cloned()).or(nick);
        ds.plans.push(p);
    }
    for (did, (origin, d, ended)) in &discounts {
        let cx = Cx { files, origin: *origin, obj: d };
        match discount(&cx, d, &coupons)? {
            Some(mut r) => {
                if r.end.is_none() {
                    r.end = *ended;
                }
                ds.discounts.push(r)
            }
            None => report.notes.push(format!("discount {did}: no coupon object found; lines referring to it keep their discount amounts (the engine treats its duration as unknown)")),
        }
    }
    // 4. Customers (versions from events).
    for h in of("customer") {
        let mut prev: Option<CustomerRecord> = None;
        let mut merged: Option<Value> = None;
        for s in h {
            let mut v = s.v.clone();
            let deleted = v.get("deleted").and_then(Value::as_bool).unwrap_or(false) || s.event.as_deref() == Some("customer.deleted");
            if deleted {
                if let (Some(Value::Object(m)), Some(Value::Object(old))) = (Some(&mut v), &merged) {
                    for (k, x) in old {
                        if !m.contains_key(k) {
                            m.insert(k.clone(), x.clone());
                        }
                    }
                }
            }
            let cx = Cx { files, origin: s.origin, obj: &s.v };
            let mut c = customer(&cx, &v)?;
            if deleted {
                c.attributes.insert("deleted".into(), "true".into());
            }
            merged = Some(v);
            c.valid_from = if prev.is_some() { s.at } else { None };
            let same = prev.as_ref().is_some_and(|p| CustomerRecord { valid_from: p.valid_from, ..c.clone() } == *p);
            if !same {
                if let Some(p) = prev.take() {
                    ds.customers.push(p);
                }
                prev = Some(c);
            }
        }
        ds.customers.extend(prev);
    }
    // 5. Subscriptions and their items.
    // The last failed payment of each subscription's invoices (from `invoice.payment_failed` events).
    let mut failed: BTreeMap<String, Ts> = BTreeMap::new();
    for h in of("invoice") {
        for s in h.iter().filter(|s| s.event.as_deref() == Some("invoice.payment_failed")) {
            let sub = s.v.get("subscription").or_else(|| s.v.get("parent").and_then(|p| p.get("subscription_details")).and_then(|d| d.get("subscription")));
            if let (Some(sub), Some(at)) = (sub.and_then(|x| x.as_str().or_else(|| id(x))), s.at) {
                let e = failed.entry(sub.to_string()).or_insert(at);
                *e = (*e).max(at);
            }
        }
    }
    for (sub, its) in &extra_items {
        if !hist.contains_key(&("subscription".to_string(), sub.clone())) {
            let (o, v) = &its[0];
            let cx = Cx { files, origin: *o, obj: v };
            return Err(cx.err("subscription", Some(&Value::String(sub.clone())), "items of a subscription present in the input (the subscription object is missing)"));
        }
    }
    for h in of("subscription") {
        let last = h.last().unwrap();
        let cx = Cx { files, origin: last.origin, obj: &last.v };
        let sid = id(&last.v).unwrap_or("");
        let items = nn(last.v.get("items"));
        let more = match items {
            Some(i) => cx.opt_bool(i, "items.", "has_more")?.unwrap_or(false),
            None => false,
        };
        match extra_items.get(sid) {
            // Complete the latest state with the separately listed items.
            Some(its) => {
                let mut h = h.clone();
                let v = &mut h.last_mut().unwrap().v;
                let mut data: Vec<Value> = v.get("items").and_then(|i| i.get("data")).and_then(Value::as_array).cloned().unwrap_or_default();
                for (_, it) in its {
                    match data.iter_mut().find(|x| id(x).is_some() && id(x) == id(it)) {
                        Some(x) => *x = it.clone(),
                        None => data.push(it.clone()),
                    }
                }
                v["items"] = serde_json::json!({"object": "list", "data": data, "has_more": false});
                subscription(files, &h, &failed, &mut ds, &mut report)?;
            }
            None if more => {
                return Err(cx.err("items.has_more", items.and_then(|i| i.get("has_more")), format!("all items of the subscription: its embedded items are truncated; add the page(s) of GET /v1/subscription_items?subscription={sid}")));
            }
            None => subscription(files, h, &failed, &mut ds, &mut report)?,
        }
    }
    // 6. Refunds per invoice.
    let mut charge_invoice: BTreeMap<String, String> = BTreeMap::new();
    let mut charge_refunded: BTreeMap<String, i64> = BTreeMap::new();
    for h in of("invoice") {
        let s = h.last().unwrap();
        let cx = Cx { files, origin: s.origin, obj: &s.v };
        let inv = id(&s.v).unwrap_or("").to_string();
        if let Some(c) = cx.opt_ref(&s.v, "", "charge")? {
            charge_invoice.insert(c, inv.clone());
        }
        if let Some(c @ Value::Object(_)) = nn(s.v.get("charge")) {
            let ccx = Cx { files, origin: s.origin, obj: c };
            charge_refunded.insert(id(c).unwrap_or("").to_string(), ccx.opt_i64(c, "", "amount_refunded")?.unwrap_or(0));
        }
        if let Some(a) = s.v.get("payments").and_then(|p| p.get("data")).and_then(Value::as_array) {
            for (i, p) in a.iter().enumerate() {
                if let Some(pay) = p.get("payment") {
                    if let Some(c) = cx.opt_ref(pay, &format!("payments.data[{i}].payment."), "charge")? {
                        charge_invoice.insert(c, inv.clone());
                    }
                }
            }
        }
    }
    for h in of("charge") {
        let s = h.last().unwrap();
        let cx = Cx { files, origin: s.origin, obj: &s.v };
        let cid = id(&s.v).unwrap_or("").to_string();
        if let Some(inv) = cx.opt_ref(&s.v, "", "invoice")? {
            charge_invoice.insert(cid.clone(), inv);
        }
        charge_refunded.insert(cid, cx.opt_i64(&s.v, "", "amount_refunded")?.unwrap_or(0));
    }
    let mut refunded: BTreeMap<String, i64> = BTreeMap::new();
    for (c, a) in &charge_refunded {
        match charge_invoice.get(c) {
            Some(inv) => {
                let e = refunded.entry(inv.clone()).or_default();
                *e = e.saturating_add(*a);
            }
            None if *a != 0 => report.notes.push(format!("charge {c}: refunded {a} but its invoice is unknown")),
            None => {}
        }
    }
    for h in of("refund") {
        let s = h.last().unwrap();
        let cx = Cx { files, origin: s.origin, obj: &s.v };
        let rid = id(&s.v).unwrap_or("");
        let Some(c) = cx.opt_ref(&s.v, "", "charge")? else {
            report.notes.push(format!("refund {rid}: no charge, not attributed to an invoice"));
            continue;
        };
        if charge_refunded.contains_key(&c) || cx.opt_str(&s.v, "", "status")? != Some("succeeded") {
            continue; // the charge's amount_refunded already counts it, or it did not succeed
        }
        match charge_invoice.get(&c) {
            Some(inv) => {
                let a = cx.req_i64(&s.v, "", "amount")?;
                let e = refunded.entry(inv.clone()).or_default();
                *e = e.saturating_add(a);
            }
            None => report.notes.push(format!("refund {rid}: charge {c} is not linked to a known invoice")),
        }
    }
    // 7. Invoices and lines.
    let mut line_owner: BTreeMap<String, String> = BTreeMap::new();
    let plan_types: BTreeMap<String, PriceType> = ds.plans.iter().map(|p| (p.id.clone(), p.price_type)).collect();
    // (subscription, price) → its items, for basil lines from invoice items (they do not name the item).
    let mut sub_price_items: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for it in &ds.subscription_items {
        sub_price_items.entry((it.subscription_id.clone(), it.plan_id.clone())).or_default().insert(it.id.clone());
    }
    let invoice_ids: BTreeSet<String> = of("invoice").filter_map(|h| id(&h.last().unwrap().v).map(str::to_string)).collect();
    for (inv, ls) in &extra_lines {
        if !invoice_ids.contains(inv) {
            let (o, l) = &ls[0];
            let cx = Cx { files, origin: *o, obj: l };
            return Err(cx.err("invoice", Some(&Value::String(inv.clone())), "lines of an invoice present in the input (the invoice object is missing)"));
        }
    }
    for h in of("invoice") {
        let s = h.last().unwrap();
        let cx = Cx { files, origin: s.origin, obj: &s.v };
        let inv = invoice(&cx, &s.v, refunded.get(id(&s.v).unwrap_or("")).copied().unwrap_or(0))?;
        let shape = shape_of(&cx, &s.v)?.unwrap_or(Shape::Old);
        let inv_sub = match shape {
            Shape::Old => cx.opt_ref(&s.v, "", "subscription")?,
            Shape::Basil => match nn(s.v.get("parent")).and_then(|p| nn(p.get("subscription_details"))) {
                Some(sd) => cx.opt_ref(sd, "parent.subscription_details.", "subscription")?,
                None => None,
            },
        };
        let mut lines: BTreeMap<String, (Cx, String, &Value)> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let embedded = nn(s.v.get("lines"));
        let data = match embedded {
            Some(l) => cx.arr(l, "lines.", "data")?,
            None => &[],
        };
        for (i, l) in data.iter().enumerate() {
            let p = format!("lines.data[{i}].");
            let lid = cx.req_str(l, &p, "id")?.to_string();
            if !lines.contains_key(&lid) {
                order.push(lid.clone());
            }
            lines.insert(lid, (cx, p, l));
        }
        let extra = extra_lines.get(&inv.id);
        if let Some(ls) = extra {
            for (o, l) in ls {
                let lcx = Cx { files, origin: *o, obj: l };
                let lid = lcx.req_str(l, "", "id")?.to_string();
                if let Some(sh) = line_shape(&lcx, l, "")? {
                    if sh != shape {
                        return Err(lcx.err("", None, format!("the API shape of its invoice {} ({}), found {}", inv.id, shape.name(), sh.name())));
                    }
                }
                if !lines.contains_key(&lid) {
                    order.push(lid.clone());
                }
                lines.insert(lid, (lcx, String::new(), l));
            }
        }
        if let Some(l) = embedded {
            let more = cx.opt_bool(l, "lines.", "has_more")?.unwrap_or(false);
            if more && extra.is_none() {
                return Err(cx.err("lines.has_more", l.get("has_more"), format!("all lines of the invoice: its embedded lines are truncated; add the page(s) of GET /v1/invoices/{}/lines", inv.id)));
            }
            if let Some(n) = cx.opt_i64(l, "lines.", "total_count")? {
                if (lines.len() as i64) < n {
                    return Err(cx.err("lines.total_count", l.get("total_count"), format!("{n} lines of the invoice, found {} (add the missing pages of GET /v1/invoices/{}/lines)", lines.len(), inv.id)));
                }
            }
        }
        for lid in order {
            let (lcx, p, l) = &lines[&lid];
            let mut rec = line(lcx, l, p, &inv, shape, inv_sub.as_deref(), &plan_types, &mut report)?;
            if rec.item_id.is_none() && shape == Shape::Basil && rec.price_type == PriceType::Recurring {
                if let (Some(sub), Some(plan)) = (&rec.subscription_id, &rec.plan_id) {
                    if let Some(items) = sub_price_items.get(&(sub.clone(), plan.clone())).filter(|s| s.len() == 1) {
                        rec.item_id = items.iter().next().cloned();
                    }
                }
            }
            if let Some(other) = line_owner.insert(rec.id.clone(), inv.id.clone()) {
                if other != inv.id {
                    return Err(lcx.err(&format!("{p}id"), l.get("id"), format!("line ids unique across invoices (also on invoice {other})")));
                }
            }
            ds.invoice_lines.push(rec);
        }
        ds.invoices.push(inv);
    }
    credit_notes(files, &of("credit_note").collect::<Vec<_>>(), &mut ds, &mut report)?;
    schedules(files, &of("subscription_schedule").collect::<Vec<_>>(), &mut ds, &mut report)?;
    let known: BTreeSet<&str> = ds.discounts.iter().map(|d| d.id.as_str()).collect();
    let mut missing = BTreeSet::new();
    for l in &ds.invoice_lines {
        for d in &l.discounts {
            if !known.contains(d.discount_id.as_str()) && missing.insert(d.discount_id.clone()) {
                report.notes.push(format!("discount {} (line {}): no discount object with its coupon in the input; its duration is unknown (expand `discounts` or add the discount objects)", d.discount_id, l.id));
            }
        }
    }
    // A price expanded on every item and line would repeat its note once per copy.
    let mut seen = BTreeSet::new();
    report.notes.retain(|n| seen.insert(n.clone()));
    Ok((ds, report))
}

/// Credit notes become credit documents: an invoice record with the credit note's id (paid when issued,
/// negative total) whose lines are the credits, negative, over the service period, subscription and price
/// of the invoice line they credit — so `credits_reduce_mrr` can subtract them from MRR there (by default
/// the engine ignores them, like ChartMogul). Custom credit lines are one-time. Void credit notes are left out.
fn credit_notes(files: &[PathBuf], notes: &[&Vec<State>], ds: &mut Dataset, report: &mut Report) -> R<()> {
    let by_id: BTreeMap<String, usize> = ds.invoice_lines.iter().enumerate().map(|(i, l)| (l.id.clone(), i)).collect();
    let mut out_invoices = Vec::new();
    let mut out_lines = Vec::new();
    for h in notes {
        let s = h.last().unwrap();
        let cx = Cx { files, origin: s.origin, obj: &s.v };
        let cid = cx.req_str(&s.v, "", "id")?.to_string();
        if cx.opt_str(&s.v, "", "status")? == Some("void") {
            report.notes.push(format!("credit_note {cid}: void, left out"));
            continue;
        }
        let currency = cx.req_currency(&s.v, "", "currency")?;
        let created = cx.req_ts(&s.v, "", "created")?;
        let customer = cx.opt_ref(&s.v, "", "customer")?.ok_or_else(|| cx.err("customer", None, "the credit note's customer"))?;
        let lines = nn(s.v.get("lines"));
        if let Some(l) = lines {
            if cx.opt_bool(l, "lines.", "has_more")?.unwrap_or(false) {
                return Err(cx.err("lines.has_more", l.get("has_more"), format!("all lines of the credit note: add the page(s) of GET /v1/credit_notes/{cid}/lines")));
            }
        }
        let data = match lines {
            Some(l) => cx.arr(l, "lines.", "data")?,
            None => &[],
        };
        let mut total = 0i64;
        for (i, l) in data.iter().enumerate() {
            let p = format!("lines.data[{i}].");
            let lid = cx.req_str(l, &p, "id")?.to_string();
            let gross = cx.req_i64(l, &p, "amount")?;
            let mut disc = 0i64;
            for (j, d) in cx.arr(l, &p, "discount_amounts")?.iter().enumerate() {
                disc = disc.saturating_add(cx.req_i64(d, &format!("{p}discount_amounts[{j}]."), "amount")?);
            }
            let credit = gross.saturating_sub(disc);
            total = total.saturating_add(credit);
            let original = match cx.opt_str(l, &p, "type")? {
                Some("invoice_line_item") => match cx.opt_ref(l, &p, "invoice_line_item")? {
                    Some(il) => match by_id.get(&il) {
                        Some(&k) => Some(&ds.invoice_lines[k]),
                        None => {
                            report.notes.push(format!("credit_note {cid}: line {lid} credits invoice line {il}, which is not in the input; kept as a one-time credit"));
                            None
                        }
                    },
                    None => None,
                },
                _ => None,
            };
            let rec = match original {
                Some(o) => InvoiceLineRecord { id: lid, invoice_id: cid.clone(), discounts: vec![], tax_inclusive: 0, amount: -credit, prorated: false, ..o.clone() },
                None => InvoiceLineRecord {
                    id: lid,
                    invoice_id: cid.clone(),
                    subscription_id: None,
                    item_id: None,
                    plan_id: None,
                    price_type: PriceType::OneTime,
                    period_start: None,
                    period_end: None,
                    amount: -credit,
                    discounts: vec![],
                    tax_inclusive: 0,
                    quantity: cx.opt_i64(l, &p, "quantity")?.unwrap_or(1).max(0),
                    prorated: false,
                },
            };
            out_lines.push(rec);
        }
        out_invoices.push(InvoiceRecord {
            id: cid,
            customer_id: customer,
            currency,
            status: InvoiceStatus::Paid,
            issued_at: created,
            due_at: None,
            paid_at: Some(created),
            total: -total,
            amount_paid: 0,
            amount_refunded: 0,
        });
    }
    ds.invoices.extend(out_invoices);
    ds.invoice_lines.extend(out_lines);
    Ok(())
}

/// Subscription schedules become scheduled items (CMRR): every phase's items, known from the first state
/// (list export or event) that shows the phase, withdrawn when the schedule is released or canceled or a
/// later state drops the phase. `end_behavior = cancel` adds an empty phase at the last phase's end.
fn schedules(files: &[PathBuf], hs: &[&Vec<State>], ds: &mut Dataset, report: &mut Report) -> R<()> {
    for h in hs {
        let last = h.last().unwrap();
        let cx = Cx { files, origin: last.origin, obj: &last.v };
        let id = cx.req_str(&last.v, "", "id")?.to_string();
        let Some(sub) = cx.opt_ref(&last.v, "", "subscription")? else {
            report.notes.push(format!("subscription_schedule {id}: no subscription yet (not started); its revenue counts once Stripe creates the subscription"));
            continue;
        };
        let created = cx.req_ts(&last.v, "", "created")?;
        let ended = match cx.opt_str(&last.v, "", "status")? {
            Some("released") => cx.opt_ts(&last.v, "", "released_at")?.or(last.at),
            Some("canceled") => cx.opt_ts(&last.v, "", "canceled_at")?.or(last.at),
            _ => None,
        };
        // Phases by start: (items, end, first seen, dropped at).
        type Phase = (Vec<(String, i64)>, Option<Ts>, Ts, Option<Ts>);
        let mut phases: BTreeMap<Ts, Phase> = BTreeMap::new();
        let mut end_behavior = None;
        for st in h.iter() {
            let scx = Cx { files, origin: st.origin, obj: &st.v };
            let seen = st.at.unwrap_or(created);
            let mut starts = BTreeSet::new();
            for (i, ph) in scx.arr(&st.v, "", "phases")?.iter().enumerate() {
                let p = format!("phases[{i}].");
                let start = scx.req_ts(ph, &p, "start_date")?;
                let end = scx.opt_ts(ph, &p, "end_date")?;
                let mut items = Vec::new();
                for (j, it) in scx.arr(ph, &p, "items")?.iter().enumerate() {
                    let ip = format!("{p}items[{j}].");
                    let price = match scx.opt_ref(it, &ip, "price")? {
                        Some(x) => x,
                        None => scx.opt_ref(it, &ip, "plan")?.ok_or_else(|| scx.err(&format!("{ip}price"), None, "the phase item's price"))?,
                    };
                    let q = scx.opt_i64(it, &ip, "quantity")?.unwrap_or(1);
                    if q < 0 {
                        return Err(scx.err(&format!("{ip}quantity"), it.get("quantity"), "a quantity ≥ 0"));
                    }
                    items.push((price, q));
                }
                starts.insert(start);
                let e = phases.entry(start).or_insert((Vec::new(), end, seen, None));
                (e.0, e.1, e.3) = (items, end, None);
            }
            for (start, ph) in phases.iter_mut() {
                if !starts.contains(start) && ph.3.is_none() {
                    ph.3 = Some(seen);
                }
            }
            end_behavior = scx.opt_str(&st.v, "", "end_behavior")?.map(str::to_string);
        }
        let last_end = phases.values().filter(|p| p.3.is_none()).filter_map(|p| p.1).max();
        for (start, (items, end, seen, dropped)) in &phases {
            let withdrawn = match (dropped, ended) {
                (Some(a), Some(b)) => Some((*a).min(b)),
                (a, b) => a.or(b),
            };
            for (j, (price, q)) in items.iter().enumerate() {
                ds.scheduled_items.push(ScheduledItemRecord {
                    id: format!("{id}:{start}:{j}"),
                    subscription_id: sub.clone(),
                    plan_id: price.clone(),
                    quantity: *q,
                    valid_from: *start,
                    valid_to: *end,
                    scheduled_at: *seen,
                    withdrawn_at: withdrawn,
                });
            }
        }
        if let (Some("cancel"), Some(end)) = (end_behavior.as_deref(), last_end) {
            let (first_seen, plan) = phases.values().next().map(|p| (p.2, p.0.first().map(|x| x.0.clone()).unwrap_or_default())).unwrap_or((created, String::new()));
            ds.scheduled_items.push(ScheduledItemRecord { id: format!("{id}:{end}:cancel"), subscription_id: sub.clone(), plan_id: plan, quantity: 0, valid_from: end, valid_to: None, scheduled_at: first_seen, withdrawn_at: ended });
        }
    }
    Ok(())
}

fn known_list() -> String {
    KNOWN.join(", ")
}

fn collect_discounts<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    if let Some(a) = v.get("discounts").and_then(Value::as_array) {
        out.extend(a.iter().filter(|d| d.is_object()));
    }
    if let Some(a) = v.get("discount_amounts").and_then(Value::as_array) {
        out.extend(a.iter().filter_map(|d| d.get("discount")).filter(|d| d.is_object()));
    }
}

/// Price or legacy plan → PlanRecord (name filled in later from the product), plus its nickname.
fn plan(cx: &Cx, v: &Value, p: &str, products: &mut BTreeMap<String, String>, report: &mut Report) -> R<(PlanRecord, Option<String>)> {
    let is_plan = ty(v) == Some("plan");
    let pid = cx.req_str(v, p, "id")?.to_string();
    let currency = cx.req_currency(v, p, "currency")?;
    let (amount_k, dec_k) = if is_plan { ("amount", "amount_decimal") } else { ("unit_amount", "unit_amount_decimal") };
    let amount = match cx.opt_i64(v, p, amount_k)? {
        Some(a) => a,
        None => match cx.opt_str(v, p, dec_k)? {
            Some(d) => {
                let (int, frac) = d.split_once('.').unwrap_or((d, ""));
                let ok = !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit());
                if !ok || frac.bytes().any(|b| b != b'0') {
                    return Err(cx.err(&format!("{p}{dec_k}"), v.get(dec_k), "a whole number of minor units (sub-minor-unit prices cannot be represented)"));
                }
                int.parse::<i64>().map_err(|_| cx.err(&format!("{p}{dec_k}"), v.get(dec_k), "a whole number of minor units"))?
            }
            None => {
                if cx.opt_str(v, p, "billing_scheme")? == Some("tiered") {
                    report.notes.push(format!("price {pid}: tiered pricing; the plan record has amount 0 (tiers cannot be represented; invoice lines carry the billed amounts)"));
                    0
                } else if nn(v.get("custom_unit_amount")).is_some() {
                    // A pay-what-you-want price (Checkout, Payment Links): no unit amount until the customer picks one.
                    report.notes.push(format!("price {pid}: the customer chooses the amount (custom_unit_amount); the plan record has amount 0 (invoice lines carry the billed amounts)"));
                    0
                } else {
                    return Err(cx.err(&format!("{p}{amount_k}"), None, format!("a unit amount (`{amount_k}` or `{dec_k}`)")));
                }
            }
        },
    };
    if amount < 0 {
        return Err(cx.err(&format!("{p}{amount_k}"), v.get(amount_k), "an amount ≥ 0"));
    }
    if nn(v.get("transform_quantity")).is_some() {
        report.notes.push(format!("price {pid}: transform_quantity is not represented"));
    }
    let (price_type, rec, rp) = if is_plan {
        (PriceType::Recurring, Some(v), p.to_string())
    } else {
        let t: PriceType = cx.parse(v, p, "type")?.ok_or_else(|| cx.err(&format!("{p}type"), None, "recurring or one_time"))?;
        (t, nn(v.get("recurring")), format!("{p}recurring."))
    };
    let (interval, interval_count, usage_type) = match (price_type, rec) {
        (PriceType::Recurring, Some(r)) => {
            let i: Interval = cx.parse(r, &rp, "interval")?.ok_or_else(|| cx.err(&format!("{rp}interval"), None, format!("one of {}", Interval::expected())))?;
            let n = cx.opt_i64(r, &rp, "interval_count")?.unwrap_or(1);
            if !(1..=u32::MAX as i64).contains(&n) {
                return Err(cx.err(&format!("{rp}interval_count"), r.get("interval_count"), "a positive whole number"));
            }
            let u: UsageType = cx.parse(r, &rp, "usage_type")?.unwrap_or(UsageType::Licensed);
            (Some(i), n as u32, u)
        }
        (PriceType::Recurring, None) => return Err(cx.err(&format!("{p}recurring"), None, "the recurrence of a recurring price")),
        (PriceType::OneTime, _) => (None, 1, UsageType::Licensed),
    };
    let product = cx.opt_ref(v, p, "product")?;
    if let Some(pr @ Value::Object(_)) = nn(v.get("product")) {
        if let (Some(i), Some(n)) = (id(pr), pr.get("name").and_then(Value::as_str)) {
            products.entry(i.to_string()).or_insert_with(|| n.to_string());
        }
    }
    let nick = cx.opt_str(v, p, "nickname")?.map(str::to_string);
    Ok((PlanRecord { id: pid, name: None, product, currency, amount, price_type, interval, interval_count, usage_type }, nick))
}

/// Percent as thousandths (12.5 → 12_500), exactly from the JSON number's text.
fn percent_milli(cx: &Cx, v: &Value, field: &str) -> R<i64> {
    let bad = || cx.err(field, Some(v), "a percentage between 0 and 100 with at most 3 decimals");
    let s = match v {
        Value::Number(n) => n.to_string(),
        _ => return Err(bad()),
    };
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if frac.len() > 3 || int.starts_with('-') || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let f = format!("{frac:0<3}");
    let m = int.parse::<i64>().ok().and_then(|i| i.checked_mul(1000)).and_then(|i| i.checked_add(f.parse::<i64>().ok()?)).ok_or_else(bad)?;
    if m > 100_000 {
        return Err(bad());
    }
    Ok(m)
}

fn discount(cx: &Cx, d: &Value, coupons: &BTreeMap<String, Value>) -> R<Option<DiscountRecord>> {
    let did = cx.req_str(d, "", "id")?.to_string();
    // `coupon` (until 2025-09), `source.coupon` (clover).
    let (cv, cp) = match nn(d.get("coupon")) {
        Some(c) => (Some(c), "coupon."),
        None => (nn(d.get("source")).and_then(|s| nn(s.get("coupon"))), "source.coupon."),
    };
    let coupon = match cv {
        Some(c @ Value::Object(_)) => c,
        Some(Value::String(s)) => match coupons.get(s) {
            Some(c) => c,
            None => return Ok(None),
        },
        Some(x) => return Err(cx.err(cp.trim_end_matches('.'), Some(x), "a coupon id or object")),
        None => return Ok(None),
    };
    let duration: DiscountDuration = cx.parse(coupon, cp, "duration")?.ok_or_else(|| cx.err(&format!("{cp}duration"), None, format!("one of {}", DiscountDuration::expected())))?;
    let months = match duration {
        DiscountDuration::Repeating => {
            let m = cx.opt_i64(coupon, cp, "duration_in_months")?.ok_or_else(|| cx.err(&format!("{cp}duration_in_months"), None, "a number of months (the coupon is repeating)"))?;
            Some(u32::try_from(m).ok().filter(|&m| m > 0).ok_or_else(|| cx.err(&format!("{cp}duration_in_months"), coupon.get("duration_in_months"), "a positive whole number"))?)
        }
        _ => None,
    };
    let percent_off_milli = match nn(coupon.get("percent_off")) {
        Some(x) => Some(percent_milli(cx, x, &format!("{cp}percent_off"))?),
        None => None,
    };
    let amount_off = cx.opt_i64(coupon, cp, "amount_off")?;
    let currency = cx.currency(coupon, cp, "currency")?;
    Ok(Some(DiscountRecord {
        id: did,
        name: cx.opt_str(coupon, cp, "name")?.map(str::to_string),
        duration,
        duration_in_months: months,
        percent_off_milli,
        amount_off,
        currency,
        customer_id: cx.opt_ref(d, "", "customer")?,
        subscription_id: cx.opt_ref(d, "", "subscription")?,
        start: cx.opt_ts(d, "", "start")?,
        end: cx.opt_ts(d, "", "end")?,
    }))
}

fn customer(cx: &Cx, v: &Value) -> R<CustomerRecord> {
    let mut c = CustomerRecord { id: cx.req_str(v, "", "id")?.to_string(), ..Default::default() };
    c.name = cx.opt_str(v, "", "name")?.map(str::to_string);
    c.email = cx.opt_str(v, "", "email")?.map(str::to_string);
    c.created_at = cx.opt_ts(v, "", "created")?;
    if let Some(m) = nn(v.get("metadata")) {
        let Some(m) = m.as_object() else {
            return Err(cx.err("metadata", Some(m), "an object"));
        };
        // The account's ids elsewhere (a previous billing system, a duplicate Stripe customer) for merging.
        for k in ["external_id", "external_ids"] {
            if let Some(x) = m.get(k).and_then(Value::as_str) {
                c.external_ids.extend(x.split(['|', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
            }
        }
        for (k, x) in m {
            let s = match x {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                x => x.to_string(),
            };
            if !s.is_empty() {
                c.attributes.insert(format!("metadata.{k}"), s);
            }
        }
    }
    if let Some(a) = nn(v.get("address")) {
        if let Some(country) = cx.opt_str(a, "address.", "country")?.filter(|s| !s.is_empty()) {
            c.attributes.insert("country".into(), country.to_string());
        }
    }
    if let Some(cur) = cx.currency(v, "", "currency")? {
        c.attributes.insert("currency".into(), cur.code().to_string());
    }
    Ok(c)
}

fn subscription(files: &[PathBuf], h: &[State], failed: &BTreeMap<String, Ts>, ds: &mut Dataset, report: &mut Report) -> R<()> {
    let last = h.last().unwrap();
    let v = &last.v;
    let cx = Cx { files, origin: last.origin, obj: v };
    let sid = cx.req_str(v, "", "id")?.to_string();
    let status: SubscriptionStatus = cx.parse(v, "", "status")?.ok_or_else(|| cx.err("status", None, format!("one of {}", SubscriptionStatus::expected())))?;
    let shape = shape_of(&cx, v)?.unwrap_or(Shape::Old);
    let period_start = match shape {
        Shape::Old => cx.opt_ts(v, "", "current_period_start")?,
        Shape::Basil => {
            let mut m: Option<Ts> = None;
            for (i, it) in cx.arr(v.get("items").unwrap_or(&Value::Null), "items.", "data")?.iter().enumerate() {
                if let Some(t) = cx.opt_ts(it, &format!("items.data[{i}]."), "current_period_start")? {
                    m = Some(m.map_or(t, |m| m.min(t)));
                }
            }
            m
        }
    };
    // unpaid_since: the event at which the status became (and stayed) unpaid, else the last failed payment of
    // its invoices (`invoice.payment_failed` events: dunning ends with one), else the current period start.
    let mut unpaid_since = None;
    if status == SubscriptionStatus::Unpaid {
        let mut since: Option<Option<Ts>> = None;
        for s in h {
            let unpaid = s.v.get("status").and_then(Value::as_str) == Some("unpaid");
            match (unpaid, since) {
                (true, None) => since = Some(s.at),
                (false, _) => since = None,
                _ => {}
            }
        }
        unpaid_since = since.flatten().or_else(|| failed.get(&sid).copied()).or(period_start);
    }
    // Pauses: status `paused` or `pause_collection` set; start = the event that paused it, end = the event
    // that resumed it, else `pause_collection.resumes_at`.
    let (mut pause_start, mut pause_end) = (None, None);
    let mut was_paused = false;
    let paused_of = |x: &Value| x.get("status").and_then(Value::as_str) == Some("paused") || nn(x.get("pause_collection")).is_some();
    for s in h {
        let p = paused_of(&s.v);
        if p && !was_paused {
            pause_start = s.at;
            pause_end = None;
            if s.at.is_none() {
                report.notes.push(format!("subscription {sid}: paused in the list export, but when the pause began is unknown (no event); pause not recorded"));
            }
        } else if !p && was_paused && pause_start.is_some() {
            pause_end = s.at;
        }
        was_paused = p;
    }
    if was_paused && pause_start.is_some() {
        if let Some(pc) = nn(v.get("pause_collection")) {
            pause_end = cx.opt_ts(pc, "pause_collection.", "resumes_at")?;
        }
    }
    if pause_start.is_none() {
        pause_end = None;
    }
    let cancellation_reason = match nn(v.get("cancellation_details")) {
        Some(cd) => cx.opt_str(cd, "cancellation_details.", "feedback")?.or(cx.opt_str(cd, "cancellation_details.", "reason")?).map(str::to_string),
        None => None,
    };
    let ended_at = cx.opt_ts(v, "", "ended_at")?;
    ds.subscriptions.push(SubscriptionRecord {
        id: sid.clone(),
        customer_id: cx.opt_ref(v, "", "customer")?.ok_or_else(|| cx.err("customer", None, "the subscription's customer"))?,
        status,
        currency: cx.currency(v, "", "currency")?,
        created_at: cx.opt_ts(v, "", "created")?,
        started_at: cx.opt_ts(v, "", "start_date")?.or(cx.opt_ts(v, "", "created")?),
        trial_start: cx.opt_ts(v, "", "trial_start")?,
        trial_end: cx.opt_ts(v, "", "trial_end")?,
        cancel_at_period_end: cx.opt_bool(v, "", "cancel_at_period_end")?.unwrap_or(false),
        cancel_at: cx.opt_ts(v, "", "cancel_at")?,
        canceled_at: cx.opt_ts(v, "", "canceled_at")?,
        ended_at,
        unpaid_since,
        pause_start,
        pause_end,
        cancellation_reason,
    });
    // Item versions: a new version whenever an event shows another price or quantity; removed items end then.
    let mut open: BTreeMap<String, SubscriptionItemRecord> = BTreeMap::new();
    let mut done: Vec<SubscriptionItemRecord> = Vec::new();
    for s in h {
        let scx = Cx { files, origin: s.origin, obj: &s.v };
        let items = match nn(s.v.get("items")) {
            Some(i) => scx.arr(i, "items.", "data")?,
            None => &[],
        };
        let mut seen = BTreeSet::new();
        for (i, it) in items.iter().enumerate() {
            let p = format!("items.data[{i}].");
            let iid = scx.req_str(it, &p, "id")?.to_string();
            let plan_id = match scx.opt_ref(it, &p, "price")? {
                Some(x) => x,
                None => scx.opt_ref(it, &p, "plan")?.ok_or_else(|| scx.err(&format!("{p}price"), None, "the item's price"))?,
            };
            let quantity = scx.opt_i64(it, &p, "quantity")?.unwrap_or(1);
            if quantity < 0 {
                return Err(scx.err(&format!("{p}quantity"), it.get("quantity"), "a quantity ≥ 0"));
            }
            let created = scx.opt_ts(it, &p, "created")?;
            seen.insert(iid.clone());
            match open.get_mut(&iid) {
                Some(o) if o.plan_id == plan_id && o.quantity == quantity => {}
                Some(o) => {
                    let t = s.at.unwrap_or(o.valid_from).max(o.valid_from);
                    let mut old = o.clone();
                    old.valid_to = Some(t);
                    done.push(old);
                    *o = SubscriptionItemRecord { id: iid, subscription_id: sid.clone(), plan_id, quantity, valid_from: t, valid_to: None };
                }
                None => {
                    let from = match (created, s.at) {
                        (Some(c), _) => c,
                        (None, Some(t)) => t,
                        (None, None) => scx.req_ts(it, &p, "created")?,
                    };
                    open.insert(iid.clone(), SubscriptionItemRecord { id: iid, subscription_id: sid.clone(), plan_id, quantity, valid_from: from, valid_to: None });
                }
            }
        }
        let gone: Vec<String> = open.keys().filter(|k| !seen.contains(*k)).cloned().collect();
        for k in gone {
            let mut o = open.remove(&k).unwrap();
            o.valid_to = Some(s.at.unwrap_or(o.valid_from).max(o.valid_from));
            done.push(o);
        }
    }
    for (_, mut o) in open {
        if let Some(e) = ended_at {
            o.valid_to = Some(e.max(o.valid_from));
        }
        done.push(o);
    }
    done.sort_by(|a, b| (&a.id, a.valid_from).cmp(&(&b.id, b.valid_from)));
    ds.subscription_items.extend(done);
    Ok(())
}

fn invoice(cx: &Cx, v: &Value, refunded: i64) -> R<InvoiceRecord> {
    let st = nn(v.get("status_transitions"));
    let tr = |k: &str| -> R<Option<Ts>> {
        match st {
            Some(s) => cx.opt_ts(s, "status_transitions.", k),
            None => Ok(None),
        }
    };
    let issued_at = match tr("finalized_at")? {
        Some(t) => t,
        None => cx.req_ts(v, "", "created")?,
    };
    let amount_paid = cx.opt_i64(v, "", "amount_paid")?.unwrap_or(0);
    if amount_paid < 0 {
        return Err(cx.err("amount_paid", v.get("amount_paid"), "an amount ≥ 0"));
    }
    Ok(InvoiceRecord {
        id: cx.req_str(v, "", "id")?.to_string(),
        customer_id: cx.opt_ref(v, "", "customer")?.ok_or_else(|| cx.err("customer", None, "the invoice's customer"))?,
        currency: cx.req_currency(v, "", "currency")?,
        status: cx.parse(v, "", "status")?.ok_or_else(|| cx.err("status", None, format!("one of {}", InvoiceStatus::expected())))?,
        issued_at,
        due_at: match cx.opt_ts(v, "", "due_date")? {
            Some(d) => Some(d),
            // Charged automatically: due when finalised (Stripe attempts the charge then; a failure makes the
            // subscription past due). Sent invoices without a due date have none.
            None if cx.opt_str(v, "", "collection_method")? != Some("send_invoice") => Some(issued_at),
            None => None,
        },
        paid_at: tr("paid_at")?,
        total: cx.req_i64(v, "", "total")?,
        amount_paid,
        amount_refunded: refunded.max(0),
    })
}

#[allow(clippy::too_many_arguments)]
fn line(cx: &Cx, l: &Value, p: &str, inv: &InvoiceRecord, shape: Shape, inv_sub: Option<&str>, plan_types: &BTreeMap<String, PriceType>, report: &mut Report) -> R<InvoiceLineRecord> {
    let lid = cx.req_str(l, p, "id")?.to_string();
    if let Some(c) = cx.currency(l, p, "currency")? {
        if c != inv.currency {
            return Err(cx.err(&format!("{p}currency"), l.get("currency"), format!("the invoice's currency {}", inv.currency.code())));
        }
    }
    let amount = cx.req_i64(l, p, "amount")?;
    let (mut subscription_id, item_id, prorated, plan_id, default_type, tax_inclusive, credited);
    match shape {
        Shape::Old => {
            subscription_id = cx.opt_ref(l, p, "subscription")?;
            item_id = cx.opt_ref(l, p, "subscription_item")?;
            prorated = cx.opt_bool(l, p, "proration")?.unwrap_or(false);
            let price = nn(l.get("price")).map(|x| ("price", x)).or(nn(l.get("plan")).map(|x| ("plan", x)));
            plan_id = match price {
                Some((k, _)) => cx.opt_ref(l, p, k)?,
                None => None,
            };
            default_type = match (price.and_then(|(_, x)| x.get("type")).and_then(Value::as_str), cx.opt_str(l, p, "type")?) {
                (Some("one_time"), _) => PriceType::OneTime,
                (Some("recurring"), _) => PriceType::Recurring,
                (_, Some("subscription")) => PriceType::Recurring,
                _ if price.is_some_and(|(k, _)| k == "plan") => PriceType::Recurring,
                _ => PriceType::OneTime,
            };
            let mut tax = 0;
            for (i, t) in cx.arr(l, p, "tax_amounts")?.iter().enumerate() {
                let tp = format!("{p}tax_amounts[{i}].");
                if cx.opt_bool(t, &tp, "inclusive")?.unwrap_or(false) {
                    tax = cx.req_i64(t, &tp, "amount")?.checked_add(tax).ok_or_else(|| cx.err(&format!("{tp}amount"), t.get("amount"), "a tax amount that fits 64 bits"))?;
                }
            }
            tax_inclusive = tax;
            credited = l.get("proration_details").and_then(|d| d.get("credited_items")).filter(|c| !c.is_null()).is_some();
        }
        Shape::Basil => {
            let parent = nn(l.get("parent"));
            let (details, dp, is_sub) = match parent {
                Some(par) => match (nn(par.get("subscription_item_details")), nn(par.get("invoice_item_details"))) {
                    (Some(d), _) => (Some(d), format!("{p}parent.subscription_item_details."), true),
                    (None, Some(d)) => (Some(d), format!("{p}parent.invoice_item_details."), false),
                    _ => (None, String::new(), false),
                },
                None => (None, String::new(), false),
            };
            match details {
                Some(d) => {
                    subscription_id = cx.opt_ref(d, &dp, "subscription")?;
                    item_id = if is_sub { cx.opt_ref(d, &dp, "subscription_item")? } else { None };
                    prorated = cx.opt_bool(d, &dp, "proration")?.unwrap_or(false);
                    credited = d.get("proration_details").and_then(|x| x.get("credited_items")).filter(|c| !c.is_null()).is_some();
                }
                None => {
                    (subscription_id, item_id, prorated, credited) = (None, None, false, false);
                }
            }
            plan_id = match nn(l.get("pricing")).and_then(|x| nn(x.get("price_details"))) {
                Some(pd) => cx.opt_ref(pd, &format!("{p}pricing.price_details."), "price")?,
                None => None,
            };
            default_type = if is_sub { PriceType::Recurring } else { PriceType::OneTime };
            let mut tax = 0;
            for (i, t) in cx.arr(l, p, "taxes")?.iter().enumerate() {
                let tp = format!("{p}taxes[{i}].");
                if cx.opt_str(t, &tp, "tax_behavior")? == Some("inclusive") {
                    tax = cx.req_i64(t, &tp, "amount")?.checked_add(tax).ok_or_else(|| cx.err(&format!("{tp}amount"), t.get("amount"), "a tax amount that fits 64 bits"))?;
                }
            }
            tax_inclusive = tax;
        }
    }
    if let Some(pid) = &plan_id {
        if !plan_types.contains_key(pid) {
            // Without the price its interval is unknown: the line's MRR would be a guess.
            let field = match shape {
                Shape::Old => format!("{p}price"),
                Shape::Basil => format!("{p}pricing.price_details.price"),
            };
            return Err(cx.err(&field, Some(&Value::String(pid.clone())), "a price present in the input (list GET /v1/prices with the export, or expand the line's price)"));
        }
    }
    let price_type = plan_id.as_ref().and_then(|x| plan_types.get(x)).copied().unwrap_or(default_type);
    if price_type == PriceType::Recurring && subscription_id.is_none() {
        subscription_id = inv_sub.map(str::to_string);
    }
    if credited {
        report.notes.push(format!("line {lid}: proration_details.credited_items not represented (the engine infers crediting from the negative prorated line)"));
    }
    let (period_start, period_end) = match nn(l.get("period")) {
        Some(per) => (cx.opt_ts(per, &format!("{p}period."), "start")?, cx.opt_ts(per, &format!("{p}period."), "end")?),
        None => (None, None),
    };
    if let (Some(a), Some(b)) = (period_start, period_end) {
        if b < a {
            return Err(cx.err(&format!("{p}period.end"), l.get("period").and_then(|x| x.get("end")), "an instant not before period.start"));
        }
    }
    let mut discounts = Vec::new();
    for (i, d) in cx.arr(l, p, "discount_amounts")?.iter().enumerate() {
        let dp = format!("{p}discount_amounts[{i}].");
        let discount_id = cx.opt_ref(d, &dp, "discount")?.ok_or_else(|| cx.err(&format!("{dp}discount"), None, "the discount's id"))?;
        let amount = cx.req_i64(d, &dp, "amount")?;
        if amount != 0 {
            discounts.push(LineDiscount { discount_id, amount });
        }
    }
    let quantity = cx.opt_i64(l, p, "quantity")?.unwrap_or(1);
    if quantity < 0 {
        return Err(cx.err(&format!("{p}quantity"), l.get("quantity"), "a quantity ≥ 0"));
    }
    Ok(InvoiceLineRecord {
        id: lid,
        invoice_id: inv.id.clone(),
        subscription_id,
        item_id,
        plan_id,
        price_type,
        period_start: period_start.filter(|_| period_end.is_some()),
        period_end: period_end.filter(|_| period_start.is_some()),
        amount,
        discounts,
        tax_inclusive,
        quantity,
        prorated,
    })
}
