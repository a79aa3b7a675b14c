//! A small builder for hand-made billing histories used by the golden and property tests.
#![allow(dead_code)]
use holdfast_core::fx::Rate;
use holdfast_core::records::*;
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{date_to_day, parse_date, parse_instant};
use holdfast_core::{Currency, Grain};
use holdfast_engine::timeline::Kind;
use holdfast_engine::{run, KpiTable, Run, RunSpec, SegmentBy, Settings};
use std::collections::BTreeMap;

pub fn t(s: &str) -> i64 {
    parse_instant(s).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Default, Clone)]
pub struct B {
    pub ds: Dataset,
    n: usize,
}

pub struct Line<'a> {
    pub customer: &'a str,
    pub sub: &'a str,
    pub item: Option<&'a str>,
    pub plan: &'a str,
    pub a: &'a str,
    pub b: &'a str,
    pub amount: i64,
    pub prorated: bool,
    pub issued: Option<&'a str>,
    pub paid: Option<&'a str>,
    pub currency: Option<&'a str>,
    pub discount: Option<(&'a str, i64)>,
    pub quantity: i64,
}

impl<'a> Line<'a> {
    pub fn new(customer: &'a str, sub: &'a str, plan: &'a str, a: &'a str, b: &'a str, amount: i64) -> Self {
        Line { customer, sub, item: None, plan, a, b, amount, prorated: false, issued: None, paid: None, currency: None, discount: None, quantity: 1 }
    }
    pub fn prorated(mut self) -> Self {
        self.prorated = true;
        self
    }
    pub fn item(mut self, i: &'a str) -> Self {
        self.item = Some(i);
        self
    }
    pub fn issued(mut self, i: &'a str) -> Self {
        self.issued = Some(i);
        self
    }
    pub fn paid(mut self, p: &'a str) -> Self {
        self.paid = Some(p);
        self
    }
    pub fn currency(mut self, c: &'a str) -> Self {
        self.currency = Some(c);
        self
    }
    pub fn discount(mut self, id: &'a str, amount: i64) -> Self {
        self.discount = Some((id, amount));
        self
    }
    pub fn quantity(mut self, q: i64) -> Self {
        self.quantity = q;
        self
    }
}

impl B {
    pub fn new() -> B {
        B::default()
    }

    pub fn plan(&mut self, id: &str, amount: i64, interval: Interval, count: u32) -> &mut Self {
        self.plan_in(id, amount, interval, count, "USD")
    }

    pub fn plan_in(&mut self, id: &str, amount: i64, interval: Interval, count: u32, cur: &str) -> &mut Self {
        self.ds.plans.push(PlanRecord {
            id: id.into(),
            name: Some(id.into()),
            product: None,
            currency: Currency::parse(cur).unwrap(),
            amount,
            price_type: PriceType::Recurring,
            interval: Some(interval),
            interval_count: count,
            usage_type: UsageType::Licensed,
        });
        self
    }

    pub fn customer(&mut self, id: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.ds.customers.push(CustomerRecord {
            id: id.into(),
            attributes: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            ..Default::default()
        });
        self
    }

    pub fn customer_version(&mut self, id: &str, from: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.ds.customers.push(CustomerRecord {
            id: id.into(),
            valid_from: Some(t(from)),
            attributes: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        });
        self
    }

    /// A subscription with lifecycle facts.
    pub fn sub(&mut self, id: &str, customer: &str, status: SubscriptionStatus, canceled_at: Option<&str>, ended_at: Option<&str>) -> &mut Self {
        self.ds.subscriptions.push(SubscriptionRecord {
            id: id.into(),
            customer_id: customer.into(),
            status,
            currency: None,
            created_at: None,
            started_at: None,
            trial_start: None,
            trial_end: None,
            cancel_at_period_end: false,
            cancel_at: None,
            canceled_at: canceled_at.map(t),
            ended_at: ended_at.map(t),
            unpaid_since: None,
            pause_start: None,
            pause_end: None,
            cancellation_reason: None,
        });
        self
    }

    pub fn discount(&mut self, id: &str, duration: DiscountDuration) -> &mut Self {
        self.discount_until(id, duration, None)
    }

    pub fn discount_until(&mut self, id: &str, duration: DiscountDuration, end: Option<&str>) -> &mut Self {
        self.ds.discounts.push(DiscountRecord {
            id: id.into(),
            name: None,
            duration,
            duration_in_months: None,
            percent_off_milli: None,
            amount_off: None,
            currency: None,
            customer_id: None,
            subscription_id: None,
            start: None,
            end: end.map(t),
        });
        self
    }

    pub fn fx(&mut self, date: &str, base: &str, quote: &str, rate: &str) -> &mut Self {
        self.ds.fx_rates.push(FxRateRecord {
            day: date_to_day(parse_date(date).unwrap()),
            base: Currency::parse(base).unwrap(),
            quote: Currency::parse(quote).unwrap(),
            rate: Rate::parse(rate).unwrap(),
        });
        self
    }

    /// One invoice holding one line; issued at the line start and paid then unless told otherwise.
    pub fn line(&mut self, l: Line) -> &mut Self {
        self.n += 1;
        let inv = format!("in_{:05}", self.n);
        let issued = t(l.issued.unwrap_or(l.a));
        let paid = Some(l.paid.map(t).unwrap_or(issued));
        let currency = Currency::parse(l.currency.unwrap_or("USD")).unwrap();
        self.ds.invoices.push(InvoiceRecord {
            id: inv.clone(),
            customer_id: l.customer.into(),
            currency,
            status: InvoiceStatus::Paid,
            issued_at: issued,
            due_at: Some(issued),
            paid_at: paid,
            total: l.amount - l.discount.map(|d| d.1).unwrap_or(0),
            amount_paid: l.amount - l.discount.map(|d| d.1).unwrap_or(0),
            amount_refunded: 0,
        });
        self.ds.invoice_lines.push(InvoiceLineRecord {
            id: format!("il_{:05}", self.n),
            invoice_id: inv,
            subscription_id: Some(l.sub.into()),
            item_id: l.item.map(Into::into),
            plan_id: Some(l.plan.into()),
            price_type: PriceType::Recurring,
            period_start: Some(t(l.a)),
            period_end: Some(t(l.b)),
            amount: l.amount,
            discounts: l.discount.map(|(id, a)| vec![LineDiscount { discount_id: id.into(), amount: a }]).unwrap_or_default(),
            tax_inclusive: 0,
            quantity: l.quantity,
            prorated: l.prorated,
        });
        self
    }

    /// Monthly lines of `amount` from `from` for `months` months.
    pub fn monthly(&mut self, customer: &str, sub: &str, plan: &str, from: &str, months: u32, amount: i64) -> &mut Self {
        let mut a = t(from);
        for _ in 0..months {
            let b = holdfast_engine::line_mrr::add_interval(a, Interval::Month, 1);
            let (sa, sb) = (holdfast_core::time::format_instant(a), holdfast_core::time::format_instant(b));
            self.line(Line::new(customer, sub, plan, &sa, &sb, amount));
            a = b;
        }
        self
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from_dataset(&self.ds).unwrap()
    }

    pub fn run(&self, s: &Settings, as_of: &str) -> Run {
        self.run_spec(s, RunSpec { as_of: Some(t(as_of)), ..RunSpec::default() })
    }

    pub fn run_spec(&self, s: &Settings, spec: RunSpec) -> Run {
        run(&self.snapshot(), s, &spec).unwrap_or_else(|e| panic!("{e}"))
    }
}

pub fn run_grain(b: &B, s: &Settings, as_of: &str, grain: Grain, seg: Vec<SegmentBy>) -> Run {
    b.run_spec(s, RunSpec { as_of: Some(t(as_of)), grain, segment_by: seg, ..RunSpec::default() })
}

/// Ledger rows of a customer as (kind, amount).
pub fn moves(r: &Run, snap: &Snapshot, customer: &str) -> Vec<(Kind, i64)> {
    let c = snap.customers.ids.get(customer).unwrap();
    r.ledger.iter().filter(|x| x.customer == c && x.kind != Kind::FxOnly).map(|x| (x.kind, x.amount)).collect()
}

pub fn money(tbl: &KpiTable, kpi: &str, period: &str) -> i64 {
    match tbl.get(kpi, period, None).unwrap_or_else(|| panic!("no {kpi} for {period}")).value {
        Some(holdfast_engine::Value::Money(v)) | Some(holdfast_engine::Value::Count(v)) => v,
        ref v => panic!("{kpi} {period}: {v:?}"),
    }
}

pub fn ratio(tbl: &KpiTable, kpi: &str, period: &str) -> Option<f64> {
    tbl.get(kpi, period, None).unwrap_or_else(|| panic!("no {kpi} for {period}")).value.map(|v| v.as_f64())
}

pub fn approx(a: Option<f64>, b: f64) {
    let a = a.unwrap_or_else(|| panic!("expected {b}, got null"));
    assert!((a - b).abs() < 1e-3, "expected {b}, got {a}");
}
