//! Field rows → records, one function per kind, with the cross-field rules of each kind.
use crate::fp::{fp128, InvoiceCurrencies};
use crate::schema::{customer as cu, discount as di, fx as fxc, invoice as iv, item as it, line as li, scheduled as sc, plan as pl, subscription as su};
use crate::src::{money_expected, CurrencyCache, Raw, Res, Src, EXPECT_CURRENCY};
use crate::SourceKind;
use holdfast_core::fx::Rate;
use holdfast_core::money::{parse_decimal_scaled, Currency};
use holdfast_core::records::*;
use holdfast_core::time::{date_to_day, format_instant, parse_date, Ts};
use serde_json::Value;

const NON_NEGATIVE_INT: &str = "a whole number, 0 or more";

/// What parsing needs to remember across rows and files of one import.
#[derive(Default)]
pub(crate) struct ParseState {
    pub currencies: CurrencyCache,
    /// Invoice id fingerprint → the invoice's currency, to parse its lines' amounts.
    pub invoice_currency: InvoiceCurrencies,
}

pub(crate) fn parse_record<S: Src>(kind: SourceKind, s: &S, st: &mut ParseState) -> Res<Record> {
    Ok(match kind {
        SourceKind::Customers => Record::Customer(customer(s)?),
        SourceKind::Plans => Record::Plan(plan(s, st)?),
        SourceKind::Discounts => Record::Discount(discount(s, st)?),
        SourceKind::FxRates => Record::FxRate(fx_rate(s, st)?),
        SourceKind::Subscriptions => Record::Subscription(subscription(s, st)?),
        SourceKind::SubscriptionItems => Record::SubscriptionItem(item(s)?),
        SourceKind::ScheduledItems => Record::ScheduledItem(scheduled_item(s)?),
        SourceKind::Invoices => Record::Invoice(invoice(s, st)?),
        SourceKind::InvoiceLines => Record::InvoiceLine(line(s, st, None)?),
    })
}

/// `end` must not be before `start` when both are given.
fn check_order<S: Src>(s: &S, start: Option<Ts>, end: Option<Ts>, end_field: usize, start_name: &str) -> Res<()> {
    if let (Some(a), Some(b)) = (start, end) {
        if b < a {
            let t = s.text(end_field)?.map(|t| t.into_owned()).unwrap_or_default();
            return Err(s.err(end_field, Some(&t), format!("an instant not before {start_name} ({})", format_instant(a))));
        }
    }
    Ok(())
}

pub(crate) fn customer<S: Src>(s: &S) -> Res<CustomerRecord> {
    Ok(CustomerRecord {
        id: s.req_string(cu::ID)?,
        external_ids: s.list(cu::EXTERNAL_IDS)?,
        name: s.opt_string(cu::NAME)?,
        email: s.opt_string(cu::EMAIL)?,
        domain: s.opt_string(cu::DOMAIN)?,
        created_at: s.opt_ts(cu::CREATED_AT)?,
        valid_from: s.opt_ts(cu::VALID_FROM)?,
        attributes: s.attributes()?,
    })
}

pub(crate) fn plan<S: Src>(s: &S, st: &mut ParseState) -> Res<PlanRecord> {
    let id = s.req_string(pl::ID)?;
    let currency = s.req_currency(pl::CURRENCY, &mut st.currencies)?;
    let amount = s.req_money(pl::AMOUNT, currency)?;
    if amount < 0 {
        let t = s.req_text(pl::AMOUNT)?;
        return Err(s.err(pl::AMOUNT, Some(&t), format!("a price of 0 or more ({})", money_expected(currency))));
    }
    let price_type: PriceType = s.req_enum(pl::PRICE_TYPE)?;
    let interval: Option<Interval> = s.opt_enum(pl::INTERVAL)?;
    match (price_type, interval) {
        (PriceType::Recurring, None) => {
            return Err(s.err(
                pl::INTERVAL,
                None,
                format!("one of {} (required when price_type is recurring)", Interval::expected()),
            ))
        }
        (PriceType::OneTime, Some(i)) => {
            return Err(s.err(pl::INTERVAL, Some(i.as_str()), "no interval: one_time prices do not recur"))
        }
        _ => {}
    }
    Ok(PlanRecord {
        id,
        name: s.opt_string(pl::NAME)?,
        product: s.opt_string(pl::PRODUCT)?,
        currency,
        amount,
        price_type,
        interval,
        interval_count: s.opt_count(pl::INTERVAL_COUNT)?.unwrap_or(1),
        usage_type: s.opt_enum(pl::USAGE_TYPE)?.unwrap_or(UsageType::Licensed),
    })
}

pub(crate) fn discount<S: Src>(s: &S, st: &mut ParseState) -> Res<DiscountRecord> {
    let id = s.req_string(di::ID)?;
    let duration: DiscountDuration = s.req_enum(di::DURATION)?;
    let duration_in_months = s.opt_count(di::DURATION_IN_MONTHS)?;
    match (duration, duration_in_months) {
        (DiscountDuration::Repeating, None) => {
            return Err(s.err(di::DURATION_IN_MONTHS, None, "a positive whole number (required when duration is repeating)"))
        }
        (DiscountDuration::Once | DiscountDuration::Forever, Some(m)) => {
            return Err(s.err(
                di::DURATION_IN_MONTHS,
                Some(&m.to_string()),
                format!("no value: duration_in_months applies only to repeating discounts (duration is {duration})"),
            ))
        }
        _ => {}
    }
    let percent_off_milli = match s.text(di::PERCENT_OFF)? {
        None => None,
        Some(t) => match parse_decimal_scaled(&t, 3) {
            Ok(v) if (0..=100_000).contains(&v) => Some(v),
            _ => return Err(s.err(di::PERCENT_OFF, Some(&t), "a percentage from 0 to 100 with at most 3 decimals, e.g. 12.5")),
        },
    };
    let currency = s.opt_currency(di::CURRENCY, &mut st.currencies)?;
    let amount_off = match (s.text(di::AMOUNT_OFF)?, currency) {
        (None, _) => None,
        (Some(_), None) => return Err(s.err(di::CURRENCY, None, format!("{EXPECT_CURRENCY}, because amount_off is set"))),
        (Some(t), Some(c)) => match c.parse_major(&t) {
            Ok(v) if v >= 0 => Some(v),
            _ => return Err(s.err(di::AMOUNT_OFF, Some(&t), format!("{} (0 or more)", money_expected(c)))),
        },
    };
    if percent_off_milli.is_some() && amount_off.is_some() {
        let t = s.req_text(di::AMOUNT_OFF)?;
        return Err(s.err(di::AMOUNT_OFF, Some(&t), "no value, because percent_off is set (a discount is a percentage or an amount, not both)"));
    }
    let start = s.opt_ts(di::START)?;
    let end = s.opt_ts(di::END)?;
    check_order(s, start, end, di::END, "start")?;
    Ok(DiscountRecord {
        id,
        name: s.opt_string(di::NAME)?,
        duration,
        duration_in_months,
        percent_off_milli,
        amount_off,
        currency,
        customer_id: s.opt_string(di::CUSTOMER_ID)?,
        subscription_id: s.opt_string(di::SUBSCRIPTION_ID)?,
        start,
        end,
    })
}

pub(crate) fn fx_rate<S: Src>(s: &S, st: &mut ParseState) -> Res<FxRateRecord> {
    let t = s.req_text(fxc::DATE)?;
    let day = parse_date(&t).map(date_to_day).map_err(|_| s.err(fxc::DATE, Some(&t), "a date YYYY-MM-DD"))?;
    let base = s.req_currency(fxc::BASE, &mut st.currencies)?;
    let quote = s.req_currency(fxc::QUOTE, &mut st.currencies)?;
    if base == quote {
        return Err(s.err(fxc::QUOTE, Some(quote.code()), "a currency different from base"));
    }
    let t = s.req_text(fxc::RATE)?;
    let rate = Rate::parse(&t).map_err(|_| s.err(fxc::RATE, Some(&t), "a positive decimal rate with at most 9 decimals (units of quote per 1 base)"))?;
    Ok(FxRateRecord { day, base, quote, rate })
}

pub(crate) fn subscription<S: Src>(s: &S, st: &mut ParseState) -> Res<SubscriptionRecord> {
    let r = SubscriptionRecord {
        id: s.req_string(su::ID)?,
        customer_id: s.req_string(su::CUSTOMER_ID)?,
        status: s.req_enum(su::STATUS)?,
        currency: s.opt_currency(su::CURRENCY, &mut st.currencies)?,
        created_at: s.opt_ts(su::CREATED_AT)?,
        started_at: s.opt_ts(su::STARTED_AT)?,
        trial_start: s.opt_ts(su::TRIAL_START)?,
        trial_end: s.opt_ts(su::TRIAL_END)?,
        cancel_at_period_end: s.opt_bool(su::CANCEL_AT_PERIOD_END)?.unwrap_or(false),
        cancel_at: s.opt_ts(su::CANCEL_AT)?,
        canceled_at: s.opt_ts(su::CANCELED_AT)?,
        ended_at: s.opt_ts(su::ENDED_AT)?,
        unpaid_since: s.opt_ts(su::UNPAID_SINCE)?,
        pause_start: s.opt_ts(su::PAUSE_START)?,
        pause_end: s.opt_ts(su::PAUSE_END)?,
        cancellation_reason: s.opt_string(su::CANCELLATION_REASON)?,
    };
    check_order(s, r.trial_start, r.trial_end, su::TRIAL_END, "trial_start")?;
    check_order(s, r.pause_start, r.pause_end, su::PAUSE_END, "pause_start")?;
    Ok(r)
}

pub(crate) fn item<S: Src>(s: &S) -> Res<SubscriptionItemRecord> {
    let r = SubscriptionItemRecord {
        id: s.req_string(it::ID)?,
        subscription_id: s.req_string(it::SUBSCRIPTION_ID)?,
        plan_id: s.req_string(it::PLAN_ID)?,
        quantity: s.opt_int(it::QUANTITY, 0, NON_NEGATIVE_INT)?.unwrap_or(1),
        valid_from: s.req_ts(it::VALID_FROM)?,
        valid_to: s.opt_ts(it::VALID_TO)?,
    };
    check_order(s, Some(r.valid_from), r.valid_to, it::VALID_TO, "valid_from")?;
    Ok(r)
}

pub(crate) fn scheduled_item<S: Src>(s: &S) -> Res<ScheduledItemRecord> {
    let r = ScheduledItemRecord {
        id: s.req_string(sc::ID)?,
        subscription_id: s.req_string(sc::SUBSCRIPTION_ID)?,
        plan_id: s.req_string(sc::PLAN_ID)?,
        quantity: s.opt_int(sc::QUANTITY, 0, NON_NEGATIVE_INT)?.unwrap_or(1),
        valid_from: s.req_ts(sc::VALID_FROM)?,
        valid_to: s.opt_ts(sc::VALID_TO)?,
        scheduled_at: s.req_ts(sc::SCHEDULED_AT)?,
        withdrawn_at: s.opt_ts(sc::WITHDRAWN_AT)?,
    };
    check_order(s, Some(r.valid_from), r.valid_to, sc::VALID_TO, "valid_from")?;
    Ok(r)
}

pub(crate) fn invoice<S: Src>(s: &S, st: &mut ParseState) -> Res<InvoiceRecord> {
    let id = s.req_string(iv::ID)?;
    let currency = s.req_currency(iv::CURRENCY, &mut st.currencies)?;
    let non_negative = |f: usize| -> Res<i64> {
        match s.opt_money(f, currency)? {
            None => Ok(0),
            Some(v) if v >= 0 => Ok(v),
            Some(_) => {
                let t = s.req_text(f)?;
                Err(s.err(f, Some(&t), format!("{} (0 or more)", money_expected(currency))))
            }
        }
    };
    let r = InvoiceRecord {
        customer_id: s.req_string(iv::CUSTOMER_ID)?,
        currency,
        status: s.req_enum(iv::STATUS)?,
        issued_at: s.req_ts(iv::ISSUED_AT)?,
        due_at: s.opt_ts(iv::DUE_AT)?,
        paid_at: s.opt_ts(iv::PAID_AT)?,
        total: s.req_money(iv::TOTAL, currency)?,
        amount_paid: non_negative(iv::AMOUNT_PAID)?,
        amount_refunded: non_negative(iv::AMOUNT_REFUNDED)?,
        id,
    };
    st.invoice_currency.insert(fp128(r.id.as_bytes()), currency);
    Ok(r)
}

/// An invoice line. `embedded_in` is the invoice (id, currency) whose `lines` array holds this line.
pub(crate) fn line<S: Src>(s: &S, st: &mut ParseState, embedded_in: Option<(&str, Currency)>) -> Res<InvoiceLineRecord> {
    let id = s.req_string(li::ID)?;
    let (invoice_id, known) = match embedded_in {
        Some((iid, c)) => {
            if let Some(t) = s.text(li::INVOICE_ID)? {
                if t != iid {
                    return Err(s.err(li::INVOICE_ID, Some(&t), format!("{iid:?} (the invoice this line is embedded in) or no value")));
                }
            }
            (iid.to_string(), Some(c))
        }
        None => {
            let iid = s.req_string(li::INVOICE_ID)?;
            let known = st.invoice_currency.get(fp128(iid.as_bytes()));
            (iid, known)
        }
    };
    let currency = match (s.opt_currency(li::CURRENCY, &mut st.currencies)?, known) {
        (Some(c), Some(k)) if c != k => {
            return Err(s.err(li::CURRENCY, Some(c.code()), format!("{k}, the currency of invoice {invoice_id:?} (or no value)")))
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            return Err(s.err(
                li::INVOICE_ID,
                Some(&invoice_id),
                "an invoice read earlier in this import, or a `currency` on the line (amounts are parsed in the invoice's currency)",
            ))
        }
    };
    let price_type: PriceType = s.req_enum(li::PRICE_TYPE)?;
    let period_start = s.opt_ts(li::PERIOD_START)?;
    let period_end = s.opt_ts(li::PERIOD_END)?;
    match (period_start, period_end) {
        (Some(_), None) => {
            return Err(s.err(li::PERIOD_END, None, "a value, because period_start is set (give both or neither)"))
        }
        (None, Some(_)) => {
            return Err(s.err(li::PERIOD_START, None, "a value, because period_end is set (give both or neither)"))
        }
        _ => check_order(s, period_start, period_end, li::PERIOD_END, "period_start")?,
    }
    let amount = s.req_money(li::AMOUNT, currency)?;
    let discounts = line_discounts(s, currency)?;
    Ok(InvoiceLineRecord {
        id,
        invoice_id,
        subscription_id: s.opt_string(li::SUBSCRIPTION_ID)?,
        item_id: s.opt_string(li::ITEM_ID)?,
        plan_id: s.opt_string(li::PLAN_ID)?,
        price_type,
        period_start,
        period_end,
        amount,
        discounts,
        tax_inclusive: s.opt_money(li::TAX_INCLUSIVE, currency)?.unwrap_or(0),
        quantity: s.opt_int(li::QUANTITY, 0, NON_NEGATIVE_INT)?.unwrap_or(1),
        prorated: s.opt_bool(li::PRORATED)?.unwrap_or(false),
    })
}

/// `discount_id:amount|discount_id:amount` (amounts in major units), or a JSON array of
/// `{"discount_id": …, "amount": …}` objects (or of `discount_id:amount` strings).
fn line_discounts<S: Src>(s: &S, c: Currency) -> Res<Vec<LineDiscount>> {
    let f = li::DISCOUNTS;
    let expected = || {
        format!(
            "discount_id:amount pairs separated by `|`, amounts in major units of {c} with at most {} decimals (e.g. coupon_a:5.00|coupon_b:1.50)",
            c.exponent()
        )
    };
    let pair = |p: &str| -> Option<LineDiscount> {
        let (id, amt) = p.rsplit_once(':')?;
        let id = id.trim();
        if id.is_empty() {
            return None;
        }
        Some(LineDiscount { discount_id: id.to_string(), amount: c.parse_major(amt).ok()? })
    };
    match s.raw(f)? {
        None => Ok(Vec::new()),
        Some(Raw::Text(t)) => {
            let mut out = Vec::new();
            for p in t.split('|').filter(|p| !p.trim().is_empty()) {
                out.push(pair(p).ok_or_else(|| s.err(f, Some(&t), expected()))?);
            }
            Ok(out)
        }
        Some(Raw::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for v in a {
                let bad = || s.err(f, Some(&v.to_string()), format!("objects {{\"discount_id\": \"…\", \"amount\": \"…\"}} with amounts in major units of {c} ({})", money_expected(c)));
                let d = match v {
                    Value::String(p) => pair(p).ok_or_else(bad)?,
                    Value::Object(o) => {
                        if o.keys().any(|k| k != "discount_id" && k != "amount") || o.len() != 2 {
                            return Err(bad());
                        }
                        let id = match o.get("discount_id") {
                            Some(Value::String(x)) if !x.trim().is_empty() => x.trim().to_string(),
                            _ => return Err(bad()),
                        };
                        let amount = match o.get("amount") {
                            Some(Value::String(x)) => c.parse_major(x).map_err(|_| bad())?,
                            Some(Value::Number(n)) => c.parse_major(&n.to_string()).map_err(|_| bad())?,
                            _ => return Err(bad()),
                        };
                        LineDiscount { discount_id: id, amount }
                    }
                    _ => return Err(bad()),
                };
                out.push(d);
            }
            Ok(out)
        }
        Some(Raw::Object) => Err(s.err(f, Some("{…}"), expected())),
    }
}
