//! The long-polling worker of container hosts (`process --worker`: GPUs, videos longer than a
//! Lambda may run): one message at a time, its visibility extended while the job runs (a video
//! can take far longer than any fixed timeout), deleted once the job is settled.
//!
//! Told to stop (SIGTERM: an ECS scale-in or deployment), it takes no new message, gives the
//! running job `drain` to finish, and otherwise hands it back: the attempt is abandoned, the job
//! is `Queuing` again and its message visible at once for another worker. No job is lost, and
//! none waits for a lease to run out.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::sdk_error::context;
use iprod_core::processing::{Outcome, Processor};

pub struct LongPoll<'a> {
    pub processor: &'a Processor,
    pub sqs: &'a aws_sdk_sqs::Client,
    pub queue_url: &'a str,
    /// How long a received message stays hidden; renewed every third of it while its job runs.
    pub visibility: Duration,
    /// Once told to stop, how long a running job may still take before it is handed back (keep
    /// it under the container's stop timeout: ECS's `stopTimeout`, 30 s by default).
    pub drain: Duration,
}

impl LongPoll<'_> {
    /// Polls until `shutdown` says so; `before_each` runs before every job (the process clears
    /// what a killed attempt left in its scratch directory).
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>, before_each: impl Fn()) {
        let seconds = i32::try_from(self.visibility.as_secs()).unwrap_or(i32::MAX);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let received = tokio::select! {
                r = self.sqs.receive_message().queue_url(self.queue_url).max_number_of_messages(1)
                    .wait_time_seconds(20).visibility_timeout(seconds).send() => r,
                _ = shutdown.changed() => return,
            };
            let messages = match received {
                Ok(out) => out.messages.unwrap_or_default(),
                Err(e) => {
                    warn!(error = %context(&e), "receive failed; retrying in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            for message in messages {
                let (Some(body), Some(receipt)) = (message.body(), message.receipt_handle()) else {
                    continue;
                };
                before_each();
                let stopping = stopped_then(shutdown.clone(), self.drain);
                let settled = tokio::select! {
                    settled = self.processor.handle_or_hand_back(body, stopping) => settled,
                    never = self.keep_hidden(receipt, seconds) => match never {},
                };
                match settled {
                    Ok(Outcome::HandedBack) => {
                        // Visible again now, for a worker that is not stopping.
                        let shown = self
                            .sqs
                            .change_message_visibility()
                            .queue_url(self.queue_url)
                            .receipt_handle(receipt)
                            .visibility_timeout(0)
                            .send()
                            .await;
                        if let Err(e) = shown {
                            warn!(error = %context(&e), "could not show a handed-back job's message; it comes back when its visibility ends");
                        }
                        return;
                    }
                    Ok(outcome) => {
                        info!(?outcome, "settled");
                        let deleted = self
                            .sqs
                            .delete_message()
                            .queue_url(self.queue_url)
                            .receipt_handle(receipt)
                            .send()
                            .await;
                        if let Err(e) = deleted {
                            warn!(error = %context(&e), "could not delete a settled message");
                        }
                    }
                    Err(e) => error!(error = %e, "left for redelivery"),
                }
            }
        }
    }

    /// Renews the message's visibility every third of it, for as long as it is polled. A failed
    /// renewal is logged: the message may then be delivered again while its job still runs
    /// (the claim lets only one attempt run it).
    async fn keep_hidden(&self, receipt: &str, seconds: i32) -> std::convert::Infallible {
        let mut beat = tokio::time::interval(self.visibility / 3);
        beat.tick().await;
        loop {
            beat.tick().await;
            let renewed = self
                .sqs
                .change_message_visibility()
                .queue_url(self.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(seconds)
                .send()
                .await;
            if let Err(e) = renewed {
                warn!(error = %context(&e), "could not extend a running job's message; it may come back while the job runs");
            }
        }
    }
}

/// Completes `drain` after `shutdown` turns true; never, if its sender goes without doing so.
async fn stopped_then(mut shutdown: watch::Receiver<bool>, drain: Duration) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
    info!(drain_secs = drain.as_secs(), "stopping: the running job has this long to finish");
    tokio::time::sleep(drain).await;
}
