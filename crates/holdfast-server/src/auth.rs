//! People and machines: API keys with scopes, dashboard users with roles, sessions, CSRF tokens and
//! per-principal rate limits.
//!
//! * **API keys** look like `hf_<id>_<secret>` (12 hex digits of id, 64 of secret from the OS generator).
//!   Only the SHA-256 of the whole key is stored — enough for a 256-bit random secret, and it keeps
//!   checking a key to one hash. Scopes: `read` (GET the API), `ingest` (send data), `admin` (everything).
//! * **Users** have argon2id password hashes and a role: `admin` (may also edit targets) or `read`.
//! * **Sessions**: a random token in an `HttpOnly; SameSite=Strict` cookie (`Secure` unless the server is
//!   bound to loopback), its SHA-256 stored with the session's CSRF token, which every dashboard form
//!   carries back. The API accepts a session only for safe (GET) requests, so cookies never authorise a
//!   cross-site write.
//! * **Rate limits**: a token bucket per key or user (`rate_limit_per_second`, `rate_limit_burst`); an empty
//!   bucket answers 429 with `Retry-After`.
use crate::error::ApiError;
use crate::state::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap, Method};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

pub const SESSION_COOKIE: &str = "holdfast_session";
/// How long a login lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Read,
    Ingest,
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Scope, String> {
        match s {
            "read" => Ok(Scope::Read),
            "ingest" => Ok(Scope::Ingest),
            "admin" => Ok(Scope::Admin),
            x => Err(format!("{x:?} is not a scope; expected read, ingest or admin")),
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Ingest => "ingest",
            Scope::Admin => "admin",
        }
    }
    /// `admin` grants every scope; the others only themselves.
    pub fn grants(&self, needed: Scope) -> bool {
        *self == Scope::Admin || *self == needed
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Read,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Read => "read",
        }
    }
    fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::Read
        }
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `bytes` random bytes from the operating system, as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random generator is available");
    hex(&buf)
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A connection to the store file for the server's own tables (created by the store's migrations).
pub fn open_server_db(path: &Path) -> Result<Connection, crate::ServerError> {
    let conn = Connection::open(path).map_err(|e| crate::ServerError::Store(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| crate::ServerError::Store(e.to_string()))?;
    Ok(conn)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: String,
    pub scope: String,
    pub name: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Creates a key; returns the full key (shown once, never stored) and its record.
pub fn create_key(conn: &Connection, scope: Scope, name: Option<&str>) -> rusqlite::Result<(String, ApiKeyInfo)> {
    let id = random_hex(6);
    let key = format!("hf_{id}_{}", random_hex(32));
    let created_at = now();
    conn.execute("INSERT INTO api_keys (id, key_sha256, scope, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", params![id, sha256_hex(&key), scope.as_str(), name, created_at])?;
    Ok((key, ApiKeyInfo { id, scope: scope.as_str().into(), name: name.map(String::from), created_at, revoked_at: None }))
}

pub fn list_keys(conn: &Connection) -> rusqlite::Result<Vec<ApiKeyInfo>> {
    let mut st = conn.prepare("SELECT id, scope, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id")?;
    let rows = st.query_map([], |r| Ok(ApiKeyInfo { id: r.get(0)?, scope: r.get(1)?, name: r.get(2)?, created_at: r.get(3)?, revoked_at: r.get(4)? }))?;
    rows.collect()
}

/// Revokes key `id` (the part after `hf_`, or the whole key). False when no live key has that id.
pub fn revoke_key(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    let id = key_id(id).unwrap_or(id);
    Ok(conn.execute("UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, now()])? == 1)
}

fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("hf_")?;
    Some(rest.split_once('_').map(|(id, _)| id).unwrap_or(rest))
}

/// The scope of a live key, `None` if unknown, revoked or wrong.
pub fn check_key(conn: &Connection, key: &str) -> rusqlite::Result<Option<(String, Scope)>> {
    let Some(id) = key_id(key) else { return Ok(None) };
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT key_sha256, scope FROM api_keys WHERE id = ?1 AND revoked_at IS NULL")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(h, scope)| constant_time_eq(h.as_bytes(), sha256_hex(key).as_bytes()).then(|| (id.to_string(), Scope::parse(&scope).unwrap_or(Scope::Read)))))
}

/// Creates or replaces user `username` with an argon2id hash of `password`.
pub fn create_user(conn: &Connection, username: &str, password: &str, role: Role) -> Result<(), String> {
    if username.trim().is_empty() {
        return Err("the user name is empty".into());
    }
    if password.chars().count() < 8 {
        return Err("the password has fewer than 8 characters".into());
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| e.to_string())?.to_string();
    conn.execute(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role",
        params![username.trim(), hash, role.as_str(), now()],
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub csrf: String,
}

/// The user id and role if `password` is right.
pub fn verify_password(conn: &Connection, username: &str, password: &str) -> rusqlite::Result<Option<(i64, Role)>> {
    let row: Option<(i64, String, String)> = conn.query_row("SELECT id, password_hash, role FROM users WHERE username = ?1", [username.trim()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
    Ok(row.and_then(|(id, hash, role)| {
        let parsed = PasswordHash::new(&hash).ok()?;
        Argon2::default().verify_password(password.as_bytes(), &parsed).ok().map(|_| (id, Role::parse(&role)))
    }))
}

/// Starts a session; returns its token (for the cookie).
pub fn create_session(conn: &Connection, user_id: i64) -> rusqlite::Result<String> {
    let token = random_hex(32);
    let t = now();
    conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [t])?;
    conn.execute("INSERT INTO sessions (token_sha256, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)", params![sha256_hex(&token), user_id, random_hex(16), t, t + SESSION_SECS])?;
    Ok(token)
}

pub fn session_user(conn: &Connection, token: &str) -> rusqlite::Result<Option<SessionUser>> {
    conn.prepare_cached("SELECT u.id, u.username, u.role, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?1 AND s.expires_at > ?2")?
        .query_row(params![sha256_hex(token), now()], |r| Ok(SessionUser { id: r.get(0)?, username: r.get(1)?, role: Role::parse(&r.get::<_, String>(2)?), csrf: r.get(3)? }))
        .optional()
}

pub fn delete_session(conn: &Connection, token: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM sessions WHERE token_sha256 = ?1", [sha256_hex(token)]).map(|_| ())
}

/// A value of the `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the session (an empty token with `Max-Age=0` clears it).
pub fn session_cookie(token: &str, secure: bool) -> String {
    let max_age = if token.is_empty() { 0 } else { SESSION_SECS };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}", if secure { "; Secure" } else { "" })
}

/// Who made a request.
#[derive(Clone, Debug)]
pub enum Principal {
    Key { id: String, scope: Scope },
    User(SessionUser),
}

impl Principal {
    fn limiter_key(&self) -> String {
        match self {
            Principal::Key { id, .. } => format!("key:{id}"),
            Principal::User(u) => format!("user:{}", u.id),
        }
    }
}

/// Authenticates a request (a `Bearer` key, else — for GET — a session cookie), checks `needed`, and takes
/// one token from the principal's rate-limit bucket.
pub fn authorize(state: &AppState, method: &Method, headers: &HeaderMap, needed: Scope) -> Result<Principal, ApiError> {
    let principal = if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let v = auth.to_str().unwrap_or("");
        let key = match v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) {
            Some(k) => k.to_string(),
            None => basic_user(v).ok_or_else(|| ApiError::unauthorized("Authorization header: expected `Bearer <API key>` (or Segment's `Basic` with the key as user name)"))?,
        };
        let (id, scope) = check_key(&state.db(), key.trim()).map_err(ApiError::internal)?.ok_or_else(|| ApiError::unauthorized("the API key is unknown or revoked"))?;
        if !scope.grants(needed) {
            return Err(ApiError::forbidden(format!("this API key has scope `{}`; this endpoint needs `{}`", scope.as_str(), needed.as_str())));
        }
        Principal::Key { id, scope }
    } else if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let user = session_user(&state.db(), token).map_err(ApiError::internal)?.ok_or_else(|| ApiError::unauthorized("the session has expired; log in again"))?;
        if method != Method::GET && method != Method::HEAD {
            return Err(ApiError::forbidden("dashboard sessions may only read the API; use an API key to write"));
        }
        if needed != Scope::Read {
            return Err(ApiError::forbidden(format!("this endpoint needs an API key with scope `{}`", needed.as_str())));
        }
        Principal::User(user)
    } else {
        return Err(ApiError::unauthorized("no credentials: send `Authorization: Bearer <API key>` (create one with `holdfast keys create`)"));
    };
    state.limiter.take(&principal.limiter_key())?;
    Ok(principal)
}

/// The user name of HTTP Basic credentials (`Basic base64(user:password)`). Segment's SDKs send their write
/// key this way, as the user name with an empty password; a key given as the password alone is accepted too.
fn basic_user(header: &str) -> Option<String> {
    use base64::Engine as _;
    let b64 = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':').unwrap_or((&text, ""));
    let key = if user.is_empty() { password } else { user };
    (!key.is_empty()).then(|| key.to_string())
}

/// Token buckets by principal.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: f64) -> Self {
        RateLimiter { per_second, burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
    }

    pub fn take(&self, who: &str) -> Result<(), ApiError> {
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = b.entry(who.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = if self.per_second > 0.0 { ((1.0 - *tokens) / self.per_second).ceil() as u64 } else { 60 };
            let mut e = ApiError::new(axum::http::StatusCode::TOO_MANY_REQUESTS, format!("rate limit of {} requests per second (burst {}) exceeded; retry in {wait} s", self.per_second, self.burst));
            e.retry_after = Some(wait.max(1));
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        holdfast_store::SqliteStore::open(&p).unwrap();
        let c = open_server_db(&p).unwrap();
        (dir, c)
    }

    #[test]
    fn keys_are_stored_hashed_scoped_and_revocable() {
        let (_d, c) = db();
        let (key, info) = create_key(&c, Scope::Ingest, Some("ci")).unwrap();
        let stored: String = c.query_row("SELECT key_sha256 FROM api_keys", [], |r| r.get(0)).unwrap();
        assert!(!stored.contains(&key[3..]) && stored.len() == 64, "only the hash is stored");
        assert_eq!(check_key(&c, &key).unwrap(), Some((info.id.clone(), Scope::Ingest)));
        let mut forged = key.clone();
        forged.pop();
        forged.push(if key.ends_with('0') { '1' } else { '0' });
        assert_eq!(check_key(&c, &forged).unwrap(), None);
        assert!(revoke_key(&c, &info.id).unwrap());
        assert!(!revoke_key(&c, &info.id).unwrap(), "already revoked");
        assert_eq!(check_key(&c, &key).unwrap(), None);
        assert!(Scope::Admin.grants(Scope::Ingest) && !Scope::Read.grants(Scope::Ingest) && !Scope::Ingest.grants(Scope::Read));
    }

    #[test]
    fn passwords_verify_only_when_right_and_sessions_expire_on_logout() {
        let (_d, c) = db();
        assert!(create_user(&c, "ana", "short", Role::Admin).is_err());
        create_user(&c, "ana", "correct horse", Role::Admin).unwrap();
        let hash: String = c.query_row("SELECT password_hash FROM users", [], |r| r.get(0)).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(verify_password(&c, "ana", "wrong horse").unwrap(), None);
        let (id, role) = verify_password(&c, "ana", "correct horse").unwrap().unwrap();
        assert_eq!(role, Role::Admin);
        let tok = create_session(&c, id).unwrap();
        assert_eq!(session_user(&c, &tok).unwrap().unwrap().username, "ana");
        delete_session(&c, &tok).unwrap();
        assert!(session_user(&c, &tok).unwrap().is_none());
    }

    #[test]
    fn basic_credentials_carry_the_key_as_user_name() {
        use base64::Engine as _;
        let b = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        assert_eq!(basic_user(&b("hf_a_b:")).as_deref(), Some("hf_a_b"), "Segment: write key, empty password");
        assert_eq!(basic_user(&b(":hf_a_b")).as_deref(), Some("hf_a_b"), "key as the password");
        assert_eq!(basic_user(&b("hf_a_b")).as_deref(), Some("hf_a_b"), "no colon");
        assert_eq!(basic_user(&b(":")), None);
        assert_eq!(basic_user("Basic not-base64!"), None);
        assert_eq!(basic_user("Token hf_a_b"), None);
    }

    #[test]
    fn rate_limiter_refuses_past_the_burst() {
        let l = RateLimiter::new(0.0, 2.0);
        assert!(l.take("a").is_ok() && l.take("a").is_ok());
        let e = l.take("a").unwrap_err();
        assert_eq!(e.status.as_u16(), 429);
        assert!(l.take("b").is_ok(), "buckets are per principal");
    }
}
