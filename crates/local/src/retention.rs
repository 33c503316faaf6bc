//! Retention in embedded mode: finished jobs and their callback records go after a configured
//! time (30 days unless configured), swept at start and then hourly. AWS does the same with a
//! DynamoDB TTL attribute.

use std::time::Duration;

use iprod_core::Timestamp;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::sqlite::SqliteStore;

/// How often the sweep runs after the first one.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

pub async fn run_retention(store: SqliteStore, keep: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let before = Timestamp::from_millis(Timestamp::now().millis() - keep.as_millis() as i64);
        match store.sweep_finished(before).await {
            Ok(0) => {}
            Ok(n) => info!(jobs = n, before = %before, "removed finished jobs past their retention"),
            Err(e) => warn!(error = %e, "the retention sweep failed; it runs again in an hour"),
        }
    }
}
