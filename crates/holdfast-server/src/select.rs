//! The selection every view shares — settings (preset and overrides), grain, period, segmentation and
//! knowledge time — read from query parameters the same way for the API and the dashboard, through
//! [`holdfast_engine::query`] like the CLI's `report`.
use crate::cache::Computed;
use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;
use holdfast_core::time::{parse_instant, Ts};
use holdfast_core::Grain;
use holdfast_engine::Settings;
use std::sync::Arc;

/// Parameters of the selection, accepted by every engine-backed endpoint.
pub const SELECTION_PARAMS: [&str; 6] = ["grain", "period", "segment_by", "preset", "set", "as_of"];

pub struct Selection {
    pub settings: Settings,
    pub grain: Grain,
    /// A period label or `FROM..TO` range of the grain.
    pub period: Option<String>,
    pub segment_by: Vec<String>,
    pub as_of: Option<Ts>,
}

impl Selection {
    pub fn from_params(state: &AppState, p: &Params) -> Result<Selection, ApiError> {
        let sets = p.all("set");
        let preset = holdfast_engine::query::apply_overrides(&state.cfg.settings, p.get("preset"), []).map_err(|e| ApiError::bad("preset", e))?;
        let settings = holdfast_engine::query::apply_overrides(&preset, None, sets.iter().map(String::as_str)).map_err(|e| ApiError::bad("set", e))?;
        let grain = match p.get("grain") {
            Some(g) => g.parse().map_err(|e: String| ApiError::bad("grain", e))?,
            None => state.cfg.grain,
        };
        let segment_by = if p.all("segment_by").is_empty() && p.get("segment_by").is_none() { state.cfg.segment_by.clone() } else { p.all("segment_by") };
        let as_of = p.get("as_of").map(parse_instant).transpose().map_err(|e| ApiError::bad("as_of", e))?;
        let sel = Selection { settings, grain, period: p.get("period").map(String::from), segment_by, as_of };
        if let Some(period) = &sel.period {
            let cal = holdfast_core::time::Calendar::new(grain, &sel.settings.timezone).map_err(|e| ApiError::bad("set", e))?;
            holdfast_engine::query::period_range(&cal, period).map_err(|e| ApiError::bad("period", e))?;
        }
        Ok(sel)
    }

    pub async fn compute(&self, state: &Arc<AppState>) -> Result<Arc<Computed>, ApiError> {
        state.cache.get(state, &self.settings, self.grain, &self.segment_by, self.as_of).await
    }

    /// The labels of the computed periods the selection covers (every period when none is chosen).
    pub fn periods(&self, c: &Computed) -> Result<Vec<String>, ApiError> {
        holdfast_engine::query::select_periods(&c.run, &c.calendar, self.period.as_deref()).map_err(|e| ApiError::bad("period", e))
    }

    /// `[start, end)` of the chosen period, if any.
    pub fn range(&self, c: &Computed) -> Result<Option<(Ts, Ts)>, ApiError> {
        self.period.as_deref().map(|p| holdfast_engine::query::period_range(&c.calendar, p).map_err(|e| ApiError::bad("period", e))).transpose()
    }
}
