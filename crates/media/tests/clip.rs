//! VideoClip on synthetic clips with ground truth: the summary's length is the target, its
//! segments are chronological, skip black, and start and end on cuts or still frames; audio
//! stays in sync with the picture across every join.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

mod video_common;

use std::path::{Path, PathBuf};

use iprod_core::FunctionName;
use video_common::*;

const FPS: f64 = 25.0;

/// 320×180, 25 fps, 21 s, with a tone: five shots of 4 s on different still backgrounds, and a
/// 1 s black gap between the third and the fourth. In every shot a yellow square jumps 40 px to
/// the right every 0.4 s (frames 10k) and is still in between, so the still frames are known.
fn jumping_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("jumps.mp4");
    let astronaut = repo(".iprod/test-media/astronaut.png");
    let hopper = repo(".iprod/test-media/grace_hopper.jpg");
    let shot = |input: usize, name: &str| {
        format!(
            "[{input}:v]scale=320:180,setsar=1,fps=25,trim=duration=4,setpts=PTS-STARTPTS[bg{name}];\
             [sq{name}]format=yuv420p[sqf{name}];\
             [bg{name}][sqf{name}]overlay=x='20+40*floor(t/0.4)':y=70:eval=frame[s{name}];"
        )
    };
    let mut graph = String::from("color=c=yellow:s=24x24:r=25:d=4,split=5[sqa][sqb][sqc][sqd][sqe];");
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        graph.push_str(&shot(i, name));
    }
    graph.push_str("[sa][sb][sc][5:v][sd][se]concat=n=6:v=1:a=0,format=yuv420p[v]");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "smptebars=s=320x180:r=25:d=4",
        "-loop",
        "1",
        "-t",
        "4",
        "-i",
        astronaut.to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        "rgbtestsrc=s=320x180:r=25:d=4",
        "-loop",
        "1",
        "-t",
        "4",
        "-i",
        hopper.to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=s=320x180:r=25:d=4",
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=320x180:r=25:d=1",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:duration=21",
        "-filter_complex",
        &graph,
        "-map",
        "[v]",
        "-map",
        "6:a",
        "-c:v",
        "libx264",
        "-crf",
        "20",
        "-c:a",
        "aac",
        "-shortest",
        clip.to_str().unwrap(),
    ]);
    clip
}

fn ranges(result: &serde_json::Value) -> Vec<(f64, f64)> {
    result["VideoSummaryList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let t = |k: &str| r[k].as_str().unwrap().parse::<f64>().unwrap();
            (t("StartTime"), t("EndTime"))
        })
        .collect()
}

#[tokio::test]
async fn the_summary_hits_its_target_at_cuts_or_still_frames_and_skips_black() {
    let dir = tempfile::tempdir().unwrap();
    let clip = jumping_clip(dir.path());
    let params = r#"{"Duration":8,"MaxSegments":3,"MinSegmentDuration":2}"#;
    let out =
        run(FunctionName::VideoClip, params, &clip, dir.path(), "oss://media/o/{source}.mp4").await.unwrap();
    println!("{}", out.result);
    let list = ranges(&out.result);
    assert!(!list.is_empty() && list.len() <= 3, "{list:?}");
    assert!(list.windows(2).all(|w| w[0].1 <= w[1].0), "chronological, no overlap: {list:?}");
    let total: f64 = list.iter().map(|(a, b)| b - a).sum();
    assert!((total - 8.0).abs() <= 0.5, "{total} s of source in {list:?}");
    let rendered: f64 = ffprobe(&out.files[0], "format=duration", None).parse().unwrap();
    assert!((rendered - 8.0).abs() <= 0.5, "the output lasts {rendered} s");
    let cuts = [0.0, 4.0, 8.0, 12.0, 13.0, 17.0, 21.0];
    for (a, b) in &list {
        assert!(*b <= 12.0 || *a >= 13.0, "the black gap is never used: {list:?}");
        for edge in [*a, *b] {
            let frame = (edge * FPS).round() as i64;
            let at_cut = cuts.iter().any(|c| ((c * FPS).round() as i64 - frame).abs() <= 1);
            // Frame f differs from f-1 only where the square jumps: f = 10k from each shot's start.
            let start = cuts.iter().rev().find(|c| **c <= edge + 1e-9).unwrap();
            let jumps = (frame - (start * FPS).round() as i64) % 10 == 0;
            assert!(at_cut || !jumps, "{edge} s is neither a cut nor a still frame: {list:?}");
        }
    }
}

/// 320×180, 25 fps, 24 s: six shots of 4 s; a full white frame and a 1 kHz beep of one frame's
/// length at every k + 0.5 s, silence otherwise. With `keyframes`, x264 puts its keyframes where
/// it sees a new scene (its default: at the cuts, as in most encoded footage); without, only the
/// first frame is one, and the summary cannot be copied.
fn flash_clip(dir: &Path, keyframes: bool) -> PathBuf {
    let clip = dir.join(if keyframes { "flashes.mp4" } else { "flashes-one-gop.mp4" });
    let sources = ["testsrc", "smptebars", "rgbtestsrc", "testsrc2", "smptehdbars", "yuvtestsrc"];
    let mut args: Vec<String> = Vec::new();
    for s in sources {
        args.extend(["-f".into(), "lavfi".into(), "-i".into(), format!("{s}=s=320x180:r=25:d=4")]);
    }
    args.extend([
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        "aevalsrc='0.8*sin(2*PI*1000*t)*between(mod(t,1),0.5,0.539)':s=48000:d=24".into(),
    ]);
    let inputs: String = (0..6).map(|i| format!("[{i}:v]")).collect();
    args.extend([
        "-filter_complex".into(),
        format!(
            "{inputs}concat=n=6:v=1:a=0,drawbox=c=white:t=fill:enable='between(mod(t,1),0.5,0.539)',format=yuv420p[v]"
        ),
        "-map".into(),
        "[v]".into(),
        "-map".into(),
        "6:a".into(),
        "-c:v".into(),
        "libx264".into(),
        "-crf".into(),
        "20".into(),
        "-x264-params".into(),
        if keyframes { "keyint=250".into() } else { "keyint=1000:scenecut=0".into() },
        "-c:a".into(),
        "aac".into(),
        clip.to_string_lossy().into_owned(),
    ]);
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    clip
}

#[tokio::test]
async fn audio_stays_in_sync_across_the_joins_of_an_encoded_summary() {
    the_beeps_stay_on_their_flashes(false).await;
}

#[tokio::test]
async fn audio_stays_in_sync_across_the_joins_of_a_copied_summary() {
    the_beeps_stay_on_their_flashes(true).await;
}

async fn the_beeps_stay_on_their_flashes(keyframes: bool) {
    let dir = tempfile::tempdir().unwrap();
    let clip = flash_clip(dir.path(), keyframes);
    // The keyframes are 4 s apart (the shots): 8 s is two of them, 6 s would not be copied.
    let params = if keyframes {
        r#"{"Duration":8,"MaxSegments":3,"MinSegmentDuration":1.5}"#
    } else {
        r#"{"Duration":6,"MaxSegments":3,"MinSegmentDuration":1.5}"#
    };
    let out =
        run(FunctionName::VideoClip, params, &clip, dir.path(), "oss://media/o/{source}.mp4").await.unwrap();
    println!("{}", out.result);
    assert_eq!(out.result["Copied"], keyframes, "{}", out.result);
    let summary = &out.files[0];
    let video: f64 = ffprobe(summary, "stream=duration", Some("v:0")).parse().unwrap();
    let audio: f64 = ffprobe(summary, "stream=duration", Some("a:0")).parse().unwrap();
    assert!((video - audio).abs() < 1.0 / FPS + 0.03, "video {video} s, audio {audio} s");

    let flashes: Vec<f64> = frame_brightness(summary)
        .iter()
        .enumerate()
        .filter(|(_, luma)| **luma > 200.0)
        .map(|(i, _)| i as f64 / FPS)
        .collect();
    let rate = 8000;
    let samples = audio_samples(summary, rate);
    let mut beeps = Vec::new();
    let mut quiet = 0usize;
    for (i, s) in samples.iter().enumerate() {
        if s.abs() > 0.2 {
            if quiet > rate as usize / 5 {
                beeps.push(i as f64 / f64::from(rate));
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    println!("flashes {flashes:?}\nbeeps {beeps:?}");
    // Within a fade of a join the beep is faded on purpose: those flashes are not evidence.
    let mut joins = vec![0.0];
    for (a, b) in ranges(&out.result) {
        joins.push(joins.last().unwrap() + (b - a));
    }
    let flashes: Vec<f64> =
        flashes.into_iter().filter(|f| joins.iter().all(|j| (f - j).abs() > 0.1)).collect();
    assert!(flashes.len() >= 4, "{flashes:?}");
    let mut paired = 0;
    for flash in &flashes {
        let nearest = beeps.iter().map(|b| (b - flash).abs()).fold(f64::MAX, f64::min);
        assert!(nearest < 1.0 / FPS, "the beep of the flash at {flash} s is {nearest} s away");
        paired += 1;
    }
    assert_eq!(paired, flashes.len());
}

/// Each video frame's MD5, in order (`framemd5`).
fn frame_hashes(path: &Path) -> Vec<String> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-f", "framemd5", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_owned())
        .collect()
}

#[tokio::test]
async fn a_copied_summary_holds_exactly_the_source_frames_of_its_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let clip = flash_clip(dir.path(), true);
    let params = r#"{"Duration":8,"MaxSegments":3,"MinSegmentDuration":2}"#;
    let out =
        run(FunctionName::VideoClip, params, &clip, dir.path(), "oss://media/o/{source}.mp4").await.unwrap();
    println!("{}", out.result);
    assert_eq!(out.result["Copied"], true);
    let source = frame_hashes(&clip);
    let mut expected = Vec::new();
    for (a, b) in ranges(&out.result) {
        let (a, b) = ((a * FPS).round() as usize, (b * FPS).round() as usize);
        expected.extend_from_slice(&source[a..b]);
    }
    let summary = frame_hashes(&out.files[0]);
    assert_eq!(summary.len(), expected.len(), "frames in the summary");
    let differing = summary.iter().zip(&expected).filter(|(s, e)| s != e).count();
    assert_eq!(differing, 0, "every frame is the source's own, in order");
    let total: f64 = ranges(&out.result).iter().map(|(a, b)| b - a).sum();
    assert!((total - 8.0).abs() <= 0.5, "{total} s");
    let codec = ffprobe(&out.files[0], "stream=codec_name", Some("v:0"));
    assert_eq!(codec, "h264");
}
