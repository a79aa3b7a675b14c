//! Revenue KPIs (spec §3) by period and segment, from per-customer ledger rows in one pass.
//!
//! Each customer is walked once per aggregation against the ordered period boundaries; stocks are read
//! at boundaries (state `< start`, `< end`), flows summed inside, into a `(period × segment)` grid of
//! [`Acc`] sums. Ratios are formed only at the end from numerators and denominators.
use crate::result::*;
use crate::segment::{month_index, Segmenter};
use crate::settings::*;
use crate::timeline::{ChangeExtra, Kind, Scratch, CHANGE_RETURNING};
use holdfast_core::money::div_round;
use holdfast_core::records::Interval;
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{Period, Ts, SECS_PER_DAY};

/// Additive sums for one period × segment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Acc {
    pub mrr_start: i64,
    pub mrr_end: i64,
    pub cmrr_end: i64,
    pub customers_start: i64,
    pub customers_end: i64,
    pub seats_end: i64,
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
    pub p2p_min: i64,
    pub p2p_end: i64,
    pub a_start: i64,
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
    pub negative_mrr: i64,
    pub daily_sum: f64,
    pub daily_days: i64,
}

impl Acc {
    pub fn add(&mut self, o: &Acc) {
        macro_rules! sum { ($($f:ident),*) => { $( self.$f += o.$f; )* } }
        sum!(mrr_start, mrr_end, cmrr_end, customers_start, customers_end, seats_end, first_time_new, fx, seg_in, seg_out, seg_in_n, seg_out_n,
             s_exp, s_con, s_churn, s_react, p2p_min, p2p_end, a_start, lost, early_new, early_churned, early_incomplete,
             renew_due, renew_renewed, renew_before, renew_min, renew_incomplete, rolling_num, rolling_den, negative_mrr, daily_sum, daily_days);
        for k in 0..6 {
            self.mov[k] += o.mov[k];
            self.cnt[k] += o.cnt[k];
        }
    }
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

struct State {
    mrr: i64,
    active: bool,
    extra: ChangeExtra,
    attr: Option<u32>,
    seg: u32,
}

/// Adds one customer (its ledger rows in `sc`) into `acc` (`periods × groups`).
#[allow(clippy::too_many_arguments)]
pub fn accumulate(agg: &Aggregation, snap: &Snapshot, s: &Settings, as_of: Ts, c: u32, sc: &Scratch, acc: &mut [Acc], daily: Option<&mut Daily>) {
    let ch = &sc.changes;
    if ch.is_empty() {
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
    let cohort = ch.iter().find(|x| x.kind == Kind::NewBusiness).map(|x| month_index(x.t));
    let first_nb = ch.iter().find(|x| x.kind == Kind::NewBusiness && x.flags & CHANGE_RETURNING == 0).map(|x| x.t);
    let seg_of = |e: &ChangeExtra, mrr: i64, attr: Option<u32>| -> u32 { seg.map(|sg| sg.of(e, mrr, attr, cohort)).unwrap_or(0) };
    let initial_attr = if current_only { versions.last().map(|v| v.value) } else { versions.first().map(|v| v.value) };
    let mut st = State { mrr: 0, active: false, extra: ChangeExtra::default(), attr: initial_attr, seg: 0 };
    st.seg = seg_of(&st.extra, 0, st.attr);
    let mut ci = 0usize;
    let mut ri = sc.renewals.partition_point(|r| r.t < agg.periods.first().map(|p| p.start).unwrap_or(Ts::MIN));
    let mut ai = if current_only { versions.len() } else { versions.iter().take_while(|v| v.valid_from == i64::MIN).count().max(1).min(versions.len()) };
    let early_window = s.early_window_days as i64 * SECS_PER_DAY;

    for (pi, p) in agg.periods.iter().enumerate() {
        // silently apply what happened before the first period
        while ci < ch.len() && ch[ci].t < p.start {
            st.mrr = ch[ci].mrr;
            st.active = ch[ci].active();
            st.extra = ex[ci];
            ci += 1;
        }
        while ai < versions.len() && versions[ai].valid_from < p.start {
            st.attr = Some(versions[ai].value);
            ai += 1;
        }
        st.seg = seg_of(&st.extra, st.mrr, st.attr);
        let (mrr0, act0, seg0) = (st.mrr, st.active, st.seg);
        {
            let a = &mut acc[pi * g + seg0 as usize];
            a.mrr_start += mrr0;
            a.customers_start += act0 as i64;
            if act0 {
                a.a_start += 1;
            }
        }
        let in_s = mrr0 > 0;
        let mut fx_in_period = 0i64;
        loop {
            let next_change = ch.get(ci).map(|x| x.t).filter(|&t| t < p.end);
            let next_attr = versions.get(ai).map(|v| v.valid_from).filter(|&t| t < p.end);
            let take_attr = match (next_change, next_attr) {
                (None, None) => break,
                (Some(tc), Some(ta)) => ta < tc,
                (None, Some(_)) => true,
                (Some(_), None) => false,
            };
            if take_attr {
                let v = versions[ai].value;
                ai += 1;
                st.attr = Some(v);
                let new_seg = seg_of(&st.extra, st.mrr, st.attr);
                if new_seg != st.seg && st.active {
                    acc[pi * g + st.seg as usize].seg_out += st.mrr;
                    acc[pi * g + st.seg as usize].seg_out_n += 1;
                    acc[pi * g + new_seg as usize].seg_in += st.mrr;
                    acc[pi * g + new_seg as usize].seg_in_n += 1;
                }
                st.seg = new_seg;
                continue;
            }
            let x = ch[ci];
            let e = ex[ci];
            ci += 1;
            let seg_after = seg_of(&e, x.mrr, st.attr);
            if st.active && x.active() && seg_after != st.seg {
                acc[pi * g + st.seg as usize].seg_out += st.mrr;
                acc[pi * g + st.seg as usize].seg_out_n += 1;
                acc[pi * g + seg_after as usize].seg_in += st.mrr;
                acc[pi * g + seg_after as usize].seg_in_n += 1;
            }
            let mseg = if x.active() { seg_after } else { st.seg };
            let a = &mut acc[pi * g + mseg as usize];
            let k = x.kind.index();
            a.mov[k] += x.amount;
            if x.kind != Kind::FxOnly {
                a.cnt[k] += 1;
            }
            if x.kind == Kind::NewBusiness && x.flags & CHANGE_RETURNING == 0 {
                a.first_time_new += 1;
            }
            a.fx += x.fx;
            fx_in_period += x.fx;
            if in_s {
                let b = &mut acc[pi * g + seg0 as usize];
                match x.kind {
                    Kind::Expansion => b.s_exp += x.amount,
                    Kind::Contraction => b.s_con -= x.amount,
                    Kind::Churn => b.s_churn -= x.amount,
                    Kind::Reactivation | Kind::NewBusiness if x.amount > 0 && x.t >= p.start => b.s_react += x.amount,
                    _ => {}
                }
            }
            // early cancellation: attribute to the period of the first new business
            st.mrr = x.mrr;
            st.active = x.active();
            st.extra = e;
            st.seg = seg_after;
        }
        // end of period
        let a = &mut acc[pi * g + st.seg as usize];
        a.mrr_end += st.mrr;
        a.customers_end += st.active as i64;
        a.seats_end += st.extra.seats * st.active as i64;
        let at = p.end.min(as_of + 1);
        let adj: i64 = if st.active { sc.cmrr.iter().filter(|j| j.from < at && j.to >= at).map(|j| j.delta).sum() } else { 0 };
        a.cmrr_end += (st.mrr + adj).max(0);
        if st.mrr > 0 && ch[..ci].last().map(|x| x.flags & crate::timeline::CHANGE_NEGATIVE_MRR != 0).unwrap_or(false) {
            a.negative_mrr += 1;
        }
        let b = &mut acc[pi * g + seg0 as usize];
        if in_s {
            let end_ex_fx = (st.mrr - fx_in_period).max(0);
            b.p2p_min += mrr0.min(end_ex_fx);
            b.p2p_end += end_ex_fx;
        }
        if act0 && !st.active {
            b.lost += 1;
        }
        // renewals due in the period: rate base is the segment at period start
        while ri < sc.renewals.len() && sc.renewals[ri].t < p.end {
            let r = &sc.renewals[ri];
            ri += 1;
            b.renew_due += 1;
            b.renew_renewed += r.renewed as i64;
            b.renew_before += r.before;
            b.renew_min += r.after.min(r.before);
            b.renew_incomplete += (!r.complete) as i64;
        }
        if let Some(nb) = first_nb {
            if nb >= p.start && nb < p.end {
                let seg_nb = ch.iter().position(|x| x.t == nb).map(|i| seg_of(&ex[i], ch[i].mrr, st.attr)).unwrap_or(st.seg);
                let churned = ch.iter().any(|x| x.kind == Kind::Churn && x.t > nb && x.t <= nb + early_window);
                let e = &mut acc[pi * g + seg_nb as usize];
                e.early_new += 1;
                if churned {
                    e.early_churned += 1;
                } else if nb + early_window > as_of {
                    e.early_incomplete += 1;
                }
            }
        }
        if s.customer_churn_formula == CustomerChurnFormula::Rolling {
            // Baremetrics: cancellations in the trailing window ÷ customers active at its start
            // (30 days; 365 days for annual customers).
            let state_at = |t: Ts| -> Option<usize> {
                let i = ch.partition_point(|x| x.t < t);
                i.checked_sub(1)
            };
            let probe = state_at(p.end - 30 * SECS_PER_DAY);
            let annual = probe.map(|i| ex[i].interval == Some(Interval::Year)).unwrap_or(false);
            let w = if annual { 365 } else { 30 } * SECS_PER_DAY;
            let from = p.end - w;
            let active_then = state_at(from).map(|i| ch[i].active()).unwrap_or(false);
            let churns = ch.iter().filter(|x| x.kind == Kind::Churn && x.t >= from && x.t < p.end).count() as i64;
            let b = &mut acc[pi * g + seg0 as usize];
            b.rolling_den += active_then as i64;
            b.rolling_num += churns;
        }
    }
    if let Some(d) = daily {
        // active intervals → day counters (segment: at the interval's start)
        let mut start: Option<(Ts, u32)> = None;
        for (i, x) in ch.iter().enumerate() {
            match (start, x.active()) {
                (None, true) => start = Some((x.t, seg_of(&ex[i], x.mrr, None))),
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
    let hi = if e == Ts::MAX { d.days as i64 - 1 } else { (day(e) - if e.rem_euclid(SECS_PER_DAY) == 0 { 0 } else { 0 }).min(d.days as i64 - 1) };
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

/// Turns the accumulated grid into KPI results.
#[allow(clippy::too_many_arguments)]
pub fn derive(
    agg: &Aggregation,
    acc: &[Acc],
    monthly: &[(Period, Vec<Acc>)],
    daily: Option<&Daily>,
    s: &Settings,
    as_of: Ts,
    seg_name: Option<&str>,
    out: &mut Vec<KpiResult>,
) {
    let g = agg.groups();
    let rm = s.rounding;
    for (pi, p) in agg.periods.iter().enumerate().skip(agg.skip) {
        for gi in 0..g {
            let a = &acc[pi * g + gi];
            let segment = agg.seg.as_ref().map(|sg| format!("{}={}", seg_name.unwrap_or(sg.by.name()), sg.labels[gi]));
            if segment.is_some() && *a == Acc::default() {
                continue;
            }
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
            let neg = if a.negative_mrr > 0 { vec![FLAG_NEGATIVE_MRR] } else { vec![] };
            push("mrr", Some(money(a.mrr_end)), None, None, a.customers_end, neg.clone());
            push("arr", Some(money(12 * a.mrr_end)), None, None, a.customers_end, neg);
            push("cmrr", Some(money(a.cmrr_end)), None, None, a.customers_end, vec![]);
            push("carr", Some(money(12 * a.cmrr_end)), None, None, a.customers_end, vec![]);
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
            push("customers", Some(count(a.customers_end)), None, None, a.customers_end, vec![]);
            push("new_customers", Some(count(a.cnt[Kind::NewBusiness.index()])), None, None, a.cnt[0], vec![]);
            push("reactivated_customers", Some(count(a.cnt[Kind::Reactivation.index()])), None, None, a.cnt[4], vec![]);
            push("churned_customers", Some(count(a.cnt[Kind::Churn.index()])), None, None, a.cnt[3], vec![]);
            let (v, f) = ratio(money(a.mrr_end - a.mrr_start), money(a.mrr_start));
            push("mrr_growth_rate", v, Some(money(a.mrr_end - a.mrr_start)), Some(money(a.mrr_start)), a.customers_start, f);
            let arpa = |num: i64, den: i64| if den == 0 { None } else { Some(money(div_round(num as i128, den as i128, rm) as i64)) };
            let emp = |den: i64| if den == 0 { vec![FLAG_EMPTY_DENOMINATOR] } else { vec![] };
            push("arpa", arpa(a.mrr_end, a.customers_end), Some(money(a.mrr_end)), Some(count(a.customers_end)), a.customers_end, emp(a.customers_end));
            let units = match s.arpu_unit {
                ArpuUnit::Customer => a.customers_end,
                ArpuUnit::Seat => a.seats_end,
            };
            push("arpu", arpa(a.mrr_end, units), Some(money(a.mrr_end)), Some(count(units)), units, emp(units));
            let nb = a.cnt[Kind::NewBusiness.index()];
            push("asp", arpa(a.mov[0], nb), Some(money(a.mov[0])), Some(count(nb)), nb, emp(nb));
            // customer churn rate by formula
            let (cr_num, cr_den, cr_val, mut cr_flags) = match s.customer_churn_formula {
                CustomerChurnFormula::StartingBase => {
                    let (v, f) = ratio(count(a.lost), count(a.a_start));
                    (Some(count(a.lost)), Some(count(a.a_start)), v, f)
                }
                CustomerChurnFormula::Stripe => {
                    let den = a.customers_start + a.first_time_new;
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
            push("customer_churn_rate", cr_val, cr_num, cr_den, a.a_start, cr_flags.clone());
            match churn_rate {
                Some(r) if r > 0.0 => push("avg_customer_lifetime", Some(Value::Number(1.0 / r)), Some(count(1)), cr_val, a.a_start, vec![]),
                _ => {
                    cr_flags.retain(|f| *f != FLAG_EMPTY_DENOMINATOR);
                    cr_flags.push(FLAG_EMPTY_DENOMINATOR);
                    push("avg_customer_lifetime", None, Some(count(1)), cr_val, a.a_start, cr_flags)
                }
            }
            // revenue churn and retention
            let m0 = a.mrr_start;
            let (x, cn, e, rx) = match s.rate_scope {
                RateScope::StartingBase => (a.s_churn, a.s_con, a.s_exp, a.s_react),
                RateScope::AllMovements => (-a.mov[3], -a.mov[2], a.mov[1], a.mov[4]),
            };
            let (v, f) = ratio(money(x + cn), money(m0));
            push("gross_mrr_churn_rate", v, Some(money(x + cn)), Some(money(m0)), a.customers_start, f);
            let (v, f) = ratio(money(x + cn - e - rx), money(m0));
            push("net_mrr_churn_rate", v, Some(money(x + cn - e - rx)), Some(money(m0)), a.customers_start, f);
            let (grr_num, nrr_num) = match s.retention_method {
                RetentionMethod::Movements => (m0 - a.s_con - a.s_churn, m0 + a.s_exp - a.s_con - a.s_churn),
                RetentionMethod::PointToPoint => (a.p2p_min, a.p2p_end),
            };
            let (v, f) = ratio(money(grr_num), money(m0));
            push("grr", v, Some(money(grr_num)), Some(money(m0)), a.customers_start, f);
            let (v, f) = ratio(money(nrr_num), money(m0));
            push("nrr", v, Some(money(nrr_num)), Some(money(m0)), a.customers_start, f);
            let qr_num = a.mov[0] + a.mov[1] + if s.quick_ratio_include_reactivation { a.mov[4] } else { 0 };
            let qr_den = -(a.mov[2] + a.mov[3]);
            let (v, f) = ratio(money(qr_num), money(qr_den));
            push("quick_ratio", v.map(|v| Value::Number(v.as_f64())), Some(money(qr_num)), Some(money(qr_den)), 0, f);
            // LTV
            let arpa_v = if a.customers_end == 0 { None } else { Some(a.mrr_end as f64 / a.customers_end as f64) };
            let (cbar, months, short) = match s.ltv_formula {
                LtvFormula::ArpaOverTrailingChurn => trailing_churn(monthly, p, gi, g),
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
fn trailing_churn(monthly: &[(Period, Vec<Acc>)], p: &Period, gi: usize, _g: usize) -> (Option<f64>, usize, bool) {
    let last = p.end - 1;
    let idx = monthly.iter().position(|(m, _)| m.start <= last && last < m.end);
    let Some(idx) = idx else { return (None, 0, true) };
    let mut rates = Vec::new();
    for (_, accs) in monthly[idx.saturating_sub(6)..idx].iter() {
        let a = &accs[gi];
        if a.a_start > 0 {
            rates.push(a.lost as f64 / a.a_start as f64);
        }
    }
    if rates.is_empty() {
        return (None, 0, true);
    }
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    (Some(mean), rates.len(), rates.len() < 6)
}
