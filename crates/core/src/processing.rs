//! What a worker does with one queue message announcing a job: the process Lambda
//! (SQS-triggered), the long-polling `process --worker`, and any other queue-driven runtime.
//! Every message is settled without a poison loop: a malformed body or an unknown job is
//! acknowledged and logged; a job that cannot start because its pipeline is full is announced
//! again with a delay (a new message, so the wait never counts towards the dead-letter queue's
//! receive limit); only infrastructure errors leave the message to come back.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::error::{Error, ErrorClass, Result};
use crate::job::{Job, JobId, JobState};
use crate::outbox::callbacks_for;
use crate::pipeline::PipelineId;
use crate::ports::{Claim, JobStore, Queue};
use crate::time::Timestamp;
use crate::worker::{Worker, recover_expired};

/// The body of a job message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    #[serde(rename = "JobId")]
    pub job_id: String,
    #[serde(rename = "PipelineId")]
    pub pipeline_id: String,
}

impl JobMessage {
    pub fn for_job(job: &Job) -> Self {
        Self { job_id: job.id.to_string(), pipeline_id: job.pipeline_id.as_str().to_owned() }
    }

    /// Parses a message body; a malformed one is named in the error so it can be logged and dropped.
    pub fn parse(body: &str) -> Result<(JobId, PipelineId)> {
        let message: JobMessage = serde_json::from_str(body).map_err(|e| {
            Error::invalid_parameter("Message", format!("not a job message ({e}): {}", preview(body)))
        })?;
        Ok((JobId::parse(&message.job_id)?, PipelineId::parse(&message.pipeline_id)?))
    }
}

fn preview(body: &str) -> String {
    body.chars().take(120).collect()
}

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
    /// The worker was told to stop while the job ran: the attempt was abandoned and the job is
    /// `Queuing` again, its message to be made visible at once.
    HandedBack,
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
        tracing::Instrument::instrument(self.handle_job(id, std::future::pending()), span).await
    }

    /// Settles one message like [`handle`](Self::handle), unless `stop` completes while its job
    /// runs (a worker host told to stop: SIGTERM from a scale-in): then the attempt is abandoned
    /// (its ffmpeg killed, its scratch removed) and the job handed back, `Queuing` again at once
    /// with its pipeline slot free, instead of waiting for its lease to run out. The abandoned
    /// attempt still counts towards `max_attempts`.
    pub async fn handle_or_hand_back(&self, body: &str, stop: impl Future<Output = ()>) -> Result<Outcome> {
        let id = match JobMessage::parse(body) {
            Ok((id, _)) => id,
            Err(_) => return self.handle(body).await,
        };
        let span = tracing::info_span!("message", job = %id);
        tracing::Instrument::instrument(self.handle_job(id, stop), span).await
    }

    async fn handle_job(&self, id: JobId, stop: impl Future<Output = ()>) -> Result<Outcome> {
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
                let claimed = (*job).clone();
                // The attempt's future is dropped (ffmpeg killed, heartbeat stopped) when this
                // block ends, before the job is handed back.
                let ran = {
                    let run = self.worker.run(*job);
                    tokio::pin!(run, stop);
                    tokio::select! {
                        ran = &mut run => Some(ran),
                        () = &mut stop => None,
                    }
                };
                match ran {
                    Some(ran) => Ok(Outcome::Ran(ran?)),
                    None => self.hand_back(claimed).await,
                }
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

    /// Puts an abandoned attempt's job back in the queue; the transition holds only while the
    /// job is still this attempt's (state and attempt number), so a job that finished or moved
    /// on meanwhile keeps its state.
    async fn hand_back(&self, mut job: Job) -> Result<Outcome> {
        job.requeue(None)?;
        match self.store.save_transition(&job, JobState::Analysing, Vec::new()).await {
            Ok(()) => {
                info!(job = %job.id, attempt = job.attempts, "handed back: the worker is stopping");
                Ok(Outcome::HandedBack)
            }
            Err(e) if e.is_job_state_conflict() => Ok(Outcome::NotQueued(
                self.store.job(&job.id).await?.map_or(JobState::Cancelled, |j| j.state),
            )),
            Err(e) => Err(e),
        }
    }

    async fn fail_unfinished(&self, id: &JobId, error: &Error) -> Result<Outcome> {
        let Some(mut job) = self.store.job(id).await? else {
            return Ok(Outcome::UnknownJob(id.clone()));
        };
        let before = job.state;
        if before.is_terminal() {
            return Ok(Outcome::NotQueued(before));
        }
        job.give_up(error, Timestamp::now())?;
        let pipeline = self.store.pipeline(&job.pipeline_id).await?;
        let callbacks = callbacks_for(&job, pipeline.as_ref());
        match self.store.save_transition(&job, before, callbacks).await {
            Ok(()) => Ok(Outcome::Ran(JobState::Fail)),
            Err(e) if e.is_job_state_conflict() => Ok(Outcome::NotQueued(before)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_messages_are_named() {
        let e = JobMessage::parse("{\"oops\":1}").unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.Message");
        assert!(e.message().contains("oops"));
        let id = JobId::generate();
        let body = format!("{{\"JobId\":\"{id}\",\"PipelineId\":\"default\"}}");
        assert_eq!(JobMessage::parse(&body).unwrap().0, id);
    }
}
