//! Embedded callback delivery: HTTP(S) webhooks (signed when the pipeline has a secret) and a
//! JSON-lines file per `mns://…/queues/NAME` or `…/topics/NAME` target under the data root.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use iprod_core::notify::{NotifyTarget, WebhookPolicy};
use iprod_core::ports::{Callback, JobStore, Notifier};
use iprod_core::relay::{RetryPolicy, deliver_due};
use iprod_core::{Error, Result};
use iprod_host::webhook::WebhookPoster;
use tokio::sync::{Mutex, Notify, watch};
use tracing::warn;

pub struct LocalNotifier {
    webhooks: WebhookPoster,
    data_root: PathBuf,
    /// Appends to the sink files are serialised so lines never interleave.
    file_lock: Mutex<()>,
}

impl LocalNotifier {
    pub fn new(data_root: PathBuf, timeout: Duration, policy: WebhookPolicy) -> Result<Self> {
        Ok(Self { webhooks: WebhookPoster::new(timeout, policy)?, data_root, file_lock: Mutex::new(()) })
    }

    /// Where a queue or topic target's lines are written.
    pub fn sink_path(&self, target: &NotifyTarget) -> Option<PathBuf> {
        match target {
            NotifyTarget::Queue { name, .. } => {
                Some(self.data_root.join("queues").join(format!("{name}.jsonl")))
            }
            NotifyTarget::Topic { name, .. } => {
                Some(self.data_root.join("topics").join(format!("{name}.jsonl")))
            }
            NotifyTarget::Webhook(_) => None,
        }
    }

    async fn append(&self, path: PathBuf, line: String) -> Result<()> {
        let _guard = self.file_lock.lock().await;
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(format!("{line}\n").as_bytes())?;
            file.sync_data()
        })
        .await
        .map_err(|e| Error::internal("callback file task failed").with_source(e))?
        .map_err(|e| Error::transient("Sink", "cannot append to the callback file").with_source(e))
    }
}

#[async_trait]
impl Notifier for LocalNotifier {
    async fn deliver(&self, callback: &Callback) -> Result<()> {
        match &callback.target {
            NotifyTarget::Webhook(url) => self.webhooks.post(url, callback).await,
            target => {
                let path = self.sink_path(target).ok_or_else(|| Error::internal("no sink path"))?;
                self.append(path, callback.body.clone()).await
            }
        }
    }
}

/// Sends callbacks as soon as they are written (and retries due ones) until shut down.
pub async fn run_relay(
    store: Arc<dyn JobStore>,
    notifier: Arc<dyn Notifier>,
    policy: RetryPolicy,
    ready: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match deliver_due(store.as_ref(), notifier.as_ref(), &policy, 64).await {
            // A full batch means more may be due right away.
            Ok(tally) if tally.attempted() == 64 => continue,
            Ok(_) => {}
            Err(e) => warn!(error = %e, "callback delivery round failed"),
        }
        tokio::select! {
            _ = ready.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
