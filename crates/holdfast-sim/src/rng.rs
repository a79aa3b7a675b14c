//! Deterministic, portable random streams.
//!
//! Every customer draws from its own PCG stream seeded from `(seed, customer index, stream)`, so customer `i`'s
//! history does not depend on how many customers are generated, and a new kind of emitter (usage events,
//! tickets, surveys…) uses a new stream without perturbing the billing history of existing seeds.
//!
//! Only IEEE-754 basic operations (`+ − × ÷`, comparisons, `round`) are used on floats in the simulator — no
//! `exp`, `ln` or `powf`, whose last bits differ between C libraries — so the output is byte-identical on
//! every platform.
use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// Stream ids. Billing uses [`stream::LIFECYCLE`]; the others are reserved for the emitters that will read the
/// same latent customer state ([`crate::Latent`]).
pub mod stream {
    /// Customer profile, latent health path and the billing lifecycle.
    pub const LIFECYCLE: u64 = 1;
    /// The exchange-rate random walk (company-wide, not per customer).
    pub const FX: u64 = 2;
    /// Reserved: product usage events.
    pub const USAGE: u64 = 16;
    /// Reserved: support tickets.
    pub const SUPPORT: u64 = 17;
    /// Reserved: NPS / CSAT surveys.
    pub const SURVEYS: u64 = 18;
    /// Reserved: acquisition funnel and marketing spend.
    pub const FUNNEL: u64 = 19;
    /// Reserved: referrals.
    pub const REFERRALS: u64 = 20;
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random stream of one customer (or, with `index = u64::MAX`, of a company-wide process) for one purpose.
pub fn customer_rng(seed: u64, index: u64, stream: u64) -> Pcg64Mcg {
    let hi = mix(mix(mix(seed) ^ stream) ^ index);
    let lo = mix(hi ^ 0x5851_F42D_4C95_7F2D);
    Pcg64Mcg::new(((hi as u128) << 64) | lo as u128)
}

/// Convenience draws on any RNG.
pub trait Draw: Rng {
    /// Uniform in `[0, 1)`.
    #[inline]
    fn unit(&mut self) -> f64 {
        self.random::<f64>()
    }
    /// `true` with probability `p`.
    #[inline]
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in `[lo, hi)`; `lo` if the range is empty.
    #[inline]
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.random_range(lo..hi)
        }
    }
    /// Uniform float in `[lo, hi)`.
    #[inline]
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Approximately standard normal: Irwin–Hall sum of four 16-bit uniforms taken from one 64-bit draw
    /// (mean 0, variance 1, bounded by ±3.46).
    #[inline]
    fn normal(&mut self) -> f64 {
        let x = self.next_u64();
        let s = (x & 0xFFFF) + ((x >> 16) & 0xFFFF) + ((x >> 32) & 0xFFFF) + (x >> 48);
        // Each part is uniform on {0, …, 65535}; centre and scale the sum to unit variance.
        (s as f64 + 2.0 - 131_072.0) * (1.732_050_807_568_877_2 / 65_536.0)
    }
    /// Index drawn with probability proportional to `weights`.
    fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut u = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }
}

impl<R: Rng + ?Sized> Draw for R {}
