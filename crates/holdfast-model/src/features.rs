//! Point-in-time features and churn labels from billing, for (customer, observation date) rows.
//!
//! **No leakage.** Features of a row observed at `t` come from the engine's timeline computed with
//! knowledge time `as_of = t` (invoices issued, payments and cancellations after `t` are invisible), and
//! every direct read of the snapshot here filters by the same knowledge rule (an invoice counts from its
//! issue, a payment from `paid_at`, a cancellation from `canceled_at`). A test builds the snapshot of
//! only what was known at `t` and checks the features are identical. Labels are the one place the future
//! is used: "churned within `horizon` after `t`" comes from the timeline with full knowledge
//! (`label_as_of`), and is `None` when `t + horizon` is after `label_as_of` (the outcome is not known yet).
//!
//! **Population.** A row exists for each customer active or past due at `t` (MRR > 0 under the engine's
//! policies, as known at `t`).
//!
//! **Families.** Features come in [`Family`]s: a name, its numeric and categorical column names, and one
//! function filling a row from [`At`] (the customer's timeline and records as known at `t`). Adding a
//! signal (usage, support, surveys) is one more `Family` whose function reads that signal's rollups.
use crate::data::{CategoricalColumn, Dataset, NumericColumn};
use holdfast_core::snapshot::{Snapshot, LINE_DISCOUNTED, LINE_RECURRING, NONE};
use holdfast_core::time::{Ts, SECS_PER_DAY};
use holdfast_core::records::InvoiceStatus;
use holdfast_engine::timeline::{process_customer, Change, ChangeExtra, CmrrAdjustment, Csr, Ctx, Kind, Scratch};
use holdfast_engine::{EngineError, Settings};
use rayon::prelude::*;

const DAY: i64 = SECS_PER_DAY;

/// One customer as known at the observation date `t`.
pub struct At<'a> {
    pub snap: &'a Snapshot,
    /// Engine context with `as_of = t`.
    pub ctx: &'a Ctx<'a>,
    pub customer: u32,
    pub t: Ts,
    /// The customer's ledger rows with effect at or before `t` (never empty: the customer is active).
    pub changes: &'a [Change],
    /// Plan, seats, interval and currency after each of `changes`.
    pub extras: &'a [ChangeExtra],
    /// CMRR adjustments known at `t`.
    pub cmrr: &'a [CmrrAdjustment],
    /// The customer's invoices (all of them: filter by `issued_at ≤ t`).
    pub invoices: &'a [u32],
}

impl At<'_> {
    /// Customer MRR (reporting-currency minor units) in force at instant `s ≤ t`.
    pub fn mrr_at(&self, s: Ts) -> i64 {
        let k = self.changes.partition_point(|c| c.t <= s);
        if k == 0 {
            0
        } else {
            self.changes[k - 1].mrr
        }
    }
    pub fn mrr(&self) -> i64 {
        self.changes.last().map(|c| c.mrr).unwrap_or(0)
    }
}

/// A group of features computed together.
#[derive(Clone, Copy)]
pub struct Family {
    pub name: &'static str,
    pub numeric: &'static [&'static str],
    pub categorical: &'static [&'static str],
    /// Fills `num` (one slot per numeric name; `NaN` = missing) and `cat` (one buffer per categorical
    /// name, cleared before the call; left empty = missing).
    pub compute: fn(&At, &mut [f64], &mut [String]),
}

/// Billing features (spec §9, issue 5): revenue level and trend, tenure, plan, billing interval and
/// currency, seats, payment trouble, discounts, contractions and pending cancellations.
pub const BILLING: Family = Family {
    name: "billing",
    numeric: &[
        "mrr",
        "tenure_days",
        "mrr_change_1m",
        "mrr_change_3m",
        "mrr_change_6m",
        "seats",
        "past_due_days",
        "discount_share_90d",
        "contractions_180d",
        "expansions_180d",
        "reactivations",
        "cmrr_ratio",
        "cancel_pending",
    ],
    categorical: &["plan", "interval", "currency"],
    compute: billing,
};

/// The families the churn model uses today.
pub fn default_families() -> Vec<Family> {
    vec![BILLING]
}

fn billing(a: &At, num: &mut [f64], cat: &mut [String]) {
    let snap = a.snap;
    let t = a.t;
    let mrr = a.mrr();
    let exp = a.ctx.s.reporting_currency.exponent() as i32;
    num[0] = mrr as f64 / 10f64.powi(exp);
    let start = a.changes.iter().find(|c| c.kind == Kind::NewBusiness).or(a.changes.first()).map(|c| c.t).unwrap_or(t);
    num[1] = ((t - start) / DAY) as f64;
    for (slot, days) in [(2, 30), (3, 91), (4, 182)] {
        let before = a.mrr_at(t - days * DAY);
        num[slot] = if before > 0 { (mrr - before) as f64 / before as f64 } else { f64::NAN };
    }
    let last = a.extras.last();
    num[5] = last.map(|e| e.seats as f64).unwrap_or(f64::NAN);
    // past due: the oldest issued, unpaid (as known at t) invoice past its due date
    let inv = &snap.invoices;
    let mut oldest_due: Option<Ts> = None;
    for &i in a.invoices {
        let i = i as usize;
        if inv.issued_at[i] > t || matches!(inv.status[i], InvoiceStatus::Void | InvoiceStatus::Draft) || inv.total[i] <= 0 {
            continue;
        }
        let paid = inv.paid_at[i].get().is_some_and(|p| p <= t);
        if let Some(due) = inv.due_at[i].get() {
            if !paid && due < t {
                oldest_due = Some(oldest_due.map_or(due, |o: Ts| o.min(due)));
            }
        }
    }
    num[6] = oldest_due.map(|d| ((t - d) / DAY) as f64).unwrap_or(0.0);
    // discount share of recurring list price on invoices issued in the last 90 days
    let lines = &snap.lines;
    let (mut gross, mut off) = (0i64, 0i64);
    for &sub in a.ctx.subs_by_customer.get(a.customer) {
        for &l in a.ctx.lines_by_sub.get(sub) {
            let l = l as usize;
            let issued = inv.issued_at[lines.invoice[l] as usize];
            if issued > t || issued <= t - 90 * DAY || lines.flags[l] & LINE_RECURRING == 0 {
                continue;
            }
            gross += lines.amount[l];
            if lines.flags[l] & LINE_DISCOUNTED != 0 {
                let k = lines.discounts.partition_point(|d| (d.0 as usize) < l);
                off += lines.discounts[k..].iter().take_while(|d| d.0 as usize == l).map(|d| d.2).sum::<i64>();
            }
        }
    }
    num[7] = if gross > 0 { off as f64 / gross as f64 } else { 0.0 };
    let recent = |kind: Kind| a.changes.iter().rev().take_while(|c| c.t > t - 180 * DAY).filter(|c| c.kind == kind).count() as f64;
    num[8] = recent(Kind::Contraction);
    num[9] = recent(Kind::Expansion);
    num[10] = a.changes.iter().filter(|c| c.kind == Kind::Reactivation).count() as f64;
    let delta: i64 = a.cmrr.iter().filter(|x| x.from <= t && t < x.to).map(|x| x.delta).sum();
    num[11] = if mrr > 0 { (mrr + delta) as f64 / mrr as f64 } else { f64::NAN };
    let subs = &snap.subscriptions;
    let pending = a.ctx.subs_by_customer.get(a.customer).iter().any(|&s| {
        let s = s as usize;
        subs.canceled_at[s].get().is_some_and(|c| c <= t) && subs.ended_at[s].get().is_none_or(|e| e > t)
    });
    num[12] = pending as u8 as f64;
    if let Some(e) = last {
        if e.plan != NONE {
            cat[0].push_str(snap.plans.ids.name(e.plan));
        }
        if let Some(i) = e.interval {
            cat[1].push_str(i.as_str());
        }
        if let Some(c) = e.currency {
            cat[2].push_str(c.code());
        }
    }
}

/// Rows of (customer, observation date) with features and labels.
pub struct Panel {
    pub data: Dataset,
    pub customer: Vec<u32>,
    pub date: Vec<Ts>,
    /// MRR at the observation date, reporting-currency minor units (exact, unlike the `mrr` feature).
    pub mrr: Vec<i64>,
    /// `Some(churned within the horizon)`, or `None` when the horizon is not yet over at `label_as_of`.
    pub label: Vec<Option<bool>>,
}

/// What to build.
#[derive(Clone, Debug)]
pub struct PanelSpec {
    /// Observation dates (any order; rows come out date by date in this order).
    pub dates: Vec<Ts>,
    /// Lead time: a row is labelled churned if the customer churns in `(t, t + horizon]`.
    pub horizon_days: i64,
    /// Knowledge time for the labels (normally the data's latest instant).
    pub label_as_of: Ts,
}

const CHUNK: usize = 2048;

struct Part {
    customer: Vec<u32>,
    mrr: Vec<i64>,
    numeric: Vec<f64>, // row-major within the part, then scattered into columns
    categorical: Vec<CategoricalColumn>,
}

/// Builds the panel: for each date, one row per customer active at that date as known then.
pub fn build_panel(snap: &Snapshot, settings: &Settings, spec: &PanelSpec, families: &[Family]) -> Result<Panel, EngineError> {
    let num_names: Vec<&str> = families.iter().flat_map(|f| f.numeric.iter().copied()).collect();
    let cat_names: Vec<&str> = families.iter().flat_map(|f| f.categorical.iter().copied()).collect();
    let n_num = num_names.len();
    let n = snap.customers.len();
    let chunks: Vec<(usize, usize)> = (0..n).step_by(CHUNK).map(|s| (s, (s + CHUNK).min(n))).collect();

    // churn instants per customer, with full knowledge
    let full = Ctx::new(snap, settings, spec.label_as_of).map_err(EngineError::Config)?;
    let churns: Vec<Vec<Ts>> = chunks
        .par_iter()
        .map_init(Scratch::default, |sc, &(lo, hi)| {
            (lo..hi)
                .map(|c| {
                    process_customer(&full, c as u32, sc);
                    sc.changes.iter().filter(|x| x.kind == Kind::Churn && x.t <= spec.label_as_of).map(|x| x.t).collect()
                })
                .collect::<Vec<Vec<Ts>>>()
        })
        .flatten()
        .collect();
    drop(full);

    let mut data = Dataset {
        n_rows: 0,
        numeric: num_names.iter().map(|s| NumericColumn { name: s.to_string(), values: Vec::new() }).collect(),
        categorical: cat_names.iter().map(|s| CategoricalColumn::new(*s)).collect(),
    };
    let mut customer = Vec::new();
    let mut date = Vec::new();
    let mut mrr = Vec::new();
    let mut label = Vec::new();
    for &t in &spec.dates {
        let ctx = Ctx::new(snap, settings, t).map_err(EngineError::Config)?;
        let by_customer = Csr::build(n, snap.invoices.customer.iter().map(|&c| ctx.canonical[c as usize]));
        let parts: Vec<Part> = chunks
            .par_iter()
            .map_init(
                || (Scratch::default(), vec![0.0; n_num], vec![String::new(); cat_names.len()]),
                |(sc, num, cat), &(lo, hi)| {
                    let mut part = Part { customer: Vec::new(), mrr: Vec::new(), numeric: Vec::new(), categorical: cat_names.iter().map(|s| CategoricalColumn::new(*s)).collect() };
                    for c in lo..hi {
                        process_customer(&ctx, c as u32, sc);
                        let k = sc.changes.partition_point(|x| x.t <= t);
                        if k == 0 || !sc.changes[k - 1].active() {
                            continue;
                        }
                        let at = At {
                            snap,
                            ctx: &ctx,
                            customer: c as u32,
                            t,
                            changes: &sc.changes[..k],
                            extras: &sc.extras[..k],
                            cmrr: &sc.cmrr,
                            invoices: by_customer.get(c as u32),
                        };
                        let (mut no, mut co) = (0, 0);
                        for f in families {
                            for s in cat[co..co + f.categorical.len()].iter_mut() {
                                s.clear();
                            }
                            (f.compute)(&at, &mut num[no..no + f.numeric.len()], &mut cat[co..co + f.categorical.len()]);
                            no += f.numeric.len();
                            co += f.categorical.len();
                        }
                        part.customer.push(c as u32);
                        part.mrr.push(at.mrr());
                        part.numeric.extend_from_slice(num);
                        for (col, v) in part.categorical.iter_mut().zip(cat.iter()) {
                            col.push((!v.is_empty()).then_some(v.as_str()));
                        }
                    }
                    part
                },
            )
            .collect();
        for p in parts {
            for (j, col) in data.numeric.iter_mut().enumerate() {
                col.values.extend(p.numeric.iter().skip(j).step_by(n_num.max(1)).copied());
            }
            for (g, local) in data.categorical.iter_mut().zip(&p.categorical) {
                let map: Vec<u32> = local
                    .levels
                    .iter()
                    .map(|l| match g.levels.iter().position(|x| x == l) {
                        Some(k) => k as u32,
                        None => {
                            g.levels.push(l.clone());
                            (g.levels.len() - 1) as u32
                        }
                    })
                    .collect();
                g.codes.extend(local.codes.iter().map(|&c| if c == crate::data::MISSING { c } else { map[c as usize] }));
            }
            for &c in &p.customer {
                let known = t + spec.horizon_days * DAY <= spec.label_as_of;
                label.push(known.then(|| churns[c as usize].iter().any(|&x| x > t && x <= t + spec.horizon_days * DAY)));
                date.push(t);
            }
            customer.extend_from_slice(&p.customer);
            mrr.extend_from_slice(&p.mrr);
        }
    }
    data.n_rows = customer.len();
    debug_assert!(data.validate().is_ok());
    Ok(Panel { data, customer, date, mrr, label })
}
