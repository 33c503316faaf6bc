//! The job service's use-cases over the ports: submit, query, list, cancel, pipelines.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::catalog;
use crate::error::{Error, Result};
use crate::function::FunctionName;
use crate::job::{Job, JobId, JobState, Priority};
use crate::notify::{NotifyTarget, WebhookPolicy};
use crate::object_url::{BucketAllowList, ObjectUrl};
use crate::outbox::callbacks_for;
use crate::params::JobParams;
use crate::pipeline::{self, Pipeline, PipelineId, PipelineState};
use crate::ports::{
    Callback, JobPage, JobQuery, JobStore, PipelinePage, PipelineQuery, PipelineUpdate, Queue,
};
use crate::route::FleetRoutes;
use crate::signing;
use crate::template::OutputTemplate;
use crate::tenant::{Scope, SubmitRates, TenantPolicy};
use crate::time::Timestamp;

pub const MAX_USER_DATA_BYTES: usize = 1024;
pub const MAX_CLIENT_TOKEN_CHARS: usize = 64;
pub const MAX_QUERY_IDS: usize = 100;
pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 100;

/// What the service lets jobs touch, and how much it holds.
#[derive(Debug, Clone)]
pub struct ServicePolicy {
    pub allowed_buckets: BucketAllowList,
    pub webhooks: WebhookPolicy,
    pub max_pipelines: usize,
    /// What each tenant may do; a tenant not named here gets `TenantPolicy::default()`.
    pub tenants: HashMap<String, TenantPolicy>,
    /// A deployment with a worker fleet: which jobs run there (recorded on each job).
    pub fleet_routes: Option<FleetRoutes>,
}

impl Default for ServicePolicy {
    fn default() -> Self {
        Self {
            allowed_buckets: BucketAllowList::default(),
            webhooks: WebhookPolicy::default(),
            max_pipelines: pipeline::DEFAULT_MAX_PIPELINES,
            tenants: HashMap::new(),
            fleet_routes: None,
        }
    }
}

/// `SubmitIProductionJob` parameters as received (strings, validated here).
#[derive(Debug, Clone, Default)]
pub struct SubmitRequest {
    pub function_name: Option<String>,
    pub model_id: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub job_params: Option<String>,
    pub pipeline_id: Option<String>,
    pub user_data: Option<String>,
    pub notify_url: Option<String>,
    pub notify_secret: Option<String>,
    pub priority: Option<String>,
    pub client_token: Option<String>,
}

/// `AddPipeline` parameters.
#[derive(Debug, Clone, Default)]
pub struct NewPipeline {
    pub name: Option<String>,
    pub concurrency: Option<String>,
    pub state: Option<String>,
    pub notify_url: Option<String>,
    pub secret: Option<String>,
}

pub struct JobService {
    store: Arc<dyn JobStore>,
    queue: Arc<dyn Queue>,
    policy: ServicePolicy,
    rates: SubmitRates,
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::missing_parameter(field)),
    }
}

/// `MaxResults` and `NextPageToken` of a listing.
fn page_request(max_results: Option<&str>, page_token: Option<&str>) -> Result<(usize, Option<String>)> {
    let max_results = match max_results.map(str::trim).filter(|v| !v.is_empty()) {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n @ 1..=MAX_PAGE_SIZE) => n,
            _ => {
                return Err(Error::invalid_parameter(
                    "MaxResults",
                    format!("MaxResults {raw:?} must be an integer from 1 to {MAX_PAGE_SIZE}"),
                ));
            }
        },
    };
    Ok((max_results, page_token.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)))
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl JobService {
    pub fn new(store: Arc<dyn JobStore>, queue: Arc<dyn Queue>, policy: ServicePolicy) -> Self {
        Self { store, queue, policy, rates: SubmitRates::default() }
    }

    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }

    pub fn policy(&self) -> &ServicePolicy {
        &self.policy
    }

    /// Validates everything before writing anything: a rejected submit leaves no trace.
    pub async fn submit(&self, request: SubmitRequest, now: Timestamp, scope: &Scope) -> Result<Job> {
        if let Some(tenant) = scope.tenant() {
            self.rates.take(tenant, self.tenant_policy(tenant).submits_per_second)?;
        }
        let job = self.validate_submit(&request, now, scope).await?;
        let new_id = job.id.clone();
        let stored = self.store.create_job(job).await?;
        if stored.state == JobState::Queuing
            && let Err(e) = self.queue.announce(&stored, Duration::ZERO).await
        {
            // Unannounced, the job would never start: undo it (an earlier job returned for the
            // same ClientToken keeps its own announcement and stays).
            if stored.id == new_id {
                self.store.withdraw_job(&stored).await?;
            }
            return Err(e);
        }
        Ok(stored)
    }

    async fn validate_submit(&self, request: &SubmitRequest, now: Timestamp, scope: &Scope) -> Result<Job> {
        let function: FunctionName = required(&request.function_name, "FunctionName")?.parse()?;
        let input_raw = required(&request.input, "Input")?;
        let input = ObjectUrl::parse("Input", input_raw)?;
        self.check_bucket("Input", &input, scope)?;
        let output_raw = required(&request.output, "Output")?;
        let template = OutputTemplate::parse(output_raw)?;
        let output =
            ObjectUrl { bucket: template.bucket().to_owned(), key: template.key_template().to_owned() };
        self.check_bucket("Output", &output, scope)?;
        // The longest key this job can write (a late timestamp, a two-digit sequence number)
        // must be a key the storage takes: found now, not after the work, as a storage error.
        template.expand(&input, now.unix_seconds(), 99, 100)?;
        let job_params = request.job_params.clone().unwrap_or_default();
        let params = JobParams::parse(function, &job_params)?;
        let model_id = catalog::resolve_model(function, non_empty(&request.model_id).unwrap_or(""))?;
        catalog::check_output(function, &params, &template)?;
        let user_data = request.user_data.clone().filter(|u| !u.is_empty());
        if let Some(u) = &user_data
            && u.len() > MAX_USER_DATA_BYTES
        {
            return Err(Error::invalid_parameter(
                "UserData",
                format!("UserData is {} bytes; the limit is {MAX_USER_DATA_BYTES}", u.len()),
            ));
        }
        let (notify_url, target) = match non_empty(&request.notify_url) {
            Some(url) => {
                (Some(url.to_owned()), Some(NotifyTarget::parse("NotifyUrl", url, &self.policy.webhooks)?))
            }
            None => (None, None),
        };
        let notify_secret = non_empty(&request.notify_secret).map(str::to_owned);
        if let Some(secret) = &notify_secret {
            if !matches!(target, Some(NotifyTarget::Webhook(_))) {
                return Err(Error::invalid_parameter(
                    "NotifySecret",
                    "NotifySecret signs webhooks: give it with an http(s) NotifyUrl, or leave it out",
                ));
            }
            signing::check_secret("NotifySecret", secret)?;
        }
        let priority = non_empty(&request.priority).map(Priority::parse).transpose()?.unwrap_or_default();
        let client_token = non_empty(&request.client_token).map(str::to_owned);
        if let Some(t) = &client_token
            && (t.chars().count() > MAX_CLIENT_TOKEN_CHARS || t.chars().any(char::is_control))
        {
            return Err(Error::invalid_parameter(
                "ClientToken",
                format!("ClientToken must be at most {MAX_CLIENT_TOKEN_CHARS} printable characters"),
            ));
        }
        let pipeline_id = PipelineId::parse(request.pipeline_id.as_deref().unwrap_or(""))?;
        self.visible_pipeline(&pipeline_id, scope).await?;
        // Each tenant's tokens are its own: the same token from two tenants makes two jobs.
        let client_token = client_token.map(|t| scope.client_token(&t));
        let mut job = Job {
            id: JobId::generate(),
            function,
            model_id,
            input: input_raw.to_owned(),
            output: output_raw.to_owned(),
            job_params,
            pipeline_id,
            user_data,
            notify_url,
            notify_secret,
            priority,
            client_token,
            state: JobState::Queuing,
            progress: 0,
            result: None,
            output_files: Vec::new(),
            error: None,
            attempts: 0,
            not_before: None,
            create_time: now,
            start_time: None,
            finish_time: None,
            tenant: scope.tenant().map(str::to_owned),
            runner: None,
        };
        job.runner = self.policy.fleet_routes.as_ref().map(|routes| routes.runner_for(&job));
        Ok(job)
    }

    /// Refuses `url` unless its bucket is one this service serves and, for a tenant, one of its
    /// own; `field` names the request field in the error.
    pub fn check_bucket(&self, field: &str, url: &ObjectUrl, scope: &Scope) -> Result<()> {
        self.policy.allowed_buckets.check(field, url)?;
        if let Some(tenant) = scope.tenant() {
            let own = &self.tenant_policy(tenant).buckets;
            if !own.is_empty() {
                BucketAllowList::new(own.iter().cloned()).check(field, url)?;
            }
        }
        Ok(())
    }

    /// The buckets `scope` may read and write, sorted.
    pub fn buckets_of(&self, scope: &Scope) -> Vec<String> {
        let own = scope.tenant().map(|t| self.tenant_policy(t).buckets).unwrap_or_default();
        self.policy
            .allowed_buckets
            .iter()
            .filter(|b| own.is_empty() || own.iter().any(|o| o == b))
            .map(str::to_owned)
            .collect()
    }

    fn tenant_policy(&self, tenant: &str) -> TenantPolicy {
        self.policy.tenants.get(tenant).cloned().unwrap_or_default()
    }

    /// The pipeline if `scope` may see (and submit into) it; another tenant's is as missing.
    async fn visible_pipeline(&self, id: &PipelineId, scope: &Scope) -> Result<Pipeline> {
        self.store.pipeline(id).await?.filter(|p| scope.sees_pipeline(p)).ok_or_else(|| {
            Error::not_found(
                "Pipeline",
                format!(
                    "PipelineId {id:?} does not exist: create it with AddPipeline or leave PipelineId empty for the default pipeline",
                    id = id.as_str()
                ),
            )
        })
    }

    /// The pipeline if `scope` may change it.
    async fn owned_pipeline(&self, id: &PipelineId, scope: &Scope) -> Result<Pipeline> {
        self.store.pipeline(id).await?.filter(|p| scope.owns_pipeline(p)).ok_or_else(|| pipeline::missing(id))
    }

    pub async fn query(&self, raw_id: Option<&str>, scope: &Scope) -> Result<Job> {
        let raw = raw_id
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::missing_parameter("JobId"))?;
        let id = JobId::parse(raw)?;
        // Another tenant's job is answered exactly as a missing one.
        self.store
            .job(&id)
            .await?
            .filter(|job| scope.sees(job.tenant.as_deref()))
            .ok_or_else(|| Error::not_found("Job", format!("JobId {raw} does not exist")))
    }

    /// `QueryIProductionJobList`: the jobs found, and the ids that do not exist, in request order.
    pub async fn query_list(&self, raw_ids: Option<&str>, scope: &Scope) -> Result<(Vec<Job>, Vec<String>)> {
        let raw = raw_ids
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::missing_parameter("JobIds"))?;
        let requested: Vec<&str> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if requested.len() > MAX_QUERY_IDS {
            return Err(Error::invalid_parameter(
                "JobIds",
                format!("JobIds lists {} ids; at most {MAX_QUERY_IDS} per call", requested.len()),
            ));
        }
        let ids: Vec<JobId> = requested.iter().filter_map(|r| JobId::parse(r).ok()).collect();
        let mut found = self.store.jobs(&ids).await?;
        found.retain(|job| scope.sees(job.tenant.as_deref()));
        let mut jobs = Vec::new();
        let mut missing = Vec::new();
        for r in requested {
            match found.iter().find(|j| j.id.as_str() == r) {
                Some(job) => jobs.push(job.clone()),
                None => missing.push(r.to_owned()),
            }
        }
        Ok((jobs, missing))
    }

    pub async fn list(
        &self,
        pipeline_id: Option<&str>,
        state: Option<&str>,
        max_results: Option<&str>,
        page_token: Option<&str>,
        scope: &Scope,
    ) -> Result<JobPage> {
        let pipeline_id = match pipeline_id.map(str::trim).filter(|v| !v.is_empty()) {
            Some(raw) => {
                let id = PipelineId::parse(raw)?;
                self.visible_pipeline(&id, scope).await?;
                Some(id)
            }
            None => None,
        };
        let state = state.map(str::trim).filter(|v| !v.is_empty()).map(str::parse::<JobState>).transpose()?;
        let (max_results, page_token) = page_request(max_results, page_token)?;
        let tenant = scope.tenant().map(str::to_owned);
        self.store.list_jobs(&JobQuery { pipeline_id, tenant, state, max_results, page_token }).await
    }

    /// Cancels a queued or running job (a running job's worker stops at its next heartbeat).
    pub async fn cancel(&self, raw_id: Option<&str>, now: Timestamp, scope: &Scope) -> Result<Job> {
        let mut job = self.query(raw_id, scope).await?;
        let before = job.state;
        if before.is_terminal() {
            return Err(Error::job_state_conflict(format!(
                "job {} is already {before} and cannot be cancelled",
                job.id
            )));
        }
        job.cancel(now)?;
        let pipeline = self.store.pipeline(&job.pipeline_id).await?;
        let callbacks = callbacks_for(&job, pipeline.as_ref());
        self.store.save_transition(&job, before, callbacks).await?;
        Ok(job)
    }

    pub async fn add_pipeline(
        &self,
        request: NewPipeline,
        now: Timestamp,
        scope: &Scope,
    ) -> Result<Pipeline> {
        let name = pipeline::parse_name(request.name.as_deref().unwrap_or(""))?;
        let concurrency = non_empty(&request.concurrency)
            .map(pipeline::parse_concurrency)
            .transpose()?
            .unwrap_or(pipeline::DEFAULT_CONCURRENCY);
        let state =
            non_empty(&request.state).map(PipelineState::parse).transpose()?.unwrap_or(PipelineState::Active);
        let notify = non_empty(&request.notify_url)
            .map(|u| NotifyTarget::parse("NotifyUrl", u, &self.policy.webhooks))
            .transpose()?;
        let pipeline = Pipeline {
            id: PipelineId::generate(),
            name,
            state,
            concurrency,
            notify,
            secret: non_empty(&request.secret)
                .map(|s| signing::check_secret("Secret", s).map(|()| s.to_owned()))
                .transpose()?,
            create_time: now,
            tenant: scope.tenant().map(str::to_owned),
        };
        self.store.create_pipeline(pipeline.clone(), self.policy.max_pipelines).await?;
        Ok(pipeline)
    }

    pub async fn update_pipeline(
        &self,
        raw_id: Option<&str>,
        request: NewPipeline,
        scope: &Scope,
    ) -> Result<Pipeline> {
        let raw = raw_id
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::missing_parameter("PipelineId"))?;
        let id = PipelineId::parse(raw)?;
        self.owned_pipeline(&id, scope).await?;
        let update = PipelineUpdate {
            name: request.name.as_deref().map(pipeline::parse_name).transpose()?,
            state: non_empty(&request.state).map(PipelineState::parse).transpose()?,
            concurrency: non_empty(&request.concurrency).map(pipeline::parse_concurrency).transpose()?,
            // An empty NotifyUrl removes the target; an absent one leaves it.
            notify: match request.notify_url.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(url) => Some(Some(NotifyTarget::parse("NotifyUrl", url, &self.policy.webhooks)?)),
            },
            // An empty Secret stops signing; an absent one leaves it.
            secret: match request.secret.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(s) => Some(Some(signing::check_secret("Secret", s).map(|()| s.to_owned())?)),
            },
        };
        let updated = self.store.update_pipeline(&id, update).await?;
        // A resumed pipeline or a raised concurrency may let queued jobs start now.
        self.queue.pipeline_changed(&updated).await?;
        Ok(updated)
    }

    /// `QueryPipelineList`: the pipelines named in `PipelineIds` (and the ids that do not exist),
    /// or without ids every pipeline, a page at a time.
    pub async fn query_pipelines(
        &self,
        raw_ids: Option<&str>,
        max_results: Option<&str>,
        page_token: Option<&str>,
        scope: &Scope,
    ) -> Result<(PipelinePage, Vec<String>)> {
        let requested: Vec<&str> =
            raw_ids.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if requested.is_empty() {
            let (max_results, page_token) = page_request(max_results, page_token)?;
            let tenant = scope.tenant().map(str::to_owned);
            let page = self.store.list_pipelines(&PipelineQuery { tenant, max_results, page_token }).await?;
            return Ok((page, Vec::new()));
        }
        if requested.len() > MAX_QUERY_IDS {
            return Err(Error::invalid_parameter(
                "PipelineIds",
                format!(
                    "PipelineIds names {} pipelines: ask for at most {MAX_QUERY_IDS} at a time",
                    requested.len()
                ),
            ));
        }
        let ids = requested.iter().map(|r| PipelineId::parse(r)).collect::<Result<Vec<_>>>()?;
        let mut found = self.store.pipelines(&ids).await?;
        found.retain(|p| scope.sees_pipeline(p));
        let missing = requested
            .iter()
            .filter(|r| !found.iter().any(|p| p.id.as_str() == **r))
            .map(|r| (*r).to_owned())
            .collect();
        Ok((PipelinePage { pipelines: found, next_page_token: None }, missing))
    }

    /// `DeletePipeline`: refused for the default pipeline and while the pipeline has queued or
    /// running jobs; its finished jobs stay queryable.
    pub async fn delete_pipeline(&self, raw_id: Option<&str>, scope: &Scope) -> Result<Pipeline> {
        let raw = raw_id
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::missing_parameter("PipelineId"))?;
        let id = PipelineId::parse(raw)?;
        if id == PipelineId::default_pipeline() {
            return Err(Error::invalid_parameter(
                "PipelineId",
                "the default pipeline cannot be deleted: jobs without a PipelineId run in it (pause it instead)",
            ));
        }
        self.owned_pipeline(&id, scope).await?;
        self.store.delete_pipeline(&id).await
    }

    pub async fn callbacks_of(&self, job: &Job) -> Result<Vec<Callback>> {
        self.store.callbacks_of(&job.id).await
    }
}
