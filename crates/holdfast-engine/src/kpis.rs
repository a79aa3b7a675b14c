//! Revenue KPIs (spec §3) by period and segment, from per-customer ledger rows.
//!
//! A customer contributes only where something happens: each ledger row, attribute version, renewal term
//! and CMRR adjustment is placed in its period and adds flows, plus the *change* of the stocks (MRR,
//! customers, seats) during that period, into a `(period × segment)` grid of [`Acc`] sums. [`stocks`]
//! turns the changes into start and end stocks by prefix sums, so the cost is proportional to the number
//! of events, not customers × periods. Ratios are formed once, at the end, from numerators and denominators.
use crate::result::*;
use crate::segment::{month_index, Segmenter};
use crate::settings::*;
use crate::timeline::{ChangeExtra, Kind, Scratch, CHANGE_NEGATIVE_MRR, CHANGE_RETURNING};
use holdfast_core::money::div_round;
use holdfast_core::records::Interval;
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{Period, Ts, SECS_PER_DAY};

/// Additive sums for one period × segment. Stocks are stored as the initial stock (first period only)
/// plus the change during each period.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Acc {
    pub mrr_init: i64,
    pub cust_init: i64,
    pub seats_init: i64,
    pub neg_init: i64,
    pub d_mrr: i64,
    pub d_cust: i64,
    pub d_seats: i64,
    pub d_neg: i64,
    pub cmrr_adj: i64,
    pub mov: [i64; 6],
    pub cnt: [i64; 6],
    pub first_time_new: i64,
    pub fx: i64,
    pub seg_in: i64,
    pub seg_out: i64,
    pub seg_in_n: i64,
    pub seg_out_n: i64,
    /// movements of the starting base S (magnitudes)
    pub s_exp: i64,
    pub s_con: i64,
    pub s_churn: i64,
    pub s_react: i64,
    /// point-to-point sums minus the no-change default (each S member contributes its start MRR)
    pub p2p_min_corr: i64,
    pub p2p_end_corr: i64,
    pub lost: i64,
    pub early_new: i64,
    pub early_churned: i64,
    pub early_incomplete: i64,
    pub renew_due: i64,
    pub renew_renewed: i64,
    pub renew_before: i64,
    pub renew_min: i64,
    pub renew_incomplete: i64,
    pub rolling_num: i64,
    pub rolling_den: i64,
}

impl Acc {
    pub fn add(&mut self, o: &Acc) {
        macro_rules! sum { ($($f:ident),*) => { $( self.$f += o.$f; )* } }
        sum!(mrr_init, cust_init, seats_init, neg_init, d_mrr, d_cust, d_seats, d_neg, cmrr_adj, first_time_new, fx, seg_in, seg_out,
             seg_in_n, seg_out_n, s_exp, s_con, s_churn, s_react, p2p_min_corr, p2p_end_corr, lost, early_new, early_churned,
             early_incomplete, renew_due, renew_renewed, renew_before, renew_min, renew_incomplete, rolling_num, rolling_den);
        for k in 0..6 {
            self.mov[k] += o.mov[k];
            self.cnt[k] += o.cnt[k];
        }
    }
}

/// Start and end stocks of one period × segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stocks {
    pub mrr_start: i64,
    pub mrr_end: i64,
    pub cust_start: i64,
    pub cust_end: i64,
    pub seats_end: i64,
    pub neg_end: i64,
}

/// Prefix sums of the stock changes: `out[p * g + gi]`.
pub fn stocks(agg: &Aggregation, acc: &[Acc]) -> Vec<Stocks> {
    let g = agg.groups();
    let n = agg.periods.len();
    let mut out = vec![Stocks::default(); n * g];
    for gi in 0..g {
        let (mut m, mut c, mut s, mut ng) = (acc[gi].mrr_init, acc[gi].cust_init, acc[gi].seats_init, acc[gi].neg_init);
        for p in 0..n {
            let a = &acc[p * g + gi];
            let st = &mut out[p * g + gi];
            st.mrr_start = m;
            st.cust_start = c;
            m += a.d_mrr;
            c += a.d_cust;
            s += a.d_seats;
            ng += a.d_neg;
            st.mrr_end = m;
            st.cust_end = c;
            st.seats_end = s;
            st.neg_end = ng;
        }
    }
    out
}

/// One aggregation: periods × segments.
pub struct Aggregation {
    pub periods: Vec<Period>,
    /// Leading warm-up periods: accumulated (LTV looks back at them) but not reported.
    pub skip: usize,
    pub seg: Option<Segmenter>,
}

impl Aggregation {
    pub fn groups(&self) -> usize {
        self.seg.as_ref().map(|s| s.len()).unwrap_or(1)
    }
}

/// Day-level counters for `customer_churn_formula = daily_sum`: (active at day start, lost that day).
pub struct Daily {
    pub first_day: i64,
    pub days: usize,
    pub a: Vec<i64>,
    pub lost: Vec<i64>,
}

#[derive(Clone, Copy)]
struct State {
    mrr: i64,
    active: bool,
    seats: i64,
    neg: bool,
    seg: u32,
}

impl State {
    #[inline]
    fn eff_seats(&self) -> i64 {
        if self.active {
            self.seats
        } else {
            0
        }
    }
}

/// Moves the stocks of a customer from `old` to `new` in period `k`.
#[inline]
fn restock(acc: &mut [Acc], g: usize, k: usize, old: &State, new: &State) {
    let a = &mut acc[k * g + old.seg as usize];
    a.d_mrr -= old.mrr;
    a.d_cust -= old.active as i64;
    a.d_seats -= old.eff_seats();
    a.d_neg -= (old.neg && old.mrr > 0) as i64;
    let b = &mut acc[k * g + new.seg as usize];
    b.d_mrr += new.mrr;
    b.d_cust += new.active as i64;
    b.d_seats += new.eff_seats();
    b.d_neg += (new.neg && new.mrr > 0) as i64;
}

/// The period open for events: its index, the customer's state at its start and its FX so far.
struct Open {
    k: usize,
    start: State,
    fx: i64,
}

fn close(acc: &mut [Acc], g: usize, o: &Open, end: &State) {
    let b = &mut acc[o.k * g + o.start.seg as usize];
    if o.start.active && !end.active {
        b.lost += 1;
    }
    if o.start.mrr > 0 {
        let end_ex_fx = (end.mrr - o.fx).max(0);
        b.p2p_min_corr += o.start.mrr.min(end_ex_fx) - o.start.mrr;
        b.p2p_end_corr += end_ex_fx - o.start.mrr;
    }
}

/// Adds one customer (its ledger rows in `sc`) into `acc` (`periods × groups`).
#[allow(clippy::too_many_arguments)]
pub fn accumulate(agg: &Aggregation, snap: &Snapshot, s: &Settings, as_of: Ts, c: u32, sc: &Scratch, acc: &mut [Acc], daily: Option<&mut Daily>) {
    let ch = &sc.changes;
    let periods = &agg.periods;
    if ch.is_empty() || periods.is_empty() {
        return;
    }
    let ex = &sc.extras;
    let g = agg.groups();
    let seg = agg.seg.as_ref();
    let versions = match seg.and_then(|x| x.attr_key()) {
        Some(k) => snap.customers.attr_versions(c, k),
        None => &[],
    };
    let current_only = s.segment_history == SegmentHistory::Current;
    let first_nb_row = ch.iter().position(|x| x.kind == Kind::NewBusiness);
    let cohort = first_nb_row.map(|i| month_index(ch[i].t));
    let seg_of = |e: &ChangeExtra, mrr: i64, attr: Option<u32>| -> u32 { seg.map(|sg| sg.of(e, mrr, attr, cohort)).unwrap_or(0) };
    let attr_at = |t: Ts| -> Option<u32> {
        if current_only {
            return versions.last().map(|v| v.value);
        }
        let i = versions.partition_point(|v| v.valid_from <= t);
        if i == 0 {
            versions.first().map(|v| v.value)
        } else {
            Some(versions[i - 1].value)
        }
    };
    let mut attr = attr_at(i64::MIN);
    let mut extra = ChangeExtra::default();
    let mut st = State { mrr: 0, active: false, seats: 0, neg: false, seg: seg_of(&extra, 0, attr) };
    let first_start = periods[0].start;
    let last_end = periods[periods.len() - 1].end;

    // events before the first period only set the initial state
    let mut ci = 0usize;
    let mut ai = if current_only { versions.len() } else { versions.partition_point(|v| v.valid_from == i64::MIN) };
    let mut ri = 0usize;
    loop {
        let tc = ch.get(ci).map(|x| x.t).filter(|&t| t < first_start);
        let ta = versions.get(ai).map(|v| v.valid_from).filter(|&t| t < first_start);
        match (tc, ta) {
            (None, None) => break,
            (Some(a), Some(b)) if b < a => {
                attr = Some(versions[ai].value);
                ai += 1;
            }
            (None, Some(_)) => {
                attr = Some(versions[ai].value);
                ai += 1;
            }
            _ => {
                let x = &ch[ci];
                extra = ex[ci];
                st.mrr = x.mrr;
                st.active = x.active();
                st.seats = extra.seats;
                st.neg = x.flags & CHANGE_NEGATIVE_MRR != 0;
                ci += 1;
            }
        }
    }
    st.seg = seg_of(&extra, st.mrr, attr);
    {
        let a = &mut acc[st.seg as usize];
        a.mrr_init += st.mrr;
        a.cust_init += st.active as i64;
        a.seats_init += st.eff_seats();
        a.neg_init += (st.neg && st.mrr > 0) as i64;
    }
    while ri < sc.renewals.len() && sc.renewals[ri].t < first_start {
        ri += 1;
    }

    let early_window = s.early_window_days as i64 * SECS_PER_DAY;
    let mut k = 0usize;
    let mut open: Option<Open> = None;
    loop {
        // the next event among ledger rows, attribute versions and renewal terms (in that order on ties)
        let tc = ch.get(ci).map(|x| x.t).unwrap_or(Ts::MAX);
        let ta = versions.get(ai).map(|v| v.valid_from).unwrap_or(Ts::MAX);
        let tr = sc.renewals.get(ri).map(|r| r.t).unwrap_or(Ts::MAX);
        let t = tc.min(ta).min(tr);
        if t >= last_end {
            break;
        }
        while periods[k].end <= t {
            k += 1;
        }
        if open.as_ref().map(|o| o.k) != Some(k) {
            if let Some(o) = open.take() {
                close(acc, g, &o, &st);
            }
            open = Some(Open { k, start: st, fx: 0 });
        }
        let o = open.as_mut().expect("opened above");
        if ta == t && ta <= tc {
            attr = Some(versions[ai].value);
            ai += 1;
            let new = State { seg: seg_of(&extra, st.mrr, attr), ..st };
            if new.seg != st.seg {
                if st.active {
                    acc[k * g + st.seg as usize].seg_out += st.mrr;
                    acc[k * g + st.seg as usize].seg_out_n += 1;
                    acc[k * g + new.seg as usize].seg_in += st.mrr;
                    acc[k * g + new.seg as usize].seg_in_n += 1;
                }
                restock(acc, g, k, &st, &new);
                st = new;
            }
            continue;
        }
        if tc == t {
            let x = ch[ci];
            let e = ex[ci];
            ci += 1;
            let new = State { mrr: x.mrr, active: x.active(), seats: e.seats, neg: x.flags & CHANGE_NEGATIVE_MRR != 0, seg: seg_of(&e, x.mrr, attr) };
            if st.active && new.active && new.seg != st.seg {
                acc[k * g + st.seg as usize].seg_out += st.mrr;
                acc[k * g + st.seg as usize].seg_out_n += 1;
                acc[k * g + new.seg as usize].seg_in += st.mrr;
                acc[k * g + new.seg as usize].seg_in_n += 1;
            }
            let mseg = if new.active { new.seg } else { st.seg };
            let a = &mut acc[k * g + mseg as usize];
            let ki = x.kind.index();
            a.mov[ki] += x.amount;
            if x.kind != Kind::FxOnly {
                a.cnt[ki] += 1;
            }
            let first_time = x.kind == Kind::NewBusiness && x.flags & CHANGE_RETURNING == 0;
            if first_time {
                a.first_time_new += 1;
                a.early_new += 1;
                let churned = ch[ci..].iter().any(|y| y.kind == Kind::Churn && y.t <= x.t + early_window);
                if churned {
                    a.early_churned += 1;
                } else if x.t + early_window > as_of {
                    a.early_incomplete += 1;
                }
            }
            a.fx += x.fx;
            o.fx += x.fx;
            if o.start.mrr > 0 {
                let b = &mut acc[k * g + o.start.seg as usize];
                match x.kind {
                    Kind::Expansion => b.s_exp += x.amount,
                    Kind::Contraction => b.s_con -= x.amount,
                    Kind::Churn => b.s_churn -= x.amount,
                    Kind::Reactivation | Kind::NewBusiness if x.amount > 0 => b.s_react += x.amount,
                    _ => {}
                }
            }
            restock(acc, g, k, &st, &new);
            st = new;
            extra = e;
            continue;
        }
        // a renewal term due now: rate base is the customer's segment at that moment
        let r = sc.renewals[ri];
        ri += 1;
        let b = &mut acc[k * g + st.seg as usize];
        b.renew_due += 1;
        b.renew_renewed += r.renewed as i64;
        b.renew_before += r.before;
        b.renew_min += r.after.min(r.before);
        b.renew_incomplete += (!r.complete) as i64;
    }
    if let Some(o) = open.take() {
        close(acc, g, &o, &st);
    }

    // CMRR adjustments apply at each period end they cover (`from < at ≤ to`, at = min(end, as_of + 1)).
    for j in &sc.cmrr {
        let at = |p: &Period| p.end.min(as_of + 1);
        let lo = periods.partition_point(|p| at(p) <= j.from);
        let hi = periods.partition_point(|p| at(p) <= j.to);
        if lo >= hi {
            continue;
        }
        let i = ch.partition_point(|x| x.t <= j.from);
        let sg = if i == 0 { seg_of(&ChangeExtra::default(), 0, attr_at(j.from)) } else { seg_of(&ex[i - 1], ch[i - 1].mrr, attr_at(j.from)) };
        for p in lo..hi {
            acc[p * g + sg as usize].cmrr_adj += j.delta;
        }
    }

    if s.customer_churn_formula == CustomerChurnFormula::Rolling {
        // Baremetrics: cancellations in the trailing window ÷ customers active at its start
        // (30 days; 365 days for annual customers).
        let state_at = |t: Ts| -> Option<usize> { ch.partition_point(|x| x.t < t).checked_sub(1) };
        for (pi, p) in periods.iter().enumerate() {
            let probe = state_at(p.end - 30 * SECS_PER_DAY);
            let annual = probe.map(|i| ex[i].interval == Some(Interval::Year)).unwrap_or(false);
            let w = if annual { 365 } else { 30 } * SECS_PER_DAY;
            let from = p.end - w;
            let then = state_at(from);
            let active_then = then.map(|i| ch[i].active()).unwrap_or(false);
            let churns = ch.iter().filter(|x| x.kind == Kind::Churn && x.t >= from && x.t < p.end).count() as i64;
            if !active_then && churns == 0 {
                continue;
            }
            let sg = match then {
                Some(i) => seg_of(&ex[i], ch[i].mrr, attr_at(from)),
                None => seg_of(&ChangeExtra::default(), 0, attr_at(from)),
            };
            let b = &mut acc[pi * g + sg as usize];
            b.rolling_den += active_then as i64;
            b.rolling_num += churns;
        }
    }

    if let Some(d) = daily {
        // active intervals → day counters (segment: at the interval's start)
        let mut start: Option<(Ts, u32)> = None;
        for (i, x) in ch.iter().enumerate() {
            match (start, x.active()) {
                (None, true) => start = Some((x.t, seg_of(&ex[i], x.mrr, attr_at(x.t)))),
                (Some((s0, sg)), false) => {
                    daily_interval(d, s0, x.t, sg, g, ch.get(i + 1).filter(|n| n.active()).map(|n| n.t));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some((s0, sg)) = start {
            daily_interval(d, s0, Ts::MAX, sg, g, None);
        }
    }
}

fn daily_interval(d: &mut Daily, s: Ts, e: Ts, seg: u32, g: usize, back: Option<Ts>) {
    // active at the start of day k iff s < D_k <= e  → k in (day(s), day(e)] with D_k = day start
    let day = |t: Ts| t.div_euclid(SECS_PER_DAY) - d.first_day;
    let lo = (day(s) + 1).max(0);
    let hi = if e == Ts::MAX { d.days as i64 - 1 } else { day(e).min(d.days as i64 - 1) };
    for k in lo..=hi {
        if k >= 0 && (k as usize) < d.days {
            d.a[k as usize * g + seg as usize] += 1;
        }
    }
    if e != Ts::MAX {
        let k = day(e);
        let back_same_day = back.map(|b| day(b) == k).unwrap_or(false);
        if k >= lo && k >= 0 && (k as usize) < d.days && !back_same_day {
            d.lost[k as usize * g + seg as usize] += 1;
        }
    }
}

/// Monthly starting-base logo churn per segment (`None` without a starting base), for LTV.
pub fn monthly_churn(agg: &Aggregation, acc: &[Acc]) -> Vec<(Period, Vec<Option<f64>>)> {
    let g = agg.groups();
    let st = stocks(agg, acc);
    agg.periods
        .iter()
        .enumerate()
        .map(|(p, per)| (per.clone(), (0..g).map(|gi| { let a = st[p * g + gi].cust_start; (a > 0).then(|| acc[p * g + gi].lost as f64 / a as f64) }).collect()))
        .collect()
}

/// Turns the accumulated grid into KPI results.
#[allow(clippy::too_many_arguments)]
pub fn derive(
    agg: &Aggregation,
    acc: &[Acc],
    monthly: &[(Period, Vec<Option<f64>>)],
    daily: Option<&Daily>,
    s: &Settings,
    as_of: Ts,
    seg_name: Option<&str>,
    out: &mut Vec<KpiResult>,
) {
    let g = agg.groups();
    let rm = s.rounding;
    let stock = stocks(agg, acc);
    for (pi, p) in agg.periods.iter().enumerate().skip(agg.skip) {
        for gi in 0..g {
            let a = &acc[pi * g + gi];
            let st = &stock[pi * g + gi];
            let segment = agg.seg.as_ref().map(|sg| format!("{}={}", seg_name.unwrap_or(sg.by.name()), sg.labels[gi]));
            if segment.is_some() && st.mrr_start == 0 && st.mrr_end == 0 && st.cust_start == 0 && st.cust_end == 0 && (Acc { mrr_init: 0, cust_init: 0, seats_init: 0, neg_init: 0, ..*a }) == Acc::default() {
                continue;
            }
            // aliases in the vocabulary of the formulas below
            let (mrr_start, mrr_end, customers_start, customers_end) = (st.mrr_start, st.mrr_end, st.cust_start, st.cust_end);
            let (a_start, seats_end, cmrr_end) = (st.cust_start, st.seats_end, st.mrr_end + a.cmrr_adj);
            let (p2p_min, p2p_end) = (st.mrr_start + a.p2p_min_corr, st.mrr_start + a.p2p_end_corr);
            let incomplete = p.end > as_of + 1;
            let mut push = |kpi: &'static str, value: Option<Value>, num: Option<Value>, den: Option<Value>, n: i64, mut flags: Vec<&'static str>| {
                if incomplete && !flags.contains(&FLAG_INCOMPLETE) {
                    flags.push(FLAG_INCOMPLETE);
                }
                out.push(KpiResult {
                    kpi,
                    period: p.label.clone(),
                    period_start: p.start,
                    period_end: p.end,
                    segment: segment.clone(),
                    value,
                    numerator: num,
                    denominator: den,
                    n: n.max(0) as u64,
                    flags,
                });
            };
            let money = Value::Money;
            let count = Value::Count;
            let neg = if st.neg_end > 0 { vec![FLAG_NEGATIVE_MRR] } else { vec![] };
            push("mrr", Some(money(mrr_end)), None, None, customers_end, neg.clone());
            push("arr", Some(money(12 * mrr_end)), None, None, customers_end, neg);
            push("cmrr", Some(money(cmrr_end)), None, None, customers_end, vec![]);
            push("carr", Some(money(12 * cmrr_end)), None, None, customers_end, vec![]);
            for (kpi, k) in [
                ("new_business_mrr", Kind::NewBusiness),
                ("expansion_mrr", Kind::Expansion),
                ("contraction_mrr", Kind::Contraction),
                ("churn_mrr", Kind::Churn),
                ("reactivation_mrr", Kind::Reactivation),
            ] {
                push(kpi, Some(money(a.mov[k.index()])), None, None, a.cnt[k.index()], vec![]);
            }
            push("fx_impact", Some(money(a.fx)), None, None, 0, vec![]);
            let net_new: i64 = Kind::MOVEMENTS.iter().map(|k| a.mov[k.index()]).sum();
            push("net_new_mrr", Some(money(net_new)), None, None, Kind::MOVEMENTS.iter().map(|k| a.cnt[k.index()]).sum(), vec![]);
            if agg.seg.is_some() {
                push("segment_in_mrr", Some(money(a.seg_in)), None, None, a.seg_in_n, vec![]);
                push("segment_out_mrr", Some(money(-a.seg_out)), None, None, a.seg_out_n, vec![]);
            }
            push("customers", Some(count(customers_end)), None, None, customers_end, vec![]);
            push("new_customers", Some(count(a.cnt[Kind::NewBusiness.index()])), None, None, a.cnt[0], vec![]);
            push("reactivated_customers", Some(count(a.cnt[Kind::Reactivation.index()])), None, None, a.cnt[4], vec![]);
            push("churned_customers", Some(count(a.cnt[Kind::Churn.index()])), None, None, a.cnt[3], vec![]);
            let (v, f) = ratio(money(mrr_end - mrr_start), money(mrr_start));
            push("mrr_growth_rate", v, Some(money(mrr_end - mrr_start)), Some(money(mrr_start)), customers_start, f);
            // compound monthly (per-period) growth over the last n periods: (MRR_t / MRR_{t−n})^(1/n) − 1
            for (kpi, n) in [("cmgr_3", 3usize), ("cmgr_12", 12usize)] {
                let base = pi.checked_sub(n).map(|b| stock[b * g + gi].mrr_end);
                match base {
                    Some(b) if b > 0 && mrr_end >= 0 => {
                        let v = (mrr_end as f64 / b as f64).powf(1.0 / n as f64) - 1.0;
                        push(kpi, Some(Value::Ratio(v)), Some(money(mrr_end)), Some(money(b)), customers_end, vec![]);
                    }
                    _ => push(kpi, None, Some(money(mrr_end)), base.map(money), customers_end, vec![FLAG_EMPTY_DENOMINATOR]),
                }
            }
            let arpa = |num: i64, den: i64| if den == 0 { None } else { Some(money(div_round(num as i128, den as i128, rm) as i64)) };
            let emp = |den: i64| if den == 0 { vec![FLAG_EMPTY_DENOMINATOR] } else { vec![] };
            push("arpa", arpa(mrr_end, customers_end), Some(money(mrr_end)), Some(count(customers_end)), customers_end, emp(customers_end));
            let units = match s.arpu_unit {
                ArpuUnit::Customer => customers_end,
                ArpuUnit::Seat => seats_end,
            };
            push("arpu", arpa(mrr_end, units), Some(money(mrr_end)), Some(count(units)), units, emp(units));
            let nb = a.cnt[Kind::NewBusiness.index()];
            push("asp", arpa(a.mov[0], nb), Some(money(a.mov[0])), Some(count(nb)), nb, emp(nb));
            // customer churn rate by formula
            let (cr_num, cr_den, cr_val, mut cr_flags) = match s.customer_churn_formula {
                CustomerChurnFormula::StartingBase => {
                    let (v, f) = ratio(count(a.lost), count(a_start));
                    (Some(count(a.lost)), Some(count(a_start)), v, f)
                }
                CustomerChurnFormula::Stripe => {
                    let den = customers_start + a.first_time_new;
                    let (v, f) = ratio(count(a.cnt[3]), count(den));
                    (Some(count(a.cnt[3])), Some(count(den)), v, f)
                }
                CustomerChurnFormula::Rolling => {
                    let (v, f) = ratio(count(a.rolling_num), count(a.rolling_den));
                    (Some(count(a.rolling_num)), Some(count(a.rolling_den)), v, f)
                }
                CustomerChurnFormula::DailySum => {
                    let (sum, days) = daily.map(|d| daily_sum(d, p, g, gi)).unwrap_or((0.0, 0));
                    if days == 0 {
                        (None, Some(count(0)), None, vec![FLAG_EMPTY_DENOMINATOR])
                    } else {
                        (Some(Value::Number(sum)), Some(count(days)), Some(Value::Ratio(sum)), vec![])
                    }
                }
            };
            let churn_rate = cr_val.map(|v| v.as_f64());
            push("customer_churn_rate", cr_val, cr_num, cr_den, a_start, cr_flags.clone());
            match churn_rate {
                Some(r) if r > 0.0 => push("avg_customer_lifetime", Some(Value::Number(1.0 / r)), Some(count(1)), cr_val, a_start, vec![]),
                _ => {
                    cr_flags.retain(|f| *f != FLAG_EMPTY_DENOMINATOR);
                    cr_flags.push(FLAG_EMPTY_DENOMINATOR);
                    push("avg_customer_lifetime", None, Some(count(1)), cr_val, a_start, cr_flags)
                }
            }
            // revenue churn and retention
            let m0 = mrr_start;
            let (x, cn, e, rx) = match s.rate_scope {
                RateScope::StartingBase => (a.s_churn, a.s_con, a.s_exp, a.s_react),
                RateScope::AllMovements => (-a.mov[3], -a.mov[2], a.mov[1], a.mov[4]),
            };
            let (v, f) = ratio(money(x + cn), money(m0));
            push("gross_mrr_churn_rate", v, Some(money(x + cn)), Some(money(m0)), customers_start, f);
            let (v, f) = ratio(money(x + cn - e - rx), money(m0));
            push("net_mrr_churn_rate", v, Some(money(x + cn - e - rx)), Some(money(m0)), customers_start, f);
            let (grr_num, nrr_num) = match s.retention_method {
                RetentionMethod::Movements => (m0 - a.s_con - a.s_churn, m0 + a.s_exp - a.s_con - a.s_churn),
                RetentionMethod::PointToPoint => (p2p_min, p2p_end),
            };
            let (v, f) = ratio(money(grr_num), money(m0));
            push("grr", v, Some(money(grr_num)), Some(money(m0)), customers_start, f);
            let (v, f) = ratio(money(nrr_num), money(m0));
            push("nrr", v, Some(money(nrr_num)), Some(money(m0)), customers_start, f);
            let qr_num = a.mov[0] + a.mov[1] + if s.quick_ratio_include_reactivation { a.mov[4] } else { 0 };
            let qr_den = -(a.mov[2] + a.mov[3]);
            let (v, f) = ratio(money(qr_num), money(qr_den));
            push("quick_ratio", v.map(|v| Value::Number(v.as_f64())), Some(money(qr_num)), Some(money(qr_den)), 0, f);
            // LTV
            let arpa_v = if customers_end == 0 { None } else { Some(mrr_end as f64 / customers_end as f64) };
            let (cbar, months, short) = match s.ltv_formula {
                LtvFormula::ArpaOverTrailingChurn => trailing_churn(monthly, p, gi),
                LtvFormula::ArpaOverPeriodChurn => (churn_rate, churn_rate.is_some() as usize, false),
            };
            let mut flags = vec![];
            if short {
                flags.push(FLAG_SHORT_HISTORY);
            }
            let ltv = match (arpa_v, cbar) {
                (Some(ar), Some(c)) if c > 0.0 => Some(Value::Money((ar * s.gross_margin / c).round() as i64)),
                _ => {
                    flags.push(FLAG_EMPTY_DENOMINATOR);
                    None
                }
            };
            push("ltv", ltv, arpa_v.map(|v| Value::Money((v * s.gross_margin).round() as i64)), cbar.map(Value::Ratio), months as i64, flags);
            // renewals
            let mut rf = vec![];
            if a.renew_incomplete > 0 {
                rf.push(FLAG_INCOMPLETE);
            }
            let (num, den) = match s.renewal_rate_basis {
                RenewalBasis::Logo => (count(a.renew_renewed), count(a.renew_due)),
                RenewalBasis::Revenue => (money(a.renew_min), money(a.renew_before)),
            };
            let (v, mut f) = ratio(num, den);
            f.extend(rf);
            push("renewal_rate", v, Some(num), Some(den), a.renew_due, f);
            let (v, mut f) = ratio(count(a.early_churned), count(a.early_new));
            if a.early_incomplete > 0 {
                f.push(FLAG_INCOMPLETE);
            }
            push("early_cancellation_rate", v, Some(count(a.early_churned)), Some(count(a.early_new)), a.early_new, f);
        }
    }
}

fn daily_sum(d: &Daily, p: &Period, g: usize, gi: usize) -> (f64, i64) {
    let mut sum = 0.0;
    let mut days = 0;
    let lo = (p.start.div_euclid(SECS_PER_DAY) - d.first_day).max(0);
    let hi = (p.end.div_euclid(SECS_PER_DAY) - d.first_day).min(d.days as i64);
    for k in lo..hi {
        let a = d.a[k as usize * g + gi];
        if a > 0 {
            sum += d.lost[k as usize * g + gi] as f64 / a as f64;
            days += 1;
        }
    }
    (sum, days)
}

/// Mean monthly customer churn rate of the 6 complete months before the month containing the period's
/// last instant (spec §4 `ltv`); flags `short_history` below 6 months.
fn trailing_churn(monthly: &[(Period, Vec<Option<f64>>)], p: &Period, gi: usize) -> (Option<f64>, usize, bool) {
    let last = p.end - 1;
    let idx = monthly.iter().position(|(m, _)| m.start <= last && last < m.end);
    let Some(idx) = idx else { return (None, 0, true) };
    let mut rates = Vec::new();
    for (_, rs) in monthly[idx.saturating_sub(6)..idx].iter() {
        if let Some(r) = rs[gi] {
            rates.push(r);
        }
    }
    if rates.is_empty() {
        return (None, 0, true);
    }
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    (Some(mean), rates.len(), rates.len() < 6)
}
