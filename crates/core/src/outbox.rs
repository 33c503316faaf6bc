//! Which callbacks a terminal job produces: one per target (the pipeline's, and the job's own
//! `NotifyUrl`), written atomically with the terminal state.

use crate::callback::CallbackMessage;
use crate::job::Job;
use crate::notify::{NotifyTarget, WebhookPolicy};
use crate::pipeline::Pipeline;
use crate::ports::{Callback, CallbackState};

pub fn callbacks_for(job: &Job, pipeline: Option<&Pipeline>) -> Vec<Callback> {
    let Some(message) = CallbackMessage::for_job(job) else {
        return Vec::new();
    };
    let body = message.to_json();
    // NotifyUrl passed the policy at submit; parsing again only recovers the target's kind (the
    // sender applies the policy again, on the addresses it connects to).
    let kind_only = WebhookPolicy { allow_private: true, ..WebhookPolicy::default() };
    let own =
        job.notify_url.as_deref().and_then(|url| NotifyTarget::parse("NotifyUrl", url, &kind_only).ok());
    let mut targets: Vec<NotifyTarget> = pipeline.and_then(|p| p.notify.clone()).into_iter().collect();
    let pipeline_target = !targets.is_empty();
    if let Some(own) = own
        && !targets.contains(&own)
    {
        targets.push(own);
    }
    targets
        .into_iter()
        .enumerate()
        .map(|(i, target)| Callback {
            delivery_id: format!("{}-{}-{i}", job.id, job.attempts),
            job_id: job.id.clone(),
            // Each target its own key: a job's submitter never gets deliveries signed with the
            // pipeline owner's secret.
            secret: if i == 0 && pipeline_target {
                pipeline.and_then(|p| p.secret.clone())
            } else {
                job.notify_secret.clone()
            },
            target,
            body: body.clone(),
            attempts: 0,
            state: CallbackState::Pending,
            last_error: None,
        })
        .collect()
}
