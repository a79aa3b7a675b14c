//! One customer's life: a month-by-month walk that drives its subscriptions' state machines and renders them as
//! billing records.
//!
//! Per calendar month: the latent state evolves ([`Latent::step`]); each live subscription draws at most one
//! mid-month action (cancel, seat or tier change, interval switch, pause, goodwill credit, metered add-on) at a
//! uniform instant, and its scheduled events (trial end, renewal, dunning outcome, scheduled end) are processed
//! in time order up to the month's end; then customer-level actions (add-on purchase, company growth, CSM change)
//! and returns after churn; finally the [`Observer`] sees the month. Records are buffered per customer and
//! emitted at the end, because a subscription's final status is only known then.
use crate::calendar::{Anchor, DAY, HOUR, MINUTE};
use crate::catalog::{self, Coupon, PlanIx, Tier};
use crate::latent::Latent;
use crate::observe::{EventKind, LifecycleEvent, MonthView, Observer, SubscriptionView};
use crate::profile::{Channel, CustomerProfile, Size, TRIAL_DAYS};
use crate::rng::{customer_rng, stream, Draw};
use holdfast_core::money::{div_round, RoundingMode};
use holdfast_core::records::{
    CustomerRecord, DiscountRecord, InvoiceLineRecord, InvoiceRecord, InvoiceStatus, LineDiscount, PriceType, Record,
    SubscriptionItemRecord, SubscriptionRecord, SubscriptionStatus,
};
use holdfast_core::Ts;
use rand_pcg::Pcg64Mcg;
use std::collections::BTreeMap;

/// Company-wide facts shared by every customer.
pub(crate) struct Ctx {
    pub seed: u64,
    /// Simulation start and end (the "as of"): nothing happens at or after `end`.
    pub end: Ts,
    pub months: u32,
    /// `months + 1` calendar month boundaries, anchored on the start date.
    pub month_starts: Vec<Ts>,
    /// Cumulative sign-up weight per month (3.5 % more sign-ups every month).
    pub signup_cdf: Vec<f64>,
    pub plan_ids: Vec<String>,
}

impl Ctx {
    pub fn new(seed: u64, start: Ts, months: u32) -> Ctx {
        let a = Anchor::of(start);
        let month_starts: Vec<Ts> = (0..=months as i64).map(|m| a.plus_months(m)).collect();
        let mut signup_cdf = Vec::with_capacity(months as usize);
        let (mut w, mut acc) = (1.0f64, 0.0f64);
        for _ in 0..months {
            acc += w;
            signup_cdf.push(acc);
            w *= 1.035;
        }
        Ctx {
            seed,
            end: *month_starts.last().unwrap_or(&start),
            months,
            month_starts,
            signup_cdf,
            plan_ids: catalog::plan_ids(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Trialing,
    /// First invoice of a no-trial subscription unpaid; expires after 23 hours.
    Incomplete {
        expires: Ts,
        inv: usize,
    },
    Active,
    /// Dunning exhausted; maybe canceled later.
    Unpaid {
        cancel_at: Option<Ts>,
        inv: usize,
    },
    Ended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrialOutcome {
    Convert { pay_delay: i64 },
    CancelDuring,
    Lapse { void_after: i64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DunOutcome {
    Unpaid,
    Cancel,
    VoidCancel,
}

#[derive(Clone, Copy, Debug)]
struct Dunning {
    at: Ts,
    inv: usize,
    outcome: DunOutcome,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    tier: Tier,
    qty: i64,
    annual: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    TrialEnd,
    Expire,
    Renew,
    End,
    Dunning,
    UnpaidCancel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Cancel,
    SeatUp,
    SeatDown,
    Upgrade,
    Downgrade,
    ToAnnual,
    ToMonthly,
    Pause,
    Goodwill,
    AddMetered,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pay {
    /// First invoice of a no-trial subscription (may stay incomplete).
    First,
    /// First invoice after a converted trial, paid after `delay`.
    Trial { delay: i64 },
    /// First invoice after a trial that is never paid.
    Lapse { void_after: i64 },
    /// Renewal invoice (card failures, dunning, net-30 terms).
    Regular,
    /// Mid-cycle change or add-on purchase: paid promptly.
    Immediate,
}

#[derive(Clone, Debug)]
struct Sub {
    seq: u32,
    addon: bool,
    tier: Tier,
    annual: bool,
    qty: i64,
    created: Ts,
    trial: Option<(Ts, Ts)>,
    trial_outcome: TrialOutcome,
    setup_fee: bool,
    anchor: Anchor,
    pidx: i64,
    ps: Ts,
    pe: Ts,
    state: St,
    item: usize,
    metered: Option<usize>,
    disc: Option<usize>,
    pending: Option<Pending>,
    dunning: Option<Dunning>,
    scheduled_end: Option<Ts>,
    pause: Option<(Ts, Ts)>,
    period_inv: Option<usize>,
    billing_start: Option<Ts>,
    paid_any: bool,
    gone_handled: bool,
    last: Ts,
    cancel_at_period_end: bool,
    cancel_at: Option<Ts>,
    canceled_at: Option<Ts>,
    ended_at: Option<Ts>,
    unpaid_since: Option<Ts>,
    reason: Option<&'static str>,
    final_status: SubscriptionStatus,
}

#[derive(Clone, Copy, Debug)]
struct ItemVer {
    sub: u32,
    item: u32,
    plan: PlanIx,
    qty: i64,
    from: Ts,
    to: Option<Ts>,
}

#[derive(Clone, Copy, Debug)]
struct DiscApp {
    coupon: Coupon,
    sub: u32,
    start: Ts,
    end: Option<Ts>,
    remaining: i64,
    applied: bool,
}

#[derive(Clone, Copy, Debug)]
struct Line {
    sub: u32,
    /// 0 = no item (one-time charge).
    item: u32,
    plan: PlanIx,
    one_time: bool,
    period: Option<(Ts, Ts)>,
    amount: i64,
    disc: Option<(u32, i64)>,
    tax: i64,
    qty: i64,
    prorated: bool,
}

#[derive(Clone, Copy, Debug)]
struct Inv {
    seq: u32,
    issued: Ts,
    due: Option<Ts>,
    paid: Option<Ts>,
    status: InvoiceStatus,
    refunded: i64,
    lo: u32,
    hi: u32,
}

/// Vectors reused from one customer to the next.
#[derive(Default)]
pub(crate) struct Buffers {
    subs: Vec<Sub>,
    items: Vec<ItemVer>,
    discs: Vec<DiscApp>,
    invs: Vec<Inv>,
    lines: Vec<Line>,
    events: Vec<LifecycleEvent>,
    scratch: Vec<Line>,
    views: Vec<SubscriptionView>,
    versions: Vec<(Ts, Size, Option<&'static str>)>,
    order: Vec<u32>,
}

const REASONS: [&str; 8] = [
    "too_expensive",
    "unused",
    "missing_features",
    "switched_service",
    "customer_service",
    "too_complex",
    "low_quality",
    "other",
];
const REASON_W: [f64; 8] = [0.26, 0.20, 0.14, 0.12, 0.05, 0.08, 0.05, 0.10];
/// Stripe's `cancellation_details.reason` for dunning-driven cancellations (the other reasons are its `feedback`).
pub const PAYMENT_FAILED: &str = "payment_failed";

struct CustSim<'c> {
    ctx: &'c Ctx,
    rng: Pcg64Mcg,
    p: CustomerProfile,
    latent: Latent,
    size: Size,
    csm: Option<&'static str>,
    reactivate_at: Option<Ts>,
    b: Buffers,
}

/// Simulates customer `index` and streams its records.
pub(crate) fn simulate_customer(
    ctx: &Ctx,
    index: usize,
    bufs: &mut Buffers,
    sink: &mut dyn FnMut(Record),
    obs: &mut dyn Observer,
) {
    let mut rng = customer_rng(ctx.seed, index as u64, stream::LIFECYCLE);
    let mut num = String::with_capacity(8);
    push_num(&mut num, index as u64, 6);
    let p = CustomerProfile::draw(&mut rng, index, &num, &ctx.month_starts, &ctx.signup_cdf);
    let latent = Latent::new(&p, &mut rng);
    let mut b = std::mem::take(bufs);
    b.subs.clear();
    b.items.clear();
    b.discs.clear();
    b.invs.clear();
    b.lines.clear();
    b.events.clear();
    b.versions.clear();
    let mut sim = CustSim { ctx, rng, size: p.size, csm: p.csm_owner, p, latent, reactivate_at: None, b };
    sim.run(obs);
    sim.emit(&num, sink);
    *bufs = sim.b;
}

/// Decimal digits of `n`.
#[inline]
fn digit_count(n: u64) -> usize {
    let mut d = 1;
    let mut v = n / 10;
    while v > 0 {
        d += 1;
        v /= 10;
    }
    d
}

/// Appends `n` zero-padded to `width` digits (ASCII pushes: no UTF-8 validation, no reallocation when the
/// capacity was computed with [`id_len`]).
#[inline]
fn push_num(s: &mut String, n: u64, width: usize) {
    let d = digit_count(n);
    for _ in d..width {
        s.push('0');
    }
    let mut div = 10u64.pow(d as u32 - 1);
    while div > 0 {
        s.push(char::from(b'0' + ((n / div) % 10) as u8));
        div /= 10;
    }
}

/// `prefix` + `stem` + `_n` for every `(n, width)` part, allocated once at its exact length.
fn make_id(prefix: &str, stem: &str, parts: &[(u64, usize)]) -> String {
    let len = prefix.len() + stem.len() + parts.iter().map(|&(n, w)| 1 + digit_count(n).max(w)).sum::<usize>();
    let mut s = String::with_capacity(len);
    s.push_str(prefix);
    s.push_str(stem);
    for &(n, w) in parts {
        s.push('_');
        push_num(&mut s, n, w);
    }
    s
}

fn prorate(amount: i64, num: i64, den: i64) -> i64 {
    div_round(amount as i128 * num as i128, den as i128, RoundingMode::HalfAwayFromZero) as i64
}

impl CustSim<'_> {
    // ---------------------------------------------------------------------------------------------------------
    // The month loop
    // ---------------------------------------------------------------------------------------------------------

    fn run(&mut self, obs: &mut dyn Observer) {
        self.start_main(self.p.signup);
        for m in self.p.signup_month..self.ctx.months {
            let (ws, we) = (self.ctx.month_starts[m as usize], self.ctx.month_starts[m as usize + 1]);
            let ev0 = self.b.events.len();
            self.latent.step(m, &mut self.rng);
            let mut si = 0;
            while si < self.b.subs.len() {
                self.month_sub(si, ws, we);
                si += 1;
            }
            self.customer_actions(ws, we);
            if let Some(r) = self.reactivate_at {
                if r < we {
                    self.reactivate_at = None;
                    self.reactivate(r, we);
                }
            }
            if !obs.wants_months() {
                if self.reactivate_at.is_none() && self.b.subs.iter().all(|s| s.state == St::Ended) {
                    break;
                }
                continue;
            }
            self.build_views();
            let view = MonthView {
                month: m,
                start: ws,
                end: we,
                customer: &self.p,
                size: self.size,
                latent: &self.latent,
                events: &self.b.events[ev0..],
                subscriptions: &self.b.views,
            };
            obs.on_month(&view);
            if self.reactivate_at.is_none() && self.b.subs.iter().all(|s| s.state == St::Ended) {
                break; // gone for good: nothing more can happen to this customer
            }
        }
        obs.on_customer_end(&self.p, &self.latent, &self.b.events);
    }

    fn build_views(&mut self) {
        self.b.views.clear();
        for s in &self.b.subs {
            if s.state == St::Ended {
                continue;
            }
            let trialing = s.state == St::Trialing;
            let list = if trialing || matches!(s.state, St::Incomplete { .. }) {
                0
            } else {
                let a = catalog::unit_amount(self.plan_of(s)) * s.qty;
                if s.annual {
                    a / 12
                } else {
                    a
                }
            };
            self.b.views.push(SubscriptionView {
                seq: s.seq,
                tier: (!s.addon).then_some(s.tier),
                annual: s.annual,
                seats: s.qty,
                trialing,
                list_mrr: list,
            });
        }
    }

    fn month_sub(&mut self, si: usize, ws: Ts, we: Ts) {
        if self.b.subs[si].state == St::Ended {
            return;
        }
        if let Some((t, a)) = self.draw_action(si, ws, we) {
            self.advance(si, t);
            if self.eligible(si, t, a) {
                self.b.subs[si].last = t;
                self.apply(si, t, a);
            }
        }
        self.advance(si, we);
    }

    fn advance(&mut self, si: usize, until: Ts) {
        while let Some((t, ev)) = self.next_event(si) {
            if t >= until {
                break;
            }
            self.b.subs[si].last = self.b.subs[si].last.max(t);
            self.process(si, t, ev);
        }
    }

    fn next_event(&self, si: usize) -> Option<(Ts, Ev)> {
        let s = &self.b.subs[si];
        match s.state {
            St::Ended => None,
            St::Trialing => s.trial.map(|t| (t.1, Ev::TrialEnd)),
            St::Incomplete { expires, .. } => Some((expires, Ev::Expire)),
            St::Unpaid { cancel_at, .. } => cancel_at.map(|t| (t, Ev::UnpaidCancel)),
            St::Active => {
                let mut best = match s.scheduled_end {
                    Some(e) if e <= s.pe => (e, Ev::End),
                    _ => (s.pe, Ev::Renew),
                };
                if let Some(d) = s.dunning {
                    // Dunning wins ties: a subscription canceled for non-payment is not renewed at that instant.
                    if d.at <= best.0 {
                        best = (d.at, Ev::Dunning);
                    }
                }
                Some(best)
            }
        }
    }

    fn process(&mut self, si: usize, t: Ts, ev: Ev) {
        match ev {
            Ev::TrialEnd => match self.b.subs[si].trial_outcome {
                TrialOutcome::CancelDuring => {
                    let s = &self.b.subs[si];
                    let (at, reason) = (s.canceled_at.unwrap_or(t), s.reason);
                    self.event(at, si, EventKind::CancelRequested { reason, at_period_end: true });
                    self.end_sub(si, t, SubscriptionStatus::Canceled);
                }
                TrialOutcome::Convert { pay_delay } => {
                    self.event(t, si, EventKind::TrialEnded);
                    self.begin_billing(si, t, Pay::Trial { delay: pay_delay });
                }
                TrialOutcome::Lapse { void_after } => {
                    self.event(t, si, EventKind::TrialEnded);
                    self.begin_billing(si, t, Pay::Lapse { void_after });
                }
            },
            Ev::Expire => {
                if let St::Incomplete { inv, .. } = self.b.subs[si].state {
                    self.b.invs[inv].status = InvoiceStatus::Void;
                }
                self.event(t, si, EventKind::IncompleteExpired);
                self.end_sub(si, t, SubscriptionStatus::IncompleteExpired);
            }
            Ev::Renew => self.renew(si, t),
            Ev::End => self.end_sub(si, t, SubscriptionStatus::Canceled),
            Ev::Dunning => {
                let Some(d) = self.b.subs[si].dunning.take() else { return };
                self.event(t, si, EventKind::DunningExhausted);
                match d.outcome {
                    DunOutcome::Unpaid => {
                        let cancel_at = self.rng.chance(0.5).then(|| t + self.rng.between(15 * DAY, 60 * DAY));
                        let s = &mut self.b.subs[si];
                        s.unpaid_since = Some(t);
                        s.reason = Some(PAYMENT_FAILED);
                        s.state = St::Unpaid { cancel_at, inv: d.inv };
                        if !s.addon && !s.gone_handled {
                            s.gone_handled = true;
                            self.on_main_gone(si, t);
                        }
                    }
                    DunOutcome::Cancel | DunOutcome::VoidCancel => {
                        self.b.invs[d.inv].status = if d.outcome == DunOutcome::Cancel {
                            InvoiceStatus::Uncollectible
                        } else {
                            InvoiceStatus::Void
                        };
                        let s = &mut self.b.subs[si];
                        s.canceled_at = Some(t);
                        s.reason = Some(PAYMENT_FAILED);
                        self.end_sub(si, t, SubscriptionStatus::Canceled);
                    }
                }
            }
            Ev::UnpaidCancel => {
                if let St::Unpaid { inv, .. } = self.b.subs[si].state {
                    self.b.invs[inv].status = InvoiceStatus::Uncollectible;
                }
                self.b.subs[si].canceled_at = Some(t);
                self.end_sub(si, t, SubscriptionStatus::Canceled);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Subscription creation, billing and ending
    // ---------------------------------------------------------------------------------------------------------

    fn plan_of(&self, s: &Sub) -> PlanIx {
        if s.addon {
            catalog::addon_plan(self.p.currency_index)
        } else {
            catalog::tier_plan(s.tier, s.annual, self.p.currency_index)
        }
    }

    fn new_sub(&mut self, at: Ts, addon: bool, tier: Tier, annual: bool, qty: i64) -> usize {
        let seq = self.b.subs.len() as u32 + 1;
        let plan = if addon {
            catalog::addon_plan(self.p.currency_index)
        } else {
            catalog::tier_plan(tier, annual, self.p.currency_index)
        };
        self.b.items.push(ItemVer { sub: seq, item: 1, plan, qty, from: at, to: None });
        let item = self.b.items.len() - 1;
        self.b.subs.push(Sub {
            seq,
            addon,
            tier,
            annual,
            qty,
            created: at,
            trial: None,
            trial_outcome: TrialOutcome::Convert { pay_delay: 0 },
            setup_fee: false,
            anchor: Anchor::of(at),
            pidx: 0,
            ps: at,
            pe: at,
            state: St::Active,
            item,
            metered: None,
            disc: None,
            pending: None,
            dunning: None,
            scheduled_end: None,
            pause: None,
            period_inv: None,
            billing_start: None,
            paid_any: false,
            gone_handled: false,
            last: at,
            cancel_at_period_end: false,
            cancel_at: None,
            canceled_at: None,
            ended_at: None,
            unpaid_since: None,
            reason: None,
            final_status: SubscriptionStatus::Active,
        });
        let si = self.b.subs.len() - 1;
        self.event(
            at,
            si,
            EventKind::SubscriptionCreated { tier: (!addon).then_some(tier), annual, seats: qty, trial: false },
        );
        si
    }

    fn initial_seats(&mut self, tier: Tier) -> i64 {
        if !tier.per_seat() {
            return 1;
        }
        let u = self.rng.unit();
        match self.size {
            Size::Smb => 2 + (10.0 * u * u * u).round() as i64,
            Size::Mid => 8 + (70.0 * u * u).round() as i64,
            Size::Enterprise => 30 + (370.0 * u * u * u).round() as i64,
        }
    }

    /// The sign-up subscription.
    fn start_main(&mut self, at: Ts) {
        let (tiers, w, p_annual): (&[Tier], &[f64], f64) = match self.size {
            Size::Smb => (&[Tier::Starter, Tier::Growth, Tier::Scale], &[0.55, 0.40, 0.05], 0.12),
            Size::Mid => (&[Tier::Growth, Tier::Scale, Tier::Enterprise], &[0.45, 0.50, 0.05], 0.30),
            Size::Enterprise => (&[Tier::Scale, Tier::Enterprise], &[0.35, 0.65], 0.75),
        };
        let tier = tiers[self.rng.pick(w)];
        let annual = self.rng.chance(p_annual);
        let qty = self.initial_seats(tier);
        let setup_fee = (self.p.sales_led && self.rng.chance(0.7))
            || (!self.p.sales_led && tier == Tier::Scale && self.rng.chance(0.1));
        let coupon = match self.p.channel {
            Channel::Partner if self.rng.chance(0.7) => Some(Coupon::Partner10),
            Channel::PaidSearch if self.rng.chance(0.3) => Some(Coupon::Launch20),
            Channel::Organic | Channel::Referral if self.rng.chance(0.10) => Some(Coupon::Welcome50),
            _ => None,
        };
        let coupon =
            coupon.or_else(|| (self.p.currency_index == 0 && self.rng.chance(0.04)).then_some(Coupon::Save100));
        let si = self.new_sub(at, false, tier, annual, qty);
        self.b.subs[si].setup_fee = setup_fee;
        if let Some(c) = coupon {
            self.apply_coupon(si, c, at);
        }
        if !self.p.trial {
            self.begin_billing(si, at, Pay::First);
            return;
        }
        // 14-day trial with a $0 invoice covering it.
        let trial_end = at + TRIAL_DAYS * DAY;
        let h = self.latent.health;
        let outcome = if self.rng.chance(0.45 + 0.45 * h) {
            let late = self.rng.chance(0.12);
            TrialOutcome::Convert {
                pay_delay: if late { self.rng.between(5 * DAY, 20 * DAY) } else { self.rng.between(MINUTE, 2 * HOUR) },
            }
        } else if self.rng.chance(0.6) {
            let t_c = self.rng.between(at + HOUR, trial_end);
            let reason = if self.rng.chance(0.5) {
                None
            } else {
                Some(
                    ["unused", "too_expensive", "missing_features", "too_complex", "switched_service"]
                        [self.rng.between(0, 5) as usize],
                )
            };
            if t_c < self.ctx.end {
                let s = &mut self.b.subs[si];
                s.canceled_at = Some(t_c);
                s.cancel_at_period_end = true;
                s.cancel_at = Some(trial_end);
                s.reason = reason;
            }
            TrialOutcome::CancelDuring
        } else {
            TrialOutcome::Lapse { void_after: self.rng.between(7 * DAY, 15 * DAY) }
        };
        {
            let s = &mut self.b.subs[si];
            s.trial = Some((at, trial_end));
            s.trial_outcome = outcome;
            s.state = St::Trialing;
            s.pe = trial_end;
        }
        if let Some(EventKind::SubscriptionCreated { trial, .. }) = self.b.events.last_mut().map(|e| &mut e.kind) {
            *trial = true;
        }
        let plan = self.plan_of(&self.b.subs[si]);
        let inv = self.open_invoice(at);
        let line = Line {
            sub: self.b.subs[si].seq,
            item: 1,
            plan,
            one_time: false,
            period: Some((at, trial_end)),
            amount: 0,
            disc: None,
            tax: 0,
            qty,
            prorated: false,
        };
        self.push_line(inv, line);
        let i = &mut self.b.invs[inv];
        i.due = Some(at);
        i.paid = Some(at);
        i.status = InvoiceStatus::Paid;
    }

    fn apply_coupon(&mut self, si: usize, c: Coupon, at: Ts) {
        let end = c.duration_in_months().map(|m| Anchor::of(at).plus_months(m as i64));
        self.b.discs.push(DiscApp {
            coupon: c,
            sub: self.b.subs[si].seq,
            start: at,
            end,
            remaining: c.amount_off().map(|a| a.0).unwrap_or(0),
            applied: false,
        });
        self.b.subs[si].disc = Some(self.b.discs.len() - 1);
    }

    /// Starts paid service at `at`: anchors the billing cycle and issues the first invoice.
    fn begin_billing(&mut self, si: usize, at: Ts, pay: Pay) {
        let cur = self.p.currency_index;
        let (qty, seq, setup) = {
            let s = &mut self.b.subs[si];
            s.state = St::Active;
            s.anchor = Anchor::of(at);
            s.pidx = 0;
            s.ps = at;
            s.pe = s.anchor.plus_months(if s.annual { 12 } else { 1 });
            s.billing_start = Some(at);
            (s.qty, s.seq, s.setup_fee)
        };
        let plan = self.plan_of(&self.b.subs[si]);
        let (ps, pe) = (self.b.subs[si].ps, self.b.subs[si].pe);
        self.b.scratch.clear();
        let l = self.make_line(si, at, 1, plan, qty, Some((ps, pe)), catalog::unit_amount(plan) * qty, false, false);
        self.b.scratch.push(l);
        if setup {
            let sp = catalog::setup_plan(cur);
            let l = Line {
                sub: seq,
                item: 0,
                plan: sp,
                one_time: true,
                period: None,
                amount: catalog::unit_amount(sp),
                disc: None,
                tax: self.tax(catalog::unit_amount(sp)),
                qty: 1,
                prorated: false,
            };
            self.b.scratch.push(l);
        }
        let inv = self.flush_invoice(si, at);
        self.b.subs[si].period_inv = Some(inv);
        self.settle(si, inv, at, pay);
    }

    fn renew(&mut self, si: usize, t: Ts) {
        let cur = self.p.currency_index;
        let (prev_ps, prev_pe) = (self.b.subs[si].ps, self.b.subs[si].pe);
        if let Some(pd) = self.b.subs[si].pending.take() {
            let s = &self.b.subs[si];
            let (old_tier, old_qty, old_annual) = (s.tier, s.qty, s.annual);
            let new_plan = catalog::tier_plan(pd.tier, pd.annual, cur);
            {
                let s = &mut self.b.subs[si];
                if pd.annual != old_annual {
                    s.anchor = Anchor::of(t);
                    s.pidx = 0;
                } else {
                    s.pidx += 1;
                }
                s.tier = pd.tier;
                s.qty = pd.qty;
                s.annual = pd.annual;
            }
            self.change_item(si, t, new_plan, pd.qty);
            if pd.tier != old_tier {
                self.event(t, si, EventKind::TierChanged { from: old_tier, to: pd.tier, prorated: false });
            }
            if pd.qty != old_qty {
                self.event(t, si, EventKind::SeatsChanged { from: old_qty, to: pd.qty, prorated: false });
            }
            if pd.annual != old_annual {
                self.event(t, si, EventKind::IntervalChanged { annual: pd.annual });
                if pd.annual {
                    // A subscription's items share one interval: the monthly metered item goes.
                    if let Some(mi) = self.b.subs[si].metered.take() {
                        self.b.items[mi].to = Some(t);
                    }
                }
            }
        } else {
            self.b.subs[si].pidx += 1;
        }
        let (qty, seq) = {
            let s = &mut self.b.subs[si];
            let n = if s.annual { 12 } else { 1 };
            s.ps = t;
            s.pe = s.anchor.plus_months(n * (s.pidx + 1));
            debug_assert_eq!(s.anchor.plus_months(n * s.pidx), t);
            (s.qty, s.seq)
        };
        let plan = self.plan_of(&self.b.subs[si]);
        let (ps, pe) = (self.b.subs[si].ps, self.b.subs[si].pe);
        let paused = self.b.subs[si].pause.is_some_and(|(a, b)| a <= t && t < b);
        self.b.scratch.clear();
        let l = self.make_line(si, t, 1, plan, qty, Some((ps, pe)), catalog::unit_amount(plan) * qty, false, paused);
        self.b.scratch.push(l);
        if let Some(mi) = self.b.subs[si].metered {
            let from = self.b.items[mi].from.max(prev_ps);
            if from < prev_pe && !paused {
                let mp = catalog::metered_plan(cur);
                let h = self.latent.health;
                let frac = (prev_pe - from) as f64 / (prev_pe - prev_ps) as f64;
                let units = (qty as f64 * (3.0 + 25.0 * h) * self.rng.uniform(0.6, 1.4) * frac).round() as i64;
                let amount = units * catalog::unit_amount(mp);
                self.b.scratch.push(Line {
                    sub: seq,
                    item: 2,
                    plan: mp,
                    one_time: false,
                    period: Some((from, prev_pe)),
                    amount,
                    disc: None,
                    tax: self.tax(amount),
                    qty: units,
                    prorated: false,
                });
            }
        }
        let mut issued = t;
        let mut inv = self.flush_invoice(si, t);
        if paused {
            // pause_collection with behavior = void: the invoice is created and voided.
            self.b.invs[inv].status = InvoiceStatus::Void;
            self.b.invs[inv].due = Some(t + DAY);
            return;
        }
        if self.rng.chance(0.003) {
            // Billing error: voided and reissued a few hours later.
            let again = t + self.rng.between(HOUR, 6 * HOUR);
            if again < self.ctx.end && again < pe {
                self.b.invs[inv].status = InvoiceStatus::Void;
                self.b.invs[inv].due = Some(t + DAY);
                inv = self.flush_invoice(si, again);
                issued = again;
                self.b.subs[si].last = again;
            }
        }
        self.b.subs[si].period_inv = Some(inv);
        self.settle(si, inv, issued, Pay::Regular);
    }

    /// Ends a subscription at `t` with `status` (record fields such as the reason are set by the caller).
    fn end_sub(&mut self, si: usize, t: Ts, status: SubscriptionStatus) {
        let (item, metered) = {
            let s = &mut self.b.subs[si];
            s.ended_at = Some(t);
            s.final_status = status;
            s.state = St::Ended;
            s.scheduled_end = None;
            s.dunning = None;
            s.pending = None;
            (s.item, s.metered)
        };
        for ix in [Some(item), metered].into_iter().flatten() {
            if self.b.items[ix].to.is_none() {
                self.b.items[ix].to = Some(t);
            }
        }
        self.event(t, si, EventKind::Ended);
        let s = &mut self.b.subs[si];
        if !s.addon && !s.gone_handled {
            s.gone_handled = true;
            self.on_main_gone(si, t);
        }
    }

    /// The main subscription ended or became unpaid: add-ons go with it; a paying customer may come back.
    fn on_main_gone(&mut self, si: usize, t: Ts) {
        let reason = self.b.subs[si].reason;
        for s in self.b.subs.iter_mut() {
            if s.addon && s.state != St::Ended && s.scheduled_end.is_none_or(|e| e > t) {
                let at = t.max(s.last);
                s.scheduled_end = Some(at);
                s.canceled_at = Some(at);
                s.reason = reason;
            }
        }
        let s = &self.b.subs[si];
        if !s.paid_any || s.billing_start.is_none() {
            return;
        }
        let involuntary = s.reason == Some(PAYMENT_FAILED);
        let (p, lo, hi) = if involuntary { (0.22, 20, 120) } else { (0.15, 60, 360) };
        if self.rng.chance(p) {
            self.reactivate_at = Some(t + self.rng.between(lo * DAY, hi * DAY));
        }
    }

    /// A churned customer returns at `at` with a new subscription.
    fn reactivate(&mut self, at: Ts, we: Ts) {
        let Some(prev) = self.b.subs.iter().rev().find(|s| !s.addon) else { return };
        if prev.state != St::Ended && !matches!(prev.state, St::Unpaid { .. }) {
            return;
        }
        let (mut tier, mut annual, mut qty) = (prev.tier, prev.annual, prev.qty);
        if self.rng.chance(0.3) {
            if let Some(d) = tier.down() {
                tier = d;
            }
        }
        if self.rng.chance(0.6) {
            annual = false;
        }
        if tier == Tier::Starter {
            qty = 1;
        } else {
            qty = ((qty as f64) * self.rng.uniform(0.6, 1.1)).round().max(1.0) as i64;
        }
        self.latent.health = self.latent.health.max(0.6);
        self.latent.baseline = (self.latent.baseline + 0.05).min(0.9);
        let si = self.new_sub(at, false, tier, annual, qty);
        self.event(at, si, EventKind::Reactivated);
        if self.rng.chance(0.2) {
            self.apply_coupon(si, Coupon::Launch20, at);
        }
        self.begin_billing(si, at, Pay::First);
        self.advance(si, we);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Invoices
    // ---------------------------------------------------------------------------------------------------------

    fn tax(&self, net: i64) -> i64 {
        if self.p.tax_inclusive {
            // 20 % VAT included: tax = net × 20 / 120.
            div_round(net as i128, 6, RoundingMode::HalfAwayFromZero) as i64
        } else {
            0
        }
    }

    /// A subscription line with the subscription's active discount and inclusive tax.
    #[allow(clippy::too_many_arguments)]
    fn make_line(
        &mut self,
        si: usize,
        at: Ts,
        item: u32,
        plan: PlanIx,
        qty: i64,
        period: Option<(Ts, Ts)>,
        amount: i64,
        prorated: bool,
        no_discount: bool,
    ) -> Line {
        let disc = if no_discount { None } else { self.discount_for(si, at, amount, prorated) };
        let net = amount - disc.map(|d| d.1).unwrap_or(0);
        Line {
            sub: self.b.subs[si].seq,
            item,
            plan,
            one_time: false,
            period,
            amount,
            disc,
            tax: self.tax(net),
            qty,
            prorated,
        }
    }

    fn discount_for(&mut self, si: usize, at: Ts, amount: i64, prorated: bool) -> Option<(u32, i64)> {
        let di = self.b.subs[si].disc?;
        let app = &mut self.b.discs[di];
        if at < app.start || app.end.is_some_and(|e| at >= e) || amount == 0 {
            return None;
        }
        let c = app.coupon;
        if prorated && c.duration() == holdfast_core::records::DiscountDuration::Once {
            return None;
        }
        let off = if let Some(p) = c.percent_off_milli() {
            div_round(amount as i128 * p as i128, 100_000, RoundingMode::HalfAwayFromZero) as i64
        } else if amount > 0 {
            let o = app.remaining.min(amount);
            app.remaining -= o;
            o
        } else {
            0
        };
        if off == 0 {
            return None;
        }
        app.applied = true;
        Some((di as u32 + 1, off))
    }

    fn open_invoice(&mut self, at: Ts) -> usize {
        let lo = self.b.lines.len() as u32;
        self.b.invs.push(Inv {
            seq: self.b.invs.len() as u32,
            issued: at,
            due: None,
            paid: None,
            status: InvoiceStatus::Open,
            refunded: 0,
            lo,
            hi: lo,
        });
        self.b.invs.len() - 1
    }

    fn push_line(&mut self, inv: usize, l: Line) {
        self.b.lines.push(l);
        self.b.invs[inv].hi = self.b.lines.len() as u32;
    }

    /// Issues an invoice at `at` with the scratch lines and retires spent or expired discounts.
    fn flush_invoice(&mut self, si: usize, at: Ts) -> usize {
        let inv = self.open_invoice(at);
        for i in 0..self.b.scratch.len() {
            let l = self.b.scratch[i];
            self.push_line(inv, l);
        }
        if let Some(di) = self.b.subs[si].disc {
            let app = &self.b.discs[di];
            let spent = app.coupon.duration() == holdfast_core::records::DiscountDuration::Once && app.applied;
            if spent || app.end.is_some_and(|e| at >= e) {
                self.b.subs[si].disc = None;
            }
        }
        inv
    }

    fn inv_total(&self, inv: usize) -> i64 {
        let i = &self.b.invs[inv];
        self.b.lines[i.lo as usize..i.hi as usize].iter().map(|l| l.amount - l.disc.map(|d| d.1).unwrap_or(0)).sum()
    }

    /// Decides how and when an invoice is paid.
    fn settle(&mut self, si: usize, inv: usize, at: Ts, pay: Pay) {
        let total = self.inv_total(inv);
        let sales = self.p.sales_led;
        let due = at + if sales { 30 * DAY } else { DAY };
        self.b.invs[inv].due = Some(due);
        if total <= 0 {
            self.b.invs[inv].status = InvoiceStatus::Paid;
            self.b.invs[inv].paid = Some(at);
            return;
        }
        let h = self.latent.health;
        let quick =
            |rng: &mut Pcg64Mcg| if sales { rng.between(2 * DAY, 28 * DAY) } else { rng.between(MINUTE, 2 * HOUR) };
        let paid_at = match pay {
            Pay::Lapse { void_after } => {
                self.event(at, si, EventKind::PaymentFailed);
                self.b.subs[si].dunning = Some(Dunning { at: at + void_after, inv, outcome: DunOutcome::VoidCancel });
                None
            }
            Pay::Trial { delay } => {
                if delay > DAY {
                    self.event(at, si, EventKind::PaymentFailed);
                }
                Some(at + delay)
            }
            Pay::First => {
                if !sales && self.rng.chance(0.06) {
                    self.b.subs[si].state = St::Incomplete { expires: at + 23 * HOUR, inv };
                    None
                } else {
                    Some(at + quick(&mut self.rng))
                }
            }
            Pay::Immediate => Some(at + quick(&mut self.rng)),
            Pay::Regular => {
                let dunning_pending = self.b.subs[si].dunning.is_some();
                if sales {
                    let u = self.rng.unit();
                    if u < 0.85 {
                        Some(at + self.rng.between(2 * DAY, 28 * DAY))
                    } else if u < 0.995 || dunning_pending {
                        Some(at + self.rng.between(31 * DAY, 60 * DAY))
                    } else {
                        self.b.subs[si].dunning = Some(Dunning { at: at + 60 * DAY, inv, outcome: DunOutcome::Cancel });
                        None
                    }
                } else if !dunning_pending && self.rng.chance(0.03) {
                    self.event(at, si, EventKind::PaymentFailed);
                    if self.rng.chance(0.5 + 0.35 * h) {
                        Some(at + self.rng.between(2 * DAY, 20 * DAY))
                    } else {
                        let outcome = if self.rng.chance(0.5) { DunOutcome::Unpaid } else { DunOutcome::Cancel };
                        let d_at = at + self.rng.between(21 * DAY, 28 * DAY);
                        self.b.subs[si].dunning = Some(Dunning { at: d_at, inv, outcome });
                        None
                    }
                } else {
                    Some(at + quick(&mut self.rng))
                }
            }
        };
        match paid_at {
            Some(p) if p < self.ctx.end => {
                self.b.invs[inv].status = InvoiceStatus::Paid;
                self.b.invs[inv].paid = Some(p);
                self.b.subs[si].paid_any = true;
                if p > due {
                    self.event(p, si, EventKind::PaymentRecovered);
                }
                if pay == Pay::Regular && self.rng.chance(0.003) {
                    let amount = if self.rng.chance(0.5) { total } else { total / 2 };
                    self.b.invs[inv].refunded = amount;
                    self.event(p, si, EventKind::Refunded { amount });
                }
            }
            _ => {
                self.b.invs[inv].status = InvoiceStatus::Open;
                // A paid-later invoice is still a customer who intends to pay: service runs on.
                if paid_at.is_some() {
                    self.b.subs[si].paid_any = true;
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Actions
    // ---------------------------------------------------------------------------------------------------------

    fn draw_action(&mut self, si: usize, ws: Ts, we: Ts) -> Option<(Ts, Action)> {
        let s = &self.b.subs[si];
        if s.state != St::Active || s.scheduled_end.is_some() {
            return None;
        }
        let lo = ws.max(s.last + 1);
        if lo >= we {
            return None;
        }
        let h = self.latent.health;
        let mult = self.latent.churn_multiplier();
        let u = self.rng.unit();
        let s = &self.b.subs[si];
        let probs: &[(Action, f64)] = if s.addon {
            &[(Action::Cancel, 0.03 * mult)]
        } else {
            let base = match self.size {
                Size::Smb => 0.024,
                Size::Mid => 0.013,
                Size::Enterprise => 0.007,
            };
            let early = match s.billing_start {
                Some(b) if ws - b < 90 * DAY => 1.4,
                _ => 1.0,
            };
            let interval = if s.annual { 0.45 } else { 1.0 };
            &[
                (Action::Cancel, base * mult * early * interval),
                (Action::SeatUp, 0.014 + 0.085 * h),
                (Action::SeatDown, 0.008 + 0.035 * (1.0 - h)),
                (Action::Upgrade, 0.004 + 0.014 * h),
                (Action::Downgrade, 0.003 + 0.012 * (1.0 - h)),
                (Action::ToAnnual, if h > 0.5 { 0.006 } else { 0.0 }),
                (Action::ToMonthly, 0.002),
                (Action::Pause, if self.size == Size::Smb { 0.005 } else { 0.002 }),
                (Action::Goodwill, 0.0015),
                (Action::AddMetered, 0.015),
            ]
        };
        let mut acc = 0.0;
        for &(a, p) in probs {
            acc += p;
            if u < acc {
                return Some((self.rng.between(lo, we), a));
            }
        }
        None
    }

    fn eligible(&self, si: usize, t: Ts, a: Action) -> bool {
        let s = &self.b.subs[si];
        if s.state != St::Active
            || s.dunning.is_some()
            || s.scheduled_end.is_some()
            || t <= s.ps
            || t >= s.pe
            || t < s.last
            || s.pause.is_some_and(|(a, b)| a <= t && t < b)
            || (s.pending.is_some() && a != Action::Cancel)
        {
            return false;
        }
        match a {
            Action::Cancel => true,
            Action::SeatUp => s.tier.per_seat(),
            Action::SeatDown => s.tier.per_seat() && s.qty > 1,
            Action::Upgrade => s.tier.up().is_some_and(|u| u != Tier::Enterprise || self.size != Size::Smb),
            Action::Downgrade => s.tier.down().is_some(),
            Action::ToAnnual => !s.annual,
            Action::ToMonthly => s.annual,
            Action::Pause => s.pause.is_none() && !s.annual,
            Action::Goodwill => s.disc.is_none(),
            Action::AddMetered => s.metered.is_none() && !s.annual && s.tier >= Tier::Scale,
        }
    }

    fn apply(&mut self, si: usize, t: Ts, a: Action) {
        let (tier, qty, annual) = {
            let s = &self.b.subs[si];
            (s.tier, s.qty, s.annual)
        };
        match a {
            Action::Cancel => self.cancel(si, t),
            Action::SeatUp => {
                let add = ((qty as f64) * self.rng.uniform(0.1, 0.4)).round().max(1.0) as i64;
                self.prorate_change(si, t, tier, qty + add);
            }
            Action::SeatDown => {
                let cut = ((qty as f64) * self.rng.uniform(0.1, 0.3)).round().max(1.0) as i64;
                let new = (qty - cut).max(1);
                if annual || self.rng.chance(0.5) {
                    self.b.subs[si].pending = Some(Pending { tier, qty: new, annual });
                } else {
                    self.prorate_change(si, t, tier, new);
                }
            }
            Action::Upgrade => {
                let Some(to) = tier.up() else { return };
                let new = if tier == Tier::Starter { self.rng.between(2, 9) } else { qty };
                self.prorate_change(si, t, to, new);
            }
            Action::Downgrade => {
                let Some(to) = tier.down() else { return };
                let new = if to == Tier::Starter { 1 } else { qty };
                if annual || self.rng.chance(0.5) {
                    self.b.subs[si].pending = Some(Pending { tier: to, qty: new, annual });
                } else {
                    self.prorate_change(si, t, to, new);
                }
            }
            Action::ToAnnual | Action::ToMonthly => {
                self.b.subs[si].pending = Some(Pending { tier, qty, annual: a == Action::ToAnnual });
            }
            Action::Pause => {
                let n = self.rng.between(1, 4);
                let s = &mut self.b.subs[si];
                let from = s.pe;
                if from < self.ctx.end {
                    let until = s.anchor.plus_months(s.pidx + 1 + n);
                    s.pause = Some((from, until));
                    self.event(t, si, EventKind::PauseScheduled { from, until });
                }
            }
            Action::Goodwill => {
                self.apply_coupon(si, Coupon::FreeMonth, t);
                self.event(t, si, EventKind::GoodwillCredit);
            }
            Action::AddMetered => {
                let seq = self.b.subs[si].seq;
                let plan = catalog::metered_plan(self.p.currency_index);
                self.b.items.push(ItemVer { sub: seq, item: 2, plan, qty: 0, from: t, to: None });
                self.b.subs[si].metered = Some(self.b.items.len() - 1);
                self.event(t, si, EventKind::MeteredUsageAdded);
            }
        }
    }

    fn draw_reason(&mut self) -> Option<&'static str> {
        if self.rng.chance(0.1) {
            return None;
        }
        if self.latent.health < 0.35 && self.rng.chance(0.4) {
            return Some("unused");
        }
        Some(REASONS[self.rng.pick(&REASON_W)])
    }

    fn cancel(&mut self, si: usize, t: Ts) {
        let reason = self.draw_reason();
        let at_period_end = {
            let s = &self.b.subs[si];
            s.addon || s.annual
        } || self.rng.chance(0.7);
        {
            let s = &mut self.b.subs[si];
            s.canceled_at = Some(t);
            s.reason = reason;
            s.pending = None;
        }
        self.event(t, si, EventKind::CancelRequested { reason, at_period_end });
        if at_period_end {
            let s = &mut self.b.subs[si];
            s.cancel_at_period_end = true;
            s.cancel_at = Some(s.pe);
            s.scheduled_end = Some(s.pe);
            return;
        }
        // Immediate cancellation: credit the unused time, refund it, or neither.
        let u = self.rng.unit();
        let (ps, pe, qty, plan, period_inv) = {
            let s = &self.b.subs[si];
            (s.ps, s.pe, s.qty, self.plan_of(s), s.period_inv)
        };
        let unused = prorate(catalog::unit_amount(plan) * qty, pe - t, pe - ps);
        if u < 0.4 && unused > 0 {
            self.b.scratch.clear();
            let l = self.make_line(si, t, 1, plan, qty, Some((t, pe)), -unused, true, false);
            self.b.scratch.push(l);
            let inv = self.flush_invoice(si, t);
            self.settle(si, inv, t, Pay::Immediate);
        } else if u < 0.6 {
            if let Some(pi) = period_inv {
                if self.b.invs[pi].status == InvoiceStatus::Paid {
                    let paid = self.inv_total(pi).max(0);
                    let amount = unused.min(paid - self.b.invs[pi].refunded);
                    if amount > 0 {
                        self.b.invs[pi].refunded += amount;
                        self.event(t, si, EventKind::Refunded { amount });
                    }
                }
            }
        }
        self.end_sub(si, t, SubscriptionStatus::Canceled);
    }

    /// Mid-cycle change of tier and/or seats, invoiced at once with Stripe-style prorations: a credit for the
    /// unused time on the old price and a charge for the remaining time on the new one, over `[t, period end)`.
    fn prorate_change(&mut self, si: usize, t: Ts, tier: Tier, qty: i64) {
        let cur = self.p.currency_index;
        let (old_tier, old_qty, annual, ps, pe, old_plan) = {
            let s = &self.b.subs[si];
            (s.tier, s.qty, s.annual, s.ps, s.pe, self.plan_of(s))
        };
        if tier == old_tier && qty == old_qty {
            return;
        }
        let new_plan = catalog::tier_plan(tier, annual, cur);
        let credit = -prorate(catalog::unit_amount(old_plan) * old_qty, pe - t, pe - ps);
        let charge = prorate(catalog::unit_amount(new_plan) * qty, pe - t, pe - ps);
        self.b.scratch.clear();
        let l = self.make_line(si, t, 1, old_plan, old_qty, Some((t, pe)), credit, true, false);
        self.b.scratch.push(l);
        let l = self.make_line(si, t, 1, new_plan, qty, Some((t, pe)), charge, true, false);
        self.b.scratch.push(l);
        let inv = self.flush_invoice(si, t);
        self.settle(si, inv, t, Pay::Immediate);
        self.change_item(si, t, new_plan, qty);
        {
            let s = &mut self.b.subs[si];
            s.tier = tier;
            s.qty = qty;
        }
        if tier != old_tier {
            self.event(t, si, EventKind::TierChanged { from: old_tier, to: tier, prorated: true });
        }
        if qty != old_qty {
            self.event(t, si, EventKind::SeatsChanged { from: old_qty, to: qty, prorated: true });
        }
    }

    fn change_item(&mut self, si: usize, t: Ts, plan: PlanIx, qty: i64) {
        let cur = self.b.subs[si].item;
        let (sub, item) = (self.b.items[cur].sub, self.b.items[cur].item);
        if self.b.items[cur].from == t {
            self.b.items[cur].plan = plan;
            self.b.items[cur].qty = qty;
            return;
        }
        self.b.items[cur].to = Some(t);
        self.b.items.push(ItemVer { sub, item, plan, qty, from: t, to: None });
        self.b.subs[si].item = self.b.items.len() - 1;
    }

    /// Customer-level monthly draws: add-on purchase, company growth (a new size version), CSM reassignment.
    fn customer_actions(&mut self, ws: Ts, we: Ts) {
        let Some(mi) = self.b.subs.iter().rposition(|s| !s.addon && s.state == St::Active && s.scheduled_end.is_none())
        else {
            return;
        };
        let u = self.rng.unit();
        let lo = ws.max(self.b.subs[mi].last + 1);
        if lo >= we {
            return;
        }
        let h = self.latent.health;
        let has_addon = self.b.subs.iter().any(|s| s.addon && s.state != St::Ended);
        let p_addon = if !has_addon && (self.size != Size::Smb || h > 0.7) { 0.006 } else { 0.0 };
        let p_grow = match self.size {
            Size::Smb if h > 0.5 => 0.004,
            Size::Mid if h > 0.5 => 0.002,
            _ => 0.0,
        };
        let p_csm = if self.size != Size::Smb { 0.01 } else { 0.0 };
        if u >= p_addon + p_grow + p_csm {
            return;
        }
        let t = self.rng.between(lo, we);
        if u < p_addon {
            let si = self.new_sub(t, true, Tier::Starter, false, 1);
            self.begin_billing(si, t, Pay::Immediate);
            self.advance(si, we);
        } else if u < p_addon + p_grow {
            let Some(to) = self.size.up() else { return };
            self.size = to;
            if self.csm.is_none() {
                self.csm = Some(crate::profile::CSM_OWNERS[self.rng.between(0, 8) as usize]);
            }
            self.b.versions.push((t, to, self.csm));
            self.event(t, mi, EventKind::SizeChanged { to });
            if self.eligible(mi, t, Action::Upgrade) || self.eligible(mi, t, Action::SeatUp) {
                let (tier, qty) = (self.b.subs[mi].tier, self.b.subs[mi].qty);
                self.b.subs[mi].last = t;
                if tier == Tier::Starter {
                    let seats = self.rng.between(5, 16);
                    self.prorate_change(mi, t, Tier::Growth, seats);
                } else {
                    let add = ((qty as f64) * self.rng.uniform(0.5, 1.5)).round().max(2.0) as i64;
                    self.prorate_change(mi, t, tier, qty + add);
                }
            }
        } else if u < p_addon + p_grow + p_csm {
            let to = crate::profile::CSM_OWNERS[self.rng.between(0, 8) as usize];
            if Some(to) != self.csm {
                self.csm = Some(to);
                self.b.versions.push((t, self.size, self.csm));
                self.event(t, mi, EventKind::CsmChanged { to });
            }
        }
    }

    fn event(&mut self, at: Ts, si: usize, kind: EventKind) {
        let subscription = self.b.subs[si].seq;
        self.b.events.push(LifecycleEvent { at, subscription, kind });
    }

    // ---------------------------------------------------------------------------------------------------------
    // Rendering
    // ---------------------------------------------------------------------------------------------------------

    fn attributes(&self, size: Size, csm: Option<&'static str>) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        a.insert("country".to_string(), self.p.country.to_string());
        a.insert("size".to_string(), size.as_str().to_string());
        a.insert("acquisition_channel".to_string(), self.p.channel.as_str().to_string());
        a.insert("industry".to_string(), self.p.industry.to_string());
        let method = if self.p.sales_led { "send_invoice" } else { "charge_automatically" };
        a.insert("collection_method".to_string(), method.to_string());
        if let Some(c) = csm {
            a.insert("csm_owner".to_string(), c.to_string());
        }
        a
    }

    fn emit(&mut self, num: &str, sink: &mut dyn FnMut(Record)) {
        let end = self.ctx.end;
        let cur = self.p.currency;
        // Final statuses as of the end of the simulated range.
        for s in self.b.subs.iter_mut() {
            s.final_status = match s.state {
                St::Ended => s.final_status,
                St::Trialing => SubscriptionStatus::Trialing,
                St::Incomplete { .. } => SubscriptionStatus::Incomplete,
                St::Unpaid { .. } => SubscriptionStatus::Unpaid,
                St::Active => {
                    if s.pause.is_some_and(|(a, b)| a <= end && end < b) {
                        SubscriptionStatus::Paused
                    } else {
                        SubscriptionStatus::Active
                    }
                }
            };
        }
        for inv in &self.b.invs {
            if inv.status == InvoiceStatus::Open && inv.due.is_some_and(|d| d < end) {
                for l in &self.b.lines[inv.lo as usize..inv.hi as usize] {
                    let s = &mut self.b.subs[l.sub as usize - 1];
                    if s.final_status == SubscriptionStatus::Active {
                        s.final_status = SubscriptionStatus::PastDue;
                    }
                }
            }
        }

        // Customer versions.
        let base = CustomerRecord {
            id: self.p.id.clone(),
            valid_from: None,
            name: Some(self.p.name.clone()),
            email: Some(["billing@", self.p.domain.as_str()].concat()),
            domain: Some(self.p.domain.clone()),
            created_at: Some(self.p.signup),
            external_ids: Vec::new(),
            attributes: self.attributes(self.p.size, self.p.csm_owner),
        };
        if self.b.versions.is_empty() {
            sink(Record::Customer(base));
        } else {
            sink(Record::Customer(base.clone()));
            for &(t, size, csm) in &self.b.versions {
                let mut v = base.clone();
                v.valid_from = Some(t);
                v.attributes = self.attributes(size, csm);
                sink(Record::Customer(v));
            }
        }

        let sub_ids: Vec<String> = self.b.subs.iter().map(|s| make_id("sub_", num, &[(s.seq as u64, 1)])).collect();
        let item_id = |sub: u32, item: u32| make_id("si_", num, &[(sub as u64, 1), (item as u64, 1)]);
        let item_ids: Vec<[String; 2]> = self
            .b
            .subs
            .iter()
            .map(|s| {
                let metered = self.b.items.iter().any(|i| i.sub == s.seq && i.item == 2);
                [item_id(s.seq, 1), if metered { item_id(s.seq, 2) } else { String::new() }]
            })
            .collect();

        for (s, id) in self.b.subs.iter().zip(&sub_ids) {
            sink(Record::Subscription(SubscriptionRecord {
                id: id.clone(),
                customer_id: self.p.id.clone(),
                status: s.final_status,
                currency: Some(cur),
                created_at: Some(s.created),
                started_at: Some(s.created),
                trial_start: s.trial.map(|t| t.0),
                trial_end: s.trial.map(|t| t.1),
                cancel_at_period_end: s.cancel_at_period_end,
                cancel_at: s.cancel_at,
                canceled_at: s.canceled_at,
                ended_at: s.ended_at,
                unpaid_since: s.unpaid_since,
                pause_start: s.pause.map(|p| p.0),
                pause_end: s.pause.map(|p| p.1),
                cancellation_reason: s.reason.map(str::to_string),
            }));
        }
        self.b.items.sort_by_key(|i| (i.sub, i.item, i.from));
        for it in &self.b.items {
            sink(Record::SubscriptionItem(SubscriptionItemRecord {
                id: item_ids[it.sub as usize - 1][it.item as usize - 1].clone(),
                subscription_id: sub_ids[it.sub as usize - 1].clone(),
                plan_id: self.ctx.plan_ids[it.plan as usize].clone(),
                quantity: it.qty,
                valid_from: it.from,
                valid_to: it.to,
            }));
        }
        let disc_ids: Vec<String> = (1..=self.b.discs.len()).map(|n| make_id("di_", num, &[(n as u64, 1)])).collect();
        for (d, id) in self.b.discs.iter().zip(&disc_ids) {
            let c = d.coupon;
            let off = c.amount_off();
            sink(Record::Discount(DiscountRecord {
                id: id.clone(),
                name: Some(c.name().to_string()),
                duration: c.duration(),
                duration_in_months: c.duration_in_months(),
                percent_off_milli: c.percent_off_milli(),
                amount_off: off.map(|o| o.0),
                currency: off.map(|o| o.1),
                customer_id: Some(self.p.id.clone()),
                subscription_id: Some(sub_ids[d.sub as usize - 1].clone()),
                start: Some(d.start),
                end: d.end,
            }));
        }

        // Invoices in issue order, each followed by its lines.
        self.b.order.clear();
        self.b.order.extend(0..self.b.invs.len() as u32);
        let invs = &self.b.invs;
        self.b.order.sort_by_key(|&i| (invs[i as usize].issued, invs[i as usize].seq));
        for (k, &ix) in self.b.order.iter().enumerate() {
            let inv = self.b.invs[ix as usize];
            let lines = &self.b.lines[inv.lo as usize..inv.hi as usize];
            let total: i64 = lines.iter().map(|l| l.amount - l.disc.map(|d| d.1).unwrap_or(0)).sum();
            let amount_paid = if inv.status == InvoiceStatus::Paid { total.max(0) } else { 0 };
            let invoice_id = make_id("in_", num, &[(k as u64 + 1, 4)]);
            sink(Record::Invoice(InvoiceRecord {
                id: invoice_id.clone(),
                customer_id: self.p.id.clone(),
                currency: cur,
                status: inv.status,
                issued_at: inv.issued,
                due_at: inv.due,
                paid_at: if inv.status == InvoiceStatus::Paid { inv.paid } else { None },
                total,
                amount_paid,
                amount_refunded: inv.refunded.min(amount_paid),
            }));
            let mut invoice_id = Some(invoice_id);
            for (j, l) in lines.iter().enumerate() {
                let parent = invoice_id.as_deref().unwrap_or_default();
                let id = make_id("il", &parent[2..], &[(j as u64 + 1, 1)]);
                // The last line takes the invoice id; the others clone it.
                let parent =
                    if j + 1 == lines.len() { invoice_id.take().unwrap_or_default() } else { parent.to_string() };
                sink(Record::InvoiceLine(InvoiceLineRecord {
                    id,
                    invoice_id: parent,
                    subscription_id: Some(sub_ids[l.sub as usize - 1].clone()),
                    item_id: (l.item > 0).then(|| item_ids[l.sub as usize - 1][l.item as usize - 1].clone()),
                    plan_id: Some(self.ctx.plan_ids[l.plan as usize].clone()),
                    price_type: if l.one_time { PriceType::OneTime } else { PriceType::Recurring },
                    period_start: l.period.map(|p| p.0),
                    period_end: l.period.map(|p| p.1),
                    amount: l.amount,
                    discounts: match l.disc {
                        Some((d, a)) => vec![LineDiscount { discount_id: disc_ids[d as usize - 1].clone(), amount: a }],
                        None => Vec::new(),
                    },
                    tax_inclusive: l.tax,
                    quantity: l.qty,
                    prorated: l.prorated,
                }));
            }
        }
    }
}
