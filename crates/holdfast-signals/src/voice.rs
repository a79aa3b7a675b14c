//! Voice-of-the-customer KPIs (spec §6): NPS, CSAT, CES and cancellation reasons with lost MRR.
use crate::context::{ratio_result, Ctx};
use crate::records::{Reason, Survey};
use holdfast_core::snapshot::NONE;
use holdfast_engine::result::{KpiResult, Value, FLAG_EMPTY_DENOMINATOR};
use holdfast_engine::timeline::Kind;

pub const FLAG_LOW_N: &str = "low_n";

/// NPS group of a 0–10 score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NpsGroup {
    Detractor,
    Passive,
    Promoter,
}

impl NpsGroup {
    pub fn of(score: i32) -> NpsGroup {
        match score {
            9.. => NpsGroup::Promoter,
            7..=8 => NpsGroup::Passive,
            _ => NpsGroup::Detractor,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            NpsGroup::Detractor => "detractor",
            NpsGroup::Passive => "passive",
            NpsGroup::Promoter => "promoter",
        }
    }
}

/// NPS from counts: `(nps, margin of error)` in points, `None` when there are no responses.
/// Margin = `196·√((p_P + p_D − (p_P − p_D)²)/N)` (95 %).
pub fn nps_from_counts(promoters: i64, passives: i64, detractors: i64) -> Option<(f64, f64)> {
    let n = (promoters + passives + detractors) as f64;
    if n == 0.0 {
        return None;
    }
    let (pp, pd) = (promoters as f64 / n, detractors as f64 / n);
    let var = (pp + pd - (pp - pd).powi(2)).max(0.0);
    Some((100.0 * (pp - pd), 196.0 * (var / n).sqrt()))
}

/// `nps`, `nps_promoters`, `nps_passives`, `nps_detractors` (shares of respondents, summing to 1) and
/// `nps_margin_of_error`: responses in the period, the latest per respondent per period
/// (`nps_dedupe = latest_per_respondent_per_period`), weighted per respondent. Fewer than
/// `min_responses` flags `low_n`.
pub fn nps(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let s = &ctx.sig.surveys;
    let mut idx: Vec<(usize, u32, i64, usize)> = (0..s.score.len())
        .filter(|&i| s.survey[i] == Survey::Nps && s.responded_at[i] <= ctx.bill.as_of)
        .filter_map(|i| ctx.period_of(s.responded_at[i]).map(|p| (p, s.respondent[i], s.responded_at[i], i)))
        .collect();
    idx.sort_unstable();
    let groups = ctx.bill.groups();
    let mut counts = vec![vec![[0i64; 3]; groups]; ctx.bill.periods.len()];
    for k in 0..idx.len() {
        let (p, who, _, i) = idx[k];
        if k + 1 < idx.len() && idx[k + 1].0 == p && idx[k + 1].1 == who {
            continue; // a later response of the same respondent in the period replaces this one
        }
        let grp = NpsGroup::of(s.score[i]) as usize;
        for g in ctx.groups_of(s.customer[i]) {
            counts[p][g][grp] += 1;
        }
    }
    for (p, row) in counts.iter().enumerate() {
        for (g, &[d, pa, pr]) in row.iter().enumerate() {
            let n = d + pa + pr;
            let mut flags = vec![];
            if (n as u64) < ctx.cfg.min_responses {
                flags.push(FLAG_LOW_N);
            }
            let v = nps_from_counts(pr, pa, d);
            let mut f = flags.clone();
            if v.is_none() {
                f.push(FLAG_EMPTY_DENOMINATOR);
            }
            out.push(ctx.result("nps", p, g, v.map(|x| Value::Number(x.0)), Some(Value::Count(pr - d)), Some(Value::Count(n)), n as u64, f.clone()));
            for (kpi, c) in [("nps_promoters", pr), ("nps_passives", pa), ("nps_detractors", d)] {
                out.push(ratio_result(ctx, kpi, p, g, c, n, flags.clone()));
            }
            out.push(ctx.result("nps_margin_of_error", p, g, v.map(|x| Value::Number(x.1)), None, Some(Value::Count(n)), n as u64, f));
        }
    }
}

/// `csat` (top-2-box: share of scores ≥ `scale_max − 1`; on a binary scale the top box) and `csat_mean`
/// (mean score), over CSAT responses in the period; `ces` (CES 2.0, 1–7 agreement: mean) and `ces_agree`
/// (share of 5–7), and `ces_effort_5pt` (1–5 effort scale: mean, lower is better).
pub fn csat_ces(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let s = &ctx.sig.surveys;
    let groups = ctx.bill.groups();
    // per period × group: [csat n, csat top, csat sum, ces7 n, ces7 agree, ces7 sum, ces5 n, ces5 sum]
    let mut acc = vec![vec![[0i64; 8]; groups]; ctx.bill.periods.len()];
    for i in 0..s.score.len() {
        if s.responded_at[i] > ctx.bill.as_of {
            continue;
        }
        let Some(p) = ctx.period_of(s.responded_at[i]) else { continue };
        let (score, max, min) = (s.score[i] as i64, s.scale_max[i] as i64, s.scale_min[i] as i64);
        for g in ctx.groups_of(s.customer[i]) {
            let a = &mut acc[p][g];
            match s.survey[i] {
                Survey::Csat => {
                    let top = if max - min == 1 { score == max } else { score >= max - 1 };
                    a[0] += 1;
                    a[1] += top as i64;
                    a[2] += score;
                }
                Survey::Ces if max == 7 => {
                    a[3] += 1;
                    a[4] += (score >= 5) as i64;
                    a[5] += score;
                }
                Survey::Ces => {
                    a[6] += 1;
                    a[7] += score;
                }
                _ => {}
            }
        }
    }
    let low = |n: i64| if (n as u64) < ctx.cfg.min_responses { vec![FLAG_LOW_N] } else { vec![] };
    let mean = |kpi: &'static str, p: usize, g: usize, sum: i64, n: i64| {
        let mut f = low(n);
        if n == 0 {
            f.push(FLAG_EMPTY_DENOMINATOR);
        }
        ctx.result(kpi, p, g, (n > 0).then(|| Value::Number(sum as f64 / n as f64)), Some(Value::Count(sum)), Some(Value::Count(n)), n as u64, f)
    };
    for (p, row) in acc.iter().enumerate() {
        for (g, a) in row.iter().enumerate() {
            out.push(ratio_result(ctx, "csat", p, g, a[1], a[0], low(a[0])));
            out.push(mean("csat_mean", p, g, a[2], a[0]));
            out.push(mean("ces", p, g, a[5], a[3]));
            out.push(ratio_result(ctx, "ces_agree", p, g, a[4], a[3], low(a[3])));
            out.push(mean("ces_effort_5pt", p, g, a[7], a[6]));
        }
    }
}

/// The result names of each reason: `(reason, share kpi, lost-MRR kpi)`.
pub const REASON_KPIS: [(Reason, &str, &str); 12] = [
    (Reason::TooExpensive, "cancellation_share.too_expensive", "cancellation_lost_mrr.too_expensive"),
    (Reason::MissingFeatures, "cancellation_share.missing_features", "cancellation_lost_mrr.missing_features"),
    (Reason::SwitchedService, "cancellation_share.switched_service", "cancellation_lost_mrr.switched_service"),
    (Reason::Unused, "cancellation_share.unused", "cancellation_lost_mrr.unused"),
    (Reason::CustomerService, "cancellation_share.customer_service", "cancellation_lost_mrr.customer_service"),
    (Reason::TooComplex, "cancellation_share.too_complex", "cancellation_lost_mrr.too_complex"),
    (Reason::LowQuality, "cancellation_share.low_quality", "cancellation_lost_mrr.low_quality"),
    (Reason::Other, "cancellation_share.other", "cancellation_lost_mrr.other"),
    (Reason::InvoluntaryPaymentFailed, "cancellation_share.involuntary_payment_failed", "cancellation_lost_mrr.involuntary_payment_failed"),
    (Reason::PaymentDisputed, "cancellation_share.payment_disputed", "cancellation_lost_mrr.payment_disputed"),
    (Reason::BusinessClosed, "cancellation_share.business_closed", "cancellation_lost_mrr.business_closed"),
    (Reason::Temporary, "cancellation_share.temporary", "cancellation_lost_mrr.temporary"),
];

/// The reason of each churn: the customer's latest cancellation feedback at or before the churn and after
/// its previous churn. `None` when there is none.
pub fn churn_reasons(ctx: &Ctx) -> Vec<(u32, i64, i64, Option<Reason>)> {
    let c = &ctx.sig.cancellations;
    let mut by: Vec<Vec<(i64, Reason)>> = vec![Vec::new(); ctx.bill.created_at.len()];
    for i in 0..c.at.len() {
        let b = ctx.billing_id(c.customer[i]);
        if b != NONE && c.at[i] <= ctx.bill.as_of {
            by[b as usize].push((c.at[i], c.reason[i]));
        }
    }
    let mut out = Vec::new();
    for (cust, fb) in by.iter_mut().enumerate() {
        fb.sort_unstable();
        let mut prev_churn = i64::MIN;
        for m in ctx.bill.moves_of(cust as u32) {
            if m.kind != Kind::Churn {
                continue;
            }
            let k = fb.partition_point(|x| x.0 <= m.t);
            let reason = (k > 0 && fb[k - 1].0 > prev_churn).then(|| fb[k - 1].1);
            out.push((cust as u32, m.t, -m.amount, reason));
            prev_churn = m.t;
        }
    }
    out
}

/// `cancellation_share.<reason>` (churns with the reason ÷ churns with any reason: the shares sum to 1),
/// `cancellation_lost_mrr.<reason>` (churned MRR, reporting currency) and `reason_coverage` (churns with a
/// reason ÷ all churns), per period of the churn.
pub fn cancellation_reasons(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let groups = ctx.bill.groups();
    let np = ctx.bill.periods.len();
    let mut count = vec![vec![[0i64; 12]; groups]; np];
    let mut lost = vec![vec![[0i64; 12]; groups]; np];
    let mut churns = vec![vec![0i64; groups]; np];
    for (cust, t, amount, reason) in churn_reasons(ctx) {
        let Some(p) = ctx.period_of(t) else { continue };
        for g in std::iter::once(0).chain(ctx.bill.group_of(cust)) {
            churns[p][g] += 1;
            if let Some(r) = reason {
                let k = Reason::ALL.iter().position(|x| *x == r).unwrap_or(7);
                count[p][g][k] += 1;
                lost[p][g][k] += amount;
            }
        }
    }
    for p in 0..np {
        for g in 0..groups {
            let with: i64 = count[p][g].iter().sum();
            for (k, (_, share, mrr)) in REASON_KPIS.iter().enumerate() {
                out.push(ratio_result(ctx, share, p, g, count[p][g][k], with, vec![]));
                out.push(ctx.result(mrr, p, g, Some(Value::Money(lost[p][g][k])), Some(Value::Money(lost[p][g][k])), None, count[p][g][k] as u64, vec![]));
            }
            out.push(ratio_result(ctx, "reason_coverage", p, g, with, churns[p][g], vec![]));
        }
    }
}

/// Every voice KPI (themes are reported by [`crate::themes`]).
pub fn all(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    nps(ctx, out);
    csat_ces(ctx, out);
    cancellation_reasons(ctx, out);
}
