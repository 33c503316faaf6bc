//! IProduction's domain: what a job is, what makes a request valid, how a job moves through its
//! states, and the use-cases over the ports that embedded and AWS adapters implement.

pub mod access;
pub mod callback;
pub mod catalog;
pub mod error;
pub mod function;
pub mod job;
pub mod notify;
pub mod object_url;
pub mod outbox;
pub mod params;
pub mod pipeline;
pub mod ports;
pub mod processing;
pub mod relay;
pub mod retention;
pub mod route;
pub mod service;
pub mod signing;
pub mod template;
pub mod tenant;
pub mod time;
pub mod trigger;
pub mod worker;

pub use error::{Error, ErrorClass, Result};
pub use function::FunctionName;
pub use job::{Job, JobId, JobState, Priority};
pub use pipeline::{Pipeline, PipelineId, PipelineState};
pub use time::Timestamp;
