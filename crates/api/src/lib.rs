//! The HTTP API: RPC style, `GET` or `POST /` with `Action` and PascalCase parameters in the
//! query string, a form body or a JSON body. Every answer carries a `RequestId`; errors are
//! `{"RequestId","Code","Message"}` with the status decided by the error's class.

mod auth;
mod browser;
mod params;
pub mod signature;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use iprod_core::access::AccessKeys;
use iprod_core::service::{JobService, NewPipeline, SubmitRequest};
use iprod_core::tenant::Scope;
use iprod_core::{Error, ErrorClass, Result, Timestamp};
use serde_json::{Value, json};
use tracing::error;

pub use auth::Caller;
pub use params::{MAX_BODY_BYTES, Params};
pub use views::{JobView, PipelineView};

/// The OpenAPI 3.1 description of this API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

pub const ACTIONS: [&str; 9] = [
    "SubmitIProductionJob",
    "QueryIProductionJob",
    "QueryIProductionJobList",
    "ListIProductionJobs",
    "CancelIProductionJob",
    "AddPipeline",
    "UpdatePipeline",
    "QueryPipelineList",
    "DeletePipeline",
];

/// The actions that change something: refused from another origin.
const WRITES: [&str; 5] =
    ["SubmitIProductionJob", "CancelIProductionJob", "AddPipeline", "UpdatePipeline", "DeletePipeline"];

pub struct ApiState {
    pub service: Arc<JobService>,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub api_token: Option<String>,
    /// Host names (besides IP addresses and `localhost`) the `Host` header may carry (see
    /// [`browser`]); `None`: no check (behind API Gateway, whose own name is the host and whose
    /// IAM authentication no web page can forge).
    pub allowed_hosts: Option<Vec<String>>,
    /// Access keys of tenants: once one exists, requests must be signed (or carry the token).
    pub access_keys: Option<Arc<dyn AccessKeys>>,
}

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/", get(rpc).post(rpc))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"Status": "ok"}))
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()
}

fn respond(request_id: &str, outcome: Result<Value>) -> Response {
    match outcome {
        Ok(mut body) => {
            if let Value::Object(map) = &mut body {
                map.insert("RequestId".into(), Value::String(request_id.to_owned()));
            }
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => {
            if matches!(e.class(), ErrorClass::Internal | ErrorClass::Transient) {
                error!(request_id, error = %e, "request failed");
            }
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"RequestId": request_id, "Code": e.code(), "Message": e.message()});
            (status, axum::Json(body)).into_response()
        }
    }
}

async fn rpc(
    State(state): State<Arc<ApiState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = new_request_id();
    let outcome = handle(&state, &method, &uri, &headers, body).await;
    respond(&request_id, outcome)
}

async fn handle(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value> {
    check_host(state, headers)?;
    let bytes = if method == Method::POST {
        to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
            Error::invalid_parameter(
                "Body",
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            )
        })?
    } else {
        Default::default()
    };
    let scope = scope_of(state, (method, uri, headers), &bytes).await?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let params = Params::parse(uri.query(), content_type, &bytes)?;
    // V2 clients send Action and Version as parameters, V3 clients as x-acs-* headers.
    let from_header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let action = params
        .get("Action")
        .filter(|a| !a.is_empty())
        .or_else(|| from_header("x-acs-action"))
        .ok_or_else(|| Error::missing_parameter("Action"))?;
    let version = params.get("Version").filter(|v| !v.is_empty()).or_else(|| from_header("x-acs-version"));
    if let Some(version) = version
        && version != signature::API_VERSION
    {
        return Err(Error::invalid_parameter(
            "Version",
            format!("Version {version:?} is not served here: use {}", signature::API_VERSION),
        ));
    }
    // The cloud's SDKs send a Version; where our shapes and the cloud's differ, they get the
    // cloud's.
    let versioned = version.is_some();
    if WRITES.contains(&action) {
        browser::check_same_origin(headers)?;
    }
    let service = &state.service;
    match action {
        "SubmitIProductionJob" => {
            let job = service.submit(submit_request(&params)?, Timestamp::now(), &scope).await?;
            // The first line of the job's trail: the worker's and the callbacks' spans carry the
            // same JobId.
            tracing::info!(job = %job.id, function = %job.function, pipeline = %job.pipeline_id.as_str(), "submitted");
            Ok(json!({"JobId": job.id.as_str()}))
        }
        "QueryIProductionJob" => {
            let job = service.query(params.get("JobId"), &scope).await?;
            let callbacks = service.callbacks_of(&job).await?;
            Ok(json!(JobView::new(&job).with_callbacks(&callbacks)))
        }
        "QueryIProductionJobList" => {
            let (jobs, missing) = service.query_list(params.get("JobIds"), &scope).await?;
            let jobs: Vec<JobView> = jobs.iter().map(JobView::new).collect();
            Ok(json!({"Jobs": jobs, "NonExistIds": missing}))
        }
        "ListIProductionJobs" => {
            let page = service
                .list(
                    params.get("PipelineId"),
                    params.get("State"),
                    params.get("MaxResults"),
                    params.get("NextPageToken"),
                    &scope,
                )
                .await?;
            let jobs: Vec<JobView> = page.jobs.iter().map(JobView::new).collect();
            Ok(json!({"Jobs": jobs, "NextPageToken": page.next_page_token}))
        }
        "CancelIProductionJob" => {
            let job = service.cancel(params.get("JobId"), Timestamp::now(), &scope).await?;
            Ok(json!({"JobId": job.id.as_str(), "State": job.state.as_str()}))
        }
        "AddPipeline" => {
            let pipeline = service.add_pipeline(pipeline_request(&params), Timestamp::now(), &scope).await?;
            Ok(json!({"Pipeline": PipelineView::new(&pipeline)}))
        }
        "UpdatePipeline" => {
            let pipeline =
                service.update_pipeline(params.get("PipelineId"), pipeline_request(&params), &scope).await?;
            Ok(json!({"Pipeline": PipelineView::new(&pipeline)}))
        }
        "QueryPipelineList" => {
            let (page, missing) = service
                .query_pipelines(
                    params.get("PipelineIds"),
                    params.get("MaxResults"),
                    params.get("NextPageToken"),
                    &scope,
                )
                .await?;
            let list: Vec<PipelineView> = page.pipelines.iter().map(PipelineView::new).collect();
            if versioned {
                // The cloud's own shape, which its SDKs parse (lists wrapped in an object).
                return Ok(json!({
                    "PipelineList": {"Pipeline": list},
                    "NonExistPids": {"String": missing},
                    "NextPageToken": page.next_page_token
                }));
            }
            Ok(json!({"PipelineList": list, "NonExistIds": missing, "NextPageToken": page.next_page_token}))
        }
        "DeletePipeline" => {
            let pipeline = service.delete_pipeline(params.get("PipelineId"), &scope).await?;
            Ok(json!({"PipelineId": pipeline.id.as_str()}))
        }
        other => Err(Error::new(
            ErrorClass::Invalid,
            "InvalidAction.NotFound",
            format!("unknown Action {other:?}: use one of {}", ACTIONS.join(", ")),
        )),
    }
}

fn check_host(state: &ApiState, headers: &HeaderMap) -> Result<()> {
    match &state.allowed_hosts {
        Some(allowed) => browser::check_host(headers, allowed),
        None => Ok(()),
    }
}

async fn scope_of(state: &ApiState, request: (&Method, &Uri, &HeaderMap), body: &[u8]) -> Result<Scope> {
    Ok(match auth::authenticate(state, request, body).await? {
        Caller::Tenant(tenant) => Scope::Tenant(tenant),
        Caller::Operator | Caller::Anonymous => Scope::All,
    })
}

/// The API's protections for a route outside the RPC endpoint (the console's object
/// endpoints): the same `Host` check and authentication, and for a `write` the same refusal of
/// other origins. `body` is what a signature covers (empty for a streamed upload: such
/// requests need the bearer token, or no credentials on a server that asks for none).
pub async fn authorize(
    state: &ApiState,
    (method, uri, headers): (&Method, &Uri, &HeaderMap),
    body: &[u8],
    write: bool,
) -> Result<Scope> {
    check_host(state, headers)?;
    let scope = scope_of(state, (method, uri, headers), body).await?;
    if write {
        browser::check_same_origin(headers)?;
    }
    Ok(scope)
}

/// An error answered as the API answers it: the status of its class and
/// `{"RequestId","Code","Message"}`.
pub fn error_response(error: Error) -> Response {
    respond(&new_request_id(), Err(error))
}

/// `ScheduleParams`, as the current SDK sends it: a JSON object whose only key so far is
/// `Priority` (1–10); it overrides a `Priority` parameter.
fn schedule_priority(p: &Params) -> Result<Option<String>> {
    let Some(raw) = p.get("ScheduleParams").map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(p.owned("Priority"));
    };
    let bad = |why: String| Error::invalid_parameter("ScheduleParams", why);
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(raw) else {
        return Err(bad(format!("ScheduleParams {raw:?} must be a JSON object such as {{\"Priority\":6}}")));
    };
    let mut priority = p.owned("Priority");
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("Priority", Value::Number(n)) => priority = Some(n.to_string()),
            ("Priority", Value::String(s)) => priority = Some(s),
            ("Priority", other) => {
                return Err(bad(format!("ScheduleParams.Priority must be 1 to 10, not {other}")));
            }
            (other, _) => {
                return Err(bad(format!(
                    "ScheduleParams has {other:?}, which this service does not know: only Priority"
                )));
            }
        }
    }
    Ok(priority)
}

fn submit_request(p: &Params) -> Result<SubmitRequest> {
    Ok(SubmitRequest {
        function_name: p.owned("FunctionName"),
        model_id: p.owned("ModelId"),
        input: p.owned("Input"),
        output: p.owned("Output"),
        job_params: p.owned("JobParams"),
        pipeline_id: p.owned("PipelineId"),
        user_data: p.owned("UserData"),
        notify_url: p.owned("NotifyUrl"),
        notify_secret: p.owned("NotifySecret"),
        priority: schedule_priority(p)?,
        client_token: p.owned("ClientToken"),
    })
}

fn pipeline_request(p: &Params) -> NewPipeline {
    NewPipeline {
        name: p.owned("Name"),
        concurrency: p.owned("Concurrency"),
        state: p.owned("State"),
        notify_url: p.owned("NotifyUrl"),
        secret: p.owned("Secret"),
    }
}
