//! Exemplar-based fill: the hole is rebuilt from patches of the picture around it, so texture
//! (paving, foliage, fabric) continues instead of being smeared.
//!
//! This is image completion in the manner of Wexler, Shechtman and Irani ("Space-Time Completion
//! of Video", 2007) with the nearest-neighbour search of Barnes et al. ("PatchMatch", 2009), the
//! algorithm behind `pypatchmatch` and Photoshop's Content-Aware Fill:
//!
//! 1. The work is done on a crop around the hole (its box grown by [`CONTEXT`] of its size, the
//!    region patches are taken from), as a pyramid halved until the hole is at most
//!    [`COARSEST_HOLE`] px across; the coarsest hole starts from Telea's fill.
//! 2. At every level, a few rounds of: for each patch ([`RADIUS`]) that touches the hole, find
//!    the most similar patch lying wholly in known pixels (PatchMatch: start from the previous
//!    match, take a neighbour's offset when it fits better, then try random offsets in windows
//!    halving from the crop's size); then set every hole pixel to the mean of what the patches
//!    covering it say it is (the "vote").
//! 3. Each level's matches, doubled, start the next finer one.
//!
//! Deterministic: the random offsets come from a fixed-seed generator.

use image::{GrayImage, RgbImage};

use super::telea::inpaint_telea;
use crate::imaging::geometry::PixelBox;

/// Patch half-size: 7×7 patches.
const RADIUS: i32 = 3;
/// Patches come from the hole's box grown by this many times its larger side on every side.
const CONTEXT: f32 = 1.0;
/// The pyramid is halved until the hole's larger side is at most this (pixels).
const COARSEST_HOLE: u32 = 24;
/// Places beside the hole where both fills are tried.
const TRIALS: usize = 4;
/// Patches must beat Telea there by this much (dB, per place) to be used.
const MARGIN_DB: f64 = 0.5;
/// Surroundings with less texture than this (mean neighbour step, levels summed over the
/// channels) are flat: Telea, without a trial (the development set's patch wins were all at
/// 13 or more; smooth walls and skies measure under 6).
const MIN_TEXTURE: f32 = 10.0;
/// The texture is measured this far (px) around the hole's box.
const RING: u32 = 8;
/// Holes larger than this (pixels) are filled by Telea without a trial.
const MAX_PATCH_AREA: usize = 40_000;
/// Search-and-vote rounds at the coarsest level, and at every finer one.
const ROUNDS_COARSEST: usize = 6;
const ROUNDS: usize = 3;

/// One level of the pyramid: colours and which pixels are the hole.
struct Level {
    w: i32,
    h: i32,
    rgb: Vec<[f32; 3]>,
    hole: Vec<bool>,
    avoid: Vec<bool>,
    /// Whether a patch centred here lies wholly inside the crop and outside the hole.
    source: Vec<bool>,
}

impl Level {
    /// `avoid`: pixels that are not to be filled but not copied from either (another mark).
    fn new(w: i32, h: i32, rgb: Vec<[f32; 3]>, hole: Vec<bool>, avoid: Vec<bool>) -> Self {
        let mut source = vec![false; (w * h) as usize];
        // Hole and avoided pixels, summed, tell in O(1) whether a patch holds any.
        let mut sum = vec![0u32; ((w + 1) * (h + 1)) as usize];
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize;
                let v = u32::from(hole[i] || avoid[i]);
                sum[((y + 1) * (w + 1) + x + 1) as usize] =
                    v + sum[(y * (w + 1) + x + 1) as usize] + sum[((y + 1) * (w + 1) + x) as usize]
                        - sum[(y * (w + 1) + x) as usize];
            }
        }
        for y in RADIUS..h - RADIUS {
            for x in RADIUS..w - RADIUS {
                let (x0, y0, x1, y1) = (x - RADIUS, y - RADIUS, x + RADIUS + 1, y + RADIUS + 1);
                let n = sum[(y1 * (w + 1) + x1) as usize] + sum[(y0 * (w + 1) + x0) as usize]
                    - sum[(y0 * (w + 1) + x1) as usize]
                    - sum[(y1 * (w + 1) + x0) as usize];
                source[(y * w + x) as usize] = n == 0;
            }
        }
        Level { w, h, rgb, hole, avoid, source }
    }

    fn at(&self, x: i32, y: i32) -> usize {
        (y * self.w + x) as usize
    }

    /// Whether a patch centred at `s` may be copied from.
    fn is_source(&self, s: (i32, i32)) -> bool {
        s.0 >= 0 && s.1 >= 0 && s.0 < self.w && s.1 < self.h && self.source[self.at(s.0, s.1)]
    }

    /// Sum of squared differences between the patches at `t` and `s` (`s` wholly inside), over
    /// the pixels of `t`'s patch inside the crop; stops early past `limit`.
    fn distance(&self, t: (i32, i32), s: (i32, i32), limit: f32) -> f32 {
        let mut d = 0.0f32;
        for dy in -RADIUS..=RADIUS {
            let ty = t.1 + dy;
            if ty < 0 || ty >= self.h {
                continue;
            }
            for dx in -RADIUS..=RADIUS {
                let tx = t.0 + dx;
                if tx < 0 || tx >= self.w {
                    continue;
                }
                let a = self.rgb[self.at(tx, ty)];
                let b = self.rgb[self.at(s.0 + dx, s.1 + dy)];
                d += (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2);
            }
            if d > limit {
                return d;
            }
        }
        d
    }

    /// Halved by 2×2 means; a coarse pixel is hole when any of its four is.
    fn half(&self) -> Level {
        let (w, h) = ((self.w + 1) / 2, (self.h + 1) / 2);
        let mut rgb = vec![[0.0f32; 3]; (w * h) as usize];
        let mut hole = vec![false; (w * h) as usize];
        let mut avoid = vec![false; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0f32; 3];
                let mut n = 0.0f32;
                let mut any = false;
                let mut blocked = false;
                for (sx, sy) in
                    [(2 * x, 2 * y), (2 * x + 1, 2 * y), (2 * x, 2 * y + 1), (2 * x + 1, 2 * y + 1)]
                {
                    if sx < self.w && sy < self.h {
                        let i = self.at(sx, sy);
                        any |= self.hole[i];
                        blocked |= self.avoid[i];
                        for (a, v) in acc.iter_mut().zip(self.rgb[i]) {
                            *a += v;
                        }
                        n += 1.0;
                    }
                }
                rgb[(y * w + x) as usize] = acc.map(|v| v / n);
                hole[(y * w + x) as usize] = any;
                avoid[(y * w + x) as usize] = blocked && !any;
            }
        }
        Level::new(w, h, rgb, hole, avoid)
    }
}

/// A small fixed-seed generator (xorshift), so that fills are reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: i32) -> i32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as i32
    }
}

/// Fills the pixels of `image` where `mask > 0` from patches of the picture around them. Returns
/// `false`, leaving the image as it is, when there are too few known patches around the hole to
/// take from (the caller then uses another fill).
pub fn inpaint_patchmatch(image: &mut RgbImage, mask: &GrayImage) -> bool {
    fill_patches(image, mask, None)
}

/// [`inpaint_patchmatch`], copying nothing from the pixels where `avoid > 0` either.
fn fill_patches(image: &mut RgbImage, mask: &GrayImage, avoid: Option<&GrayImage>) -> bool {
    let (iw, ih) = image.dimensions();
    let Some(hole_box) = bbox(mask) else { return true };
    let grow = ((hole_box.width.max(hole_box.height) as f32 * CONTEXT) as u32).max(2 * RADIUS as u32 + 2);
    let x0 = hole_box.x.saturating_sub(grow);
    let y0 = hole_box.y.saturating_sub(grow);
    let x1 = (hole_box.x + hole_box.width + grow).min(iw);
    let y1 = (hole_box.y + hole_box.height + grow).min(ih);
    let (w, h) = ((x1 - x0) as i32, (y1 - y0) as i32);
    let mut rgb = Vec::with_capacity((w * h) as usize);
    let mut hole = Vec::with_capacity((w * h) as usize);
    let mut blocked = Vec::with_capacity((w * h) as usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = image.get_pixel(x, y).0;
            rgb.push([f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]);
            let inside = mask.get_pixel(x, y).0[0] > 0;
            hole.push(inside);
            blocked.push(!inside && avoid.is_some_and(|a| a.get_pixel(x, y).0[0] > 0));
        }
    }
    let mut levels = vec![Level::new(w, h, rgb, hole, blocked)];
    let mut side = hole_box.width.max(hole_box.height);
    while side > COARSEST_HOLE && levels.last().is_some_and(|l| l.w.min(l.h) >= 8 * RADIUS) {
        let next = levels.last().map(Level::half).expect("a level");
        levels.push(next);
        side = side.div_ceil(2);
    }
    if levels.iter().any(|l| l.source.iter().filter(|s| **s).count() < 16) {
        return false;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // The coarsest hole starts from Telea's fill.
    let coarsest = levels.last_mut().expect("a level");
    telea_start(coarsest);
    let mut nnf: Vec<(i32, i32)> = Vec::new();
    for li in (0..levels.len()).rev() {
        let targets = touching(&levels[li]);
        nnf = if nnf.is_empty() {
            targets.iter().map(|_| random_source(&levels[li], &mut rng)).collect()
        } else {
            // The coarser level's matches, doubled, start this one and paint its hole first.
            let upper = &levels[li + 1];
            let mut coarse = vec![(-1, -1); (upper.w * upper.h) as usize];
            for (t, m) in touching(upper).into_iter().zip(std::mem::take(&mut nnf)) {
                coarse[upper.at(t.0, t.1)] = m;
            }
            let level = &levels[li];
            let fresh: Vec<(i32, i32)> = targets
                .iter()
                .map(|&(x, y)| {
                    let (cx, cy) = ((x / 2).min(upper.w - 1), (y / 2).min(upper.h - 1));
                    let (sx, sy) = coarse[upper.at(cx, cy)];
                    let s = (2 * sx + x % 2, 2 * sy + y % 2);
                    if sx >= 0 && level.is_source(s) { s } else { random_source(level, &mut rng) }
                })
                .collect();
            vote(&mut levels[li], &targets, &fresh);
            fresh
        };
        let rounds = if li == levels.len() - 1 { ROUNDS_COARSEST } else { ROUNDS };
        for round in 0..rounds {
            search(&levels[li], &targets, &mut nnf, &mut rng, round % 2 == 1);
            vote(&mut levels[li], &targets, &nnf);
        }
    }
    let fine = &levels[0];
    for y in 0..h {
        for x in 0..w {
            let i = fine.at(x, y);
            if fine.hole[i] {
                let v = fine.rgb[i].map(|c| c.round().clamp(0.0, 255.0) as u8);
                image.put_pixel(x0 + x as u32, y0 + y as u32, image::Rgb(v));
            }
        }
    }
    true
}

/// How a hole was filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Telea,
    Patches,
}

impl Fill {
    pub fn name(self) -> &'static str {
        match self {
            Fill::Telea => "telea",
            Fill::Patches => "patchmatch",
        }
    }
}

/// Fills the hole by whichever of Telea (`radius`) and patches measures better here: the hole's
/// shape is cut, beside it, out of known pixels (up to [`TRIALS`] places), both fills rebuild
/// it, and the one closer to the truth there (by [`MARGIN_DB`] for patches) fills the hole.
/// Smooth surroundings favour Telea, which continues shading exactly; textures (fabric, paving,
/// foliage) favour patches. Holes in flat surroundings (texture under [`MIN_TEXTURE`]) and holes
/// over [`MAX_PATCH_AREA`] pixels get Telea without a trial (patches cannot win on the one, and
/// would cost seconds on the other).
pub fn fill_best(image: &mut RgbImage, mask: &GrayImage, radius: u32) -> Fill {
    let Some(b) = bbox(mask) else { return Fill::Telea };
    let area = mask.pixels().filter(|p| p.0[0] > 0).count();
    let flat = ring_texture(image, mask, b) < MIN_TEXTURE;
    let choice = if area > MAX_PATCH_AREA || flat { Fill::Telea } else { trial(image, mask, b, radius) };
    if choice == Fill::Patches && inpaint_patchmatch(image, mask) {
        return Fill::Patches;
    }
    inpaint_telea(image, mask, radius);
    Fill::Telea
}

/// Which fill rebuilds the hole's shape better in known places beside it.
fn trial(image: &RgbImage, mask: &GrayImage, b: PixelBox, radius: u32) -> Fill {
    let (w, h) = image.dimensions();
    let gap = 4i64;
    let shifts = [
        (-(i64::from(b.width) + gap), 0),
        (i64::from(b.width) + gap, 0),
        (0, -(i64::from(b.height) + gap)),
        (0, i64::from(b.height) + gap),
    ];
    let (mut telea_db, mut patch_db, mut trials) = (0.0f64, 0.0f64, 0);
    for (dx, dy) in shifts {
        if trials == TRIALS {
            break;
        }
        let (x, y) = (i64::from(b.x) + dx, i64::from(b.y) + dy);
        if x < 0 || y < 0 || x + i64::from(b.width) > i64::from(w) || y + i64::from(b.height) > i64::from(h) {
            continue;
        }
        let (x, y) = (x as u32, y as u32);
        // Work on a crop that holds everything either fill reads around the moved shape.
        let grow = (b.width.max(b.height) as f32 * CONTEXT) as u32 + radius + 2;
        let (cx0, cy0) = (x.saturating_sub(grow), y.saturating_sub(grow));
        let (cx1, cy1) = ((x + b.width + grow).min(w), (y + b.height + grow).min(h));
        let crop = image::imageops::crop_imm(image, cx0, cy0, cx1 - cx0, cy1 - cy0).to_image();
        let real = GrayImage::from_fn(cx1 - cx0, cy1 - cy0, |px, py| *mask.get_pixel(cx0 + px, cy0 + py));
        // The trial hole: the real hole's shape, moved. The real hole's pixels are the mark, not
        // picture: Telea fills them too, and patches are not copied from them.
        let mut test = GrayImage::new(cx1 - cx0, cy1 - cy0);
        let mut truth = Vec::new();
        for yy in 0..b.height {
            for xx in 0..b.width {
                if mask.get_pixel(b.x + xx, b.y + yy).0[0] > 0 {
                    let (px, py) = (x + xx - cx0, y + yy - cy0);
                    test.put_pixel(px, py, image::Luma([255]));
                    truth.push((px, py));
                }
            }
        }
        if truth.iter().any(|&(px, py)| real.get_pixel(px, py).0[0] > 0) {
            continue; // the moved shape overlaps the mark itself
        }
        let mut by_telea = crop.clone();
        let both = GrayImage::from_fn(crop.width(), crop.height(), |px, py| {
            image::Luma([test.get_pixel(px, py).0[0].max(real.get_pixel(px, py).0[0])])
        });
        inpaint_telea(&mut by_telea, &both, radius);
        let mut by_patches = crop.clone();
        if !fill_patches(&mut by_patches, &test, Some(&real)) {
            continue;
        }
        telea_db += psnr_at(&by_telea, &crop, &truth);
        patch_db += psnr_at(&by_patches, &crop, &truth);
        trials += 1;
    }
    if trials > 0 && patch_db >= telea_db + MARGIN_DB * trials as f64 { Fill::Patches } else { Fill::Telea }
}

/// PSNR (dB) of `a` against `b` over `pixels`.
fn psnr_at(a: &RgbImage, b: &RgbImage, pixels: &[(u32, u32)]) -> f64 {
    let mut se = 0.0f64;
    for &(x, y) in pixels {
        let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
        se += (0..3).map(|c| (f64::from(p[c]) - f64::from(q[c])).powi(2)).sum::<f64>();
    }
    let mse = se / (3.0 * pixels.len().max(1) as f64);
    10.0 * (255.0f64.powi(2) / mse.max(1e-6)).log10()
}

/// How textured the known pixels around the hole's box `b` are: the mean colour step between
/// horizontal and vertical neighbours (levels summed over the channels) within [`RING`] px.
pub(super) fn ring_texture(image: &RgbImage, mask: &GrayImage, b: PixelBox) -> f32 {
    let (w, h) = image.dimensions();
    let x0 = b.x.saturating_sub(RING);
    let y0 = b.y.saturating_sub(RING);
    let x1 = (b.x + b.width + RING).min(w - 1);
    let y1 = (b.y + b.height + RING).min(h - 1);
    let known = |x: u32, y: u32| mask.get_pixel(x, y).0[0] == 0;
    mean_step(image, (x0, y0, x1, y1), |x, y| known(x, y) && known(x + 1, y) && known(x, y + 1))
}

/// The same step over every pixel of `b`, mark or not: how much of the picture a mark there
/// lets through (a translucent word over shelves about as much as around it, a caption bar
/// little).
pub(super) fn box_texture(image: &RgbImage, b: PixelBox) -> f32 {
    let (w, h) = image.dimensions();
    let (x1, y1) = ((b.x + b.width).min(w - 1), (b.y + b.height).min(h - 1));
    mean_step(image, (b.x, b.y, x1, y1), |_, _| true)
}

/// The mean step to the right and downward neighbours of the `counted` pixels in `[x0, x1) ×
/// [y0, y1)`.
fn mean_step(
    image: &RgbImage,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
    counted: impl Fn(u32, u32) -> bool,
) -> f32 {
    let (mut sum, mut n) = (0.0f32, 0u32);
    for y in y0..y1 {
        for x in x0..x1 {
            if !counted(x, y) {
                continue;
            }
            let p = image.get_pixel(x, y).0;
            for q in [image.get_pixel(x + 1, y).0, image.get_pixel(x, y + 1).0] {
                sum += (0..3).map(|c| f32::from(p[c].abs_diff(q[c]))).sum::<f32>();
            }
            n += 2;
        }
    }
    if n == 0 { 0.0 } else { sum / n as f32 }
}

/// Centres of the patches that touch the hole, in scan order.
fn touching(level: &Level) -> Vec<(i32, i32)> {
    let (w, h) = (level.w as usize, level.h as usize);
    let r = RADIUS as usize;
    // Hole pixels within the patch's reach along the row, then along the column (sliding counts).
    let mut across = vec![0u16; w * h];
    for y in 0..h {
        let mut count = 0u16;
        for x in 0..w + r {
            if x < w && level.hole[y * w + x] {
                count += 1;
            }
            if x > 2 * r && level.hole[y * w + x - 2 * r - 1] {
                count -= 1;
            }
            if x >= r {
                across[y * w + x - r] = count;
            }
        }
    }
    let mut out = Vec::new();
    let mut near = vec![false; w * h];
    for x in 0..w {
        let mut count = 0u32;
        for y in 0..h + r {
            if y < h {
                count += u32::from(across[y * w + x]);
            }
            if y > 2 * r {
                count -= u32::from(across[(y - 2 * r - 1) * w + x]);
            }
            if y >= r {
                near[(y - r) * w + x] = count > 0;
            }
        }
    }
    for y in 0..h {
        for x in 0..w {
            if near[y * w + x] {
                out.push((x as i32, y as i32));
            }
        }
    }
    out
}

fn random_source(level: &Level, rng: &mut Rng) -> (i32, i32) {
    loop {
        let (x, y) = (rng.below(level.w), rng.below(level.h));
        if level.source[level.at(x, y)] {
            return (x, y);
        }
    }
}

/// One PatchMatch pass over the targets: propagation from the previous target in scan order
/// (backwards on odd passes) and random search around the current match.
fn search(level: &Level, targets: &[(i32, i32)], nnf: &mut [(i32, i32)], rng: &mut Rng, backwards: bool) {
    let mut index = vec![u32::MAX; (level.w * level.h) as usize];
    for (i, &(x, y)) in targets.iter().enumerate() {
        index[level.at(x, y)] = i as u32;
    }
    let mut dist: Vec<f32> =
        targets.iter().zip(nnf.iter()).map(|(&t, &s)| level.distance(t, s, f32::MAX)).collect();
    let step: i32 = if backwards { 1 } else { -1 };
    let order: Box<dyn Iterator<Item = usize>> =
        if backwards { Box::new((0..targets.len()).rev()) } else { Box::new(0..targets.len()) };
    for i in order {
        let t = targets[i];
        // Propagation: the left (right) and upper (lower) neighbours' offsets, shifted by one.
        for n in [(t.0 + step, t.1), (t.0, t.1 + step)] {
            let j = if n.0 >= 0 && n.1 >= 0 && n.0 < level.w && n.1 < level.h {
                index[level.at(n.0, n.1)]
            } else {
                u32::MAX
            };
            if j != u32::MAX {
                let j = j as usize;
                let s = (nnf[j].0 - step * i32::from(n.0 != t.0), nnf[j].1 - step * i32::from(n.1 != t.1));
                if level.is_source(s) {
                    let d = level.distance(t, s, dist[i]);
                    if d < dist[i] {
                        dist[i] = d;
                        nnf[i] = s;
                    }
                }
            }
        }
        // Random search in windows halving from the whole level.
        let mut r = level.w.max(level.h);
        while r >= 1 {
            let (bx, by) = nnf[i];
            let s = (bx + rng.below(2 * r + 1) - r, by + rng.below(2 * r + 1) - r);
            if level.is_source(s) {
                let d = level.distance(t, s, dist[i]);
                if d < dist[i] {
                    dist[i] = d;
                    nnf[i] = s;
                }
            }
            r /= 2;
        }
    }
}

/// Every hole pixel becomes the mean of what the matched patches covering it say.
fn vote(level: &mut Level, targets: &[(i32, i32)], nnf: &[(i32, i32)]) {
    let n = (level.w * level.h) as usize;
    let mut acc = vec![[0.0f32; 4]; n];
    for (&t, &s) in targets.iter().zip(nnf) {
        for dy in -RADIUS..=RADIUS {
            for dx in -RADIUS..=RADIUS {
                let (x, y) = (t.0 + dx, t.1 + dy);
                if x < 0 || y < 0 || x >= level.w || y >= level.h {
                    continue;
                }
                let i = level.at(x, y);
                if !level.hole[i] {
                    continue;
                }
                let v = level.rgb[level.at(s.0 + dx, s.1 + dy)];
                let a = &mut acc[i];
                a[0] += v[0];
                a[1] += v[1];
                a[2] += v[2];
                a[3] += 1.0;
            }
        }
    }
    for (i, a) in acc.iter().enumerate() {
        if level.hole[i] && a[3] > 0.0 {
            level.rgb[i] = [a[0] / a[3], a[1] / a[3], a[2] / a[3]];
        }
    }
}

/// The level's hole filled by Telea, as the start of the coarsest search.
fn telea_start(level: &mut Level) {
    let (w, h) = (level.w as u32, level.h as u32);
    let mut img = RgbImage::new(w, h);
    let mut mask = GrayImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let i = level.at(x as i32, y as i32);
            img.put_pixel(x, y, image::Rgb(level.rgb[i].map(|c| c.round().clamp(0.0, 255.0) as u8)));
            if level.hole[i] {
                mask.put_pixel(x, y, image::Luma([255]));
            }
        }
    }
    inpaint_telea(&mut img, &mask, 5);
    for y in 0..h {
        for x in 0..w {
            let i = level.at(x as i32, y as i32);
            if level.hole[i] {
                let p = img.get_pixel(x, y).0;
                level.rgb[i] = [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])];
            }
        }
    }
}

fn bbox(mask: &GrayImage) -> Option<PixelBox> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in mask.enumerate_pixels() {
        if p.0[0] > 0 {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
    }
    (x0 != u32::MAX).then(|| PixelBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 })
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::psnr_in;
    use super::*;
    use image::{Luma, Rgb};

    /// Paving: a brick pattern with mortar lines and per-brick shade, plus fine grain.
    fn paving(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let row = y / 12;
            let shift = if row % 2 == 0 { 0 } else { 12 };
            let (bx, by) = ((x + shift) % 24, y % 12);
            if bx < 2 || by < 2 {
                return Rgb([70, 70, 75]);
            }
            let brick = ((x + shift) / 24 * 7 + row * 13) % 5;
            let grain = ((x * 31 + y * 17) % 7) as u8;
            Rgb([150 + brick as u8 * 8 + grain, 90 + brick as u8 * 5 + grain, 60 + grain])
        })
    }

    /// Mean absolute difference between horizontal neighbours: how much texture a region has.
    fn texture(img: &RgbImage, r: PixelBox) -> f64 {
        let mut sum = 0.0;
        for y in r.y..r.y + r.height {
            for x in r.x..r.x + r.width - 1 {
                let (p, q) = (img.get_pixel(x, y).0, img.get_pixel(x + 1, y).0);
                sum += (0..3).map(|c| (f64::from(p[c]) - f64::from(q[c])).abs()).sum::<f64>();
            }
        }
        sum / f64::from(r.height * (r.width - 1))
    }

    fn square_hole(w: u32, h: u32, hole: PixelBox) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| {
            let inside = x >= hole.x && x < hole.x + hole.width && y >= hole.y && y < hole.y + hole.height;
            Luma([if inside { 255 } else { 0 }])
        })
    }

    #[test]
    fn the_fill_that_measures_better_beside_the_hole_is_used() {
        // GIVEN paving, and a smooth sky-like gradient, each with a hole
        let hole = PixelBox { x: 90, y: 70, width: 40, height: 30 };
        let mask = square_hole(240, 200, hole);
        let mut paved = paving(240, 200);
        let mut sky = RgbImage::from_fn(240, 200, |x, y| Rgb([60 + (y / 2) as u8, 120 + (x / 4) as u8, 220]));
        // THEN patches rebuild the paving and Telea the gradient
        assert_eq!(fill_best(&mut paved, &mask, 7), Fill::Patches);
        assert_eq!(fill_best(&mut sky, &mask, 7), Fill::Telea);
    }

    #[test]
    fn paving_is_rebuilt_where_telea_smears_it() {
        // GIVEN paving with a 60×50 hole
        let clean = paving(240, 200);
        let hole = PixelBox { x: 90, y: 70, width: 60, height: 50 };
        let mask = square_hole(240, 200, hole);
        let mut damaged = clean.clone();
        for (x, y, p) in damaged.enumerate_pixels_mut() {
            if mask.get_pixel(x, y).0[0] > 0 {
                *p = Rgb([255, 255, 255]);
            }
        }
        // WHEN it is filled by patches, and by Telea
        let mut ours = damaged.clone();
        assert!(inpaint_patchmatch(&mut ours, &mask));
        let mut telea = damaged.clone();
        inpaint_telea(&mut telea, &mask, 7);
        // THEN the patches keep the paving's texture (Telea's smear has little), and measure at
        // least as close to the truth
        let (truth, rebuilt, smeared) = (texture(&clean, hole), texture(&ours, hole), texture(&telea, hole));
        assert!(
            rebuilt > 0.7 * truth && smeared < 0.6 * truth,
            "texture {truth:.1}: ours {rebuilt:.1}, Telea {smeared:.1}"
        );
        let (p_ours, p_telea) = (psnr_in(&ours, &clean, hole), psnr_in(&telea, &clean, hole));
        assert!(p_ours >= p_telea + 6.0, "PSNR in the hole: ours {p_ours:.1} dB, Telea {p_telea:.1} dB");
        // AND pixels outside the hole never change
        for (x, y, p) in ours.enumerate_pixels() {
            if mask.get_pixel(x, y).0[0] == 0 {
                assert_eq!(p, damaged.get_pixel(x, y));
            }
        }
    }
}
