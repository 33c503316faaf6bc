//! Marks blended over the picture as one shape of one colour at one opacity: translucent discs
//! and plates, white or black, and opaque white or black plates behind a logo.
//!
//! A person sees such a mark by its outline: along it the picture on one side is the picture on
//! the other side, lifted towards white (or pressed towards black) by the same fraction all the
//! way round, whatever the background is. Blending colour `C` at opacity `a` over `B` shows
//! `O = a·C + (1 − a)·B`, so across the outline `O_in − B_out = a·(C − B_out)` in every channel.
//! Scene edges follow no such law: their two sides vary independently.
//!
//! 1. On a copy at most [`WORK_SIDE`] px on its long side, every edge pixel (a local maximum of
//!    the luma gradient) reads the colours [`REACH`] px to either side and asks whether the
//!    brighter side is the darker one lifted towards white (or the darker the brighter pressed
//!    towards black) by one `a` in all three channels, within [`FIT`] levels.
//! 2. Neighbouring fits of one kind, nearly one `a` and one edge direction join into arcs; arcs
//!    of one `a` join across gaps (where the background leaves no room to lift, or a logo on a
//!    plate touches the plate's edge), at three gap sizes, each judged. Round marks whose arcs lie
//!    too far apart are also proposed by a two-stage Hough transform per tenth of opacity: fits
//!    vote for the centres their blended side faces, and the fits at the best radius around a
//!    well-supported centre are an outline.
//! 3. An outline is a mark when, along its rim (its outer reach in each direction): `a` holds
//!    while the background varies, and varies in colour (on grey any two levels fit some blend),
//!    or, white and translucent on grey, holds so much better than a uniform grey shape's would
//!    that the shape's inside must follow the background, as only a blend's does;
//!    the blended side faces inwards; it closes, or runs into the frame; it is a shape a designer
//!    draws (a rectangle, an ellipse, a circle); and it lies near a border, between
//!    [`MIN_SHARE`] and [`MAX_SIDE`] of the picture's shorter side across. An opaque plate must
//!    also carry something (a blank white patch is a label in the scene).
//! 4. Inside the outline, the edges split the shape into regions; a region is blended unless more
//!    edge pixels look into it from their plain side than from their blended side (a letter
//!    knocked out of a disc is left as it is).
//! 5. A translucent mark is removed by inverting the blend, `B = (O − a·C) / (1 − a)`, and
//!    inpainting only the antialiased rim and pixels the inversion cannot explain (another colour
//!    drawn on the mark). An opaque plate (`a` above [`MAX_UNBLEND`]) has nothing to invert: the
//!    caller fills it like any other mark, together with what it carries.
//!
//! Missed, measured on the development set: translucent marks of many colours (a 70 % colour
//! icon; no single blend fits). A black mark on a colourless background is not judged: a dark
//! shape under light that varies darkens its background by one fraction, as a black blend does.

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, RgbImage};

use super::telea::inpaint_telea;
use crate::imaging::geometry::PixelBox;
use crate::imaging::gradients::sobel;
use crate::imaging::sample::bilinear_rgb;

/// The analysis copy's long side at most.
const WORK_SIDE: u32 = 640;
/// Edge pixels have a luma gradient of at least this (levels per pixel, Sobel / 8).
const EDGE_MIN: f32 = 6.0;
/// Colours are read this far (work px) either side of an edge pixel, past its antialiasing.
const REACH: f32 = 2.0;
/// A channel fits the blend when it is predicted within this many levels.
const FIT: f32 = 8.0;
/// A channel must have at least this much room towards the mark's colour to say anything.
const MIN_ROOM: f32 = 24.0;
/// Opacity below this is too faint to tell from shading.
const MIN_ALPHA: f32 = 0.15;
/// A mark's outline is at least this opaque: fainter steps of one ratio are soft light and shade
/// (fur, skin, foliage measured 0.17–0.21).
const MIN_MARK_ALPHA: f32 = 0.25;
/// Neighbouring edge pixels whose opacities differ by at most this belong to one outline…
const SAME_ALPHA: f32 = 0.06;
/// …and an outline's opacity must hold within this (standard deviation) all the way round.
const MAX_ALPHA_SPREAD: f32 = 0.045;
/// The background along the outline must vary by at least this (luma standard deviation): on a
/// flat background any shape has a constant step.
const MIN_BACKGROUND_SPREAD: f32 = 9.0;
/// At least this fraction of the outline has its blended side facing the shape's centre.
const MIN_INWARD: f32 = 0.85;
/// The outline covers at least this fraction of the directions around its centre (those not cut
/// off by the frame).
const MIN_CLOSURE: f32 = 0.75;
/// A mark is at most this fraction of the picture's shorter side across…
const MAX_SIDE: f32 = 0.45;
/// …at least this many work pixels across…
const MIN_SIDE: u32 = 10;
/// …and at least this fraction of it (smaller white patches are labels and highlights)…
const MIN_SHARE: f32 = 0.04;
/// …and lies within this fraction of a border.
const BORDER_BAND: f32 = 0.12;
/// Arcs at least this long (work px) are joined into outlines; shorter ones are texture.
const MIN_ARC: usize = 6;
/// Arcs whose boxes come within this many work pixels join, or within this share of the larger
/// arc's side (an outline is broken where its background leaves no room, or where a logo on a
/// plate touches the plate's edge).
const ARC_GAP: u32 = 4;
const ARC_GAP_SHARES: [f32; 3] = [0.3, 0.6, 0.9];
/// Edges inside a mark of its opacity split it (a letter knocked out of a disc) where they run on
/// for at least this many work pixels: shorter runs are the picture's texture, which happened to
/// fit (filled as rim, they cost the development set's discs up to 0.8 dB).
const INNER_ARC: usize = 18;
/// Neighbouring edge pixels of one outline point at most about 50° apart.
const SAME_DIRECTION: f32 = 0.64;
/// An opaque plate has at least this many inner edge pixels per rim pixel.
const MIN_PLATE_CONTENT: f32 = 0.3;
/// At least this fraction of the rim lies on a shape a designer draws: a rectangle, an ellipse
/// or a circle (a helmet, a cloud or a cup has its own outline).
const MIN_REGULARITY: f32 = 0.75;
/// Circle centres are voted for in cells of this many work pixels…
const HOUGH_CELL: u32 = 2;
/// …and a circle is an outline when its fits cover this share of its circumference…
const MIN_CIRCLE_SUPPORT: f32 = 0.35;
/// …looked for at most at this many centres per tint.
const MAX_CIRCLES: usize = 8;
/// A gap of at most this many directions in an outline counts as closed.
const SHORT_GAP: usize = 9;
/// Directions around an outline's centre.
const BINS: usize = 48;
/// Edge pixels within this of the outline's outer reach (work px) are its rim.
const RIM_DEPTH: f32 = 2.5;
/// A fit says something about the blend only where the plain side has colour (on grey, any
/// two levels fit some blend): at least this many levels between its channels…
const MIN_CHROMA: f32 = 16.0;
/// …at this fraction of the rim at least (so greyscale pictures are never judged), or of an
/// opaque plate's rim, whose evidence is mostly its own flat colour (a plate on a navy uniform
/// measured 0.20, the white shell around a black helmet visor 0.08).
const MIN_INFORMATIVE: f32 = 0.35;
const MIN_INFORMATIVE_PLATE: f32 = 0.15;
/// A colourless rim (a translucent white disc over a grey wall) is judged after all where the
/// mark's opacity holds while the background varies so much that a grey shape's would not: the
/// opacities a uniform grey shape with the mark's mean level shows along the rim spread at least
/// this many times as far as the mark's (the development set's discs measured 3.7–10.9; coins,
/// cells and a headlamp on grey 0.2–2.8). Only towards white: a dark shape under light that varies
/// darkens its background by one fraction, as a black blend does.
const MIN_UNIFORM_RATIO: f32 = 3.5;
/// Above this opacity the inversion amplifies noise more than it recovers: the mark is filled.
pub const MAX_UNBLEND: f32 = 0.8;
/// The rim and unexplained pixels are inpainted from this far around.
const RIM_FILL_RADIUS: u32 = 5;
/// An inverted pixel outside 0..=255 by more than this was not the mark's colour: it is filled.
const OUT_OF_RANGE: f32 = 24.0;

/// The colour a mark is blended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tint {
    White,
    Black,
}

impl Tint {
    pub(super) fn level(self) -> f32 {
        match self {
            Tint::White => 255.0,
            Tint::Black => 0.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tint::White => "white",
            Tint::Black => "black",
        }
    }
}

/// One blended mark: its box, tint and opacity, and which of the picture's pixels it covers.
#[derive(Debug, Clone)]
pub struct BlendMark {
    pub region: PixelBox,
    pub tint: Tint,
    pub alpha: f32,
    /// Per pixel of `region`: 2 blended, 1 the antialiased rim, 0 not the mark.
    cover: Vec<u8>,
}

/// An edge pixel that fits a blend.
#[derive(Clone, Copy)]
pub(super) struct Fit {
    pub(super) x: u32,
    pub(super) y: u32,
    pub(super) alpha: f32,
    /// Unit vector towards the blended side.
    pub(super) inward: (f32, f32),
    /// Luma of the plain side.
    pub(super) plain: f32,
    /// The plain side's colourfulness (largest minus smallest channel).
    pub(super) chroma: f32,
}

/// A picture's copy at most [`WORK_SIDE`] px on its long side and the blends its edges fit:
/// read once for the marks found from them (`find_in`, `blended_line`).
pub struct EdgeFits {
    /// The picture's size.
    pub(super) size: (u32, u32),
    pub(super) work: RgbImage,
    /// Picture pixels per work pixel.
    pub(super) scale: f32,
    /// Towards white, towards black.
    pub(super) fits: [Vec<Fit>; 2],
}

impl EdgeFits {
    pub fn of(image: &RgbImage) -> Self {
        let (work, scale) = work_copy(image);
        let fits = edge_fits(&work);
        EdgeFits { size: image.dimensions(), work, scale, fits }
    }
}

/// The blended marks of `image`, largest first.
pub fn find(image: &RgbImage) -> Vec<BlendMark> {
    find_in(&EdgeFits::of(image))
}

/// The blended marks of the picture `edges` were read from, largest first.
pub fn find_in(edges: &EdgeFits) -> Vec<BlendMark> {
    let (w, h) = edges.size;
    if w < 32 || h < 32 {
        return Vec::new();
    }
    let (work, scale) = (&edges.work, edges.scale);
    let mut marks = Vec::new();
    for (tint, fits) in [Tint::White, Tint::Black].into_iter().zip(&edges.fits) {
        // Arcs joined across short gaps, and across long ones (an outline the background
        // interrupts for long stretches): one can hold a shape the other merges away.
        for share in ARC_GAP_SHARES {
            for outline in outlines(work, fits, share) {
                if let Some(mark) = judge(work, fits, &outline, tint) {
                    marks.push(mark.to_full(w, h, scale));
                }
            }
        }
        // Round marks whose outline the background breaks into arcs too far apart to join.
        for outline in circles(work, fits) {
            if let Some(mark) = judge(work, fits, &outline, tint) {
                marks.push(mark.to_full(w, h, scale));
            }
        }
    }
    marks.sort_by_key(|m| std::cmp::Reverse(m.region.width * m.region.height));
    // A black and a white reading of one outline (a grey edge fits both): keep the larger.
    let mut kept: Vec<BlendMark> = Vec::new();
    for m in marks {
        if !kept.iter().any(|k| 2 * k.region.intersection(&m.region) >= m.region.width * m.region.height) {
            kept.push(m);
        }
    }
    kept
}

/// `image` at most [`WORK_SIDE`] px on its long side, and the picture pixels per copy pixel.
fn work_copy(image: &RgbImage) -> (RgbImage, f32) {
    let (w, h) = image.dimensions();
    let scale = (w.max(h) as f32 / WORK_SIDE as f32).max(1.0);
    if scale <= 1.0 {
        return (image.clone(), 1.0);
    }
    let (ww, wh) = (((w as f32 / scale).round() as u32).max(1), ((h as f32 / scale).round() as u32).max(1));
    let work = if scale > 2.0 {
        crate::imaging::shrink::shrink_area(image, ww, wh)
    } else {
        imageops::resize(image, ww, wh, FilterType::Triangle)
    };
    (work, scale)
}

/// Per edge pixel of `work`, the blend it fits, if any: towards white, and towards black (the
/// edges are found and read once for both).
pub(super) fn edge_fits(work: &RgbImage) -> [Vec<Fit>; 2] {
    let (w, h) = work.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let luma: Vec<f32> = work
        .pixels()
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    let at = |x: usize, y: usize| luma[y * wu + x];
    let mut grad = vec![(0.0f32, 0.0f32); wu * hu];
    for y in 1..hu - 1 {
        for x in 1..wu - 1 {
            let (gx, gy) = sobel(|dx, dy| at((x as isize + dx) as usize, (y as isize + dy) as usize));
            grad[y * wu + x] = (gx / 8.0, gy / 8.0);
        }
    }
    let mag = |x: usize, y: usize| {
        let (gx, gy) = grad[y * wu + x];
        (gx * gx + gy * gy).sqrt()
    };
    let margin = REACH.ceil() as usize + 2;
    let mut fits = [Vec::new(), Vec::new()];
    for y in margin..hu.saturating_sub(margin) {
        for x in margin..wu.saturating_sub(margin) {
            let m = mag(x, y);
            if m < EDGE_MIN {
                continue;
            }
            let (gx, gy) = grad[y * wu + x];
            let (nx, ny) = (gx / m, gy / m);
            // Non-maximum suppression along the gradient: one pixel per edge.
            let (sx, sy) = (nx.round() as isize, ny.round() as isize);
            let (ax, ay) = ((x as isize + sx) as usize, (y as isize + sy) as usize);
            let (bx, by) = ((x as isize - sx) as usize, (y as isize - sy) as usize);
            if mag(ax, ay) > m || mag(bx, by) >= m {
                continue;
            }
            let bright = bilinear_rgb(work, x as f32 + REACH * nx, y as f32 + REACH * ny);
            let dark = bilinear_rgb(work, x as f32 - REACH * nx, y as f32 - REACH * ny);
            let readings = [(Tint::White, bright, dark, (nx, ny)), (Tint::Black, dark, bright, (-nx, -ny))];
            for (out, (tint, blended, plain, inward)) in fits.iter_mut().zip(readings) {
                if let Some(alpha) = blend_alpha(blended, plain, tint.level()) {
                    let plain_luma = 0.299 * plain[0] + 0.587 * plain[1] + 0.114 * plain[2];
                    let chroma = plain.iter().copied().fold(f32::MIN, f32::max)
                        - plain.iter().copied().fold(f32::MAX, f32::min);
                    out.push(Fit { x: x as u32, y: y as u32, alpha, inward, plain: plain_luma, chroma });
                }
            }
        }
    }
    fits
}

/// The opacity `a` with `blended = a·colour + (1 − a)·plain` in all three channels, if one fits.
fn blend_alpha(blended: [f32; 3], plain: [f32; 3], colour: f32) -> Option<f32> {
    let room = [colour - plain[0], colour - plain[1], colour - plain[2]];
    if room.iter().any(|r| r.abs() < MIN_ROOM) {
        return None;
    }
    let (mut num, mut den) = (0.0f32, 0.0f32);
    for c in 0..3 {
        num += (blended[c] - plain[c]) * room[c];
        den += room[c] * room[c];
    }
    let a = num / den;
    if !(MIN_ALPHA..=1.05).contains(&a) {
        return None;
    }
    (0..3).all(|c| (blended[c] - plain[c] - a * room[c]).abs() <= FIT).then_some(a.min(1.0))
}

/// Outlines: fits joined through neighbours (within 2 px) of nearly the same opacity whose edges
/// run the same way (so that an outline does not wander into texture), then arcs of one opacity
/// whose boxes touch (a shape's outline is broken where its background leaves no room).
fn outlines(work: &RgbImage, fits: &[Fit], gap_share: f32) -> Vec<Vec<usize>> {
    let (w, h) = work.dimensions();
    let mut index = vec![u32::MAX; (w * h) as usize];
    for (i, f) in fits.iter().enumerate() {
        index[(f.y * w + f.x) as usize] = i as u32;
    }
    let mut parent: Vec<usize> = (0..fits.len()).collect();
    for (i, f) in fits.iter().enumerate() {
        for dy in 0..=2i32 {
            for dx in -2..=2i32 {
                if dy == 0 && dx <= 0 {
                    continue;
                }
                let (x, y) = (f.x as i32 + dx, f.y as i32 + dy);
                if x < 0 || x >= w as i32 || y >= h as i32 {
                    continue;
                }
                let j = index[(y as u32 * w + x as u32) as usize];
                if j == u32::MAX {
                    continue;
                }
                let g = &fits[j as usize];
                let along = f.inward.0 * g.inward.0 + f.inward.1 * g.inward.1;
                if (g.alpha - f.alpha).abs() <= SAME_ALPHA && along >= SAME_DIRECTION {
                    union(&mut parent, i, j as usize);
                }
            }
        }
    }
    let arcs: Vec<Vec<usize>> = groups(&mut parent).into_iter().filter(|g| g.len() >= MIN_ARC).collect();
    // Arcs of one opacity whose boxes touch are one outline.
    let boxes: Vec<(PixelBox, f32)> = arcs
        .iter()
        .map(|arc| {
            let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
            for &i in arc {
                let f = &fits[i];
                (x0, y0, x1, y1) = (x0.min(f.x), y0.min(f.y), x1.max(f.x + 1), y1.max(f.y + 1));
            }
            let mut alphas: Vec<f32> = arc.iter().map(|&i| fits[i].alpha).collect();
            alphas.sort_by(f32::total_cmp);
            (PixelBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, alphas[alphas.len() / 2])
        })
        .collect();
    let mut joined: Vec<usize> = (0..arcs.len()).collect();
    for i in 0..arcs.len() {
        for j in i + 1..arcs.len() {
            let (a, b) = (&boxes[i], &boxes[j]);
            let side = a.0.width.max(a.0.height).max(b.0.width).max(b.0.height);
            let gap = ARC_GAP.max((gap_share * side as f32) as u32) + 1;
            let near = PixelBox {
                x: a.0.x.saturating_sub(gap),
                y: a.0.y.saturating_sub(gap),
                width: a.0.width + 2 * gap,
                height: a.0.height + 2 * gap,
            };
            if (a.1 - b.1).abs() <= SAME_ALPHA && near.intersection(&b.0) > 0 {
                union(&mut joined, i, j);
            }
        }
    }
    groups(&mut joined)
        .into_iter()
        .map(|g| g.into_iter().flat_map(|a| arcs[a].iter().copied()).collect::<Vec<usize>>())
        .filter(|g| g.len() >= 2 * MIN_SIDE as usize)
        .collect()
}

/// Outlines of round marks, by a two-stage Hough transform per opacity: every fit votes for the
/// centres its blended side faces (at all radii a mark may have), in the bins of its opacity;
/// at each well-supported centre the fits facing it are counted by distance, and the best
/// radius's fits are the outline.
fn circles(work: &RgbImage, fits: &[Fit]) -> Vec<Vec<usize>> {
    let (w, h) = work.dimensions();
    let short = w.min(h) as f32;
    let (r_min, r_max) = ((MIN_SHARE * short / 2.0).max(MIN_SIDE as f32 / 2.0), MAX_SIDE * short / 2.0);
    let cell = HOUGH_CELL as f32;
    let (cw, ch) = ((w / HOUGH_CELL + 1) as usize, (h / HOUGH_CELL + 1) as usize);
    // Votes per tenth of opacity; a centre is read over two neighbouring tenths, so that an
    // outline at 0.49–0.51 is not split.
    const ALPHA_BINS: usize = 11;
    let tenth = |a: f32| ((a * 10.0) as usize).min(ALPHA_BINS - 2);
    let bins_of = |a: f32| {
        let k = tenth(a);
        [k.saturating_sub(1), k]
    };
    let plane = cw * ch;
    let mut votes = vec![0u16; ALPHA_BINS * plane];
    for f in fits {
        let base = tenth(f.alpha) * plane;
        let mut last = usize::MAX;
        let mut r = r_min;
        while r <= r_max {
            let (cx, cy) = (f.x as f32 + r * f.inward.0, f.y as f32 + r * f.inward.1);
            if cx < 0.0 || cy < 0.0 || cx >= w as f32 || cy >= h as f32 {
                break;
            }
            let i = base + (cy / cell) as usize * cw + (cx / cell) as usize;
            if i != last {
                votes[i] = votes[i].saturating_add(1);
                last = i;
            }
            r += 1.0;
        }
    }
    // Centres: 3×3 vote sums over tenths k and k + 1, enough for a circle of the smallest radius.
    let pair = |k: usize, i: usize| u32::from(votes[k * plane + i]) + u32::from(votes[(k + 1) * plane + i]);
    let sum3 = |k: usize, x: usize, y: usize| {
        let mut s = 0u32;
        for yy in y.saturating_sub(1)..=(y + 1).min(ch - 1) {
            for xx in x.saturating_sub(1)..=(x + 1).min(cw - 1) {
                s += pair(k, yy * cw + xx);
            }
        }
        s
    };
    let floor = (MIN_CIRCLE_SUPPORT * std::f32::consts::TAU * r_min) as u32;
    let mut centres: Vec<(u32, usize, f32, f32)> = Vec::new();
    for k in 0..ALPHA_BINS - 1 {
        for y in 0..ch {
            for x in 0..cw {
                // A peak's own cell holds at least a ninth of its 3×3 sum.
                if pair(k, y * cw + x) * 9 < floor {
                    continue;
                }
                let v = sum3(k, x, y);
                if v >= floor {
                    centres.push((v, k, (x as f32 + 0.5) * cell, (y as f32 + 0.5) * cell));
                }
            }
        }
    }
    centres.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut chosen: Vec<(usize, f32, f32)> = Vec::new();
    for (_, k, cx, cy) in centres {
        if chosen.len() >= MAX_CIRCLES {
            break;
        }
        if !chosen.iter().any(|&(kk, x, y)| kk.abs_diff(k) <= 1 && (x - cx).hypot(y - cy) < r_min) {
            chosen.push((k, cx, cy));
        }
    }
    let mut out = Vec::new();
    for (k, cx, cy) in chosen {
        let facing: Vec<(usize, f32)> = fits
            .iter()
            .enumerate()
            .filter(|(_, f)| bins_of(f.alpha).contains(&k))
            .filter_map(|(i, f)| {
                let (dx, dy) = (cx - f.x as f32, cy - f.y as f32);
                let d = dx.hypot(dy);
                (d >= r_min - 2.0 && d <= r_max + 2.0 && (f.inward.0 * dx + f.inward.1 * dy) >= 0.8 * d)
                    .then_some((i, d))
            })
            .collect();
        // The radius most fits lie at (within the centre's cell), relative to its circumference.
        let mut by_distance = vec![0u32; r_max as usize + 4];
        for &(_, d) in &facing {
            by_distance[d as usize] += 1;
        }
        let best = (r_min as usize..by_distance.len() - 2)
            .map(|r| {
                let n: u32 = by_distance[r - 2..=r + 2].iter().sum();
                (n as f32 / (std::f32::consts::TAU * r as f32), r as f32)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((support, r)) = best
            && support >= MIN_CIRCLE_SUPPORT
        {
            out.push(facing.iter().filter(|(_, d)| (d - r).abs() <= 2.5).map(|(i, _)| *i).collect());
        }
    }
    out
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (root(parent, a), root(parent, b));
    parent[ra] = rb;
}

/// The members of each set of a union-find forest.
fn groups(parent: &mut [usize]) -> Vec<Vec<usize>> {
    let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for i in 0..parent.len() {
        let r = root(parent, i);
        by_root.entry(r).or_default().push(i);
    }
    by_root.into_values().collect()
}

/// A blended mark in work pixels, before it is scaled to the picture.
struct WorkMark {
    region: PixelBox,
    tint: Tint,
    alpha: f32,
    cover: Vec<u8>,
}

/// The outline's reach from the centre of its box in each of [`BINS`] directions (`None` where
/// it has no pixel).
fn radial_profile(members: &[&Fit], (cx, cy): (f32, f32)) -> [Option<f32>; BINS] {
    let mut reach = [None; BINS];
    for f in members {
        let (dx, dy) = (f.x as f32 - cx, f.y as f32 - cy);
        let b = bin(dx, dy);
        let d = (dx * dx + dy * dy).sqrt();
        reach[b] = Some(reach[b].map_or(d, |r: f32| r.max(d)));
    }
    reach
}

/// The direction bin of an offset from a centre.
fn bin(dx: f32, dy: f32) -> usize {
    let t = dy.atan2(dx) + std::f32::consts::PI;
    ((t / std::f32::consts::TAU * BINS as f32) as usize).min(BINS - 1)
}

/// Whether `outline` is a blended mark's, and if so which pixels it covers.
fn judge(work: &RgbImage, fits: &[Fit], outline: &[usize], tint: Tint) -> Option<WorkMark> {
    let (w, h) = work.dimensions();
    // The outline's opacity: its median; pixels far from it are other edges it touched.
    let mut alphas: Vec<f32> = outline.iter().map(|&i| fits[i].alpha).collect();
    alphas.sort_by(f32::total_cmp);
    let alpha = alphas[alphas.len() / 2];
    let members: Vec<&Fit> =
        outline.iter().map(|&i| &fits[i]).filter(|f| (f.alpha - alpha).abs() <= 2.0 * SAME_ALPHA).collect();
    if members.len() < 2 * MIN_SIDE as usize {
        return None;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for f in &members {
        (x0, y0, x1, y1) = (x0.min(f.x), y0.min(f.y), x1.max(f.x + 1), y1.max(f.y + 1));
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    let short = w.min(h) as f32;
    if (bw.min(bh) as f32) < MIN_SHARE * short
        || bw.min(bh) < MIN_SIDE
        || bw.max(bh) as f32 > MAX_SIDE * short
    {
        return None;
    }
    let gap_x = x0.min(w - x1) as f32 / w as f32;
    let gap_y = y0.min(h - y1) as f32 / h as f32;
    if gap_x.min(gap_y) > BORDER_BAND {
        return None;
    }
    // An outline ending within a few pixels of the frame runs into it.
    let reach = (REACH.ceil() as u32) + 3;
    let touches = [x0 <= reach, y0 <= reach, x1 + reach >= w, y1 + reach >= h];
    let centre = ((x0 + x1) as f32 / 2.0, (y0 + y1) as f32 / 2.0);
    let profile = radial_profile(&members, centre);
    // The rim: members at the outline's outer reach in their direction (a letter inside a disc,
    // a logo on a plate, are not its outline).
    let rim: Vec<&Fit> = members
        .iter()
        .copied()
        .filter(|f| {
            let (dx, dy) = (f.x as f32 - centre.0, f.y as f32 - centre.1);
            profile[bin(dx, dy)].is_some_and(|r| (dx * dx + dy * dy).sqrt() >= r - RIM_DEPTH)
        })
        .collect();
    let n = rim.len() as f32;
    let mean = rim.iter().map(|f| f.alpha).sum::<f32>() / n;
    let spread = (rim.iter().map(|f| (f.alpha - mean).powi(2)).sum::<f32>() / n).sqrt();
    let plain_mean = rim.iter().map(|f| f.plain).sum::<f32>() / n;
    let plain_spread = (rim.iter().map(|f| (f.plain - plain_mean).powi(2)).sum::<f32>() / n).sqrt();
    let informative = rim.iter().filter(|f| f.chroma >= MIN_CHROMA).count() as f32 / n;
    let inward = rim
        .iter()
        .filter(|f| f.inward.0 * (centre.0 - f.x as f32) + f.inward.1 * (centre.1 - f.y as f32) > 0.0)
        .count() as f32
        / n;
    let closed = closure(&profile, (x0, y0, x1, y1), touches);
    let drawn = regularity(&rim, (x0, y0, x1, y1));
    let coloured = informative >= if mean > MAX_UNBLEND { MIN_INFORMATIVE_PLATE } else { MIN_INFORMATIVE };
    let tracks = || {
        tint == Tint::White && mean <= MAX_UNBLEND && uniform_spread(&rim, tint) >= MIN_UNIFORM_RATIO * spread
    };
    if mean < MIN_MARK_ALPHA
        || spread > MAX_ALPHA_SPREAD
        || plain_spread < MIN_BACKGROUND_SPREAD
        || !(coloured || tracks())
        || inward < MIN_INWARD
        || closed < MIN_CLOSURE
        || drawn < MIN_REGULARITY
    {
        return None;
    }
    let opaque = mean > MAX_UNBLEND;
    // An opaque plate carries something (a blank white patch is a label or a sheet of paper in
    // the scene): edges of its colour inside the rim.
    if opaque && ((members.len() - rim.len()) as f32) < MIN_PLATE_CONTENT * n {
        return None;
    }
    // The shape's inner edges of its opacity split it too, whether or not they joined the
    // outline (a letter knocked out of a disc whose outline was found as a circle); stray fits
    // of the picture under the mark do not (each would be filled as rim).
    let inner: Vec<&Fit> = fits
        .iter()
        .filter(|f| {
            (x0..x1).contains(&f.x) && (y0..y1).contains(&f.y) && (f.alpha - alpha).abs() <= 2.0 * SAME_ALPHA
        })
        .collect();
    let mut splitting = arcs_of(&inner, (x0, y0, bw, bh));
    let drawn_through: std::collections::HashSet<(u32, u32)> = splitting.iter().map(|f| (f.x, f.y)).collect();
    splitting.extend(members.iter().filter(|f| !drawn_through.contains(&(f.x, f.y))));
    let cover = coverage(&splitting, &profile, centre, (x0, y0, bw, bh), touches, opaque)?;
    Some(WorkMark { region: PixelBox { x: x0, y: y0, width: bw, height: bh }, tint, alpha: mean, cover })
}

/// The fits among `fits` (all inside the box `(x0, y0, bw, bh)`) that run on as an arc of at
/// least [`INNER_ARC`] pixels, 8-connected: an edge drawn through the mark, not texture.
fn arcs_of<'a>(fits: &[&'a Fit], (x0, y0, bw, bh): (u32, u32, u32, u32)) -> Vec<&'a Fit> {
    let (w, h) = (bw as usize, bh as usize);
    let mut at = vec![usize::MAX; w * h];
    for (i, f) in fits.iter().enumerate() {
        at[(f.y - y0) as usize * w + (f.x - x0) as usize] = i;
    }
    let mut parent: Vec<usize> = (0..fits.len()).collect();
    for (i, f) in fits.iter().enumerate() {
        let (x, y) = ((f.x - x0) as usize, (f.y - y0) as usize);
        // The neighbours already seen in scan order: left, and the three above.
        for (dx, dy) in [(-1i64, 0i64), (-1, -1), (0, -1), (1, -1)] {
            let (nx, ny) = (x as i64 + dx, y as i64 + dy);
            if nx >= 0 && ny >= 0 && (nx as usize) < w && (ny as usize) < h {
                let j = at[ny as usize * w + nx as usize];
                if j != usize::MAX {
                    union(&mut parent, i, j);
                }
            }
        }
    }
    let mut size = vec![0usize; fits.len()];
    for i in 0..fits.len() {
        size[root(&mut parent, i)] += 1;
    }
    (0..fits.len()).filter(|&i| size[root(&mut parent, i)] >= INNER_ARC).map(|i| fits[i]).collect()
}

/// The spread of the opacities a uniform shape of the rim's mean shown level would fit along the
/// rim: `(Ō − B) / (C − B)` against each fit's plain side `B`. A blend's shown level follows its
/// background; a grey shape's stays where it is, so its opacity moves with the background.
fn uniform_spread(rim: &[&Fit], tint: Tint) -> f32 {
    let colour = tint.level();
    let n = rim.len() as f32;
    let shown = rim.iter().map(|f| f.alpha * colour + (1.0 - f.alpha) * f.plain).sum::<f32>() / n;
    // The plain side has at least MIN_ROOM levels of room towards the colour (`blend_alpha`).
    let alphas: Vec<f32> = rim.iter().map(|f| (shown - f.plain) / (colour - f.plain)).collect();
    let mean = alphas.iter().sum::<f32>() / n;
    (alphas.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / n).sqrt()
}

/// The fraction of directions around the centre in which the outline has a pixel, of those not
/// cut off by a side of the box that lies on the frame. Gaps of up to [`SHORT_GAP`] directions
/// count as closed: an outline vanishes where its background leaves no room, or where a logo on
/// a plate touches the plate's edge.
fn closure(profile: &[Option<f32>; BINS], (x0, y0, x1, y1): (u32, u32, u32, u32), touches: [bool; 4]) -> f32 {
    let (hw, hh) = ((x1 - x0) as f32 / 2.0, (y1 - y0) as f32 / 2.0);
    let open: Vec<bool> = (0..BINS).map(|b| !touches[exit_side(b, hw, hh)]).collect();
    let n_open = open.iter().filter(|o| **o).count();
    if n_open == 0 {
        return 0.0;
    }
    // Runs of missing open directions, around the circle (directions cut off are skipped).
    let order: Vec<usize> = (0..BINS).filter(|&b| open[b]).collect();
    let Some(start) = order.iter().position(|&b| profile[b].is_some()) else {
        return 0.0;
    };
    let (mut closed, mut run) = (0usize, 0usize);
    for k in 1..=order.len() {
        let b = order[(start + k) % order.len()];
        if profile[b].is_some() {
            closed += 1 + if run <= SHORT_GAP { run } else { 0 };
            run = 0;
        } else {
            run += 1;
        }
    }
    closed as f32 / n_open as f32
}

/// The largest fraction of `rim` within a couple of pixels of the box's sides (a rectangle,
/// rounded or not), of the ellipse the box holds, or of the circle fitted to the rim (a disc cut
/// by the frame).
fn regularity(rim: &[&Fit], (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f32 {
    let n = rim.len() as f32;
    let tol = |r: f32| (0.06 * r).max(2.0);
    let (fx0, fy0, fx1, fy1) = (x0 as f32, y0 as f32, (x1 - 1) as f32, (y1 - 1) as f32);
    let side_tol = tol((x1 - x0).min(y1 - y0) as f32 / 2.0);
    let on_sides = rim
        .iter()
        .filter(|f| {
            let (x, y) = (f.x as f32, f.y as f32);
            [(x - fx0).abs(), (x - fx1).abs(), (y - fy0).abs(), (y - fy1).abs()]
                .into_iter()
                .fold(f32::MAX, f32::min)
                <= side_tol
        })
        .count() as f32
        / n;
    let (cx, cy) = ((fx0 + fx1) / 2.0, (fy0 + fy1) / 2.0);
    let (a, b) = (((fx1 - fx0) / 2.0).max(1.0), ((fy1 - fy0) / 2.0).max(1.0));
    let on_ellipse = rim
        .iter()
        .filter(|f| {
            let (dx, dy) = ((f.x as f32 - cx) / a, (f.y as f32 - cy) / b);
            // Distance to the ellipse, roughly: the radial error scaled by the mean radius.
            ((dx * dx + dy * dy).sqrt() - 1.0).abs() * (a + b) / 2.0 <= tol((a + b) / 2.0)
        })
        .count() as f32
        / n;
    let on_circle = fit_circle(rim).map_or(0.0, |(ccx, ccy, r)| {
        rim.iter()
            .filter(|f| {
                let (dx, dy) = (f.x as f32 - ccx, f.y as f32 - ccy);
                ((dx * dx + dy * dy).sqrt() - r).abs() <= tol(r)
            })
            .count() as f32
            / n
    });
    on_sides.max(on_ellipse).max(on_circle)
}

/// The least-squares circle through the points (Kåsa's algebraic fit): centre and radius.
fn fit_circle(points: &[&Fit]) -> Option<(f32, f32, f32)> {
    // Minimise Σ (x² + y² + D·x + E·y + F)²: the normal equations, solved by Cramer's rule.
    let mut m = [[0.0f64; 3]; 3];
    let mut v = [0.0f64; 3];
    for f in points {
        let (x, y) = (f64::from(f.x), f64::from(f.y));
        let row = [x, y, 1.0];
        let z = -(x * x + y * y);
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += row[i] * row[j];
            }
            v[i] += row[i] * z;
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-9 {
        return None;
    }
    let solve = |k: usize| {
        let mut mk = m;
        for i in 0..3 {
            mk[i][k] = v[i];
        }
        det(&mk) / d
    };
    let (dd, ee, ff) = (solve(0), solve(1), solve(2));
    let (cx, cy) = (-dd / 2.0, -ee / 2.0);
    let r2 = cx * cx + cy * cy - ff;
    (r2 > 0.0).then(|| (cx as f32, cy as f32, r2.sqrt() as f32))
}

/// Which side of a box (half sizes `hw`, `hh`) the ray from its centre in direction bin `b`
/// leaves through: 0 left, 1 top, 2 right, 3 bottom.
fn exit_side(b: usize, hw: f32, hh: f32) -> usize {
    let t = (b as f32 + 0.5) / BINS as f32 * std::f32::consts::TAU - std::f32::consts::PI;
    let (dx, dy) = (t.cos(), t.sin());
    if dx.abs() * hh >= dy.abs() * hw {
        if dx < 0.0 { 0 } else { 2 }
    } else if dy < 0.0 {
        1
    } else {
        3
    }
}

/// Per pixel of the box `(x0, y0, bw, bh)`: 2 blended, 1 the outline (rim), 0 not the mark.
///
/// The shape is what lies within the outline's reach in each direction (the frame where the
/// outline runs into it). An opaque plate covers all of it. In a translucent shape the edges split
/// it into regions, and a region is left alone when more edge pixels look into it from their
/// plain side than from their blended side (a letter knocked out of a disc).
fn coverage(
    members: &[&Fit],
    profile: &[Option<f32>; BINS],
    (cx, cy): (f32, f32),
    (x0, y0, bw, bh): (u32, u32, u32, u32),
    touches: [bool; 4],
    opaque: bool,
) -> Option<Vec<u8>> {
    let (w, h) = (bw as usize, bh as usize);
    let (hw, hh) = (bw as f32 / 2.0, bh as f32 / 2.0);
    // Reach per direction; a direction without outline pixels takes the larger of the nearest
    // reaches either way round (an outline gap where the background leaves no room, as over a
    // white rocket under a white disc, is still the shape's), or, cut off by the frame, reaches
    // past the box.
    let nearest = |b: usize, step: usize| (1..BINS).find_map(|k| profile[(b + k * step) % BINS]);
    let reach: Vec<f32> = (0..BINS)
        .map(|b| match profile[b] {
            Some(r) => r,
            None if touches[exit_side(b, hw, hh)] => f32::MAX,
            None => match (nearest(b, 1), nearest(b, BINS - 1)) {
                (Some(a), Some(c)) => a.max(c),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => 0.0,
            },
        })
        .collect();
    let inside = |x: usize, y: usize| {
        let (dx, dy) = ((x0 as usize + x) as f32 + 0.5 - cx, (y0 as usize + y) as f32 + 0.5 - cy);
        (dx * dx + dy * dy).sqrt() <= reach[bin(dx, dy)] + 0.5
    };
    let mut cover = vec![0u8; w * h];
    for f in members {
        for dy in -1..=1i32 {
            for dx in -1..=1i32 {
                let (x, y) = (f.x as i32 - x0 as i32 + dx, f.y as i32 - y0 as i32 + dy);
                if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                    cover[y as usize * w + x as usize] = 1;
                }
            }
        }
    }
    // Regions of the box between the edges (4-connected).
    let mut label = vec![u32::MAX; w * h];
    let mut regions = 0u32;
    for start in 0..w * h {
        if cover[start] != 0 || label[start] != u32::MAX {
            continue;
        }
        label[start] = regions;
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if cover[j] == 0 && label[j] == u32::MAX {
                    label[j] = regions;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        regions += 1;
    }
    let mut votes = vec![0i32; regions as usize];
    let look = REACH + 1.0;
    for f in members {
        for (sign, vote) in [(1.0f32, 1i32), (-1.0, -1)] {
            let x = (f.x as f32 + sign * look * f.inward.0).round() as i32 - x0 as i32;
            let y = (f.y as f32 + sign * look * f.inward.1).round() as i32 - y0 as i32;
            if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                let l = label[y as usize * w + x as usize];
                if l != u32::MAX {
                    votes[l as usize] += vote;
                }
            }
        }
    }
    let mut any = false;
    for (i, c) in cover.iter_mut().enumerate() {
        let within = inside(i % w, i / w);
        if !within {
            *c = 0;
        } else if *c == 0 && (opaque || votes[label[i] as usize] >= 0) {
            *c = 2;
            any = true;
        }
    }
    any.then_some(cover)
}

impl WorkMark {
    /// The mark in the picture's pixels (`scale` picture px per work px).
    fn to_full(&self, w: u32, h: u32, scale: f32) -> BlendMark {
        let r = self.region;
        // One work pixel of margin: the rim's antialiasing reaches past the outline's pixels.
        let x = ((r.x as f32 - 1.0).max(0.0) * scale).floor() as u32;
        let y = ((r.y as f32 - 1.0).max(0.0) * scale).floor() as u32;
        let x1 = (((r.x + r.width + 1) as f32 * scale).ceil() as u32).min(w);
        let y1 = (((r.y + r.height + 1) as f32 * scale).ceil() as u32).min(h);
        let region = PixelBox { x, y, width: x1 - x, height: y1 - y };
        let (rw, rh) = (r.width as i64, r.height as i64);
        let mut cover = vec![0u8; (region.width * region.height) as usize];
        for fy in 0..region.height {
            for fx in 0..region.width {
                let wx = (((x + fx) as f32 + 0.5) / scale).floor() as i64 - r.x as i64;
                let wy = (((y + fy) as f32 + 0.5) / scale).floor() as i64 - r.y as i64;
                if wx >= 0 && wy >= 0 && wx < rw && wy < rh {
                    cover[(fy * region.width + fx) as usize] = self.cover[(wy * rw + wx) as usize];
                }
            }
        }
        BlendMark { region, tint: self.tint, alpha: self.alpha, cover }
    }
}

impl BlendMark {
    /// Whether the mark is opaque (filled, not inverted).
    pub fn opaque(&self) -> bool {
        self.alpha > MAX_UNBLEND
    }

    /// Removes a translucent mark from `image`: inverts the blend over its blended pixels, then
    /// inpaints the rim and whatever the inversion cannot explain. (An opaque plate has nothing
    /// to invert: the caller fills it.)
    pub fn remove(&self, image: &mut RgbImage) {
        let (w, h) = image.dimensions();
        let r = self.region;
        let mut fill = GrayImage::new(w, h);
        let colour = self.tint.level();
        let alpha = self.alpha.min(MAX_UNBLEND);
        for (i, &c) in self.cover.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let (x, y) = (r.x + i as u32 % r.width, r.y + i as u32 / r.width);
            if c == 1 {
                fill.put_pixel(x, y, Luma([255]));
                continue;
            }
            let p = image.get_pixel_mut(x, y);
            let mut strange = false;
            for ch in 0..3 {
                let b = (f32::from(p[ch]) - alpha * colour) / (1.0 - alpha);
                strange |= !(-OUT_OF_RANGE..=255.0 + OUT_OF_RANGE).contains(&b);
                p[ch] = b.round().clamp(0.0, 255.0) as u8;
            }
            if strange {
                fill.put_pixel(x, y, Luma([255]));
            }
        }
        inpaint_telea(image, &fill, RIM_FILL_RADIUS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A textured photo-like background: gradients and stripes of varied colour.
    fn background(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let r = 90.0 + 60.0 * (fx / 37.0).sin() + 40.0 * (fy / 23.0).cos();
            let g = 110.0 + 50.0 * (fy / 29.0).sin() * (fx / 51.0).cos();
            let b = 80.0 + 0.15 * fx + 30.0 * ((fx + fy) / 17.0).sin();
            Rgb([r.clamp(0.0, 255.0) as u8, g.clamp(0.0, 255.0) as u8, b.clamp(0.0, 255.0) as u8])
        })
    }

    /// Blends a white disc of `radius` centred at (cx, cy) at `alpha` (4×4 supersampled edge).
    fn disc(img: &mut RgbImage, (cx, cy): (f32, f32), radius: f32, alpha: f32) {
        for (x, y, p) in img.enumerate_pixels_mut() {
            let mut hits = 0;
            for s in 0..16 {
                let fx = x as f32 + ((s % 4) as f32 + 0.5) / 4.0 - cx;
                let fy = y as f32 + ((s / 4) as f32 + 0.5) / 4.0 - cy;
                hits += usize::from(fx * fx + fy * fy <= radius * radius);
            }
            let a = alpha * hits as f32 / 16.0;
            for c in 0..3 {
                p[c] = (f32::from(p[c]) * (1.0 - a) + 255.0 * a).round() as u8;
            }
        }
    }

    fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
        let se: f64 =
            a.as_raw().iter().zip(b.as_raw()).map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2)).sum();
        10.0 * (255.0f64.powi(2) / (se / a.as_raw().len() as f64).max(1e-6)).log10()
    }

    #[test]
    fn a_translucent_disc_in_a_corner_is_found_and_unblended() {
        // GIVEN a textured picture with a white disc at 45 % in its lower-left corner
        let clean = background(480, 320);
        let mut marked = clean.clone();
        disc(&mut marked, (70.0, 250.0), 48.0, 0.45);
        // WHEN blended marks are looked for
        let marks = find(&marked);
        // THEN exactly the disc is found, white, with its opacity
        assert_eq!(marks.len(), 1, "{:?}", marks.iter().map(|m| m.region).collect::<Vec<_>>());
        let m = &marks[0];
        assert_eq!(m.tint, Tint::White);
        assert!((m.alpha - 0.45).abs() < 0.05, "alpha {}", m.alpha);
        let r = m.region;
        assert!(r.x <= 24 && r.x + r.width >= 116 && r.y <= 204 && r.y + r.height >= 296, "{r:?}");
        assert!(r.width <= 110 && r.height <= 110, "{r:?}");
        // AND removing it brings the picture back (PSNR well above the marked one's)
        let before = psnr(&marked, &clean);
        let mut out = marked.clone();
        m.remove(&mut out);
        let after = psnr(&out, &clean);
        assert!(after > before + 15.0 && after > 38.0, "PSNR {before:.1} → {after:.1} dB");
    }

    #[test]
    fn a_letter_knocked_out_of_a_disc_is_left_as_it_is() {
        // GIVEN a 50 % white disc with a bar knocked out of it (the picture shows through)
        let clean = background(480, 320);
        let mut marked = clean.clone();
        let (cx, cy, radius) = (400.0f32, 80.0f32, 50.0f32);
        let hole = |x: u32, y: u32| (385..415).contains(&x) && (60..100).contains(&y);
        for (x, y, p) in marked.enumerate_pixels_mut() {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            if dx * dx + dy * dy <= radius * radius && !hole(x, y) {
                for c in 0..3 {
                    p[c] = (f32::from(p[c]) * 0.5 + 127.5).round() as u8;
                }
            }
        }
        // WHEN it is found and removed
        let marks = find(&marked);
        assert_eq!(marks.len(), 1, "{:?}", marks.iter().map(|m| m.region).collect::<Vec<_>>());
        let mut out = marked.clone();
        marks[0].remove(&mut out);
        // THEN the hole's inside (away from its rim) keeps the picture's own pixels
        let mut changed = 0;
        for y in 64..96 {
            for x in 389..411 {
                changed += usize::from(out.get_pixel(x, y) != clean.get_pixel(x, y));
            }
        }
        assert!(changed * 20 <= 32 * 22, "{changed} of the hole's pixels changed");
        // AND the picture comes back
        assert!(psnr(&out, &clean) > psnr(&marked, &clean) + 10.0);
    }

    /// A grey wall, colourless, its level wandering `swing` levels either way around `level`.
    fn grey_wall(w: u32, h: u32, level: f32, swing: f32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let v = level + swing * (fx / 23.0).sin() * (fy / 19.0).cos() + 0.05 * fy - 0.03 * fx;
            let v = v.clamp(0.0, 255.0) as u8;
            Rgb([v, v, v])
        })
    }

    /// Whether (x, y) is in the disc of `radius` around (cx, cy).
    fn in_disc(x: u32, y: u32, (cx, cy): (f32, f32), radius: f32) -> bool {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        dx * dx + dy * dy <= radius * radius
    }

    #[test]
    fn a_white_disc_over_a_grey_wall_is_found_as_its_inside_follows_the_wall() {
        // GIVEN a colourless wall with a 60 % white disc in its top-right corner, a bar knocked
        // out of it (colour says nothing here: any two greys fit some blend)
        let clean = grey_wall(512, 512, 175.0, 35.0);
        let hole = |x: u32, y: u32| (444..456).contains(&x) && (44..76).contains(&y);
        let mut marked = clean.clone();
        for (x, y, p) in marked.enumerate_pixels_mut() {
            if in_disc(x, y, (450.0, 60.0), 34.0) && !hole(x, y) {
                for c in 0..3 {
                    p[c] = (f32::from(p[c]) * 0.4 + 0.6 * 255.0).round() as u8;
                }
            }
        }
        // WHEN blended marks are looked for
        let marks = find(&marked);
        // THEN the disc is found: its inside follows the wall as a blend's does
        assert_eq!(marks.len(), 1, "{:?}", marks.iter().map(|m| m.region).collect::<Vec<_>>());
        assert!((marks[0].alpha - 0.6).abs() < 0.05, "alpha {}", marks[0].alpha);
        // AND un-blended, it gives the wall back, the bar included
        let mut out = marked.clone();
        marks[0].remove(&mut out);
        assert!(psnr(&out, &clean) > psnr(&marked, &clean) + 10.0);
    }

    #[test]
    fn a_grey_coin_on_a_dark_table_is_not_a_blend() {
        // GIVEN a uniform grey disc on a dark, colourless table whose level varies: along its
        // rim each pixel fits a white blend, of opacities only ~0.03 apart
        let mut img = grey_wall(512, 512, 60.0, 22.0);
        for (x, y, p) in img.enumerate_pixels_mut() {
            if in_disc(x, y, (450.0, 60.0), 34.0) {
                *p = Rgb([140, 140, 140]);
            }
        }
        // THEN nothing blended is found: a blend's inside would follow the table
        let marks = find(&img);
        assert!(marks.is_empty(), "{:?}", marks.iter().map(|m| m.region).collect::<Vec<_>>());
    }

    #[test]
    fn scene_shapes_without_a_blend_are_not_marks() {
        // GIVEN the textured picture with an opaque grey-green blob (a scene object)
        let mut img = background(480, 320);
        for (x, y, p) in img.enumerate_pixels_mut() {
            let (dx, dy) = (x as f32 - 70.0, y as f32 - 250.0);
            if dx * dx + dy * dy <= 48.0 * 48.0 {
                *p = Rgb([70, 120 + (x % 7) as u8 * 9, 60]);
            }
        }
        // THEN nothing blended is found
        assert!(find(&img).is_empty());
    }
}
