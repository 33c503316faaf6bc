//! The traits the core needs from the outside. Embedded adapters (SQLite, directories, webhooks)
//! and AWS adapters (DynamoDB, S3, SQS/SNS) implement the same contracts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::Result;
use crate::function::FunctionName;
use crate::job::{Job, JobId, JobState};
use crate::notify::NotifyTarget;
use crate::object_url::ObjectUrl;
use crate::params::JobParams;
use crate::pipeline::{Pipeline, PipelineId, PipelineState};
use crate::template::OutputTemplate;
use crate::time::Timestamp;

/// The outcome of trying to start a queued job.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The job is now `Analysing` under this caller's attempt.
    Started(Box<Job>),
    /// The pipeline already runs `Concurrency` jobs: try again later.
    PipelineFull,
    /// The pipeline is paused: the job stays queued.
    PipelinePaused,
    /// The job is no longer queued (already claimed, cancelled, finished) or does not exist.
    NotQueued,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    pub pipeline_id: Option<PipelineId>,
    /// Only this tenant's jobs.
    pub tenant: Option<String>,
    pub state: Option<JobState>,
    pub max_results: usize,
    /// Opaque, from a previous page's `next_page_token`.
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    pub next_page_token: Option<String>,
}

/// `QueryPipelineList` without ids: every pipeline, oldest first, a page at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineQuery {
    /// Only this tenant's pipelines, and the default one.
    pub tenant: Option<String>,
    pub max_results: usize,
    /// Opaque, from a previous page's `next_page_token`.
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PipelinePage {
    pub pipelines: Vec<Pipeline>,
    pub next_page_token: Option<String>,
}

/// A callback waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// Unique per delivery; sent as `X-IProduction-Delivery` so receivers can drop duplicates.
    pub delivery_id: String,
    pub job_id: JobId,
    pub target: NotifyTarget,
    pub body: String,
    pub secret: Option<String>,
    pub attempts: u32,
    pub state: CallbackState,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackState {
    Pending,
    Delivered,
    GaveUp,
}

impl CallbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Delivered => "Delivered",
            Self::GaveUp => "GaveUp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    RetryAt { at: Timestamp, error: String },
    GaveUp { error: String },
}

/// Changes to a pipeline; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineUpdate {
    pub name: Option<String>,
    pub state: Option<PipelineState>,
    pub concurrency: Option<u32>,
    /// `Some(None)` removes the target.
    pub notify: Option<Option<NotifyTarget>>,
    pub secret: Option<Option<String>>,
}

impl PipelineUpdate {
    /// The pipeline with the given fields changed.
    pub fn apply(self, pipeline: &mut Pipeline) {
        if let Some(name) = self.name {
            pipeline.name = name;
        }
        if let Some(state) = self.state {
            pipeline.state = state;
        }
        if let Some(concurrency) = self.concurrency {
            pipeline.concurrency = concurrency;
        }
        if let Some(notify) = self.notify {
            pipeline.notify = notify;
        }
        if let Some(secret) = self.secret {
            pipeline.secret = secret;
        }
    }
}

/// The durable record of jobs and pipelines, and the callback outbox.
///
/// Every state change is conditional on the state the caller last saw, so two workers can never
/// both finish a job; a terminal change and its callbacks are written in one atomic step (an
/// outbox, not a dual write), so every terminal job announces itself exactly once.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Inserts a queued job. If its client token was used before, nothing is written and the
    /// job created by the earlier request is returned.
    async fn create_job(&self, job: Job) -> Result<Job>;
    /// Removes a job that `create_job` has just written and that is still queued at attempt 0
    /// (its client token goes with it): a submit that could not announce its job is undone, so
    /// the client sees the error and no job that would never start. Otherwise a no-op.
    async fn withdraw_job(&self, job: &Job) -> Result<()>;
    async fn job(&self, id: &JobId) -> Result<Option<Job>>;
    /// The jobs that exist among `ids`, in any order.
    async fn jobs(&self, ids: &[JobId]) -> Result<Vec<Job>>;
    /// Newest first.
    async fn list_jobs(&self, query: &JobQuery) -> Result<JobPage>;
    /// `Queuing → Analysing` if the pipeline is Active and below its Concurrency; the attempt
    /// holds a lease until `now + lease`.
    async fn claim(&self, id: &JobId, now: Timestamp, lease: Duration) -> Result<Claim>;
    /// Claims the most urgent startable job: the largest priority first, then first come first
    /// served, among Active pipelines below their Concurrency and jobs past their backoff.
    /// `None` when nothing can start now. (Workers that poll the store rather than a queue.)
    async fn claim_next(&self, now: Timestamp, lease: Duration) -> Result<Option<Job>>;
    /// Records progress and extends the lease of the running attempt; returns the job's state so
    /// the worker notices a cancellation. Errors if the attempt is no longer the current one.
    async fn heartbeat(
        &self,
        id: &JobId,
        attempt: u32,
        progress: u8,
        lease_until: Timestamp,
    ) -> Result<JobState>;
    /// Writes `job` (already transitioned) only if the stored job is still `expected` at attempt
    /// `job.attempts`; queues `callbacks` in the same atomic write. `Conflict.JobState` otherwise.
    async fn save_transition(&self, job: &Job, expected: JobState, callbacks: Vec<Callback>) -> Result<()>;
    /// Jobs whose `Analysing` lease ran out before `now` (their worker died).
    async fn expired_leases(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>>;

    /// Inserts a pipeline unless `limit` pipelines exist already (`QuotaExceeded.Pipelines`);
    /// the count and the insert are one atomic step, so concurrent adds cannot pass the limit.
    async fn create_pipeline(&self, pipeline: Pipeline, limit: usize) -> Result<()>;
    async fn pipeline(&self, id: &PipelineId) -> Result<Option<Pipeline>>;
    /// The pipelines that exist among `ids`, in the order asked.
    async fn pipelines(&self, ids: &[PipelineId]) -> Result<Vec<Pipeline>>;
    /// Every pipeline, oldest first, a page at a time.
    async fn list_pipelines(&self, query: &PipelineQuery) -> Result<PipelinePage>;
    async fn update_pipeline(&self, id: &PipelineId, update: PipelineUpdate) -> Result<Pipeline>;
    /// Removes a pipeline that has no queued or running job (`Conflict.PipelineBusy` otherwise),
    /// atomically with respect to submits into it. Finished jobs keep their `PipelineId`.
    async fn delete_pipeline(&self, id: &PipelineId) -> Result<Pipeline>;

    /// Pending callbacks whose next attempt is due.
    async fn due_callbacks(&self, now: Timestamp, limit: usize) -> Result<Vec<Callback>>;
    async fn record_delivery(&self, delivery_id: &str, outcome: DeliveryOutcome) -> Result<()>;
    async fn callbacks_of(&self, job_id: &JobId) -> Result<Vec<Callback>>;
    /// One callback by its delivery id (the notify function is handed ids by the table's stream).
    async fn callback(&self, delivery_id: &str) -> Result<Option<Callback>>;

    /// Queued jobs that could start (their pipeline is Active with a free slot, their backoff
    /// is over) yet have waited longer than `older_than`: their announcement was lost (a failed
    /// re-announcement after a recovery, say). Announcing them again is harmless: claims are
    /// conditional, so a duplicate message is only acknowledged.
    async fn stale_queued(&self, now: Timestamp, older_than: Duration, limit: usize) -> Result<Vec<Job>>;
}

/// Tells workers that a job is ready (an in-process wake-up embedded, an SQS message on AWS).
#[async_trait]
pub trait Queue: Send + Sync {
    async fn announce(&self, job: &Job, delay: Duration) -> Result<()>;
    /// A pipeline was resumed or resized: queued jobs may be startable now.
    async fn pipeline_changed(&self, _pipeline: &Pipeline) -> Result<()> {
        Ok(())
    }
}

/// Buckets of objects. URLs are already checked against the allow-list by the core.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Copies the object to `dest`; a missing object is `InvalidInput.NotFound`, one larger than
    /// `max_bytes` is `InvalidInput.TooLarge` before a byte is copied.
    async fn fetch(&self, url: &ObjectUrl, dest: &Path, max_bytes: u64) -> Result<u64>;
    /// Writes `src` as the object, atomically (readers see the old object or the whole new one).
    async fn store(&self, url: &ObjectUrl, src: &Path) -> Result<()>;
}

/// Sends one callback to one target.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn deliver(&self, callback: &Callback) -> Result<()>;
}

/// What the algorithm is asked to do, on local files.
#[derive(Debug, Clone)]
pub struct MediaTask {
    pub job_id: JobId,
    pub pipeline_id: PipelineId,
    pub function: FunctionName,
    pub model_id: String,
    pub params: JobParams,
    pub input: PathBuf,
    /// A private, empty directory for this attempt; removed afterwards.
    pub work_dir: PathBuf,
    pub outputs: OutputNaming,
}

/// How output `i` of `n` will be named, so a result can cite its output URLs.
#[derive(Debug, Clone)]
pub struct OutputNaming {
    pub input: ObjectUrl,
    pub template: OutputTemplate,
    pub timestamp: i64,
}

impl OutputNaming {
    pub fn url(&self, index: usize, count: usize) -> Result<ObjectUrl> {
        self.template.expand(&self.input, self.timestamp, index, count)
    }

    /// Output `index` of `count` as a result cites it, in the scheme the client used.
    pub fn cited(&self, index: usize, count: usize) -> Result<String> {
        Ok(self.template.cite(&self.url(index, count)?))
    }

    /// The extension of the outputs (`mp4`, `jpg`, `png`…), lowercase, if the template has one.
    pub fn extension(&self) -> Option<String> {
        self.template.extension()
    }
}

/// Files written by the algorithm, in output order, and the job's `Result`.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaOutput {
    pub files: Vec<PathBuf>,
    pub result: Value,
}

/// Progress from the algorithm (0-100), and whether the job was cancelled meanwhile.
pub trait Progress: Send + Sync {
    fn report(&self, percent: u8);
    fn is_cancelled(&self) -> bool;
}

/// Runs the algorithms. The real engine lives in `iprod-media`.
#[async_trait]
pub trait MediaEngine: Send + Sync {
    /// The memory one job may need, when the engine keeps its jobs to a budget: the embedded
    /// service runs as many at once as the machine's memory holds.
    fn job_memory_bytes(&self) -> Option<u64> {
        None
    }
    /// The largest input `function` accepts: the object store refuses a larger object before
    /// downloading it.
    fn max_input_bytes(&self, _function: FunctionName) -> u64 {
        u64::MAX
    }
    /// The input's duration in seconds, for the functions that take videos (`None`: not a
    /// video function, or an engine that does not say): read from the downloaded file before
    /// any work, so a runner with a time limit can hand a long video on.
    async fn input_duration(&self, _function: FunctionName, _input: &Path) -> Result<Option<f64>> {
        Ok(None)
    }
    async fn process(&self, task: &MediaTask, progress: &dyn Progress) -> Result<MediaOutput>;
}

/// `InvalidInput.TooLarge` for an object over the limit, checked on its size before download.
pub fn too_large(url: &ObjectUrl, bytes: u64, max_bytes: u64) -> crate::error::Error {
    crate::error::Error::invalid_input(
        "TooLarge",
        format!("the input {url} is {bytes} bytes; this function takes at most {max_bytes} bytes"),
    )
}
