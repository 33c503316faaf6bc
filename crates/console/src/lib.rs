//! The web console of `iprod serve`: submit a job, watch it, and compare its input and output.
//!
//! A small JavaScript app (one HTML shell, one script, one stylesheet, embedded in the binary;
//! no build step, no CDN) over the public API at `/` and the object endpoints of
//! [`objects`]. Every page of the console is the same shell; the script draws the home page or
//! a job's page from the path. The page's policy allows scripts, styles and requests from this
//! origin only, and no framing; the token, when the server has one, lives in the tab's
//! `sessionStorage` and travels in the `Authorization` header only.

mod catalog;
pub mod objects;
mod range;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use iprod_api::ApiState;
use iprod_local::objects::DirObjectStore;

pub use catalog::catalog;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const CONSOLE_JS: &str = include_str!("../assets/console.js");
const CONSOLE_CSS: &str = include_str!("../assets/console.css");

/// What the console pages may load and call: this origin only; media also as `blob:` URLs
/// (fetched with the token when the server has one).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'";

/// The size an upload may have when the configuration names none (1 GiB).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;

pub struct ConsoleState {
    pub api: Arc<ApiState>,
    pub objects: DirObjectStore,
    pub max_upload_bytes: u64,
}

/// `/console…` and `/objects…`; merge it with the API's router.
pub fn router(state: Arc<ConsoleState>) -> Router {
    Router::new()
        .route("/console", get(page))
        .route("/console/", get(page))
        .route("/console/jobs/{job_id}", get(page))
        .route("/console/assets/console.js", get(script))
        .route("/console/assets/console.css", get(style))
        .route("/console/catalog.json", get(catalog_json))
        .route("/objects", get(objects::buckets))
        .route("/objects/{bucket}", get(objects::list))
        .route("/objects/{bucket}/{*key}", get(objects::read).put(objects::upload))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    let mut response = asset("text/html; charset=utf-8", INDEX_HTML);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(PAGE_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    response
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", CONSOLE_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", CONSOLE_CSS)
}

async fn catalog_json() -> Response {
    axum::Json(catalog()).into_response()
}
