//! What the signal KPIs need from billing, taken once from the engine's [`Run`] and the [`Snapshot`]:
//! per customer its sign-up, first `new_business`, ledger rows (churns with their MRR, active spells) and
//! segment; per period the engine's `new_customers`, `asp`, `ltv` and `customers`. Plus the settings.
use crate::columns::Signals;
use crate::settings::SignalSettings;
use holdfast_core::fx::FxTable;
use holdfast_core::money::Currency;
use holdfast_core::snapshot::{OptTs, Snapshot, NONE};
use holdfast_core::time::Period;
use holdfast_core::Ts;
use holdfast_engine::result::{KpiResult, Value};
use holdfast_engine::timeline::Kind;
use holdfast_engine::{Run, SegmentBy};

/// A ledger row reduced to what signals use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub t: Ts,
    pub kind: Kind,
    /// Signed amount in reporting-currency minor units (churn negative).
    pub amount: i64,
    /// Active after the row.
    pub active: bool,
}

/// Billing facts by engine customer id (the snapshot's dense ids).
pub struct Billing {
    pub as_of: Ts,
    pub periods: Vec<Period>,
    pub reporting: Currency,
    pub gross_margin: f64,
    pub fx: FxTable,
    pub customer_ids: holdfast_core::snapshot::Interner,
    pub created_at: Vec<OptTs>,
    pub first_new_business: Vec<OptTs>,
    /// The customer's first billing trial `(trial_start, trial_end)`, from its subscriptions.
    pub first_trial: Vec<Option<(Ts, Ts)>>,
    /// Ledger rows of customer `c` are `moves[offsets[c]..offsets[c + 1]]`, in time order.
    pub offsets: Vec<u32>,
    pub moves: Vec<Move>,
    /// `Some((dimension, labels, segment per customer))`; segments are each customer's value at `as_of`.
    pub segments: Option<(String, Vec<String>, Vec<u32>)>,
    /// Engine KPIs of the total, per period (same order as `periods`).
    pub new_customers: Vec<i64>,
    pub customers_end: Vec<i64>,
    pub asp: Vec<Option<Value>>,
    pub ltv: Vec<Option<Value>>,
}

impl Billing {
    /// Takes what signals need from an engine run. `segment_by` must be one the engine can resolve
    /// (`plan` or a customer attribute); the segment is the customer's value at `as_of`.
    pub fn from_run(snap: &Snapshot, run: &Run, reporting: Currency, gross_margin: f64, segment_by: Option<&str>) -> Result<Billing, String> {
        let n = snap.customers.len();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut moves = Vec::with_capacity(run.ledger.len());
        let mut first_new_business = vec![OptTs::NONE; n];
        let mut rows = run.ledger.iter().peekable();
        for c in 0..n as u32 {
            offsets.push(moves.len() as u32);
            while let Some(x) = rows.peek() {
                if x.customer != c {
                    break;
                }
                if x.kind == Kind::NewBusiness && first_new_business[c as usize].get().is_none() {
                    first_new_business[c as usize] = OptTs::new(Some(x.t));
                }
                moves.push(Move { t: x.t, kind: x.kind, amount: x.amount, active: x.active() });
                rows.next();
            }
        }
        offsets.push(moves.len() as u32);
        let subs = &snap.subscriptions;
        let mut first_trial: Vec<Option<(Ts, Ts)>> = vec![None; n];
        for i in 0..subs.len() {
            if let (Some(a), Some(b)) = (subs.trial_start[i].get(), subs.trial_end[i].get()) {
                let slot = &mut first_trial[subs.customer[i] as usize];
                if slot.map(|x| a < x.0).unwrap_or(true) {
                    *slot = Some((a, b));
                }
            }
        }
        let total = &run.tables[0];
        let per = |kpi: &str| run.periods.iter().map(|p| total.get(kpi, &p.label, None).and_then(|r| r.value)).collect::<Vec<_>>();
        let count = |v: Vec<Option<Value>>| v.into_iter().map(|x| x.map(|v| v.as_f64() as i64).unwrap_or(0)).collect::<Vec<_>>();
        let segments = match segment_by {
            None => None,
            Some(dim) => Some(segment_of(snap, run, dim)?),
        };
        Ok(Billing {
            as_of: run.as_of,
            periods: run.periods.clone(),
            reporting,
            gross_margin,
            fx: FxTable::build(reporting, &snap.fx_rates),
            customer_ids: snap.customers.ids.clone(),
            created_at: snap.customers.created_at.clone(),
            first_new_business,
            first_trial,
            offsets,
            moves,
            segments,
            new_customers: count(per("new_customers")),
            customers_end: count(per("customers")),
            asp: per("asp"),
            ltv: per("ltv"),
        })
    }

    pub fn moves_of(&self, c: u32) -> &[Move] {
        if c == NONE || c as usize + 1 >= self.offsets.len() {
            return &[];
        }
        &self.moves[self.offsets[c as usize] as usize..self.offsets[c as usize + 1] as usize]
    }

    /// Whether customer `c` is active (or past due) just before instant `t`.
    pub fn active_before(&self, c: u32, t: Ts) -> bool {
        let m = self.moves_of(c);
        let i = m.partition_point(|x| x.t < t);
        i > 0 && m[i - 1].active
    }

    /// Customers active just before `t` (the engine's stock convention).
    pub fn customers_before(&self, t: Ts) -> i64 {
        (0..self.created_at.len() as u32).filter(|&c| self.active_before(c, t)).count() as i64
    }

    /// Sign-up instant: the customer's `created_at`, else its first `new_business`.
    pub fn signed_up_at(&self, c: u32) -> Option<Ts> {
        if c == NONE {
            return None;
        }
        self.created_at.get(c as usize).and_then(|t| t.get()).or_else(|| self.first_new_business.get(c as usize).and_then(|t| t.get()))
    }

    /// Number of result groups: the total plus one per segment.
    pub fn groups(&self) -> usize {
        1 + self.segments.as_ref().map(|s| s.1.len()).unwrap_or(0)
    }

    /// The segment group of a customer (`None` without segmentation or for unknown customers).
    pub fn group_of(&self, c: u32) -> Option<usize> {
        let (_, _, seg) = self.segments.as_ref()?;
        (c != NONE).then(|| seg.get(c as usize).map(|s| *s as usize + 1)).flatten()
    }

    /// The `segment` field of results of group `g` (`None` = total).
    pub fn segment_label(&self, g: usize) -> Option<String> {
        if g == 0 {
            return None;
        }
        let (dim, labels, _) = self.segments.as_ref()?;
        Some(format!("{dim}={}", labels[g - 1]))
    }
}

fn segment_of(snap: &Snapshot, run: &Run, dim: &str) -> Result<(String, Vec<String>, Vec<u32>), String> {
    let n = snap.customers.len();
    match SegmentBy::parse(dim) {
        SegmentBy::Plan => {
            let mut labels: Vec<String> = (0..snap.plans.ids.len()).map(|i| snap.plans.name[i].as_deref().unwrap_or(snap.plans.ids.name(i as u32)).to_string()).collect();
            // plans of the same name are one segment
            let mut uniq: Vec<String> = labels.clone();
            uniq.sort();
            uniq.dedup();
            let plan_seg: Vec<u32> = labels.iter().map(|l| uniq.binary_search(l).unwrap_or(0) as u32).collect();
            labels = uniq;
            labels.push("(none)".into());
            let none = (labels.len() - 1) as u32;
            let seg = (0..n).map(|c| run.customers.get(c).map(|x| x.plan).filter(|p| *p != NONE).map(|p| plan_seg[p as usize]).unwrap_or(none)).collect();
            Ok(("plan".into(), labels, seg))
        }
        SegmentBy::Attribute(a) => {
            let key = snap.customers.attr_keys.get(&a).ok_or_else(|| format!("cannot segment signals by {a:?}: no customer has that attribute (use plan or a customer attribute)"))?;
            let mut labels: Vec<String> = (0..snap.customers.attr_values.len()).map(|i| snap.customers.attr_values.name(i as u32).to_string()).collect();
            labels.push("(none)".into());
            let none = (labels.len() - 1) as u32;
            let seg = (0..n as u32).map(|c| snap.customers.attr_at(c, key, run.as_of).unwrap_or(none)).collect();
            Ok((a, labels, seg))
        }
        other => Err(format!("signal KPIs segment by plan or a customer attribute, not {:?}", other.name())),
    }
}

/// Everything a KPI function reads.
pub struct Ctx<'a> {
    pub sig: &'a Signals,
    pub bill: &'a Billing,
    pub cfg: &'a SignalSettings,
    /// Signal customer id → engine customer id ([`NONE`] when billing does not know it).
    pub map: Vec<u32>,
}

impl<'a> Ctx<'a> {
    pub fn new(sig: &'a Signals, bill: &'a Billing, cfg: &'a SignalSettings) -> Ctx<'a> {
        let map = (0..sig.customers.len() as u32).map(|i| bill.customer_ids.get(sig.customers.name(i)).unwrap_or(NONE)).collect();
        Ctx { sig, bill, cfg, map }
    }

    /// Engine id of a signal customer id.
    pub fn billing_id(&self, sig_customer: u32) -> u32 {
        if sig_customer == NONE {
            NONE
        } else {
            self.map[sig_customer as usize]
        }
    }

    /// Groups (total and segment) a signal customer's rows count in.
    pub fn groups_of(&self, sig_customer: u32) -> impl Iterator<Item = usize> {
        std::iter::once(0).chain(self.bill.group_of(self.billing_id(sig_customer)))
    }

    /// The index of the period holding `t`, if any.
    pub fn period_of(&self, t: Ts) -> Option<usize> {
        let p = &self.bill.periods;
        let i = p.partition_point(|x| x.start <= t);
        (i > 0 && t < p[i - 1].end).then(|| i - 1)
    }

    /// A result of period `p` and group `g` (one argument per field of [`KpiResult`]).
    #[allow(clippy::too_many_arguments)]
    pub fn result(&self, kpi: &'static str, p: usize, g: usize, value: Option<Value>, num: Option<Value>, den: Option<Value>, n: u64, flags: Vec<&'static str>) -> KpiResult {
        let per = &self.bill.periods[p];
        KpiResult { kpi, period: per.label.clone(), period_start: per.start, period_end: per.end, segment: self.bill.segment_label(g), value, numerator: num, denominator: den, n, flags }
    }
}

/// Linear-interpolated quantile (numpy's default, R type 7) of sorted values; `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Median, mean and p90 results of a distribution (`kpi`, `kpi_mean`, `kpi_p90`), values already in the
/// reported unit. An empty distribution gives `null` with `empty_denominator`.
pub fn distribution(ctx: &Ctx, names: [&'static str; 3], p: usize, g: usize, values: &mut [f64], extra_flags: &[&'static str], out: &mut Vec<KpiResult>) {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len() as u64;
    let mut flags: Vec<&'static str> = extra_flags.to_vec();
    if n == 0 {
        flags.push(holdfast_engine::result::FLAG_EMPTY_DENOMINATOR);
    }
    let sum: f64 = values.iter().sum();
    let cnt = Some(Value::Count(n as i64));
    out.push(ctx.result(names[0], p, g, quantile(values, 0.5).map(Value::Number), None, cnt, n, flags.clone()));
    out.push(ctx.result(names[1], p, g, (n > 0).then(|| Value::Number(sum / n as f64)), Some(Value::Number(sum)), cnt, n, flags.clone()));
    out.push(ctx.result(names[2], p, g, quantile(values, 0.9).map(Value::Number), None, cnt, n, flags));
}

/// A ratio result with the engine's null-on-empty rule.
pub fn ratio_result(ctx: &Ctx, kpi: &'static str, p: usize, g: usize, num: i64, den: i64, mut flags: Vec<&'static str>) -> KpiResult {
    let (v, f) = holdfast_engine::result::ratio(Value::Count(num), Value::Count(den));
    flags.extend(f);
    ctx.result(kpi, p, g, v, Some(Value::Count(num)), Some(Value::Count(den)), den.max(0) as u64, flags)
}
