//! Flat graphics (screenshots, documents, charts, icons drawn flat): pictures where what the
//! detectors take for an overlay — crisp, axis-aligned text, dense sharp edges, lines that
//! repeat — is the picture's own content. Photos, video frames and scans carry noise, so that
//! hardly a pixel equals all four of its neighbours; a drawn picture is mostly areas of one
//! exact colour.
//!
//! Measured on 122 pictures (the development set's 79 marked photos, the 23 test pictures, and
//! 20 others: frames of a video, documentation screenshots, logos; JPEG and PNG, 128 px to
//! 3840 px): at most 28 % of a photo's pixels equal their four neighbours (a rocket launch's
//! clear sky at 1920 px; most photos under 10 %). Five screenshots and a drawn logo: 83–97 %;
//! two drawn logos and a 128 px icon in between (37–45 %) are searched as photos.

use image::RgbImage;

/// A picture is a flat graphic when at least this share of its pixels equal their four
/// neighbours (photos measured at most 0.28, screenshots and drawn logos 0.83-0.97).
pub const MIN_FLAT_SHARE: f32 = 0.6;
/// At most about this many pixels are looked at (every k-th row on a big picture).
const SAMPLE_PIXELS: u64 = 1_000_000;

/// The share of `image`'s inner pixels whose colour equals each of their four neighbours',
/// measured on evenly spaced rows.
pub fn flat_share(image: &RgbImage) -> f32 {
    let (w, h) = image.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let step = (u64::from(w) * u64::from(h)).div_ceil(SAMPLE_PIXELS).max(1) as usize;
    let raw = image.as_raw();
    let (w, h) = (w as usize, h as usize);
    let at = |x: usize, y: usize| &raw[(y * w + x) * 3..(y * w + x) * 3 + 3];
    let (mut flat, mut seen) = (0u64, 0u64);
    for y in (1..h - 1).step_by(step) {
        for x in 1..w - 1 {
            let p = at(x, y);
            seen += 1;
            flat +=
                u64::from(p == at(x - 1, y) && p == at(x + 1, y) && p == at(x, y - 1) && p == at(x, y + 1));
        }
    }
    flat as f32 / seen.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn a_screenshot_is_flat_and_a_noisy_photo_is_not() {
        // GIVEN a drawn page (white, a grey bar, black text strokes) and a photo-like picture
        // (a gradient with sensor noise)
        let page = RgbImage::from_fn(400, 300, |x, y| {
            if (40..60).contains(&y) {
                Rgb([230, 230, 230])
            } else if y % 20 < 3 && x % 9 < 5 {
                Rgb([20, 20, 20])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let mut state = 7u32;
        let photo = RgbImage::from_fn(400, 300, |x, y| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let noise = ((state >> 16) % 5) as f32 - 2.0;
            let v = (60.0 + 0.3 * x as f32 + 0.2 * y as f32 + noise).clamp(0.0, 255.0) as u8;
            Rgb([v, v / 2 + 40, 200 - v / 3])
        });
        // THEN the page is a flat graphic, the photo is not
        assert!(flat_share(&page) >= MIN_FLAT_SHARE, "{}", flat_share(&page));
        assert!(flat_share(&photo) < 0.1, "{}", flat_share(&photo));
    }
}
