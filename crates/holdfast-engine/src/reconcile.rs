//! Reconciliation: Holdfast's per-customer month-end MRR against another system's (Stripe's "MRR per
//! subscriber per month" export), each difference with its reason.
//!
//! Reasons, tried in this order for every (account, month) whose amounts differ:
//! 1. **rounding** — within [`ROUNDING_TOLERANCE`] minor units (per-line versus per-subscription rounding);
//! 2. **policy** — changing one setting to the other system's value (the `stripe` preset's) makes Holdfast
//!    agree; every such setting is named. If no single setting does but all of them together do, the reason
//!    is `policy` with the list of differing settings;
//! 3. **missing data** — the customer is not in Holdfast's data at all, or Holdfast has no billing facts for
//!    it in that month (an invoice or subscription not imported), or the export lacks an account Holdfast bills;
//! 4. **unexplained** — none of the above; both amounts are shown.
//!
//! Accounts are compared after Holdfast's customer merges: export rows of records merged into one account
//! are summed into it (the row says which records it holds).
use crate::settings::Settings;
use crate::{run, EngineError, RunSpec};
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{Calendar, Grain, Ts};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Differences this small (in minor units) are rounding.
pub const ROUNDING_TOLERANCE: i64 = 2;

/// One row of the other system's export: a customer's MRR at the end of a month, in the reporting currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalMrr {
    pub customer: String,
    /// `YYYY-MM`.
    pub month: String,
    pub mrr: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Rounding,
    Policy,
    MissingData,
    Unexplained,
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Rounding => "rounding",
            Reason::Policy => "policy",
            Reason::MissingData => "missing_data",
            Reason::Unexplained => "unexplained",
        }
    }
}

/// One (account, month) where the two systems differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The account (Holdfast's surviving customer id, or the export's id when Holdfast does not know it).
    pub customer: String,
    pub month: String,
    pub external: i64,
    pub holdfast: i64,
    /// `holdfast − external`.
    pub difference: i64,
    pub reason: Reason,
    /// Settings whose other-system value removes the difference (`policy`).
    pub settings: Vec<String>,
    /// A sentence for people.
    pub detail: String,
}

/// Totals of one month.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MonthTotals {
    pub month: String,
    pub external: i64,
    pub holdfast: i64,
    /// Accounts compared (in either system that month).
    pub accounts: u64,
    pub matching: u64,
    /// `holdfast − external` summed per reason.
    pub by_reason: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub differences: Vec<Difference>,
    pub months: Vec<MonthTotals>,
    /// The settings the comparison ran with that differ from the other system's (candidates for `policy`).
    pub differing_settings: Vec<String>,
}

/// A setting that can change a customer's MRR, with how to copy the other system's value into ours.
struct Knob {
    key: &'static str,
    copy: fn(&mut Settings, &Settings),
    differs: fn(&Settings, &Settings) -> bool,
}

macro_rules! knobs {
    ($($f:ident),* $(,)?) => {
        [$(Knob { key: stringify!($f), copy: |a, b| a.$f = b.$f.clone(), differs: |a, b| a.$f != b.$f }),*]
    };
}

fn knobs() -> [Knob; 14] {
    knobs!(
        mrr_source,
        discount_policy,
        credits_reduce_mrr,
        include_metered,
        churn_recognition,
        new_customer_on,
        existing_mrr_update_on,
        refund_policy,
        uncollectible_policy,
        delinquency_churn_days,
        unpaid_is_churn,
        zero_mrr_policy,
        pause_policy,
        merge_customers_on,
    )
}

/// Month-end MRR per surviving account for the given months (`(label, end)` sorted by end).
fn month_end_mrr(snap: &Snapshot, s: &Settings, as_of: Ts, months: &[(String, Ts)]) -> Result<BTreeMap<(u32, usize), i64>, EngineError> {
    let spec = RunSpec { as_of: Some(as_of), ..RunSpec::default() };
    let r = run(snap, s, &spec)?;
    let mut out = BTreeMap::new();
    let rows: Vec<_> = r.ledger.iter().collect();
    let mut i = 0;
    while i < rows.len() {
        let c = rows[i].customer;
        let mut j = i;
        while j < rows.len() && rows[j].customer == c {
            j += 1;
        }
        // rows[i..j] are this customer's, in time order.
        let mut k = i;
        let mut mrr = 0;
        for (m, (_, end)) in months.iter().enumerate() {
            while k < j && rows[k].t < *end {
                mrr = rows[k].mrr;
                k += 1;
            }
            if mrr != 0 {
                out.insert((c, m), mrr);
            }
        }
        i = j;
    }
    Ok(out)
}

/// Compares Holdfast (with `settings`, known at `as_of`) to `export`. `other` is the other system's settings
/// (`Settings::preset(Preset::Stripe)` for Stripe).
pub fn reconcile(snap: &Snapshot, settings: &Settings, other: &Settings, as_of: Ts, export: &[ExternalMrr]) -> Result<Reconciliation, EngineError> {
    let cal = Calendar::new(Grain::Month, &settings.timezone).map_err(EngineError::Config)?;
    // Months of the export, up to as_of.
    let mut labels = BTreeSet::new();
    for e in export {
        labels.insert(e.month.clone());
    }
    let mut months: Vec<(String, Ts)> = Vec::new();
    for l in &labels {
        let p = cal.parse_label(l).map_err(|e| EngineError::Config(format!("export month: {e}")))?;
        if p.start <= as_of {
            months.push((p.label, p.end.min(as_of + 1)));
        }
    }
    months.sort_by_key(|m| m.1);
    let month_ix: BTreeMap<&str, usize> = months.iter().enumerate().map(|(i, m)| (m.0.as_str(), i)).collect();

    let canonical = crate::merge::canonical_customers(snap, settings).map_err(EngineError::Config)?;
    let ids = &snap.customers.ids;
    // The export by (account, month); unknown customers keyed by name.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Acct {
        Known(u32),
        Unknown(usize),
    }
    let mut unknown_names: Vec<String> = Vec::new();
    let mut unknown_ix: BTreeMap<String, usize> = BTreeMap::new();
    let mut ext: BTreeMap<(Acct, usize), i64> = BTreeMap::new();
    let mut members: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for e in export {
        let Some(&m) = month_ix.get(e.month.as_str()) else { continue };
        let acct = match ids.get(&e.customer) {
            Some(c) => {
                let k = canonical[c as usize];
                members.entry(k).or_default().insert(e.customer.clone());
                Acct::Known(k)
            }
            None => {
                let n = unknown_names.len();
                let i = *unknown_ix.entry(e.customer.clone()).or_insert_with(|| {
                    unknown_names.push(e.customer.clone());
                    n
                });
                Acct::Unknown(i)
            }
        };
        *ext.entry((acct, m)).or_default() += e.mrr;
    }

    let ours = month_end_mrr(snap, settings, as_of, &months)?;
    let knobs = knobs();
    let differing: Vec<&Knob> = knobs.iter().filter(|k| (k.differs)(settings, other)).collect();
    let mut variants: Vec<(String, BTreeMap<(u32, usize), i64>)> = Vec::new();
    for k in &differing {
        let mut s = settings.clone();
        (k.copy)(&mut s, other);
        variants.push((k.key.to_string(), month_end_mrr(snap, &s, as_of, &months)?));
    }
    let all_other = if differing.len() > 1 {
        let mut s = settings.clone();
        for k in &differing {
            (k.copy)(&mut s, other);
        }
        Some(month_end_mrr(snap, &s, as_of, &months)?)
    } else {
        None
    };

    let mut keys: BTreeSet<(Acct, usize)> = ext.keys().copied().collect();
    keys.extend(ours.keys().map(|&(c, m)| (Acct::Known(c), m)));
    let mut totals: Vec<MonthTotals> = months.iter().map(|(l, _)| MonthTotals { month: l.clone(), ..Default::default() }).collect();
    let mut differences = Vec::new();
    let close = |a: i64, b: i64| (a - b).abs() <= ROUNDING_TOLERANCE;
    for (acct, m) in keys {
        let x = ext.get(&(acct, m)).copied().unwrap_or(0);
        let (h, name, c) = match acct {
            Acct::Known(c) => (ours.get(&(c, m)).copied().unwrap_or(0), ids.name(c).to_string(), Some(c)),
            Acct::Unknown(i) => (0, unknown_names[i].clone(), None),
        };
        let t = &mut totals[m];
        t.external += x;
        t.holdfast += h;
        t.accounts += 1;
        if h == x {
            t.matching += 1;
            continue;
        }
        let merged = c.and_then(|c| members.get(&c)).filter(|s| s.len() > 1 || s.iter().any(|x| *x != name));
        let merged_note = merged.map(|s| format!(" (the export's {} merged into this account)", s.iter().cloned().collect::<Vec<_>>().join(", "))).unwrap_or_default();
        let (reason, settings_named, detail) = if close(h, x) {
            (Reason::Rounding, vec![], format!("within {ROUNDING_TOLERANCE} minor units: per-line versus per-subscription rounding"))
        } else if c.is_none() {
            (Reason::MissingData, vec![], "customer not in Holdfast's data: import it (or its invoices and subscriptions)".to_string())
        } else {
            let c = c.unwrap();
            let named: Vec<String> = variants.iter().filter(|(_, v)| close(v.get(&(c, m)).copied().unwrap_or(0), x)).map(|(k, _)| k.clone()).collect();
            if !named.is_empty() {
                let how = named.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" or ");
                (Reason::Policy, named, format!("policy difference: setting {how} to the other system's value removes it"))
            } else if all_other.as_ref().is_some_and(|v| close(v.get(&(c, m)).copied().unwrap_or(0), x)) {
                let keys: Vec<String> = differing.iter().map(|k| k.key.to_string()).collect();
                let d = format!("policy difference: several settings together ({}) remove it", keys.join(", "));
                (Reason::Policy, keys, d)
            } else if h == 0 {
                (Reason::MissingData, vec![], "Holdfast has no recurring revenue for this account this month: an invoice or subscription may be missing".to_string())
            } else if x == 0 {
                (Reason::MissingData, vec![], "the export has no MRR for an account Holdfast bills this month (not in the export, or counted there under another customer)".to_string())
            } else {
                (Reason::Unexplained, vec![], "no setting or missing record explains it: inspect with `holdfast movements --customer … --explain`".to_string())
            }
        };
        *t.by_reason.entry(reason.as_str().to_string()).or_default() += h - x;
        differences.push(Difference { customer: name, month: months[m].0.clone(), external: x, holdfast: h, difference: h - x, reason, settings: settings_named, detail: detail + &merged_note });
    }
    differences.sort_by(|a, b| (&a.month, &a.customer).cmp(&(&b.month, &b.customer)));
    Ok(Reconciliation { differences, months: totals, differing_settings: differing.iter().map(|k| k.key.to_string()).collect() })
}
