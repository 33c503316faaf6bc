//! Flat graphics (screenshots, documents, charts, logos drawn flat): pictures where what the
//! detectors take for an overlay — crisp, axis-aligned text, dense sharp edges, lines that
//! repeat — is the picture's own content. Photos, video frames and scans carry noise, so that
//! hardly a pixel equals all four of its neighbours; a drawn picture is mostly areas of one
//! exact colour, and what is not is the thin antialiased rim of its strokes.
//!
//! Measured on 122 pictures (the development set's 79 marked photos, the 23 test pictures, and
//! 20 others: frames of a video, documentation screenshots, logos; JPEG and PNG, 128 px to
//! 3840 px): at most 28 % of a photo's pixels equal their four neighbours (a rocket launch's
//! clear sky at 1920 px; most photos under 10 %). Five screenshots and a drawn logo: 83–97 %;
//! a drawn logo and a 128 px icon in between (37 % and 45 %) are searched as photos. A product
//! photographed on white is flat too (65–78 % with the product a quarter to a third of the
//! picture), but its photographed part differs from all four neighbours almost everywhere:
//! 13–32 % of such a picture's pixels do, against 0.5–5.4 % of the screenshots' and logos'.

use image::RgbImage;

/// A picture is a flat graphic when at least this share of its pixels equal their four
/// neighbours (photos measured at most 0.28, screenshots and drawn logos 0.83-0.97)…
pub const MIN_FLAT_SHARE: f32 = 0.6;
/// …and at most this share differ from all four (screenshots and drawn logos 0.005-0.054; a
/// product photographed on white 0.13-0.32).
pub const MAX_PHOTO_SHARE: f32 = 0.07;
/// At most about this many pixels are looked at (every k-th row on a big picture).
const SAMPLE_PIXELS: u64 = 1_000_000;

/// How a picture's pixels stand to their four neighbours: the share equal to all of them, and
/// the share equal to none (noise, photographed texture).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flatness {
    pub flat: f32,
    pub photo: f32,
}

impl Flatness {
    /// Whether the picture is drawn, not photographed: mostly flat, with hardly any
    /// photographed part.
    pub fn is_graphic(&self) -> bool {
        self.flat >= MIN_FLAT_SHARE && self.photo <= MAX_PHOTO_SHARE
    }
}

/// `image`'s [`Flatness`] over its inner pixels, measured on evenly spaced rows.
pub fn flatness(image: &RgbImage) -> Flatness {
    let (w, h) = image.dimensions();
    if w < 3 || h < 3 {
        return Flatness { flat: 0.0, photo: 0.0 };
    }
    let step = (u64::from(w) * u64::from(h)).div_ceil(SAMPLE_PIXELS).max(1) as usize;
    let raw = image.as_raw();
    let (w, h) = (w as usize, h as usize);
    let at = |x: usize, y: usize| &raw[(y * w + x) * 3..(y * w + x) * 3 + 3];
    let (mut flat, mut photo, mut seen) = (0u64, 0u64, 0u64);
    for y in (1..h - 1).step_by(step) {
        for x in 1..w - 1 {
            let p = at(x, y);
            let same =
                [at(x - 1, y), at(x + 1, y), at(x, y - 1), at(x, y + 1)].iter().filter(|&&q| q == p).count();
            seen += 1;
            flat += u64::from(same == 4);
            photo += u64::from(same == 0);
        }
    }
    let share = |n: u64| n as f32 / seen.max(1) as f32;
    Flatness { flat: share(flat), photo: share(photo) }
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::noisy_gradient;
    use super::*;
    use image::Rgb;

    #[test]
    fn a_screenshot_is_a_graphic_and_photos_are_not_even_on_white() {
        // GIVEN a drawn page (white, a grey bar, black text strokes), a photo, and a product
        // photographed on white (the photo a third of the picture)
        let page = RgbImage::from_fn(400, 300, |x, y| {
            if (40..60).contains(&y) {
                Rgb([230, 230, 230])
            } else if y % 20 < 3 && x % 9 < 5 {
                Rgb([20, 20, 20])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let photo = noisy_gradient(400, 300);
        let mut product = RgbImage::from_pixel(400, 300, Rgb([255, 255, 255]));
        image::imageops::replace(&mut product, &noisy_gradient(200, 180), 100, 60);
        // THEN the page is a flat graphic; the photo is not, nor is the product on white
        assert!(flatness(&page).is_graphic(), "{:?}", flatness(&page));
        assert!(!flatness(&photo).is_graphic(), "{:?}", flatness(&photo));
        let on_white = flatness(&product);
        assert!(on_white.flat >= MIN_FLAT_SHARE && !on_white.is_graphic(), "{on_white:?}");
    }
}
