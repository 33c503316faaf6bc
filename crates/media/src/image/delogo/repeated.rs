//! Stock-photo watermarks: the same semi-transparent text repeated over the picture ("123RF",
//! "PREVIEW"), found as text lines of one size and one look, and removed by un-blending rather
//! than inpainting, so that the photo under the strokes comes back.
//!
//! A mark blended with opacity `a(p)` and colour `C` over the photo `B` shows `O = (1 − a)·B +
//! a·C`. Every repetition shares `a` and `C` over a different `B`: per tile, `B` is estimated
//! smoothly from around the tile, each tile gives `a = (O − B) / (C − B)`, and the median over the
//! tiles, weighted towards tiles over calm photo (see [`tile_alpha`]), is the mark's alpha. Each
//! tile is then inverted: `B = (O − a·C) / (1 − a)`. `C` is white or black, whichever way the
//! tiles depart from their background.

use image::imageops::FilterType;
use image::{GrayImage, Luma, RgbImage};

use super::mask::smooth_background;
use super::telea::inpaint_telea;
use crate::imaging::decimated::{self, Decimated, dot, every_step};
use crate::imaging::geometry::PixelBox;
use crate::imaging::parallel;
use crate::vision::Rect;
use crate::vision::text::TextLine;

/// At least this many repetitions make a repeated mark (two could be a headline and its echo).
pub const MIN_TILES: usize = 3;
/// Repetitions have the same size within this ratio…
const SAME_SIZE: f32 = 0.2;
/// …and look alike: normalised correlation of their high-pass patches to the group's first.
const SAME_LOOK: f32 = 0.4;
/// Lines are compared scaled to about this height (pixels), if higher.
const LOOK_HEIGHT: f32 = 28.0;
/// Alpha below this is the photo, not the mark; above [`MAX_ALPHA`] inversion amplifies noise.
const MIN_ALPHA: f32 = 0.04;
const MAX_ALPHA: f32 = 0.85;
/// At most this many tiles estimate a mark's alpha (see [`calmest`]).
const ESTIMATE_TILES: usize = 10;
/// A place matches the found tiles at this normalised correlation of high-passes or more…
const MATCH: f32 = 0.45;
/// …searched on a copy scaled so that a tile is about this wide (and the copy at most
/// [`SEARCH_SIDE`] wide).
const SEARCH_WIDTH: u32 = 48;
/// …or this high, whichever copy is larger: a long word ("shutterstock", six times as wide as
/// high) at 48 px wide is 8 px high, where its strokes blur into one bar.
const SEARCH_HEIGHT: u32 = 14;
const SEARCH_SIDE: u32 = 640;
/// More places than this matching the found tiles are the picture's own texture, not a mark's
/// repetitions: the development sets' stock marks have at most 55 tiles, while a wood grain at
/// 3,000 px matched four 19×13 px boxes 5,967 times (and fitting a lattice to those took 25 s).
const MAX_EXTENDED: usize = 240;
/// A lattice is fitted to at least this many tiles…
const LATTICE_TILES: usize = 4;
/// …from steps between the first this many centres and the rest…
const LATTICE_STEP_FROM: usize = 64;
/// …tried from at most this many of them as the lattice's point, where it needs to explain only
/// three in five of the centres (16 tries all miss it with odds of (2/5)^16, under one in a
/// million)…
const LATTICE_ORIGINS: usize = 16;
/// …every centre within this many pixels of a lattice place…
const LATTICE_FIT: f32 = 6.0;
/// …or a tile's height over this, if more: the detector's boxes wander with the text's size (a
/// box 57 px high among 69 px ones sat 11 px off its lattice place on the 3840 px case's copy).
const LATTICE_FIT_PER_HEIGHT: f32 = 5.0;
/// …and a predicted place holds the mark when its lift towards the mark's colour, against the
/// lift the mark's alpha predicts there, fits with a gain in this range.
const LATTICE_LIFT: std::ops::RangeInclusive<f32> = 0.6..=1.6;
/// Lines lower than this (pixels) are specks the detector reads in textures, not a word.
pub(super) const MIN_HEIGHT: f32 = 8.0;
/// A stock mark lets the photo show through: a mean alpha over its strokes above this is an
/// opaque pattern of the photo, not a blended mark.
const MAX_MEAN_ALPHA: f32 = 0.6;
/// A tile's alpha estimate is weighted by `1 / (busy + BUSY_FLOOR)` (levels of high-pass RMS;
/// the floor keeps flat sky from outvoting everything on its JPEG noise alone)…
const BUSY_FLOOR: f32 = 2.0;
/// …`busy` measured over a tile's height / this each way around the pixel, at least
/// [`BUSY_REACH_MIN`] px (6 px on a 640 px photo's 54 px tiles, 10 px at 1280 px).
const BUSY_REACH_PER_HEIGHT: u32 = 9;
const BUSY_REACH_MIN: u32 = 4;
/// Busyness is measured on a copy of the tile at most this many rows high.
const BUSY_ROWS: u32 = 96;
/// Each tile's box is searched this far (pixels) around where the text detector put it (its
/// boxes wander by a few pixels with the background).
pub(super) const ALIGN: i32 = 6;
/// …or a tile's height over this, up to [`ALIGN_MAX`].
pub(super) const ALIGN_PER_HEIGHT: i32 = 8;
pub(super) const ALIGN_MAX: i32 = 16;
/// Tiles taller than this many rows are compared on a sample of their rows and columns.
pub(super) const ALIGN_ROWS: u32 = 48;
/// The photo under a tall tile's strokes is filled at about this many rows.
const UNDER_ROWS: u32 = 64;
/// Boxes taller than 5/4 of this are estimated on a copy where they are this tall.
const WORK_ROWS: u32 = 72;
/// A copy more than this many times smaller is shrunk by sampling ([`sampled_shrink`]): a
/// search from one line over a 12 MP photo. Not below: that copy is sharper than a Triangle
/// filter's, and on the 3840 px case's copy (4.5×) fewer places reached [`MATCH`] (18 against
/// 21, 44 against 48), which un-blended to +0.1 dB instead of +10.0…
const SAMPLED_SHRINK_FROM: f32 = 6.0;
/// …each of its pixels the mean of this many source pixels across and down.
const SHRINK_SAMPLES: u32 = 4;
/// The first estimate's photo under a tile is filled on a copy where the tile covers at most
/// this many pixels: a coarser fill is smoother, less pulled by the mark's own strokes at the
/// tile's rim, and far cheaper (a 257×81 tile took 0.2 s at full size). Measured over the
/// tiled development cases (whole-picture gain, dB), against a fill at full size up to 24,000
/// pixels: 3,000 gave 123RF 1280 px +12.9 (+12.1), 3840 px +12.7 (+10.0), the black PROOF +6.5
/// (+5.8), SAMPLE 902 px +13.0 (+13.2); 6,000 and 9,000 were in between.
const FIRST_FILL_AREA: u32 = 3000;
/// A mark's shadow is looked for this far around its strokes: the tile's height over this…
const SHADOW_REACH_PER_HEIGHT: u32 = 10;
/// …where alpha towards the other colour reaches this…
const MIN_SHADOW_ALPHA: f32 = 0.1;
/// …over at least this share of that ring (the development set's two shadowed marks measured
/// 22-25 %, the other tiled marks 0-6 %)…
const MIN_SHADOW_SHARE: f32 = 0.15;
/// …from at least this many tiles: over four, on the picture turned level, the canvas's empty
/// corners and a dark uniform made a "shadow" over a third of the ring (+10.1 -> +2.3 dB).
const MIN_SHADOW_TILES: usize = 5;
/// Pixels kept around a searched area so that the high-pass's blur sees past its edges.
pub(super) const BLUR_ROOM: u32 = 8;

/// A repeated mark: its tiles (all the same size, aligned on the mark) and its mean alpha over
/// the mark's strokes.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatedMark {
    pub tiles: Vec<PixelBox>,
    pub alpha: f32,
    /// The mark's colour: white (255) or black (0).
    pub colour: u8,
}

/// Text lines that repeat: the largest group of at least [`MIN_TILES`] lines of one size whose
/// high-pass patches correlate.
pub fn find(image: &RgbImage, lines: &[TextLine]) -> Option<Vec<PixelBox>> {
    let (w, h) = image.dimensions();
    let boxes: Vec<PixelBox> = lines
        .iter()
        .filter(|l| {
            let r = l.rect;
            // A line against the picture's edge may be a tile the edge cuts (the top of
            // "123RF" along the bottom of a photo): as a group they would make every tile that
            // part. Tiles there are placed from the lattice of the others (`super::cut`).
            let cut = against_edge(r, (w, h));
            l.score >= 0.6
                && l.tilt.abs() <= 5.0
                && r.width >= 1.5 * r.height
                && r.height >= MIN_HEIGHT
                && !cut
        })
        .map(|l| line_box(l.rect, (w, h)))
        .collect();
    // Compared at a common scale, lines about [`LOOK_HEIGHT`] px high: the high-pass then sees
    // the letters' outline whatever their size (the dev set's "123RF" tiles on a photo scaled to
    // 1280 px correlated at 0.16-0.45 at full size, below `SAME_LOOK`, and 0.49-0.65 so).
    let alike = |a: &PixelBox, b: &PixelBox| {
        let close = |a: u32, b: u32| (a as f32 - b as f32).abs() <= SAME_SIZE * a.max(b) as f32;
        close(a.width, b.width) && close(a.height, b.height)
    };
    // Most pictures have no three lines of one size: they need no scaled copy (0.2 s at 12 MP).
    if !boxes.iter().any(|seed| boxes.iter().filter(|b| alike(seed, b)).count() >= MIN_TILES) {
        return None;
    }
    let mut heights: Vec<u32> = boxes.iter().map(|b| b.height).collect();
    heights.sort_unstable();
    let scale = heights.get(heights.len() / 2).map_or(1.0, |m| (*m as f32 / LOOK_HEIGHT).max(1.0));
    let small;
    let (look_at, scaled): (&RgbImage, Vec<PixelBox>) = if scale > 1.25 {
        small = Shrunk::new(image, scale);
        (&small.image, boxes.iter().map(|b| small.shrink(b)).collect())
    } else {
        (image, boxes.clone())
    };
    // The detector reads each repetition with a box of its own: a few pixels wider here, a
    // letter shorter there. The group is returned as boxes of its seed's size, each moved to
    // where it best matches the seed, so that every box holds the same part of the mark (three
    // boxes of 162, 164 and 173 px over one "PREVIEW" made a blurred template that found one
    // more tile of eight).
    let mut best: Option<(usize, Vec<(usize, PixelBox)>)> = None;
    for (s, seed) in scaled.iter().enumerate() {
        let group: Vec<usize> = (0..scaled.len()).filter(|i| alike(seed, &scaled[*i])).collect();
        if group.len() < MIN_TILES || best.as_ref().is_some_and(|(_, b)| b.len() >= group.len()) {
            continue;
        }
        let reference = patch(look_at, *seed, (seed.width, seed.height));
        let same: Vec<(usize, PixelBox)> = group
            .into_iter()
            .map(|i| (i, best_alignment(look_at, &reference, *seed, scaled[i])))
            .filter(|(_, (score, _))| *score >= SAME_LOOK)
            .map(|(i, (_, aligned))| (i, aligned))
            .collect();
        if same.len() >= MIN_TILES && best.as_ref().is_none_or(|(_, b)| b.len() < same.len()) {
            best = Some((s, same));
        }
    }
    let (seed, group) = best?;
    let size = (boxes[seed].width, boxes[seed].height);
    // Each box moved by its alignment's offset, carried back to full size.
    let (sx, sy) = if scale > 1.25 {
        let (cw, ch) = look_at.dimensions();
        (w as f32 / cw as f32, h as f32 / ch as f32)
    } else {
        (1.0, 1.0)
    };
    // The seed first: `extend` takes the first box's size.
    let mut group = group;
    group.sort_by_key(|(i, _)| *i != seed);
    let aligned = group.into_iter().map(|(i, a)| {
        let (b, on) = (boxes[i], scaled[i]);
        let dx = ((a.centre().0 - on.centre().0) * sx).round() as i64;
        let dy = ((a.centre().1 - on.centre().1) * sy).round() as i64;
        let cx = i64::from(b.x) + i64::from(b.width) / 2 + dx;
        let cy = i64::from(b.y) + i64::from(b.height) / 2 + dy;
        PixelBox {
            x: (cx - i64::from(size.0) / 2).clamp(0, i64::from(w - size.0)) as u32,
            y: (cy - i64::from(size.1) / 2).clamp(0, i64::from(h - size.1)) as u32,
            width: size.0,
            height: size.1,
        }
    });
    Some(aligned.collect())
}

/// A line's box in whole pixels: its corner truncated, its size rounded, at least 1×1 and inside
/// the picture. (Not `find::to_box`, which takes the outer box: one pixel more either way turned
/// the coffee "PREVIEW" case from +8.7 dB to +0.1.)
pub(super) fn line_box(r: Rect, (w, h): (u32, u32)) -> PixelBox {
    let x = (r.x.max(0.0) as u32).min(w - 1);
    let y = (r.y.max(0.0) as u32).min(h - 1);
    PixelBox {
        x,
        y,
        width: (r.width.round() as u32).clamp(1, w - x),
        height: (r.height.round() as u32).clamp(1, h - y),
    }
}

/// Whether a line's box reaches the picture's edge (within a pixel): it may be a tile the edge
/// cuts.
pub(super) fn against_edge(r: Rect, (w, h): (u32, u32)) -> bool {
    r.x < 1.0 || r.y < 1.0 || r.right() > (w - 1) as f32 || r.bottom() > (h - 1) as f32
}

/// The tiles the text detector missed (faint ones, over busy photo): wherever the picture's
/// high-pass matches the mean of the found tiles' (normalised correlation ≥ [`MATCH`], searched
/// on a smaller copy), not overlapping a found tile.
/// Returns the found tiles and the new ones, all of the first tile's size; `None` when more than
/// [`MAX_EXTENDED`] places match (the likeness is the picture's texture).
pub fn extend(image: &RgbImage, found: &[PixelBox]) -> Option<Vec<PixelBox>> {
    let Some(first) = found.first() else { return Some(Vec::new()) };
    let (w, h) = image.dimensions();
    // The copy is at most SEARCH_SIDE wide too: small tiles on a big photo stay cheap to search.
    let fine = (first.width as f32 / SEARCH_WIDTH as f32).min(first.height as f32 / SEARCH_HEIGHT as f32);
    let s = fine.max(w as f32 / SEARCH_SIDE as f32).max(1.0);
    let (sw, sh) = (((w as f32 / s) as u32).max(1), ((h as f32 / s) as u32).max(1));
    let (tw, th) = (((first.width as f32 / s) as u32).max(4), ((first.height as f32 / s) as u32).max(4));
    if tw >= sw || th >= sh {
        return Some(found.to_vec());
    }
    // Much smaller: a sampled average (a Triangle filter over a 12 MP photo took 0.3 s).
    let small = if s > SAMPLED_SHRINK_FROM {
        sampled_shrink(image, sw, sh)
    } else {
        image::imageops::resize(image, sw, sh, image::imageops::FilterType::Triangle)
    };
    let high = high_pass(&small);
    let scaled = |b: &PixelBox| (((b.x as f32) / s) as u32, ((b.y as f32) / s) as u32);
    // The template: the found tiles' high-pass averaged (the photo under them averages out).
    let mut template = vec![0.0f32; (tw * th) as usize];
    for b in found {
        let (x, y) = scaled(b);
        if x + tw <= sw && y + th <= sh {
            for (row, t) in template.chunks_exact_mut(tw as usize).enumerate() {
                let from = ((y + row as u32) * sw + x) as usize;
                for (t, v) in t.iter_mut().zip(&high[from..from + tw as usize]) {
                    *t += v / found.len() as f32;
                }
            }
        }
    }
    let mut scores = matches(&high, (sw, sh), &template, (tw, th));
    scores.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut tiles: Vec<PixelBox> = found.to_vec();
    for (_, x, y) in scores {
        let b = PixelBox {
            x: ((x as f32 * s) as u32).min(w - first.width),
            y: ((y as f32 * s) as u32).min(h - first.height),
            width: first.width,
            height: first.height,
        };
        if !tiles.iter().any(|t| t.intersection(&b) > 0) {
            tiles.push(b);
            if tiles.len() > MAX_EXTENDED {
                return None;
            }
        }
    }
    Some(tiles)
}

/// `image` shrunk to `sw` × `sh`, each pixel the mean of a grid of at most
/// [`SHRINK_SAMPLES`]² source pixels spread over the area it covers: far cheaper than reading
/// every pixel of a 12 MP photo, and as good for a search at a tenth of its size.
fn sampled_shrink(image: &RgbImage, sw: u32, sh: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (kx, ky) = (f64::from(w) / f64::from(sw), f64::from(h) / f64::from(sh));
    let n = SHRINK_SAMPLES;
    RgbImage::from_fn(sw, sh, |x, y| {
        let mut sum = [0u32; 3];
        for j in 0..n {
            let yy = ((f64::from(y) + (f64::from(j) + 0.5) / f64::from(n)) * ky) as u32;
            for i in 0..n {
                let xx = ((f64::from(x) + (f64::from(i) + 0.5) / f64::from(n)) * kx) as u32;
                let p = image.get_pixel(xx.min(w - 1), yy.min(h - 1));
                for c in 0..3 {
                    sum[c] += u32::from(p[c]);
                }
            }
        }
        image::Rgb(sum.map(|v| (v / (n * n)) as u8))
    })
}

/// The tiles on the lattice most of them share (three in five, at least [`LATTICE_TILES`]),
/// all of them when there is none. The likeness search also places a window over the part of a
/// tile the picture's edge cuts (its window has to fit inside): as a tile of the mark it would
/// align the others on that part only (a grid cut at the left edge left the mark's right half
/// out of its alpha). Those tiles are placed from the lattice (`super::cut`).
fn on_lattice(tiles: Vec<PixelBox>) -> Vec<PixelBox> {
    let Some(first) = tiles.first() else { return tiles };
    let size = (first.width as f32, first.height as f32);
    let centres: Vec<(f32, f32)> = tiles.iter().map(PixelBox::centre).collect();
    if centres.len() <= LATTICE_TILES {
        return tiles;
    }
    let Some(lattice) = robust_lattice(&centres, size) else { return tiles };
    let tolerance = lattice_tolerance(size.1);
    tiles.into_iter().filter(|b| off_place(lattice, b.centre()) <= tolerance).collect()
}

/// The lattice that three in five of the centres (at least [`LATTICE_TILES`]) lie on, refined by
/// least squares on them ([`lattice_fit`], [`refine`]).
pub(super) fn robust_lattice(centres: &[(f32, f32)], size: (f32, f32)) -> Option<Lattice> {
    if centres.len() < LATTICE_TILES {
        return None;
    }
    let least = LATTICE_TILES.max((centres.len() * 3).div_ceil(5));
    let lattice = lattice_fit(centres, size, least)?;
    Some(refine(lattice, centres, lattice_tolerance(size.1)))
}

/// The centres of the lattice's places that may touch a `w` × `h` picture: whole steps first,
/// then the half steps both ways of a staggered layout. Stock marks are often staggered, each
/// row shifted by half a step: when only every other row was found, the rows between are at
/// half steps (a black mark over a garage's shelves and tank, found on its top and bottom rows).
pub(super) fn lattice_places(
    (origin, u, v): Lattice,
    (w, h): (u32, u32),
) -> impl Iterator<Item = (f32, f32)> {
    let reach = (w.max(h) as f32 / u.0.hypot(u.1).min(v.0.hypot(v.1)).max(1.0)).ceil() as i32 + 2;
    let steps = (-reach..=reach).flat_map(move |m| (-reach..=reach).map(move |n| (m as f32, n as f32)));
    let halves = steps.clone().map(|(m, n)| (m + 0.5, n + 0.5));
    steps.chain(halves).map(move |(m, n)| (origin.0 + m * u.0 + n * v.0, origin.1 + m * u.1 + n * v.1))
}

/// The places a lattice predicts where no tile was found: a stock mark is tiled on a lattice, and
/// a person sees the one missing over busy photo (a pavilion's roof) from where the others are.
/// With at least [`LATTICE_TILES`] tiles that two steps explain (every centre within
/// [`LATTICE_FIT`] px of a whole number of steps from the first), each lattice place whose tile
/// lies inside the picture and overlaps no tile, aligned on the found tiles' median high-pass
/// (over [`ALIGN`] px). Whether the mark is there is for [`remove`] to say (an empty place,
/// where the lattice ends, is not).
pub fn complete_lattice(image: &RgbImage, tiles: &[PixelBox]) -> Vec<PixelBox> {
    let mut out: Vec<PixelBox> = Vec::new();
    let Some(first) = tiles.first() else { return out };
    if tiles.len() < LATTICE_TILES {
        return out;
    }
    let (w, h) = image.dimensions();
    let centres: Vec<(f32, f32)> = tiles.iter().map(PixelBox::centre).collect();
    let tile = (first.width as f32, first.height as f32);
    let Some(lattice) = lattice_fit(&centres, tile, centres.len()) else { return out };
    let size = (first.width, first.height);
    let patches: Vec<Vec<f32>> = tiles.iter().map(|t| patch(image, *t, size)).collect();
    let reference = median(&patches);
    for (cx, cy) in lattice_places(lattice, (w, h)) {
        let (x, y) = (cx - size.0 as f32 / 2.0, cy - size.1 as f32 / 2.0);
        if x < 0.0 || y < 0.0 || x + size.0 as f32 > w as f32 || y + size.1 as f32 > h as f32 {
            continue;
        }
        let place = PixelBox::new(x.round() as u32, y.round() as u32, size.0, size.1);
        if tiles.iter().chain(&out).any(|t| t.intersection(&place) > 0) {
            continue;
        }
        let aligned = best_alignment(image, &reference, place, place).1;
        if !tiles.iter().chain(&out).any(|t| t.intersection(&aligned) > 0) {
            out.push(aligned);
        }
    }
    out
}

/// Two steps (the shortest differences between centres that are not in line) from which every
/// centre lies a whole number of steps, within [`LATTICE_FIT`] px; `None` when no pair does.
pub(super) fn lattice(centres: &[(f32, f32)], size: (f32, f32)) -> Option<((f32, f32), (f32, f32))> {
    lattice_fit(centres, size, centres.len()).map(|l| (l.1, l.2))
}

/// A lattice that explains at least `least` of the centres (see [`lattice`]): a point of it
/// (one of the centres) and its two steps. With `least` under all of them, tiles the alignment
/// pulled off their place (over a wheel's spokes) do not hide the lattice of the others.
pub(super) fn lattice_fit(centres: &[(f32, f32)], (tw, th): (f32, f32), least: usize) -> Option<Lattice> {
    let mut steps: Vec<(f32, f32)> = Vec::new();
    for (i, a) in centres.iter().enumerate().take(LATTICE_STEP_FROM) {
        for b in &centres[i + 1..] {
            let d = (b.0 - a.0, b.1 - a.1);
            // Tiles do not overlap: a step is at least a tile across one way.
            if d.0.abs() >= 0.8 * tw || d.1.abs() >= 0.8 * th {
                steps.push(if d.1 < 0.0 || (d.1 == 0.0 && d.0 < 0.0) { (-d.0, -d.1) } else { d });
            }
        }
    }
    let all = least >= centres.len();
    // Off-place tiles add steps of their own among the shortest: the shortest few different
    // ones are kept, in order of length and, among equal ones, of finding (a step repeated
    // between many pairs of tiles would otherwise take every place).
    let keep = if all { 12 } else { 24 };
    let mut by_length: Vec<(f32, usize)> =
        steps.iter().enumerate().map(|(i, d)| (d.0.hypot(d.1), i)).collect();
    by_length.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut shortest: Vec<(f32, f32)> = Vec::with_capacity(keep);
    for (_, i) in by_length {
        if shortest.len() == keep {
            break;
        }
        if !shortest.contains(&steps[i]) {
            shortest.push(steps[i]);
        }
    }
    let steps = shortest;
    let origins = &centres[..centres.len().min(if all { 1 } else { LATTICE_ORIGINS })];
    let tolerance = lattice_tolerance(th);
    for origin in origins {
        for (i, u) in steps.iter().enumerate() {
            for v in &steps[i + 1..] {
                let det = u.0 * v.1 - u.1 * v.0;
                if det.abs() < 0.25 * u.0.hypot(u.1) * v.0.hypot(v.1) {
                    continue; // nearly in line
                }
                let lattice = (*origin, *u, *v);
                let explained = centres.iter().filter(|c| off_place(lattice, **c) <= tolerance).count();
                if explained >= least {
                    return Some(lattice);
                }
            }
        }
    }
    // One row or one column (a tall photo holds its mark in one column): the other step is
    // put far beyond any picture, so that it predicts no place.
    for origin in origins {
        for u in &steps {
            let far = 1.0e5 / u.0.hypot(u.1).max(1.0);
            let lattice = (*origin, *u, (-u.1 * far, u.0 * far));
            let explained = centres.iter().filter(|c| off_place(lattice, **c) <= tolerance).count();
            if explained >= least {
                return Some(lattice);
            }
        }
    }
    None
}

/// The lattice fitted by least squares to the centres it explains (within `tolerance`): each
/// centre's whole-step indices kept, the point and the steps solved for. The steps between two
/// tiles carry their boxes' few pixels of wander, and places four steps away carried it four
/// times (a cut row at the top of a 1000 px photo came out 10 px off).
pub(super) fn refine(lattice: Lattice, centres: &[(f32, f32)], tolerance: f32) -> Lattice {
    // Normal equations of c = o + m·u + n·v, the same 3×3 system for x and for y.
    let (mut a, mut bx, mut by) = ([[0.0f64; 3]; 3], [0.0f64; 3], [0.0f64; 3]);
    for c in centres.iter().filter(|c| off_place(lattice, **c) <= tolerance) {
        let (_, (m, n)) = nearest_place(lattice, *c);
        let row = [1.0, f64::from(m), f64::from(n)];
        for i in 0..3 {
            for j in 0..3 {
                a[i][j] += row[i] * row[j];
            }
            bx[i] += row[i] * f64::from(c.0);
            by[i] += row[i] * f64::from(c.1);
        }
    }
    let (Some(x), Some(y)) = (solve3(a, bx), solve3(a, by)) else { return lattice };
    // The point is the fitted place at indices (0, 0) of the original lattice.
    let f = |v: [f64; 3]| (v[0] as f32, v[1] as f32, v[2] as f32);
    let ((ox, ux, vx), (oy, uy, vy)) = (f(x), f(y));
    ((ox, oy), (ux, uy), (vx, vy))
}

/// `a · x = b` for a 3×3 system (Cramer's rule); `None` when it is singular.
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    if d.abs() < 1e-9 {
        return None;
    }
    Some(std::array::from_fn(|k| {
        let mut m = a;
        for (row, v) in m.iter_mut().zip(b) {
            row[k] = v;
        }
        det(m) / d
    }))
}

/// How far (pixels) a tile `th` high may lie from its lattice place.
pub(super) fn lattice_tolerance(th: f32) -> f32 {
    LATTICE_FIT.max(th / LATTICE_FIT_PER_HEIGHT)
}

/// A lattice: a point of it and its two steps.
pub(super) type Lattice = ((f32, f32), (f32, f32), (f32, f32));

/// How far `c` lies from the nearest place of the lattice (pixels).
pub(super) fn off_place((origin, u, v): Lattice, c: (f32, f32)) -> f32 {
    let (p, _) = nearest_place((origin, u, v), c);
    (p.0 - c.0).hypot(p.1 - c.1)
}

/// The lattice place nearest `c`, and its whole-step indices.
pub(super) fn nearest_place((origin, u, v): Lattice, c: (f32, f32)) -> ((f32, f32), (f32, f32)) {
    let det = u.0 * v.1 - u.1 * v.0;
    let (dx, dy) = (c.0 - origin.0, c.1 - origin.1);
    let (m, n) = (((dx * v.1 - dy * v.0) / det).round(), ((u.0 * dy - u.1 * dx) / det).round());
    ((origin.0 + m * u.0 + n * v.0, origin.1 + m * u.1 + n * v.1), (m, n))
}

/// The per-element median of equally long patches.
fn median(patches: &[Vec<f32>]) -> Vec<f32> {
    let n = patches.first().map_or(0, Vec::len);
    let mut column = Vec::with_capacity(patches.len());
    (0..n)
        .map(|i| {
            column.clear();
            column.extend(patches.iter().map(|p| p[i]));
            column.sort_by(f32::total_cmp);
            column[column.len() / 2]
        })
        .collect()
}

/// Un-blends the repeated mark whose tiles the text detector found (`found`, from [`find`]),
/// with the tiles like them ([`extend`]) and the places their lattice predicts
/// ([`complete_lattice`]), through [`remove`].
///
/// When the boxes are taller than 5/4 of [`WORK_ROWS`] (a 3840 px photo's), all of this runs on
/// a copy where they are about [`WORK_ROWS`] tall; the alpha map is scaled back and every tile aligned on it
/// at full size. At full size the likeness search, the lattice's tolerance, the fills under the
/// strokes and the alignments all ran on coarse copies and samples: on the 3840 px development
/// case no lattice place was found, three tiles stayed, and the rest lost their edges (+2 dB).
pub fn remove_all(image: &mut RgbImage, found: &[PixelBox]) -> Option<RepeatedMark> {
    let mark = estimate_all(image, found)?;
    Some(apply(image, mark))
}

/// What [`remove_all`] inverts: the mark's tiles, alpha and colour.
pub(super) fn estimate_all(image: &RgbImage, found: &[PixelBox]) -> Option<Estimate> {
    let tallest = found.iter().map(|b| b.height).max()?;
    let mut mark = if tallest * 4 > WORK_ROWS * 5 {
        estimate_scaled(image, found, tallest)?
    } else {
        let tiles = on_lattice(extend(image, found)?);
        let predicted = complete_lattice(image, &tiles);
        estimate(image, &tiles, &predicted)?
    };
    super::cut::find(image, &mut mark);
    Some(mark)
}

/// Un-blends the repeated mark whose tiles are `found`: aligns the tiles on one size, estimates
/// alpha and colour, inverts every tile in place. `predicted` (from [`complete_lattice`]) are
/// inverted too where the fitted mark is there.
pub fn remove(image: &mut RgbImage, found: &[PixelBox], predicted: &[PixelBox]) -> Option<RepeatedMark> {
    let mark = estimate(image, found, predicted)?;
    Some(apply(image, mark))
}

/// Inverts the blend on every tile: `B = (O − a·C) / (1 − a)` where alpha is above zero.
fn apply(image: &mut RgbImage, mark: Estimate) -> RepeatedMark {
    let (w, h) = image.dimensions();
    let (tw, th) = mark.size;
    let whole = mark.tiles.iter().map(|t| (t.x as i32, t.y as i32));
    for (ox, oy) in whole.chain(mark.cut.iter().copied()) {
        for (i, (a, s)) in mark.alpha.iter().zip(&mark.shadow).enumerate() {
            let (x, y) = (ox + (i as u32 % tw) as i32, oy + (i as u32 / tw) as i32);
            if (*a <= 0.0 && *s <= 0.0) || x < 0 || y < 0 || x >= w as i32 || y >= h as i32 {
                continue;
            }
            let p = image.get_pixel_mut(x as u32, y as u32);
            p.0 = unblend_pixel(p.0, (*a, *s), mark.colour);
        }
    }
    let mut tiles = mark.tiles;
    tiles.extend(mark.cut.iter().filter_map(|o| super::cut::visible(*o, (tw, th), (w, h))));
    RepeatedMark { tiles, alpha: mark.mean, colour: mark.colour as u8 }
}

/// A repeated mark as estimated: its tiles (all `size`), its alpha over a tile, its colour and
/// its mean alpha over the strokes.
pub(super) struct Estimate {
    pub(super) tiles: Vec<PixelBox>,
    /// Tiles the picture's edge cuts: their top-left corners, outside the picture on one side
    /// or more (see [`super::cut`]).
    pub(super) cut: Vec<(i32, i32)>,
    pub(super) alpha: Vec<f32>,
    /// Alpha towards the other colour, where the mark has a shadow or an outline of it (a white
    /// word drawn with a dark drop shadow to show over light photo); zero elsewhere.
    pub(super) shadow: Vec<f32>,
    pub(super) size: (u32, u32),
    pub(super) colour: f32,
    pub(super) mean: f32,
}

/// [`extend`], [`complete_lattice`] and [`estimate`] on a copy where the tallest box is about
/// [`WORK_ROWS`] high; the alpha map is scaled back (bilinear) and each tile, placed from the
/// copy, aligned on it at full size.
fn estimate_scaled(image: &RgbImage, found: &[PixelBox], tallest: u32) -> Option<Estimate> {
    let (w, h) = image.dimensions();
    let small = Shrunk::new(image, tallest as f32 / WORK_ROWS as f32);
    let (sx, sy) = small.scale;
    let found: Vec<PixelBox> = found.iter().map(|b| small.shrink(b)).collect();
    let tiles = on_lattice(extend(&small.image, &found)?);
    let predicted = complete_lattice(&small.image, &tiles);
    let mark = estimate(&small.image, &tiles, &predicted)?;
    let size = (
        ((mark.size.0 as f32 * sx).round() as u32).min(w),
        ((mark.size.1 as f32 * sy).round() as u32).min(h),
    );
    let alpha = upsample(&mark.alpha, mark.size, size);
    let shadow = upsample(&mark.shadow, mark.size, size);
    let template = alpha_template(&alpha, mark.colour, size);
    let tiles = parallel::map(&mark.tiles, |t| {
        let x = ((t.x as f32 * sx).round() as u32).min(w - size.0);
        let y = ((t.y as f32 * sy).round() as u32).min(h - size.1);
        let b = PixelBox { x, y, width: size.0, height: size.1 };
        best_alignment(image, &template, b, b).1
    });
    Some(Estimate { tiles, cut: Vec::new(), alpha, shadow, size, colour: mark.colour, mean: mark.mean })
}

/// A copy of a picture shrunk by a factor, and boxes carried onto it.
pub(super) struct Shrunk {
    pub(super) image: RgbImage,
    /// Full-size pixels per copy pixel, across and down (the factor, less rounding).
    pub(super) scale: (f32, f32),
}

impl Shrunk {
    pub(super) fn new(image: &RgbImage, factor: f32) -> Self {
        let (w, h) = image.dimensions();
        let (sw, sh) =
            (((w as f32 / factor).round() as u32).max(1), ((h as f32 / factor).round() as u32).max(1));
        // Area averaging where it halves or more: a Triangle filter over 12 MP took ~0.1 s a copy.
        let small = if factor >= 2.0 {
            crate::imaging::shrink::shrink_area(image, sw, sh)
        } else {
            image::imageops::resize(image, sw, sh, image::imageops::FilterType::Triangle)
        };
        Shrunk { image: small, scale: (w as f32 / sw as f32, h as f32 / sh as f32) }
    }

    /// `b` on the copy, at least 1×1 and inside it.
    pub(super) fn shrink(&self, b: &PixelBox) -> PixelBox {
        let (sw, sh) = self.image.dimensions();
        let (sx, sy) = self.scale;
        let x = ((b.x as f32 / sx) as u32).min(sw - 1);
        let y = ((b.y as f32 / sy) as u32).min(sh - 1);
        PixelBox {
            x,
            y,
            width: ((b.width as f32 / sx).round() as u32).clamp(1, sw - x),
            height: ((b.height as f32 / sy).round() as u32).clamp(1, sh - y),
        }
    }
}

/// A map `from` (w × h) resampled bilinearly to `to`.
fn upsample(map: &[f32], (fw, fh): (u32, u32), (tw, th): (u32, u32)) -> Vec<f32> {
    let at = |x: i64, y: i64| {
        map[(y.clamp(0, i64::from(fh) - 1) * i64::from(fw) + x.clamp(0, i64::from(fw) - 1)) as usize]
    };
    let (kx, ky) = (fw as f32 / tw as f32, fh as f32 / th as f32);
    (0..tw * th)
        .map(|i| {
            let fx = ((i % tw) as f32 + 0.5) * kx - 0.5;
            let fy = ((i / tw) as f32 + 0.5) * ky - 0.5;
            let (x0, y0) = (fx.floor(), fy.floor());
            let (ax, ay) = (fx - x0, fy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1, y0) * ax;
            let bottom = at(x0, y0 + 1) * (1.0 - ax) + at(x0 + 1, y0 + 1) * ax;
            top * (1.0 - ay) + bottom * ay
        })
        .collect()
}

/// The mark's tiles, alpha and colour, estimated from the tiles `found` and the lattice's
/// `predicted` places (see [`remove`]).
fn estimate(image: &RgbImage, found: &[PixelBox], predicted: &[PixelBox]) -> Option<Estimate> {
    let (w, h) = image.dimensions();
    // One tile size for all: the largest box, plus a margin for antialiasing and shadows.
    let margin = found.iter().map(|b| b.height).max()? / 6 + 2;
    let tw = found.iter().map(|b| b.width).max()? + 2 * margin;
    let th = found.iter().map(|b| b.height).max()? + 2 * margin;
    if tw >= w || th >= h {
        return None;
    }
    let place = |b: &PixelBox, dx: i32, dy: i32| {
        let cx = b.x as i32 + b.width as i32 / 2 + dx;
        let cy = b.y as i32 + b.height as i32 / 2 + dy;
        let x = (cx - tw as i32 / 2).clamp(0, (w - tw) as i32) as u32;
        let y = (cy - th as i32 / 2).clamp(0, (h - th) as i32) as u32;
        PixelBox { x, y, width: tw, height: th }
    };
    // A mark tiled densely (a diagonal "SAMPLE" 18 times over a 1280 px photo) is estimated from
    // its calmest tiles: each tile costs two fills (the 18 took 9 s), and a dozen calm ones give
    // the mark as well. The rest are aligned on it and inverted with them.
    let (found, rest) = calmest(image, found, |b| place(b, 0, 0));
    let found = &found[..];
    // Align the tiles on their median high-pass: the mark is what they share, while each one's
    // photo differs (a single tile's high-pass is mostly its photo, a roof's edge, and aligning
    // on it is chance). Three rounds: each median is sharper for the last alignment.
    let first = place(&found[0], 0, 0);
    let mut tiles: Vec<PixelBox> = found.iter().map(|b| place(b, 0, 0)).collect();
    for _ in 0..3 {
        let patches: Vec<Vec<f32>> = tiles.iter().map(|t| patch(image, *t, (tw, th))).collect();
        let reference = median(&patches);
        tiles = parallel::map(&tiles, |t| best_alignment(image, &reference, first, *t).1);
    }
    let backgrounds: Vec<RgbImage> = parallel::map(&tiles, |t| background(image, *t));
    let luma = |p: [u8; 3]| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
    // White or black: the way the tiles depart from their background where they agree most.
    // Per pixel the median over the tiles of the departure; the tenth of the pixels where it is
    // largest either way are the strokes, and their sum's sign is the colour. (The sum over
    // every pixel and tile read a white "123RF" as black when the fills around the tiles came
    // out a little brighter: on most of a tile the mark is absent and the fill's bias is all
    // there is.)
    let mut lifts: Vec<f32> = (0..tw * th)
        .map(|i| {
            let (x, y) = (i % tw, i / tw);
            let mut each: Vec<f32> = tiles
                .iter()
                .zip(&backgrounds)
                .map(|(t, bg)| luma(image.get_pixel(t.x + x, t.y + y).0) - luma(bg.get_pixel(x, y).0))
                .collect();
            each.sort_by(f32::total_cmp);
            each[each.len() / 2]
        })
        .collect();
    lifts.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
    let lift: f32 = lifts[..lifts.len().div_ceil(10)].iter().sum();
    let colour = if lift >= 0.0 { 255.0f32 } else { 0.0 };
    let size = (tw, th);
    // First estimate against a background smoothed in from around each tile: it finds the
    // strokes, but inside a wide tile that background is a guess (over trees, a pagoda).
    let busy: Vec<Vec<f32>> = parallel::map(&tiles, |t| busyness(image, *t));
    let first_alpha = tile_alpha(image, &tiles, (&backgrounds, &busy), colour, size, None);
    // The median high-pass still carries some of the photos (a roof's edge in one tile), which
    // can hold a tile over busy foliage a few pixels off; the first alpha is the mark alone.
    // Every tile is aligned again on it, and the first estimate redone (a second round of this
    // changed nothing on the development set).
    let template = alpha_template(&first_alpha, colour, size);
    let tiles: Vec<PixelBox> = parallel::map(&tiles, |t| best_alignment(image, &template, *t, *t).1);
    let backgrounds: Vec<RgbImage> = parallel::map(&tiles, |t| background(image, *t));
    let busy: Vec<Vec<f32>> = parallel::map(&tiles, |t| busyness(image, *t));
    let first_alpha = tile_alpha(image, &tiles, (&backgrounds, &busy), colour, size, None);
    // Outside the strokes each tile shows the photo itself: the photo under the strokes is then
    // filled from the tile's own pixels beside them, a few pixels away instead of a tile's
    // height, and alpha is estimated again on the strokes only (zero elsewhere, so the photo
    // between the letters is left as it is, not divided by noise).
    let support = stroke_support(&first_alpha, size);
    let backgrounds: Vec<RgbImage> = parallel::map(&tiles, |t| background_under(image, *t, &support));
    let alpha = tile_alpha(image, &tiles, (&backgrounds, &busy), colour, size, Some(&support));
    // That alpha is the mark at its sharpest: every tile is aligned once more on it, and alpha
    // estimated again (on a 1280 px photo the tiles over sky were still 2-3 px off, which
    // un-blends as light and dark outlines: +10.3 -> +12.1 dB there, nothing lost elsewhere, for
    // 0.2 s at 12 MP).
    let template = alpha_template(&alpha, colour, size);
    let tiles: Vec<PixelBox> = parallel::map(&tiles, |t| best_alignment(image, &template, *t, *t).1);
    let backgrounds: Vec<RgbImage> = parallel::map(&tiles, |t| background_under(image, *t, &support));
    let busy: Vec<Vec<f32>> = parallel::map(&tiles, |t| busyness(image, *t));
    let alpha = tile_alpha(image, &tiles, (&backgrounds, &busy), colour, size, Some(&support));
    let n = (tw * th) as usize;
    let strokes: Vec<f32> = alpha.iter().copied().filter(|a| *a > 0.0).collect();
    let mean = strokes.iter().sum::<f32>() / strokes.len().max(1) as f32;
    if strokes.len() * 50 < n || mean > MAX_MEAN_ALPHA {
        return None; // nothing consistent, or nothing shows through: not a blended mark
    }
    let shadow = shadow_alpha(image, &tiles, &busy, &support, colour, size);
    let mut tiles = tiles;
    for t in parallel::map(&rest, |r| best_alignment(image, &template, first, place(r, 0, 0)).1) {
        if !tiles.iter().any(|o| o.intersection(&t) > 0) {
            tiles.push(t);
        }
    }
    // A predicted place holds the mark when it is lifted as the mark's alpha predicts.
    let lifted = parallel::map(predicted, |p| {
        let t = best_alignment(image, &template, first, place(p, 0, 0)).1;
        (t, lifted_as_predicted(image, t, &alpha, colour))
    });
    for (t, _) in lifted.into_iter().filter(|(_, lifted)| *lifted) {
        if !tiles.iter().any(|o| o.intersection(&t) > 0) {
            tiles.push(t);
        }
    }
    Some(Estimate { tiles, cut: Vec::new(), alpha, shadow, size, colour, mean })
}

/// A pixel with the mark's blend inverted: `(alpha, shadow)` towards `colour` and towards the
/// other colour (a pixel is one or the other).
pub(super) fn unblend_pixel(p: [u8; 3], (alpha, shadow): (f32, f32), colour: f32) -> [u8; 3] {
    let (a, c) = if alpha > 0.0 { (alpha, colour) } else { (shadow, 255.0 - colour) };
    p.map(|v| ((f32::from(v) - a * c) / (1.0 - a)).round().clamp(0.0, 255.0) as u8)
}

/// The mark's shadow or outline in the other colour (see [`Estimate::shadow`]): alpha towards
/// it over a ring around the strokes ([`SHADOW_REACH_PER_HEIGHT`] of the tile's height), the
/// photo there filled from beyond the ring, estimated as the strokes are ([`tile_alpha`]). A
/// ring that departs towards the other colour only here and there is the fill's error over
/// busy photo, not a shadow: all of it is then dropped ([`MIN_SHADOW_SHARE`]), as it is when
/// too few tiles say ([`MIN_SHADOW_TILES`]).
fn shadow_alpha(
    image: &RgbImage,
    tiles: &[PixelBox],
    busy: &[Vec<f32>],
    support: &[bool],
    colour: f32,
    (tw, th): (u32, u32),
) -> Vec<f32> {
    if tiles.len() < MIN_SHADOW_TILES {
        return vec![0.0; support.len()];
    }
    let reach = (th / SHADOW_REACH_PER_HEIGHT).max(2) as i64;
    let (w, h) = (i64::from(tw), i64::from(th));
    let near = |i: usize| {
        let (x, y) = (i as i64 % w, i as i64 / w);
        (-reach..=reach).any(|dy| {
            (-reach..=reach).any(|dx| {
                let (nx, ny) = (x + dx, y + dy);
                nx >= 0 && ny >= 0 && nx < w && ny < h && support[(ny * w + nx) as usize]
            })
        })
    };
    let ring: Vec<bool> = (0..support.len()).map(|i| !support[i] && near(i)).collect();
    let both: Vec<bool> = support.iter().zip(&ring).map(|(s, r)| *s || *r).collect();
    let backgrounds: Vec<RgbImage> = parallel::map(tiles, |t| background_under(image, *t, &both));
    let shadow = tile_alpha(image, tiles, (&backgrounds, busy), 255.0 - colour, (tw, th), Some(&ring));
    let ring_size = ring.iter().filter(|r| **r).count();
    let shown = shadow.iter().filter(|a| **a >= MIN_SHADOW_ALPHA).count();
    if ring_size == 0 || (shown as f32) < MIN_SHADOW_SHARE * ring_size as f32 {
        return vec![0.0; shadow.len()];
    }
    shadow.into_iter().map(|a| if a >= MIN_SHADOW_ALPHA { a } else { 0.0 }).collect()
}

/// Whether the box `t` holds the mark whose alpha over `t` is `alpha` (`t`'s size): its
/// [`Lift`] fits with a gain within [`LATTICE_LIFT`].
pub(super) fn lifted_as_predicted(image: &RgbImage, t: PixelBox, alpha: &[f32], colour: f32) -> bool {
    Lift::measure(image, t, alpha, colour).as_predicted()
}

/// How the pixels of a box are lifted towards the mark's colour from the photo filled under the
/// mark's strokes, against the lift the mark's alpha predicts there, over the strokes.
pub(super) struct Lift {
    /// The least-squares gain of the lift seen on the lift predicted (1 where the mark is).
    pub(super) gain: f32,
    /// Their correlation over the strokes' pixels and channels: whether the lift has the mark's
    /// shape, not only its amount (the edge of a white curtain beside red cloth is lifted that
    /// much too, under a few letters).
    pub(super) likeness: f32,
    /// The lift predicted, root mean square over the strokes' pixels and channels (grey
    /// levels): how much the mark can show over this photo at all.
    pub(super) predicted: f32,
}

impl Lift {
    /// The lift of the box `t` where the mark's alpha over it is `alpha` (`t`'s size).
    pub(super) fn measure(image: &RgbImage, t: PixelBox, alpha: &[f32], colour: f32) -> Self {
        let support: Vec<bool> = alpha.iter().map(|a| *a > 0.0).collect();
        let bg = background_under(image, t, &support);
        // Sums over the strokes' pixels and channels of the lift seen (o), predicted (e), and
        // their squares and product.
        let (mut n, mut o, mut e, mut oo, mut ee, mut oe) = (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, a) in alpha.iter().enumerate().filter(|(_, a)| **a > 0.0) {
            let (x, y) = (i as u32 % t.width, i as u32 / t.width);
            let (seen, under) = (image.get_pixel(t.x + x, t.y + y).0, bg.get_pixel(x, y).0);
            for c in 0..3 {
                let lift = f64::from(seen[c]) - f64::from(under[c]);
                let expected = f64::from(*a) * (f64::from(colour) - f64::from(under[c]));
                n += 1.0;
                (o, e) = (o + lift, e + expected);
                (oo, ee, oe) = (oo + lift * lift, ee + expected * expected, oe + lift * expected);
            }
        }
        let gain = if ee > 0.0 { (oe / ee) as f32 } else { f32::NAN };
        let spread = (oo - o * o / n.max(1.0)) * (ee - e * e / n.max(1.0));
        let likeness = if spread > 0.0 { ((oe - o * e / n) / spread.sqrt()) as f32 } else { 0.0 };
        let predicted = (ee / n.max(1.0)).sqrt() as f32;
        Lift { gain, likeness, predicted }
    }

    /// Lifted by about what the mark predicts ([`LATTICE_LIFT`]).
    pub(super) fn as_predicted(&self) -> bool {
        LATTICE_LIFT.contains(&self.gain)
    }
}

/// The [`ESTIMATE_TILES`] tiles over the calmest photo (least mean [`busyness`] of their box,
/// `placed`), and the others.
fn calmest(
    image: &RgbImage,
    found: &[PixelBox],
    placed: impl Fn(&PixelBox) -> PixelBox + Sync,
) -> (Vec<PixelBox>, Vec<PixelBox>) {
    if found.len() <= ESTIMATE_TILES {
        return (found.to_vec(), Vec::new());
    }
    let mut ranked: Vec<(f32, PixelBox)> = parallel::map(found, |b| {
        let busy = busyness(image, placed(b));
        (busy.iter().sum::<f32>() / busy.len().max(1) as f32, *b)
    });
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let rest = ranked.split_off(ESTIMATE_TILES);
    (ranked.into_iter().map(|r| r.1).collect(), rest.into_iter().map(|r| r.1).collect())
}

/// Alpha per pixel of the tile (`size`), from every tile against its background (and its
/// [`busyness`]): per tile the least-squares blend over the three channels, then a weighted
/// median over the tiles.
///
/// A tile's estimate is as good as its background there, and a background filled into busy
/// photo (a pagoda's ornament, foliage) is a guess where one over sky is nearly exact: every
/// estimate is weighted by `1 / (busy + BUSY_FLOOR)`, `busy` being the RMS of the tile's
/// high-pass around the pixel (over [`BUSY_REACH_PER_HEIGHT`] of the tile's height). Without
/// this, on a 1280 px photo the five busy tiles outvoted the three over sky, and alpha came out
/// ±0.08 around the true 0.3, which over dark photo is ±15 levels of ghost. With `only`, pixels
/// outside it are zero, and each estimate is also weighted by how far its background is from the
/// mark's colour (a background near it says little: its ratio is mostly noise).
fn tile_alpha(
    image: &RgbImage,
    tiles: &[PixelBox],
    (backgrounds, busy): (&[RgbImage], &[Vec<f32>]),
    colour: f32,
    (tw, th): (u32, u32),
    only: Option<&[bool]>,
) -> Vec<f32> {
    let mut alpha = vec![0.0f32; (tw * th) as usize];
    let mut estimates: Vec<(f32, f32)> = Vec::with_capacity(tiles.len());
    for (i, a) in alpha.iter_mut().enumerate() {
        if only.is_some_and(|s| !s[i]) {
            continue;
        }
        let (x, y) = (i as u32 % tw, i as u32 / tw);
        estimates.clear();
        for ((t, bg), busy) in tiles.iter().zip(backgrounds).zip(busy) {
            let o = image.get_pixel(t.x + x, t.y + y).0;
            let b = bg.get_pixel(x, y).0;
            let (mut num, mut den) = (0.0f32, 0.0f32);
            for c in 0..3 {
                let room = colour - f32::from(b[c]);
                num += (f32::from(o[c]) - f32::from(b[c])) * room;
                den += room * room;
            }
            // A background already at the mark's colour says nothing.
            if den > 300.0 {
                // Weighted only on the strokes, whose backgrounds are filled from beside them:
                // the first pass's are guesses inside a tile, and a dark tile's weight there
                // carried its photo (a roof) into the alpha.
                let room = if only.is_some() { den.sqrt() } else { 1.0 };
                estimates.push((num / den, room / (busy[i] + BUSY_FLOOR)));
            }
        }
        if estimates.len() * 2 < tiles.len() {
            continue;
        }
        estimates.sort_by(|p, q| p.0.total_cmp(&q.0));
        let half = estimates.iter().map(|e| e.1).sum::<f32>() / 2.0;
        let mut seen = 0.0;
        let m = estimates
            .iter()
            .find(|e| {
                seen += e.1;
                seen >= half
            })
            .map_or(0.0, |e| e.0);
        *a = if m < MIN_ALPHA { 0.0 } else { m.min(MAX_ALPHA) };
    }
    alpha
}

/// The mark's strokes in a tile: where the first alpha, averaged over 3×3 pixels (a stroke is
/// wider than that, the noise of a ratio over bright sky is not), reaches half its strokes'
/// typical value (the 90th percentile), grown by one pixel for the antialiased rims.
fn stroke_support(alpha: &[f32], (tw, th): (u32, u32)) -> Vec<bool> {
    let at = |x: i64, y: i64| {
        if x < 0 || y < 0 || x >= i64::from(tw) || y >= i64::from(th) {
            None
        } else {
            Some((y * i64::from(tw) + x) as usize)
        }
    };
    let around = |i: usize| {
        let (x, y) = ((i as u32 % tw) as i64, (i as u32 / tw) as i64);
        (-1..=1i64).flat_map(move |dy| (-1..=1i64).map(move |dx| (x + dx, y + dy)))
    };
    let smooth: Vec<f32> = (0..alpha.len())
        .map(|i| {
            let (sum, n) =
                around(i).filter_map(|(x, y)| at(x, y)).fold((0.0, 0), |(s, n), j| (s + alpha[j], n + 1));
            sum / n as f32
        })
        .collect();
    let mut positive: Vec<f32> = smooth.iter().copied().filter(|a| *a > 0.0).collect();
    if positive.is_empty() {
        return vec![false; alpha.len()];
    }
    positive.sort_by(f32::total_cmp);
    let level = positive[positive.len() * 9 / 10] / 2.0;
    let strong: Vec<bool> = smooth.iter().map(|a| *a >= level).collect();
    (0..strong.len()).map(|i| around(i).filter_map(|(x, y)| at(x, y)).any(|j| strong[j])).collect()
}

/// How busy the tile's photo is around each of its pixels: the RMS of its high-pass over
/// [`BUSY_REACH_PER_HEIGHT`] of its height each way, taken on a copy at most [`BUSY_ROWS`] rows
/// high (a large photo's tiles are soft at full size: their high-pass is JPEG noise over sky and
/// over a roof alike), read back at the tile's size.
fn busyness(image: &RgbImage, t: PixelBox) -> Vec<f32> {
    let (tw, th) = (t.width, t.height);
    let s = th.div_ceil(BUSY_ROWS).max(1);
    let (sw, sh) = (tw.div_ceil(s), th.div_ceil(s));
    let reach = (sh / BUSY_REACH_PER_HEIGHT).max(BUSY_REACH_MIN);
    let small = local_rms(&patch(image, t, (sw, sh)), (sw, sh), reach);
    (0..tw * th)
        .map(|i| {
            let (x, y) = ((i % tw) / s, (i / tw) / s);
            small[(y.min(sh - 1) * sw + x.min(sw - 1)) as usize]
        })
        .collect()
}

/// The RMS of `values` (a tile's high-pass, `tw × th`) over the square of `reach` pixels each
/// way around every pixel (clipped to the tile), from one summed-area table.
fn local_rms(values: &[f32], (tw, th): (u32, u32), reach: u32) -> Vec<f32> {
    let (w, h, r) = (tw as usize, th as usize, reach as usize);
    let stride = w + 1;
    let mut sums = vec![0.0f64; stride * (h + 1)];
    for y in 0..h {
        let mut row = 0.0f64;
        for x in 0..w {
            row += f64::from(values[y * w + x]).powi(2);
            sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row;
        }
    }
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let (x0, y0, x1, y1) =
                (x.saturating_sub(r), y.saturating_sub(r), (x + r + 1).min(w), (y + r + 1).min(h));
            let sum = sums[y1 * stride + x1] - sums[y0 * stride + x1] - sums[y1 * stride + x0]
                + sums[y0 * stride + x0];
            (sum.max(0.0) / ((x1 - x0) * (y1 - y0)) as f64).sqrt() as f32
        })
        .collect()
}

/// The mark's own high-pass, as [`patch`] takes a tile's: its alpha drawn in its colour over mid
/// grey, free of any tile's photo.
pub(super) fn alpha_template(alpha: &[f32], colour: f32, (tw, th): (u32, u32)) -> Vec<f32> {
    let grey = GrayImage::from_fn(tw, th, |x, y| {
        let a = alpha[(y * tw + x) as usize];
        Luma([(128.0 + a * (colour - 128.0)).round().clamp(0.0, 255.0) as u8])
    });
    let blurred = image::imageops::blur(&grey, 2.0);
    grey.pixels().zip(blurred.pixels()).map(|(Luma([v]), Luma([m]))| f32::from(*v) - f32::from(*m)).collect()
}

/// The tile's photo under the strokes (`support`, tile pixels), filled by Telea from the tile's
/// pixels around them and from just outside the tile. Tall tiles are filled on a copy scaled to
/// about [`UNDER_ROWS`] rows and scaled back (a 12 MP photo's tiles took 0.4 s each at full
/// size); only the strokes' pixels of the result are used.
fn background_under(image: &RgbImage, t: PixelBox, support: &[bool]) -> RgbImage {
    let (w, h) = image.dimensions();
    let pad = 6;
    let (cx0, cy0) = (t.x.saturating_sub(pad), t.y.saturating_sub(pad));
    let (cx1, cy1) = ((t.x + t.width + pad).min(w), (t.y + t.height + pad).min(h));
    let (cw, ch) = (cx1 - cx0, cy1 - cy0);
    let crop = image::imageops::crop_imm(image, cx0, cy0, cw, ch).to_image();
    let (ox, oy) = (t.x - cx0, t.y - cy0);
    let marked = |x: u32, y: u32| {
        x >= ox
            && y >= oy
            && x < ox + t.width
            && y < oy + t.height
            && support[((y - oy) * t.width + (x - ox)) as usize]
    };
    let s = t.height.div_ceil(UNDER_ROWS).max(1);
    let filled = if s == 1 {
        let mask = GrayImage::from_fn(cw, ch, |x, y| Luma([if marked(x, y) { 255 } else { 0 }]));
        let mut crop = crop;
        inpaint_telea(&mut crop, &mask, 5);
        crop
    } else {
        let (sw, sh) = (cw.div_ceil(s), ch.div_ceil(s));
        let mut small = image::imageops::resize(&crop, sw, sh, image::imageops::FilterType::Triangle);
        // A small pixel that holds any stroke pixel (or touches one) mixes in the mark: filled.
        let mask = GrayImage::from_fn(sw, sh, |x, y| {
            let (x0, y0) = ((x * s).saturating_sub(s), (y * s).saturating_sub(s));
            let (x1, y1) = (((x + 2) * s).min(cw), ((y + 2) * s).min(ch));
            let any = (y0..y1).any(|yy| (x0..x1).any(|xx| marked(xx, yy)));
            Luma([if any { 255 } else { 0 }])
        });
        inpaint_telea(&mut small, &mask, 5);
        image::imageops::resize(&small, cw, ch, image::imageops::FilterType::Triangle)
    };
    image::imageops::crop_imm(&filled, ox, oy, t.width, t.height).to_image()
}

/// The tile's photo estimated smoothly from around it (the mark left out), filled on a copy
/// where the tile is at most [`FIRST_FILL_AREA`] pixels.
fn background(image: &RgbImage, t: PixelBox) -> RgbImage {
    let (w, h) = image.dimensions();
    let pad = 10;
    let (cx0, cy0) = (t.x.saturating_sub(pad), t.y.saturating_sub(pad));
    let (cx1, cy1) = ((t.x + t.width + pad).min(w), (t.y + t.height + pad).min(h));
    let crop = image::imageops::crop_imm(image, cx0, cy0, cx1 - cx0, cy1 - cy0).to_image();
    let (bx, by) = (t.x - cx0, t.y - cy0);
    let area = t.width * t.height;
    if area <= FIRST_FILL_AREA {
        let filled = smooth_background(crop, (bx, by, t.width, t.height), 8);
        return image::imageops::crop_imm(&filled, bx, by, t.width, t.height).to_image();
    }
    let s = ((f64::from(area) / f64::from(FIRST_FILL_AREA)).sqrt().ceil() as u32).max(2);
    let (cw, ch) = crop.dimensions();
    let small = image::imageops::resize(&crop, cw.div_ceil(s), ch.div_ceil(s), FilterType::Triangle);
    // Every copy pixel the tile touches is filled.
    let (sx, sy) = (bx / s, by / s);
    let (sw, sh) = ((bx + t.width).div_ceil(s) - sx, (by + t.height).div_ceil(s) - sy);
    let filled = smooth_background(small, (sx, sy, sw, sh), (8 / s).max(3));
    let filled = image::imageops::resize(&filled, cw, ch, FilterType::Triangle);
    image::imageops::crop_imm(&filled, bx, by, t.width, t.height).to_image()
}

/// Every place where `template` (`tw` × `th`) correlates with the high-pass `high` (`sw` × `sh`)
/// at [`MATCH`] or more: (correlation, x, y). Each window's energy comes from a summed-area
/// table and the products row by row over contiguous slices (a copy per place made a search for
/// a small line over a 741 px photo take 0.7 s).
fn matches(
    high: &[f32],
    (sw, sh): (u32, u32),
    template: &[f32],
    (tw, th): (u32, u32),
) -> Vec<(f32, u32, u32)> {
    let (sw, sh, tw, th) = (sw as usize, sh as usize, tw as usize, th as usize);
    let mut energy = vec![0.0f64; (sw + 1) * (sh + 1)];
    for y in 0..sh {
        let mut row = 0.0f64;
        for x in 0..sw {
            row += f64::from(high[y * sw + x]).powi(2);
            energy[(y + 1) * (sw + 1) + x + 1] = energy[y * (sw + 1) + x + 1] + row;
        }
    }
    let window_energy = |x: usize, y: usize| {
        let at = |x: usize, y: usize| energy[y * (sw + 1) + x];
        (at(x + tw, y + th) - at(x, y + th) - at(x + tw, y) + at(x, y)).max(0.0) as f32
    };
    let template_energy: f32 = template.iter().map(|t| t * t).sum();
    let mut out = Vec::new();
    for y in 0..=sh - th {
        for x in 0..=sw - tw {
            let mut ab = 0.0f32;
            for (row, t) in template.chunks_exact(tw).enumerate() {
                let from = (y + row) * sw + x;
                ab += t.iter().zip(&high[from..from + tw]).map(|(a, b)| a * b).sum::<f32>();
            }
            let c = ab / (template_energy * window_energy(x, y)).sqrt().max(1e-6);
            if c >= MATCH {
                out.push((c, x as u32, y as u32));
            }
        }
    }
    out
}

/// How well the box of `seed`'s size centred on `candidate` (shifted by up to [`ALIGN`] pixels)
/// matches `reference` (the high-pass of `seed`), and the best-matching box.
fn best_alignment(
    image: &RgbImage,
    reference: &[f32],
    seed: PixelBox,
    candidate: PixelBox,
) -> (f32, PixelBox) {
    // Large tiles (a 12 MP photo's) are compared on every `step`-th row and column: thousands of
    // samples still place them to the pixel, and all of them took seconds.
    let step = (seed.height / ALIGN_ROWS).max(1) as usize;
    let (w, h) = image.dimensions();
    let (sw, sh) = (seed.width.min(w), seed.height.min(h));
    let columns = (sw as usize).div_ceil(step);
    let sampled = every_step(reference, seed.width as usize, (sw as usize, sh as usize), step);
    let place = |dx: i32, dy: i32| {
        let cx = candidate.x as i32 + candidate.width as i32 / 2 + dx;
        let cy = candidate.y as i32 + candidate.height as i32 / 2 + dy;
        let x = (cx - sw as i32 / 2).clamp(0, (w - sw) as i32) as u32;
        let y = (cy - sh as i32 / 2).clamp(0, (h - sh) as i32) as u32;
        PixelBox { x, y, width: sw, height: sh }
    };
    // The high-pass once over every place searched, with room for the blur beyond them (one
    // blur per shift made a 12 MP photo's large tiles take seconds).
    // The detector's boxes, and the places found on a smaller copy, wander with the tile's size.
    let reach = (sh as i32 / ALIGN_PER_HEIGHT).clamp(ALIGN, ALIGN_MAX);
    let (lo, hi) = (place(-reach, -reach), place(reach, reach));
    let (rx0, ry0) = (lo.x.saturating_sub(BLUR_ROOM), lo.y.saturating_sub(BLUR_ROOM));
    let (rx1, ry1) = ((hi.x + sw + BLUR_ROOM).min(w), (hi.y + sh + BLUR_ROOM).min(h));
    let area = PixelBox { x: rx0, y: ry0, width: rx1 - rx0, height: ry1 - ry0 };
    let high = patch(image, area, (area.width, area.height));
    let high = Decimated::new(&high, (area.width as usize, area.height as usize), step);
    // The template's energy once, each window's from the phases' summed squares: one sum a
    // shift, over the samples, where there were three.
    let energy = sampled.iter().map(|v| v * v).sum::<f32>();
    let rows = sampled.len() / columns.max(1);
    let score = |dx: i32, dy: i32| {
        let b = place(dx, dy);
        let (x, y) = ((b.x - rx0) as usize, (b.y - ry0) as usize);
        let ab: f32 = sampled
            .chunks_exact(columns)
            .enumerate()
            .map(|(j, template)| dot(template, high.row(x, y + j * step, columns)))
            .sum();
        decimated::correlation([ab, energy, high.energy(x, y, columns, rows)])
    };
    let mut best = (f32::MIN, candidate);
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let c = score(dx, dy);
            if c > best.0 {
                best = (c, place(dx, dy));
            }
        }
    }
    best
}

/// The luma high-pass of a picture: each value minus its blur (σ 2), row by row.
pub(super) fn high_pass(image: &RgbImage) -> Vec<f32> {
    let grey: GrayImage = image::imageops::grayscale(image);
    let blurred = image::imageops::blur(&grey, 2.0);
    grey.pixels().zip(blurred.pixels()).map(|(Luma([v]), Luma([m]))| f32::from(*v) - f32::from(*m)).collect()
}

/// The luma high-pass (value minus its 5x5 mean) of `b`, resampled to `size`.
pub(super) fn patch(image: &RgbImage, b: PixelBox, size: (u32, u32)) -> Vec<f32> {
    let crop = image::imageops::crop_imm(image, b.x, b.y, b.width, b.height).to_image();
    let grey: GrayImage = image::imageops::grayscale(&crop);
    let grey = image::imageops::resize(&grey, size.0, size.1, image::imageops::FilterType::Triangle);
    let blurred = image::imageops::blur(&grey, 2.0);
    grey.pixels().zip(blurred.pixels()).map(|(Luma([v]), Luma([m]))| f32::from(*v) - f32::from(*m)).collect()
}

pub(super) fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt().max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::Rect;
    use image::Rgb;

    /// A textured photo with a white "mark" (a bar pattern) blended at `opacity` in `tiles`.
    fn marked(opacity: f32, tiles: &[(u32, u32)]) -> (RgbImage, RgbImage) {
        let clean = RgbImage::from_fn(400, 300, |x, y| {
            let v = ((x * 7 + y * 3) % 50 + (x / 20 + y / 15) % 3 * 40 + 40) as u8;
            Rgb([v, v / 2 + 30, 200 - v / 2])
        });
        let mut img = clean.clone();
        for &(tx, ty) in tiles {
            for y in 0..20 {
                for x in 0..60 {
                    if (x / 4) % 2 == 0 && (4..16).contains(&y) {
                        let p = img.get_pixel_mut(tx + x, ty + y);
                        for c in 0..3 {
                            p[c] = (f32::from(p[c]) * (1.0 - opacity) + 255.0 * opacity).round() as u8;
                        }
                    }
                }
            }
        }
        (clean, img)
    }

    fn line(x: u32, y: u32) -> TextLine {
        TextLine { rect: Rect { x: x as f32, y: y as f32, width: 60.0, height: 20.0 }, score: 0.9, tilt: 0.0 }
    }

    #[test]
    fn repeated_tiles_are_unblended_back_to_the_photo() {
        let spots = [(20, 20), (200, 40), (60, 150), (260, 200), (120, 240)];
        let (clean, mut img) = marked(0.35, &spots);
        let lines: Vec<TextLine> = spots.iter().map(|(x, y)| line(*x, *y)).collect();
        let found = find(&img, &lines).expect("a repeated mark");
        assert_eq!(found.len(), 5);
        let before: u64 = img.pixels().zip(clean.pixels()).map(|(a, b)| u64::from(a[0].abs_diff(b[0]))).sum();
        let mark = remove(&mut img, &found, &[]).expect("un-blended");
        assert_eq!(mark.colour, 255);
        assert!((0.15..0.5).contains(&mark.alpha), "{mark:?}");
        let after: u64 = img.pixels().zip(clean.pixels()).map(|(a, b)| u64::from(a[0].abs_diff(b[0]))).sum();
        assert!(after * 3 < before * 2, "error {before} -> {after}");
    }

    #[test]
    fn a_white_mark_with_a_dark_shadow_loses_its_shadow_too() {
        // GIVEN white bars at 35 % over a dark shadow at 30 %, offset 2 px down and right
        let spots = [(20, 20), (200, 40), (60, 150), (260, 200), (120, 240)];
        let (clean, _) = marked(0.35, &[]);
        let mut img = clean.clone();
        let bar = |x: u32, y: u32| (x / 4).is_multiple_of(2) && x < 60 && (4..16).contains(&y);
        let mut shadow_only = Vec::new();
        for &(tx, ty) in &spots {
            for y in 0..20 {
                for x in 0..62 {
                    let p = img.get_pixel_mut(tx + x, ty + y);
                    if bar(x, y) {
                        p.0 = p.0.map(|c| (f32::from(c) * 0.65 + 255.0 * 0.35).round() as u8);
                    } else if x >= 2 && y >= 2 && bar(x - 2, y - 2) {
                        p.0 = p.0.map(|c| (f32::from(c) * 0.7).round() as u8);
                        shadow_only.push((tx + x, ty + y));
                    }
                }
            }
        }
        let error = |img: &RgbImage| -> u64 {
            shadow_only
                .iter()
                .map(|&(x, y)| u64::from(img.get_pixel(x, y)[0].abs_diff(clean.get_pixel(x, y)[0])))
                .sum()
        };
        let before = error(&img);
        // WHEN the repeated mark is un-blended
        let lines: Vec<TextLine> = spots.iter().map(|(x, y)| line(*x, *y)).collect();
        let found = find(&img, &lines).expect("a repeated mark");
        remove(&mut img, &found, &[]).expect("un-blended");
        // THEN the shadow is un-blended with it, towards black (over this striped photo the
        // fill under the shadow is rough: a third of the error goes; without the shadow, none)
        let after = error(&img);
        assert!(after * 3 < before * 2, "shadow error {before} -> {after}");
    }

    #[test]
    fn a_mark_without_a_shadow_gets_none() {
        let spots = [(20, 20), (200, 40), (60, 150), (260, 200), (120, 240)];
        let (_, img) = marked(0.35, &spots);
        let lines: Vec<TextLine> = spots.iter().map(|(x, y)| line(*x, *y)).collect();
        let found = find(&img, &lines).expect("a repeated mark");
        let mark = estimate(&img, &found, &[]).expect("estimated");
        assert!(mark.shadow.iter().all(|s| *s == 0.0));
    }

    #[test]
    fn tiles_the_detector_missed_are_found_by_their_likeness() {
        let spots = [(20, 20), (200, 40), (60, 150), (260, 200), (120, 240)];
        let (_, img) = marked(0.35, &spots);
        // The text detector read only three of the five.
        let lines: Vec<TextLine> = spots[..3].iter().map(|(x, y)| line(*x, *y)).collect();
        let found = find(&img, &lines).expect("a repeated mark");
        let all = extend(&img, &found).expect("a mark, not texture");
        assert_eq!(all.len(), 5, "{all:?}");
        for (x, y) in &spots[3..] {
            assert!(all.iter().any(|t| t.x.abs_diff(*x) <= 3 && t.y.abs_diff(*y) <= 3), "{all:?}");
        }
    }

    #[test]
    fn a_tile_missing_from_the_lattice_is_un_blended_and_an_empty_place_is_not() {
        // A lattice of steps (100, 0) and (50, 80): six places; the mark is in five, and the
        // detector gave four of them. The sixth place, (270, 180), is empty.
        let lattice = [(20, 20), (120, 20), (220, 20), (70, 100), (170, 100), (270, 180)];
        let marks = &lattice[..5];
        let (clean, mut img) = marked(0.35, marks);
        let found: Vec<PixelBox> = marks[..4].iter().map(|(x, y)| PixelBox::new(*x, *y, 60, 20)).collect();
        let predicted = complete_lattice(&img, &found);
        let near = |b: &PixelBox, (x, y): (u32, u32)| b.x.abs_diff(x) <= 3 && b.y.abs_diff(y) <= 3;
        assert!(predicted.iter().any(|p| near(p, (170, 100))), "{predicted:?}");
        let empty = |img: &RgbImage| image::imageops::crop_imm(img, 270, 180, 60, 20).to_image();
        let before = empty(&img);
        let mark = remove(&mut img, &found, &predicted).expect("un-blended");
        // The missing tile is un-blended with the others; the empty place is left as it was.
        assert_eq!(mark.tiles.len(), 5, "{:?}", mark.tiles);
        assert!(empty(&img) == before);
        // …as well as the tiles the detector gave (error in the tile against the clean photo).
        let error = |img: &RgbImage, (tx, ty): (u32, u32)| -> f64 {
            (ty..ty + 20)
                .flat_map(|y| (tx..tx + 60).map(move |x| (x, y)))
                .map(|(x, y)| f64::from(img.get_pixel(x, y)[0].abs_diff(clean.get_pixel(x, y)[0])))
                .sum()
        };
        let (_, untouched) = marked(0.35, marks);
        let kept = |at| error(&img, at) / error(&untouched, at);
        assert!(kept((170, 100)) < 0.85, "{}", kept((170, 100)));
        assert!(
            kept((170, 100)) <= 1.3 * kept((70, 100)),
            "{} against {}",
            kept((170, 100)),
            kept((70, 100))
        );
    }

    #[test]
    fn a_staggered_row_between_the_found_rows_is_predicted_at_half_steps() {
        // GIVEN a mark staggered by half a step, found on its first and third rows only
        let rows = [(20, 20), (220, 20), (20, 200), (220, 200)];
        let (_, mut img) = marked(0.35, &[rows[0], rows[1], rows[2], rows[3], (120, 110)]);
        let found: Vec<PixelBox> = rows.iter().map(|(x, y)| PixelBox::new(*x, *y, 60, 20)).collect();
        // THEN the lattice predicts the row between, and the un-blend takes it in
        let predicted = complete_lattice(&img, &found);
        let near = |b: &PixelBox| b.x.abs_diff(120) <= 3 && b.y.abs_diff(110) <= 3;
        assert!(predicted.iter().any(near), "{predicted:?}");
        let mark = remove(&mut img, &found, &predicted).expect("un-blended");
        let between = PixelBox::new(120, 110, 60, 20);
        assert!(mark.tiles.iter().any(|t| t.intersection(&between) == 60 * 20), "{:?}", mark.tiles);
    }

    #[test]
    fn a_large_mark_is_un_blended_on_a_smaller_copy() {
        // The same photo and mark five times larger: boxes 100 px high take the scaled path.
        let spots = [(20, 20), (200, 40), (60, 150), (260, 200), (120, 240)];
        let (clean, img) = marked(0.35, &spots);
        let big = |i: &RgbImage| image::imageops::resize(i, 2000, 1500, image::imageops::FilterType::Nearest);
        let (clean, mut img) = (big(&clean), big(&img));
        let found: Vec<PixelBox> =
            spots[..4].iter().map(|(x, y)| PixelBox::new(x * 5, y * 5, 300, 100)).collect();
        let error = |img: &RgbImage| -> u64 {
            img.pixels().zip(clean.pixels()).map(|(a, b)| u64::from(a[0].abs_diff(b[0]))).sum()
        };
        let before = error(&img);
        let mark = remove_all(&mut img, &found).expect("un-blended");
        // The fifth tile, which the detector did not give, is found by its likeness.
        assert_eq!(mark.tiles.len(), 5, "{:?}", mark.tiles);
        assert!(mark.tiles.iter().all(|t| t.height > 100), "tiles at full size: {:?}", mark.tiles);
        assert!((0.15..0.5).contains(&mark.alpha), "{mark:?}");
        let after = error(&img);
        assert!(after * 3 < before * 2, "error {before} -> {after}");
    }

    #[test]
    fn a_scaled_alpha_map_keeps_its_values_and_blends_between_them() {
        let map = [0.0, 0.4, 0.0, 0.4];
        let up = upsample(&map, (2, 2), (4, 4));
        assert_eq!(up.len(), 16);
        for row in up.chunks(4) {
            assert!((row[0] - 0.0).abs() < 1e-6 && (row[3] - 0.4).abs() < 1e-6, "{row:?}");
            assert!((row[1] - 0.1).abs() < 1e-6 && (row[2] - 0.3).abs() < 1e-6, "{row:?}");
        }
    }

    #[test]
    fn a_tile_over_busy_photo_is_busier_than_one_over_flat_photo() {
        // Left half flat, right half a fine checker.
        let img = RgbImage::from_fn(200, 60, |x, y| {
            let v = if x < 100 {
                120
            } else if (x / 2 + y / 2) % 2 == 0 {
                60
            } else {
                180
            };
            Rgb([v, v, v])
        });
        let mean = |v: Vec<f32>| v.iter().sum::<f32>() / v.len() as f32;
        let flat = mean(busyness(&img, PixelBox::new(10, 10, 60, 40)));
        let busy = mean(busyness(&img, PixelBox::new(130, 10, 60, 40)));
        assert!(flat < 1.0 && busy > 10.0 * flat.max(0.1), "flat {flat}, busy {busy}");
    }

    #[test]
    fn two_lines_or_unlike_lines_are_not_a_repeated_mark() {
        let (_, img) = marked(0.35, &[(20, 20), (200, 40)]);
        assert!(find(&img, &[line(20, 20), line(200, 40)]).is_none());
        let (_, img) = marked(0.35, &[(20, 20), (200, 40), (60, 150)]);
        // A third line of the same size over plain photo does not look like the others.
        assert!(find(&img, &[line(20, 20), line(200, 40), line(300, 250)]).is_none());
    }

    #[test]
    fn a_texture_that_matches_everywhere_is_no_repeated_mark() {
        // A grain repeating every 24 × 16 px over a large picture: boxes cut from it match it
        // at every period, thousands of places, which no stock mark has.
        let img = RgbImage::from_fn(1600, 1200, |x, y| {
            let v = if (x % 24) < 6 || (y % 16) < 3 { 170 } else { 90 + ((x * 5 + y * 3) % 7) as u8 };
            Rgb([v, v - 20, v - 40])
        });
        let found = [
            PixelBox::new(240, 160, 19, 13),
            PixelBox::new(720, 480, 19, 13),
            PixelBox::new(1200, 800, 19, 13),
        ];
        assert_eq!(extend(&img, &found), None);
    }

    #[test]
    fn a_lattice_is_fitted_to_thousands_of_centres_with_some_off_their_places() {
        // 60 × 50 places 50 px and 40 px apart, every fifth pulled 15 px off its place.
        let centres: Vec<(f32, f32)> = (0..3000)
            .map(|i| {
                let (m, n) = ((i % 60) as f32, (i / 60) as f32);
                let off = if i % 5 == 3 { 15.0 } else { 0.0 };
                (10.0 + 50.0 * m + off, 12.0 + 40.0 * n + off)
            })
            .collect();
        let (origin, u, v) = lattice_fit(&centres, (30.0, 20.0), centres.len() * 3 / 5).expect("a lattice");
        assert_eq!(origin, (10.0, 12.0));
        let mut steps = [u, v];
        steps.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(steps, [(50.0, 0.0), (0.0, 40.0)]);
    }
}
