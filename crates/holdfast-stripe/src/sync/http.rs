//! One blocking GET against the Stripe API, retried when retrying can help: `429` (after `Retry-After`,
//! capped), `5xx` and `409` unless Stripe says `Stripe-Should-Retry: false` (exponential backoff with
//! jitter), dropped connections, timeouts, and bodies that end early or are not JSON. Anything else
//! (`400`, `401`, `403`, `404`, TLS failures, a bad URL) fails at once. The API key travels only in the
//! `Authorization` header; every message that could carry server text is scrubbed of it.
use super::{ApiKey, RetryPolicy, SyncError};
use serde_json::Value;
use std::time::Duration;

/// Largest response body accepted: a page of 100 invoices with their first lines is a few MB.
const BODY_LIMIT: u64 = 256 * 1024 * 1024;

pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    key: ApiKey,
    stripe_version: String,
    retry: RetryPolicy,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retried.
    pub retries: u64,
}

/// Why one attempt failed.
enum Attempt {
    /// Worth another try after `wait` (`None`: the policy's backoff).
    Retry { why: String, wait: Option<Duration> },
    Fatal(SyncError),
}

impl Client {
    pub(crate) fn new(base: String, key: ApiKey, stripe_version: String, retry: RetryPolicy, timeout: Duration) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("holdfast/", env!("CARGO_PKG_VERSION")))
            // Stripe never redirects API calls; a redirect would carry the key elsewhere.
            .max_redirects(0)
            .build()
            .into();
        Client { agent, base, key, stripe_version, retry, requests: 0, retries: 0 }
    }

    /// `GET {base}{path_query}` → the JSON object of the body.
    pub(crate) fn get_json(&mut self, path_query: &str) -> Result<Value, SyncError> {
        let url = format!("{}{}", self.base, path_query);
        let mut attempt = 1u32;
        loop {
            self.requests += 1;
            match self.once(&url) {
                Ok(v) => return Ok(v),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry { why, wait }) => {
                    if attempt >= self.retry.max_attempts {
                        return Err(SyncError::Http { request: format!("GET {path_query}"), detail: format!("{why} (gave up after {attempt} attempts)") });
                    }
                    let wait = wait.unwrap_or_else(|| self.retry.backoff(attempt));
                    tracing::warn!(request = %format!("GET {path_query}"), %why, attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    std::thread::sleep(wait);
                    self.retries += 1;
                    attempt += 1;
                }
            }
        }
    }

    fn once(&self, url: &str) -> Result<Value, Attempt> {
        let resp = self
            .agent
            .get(url)
            .header("Authorization", &format!("Bearer {}", self.key.secret()))
            .header("Stripe-Version", &self.stripe_version)
            .header("Accept", "application/json")
            .call();
        let mut resp = match resp {
            Ok(r) => r,
            Err(e) => {
                let why = self.key.scrub(&e.to_string());
                return Err(match e {
                    ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_) | ureq::Error::HostNotFound => {
                        Attempt::Retry { why: format!("connection failed: {why}"), wait: None }
                    }
                    _ => Attempt::Fatal(SyncError::Http { request: format!("GET {}", self.path_of(url)), detail: why }),
                });
            }
        };
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let should_retry = header("Stripe-Should-Retry");
        let retry_after = header("Retry-After");
        let body = match resp.body_mut().with_config().limit(BODY_LIMIT).read_to_vec() {
            Ok(b) => b,
            Err(e) => return Err(Attempt::Retry { why: format!("HTTP {status}: the body could not be read in full: {}", self.key.scrub(&e.to_string())), wait: None }),
        };
        if status == 200 {
            return match serde_json::from_slice::<Value>(&body) {
                Ok(v) if v.is_object() => Ok(v),
                Ok(_) => Err(Attempt::Retry { why: "HTTP 200 but the body is not a JSON object".into(), wait: None }),
                Err(e) => Err(Attempt::Retry { why: format!("HTTP 200 but the body is not valid JSON (truncated?): {e}"), wait: None }),
            };
        }
        let message = self.key.scrub(&stripe_message(&body));
        match status {
            429 => {
                let wait = retry_after.as_deref().and_then(|s| s.trim().parse::<u64>().ok()).map(|s| Duration::from_secs(s).min(self.retry.max_retry_after));
                Err(Attempt::Retry { why: format!("HTTP 429 (rate limited): {message}"), wait })
            }
            409 | 500..=599 if should_retry.as_deref() != Some("false") => Err(Attempt::Retry { why: format!("HTTP {status}: {message}"), wait: None }),
            _ if should_retry.as_deref() == Some("true") => Err(Attempt::Retry { why: format!("HTTP {status}: {message}"), wait: None }),
            _ => Err(Attempt::Fatal(SyncError::Api { request: format!("GET {}", self.path_of(url)), status, message })),
        }
    }

    fn path_of<'u>(&self, url: &'u str) -> &'u str {
        url.strip_prefix(self.base.as_str()).unwrap_or(url)
    }
}

/// Stripe's `{"error": {"message": …}}`, else the start of the body.
fn stripe_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
            return m.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(200).collect();
    if text.trim().is_empty() {
        "(empty body)".into()
    } else {
        text
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter: a random wait in `[d/2, d]`, `d = min(max_delay, base · 2^(attempt−1))`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let d = self.base_delay.saturating_mul(1u32 << (attempt - 1).min(20)).min(self.max_delay);
        let half = d / 2;
        half + half.mul_f64(jitter_unit())
    }
}

/// A number in `[0, 1)` that differs between calls and processes (std's randomly keyed hasher): jitter only
/// needs to spread clients apart, not to be unpredictable.
fn jitter_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}
