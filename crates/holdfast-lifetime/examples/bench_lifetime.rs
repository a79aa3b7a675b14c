//! Speed of the lifetime statistics at scale (docs/benchmarks.md):
//!
//!     cargo run --release -p holdfast-lifetime --example bench_lifetime -- [customers] [runs]
//!
//! Simulates `customers` (default 1,000,000) monthly subscribers with churn probability θ ~ Beta(0.7, 1.2),
//! joining evenly over 36 months and observed to month 36 (staggered censoring), in two segments, then times:
//! Kaplan–Meier over per-customer (duration, event) rows, the log-rank test between the segments, the sBG
//! counts and fit, and the sBG profile-likelihood intervals. Prints min and median of `runs` runs.
use std::time::Instant;

use holdfast_lifetime::km::{log_rank, KaplanMeier, MedianRule};
use holdfast_lifetime::sbg::{fit, SurvivalCounts};
use rand::{Rng, SeedableRng};
use statrs::distribution::{Beta, ContinuousCDF};

fn main() {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    let theta = Beta::new(0.7, 1.2).expect("valid parameters");
    let (mut periods, mut churned, mut segment) = (Vec::with_capacity(customers), Vec::with_capacity(customers), Vec::with_capacity(customers));
    for i in 0..customers {
        let observable = 36 - (i % 36) as u32; // joined in month i % 36, observed to month 36
        let p = theta.inverse_cdf(rng.random_range(1e-12..1.0 - 1e-12));
        let mut t = 0;
        let mut gone = false;
        while t < observable && !gone {
            t += 1;
            gone = rng.random::<f64>() < p;
        }
        periods.push(t);
        churned.push(gone);
        segment.push((i % 2) as u32);
    }
    let durations: Vec<f64> = periods.iter().map(|&p| p as f64).collect();
    println!("{customers} customers, {} churned, {runs} runs", churned.iter().filter(|&&c| c).count());
    let time = |name: &str, f: &mut dyn FnMut() -> String| {
        let mut ms = Vec::new();
        let mut note = String::new();
        for _ in 0..runs {
            let t = Instant::now();
            note = f();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        println!("{name:<44} min {:>8.1} ms  median {:>8.1} ms   {note}", ms[0], ms[ms.len() / 2]);
    };
    time("Kaplan–Meier fit (1 row per customer)", &mut || {
        let km = KaplanMeier::fit(&durations, &churned, None).unwrap();
        format!("median {:?}, S(12) {:.4}", km.median(MedianRule::Strict), km.survival_at(12.0))
    });
    time("log-rank test, 2 segments", &mut || format!("chi2 {:.3}", log_rank(&durations, &churned, &segment).unwrap().chi_square));
    time("sBG counts from customers + fit", &mut || {
        let counts = SurvivalCounts::from_customers(&periods, &churned).unwrap();
        let f = fit(&counts).unwrap();
        format!("alpha {:.4} beta {:.4} LL {:.1}", f.model.alpha, f.model.beta, f.log_likelihood)
    });
    let counts = SurvivalCounts::from_customers(&periods, &churned).unwrap();
    let f = fit(&counts).unwrap();
    time("sBG profile-likelihood intervals (α and β)", &mut || format!("{:?}", f.profile_intervals(&counts, 0.95).alpha));
}
