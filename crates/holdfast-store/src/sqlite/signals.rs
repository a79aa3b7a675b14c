//! Customer-success signal tables (tickets, survey responses, cancellations, funnel, visits, spend,
//! referrals): idempotent upserts by source key with content hashes inside the import's transaction, and
//! the loader into the columnar [`Signals`].
//!
//! Each table is `STRICT, WITHOUT ROWID`, keyed by `key` (the record's source key columns joined by the
//! ASCII unit separator), with one typed column per source column (instants as Unix seconds, days as UTC
//! day numbers, money as minor units) and `content_hash`, a stable XXH64 of the record's typed cells.
use super::load::in_read_tx;
use crate::{PutOutcome, StoreError, TableSummary};
use holdfast_signals::records::{Cell, SignalKind, SignalRecord};
use holdfast_signals::Signals;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// The migration creating the signal tables (appended to [`super::MIGRATIONS`]).
pub(crate) const MIGRATION_SQL: &str = r#"
CREATE TABLE tickets (
    key                  TEXT    NOT NULL PRIMARY KEY,
    ticket_id            TEXT    NOT NULL,
    customer_id          TEXT,
    requester_id         TEXT,
    created_at           INTEGER NOT NULL,
    first_response_at    INTEGER,
    first_resolved_at    INTEGER,
    last_resolved_at     INTEGER,
    status               TEXT,
    channel              TEXT,
    priority             TEXT,
    type                 TEXT,
    tags                 TEXT,
    agent_public_replies INTEGER NOT NULL,
    reopen_count         INTEGER NOT NULL,
    is_spam              INTEGER NOT NULL,
    merged_into          TEXT,
    content_hash         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE survey_responses (
    key           TEXT    NOT NULL PRIMARY KEY,
    response_id   TEXT    NOT NULL,
    survey        TEXT    NOT NULL,
    question_id   TEXT,
    respondent_id TEXT,
    customer_id   TEXT,
    score         INTEGER NOT NULL,
    scale_min     INTEGER NOT NULL,
    scale_max     INTEGER NOT NULL,
    comment       TEXT,
    responded_at  INTEGER NOT NULL,
    ticket_id     TEXT,
    content_hash  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE cancellations (
    key             TEXT    NOT NULL PRIMARY KEY,
    customer_id     TEXT    NOT NULL,
    subscription_id TEXT    NOT NULL,
    cancelled_at    INTEGER NOT NULL,
    reason_code     TEXT    NOT NULL,
    comment         TEXT,
    content_hash    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE funnel (
    key          TEXT    NOT NULL PRIMARY KEY,
    person_id    TEXT,
    anonymous_id TEXT,
    customer_id  TEXT,
    stage        TEXT    NOT NULL,
    stage_at     INTEGER NOT NULL,
    source       TEXT,
    medium       TEXT,
    campaign     TEXT,
    channel      TEXT,
    content_hash INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE visits (
    key          TEXT    NOT NULL PRIMARY KEY,
    date         INTEGER NOT NULL,
    visitor_id   TEXT    NOT NULL,
    source       TEXT,
    content_hash INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE spend (
    key          TEXT    NOT NULL PRIMARY KEY,
    date         INTEGER NOT NULL,
    channel      TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    amount       INTEGER NOT NULL,
    currency     TEXT    NOT NULL,
    campaign     TEXT    NOT NULL,
    content_hash INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE referrals (
    key                  TEXT    NOT NULL PRIMARY KEY,
    referral_id          TEXT    NOT NULL,
    inviter_user_id      TEXT,
    inviter_customer_id  TEXT,
    invitee_ref          TEXT,
    channel              TEXT,
    invited_at           INTEGER NOT NULL,
    invitee_signed_up_at INTEGER,
    invitee_customer_id  TEXT,
    invitee_converted_at INTEGER,
    content_hash         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
"#;

/// The signal tables, in [`SignalKind::ALL`] order.
pub const SIGNAL_TABLES: [&str; 7] = ["tickets", "survey_responses", "cancellations", "funnel", "visits", "spend", "referrals"];

/// A stable hash of typed cells: a tag byte per cell, integers little-endian, text with its length.
fn cells_hash(cells: &[Cell], buf: &mut Vec<u8>) -> i64 {
    buf.clear();
    for c in cells {
        match c {
            Cell::Null => buf.push(0),
            Cell::Int(v) => {
                buf.push(1);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            Cell::Text(s) => {
                buf.push(2);
                buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
                buf.extend_from_slice(s.as_bytes());
            }
        }
    }
    crate::xxh64(buf, 0x5167_4e41) as i64
}

fn bind(st: &mut rusqlite::CachedStatement<'_>, key: &str, cells: &[Cell], hash: i64) -> rusqlite::Result<()> {
    st.raw_bind_parameter(1, key)?;
    for (i, c) in cells.iter().enumerate() {
        match c {
            Cell::Null => st.raw_bind_parameter(i + 2, rusqlite::types::Null)?,
            Cell::Int(v) => st.raw_bind_parameter(i + 2, *v)?,
            Cell::Text(s) => st.raw_bind_parameter(i + 2, s.as_str())?,
        }
    }
    st.raw_bind_parameter(cells.len() + 2, hash)
}

/// Per-import state: outcome counts, the SQL of each table and a reusable hash buffer.
pub(crate) struct SignalPuts {
    pub counts: [TableSummary; 7],
    /// `(select hash by key, upsert, insert unless the key exists)` per table.
    sql: [(String, String, String); 7],
    /// Per table: the previous put inserted, so try the plain insert first (fresh data: one statement).
    insert_first: [bool; 7],
    buf: Vec<u8>,
}

fn sql_for(kind: SignalKind) -> (String, String, String) {
    let table = SIGNAL_TABLES[kind.index()];
    let names = std::iter::once("key").chain(kind.columns().iter().map(|c| c.name)).chain(["content_hash"]).collect::<Vec<_>>();
    let placeholders = (1..=names.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let sets = names[1..].iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
    (
        format!("SELECT content_hash FROM {table} WHERE key = ?1"),
        format!("INSERT INTO {table} ({}) VALUES ({placeholders}) ON CONFLICT (key) DO UPDATE SET {sets}", names.join(", ")),
        format!("INSERT INTO {table} ({}) VALUES ({placeholders}) ON CONFLICT (key) DO NOTHING", names.join(", ")),
    )
}

impl SignalPuts {
    pub(crate) fn new() -> SignalPuts {
        SignalPuts {
            counts: std::array::from_fn(|t| TableSummary { table: SIGNAL_TABLES[t], ..Default::default() }),
            sql: std::array::from_fn(|t| sql_for(SignalKind::ALL[t])),
            insert_first: [true; 7],
            buf: Vec::new(),
        }
    }

    /// Inserts, updates or leaves one record by its source key.
    pub(crate) fn put(&mut self, conn: &Connection, r: &SignalRecord) -> Result<PutOutcome, StoreError> {
        let kind = r.kind();
        let key = r.source_key();
        let cells = r.cells();
        let hash = cells_hash(&cells, &mut self.buf);
        let (select_sql, upsert_sql, insert_sql) = &self.sql[kind.index()];
        if self.insert_first[kind.index()] {
            let mut st = conn.prepare_cached(insert_sql)?;
            bind(&mut st, &key, &cells, hash)?;
            if st.raw_execute()? == 1 {
                self.counts[kind.index()].inserted += 1;
                return Ok(PutOutcome::Inserted);
            }
        }
        let mut select = conn.prepare_cached(select_sql)?;
        let old: Option<i64> = select.query_row([&key], |row| row.get(0)).map(Some).or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })?;
        let outcome = match old {
            Some(h) if h == hash => PutOutcome::Unchanged,
            Some(_) => PutOutcome::Updated,
            None => PutOutcome::Inserted,
        };
        if outcome != PutOutcome::Unchanged {
            let mut st = conn.prepare_cached(upsert_sql)?;
            bind(&mut st, &key, &cells, hash)?;
            st.raw_execute()?;
        }
        self.insert_first[kind.index()] = outcome == PutOutcome::Inserted;
        let c = &mut self.counts[kind.index()];
        match outcome {
            PutOutcome::Inserted => c.inserted += 1,
            PutOutcome::Updated => c.updated += 1,
            PutOutcome::Unchanged => c.unchanged += 1,
        }
        Ok(outcome)
    }
}

/// Every stored signal record, each table in key order.
pub(crate) fn load_records(conn: &Connection) -> Result<Vec<SignalRecord>, StoreError> {
    in_read_tx(conn, || {
        let mut out = Vec::new();
        for kind in SignalKind::ALL {
            let cols: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
            let mut st = conn.prepare(&format!("SELECT {} FROM {} ORDER BY key", cols.join(", "), SIGNAL_TABLES[kind.index()]))?;
            let mut rows = st.query([])?;
            let mut cells = Vec::with_capacity(cols.len());
            while let Some(row) = rows.next()? {
                cells.clear();
                for i in 0..cols.len() {
                    cells.push(match row.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(v) => Cell::Int(v),
                        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                        other => return Err(StoreError::Corrupt(format!("{kind}.{}: unexpected {:?}", cols[i], other.data_type()))),
                    });
                }
                out.push(SignalRecord::from_cells(kind, &mut cells).map_err(StoreError::Corrupt)?);
            }
        }
        Ok(out)
    })
}

/// Row counts of the signal tables.
pub(crate) fn counts(conn: &Connection) -> Result<Vec<(&'static str, u64)>, StoreError> {
    in_read_tx(conn, || {
        SIGNAL_TABLES
            .iter()
            .map(|t| Ok((*t, conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0))? as u64)))
            .collect()
    })
}

/// A hash of every signal content hash in key order: equal iff the stored signals are equal.
pub(crate) fn fingerprint(conn: &Connection) -> Result<u64, StoreError> {
    in_read_tx(conn, || {
        let mut buf = Vec::new();
        for t in SIGNAL_TABLES {
            buf.extend_from_slice(t.as_bytes());
            let mut st = conn.prepare(&format!("SELECT content_hash FROM {t} ORDER BY key"))?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                buf.extend_from_slice(&r.get::<_, i64>(0)?.to_le_bytes());
            }
        }
        Ok(crate::xxh64(&buf, 0))
    })
}

/// Loads the stored signals into columns. Tables are read in [`SignalKind::ALL`] order and each in key order
/// (SQLite's binary text order is Rust's string order), which is the order the columns need.
pub(crate) fn load(conn: &Connection) -> Result<Signals, StoreError> {
    Ok(Signals::from_sorted_records(load_records(conn)?))
}
