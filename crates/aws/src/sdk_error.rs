//! SDK failures as the core's errors: throttling, timeouts and 5xx are transient (the job is
//! retried); the message keeps the SDK's full context for the operator.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use iprod_core::Error;

pub fn transient<E>(what: &str, doing: impl std::fmt::Display, e: E) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    Error::transient(what, format!("{doing}: {}", DisplayErrorContext(&e))).with_source(e)
}

/// The SDK's full error context as text (the plain `Display` of an SDK error says little).
pub fn context<E: std::error::Error>(e: &E) -> String {
    DisplayErrorContext(e).to_string()
}
