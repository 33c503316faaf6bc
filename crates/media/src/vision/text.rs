//! Text detection with PP-OCRv5's detector (a DB head), decoded as PaddleOCR decodes it: the
//! probability map is thresholded at [`PIXEL_THRESHOLD`], each connected region whose mean
//! probability reaches [`BOX_THRESHOLD`] is a text line, and its box is grown back by
//! `area · 1.5 / perimeter` (DB trains on shrunk text kernels, so the raw region is the line's
//! core, not its outline).
//!
//! Boxes are axis-aligned; each carries the tilt of its region (from the second moments of its
//! pixels), which tells horizontal overlay text from text printed on tilted scene surfaces.

use image::RgbImage;
use image::imageops::{FilterType, resize};
use iprod_core::{Error, Result};

use super::Rect;
use crate::models::PPOCR_DET;
use crate::onnx::{OnnxRuntime, SharedSession, run_f32};

/// Pixels at or above this probability belong to a text region (PaddleOCR's default).
pub const PIXEL_THRESHOLD: f32 = 0.3;
/// A region whose mean probability is below this is dropped (PaddleOCR's default is 0.6; 0.5 keeps
/// faint overlays, and the callers judge the boxes further).
pub const BOX_THRESHOLD: f32 = 0.5;
/// The long side the image is scaled to for detection (PaddleOCR's `det_limit_side_len`). Smaller
/// pictures are scaled up to it: faint idents 15 px high in a 640 px picture were found only then.
pub const ANALYSIS_SIDE: u32 = 960;
/// DB's unclip ratio: the kernel is grown by `area · ratio / perimeter`.
const UNCLIP_RATIO: f32 = 1.5;
/// Regions smaller than this many analysis pixels are noise.
const MIN_REGION_PIXELS: usize = 6;

/// One detected line (or block) of text.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TextLine {
    /// In the source image's pixels, grown to the text's outline and clipped to the image.
    pub rect: Rect,
    /// Mean text probability over the region (0..1).
    pub score: f32,
    /// Angle of the region's long axis against the horizontal, in degrees (−90..90).
    pub tilt: f32,
}

impl TextLine {
    /// Height of the text line (the short side when it runs vertically).
    pub fn line_height(&self) -> f32 {
        self.rect.width.min(self.rect.height)
    }
}

/// The text probability map of `image` at the analysis size, and the scale from source pixels
/// to map pixels (x, y).
pub struct TextMap {
    pub width: usize,
    pub height: usize,
    pub probability: Vec<f32>,
    pub scale: (f32, f32),
}

/// How the detector is shown the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// As it is.
    Colour,
    /// Each pixel's darkest channel, as grey: a white or grey mark laid over the picture lifts
    /// all three channels, while most of the scene is strong in one or two. A 40 % white
    /// signature over foliage and a pagoda's roof, which the detector gave no probability in
    /// colour, stands out there as light letters over dark.
    Light,
}

/// Runs the detector on `image` scaled so that its long side is `side` (and each side a multiple
/// of 32).
pub fn probability_map(runtime: &OnnxRuntime, image: &RgbImage, side: u32) -> Result<TextMap> {
    probability_map_in(&runtime.session(&PPOCR_DET)?, image, side)
}

/// [`probability_map`] with a given session of the detector (one thread, beside other models).
pub fn probability_map_in(session: &SharedSession, image: &RgbImage, side: u32) -> Result<TextMap> {
    probability_map_of(session, image, side, View::Colour)
}

/// [`probability_map_in`] of `image` seen in `view`.
pub fn probability_map_of(
    session: &SharedSession,
    image: &RgbImage,
    side: u32,
    view: View,
) -> Result<TextMap> {
    let (w, h) = image.dimensions();
    let shrink = side as f32 / w.max(h) as f32;
    let fit = |v: u32| (((v as f32 * shrink / 32.0).round() as u32).max(1)) * 32;
    let (iw, ih) = (fit(w), fit(h));
    // Big photos shrink by area averaging (`shrink_area`): a Triangle filter over 12 MP cost ~0.2 s.
    let input = if iw * 2 < w {
        crate::imaging::shrink::shrink_area(image, iw, ih)
    } else {
        resize(image, iw, ih, FilterType::Triangle)
    };
    let plane = (iw * ih) as usize;
    let mut tensor = vec![0f32; 3 * plane];
    const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const STD: [f32; 3] = [0.229, 0.224, 0.225];
    for (i, p) in input.pixels().enumerate() {
        let p = match view {
            View::Colour => p.0,
            View::Light => [p.0[0].min(p.0[1]).min(p.0[2]); 3],
        };
        // The model reads BGR: channel 0 is blue.
        for c in 0..3 {
            tensor[c * plane + i] = (f32::from(p[2 - c]) / 255.0 - MEAN[c]) / STD[c];
        }
    }
    let (shape, probability) = run_f32(session, PPOCR_DET.input, [1, 3, ih as usize, iw as usize], &tensor)?;
    if shape != [1, 1, ih as usize, iw as usize] {
        return Err(Error::internal(format!("text detector answered shape {shape:?} for {iw}x{ih}")));
    }
    Ok(TextMap {
        width: iw as usize,
        height: ih as usize,
        probability,
        scale: (iw as f32 / w as f32, ih as f32 / h as f32),
    })
}

/// Text lines in the part of `image` at (`x`, `y`), `width` × `height`, read in `view` with its
/// long side scaled to `side`; in `image`'s pixels.
pub fn read_part(
    session: &SharedSession,
    image: &RgbImage,
    (x, y, width, height): (u32, u32, u32, u32),
    side: u32,
    view: View,
) -> Result<Vec<TextLine>> {
    let part = image::imageops::crop_imm(image, x, y, width, height).to_image();
    let map = probability_map_of(session, &part, side.max(32), view)?;
    let mut found = lines(&map, width, height);
    for line in &mut found {
        line.rect.x += x as f32;
        line.rect.y += y as f32;
    }
    Ok(found)
}

/// Text lines in `image`, in its own pixels, best first.
pub fn detect(runtime: &OnnxRuntime, image: &RgbImage) -> Result<Vec<TextLine>> {
    let map = probability_map(runtime, image, ANALYSIS_SIDE)?;
    Ok(lines(&map, image.width(), image.height()))
}

/// Decodes a probability map into text lines in source pixels (`width` × `height`).
pub fn lines(map: &TextMap, width: u32, height: u32) -> Vec<TextLine> {
    let (mw, mh) = (map.width, map.height);
    let on: Vec<bool> = map.probability.iter().map(|p| *p >= PIXEL_THRESHOLD).collect();
    let mut seen = vec![false; on.len()];
    let mut stack = Vec::new();
    let mut found = Vec::new();
    for start in 0..on.len() {
        if !on[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut region = Region::default();
        while let Some(i) = stack.pop() {
            let (x, y) = (i % mw, i / mw);
            region.add(x as f32, y as f32, map.probability[i]);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < mw).then(|| i + 1),
                (y > 0).then(|| i - mw),
                (y + 1 < mh).then(|| i + mw),
            ];
            for n in neighbours.into_iter().flatten() {
                if on[n] && !seen[n] {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        if let Some(line) = region.line(map.scale, width as f32, height as f32) {
            found.push(line);
        }
    }
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found
}

/// Lines of one caption (same row and a gap under 1.5 line heights, or stacked with a gap under
/// one line height and overlapping columns) joined into blocks, with the best line's score.
pub fn join_lines(lines: &[&TextLine]) -> Vec<(Rect, f32)> {
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

/// Running sums over one connected region of the map.
#[derive(Default)]
struct Region {
    n: usize,
    prob: f32,
    min: (f32, f32),
    max: (f32, f32),
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Region {
    fn add(&mut self, x: f32, y: f32, p: f32) {
        if self.n == 0 {
            self.min = (x, y);
            self.max = (x, y);
        }
        self.n += 1;
        self.prob += p;
        self.min = (self.min.0.min(x), self.min.1.min(y));
        self.max = (self.max.0.max(x), self.max.1.max(y));
        let (x, y) = (f64::from(x), f64::from(y));
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.syy += y * y;
        self.sxy += x * y;
    }

    fn line(&self, scale: (f32, f32), width: f32, height: f32) -> Option<TextLine> {
        if self.n < MIN_REGION_PIXELS {
            return None;
        }
        let score = self.prob / self.n as f32;
        if score < BOX_THRESHOLD {
            return None;
        }
        let n = self.n as f64;
        let (mx, my) = (self.sx / n, self.sy / n);
        let (cxx, cyy, cxy) = (self.sxx / n - mx * mx, self.syy / n - my * my, self.sxy / n - mx * my);
        let tilt = (0.5 * (2.0 * cxy).atan2(cxx - cyy)).to_degrees() as f32;
        // Pixel centres → pixel edges, then DB's unclip of the kernel's box.
        let (bw, bh) = (self.max.0 - self.min.0 + 1.0, self.max.1 - self.min.1 + 1.0);
        let grow = bw * bh * UNCLIP_RATIO / (2.0 * (bw + bh));
        let x0 = ((self.min.0 - grow) / scale.0).max(0.0);
        let y0 = ((self.min.1 - grow) / scale.1).max(0.0);
        let x1 = ((self.max.0 + 1.0 + grow) / scale.0).min(width);
        let y1 = ((self.max.1 + 1.0 + grow) / scale.1).min(height);
        Some(TextLine { rect: Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score, tilt })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_with(blocks: &[(usize, usize, usize, usize, f32)], w: usize, h: usize) -> TextMap {
        let mut probability = vec![0.0; w * h];
        for &(x0, y0, bw, bh, p) in blocks {
            for y in y0..y0 + bh {
                for x in x0..x0 + bw {
                    probability[y * w + x] = p;
                }
            }
        }
        TextMap { width: w, height: h, probability, scale: (0.5, 0.5) }
    }

    #[test]
    fn regions_become_unclipped_boxes_in_source_pixels() {
        // A 40x6 kernel at (10, 20) in a half-size map: grown by 40*6*1.5/(2*46) ≈ 3.9 map px.
        let map = map_with(&[(10, 20, 40, 6, 0.9), (70, 50, 2, 2, 0.9), (70, 10, 20, 8, 0.4)], 100, 64);
        let found = lines(&map, 200, 128);
        assert_eq!(found.len(), 1, "{found:?}");
        let r = found[0].rect;
        assert!((r.x - 2.0 * (10.0 - 3.91)).abs() < 0.1, "{r:?}");
        assert!((r.width - 2.0 * (40.0 + 7.83)).abs() < 0.2, "{r:?}");
        assert!((r.y - 2.0 * (20.0 - 3.91)).abs() < 0.1, "{r:?}");
        assert!(found[0].tilt.abs() < 1.0);
        assert!((found[0].score - 0.9).abs() < 1e-4);
    }

    #[test]
    fn boxes_stay_inside_the_image_and_tilt_is_measured() {
        let mut map = map_with(&[(0, 0, 30, 5, 0.8)], 64, 64);
        // A diagonal stroke: tilt about 45° (image y grows downwards).
        for i in 10..50 {
            for d in 0..3 {
                map.probability[(i + d) * 64 + i] = 0.9;
            }
        }
        let found = lines(&map, 128, 128);
        assert_eq!(found.len(), 2);
        for l in &found {
            assert!(
                l.rect.x >= 0.0 && l.rect.y >= 0.0 && l.rect.right() <= 128.0 && l.rect.bottom() <= 128.0
            );
        }
        let diagonal = found.iter().find(|l| l.rect.height > 40.0).expect("diagonal line");
        assert!((diagonal.tilt - 45.0).abs() < 5.0, "{diagonal:?}");
    }
}
