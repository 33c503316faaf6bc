//! VideoH2V on synthetic clips with real faces (grace_hopper) at known positions: the face stays
//! in the vertical frame while it moves, the camera is smooth within a shot and jumps only at the
//! cut, audio is kept; two people too far apart for one window get a padded shot.

mod video_common;

use iprod_core::FunctionName;
use iprod_media::onnx::OnnxRuntime;
use iprod_media::vision::faces;
use video_common::*;

#[tokio::test]
async fn the_face_stays_in_the_vertical_frame_and_the_camera_respects_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("wide.mp4");
    let face = repo(".iprod/test-media/grace_hopper.jpg");
    // Shot 1 (0-4 s): the portrait (scaled to 300 px wide) glides from x=40 to x=840 over a
    // blue-grey scene. Shot 2 (4-6 s): a warm scene, the portrait still at x=940. Audio: a tone.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x3a5a7a:s=1280x720:r=25:d=4",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x8a5a3a:s=1280x720:r=25:d=2",
        "-loop",
        "1",
        "-i",
        face.to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=330:duration=6",
        "-filter_complex",
        "[2:v]scale=300:-2,split[p1][p2];[0:v][p1]overlay=x='40+200*t':y=120:shortest=1[a];[1:v][p2]overlay=x=940:y=140:shortest=1[b];[a][b]concat=n=2:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-map",
        "3:a",
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
    // Progress moves during the analysis (5-50: shots, then faces), not only in the render.
    let reports = progress.0.lock().unwrap().clone();
    assert!(reports.iter().any(|p| (6..50).contains(p)), "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0] <= w[1]), "never backwards: {reports:?}");
    let result = &out.result;
    println!("{result}");
    assert_eq!((result["Width"].as_u64(), result["Height"].as_u64()), (Some(404), Some(720)));
    let shots = result["Shots"].as_array().unwrap();
    assert_eq!(shots.len(), 2, "one cut, at 4 s: {result}");
    assert!((shots[1]["Start"].as_f64().unwrap() - 4.0).abs() < 0.1);
    assert_eq!(shots[0]["Mode"], "tracking");
    assert_eq!(shots[1]["Mode"], "stationary");
    assert_eq!(result["Mode"], "crop");
    // The crop path at the analysis rate (5 a second): [t, x, y, w, h].
    let path: Vec<[f64; 5]> = result["CropPath"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| std::array::from_fn(|i| p[i].as_f64().unwrap()))
        .collect();
    assert_eq!(path.len(), 31, "6 s at 5 a second");
    assert!(path.iter().all(|p| p[2] == 0.0 && p[3] == 404.0 && p[4] == 720.0));
    // The window of each rendered frame (25 fps): linear between path entries, as the render.
    let window_at = |t: f64| {
        let i = path.iter().rposition(|p| p[0] <= t + 1e-9).unwrap();
        let (a, b) = (path[i], path[(i + 1).min(path.len() - 1)]);
        let same_shot = (a[0] < 4.0) == (b[0] < 4.0) && b[0] > a[0];
        if same_shot { a[1] + (b[1] - a[1]) * (t - a[0]) / (b[0] - a[0]) } else { a[1] }
    };
    // Ground truth: the face's box in the portrait, moved as the clip moves the portrait.
    let runtime = OnnxRuntime::new(repo(".iprod/model-pack"), 2);
    let portrait = image::open(&face).unwrap().to_rgb8();
    let scaled = image::imageops::resize(
        &portrait,
        300,
        ((300.0 * f64::from(portrait.height()) / f64::from(portrait.width()) / 2.0).round() * 2.0) as u32,
        image::imageops::FilterType::Triangle,
    );
    let truth = faces::detect(&runtime, &scaled, faces::DEFAULT_THRESHOLD).unwrap()[0].rect;
    let frames: Vec<f64> = (0..150).map(|n| f64::from(n) / 25.0).collect();
    let inside = frames
        .iter()
        .filter(|t| {
            let left = if **t < 4.0 { 40.0 + 200.0 * **t } else { 940.0 } + f64::from(truth.x);
            let x = window_at(**t);
            left >= x && left + f64::from(truth.width) <= x + 404.0
        })
        .count();
    println!("the true face is inside the window in {inside} of 150 frames");
    assert!(inside as f64 >= 0.95 * 150.0, "{inside} of 150 frames");
    // Smoothness: mean |second difference| of the window's x, in pixels per frame², within the
    // tracking shot (the cut is a jump by design).
    let xs: Vec<f64> = frames.iter().filter(|t| **t < 4.0).map(|t| window_at(*t)).collect();
    let jerk = xs.windows(3).map(|w| (w[2] - 2.0 * w[1] + w[0]).abs()).sum::<f64>() / (xs.len() - 2) as f64;
    println!("mean |second difference| of the window: {jerk:.3} px/frame²");
    assert!(jerk <= 0.5, "{jerk} px/frame²");
    // The still shot's window does not move.
    assert!(frames.iter().filter(|t| **t >= 4.0).all(|t| window_at(*t) == window_at(4.0)));

    // The face is in the rendered vertical frames, in both shots.
    for t in ["0.5", "1.5", "2.5", "3.5", "4.5", "5.5"] {
        let frame = dir.path().join(format!("out-{t}.png"));
        ffmpeg(&["-ss", t, "-i", out.files[0].to_str().unwrap(), "-frames:v", "1", frame.to_str().unwrap()]);
        let image = image::open(&frame).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (404, 720));
        let found = faces::detect(&runtime, &image, faces::DEFAULT_THRESHOLD).unwrap();
        assert!(!found.is_empty(), "t={t}: no face in the vertical frame");
        let f = found[0].rect;
        assert!(f.x >= 0.0 && f.right() <= 404.0, "t={t}: face {f:?} cut by the frame");
    }
    assert!(ffprobe(&out.files[0], "stream=codec_type", None).contains("audio"), "audio kept");
}

#[tokio::test]
async fn two_people_far_apart_get_a_padded_shot_with_both_in_view() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("pair.mp4");
    let face = repo(".iprod/test-media/grace_hopper.jpg");
    // Shot 1 (0-3 s): the portrait twice, at the far left and the far right. Shot 2 (3-5 s): once.
    ffmpeg(&[
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
        "-filter_complex",
        "[2:v]scale=260:-2,split=3[p1][p2][p3];[0:v][p1]overlay=x=30:y=150:shortest=1[l];[l][p2]overlay=x=990:y=150:shortest=1[a];[1:v][p3]overlay=x=500:y=150:shortest=1[b];[a][b]concat=n=2:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-crf",
        "18",
        clip.to_str().unwrap(),
    ]);
    let out = run(FunctionName::VideoH2V, "", &clip, dir.path(), "oss://media/o/{source}.mp4").await.unwrap();
    println!("{}", out.result);
    let shots = out.result["Shots"].as_array().unwrap();
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
