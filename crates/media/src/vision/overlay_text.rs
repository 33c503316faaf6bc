//! Whether a line the text detector read is rendered over the picture (a caption, a channel's
//! name, a URL) or printed in the scene (a sign, a shirt, a book cover): level, wide, sharp and
//! near a border, measured on the development sets. ImageDelogo and VideoDelogo both judge text
//! by it.

use image::RgbImage;
use iprod_core::Result;

use crate::imaging::gradients::sobel;
use crate::imaging::shrink::shrink_area;
use crate::onnx::OnnxRuntime;
use crate::vision::Rect;
use crate::vision::text::{self, ANALYSIS_SIDE, TextLine, View};

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

/// A merged block is read again at this many times the detector's usual scale: at 2× a
/// translucent "ARCHIVE" parted from the flag's stars it ran into, and "M. Lee" from the lamps
/// under it (at 1.33× and 1.5× only one of the two did).
const CLOSER: f32 = 2.0;
/// At most this many blocks (the largest) are read again, to bound the cost on busy pictures.
const MAX_CLOSER_READS: usize = 4;
/// The closer reading's longest side, in detector pixels.
const MAX_CLOSER_SIDE: f32 = 1280.0;

/// The light view is read over the picture's top and bottom this fraction of its height deep.
const LIGHT_STRIP: f32 = 0.25;

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
    if from_border(image, line.rect) <= EDGE_BAND { Placement::Edge } else { Placement::Interior }
}

/// How far `r` lies from the nearest border, as a fraction of the picture's size across it.
fn from_border(image: &RgbImage, r: Rect) -> f32 {
    let (w, h) = (image.width() as f32, image.height() as f32);
    (r.x.min(w - r.right()) / w).min(r.y.min(h - r.bottom()) / h)
}

/// Horizontal, sharp, large enough, within [`TEXT_BAND`] of a border.
pub fn is_overlay_text(image: &RgbImage, line: &TextLine) -> bool {
    is_rendered_text(image, line, MIN_ASPECT)
}

/// [`is_overlay_text`] for a short word or sign ("M.", "©") that can only be told beside a
/// longer line: any width, as long as it is not higher than wide.
pub fn is_overlay_word(image: &RgbImage, line: &TextLine) -> bool {
    is_rendered_text(image, line, 1.0)
}

/// Horizontal, sharp, large enough, within [`TEXT_BAND`] of a border, at least `min_aspect`
/// times wider than high.
fn is_rendered_text(image: &RgbImage, line: &TextLine, min_aspect: f32) -> bool {
    let r = line.rect;
    if line.score < MIN_TEXT_SCORE
        || line.line_height() < MIN_LINE_HEIGHT
        || r.height > 0.2 * image.height() as f32
    {
        return false;
    }
    // Vertical text runs on scene objects (signs, spines, rockets); tilted text on surfaces.
    if r.width < min_aspect * r.height || line.tilt.abs() > MAX_TILT {
        return false;
    }
    from_border(image, r) <= TEXT_BAND && crispness(image, r) >= MIN_CRISPNESS
}

/// Overlay-looking lines ([`placement`]) that the detector reads in the [`View::Light`] view
/// of `image`'s top and bottom [`LIGHT_STRIP`]s, at its usual scale: white and grey translucent
/// marks it may not read in colour. (Signatures and idents sit there; the whole picture would
/// double the detector's cost, about 0.4 s on a 512 px photo on this machine.)
pub fn light_lines(runtime: &OnnxRuntime, image: &RgbImage) -> Result<Vec<TextLine>> {
    let (w, h) = image.dimensions();
    let session = runtime.session(&crate::models::PPOCR_DET)?;
    let scale = ANALYSIS_SIDE as f32 / w.max(h) as f32;
    let strip = ((h as f32 * LIGHT_STRIP).ceil() as u32).min(h);
    let strips = if 2 * strip >= h { vec![(0, h)] } else { vec![(0, strip), (h - strip, strip)] };
    let mut lines = Vec::new();
    for (y0, sh) in strips {
        let side = (w.max(sh) as f32 * scale).round() as u32;
        lines.extend(text::read_part(&session, image, (0, y0, w, sh), side, View::Light)?);
    }
    Ok(lines.into_iter().filter(|l| placement(image, l) != Placement::NotOverlay).collect())
}

/// `lines` with each block the detector merged near a border read again at [`CLOSER`] times its
/// scale. A block is merged when it is tilted or squarish, as no rendered line is: a translucent
/// word runs into a flag's stars or the lamps under it at the usual scale. Where the closer
/// reading finds rendered-looking text ([`is_overlay_word`]), those lines replace the block.
pub fn read_blocks_closer(
    runtime: &OnnxRuntime,
    image: &RgbImage,
    mut lines: Vec<TextLine>,
) -> Result<Vec<TextLine>> {
    let (w, h) = image.dimensions();
    let merged = |l: &TextLine| {
        let r = l.rect;
        let near = from_border(image, r) <= TEXT_BAND;
        let shape = l.tilt.abs() > MAX_TILT || r.width < MIN_ASPECT * r.height;
        l.score >= MIN_TEXT_SCORE && l.line_height() >= 2.0 * MIN_LINE_HEIGHT && near && shape
    };
    let mut blocks: Vec<usize> = (0..lines.len()).filter(|&i| merged(&lines[i])).collect();
    blocks.sort_by(|&a, &b| lines[b].rect.area().total_cmp(&lines[a].rect.area()));
    blocks.truncate(MAX_CLOSER_READS);
    let scale = ANALYSIS_SIDE as f32 / w.max(h) as f32;
    let session = runtime.session(&crate::models::PPOCR_DET)?;
    let mut parted: Vec<(usize, Vec<TextLine>)> = Vec::new();
    for i in blocks {
        let r = lines[i].rect;
        let grow = 0.1 * r.width.max(r.height);
        let (x0, y0) = ((r.x - grow).max(0.0) as u32, (r.y - grow).max(0.0) as u32);
        let x1 = ((r.right() + grow).ceil() as u32).min(w);
        let y1 = ((r.bottom() + grow).ceil() as u32).min(h);
        let side = ((x1 - x0).max(y1 - y0) as f32 * scale * CLOSER).min(MAX_CLOSER_SIDE).round() as u32;
        let found: Vec<TextLine> =
            text::read_part(&session, image, (x0, y0, x1 - x0, y1 - y0), side, View::Colour)?
                .into_iter()
                .filter(|l| is_overlay_word(image, l))
                .collect();
        if !found.is_empty() {
            parted.push((i, found));
        }
    }
    // Highest index first, so that the indices left stay valid.
    parted.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
    for (i, found) in parted {
        lines.splice(i..=i, found);
    }
    Ok(lines)
}

/// Over the strong edges in `r`, the largest one-pixel steps summed over the gradient magnitudes:
/// about 2 on rendered glyphs, about 1 on edges a lens spread over several pixels.
///
/// A picture of at least 1.5 times the detector's [`ANALYSIS_SIDE`] is judged shrunk towards that
/// size by the nearest whole factor (block means), where the thresholds were measured: at
/// 3,000–4,000 px a logo scaled up to a quarter of the width has edges several pixels wide, and a
/// faint signature's few sharp steps are outweighed by the texture under it ("matplotlib"
/// measured 1.25 at 4,000 px and 1.66 at 1,000). (Rounded down, a photo enlarged 4× to 2,560 px
/// after marking kept 2 px ramps: 27 of 64 marks found instead of 42.)
pub fn crispness(image: &RgbImage, r: Rect) -> f32 {
    let (iw, ih) = image.dimensions();
    let f = ((iw.max(ih) as f32 / ANALYSIS_SIDE as f32).round() as u32).max(1);
    let (sw, sh) = (iw / f, ih / f);
    if sw < 3 || sh < 3 {
        return 0.0;
    }
    let x0 = ((r.x / f as f32).max(1.0) as u32).min(sw - 1);
    let y0 = ((r.y / f as f32).max(1.0) as u32).min(sh - 1);
    let x1 = ((r.right() / f as f32) as u32).min(sw - 1);
    let y1 = ((r.bottom() / f as f32) as u32).min(sh - 1);
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    // The box and a pixel around it, at the judging scale.
    let (gw, gh) = (x1 - x0 + 2, y1 - y0 + 2);
    let part = image::imageops::crop_imm(image, (x0 - 1) * f, (y0 - 1) * f, gw * f, gh * f).to_image();
    let grid = if f > 1 { shrink_area(&part, gw, gh) } else { part };
    let luma = |x: u32, y: u32| {
        let p = grid.get_pixel(x, y).0;
        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
    };
    let (mut sum, mut weight) = (0.0f32, 0.0f32);
    for y in 1..gh - 1 {
        for x in 1..gw - 1 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use image::imageops::{FilterType, blur, resize};

    /// Vertical strokes 4 px wide, 40 px high, every 10 px, light over a mid-grey picture
    /// 1000 × 700, with the strokes' box.
    fn strokes() -> (RgbImage, Rect) {
        let img = RgbImage::from_fn(1000, 700, |x, y| {
            let stroke = (600..640).contains(&y) && (100..300).contains(&x) && x % 10 < 4;
            if stroke { Rgb([230, 230, 230]) } else { Rgb([90, 100, 110]) }
        });
        (img, Rect { x: 96.0, y: 596.0, width: 208.0, height: 48.0 })
    }

    fn times(r: Rect, k: f32) -> Rect {
        Rect { x: r.x * k, y: r.y * k, width: r.width * k, height: r.height * k }
    }

    #[test]
    fn lettering_scaled_up_to_a_large_picture_is_as_crisp_as_it_was() {
        let (small, r) = strokes();
        let big = resize(&small, 4000, 2800, FilterType::Triangle);
        assert!(crispness(&small, r) >= MIN_CRISPNESS, "{}", crispness(&small, r));
        // At full size its edges are 4 px ramps; judged at the detector's scale they are steps.
        assert!(crispness(&big, times(r, 4.0)) >= MIN_CRISPNESS, "{}", crispness(&big, times(r, 4.0)));
    }

    #[test]
    fn blurred_lettering_is_not_crisp_small_or_large() {
        let (small, r) = strokes();
        let soft = blur(&small, 1.5);
        let big = resize(&soft, 4000, 2800, FilterType::Triangle);
        assert!(crispness(&soft, r) < MIN_CRISPNESS, "{}", crispness(&soft, r));
        assert!(crispness(&big, times(r, 4.0)) < MIN_CRISPNESS, "{}", crispness(&big, times(r, 4.0)));
    }
}
