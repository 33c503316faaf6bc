//! Seconds per video for VideoH2V and VideoDelogo on bikes.mp4 (10 s, 640×272, 25 fps), end to
//! end through the engine (probe, analysis, render), against plain ffmpeg doing the nearest
//! thing on the same input in the same run: a fixed centre crop, a fixed delogo box, each with
//! the same encoder settings. `make bench` runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use iprod_core::object_url::ObjectUrl;
use iprod_core::params::JobParams;
use iprod_core::ports::{MediaEngine, MediaTask, OutputNaming, Progress};
use iprod_core::template::OutputTemplate;
use iprod_core::{FunctionName, JobId, PipelineId};
use iprod_media::{Engine, EngineSettings};

struct Quiet;

impl Progress for Quiet {
    fn report(&self, _: u8) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

fn seconds(rounds: usize, mut one: impl FnMut()) -> f64 {
    one();
    let start = Instant::now();
    for _ in 0..rounds {
        one();
    }
    start.elapsed().as_secs_f64() / rounds as f64
}

fn ffmpeg(input: &Path, filter: &str, crf: &str, out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(input)
        .args(["-vf", filter, "-c:v", "libx264", "-preset", "veryfast", "-crf", crf, "-pix_fmt", "yuv420p"])
        .args(["-movflags", "+faststart"])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let input = repo(".iprod/test-media/bikes.mp4");
    let work = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let engine =
        Engine::new(EngineSettings { model_dir: repo(".iprod/model-pack"), ..EngineSettings::default() });
    let run = |function: FunctionName, params: &str| {
        let task = MediaTask {
            job_id: JobId::generate(),
            pipeline_id: PipelineId::default_pipeline(),
            function,
            model_id: String::new(),
            params: JobParams::parse(function, params).unwrap(),
            input: input.clone(),
            work_dir: work.path().to_owned(),
            outputs: OutputNaming {
                input: ObjectUrl { bucket: "media".into(), key: "in/bikes.mp4".into() },
                template: OutputTemplate::parse("oss://media/o/{source}.mp4").unwrap(),
                timestamp: 0,
            },
        };
        runtime.block_on(engine.process(&task, &Quiet)).unwrap();
    };
    let out = work.path().join("baseline.mp4");
    println!("videos: bikes.mp4 (10 s, 640x272, 25 fps), {rounds} rounds, 2 cores");
    println!("{:<52} {:>10} {:>14}", "", "s/video", "x real time");
    let row = |name: &str, s: f64| println!("{name:<52} {s:>10.2} {:>14.1}", 10.0 / s);
    let h2v = seconds(rounds, || run(FunctionName::VideoH2V, ""));
    row("VideoH2V (shots + faces/saliency + sendcmd crop)", h2v);
    let crop = seconds(rounds, || ffmpeg(&input, "crop=ih*9/16:ih", "20", &out));
    row("  baseline: ffmpeg fixed centre crop", crop);
    println!("  ratio: {:.2}x the baseline's time", h2v / crop);
    let given = seconds(rounds, || run(FunctionName::VideoDelogo, r#"{"Logo":[[0.85,0.04,0.12,0.11]]}"#));
    row("VideoDelogo, given box", given);
    let detected = seconds(rounds, || run(FunctionName::VideoDelogo, ""));
    row("VideoDelogo, automatic (static-overlay analysis)", detected);
    let delogo = seconds(rounds, || ffmpeg(&input, "delogo=x=544:y=11:w=77:h=30", "18", &out));
    row("  baseline: ffmpeg delogo, same box", delogo);
    println!(
        "  ratio: {:.2}x (given), {:.2}x (automatic) the baseline's time",
        given / delogo,
        detected / delogo
    );
}
