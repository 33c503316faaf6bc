//! U²-Net's input, as rembg prepares it: Lanczos resize to 320², divide by the image's max,
//! ImageNet mean/std, NCHW. Saliency (U²-Net-p) and matting (U²-Net-p or U²-Net) both feed it;
//! video saliency at other sizes (`u2net_input_sized`).

use image::RgbImage;

use crate::imaging::resample::lanczos_rgb;

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];
/// The side of the square U²-Net input (and output).
pub const SIDE: u32 = 320;

/// rembg's normalisation of the 320² RGB image, as an NCHW tensor.
pub fn u2net_input(image: &RgbImage) -> Vec<f32> {
    u2net_input_sized(image, SIDE, SIDE)
}

/// The same normalisation at `width`×`height` (multiples of 32 for the model).
pub fn u2net_input_sized(image: &RgbImage, width: u32, height: u32) -> Vec<f32> {
    let small =
        if image.dimensions() == (width, height) { image.clone() } else { lanczos_rgb(image, width, height) };
    let max = f32::from(small.as_raw().iter().copied().max().unwrap_or(0)).max(1e-6);
    let plane = (width * height) as usize;
    let mut tensor = vec![0f32; 3 * plane];
    for (i, pixel) in small.pixels().enumerate() {
        for c in 0..3 {
            tensor[c * plane + i] = (f32::from(pixel[c]) / max - MEAN[c]) / STD[c];
        }
    }
    tensor
}
