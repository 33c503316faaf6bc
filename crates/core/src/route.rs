//! Where a job's attempts run on AWS: the process Lambda (15 minutes at most, CPU, no full U²-Net)
//! or the worker fleet (containers on GPU instances, `process --worker`, no time limit). The
//! choice is made once, at submit, from the deployment's rules, and recorded on the job
//! (`Runner` in QueryIProductionJob): each runner has its own queue, and every announcement of
//! the job (retries, a full pipeline's wait, a resumed pipeline) goes to its runner's queue.
//! The embedded service has one runner and records none.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::function::FunctionName;
use crate::job::Job;

/// The runner of a job's attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Runner {
    Lambda,
    Fleet,
}

impl Runner {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lambda => "Lambda",
            Self::Fleet => "Fleet",
        }
    }
}

/// Which jobs the fleet runs (`IPROD_FLEET_ROUTES`, the template's `FleetRoutes`): a job goes
/// there when any rule names it. For example
/// `{"pipelines": ["gpu-jobs"], "functions": ["VideoDelogo"], "models": ["u2net"],
/// "longer_than_secs": 600}` sends every job of the pipeline `gpu-jobs`, every VideoDelogo, and
/// ImageMatting with `ModelId u2net` (which the Lambda cannot load) to the fleet at submit; and a
/// video found longer than 10 minutes when the Lambda has it (its duration is known only once it
/// is downloaded and probed) is handed to the fleet then, before any work on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetRoutes {
    /// Pipeline ids whose jobs all run on the fleet.
    pub pipelines: Vec<String>,
    /// Functions that always run on the fleet.
    pub functions: Vec<FunctionName>,
    /// ModelIds that run on the fleet, whatever the function.
    pub models: Vec<String>,
    /// Videos longer than this many seconds are handed from the Lambda to the fleet.
    pub longer_than_secs: Option<u64>,
}

impl FleetRoutes {
    /// Reads the rules; `field` names the setting in messages.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        if raw.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(raw).map_err(|e| {
            Error::invalid_parameter(
                "FleetRoutes",
                format!(
                    "{field} must be JSON like {{\"pipelines\": [\"gpu-jobs\"], \"functions\": [\"VideoH2V\"], \"models\": [\"u2net\"]}}: {e}"
                ),
            )
        })
    }

    /// The runner of `job` under these rules.
    pub fn runner_for(&self, job: &Job) -> Runner {
        let named = self.pipelines.iter().any(|p| p == job.pipeline_id.as_str())
            || self.functions.contains(&job.function)
            || (!job.model_id.is_empty() && self.models.iter().any(|m| m == &job.model_id));
        if named { Runner::Fleet } else { Runner::Lambda }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::PipelineId;

    fn job(function: FunctionName, model: &str, pipeline: &str) -> Job {
        let mut job = Job::example();
        job.function = function;
        job.model_id = model.into();
        job.pipeline_id = PipelineId::parse(pipeline).unwrap();
        job
    }

    #[test]
    fn any_rule_that_names_the_job_sends_it_to_the_fleet() {
        let routes = FleetRoutes::parse(
            "IPROD_FLEET_ROUTES",
            r#"{"pipelines": ["0123456789abcdef0123456789abcdef"], "functions": ["VideoDelogo"], "models": ["u2net"], "longer_than_secs": 600}"#,
        )
        .unwrap();
        let gpu_pipeline = "0123456789abcdef0123456789abcdef";
        assert_eq!(routes.runner_for(&job(FunctionName::ImageMatting, "u2net", "")), Runner::Fleet);
        assert_eq!(routes.runner_for(&job(FunctionName::ImageMatting, "u2netp", "")), Runner::Lambda);
        assert_eq!(routes.runner_for(&job(FunctionName::VideoDelogo, "", "")), Runner::Fleet);
        assert_eq!(routes.runner_for(&job(FunctionName::ImageH2V, "", gpu_pipeline)), Runner::Fleet);
        assert_eq!(routes.runner_for(&job(FunctionName::ImageH2V, "", "")), Runner::Lambda);
        assert_eq!(FleetRoutes::default().runner_for(&job(FunctionName::VideoH2V, "", "")), Runner::Lambda);
    }

    #[test]
    fn unknown_keys_and_functions_are_refused_with_the_setting_named() {
        for raw in [r#"{"model": ["u2net"]}"#, r#"{"functions": ["Upscale"]}"#, "u2net"] {
            let e = FleetRoutes::parse("IPROD_FLEET_ROUTES", raw).unwrap_err();
            assert!(e.message().contains("IPROD_FLEET_ROUTES"), "{raw}: {}", e.message());
        }
    }
}
