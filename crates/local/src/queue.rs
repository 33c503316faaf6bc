//! The embedded queue is the job store itself; announcing a job only wakes the dispatcher.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use iprod_core::ports::Queue;
use iprod_core::{Job, Pipeline, Result};
use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct WakeQueue {
    wake: Arc<Notify>,
}

impl WakeQueue {
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

#[async_trait]
impl Queue for WakeQueue {
    async fn announce(&self, _job: &Job, delay: Duration) -> Result<()> {
        if delay.is_zero() {
            self.wake.notify_one();
        } else {
            let wake = self.wake.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                wake.notify_one();
            });
        }
        Ok(())
    }

    async fn pipeline_changed(&self, _pipeline: &Pipeline) -> Result<()> {
        self.wake.notify_one();
        Ok(())
    }
}
