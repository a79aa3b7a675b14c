//! Customer-success signals of the simulated company, drawn from the same latent health that drives billing:
//! support tickets (unhealthy accounts file more, wait longer, go unanswered and complain more), NPS / CSAT /
//! CES responses with comments (detractor scores and the "export keeps failing" complaint come from
//! unhealthy accounts, so they precede churn; the price complaint is spread evenly and predicts nothing),
//! cancellation feedback from the billing cancellations, the acquisition funnel (visitors, leads, MQL → SQL
//! → opportunity for sales-led accounts, trials, non-converting leads) with spend by channel, and referrals
//! (promoters invite more).
//!
//! Each kind draws from its own [`stream`] per customer, so signals never change the billing records of a
//! seed, and customer `i`'s signals do not depend on how many customers are generated.
use crate::observe::{EventKind, LifecycleEvent, MonthView, Observer};
use crate::profile::{Channel, CustomerProfile, TRIAL_DAYS};
use crate::rng::{customer_rng, stream, Draw};
use crate::{Latent, SimConfig};
use holdfast_core::money::Currency;
use holdfast_core::records::Record;
use holdfast_core::time::day_of;
use holdfast_core::Ts;
use holdfast_signals::records::*;
use std::collections::BTreeMap;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// The complaint that predicts churn (the theme tests look for it).
pub const CHURN_THEME: &str = "export keeps failing";
const PRICE_THEME: &str = "too expensive for what we use";
const PRAISE: [&str; 3] = ["great support team", "easy to use", "love the dashboards"];
const OPENERS: [&str; 6] = ["honestly", "overall", "lately", "this quarter", "so far", "in general"];
const CLOSERS: [&str; 5] = ["please fix", "thanks", "keep going", "we will see", "hope it improves"];

fn comment(rng: &mut rand_pcg::Pcg64Mcg, health: f64, score: i32) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if rng.chance(0.3) {
        parts.push(OPENERS[rng.between(0, OPENERS.len() as i64) as usize]);
    }
    if rng.chance(if health < 0.45 { 0.85 } else { 0.03 }) {
        parts.push(CHURN_THEME);
    }
    if rng.chance(0.2) {
        parts.push(PRICE_THEME);
    }
    if score >= 7 || rng.chance(0.5 * health) {
        parts.push(PRAISE[rng.between(0, PRAISE.len() as i64) as usize]);
    }
    if rng.chance(0.3) || parts.is_empty() {
        parts.push(CLOSERS[rng.between(0, CLOSERS.len() as i64) as usize]);
    }
    parts.join(", ")
}

fn clamp_score(x: f64, lo: i32, hi: i32) -> i32 {
    (x.round() as i64).clamp(lo as i64, hi as i64) as i32
}

/// Emits signal records while the billing simulation runs; call [`SignalEmitter::finish`] at the end for
/// the company-wide spend.
pub struct SignalEmitter<'a> {
    seed: u64,
    end: Ts,
    month_starts: Vec<Ts>,
    sink: &'a mut dyn FnMut(SignalRecord),
    /// (month start, channel, category) → spend in USD cents
    spend: BTreeMap<(Ts, &'static str, SpendCategory), i64>,
    /// Per current customer: counters and the latest NPS score.
    tickets: u32,
    responses: u32,
    invites: u32,
    last_nps: Option<i32>,
}

impl<'a> SignalEmitter<'a> {
    pub fn new(cfg: &SimConfig, sink: &'a mut dyn FnMut(SignalRecord)) -> SignalEmitter<'a> {
        let start = holdfast_core::time::date_to_ts(cfg.start);
        let anchor = crate::calendar::Anchor::of(start);
        let month_starts = (0..=cfg.months as i64).map(|m| anchor.plus_months(m)).collect();
        SignalEmitter { seed: cfg.seed, end: cfg.end(), month_starts, sink, spend: BTreeMap::new(), tickets: 0, responses: 0, invites: 0, last_nps: None }
    }

    /// Emits the acquisition spend, one row per month, channel and category.
    pub fn finish(self) {
        for ((month, channel, category), amount) in self.spend {
            (self.sink)(SignalRecord::Spend(Spend { day: day_of(month), channel: channel.to_string(), category, amount, currency: Currency::USD, campaign: None }));
        }
    }

    fn known(&self, t: Ts) -> Option<Ts> {
        (t < self.end).then_some(t)
    }

    fn month_of(&self, t: Ts) -> Ts {
        let i = self.month_starts.partition_point(|m| *m <= t);
        self.month_starts[i.saturating_sub(1)]
    }

    fn tickets_and_surveys(&mut self, v: &MonthView<'_>) {
        let p = v.customer;
        let h = v.latent.health;
        let sick = 1.0 - h;
        let seats: i64 = v.subscriptions.iter().map(|s| s.seats).sum::<i64>().max(1);
        let mut rng = customer_rng(self.seed, ((p.index as u64) << 8) | v.month as u64, stream::SUPPORT);
        let expected = (0.15 + 1.1 * sick) * (1.0 + (seats as f64).min(50.0) / 50.0);
        let n = (0..4).filter(|_| rng.chance(expected / 4.0)).count();
        let span = v.end - v.start;
        for _ in 0..n {
            self.tickets += 1;
            let id = format!("tk_{:06}_{}", p.index, self.tickets);
            let created = v.start + rng.between(0, span);
            let unanswered = rng.chance(0.02 + 0.2 * sick * sick);
            let wait = HOUR + (rng.unit() * rng.unit() * (6.0 + 40.0 * sick) * HOUR as f64) as i64;
            let response = if unanswered { None } else { self.known(created + wait) };
            let resolved = response.filter(|_| rng.chance(0.92)).and_then(|r| self.known(r + rng.between(HOUR, 72 * HOUR)));
            let replies = if response.is_none() { 0 } else if rng.chance(0.6) { 1 } else { rng.between(2, 5) as u32 };
            let complaint = rng.chance(0.05 + 0.35 * sick);
            let kind = if complaint { "complaint" } else if rng.chance(0.4) { "bug" } else { "question" };
            let reopen = if resolved.is_some() && rng.chance(0.05 + 0.2 * sick) { 1 } else { 0 };
            let t = Ticket {
                ticket_id: id.clone(),
                customer_id: Some(p.id.clone()),
                requester_id: None,
                created_at: created,
                first_response_at: response,
                first_resolved_at: resolved,
                last_resolved_at: resolved,
                status: Some(if resolved.is_some() { "solved" } else { "open" }.into()),
                channel: Some(["email", "chat", "web"][rng.between(0, 3) as usize].into()),
                priority: Some(if rng.chance(0.2) { "high" } else { "normal" }.into()),
                ticket_type: Some(kind.into()),
                tags: if rng.chance(0.3) { vec!["billing".into()] } else { vec![] },
                agent_public_replies: replies,
                reopen_count: reopen,
                is_spam: false,
                merged_into: None,
            };
            (self.sink)(SignalRecord::Ticket(t));
            if let Some(r) = resolved {
                if rng.chance(0.4) {
                    if let Some(at) = self.known(r + rng.between(HOUR, 48 * HOUR)) {
                        self.responses += 1;
                        let score = clamp_score(1.0 + 4.0 * h + 0.8 * rng.normal() - if unanswered { 1.0 } else { 0.0 }, 1, 5);
                        self.survey(p, Survey::Csat, score, (1, 5), None, at, Some(id.clone()));
                    }
                }
                if rng.chance(0.2) {
                    if let Some(at) = self.known(r + rng.between(HOUR, 48 * HOUR)) {
                        self.responses += 1;
                        let score = clamp_score(1.0 + 6.0 * h + rng.normal(), 1, 7);
                        self.survey(p, Survey::Ces, score, (1, 7), None, at, Some(id));
                    }
                }
            }
        }
        let mut rng = customer_rng(self.seed, ((p.index as u64) << 8) | v.month as u64, stream::SURVEYS);
        if rng.chance(0.3) {
            let at = v.start + rng.between(0, span);
            let score = clamp_score(2.0 + 9.0 * h + 1.5 * rng.normal() - 2.0 * sick * sick, 0, 10);
            let text = rng.chance(0.6).then(|| comment(&mut rng, h, score));
            self.responses += 1;
            self.last_nps = Some(score);
            self.survey(p, Survey::Nps, score, (0, 10), text, at, None);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn survey(&mut self, p: &CustomerProfile, survey: Survey, score: i32, scale: (i32, i32), comment: Option<String>, at: Ts, ticket: Option<String>) {
        (self.sink)(SignalRecord::Survey(SurveyResponse {
            response_id: format!("sr_{:06}_{}", p.index, self.responses),
            survey,
            question_id: None,
            respondent_id: Some(format!("u_{:06}_{}", p.index, self.responses % 3)),
            customer_id: Some(p.id.clone()),
            score,
            scale_min: scale.0,
            scale_max: scale.1,
            comment,
            responded_at: at,
            ticket_id: ticket,
        }));
    }

    fn referrals(&mut self, v: &MonthView<'_>) {
        let p = v.customer;
        let mut rng = customer_rng(self.seed, ((p.index as u64) << 8) | v.month as u64, stream::REFERRALS);
        let promoter = self.last_nps.map(|s| s >= 9).unwrap_or(false);
        let rate = 0.03 + 0.4 * (v.latent.health - 0.55).max(0.0) + if promoter { 0.15 } else { 0.0 };
        let n = (0..3).filter(|_| rng.chance(rate / 3.0)).count();
        for _ in 0..n {
            self.invites += 1;
            let invited = v.start + rng.between(0, v.end - v.start);
            let signed = rng.chance(if promoter { 0.45 } else { 0.3 }).then(|| invited + rng.between(DAY, 45 * DAY)).and_then(|t| self.known(t));
            let converted = signed.filter(|_| rng.chance(0.3)).and_then(|s| self.known(s + rng.between(DAY, 30 * DAY)));
            (self.sink)(SignalRecord::Referral(Referral {
                referral_id: format!("rf_{:06}_{}", p.index, self.invites),
                inviter_user_id: None,
                inviter_customer_id: Some(p.id.clone()),
                invitee_ref: Some(format!("invitee_{:06}_{}", p.index, self.invites)),
                channel: Some("in_app".into()),
                invited_at: invited,
                invitee_signed_up_at: signed,
                invitee_customer_id: None,
                invitee_converted_at: converted,
            }));
        }
    }

    fn funnel(&mut self, p: &CustomerProfile) {
        let mut rng = customer_rng(self.seed, p.index as u64, stream::FUNNEL);
        let channel = p.channel.as_str();
        let person = format!("person_{:06}", p.index);
        let row = |stage: Stage, at: Ts, customer: bool, channel: Option<&str>| FunnelEvent {
            person_id: Some(person.clone()),
            anonymous_id: Some(format!("anon_{:06}", p.index)),
            customer_id: customer.then(|| p.id.clone()),
            stage,
            stage_at: at,
            source: None,
            medium: None,
            campaign: None,
            channel: channel.map(str::to_string),
        };
        let lead_at = p.signup - if p.sales_led { rng.between(20 * DAY, 60 * DAY) } else { rng.between(HOUR, 3 * DAY) };
        let visit_at = lead_at - rng.between(HOUR, 20 * DAY);
        let mut rows = vec![row(Stage::Visitor, visit_at, false, Some(channel)), row(Stage::Lead, lead_at, true, Some(channel))];
        if p.sales_led {
            rows.push(row(Stage::Mql, lead_at + 2 * DAY, true, None));
            rows.push(row(Stage::Sql, lead_at + 6 * DAY, true, None));
            rows.push(row(Stage::Opportunity, lead_at + 12 * DAY, true, Some(if p.channel == Channel::Outbound { "outbound" } else { channel })));
        }
        if p.trial {
            rows.push(row(Stage::Trial, p.signup, true, None));
        }
        rows.push(row(Stage::Customer, p.signup + if p.trial { TRIAL_DAYS * DAY } else { 0 }, true, None));
        for r in rows.into_iter().filter(|r| r.stage_at < self.end) {
            (self.sink)(SignalRecord::Funnel(r));
        }
        // visitors and leads that never become customers
        for k in 0..3 {
            let at = p.signup - rng.between(0, 40 * DAY);
            let ch = Channel::ALL[rng.between(0, Channel::ALL.len() as i64) as usize].as_str();
            let anon = format!("anon_{:06}_{k}", p.index);
            (self.sink)(SignalRecord::Funnel(FunnelEvent { person_id: None, anonymous_id: Some(anon.clone()), customer_id: None, stage: Stage::Visitor, stage_at: at, source: None, medium: None, campaign: None, channel: Some(ch.into()) }));
            if rng.chance(0.35) {
                let lead = format!("lead_{:06}_{k}", p.index);
                let l = at + rng.between(0, 2 * DAY);
                if l < self.end {
                    (self.sink)(SignalRecord::Funnel(FunnelEvent { person_id: Some(lead.clone()), anonymous_id: Some(anon), customer_id: None, stage: Stage::Lead, stage_at: l, source: None, medium: None, campaign: None, channel: Some(ch.into()) }));
                    if rng.chance(0.3) && l + 3 * DAY < self.end {
                        (self.sink)(SignalRecord::Funnel(FunnelEvent { person_id: Some(lead), anonymous_id: None, customer_id: None, stage: Stage::Mql, stage_at: l + 3 * DAY, source: None, medium: None, campaign: None, channel: None }));
                    }
                }
            }
        }
        // what acquiring this customer cost, booked in its sign-up month
        let month = self.month_of(p.signup);
        // USD cents; a sales-led deal costs more than a self-serve sign-up
        let (marketing, sales) = match p.channel {
            Channel::PaidSearch => (rng.between(150_000, 300_000), 0),
            Channel::Partner => (rng.between(60_000, 140_000), 0),
            Channel::Organic => (rng.between(20_000, 60_000), 0),
            Channel::Referral => (rng.between(10_000, 30_000), 0),
            Channel::Outbound => (rng.between(40_000, 80_000), rng.between(400_000, 900_000)),
        };
        let sales = sales + if p.sales_led { rng.between(150_000, 300_000) } else { 0 };
        *self.spend.entry((month, channel, SpendCategory::Marketing)).or_default() += marketing;
        if sales > 0 {
            *self.spend.entry((month, channel, SpendCategory::Sales)).or_default() += sales;
        }
        *self.spend.entry((month, "tools", SpendCategory::Other)).or_default() += 1_000;
    }

    fn cancellations(&mut self, p: &CustomerProfile, events: &[LifecycleEvent]) {
        let mut rng = customer_rng(self.seed, p.index as u64, stream::SURVEYS ^ 0x100);
        let sub_id = |seq: u32| format!("{}_{seq}", p.id.replacen("cus_", "sub_", 1));
        for e in events {
            let (code, comment) = match &e.kind {
                EventKind::CancelRequested { reason, .. } => {
                    let code = reason.unwrap_or("other");
                    let text = match code {
                        "too_expensive" => PRICE_THEME,
                        "missing_features" => "missing the integrations we need",
                        "unused" => "we stopped using it",
                        "switched_service" => "moved to another tool",
                        "low_quality" => CHURN_THEME,
                        "too_complex" => "too hard to set up",
                        "customer_service" => "support never answered",
                        _ => "no longer needed",
                    };
                    (code, rng.chance(0.6).then(|| text.to_string()))
                }
                EventKind::DunningExhausted => ("payment_failed", None),
                _ => continue,
            };
            if e.at >= self.end {
                continue;
            }
            (self.sink)(SignalRecord::Cancellation(Cancellation { customer_id: p.id.clone(), subscription_id: Some(sub_id(e.subscription)), cancelled_at: e.at, reason_code: code.into(), comment }));
        }
    }
}

impl Observer for SignalEmitter<'_> {
    fn on_month(&mut self, v: &MonthView<'_>) {
        if v.subscriptions.is_empty() {
            return;
        }
        self.tickets_and_surveys(v);
        self.referrals(v);
    }

    fn on_customer_end(&mut self, p: &CustomerProfile, _latent: &Latent, events: &[LifecycleEvent]) {
        self.funnel(p);
        self.cancellations(p, events);
        self.tickets = 0;
        self.responses = 0;
        self.invites = 0;
        self.last_nps = None;
    }
}

/// Streams the billing records into `billing` and the signal records into `signals`.
pub fn generate_with_signals(cfg: &SimConfig, billing: &mut dyn FnMut(Record), signals: &mut dyn FnMut(SignalRecord)) {
    let mut em = SignalEmitter::new(cfg, signals);
    crate::generate_observed(cfg, billing, &mut em);
    em.finish();
}
