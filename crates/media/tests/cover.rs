//! Cover on synthetic clips with ground truth: a face shot among face-less shots ranks first,
//! black and fading frames are never chosen, the sharp version of a shot beats its blurred
//! twin, and the animated cover is a short, bounded loop inside the best shot.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

mod video_common;

use std::path::{Path, PathBuf};

use iprod_core::FunctionName;
use video_common::*;

/// 640×360, 25 fps, 9 s, H.264 as an encoder would make it (keyframes at the cuts):
/// - 0-2 s: test pattern, fading to black over 1.5-2 s; 2-3 s: black
/// - 3-5 s: a portrait (grace_hopper) on a blue-grey background: the only face
/// - 5-7 s: a mandelbrot, fading in over 5-5.5 s
/// - 7-9 s: colour bars
fn ranking_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("shots.mp4");
    let face = repo(".iprod/test-media/grace_hopper.jpg");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=640x360:r=25:d=2",
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=640x360:r=25:d=1",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x40607a:s=640x360:r=25:d=2",
        "-loop",
        "1",
        "-framerate",
        "25",
        "-t",
        "2",
        "-i",
        face.to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=s=640x360:r=25",
        "-f",
        "lavfi",
        "-i",
        "smptebars=s=640x360:r=25:d=2",
        "-filter_complex",
        "[0:v]fade=t=out:st=1.5:d=0.5[a];\
         [3:v]scale=-2:300[p];[2:v][p]overlay=x=220:y=30:shortest=1[b];\
         [4:v]trim=duration=2,setpts=PTS-STARTPTS,fade=t=in:st=0:d=0.5[c];\
         [a][1:v][b][c][5:v]concat=n=5:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-crf",
        "20",
        clip.to_str().unwrap(),
    ]);
    clip
}

fn times(result: &serde_json::Value) -> Vec<f64> {
    result
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Time"].as_str().unwrap().parse::<f64>().unwrap() / 1000.0)
        .collect()
}

#[tokio::test]
async fn the_face_shot_ranks_first_and_black_or_fading_frames_are_never_covers() {
    let dir = tempfile::tempdir().unwrap();
    let clip = ranking_clip(dir.path());
    let out = run(FunctionName::Cover, "", &clip, dir.path(), "oss://media/covers/{source}-{sequenceId}.jpg")
        .await
        .unwrap();
    println!("{}", out.result);
    let entries = out.result.as_array().unwrap();
    assert_eq!(entries.len(), 3, "the default count");
    assert_eq!(out.files.len(), 3);
    let t = times(&out.result);
    assert!((3.0..5.0).contains(&t[0]), "the face shot first: {t:?}");
    for time in &t {
        assert!(!(1.5..3.0).contains(time) && !(5.0..5.5).contains(time), "a fade or black frame: {t:?}");
    }
    let scores: Vec<f64> = entries.iter().map(|e| e["Score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] <= 10.0, "{scores:?}");
    for (i, (entry, file)) in entries.iter().zip(&out.files).enumerate() {
        assert_eq!(entry["Url"], format!("oss://media/covers/clip-{i}.jpg"));
        let image = image::open(file).unwrap();
        assert_eq!((image.width(), image.height()), (640, 360), "covers at the source's size");
        assert_eq!(image::ImageFormat::from_path(file).unwrap(), image::ImageFormat::Jpeg);
    }
    // Distinct covers: no two from the same shot.
    let shot = |t: f64| [2.0, 3.0, 5.0, 7.0].iter().filter(|b| t >= **b).count();
    let mut shots: Vec<usize> = t.iter().map(|t| shot(*t)).collect();
    shots.sort_unstable();
    shots.dedup();
    assert_eq!(shots.len(), 3, "{t:?}");
}

#[tokio::test]
async fn the_sharp_shot_beats_its_blurred_twin_and_count_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("twins.mp4");
    let photo = repo(".iprod/test-media/astronaut.png");
    // 0-2 s: the photo blurred; 2-4 s: the same photo, sharp.
    ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "25",
        "-t",
        "4",
        "-i",
        photo.to_str().unwrap(),
        "-filter_complex",
        "[0:v]scale=640:360,setsar=1,split[x][y];[x]trim=duration=2,boxblur=6[blur];[y]trim=duration=2,setpts=PTS-STARTPTS[sharp];[blur][sharp]concat=n=2:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-crf",
        "20",
        clip.to_str().unwrap(),
    ]);
    let out = run(FunctionName::Cover, r#"{"Count":2}"#, &clip, dir.path(), "oss://media/c/{sequenceId}.png")
        .await
        .unwrap();
    println!("{}", out.result);
    let t = times(&out.result);
    assert!((2.0..4.0).contains(&t[0]), "the sharp twin first: {t:?}");
    assert!(out.files.len() <= 2 && out.files.iter().all(|f| f.extension().unwrap() == "png"));
}

#[tokio::test]
async fn the_animated_cover_is_a_short_bounded_loop_in_the_best_shot() {
    let dir = tempfile::tempdir().unwrap();
    let clip = ranking_clip(dir.path());
    for ext in ["gif", "mp4"] {
        let template = format!("oss://media/c/{{source}}.{ext}");
        let out = run(FunctionName::Cover, r#"{"Model":"gif"}"#, &clip, dir.path(), &template).await.unwrap();
        println!("{ext}: {}", out.result);
        assert_eq!(out.files.len(), 1);
        let file = &out.files[0];
        let bytes = std::fs::metadata(file).unwrap().len();
        assert!(bytes <= 4 << 20, "{bytes} bytes");
        let counted: u32 = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries"])
            .args(["stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(file)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0))
            .unwrap();
        assert!(counted >= 20, "animated: {counted} frames");
        let duration: f64 = ffprobe(file, "format=duration", None).parse().unwrap();
        assert!((1.9..=3.1).contains(&duration), "{duration} s");
        let width: u32 = ffprobe(file, "stream=width", Some("v:0")).parse().unwrap();
        assert!(width <= 480);
        let t = times(&out.result);
        assert!(t.len() == 1 && (3.0..5.0).contains(&t[0]), "around the face shot: {t:?}");
        if ext == "mp4" {
            assert_eq!(ffprobe(file, "stream=codec_name", Some("v:0")), "h264");
        }
    }
}
