//! `POST /v1/track`, `/v1/identify`, `/v1/group`, `/v1/page`, `/v1/batch`: Segment's HTTP tracking API,
//! so Segment SDKs (or `curl`) pointed at Holdfast feed the usage KPIs.
//!
//! A request goes the same way as an events file in `holdfast import`: the shared parser
//! ([`holdfast_usage::parse_message`]), one rollup ([`holdfast_usage::Ingest`]) and one merge into the store
//! ([`holdfast_store::ImportTx::put_usage`]) in one transaction; the commit moves the store's import marker,
//! so the engine cache recomputes and the dashboard shows the usage at its next refresh.
//!
//! Invariants: a request is all or nothing — one bad element refuses the whole batch with a 400 naming it
//! (`batch[3].timestamp`) and nothing is stored; a `messageId` already stored (by an earlier request or a
//! file import) or repeated within the request is counted once; a request of duplicates only writes nothing.
//! Like Segment's API, a single-message endpoint fills in the message `type` it implies, and a message with
//! no timestamp at all is stamped with the time it was received (`receivedAt`).
use crate::auth::{authorize, Scope};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use holdfast_usage::rollup::message_hash;
use holdfast_usage::{parse_message, Ingest, Message, MessageKind, UsageError};
use serde_json::value::RawValue;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The ingest routes, bodies limited to `body_limit` bytes (larger: 413 before the body is read).
pub fn router(body_limit: usize) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(track))
        .routes(routes!(identify))
        .routes(routes!(group))
        .routes(routes!(page))
        .routes(routes!(batch))
        .layer(DefaultBodyLimit::max(body_limit))
}

/// Segment's answer to an accepted request.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct IngestAck {
    pub success: bool,
}

/// Which endpoint a request came to: the message type a single-message endpoint implies, or a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Single(&'static str),
    Batch,
}

#[utoipa::path(post, path = "/v1/track", tag = "ingest",
    request_body(content = Object, description = "A Segment track message: userId or anonymousId, event, properties, timestamp, messageId, context.groupId"),
    responses((status = 200, description = "Stored (or a duplicate messageId, counted once)", body = IngestAck),
              (status = 400, description = "Malformed JSON or a bad message; `field` names it; nothing stored", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, description = "Body too large"), (status = 429, body = ErrorBody)),
    security(("api_key" = []), ("segment_basic" = [])))]
async fn track(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    receive(st, &method, &headers, body, Endpoint::Single("track")).await
}

#[utoipa::path(post, path = "/v1/identify", tag = "ingest",
    request_body(content = Object, description = "A Segment identify message: userId or anonymousId, traits, timestamp, messageId"),
    responses((status = 200, description = "Stored (or a duplicate messageId, counted once)", body = IngestAck),
              (status = 400, description = "Malformed JSON or a bad message; `field` names it; nothing stored", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, description = "Body too large"), (status = 429, body = ErrorBody)),
    security(("api_key" = []), ("segment_basic" = [])))]
async fn identify(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    receive(st, &method, &headers, body, Endpoint::Single("identify")).await
}

#[utoipa::path(post, path = "/v1/group", tag = "ingest",
    request_body(content = Object, description = "A Segment group message: userId or anonymousId, groupId (the account), traits.stripe_customer_id or traits.customer_id (its billing customer), timestamp, messageId"),
    responses((status = 200, description = "Stored (or a duplicate messageId, counted once)", body = IngestAck),
              (status = 400, description = "Malformed JSON or a bad message; `field` names it; nothing stored", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, description = "Body too large"), (status = 429, body = ErrorBody)),
    security(("api_key" = []), ("segment_basic" = [])))]
async fn group(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    receive(st, &method, &headers, body, Endpoint::Single("group")).await
}

#[utoipa::path(post, path = "/v1/page", tag = "ingest",
    request_body(content = Object, description = "A Segment page (or screen) message: userId or anonymousId, name, properties, timestamp, messageId"),
    responses((status = 200, description = "Stored (or a duplicate messageId, counted once)", body = IngestAck),
              (status = 400, description = "Malformed JSON or a bad message; `field` names it; nothing stored", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, description = "Body too large"), (status = 429, body = ErrorBody)),
    security(("api_key" = []), ("segment_basic" = [])))]
async fn page(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    receive(st, &method, &headers, body, Endpoint::Single("page")).await
}

#[utoipa::path(post, path = "/v1/batch", tag = "ingest",
    request_body(content = Object, description = "`{\"batch\": [message, …]}`: track, identify, group, page, screen or alias messages, each with its `type`"),
    responses((status = 200, description = "Every message stored (duplicate messageIds counted once)", body = IngestAck),
              (status = 400, description = "Malformed JSON or a bad element (`field`: `batch[i].…`); the whole batch is refused, nothing stored", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, description = "Body too large"), (status = 429, body = ErrorBody)),
    security(("api_key" = []), ("segment_basic" = [])))]
async fn batch(State(st): State<Arc<AppState>>, method: Method, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    receive(st, &method, &headers, body, Endpoint::Batch).await
}

async fn receive(st: Arc<AppState>, method: &Method, headers: &HeaderMap, body: Bytes, endpoint: Endpoint) -> Result<Response, ApiError> {
    authorize(&st, method, headers, Scope::Ingest)?;
    let received_at = holdfast_core::time::format_instant(crate::auth::now());
    // parsing and SQLite both block: the blocking pool, never the async workers
    tokio::task::spawn_blocking(move || store_request(&st, &body, endpoint, &received_at)).await.map_err(ApiError::internal)??;
    Ok((StatusCode::OK, axum::Json(IngestAck { success: true })).into_response())
}

/// Parses the whole request, then rolls it up and merges it in one store transaction.
fn store_request(st: &AppState, body: &[u8], endpoint: Endpoint, received_at: &str) -> Result<(), ApiError> {
    let mut patched = Vec::new();
    let messages = parse_request(body, endpoint, received_at, &mut patched)?;
    if messages.is_empty() {
        return Ok(());
    }
    let hashes: Vec<u64> = messages.iter().map(|(raw, m)| message_hash(m, raw)).collect();
    let mut store = st.store();
    let mut tx = holdfast_store::Store::begin_import(&mut *store).map_err(ApiError::internal)?;
    let stored = tx.usage_messages_stored(&hashes).map_err(ApiError::internal)?;
    let mut ingest = Ingest::new(st.cfg.usage_ingest.clone(), stored);
    for (raw, m) in &messages {
        ingest.message(raw, m);
    }
    let rollup = ingest.finish();
    if rollup.message_ids.is_empty() {
        // only duplicates (or aliases): dropping the transaction writes nothing and keeps the engine cache
        return Ok(());
    }
    tx.put_usage(&rollup, &st.cfg.usage_ingest).map_err(|e| match e {
        holdfast_store::StoreError::Unsupported(m) => ApiError::new(StatusCode::CONFLICT, m),
        e => ApiError::internal(e),
    })?;
    tx.commit().map_err(ApiError::internal)?;
    Ok(())
}

#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    batch: Option<Vec<&'a RawValue>>,
}

fn usage_error(e: UsageError, prefix: Option<String>) -> ApiError {
    let field = match (prefix, &e.field) {
        (Some(p), Some(f)) => format!("{p}.{f}"),
        (Some(p), None) => p,
        (None, Some(f)) => f.clone(),
        (None, None) => "body".into(),
    };
    let mut shown = e;
    shown.field = Some(field.clone());
    ApiError { status: StatusCode::BAD_REQUEST, message: shown.to_string(), field: Some(field), retry_after: None }
}

/// The request's messages in order, each with its raw JSON (the dedupe key of a message without
/// `messageId`). Messages that needed a filled-in `type` or `receivedAt` are parsed from copies kept in
/// `patched`; the others borrow `body`.
fn parse_request<'a>(body: &'a [u8], endpoint: Endpoint, received_at: &str, patched: &'a mut Vec<(usize, Vec<u8>)>) -> Result<Vec<(&'a [u8], Message<'a>)>, ApiError> {
    let (elements, implied) = match endpoint {
        Endpoint::Single(kind) => (vec![body], Some(kind)),
        Endpoint::Batch => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let env: Envelope<'a> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." { "body".to_string() } else { path };
                ApiError::bad(&field, format!("expected a JSON object {{\"batch\": [message, …]}} ({})", e.inner()))
            })?;
            de.end().map_err(|e| ApiError::bad("body", format!("expected one JSON object ({e})")))?;
            let batch = env.batch.ok_or_else(|| ApiError::bad("batch", "missing: expected an array of messages"))?;
            (batch.into_iter().map(|m| m.get().as_bytes()).collect(), None)
        }
    };
    let prefix = |i: usize| (endpoint == Endpoint::Batch).then(|| format!("batch[{i}]"));
    let mut out: Vec<Option<(&'a [u8], Message<'a>)>> = Vec::with_capacity(elements.len());
    for (i, raw) in elements.iter().enumerate() {
        // serde would read a JSON array as the message struct's fields in order: only objects are messages
        if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            let shown = String::from_utf8_lossy(&raw[..raw.len().min(40)]).into_owned();
            return Err(usage_error(UsageError::new(None, Some(&shown), "a JSON object (one message)"), prefix(i)));
        }
        match parse_message(raw) {
            Ok(m) => out.push(Some((raw, m))),
            Err(e) => {
                patched.push((i, fill_in(raw, e, implied, received_at).map_err(|e| usage_error(e, prefix(i)))?));
                out.push(None);
            }
        }
    }
    let patched: &'a Vec<(usize, Vec<u8>)> = patched;
    for (i, bytes) in patched {
        let m = parse_message(bytes).map_err(|e| usage_error(e, prefix(*i)))?;
        out[*i] = Some((elements[*i], m));
    }
    let out: Vec<(&'a [u8], Message<'a>)> = out.into_iter().flatten().collect();
    if let Some(kind) = implied {
        for (_, m) in &out {
            let sent = match m.kind {
                MessageKind::Track => "track",
                MessageKind::Identify => "identify",
                MessageKind::Group => "group",
                MessageKind::Page => "page",
                MessageKind::Alias => "alias",
            };
            if sent != kind {
                return Err(ApiError::bad("type", format!("{sent:?} sent to /v1/{kind}: expected {kind:?} (or no type), or use /v1/{sent} or /v1/batch")));
            }
        }
    }
    Ok(out)
}

/// A copy of the message `raw` with the fields Segment's API fills in itself: the endpoint's `type` and, when
/// no timestamp is given at all, `receivedAt`. Refuses (with the parser's error) anything else.
fn fill_in(raw: &[u8], mut err: UsageError, implied: Option<&str>, received_at: &str) -> Result<Vec<u8>, UsageError> {
    let mut buf = raw.to_vec();
    let (mut typed, mut stamped) = (false, false);
    loop {
        let missing = |f: &str| err.field.as_deref() == Some(f) && err.value.is_none();
        let field = match implied {
            Some(kind) if missing("type") && !typed => {
                typed = true;
                format!("\"type\":\"{kind}\"")
            }
            _ if missing("timestamp") && !stamped => {
                stamped = true;
                format!("\"receivedAt\":\"{received_at}\"")
            }
            _ => return Err(err),
        };
        buf = insert_first_field(&buf, &field).ok_or_else(|| UsageError::new(None, None, "a JSON object"))?;
        match parse_message(&buf) {
            Ok(_) => return Ok(buf),
            Err(e) => err = e,
        }
    }
}

/// `{…}` with `"key":value` inserted as its first member; `None` if `obj` does not start with `{`.
fn insert_first_field(obj: &[u8], field: &str) -> Option<Vec<u8>> {
    let open = obj.iter().position(|b| !b.is_ascii_whitespace())?;
    if obj[open] != b'{' {
        return None;
    }
    let rest = &obj[open + 1..];
    let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    let mut out = Vec::with_capacity(obj.len() + field.len() + 2);
    out.push(b'{');
    out.extend_from_slice(field.as_bytes());
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_message_gets_the_endpoint_type_and_a_receipt_time_only_when_missing() {
        let mut patched = Vec::new();
        let body = br#"{"userId":"u1","event":"Report Shared"}"#;
        let m = parse_request(body, Endpoint::Single("track"), "2026-01-02T03:04:05Z", &mut patched).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].1.kind, MessageKind::Track);
        assert_eq!(m[0].1.timestamp, holdfast_core::time::parse_instant("2026-01-02T03:04:05Z").unwrap());
        assert_eq!(m[0].0, &body[..], "the dedupe key is the message as sent");

        let mut patched = Vec::new();
        let body = br#"{"type":"track","userId":"u1","event":"X","timestamp":"2025-05-01T00:00:00Z"}"#;
        let m = parse_request(body, Endpoint::Single("track"), "2026-01-02T03:04:05Z", &mut patched).unwrap();
        assert_eq!(m[0].1.timestamp, holdfast_core::time::parse_instant("2025-05-01T00:00:00Z").unwrap(), "a sent timestamp wins");
        assert!(patched.is_empty());
    }

    #[test]
    fn errors_name_the_field_and_the_batch_element() {
        let mut p = Vec::new();
        let e = parse_request(br#"{"userId":"u1","event":"X","timestamp":"yesterday"}"#, Endpoint::Single("track"), "2026-01-02T03:04:05Z", &mut p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("timestamp"), "{}", e.message);
        let mut p = Vec::new();
        let e = parse_request(br#"{"userId":"u1","traits":{}}"#, Endpoint::Single("group"), "2026-01-02T03:04:05Z", &mut p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("groupId"), "{}", e.message);
        let mut p = Vec::new();
        let e = parse_request(br#"{"type":"identify","userId":"u1"}"#, Endpoint::Single("track"), "2026-01-02T03:04:05Z", &mut p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("type"), "{}", e.message);
        let mut p = Vec::new();
        let body = br#"{"batch":[{"type":"identify","userId":"u1"},{"userId":"u2","event":"X"}]}"#;
        let e = parse_request(body, Endpoint::Batch, "2026-01-02T03:04:05Z", &mut p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("batch[1].type"), "a batch element must say its type: {}", e.message);
        let mut p = Vec::new();
        let e = parse_request(br#"{"batch":{"type":"track"}}"#, Endpoint::Batch, "2026-01-02T03:04:05Z", &mut p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("batch"), "{}", e.message);
        let mut p = Vec::new();
        let e = parse_request(br#"{"sentAt":"2026-01-02T03:04:05Z"}"#, Endpoint::Batch, "2026-01-02T03:04:05Z", &mut p).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("batch"), "{}", e.message);
    }

    #[test]
    fn first_field_insertion_keeps_the_object_valid() {
        assert_eq!(insert_first_field(b" {}", "\"a\":1").unwrap(), b"{\"a\":1}");
        assert_eq!(insert_first_field(b"{\"b\":2}", "\"a\":1").unwrap(), b"{\"a\":1,\"b\":2}");
        assert_eq!(insert_first_field(b"[1]", "\"a\":1"), None);
    }
}
