//! Pipelines: a queue with a concurrency limit, a state, and its own notification target.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorClass, Result};
use crate::notify::NotifyTarget;
use crate::time::Timestamp;

pub const DEFAULT_PIPELINE_ID: &str = "default";
pub const DEFAULT_CONCURRENCY: u32 = 10;
pub const MAX_CONCURRENCY: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PipelineId(String);

impl PipelineId {
    pub fn default_pipeline() -> Self {
        Self(DEFAULT_PIPELINE_ID.to_owned())
    }

    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Empty means the default pipeline; otherwise 1-64 of `[A-Za-z0-9_-]`.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self::default_pipeline());
        }
        if raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid_parameter(
                "PipelineId",
                format!("PipelineId {raw:?} must be 1-64 letters, digits, '-' or '_'"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PipelineState {
    Active,
    /// Keeps its queued jobs and starts none.
    Paused,
}

impl PipelineState {
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "Active" => Ok(Self::Active),
            "Paused" => Ok(Self::Paused),
            _ => Err(Error::invalid_parameter(
                "State",
                format!("pipeline State {raw:?} must be Active or Paused"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Paused => "Paused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: PipelineId,
    pub name: String,
    pub state: PipelineState,
    pub concurrency: u32,
    pub notify: Option<NotifyTarget>,
    /// The key that signs webhooks to the pipeline's target (`crate::signing`); never shown by
    /// queries.
    pub secret: Option<String>,
    pub create_time: Timestamp,
    /// The tenant whose access key added it; `None`: the operator's.
    #[serde(default)]
    pub tenant: Option<String>,
}

impl Pipeline {
    pub fn default_pipeline(now: Timestamp) -> Self {
        Self {
            id: PipelineId::default_pipeline(),
            name: "default".into(),
            state: PipelineState::Active,
            concurrency: DEFAULT_CONCURRENCY,
            notify: None,
            secret: None,
            create_time: now,
            tenant: None,
        }
    }
}

/// How many pipelines a deployment holds unless configured otherwise: far more than a team uses,
/// far fewer than would slow listings and claims.
pub const DEFAULT_MAX_PIPELINES: usize = 1000;

/// `AddPipeline` past the configured number of pipelines.
pub fn quota_exceeded(limit: usize) -> Error {
    Error::new(
        ErrorClass::Forbidden,
        "QuotaExceeded.Pipelines",
        format!(
            "this service holds at most {limit} pipelines besides the default: delete unused ones with DeletePipeline, \
             or raise the limit (max_pipelines in the configuration)"
        ),
    )
}

/// `DeletePipeline` of a pipeline that still has work.
pub fn busy(id: &PipelineId, unfinished: u64) -> Error {
    Error::conflict(
        "PipelineBusy",
        format!(
            "pipeline {:?} still has {unfinished} queued or running job(s): cancel them or wait for them \
             to finish, then delete it",
            id.as_str()
        ),
    )
}

pub fn missing(id: &PipelineId) -> Error {
    Error::not_found("Pipeline", format!("PipelineId {:?} does not exist", id.as_str()))
}

pub fn parse_concurrency(raw: &str) -> Result<u32> {
    match raw.trim().parse::<u32>() {
        Ok(n @ 1..=MAX_CONCURRENCY) => Ok(n),
        _ => Err(Error::invalid_parameter(
            "Concurrency",
            format!("Concurrency {raw:?} must be an integer from 1 to {MAX_CONCURRENCY}"),
        )),
    }
}

pub fn parse_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::missing_parameter("Name"));
    }
    if name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(Error::invalid_parameter("Name", "Name must be at most 128 printable characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_pipeline_id_is_the_default_pipeline() {
        assert_eq!(PipelineId::parse("").unwrap(), PipelineId::default_pipeline());
        assert_eq!(PipelineId::parse("a/b").unwrap_err().code(), "InvalidParameter.PipelineId");
    }

    #[test]
    fn concurrency_bounds() {
        assert_eq!(parse_concurrency("10").unwrap(), 10);
        assert!(parse_concurrency("0").is_err() && parse_concurrency("1001").is_err());
    }
}
