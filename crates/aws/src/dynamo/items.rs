//! How jobs, pipelines and callbacks are laid out as items. The whole record is kept as JSON in
//! `Doc`; the attributes that conditions and indexes need are kept beside it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use iprod_core::notify::NotifyTarget;
use iprod_core::ports::{Callback, CallbackState};
use iprod_core::{Error, Job, JobId, JobState, Pipeline, PipelineId, Result, Timestamp};

use super::schema::KEY;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(super) const KIND_JOB: &str = "job";
pub(super) const KIND_PIPELINE: &str = "pipeline";
pub(super) const KIND_CALLBACK: &str = "callback";
/// The one partition value of the sparse indexes: an item is in the index while it has it.
pub(super) const WAITING: &str = "queued";
pub(super) const LEASED: &str = "running";
pub(super) const OUTBOX: &str = "pending";

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn pipeline_key(id: &PipelineId) -> String {
    format!("pipeline#{}", id.as_str())
}

/// The item counting a tenant's running jobs (only for tenants with a `max_running`).
pub(super) fn tenant_key(tenant: &str) -> String {
    format!("tenant#{tenant}")
}

pub(super) fn token_key(token: &str) -> String {
    format!("token#{token}")
}

pub(super) fn callback_key(delivery_id: &str) -> String {
    format!("callback#{delivery_id}")
}

pub(super) fn key(id: impl Into<String>) -> Item {
    HashMap::from([(KEY.to_owned(), s(id))])
}

/// Sorts by creation, ties broken by id, so pages never skip or repeat a record.
pub(super) fn created(at: Timestamp, id: &str) -> String {
    format!("{:013}#{id}", at.millis().max(0))
}

/// Larger priority first, then first come first served.
pub(super) fn rank(job: &Job) -> String {
    format!("{:02}#{}", 10 - job.priority.get().min(10), created(job.create_time, job.id.as_str()))
}

/// The item counting added pipelines (the default one is not counted), for the pipeline cap.
pub(super) const PIPELINE_COUNT_KEY: &str = "pipelines#count";

/// Checks a page token: it must be a `created` value this store returned (of a job or a pipeline).
pub(super) fn parse_page_token(token: &str) -> Result<String> {
    let ok = token.split_once('#').is_some_and(|(millis, id)| {
        millis.len() == 13
            && millis.bytes().all(|b| b.is_ascii_digit())
            && (JobId::parse(id).is_ok() || PipelineId::parse(id).is_ok())
    });
    if ok {
        Ok(token.to_owned())
    } else {
        Err(Error::invalid_parameter("NextPageToken", "NextPageToken is not one this service returned"))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal("cannot encode a record").with_source(e))
}

fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw)
        .map_err(|e| Error::internal("a stored record could not be decoded").with_source(e))
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(super) fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

pub(super) fn job_doc(job: &Job) -> Result<AttributeValue> {
    Ok(s(to_json(job)?))
}

/// A new job's item: queued jobs are in the `Waiting` index.
pub(super) fn job_item(job: &Job) -> Result<Item> {
    let mut item = key(job.id.as_str());
    item.insert("Kind".into(), s(KIND_JOB));
    item.insert("Doc".into(), job_doc(job)?);
    item.insert("State".into(), s(job.state.as_str()));
    item.insert("Attempts".into(), n(job.attempts));
    item.insert("Pipeline".into(), s(job.pipeline_id.as_str()));
    item.insert("Created".into(), s(created(job.create_time, job.id.as_str())));
    if let Some(tenant) = &job.tenant {
        item.insert("Tenant".into(), s(tenant));
    }
    if job.state == JobState::Queuing {
        item.insert("Waiting".into(), s(WAITING));
        item.insert("Rank".into(), s(rank(job)));
    }
    Ok(item)
}

/// The job; progress reported by heartbeats is kept beside the document.
pub(super) fn decode_job(item: &Item) -> Result<Job> {
    let doc = get_s(item, "Doc").ok_or_else(|| Error::internal("a job item has no document"))?;
    let mut job: Job = from_json(doc)?;
    if let Some(progress) = get_n(item, "Progress") {
        job.progress = progress.clamp(0, 100) as u8;
    }
    Ok(job)
}

pub(super) fn pipeline_item(pipeline: &Pipeline) -> Result<Item> {
    let mut item = key(pipeline_key(&pipeline.id));
    item.insert("Kind".into(), s(KIND_PIPELINE));
    item.insert("Doc".into(), s(to_json(pipeline)?));
    item.insert("State".into(), s(pipeline.state.as_str()));
    item.insert("Concurrency".into(), n(pipeline.concurrency));
    item.insert("Running".into(), n(0));
    item.insert("Created".into(), s(created(pipeline.create_time, pipeline.id.as_str())));
    if let Some(tenant) = &pipeline.tenant {
        item.insert("Tenant".into(), s(tenant));
    }
    Ok(item)
}

pub(super) fn pipeline_doc(pipeline: &Pipeline) -> Result<AttributeValue> {
    Ok(s(to_json(pipeline)?))
}

/// The pipeline and how many of its jobs hold a running slot.
pub(super) fn decode_pipeline(item: &Item) -> Result<(Pipeline, i64)> {
    let doc = get_s(item, "Doc").ok_or_else(|| Error::internal("a pipeline item has no document"))?;
    Ok((from_json(doc)?, get_n(item, "Running").unwrap_or(0)))
}

pub(super) fn callback_item(cb: &Callback, now: Timestamp) -> Result<Item> {
    let mut item = key(callback_key(&cb.delivery_id));
    item.insert("Kind".into(), s(KIND_CALLBACK));
    item.insert("DeliveryId".into(), s(&cb.delivery_id));
    item.insert("JobId".into(), s(cb.job_id.as_str()));
    item.insert("Target".into(), s(to_json(&cb.target)?));
    item.insert("Body".into(), s(&cb.body));
    if let Some(secret) = &cb.secret {
        item.insert("Secret".into(), s(secret));
    }
    item.insert("Attempts".into(), n(0));
    item.insert("Delivery".into(), s(CallbackState::Pending.as_str()));
    item.insert("Outbox".into(), s(OUTBOX));
    item.insert("Due".into(), n(now.millis()));
    Ok(item)
}

pub(super) fn decode_callback(item: &Item) -> Result<Callback> {
    let text = |name: &str| {
        get_s(item, name).ok_or_else(|| Error::internal(format!("a callback item has no {name}")))
    };
    let state = match get_s(item, "Delivery") {
        Some("Delivered") => CallbackState::Delivered,
        Some("GaveUp") => CallbackState::GaveUp,
        _ => CallbackState::Pending,
    };
    Ok(Callback {
        delivery_id: text("DeliveryId")?.to_owned(),
        job_id: JobId::parse(text("JobId")?)?,
        target: from_json::<NotifyTarget>(text("Target")?)?,
        body: text("Body")?.to_owned(),
        secret: get_s(item, "Secret").map(str::to_owned),
        attempts: get_n(item, "Attempts").unwrap_or(0).max(0) as u32,
        state,
        last_error: get_s(item, "LastError").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use iprod_core::Priority;

    #[test]
    fn rank_orders_by_priority_then_arrival() {
        let mut early = Job::example();
        early.create_time = Timestamp::from_millis(1_000);
        let mut late_urgent = early.clone();
        late_urgent.create_time = Timestamp::from_millis(9_000);
        late_urgent.priority = Priority::parse("10").unwrap();
        let mut later = early.clone();
        later.create_time = Timestamp::from_millis(2_000);
        let mut ranks = [rank(&later), rank(&early), rank(&late_urgent)];
        ranks.sort();
        assert_eq!(ranks, [rank(&late_urgent), rank(&early), rank(&later)]);
    }

    #[test]
    fn page_tokens_are_checked() {
        let token = created(Timestamp::from_millis(1_700_000_000_000), &"a".repeat(32));
        assert_eq!(parse_page_token(&token).unwrap(), token);
        assert_eq!(parse_page_token("12#zz").unwrap_err().code(), "InvalidParameter.NextPageToken");
    }

    #[test]
    fn a_job_round_trips_and_heartbeat_progress_wins() {
        let job = Job::example();
        let mut item = job_item(&job).unwrap();
        assert_eq!(decode_job(&item).unwrap(), job);
        item.insert("Progress".into(), n(42));
        assert_eq!(decode_job(&item).unwrap().progress, 42);
    }
}
