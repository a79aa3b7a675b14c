//! Referral KPIs (spec §4): `viral_coefficient` with its parts, `viral_cycle_time`, the amplification
//! factor, and the Skok/Reiss growth projection.
//!
//! An invitee counts once: when several invites reach the same invitee (or the same sign-up is reported
//! twice), the invitee's earliest sign-up is credited to the invite it came from (the latest invite before
//! that sign-up) and the others produce no sign-up.
use crate::context::{quantile, Ctx};
use holdfast_core::snapshot::NONE;
use holdfast_core::Ts;
use holdfast_engine::result::{KpiResult, Value, FLAG_EMPTY_DENOMINATOR, FLAG_INCOMPLETE};

const DAY: f64 = 86_400.0;

/// Customers after `t` cycles of `ct` starting from `c0` with viral coefficient `k`:
/// `C(t) = C0 (K^{t/ct+1} − 1)/(K − 1)`, and `C0 (t/ct + 1)` for `K = 1`.
pub fn growth_projection(c0: f64, k: f64, cycle_time: f64, t: f64) -> f64 {
    let cycles = t / cycle_time + 1.0;
    if (k - 1.0).abs() < 1e-12 {
        c0 * cycles
    } else {
        c0 * (k.powf(cycles) - 1.0) / (k - 1.0)
    }
}

/// For each referral row, whether it is the one credited with its invitee's sign-up.
pub fn credited(ctx: &Ctx) -> Vec<bool> {
    let r = &ctx.sig.referrals;
    let mut order: Vec<usize> = (0..r.invited_at.len()).filter(|&i| r.invitee[i] != NONE && r.signed_up_at[i].get().map(|t| t <= ctx.bill.as_of).unwrap_or(false)).collect();
    // per invitee: earliest sign-up, then the latest invite before it
    order.sort_unstable_by_key(|&i| (r.invitee[i], r.signed_up_at[i].get(), std::cmp::Reverse(r.invited_at[i]), i));
    let mut out = vec![false; r.invited_at.len()];
    let mut last = NONE;
    for i in order {
        if r.invitee[i] != last {
            out[i] = true;
            last = r.invitee[i];
        }
    }
    out
}

/// Per period: `viral_invites` (invites sent), `viral_invite_rate` (`i` = invites ÷ `k_base`, customers at
/// the period start), `viral_conversion_rate` (`c` = invites of the period whose invitee signed up within
/// `viral_window` ÷ invites), `viral_coefficient` (`K = i·c`), `viral_amplification` (`1/(1 − K)` for
/// `K < 1`) and `viral_cycle_time` (median days from the inviter's sign-up to the invitee's, over the
/// period's credited sign-ups; `vct_anchor = inviter_signup`) and `viral_growth_projection_12m` (customers
/// grown from the period's new customers `C0` after 365 days of cycles of `viral_cycle_time` at `K`).
pub fn all(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let r = &ctx.sig.referrals;
    let np = ctx.bill.periods.len();
    let credit = credited(ctx);
    let mut invites = vec![0i64; np];
    let mut signups = vec![0i64; np];
    let mut open = vec![false; np];
    let mut cycle: Vec<Vec<f64>> = vec![Vec::new(); np];
    for i in 0..r.invited_at.len() {
        let t = r.invited_at[i];
        if t > ctx.bill.as_of {
            continue;
        }
        if let Some(p) = ctx.period_of(t) {
            invites[p] += 1;
            if t + ctx.cfg.viral_window > ctx.bill.as_of {
                open[p] = true;
            }
            if credit[i] && r.signed_up_at[i].get().map(|s| s < t + ctx.cfg.viral_window).unwrap_or(false) {
                signups[p] += 1;
            }
        }
        if credit[i] {
            let s: Ts = r.signed_up_at[i].get().unwrap_or(t);
            if let (Some(p), Some(anchor)) = (ctx.period_of(s), ctx.bill.signed_up_at(ctx.billing_id(r.inviter_customer[i]))) {
                cycle[p].push((s - anchor) as f64 / DAY);
            }
        }
    }
    for p in 0..np {
        let base = ctx.bill.customers_before(ctx.bill.periods[p].start);
        let flags = if open[p] { vec![FLAG_INCOMPLETE] } else { vec![] };
        let with_empty = |empty: bool| {
            let mut f = flags.clone();
            if empty {
                f.push(FLAG_EMPTY_DENOMINATOR);
            }
            f
        };
        out.push(ctx.result("viral_invites", p, 0, Some(Value::Count(invites[p])), None, None, invites[p] as u64, flags.clone()));
        out.push(ctx.result("viral_invite_rate", p, 0, (base > 0).then(|| Value::Number(invites[p] as f64 / base as f64)), Some(Value::Count(invites[p])), Some(Value::Count(base)), base as u64, with_empty(base == 0)));
        out.push(ctx.result("viral_conversion_rate", p, 0, (invites[p] > 0).then(|| Value::Ratio(signups[p] as f64 / invites[p] as f64)), Some(Value::Count(signups[p])), Some(Value::Count(invites[p])), invites[p] as u64, with_empty(invites[p] == 0)));
        let k = (base > 0 && invites[p] > 0).then(|| signups[p] as f64 / base as f64);
        out.push(ctx.result("viral_coefficient", p, 0, k.map(Value::Number), Some(Value::Count(signups[p])), Some(Value::Count(base)), base as u64, with_empty(k.is_none())));
        let amp = k.filter(|k| *k < 1.0).map(|k| 1.0 / (1.0 - k));
        let mut af = with_empty(amp.is_none());
        if k.map(|k| k >= 1.0).unwrap_or(false) {
            af = vec!["k_at_least_1"];
        }
        out.push(ctx.result("viral_amplification", p, 0, amp.map(Value::Number), None, None, base as u64, af));
        let v = &mut cycle[p];
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len() as u64;
        let ct = quantile(v, 0.5);
        out.push(ctx.result("viral_cycle_time", p, 0, ct.map(Value::Number), None, Some(Value::Count(n as i64)), n, if n == 0 { vec![FLAG_EMPTY_DENOMINATOR] } else { vec![] }));
        // the period's new customers as the seed C0, one year of viral cycles
        let c0 = ctx.bill.new_customers[p];
        let projection = match (k, ct) {
            (Some(k), Some(ct)) if ct > 0.0 => Some(growth_projection(c0 as f64, k, ct, 365.0)),
            _ => None,
        };
        let pf = if projection.is_none() { with_empty(true) } else { flags.clone() };
        out.push(ctx.result("viral_growth_projection_12m", p, 0, projection.map(Value::Number), Some(Value::Count(c0)), None, c0 as u64, pf));
    }
}
