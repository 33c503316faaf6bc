//! `JobStore` on DynamoDB. Every state change is conditional on the state and attempt the caller
//! saw; a claim takes a pipeline slot (`Running < Concurrency`) in the same transaction that
//! starts the job, and a terminal state gives the slot back in the transaction that writes its
//! callbacks, so a pipeline's Concurrency holds across any number of function instances.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use iprod_core::pipeline;
use iprod_core::ports::{
    Callback, CallbackState, Claim, DeliveryOutcome, JobPage, JobQuery, JobStore, PipelinePage,
    PipelineQuery, PipelineUpdate,
};
use iprod_core::{Error, Job, JobId, JobState, Pipeline, PipelineId, PipelineState, Result, Timestamp};

use super::items::*;
use super::schema::{
    BY_JOB, BY_KIND, BY_PIPELINE, EXPIRES, LEASES, OUTBOX as OUTBOX_INDEX, WAITING as WAITING_INDEX,
};
use super::table::{IndexQuery, Table};

#[derive(Clone, Debug)]
pub struct DynamoStore {
    table: Table,
    /// How long finished jobs, their callbacks and client tokens are kept (DynamoDB's TTL
    /// deletes them after); `None` keeps them.
    retention: Option<Duration>,
    /// Tenants' running-job limits (`max_running` > 0 only): a claim takes a slot of the
    /// tenant's item (`tenant#NAME`, `Running`) besides the pipeline's, in the same transaction.
    tenant_limits: HashMap<String, u32>,
}

/// A condition failed on this item of the transaction.
fn failed(reasons: &[Option<String>], index: usize) -> bool {
    reasons.get(index).is_some_and(|r| r.as_deref() == Some("ConditionalCheckFailed"))
}

/// The first `max` of `items` (queried one more than a page, to know whether another follows)
/// and the next page's token: the last item's sort key.
fn page_of(items: &[Item], max: usize) -> (&[Item], Option<String>) {
    let page = &items[..items.len().min(max)];
    let next = if items.len() > max { page.last().and_then(|item| get_s(item, "Created")) } else { None };
    (page, next.map(str::to_owned))
}

fn conflict(job: &Job, expected: JobState) -> Error {
    Error::job_state_conflict(format!(
        "job {} changed meanwhile (expected {expected} at attempt {})",
        job.id, job.attempts
    ))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { table: Table { client, name: table.into() }, retention: None, tenant_limits: HashMap::new() }
    }

    pub fn with_tenant_limits(mut self, limits: HashMap<String, u32>) -> Self {
        self.tenant_limits = limits;
        self
    }

    /// The running-job limit of `job`'s tenant, if it has one.
    fn tenant_limit<'a>(&self, job: &'a Job) -> Option<(&'a str, u32)> {
        let tenant = job.tenant.as_deref()?;
        self.tenant_limits.get(tenant).map(|max| (tenant, *max)).filter(|(_, max)| *max > 0)
    }

    /// Whether the job's running attempt took a slot of its tenant (`TenantSlot` on its item:
    /// set by the claim, removed with the slot's return; a limit set while the job ran took none).
    async fn holds_tenant_slot(&self, id: &JobId) -> Result<bool> {
        Ok(self.table.get(id.as_str()).await?.is_some_and(|i| i.contains_key("TenantSlot")))
    }

    pub fn with_retention(mut self, retention: Option<Duration>) -> Self {
        self.retention = retention;
        self
    }

    /// The `Expires` value of a record of a job that finished at `finished`.
    fn expiry(&self, finished: Timestamp) -> Option<aws_sdk_dynamodb::types::AttributeValue> {
        self.retention.map(|keep| n(finished.plus(keep).unix_seconds()))
    }

    /// Creates the default pipeline if it does not exist yet (each cold start may ask).
    pub async fn ensure_default_pipeline(&self, concurrency: u32) -> Result<()> {
        let mut default = Pipeline::default_pipeline(Timestamp::now());
        default.concurrency = concurrency;
        self.table.put_new(pipeline_item(&default)?).await?;
        Ok(())
    }

    /// The pipeline and the number of running slots it holds.
    pub async fn pipeline_slots(&self, id: &PipelineId) -> Result<Option<(Pipeline, i64)>> {
        self.table.get(&pipeline_key(id)).await?.map(|item| decode_pipeline(&item)).transpose()
    }

    /// Up to `max` queued jobs' items, most urgent first.
    async fn waiting(&self, max: usize) -> Result<Vec<Item>> {
        let query = IndexQuery::on(WAITING_INDEX.name, "#Waiting = :w", vec![(":w", s(WAITING))]);
        self.query_all(query.page_size(100), max).await
    }

    /// Every page of an index query with a fixed condition.
    async fn query_all(&self, mut query: IndexQuery<'_>, max: usize) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            let (page, next) = self
                .table
                .query(IndexQuery {
                    index: query.index,
                    condition: query.condition,
                    values: query.values.clone(),
                    filter: query.filter,
                    forward: query.forward,
                    limit: query.limit,
                    start: query.start.take(),
                })
                .await?;
            items.extend(page);
            match next {
                Some(next) if items.len() < max => query.start = Some(next),
                _ => break,
            }
        }
        items.truncate(max);
        Ok(items)
    }

    async fn existing_token(&self, token: &str) -> Result<Job> {
        let item = self
            .table
            .get(&token_key(token))
            .await?
            .ok_or_else(|| Error::internal("a client token vanished while its job was being created"))?;
        let id = get_s(&item, "JobId").ok_or_else(|| Error::internal("a client token names no job"))?;
        self.job(&JobId::parse(id)?)
            .await?
            .ok_or_else(|| Error::internal(format!("client token {token:?} names a missing job")))
    }

    /// Why a claim of a queued job in `pipeline` did not start it.
    async fn blocked(&self, pipeline: &PipelineId) -> Result<Claim> {
        match self.pipeline_slots(pipeline).await? {
            None => Err(Error::internal(format!("a job names the missing pipeline {}", pipeline.as_str()))),
            Some((p, _)) if p.state == PipelineState::Paused => Ok(Claim::PipelinePaused),
            Some(_) => Ok(Claim::PipelineFull),
        }
    }

    async fn claim_job(&self, job: Job, now: Timestamp, lease: Duration) -> Result<Claim> {
        if job.state != JobState::Queuing {
            return Ok(Claim::NotQueued);
        }
        let previous_attempts = job.attempts;
        let mut started = job;
        started.start(now)?;
        started.not_before = None;
        let take_slot = self.table.update_item(
            &pipeline_key(&started.pipeline_id),
            "SET #Running = #Running + :one",
            Some("#State = :active AND #Running < #Concurrency"),
            vec![(":one", n(1)), (":active", s(PipelineState::Active.as_str()))],
        )?;
        let tenant = self.tenant_limit(&started);
        let mut values = vec![
            (":analysing", s(JobState::Analysing.as_str())),
            (":attempts", n(started.attempts)),
            (":doc", job_doc(&started)?),
            (":leased", s(LEASED)),
            (":until", n(now.plus(lease).millis())),
            (":queuing", s(JobState::Queuing.as_str())),
            (":previous", n(previous_attempts)),
        ];
        let slot = match tenant {
            Some((name, _)) => {
                values.push((":slot", s(name)));
                ", #TenantSlot = :slot"
            }
            None => "",
        };
        let start = self.table.update_item(
            started.id.as_str(),
            &format!(
                "SET #State = :analysing, #Attempts = :attempts, #Doc = :doc, #Leased = :leased, \
                 #LeaseUntil = :until{slot} REMOVE #Waiting, #Rank, #Progress"
            ),
            Some("#State = :queuing AND #Attempts = :previous"),
            values,
        )?;
        let mut writes = vec![take_slot, start];
        if let Some((name, max)) = tenant {
            writes.push(self.table.update_item(
                &tenant_key(name),
                "SET #Running = if_not_exists(#Running, :zero) + :one",
                Some("attribute_not_exists(#Running) OR #Running < :max"),
                vec![(":zero", n(0)), (":one", n(1)), (":max", n(max))],
            )?);
        }
        match self.table.transact(writes).await? {
            Ok(()) => Ok(Claim::Started(Box::new(started))),
            Err(reasons) if failed(&reasons, 1) => Ok(Claim::NotQueued),
            // The tenant runs as many as it may: like a full pipeline, the job waits.
            Err(reasons) if failed(&reasons, 0) || failed(&reasons, 2) => {
                self.blocked(&started.pipeline_id).await
            }
            // No reasons given (some emulators): find out from the records themselves.
            Err(_) => match self.job(&started.id).await? {
                Some(now) if now.state == JobState::Queuing && now.attempts == previous_attempts => {
                    self.blocked(&started.pipeline_id).await
                }
                _ => Ok(Claim::NotQueued),
            },
        }
    }
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn create_job(&self, job: Job) -> Result<Job> {
        // The pipeline must exist and not be on its way out (`delete_pipeline` marks it first),
        // in the same transaction as the job.
        let mut writes = vec![self.table.check_item(
            &pipeline_key(&job.pipeline_id),
            "attribute_exists(#Id) AND attribute_not_exists(#Deleting)",
            vec![],
        )?];
        if let Some(token) = &job.client_token {
            let mut claim_token = key(token_key(token));
            claim_token.insert("JobId".into(), s(job.id.as_str()));
            writes.push(self.table.put_item(claim_token)?);
        }
        writes.push(self.table.put_item(job_item(&job)?)?);
        match self.table.transact(writes).await? {
            Ok(()) => Ok(job),
            Err(reasons) if job.client_token.is_some() && failed(&reasons, 1) => {
                self.existing_token(job.client_token.as_deref().unwrap_or_default()).await
            }
            Err(reasons) if failed(&reasons, 0) => Err(Error::not_found(
                "Pipeline",
                format!("PipelineId {:?} does not exist (or is being deleted)", job.pipeline_id.as_str()),
            )),
            Err(reasons) => {
                Err(Error::transient("Database", format!("creating job {} failed: {reasons:?}", job.id)))
            }
        }
    }

    async fn withdraw_job(&self, job: &Job) -> Result<()> {
        let mut deletes = vec![self.table.delete_item(
            job.id.as_str(),
            "#State = :queuing AND #Attempts = :zero",
            vec![(":queuing", s(JobState::Queuing.as_str())), (":zero", n(0))],
        )?];
        if let Some(token) = &job.client_token {
            deletes.push(self.table.delete_item(
                &token_key(token),
                "#JobId = :job",
                vec![(":job", s(job.id.as_str()))],
            )?);
        }
        // A job that started meanwhile (or a token of another job) stays: nothing to undo.
        self.table.transact(deletes).await?.ok();
        Ok(())
    }

    async fn job(&self, id: &JobId) -> Result<Option<Job>> {
        self.table.get(id.as_str()).await?.map(|item| decode_job(&item)).transpose()
    }

    async fn jobs(&self, ids: &[JobId]) -> Result<Vec<Job>> {
        let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
        self.table.get_many(&ids).await?.iter().map(decode_job).collect()
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<JobPage> {
        let before = query.page_token.as_deref().map(parse_page_token).transpose()?;
        let (index, partition) = match &query.pipeline_id {
            Some(p) => (&BY_PIPELINE, s(p.as_str())),
            None => (&BY_KIND, s(KIND_JOB)),
        };
        let condition = match before {
            Some(_) => format!("#{} = :p AND #{} < :before", index.partition, index.sort.0),
            None => format!("#{} = :p", index.partition),
        };
        let mut values = vec![(":p", partition)];
        if let Some(before) = &before {
            values.push((":before", s(before)));
        }
        if let Some(state) = query.state {
            values.push((":state", s(state.as_str())));
        }
        if let Some(tenant) = &query.tenant {
            values.push((":tenant", s(tenant)));
        }
        let filter = match (query.state.is_some(), query.tenant.is_some()) {
            (true, true) => Some("#State = :state AND #Tenant = :tenant"),
            (true, false) => Some("#State = :state"),
            (false, true) => Some("#Tenant = :tenant"),
            (false, false) => None,
        };
        // One more than a page tells whether there is a next one.
        let wanted = query.max_results + 1;
        let items = self
            .query_all(
                IndexQuery {
                    index: index.name,
                    condition: &condition,
                    values,
                    filter,
                    forward: false,
                    limit: Some((wanted as i32).max(25)),
                    start: None,
                },
                wanted,
            )
            .await?;
        let (page, next_page_token) = page_of(&items, query.max_results);
        let jobs = page.iter().map(decode_job).collect::<Result<_>>()?;
        Ok(JobPage { jobs, next_page_token })
    }

    async fn claim(&self, id: &JobId, now: Timestamp, lease: Duration) -> Result<Claim> {
        match self.job(id).await? {
            Some(job) => self.claim_job(job, now, lease).await,
            None => Ok(Claim::NotQueued),
        }
    }

    async fn claim_next(&self, now: Timestamp, lease: Duration) -> Result<Option<Job>> {
        let waiting = self.waiting(500).await?;
        // Pipelines found full or paused in this pass are not asked again.
        let mut blocked: HashMap<String, bool> = HashMap::new();
        for item in &waiting {
            let job = decode_job(item)?;
            if job.not_before.is_some_and(|t| t > now) || blocked.contains_key(job.pipeline_id.as_str()) {
                continue;
            }
            match self.claim_job(job.clone(), now, lease).await? {
                Claim::Started(job) => return Ok(Some(*job)),
                Claim::PipelineFull | Claim::PipelinePaused => {
                    blocked.insert(job.pipeline_id.as_str().to_owned(), true);
                }
                Claim::NotQueued => {}
            }
        }
        Ok(None)
    }

    async fn heartbeat(
        &self,
        id: &JobId,
        attempt: u32,
        progress: u8,
        lease_until: Timestamp,
    ) -> Result<JobState> {
        let beat = self
            .table
            .update(
                id.as_str(),
                "SET #LeaseUntil = :until, #Progress = :progress",
                "#State = :analysing AND #Attempts = :attempt",
                vec![
                    (":until", n(lease_until.millis())),
                    (":progress", n(progress.min(100))),
                    (":analysing", s(JobState::Analysing.as_str())),
                    (":attempt", n(attempt)),
                ],
            )
            .await?;
        if beat {
            return Ok(JobState::Analysing);
        }
        let job = self
            .job(id)
            .await?
            .ok_or_else(|| Error::not_found("Job", format!("JobId {id} does not exist")))?;
        if job.attempts != attempt {
            return Err(Error::job_state_conflict(format!("attempt {attempt} of job {id} was superseded")));
        }
        Ok(job.state)
    }

    async fn save_transition(&self, job: &Job, expected: JobState, callbacks: Vec<Callback>) -> Result<()> {
        let now = Timestamp::now();
        // A finished job, its callbacks and its client token expire together.
        let expires =
            if job.state.is_terminal() { self.expiry(job.finish_time.unwrap_or(now)) } else { None };
        let mut values = vec![
            (":state", s(job.state.as_str())),
            (":attempts", n(job.attempts)),
            (":doc", job_doc(job)?),
            (":expected", s(expected.as_str())),
        ];
        let update = match job.state {
            JobState::Queuing => {
                values.push((":w", s(WAITING)));
                values.push((":rank", s(rank(job))));
                "SET #State = :state, #Attempts = :attempts, #Doc = :doc, #Waiting = :w, #Rank = :rank \
                 REMOVE #Leased, #LeaseUntil, #Progress"
            }
            JobState::Analysing => "SET #State = :state, #Attempts = :attempts, #Doc = :doc",
            _ => match expires.clone() {
                Some(at) => {
                    values.push((":expires", at));
                    "SET #State = :state, #Attempts = :attempts, #Doc = :doc, #Expires = :expires \
                     REMOVE #Waiting, #Rank, #Leased, #LeaseUntil, #Progress"
                }
                None => {
                    "SET #State = :state, #Attempts = :attempts, #Doc = :doc \
                     REMOVE #Waiting, #Rank, #Leased, #LeaseUntil, #Progress"
                }
            },
        };
        let leaves_running = expected == JobState::Analysing && job.state != JobState::Analysing;
        // The read and the transaction below cannot race: only a claim sets the mark, and the
        // transaction holds only while the job is still this attempt's.
        let tenant_slot = match job.tenant.as_deref() {
            Some(tenant) if leaves_running && self.holds_tenant_slot(&job.id).await? => Some(tenant),
            _ => None,
        };
        let update = match tenant_slot {
            Some(_) if update.contains(" REMOVE ") => format!("{update}, #TenantSlot"),
            Some(_) => format!("{update} REMOVE #TenantSlot"),
            None => update.to_owned(),
        };
        let mut writes = vec![self.table.update_item(
            job.id.as_str(),
            &update,
            Some("#State = :expected AND #Attempts = :attempts"),
            values,
        )?];
        if leaves_running {
            writes.push(self.table.update_item(
                &pipeline_key(&job.pipeline_id),
                "SET #Running = #Running - :one",
                None,
                vec![(":one", n(1))],
            )?);
        }
        if let Some(tenant) = tenant_slot {
            writes.push(self.table.update_item(
                &tenant_key(tenant),
                "SET #Running = #Running - :one",
                None,
                vec![(":one", n(1))],
            )?);
        }
        for cb in &callbacks {
            let mut item = callback_item(cb, now)?;
            if let Some(at) = &expires {
                item.insert(EXPIRES.into(), at.clone());
            }
            writes.push(self.table.put_item(item)?);
        }
        if let (Some(at), Some(token)) = (&expires, &job.client_token) {
            writes.push(self.table.update_item(
                &token_key(token),
                "SET #Expires = :expires",
                Some("attribute_exists(#Id)"),
                vec![(":expires", at.clone())],
            )?);
        }
        match self.table.transact(writes).await? {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(conflict(job, expected)),
            Err(reasons) => {
                Err(Error::transient("Database", format!("recording job {} failed: {reasons:?}", job.id)))
            }
        }
    }

    async fn expired_leases(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>> {
        let items = self
            .query_all(
                IndexQuery::on(
                    LEASES.name,
                    "#Leased = :leased AND #LeaseUntil < :now",
                    vec![(":leased", s(LEASED)), (":now", n(now.millis()))],
                )
                .page_size(limit),
                limit,
            )
            .await?;
        items.iter().map(decode_job).collect()
    }

    async fn create_pipeline(&self, pipeline: Pipeline, limit: usize) -> Result<()> {
        let count = self.table.update_item(
            PIPELINE_COUNT_KEY,
            "SET #Count = if_not_exists(#Count, :zero) + :one",
            Some("attribute_not_exists(#Count) OR #Count < :limit"),
            vec![(":zero", n(0)), (":one", n(1)), (":limit", n(limit))],
        )?;
        match self.table.transact(vec![count, self.table.put_item(pipeline_item(&pipeline)?)?]).await? {
            Ok(()) => Ok(()),
            Err(reasons) if failed(&reasons, 0) => Err(pipeline::quota_exceeded(limit)),
            Err(reasons) if failed(&reasons, 1) => {
                Err(Error::internal(format!("pipeline id {} exists already", pipeline.id.as_str())))
            }
            Err(reasons) => {
                Err(Error::transient("Database", format!("adding a pipeline failed: {reasons:?}")))
            }
        }
    }

    async fn pipeline(&self, id: &PipelineId) -> Result<Option<Pipeline>> {
        Ok(self.pipeline_slots(id).await?.map(|(p, _)| p))
    }

    async fn pipelines(&self, ids: &[PipelineId]) -> Result<Vec<Pipeline>> {
        let keys: Vec<String> = ids.iter().map(pipeline_key).collect();
        let mut items = self.table.get_many(&keys).await?;
        // Batch reads come back in any order: keep the request's.
        items.sort_by_key(|item| keys.iter().position(|k| get_s(item, "Id") == Some(k.as_str())));
        items.iter().map(|item| decode_pipeline(item).map(|(p, _)| p)).collect()
    }

    async fn list_pipelines(&self, query: &PipelineQuery) -> Result<PipelinePage> {
        let after = query.page_token.as_deref().map(parse_page_token).transpose()?;
        let condition = if after.is_some() { "#Kind = :k AND #Created > :after" } else { "#Kind = :k" };
        let mut values = vec![(":k", s(KIND_PIPELINE))];
        if let Some(after) = &after {
            values.push((":after", s(after)));
        }
        // A tenant's own pipelines and the default one.
        if let Some(tenant) = &query.tenant {
            values.push((":tenant", s(tenant)));
            values.push((":default", s(pipeline_key(&PipelineId::default_pipeline()))));
        }
        let filter = query.tenant.as_ref().map(|_| "#Tenant = :tenant OR #Id = :default");
        let wanted = query.max_results + 1;
        let items = self
            .query_all(
                IndexQuery {
                    index: BY_KIND.name,
                    condition,
                    values,
                    filter,
                    forward: true,
                    limit: Some(wanted as i32),
                    start: None,
                },
                wanted,
            )
            .await?;
        let (page, next_page_token) = page_of(&items, query.max_results);
        let pipelines =
            page.iter().map(|item| decode_pipeline(item).map(|(p, _)| p)).collect::<Result<_>>()?;
        Ok(PipelinePage { pipelines, next_page_token })
    }

    async fn update_pipeline(&self, id: &PipelineId, update: PipelineUpdate) -> Result<Pipeline> {
        let mut p = self.pipeline(id).await?.ok_or_else(|| {
            Error::not_found("Pipeline", format!("PipelineId {:?} does not exist", id.as_str()))
        })?;
        update.apply(&mut p);
        // The running-slot counter is not touched: claims in flight keep their slots.
        let written = self
            .table
            .update(
                &pipeline_key(id),
                "SET #Doc = :doc, #State = :state, #Concurrency = :concurrency",
                "attribute_exists(#Id)",
                vec![
                    (":doc", pipeline_doc(&p)?),
                    (":state", s(p.state.as_str())),
                    (":concurrency", n(p.concurrency)),
                ],
            )
            .await?;
        if !written {
            return Err(Error::not_found("Pipeline", format!("PipelineId {:?} does not exist", id.as_str())));
        }
        Ok(p)
    }

    async fn delete_pipeline(&self, id: &PipelineId) -> Result<Pipeline> {
        let item_key = pipeline_key(id);
        // First close it to submits (they check the mark in their transaction), then look for
        // unfinished jobs: none can appear after the mark.
        let marked = self
            .table
            .update(&item_key, "SET #Deleting = :yes", "attribute_exists(#Id)", vec![(":yes", n(1))])
            .await?;
        if !marked {
            return Err(pipeline::missing(id));
        }
        let unfinished = self
            .query_all(
                IndexQuery {
                    filter: Some("#State IN (:queuing, :running)"),
                    ..IndexQuery::on(
                        BY_PIPELINE.name,
                        "#Pipeline = :p",
                        vec![
                            (":p", s(id.as_str())),
                            (":queuing", s(JobState::Queuing.as_str())),
                            (":running", s(JobState::Analysing.as_str())),
                        ],
                    )
                },
                1000,
            )
            .await?;
        if !unfinished.is_empty() {
            self.table.update(&item_key, "REMOVE #Deleting", "attribute_exists(#Id)", vec![]).await?;
            return Err(pipeline::busy(id, unfinished.len() as u64));
        }
        let (deleted, _) = self.pipeline_slots(id).await?.ok_or_else(|| pipeline::missing(id))?;
        let writes = vec![
            self.table.delete_item(&item_key, "attribute_exists(#Id)", vec![])?,
            self.table.update_item(
                PIPELINE_COUNT_KEY,
                "SET #Count = if_not_exists(#Count, :one) - :one",
                None,
                vec![(":one", n(1))],
            )?,
        ];
        match self.table.transact(writes).await? {
            Ok(()) => Ok(deleted),
            Err(reasons) if failed(&reasons, 0) => Err(pipeline::missing(id)),
            Err(reasons) => {
                Err(Error::transient("Database", format!("deleting a pipeline failed: {reasons:?}")))
            }
        }
    }

    async fn due_callbacks(&self, now: Timestamp, limit: usize) -> Result<Vec<Callback>> {
        let items = self
            .query_all(
                IndexQuery::on(
                    OUTBOX_INDEX.name,
                    "#Outbox = :pending AND #Due <= :now",
                    vec![(":pending", s(OUTBOX)), (":now", n(now.millis()))],
                )
                .page_size(limit),
                limit,
            )
            .await?;
        items.iter().map(decode_callback).collect()
    }

    async fn record_delivery(&self, delivery_id: &str, outcome: DeliveryOutcome) -> Result<()> {
        let pending = s(CallbackState::Pending.as_str());
        let (update, values) = match outcome {
            DeliveryOutcome::Delivered => (
                "SET #Delivery = :state, #Attempts = #Attempts + :one REMOVE #Outbox, #Due",
                vec![(":state", s(CallbackState::Delivered.as_str()))],
            ),
            DeliveryOutcome::RetryAt { at, error } => (
                "SET #Due = :at, #LastError = :error, #Attempts = #Attempts + :one",
                vec![(":at", n(at.millis())), (":error", s(error))],
            ),
            DeliveryOutcome::GaveUp { error } => (
                "SET #Delivery = :state, #LastError = :error, #Attempts = #Attempts + :one REMOVE #Outbox, #Due",
                vec![(":state", s(CallbackState::GaveUp.as_str())), (":error", s(error))],
            ),
        };
        let mut values = values;
        values.push((":one", n(1)));
        values.push((":pending", pending));
        // Only a pending callback changes: a late duplicate report cannot undo a delivery.
        self.table.update(&callback_key(delivery_id), update, "#Delivery = :pending", values).await?;
        Ok(())
    }

    async fn callbacks_of(&self, job_id: &JobId) -> Result<Vec<Callback>> {
        let items = self
            .query_all(
                // A client token's item names its job too (it is in this index): only the
                // callback items are wanted.
                IndexQuery::on(
                    BY_JOB.name,
                    "#JobId = :job AND begins_with(#Id, :callbacks)",
                    vec![(":job", s(job_id.as_str())), (":callbacks", s(callback_key("")))],
                ),
                usize::MAX,
            )
            .await?;
        let mut callbacks = items.iter().map(decode_callback).collect::<Result<Vec<_>>>()?;
        callbacks.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
        Ok(callbacks)
    }

    /// One callback of the outbox, as it is now.
    async fn callback(&self, delivery_id: &str) -> Result<Option<Callback>> {
        self.table.get(&callback_key(delivery_id)).await?.map(|item| decode_callback(&item)).transpose()
    }

    async fn stale_queued(&self, now: Timestamp, older_than: Duration, limit: usize) -> Result<Vec<Job>> {
        let waiting = self.waiting(1000).await?;
        let cutoff = now.millis() - older_than.as_millis() as i64;
        let mut open: HashMap<String, bool> = HashMap::new();
        let mut stale = Vec::new();
        for item in &waiting {
            let job = decode_job(item)?;
            if job.not_before.unwrap_or(job.create_time).millis() > cutoff {
                continue;
            }
            let pipeline = job.pipeline_id.as_str().to_owned();
            if !open.contains_key(&pipeline) {
                let free = self.pipeline_slots(&job.pipeline_id).await?.is_some_and(|(p, running)| {
                    p.state == PipelineState::Active && running < i64::from(p.concurrency)
                });
                open.insert(pipeline.clone(), free);
            }
            if open[&pipeline] {
                stale.push(job);
                if stale.len() == limit {
                    break;
                }
            }
        }
        Ok(stale)
    }
}
