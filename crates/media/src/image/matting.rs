//! ImageMatting: a person (salient subject) cut out as RGBA.
//!
//! Stage 1 reproduces rembg's u2netp path exactly, so the mask agrees with rembg's on the same
//! image: Lanczos resize to 320², divide by the image max, ImageNet mean/std, NCHW; output 0
//! min-max normalised, quantised to 8 bits, Lanczos resize back. Stage 2 refines the edges at full
//! resolution with a guided filter on the image, only on the pixels the upscaled mask is unsure
//! about, so edges follow the photo instead of the blur of a 320² mask blown up 5-15×.
//!
//! Memory: inference runs at the model's 320², and the refinement works on bands of rows (with
//! the halo the filter's two box passes need), so a 40 MP photo never holds more than the image,
//! its mask and the cut-out at full size, instead of a dozen float planes (2.8 GB).

use image::imageops::{FilterType, resize};
use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};
use iprod_core::{Error, Result};

use crate::imaging::guided_filter::guided_filter;
use crate::models::OnnxModel;
use crate::onnx::{OnnxRuntime, run_f32};
use crate::vision::u2net::{SIDE, u2net_input};

/// rembg's mask: min-max normalised prediction, truncated to u8, Lanczos resize to the image size.
pub fn prediction_to_mask(prediction: &[f32], width: u32, height: u32) -> GrayImage {
    let (min, max) = prediction.iter().fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let range = (max - min).max(1e-12);
    let bytes: Vec<u8> = prediction.iter().map(|v| (((v - min) / range) * 255.0) as u8).collect();
    let small = GrayImage::from_raw(SIDE, SIDE, bytes).unwrap_or_else(|| GrayImage::new(SIDE, SIDE));
    resize(&small, width, height, FilterType::Lanczos3)
}

/// The bare U²-Net mask at the image's size (what rembg produces with the same model).
pub fn raw_mask(runtime: &OnnxRuntime, model: &OnnxModel, image: &RgbImage) -> Result<GrayImage> {
    let session = runtime.session(model)?;
    let input = u2net_input(image);
    let (shape, prediction) = run_f32(&session, model.input, [1, 3, SIDE as usize, SIDE as usize], &input)?;
    if shape.iter().product::<usize>() != (SIDE * SIDE) as usize {
        return Err(Error::internal(format!(
            "{} answered shape {shape:?}, expected [1, 1, 320, 320]",
            model.file
        )));
    }
    Ok(prediction_to_mask(&prediction, image.width(), image.height()))
}

/// Guided-filter refinement inside the band where the mask is neither clearly 0 nor clearly 1.
pub fn refine_edges(image: &RgbImage, mask: &GrayImage) -> GrayImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    // The window scales with the image: the 320² mask is ~w/320 px blurry at full size.
    let radius = ((w.max(h) as f32 / 320.0) * 3.0).round().clamp(2.0, 48.0) as usize;
    refine_edges_with(image, mask, radius, 1e-3)
}

/// Rows refined at a time: a few dozen MB of float planes whatever the image's height.
const BAND_ROWS: usize = 256;

pub fn refine_edges_with(image: &RgbImage, mask: &GrayImage, radius: usize, eps: f32) -> GrayImage {
    refine_in_bands(image, mask, radius, eps, BAND_ROWS)
}

/// Only the uncertain pixels change: where the upscaled mask is confidently in or out, the
/// guide's texture must not leak into it.
fn uncertain(alpha: f32) -> bool {
    alpha > 0.02 && alpha < 0.98
}

/// The guided filter band by band. Each output row depends on the first box means within `r`
/// rows and on those rows' inputs within `r` more, so a band computed with `2r` rows of halo on
/// each side is exactly the whole-image filter there. Bands the mask is sure about are skipped.
fn refine_in_bands(
    image: &RgbImage,
    mask: &GrayImage,
    radius: usize,
    eps: f32,
    band_rows: usize,
) -> GrayImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let mut out = mask.clone();
    let halo = 2 * radius;
    let alpha_of = |v: u8| f32::from(v) / 255.0;
    for top in (0..h).step_by(band_rows.max(1)) {
        let bottom = (top + band_rows).min(h);
        if !mask.as_raw()[top * w..bottom * w].iter().any(|v| uncertain(alpha_of(*v))) {
            continue;
        }
        if crate::blocking::stopped() {
            // The job was dropped: what is returned is never used.
            break;
        }
        let (y0, y1) = (top.saturating_sub(halo), (bottom + halo).min(h));
        let guide: Vec<f32> = image.as_raw()[y0 * w * 3..y1 * w * 3]
            .chunks_exact(3)
            .map(|p| (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])) / 255.0)
            .collect();
        let alpha: Vec<f32> = mask.as_raw()[y0 * w..y1 * w].iter().map(|v| alpha_of(*v)).collect();
        let refined = guided_filter(&guide, &alpha, w, y1 - y0, radius, eps);
        let start = (top - y0) * w;
        let rows = &mut out.as_mut()[top * w..bottom * w];
        for (k, value) in rows.iter_mut().enumerate() {
            if uncertain(alpha[start + k]) {
                *value = (refined[start + k] * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// The cut-out: the photo's colours with the refined mask as straight (not premultiplied) alpha.
/// Consumes the photo so its buffer is freed as soon as the cut-out holds the colours.
pub fn compose(image: RgbImage, mask: &GrayImage) -> RgbaImage {
    let (w, h) = image.dimensions();
    let mut rgba = Vec::with_capacity(w as usize * h as usize * 4);
    for (p, a) in image.as_raw().chunks_exact(3).zip(mask.as_raw()) {
        rgba.extend_from_slice(&[p[0], p[1], p[2], *a]);
    }
    drop(image);
    RgbaImage::from_raw(w, h, rgba).unwrap_or_else(|| RgbaImage::new(w, h))
}

pub struct Matte {
    pub cutout: DynamicImage,
    pub coverage: f64,
}

pub fn cut_out(runtime: &OnnxRuntime, model: &OnnxModel, image: DynamicImage) -> Result<Matte> {
    let rgb = image.into_rgb8();
    let mask = refine_edges(&rgb, &raw_mask(runtime, model, &rgb)?);
    let coverage =
        mask.as_raw().iter().filter(|v| **v >= 128).count() as f64 / mask.as_raw().len().max(1) as f64;
    Ok(Matte { cutout: DynamicImage::ImageRgba8(compose(rgb, &mask)), coverage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_rembg() {
        let image = RgbImage::from_pixel(640, 480, image::Rgb([200, 100, 50]));
        let t = u2net_input(&image);
        assert_eq!(t.len(), 3 * 320 * 320);
        // Divided by the image max (200), then ImageNet mean/std per channel.
        assert!((t[0] - (1.0 - 0.485) / 0.229).abs() < 1e-4);
        assert!((t[320 * 320] - (0.5 - 0.456) / 0.224).abs() < 1e-4);
        assert!((t[2 * 320 * 320] - (0.25 - 0.406) / 0.225).abs() < 1e-4);
    }

    #[test]
    fn prediction_is_min_max_normalised_and_resized() {
        let prediction: Vec<f32> = (0..320 * 320).map(|i| if i % 320 < 160 { 2.0 } else { 6.0 }).collect();
        let mask = prediction_to_mask(&prediction, 640, 100);
        assert_eq!(mask.dimensions(), (640, 100));
        assert_eq!(mask.get_pixel(10, 50)[0], 0);
        assert_eq!(mask.get_pixel(630, 50)[0], 255);
    }

    #[test]
    fn bands_give_exactly_the_whole_image_filter() {
        // A picture and a soft mask with uncertain pixels in every band, and one sure band.
        let (w, h) = (48u32, 300u32);
        let image = RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 37 + y * 91) % 251) as u8;
            image::Rgb([v, v.wrapping_mul(3), 255 - v])
        });
        let mask = GrayImage::from_fn(w, h, |x, y| {
            if (100..140).contains(&y) {
                image::Luma([255])
            } else {
                image::Luma([((x * 5 + y) % 256) as u8])
            }
        });
        let whole = refine_in_bands(&image, &mask, 6, 1e-3, h as usize);
        for band in [1, 7, 64, 100] {
            assert_eq!(refine_in_bands(&image, &mask, 6, 1e-3, band), whole, "bands of {band} rows");
        }
    }
}
