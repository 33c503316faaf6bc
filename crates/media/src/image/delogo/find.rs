//! Which parts of a picture are marks laid over it, from the evidence a person uses:
//!
//! - **overlay text** (PP-OCRv5's text lines): horizontal, rendered sharp, in the band within
//!   [`TEXT_BAND`] of a border; lines of one caption are joined into one block;
//! - **graphic marks** (`detect`): compact, dense, crisp edges standing out from their ring,
//!   near the borders;
//! - a text block and a graphic mark that touch (a word under a ring logo, an icon beside a URL)
//!   are one mark.
//!
//! Text that belongs to the scene (signs, badges, labels, handwriting) is told apart by what
//! rendering leaves and photography does not: perfectly horizontal lines and crisp, high-contrast
//! glyph edges (`crispness`, the largest one-pixel step over the gradient), and by position.

use image::RgbImage;
use iprod_core::Result;

use super::detect::{DetectedLogo, LOGO_SCORE_THRESHOLD, PixelBox, detect_logos};
use crate::onnx::OnnxRuntime;
use crate::vision::Rect;
use crate::vision::text::{self, TextLine};

/// Overlay text sits within this fraction of the picture's size from a border (lower thirds and
/// captions included).
pub const TEXT_BAND: f32 = 0.30;
/// Text lines tilted more than this (degrees) are on a scene surface, not rendered over it.
const MAX_TILT: f32 = 4.0;
/// Text lines below this probability are not used.
const MIN_TEXT_SCORE: f32 = 0.6;
/// Text lines lower than this (source px) are too small to judge.
const MIN_LINE_HEIGHT: f32 = 7.0;
/// Overlay text is rendered: its mean edge crispness measures at least this (rendered and
/// JPEG-compressed glyphs ~1.5–2; photographed text ~1.1–1.3).
const MIN_CRISPNESS: f32 = 1.35;

/// Where a found mark's evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Evidence {
    Text,
    Graphic,
    TextAndGraphic,
}

/// One mark found over the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoundMark {
    pub region: PixelBox,
    pub score: f32,
    pub evidence: Evidence,
}

/// The marks over `image`, best first.
pub fn find_marks(runtime: &OnnxRuntime, image: &RgbImage) -> Result<Vec<FoundMark>> {
    let lines = text::detect(runtime, image)?;
    let graphics: Vec<DetectedLogo> =
        detect_logos(image).into_iter().filter(|d| d.score >= LOGO_SCORE_THRESHOLD).collect();
    Ok(combine(image, &lines, &graphics))
}

/// Joins the overlay text blocks and graphic marks of one picture.
pub fn combine(image: &RgbImage, lines: &[TextLine], graphics: &[DetectedLogo]) -> Vec<FoundMark> {
    let (w, h) = image.dimensions();
    let overlay: Vec<&TextLine> = lines.iter().filter(|l| is_overlay_text(image, l)).collect();
    let mut marks: Vec<FoundMark> = blocks(&overlay)
        .into_iter()
        .map(|(rect, score)| FoundMark { region: to_box(rect, w, h), score, evidence: Evidence::Text })
        .collect();
    for g in graphics {
        let near = marks.iter().position(|m| touching(m.region, g.region));
        match near {
            Some(i) => {
                marks[i].region = union(marks[i].region, g.region);
                marks[i].score = marks[i].score.max(g.score);
                marks[i].evidence = Evidence::TextAndGraphic;
            }
            None => marks.push(FoundMark { region: g.region, score: g.score, evidence: Evidence::Graphic }),
        }
    }
    // Unions can make marks overlap: merge until none do.
    let mut merged: Vec<FoundMark> = Vec::new();
    for m in marks {
        match merged.iter().position(|o| touching(o.region, m.region)) {
            Some(i) => {
                merged[i].region = union(merged[i].region, m.region);
                merged[i].score = merged[i].score.max(m.score);
                if merged[i].evidence != m.evidence {
                    merged[i].evidence = Evidence::TextAndGraphic;
                }
            }
            None => merged.push(m),
        }
    }
    merged.sort_by(|a, b| b.score.total_cmp(&a.score));
    merged
}

/// Horizontal, sharp, large enough, near a border.
fn is_overlay_text(image: &RgbImage, line: &TextLine) -> bool {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let r = line.rect;
    let long = r.width >= 2.0 * r.height;
    if line.score < MIN_TEXT_SCORE || line.line_height() < MIN_LINE_HEIGHT || r.height > 0.2 * h {
        return false;
    }
    // The tilt of a short, squarish region says little; a long line must be level.
    if long && line.tilt.abs() > MAX_TILT {
        return false;
    }
    if !long && r.height > 1.5 * r.width {
        return false; // vertical text runs on scene objects (signs, spines, rockets)
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
fn crispness(image: &RgbImage, r: Rect) -> f32 {
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
            let gx = (luma(x + 1, y - 1) + 2.0 * luma(x + 1, y) + luma(x + 1, y + 1))
                - (luma(x - 1, y - 1) + 2.0 * luma(x - 1, y) + luma(x - 1, y + 1));
            let gy = (luma(x - 1, y + 1) + 2.0 * luma(x, y + 1) + luma(x + 1, y + 1))
                - (luma(x - 1, y - 1) + 2.0 * luma(x, y - 1) + luma(x + 1, y - 1));
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

/// Lines of one caption (same row and a gap under 1.5 line heights, or stacked with a gap under
/// one line height and overlapping columns) joined into blocks, with the best line's score.
fn blocks(lines: &[&TextLine]) -> Vec<(Rect, f32)> {
    let mut out: Vec<(Rect, f32, f32)> = Vec::new(); // rect, score, line height
    for l in lines {
        let (r, lh) = (l.rect, l.line_height());
        let joins = |b: &(Rect, f32, f32)| {
            let lh = lh.max(b.2);
            let same_row = r.y < b.0.bottom() && b.0.y < r.bottom();
            let gap_x = (r.x - b.0.right()).max(b.0.x - r.right());
            let cols = r.x < b.0.right() && b.0.x < r.right();
            let gap_y = (r.y - b.0.bottom()).max(b.0.y - r.bottom());
            (same_row && gap_x < 1.5 * lh) || (cols && gap_y < lh)
        };
        match out.iter().position(joins) {
            Some(i) => {
                let b = &mut out[i];
                let x0 = b.0.x.min(r.x);
                let y0 = b.0.y.min(r.y);
                b.0 = Rect {
                    x: x0,
                    y: y0,
                    width: b.0.right().max(r.right()) - x0,
                    height: b.0.bottom().max(r.bottom()) - y0,
                };
                b.1 = b.1.max(l.score);
                b.2 = b.2.max(lh);
            }
            None => out.push((r, l.score, lh)),
        }
    }
    out.into_iter().map(|(r, s, _)| (r, s)).collect()
}

fn to_box(r: Rect, w: u32, h: u32) -> PixelBox {
    let x = (r.x.floor().max(0.0) as u32).min(w - 1);
    let y = (r.y.floor().max(0.0) as u32).min(h - 1);
    let x1 = (r.right().ceil() as u32).clamp(x + 1, w);
    let y1 = (r.bottom().ceil() as u32).clamp(y + 1, h);
    PixelBox { x, y, width: x1 - x, height: y1 - y }
}

/// Boxes that overlap or lie within a few pixels (a tenth of the smaller box's short side).
fn touching(a: PixelBox, b: PixelBox) -> bool {
    let m = (a.width.min(a.height).min(b.width.min(b.height)) / 10).max(2);
    a.x < b.x + b.width + m && b.x < a.x + a.width + m && a.y < b.y + b.height + m && b.y < a.y + a.height + m
}

fn union(a: PixelBox, b: PixelBox) -> PixelBox {
    let (x, y) = (a.x.min(b.x), a.y.min(b.y));
    let x1 = (a.x + a.width).max(b.x + b.width);
    let y1 = (a.y + a.height).max(b.y + b.height);
    PixelBox { x, y, width: x1 - x, height: y1 - y }
}
