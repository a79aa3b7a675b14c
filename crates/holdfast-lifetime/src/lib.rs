//! Lifetime statistics for Holdfast: survival and cohort retention (`km`), the contractual shifted-beta-geometric
//! model with DEL/DERL/CLV (`sbg`), the non-contractual BG/NBD, Pareto/NBD and Gamma-Gamma models (`btyd`),
//! the optimisation helpers the maximum-likelihood fits share (`optimize`), and the glue from the engine's
//! movement ledger to cohorts, lifetimes and LTV (`cohorts`).
//!
//! One job: pure numerical code, no I/O. Invariants: statistics are `f64`; money enters and leaves as integer
//! minor units (`i64`), rounded once at the boundary; no function panics on user data — bad input is an
//! [`InputError`] naming the argument, position, value and expectation; undefined quantities are `None`, never
//! NaN or ∞ in a reported value.
pub mod btyd;
pub mod cohorts;
pub mod error;
pub mod forecast;
pub mod km;
pub mod optimize;
pub mod sbg;
pub mod special;

pub use error::InputError;
