//! From the engine's [`Run`] to the lifetime statistics: each paying customer's life (first paid start to
//! first churn, censored at `as_of`), logo and revenue retention by first-paid cohort (spec §5
//! `cohort_logo_retention`, `cohort_revenue_retention`, `pooled_retention`), and per billing interval the
//! Kaplan–Meier and sBG summaries behind `holdfast ltv`.
//!
//! Everything is read from the movement ledger (customer then time order), one customer at a time with one
//! reused buffer: no per-row allocation. Ages count periods of the cohort grain: age `k` of a cohort is
//! observed only when the end of the cohort's period `+ k` is `≤ as_of` (spec §1 "Cohort"); the one exception
//! is age 0 of a cohort whose period is still running, reported with the flag `incomplete`.
use holdfast_core::records::Interval;
use holdfast_core::snapshot::{Snapshot, NONE};
use holdfast_core::time::{Calendar, Grain, Ts, SECS_PER_DAY};
use holdfast_engine::result::{ratio, Value, FLAG_INCOMPLETE};
use holdfast_engine::timeline::{Change, CustomerStatus, Kind};
use holdfast_engine::Run;
use serde::Serialize;

use crate::km::{log_rank, CiMethod, Interval as Band, KaplanMeier, LogRank, MedianRule};
use crate::sbg::{self, period_discount_rate, project_retention, MoneyEstimate, ProfileIntervals, ProjectedRetention, SbgFit, SurvivalCounts};

/// Paying customers' lives, one entry per customer with a `new_business` row, in customer order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lifetimes {
    pub customer: Vec<u32>,
    /// Time of the first `new_business` row (first paid start).
    pub first_paid: Vec<Ts>,
    /// MRR right after it (the customer's new-business MRR).
    pub first_mrr: Vec<i64>,
    /// Time of the first churn after the first paid start, else `as_of` (censored).
    pub end: Vec<Ts>,
    pub churned: Vec<bool>,
}

impl Lifetimes {
    pub fn len(&self) -> usize {
        self.customer.len()
    }
    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }
    /// Durations in days, for a Kaplan–Meier curve in calendar time.
    pub fn durations_in_days(&self) -> Vec<f64> {
        self.first_paid.iter().zip(&self.end).map(|(s, e)| (e - s) as f64 / SECS_PER_DAY as f64).collect()
    }
}

/// Calls `f` with each customer's ledger rows (rows after `as_of` excluded), reusing one buffer.
fn for_each_customer(run: &Run, mut f: impl FnMut(u32, &[Change])) {
    let mut rows: Vec<Change> = Vec::with_capacity(64);
    let mut current = NONE;
    for c in run.ledger.iter().filter(|c| c.t <= run.as_of) {
        if c.customer != current {
            if !rows.is_empty() {
                f(current, &rows);
            }
            rows.clear();
            current = c.customer;
        }
        rows.push(*c);
    }
    if !rows.is_empty() {
        f(current, &rows);
    }
}

/// Each paying customer's life. A reactivated customer's life ends at its first churn (time to first churn).
pub fn customer_lifetimes(run: &Run) -> Lifetimes {
    let mut out = Lifetimes::default();
    for_each_customer(run, |customer, rows| {
        let Some(first) = rows.iter().position(|c| c.kind == Kind::NewBusiness) else { return };
        let churn = rows[first + 1..].iter().find(|c| c.kind == Kind::Churn);
        out.customer.push(customer);
        out.first_paid.push(rows[first].t);
        out.first_mrr.push(rows[first].mrr);
        out.end.push(churn.map_or(run.as_of, |c| c.t));
        out.churned.push(churn.is_some());
    });
    out
}

/// One cell of the cohort heatmap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CohortCell {
    /// Label of the cohort's period (first `new_business`).
    pub cohort: String,
    pub cohort_start: Ts,
    pub age: u32,
    /// Cohort size.
    pub customers: u64,
    /// Members active (MRR > 0, past due included) at the end of age `age`.
    pub retained: u64,
    pub logo_retention: Option<f64>,
    /// The cohort's new-business MRR (the revenue base), minor units of the reporting currency.
    pub new_business_mrr: i64,
    /// Members' MRR at the end of age `age`.
    pub mrr: i64,
    /// `mrr / new_business_mrr` (net: expansion and reactivation add).
    pub revenue_retention: Option<f64>,
    /// `Σ min(member MRR, member new-business MRR) / new_business_mrr`.
    pub gross_revenue_retention: Option<f64>,
    pub flags: Vec<&'static str>,
}

/// Logo and revenue retention by first-paid cohort, and the pooled curves across cohorts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CohortMatrix {
    pub grain: Grain,
    pub as_of: Ts,
    /// By cohort, then age.
    pub cells: Vec<CohortCell>,
    /// `pooled_retention` of active counts by age (= discrete Kaplan–Meier of logos).
    pub pooled_logo: Vec<Option<f64>>,
    /// `pooled_retention` of MRR by age.
    pub pooled_revenue: Vec<Option<f64>>,
}

#[derive(Clone, Copy, Default)]
struct Acc {
    retained: u64,
    mrr: i64,
    gross: i64,
}

/// Builds the cohort matrix at the calendar's grain.
pub fn cohort_matrix(run: &Run, calendar: &Calendar) -> CohortMatrix {
    let lives = customer_lifetimes(run);
    let Some(&first) = lives.first_paid.iter().min() else {
        return CohortMatrix { grain: calendar.grain, as_of: run.as_of, cells: vec![], pooled_logo: vec![], pooled_revenue: vec![] };
    };
    let periods = calendar.periods(first, run.as_of + 1);
    let starts: Vec<Ts> = periods.iter().map(|p| p.start).collect();
    // acc[c][k]: cohort c at age k; sizes[c], base[c]: members and their new-business MRR.
    let mut acc: Vec<Vec<Acc>> = vec![Vec::new(); periods.len()];
    let mut sizes = vec![0u64; periods.len()];
    let mut base = vec![0i64; periods.len()];
    for_each_customer(run, |_, rows| {
        let Some(first) = rows.iter().position(|c| c.kind == Kind::NewBusiness) else { return };
        let (t0, nb) = (rows[first].t, rows[first].mrr);
        let Some(c) = starts.partition_point(|&s| s <= t0).checked_sub(1) else { return };
        sizes[c] += 1;
        base[c] += nb;
        let cells = &mut acc[c];
        let mut next_row = first + 1;
        let mut mrr = nb;
        for (k, p) in periods[c..].iter().enumerate() {
            // Age 0 is shown even while the cohort's own period is still running (flagged `incomplete`), so
            // the newest cohort's size appears; later ages only once fully observed.
            if p.end > run.as_of && k > 0 {
                break;
            }
            if cells.len() <= k {
                cells.push(Acc::default());
            }
            if k == 0 {
                // Age 0 is the cohort's base by definition (same-period join + churn stays in the base).
                cells[0].retained += 1;
                cells[0].mrr += nb;
                cells[0].gross += nb;
                continue;
            }
            while next_row < rows.len() && rows[next_row].t < p.end {
                mrr = rows[next_row].mrr;
                next_row += 1;
            }
            let cell = &mut cells[k];
            cell.retained += (mrr > 0) as u64;
            cell.mrr += mrr;
            cell.gross += mrr.min(nb).max(0);
        }
    });
    let mut cells = Vec::new();
    for (c, row) in acc.iter().enumerate() {
        for (k, a) in row.iter().enumerate() {
            let (logo, mut flags) = ratio(Value::Count(a.retained as i64), Value::Count(sizes[c] as i64));
            let (net, f2) = ratio(Value::Money(a.mrr), Value::Money(base[c]));
            let (gross, _) = ratio(Value::Money(a.gross), Value::Money(base[c]));
            for f in f2 {
                if !flags.contains(&f) {
                    flags.push(f);
                }
            }
            if periods[c + k].end > run.as_of {
                flags.push(FLAG_INCOMPLETE);
            }
            cells.push(CohortCell {
                cohort: periods[c].label.clone(),
                cohort_start: periods[c].start,
                age: k as u32,
                customers: sizes[c],
                retained: a.retained,
                logo_retention: logo.map(|v| v.as_f64()),
                new_business_mrr: base[c],
                mrr: a.mrr,
                revenue_retention: net.map(|v| v.as_f64()),
                gross_revenue_retention: gross.map(|v| v.as_f64()),
                flags,
            });
        }
    }
    let logo: Vec<Vec<f64>> = acc.iter().filter(|r| !r.is_empty()).map(|r| r.iter().map(|a| a.retained as f64).collect()).collect();
    let revenue: Vec<Vec<f64>> = acc.iter().filter(|r| !r.is_empty()).map(|r| r.iter().map(|a| a.mrr as f64).collect()).collect();
    CohortMatrix { grain: calendar.grain, as_of: run.as_of, cells, pooled_logo: crate::km::pooled_retention(&logo), pooled_revenue: crate::km::pooled_retention(&revenue) }
}

/// A billing period: `count` × `unit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BillingInterval {
    pub unit: Interval,
    pub count: u32,
}

impl BillingInterval {
    pub fn label(&self) -> String {
        if self.count == 1 {
            self.unit.as_str().to_string()
        } else {
            format!("{} {}s", self.count, self.unit.as_str())
        }
    }
    /// Mean length in days (Gregorian mean month and year, so long lives do not drift).
    pub fn mean_days(&self) -> f64 {
        let unit = match self.unit {
            Interval::Day => 1.0,
            Interval::Week => 7.0,
            Interval::Month => 365.2425 / 12.0,
            Interval::Year => 365.2425,
        };
        unit * self.count as f64
    }
    pub fn periods_per_year(&self) -> f64 {
        365.2425 / self.mean_days()
    }
}

/// Each customer's billing interval: the interval of the plan on its earliest recurring invoice line (the
/// plan it started paying on). `None` for customers without one.
pub fn billing_intervals(snap: &Snapshot) -> Vec<Option<BillingInterval>> {
    let mut first: Vec<(Ts, Option<BillingInterval>)> = vec![(Ts::MAX, None); snap.customers.len()];
    let lines = &snap.lines;
    for i in 0..lines.len() {
        let plan = lines.plan[i];
        if plan == NONE || lines.flags[i] & holdfast_core::snapshot::LINE_HAS_PERIOD == 0 {
            continue;
        }
        let Some(unit) = snap.plans.interval[plan as usize] else { continue };
        let customer = snap.invoices.customer[lines.invoice[i] as usize] as usize;
        let start = lines.period_start[i];
        if start < first[customer].0 {
            first[customer] = (start, Some(BillingInterval { unit, count: snap.plans.interval_count[plan as usize].max(1) }));
        }
    }
    first.into_iter().map(|f| f.1).collect()
}

/// Renewal counts of a life: a churned customer churned at renewal `⌈d/len − ε⌉ ≥ 1`, a censored one has
/// survived `⌊d/len + ε⌋` renewals, with `ε = 0.05` periods absorbing calendar-month length differences.
pub fn renewal_periods(days: f64, churned: bool, interval: &BillingInterval) -> u32 {
    let periods = days / interval.mean_days();
    if churned {
        ((periods - 0.05).ceil().max(1.0)) as u32
    } else {
        (periods + 0.05).floor().max(0.0) as u32
    }
}

/// Options of [`ltv_report`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LtvOptions {
    /// Confidence level of every interval (0.95).
    pub level: f64,
    /// Annual discount rate (spec default 0.10), scaled to each billing period by compounding.
    pub annual_discount_rate: f64,
    /// Margin on revenue (spec `gross_margin`, default 1).
    pub gross_margin: f64,
    /// Periods beyond the observed horizon to project retention.
    pub projection_periods: u32,
    /// Kaplan–Meier confidence intervals (log-log by default, `log` as R).
    pub ci: CiMethod,
    /// Kaplan–Meier median rule (strict `Ŝ < 0.5` by default, `r`).
    pub median: MedianRule,
}

impl Default for LtvOptions {
    fn default() -> Self {
        LtvOptions { level: 0.95, annual_discount_rate: 0.10, gross_margin: 1.0, projection_periods: 12, ci: CiMethod::LogLog, median: MedianRule::Strict }
    }
}

/// Lifetime summary of the customers of one billing interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntervalLtv {
    pub interval: String,
    pub customers: u64,
    pub churned: u64,
    /// Customers active at `as_of` (the base of customer equity).
    pub active: u64,
    /// Longest observed life in periods.
    pub horizon: u32,
    /// Kaplan–Meier median lifetime in periods (by the chosen rule) and its confidence interval.
    pub km_median: Option<f64>,
    pub km_median_interval: (Option<f64>, Option<f64>),
    /// Restricted mean lifetime up to the observed horizon, in periods, with its standard error.
    pub restricted_mean: f64,
    pub restricted_mean_se: f64,
    pub sbg: Option<SbgFit>,
    pub sbg_profile: Option<ProfileIntervals>,
    /// Why there is no sBG fit (e.g. nobody churned yet).
    pub sbg_error: Option<String>,
    /// sBG mean lifetime in periods (`None`: infinite, α ≤ 1) and median.
    pub expected_lifetime: Option<f64>,
    pub sbg_median: Option<u32>,
    pub discount_rate_per_period: f64,
    /// ARPA per billing period × gross margin, minor units of the reporting currency.
    pub margin_per_period: i64,
    pub del: Option<f64>,
    /// DERL(d | n−1) for n = 1..=5.
    pub derl: Vec<f64>,
    pub clv_new: Option<MoneyEstimate>,
    pub customer_equity: Option<MoneyEstimate>,
    /// Retention by age: Kaplan–Meier inside the horizon, sBG beyond.
    pub retention: Vec<ProjectedRetention>,
    /// Pointwise confidence band of the Kaplan–Meier part.
    pub retention_band: Vec<Option<Band>>,
}

/// The lifetime report behind `holdfast ltv`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LtvReport {
    pub as_of: Ts,
    pub options: LtvOptions,
    pub intervals: Vec<IntervalLtv>,
    /// Paying customers whose billing interval is unknown (no recurring line with a plan interval).
    pub customers_without_interval: u64,
    /// Log-rank test of equal survival (in days since first paid start) across the billing intervals, in the
    /// order of `intervals`; `None` with fewer than two intervals.
    pub interval_log_rank: Option<LogRank>,
}

/// Kaplan–Meier and sBG per billing interval, with DEL/DERL, CLV and customer equity.
pub fn ltv_report(run: &Run, snap: &Snapshot, options: &LtvOptions) -> LtvReport {
    let lives = customer_lifetimes(run);
    let intervals = billing_intervals(snap);
    let mut groups: Vec<BillingInterval> = lives.customer.iter().filter_map(|&c| intervals.get(c as usize).copied().flatten()).collect();
    groups.sort_unstable();
    groups.dedup();
    let days = lives.durations_in_days();
    let without = lives.customer.iter().filter(|&&c| intervals.get(c as usize).copied().flatten().is_none()).count() as u64;
    let report = groups
        .iter()
        .map(|g| {
            let members: Vec<usize> = (0..lives.len()).filter(|&i| intervals[lives.customer[i] as usize] == Some(*g)).collect();
            let periods: Vec<u32> = members.iter().map(|&i| renewal_periods(days[i], lives.churned[i], g)).collect();
            let churned: Vec<bool> = members.iter().map(|&i| lives.churned[i]).collect();
            interval_ltv(run, g, &members, &lives, &periods, &churned, options)
        })
        .collect();
    let (mut t, mut e, mut g) = (vec![], vec![], vec![]);
    for i in 0..lives.len() {
        if let Some(k) = intervals[lives.customer[i] as usize].and_then(|b| groups.iter().position(|x| *x == b)) {
            t.push(days[i]);
            e.push(lives.churned[i]);
            g.push(k as u32);
        }
    }
    let interval_log_rank = if groups.len() >= 2 { log_rank(&t, &e, &g).ok() } else { None };
    LtvReport { as_of: run.as_of, options: *options, intervals: report, customers_without_interval: without, interval_log_rank }
}

fn interval_ltv(run: &Run, g: &BillingInterval, members: &[usize], lives: &Lifetimes, periods: &[u32], churned: &[bool], o: &LtvOptions) -> IntervalLtv {
    let durations: Vec<f64> = periods.iter().map(|&p| p as f64).collect();
    // Periods and churn flags are built together from the same members, so lengths always agree.
    let km = KaplanMeier::fit(&durations, churned, None).expect("renewal periods are finite and ≥ 0");
    let horizon = periods.iter().copied().max().unwrap_or(0);
    let (restricted_mean, restricted_mean_se) = km.restricted_mean(horizon as f64);
    let counts = SurvivalCounts::from_customers(periods, churned).expect("a churned customer has ≥ 1 period");
    let d = period_discount_rate(o.annual_discount_rate, g.periods_per_year());
    // Active base: customers alive at as_of with MRR; ARPA from their current (monthly) MRR.
    let mut by_renewals: Vec<u64> = vec![];
    let (mut active, mut mrr_sum) = (0u64, 0i128);
    for (k, &i) in members.iter().enumerate() {
        let now = &run.customers[lives.customer[i] as usize];
        if !churned[k] && matches!(now.status, CustomerStatus::Active | CustomerStatus::PastDue) && now.mrr > 0 {
            active += 1;
            mrr_sum += now.mrr as i128;
            let r = periods[k] as usize;
            if by_renewals.len() <= r {
                by_renewals.resize(r + 1, 0);
            }
            by_renewals[r] += 1;
        }
    }
    let months_per_period = g.mean_days() / (365.2425 / 12.0);
    let margin = if active == 0 { 0 } else { (mrr_sum as f64 / active as f64 * months_per_period * o.gross_margin).round() as i64 };
    let (fit, sbg_error) = match sbg::fit(&counts) {
        Ok(f) => (Some(f), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let model = fit.as_ref().map(|f| f.model);
    IntervalLtv {
        interval: g.label(),
        customers: members.len() as u64,
        churned: counts.churned(),
        active,
        horizon,
        km_median: km.median(o.median),
        km_median_interval: km.median_interval(o.level, o.ci, o.median),
        restricted_mean,
        restricted_mean_se,
        sbg_profile: fit.as_ref().filter(|f| f.flags.is_empty()).map(|f| f.profile_intervals(&counts, o.level)),
        sbg_error,
        expected_lifetime: model.and_then(|m| m.expected_lifetime()),
        sbg_median: model.and_then(|m| m.median_lifetime()),
        discount_rate_per_period: d,
        margin_per_period: margin,
        del: model.and_then(|m| m.del(d)),
        derl: model.map(|m| (0..5).filter_map(|n| m.derl(d, n)).collect()).unwrap_or_default(),
        clv_new: fit.as_ref().and_then(|f| f.clv_new(margin, d, o.level)),
        customer_equity: fit.as_ref().and_then(|f| f.customer_equity(margin, d, &by_renewals, o.level)),
        retention: model.map(|m| project_retention(&km, &m, horizon + o.projection_periods)).unwrap_or_default(),
        retention_band: (0..=horizon).map(|t| km.interval_at(t as f64, o.level, o.ci)).collect(),
        sbg: fit,
    }
}
