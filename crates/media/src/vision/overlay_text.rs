//! Whether a line the text detector read is rendered over the picture (a caption, a channel's
//! name, a URL) or printed in the scene (a sign, a shirt, a book cover): level, wide, sharp and
//! near a border, measured on the development sets. ImageDelogo and VideoDelogo both judge text
//! by it.

use image::RgbImage;

use crate::imaging::gradients::sobel;
use crate::vision::Rect;
use crate::vision::text::TextLine;

/// Overlay text sits within this fraction of the picture's size from a border (lower thirds and
/// captions included).
pub const TEXT_BAND: f32 = 0.30;
/// Text further in than this from every border must not sit on the salient subject: a name tag
/// on a uniform or a label on a box is printed on the scene, not over it.
const EDGE_BAND: f32 = 0.10;
/// Interior text at least this high (a fraction of the picture's height) is a caption or lower
/// third whatever lies under it; printed scene text at that size would be a sign the picture is
/// about. (A name tag measured 1.2 %, an icon-and-URL lower third 3.5 %.)
pub const CAPTION_HEIGHT: f32 = 0.025;
/// Text lines tilted more than this (degrees) are on a scene surface, not rendered over it
/// (rendered lines measured 0.2–1°, a word's fragment up to 3°; coin lettering 5–13°).
pub const MAX_TILT: f32 = 3.5;
/// A line must be this much wider than high: squarish blobs (a star, a knob) are the detector's
/// false text, and a one-letter mark is a graphic…
const MIN_ASPECT: f32 = 1.5;
/// Text lines below this probability are not used.
const MIN_TEXT_SCORE: f32 = 0.6;
/// Text lines lower than this (source px) are too small to judge.
const MIN_LINE_HEIGHT: f32 = 7.0;
/// Overlay text is rendered sharp: rendered, JPEG-compressed lines measured crispness 1.7–2.0,
/// blurred scene blobs the detector takes for text 1.3–1.5 (coin lettering, sharp, up to 1.9).
const MIN_CRISPNESS: f32 = 1.35;

/// How a text line could be an overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Rendered-looking text within [`EDGE_BAND`] of a border.
    Edge,
    /// Rendered-looking text further in, within [`TEXT_BAND`]: an overlay unless on the subject.
    Interior,
    NotOverlay,
}

/// Whether a line looks like overlay text, and if so whether it sits at the frame's edge.
pub fn placement(image: &RgbImage, line: &TextLine) -> Placement {
    if !is_overlay_text(image, line) {
        return Placement::NotOverlay;
    }
    let (w, h) = (image.width() as f32, image.height() as f32);
    let r = line.rect;
    let edge = r.x.min(w - r.right()) / w <= EDGE_BAND || r.y.min(h - r.bottom()) / h <= EDGE_BAND;
    if edge { Placement::Edge } else { Placement::Interior }
}

/// Horizontal, sharp, large enough, within [`TEXT_BAND`] of a border.
pub fn is_overlay_text(image: &RgbImage, line: &TextLine) -> bool {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let r = line.rect;
    if line.score < MIN_TEXT_SCORE || line.line_height() < MIN_LINE_HEIGHT || r.height > 0.2 * h {
        return false;
    }
    // Vertical text runs on scene objects (signs, spines, rockets); tilted text on surfaces.
    if r.width < MIN_ASPECT * r.height || line.tilt.abs() > MAX_TILT {
        return false;
    }
    let gx = r.x.min(w - r.right()) / w;
    let gy = r.y.min(h - r.bottom()) / h;
    if gx.min(gy) > TEXT_BAND {
        return false;
    }
    crispness(image, r) >= MIN_CRISPNESS
}

/// Over the strong edges in `r`, the largest one-pixel steps summed over the gradient magnitudes:
/// about 2 on rendered glyphs, about 1 on edges a lens spread over several pixels.
pub fn crispness(image: &RgbImage, r: Rect) -> f32 {
    let (iw, ih) = image.dimensions();
    let x0 = (r.x.max(1.0) as u32).min(iw - 1);
    let y0 = (r.y.max(1.0) as u32).min(ih - 1);
    let x1 = (r.right() as u32).min(iw - 1);
    let y1 = (r.bottom() as u32).min(ih - 1);
    let luma = |x: u32, y: u32| {
        let p = image.get_pixel(x, y).0;
        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
    };
    let (mut sum, mut weight) = (0.0f32, 0.0f32);
    for y in y0..y1 {
        for x in x0..x1 {
            let (gx, gy) = sobel(|dx, dy| luma((x as i64 + dx as i64) as u32, (y as i64 + dy as i64) as u32));
            let g = (gx * gx + gy * gy).sqrt() / 8.0;
            if g < 12.0 {
                continue;
            }
            let v = luma(x, y);
            let step = [luma(x - 1, y), luma(x + 1, y), luma(x, y - 1), luma(x, y + 1)]
                .into_iter()
                .map(|n| (v - n).abs())
                .fold(0.0f32, f32::max);
            sum += step;
            weight += g;
        }
    }
    if weight > 0.0 { sum / weight } else { 0.0 }
}
