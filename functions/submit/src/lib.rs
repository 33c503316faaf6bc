//! The submit function: the same axum router as `iprod serve` behind API Gateway (HTTP API,
//! IAM-authenticated; optionally a second one for the cloud SDKs' signed requests), and the S3
//! upload trigger, in one binary. An event from S3 submits jobs for
//! the uploads a rule matches; any other event is an HTTP request.

use std::sync::Arc;

use iprod_api::{ApiState, router};
use iprod_aws::uploads::{UploadOutcome, is_s3_event, parse_rules, submit_uploads};
use iprod_aws::{AwsClients, AwsSettings, stack::AwsStack};
use iprod_core::service::JobService;
use iprod_core::trigger::TriggerRule;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};

pub struct Submit {
    service: Arc<JobService>,
    rules: Vec<TriggerRule>,
    app: axum::Router,
    /// The bearer token that makes a request the operator's. Never leaves this process: it is
    /// put on the requests API Gateway has authenticated with IAM (see [`iam_authenticated`]).
    operator_token: String,
}

impl Submit {
    /// Built once per cold start from the environment the template sets.
    pub async fn from_env() -> Result<Self, Error> {
        let settings = AwsSettings::from_env(|k| std::env::var(k).ok())?;
        let rules = parse_rules(&std::env::var("IPROD_TRIGGERS").unwrap_or_default())?;
        let stack = AwsStack::new(AwsClients::from_env().await, settings).await?;
        Ok(Self::new(&stack, rules))
    }

    pub fn new(stack: &AwsStack, rules: Vec<TriggerRule>) -> Self {
        let service = Arc::new(stack.service());
        // Two ways in. Through the IAM-authorised API, API Gateway has authenticated the caller:
        // the request is the operator's, marked with a bearer token of this process's own. With
        // a KMS key configured, a second API without IAM (the template's SdkAccess) lets the
        // cloud SDKs in: their signatures are verified here, with the tenants' keys from the
        // table, and an unsigned request is refused. The Host is the gateway's own name.
        let keys = stack.access_keys().map(|k| Arc::new(k) as Arc<dyn iprod_core::access::AccessKeys>);
        let operator_token = iprod_core::access::new_key().1;
        let app = router(Arc::new(ApiState {
            service: service.clone(),
            api_token: Some(operator_token.clone()),
            allowed_hosts: None,
            access_keys: keys,
        }));
        Self { service, rules, app, operator_token }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let LambdaEvent { payload, context } = event;
        if is_s3_event(&payload) {
            let outcomes = submit_uploads(&self.service, &self.rules, &payload).await;
            return Ok(json!({ "Uploads": outcomes.iter().map(outcome_json).collect::<Vec<_>>() }));
        }
        let mut payload = payload;
        mark_caller(&mut payload, &self.operator_token);
        let request: LambdaRequest = serde_json::from_value(payload)
            .map_err(|e| format!("the event is neither an API Gateway HTTP request nor an S3 event: {e}"))?;
        // The adapter is dropped before the await: it is not Sync, and the future must be Send
        // for `run_concurrent`.
        let response = {
            let mut adapter = Adapter::from(self.app.clone());
            adapter.call(LambdaEvent::new(request, context))
        }
        .await?;
        Ok(serde_json::to_value(response)?)
    }
}

/// Whether API Gateway authenticated this HTTP request with IAM (an HTTP API's IAM authorizer
/// puts the caller's identity in the request context; clients cannot set it).
fn iam_authenticated(payload: &Value) -> bool {
    payload["requestContext"]["authorizer"]["iam"].is_object()
}

/// Makes an IAM-authenticated request the operator's (its SigV4 `Authorization` header has
/// done its work at the gateway), and leaves any other as the client sent it: unsigned, it is
/// refused when keys exist, and no client can know the operator's token.
fn mark_caller(payload: &mut Value, operator_token: &str) {
    if !iam_authenticated(payload) {
        return;
    }
    if let Some(headers) = payload.get_mut("headers").and_then(Value::as_object_mut) {
        headers.retain(|name, _| !name.eq_ignore_ascii_case("authorization"));
        headers.insert("authorization".into(), json!(format!("Bearer {operator_token}")));
    } else if let Some(request) = payload.as_object_mut() {
        request.insert("headers".into(), json!({"authorization": format!("Bearer {operator_token}")}));
    }
}

fn outcome_json(outcome: &UploadOutcome) -> Value {
    match outcome {
        UploadOutcome::Submitted { key, job_id } => json!({"Key": key, "JobId": job_id}),
        UploadOutcome::Ignored { key } => json!({"Key": key, "Ignored": true}),
        UploadOutcome::Refused { key, code, message } => {
            json!({"Key": key, "Code": code, "Message": message})
        }
    }
}
