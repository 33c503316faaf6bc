//! The notify function: delivers the callback outbox.
//!
//! Terminal states and their callbacks are written in one DynamoDB transaction (the outbox), so
//! the table's stream is the trigger: each new callback item is delivered as soon as it is
//! written. A schedule (every minute) sweeps what the stream cannot: callbacks due for a retry
//! after a failed delivery, and running jobs whose lease ran out (their process invocation
//! crashed or was killed), which are re-queued or failed. The stream was chosen over an outbox
//! queue because the transaction already is the outbox: a second write to SQS after it would be
//! the dual write the outbox exists to avoid.

use std::sync::Arc;
use std::time::Duration;

use iprod_aws::stack::AwsStack;
use iprod_aws::{AwsClients, AwsNotifier, AwsSettings};
use iprod_core::ports::{JobStore, Queue};
use iprod_core::relay::{DeliveryTally, RetryPolicy, deliver_due, deliver_one};
use iprod_core::worker::{DEFAULT_MAX_ATTEMPTS, recover_expired};
use iprod_core::{Result, Timestamp};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};

/// What invokes the function: the job table's stream, or the sweep's schedule.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum NotifyEvent {
    Stream(aws_lambda_events::event::dynamodb::Event),
    Schedule(aws_lambda_events::event::eventbridge::EventBridgeEvent),
}

pub struct Notify {
    store: Arc<dyn JobStore>,
    queue: Arc<dyn Queue>,
    notifier: AwsNotifier,
    policy: RetryPolicy,
    /// A startable job queued this long has lost its message and is announced again.
    stale_after: Duration,
}

/// What one invocation did. Every delivery attempt counts once in `delivered`, `failed` (the
/// sweep tries it again) or `gave_up`, whether the stream or the sweep made it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub delivered: usize,
    pub failed: usize,
    /// Callbacks that failed their last allowed attempt (the job shows them as `GaveUp`).
    pub gave_up: usize,
    /// Of those attempts, the ones that repeated an earlier failure.
    pub retried: usize,
    /// Running jobs whose lease ran out, re-queued or failed.
    pub recovered: usize,
    /// Startable jobs whose announcement was lost, announced again.
    pub reannounced: usize,
}

impl Report {
    fn add(&mut self, tally: DeliveryTally) {
        self.delivered += tally.delivered;
        self.failed += tally.failed;
        self.gave_up += tally.gave_up;
        self.retried += tally.retries;
    }
}

impl Notify {
    pub async fn from_env() -> Result<Self, Error> {
        let settings = AwsSettings::from_env(|k| std::env::var(k).ok())?;
        let stack = AwsStack::new(AwsClients::from_env().await, settings).await?;
        Ok(Self::new(&stack)?)
    }

    pub fn new(stack: &AwsStack) -> Result<Self> {
        Ok(Self {
            store: stack.job_store(),
            queue: stack.job_queue(),
            notifier: stack.notifier()?,
            policy: RetryPolicy::default(),
            stale_after: Duration::from_secs(600),
        })
    }

    pub fn with_stale_after(mut self, stale_after: Duration) -> Self {
        self.stale_after = stale_after;
        self
    }

    pub async fn handle(&self, event: LambdaEvent<NotifyEvent>) -> Result<Value, Error> {
        let report = self.handle_event(&event.payload).await?;
        Ok(json!({
            "Delivered": report.delivered,
            "Failed": report.failed,
            "GaveUp": report.gave_up,
            "Retried": report.retried,
            "Recovered": report.recovered,
            "Reannounced": report.reannounced,
        }))
    }

    /// A DynamoDB stream batch delivers its new callbacks; the schedule sweeps.
    pub async fn handle_event(&self, event: &NotifyEvent) -> Result<Report> {
        let NotifyEvent::Stream(stream) = event else { return self.sweep().await };
        let mut report = Report::default();
        for record in &stream.records {
            let id = match record.change.keys.get("Id") {
                Some(serde_dynamo::AttributeValue::S(id)) => id.as_str(),
                _ => "",
            };
            if let Some(delivery_id) = id.strip_prefix("callback#")
                && record.event_name == "INSERT"
                && let Some(tally) = self.deliver(delivery_id).await?
            {
                report.add(tally);
            }
        }
        Ok(report)
    }

    /// Delivers one pending callback now; `None` if it is no longer pending (the sweep or a
    /// duplicate stream record got there first).
    async fn deliver(&self, delivery_id: &str) -> Result<Option<DeliveryTally>> {
        deliver_one(self.store.as_ref(), &self.notifier, &self.policy, delivery_id).await
    }

    /// Retries due callbacks and recovers jobs whose worker was lost.
    pub async fn sweep(&self) -> Result<Report> {
        let store: &dyn JobStore = self.store.as_ref();
        let mut report = Report::default();
        loop {
            let tally = deliver_due(store, &self.notifier, &self.policy, 50).await?;
            report.add(tally);
            if tally.attempted() < 50 {
                break;
            }
        }
        report.recovered =
            recover_expired(store, self.queue.as_ref(), DEFAULT_MAX_ATTEMPTS, Timestamp::now()).await?;
        for job in self.store.stale_queued(Timestamp::now(), self.stale_after, 100).await? {
            self.queue.announce(&job, Duration::ZERO).await?;
            report.reannounced += 1;
        }
        Ok(report)
    }
}
