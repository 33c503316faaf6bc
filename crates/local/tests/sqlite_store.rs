//! What only the embedded store has: a claim that does not grow with the number of pipelines,
//! the move from the first schema, and the retention sweep.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::time::Duration;

use iprod_core::outbox::callbacks_for;
use iprod_core::ports::JobStore;
use iprod_core::{Job, JobState, Pipeline, PipelineId, Timestamp};
use iprod_local::SqliteStore;
use serde_json::json;

const LEASE: Duration = Duration::from_secs(60);
const DAY_MS: i64 = 86_400_000;

fn added_pipeline() -> Pipeline {
    let mut p = Pipeline::default_pipeline(Timestamp::now());
    p.id = PipelineId::generate();
    p
}

/// A job of `pipeline` that ran and succeeded at `finished`, with a callback to a queue.
async fn finished_job(store: &SqliteStore, pipeline: &Pipeline, finished: Timestamp) -> Job {
    let job = Job { pipeline_id: pipeline.id.clone(), ..Job::example() };
    store.create_job(job.clone()).await.unwrap();
    let mut running = store.claim_next(Timestamp::now(), LEASE).await.unwrap().expect("the job starts");
    assert_eq!(running.id, job.id);
    running.succeed(json!({}), vec![], finished).unwrap();
    store
        .save_transition(&running, JobState::Analysing, callbacks_for(&running, Some(pipeline)))
        .await
        .unwrap();
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_work_with_more_pipelines_than_sqlite_has_variables() {
    // GIVEN 33,000 pipelines (the claim once bound one SQL variable per pipeline, past SQLite's
    // 32,766, and stopped the dispatcher for good)
    // (written straight into the file in one transaction: AddPipeline's path is the contract's)
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = SqliteStore::open(&path, 10).await.unwrap();
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let tx = conn.transaction().unwrap();
    let mut last = None;
    for _ in 0..33_000 {
        let p = added_pipeline();
        tx.execute(
            "INSERT INTO pipelines (id, state, concurrency, body) VALUES (?1, 'Active', 10, ?2)",
            [p.id.as_str(), &serde_json::to_string(&p).unwrap()],
        )
        .unwrap();
        last = Some(p);
    }
    tx.commit().unwrap();
    // WHEN a job is queued in the newest one THEN the next claim starts it
    let last = last.unwrap();
    let job = Job { pipeline_id: last.id.clone(), ..Job::example() };
    store.create_job(job.clone()).await.unwrap();
    let started = store.claim_next(Timestamp::now(), LEASE).await.unwrap().expect("a job starts");
    assert_eq!(started.id, job.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_sweep_removes_old_finished_jobs_and_their_callbacks_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("jobs.db"), 10).await.unwrap();
    let mut p = added_pipeline();
    p.notify =
        Some(iprod_core::notify::NotifyTarget::Queue { name: "events".into(), endpoint: "local".into() });
    store.create_pipeline(p.clone(), 10).await.unwrap();
    let now = Timestamp::now().millis();
    // GIVEN a job finished 40 days ago whose callback went out, one finished 40 days ago whose
    // callback is still being retried, one finished yesterday, and a queued one
    let old = finished_job(&store, &p, Timestamp::from_millis(now - 40 * DAY_MS)).await;
    for cb in store.callbacks_of(&old.id).await.unwrap() {
        store.record_delivery(&cb.delivery_id, iprod_core::ports::DeliveryOutcome::Delivered).await.unwrap();
    }
    let retrying = finished_job(&store, &p, Timestamp::from_millis(now - 40 * DAY_MS)).await;
    let recent = finished_job(&store, &p, Timestamp::from_millis(now - DAY_MS)).await;
    let queued = Job { pipeline_id: p.id.clone(), ..Job::example() };
    store.create_job(queued.clone()).await.unwrap();
    // WHEN the sweep keeps 30 days
    let removed = store.sweep_finished(Timestamp::from_millis(now - 30 * DAY_MS)).await.unwrap();
    // THEN only the old, fully announced job went, with its callback records
    assert_eq!(removed, 1);
    assert!(store.job(&old.id).await.unwrap().is_none());
    assert!(store.callbacks_of(&old.id).await.unwrap().is_empty());
    for kept in [&retrying.id, &recent.id, &queued.id] {
        assert!(store.job(kept).await.unwrap().is_some(), "{kept} is kept");
    }
    assert_eq!(store.callbacks_of(&retrying.id).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_first_schema_is_moved_to_the_second_with_its_jobs() {
    // GIVEN a database written by the first schema: a finished job in an added pipeline
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let mut finished = Job::example();
    finished.start(Timestamp::from_millis(2_000)).unwrap();
    finished.succeed(json!({}), vec![], Timestamp::from_millis(5_000)).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("fixtures/schema_v1.sql")).unwrap();
        conn.execute(
            "INSERT INTO pipelines (id, state, concurrency, body) VALUES ('default', 'Active', 10, ?1)",
            [serde_json::to_string(&Pipeline::default_pipeline(Timestamp::from_millis(1))).unwrap()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO jobs (id, pipeline_id, state, priority, attempts, body) VALUES (?1, 'default', 'Success', 6, 1, ?2)",
            [finished.id.as_str(), &serde_json::to_string(&finished).unwrap()],
        )
        .unwrap();
    }
    // WHEN the service opens it
    let store = SqliteStore::open(&path, 10).await.unwrap();
    // THEN the job reads back, its finish time is known to the sweep, and new jobs get new numbers
    assert_eq!(store.job(&finished.id).await.unwrap().unwrap(), finished);
    store.create_job(Job::example()).await.unwrap();
    assert_eq!(store.sweep_finished(Timestamp::from_millis(6_000)).await.unwrap(), 1);
    assert!(store.job(&finished.id).await.unwrap().is_none());
}
