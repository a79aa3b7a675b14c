//! Holdfast's metric engine: plain functions over an in-memory [`Snapshot`], no I/O.
//!
//! [`run`] computes, for one set of [`Settings`] and an `as_of` knowledge time:
//! * the movement ledger ([`timeline::Change`] rows: new business, expansion, contraction, churn,
//!   reactivation, FX-only), per customer, grouped and classified per spec §2.6;
//! * every revenue KPI of spec §3 for each period of a grain, in total and per requested segmentation,
//!   each with numerator, denominator, n and flags ([`result::KpiResult`]);
//! * each customer's status and MRR at `as_of`.
//!
//! Customers are independent, so the work is split into chunks processed in parallel (rayon); results
//! are merged in customer order, so output is identical whatever the thread count.
//! Invariants (tested in `tests/`): MRR and customer-count roll-forward per period and segment, ledger
//! sums to MRR, rates in range, import-order independence.
pub mod kpis;
pub mod line_mrr;
pub mod merge;
pub mod reconcile;
pub mod query;
pub mod result;
pub mod segment;
pub mod settings;
pub mod timeline;

use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{Calendar, Period, Ts};
use holdfast_core::Grain;
use kpis::{Acc, Aggregation, Daily};
use rayon::prelude::*;
pub use result::{KpiResult, Value};
pub use segment::SegmentBy;
use segment::Segmenter;
pub use settings::Settings;
use timeline::{process_customer, Change, Ctx, CustomerStatus, Scratch};

/// What to compute.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Knowledge time; default: the latest instant in the data.
    pub as_of: Option<Ts>,
    pub grain: Grain,
    /// First and last instant of the reported range; default: first service period to `as_of`.
    pub from: Option<Ts>,
    pub to: Option<Ts>,
    /// Segmentations besides the total.
    pub segment_by: Vec<SegmentBy>,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec { as_of: None, grain: Grain::Month, from: None, to: None, segment_by: vec![] }
    }
}

/// The KPIs of one segmentation (or the total).
#[derive(Clone, Debug)]
pub struct KpiTable {
    pub segment_by: Option<String>,
    pub results: Vec<KpiResult>,
}

impl KpiTable {
    /// The result of `kpi` for `period` (label) and `segment` (`None` = total).
    pub fn get(&self, kpi: &str, period: &str, segment: Option<&str>) -> Option<&KpiResult> {
        self.results.iter().find(|r| r.kpi == kpi && r.period == period && r.segment.as_deref() == segment)
    }
}

/// A customer's state at `as_of`.
#[derive(Clone, Copy, Debug)]
pub struct CustomerNow {
    pub status: CustomerStatus,
    pub mrr: i64,
    /// Largest-MRR plan in force (`NONE` if none).
    pub plan: u32,
}

/// The movement ledger, in customer then time order. Kept in the chunks the parallel pass produced (no
/// copy into one vector: at a million customers that copy is a few hundred MB and a second pass).
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    parts: Vec<Vec<Change>>,
    len: usize,
}

impl Ledger {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Change> + '_ {
        self.parts.iter().flat_map(|p| p.iter())
    }
    pub fn last(&self) -> Option<&Change> {
        self.parts.iter().rev().find_map(|p| p.last())
    }
}

impl<'a> IntoIterator for &'a Ledger {
    type Item = &'a Change;
    type IntoIter = Box<dyn Iterator<Item = &'a Change> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// Everything [`run`] computes.
pub struct Run {
    pub as_of: Ts,
    pub settings_hash: String,
    pub periods: Vec<Period>,
    /// Ledger rows of all customers, by customer then time.
    pub ledger: Ledger,
    pub tables: Vec<KpiTable>,
    pub customers: Vec<CustomerNow>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Config(String),
}

/// The latest instant the data knows about: the default `as_of`.
pub fn data_as_of(snap: &Snapshot) -> Option<Ts> {
    let inv = &snap.invoices;
    let subs = &snap.subscriptions;
    let m = inv
        .issued_at
        .iter()
        .copied()
        .chain(inv.paid_at.iter().filter_map(|t| t.get()))
        .chain(subs.ended_at.iter().filter_map(|t| t.get()))
        .chain(subs.canceled_at.iter().filter_map(|t| t.get()))
        .max();
    m
}

/// The ledger rows of some customers with the subscriptions and causes behind them (spec §2.6 ledger
/// detail), in the order the customers are given.
pub fn explain(snap: &Snapshot, settings: &Settings, as_of: Option<Ts>, customers: &[u32]) -> Result<Vec<timeline::ExplainedChange>, EngineError> {
    let as_of = as_of.or_else(|| data_as_of(snap)).unwrap_or(0);
    let ctx = Ctx::new(snap, settings, as_of).map_err(EngineError::Config)?;
    Ok(customers.iter().flat_map(|&c| timeline::explain_customer(&ctx, c)).collect())
}

fn data_start(snap: &Snapshot) -> Option<Ts> {
    let l = &snap.lines;
    (0..l.len()).filter(|&i| l.flags[i] & holdfast_core::snapshot::LINE_HAS_PERIOD != 0).map(|i| l.period_start[i]).min()
}

const CHUNK: usize = 2048;

/// Computes the ledger and the KPI tables.
pub fn run(snap: &Snapshot, settings: &Settings, spec: &RunSpec) -> Result<Run, EngineError> {
    let cfg = EngineError::Config;
    let as_of = spec.as_of.or_else(|| data_as_of(snap)).unwrap_or(0);
    let ctx = Ctx::new(snap, settings, as_of).map_err(cfg)?;
    let cal = Calendar::new(spec.grain, &settings.timezone).map_err(cfg)?;
    let first_service = data_start(snap);
    let from = spec.from.or(first_service).unwrap_or(as_of).min(as_of);
    let to = spec.to.unwrap_or(as_of).max(from);
    let periods = cal.periods(from, to + 1);
    let month_cal = Calendar::new(Grain::Month, &settings.timezone).map_err(cfg)?;
    // LTV needs the monthly churn of the 6 months before each period: for the month grain the main
    // aggregation simply starts 6 months earlier; other grains get a second, monthly aggregation.
    let months = month_cal.periods(month_start_minus(&month_cal, from, 6), to + 1);
    let seg_first = months.first().map(|m| m.start).unwrap_or(from).min(first_service.unwrap_or(from));
    let monthly_grain = spec.grain == Grain::Month;
    let mut names: Vec<Option<String>> = vec![None];
    let mut segs: Vec<Option<SegmentBy>> = vec![None];
    for by in &spec.segment_by {
        names.push(Some(by.name().to_string()));
        segs.push(Some(by.clone()));
    }
    let mut aggs: Vec<Aggregation> = Vec::new(); // per table: main, then (for non-month grains) monthly
    for by in &segs {
        let mk = |b: &SegmentBy| Segmenter::new(b.clone(), snap, settings.reporting_currency, seg_first, as_of).map_err(cfg);
        let seg = by.as_ref().map(mk).transpose()?;
        if monthly_grain {
            let skip = months.len() - periods.len();
            aggs.push(Aggregation { periods: months.clone(), skip, seg });
        } else {
            aggs.push(Aggregation { periods: periods.clone(), skip: 0, seg });
            let seg = by.as_ref().map(mk).transpose()?;
            aggs.push(Aggregation { periods: months.clone(), skip: months.len(), seg });
        }
    }
    let daily_on = settings.customer_churn_formula == settings::CustomerChurnFormula::DailySum;
    let first = periods.first().map(|p| p.start).unwrap_or(from);
    let first_day = first.div_euclid(holdfast_core::time::SECS_PER_DAY);
    let n_days = ((periods.last().map(|p| p.end).unwrap_or(first) - first).div_euclid(holdfast_core::time::SECS_PER_DAY) + 1).max(0) as usize;

    let n = snap.customers.len();
    let chunks: Vec<(usize, usize, usize)> = (0..n).step_by(CHUNK).enumerate().map(|(i, s)| (i, s, (s + CHUNK).min(n))).collect();
    struct Part {
        chunk: usize,
        ledger: Vec<Change>,
        customers: Vec<CustomerNow>,
    }
    struct Thread {
        sc: Scratch,
        accs: Vec<Vec<Acc>>,
        daily: Vec<Option<Daily>>,
        parts: Vec<Part>,
    }
    let new_thread = || Thread {
        sc: Scratch::default(),
        accs: aggs.iter().map(|a| vec![Acc::default(); a.periods.len() * a.groups()]).collect(),
        daily: aggs
            .iter()
            .map(|a| (daily_on && a.skip < a.periods.len()).then(|| Daily { first_day, days: n_days, a: vec![0; n_days * a.groups()], lost: vec![0; n_days * a.groups()] }))
            .collect(),
        parts: Vec::new(),
    };
    // Sums are integers, so merging per-thread accumulators in any order is exact and deterministic;
    // ledger parts are put back in customer order.
    let merged = chunks
        .par_iter()
        .fold(new_thread, |mut th, &(chunk, lo, hi)| {
            let mut part = Part { chunk, ledger: Vec::new(), customers: Vec::with_capacity(hi - lo) };
            for c in lo..hi {
                process_customer(&ctx, c as u32, &mut th.sc);
                part.ledger.extend_from_slice(&th.sc.changes);
                part.customers.push(CustomerNow {
                    status: th.sc.status.unwrap_or(CustomerStatus::Lead),
                    mrr: th.sc.changes.last().map(|x| x.mrr).unwrap_or(0),
                    plan: th.sc.extras.last().filter(|_| th.sc.changes.last().map(|x| x.active()).unwrap_or(false)).map(|e| e.plan).unwrap_or(holdfast_core::snapshot::NONE),
                });
                for (k, agg) in aggs.iter().enumerate() {
                    kpis::accumulate(agg, snap, settings, as_of, c as u32, &th.sc, &mut th.accs[k], th.daily[k].as_mut());
                }
            }
            part.ledger.shrink_to_fit(); // growth by doubling would otherwise leave up to half unused
            th.parts.push(part);
            th
        })
        .reduce(new_thread, |mut a, b| {
            for (x, y) in a.accs.iter_mut().zip(&b.accs) {
                for (p, q) in x.iter_mut().zip(y) {
                    p.add(q);
                }
            }
            for (x, y) in a.daily.iter_mut().zip(&b.daily) {
                if let (Some(t), Some(d)) = (x.as_mut(), y.as_ref()) {
                    for (p, q) in t.a.iter_mut().zip(&d.a) {
                        *p += q;
                    }
                    for (p, q) in t.lost.iter_mut().zip(&d.lost) {
                        *p += q;
                    }
                }
            }
            a.parts.extend(b.parts);
            a
        });
    let Thread { accs, daily, mut parts, .. } = merged;
    parts.sort_unstable_by_key(|p| p.chunk);
    let mut customers = Vec::with_capacity(n);
    let mut ledger = Ledger::default();
    for p in parts {
        customers.extend_from_slice(&p.customers);
        ledger.len += p.ledger.len();
        if !p.ledger.is_empty() {
            ledger.parts.push(p.ledger);
        }
    }
    let mut tables = Vec::new();
    let per_table = if monthly_grain { 1 } else { 2 };
    for (k, name) in names.iter().enumerate() {
        let main = k * per_table;
        let (magg, macc) = if monthly_grain { (&aggs[main], &accs[main]) } else { (&aggs[main + 1], &accs[main + 1]) };
        let monthly = kpis::monthly_churn(magg, macc);
        let mut results = Vec::new();
        kpis::derive(&aggs[main], &accs[main], &monthly, daily[main].as_ref(), settings, as_of, name.as_deref(), &mut results);
        tables.push(KpiTable { segment_by: name.clone(), results });
    }
    Ok(Run { as_of, settings_hash: settings.hash(), periods, ledger, tables, customers })
}

fn month_start_minus(cal: &Calendar, t: Ts, months: usize) -> Ts {
    let mut s = cal.floor(t);
    for _ in 0..months {
        s = cal.floor(s - 1);
    }
    s
}
