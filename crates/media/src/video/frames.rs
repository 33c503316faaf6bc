//! Analysis frames: the video decoded by ffmpeg straight to small grey frames (≤ `width` px wide,
//! optionally resampled to `fps`), streamed through a pipe one frame at a time. Memory is one
//! frame, whatever the video's length.

use crate::video::Source;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use iprod_core::{Error, Result};

use super::shots::ShotDetector;
use crate::process::{Process, ProcessError};

/// One decoded analysis frame: 8-bit grey, RGB or planar YUV 4:2:0 (as the spec asks), row-major.
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
    pub pixels: Pixels,
    pub decode: Decode,
}

/// The frames' pixel format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pixels {
    /// 8-bit luma: shot and logo statistics.
    Gray,
    /// RGB, 3 bytes a pixel: the face and saliency models.
    Rgb,
    /// Planar YUV 4:2:0 (BT.601, limited range): the luma plane first, usable as grey, and
    /// colour at half size for the frames a model looks at ([`yuv420_to_rgb`]). Cheapest when
    /// every frame needs grey and a few need colour.
    Yuv420,
}

impl Pixels {
    fn format(self) -> &'static str {
        match self {
            Pixels::Gray => "gray",
            Pixels::Rgb => "rgb24",
            Pixels::Yuv420 => "yuv420p",
        }
    }

    fn frame_bytes(self, w: u32, h: u32) -> usize {
        let luma = (w * h) as usize;
        match self {
            Pixels::Gray => luma,
            Pixels::Rgb => 3 * luma,
            Pixels::Yuv420 => luma + 2 * (w.div_ceil(2) * h.div_ceil(2)) as usize,
        }
    }
}

/// An RGB picture from a [`Pixels::Yuv420`] frame (BT.601 limited range, as ffmpeg writes it).
pub fn yuv420_to_rgb(pixels: &[u8], width: usize, height: usize) -> Option<image::RgbImage> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    if pixels.len() < width * height + 2 * cw * ch {
        return None;
    }
    let (luma, chroma) = pixels.split_at(width * height);
    let (u, v) = chroma.split_at(cw * ch);
    let mut out = Vec::with_capacity(3 * width * height);
    for y in 0..height {
        for x in 0..width {
            let c = (y / 2) * cw + x / 2;
            let l = 1.164 * (f32::from(luma[y * width + x]) - 16.0);
            let (cb, cr) = (f32::from(u[c]) - 128.0, f32::from(v[c]) - 128.0);
            let clamp = |f: f32| f.round().clamp(0.0, 255.0) as u8;
            out.extend([clamp(l + 1.596 * cr), clamp(l - 0.392 * cb - 0.813 * cr), clamp(l + 2.017 * cb)]);
        }
    }
    image::RgbImage::from_raw(width as u32, height as u32, out)
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
    /// The frames other frames refer to, bit-exact (`-skip_frame noref`: most B-frames are not
    /// decoded at all). For sparse analysis that resamples to a few frames a second: the frames
    /// it gets are exact, each at most a frame or two from the time asked for, and the decode
    /// costs ~20 % less on x264's default streams.
    References,
    /// Keyframes only (`-skip_frame nokey`), in presentation order: a small part of the cost.
    /// Frame times are not known from the stream; callers take them from the packets.
    Keyframes,
}

/// Shot detection's frames: every frame, grey, 160 px, fast decode.
pub const SHOT_FRAMES: AnalysisSpec =
    AnalysisSpec { width: 160, fps: None, pixels: Pixels::Gray, decode: Decode::Fast };

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

/// The one frame at `time` as `spec` makes it (an exact seek), with its size; `None` past the
/// video's end.
pub async fn frame_at(
    source: &Source<'_>,
    spec: &AnalysisSpec,
    time: f64,
) -> Result<Option<(Vec<u8>, (u32, u32))>> {
    let Source { ffmpeg, input, info, timeout, .. } = *source;
    let mut frame = None;
    frames_from(ffmpeg, input, (info.width, info.height, info.fps), spec, (time, 1), timeout, |f| {
        frame = Some((f.pixels.to_vec(), (f.width as u32, f.height as u32)));
        true
    })
    .await?;
    Ok(frame)
}

/// Videos at least this long (seconds) are decoded for shots in two halves at once.
const SPLIT_SECONDS: f64 = 8.0;

/// Shot detection's pass: every frame as [`SHOT_FRAMES`], into a [`ShotDetector`], with
/// `measure` applied to each frame's grey pixels (kept in frame order).
pub async fn shot_pass<T: Send>(
    source: &Source<'_>,
    measure: impl Fn(&[u8]) -> T + Sync,
) -> Result<(ShotDetector, Vec<T>)> {
    shot_pass_with(source, &SHOT_FRAMES, |_, f, _| measure(f.pixels)).await
}

/// Shot detection over every frame decoded as `spec` (grey or YUV: the detector reads the luma),
/// with `measure` applied to each frame, its part's number and the part's detector so far (the
/// values kept in frame order). A long
/// video is decoded as two halves at the same time and the detectors joined: one ffmpeg keeps
/// ~1.5 cores busy (its filtering and output are serial), two keep both. Within a part, frames
/// come in order; the parts' frames interleave.
pub async fn shot_pass_with<T: Send>(
    source: &Source<'_>,
    spec: &AnalysisSpec,
    measure: impl Fn(usize, &GrayFrame<'_>, &ShotDetector) -> T + Sync,
) -> Result<(ShotDetector, Vec<T>)> {
    let Source { ffmpeg, input, info, timeout, meter } = *source;
    let source = (info.width, info.height, info.fps);
    meter.add_pass(info.duration);
    let total = (info.duration * info.fps).round() as usize;
    let part = |number: usize, span: Option<(f64, usize)>| {
        let measure = &measure;
        async move {
            let mut detector = ShotDetector::default();
            let mut values = Vec::new();
            decode(ffmpeg, input, source, spec, span, timeout, |f| {
                detector.push(f.time, &f.pixels[..f.width * f.height], f.width, f.height);
                values.push(measure(number, &f, &detector));
                meter.advance(1.0 / info.fps);
                true
            })
            .await?;
            Ok::<_, iprod_core::Error>((detector, values))
        }
    };
    if info.duration < SPLIT_SECONDS || total < 4 {
        return part(0, None).await;
    }
    let half = total / 2;
    // The second half starts on a frame boundary, so its frame times continue the first's.
    let (first, second) =
        tokio::join!(part(0, Some((0.0, half))), part(1, Some((half as f64 / info.fps, total))));
    let ((a, mut values), (b, rest)) = (first?, second?);
    values.extend(rest);
    Ok((a.join(b), values))
}

/// Whether analysis decodes ask ffmpeg for NVDEC. One engine runs per process (a worker host,
/// a Lambda), and it sets this once, on its first video job, after a test decode through NVDEC
/// worked (`super::hardware::nvdec_usable`); it is never set where that failed.
static CUDA_DECODING: AtomicBool = AtomicBool::new(false);

pub fn set_cuda_decoding(on: bool) {
    CUDA_DECODING.store(on, Ordering::Relaxed);
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
    let pix_fmt = spec.pixels.format();
    // Area averaging is the better picture; the fast decode takes the cheaper bilinear
    // (measured: 6 % of the fast decode's time on 720p), which its statistics do not notice.
    let flags = if spec.decode == Decode::Fast { "fast_bilinear" } else { "area" };
    let mut filter = format!("scale={w}:{h}:flags={flags},format={pix_fmt}");
    // Constant rate, so frame n is at n / rate: variable-frame-rate video too.
    if spec.decode != Decode::Keyframes {
        filter = format!("fps={rate},{filter}");
    }
    let frame_bytes = spec.pixels.frame_bytes(w, h);
    let mut process = Process::new(ffmpeg, timeout).args(["-nostdin", "-v", "error"]);
    process = match spec.decode {
        Decode::Full => process,
        Decode::Fast => process.args(["-skip_loop_filter", "all", "-flags2", "+fast"]),
        Decode::References => process.args(["-skip_frame", "noref"]),
        Decode::Keyframes => process.args(["-skip_frame", "nokey"]),
    };
    if CUDA_DECODING.load(Ordering::Relaxed) {
        // Frames come back to memory: the filters below run on the CPU as before.
        process = process.args(["-hwaccel", "cuda"]);
    }
    let start = span.map_or(0.0, |s| s.0);
    if span.is_some() {
        process = process.args(["-ss", &format!("{start:.3}")]);
    }
    process = process.input(input).args(["-map", "0:v:0", "-an", "-sn", "-vf", &filter]);
    if let Some((_, count)) = span {
        process = process.args(["-frames:v", &count.to_string()]);
    }
    if spec.decode == Decode::Keyframes {
        // One output frame per decoded keyframe, none duplicated to a constant rate.
        process = process.args(["-fps_mode", "passthrough"]);
    }
    let mut index = 0usize;
    let mut stopped = false;
    process
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"])
        .stream(frame_bytes, |pixels| {
            // A blocking task whose job was dropped decodes no further (async callers are
            // dropped whole, ffmpeg with them).
            if crate::blocking::stopped() {
                stopped = true;
                return false;
            }
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
        .map_err(decode_error)?;
    if stopped {
        crate::blocking::checkpoint()?;
    }
    Ok(index)
}

/// A decode that failed, classed as every ffmpeg run is ([`ProcessError::into_error`]).
pub(crate) fn decode_error(e: ProcessError) -> Error {
    e.into_error("decoding the video")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuv_frames_convert_to_rgb() {
        // 2×2 luma, one chroma sample each: ffmpeg's limited-range grey 50 % and pure red.
        let grey = yuv420_to_rgb(&[126, 126, 126, 126, 128, 128], 2, 2).unwrap();
        assert!(grey.pixels().all(|p| p.0.iter().all(|c| c.abs_diff(128) <= 1)), "{grey:?}");
        let red = yuv420_to_rgb(&[81, 81, 81, 81, 90, 240], 2, 2).unwrap();
        assert!(red.pixels().all(|p| p[0] >= 250 && p[1] <= 5 && p[2] <= 5), "{red:?}");
        assert!(yuv420_to_rgb(&[0; 5], 2, 2).is_none(), "short frame");
    }

    #[test]
    fn analysis_size_is_small_and_even() {
        assert_eq!(analysis_size(1920, 1080, 480), (480, 270));
        assert_eq!(analysis_size(640, 272, 160), (160, 68));
        assert_eq!(analysis_size(100, 51, 480), (100, 50));
    }
}
