//! Un-blending a semi-transparent overlay from its temporal statistics.
//!
//! A static overlay blends every frame the same way: `O = a·I + b`, per pixel, with `a = 1 − α`
//! and `b = α·C` (the overlay's opacity and colour). The picture under it moves, the overlay
//! does not, so over the frames that show it:
//! - the temporal spread of a pixel is `a` times the picture's spread there. `log σ_O` is
//!   `log a` plus `log σ_I`; the picture's spread changes smoothly across the frame while `a`
//!   jumps at the overlay's outline. Keeping only the sharp steps of `log σ_O` and integrating
//!   them from the clean surroundings (where `a = 1`) gives `log a`: the Retinex separation of
//!   reflectance from illumination, with the overlay in reflectance's place.
//! - the mean is `a·μ_I + b`: with `μ_I` filled in from the clean pixels around, `b` follows.
//!
//! Each frame is then `I = (O − b) / a`: the picture under a 50 % logo comes back at its own
//! contrast, where a spatial fill (`delogo`) would invent it. The render does that division in
//! ffmpeg's `blend` filter with the two maps (`gain` = 255·a, `offset` = b) as single-frame
//! inputs.

use std::io::Write;
use std::path::Path;

use crate::imaging::geometry::PixelBox;
use crate::imaging::integral::SummedArea;

/// The steps of `log σ_O` kept as the overlay's outline (smaller ones are the picture's own
/// spread changing across the frame). The outline of a 20 % overlay is a step of 0.22; the
/// noise of a spread from a few hundred frames stays under 0.1.
const OUTLINE_STEP: f32 = 0.15;
/// Pixels whose estimated `a` is at least this are left as they are.
const CLEAN: f32 = 0.95;
/// Below this `a` the picture under the overlay is too faint to bring back (its noise would be
/// multiplied more than 3×): such pixels are opaque.
const MIN_GAIN: f32 = 0.3;
/// An overlay with more of its pixels opaque than this is not un-blended (`delogo` instead).
const MAX_OPAQUE: f32 = 0.2;
/// The median spread (grey levels) of the surroundings below which the picture is too still
/// to show the overlay's opacity.
const MIN_SPREAD: f32 = 6.0;
/// How far (grey levels) an overlay's pixel must move the mean from the picture's around it.
const MEAN_SHIFT: f32 = 6.0;
/// The share of a connected part's pixels that must move the mean for it to be an overlay.
const SHIFTED_SHARE: f32 = 0.25;
/// An overlay fainter than this (median opacity) is not told apart from the picture's own
/// changes of spread; it is left to `delogo`.
const MIN_OPACITY: f32 = 0.12;
/// The largest region measured (pixels): its integral takes ~1,000 conjugate-gradient steps
/// over every pixel (measured: 2–3.5 s for 500,000 pixels on our 2 cores). A 1080p frame is
/// 2.1 million; a logo is far smaller.
const MAX_REGION_PIXELS: usize = 1_500_000;
/// Frames needed for steady spreads.
const MIN_FRAMES: usize = 20;

/// The part of the frame whose statistics are gathered: the box with a margin of clean
/// surroundings, on even coordinates so the 4:2:0 chroma planes line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// The box, relative to the region.
    pub inner: PixelBox,
}

impl Region {
    /// The box `(x, y, w, h)` of a `frame_width`×`frame_height` video with a margin around it:
    /// the box a detector gives can be a few analysis pixels (one is 1/480 of the width) short of
    /// the overlay's outline.
    pub fn around(pixels: PixelBox, frame_width: u32, frame_height: u32) -> Self {
        let (x, y, w, h) = pixels.xywh();
        let margin = 6 + 2 * frame_width.div_ceil(480);
        let x0 = x.saturating_sub(margin) & !1;
        let y0 = y.saturating_sub(margin) & !1;
        let x1 = ((x + w + margin).min(frame_width) & !1).max(x0 + 2);
        let y1 = ((y + h + margin).min(frame_height) & !1).max(y0 + 2);
        Self { x: x0, y: y0, width: x1 - x0, height: y1 - y0, inner: PixelBox::new(x - x0, y - y0, w, h) }
    }

    /// Bytes of one 4:2:0 frame of the region.
    pub fn frame_bytes(&self) -> usize {
        let luma = (self.width * self.height) as usize;
        luma + luma / 2
    }

    fn luma(&self) -> usize {
        (self.width * self.height) as usize
    }

    fn chroma(&self) -> (usize, usize) {
        (self.width as usize / 2, self.height as usize / 2)
    }
}

/// Per-pixel sums over the frames that show the overlay.
pub struct RegionStats {
    pub region: Region,
    frames: usize,
    sum: Vec<f64>,
    squares: Vec<f64>,
    /// Both chroma planes, one after the other.
    chroma: Vec<f64>,
}

impl RegionStats {
    pub fn new(region: Region) -> Self {
        let luma = region.luma();
        Self {
            region,
            frames: 0,
            sum: vec![0.0; luma],
            squares: vec![0.0; luma],
            chroma: vec![0.0; luma / 2],
        }
    }

    /// Adds one 4:2:0 frame of the region (luma plane, then the two chroma planes).
    pub fn push(&mut self, yuv: &[u8]) {
        let luma = self.region.luma();
        if yuv.len() < self.region.frame_bytes() {
            return;
        }
        for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.squares).zip(&yuv[..luma]) {
            let v = f64::from(v);
            *s += v;
            *q += v * v;
        }
        for (s, &v) in self.chroma.iter_mut().zip(&yuv[luma..]) {
            *s += f64::from(v);
        }
        self.frames += 1;
    }
}

/// The two maps the render divides by: 4:2:0 planes of the region, `gain` = 255·a and
/// `offset` = b, and what was measured.
#[derive(Debug, Clone)]
pub struct Unblend {
    pub region: Region,
    pub gain: Vec<u8>,
    pub offset: Vec<u8>,
    /// The overlay's median opacity (α = 1 − a) over its pixels.
    pub opacity: f32,
    /// How many pixels of the region it covers.
    pub pixels: usize,
}

/// Why an overlay is not un-blended (it is filled by `delogo` instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotBlended {
    TooFewFrames,
    StillPicture,
    NoOverlaySeen,
    Opaque,
    TooLarge,
}

impl NotBlended {
    pub fn reason(self) -> &'static str {
        match self {
            NotBlended::TooFewFrames => "too few frames show it to measure its opacity",
            NotBlended::StillPicture => "the picture under it is too still to measure its opacity",
            NotBlended::NoOverlaySeen => "its statistics show no semi-transparent overlay",
            NotBlended::Opaque => "it is opaque: nothing of the picture shows through",
            NotBlended::TooLarge => "it is too large to measure its opacity",
        }
    }
}

/// Whether a region is small enough to measure (see [`MAX_REGION_PIXELS`]).
pub fn measurable(region: &Region) -> bool {
    region.luma() <= MAX_REGION_PIXELS
}

/// A pixel whose value spreads less than this (grey levels over the frames) holds still: an
/// opaque overlay's pixels spread by the encoder's noise only (~1).
const STILL_PIXEL: f32 = 2.0;

/// The box of an opaque overlay, grown over the pixels next to it that hold still while the
/// picture around them moves: the rest of a plate whose outline the grey analysis frames missed
/// (a blue plate on a grey facade has almost no edge in grey, and its box came out 7 rows short).
/// A side grows only where the still pixels end inside the region, with moving pixels beyond:
/// still pixels reaching the region's edge are a still part of the picture, not the plate. In
/// the region's pixels; `None` when the picture is too still to tell or nothing grows.
pub fn opaque_extent(stats: &RegionStats) -> Option<PixelBox> {
    let region = stats.region;
    if stats.frames < MIN_FRAMES {
        return None;
    }
    let (w, h) = (region.width as usize, region.height as usize);
    let spread = spreads(stats);
    let border = border_mask(w, h);
    let mut around: Vec<f32> = spread.iter().zip(&border).filter(|(_, b)| **b).map(|(s, _)| *s).collect();
    if median(&mut around) < MIN_SPREAD {
        return None;
    }
    let still: Vec<bool> = spread.iter().map(|s| *s < STILL_PIXEL).collect();
    let (ix, iy, iw, ih) = region.inner.xywh();
    let (ix, iy, ix1, iy1) = (ix as usize, iy as usize, (ix + iw) as usize, (iy + ih) as usize);
    let in_box = |i: &usize| (ix..ix1).contains(&(i % w)) && (iy..iy1).contains(&(i / w));
    // The still parts that reach into the box, with the box.
    let (mut x0, mut y0, mut x1, mut y1) = (ix, iy, ix1, iy1);
    for part in parts(&still, w, h).into_iter().filter(|part| part.iter().any(in_box)) {
        for i in part {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
    }
    // A side that reached the region's edge keeps the box's.
    let x0 = if x0 == 0 { ix } else { x0 };
    let y0 = if y0 == 0 { iy } else { y0 };
    let x1 = if x1 == w { ix1 } else { x1 };
    let y1 = if y1 == h { iy1 } else { y1 };
    let grown = PixelBox::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32);
    (grown != region.inner).then_some(grown)
}

/// Each pixel's spread (standard deviation of its luma over the frames).
fn spreads(stats: &RegionStats) -> Vec<f32> {
    let n = stats.frames.max(1) as f64;
    stats
        .sum
        .iter()
        .zip(&stats.squares)
        .map(|(s, q)| ((q / n - (s / n).powi(2)).max(0.0).sqrt()) as f32)
        .collect()
}

/// The un-blending maps of the overlay in `stats`, or why there are none.
pub fn estimate(stats: &RegionStats) -> Result<Unblend, NotBlended> {
    let region = stats.region;
    if !measurable(&region) {
        return Err(NotBlended::TooLarge);
    }
    if stats.frames < MIN_FRAMES {
        return Err(NotBlended::TooFewFrames);
    }
    let (w, h) = (region.width as usize, region.height as usize);
    let n = stats.frames as f64;
    let mean: Vec<f32> = stats.sum.iter().map(|s| (s / n) as f32).collect();
    let spread = spreads(stats);
    let border = border_mask(w, h);
    let mut around: Vec<f32> = spread.iter().zip(&border).filter(|(_, b)| **b).map(|(s, _)| *s).collect();
    if median(&mut around) < MIN_SPREAD {
        return Err(NotBlended::StillPicture);
    }
    let log_spread: Vec<f32> = spread.iter().map(|s| s.max(0.5).ln()).collect();
    let steps: Vec<f32> =
        outline_integral(&log_spread, &border, w, h).iter().map(|g| g.exp().min(1.0)).collect();
    // A step in the spread alone is also where a still part of the scene meets a moving one.
    // An overlay shifts the mean as well (by α·(C − μ_I)), if not in every part (a red bar
    // over a red-brown picture does not): a connected part whose mean is mostly the picture's
    // own is left alone.
    let clean: Vec<f32> = steps.iter().map(|v| if *v >= CLEAN { 1.0 } else { 0.0 }).collect();
    let around_mean = fill_in(&mean, &clean, w, h);
    let shifted: Vec<bool> = (0..w * h).map(|i| (mean[i] - around_mean[i]).abs() >= MEAN_SHIFT).collect();
    let mut a = steps;
    for part in parts(&a.iter().map(|v| *v < CLEAN).collect::<Vec<_>>(), w, h) {
        let moved = part.iter().filter(|i| shifted[**i]).count();
        if (moved as f32) < SHIFTED_SHARE * part.len() as f32 {
            part.into_iter().for_each(|i| a[i] = 1.0);
        }
    }
    let (ix, iy, iw, ih) = region.inner.xywh();
    let in_box = |i: usize| {
        let (x, y) = ((i % w) as u32, (i / w) as u32);
        x >= ix && x < ix + iw && y >= iy && y < iy + ih
    };
    let mut overlay: Vec<f32> = (0..w * h).filter(|&i| in_box(i) && a[i] < CLEAN).map(|i| a[i]).collect();
    let box_pixels = (iw * ih) as usize;
    if overlay.len() < (box_pixels / 100).max(4) {
        return Err(NotBlended::NoOverlaySeen);
    }
    let opaque = overlay.iter().filter(|v| **v < MIN_GAIN).count();
    if opaque as f32 > MAX_OPAQUE * overlay.len() as f32 {
        return Err(NotBlended::Opaque);
    }
    let pixels = overlay.len();
    let opacity = 1.0 - median(&mut overlay);
    if opacity < MIN_OPACITY {
        return Err(NotBlended::NoOverlaySeen);
    }

    // The picture's mean under the overlay, from the clean pixels around and between its parts.
    let clean: Vec<f32> = a.iter().map(|v| if *v >= CLEAN { 1.0 } else { 0.0 }).collect();
    let picture_mean = fill_in(&mean, &clean, w, h);
    let mut gain = Vec::with_capacity(stats.region.frame_bytes());
    let mut offset = Vec::with_capacity(stats.region.frame_bytes());
    for i in 0..w * h {
        let (g, o) = if a[i] >= CLEAN { (1.0, 0.0) } else { (a[i], mean[i] - a[i] * picture_mean[i]) };
        gain.push(gain_byte(g));
        offset.push(o.round().clamp(0.0, 255.0) as u8);
    }
    // Chroma: the same a (the mean of the 2×2 luma pixels), its own offsets.
    let (cw, ch) = region.chroma();
    let ca: Vec<f32> = (0..cw * ch)
        .map(|i| {
            let (x, y) = (2 * (i % cw), 2 * (i / cw));
            (a[y * w + x] + a[y * w + x + 1] + a[(y + 1) * w + x] + a[(y + 1) * w + x + 1]) / 4.0
        })
        .collect();
    let chroma_clean: Vec<f32> = ca.iter().map(|v| if *v >= CLEAN { 1.0 } else { 0.0 }).collect();
    for plane in stats.chroma.chunks(cw * ch) {
        let plane_mean: Vec<f32> = plane.iter().map(|s| (s / n) as f32).collect();
        let under = fill_in(&plane_mean, &chroma_clean, cw, ch);
        for i in 0..cw * ch {
            let (g, o) = if ca[i] >= CLEAN { (1.0, 0.0) } else { (ca[i], plane_mean[i] - ca[i] * under[i]) };
            gain.push(gain_byte(g));
            offset.push(o.round().clamp(0.0, 255.0) as u8);
        }
    }
    Ok(Unblend { region, gain, offset, opacity, pixels })
}

fn gain_byte(a: f32) -> u8 {
    (255.0 * a.max(MIN_GAIN)).round().clamp(1.0, 255.0) as u8
}

/// The region's outer two rows and columns: the surroundings where the overlay is assumed
/// absent (`a = 1`).
fn border_mask(w: usize, h: usize) -> Vec<bool> {
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            x < 2 || y < 2 || x + 2 >= w || y + 2 >= h
        })
        .collect()
}

/// `log a`: the sharp steps of `log_spread` between neighbours (the overlay's outline), the
/// smooth ones dropped, integrated in the least-squares sense with `log a = 0` on `fixed`.
/// Solved by conjugate gradients on the grid's Laplacian (matrix-free).
fn outline_integral(log_spread: &[f32], fixed: &[bool], w: usize, h: usize) -> Vec<f32> {
    let step = |p: usize, q: usize| {
        let d = log_spread[p] - log_spread[q];
        if d.abs() > OUTLINE_STEP { d } else { 0.0 }
    };
    // Right-hand side: the divergence of the kept steps.
    let mut rhs = vec![0f64; w * h];
    for y in 0..h {
        for x in 0..w {
            let p = y * w + x;
            if x + 1 < w {
                let d = f64::from(step(p + 1, p));
                rhs[p + 1] += d;
                rhs[p] -= d;
            }
            if y + 1 < h {
                let d = f64::from(step(p + w, p));
                rhs[p + w] += d;
                rhs[p] -= d;
            }
        }
    }
    let laplacian = |g: &[f64], out: &mut [f64]| {
        for y in 0..h {
            for x in 0..w {
                let p = y * w + x;
                if fixed[p] {
                    out[p] = 0.0;
                    continue;
                }
                let mut v = 0.0;
                for (q, ok) in [
                    (p.wrapping_sub(1), x > 0),
                    (p + 1, x + 1 < w),
                    (p.wrapping_sub(w), y > 0),
                    (p + w, y + 1 < h),
                ] {
                    if ok {
                        v += g[p] - g[q];
                    }
                }
                out[p] = v;
            }
        }
    };
    let mut g = vec![0f64; w * h];
    let mut r: Vec<f64> = rhs.iter().zip(fixed).map(|(b, f)| if *f { 0.0 } else { *b }).collect();
    let mut d = r.clone();
    let mut q = vec![0f64; w * h];
    let mut rr: f64 = r.iter().map(|v| v * v).sum();
    let target = rr * 1e-10;
    for _ in 0..4 * (w + h) {
        if rr <= target || rr == 0.0 {
            break;
        }
        laplacian(&d, &mut q);
        let dq: f64 = d.iter().zip(&q).map(|(a, b)| a * b).sum();
        if dq <= 0.0 {
            break;
        }
        let alpha = rr / dq;
        for i in 0..w * h {
            g[i] += alpha * d[i];
            r[i] -= alpha * q[i];
        }
        let next: f64 = r.iter().map(|v| v * v).sum();
        let beta = next / rr;
        rr = next;
        for i in 0..w * h {
            d[i] = r[i] + beta * d[i];
        }
    }
    g.iter().map(|v| *v as f32).collect()
}

/// `values` where `weight` is 1 kept; elsewhere the weighted mean of the nearest known values:
/// normalised box filters, from 3 px up to the region's size, the smallest that sees enough.
fn fill_in(values: &[f32], weight: &[f32], w: usize, h: usize) -> Vec<f32> {
    let weighted: Vec<f32> = values.iter().zip(weight).map(|(v, k)| v * k).collect();
    let (num, den) = (SummedArea::new(&weighted, w, h), SummedArea::new(weight, w, h));
    (0..w * h)
        .map(|i| {
            if weight[i] >= 1.0 {
                return values[i];
            }
            let (x, y) = (i % w, i / w);
            let mut r = 1;
            loop {
                let lo = (x.saturating_sub(r), y.saturating_sub(r));
                let hi = ((x + r + 1).min(w), (y + r + 1).min(h));
                let k = den.sum(lo, hi);
                let area = ((hi.0 - lo.0) * (hi.1 - lo.1)) as f64;
                if k >= 0.2 * area || r > w.max(h) {
                    return if k > 0.0 { (num.sum(lo, hi) / k) as f32 } else { values[i] };
                }
                r = 2 * r + 1;
            }
        })
        .collect()
}

/// The 4-connected parts of `mask`, each as its pixels' indices.
fn parts(mask: &[bool], w: usize, h: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for start in 0..w * h {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let (mut part, mut next) = (Vec::new(), vec![start]);
        while let Some(p) = next.pop() {
            part.push(p);
            let (x, y) = (p % w, p / w);
            for (q, ok) in [
                (p.wrapping_sub(1), x > 0),
                (p + 1, x + 1 < w),
                (p.wrapping_sub(w), y > 0),
                (p + w, y + 1 < h),
            ] {
                if ok && mask[q] && !seen[q] {
                    seen[q] = true;
                    next.push(q);
                }
            }
        }
        out.push(part);
    }
    out
}

fn median(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mid = values.len() / 2;
    values.select_nth_unstable_by(mid, f32::total_cmp);
    values[mid]
}

/// Writes `planes` (a 4:2:0 frame of `width`×`height`) as a one-frame YUV4MPEG2 file: ffmpeg
/// reads it with its size and format, no options needed.
pub fn write_y4m(path: &Path, width: u32, height: u32, planes: &[u8]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(file, "YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\nFRAME\n")?;
    file.write_all(planes)?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (xorshift).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % 10_000) as f32 / 10_000.0
        }
    }

    #[test]
    fn an_opaque_box_grows_over_the_rest_of_its_plate_but_not_into_a_still_picture() {
        // The box found covers rows 14..20 of a plate that spans rows 14..24 (cols 20..40);
        // left of the plate, a still part of the picture runs to the region's edge.
        let region = Region { x: 0, y: 0, width: 64, height: 40, inner: PixelBox::new(20, 14, 20, 6) };
        let mut stats = RegionStats::new(region);
        let mut noise = Noise(3);
        for _ in 0..60 {
            let mut yuv: Vec<u8> = (0..64 * 40)
                .map(|i| {
                    let (x, y) = (i % 64, i / 64);
                    match ((14..24).contains(&y), x) {
                        (true, 20..40) => 90,
                        (true, 0..20) => 200,
                        _ => (60.0 + 140.0 * noise.next()) as u8,
                    }
                })
                .collect();
            yuv.extend(std::iter::repeat_n(128u8, 64 * 40 / 2));
            stats.push(&yuv);
        }
        assert_eq!(opaque_extent(&stats), Some(PixelBox::new(20, 14, 20, 10)));
        // The same still plate with nothing moving around it: nothing to tell it from.
        let mut still = RegionStats::new(region);
        for _ in 0..60 {
            still.push(&vec![90u8; 64 * 40 * 3 / 2]);
        }
        assert_eq!(opaque_extent(&still), None);
    }

    /// Frames of a moving picture (a smooth pattern shifted each frame, its contrast varying
    /// across the region) with an overlay of `opacity` and colour 235 on a 20×10 block at
    /// (20, 14) of a 64×40 region; `None` draws no overlay.
    fn stats(opacity: Option<f32>, still: bool) -> (RegionStats, Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let region = Region { x: 0, y: 0, width: 64, height: 40, inner: PixelBox::new(16, 10, 28, 18) };
        let mut stats = RegionStats::new(region);
        let mut noise = Noise(7);
        let (mut marked, mut clean) = (Vec::new(), Vec::new());
        for t in 0..120 {
            let shift = if still { 0.0 } else { t as f32 * 3.7 };
            let mut frame = Vec::new();
            for y in 0..40 {
                for x in 0..64 {
                    let contrast = 30.0 + 0.5 * x as f32;
                    let v = 120.0
                        + contrast
                            * ((x as f32 + shift) * 0.21).sin()
                            * ((y as f32 * 0.17) + shift * 0.05).cos()
                        + 3.0 * (noise.next() - 0.5);
                    frame.push(v.clamp(0.0, 255.0));
                }
            }
            let mut yuv: Vec<u8> = frame.iter().map(|v| v.round() as u8).collect();
            clean.push(yuv.clone());
            if let Some(alpha) = opacity {
                for y in 14..24 {
                    for x in 20..40 {
                        yuv[y * 64 + x] = ((1.0 - alpha) * frame[y * 64 + x] + alpha * 235.0).round() as u8;
                    }
                }
            }
            yuv.extend(std::iter::repeat_n(128u8, 64 * 40 / 2));
            stats.push(&yuv);
            marked.push(yuv);
        }
        (stats, marked, clean)
    }

    fn unblended(maps: &Unblend, frame: &[u8]) -> Vec<u8> {
        frame[..64 * 40]
            .iter()
            .zip(&maps.gain)
            .zip(&maps.offset)
            .map(|((o, g), b)| {
                let lifted = f32::from(o.saturating_sub(*b));
                (lifted * 255.0 / f32::from(*g)).round().min(255.0) as u8
            })
            .collect()
    }

    fn error_in_block(a: &[u8], b: &[u8]) -> f32 {
        let mut sum = 0.0;
        for y in 14..24 {
            for x in 20..40 {
                sum += f32::from(a[y * 64 + x].abs_diff(b[y * 64 + x]));
            }
        }
        sum / 200.0
    }

    #[test]
    fn a_half_transparent_overlay_is_measured_and_un_blended() {
        let (stats, marked, clean) = stats(Some(0.5), false);
        let maps = estimate(&stats).unwrap();
        assert!((maps.opacity - 0.5).abs() < 0.08, "opacity {}", maps.opacity);
        assert!((150..=260).contains(&maps.pixels), "{} pixels", maps.pixels);
        for t in [10, 60, 110] {
            let before = error_in_block(&marked[t], &clean[t]);
            let after = error_in_block(&unblended(&maps, &marked[t]), &clean[t]);
            assert!(after < before / 5.0 && after < 6.0, "frame {t}: {before} -> {after}");
        }
        // Outside the overlay the frame is left exactly as it was.
        assert!(
            maps.gain[..64 * 10].iter().all(|g| *g == 255) && maps.offset[..64 * 10].iter().all(|o| *o == 0)
        );
    }

    #[test]
    fn opaque_still_and_absent_overlays_are_not_un_blended() {
        assert_eq!(estimate(&stats(Some(1.0), false).0).unwrap_err(), NotBlended::Opaque);
        assert_eq!(estimate(&stats(Some(0.5), true).0).unwrap_err(), NotBlended::StillPicture);
        assert_eq!(estimate(&stats(None, false).0).unwrap_err(), NotBlended::NoOverlaySeen);
    }

    #[test]
    fn where_a_still_part_of_the_scene_meets_a_moving_one_it_is_not_un_blended() {
        // No overlay: a wall (still, its own texture) beside moving footage, the edge inside the
        // box. The spread steps there as an overlay's outline would; the mean does not.
        let region = Region { x: 0, y: 0, width: 64, height: 40, inner: PixelBox::new(16, 10, 28, 18) };
        let mut stats = RegionStats::new(region);
        let mut noise = Noise(11);
        for t in 0..120 {
            let mut yuv: Vec<u8> = (0..64 * 40)
                .map(|i| {
                    let (x, y) = ((i % 64) as f32, (i / 64) as f32);
                    let v = if x < 30.0 {
                        100.0 + 20.0 * (x * 0.3).sin() * (y * 0.2).cos() + 2.0 * (noise.next() - 0.5)
                    } else {
                        110.0 + 50.0 * ((x + t as f32 * 3.7) * 0.21).sin() * (y * 0.17).cos()
                    };
                    v.round().clamp(0.0, 255.0) as u8
                })
                .collect();
            yuv.extend(std::iter::repeat_n(128u8, 64 * 40 / 2));
            stats.push(&yuv);
        }
        // Not un-blended (the wall, still and textured, is as opaque as a logo would be: the
        // fill decides, as before un-blending existed).
        assert!(estimate(&stats).is_err());
    }

    #[test]
    fn a_region_too_large_to_measure_quickly_is_refused_before_any_work() {
        let region =
            Region { x: 0, y: 0, width: 1600, height: 1000, inner: PixelBox::new(100, 100, 1400, 800) };
        assert_eq!(estimate(&RegionStats::new(region)).unwrap_err(), NotBlended::TooLarge);
    }

    #[test]
    fn regions_are_even_and_inside_the_frame() {
        let r = Region::around(PixelBox::new(552, 12, 72, 28), 640, 272);
        assert_eq!((r.x % 2, r.y % 2, r.width % 2, r.height % 2), (0, 0, 0, 0));
        assert!(r.x + r.width <= 640 && r.y + r.height <= 272);
        assert_eq!((r.x + r.inner.x, r.y + r.inner.y), (552, 12));
        let corner = Region::around(PixelBox::new(1, 1, 40, 20), 640, 272);
        assert_eq!((corner.x, corner.y), (0, 0));
    }
}
