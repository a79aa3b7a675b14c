//! Live sync: fetches a Stripe account's billing history over the REST API into a [`Store`], all or
//! nothing, resumable.
//!
//! * **What.** The first sync (and any full sync) pages through the list endpoints — customers, products,
//!   prices, subscriptions (`status=all`), subscription schedules, invoices, credit notes, coupons,
//!   refunds — then `/v1/events`. Invoices whose embedded lines are truncated (`lines.has_more`) get their
//!   `/v1/invoices/{id}/lines` pages, subscriptions with truncated items their
//!   `/v1/subscription_items?subscription=…` pages. Later syncs fetch only `/v1/events` created since the
//!   cursor and apply the event payloads (plus the line/item pages of truncated objects in them).
//! * **How it becomes records.** Every fetched page and event is kept in the store as a source document
//!   (`sync_documents`, source `stripe`); after fetching, *all* documents are mapped by the same code as
//!   `holdfast import stripe` ([`crate::read_values`]) and go through the store's idempotent import. So a
//!   sync and an import of the same objects give the same store, a repeated sync changes nothing, and an
//!   incremental sync sees the whole history (item versions, pauses and dunning come from events).
//! * **Completeness.** Each list must end on a page with `has_more: false`; a page that says
//!   `has_more: true` and whose successor cannot be fetched (after retries) fails the sync. Nothing is
//!   written until every page is in: documents, records and the cursor commit in one transaction.
//! * **Resume.** The cursor is the time up to which every event is known (the sync's start minus a
//!   clock-skew margin). Stripe keeps events 30 days: an older cursor makes the next sync a full one.
//! * **Transport.** Blocking HTTPS (rustls) via `ureq`; plain HTTP only for loopback test servers. GET only,
//!   `Stripe-Version` pinned; retries in [`RetryPolicy`]. The API key ([`ApiKey`]) is never logged, printed
//!   or put into an error.
mod http;

use crate::{Report, StripeError};
use holdfast_core::time::Ts;
use holdfast_store::{ImportSummary, Store, StoreError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::time::Duration;

/// The `source` name of Stripe's sync state and documents in the store.
pub const SOURCE: &str = "stripe";
/// Stripe's API.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";
/// The API version requested (`Stripe-Version`); both this and older shapes are read.
pub const DEFAULT_STRIPE_VERSION: &str = "2025-03-31.basil";
/// How long Stripe keeps events.
pub const EVENT_RETENTION_SECS: i64 = 30 * 86_400;
/// The cursor stays this far behind the sync's start, for clock skew and for events that become visible
/// late. Events seen twice are stored once (by id).
pub const CURSOR_MARGIN_SECS: i64 = 300;
/// A cursor must be this much younger than the retention, so that no event expires while paging.
const RETENTION_MARGIN_SECS: i64 = 3_600;

/// One list endpoint of a full sync.
#[derive(Clone, Copy, Debug)]
pub struct ListEndpoint {
    /// Name in progress and summaries.
    pub resource: &'static str,
    pub path: &'static str,
    /// Query parameters besides `limit` and `starting_after`.
    pub query: &'static [(&'static str, &'static str)],
}

const fn list(resource: &'static str, path: &'static str, query: &'static [(&'static str, &'static str)]) -> ListEndpoint {
    ListEndpoint { resource, path, query }
}

/// The list endpoints of a full sync, in fetch order.
pub const LISTS: &[ListEndpoint] = &[
    list("customers", "/v1/customers", &[]),
    list("products", "/v1/products", &[]),
    list("prices", "/v1/prices", &[]),
    list("coupons", "/v1/coupons", &[]),
    list("subscriptions", "/v1/subscriptions", &[("status", "all")]),
    list("subscription_schedules", "/v1/subscription_schedules", &[]),
    list("invoices", "/v1/invoices", &[]),
    list("credit_notes", "/v1/credit_notes", &[]),
    list("refunds", "/v1/refunds", &[]),
];

/// A Stripe secret or restricted key. Its `Debug` is redacted and it has no `Display`, so it cannot end up
/// in logs or messages by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (surrounding whitespace removed); an empty key is an error.
    pub fn new(key: impl Into<String>) -> Result<ApiKey, SyncError> {
        let k = key.into().trim().to_string();
        if k.is_empty() {
            return Err(SyncError::Config("the Stripe API key is empty".into()));
        }
        if k.chars().any(|c| c.is_control() || c == ' ') {
            return Err(SyncError::Config("the Stripe API key contains spaces or control characters".into()));
        }
        Ok(ApiKey(k))
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "[redacted]")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// When and how often a request is retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff (doubles per attempt, with jitter).
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest wait a `Retry-After` can ask for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 6, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30), max_retry_after: Duration::from_secs(60) }
    }
}

/// Everything a sync needs besides the store.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// `https://…`, or `http://` to a loopback address (test servers). No path.
    pub base_url: String,
    pub api_key: ApiKey,
    /// Sent as `Stripe-Version`.
    pub stripe_version: String,
    /// `limit` of each list request, 1..=100.
    pub page_limit: u32,
    pub retry: RetryPolicy,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// A full sync even if the cursor is fresh.
    pub full: bool,
    /// The current time (tests); `None`: the system clock.
    pub now: Option<Ts>,
}

impl SyncOptions {
    /// Stripe's API with default retries, 100 objects per page.
    pub fn new(api_key: ApiKey) -> SyncOptions {
        SyncOptions {
            base_url: DEFAULT_BASE_URL.into(),
            api_key,
            stripe_version: DEFAULT_STRIPE_VERSION.into(),
            page_limit: 100,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(80),
            full: false,
            now: None,
        }
    }
}

/// What a sync is doing, for progress bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress<'a> {
    /// A page of `resource` arrived; totals so far.
    Page { resource: &'a str, pages: u64, objects: u64 },
    /// Every page of `resource` arrived.
    Done { resource: &'a str, pages: u64, objects: u64 },
    /// Fetching is over; mapping and writing.
    Writing,
}

/// Why a sync is full or incremental.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Lists and events; `reason` says why.
    Full { reason: String },
    /// Events created at or after `since`.
    Incremental { since: Ts },
}

/// The outcome of a committed sync.
#[derive(Clone, Debug)]
pub struct SyncReport {
    pub mode: Mode,
    /// Per resource (`customers`, …, `events`, `invoice_lines`, `subscription_items`): pages and objects
    /// fetched.
    pub fetched: BTreeMap<String, (u64, u64)>,
    /// Events fetched about objects Holdfast does not read (payouts, …), by object type: not stored.
    pub events_ignored: BTreeMap<String, u64>,
    /// Source documents new or changed in the store.
    pub documents_changed: u64,
    /// HTTP requests sent and how many of them were retries.
    pub requests: u64,
    pub retries: u64,
    /// The record import (inserted / updated / unchanged per table).
    pub import: ImportSummary,
    /// Objects skipped and notes of the mapping (as for `holdfast import stripe`).
    pub mapping: Report,
    /// The new cursor: every event created before it is stored.
    pub cursor: Ts,
    /// Wall time fetching (network), storing the documents, mapping all documents, and importing the
    /// records and committing.
    pub timings: Timings,
}

/// Where a sync spent its time.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    pub fetch: Duration,
    pub documents: Duration,
    pub map: Duration,
    pub import: Duration,
}

/// Why a sync failed. Nothing was written in every case.
#[derive(Debug)]
pub enum SyncError {
    /// Bad options (base URL, key).
    Config(String),
    /// A request failed for good (network, or retries exhausted).
    Http { request: String, detail: String },
    /// Stripe refused a request (`401`, `403`, `404`, `400`…), with its message.
    Api { request: String, status: u16, message: String },
    /// A list whose pages could not all be fetched or do not chain.
    Incomplete { resource: String, detail: String },
    /// A fetched object that cannot be mapped.
    Data(Box<StripeError>),
    Store(StoreError),
    /// Another sync committed between this one's start and its commit.
    Concurrent,
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Config(m) => write!(f, "{m}"),
            SyncError::Http { request, detail } => write!(f, "{request}: {detail}"),
            SyncError::Api { request, status, message } => {
                write!(f, "{request}: Stripe answered HTTP {status}: {message}")?;
                if *status == 401 {
                    f.write_str(" (check the API key: $STRIPE_API_KEY or [stripe] api_key)")?;
                }
                Ok(())
            }
            SyncError::Incomplete { resource, detail } => write!(f, "{resource}: incomplete list: {detail}"),
            SyncError::Data(e) => write!(f, "{e}"),
            SyncError::Store(e) => write!(f, "store: {e}"),
            SyncError::Concurrent => f.write_str("another Stripe sync committed while this one was fetching; run it again"),
        }
    }
}

impl std::error::Error for SyncError {}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e)
    }
}

/// The resume state kept in `sync_state`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    cursor: Ts,
    base_url: String,
    stripe_version: String,
    last_full_sync: Ts,
}

impl State {
    fn parse(text: &str) -> Result<State, SyncError> {
        let bad = || SyncError::Store(StoreError::Corrupt(format!("sync_state of {SOURCE}: {text:?} is not a Stripe sync cursor")));
        let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
        Ok(State {
            cursor: v.get("cursor").and_then(Value::as_i64).ok_or_else(bad)?,
            base_url: v.get("base_url").and_then(Value::as_str).ok_or_else(bad)?.to_string(),
            stripe_version: v.get("stripe_version").and_then(Value::as_str).ok_or_else(bad)?.to_string(),
            last_full_sync: v.get("last_full_sync").and_then(Value::as_i64).ok_or_else(bad)?,
        })
    }

    fn to_text(&self) -> String {
        json!({"cursor": self.cursor, "base_url": self.base_url, "stripe_version": self.stripe_version, "last_full_sync": self.last_full_sync}).to_string()
    }
}

/// The committed state of a store's Stripe sync, for `holdfast status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncStatus {
    /// Every event created before it is stored; the next sync fetches events from here.
    pub cursor: Ts,
    /// When the last full sync started.
    pub last_full_sync: Ts,
    pub base_url: String,
    pub stripe_version: String,
}

/// The Stripe sync state of `store`, `None` if it was never synced.
pub fn status(store: &dyn Store) -> Result<Option<SyncStatus>, SyncError> {
    let Some(text) = store.sync_state(SOURCE)? else { return Ok(None) };
    let s = State::parse(&text)?;
    Ok(Some(SyncStatus { cursor: s.cursor, last_full_sync: s.last_full_sync, base_url: s.base_url, stripe_version: s.stripe_version }))
}

/// Checks `https://host[:port]` or `http://` + a loopback host; returns it without a trailing slash.
pub fn check_base_url(url: &str) -> Result<String, SyncError> {
    let u = url.trim().trim_end_matches('/');
    let (plain, rest) = if let Some(r) = u.strip_prefix("https://") {
        (false, r)
    } else if let Some(r) = u.strip_prefix("http://") {
        (true, r)
    } else {
        return Err(SyncError::Config(format!("base URL {u:?}: expected https://host[:port] (or http:// to a loopback test server)")));
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return Err(SyncError::Config(format!("base URL {u:?}: expected only a scheme, a host and an optional port, like https://api.stripe.com")));
    }
    if plain {
        let host = match rest.strip_prefix('[') {
            Some(r) => r.split(']').next().unwrap_or(""),
            None => rest.split(':').next().unwrap_or(""),
        };
        let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(SyncError::Config(format!(
                "base URL {u:?}: plain http:// is allowed only for loopback test servers (127.0.0.1, ::1, localhost); use https://"
            )));
        }
    }
    Ok(u.to_string())
}

/// Runs one sync (see the module docs) and commits it.
pub fn sync(store: &mut dyn Store, opts: &SyncOptions, progress: &mut dyn FnMut(Progress<'_>)) -> Result<SyncReport, SyncError> {
    let base = check_base_url(&opts.base_url)?;
    if !(1..=100).contains(&opts.page_limit) {
        return Err(SyncError::Config(format!("page limit {}: expected 1 to 100", opts.page_limit)));
    }
    let now = opts.now.unwrap_or_else(system_now);
    let prev_text = store.sync_state(SOURCE)?;
    let prev = prev_text.as_deref().map(State::parse).transpose()?;
    let (mode, drop_events) = decide(prev.as_ref(), opts, &base, now);
    tracing::info!(?mode, "stripe sync");
    let mut timings = Timings::default();
    let clock = std::time::Instant::now();
    let mut f = Fetcher {
        client: http::Client::new(base.clone(), opts.api_key.clone(), opts.stripe_version.clone(), opts.retry.clone(), opts.timeout),
        limit: opts.page_limit,
        progress,
        docs: Vec::new(),
        fetched: BTreeMap::new(),
        events_ignored: BTreeMap::new(),
        truncated_lines: BTreeSet::new(),
        truncated_items: BTreeSet::new(),
        deleted: HashSet::new(),
    };
    if matches!(mode, Mode::Full { .. }) {
        for (i, l) in LISTS.iter().enumerate() {
            let pages = f.fetch_all(l.resource, l.path, l.query)?;
            for (p, page) in pages.into_iter().enumerate() {
                f.note_truncated(page["data"].as_array().into_iter().flatten());
                f.keep(format!("list/{i:02}-{}/{:06}", l.resource, p + 1), &page);
            }
        }
    }
    let since = match &mode {
        Mode::Incremental { since } => Some(since.to_string()),
        Mode::Full { .. } => None,
    };
    let extra: Vec<(&str, &str)> = since.as_deref().map(|s| ("created[gte]", s)).into_iter().collect();
    for page in f.fetch_all("events", "/v1/events", &extra)? {
        let Value::Object(mut page) = page else { continue };
        let Some(Value::Array(events)) = page.remove("data") else { continue };
        for ev in events {
            let obj_type = ev.pointer("/data/object/object").and_then(Value::as_str).unwrap_or("");
            if !crate::map::reads_events_about(obj_type) {
                *f.events_ignored.entry(if obj_type.is_empty() { "(none)".into() } else { obj_type.to_string() }).or_default() += 1;
                continue;
            }
            let (Some(id), Some(created)) = (ev.get("id").and_then(Value::as_str), ev.get("created").and_then(Value::as_i64)) else {
                return Err(SyncError::Incomplete { resource: "events".into(), detail: format!("an event without id or created: {}", crate::error::show(&ev)) });
            };
            let obj = &ev["data"]["object"];
            if obj.get("deleted").and_then(Value::as_bool) == Some(true) {
                // A deleted invoice (a draft) has no lines to fetch any more; the mapping drops it.
                if let Some(id) = obj.get("id").and_then(Value::as_str) {
                    f.deleted.insert(id.to_string());
                }
            }
            f.note_truncated(std::iter::once(obj));
            f.keep(format!("event/{created:011}/{id}/"), &ev);
        }
    }
    let lines: Vec<String> = std::mem::take(&mut f.truncated_lines).into_iter().filter(|i| !f.deleted.contains(i)).collect();
    for inv in &lines {
        let path = format!("/v1/invoices/{}/lines", encode(inv));
        let pages = match f.fetch_all("invoice_lines", &path, &[]) {
            // Gone since the event (a deleted draft whose deletion event is not stored yet): the mapping
            // says so if it still needs the lines.
            Err(SyncError::Api { status: 404, .. }) => {
                tracing::warn!(invoice = %inv, "the lines of an invoice seen in an event are gone (404)");
                continue;
            }
            r => r?,
        };
        for (p, mut page) in pages.into_iter().enumerate() {
            // The mapper links a lines page to its invoice by this url.
            page["url"] = Value::String(format!("/v1/invoices/{inv}/lines"));
            f.keep(format!("lines/{inv}/{:06}", p + 1), &page);
        }
    }
    let items: Vec<String> = std::mem::take(&mut f.truncated_items).into_iter().collect();
    for sub in &items {
        for (p, page) in f.fetch_all("subscription_items", "/v1/subscription_items", &[("subscription", sub)])?.into_iter().enumerate() {
            f.keep(format!("items/{sub}/{:06}", p + 1), &page);
        }
    }
    (f.progress)(Progress::Writing);
    timings.fetch = clock.elapsed();
    let clock = std::time::Instant::now();

    // Everything is in: one transaction for documents, records and cursor.
    let Fetcher { client, docs, fetched, events_ignored, .. } = f;
    let mut tx = store.begin_import()?;
    if tx.sync_state(SOURCE)? != prev_text {
        return Err(SyncError::Concurrent);
    }
    // Documents of the families this sync fetched anew that it did not fetch again are gone from Stripe's
    // answer: they are deleted. Unchanged documents are not rewritten (and not counted).
    let replaced: Vec<String> = match &mode {
        Mode::Full { .. } if drop_events => vec![String::new()],
        Mode::Full { .. } => vec!["list/".into(), "lines/".into(), "items/".into()],
        Mode::Incremental { .. } => lines.iter().map(|i| format!("lines/{i}/")).chain(items.iter().map(|s| format!("items/{s}/"))).collect(),
    };
    let mut documents_changed = 0;
    for (key, body) in &docs {
        documents_changed += u64::from(tx.put_sync_document(SOURCE, key, body)?);
    }
    let fresh: HashSet<&str> = docs.iter().map(|(k, _)| k.as_str()).collect();
    let mut stale: Vec<String> = Vec::new();
    tx.for_each_sync_document(SOURCE, &mut |key, _| {
        if !fresh.contains(key) && replaced.iter().any(|p| key.starts_with(p.as_str())) {
            stale.push(key.to_string());
        }
    })?;
    for key in &stale {
        // Keys end in a fixed-width page number or in `/` after an id (ids hold no `/`), so no key is a
        // prefix of another: deleting by prefix deletes exactly this document.
        documents_changed += tx.delete_sync_documents(SOURCE, key)?;
    }
    drop(fresh);
    timings.documents = clock.elapsed();
    let clock = std::time::Instant::now();
    drop(docs);
    let mut all: Vec<(String, Value)> = Vec::new();
    let mut unreadable: Option<String> = None;
    tx.for_each_sync_document(SOURCE, &mut |key, body| match serde_json::from_str(body) {
        Ok(v) => all.push((format!("stripe:{key}"), v)),
        Err(e) => {
            unreadable.get_or_insert_with(|| format!("sync document {key}: {e}"));
        }
    })?;
    if let Some(m) = unreadable {
        return Err(SyncError::Store(StoreError::Corrupt(m)));
    }
    let (dataset, mapping) = crate::read_values(all).map_err(|e| SyncError::Data(Box::new(e)))?;
    timings.map = clock.elapsed();
    let clock = std::time::Instant::now();
    for r in dataset.into_records() {
        tx.put(&r)?;
    }
    let cursor = (now - CURSOR_MARGIN_SECS).max(prev.as_ref().map_or(i64::MIN, |p| p.cursor));
    let last_full_sync = match (&mode, &prev) {
        (Mode::Incremental { .. }, Some(p)) => p.last_full_sync,
        _ => now,
    };
    let state = State { cursor, base_url: base, stripe_version: opts.stripe_version.clone(), last_full_sync };
    tx.set_sync_state(SOURCE, &state.to_text())?;
    let import = tx.commit()?;
    timings.import = clock.elapsed();
    Ok(SyncReport { mode, fetched, events_ignored, documents_changed, requests: client.requests, retries: client.retries, import, mapping, cursor, timings })
}

/// Full or incremental, and whether stored events must go (a gap in the events makes them older than the
/// fresh list objects, which they would otherwise override).
fn decide(prev: Option<&State>, opts: &SyncOptions, base: &str, now: Ts) -> (Mode, bool) {
    let full = |reason: String, drop_events: bool| (Mode::Full { reason }, drop_events);
    let Some(p) = prev else { return full("first sync of this store".into(), false) };
    if p.base_url != base {
        return full(format!("the base URL changed ({} → {base})", p.base_url), true);
    }
    let age = now - p.cursor;
    if age > EVENT_RETENTION_SECS - RETENTION_MARGIN_SECS {
        return full(
            format!(
                "the cursor is {} days old and Stripe keeps events 30 days: events in between are lost, so every list is fetched again",
                age / 86_400
            ),
            true,
        );
    }
    if p.stripe_version != opts.stripe_version {
        return full(format!("the API version changed ({} → {})", p.stripe_version, opts.stripe_version), false);
    }
    if opts.full {
        return full("requested (--full)".into(), false);
    }
    (Mode::Incremental { since: p.cursor }, false)
}

struct Fetcher<'p> {
    client: http::Client,
    limit: u32,
    progress: &'p mut dyn FnMut(Progress<'_>),
    /// `(key, document as JSON text)` to store: text is several times smaller than a `Value` tree.
    docs: Vec<(String, String)>,
    fetched: BTreeMap<String, (u64, u64)>,
    events_ignored: BTreeMap<String, u64>,
    /// Invoices whose embedded lines, subscriptions whose embedded items, have more.
    truncated_lines: BTreeSet<String>,
    truncated_items: BTreeSet<String>,
    /// Objects deleted according to an event.
    deleted: HashSet<String>,
}

impl Fetcher<'_> {
    /// Every page of one list, in order. Fails unless the pages chain (`starting_after` = last id of the
    /// previous page) up to one with `has_more: false`.
    fn fetch_all(&mut self, resource: &str, path: &str, extra: &[(&str, &str)]) -> Result<Vec<Value>, SyncError> {
        let mut pages = Vec::new();
        let mut objects = 0u64;
        let mut after: Option<String> = None;
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let mut q = format!("{path}?limit={}", self.limit);
            for (k, v) in extra {
                q.push('&');
                q.push_str(&encode(k));
                q.push('=');
                q.push_str(&encode(v));
            }
            if let Some(a) = &after {
                q.push_str("&starting_after=");
                q.push_str(&encode(a));
            }
            let page = match self.client.get_json(&q) {
                Ok(p) => p,
                Err(e) if !pages.is_empty() => {
                    return Err(SyncError::Incomplete {
                        resource: resource.into(),
                        detail: format!(
                            "page {} said has_more: true but page {} could not be fetched, so the sync stopped and wrote nothing (a partial list would undercount MRR): {e}",
                            pages.len(),
                            pages.len() + 1
                        ),
                    })
                }
                Err(e) => return Err(e),
            };
            let incomplete = |detail: String| SyncError::Incomplete { resource: resource.into(), detail: format!("GET {q}: {detail}") };
            if page.get("object").and_then(Value::as_str) != Some("list") {
                return Err(incomplete(format!("expected a list page (`\"object\": \"list\"`), got {}", crate::error::show(page.get("object").unwrap_or(&Value::Null)))));
            }
            let Some(data) = page.get("data").and_then(Value::as_array) else {
                return Err(incomplete("the page has no `data` array".into()));
            };
            let Some(has_more) = page.get("has_more").and_then(Value::as_bool) else {
                return Err(incomplete("the page has no boolean `has_more`: cannot tell whether the list is complete".into()));
            };
            objects += data.len() as u64;
            let last = data.last().and_then(|o| o.get("id")).and_then(Value::as_str).map(str::to_string);
            pages.push(page);
            (self.progress)(Progress::Page { resource, pages: pages.len() as u64, objects });
            if !has_more {
                break;
            }
            let Some(last) = last else {
                return Err(incomplete("has_more: true on a page without objects (or whose last object has no id): the next page cannot be asked for".into()));
            };
            if !seen.insert(last.clone()) {
                return Err(incomplete(format!("the pages do not advance (starting_after={last} again)")));
            }
            after = Some(last);
        }
        let e = self.fetched.entry(resource.to_string()).or_default();
        e.0 += pages.len() as u64;
        e.1 += objects;
        (self.progress)(Progress::Done { resource, pages: pages.len() as u64, objects });
        Ok(pages)
    }

    fn keep(&mut self, key: String, doc: &Value) {
        self.docs.push((key, doc.to_string()));
    }

    /// Remembers the invoices and subscriptions among `objects` whose embedded lines or items are truncated.
    fn note_truncated<'v>(&mut self, objects: impl IntoIterator<Item = &'v Value>) {
        for o in objects {
            let truncated = |k: &str| o.get(k).and_then(|l| l.get("has_more")).and_then(Value::as_bool) == Some(true);
            let Some(id) = o.get("id").and_then(Value::as_str) else { continue };
            match o.get("object").and_then(Value::as_str) {
                Some("invoice") if truncated("lines") => {
                    self.truncated_lines.insert(id.to_string());
                }
                Some("subscription") if truncated("items") => {
                    self.truncated_items.insert(id.to_string());
                }
                _ => {}
            }
        }
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn system_now() -> Ts {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(check_base_url("https://api.stripe.com/").unwrap(), "https://api.stripe.com");
        assert_eq!(check_base_url("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert!(check_base_url("http://[::1]:9").is_ok());
        assert!(check_base_url("http://localhost:9").is_ok());
        for bad in ["http://api.stripe.com", "http://10.0.0.1:80", "ftp://x", "https://api.stripe.com/v1", "api.stripe.com", "https://user@host"] {
            assert!(matches!(check_base_url(bad), Err(SyncError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn key_is_redacted() {
        let k = ApiKey::new(" sk_test_123 ").unwrap();
        assert_eq!(format!("{k:?}"), "ApiKey([redacted])");
        assert_eq!(k.scrub("Invalid API Key provided: sk_test_123"), "Invalid API Key provided: [redacted]");
        assert!(ApiKey::new("  ").is_err());
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy { base_delay: Duration::from_millis(100), max_delay: Duration::from_millis(1000), ..RetryPolicy::default() };
        for attempt in 1..=8 {
            let d = (100u64 << (attempt - 1)).min(1000);
            let w = p.backoff(attempt).as_millis() as u64;
            assert!(w >= d / 2 && w <= d, "attempt {attempt}: {w} ms not in [{}, {d}]", d / 2);
        }
    }

    #[test]
    fn stale_cursor_means_full_sync_without_old_events() {
        let opts = SyncOptions::new(ApiKey::new("k").unwrap());
        let st = |cursor| State { cursor, base_url: DEFAULT_BASE_URL.into(), stripe_version: DEFAULT_STRIPE_VERSION.into(), last_full_sync: 0 };
        let now = 100 * 86_400;
        assert_eq!(decide(Some(&st(now - 86_400)), &opts, DEFAULT_BASE_URL, now), (Mode::Incremental { since: now - 86_400 }, false));
        let (m, drop) = decide(Some(&st(now - 31 * 86_400)), &opts, DEFAULT_BASE_URL, now);
        assert!(matches!(m, Mode::Full { reason } if reason.contains("31 days old")));
        assert!(drop);
        assert!(matches!(decide(None, &opts, DEFAULT_BASE_URL, now).0, Mode::Full { .. }));
    }

    #[test]
    fn state_round_trips() {
        let s = State { cursor: 5, base_url: "https://x".into(), stripe_version: "v".into(), last_full_sync: 3 };
        assert_eq!(State::parse(&s.to_text()).unwrap(), s);
        assert!(State::parse("{}").is_err());
    }
}
