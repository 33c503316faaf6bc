//! `iprod run FUNCTION INPUT OUTPUT`: one function on local files, with a progress bar. The same
//! validation as a submitted job (JobParams, ModelId, output extension) applies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use iprod_core::object_url::ObjectUrl;
use iprod_core::params::JobParams;
use iprod_core::ports::{MediaTask, OutputNaming, Progress};
use iprod_core::template::OutputTemplate;
use iprod_core::{FunctionName, JobId, PipelineId, Timestamp};
use iprod_media::{Engine, MediaEngine};

use crate::ConfigArgs;
use crate::config::Config;

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// VideoH2V, VideoDelogo, Cover, VideoClip, ImageMatting, ImageH2V or ImageDelogo.
    function: String,
    input: PathBuf,
    /// Output file; may use {source}, {timestamp} and {sequenceId}.
    output: PathBuf,
    /// JobParams as a JSON object.
    #[arg(long, default_value = "")]
    params: String,
    /// ModelId (default: the function's default model).
    #[arg(long, default_value = "")]
    model: String,
    /// Print the job's whole Result as JSON (the default is a short summary).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Default)]
struct BarProgress(AtomicU8);

impl Progress for BarProgress {
    fn report(&self, percent: u8) {
        self.0.fetch_max(percent, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        false
    }
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{} has no usable file name", path.display()))
}

pub(crate) async fn run(args: RunArgs) -> Result<ExitCode> {
    let config = Config::load(args.config.config.as_deref(), |k| std::env::var(k).ok(), &[])?;
    let engine = Engine::new(config.engine.clone());
    let function: FunctionName = args.function.parse()?;
    let params = JobParams::parse(function, &args.params)?;
    let model_id = iprod_core::catalog::resolve_model(function, &args.model)?;
    if !args.input.is_file() {
        bail!("the input {} is not a file", args.input.display());
    }
    // The local files are named like objects so the output naming rules are the same as a job's.
    let input = ObjectUrl { bucket: "local".into(), key: file_name(&args.input)? };
    let template = OutputTemplate::parse(&format!("oss://local/{}", file_name(&args.output)?))?;
    iprod_core::catalog::check_output(function, &params, &template)?;
    let work = tempfile_dir()?;
    let started = Timestamp::now();
    let task = MediaTask {
        job_id: JobId::generate(),
        pipeline_id: PipelineId::default_pipeline(),
        function,
        model_id,
        params,
        input: args.input.clone(),
        work_dir: work.clone(),
        outputs: OutputNaming { input, template, timestamp: started.unix_seconds() },
    };
    let progress = Arc::new(BarProgress::default());
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}%")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(function.to_string());
    let ticker = {
        let (bar, progress) = (bar.clone(), progress.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position(u64::from(progress.0.load(Ordering::Relaxed)));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let outcome = engine.process(&task, progress.as_ref()).await;
    ticker.abort();
    let output = match outcome {
        Ok(output) => output,
        Err(e) => {
            bar.abandon_with_message(format!("{function} failed"));
            let _ = std::fs::remove_dir_all(&work);
            return Err(anyhow!("{}: {}", e.code(), e.message()));
        }
    };
    bar.finish_with_message(format!("{function} done"));
    let out_dir = args.output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let count = output.files.len();
    for (index, file) in output.files.iter().enumerate() {
        let name = task.outputs.url(index, count)?.key;
        let dest = out_dir.join(name);
        std::fs::copy(file, &dest).with_context(|| format!("writing {}", dest.display()))?;
        println!("{}", dest.display());
    }
    if args.json {
        println!("{}", output.result);
    } else {
        println!("{}", summary(&output.result));
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(ExitCode::SUCCESS)
}

/// The few numbers of a Result a person reads: its plain values, and how many entries each
/// list has (a VideoH2V crop path has one per frame: `--json` prints it whole).
fn summary(result: &serde_json::Value) -> String {
    let Some(fields) = result.as_object() else { return result.to_string() };
    fields
        .iter()
        .map(|(name, value)| match value {
            serde_json::Value::Array(items) => format!("{name}: {} entries", items.len()),
            serde_json::Value::Object(inner) => format!("{name}: {} fields", inner.len()),
            serde_json::Value::String(text) => format!("{name}: {text}"),
            other => format!("{name}: {other}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("iprod-run-{}", JobId::generate()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
