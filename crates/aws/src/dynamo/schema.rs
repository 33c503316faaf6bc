//! The table's keys and indexes. `template.yaml` declares the same table; `create_table` is for
//! emulators and tests, and a test checks the two agree.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use iprod_core::Result;

use crate::sdk_error::{transient, unbuildable};

/// The partition key of every item: a job id, `pipeline#ID`, `token#TOKEN` or `callback#ID`.
pub const KEY: &str = "Id";

/// The attribute DynamoDB's time-to-live deletes items by (epoch seconds; `template.yaml`
/// enables TTL on it): finished jobs, their callbacks and client tokens get it.
pub const EXPIRES: &str = "Expires";

/// A global secondary index: its name, partition key and sort key (attribute, is-number).
pub struct Index {
    pub name: &'static str,
    pub partition: &'static str,
    pub sort: (&'static str, bool),
}

/// Jobs of one pipeline, by creation time (ListIProductionJobs with a PipelineId).
pub const BY_PIPELINE: Index = Index { name: "ByPipeline", partition: "Pipeline", sort: ("Created", false) };
/// Every job, or every pipeline, by creation time.
pub const BY_KIND: Index = Index { name: "ByKind", partition: "Kind", sort: ("Created", false) };
/// Sparse: queued jobs, most urgent first (priority, then first come).
pub const WAITING: Index = Index { name: "Waiting", partition: "Waiting", sort: ("Rank", false) };
/// Sparse: running jobs by lease expiry, to find attempts whose worker died.
pub const LEASES: Index = Index { name: "Leases", partition: "Leased", sort: ("LeaseUntil", true) };
/// Sparse: pending callbacks by next attempt.
pub const OUTBOX: Index = Index { name: "Outbox", partition: "Outbox", sort: ("Due", true) };
/// The callbacks of one job.
pub const BY_JOB: Index = Index { name: "ByJob", partition: "JobId", sort: (KEY, false) };

pub const INDEXES: [&Index; 6] = [&BY_PIPELINE, &BY_KIND, &WAITING, &LEASES, &OUTBOX, &BY_JOB];

/// Creates the table (on-demand capacity, a stream of new images for the notify function).
pub async fn create_table(client: &Client, table: &str) -> Result<()> {
    let mut attributes: Vec<(&str, bool)> = vec![(KEY, false)];
    for index in INDEXES {
        for attr in [(index.partition, false), index.sort] {
            if !attributes.iter().any(|(a, _)| *a == attr.0) {
                attributes.push(attr);
            }
        }
    }
    let definitions = attributes
        .into_iter()
        .map(|(name, number)| {
            let kind = if number { ScalarAttributeType::N } else { ScalarAttributeType::S };
            AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unbuildable("building the table definition", e))?;
    let key =
        |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    let mut indexes = Vec::new();
    for index in INDEXES {
        let built = GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .key_schema(key(index.partition, KeyType::Hash).map_err(|e| unbuildable("index", e))?)
            .key_schema(key(index.sort.0, KeyType::Range).map_err(|e| unbuildable("index", e))?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| unbuildable("building an index definition", e))?;
        indexes.push(built);
    }
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .key_schema(key(KEY, KeyType::Hash).map_err(|e| unbuildable("key", e))?)
        .set_global_secondary_indexes(Some(indexes))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(|e| unbuildable("stream", e))?,
        )
        .send()
        .await
        .map_err(|e| transient("Database", format!("creating table {table}"), e))?;
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(EXPIRES)
        .enabled(true)
        .build()
        .map_err(|e| unbuildable("time to live", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| transient("Database", format!("enabling time to live on {table}"), e))?;
    Ok(())
}
