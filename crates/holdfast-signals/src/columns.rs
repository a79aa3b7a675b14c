//! The columnar, dense-id form of the signal records that the KPI functions compute on.
//!
//! Ids (customers, people, channels, invitees) are interned to dense `u32`; absent ids are [`NONE`];
//! instants are `i64` UTC seconds ([`OptTs`] when optional); money is `i64` minor units. Rows are kept in
//! source-key order, so results never depend on import order.
use crate::records::*;
use holdfast_core::money::Currency;
use holdfast_core::snapshot::{Interner, OptTs, NONE};
use holdfast_core::Ts;

#[derive(Clone, Debug, Default)]
pub struct TicketCols {
    pub customer: Vec<u32>,
    pub created_at: Vec<Ts>,
    pub first_response_at: Vec<OptTs>,
    pub first_resolved_at: Vec<OptTs>,
    pub replies: Vec<u32>,
    pub reopens: Vec<u32>,
    /// Spam or merged into another ticket: excluded from every support KPI.
    pub excluded: Vec<bool>,
    /// Type or a tag is `complaint` (case-insensitive). A linked CSAT ≤ 2 also makes a complaint; that is
    /// resolved when the KPIs run, from the surveys.
    pub complaint_tagged: Vec<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct SurveyCols {
    pub survey: Vec<Survey>,
    pub customer: Vec<u32>,
    /// Respondent (respondent id, else customer, else the response itself) for `latest per respondent`.
    pub respondent: Vec<u32>,
    pub score: Vec<i32>,
    pub scale_min: Vec<i32>,
    pub scale_max: Vec<i32>,
    pub responded_at: Vec<Ts>,
    pub comment: Vec<Option<Box<str>>>,
    /// Index of the linked ticket in [`TicketCols`], or [`NONE`].
    pub ticket: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct CancellationCols {
    pub customer: Vec<u32>,
    pub at: Vec<Ts>,
    pub reason: Vec<Reason>,
    pub comment: Vec<Option<Box<str>>>,
}

#[derive(Clone, Debug, Default)]
pub struct FunnelCols {
    pub person: Vec<u32>,
    pub customer: Vec<u32>,
    pub stage: Vec<Stage>,
    pub at: Vec<Ts>,
    pub channel: Vec<u32>,
}

/// Visitors by day: `visits.csv` rows and `visitor` funnel rows (their `anonymous_id`, else person).
#[derive(Clone, Debug, Default)]
pub struct VisitCols {
    pub day: Vec<i32>,
    pub visitor: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct SpendCols {
    pub day: Vec<i32>,
    pub channel: Vec<u32>,
    pub category: Vec<SpendCategory>,
    pub amount: Vec<i64>,
    pub currency: Vec<Currency>,
}

#[derive(Clone, Debug, Default)]
pub struct ReferralCols {
    pub inviter_customer: Vec<u32>,
    /// The invitee's identity (customer id, else reference) or [`NONE`].
    pub invitee: Vec<u32>,
    pub invited_at: Vec<Ts>,
    pub signed_up_at: Vec<OptTs>,
    pub invitee_customer: Vec<u32>,
}

/// Every signal, columnar.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// Customer ids referenced by any signal (billing ids: they join the engine's customers by name).
    pub customers: Interner,
    pub people: Interner,
    pub channels: Interner,
    pub invitees: Interner,
    pub tickets: TicketCols,
    pub surveys: SurveyCols,
    pub cancellations: CancellationCols,
    pub funnel: FunnelCols,
    pub visits: VisitCols,
    pub spend: SpendCols,
    pub referrals: ReferralCols,
}

fn intern(i: &mut Interner, s: Option<&str>) -> u32 {
    match s {
        Some(s) if !s.is_empty() => i.intern(s),
        _ => NONE,
    }
}

fn has_complaint(s: &str) -> bool {
    s.trim().eq_ignore_ascii_case("complaint")
}

impl Signals {
    /// Builds the columns. Records are sorted by kind and source key first, so the result depends only on
    /// the set of records, not their order.
    pub fn from_records(mut records: Vec<SignalRecord>) -> Signals {
        records.sort_by_cached_key(|r| (r.kind(), r.source_key()));
        records.dedup();
        Signals::from_sorted_records(records)
    }

    /// [`Signals::from_records`] for records already sorted by kind and source key without duplicates
    /// (as a store loads them: each table in key order).
    pub fn from_sorted_records(records: Vec<SignalRecord>) -> Signals {
        let mut s = Signals::default();
        let mut ticket_index: rustc_hash::FxHashMap<String, u32> = Default::default();
        let mut pending_links: Vec<(usize, String)> = Vec::new();
        for r in records {
            match r {
                SignalRecord::Ticket(x) => {
                    let t = &mut s.tickets;
                    ticket_index.insert(x.ticket_id.clone(), t.customer.len() as u32);
                    t.customer.push(intern(&mut s.customers, x.customer_id.as_deref()));
                    t.created_at.push(x.created_at);
                    t.first_response_at.push(OptTs::new(x.first_response_at));
                    t.first_resolved_at.push(OptTs::new(x.first_resolved_at));
                    t.replies.push(x.agent_public_replies);
                    t.reopens.push(x.reopen_count);
                    t.excluded.push(x.is_spam || x.merged_into.is_some());
                    t.complaint_tagged.push(x.ticket_type.as_deref().map(has_complaint).unwrap_or(false) || x.tags.iter().any(|g| has_complaint(g)));
                }
                SignalRecord::Survey(x) => {
                    let v = &mut s.surveys;
                    let respondent = x.respondent_id.clone().map(|r| format!("r:{r}")).or_else(|| x.customer_id.clone().map(|c| format!("c:{c}"))).unwrap_or_else(|| format!("x:{}", x.response_id));
                    v.survey.push(x.survey);
                    v.customer.push(intern(&mut s.customers, x.customer_id.as_deref()));
                    v.respondent.push(s.people.intern(&respondent));
                    v.score.push(x.score);
                    v.scale_min.push(x.scale_min);
                    v.scale_max.push(x.scale_max);
                    v.responded_at.push(x.responded_at);
                    v.comment.push(x.comment.map(String::into_boxed_str));
                    v.ticket.push(NONE);
                    if let Some(tid) = x.ticket_id {
                        pending_links.push((v.ticket.len() - 1, tid));
                    }
                }
                SignalRecord::Cancellation(x) => {
                    let c = &mut s.cancellations;
                    c.customer.push(intern(&mut s.customers, Some(&x.customer_id)));
                    c.at.push(x.cancelled_at);
                    c.reason.push(x.reason());
                    c.comment.push(x.comment.map(String::into_boxed_str));
                }
                SignalRecord::Funnel(x) => {
                    let person = s.people.intern(&format!("p:{}", x.person()));
                    if x.stage == Stage::Visitor {
                        let visitor = x.anonymous_id.as_deref().or(x.person_id.as_deref()).unwrap_or(x.person());
                        s.visits.day.push(holdfast_core::time::day_of(x.stage_at));
                        s.visits.visitor.push(s.people.intern(&format!("v:{visitor}")));
                    }
                    let f = &mut s.funnel;
                    f.person.push(person);
                    f.customer.push(intern(&mut s.customers, x.customer_id.as_deref()));
                    f.stage.push(x.stage);
                    f.at.push(x.stage_at);
                    f.channel.push(intern(&mut s.channels, x.channel.as_deref()));
                }
                SignalRecord::Visit(x) => {
                    s.visits.day.push(x.day);
                    s.visits.visitor.push(s.people.intern(&format!("v:{}", x.visitor_id)));
                }
                SignalRecord::Spend(x) => {
                    let p = &mut s.spend;
                    p.day.push(x.day);
                    p.channel.push(s.channels.intern(&x.channel));
                    p.category.push(x.category);
                    p.amount.push(x.amount);
                    p.currency.push(x.currency);
                }
                SignalRecord::Referral(x) => {
                    let r = &mut s.referrals;
                    r.inviter_customer.push(intern(&mut s.customers, x.inviter_customer_id.as_deref()));
                    r.invitee.push(intern(&mut s.invitees, x.invitee()));
                    r.invited_at.push(x.invited_at);
                    r.signed_up_at.push(OptTs::new(x.invitee_signed_up_at));
                    r.invitee_customer.push(intern(&mut s.customers, x.invitee_customer_id.as_deref()));
                }
            }
        }
        for (i, tid) in pending_links {
            if let Some(&t) = ticket_index.get(&tid) {
                s.surveys.ticket[i] = t;
            }
        }
        s
    }

    /// Rows per kind, in [`SignalKind::ALL`] order (visits include `visitor` funnel rows).
    pub fn counts(&self) -> [(SignalKind, usize); 7] {
        [
            (SignalKind::Tickets, self.tickets.created_at.len()),
            (SignalKind::SurveyResponses, self.surveys.score.len()),
            (SignalKind::Cancellations, self.cancellations.at.len()),
            (SignalKind::Funnel, self.funnel.at.len()),
            (SignalKind::Visits, self.visits.day.len()),
            (SignalKind::Spend, self.spend.day.len()),
            (SignalKind::Referrals, self.referrals.invited_at.len()),
        ]
    }
}
