//! VideoDelogo on real footage with a logo burnt in at a known box: found automatically (IoU),
//! cleaned (closer to the original inside the box than the logo was), duration and audio kept.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbImage;
use iprod_core::object_url::ObjectUrl;
use iprod_core::params::JobParams;
use iprod_core::ports::{MediaEngine, MediaTask, OutputNaming, Progress};
use iprod_core::template::OutputTemplate;
use iprod_core::{FunctionName, JobId, PipelineId};
use iprod_media::{Engine, EngineSettings};

/// Records every progress report.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<u8>>);

impl Progress for Recorder {
    fn report(&self, percent: u8) {
        self.0.lock().unwrap().push(percent);
    }
    fn is_cancelled(&self) -> bool {
        false
    }
}

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).status().unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

fn bikes() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/test-media/bikes.mp4");
    assert!(p.is_file(), "run layers/fetch-test-media.sh (make test does)");
    p
}

fn frame_at(video: &Path, seconds: &str, dir: &Path, name: &str) -> RgbImage {
    let out = dir.join(name);
    ffmpeg(&["-ss", seconds, "-i", video.to_str().unwrap(), "-frames:v", "1", out.to_str().unwrap()]);
    image::open(out).unwrap().to_rgb8()
}

fn mae_in(a: &RgbImage, b: &RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> f64 {
    let mut sum = 0.0;
    for yy in y..y + h {
        for xx in x..x + w {
            let (p, q) = (a.get_pixel(xx, yy), b.get_pixel(xx, yy));
            sum += (0..3).map(|c| f64::from(p[c].abs_diff(q[c]))).sum::<f64>() / 3.0;
        }
    }
    sum / f64::from(w * h)
}

async fn delogo(
    input: &Path,
    work: &Path,
    params: &str,
    progress: &Recorder,
) -> iprod_core::ports::MediaOutput {
    let model_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/model-pack");
    let engine = Engine::new(EngineSettings { model_dir, ..EngineSettings::default() });
    let task = MediaTask {
        job_id: JobId::generate(),
        pipeline_id: PipelineId::default_pipeline(),
        function: FunctionName::VideoDelogo,
        model_id: String::new(),
        params: JobParams::parse(FunctionName::VideoDelogo, params).unwrap(),
        input: input.to_owned(),
        work_dir: work.to_owned(),
        outputs: OutputNaming {
            input: ObjectUrl { bucket: "media".into(), key: "in/x.mp4".into() },
            template: OutputTemplate::parse("oss://media/o/{source}.mp4").unwrap(),
            timestamp: 0,
        },
    };
    engine.process(&task, progress).await.unwrap()
}

/// (x, y, w, h) of the burnt-in logo on the 640x272 bikes clip.
const LOGO: (u32, u32, u32, u32) = (552, 12, 72, 28);

/// PSNR (dB) of `a` against `b` inside a box.
fn psnr_in(a: &RgbImage, b: &RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> f64 {
    let mut sum = 0.0;
    for yy in y..y + h {
        for xx in x..x + w {
            let (p, q) = (a.get_pixel(xx, yy), b.get_pixel(xx, yy));
            sum += (0..3).map(|c| (f64::from(p[c]) - f64::from(q[c])).powi(2)).sum::<f64>() / 3.0;
        }
    }
    let mse = sum / f64::from(w * h);
    10.0 * (255.0 * 255.0 / mse.max(1e-9)).log10()
}

/// Bikes with the test logo burnt in at [`LOGO`] with `opacity`, shown while `enable` holds.
fn burn_logo(opacity: f64, enable: &str, marked: &Path) {
    let logo = format!(
        "color=c=white:s=72x28,drawbox=x=4:y=4:w=64:h=20:color=red:t=fill,drawbox=x=14:y=10:w=44:h=8:color=white:t=fill,format=rgba,colorchannelmixer=aa={opacity}"
    );
    ffmpeg(&[
        "-i",
        bikes().to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        &logo,
        "-filter_complex",
        &format!("[0:v][1:v]overlay=552:12:shortest=1:enable='{enable}'"),
        "-c:v",
        "libx264",
        "-crf",
        "16",
        "-pix_fmt",
        "yuv420p",
        marked.to_str().unwrap(),
    ]);
}

/// The first logo found, checked against [`LOGO`] (IoU ≥ 0.7).
fn first_found(result: &serde_json::Value, case: &str) -> serde_json::Value {
    let logos = result["Logos"].as_array().unwrap();
    assert!(!logos.is_empty(), "{case}: {result}");
    assert_eq!(logos[0]["Source"], "detected");
    let (x, y, w, h) = (
        logos[0]["X"].as_u64().unwrap() as f64,
        logos[0]["Y"].as_u64().unwrap() as f64,
        logos[0]["Width"].as_u64().unwrap() as f64,
        logos[0]["Height"].as_u64().unwrap() as f64,
    );
    let (tx, ty, tw, th) = (f64::from(LOGO.0), f64::from(LOGO.1), f64::from(LOGO.2), f64::from(LOGO.3));
    let inter = ((x + w).min(tx + tw) - x.max(tx)).max(0.0) * ((y + h).min(ty + th) - y.max(ty)).max(0.0);
    let iou = inter / (w * h + tw * th - inter);
    println!("{case}: found {:?}, IoU {iou:.2}", logos[0]);
    assert!(iou >= 0.7, "{case}: IoU {iou}");
    logos[0].clone()
}

/// Burns the test logo into bikes at [`LOGO`] with `opacity`, runs automatic VideoDelogo, and
/// checks the box found (IoU ≥ 0.7) and that the box is closer to the logo-free source after.
async fn found_and_removed(opacity: f64) {
    let dir = tempfile::tempdir().unwrap();
    let marked = dir.path().join("marked.mp4");
    burn_logo(opacity, "1", &marked);
    let out = delogo(&marked, dir.path(), "", &Recorder::default()).await;
    let found = first_found(&out.result, &format!("opacity {opacity}"));
    assert_eq!(found["Shown"], serde_json::json!([[0.0, 10.0]]), "shown throughout");

    let cleaned = &out.files[0];
    for t in ["2.0", "6.5"] {
        let clean = frame_at(&bikes(), t, dir.path(), "clean.png");
        let logo = frame_at(&marked, t, dir.path(), "logo.png");
        let result = frame_at(cleaned, t, dir.path(), "result.png");
        let (before, after) = (mae_in(&logo, &clean, LOGO), mae_in(&result, &clean, LOGO));
        let (psnr_before, psnr_after) = (psnr_in(&logo, &clean, LOGO), psnr_in(&result, &clean, LOGO));
        println!(
            "opacity {opacity}, t={t}: inside the box, error {before:.1} -> {after:.1}, PSNR {psnr_before:.1} -> {psnr_after:.1} dB"
        );
        assert!(after < before && psnr_after > psnr_before, "t={t}: {after} vs {before}");
        if opacity < 1.0 {
            // Un-blended, the picture under the logo comes back: far closer than a fill.
            assert!(psnr_after >= 24.0, "t={t}: {psnr_after:.1} dB");
        }
    }
    if opacity < 1.0 {
        assert_eq!(found["Method"], "unblend", "{found}");
        let measured = found["Opacity"].as_f64().unwrap();
        assert!((measured - opacity).abs() <= 0.1, "opacity {measured} for {opacity}");
    } else {
        assert_eq!(found["Method"], "delogo", "{found}");
    }
}

#[tokio::test]
async fn a_burnt_in_logo_is_found_and_removed() {
    found_and_removed(1.0).await;
}

#[tokio::test]
async fn a_semi_transparent_logo_is_found_and_removed() {
    found_and_removed(0.5).await;
}

#[tokio::test]
async fn a_logo_shown_for_part_of_the_video_is_found_with_its_time_and_removed_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let marked = dir.path().join("marked.mp4");
    burn_logo(1.0, "between(t,3,8)", &marked);
    let out = delogo(&marked, dir.path(), "", &Recorder::default()).await;
    let found = first_found(&out.result, "shown 3-8 s");
    let shown = found["Shown"].as_array().unwrap();
    assert_eq!(shown.len(), 1, "{found}");
    let (start, end) = (shown[0][0].as_f64().unwrap(), shown[0][1].as_f64().unwrap());
    assert!((start - 3.0).abs() <= 0.5 && (end - 8.0).abs() <= 0.5, "shown {start}-{end} s, truly 3-8 s");
    let cleaned = &out.files[0];
    // Where the logo is shown, the box gets closer to the source; where it is not, the box is
    // left as it was: only the re-encode's loss (~3 dB here), not a needless delogo's smear
    // (~20 dB in the box).
    for (t, logo_shown) in [("1.5", false), ("5.5", true), ("9.0", false)] {
        let clean = frame_at(&bikes(), t, dir.path(), "clean.png");
        let marked = frame_at(&marked, t, dir.path(), "marked.png");
        let result = frame_at(cleaned, t, dir.path(), "result.png");
        let (before, after) = (psnr_in(&marked, &clean, LOGO), psnr_in(&result, &clean, LOGO));
        println!("t={t}: PSNR in the box {before:.1} -> {after:.1} dB");
        if logo_shown {
            assert!(after > before + 3.0, "t={t}: {before} -> {after} dB");
        } else {
            assert!(after >= 35.0, "t={t}: untouched should stay near {before}: {after} dB");
        }
    }
}

#[tokio::test]
async fn a_clip_without_a_logo_has_nothing_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = delogo(&bikes(), dir.path(), "", &Recorder::default()).await;
    assert_eq!(out.result["Logos"], serde_json::json!([]), "{}", out.result);
}

#[tokio::test]
async fn given_boxes_keep_duration_and_audio() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("av.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x180:rate=25:duration=3",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=3",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        clip.to_str().unwrap(),
    ]);
    let progress = Recorder::default();
    let out =
        delogo(&clip, dir.path(), r#"{"Logo":[[0.0,0.0,0.2,0.15],[0.75,0.8,0.25,0.2]]}"#, &progress).await;
    // Progress follows the render, from ffmpeg's own reports.
    let reports = progress.0.lock().unwrap().clone();
    assert!(reports.len() >= 3 && reports.windows(2).all(|w| w[1] >= w[0]), "{reports:?}");
    assert!(*reports.last().unwrap() >= 90, "{reports:?}");
    assert_eq!(out.result["Logos"].as_array().unwrap().len(), 2);
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration", "-of", "json"])
        .arg(&out.files[0])
        .output()
        .unwrap();
    let probe: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((duration - 3.0).abs() < 0.1, "{duration}");
    let codecs: Vec<&str> =
        probe["streams"].as_array().unwrap().iter().map(|s| s["codec_name"].as_str().unwrap()).collect();
    assert!(codecs.contains(&"h264") && codecs.contains(&"aac"), "{codecs:?}");
}

#[tokio::test]
async fn a_box_over_most_of_the_frame_is_reported_not_smeared() {
    let dir = tempfile::tempdir().unwrap();
    let out = delogo(&bikes(), dir.path(), r#"{"Logo":[[0.05,0.05,0.9,0.9]]}"#, &Recorder::default()).await;
    let logo = &out.result["Logos"][0];
    assert_eq!(logo["Removed"], false, "{logo}");
    let reason = logo["Reason"].as_str().unwrap();
    assert!(reason.contains("81 % of the frame"), "{reason}");
    // The picture is left as it was: only the re-encode's loss.
    let source = frame_at(&bikes(), "4.0", dir.path(), "source.png");
    let result = frame_at(&out.files[0], "4.0", dir.path(), "result.png");
    let psnr = psnr_in(&result, &source, (64, 27, 512, 218));
    assert!(psnr >= 35.0, "{psnr:.1} dB");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_given_box_over_a_pan_is_filled_from_the_frames_that_show_what_it_hides() {
    let dir = tempfile::tempdir().unwrap();
    let coffee = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/test-media/coffee.png");
    assert!(coffee.is_file(), "run layers/fetch-test-media.sh (make test does)");
    // A 640×360 window panning right over the photo at 40 px a second; an opaque red badge
    // on the second copy.
    let pan = "scale=1280:-2,fps=25,crop=640:360:x='t*40':y=(ih-360)/2";
    let (clean, marked) = (dir.path().join("clean.mp4"), dir.path().join("marked.mp4"));
    for (out, filter) in [
        (&clean, pan.to_owned()),
        (&marked, format!("{pan},drawbox=x=20:y=316:w=56:h=24:color=0xD02020:t=fill")),
    ] {
        let (input, out) = (coffee.to_str().unwrap(), out.to_str().unwrap());
        ffmpeg(&[
            "-loop", "1", "-t", "8", "-i", input, "-vf", &filter, "-c:v", "libx264", "-crf", "16",
            "-pix_fmt", "yuv420p", out,
        ]);
    }
    let out = delogo(&marked, dir.path(), r#"{"Logo":[[0.03,0.875,0.09,0.07]]}"#, &Recorder::default()).await;
    let logo = &out.result["Logos"][0];
    assert!(logo["FrameShift"].as_f64().is_some_and(|s| s < 0.0), "earlier frames showed it: {logo}");
    // As long as the source: the copy from earlier frames runs past its end.
    let frames = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&out.files[0])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&frames.stdout).trim(), "200", "8 s at 25 frames a second");
    let badge = (20, 316, 56, 24);
    // Where the picture under the badge has texture (a saucer's rim, its highlight): `delogo`
    // alone, from the box's edges, gave 17.8 and 20.7 dB there.
    for at in ["4.0", "5.0"] {
        let truth = frame_at(&clean, at, dir.path(), "truth.png");
        let before = psnr_in(&frame_at(&marked, at, dir.path(), "before.png"), &truth, badge);
        let after = psnr_in(&frame_at(&out.files[0], at, dir.path(), "after.png"), &truth, badge);
        assert!(after >= 25.0 && after - before >= 12.0, "at {at} s: {before:.1} -> {after:.1} dB {logo}");
    }
}
