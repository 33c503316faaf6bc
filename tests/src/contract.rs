//! The behaviour every `JobStore` must have, whatever it is built on: one suite, run against the
//! embedded SQLite store and the DynamoDB store (on the moto emulator) by `tests/contract.rs`.

use std::sync::Arc;
use std::time::Duration;

use iprod_core::outbox::callbacks_for;
use iprod_core::ports::{
    CallbackState, Claim, DeliveryOutcome, JobQuery, JobStore, PipelineQuery, PipelineUpdate, Queue,
};
use iprod_core::worker::recover_expired;
use iprod_core::{
    Error, FunctionName, Job, JobId, JobState, Pipeline, PipelineId, PipelineState, Priority, Timestamp,
};
use serde_json::json;

const LEASE: Duration = Duration::from_secs(60);

pub fn queued_job(pipeline: &PipelineId, priority: u8, created_ms: i64) -> Job {
    Job {
        function: FunctionName::ImageH2V,
        input: "oss://media/in/a b ü.jpg".into(),
        output: "oss://media/out/{source}.jpg".into(),
        pipeline_id: pipeline.clone(),
        user_data: Some("{\"k\":1}".into()),
        priority: Priority::parse(&priority.to_string()).unwrap(),
        create_time: Timestamp::from_millis(created_ms),
        ..Job::example()
    }
}

pub async fn pipeline(store: &dyn JobStore, concurrency: u32, notify: Option<&str>) -> Pipeline {
    let mut p = Pipeline::default_pipeline(Timestamp::now());
    p.id = PipelineId::generate();
    p.name = "contract".into();
    p.concurrency = concurrency;
    p.notify = notify
        .map(|n| iprod_core::notify::NotifyTarget::Queue { name: n.to_owned(), endpoint: "local".into() });
    store.create_pipeline(p.clone(), 1000).await.unwrap();
    p
}

fn started(claim: Claim) -> Job {
    match claim {
        Claim::Started(job) => *job,
        other => panic!("expected the job to start, got {other:?}"),
    }
}

/// Succeeds a running job the way the worker does (terminal state + callbacks at once).
async fn succeed(store: &dyn JobStore, mut job: Job) -> Job {
    job.succeed(json!({"ok": true}), vec!["oss://media/out/x.jpg".into()], Timestamp::now()).unwrap();
    let p = store.pipeline(&job.pipeline_id).await.unwrap();
    store.save_transition(&job, JobState::Analysing, callbacks_for(&job, p.as_ref())).await.unwrap();
    job
}

pub async fn a_created_job_reads_back_whole_and_a_client_token_is_idempotent(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 2, None).await;
    let job = queued_job(&p.id, 6, 1_000);
    assert_eq!(store.create_job(job.clone()).await.unwrap(), job);
    assert_eq!(store.job(&job.id).await.unwrap().unwrap(), job);
    let mut first = queued_job(&p.id, 6, 2_000);
    first.client_token = Some("retry-token-1".into());
    let stored = store.create_job(first.clone()).await.unwrap();
    let mut again = queued_job(&p.id, 6, 3_000);
    again.client_token = Some("retry-token-1".into());
    assert_eq!(store.create_job(again.clone()).await.unwrap().id, stored.id, "the earlier job comes back");
    assert!(store.job(&again.id).await.unwrap().is_none(), "no second job is written");
    let found = store.jobs(&[job.id.clone(), JobId::generate(), first.id.clone()]).await.unwrap();
    assert_eq!(found.len(), 2);
}

pub async fn claims_hold_the_pipeline_concurrency_and_free_a_slot_at_the_end(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 2, None).await;
    let jobs: Vec<Job> = (0..4).map(|i| queued_job(&p.id, 6, 1_000 + i)).collect();
    for job in &jobs {
        store.create_job(job.clone()).await.unwrap();
    }
    let now = Timestamp::now();
    let a = started(store.claim(&jobs[0].id, now, LEASE).await.unwrap());
    assert_eq!(a.state, JobState::Analysing);
    assert_eq!(a.attempts, 1);
    started(store.claim(&jobs[1].id, now, LEASE).await.unwrap());
    assert_eq!(store.claim(&jobs[2].id, now, LEASE).await.unwrap(), Claim::PipelineFull);
    assert_eq!(store.claim(&jobs[0].id, now, LEASE).await.unwrap(), Claim::NotQueued, "claimed once");
    assert_eq!(store.claim(&JobId::generate(), now, LEASE).await.unwrap(), Claim::NotQueued);
    succeed(store.as_ref(), a).await;
    started(store.claim(&jobs[2].id, now, LEASE).await.unwrap());
    store
        .update_pipeline(&p.id, PipelineUpdate { state: Some(PipelineState::Paused), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(store.claim(&jobs[3].id, now, LEASE).await.unwrap(), Claim::PipelinePaused);
    assert_eq!(store.job(&jobs[3].id).await.unwrap().unwrap().state, JobState::Queuing);
}

pub async fn racing_claims_never_exceed_concurrency(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 3, None).await;
    let jobs: Vec<Job> = (0..12).map(|i| queued_job(&p.id, 6, 1_000 + i)).collect();
    for job in &jobs {
        store.create_job(job.clone()).await.unwrap();
    }
    let now = Timestamp::now();
    let claims = jobs.iter().map(|job| {
        let store = store.clone();
        let id = job.id.clone();
        tokio::spawn(async move { store.claim(&id, now, LEASE).await.unwrap() })
    });
    let mut started_count = 0;
    for claim in claims {
        if matches!(claim.await.unwrap(), Claim::Started(_)) {
            started_count += 1;
        }
    }
    assert_eq!(started_count, 3, "exactly Concurrency claims win");
    let running = store
        .list_jobs(&JobQuery {
            tenant: None,
            pipeline_id: Some(p.id.clone()),
            state: Some(JobState::Analysing),
            max_results: 100,
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(running.jobs.len(), 3);
}

pub async fn a_terminal_state_is_conditional_and_writes_its_callbacks_once(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 2, Some("done-queue")).await;
    let mut job = queued_job(&p.id, 6, 1_000);
    job.notify_url = Some("https://example.com/hook".into());
    store.create_job(job.clone()).await.unwrap();
    let running = started(store.claim(&job.id, Timestamp::now(), LEASE).await.unwrap());
    let mut stale = running.clone();
    stale.cancel(Timestamp::now()).unwrap();
    let e = store.save_transition(&stale, JobState::Queuing, vec![]).await.unwrap_err();
    assert_eq!(e.code(), "Conflict.JobState", "the stored job is Analysing, not Queuing");
    let done = succeed(store.as_ref(), running.clone()).await;
    assert_eq!(store.job(&job.id).await.unwrap().unwrap(), done);
    let mut late = running.clone();
    late.fail(&Error::internal("late"), Timestamp::now()).unwrap();
    let e =
        store.save_transition(&late, JobState::Analysing, callbacks_for(&late, Some(&p))).await.unwrap_err();
    assert_eq!(e.code(), "Conflict.JobState", "a terminal state is final");
    let callbacks = store.callbacks_of(&job.id).await.unwrap();
    assert_eq!(callbacks.len(), 2, "the pipeline's queue and the job's NotifyUrl: {callbacks:?}");
    let due = store.due_callbacks(Timestamp::now(), 100).await.unwrap();
    let ours: Vec<_> = due.iter().filter(|c| c.job_id == job.id).collect();
    assert_eq!(ours.len(), 2);
    let first = ours[0].delivery_id.clone();
    store.record_delivery(&first, DeliveryOutcome::Delivered).await.unwrap();
    let second = ours[1].delivery_id.clone();
    let retry_at = Timestamp::now().plus(Duration::from_secs(3600));
    store
        .record_delivery(&second, DeliveryOutcome::RetryAt { at: retry_at, error: "503".into() })
        .await
        .unwrap();
    // A late duplicate report cannot undo a delivery.
    store.record_delivery(&first, DeliveryOutcome::GaveUp { error: "dup".into() }).await.unwrap();
    let now_due = store.due_callbacks(Timestamp::now(), 100).await.unwrap();
    assert!(now_due.iter().all(|c| c.job_id != job.id), "neither is due now");
    let later = store.due_callbacks(retry_at.plus(Duration::from_secs(1)), 100).await.unwrap();
    assert!(later.iter().any(|c| c.delivery_id == second));
    let by_id: Vec<_> = store.callbacks_of(&job.id).await.unwrap();
    let delivered = by_id.iter().find(|c| c.delivery_id == first).unwrap();
    assert_eq!(delivered.state, CallbackState::Delivered);
    assert_eq!(delivered.attempts, 1);
    let retried = by_id.iter().find(|c| c.delivery_id == second).unwrap();
    assert_eq!((retried.state, retried.last_error.as_deref()), (CallbackState::Pending, Some("503")));
}

pub async fn heartbeats_show_progress_and_notice_cancellation(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 2, None).await;
    let job = queued_job(&p.id, 6, 1_000);
    store.create_job(job.clone()).await.unwrap();
    let running = started(store.claim(&job.id, Timestamp::now(), LEASE).await.unwrap());
    let until = Timestamp::now().plus(LEASE);
    assert_eq!(store.heartbeat(&job.id, 1, 40, until).await.unwrap(), JobState::Analysing);
    assert_eq!(store.job(&job.id).await.unwrap().unwrap().progress, 40);
    let e = store.heartbeat(&job.id, 7, 50, until).await.unwrap_err();
    assert_eq!(e.code(), "Conflict.JobState", "another attempt's heartbeat is refused");
    let mut cancelled = running.clone();
    cancelled.cancel(Timestamp::now()).unwrap();
    store.save_transition(&cancelled, JobState::Analysing, vec![]).await.unwrap();
    assert_eq!(store.heartbeat(&job.id, 1, 60, until).await.unwrap(), JobState::Cancelled);
    // The cancelled job gave its slot back.
    let other = queued_job(&p.id, 6, 2_000);
    store.create_job(other.clone()).await.unwrap();
    let third = queued_job(&p.id, 6, 3_000);
    store.create_job(third.clone()).await.unwrap();
    started(store.claim(&other.id, Timestamp::now(), LEASE).await.unwrap());
    started(store.claim(&third.id, Timestamp::now(), LEASE).await.unwrap());
}

/// Records announcements, as a queue would carry them.
#[derive(Default)]
pub struct Announcements(pub std::sync::Mutex<Vec<JobId>>);

#[async_trait::async_trait]
impl Queue for Announcements {
    async fn announce(&self, job: &Job, _delay: Duration) -> iprod_core::Result<()> {
        self.0.lock().unwrap().push(job.id.clone());
        Ok(())
    }
}

pub async fn lost_attempts_are_requeued_then_failed_with_a_code(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 1, None).await;
    let job = queued_job(&p.id, 6, 1_000);
    store.create_job(job.clone()).await.unwrap();
    let announced = Announcements::default();
    let short = Duration::from_millis(1);
    for attempt in 1..=2 {
        let running = started(store.claim(&job.id, Timestamp::now(), short).await.unwrap());
        assert_eq!(running.attempts, attempt);
        let later = Timestamp::now().plus(Duration::from_secs(1));
        let expired = store.expired_leases(later, 100).await.unwrap();
        assert!(expired.iter().any(|j| j.id == job.id), "attempt {attempt}'s lease ran out");
        recover_expired(store.as_ref(), &announced, 2, later).await.unwrap();
        let after = store.job(&job.id).await.unwrap().unwrap();
        if attempt == 1 {
            assert_eq!(after.state, JobState::Queuing, "requeued after one lost attempt");
            assert_eq!(announced.0.lock().unwrap().as_slice(), std::slice::from_ref(&job.id));
        } else {
            assert_eq!(after.state, JobState::Fail);
            assert_eq!(after.error.unwrap().code, "InternalError.AttemptsExhausted");
        }
    }
    // The slot came back each time: a new job starts on the Concurrency-1 pipeline.
    let next = queued_job(&p.id, 6, 2_000);
    store.create_job(next.clone()).await.unwrap();
    started(store.claim(&next.id, Timestamp::now(), LEASE).await.unwrap());
}

pub async fn listing_pages_newest_first_with_filters(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 5, None).await;
    let base = Timestamp::now().millis();
    let jobs: Vec<Job> = (0..5).map(|i| queued_job(&p.id, 6, base + i)).collect();
    for job in &jobs {
        store.create_job(job.clone()).await.unwrap();
    }
    started(store.claim(&jobs[1].id, Timestamp::now(), LEASE).await.unwrap());
    let mut query = JobQuery {
        tenant: None,
        pipeline_id: Some(p.id.clone()),
        state: None,
        max_results: 2,
        page_token: None,
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_jobs(&query).await.unwrap();
        assert!(page.jobs.len() <= 2);
        seen.extend(page.jobs.iter().map(|j| j.id.clone()));
        match page.next_page_token {
            Some(t) => query.page_token = Some(t),
            None => break,
        }
    }
    let newest_first: Vec<JobId> = jobs.iter().rev().map(|j| j.id.clone()).collect();
    assert_eq!(seen, newest_first);
    let queued = store
        .list_jobs(&JobQuery {
            tenant: None,
            pipeline_id: Some(p.id.clone()),
            state: Some(JobState::Queuing),
            max_results: 10,
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(queued.jobs.len(), 4);
    assert!(queued.jobs.iter().all(|j| j.state == JobState::Queuing));
    let all =
        store.list_jobs(&JobQuery { tenant: None, max_results: 3, ..JobQuery::default() }).await.unwrap();
    assert_eq!(all.jobs.len(), 3, "listing without a pipeline sees every job");
    let bad = JobQuery {
        tenant: None,
        page_token: Some("not-a-token".into()),
        max_results: 2,
        ..JobQuery::default()
    };
    let e = store.list_jobs(&bad).await.unwrap_err();
    assert_eq!(e.code(), "InvalidParameter.NextPageToken");
}

pub async fn claim_next_takes_priority_then_arrival_and_skips_blocked_work(store: Arc<dyn JobStore>) {
    // Other tests' jobs may share the store: only our pipelines are open when we look.
    let p = pipeline(store.as_ref(), 2, None).await;
    let early = queued_job(&p.id, 5, 1_000);
    let urgent = queued_job(&p.id, 9, 5_000);
    let backing_off = queued_job(&p.id, 10, 500);
    let late = queued_job(&p.id, 5, 2_000);
    for job in [&early, &urgent, &backing_off, &late] {
        store.create_job(job.clone()).await.unwrap();
    }
    // The most urgent job failed transiently and waits out its backoff.
    let mut retry = started(store.claim(&backing_off.id, Timestamp::now(), LEASE).await.unwrap());
    retry.requeue(Some(Timestamp::now().plus(Duration::from_secs(3600)))).unwrap();
    store.save_transition(&retry, JobState::Analysing, vec![]).await.unwrap();
    let mut order = Vec::new();
    while let Some(job) = store.claim_next(Timestamp::now(), LEASE).await.unwrap() {
        if job.pipeline_id == p.id {
            order.push(job.id.clone());
        }
        if order.len() == 2 {
            break;
        }
    }
    assert_eq!(order, [urgent.id.clone(), early.id.clone()]);
    let more = store.claim_next(Timestamp::now(), LEASE).await.unwrap();
    assert!(more.is_none_or(|j| j.pipeline_id != p.id), "the pipeline is full");
}

pub async fn pipelines_are_created_updated_and_listed(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 4, None).await;
    let q = pipeline(store.as_ref(), 1, Some("events")).await;
    let updated = store
        .update_pipeline(
            &p.id,
            PipelineUpdate {
                name: Some("renamed".into()),
                concurrency: Some(7),
                secret: Some(Some("s3cret".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.name.as_str(), updated.concurrency), ("renamed", 7));
    assert_eq!(store.pipeline(&p.id).await.unwrap().unwrap(), updated);
    let both = store.pipelines(&[q.id.clone(), p.id.clone()]).await.unwrap();
    assert_eq!(both.iter().map(|x| x.id.clone()).collect::<Vec<_>>(), [q.id.clone(), p.id.clone()]);
    // Every pipeline, two at a time, each exactly once.
    let r = pipeline(store.as_ref(), 1, None).await;
    let mut listed = Vec::new();
    let mut query = PipelineQuery { tenant: None, max_results: 2, page_token: None };
    loop {
        let page = store.list_pipelines(&query).await.unwrap();
        assert!(page.pipelines.len() <= 2);
        listed.extend(page.pipelines.into_iter().map(|x| x.id));
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
    }
    let mut expected = vec![PipelineId::default_pipeline(), p.id.clone(), q.id.clone(), r.id.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    listed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(listed, expected, "the default and the three added, once each");
    let bad = PipelineQuery { tenant: None, max_results: 2, page_token: Some("not-a-token".into()) };
    assert_eq!(store.list_pipelines(&bad).await.unwrap_err().code(), "InvalidParameter.NextPageToken");
    let e = store.update_pipeline(&PipelineId::generate(), PipelineUpdate::default()).await.unwrap_err();
    assert_eq!(e.code(), "NotFound.Pipeline");
}

pub async fn the_pipeline_cap_holds_under_racing_adds(store: Arc<dyn JobStore>) {
    // GIVEN a cap of 5 added pipelines and 8 racing AddPipeline calls
    let adds = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut p = Pipeline::default_pipeline(Timestamp::now());
            p.id = PipelineId::generate();
            store.create_pipeline(p, 5).await
        })
    });
    let mut refused = Vec::new();
    let mut added = 0;
    for add in adds.collect::<Vec<_>>() {
        match add.await.unwrap() {
            Ok(()) => added += 1,
            Err(e) => refused.push(e.code().to_owned()),
        }
    }
    // THEN exactly five exist and the others were told why
    assert_eq!(added, 5);
    assert_eq!(refused, vec!["QuotaExceeded.Pipelines"; 3]);
}

pub async fn a_pipeline_is_deleted_only_without_unfinished_jobs(store: Arc<dyn JobStore>) {
    // GIVEN a pipeline with a queued job
    let p = pipeline(store.as_ref(), 2, None).await;
    let job = queued_job(&p.id, 6, 1_000);
    store.create_job(job.clone()).await.unwrap();
    // WHEN it is deleted THEN it is refused, and the pipeline keeps taking jobs
    let e = store.delete_pipeline(&p.id).await.unwrap_err();
    assert_eq!(e.code(), "Conflict.PipelineBusy");
    assert!(e.message().contains("1 queued or running"), "{}", e.message());
    store.create_job(queued_job(&p.id, 6, 2_000)).await.unwrap();
    // and a running job keeps it too
    let running = started(store.claim(&job.id, Timestamp::now(), LEASE).await.unwrap());
    let other = store
        .list_jobs(&JobQuery {
            tenant: None,
            pipeline_id: Some(p.id.clone()),
            state: Some(JobState::Queuing),
            max_results: 10,
            page_token: None,
        })
        .await
        .unwrap();
    for mut queued in other.jobs {
        queued.cancel(Timestamp::now()).unwrap();
        store.save_transition(&queued, JobState::Queuing, vec![]).await.unwrap();
    }
    assert_eq!(store.delete_pipeline(&p.id).await.unwrap_err().code(), "Conflict.PipelineBusy");
    // WHEN its last job finishes THEN it goes, and its finished jobs stay readable
    let done = succeed(store.as_ref(), running).await;
    assert_eq!(store.delete_pipeline(&p.id).await.unwrap().id, p.id);
    assert!(store.pipeline(&p.id).await.unwrap().is_none());
    assert_eq!(store.job(&done.id).await.unwrap().unwrap().state, JobState::Success);
    // and nothing more can be put in it, nor deleted twice
    let e = store.create_job(queued_job(&p.id, 6, 3_000)).await.unwrap_err();
    assert_eq!(e.code(), "NotFound.Pipeline");
    assert_eq!(store.delete_pipeline(&p.id).await.unwrap_err().code(), "NotFound.Pipeline");
    // A deleted pipeline no longer counts against the cap.
    let mut again = Pipeline::default_pipeline(Timestamp::now());
    again.id = PipelineId::generate();
    store.create_pipeline(again, 1).await.unwrap();
}

pub async fn listings_keep_to_a_tenant(store: Arc<dyn JobStore>) {
    // GIVEN a job and a pipeline of tenant acme, and a job of the operator
    let mut mine = Pipeline::default_pipeline(Timestamp::now());
    mine.id = PipelineId::generate();
    mine.tenant = Some("acme".into());
    store.create_pipeline(mine.clone(), 10).await.unwrap();
    let theirs = pipeline(store.as_ref(), 2, None).await;
    let acme_job = Job { tenant: Some("acme".into()), ..queued_job(&mine.id, 6, 1_000) };
    store.create_job(acme_job.clone()).await.unwrap();
    store.create_job(queued_job(&theirs.id, 6, 2_000)).await.unwrap();
    // WHEN acme lists THEN it gets its job, and its pipeline beside the default one
    let jobs = store
        .list_jobs(&JobQuery { tenant: Some("acme".into()), max_results: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(jobs.jobs.len(), 1);
    assert_eq!(jobs.jobs[0].id, acme_job.id);
    let pipelines = store
        .list_pipelines(&PipelineQuery { tenant: Some("acme".into()), max_results: 10, page_token: None })
        .await
        .unwrap();
    let mut ids: Vec<PipelineId> = pipelines.pipelines.into_iter().map(|p| p.id).collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut expected = vec![PipelineId::default_pipeline(), mine.id.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(ids, expected);
    // AND another tenant sees none of it
    let none = store
        .list_jobs(&JobQuery { tenant: Some("beta".into()), max_results: 10, ..Default::default() })
        .await
        .unwrap();
    assert!(none.jobs.is_empty());
    // AND the tenant is kept on the records
    assert_eq!(store.job(&acme_job.id).await.unwrap().unwrap().tenant.as_deref(), Some("acme"));
    assert_eq!(store.pipeline(&mine.id).await.unwrap().unwrap().tenant.as_deref(), Some("acme"));
}

pub async fn a_withdrawn_job_leaves_no_trace_and_frees_its_client_token(store: Arc<dyn JobStore>) {
    let p = pipeline(store.as_ref(), 2, None).await;
    let mut job = queued_job(&p.id, 6, 1_000);
    job.client_token = Some("withdrawn-token".into());
    store.create_job(job.clone()).await.unwrap();
    store.withdraw_job(&job).await.unwrap();
    assert!(store.job(&job.id).await.unwrap().is_none());
    let mut retry = queued_job(&p.id, 6, 2_000);
    retry.client_token = Some("withdrawn-token".into());
    assert_eq!(store.create_job(retry.clone()).await.unwrap().id, retry.id, "the token is free again");
    // A job that already started is never withdrawn.
    started(store.claim(&retry.id, Timestamp::now(), LEASE).await.unwrap());
    store.withdraw_job(&retry).await.unwrap();
    assert_eq!(store.job(&retry.id).await.unwrap().unwrap().state, JobState::Analysing);
}

/// The behaviour every `ObjectStore` must have (bucket `bucket` exists and is allowed).
pub async fn objects_round_trip_and_a_missing_input_is_named(
    objects: Arc<dyn iprod_core::ports::ObjectStore>,
    bucket: &str,
) {
    use iprod_core::object_url::ObjectUrl;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&src, &body).unwrap();
    let url = ObjectUrl { bucket: bucket.into(), key: "out/deep/my clip ü+1.mp4".into() };
    objects.store(&url, &src).await.unwrap();
    let back = dir.path().join("back.bin");
    assert_eq!(objects.fetch(&url, &back, u64::MAX).await.unwrap(), body.len() as u64);
    assert_eq!(std::fs::read(&back).unwrap(), body, "keys with spaces, '+' and non-ASCII letters");
    // Writing again replaces the whole object.
    std::fs::write(&src, b"short").unwrap();
    objects.store(&url, &src).await.unwrap();
    objects.fetch(&url, &back, u64::MAX).await.unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), b"short");
    let missing = ObjectUrl { bucket: bucket.into(), key: "in/nope.mp4".into() };
    let e = objects.fetch(&missing, &back, u64::MAX).await.unwrap_err();
    assert_eq!(e.code(), "InvalidInput.NotFound");
    assert!(e.message().contains("in/nope.mp4"), "{}", e.message());
    // An object over the function's limit is refused on its size, before anything is copied.
    std::fs::write(&src, &body).unwrap();
    objects.store(&url, &src).await.unwrap();
    let fresh = dir.path().join("never-written.bin");
    let e = objects.fetch(&url, &fresh, body.len() as u64 - 1).await.unwrap_err();
    assert_eq!(e.code(), "InvalidInput.TooLarge");
    assert!(e.message().contains(&format!("at most {} bytes", body.len() - 1)), "{}", e.message());
    assert!(!fresh.exists(), "nothing was downloaded");
    assert_eq!(objects.fetch(&url, &fresh, body.len() as u64).await.unwrap(), body.len() as u64);
}

pub async fn callbacks_are_read_by_delivery_id_and_stale_queued_jobs_are_found(store: Arc<dyn JobStore>) {
    // A finished job's callback, read back by its id (as the notify function is handed it).
    let p = pipeline(store.as_ref(), 1, Some("done-queue")).await;
    let job = queued_job(&p.id, 5, 1_000);
    store.create_job(job.clone()).await.unwrap();
    let running = started(store.claim(&job.id, Timestamp::now(), LEASE).await.unwrap());
    succeed(store.as_ref(), running).await;
    let written = store.callbacks_of(&job.id).await.unwrap();
    let read = store.callback(&written[0].delivery_id).await.unwrap().unwrap();
    assert_eq!(read, written[0]);
    assert!(store.callback("no-such-delivery").await.unwrap().is_none());

    // Queued jobs: one waited an hour, one just arrived, one waits out a backoff; the pipeline
    // has its one slot free. Only the long-waiting one is stale.
    let now = Timestamp::now();
    let old = queued_job(&p.id, 5, now.millis() - 3_600_000);
    let fresh = queued_job(&p.id, 5, now.millis());
    let mut backing_off = queued_job(&p.id, 5, now.millis() - 3_600_000);
    backing_off.not_before = Some(now.plus(Duration::from_secs(600)));
    for j in [&old, &fresh, &backing_off] {
        store.create_job(j.clone()).await.unwrap();
    }
    let ours = |jobs: Vec<Job>| -> Vec<JobId> {
        jobs.into_iter().filter(|j| j.pipeline_id == p.id).map(|j| j.id).collect()
    };
    let stale = store.stale_queued(now, Duration::from_secs(300), 100).await.unwrap();
    assert_eq!(ours(stale), vec![old.id]);
    // A full pipeline has nothing to re-announce: its jobs wait for a slot, not for a message.
    store.claim(&fresh.id, now, LEASE).await.unwrap();
    let stale = store.stale_queued(now, Duration::from_secs(300), 100).await.unwrap();
    assert!(ours(stale).is_empty(), "the pipeline is full");
}

/// The queue-driven worker's use-case (`core::processing`) over this store, as the process
/// function runs it: a message runs its job once, a duplicate delivery is dropped, a message the
/// queue gave up on fails its still-queued job with a code and no attempt, and a malformed body
/// is dropped.
pub async fn queue_messages_are_settled_once_over_the_store(store: Arc<dyn JobStore>) {
    use iprod_core::processing::{JobMessage, Outcome, Processor, ProcessorSettings};
    use iprod_core::worker::{DEFAULT_MAX_JOB_TIME, Worker, WorkerSettings};

    let dir = tempfile::tempdir().unwrap();
    let objects = iprod_local::objects::DirObjectStore::new(dir.path().join("buckets"), ["media"]).unwrap();
    std::fs::create_dir_all(dir.path().join("buckets/media/in")).unwrap();
    std::fs::write(dir.path().join("buckets/media/in/a b ü.jpg"), b"picture").unwrap();
    let queue = Arc::new(Announcements::default());
    let settings = WorkerSettings {
        scratch_root: dir.path().join("scratch"),
        lease: LEASE,
        max_attempts: 3,
        max_job_time: DEFAULT_MAX_JOB_TIME,
        hand_off_longer_than: None,
    };
    let engine = Arc::new(crate::CopyEngine::default());
    let worker = Worker::new(store.clone(), queue.clone(), Arc::new(objects), engine, settings);
    let processor = Processor::new(store.clone(), queue, worker, ProcessorSettings::default());
    let p = pipeline(store.as_ref(), 1, None).await;
    let message = |job: &Job| serde_json::to_string(&JobMessage::for_job(job)).unwrap();

    let job = queued_job(&p.id, 5, 1_000);
    store.create_job(job.clone()).await.unwrap();
    assert_eq!(processor.handle(&message(&job)).await.unwrap(), Outcome::Ran(JobState::Success));
    let done = store.job(&job.id).await.unwrap().unwrap();
    assert_eq!((done.state, done.attempts, done.output_files.len()), (JobState::Success, 1, 1));
    assert_eq!(processor.handle(&message(&job)).await.unwrap(), Outcome::NotQueued(JobState::Success));

    let waiting = queued_job(&p.id, 5, 2_000);
    store.create_job(waiting.clone()).await.unwrap();
    assert_eq!(processor.dead_letter(&message(&waiting)).await.unwrap(), Outcome::Ran(JobState::Fail));
    let failed = store.job(&waiting.id).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Fail);
    assert_eq!(failed.error.unwrap().code, "InternalError.AttemptsExhausted");
    assert_eq!(failed.attempts, 0, "it never started");

    assert!(matches!(processor.handle("not a message").await.unwrap(), Outcome::Malformed(_)));
}
