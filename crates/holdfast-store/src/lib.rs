//! Holdfast's storage layer: where imported billing records live between runs.
//!
//! # The trait
//!
//! Callers (the CLI, the ingest pipeline, the engine's loader) only ever see [`Store`] and [`ImportTx`]:
//!
//! * [`Store::begin_import`] starts one **all-or-nothing** import. Records are streamed into it with
//!   [`ImportTx::put`]; [`ImportTx::commit`] makes them visible at once and returns an [`ImportSummary`].
//!   Dropping the transaction without committing (an error, a panic, a `?`) rolls everything back, so a
//!   failed import never leaves a half-written store.
//! * [`Store::load_snapshot`] reads every stored record into the engine's columnar
//!   [`Snapshot`], table by table in the order the
//!   [`SnapshotBuilder`](holdfast_core::snapshot::SnapshotBuilder) needs, each table in **source-key
//!   order**. The snapshot therefore depends only on the stored content, never on the order in which
//!   records were imported.
//! * [`Store::table_counts`] and [`Store::content_fingerprint`] describe the stored content for
//!   `holdfast status` and for tests.
//!
//! Nothing backend-specific crosses this boundary; [`open`] picks a backend from a URL or path, so adding
//! a PostgreSQL backend later means adding a type that implements the two traits and a branch in
//! [`open`], without touching callers.
//!
//! # Backends
//!
//! * [`SqliteStore`] (`sqlite://path`, a plain path, or `:memory:`): one SQLite file in WAL mode, one
//!   `WITHOUT ROWID` table per record kind keyed by the source key, typed columns (money in integer minor
//!   units, instants as integer Unix seconds, currencies as ISO codes, enums by their wire names), schema
//!   versioned with `PRAGMA user_version` and forward-only migrations. See [`sqlite`] for the schema.
//! * `postgres://…` is recognised and rejected with a clear "not yet supported" error.
//!
//! # Idempotency model
//!
//! Every record has a **source key** (`id`; `(id, valid_from)` for customers and subscription items;
//! `(day, base, quote)` for FX rates) and a **content hash** ([`content_hash`]): a stable 64-bit hash
//! (XXH64) of a canonical serialization this crate owns (stable across Rust versions and platforms). A put is
//!
//! * [`PutOutcome::Inserted`] when the key is new,
//! * [`PutOutcome::Unchanged`] when the key exists with the same content hash (nothing is written),
//! * [`PutOutcome::Updated`] when the key exists with different content (the row is replaced).
//!
//! Re-importing the same export is therefore a no-op that reports every record unchanged, and re-importing
//! a corrected export rewrites exactly the records that changed and names them in the summary. Records are
//! never deleted by an import: a record missing from a later export stays stored.
//! [`Store::content_fingerprint`] folds every content hash in key order, so two stores hold the same data
//! iff their fingerprints are equal (up to 64-bit hash collisions), whatever order it was imported in.
#![warn(missing_docs)]

mod codec;
mod error;
mod hash;
pub mod sqlite;

use holdfast_core::records::Record;
use holdfast_core::snapshot::Snapshot;
use std::borrow::Borrow;

pub use error::StoreError;
pub use hash::{content_hash, content_hash_with, xxh64, CANON_VERSION};
pub use sqlite::SqliteStore;

/// A place that keeps imported records and loads them for the engine. See the crate docs.
pub trait Store: Send {
    /// Starts one all-or-nothing import. Dropping the transaction without commit rolls back.
    fn begin_import(&mut self) -> Result<Box<dyn ImportTx + '_>, StoreError>;
    /// Loads every record into the engine's columnar snapshot, in source-key order (deterministic,
    /// independent of import order).
    fn load_snapshot(&self) -> Result<Snapshot, StoreError>;
    /// Row counts per table (in [`TABLES`] order), for `holdfast status` and tests that prove the store is
    /// unchanged after a failed import.
    fn table_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError>;
    /// A fingerprint of the full content (a hash of all content hashes in key order): equal iff the
    /// stored data is equal.
    fn content_fingerprint(&self) -> Result<u64, StoreError>;
    /// The committed resume state of the live sync named `source` (e.g. `stripe`), if it ever committed.
    fn sync_state(&self, source: &str) -> Result<Option<String>, StoreError>;
    /// Every stored usage rollup, merged ([`holdfast_usage::Rollup`]).
    fn load_usage(&self) -> Result<holdfast_usage::Rollup, StoreError> {
        Err(StoreError::Unsupported("this store does not keep usage events".into()))
    }
    /// Row counts of the usage tables.
    fn usage_counts(&self) -> Result<Vec<(&'static str, u64)>, StoreError> {
        Ok(Vec::new())
    }
}

/// One open import. Obtained from [`Store::begin_import`].
pub trait ImportTx {
    /// Inserts or updates one record by its source key (see the crate docs for the outcome rules).
    fn put(&mut self, r: &Record) -> Result<PutOutcome, StoreError>;
    /// Inserts or updates one customer-success signal record (ticket, survey response, …) by its source
    /// key, in the same transaction and with the same outcome rules as [`ImportTx::put`].
    fn put_signal(&mut self, r: &holdfast_signals::SignalRecord) -> Result<PutOutcome, StoreError> {
        Err(StoreError::Unsupported(format!("this store cannot keep {} records", r.kind())))
    }
    /// Makes every put of this import visible at once.
    fn commit(self: Box<Self>) -> Result<ImportSummary, StoreError>;

    // A live sync keeps its cursor and the source documents it fetched in the same transaction as the
    // records made from them, so records, documents and cursor commit (or roll back) together.

    /// The resume state of the sync `source` as this transaction sees it.
    fn sync_state(&mut self, source: &str) -> Result<Option<String>, StoreError>;
    /// Replaces the resume state of the sync `source`.
    fn set_sync_state(&mut self, source: &str, state: &str) -> Result<(), StoreError>;
    /// Inserts or replaces the document `key` of the sync `source`; `true` when it was new or different.
    fn put_sync_document(&mut self, source: &str, key: &str, body: &str) -> Result<bool, StoreError>;
    /// Deletes the documents of `source` whose key starts with `key_prefix` (`""`: all); returns how many.
    fn delete_sync_documents(&mut self, source: &str, key_prefix: &str) -> Result<u64, StoreError>;
    /// Calls `visit(key, body)` for every document of `source`, in key order, as this transaction sees them.
    fn for_each_sync_document(&mut self, source: &str, visit: &mut dyn FnMut(&str, &str)) -> Result<(), StoreError>;
    /// Hashes of every usage message already stored: an import's dedupe set starts from them.
    fn usage_message_ids(&mut self) -> Result<Vec<u64>, StoreError> {
        Err(StoreError::Unsupported("this store does not keep usage events".into()))
    }
    /// Which of `hashes` are already stored: the dedupe set of a small import (one HTTP request), found by
    /// point lookups instead of reading every stored hash.
    fn usage_messages_stored(&mut self, hashes: &[u64]) -> Result<Vec<u64>, StoreError> {
        let all: std::collections::HashSet<u64> = self.usage_message_ids()?.into_iter().collect();
        Ok(hashes.iter().copied().filter(|h| all.contains(h)).collect())
    }
    /// Merges one import's usage rollup, built with `settings`, into the stored rollups.
    fn put_usage(&mut self, _rollup: &holdfast_usage::Rollup, _settings: &holdfast_usage::IngestSettings) -> Result<sqlite::usage::UsageStored, StoreError> {
        Err(StoreError::Unsupported("this store does not keep usage events".into()))
    }
}

/// What one [`ImportTx::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PutOutcome {
    /// The source key was new.
    Inserted,
    /// The source key existed with different content; the row was replaced.
    Updated,
    /// The source key existed with identical content; nothing was written.
    Unchanged,
}

/// Per-table outcome counts of one import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSummary {
    /// Table name, one of [`TABLES`].
    pub table: &'static str,
    /// Records whose key was new.
    pub inserted: u64,
    /// Records whose content changed.
    pub updated: u64,
    /// Records that were already stored as they are.
    pub unchanged: u64,
}

/// The result of a committed import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// One entry per table, in [`TABLES`] order, then the signal tables (tables the import did not touch
    /// have zero counts).
    pub per_table: Vec<TableSummary>,
    /// The first [`MAX_REPORTED_UPDATES`] updated source keys as `(table, key)`, in put order, for the
    /// import report. Composite keys read `id@valid_from` and `YYYY-MM-DD BASE/QUOTE`.
    pub updated_keys: Vec<(&'static str, String)>,
}

impl ImportSummary {
    /// Total records inserted.
    pub fn inserted(&self) -> u64 {
        self.per_table.iter().map(|t| t.inserted).sum()
    }
    /// Total records updated.
    pub fn updated(&self) -> u64 {
        self.per_table.iter().map(|t| t.updated).sum()
    }
    /// Total records unchanged.
    pub fn unchanged(&self) -> u64 {
        self.per_table.iter().map(|t| t.unchanged).sum()
    }
    /// The summary of `table`, if it is a known table.
    pub fn table(&self, table: &str) -> Option<&TableSummary> {
        self.per_table.iter().find(|t| t.table == table)
    }
}

/// How many updated keys an [`ImportSummary`] lists.
pub const MAX_REPORTED_UPDATES: usize = 20;

/// The record tables, in the order the snapshot builder reads them.
pub const TABLES: [&str; 9] =
    ["customers", "plans", "discounts", "subscriptions", "subscription_items", "invoices", "invoice_lines", "fx_rates", "scheduled_items"];

/// The table a record is stored in.
pub fn table_of(r: &Record) -> &'static str {
    TABLES[table_index(r)]
}

pub(crate) fn table_index(r: &Record) -> usize {
    match r {
        Record::Customer(_) => 0,
        Record::Plan(_) => 1,
        Record::Discount(_) => 2,
        Record::Subscription(_) => 3,
        Record::SubscriptionItem(_) => 4,
        Record::Invoice(_) => 5,
        Record::InvoiceLine(_) => 6,
        Record::FxRate(_) => 7,
        Record::ScheduledItem(_) => 8,
    }
}

/// Opens a store by URL or path:
///
/// * `sqlite://PATH` or a plain `PATH`: a SQLite file (created if missing, migrated if older);
/// * `:memory:` or `sqlite://:memory:`: a private in-memory SQLite database (tests, dry runs);
/// * `postgres://…` / `postgresql://…`: not yet supported (a clear error).
pub fn open(url_or_path: &str) -> Result<Box<dyn Store>, StoreError> {
    let s = url_or_path.trim();
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return Err(StoreError::Unsupported(
            "PostgreSQL stores are not yet supported by this version of Holdfast; use a SQLite file \
             (sqlite://PATH or a plain path)"
                .into(),
        ));
    }
    let path = if let Some(rest) = s.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = s.strip_prefix("sqlite:") {
        rest
    } else if let Some((scheme, _)) = s.split_once("://") {
        return Err(StoreError::Unsupported(format!(
            "unknown store URL scheme {scheme:?} in {s:?}; expected sqlite://PATH, a plain path or :memory:"
        )));
    } else {
        s
    };
    if path.is_empty() {
        return Err(StoreError::Unsupported(format!("store location {url_or_path:?} names no file")));
    }
    if path == ":memory:" {
        return Ok(Box::new(SqliteStore::open_in_memory()?));
    }
    Ok(Box::new(SqliteStore::open(std::path::Path::new(path))?))
}

/// Imports `records` in one transaction and commits it: the common case of [`Store::begin_import`].
pub fn import_records<R: Borrow<Record>>(
    store: &mut dyn Store,
    records: impl IntoIterator<Item = R>,
) -> Result<ImportSummary, StoreError> {
    let mut tx = store.begin_import()?;
    for r in records {
        tx.put(r.borrow())?;
    }
    tx.commit()
}
