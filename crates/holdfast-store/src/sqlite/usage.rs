//! Usage rollups (`holdfast-usage`) in SQLite: the tables, the merge of one import's rollup into them and
//! loading them back.
//!
//! Names (users, accounts, event and property names) live once in dimension tables with dense integer ids
//! assigned in first-seen order (ids are contiguous from 0, so loading in id order rebuilds the interners);
//! the fact tables hold only integers. Each fact table merges the way a ClickHouse table engine would:
//! `usage_daily` and `usage_daily_sums` add (`SummingMergeTree`), `usage_first_seen` keeps the minimum,
//! `usage_groups` and `usage_messages` are sets, `usage_sessions` unions intervals closer than the session
//! gap. A ClickHouse backend replaces these statements, not the rollup types.
//!
//! The "no account hint" value is stored as `4294967295` (`u32::MAX`, the in-memory `NONE`), so key order in
//! SQLite is key order in memory.
use crate::StoreError;
use holdfast_core::snapshot::{Interner, NONE};
use holdfast_usage::rollup::{add_interval, CountRow, FirstRow, GroupRow, Rollup, SessionRow, SumRow};
use rusqlite::{params, Connection, OptionalExtension};

/// The schema step appended to [`super::MIGRATIONS`].
pub(crate) const MIGRATION_SQL: &str = r#"
CREATE TABLE usage_meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_users (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;
CREATE TABLE usage_accounts (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    billing_customer_id TEXT
) STRICT;
CREATE TABLE usage_event_names (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;
CREATE TABLE usage_property_names (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;
CREATE TABLE usage_messages (
    hash INTEGER PRIMARY KEY
) STRICT;
CREATE TABLE usage_daily (
    user_id    INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    event_id   INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (user_id, account_id, day, event_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_daily_sums (
    user_id     INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    event_id    INTEGER NOT NULL,
    property_id INTEGER NOT NULL,
    sum_micros  INTEGER NOT NULL,
    PRIMARY KEY (user_id, account_id, day, event_id, property_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_sessions (
    user_id    INTEGER NOT NULL,
    start      INTEGER NOT NULL,
    end        INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, start)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_first_seen (
    user_id    INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    event_id   INTEGER NOT NULL,
    first_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, account_id, event_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_groups (
    user_id    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, at, account_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage_raw_events (
    message_hash INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    account_id   INTEGER NOT NULL,
    event_id     INTEGER NOT NULL
) STRICT;
"#;

/// The usage tables, for `holdfast status`.
pub const USAGE_TABLES: [&str; 7] = ["usage_messages", "usage_users", "usage_accounts", "usage_daily", "usage_sessions", "usage_groups", "usage_raw_events"];

/// What merging one import's rollup wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageStored {
    /// Messages counted for the first time.
    pub messages: u64,
    /// Users seen for the first time.
    pub new_users: u64,
    /// Accounts (group ids) seen for the first time.
    pub new_accounts: u64,
    /// Daily count rows of the import (inserted or added to).
    pub daily_rows: u64,
    /// Sessions after merging with the stored ones that touched the import's sessions.
    pub sessions: u64,
}

/// Every stored message hash (the dedupe set an import starts from).
pub(crate) fn message_ids(conn: &Connection) -> Result<Vec<u64>, StoreError> {
    let mut st = conn.prepare_cached("SELECT hash FROM usage_messages")?;
    let rows = st.query_map([], |r| r.get::<_, i64>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r? as u64);
    }
    Ok(out)
}

/// The hashes among `hashes` that are stored (one primary-key lookup each).
pub(crate) fn messages_stored(conn: &Connection, hashes: &[u64]) -> Result<Vec<u64>, StoreError> {
    let mut st = conn.prepare_cached("SELECT 1 FROM usage_messages WHERE hash = ?1")?;
    let mut out = Vec::new();
    for &h in hashes {
        if st.exists([h as i64])? {
            out.push(h);
        }
    }
    Ok(out)
}

fn dimension(conn: &Connection, table: &str, names: &Interner, new: &mut u64) -> Result<Vec<u32>, StoreError> {
    // ids are contiguous from 0, so max + 1 is the count, read from the rowid b-tree's end instead of a scan
    // (an HTTP ingest request merges a small rollup into large tables)
    let mut next: i64 = conn.query_row(&format!("SELECT coalesce(max(id) + 1, 0) FROM {table}"), [], |r| r.get(0))?;
    let mut get = conn.prepare_cached(&format!("SELECT id FROM {table} WHERE name = ?1"))?;
    let mut put = conn.prepare_cached(&format!("INSERT INTO {table} (id, name) VALUES (?1, ?2)"))?;
    let mut out = Vec::with_capacity(names.len());
    for i in 0..names.len() as u32 {
        let name = names.name(i);
        let id = match get.query_row([name], |r| r.get::<_, i64>(0)).optional()? {
            Some(id) => id,
            None => {
                put.execute(params![next, name])?;
                next += 1;
                *new += 1;
                next - 1
            }
        };
        out.push(u32::try_from(id).map_err(|_| StoreError::Corrupt(format!("{table}: id {id} out of range")))?);
    }
    Ok(out)
}

fn map(ids: &[u32], i: u32) -> i64 {
    if i == NONE {
        NONE as i64
    } else {
        ids[i as usize] as i64
    }
}

/// Merges one import's rollup (built with the ingest settings `fingerprint`) into the tables. Runs inside
/// the caller's import transaction.
pub(crate) fn put_usage(conn: &Connection, r: &Rollup, fingerprint: &str, session_gap: i64) -> Result<UsageStored, StoreError> {
    let stored: Option<String> = conn.query_row("SELECT value FROM usage_meta WHERE key = 'ingest_settings'", [], |x| x.get(0)).optional()?;
    match stored {
        Some(s) if s != fingerprint => {
            return Err(StoreError::Unsupported(format!(
                "the usage rollups in this store were built with {s}, this import uses {fingerprint}; use the same [usage] ingest settings (or a new store)"
            )))
        }
        Some(_) => {}
        None => {
            conn.execute("INSERT INTO usage_meta (key, value) VALUES ('ingest_settings', ?1)", [fingerprint])?;
        }
    }
    let mut out = UsageStored::default();
    let users = dimension(conn, "usage_users", &r.users, &mut out.new_users)?;
    let accounts = dimension(conn, "usage_accounts", &r.accounts, &mut out.new_accounts)?;
    let mut ignored = 0;
    let events = dimension(conn, "usage_event_names", &r.events, &mut ignored)?;
    let props = dimension(conn, "usage_property_names", &r.props, &mut ignored)?;

    let mut st = conn.prepare_cached("INSERT INTO usage_messages (hash) VALUES (?1) ON CONFLICT DO NOTHING")?;
    for &h in &r.message_ids {
        out.messages += st.execute([h as i64])? as u64;
    }
    let mut st = conn.prepare_cached(
        "INSERT INTO usage_daily (user_id, account_id, day, event_id, count) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO UPDATE SET count = count + excluded.count",
    )?;
    for c in &r.counts {
        st.execute(params![users[c.user as usize], map(&accounts, c.account), c.day, events[c.event as usize], c.count as i64])?;
        out.daily_rows += 1;
    }
    let mut st = conn.prepare_cached(
        "INSERT INTO usage_daily_sums (user_id, account_id, day, event_id, property_id, sum_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT DO UPDATE SET sum_micros = sum_micros + excluded.sum_micros",
    )?;
    for s in &r.sums {
        st.execute(params![users[s.user as usize], map(&accounts, s.account), s.day, events[s.event as usize], props[s.prop as usize], s.sum])?;
    }
    let mut st = conn.prepare_cached(
        "INSERT INTO usage_first_seen (user_id, account_id, event_id, first_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET first_at = min(first_at, excluded.first_at)",
    )?;
    for f in &r.firsts {
        st.execute(params![users[f.user as usize], map(&accounts, f.account), events[f.event as usize], f.t])?;
    }
    let mut st = conn.prepare_cached("INSERT INTO usage_groups (user_id, at, account_id) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?;
    for g in &r.groups {
        st.execute(params![users[g.user as usize], g.t, accounts[g.account as usize]])?;
    }
    let mut st = conn.prepare_cached("UPDATE usage_accounts SET billing_customer_id = ?2 WHERE id = ?1")?;
    for (a, b) in &r.links {
        st.execute(params![accounts[*a as usize], b.as_ref()])?;
    }
    let mut st = conn.prepare_cached("INSERT INTO usage_raw_events (message_hash, at, user_id, account_id, event_id) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING")?;
    for e in &r.raw {
        st.execute(params![e.message as i64, e.t, users[e.user as usize], map(&accounts, e.account), events[e.event as usize]])?;
    }
    out.sessions = merge_sessions(conn, r, &users, &accounts, session_gap)?;
    Ok(out)
}

/// Sessions of the import, per user, merged with the stored sessions within `gap` of them. Stored sessions of
/// a user are disjoint and sorted, so their ends ascend with their starts: scanning back from the import's
/// last end finds every candidate and stops at the first one ending too early.
fn merge_sessions(conn: &Connection, r: &Rollup, users: &[u32], accounts: &[u32], gap: i64) -> Result<u64, StoreError> {
    let mut scan = conn.prepare_cached("SELECT start, end, events, account_id FROM usage_sessions WHERE user_id = ?1 AND start <= ?2 ORDER BY start DESC")?;
    let mut del = conn.prepare_cached("DELETE FROM usage_sessions WHERE user_id = ?1 AND start = ?2")?;
    let mut put = conn.prepare_cached("INSERT INTO usage_sessions (user_id, start, end, events, account_id) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let mut merged: Vec<SessionRow> = Vec::new();
    let mut n = 0u64;
    let mut i = 0;
    while i < r.sessions.len() {
        let u = r.sessions[i].user;
        let j = i + r.sessions[i..].iter().take_while(|s| s.user == u).count();
        let sid = users[u as usize] as i64;
        let (lo, hi) = (r.sessions[i].start, r.sessions[i..j].iter().map(|s| s.end).max().unwrap_or(r.sessions[i].end));
        merged.clear();
        {
            let mut rows = scan.query(params![sid, hi + gap])?;
            while let Some(row) = rows.next()? {
                let (start, end, events, account): (i64, i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
                if end < lo - gap {
                    break;
                }
                merged.push(SessionRow { user: sid as u32, start, end, events: events as u32, account: account as u32 });
            }
        }
        for s in &merged {
            del.execute(params![sid, s.start])?;
        }
        merged.reverse();
        for s in &r.sessions[i..j] {
            add_interval(&mut merged, sid as u32, s.start, s.end, s.events, if s.account == NONE { NONE } else { accounts[s.account as usize] }, gap);
        }
        for s in &merged {
            put.execute(params![sid, s.start, s.end, s.events as i64, s.account as i64])?;
        }
        n += merged.len() as u64;
        i = j;
    }
    Ok(n)
}

fn names(conn: &Connection, table: &str) -> Result<Interner, StoreError> {
    let mut st = conn.prepare(&format!("SELECT id, name FROM {table} ORDER BY id"))?;
    let mut rows = st.query([])?;
    let mut out = Interner::default();
    while let Some(r) = rows.next()? {
        let (id, name): (i64, String) = (r.get(0)?, r.get(1)?);
        if out.intern(&name) as i64 != id {
            return Err(StoreError::Corrupt(format!("{table}: ids are not contiguous at {id}")));
        }
    }
    Ok(out)
}

fn u32_of(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what}: {v} out of range")))
}

/// Loads every usage table into one merged [`Rollup`] (message ids and raw events are left out: the KPIs
/// do not read them).
pub(crate) fn load_usage(conn: &Connection) -> Result<Rollup, StoreError> {
    let mut r = Rollup { users: names(conn, "usage_users")?, accounts: names(conn, "usage_accounts")?, events: names(conn, "usage_event_names")?, props: names(conn, "usage_property_names")?, ..Rollup::default() };
    let mut st = conn.prepare("SELECT user_id, account_id, day, event_id, count FROM usage_daily ORDER BY user_id, account_id, day, event_id")?;
    let mut rows = st.query([])?;
    while let Some(x) = rows.next()? {
        r.counts.push(CountRow { user: u32_of(x.get(0)?, "usage_daily.user_id")?, account: u32_of(x.get(1)?, "usage_daily.account_id")?, day: x.get(2)?, event: u32_of(x.get(3)?, "usage_daily.event_id")?, count: x.get::<_, i64>(4)? as u64 });
    }
    let mut st = conn.prepare("SELECT user_id, account_id, day, event_id, property_id, sum_micros FROM usage_daily_sums ORDER BY user_id, account_id, day, event_id, property_id")?;
    let mut rows = st.query([])?;
    while let Some(x) = rows.next()? {
        r.sums.push(SumRow {
            user: u32_of(x.get(0)?, "usage_daily_sums.user_id")?,
            account: u32_of(x.get(1)?, "usage_daily_sums.account_id")?,
            day: x.get(2)?,
            event: u32_of(x.get(3)?, "usage_daily_sums.event_id")?,
            prop: u32_of(x.get(4)?, "usage_daily_sums.property_id")?,
            sum: x.get(5)?,
        });
    }
    let mut st = conn.prepare("SELECT user_id, start, end, events, account_id FROM usage_sessions ORDER BY user_id, start")?;
    let mut rows = st.query([])?;
    while let Some(x) = rows.next()? {
        r.sessions.push(SessionRow { user: u32_of(x.get(0)?, "usage_sessions.user_id")?, start: x.get(1)?, end: x.get(2)?, events: u32_of(x.get(3)?, "usage_sessions.events")?, account: u32_of(x.get(4)?, "usage_sessions.account_id")? });
    }
    let mut st = conn.prepare("SELECT user_id, account_id, event_id, first_at FROM usage_first_seen ORDER BY user_id, account_id, event_id")?;
    let mut rows = st.query([])?;
    while let Some(x) = rows.next()? {
        r.firsts.push(FirstRow { user: u32_of(x.get(0)?, "usage_first_seen.user_id")?, account: u32_of(x.get(1)?, "usage_first_seen.account_id")?, event: u32_of(x.get(2)?, "usage_first_seen.event_id")?, t: x.get(3)? });
    }
    let mut st = conn.prepare("SELECT user_id, at, account_id FROM usage_groups ORDER BY user_id, at, account_id")?;
    let mut rows = st.query([])?;
    while let Some(x) = rows.next()? {
        r.groups.push(GroupRow { user: u32_of(x.get(0)?, "usage_groups.user_id")?, t: x.get(1)?, account: u32_of(x.get(2)?, "usage_groups.account_id")? });
    }
    let mut st = conn.prepare("SELECT id, billing_customer_id FROM usage_accounts WHERE billing_customer_id IS NOT NULL ORDER BY id")?;
    let mut rows = st.query([])?;
    while let Some(x) = rows.next()? {
        r.links.push((u32_of(x.get(0)?, "usage_accounts.id")?, x.get::<_, String>(1)?.into_boxed_str()));
    }
    Ok(r)
}

/// Row counts of the usage tables.
pub(crate) fn usage_counts(conn: &Connection) -> Result<Vec<(&'static str, u64)>, StoreError> {
    USAGE_TABLES.iter().map(|t| Ok((*t, conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0))? as u64))).collect()
}
