//! Support KPIs (spec §7): response and resolution times, first-contact resolution, onboarding tickets,
//! lifetime complaints. Spam and merged tickets are excluded everywhere; instants after `as_of` are not yet
//! known (a reply after `as_of` leaves the ticket unanswered).
use crate::context::{distribution, ratio_result, Ctx};
use holdfast_core::snapshot::NONE;
use holdfast_engine::result::{KpiResult, Value, FLAG_EMPTY_DENOMINATOR, FLAG_INCOMPLETE};

const HOUR: f64 = 3600.0;
/// Average month length in seconds (365.25 / 12 days), for tenure in months.
const MONTH: f64 = 30.4375 * 86_400.0;

fn grid<T: Clone>(ctx: &Ctx, v: T) -> Vec<Vec<T>> {
    vec![vec![v; ctx.bill.groups()]; ctx.bill.periods.len()]
}

/// `first_response_time` (median hours; `_mean`, `_p90`) of tickets created in the period, and
/// `unanswered_count` (tickets without a public reply by `as_of`, excluded from the times:
/// `frt_censoring = exclude`).
pub fn first_response_time(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let t = &ctx.sig.tickets;
    let mut times: Vec<Vec<Vec<f64>>> = grid(ctx, Vec::new());
    let mut unanswered = grid(ctx, 0i64);
    for i in 0..t.created_at.len() {
        if t.excluded[i] || t.created_at[i] > ctx.bill.as_of {
            continue;
        }
        let Some(p) = ctx.period_of(t.created_at[i]) else { continue };
        let reply = t.first_response_at[i].get().filter(|&r| r <= ctx.bill.as_of);
        for g in ctx.groups_of(t.customer[i]) {
            match reply {
                Some(r) => times[p][g].push((r - t.created_at[i]) as f64 / HOUR),
                None => unanswered[p][g] += 1,
            }
        }
    }
    for p in 0..times.len() {
        for g in 0..ctx.bill.groups() {
            let un = unanswered[p][g];
            let flags: &[&'static str] = if un > 0 { &["unanswered_excluded"] } else { &[] };
            distribution(ctx, ["first_response_time", "first_response_time_mean", "first_response_time_p90"], p, g, &mut times[p][g], flags, out);
            let total = un + times[p][g].len() as i64;
            out.push(ctx.result("unanswered_count", p, g, Some(Value::Count(un)), Some(Value::Count(un)), Some(Value::Count(total)), total as u64, vec![]));
        }
    }
}

/// `resolution_time` (median hours; `_mean`, `_p90`): `first_resolved_at − created_at` of tickets first
/// resolved in the period (`resolution_point = first`).
pub fn resolution_time(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let t = &ctx.sig.tickets;
    let mut times: Vec<Vec<Vec<f64>>> = grid(ctx, Vec::new());
    for i in 0..t.created_at.len() {
        let Some(r) = t.first_resolved_at[i].get().filter(|&r| r <= ctx.bill.as_of) else { continue };
        if t.excluded[i] {
            continue;
        }
        let Some(p) = ctx.period_of(r) else { continue };
        for g in ctx.groups_of(t.customer[i]) {
            times[p][g].push((r - t.created_at[i]) as f64 / HOUR);
        }
    }
    for (p, row) in times.iter_mut().enumerate() {
        for (g, v) in row.iter_mut().enumerate() {
            distribution(ctx, ["resolution_time", "resolution_time_mean", "resolution_time_p90"], p, g, v, &[], out);
        }
    }
}

/// `first_contact_resolution_rate`: tickets first resolved in the period with exactly one public agent
/// reply and never reopened ÷ tickets first resolved in the period with at least one reply.
pub fn first_contact_resolution_rate(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let t = &ctx.sig.tickets;
    let mut num = grid(ctx, 0i64);
    let mut den = grid(ctx, 0i64);
    for i in 0..t.created_at.len() {
        let Some(r) = t.first_resolved_at[i].get().filter(|&r| r <= ctx.bill.as_of) else { continue };
        if t.excluded[i] || t.replies[i] == 0 {
            continue;
        }
        let Some(p) = ctx.period_of(r) else { continue };
        for g in ctx.groups_of(t.customer[i]) {
            den[p][g] += 1;
            if t.replies[i] == 1 && t.reopens[i] == 0 {
                num[p][g] += 1;
            }
        }
    }
    for p in 0..num.len() {
        for g in 0..ctx.bill.groups() {
            out.push(ratio_result(ctx, "first_contact_resolution_rate", p, g, num[p][g], den[p][g], vec![]));
        }
    }
}

/// Ticket creation times per engine customer (sorted), optionally only complaints.
fn tickets_by_customer(ctx: &Ctx, complaints_only: bool) -> Vec<Vec<i64>> {
    let t = &ctx.sig.tickets;
    let s = &ctx.sig.surveys;
    let mut complaint = t.complaint_tagged.clone();
    // a linked CSAT of 2 or less makes the ticket a complaint
    for i in 0..s.score.len() {
        if s.survey[i] == crate::records::Survey::Csat && s.ticket[i] != NONE && s.score[i] <= 2 && s.responded_at[i] <= ctx.bill.as_of {
            complaint[s.ticket[i] as usize] = true;
        }
    }
    let mut by: Vec<Vec<i64>> = vec![Vec::new(); ctx.bill.created_at.len()];
    for i in 0..t.created_at.len() {
        let c = ctx.billing_id(t.customer[i]);
        if c == NONE || t.excluded[i] || t.created_at[i] > ctx.bill.as_of || (complaints_only && !complaint[i]) {
            continue;
        }
        by[c as usize].push(t.created_at[i]);
    }
    for v in &mut by {
        v.sort_unstable();
    }
    by
}

/// `onboarding_tickets_30d`: for customers whose first paid start (`onboarding_anchor = first_paid`) is in
/// the period, tickets created in `[anchor, anchor + 30 d)`: the cohort mean (this KPI), `_median` and
/// `_share` (share with at least one). Customers younger than the window at `as_of` are left out (flag
/// `incomplete`).
pub fn onboarding_tickets_30d(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let by = tickets_by_customer(ctx, false);
    let w = ctx.cfg.onboarding_window;
    let mut counts: Vec<Vec<Vec<f64>>> = grid(ctx, Vec::new());
    let mut young = grid(ctx, false);
    for (c, anchor) in ctx.bill.first_new_business.iter().enumerate() {
        let Some(a) = anchor.get() else { continue };
        let Some(p) = ctx.period_of(a) else { continue };
        let groups = std::iter::once(0).chain(ctx.bill.group_of(c as u32));
        if a + w > ctx.bill.as_of {
            groups.for_each(|g| young[p][g] = true);
            continue;
        }
        let ts = &by[c];
        let n = ts.partition_point(|&x| x < a + w) - ts.partition_point(|&x| x < a);
        for g in groups {
            counts[p][g].push(n as f64);
        }
    }
    for p in 0..counts.len() {
        for g in 0..ctx.bill.groups() {
            let v = &mut counts[p][g];
            v.sort_by(|a, b| a.total_cmp(b));
            let n = v.len() as i64;
            let total: f64 = v.iter().sum();
            let with = v.iter().filter(|&&x| x >= 1.0).count() as i64;
            let mut flags = vec![];
            if young[p][g] {
                flags.push(FLAG_INCOMPLETE);
            }
            if n == 0 {
                flags.push(FLAG_EMPTY_DENOMINATOR);
            }
            let den = Some(Value::Count(n));
            out.push(ctx.result("onboarding_tickets_30d", p, g, (n > 0).then(|| Value::Number(total / n as f64)), Some(Value::Count(total as i64)), den, n as u64, flags.clone()));
            out.push(ctx.result("onboarding_tickets_30d_median", p, g, crate::context::quantile(v, 0.5).map(Value::Number), None, den, n as u64, flags.clone()));
            flags.retain(|f| *f != FLAG_EMPTY_DENOMINATOR);
            out.push(ratio_result(ctx, "onboarding_tickets_30d_share", p, g, with, n, flags));
        }
    }
}

/// `lifetime_complaints`: complaints (type or tag `complaint`, or a linked CSAT ≤ 2) up to the period end per
/// customer active at the period end (the mean), and `lifetime_complaints_per_year`: the mean of each active
/// customer's `complaints × 12 / tenure_months` (tenure from the first paid start; under a month counts as 1).
pub fn lifetime_complaints(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let by = tickets_by_customer(ctx, true);
    let groups = ctx.bill.groups();
    for (p, per) in ctx.bill.periods.iter().enumerate() {
        let end = per.end.min(ctx.bill.as_of + 1);
        let mut total = vec![0i64; groups];
        let mut active = vec![0i64; groups];
        let mut yearly = vec![0f64; groups];
        for (c, ts) in by.iter().enumerate() {
            if !ctx.bill.active_before(c as u32, end) {
                continue;
            }
            let n = ts.partition_point(|&x| x < end) as i64;
            let start = ctx.bill.first_new_business[c].get().unwrap_or(end);
            let months = (((end - start) as f64) / MONTH).max(1.0);
            for g in std::iter::once(0).chain(ctx.bill.group_of(c as u32)) {
                total[g] += n;
                active[g] += 1;
                yearly[g] += n as f64 * 12.0 / months;
            }
        }
        for g in 0..groups {
            let mut r = ratio_result(ctx, "lifetime_complaints", p, g, total[g], active[g], vec![]);
            if let Some(Value::Ratio(v)) = r.value {
                r.value = Some(Value::Number(v));
            }
            out.push(r);
            let empty = active[g] == 0;
            out.push(ctx.result(
                "lifetime_complaints_per_year",
                p,
                g,
                (!empty).then(|| Value::Number(yearly[g] / active[g] as f64)),
                Some(Value::Number(yearly[g])),
                Some(Value::Count(active[g])),
                active[g] as u64,
                if empty { vec![FLAG_EMPTY_DENOMINATOR] } else { vec![] },
            ));
        }
    }
}

/// Every support KPI.
pub fn all(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    first_response_time(ctx, out);
    resolution_time(ctx, out);
    first_contact_resolution_rate(ctx, out);
    onboarding_tickets_30d(ctx, out);
    lifetime_complaints(ctx, out);
}
