//! The salient subject from U²-Net-p: a map in 0..1 (min-max normalised, as rembg), and the raw
//! peak that tells whether anything stands out at all. A still image is read at rembg's 320²;
//! a video's 320-wide analysis frame at its own size (`saliency_at_own_size`).

use image::RgbImage;
use iprod_core::{Error, Result};

use crate::models::U2NETP_DYNAMIC;
use crate::onnx::{OnnxRuntime, run_f32};
use crate::vision::u2net::u2net_input_sized;

/// The square map of a still image.
pub const SIDE: usize = 320;

#[derive(Clone)]
pub struct SaliencyMap {
    /// Row-major `width`×`height` values in 0..1, stretched over the whole picture.
    pub values: Vec<f32>,
    pub width: usize,
    pub height: usize,
    /// The raw prediction's maximum before normalisation: low means nothing stands out.
    pub peak: f32,
}

/// The 320² map of a still image, as rembg reads it.
pub fn saliency(runtime: &OnnxRuntime, image: &RgbImage) -> Result<SaliencyMap> {
    map_of(runtime, image, SIDE, SIDE)
}

/// The map at the picture's own size, each side rounded to the model's stride of 32 (a 320×180
/// video frame is read at 320×192).
pub fn saliency_at_own_size(runtime: &OnnxRuntime, image: &RgbImage) -> Result<SaliencyMap> {
    let to_stride = |v: u32| ((v as usize + 16) / 32).max(1) * 32;
    map_of(runtime, image, to_stride(image.width()), to_stride(image.height()))
}

fn map_of(runtime: &OnnxRuntime, image: &RgbImage, width: usize, height: usize) -> Result<SaliencyMap> {
    let session = runtime.session(&U2NETP_DYNAMIC)?;
    let input = u2net_input_sized(image, width as u32, height as u32);
    let (shape, prediction) = run_f32(&session, U2NETP_DYNAMIC.input, [1, 3, height, width], &input)?;
    if prediction.len() != width * height {
        return Err(Error::internal(format!("U²-Net-p answered {shape:?} for {width}×{height}")));
    }
    let (min, max) = prediction.iter().fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let range = (max - min).max(1e-12);
    Ok(SaliencyMap {
        values: prediction.iter().map(|v| (v - min) / range).collect(),
        width,
        height,
        peak: max,
    })
}

/// Where the confidently salient part of a map (values > 0.5) lies along one axis, in map cells.
pub struct SalientExtent {
    /// The cells holding the central 90 % of its mass, `lo..hi`.
    pub lo: usize,
    pub hi: usize,
    pub centroid: f32,
}

impl SaliencyMap {
    /// The salient extent along x (`horizontal`) or y; `None` when fewer than ~0.5 % of the map
    /// is confidently salient.
    pub fn extent(&self, horizontal: bool) -> Option<SalientExtent> {
        let mut mass = vec![0f32; if horizontal { self.width } else { self.height }];
        for (i, v) in self.values.iter().enumerate() {
            if *v > 0.5 {
                mass[if horizontal { i % self.width } else { i / self.width }] += v;
            }
        }
        let total: f32 = mass.iter().sum();
        if total < 0.005 * self.values.len() as f32 {
            return None;
        }
        let (mut acc, mut lo, mut hi, mut centroid) = (0.0, None, 0usize, 0.0);
        for (i, m) in mass.iter().enumerate() {
            centroid += (i as f32 + 0.5) * m;
            acc += m;
            if lo.is_none() && acc >= 0.05 * total {
                lo = Some(i);
            }
            if acc <= 0.95 * total {
                hi = i + 1;
            }
        }
        let lo = lo.unwrap_or(0);
        Some(SalientExtent { lo, hi: hi.max(lo) + 1, centroid: centroid / total })
    }
}
