//! Settings of the signal KPIs (spec §4, §6, §7), with the spec's defaults, and theme rules.
use crate::records::SpendCategory;
use holdfast_core::time::SECS_PER_DAY;

/// Which funnel touch a new customer's acquisition channel comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribution {
    FirstTouch,
    LastTouch,
}

/// A theme rule: a comment mentions the theme when it contains one of the keywords (whole words,
/// case-insensitive) or matches the regular expression.
#[derive(Clone, Debug)]
pub struct ThemeRule {
    pub name: String,
    pub keywords: Vec<String>,
    pub regex: Option<regex::Regex>,
}

impl ThemeRule {
    pub fn new(name: &str, keywords: &[&str], regex: Option<&str>) -> Result<ThemeRule, String> {
        let regex = regex
            .map(|r| regex::RegexBuilder::new(r).case_insensitive(true).build().map_err(|e| format!("theme {name:?}: invalid regex {r:?}: {e}")))
            .transpose()?;
        Ok(ThemeRule { name: name.to_string(), keywords: keywords.iter().map(|k| crate::themes::normalise(k)).filter(|k| !k.is_empty()).collect(), regex })
    }
}

#[derive(Clone, Debug)]
pub struct SignalSettings {
    /// `min_responses`: NPS (and CSAT/CES) with fewer responses get the flag `low_n`.
    pub min_responses: u64,
    /// `onboarding_window_days` (30).
    pub onboarding_window: i64,
    /// `lead_window_days` (180).
    pub lead_window: i64,
    /// `trial_grace_days` (7) after a trial's end.
    pub trial_grace: i64,
    /// Trial length for `trial` funnel rows without a billing trial (14 days).
    pub trial_length: i64,
    /// `freemium_window_days` (90).
    pub freemium_window: i64,
    /// `viral_window_days` (30).
    pub viral_window: i64,
    pub cac_categories: Vec<SpendCategory>,
    pub attribution: Attribution,
    /// `min_theme_comments` (20): a theme needs this many comments to get a share and a lift, and a
    /// discovered phrase must occur in this many comments.
    pub min_theme_comments: u64,
    /// `theme_churn_window_days` (180): churn counted for `theme_churn_lift` after a comment.
    pub theme_churn_window: i64,
    /// How many phrases automatic discovery keeps (10).
    pub discovered_themes: usize,
    pub theme_rules: Vec<ThemeRule>,
}

impl Default for SignalSettings {
    fn default() -> Self {
        SignalSettings {
            min_responses: 30,
            onboarding_window: 30 * SECS_PER_DAY,
            lead_window: 180 * SECS_PER_DAY,
            trial_grace: 7 * SECS_PER_DAY,
            trial_length: 14 * SECS_PER_DAY,
            freemium_window: 90 * SECS_PER_DAY,
            viral_window: 30 * SECS_PER_DAY,
            cac_categories: vec![SpendCategory::Marketing, SpendCategory::Sales],
            attribution: Attribution::FirstTouch,
            min_theme_comments: 20,
            theme_churn_window: 180 * SECS_PER_DAY,
            discovered_themes: 10,
            theme_rules: Vec::new(),
        }
    }
}

impl SignalSettings {
    /// Sets one scalar key (`[signals]` in `holdfast.toml`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let days = |v: &str| v.trim().parse::<i64>().ok().filter(|d| *d >= 0).map(|d| d * SECS_PER_DAY).ok_or_else(|| format!("{key}: expected a whole number of days, got {v:?}"));
        let count = |v: &str| v.trim().parse::<u64>().map_err(|_| format!("{key}: expected a whole number, got {v:?}"));
        match key {
            "min_responses" => self.min_responses = count(value)?,
            "onboarding_window_days" => self.onboarding_window = days(value)?,
            "lead_window_days" => self.lead_window = days(value)?,
            "trial_grace_days" => self.trial_grace = days(value)?,
            "trial_length_days" => self.trial_length = days(value)?,
            "freemium_window_days" => self.freemium_window = days(value)?,
            "viral_window_days" => self.viral_window = days(value)?,
            "min_theme_comments" => self.min_theme_comments = count(value)?,
            "theme_churn_window_days" => self.theme_churn_window = days(value)?,
            "discovered_themes" => self.discovered_themes = count(value)? as usize,
            "attribution" => {
                self.attribution = match value.trim() {
                    "first_touch" => Attribution::FirstTouch,
                    "last_touch" => Attribution::LastTouch,
                    v => return Err(format!("attribution: expected first_touch or last_touch, got {v:?}")),
                }
            }
            "cac_categories" => {
                self.cac_categories = value
                    .split([',', '|'])
                    .map(|c| c.trim().trim_matches(['"', '[', ']', ' ']))
                    .filter(|c| !c.is_empty())
                    .map(|c| SpendCategory::parse(c).ok_or_else(|| format!("cac_categories: {c:?} is not marketing, sales or other")))
                    .collect::<Result<_, _>>()?
            }
            _ => {
                return Err(format!(
                    "unknown signals setting `{key}` (known: min_responses, onboarding_window_days, lead_window_days, trial_grace_days, trial_length_days, freemium_window_days, viral_window_days, min_theme_comments, theme_churn_window_days, discovered_themes, attribution, cac_categories)"
                ))
            }
        }
        Ok(())
    }
}
