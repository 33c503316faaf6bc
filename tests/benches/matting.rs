//! ImageMatting through the running service: photos submitted as jobs to an embedded server
//! (the real engine, the model pack, its own SQLite store, workers as `iprod serve` picks them
//! unless BENCH_WORKERS says otherwise), against rembg warm in one Python process on the same
//! photos (bench/rembg/reference.py: decode, u2netp, cut-out, PNG, one after another), measured
//! in the same run. Per photo: the jobs' throughput from the first submit to the last job's
//! end, and rembg's from its mean time per image.
//!
//! `cargo bench -p iprod-tests --bench matting` after bench/rembg/setup.sh (`make bench` runs
//! both). Env: BENCH_JOBS (jobs per photo, default 8), BENCH_WORKERS (jobs at once, 0 = the
//! service's choice), BENCH_THREADS (intra-op threads per inference session, default 2).
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iprod_media::{Engine, EngineSettings};
use iprod_tests::{TestServer, repo_root, test_config};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The photos: the two small test photos, and a 12 MP one (flower.jpg scaled to 4240x2832).
fn photos() -> Vec<PathBuf> {
    let media = repo_root().join(".iprod/test-media");
    let big = repo_root().join(".iprod/cache/flower-12mp.jpg");
    if !big.exists() {
        let src = image::open(media.join("flower.jpg")).unwrap().to_rgb8();
        image::imageops::resize(&src, 4240, 2832, image::imageops::FilterType::Triangle).save(&big).unwrap();
    }
    vec![media.join("astronaut.png"), media.join("grace_hopper.jpg"), big]
}

/// rembg's warm time per image (s) for each photo, from one Python process.
fn rembg(photos: &[PathBuf], rounds: usize) -> Vec<f64> {
    let python = repo_root().join(".iprod/rembg-venv/bin/python");
    assert!(python.exists(), "run bench/rembg/setup.sh first (make bench does)");
    let mut cmd = Command::new(python);
    cmd.arg(repo_root().join("bench/rembg/reference.py")).args(["bench", &rounds.to_string()]);
    cmd.arg("--model").arg(repo_root().join(".iprod/model-pack/u2netp.onnx")).args(photos);
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    report["per_image"].as_array().unwrap().iter().map(|p| p["total_ms"].as_f64().unwrap() / 1e3).collect()
}

/// Submits `jobs` ImageMatting jobs on `photo` at once and waits for all: images/s.
async fn through_service(server: &TestServer, photo: &Path, jobs: usize) -> f64 {
    let name = photo.file_name().unwrap().to_string_lossy().into_owned();
    server.put_input(&format!("in/{name}"), &std::fs::read(photo).unwrap());
    let input = format!("oss://media/in/{name}");
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..jobs {
        let output = format!("oss://media/out/{i}-{{source}}.png");
        ids.push(
            server.submit(&[("FunctionName", "ImageMatting"), ("Input", &input), ("Output", &output)]).await,
        );
    }
    for id in ids {
        let job = server.wait_terminal(&id, Duration::from_secs(600)).await;
        assert_eq!(job["State"], "Success", "{job}");
    }
    jobs as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let (jobs, workers, threads) = (env("BENCH_JOBS", 8), env("BENCH_WORKERS", 0), env("BENCH_THREADS", 2));
    let photos = photos();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(EngineSettings {
        model_dir: repo_root().join(".iprod/model-pack"),
        inference_threads: threads,
        ..EngineSettings::default()
    });
    let mut config = test_config(dir.path());
    config.workers = workers;
    let server = runtime.block_on(TestServer::start(config, Arc::new(engine)));
    println!(
        "ImageMatting through the service: {jobs} jobs per photo, workers {}, {threads} inference threads",
        if workers == 0 { "as the service picks".to_owned() } else { workers.to_string() }
    );
    println!("{:<34} {:>12} {:>14} {:>8}", "", "service im/s", "rembg im/s", "ratio");
    // One warm-up job, so the sessions are loaded before any timing (rembg warms up too).
    runtime.block_on(through_service(&server, &photos[0], 1));
    let service: Vec<f64> =
        photos.iter().map(|p| runtime.block_on(through_service(&server, p, jobs))).collect();
    let baseline = rembg(&photos, jobs.min(8));
    for ((photo, ours), theirs) in photos.iter().zip(&service).zip(&baseline) {
        let (w, h) = image::image_dimensions(photo).unwrap();
        let name = format!("{} ({w}x{h})", photo.file_name().unwrap().to_string_lossy());
        println!("{name:<34} {ours:>12.2} {:>14.2} {:>7.2}x", 1.0 / theirs, ours * theirs);
    }
    runtime.block_on(server.stop());
}
