//! What the usage KPIs need from billing, per billing customer: when it was paying, its seats, its segment
//! at any instant, its anchor for time-to-value and when it churned. Built from the engine's own customer
//! timelines ([`holdfast_engine::timeline::process_customer`]) and segmentation ([`Segmenter`]), so usage
//! and revenue reports agree on who is paying and in which segment.
use holdfast_core::snapshot::{Snapshot, NONE};
use holdfast_core::time::Ts;
use holdfast_engine::segment::{month_index, SegmentBy, Segmenter};
use holdfast_engine::settings::{SegmentHistory, Settings};
use holdfast_engine::timeline::{process_customer, ChangeExtra, Ctx, Kind, Scratch};

/// One change of a customer's billing state.
#[derive(Clone, Copy, Debug)]
pub struct BillPoint {
    pub t: Ts,
    pub mrr: i64,
    pub active: bool,
    pub extra: ChangeExtra,
}

/// Billing facts of every customer in a snapshot (dense ids = snapshot customer ids).
pub struct BillingAccounts<'a> {
    snap: &'a Snapshot,
    off: Vec<u32>,
    points: Vec<BillPoint>,
    /// Month index of the first new business (cohort segmentation).
    cohort: Vec<Option<i64>>,
    current_only: bool,
}

impl<'a> BillingAccounts<'a> {
    /// Runs the engine's timeline of every customer as of `as_of`.
    pub fn build(snap: &'a Snapshot, settings: &Settings, as_of: Ts) -> Result<BillingAccounts<'a>, String> {
        let ctx = Ctx::new(snap, settings, as_of)?;
        let n = snap.customers.len();
        let mut sc = Scratch::default();
        let mut off = Vec::with_capacity(n + 1);
        off.push(0u32);
        let mut points = Vec::new();
        let mut cohort = Vec::with_capacity(n);
        for c in 0..n as u32 {
            process_customer(&ctx, c, &mut sc);
            for (x, e) in sc.changes.iter().zip(&sc.extras) {
                points.push(BillPoint { t: x.t, mrr: x.mrr, active: x.active(), extra: *e });
            }
            cohort.push(sc.changes.iter().find(|x| x.kind == Kind::NewBusiness).map(|x| month_index(x.t)));
            off.push(points.len() as u32);
        }
        Ok(BillingAccounts { snap, off, points, cohort, current_only: settings.segment_history == SegmentHistory::Current })
    }

    pub fn len(&self) -> usize {
        self.off.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn points(&self, c: u32) -> &[BillPoint] {
        &self.points[self.off[c as usize] as usize..self.off[c as usize + 1] as usize]
    }
    /// The state in force at `t` (the last change at or before it).
    pub fn at(&self, c: u32, t: Ts) -> Option<&BillPoint> {
        let p = self.points(c);
        let k = p.partition_point(|x| x.t <= t);
        k.checked_sub(1).map(|i| &p[i])
    }
    /// Active (paying) at some instant of `[start, end)`.
    pub fn paying_during(&self, c: u32, start: Ts, end: Ts) -> bool {
        self.at(c, start).is_some_and(|x| x.active) || self.points(c).iter().any(|x| x.t >= start && x.t < end && x.active)
    }
    /// Licensed seats at `t` (0 when not active).
    pub fn seats_at(&self, c: u32, t: Ts) -> i64 {
        self.at(c, t).filter(|x| x.active).map(|x| x.extra.seats).unwrap_or(0)
    }
    /// First active instant.
    pub fn first_paid(&self, c: u32) -> Option<Ts> {
        self.points(c).iter().find(|x| x.active).map(|x| x.t)
    }
    /// `created_at`, else the first billing change.
    pub fn created(&self, c: u32) -> Option<Ts> {
        self.snap.customers.created_at[c as usize].get().or_else(|| self.points(c).first().map(|x| x.t))
    }
    /// When the customer last stopped being active, if it is not active at the end.
    pub fn churned_at(&self, c: u32) -> Option<Ts> {
        let p = self.points(c);
        match p.last() {
            Some(x) if !x.active && p.iter().any(|y| y.active) => Some(x.t),
            _ => None,
        }
    }
    /// The engine's segmenter for `by` (segments labelled as in revenue reports); `first` is the earliest
    /// instant reported (cohort labels start there).
    pub fn segmenter(&self, by: &SegmentBy, settings: &Settings, first: Ts, as_of: Ts) -> Result<Segmenter, String> {
        Segmenter::new(by.clone(), self.snap, settings.reporting_currency, first, as_of)
    }
    /// Customer `c`'s segment at `t` under `seg` (the engine's rules: plan, interval, currency and band of
    /// the state in force, attribute version valid at `t`, cohort of first new business); `NONE` customers
    /// are in the "(none)" segment.
    pub fn segment_at(&self, seg: &Segmenter, c: u32, t: Ts) -> u32 {
        if c == NONE {
            return seg.none();
        }
        let (extra, mrr) = self.at(c, t).map(|x| (x.extra, x.mrr)).unwrap_or_default();
        let attr = seg.attr_key().and_then(|k| {
            let v = self.snap.customers.attr_versions(c, k);
            if self.current_only {
                return v.last().map(|x| x.value);
            }
            let i = v.partition_point(|x| x.valid_from <= t);
            if i == 0 {
                v.first().map(|x| x.value)
            } else {
                Some(v[i - 1].value)
            }
        });
        seg.of(&extra, mrr, attr, self.cohort[c as usize])
    }

    /// The billing customer each usage account stands for: the `group` traits' billing id if one was sent,
    /// else the account id itself; `NONE` when the snapshot has no such customer.
    pub fn link_accounts(&self, r: &crate::rollup::Rollup) -> Vec<u32> {
        let mut out: Vec<u32> = (0..r.accounts.len() as u32).map(|a| self.snap.customers.ids.get(r.accounts.name(a)).unwrap_or(NONE)).collect();
        for (a, b) in &r.links {
            out[*a as usize] = self.snap.customers.ids.get(b).unwrap_or(NONE);
        }
        out
    }
}
