//! One error type for everything a user can see: a stable `Code`, a message that says what to
//! change, and a class that decides the HTTP status and whether a job is retried.

use std::borrow::Cow;
use std::fmt;

/// What kind of failure this is. The HTTP status and the retry decision are derived from it in
/// one place each, so adapters never guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request or the media is wrong: fix the input. Never retried.
    Invalid,
    /// The caller may not do this (policy, token).
    Forbidden,
    /// The named resource does not exist.
    NotFound,
    /// The resource is in a state that does not allow this.
    Conflict,
    /// Infrastructure hiccup (I/O, a busy database, a flaky network): retried by the queue.
    Transient,
    /// A bug or an unexpected condition on our side. Not retried.
    Internal,
}

#[derive(Debug)]
pub struct Error {
    code: Cow<'static, str>,
    message: String,
    class: ErrorClass,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(class: ErrorClass, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), class, source: None }
    }

    /// `InvalidParameter.<Field>`: the named request field has a bad value.
    pub fn invalid_parameter(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Invalid, format!("InvalidParameter.{field}"), message)
    }

    /// `MissingParameter.<Field>`: a required request field is absent or empty.
    pub fn missing_parameter(field: &str) -> Self {
        Self::new(
            ErrorClass::Invalid,
            format!("MissingParameter.{field}"),
            format!("the parameter {field} is required"),
        )
    }

    pub fn forbidden(what: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Forbidden, format!("Forbidden.{what}"), message)
    }

    pub fn not_found(what: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::NotFound, format!("NotFound.{what}"), message)
    }

    pub fn conflict(what: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Conflict, format!("Conflict.{what}"), message)
    }

    /// `Conflict.JobState`: the job is not in the state a change needs (it moved on meanwhile:
    /// finished, cancelled, or taken by another attempt).
    pub fn job_state_conflict(message: impl Into<String>) -> Self {
        Self::conflict("JobState", message)
    }

    /// Whether this is [`Error::job_state_conflict`]: the change lost a race, not a failure.
    pub fn is_job_state_conflict(&self) -> bool {
        self.class == ErrorClass::Conflict && self.code == "Conflict.JobState"
    }

    /// `InvalidInput.<What>`: the media itself is unusable (corrupt, too large, wrong kind).
    pub fn invalid_input(what: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Invalid, format!("InvalidInput.{what}"), message)
    }

    pub fn transient(what: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Transient, format!("ServiceUnavailable.{what}"), message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Internal, "InternalError", message)
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// Whether a job that hit this error should go back to the queue for another attempt.
    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Transient
    }

    pub fn is_client_error(&self) -> bool {
        matches!(
            self.class,
            ErrorClass::Invalid | ErrorClass::Forbidden | ErrorClass::NotFound | ErrorClass::Conflict
        )
    }

    /// The HTTP status for this error, decided here and only here.
    pub fn http_status(&self) -> u16 {
        match self.class {
            ErrorClass::Invalid => 400,
            ErrorClass::Forbidden => 403,
            ErrorClass::NotFound => 404,
            ErrorClass::Conflict => 409,
            ErrorClass::Transient => 503,
            ErrorClass::Internal => 500,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl Clone for Error {
    /// The source chain is flattened into the message: clones cross task and thread boundaries.
    fn clone(&self) -> Self {
        let message = match &self.source {
            Some(source) => format!("{} ({source})", self.message),
            None => self.message.clone(),
        };
        Self { code: self.code.clone(), message, class: self.class, source: None }
    }
}
