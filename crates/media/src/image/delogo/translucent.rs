//! A single translucent mark (a faint ident, a 50 % white signature) un-blended from the
//! picture around it, rather than filled.
//!
//! A mark of one grey level `C` laid at one opacity `a` turns the picture `B` under its strokes
//! into `O = (1 − a)·B + a·C`: the picture still shows through, attenuated. The picture around
//! the strokes, continued smoothly into them (a Telea fill), estimates `B` as `B̂`. Each pixel of
//! the strokes' body then gives, for a candidate level, the opacity that turns `B̂` into `O`; at
//! the mark's level those opacities agree (up to the texture `B̂` misses), at any other they
//! drift with the picture. Where one level and opacity explain the body, the blend is inverted,
//! `B = (O − a·C)/(1 − a)`, which keeps the picture's own detail under the strokes that a fill
//! would have to invent. The antialiased rim, where the mark covers part of a pixel, is inverted
//! at the share the estimate gives it.
//!
//! A light mark's blend is first read across its strokes' edges (`stroke_edges`), where each
//! pair of colours brings its own picture; the body against the smooth estimate decides where
//! that reads none.
//!
//! Opaque marks (an opacity past the range), marks of several colours or of a colour that is
//! not grey (no level on which the body agrees) are left to the fill.

use image::{GrayImage, Luma, RgbImage};

use super::coverage;
use super::mask::grown_by;
use super::stroke_edges;
use super::strokes::line_glyphs;
use super::telea::inpaint_telea;
use crate::imaging::geometry::PixelBox;
use crate::imaging::morphology::dilate;
use crate::imaging::shrink::shrink_area;

/// Opacities un-blended: fainter marks barely differ from their picture; past 0.75 the
/// inversion multiplies the picture's noise (and JPEG's) by 4 or more, and a fill does better.
const ALPHA_RANGE: std::ops::RangeInclusive<f32> = 0.2..=0.75;
/// The body: the mask less what [`overlay_mask`] grew it by and this many pixels more (the
/// strokes' fully covered inside, without their antialiased rim).
///
/// [`overlay_mask`]: super::mask::overlay_mask
const BODY_INSET: usize = 1;
/// Fewest body pixels to measure the blend on.
const MIN_BODY: usize = 60;
/// Most body pixels the blend is measured on.
const MAX_SAMPLES: usize = 20_000;
/// Grey levels tried for the mark's colour (steps of 255/LEVELS).
const LEVELS: usize = 32;
/// Least distance (grey levels, per channel on average) between a pixel's estimated picture and
/// the level for its opacity to be measured.
const MIN_ROOM: f32 = 24.0;
/// How far a pixel's change may stray from the direction towards the level (a share of the
/// change, plus the picture's noise in grey levels) for it to count.
const OFF_COURSE: f32 = 0.3;
const NOISE: f32 = 6.0;
/// Largest disagreement of the body's opacities (their median deviation over their median) for
/// one blend to explain them.
const MAX_DISAGREEMENT: f32 = 0.3;
/// How much worse white's or black's disagreement may be than the best grey's and still be
/// taken: this many times, or this much more, whichever is larger. Over a bright picture
/// "© Anna K" in white at 35 % measured 0.14 at white against 0.12 at a grey of 223 and 52 %;
/// over plain dark blue cloth "ARCHIVE" in white at 50 % 0.105 against 0.08 at a grey of 183 and
/// 71 %, and a synthetic cloth 0.015 against 0.010: where every level explains the body, the
/// difference is noise. (A grey mark at 200 measured 0.007 against white's 0.065.)
const PREFER_WHITE_OR_BLACK: f32 = 1.3;
const PREFER_WHITE_OR_BLACK_BY: f32 = 0.03;
/// A pixel's share of the mark from which it is taken as wholly covered (and un-blended as
/// such, keeping its detail) where its four neighbours' shares reach it too, and under which it
/// is left as it is.
const BODY_SHARE: f32 = 0.7;
const NO_SHARE: f32 = 0.12;
/// Where the share of a pixel on the glyphs' strokes over its local background (the picture
/// with what is as narrow as a stroke taken out, `line_glyphs`) exceeds the share over the
/// smooth estimate by this much, the estimate is misjudged and the local share is taken: a
/// letter over a dark floor, estimated from the light floor beside it, looked uncovered ("© M.
/// Rossi": its covered pixels measured a median share of 0.88 and a lower quartile of 0.44 over
/// the estimate, 1.02 and 0.98 over the local background; +4.8 → +12.5 dB). The local background
/// runs a little dark over texture (around the strokes, shares 0.05-0.1 higher than the
/// estimate's), so it is not taken always, nor off the strokes (thin light things in the scene,
/// which it takes out too, would be darkened: "© 2026 Lens" 6.0 → 5.3 dB, 6.1 when kept to the
/// strokes).
const MISJUDGED: f32 = 0.3;
/// Un-blended values this far outside 0–255 are not explained by the blend: filled instead.
const OUT_OF_RANGE: f32 = 24.0;
/// Masks over this many pixels (with their padding) are first measured on a copy shrunk to
/// about [`PREFIT_PIXELS`], and left at once where no blend explains them there.
const PREFIT_ABOVE: usize = 100_000;
const PREFIT_PIXELS: usize = 40_000;
/// Radius of the smooth estimate and of the fill of what the inversion cannot explain.
const FILL_RADIUS: u32 = 5;

/// The blend a mark was un-blended with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blend {
    pub alpha: f32,
    /// The mark's grey level (255 white, 0 black).
    pub level: f32,
}

impl Blend {
    /// The colour's name for the Result.
    pub fn colour_name(&self) -> &'static str {
        match self.level {
            l if l >= 230.0 => "white",
            l if l <= 25.0 => "black",
            _ => "grey",
        }
    }
}

/// Un-blends the mark under `mask` (255 over the mark, dilated past its rim) inside `region`,
/// in place, when one colour at one opacity explains it; `None` (and `image` untouched)
/// otherwise. The blend, once measured, also tells the mark's strokes that the mask missed, and
/// for a detected `line` of text the glyphs that continue it past `region` ([`line_glyphs`]):
/// those are un-blended too, and the box returned takes them in.
pub fn unblend(
    image: &mut RgbImage,
    mask: &GrayImage,
    region: PixelBox,
    line: bool,
) -> Option<(Blend, PixelBox)> {
    let (x0, y0, w, h) = padded(image, region)?;
    let marked: Vec<bool> =
        (0..w * h).map(|i| mask.get_pixel(x0 + (i % w) as u32, y0 + (i / w) as u32)[0] > 0).collect();
    let inset = grown_by(region) + BODY_INSET;
    let crop = image::imageops::crop_imm(image, x0, y0, w as u32, h as u32).to_image();
    // A large mark is first measured on a shrunk copy: most marks are no blend, and telling so
    // at full size cost 0.6-0.8 s on a 1,000 x 140 px bar in a 12 MP photo.
    let by = ((w * h) as f64 / PREFIT_PIXELS as f64).sqrt().ceil() as usize;
    if w * h > PREFIT_ABOVE && by >= 2 {
        let (sw, sh) = (w.div_ceil(by), h.div_ceil(by));
        let small = shrink_area(&crop, sw as u32, sh as u32);
        let (sw, sh) = (small.width() as usize, small.height() as usize);
        // A cell is marked where any of its pixels is.
        let mut hole = vec![false; sw * sh];
        for i in (0..w * h).filter(|&i| marked[i]) {
            hole[(i / w) * sh / h * sw + (i % w) * sw / w] = true;
        }
        // As at full size: across the strokes' edges, then the body. The body alone rejected
        // white signatures at 45-50 % in 2.4-3k px photos ("PHOTO BY KIM", "© M. Rossi") that
        // their edges explain; they were filled, −0.4 dB, where un-blending gains 15-20.
        let small_estimate = under(&small, &hole);
        stroke_edges::blend_across(&small, &small_estimate, &hole, region.height as f32 / by as f32)
            .or_else(|| measure(&small, &small_estimate, &hole, inset.div_ceil(by)))?;
    }
    // Across the strokes' edges first (each pair brings its own picture); the body against the
    // smooth estimate where the edges tell no blend.
    let estimate = under(&crop, &marked);
    let blend = stroke_edges::blend_across(&crop, &estimate, &marked, region.height as f32)
        .or_else(|| measure(&crop, &estimate, &marked, inset))?;

    let grown = apply(image, mask, region, blend, line, Some(((x0, y0, w, h), marked, estimate)))?;
    Some((blend, grown))
}

/// Un-blends a line of text whose `blend` is known (measured on its edges, `blended_line`), in
/// place: the `letters` its edges enclose (255), and the strokes the blend tells in `region` and
/// along its line past it. Returns the box that was un-blended.
pub fn unblend_known(
    image: &mut RgbImage,
    letters: &GrayImage,
    region: PixelBox,
    blend: Blend,
) -> Option<PixelBox> {
    apply(image, letters, region, blend, true, None)
}

/// The part of `image` an estimate was made over, what was marked there, and the estimate.
type Measured = ((u32, u32, usize, usize), Vec<bool>, RgbImage);

/// Inverts `blend` over the strokes it tells in `region` and `mask`'s pixels (255); `measured`,
/// where the blend was measured, is the estimate made then (reused where the strokes add
/// nothing).
fn apply(
    image: &mut RgbImage,
    mask: &GrayImage,
    region: PixelBox,
    blend: Blend,
    line: bool,
    measured: Option<Measured>,
) -> Option<PixelBox> {
    // The strokes the blend tells, grown over their rim as the mask is, with the mask's own.
    let glyphs = line_glyphs(image, region, blend, line);
    let grown = glyphs.region.union(&region);
    let (gx0, gy0, gw, gh) = padded(image, grown)?;
    let (sw, sh) = (glyphs.region.width as usize, glyphs.region.height as usize);
    let strokes = dilate(&glyphs.strokes, sw, sh, grown_by(glyphs.region));
    // Whether a pixel lies in the glyphs' box, and its index there.
    let in_glyphs = |x: u32, y: u32| {
        let (sx, sy) = (x.wrapping_sub(glyphs.region.x) as usize, y.wrapping_sub(glyphs.region.y) as usize);
        (sx < sw && sy < sh).then_some(sy * sw + sx)
    };
    let told: Vec<bool> = (0..gw * gh)
        .map(|i| {
            let (x, y) = (gx0 + (i % gw) as u32, gy0 + (i / gw) as u32);
            mask.get_pixel(x, y)[0] > 0 || in_glyphs(x, y).is_some_and(|k| strokes[k])
        })
        .collect();
    // The picture under them, estimated again only where the strokes changed what is marked.
    let estimate = match measured {
        Some((part, marked, estimate)) if part == (gx0, gy0, gw, gh) && told == marked => estimate,
        _ => under(&image::imageops::crop_imm(image, gx0, gy0, gw as u32, gh as u32).to_image(), &told),
    };
    let marked = told;
    let glyph_at = |i: usize| in_glyphs(gx0 + (i % gw) as u32, gy0 + (i / gw) as u32);
    let local: Vec<Option<[f32; 3]>> =
        (0..gw * gh).map(|i| glyph_at(i).map(|k| glyphs.background[k])).collect();
    let stroke: Vec<bool> = (0..gw * gh).map(|i| glyph_at(i).is_some_and(|k| strokes[k])).collect();
    let estimates = Estimates { smooth: &estimate, local: &local, stroke: &stroke };
    invert(image, &marked, (gx0, gy0, gw), estimates, blend);
    Some(grown)
}

/// `region` with room for the smooth estimate around it, in the image: (x, y, width, height).
fn padded(image: &RgbImage, region: PixelBox) -> Option<(u32, u32, usize, usize)> {
    let (iw, ih) = image.dimensions();
    let pad = FILL_RADIUS + 2;
    let x0 = region.x.saturating_sub(pad);
    let y0 = region.y.saturating_sub(pad);
    let x1 = (region.x + region.width + pad).min(iw);
    let y1 = (region.y + region.height + pad).min(ih);
    (x1 > x0 && y1 > y0).then(|| (x0, y0, (x1 - x0) as usize, (y1 - y0) as usize))
}

/// What the picture under each pixel of the part inverted is estimated from.
#[derive(Clone, Copy)]
struct Estimates<'a> {
    /// The picture continued smoothly into the mask (Telea).
    smooth: &'a RgbImage,
    /// The local background where the line's glyphs were told (`line_glyphs`), if they were.
    local: &'a [Option<[f32; 3]>],
    /// Whether the pixel lies on the glyphs' strokes, grown over their rim.
    stroke: &'a [bool],
}

/// Inverts `blend` over the part of `image` at (`x0`, `y0`), `w` wide, where the mark covers it.
/// Each `marked` pixel's share of the mark is measured over the `estimates` of the picture under
/// it. Where the local background is known too, the smaller of the two shares is taken (a smooth
/// estimate drawn from darker surroundings made clear sky above a white letter look covered); on
/// the glyphs' strokes, the local one where it is larger by more than [`MISJUDGED`]. The shares
/// are the evidence from which `coverage` decides what the mark covers.
fn invert(
    image: &mut RgbImage,
    marked: &[bool],
    (x0, y0, w): (u32, u32, usize),
    estimates: Estimates,
    blend: Blend,
) {
    let (iw, ih) = image.dimensions();
    let at = |i: usize| (x0 + (i % w) as u32, y0 + (i / w) as u32);
    let (a, colour) = (blend.alpha, [blend.level; 3]);
    // Each marked pixel's share of the mark, from how far it moved towards the colour.
    let shares: Vec<f32> = (0..marked.len())
        .map(|i| {
            if !marked[i] {
                return 0.0;
            }
            let (x, y) = at(i);
            let seen = image.get_pixel(x, y).0.map(f32::from);
            let share_over = |under: [f32; 3]| share(seen, under, blend).unwrap_or(1.0);
            let smooth =
                share_over(estimates.smooth.get_pixel((i % w) as u32, (i / w) as u32).0.map(f32::from));
            estimates.local[i].map_or(smooth, |local| {
                let local = share_over(local);
                if estimates.stroke[i] && local - smooth > MISJUDGED { local } else { smooth.min(local) }
            })
        })
        .collect();
    // Which pixels the mark covers, decided for the whole part at once with the shares as
    // evidence (`coverage`); a part too large for that takes the shares alone.
    let h = marked.len() / w;
    let part = image::imageops::crop_imm(image, x0, y0, w as u32, h as u32).to_image();
    let covers = match coverage::covered(&part, &shares, blend) {
        Some((covered, rim)) => {
            let measured: Vec<Option<f32>> =
                (0..shares.len()).map(|i| marked[i].then_some(shares[i])).collect();
            coverage::covers(&part, (&covered, rim), &measured, blend)
        }
        None => by_share(&shares, w, a),
    };
    let mut leftover = GrayImage::new(iw, ih);
    let mut strange = false;
    for (i, &cover) in covers.iter().enumerate() {
        if cover < a * NO_SHARE {
            continue;
        }
        let (x, y) = at(i);
        let p = image.get_pixel_mut(x, y);
        let seen = p.0.map(f32::from);
        let mut out_of_range = false;
        for c in 0..3 {
            let b = (seen[c] - cover * colour[c]) / (1.0 - cover);
            out_of_range |= !(-OUT_OF_RANGE..=255.0 + OUT_OF_RANGE).contains(&b);
            p[c] = b.round().clamp(0.0, 255.0) as u8;
        }
        if out_of_range {
            leftover.put_pixel(x, y, Luma([255]));
            strange = true;
        }
    }
    if strange {
        inpaint_telea(image, &leftover, FILL_RADIUS);
    }
}

/// The share of the mark a pixel `seen` shows over the picture `under` it: how far it moved
/// towards the blend's colour, as a fraction of the blend's own step. `None` where the picture is
/// the colour already (nothing to measure).
pub(super) fn share(seen: [f32; 3], under: [f32; 3], blend: Blend) -> Option<f32> {
    let (mut num, mut den) = (0.0, 0.0);
    for c in 0..3 {
        num += (seen[c] - under[c]) * (blend.level - under[c]);
        den += (blend.level - under[c]).powi(2);
    }
    (den > 1.0).then(|| num / den / blend.alpha)
}

/// The share to invert at each pixel from its measured share alone (0 where unmarked): a pixel is
/// wholly covered (inverted at the blend's opacity `a`, its detail kept) where it and its four
/// neighbours look covered; one at the strokes' edge is inverted at its own share, however much
/// it looks covered: the antialiased rim of "PHOTO BY KIM" came out 11-15 levels darker than the
/// wall where shares of 0.75 were taken for whole.
fn by_share(shares: &[f32], w: usize, a: f32) -> Vec<f32> {
    let h = shares.len() / w;
    let body = |i: usize| shares[i] >= BODY_SHARE;
    let inside = |i: usize| {
        let (x, y) = (i % w, i / w);
        body(i)
            && x > 0
            && y > 0
            && x + 1 < w
            && y + 1 < h
            && [i - 1, i + 1, i - w, i + w].into_iter().all(body)
    };
    (0..shares.len())
        .map(|i| {
            if inside(i) {
                a
            } else if shares[i] < NO_SHARE {
                0.0
            } else {
                a * shares[i].min(1.0)
            }
        })
        .collect()
}

/// The picture continued smoothly into the `marked` pixels of `crop` (Telea): what lies under.
pub(super) fn under(crop: &RgbImage, marked: &[bool]) -> RgbImage {
    let w = crop.width() as usize;
    let mut estimate = crop.clone();
    let hole = GrayImage::from_fn(crop.width(), crop.height(), |x, y| {
        Luma([if marked[y as usize * w + x as usize] { 255 } else { 0 }])
    });
    inpaint_telea(&mut estimate, &hole, FILL_RADIUS);
    estimate
}

/// The blend that explains `crop` under `marked` (the body `inset` px in from the mask's edge)
/// against `estimate`, the picture continued smoothly into the mask (Telea).
fn measure(crop: &RgbImage, estimate: &RgbImage, marked: &[bool], inset: usize) -> Option<Blend> {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let unmarked: Vec<bool> = marked.iter().map(|m| !m).collect();
    let body: Vec<bool> = dilate(&unmarked, w, h, inset).iter().map(|near| !near).collect();
    // An even sample of the body is enough to measure the blend (a given box over a fifth of a
    // 12 MP photo has millions of pixels).
    let step = body.iter().filter(|&&b| b).count().div_ceil(MAX_SAMPLES).max(1);
    let pairs: Vec<([f32; 3], [f32; 3])> = (0..w * h)
        .filter(|&i| body[i])
        .step_by(step)
        .map(|i| {
            let (x, y) = ((i % w) as u32, (i / w) as u32);
            (crop.get_pixel(x, y).0.map(f32::from), estimate.get_pixel(x, y).0.map(f32::from))
        })
        .collect();
    fit(&pairs)
}

/// The grey (or white, or black) level and opacity that explain the pairs `(seen, under)` (a
/// colour seen through the mark and the picture under it): for each candidate level, every
/// pair gives the opacity that moves its picture to what is seen; the level at which those
/// opacities agree best is the mark's. (A fit of a line through the pixels would be biased: a
/// smooth estimate of the picture misses its texture, which flattens the slope and overstates
/// the opacity. The opacities' median is not.)
pub(super) fn fit(pairs: &[([f32; 3], [f32; 3])]) -> Option<Blend> {
    if pairs.len() < MIN_BODY {
        return None;
    }
    // (level, opacity, disagreement) per level that can be measured.
    let mut tried = Vec::new();
    for level in (0..=LEVELS).map(|i| i as f32 * 255.0 / LEVELS as f32) {
        let mut alphas: Vec<f32> =
            pairs.iter().filter_map(|(seen, under)| opacity(*seen, *under, level)).collect();
        // The level must leave room in most of the body (a white mark over white snow cannot be
        // measured), and the spread of the opacities is judged against their size.
        if alphas.len() * 2 < pairs.len() {
            continue;
        }
        // Only opacities that can be un-blended compete: over a plain dark picture a 47 % white
        // word is also an opaque grey (its body measured disagreement 0.06 at grey 143 and 98 %,
        // 0.10 at white and 47 %), and the opaque reading would leave it to the fill.
        let alpha = median(&mut alphas);
        if ALPHA_RANGE.contains(&alpha) {
            let mut spread: Vec<f32> = alphas.iter().map(|a| (a - alpha).abs()).collect();
            tried.push((level, alpha, median(&mut spread) / alpha));
        }
    }
    let best = tried.iter().copied().min_by(|a, b| a.2.total_cmp(&b.2))?;
    // Over a picture of narrow range, a paler level at a higher opacity explains the body about
    // as well as white (or a darker one as well as black): white and black, the usual marks, are
    // taken unless a grey clearly agrees better.
    let (level, alpha, disagreement) = tried
        .iter()
        .copied()
        .filter(|t| {
            let close = (best.2 * PREFER_WHITE_OR_BLACK).max(best.2 + PREFER_WHITE_OR_BLACK_BY);
            (t.0 == 0.0 || t.0 == 255.0) && t.2 <= close
        })
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap_or(best);
    (disagreement <= MAX_DISAGREEMENT).then_some(Blend { alpha, level })
}

/// The opacity that blends `under` towards `level` into `seen`, over the three channels; `None`
/// where `under` is too close to the level to tell, or where the change from `under` to `seen`
/// does not point towards the level (an opaque orange letter over grey changes the picture
/// towards orange, which no grey blend does).
pub(super) fn opacity(seen: [f32; 3], under: [f32; 3], level: f32) -> Option<f32> {
    let (mut num, mut den) = (0.0, 0.0);
    for c in 0..3 {
        num += (seen[c] - under[c]) * (level - under[c]);
        den += (level - under[c]).powi(2);
    }
    if den < 3.0 * MIN_ROOM * MIN_ROOM {
        return None;
    }
    let alpha = num / den;
    let (mut off, mut change) = (0.0, 0.0);
    for c in 0..3 {
        off += (seen[c] - under[c] - alpha * (level - under[c])).powi(2);
        change += (seen[c] - under[c]).powi(2);
    }
    (off.sqrt() <= OFF_COURSE * change.sqrt() + NOISE).then_some(alpha)
}

fn median(values: &mut [f32]) -> f32 {
    let mid = values.len() / 2;
    *values.select_nth_unstable_by(mid, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::psnr_in;
    use super::*;
    use image::Rgb;

    /// A photo-like background: gradients and stripes of varied colour.
    fn background(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32, y as f32);
            let r = 100.0 + 60.0 * (fx / 31.0).sin() + 40.0 * (fy / 19.0).cos();
            let g = 110.0 + 50.0 * (fy / 23.0).sin() * (fx / 41.0).cos();
            let b = 90.0 + 0.1 * fx + 30.0 * ((fx + fy) / 13.0).sin();
            Rgb([r.clamp(0.0, 255.0) as u8, g.clamp(0.0, 255.0) as u8, b.clamp(0.0, 255.0) as u8])
        })
    }

    /// Bars 8 px thick (a bold letter's strokes) at `alpha` in `colour`, inside `r`.
    fn strokes(img: &mut RgbImage, r: PixelBox, colour: [f32; 3], alpha: f32) -> GrayImage {
        let mut mask = GrayImage::new(img.width(), img.height());
        for y in r.y..r.y + r.height {
            for x in r.x..r.x + r.width {
                let (dx, dy) = (x - r.x, y - r.y);
                if dx % 24 < 8 || dy < 8 {
                    let p = img.get_pixel_mut(x, y);
                    for c in 0..3 {
                        p[c] = (f32::from(p[c]) * (1.0 - alpha) + colour[c] * alpha).round() as u8;
                    }
                }
            }
        }
        // The mask as `overlay_mask` draws it: the strokes grown by 2 px.
        let grown = PixelBox { x: r.x - 2, y: r.y - 2, width: r.width + 4, height: r.height + 4 };
        for y in grown.y..grown.y + grown.height {
            for x in grown.x..grown.x + grown.width {
                let (dx, dy) = (x as i64 - r.x as i64, y as i64 - r.y as i64);
                let near = (-2..=2).any(|k| {
                    let (sx, sy) = (dx + k, dy);
                    let (tx, ty) = (dx, dy + k);
                    let on = |a: i64, b: i64| {
                        a >= 0 && b >= 0 && a < r.width as i64 && b < r.height as i64 && (a % 24 < 8 || b < 8)
                    };
                    on(sx, sy) || on(tx, ty)
                });
                if near {
                    mask.put_pixel(x, y, Luma([255]));
                }
            }
        }
        mask
    }

    #[test]
    fn a_grey_mark_at_half_opacity_is_unblended_with_its_colour_and_opacity() {
        // GIVEN grey strokes at 45 % over a varied picture
        let clean = background(320, 200);
        let mut marked = clean.clone();
        let r = PixelBox::new(100, 60, 104, 60);
        let mask = strokes(&mut marked, r, [200.0; 3], 0.45);
        // WHEN they are un-blended
        let mut out = marked.clone();
        let (blend, _) = unblend(&mut out, &mask, PixelBox::new(98, 58, 108, 64), false).expect("un-blended");
        // THEN the opacity and grey level are measured
        assert!((blend.alpha - 0.45).abs() < 0.06, "{blend:?}");
        assert!((blend.level - 200.0).abs() < 20.0, "{blend:?}");
        assert_eq!(blend.colour_name(), "grey");
        // AND the picture comes back far better than it was
        let (before, after) = (psnr_in(&marked, &clean, r), psnr_in(&out, &clean, r));
        assert!(after > before + 12.0 && after > 35.0, "PSNR {before:.1} → {after:.1} dB");
    }

    #[test]
    fn white_strokes_over_carved_detail_are_unblended_as_a_whole_more_than_by_their_shares() {
        // GIVEN white strokes at 40 % over fine, strong detail (carvings: a 5 px lattice of dark
        // grooves over a varied picture), where no estimate of the picture under a stroke is
        // right to within the mark's own step
        let base = background(320, 200);
        let clean = RgbImage::from_fn(320, 200, |x, y| {
            let p = base.get_pixel(x, y).0;
            let groove = if x % 5 == 0 || y % 7 == 0 { 70 } else { 0 };
            Rgb(p.map(|v| v.saturating_sub(groove)))
        });
        let mut marked = clean.clone();
        let r = PixelBox::new(100, 60, 104, 60);
        let mask = strokes(&mut marked, r, [255.0; 3], 0.4);
        // WHEN they are un-blended
        let mut out = marked.clone();
        unblend(&mut out, &mask, PixelBox::new(98, 58, 108, 64), false).expect("un-blended");
        // THEN more of the strokes comes back than the shares alone tell (+5.7 dB, against +3.5
        // with the shares alone: the coverage cut is what this checks)
        let (before, after) = (psnr_in(&marked, &clean, r), psnr_in(&out, &clean, r));
        assert!(after > before + 4.5, "PSNR {before:.1} → {after:.1} dB");
    }

    #[test]
    fn a_white_mark_over_plain_dark_cloth_is_read_as_white_not_as_an_opaque_grey() {
        // GIVEN white strokes at 47 % over dark blue cloth with a faint weave: an opaque grey
        // would look much the same there
        let clean = RgbImage::from_fn(320, 200, |x, y| {
            let weave = 6.0 * ((x as f32) / 3.0).sin() + 4.0 * ((y as f32) / 5.0).cos();
            Rgb([(30.0 + weave) as u8, (35.0 + weave) as u8, (110.0 + weave) as u8])
        });
        let mut marked = clean.clone();
        let r = PixelBox::new(100, 60, 104, 60);
        let mask = strokes(&mut marked, r, [255.0; 3], 0.47);
        // WHEN they are un-blended
        let mut out = marked.clone();
        let (blend, _) = unblend(&mut out, &mask, PixelBox::new(98, 58, 108, 64), false).expect("un-blended");
        // THEN white at its opacity is measured, and the cloth comes back
        assert_eq!(blend.colour_name(), "white", "{blend:?}");
        assert!((blend.alpha - 0.47).abs() < 0.06, "{blend:?}");
        let (before, after) = (psnr_in(&marked, &clean, r), psnr_in(&out, &clean, r));
        assert!(after > before + 12.0, "PSNR {before:.1} → {after:.1} dB");
    }

    #[test]
    fn a_strokes_antialiased_rim_is_inverted_at_its_own_share_not_darkened() {
        // GIVEN a white stroke at 40 % over a flat picture at 100, 6 px wide, whose edge columns
        // the antialiasing covered three quarters
        let picture: f32 = 100.0;
        let cover = |x: u32| match x {
            10 | 17 => 0.75,
            11..=16 => 1.0,
            _ => 0.0,
        };
        let mut image = RgbImage::from_fn(28, 12, |x, _| {
            let a = 0.4 * cover(x);
            Rgb([(picture * (1.0 - a) + 255.0 * a).round() as u8; 3])
        });
        let marked: Vec<bool> = (0..28 * 12).map(|i| (8..20).contains(&(i % 28))).collect();
        let estimate = RgbImage::from_pixel(28, 12, Rgb([picture as u8; 3]));
        // WHEN the blend is inverted
        let estimates = Estimates { smooth: &estimate, local: &[None; 28 * 12], stroke: &[false; 28 * 12] };
        invert(&mut image, &marked, (0, 0, 28), estimates, Blend { alpha: 0.4, level: 255.0 });
        // THEN the rim comes back to the picture, as the inside does (taken as wholly covered,
        // a share of 0.75 came out 26 levels dark)
        for x in 8..20 {
            let v = f32::from(image.get_pixel(x, 6)[0]);
            assert!((v - picture).abs() <= 2.0, "column {x}: {v}");
        }
    }

    #[test]
    fn a_letter_the_smooth_estimate_misjudges_is_inverted_at_its_local_backgrounds_share() {
        // GIVEN a white stroke at 50 % over a dark floor at 60, which the smooth estimate
        // continues from a light floor at 200 beside it, while the local background is right
        // (the glyphs' strokes, grown over their rim, cover what is marked)
        let picture: f32 = 60.0;
        let covered = |x: u32| (10..18).contains(&x);
        let mut image = RgbImage::from_fn(28, 12, |x, _| {
            let a = if covered(x) { 0.5 } else { 0.0 };
            Rgb([(picture * (1.0 - a) + 255.0 * a).round() as u8; 3])
        });
        let marked: Vec<bool> = (0..28 * 12).map(|i| (8..20).contains(&(i % 28))).collect();
        let estimate = RgbImage::from_pixel(28, 12, Rgb([200; 3]));
        let local: Vec<Option<[f32; 3]>> = marked.iter().map(|&m| m.then_some([picture; 3])).collect();
        // WHEN the blend is inverted
        let estimates = Estimates { smooth: &estimate, local: &local, stroke: &marked };
        invert(&mut image, &marked, (0, 0, 28), estimates, Blend { alpha: 0.5, level: 255.0 });
        // THEN the floor comes back under the stroke (the estimate's share alone left it at 158)
        for x in 8..20 {
            let v = f32::from(image.get_pixel(x, 6)[0]);
            assert!((v - picture).abs() <= 2.0, "column {x}: {v}");
        }
    }

    #[test]
    fn an_opaque_mark_or_one_of_many_colours_is_left_to_the_fill() {
        let clean = background(320, 200);
        let r = PixelBox::new(100, 60, 104, 60);
        let around = PixelBox::new(98, 58, 108, 64);
        // GIVEN opaque white strokes
        let mut opaque = clean.clone();
        let mask = strokes(&mut opaque, r, [255.0; 3], 1.0);
        let mut out = opaque.clone();
        // THEN nothing is un-blended and nothing changes
        assert_eq!(unblend(&mut out, &mask, around, false), None);
        assert_eq!(out, opaque);
        // GIVEN strokes whose colour changes along them (opaque, a gradient logo)
        let mut painted = clean;
        for y in r.y..r.y + r.height {
            for x in r.x..r.x + r.width {
                if mask.get_pixel(x, y)[0] > 0 {
                    painted.put_pixel(x, y, Rgb([(x * 2 % 256) as u8, 40, (y * 3 % 256) as u8]));
                }
            }
        }
        let mut out = painted.clone();
        assert_eq!(unblend(&mut out, &mask, around, false), None);
        assert_eq!(out, painted);
    }
}
