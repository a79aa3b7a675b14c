//! Usage settings (spec §8). Ingest settings shape the stored rollups and must stay the same across the
//! imports of one store; KPI settings are applied when metrics are computed and may change freely.
use serde::{Deserialize, Serialize};

/// Settings that shape the rollups built at ingest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// A session is a maximal run of a user's active events with gaps ≤ this many seconds (spec: 30 min).
    pub session_gap_secs: i64,
    /// Track events that do not make a user active (emails received, heartbeats).
    pub passive_events: Vec<String>,
    /// Keep every track event (32 bytes each) besides the rollups.
    pub keep_raw_events: bool,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings { session_gap_secs: 30 * 60, passive_events: vec!["Email Received".into(), "Heartbeat".into()], keep_raw_events: false }
    }
}

impl IngestSettings {
    /// The canonical text stored with the rollups; imports with other ingest settings are refused.
    pub fn fingerprint(&self) -> String {
        let mut passive = self.passive_events.clone();
        passive.sort();
        passive.dedup();
        format!("session_gap_secs={};passive_events={}", self.session_gap_secs, passive.join("|"))
    }
}

/// When a time-to-value clock starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TtvAnchor {
    /// The billing customer's `created_at` (else its first billing change).
    AccountCreated,
    /// The customer's first active (paying) instant.
    FirstPaid,
}

/// The MAU window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MauWindow {
    /// `[d − 29, d]`.
    Trailing30,
    /// The calendar month of `d`, up to `d`.
    CalendarMonth,
}

/// Settings of the usage KPIs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageSettings {
    pub ingest: IngestSettings,
    /// The milestone event of `time_to_value` and how many times an account must send it.
    pub ttv_milestone_event: String,
    pub ttv_milestone_count: u64,
    pub ttv_anchor: TtvAnchor,
    /// `time_to_value_within_target` counts accounts reaching the milestone within this many days.
    pub ttv_target_days: i64,
    /// The event that counts as a login for `login_frequency` (fallback: session starts).
    pub login_event: String,
    pub mau_window: MauWindow,
    /// Event → feature. Empty: every active track event is its own feature.
    pub feature_map: std::collections::BTreeMap<String, String>,
    /// Events counted by `mru`. Empty: every active track event.
    pub core_events: Vec<String>,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings {
            ingest: IngestSettings::default(),
            ttv_milestone_event: "Report Shared".into(),
            ttv_milestone_count: 1,
            ttv_anchor: TtvAnchor::AccountCreated,
            ttv_target_days: 14,
            login_event: "Signed In".into(),
            mau_window: MauWindow::Trailing30,
            feature_map: Default::default(),
            core_events: Vec::new(),
        }
    }
}
