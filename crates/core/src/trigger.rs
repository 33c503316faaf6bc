//! Upload triggers: a rule (bucket + key prefix → function, output, params, pipeline) submits a
//! job when a file lands under the prefix. The embedded service finds uploads by scanning its
//! bucket directories, the AWS deployment from S3 events; both submit through the rule here.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::service::SubmitRequest;
use crate::template::OutputTemplate;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRule {
    pub bucket: String,
    /// Key prefix, e.g. `incoming/` (empty: the whole bucket).
    #[serde(default)]
    pub prefix: String,
    pub function_name: String,
    /// Output template, e.g. `oss://media/vertical/{source}.mp4`.
    pub output: String,
    #[serde(default)]
    pub job_params: String,
    #[serde(default)]
    pub pipeline_id: String,
    #[serde(default)]
    pub model_id: String,
}

impl TriggerRule {
    /// Refuses rules whose outputs would land under their own prefix (an endless loop).
    pub fn validate(&self) -> Result<()> {
        let template = OutputTemplate::parse(&self.output)?;
        if template.bucket() == self.bucket && template.key_template().starts_with(&self.prefix) {
            return Err(Error::invalid_parameter(
                "Trigger",
                format!(
                    "trigger on {}/{} writes its outputs under its own prefix ({}): every output would trigger another job; choose an Output outside the prefix",
                    self.bucket, self.prefix, self.output
                ),
            ));
        }
        Ok(())
    }

    /// The submit for an upload at `input`; `identity_hash` (hex) names the upload, so the same
    /// upload always gets the same ClientToken and makes one job.
    pub fn request(&self, input: &str, identity_hash: &str) -> SubmitRequest {
        SubmitRequest {
            function_name: Some(self.function_name.clone()),
            model_id: Some(self.model_id.clone()),
            input: Some(input.to_owned()),
            output: Some(self.output.clone()),
            job_params: Some(self.job_params.clone()),
            pipeline_id: Some(self.pipeline_id.clone()),
            client_token: Some(format!("upload-{}", &identity_hash[..identity_hash.len().min(40)])),
            ..SubmitRequest::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_writing_into_its_own_prefix_is_refused() {
        let rule = TriggerRule {
            bucket: "media".into(),
            prefix: "in/".into(),
            function_name: "ImageMatting".into(),
            output: "oss://media/in/cut/{source}.png".into(),
            job_params: String::new(),
            pipeline_id: String::new(),
            model_id: String::new(),
        };
        assert_eq!(rule.validate().unwrap_err().code(), "InvalidParameter.Trigger");
        TriggerRule { output: "oss://media/out/{source}.png".into(), ..rule }.validate().unwrap();
    }
}
