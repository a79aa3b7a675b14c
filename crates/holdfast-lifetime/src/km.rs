//! Kaplan–Meier survival with late entry, Greenwood variance, log-log and log confidence intervals, median and
//! restricted mean lifetime; pooled cohort retention; the log-rank test between segments.
//!
//! Conventions (spec §5 `logo_survival_km`, matching lifelines): the risk set at `t` is `{i : entry_i < t ≤ T_i}`;
//! at tied times events happen before censorings (a subject censored at `t` is still at risk at `t`).
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::error::InputError;
use crate::optimize::invert;

/// How confidence intervals for `S(t)` are formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CiMethod {
    /// `Ŝ^{exp(±z√V)}` with `V = Σ d/(n(n−d)) / (ln Ŝ)²` (lifelines default; stays inside [0, 1]).
    #[default]
    LogLog,
    /// `Ŝ·exp(±z√Σ d/(n(n−d)))`, upper capped at 1 (R `survfit` default).
    Log,
}

/// Which time is reported as the median lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MedianRule {
    /// First time with `Ŝ < 0.5` (lifelines).
    #[default]
    Strict,
    /// First time with `Ŝ ≤ 0.5`; where `Ŝ = 0.5` exactly on an interval, its midpoint (R).
    R,
}

/// A two-sided interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

/// A fitted Kaplan–Meier curve: one row per distinct time with an event or a censoring.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KaplanMeier {
    /// Ascending distinct times.
    pub times: Vec<f64>,
    pub at_risk: Vec<u64>,
    pub events: Vec<u64>,
    pub censored: Vec<u64>,
    /// `Ŝ` just after each time.
    pub survival: Vec<f64>,
    /// Cumulative Greenwood sum `Σ d/(n(n−d))` up to each time (∞ once `Ŝ` reaches 0).
    pub greenwood: Vec<f64>,
}

const TIE: f64 = 1e-12;

impl KaplanMeier {
    /// Fits the curve to subjects with `durations[i]` (event or censoring time), `observed[i]` (true = the event
    /// happened) and optional `entry[i]` (late entry: not at risk at or before it).
    pub fn fit(durations: &[f64], observed: &[bool], entry: Option<&[f64]>) -> Result<Self, InputError> {
        if observed.len() != durations.len() {
            return Err(InputError::whole("observed", format!("{} values", observed.len()), format!("{} values, one per duration", durations.len())));
        }
        if let Some(e) = entry {
            if e.len() != durations.len() {
                return Err(InputError::whole("entry", format!("{} values", e.len()), format!("{} values, one per duration", durations.len())));
            }
        }
        for (i, &t) in durations.iter().enumerate() {
            if !(t.is_finite() && t >= 0.0) {
                return Err(InputError::at("durations", i, t, "a finite time ≥ 0"));
            }
            if let Some(e) = entry {
                if !(e[i].is_finite() && e[i] < t) {
                    return Err(InputError::at("entry", i, e[i], format!("a finite time before the duration {t}")));
                }
            }
        }
        // Points: (time, kind) with kind 0 = event, 1 = censoring, 2 = entry. One sort, one sweep.
        let mut points: Vec<(f64, u8)> = Vec::with_capacity(durations.len() * if entry.is_some() { 2 } else { 1 });
        points.extend(durations.iter().zip(observed).map(|(&t, &o)| (t, if o { 0 } else { 1 })));
        let mut current: u64 = 0;
        match entry {
            Some(e) => points.extend(e.iter().map(|&t| (t, 2u8))),
            None => current = durations.len() as u64,
        }
        points.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut km = KaplanMeier::empty();
        let mut i = 0;
        while i < points.len() {
            let t = points[i].0;
            let (mut d, mut c, mut e) = (0u64, 0u64, 0u64);
            while i < points.len() && points[i].0 == t {
                match points[i].1 {
                    0 => d += 1,
                    1 => c += 1,
                    _ => e += 1,
                }
                i += 1;
            }
            if d + c > 0 {
                km.push(t, current, d, c);
            }
            current = current - d - c + e;
        }
        Ok(km)
    }

    /// Discrete-time curve from cohort survivor counts: `cohorts[h][j]` = members of cohort `h` still alive at age
    /// `j` (`j = 0` is the cohort size); a cohort observed to age `K_h` is censored after `K_h`. This is the pooled
    /// retention of spec §5 for counts: cohorts contribute to age `j` only while observed.
    pub fn from_cohort_counts(cohorts: &[Vec<u64>]) -> Result<Self, InputError> {
        let horizon = cohorts.iter().map(|c| c.len()).max().unwrap_or(0);
        for (h, c) in cohorts.iter().enumerate() {
            if let Some(j) = (1..c.len()).find(|&j| c[j] > c[j - 1]) {
                return Err(InputError::at("cohorts", h, format!("{} survivors at age {} after {} at age {}", c[j], j, c[j - 1], j - 1), "non-increasing survivor counts"));
            }
        }
        let mut km = KaplanMeier::empty();
        for j in 1..horizon {
            let (mut n, mut d, mut c) = (0u64, 0u64, 0u64);
            for cohort in cohorts.iter().filter(|cohort| cohort.len() > j) {
                n += cohort[j - 1];
                d += cohort[j - 1] - cohort[j];
                if cohort.len() == j + 1 {
                    c += cohort[j];
                }
            }
            if n > 0 {
                km.push(j as f64, n, d, c);
            }
        }
        Ok(km)
    }

    fn empty() -> Self {
        KaplanMeier { times: vec![], at_risk: vec![], events: vec![], censored: vec![], survival: vec![], greenwood: vec![] }
    }

    fn push(&mut self, t: f64, n: u64, d: u64, c: u64) {
        let (s_prev, g_prev) = (self.survival.last().copied().unwrap_or(1.0), self.greenwood.last().copied().unwrap_or(0.0));
        let s = s_prev * (1.0 - d as f64 / n as f64);
        let g = if d == 0 { g_prev } else if d >= n { f64::INFINITY } else { g_prev + d as f64 / (n as f64 * (n - d) as f64) };
        self.times.push(t);
        self.at_risk.push(n);
        self.events.push(d);
        self.censored.push(c);
        self.survival.push(s);
        self.greenwood.push(g);
    }

    /// Row index of the last time `≤ t`.
    fn row_at(&self, t: f64) -> Option<usize> {
        self.times.partition_point(|&x| x <= t).checked_sub(1)
    }

    /// `Ŝ(t)` (right-continuous step function; 1 before the first time).
    pub fn survival_at(&self, t: f64) -> f64 {
        self.row_at(t).map_or(1.0, |i| self.survival[i])
    }

    /// Greenwood variance of `Ŝ(t)`: `Ŝ² Σ d/(n(n−d))` (0 once `Ŝ = 0`).
    pub fn variance_at(&self, t: f64) -> f64 {
        self.row_at(t).map_or(0.0, |i| if self.survival[i] == 0.0 { 0.0 } else { self.survival[i].powi(2) * self.greenwood[i] })
    }

    /// Pointwise confidence interval for `Ŝ(t)` at `level` (e.g. 0.95). `None` where it is undefined: once `Ŝ`
    /// has reached 0 (the Greenwood sum is infinite there; R reports NA).
    pub fn interval_at(&self, t: f64, level: f64, method: CiMethod) -> Option<Interval> {
        let Some(i) = self.row_at(t) else { return Some(Interval { lower: 1.0, upper: 1.0 }) };
        interval(self.survival[i], self.greenwood[i], z_of(level), method)
    }

    /// Intervals at every row time.
    pub fn intervals(&self, level: f64, method: CiMethod) -> Vec<Option<Interval>> {
        let z = z_of(level);
        self.survival.iter().zip(&self.greenwood).map(|(&s, &g)| interval(s, g, z, method)).collect()
    }

    /// Median lifetime; `None` when `Ŝ` never falls to the threshold within the data.
    pub fn median(&self, rule: MedianRule) -> Option<f64> {
        quantile_time(&self.times, &self.survival, rule)
    }

    /// Confidence interval of the median: the times at which the lower and upper pointwise bands cross 0.5
    /// (Brookmeyer–Crowley as lifelines and R report it). Either end is `None` when its band never crosses.
    pub fn median_interval(&self, level: f64, method: CiMethod, rule: MedianRule) -> (Option<f64>, Option<f64>) {
        let bands = self.intervals(level, method);
        let lower: Vec<f64> = bands.iter().map(|b| b.map_or(0.0, |b| b.lower)).collect();
        let upper: Vec<f64> = bands.iter().map(|b| b.map_or(0.0, |b| b.upper)).collect();
        (quantile_time(&self.times, &lower, rule), quantile_time(&self.times, &upper, rule))
    }

    /// Restricted mean lifetime up to `horizon` (the area under `Ŝ` on `[0, horizon]`) and its standard error
    /// `√Σ A_i² d_i/(n_i(n_i−d_i))` with `A_i` the area from event time `t_i` to the horizon.
    pub fn restricted_mean(&self, horizon: f64) -> (f64, f64) {
        let mut area = 0.0;
        let (mut last_t, mut last_s) = (0.0, 1.0);
        let rows = self.times.partition_point(|&x| x <= horizon);
        for i in 0..rows {
            let t = self.times[i];
            area += last_s * (t - last_t);
            last_t = t;
            last_s = self.survival[i];
        }
        let tail = last_s * (horizon - last_t).max(0.0);
        area += tail;
        // `after` = area from row i's time to the horizon, accumulated backwards.
        let mut after = tail;
        let mut variance = 0.0;
        for i in (0..rows).rev() {
            let (n, d) = (self.at_risk[i] as f64, self.events[i] as f64);
            if d > 0.0 && n > d {
                variance += after * after * d / (n * (n - d));
            }
            if i > 0 {
                after += self.survival[i - 1] * (self.times[i] - self.times[i - 1]);
            }
        }
        (area, variance.sqrt())
    }
}

fn z_of(level: f64) -> f64 {
    let std = Normal::standard();
    std.inverse_cdf(0.5 + level / 2.0)
}

fn interval(s: f64, greenwood: f64, z: f64, method: CiMethod) -> Option<Interval> {
    if s <= 0.0 || !greenwood.is_finite() {
        return None;
    }
    if s >= 1.0 || greenwood == 0.0 {
        return Some(Interval { lower: s, upper: s });
    }
    Some(match method {
        CiMethod::LogLog => {
            let half = z * (greenwood / (s.ln() * s.ln())).sqrt();
            Interval { lower: s.powf(half.exp()), upper: s.powf((-half).exp()) }
        }
        CiMethod::Log => {
            let half = z * greenwood.sqrt();
            Interval { lower: s * (-half).exp(), upper: (s * half.exp()).min(1.0) }
        }
    })
}

fn quantile_time(times: &[f64], curve: &[f64], rule: MedianRule) -> Option<f64> {
    match rule {
        MedianRule::Strict => curve.iter().position(|&s| s < 0.5).map(|i| times[i]),
        MedianRule::R => {
            let i = curve.iter().position(|&s| s <= 0.5 + TIE)?;
            if (curve[i] - 0.5).abs() <= TIE {
                // Flat at exactly one half: the midpoint to the next time the curve drops.
                if let Some(j) = (i + 1..curve.len()).find(|&j| curve[j] < curve[i] - TIE) {
                    return Some(0.5 * (times[i] + times[j]));
                }
            }
            Some(times[i])
        }
    }
}

/// Pooled retention over cohorts observed for different lengths (spec §5 `pooled_retention`):
/// `P(k) = Π_{j≤k} Σ_{h∈H_j} V_h(j) / Σ_{h∈H_j} V_h(j−1)` with `H_j` the cohorts observed at age `j`. `V` is an
/// active count (logo) or MRR (revenue). Entry `k` is `None` once a denominator is empty.
pub fn pooled_retention(cohorts: &[Vec<f64>]) -> Vec<Option<f64>> {
    let horizon = cohorts.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(horizon);
    let mut p = Some(1.0);
    for j in 0..horizon {
        if j > 0 {
            let (mut num, mut den) = (0.0, 0.0);
            for c in cohorts.iter().filter(|c| c.len() > j) {
                num += c[j];
                den += c[j - 1];
            }
            p = p.and_then(|p| if den == 0.0 { None } else { Some(p * num / den) });
        }
        out.push(p);
    }
    out
}

/// The log-rank test of equal survival across groups.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRank {
    pub observed: Vec<f64>,
    pub expected: Vec<f64>,
    pub chi_square: f64,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
}

/// Log-rank test: `groups[i]` is subject `i`'s group `0..k`. Late entry is not taken here (segments are compared
/// from first paid start).
pub fn log_rank(durations: &[f64], observed: &[bool], groups: &[u32]) -> Result<LogRank, InputError> {
    if observed.len() != durations.len() || groups.len() != durations.len() {
        return Err(InputError::whole("observed/groups", format!("{}/{} values", observed.len(), groups.len()), format!("{} values each", durations.len())));
    }
    if let Some(i) = durations.iter().position(|t| !(t.is_finite() && *t >= 0.0)) {
        return Err(InputError::at("durations", i, durations[i], "a finite time ≥ 0"));
    }
    if let Some(i) = groups.iter().position(|&g| g >= 1 << 30) {
        return Err(InputError::at("groups", i, groups[i], "a dense group index below 2^30"));
    }
    let k = groups.iter().max().map_or(0, |&g| g as usize + 1);
    if k < 2 {
        return Err(InputError::whole("groups", format!("{k} group(s)"), "at least two groups"));
    }
    let mut at_risk = vec![0f64; k];
    for &g in groups {
        at_risk[g as usize] += 1.0;
    }
    // (time, group << 1 | event), sorted by time: one contiguous sort instead of indirect lookups.
    let mut rows: Vec<(f64, u32)> = durations.iter().zip(groups).zip(observed).map(|((&t, &g), &e)| (t, g << 1 | e as u32)).collect();
    rows.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let (mut obs, mut exp) = (vec![0f64; k], vec![0f64; k]);
    let mut cov = vec![vec![0f64; k]; k];
    let mut deaths = vec![0f64; k];
    let mut leaving = vec![0f64; k];
    let mut i = 0;
    while i < rows.len() {
        let t = rows[i].0;
        deaths.iter_mut().for_each(|x| *x = 0.0);
        leaving.iter_mut().for_each(|x| *x = 0.0);
        while i < rows.len() && rows[i].0 == t {
            let g = (rows[i].1 >> 1) as usize;
            leaving[g] += 1.0;
            deaths[g] += (rows[i].1 & 1) as f64;
            i += 1;
        }
        let d: f64 = deaths.iter().sum();
        let n: f64 = at_risk.iter().sum();
        if d > 0.0 {
            for g in 0..k {
                obs[g] += deaths[g];
                exp[g] += d * at_risk[g] / n;
                if n > 1.0 {
                    let factor = d * (n - d) / (n - 1.0);
                    for h in 0..k {
                        let delta = if g == h { 1.0 } else { 0.0 };
                        cov[g][h] += factor * at_risk[g] / n * (delta - at_risk[h] / n);
                    }
                }
            }
        }
        for g in 0..k {
            at_risk[g] -= leaving[g];
        }
    }
    // Any k−1 groups carry the information; drop the last.
    let m = k - 1;
    let reduced: Vec<Vec<f64>> = (0..m).map(|g| cov[g][..m].to_vec()).collect();
    let inv = invert(&reduced).ok_or_else(|| InputError::whole("groups", "groups without events at shared times", "groups whose survival can be compared (a non-singular variance)"))?;
    let diff: Vec<f64> = (0..m).map(|g| obs[g] - exp[g]).collect();
    let chi_square: f64 = (0..m).map(|g| (0..m).map(|h| diff[g] * inv[g][h] * diff[h]).sum::<f64>()).sum();
    let dist = ChiSquared::new(m as f64).map_err(|e| InputError::whole("groups", k, e.to_string()))?;
    Ok(LogRank { observed: obs, expected: exp, chi_square, degrees_of_freedom: m, p_value: dist.sf(chi_square) })
}
