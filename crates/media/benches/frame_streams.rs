//! Raw frame streams from ffmpeg, ours (`Process::stream`) against ffmpeg-sidecar's frame
//! iterator (`FfmpegChild::iter().filter_frames()`), on the videos bench's clip: the analysis
//! stream VideoH2V and VideoClip read (320×180 YUV 4:2:0, every frame) and a full-size one
//! (1280×720 RGB). Each run is a fresh process of this binary; per stream: the best of 3 wall
//! times, the frames, and how far the process's peak resident memory grew while streaming, also
//! in frames. This is the measurement behind keeping our reader for frames (docs/benchmarks.md,
//! "ffmpeg through ffmpeg-sidecar"). Needs the clip the videos bench writes (`make bench` runs
//! both).
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

#[path = "common/peak_rss.rs"]
mod peak_rss;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ffmpeg_sidecar::command::FfmpegCommand;
use iprod_media::process::Process;
use peak_rss::peak_rss_mb;

struct Stream {
    name: &'static str,
    filter: &'static str,
    pix_fmt: &'static str,
    frame_bytes: usize,
}

const STREAMS: [Stream; 2] = [
    Stream {
        name: "analysis, 320x180 YUV 4:2:0",
        filter: "scale=320:180:flags=area",
        pix_fmt: "yuv420p",
        frame_bytes: 320 * 180 * 3 / 2,
    },
    Stream { name: "full size, 1280x720 RGB", filter: "null", pix_fmt: "rgb24", frame_bytes: 1280 * 720 * 3 },
];

/// What a consumer does with a frame: looks at it (so no reader can skip the copy).
fn touch(frame: &[u8]) -> u64 {
    frame.iter().step_by(64).map(|&b| u64::from(b)).sum()
}

fn ours(runtime: &tokio::runtime::Runtime, clip: &Path, s: &Stream) -> (usize, u64) {
    let (mut frames, mut sum) = (0, 0);
    let process = Process::new("ffmpeg", Duration::from_secs(600))
        .args(["-nostdin", "-v", "error"])
        .input(clip)
        .args(["-map", "0:v:0", "-an", "-vf", s.filter, "-f", "rawvideo", "-pix_fmt", s.pix_fmt, "pipe:1"]);
    runtime
        .block_on(process.stream(s.frame_bytes, |frame| {
            frames += 1;
            sum += touch(frame);
            true
        }))
        .unwrap();
    (frames, sum)
}

/// ffmpeg-sidecar's way, as its documentation shows it, on a thread of its own. Its iterator
/// learns the frame size from ffmpeg's info-level log (its default `-loglevel level+info`): with
/// our `-v error` it yields no frames at all.
fn sidecar(clip: &Path, s: &Stream) -> (usize, u64) {
    let clip = clip.to_owned();
    let (filter, pix_fmt) = (s.filter, s.pix_fmt);
    std::thread::spawn(move || {
        let mut child = FfmpegCommand::new_with_path("ffmpeg")
            .args(["-nostdin", "-protocol_whitelist", "file"])
            .input(clip.to_str().unwrap())
            .args(["-map", "0:v:0", "-an", "-vf", filter, "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"])
            .spawn()
            .unwrap();
        let (mut frames, mut sum) = (0, 0);
        for frame in child.iter().unwrap().filter_frames() {
            frames += 1;
            sum += touch(&frame.data);
        }
        child.wait().unwrap();
        (frames, sum)
    })
    .join()
    .unwrap()
}

/// One stream in a fresh process (`frame_streams READER STREAM`), so each peak is its own:
/// prints the frames, their checksum, the seconds and how far the peak grew (MB).
fn one_run(reader: &str, stream: usize) {
    let clip = clip();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let before = peak_rss_mb();
    let start = Instant::now();
    let (frames, sum) = match reader {
        "ours" => ours(&runtime, &clip, &STREAMS[stream]),
        _ => sidecar(&clip, &STREAMS[stream]),
    };
    let secs = start.elapsed().as_secs_f64();
    println!("{frames} {sum} {secs} {}", peak_rss_mb() - before);
}

fn clip() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/cache/bench720.mp4")
}

/// Best of three fresh runs: seconds, frames, checksum, the largest peak growth (MB).
fn measure(reader: &str, stream: usize) -> (f64, usize, u64, f64) {
    let me = std::env::current_exe().unwrap();
    let mut best = (f64::MAX, 0, 0, 0f64);
    for _ in 0..3 {
        let out = Command::new(&me).args([reader, &stream.to_string()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let v: Vec<&str> = text.split_whitespace().collect();
        let (frames, sum, secs, grew) = (
            v[0].parse().unwrap(),
            v[1].parse().unwrap(),
            v[2].parse::<f64>().unwrap(),
            v[3].parse().unwrap(),
        );
        best = (best.0.min(secs), frames, sum, best.3.max(grew));
    }
    best
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let (Some(reader), Some(stream)) = (args.get(1), args.get(2).and_then(|s| s.parse().ok())) {
        return one_run(reader, stream);
    }
    assert!(clip().exists(), "{} is written by the videos bench: run it first", clip().display());
    println!("frame streams: bench720.mp4 (30 s, 750 frames), best of 3 fresh processes, 2 cores");
    println!("{:<36} {:>6} {:>7} {:>24}", "", "s", "frames", "peak RSS growth (MB)");
    for (i, s) in STREAMS.iter().enumerate() {
        let frame_mb = s.frame_bytes as f64 / 1e6;
        println!("{} (a frame is {frame_mb:.2} MB)", s.name);
        let ours = measure("ours", i);
        let theirs = measure("sidecar", i);
        assert_eq!((ours.1, ours.2), (theirs.1, theirs.2), "both readers saw the same frames");
        for (who, (secs, frames, _, grew)) in
            [("  ours (Process::stream)", ours), ("  ffmpeg-sidecar", theirs)]
        {
            println!("{who:<36} {secs:>6.2} {frames:>7} {grew:>10.1} ({:.1} frames)", grew / frame_mb);
        }
    }
}
