//! What the API answers: PascalCase JSON, with the seed-era fields of a job and the newer ones.

use iprod_core::notify::NotifyTarget;
use iprod_core::ports::Callback;
use iprod_core::{Job, Pipeline};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobView {
    pub job_id: String,
    pub function_name: String,
    pub model_id: String,
    pub input: String,
    pub output: String,
    pub job_params: String,
    pub pipeline_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    pub priority: u8,
    pub state: String,
    pub progress: u8,
    /// A JSON string, as the cloud service returns it; empty until the job succeeds.
    pub result: String,
    pub output_files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub attempts: u32,
    /// Where its attempts run on AWS (`Lambda` or `Fleet`), when the deployment has a fleet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<&'static str>,
    pub create_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callbacks: Option<Vec<CallbackView>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackView {
    pub target: String,
    pub state: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl JobView {
    pub fn new(job: &Job) -> Self {
        Self {
            job_id: job.id.to_string(),
            function_name: job.function.to_string(),
            model_id: job.model_id.clone(),
            input: job.input.clone(),
            output: job.output.clone(),
            job_params: job.job_params.clone(),
            pipeline_id: job.pipeline_id.to_string(),
            user_data: job.user_data.clone(),
            notify_url: job.notify_url.clone(),
            priority: job.priority.get(),
            state: job.state.to_string(),
            progress: job.progress,
            result: job.result.as_ref().map(ToString::to_string).unwrap_or_default(),
            output_files: job.output_files.clone(),
            code: job.error.as_ref().map(|e| e.code.clone()),
            message: job.error.as_ref().map(|e| e.message.clone()),
            attempts: job.attempts,
            runner: job.runner.map(|r| r.as_str()),
            create_time: job.create_time.rfc3339(),
            start_time: job.start_time.map(|t| t.rfc3339()),
            finish_time: job.finish_time.map(|t| t.rfc3339()),
            callbacks: None,
        }
    }

    pub fn with_callbacks(mut self, callbacks: &[Callback]) -> Self {
        self.callbacks = Some(
            callbacks
                .iter()
                .map(|c| CallbackView {
                    target: c.target.as_url(),
                    state: c.state.as_str().to_owned(),
                    attempts: c.attempts,
                    last_error: c.last_error.clone(),
                })
                .collect(),
        );
        self
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PipelineView {
    pub pipeline_id: String,
    /// The same id under the cloud's name for it, which its SDKs read.
    pub id: String,
    pub name: String,
    pub state: String,
    pub concurrency: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// A queue or topic target as the cloud describes it (`QueueName` / `Topic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_config: Option<serde_json::Value>,
    /// Whether webhooks are signed; the secret itself is never returned.
    pub signed: bool,
    pub create_time: String,
}

impl PipelineView {
    pub fn new(p: &Pipeline) -> Self {
        Self {
            pipeline_id: p.id.to_string(),
            id: p.id.to_string(),
            name: p.name.clone(),
            state: p.state.as_str().to_owned(),
            concurrency: p.concurrency,
            notify_url: p.notify.as_ref().map(|n| n.as_url()),
            notify_config: match &p.notify {
                Some(NotifyTarget::Queue { name, .. }) => Some(serde_json::json!({"QueueName": name})),
                Some(NotifyTarget::Topic { name, .. }) => Some(serde_json::json!({"Topic": name})),
                _ => None,
            },
            signed: p.secret.is_some(),
            create_time: p.create_time.rfc3339(),
        }
    }
}
