//! Runs up to N jobs at once, never more than any pipeline's Concurrency (the claim checks that
//! inside the same transaction), and recovers the attempts of workers that died.

use std::sync::Arc;
use std::time::Duration;

use iprod_core::Timestamp;
use iprod_core::ports::JobStore;
use iprod_core::worker::Worker;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::{info, warn};

use crate::sqlite::SqliteStore;

pub struct Dispatcher {
    pub store: SqliteStore,
    pub worker: Arc<Worker>,
    pub wake: Arc<Notify>,
    pub max_running: usize,
}

impl Dispatcher {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let lease = self.worker.settings().lease;
        match self.store.expire_all_leases().await {
            Ok(0) => {}
            Ok(n) => info!(jobs = n, "re-queuing jobs left running by a previous process"),
            Err(e) => warn!(error = %e, "could not expire stale leases"),
        }
        self.recover().await;
        let permits = Arc::new(Semaphore::new(self.max_running.max(1)));
        let mut recovery = tokio::time::interval(lease / 2);
        loop {
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
                _ = shutdown.changed() => break,
            };
            match self.store.claim_next(Timestamp::now(), lease).await {
                Ok(Some(job)) => {
                    let worker = self.worker.clone();
                    let wake = self.wake.clone();
                    tokio::spawn(async move {
                        let id = job.id.clone();
                        if let Err(e) = worker.run(job).await {
                            warn!(job = %id, error = %e, "recording a job's outcome failed; its lease will expire and it will be retried");
                        }
                        drop(permit);
                        // A slot is free: another queued job may start.
                        wake.notify_one();
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = recovery.tick() => self.recover().await,
                        _ = shutdown.changed() => break,
                    }
                }
                Err(e) => {
                    drop(permit);
                    warn!(error = %e, "claiming a job failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        // Let running jobs finish briefly; any still running keep their lease and are re-queued
        // at the next start.
        let all = u32::try_from(self.max_running.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(all)).await;
    }

    async fn recover(&self) {
        match self.worker.recover_expired(Timestamp::now()).await {
            Ok(0) => {}
            Ok(n) => info!(jobs = n, "recovered jobs whose worker was lost"),
            Err(e) => warn!(error = %e, "lease recovery failed"),
        }
    }
}
