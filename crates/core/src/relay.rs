//! The outbox relay: sends due callbacks and records each outcome, with exponential backoff and a
//! final give-up that stays visible on the job. Shared by the embedded notifier and the notify
//! Lambda.

use std::time::Duration;

use crate::error::Result;
use crate::ports::{Callback, CallbackState, DeliveryOutcome, JobStore, Notifier};
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Deliveries tried before giving up.
    pub max_attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 8, first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based): 1 s, 2 s, 4 s… capped.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }

    pub fn outcome(&self, callback: &Callback, sent: Result<()>, now: Timestamp) -> DeliveryOutcome {
        match sent {
            Ok(()) => DeliveryOutcome::Delivered,
            Err(e) => {
                let attempt = callback.attempts + 1;
                let error = e.to_string();
                if attempt >= self.max_attempts {
                    DeliveryOutcome::GaveUp { error: format!("gave up after {attempt} attempts: {error}") }
                } else {
                    DeliveryOutcome::RetryAt { at: now.plus(self.delay_after(attempt)), error }
                }
            }
        }
    }
}

/// What one pass over the due callbacks did: every attempt counts once in `delivered`,
/// `failed` (to be retried) or `gave_up`; `retries` counts the attempts that repeated a failed
/// one (a callback's first attempt is not a retry, even when the sweep makes it).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryTally {
    pub delivered: usize,
    pub failed: usize,
    pub gave_up: usize,
    pub retries: usize,
}

impl DeliveryTally {
    pub fn attempted(&self) -> usize {
        self.delivered + self.failed + self.gave_up
    }

    /// Counts one attempt of `callback` that ended in `outcome`.
    pub fn add(&mut self, callback: &Callback, outcome: &DeliveryOutcome) {
        match outcome {
            DeliveryOutcome::Delivered => self.delivered += 1,
            DeliveryOutcome::RetryAt { .. } => self.failed += 1,
            DeliveryOutcome::GaveUp { .. } => self.gave_up += 1,
        }
        if callback.attempts > 0 {
            self.retries += 1;
        }
    }
}

/// Delivers the callback `delivery_id` now if it is still pending, and records the outcome;
/// `None` when it is not (a sweep or a duplicate trigger got there first).
pub async fn deliver_one(
    store: &dyn JobStore,
    notifier: &dyn Notifier,
    policy: &RetryPolicy,
    delivery_id: &str,
) -> Result<Option<DeliveryTally>> {
    let Some(callback) = store.callback(delivery_id).await? else {
        return Ok(None);
    };
    if callback.state != CallbackState::Pending {
        return Ok(None);
    }
    let sent = notifier.deliver(&callback).await;
    let outcome = policy.outcome(&callback, sent, Timestamp::now());
    tracing::info!(job = %callback.job_id, delivery = delivery_id, ?outcome, "callback");
    store.record_delivery(delivery_id, outcome.clone()).await?;
    let mut tally = DeliveryTally::default();
    tally.add(&callback, &outcome);
    Ok(Some(tally))
}

/// Delivers up to `limit` due callbacks concurrently and records each outcome.
pub async fn deliver_due(
    store: &dyn JobStore,
    notifier: &dyn Notifier,
    policy: &RetryPolicy,
    limit: usize,
) -> Result<DeliveryTally> {
    let due = store.due_callbacks(Timestamp::now(), limit).await?;
    let sends = due.iter().map(|cb| {
        let span = tracing::info_span!("callback", job = %cb.job_id, delivery = %cb.delivery_id);
        let send = async move {
            let sent = notifier.deliver(cb).await;
            let outcome = policy.outcome(cb, sent, Timestamp::now());
            tracing::info!(?outcome, "callback");
            store.record_delivery(&cb.delivery_id, outcome.clone()).await.map(|()| outcome)
        };
        tracing::Instrument::instrument(send, span)
    });
    let mut tally = DeliveryTally::default();
    for (cb, recorded) in due.iter().zip(futures_join_all(sends).await) {
        tally.add(cb, &recorded?);
    }
    Ok(tally)
}

/// A tiny join-all so the core needs no futures crate: polls every send concurrently.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut results: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, fut) in results.iter_mut().zip(set.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_after(1), Duration::from_secs(1));
        assert_eq!(p.delay_after(3), Duration::from_secs(4));
        assert_eq!(p.delay_after(40), Duration::from_secs(300));
    }
}
