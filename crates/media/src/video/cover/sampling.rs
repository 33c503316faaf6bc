//! Sparse sampling of a video's frames for ranking (covers): the keyframes, decoded alone, plus
//! a few frames inside long groups of pictures, without decoding the whole video.
//!
//! Encoders put a keyframe at every cut (x264's scenecut) and at least every few seconds, so the
//! keyframes are already one or more frames per shot and cost a small part of a full decode
//! (measured on the 30 s 720p bench clip: 0.2 s against 1.2 s). Groups of pictures longer than
//! [`LONG_GOP`] get a sample every second for their first quarter; a keyframe that is black,
//! white or blank gets one replacement a second later. Where the keyframes are of no use
//! (none listed, or more than two a second as in all-intra video) frames are taken by exact
//! seeks at even times instead.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use image::RgbImage;
use iprod_core::Result;

use crate::video::frames::{AnalysisSpec, Decode, Pixels, for_each_frame, frames_from};
use crate::video::info::VideoInfo;

/// The width frames are sampled at: faces of a cover's subject are still ≥ 12 px there, and
/// the face model costs less than half what it does at 480.
pub const SAMPLE_WIDTH: u32 = 320;
/// A group of pictures at least this long (seconds) gets samples inside it.
pub const LONG_GOP: f64 = 4.0;
/// More keyframes than this per second: sample by seeking instead.
const MAX_KEYFRAME_RATE: f64 = 2.0;
/// Keyframes decoded before the packet index is read are held, at most this many.
const MAX_EARLY: usize = 64;
/// At most this many seeks, whatever the length of the video.
const MAX_SEEKS: usize = 64;

const KEYFRAMES: AnalysisSpec =
    AnalysisSpec { width: SAMPLE_WIDTH, fps: None, pixels: Pixels::Rgb, decode: Decode::Keyframes };
const SEEK: AnalysisSpec =
    AnalysisSpec { width: SAMPLE_WIDTH, fps: Some(1.0), pixels: Pixels::Rgb, decode: Decode::Full };

/// One sampled frame, RGB at [`SAMPLE_WIDTH`].
pub struct Sample {
    pub time: f64,
    pub image: RgbImage,
}

/// The presentation times (seconds from the start of the file) of the video's keyframes, from
/// the packet index: no decoding.
pub async fn keyframe_times(
    ffprobe: &Path,
    input: &Path,
    info: &VideoInfo,
    timeout: Duration,
) -> Result<Vec<f64>> {
    let packets = crate::video::packets::read(ffprobe, input, timeout).await?;
    let mut times: Vec<f64> = packets
        .iter()
        .filter(|p| p.key)
        .filter_map(|p| Some(p.pts? - info.start))
        .filter(|t| t.is_finite() && *t > -0.5 && *t < info.duration + 0.5)
        .map(|t| t.max(0.0))
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup_by(|a, b| (*a - *b).abs() < 1e-4);
    Ok(times)
}

/// Where to look beyond the keyframes: (start, how many frames one second apart).
pub fn extra_seeks(keyframes: &[f64], duration: f64, unusable: &[bool]) -> Vec<(f64, usize)> {
    let mut seeks = Vec::new();
    for (i, start) in keyframes.iter().enumerate() {
        let end = keyframes.get(i + 1).copied().unwrap_or(duration);
        let length = end - start;
        let inside = (length / LONG_GOP).floor() as usize;
        if inside > 0 {
            seeks.push((start + 1.0, inside));
        } else if unusable.get(i).copied().unwrap_or(false) && length >= 1.0 {
            seeks.push((start + (length / 2.0).min(1.0), 1));
        }
    }
    thin(seeks, MAX_SEEKS)
}

/// Even times for a video whose keyframes are of no use: about one a second, 6 to 40 of them.
pub fn even_seeks(duration: f64) -> Vec<(f64, usize)> {
    let n = (duration.round() as usize).clamp(6, 40);
    (0..n).map(|k| ((k as f64 + 0.5) * duration / n as f64, 1)).collect()
}

fn thin<T: Copy>(items: Vec<T>, max: usize) -> Vec<T> {
    if items.len() <= max {
        return items;
    }
    (0..max).map(|k| items[k * items.len() / max]).collect()
}

/// Where samples go.
pub trait SampleSink {
    /// Takes one frame (in no particular order); false says it is unusable (black, white,
    /// blank) and asks for a replacement near it.
    fn offer(&mut self, sample: Sample) -> bool;
    /// Forgets every frame offered so far: their times turned out to be wrong.
    fn clear(&mut self);
}

/// Samples the video as the module explains.
pub async fn sample(
    (ffmpeg, ffprobe): (&Path, &Path),
    input: &Path,
    info: &VideoInfo,
    timeout: Duration,
    sink: &mut impl SampleSink,
) -> Result<()> {
    let source = (info.width, info.height, info.fps);
    // The packet index (for the keyframes' times) is read while the keyframes decode; the
    // first few frames wait in `early` until it is there.
    let index: RefCell<Option<Vec<f64>>> = RefCell::new(None);
    let mut early: Vec<RgbImage> = Vec::new();
    let mut unusable = Vec::new();
    let dense =
        |times: &[f64]| times.is_empty() || times.len() as f64 > MAX_KEYFRAME_RATE * info.duration.max(1.0);
    let listing = async {
        let times = keyframe_times(ffprobe, input, info, timeout).await;
        if let Ok(times) = &times {
            *index.borrow_mut() = Some(times.clone());
        }
        times
    };
    let mut offer = |image: RgbImage, at: usize, times: &[f64], sink: &mut dyn FnMut(Sample) -> bool| {
        let Some(time) = times.get(at).copied() else { return false };
        unusable.push(!sink(Sample { time, image }));
        true
    };
    let mut give = |sample: Sample| sink.offer(sample);
    // A decoder that ignores `skip_frame` gives more frames than keyframes: the decode stops
    // there, and what it gave is forgotten (below).
    let decoding = for_each_frame(ffmpeg, input, source, &KEYFRAMES, timeout, |f| {
        let Some(image) = RgbImage::from_raw(f.width as u32, f.height as u32, f.pixels.to_vec()) else {
            return false;
        };
        let index = index.borrow();
        let Some(times) = index.as_deref() else {
            early.push(image);
            return early.len() < MAX_EARLY;
        };
        if dense(times) {
            return false;
        }
        for (at, waiting) in std::mem::take(&mut early).into_iter().enumerate() {
            offer(waiting, at, times, &mut give);
        }
        offer(image, f.index, times, &mut give)
    });
    let (keyframes, decoded) = tokio::join!(listing, decoding);
    let (keyframes, decoded) = (keyframes?, decoded?);
    for (at, waiting) in std::mem::take(&mut early).into_iter().enumerate() {
        if !dense(&keyframes) {
            offer(waiting, at, &keyframes, &mut give);
        }
    }
    let seeks = if !dense(&keyframes) && decoded == keyframes.len() {
        extra_seeks(&keyframes, info.duration, &unusable)
    } else {
        sink.clear();
        even_seeks(info.duration)
    };
    for (start, count) in seeks {
        frames_from(ffmpeg, input, source, &SEEK, (start, count), timeout, |f| {
            if let Some(image) = RgbImage::from_raw(f.width as u32, f.height as u32, f.pixels.to_vec()) {
                sink.offer(Sample { time: f.time, image });
            }
            true
        })
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_gops_get_samples_and_unusable_keyframes_a_replacement() {
        // GOPs of 1 s, 10 s and 2 s; the last keyframe is black.
        let seeks = extra_seeks(&[0.0, 1.0, 11.0], 13.0, &[false, false, true]);
        assert_eq!(seeks, vec![(2.0, 2), (12.0, 1)]);
        assert!(extra_seeks(&[0.0, 1.0, 2.0], 3.0, &[false; 3]).is_empty());
    }

    #[test]
    fn even_seeks_cover_the_video() {
        let seeks = even_seeks(10.0);
        assert_eq!(seeks.len(), 10);
        assert_eq!(seeks[0], (0.5, 1));
        assert_eq!(even_seeks(2.0).len(), 6);
        assert_eq!(even_seeks(3600.0).len(), 40);
    }
}
