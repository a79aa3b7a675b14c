//! The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, 2010; spec §5):
//! each customer renews every billing period with a fixed probability `1 − θ`, `θ ~ Beta(α, β)` across customers.
//!
//! `P(T = t) = B(α+1, β+t−1)/B(α,β)`, `S(t) = B(α, β+t)/B(α,β)`, `r(t) = (β+t−1)/(α+β+t−1)`. Curves are built
//! by the ratio recursion `S(t) = S(t−1)·r(t)` (exact, no beta functions, no underflow in log space).
//! Fits maximise the likelihood over `(ln α, ln β)` from `(1, 1)`; one billing interval per fit (monthly and
//! annual plans have different periods and are fitted separately).
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::error::InputError;
use crate::km::{Interval, KaplanMeier};
use crate::optimize::{bisect, golden_section, hessian, invert, nelder_mead};
use crate::special::hyp2f1;

/// sBG parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sbg {
    pub alpha: f64,
    pub beta: f64,
}

impl Sbg {
    pub fn new(alpha: f64, beta: f64) -> Result<Self, InputError> {
        for (name, v) in [("alpha", alpha), ("beta", beta)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(InputError::whole(name, v, "a finite number > 0"));
            }
        }
        Ok(Sbg { alpha, beta })
    }

    /// Retention rate at renewal `t ≥ 1`: the share of those alive at `t−1` still alive at `t`.
    pub fn retention_rate(&self, t: u32) -> f64 {
        let t = t as f64;
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// `S(t)` for `t = 0..=horizon`.
    pub fn survival_curve(&self, horizon: u32) -> Vec<f64> {
        let mut s = Vec::with_capacity(horizon as usize + 1);
        s.push(1.0);
        for t in 1..=horizon {
            s.push(s[t as usize - 1] * self.retention_rate(t));
        }
        s
    }

    pub fn survival(&self, t: u32) -> f64 {
        (1..=t).map(|i| self.retention_rate(i)).product()
    }

    /// `P(T = t)`, `t ≥ 1`: churn at the `t`-th renewal.
    pub fn churn_probability(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        self.survival(t - 1) * self.alpha / (self.alpha + self.beta + t as f64 - 1.0)
    }

    /// `E[T] = (α+β−1)/(α−1)`; `None` (infinite) when `α ≤ 1`.
    pub fn expected_lifetime(&self) -> Option<f64> {
        (self.alpha > 1.0).then(|| (self.alpha + self.beta - 1.0) / (self.alpha - 1.0))
    }

    /// Median lifetime in periods: the first `t` with `S(t) < 0.5` (the strict rule, as for Kaplan–Meier);
    /// `None` beyond ten thousand periods.
    pub fn median_lifetime(&self) -> Option<u32> {
        let mut s = 1.0;
        for t in 1..=10_000 {
            s *= self.retention_rate(t);
            if s < 0.5 {
                return Some(t);
            }
        }
        None
    }

    /// Discounted expected lifetime of a new customer, first payment at `t = 0`:
    /// `DEL(d) = Σ_{t≥0} S(t)/(1+d)^t = ₂F₁(1, β; α+β; 1/(1+d))`, `d > 0` per period.
    pub fn del(&self, d: f64) -> Option<f64> {
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        hyp2f1(1.0, self.beta, self.alpha + self.beta, 1.0 / (1.0 + d))
    }

    /// Discounted expected residual lifetime of a customer with `renewals = n − 1` renewals behind it, just
    /// before its `n`-th renewal decision: `(β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d))`.
    pub fn derl(&self, d: f64, renewals: u32) -> Option<f64> {
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        let n = renewals as f64 + 1.0;
        let (a, b) = (self.alpha, self.beta);
        Some((b + n - 1.0) / (a + b + n - 1.0) * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d))?)
    }

    /// Log-likelihood of `data`: `Σ_t lost_t ln P(t) + Σ_K alive_K ln S(K)`.
    pub fn log_likelihood(&self, data: &SurvivalCounts) -> f64 {
        let (a, b) = (self.alpha, self.beta);
        let mut ln_s = 0.0;
        let mut ll = 0.0;
        for t in 1..data.lost.len() {
            let tf = t as f64;
            let denominator = a + b + tf - 1.0;
            if data.lost[t] > 0 {
                ll += data.lost[t] as f64 * (ln_s + (a / denominator).ln());
            }
            ln_s += ((b + tf - 1.0) / denominator).ln();
            if data.alive[t] > 0 {
                ll += data.alive[t] as f64 * ln_s;
            }
        }
        ll
    }
}

/// Per-period discount rate from an annual one: `(1 + annual)^(1/periods_per_year) − 1` (compounding, so a year
/// of monthly discounting equals one annual step).
pub fn period_discount_rate(annual: f64, periods_per_year: f64) -> f64 {
    (1.0 + annual).powf(1.0 / periods_per_year) - 1.0
}

/// What a sBG fit sees: `lost[t]` customers churned at renewal `t ≥ 1`, `alive[K]` customers still active after
/// being observed for `K` periods (right-censored). Index 0 of `lost` is always 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SurvivalCounts {
    pub lost: Vec<u64>,
    pub alive: Vec<u64>,
}

impl SurvivalCounts {
    /// From cohort survivor counts `cohorts[h][t]` (`t = 0` is the cohort size; the last entry is the latest
    /// observed age). Several cohorts observed for different lengths pool into one likelihood (Hardie note 017).
    pub fn from_cohorts(cohorts: &[Vec<u64>]) -> Result<Self, InputError> {
        let horizon = cohorts.iter().map(|c| c.len()).max().unwrap_or(0).max(1);
        let mut counts = SurvivalCounts { lost: vec![0; horizon], alive: vec![0; horizon] };
        for (h, c) in cohorts.iter().enumerate() {
            if c.is_empty() {
                return Err(InputError::at("cohorts", h, "no counts", "the cohort size at age 0, then survivors by age"));
            }
            for t in 1..c.len() {
                if c[t] > c[t - 1] {
                    return Err(InputError::at("cohorts", h, format!("{} survivors at age {} after {} at age {}", c[t], t, c[t - 1], t - 1), "non-increasing survivor counts"));
                }
                counts.lost[t] += c[t - 1] - c[t];
            }
            counts.alive[c.len() - 1] += c[c.len() - 1];
        }
        Ok(counts)
    }

    /// From per-customer observations: customer `i` was observed for `periods[i]` renewals and churned at the
    /// last one (`churned[i]`, then `periods[i] ≥ 1`) or is still active.
    pub fn from_customers(periods: &[u32], churned: &[bool]) -> Result<Self, InputError> {
        if periods.len() != churned.len() {
            return Err(InputError::whole("churned", format!("{} values", churned.len()), format!("{} values, one per customer", periods.len())));
        }
        let horizon = periods.iter().copied().max().unwrap_or(0) as usize + 1;
        let mut counts = SurvivalCounts { lost: vec![0; horizon], alive: vec![0; horizon] };
        for (i, (&p, &c)) in periods.iter().zip(churned).enumerate() {
            if c {
                if p == 0 {
                    return Err(InputError::at("periods", i, 0, "≥ 1 for a churned customer (churn happens at a renewal)"));
                }
                counts.lost[p as usize] += 1;
            } else {
                counts.alive[p as usize] += 1;
            }
        }
        Ok(counts)
    }

    pub fn customers(&self) -> u64 {
        self.lost.iter().sum::<u64>() + self.alive.iter().sum::<u64>()
    }

    pub fn churned(&self) -> u64 {
        self.lost.iter().sum()
    }

    /// Number of periods the longest-observed customers were followed.
    pub fn horizon(&self) -> usize {
        self.lost.len().saturating_sub(1)
    }
}

/// A fitted sBG model with its uncertainty.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SbgFit {
    pub model: Sbg,
    pub log_likelihood: f64,
    pub customers: u64,
    pub churned: u64,
    pub horizon: usize,
    /// Standard errors of `α`, `β` from the inverse observed information; `None` when it is singular.
    pub standard_errors: Option<[f64; 2]>,
    /// Covariance of `(ln α, ln β)`, used for delta-method intervals of derived quantities.
    pub log_covariance: Option<[[f64; 2]; 2]>,
    /// `at_boundary`: the optimum ran off to a parameter extreme (|ln α| or |ln β| > 15, e.g. a constant churn
    /// rate with no heterogeneity); estimates are limits, and no standard errors or covariance are given.
    pub flags: Vec<&'static str>,
}

fn negative_ll(data: &SurvivalCounts) -> impl Fn(&[f64]) -> f64 + '_ {
    move |p: &[f64]| -(Sbg { alpha: p[0].exp(), beta: p[1].exp() }).log_likelihood(data)
}

/// Maximum-likelihood sBG fit. Needs at least one churned customer and one observed renewal.
pub fn fit(data: &SurvivalCounts) -> Result<SbgFit, InputError> {
    if data.churned() == 0 {
        return Err(InputError::whole("data", format!("{} customers, none churned", data.customers()), "at least one churned customer"));
    }
    let objective = negative_ll(data);
    let best = nelder_mead(&objective, &[0.0, 0.0], 0.5, 1e-12);
    let (ln_a, ln_b) = (best.x[0], best.x[1]);
    let model = Sbg { alpha: ln_a.exp(), beta: ln_b.exp() };
    let mut flags = vec![];
    if ln_a.abs() > 15.0 || ln_b.abs() > 15.0 {
        flags.push("at_boundary");
    }
    // At a boundary the likelihood is flat along a ridge (e.g. α, β → ∞ with α/(α+β) fixed: no heterogeneity
    // left, a constant churn rate); curvature-based uncertainty is meaningless there, so none is reported.
    let (log_covariance, standard_errors) = if flags.is_empty() {
        let log_covariance = invert(&hessian(&objective, &best.x)).filter(|m| m[0][0] > 0.0 && m[1][1] > 0.0).map(|m| [[m[0][0], m[0][1]], [m[1][0], m[1][1]]]);
        let natural = |p: &[f64]| objective(&[p[0].ln(), p[1].ln()]);
        let standard_errors = invert(&hessian(natural, &[model.alpha, model.beta])).filter(|m| m[0][0] > 0.0 && m[1][1] > 0.0).map(|m| [m[0][0].sqrt(), m[1][1].sqrt()]);
        (log_covariance, standard_errors)
    } else {
        (None, None)
    };
    Ok(SbgFit { model, log_likelihood: -best.value, customers: data.customers(), churned: data.churned(), horizon: data.horizon(), standard_errors, log_covariance, flags })
}

/// Profile-likelihood intervals: the parameter values where the profile log-likelihood falls
/// `χ²₁(level)/2` below its maximum. An end is `None` when the profile does not fall that far (the data cannot
/// bound the parameter on that side).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ProfileIntervals {
    pub alpha: (Option<f64>, Option<f64>),
    pub beta: (Option<f64>, Option<f64>),
}

impl SbgFit {
    pub fn profile_intervals(&self, data: &SurvivalCounts, level: f64) -> ProfileIntervals {
        let drop = ChiSquared::new(1.0).map(|c| c.inverse_cdf(level) / 2.0).unwrap_or(1.920729);
        let target = self.log_likelihood - drop;
        let objective = negative_ll(data);
        let ln_hat = [self.model.alpha.ln(), self.model.beta.ln()];
        let side = |which: usize, direction: f64| -> Option<f64> {
            let other = 1 - which;
            // Profile: maximise over the other log-parameter with this one fixed.
            let profile = |x: f64| -> f64 {
                let (_, v) = golden_section(
                    |y| {
                        let mut p = [0.0; 2];
                        p[which] = x;
                        p[other] = y;
                        objective(&p)
                    },
                    ln_hat[other] - 12.0,
                    ln_hat[other] + 12.0,
                    1e-9,
                );
                -v - target
            };
            // Step outwards on the log scale until the profile drops below the target, then bisect.
            let mut step = 0.25;
            while step <= 25.0 {
                let far = ln_hat[which] + direction * step;
                if profile(far) < 0.0 {
                    return bisect(profile, ln_hat[which], far, 1e-9).map(f64::exp);
                }
                step *= 1.6;
            }
            None
        };
        ProfileIntervals { alpha: (side(0, -1.0), side(0, 1.0)), beta: (side(1, -1.0), side(1, 1.0)) }
    }

    /// Delta-method interval on the log scale for a positive quantity derived from the parameters:
    /// `exp(ln g ± z·√(∇ln g' Σ ∇ln g))` with `Σ` the covariance of `(ln α, ln β)`.
    pub fn log_interval(&self, level: f64, g: impl Fn(&Sbg) -> Option<f64>) -> Option<Interval> {
        let cov = self.log_covariance?;
        let at = |la: f64, lb: f64| g(&Sbg { alpha: la.exp(), beta: lb.exp() }).filter(|v| *v > 0.0).map(f64::ln);
        let (la, lb) = (self.model.alpha.ln(), self.model.beta.ln());
        let centre = at(la, lb)?;
        let h = 1e-5;
        let grad = [(at(la + h, lb)? - at(la - h, lb)?) / (2.0 * h), (at(la, lb + h)? - at(la, lb - h)?) / (2.0 * h)];
        let var = grad[0] * grad[0] * cov[0][0] + 2.0 * grad[0] * grad[1] * cov[0][1] + grad[1] * grad[1] * cov[1][1];
        let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
        let half = z * var.max(0.0).sqrt();
        Some(Interval { lower: (centre - half).exp(), upper: (centre + half).exp() })
    }

    /// CLV of a new customer, `m·DEL(d)`, with `margin_per_period` (ARPA × gross margin) in minor units; rounded
    /// once. `d` is the per-period discount rate.
    pub fn clv_new(&self, margin_per_period: i64, d: f64, level: f64) -> Option<MoneyEstimate> {
        self.money(margin_per_period as f64, level, |m| m.del(d))
    }

    /// CLV of a customer with `renewals` renewals behind it: `m·DERL(d | renewals)`.
    pub fn clv_existing(&self, margin_per_period: i64, d: f64, renewals: u32, level: f64) -> Option<MoneyEstimate> {
        self.money(margin_per_period as f64, level, |m| m.derl(d, renewals))
    }

    /// Customer equity of the active base: `Σ_n N_n·m·DERL(d | n−1)`, `customers_by_renewals[k]` = active
    /// customers with `k` renewals behind them.
    pub fn customer_equity(&self, margin_per_period: i64, d: f64, customers_by_renewals: &[u64], level: f64) -> Option<MoneyEstimate> {
        let total = |m: &Sbg| -> Option<f64> {
            let mut sum = 0.0;
            for (k, &n) in customers_by_renewals.iter().enumerate() {
                if n > 0 {
                    sum += n as f64 * m.derl(d, k as u32)?;
                }
            }
            Some(sum)
        };
        self.money(margin_per_period as f64, level, total)
    }

    fn money(&self, margin: f64, level: f64, lifetimes: impl Fn(&Sbg) -> Option<f64>) -> Option<MoneyEstimate> {
        let value = to_minor(margin * lifetimes(&self.model)?)?;
        let interval = self.log_interval(level, &lifetimes);
        Some(MoneyEstimate {
            value,
            lower: interval.and_then(|i| to_minor(margin * i.lower)),
            upper: interval.and_then(|i| to_minor(margin * i.upper)),
        })
    }
}

fn to_minor(x: f64) -> Option<i64> {
    // f64::round rounds half away from zero, the project's default rounding.
    (x.is_finite() && x.abs() < 9.0e18).then(|| x.round() as i64)
}

/// A money amount in minor units with an interval (`None` ends when the covariance is unavailable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MoneyEstimate {
    pub value: i64,
    pub lower: Option<i64>,
    pub upper: Option<i64>,
}

/// Where a projected retention value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    KaplanMeier,
    Sbg,
}

/// One age of a retention projection.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ProjectedRetention {
    pub age: u32,
    pub survival: f64,
    pub source: Source,
}

/// Retention by age `0..=horizon`: the Kaplan–Meier estimate (ages in periods) inside the observed horizon,
/// beyond it the sBG conditional survival chained onto the last observed value,
/// `S(t) = Ŝ_KM(K)·S_sBG(t)/S_sBG(K)`, so the curve is continuous where the data ends.
pub fn project_retention(km: &KaplanMeier, model: &Sbg, horizon: u32) -> Vec<ProjectedRetention> {
    let observed = km.times.last().map_or(0, |&t| t.floor().max(0.0) as u32);
    let s_model = model.survival_curve(horizon.max(observed));
    let anchor = km.survival_at(observed as f64);
    (0..=horizon)
        .map(|age| {
            if age <= observed {
                ProjectedRetention { age, survival: km.survival_at(age as f64), source: Source::KaplanMeier }
            } else {
                let conditional = if s_model[observed as usize] > 0.0 { s_model[age as usize] / s_model[observed as usize] } else { 0.0 };
                ProjectedRetention { age, survival: anchor * conditional, source: Source::Sbg }
            }
        })
        .collect()
}

/// The beta-discrete-Weibull model (Fader, Hardie et al. 2018; spec §5 optional `bdw`): sBG with a per-customer
/// churn probability that changes over tenure, `S(t) = B(α, β + t^c)/B(α, β)`; `c = 1` is sBG, `c > 1` churn
/// rises with tenure, `c < 1` falls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bdw {
    pub alpha: f64,
    pub beta: f64,
    pub c: f64,
}

impl Bdw {
    fn ln_survival(&self, t: u32) -> f64 {
        use statrs::function::beta::ln_beta;
        if t == 0 {
            return 0.0;
        }
        ln_beta(self.alpha, self.beta + (t as f64).powf(self.c)) - ln_beta(self.alpha, self.beta)
    }

    pub fn survival(&self, t: u32) -> f64 {
        self.ln_survival(t).exp()
    }

    /// Log-likelihood of `data`, as for sBG with `P(T = t) = S(t−1) − S(t)`.
    pub fn log_likelihood(&self, data: &SurvivalCounts) -> f64 {
        let mut ll = 0.0;
        let mut ln_prev = 0.0;
        for t in 1..data.lost.len() {
            let ln_s = self.ln_survival(t as u32);
            if data.lost[t] > 0 {
                // ln(S(t−1) − S(t)) = ln S(t−1) + ln(1 − S(t)/S(t−1)).
                ll += data.lost[t] as f64 * (ln_prev + (-(ln_s - ln_prev).exp_m1()).ln());
            }
            if data.alive[t] > 0 {
                ll += data.alive[t] as f64 * ln_s;
            }
            ln_prev = ln_s;
        }
        ll
    }
}

/// A fitted beta-discrete-Weibull model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BdwFit {
    pub model: Bdw,
    pub log_likelihood: f64,
}

/// Maximum-likelihood BdW fit over `(ln α, ln β, ln c)` from `(1, 1, 1)`.
pub fn fit_bdw(data: &SurvivalCounts) -> Result<BdwFit, InputError> {
    if data.churned() == 0 {
        return Err(InputError::whole("data", format!("{} customers, none churned", data.customers()), "at least one churned customer"));
    }
    let best = nelder_mead(|p| -(Bdw { alpha: p[0].exp(), beta: p[1].exp(), c: p[2].exp() }).log_likelihood(data), &[0.0, 0.0, 0.0], 0.5, 1e-12);
    Ok(BdwFit { model: Bdw { alpha: best.x[0].exp(), beta: best.x[1].exp(), c: best.x[2].exp() }, log_likelihood: -best.value })
}
