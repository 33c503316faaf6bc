//! The embedded job store: SQLite in WAL mode is both the durable record and the queue.

mod db;
mod schema;
mod store;

pub use store::SqliteStore;
