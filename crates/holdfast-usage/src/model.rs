//! The metric-time view of a [`Rollup`]: every user-day and event count attributed to an account, in
//! compressed-row (CSR) layouts with dense `u32` ids, built once per report.
//!
//! **Account resolution** (spec §12.2): an event's account is its `context.groupId`; else the account of the
//! user's latest group call on or before the event's day; else, for events before the user's first group call,
//! that first group's account (a user who signs up and is then grouped belongs to the account from the start);
//! else the user is *unmapped*: counted in totals and in [`UsageModel::unmapped_users`], never dropped. Group
//! calls resolve at day granularity (the rollups are daily): a user moving accounts moves from the day of the
//! group call.
use crate::rollup::{Rollup, PAGE_EVENT};
use crate::settings::UsageSettings;
use holdfast_core::snapshot::NONE;
use holdfast_core::time::{day_of, Ts};

/// One account-day-event count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountDay {
    pub day: i32,
    pub event: u32,
    pub count: u64,
}

/// A session with its resolved account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: u32,
    pub account: u32,
    pub start: Ts,
    pub end: Ts,
}

/// See the [module docs](self).
pub struct UsageModel {
    pub n_users: usize,
    pub n_accounts: usize,
    /// Whether each event (by id) makes a user active: a track event not in `passive_events`.
    pub active: Vec<bool>,
    /// User-day activity: user `u`'s active days are `day[off[u]..off[u+1]]`, ascending, with the account of
    /// each day in `day_account` (`NONE` = unmapped).
    pub user_off: Vec<u32>,
    pub user_day: Vec<i32>,
    pub day_account: Vec<u32>,
    /// Account × day × event counts (every event, active or not): account `a`'s rows are
    /// `account_rows[account_off[a]..account_off[a+1]]`, by day then event.
    pub account_off: Vec<u32>,
    pub account_rows: Vec<AccountDay>,
    /// Login events per user-day: `(user, day, account, count)`, by user then day.
    pub logins: Vec<(u32, i32, u32, u64)>,
    /// Whether the login event appears at all (else `login_frequency` falls back to session starts).
    pub has_login_event: bool,
    /// Sessions by user then start.
    pub sessions: Vec<Session>,
    /// First instant each account sent each event: `(account, event, t)`, sorted.
    pub firsts: Vec<(u32, u32, Ts)>,
    /// Users with at least one active day but no account on it.
    pub unmapped_users: u64,
    /// First and last active day, if any.
    pub days: Option<(i32, i32)>,
}

impl UsageModel {
    pub fn user_days(&self, u: usize) -> (&[i32], &[u32]) {
        let (a, b) = (self.user_off[u] as usize, self.user_off[u + 1] as usize);
        (&self.user_day[a..b], &self.day_account[a..b])
    }
    pub fn account_days(&self, a: usize) -> &[AccountDay] {
        &self.account_rows[self.account_off[a] as usize..self.account_off[a + 1] as usize]
    }

    /// Resolves accounts and builds the columns.
    pub fn build(r: &Rollup, s: &UsageSettings) -> UsageModel {
        let n_users = r.users.len();
        let n_accounts = r.accounts.len();
        let mut active = vec![false; r.events.len()];
        let passive: Vec<u32> = s.ingest.passive_events.iter().filter_map(|e| r.events.get(e)).collect();
        for (e, a) in active.iter_mut().enumerate() {
            *a = r.events.name(e as u32) != PAGE_EVENT && !passive.contains(&(e as u32));
        }
        // group calls per user, by time
        let mut g_off = vec![0u32; n_users + 1];
        for g in &r.groups {
            g_off[g.user as usize + 1] += 1;
        }
        for i in 0..n_users {
            g_off[i + 1] += g_off[i];
        }
        let groups = &r.groups; // sorted by (user, t, account)
        let resolve = |user: u32, hint: u32, day: i32| -> u32 {
            if hint != NONE {
                return hint;
            }
            let gs = &groups[g_off[user as usize] as usize..g_off[user as usize + 1] as usize];
            let k = gs.partition_point(|g| day_of(g.t) <= day);
            if k > 0 {
                gs[k - 1].account
            } else {
                gs.first().map(|g| g.account).unwrap_or(NONE)
            }
        };
        let login = r.events.get(&s.login_event);
        let mut user_off = Vec::with_capacity(n_users + 1);
        user_off.push(0u32);
        let mut user_day = Vec::new();
        let mut day_account = Vec::new();
        let mut logins = Vec::new();
        let mut acct_rows: Vec<(u32, AccountDay)> = Vec::with_capacity(r.counts.len());
        let mut scratch: Vec<(i32, u32)> = Vec::new();
        let mut unmapped_users = 0u64;
        let mut i = 0;
        let counts = &r.counts;
        for u in 0..n_users as u32 {
            scratch.clear();
            while i < counts.len() && counts[i].user == u {
                let c = counts[i];
                let acct = resolve(u, c.account, c.day);
                if active[c.event as usize] {
                    scratch.push((c.day, acct));
                }
                if Some(c.event) == login {
                    logins.push((u, c.day, acct, c.count));
                }
                if acct != NONE {
                    acct_rows.push((acct, AccountDay { day: c.day, event: c.event, count: c.count }));
                }
                i += 1;
            }
            scratch.sort_unstable();
            scratch.dedup_by_key(|x| x.0);
            if scratch.iter().any(|x| x.1 == NONE) {
                unmapped_users += 1;
            }
            user_day.extend(scratch.iter().map(|x| x.0));
            day_account.extend(scratch.iter().map(|x| x.1));
            user_off.push(user_day.len() as u32);
        }
        logins.sort_unstable();
        acct_rows.sort_unstable_by_key(|x| (x.0, x.1.day, x.1.event));
        let mut account_off = vec![0u32; n_accounts + 1];
        let mut account_rows: Vec<AccountDay> = Vec::with_capacity(acct_rows.len());
        let mut last: Option<(u32, i32, u32)> = None;
        for (a, row) in acct_rows {
            if last == Some((a, row.day, row.event)) {
                if let Some(l) = account_rows.last_mut() {
                    l.count += row.count;
                }
                continue;
            }
            last = Some((a, row.day, row.event));
            account_off[a as usize + 1] += 1;
            account_rows.push(row);
        }
        for k in 0..n_accounts {
            account_off[k + 1] += account_off[k];
        }
        let sessions: Vec<Session> = r.sessions.iter().map(|x| Session { user: x.user, account: resolve(x.user, x.account, day_of(x.start)), start: x.start, end: x.end }).collect();
        let mut firsts: Vec<(u32, u32, Ts)> = r.firsts.iter().map(|f| (resolve(f.user, f.account, day_of(f.t)), f.event, f.t)).filter(|f| f.0 != NONE).collect();
        firsts.sort_unstable();
        firsts.dedup_by_key(|f| (f.0, f.1));
        let days = match (user_day.iter().min(), user_day.iter().max()) {
            (Some(&a), Some(&b)) => Some((a, b)),
            _ => None,
        };
        UsageModel {
            n_users,
            n_accounts,
            active,
            user_off,
            user_day,
            day_account,
            account_off,
            account_rows,
            logins,
            has_login_event: login.is_some(),
            sessions,
            firsts,
            unmapped_users,
            days,
        }
    }

    /// DAU, WAU and MAU (trailing 30 days) of every day in `[from, to]`, over all users: one pass over the
    /// user-days with difference arrays (a user counts in the windows ending on `d..d+6` / `d..d+29` after
    /// each active day `d`, without double counting overlapping windows).
    pub fn daily_active(&self, from: i32, to: i32) -> Vec<[u64; 3]> {
        let n = (to - from + 1).max(0) as usize;
        let mut diff = vec![[0i64; 3]; n + 1];
        let clamp = |d: i32| (d - from).clamp(0, n as i32) as usize;
        for u in 0..self.n_users {
            let (days, _) = self.user_days(u);
            let mut covered = [i32::MIN; 3];
            for &d in days {
                for (k, w) in [1, 7, 30].into_iter().enumerate() {
                    let s = d.max(covered[k]);
                    let e = d + w;
                    if s < e {
                        diff[clamp(s)][k] += 1;
                        diff[clamp(e)][k] -= 1;
                    }
                    covered[k] = e;
                }
            }
        }
        let mut run = [0i64; 3];
        diff[..n]
            .iter()
            .map(|x| {
                for k in 0..3 {
                    run[k] += x[k];
                }
                [run[0] as u64, run[1] as u64, run[2] as u64]
            })
            .collect()
    }

    /// Each account's count of active events over the `window` days ending on `day` (inclusive).
    pub fn account_trailing_counts(&self, day: i32, window: i32) -> Vec<u64> {
        (0..self.n_accounts)
            .map(|a| {
                let rows = self.account_days(a);
                let lo = rows.partition_point(|r| r.day <= day - window);
                let hi = rows.partition_point(|r| r.day <= day);
                rows[lo..hi].iter().filter(|r| self.active[r.event as usize]).map(|r| r.count).sum()
            })
            .collect()
    }
}
