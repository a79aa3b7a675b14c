//! One struct per signal source row (spec §12.3), the kinds of signal files, their columns and source keys.
//!
//! Every record is already valid when it exists (the parser checks shapes and ranges); stores keep records
//! as typed [`Cell`]s in the column order of [`SignalKind::columns`] and rebuild them with
//! [`SignalRecord::from_cells`].
use holdfast_core::money::Currency;
use holdfast_core::Ts;

/// The kinds of signal files, in the order an import reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    Tickets,
    SurveyResponses,
    Cancellations,
    Funnel,
    Visits,
    Spend,
    Referrals,
}

/// One column of a signal file.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub name: &'static str,
    /// A row must give a value.
    pub required: bool,
    /// Part of the source key.
    pub key: bool,
}

const fn c(name: &'static str) -> Col {
    Col { name, required: false, key: false }
}
const fn req(name: &'static str) -> Col {
    Col { name, required: true, key: false }
}
const fn key(name: &'static str) -> Col {
    Col { name, required: true, key: true }
}

const TICKET_COLS: &[Col] = &[
    key("ticket_id"),
    c("customer_id"),
    c("requester_id"),
    req("created_at"),
    c("first_response_at"),
    c("first_resolved_at"),
    c("last_resolved_at"),
    c("status"),
    c("channel"),
    c("priority"),
    c("type"),
    c("tags"),
    c("agent_public_replies"),
    c("reopen_count"),
    c("is_spam"),
    c("merged_into"),
];
const SURVEY_COLS: &[Col] = &[
    key("response_id"),
    req("survey"),
    c("question_id"),
    c("respondent_id"),
    c("customer_id"),
    req("score"),
    c("scale_min"),
    c("scale_max"),
    c("comment"),
    req("responded_at"),
    c("ticket_id"),
];
/// A cancellation is keyed by customer, subscription (empty when absent) and instant.
const CANCELLATION_COLS: &[Col] =
    &[key("customer_id"), Col { name: "subscription_id", required: false, key: true }, key("cancelled_at"), req("reason_code"), c("comment")];
/// A funnel row is keyed by the person (`person_id`, else `anonymous_id`, else `customer_id`), stage and instant.
const FUNNEL_COLS: &[Col] = &[
    c("person_id"),
    c("anonymous_id"),
    c("customer_id"),
    key("stage"),
    key("stage_at"),
    c("source"),
    c("medium"),
    c("campaign"),
    c("channel"),
];
const VISIT_COLS: &[Col] = &[key("date"), key("visitor_id"), c("source")];
const SPEND_COLS: &[Col] =
    &[key("date"), key("channel"), key("category"), req("amount"), req("currency"), Col { name: "campaign", required: false, key: true }];
const REFERRAL_COLS: &[Col] = &[
    key("referral_id"),
    c("inviter_user_id"),
    c("inviter_customer_id"),
    c("invitee_ref"),
    c("channel"),
    req("invited_at"),
    c("invitee_signed_up_at"),
    c("invitee_customer_id"),
    c("invitee_converted_at"),
];

impl SignalKind {
    pub const ALL: [SignalKind; 7] = [
        SignalKind::Tickets,
        SignalKind::SurveyResponses,
        SignalKind::Cancellations,
        SignalKind::Funnel,
        SignalKind::Visits,
        SignalKind::Spend,
        SignalKind::Referrals,
    ];

    /// The file stem and store table name: `tickets`, `survey_responses`, …
    pub fn as_str(&self) -> &'static str {
        match self {
            SignalKind::Tickets => "tickets",
            SignalKind::SurveyResponses => "survey_responses",
            SignalKind::Cancellations => "cancellations",
            SignalKind::Funnel => "funnel",
            SignalKind::Visits => "visits",
            SignalKind::Spend => "spend",
            SignalKind::Referrals => "referrals",
        }
    }

    pub fn from_stem(stem: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(stem))
    }

    pub fn columns(&self) -> &'static [Col] {
        match self {
            SignalKind::Tickets => TICKET_COLS,
            SignalKind::SurveyResponses => SURVEY_COLS,
            SignalKind::Cancellations => CANCELLATION_COLS,
            SignalKind::Funnel => FUNNEL_COLS,
            SignalKind::Visits => VISIT_COLS,
            SignalKind::Spend => SPEND_COLS,
            SignalKind::Referrals => REFERRAL_COLS,
        }
    }

    pub fn index(&self) -> usize {
        *self as usize
    }
}

impl std::fmt::Display for SignalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A support ticket. Times are UTC seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub ticket_id: String,
    pub customer_id: Option<String>,
    pub requester_id: Option<String>,
    pub created_at: Ts,
    /// First public agent reply (no auto-replies or internal notes).
    pub first_response_at: Option<Ts>,
    pub first_resolved_at: Option<Ts>,
    pub last_resolved_at: Option<Ts>,
    pub status: Option<String>,
    pub channel: Option<String>,
    pub priority: Option<String>,
    pub ticket_type: Option<String>,
    pub tags: Vec<String>,
    pub agent_public_replies: u32,
    pub reopen_count: u32,
    pub is_spam: bool,
    pub merged_into: Option<String>,
}

/// Which survey a response answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Survey {
    Nps,
    Csat,
    Ces,
    Custom,
}

impl Survey {
    pub fn as_str(&self) -> &'static str {
        match self {
            Survey::Nps => "nps",
            Survey::Csat => "csat",
            Survey::Ces => "ces",
            Survey::Custom => "custom",
        }
    }
    pub fn parse(s: &str) -> Option<Survey> {
        [Survey::Nps, Survey::Csat, Survey::Ces, Survey::Custom].into_iter().find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A survey response. `scale_min`/`scale_max` are filled with the survey's default scale when absent
/// (NPS 0–10, CSAT 1–5, CES 1–7), so a stored response always carries its scale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyResponse {
    pub response_id: String,
    pub survey: Survey,
    pub question_id: Option<String>,
    pub respondent_id: Option<String>,
    pub customer_id: Option<String>,
    pub score: i32,
    pub scale_min: i32,
    pub scale_max: i32,
    pub comment: Option<String>,
    pub responded_at: Ts,
    pub ticket_id: Option<String>,
}

/// The reason taxonomy of spec §6: Stripe's `cancellation_details.feedback` plus involuntary and
/// business reasons. Unknown codes map to [`Reason::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    TooExpensive,
    MissingFeatures,
    SwitchedService,
    Unused,
    CustomerService,
    TooComplex,
    LowQuality,
    Other,
    InvoluntaryPaymentFailed,
    PaymentDisputed,
    BusinessClosed,
    Temporary,
}

impl Reason {
    pub const ALL: [Reason; 12] = [
        Reason::TooExpensive,
        Reason::MissingFeatures,
        Reason::SwitchedService,
        Reason::Unused,
        Reason::CustomerService,
        Reason::TooComplex,
        Reason::LowQuality,
        Reason::Other,
        Reason::InvoluntaryPaymentFailed,
        Reason::PaymentDisputed,
        Reason::BusinessClosed,
        Reason::Temporary,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::TooExpensive => "too_expensive",
            Reason::MissingFeatures => "missing_features",
            Reason::SwitchedService => "switched_service",
            Reason::Unused => "unused",
            Reason::CustomerService => "customer_service",
            Reason::TooComplex => "too_complex",
            Reason::LowQuality => "low_quality",
            Reason::Other => "other",
            Reason::InvoluntaryPaymentFailed => "involuntary_payment_failed",
            Reason::PaymentDisputed => "payment_disputed",
            Reason::BusinessClosed => "business_closed",
            Reason::Temporary => "temporary",
        }
    }
    /// Maps a source code (Stripe feedback or reason, or a taxonomy name; case-insensitive, spaces and
    /// hyphens read as underscores) to the taxonomy; anything unknown is `other`.
    pub fn map(code: &str) -> Reason {
        let norm: String = code.trim().chars().map(|ch| if ch == ' ' || ch == '-' { '_' } else { ch.to_ascii_lowercase() }).collect();
        match norm.as_str() {
            "payment_failed" | "payment_failure" | "delinquent" | "delinquency" | "unpaid" => Reason::InvoluntaryPaymentFailed,
            "dispute" | "disputed" => Reason::PaymentDisputed,
            "closed" | "out_of_business" => Reason::BusinessClosed,
            "pause" | "seasonal" => Reason::Temporary,
            _ => Reason::ALL.into_iter().find(|r| r.as_str() == norm).unwrap_or(Reason::Other),
        }
    }
}

/// Cancellation feedback (for billing sources that lack it). The raw code is kept; `reason` is its mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    pub customer_id: String,
    pub subscription_id: Option<String>,
    pub cancelled_at: Ts,
    pub reason_code: String,
    pub comment: Option<String>,
}

impl Cancellation {
    pub fn reason(&self) -> Reason {
        Reason::map(&self.reason_code)
    }
}

/// Funnel stages of `funnel.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Visitor,
    Lead,
    Mql,
    Sql,
    Opportunity,
    Trial,
    Customer,
}

impl Stage {
    pub const ALL: [Stage; 7] = [Stage::Visitor, Stage::Lead, Stage::Mql, Stage::Sql, Stage::Opportunity, Stage::Trial, Stage::Customer];
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Visitor => "visitor",
            Stage::Lead => "lead",
            Stage::Mql => "mql",
            Stage::Sql => "sql",
            Stage::Opportunity => "opportunity",
            Stage::Trial => "trial",
            Stage::Customer => "customer",
        }
    }
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One stage a person reached. At least one of `person_id`, `anonymous_id`, `customer_id` is present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunnelEvent {
    pub person_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub customer_id: Option<String>,
    pub stage: Stage,
    pub stage_at: Ts,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub channel: Option<String>,
}

impl FunnelEvent {
    /// The person this row belongs to: `person_id`, else `anonymous_id`, else `customer_id`.
    pub fn person(&self) -> &str {
        self.person_id.as_deref().or(self.anonymous_id.as_deref()).or(self.customer_id.as_deref()).unwrap_or("")
    }
}

/// One visitor seen on one day (`visits.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// UTC day number.
    pub day: i32,
    pub visitor_id: String,
    pub source: Option<String>,
}

/// Spend categories; only `marketing` and `sales` enter CAC by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpendCategory {
    Marketing,
    Sales,
    Other,
}

impl SpendCategory {
    pub fn as_str(&self) -> &'static str {
        match self {
            SpendCategory::Marketing => "marketing",
            SpendCategory::Sales => "sales",
            SpendCategory::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<SpendCategory> {
        [SpendCategory::Marketing, SpendCategory::Sales, SpendCategory::Other].into_iter().find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Acquisition spend of one day, channel, category and campaign, in minor units of `currency`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spend {
    pub day: i32,
    pub channel: String,
    pub category: SpendCategory,
    pub amount: i64,
    pub currency: Currency,
    pub campaign: Option<String>,
}

/// An invite and, when it happened, the invitee's sign-up and paid conversion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    pub referral_id: String,
    pub inviter_user_id: Option<String>,
    pub inviter_customer_id: Option<String>,
    pub invitee_ref: Option<String>,
    pub channel: Option<String>,
    pub invited_at: Ts,
    pub invitee_signed_up_at: Option<Ts>,
    pub invitee_customer_id: Option<String>,
    pub invitee_converted_at: Option<Ts>,
}

impl Referral {
    /// Who was invited: the invitee's customer id, else its reference (e-mail hash, user id).
    pub fn invitee(&self) -> Option<&str> {
        self.invitee_customer_id.as_deref().or(self.invitee_ref.as_deref())
    }
}

/// Any signal record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignalRecord {
    Ticket(Ticket),
    Survey(SurveyResponse),
    Cancellation(Cancellation),
    Funnel(FunnelEvent),
    Visit(Visit),
    Spend(Spend),
    Referral(Referral),
}

/// A typed value in a record's column, as stores keep it: instants and days are integers (UTC seconds,
/// UTC day numbers), money is integer minor units (its currency is another column), lists are `|`-joined.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

fn t(s: &str) -> Cell {
    Cell::Text(s.to_string())
}
fn ot(s: &Option<String>) -> Cell {
    s.as_deref().map(t).unwrap_or(Cell::Null)
}
fn oi(v: Option<i64>) -> Cell {
    v.map(Cell::Int).unwrap_or(Cell::Null)
}

/// Reads cells back, with errors naming the column.
struct CellReader<'a> {
    kind: SignalKind,
    cells: std::cell::RefCell<&'a mut [Cell]>,
}

impl CellReader<'_> {
    fn bad(&self, i: usize, what: &str) -> String {
        format!("{}.{}: stored value {:?} is not {what}", self.kind, self.kind.columns()[i].name, self.cells.borrow().get(i))
    }
    /// Moves the text out of the cell (each cell is read once).
    fn text(&self, i: usize) -> Result<String, String> {
        if let Some(Cell::Text(s)) = self.cells.borrow_mut().get_mut(i) {
            return Ok(std::mem::take(s));
        }
        Err(self.bad(i, "text"))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, String> {
        if matches!(self.cells.borrow().get(i), Some(Cell::Null)) {
            return Ok(None);
        }
        self.text(i).map(Some)
    }
    fn int(&self, i: usize) -> Result<i64, String> {
        match self.cells.borrow().get(i) {
            Some(Cell::Int(v)) => Ok(*v),
            _ => Err(self.bad(i, "an integer")),
        }
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, String> {
        if matches!(self.cells.borrow().get(i), Some(Cell::Null)) {
            return Ok(None);
        }
        self.int(i).map(Some)
    }
    fn small(&self, i: usize) -> Result<i32, String> {
        i32::try_from(self.int(i)?).map_err(|_| self.bad(i, "a 32-bit integer"))
    }
    fn count(&self, i: usize) -> Result<u32, String> {
        u32::try_from(self.int(i)?).map_err(|_| self.bad(i, "a count"))
    }
}

impl SignalRecord {
    pub fn kind(&self) -> SignalKind {
        match self {
            SignalRecord::Ticket(_) => SignalKind::Tickets,
            SignalRecord::Survey(_) => SignalKind::SurveyResponses,
            SignalRecord::Cancellation(_) => SignalKind::Cancellations,
            SignalRecord::Funnel(_) => SignalKind::Funnel,
            SignalRecord::Visit(_) => SignalKind::Visits,
            SignalRecord::Spend(_) => SignalKind::Spend,
            SignalRecord::Referral(_) => SignalKind::Referrals,
        }
    }

    /// The record's columns in [`SignalKind::columns`] order. Optional key columns hold `""` when absent
    /// (so that a key is never NULL); everything else absent is [`Cell::Null`].
    pub fn cells(&self) -> Vec<Cell> {
        match self {
            SignalRecord::Ticket(x) => vec![
                t(&x.ticket_id),
                ot(&x.customer_id),
                ot(&x.requester_id),
                Cell::Int(x.created_at),
                oi(x.first_response_at),
                oi(x.first_resolved_at),
                oi(x.last_resolved_at),
                ot(&x.status),
                ot(&x.channel),
                ot(&x.priority),
                ot(&x.ticket_type),
                if x.tags.is_empty() { Cell::Null } else { Cell::Text(x.tags.join("|")) },
                Cell::Int(x.agent_public_replies as i64),
                Cell::Int(x.reopen_count as i64),
                Cell::Int(x.is_spam as i64),
                ot(&x.merged_into),
            ],
            SignalRecord::Survey(x) => vec![
                t(&x.response_id),
                t(x.survey.as_str()),
                ot(&x.question_id),
                ot(&x.respondent_id),
                ot(&x.customer_id),
                Cell::Int(x.score as i64),
                Cell::Int(x.scale_min as i64),
                Cell::Int(x.scale_max as i64),
                ot(&x.comment),
                Cell::Int(x.responded_at),
                ot(&x.ticket_id),
            ],
            SignalRecord::Cancellation(x) => vec![
                t(&x.customer_id),
                t(x.subscription_id.as_deref().unwrap_or("")),
                Cell::Int(x.cancelled_at),
                t(&x.reason_code),
                ot(&x.comment),
            ],
            SignalRecord::Funnel(x) => vec![
                ot(&x.person_id),
                ot(&x.anonymous_id),
                ot(&x.customer_id),
                t(x.stage.as_str()),
                Cell::Int(x.stage_at),
                ot(&x.source),
                ot(&x.medium),
                ot(&x.campaign),
                ot(&x.channel),
            ],
            SignalRecord::Visit(x) => vec![Cell::Int(x.day as i64), t(&x.visitor_id), ot(&x.source)],
            SignalRecord::Spend(x) => vec![
                Cell::Int(x.day as i64),
                t(&x.channel),
                t(x.category.as_str()),
                Cell::Int(x.amount),
                t(x.currency.code()),
                t(x.campaign.as_deref().unwrap_or("")),
            ],
            SignalRecord::Referral(x) => vec![
                t(&x.referral_id),
                ot(&x.inviter_user_id),
                ot(&x.inviter_customer_id),
                ot(&x.invitee_ref),
                ot(&x.channel),
                Cell::Int(x.invited_at),
                oi(x.invitee_signed_up_at),
                ot(&x.invitee_customer_id),
                oi(x.invitee_converted_at),
            ],
        }
    }

    /// The source key as one string for reports (`|`-joined key columns).
    pub fn display_key(&self) -> String {
        self.key_with('|')
    }

    /// The source key as stores keep it: key columns joined by the ASCII unit separator (which ids do not
    /// contain), so distinct keys never collide.
    pub fn source_key(&self) -> String {
        self.key_with('\u{1f}')
    }

    fn key_with(&self, sep: char) -> String {
        let sep = sep.to_string();
        let cells = self.cells();
        let cols = self.kind().columns();
        let key = cols.iter().zip(&cells).filter(|(c, _)| c.key).map(|(_, v)| match v {
            Cell::Null => String::new(),
            Cell::Int(i) => i.to_string(),
            Cell::Text(s) => s.clone(),
        });
        match self {
            // the funnel key's person is not a column of its own
            SignalRecord::Funnel(f) => std::iter::once(f.person().to_string()).chain(key).collect::<Vec<_>>().join(&sep),
            _ => key.collect::<Vec<_>>().join(&sep),
        }
    }

    /// Rebuilds a record from stored cells (the inverse of [`SignalRecord::cells`]); text cells are moved out.
    pub fn from_cells(kind: SignalKind, cells: &mut [Cell]) -> Result<SignalRecord, String> {
        if cells.len() != kind.columns().len() {
            return Err(format!("{kind}: {} stored columns, expected {}", cells.len(), kind.columns().len()));
        }
        let r = CellReader { kind, cells: std::cell::RefCell::new(cells) };
        let nonempty = |s: String| if s.is_empty() { None } else { Some(s) };
        Ok(match kind {
            SignalKind::Tickets => SignalRecord::Ticket(Ticket {
                ticket_id: r.text(0)?,
                customer_id: r.opt_text(1)?,
                requester_id: r.opt_text(2)?,
                created_at: r.int(3)?,
                first_response_at: r.opt_int(4)?,
                first_resolved_at: r.opt_int(5)?,
                last_resolved_at: r.opt_int(6)?,
                status: r.opt_text(7)?,
                channel: r.opt_text(8)?,
                priority: r.opt_text(9)?,
                ticket_type: r.opt_text(10)?,
                tags: r.opt_text(11)?.map(|s| s.split('|').map(str::to_string).collect()).unwrap_or_default(),
                agent_public_replies: r.count(12)?,
                reopen_count: r.count(13)?,
                is_spam: r.int(14)? != 0,
                merged_into: r.opt_text(15)?,
            }),
            SignalKind::SurveyResponses => SignalRecord::Survey(SurveyResponse {
                response_id: r.text(0)?,
                survey: Survey::parse(&r.text(1)?).ok_or_else(|| r.bad(1, "a survey kind"))?,
                question_id: r.opt_text(2)?,
                respondent_id: r.opt_text(3)?,
                customer_id: r.opt_text(4)?,
                score: r.small(5)?,
                scale_min: r.small(6)?,
                scale_max: r.small(7)?,
                comment: r.opt_text(8)?,
                responded_at: r.int(9)?,
                ticket_id: r.opt_text(10)?,
            }),
            SignalKind::Cancellations => SignalRecord::Cancellation(Cancellation {
                customer_id: r.text(0)?,
                subscription_id: nonempty(r.text(1)?),
                cancelled_at: r.int(2)?,
                reason_code: r.text(3)?,
                comment: r.opt_text(4)?,
            }),
            SignalKind::Funnel => SignalRecord::Funnel(FunnelEvent {
                person_id: r.opt_text(0)?,
                anonymous_id: r.opt_text(1)?,
                customer_id: r.opt_text(2)?,
                stage: Stage::parse(&r.text(3)?).ok_or_else(|| r.bad(3, "a stage"))?,
                stage_at: r.int(4)?,
                source: r.opt_text(5)?,
                medium: r.opt_text(6)?,
                campaign: r.opt_text(7)?,
                channel: r.opt_text(8)?,
            }),
            SignalKind::Visits => SignalRecord::Visit(Visit { day: r.small(0)?, visitor_id: r.text(1)?, source: r.opt_text(2)? }),
            SignalKind::Spend => SignalRecord::Spend(Spend {
                day: r.small(0)?,
                channel: r.text(1)?,
                category: SpendCategory::parse(&r.text(2)?).ok_or_else(|| r.bad(2, "a spend category"))?,
                amount: r.int(3)?,
                currency: Currency::parse(&r.text(4)?).map_err(|e| format!("spend.currency: {e}"))?,
                campaign: nonempty(r.text(5)?),
            }),
            SignalKind::Referrals => SignalRecord::Referral(Referral {
                referral_id: r.text(0)?,
                inviter_user_id: r.opt_text(1)?,
                inviter_customer_id: r.opt_text(2)?,
                invitee_ref: r.opt_text(3)?,
                channel: r.opt_text(4)?,
                invited_at: r.int(5)?,
                invitee_signed_up_at: r.opt_int(6)?,
                invitee_customer_id: r.opt_text(7)?,
                invitee_converted_at: r.opt_int(8)?,
            }),
        })
    }
}
