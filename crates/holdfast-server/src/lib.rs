//! `holdfast serve`: the JSON API, the Stripe webhook receiver and the dashboard over one Holdfast store.
//!
//! * [`api`]: `/api/*` — KPIs, movements, customers, customer timelines, targets, status; every table also
//!   as CSV (`format=csv`); the OpenAPI 3.1 document at `/api/openapi.json` is generated from the same
//!   annotations that register the routes.
//! * [`webhook`]: `/webhooks/stripe` (signature verification, apply-once, idempotent import).
//! * [`ingest`]: Segment-compatible `/v1/{track,identify,group,page,batch}` into the usage rollups.
//! * [`pages`]: the server-rendered dashboard (maud) with Apache ECharts embedded in the binary
//!   ([`assets`]); sections live in a registry, so adding one is one module and one line.
//! * [`auth`]: API keys with scopes, users with argon2 passwords and roles, sessions, CSRF, rate limits.
//! * [`cache`]: engine results per selection, recomputed when the store's last import changes.
//!
//! Invariants: the server computes no metric itself (the engine does); a request never blocks the async
//! workers on SQLite or the engine (both run on the blocking pool); a refused request changes nothing.
pub mod api;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod error;
pub mod ingest;
pub mod pages;
pub mod params;
pub mod select;
pub mod state;
pub mod table;
pub mod targets;
pub mod webhook;

use holdfast_core::Grain;
use holdfast_engine::Settings;
use state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// Everything the server is started with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub db: PathBuf,
    /// Engine settings before per-request `preset`/`set` overrides.
    pub settings: Settings,
    pub grain: Grain,
    pub segment_by: Vec<String>,
    /// Stripe webhook signing secrets (`whsec_…`); several during a rotation. Empty: the endpoint answers 503.
    pub stripe_webhook_secrets: Vec<String>,
    /// Mark the session cookie `Secure` (HTTPS only). Off only for plain-HTTP loopback use.
    pub secure_cookies: bool,
    /// Requests per second and burst allowed per API key or user.
    pub rate_limit_per_second: f64,
    pub rate_limit_burst: f64,
    /// Login attempts per user name: refill per second and burst (default one per 6 s, 10 at once).
    pub login_rate_per_second: f64,
    pub login_burst: f64,
    /// Largest accepted body of API requests and of webhooks, in bytes.
    pub api_body_limit: usize,
    pub webhook_body_limit: usize,
    /// Largest accepted body of the Segment ingest endpoints (`/v1/*`), in bytes (Segment's own: 500 KB).
    pub ingest_body_limit: usize,
    /// Ingest settings the usage rollups are built with; must match those of the store's file imports.
    pub usage_ingest: holdfast_usage::IngestSettings,
    /// How often to look for new imports (the dashboard is current within this interval).
    pub refresh_interval: Duration,
}

impl ServerConfig {
    pub fn new(db: PathBuf) -> Self {
        ServerConfig {
            db,
            settings: Settings::default(),
            grain: Grain::Month,
            segment_by: vec![],
            stripe_webhook_secrets: vec![],
            secure_cookies: true,
            rate_limit_per_second: 100.0,
            rate_limit_burst: 200.0,
            login_rate_per_second: 1.0 / 6.0,
            login_burst: 10.0,
            api_body_limit: 64 * 1024,
            webhook_body_limit: 1024 * 1024,
            ingest_body_limit: 512 * 1024,
            usage_ingest: holdfast_usage::IngestSettings::default(),
            refresh_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Store(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The router (API, webhook, dashboard, assets) and the OpenAPI document of its API.
pub fn app(state: Arc<AppState>) -> axum::Router {
    let (api, mut doc) = api::router(state.cfg.api_body_limit, state.cfg.webhook_body_limit).merge(ingest::router(state.cfg.ingest_body_limit)).split_for_parts();
    if let Some(c) = doc.components.as_mut() {
        c.add_security_scheme("api_key", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("hf_<id>_<secret>").build()));
        c.add_security_scheme("segment_basic", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).description(Some("Segment SDKs: the API key as user name, empty password")).build()));
    }
    doc.info.title = "Holdfast API".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some("Revenue KPIs, the MRR movement ledger and customers from a Holdfast store. Money is integer minor units of the reporting currency.".into());
    let doc_json = Arc::new(doc.to_json().unwrap_or_default());
    let api = api.route(
        "/api/openapi.json",
        axum::routing::get(move || {
            let d = doc_json.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], (*d).clone()) }
        }),
    );
    api.merge(pages::router()).merge(assets::router()).with_state(state)
}

/// The OpenAPI document (for tests and `holdfast serve --print-openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let d = ServerConfig::new(PathBuf::new());
    api::router(d.api_body_limit, d.webhook_body_limit).merge(ingest::router(d.ingest_body_limit)).split_for_parts().1
}

/// Serves on `listener` until `shutdown` resolves.
pub async fn serve_on(listener: tokio::net::TcpListener, cfg: ServerConfig, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
    let state = Arc::new(AppState::open(cfg)?);
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Serves on `addr` until Ctrl-C (the `holdfast serve` command).
pub fn serve(cfg: ServerConfig, addr: SocketAddr, on_ready: impl FnOnce(SocketAddr)) -> Result<(), ServerError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr: addr.to_string(), source })?;
        on_ready(listener.local_addr()?);
        serve_on(listener, cfg, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}

/// A server running on its own thread and runtime (tests, benchmarks, `holdfast demo --serve`). Stops
/// when dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServerError>>>,
}

impl RunningServer {
    /// Binds `addr` (port 0 picks a free port) and starts serving.
    pub fn start(cfg: ServerConfig, addr: SocketAddr) -> Result<RunningServer, ServerError> {
        let std_listener = std::net::TcpListener::bind(addr).map_err(|source| ServerError::Bind { addr: addr.to_string(), source })?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        // open before returning, so a bad store is reported to the caller
        let state = Arc::new(AppState::open(cfg)?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)?;
                axum::serve(listener, app(state))
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await?;
                Ok(())
            })
        });
        Ok(RunningServer { addr, stop: Some(tx), thread: Some(thread) })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
