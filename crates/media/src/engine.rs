//! The engine behind every job. Each function is dispatched to its algorithm module; a function
//! whose algorithm has not landed yet fails its jobs with `Unsupported.Function`, never a fake
//! output.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use iprod_core::params::JobParams;
use iprod_core::ports::{MediaEngine, MediaOutput, MediaTask, Progress};
use iprod_core::template::OutputTemplate;
use iprod_core::{Error, ErrorClass, FunctionName, Result};
use serde::{Deserialize, Serialize};

use crate::{formats, models};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Directory holding the ONNX Runtime library and the models (see layers/).
    pub model_dir: PathBuf,
    /// Threads per inference session.
    pub inference_threads: usize,
    /// Longest a single ffmpeg/ffprobe run may take, in seconds.
    pub process_timeout_secs: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            model_dir: ".iprod/model-pack".into(),
            inference_threads: 2,
            process_timeout_secs: 3600,
        }
    }
}

impl EngineSettings {
    pub fn process_timeout(&self) -> Duration {
        Duration::from_secs(self.process_timeout_secs)
    }
}

pub struct Engine {
    settings: EngineSettings,
}

impl Engine {
    pub fn new(settings: EngineSettings) -> Self {
        Self { settings }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }
}

#[async_trait]
impl MediaEngine for Engine {
    fn resolve_model(&self, function: FunctionName, model_id: &str) -> Result<String> {
        models::resolve(function, model_id)
    }

    fn check_output(
        &self,
        function: FunctionName,
        params: &JobParams,
        template: &OutputTemplate,
    ) -> Result<()> {
        formats::check_output(function, params, template)
    }

    async fn process(&self, task: &MediaTask, _progress: &dyn Progress) -> Result<MediaOutput> {
        // Every input is probed before anything else, so unreadable media fails the same way
        // for every function.
        crate::probe::probe(&self.settings.ffprobe, &task.input, self.settings.process_timeout()).await?;
        Err(Error::new(
            ErrorClass::Internal,
            "Unsupported.Function",
            format!("{} is not available in this build yet: its algorithm has not landed", task.function),
        ))
    }
}
