//! Acquisition funnel and unit economics (spec §4): visitors, leads, lead velocity, conversion rates, CAC
//! (total and by channel), CAC payback and LTV : CAC. Funnel KPIs are reported for the total (a funnel
//! person has no billing segment before converting); CAC by channel uses `channel=…` segments.
use crate::context::{ratio_result, Ctx};
use crate::records::Stage;
use crate::settings::Attribution;
use holdfast_core::fx::convert;
use holdfast_core::money::RoundingMode;
use holdfast_core::snapshot::NONE;
use holdfast_core::Ts;
use holdfast_engine::result::{KpiResult, Value, FLAG_EMPTY_DENOMINATOR, FLAG_INCOMPLETE, FLAG_SHORT_HISTORY};

/// What one funnel person did.
#[derive(Clone, Debug)]
pub struct Person {
    /// First row of any stage but `visitor` (a person becomes a lead at the first such row).
    pub lead_at: Option<Ts>,
    /// First row at `mql` or later (`mql`, `sql`, `opportunity`, `customer`).
    pub mql_at: Option<Ts>,
    pub trial_at: Option<Ts>,
    /// First `customer` row.
    pub customer_at: Option<Ts>,
    /// Engine customer id of the first row naming a customer, or [`NONE`].
    pub customer: u32,
    /// `(at, channel)` of rows with a channel, in time order.
    pub touches: Vec<(Ts, u32)>,
}

/// Funnel people, by person id.
pub fn people(ctx: &Ctx) -> Vec<Person> {
    let f = &ctx.sig.funnel;
    let mut order: Vec<usize> = (0..f.at.len()).filter(|&i| f.at[i] <= ctx.bill.as_of).collect();
    order.sort_unstable_by_key(|&i| (f.person[i], f.at[i], f.stage[i]));
    let mut out: Vec<Person> = Vec::new();
    let mut last = NONE;
    for i in order {
        if f.person[i] != last {
            last = f.person[i];
            out.push(Person { lead_at: None, mql_at: None, trial_at: None, customer_at: None, customer: NONE, touches: Vec::new() });
        }
        let p = out.last_mut().expect("pushed");
        let (t, st) = (f.at[i], f.stage[i]);
        if st != Stage::Visitor && p.lead_at.is_none() {
            p.lead_at = Some(t);
        }
        if matches!(st, Stage::Mql | Stage::Sql | Stage::Opportunity | Stage::Customer) && p.mql_at.is_none() {
            p.mql_at = Some(t);
        }
        if st == Stage::Trial && p.trial_at.is_none() {
            p.trial_at = Some(t);
        }
        if st == Stage::Customer && p.customer_at.is_none() {
            p.customer_at = Some(t);
        }
        let c = ctx.billing_id(f.customer[i]);
        if p.customer == NONE && c != NONE {
            p.customer = c;
        }
        if f.channel[i] != NONE {
            p.touches.push((t, f.channel[i]));
        }
    }
    out
}

/// When the person became a paying customer: its billing customer's first `new_business`, else (customers
/// billing does not know) its first `customer` funnel row.
fn converted_at(ctx: &Ctx, p: &Person) -> Option<Ts> {
    if p.customer != NONE {
        ctx.bill.first_new_business[p.customer as usize].get()
    } else {
        p.customer_at
    }
}

/// `unique_visitors`, `leads_created`, `visitor_to_lead_rate` and `lead_velocity_rate` per period.
pub fn visitors_and_leads(ctx: &Ctx, people: &[Person], out: &mut Vec<KpiResult>) {
    let np = ctx.bill.periods.len();
    let v = &ctx.sig.visits;
    let mut pairs: Vec<(usize, u32)> = (0..v.day.len())
        .filter_map(|i| {
            let t = v.day[i] as i64 * holdfast_core::time::SECS_PER_DAY;
            (t <= ctx.bill.as_of).then(|| ctx.period_of(t).map(|p| (p, v.visitor[i]))).flatten()
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut visitors = vec![0i64; np];
    for (p, _) in pairs {
        visitors[p] += 1;
    }
    let mut leads = vec![0i64; np];
    let mut ql = vec![0i64; np];
    for pe in people {
        if let Some(p) = pe.lead_at.and_then(|t| ctx.period_of(t)) {
            leads[p] += 1;
        }
        if let Some(p) = pe.mql_at.and_then(|t| ctx.period_of(t)) {
            ql[p] += 1;
        }
    }
    for p in 0..np {
        out.push(ctx.result("unique_visitors", p, 0, Some(Value::Count(visitors[p])), None, None, visitors[p] as u64, vec![]));
        out.push(ctx.result("leads_created", p, 0, Some(Value::Count(leads[p])), None, None, leads[p] as u64, vec![]));
        out.push(ratio_result(ctx, "visitor_to_lead_rate", p, 0, leads[p], visitors[p], vec![]));
        if p == 0 {
            out.push(ctx.result("lead_velocity_rate", p, 0, None, Some(Value::Count(ql[0])), None, 0, vec![FLAG_EMPTY_DENOMINATOR, FLAG_SHORT_HISTORY]));
        } else {
            let (v, f) = holdfast_engine::result::ratio(Value::Count(ql[p] - ql[p - 1]), Value::Count(ql[p - 1]));
            out.push(ctx.result("lead_velocity_rate", p, 0, v, Some(Value::Count(ql[p] - ql[p - 1])), Some(Value::Count(ql[p - 1])), ql[p] as u64, f));
        }
    }
}

/// A conversion cohort rate: members by start instant, converted when `conversion ∈ [start, deadline)`;
/// `incomplete` while a member's deadline is after `as_of`.
fn cohort_rate(ctx: &Ctx, kpi: &'static str, members: &[(Ts, Ts, Option<Ts>)], out: &mut Vec<KpiResult>) {
    let np = ctx.bill.periods.len();
    let mut num = vec![0i64; np];
    let mut den = vec![0i64; np];
    let mut open = vec![false; np];
    for &(start, deadline, conv) in members {
        let Some(p) = ctx.period_of(start) else { continue };
        den[p] += 1;
        if conv.map(|c| c >= start && c < deadline).unwrap_or(false) {
            num[p] += 1;
        }
        if deadline > ctx.bill.as_of {
            open[p] = true;
        }
    }
    for p in 0..np {
        out.push(ratio_result(ctx, kpi, p, 0, num[p], den[p], if open[p] { vec![FLAG_INCOMPLETE] } else { vec![] }));
    }
}

/// `lead_to_customer_rate` (cohort of leads created in the period, converted within `lead_window`),
/// `trial_conversion_rate` (trials started in the period, converted before `trial_end + trial_grace`) and
/// `freemium_conversion_rate` (leads without a trial, converted within `freemium_window`). People who were
/// already customers when the cohort's clock starts are left out.
pub fn conversions(ctx: &Ctx, people: &[Person], out: &mut Vec<KpiResult>) {
    let mut leads = Vec::new();
    let mut free = Vec::new();
    let mut trials = Vec::new();
    let mut billing_trial_customers = vec![false; ctx.bill.created_at.len()];
    for (c, tr) in ctx.bill.first_trial.iter().enumerate() {
        if let Some((start, end)) = *tr {
            billing_trial_customers[c] = true;
            let conv = ctx.bill.first_new_business[c].get();
            if conv.map(|t| t >= start).unwrap_or(true) {
                trials.push((start, end + ctx.cfg.trial_grace, conv));
            }
        }
    }
    for pe in people {
        let conv = converted_at(ctx, pe);
        let has_billing_trial = pe.customer != NONE && billing_trial_customers[pe.customer as usize];
        if let Some(l) = pe.lead_at {
            if conv.map(|t| t >= l).unwrap_or(true) {
                leads.push((l, l + ctx.cfg.lead_window, conv));
                if pe.trial_at.is_none() && !has_billing_trial {
                    free.push((l, l + ctx.cfg.freemium_window, conv));
                }
            }
        }
        if let Some(t) = pe.trial_at {
            if !has_billing_trial && conv.map(|c| c >= t).unwrap_or(true) {
                trials.push((t, t + ctx.cfg.trial_length + ctx.cfg.trial_grace, conv));
            }
        }
    }
    cohort_rate(ctx, "lead_to_customer_rate", &leads, out);
    cohort_rate(ctx, "trial_conversion_rate", &trials, out);
    cohort_rate(ctx, "freemium_conversion_rate", &free, out);
}

/// `cac` = spend of `cac_categories` in the period (reporting currency at the spend date) ÷ the engine's
/// `new_customers`; `cac_by_channel` (segments `channel=…`: the channel's spend ÷ new customers attributed to
/// it by first or last touch); `cac_payback_months` = `cac / (asp × gross_margin)`; `ltv_to_cac`.
pub fn cac(ctx: &Ctx, people: &[Person], out: &mut Vec<KpiResult>) {
    let np = ctx.bill.periods.len();
    let nch = ctx.sig.channels.len();
    let unattributed = nch; // extra channel slot
    let s = &ctx.sig.spend;
    let mut spend = vec![0i64; np];
    let mut by_channel = vec![vec![0i64; nch + 1]; np];
    let mut missing_fx = vec![false; np];
    for i in 0..s.day.len() {
        if !ctx.cfg.cac_categories.contains(&s.category[i]) {
            continue;
        }
        let t = s.day[i] as i64 * holdfast_core::time::SECS_PER_DAY;
        if t > ctx.bill.as_of {
            continue;
        }
        let Some(p) = ctx.period_of(t) else { continue };
        let Some(rate) = ctx.bill.fx.rate(s.currency[i], s.day[i]) else {
            missing_fx[p] = true;
            continue;
        };
        let v = convert(s.amount[i], s.currency[i], ctx.bill.reporting, rate, RoundingMode::HalfAwayFromZero);
        spend[p] += v;
        by_channel[p][s.channel[i] as usize] += v;
    }
    // new customers attributed to a channel
    let mut attributed = vec![vec![0i64; nch + 1]; np];
    let mut person_of = vec![NONE; ctx.bill.created_at.len()];
    for (k, pe) in people.iter().enumerate() {
        if pe.customer != NONE && person_of[pe.customer as usize] == NONE {
            person_of[pe.customer as usize] = k as u32;
        }
    }
    for (c, nb) in ctx.bill.first_new_business.iter().enumerate() {
        let Some(t) = nb.get() else { continue };
        let Some(p) = ctx.period_of(t) else { continue };
        let ch = match person_of[c] {
            NONE => unattributed,
            k => {
                let touches = &people[k as usize].touches;
                let pick = match ctx.cfg.attribution {
                    Attribution::FirstTouch => touches.first(),
                    Attribution::LastTouch => touches.iter().rev().find(|x| x.0 <= t).or(touches.first()),
                };
                pick.map(|x| x.1 as usize).unwrap_or(unattributed)
            }
        };
        attributed[p][ch] += 1;
    }
    let money_ratio = |num: i64, den: i64| (den != 0).then(|| Value::Money((num as f64 / den as f64).round() as i64));
    for p in 0..np {
        let newc = ctx.bill.new_customers[p];
        let mut flags = if missing_fx[p] { vec!["missing_fx"] } else { vec![] };
        if newc == 0 {
            flags.push(FLAG_EMPTY_DENOMINATOR);
        }
        let cac = money_ratio(spend[p], newc);
        out.push(ctx.result("cac", p, 0, cac, Some(Value::Money(spend[p])), Some(Value::Count(newc)), newc as u64, flags.clone()));
        for ch in 0..=nch {
            let label = if ch == unattributed { "(unattributed)" } else { ctx.sig.channels.name(ch as u32) };
            let (sp, n) = (by_channel[p][ch], attributed[p][ch]);
            if sp == 0 && n == 0 {
                continue;
            }
            let mut r = ctx.result("cac_by_channel", p, 0, money_ratio(sp, n), Some(Value::Money(sp)), Some(Value::Count(n)), n as u64, if n == 0 { vec![FLAG_EMPTY_DENOMINATOR] } else { vec![] });
            r.segment = Some(format!("channel={label}"));
            out.push(r);
        }
        let asp = ctx.bill.asp[p].map(|v| v.as_f64() * ctx.bill.gross_margin);
        let payback = match (cac, asp) {
            (Some(c), Some(a)) if a != 0.0 => Some(Value::Number(c.as_f64() / a)),
            _ => None,
        };
        let pf = if payback.is_none() { vec![FLAG_EMPTY_DENOMINATOR] } else { vec![] };
        out.push(ctx.result("cac_payback_months", p, 0, payback, cac, asp.map(|a| Value::Money(a.round() as i64)), newc as u64, pf));
        let ltv = ctx.bill.ltv[p];
        let ratio = match (ltv, cac) {
            (Some(l), Some(c)) if c.as_f64() != 0.0 => Some(Value::Number(l.as_f64() / c.as_f64())),
            _ => None,
        };
        let lf = if ratio.is_none() { vec![FLAG_EMPTY_DENOMINATOR] } else { vec![] };
        out.push(ctx.result("ltv_to_cac", p, 0, ratio, ltv, cac, newc as u64, lf));
    }
}

/// Every funnel KPI.
pub fn all(ctx: &Ctx, out: &mut Vec<KpiResult>) {
    let people = people(ctx);
    visitors_and_leads(ctx, &people, out);
    conversions(ctx, &people, out);
    cac(ctx, &people, out);
}
