//! Usage KPIs (spec §8) by period and segment, as pure functions of the [`UsageModel`], the billing
//! accounts and the settings. Every value carries numerator, denominator, n and flags; empty denominators
//! give `None` with `empty_denominator`.
//!
//! Conventions (see `docs/decisions.md`, "Usage"):
//! * A period's days are the UTC days whose midnight lies in it, up to `as_of`'s day; a period that ends
//!   after `as_of` is measured up to `as_of` and flagged `incomplete`.
//! * Stocks (WAU, MAU, stickiness, breadth, seat utilisation) are taken on the period's last observed day
//!   `L`; flows (DAU mean, time in use, sessions, logins, MRU) over its days.
//! * Users and accounts are in the segment of their (billing) account at the end of `L`; rate bases (net
//!   usage retention, activity churn) in the segment at the end of the previous period; time-to-value
//!   cohorts in the segment at their anchor. Accounts without a billing customer, and unmapped users, are in
//!   "(none)".
//! * A session counts in `session_duration` in the period it starts in (whole, even across midnight or a
//!   period end); `time_in_use` clips each session to the period, so a session from 23:50 to 00:20 adds 10
//!   minutes to each day.
use crate::billing::BillingAccounts;
use crate::model::UsageModel;
use crate::rollup::Rollup;
use crate::settings::{MauWindow, TtvAnchor, UsageSettings};
use holdfast_core::snapshot::NONE;
use holdfast_core::time::{day_of, day_to_date, Calendar, Period, Ts, SECS_PER_DAY};
use holdfast_engine::result::{ratio, KpiResult, Value, FLAG_EMPTY_DENOMINATOR, FLAG_INCOMPLETE};
use holdfast_engine::segment::Segmenter;

/// No usage event at all in the store: every usage value is empty or zero for lack of data, not of use.
pub const FLAG_NO_USAGE_DATA: &str = "no_usage_data";
/// `login_frequency` counted session starts: the login event never occurs in the data.
pub const FLAG_LOGIN_FALLBACK: &str = "login_fallback_session_starts";
/// Fewer than half of a time-to-value cohort reached the milestone: the KM median is not defined.
pub const FLAG_MEDIAN_NOT_REACHED: &str = "median_not_reached";

/// Per-feature adoption (`feature_adoption_rate`), one row per feature, period and segment.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FeatureResult {
    pub feature: String,
    #[serde(flatten)]
    pub result: KpiResult,
}

/// Every usage KPI of one segmentation (or the total).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct UsageTable {
    pub segment_by: Option<String>,
    pub results: Vec<KpiResult>,
    pub features: Vec<FeatureResult>,
}

impl UsageTable {
    pub fn get(&self, kpi: &str, period: &str, segment: Option<&str>) -> Option<&KpiResult> {
        self.results.iter().find(|r| r.kpi == kpi && r.period == period && r.segment.as_deref() == segment)
    }
    pub fn feature(&self, feature: &str, period: &str, segment: Option<&str>) -> Option<&KpiResult> {
        self.features.iter().find(|r| r.feature == feature && r.result.period == period && r.result.segment.as_deref() == segment).map(|r| &r.result)
    }
}

/// What to compute.
pub struct UsageInput<'a> {
    pub rollup: &'a Rollup,
    pub model: &'a UsageModel,
    pub billing: &'a BillingAccounts<'a>,
    /// Billing customer of each usage account ([`BillingAccounts::link_accounts`]).
    pub links: &'a [u32],
    pub settings: &'a UsageSettings,
    pub calendar: &'a Calendar,
    /// Reported range: periods intersecting `[from, to]`.
    pub from: Ts,
    pub to: Ts,
    pub as_of: Ts,
}

fn ceil_day(t: Ts) -> i32 {
    (t + SECS_PER_DAY - 1).div_euclid(SECS_PER_DAY) as i32
}

/// A period's measured days.
#[derive(Clone, Debug)]
struct PDays {
    period: Period,
    first: i32,
    last: i32,
    /// End of the last measured day (inclusive instant): where stocks and segments are read.
    eval: Ts,
    incomplete: bool,
    reported: bool,
}

impl PDays {
    fn n(&self) -> i64 {
        (self.last - self.first + 1).max(0) as i64
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 })
}

/// Kaplan–Meier median of `(duration, reached)` pairs: the first time the survival drops to ≤ 0.5.
pub fn km_median(obs: &mut [(f64, bool)]) -> Option<f64> {
    obs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut at_risk = obs.len() as f64;
    let mut s = 1.0;
    let mut i = 0;
    while i < obs.len() {
        let t = obs[i].0;
        let (mut events, mut leaving) = (0.0, 0.0);
        while i < obs.len() && obs[i].0 == t {
            events += obs[i].1 as u8 as f64;
            leaving += 1.0;
            i += 1;
        }
        if events > 0.0 {
            s *= 1.0 - events / at_risk;
            if s <= 0.5 + 1e-12 {
                return Some(t);
            }
        }
        at_risk -= leaving;
    }
    None
}

struct Out<'a> {
    seg: Option<&'a Segmenter>,
    results: Vec<KpiResult>,
    no_data: bool,
}

impl Out<'_> {
    fn label(&self, g: usize) -> Option<String> {
        self.seg.map(|s| format!("{}={}", s.by.name(), s.labels[g]))
    }
    #[allow(clippy::too_many_arguments)]
    fn push(&mut self, kpi: &'static str, pd: &PDays, g: usize, value: Option<Value>, num: Option<Value>, den: Option<Value>, n: u64, mut flags: Vec<&'static str>) {
        if pd.incomplete {
            flags.push(FLAG_INCOMPLETE);
        }
        if self.no_data {
            flags.push(FLAG_NO_USAGE_DATA);
        }
        self.results.push(KpiResult {
            kpi,
            period: pd.period.label.clone(),
            period_start: pd.period.start,
            period_end: pd.period.end,
            segment: self.label(g),
            value,
            numerator: num,
            denominator: den,
            n,
            flags,
        });
    }
    fn ratio(&mut self, kpi: &'static str, pd: &PDays, g: usize, num: Value, den: Value, n: u64) {
        let (v, f) = ratio(num, den);
        self.push(kpi, pd, g, v, Some(num), Some(den), n, f);
    }
    /// A mean `num / den` reported as a plain number (minutes, days, users).
    fn mean(&mut self, kpi: &'static str, pd: &PDays, g: usize, num: f64, den: f64, n: u64) {
        let (v, f) = if den == 0.0 { (None, vec![FLAG_EMPTY_DENOMINATOR]) } else { (Some(Value::Number(num / den)), vec![]) };
        self.push(kpi, pd, g, v, Some(Value::Number(num)), Some(Value::Number(den)), n, f);
    }
    fn median(&mut self, kpi: &'static str, pd: &PDays, g: usize, v: &mut [f64]) {
        let n = v.len() as u64;
        match median(v) {
            Some(m) => self.push(kpi, pd, g, Some(Value::Number(m)), None, None, n, vec![]),
            None => self.push(kpi, pd, g, None, None, None, 0, vec![FLAG_EMPTY_DENOMINATOR]),
        }
    }
    fn count(&mut self, kpi: &'static str, pd: &PDays, g: usize, c: i64, n: u64) {
        self.push(kpi, pd, g, Some(Value::Count(c)), None, None, n, vec![]);
    }
}

/// Computes every usage KPI for the periods of `inp.calendar` in `[from, to]`, in total (`seg = None`) or
/// per segment.
// Users, accounts and events are dense ids indexing several parallel columns at once: index loops are clearer.
#[allow(clippy::needless_range_loop)]
pub fn compute(inp: &UsageInput<'_>, seg: Option<&Segmenter>) -> UsageTable {
    let m = inp.model;
    let s = inp.settings;
    let as_of_day = day_of(inp.as_of);
    // history starts at the first usage day (MRU movements need every earlier period), reports at `from`
    let hist_from = m.days.map(|(d, _)| (d as Ts * SECS_PER_DAY).min(inp.from)).unwrap_or(inp.from);
    let mut pds: Vec<PDays> = Vec::new();
    let first_reported = inp.calendar.period_of(inp.from).start;
    let prev = inp.calendar.period_of(first_reported - 1);
    for p in std::iter::once(prev).chain(inp.calendar.periods(hist_from, inp.to + 1)) {
        if pds.last().is_some_and(|l: &PDays| l.period.start >= p.start) {
            continue;
        }
        let first = ceil_day(p.start);
        let last = (ceil_day(p.end) - 1).min(as_of_day);
        let reported = p.start >= first_reported && p.start <= inp.to;
        let incomplete = p.end > inp.as_of + 1;
        pds.push(PDays { eval: (last as Ts + 1) * SECS_PER_DAY - 1, period: p, first, last, incomplete, reported });
    }
    pds.sort_by_key(|p| p.period.start);
    pds.dedup_by_key(|p| p.period.start);
    let groups = seg.map(|x| x.len()).unwrap_or(1);
    let billing = inp.billing;
    let links = inp.links;
    let grp = |acct: u32, t: Ts| -> usize {
        match seg {
            None => 0,
            Some(sg) => {
                let c = if acct == NONE { NONE } else { links[acct as usize] };
                billing.segment_at(sg, c, t) as usize
            }
        }
    };
    let cust_grp = |c: u32, t: Ts| -> usize { seg.map(|sg| billing.segment_at(sg, c, t) as usize).unwrap_or(0) };
    let mut out = Out { seg, results: Vec::new(), no_data: m.days.is_none() };

    // feature ids
    let n_events = m.active.len();
    let mut feature_names: Vec<String> = Vec::new();
    let mut feature_of = vec![u32::MAX; n_events];
    for e in 0..n_events {
        if !m.active[e] {
            continue;
        }
        let name = inp.rollup.events.name(e as u32);
        let feature = if s.feature_map.is_empty() { Some(name) } else { s.feature_map.get(name).map(|x| x.as_str()) };
        if let Some(f) = feature {
            let id = feature_names.iter().position(|x| x == f).unwrap_or_else(|| {
                feature_names.push(f.to_string());
                feature_names.len() - 1
            });
            feature_of[e] = id as u32;
        }
    }
    if !s.feature_map.is_empty() {
        // features named in the map count on the plan even if never used
        for f in s.feature_map.values() {
            if !feature_names.contains(f) {
                feature_names.push(f.clone());
            }
        }
    }
    let n_features = feature_names.len();
    let core: Vec<bool> = (0..n_events).map(|e| m.active[e] && (s.core_events.is_empty() || s.core_events.iter().any(|c| c == inp.rollup.events.name(e as u32)))).collect();

    let mut features = Vec::new();
    let mut user_group = vec![u32::MAX; m.n_users];
    let mut mau_by_cust = vec![0u64; billing.len()];
    let mut stamp = vec![u32::MAX; n_features];
    let mut per_user_secs = vec![0i64; m.n_users];
    // sessions by start, so each period visits only the sessions that can overlap it
    let mut by_start: Vec<u32> = (0..m.sessions.len() as u32).collect();
    by_start.sort_unstable_by_key(|&i| m.sessions[i as usize].start);
    let longest = m.sessions.iter().map(|x| x.end - x.start).max().unwrap_or(0);
    for pd in &pds {
        if !pd.reported || pd.n() <= 0 {
            continue;
        }
        let nd = pd.n() as f64;
        // ---- user pass: DAU, WAU, MAU, stickiness, per-account MAU
        let mau_start = match s.mau_window {
            MauWindow::Trailing30 => pd.last - 29,
            MauWindow::CalendarMonth => {
                let d = day_to_date(pd.last);
                holdfast_core::time::date_to_day(d.first_of_month())
            }
        };
        let mau_days = (pd.last - mau_start + 1) as f64;
        let (mut dau_num, mut users) = (vec![0i64; groups], vec![0u64; groups]);
        let (mut wau, mut mau, mut stick) = (vec![0i64; groups], vec![0i64; groups], vec![0i64; groups]);
        let mut unmapped = 0i64;
        mau_by_cust.iter_mut().for_each(|x| *x = 0);
        for u in 0..m.n_users {
            user_group[u] = u32::MAX;
            let (days, accts) = m.user_days(u);
            let hi = days.partition_point(|&d| d <= pd.last);
            if hi == 0 {
                continue;
            }
            let lo = days.partition_point(|&d| d < pd.first);
            let acct = accts[hi - 1];
            let g = grp(acct, pd.eval);
            if hi > lo {
                dau_num[g] += (hi - lo) as i64;
                users[g] += 1;
                user_group[u] = g as u32;
                if acct == NONE {
                    unmapped += 1;
                }
            }
            if days[hi - 1] >= pd.last - 6 {
                wau[g] += 1;
            }
            if days[hi - 1] >= mau_start {
                mau[g] += 1;
                stick[g] += (hi - days.partition_point(|&d| d < mau_start)) as i64;
                if acct != NONE && links[acct as usize] != NONE {
                    mau_by_cust[links[acct as usize] as usize] += 1;
                }
            }
        }
        // ---- sessions: time in use (clipped) and durations (by start)
        let (lo_t, hi_t) = (pd.first as Ts * SECS_PER_DAY, (pd.last as Ts + 1) * SECS_PER_DAY);
        let mut durations: Vec<Vec<f64>> = vec![Vec::new(); groups];
        let mut sess_starts = vec![0i64; m.n_users];
        let first_i = by_start.partition_point(|&i| m.sessions[i as usize].start < lo_t - longest);
        let last_i = by_start.partition_point(|&i| m.sessions[i as usize].start < hi_t);
        for x in by_start[first_i..last_i].iter().map(|&i| &m.sessions[i as usize]) {
            let overlap = x.end.min(hi_t) - x.start.max(lo_t);
            if overlap > 0 {
                per_user_secs[x.user as usize] += overlap;
            }
            if x.start >= lo_t && x.start < hi_t {
                durations[grp(x.account, pd.eval)].push((x.end - x.start) as f64 / 60.0);
                sess_starts[x.user as usize] += 1;
            }
        }
        let mut tiu: Vec<Vec<f64>> = vec![Vec::new(); groups];
        let weeks = nd / 7.0;
        for u in 0..m.n_users {
            let secs = std::mem::take(&mut per_user_secs[u]);
            if user_group[u] != u32::MAX {
                tiu[user_group[u] as usize].push(secs as f64 / 60.0 / weeks);
            }
        }
        // ---- logins
        let (mut logins, mut login_users) = (vec![0i64; groups], vec![0u64; groups]);
        if m.has_login_event {
            let mut i = 0;
            while i < m.logins.len() {
                let u = m.logins[i].0;
                let (mut n, mut acct) = (0i64, NONE);
                while i < m.logins.len() && m.logins[i].0 == u {
                    let (_, d, a, c) = m.logins[i];
                    if d >= pd.first && d <= pd.last {
                        n += c as i64;
                        acct = a;
                    }
                    i += 1;
                }
                if n > 0 {
                    let g = grp(acct, pd.eval);
                    logins[g] += n;
                    login_users[g] += 1;
                }
            }
        } else {
            for u in 0..m.n_users {
                let n = std::mem::take(&mut sess_starts[u]);
                if n > 0 && user_group[u] != u32::MAX {
                    logins[user_group[u] as usize] += n;
                    login_users[user_group[u] as usize] += 1;
                }
            }
        }
        // ---- accounts: breadth and per-feature adoption over the trailing 30 days
        let (mut breadth_num, mut active_accts) = (vec![0f64; groups], vec![0u64; groups]);
        let mut adopters = vec![0u64; groups * n_features];
        for a in 0..m.n_accounts {
            let rows = m.account_days(a);
            let lo = rows.partition_point(|r| r.day < pd.last - 29);
            let hi = rows.partition_point(|r| r.day <= pd.last);
            let mut any = false;
            let mut used = 0u32;
            for r in &rows[lo..hi] {
                if !m.active[r.event as usize] {
                    continue;
                }
                any = true;
                let f = feature_of[r.event as usize];
                if f != u32::MAX && stamp[f as usize] != a as u32 {
                    stamp[f as usize] = a as u32;
                    used += 1;
                }
            }
            if any {
                let g = grp(a as u32, pd.eval);
                active_accts[g] += 1;
                if n_features > 0 {
                    breadth_num[g] += used as f64 / n_features as f64;
                }
                for f in 0..n_features {
                    if stamp[f] == a as u32 {
                        adopters[g * n_features + f] += 1;
                    }
                }
            }
        }
        stamp.iter_mut().for_each(|x| *x = u32::MAX);
        // ---- seat utilisation over every customer licensing seats
        let (mut seat_mau, mut seats, mut seat_custs) = (vec![0i64; groups], vec![0i64; groups], vec![0u64; groups]);
        for c in 0..billing.len() as u32 {
            let n = billing.seats_at(c, pd.eval);
            if n > 0 {
                let g = cust_grp(c, pd.eval);
                seats[g] += n;
                seat_mau[g] += mau_by_cust[c as usize] as i64;
                seat_custs[g] += 1;
            }
        }
        for g in 0..groups {
            if seg.is_some() && users[g] == 0 && mau[g] == 0 && active_accts[g] == 0 && seats[g] == 0 && durations[g].is_empty() {
                continue;
            }
            out.mean("dau", pd, g, dau_num[g] as f64, nd, users[g]);
            out.count("wau", pd, g, wau[g], wau[g] as u64);
            out.count("mau", pd, g, mau[g], mau[g] as u64);
            out.ratio("stickiness", pd, g, Value::Number(stick[g] as f64 / mau_days), Value::Count(mau[g]), mau[g] as u64);
            if seg.is_none() {
                out.count("unmapped_active_users", pd, g, unmapped, unmapped as u64);
            }
            let tiu_total: f64 = tiu[g].iter().sum();
            out.mean("time_in_use", pd, g, tiu_total * weeks, users[g] as f64 * weeks, users[g]);
            out.median("time_in_use_median", pd, g, &mut tiu[g]);
            let dur_total: f64 = durations[g].iter().sum();
            let n_sess = durations[g].len();
            out.mean("session_duration", pd, g, dur_total, n_sess as f64, n_sess as u64);
            out.median("session_duration_median", pd, g, &mut durations[g]);
            let (v, mut f) = if login_users[g] == 0 { (None, vec![FLAG_EMPTY_DENOMINATOR]) } else { (Some(Value::Number(logins[g] as f64 / login_users[g] as f64 / weeks)), vec![]) };
            if !m.has_login_event {
                f.push(FLAG_LOGIN_FALLBACK);
            }
            out.push("login_frequency", pd, g, v, Some(Value::Count(logins[g])), Some(Value::Number(login_users[g] as f64 * weeks)), login_users[g], f);
            out.mean("feature_adoption_breadth", pd, g, breadth_num[g], active_accts[g] as f64, active_accts[g]);
            for (f, name) in feature_names.iter().enumerate() {
                let (v, fl) = ratio(Value::Count(adopters[g * n_features + f] as i64), Value::Count(active_accts[g] as i64));
                let mut fl = fl;
                if pd.incomplete {
                    fl.push(FLAG_INCOMPLETE);
                }
                if out.no_data {
                    fl.push(FLAG_NO_USAGE_DATA);
                }
                features.push(FeatureResult {
                    feature: name.clone(),
                    result: KpiResult {
                        kpi: "feature_adoption_rate",
                        period: pd.period.label.clone(),
                        period_start: pd.period.start,
                        period_end: pd.period.end,
                        segment: out.label(g),
                        value: v,
                        numerator: Some(Value::Count(adopters[g * n_features + f] as i64)),
                        denominator: Some(Value::Count(active_accts[g] as i64)),
                        n: active_accts[g],
                        flags: fl,
                    },
                });
            }
            out.ratio("seat_utilisation", pd, g, Value::Count(seat_mau[g]), Value::Count(seats[g]), seat_custs[g]);
        }
    }

    // ---- MRU and its roll-forward, net usage retention, activity churn: one pass per account over periods
    let np = pds.len();
    #[derive(Clone, Copy, Default, PartialEq)]
    struct Mru {
        mru: i64,
        new: i64,
        resurrected: i64,
        expansion: i64,
        contraction: i64,
        churned: i64,
        seg_in: i64,
        seg_out: i64,
        base: i64,
        kept: i64,
        paying: u64,
        act_base: i64,
        act_churned: i64,
    }
    let mut acc = vec![Mru::default(); np * groups];
    let mut u = vec![0i64; np];
    let mut act = vec![false; np];
    for a in 0..m.n_accounts {
        let c = links[a];
        let rows = m.account_days(a);
        u.iter_mut().for_each(|x| *x = 0);
        act.iter_mut().for_each(|x| *x = false);
        let mut pi = 0;
        for r in rows {
            while pi < np && r.day > pds[pi].last {
                pi += 1;
            }
            if pi == np {
                break;
            }
            if r.day < pds[pi].first || !m.active[r.event as usize] {
                continue;
            }
            act[pi] = true;
            if core[r.event as usize] {
                u[pi] += r.count as i64;
            }
        }
        let mut ever = false;
        let mut prev_g = 0usize;
        for (p, pd) in pds.iter().enumerate() {
            let paying = c != NONE && billing.paying_during(c, pd.period.start, pd.period.end);
            if !paying {
                u[p] = 0;
            }
            let g = grp(a as u32, pd.eval);
            let x = &mut acc[p * groups + g];
            x.mru += u[p];
            x.paying += (paying && u[p] > 0) as u64;
            if p > 0 {
                let (up, uc) = (u[p - 1], u[p]);
                if prev_g != g && up > 0 {
                    acc[p * groups + prev_g].seg_out += up;
                    acc[p * groups + g].seg_in += up;
                }
                let x = &mut acc[p * groups + g];
                if up == 0 && uc > 0 {
                    if ever {
                        x.resurrected += uc;
                    } else {
                        x.new += uc;
                    }
                } else if up > 0 && uc == 0 {
                    x.churned += up;
                } else if uc > up {
                    x.expansion += uc - up;
                } else {
                    x.contraction += up - uc;
                }
                let b = &mut acc[p * groups + prev_g];
                b.base += up;
                if up > 0 {
                    b.kept += uc;
                }
                if act[p - 1] {
                    b.act_base += 1;
                    b.act_churned += (!act[p]) as i64;
                }
            }
            ever |= u[p] > 0;
            prev_g = g;
        }
    }
    for (p, pd) in pds.iter().enumerate() {
        if !pd.reported || p == 0 {
            continue;
        }
        for g in 0..groups {
            let x = acc[p * groups + g];
            let before = acc[(p - 1) * groups + g];
            if seg.is_some() && x == Mru::default() && before.mru == 0 {
                continue;
            }
            out.count("mru", pd, g, x.mru, x.paying);
            out.count("mru_new", pd, g, x.new, 0);
            out.count("mru_expansion", pd, g, x.expansion, 0);
            out.count("mru_contraction", pd, g, x.contraction, 0);
            out.count("mru_churned", pd, g, x.churned, 0);
            out.count("mru_resurrected", pd, g, x.resurrected, 0);
            if seg.is_some() {
                out.count("mru_segment_in", pd, g, x.seg_in, 0);
                out.count("mru_segment_out", pd, g, x.seg_out, 0);
            }
            out.ratio("net_usage_retention", pd, g, Value::Count(x.kept), Value::Count(x.base), 0);
            out.ratio("activity_churn_rate", pd, g, Value::Count(x.act_churned), Value::Count(x.act_base), x.act_base as u64);
        }
    }

    // ---- time to value: cohorts of billing customers by anchor period
    let target = s.ttv_target_days as f64;
    let milestone = inp.rollup.events.get(&s.ttv_milestone_event);
    let mut reach: Vec<Option<Ts>> = vec![None; billing.len()];
    if let Some(ev) = milestone {
        for a in 0..m.n_accounts {
            let c = links[a];
            if c == NONE {
                continue;
            }
            let t = if s.ttv_milestone_count <= 1 {
                let k = m.firsts.partition_point(|f| (f.0, f.1) < (a as u32, ev));
                m.firsts.get(k).filter(|f| f.0 == a as u32 && f.1 == ev).map(|f| f.2)
            } else {
                let mut cum = 0u64;
                let first = m.firsts.iter().find(|f| f.0 == a as u32 && f.1 == ev).map(|f| f.2);
                m.account_days(a).iter().filter(|r| r.event == ev).find(|r| {
                    cum += r.count;
                    cum >= s.ttv_milestone_count
                }).map(|r| (r.day as Ts * SECS_PER_DAY).max(first.unwrap_or(i64::MIN)))
            };
            if let Some(t) = t {
                let slot = &mut reach[c as usize];
                *slot = Some(slot.map_or(t, |x: Ts| x.min(t)));
            }
        }
    }
    let mut cohorts: Vec<Vec<(f64, bool)>> = vec![Vec::new(); np * groups];
    let mut within = vec![(0i64, 0i64, false); np * groups];
    for c in 0..billing.len() as u32 {
        let anchor = match s.ttv_anchor {
            TtvAnchor::AccountCreated => billing.created(c),
            TtvAnchor::FirstPaid => billing.first_paid(c),
        };
        let Some(anchor) = anchor.filter(|&t| t <= inp.as_of) else { continue };
        let Some(p) = pds.iter().position(|pd| anchor >= pd.period.start && anchor < pd.period.end) else { continue };
        if !pds[p].reported {
            continue;
        }
        let g = cust_grp(c, anchor);
        let days = |t: Ts| (t - anchor).max(0) as f64 / SECS_PER_DAY as f64;
        let (dur, reached) = match reach[c as usize].filter(|&t| t <= inp.as_of) {
            Some(t) => (days(t), true),
            None => (days(billing.churned_at(c).map_or(inp.as_of, |x| x.min(inp.as_of))), false),
        };
        cohorts[p * groups + g].push((dur, reached));
        let w = &mut within[p * groups + g];
        if reached && dur <= target {
            w.0 += 1;
            w.1 += 1;
        } else if reached || dur >= target || billing.churned_at(c).is_some_and(|x| x <= inp.as_of) {
            w.1 += 1;
        } else {
            w.2 = true; // still inside its target window: not yet known
        }
    }
    for (p, pd) in pds.iter().enumerate() {
        if !pd.reported {
            continue;
        }
        for g in 0..groups {
            let obs = &mut cohorts[p * groups + g];
            if seg.is_some() && obs.is_empty() {
                continue;
            }
            let n = obs.len() as u64;
            let reached = obs.iter().filter(|o| o.1).count();
            match km_median(obs) {
                Some(v) => out.push("time_to_value", pd, g, Some(Value::Number(v)), None, None, n, vec![]),
                None => {
                    let flag = if n == 0 { FLAG_EMPTY_DENOMINATOR } else { FLAG_MEDIAN_NOT_REACHED };
                    out.push("time_to_value", pd, g, None, Some(Value::Count(reached as i64)), Some(Value::Count(n as i64)), n, vec![flag])
                }
            }
            let (k, d, pending) = within[p * groups + g];
            let (v, mut f) = ratio(Value::Count(k), Value::Count(d));
            if pending {
                f.push(FLAG_INCOMPLETE);
            }
            out.push("time_to_value_within_target", pd, g, v, Some(Value::Count(k)), Some(Value::Count(d)), d as u64, f);
        }
    }
    UsageTable { segment_by: seg.map(|x| x.by.name().to_string()), results: out.results, features }
}
