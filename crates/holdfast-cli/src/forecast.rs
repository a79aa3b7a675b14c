//! `holdfast forecast`: MRR 12 months ahead with 80 %/95 % bands and the `normal_range` check of the latest
//! complete month, rendering `holdfast_lifetime::forecast`; nothing is computed here besides reading the
//! committed change (`cmrr − mrr` at the last period) from the engine's KPI table.
use clap::Args;
use holdfast_core::Currency;
use holdfast_engine::result::Value;
use holdfast_engine::Run;
use holdfast_lifetime::forecast::{forecast as forecast_mrr, monthly_movements, normal_range, Forecast, NormalRange};

use crate::commands::{as_of, load_snapshot, open_store, run_engine, settings_from, OutFormat};
use crate::config::Config;
use crate::{Failure, PolicyArgs};

#[derive(Args, Debug)]
pub struct ForecastArgs {
    /// Months to forecast after the last complete month.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `cmrr − mrr` of the total at the last reported period: changes already committed (scheduled) but not yet in MRR.
fn committed_change(run: &Run) -> i64 {
    let Some(last) = run.periods.last() else { return 0 };
    let Some(total) = run.tables.iter().find(|t| t.segment_by.is_none()) else { return 0 };
    let money = |kpi: &str| match total.get(kpi, &last.label, None).and_then(|r| r.value.clone()) {
        Some(Value::Money(m)) => Some(m),
        _ => None,
    };
    match (money("cmrr"), money("mrr")) {
        (Some(c), Some(m)) => c - m,
        _ => 0,
    }
}

pub fn forecast(cfg: &Config, a: &ForecastArgs) -> Result<(), Failure> {
    let s = settings_from(cfg, &a.policy)?;
    let store = open_store(&cfg.db, true)?;
    let snap = load_snapshot(&store)?;
    let run = run_engine(&snap, &s, holdfast_core::Grain::Month, &[], as_of(&a.policy)?, None)?;
    let history = monthly_movements(&run, &run.periods);
    let f = forecast_mrr(&history, committed_change(&run), a.months).map_err(|e| Failure::new(2, format!("forecast: {e}")))?;
    let range = normal_range(&history).ok();
    print!("{}", render(&f, range.as_ref(), s.reporting_currency, a.format));
    Ok(())
}

fn render(f: &Forecast, range: Option<&NormalRange>, cur: Currency, format: OutFormat) -> String {
    match format {
        OutFormat::Json => {
            let v = serde_json::json!({ "currency": cur.code(), "forecast": f, "normal_range": range });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        OutFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["horizon", "month_of_year", "mrr", "lo80", "hi80", "lo95", "hi95"]);
            for p in &f.points {
                let _ = w.write_record([p.horizon, p.month_of_year as u32].map(|x| x.to_string()).into_iter().chain([p.mrr, p.lo80, p.hi80, p.lo95, p.hi95].map(|x| x.to_string())));
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        OutFormat::Table => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_header(["Month +", "Calendar month", &format!("MRR ({cur})"), "80 % band", "95 % band"]);
            for p in &f.points {
                t.add_row([p.horizon.to_string(), p.month_of_year.to_string(), cur.format_minor(p.mrr), format!("{} – {}", cur.format_minor(p.lo80), cur.format_minor(p.hi80)), format!("{} – {}", cur.format_minor(p.lo95), cur.format_minor(p.hi95))]);
            }
            let seasonal = if f.seasonal { "with calendar-month seasonality" } else { "without seasonality (fewer than 24 months)" };
            let range = range.map_or_else(|| "normal_range: fewer than 3 complete months.".to_string(), |r| format!("normal_range: {}", r.sentence));
            format!("MRR forecast from {} (MRR {}, committed change {}), {} months of history, {seasonal}\n{t}\n{range}\n", f.origin_label, cur.format_minor(f.origin_mrr), cur.format_minor(f.committed_change), f.history_months)
        }
    }
}
