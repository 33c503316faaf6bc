//! What the video function tests share: the engine on the repository's model pack, a task for a
//! local clip, ffmpeg/ffprobe helpers, and measurements of rendered outputs.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use iprod_core::object_url::ObjectUrl;
use iprod_core::params::JobParams;
use iprod_core::ports::{MediaEngine, MediaOutput, MediaTask, OutputNaming, Progress};
use iprod_core::template::OutputTemplate;
use iprod_core::{FunctionName, JobId, PipelineId};
use iprod_media::{Engine, EngineSettings};

pub(crate) struct Quiet;

impl Progress for Quiet {
    fn report(&self, _: u8) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// Keeps every progress report.
#[derive(Default)]
pub(crate) struct Recorder(pub std::sync::Mutex<Vec<u8>>);

impl Progress for Recorder {
    fn report(&self, percent: u8) {
        self.0.lock().unwrap().push(percent);
    }
    fn is_cancelled(&self) -> bool {
        false
    }
}

pub(crate) fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

/// Runs ffmpeg (quiet, overwriting) and insists it succeeds.
pub(crate) fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).status().unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

/// One ffprobe entry (e.g. "format=duration") of `path`, as text.
pub(crate) fn ffprobe(path: &Path, entries: &str, stream: Option<&str>) -> String {
    let mut command = Command::new("ffprobe");
    command.args(["-v", "error"]);
    if let Some(s) = stream {
        command.args(["-select_streams", s]);
    }
    let out = command.args(["-show_entries", entries, "-of", "csv=p=0"]).arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub(crate) fn engine() -> Engine {
    Engine::new(EngineSettings { model_dir: repo(".iprod/model-pack"), ..EngineSettings::default() })
}

/// Runs `function` on `input` with `params`, outputs named by `template`.
pub(crate) async fn run(
    function: FunctionName,
    params: &str,
    input: &Path,
    work: &Path,
    template: &str,
) -> iprod_core::Result<MediaOutput> {
    run_reporting(function, params, input, work, template, &Quiet).await
}

/// [`run`], with the job's progress reported to `progress`.
pub(crate) async fn run_reporting(
    function: FunctionName,
    params: &str,
    input: &Path,
    work: &Path,
    template: &str,
    progress: &dyn Progress,
) -> iprod_core::Result<MediaOutput> {
    engine().process(&task(function, params, input, work, template), progress).await
}

/// The task of running `function` on `input` with `params`, outputs named by `template`.
pub(crate) fn task(
    function: FunctionName,
    params: &str,
    input: &Path,
    work: &Path,
    template: &str,
) -> MediaTask {
    MediaTask {
        job_id: JobId::generate(),
        pipeline_id: PipelineId::default_pipeline(),
        function,
        model_id: String::new(),
        params: JobParams::parse(function, params).unwrap(),
        input: input.to_owned(),
        work_dir: work.to_owned(),
        outputs: OutputNaming {
            input: ObjectUrl { bucket: "media".into(), key: "in/clip.mp4".into() },
            template: OutputTemplate::parse(template).unwrap(),
            timestamp: 0,
        },
    }
}

/// Mean luma of each frame of `path`, decoded grey at 64×36.
pub(crate) fn frame_brightness(path: &Path) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vf", "scale=64:36,format=gray", "-f", "rawvideo", "-"])
        .output()
        .unwrap();
    out.stdout
        .chunks_exact(64 * 36)
        .map(|f| f.iter().map(|v| f64::from(*v)).sum::<f64>() / f.len() as f64)
        .collect()
}

/// The first audio stream of `path` as mono samples (-1..1) at `rate`.
pub(crate) fn audio_samples(path: &Path, rate: u32) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-ac", "1", "-ar", &rate.to_string(), "-f", "s16le", "-"])
        .output()
        .unwrap();
    out.stdout.chunks_exact(2).map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0).collect()
}
