//! `JobStore` on SQLite. Claims, state changes and the callback outbox are single transactions
//! on the writer thread, so two workers can never claim one job and a terminal state is never
//! recorded without its callbacks.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use iprod_core::notify::NotifyTarget;
use iprod_core::pipeline;
use iprod_core::ports::{
    Callback, CallbackState, Claim, DeliveryOutcome, JobPage, JobQuery, JobStore, PipelinePage,
    PipelineQuery, PipelineUpdate,
};
use iprod_core::{Error, Job, JobId, JobState, Pipeline, PipelineId, PipelineState, Result, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::Notify;

use super::db::{Db, db_error};

#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    /// Signalled when callbacks are written, so the notifier sends them at once.
    callbacks_ready: Arc<Notify>,
    /// Pipelines change only through this store (the data root is locked to one process), so
    /// lookups on the submit path are served from memory.
    pipeline_cache: Arc<RwLock<HashMap<String, Pipeline>>>,
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal("cannot encode a record").with_source(e))
}

fn from_json<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T> {
    serde_json::from_str(raw)
        .map_err(|e| Error::internal("a stored record could not be decoded").with_source(e))
}

/// The first `max` rows (queried one more than a page, to know whether another follows) and the
/// next page's token: the last row's position.
fn page_of(rows: &[(i64, String)], max: usize) -> (&[(i64, String)], Option<String>) {
    let page = &rows[..rows.len().min(max)];
    let next = if rows.len() > max { page.last().map(|(at, _)| at.to_string()) } else { None };
    (page, next)
}

fn job_by_id(conn: &Connection, id: &str) -> Result<Option<Job>> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(db_error)?;
    body.map(|b| from_json(&b)).transpose()
}

fn pipeline_by_id(conn: &Connection, id: &str) -> Result<Option<Pipeline>> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM pipelines WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(db_error)?;
    body.map(|b| from_json(&b)).transpose()
}

fn running_in(conn: &Connection, pipeline_id: &str) -> Result<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM jobs WHERE pipeline_id = ?1 AND state = 'Analysing'",
        [pipeline_id],
        |r| r.get(0),
    )
    .map_err(db_error)
}

/// Whether the job's tenant already runs as many jobs as its limit allows.
fn tenant_full(conn: &Connection, job: &Job) -> Result<bool> {
    let Some(tenant) = &job.tenant else { return Ok(false) };
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tenant_limits l WHERE l.tenant = ?1
         AND l.max_running <= (SELECT COUNT(*) FROM jobs r WHERE r.tenant = ?1 AND r.state = 'Analysing'))",
        [tenant],
        |r| r.get(0),
    )
    .map_err(db_error)
}

/// Marks `job` started in the database (the caller checked the pipeline has room).
fn start_job(conn: &Connection, mut job: Job, now: Timestamp, lease: Duration) -> Result<Job> {
    job.start(now)?;
    job.not_before = None;
    conn.execute(
        "UPDATE jobs SET state = 'Analysing', attempts = ?2, lease_until = ?3, not_before = NULL, body = ?4 WHERE id = ?1 AND state = 'Queuing'",
        params![job.id.as_str(), job.attempts, now.plus(lease).millis(), to_json(&job)?],
    )
    .map_err(db_error)?;
    Ok(job)
}

fn insert_callbacks(conn: &Connection, callbacks: &[Callback], now: Timestamp) -> Result<()> {
    for cb in callbacks {
        conn.execute(
            "INSERT OR IGNORE INTO callbacks (delivery_id, job_id, target, body, secret, attempts, state, next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, 0, 'Pending', ?6)",
            params![cb.delivery_id, cb.job_id.as_str(), to_json(&cb.target)?, cb.body, cb.secret, now.millis()],
        )
        .map_err(db_error)?;
    }
    Ok(())
}

fn callback_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CallbackRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

type CallbackRow = (String, String, String, String, Option<String>, u32, String, Option<String>);

fn decode_callback(row: CallbackRow) -> Result<Callback> {
    let (delivery_id, job_id, target, body, secret, attempts, state, last_error) = row;
    let state = match state.as_str() {
        "Delivered" => CallbackState::Delivered,
        "GaveUp" => CallbackState::GaveUp,
        _ => CallbackState::Pending,
    };
    Ok(Callback {
        delivery_id,
        job_id: JobId::parse(&job_id)?,
        target: from_json::<NotifyTarget>(&target)?,
        body,
        secret,
        attempts,
        state,
        last_error,
    })
}

const CALLBACK_COLUMNS: &str = "delivery_id, job_id, target, body, secret, attempts, state, last_error";

impl SqliteStore {
    /// Opens (creating if needed) the database and ensures the default pipeline exists.
    pub async fn open(path: &Path, default_concurrency: u32) -> Result<Self> {
        let db = Db::open(path)?;
        let store = Self { db, callbacks_ready: Arc::new(Notify::new()), pipeline_cache: Arc::default() };
        let mut default = Pipeline::default_pipeline(Timestamp::now());
        default.concurrency = default_concurrency;
        store
            .db
            .write(move |conn| {
                conn.execute(
                    "INSERT OR IGNORE INTO pipelines (id, state, concurrency, body) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        default.id.as_str(),
                        default.state.as_str(),
                        default.concurrency,
                        to_json(&default)?
                    ],
                )
                .map_err(db_error)?;
                Ok(())
            })
            .await?;
        Ok(store)
    }

    fn cache_pipeline(&self, pipeline: Pipeline) {
        if let Ok(mut cache) = self.pipeline_cache.write() {
            cache.insert(pipeline.id.as_str().to_owned(), pipeline);
        }
    }

    fn forget_pipeline(&self, id: &PipelineId) {
        if let Ok(mut cache) = self.pipeline_cache.write() {
            cache.remove(id.as_str());
        }
    }

    /// Replaces the tenants' running-job limits (from the configuration, at start).
    pub async fn set_tenant_limits(&self, limits: Vec<(String, u32)>) -> Result<()> {
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM tenant_limits", []).map_err(db_error)?;
                for (tenant, max_running) in &limits {
                    conn.execute(
                        "INSERT INTO tenant_limits (tenant, max_running) VALUES (?1, ?2)",
                        params![tenant, max_running],
                    )
                    .map_err(db_error)?;
                }
                Ok(())
            })
            .await
    }

    /// Retention: removes jobs that finished before `before`, with their callback records, a
    /// batch per transaction so submits are never held up for long. A job whose callbacks are
    /// still being delivered stays until they are done. Returns how many jobs went.
    pub async fn sweep_finished(&self, before: Timestamp) -> Result<usize> {
        const BATCH: i64 = 500;
        let mut removed = 0;
        loop {
            let batch = self
                .db
                .write(move |conn| {
                    let ids: Vec<String> = conn
                        .prepare(
                            "SELECT id FROM jobs WHERE finished_at < ?1 AND NOT EXISTS
                             (SELECT 1 FROM callbacks c WHERE c.job_id = jobs.id AND c.state = 'Pending') LIMIT ?2",
                        )
                        .map_err(db_error)?
                        .query_map(params![before.millis(), BATCH], |r| r.get(0))
                        .map_err(db_error)?
                        .collect::<rusqlite::Result<_>>()
                        .map_err(db_error)?;
                    for id in &ids {
                        conn.execute("DELETE FROM callbacks WHERE job_id = ?1", [id]).map_err(db_error)?;
                        conn.execute("DELETE FROM jobs WHERE id = ?1", [id]).map_err(db_error)?;
                    }
                    Ok(ids.len())
                })
                .await?;
            removed += batch;
            if (batch as i64) < BATCH {
                return Ok(removed);
            }
        }
    }

    pub fn callbacks_ready(&self) -> Arc<Notify> {
        self.callbacks_ready.clone()
    }

    /// At start-up nothing can be running: this process holds the data root's lock, so every
    /// `Analysing` job belonged to a process that died. Their leases end now.
    pub async fn expire_all_leases(&self) -> Result<usize> {
        self.db
            .write(|conn| {
                conn.execute("UPDATE jobs SET lease_until = 0 WHERE state = 'Analysing'", [])
                    .map_err(db_error)
            })
            .await
    }

    /// Counts of jobs per state, for the service's health output and tests.
    pub async fn state_counts(&self) -> Result<Vec<(String, u64)>> {
        self.db
            .read(|conn| {
                let mut stmt =
                    conn.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state").map_err(db_error)?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db_error)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_error)
            })
            .await
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: Job) -> Result<Job> {
        self.db
            .write(move |conn| {
                if let Some(token) = &job.client_token {
                    let existing: Option<String> = conn
                        .query_row("SELECT body FROM jobs WHERE client_token = ?1", [token], |r| r.get(0))
                        .optional()
                        .map_err(db_error)?;
                    if let Some(body) = existing {
                        return from_json(&body);
                    }
                }
                // In the same transaction as the insert: a pipeline deleted since the submit
                // looked it up gets no job.
                if pipeline_by_id(conn, job.pipeline_id.as_str())?.is_none() {
                    return Err(pipeline::missing(&job.pipeline_id));
                }
                conn.execute(
                    "INSERT INTO jobs (id, pipeline_id, state, priority, attempts, client_token, body, tenant) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        job.id.as_str(),
                        job.pipeline_id.as_str(),
                        job.state.as_str(),
                        job.priority.get(),
                        job.attempts,
                        job.client_token,
                        to_json(&job)?,
                        job.tenant
                    ],
                )
                .map_err(db_error)?;
                Ok(job)
            })
            .await
    }

    async fn withdraw_job(&self, job: &Job) -> Result<()> {
        let id = job.id.as_str().to_owned();
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM jobs WHERE id = ?1 AND state = 'Queuing' AND attempts = 0", [id])
                    .map_err(db_error)?;
                Ok(())
            })
            .await
    }

    async fn job(&self, id: &JobId) -> Result<Option<Job>> {
        let id = id.as_str().to_owned();
        self.db.read(move |conn| job_by_id(conn, &id)).await
    }

    async fn jobs(&self, ids: &[JobId]) -> Result<Vec<Job>> {
        let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
        self.db.read(move |conn| ids.iter().filter_map(|id| job_by_id(conn, id).transpose()).collect()).await
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<JobPage> {
        let query = query.clone();
        self.db
            .read(move |conn| {
                let before = match &query.page_token {
                    Some(token) => token.parse::<i64>().map_err(|_| {
                        Error::invalid_parameter("NextPageToken", "NextPageToken is not one this service returned")
                    })?,
                    None => i64::MAX,
                };
                let mut stmt = conn
                    .prepare(
                        "SELECT seq, body FROM jobs WHERE seq < ?1 AND (?2 IS NULL OR pipeline_id = ?2) AND (?3 IS NULL OR state = ?3)
                         AND (?5 IS NULL OR tenant = ?5)
                         ORDER BY seq DESC LIMIT ?4",
                    )
                    .map_err(db_error)?;
                let rows: Vec<(i64, String)> = stmt
                    .query_map(
                        params![
                            before,
                            query.pipeline_id.as_ref().map(PipelineId::as_str),
                            query.state.map(JobState::as_str),
                            query.max_results as i64 + 1,
                            query.tenant
                        ],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(db_error)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_error)?;
                let (page, next_page_token) = page_of(&rows, query.max_results);
                let jobs = page.iter().map(|(_, body)| from_json(body)).collect::<Result<_>>()?;
                Ok(JobPage { jobs, next_page_token })
            })
            .await
    }

    async fn claim(&self, id: &JobId, now: Timestamp, lease: Duration) -> Result<Claim> {
        let id = id.as_str().to_owned();
        self.db
            .write(move |conn| {
                let Some(job) = job_by_id(conn, &id)? else {
                    return Ok(Claim::NotQueued);
                };
                if job.state != JobState::Queuing {
                    return Ok(Claim::NotQueued);
                }
                let pipeline = pipeline_by_id(conn, job.pipeline_id.as_str())?
                    .ok_or_else(|| Error::internal(format!("job {id} names a missing pipeline")))?;
                if pipeline.state == PipelineState::Paused {
                    return Ok(Claim::PipelinePaused);
                }
                if running_in(conn, pipeline.id.as_str())? >= pipeline.concurrency || tenant_full(conn, &job)?
                {
                    return Ok(Claim::PipelineFull);
                }
                Ok(Claim::Started(Box::new(start_job(conn, job, now, lease)?)))
            })
            .await
    }

    async fn claim_next(&self, now: Timestamp, lease: Duration) -> Result<Option<Job>> {
        self.db
            .write(move |conn| {
                // One statement whatever the number of pipelines: queued jobs in urgency order
                // (the jobs_queue index), the first whose pipeline is Active and has room.
                let body: Option<String> = conn
                    .query_row(
                        "SELECT j.body FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id
                         WHERE j.state = 'Queuing' AND (j.not_before IS NULL OR j.not_before <= ?1)
                           AND p.state = 'Active'
                           AND p.concurrency > (SELECT COUNT(*) FROM jobs r WHERE r.pipeline_id = p.id AND r.state = 'Analysing')
                           AND (j.tenant IS NULL OR NOT EXISTS (SELECT 1 FROM tenant_limits l WHERE l.tenant = j.tenant
                                AND l.max_running <= (SELECT COUNT(*) FROM jobs r WHERE r.tenant = j.tenant AND r.state = 'Analysing')))
                         ORDER BY j.priority DESC, j.seq LIMIT 1",
                        [now.millis()],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_error)?;
                match body {
                    Some(body) => Ok(Some(start_job(conn, from_json(&body)?, now, lease)?)),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn heartbeat(
        &self,
        id: &JobId,
        attempt: u32,
        progress: u8,
        lease_until: Timestamp,
    ) -> Result<JobState> {
        let id = id.as_str().to_owned();
        self.db
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE jobs SET lease_until = ?3, body = json_set(body, '$.progress', ?4)
                         WHERE id = ?1 AND attempts = ?2 AND state = 'Analysing'",
                        params![id, attempt, lease_until.millis(), progress],
                    )
                    .map_err(db_error)?;
                if changed == 1 {
                    return Ok(JobState::Analysing);
                }
                let job = job_by_id(conn, &id)?
                    .ok_or_else(|| Error::not_found("Job", format!("JobId {id} does not exist")))?;
                if job.attempts != attempt {
                    return Err(Error::job_state_conflict(format!(
                        "attempt {attempt} of job {id} was superseded"
                    )));
                }
                Ok(job.state)
            })
            .await
    }

    async fn save_transition(&self, job: &Job, expected: JobState, callbacks: Vec<Callback>) -> Result<()> {
        let job = job.clone();
        let has_callbacks = !callbacks.is_empty();
        self.db
            .write(move |conn| {
                let lease = if job.state == JobState::Analysing { "lease_until" } else { "NULL" };
                let changed = conn
                    .execute(
                        &format!(
                            "UPDATE jobs SET state = ?3, attempts = ?4, not_before = ?5, lease_until = {lease}, body = ?6,
                             finished_at = ?7
                             WHERE id = ?1 AND state = ?2 AND attempts = ?4"
                        ),
                        params![
                            job.id.as_str(),
                            expected.as_str(),
                            job.state.as_str(),
                            job.attempts,
                            job.not_before.map(Timestamp::millis),
                            to_json(&job)?,
                            job.finish_time.map(Timestamp::millis)
                        ],
                    )
                    .map_err(db_error)?;
                if changed != 1 {
                    return Err(Error::job_state_conflict(format!("job {} changed meanwhile (expected {expected} at attempt {})", job.id, job.attempts),
                    ));
                }
                insert_callbacks(conn, &callbacks, Timestamp::now())
            })
            .await?;
        if has_callbacks {
            self.callbacks_ready.notify_one();
        }
        Ok(())
    }

    async fn expired_leases(&self, now: Timestamp, limit: usize) -> Result<Vec<Job>> {
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare("SELECT body FROM jobs WHERE state = 'Analysing' AND lease_until < ?1 LIMIT ?2")
                    .map_err(db_error)?;
                let bodies: Vec<String> = stmt
                    .query_map(params![now.millis(), limit as i64], |r| r.get(0))
                    .map_err(db_error)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_error)?;
                bodies.iter().map(|b| from_json(b)).collect()
            })
            .await
    }

    async fn create_pipeline(&self, pipeline: Pipeline, limit: usize) -> Result<()> {
        let cached = pipeline.clone();
        self.db
            .write(move |conn| {
                let count: i64 = conn
                    .query_row("SELECT COUNT(*) FROM pipelines WHERE id <> 'default'", [], |r| r.get(0))
                    .map_err(db_error)?;
                if count as usize >= limit {
                    return Err(pipeline::quota_exceeded(limit));
                }
                conn.execute(
                    "INSERT INTO pipelines (id, state, concurrency, body) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        pipeline.id.as_str(),
                        pipeline.state.as_str(),
                        pipeline.concurrency,
                        to_json(&pipeline)?
                    ],
                )
                .map_err(db_error)?;
                Ok(())
            })
            .await?;
        self.cache_pipeline(cached);
        Ok(())
    }

    async fn pipeline(&self, id: &PipelineId) -> Result<Option<Pipeline>> {
        if let Some(hit) = self.pipeline_cache.read().ok().and_then(|c| c.get(id.as_str()).cloned()) {
            return Ok(Some(hit));
        }
        let id = id.as_str().to_owned();
        let found = self.db.read(move |conn| pipeline_by_id(conn, &id)).await?;
        if let Some(p) = &found {
            self.cache_pipeline(p.clone());
        }
        Ok(found)
    }

    async fn pipelines(&self, ids: &[PipelineId]) -> Result<Vec<Pipeline>> {
        let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
        self.db
            .read(move |conn| ids.iter().filter_map(|id| pipeline_by_id(conn, id).transpose()).collect())
            .await
    }

    async fn list_pipelines(&self, query: &PipelineQuery) -> Result<PipelinePage> {
        let query = query.clone();
        self.db
            .read(move |conn| {
                let after = match &query.page_token {
                    Some(token) => token.parse::<i64>().map_err(|_| {
                        Error::invalid_parameter(
                            "NextPageToken",
                            "NextPageToken is not one this service returned",
                        )
                    })?,
                    None => 0,
                };
                let mut stmt = conn
                    .prepare(
                        "SELECT rowid, body FROM pipelines WHERE rowid > ?1
                         AND (?3 IS NULL OR json_extract(body, '$.tenant') = ?3 OR id = 'default')
                         ORDER BY rowid LIMIT ?2",
                    )
                    .map_err(db_error)?;
                let rows: Vec<(i64, String)> = stmt
                    .query_map(params![after, query.max_results as i64 + 1, query.tenant], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .map_err(db_error)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_error)?;
                let (page, next_page_token) = page_of(&rows, query.max_results);
                let pipelines = page.iter().map(|(_, body)| from_json(body)).collect::<Result<_>>()?;
                Ok(PipelinePage { pipelines, next_page_token })
            })
            .await
    }

    async fn update_pipeline(&self, id: &PipelineId, update: PipelineUpdate) -> Result<Pipeline> {
        let id = id.as_str().to_owned();
        let updated = self
            .db
            .write(move |conn| {
                let mut p = pipeline_by_id(conn, &id)?.ok_or_else(|| {
                    Error::not_found("Pipeline", format!("PipelineId {id:?} does not exist"))
                })?;
                update.apply(&mut p);
                conn.execute(
                    "UPDATE pipelines SET state = ?2, concurrency = ?3, body = ?4 WHERE id = ?1",
                    params![id, p.state.as_str(), p.concurrency, to_json(&p)?],
                )
                .map_err(db_error)?;
                Ok(p)
            })
            .await?;
        self.cache_pipeline(updated.clone());
        Ok(updated)
    }

    async fn delete_pipeline(&self, id: &PipelineId) -> Result<Pipeline> {
        let key = id.clone();
        let deleted = self
            .db
            .write(move |conn| {
                let p = pipeline_by_id(conn, key.as_str())?.ok_or_else(|| pipeline::missing(&key))?;
                let unfinished: u64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM jobs WHERE pipeline_id = ?1 AND state IN ('Queuing', 'Analysing')",
                        [key.as_str()],
                        |r| r.get(0),
                    )
                    .map_err(db_error)?;
                if unfinished > 0 {
                    return Err(pipeline::busy(&key, unfinished));
                }
                conn.execute("DELETE FROM pipelines WHERE id = ?1", [key.as_str()]).map_err(db_error)?;
                Ok(p)
            })
            .await?;
        self.forget_pipeline(id);
        Ok(deleted)
    }

    async fn due_callbacks(&self, now: Timestamp, limit: usize) -> Result<Vec<Callback>> {
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare(&format!(
                        "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE state = 'Pending' AND next_attempt <= ?1 ORDER BY next_attempt LIMIT ?2"
                    ))
                    .map_err(db_error)?;
                let rows: Vec<CallbackRow> = stmt
                    .query_map(params![now.millis(), limit as i64], callback_from_row)
                    .map_err(db_error)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_error)?;
                rows.into_iter().map(decode_callback).collect()
            })
            .await
    }

    async fn record_delivery(&self, delivery_id: &str, outcome: DeliveryOutcome) -> Result<()> {
        let delivery_id = delivery_id.to_owned();
        self.db
            .write(move |conn| {
                let (state, next, error) = match outcome {
                    DeliveryOutcome::Delivered => ("Delivered", 0, None),
                    DeliveryOutcome::RetryAt { at, error } => ("Pending", at.millis(), Some(error)),
                    DeliveryOutcome::GaveUp { error } => ("GaveUp", 0, Some(error)),
                };
                // Only a pending callback changes: a late duplicate report cannot undo a delivery.
                conn.execute(
                    "UPDATE callbacks SET state = ?2, next_attempt = ?3, last_error = COALESCE(?4, last_error), attempts = attempts + 1
                     WHERE delivery_id = ?1 AND state = 'Pending'",
                    params![delivery_id, state, next, error],
                )
                .map_err(db_error)?;
                Ok(())
            })
            .await
    }

    async fn callbacks_of(&self, job_id: &JobId) -> Result<Vec<Callback>> {
        let job_id = job_id.as_str().to_owned();
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare(&format!(
                        "SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE job_id = ?1 ORDER BY delivery_id"
                    ))
                    .map_err(db_error)?;
                let rows: Vec<CallbackRow> = stmt
                    .query_map([job_id], callback_from_row)
                    .map_err(db_error)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_error)?;
                rows.into_iter().map(decode_callback).collect()
            })
            .await
    }

    async fn callback(&self, delivery_id: &str) -> Result<Option<Callback>> {
        let delivery_id = delivery_id.to_owned();
        self.db
            .read(move |conn| {
                conn.query_row(
                    &format!("SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE delivery_id = ?1"),
                    [delivery_id],
                    callback_from_row,
                )
                .optional()
                .map_err(db_error)?
                .map(decode_callback)
                .transpose()
            })
            .await
    }

    async fn stale_queued(&self, now: Timestamp, older_than: Duration, limit: usize) -> Result<Vec<Job>> {
        let cutoff = now.millis() - older_than.as_millis() as i64;
        self.db
            .read(move |conn| {
                // The jobs claim_next could start now (Active pipeline with room, backoff over),
                // in urgency order; how long each waited is in its body.
                let mut stmt = conn
                    .prepare(
                        "SELECT j.body FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id
                         WHERE j.state = 'Queuing' AND (j.not_before IS NULL OR j.not_before <= ?1)
                           AND p.state = 'Active'
                           AND p.concurrency > (SELECT COUNT(*) FROM jobs r WHERE r.pipeline_id = p.id AND r.state = 'Analysing')
                         ORDER BY j.priority DESC, j.seq",
                    )
                    .map_err(db_error)?;
                let bodies = stmt.query_map([now.millis()], |r| r.get::<_, String>(0)).map_err(db_error)?;
                let mut stale = Vec::new();
                for body in bodies {
                    let job: Job = from_json(&body.map_err(db_error)?)?;
                    if job.not_before.unwrap_or(job.create_time).millis() <= cutoff {
                        stale.push(job);
                        if stale.len() == limit {
                            break;
                        }
                    }
                }
                Ok(stale)
            })
            .await
    }
}
