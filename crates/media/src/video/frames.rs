//! Analysis frames: the video decoded by ffmpeg straight to small grey frames (≤ `width` px wide,
//! optionally resampled to `fps`), streamed through a pipe one frame at a time. Memory is one
//! frame, whatever the video's length.

use std::path::Path;
use std::time::Duration;

use iprod_core::{Error, Result};

use super::info::VideoInfo;
use super::meter::Meter;
use super::shots::ShotDetector;
use crate::process::{Process, ProcessError};

/// One decoded analysis frame: 8-bit grey, or RGB when asked for, row-major.
pub struct GrayFrame<'a> {
    pub index: usize,
    /// Seconds from the start.
    pub time: f64,
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [u8],
}

pub struct AnalysisSpec {
    pub width: u32,
    /// `None`: every frame of the source.
    pub fps: Option<f64>,
    /// RGB (3 bytes a pixel) instead of grey, for the face and saliency models.
    pub rgb: bool,
    pub decode: Decode,
}

/// How much of the decoder's work analysis needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// Every frame, bit-exact.
    Full,
    /// Every frame, without the in-loop deblocking filter and with the decoder's non-exact
    /// shortcuts (`-skip_loop_filter all -flags2 +fast`): cheaper on H.264/HEVC, and the block
    /// edges it leaves do not change the histograms and thumbnails of small grey frames.
    Fast,
    /// Keyframes only (`-skip_frame nokey`), in presentation order: a small part of the cost.
    /// Frame times are not known from the stream; callers take them from the packets.
    Keyframes,
}

/// Shot detection's frames: every frame, grey, 160 px, fast decode.
pub const SHOT_FRAMES: AnalysisSpec =
    AnalysisSpec { width: 160, fps: None, rgb: false, decode: Decode::Fast };

/// The analysis size for a source of `width`×`height`: at most `max_width` wide, even sides.
pub fn analysis_size(width: u32, height: u32, max_width: u32) -> (u32, u32) {
    let w = width.min(max_width).max(2) & !1;
    let h = ((f64::from(height) * f64::from(w) / f64::from(width)).round() as u32).max(2) & !1;
    (w, h)
}

/// Decodes `input` and calls `on_frame` for each analysis frame, in order.
pub async fn for_each_frame(
    ffmpeg: &Path,
    input: &Path,
    source: (u32, u32, f64),
    spec: &AnalysisSpec,
    timeout: Duration,
    on_frame: impl FnMut(GrayFrame<'_>) -> bool,
) -> Result<usize> {
    decode(ffmpeg, input, source, spec, None, timeout, on_frame).await
}

/// Like [`for_each_frame`] from `start` seconds (an exact seek: ffmpeg decodes from the
/// keyframe before it), for at most `count` frames; frame times count from 0 of the file.
pub async fn frames_from(
    ffmpeg: &Path,
    input: &Path,
    source: (u32, u32, f64),
    spec: &AnalysisSpec,
    (start, count): (f64, usize),
    timeout: Duration,
    on_frame: impl FnMut(GrayFrame<'_>) -> bool,
) -> Result<usize> {
    decode(ffmpeg, input, source, spec, Some((start, count)), timeout, on_frame).await
}

/// Videos at least this long (seconds) are decoded for shots in two halves at once.
const SPLIT_SECONDS: f64 = 8.0;

/// Shot detection's pass: every frame as [`SHOT_FRAMES`], into a [`ShotDetector`], with
/// `measure` applied to each frame's grey pixels (kept in frame order). A long video is decoded
/// as two halves at the same time and the detectors joined: one ffmpeg keeps ~1.5 cores busy
/// (its filtering and output are serial), two keep both.
pub async fn shot_pass<T: Send>(
    ffmpeg: &Path,
    input: &Path,
    info: &VideoInfo,
    (timeout, meter): (Duration, &Meter),
    measure: impl Fn(&[u8]) -> T + Sync,
) -> Result<(ShotDetector, Vec<T>)> {
    let source = (info.width, info.height, info.fps);
    meter.expect(info.duration);
    let total = (info.duration * info.fps).round() as usize;
    let part = |span: Option<(f64, usize)>| {
        let measure = &measure;
        async move {
            let mut detector = ShotDetector::default();
            let mut values = Vec::new();
            decode(ffmpeg, input, source, &SHOT_FRAMES, span, timeout, |f| {
                detector.push(f.time, f.pixels, f.width, f.height);
                values.push(measure(f.pixels));
                meter.advance(1.0 / info.fps);
                true
            })
            .await?;
            Ok::<_, iprod_core::Error>((detector, values))
        }
    };
    if info.duration < SPLIT_SECONDS || total < 4 {
        return part(None).await;
    }
    let half = total / 2;
    // The second half starts on a frame boundary, so its frame times continue the first's.
    let (first, second) = tokio::join!(part(Some((0.0, half))), part(Some((half as f64 / info.fps, total))));
    let ((a, mut values), (b, rest)) = (first?, second?);
    values.extend(rest);
    Ok((a.join(b), values))
}

/// `on_frame` returns false to stop the decode early.
async fn decode(
    ffmpeg: &Path,
    input: &Path,
    source: (u32, u32, f64),
    spec: &AnalysisSpec,
    span: Option<(f64, usize)>,
    timeout: Duration,
    mut on_frame: impl FnMut(GrayFrame<'_>) -> bool,
) -> Result<usize> {
    let (w, h) = analysis_size(source.0, source.1, spec.width);
    let rate = spec.fps.unwrap_or(source.2);
    let pix_fmt = if spec.rgb { "rgb24" } else { "gray" };
    // Area averaging is the better picture; the fast decode takes the cheaper bilinear
    // (measured: 6 % of the fast decode's time on 720p), which its statistics do not notice.
    let flags = if spec.decode == Decode::Fast { "fast_bilinear" } else { "area" };
    let mut filter = format!("scale={w}:{h}:flags={flags},format={pix_fmt}");
    // Constant rate, so frame n is at n / rate: variable-frame-rate video too.
    if spec.decode != Decode::Keyframes {
        filter = format!("fps={rate},{filter}");
    }
    let frame_bytes = (w * h) as usize * if spec.rgb { 3 } else { 1 };
    let mut process = Process::new(ffmpeg, timeout).args(["-nostdin", "-v", "error"]);
    process = match spec.decode {
        Decode::Full => process,
        Decode::Fast => process.args(["-skip_loop_filter", "all", "-flags2", "+fast"]),
        Decode::Keyframes => process.args(["-skip_frame", "nokey"]),
    };
    let start = span.map_or(0.0, |s| s.0);
    if span.is_some() {
        process = process.args(["-ss", &format!("{start:.3}")]);
    }
    process = process.arg("-i").arg(input).args(["-map", "0:v:0", "-an", "-sn", "-vf", &filter]);
    if let Some((_, count)) = span {
        process = process.args(["-frames:v", &count.to_string()]);
    }
    if spec.decode == Decode::Keyframes {
        // One output frame per decoded keyframe, none duplicated to a constant rate.
        process = process.args(["-fps_mode", "passthrough"]);
    }
    let mut index = 0usize;
    process
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"])
        .stream(frame_bytes, |pixels| {
            let more = on_frame(GrayFrame {
                index,
                time: start + index as f64 / rate,
                width: w as usize,
                height: h as usize,
                pixels,
            });
            index += 1;
            more
        })
        .await
        .map_err(|e| match e {
            ProcessError::Spawn { .. } => Error::internal(format!("ffmpeg is not available: {e}")),
            other => Error::invalid_input("Media", format!("the video could not be decoded: {other}")),
        })?;
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_size_is_small_and_even() {
        assert_eq!(analysis_size(1920, 1080, 480), (480, 270));
        assert_eq!(analysis_size(640, 272, 160), (160, 68));
        assert_eq!(analysis_size(100, 51, 480), (100, 50));
    }
}
