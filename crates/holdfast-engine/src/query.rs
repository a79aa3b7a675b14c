//! From user-facing query parameters to engine inputs, shared by every surface (the CLI's `report`,
//! `movements` and `customers`, the server's API and dashboard) so that the same words mean the same run:
//! a preset then `key=value` overrides on top of the configured [`Settings`]; a period written as a label
//! of the grain (`2025-03`, `2025-Q1`) or a range `FROM..TO`; segmentations by name.
//!
//! Errors are plain sentences without the parameter's name: each surface prefixes its own (`--period`,
//! `period=`).
use crate::{Run, RunSpec, SegmentBy, Settings};
use holdfast_core::time::{Calendar, Ts};
use holdfast_core::Grain;

/// `base` with a preset (if any) applied first and then each `KEY=VALUE` override, in order.
pub fn apply_overrides<'a>(base: &Settings, preset: Option<&str>, sets: impl IntoIterator<Item = &'a str>) -> Result<Settings, String> {
    let mut s = base.clone();
    if let Some(p) = preset.filter(|p| !p.trim().is_empty()) {
        s.set("preset", p.trim())?;
    }
    for kv in sets {
        let (k, v) = kv.split_once('=').ok_or_else(|| format!("{kv:?}: expected KEY=VALUE"))?;
        s.set(k.trim(), v.trim())?;
    }
    Ok(s)
}

/// Parses a period (`LABEL` or `FROM..TO`, labels of the calendar's grain) into `[start, end)`.
pub fn period_range(cal: &Calendar, spec: &str) -> Result<(Ts, Ts), String> {
    let (from, to) = spec.split_once("..").unwrap_or((spec, spec));
    let f = cal.parse_label(from)?;
    let t = cal.parse_label(to)?;
    if t.end <= f.start {
        return Err(format!("{spec:?}: the range ends before it starts"));
    }
    Ok((f.start, t.end))
}

/// The run for `grain`, optional `period`, segmentations and knowledge time.
pub fn run_spec(settings: &Settings, grain: Grain, segment_by: &[String], as_of: Option<Ts>, period: Option<&str>) -> Result<RunSpec, String> {
    let (from, to) = match period {
        Some(spec) => {
            let cal = Calendar::new(grain, &settings.timezone)?;
            let (f, t) = period_range(&cal, spec)?;
            (Some(f), Some(t - 1))
        }
        None => (None, None),
    };
    Ok(RunSpec { as_of, grain, from, to, segment_by: segment_by.iter().map(|s| SegmentBy::parse(s)).collect() })
}

/// The labels of the run's periods that `period` selects (all when `None`).
pub fn select_periods(run: &Run, cal: &Calendar, period: Option<&str>) -> Result<Vec<String>, String> {
    let (from, to) = match period {
        Some(spec) => period_range(cal, spec)?,
        None => (i64::MIN, i64::MAX),
    };
    Ok(run.periods.iter().filter(|p| p.start >= from && p.start < to).map(|p| p.label.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_after_the_preset_and_name_bad_input() {
        let s = apply_overrides(&Settings::default(), Some("baremetrics"), ["grouping_window_minutes=7"]).unwrap();
        assert_eq!(s.preset, crate::settings::Preset::Baremetrics);
        assert_eq!(s.grouping_window_minutes, 7);
        assert!(apply_overrides(&Settings::default(), None, ["grouping_window_minutes"]).unwrap_err().contains("KEY=VALUE"));
        assert!(apply_overrides(&Settings::default(), Some("nope"), []).is_err());
    }

    #[test]
    fn period_ranges_are_half_open_and_ordered() {
        let cal = Calendar::new(Grain::Month, "UTC").unwrap();
        let (a, b) = period_range(&cal, "2024-01..2024-03").unwrap();
        assert_eq!(a, 1_704_067_200); // 2024-01-01T00:00:00Z
        assert_eq!(b, 1_711_929_600); // 2024-04-01T00:00:00Z
        assert!(period_range(&cal, "2024-03..2024-01").is_err());
        assert!(period_range(&cal, "2024-13").is_err());
    }
}
