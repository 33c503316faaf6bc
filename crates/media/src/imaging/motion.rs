//! The camera's motion between two grey frames of a video: a zoom about the picture's centre and
//! a pan, fitted to the displacements of textured blocks. Blocks are matched coarse to fine (a
//! 4× smaller copy first, then the full size, to a fraction of a pixel), and the fit drops the
//! blocks that disagree with it: a moving subject, a logo that stays put, a block that matched by
//! chance. Over a cut, or on a picture without texture, too few blocks agree and there is no
//! estimate.

/// Block side (pixels of the full-size frame) and the grid's step.
const BLOCK: usize = 16;
const STEP: usize = 32;
/// The farthest a block is searched, as a fraction of the frame's width (a fast pan between two
/// frames 0.2 s apart).
const REACH: f32 = 0.05;
/// A block whose pixels vary less than this (mean absolute deviation, grey levels) has nothing
/// to match on.
const TEXTURE: f32 = 4.0;
/// Blocks further than this (pixels) from the fitted motion are dropped and the fit redone.
const INLIER: f32 = 1.0;
/// An estimate needs this many blocks that agree, and this share of the textured ones (a pan
/// over wood grain: 45–55 % of the blocks within a pixel, the others slid along the grain;
/// across a cut, a few by chance).
const MIN_BLOCKS: usize = 8;
const MIN_SHARE: f32 = 0.3;

/// Where a point of one frame is in the next: `x' = cx + scale·(x − cx) + dx`, likewise y, with
/// (cx, cy) the frame's centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraMotion {
    pub scale: f32,
    pub dx: f32,
    pub dy: f32,
}

impl CameraMotion {
    /// No motion.
    pub const STILL: CameraMotion = CameraMotion { scale: 1.0, dx: 0.0, dy: 0.0 };

    /// This motion followed by `next`.
    pub fn then(&self, next: &CameraMotion) -> CameraMotion {
        CameraMotion {
            scale: self.scale * next.scale,
            dx: next.scale * self.dx + next.dx,
            dy: next.scale * self.dy + next.dy,
        }
    }

    /// How far the point (x, y) of a `w`×`h` frame moves.
    pub fn displacement(&self, (x, y): (f32, f32), (w, h): (usize, usize)) -> (f32, f32) {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        ((self.scale - 1.0) * (x - cx) + self.dx, (self.scale - 1.0) * (y - cy) + self.dy)
    }
}

/// A block's centre in the first frame, and how far it moved to the second.
type BlockShift = ((f32, f32), (f32, f32));

/// A grey frame, row-major.
#[derive(Clone, Copy)]
pub struct Grey<'a> {
    pub pixels: &'a [u8],
    pub width: usize,
    pub height: usize,
}

impl Grey<'_> {
    fn at(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }

    /// The value at a fractional position (bilinear), clamped to the frame.
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.width - 1) as f32);
        let y = y.clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let v = |x, y| f32::from(self.at(x, y));
        let top = v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx;
        let bottom = v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// A copy 4× smaller each way (means of 4×4 pixels).
fn quarter(frame: Grey<'_>) -> Vec<u8> {
    let (w, h) = (frame.width / 4, frame.height / 4);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let sum: u32 = (0..16).map(|k| u32::from(frame.at(4 * x + k % 4, 4 * y + k / 4))).sum();
            out.push((sum / 16) as u8);
        }
    }
    out
}

/// `pixels`, a [`quarter`] of `frame`, as a frame.
fn shrunk<'a>(pixels: &'a [u8], frame: Grey<'_>) -> Grey<'a> {
    Grey { pixels, width: frame.width / 4, height: frame.height / 4 }
}

/// Sum of absolute differences of the `side`-pixel block at (x, y) of `a` and the one at
/// (x + dx, y + dy) of `b`; `None` when that one is not inside `b`.
fn sad(
    a: Grey<'_>,
    b: Grey<'_>,
    (x, y): (usize, usize),
    (dx, dy): (isize, isize),
    side: usize,
) -> Option<u32> {
    let (bx, by) = (x.checked_add_signed(dx)?, y.checked_add_signed(dy)?);
    if bx + side > b.width || by + side > b.height {
        return None;
    }
    let mut sum = 0u32;
    for row in 0..side {
        let ra = &a.pixels[(y + row) * a.width + x..][..side];
        let rb = &b.pixels[(by + row) * b.width + bx..][..side];
        sum += ra.iter().zip(rb).map(|(p, q)| u32::from(p.abs_diff(*q))).sum::<u32>();
    }
    Some(sum)
}

/// The displacement within `reach` of `around` with the least difference, and that difference.
fn best(
    a: Grey<'_>,
    b: Grey<'_>,
    at: (usize, usize),
    around: (isize, isize),
    reach: isize,
    side: usize,
) -> Option<((isize, isize), u32)> {
    let offsets = (-reach..=reach).flat_map(|dy| (-reach..=reach).map(move |dx| (dx, dy)));
    offsets
        .filter_map(|(dx, dy)| {
            let d = (around.0 + dx, around.1 + dy);
            sad(a, b, at, d, side).map(|s| (d, s))
        })
        .min_by_key(|(d, s)| (*s, d.0.unsigned_abs() + d.1.unsigned_abs()))
}

/// The sub-pixel offset of a difference's minimum from three differences at −1, 0, +1: the
/// meeting point of two lines of equal and opposite slope (absolute differences grow about
/// linearly with the shift, so a parabola would pull towards the whole pixel).
fn vertex(left: Option<u32>, centre: u32, right: Option<u32>) -> f32 {
    let (Some(l), Some(r)) = (left, right) else { return 0.0 };
    let (l, c, r) = (l as f32, centre as f32, r as f32);
    let rise = l.max(r) - c;
    if rise <= 0.0 { 0.0 } else { (0.5 * (l - r) / rise).clamp(-0.5, 0.5) }
}

/// A textured block's centre and how far it moved from `from` to `to`.
fn block_displacements(from: Grey<'_>, to: Grey<'_>) -> Vec<BlockShift> {
    let (qa, qb) = (quarter(from), quarter(to));
    let (sa, sb) = (shrunk(&qa, from), shrunk(&qb, to));
    let reach = ((REACH * from.width as f32) / 4.0).ceil().max(1.0) as isize;
    let mut out = Vec::new();
    for y in (STEP / 2..from.height.saturating_sub(BLOCK + STEP / 2)).step_by(STEP) {
        for x in (STEP / 2..from.width.saturating_sub(BLOCK + STEP / 2)).step_by(STEP) {
            if texture(from, (x, y)) < TEXTURE {
                continue;
            }
            let Some((coarse, _)) = best(sa, sb, (x / 4, y / 4), (0, 0), reach, BLOCK / 4) else { continue };
            let Some((d, s)) = best(from, to, (x, y), (coarse.0 * 4, coarse.1 * 4), 2, BLOCK) else {
                continue;
            };
            let at = |dx, dy| sad(from, to, (x, y), (d.0 + dx, d.1 + dy), BLOCK);
            let fine =
                (d.0 as f32 + vertex(at(-1, 0), s, at(1, 0)), d.1 as f32 + vertex(at(0, -1), s, at(0, 1)));
            let half = BLOCK as f32 / 2.0;
            out.push(((x as f32 + half, y as f32 + half), fine));
        }
    }
    out
}

/// The block's mean absolute deviation from its mean.
fn texture(frame: Grey<'_>, (x, y): (usize, usize)) -> f32 {
    let values = (0..BLOCK * BLOCK).map(|k| f32::from(frame.at(x + k % BLOCK, y + k / BLOCK)));
    let mean = values.clone().sum::<f32>() / (BLOCK * BLOCK) as f32;
    values.map(|v| (v - mean).abs()).sum::<f32>() / (BLOCK * BLOCK) as f32
}

/// The camera's motion from `from` to `to` (same size), or `None` when the blocks do not agree
/// on one (a cut, a picture without texture, a scene of independent motions).
pub fn estimate(from: Grey<'_>, to: Grey<'_>) -> Option<CameraMotion> {
    if from.width < 4 * BLOCK || from.height < 4 * BLOCK {
        return None;
    }
    let blocks = block_displacements(from, to);
    let size = (from.width, from.height);
    // From the blocks' median shift (a pan; wrong matches, of a repeated pattern or a moving
    // subject, do not move it), fitted again on the blocks near the last fit, nearer each time.
    let median = |d: fn(&BlockShift) -> f32| {
        let mut v: Vec<f32> = blocks.iter().map(d).collect();
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let mut motion = CameraMotion { scale: 1.0, dx: median(|b| b.1.0)?, dy: median(|b| b.1.1)? };
    let mut inliers = Vec::new();
    for within in [3.0 * INLIER, 2.0 * INLIER, INLIER] {
        inliers = blocks
            .iter()
            .filter(|(at, d)| {
                let m = motion.displacement(*at, size);
                (m.0 - d.0).hypot(m.1 - d.1) <= within
            })
            .collect();
        motion = fit(&inliers, size)?;
    }
    let enough = inliers.len() >= MIN_BLOCKS && inliers.len() as f32 >= MIN_SHARE * blocks.len() as f32;
    enough.then_some(motion)
}

/// Least squares of `d = (scale − 1)·(p − c) + (dx, dy)` over the blocks.
fn fit(blocks: &[&BlockShift], (w, h): (usize, usize)) -> Option<CameraMotion> {
    if blocks.len() < 3 {
        return None;
    }
    let n = blocks.len() as f32;
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mean = |f: &dyn Fn(&BlockShift) -> f32| blocks.iter().map(|b| f(b)).sum::<f32>() / n;
    let (mx, my) = (mean(&|b| b.0.0 - cx), mean(&|b| b.0.1 - cy));
    let (mdx, mdy) = (mean(&|b| b.1.0), mean(&|b| b.1.1));
    let (mut num, mut den) = (0.0, 0.0);
    for ((x, y), (dx, dy)) in blocks.iter().map(|b| **b) {
        let (px, py) = (x - cx - mx, y - cy - my);
        num += px * (dx - mdx) + py * (dy - mdy);
        den += px * px + py * py;
    }
    let zoom = if den > 0.0 { num / den } else { 0.0 };
    Some(CameraMotion { scale: 1.0 + zoom, dx: mdx - zoom * mx, dy: mdy - zoom * my })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(pixels: &[u8], width: usize, height: usize) -> Grey<'_> {
        Grey { pixels, width, height }
    }

    /// A textured picture (smooth blobs and fine grain), seen through a camera at `motion`
    /// from the first frame: each pixel of the new frame is where the motion took the old one.
    fn scene(w: usize, h: usize, motion: CameraMotion) -> Vec<u8> {
        // Waves in four directions, none dominant: a block has texture each way, as in a photo.
        let texture = |x: f32, y: f32| {
            let wave = |a: f32, b: f32, phase: f32| (a * x + b * y + phase).sin();
            let v = 128.0
                + 30.0 * wave(0.23, 0.05, 0.0)
                + 30.0 * wave(0.04, 0.27, 0.5)
                + 25.0 * wave(0.17, -0.19, 1.0)
                + 25.0 * wave(0.13, 0.21, 2.0);
            v.clamp(0.0, 255.0)
        };
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                // Invert x' = c + s(x − c) + d.
                let sx = cx + (x - cx - motion.dx) / motion.scale;
                let sy = cy + (y - cy - motion.dy) / motion.scale;
                texture(sx, sy) as u8
            })
            .collect()
    }

    #[test]
    fn a_pan_and_a_slow_zoom_are_measured_to_a_fraction_of_a_pixel() {
        let (w, h) = (480, 270);
        let still = CameraMotion { scale: 1.0, dx: 0.0, dy: 0.0 };
        let first = scene(w, h, still);
        for truth in [
            CameraMotion { scale: 1.0, dx: 6.3, dy: -2.4 },
            CameraMotion { scale: 1.01, dx: 0.0, dy: 0.0 },
            CameraMotion { scale: 1.0, dx: 0.0, dy: 0.0 },
        ] {
            let next = scene(w, h, truth);
            let got =
                estimate(grey(&first, w, h), grey(&next, w, h)).expect("a textured picture has a motion");
            // At the frame's corner, where a zoom moves the picture most.
            let (a, b) = (got.displacement((0.0, 0.0), (w, h)), truth.displacement((0.0, 0.0), (w, h)));
            assert!((a.0 - b.0).abs() < 0.35 && (a.1 - b.1).abs() < 0.35, "{got:?} for {truth:?}");
        }
    }

    #[test]
    fn two_motions_in_turn_are_one() {
        let (first, second) = (
            CameraMotion { scale: 1.02, dx: 3.0, dy: -1.0 },
            CameraMotion { scale: 0.99, dx: -0.5, dy: 2.0 },
        );
        let size = (480, 270);
        let point = (30.0, 200.0);
        let d = first.displacement(point, size);
        let moved = (point.0 + d.0, point.1 + d.1);
        let e = second.displacement(moved, size);
        let both = first.then(&second).displacement(point, size);
        assert!((both.0 - (d.0 + e.0)).abs() < 1e-3 && (both.1 - (d.1 + e.1)).abs() < 1e-3, "{both:?}");
    }

    #[test]
    fn unrelated_pictures_have_no_motion() {
        let (w, h) = (480, 270);
        let first = scene(w, h, CameraMotion { scale: 1.0, dx: 0.0, dy: 0.0 });
        // A cut: noise that no shift of the first frame explains.
        let mut state = 12345u32;
        let noise: Vec<u8> = (0..w * h)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 24) as u8
            })
            .collect();
        assert_eq!(estimate(grey(&first, w, h), grey(&noise, w, h)), None);
    }
}
