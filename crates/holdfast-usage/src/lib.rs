//! Holdfast product usage (spec §8, §12.2): Segment-compatible messages in, usage KPIs out.
//!
//! * [`message`] parses `track`, `identify`, `group`, `page`/`screen` messages and `batch` envelopes
//!   ([`parse_message`], [`parse_line`]); the file reader and the HTTP ingest endpoint share it. Errors name
//!   file, line, field, value and expectation; nothing panics on input.
//! * [`rollup`] rolls messages up at ingest, streaming, into additive tables keyed by user, account hint,
//!   UTC day and event (counts and numeric property sums), sessions (merged across imports), first-seen
//!   instants and group memberships; duplicate `messageId`s are counted once, across imports too.
//! * [`model`] resolves accounts (`context.groupId`, else the user's group calls) and lays the rollups out
//!   in dense-id columns; [`billing`] brings paying state, seats and segments from the revenue engine.
//! * [`kpis`] computes every usage KPI by period and segment, with numerator, denominator, n and flags.
//!
//! Invariants (tested): re-ingesting a message changes nothing; DAU ≤ WAU ≤ MAU on every day; the MRU
//! roll-forward `MRU_p − MRU_{p−1} = new + resurrected + expansion − contraction − churned (+ segment in −
//! out)` holds exactly per period and segment; shares lie in [0, 1]; empty denominators give `None` with the
//! `empty_denominator` flag. The KPI functions do no I/O.
pub mod billing;
pub mod kpis;
pub mod message;
pub mod model;
pub mod rollup;
pub mod settings;

pub use billing::BillingAccounts;
pub use kpis::{compute, UsageInput, UsageTable};
pub use message::{parse_line, parse_message, Message, MessageKind, UsageError};
pub use model::UsageModel;
pub use rollup::{read_file, Ingest, IngestStats, Rollup};
pub use settings::{IngestSettings, UsageSettings};
