//! Lanczos-3 resampling of 8-bit pictures by `fast_image_resize` (SIMD, fixed-point weights as
//! Pillow computes them). `image`'s own resize works in floats one pixel at a time: on a 12 MP
//! photo, the matting input (12 MP to 320²) took ~200 ms and the mask's way back ~750 ms.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::imageops::{self, FilterType as ImageFilter};
use image::{GrayImage, RgbImage};

/// `image` resized to `width` × `height` with a Lanczos-3 filter.
pub fn lanczos_rgb(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    resample(image.as_raw(), image.dimensions(), (width, height), PixelType::U8x3)
        .and_then(|raw| RgbImage::from_raw(width, height, raw))
        .unwrap_or_else(|| imageops::resize(image, width, height, ImageFilter::Lanczos3))
}

/// `mask` resized to `width` × `height` with a Lanczos-3 filter.
pub fn lanczos_gray(mask: &GrayImage, width: u32, height: u32) -> GrayImage {
    resample(mask.as_raw(), mask.dimensions(), (width, height), PixelType::U8)
        .and_then(|raw| GrayImage::from_raw(width, height, raw))
        .unwrap_or_else(|| imageops::resize(mask, width, height, ImageFilter::Lanczos3))
}

/// None only for an empty picture on either side, which `image`'s resize then answers (with an
/// empty or black one).
fn resample(raw: &[u8], from: (u32, u32), to: (u32, u32), pixels: PixelType) -> Option<Vec<u8>> {
    if from.0 == 0 || from.1 == 0 || to.0 == 0 || to.1 == 0 {
        return None;
    }
    let source = ImageRef::new(from.0, from.1, raw, pixels).ok()?;
    let mut target = Image::new(to.0, to.1, pixels);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(&source, &mut target, &options).ok()?;
    Some(target.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth picture with detail at every scale the tests resize across.
    fn picture(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let v = |f: f32| (127.5 + 127.5 * f.sin()) as u8;
            image::Rgb([v(fx * 9.0), v(fy * 7.0 + 1.0), v((fx + fy) * 5.0)])
        })
    }

    #[test]
    fn agrees_with_image_s_lanczos_both_ways() {
        let source = picture(1600, 1000);
        for (w, h) in [(320, 320), (3200, 2000), (17, 5)] {
            let ours = lanczos_rgb(&source, w, h);
            let theirs = imageops::resize(&source, w, h, ImageFilter::Lanczos3);
            assert_eq!(ours.dimensions(), (w, h));
            let worst = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).max();
            assert!(worst <= Some(2), "{w}x{h}: differs by up to {worst:?}");
        }
        let mask = GrayImage::from_fn(320, 320, |x, _| image::Luma([if x < 160 { 0 } else { 255 }]));
        let big = lanczos_gray(&mask, 1280, 960);
        assert_eq!((big.get_pixel(100, 500)[0], big.get_pixel(1200, 500)[0]), (0, 255));
    }

    #[test]
    fn an_empty_picture_is_no_panic() {
        assert_eq!(lanczos_rgb(&RgbImage::new(0, 0), 4, 4).dimensions(), (4, 4));
        assert_eq!(lanczos_gray(&GrayImage::new(8, 8), 0, 3).dimensions(), (0, 3));
    }
}
