//! VideoClip's render: one ffmpeg pass cutting the chosen segments out and joining them, and the
//! job's Result.

use iprod_core::Result;
use serde_json::{Value, json};

use super::{FADE, Segment};
use crate::process::Process;
use crate::video::info::VideoInfo;
use crate::video::{EVEN, Render, h264_output};

/// The filter graph that cuts `segments` out of the source and joins them: video by time
/// (half a frame early, so the boundary frame is taken exactly once), audio by the same times
/// with a fade in and out at every join.
pub fn graph(segments: &[Segment], info: &VideoInfo) -> String {
    let fps = info.fps;
    let n = segments.len();
    // One decode of the source feeds every segment; chronological segments keep memory flat.
    let mut graph =
        if n == 1 { "[0:v:0]null[v0];".to_owned() } else { format!("[0:v:0]split={n}{};", labels('v', n)) };
    if info.has_audio {
        // concat wants each segment's video and audio side by side: the labels are joined below.
        graph.push_str(&audio_chains(segments, info, 0).0);
    }
    let mut joined = String::new();
    for (i, s) in segments.iter().enumerate() {
        let (a, b) = (s.start as f64 / fps, s.end as f64 / fps);
        // Filter times count from 0: the ffmpeg command line shifts the input to start there,
        // whatever the file's first timestamp (`info.start`).
        let (va, vb) = (a - 0.5 / fps, b - 0.5 / fps);
        graph.push_str(&format!("[v{i}]trim=start={va:.6}:end={vb:.6},setpts=PTS-STARTPTS[vs{i}];"));
        joined.push_str(&format!("[vs{i}]"));
        if info.has_audio {
            joined.push_str(&format!("[as{i}]"));
        }
    }
    let audio = u8::from(info.has_audio);
    graph.push_str(&format!(
        "{joined}concat=n={n}:v=1:a={audio}[joined]{};[joined]{}[outv]",
        if info.has_audio { "[outa]" } else { "" },
        EVEN
    ));
    graph
}

fn labels(prefix: char, n: usize) -> String {
    (0..n).map(|i| format!("[{prefix}{i}]")).collect()
}

/// The audio of `segments` from input `input`, each cut at its frames' times and faded in and
/// out over [`FADE`] (no click at a join): the chains, and their output labels in order
/// (`[as0][as1]…`).
pub(super) fn audio_chains(segments: &[Segment], info: &VideoInfo, input: usize) -> (String, String) {
    let n = segments.len();
    let mut chains = if n == 1 {
        format!("[{input}:a:0]anull[a0];")
    } else {
        format!("[{input}:a:0]asplit={n}{};", labels('a', n))
    };
    let mut joined = String::new();
    for (i, s) in segments.iter().enumerate() {
        let (a, b) = (s.start as f64 / info.fps, s.end as f64 / info.fps);
        chains.push_str(&format!(
            "[a{i}]atrim=start={a:.6}:end={b:.6},asetpts=PTS-STARTPTS,afade=t=in:st=0:d={FADE},afade=t=out:st={:.6}:d={FADE}[as{i}];",
            (b - a - FADE).max(0.0)
        ));
        joined.push_str(&format!("[as{i}]"));
    }
    (chains, joined)
}

/// Renders the summary in one ffmpeg pass (the pass's own audio handling: the segments' audio is
/// cut and joined, so it is always encoded); `on_progress` gets 0..1.
pub async fn render(pass: &Render<'_>, segments: &[Segment], on_progress: impl FnMut(f64)) -> Result<()> {
    let (ffmpeg, input, output, info, timeout) =
        (pass.ffmpeg, pass.input, pass.output, pass.info, pass.timeout);
    let total: f64 = segments.iter().map(|s| (s.end - s.start) as f64 / info.fps).sum();
    let mut process = Process::new(ffmpeg, timeout)
        .args(["-nostdin", "-v", "error", "-stats", "-y"])
        .input(input)
        .args(["-filter_complex", &graph(segments, info), "-map", "[outv]"]);
    if info.has_audio {
        process = process.args(["-map", "[outa]", "-c:a", "aac", "-b:a", "160k"]);
    }
    let process = process.args(h264_output(output, 20, pass.encoder)).arg(output);
    process.run_with_progress(total, on_progress).await.map_err(|e| e.into_error("rendering the summary"))
}

/// The seed's VideoClip result: the source ranges used, in output order (seconds, strings); and
/// `Copied`: whether the summary's video was copied from the source rather than encoded again.
pub fn result(segments: &[Segment], fps: f64, copied: bool) -> Value {
    let list: Vec<Value> = segments
        .iter()
        .map(|s| {
            json!({"StartTime": format!("{:.2}", s.start as f64 / fps), "EndTime": format!("{:.2}", s.end as f64 / fps)})
        })
        .collect();
    json!({ "VideoSummaryList": list, "Copied": copied })
}
