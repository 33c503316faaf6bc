//! The submit function: the same axum router as `iprod serve` behind API Gateway (HTTP API,
//! IAM-authenticated), and the S3 upload trigger, in one binary. An event from S3 submits jobs for
//! the uploads a rule matches; any other event is an HTTP request.

use std::sync::Arc;

use iprod_api::{ApiState, router};
use iprod_aws::uploads::{UploadOutcome, is_s3_event, parse_rules, submit_uploads};
use iprod_aws::{AwsClients, AwsSettings, stack::AwsStack};
use iprod_core::service::JobService;
use iprod_local::triggers::TriggerRule;
use iprod_media::{Engine, EngineSettings};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};

pub struct Submit {
    service: Arc<JobService>,
    rules: Vec<TriggerRule>,
    app: axum::Router,
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
        // Submit only validates models and output formats: no ONNX session is ever opened here.
        let engine = Arc::new(Engine::new(EngineSettings::default()));
        let service = Arc::new(stack.service(engine));
        // Behind IAM, API Gateway has authenticated the caller: no bearer token on top, and the
        // Host is the gateway's own name. With a KMS key configured, the cloud SDKs' signatures
        // are verified here instead, with the tenants' keys from the table.
        let keys = stack.access_keys().map(|k| Arc::new(k) as Arc<dyn iprod_core::access::AccessKeys>);
        let app = router(Arc::new(ApiState {
            service: service.clone(),
            api_token: None,
            allowed_hosts: None,
            access_keys: keys,
        }));
        Self { service, rules, app }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let LambdaEvent { payload, context } = event;
        if is_s3_event(&payload) {
            let outcomes = submit_uploads(&self.service, &self.rules, &payload).await;
            return Ok(json!({ "Uploads": outcomes.iter().map(outcome_json).collect::<Vec<_>>() }));
        }
        let request: LambdaRequest = serde_json::from_value(payload)
            .map_err(|e| format!("the event is neither an API Gateway HTTP request nor an S3 event: {e}"))?;
        let mut adapter = Adapter::from(self.app.clone());
        let response = adapter.call(LambdaEvent::new(request, context)).await?;
        Ok(serde_json::to_value(response)?)
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
