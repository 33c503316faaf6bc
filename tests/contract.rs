//! One behavioural suite, two backends: the embedded SQLite store and the DynamoDB store (on the
//! moto emulator) must both pass every case in `iprod_tests::contract`.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::sync::Arc;

use iprod_aws::DynamoStore;
use iprod_aws::dynamo::schema::create_table;
use iprod_core::ports::JobStore;
use iprod_local::SqliteStore;
use iprod_tests::moto::{Moto, unique};

/// Keeps what the store lives on (a temp directory, an emulator) alive for the test.
struct Backend {
    store: Arc<dyn JobStore>,
    _dir: Option<tempfile::TempDir>,
    _moto: Option<Moto>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("jobs.db"), 10).await.unwrap();
    Backend { store: Arc::new(store), _dir: Some(dir), _moto: None }
}

async fn dynamodb() -> Backend {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let table = unique("jobs");
    create_table(&clients.dynamodb, &table).await.unwrap();
    let store = DynamoStore::new(clients.dynamodb.clone(), table);
    store.ensure_default_pipeline(10).await.unwrap();
    Backend { store: Arc::new(store), _dir: None, _moto: Some(moto) }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::sqlite().await;
                    iprod_tests::contract::$case(backend.store.clone()).await;
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = super::dynamodb().await;
                    iprod_tests::contract::$case(backend.store.clone()).await;
                }
            )*
        }
    };
}

contract!(
    a_created_job_reads_back_whole_and_a_client_token_is_idempotent,
    claims_hold_the_pipeline_concurrency_and_free_a_slot_at_the_end,
    racing_claims_never_exceed_concurrency,
    a_terminal_state_is_conditional_and_writes_its_callbacks_once,
    heartbeats_show_progress_and_notice_cancellation,
    lost_attempts_are_requeued_then_failed_with_a_code,
    listing_pages_newest_first_with_filters,
    claim_next_takes_priority_then_arrival_and_skips_blocked_work,
    pipelines_are_created_updated_and_listed,
    a_withdrawn_job_leaves_no_trace_and_frees_its_client_token,
    the_pipeline_cap_holds_under_racing_adds,
    a_pipeline_is_deleted_only_without_unfinished_jobs,
    listings_keep_to_a_tenant,
    callbacks_are_read_by_delivery_id_and_stale_queued_jobs_are_found,
    queue_messages_are_settled_once_over_the_store,
);

mod object_stores {
    use super::*;
    use iprod_aws::S3ObjectStore;
    use iprod_local::objects::DirObjectStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn directory_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirObjectStore::new(dir.path().join("buckets"), ["media"]).unwrap();
        iprod_tests::contract::objects_round_trip_and_a_missing_input_is_named(Arc::new(store), "media")
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn s3_buckets() {
        let moto = Moto::start();
        let clients = moto.clients().await;
        let bucket = unique("media");
        clients.s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let store = S3ObjectStore::new(clients.s3.clone());
        iprod_tests::contract::objects_round_trip_and_a_missing_input_is_named(Arc::new(store), &bucket)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_outputs_go_up_in_parts() {
        use iprod_core::object_url::ObjectUrl;
        use iprod_core::ports::ObjectStore;
        let moto = Moto::start();
        let clients = moto.clients().await;
        let bucket = unique("media");
        clients.s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let store = S3ObjectStore::new(clients.s3.clone()).with_part_size(5 * 1024 * 1024);
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("big.mp4");
        let body: Vec<u8> = (0..11 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&src, &body).unwrap();
        let url = ObjectUrl { bucket: bucket.clone(), key: "out/big.mp4".into() };
        store.store(&url, &src).await.unwrap();
        let head = clients.s3.head_object().bucket(&bucket).key("out/big.mp4").send().await.unwrap();
        let etag = head.e_tag().unwrap();
        assert!(etag.trim_matches('"').ends_with("-3"), "three parts (5 + 5 + 1 MiB): ETag {etag}");
        let back = dir.path().join("back.mp4");
        assert_eq!(store.fetch(&url, &back, u64::MAX).await.unwrap(), body.len() as u64);
        assert!(std::fs::read(&back).unwrap() == body, "the parts join into the original");
        let uploads = clients.s3.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
        assert!(uploads.uploads().is_empty(), "no upload left open");
    }
}
