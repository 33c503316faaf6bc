//! Embedded adapters: everything IProduction needs on one machine, with nothing to install but
//! the binary, ffmpeg and the model pack.

pub mod capacity;
pub mod dispatcher;
pub mod embedded;
pub mod keys;
pub mod notifier;
pub mod objects;
pub mod queue;
pub mod retention;
pub mod sqlite;
pub mod triggers;

pub use embedded::{Embedded, EmbeddedConfig};
pub use sqlite::SqliteStore;
