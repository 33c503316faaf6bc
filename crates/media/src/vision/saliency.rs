//! The salient subject from U²-Net-p: a 320² map in 0..1 (min-max normalised, as rembg), and
//! the raw peak that tells whether anything stands out at all.

use image::RgbImage;
use iprod_core::Result;

use crate::models::U2NETP;
use crate::onnx::{OnnxRuntime, run_f32};
use crate::vision::u2net::u2net_input;

pub const SIDE: usize = 320;

#[derive(Clone)]
pub struct SaliencyMap {
    /// Row-major 320×320 values in 0..1.
    pub values: Vec<f32>,
    /// The raw prediction's maximum before normalisation: low means nothing stands out.
    pub peak: f32,
}

pub fn saliency(runtime: &OnnxRuntime, image: &RgbImage) -> Result<SaliencyMap> {
    let session = runtime.session(&U2NETP)?;
    let (_, prediction) = run_f32(&session, U2NETP.input, [1, 3, SIDE, SIDE], &u2net_input(image))?;
    let (min, max) = prediction.iter().fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let range = (max - min).max(1e-12);
    Ok(SaliencyMap { values: prediction.iter().map(|v| (v - min) / range).collect(), peak: max })
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
        let mut mass = vec![0f32; SIDE];
        for (i, v) in self.values.iter().enumerate() {
            if *v > 0.5 {
                mass[if horizontal { i % SIDE } else { i / SIDE }] += v;
            }
        }
        let total: f32 = mass.iter().sum();
        if total < 0.005 * (SIDE * SIDE) as f32 {
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
