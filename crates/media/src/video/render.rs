//! The render pass every video function ends with: one ffmpeg run from the source to the output
//! through a filter (or a filter graph), H.264 with the audio kept, progress from `-stats`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use iprod_core::Result;

use super::hardware::VideoEncoder;
use super::info::VideoInfo;
use crate::process::Process;

/// H.264 in 4:2:0 needs even sides: an odd last row or column is cropped (no resampling).
pub const EVEN: &str = "crop=trunc(iw/2)*2:trunc(ih/2)*2";

/// One ffmpeg pass from `input` to `output` through a video filter: H.264, audio copied when the
/// container takes it as is (AAC/MP3) and re-encoded to AAC otherwise, +faststart for MP4/MOV.
pub struct Render<'a> {
    pub ffmpeg: &'a Path,
    pub input: &'a Path,
    pub output: &'a Path,
    pub info: &'a VideoInfo,
    pub audio_codec: Option<&'a str>,
    pub timeout: Duration,
    pub encoder: VideoEncoder,
}

impl Render<'_> {
    /// Runs the pass; `on_progress` gets the fraction (0..1) of the video written so far, from
    /// ffmpeg's `-stats` lines.
    pub async fn run(&self, filter: &str, crf: u8, on_progress: impl FnMut(f64)) -> Result<()> {
        let process =
            self.start().args(["-map", "0:v:0", "-map", "0:a?", "-vf", &format!("{filter},{EVEN}")]);
        self.finish(process, crf, on_progress).await
    }

    /// Like [`Render::run`] through a filter graph from `[0:v:0]` to `[out]`, with `stills` as
    /// inputs 1, 2, … (our own one-frame YUV4MPEG2 files, e.g. per-pixel maps), then the source
    /// again once per `shifted` seconds: its frame from that much later (earlier, when negative)
    /// at each time, decoded alongside so no frames queue up.
    pub async fn run_graph(
        &self,
        stills: &[PathBuf],
        shifted: &[f64],
        graph: &str,
        crf: u8,
        on_progress: impl FnMut(f64),
    ) -> Result<()> {
        let mut process = self.start();
        for still in stills {
            process = process.args(["-f", "yuv4mpegpipe", "-i"]).arg(still);
        }
        for shift in shifted {
            let (option, seconds) = if *shift >= 0.0 { ("-ss", *shift) } else { ("-itsoffset", -shift) };
            process = process.args([option, &format!("{seconds:.3}")]).input(self.input);
        }
        let process = process.args(["-filter_complex", graph, "-map", "[out]", "-map", "0:a?"]);
        self.finish(process, crf, on_progress).await
    }

    fn start(&self) -> Process {
        Process::new(self.ffmpeg, self.timeout)
            .args(["-nostdin", "-v", "error", "-stats", "-y"])
            .input(self.input)
    }

    async fn finish(&self, mut process: Process, crf: u8, mut on_progress: impl FnMut(f64)) -> Result<()> {
        process = match (self.info.has_audio, self.audio_codec) {
            (false, _) => process,
            (true, Some("aac" | "mp3")) => process.args(["-c:a", "copy"]),
            (true, _) => process.args(["-c:a", "aac", "-b:a", "160k"]),
        };
        let process = process.args(h264_output(self.output, crf, self.encoder)).arg(self.output);
        process
            .run_with_progress(self.info.duration, &mut on_progress)
            .await
            .map_err(|e| e.into_error("rendering the video"))
    }
}

/// The video encoder options of every rendered output: H.264 at `crf` in 4:2:0 (x264, or NVENC
/// on a GPU host), with the index up front (`+faststart`) for MP4/MOV so players can start
/// before the end.
pub fn h264_output(output: &Path, crf: u8, encoder: VideoEncoder) -> Vec<String> {
    let mut args = encoder.args(crf);
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("mp4").to_ascii_lowercase();
    if ext == "mp4" || ext == "mov" {
        args.extend(["-movflags".to_owned(), "+faststart".to_owned()]);
    }
    args
}
