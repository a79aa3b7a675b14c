//! Holdfast's simulator: a deterministic generator of a realistic B2B SaaS company's billing history, driven by
//! a seed and a size. It feeds the demo, tests and benchmarks.
//!
//! ```
//! use holdfast_sim::{generate, generate_dataset, SimConfig};
//! let cfg = SimConfig::new(7, 50, 12);
//! let ds = generate_dataset(&cfg);
//! assert!(ds.invoice_lines.len() > 100);
//! let mut n = 0;
//! generate(&cfg, &mut |_record| n += 1); // streaming: nothing is kept in memory
//! assert_eq!(n, ds.len());
//! ```
//!
//! # The company
//! Four tiers — Starter (flat), Growth, Scale, Enterprise (per seat) — each monthly and annual (annual = 10×
//! monthly), in USD, EUR and GBP ([`catalog`]); an Insights add-on sold as a second subscription; a metered
//! API-calls price billed in arrears; a one-time onboarding fee. Customers are SMB (65 %), mid-market (27 %) or
//! enterprise (8 %), from 13 countries billed in their own currency, acquired through five channels; sign-ups
//! grow 3.5 % a month. Self-serve customers pay by card, most after a 14-day trial; sales-led ones on net-30
//! invoices. Exchange rates (EUR→USD, GBP→USD) drift as random walks around 1.08 and 1.27, quoted every business
//! day.
//!
//! # What happens to customers
//! Trials convert (some late, some never: canceled during the trial or lapsed and voided); no-trial first invoices
//! sometimes expire (`incomplete_expired`); monthly and annual renewals are invoiced at period start; card
//! payments fail now and then and are recovered or end in `unpaid` / cancellation; seats grow and shrink; plans
//! are upgraded and downgraded mid-cycle with Stripe-style prorations or at renewal without; intervals switch
//! at renewal; discounts (once, repeating 3 months, forever, amount-off, 100 % goodwill month) apply and expire;
//! customers cancel at period end or immediately (with a credit line or a refund) giving a Stripe cancellation
//! reason; some come back; some pause; EU/UK customers without a VAT id pay 20 % VAT included; a few invoices
//! are voided and reissued, a few refunded. Churn, expansion and contraction are driven by a latent, evolving
//! per-customer health ([`Latent`]).
//!
//! # Determinism
//! Same `(seed, customers, months, start)` ⇒ byte-identical records. Each customer draws from its own PCG
//! stream seeded from `(seed, index)`, so customer `i`'s records do not depend on how many customers are
//! generated. The floating-point model uses only correctly rounded IEEE operations, so output is identical on
//! every platform.
//!
//! # Time
//! The simulated range is `[start, start + months)`; its end is the "as of". No instant that records an event
//! (`issued_at`, `paid_at`, `canceled_at`, `ended_at`, `unpaid_since`, `valid_from`, `pause_start`, FX days…)
//! falls at or after it. Scheduled instants may: current service periods, trial ends, `cancel_at`, due dates,
//! discount ends and pause ends. Subscriptions alive at the end keep their status (active, trialing, past_due,
//! paused, unpaid, incomplete) with their current period's invoice issued.
//!
//! # Ids
//! `cus_000123`, `sub_000123_1` (1-based per customer), `si_000123_1_1` (item 1 = the plan, item 2 = the metered
//! API-calls price), `in_000123_0007` (per customer, in issue order), `il_000123_0007_1`, `di_000123_1`
//! (discount applications; the coupon definitions are `co_…`), `price_<tier>_<monthly|annual>_<currency>`.
//!
//! # Conventions worth knowing
//! * Discounts: the coupon definitions (`co_…`, no customer) come first; each application to a customer is its own
//!   [`DiscountRecord`](holdfast_core::records::DiscountRecord) (`di_…`, with customer, subscription, `start` and,
//!   for repeating coupons, `end`), emitted in the customer's block before its invoices; lines reference the
//!   application. Percent discounts also apply to proration lines, with the sign of the line (a credit's
//!   discount is negative), so `amount − discounts` is always the net.
//! * `cancellation_reason` holds Stripe's feedback taxonomy for voluntary cancellations and
//!   [`PAYMENT_FAILED`] (Stripe's `cancellation_details.reason`) for involuntary ones.
//! * `due_at` is `issued_at + 1 day` for card payers and `+ 30 days` for invoiced (sales-led) accounts; the
//!   customer attribute `collection_method` says which (`charge_automatically` / `send_invoice`).
//! * Pauses use Stripe's `pause_collection` with `behavior = void`: renewal invoices inside
//!   `[pause_start, pause_end)` are issued and voided; status is `paused` only if the as-of falls in the pause.
//!
//! # Adding emitters (usage, tickets, surveys, funnel, referrals)
//! [`generate_observed`] hands an [`Observer`] every customer-month with the customer's [`Latent`] state and
//! lifecycle events. An emitter draws from its own [`stream`] via [`customer_rng`], so adding it never changes
//! the billing records of a seed.
mod calendar;
pub mod catalog;
mod customer;
mod fxgen;
mod latent;
mod observe;
mod profile;
mod rng;
pub mod signals;
pub mod usage;

pub use customer::PAYMENT_FAILED;
pub use latent::{Latent, Shock};
pub use observe::{EventKind, LifecycleEvent, MonthView, NoObserver, Observer, SubscriptionView};
pub use profile::{Channel, CustomerProfile, Size, TRIAL_DAYS};
pub use rng::{customer_rng, stream, Draw};

use holdfast_core::money::Currency;
use holdfast_core::records::{Dataset, Record};
use holdfast_core::time::date_to_ts;

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    pub seed: u64,
    /// Number of customers (billing accounts) that sign up during the range.
    pub customers: usize,
    /// Length of the simulated range in calendar months.
    pub months: u32,
    /// First day of the range (UTC midnight). Default 2023-01-01.
    pub start: jiff::civil::Date,
    /// Currency the FX rows quote into: USD (default), EUR or GBP.
    pub reporting_currency: Currency,
}

impl SimConfig {
    pub fn new(seed: u64, customers: usize, months: u32) -> Self {
        SimConfig { seed, customers, months, start: jiff::civil::date(2023, 1, 1), reporting_currency: Currency::USD }
    }

    /// The end of the simulated range (exclusive): the "as of" of the generated data.
    pub fn end(&self) -> holdfast_core::Ts {
        calendar::Anchor::of(date_to_ts(self.start)).plus_months(self.months as i64)
    }
}

/// Streams every record. Plans, coupon definitions and FX rates come first; then, customer after customer,
/// its customer record(s), subscriptions, subscription items, discount applications, and its invoices in issue
/// order, each invoice immediately followed by its lines. Customers are generated one at a time, so memory
/// stays flat whatever the size.
pub fn generate(cfg: &SimConfig, sink: &mut dyn FnMut(Record)) {
    generate_observed(cfg, sink, &mut NoObserver)
}

fn company_records(ctx: &customer::Ctx, start: holdfast_core::Ts, reporting: Currency, sink: &mut dyn FnMut(Record)) {
    for p in catalog::plan_records() {
        sink(Record::Plan(p));
    }
    for d in catalog::coupon_records() {
        sink(Record::Discount(d));
    }
    fxgen::emit(ctx, start, reporting, sink);
}

/// [`generate`], also showing every customer-month to `observer` (see [`Observer`]).
pub fn generate_observed(cfg: &SimConfig, sink: &mut dyn FnMut(Record), observer: &mut dyn Observer) {
    let start = date_to_ts(cfg.start);
    let ctx = customer::Ctx::new(cfg.seed, start, cfg.months);
    company_records(&ctx, start, cfg.reporting_currency, sink);
    if cfg.months == 0 {
        return;
    }
    let mut bufs = customer::Buffers::default();
    for i in 0..cfg.customers {
        customer::simulate_customer(&ctx, i, &mut bufs, sink, observer);
    }
}

/// Collects [`generate`] into a [`Dataset`] (for tests and the demo).
pub fn generate_dataset(cfg: &SimConfig) -> Dataset {
    let mut ds = Dataset::default();
    generate(cfg, &mut |r| ds.push(r));
    ds
}
