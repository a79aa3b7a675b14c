//! Subscription and customer MRR timelines and the movement ledger (spec §2.2, §2.4, §2.6).
//!
//! Work is per customer and independent, so [`crate::run`] processes customers in parallel chunks, each
//! with one reusable [`Scratch`] (no allocation per customer once warmed up). For one customer:
//! 1. eligible lines get their native and reporting MRR (§2.1, FX per `fx_policy`);
//! 2. each subscription becomes a step function: supersession within an item, carry-forward across gaps,
//!    the end per `churn_recognition`, delinquency/unpaid/pause intervals;
//! 3. subscriptions merge into customer change points; changes within `grouping_window` are netted and
//!    classified into ledger rows ([`Change`]), FX kept out of movements;
//! 4. renewal terms and CMRR adjustments are derived for the KPI pass.
use crate::line_mrr::{line_mrr, LineDiscounts, LineFacts};
use crate::settings::*;
use holdfast_core::fx::{convert, FxTable, Rate};
use holdfast_core::records::{DiscountDuration, Interval, InvoiceStatus, SubscriptionStatus, UsageType};
use holdfast_core::snapshot::{Snapshot, LINE_DISCOUNTED, LINE_HAS_PERIOD, LINE_PRORATED, LINE_RECURRING, NONE};
use holdfast_core::time::{day_of, Calendar, Ts, SECS_PER_DAY};
use holdfast_core::{Currency, Grain};
use serde::Serialize;
use std::collections::HashMap;

/// Movement type of a ledger row. `FxOnly` rows carry only `fx_impact` (no movement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    NewBusiness,
    Expansion,
    Contraction,
    Churn,
    Reactivation,
    FxOnly,
}

impl Kind {
    pub const MOVEMENTS: [Kind; 5] = [Kind::NewBusiness, Kind::Expansion, Kind::Contraction, Kind::Churn, Kind::Reactivation];
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::NewBusiness => "new_business",
            Kind::Expansion => "expansion",
            Kind::Contraction => "contraction",
            Kind::Churn => "churn",
            Kind::Reactivation => "reactivation",
            Kind::FxOnly => "fx_only",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s.trim() {
            "new_business" | "new" => Kind::NewBusiness,
            "expansion" => Kind::Expansion,
            "contraction" => Kind::Contraction,
            "churn" => Kind::Churn,
            "reactivation" => Kind::Reactivation,
            "fx_only" | "fx" => Kind::FxOnly,
            _ => return None,
        })
    }
    pub fn index(&self) -> usize {
        *self as usize
    }
}

pub const CHANGE_ACTIVE: u8 = 1;
pub const CHANGE_RETURNING: u8 = 2;
pub const CHANGE_NEGATIVE_MRR: u8 = 4;

/// One ledger row: a (grouped) change of one customer's MRR, in the reporting currency.
/// `amount + fx = mrr − previous mrr`, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub t: Ts,
    /// Signed movement amount (churn and contraction negative), minor units.
    pub amount: i64,
    pub fx: i64,
    /// Customer MRR after the change.
    pub mrr: i64,
    pub customer: u32,
    pub kind: Kind,
    pub flags: u8,
    /// How many raw change points were netted into this row.
    pub grouped: u16,
}

impl Change {
    pub fn active(&self) -> bool {
        self.flags & CHANGE_ACTIVE != 0
    }
    pub fn returning(&self) -> bool {
        self.flags & CHANGE_RETURNING != 0
    }
}

/// Per-change facts the KPI pass needs for segmentation, parallel to the customer's changes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChangeExtra {
    pub seats: i64,
    pub plan: u32,
    pub interval: Option<Interval>,
    pub currency: Option<Currency>,
}

/// A term that came due: renewed or not, with MRR before and after (spec §3 `renewal_rate`).
#[derive(Clone, Copy, Debug)]
pub struct Renewal {
    pub t: Ts,
    pub before: i64,
    pub after: i64,
    pub renewed: bool,
    pub complete: bool,
}

/// `delta` is added to MRR to get CMRR over `[from, to)`; it stands for a change taking effect at `effect`
/// (a cancellation, a start, a discount ending), which `cmrr_horizon_days` compares against.
#[derive(Clone, Copy, Debug)]
pub struct CmrrAdjustment {
    pub from: Ts,
    pub to: Ts,
    pub effect: Ts,
    pub delta: i64,
}

/// Status of a customer at `as_of` (spec §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Lead,
    Active,
    PastDue,
    Churned,
    /// A duplicate record merged into another account (its history counts there).
    Merged,
}

impl CustomerStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            CustomerStatus::Lead => "lead",
            CustomerStatus::Active => "active",
            CustomerStatus::PastDue => "past_due",
            CustomerStatus::Churned => "churned",
            CustomerStatus::Merged => "merged",
        }
    }
}

/// Compressed sparse rows: the members of group `g` are `items[offsets[g]..offsets[g+1]]`.
pub struct Csr {
    pub offsets: Vec<u32>,
    pub items: Vec<u32>,
}

impl Csr {
    pub fn build(groups: usize, keys: impl Iterator<Item = u32> + Clone) -> Csr {
        let mut counts = vec![0u32; groups + 1];
        for k in keys.clone() {
            if k != NONE {
                counts[k as usize + 1] += 1;
            }
        }
        for i in 0..groups {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut items = vec![0u32; counts[groups] as usize];
        for (i, k) in keys.enumerate() {
            if k != NONE {
                let slot = &mut next[k as usize];
                items[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        Csr { offsets: counts, items }
    }
    #[inline]
    pub fn get(&self, g: u32) -> &[u32] {
        &self.items[self.offsets[g as usize] as usize..self.offsets[g as usize + 1] as usize]
    }
}

/// Everything shared by all customers of one run.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub s: &'a Settings,
    pub as_of: Ts,
    pub fx: FxTable,
    pub fixed_rates: HashMap<Currency, Rate>,
    /// The account each customer record belongs to after merging (itself when not merged).
    pub canonical: Vec<u32>,
    pub subs_by_customer: Csr,
    pub lines_by_sub: Csr,
    pub items_by_sub: Csr,
    /// Discounts attached to each subscription, and to each customer without a subscription (for
    /// subscription-state MRR, where no invoice line carries the discount).
    pub discounts_by_sub: Csr,
    pub discounts_by_customer: Csr,
    /// Scheduled future phases' items of each subscription (CMRR).
    pub scheduled_by_sub: Csr,
    pub month_cal: Calendar,
    pub day_cal: Calendar,
    utc: bool,
}

/// Reusable per-thread buffers.
#[derive(Default)]
pub struct Scratch {
    lines: Vec<WLine>,
    events: Vec<Ev>,
    raw: Vec<SubPoint>,
    sub_points: Vec<SubPoint>,
    subs: Vec<SubInfo>,
    times: Vec<Ts>,
    /// (from, to, cause, dead): dead = not live and 0; else live at 0
    dead: Vec<(Ts, Ts, Cause, bool)>,
    active_lines: Vec<usize>,
    cust: Vec<CustPoint>,
    invoices_seen: Vec<u32>,
    /// Split points of a subscription-state item version.
    cuts: Vec<Ts>,
    /// Service periods of excluded invoices' lines (not billed).
    excluded: Vec<(Ts, Ts)>,
    ptr: Vec<usize>,
    /// (subscription, due, cancelled) term ends, resolved into renewals once all subscriptions are built
    terms: Vec<(u32, Ts, bool)>,
    /// discount add-backs for CMRR: (from, to, delta)
    addbacks: Vec<CmrrAdjustment>,
    pub changes: Vec<Change>,
    pub extras: Vec<ChangeExtra>,
    pub renewals: Vec<Renewal>,
    pub cmrr: Vec<CmrrAdjustment>,
    pub status: Option<CustomerStatus>,
    /// an eligible line's invoice is unpaid past its due date at `as_of`
    past_due: bool,
}

#[derive(Clone, Copy, Debug)]
struct WLine {
    a: Ts,
    b: Ts,
    issued: Ts,
    native: i64,
    rep: i64,
    addback: i64,
    /// when the discounts behind `addback` end (the line's end if unknown)
    addback_effect: Ts,
    seats: i64,
    plan: u32,
    item: u32,
    invoice: u32,
    prorated: bool,
    /// Usage billed in arrears: it adds to the licensed lines of its item, never replaces them.
    metered: bool,
    interval: Option<Interval>,
}

#[derive(Clone, Copy, Debug)]
struct Ev {
    t: Ts,
    line: usize,
    start: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct SubPoint {
    t: Ts,
    native: i64,
    rep: i64,
    seats: i64,
    plan: u32,
    interval: Option<Interval>,
    live: bool,
    negative: bool,
    cause: Cause,
}

/// Why a subscription's MRR is what it is from a point on (the `cause` of ledger rows, spec §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Its invoice lines (a new service period, price, quantity or discount).
    Lines,
    /// The subscription ended (per `churn_recognition`).
    Ended,
    /// Past due longer than `delinquency_churn_days` (`auto-churned-delinquent`).
    Delinquent,
    /// Dunning ended `unpaid` (`unpaid_is_churn`).
    Unpaid,
    /// Paused (per `pause_policy`).
    Paused,
    /// Trial or not yet paying under subscription-state MRR.
    NotPaying,
    /// Its invoice is excluded (`uncollectible_policy = exclude`, `refund_policy = exclude_fully_refunded`):
    /// the period it bills counts as not billed.
    Excluded,
}

impl Cause {
    pub fn as_str(&self) -> &'static str {
        match self {
            Cause::Lines => "lines",
            Cause::Ended => "ended",
            Cause::Delinquent => "delinquent",
            Cause::Unpaid => "unpaid",
            Cause::Paused => "paused",
            Cause::NotPaying => "not_paying",
            Cause::Excluded => "excluded",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct SubInfo {
    sub: u32,
    currency: Currency,
    start: Ts,
    /// range in `sub_points`
    lo: usize,
    hi: usize,
}

#[derive(Clone, Copy, Debug)]
struct CustPoint {
    t: Ts,
    live: u32,
    rep: i64,
    seats: i64,
    plan: u32,
    interval: Option<Interval>,
    negative: bool,
    /// native and reporting per currency (up to 4 currencies per customer; more are folded into the last)
    cur: [(Option<Currency>, i64, i64); 4],
}

impl<'a> Ctx<'a> {
    pub fn new(snap: &'a Snapshot, s: &'a Settings, as_of: Ts) -> Result<Ctx<'a>, String> {
        let fx = FxTable::build(s.reporting_currency, &snap.fx_rates);
        let mut fixed_rates = HashMap::new();
        for (c, r) in &s.fx_fixed_rates {
            let cur = Currency::parse(c).map_err(|e| format!("fx_fixed_rates: {e}"))?;
            fixed_rates.insert(cur, Rate::parse(r).map_err(|e| format!("fx_fixed_rates.{c}: {e}"))?);
        }
        // Every currency billed must convert into the reporting currency, or MRR would be silently wrong.
        for c in snap.invoices.currencies() {
            if c == s.reporting_currency {
                continue;
            }
            let ok = match s.fx_policy {
                FxPolicy::FixedTable => fixed_rates.contains_key(&c),
                _ => fx.rate(c, 0).is_some(),
            };
            if !ok {
                return Err(format!(
                    "no exchange rate from {c} to the reporting currency {}: add fx_rates rows ({c},{} or {},{c}){}",
                    s.reporting_currency,
                    s.reporting_currency,
                    s.reporting_currency,
                    if s.fx_policy == FxPolicy::FixedTable { " or an fx_fixed_rates entry" } else { "" }
                ));
            }
        }
        let n_customers = snap.customers.len();
        let canonical = crate::merge::canonical_customers(snap, s)?;
        let subs_by_customer = Csr::build(n_customers, snap.subscriptions.customer.iter().map(|&c| canonical[c as usize]));
        let lines = &snap.lines;
        let lines_by_sub = Csr::build(
            snap.subscriptions.len(),
            (0..lines.len()).map(|i| {
                let f = lines.flags[i];
                if f & LINE_RECURRING != 0 && f & LINE_HAS_PERIOD != 0 {
                    lines.subscription[i]
                } else {
                    NONE
                }
            }),
        );
        let items_by_sub = Csr::build(snap.subscriptions.len(), snap.items.subscription.iter().copied());
        let d = &snap.discounts;
        let discounts_by_sub = Csr::build(snap.subscriptions.len(), d.subscription.iter().copied());
        let scheduled_by_sub = Csr::build(snap.subscriptions.len(), snap.scheduled.subscription.iter().copied());
        let discounts_by_customer = Csr::build(n_customers, d.customer.iter().zip(&d.subscription).map(|(&c, &s)| if s == NONE { c } else { NONE }));
        let month_cal = Calendar::new(Grain::Month, &s.timezone)?;
        let day_cal = Calendar::new(Grain::Day, &s.timezone)?;
        let utc = s.timezone.eq_ignore_ascii_case("utc");
        Ok(Ctx { snap, s, as_of, fx, fixed_rates, canonical, subs_by_customer, lines_by_sub, items_by_sub, discounts_by_sub, discounts_by_customer, scheduled_by_sub, month_cal, day_cal, utc })
    }

    /// Local day of an instant: grouping never spans a local midnight, so every period boundary (all grains
    /// are whole local days) sees the same stock with or without grouping (spec §11.5).
    #[inline]
    fn day_key(&self, t: Ts) -> i64 {
        if self.utc {
            t.div_euclid(SECS_PER_DAY)
        } else {
            self.day_cal.floor(t)
        }
    }

    #[inline]
    fn to_reporting(&self, native: i64, c: Currency, at: Ts) -> i64 {
        let rep = self.s.reporting_currency;
        if c == rep || native == 0 {
            return native;
        }
        let rate = match self.s.fx_policy {
            FxPolicy::FixedTable => self.fixed_rates.get(&c).copied(),
            _ => self.fx.rate(c, day_of(at)),
        };
        match rate {
            Some(r) => convert(native, c, rep, r, self.s.rounding),
            None => 0, // unreachable: Ctx::new checked every billed currency
        }
    }

    fn line_discounts(&self, line: usize) -> LineDiscounts {
        let d = &self.snap.lines.discounts;
        let mut out = LineDiscounts::default();
        let lo = d.partition_point(|x| (x.0 as usize) < line);
        for &(l, di, amt) in &d[lo..] {
            if l as usize != line {
                break;
            }
            let duration = self.snap.discounts.duration[di as usize];
            out.add(duration, amt);
            if duration != DiscountDuration::Forever {
                if let Some(end) = self.snap.discounts.end[di as usize].get() {
                    out.temp_end = Some(out.temp_end.map_or(end, |e: Ts| e.min(end)));
                }
            }
        }
        out
    }

    fn threshold_met(&self, inv: usize, th: InvoiceThreshold) -> bool {
        let i = &self.snap.invoices;
        let status = i.status[inv];
        if matches!(status, InvoiceStatus::Draft | InvoiceStatus::Void) || i.issued_at[inv] > self.as_of {
            return false;
        }
        let paid_known = i.paid_at[inv].get().map(|p| p <= self.as_of).unwrap_or(status == InvoiceStatus::Paid);
        let fully_paid = (status == InvoiceStatus::Paid && paid_known) || (i.total[inv] > 0 && i.amount_paid(inv) >= i.total[inv] && paid_known);
        match th {
            InvoiceThreshold::Issued => true,
            InvoiceThreshold::Paid => fully_paid || i.total[inv] <= 0 && status == InvoiceStatus::Paid,
            InvoiceThreshold::PartiallyPaid => fully_paid || i.amount_paid(inv) > 0 || (i.total[inv] <= 0 && status == InvoiceStatus::Paid),
        }
    }
}

/// Builds one customer's ledger rows, renewal terms and CMRR adjustments into `sc`.
pub fn process_customer(ctx: &Ctx, c: u32, sc: &mut Scratch) {
    sc.changes.clear();
    sc.extras.clear();
    sc.renewals.clear();
    sc.cmrr.clear();
    sc.sub_points.clear();
    sc.subs.clear();
    sc.terms.clear();
    sc.addbacks.clear();
    sc.status = None;
    sc.past_due = false;
    let s = ctx.s;
    if ctx.canonical[c as usize] != c {
        sc.status = Some(CustomerStatus::Merged);
        return;
    }
    let subs = ctx.subs_by_customer.get(c);
    if subs.is_empty() {
        sc.status = Some(CustomerStatus::Lead);
        return;
    }

    // Establishment (the first invoice meeting `new_customer_on` with a positive recurring line) is only
    // needed for invoices that miss `new_customer_on`; it is computed on first need.
    let mut established: Option<Ts> = None;
    for &sub in subs {
        build_subscription(ctx, c, sub, &mut established, sc);
    }
    if sc.subs.is_empty() {
        sc.status = Some(CustomerStatus::Lead);
        return;
    }
    merge_customer(ctx, sc);
    classify(ctx, c, sc);
    if s.same_period_policy == SamePeriodPolicy::Drop {
        let first_nb = sc.changes.iter().find(|x| x.kind == Kind::NewBusiness).map(|x| x.t);
        let first_churn = sc.changes.iter().find(|x| x.kind == Kind::Churn).map(|x| x.t);
        if let (Some(a), Some(b)) = (first_nb, first_churn) {
            if ctx.month_cal.floor(a) == ctx.month_cal.floor(b) {
                sc.changes.clear();
                sc.extras.clear();
                sc.renewals.clear();
                sc.cmrr.clear();
                sc.status = Some(CustomerStatus::Lead);
                return;
            }
        }
    }
    derive_terms_and_commitments(ctx, sc);
    sc.status = Some(current_status(sc));
}

fn interval_rank(i: Interval) -> u8 {
    match i {
        Interval::Day => 0,
        Interval::Week => 1,
        Interval::Month => 2,
        Interval::Year => 3,
    }
}

fn establishment(ctx: &Ctx, c: u32) -> Ts {
    let snap = ctx.snap;
    let mut established = Ts::MAX;
    for &sub in ctx.subs_by_customer.get(c) {
        for &l in ctx.lines_by_sub.get(sub) {
            let inv = snap.lines.invoice[l as usize] as usize;
            if snap.lines.amount[l as usize] > 0 && ctx.threshold_met(inv, ctx.s.new_customer_on) {
                established = established.min(snap.invoices.issued_at[inv]);
            }
        }
    }
    established
}

/// When a discount applies to a subscription-state item: from its start (else always) to its end; a `once`
/// discount without an end covers one billing period of the item's price; an unknown end is open.
fn discount_window(snap: &Snapshot, d: u32, (interval, count): (Interval, u32)) -> (Ts, Ts) {
    let di = d as usize;
    let start = snap.discounts.start[di].get();
    let end = match (snap.discounts.end[di].get(), snap.discounts.duration[di], start) {
        (Some(e), _, _) => e,
        (None, DiscountDuration::Once, Some(st)) => crate::line_mrr::add_interval(st, interval, count as i64),
        _ => Ts::MAX,
    };
    (start.unwrap_or(Ts::MIN), end)
}

fn build_subscription(ctx: &Ctx, c: u32, sub: u32, established: &mut Option<Ts>, sc: &mut Scratch) {
    let snap = ctx.snap;
    let s = ctx.s;
    let subs = &snap.subscriptions;
    let si = sub as usize;
    let status = subs.status[si];
    sc.lines.clear();
    sc.excluded.clear();
    let use_items = s.mrr_source == MrrSource::SubscriptionState && !ctx.items_by_sub.get(sub).is_empty();
    let mut currency: Option<Currency> = None;
    if use_items {
        // §2.5: price × quantity of each item version; no invoices involved.
        for &iv in ctx.items_by_sub.get(sub) {
            let it = &snap.items;
            let iv = iv as usize;
            let plan = it.plan[iv];
            if plan == NONE {
                continue;
            }
            let p = plan as usize;
            if snap.plans.usage_type[p] == UsageType::Metered && !s.include_metered {
                continue;
            }
            let Some(interval) = snap.plans.interval[p] else { continue };
            let a = it.valid_from[iv];
            if a > ctx.as_of {
                continue;
            }
            let b = it.valid_to[iv].get().unwrap_or(ctx.as_of + 1);
            if b <= a {
                continue;
            }
            let cur = snap.plans.currency[p];
            currency = Some(cur);
            let amount = snap.plans.amount[p].saturating_mul(it.quantity[iv]);
            let iv_count = (interval, snap.plans.interval_count[p]);
            // The subscription's (or customer's) discounts split the version where they start and end.
            sc.cuts.clear();
            sc.cuts.extend([a, b]);
            let discounts = ctx.discounts_by_sub.get(sub).iter().chain(ctx.discounts_by_customer.get(subs.customer[si]));
            for &d in discounts.clone() {
                let (ds, de) = discount_window(snap, d, iv_count);
                sc.cuts.extend([ds, de].into_iter().filter(|&x| x > a && x < b));
            }
            sc.cuts.sort_unstable();
            sc.cuts.dedup();
            for w in 0..sc.cuts.len() - 1 {
                let (a, b) = (sc.cuts[w], sc.cuts[w + 1]);
                let mut disc = LineDiscounts::default();
                for &d in discounts.clone() {
                    let (ds, de) = discount_window(snap, d, iv_count);
                    if ds <= a && a < de {
                        let di = d as usize;
                        let off = match (snap.discounts.percent_off_milli[di], snap.discounts.amount_off[di]) {
                            (Some(pm), _) => holdfast_core::money::div_round(amount as i128 * pm as i128, 100_000, s.rounding) as i64,
                            (None, Some(off)) => off.min(amount),
                            (None, None) => 0,
                        };
                        disc.add(snap.discounts.duration[di], off);
                        if snap.discounts.duration[di] != DiscountDuration::Forever && de != Ts::MAX {
                            disc.temp_end = Some(disc.temp_end.map_or(de, |e: Ts| e.min(de)));
                        }
                    }
                }
                let facts = LineFacts { amount, tax_inclusive: 0, a, b, prorated: false, interval: Some(iv_count) };
                let applied = disc.applied(s.discount_policy).min(amount);
                let native = line_mrr(&facts, applied, s);
                let temporary = disc.temporary(s.discount_policy);
                let addback = if temporary != 0 { line_mrr(&facts, applied - temporary.min(applied), s) - native } else { 0 };
                let rep = ctx.to_reporting(native, cur, a);
                let addback = ctx.to_reporting(addback, cur, a);
                sc.lines.push(WLine {
                    a,
                    b,
                    issued: a,
                    native,
                    rep,
                    addback,
                    addback_effect: disc.temp_end.unwrap_or(b),
                    seats: it.quantity[iv],
                    plan,
                    item: it.item[iv],
                    invoice: NONE,
                    prorated: false,
                    metered: false,
                    interval: Some(interval),
                });
            }
        }
    } else {
        let inv = &snap.invoices;
        let lines = &snap.lines;
        for &l in ctx.lines_by_sub.get(sub) {
            let l = l as usize;
            let i = lines.invoice[l] as usize;
            let status_i = inv.status[i];
            if matches!(status_i, InvoiceStatus::Draft | InvoiceStatus::Void) || inv.issued_at[i] > ctx.as_of {
                continue;
            }
            let prorated = lines.flags[l] & LINE_PRORATED != 0;
            // thresholds: the first invoices must meet new_customer_on; later ones existing_mrr_update_on
            let ok = ctx.threshold_met(i, s.new_customer_on)
                || (ctx.threshold_met(i, s.existing_mrr_update_on) && inv.issued_at[i] > *established.get_or_insert_with(|| establishment(ctx, c)));
            if !ok {
                continue;
            }
            let refunded = if s.refund_policy == RefundPolicy::Ignore { 0 } else { inv.amount_refunded(i) };
            if (status_i == InvoiceStatus::Uncollectible && s.uncollectible_policy == UncollectiblePolicy::Exclude)
                || (s.refund_policy == RefundPolicy::ExcludeFullyRefunded && inv.total[i] > 0 && refunded >= inv.total[i])
            {
                // Not billed: the period must not be bridged by carry-forward.
                if !prorated && lines.amount[l] > 0 {
                    sc.excluded.push((lines.period_start[l], lines.period_end(l)));
                }
                continue;
            }
            let plan = lines.plan[l];
            let (interval, usage) = if plan != NONE {
                let p = plan as usize;
                (snap.plans.interval[p].map(|iv| (iv, snap.plans.interval_count[p])), snap.plans.usage_type[p])
            } else {
                (None, UsageType::Licensed)
            };
            if usage == UsageType::Metered && !s.include_metered {
                continue;
            }
            let mut amount = lines.amount[l];
            if amount < 0 && !prorated && !s.credits_reduce_mrr {
                continue;
            }
            if s.refund_policy == RefundPolicy::Deduct && refunded > 0 && inv.total[i] > 0 {
                let cut = holdfast_core::money::div_round(amount as i128 * refunded.min(inv.total[i]) as i128, inv.total[i] as i128, s.rounding);
                amount -= cut as i64;
            }
            let a = lines.period_start[l];
            let b = lines.period_end(l);
            if b <= a {
                continue;
            }
            if !sc.past_due && inv.total[i] > 0 && inv.due_at[i].get().map(|d| d <= ctx.as_of).unwrap_or(false) && !inv.paid_at[i].get().map(|p| p <= ctx.as_of).unwrap_or(false) {
                sc.past_due = true;
            }
            let cur = inv.currency[i];
            currency = Some(cur);
            let disc = if lines.flags[l] & LINE_DISCOUNTED != 0 { ctx.line_discounts(l) } else { LineDiscounts::default() };
            let facts = LineFacts { amount, tax_inclusive: lines.tax_inclusive(l), a, b, prorated, interval };
            let native = line_mrr(&facts, disc.applied(s.discount_policy), s);
            // CMRR: discounts that will run out (once, repeating) do not commit future revenue.
            let temporary = disc.temporary(s.discount_policy);
            let addback = if temporary != 0 { line_mrr(&facts, disc.applied(s.discount_policy) - temporary, s) - native } else { 0 };
            let rep = ctx.to_reporting(native, cur, a);
            let addback = ctx.to_reporting(addback, cur, a);
            let seats = if prorated { 0 } else { lines.quantity[l] };
            sc.lines.push(WLine {
                a,
                b,
                issued: inv.issued_at[i],
                native,
                rep,
                addback,
                addback_effect: disc.temp_end.unwrap_or(b),
                seats,
                plan,
                item: lines.item[l],
                invoice: i as u32,
                prorated,
                metered: usage == UsageType::Metered,
                interval: interval.map(|x| x.0),
            });
        }
    }
    if sc.lines.is_empty() {
        return;
    }
    let currency = currency.unwrap_or(s.reporting_currency);

    supersede(&mut sc.lines);

    // Step function from line sums, with carry-forward across gaps.
    sc.events.clear();
    for (i, l) in sc.lines.iter().enumerate() {
        if l.b > l.a {
            sc.events.push(Ev { t: l.a, line: i, start: true });
            sc.events.push(Ev { t: l.b, line: i, start: false });
        }
    }
    if sc.events.is_empty() {
        return;
    }
    sc.events.sort_unstable_by_key(|e| (e.t, e.start, e.line));
    sc.raw.clear();
    sc.active_lines.clear();
    let (mut n, mut r, mut seats) = (0i64, 0i64, 0i64);
    let mut last_b = Ts::MIN;
    let mut k = 0;
    while k < sc.events.len() {
        let t = sc.events[k].t;
        while k < sc.events.len() && sc.events[k].t == t {
            let e = sc.events[k];
            let l = &sc.lines[e.line];
            if e.start {
                n += l.native;
                r += l.rep;
                seats += l.seats;
                sc.active_lines.push(e.line);
            } else {
                n -= l.native;
                r -= l.rep;
                seats -= l.seats;
                if let Some(pos) = sc.active_lines.iter().position(|&x| x == e.line) {
                    sc.active_lines.swap_remove(pos);
                }
                last_b = last_b.max(l.b);
            }
            k += 1;
        }
        if sc.active_lines.is_empty() {
            continue; // carry forward the last value across the gap
        }
        // plan and interval of the largest base line in effect (ties → lowest plan id)
        let mut best: Option<(i64, u32, Option<Interval>)> = None;
        for &li in &sc.active_lines {
            let l = &sc.lines[li];
            if l.prorated || l.plan == NONE {
                continue;
            }
            let cand = (l.rep, l.plan, l.interval);
            best = match best {
                None => Some(cand),
                Some(b) if cand.0 > b.0 || (cand.0 == b.0 && cand.1 < b.1) => Some(cand),
                keep => keep,
            };
        }
        let (plan, interval) = match best {
            Some(b) => (b.1, b.2),
            None => sc.raw.last().map(|p| (p.plan, p.interval)).unwrap_or((NONE, None)),
        };
        let negative = n < 0;
        let p = SubPoint {
            t,
            native: n.max(0),
            rep: if n <= 0 { 0 } else { r.max(0) },
            seats: seats.max(0),
            plan,
            interval,
            live: true,
            negative,
            cause: Cause::Lines,
        };
        match sc.raw.last() {
            Some(q) if (q.native, q.rep, q.seats, q.plan, q.interval, q.negative) == (p.native, p.rep, p.seats, p.plan, p.interval, p.negative) => {}
            _ => sc.raw.push(p),
        }
    }
    last_b = last_b.max(sc.lines.iter().map(|l| l.b).max().unwrap_or(Ts::MIN));
    let Some(first) = sc.raw.first().map(|p| p.t) else { return };

    // End of the subscription per churn_recognition.
    let known = |x: Option<Ts>| x.filter(|&v| v <= ctx.as_of);
    // A final status is the state at export time: a subscription whose `ended_at` is still ahead of `as_of`
    // had not ended then, whatever its status says now (no look-ahead, spec §11.16).
    let ended_status = matches!(status, Some(SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired))
        && subs.ended_at[si].get().is_none_or(|e| e <= ctx.as_of);
    let billing_end: Option<Ts> = match status {
        None => Some(last_b),
        Some(_) => known(subs.ended_at[si].get()).or_else(|| ended_status.then(|| known(subs.canceled_at[si].get()).unwrap_or(last_b))),
    };
    let end = match s.churn_recognition {
        ChurnRecognition::BillingSystem => billing_end,
        // item versions have no paid periods: their end is the billing system's
        ChurnRecognition::ServicePeriodEnd if use_items => billing_end,
        ChurnRecognition::ServicePeriodEnd => billing_end.map(|_| last_b),
        ChurnRecognition::Scheduled => {
            let requested = known(subs.canceled_at[si].get());
            match requested {
                Some(req) if billing_end.is_some() || subs.cancel_at_period_end[si] || subs.cancel_at[si].get().is_some() => Some(req),
                _ => billing_end,
            }
        }
    }
    .map(|e| e.max(first));

    // Intervals where the subscription is dead (not live, 0) or zero (live, 0).
    sc.dead.clear();
    if let Some(days) = s.delinquency_churn_days {
        sc.invoices_seen.clear();
        for l in sc.lines.iter() {
            if l.invoice != NONE && !sc.invoices_seen.contains(&l.invoice) {
                sc.invoices_seen.push(l.invoice);
            }
        }
        for &i in &sc.invoices_seen {
            let i = i as usize;
            let inv = &snap.invoices;
            if inv.total[i] <= 0 || matches!(inv.status[i], InvoiceStatus::Void | InvoiceStatus::Draft) {
                continue;
            }
            if let Some(due) = inv.due_at[i].get() {
                let cut = due + days as i64 * SECS_PER_DAY;
                let paid = known(inv.paid_at[i].get());
                if cut <= ctx.as_of && paid.map(|p| p > cut).unwrap_or(true) {
                    sc.dead.push((cut, paid.unwrap_or(Ts::MAX), Cause::Delinquent, true));
                }
            }
        }
    }
    for &(a, b) in &sc.excluded {
        sc.dead.push((a, b, Cause::Excluded, true));
    }
    if s.unpaid_is_churn {
        if let Some(u) = known(subs.unpaid_since[si].get()) {
            sc.dead.push((u, Ts::MAX, Cause::Unpaid, true));
        }
    }
    if let Some(ps) = known(subs.pause_start[si].get()) {
        let pe = known(subs.pause_end[si].get()).unwrap_or(Ts::MAX);
        match s.pause_policy {
            PausePolicy::Zero => sc.dead.push((ps, pe, Cause::Paused, false)),
            PausePolicy::Churn => sc.dead.push((ps, pe, Cause::Paused, true)),
            PausePolicy::Keep => {}
        }
    }
    if use_items {
        // Trials bill nothing under subscription-state MRR.
        if let (Some(ts), Some(te)) = (subs.trial_start[si].get(), subs.trial_end[si].get()) {
            sc.dead.push((ts, te, Cause::NotPaying, false));
        }
        if matches!(status, Some(SubscriptionStatus::Incomplete | SubscriptionStatus::IncompleteExpired | SubscriptionStatus::Trialing)) {
            sc.dead.push((first, Ts::MAX, Cause::NotPaying, false));
        }
    }

    // Overlay into final points.
    sc.times.clear();
    sc.times.extend(sc.raw.iter().map(|p| p.t));
    if let Some(e) = end {
        sc.times.push(e);
    }
    for &(a, b, _, _) in &sc.dead {
        sc.times.push(a.max(first));
        if b != Ts::MAX {
            sc.times.push(b.max(first));
        }
    }
    sc.times.sort_unstable();
    sc.times.dedup();
    let lo = sc.sub_points.len();
    let mut ri = 0usize;
    for &t in &sc.times {
        if t > ctx.as_of {
            break;
        }
        while ri + 1 < sc.raw.len() && sc.raw[ri + 1].t <= t {
            ri += 1;
        }
        let mut p = sc.raw[ri];
        p.t = t;
        let ended = end.map(|e| t >= e).unwrap_or(false);
        let mut dead = false;
        let mut zero = false;
        let mut cause = Cause::Lines;
        for &(a, b, why, is_dead) in &sc.dead {
            if a <= t && t < b {
                if is_dead {
                    dead = true;
                } else {
                    zero = true;
                }
                cause = why;
            }
        }
        p.cause = if ended { Cause::Ended } else { cause };
        if ended || dead || zero {
            p.native = 0;
            p.rep = 0;
            p.negative = false;
            if ended || dead {
                p.live = false;
                p.seats = 0;
            }
        }
        match sc.sub_points[lo..].last() {
            Some(q) if (q.native, q.rep, q.seats, q.plan, q.interval, q.live, q.negative) == (p.native, p.rep, p.seats, p.plan, p.interval, p.live, p.negative) => {}
            _ => sc.sub_points.push(p),
        }
    }
    let hi = sc.sub_points.len();
    if hi > lo {
        sc.subs.push(SubInfo { sub, currency, start: first, lo, hi });
    }
    if hi > lo {
        stash_terms(ctx, sub, &sc.lines, end, &mut sc.terms);
        for l in &sc.lines {
            if l.addback != 0 && l.b > l.a && l.a <= ctx.as_of {
                sc.addbacks.push(CmrrAdjustment { from: l.a, to: l.b, effect: l.addback_effect, delta: l.addback });
            }
        }
    }
}

/// Lines of one item supersede earlier-issued non-prorated lines of that item over their overlap, unless a
/// negative prorated line of the item already credits the overlap (spec §2.2). Metered usage lines form
/// their own group: billed in arrears, they add to the licensed lines of the same period.
fn supersede(lines: &mut [WLine]) {
    let key = |l: &WLine| (l.item, l.metered);
    lines.sort_unstable_by_key(|l| (key(l), l.prorated, l.a, l.issued, l.b));
    let n = lines.len();
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && key(&lines[j]) == key(&lines[i]) {
            j += 1;
        }
        // [i, j) = one item; base lines first (prorated=false sorts first)
        let base_end = (i..j).find(|&k| lines[k].prorated).unwrap_or(j);
        for x in i..base_end {
            // Credits (negative non-prorated lines, kept only with `credits_reduce_mrr`) add to what they
            // credit; they neither supersede nor are superseded.
            if lines[x].native < 0 {
                continue;
            }
            for y in x + 1..base_end {
                if lines[y].a >= lines[x].b {
                    break;
                }
                if lines[y].native < 0 {
                    continue;
                }
                let (ox, oy) = (lines[y].a.max(lines[x].a), lines[x].b.min(lines[y].b));
                if ox >= oy {
                    continue;
                }
                let credited = (base_end..j).any(|k| lines[k].native < 0 && lines[k].a <= ox && lines[k].b >= oy);
                if credited {
                    continue;
                }
                if lines[y].issued > lines[x].issued {
                    lines[x].b = lines[y].a.max(lines[x].a);
                } else if lines[x].issued > lines[y].issued {
                    lines[y].a = lines[x].b.min(lines[y].b);
                }
            }
        }
        i = j;
    }
}

/// Term ends of one subscription's base lines (renewal candidates, spec §3 `renewal_rate`).
fn stash_terms(ctx: &Ctx, sub: u32, lines: &[WLine], end: Option<Ts>, terms: &mut Vec<(u32, Ts, bool)>) {
    let min_rank = interval_rank(ctx.s.renewal_min_interval);
    let start_len = terms.len();
    for l in lines {
        if l.prorated || l.b <= l.a || l.native <= 0 {
            continue;
        }
        let Some(iv) = l.interval else { continue };
        if interval_rank(iv) < min_rank {
            continue;
        }
        let mut due = l.b;
        let mut cancelled = false;
        if let Some(e) = end {
            if e <= l.a {
                continue;
            }
            if e < l.b {
                due = e;
                cancelled = true;
            }
        }
        if due > ctx.as_of {
            continue;
        }
        terms.push((sub, due, cancelled));
    }
    terms[start_len..].sort_unstable_by_key(|x| (x.1, !x.2));
    // one term per due date (several items of a subscription end together)
    let mut w = start_len;
    for r in start_len..terms.len() {
        if w == start_len || terms[w - 1].1 != terms[r].1 {
            terms[w] = terms[r];
            w += 1;
        }
    }
    terms.truncate(w);
}

fn value_at(points: &[SubPoint], t: Ts) -> (i64, bool) {
    let i = points.partition_point(|p| p.t <= t);
    if i == 0 {
        (0, false)
    } else {
        (points[i - 1].rep, points[i - 1].live)
    }
}

fn merge_customer(ctx: &Ctx, sc: &mut Scratch) {
    sc.times.clear();
    for si in &sc.subs {
        sc.times.extend(sc.sub_points[si.lo..si.hi].iter().map(|p| p.t));
    }
    let period_end_fx = ctx.s.fx_policy == FxPolicy::PeriodEndRate;
    if period_end_fx {
        let first = sc.times.iter().copied().min().unwrap_or(0);
        for si in &sc.subs {
            if si.currency == ctx.s.reporting_currency {
                continue;
            }
            for &(day, _) in ctx.fx.change_days(si.currency) {
                let t = day as i64 * SECS_PER_DAY;
                if t > first && t <= ctx.as_of {
                    sc.times.push(t);
                }
            }
        }
    }
    sc.times.sort_unstable();
    sc.times.dedup();
    sc.cust.clear();
    let mut ptr = std::mem::take(&mut sc.ptr);
    ptr.clear();
    ptr.extend(sc.subs.iter().map(|s| s.lo));
    for &t in &sc.times {
        let mut cp = CustPoint { t, live: 0, rep: 0, seats: 0, plan: NONE, interval: None, negative: false, cur: [(None, 0, 0); 4] };
        let mut best: Option<(i64, u32)> = None;
        for (k, si) in sc.subs.iter().enumerate() {
            while ptr[k] < si.hi && sc.sub_points[ptr[k]].t <= t {
                ptr[k] += 1;
            }
            if ptr[k] == si.lo {
                continue; // not started yet
            }
            let p = sc.sub_points[ptr[k] - 1];
            if !p.live {
                continue;
            }
            cp.live += 1;
            let rep = if period_end_fx { ctx.to_reporting(p.native, si.currency, t) } else { p.rep };
            cp.rep += rep;
            cp.seats += p.seats;
            cp.negative |= p.negative;
            if p.plan != NONE {
                let cand = (rep, p.plan);
                best = match best {
                    None => {
                        cp.interval = p.interval;
                        Some(cand)
                    }
                    Some(b) if cand.0 > b.0 || (cand.0 == b.0 && cand.1 < b.1) => {
                        cp.interval = p.interval;
                        Some(cand)
                    }
                    keep => keep,
                };
            }
            let slot = cp.cur.iter().position(|x| x.0 == Some(si.currency)).or_else(|| cp.cur.iter().position(|x| x.0.is_none())).unwrap_or(3);
            cp.cur[slot].0 = Some(si.currency);
            cp.cur[slot].1 += p.native;
            cp.cur[slot].2 += rep;
        }
        cp.plan = best.map(|b| b.1).unwrap_or(NONE);
        sc.cust.push(cp);
    }
    sc.ptr = ptr;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum St {
    Lead,
    Active,
    Churned,
}

fn classify(ctx: &Ctx, c: u32, sc: &mut Scratch) {
    let s = ctx.s;
    let window = s.grouping_window_minutes as i64 * 60;
    let mut state = St::Lead;
    let mut prev = CustPoint { t: 0, live: 0, rep: 0, seats: 0, plan: NONE, interval: None, negative: false, cur: [(None, 0, 0); 4] };
    let mut last_churn: Option<Ts> = None;
    let mut i = 0;
    let pts = &sc.cust;
    while i < pts.len() {
        let t0 = pts[i].t;
        let day0 = ctx.day_key(t0);
        let mut j = i;
        while j + 1 < pts.len() && pts[j + 1].t - t0 < window && ctx.day_key(pts[j + 1].t) == day0 {
            j += 1;
        }
        let after = pts[j];
        let grouped = (j - i + 1) as u16;
        let i_first = i;
        i = j + 1;
        let zero_churns = after.rep == 0 && s.zero_mrr_policy == ZeroMrrPolicy::Churn;
        let active_after = match state {
            St::Lead | St::Churned => after.live > 0 && after.rep > 0,
            St::Active => after.live > 0 && !zero_churns,
        };
        let r0 = if state == St::Active { prev.rep } else { 0 };
        let r1 = if active_after { after.rep } else { 0 };
        let mut flags = if active_after { CHANGE_ACTIVE } else { 0 };
        if after.negative {
            flags |= CHANGE_NEGATIVE_MRR;
        }
        // FX is split off per raw step and summed over the group, so grouping never moves money between
        // movements and fx_impact (spec §11.5); within one step, §2.4 applies.
        let mut mv = 0i64;
        let mut before = prev;
        for (k, p) in pts[i_first..=j].iter().enumerate() {
            let mut step_after = *p;
            if k == j - i_first && !active_after {
                step_after.rep = 0;
                step_after.cur = [(None, 0, 0); 4];
            }
            mv += step_movement(&before, &step_after, s.rounding);
            before = step_after;
        }
        let (kind, amount) = match (state, active_after) {
            (St::Lead, true) => (Some(Kind::NewBusiness), mv),
            (St::Churned, true) => {
                let gap_days = last_churn.map(|lc| (t0 - lc) / SECS_PER_DAY).unwrap_or(0);
                match s.reactivation_window_days {
                    Some(w) if gap_days > w as i64 => {
                        flags |= CHANGE_RETURNING;
                        (Some(Kind::NewBusiness), mv)
                    }
                    _ => (Some(Kind::Reactivation), mv),
                }
            }
            (St::Active, false) => (Some(Kind::Churn), mv),
            (St::Active, true) => {
                let kind = if mv > 0 {
                    Some(Kind::Expansion)
                } else if mv < 0 {
                    Some(Kind::Contraction)
                } else if r1 != r0 {
                    Some(Kind::FxOnly)
                } else {
                    None
                };
                (kind, mv)
            }
            (_, false) => (None, 0),
        };
        if let Some(kind) = kind {
            let fx = (r1 - r0) - amount;
            sc.changes.push(Change { t: t0, amount, fx, mrr: r1, customer: c, kind, flags, grouped });
            sc.extras.push(ChangeExtra {
                seats: if active_after { after.seats } else { 0 },
                plan: after.plan,
                interval: after.interval,
                currency: after.cur.iter().filter_map(|x| x.0).next(),
            });
            if kind == Kind::Churn {
                last_churn = Some(t0);
            }
        } else if active_after && (after.plan != prev.plan || after.seats != prev.seats) && state == St::Active {
            // no money moved, but the segment facts did: keep an FX-only row of 0 so segments follow
            sc.changes.push(Change { t: t0, amount: 0, fx: 0, mrr: r1, customer: c, kind: Kind::FxOnly, flags, grouped });
            sc.extras.push(ChangeExtra { seats: after.seats, plan: after.plan, interval: after.interval, currency: after.cur.iter().filter_map(|x| x.0).next() });
        }
        state = match (state, active_after) {
            (_, true) => St::Active,
            (St::Active, false) => St::Churned,
            (st, false) => st,
        };
        prev = after;
        if !active_after {
            // a non-active customer's MRR is not carried into the next movement's R0
            prev.rep = 0;
            prev.cur = [(None, 0, 0); 4];
        }
    }
}

/// Movement between two customer states per spec §2.4: per currency `(M1 − M0)·ρ1`, or `−R0` when the
/// currency's MRR goes to 0; the rest of `R1 − R0` is FX impact.
fn step_movement(prev: &CustPoint, after: &CustPoint, rm: holdfast_core::RoundingMode) -> i64 {
    let mut mv = 0i64;
    let mut seen: [Option<Currency>; 8] = [None; 8];
    for (k, cur) in prev.cur.iter().chain(after.cur.iter()).filter_map(|x| x.0).enumerate() {
        if seen.contains(&Some(cur)) {
            continue;
        }
        seen[k] = Some(cur);
        let (m0, rr0) = prev.cur.iter().find(|x| x.0 == Some(cur)).map(|x| (x.1, x.2)).unwrap_or((0, 0));
        let (m1, rr1) = after.cur.iter().find(|x| x.0 == Some(cur)).map(|x| (x.1, x.2)).unwrap_or((0, 0));
        mv += if m1 > 0 { holdfast_core::money::div_round((m1 - m0) as i128 * rr1 as i128, m1 as i128, rm) as i64 } else { -rr0 };
    }
    mv
}

fn derive_terms_and_commitments(ctx: &Ctx, sc: &mut Scratch) {
    let s = ctx.s;
    let grace = s.renewal_grace_days as i64 * SECS_PER_DAY;
    // Terms come per subscription in due order, so the subscription's value is read by walking pointers
    // through its points instead of searching for each term.
    let mut k = 0;
    while k < sc.terms.len() {
        let sub = sc.terms[k].0;
        let mut end = k;
        while end < sc.terms.len() && sc.terms[end].0 == sub {
            end += 1;
        }
        let Some(si) = sc.subs.iter().find(|x| x.sub == sub) else {
            k = end;
            continue;
        };
        let pts = &sc.sub_points[si.lo..si.hi];
        let (mut pb, mut pe) = (0usize, 0usize); // points with t <= due − 1, t <= eval
        for &(_, due, cancelled) in &sc.terms[k..end] {
            while pb < pts.len() && pts[pb].t < due {
                pb += 1;
            }
            let before = if pb == 0 { 0 } else { pts[pb - 1].rep };
            if before <= 0 {
                continue;
            }
            let check = due + grace;
            let complete = check <= ctx.as_of;
            let eval = check.min(ctx.as_of);
            while pe < pts.len() && pts[pe].t <= eval {
                pe += 1;
            }
            let (mut after, live) = if cancelled || pe == 0 { (0, false) } else { (pts[pe - 1].rep, pts[pe - 1].live) };
            if !live {
                after = 0;
            }
            if after <= 0 {
                // replaced by another subscription started around the due date?
                for other in sc.subs.iter().filter(|x| x.sub != sub) {
                    if other.start >= due - grace && other.start <= due + grace {
                        let (v, l) = value_at(&sc.sub_points[other.lo..other.hi], eval);
                        if l && v > 0 {
                            after = v;
                            break;
                        }
                    }
                }
            }
            sc.renewals.push(Renewal { t: due, before, after: after.max(0), renewed: after > 0, complete });
        }
        k = end;
    }
    sc.renewals.sort_unstable_by_key(|r| r.t);

    // CMRR adjustments.
    let snap = ctx.snap;
    let subs = &snap.subscriptions;
    let known = |x: Option<Ts>| x.filter(|&v| v <= ctx.as_of);
    for si in &sc.subs {
        let i = si.sub as usize;
        let pts = &sc.sub_points[si.lo..si.hi];
        let end_t = pts.iter().find(|p| !p.live).map(|p| p.t);
        // Scheduled cancellation known before it takes effect.
        if let Some(req) = known(subs.canceled_at[i].get()) {
            let takes_effect = end_t.unwrap_or(Ts::MAX);
            if req < takes_effect {
                let (v, live) = value_at(pts, req);
                if live && v > 0 {
                    sc.cmrr.push(CmrrAdjustment { from: req, to: takes_effect, effect: takes_effect, delta: -v });
                }
            }
        }
        // Future start known at creation (trials only with cmrr_include_trials).
        if let Some(created) = subs.created_at[i].get() {
            let trial = subs.trial_start[i].get().is_some();
            let first_paid = pts.iter().find(|p| p.rep > 0).map(|p| (p.t, p.rep));
            if let Some((start, v)) = first_paid {
                if created < start && (!trial || s.cmrr_include_trials) && start - created > SECS_PER_DAY {
                    sc.cmrr.push(CmrrAdjustment { from: created.max(si.start), to: start, effect: start, delta: v });
                }
            }
        }
    }
    scheduled_phases(ctx, sc);
    // Temporary discounts end: add their value back while they apply.
    sc.cmrr.extend_from_slice(&sc.addbacks);
    // With a horizon, a change counts only from `horizon` before it takes effect.
    if let Some(h) = s.cmrr_horizon_days {
        let h = h as i64 * SECS_PER_DAY;
        sc.cmrr.retain_mut(|j| {
            j.from = j.from.max(j.effect.saturating_sub(h));
            j.from < j.to && j.effect != Ts::MAX
        });
    }
}

/// CMRR of scheduled phases (subscription schedules): from when a phase is known until it takes effect (or
/// is withdrawn), CMRR moves by the phase's MRR minus what comes before it — the subscription's MRR then, or
/// the previous phase's if that one is also still ahead. Phases are the scheduled items sharing a start;
/// their MRR is price × quantity at the plan's interval (no discounts), converted at the phase start.
fn scheduled_phases(ctx: &Ctx, sc: &mut Scratch) {
    let snap = ctx.snap;
    let x = &snap.scheduled;
    let s = ctx.s;
    let known = |t: Option<Ts>| t.filter(|&v| v <= ctx.as_of);
    for si in &sc.subs {
        let rows = ctx.scheduled_by_sub.get(si.sub);
        if rows.is_empty() {
            continue;
        }
        let pts = &sc.sub_points[si.lo..si.hi];
        // (start, value, scheduled_at, withdrawn_at) per phase, by start.
        let mut phases: Vec<(Ts, i64, Ts, Ts)> = Vec::new();
        for &r in rows {
            let r = r as usize;
            let start = x.valid_from[r];
            let mut value = 0;
            let p = x.plan[r];
            if p != NONE && x.quantity[r] > 0 {
                let p = p as usize;
                let metered = snap.plans.usage_type[p] == UsageType::Metered && !s.include_metered;
                if let (Some(iv), false) = (snap.plans.interval[p], metered) {
                    let n = snap.plans.interval_count[p];
                    let b = x.valid_to[r].get().unwrap_or_else(|| crate::line_mrr::add_interval(start, iv, n as i64));
                    let facts = LineFacts { amount: snap.plans.amount[p].saturating_mul(x.quantity[r]), tax_inclusive: 0, a: start, b, prorated: false, interval: Some((iv, n)) };
                    value = ctx.to_reporting(line_mrr(&facts, 0, s), snap.plans.currency[p], start);
                }
            }
            let withdrawn = known(x.withdrawn_at[r].get()).unwrap_or(Ts::MAX);
            match phases.iter_mut().find(|ph| ph.0 == start) {
                Some(ph) => {
                    ph.1 += value;
                    ph.2 = ph.2.min(x.scheduled_at[r]);
                    ph.3 = ph.3.min(withdrawn);
                }
                None => phases.push((start, value, x.scheduled_at[r], withdrawn)),
            }
        }
        phases.sort_unstable_by_key(|ph| ph.0);
        for k in 0..phases.len() {
            let (start, value, scheduled, withdrawn) = phases[k];
            if scheduled > ctx.as_of {
                continue;
            }
            let to = start.min(withdrawn);
            if scheduled >= to {
                continue;
            }
            let before = match k.checked_sub(1).map(|j| phases[j]) {
                Some((p_start, p_value, p_sched, p_withdrawn)) if p_start > scheduled && p_sched <= scheduled && p_withdrawn > scheduled => p_value,
                _ => value_at(pts, scheduled).0,
            };
            if value != before {
                sc.cmrr.push(CmrrAdjustment { from: scheduled, to, effect: start, delta: value - before });
            }
        }
    }
}

fn current_status(sc: &Scratch) -> CustomerStatus {
    let last = sc.changes.last();
    let active = last.map(|x| x.active()).unwrap_or(false);
    if !active {
        return if sc.changes.iter().any(|x| x.kind == Kind::NewBusiness) { CustomerStatus::Churned } else { CustomerStatus::Lead };
    }
    // past due: an unpaid, issued invoice of an active subscription past its due date
    if sc.past_due {
        return CustomerStatus::PastDue;
    }
    CustomerStatus::Active
}

/// One subscription's part in a ledger row: its MRR around the (grouped) change and why it changed.
#[derive(Clone, Debug, Serialize)]
pub struct SubscriptionChange {
    pub subscription: String,
    pub currency: Currency,
    pub native_before: i64,
    pub native_after: i64,
    pub mrr_before: i64,
    pub mrr_after: i64,
    pub cause: Cause,
}

/// A ledger row with the detail of spec §2.6: native amount and currency, subscriptions and causes.
#[derive(Clone, Debug)]
pub struct ExplainedChange {
    pub change: Change,
    /// The currency of the subscriptions involved, when they share one.
    pub currency: Option<Currency>,
    /// The movement in that currency (before FX), when they share one.
    pub amount_native: Option<i64>,
    pub subscriptions: Vec<SubscriptionChange>,
}

fn point_at(points: &[SubPoint], t: Ts) -> Option<&SubPoint> {
    let i = points.partition_point(|p| p.t <= t);
    i.checked_sub(1).map(|i| &points[i])
}

/// The ledger rows of one customer, each with the subscriptions behind it and why they changed. Runs the
/// customer through the same code as [`crate::run`], so the rows are the ledger's own.
pub fn explain_customer(ctx: &Ctx, c: u32) -> Vec<ExplainedChange> {
    let mut sc = Scratch::default();
    process_customer(ctx, c, &mut sc);
    let window = (ctx.s.grouping_window_minutes as i64 * 60).max(1);
    let mut out = Vec::with_capacity(sc.changes.len());
    for (k, ch) in sc.changes.iter().enumerate() {
        let t0 = ch.t;
        let next = sc.changes.get(k + 1).map(|x| x.t).unwrap_or(Ts::MAX);
        let day0 = ctx.day_key(t0);
        let t_end = sc
            .cust
            .iter()
            .filter(|p| p.t >= t0 && p.t < next && p.t - t0 < window && ctx.day_key(p.t) == day0)
            .map(|p| p.t)
            .max()
            .unwrap_or(t0);
        let mut subs = Vec::new();
        for si in &sc.subs {
            let pts = &sc.sub_points[si.lo..si.hi];
            let val = |p: Option<&SubPoint>| p.filter(|p| p.live).map(|p| (p.native, p.rep)).unwrap_or((0, 0));
            let (b, a) = (point_at(pts, t0 - 1), point_at(pts, t_end));
            let ((nb, rb), (na, ra)) = (val(b), val(a));
            let live_changed = b.map(|p| p.live).unwrap_or(false) != a.map(|p| p.live).unwrap_or(false);
            if nb == na && rb == ra && !live_changed {
                continue;
            }
            let name = ctx.snap.subscriptions.ids.name(si.sub);
            subs.push(SubscriptionChange {
                subscription: if name.starts_with('\u{1}') { "(lines without a subscription)".into() } else { name.to_string() },
                currency: si.currency,
                native_before: nb,
                native_after: na,
                mrr_before: rb,
                mrr_after: ra,
                cause: a.map(|p| p.cause).unwrap_or(Cause::Lines),
            });
        }
        let currency = subs.first().map(|x| x.currency).filter(|c| subs.iter().all(|x| x.currency == *c));
        let amount_native = currency.filter(|_| ch.kind != Kind::FxOnly).map(|_| subs.iter().map(|x| x.native_after - x.native_before).sum());
        out.push(ExplainedChange { change: *ch, currency, amount_native, subscriptions: subs });
    }
    out
}
