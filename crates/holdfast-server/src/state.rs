//! What every request shares: configuration, the store, the server tables' connection, the engine cache,
//! the rate limiter and the Stripe event ledger.
use crate::auth::RateLimiter;
use crate::cache::EngineCache;
use crate::error::ApiError;
use crate::ServerConfig;
use holdfast_core::snapshot::Snapshot;
use holdfast_store::{SqliteStore, Store};
use holdfast_stripe::webhook::EventLedger;
use rusqlite::Connection;
use std::sync::{Mutex, MutexGuard};

pub struct AppState {
    pub cfg: ServerConfig,
    /// The record store (imports and snapshot loads; blocking, so used from the blocking pool).
    pub store: Mutex<SqliteStore>,
    /// A second connection for the server's own tables (keys, users, sessions, targets, webhook events).
    pub db: Mutex<Connection>,
    pub cache: EngineCache,
    pub limiter: RateLimiter,
    /// Login attempts per user name (slows password guessing).
    pub login_limiter: RateLimiter,
    pub stripe_events: Mutex<EventLedger>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panic while holding the lock leaves plain data behind, still usable
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AppState {
    pub fn open(cfg: ServerConfig) -> Result<AppState, crate::ServerError> {
        let store = SqliteStore::open(&cfg.db).map_err(|e| crate::ServerError::Store(format!("cannot open store {}: {e}", cfg.db.display())))?;
        let db = crate::auth::open_server_db(&cfg.db)?;
        let ledger = crate::webhook::load_event_ledger(&db)?;
        let limiter = RateLimiter::new(cfg.rate_limit_per_second, cfg.rate_limit_burst);
        let cache = EngineCache::new(cfg.refresh_interval);
        let login_limiter = RateLimiter::new(cfg.login_rate_per_second, cfg.login_burst);
        Ok(AppState { cfg, store: Mutex::new(store), db: Mutex::new(db), cache, limiter, login_limiter, stripe_events: Mutex::new(ledger) })
    }

    pub fn db(&self) -> MutexGuard<'_, Connection> {
        lock(&self.db)
    }

    pub fn store(&self) -> MutexGuard<'_, SqliteStore> {
        lock(&self.store)
    }

    pub fn stripe_events(&self) -> MutexGuard<'_, EventLedger> {
        lock(&self.stripe_events)
    }

    /// The store's change marker: the sequence number of its last committed import (0 when empty).
    pub fn store_stamp(&self) -> Result<i64, ApiError> {
        self.db().query_row("SELECT coalesce(max(seq), 0) FROM imports", [], |r| r.get(0)).map_err(ApiError::internal)
    }

    pub fn load_snapshot(&self) -> Result<Snapshot, ApiError> {
        self.store().load_snapshot().map_err(ApiError::internal)
    }
}
