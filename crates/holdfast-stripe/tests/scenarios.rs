//! Billing scenarios written as Stripe objects and events, read by the importer and run through the engine,
//! with the ledger each one must give (issue 3; spec §10.1 vendor examples and the Stripe-specific cases).
//!
//! The objects are built by a small vocabulary below (`Account`) that writes what Stripe's API returns
//! (pre-2025-03-31 shape unless a test asks for basil); every assertion is on the engine's ledger or KPIs.
use holdfast_core::fx::Rate;
use holdfast_core::money::Currency;
use holdfast_core::records::{Dataset, FxRateRecord};
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{parse_instant, Ts};
use holdfast_engine::timeline::Kind::{self, *};
use holdfast_engine::{run, Run, RunSpec, Settings};
use serde_json::{json, Value};

fn t(s: &str) -> Ts {
    parse_instant(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// One Stripe account's objects and events, in the order a list export would give them.
#[derive(Default)]
struct Account {
    objects: Vec<Value>,
    events: Vec<Value>,
    fx: Vec<FxRateRecord>,
    basil: bool,
    n: usize,
}

/// An invoice line: price, quantity, amount and service period.
struct Line<'a> {
    price: &'a str,
    qty: i64,
    amount: i64,
    from: &'a str,
    to: &'a str,
    proration: bool,
    discount: Option<(&'a str, i64)>,
}

fn line<'a>(price: &'a str, qty: i64, amount: i64, from: &'a str, to: &'a str) -> Line<'a> {
    Line { price, qty, amount, from, to, proration: false, discount: None }
}

impl Line<'_> {
    fn prorated(mut self) -> Self {
        self.proration = true;
        self
    }
}

impl Account {
    fn basil() -> Account {
        Account { basil: true, ..Default::default() }
    }

    fn next(&mut self, p: &str) -> String {
        self.n += 1;
        format!("{p}_{}", self.n)
    }

    fn customer(&mut self, id: &str, email: &str, metadata: Value) {
        self.objects.push(json!({"id": id, "object": "customer", "created": t("2018-01-01"), "email": email, "metadata": metadata, "currency": "usd"}));
    }

    fn price(&mut self, id: &str, cents: i64, currency: &str, interval: &str, count: i64) {
        self.objects.push(json!({"id": id, "object": "price", "currency": currency, "unit_amount": cents, "type": "recurring", "product": format!("prod_{id}"),
            "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"}}));
    }

    /// A subscription as listed now; `extra` overrides fields (status, canceled_at, ended_at, …).
    fn subscription(&mut self, id: &str, customer: &str, items: &[(&str, &str, i64)], start: &str, extra: Value) -> Value {
        let mut v = self.subscription_state(id, customer, items, start);
        merge(&mut v, extra);
        self.objects.push(v.clone());
        v
    }

    fn subscription_state(&self, id: &str, customer: &str, items: &[(&str, &str, i64)], start: &str) -> Value {
        let data: Vec<Value> = items
            .iter()
            .map(|(si, price, qty)| {
                let mut it = json!({"id": si, "object": "subscription_item", "created": t(start), "price": price, "quantity": qty, "subscription": id});
                if self.basil {
                    it["current_period_start"] = json!(t(start));
                    it["current_period_end"] = json!(t(start) + 30 * 86_400);
                }
                it
            })
            .collect();
        let mut v = json!({"id": id, "object": "subscription", "customer": customer, "status": "active", "currency": "usd", "created": t(start), "start_date": t(start),
            "cancel_at_period_end": false, "cancel_at": null, "canceled_at": null, "ended_at": null, "pause_collection": null, "trial_start": null, "trial_end": null,
            "collection_method": "charge_automatically",
            "items": {"object": "list", "data": data, "has_more": false}});
        if !self.basil {
            v["current_period_start"] = json!(t(start));
            v["current_period_end"] = json!(t(start) + 30 * 86_400);
        }
        v
    }

    /// A finalised invoice of one subscription. `paid` is the payment instant (status `paid`), else the
    /// invoice is `open` (or the status given in `extra`).
    fn invoice(&mut self, customer: &str, sub: Option<&str>, currency: &str, issued: &str, paid: Option<&str>, lines: &[Line], extra: Value) -> String {
        let id = self.next("in");
        let mut total = 0;
        let data: Vec<Value> = lines
            .iter()
            .map(|l| {
                total += l.amount - l.discount.map_or(0, |d| d.1);
                let lid = self.next("il");
                let discounts: Vec<Value> = l.discount.iter().map(|(d, a)| json!({"amount": a, "discount": d})).collect();
                let mut v = json!({"id": lid, "object": "line_item", "amount": l.amount, "currency": currency, "quantity": l.qty,
                    "period": {"start": t(l.from), "end": t(l.to)}, "discount_amounts": discounts});
                if self.basil {
                    v["parent"] = json!({"type": "subscription_item_details", "subscription_item_details": {"subscription": sub, "subscription_item": format!("si_{}", l.price), "proration": l.proration}});
                    v["pricing"] = json!({"type": "price_details", "price_details": {"price": l.price, "product": format!("prod_{}", l.price)}});
                    v["taxes"] = json!([]);
                } else {
                    v["type"] = json!("subscription");
                    v["subscription"] = json!(sub);
                    v["price"] = json!(l.price);
                    v["proration"] = json!(l.proration);
                    v["tax_amounts"] = json!([]);
                }
                v
            })
            .collect();
        let mut v = json!({"id": id, "object": "invoice", "customer": customer, "currency": currency, "created": t(issued), "total": total,
            "status": if paid.is_some() { "paid" } else { "open" }, "amount_paid": if paid.is_some() { total } else { 0 }, "collection_method": "charge_automatically",
            "due_date": null, "status_transitions": {"finalized_at": t(issued), "paid_at": paid.map(t)},
            "lines": {"object": "list", "data": data, "has_more": false}});
        if self.basil {
            v["parent"] = json!({"type": "subscription_details", "subscription_details": {"subscription": sub}});
        } else {
            v["subscription"] = json!(sub);
        }
        merge(&mut v, extra);
        self.objects.push(v);
        id
    }

    /// Monthly invoices of one single-line subscription from `from` (inclusive) to `to` (exclusive), each
    /// paid on issue.
    fn monthly(&mut self, customer: &str, sub: &str, price: &str, qty: i64, amount: i64, months: &[&str]) {
        for w in months.windows(2) {
            let (a, b) = (w[0], w[1]);
            self.invoice(customer, Some(sub), "usd", a, Some(a), &[line(price, qty, amount, a, b)], json!({}));
        }
    }

    fn event(&mut self, ty: &str, at: &str, object: Value) {
        let id = self.next("evt");
        self.events.push(json!({"id": id, "object": "event", "type": ty, "created": t(at), "data": {"object": object}}));
    }

    fn fx(&mut self, day: &str, base: &str, quote: &str, rate: &str) {
        let day = (t(day) / 86_400) as i32;
        self.fx.push(FxRateRecord { day, base: base.parse::<Currency>().unwrap(), quote: quote.parse::<Currency>().unwrap(), rate: Rate::parse(rate).unwrap() });
    }

    fn dataset(&self) -> Dataset {
        let docs = vec![("objects.json".to_string(), Value::Array(self.objects.clone())), ("events.json".to_string(), Value::Array(self.events.clone()))];
        let (mut d, _) = holdfast_stripe::read_values(docs).unwrap_or_else(|e| panic!("{e}"));
        d.fx_rates.extend(self.fx.iter().cloned());
        d
    }

    fn run(&self, as_of: &str, settings: Settings) -> (Snapshot, Run) {
        let snap = Snapshot::from_dataset(&self.dataset()).unwrap_or_else(|e| panic!("{e}"));
        let spec = RunSpec { as_of: Some(t(as_of)), ..RunSpec::default() };
        let r = run(&snap, &settings, &spec).unwrap_or_else(|e| panic!("{e}"));
        (snap, r)
    }

    /// The ledger of one customer (FX-only rows left out): (kind, amount, instant).
    fn moves(&self, customer: &str, as_of: &str, settings: Settings) -> Vec<(Kind, i64, Ts)> {
        let (snap, r) = self.run(as_of, settings);
        let c = snap.customers.ids.get(customer).unwrap_or_else(|| panic!("no customer {customer}"));
        r.ledger.iter().filter(|x| x.customer == c && x.kind != FxOnly).map(|x| (x.kind, x.amount, x.t)).collect()
    }
}

fn merge(v: &mut Value, extra: Value) {
    if let (Value::Object(m), Value::Object(e)) = (v, extra) {
        for (k, x) in e {
            m.insert(k, x);
        }
    }
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let mut s = Settings::default();
    for (k, v) in pairs {
        s.set(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    s
}

const MONTHS_2024: [&str; 13] = [
    "2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01", "2024-07-01", "2024-08-01", "2024-09-01", "2024-10-01", "2024-11-01", "2024-12-01", "2025-01-01",
];

/// Upgrade mid-cycle with a proration credit (spec §10.1 "CM prorated switch"), in both API shapes: the
/// credit and the charge for the rest of the month are one expansion to the new price, not a new customer.
#[test]
fn upgrade_with_proration_credit_is_one_expansion() {
    for mut a in [Account::default(), Account::basil()] {
        a.customer("cus_1", "a@acme.example", json!({}));
        a.price("bronze", 10_000, "usd", "month", 1);
        a.price("gold", 25_000, "usd", "month", 1);
        a.subscription("sub_1", "cus_1", &[("si_1", "gold", 1)], "2019-05-01", json!({}));
        a.monthly("cus_1", "sub_1", "bronze", 1, 10_000, &["2019-05-01", "2019-06-01", "2019-07-01"]);
        a.invoice("cus_1", Some("sub_1"), "usd", "2019-06-16", Some("2019-06-16"), &[line("gold", 1, 12_500, "2019-06-16", "2019-07-01").prorated(), line("bronze", 1, -5_000, "2019-06-16", "2019-07-01").prorated()], json!({}));
        a.invoice("cus_1", Some("sub_1"), "usd", "2019-07-01", Some("2019-07-01"), &[line("gold", 1, 25_000, "2019-07-01", "2019-08-01")], json!({}));
        assert_eq!(
            a.moves("cus_1", "2019-07-15", Settings::default()),
            vec![(NewBusiness, 10_000, t("2019-05-01")), (Expansion, 15_000, t("2019-06-16"))],
            "basil: {}",
            a.basil
        );
    }
}

/// Spec §10.1 "CM switch": a non-prorated switch on the same subscription at renewal is an expansion.
#[test]
fn plan_switch_at_renewal_is_an_expansion() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("bronze", 10_000, "usd", "month", 1);
    a.price("gold", 25_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "gold", 1)], "2019-01-01", json!({}));
    a.monthly("cus_1", "sub_1", "bronze", 1, 10_000, &["2019-01-01", "2019-02-01"]);
    a.monthly("cus_1", "sub_1", "gold", 1, 25_000, &["2019-02-01", "2019-03-01"]);
    assert_eq!(a.moves("cus_1", "2019-02-15", Settings::default()), vec![(NewBusiness, 10_000, t("2019-01-01")), (Expansion, 15_000, t("2019-02-01"))]);
}

/// Spec §10.1 "CM formula": $90 per 3 months is MRR 30.
#[test]
fn quarterly_price_is_normalised_to_a_month() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("q", 9_000, "usd", "month", 3);
    a.subscription("sub_1", "cus_1", &[("si_1", "q", 1)], "2024-01-01", json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-01-01", Some("2024-01-01"), &[line("q", 1, 9_000, "2024-01-01", "2024-04-01")], json!({}));
    assert_eq!(a.moves("cus_1", "2024-02-01", Settings::default()), vec![(NewBusiness, 3_000, t("2024-01-01"))]);
}

/// An annual plan replaced at renewal by a cheaper monthly one: a contraction, never churn plus new business.
#[test]
fn annual_to_monthly_switch_at_renewal_is_a_contraction() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("annual", 120_000, "usd", "year", 1);
    a.price("monthly", 9_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "monthly", 1)], "2024-01-01", json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-01-01", Some("2024-01-01"), &[line("annual", 1, 120_000, "2024-01-01", "2025-01-01")], json!({}));
    a.monthly("cus_1", "sub_1", "monthly", 1, 9_000, &["2025-01-01", "2025-02-01", "2025-03-01"]);
    assert_eq!(a.moves("cus_1", "2025-02-15", Settings::default()), vec![(NewBusiness, 10_000, t("2024-01-01")), (Contraction, -1_000, t("2025-01-01"))]);
}

/// Seats 5 → 8 on April 16 (half of a 30-day month): Stripe charges 8 seats and credits 5 for the rest of
/// the period; the engine normalises both prorated lines to a month: expansion of exactly 3 seats.
#[test]
fn quantity_change_mid_cycle_is_an_expansion_of_the_added_seats() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("seat", 1_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "seat", 8)], "2024-04-01", json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-04-01", Some("2024-04-01"), &[line("seat", 5, 5_000, "2024-04-01", "2024-05-01")], json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-04-16", Some("2024-04-16"), &[line("seat", 8, 4_000, "2024-04-16", "2024-05-01").prorated(), line("seat", 5, -2_500, "2024-04-16", "2024-05-01").prorated()], json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-05-01", Some("2024-05-01"), &[line("seat", 8, 8_000, "2024-05-01", "2024-06-01")], json!({}));
    assert_eq!(a.moves("cus_1", "2024-05-15", Settings::default()), vec![(NewBusiness, 5_000, t("2024-04-01")), (Expansion, 3_000, t("2024-04-16"))]);
}

/// A 20 % coupon for two months (spec §2.3 `discount_policy = net`): the discounted price while it applies,
/// its expiry an expansion; `list_price` ignores it.
#[test]
fn coupon_expiry_is_an_expansion() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 10_000, "usd", "month", 1);
    a.objects.push(json!({"id": "SPRING20", "object": "coupon", "duration": "repeating", "duration_in_months": 2, "percent_off": 20.0}));
    a.objects.push(json!({"id": "di_1", "object": "discount", "coupon": "SPRING20", "customer": "cus_1", "subscription": "sub_1", "start": t("2024-01-01"), "end": t("2024-03-01")}));
    a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
    for (m, n) in [("2024-01-01", "2024-02-01"), ("2024-02-01", "2024-03-01")] {
        a.invoice("cus_1", Some("sub_1"), "usd", m, Some(m), &[Line { discount: Some(("di_1", 2_000)), ..line("pro", 1, 10_000, m, n) }], json!({}));
    }
    a.monthly("cus_1", "sub_1", "pro", 1, 10_000, &["2024-03-01", "2024-04-01"]);
    assert_eq!(a.moves("cus_1", "2024-03-15", Settings::default()), vec![(NewBusiness, 8_000, t("2024-01-01")), (Expansion, 2_000, t("2024-03-01"))]);
    assert_eq!(a.moves("cus_1", "2024-03-15", settings(&[("discount_policy", "list_price")])), vec![(NewBusiness, 10_000, t("2024-01-01"))]);
}

/// A 14-day trial whose first invoice is paid ten days late: a lead during the trial; new business from
/// the service start once paid (`new_customer_on = paid`), nothing before the payment is known.
#[test]
fn trial_converting_with_a_late_payment() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 5_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({"trial_start": t("2024-01-01"), "trial_end": t("2024-01-15")}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-01-01", Some("2024-01-01"), &[line("pro", 1, 0, "2024-01-01", "2024-01-15")], json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-01-15", Some("2024-01-25"), &[line("pro", 1, 5_000, "2024-01-15", "2024-02-15")], json!({}));
    // Before the payment is known: still a lead.
    assert_eq!(a.moves("cus_1", "2024-01-20", Settings::default()), vec![]);
    let (snap, r) = a.run("2024-01-20", Settings::default());
    let c = snap.customers.ids.get("cus_1").unwrap();
    assert_eq!(format!("{:?}", r.customers[c as usize].status), "Lead");
    // Once paid: new business dated from the service start.
    assert_eq!(a.moves("cus_1", "2024-02-01", Settings::default()), vec![(NewBusiness, 5_000, t("2024-01-15"))]);
    // Counting on issue (Stripe's habit) makes it a customer the day the trial ends.
    assert_eq!(a.moves("cus_1", "2024-01-20", settings(&[("new_customer_on", "issued")])), vec![(NewBusiness, 5_000, t("2024-01-15"))]);
}

/// A failed renewal on an automatically charged subscription, paid 12 days later: past due in between,
/// no movement by default, none either with a 30-day auto-churn; with a 7-day one it churns on day 7 and
/// comes back the day it is paid.
#[test]
fn past_due_then_recovered() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 5_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_1", "sub_1", "pro", 1, 5_000, &["2024-01-01", "2024-02-01"]);
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-02-01", Some("2024-02-13"), &[line("pro", 1, 5_000, "2024-02-01", "2024-03-01")], json!({}));
    let (snap, r) = a.run("2024-02-10", Settings::default());
    let c = snap.customers.ids.get("cus_1").unwrap();
    assert_eq!(format!("{:?}", r.customers[c as usize].status), "PastDue");
    assert_eq!(a.moves("cus_1", "2024-02-20", Settings::default()), vec![(NewBusiness, 5_000, t("2024-01-01"))]);
    assert_eq!(a.moves("cus_1", "2024-02-20", settings(&[("delinquency_churn_days", "30")])), vec![(NewBusiness, 5_000, t("2024-01-01"))]);
    assert_eq!(
        a.moves("cus_1", "2024-02-20", settings(&[("delinquency_churn_days", "7")])),
        vec![(NewBusiness, 5_000, t("2024-01-01")), (Churn, -5_000, t("2024-02-08")), (Reactivation, 5_000, t("2024-02-13"))]
    );
}

/// A renewal never paid: dunning ends with the subscription `unpaid` (Stripe event) — churn then by default
/// (`unpaid_is_churn`); with `delinquency_churn_days = 14` it churns 14 days after the failed charge.
#[test]
fn past_due_then_auto_churned() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 5_000, "usd", "month", 1);
    let sub = a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_1", "sub_1", "pro", 1, 5_000, &["2024-01-01", "2024-02-01"]);
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-02-01", None, &[line("pro", 1, 5_000, "2024-02-01", "2024-03-01")], json!({}));
    let mut past_due = sub.clone();
    past_due["status"] = json!("past_due");
    a.event("customer.subscription.updated", "2024-02-01T01:00:00Z", past_due);
    let mut unpaid = sub;
    unpaid["status"] = json!("unpaid");
    a.event("customer.subscription.updated", "2024-02-22", unpaid);
    assert_eq!(a.moves("cus_1", "2024-03-15", Settings::default()), vec![(NewBusiness, 5_000, t("2024-01-01")), (Churn, -5_000, t("2024-02-22"))]);
    assert_eq!(
        a.moves("cus_1", "2024-03-15", settings(&[("delinquency_churn_days", "14"), ("unpaid_is_churn", "false")])),
        vec![(NewBusiness, 5_000, t("2024-01-01")), (Churn, -5_000, t("2024-02-15"))]
    );
    // ChartMogul keeps unpaid subscriptions' MRR.
    assert_eq!(a.moves("cus_1", "2024-03-15", settings(&[("preset", "chartmogul")])), vec![(NewBusiness, 5_000, t("2024-01-01"))]);
}

/// `pause_collection` set on March 10 and cleared on April 10 (events): $0 while paused — a contraction and
/// an expansion by default, churn and reactivation with `pause_policy = churn`, nothing with `keep`.
#[test]
fn pause_and_resume() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 5_000, "usd", "month", 1);
    let sub = a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_1", "sub_1", "pro", 1, 5_000, &["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]);
    let mut paused = sub.clone();
    paused["pause_collection"] = json!({"behavior": "void", "resumes_at": null});
    a.event("customer.subscription.updated", "2024-03-10", paused);
    a.event("customer.subscription.updated", "2024-04-10", sub);
    let base = [(NewBusiness, 5_000, t("2024-01-01"))];
    let with = |rest: &[(Kind, i64, Ts)]| base.iter().chain(rest).copied().collect::<Vec<_>>();
    assert_eq!(a.moves("cus_1", "2024-05-15", Settings::default()), with(&[(Contraction, -5_000, t("2024-03-10")), (Expansion, 5_000, t("2024-04-10"))]));
    assert_eq!(a.moves("cus_1", "2024-05-15", settings(&[("pause_policy", "churn")])), with(&[(Churn, -5_000, t("2024-03-10")), (Reactivation, 5_000, t("2024-04-10"))]));
    assert_eq!(a.moves("cus_1", "2024-05-15", settings(&[("pause_policy", "keep")])), with(&[]));
}

/// Canceled immediately on March 5 and subscribed again on March 20: churn and reactivation in the same
/// month, each on its day; the month's roll-forward holds.
#[test]
fn cancel_and_reactivate_in_the_same_month() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 10_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({"status": "canceled", "canceled_at": t("2024-03-05"), "ended_at": t("2024-03-05")}));
    a.monthly("cus_1", "sub_1", "pro", 1, 10_000, &["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]);
    a.subscription("sub_2", "cus_1", &[("si_2", "pro", 1)], "2024-03-20", json!({}));
    a.monthly("cus_1", "sub_2", "pro", 1, 10_000, &["2024-03-20", "2024-04-20"]);
    assert_eq!(
        a.moves("cus_1", "2024-04-01", Settings::default()),
        vec![(NewBusiness, 10_000, t("2024-01-01")), (Churn, -10_000, t("2024-03-05")), (Reactivation, 10_000, t("2024-03-20"))]
    );
}

/// Spec §10.2 P2 in Stripe terms: €100/month reported in USD, the rate moving at each renewal, then a
/// renewal at €120: FX impact kept apart from the movements.
#[test]
fn eur_customer_with_the_rate_moving_at_renewal() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro_eur", 10_000, "eur", "month", 1);
    a.price("pro_eur_120", 12_000, "eur", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "pro_eur_120", 1)], "2024-01-01", json!({"currency": "eur"}));
    for (m, n, p, amt) in [("2024-01-01", "2024-02-01", "pro_eur", 10_000), ("2024-02-01", "2024-03-01", "pro_eur", 10_000), ("2024-03-01", "2024-04-01", "pro_eur_120", 12_000)] {
        a.invoice("cus_1", Some("sub_1"), "eur", m, Some(m), &[line(p, 1, amt, m, n)], json!({}));
    }
    a.fx("2024-01-01", "EUR", "USD", "1.10");
    a.fx("2024-02-01", "EUR", "USD", "1.05");
    a.fx("2024-03-01", "EUR", "USD", "1.08");
    let (snap, r) = a.run("2024-03-15", Settings::default());
    let c = snap.customers.ids.get("cus_1").unwrap();
    let rows: Vec<(Kind, i64, i64, Ts)> = r.ledger.iter().filter(|x| x.customer == c).map(|x| (x.kind, x.amount, x.fx, x.t)).collect();
    assert_eq!(rows, vec![(NewBusiness, 11_000, 0, t("2024-01-01")), (FxOnly, 0, -500, t("2024-02-01")), (Expansion, 2_160, 300, t("2024-03-01"))]);
    assert_eq!(r.customers[c as usize].mrr, 12_960);
}

/// A billing migration inside Stripe: the old customer record stops, a new one (same company domain and
/// the old id in `metadata.external_id`) starts the next day — merged into one account, no churn, no new
/// business, and the old record shows as merged.
#[test]
fn duplicated_customer_is_merged() {
    let mut a = Account::default();
    a.customer("cus_old", "ops@acme.example", json!({}));
    a.customer("cus_new", "billing@acme.example", json!({"external_id": "cus_old"}));
    a.price("pro", 10_000, "usd", "month", 1);
    a.subscription("sub_old", "cus_old", &[("si_1", "pro", 1)], "2024-01-01", json!({"status": "canceled", "canceled_at": t("2024-04-01"), "ended_at": t("2024-04-01")}));
    a.monthly("cus_old", "sub_old", "pro", 1, 10_000, &["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]);
    a.subscription("sub_new", "cus_new", &[("si_2", "pro", 1)], "2024-04-01", json!({}));
    a.monthly("cus_new", "sub_new", "pro", 1, 10_000, &["2024-04-01", "2024-05-01", "2024-06-01"]);
    let (snap, r) = a.run("2024-05-15", Settings::default());
    let rows: Vec<(Kind, Ts)> = r.ledger.iter().filter(|x| x.kind != FxOnly).map(|x| (x.kind, x.t)).collect();
    assert_eq!(rows, vec![(NewBusiness, t("2024-01-01"))], "one account, one new business, no churn");
    let old = snap.customers.ids.get("cus_old").unwrap();
    assert_eq!(format!("{:?}", r.customers[old as usize].status), "Merged");
    // Without merge rules the migration is churn plus new business.
    let (_, r2) = a.run("2024-05-15", settings(&[("merge_customers_on", "")]));
    let mut rows2: Vec<(Ts, Kind)> = r2.ledger.iter().filter(|x| x.kind != FxOnly).map(|x| (x.t, x.kind)).collect();
    rows2.sort();
    assert_eq!(rows2, vec![(t("2024-01-01"), NewBusiness), (t("2024-04-01"), NewBusiness), (t("2024-04-01"), Churn)]);
}

/// Spec §10.1 "ST two subscriptions": cancelling the first of two paid subscriptions is a contraction, the
/// second a churn.
#[test]
fn two_subscriptions_cancelled_one_after_the_other() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("a", 3_000, "usd", "month", 1);
    a.price("b", 2_000, "usd", "month", 1);
    a.subscription("sub_a", "cus_1", &[("si_a", "a", 1)], "2024-01-01", json!({"status": "canceled", "canceled_at": t("2024-03-01"), "ended_at": t("2024-03-01")}));
    a.subscription("sub_b", "cus_1", &[("si_b", "b", 1)], "2024-01-01", json!({"status": "canceled", "canceled_at": t("2024-04-01"), "ended_at": t("2024-04-01")}));
    a.monthly("cus_1", "sub_a", "a", 1, 3_000, &["2024-01-01", "2024-02-01", "2024-03-01"]);
    a.monthly("cus_1", "sub_b", "b", 1, 2_000, &["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]);
    assert_eq!(
        a.moves("cus_1", "2024-05-01", Settings::default()),
        vec![(NewBusiness, 5_000, t("2024-01-01")), (Contraction, -3_000, t("2024-03-01")), (Churn, -2_000, t("2024-04-01"))]
    );
}

/// Spec §10.1 "BM": $120/year is 10; $10/month with a 50 % forever coupon is 5; a 100 % coupon on a paying
/// $10 customer is a contraction to $0 (stays a customer) by default and a churn under `baremetrics`.
#[test]
fn baremetrics_examples_in_stripe_terms() {
    let mut a = Account::default();
    for c in ["cus_y", "cus_h", "cus_f"] {
        a.customer(c, &format!("x@{c}.example"), json!({}));
    }
    a.price("year", 12_000, "usd", "year", 1);
    a.price("month", 1_000, "usd", "month", 1);
    a.objects.push(json!({"id": "HALF", "object": "coupon", "duration": "forever", "percent_off": 50}));
    a.objects.push(json!({"id": "FREE", "object": "coupon", "duration": "forever", "percent_off": 100}));
    a.objects.push(json!({"id": "di_h", "object": "discount", "coupon": "HALF", "customer": "cus_h", "subscription": "sub_h", "start": t("2024-01-01"), "end": null}));
    a.objects.push(json!({"id": "di_f", "object": "discount", "coupon": "FREE", "customer": "cus_f", "subscription": "sub_f", "start": t("2024-03-01"), "end": null}));
    a.subscription("sub_y", "cus_y", &[("si_y", "year", 1)], "2024-01-01", json!({}));
    a.invoice("cus_y", Some("sub_y"), "usd", "2024-01-01", Some("2024-01-01"), &[line("year", 1, 12_000, "2024-01-01", "2025-01-01")], json!({}));
    a.subscription("sub_h", "cus_h", &[("si_h", "month", 1)], "2024-01-01", json!({}));
    a.subscription("sub_f", "cus_f", &[("si_f", "month", 1)], "2024-01-01", json!({}));
    for w in MONTHS_2024[..5].windows(2) {
        let (m, n) = (w[0], w[1]);
        a.invoice("cus_h", Some("sub_h"), "usd", m, Some(m), &[Line { discount: Some(("di_h", 500)), ..line("month", 1, 1_000, m, n) }], json!({}));
        let free = m >= "2024-03-01";
        a.invoice("cus_f", Some("sub_f"), "usd", m, Some(m), &[Line { discount: free.then_some(("di_f", 1_000)), ..line("month", 1, 1_000, m, n) }], json!({}));
    }
    assert_eq!(a.moves("cus_y", "2024-04-15", Settings::default()), vec![(NewBusiness, 1_000, t("2024-01-01"))]);
    assert_eq!(a.moves("cus_h", "2024-04-15", Settings::default()), vec![(NewBusiness, 500, t("2024-01-01"))]);
    assert_eq!(a.moves("cus_f", "2024-04-15", Settings::default()), vec![(NewBusiness, 1_000, t("2024-01-01")), (Contraction, -1_000, t("2024-03-01"))]);
    assert_eq!(a.moves("cus_f", "2024-04-15", settings(&[("preset", "baremetrics")])), vec![(NewBusiness, 1_000, t("2024-01-01")), (Churn, -1_000, t("2024-03-01"))]);
}

/// Spec §10.1 "ST glossary" and "CM customer churn" at company scale: 100 monthly subscribers at $100 and
/// 50 annual at $600 give MRR 12,500; then 16 cancel in March, one of whom joined that month: the customer
/// churn rate is 15 / 150 = 0.10 (the joiner is in neither the numerator nor the denominator).
#[test]
fn company_scale_mrr_and_customer_churn() {
    let mut a = Account::default();
    a.price("m", 10_000, "usd", "month", 1);
    a.price("y", 60_000, "usd", "year", 1);
    for i in 0..100 {
        let (c, s) = (format!("cus_m{i}"), format!("sub_m{i}"));
        a.customer(&c, &format!("x@m{i}.example"), json!({}));
        let cancels = i < 15;
        let extra = if cancels { json!({"status": "canceled", "canceled_at": t("2024-03-10"), "ended_at": t("2024-03-10")}) } else { json!({}) };
        a.subscription(&s, &c, &[(&format!("si_m{i}"), "m", 1)], "2024-01-01", extra);
        a.monthly(&c, &s, "m", 1, 10_000, &MONTHS_2024[..4]);
    }
    for i in 0..50 {
        let (c, s) = (format!("cus_y{i}"), format!("sub_y{i}"));
        a.customer(&c, &format!("x@y{i}.example"), json!({}));
        a.subscription(&s, &c, &[(&format!("si_y{i}"), "y", 1)], "2024-02-01", json!({}));
        a.invoice(&c, Some(&s), "usd", "2024-02-01", Some("2024-02-01"), &[line("y", 1, 60_000, "2024-02-01", "2025-02-01")], json!({}));
    }
    // Joins March 5, cancels March 20.
    a.customer("cus_j", "x@j.example", json!({}));
    a.subscription("sub_j", "cus_j", &[("si_j", "m", 1)], "2024-03-05", json!({"status": "canceled", "canceled_at": t("2024-03-20"), "ended_at": t("2024-03-20")}));
    a.invoice("cus_j", Some("sub_j"), "usd", "2024-03-05", Some("2024-03-05"), &[line("m", 1, 10_000, "2024-03-05", "2024-04-05")], json!({}));
    let (_, r) = a.run("2024-04-15", Settings::default());
    let get = |kpi: &str, period: &str| r.tables[0].get(kpi, period, None).unwrap_or_else(|| panic!("{kpi} {period}")).clone();
    assert_eq!(get("mrr", "2024-02").value.map(|v| v.as_f64()), Some(1_250_000.0));
    let churn = get("customer_churn_rate", "2024-03");
    assert_eq!(churn.numerator.map(|v| v.as_f64()), Some(15.0));
    assert_eq!(churn.denominator.map(|v| v.as_f64()), Some(150.0));
    assert_eq!(churn.value.map(|v| v.as_f64()), Some(0.10));
}

/// `holdfast reconcile stripe`: each difference between Holdfast's month-end MRR and Stripe's export gets
/// its reason — rounding, the setting whose Stripe value removes it, missing data, or unexplained.
#[test]
fn reconciliation_names_the_reason_of_each_difference() {
    use holdfast_engine::reconcile::{reconcile, ExternalMrr, Reason};
    use holdfast_engine::settings::Preset;
    let mut a = Account::default();
    a.price("pro", 10_000, "usd", "month", 1);
    // cus_ok: the same in both.
    a.customer("cus_ok", "a@ok.example", json!({}));
    a.subscription("sub_ok", "cus_ok", &[("si_ok", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_ok", "sub_ok", "pro", 1, 10_000, &MONTHS_2024[..4]);
    // cus_unpaid: first invoice issued, never paid — Stripe counts it (issued), Holdfast waits for payment.
    a.customer("cus_unpaid", "a@unpaid.example", json!({}));
    a.subscription("sub_unpaid", "cus_unpaid", &[("si_u", "pro", 1)], "2024-02-01", json!({}));
    a.invoice("cus_unpaid", Some("sub_unpaid"), "usd", "2024-02-01", None, &[line("pro", 1, 10_000, "2024-02-01", "2024-03-01")], json!({}));
    // cus_custom: invoiced 90 on a 100 price — Stripe's subscription-state MRR says 100.
    a.customer("cus_custom", "a@custom.example", json!({}));
    a.subscription("sub_custom", "cus_custom", &[("si_c", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_custom", "sub_custom", "pro", 1, 9_000, &MONTHS_2024[..4]);
    let (snap, _) = a.run("2024-03-15", Settings::default());
    let x = |c: &str, m: &str, v: i64| ExternalMrr { customer: c.into(), month: m.into(), mrr: v };
    let export = vec![
        x("cus_ok", "2024-01", 10_000),
        x("cus_ok", "2024-02", 10_001), // rounding
        x("cus_unpaid", "2024-02", 10_000),
        x("cus_custom", "2024-02", 10_000),
        x("cus_ghost", "2024-02", 5_000), // never imported
    ];
    let stripe = Settings::preset(Preset::Stripe);
    let r = reconcile(&snap, &Settings::default(), &stripe, t("2024-03-15"), &export).unwrap();
    let got: Vec<(String, String, i64, Reason, Vec<String>)> = r.differences.iter().map(|d| (d.customer.clone(), d.month.clone(), d.difference, d.reason.clone(), d.settings.clone())).collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            ("cus_custom".into(), "2024-01".into(), 9_000, Reason::MissingData, s(&[])),
            ("cus_custom".into(), "2024-02".into(), -1_000, Reason::Policy, s(&["mrr_source"])),
            ("cus_ghost".into(), "2024-02".into(), -5_000, Reason::MissingData, s(&[])),
            ("cus_ok".into(), "2024-02".into(), -1, Reason::Rounding, s(&[])),
            ("cus_unpaid".into(), "2024-02".into(), -10_000, Reason::Policy, s(&["mrr_source", "new_customer_on"])),
        ]
    );
    let feb = r.months.iter().find(|m| m.month == "2024-02").unwrap();
    assert_eq!((feb.external, feb.holdfast), (35_001, 19_000));
    assert_eq!(feb.by_reason.values().sum::<i64>(), feb.holdfast - feb.external, "reasons add up to the month's difference");
}

/// A credit note of 20 on February's $100 line: ignored by default (like ChartMogul); with
/// `credits_reduce_mrr` (ProfitWell) February's MRR is 80 — a contraction and, with March at full price,
/// an expansion. A void credit note counts for nothing.
#[test]
fn credit_note_reduces_mrr_only_when_credits_count() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 10_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_1", "sub_1", "pro", 1, 10_000, &MONTHS_2024[..5]);
    // The February invoice is the second one; its line is il_4 (ids count invoices and lines together).
    let feb_line = a.objects.iter().filter(|o| o["object"] == "invoice").nth(1).unwrap()["lines"]["data"][0]["id"].as_str().unwrap().to_string();
    a.objects.push(json!({"id": "cn_1", "object": "credit_note", "customer": "cus_1", "currency": "usd", "created": t("2024-02-10"), "status": "issued", "total": 2_000,
        "lines": {"object": "list", "has_more": false, "data": [{"id": "cnli_1", "object": "credit_note_line_item", "type": "invoice_line_item", "invoice_line_item": feb_line, "amount": 2_000, "discount_amounts": []}]}}));
    a.objects.push(json!({"id": "cn_void", "object": "credit_note", "customer": "cus_1", "currency": "usd", "created": t("2024-03-10"), "status": "void", "total": 5_000,
        "lines": {"object": "list", "has_more": false, "data": [{"id": "cnli_2", "object": "credit_note_line_item", "type": "invoice_line_item", "invoice_line_item": feb_line, "amount": 5_000, "discount_amounts": []}]}}));
    assert_eq!(a.moves("cus_1", "2024-04-15", Settings::default()), vec![(NewBusiness, 10_000, t("2024-01-01"))]);
    assert_eq!(
        a.moves("cus_1", "2024-04-15", settings(&[("credits_reduce_mrr", "true")])),
        vec![(NewBusiness, 10_000, t("2024-01-01")), (Contraction, -2_000, t("2024-02-01")), (Expansion, 2_000, t("2024-03-01"))]
    );
}

/// A subscription schedule created on March 10 moves the $100 subscription to 3 seats from April 1: CMRR
/// counts the $300 from the day it is known until it takes effect; MRR does not. Released on March 20, it
/// commits nothing any more. A schedule ending in `cancel` takes the subscription out of CMRR until its end.
#[test]
fn subscription_schedules_move_cmrr_until_they_take_effect() {
    let base = || {
        let mut a = Account::default();
        a.customer("cus_1", "a@acme.example", json!({}));
        a.price("pro", 10_000, "usd", "month", 1);
        a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
        a.monthly("cus_1", "sub_1", "pro", 1, 10_000, &MONTHS_2024[..4]);
        a
    };
    let schedule = |end_behavior: &str, phases: Value| {
        json!({"id": "sub_sched_1", "object": "subscription_schedule", "subscription": "sub_1", "customer": "cus_1", "status": "active", "created": t("2024-03-10"),
            "end_behavior": end_behavior, "released_at": null, "canceled_at": null, "phases": phases})
    };
    let upgrade = json!([
        {"start_date": t("2024-01-01"), "end_date": t("2024-04-01"), "items": [{"price": "pro", "quantity": 1}]},
        {"start_date": t("2024-04-01"), "end_date": t("2024-07-01"), "items": [{"price": "pro", "quantity": 3}]}
    ]);
    let cmrr = |a: &Account, period: &str| {
        let (_, r) = a.run("2024-03-31T12:00:00Z", Settings::default());
        let k = r.tables[0].get("cmrr", period, None).unwrap_or_else(|| panic!("cmrr {period}"));
        (k.value.map(|v| v.as_f64() as i64), r.tables[0].get("mrr", period, None).unwrap().value.map(|v| v.as_f64() as i64))
    };
    let mut a = base();
    a.objects.push(schedule("release", upgrade.clone()));
    assert_eq!(cmrr(&a, "2024-02"), (Some(10_000), Some(10_000)), "not known in February");
    assert_eq!(cmrr(&a, "2024-03"), (Some(30_000), Some(10_000)), "known from March 10, takes effect April 1");

    // Released on March 20 (an event): no longer committed.
    let mut a = base();
    let s = schedule("release", upgrade.clone());
    a.objects.push(s.clone());
    let mut released = s;
    released["status"] = json!("released");
    released["released_at"] = json!(t("2024-03-20"));
    a.event("subscription_schedule.released", "2024-03-20", released);
    assert_eq!(cmrr(&a, "2024-03"), (Some(10_000), Some(10_000)));

    // Ends in cancellation on June 1: CMRR 0 from March 10.
    let mut a = base();
    a.objects.push(schedule("cancel", json!([{"start_date": t("2024-01-01"), "end_date": t("2024-06-01"), "items": [{"price": "pro", "quantity": 1}]}])));
    assert_eq!(cmrr(&a, "2024-03"), (Some(0), Some(10_000)));
    // With a 30-day horizon the June cancellation is too far ahead at the end of March.
    let (_, r) = a.run("2024-03-31T12:00:00Z", settings(&[("cmrr_horizon_days", "30")]));
    assert_eq!(r.tables[0].get("cmrr", "2024-03", None).unwrap().value.map(|v| v.as_f64() as i64), Some(10_000));
}

/// A $50 licensed price plus a metered price billed $30 in arrears: metered revenue is left out by default
/// (ChartMogul, Stripe) and counted over its usage period with `include_metered` (ProfitWell).
#[test]
fn metered_prices_are_excluded_unless_asked() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("base", 5_000, "usd", "month", 1);
    a.objects.push(json!({"id": "calls", "object": "price", "currency": "usd", "unit_amount": 1, "type": "recurring", "product": "prod_calls",
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "metered"}}));
    a.subscription("sub_1", "cus_1", &[("si_1", "base", 1), ("si_2", "calls", 1)], "2024-01-01", json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-01-01", Some("2024-01-01"), &[line("base", 1, 5_000, "2024-01-01", "2024-02-01")], json!({}));
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-02-01", Some("2024-02-01"), &[line("base", 1, 5_000, "2024-02-01", "2024-03-01"), line("calls", 3_000, 3_000, "2024-01-01", "2024-02-01")], json!({}));
    assert_eq!(a.moves("cus_1", "2024-02-15", Settings::default()), vec![(NewBusiness, 5_000, t("2024-01-01"))]);
    assert_eq!(
        a.moves("cus_1", "2024-02-15", settings(&[("include_metered", "true")])),
        vec![(NewBusiness, 8_000, t("2024-01-01")), (Contraction, -3_000, t("2024-02-01"))]
    );
}

/// February's invoice written off as uncollectible: counted by default; with `uncollectible_policy =
/// exclude` February bills nothing — churn on February 1 and reactivation when March is paid.
#[test]
fn uncollectible_invoice_by_policy() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 5_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_1", "sub_1", "pro", 1, 5_000, &["2024-01-01", "2024-02-01"]);
    a.invoice("cus_1", Some("sub_1"), "usd", "2024-02-01", None, &[line("pro", 1, 5_000, "2024-02-01", "2024-03-01")], json!({"status": "uncollectible"}));
    a.monthly("cus_1", "sub_1", "pro", 1, 5_000, &["2024-03-01", "2024-04-01"]);
    assert_eq!(a.moves("cus_1", "2024-03-15", Settings::default()), vec![(NewBusiness, 5_000, t("2024-01-01"))]);
    assert_eq!(
        a.moves("cus_1", "2024-03-15", settings(&[("uncollectible_policy", "exclude")])),
        vec![(NewBusiness, 5_000, t("2024-01-01")), (Churn, -5_000, t("2024-02-01")), (Reactivation, 5_000, t("2024-03-01"))]
    );
}

/// February's $50 invoice refunded $20 through its charge: ignored by default; `deduct` counts $30 for
/// February; `exclude_fully_refunded` only drops invoices refunded in full.
#[test]
fn refunds_by_policy() {
    let mut a = Account::default();
    a.customer("cus_1", "a@acme.example", json!({}));
    a.price("pro", 5_000, "usd", "month", 1);
    a.subscription("sub_1", "cus_1", &[("si_1", "pro", 1)], "2024-01-01", json!({}));
    a.monthly("cus_1", "sub_1", "pro", 1, 5_000, &["2024-01-01", "2024-02-01"]);
    let feb = a.invoice("cus_1", Some("sub_1"), "usd", "2024-02-01", Some("2024-02-01"), &[line("pro", 1, 5_000, "2024-02-01", "2024-03-01")], json!({"charge": "ch_feb"}));
    a.objects.push(json!({"id": "ch_feb", "object": "charge", "amount": 5_000, "amount_refunded": 2_000, "invoice": feb, "currency": "usd"}));
    a.monthly("cus_1", "sub_1", "pro", 1, 5_000, &["2024-03-01", "2024-04-01"]);
    let nb = (NewBusiness, 5_000, t("2024-01-01"));
    assert_eq!(a.moves("cus_1", "2024-03-15", Settings::default()), vec![nb]);
    assert_eq!(a.moves("cus_1", "2024-03-15", settings(&[("refund_policy", "exclude_fully_refunded")])), vec![nb]);
    assert_eq!(
        a.moves("cus_1", "2024-03-15", settings(&[("refund_policy", "deduct")])),
        vec![nb, (Contraction, -2_000, t("2024-02-01")), (Expansion, 2_000, t("2024-03-01"))]
    );
}
