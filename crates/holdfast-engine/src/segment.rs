//! Segmentation dimensions (spec §1 "Segmentation"): which segment a customer is in at an instant.
use crate::timeline::ChangeExtra;
use holdfast_core::records::Interval;
use holdfast_core::snapshot::{Snapshot, NONE};
use holdfast_core::Currency;

/// What to segment by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentBy {
    /// Largest-MRR plan (ties → lowest id).
    Plan,
    BillingInterval,
    Currency,
    /// MRR bands in the reporting currency.
    MrrBand,
    /// Month of first `new_business`.
    Cohort,
    /// Any customer attribute (`country`, `size`, `channel`, custom columns), versioned by `valid_from`.
    Attribute(String),
}

impl SegmentBy {
    pub fn parse(s: &str) -> SegmentBy {
        match s.trim() {
            "plan" => SegmentBy::Plan,
            "billing_interval" | "interval" => SegmentBy::BillingInterval,
            "currency" => SegmentBy::Currency,
            "mrr_band" => SegmentBy::MrrBand,
            "cohort" => SegmentBy::Cohort,
            other => SegmentBy::Attribute(other.to_string()),
        }
    }
    pub fn name(&self) -> &str {
        match self {
            SegmentBy::Plan => "plan",
            SegmentBy::BillingInterval => "billing_interval",
            SegmentBy::Currency => "currency",
            SegmentBy::MrrBand => "mrr_band",
            SegmentBy::Cohort => "cohort",
            SegmentBy::Attribute(a) => a,
        }
    }
}

/// Upper bounds of the MRR bands, in major units of the reporting currency.
pub const MRR_BANDS: [(i64, &str); 6] = [(100, "<100"), (500, "100-500"), (2_000, "500-2k"), (10_000, "2k-10k"), (50_000, "10k-50k"), (i64::MAX, "50k+")];

/// A resolved dimension: dense segment ids `0..len` with labels; the last id is "(none)".
pub struct Segmenter {
    pub by: SegmentBy,
    pub labels: Vec<String>,
    attr_key: u32,
    currencies: Vec<Currency>,
    band_scale: i64,
    cohort_base: i64,
}

pub fn month_index(t: i64) -> i64 {
    let d = holdfast_core::time::day_to_date(holdfast_core::time::day_of(t));
    d.year() as i64 * 12 + d.month() as i64 - 1
}

impl Segmenter {
    pub fn new(by: SegmentBy, snap: &Snapshot, reporting: Currency, first: i64, last: i64) -> Result<Segmenter, String> {
        let mut labels = Vec::new();
        let mut attr_key = NONE;
        let mut currencies = Vec::new();
        let cohort_base = month_index(first);
        match &by {
            SegmentBy::Plan => {
                // a plan's name when it is unique, else its id (names repeat across currencies)
                let names = &snap.plans.name;
                for i in 0..snap.plans.ids.len() {
                    let id = snap.plans.ids.name(i as u32);
                    labels.push(match &names[i] {
                        Some(n) if names.iter().filter(|m| m.as_deref() == Some(n.as_ref())).count() == 1 => n.to_string(),
                        _ => id.to_string(),
                    });
                }
            }
            SegmentBy::BillingInterval => labels.extend(["day", "week", "month", "year"].map(String::from)),
            SegmentBy::Currency => {
                currencies = snap.invoices.currencies();
                labels.extend(currencies.iter().map(|c| c.to_string()));
            }
            SegmentBy::MrrBand => labels.extend(MRR_BANDS.iter().map(|b| b.1.to_string())),
            SegmentBy::Cohort => {
                for m in cohort_base..=month_index(last) {
                    labels.push(format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1));
                }
            }
            SegmentBy::Attribute(a) => {
                attr_key = snap.customers.attr_keys.get(a).ok_or_else(|| {
                    let mut known: Vec<&str> = (0..snap.customers.attr_keys.len()).map(|i| snap.customers.attr_keys.name(i as u32)).collect();
                    known.sort_unstable();
                    format!(
                        "cannot segment by {a:?}: no customer has that attribute (available: plan, billing_interval, currency, mrr_band, cohort{}{})",
                        if known.is_empty() { "" } else { ", " },
                        known.join(", ")
                    )
                })?;
                for i in 0..snap.customers.attr_values.len() {
                    labels.push(snap.customers.attr_values.name(i as u32).to_string());
                }
            }
        }
        labels.push("(none)".into());
        let band_scale = 10i64.pow(reporting.exponent() as u32);
        Ok(Segmenter { by, labels, attr_key, currencies, band_scale, cohort_base })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn none(&self) -> u32 {
        (self.labels.len() - 1) as u32
    }
    pub fn attr_key(&self) -> Option<u32> {
        (self.attr_key != NONE).then_some(self.attr_key)
    }

    /// Segment of a customer state. `attr` is the attribute value in force (attribute dimensions);
    /// `cohort_month` the month index of its first new business.
    #[inline]
    pub fn of(&self, e: &ChangeExtra, mrr: i64, attr: Option<u32>, cohort_month: Option<i64>) -> u32 {
        let none = self.none();
        match self.by {
            SegmentBy::Plan => {
                if e.plan == NONE {
                    none
                } else {
                    e.plan
                }
            }
            SegmentBy::BillingInterval => match e.interval {
                Some(Interval::Day) => 0,
                Some(Interval::Week) => 1,
                Some(Interval::Month) => 2,
                Some(Interval::Year) => 3,
                None => none,
            },
            SegmentBy::Currency => e.currency.and_then(|c| self.currencies.iter().position(|x| *x == c)).map(|i| i as u32).unwrap_or(none),
            SegmentBy::MrrBand => {
                let major = mrr / self.band_scale;
                MRR_BANDS.iter().position(|b| major < b.0).unwrap_or(MRR_BANDS.len() - 1) as u32
            }
            SegmentBy::Cohort => match cohort_month {
                Some(m) if m >= self.cohort_base && ((m - self.cohort_base) as usize) < self.labels.len() - 1 => (m - self.cohort_base) as u32,
                _ => none,
            },
            SegmentBy::Attribute(_) => attr.unwrap_or(none),
        }
    }
}
