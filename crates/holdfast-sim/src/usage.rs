//! Product usage of the simulated customers as Segment messages (spec §12.2), coherent with billing.
//!
//! [`UsageEmitter`] is an [`Observer`]: for every customer-month it reads the customer's latent health, its
//! live subscriptions and the month's lifecycle events, and writes `identify`, `group` and `track` messages
//! (one JSON object per line) to a sink. It draws from its own random stream ([`stream::USAGE`]), so adding
//! it never changes the billing records of a seed.
//!
//! How usage follows health (so later churn and health models find real signal):
//! * a user pool per account sized by licensed seats (flat Starter plans: 1–3 users), at most
//!   [`MAX_USERS`]; each user is active in a month with probability `0.3 + 0.65·health`, so healthy
//!   accounts use more of their seats;
//! * an active user is active on each day with probability `0.04 + 0.22·health`, one session a day (a
//!   second one now and then), starting between 07:00 and 23:59 UTC, so some sessions cross midnight;
//! * a session is a `Signed In` followed by 1–5 feature events a few minutes apart, drawn from the first
//!   `2 + 5·health` features of [`FEATURES`] (healthy accounts use more features, and reach `Report Shared`
//!   sooner); each active user also receives one passive `Email Received` a month;
//! * usage falls with health before churn (health drives the churn hazard), drops to 40 % in the month a
//!   cancellation is requested and stops when no subscription is live;
//! * users group with their account (`groupId` = the billing customer id) on their first active day; half
//!   the tracks also carry `context.groupId`; 3 % of users never send a group call nor a `context.groupId`
//!   (unmapped users, as real integrations have).
use crate::latent::Latent;
use crate::observe::{EventKind, MonthView, Observer};
use crate::profile::CustomerProfile;
use crate::rng::{customer_rng, stream, Draw};
use holdfast_core::time::{format_instant, Ts, SECS_PER_DAY};
use rand_pcg::Pcg64Mcg;
use std::fmt::Write;

/// Feature events, the more valuable later: a healthy account's users reach further down the list.
pub const FEATURES: [&str; 7] = ["Dashboard Viewed", "Report Created", "Filter Applied", "Report Shared", "Export Downloaded", "Alert Configured", "Integration Connected"];
/// Largest user pool per account.
pub const MAX_USERS: usize = 12;

/// Writes usage messages of every customer-month to `sink` (one JSON line per call, without the newline).
pub struct UsageEmitter<'a> {
    seed: u64,
    sink: &'a mut dyn FnMut(&str),
    rng: Option<(usize, Pcg64Mcg)>,
    /// Users of the current customer that have sent their group call.
    grouped: [bool; MAX_USERS],
    counter: u64,
    line: String,
    /// Messages written.
    pub messages: u64,
}

impl<'a> UsageEmitter<'a> {
    pub fn new(seed: u64, sink: &'a mut dyn FnMut(&str)) -> UsageEmitter<'a> {
        UsageEmitter { seed, sink, rng: None, grouped: [false; MAX_USERS], counter: 0, line: String::with_capacity(256), messages: 0 }
    }

    fn emit(&mut self) {
        (self.sink)(&self.line);
        self.messages += 1;
        self.counter += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn track(&mut self, customer: &CustomerProfile, user: usize, unmapped: bool, with_context: bool, event: &str, t: Ts) {
        self.line.clear();
        let _ = write!(
            self.line,
            r#"{{"type":"track","event":"{event}","userId":"u_{:06}_{user}","timestamp":"{}","messageId":"m_{:06}_{}""#,
            customer.index,
            format_instant(t),
            customer.index,
            self.counter
        );
        if with_context && !unmapped {
            let _ = write!(self.line, r#","context":{{"groupId":"{}"}}"#, customer.id);
        }
        self.line.push('}');
        self.emit();
    }
}

impl Observer for UsageEmitter<'_> {
    fn on_month(&mut self, v: &MonthView<'_>) {
        let c = v.customer;
        if self.rng.as_ref().map(|r| r.0) != Some(c.index) {
            self.rng = Some((c.index, customer_rng(self.seed, c.index as u64, stream::USAGE)));
            self.grouped = [false; MAX_USERS];
            self.counter = 0;
        }
        let live: Vec<_> = v.subscriptions.iter().filter(|s| s.tier.is_some()).collect();
        if live.is_empty() {
            return;
        }
        let seats: i64 = live.iter().map(|s| if s.tier.is_some_and(|t| t.per_seat()) { s.seats } else { 0 }).sum();
        let h = v.latent.health;
        let cancelling = v.events.iter().any(|e| matches!(e.kind, EventKind::CancelRequested { .. }));
        let Some((_, mut rng)) = self.rng.take() else { return };
        let pool = if seats > 0 { (seats as usize).clamp(1, MAX_USERS) } else { 1 + c.index % 3 };
        let start = v.start.max(c.signup);
        let first_day = start.div_euclid(SECS_PER_DAY);
        let last_day = (v.end - 1).div_euclid(SECS_PER_DAY);
        let p_user = (0.3 + 0.65 * h) * if cancelling { 0.4 } else { 1.0 };
        let p_day = 0.04 + 0.22 * h;
        let n_features = (2.0 + 5.0 * h).round() as usize;
        for user in 0..pool {
            if !rng.chance(p_user) {
                continue;
            }
            // 3 % of users are never grouped (a stable property of the user)
            let unmapped = (c.index * 31 + user * 17) % 100 < 3;
            let mut emailed = false;
            for day in first_day..=last_day {
                if !rng.chance(p_day) {
                    continue;
                }
                let sessions = if rng.chance(0.15) { 2 } else { 1 };
                let mut t = day * SECS_PER_DAY + rng.between(7 * 3600, 24 * 3600);
                for _ in 0..sessions {
                    if t >= v.end {
                        break;
                    }
                    if !self.grouped[user] && !unmapped {
                        self.grouped[user] = true;
                        let ts = format_instant(t - 60);
                        self.line.clear();
                        let _ = write!(self.line, r#"{{"type":"identify","userId":"u_{:06}_{user}","timestamp":"{ts}","messageId":"m_{:06}_{}","traits":{{"company":"{}"}}}}"#, c.index, c.index, self.counter, c.name.replace('"', ""));
                        self.emit();
                        self.line.clear();
                        let _ = write!(self.line, r#"{{"type":"group","userId":"u_{:06}_{user}","groupId":"{}","timestamp":"{ts}","messageId":"m_{:06}_{}","traits":{{"name":"{}","plan_seats":{seats}}}}}"#, c.index, c.id, c.index, self.counter, c.name.replace('"', ""));
                        self.emit();
                    }
                    let ctx = rng.chance(0.5);
                    self.track(c, user, unmapped, ctx, "Signed In", t);
                    for _ in 0..rng.between(1, 6) {
                        t += rng.between(60, 8 * 60);
                        if t >= v.end {
                            break;
                        }
                        let f = FEATURES[rng.between(0, n_features.min(FEATURES.len()) as i64) as usize];
                        self.track(c, user, unmapped, ctx, f, t);
                    }
                    t += rng.between(2 * 3600, 5 * 3600);
                }
                if !emailed && t < v.end {
                    emailed = true;
                    self.track(c, user, unmapped, false, "Email Received", day * SECS_PER_DAY + 6 * 3600);
                }
            }
        }
        self.rng = Some((c.index, rng));
    }

    fn on_customer_end(&mut self, _customer: &CustomerProfile, _latent: &Latent, _events: &[crate::observe::LifecycleEvent]) {
        self.rng = None;
    }
}
