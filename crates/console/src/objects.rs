//! The object endpoints over the allowed buckets, for the console and for scripts:
//! - `GET /objects`: the buckets the caller may use;
//! - `GET /objects/{bucket}?Prefix=in/&MaxKeys=200`: what is one level under a prefix;
//! - `GET|HEAD /objects/{bucket}/{key}`: an object, with single `Range` requests (videos seek);
//! - `PUT /objects/{bucket}/{key}`: an upload, up to the configured size, written whole or not
//!   at all.
//!
//! Keys follow the API's rules (`ObjectUrl`), buckets the service's and the tenant's allow
//! lists, and the caller is authenticated as the API does it. Objects are served as data, never
//! as pages of this origin: known media types only, `nosniff`, and a sandboxing CSP, so an
//! uploaded HTML or SVG file cannot run script beside the console.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use iprod_core::object_url::ObjectUrl;
use iprod_core::ports::ObjectStore;
use iprod_core::tenant::Scope;
use iprod_core::{Error, ErrorClass, Result};
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::ConsoleState;
use crate::range::{Part, part};

/// The most entries one listing returns.
pub const MAX_KEYS: usize = 1000;

async fn caller(state: &ConsoleState, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<Scope> {
    let write = method != Method::GET && method != Method::HEAD;
    iprod_api::authorize(&state.api, (method, uri, headers), &[], write).await
}

/// `oss://bucket/key` checked as the API checks an Input, and allowed for `scope`.
fn object_url(state: &ConsoleState, bucket: &str, key: &str, scope: &Scope) -> Result<ObjectUrl> {
    let url = ObjectUrl::parse("Key", &format!("oss://{bucket}/{key}"))?;
    state.api.service.check_bucket("Object", &url, scope)?;
    Ok(url)
}

fn answer(outcome: Result<Response>) -> Response {
    outcome.unwrap_or_else(iprod_api::error_response)
}

pub(crate) async fn buckets(
    State(state): State<Arc<ConsoleState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    answer(
        async {
            let scope = caller(&state, &method, &uri, &headers).await?;
            let buckets = state.api.service.buckets_of(&scope);
            Ok(Json(json!({"Buckets": buckets, "MaxUploadBytes": state.max_upload_bytes})).into_response())
        }
        .await,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListQuery {
    #[serde(default)]
    prefix: String,
    max_keys: Option<usize>,
}

pub(crate) async fn list(
    State(state): State<Arc<ConsoleState>>,
    Path(bucket): Path<String>,
    query: std::result::Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    answer(
        async {
            let scope = caller(&state, &method, &uri, &headers).await?;
            let Query(query) = query.map_err(|e| {
                Error::invalid_parameter("Query", format!("{e}: use ?Prefix=in/&MaxKeys=100"))
            })?;
            // The bucket alone is checked here; the prefix's own rules are the store's.
            object_url(&state, &bucket, "x", &scope)?;
            let limit = query.max_keys.unwrap_or(MAX_KEYS).clamp(1, MAX_KEYS);
            let listing = state.objects.list(&bucket, &query.prefix, limit).await?;
            let objects: Vec<_> = listing
                .objects
                .iter()
                .map(|o| {
                    let modified = time::OffsetDateTime::from(o.modified)
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                    json!({"Key": o.key, "Size": o.size, "LastModified": modified})
                })
                .collect();
            Ok(Json(json!({
                "Bucket": bucket,
                "Prefix": query.prefix,
                "Objects": objects,
                "CommonPrefixes": listing.prefixes,
                "IsTruncated": listing.truncated,
            }))
            .into_response())
        }
        .await,
    )
}

/// The content type an object is served with: media and a few text types by extension,
/// everything else as bytes (`.html` and `.svg` too: they would run script on this origin).
pub fn content_type(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "ts" => "video/mp2t",
        "mp3" => "audio/mpeg",
        "m4a" | "aac" => "audio/mp4",
        "wav" => "audio/wav",
        "json" => "application/json",
        "txt" | "srt" | "vtt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub(crate) async fn read(
    State(state): State<Arc<ConsoleState>>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    answer(
        async {
            let scope = caller(&state, &method, &uri, &headers).await?;
            let url = object_url(&state, &bucket, &key, &scope)?;
            let (mut file, len) = state.objects.open(&url).await?;
            let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
            let mut response = Response::builder()
                .header(header::CONTENT_TYPE, content_type(&key))
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
                .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox")
                .header(header::CACHE_CONTROL, "no-cache");
            let (start, count) = match part(range, len) {
                Part::Whole => (0, len),
                Part::Range { start, end } => {
                    response = response
                        .status(StatusCode::PARTIAL_CONTENT)
                        .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
                    (start, end - start + 1)
                }
                Part::Unsatisfiable => {
                    return response
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                        .body(Body::empty())
                        .map_err(|e| Error::internal("cannot build a response").with_source(e));
                }
            };
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| Error::transient("Storage", format!("cannot read {url}")).with_source(e))?;
            let body = if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from_stream(tokio_util::io::ReaderStream::new(file.take(count)))
            };
            response
                .header(header::CONTENT_LENGTH, count)
                .body(body)
                .map_err(|e| Error::internal("cannot build a response").with_source(e))
        }
        .await,
    )
}

pub(crate) async fn upload(
    State(state): State<Arc<ConsoleState>>,
    Path((bucket, key)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(async {
        let scope = caller(&state, &method, &uri, &headers).await?;
        let url = object_url(&state, &bucket, &key, &scope)?;
        let limit = state.max_upload_bytes;
        let too_large = || {
            Error::new(
                ErrorClass::Invalid,
                "InvalidParameter.Body",
                format!(
                    "the upload is larger than {limit} bytes: send a smaller file, or raise server.max_upload_bytes"
                ),
            )
        };
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        // Received into a hidden file beside the buckets, then stored whole (the store renames it
        // into place): a broken or oversized upload leaves nothing in the bucket.
        let io = |e: std::io::Error| Error::transient("Storage", format!("cannot write {url}")).with_source(e);
        let staging = tempfile::Builder::new().prefix(".iprod-upload-").tempfile_in(state.objects.root()).map_err(io)?;
        let mut file = tokio::fs::File::create(staging.path()).await.map_err(io)?;
        let mut received: u64 = 0;
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                Error::invalid_parameter("Body", format!("the upload broke off after {received} bytes: {e}"))
            })?;
            if let Ok(data) = frame.into_data() {
                received += data.len() as u64;
                if received > limit {
                    return Err(too_large());
                }
                file.write_all(&data).await.map_err(io)?;
            }
        }
        file.flush().await.map_err(io)?;
        drop(file);
        state.objects.store(&url, staging.path()).await?;
        let mut response = (
            StatusCode::CREATED,
            Json(json!({"Bucket": url.bucket, "Key": url.key, "Size": received, "Url": url.to_string()})),
        )
            .into_response();
        if let Ok(location) = HeaderValue::from_str(&format!("/objects/{bucket}/{key}")) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_is_served_as_media() {
        assert_eq!(content_type("in/a.MP4"), "video/mp4");
        assert_eq!(content_type("out/x.png"), "image/png");
        for script_capable in ["page.html", "x.svg", "a.js", "noext"] {
            assert_eq!(content_type(script_capable), "application/octet-stream", "{script_capable}");
        }
    }
}
