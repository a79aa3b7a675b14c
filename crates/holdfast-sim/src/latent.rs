//! The latent (unobserved) state of a customer that drives its behaviour.
use crate::profile::{Channel, CustomerProfile, Size};
use crate::rng::Draw;
use rand_pcg::Pcg64Mcg;

/// Something that happened to the account outside billing and moved its health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shock {
    /// The internal champion left the customer's company (health −0.25).
    ChampionLeft,
    /// A reorganisation or budget freeze (health −0.15).
    Reorg,
    /// A visible success with the product: new team onboarded, renewal-worthy result (health +0.15).
    Success,
}

/// Latent engagement of one customer, evolved once per calendar month.
///
/// Billing behaviour is drawn from it: the monthly churn hazard falls with `health`, seat expansion and
/// upgrades rise with it, contraction, downgrades and pauses fall with it, dunning recovery improves with it.
/// Emitters of usage events, support tickets, NPS surveys, funnel and referrals must read the **same** state
/// (through [`crate::Observer`]) so that, as in real data, low usage, angry tickets and detractor scores precede
/// churn.
///
/// Dynamics: mean-reverting towards `baseline`
/// (`h ← h + 0.12·(baseline − h) + 0.06·ε`, ε ≈ N(0, 1)), plus occasional [`Shock`]s, clamped to `[0.02, 0.98]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Latent {
    /// Engagement / health in `[0, 1]`: how much value the account gets from the product. Typical ≈ 0.55.
    pub health: f64,
    /// Long-run level `health` reverts to: the account's fit (channel, size and an individual draw).
    pub baseline: f64,
    /// The latest shock and the month index it happened in.
    pub last_shock: Option<(u32, Shock)>,
}

impl Latent {
    pub(crate) fn new(p: &CustomerProfile, rng: &mut Pcg64Mcg) -> Latent {
        let channel = match p.channel {
            Channel::Referral => 0.08,
            Channel::Organic => 0.04,
            Channel::Partner => 0.03,
            Channel::Outbound => -0.02,
            Channel::PaidSearch => -0.05,
        };
        let size = match p.size {
            Size::Smb => 0.0,
            Size::Mid => 0.02,
            Size::Enterprise => 0.05,
        };
        let baseline = (0.55 + channel + size + 0.10 * rng.normal()).clamp(0.15, 0.9);
        let health = (baseline + 0.08 * rng.normal()).clamp(0.02, 0.98);
        Latent { health, baseline, last_shock: None }
    }

    /// One month of evolution.
    pub(crate) fn step(&mut self, month: u32, rng: &mut Pcg64Mcg) {
        let mut h = self.health + 0.12 * (self.baseline - self.health) + 0.06 * rng.normal();
        let u = rng.unit();
        let shock = if u < 0.012 {
            Some((Shock::ChampionLeft, -0.25))
        } else if u < 0.02 {
            Some((Shock::Reorg, -0.15))
        } else if u < 0.03 {
            Some((Shock::Success, 0.15))
        } else {
            None
        };
        if let Some((s, d)) = shock {
            h += d;
            self.last_shock = Some((month, s));
        }
        self.health = h.clamp(0.02, 0.98);
    }

    /// Multiplier of the voluntary churn hazard: 1 at health 0.55, 2.5 at 0.05, 0.25 at 0.8 and above.
    pub fn churn_multiplier(&self) -> f64 {
        (1.0 + 3.0 * (0.55 - self.health)).clamp(0.25, 3.0)
    }
}
