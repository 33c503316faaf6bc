//! The salient subject from U²-Net-p: a 320² map in 0..1 (min-max normalised, as rembg), and
//! the raw peak that tells whether anything stands out at all.

use image::RgbImage;
use iprod_core::Result;

use crate::image::matting::u2net_input;
use crate::models::U2NETP;
use crate::onnx::{OnnxRuntime, run_f32};

pub const SIDE: usize = 320;

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
