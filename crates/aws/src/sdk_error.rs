//! SDK failures as the core's errors. Throttling, timeouts and 5xx are transient (the job is
//! retried). The message a client sees names what failed and the service's own code and words;
//! the SDK's full context (request ids, the raw response) stays on the error's source, for logs.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use iprod_core::Error;

/// `doing` failed with an SDK or service error: transient, with a short message.
pub fn transient<E>(what: &str, doing: impl std::fmt::Display, e: E) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let said = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        // No answer from the service: a timeout or a connection failure; the chain says which.
        _ => {
            DisplayErrorContext(&e).to_string().lines().next().unwrap_or_default().chars().take(200).collect()
        }
    };
    Error::transient(what, format!("{doing}: {said}")).with_source(e)
}

/// A request that could not even be built: a bug on our side, not retried.
pub fn unbuildable(doing: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal(format!("{doing}: {e}")).with_source(e)
}

/// The SDK's full error context as text, for logs.
pub fn context<E: std::error::Error>(e: &E) -> String {
    DisplayErrorContext(e).to_string()
}
