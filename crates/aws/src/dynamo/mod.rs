//! The job store on one DynamoDB table: jobs, pipelines (with their running-slot counters), client
//! tokens and the callback outbox are items of one table, so a claim or a terminal state and its
//! callbacks are a single `TransactWriteItems`.

mod items;
pub mod schema;
mod store;
mod table;

pub use store::DynamoStore;
// The access keys (crate::keys) are items of the same table.
pub(crate) use items::Item;
pub(crate) use table::Table;
