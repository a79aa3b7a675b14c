//! Configuration in one place: `holdfast.toml` (documented defaults in `holdfast.example.toml`), then
//! environment (`HOLDFAST_DB`, `HOLDFAST_CONFIG`), then flags. Policy keys go through
//! [`Settings::set`], so a file and `--set key=value` are validated by the same code.
use anyhow::{bail, Context, Result};
use holdfast_engine::Settings;
use std::path::{Path, PathBuf};

pub const DEFAULT_DB: &str = "holdfast.db";

#[derive(Debug, Clone)]
pub struct Config {
    pub db: PathBuf,
    pub settings: Settings,
    pub grain: holdfast_core::Grain,
    pub segment_by: Vec<String>,
    /// `[policy] merge_map_file`: CSV of explicit customer merges.
    pub merge_map_file: Option<PathBuf>,
    /// Where the config came from, for `--help`-style diagnostics.
    pub source: Option<PathBuf>,
    /// `[stripe] api_key` for `holdfast sync stripe` ($STRIPE_API_KEY wins). Its Debug is redacted.
    pub stripe_api_key: Option<holdfast_stripe::sync::ApiKey>,
    /// `[signals]` and `[themes]`: settings of the customer-success signal KPIs.
    pub signals: holdfast_signals::SignalSettings,
    /// `[usage]`: product usage settings (holdfast-usage).
    pub usage: holdfast_usage::UsageSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config { db: DEFAULT_DB.into(), settings: Settings::default(), grain: holdfast_core::Grain::Month, segment_by: vec![], merge_map_file: None, source: None, stripe_api_key: None, signals: Default::default(), usage: Default::default() }
    }
}

fn toml_value_to_string(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Loads the config file: `explicit` if given (must exist), else `$HOLDFAST_CONFIG`, else `./holdfast.toml`
/// if present, else defaults.
pub fn load(explicit: Option<&Path>) -> Result<Config> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => match std::env::var_os("HOLDFAST_CONFIG") {
            Some(p) => Some(PathBuf::from(p)),
            None => Some(PathBuf::from("holdfast.toml")).filter(|p| p.exists()),
        },
    };
    let mut cfg = Config::default();
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
        apply_toml(&mut cfg, &text).with_context(|| format!("in config file {}", path.display()))?;
        cfg.source = Some(path);
    }
    if let Some(db) = std::env::var_os("HOLDFAST_DB") {
        cfg.db = db.into();
    }
    Ok(cfg)
}

pub fn apply_toml(cfg: &mut Config, text: &str) -> Result<()> {
    let doc: toml::Table = text.parse().context("not valid TOML")?;
    for (section, v) in &doc {
        let Some(table) = v.as_table() else { bail!("top-level key `{section}` must be a section ([store], [report], [policy], [stripe], [signals], [themes] or [usage])") };
        match section.as_str() {
            "store" => {
                for (k, v) in table {
                    match k.as_str() {
                        "path" => cfg.db = toml_value_to_string(v).into(),
                        _ => bail!("[store] has no key `{k}` (known: path)"),
                    }
                }
            }
            "report" => {
                for (k, v) in table {
                    match k.as_str() {
                        "grain" => cfg.grain = toml_value_to_string(v).parse().map_err(anyhow::Error::msg).context("[report] grain")?,
                        "segment_by" => {
                            let arr = v.as_array().context("[report] segment_by must be a list of strings")?;
                            cfg.segment_by = arr.iter().map(toml_value_to_string).collect();
                        }
                        _ => bail!("[report] has no key `{k}` (known: grain, segment_by)"),
                    }
                }
            }
            "policy" => {
                // the preset first, so explicit keys override it whatever their order in the file
                if let Some(p) = table.get("preset") {
                    cfg.settings.set("preset", &toml_value_to_string(p)).map_err(anyhow::Error::msg)?;
                }
                for (k, v) in table {
                    if k == "preset" {
                        continue;
                    }
                    if k == "merge_map_file" {
                        cfg.merge_map_file = Some(toml_value_to_string(v).into());
                        continue;
                    }
                    if k == "fx_fixed_rates" {
                        let t = v.as_table().context("[policy] fx_fixed_rates must be a table like { EUR = \"1.08\" }")?;
                        cfg.settings.fx_fixed_rates = t.iter().map(|(c, r)| (c.clone(), toml_value_to_string(r))).collect();
                        continue;
                    }
                    cfg.settings.set(k, &toml_value_to_string(v)).map_err(anyhow::Error::msg).with_context(|| "in [policy]")?;
                }
            }
            "stripe" => {
                for (k, v) in table {
                    match k.as_str() {
                        // The error never shows the value: it may be a key in the wrong place.
                        "api_key" => {
                            let key = v.as_str().context("[stripe] api_key must be a string")?;
                            cfg.stripe_api_key = Some(holdfast_stripe::sync::ApiKey::new(key).map_err(|e| anyhow::anyhow!("[stripe] api_key: {e}"))?);
                        }
                        _ => bail!("[stripe] has no key `{k}` (known: api_key)"),
                    }
                }
            }
            "signals" | "themes" => crate::signals::apply_toml_section(&mut cfg.signals, section, table)?,
            "usage" => cfg.usage = v.clone().try_into().context("in [usage]")?,
            _ => bail!("unknown section [{section}] (known: [store], [report], [policy], [stripe], [signals], [themes], [usage])"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_equals_defaults() {
        let mut c = Config::default();
        apply_toml(&mut c, include_str!("../../../holdfast.example.toml")).unwrap();
        assert_eq!(c.settings, Settings::default());
        assert_eq!(c.usage, holdfast_usage::UsageSettings::default());
    }

    #[test]
    fn stripe_api_key_is_read_and_never_shown() {
        let mut c = Config::default();
        apply_toml(&mut c, "[stripe]\napi_key = \"rk_live_secret123\"\n").unwrap();
        assert_eq!(c.stripe_api_key, Some(holdfast_stripe::sync::ApiKey::new("rk_live_secret123").unwrap()));
        assert!(!format!("{c:?}").contains("secret123"));
        let e = apply_toml(&mut c, "[stripe]\napi_kye = \"rk_live_secret123\"\n").unwrap_err();
        assert!(!format!("{e:#}").contains("secret123") && format!("{e:#}").contains("api_kye"), "{e:#}");
    }

    #[test]
    fn preset_then_overrides_and_clear_errors() {
        let mut c = Config::default();
        apply_toml(&mut c, "[policy]\nzero_mrr_policy = \"active\"\npreset = \"baremetrics\"\n").unwrap();
        assert_eq!(c.settings.preset, holdfast_engine::settings::Preset::Baremetrics);
        assert_eq!(c.settings.zero_mrr_policy, holdfast_engine::settings::ZeroMrrPolicy::Active);
        let e = apply_toml(&mut c, "[policy]\ngrouping_window_minutes = \"x\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("grouping_window_minutes"), "{e:#}");
        let e = apply_toml(&mut c, "[polcy]\n").unwrap_err();
        assert!(format!("{e:#}").contains("unknown section [polcy]"));
    }
}
