//! Non-contractual ("buy till you die") models for revenue that customers buy when they like — add-ons, top-ups:
//! BG/NBD and Pareto/NBD for the number of purchases, Gamma-Gamma for the spend per purchase (Fader, Hardie &
//! Lee 2005; Fader & Hardie notes 008, 025; spec §5 `bgnbd`, `gamma_gamma`).
//!
//! Input per customer is `(x, t_x, T)`: repeat purchases, time of the last one, time observed (same unit, e.g.
//! weeks), and for Gamma-Gamma the mean spend `z̄` of the repeat purchases. Spend is whatever unit the caller
//! uses (minor units in Holdfast); a mean of minor units is not integral, so it stays `f64` here and is rounded
//! once by the caller when it becomes a reported amount. Fits maximise the likelihood over log-parameters.
use serde::Serialize;
use statrs::function::gamma::ln_gamma;

use crate::error::InputError;
use crate::optimize::nelder_mead;
use crate::special::hyp2f1;

/// One customer's purchase history summary.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Purchases {
    /// Repeat purchases `x`.
    pub frequency: u32,
    /// Time of the last repeat purchase since the first, `t_x` (0 when `x = 0`).
    pub recency: f64,
    /// Time observed since the first purchase, `T`.
    pub age: f64,
}

/// Distinct histories with their multiplicity, so that likelihoods cost one evaluation per distinct history.
#[derive(Clone, Debug, PartialEq)]
pub struct PurchaseData {
    histories: Vec<Purchases>,
    weights: Vec<f64>,
    customers: usize,
}

impl PurchaseData {
    pub fn new(customers: &[Purchases]) -> Result<Self, InputError> {
        for (i, c) in customers.iter().enumerate() {
            if !(c.age.is_finite() && c.age > 0.0) {
                return Err(InputError::at("age", i, c.age, "a finite time > 0 (T)"));
            }
            if !(c.recency.is_finite() && c.recency >= 0.0 && c.recency <= c.age) {
                return Err(InputError::at("recency", i, c.recency, format!("a time in [0, T = {}]", c.age)));
            }
            if c.frequency == 0 && c.recency != 0.0 {
                return Err(InputError::at("recency", i, c.recency, "0 for a customer without repeat purchases"));
            }
        }
        let mut sorted = customers.to_vec();
        sorted.sort_unstable_by(|a, b| a.frequency.cmp(&b.frequency).then(a.recency.total_cmp(&b.recency)).then(a.age.total_cmp(&b.age)));
        let (mut histories, mut weights) = (Vec::new(), Vec::new());
        for c in sorted {
            if histories.last() == Some(&c) {
                *weights.last_mut().unwrap() += 1.0;
            } else {
                histories.push(c);
                weights.push(1.0);
            }
        }
        Ok(PurchaseData { histories, weights, customers: customers.len() })
    }

    pub fn customers(&self) -> usize {
        self.customers
    }
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// A fit of a purchase model: the model and the maximised log-likelihood.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fitted<M> {
    pub model: M,
    pub log_likelihood: f64,
}

fn fit_log_params<M>(dims: usize, data_ll: impl Fn(&[f64]) -> f64, build: impl Fn(&[f64]) -> M) -> Fitted<M> {
    let best = nelder_mead(|p| -data_ll(&p.iter().map(|v| v.exp()).collect::<Vec<_>>()), &vec![0.0; dims], 1.0, 1e-10);
    let params: Vec<f64> = best.x.iter().map(|v| v.exp()).collect();
    Fitted { model: build(&params), log_likelihood: -best.value }
}

/// BG/NBD: purchases follow a Poisson process with rate `λ ~ Gamma(r, α)`; after each purchase the customer
/// drops out with probability `p ~ Beta(a, b)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbd {
    pub fn log_likelihood_one(&self, c: &Purchases) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = c.frequency as f64;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_beta(a, b + x) - ln_beta(a, b);
        let a3 = -(r + x) * (alpha + c.age).ln();
        let a4 = if c.frequency > 0 { a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + c.recency).ln() } else { f64::NEG_INFINITY };
        a1 + a2 + log_add_exp(a3, a4)
    }

    pub fn log_likelihood(&self, data: &PurchaseData) -> f64 {
        data.histories.iter().zip(&data.weights).map(|(c, w)| w * self.log_likelihood_one(c)).sum()
    }

    pub fn fit(data: &PurchaseData) -> Fitted<BgNbd> {
        fit_log_params(4, |p| BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] }.log_likelihood(data), |p| BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] })
    }

    /// Probability the customer is still alive after the history `c`.
    pub fn probability_alive(&self, c: &Purchases) -> f64 {
        if c.frequency == 0 {
            return 1.0;
        }
        let x = c.frequency as f64;
        let odds = (self.a / (self.b + x - 1.0)).ln() + (self.r + x) * ((self.alpha + c.age) / (self.alpha + c.recency)).ln();
        1.0 / (1.0 + odds.exp())
    }

    /// `E[X(t)]`: expected purchases of a new customer in `(0, t]`. The closed form holds for any `a ≠ 1`
    /// (for `a < 1` both factors are negative); `None` at `a = 1` or when the hypergeometric series does not
    /// settle.
    pub fn expected_purchases(&self, t: f64) -> Option<f64> {
        let BgNbd { r, alpha, a, b } = *self;
        if (a - 1.0).abs() < 1e-9 {
            return None;
        }
        let f = hyp2f1(r, b, a + b - 1.0, t / (alpha + t))?;
        Some((a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * f))
    }

    /// `E[Y(t) | x, t_x, T]`: expected purchases in the next `t` given the history (`None` as for
    /// [`BgNbd::expected_purchases`]).
    pub fn conditional_expected_purchases(&self, t: f64, c: &Purchases) -> Option<f64> {
        let BgNbd { r, alpha, a, b } = *self;
        if (a - 1.0).abs() < 1e-9 {
            return None;
        }
        let x = c.frequency as f64;
        let big_t = c.age;
        let f = hyp2f1(r + x, b + x, a + b + x - 1.0, t / (alpha + big_t + t))?;
        let numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - ((alpha + big_t) / (alpha + big_t + t)).powf(r + x) * f);
        let odds = if c.frequency > 0 { a / (b + x - 1.0) * ((alpha + big_t) / (alpha + c.recency)).powf(r + x) } else { 0.0 };
        Some(numerator / (1.0 + odds))
    }

    /// `P(X(t) = n)` for a new customer (FHL 2005 eq. 8).
    pub fn probability_of_purchases(&self, t: f64, n: u32) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = n as f64;
        let ln_p = alpha.ln() - (alpha + t).ln();
        let ln_q = t.ln() - (alpha + t).ln();
        let first = (ln_beta(a, b + x) - ln_beta(a, b) + ln_gamma(r + x) - ln_gamma(r) - ln_gamma(x + 1.0) + r * ln_p + x * ln_q).exp();
        if n == 0 {
            return first;
        }
        let partial: f64 = (0..n).map(|j| (ln_gamma(r + j as f64) - ln_gamma(r) - ln_gamma(j as f64 + 1.0) + j as f64 * ln_q).exp()).sum();
        first + (ln_beta(a + 1.0, b + x - 1.0) - ln_beta(a, b)).exp() * (1.0 - (r * ln_p).exp() * partial)
    }
}

/// Pareto/NBD: Poisson purchases with rate `λ ~ Gamma(r, α)`, exponential lifetime with rate `μ ~ Gamma(s, β)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ParetoNbd {
    /// `ln A₀` of Fader & Hardie note 008 through the hypergeometric form whose argument stays in `[0, 1)`
    /// (the larger of α, β in the denominator); the difference of the two terms is taken in log space.
    fn ln_a0(&self, c: &Purchases) -> Option<f64> {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let x = c.frequency as f64;
        let (big, small, b_param) = if alpha >= beta { (alpha, beta, s + 1.0) } else { (beta, alpha, r + x) };
        let rsx = r + s + x;
        let term = |time: f64| -> Option<f64> { Some(hyp2f1(rsx, b_param, rsx + 1.0, (big - small) / (big + time))?.ln() - rsx * (big + time).ln()) };
        let l1 = term(c.recency)?;
        let l2 = term(c.age)?;
        if l2 >= l1 {
            return Some(f64::NEG_INFINITY);
        }
        Some(l1 + (-(l2 - l1).exp_m1()).ln())
    }

    pub fn log_likelihood_one(&self, c: &Purchases) -> f64 {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let x = c.frequency as f64;
        let Some(ln_a0) = self.ln_a0(c) else { return f64::NEG_INFINITY };
        let head = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let alive_all_along = -(r + x) * (alpha + c.age).ln() - s * (beta + c.age).ln();
        head + log_add_exp(alive_all_along, (s / (r + s + x)).ln() + ln_a0)
    }

    pub fn log_likelihood(&self, data: &PurchaseData) -> f64 {
        data.histories.iter().zip(&data.weights).map(|(c, w)| w * self.log_likelihood_one(c)).sum()
    }

    pub fn fit(data: &PurchaseData) -> Fitted<ParetoNbd> {
        fit_log_params(4, |p| ParetoNbd { r: p[0], alpha: p[1], s: p[2], beta: p[3] }.log_likelihood(data), |p| ParetoNbd { r: p[0], alpha: p[1], s: p[2], beta: p[3] })
    }

    pub fn probability_alive(&self, c: &Purchases) -> Option<f64> {
        let ParetoNbd { r, alpha, s, beta } = *self;
        let x = c.frequency as f64;
        let ln_odds = (s / (r + s + x)).ln() + (r + x) * (alpha + c.age).ln() + s * (beta + c.age).ln() + self.ln_a0(c)?;
        Some(1.0 / (1.0 + ln_odds.exp()))
    }

    /// `E[Y(t) | x, t_x, T]`; the closed form holds for any `s ≠ 1` (for `s < 1` both factors are negative).
    pub fn conditional_expected_purchases(&self, t: f64, c: &Purchases) -> Option<f64> {
        let ParetoNbd { r, alpha, s, beta } = *self;
        if (s - 1.0).abs() < 1e-9 {
            return None;
        }
        let x = c.frequency as f64;
        let big_t = c.age;
        let rate = (r + x) * (beta + big_t) / ((alpha + big_t) * (s - 1.0));
        Some(rate * (1.0 - ((beta + big_t) / (beta + big_t + t)).powf(s - 1.0)) * self.probability_alive(c)?)
    }
}

/// Gamma-Gamma spend model: a customer's spend per purchase is Gamma(p, ν), `ν ~ Gamma(q, γ)` across customers;
/// independent of the purchase process.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// Customers with repeat purchases and their mean spend, the Gamma-Gamma input.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendData {
    frequency: Vec<f64>,
    mean_spend: Vec<f64>,
}

impl SpendData {
    /// Keeps customers with `x ≥ 1` (spec: Gamma-Gamma only on repeat buyers); their mean spend must be > 0.
    pub fn new(frequency: &[u32], mean_spend: &[f64]) -> Result<Self, InputError> {
        if frequency.len() != mean_spend.len() {
            return Err(InputError::whole("mean_spend", format!("{} values", mean_spend.len()), format!("{} values, one per customer", frequency.len())));
        }
        let (mut f, mut m) = (vec![], vec![]);
        for (i, (&x, &z)) in frequency.iter().zip(mean_spend).enumerate() {
            if x >= 1 {
                if !(z.is_finite() && z > 0.0) {
                    return Err(InputError::at("mean_spend", i, z, "a mean spend > 0 for a customer with repeat purchases"));
                }
                f.push(x as f64);
                m.push(z);
            }
        }
        Ok(SpendData { frequency: f, mean_spend: m })
    }

    pub fn customers(&self) -> usize {
        self.frequency.len()
    }

    /// `Σ ln x`: the difference between the likelihood of mean spend and of total spend.
    pub fn sum_ln_frequency(&self) -> f64 {
        self.frequency.iter().map(|x| x.ln()).sum()
    }
}

impl GammaGamma {
    /// Log-likelihood of the observed mean spends `z̄` (the density of `z̄`; the density of total spend `x·z̄`
    /// is this minus `Σ ln x`).
    pub fn log_likelihood(&self, data: &SpendData) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        let constant = -ln_gamma(q) + q * gamma.ln();
        data.frequency
            .iter()
            .zip(&data.mean_spend)
            .map(|(&x, &z)| constant + ln_gamma(p * x + q) - ln_gamma(p * x) + (p * x - 1.0) * z.ln() + p * x * x.ln() - (p * x + q) * (gamma + x * z).ln())
            .sum()
    }

    pub fn fit(data: &SpendData) -> Fitted<GammaGamma> {
        fit_log_params(3, |v| GammaGamma { p: v[0], q: v[1], gamma: v[2] }.log_likelihood(data), |v| GammaGamma { p: v[0], q: v[1], gamma: v[2] })
    }

    /// Population mean spend per purchase `pγ/(q−1)`; `None` when `q ≤ 1`.
    pub fn mean_spend(&self) -> Option<f64> {
        (self.q > 1.0).then(|| self.p * self.gamma / (self.q - 1.0))
    }

    /// `E[M | x, z̄]`: a weighted average of the population mean and the customer's own mean spend.
    pub fn conditional_expected_spend(&self, frequency: u32, mean_spend: f64) -> Option<f64> {
        let population = self.mean_spend()?;
        let px = self.p * frequency as f64;
        let weight = (self.q - 1.0) / (px + self.q - 1.0);
        Some(weight * population + (1.0 - weight) * mean_spend)
    }
}
