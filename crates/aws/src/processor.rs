//! What the process function does with one queue message, shared by the SQS-triggered Lambda and
//! the long-polling `--worker`. Every message is settled without a poison loop: a malformed body
//! or an unknown job is acknowledged and logged; a job that cannot start because its pipeline is
//! full is announced again with a delay (a new message, so the wait never counts towards the
//! dead-letter queue's receive limit); only infrastructure errors leave the message to come back.

use std::sync::Arc;
use std::time::Duration;

use iprod_core::outbox::callbacks_for;
use iprod_core::ports::{Claim, JobStore, Queue};
use iprod_core::worker::{Worker, recover_expired};
use iprod_core::{Error, ErrorClass, JobId, JobState, Result, Timestamp};
use tracing::{info, warn};

use crate::queue::JobMessage;

/// How one message was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a job message: logged and dropped.
    Malformed(String),
    /// No such job (deleted table, another deployment's message): dropped.
    UnknownJob(JobId),
    /// Already running elsewhere or finished: a duplicate delivery, dropped.
    NotQueued(JobState),
    /// Still in its retry backoff: announced again for when it ends.
    NotYet,
    /// The pipeline runs `Concurrency` jobs: announced again after a delay.
    PipelineFull,
    /// The pipeline is paused: resuming it announces its queued jobs again.
    PipelinePaused,
    /// An attempt ran, ending in this state (`Queuing`: a retry is scheduled).
    Ran(JobState),
}

#[derive(Debug, Clone)]
pub struct ProcessorSettings {
    /// How long a message waits before asking again when its pipeline is full.
    pub full_delay: Duration,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self { full_delay: Duration::from_secs(20) }
    }
}

pub struct Processor {
    store: Arc<dyn JobStore>,
    queue: Arc<dyn Queue>,
    worker: Worker,
    settings: ProcessorSettings,
}

impl Processor {
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn Queue>,
        worker: Worker,
        settings: ProcessorSettings,
    ) -> Self {
        Self { store, queue, worker, settings }
    }

    /// Settles one message body.
    pub async fn handle(&self, body: &str) -> Result<Outcome> {
        let id = match JobMessage::parse(body) {
            Ok((id, _)) => id,
            Err(e) => {
                warn!(error = %e, "dropping a malformed job message");
                return Ok(Outcome::Malformed(e.message().to_owned()));
            }
        };
        let span = tracing::info_span!("message", job = %id);
        tracing::Instrument::instrument(self.handle_job(id), span).await
    }

    async fn handle_job(&self, id: JobId) -> Result<Outcome> {
        let Some(mut job) = self.store.job(&id).await? else {
            warn!(job = %id, "dropping a message for an unknown job");
            return Ok(Outcome::UnknownJob(id));
        };
        let now = Timestamp::now();
        if job.state == JobState::Analysing {
            // Its worker may have died (a crashed or timed-out invocation): the message came back.
            let max_attempts = self.worker.settings().max_attempts;
            if recover_expired(self.store.as_ref(), self.queue.as_ref(), max_attempts, now).await? > 0 {
                job = self
                    .store
                    .job(&id)
                    .await?
                    .ok_or_else(|| Error::internal(format!("job {id} vanished")))?;
            }
        }
        if job.state != JobState::Queuing {
            return Ok(Outcome::NotQueued(job.state));
        }
        if let Some(not_before) = job.not_before.filter(|t| *t > now) {
            let wait = Duration::from_millis((not_before.millis() - now.millis()).max(0) as u64);
            self.queue.announce(&job, wait).await?;
            return Ok(Outcome::NotYet);
        }
        match self.store.claim(&id, now, self.worker.settings().lease).await? {
            Claim::Started(job) => {
                info!(job = %id, attempt = job.attempts, "processing");
                Ok(Outcome::Ran(self.worker.run(*job).await?))
            }
            Claim::PipelineFull => {
                self.queue.announce(&job, self.settings.full_delay).await?;
                Ok(Outcome::PipelineFull)
            }
            Claim::PipelinePaused => Ok(Outcome::PipelinePaused),
            Claim::NotQueued => {
                Ok(Outcome::NotQueued(self.store.job(&id).await?.map_or(JobState::Cancelled, |j| j.state)))
            }
        }
    }

    /// Settles one message, giving up at `deadline` (the Lambda's own time limit, less a margin):
    /// a job still running then is failed with `InternalError.Timeout` rather than retried, because
    /// it would run out of time again.
    pub async fn handle_until(&self, body: &str, deadline: Duration) -> Result<Outcome> {
        match tokio::time::timeout(deadline, self.handle(body)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let Ok((id, _)) = JobMessage::parse(body) else {
                    return Ok(Outcome::Malformed("timed out".into()));
                };
                let error = Error::new(
                    ErrorClass::Internal,
                    "InternalError.Timeout",
                    format!(
                        "the job did not finish in the {} s its process invocation had (Lambda allows 15 minutes); run long videos on a worker host (`process --worker`)",
                        deadline.as_secs()
                    ),
                );
                self.fail_unfinished(&id, &error).await
            }
        }
    }

    /// A message the queue gave up on (the dead-letter queue): its job ends `Fail` with a code
    /// instead of waiting for ever.
    pub async fn dead_letter(&self, body: &str) -> Result<Outcome> {
        let Ok((id, _)) = JobMessage::parse(body) else {
            return Ok(Outcome::Malformed(body.chars().take(120).collect()));
        };
        let error = Error::new(
            ErrorClass::Internal,
            "InternalError.AttemptsExhausted",
            "the job's message was received too often without the job finishing; it is not retried again",
        );
        self.fail_unfinished(&id, &error).await
    }

    async fn fail_unfinished(&self, id: &JobId, error: &Error) -> Result<Outcome> {
        let Some(mut job) = self.store.job(id).await? else {
            return Ok(Outcome::UnknownJob(id.clone()));
        };
        let before = job.state;
        if before.is_terminal() {
            return Ok(Outcome::NotQueued(before));
        }
        if before == JobState::Queuing {
            // It never started: it ends without an attempt.
            job.state = JobState::Analysing;
        }
        job.fail(error, Timestamp::now())?;
        let pipeline = self.store.pipeline(&job.pipeline_id).await?;
        let callbacks = callbacks_for(&job, pipeline.as_ref());
        match self.store.save_transition(&job, before, callbacks).await {
            Ok(()) => Ok(Outcome::Ran(JobState::Fail)),
            Err(e) if e.code() == "Conflict.JobState" => Ok(Outcome::NotQueued(before)),
            Err(e) => Err(e),
        }
    }
}
