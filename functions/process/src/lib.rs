//! The process function: SQS-triggered (`ReportBatchItemFailures`), or with `--worker` a
//! long-polling worker for container hosts (GPUs, videos longer than a Lambda may run).
//!
//! Each message names one job; `iprod_aws::processor` settles it. Messages from the dead-letter
//! queue (the second event source) fail their job with a code, so no job waits for ever.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use iprod_aws::long_poll::LongPoll;
use iprod_aws::stack::{AwsStack, worker_settings};
use iprod_aws::{AwsClients, AwsSettings};
use iprod_core::ports::MediaEngine;
use iprod_core::processing::{Processor, ProcessorSettings};
use iprod_core::route::Runner;
use iprod_media::{Engine, EngineSettings};
use lambda_runtime::{Error, LambdaEvent};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Time kept back from the Lambda's deadline to record a timed-out job's failure.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

pub struct Process {
    processor: Processor,
    /// ARNs of the dead-letter queues (`IPROD_DEAD_LETTER_ARN`, comma-separated: the Lambda's
    /// queue's and the fleet's): their messages fail their jobs.
    dead_letter_arn: Option<String>,
    stack: Arc<AwsStack>,
    /// This process's own scratch directory (`/tmp/iprod-work` on Lambda), one job at a time.
    scratch: std::path::PathBuf,
}

impl Process {
    /// `runner`: the Lambda, or a fleet host (`process --worker`).
    pub async fn from_env(runner: Runner) -> Result<Self, Error> {
        let settings = AwsSettings::from_env(|k| std::env::var(k).ok())?;
        let stack = Arc::new(AwsStack::new(AwsClients::from_env().await, settings).await?);
        // The template points these at the layers: /opt/model-pack, /opt/bin/ffmpeg.
        let mut engine_settings = EngineSettings::default();
        if let Ok(dir) = std::env::var("IPROD_MODEL_DIR") {
            engine_settings.model_dir = dir.into();
        }
        if let Ok(path) = std::env::var("IPROD_FFMPEG") {
            engine_settings.ffmpeg = path.into();
        }
        if let Ok(path) = std::env::var("IPROD_FFPROBE") {
            engine_settings.ffprobe = path.into();
        }
        engine_settings.job_memory_mb = job_memory_mb(|k| std::env::var(k).ok());
        // GPU worker hosts: IPROD_GPU=true and onnxruntime-gpu's library in IPROD_MODEL_DIR.
        engine_settings.gpu = std::env::var("IPROD_GPU").is_ok_and(|v| v == "true" || v == "1");
        let engine = Arc::new(Engine::new(engine_settings));
        let scratch = std::env::temp_dir().join("iprod-work");
        Ok(Self::new(stack, engine, scratch, std::env::var("IPROD_DEAD_LETTER_ARN").ok(), runner))
    }

    pub fn new(
        stack: Arc<AwsStack>,
        engine: Arc<dyn MediaEngine>,
        scratch: std::path::PathBuf,
        dead_letter_arn: Option<String>,
        runner: Runner,
    ) -> Self {
        let max_job_time = Duration::from_secs(stack.settings.max_job_secs);
        let mut settings = worker_settings(scratch.clone(), Duration::from_secs(60), max_job_time);
        // The Lambda hands long videos to the fleet, when there is one (the fleet keeps them).
        if runner == Runner::Lambda && stack.settings.fleet_queue_url.is_some() {
            settings.hand_off_longer_than =
                stack.settings.fleet_routes.longer_than_secs.map(Duration::from_secs);
        }
        let worker = stack.worker(engine, settings);
        let processor =
            Processor::new(stack.job_store(), stack.job_queue(), worker, ProcessorSettings::default());
        Self { processor, dead_letter_arn, stack, scratch }
    }

    pub fn processor(&self) -> &Processor {
        &self.processor
    }

    /// An SQS event: every record settled; the ones that hit an infrastructure error are reported
    /// as batch item failures so only they come back.
    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let budget = budget(event.context.deadline);
        info!(budget_secs = budget.as_secs(), "invocation");
        Ok(self.handle_records(&event.payload, budget).await)
    }

    pub async fn handle_records(&self, event: &SqsEvent, deadline: Duration) -> SqsBatchResponse {
        let started = tokio::time::Instant::now();
        self.clear_scratch();
        let mut response = SqsBatchResponse::default();
        for record in &event.records {
            let id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or_default();
            let from_dlq = match (self.dead_letter_arn.as_deref(), record.event_source_arn.as_deref()) {
                (Some(arns), Some(source)) => arns.split(',').any(|arn| arn.trim() == source),
                _ => false,
            };
            let left = deadline.saturating_sub(started.elapsed());
            let settled = if from_dlq {
                self.processor.dead_letter(body).await
            } else {
                self.processor.handle_until(body, left).await
            };
            match settled {
                Ok(outcome) => info!(message = %id, ?outcome, "settled"),
                Err(e) => {
                    error!(message = %id, error = %e, "left for redelivery");
                    response.add_failure(id);
                }
            }
        }
        response
    }

    /// Long-polls the queue until `shutdown` (`process --worker`), one job at a time; a job
    /// still running `drain` after the shutdown is handed back to the queue.
    pub async fn run_worker(&self, visibility: Duration, drain: Duration, shutdown: watch::Receiver<bool>) {
        let worker = LongPoll {
            processor: &self.processor,
            sqs: &self.stack.clients.sqs,
            // A fleet host takes the fleet's jobs; a worker host of a deployment without one, all.
            queue_url: self
                .stack
                .settings
                .fleet_queue_url
                .as_deref()
                .unwrap_or(&self.stack.settings.queue_url),
            visibility,
            drain,
        };
        worker.run(shutdown, || self.clear_scratch()).await;
    }
}

impl Process {
    /// Removes what earlier attempts left in the scratch directory. A Lambda container keeps
    /// `/tmp` between invocations, and an invocation killed at its deadline never cleans up:
    /// without this, retries in a warm container would fill `/tmp` until every job failed. This
    /// process runs one job at a time, so whatever is there now is stale.
    fn clear_scratch(&self) {
        if let Ok(entries) = std::fs::read_dir(&self.scratch) {
            for entry in entries.flatten() {
                let path = entry.path();
                let removed =
                    if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                if let Err(e) = removed {
                    warn!(path = %path.display(), error = %e, "cannot clear a stale attempt's scratch");
                }
            }
        }
    }
}

/// The per-job memory budget: `IPROD_JOB_MEMORY_MB` where set (worker hosts); on Lambda the
/// function's own memory, less a tenth for the runtime (one job runs per invocation).
pub fn job_memory_mb(env: impl Fn(&str) -> Option<String>) -> u64 {
    let number = |name: &str| env(name).and_then(|v| v.trim().parse::<u64>().ok()).filter(|v| *v > 0);
    number("IPROD_JOB_MEMORY_MB")
        .or_else(|| number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").map(|mb| mb * 9 / 10))
        .unwrap_or(iprod_media::memory::DEFAULT_JOB_MEMORY_MB)
}

/// The longest a Lambda invocation may run.
const LAMBDA_LIMIT: Duration = Duration::from_secs(900);

/// How long this invocation's jobs may run: the time left until the Lambda deadline
/// (milliseconds since the epoch) less a margin to record a timeout (at most a quarter of the
/// time left); the Lambda limit when the runtime gave no deadline.
pub fn budget(deadline_ms: u64) -> Duration {
    let left = if deadline_ms == 0 {
        LAMBDA_LIMIT
    } else if deadline_ms < 1_000_000_000_000 {
        // Not an instant (that would be before 2001): `cargo lambda watch` sends its invoke
        // timeout in milliseconds (600000) instead of a deadline.
        Duration::from_millis(deadline_ms).min(LAMBDA_LIMIT)
    } else {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Duration::from_millis(deadline_ms).saturating_sub(now)
    };
    left.saturating_sub(DEADLINE_MARGIN.min(left / 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_secs(secs: u64) -> u64 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        (now + Duration::from_secs(secs)).as_millis() as u64
    }

    #[test]
    fn a_lambdas_memory_is_its_jobs_budget() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(job_memory_mb(env(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008")])), 2707);
        assert_eq!(
            job_memory_mb(env(&[
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008"),
                ("IPROD_JOB_MEMORY_MB", "8000")
            ])),
            8000
        );
        assert_eq!(job_memory_mb(env(&[])), iprod_media::memory::DEFAULT_JOB_MEMORY_MB);
    }

    #[test]
    fn the_budget_keeps_a_margin_but_never_eats_a_short_deadline() {
        let full = budget(in_secs(900)).as_secs();
        assert!((878..=880).contains(&full), "{full}");
        let short = budget(in_secs(8)).as_secs_f64();
        assert!((5.5..=6.0).contains(&short), "{short}");
        assert_eq!(budget(0), LAMBDA_LIMIT - DEADLINE_MARGIN, "no deadline given");
        assert_eq!(budget(600_000), Duration::from_secs(580), "cargo lambda's relative timeout");
    }
}
