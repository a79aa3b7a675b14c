//! Holdfast's domain vocabulary, shared by every other crate.
//!
//! * [`money`]: ISO-4217 currencies with their exponents, integer minor units, exact rounding.
//! * [`time`]: UTC instants (`Ts`, seconds since the Unix epoch), grains and time-zone-aware periods.
//! * [`fx`]: exchange rates as 9-decimal fixed point and the daily rate table.
//! * [`records`]: one row per source object (customer, plan, subscription, invoice, line, discount, rate), as
//!   importers produce them and stores keep them. Every record has a stable source key.
//! * [`snapshot`]: the columnar, dense-id form of those records that the metric engine computes on.
//! * [`snapshot_file`]: a binary image of a snapshot, so a store can cache it and load it sequentially.
//!
//! Invariants: money is never a float; an instant is always UTC; a record that exists has been parsed
//! ("parse, don't validate") so downstream code never re-checks shapes.
pub mod fx;
pub mod money;
pub mod records;
pub mod snapshot;
pub mod snapshot_file;
pub mod time;

pub use money::{Currency, RoundingMode};
pub use time::{Grain, Period, Ts};
