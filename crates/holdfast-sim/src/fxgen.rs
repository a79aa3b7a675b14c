//! Exchange rates: a mean-reverting random walk per currency, quoted every business day.
use crate::calendar::{weekday, DAY};
use crate::customer::Ctx;
use crate::rng::{customer_rng, stream, Draw};
use holdfast_core::fx::{Rate, RATE_SCALE};
use holdfast_core::money::Currency;
use holdfast_core::records::{FxRateRecord, Record};

/// Long-run means of the walks, in USD per unit.
pub const EUR_USD_MEAN: f64 = 1.08;
pub const GBP_USD_MEAN: f64 = 1.27;

fn rate(x: f64) -> Rate {
    Rate(((x * RATE_SCALE as f64).round() as i64).max(1))
}

/// Emits the rows for every business day (Mon–Fri, plus the first day) in `[start, end)`.
///
/// The walks are multiplicative with daily volatility ≈ 0.4 % (EUR) / 0.45 % (GBP), correlated shocks
/// (ρ ≈ 0.6) and a pull of 0.8 % a business day towards 1.08 and 1.27 USD (stationary spread ≈ ±3 %, so a
/// few years range over roughly ±7 %, like the real pairs). Rows are quoted into the reporting
/// currency: `EUR→USD` and `GBP→USD` for USD; `USD→EUR`, `GBP→EUR` for EUR; `USD→GBP`, `EUR→GBP` for GBP. For any
/// other reporting currency the USD quotes are emitted and the engine has no path to it.
pub(crate) fn emit(ctx: &Ctx, start: holdfast_core::Ts, reporting: Currency, sink: &mut dyn FnMut(Record)) {
    let mut rng = customer_rng(ctx.seed, u64::MAX, stream::FX);
    let mut eur = EUR_USD_MEAN * (1.0 + 0.02 * rng.normal());
    let mut gbp = GBP_USD_MEAN * (1.0 + 0.02 * rng.normal());
    let first = start.div_euclid(DAY);
    let last = ctx.end.div_euclid(DAY) - if ctx.end.rem_euclid(DAY) == 0 { 1 } else { 0 };
    let (usd, eur_c, gbp_c) = (Currency::USD, Currency::EUR, Currency::GBP);
    for day in first..=last {
        if ctx.end <= start {
            break;
        }
        let business = weekday(day) < 5;
        if business && day != first {
            let z1 = rng.normal();
            let z2 = 0.6 * z1 + 0.8 * rng.normal();
            eur = eur * (1.0 + 0.004 * z1) + 0.008 * (EUR_USD_MEAN - eur);
            gbp = gbp * (1.0 + 0.0045 * z2) + 0.008 * (GBP_USD_MEAN - gbp);
        }
        if !(business || day == first) {
            continue;
        }
        let d = day as i32;
        let rows: [(Currency, Currency, f64); 2] = if reporting == eur_c {
            [(usd, eur_c, 1.0 / eur), (gbp_c, eur_c, gbp / eur)]
        } else if reporting == gbp_c {
            [(usd, gbp_c, 1.0 / gbp), (eur_c, gbp_c, eur / gbp)]
        } else {
            [(eur_c, usd, eur), (gbp_c, usd, gbp)]
        };
        for (base, quote, x) in rows {
            sink(Record::FxRate(FxRateRecord { day: d, base, quote, rate: rate(x) }));
        }
    }
}
