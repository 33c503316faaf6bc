//! The job record and its state machine:
//! `Queuing → Analysing → Success | Fail`, `Queuing | Analysing → Cancelled`.
//! A lost or transiently failed attempt goes `Analysing → Queuing` (a retry, counted in `attempts`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::function::FunctionName;
use crate::pipeline::PipelineId;
use crate::time::Timestamp;

/// 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(String);

impl JobId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self> {
        if raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid_parameter(
                "JobId",
                format!("JobId {raw:?} is not 32 lowercase hex characters"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobState {
    Queuing,
    Analysing,
    Success,
    Fail,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] =
        [Self::Queuing, Self::Analysing, Self::Success, Self::Fail, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queuing => "Queuing",
            Self::Analysing => "Analysing",
            Self::Success => "Success",
            Self::Fail => "Fail",
            Self::Cancelled => "Cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Success | Self::Fail | Self::Cancelled)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            Error::invalid_parameter(
                "State",
                format!("unknown State {s:?}: use Queuing, Analysing, Success, Fail or Cancelled"),
            )
        })
    }
}

/// Larger runs first; FIFO within a priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Priority(u8);

impl Priority {
    pub const DEFAULT: Priority = Priority(6);

    pub fn parse(raw: &str) -> Result<Self> {
        match raw.trim().parse::<u8>() {
            Ok(p @ 1..=10) => Ok(Self(p)),
            _ => Err(Error::invalid_parameter(
                "Priority",
                format!("Priority {raw:?} must be an integer from 1 to 10"),
            )),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a job failed, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub function: FunctionName,
    pub model_id: String,
    /// As submitted (echoed by Query).
    pub input: String,
    /// The output template as submitted.
    pub output: String,
    /// The JobParams string as submitted.
    pub job_params: String,
    pub pipeline_id: PipelineId,
    pub user_data: Option<String>,
    pub notify_url: Option<String>,
    /// The key that signs webhooks to `notify_url` (`crate::signing`); never shown by queries.
    #[serde(default)]
    pub notify_secret: Option<String>,
    pub priority: Priority,
    pub client_token: Option<String>,
    pub state: JobState,
    pub progress: u8,
    pub result: Option<Value>,
    pub output_files: Vec<String>,
    pub error: Option<JobError>,
    /// Attempts started so far (a crash or a transient error costs one).
    pub attempts: u32,
    /// A retried job is not started again before this instant (backoff).
    #[serde(default)]
    pub not_before: Option<Timestamp>,
    pub create_time: Timestamp,
    pub start_time: Option<Timestamp>,
    pub finish_time: Option<Timestamp>,
    /// The tenant whose access key submitted it; `None`: the operator's.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Where its attempts run on AWS (decided at submit, `crate::route`); `None` embedded.
    #[serde(default)]
    pub runner: Option<crate::route::Runner>,
}

impl Job {
    fn transition(&mut self, allowed_from: &[JobState], to: JobState) -> Result<()> {
        if allowed_from.contains(&self.state) {
            self.state = to;
            Ok(())
        } else {
            Err(Error::job_state_conflict(format!(
                "job {} is {} and cannot become {to}",
                self.id, self.state
            )))
        }
    }

    pub fn start(&mut self, now: Timestamp) -> Result<()> {
        self.transition(&[JobState::Queuing], JobState::Analysing)?;
        self.attempts += 1;
        self.progress = 0;
        self.start_time = Some(now);
        Ok(())
    }

    pub fn succeed(&mut self, result: Value, output_files: Vec<String>, now: Timestamp) -> Result<()> {
        self.transition(&[JobState::Analysing], JobState::Success)?;
        self.progress = 100;
        self.result = Some(result);
        self.output_files = output_files;
        self.finish_time = Some(now);
        Ok(())
    }

    pub fn fail(&mut self, error: &Error, now: Timestamp) -> Result<()> {
        self.transition(&[JobState::Analysing], JobState::Fail)?;
        self.record_failure(error, now);
        Ok(())
    }

    /// Ends a job the runtime gives up on (its time ran out, its message was dead-lettered) as
    /// `Fail`, whether it was running or still queued: a queued one ends without an attempt.
    pub fn give_up(&mut self, error: &Error, now: Timestamp) -> Result<()> {
        self.transition(&[JobState::Queuing, JobState::Analysing], JobState::Fail)?;
        self.record_failure(error, now);
        Ok(())
    }

    fn record_failure(&mut self, error: &Error, now: Timestamp) {
        self.error = Some(JobError { code: error.code().to_owned(), message: error.message().to_owned() });
        self.finish_time = Some(now);
    }

    pub fn cancel(&mut self, now: Timestamp) -> Result<()> {
        self.transition(&[JobState::Queuing, JobState::Analysing], JobState::Cancelled)?;
        self.finish_time = Some(now);
        Ok(())
    }

    /// A queued Cover job in the default pipeline with typical values, for the tests of every
    /// crate (each changes what it needs).
    pub fn example() -> Job {
        Job {
            id: JobId::generate(),
            function: FunctionName::Cover,
            model_id: String::new(),
            input: "oss://in/a.mp4".into(),
            output: "oss://out/{source}.jpg".into(),
            job_params: String::new(),
            pipeline_id: PipelineId::default_pipeline(),
            user_data: None,
            notify_url: None,
            notify_secret: None,
            tenant: None,
            runner: None,
            priority: Priority::DEFAULT,
            client_token: None,
            state: JobState::Queuing,
            progress: 0,
            result: None,
            output_files: vec![],
            error: None,
            attempts: 0,
            not_before: None,
            create_time: Timestamp::from_millis(1),
            start_time: None,
            finish_time: None,
        }
    }

    /// Back to the queue after a lost or transiently failed attempt, not to start before `not_before`.
    pub fn requeue(&mut self, not_before: Option<Timestamp>) -> Result<()> {
        self.transition(&[JobState::Analysing], JobState::Queuing)?;
        self.progress = 0;
        self.not_before = not_before;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_32_lowercase_hex() {
        let id = JobId::generate();
        assert_eq!(JobId::parse(id.as_str()).unwrap(), id);
        assert_eq!(
            JobId::parse("ABCDEF0123456789abcdef0123456789").unwrap_err().code(),
            "InvalidParameter.JobId"
        );
    }

    #[test]
    fn legal_path_through_the_machine() {
        let mut job = Job::example();
        job.start(Timestamp::from_millis(2)).unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Analysing, 1));
        job.requeue(None).unwrap();
        job.start(Timestamp::from_millis(3)).unwrap();
        assert_eq!(job.attempts, 2);
        job.succeed(Value::Null, vec!["oss://out/a.jpg".into()], Timestamp::from_millis(4)).unwrap();
        assert_eq!((job.state, job.progress), (JobState::Success, 100));
    }

    #[test]
    fn illegal_transitions_are_conflicts() {
        let mut job = Job::example();
        assert_eq!(
            job.fail(&Error::internal("x"), Timestamp::from_millis(2)).unwrap_err().code(),
            "Conflict.JobState"
        );
        job.cancel(Timestamp::from_millis(2)).unwrap();
        for result in
            [job.cancel(Timestamp::from_millis(3)), job.start(Timestamp::from_millis(3)), job.requeue(None)]
        {
            assert_eq!(result.unwrap_err().code(), "Conflict.JobState");
        }
        assert_eq!(job.state, JobState::Cancelled);
    }

    #[test]
    fn priority_is_one_to_ten() {
        assert_eq!(Priority::parse("10").unwrap().get(), 10);
        assert!(
            Priority::parse("0").is_err() && Priority::parse("11").is_err() && Priority::parse("x").is_err()
        );
    }
}
