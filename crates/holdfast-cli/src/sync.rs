//! `holdfast sync stripe`: live sync from Stripe's API into the store (see `holdfast_stripe::sync`).
//! The API key comes from `$STRIPE_API_KEY` or `[stripe] api_key`; it is never printed or logged.
use crate::config::Config;
use crate::Failure;
use clap::{Args, Subcommand};
use holdfast_stripe::sync::{self as stripe_sync, ApiKey, Mode, Progress, SyncError, SyncOptions};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SyncArgs {
    #[command(subcommand)]
    pub source: SyncSource,
}

#[derive(Subcommand, Debug)]
pub enum SyncSource {
    /// Fetch customers, prices, subscriptions, invoices, … and events from Stripe's API (API key from
    /// $STRIPE_API_KEY or [stripe] api_key); later runs fetch only new events.
    Stripe(StripeSyncArgs),
}

#[derive(Args, Debug)]
pub struct StripeSyncArgs {
    /// API base URL: Stripe's, or a Stripe-compatible test server (plain http:// only on loopback).
    #[arg(long, default_value = stripe_sync::DEFAULT_BASE_URL)]
    pub base_url: String,
    /// Fetch every list again even if the cursor is fresh.
    #[arg(long)]
    pub full: bool,
    /// The Stripe-Version to request.
    #[arg(long, default_value = stripe_sync::DEFAULT_STRIPE_VERSION)]
    pub stripe_version: String,
    /// Objects per page (1..=100).
    #[arg(long, default_value_t = 100)]
    pub page_limit: u32,
    /// Attempts per request before the sync fails (429, 5xx, dropped connections, truncated bodies).
    #[arg(long, default_value_t = 6)]
    pub max_attempts: u32,
}

pub fn dispatch(cfg: &Config, a: &SyncArgs) -> Result<(), Failure> {
    match &a.source {
        SyncSource::Stripe(s) => sync_stripe(cfg, s),
    }
}

fn sync_stripe(cfg: &Config, a: &StripeSyncArgs) -> Result<(), Failure> {
    let key = match std::env::var("STRIPE_API_KEY") {
        Ok(k) if !k.trim().is_empty() => ApiKey::new(k).map_err(Failure::config)?,
        _ => cfg.stripe_api_key.clone().ok_or_else(|| {
            Failure::new(78, "no Stripe API key: set $STRIPE_API_KEY or `api_key` in the [stripe] section of holdfast.toml (a restricted key with read access suffices)")
        })?,
    };
    if a.max_attempts == 0 {
        return Err(Failure::new(2, "--max-attempts must be at least 1"));
    }
    let mut opts = SyncOptions::new(key);
    opts.base_url = a.base_url.clone();
    opts.full = a.full;
    opts.stripe_version = a.stripe_version.clone();
    opts.page_limit = a.page_limit;
    opts.retry.max_attempts = a.max_attempts;
    let mut store = holdfast_store::SqliteStore::open(&cfg.db).map_err(|e| Failure::io(format!("cannot open store {}: {e}", cfg.db.display())))?;
    let t = Instant::now();
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{spinner} {prefix:24} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut by_resource: BTreeMap<String, ProgressBar> = BTreeMap::new();
    let mut on_progress = |p: Progress<'_>| match p {
        Progress::Page { resource, pages, objects } | Progress::Done { resource, pages, objects } => {
            let pb = by_resource.entry(resource.to_string()).or_insert_with(|| {
                let pb = bars.add(ProgressBar::new_spinner().with_style(style.clone()).with_prefix(resource.to_string()));
                pb.enable_steady_tick(Duration::from_millis(120));
                pb
            });
            pb.set_message(format!("{objects} objects, {pages} pages"));
            if matches!(p, Progress::Done { .. }) {
                pb.finish();
            }
        }
        Progress::Writing => {
            let pb = bars.add(ProgressBar::new_spinner().with_style(style.clone()).with_prefix("writing"));
            pb.set_message("mapping and importing in one transaction");
            pb.enable_steady_tick(Duration::from_millis(120));
            by_resource.insert("~writing".into(), pb);
        }
    };
    let result = stripe_sync::sync(&mut store, &opts, &mut on_progress);
    for pb in by_resource.values() {
        pb.finish_and_clear();
    }
    let r = result.map_err(|e| failure(&opts.api_key, e))?;

    let mode = match &r.mode {
        Mode::Full { reason } => format!("full sync ({reason})"),
        Mode::Incremental { since } => format!("incremental sync (events since {})", instant(*since)),
    };
    let mut out = format!("stripe: {mode} from {} into {} in {:.1}s\n", opts.base_url, cfg.db.display(), t.elapsed().as_secs_f64());
    out.push_str(&format!("  fetched ({} requests, {} retried):", r.requests, r.retries));
    for (resource, (pages, objects)) in &r.fetched {
        out.push_str(&format!(" {resource} {objects} ({pages} pages);"));
    }
    out.push('\n');
    if !r.events_ignored.is_empty() {
        let ignored: Vec<String> = r.events_ignored.iter().map(|(t, n)| format!("{t} {n}")).collect();
        out.push_str(&format!("  events about objects Holdfast does not read, not stored: {}\n", ignored.join(", ")));
    }
    out.push_str(&format!(
        "  records: {} inserted, {} updated, {} unchanged; {} stored Stripe documents new or changed\n",
        r.import.inserted(),
        r.import.updated(),
        r.import.unchanged(),
        r.documents_changed
    ));
    for ts in &r.import.per_table {
        if ts.inserted + ts.updated + ts.unchanged > 0 {
            out.push_str(&format!("  {:<20} {:>9} new {:>9} updated {:>9} unchanged\n", ts.table, ts.inserted, ts.updated, ts.unchanged));
        }
    }
    if !r.import.updated_keys.is_empty() {
        out.push_str("  updated (same key, different content):\n");
        for (table, key) in &r.import.updated_keys {
            out.push_str(&format!("    {table} {key}\n"));
        }
    }
    for (kind, n) in &r.mapping.skipped {
        out.push_str(&format!("  skipped {n} {kind} object(s): not represented in the billing records yet\n"));
    }
    for note in r.mapping.notes.iter().take(20) {
        out.push_str(&format!("  note: {note}\n"));
    }
    if r.mapping.notes.len() > 20 {
        out.push_str(&format!("  … and {} more notes\n", r.mapping.notes.len() - 20));
    }
    out.push_str(&format!("  cursor: {} (the next sync fetches events from there)\n", instant(r.cursor)));
    print!("{out}");
    Ok(())
}

/// `holdfast status` lines about live syncs (none for a store that was never synced).
pub fn status_lines(store: &dyn holdfast_store::Store) -> Result<Vec<String>, Failure> {
    let Some(s) = stripe_sync::status(store).map_err(|e| Failure::io(e.to_string()))? else { return Ok(vec![]) };
    Ok(vec![format!(
        "stripe sync from {} (Stripe-Version {}): cursor {}, last full sync {}",
        s.base_url,
        s.stripe_version,
        instant(s.cursor),
        instant(s.last_full_sync)
    )])
}

/// The exit code each failure deserves; the key is scrubbed from every message once more.
fn failure(key: &ApiKey, e: SyncError) -> Failure {
    let code = match &e {
        SyncError::Config(_) | SyncError::Api { status: 401 | 403, .. } => 78,
        SyncError::Data(_) => 65,
        SyncError::Http { .. } | SyncError::Api { .. } | SyncError::Incomplete { .. } | SyncError::Store(_) | SyncError::Concurrent => 74,
    };
    let mut msg = key.scrub(&e.to_string());
    if code != 78 {
        msg.push_str("\nnothing was written (the sync is all or nothing); the next run starts from the same cursor");
    }
    Failure::new(code, msg)
}

fn instant(t: holdfast_core::time::Ts) -> String {
    holdfast_core::time::format_instant(t)
}
