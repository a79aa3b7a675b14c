//! Test helpers: a small, independent re-computation of headline KPIs from the generated records, used to check
//! that the simulated company looks like a real one. Deliberately simple (spec §2.1/§2.2 line MRR without the
//! policy knobs), and independent of the simulator's internals.
#![allow(dead_code)]
use holdfast_core::records::{Dataset, Interval, InvoiceStatus, PriceType, UsageType};
use holdfast_core::Ts;
use holdfast_sim::SimConfig;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::collections::HashMap;

pub fn plus_months(ts: Ts, n: i64) -> Ts {
    let z = Timestamp::from_second(ts).unwrap().to_zoned_datetime(TimeZone::UTC);
    z.checked_add(n.months()).unwrap().timestamp().as_second()
}

/// Month-end instants `t_k = start + k months − 1 s`, k = 0..=months (t_0 is just before the start).
pub fn month_ends(cfg: &SimConfig) -> Vec<Ts> {
    let start = holdfast_core::time::date_to_ts(cfg.start);
    (0..=cfg.months as i64).map(|k| plus_months(start, k) - 1).collect()
}

pub struct Kpis {
    /// Paying customers at each month end.
    pub customers: Vec<usize>,
    /// MRR in USD (fixed rates) at each month end.
    pub mrr: Vec<f64>,
    /// Logo churn of month k (k ≥ 1): share of customers paying at t_{k−1} not paying at t_k.
    pub logo_churn: Vec<f64>,
    /// 12-month point-to-point NRR ending at month k (k ≥ 12).
    pub nrr12: Vec<f64>,
    /// Per customer id, MRR in USD at each month end.
    pub by_customer: HashMap<String, Vec<f64>>,
}

/// Line-based MRR per customer and month end: eligible lines (recurring, licensed, with a period, invoice not
/// void/draft) covering the instant, net of discounts and inclusive tax, normalised to a month, prorated lines
/// scaled by |full period| / |line period|; zero once the subscription ended or became unpaid.
pub fn kpis(ds: &Dataset, cfg: &SimConfig) -> Kpis {
    let ends = month_ends(cfg);
    let plans: HashMap<&str, _> = ds.plans.iter().map(|p| (p.id.as_str(), p)).collect();
    let invs: HashMap<&str, _> = ds.invoices.iter().map(|i| (i.id.as_str(), i)).collect();
    let subs: HashMap<&str, _> = ds.subscriptions.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut by_sub: HashMap<&str, Vec<f64>> = HashMap::new();
    for l in &ds.invoice_lines {
        let inv = invs[l.invoice_id.as_str()];
        if matches!(inv.status, InvoiceStatus::Void | InvoiceStatus::Draft) || l.price_type != PriceType::Recurring {
            continue;
        }
        let Some(plan) = l.plan_id.as_deref().map(|p| plans[p]) else { continue };
        if plan.usage_type != UsageType::Licensed {
            continue;
        }
        let (Some(a), Some(b)) = (l.period_start, l.period_end) else { continue };
        let annual = plan.interval == Some(Interval::Year);
        let net = (l.amount - l.discounts.iter().map(|d| d.amount).sum::<i64>() - l.tax_inclusive) as f64;
        let mut v = if annual { net / 12.0 } else { net };
        if l.prorated {
            let full_start = plus_months(b, if annual { -12 } else { -1 });
            v *= (b - full_start) as f64 / (b - a) as f64;
        }
        let rate = match inv.currency.code() {
            "EUR" => 1.08,
            "GBP" => 1.27,
            _ => 1.0,
        };
        let sid = l.subscription_id.as_deref().unwrap();
        let sub = subs[sid];
        let stop = [sub.ended_at, sub.unpaid_since].into_iter().flatten().min().unwrap_or(Ts::MAX);
        let e = by_sub.entry(sid).or_insert_with(|| vec![0.0; ends.len()]);
        for (k, &t) in ends.iter().enumerate() {
            if a <= t && t < b && t < stop {
                e[k] += v * rate / 100.0;
            }
        }
    }
    let mut by_customer: HashMap<String, Vec<f64>> = HashMap::new();
    for (sid, v) in by_sub {
        let c = &subs[sid].customer_id;
        let e = by_customer.entry(c.clone()).or_insert_with(|| vec![0.0; ends.len()]);
        for (k, x) in v.into_iter().enumerate() {
            e[k] += x.max(0.0);
        }
    }
    let n = ends.len();
    let mut customers = vec![0; n];
    let mut mrr = vec![0.0; n];
    let mut logo_churn = vec![f64::NAN; n];
    let mut nrr12 = vec![f64::NAN; n];
    for k in 0..n {
        let (mut c, mut m) = (0, 0.0);
        for v in by_customer.values() {
            if v[k] > 0.005 {
                c += 1;
                m += v[k];
            }
        }
        customers[k] = c;
        mrr[k] = m;
        if k >= 1 {
            let (mut base, mut lost) = (0, 0);
            for v in by_customer.values() {
                if v[k - 1] > 0.005 {
                    base += 1;
                    if v[k] <= 0.005 {
                        lost += 1;
                    }
                }
            }
            logo_churn[k] = if base > 0 { lost as f64 / base as f64 } else { f64::NAN };
        }
        if k >= 12 {
            let (mut m0, mut m1) = (0.0, 0.0);
            for v in by_customer.values() {
                if v[k - 12] > 0.005 {
                    m0 += v[k - 12];
                    m1 += v[k];
                }
            }
            nrr12[k] = if m0 > 0.0 { m1 / m0 } else { f64::NAN };
        }
    }
    Kpis { customers, mrr, logo_churn, nrr12, by_customer }
}

/// Mean of the finite values of `xs[from..]`.
pub fn mean_from(xs: &[f64], from: usize) -> f64 {
    let v: Vec<f64> = xs[from.min(xs.len())..].iter().copied().filter(|x| x.is_finite()).collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

use holdfast_core::records::{DiscountDuration, SubscriptionStatus};
use std::collections::{BTreeMap, BTreeSet};

/// How often each realism feature occurs in a data set (counts of records or entities exhibiting it).
pub fn census(ds: &Dataset, cfg: &SimConfig) -> BTreeMap<&'static str, usize> {
    let end = cfg.end();
    let mut c: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut add = |k: &'static str, n: usize| *c.entry(k).or_insert(0) += n;
    let plans: HashMap<&str, _> = ds.plans.iter().map(|p| (p.id.as_str(), p)).collect();
    let invs: HashMap<&str, _> = ds.invoices.iter().map(|i| (i.id.as_str(), i)).collect();
    let subs: HashMap<&str, _> = ds.subscriptions.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut lines_by_inv: HashMap<&str, Vec<_>> = HashMap::new();
    for l in &ds.invoice_lines {
        lines_by_inv.entry(l.invoice_id.as_str()).or_default().push(l);
    }
    let product = |plan: &str| plans[plan].product.as_deref().unwrap_or("");

    // Catalogue.
    let mut intervals: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for p in &ds.plans {
        if p.usage_type == UsageType::Licensed && p.price_type == PriceType::Recurring {
            intervals.entry(p.product.as_deref().unwrap_or("")).or_default().insert(format!("{:?}", p.interval));
        }
    }
    add("products_monthly_and_annual", intervals.values().filter(|s| s.len() == 2).count());
    for p in &ds.plans {
        if p.interval == Some(Interval::Year) {
            let m = ds.plans.iter().find(|q| q.id == p.id.replace("_annual_", "_monthly_")).unwrap();
            if p.amount == 10 * m.amount {
                add("annual_price_is_10x_monthly", 1);
            }
        }
    }

    // Lines.
    for l in &ds.invoice_lines {
        let inv = invs[l.invoice_id.as_str()];
        let plan = l.plan_id.as_deref().map(|p| plans[p]);
        let Some(plan) = plan else { continue };
        match (plan.price_type, plan.usage_type) {
            (PriceType::OneTime, _) => {
                if l.period_start.is_none() {
                    add("setup_fee_lines", 1)
                }
            }
            (_, UsageType::Metered) => add("metered_lines", 1),
            _ => {
                if product(&plan.id) == "prod_starter" && l.quantity == 1 && l.amount > 0 && !l.prorated {
                    add("flat_plan_lines", 1);
                }
                if plan.amount > 0 && l.quantity > 1 && l.amount == plan.amount * l.quantity {
                    add("per_seat_lines", 1);
                }
                if let (Some(a), Some(b)) = (l.period_start, l.period_end) {
                    if !l.prorated && l.amount > 0 {
                        let n = if plan.interval == Some(Interval::Year) { 12 } else { 1 };
                        if plus_months(a, n) == b || plus_months(b, -n) == a {
                            add(if n == 12 { "annual_lines_one_year" } else { "monthly_lines_one_month" }, 1);
                        }
                    }
                }
            }
        }
        let disc: i64 = l.discounts.iter().map(|d| d.amount).sum();
        if disc != 0 {
            add("discounted_lines", 1);
        }
        if l.amount > 0 && disc == l.amount {
            add("hundred_percent_discount_lines", 1);
        }
        if l.tax_inclusive != 0 {
            add("tax_inclusive_lines", 1);
        }
        if l.amount == 0 && l.period_start.is_some() {
            let s = subs[l.subscription_id.as_deref().unwrap()];
            if s.trial_start == l.period_start && s.trial_end == l.period_end {
                add("zero_trial_lines", 1);
            }
        }
        let _ = inv;
    }

    // Invoices.
    for i in &ds.invoices {
        *c.entry(match i.currency.code() {
            "USD" => "invoices_usd",
            "EUR" => "invoices_eur",
            "GBP" => "invoices_gbp",
            _ => "invoices_other",
        })
        .or_insert(0) += 1;
        match i.status {
            InvoiceStatus::Void => *c.entry("void_invoices").or_insert(0) += 1,
            InvoiceStatus::Uncollectible => *c.entry("uncollectible_invoices").or_insert(0) += 1,
            InvoiceStatus::Open if i.due_at.is_some_and(|d| d < end) => {
                *c.entry("open_past_due_at_end").or_insert(0) += 1
            }
            _ => {}
        }
        if i.status == InvoiceStatus::Paid && i.paid_at.zip(i.due_at).is_some_and(|(p, d)| p > d) {
            *c.entry("paid_after_due").or_insert(0) += 1;
        }
        if i.amount_refunded > 0 {
            *c.entry("refunded_invoices").or_insert(0) += 1;
        }
        let ls = &lines_by_inv[i.id.as_str()];
        let pr: Vec<_> = ls.iter().filter(|l| l.prorated).collect();
        if pr.len() == 2
            && pr[0].item_id == pr[1].item_id
            && pr[0].period_start == pr[1].period_start
            && pr[0].amount < 0
            && pr[1].amount > 0
        {
            *c.entry("proration_pairs").or_insert(0) += 1;
            let (old, new) = (plans[pr[0].plan_id.as_deref().unwrap()], plans[pr[1].plan_id.as_deref().unwrap()]);
            let key = if old.id != new.id {
                if new.amount > old.amount {
                    "prorated_upgrades"
                } else {
                    "prorated_downgrades"
                }
            } else if pr[1].quantity > pr[0].quantity {
                "prorated_seat_expansions"
            } else {
                "prorated_seat_contractions"
            };
            *c.entry(key).or_insert(0) += 1;
        }
        if pr.len() == 1 && ls.len() == 1 && pr[0].amount < 0 {
            *c.entry("cancellation_credit_invoices").or_insert(0) += 1;
        }
    }
    let mut add = |k: &'static str, n: usize| *c.entry(k).or_insert(0) += n;

    // Item versions: changes at renewal without proration.
    let mut items: HashMap<&str, Vec<_>> = HashMap::new();
    for it in &ds.subscription_items {
        items.entry(it.id.as_str()).or_default().push(it);
    }
    let prorated_at: BTreeSet<(String, Ts)> = ds
        .invoice_lines
        .iter()
        .filter(|l| l.prorated)
        .map(|l| (l.item_id.clone().unwrap_or_default(), l.period_start.unwrap_or(0)))
        .collect();
    for (id, vs) in &items {
        for w in vs.windows(2) {
            if !prorated_at.contains(&(id.to_string(), w[1].valid_from)) {
                add(if w[0].plan_id != w[1].plan_id { "renewal_plan_switches" } else { "renewal_seat_changes" }, 1);
            }
            if w[0].quantity != w[1].quantity {
                add("seat_quantity_changes", 1);
            }
        }
    }

    // Discounts.
    for d in ds.discounts.iter().filter(|d| d.customer_id.is_some()) {
        add(
            match d.duration {
                DiscountDuration::Once => "discounts_once",
                DiscountDuration::Repeating => "discounts_repeating",
                DiscountDuration::Forever => "discounts_forever",
            },
            1,
        );
        if d.amount_off.is_some() {
            add("discounts_amount_off", 1);
        }
        if d.duration == DiscountDuration::Repeating {
            // Expired: a later regular line of the same subscription without any discount.
            let e = d.end.unwrap();
            let later = ds.invoice_lines.iter().any(|l| {
                l.subscription_id == d.subscription_id
                    && !l.prorated
                    && l.amount > 0
                    && l.discounts.is_empty()
                    && l.period_start.is_some_and(|a| a >= e)
                    && invs[l.invoice_id.as_str()].issued_at >= e
            });
            if later {
                add("repeating_discounts_expired", 1);
            }
        }
    }

    // Customers.
    let mut months = BTreeSet::new();
    let start = holdfast_core::time::date_to_ts(cfg.start);
    let mid = plus_months(start, cfg.months as i64 / 2);
    let (mut first_half, mut second_half) = (0, 0);
    let mut base: HashMap<&str, &holdfast_core::records::CustomerRecord> = HashMap::new();
    for cu in &ds.customers {
        if cu.valid_from.is_none() {
            base.insert(cu.id.as_str(), cu);
            let t = cu.created_at.unwrap();
            months.insert((t - start) / (28 * 86_400));
            if t < mid {
                first_half += 1
            } else {
                second_half += 1
            }
            if ["country", "size", "acquisition_channel", "industry"].iter().all(|k| cu.attributes.contains_key(*k)) {
                add("customers_with_core_attributes", 1);
            }
        }
    }
    for cu in ds.customers.iter().filter(|c| c.valid_from.is_some()) {
        add("customer_versions", 1);
        if cu.attributes.get("size") != base[cu.id.as_str()].attributes.get("size") {
            add("customer_size_changes", 1);
        }
    }
    add("signup_months", months.len());
    add("signups_growth", (second_half > first_half) as usize);
    let distinct = |k: &str| ds.customers.iter().filter_map(|c| c.attributes.get(k)).collect::<BTreeSet<_>>().len();
    add("distinct_channels", distinct("acquisition_channel"));
    add("distinct_sizes", distinct("size"));
    add("distinct_countries", distinct("country"));
    add("distinct_industries", distinct("industry"));

    // Subscriptions.
    let mut paid_subs: BTreeSet<&str> = BTreeSet::new();
    let mut first_paid: HashMap<&str, (Ts, Ts)> = HashMap::new(); // sub -> (issued, paid) of first positive invoice
    for i in &ds.invoices {
        for l in &lines_by_inv[i.id.as_str()] {
            let sid = l.subscription_id.as_deref().unwrap();
            if i.status == InvoiceStatus::Paid && i.total > 0 {
                paid_subs.insert(sid);
                first_paid.entry(sid).or_insert((i.issued_at, i.paid_at.unwrap()));
            }
        }
    }
    let mut reasons = BTreeSet::new();
    let mut by_customer: HashMap<&str, Vec<_>> = HashMap::new();
    for s in &ds.subscriptions {
        by_customer.entry(s.customer_id.as_str()).or_default().push(s);
        if let (Some(ts), Some(te)) = (s.trial_start, s.trial_end) {
            add("trial_subscriptions", 1);
            if te - ts == 14 * 86_400 {
                add("trials_14_days", 1);
            }
            if s.ended_at.is_some() && !paid_subs.contains(s.id.as_str()) {
                add("trials_never_converted", 1);
            }
            if let Some((issued, paid)) = first_paid.get(s.id.as_str()) {
                if paid - issued >= 5 * 86_400 {
                    add("trials_converted_late", 1);
                }
            }
        }
        match s.status {
            SubscriptionStatus::IncompleteExpired => add("incomplete_expired", 1),
            SubscriptionStatus::Unpaid => add("unpaid_subscriptions", 1),
            SubscriptionStatus::PastDue => add("past_due_subscriptions_at_end", 1),
            SubscriptionStatus::Trialing => add("trialing_at_end", 1),
            SubscriptionStatus::Paused => add("paused_at_end", 1),
            SubscriptionStatus::Active => add("active_at_end", 1),
            SubscriptionStatus::Canceled => add("canceled", 1),
            _ => {}
        }
        if let Some(r) = s.cancellation_reason.as_deref() {
            reasons.insert(r.to_string());
            if r == "payment_failed" && s.status == SubscriptionStatus::Canceled {
                add("canceled_for_nonpayment", 1);
            }
        }
        if s.unpaid_since.is_some() {
            add("unpaid_since_set", 1);
        }
        if s.cancel_at_period_end && s.ended_at.is_some() && s.ended_at == s.cancel_at {
            add("canceled_at_period_end", 1);
        }
        if s.cancel_at_period_end && s.ended_at.is_none() {
            add("cancel_scheduled_at_end", 1);
        }
        if !s.cancel_at_period_end
            && s.ended_at.is_some()
            && s.ended_at == s.canceled_at
            && s.cancellation_reason.as_deref() != Some("payment_failed")
            && s.status == SubscriptionStatus::Canceled
        {
            add("canceled_immediately", 1);
        }
        if let (Some(a), Some(b)) = (s.pause_start, s.pause_end) {
            add("paused_subscriptions", 1);
            let voids = ds
                .invoices
                .iter()
                .filter(|i| {
                    i.status == InvoiceStatus::Void
                        && a <= i.issued_at
                        && i.issued_at < b
                        && lines_by_inv[i.id.as_str()]
                            .iter()
                            .any(|l| l.subscription_id.as_deref() == Some(s.id.as_str()))
                })
                .count();
            add("void_invoices_during_pause", voids);
        }
    }
    add("distinct_cancellation_reasons", reasons.iter().filter(|r| r.as_str() != "payment_failed").count());
    let is_addon = |s: &holdfast_core::records::SubscriptionRecord| {
        items.values().any(|vs| vs[0].subscription_id == s.id && product(&vs[0].plan_id) == "prod_insights")
    };
    for (_, ss) in by_customer {
        if ss.len() < 2 {
            continue;
        }
        let paid: Vec<_> = ss.iter().filter(|s| paid_subs.contains(s.id.as_str())).collect();
        let mut concurrent = false;
        let mut reactivated = false;
        for (i, a) in paid.iter().enumerate() {
            for b in &paid[i + 1..] {
                let a_end = [a.ended_at, a.unpaid_since].into_iter().flatten().min().unwrap_or(end);
                let b_end = [b.ended_at, b.unpaid_since].into_iter().flatten().min().unwrap_or(end);
                if a.created_at.unwrap() < b_end && b.created_at.unwrap() < a_end {
                    concurrent = true;
                }
                if !is_addon(a) && !is_addon(b) && b.created_at.unwrap() >= a_end {
                    reactivated = true;
                }
            }
        }
        add("customers_with_concurrent_subscriptions", concurrent as usize);
        add("reactivated_customers", reactivated as usize);
    }

    // FX.
    let eur: Vec<_> = ds
        .fx_rates
        .iter()
        .filter(|r| r.base.code() == "EUR" && r.quote.code() == "USD")
        .map(|r| r.rate.as_f64())
        .collect();
    let gbp: Vec<_> = ds
        .fx_rates
        .iter()
        .filter(|r| r.base.code() == "GBP" && r.quote.code() == "USD")
        .map(|r| r.rate.as_f64())
        .collect();
    add("fx_eur_usd_rows", eur.len());
    add("fx_gbp_usd_rows", gbp.len());
    let spread = |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min);
    add("fx_eur_usd_spread_bp", (spread(&eur) * 10_000.0) as usize);
    add("fx_gbp_usd_spread_bp", (spread(&gbp) * 10_000.0) as usize);
    c
}
