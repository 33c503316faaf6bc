//! A synthetic repeated mark over a synthetic photo, for the repeated-mark tests, the PSNR the
//! removal tests measure, and text lines as the detector reads them.

use image::{Rgb, RgbImage};

use crate::imaging::geometry::PixelBox;
use crate::vision::Rect;
use crate::vision::text::TextLine;

/// A level text line read at (`x`, `y`), `width` × `height`, surely (0.95).
pub(super) fn level_line(x: f32, y: f32, width: f32, height: f32) -> TextLine {
    TextLine { rect: Rect { x, y, width, height }, score: 0.95, tilt: 0.0 }
}

/// A photo-like picture: a smooth colour gradient with mild deterministic noise (±4 levels), so
/// that hardly a pixel equals its neighbours.
pub(super) fn noisy_gradient(w: u32, h: u32) -> RgbImage {
    let mut state = 12345u32;
    RgbImage::from_fn(w, h, |x, y| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let n = ((state >> 16) % 9) as i32 - 4;
        let v = |base: i32| (base + n).clamp(0, 255) as u8;
        Rgb([v((x * 120 / w) as i32 + 60), v((y * 100 / h) as i32 + 70), v(110)])
    })
}

/// PSNR (dB) between `a` and `b` over `r`.
pub(super) fn psnr_in(a: &RgbImage, b: &RgbImage, r: PixelBox) -> f64 {
    let mut se = 0.0f64;
    for y in r.y..r.y + r.height {
        for x in r.x..r.x + r.width {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            se += (0..3).map(|c| (f64::from(p[c]) - f64::from(q[c])).powi(2)).sum::<f64>();
        }
    }
    10.0 * (255.0f64.powi(2) / (se / f64::from(3 * r.width * r.height)).max(1e-6)).log10()
}

/// The mark's size.
pub(super) const MARK: (u32, u32) = (96, 24);

/// Whether (x, y) of the mark (96 × 24) is on a bar: bars of uneven widths, so that no shift of
/// the mark looks like itself.
fn in_mark(x: u32, y: u32) -> bool {
    const BARS: [u32; 17] = [6, 3, 9, 4, 5, 8, 3, 7, 10, 4, 6, 5, 2, 8, 4, 7, 5];
    let (mut at, mut on) = (0, true);
    for width in BARS {
        if x < at + width {
            return on && (4..20).contains(&y);
        }
        at += width;
        on = !on;
    }
    false
}

/// The photo alone: smooth blotches, 640 × 420.
pub(super) fn photo() -> RgbImage {
    RgbImage::from_fn(640, 420, |x, y| {
        let v = (f64::from(x) / 37.0).sin() * 40.0 + (f64::from(y) / 23.0 + f64::from(x) / 90.0).cos() * 35.0;
        let g = (140.0 + v) as u8;
        Rgb([g, g.saturating_add(20), 200 - g / 2])
    })
}

/// [`photo`] with the mark blended dark at 40 % with its top-left corner at each of `tiles`
/// (partly outside the picture where they say so).
pub(super) fn marked(tiles: &[(i32, i32)]) -> RgbImage {
    let mut img = photo();
    let (w, h) = (img.width() as i32, img.height() as i32);
    for &(tx, ty) in tiles {
        for y in 0..MARK.1 {
            for x in 0..MARK.0 {
                let (px, py) = (tx + x as i32, ty + y as i32);
                if in_mark(x, y) && px >= 0 && py >= 0 && px < w && py < h {
                    let p = img.get_pixel_mut(px as u32, py as u32);
                    p.0 = p.0.map(|c| (f32::from(c) * 0.6) as u8);
                }
            }
        }
    }
    img
}
