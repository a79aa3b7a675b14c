//! Static assets compiled into the binary: Apache ECharts 5.6.0 (`assets/echarts.min.js`, Apache-2.0, see
//! `assets/ECHARTS-LICENSE`), the dashboard's script and style. No CDN: the dashboard works offline.
//! ECharts is served under a versioned name and cached for a year; the small own files carry an ETag
//! (a hash of their content) and are revalidated.
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub const ECHARTS_PATH: &str = "/assets/echarts-5.6.0.min.js";
pub const APP_JS_PATH: &str = "/assets/app.js";
pub const APP_CSS_PATH: &str = "/assets/app.css";

const ECHARTS: &[u8] = include_bytes!("../assets/echarts.min.js");
const APP_JS: &[u8] = include_bytes!("../assets/app.js");
const APP_CSS: &[u8] = include_bytes!("../assets/app.css");

pub fn router() -> axum::Router<Arc<crate::state::AppState>> {
    axum::Router::new().route("/assets/{name}", axum::routing::get(asset))
}

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &crate::auth::sha256_hex(&String::from_utf8_lossy(bytes))[..16])
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let (body, ctype, immutable) = match name.as_str() {
        "echarts-5.6.0.min.js" => (ECHARTS, "text/javascript; charset=utf-8", true),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8", false),
        "app.css" => (APP_CSS, "text/css; charset=utf-8", false),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let tag = etag(body);
    if !immutable && headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(if immutable { "public, max-age=31536000, immutable" } else { "public, max-age=0, must-revalidate" }));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    r
}
