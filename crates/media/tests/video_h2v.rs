//! VideoH2V on synthetic clips with real faces (grace_hopper) at known positions: the faces stay
//! in the vertical frame while one moves and a second appears, the camera is smooth within a
//! shot and jumps only at the cuts, audio is kept; two people too far apart for one window get a
//! padded shot; and on real footage (bikes.mp4), the shots and the output's shape and length.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

mod video_common;

use iprod_core::FunctionName;
use iprod_media::onnx::OnnxRuntime;
use iprod_media::vision::faces;
use video_common::*;

/// Makes `clip` from `inputs` through `filter` (its video out as `[v]`, H.264) and reframes it:
/// the output and the Result's shots.
async fn reframed(
    inputs: &[&str],
    filter: &str,
    clip: &std::path::Path,
    dir: &std::path::Path,
) -> (iprod_core::ports::MediaOutput, Vec<serde_json::Value>) {
    let mut args = inputs.to_vec();
    args.extend(["-filter_complex", filter, "-map", "[v]", "-c:v", "libx264", "-crf", "18"]);
    args.push(clip.to_str().unwrap());
    ffmpeg(&args);
    let out = run(FunctionName::VideoH2V, "", clip, dir, "oss://media/o/{source}.mp4").await.unwrap();
    println!("{}", out.result);
    let shots = out.result["Shots"].as_array().unwrap().clone();
    (out, shots)
}

/// The shot of a time in the three-shot clip below.
fn shot_of(t: f64) -> usize {
    usize::from(t >= 4.0) + usize::from(t >= 6.0)
}

#[tokio::test]
async fn the_faces_stay_in_the_vertical_frame_and_the_camera_respects_the_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("wide.mp4");
    let face = repo(".iprod/test-media/grace_hopper.jpg");
    // Shot 1 (0-4 s): the portrait (scaled to 300 px wide) glides from x=40 to x=840 over a
    // blue-grey scene. Shot 2 (4-6 s): a warm scene, the portrait still at x=940. Shot 3
    // (6-9 s): a green scene, a smaller portrait (160 px) at x=240, and from 7 s a second one at
    // x=440. Audio: a tone.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x3a5a7a:s=1280x720:r=25:d=4",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x8a5a3a:s=1280x720:r=25:d=2",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x4a7a4a:s=1280x720:r=25:d=3",
        "-loop",
        "1",
        "-i",
        face.to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:duration=9",
        "-filter_complex",
        "[3:v]split[f1][f2];[f1]scale=300:-2,split[p1][p2];[f2]scale=160:-2,split[pa][pb];\
         [0:v][p1]overlay=x='40+200*t':y=120:shortest=1[a];[1:v][p2]overlay=x=940:y=140:shortest=1[b];\
         [2:v][pa]overlay=x=240:y=200:shortest=1[c0];[c0][pb]overlay=x=440:y=200:enable='gte(t,1)':shortest=1[c];\
         [a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-map",
        "4:a",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        "-c:a",
        "aac",
        "-shortest",
        clip.to_str().unwrap(),
    ]);
    let progress = Recorder::default();
    let out =
        run_reporting(FunctionName::VideoH2V, "", &clip, dir.path(), "oss://media/o/{source}.mp4", &progress)
            .await
            .unwrap();
    // Progress moves during the analysis (5-50), not only in the render.
    let reports = progress.0.lock().unwrap().clone();
    assert!(reports.iter().any(|p| (6..50).contains(p)), "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0] <= w[1]), "never backwards: {reports:?}");
    let result = &out.result;
    println!("{result}");
    assert_eq!((result["Width"].as_u64(), result["Height"].as_u64()), (Some(404), Some(720)));
    let shots = result["Shots"].as_array().unwrap();
    assert_eq!(shots.len(), 3, "cuts at 4 s and 6 s: {result}");
    assert!((shots[1]["Start"].as_f64().unwrap() - 4.0).abs() < 0.1);
    assert!((shots[2]["Start"].as_f64().unwrap() - 6.0).abs() < 0.1);
    assert_eq!(shots[0]["Mode"], "tracking");
    assert_eq!(shots[1]["Mode"], "stationary");
    assert_eq!(result["Mode"], "crop");
    // The crop path at 5 entries a second: [t, x, y, w, h].
    let path: Vec<[f64; 5]> = result["CropPath"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| std::array::from_fn(|i| p[i].as_f64().unwrap()))
        .collect();
    assert_eq!(path.len(), 46, "9 s at 5 a second");
    assert!(path.iter().all(|p| p[2] == 0.0 && p[3] == 404.0 && p[4] == 720.0));
    // The window of each rendered frame (25 fps), as the render moves it: linear between path
    // entries of a shot, and after a shot's last entry on at the same speed until the cut.
    let window_at = |t: f64| {
        let i = path.iter().rposition(|p| p[0] <= t + 1e-9).unwrap();
        let (a, b) = (path[i], path[(i + 1).min(path.len() - 1)]);
        if shot_of(a[0]) == shot_of(b[0]) && b[0] > a[0] {
            a[1] + (b[1] - a[1]) * (t - a[0]) / (b[0] - a[0])
        } else if i > 0 && shot_of(path[i - 1][0]) == shot_of(a[0]) {
            let before = path[i - 1];
            (a[1] + (a[1] - before[1]) * (t - a[0]) / (a[0] - before[0])).clamp(0.0, 1280.0 - 404.0)
        } else {
            a[1]
        }
    };
    // Ground truth: the face's box in each portrait size, moved as the clip moves the portraits.
    let runtime = OnnxRuntime::new(repo(".iprod/model-pack"), 2);
    let portrait = image::open(&face).unwrap().to_rgb8();
    let face_in = |width: u32| {
        let height =
            (f64::from(width) * f64::from(portrait.height()) / f64::from(portrait.width()) / 2.0).round();
        let scaled = image::imageops::resize(
            &portrait,
            width,
            (height * 2.0) as u32,
            image::imageops::FilterType::Triangle,
        );
        faces::detect(&runtime, &scaled, faces::DEFAULT_THRESHOLD).unwrap()[0].rect
    };
    let (large, small) = (face_in(300), face_in(160));
    // (left, width) of every face shown at `t`.
    let faces_at = |t: f64| -> Vec<(f64, f64)> {
        let (large_x, small_x) = (f64::from(large.x), f64::from(small.x));
        match shot_of(t) {
            0 => vec![(40.0 + 200.0 * t + large_x, f64::from(large.width))],
            1 => vec![(940.0 + large_x, f64::from(large.width))],
            _ => std::iter::once(240.0)
                .chain((t >= 7.0).then_some(440.0))
                .map(|x| (x + small_x, f64::from(small.width)))
                .collect(),
        }
    };
    let frames: Vec<f64> = (0..225).map(|n| f64::from(n) / 25.0).collect();
    let inside = frames
        .iter()
        .filter(|t| {
            let x = window_at(**t);
            faces_at(**t).iter().all(|(left, width)| *left >= x && left + width <= x + 404.0)
        })
        .count();
    println!("every true face is inside the window in {inside} of 225 frames");
    assert!(inside as f64 >= 0.95 * 225.0, "{inside} of 225 frames");
    // Smoothness: mean |second difference| of the window's x, in pixels per frame², within the
    // tracking shot (the cuts are jumps by design).
    let xs: Vec<f64> = frames.iter().filter(|t| **t < 4.0).map(|t| window_at(*t)).collect();
    let jerk = xs.windows(3).map(|w| (w[2] - 2.0 * w[1] + w[0]).abs()).sum::<f64>() / (xs.len() - 2) as f64;
    // Bounded velocity and acceleration: the fastest the window moves and the largest change of
    // its speed between two frames (the face moves 8 px a frame).
    let speed = xs.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f64::max);
    let acceleration = xs.windows(3).map(|w| (w[2] - 2.0 * w[1] + w[0]).abs()).fold(0.0, f64::max);
    println!(
        "window: mean |second difference| {jerk:.3} px/frame², top speed {speed:.1} px/frame, top acceleration {acceleration:.2} px/frame²"
    );
    assert!(jerk <= 0.5, "{jerk} px/frame²");
    assert!(speed <= 12.0 && acceleration <= 3.0, "speed {speed}, acceleration {acceleration}");
    // The still shot's window does not move.
    assert!(frames.iter().filter(|t| shot_of(**t) == 1).all(|t| window_at(*t) == window_at(4.0)));

    // The faces are in the rendered vertical frames, in every shot, none cut by the frame.
    for (t, count) in
        [("0.5", 1), ("1.5", 1), ("2.5", 1), ("3.5", 1), ("4.5", 1), ("5.5", 1), ("6.5", 1), ("8.0", 2)]
    {
        let frame = dir.path().join(format!("out-{t}.png"));
        ffmpeg(&["-ss", t, "-i", out.files[0].to_str().unwrap(), "-frames:v", "1", frame.to_str().unwrap()]);
        let image = image::open(&frame).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (404, 720));
        let found = faces::detect(&runtime, &image, faces::DEFAULT_THRESHOLD).unwrap();
        assert_eq!(found.len(), count, "t={t}: {found:?}");
        for f in found {
            assert!(f.rect.x >= 0.0 && f.rect.right() <= 404.0, "t={t}: face {:?} cut by the frame", f.rect);
        }
    }
    assert!(ffprobe(&out.files[0], "stream=codec_type", None).contains("audio"), "audio kept");
}

#[tokio::test]
async fn two_people_far_apart_get_a_padded_shot_with_both_in_view() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("pair.mp4");
    let face = repo(".iprod/test-media/grace_hopper.jpg");
    // Shot 1 (0-3 s): the portrait twice, at the far left and the far right. Shot 2 (3-5 s): once.
    let inputs = [
        "-f",
        "lavfi",
        "-i",
        "color=c=0x3a5a7a:s=1280x720:r=25:d=3",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x8a5a3a:s=1280x720:r=25:d=2",
        "-loop",
        "1",
        "-i",
        face.to_str().unwrap(),
    ];
    let filter = "[2:v]scale=260:-2,split=3[p1][p2][p3];[0:v][p1]overlay=x=30:y=150:shortest=1[l];[l][p2]overlay=x=990:y=150:shortest=1[a];[1:v][p3]overlay=x=500:y=150:shortest=1[b];[a][b]concat=n=2:v=1:a=0,format=yuv420p[v]";
    let (out, shots) = reframed(&inputs, filter, &clip, dir.path()).await;
    assert_eq!(shots.len(), 2, "{}", out.result);
    assert_eq!(shots[0]["Mode"], "padded");
    assert_ne!(shots[1]["Mode"], "padded");
    let runtime = OnnxRuntime::new(repo(".iprod/model-pack"), 2);
    let faces_at = |t: &str| {
        let frame = dir.path().join(format!("pair-{t}.png"));
        ffmpeg(&["-ss", t, "-i", out.files[0].to_str().unwrap(), "-frames:v", "1", frame.to_str().unwrap()]);
        let image = image::open(&frame).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (404, 720));
        faces::detect(&runtime, &image, faces::DEFAULT_THRESHOLD).unwrap().len()
    };
    assert!(faces_at("1.5") >= 2, "both people in the padded shot");
    assert_eq!(faces_at("4.0"), 1, "the cropped shot after it");
}

#[tokio::test]
async fn real_footage_is_reframed_shot_by_shot_with_its_length_kept() {
    let dir = tempfile::tempdir().unwrap();
    let bikes = repo(".iprod/test-media/bikes.mp4");
    let out =
        run(FunctionName::VideoH2V, "", &bikes, dir.path(), "oss://media/o/{source}.mp4").await.unwrap();
    println!("{}", out.result);
    // bikes.mp4 (640x272, 10 s) has five cuts (checked by eye); each starts a shot.
    let starts: Vec<f64> =
        out.result["Shots"].as_array().unwrap().iter().map(|s| s["Start"].as_f64().unwrap()).collect();
    let cuts = [1.20, 3.04, 5.48, 7.48, 9.68];
    assert_eq!(starts.len(), cuts.len() + 1, "{starts:?}");
    assert!(starts[1..].iter().zip(cuts).all(|(s, c)| (s - c).abs() <= 0.08), "{starts:?}");
    let path = out.result["CropPath"].as_array().unwrap();
    assert_eq!(path.len(), 51, "10 s at 5 a second");
    // Every window lies inside the source, 152x272 (9:16 at full height, even sides).
    for p in path {
        let [x, w, h] = [1, 3, 4].map(|i| p[i].as_u64().unwrap());
        assert!((w, h) == (152, 272) && x + w <= 640 || (w, h) == (640, 272), "{p}");
    }
    let size = ffprobe(&out.files[0], "stream=codec_name,width,height", Some("v:0"));
    assert!(size.contains("h264") && size.contains("152") && size.contains("272"), "{size}");
    let length = |p: &std::path::Path| ffprobe(p, "format=duration", None).trim().parse::<f64>().unwrap();
    assert!((length(&out.files[0]) - length(&bikes)).abs() < 0.1);
}

#[tokio::test]
async fn a_moving_subject_without_a_face_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("ball.mp4");
    // One 6 s shot: a 160 px red-and-white target crosses a calm blue scene from x=40 to x=1080.
    let inputs = [
        "-f",
        "lavfi",
        "-i",
        "color=c=0x2a4a6a:s=1280x720:r=25:d=6",
        "-f",
        "lavfi",
        "-i",
        "color=c=0xd02020:s=160x160:r=25:d=6,drawbox=x=40:y=40:w=80:h=80:color=white:t=fill,drawbox=x=64:y=64:w=32:h=32:color=0xd02020:t=fill",
    ];
    let filter = "[0:v][1:v]overlay=x='40+1040*t/6':y=280:shortest=1,format=yuv420p[v]";
    let (out, shots) = reframed(&inputs, filter, &clip, dir.path()).await;
    assert_eq!(shots.len(), 1, "{}", out.result);
    assert_eq!(shots[0]["Mode"], "tracking");
    let path: Vec<[f64; 2]> = out.result["CropPath"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
        .collect();
    let window_at = |t: f64| {
        let i = path.iter().rposition(|p| p[0] <= t + 1e-9).unwrap();
        let (a, b) = (path[i], path[(i + 1).min(path.len() - 1)]);
        if b[0] > a[0] { a[1] + (b[1] - a[1]) * (t - a[0]) / (b[0] - a[0]) } else { a[1] }
    };
    let frames: Vec<f64> = (0..150).map(|n| f64::from(n) / 25.0).collect();
    let inside = frames
        .iter()
        .filter(|t| {
            let (left, x) = (40.0 + 1040.0 * **t / 6.0, window_at(**t));
            left >= x && left + 160.0 <= x + 404.0
        })
        .count();
    println!("the target is inside the window in {inside} of 150 frames");
    assert!(inside as f64 >= 0.95 * 150.0, "{inside} of 150 frames");
}

#[tokio::test]
async fn an_aspect_and_a_width_shape_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let bikes = repo(".iprod/test-media/bikes.mp4");
    let params = r#"{"Aspect":"4:5","Width":216}"#;
    let out =
        run(FunctionName::VideoH2V, params, &bikes, dir.path(), "oss://media/o/{source}.mp4").await.unwrap();
    // The window is 4:5 of the full 272 px height (218x272, even), scaled to 216 wide.
    assert_eq!((out.result["Width"].as_u64(), out.result["Height"].as_u64()), (Some(216), Some(270)));
    let cropped = out.result["CropPath"].as_array().unwrap().iter().find(|p| p[3] != 640).cloned();
    assert!(cropped.is_none_or(|p| p[3] == 218 && p[4] == 272), "{}", out.result);
    let size = ffprobe(&out.files[0], "stream=width,height", Some("v:0"));
    assert_eq!(size, "216,270");

    // A portrait video cannot be reframed to a square by sliding sideways: a parameter error,
    // before anything is decoded.
    let portrait = dir.path().join("portrait.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=180x320:rate=25:duration=1",
        "-pix_fmt",
        "yuv420p",
        portrait.to_str().unwrap(),
    ]);
    let square = r#"{"Aspect":"1:1"}"#;
    let e = run(FunctionName::VideoH2V, square, &portrait, dir.path(), "oss://media/o/{source}.mp4")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidParameter.JobParams");
    assert!(e.message().contains("wider than the video (180x320)"), "{}", e.message());
}
