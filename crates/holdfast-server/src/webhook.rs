//! `POST /webhooks/stripe`: Stripe events, verified and applied once.
//!
//! 1. The `Stripe-Signature` header is verified over the raw body with the configured secrets
//!    ([`holdfast_stripe::webhook::verify_signature`]); a bad or stale signature is a 400 and nothing is read
//!    further, so the store is unchanged.
//! 2. The event is offered to the [`EventLedger`] (persisted in `stripe_webhook_events`): a redelivery is
//!    acknowledged without effect, an event older than one already applied to the same object is
//!    acknowledged and ignored (its state is outdated).
//! 3. An event to apply is mapped by the Stripe importer and its records go through the store's idempotent
//!    import, then the event is logged. If the process dies between the two, Stripe redelivers and the
//!    import changes nothing the second time.
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use holdfast_stripe::webhook::{verify_signature, Delivery, EventLedger, DEFAULT_TOLERANCE_SECS};
use rusqlite::Connection;
use std::sync::Arc;

/// Rebuilds the ledger from the logged events (oldest first), so redeliveries are known after a restart.
pub fn load_event_ledger(conn: &Connection) -> Result<EventLedger, crate::ServerError> {
    let err = |e: rusqlite::Error| crate::ServerError::Store(format!("cannot read stripe_webhook_events: {e}"));
    let mut l = EventLedger::new();
    let mut st = conn.prepare("SELECT event_id, object_id, created FROM stripe_webhook_events ORDER BY created, event_id").map_err(err)?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))).map_err(err)?;
    for row in rows {
        let (id, obj, created) = row.map_err(err)?;
        l.offer(&id, &obj, created);
    }
    Ok(l)
}

/// What happened to a delivered event.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    pub event_id: String,
    /// applied, duplicate or outdated.
    pub outcome: String,
    /// Records inserted and updated by the import (0 unless applied).
    pub inserted: u64,
    pub updated: u64,
}

#[utoipa::path(post, path = "/webhooks/stripe", tag = "ingest",
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature header: t=…,v1=…")),
    request_body(content = Object, description = "A Stripe event object, byte for byte as Stripe sent it"),
    responses((status = 200, description = "Accepted (applied, duplicate or outdated)", body = WebhookOutcome),
              (status = 400, description = "Bad signature or an event the importer cannot read; the store is unchanged", body = ErrorBody),
              (status = 413, description = "Body too large"), (status = 503, description = "No webhook secret configured", body = ErrorBody)))]
pub async fn stripe_webhook(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    if st.cfg.stripe_webhook_secrets.is_empty() {
        return Err(ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "no Stripe webhook secret is configured (set HOLDFAST_STRIPE_WEBHOOK_SECRET or --stripe-webhook-secret)"));
    }
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let secrets: Vec<&str> = st.cfg.stripe_webhook_secrets.iter().map(String::as_str).collect();
    verify_signature(header, &body, &secrets, crate::auth::now(), DEFAULT_TOLERANCE_SECS).map_err(|e| ApiError::bad("Stripe-Signature", e.to_string()))?;
    let event: serde_json::Value = serde_json::from_slice(&body).map_err(|e| ApiError::bad("body", format!("not JSON: {e}")))?;
    let field = |name: &str| ApiError::bad(name, "missing from the event");
    let id = event.get("id").and_then(|v| v.as_str()).ok_or_else(|| field("id"))?.to_string();
    let created = event.get("created").and_then(|v| v.as_i64()).ok_or_else(|| field("created"))?;
    let object_id = event.pointer("/data/object/id").and_then(|v| v.as_str()).ok_or_else(|| field("data.object.id"))?.to_string();
    if event.get("object").and_then(|v| v.as_str()) != Some("event") {
        return Err(ApiError::bad("object", "expected \"event\""));
    }
    // Map before deciding, so an event the importer rejects is refused (and redelivered after a fix)
    // instead of being remembered as applied.
    let (data, _report) = holdfast_stripe::read_values(vec![(format!("webhook {id}"), event)]).map_err(|e| ApiError::bad("body", e.to_string()))?;
    let st2 = st.clone();
    let out = tokio::task::spawn_blocking(move || -> Result<WebhookOutcome, ApiError> {
        // one webhook at a time: the ledger decision, the import and the log stay in step
        let mut store = st2.store();
        let decision = st2.stripe_events().offer(&id, &object_id, created);
        let (outcome, inserted, updated) = match decision {
            Delivery::Duplicate => ("duplicate", 0, 0),
            Delivery::Outdated => ("outdated", 0, 0),
            Delivery::Apply => match holdfast_store::import_records(&mut *store, data.into_records()) {
                Ok(s) => ("applied", s.inserted(), s.updated()),
                Err(e) => {
                    // forget the offer, so Stripe's redelivery is applied
                    if let Ok(l) = load_event_ledger(&st2.db()) {
                        *st2.stripe_events() = l;
                    }
                    return Err(ApiError::internal(e));
                }
            },
        };
        if decision != Delivery::Duplicate {
            st2.db()
                .execute(
                    "INSERT OR IGNORE INTO stripe_webhook_events (event_id, object_id, created, received_at, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![id, object_id, created, crate::auth::now(), outcome],
                )
                .map_err(ApiError::internal)?;
        }
        Ok(WebhookOutcome { event_id: id, outcome: outcome.into(), inserted, updated })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(out).into_response())
}
