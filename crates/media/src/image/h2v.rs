//! ImageH2V: a landscape image reframed to a vertical (default 9:16) window that keeps the
//! subject. Faces decide first (all of them when they fit, else the dominant one, never a face
//! cut by the window edge), then the salient subject, else the centre. On-screen text (titles,
//! captions, lower thirds) is kept whole like a face: framed with the subject when both fit, else
//! the picture is padded rather than the text cut (AutoFlip's rule for required regions). When
//! the important content is wider than any window, the whole image is shown padded over a
//! blurred fill instead.

use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use iprod_core::params::Aspect;

use crate::vision::framing::{Mode, Plan};

/// Renders the plan: the crop (scaled to `out_width` when given), or the whole image centred
/// over a blurred, darkened fill of the window's shape.
///
/// An output past [`iprod_core::params::output_fits`] is refused before anything is allocated:
/// padding a tall aspect around a large picture, without a `Width`, can ask for gigapixels.
pub fn render(
    image: &RgbImage,
    plan: &Plan,
    aspect: Aspect,
    out_width: Option<u32>,
) -> iprod_core::Result<RgbImage> {
    let (ow, oh) = output_dims(image.dimensions(), plan, aspect, out_width);
    if !iprod_core::params::output_fits(u64::from(ow), u64::from(oh)) {
        return Err(iprod_core::Error::invalid_parameter(
            "JobParams",
            format!(
                "the {}x{} output Aspect {}:{} makes of this {}x{} picture is too large (at most {} pixels a side \
                 and {} in all): give a Width, or an aspect closer to the picture's",
                ow,
                oh,
                aspect.width,
                aspect.height,
                image.width(),
                image.height(),
                iprod_core::params::MAX_OUTPUT_WIDTH,
                iprod_core::params::MAX_OUTPUT_PIXELS
            ),
        ));
    }
    Ok(draw(image, plan, aspect, out_width))
}

/// The output's size, computed without drawing it.
fn output_dims((iw, ih): (u32, u32), plan: &Plan, aspect: Aspect, out_width: Option<u32>) -> (u32, u32) {
    let target = aspect.width as f32 / aspect.height as f32;
    match (plan.mode, out_width) {
        (Mode::Crop, Some(ow)) => {
            (ow, (ow as f32 * aspect.height as f32 / aspect.width as f32).round().max(1.0) as u32)
        }
        (Mode::Crop, None) => (plan.window.width, plan.window.height),
        (Mode::Pad, Some(ow)) => (ow, (ow as f32 / target).round().max(1.0) as u32),
        (Mode::Pad, None) if iw as f32 / ih as f32 > target => {
            ((ih as f32 * target).round().max(1.0) as u32, ih)
        }
        (Mode::Pad, None) => (iw, (iw as f32 / target).round().max(1.0) as u32),
    }
}

fn draw(image: &RgbImage, plan: &Plan, aspect: Aspect, out_width: Option<u32>) -> RgbImage {
    let w = plan.window;
    match plan.mode {
        Mode::Crop => {
            let crop = image::imageops::crop_imm(image, w.x, w.y, w.width, w.height).to_image();
            match out_width {
                Some(ow) => {
                    // Exactly the requested shape (the window's own rounding is < 1 px off it).
                    let oh = (ow as f32 * aspect.height as f32 / aspect.width as f32).round().max(1.0) as u32;
                    image::imageops::resize(&crop, ow, oh, FilterType::Lanczos3)
                }
                None => crop,
            }
        }
        Mode::Pad => {
            let target = aspect.width as f32 / aspect.height as f32;
            let (iw, ih) = image.dimensions();
            let (cw, ch) = match out_width {
                Some(ow) => (ow, (ow as f32 / target).round() as u32),
                None if iw as f32 / ih as f32 > target => ((ih as f32 * target).round() as u32, ih),
                None => (iw, (iw as f32 / target).round() as u32),
            };
            let (cw, ch) = (cw.max(1), ch.max(1));
            let source = DynamicImage::ImageRgb8(image.clone());
            let mut canvas = source.resize_to_fill(cw, ch, FilterType::Triangle).to_rgb8();
            canvas = image::imageops::fast_blur(&canvas, cw as f32 / 20.0);
            for p in canvas.pixels_mut() {
                for c in 0..3 {
                    p[c] = (f32::from(p[c]) * 0.7) as u8;
                }
            }
            let scale = (cw as f32 / iw as f32).min(ch as f32 / ih as f32);
            let (fw, fh) =
                (((iw as f32 * scale).round() as u32).max(1), ((ih as f32 * scale).round() as u32).max(1));
            let fitted = image::imageops::resize(image, fw, fh, FilterType::Lanczos3);
            image::imageops::overlay(
                &mut canvas,
                &fitted,
                i64::from((cw - fw) / 2),
                i64::from((ch - fh) / 2),
            );
            canvas
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::framing::Window;

    const V: Aspect = Aspect { width: 9, height: 16 };

    #[test]
    fn an_output_too_large_is_refused_before_it_is_drawn() {
        // A job queued before the submit check (or sent by another front end) with a size bomb
        // is refused here, before anything is allocated.
        let image = RgbImage::from_pixel(64, 48, image::Rgb([200, 10, 10]));
        let plan =
            Plan { window: Window { x: 0, y: 0, width: 64, height: 48 }, mode: Mode::Pad, basis: "faces" };
        let tall = Aspect { width: 1, height: 100 };
        let e = render(&image, &plan, tall, Some(8192)).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.JobParams");
        assert!(e.message().contains("8192x819200"), "{}", e.message());
        assert!(render(&image, &plan, tall, Some(80)).is_ok());
    }

    #[test]
    fn pad_render_has_the_window_shape_and_keeps_the_whole_image() {
        let image = RgbImage::from_pixel(400, 200, image::Rgb([200, 10, 10]));
        let plan =
            Plan { window: Window { x: 0, y: 0, width: 400, height: 200 }, mode: Mode::Pad, basis: "faces" };
        let out = render(&image, &plan, V, None).unwrap();
        assert_eq!(out.dimensions(), (113, 200));
        // The image (scaled to 113x57) sits in the middle; the fill above it is darker.
        assert_eq!(out.get_pixel(56, 100)[0], 200);
        assert!(out.get_pixel(56, 5)[0] < 160);
    }
}
