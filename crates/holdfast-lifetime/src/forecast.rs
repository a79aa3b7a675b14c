//! MRR forecast 12 (or `h`) months ahead with 80 % and 95 % prediction intervals, and `normal_range`: is the
//! latest complete month's movement inside the band expected for that calendar month?
//!
//! One job: pure arithmetic on the per-month movement sums of the engine's ledger ([`monthly_movements`]),
//! no I/O. Model (see docs/decisions.md "Forecast"): outflows and expansion are *rates* of the month's
//! starting MRR (expansion, contraction, churn), inflows are *amounts* (new business, reactivation); with at
//! least 24 months each gets a calendar-month seasonal factor shrunk toward 1 when noisy; the point path is
//! `M_h = M_{h-1}·(1 + Σ rate·factor) + Σ inflow·factor`, plus the committed change `cmrr − mrr` in month 1.
//! Intervals propagate the variances of the historical monthly rates and inflows analytically (normal
//! approximation, independent months). Invariants: money in and out as `i64` minor units, rounded once at the
//! boundary; bands always contain the point forecast and never narrow with horizon; no NaN in a reported value.
use holdfast_core::time::{Period, Ts};
use holdfast_engine::timeline::Kind;
use holdfast_engine::Run;
use serde::Serialize;

use crate::InputError;

/// Months of history needed before seasonal factors are estimated (two full years).
pub const SEASONAL_MIN_MONTHS: usize = 24;
/// Months of recent history whose deseasonalised mean is each movement's level.
pub const LEVEL_MONTHS: usize = 12;
const Z80: f64 = 1.281_551_565_545;
const Z95: f64 = 1.959_963_984_540;

/// Movement names in the order of [`MonthlyMovements::series`].
pub const MOVEMENTS: [&str; 5] = ["new_business", "expansion", "contraction", "churn", "reactivation"];
/// Whether each movement of [`MOVEMENTS`] is modelled as a rate of starting MRR (else an amount).
const IS_RATE: [bool; 5] = [false, true, true, true, false];

/// Per complete month: starting MRR and the signed sums of each movement (churn and contraction negative).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MonthlyMovements {
    pub label: Vec<String>,
    /// Calendar month 1–12 of each month.
    pub month_of_year: Vec<u8>,
    pub start_mrr: Vec<i64>,
    /// Indexed like [`MOVEMENTS`], then by month.
    pub series: [Vec<i64>; 5],
}

impl MonthlyMovements {
    pub fn len(&self) -> usize {
        self.label.len()
    }
    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }
    /// Appends one month (for callers building a series by hand, e.g. tests and simulations).
    pub fn push(&mut self, label: &str, month_of_year: u8, start_mrr: i64, movements: [i64; 5]) {
        self.label.push(label.to_string());
        self.month_of_year.push(month_of_year);
        self.start_mrr.push(start_mrr);
        for (s, m) in self.series.iter_mut().zip(movements) {
            s.push(m);
        }
    }
    /// MRR at the end of month `i`: start plus every movement (FX-only revaluations are in the next start).
    pub fn end_mrr(&self, i: usize) -> i64 {
        self.start_mrr[i] + self.series.iter().map(|s| s[i]).sum::<i64>()
    }
}

fn month_of_label(label: &str) -> Option<u8> {
    label.get(5..7)?.parse().ok().filter(|m| (1..=12).contains(m))
}

/// Sums the ledger by month over `periods` (month grain, as in `run.periods`), keeping complete months only
/// (`end ≤ as_of + 1`). One pass over the ledger, no allocation per row.
pub fn monthly_movements(run: &Run, periods: &[Period]) -> MonthlyMovements {
    let complete: Vec<&Period> = periods.iter().filter(|p| p.end <= run.as_of + 1).collect();
    let n = complete.len();
    let mut start = vec![0i64; n + 1];
    let mut sums = [vec![0i64; n], vec![0i64; n], vec![0i64; n], vec![0i64; n], vec![0i64; n]];
    let starts: Vec<Ts> = complete.iter().map(|p| p.start).collect();
    for c in run.ledger.iter().filter(|c| c.t <= run.as_of) {
        // Index of the first month starting after `c.t`: the change raises the start MRR of every later month.
        let after = starts.partition_point(|&s| s <= c.t);
        if after < n {
            start[after] += c.amount;
        }
        if after == 0 || c.t >= complete[after - 1].end {
            continue;
        }
        let slot = match c.kind {
            Kind::NewBusiness => 0,
            Kind::Expansion => 1,
            Kind::Contraction => 2,
            Kind::Churn => 3,
            Kind::Reactivation => 4,
            Kind::FxOnly => continue,
        };
        sums[slot][after - 1] += c.amount;
    }
    let mut out = MonthlyMovements::default();
    let mut running = 0i64;
    for (i, p) in complete.iter().enumerate() {
        running += start[i];
        out.push(&p.label, month_of_label(&p.label).unwrap_or(1), running, [sums[0][i], sums[1][i], sums[2][i], sums[3][i], sums[4][i]]);
    }
    out
}

/// One movement's model: mean, calendar-month factors (1.0 when not seasonal) and residual standard deviation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MovementModel {
    pub movement: &'static str,
    /// `rate` (share of starting MRR) or `amount` (minor units per month).
    pub unit: &'static str,
    /// Level: deseasonalised mean of the last [`LEVEL_MONTHS`] months.
    pub mean: f64,
    /// Index 0 = January.
    pub seasonal_factors: [f64; 12],
    /// Standard deviation of the deseasonalised monthly values around the mean.
    pub sd: f64,
}

/// One forecast month, money in minor units.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForecastPoint {
    pub horizon: u32,
    pub month_of_year: u8,
    pub mrr: i64,
    pub lo80: i64,
    pub hi80: i64,
    pub lo95: i64,
    pub hi95: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Forecast {
    /// MRR at the end of the last complete month (the forecast's origin).
    pub origin_mrr: i64,
    pub origin_label: String,
    pub history_months: usize,
    pub seasonal: bool,
    pub committed_change: i64,
    pub models: Vec<MovementModel>,
    pub points: Vec<ForecastPoint>,
    pub flags: Vec<&'static str>,
}

fn value(m: &MonthlyMovements, k: usize, i: usize) -> Option<f64> {
    let x = m.series[k][i] as f64;
    if IS_RATE[k] {
        (m.start_mrr[i] > 0).then(|| x / m.start_mrr[i] as f64)
    } else {
        Some(x)
    }
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    weighted_mean_sd(&xs.iter().map(|&x| (x, 1.0)).collect::<Vec<_>>())
}

/// Weighted mean and standard deviation (weights normalised to the count, so equal weights give the sample sd).
fn weighted_mean_sd(xs: &[(f64, f64)]) -> (f64, f64) {
    let total: f64 = xs.iter().map(|x| x.1).sum();
    if xs.is_empty() || total <= 0.0 {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|(v, w)| v * w).sum::<f64>() / total;
    let sd = if xs.len() > 1 { (xs.iter().map(|(v, w)| w * n / total * (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (mean, sd)
}

/// Seasonal factors by calendar month: the month's (weighted) mean over the overall mean, shrunk toward 1 with
/// the positive-part James–Stein weight `max(0, 1 − se² / (raw − 1)²)`, `se` being the standard error of the
/// raw factor from the within-month spread; a factor whose deviation is within its noise becomes 1.
fn seasonal_factors(values: &[(u8, f64, f64)], overall: f64) -> [f64; 12] {
    let mut f = [1.0; 12];
    if overall.abs() < 1e-12 {
        return f;
    }
    let months: Vec<Vec<(f64, f64)>> = (1..=12u8).map(|m| values.iter().filter(|v| v.0 == m).map(|v| (v.1, v.2)).collect()).collect();
    // Pooled within-month spread: one noise level for all months, steadier than each month's own two or three
    // observations (with which a lumpy month would look seasonal).
    let (mut ss, mut dof) = (0.0, 0.0);
    for xs in months.iter().filter(|xs| xs.len() > 1) {
        let (_, sd) = weighted_mean_sd(xs);
        ss += sd * sd * (xs.len() - 1) as f64;
        dof += (xs.len() - 1) as f64;
    }
    if dof == 0.0 {
        return f;
    }
    let spread = (ss / dof).sqrt();
    for (slot, xs) in f.iter_mut().zip(&months) {
        if xs.is_empty() {
            continue;
        }
        let (mean, _) = weighted_mean_sd(xs);
        let raw = mean / overall;
        let se = spread / (overall.abs() * (xs.len() as f64).sqrt());
        let dev = raw - 1.0;
        let w = if dev.abs() < 1e-12 { 0.0 } else { (1.0 - se * se / (dev * dev)).max(0.0) };
        *slot = 1.0 + w * dev;
    }
    f
}

/// Rates are weighted by starting MRR (a pooled ratio `Σ amount / Σ start`), so the tiny base of a young
/// company's first months cannot dominate; amounts weigh 1.
fn fit(m: &MonthlyMovements, k: usize, seasonal: bool) -> MovementModel {
    let weight = |i: usize| if IS_RATE[k] { m.start_mrr[i] as f64 } else { 1.0 };
    let values: Vec<(u8, f64, f64)> = (0..m.len()).filter_map(|i| value(m, k, i).map(|v| (m.month_of_year[i], v, weight(i)))).collect();
    let (mean, _) = weighted_mean_sd(&values.iter().map(|v| (v.1, v.2)).collect::<Vec<_>>());
    let factors = if seasonal { seasonal_factors(&values, mean) } else { [1.0; 12] };
    let deseasonalised: Vec<(f64, f64)> = values.iter().map(|&(moy, v, w)| (v / factors[moy as usize - 1].max(1e-9), w)).collect();
    // Spread of the values around their seasonal expectation, but never below the raw spread when fewer than
    // three years inform the factors: two observations a month overfit and the backtest showed bands too narrow.
    let resid: Vec<(f64, f64)> = values.iter().map(|&(moy, v, w)| (v - mean * factors[moy as usize - 1], w)).collect();
    let raw_sd = weighted_mean_sd(&values.iter().map(|v| (v.1, v.2)).collect::<Vec<_>>()).1;
    let sd = if m.len() < 36 { weighted_mean_sd(&resid).1.max(raw_sd) } else { weighted_mean_sd(&resid).1 };
    // The level is the deseasonalised mean of the last LEVEL_MONTHS months: a growing company's inflows trend,
    // and the all-history mean would under-forecast them (the backtest showed it). Factors stay full-history.
    let recent = &deseasonalised[deseasonalised.len().saturating_sub(LEVEL_MONTHS)..];
    let level = weighted_mean_sd(recent).0;
    MovementModel { movement: MOVEMENTS[k], unit: if IS_RATE[k] { "rate" } else { "amount" }, mean: level, seasonal_factors: factors, sd }
}

/// Forecasts `horizon` months after the last month of `history`. `committed_change` (minor units) is the
/// known future change `cmrr − mrr` at the last period, added in month 1 and then subject to the same rates.
pub fn forecast(history: &MonthlyMovements, committed_change: i64, horizon: u32) -> Result<Forecast, InputError> {
    if history.len() < 2 {
        return Err(InputError::whole("history", history.len(), "at least 2 complete months of movements"));
    }
    if horizon == 0 || horizon > 120 {
        return Err(InputError::whole("horizon", horizon, "between 1 and 120 months"));
    }
    let seasonal = history.len() >= SEASONAL_MIN_MONTHS;
    let models: Vec<MovementModel> = (0..5).map(|k| fit(history, k, seasonal)).collect();
    let last = history.len() - 1;
    let origin = history.end_mrr(last);
    let mut flags = vec![];
    if !seasonal {
        flags.push("no_seasonality");
    }
    let (mut mean, mut var) = (origin as f64, 0.0f64);
    let mut moy = history.month_of_year[last];
    let mut points = Vec::with_capacity(horizon as usize);
    let (mut d_rate, mut d_inflow) = (0.0f64, 0.0f64);
    let level_n = history.len().min(LEVEL_MONTHS) as f64;
    for h in 1..=horizon {
        moy = moy % 12 + 1;
        let f = |k: usize| models[k].mean * models[k].seasonal_factors[moy as usize - 1];
        let (mut rate, mut rate_var, mut inflow, mut inflow_var) = (0.0, 0.0, 0.0, 0.0);
        for k in 0..5 {
            if IS_RATE[k] {
                rate += f(k);
                rate_var += models[k].sd.powi(2);
            } else {
                inflow += f(k);
                inflow_var += models[k].sd.powi(2);
            }
        }
        let base = mean + if h == 1 { committed_change as f64 } else { 0.0 };
        // Month-to-month noise: Var(B·(1+g) + I) with B, g, I independent = (E[1+g]² + Var g)·Var B + E[B]²·Var g + Var I.
        var = ((1.0 + rate).powi(2) + rate_var) * var + base * base * rate_var + inflow_var;
        // Level uncertainty persists over the horizon: sensitivities of the path to the net rate and inflow levels.
        d_rate = d_rate * (1.0 + rate) + base;
        d_inflow = d_inflow * (1.0 + rate) + 1.0;
        mean = base * (1.0 + rate) + inflow;
        let sd = (var + d_rate * d_rate * rate_var / level_n + d_inflow * d_inflow * inflow_var / level_n).sqrt();
        let money = |x: f64| if x.is_finite() { x.round() as i64 } else { 0 };
        let point = money(mean);
        points.push(ForecastPoint {
            horizon: h,
            month_of_year: moy,
            mrr: point,
            lo80: money(mean - Z80 * sd).min(point),
            hi80: money(mean + Z80 * sd).max(point),
            lo95: money(mean - Z95 * sd).min(point),
            hi95: money(mean + Z95 * sd).max(point),
        });
    }
    Ok(Forecast { origin_mrr: origin, origin_label: history.label[last].clone(), history_months: history.len(), seasonal, committed_change, models, points, flags })
}

/// One movement (or `net_new_mrr`) of the latest complete month against its expected band.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RangeCheck {
    pub movement: &'static str,
    pub unit: &'static str,
    pub value: f64,
    pub expected: Option<f64>,
    pub sd: Option<f64>,
    pub z: Option<f64>,
    pub inside: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NormalRange {
    pub label: String,
    /// `same_calendar_month` when at least 2 earlier years give that month, else `all_months`.
    pub basis: &'static str,
    /// Band half-width in standard deviations (95 %).
    pub z_limit: f64,
    pub checks: Vec<RangeCheck>,
    pub sentence: String,
}

/// `normal_range`: z-score of the latest complete month's net new MRR and each movement against the earlier
/// values of the same calendar month (all earlier months when fewer than 2 exist); outside |z| > 1.96 is unusual.
pub fn normal_range(history: &MonthlyMovements) -> Result<NormalRange, InputError> {
    if history.len() < 3 {
        return Err(InputError::whole("history", history.len(), "at least 3 complete months of movements"));
    }
    let last = history.len() - 1;
    let same: Vec<usize> = (0..last).filter(|&i| history.month_of_year[i] == history.month_of_year[last]).collect();
    let (basis, idx): (&'static str, Vec<usize>) = if same.len() >= 2 { ("same_calendar_month", same) } else { ("all_months", (0..last).collect()) };
    let net = |i: usize| Some((history.end_mrr(i) - history.start_mrr[i]) as f64);
    let mut checks = Vec::with_capacity(6);
    let mut series: Vec<(&'static str, &'static str, Box<dyn Fn(usize) -> Option<f64>>)> = vec![("net_new_mrr", "amount", Box::new(net))];
    for k in 0..5 {
        series.push((MOVEMENTS[k], if IS_RATE[k] { "rate" } else { "amount" }, Box::new(move |i| value(history, k, i))));
    }
    for (name, unit, get) in &series {
        let Some(v) = get(last) else { continue };
        let xs: Vec<f64> = idx.iter().filter_map(|&i| get(i)).collect();
        let (mean, sd) = mean_sd(&xs);
        let (expected, sd, z, inside) = if xs.len() >= 2 && sd > 0.0 {
            let z = (v - mean) / sd;
            (Some(mean), Some(sd), Some(z), Some(z.abs() <= Z95))
        } else {
            (xs.first().map(|_| mean), None, None, None)
        };
        checks.push(RangeCheck { movement: name, unit, value: v, expected, sd, z, inside });
    }
    let unusual: Vec<String> = checks
        .iter()
        .filter(|c| c.inside == Some(false))
        .map(|c| format!("{} is {} than usual (z = {:+.1})", c.movement, if c.z.unwrap_or(0.0) > 0.0 { "higher" } else { "lower" }, c.z.unwrap_or(0.0)))
        .collect();
    let sentence = if unusual.is_empty() {
        format!("{}: every movement is inside its expected range.", history.label[last])
    } else {
        format!("{}: {}.", history.label[last], unusual.join("; "))
    };
    Ok(NormalRange { label: history.label[last].clone(), basis, z_limit: Z95, checks, sentence })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn label(i: usize) -> (String, u8) {
        let (y, m) = (2020 + i / 12, i % 12 + 1);
        (format!("{y:04}-{m:02}"), m as u8)
    }

    #[test]
    fn constant_rates_reproduce_the_deterministic_path() {
        // Expansion +2 %, contraction −1 %, churn −3 % of starting MRR (net −2 %), inflows 5,000 + 1,000.
        let mut h = MonthlyMovements::default();
        h.push("2025-01", 1, 1_000_000, [5_000, 20_000, -10_000, -30_000, 1_000]);
        h.push("2025-02", 2, 986_000, [5_000, 19_720, -9_860, -29_580, 1_000]);
        assert_eq!(h.end_mrr(1), 972_280);
        let f = forecast(&h, 0, 3).unwrap();
        // By hand: 972,280·0.98 + 6,000 = 958,834.4; ·0.98 + 6,000 = 945,657.712; ·0.98 + 6,000 = 932,744.558.
        let mrr: Vec<i64> = f.points.iter().map(|p| p.mrr).collect();
        assert_eq!(mrr, vec![958_834, 945_658, 932_745]);
        // No dispersion in the history: the bands collapse onto the point.
        assert!(f.points.iter().all(|p| p.lo95 == p.mrr && p.hi95 == p.mrr));
        assert_eq!(f.points[0].month_of_year, 3);
        // A committed +10,000 enters month 1 and then follows the rates: 982,280·0.98 + 6,000 = 968,634.4.
        let c = forecast(&h, 10_000, 2).unwrap();
        assert_eq!(c.points[0].mrr, 968_634);
        assert_eq!(c.points[1].mrr, 955_262); // 968,634.4·0.98 + 6,000 = 955,261.712
    }

    #[test]
    fn too_little_history_is_an_error_not_a_panic() {
        let mut h = MonthlyMovements::default();
        h.push("2025-01", 1, 100, [0; 5]);
        let e = forecast(&h, 0, 12).unwrap_err();
        assert_eq!(e.field, "history");
        assert!(normal_range(&h).is_err());
        h.push("2025-02", 2, 100, [0; 5]);
        assert_eq!(forecast(&h, 0, 0).unwrap_err().field, "horizon");
    }

    fn noisy_history(months: usize, seed: u64) -> MonthlyMovements {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let mut h = MonthlyMovements::default();
        let mut mrr = 5_000_000i64;
        for i in 0..months {
            let (l, m) = label(i);
            let r = |rng: &mut rand_pcg::Pcg64, mean: f64, spread: f64| (mrr as f64 * (mean + spread * (rng.random::<f64>() - 0.5))).round() as i64;
            let mv = [rng.random_range(80_000..120_000), r(&mut rng, 0.02, 0.01), r(&mut rng, -0.01, 0.006), r(&mut rng, -0.025, 0.01), rng.random_range(5_000..15_000)];
            h.push(&l, m, mrr, mv);
            mrr = h.end_mrr(i);
        }
        h
    }

    #[test]
    fn intervals_contain_the_point_and_widen_with_horizon() {
        let h = noisy_history(30, 7);
        let f = forecast(&h, 0, 12).unwrap();
        assert!(f.seasonal);
        let mut prev80 = 0;
        let mut prev95 = 0;
        for p in &f.points {
            assert!(p.lo95 <= p.lo80 && p.lo80 < p.mrr && p.mrr < p.hi80 && p.hi80 <= p.hi95, "{p:?}");
            assert!(p.hi80 - p.lo80 > prev80 && p.hi95 - p.lo95 > prev95, "{p:?}");
            prev80 = p.hi80 - p.lo80;
            prev95 = p.hi95 - p.lo95;
        }
    }

    #[test]
    fn december_spike_is_recovered_and_noise_is_shrunk_away() {
        // New business 10,000 a month (+300 in even years, −300 in odd ones) and 30,000 every December, four years.
        let mut h = MonthlyMovements::default();
        for i in 0..48 {
            let (l, m) = label(i);
            let nb = if m == 12 { 30_000 } else { 10_000 + if (i / 12) % 2 == 0 { 300 } else { -300 } };
            h.push(&l, m, 1_000_000, [nb, 0, 0, 0, 0]);
        }
        let f = forecast(&h, 0, 12).unwrap();
        let nb = &f.models[0];
        // Overall mean = (44·10,000 + 4·30,000)/48 = 11,666.67 (the ±300 cancel: 22 months each way).
        let mean = (44.0 * 10_000.0 + 4.0 * 30_000.0) / 48.0;
        // The level is the last year deseasonalised: (11·9,700/0.857 + 30,000/2.571)/12 ≈ 11,346.
        assert!((nb.mean - 11_346.0).abs() < 30.0, "{}", nb.mean);
        // Shrinkage moves December by (se/dev)² with se = 346/(11,667·√4) = 0.0148, dev = 1.571: ~1e-4 of the factor.
        assert!((nb.seasonal_factors[11] - 30_000.0 / mean).abs() < 1e-3, "{:?}", nb.seasonal_factors);
        for m in 0..11 {
            assert!((nb.seasonal_factors[m] - 10_000.0 / mean).abs() < 0.02, "{:?}", nb.seasonal_factors);
        }
        // The December forecast (horizon 12, origin 2023-12) carries the spike.
        let step = |h: usize| f.points[h].mrr - if h == 0 { f.origin_mrr } else { f.points[h - 1].mrr };
        assert_eq!(f.points[11].month_of_year, 12);
        assert!((step(11) - 29_170).abs() < 100, "{}", step(11)); // 11,346 · 2.571
        assert!((step(0) - 9_700).abs() < 100, "{}", step(0));
    }

    #[test]
    fn pure_noise_gets_factors_near_one() {
        let h = noisy_history(48, 11);
        let f = forecast(&h, 0, 1).unwrap();
        let raw_spread = f.models[0].seasonal_factors.iter().map(|x| (x - 1.0).abs()).fold(0.0, f64::max);
        // Uniform noise of ±20 % around 100,000 (sd 11.5 %): a month's mean of 4 draws has se 5.8 %, so raw factors
        // wander up to ~±13 %; shrinkage sets those within their noise to exactly 1 and pulls the rest in.
        assert!(raw_spread < 0.12, "{:?}", f.models[0].seasonal_factors);
        assert!(f.models[0].seasonal_factors.iter().filter(|&&x| x == 1.0).count() >= 4, "{:?}", f.models[0].seasonal_factors);
    }

    #[test]
    fn normal_range_flags_the_unusual_movement() {
        let mut h = MonthlyMovements::default();
        for i in 0..37 {
            let (l, m) = label(i);
            let nb = if m == 12 { 30_000 } else { 10_000 + if (i / 12) % 2 == 0 { 300 } else { -300 } };
            let churn = if i == 36 { -40_000 } else { -10_000 - (i as i64 / 12 % 3) * 100 };
            h.push(&l, m, 1_000_000, [nb, 0, 0, churn, 0]);
        }
        // The last month (2023-01) has a churn spike; December's new business is normal for December.
        let r = normal_range(&h).unwrap();
        assert_eq!(r.basis, "same_calendar_month");
        let churn = r.checks.iter().find(|c| c.movement == "churn").unwrap();
        assert_eq!(churn.inside, Some(false));
        assert!(churn.z.unwrap() < -1.96);
        assert_eq!(r.checks.iter().find(|c| c.movement == "new_business").unwrap().inside, Some(true));
        assert!(r.sentence.contains("churn is lower than usual"), "{}", r.sentence);
        assert!(r.sentence.contains("net_new_mrr is lower"), "{}", r.sentence);
        // The December spike, checked against earlier Decembers, is inside.
        let mut dec = MonthlyMovements::default();
        for i in 0..36 {
            let (l, m) = label(i);
            let nb = if m == 12 { 30_000 + (i as i64 / 12 % 2) * 100 } else { 10_000 };
            dec.push(&l, m, 1_000_000, [nb, 0, 0, -10_000, 0]);
        }
        let r = normal_range(&dec).unwrap();
        assert!(r.sentence.contains("inside its expected range"), "{}", r.sentence);
    }
}
