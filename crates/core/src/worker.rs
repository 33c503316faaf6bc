//! Running a claimed job: fetch the input into a private directory, run the algorithm, store the
//! outputs, record the terminal state with its callbacks. Also the recovery of lost attempts.
//!
//! Retry or abort is decided here, once: bad request or bad media fails the job; a transient error
//! re-queues it with backoff until `max_attempts`, then fails it with the last error's code.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::job::{Job, JobState};
use crate::object_url::ObjectUrl;
use crate::outbox::callbacks_for;
use crate::params::JobParams;
use crate::ports::{JobStore, MediaEngine, MediaTask, ObjectStore, OutputNaming, Progress, Queue};
use crate::template::OutputTemplate;
use crate::time::Timestamp;

pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Per-attempt private directories are created under this root.
    pub scratch_root: PathBuf,
    /// How long a claim stays valid without a heartbeat.
    pub lease: Duration,
    pub max_attempts: u32,
    /// The longest one attempt may run (download, algorithm, upload): past it the job fails
    /// with `InternalError.Timeout`, not retried, since it would run out of time again.
    pub max_job_time: Duration,
    /// A runner with a time limit (the process Lambda of a deployment with a worker fleet):
    /// videos longer than this are handed to the fleet once downloaded and probed, before any
    /// work (`crate::route`).
    pub hand_off_longer_than: Option<Duration>,
}

/// The code of an attempt that stopped to hand its job to the fleet (never a job's error).
const HANDED_TO_FLEET: &str = "Route.Fleet";

/// Six hours: a long 4K video's reframing on CPU, with room to spare.
pub const DEFAULT_MAX_JOB_TIME: Duration = Duration::from_secs(6 * 3600);

pub struct Worker {
    store: Arc<dyn JobStore>,
    queue: Arc<dyn Queue>,
    objects: Arc<dyn ObjectStore>,
    engine: Arc<dyn MediaEngine>,
    settings: WorkerSettings,
}

/// How often a running job's state is read for a cancel (the bound is 2 s).
const CANCEL_CHECK: Duration = Duration::from_millis(750);

/// Progress shared between the algorithm (writer) and the heartbeat (reader).
#[derive(Default)]
struct SharedProgress {
    percent: AtomicU8,
    cancelled: AtomicBool,
}

impl Progress for SharedProgress {
    fn report(&self, percent: u8) {
        self.percent.fetch_max(percent.min(99), Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

impl Worker {
    pub fn new(
        store: Arc<dyn JobStore>,
        queue: Arc<dyn Queue>,
        objects: Arc<dyn ObjectStore>,
        engine: Arc<dyn MediaEngine>,
        settings: WorkerSettings,
    ) -> Self {
        Self { store, queue, objects, engine, settings }
    }

    pub fn settings(&self) -> &WorkerSettings {
        &self.settings
    }

    /// Runs a job that `claim` returned as `Started`, to a terminal state or back to the queue.
    /// Everything it logs, its ffmpeg runs included, carries the job's span (JobId, function,
    /// attempt), in both runtimes.
    pub async fn run(&self, job: Job) -> Result<JobState> {
        let span =
            tracing::info_span!("job", job = %job.id, function = %job.function, attempt = job.attempts);
        tracing::Instrument::instrument(self.run_in_span(job), span).await
    }

    async fn run_in_span(&self, job: Job) -> Result<JobState> {
        let progress = Arc::new(SharedProgress::default());
        let outcome = {
            let work = self.attempt(&job, progress.as_ref());
            tokio::pin!(work);
            let mut beat = tokio::time::interval(self.settings.lease / 3);
            beat.tick().await;
            let mut look = tokio::time::interval(CANCEL_CHECK);
            look.tick().await;
            let out_of_time = tokio::time::sleep(self.settings.max_job_time);
            tokio::pin!(out_of_time);
            loop {
                tokio::select! {
                    outcome = &mut work => break outcome,
                    // Dropping the work kills its ffmpeg children and removes its scratch.
                    _ = &mut out_of_time => break Err(timed_out(self.settings.max_job_time)),
                    _ = beat.tick() => self.heartbeat(&job, &progress).await,
                    _ = look.tick() => self.look_for_cancel(&job, &progress).await,
                }
                if progress.is_cancelled() {
                    // Leaving the block drops the work: its ffmpeg children are killed
                    // (`kill_on_drop`) and its loops see the flag, before the slot is given back.
                    break Err(Error::job_state_conflict("the job was cancelled while running"));
                }
            }
        };
        if progress.is_cancelled() {
            return Ok(JobState::Cancelled);
        }
        self.settle(job, outcome).await
    }

    /// Whether the job was cancelled (or its attempt taken over) since it started: a cheap read,
    /// more often than the heartbeat, so a cancel stops the work within about a second.
    async fn look_for_cancel(&self, job: &Job, progress: &SharedProgress) {
        if let Ok(Some(now)) = self.store.job(&job.id).await
            && (now.state != JobState::Analysing || now.attempts != job.attempts)
        {
            progress.cancelled.store(true, Ordering::Relaxed);
        }
    }

    async fn heartbeat(&self, job: &Job, progress: &SharedProgress) {
        let lease_until = Timestamp::now().plus(self.settings.lease);
        let percent = progress.percent.load(Ordering::Relaxed);
        match self.store.heartbeat(&job.id, job.attempts, percent, lease_until).await {
            Ok(JobState::Analysing) => {}
            // Cancelled, or the attempt was taken over: the algorithm stops at its next check.
            Ok(_) | Err(_) => progress.cancelled.store(true, Ordering::Relaxed),
        }
    }

    async fn attempt(&self, job: &Job, progress: &SharedProgress) -> Result<(Value, Vec<String>)> {
        let start = job.start_time.unwrap_or_else(Timestamp::now);
        let input = ObjectUrl::parse("Input", &job.input)?;
        let naming = OutputNaming {
            input: input.clone(),
            template: OutputTemplate::parse(&job.output)?,
            timestamp: start.unix_seconds(),
        };
        let params = JobParams::parse(job.function, &job.job_params)?;
        let work_dir =
            ScratchDir::create(&self.settings.scratch_root, &format!("{}-{}", job.id, job.attempts))?;
        // Named without the client's extension: the media's format is decided from its content
        // (a playlist named `.mp4` must not be read as what its name says).
        let input_path = work_dir.path.join("input");
        self.objects.fetch(&input, &input_path, self.engine.max_input_bytes(job.function)).await?;
        if let Some(limit) = self.settings.hand_off_longer_than
            && let Some(seconds) = self.engine.input_duration(job.function, &input_path).await?
            && seconds > limit.as_secs_f64()
        {
            return Err(Error::new(
                crate::error::ErrorClass::Internal,
                HANDED_TO_FLEET,
                format!(
                    "the video lasts {seconds:.0} s, longer than this runner takes ({} s)",
                    limit.as_secs()
                ),
            ));
        }
        let out_dir = work_dir.path.join("out");
        std::fs::create_dir_all(&out_dir).map_err(|e| {
            Error::transient("Scratch", "cannot create the job's work directory").with_source(e)
        })?;
        let task = MediaTask {
            job_id: job.id.clone(),
            pipeline_id: job.pipeline_id.clone(),
            function: job.function,
            model_id: job.model_id.clone(),
            params,
            input: input_path,
            work_dir: out_dir,
            outputs: naming.clone(),
        };
        let output = self.engine.process(&task, progress).await?;
        if progress.is_cancelled() {
            return Err(Error::job_state_conflict("the job was cancelled while running"));
        }
        if output.files.is_empty() {
            return Err(Error::internal(format!("{} produced no output file", job.function)));
        }
        let count = output.files.len();
        let mut urls = Vec::with_capacity(count);
        for (index, file) in output.files.iter().enumerate() {
            let url = naming.url(index, count)?;
            self.objects.store(&url, file).await?;
            urls.push(naming.template.cite(&url));
        }
        Ok((output.result, urls))
    }

    /// Records the attempt's outcome: success, failure, or a retry after a transient error.
    async fn settle(&self, mut job: Job, outcome: Result<(Value, Vec<String>)>) -> Result<JobState> {
        let now = Timestamp::now();
        match outcome {
            Ok((result, files)) => job.succeed(result, files, now)?,
            Err(e) if e.code() == HANDED_TO_FLEET => {
                // Recorded on the job, so every later announcement goes to the fleet's queue.
                // The attempt that found it out counts towards max_attempts.
                tracing::info!(reason = %e.message(), "handed to the fleet");
                job.requeue(None)?;
                job.runner = Some(crate::route::Runner::Fleet);
                self.store.save_transition(&job, JobState::Analysing, Vec::new()).await?;
                self.queue.announce(&job, Duration::ZERO).await?;
                return Ok(JobState::Queuing);
            }
            Err(e) if e.is_retryable() && job.attempts < self.settings.max_attempts => {
                let backoff = Duration::from_secs(1 << job.attempts.min(6));
                job.requeue(Some(now.plus(backoff)))?;
                self.store.save_transition(&job, JobState::Analysing, Vec::new()).await?;
                self.queue.announce(&job, backoff).await?;
                return Ok(JobState::Queuing);
            }
            Err(e) => job.fail(&e, now)?,
        }
        let pipeline = self.store.pipeline(&job.pipeline_id).await?;
        let callbacks = callbacks_for(&job, pipeline.as_ref());
        match self.store.save_transition(&job, JobState::Analysing, callbacks).await {
            Ok(()) => Ok(job.state),
            // Cancelled (or taken over) while the outcome was being written: the other change
            // stands and has announced itself.
            Err(e) if e.is_job_state_conflict() => Ok(JobState::Cancelled),
            Err(e) => Err(e),
        }
    }

    /// Re-queues (or, after `max_attempts`, fails) jobs whose worker died mid-attempt.
    pub async fn recover_expired(&self, now: Timestamp) -> Result<usize> {
        recover_expired(self.store.as_ref(), self.queue.as_ref(), self.settings.max_attempts, now).await
    }
}

fn timed_out(limit: Duration) -> Error {
    Error::new(
        crate::error::ErrorClass::Internal,
        "InternalError.Timeout",
        format!(
            "the job ran longer than this worker's limit of {} s (max_job_secs): split the input, or raise the limit",
            limit.as_secs()
        ),
    )
}

/// Re-queues jobs whose `Analysing` lease ran out (their worker crashed, was killed or timed
/// out), or fails them with `InternalError.AttemptsExhausted` after `max_attempts`. Needs no
/// engine, so a sweeper without the algorithms (the notify function) can run it.
pub async fn recover_expired(
    store: &dyn JobStore,
    queue: &dyn Queue,
    max_attempts: u32,
    now: Timestamp,
) -> Result<usize> {
    let expired = store.expired_leases(now, 500).await?;
    let count = expired.len();
    for mut job in expired {
        let recorded = if job.attempts >= max_attempts {
            let lost = Error::new(
                crate::error::ErrorClass::Internal,
                "InternalError.AttemptsExhausted",
                format!(
                    "the job's worker was lost {} times (crash, kill or timeout); it is not retried again",
                    job.attempts
                ),
            );
            job.fail(&lost, now)?;
            let pipeline = store.pipeline(&job.pipeline_id).await?;
            let callbacks = callbacks_for(&job, pipeline.as_ref());
            store.save_transition(&job, JobState::Analysing, callbacks).await
        } else {
            job.requeue(None)?;
            store.save_transition(&job, JobState::Analysing, Vec::new()).await
        };
        match recorded {
            Ok(()) if job.state == JobState::Queuing => queue.announce(&job, Duration::ZERO).await?,
            Ok(()) => {}
            // Another sweeper (or a late heartbeat's worker) moved it first: theirs stands.
            Err(e) if e.is_job_state_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(count)
}

/// A private directory removed when dropped, whatever happened in between.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn create(root: &std::path::Path, name: &str) -> Result<Self> {
        let path = root.join(name);
        // A leftover from a crashed attempt with the same name is stale: start clean.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| {
            Error::transient("Scratch", format!("cannot create {}", path.display())).with_source(e)
        })?;
        Ok(Self { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
