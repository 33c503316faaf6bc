//! The engine on hostile and odd inputs: each fails its job with an `InvalidInput.*` code and a
//! message (the process goes on), and EXIF orientation is honoured. Needs ffmpeg and the model
//! pack (`make test` installs both).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{ImageEncoder, RgbImage};
use iprod_core::object_url::ObjectUrl;
use iprod_core::params::JobParams;
use iprod_core::ports::{MediaEngine, MediaTask, OutputNaming, Progress};
use iprod_core::template::OutputTemplate;
use iprod_core::{FunctionName, JobId, PipelineId};
use iprod_media::image::io::ImageLimits;
use iprod_media::{Engine, EngineSettings};

struct Quiet;

impl Progress for Quiet {
    fn report(&self, _: u8) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

fn engine(limits: ImageLimits) -> Engine {
    let model_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/model-pack");
    Engine::new(EngineSettings { model_dir, image_limits: limits, ..EngineSettings::default() })
}

fn task(function: FunctionName, input: &Path, work: &Path, output: &str) -> MediaTask {
    let params = JobParams::parse(function, "").unwrap();
    MediaTask {
        job_id: JobId::generate(),
        pipeline_id: PipelineId::default_pipeline(),
        function,
        model_id: String::new(),
        params,
        input: input.to_owned(),
        work_dir: work.to_owned(),
        outputs: OutputNaming {
            input: ObjectUrl { bucket: "media".into(), key: "in/x.jpg".into() },
            template: OutputTemplate::parse(output).unwrap(),
            timestamp: 0,
        },
    }
}

/// A one-second 160×120 test pattern, made by ffmpeg in `dir`.
fn tiny_clip(dir: &Path) -> PathBuf {
    let video = dir.join("clip.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1"])
        .arg(&video)
        .status()
        .unwrap();
    assert!(made.success());
    video
}

fn photo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/test-media/grace_hopper.jpg")
}

async fn failure(engine: &Engine, function: FunctionName, input: &Path) -> (String, String) {
    let work = tempfile::tempdir().unwrap();
    let e = engine
        .process(&task(function, input, work.path(), "oss://media/o/{source}.png"), &Quiet)
        .await
        .unwrap_err();
    (e.code().to_owned(), e.message().to_owned())
}

#[tokio::test]
async fn hostile_inputs_fail_with_invalid_input_codes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(ImageLimits::default());
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let noise = dir.path().join("noise.png");
    std::fs::write(&noise, (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>()).unwrap();
    let truncated = dir.path().join("truncated.jpg");
    let bytes = std::fs::read(photo()).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let video = tiny_clip(dir.path());

    for (name, input, code) in [
        ("empty", &empty, "InvalidInput.Media"),
        ("noise", &noise, "InvalidInput.Media"),
        ("truncated JPEG", &truncated, "InvalidInput.Media"),
        ("a video", &video, "InvalidInput.Format"),
    ] {
        let (got, message) = failure(&engine, FunctionName::ImageMatting, input).await;
        assert_eq!(got, code, "{name}: {message}");
        assert!(!message.is_empty());
    }
    let strict = engine_with_pixels(100_000);
    let (code, message) = failure(&strict, FunctionName::ImageH2V, &photo()).await;
    assert_eq!(code, "InvalidInput.TooLarge");
    assert!(message.contains("512x600") && message.contains("100000"), "{message}");
}

#[tokio::test]
async fn an_input_over_the_job_memory_budget_is_refused_before_decoding() {
    // GIVEN an engine whose jobs may use 100 MB (the models alone take more)
    let model_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/model-pack");
    let tight = Engine::new(EngineSettings { model_dir, job_memory_mb: 100, ..EngineSettings::default() });
    let dir = tempfile::tempdir().unwrap();
    let video = tiny_clip(dir.path());
    // THEN a photo and a video are refused with what to change
    for (function, input) in [(FunctionName::ImageMatting, photo()), (FunctionName::VideoClip, video)] {
        let (code, message) = failure(&tight, function, &input).await;
        assert_eq!(code, "InvalidInput.TooLarge", "{function}: {message}");
        assert!(message.contains("engine.job_memory_mb") && message.contains("100 MB"), "{message}");
    }
}

fn engine_with_pixels(max_pixels: u64) -> Engine {
    engine(ImageLimits { max_pixels, ..ImageLimits::default() })
}

#[tokio::test]
async fn exif_orientation_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    // A 300x200 landscape JPEG whose EXIF says "rotate 90° clockwise to display" (6).
    let exif: Vec<u8> = vec![
        b'M', b'M', 0, 42, 0, 0, 0, 8, // TIFF header, first IFD at 8
        0, 1, // one entry
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // Orientation, SHORT, 1, value 6
        0, 0, 0, 0, // no next IFD
    ];
    let source = RgbImage::from_fn(300, 200, |x, _| image::Rgb([(x % 256) as u8, 100, 50]));
    let path = dir.path().join("rotated.jpg");
    let mut encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(std::fs::File::create(&path).unwrap(), 90);
    encoder.set_exif_metadata(exif).unwrap();
    encoder.write_image(source.as_raw(), 300, 200, image::ExtendedColorType::Rgb8).unwrap();
    let decoded = iprod_media::image::io::decode(&path, &ImageLimits::default()).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (200, 300), "shown upright, as viewers show it");

    let work = tempfile::tempdir().unwrap();
    let engine = engine(ImageLimits::default());
    let out = engine
        .process(&task(FunctionName::ImageMatting, &path, work.path(), "oss://media/o/{source}.png"), &Quiet)
        .await
        .unwrap();
    let written = image::open(&out.files[0]).unwrap();
    assert_eq!((written.width(), written.height()), (200, 300));
    assert_eq!(out.result["Width"], 200);
}

#[tokio::test]
async fn outputs_follow_the_template_extension() {
    let engine = engine(ImageLimits::default());
    for (template, format) in [
        ("oss://media/o/{source}.jpg", image::ImageFormat::Jpeg),
        ("oss://media/o/{source}.webp", image::ImageFormat::WebP),
        ("oss://media/o/{source}", image::ImageFormat::Jpeg),
    ] {
        let work = tempfile::tempdir().unwrap();
        let out = engine
            .process(&task(FunctionName::ImageH2V, &photo(), work.path(), template), &Quiet)
            .await
            .unwrap();
        let bytes = std::fs::read(&out.files[0]).unwrap();
        assert_eq!(image::guess_format(&bytes).unwrap(), format, "{template}");
        assert_eq!(out.result["Mode"], "crop");
    }
}

#[tokio::test]
async fn image_delogo_cleans_a_given_box_and_reports_it() {
    let engine = engine(ImageLimits::default());
    let work = tempfile::tempdir().unwrap();
    let mut job = task(FunctionName::ImageDelogo, &photo(), work.path(), "oss://media/o/{source}.png");
    job.params = JobParams::parse(FunctionName::ImageDelogo, r#"{"Logo":[[0.05,0.05,0.25,0.1]]}"#).unwrap();
    let out = engine.process(&job, &Quiet).await.unwrap();
    let logos = out.result["Logos"].as_array().unwrap();
    assert_eq!(logos.len(), 1);
    assert_eq!(logos[0]["Source"], "given");
    assert_eq!(
        (logos[0]["X"].as_u64(), logos[0]["Width"].as_u64()),
        (Some(25), Some(129)),
        "x 25.6..153.6 covered"
    );
    let written = image::open(&out.files[0]).unwrap();
    assert_eq!((written.width(), written.height()), (512, 600));
}

/// A playlist is not media: an HLS playlist (or a `concat` list) in an allowed bucket once made
/// ffmpeg read a video from outside the allow-list and write it to the output, whatever the
/// playlist was named. It is refused by its content, and nothing is written.
#[tokio::test]
async fn a_playlist_pointing_at_other_files_is_refused_whatever_its_name() {
    // GIVEN a video outside any bucket, and playlists naming it
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.ts");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2"])
        .args(["-c:v", "libx264", "-f", "mpegts"])
        .arg(&secret)
        .status()
        .unwrap();
    assert!(made.success());
    let hls =
        format!("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{}\n#EXT-X-ENDLIST\n", secret.display());
    let concat = format!("ffconcat version 1.0\nfile '{}'\n", secret.display());
    let engine = engine(ImageLimits::default());
    for (name, body) in [("input", &hls), ("input.mp4", &hls), ("input.m3u8", &hls), ("input.mkv", &concat)] {
        let playlist = dir.path().join(name);
        std::fs::write(&playlist, body).unwrap();
        for function in [FunctionName::VideoH2V, FunctionName::VideoDelogo, FunctionName::Cover] {
            // WHEN a job takes it as its input
            let work = tempfile::tempdir().unwrap();
            let outcome = engine
                .process(&task(function, &playlist, work.path(), "oss://media/o/{source}.mp4"), &Quiet)
                .await;
            // THEN the job fails as bad input, and no output was written
            let e = outcome.expect_err("a playlist must not be processed");
            assert_eq!(e.code(), "InvalidInput.Format", "{name} {function}: {}", e.message());
            assert!(e.message().contains("playlists"), "{}", e.message());
            let written: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
            assert!(written.is_empty(), "{name} {function}: wrote {written:?}");
        }
    }
}
