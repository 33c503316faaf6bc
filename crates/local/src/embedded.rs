//! The embedded service assembled: SQLite store, directory buckets, dispatcher, callback relay
//! and upload triggers, all in one process over one data root.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use iprod_core::notify::WebhookPolicy;
use iprod_core::object_url::BucketAllowList;
use iprod_core::ports::{JobStore, MediaEngine, Notifier};
use iprod_core::relay::RetryPolicy;
use iprod_core::service::{JobService, ServicePolicy};
use iprod_core::tenant::TenantPolicy;
use iprod_core::worker::{DEFAULT_MAX_ATTEMPTS, Worker, WorkerSettings};
use iprod_core::{Error, Result};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::dispatcher::Dispatcher;
use crate::notifier::{LocalNotifier, run_relay};
use crate::objects::DirObjectStore;
use crate::queue::WakeQueue;
use crate::retention::run_retention;
use crate::sqlite::SqliteStore;
use crate::triggers::TriggerWatcher;
use iprod_core::retention::{DEFAULT_RETENTION_DAYS, retention};
use iprod_core::trigger::TriggerRule;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// Holds `jobs.sqlite`, `buckets/<bucket>/…`, `queues/*.jsonl`, `scratch/`.
    pub data_root: PathBuf,
    /// The buckets jobs may read and write (one directory each).
    pub buckets: Vec<String>,
    /// Jobs running at once in this process, across all pipelines; 0: as many as the CPUs and
    /// the memory (at the engine's per-job budget) allow.
    pub workers: usize,
    /// Concurrency of the default pipeline.
    pub default_concurrency: u32,
    /// Seconds a running job's claim lasts without a heartbeat.
    pub lease_secs: u64,
    pub max_attempts: u32,
    pub callback_max_attempts: u32,
    pub callback_timeout_secs: u64,
    pub webhooks: WebhookPolicy,
    pub trigger_scan_secs: u64,
    pub triggers: Vec<TriggerRule>,
    /// `AddPipeline` is refused past this many pipelines.
    pub max_pipelines: usize,
    /// Finished jobs and their callback records are removed this many days after they finish
    /// (0 keeps them forever).
    pub retention_days: u32,
    /// The longest one job's attempt may run before it fails with `InternalError.Timeout`.
    pub max_job_secs: u64,
    /// What each tenant (named by its access keys) may do: its buckets, its submit rate.
    pub tenants: std::collections::BTreeMap<String, TenantPolicy>,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            data_root: ".iprod/data".into(),
            buckets: vec!["media".into()],
            workers: 0,
            default_concurrency: iprod_core::pipeline::DEFAULT_CONCURRENCY,
            lease_secs: 30,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            callback_max_attempts: RetryPolicy::default().max_attempts,
            callback_timeout_secs: 10,
            webhooks: WebhookPolicy::default(),
            trigger_scan_secs: 2,
            triggers: Vec::new(),
            max_pipelines: iprod_core::pipeline::DEFAULT_MAX_PIPELINES,
            retention_days: DEFAULT_RETENTION_DAYS,
            max_job_secs: iprod_core::worker::DEFAULT_MAX_JOB_TIME.as_secs(),
            tenants: std::collections::BTreeMap::new(),
        }
    }
}

pub struct Embedded {
    pub service: Arc<JobService>,
    pub store: SqliteStore,
    pub objects: DirObjectStore,
    pub notifier: Arc<LocalNotifier>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Held for the life of the service: one process per data root.
    _lock: File,
}

fn setup_error(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::internal(what).with_source(e)
}

impl Embedded {
    pub async fn start(config: &EmbeddedConfig, engine: Arc<dyn MediaEngine>) -> Result<Self> {
        let root = &config.data_root;
        std::fs::create_dir_all(root)
            .map_err(setup_error(format!("cannot create the data root {}", root.display())))?;
        let lock = File::create(root.join("lock"))
            .map_err(setup_error(format!("cannot open {}/lock", root.display())))?;
        lock.try_lock().map_err(|_| {
            Error::internal(format!(
                "another iprod process is using the data root {}: stop it or choose another data_root",
                root.display()
            ))
        })?;
        for rule in &config.triggers {
            rule.validate()?;
        }
        for (tenant, policy) in &config.tenants {
            if let Some(bucket) = policy.buckets.iter().find(|b| !config.buckets.contains(b)) {
                return Err(Error::invalid_parameter(
                    "Tenant",
                    format!("tenant {tenant:?} lists bucket {bucket:?}, which is not among embedded.buckets"),
                ));
            }
        }
        // We hold the lock: no attempt of another process is running. What crashed attempts
        // left (work directories, half-copied outputs) goes now.
        sweep_leftovers(root);
        let store = SqliteStore::open(&root.join("jobs.sqlite"), config.default_concurrency).await?;
        let limits = config.tenants.iter().filter(|(_, p)| p.max_running > 0);
        store.set_tenant_limits(limits.map(|(t, p)| (t.clone(), p.max_running)).collect()).await?;
        let objects = DirObjectStore::new(root.join("buckets"), config.buckets.iter().map(String::as_str))?;
        let queue = WakeQueue::default();
        let notifier = Arc::new(LocalNotifier::new(
            root.clone(),
            Duration::from_secs(config.callback_timeout_secs),
            config.webhooks.clone(),
        )?);
        let engine_memory = engine.job_memory_bytes();
        let store_port: Arc<dyn JobStore> = Arc::new(store.clone());
        let policy = ServicePolicy {
            allowed_buckets: BucketAllowList::new(config.buckets.clone()),
            webhooks: config.webhooks.clone(),
            max_pipelines: config.max_pipelines,
            tenants: config.tenants.clone().into_iter().collect(),
            // One runner embedded: the local workers.
            fleet_routes: None,
        };
        let service = Arc::new(JobService::new(store_port.clone(), Arc::new(queue.clone()), policy));
        let worker = Arc::new(Worker::new(
            store_port.clone(),
            Arc::new(queue.clone()),
            Arc::new(objects.clone()),
            engine,
            WorkerSettings {
                scratch_root: root.join("scratch"),
                lease: Duration::from_secs(config.lease_secs.max(3)),
                max_attempts: config.max_attempts.max(1),
                max_job_time: Duration::from_secs(config.max_job_secs.max(1)),
                // One runner embedded: nothing to hand on to.
                hand_off_longer_than: None,
            },
        ));
        let (shutdown, stop) = watch::channel(false);
        let mut tasks = Vec::new();
        let workers = match config.workers {
            0 => crate::capacity::default_workers(engine_memory),
            n => n,
        };
        tracing::info!(workers, "jobs run at once");
        let dispatcher =
            Dispatcher { store: store.clone(), worker, wake: queue.wake_handle(), max_running: workers };
        tasks.push(tokio::spawn(dispatcher.run(stop.clone())));
        let retry =
            RetryPolicy { max_attempts: config.callback_max_attempts.max(1), ..RetryPolicy::default() };
        let relay_notifier: Arc<dyn Notifier> = notifier.clone();
        tasks.push(tokio::spawn(run_relay(
            store_port,
            relay_notifier,
            retry,
            store.callbacks_ready(),
            stop.clone(),
        )));
        if let Some(keep) = retention(config.retention_days) {
            tasks.push(tokio::spawn(run_retention(store.clone(), keep, stop.clone())));
        }
        if !config.triggers.is_empty() {
            let watcher = TriggerWatcher {
                rules: config.triggers.clone(),
                buckets_root: root.join("buckets"),
                service: service.clone(),
                interval: Duration::from_secs(config.trigger_scan_secs.max(1)),
            };
            tasks.push(tokio::spawn(watcher.run(stop)));
        }
        Ok(Self { service, store, objects, notifier, shutdown, tasks, _lock: lock })
    }

    /// Stops taking jobs, lets running ones finish briefly, stops the relay and triggers.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Removes the work directories under `scratch/` and the temporary files (`.iprod-*.tmp`) the
/// object store writes before renaming, left by attempts that crashed. Symbolic links are not
/// followed; a file that cannot be removed is left and logged.
fn sweep_leftovers(root: &std::path::Path) {
    let scratch = root.join("scratch");
    if let Ok(entries) = std::fs::read_dir(&scratch) {
        for entry in entries.flatten() {
            let path = entry.path();
            let removed = match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
            if let Err(e) = removed {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a crashed attempt's scratch");
            }
        }
    }
    let mut dirs = vec![root.join("buckets")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file()
                && name.starts_with(".iprod-")
                && name.ends_with(".tmp")
                && let Err(e) = std::fs::remove_file(entry.path())
            {
                tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove a temporary file");
            }
        }
    }
}

#[cfg(test)]
mod sweep_tests {
    #[test]
    fn a_crashed_attempts_scratch_and_temporary_files_are_swept() {
        // GIVEN what a crash leaves: a work directory and a half-copied output
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("scratch/job-1/out")).unwrap();
        std::fs::write(root.join("scratch/job-1/input"), b"x").unwrap();
        std::fs::create_dir_all(root.join("buckets/media/out")).unwrap();
        std::fs::write(root.join("buckets/media/out/.iprod-abc.tmp"), b"half").unwrap();
        std::fs::write(root.join("buckets/media/out/kept.mp4"), b"done").unwrap();
        // WHEN the service starts on it
        super::sweep_leftovers(root);
        // THEN both are gone and finished outputs stay
        assert_eq!(std::fs::read_dir(root.join("scratch")).unwrap().count(), 0);
        assert!(!root.join("buckets/media/out/.iprod-abc.tmp").exists());
        assert!(root.join("buckets/media/out/kept.mp4").exists());
    }
}
