//! Hooks for emitters that derive more data from the same simulated customers.
//!
//! The billing simulation walks every customer month by month. After each month it hands an [`Observer`] a
//! [`MonthView`]: the customer's profile, its latent [`Latent`] state after that month's evolution, the lifecycle
//! events processed during the month and a summary of its live subscriptions. An emitter of usage events,
//! support tickets, NPS responses, funnel stages or referrals implements [`Observer`], draws its randomness from
//! its own stream ([`crate::customer_rng`] with a [`crate::stream`] id and the customer's index) and so produces
//! signals correlated with billing outcomes without changing the billing records of any seed.
use crate::catalog::Tier;
use crate::latent::Latent;
use crate::profile::{CustomerProfile, Size};
use holdfast_core::Ts;

/// A fact of a customer's lifecycle. `subscription` is the subscription's 1-based sequence number within the
/// customer (`sub_000123_2` ⇒ 2).
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleEvent {
    pub at: Ts,
    pub subscription: u32,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A subscription was created (sign-up, add-on or return).
    SubscriptionCreated {
        tier: Option<Tier>,
        annual: bool,
        seats: i64,
        trial: bool,
    },
    /// The trial ended and the first invoice was issued.
    TrialEnded,
    /// A recurring invoice failed to collect.
    PaymentFailed,
    /// A failed or late invoice was finally paid.
    PaymentRecovered,
    /// Dunning was exhausted: the subscription became unpaid (or was canceled for non-payment).
    DunningExhausted,
    /// The first invoice of a no-trial subscription was never paid (`incomplete_expired`).
    IncompleteExpired,
    TierChanged {
        from: Tier,
        to: Tier,
        prorated: bool,
    },
    SeatsChanged {
        from: i64,
        to: i64,
        prorated: bool,
    },
    IntervalChanged {
        annual: bool,
    },
    CancelRequested {
        reason: Option<&'static str>,
        at_period_end: bool,
    },
    Ended,
    PauseScheduled {
        from: Ts,
        until: Ts,
    },
    MeteredUsageAdded,
    GoodwillCredit,
    Refunded {
        amount: i64,
    },
    Reactivated,
    SizeChanged {
        to: Size,
    },
    CsmChanged {
        to: &'static str,
    },
}

/// A live subscription at the end of a month.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SubscriptionView {
    pub seq: u32,
    /// `None` for the Insights add-on.
    pub tier: Option<Tier>,
    pub annual: bool,
    pub seats: i64,
    pub trialing: bool,
    /// List-price monthly recurring revenue in the customer's currency (minor units, before discounts).
    pub list_mrr: i64,
}

/// One customer-month, handed to [`Observer::on_month`].
pub struct MonthView<'a> {
    /// Month index since the simulation start.
    pub month: u32,
    /// The calendar month `[start, end)`.
    pub start: Ts,
    pub end: Ts,
    pub customer: &'a CustomerProfile,
    /// Current size (the profile holds the size at sign-up).
    pub size: Size,
    pub latent: &'a Latent,
    /// Lifecycle events processed during this month (their `at` lies in the month, except a trial cancellation,
    /// reported when the trial ends).
    pub events: &'a [LifecycleEvent],
    /// Subscriptions not ended at `end` (including trialing, past-due and unpaid ones).
    pub subscriptions: &'a [SubscriptionView],
}

/// Receives every customer-month after billing for that month was simulated. All methods default to no-ops.
pub trait Observer {
    /// Whether [`Observer::on_month`] should be called (building the views has a small cost).
    fn wants_months(&self) -> bool {
        true
    }
    fn on_month(&mut self, _view: &MonthView<'_>) {}
    /// After the customer's last month, with its whole lifecycle.
    fn on_customer_end(&mut self, _customer: &CustomerProfile, _latent: &Latent, _events: &[LifecycleEvent]) {}
}

/// Two observers watching the same run (e.g. the usage and the signal emitters), each told everything.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn wants_months(&self) -> bool {
        self.0.wants_months() || self.1.wants_months()
    }
    fn on_month(&mut self, view: &MonthView<'_>) {
        if self.0.wants_months() {
            self.0.on_month(view);
        }
        if self.1.wants_months() {
            self.1.on_month(view);
        }
    }
    fn on_customer_end(&mut self, customer: &CustomerProfile, latent: &Latent, events: &[LifecycleEvent]) {
        self.0.on_customer_end(customer, latent, events);
        self.1.on_customer_end(customer, latent, events);
    }
}

impl<T: Observer + ?Sized> Observer for &mut T {
    fn wants_months(&self) -> bool {
        (**self).wants_months()
    }
    fn on_month(&mut self, view: &MonthView<'_>) {
        (**self).on_month(view)
    }
    fn on_customer_end(&mut self, customer: &CustomerProfile, latent: &Latent, events: &[LifecycleEvent]) {
        (**self).on_customer_end(customer, latent, events)
    }
}

/// The observer that does nothing (plain billing generation).
pub struct NoObserver;
impl Observer for NoObserver {
    fn wants_months(&self) -> bool {
        false
    }
}
