//! `Queue` on SQS: one message per startable job.
//!
//! One standard queue for all pipelines, with `MessageGroupId` = PipelineId (SQS fair queues):
//! a FIFO queue would run one job per group at a time (a pipeline's Concurrency is usually more)
//! and forbids per-message delays, which retries and backoff need; a queue per pipeline would
//! need infrastructure created at `AddPipeline`. Concurrency is enforced by the job store's
//! running-slot counter, not by SQS; the group only keeps one busy pipeline's backlog from
//! delaying the others' messages.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use iprod_core::ports::{JobQuery, JobStore, Queue};
use iprod_core::processing::JobMessage;
use iprod_core::route::Runner;
use iprod_core::{Error, Job, JobState, Pipeline, Result};

use crate::sdk_error::transient;

/// SQS's longest delivery delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

pub struct SqsQueue {
    client: Client,
    url: String,
    /// The worker fleet's queue, for jobs whose runner is the fleet (`iprod_core::route`).
    fleet_url: Option<String>,
    /// To re-announce a resumed pipeline's queued jobs.
    store: Arc<dyn JobStore>,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>, store: Arc<dyn JobStore>) -> Self {
        Self { client, url: url.into(), fleet_url: None, store }
    }

    pub fn with_fleet(mut self, fleet_url: Option<String>) -> Self {
        self.fleet_url = fleet_url;
        self
    }

    /// The queue of `job`'s runner: the fleet's when it runs there (and the fleet exists).
    fn url_for(&self, job: &Job) -> &str {
        match (job.runner, &self.fleet_url) {
            (Some(Runner::Fleet), Some(fleet)) => fleet,
            _ => &self.url,
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn announce(&self, job: &Job, delay: Duration) -> Result<()> {
        let body = serde_json::to_string(&JobMessage::for_job(job))
            .map_err(|e| Error::internal("cannot encode a job message").with_source(e))?;
        self.client
            .send_message()
            .queue_url(self.url_for(job))
            .message_body(body)
            .message_group_id(job.pipeline_id.as_str())
            .delay_seconds(delay.min(MAX_DELAY).as_secs() as i32)
            .send()
            .await
            .map_err(|e| transient("Queue", format!("announcing job {}", job.id), e))?;
        Ok(())
    }

    /// A paused pipeline's messages were consumed without starting their jobs: announce the
    /// queued jobs again now that they may start (duplicates are harmless, claims are conditional).
    async fn pipeline_changed(&self, pipeline: &Pipeline) -> Result<()> {
        let mut query = JobQuery {
            pipeline_id: Some(pipeline.id.clone()),
            tenant: None,
            state: Some(JobState::Queuing),
            max_results: 100,
            page_token: None,
        };
        loop {
            let page = self.store.list_jobs(&query).await?;
            for job in &page.jobs {
                self.announce(job, Duration::ZERO).await?;
            }
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => return Ok(()),
            }
        }
    }
}
