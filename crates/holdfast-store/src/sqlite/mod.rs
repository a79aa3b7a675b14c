//! The SQLite backend: one database file in WAL mode.
//!
//! # Schema (version [`SCHEMA_VERSION`])
//!
//! One `STRICT, WITHOUT ROWID` table per record kind, clustered on the source key so that a scan in key
//! order is a sequential read of the table's B-tree (no sort, no index lookups):
//!
//! | table | key | notable columns |
//! |---|---|---|
//! | `customers` | `(id, valid_from)` | `valid_from` is `i64::MIN` for the initial (unversioned) row; `external_ids` JSON array, `attributes` JSON object (NULL when empty) |
//! | `plans` | `id` | `currency` ISO code, `amount` minor units, `price_type`/`interval`/`usage_type` wire names |
//! | `discounts` | `id` | `percent_off_milli`, `amount_off` minor units, `starts_at`/`ends_at` |
//! | `subscriptions` | `id` | lifecycle instants, `cancel_at_period_end` 0/1 |
//! | `subscription_items` | `(id, valid_from)` | `quantity`, `valid_to` |
//! | `invoices` | `id` | `currency`, `status`, `total`/`amount_paid`/`amount_refunded` minor units |
//! | `invoice_lines` | `id` | ids of invoice/subscription/item/plan, period, `amount`, `tax_inclusive`, `quantity`, `prorated`, `discounts` as `discount_id:amount\|…` text (NULL when none) |
//! | `fx_rates` | `(day, base, quote)` | `rate` as 9-decimal fixed point integer |
//! | `scheduled_items` | `id` | subscription, plan, `quantity`, `valid_from`/`valid_to`, `scheduled_at`, `withdrawn_at` |
//!
//! Instants are integer Unix seconds (UTC), money is integer minor units, currencies are ISO codes and
//! enums their wire names (`past_due`, `one_time`…). Every record table has `content_hash INTEGER`, the
//! record's [`content_hash`](crate::content_hash) as a signed 64-bit integer. `imports` logs each committed
//! import (time and counts).
//!
//! Live syncs (e.g. `holdfast sync stripe`) keep, per `source`, a resume state (`sync_state`, one opaque
//! text per source: the sync's cursor) and the source documents they fetched (`sync_documents`, keyed by
//! `(source, key)`, body as text), written in the same transaction as the records they produce (see
//! [`ImportTx::set_sync_state`](crate::ImportTx::set_sync_state)). These tables are not record tables: they
//! are not in the snapshot, the table counts or the content fingerprint.
//!
//! # Migrations
//!
//! The schema version is `PRAGMA user_version`. [`MIGRATIONS`] holds the ordered SQL steps; opening an older
//! database applies the missing steps, each in its own transaction together with the version bump. A
//! database with a version newer than this build knows is refused with [`StoreError::SchemaTooNew`]
//! before anything is written to it.
mod import;
mod load;
mod raw;
mod sync;
pub mod signals;
pub mod usage;

use crate::{ImportTx, Store, StoreError, TABLES};
use holdfast_core::records::Dataset;
use holdfast_core::snapshot::Snapshot;
use holdfast_core::Ts;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// One forward-only schema step; applying migration `i` (0-based) takes the database to version `i + 1`.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// What the step does, for logs.
    pub description: &'static str,
    /// The SQL, run as one batch inside the step's transaction.
    pub sql: &'static str,
}

/// Every schema step, oldest first. Never edit a released step: append a new one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        description: "record tables",
        sql: r#"
CREATE TABLE customers (
    id            TEXT    NOT NULL,
    valid_from    INTEGER NOT NULL,
    name          TEXT,
    email         TEXT,
    domain        TEXT,
    created_at    INTEGER,
    external_ids  TEXT,
    attributes    TEXT,
    content_hash  INTEGER NOT NULL,
    PRIMARY KEY (id, valid_from)
) STRICT, WITHOUT ROWID;
CREATE TABLE plans (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT,
    product        TEXT,
    currency       TEXT    NOT NULL,
    amount         INTEGER NOT NULL,
    price_type     TEXT    NOT NULL,
    interval       TEXT,
    interval_count INTEGER NOT NULL,
    usage_type     TEXT    NOT NULL,
    content_hash   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE discounts (
    id                 TEXT    NOT NULL PRIMARY KEY,
    name               TEXT,
    duration           TEXT    NOT NULL,
    duration_in_months INTEGER,
    percent_off_milli  INTEGER,
    amount_off         INTEGER,
    currency           TEXT,
    customer_id        TEXT,
    subscription_id    TEXT,
    starts_at          INTEGER,
    ends_at            INTEGER,
    content_hash       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE subscriptions (
    id                   TEXT    NOT NULL PRIMARY KEY,
    customer_id          TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    currency             TEXT,
    created_at           INTEGER,
    started_at           INTEGER,
    trial_start          INTEGER,
    trial_end            INTEGER,
    cancel_at_period_end INTEGER NOT NULL,
    cancel_at            INTEGER,
    canceled_at          INTEGER,
    ended_at             INTEGER,
    unpaid_since         INTEGER,
    pause_start          INTEGER,
    pause_end            INTEGER,
    cancellation_reason  TEXT,
    content_hash         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE subscription_items (
    id              TEXT    NOT NULL,
    valid_from      INTEGER NOT NULL,
    subscription_id TEXT    NOT NULL,
    plan_id         TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    valid_to        INTEGER,
    content_hash    INTEGER NOT NULL,
    PRIMARY KEY (id, valid_from)
) STRICT, WITHOUT ROWID;
CREATE TABLE invoices (
    id              TEXT    NOT NULL PRIMARY KEY,
    customer_id     TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    issued_at       INTEGER NOT NULL,
    due_at          INTEGER,
    paid_at         INTEGER,
    total           INTEGER NOT NULL,
    amount_paid     INTEGER NOT NULL,
    amount_refunded INTEGER NOT NULL,
    content_hash    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE invoice_lines (
    id              TEXT    NOT NULL PRIMARY KEY,
    invoice_id      TEXT    NOT NULL,
    subscription_id TEXT,
    item_id         TEXT,
    plan_id         TEXT,
    price_type      TEXT    NOT NULL,
    period_start    INTEGER,
    period_end      INTEGER,
    amount          INTEGER NOT NULL,
    tax_inclusive   INTEGER NOT NULL,
    quantity        INTEGER NOT NULL,
    prorated        INTEGER NOT NULL,
    discounts       TEXT,
    content_hash    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE fx_rates (
    day          INTEGER NOT NULL,
    base         TEXT    NOT NULL,
    quote        TEXT    NOT NULL,
    rate         INTEGER NOT NULL,
    content_hash INTEGER NOT NULL,
    PRIMARY KEY (day, base, quote)
) STRICT, WITHOUT ROWID;
"#,
    },
    Migration {
        description: "import log",
        sql: r#"
CREATE TABLE imports (
    seq          INTEGER PRIMARY KEY,
    committed_at INTEGER NOT NULL,
    inserted     INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    unchanged    INTEGER NOT NULL
) STRICT;
"#,
    },
    Migration {
        description: "scheduled subscription changes (CMRR)",
        sql: r#"
CREATE TABLE scheduled_items (
    id              TEXT    NOT NULL PRIMARY KEY,
    subscription_id TEXT    NOT NULL,
    plan_id         TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    valid_from      INTEGER NOT NULL,
    valid_to        INTEGER,
    scheduled_at    INTEGER NOT NULL,
    withdrawn_at    INTEGER,
    content_hash    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
"#,
    },
    Migration {
        description: "sync state and source documents of live syncs",
        sql: r#"
CREATE TABLE sync_state (
    source TEXT NOT NULL PRIMARY KEY,
    state  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE sync_documents (
    source TEXT NOT NULL,
    key    TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (source, key)
) STRICT;
"#,
    },
    Migration { description: "customer-success signal tables", sql: signals::MIGRATION_SQL },
    Migration { description: "usage rollups (holdfast-usage)", sql: usage::MIGRATION_SQL },
    Migration {
                description: "server: API keys, users, sessions, targets, Stripe webhook events",
        sql: r#"
CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    key_sha256   TEXT    NOT NULL,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'ingest', 'admin')),
    name         TEXT,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'read')),
    created_at    INTEGER NOT NULL
) STRICT;
CREATE TABLE sessions (
    token_sha256 TEXT    NOT NULL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE TABLE targets (
    id         INTEGER PRIMARY KEY,
    kpi        TEXT    NOT NULL,
    grain      TEXT    NOT NULL,
    period     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('reach', 'stay_above', 'stay_below')),
    target     INTEGER NOT NULL,
    owner      TEXT,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE stripe_webhook_events (
    event_id    TEXT    NOT NULL PRIMARY KEY,
    object_id   TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    outcome     TEXT    NOT NULL
) STRICT;
"#,
    },
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Source-key columns of each table in [`TABLES`] order (the `ORDER BY` of loads and fingerprints).
pub(crate) const KEYS: [&str; 9] =
    ["id, valid_from", "id", "id", "id", "id, valid_from", "id", "id", "day, base, quote", "id"];

/// Page cache per connection, in KiB (SQLite's negative `cache_size` convention).
const CACHE_KIB: i64 = 128 * 1024;

/// Where the snapshot image of the database at `db` is cached.
pub fn snapshot_cache_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".snapshot");
    PathBuf::from(name)
}

/// Best effort: a cache that cannot be written only costs speed on the next load.
fn write_snapshot_cache(cache: &Path, snap: &Snapshot, stamp: u64) {
    let mut tmp = cache.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let ok = (|| -> std::io::Result<()> {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        holdfast_core::snapshot_file::write(snap, stamp, &mut w)?;
        std::io::Write::flush(&mut w)?;
        std::fs::rename(&tmp, cache)
    })();
    if ok.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// One committed import, as logged in the `imports` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportLogEntry {
    /// Sequence number, 1 for the first import.
    pub seq: i64,
    /// Commit time, Unix seconds.
    pub committed_at: Ts,
    /// Records inserted.
    pub inserted: u64,
    /// Records updated.
    pub updated: u64,
    /// Records unchanged.
    pub unchanged: u64,
}

/// A store in one SQLite database file (or in memory). See the [module docs](self).
pub struct SqliteStore {
    conn: Connection,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates it to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        Self::init(conn, Some(path.to_path_buf()), SCHEMA_VERSION)
    }

    /// Opens a private in-memory database (gone when dropped).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, None, SCHEMA_VERSION)
    }

    /// Opens `path` migrating only up to `version` (≤ [`SCHEMA_VERSION`]). For migration tests.
    #[doc(hidden)]
    pub fn open_at_version(path: &Path, version: i64) -> Result<Self, StoreError> {
        assert!((0..=SCHEMA_VERSION).contains(&version));
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        Self::init(conn, Some(path.to_path_buf()), version)
    }

    fn init(conn: Connection, path: Option<PathBuf>, target: i64) -> Result<Self, StoreError> {
        let location = || path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| ":memory:".into());
        let open_err = |source: rusqlite::Error| match &path {
            Some(p) => StoreError::Open { path: p.clone(), source },
            None => StoreError::Sqlite(source),
        };
        // Reading the header is the first access: it fails here for files that are not databases.
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(open_err)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { location: location(), found, supported: SCHEMA_VERSION });
        }
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        if found == 0 {
            // Only effective before the first table exists. Larger pages make key-order scans cheaper.
            conn.execute_batch("PRAGMA page_size = 8192;")?;
        }
        if path.is_some() {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Unsupported(format!(
                    "store {}: cannot switch to WAL journal mode (got {mode:?})",
                    location()
                )));
            }
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -{CACHE_KIB};
             PRAGMA mmap_size = 0;
             PRAGMA journal_size_limit = 67108864;"
        ))?;
        let mut store = SqliteStore { conn, path };
        store.migrate(found, target)?;
        Ok(store)
    }

    fn migrate(&mut self, found: i64, target: i64) -> Result<(), StoreError> {
        for v in found..target {
            let m = &MIGRATIONS[v as usize];
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Another process may have migrated meanwhile.
            let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now > v {
                continue;
            }
            tx.execute_batch(m.sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", v + 1))?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The database file, `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Every stored record, each table in source-key order: a full-fidelity export (the snapshot keeps only
    /// what the engine needs). Feeding it to another store reproduces this one exactly.
    pub fn load_dataset(&self) -> Result<Dataset, StoreError> {
        load::load_dataset(&self.conn)
    }

    /// Identifies the committed state of this database file: its last import and the file's identity.
    fn snapshot_stamp(&self, path: &Path) -> Result<u64, StoreError> {
        let last: Option<(i64, i64, i64, i64)> = self
            .conn
            .query_row("SELECT seq, committed_at, inserted, updated FROM imports ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map(Some)
            .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })?;
        let mut key = format!("{SCHEMA_VERSION}:{last:?}:{}", crate::CANON_VERSION);
        #[cfg(unix)]
        if let Ok(m) = std::fs::metadata(path) {
            use std::os::unix::fs::MetadataExt;
            key.push_str(&format!(":{}:{}", m.dev(), m.ino()));
        }
        Ok(crate::xxh64(key.as_bytes(), 0x5eed))
    }

    /// Committed imports, oldest first.
    pub fn import_log(&self) -> Result<Vec<ImportLogEntry>, StoreError> {
        let mut st = self.conn.prepare("SELECT seq, committed_at, inserted, updated, unchanged FROM imports ORDER BY seq")?;
        let rows = st.query_map([], |r| {
            Ok(ImportLogEntry {
                seq: r.get(0)?,
                committed_at: r.get(1)?,
                inserted: r.get::<_, i64>(2)? as u64,
                updated: r.get::<_, i64>(3)? as u64,
                unchanged: r.get::<_, i64>(4)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Loads the customer-success signals (tickets, surveys, …) into columns, in source-key order.
    pub fn load_signals(&self) -> Result<holdfast_signals::Signals, StoreError> {
        signals::load(&self.conn)
    }

    /// Every stored signal record, each table in key order.
    pub fn load_signal_records(&self) -> Result<Vec<holdfast_signals::SignalRecord>, StoreError> {
        signals::load_records(&self.conn)
    }

    /// Row counts of the signal tables ([`signals::SIGNAL_TABLES`]).
    pub fn signal_table_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        signals::counts(&self.conn)
    }

    /// A fingerprint of the stored signals: equal iff their content is equal.
    pub fn signals_fingerprint(&self) -> Result<u64, StoreError> {
        signals::fingerprint(&self.conn)
    }

    /// The underlying connection, for diagnostics and tests. Writing through it bypasses the idempotency
    /// bookkeeping.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Store for SqliteStore {
    fn begin_import(&mut self) -> Result<Box<dyn ImportTx + '_>, StoreError> {
        Ok(Box::new(import::SqliteImport::begin(&self.conn)?))
    }

    /// File-backed stores keep a binary image of the snapshot beside the database (`<db>.snapshot`),
    /// stamped with the last committed import: loading it is a few sequential reads instead of a scan of
    /// every table. A stale, missing or damaged image is ignored and rewritten from the tables.
    fn load_snapshot(&self) -> Result<Snapshot, StoreError> {
        let Some(path) = &self.path else { return load::load_snapshot(&self.conn) };
        let cache = snapshot_cache_path(path);
        let stamp = self.snapshot_stamp(path)?;
        if let Ok(f) = std::fs::File::open(&cache) {
            if let Ok(Some(snap)) = holdfast_core::snapshot_file::read(&mut std::io::BufReader::with_capacity(1 << 20, f), stamp) {
                return Ok(snap);
            }
        }
        let snap = load::load_snapshot(&self.conn)?;
        // only cache what is known to match the stamp (no import committed while loading)
        if self.snapshot_stamp(path)? == stamp {
            write_snapshot_cache(&cache, &snap, stamp);
        }
        Ok(snap)
    }

    fn sync_state(&self, source: &str) -> Result<Option<String>, StoreError> {
        sync::state(&self.conn, source)
    }

    fn load_usage(&self) -> Result<holdfast_usage::Rollup, StoreError> {
        load::in_read_tx(&self.conn, || usage::load_usage(&self.conn))
    }

    fn usage_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        load::in_read_tx(&self.conn, || usage::usage_counts(&self.conn))
    }

    fn table_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        load::in_read_tx(&self.conn, || {
            let mut out = Vec::with_capacity(TABLES.len());
            for t in TABLES {
                let n: i64 = self.conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
                out.push((t, n as u64));
            }
            Ok(out)
        })
    }

    fn content_fingerprint(&self) -> Result<u64, StoreError> {
        load::in_read_tx(&self.conn, || {
            let mut h = crate::hash::Fnv::default();
            for (t, key) in TABLES.iter().zip(KEYS) {
                h.write(t.as_bytes());
                let mut st = self.conn.prepare(&format!("SELECT content_hash FROM {t} ORDER BY {key}"))?;
                let mut rows = st.query([])?;
                let mut n = 0u64;
                while let Some(r) = rows.next()? {
                    h.write_u64(r.get::<_, i64>(0)? as u64);
                    n += 1;
                }
                h.write_u64(n);
            }
            Ok(h.finish())
        })
    }
}
