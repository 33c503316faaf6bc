//! Cover: the frames that best represent a video, ranked, as stills; or a short animated cover
//! around the best moment.
//!
//! Frames are sampled sparsely across the whole video (`sampling`), each is measured
//! (`vision::quality`: sharpness, exposure, contrast, colourfulness, saliency concentration;
//! CenterFace: faces, their size, how frontal, whether the eyes are clear of the frame's edge),
//! black, white, blank and faded frames are set aside, and the rest are ranked; a frame too like
//! a better one already chosen (same shot, same look) is skipped.

pub mod sampling;

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::RgbImage;
use iprod_core::{Error, Result};
use serde_json::{Value, json};

use crate::onnx::OnnxRuntime;
use crate::process::Process;
use crate::video::frames::{SHOT_FRAMES, frames_from};
use crate::video::info::VideoInfo;
use crate::video::shots::{FrameSignature, ShotDetector, ShotSettings};
use crate::vision::faces::{self, Face};
use crate::vision::quality::Quality;
use sampling::{Sample, SampleSink};

/// At most this many samples are kept (and scored with the face model), spread over the video.
const MAX_KEPT: usize = 48;
/// Candidates closer than this (shot signature distance) are the same picture.
const DUPLICATE: f32 = 0.12;
/// A frame whose contrast is below this fraction of the video's typical one is mid-fade or
/// washed out.
const FADED: f32 = 0.45;

/// A sampled frame with its measurements.
pub struct Candidate {
    pub time: f64,
    image: RgbImage,
    signature: FrameSignature,
    pub quality: Quality,
    pub faces: Vec<Face>,
    /// 0..10.
    pub score: f32,
}

/// The pool of samples: per time slot the best-looking usable one, so memory stays at
/// [`MAX_KEPT`] frames whatever the video's length.
struct Pool {
    duration: f64,
    slots: Vec<Option<Candidate>>,
}

impl Pool {
    fn new(duration: f64) -> Self {
        Self { duration: duration.max(1e-3), slots: (0..MAX_KEPT).map(|_| None).collect() }
    }

    fn slot(&self, time: f64) -> usize {
        ((time / self.duration * MAX_KEPT as f64) as usize).min(MAX_KEPT - 1)
    }
}

impl SampleSink for Pool {
    fn offer(&mut self, sample: Sample) -> bool {
        let quality = Quality::of(&sample.image);
        if quality.unusable().is_some() {
            return false;
        }
        let signature = FrameSignature::of_rgb(&sample.image);
        let candidate = Candidate {
            time: sample.time,
            image: sample.image,
            signature,
            quality,
            faces: Vec::new(),
            score: look(&quality),
        };
        let slot = self.slot(candidate.time);
        if self.slots[slot].as_ref().is_none_or(|c| c.score < candidate.score) {
            self.slots[slot] = Some(candidate);
        }
        true
    }

    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}

/// A first score from the picture alone (no model), to keep the best sample per time slot.
fn look(q: &Quality) -> f32 {
    0.4 * (q.sharpness.ln_1p() / 8.0).min(1.0)
        + 0.25 * q.exposure()
        + 0.2 * (q.contrast / 0.22).min(1.0)
        + 0.15 * (q.colourfulness / 70.0).min(1.0)
}

/// Samples, measures and scores the video's frames; best first, faded frames left out.
pub fn candidates(
    handle: &tokio::runtime::Handle,
    tools: (&Path, &Path),
    input: &Path,
    info: &VideoInfo,
    runtime: &OnnxRuntime,
    timeout: Duration,
) -> Result<Vec<Candidate>> {
    let mut pool = Pool::new(info.duration);
    handle.block_on(sampling::sample(tools, input, info, timeout, &mut pool))?;
    let mut kept: Vec<Candidate> = pool.slots.into_iter().flatten().collect();
    if kept.is_empty() {
        return Err(Error::invalid_input(
            "Content",
            "no frame of the video can be a cover: every sampled frame is black, white or blank",
        ));
    }
    let mut contrasts: Vec<f32> = kept.iter().map(|c| c.quality.contrast).collect();
    contrasts.sort_by(f32::total_cmp);
    let typical = contrasts[contrasts.len() / 2];
    // Mid-fade and washed-out frames: much flatter than the rest (when there is a rest).
    if kept.len() >= 3 {
        kept.retain(|c| c.quality.contrast >= FADED * typical);
    }
    let sharpest = kept.iter().map(|c| c.quality.sharpness).fold(0f32, f32::max);
    for c in &mut kept {
        crate::blocking::checkpoint()?;
        c.faces = faces::detect(runtime, &c.image, faces::DEFAULT_THRESHOLD)?;
        c.score = score(c, sharpest);
    }
    kept.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.time.total_cmp(&b.time)));
    Ok(kept)
}

/// 0..10 from the measurements. Faces weigh most: a cover with a person, large, frontal and
/// whole, is what people click.
fn score(c: &Candidate, sharpest: f32) -> f32 {
    let q = &c.quality;
    let sharp = if sharpest > 0.0 { q.sharpness.ln_1p() / sharpest.ln_1p() } else { 0.0 };
    let (w, h) = (c.image.width() as f32, c.image.height() as f32);
    let face = c.faces.iter().map(|f| face_quality(f, w, h)).fold(0f32, f32::max);
    let total = 0.22 * sharp
        + 0.16 * q.exposure()
        + 0.12 * (q.contrast / 0.22).min(1.0)
        + 0.10 * (q.colourfulness / 70.0).min(1.0)
        + 0.10 * q.concentration
        + 0.30 * face;
    (total * 10.0).clamp(0.0, 10.0)
}

/// 0..1: confident, large (≥ 4 % of the frame counts as full size), frontal, eyes well inside.
fn face_quality(face: &Face, width: f32, height: f32) -> f32 {
    let size = ((face.rect.area() / (width * height)).sqrt() / 0.2).min(1.0);
    let inside =
        |(x, y): (f32, f32)| x > 0.05 * width && x < 0.95 * width && y > 0.05 * height && y < 0.95 * height;
    let whole = match face.landmarks {
        Some([left, right, ..]) => inside(left) && inside(right),
        None => face.rect.x > 0.0 && face.rect.right() < width,
    };
    face.score.min(1.0) * (0.4 + 0.6 * size) * (0.5 + 0.5 * face.frontality()) * if whole { 1.0 } else { 0.3 }
}

/// The best `count`, no two alike.
pub fn pick(candidates: &[Candidate], count: usize) -> Vec<&Candidate> {
    let mut picked: Vec<&Candidate> = Vec::new();
    for c in candidates {
        if picked.len() == count {
            break;
        }
        if picked.iter().all(|p| p.signature.distance(&c.signature) >= DUPLICATE) {
            picked.push(c);
        }
    }
    picked
}

/// Writes the frames at `times`, at the source's size, to `outputs` (JPEG, PNG or WebP by their
/// extension), in one ffmpeg run: one exact seek per frame.
pub async fn write_stills(
    ffmpeg: &Path,
    input: &Path,
    stills: &[(f64, PathBuf)],
    timeout: Duration,
) -> Result<()> {
    let mut process = Process::new(ffmpeg, timeout).args(["-nostdin", "-v", "error", "-y"]);
    for (time, _) in stills {
        process = process.args(["-ss", &format!("{time:.3}")]).input(input);
    }
    for (i, (_, output)) in stills.iter().enumerate() {
        let quality: &[&str] = match extension(output).as_str() {
            "png" => &[],
            "webp" => &["-c:v", "libwebp", "-quality", "90"],
            _ => &["-q:v", "2"],
        };
        process = process
            .args(["-map", &format!("{i}:v:0"), "-frames:v", "1", "-update", "1"])
            .args(quality)
            .arg(output);
    }
    process.run().await.map_err(|e| e.into_error("writing the cover frames"))?;
    Ok(())
}

fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("jpg").to_ascii_lowercase()
}

/// The animated cover's bounds.
const ANIMATED_SECONDS: f64 = 3.0;
const ANIMATED_MIN_SECONDS: f64 = 2.0;
pub const ANIMATED_MAX_BYTES: u64 = 4 << 20;

/// The segment (start, length) around `best` for the animated cover: up to 3 s, a third
/// before the moment, kept inside its shot (cuts found on the 6 s around it).
pub async fn animated_span(
    ffmpeg: &Path,
    input: &Path,
    info: &VideoInfo,
    best: f64,
    timeout: Duration,
) -> Result<(f64, f64)> {
    let look = 3.0;
    let from = (best - look).max(0.0);
    let frames = ((2.0 * look) * info.fps).ceil() as usize;
    let mut detector = ShotDetector::default();
    frames_from(
        ffmpeg,
        input,
        (info.width, info.height, info.fps),
        &SHOT_FRAMES,
        (from, frames),
        timeout,
        |f| {
            detector.push(f.time, f.pixels, f.width, f.height);
            true
        },
    )
    .await?;
    let cuts = detector.cuts(&ShotSettings::default());
    let shot_start = cuts.iter().copied().filter(|c| *c <= best).fold(0f64, f64::max);
    let shot_end = cuts.iter().copied().find(|c| *c > best).unwrap_or(info.duration);
    Ok(span_within(best, (shot_start, shot_end), info.duration))
}

fn span_within(best: f64, (shot_start, shot_end): (f64, f64), duration: f64) -> (f64, f64) {
    let length = (shot_end - shot_start).clamp(ANIMATED_MIN_SECONDS, ANIMATED_SECONDS).min(duration);
    let start = (best - length / 3.0).clamp(shot_start, (shot_end - length).max(shot_start));
    let start = start.clamp(0.0, (duration - length).max(0.0));
    (start, length)
}

/// Renders the animated cover (GIF with an optimised palette, animated WebP or silent MP4, by
/// the output's extension), shrinking until it fits [`ANIMATED_MAX_BYTES`].
pub async fn write_animated(
    ffmpeg: &Path,
    input: &Path,
    info: &VideoInfo,
    (start, length): (f64, f64),
    output: &Path,
    timeout: Duration,
) -> Result<()> {
    let ext = extension(output);
    let mut width = info.width.min(480);
    let mut fps = 12;
    loop {
        let scale = format!("fps={fps},scale={width}:-2:flags=lanczos");
        let mut process = Process::new(ffmpeg, timeout)
            .args([
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-ss",
                &format!("{start:.3}"),
                "-t",
                &format!("{length:.3}"),
            ])
            .input(input)
            .arg("-an");
        process = match ext.as_str() {
            "webp" => process.args(["-vf", &scale, "-c:v", "libwebp_anim", "-quality", "70", "-loop", "0"]),
            "mp4" => process.args([
                "-vf", &scale, "-c:v", "libx264", "-crf", "26", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            ]),
            _ => process.args([
                "-filter_complex",
                &format!(
                    "[0:v]{scale},split[a][b];[a]palettegen=max_colors=128:stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=4:diff_mode=rectangle"
                ),
                "-loop",
                "0",
            ]),
        };
        process.arg(output).run().await.map_err(|e| e.into_error("rendering the animated cover"))?;
        let bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(u64::MAX);
        if bytes <= ANIMATED_MAX_BYTES {
            return Ok(());
        }
        if width <= 160 {
            return Err(Error::invalid_input(
                "Content",
                format!(
                    "the animated cover is {bytes} bytes even at {width} px; the bound is {ANIMATED_MAX_BYTES}"
                ),
            ));
        }
        width = ((width as f32 * 0.7) as u32).max(160) & !1;
        fps = fps.min(10);
    }
}

/// The seed's Cover result: one entry per output, Time in milliseconds.
pub fn result(entries: &[(f32, f64, String)]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|(score, time, url)| {
                json!({"Score": (f64::from(*score) * 10.0).round() / 10.0, "Time": format!("{:.1}", time * 1000.0), "Url": url})
            })
            .collect(),
    )
}

/// Output paths for `count` outputs with the given extension.
pub fn output_paths(work: &Path, count: usize, ext: &str) -> Vec<PathBuf> {
    (0..count).map(|i| work.join(format!("cover_{i}.{ext}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_animated_span_stays_in_its_shot() {
        // A long shot: 3 s, a third before the moment.
        assert_eq!(span_within(10.0, (0.0, 20.0), 30.0), (9.0, 3.0));
        // Near the shot's start: starts at the cut.
        assert_eq!(span_within(5.2, (5.0, 12.0), 30.0), (5.0, 3.0));
        // A 1 s shot: 2 s anyway, as much of it as possible inside.
        assert_eq!(span_within(5.5, (5.0, 6.0), 30.0), (5.0, 2.0));
        // A video shorter than the span.
        assert_eq!(span_within(0.5, (0.0, 1.5), 1.5), (0.0, 1.5));
    }

    #[test]
    fn a_large_frontal_whole_face_beats_a_small_cut_one() {
        let face = |x: f32, size: f32, landmarks| Face {
            rect: crate::vision::Rect { x, y: 100.0, width: size, height: size },
            score: 0.9,
            landmarks,
        };
        let frontal = Some([(200.0, 150.0), (260.0, 150.0), (230.0, 180.0), (205.0, 210.0), (255.0, 210.0)]);
        let big = face_quality(&face(180.0, 100.0, frontal), 480.0, 270.0);
        let small = face_quality(&face(180.0, 20.0, frontal), 480.0, 270.0);
        let profile = Some([(200.0, 150.0), (260.0, 150.0), (262.0, 180.0), (205.0, 210.0), (255.0, 210.0)]);
        let turned = face_quality(&face(180.0, 100.0, profile), 480.0, 270.0);
        let cut = Some([(5.0, 150.0), (60.0, 150.0), (30.0, 180.0), (10.0, 210.0), (55.0, 210.0)]);
        let at_edge = face_quality(&face(0.0, 100.0, cut), 480.0, 270.0);
        assert!(big > small && big > turned && big > at_edge, "{big} {small} {turned} {at_edge}");
    }
}
