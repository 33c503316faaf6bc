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
            imageops::thumbnail(image, WORK_WIDTH, nh)
        } else {
            imageops::resize(image, WORK_WIDTH, nh, FilterType::Triangle)
        };
        &small
    } else {
        image
    };
    let lv = Level::new(work);
    let mut found: Vec<(f32, Rect)> = Vec::new();
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
    let mut out: Vec<(f32, Rect)> = Vec::new();
    for (score, r) in found {
        if out.len() < MAX_DETECTIONS && !out.iter().any(|(_, p)| p.overlaps(&r)) {
            out.push((score, r));
        }
    }
    let (sx, sy) = (iw as f64 / lv.w as f64, ih as f64 / lv.h as f64);
    out.into_iter()
        .map(|(score, r)| {
            let x = ((r.x0 as f64 * sx).floor() as u32).min(iw - 1);
            let y = ((r.y0 as f64 * sy).floor() as u32).min(ih - 1);
            let x1 = ((r.x1 as f64 * sx).ceil() as u32).clamp(x + 1, iw);
            let y1 = ((r.y1 as f64 * sy).ceil() as u32).clamp(y + 1, ih);
            DetectedLogo { region: PixelBox { x, y, width: x1 - x, height: y1 - y }, score }
        })
        .collect()
}

/// A box `[x0, x1) × [y0, y1)` in the working image.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rect {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Rect {
    fn width(&self) -> usize {
        self.x1 - self.x0
    }
    fn height(&self) -> usize {
        self.y1 - self.y0
    }
    fn area(&self) -> f32 {
        (self.width() * self.height()) as f32
    }
    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    fn iou(&self, o: &Rect) -> f32 {
        let iw = self.x1.min(o.x1).saturating_sub(self.x0.max(o.x0));
        let ih = self.y1.min(o.y1).saturating_sub(self.y0.max(o.y0));
        let inter = (iw * ih) as f32;
        inter / (self.area() + o.area() - inter)
    }
}

/// The sum of a summed-area table over a rectangle.
fn sum(table: &SummedArea, r: Rect) -> f32 {
    table.sum((r.x0, r.y0), (r.x1, r.y1)) as f32
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
        Level { w, h, edges: SummedArea::new(&edge, w, h), sharp: SummedArea::new(&sharp, w, h) }
    }

    /// Edge density inside `r` and in its ring (half the geometric mean of its sides wide, at least
    /// 6 px, clipped to the image).
    fn densities(&self, r: Rect) -> (f32, f32) {
        let m = ((r.area().sqrt() / 2.0) as usize).max(6);
        let outer = Rect {
            x0: r.x0.saturating_sub(m),
            y0: r.y0.saturating_sub(m),
            x1: (r.x1 + m).min(self.w),
            y1: (r.y1 + m).min(self.h),
        };
        let a_in = r.area();
        let a_ring = outer.area() - a_in;
        let n_in = sum(&self.edges, r);
        let inside = n_in / a_in;
        let ring = if a_ring > 0.0 { ((sum(&self.edges, outer) - n_in) / a_ring).max(0.0) } else { inside };
        (inside, ring)
    }

    /// What the window search and the box fitting maximise.
    fn objective(&self, r: Rect) -> f32 {
        let (inside, ring) = self.densities(r);
        if inside < 0.08 || inside < 2.0 * ring {
            return 0.0;
        }
        (inside - 1.5 * ring) * r.area().sqrt().sqrt()
    }

    /// The score of a fitted box in 0..=1.
    fn score(&self, r: Rect) -> f32 {
        let (inside, ring) = self.densities(r);
        if inside < 0.08 || inside < 2.0 * ring {
            return 0.0;
        }
        let contrast = inside - 1.5 * ring;
        let n = sum(&self.edges, r);
        let sharp = if n > 0.0 { sum(&self.sharp, r) / n } else { 0.0 };
        let crisp = ((sharp - 1.3) / (1.8 - 1.3)).clamp(0.2, 1.0);
        let size = (r.area().sqrt() / (0.05 * self.w as f32)).min(1.0);
        let (pw, ph) = (r.width() as f32, r.height() as f32);
        let (fw, fh) = (pw / self.w as f32, ph / self.h as f32);
        let large = (1.0 - (fw - 0.22).max(0.0) * 4.0 - (fh - 0.12).max(0.0) * 4.0).max(0.0);
        let sliver = (pw.min(ph) / (0.02 * self.w as f32)).min(1.0) * (6.0 / (pw / ph).max(ph / pw)).min(1.0);
        let raw = contrast * size * large * sliver * sliver * border_weight(self.w, self.h, r) * crisp;
        (raw / SCORE_SCALE).min(1.0)
    }
}

/// 1 within 6 % of the image size from a border, falling to 0 at 12 %; ×1.15 in a corner; ×0.2
/// when the box touches the frame (within 0.8 % or 2 px).
fn border_weight(w: usize, h: usize, r: Rect) -> f32 {
    let gx = r.x0.min(w - r.x1) as f32 / w as f32;
    let gy = r.y0.min(h - r.y1) as f32 / h as f32;
    let mut wt = ((0.12 - gx.min(gy)) / (0.12 - 0.06)).clamp(0.0, 1.0);
    if gx <= 0.08 && gy <= 0.08 {
        wt *= 1.15;
    }
    let (tx, ty) = ((w / 125).max(2), (h / 125).max(2));
    if r.x0 <= tx || r.y0 <= ty || r.x1 + tx >= w || r.y1 + ty >= h {
        wt *= 0.2;
    }
    wt
}

/// Sliding windows over the border band, the best 12 after non-maximum suppression.
fn candidates(lv: &Level) -> Vec<Rect> {
    let mut cands: Vec<(f32, Rect)> = Vec::new();
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
                    let r = Rect { x0: x, y0: y, x1: x + ww, y1: y + wh };
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
    let mut picked: Vec<Rect> = Vec::new();
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
fn refine(lv: &Level, start: Rect) -> Rect {
    let (mw, mh) = (start.width() * 3 / 4 + 2, start.height() * 3 / 4 + 2);
    let bounds = Rect {
        x0: start.x0.saturating_sub(mw),
        y0: start.y0.saturating_sub(mh),
        x1: (start.x1 + mw).min(lv.w),
        y1: (start.y1 + mh).min(lv.h),
    };
    let mut r = start;
    let mut best = lv.objective(r);
    let big = (start.width().min(start.height()) / 2).max(4);
    for step in [big, big / 2, 8, 4, 2, 1] {
        if step > big || step == 0 {
            continue;
        }
        for _ in 0..200 {
            let mut improved = false;
            for side in 0..4 {
                for grow in [false, true] {
                    let Some(c) = moved(r, side, grow, step) else { continue };
                    if c.x0 < bounds.x0 || c.y0 < bounds.y0 || c.x1 > bounds.x1 || c.y1 > bounds.y1 {
                        continue;
                    }
                    if c.width() < 6 || c.height() < 4 {
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
fn moved(r: Rect, side: usize, grow: bool, step: usize) -> Option<Rect> {
    let mut c = r;
    match (side, grow) {
        (0, true) => c.x0 = r.x0.checked_sub(step)?,
        (0, false) => c.x0 = r.x0 + step,
        (1, true) => c.y0 = r.y0.checked_sub(step)?,
        (1, false) => c.y0 = r.y0 + step,
        (2, true) => c.x1 = r.x1 + step,
        (2, false) => c.x1 = r.x1.checked_sub(step)?,
        (_, true) => c.y1 = r.y1 + step,
        (_, false) => c.y1 = r.y1.checked_sub(step)?,
    }
    (c.x0 < c.x1 && c.y0 < c.y1).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn noise_image(w: u32, h: u32) -> RgbImage {
        // A smooth gradient with mild deterministic noise.
        let mut state = 12345u32;
        RgbImage::from_fn(w, h, |x, y| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let n = ((state >> 16) % 9) as i32 - 4;
            let v = |base: i32| (base + n).clamp(0, 255) as u8;
            Rgb([v((x * 120 / w) as i32 + 60), v((y * 100 / h) as i32 + 70), v(110)])
        })
    }

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
        let ra = Rect {
            x0: a.x as usize,
            y0: a.y as usize,
            x1: (a.x + a.width) as usize,
            y1: (a.y + a.height) as usize,
        };
        let rb = Rect {
            x0: b.x as usize,
            y0: b.y as usize,
            x1: (b.x + b.width) as usize,
            y1: (b.y + b.height) as usize,
        };
        ra.iou(&rb)
    }

    #[test]
    fn finds_a_corner_block_and_ignores_the_centre() {
        let mut img = noise_image(400, 300);
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
        let mut img = noise_image(1280, 720);
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
        assert!(detect_logos(&noise_image(300, 200)).is_empty());
    }

    #[test]
    fn results_are_sorted_and_disjoint() {
        let mut img = noise_image(500, 400);
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
