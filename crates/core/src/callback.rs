//! The callback message announcing a terminal job, in exactly the seed's shape:
//! `{"Code":"Success","Details":[],"FunctionName":…,"JobId":…,"Message":"success","State":"Success","Type":"IProduction"}`
//! plus `UserData` when the job had some.

use serde::Serialize;

use crate::job::{Job, JobState};

/// Field order is the wire order; do not reorder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallbackMessage {
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Details")]
    pub details: Vec<serde_json::Value>,
    #[serde(rename = "FunctionName")]
    pub function_name: String,
    #[serde(rename = "JobId")]
    pub job_id: String,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "State")]
    pub state: String,
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(rename = "UserData", skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
}

impl CallbackMessage {
    /// The message for a terminal job; `None` while the job is still queued or running.
    pub fn for_job(job: &Job) -> Option<Self> {
        let (code, message) = match job.state {
            JobState::Success => ("Success".to_owned(), "success".to_owned()),
            JobState::Fail => job
                .error
                .as_ref()
                .map(|e| (e.code.clone(), e.message.clone()))
                .unwrap_or_else(|| ("InternalError".into(), "the job failed".into())),
            JobState::Cancelled => ("Cancelled".to_owned(), "the job was cancelled".to_owned()),
            JobState::Queuing | JobState::Analysing => return None,
        };
        Some(Self {
            code,
            details: Vec::new(),
            function_name: job.function.as_str().to_owned(),
            job_id: job.id.as_str().to_owned(),
            message,
            state: job.state.as_str().to_owned(),
            kind: "IProduction",
            user_data: job.user_data.clone(),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::FunctionName;
    use crate::time::Timestamp;

    #[test]
    fn success_message_has_the_exact_seed_shape() {
        let mut job = Job::example();
        job.id = crate::job::JobId::parse("39f8e0bc005e4f309379701645f4744c").unwrap();
        job.function = FunctionName::VideoH2V;
        job.start(Timestamp::from_millis(2)).unwrap();
        job.succeed(serde_json::Value::Null, vec![], Timestamp::from_millis(3)).unwrap();
        let json = CallbackMessage::for_job(&job).unwrap().to_json();
        assert_eq!(
            json,
            r#"{"Code":"Success","Details":[],"FunctionName":"VideoH2V","JobId":"39f8e0bc005e4f309379701645f4744c","Message":"success","State":"Success","Type":"IProduction"}"#
        );
        job.user_data = Some("{\"k\":1}".into());
        assert!(CallbackMessage::for_job(&job).unwrap().to_json().ends_with(r#","UserData":"{\"k\":1}"}"#));
    }

    #[test]
    fn failure_carries_the_error_code() {
        let mut job = Job::example();
        job.start(Timestamp::from_millis(2)).unwrap();
        job.fail(&crate::Error::invalid_input("Media", "not a video"), Timestamp::from_millis(3)).unwrap();
        let msg = CallbackMessage::for_job(&job).unwrap();
        assert_eq!(
            (msg.code.as_str(), msg.state.as_str(), msg.message.as_str()),
            ("InvalidInput.Media", "Fail", "not a video")
        );
        assert!(CallbackMessage::for_job(&Job::example()).is_none());
    }
}
