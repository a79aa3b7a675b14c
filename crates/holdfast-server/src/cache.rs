//! Engine results kept in memory per (settings, grain, segmentations, as_of), recomputed when the store
//! changes. The store's change marker is the sequence number of its last committed import; it is read at
//! most once per `refresh_interval`, so the dashboard is current within that interval of new data. On a
//! change the snapshot is reloaded (from its on-disk image when fresh) and every cached run is dropped:
//! the engine recomputes 100 k customers in a fraction of a second, cheaper than tracking what changed.
//!
//! Concurrent requests for the same key wait for one computation (a [`OnceCell`] per key), and the CPU work
//! runs on the blocking pool so it never stalls the async workers.
use crate::error::ApiError;
use crate::state::AppState;
use holdfast_core::snapshot::Snapshot;
use holdfast_core::time::{Calendar, Ts};
use holdfast_core::Grain;
use holdfast_engine::{Run, Settings};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// What one engine run depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    settings_hash: String,
    grain: Grain,
    segment_by: Vec<String>,
    as_of: Option<Ts>,
}

/// One engine run over the whole history, with what rendering it needs.
pub struct Computed {
    pub snap: Arc<Snapshot>,
    pub run: Run,
    pub settings: Settings,
    pub grain: Grain,
    pub calendar: Calendar,
    /// The store change marker the snapshot was loaded at.
    pub stamp: i64,
    /// Customer indices by MRR, largest first, ties by id: the default customer order.
    pub by_mrr: Vec<u32>,
}

impl Computed {
    pub fn customer_name(&self, c: u32) -> &str {
        self.snap.customers.ids.name(c)
    }
    pub fn plan_name(&self, p: u32) -> &str {
        if p == holdfast_core::snapshot::NONE {
            ""
        } else {
            self.snap.plans.ids.name(p)
        }
    }
}

type Cell<T> = Arc<OnceCell<Arc<T>>>;

struct Inner {
    stamp: i64,
    checked: Option<Instant>,
    snap: Cell<Snapshot>,
    runs: HashMap<Key, Cell<Computed>>,
}

pub struct EngineCache {
    inner: Mutex<Inner>,
    refresh_interval: Duration,
}

/// Runs kept at once; beyond it the cache starts over (each run of 100 k customers holds its ledger).
const MAX_RUNS: usize = 16;

impl EngineCache {
    pub fn new(refresh_interval: Duration) -> Self {
        EngineCache { inner: Mutex::new(Inner { stamp: -1, checked: None, snap: Arc::default(), runs: HashMap::new() }), refresh_interval }
    }

    /// The run for `settings`, `grain`, `segment_by` and `as_of`, computed if missing or stale.
    pub async fn get(&self, state: &Arc<AppState>, settings: &Settings, grain: Grain, segment_by: &[String], as_of: Option<Ts>) -> Result<Arc<Computed>, ApiError> {
        let key = Key { settings_hash: settings.hash(), grain, segment_by: segment_by.to_vec(), as_of };
        let due = {
            let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.checked.map(|t| t.elapsed() >= self.refresh_interval).unwrap_or(true)
        };
        if due {
            let stamp = state.store_stamp()?;
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.checked = Some(Instant::now());
            if stamp != g.stamp {
                g.stamp = stamp;
                g.snap = Arc::default();
                g.runs.clear();
            }
        }
        let (snap_cell, run_cell, stamp) = {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            if g.runs.len() >= MAX_RUNS && !g.runs.contains_key(&key) {
                g.runs.clear();
            }
            let run_cell = g.runs.entry(key).or_default().clone();
            (g.snap.clone(), run_cell, g.stamp)
        };
        let snap = snap_cell
            .get_or_try_init(|| async {
                let st = state.clone();
                let t = Instant::now();
                let snap = tokio::task::spawn_blocking(move || st.load_snapshot()).await.map_err(ApiError::internal)??;
                tracing::info!(customers = snap.customers.len(), ms = t.elapsed().as_millis() as u64, "snapshot loaded");
                Ok::<_, ApiError>(Arc::new(snap))
            })
            .await?
            .clone();
        let settings = settings.clone();
        let segs = segment_by.to_vec();
        let computed = run_cell
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || compute(snap, settings, grain, segs, as_of, stamp)).await.map_err(ApiError::internal)?.map(Arc::new)
            })
            .await?;
        Ok(computed.clone())
    }
}

fn compute(snap: Arc<Snapshot>, settings: Settings, grain: Grain, segs: Vec<String>, as_of: Option<Ts>, stamp: i64) -> Result<Computed, ApiError> {
    let t = Instant::now();
    let spec = holdfast_engine::query::run_spec(&settings, grain, &segs, as_of, None).map_err(|e| ApiError::bad("set", e))?;
    let run = holdfast_engine::run(&snap, &settings, &spec).map_err(|e| ApiError::bad("set", e.to_string()))?;
    let calendar = Calendar::new(grain, &settings.timezone).map_err(|e| ApiError::bad("set", e))?;
    let mut by_mrr: Vec<u32> = (0..run.customers.len() as u32).collect();
    // stores load ids in key order, so the index breaks ties by id
    by_mrr.sort_by_key(|&i| (std::cmp::Reverse(run.customers[i as usize].mrr), i));
    tracing::info!(customers = run.customers.len(), ledger_rows = run.ledger.len(), ms = t.elapsed().as_millis() as u64, "engine run");
    Ok(Computed { snap, run, settings, grain, calendar, stamp, by_mrr })
}
