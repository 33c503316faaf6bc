//! One behavioural suite, two backends: the embedded SQLite store and the DynamoDB store (on the
//! moto emulator) must both pass every case in `iprod_tests::contract`.

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
);
