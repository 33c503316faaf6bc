//! Logo, watermark and burnt-in text detection on a single image.
//!
//! Overlays are found as boxes of dense, crisp, high-contrast edges that stand out from their
//! surroundings, near the borders of the frame:
//!
//! 1. The image is analysed on a copy at most [`WORK_WIDTH`] px wide. Per pixel: the colour
//!    gradient magnitude (largest Sobel response over R, G, B, divided by 8, about the step per
//!    pixel) and its crispness (largest one-pixel step to a 4-neighbour over the gradient: about 2
//!    on rendered, antialiased edges, about 1 on edges blurred over a few pixels, as in photos).
//! 2. An edge weight ramps from 0 at a gradient of 16 to 1 at 40 (a soft threshold, so that
//!    semi-transparent text at half the contrast still counts), kept with the crispness in integral
//!    images so that any box is measured in O(1).
//! 3. Windows of 5–25 % of the width at aspects 1, 1.8 and 3 slide over the border band. Each is
//!    measured by the density contrast to its ring (a band around it half the geometric mean of
//!    its sides wide): `(inside − 1.5·ring)·area^¼`, required `inside ≥ 0.08` and `≥ 2·ring`. The
//!    fourth root makes a box prefer all of a uniformly dense logo over one letter, but not take in
//!    a less dense neighbour. The 12 best windows (non-maximum suppression at IoU 0.25) are fitted
//!    by coordinate ascent of the same objective over the four sides, with steps from half the
//!    box's smaller side down to 1 px, so that the gaps between letters are crossed.
//! 4. A fitted box scores `contrast × size × shape × border × crispness`, mapped to 0..1:
//!    contrast `inside − 1.5·ring`; size saturating at a side of 5 % of the width; shape penalising
//!    slivers (a side under 2 % of the width, aspect over 6) and boxes over 22 % of the width or 12 %
//!    of the height; border 1 within 6 % of the frame, falling to 0 at 12 %, ×1.15 in a corner, ×0.2
//!    when the box touches the frame (objects cut by the frame are scene content; overlays keep a
//!    margin); crispness ramping from 0.2 at 1.3 to 1 at 1.8.
//! 5. At most [`MAX_DETECTIONS`] non-overlapping boxes scoring at least 0.15 are reported, best
//!    first; [`LOGO_SCORE_THRESHOLD`] marks the confident ones.
//!
//! Not detected: overlays in the middle of the frame (by design), semi-transparent shapes with
//! little inner structure (a plain translucent disc has edges only on its outline), faint
//! overlays over busy content, and tiled watermarks across the whole frame.

use image::RgbImage;
use image::imageops::{self, FilterType};

use crate::imaging::geometry::PixelBox;
use crate::imaging::gradients::sobel;
use crate::imaging::integral::SummedArea;

/// One detected overlay: its box in the image's pixels and a score in 0..=1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectedLogo {
    pub region: PixelBox,
    pub score: f32,
}

/// Detections at or above this score are confident: the clean test photos stay below it, the
/// synthetic overlays the tests paste score above it.
pub const LOGO_SCORE_THRESHOLD: f32 = 0.35;
/// Images wider than this are analysed on a copy scaled to this width.
pub const WORK_WIDTH: u32 = 640;
/// At most this many detections are reported.
pub const MAX_DETECTIONS: usize = 4;

/// A graphic beside text is searched on a copy where the line is at most this high (pixels).
const BESIDE_LINE: u32 = 32;
/// A graphic beside text is at most this many line heights from it…
const BESIDE_GAP: f32 = 1.2;
/// …and stands out from its ring more than a logo must in the border band (the text's
/// surroundings are searched whatever they hold), with rendered edges.
const BESIDE_CONTRAST: f32 = 2.5;
const BESIDE_CRISP: f32 = 1.5;

/// Detections below this score are not reported.
const MIN_SCORE: f32 = 0.15;
/// Soft edge threshold: weight 0 at `EDGE_LO`, 1 at `EDGE_HI` (gradient, about the step per pixel).
const EDGE_LO: f32 = 16.0;
const EDGE_HI: f32 = 40.0;
/// `score = min(1, raw / SCORE_SCALE)`.
const SCORE_SCALE: f32 = 0.7;

/// Finds logos, watermarks and burnt-in text near the borders of `image`, best first: at most
/// [`MAX_DETECTIONS`], non-overlapping, each with a score in 0..=1 (see [`LOGO_SCORE_THRESHOLD`]).
pub fn detect_logos(image: &RgbImage) -> Vec<DetectedLogo> {
    let (iw, ih) = image.dimensions();
    if iw < 16 || ih < 16 {
        return Vec::new();
    }
    let small;
    let work = if iw > WORK_WIDTH {
        let nh = ((ih as f64 * WORK_WIDTH as f64 / iw as f64).round() as u32).max(1);
        // Area averaging for big photos: as good for edges at this size, and far cheaper.
        small = if iw > 2 * WORK_WIDTH {
            crate::imaging::shrink::shrink_area(image, WORK_WIDTH, nh)
        } else {
            imageops::resize(image, WORK_WIDTH, nh, FilterType::Triangle)
        };
        &small
    } else {
        image
    };
    let lv = Level::new(work);
    let mut found: Vec<(f32, PixelBox)> = Vec::new();
    for start in candidates(&lv) {
        let mut r = refine(&lv, start);
        // Again from where it ended, so that a box can reach the rest of a long logo.
        for _ in 0..3 {
            let again = refine(&lv, r);
            if again == r {
                break;
            }
            r = again;
        }
        let score = lv.score(r);
        if score >= MIN_SCORE {
            found.push((score, r));
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<(f32, PixelBox)> = Vec::new();
    for (score, r) in found {
        if out.len() < MAX_DETECTIONS && !out.iter().any(|(_, p)| p.overlaps(&r)) {
            out.push((score, r));
        }
    }
    let (sx, sy) = (iw as f64 / lv.w as f64, ih as f64 / lv.h as f64);
    out.into_iter()
        .map(|(score, r)| {
            let x = ((f64::from(r.x) * sx).floor() as u32).min(iw - 1);
            let y = ((f64::from(r.y) * sy).floor() as u32).min(ih - 1);
            let x1 = ((f64::from(r.right()) * sx).ceil() as u32).clamp(x + 1, iw);
            let y1 = ((f64::from(r.bottom()) * sy).ceil() as u32).clamp(y + 1, ih);
            DetectedLogo { region: PixelBox { x, y, width: x1 - x, height: y1 - y }, score }
        })
        .collect()
}

/// A compact graphic on the same line as overlay text and close beside it, left or right (an
/// icon before a URL, a logo after a channel's name): crisp, dense edges standing out from their
/// ring, about the line's height, within [`BESIDE_GAP`] line heights of it. The border band's
/// search misses such a graphic in a lower third, and it does not touch the text: a person still
/// reads the two as one mark. `line` is the text's box in `image`'s pixels.
pub fn graphic_beside(image: &RgbImage, line: PixelBox) -> Option<PixelBox> {
    let (iw, ih) = image.dimensions();
    let lh = line.height.max(4);
    // A crop around the line: the search is local, and cheap on a big photo.
    let (cx0, cy0) = (line.x.saturating_sub(4 * lh), line.y.saturating_sub(2 * lh));
    let (cx1, cy1) = ((line.right() + 4 * lh).min(iw), (line.bottom() + 2 * lh).min(ih));
    if cx1 <= cx0 + 8 || cy1 <= cy0 + 8 {
        return None;
    }
    let crop = imageops::crop_imm(image, cx0, cy0, cx1 - cx0, cy1 - cy0).to_image();
    // Searched with the line at most BESIDE_LINE px high: a big photo's line costs no more.
    let k = (BESIDE_LINE as f32 / lh as f32).min(1.0);
    let at = |v: u32| (v as f32 * k).round() as u32;
    let small;
    let crop = if k < 1.0 {
        small =
            imageops::resize(&crop, at(crop.width()).max(8), at(crop.height()).max(8), FilterType::Triangle);
        &small
    } else {
        &crop
    };
    // The text's own edges are not the graphic's (nor its ring's): left out.
    let text = PixelBox::new(at(line.x - cx0), at(line.y - cy0), at(line.width).max(1), at(lh));
    let lv = Level::leaving_out(crop, text);
    let h = text.height as f32;
    let centre = text.y as f32 + text.height as f32 / 2.0;
    let mut best: Option<(f32, PixelBox)> = None;
    for left in [true, false] {
        for size in [0.8f32, 1.0, 1.3] {
            for gap in [0.2f32, 0.5, 0.9] {
                let s = (size * h).round() as i64;
                let x0 = if left {
                    i64::from(text.x) - (gap * h).round() as i64 - s
                } else {
                    i64::from(text.right()) + (gap * h).round() as i64
                };
                let y0 = (centre - s as f32 / 2.0).round() as i64;
                if x0 < 0 || y0 < 0 || x0 + s > lv.w as i64 || y0 + s > lv.h as i64 {
                    continue;
                }
                let seed = boxed(x0 as usize, y0 as usize, (x0 + s) as usize, (y0 + s) as usize);
                let r = refine(&lv, seed);
                let (inside, ring) = lv.densities(r);
                let n = sum(&lv.edges, r);
                let crisp = if n > 0.0 { sum(&lv.sharp, r) / n } else { 0.0 };
                let mid = r.y as f32 + r.height as f32 / 2.0;
                let gap =
                    if left { text.x as f32 - r.right() as f32 } else { r.x as f32 - text.right() as f32 };
                let fits = (0.5 * h..=2.5 * h).contains(&(r.height as f32))
                    && (0.5 * h..=3.0 * h).contains(&(r.width as f32))
                    && (mid - centre).abs() <= 0.6 * h
                    && (-0.1 * h..=BESIDE_GAP * h).contains(&gap)
                    && inside >= 0.15
                    && inside >= BESIDE_CONTRAST * ring
                    && crisp >= BESIDE_CRISP;
                let j = lv.objective(r);
                if fits && j > 0.0 && best.is_none_or(|(b, _)| j > b) {
                    best = Some((j, r));
                }
            }
        }
    }
    let back = |v: u32| (v as f32 / k).round() as u32;
    best.map(|(_, r)| {
        let (x, y) = ((back(r.x) + cx0).min(iw - 1), (back(r.y) + cy0).min(ih - 1));
        PixelBox::new(x, y, back(r.width).clamp(1, iw - x), back(r.height).clamp(1, ih - y))
    })
}

/// A box's edges `(x0, y0, x1, y1)` in the working image's index type: the search moves each
/// edge on its own.
fn edges(r: PixelBox) -> (usize, usize, usize, usize) {
    (r.x as usize, r.y as usize, r.right() as usize, r.bottom() as usize)
}

/// The box with edges `[x0, x1) × [y0, y1)` in the working image.
fn boxed(x0: usize, y0: usize, x1: usize, y1: usize) -> PixelBox {
    PixelBox::from_edges(x0 as u32, y0 as u32, x1 as u32, y1 as u32)
}

fn area(r: PixelBox) -> f32 {
    r.area() as f32
}

/// The sum of a summed-area table over a rectangle.
fn sum(table: &SummedArea, r: PixelBox) -> f32 {
    let (x0, y0, x1, y1) = edges(r);
    table.sum((x0, y0), (x1, y1)) as f32
}

/// Edge weight and crispness of the working image as integral images.
struct Level {
    w: usize,
    h: usize,
    edges: SummedArea,
    sharp: SummedArea,
}

impl Level {
    fn new(img: &RgbImage) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let (edge, sharp) = edge_maps(img);
        Level { w, h, edges: SummedArea::new(&edge, w, h), sharp: SummedArea::new(&sharp, w, h) }
    }

    /// Like [`Level::new`] with no edges inside `r` (and a pixel around it): a text line's own
    /// edges, when what stands beside it is asked.
    fn leaving_out(img: &RgbImage, r: PixelBox) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let (mut edge, mut sharp) = edge_maps(img);
        let (x0, y0) = ((r.x as usize).saturating_sub(1), (r.y as usize).saturating_sub(1));
        let (x1, y1) = ((r.right() as usize + 1).min(w), (r.bottom() as usize + 1).min(h));
        for y in y0..y1 {
            edge[y * w + x0..y * w + x1].fill(0.0);
            sharp[y * w + x0..y * w + x1].fill(0.0);
        }
        Level { w, h, edges: SummedArea::new(&edge, w, h), sharp: SummedArea::new(&sharp, w, h) }
    }

    /// Edge density inside `r` and in its ring (half the geometric mean of its sides wide, at least
    /// 6 px, clipped to the image).
    fn densities(&self, r: PixelBox) -> (f32, f32) {
        let m = ((area(r).sqrt() / 2.0) as usize).max(6);
        let (x0, y0, x1, y1) = edges(r);
        let outer =
            boxed(x0.saturating_sub(m), y0.saturating_sub(m), (x1 + m).min(self.w), (y1 + m).min(self.h));
        let a_in = area(r);
        let a_ring = area(outer) - a_in;
        let n_in = sum(&self.edges, r);
        let inside = n_in / a_in;
        let ring = if a_ring > 0.0 { ((sum(&self.edges, outer) - n_in) / a_ring).max(0.0) } else { inside };
        (inside, ring)
    }

    /// What the window search and the box fitting maximise.
    fn objective(&self, r: PixelBox) -> f32 {
        let (inside, ring) = self.densities(r);
        if inside < 0.08 || inside < 2.0 * ring {
            return 0.0;
        }
        (inside - 1.5 * ring) * area(r).sqrt().sqrt()
    }

    /// The score of a fitted box in 0..=1.
    fn score(&self, r: PixelBox) -> f32 {
        let (inside, ring) = self.densities(r);
        if inside < 0.08 || inside < 2.0 * ring {
            return 0.0;
        }
        let contrast = inside - 1.5 * ring;
        let n = sum(&self.edges, r);
        let sharp = if n > 0.0 { sum(&self.sharp, r) / n } else { 0.0 };
        let crisp = ((sharp - 1.3) / (1.8 - 1.3)).clamp(0.2, 1.0);
        let size = (area(r).sqrt() / (0.05 * self.w as f32)).min(1.0);
        let (pw, ph) = (r.width as f32, r.height as f32);
        let (fw, fh) = (pw / self.w as f32, ph / self.h as f32);
        let large = (1.0 - (fw - 0.22).max(0.0) * 4.0 - (fh - 0.12).max(0.0) * 4.0).max(0.0);
        let sliver = (pw.min(ph) / (0.02 * self.w as f32)).min(1.0) * (6.0 / (pw / ph).max(ph / pw)).min(1.0);
        let raw = contrast * size * large * sliver * sliver * border_weight(self.w, self.h, r) * crisp;
        (raw / SCORE_SCALE).min(1.0)
    }
}

/// Per pixel of `img`: the edge weight (the colour gradient's soft threshold) and the crispness
/// weighted by it.
fn edge_maps(img: &RgbImage) -> (Vec<f32>, Vec<f32>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let px = |x: usize, y: usize, c: usize| f32::from(raw[(y * w + x) * 3 + c]);
    let mut edge = vec![0.0f32; w * h];
    let mut sharp = vec![0.0f32; w * h];
    for y in 0..h {
        let (ym, yp) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            let (xm, xp) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let (mut g, mut step) = (0.0f32, 0.0f32);
            for c in 0..3 {
                // Past the border the edge pixel repeats.
                let (gx, gy) = sobel(|dx, dy| {
                    let sx = [xm, x, xp][(dx + 1) as usize];
                    let sy = [ym, y, yp][(dy + 1) as usize];
                    px(sx, sy, c)
                });
                g = g.max((gx * gx + gy * gy).sqrt() / 8.0);
                let v = px(x, y, c);
                for (nx, ny) in [(xm, y), (xp, y), (x, ym), (x, yp)] {
                    step = step.max((v - px(nx, ny, c)).abs());
                }
            }
            let e = ((g - EDGE_LO) / (EDGE_HI - EDGE_LO)).clamp(0.0, 1.0);
            edge[y * w + x] = e;
            sharp[y * w + x] = if g > 0.0 { e * step / g } else { 0.0 };
        }
    }
    (edge, sharp)
}

/// 1 within 6 % of the image size from a border, falling to 0 at 12 %; ×1.15 in a corner; ×0.2
/// when the box touches the frame (within 0.8 % or 2 px).
fn border_weight(w: usize, h: usize, r: PixelBox) -> f32 {
    let (x0, y0, x1, y1) = edges(r);
    let gx = x0.min(w - x1) as f32 / w as f32;
    let gy = y0.min(h - y1) as f32 / h as f32;
    let mut wt = ((0.12 - gx.min(gy)) / (0.12 - 0.06)).clamp(0.0, 1.0);
    if gx <= 0.08 && gy <= 0.08 {
        wt *= 1.15;
    }
    let (tx, ty) = ((w / 125).max(2), (h / 125).max(2));
    if x0 <= tx || y0 <= ty || x1 + tx >= w || y1 + ty >= h {
        wt *= 0.2;
    }
    wt
}

/// Sliding windows over the border band, the best 12 after non-maximum suppression.
fn candidates(lv: &Level) -> Vec<PixelBox> {
    let mut cands: Vec<(f32, PixelBox)> = Vec::new();
    for frac in [0.05f32, 0.07, 0.1, 0.14, 0.19, 0.25] {
        for aspect in [1.0f32, 1.8, 3.0] {
            let ww = (lv.w as f32 * frac).round() as usize;
            let wh = (ww as f32 / aspect).round() as usize;
            if ww < 8 || wh < 6 || ww >= lv.w || wh >= lv.h {
                continue;
            }
            let step = (wh.min(ww) / 5).max(2);
            for y in (0..=lv.h - wh).step_by(step) {
                for x in (0..=lv.w - ww).step_by(step) {
                    let r = boxed(x, y, x + ww, y + wh);
                    let border = border_weight(lv.w, lv.h, r);
                    if border > 0.0 {
                        let j = lv.objective(r);
                        if j > 0.0 {
                            cands.push((j * border, r));
                        }
                    }
                }
            }
        }
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut picked: Vec<PixelBox> = Vec::new();
    for (_, r) in cands {
        if picked.len() >= 12 {
            break;
        }
        if !picked.iter().any(|p| p.iou(&r) > 0.25) {
            picked.push(r);
        }
    }
    picked
}

/// Coordinate ascent of the objective over the four sides, with steps from half the box's smaller
/// side down to 1 px (so that gaps between letters are crossed), each side within 3/4 of the box's
/// size of where it started.
fn refine(lv: &Level, start: PixelBox) -> PixelBox {
    let (sw, sh) = (start.width as usize, start.height as usize);
    let (mw, mh) = (sw * 3 / 4 + 2, sh * 3 / 4 + 2);
    let (sx0, sy0, sx1, sy1) = edges(start);
    let bounds = (sx0.saturating_sub(mw), sy0.saturating_sub(mh), (sx1 + mw).min(lv.w), (sy1 + mh).min(lv.h));
    let mut r = start;
    let mut best = lv.objective(r);
    let big = (sw.min(sh) / 2).max(4);
    for step in [big, big / 2, 8, 4, 2, 1] {
        if step > big || step == 0 {
            continue;
        }
        for _ in 0..200 {
            let mut improved = false;
            for side in 0..4 {
                for grow in [false, true] {
                    let Some(c) = moved(r, side, grow, step) else { continue };
                    let (cx0, cy0, cx1, cy1) = edges(c);
                    if cx0 < bounds.0 || cy0 < bounds.1 || cx1 > bounds.2 || cy1 > bounds.3 {
                        continue;
                    }
                    if c.width < 6 || c.height < 4 {
                        continue;
                    }
                    let j = lv.objective(c);
                    if j > best {
                        best = j;
                        r = c;
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    r
}

/// `r` with one side (0 left, 1 top, 2 right, 3 bottom) moved out (`grow`) or in by `step`.
fn moved(r: PixelBox, side: usize, grow: bool, step: usize) -> Option<PixelBox> {
    let (mut x0, mut y0, mut x1, mut y1) = edges(r);
    match (side, grow) {
        (0, true) => x0 = x0.checked_sub(step)?,
        (0, false) => x0 += step,
        (1, true) => y0 = y0.checked_sub(step)?,
        (1, false) => y0 += step,
        (2, true) => x1 += step,
        (2, false) => x1 = x1.checked_sub(step)?,
        (_, true) => y1 += step,
        (_, false) => y1 = y1.checked_sub(step)?,
    }
    (x0 < x1 && y0 < y1).then(|| boxed(x0, y0, x1, y1))
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::noisy_gradient;
    use super::*;
    use image::Rgb;

    fn paste_block_text(img: &mut RgbImage, b: PixelBox) {
        // Vertical white bars with black gaps: a crude "text" block.
        for y in b.y..b.y + b.height {
            for x in b.x..b.x + b.width {
                let on = ((x - b.x) / 3).is_multiple_of(2) || (y - b.y) < 3 || (y - b.y) >= b.height - 3;
                img.put_pixel(x, y, if on { Rgb([255, 255, 255]) } else { Rgb([10, 10, 10]) });
            }
        }
    }

    fn iou(a: PixelBox, b: PixelBox) -> f32 {
        a.iou(&b)
    }

    /// A red disc with a white triangle, `d` px across, at (x, y).
    fn paste_icon(img: &mut RgbImage, x: u32, y: u32, d: u32) {
        let r = d as f32 / 2.0;
        for yy in 0..d {
            for xx in 0..d {
                let (dx, dy) = (xx as f32 + 0.5 - r, yy as f32 + 0.5 - r);
                if dx * dx + dy * dy <= r * r {
                    let play = dx > -r * 0.35 && dx < r * 0.45 && dy.abs() < (r * 0.45 - dx) * 0.6;
                    img.put_pixel(
                        x + xx,
                        y + yy,
                        if play { Rgb([255, 255, 255]) } else { Rgb([220, 50, 40]) },
                    );
                }
            }
        }
    }

    #[test]
    fn an_icon_beside_a_line_of_text_is_found_and_nothing_else_is() {
        // A line of "text" 20 px high in the lower third, a 20 px icon 8 px to its left; the
        // same three times larger (searched on a smaller copy).
        for k in [1, 3] {
            let line = PixelBox::new(160 * k, 300 * k, 200 * k, 20 * k);
            let mut img = noisy_gradient(640 * k, 427 * k);
            paste_block_text(&mut img, line);
            let bare = img.clone();
            paste_icon(&mut img, 132 * k, 300 * k, 20 * k);
            let icon = graphic_beside(&img, line).expect("the icon");
            assert!(iou(icon, PixelBox::new(132 * k, 300 * k, 20 * k, 20 * k)) >= 0.5, "{k}: {icon:?}");
            // Without it, nothing; nor with the icon four line heights away.
            assert_eq!(graphic_beside(&bare, line), None);
            let mut far = bare;
            paste_icon(&mut far, 80 * k, 300 * k, 20 * k);
            assert_eq!(graphic_beside(&far, line), None);
        }
    }

    #[test]
    fn finds_a_corner_block_and_ignores_the_centre() {
        let mut img = noisy_gradient(400, 300);
        let corner = PixelBox { x: 340, y: 12, width: 48, height: 20 };
        paste_block_text(&mut img, corner);
        paste_block_text(&mut img, PixelBox { x: 180, y: 140, width: 48, height: 20 });
        let d = detect_logos(&img);
        assert!(!d.is_empty());
        assert!(iou(d[0].region, corner) >= 0.6, "{d:?}");
        assert!(d[0].score >= LOGO_SCORE_THRESHOLD, "{d:?}");
        assert!(d.iter().all(|l| l.region.x + l.region.width <= 400 && l.region.y + l.region.height <= 300));
        assert!(!d.iter().any(|l| l.region.x < 230 && l.region.x + l.region.width > 180 && l.region.y > 100));
    }

    #[test]
    fn maps_boxes_back_from_the_working_copy() {
        let mut img = noisy_gradient(1280, 720);
        let b = PixelBox { x: 1120, y: 640, width: 120, height: 48 };
        paste_block_text(&mut img, b);
        let d = detect_logos(&img);
        assert!(!d.is_empty());
        assert!(iou(d[0].region, b) >= 0.6, "{d:?}");
    }

    #[test]
    fn flat_and_tiny_images_give_nothing() {
        assert!(detect_logos(&RgbImage::from_pixel(300, 200, Rgb([90, 120, 200]))).is_empty());
        assert!(detect_logos(&RgbImage::new(8, 8)).is_empty());
        assert!(detect_logos(&noisy_gradient(300, 200)).is_empty());
    }

    #[test]
    fn results_are_sorted_and_disjoint() {
        let mut img = noisy_gradient(500, 400);
        paste_block_text(&mut img, PixelBox { x: 10, y: 10, width: 60, height: 24 });
        paste_block_text(&mut img, PixelBox { x: 420, y: 360, width: 60, height: 24 });
        let d = detect_logos(&img);
        assert!(d.len() >= 2 && d.len() <= MAX_DETECTIONS, "{d:?}");
        for w in d.windows(2) {
            assert!(w[0].score >= w[1].score);
        }
        for (i, a) in d.iter().enumerate() {
            for b in &d[i + 1..] {
                assert_eq!(iou(a.region, b.region), 0.0);
            }
        }
    }
}
