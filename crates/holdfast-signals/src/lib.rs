//! Holdfast's customer-success signals: why revenue moved and what comes next.
//!
//! One job: turn support tickets, survey responses, cancellation feedback, funnel stages, visits,
//! acquisition spend and referrals (spec §12.3 CSV/JSONL shapes) into the KPIs of spec §4, §6 and §7,
//! joined to billing through the engine's ledger.
//!
//! * [`records`]: one struct per source row, the file kinds, their columns and source keys.
//! * [`read`]: header-driven streaming CSV/JSONL parsing; every bad value is an
//!   [`ImportError`](holdfast_ingest::ImportError) naming file, line, field, value and expectation.
//! * [`write`]: CSV writer (the simulator's output), read back identically.
//! * [`columns`]: the columnar, dense-id [`Signals`] the KPIs run on.
//! * [`context`]: billing facts taken once from an engine [`Run`](holdfast_engine::Run) ([`Billing`]), the
//!   KPI context ([`Ctx`]) and shared result helpers.
//! * [`support`], [`voice`], [`themes`], [`funnel`], [`referrals`]: pure KPI functions. Each returns
//!   [`KpiResult`]s per period (and segment where the unit is a customer) with numerator, denominator, n
//!   and flags; an empty denominator gives `null` plus `empty_denominator`, never 0.
//!
//! Invariants: money is integer minor units (spend is converted to the reporting currency at the spend
//! date); instants are UTC seconds; nothing after `as_of` is used; results depend only on the set of
//! records, never their import order.
pub mod columns;
pub mod context;
pub mod funnel;
pub mod read;
pub mod records;
pub mod referrals;
pub mod settings;
pub mod support;
pub mod themes;
pub mod voice;
pub mod write;

pub use columns::Signals;
pub use context::{Billing, Ctx};
pub use records::{SignalKind, SignalRecord};
pub use settings::SignalSettings;

use holdfast_engine::result::KpiResult;

/// A report section of signal KPIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Support,
    Voice,
    Funnel,
    Referrals,
}

impl Section {
    pub const ALL: [Section; 4] = [Section::Support, Section::Voice, Section::Funnel, Section::Referrals];
    pub fn as_str(&self) -> &'static str {
        match self {
            Section::Support => "support",
            Section::Voice => "voice",
            Section::Funnel => "funnel",
            Section::Referrals => "referrals",
        }
    }
    pub fn parse(s: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
}

/// Every KPI of a section.
pub fn compute(ctx: &Ctx, section: Section) -> Vec<KpiResult> {
    let mut out = Vec::new();
    match section {
        Section::Support => support::all(ctx, &mut out),
        Section::Voice => voice::all(ctx, &mut out),
        Section::Funnel => funnel::all(ctx, &mut out),
        Section::Referrals => referrals::all(ctx, &mut out),
    }
    out
}
