//! A line of text blended over the picture, found by the blend its letters' edges fit rather than
//! by the text detector: a stock preview's one word across the middle ("iStock", "PREVIEW",
//! "alamy" in white or black at 30-50 %), and, once the marks the detector read are removed, a
//! translucent signature in the border band that it did not read ("© Jane Doe" over light wood).
//!
//! Text the detector reads in the middle of a picture is scene text (a sign, a book cover) far
//! more often than an overlay, and the detector often does not read a translucent word at all
//! over a busy picture. A person sees a stock mark for what it is by the picture showing through
//! its letters: every stroke's edge has the picture on one side and the same picture lifted
//! towards white by one fraction on the other (`blend`'s edge fits), whatever lies under it.
//! Printed lettering is opaque: its strokes keep their colour while the picture beside them
//! changes, and no one fraction explains its edges.
//!
//! 1. The edge fits of one tint within [`ALPHA_WINDOW`] of an opacity (in steps of
//!    [`ALPHA_STEP`]) in the middle of the picture (anywhere, for the border band) are joined through neighbouring cells into
//!    glyphs, and glyphs of about one height side by side into lines (`lines`).
//! 2. A line is the mark when its fits stand out at that opacity ([`MIN_PEAK`] times those at
//!    the opacities either side, in its box), there are [`MIN_FITS`] of them, it is a word's
//!    shape and a stock mark's size, centred (or in the band), and the picture beside its strokes varies in
//!    brightness ([`MIN_BACKGROUND_SPREAD`]) and has colour ([`MIN_INFORMATIVE`]): on a plain
//!    panel, or in a grey picture, any lettering fits some blend.
//! 3. Its letters are told at the picture's own resolution: along each row and column, from an
//!    edge whose blended side faces along it to the next that faces back (`letters`). The
//!    caller un-blends them with the opacity the fits measured, with the strokes that blend
//!    tells along the line past the box (`translucent::unblend_known`).
//!
//! In the border band, where the scene's lettering is common and the detector has looked already,
//! a line must stand out more ([`MIN_BORDER_PEAK`]). Missed by design: a logo without a row of
//! letters, lines between the band and the middle, and marks over greyscale pictures.

use image::{GrayImage, Luma, RgbImage};

use super::blend::{EdgeFits, Fit, Tint, edge_fits};
use super::translucent::Blend;
use crate::imaging::geometry::PixelBox;
use crate::imaging::morphology::{dilate, labels};
use crate::imaging::parallel;

/// Opacities looked for, in steps of [`ALPHA_STEP`], each taking fits within [`ALPHA_WINDOW`].
const ALPHAS: std::ops::RangeInclusive<f32> = 0.25..=0.75;
const ALPHA_STEP: f32 = 0.02;
const ALPHA_WINDOW: f32 = 0.035;
/// Fits are looked at within this share of the picture's size from its centre, each way…
const ZONE_X: f32 = 0.35;
const ZONE_Y: f32 = 0.3;
/// …and the mark's centre lies within this share of it from the picture's.
const CENTRED: f32 = 0.12;
/// Fits are joined through cells of this many work pixels (and their 8 neighbours).
const CELL: u32 = 2;
/// A glyph has at least this many fits.
const MIN_GLYPH_FITS: usize = 6;
/// A line's fits outnumber those at the opacities [`3 × ALPHA_WINDOW`](ALPHA_WINDOW) either
/// side, in its box, this many times: the development set's five marks measured 1.78–34, the
/// clean photos' lines up to 2.8, none of them centred, word-shaped and coloured as well.
const MIN_PEAK: f32 = 1.7;
/// In the border band, where the scene's lettering is common and the text detector has looked
/// already, a line stands out this many times: "© Jane Doe" over light wood measured 5.1, the
/// clean photos' coloured lines there at most 2.6.
const MIN_BORDER_PEAK: f32 = 4.0;
/// A line in the border band lies within this share of the picture's size from a border.
const BORDER_BAND: f32 = 0.3;
/// At least this many fits in the line.
const MIN_FITS: usize = 100;
/// The line is at least this many times wider than high, and at least this share of the
/// picture's height high (stock marks are set large, to spoil the preview).
const MIN_ASPECT: f32 = 2.5;
const MIN_HEIGHT: f32 = 0.04;
/// The picture beside the strokes varies by at least this much (luma standard deviation; the
/// marks measured 20–65)…
const MIN_BACKGROUND_SPREAD: f32 = 12.0;
/// …and at least this share of the fits has colour on its plain side (the marks measured
/// 0.31–1.0, the scene's lines in grey pictures 0).
const MIN_INFORMATIVE: f32 = 0.25;
const MIN_CHROMA: f32 = 16.0;
/// The letters' edges fit the blend within this of its opacity.
const LETTER_WINDOW: f32 = 0.07;
/// A letter's stroke is at most this share of the line's height across.
const MAX_STROKE: f32 = 0.35;

/// A translucent line found: its box in the picture, its blend, and the letters' pixels its
/// edges enclose along rows and columns (255, in the picture's pixels).
#[derive(Debug, Clone)]
pub struct BlendedLine {
    pub region: PixelBox,
    pub blend: Blend,
    pub letters: GrayImage,
}

/// Where a line is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Across the middle: a stock preview's mark.
    Middle,
    /// Within [`BORDER_BAND`] of a border: a signature the text detector did not read, looked for
    /// once the marks it read are removed, on stronger evidence ([`MIN_BORDER_PEAK`]).
    Border,
}

/// The translucent mark across the middle of `image`, if there is one; `edges` were read from it.
pub fn find(image: &RgbImage, edges: &EdgeFits) -> Option<BlendedLine> {
    find_at(image, edges, Place::Middle)
}

/// The translucent line of text at `place` in `image` with the most evidence, if there is one;
/// `edges` were read from it.
pub fn find_at(image: &RgbImage, edges: &EdgeFits, place: Place) -> Option<BlendedLine> {
    let (w, h) = image.dimensions();
    if w < 64 || h < 64 {
        return None;
    }
    let scale = edges.scale;
    let (ww, wh) = edges.work.dimensions();
    let zone = |f: &Fit| {
        place == Place::Border
            || (f.x as f32 / ww as f32 - 0.5).abs() <= ZONE_X
                && (f.y as f32 / wh as f32 - 0.5).abs() <= ZONE_Y
    };
    // The mark: the line with the most fits of those that pass, with its tint (the first of
    // equals). Each tint and opacity is searched on its own, on every core.
    let zoned: Vec<Vec<Fit>> = edges.fits.iter().map(|f| f.iter().copied().filter(zone).collect()).collect();
    let steps = ((ALPHAS.end() - ALPHAS.start()) / ALPHA_STEP).round() as usize;
    let searches: Vec<(usize, f32)> =
        (0..2).flat_map(|t| (0..=steps).map(move |k| (t, ALPHAS.start() + k as f32 * ALPHA_STEP))).collect();
    let found = parallel::map(&searches, |&(t, a)| {
        let fits = &zoned[t];
        let near: Vec<Fit> = fits.iter().copied().filter(|f| (f.alpha - a).abs() <= ALPHA_WINDOW).collect();
        if near.len() < MIN_FITS {
            return None;
        }
        let mut best: Option<Vec<Fit>> = None;
        for line in lines(groups(&near, (ww, wh))) {
            let more = best.as_ref().is_none_or(|b| line.len() > b.len());
            if more && is_mark(&line, fits, a, (ww, wh), place) {
                best = Some(line);
            }
        }
        best.map(|line| (if t == 0 { Tint::White } else { Tint::Black }, line))
    });
    let mut best: Option<(Tint, Vec<Fit>)> = None;
    for (tint, line) in found.into_iter().flatten() {
        if best.as_ref().is_none_or(|(_, b)| line.len() > b.len()) {
            best = Some((tint, line));
        }
    }
    let (tint, line) = best?;
    let mut alphas: Vec<f32> = line.iter().map(|f| f.alpha).collect();
    alphas.sort_by(f32::total_cmp);
    let alpha = alphas[alphas.len() / 2];
    let (x0, y0, x1, y1) = bounds(&line);
    let full = |v: u32, limit: u32| ((v as f32 * scale).round() as u32).min(limit);
    let region = PixelBox::from_edges(full(x0, w), full(y0, h), full(x1 + 1, w), full(y1 + 1, h));
    let blend = Blend { alpha, level: tint.level() };
    let letters = letters(image, region, blend, tint);
    Some(BlendedLine { region, blend, letters })
}

/// The pixels of the letters in `region`, at the picture's own resolution: along each row (and
/// each column), from an edge whose blended side faces along it to the next edge that faces
/// back, when that is at most [`MAX_STROKE`] of the line's height further.
fn letters(image: &RgbImage, region: PixelBox, blend: Blend, tint: Tint) -> GrayImage {
    let (w, h) = image.dimensions();
    let pad = 4;
    let x0 = region.x.saturating_sub(pad);
    let y0 = region.y.saturating_sub(pad);
    let x1 = (region.right() + pad).min(w);
    let y1 = (region.bottom() + pad).min(h);
    let crop = image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
    let (cw, ch) = (crop.width() as usize, crop.height() as usize);
    let fits = &edge_fits(&crop)[usize::from(tint == Tint::Black)];
    let fits: Vec<&Fit> = fits.iter().filter(|f| (f.alpha - blend.alpha).abs() <= LETTER_WINDOW).collect();
    let longest = ((MAX_STROKE * region.height as f32).ceil() as usize).max(2);
    let mut cover = vec![false; cw * ch];
    // (position along, across, entering) per row and per column.
    for along_x in [true, false] {
        let lanes = if along_x { ch } else { cw };
        let mut marks: Vec<Vec<(usize, bool)>> = vec![Vec::new(); lanes];
        for f in &fits {
            let (d, lane, at) = if along_x {
                (f.inward.0, f.y as usize, f.x as usize)
            } else {
                (f.inward.1, f.x as usize, f.y as usize)
            };
            if d.abs() >= 0.5 {
                marks[lane].push((at, d > 0.0));
            }
        }
        for (lane, m) in marks.iter_mut().enumerate() {
            m.sort_unstable();
            for pair in m.windows(2) {
                let ((a, enter), (b, leave)) = (pair[0], pair[1]);
                if enter && !leave && b - a <= longest {
                    for t in a..=b {
                        let i = if along_x { lane * cw + t } else { t * cw + lane };
                        cover[i] = true;
                    }
                }
            }
        }
    }
    let mut out = GrayImage::new(w, h);
    for (i, _) in cover.iter().enumerate().filter(|(_, c)| **c) {
        out.put_pixel(x0 + (i % cw) as u32, y0 + (i / cw) as u32, Luma([255]));
    }
    out
}

/// Whether `line`, fits within [`ALPHA_WINDOW`] of `a`, is a translucent word laid across the
/// middle of the picture; `fits` are all the fits of its tint in the middle.
fn is_mark(line: &[Fit], fits: &[Fit], a: f32, (ww, wh): (u32, u32), place: Place) -> bool {
    let (x0, y0, x1, y1) = bounds(line);
    let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
    let (cx, cy) = ((x0 + x1) as f32 / 2.0 / ww as f32, (y0 + y1) as f32 / 2.0 / wh as f32);
    if line.len() < MIN_FITS
        || bw < MIN_ASPECT * bh
        || bh < MIN_HEIGHT * wh as f32
        || !match place {
            Place::Middle => (cx - 0.5).abs() <= CENTRED && (cy - 0.5).abs() <= CENTRED,
            Place::Border => {
                let across =
                    (x0.min(ww - 1 - x1) as f32 / ww as f32).min(y0.min(wh - 1 - y1) as f32 / wh as f32);
                across <= BORDER_BAND
            }
        }
    {
        return false;
    }
    let n = line.len() as f32;
    let plain = line.iter().map(|f| f.plain).sum::<f32>() / n;
    let spread = (line.iter().map(|f| (f.plain - plain).powi(2)).sum::<f32>() / n).sqrt();
    let informative = line.iter().filter(|f| f.chroma >= MIN_CHROMA).count() as f32 / n;
    if spread < MIN_BACKGROUND_SPREAD || informative < MIN_INFORMATIVE {
        return false;
    }
    let in_box = |c: f32| {
        fits.iter()
            .filter(|f| (x0..=x1).contains(&f.x) && (y0..=y1).contains(&f.y))
            .filter(|f| (f.alpha - c).abs() <= ALPHA_WINDOW)
            .count()
    };
    let beside = in_box(a - 3.0 * ALPHA_WINDOW).max(in_box(a + 3.0 * ALPHA_WINDOW));
    let peak = match place {
        Place::Middle => MIN_PEAK,
        Place::Border => MIN_BORDER_PEAK,
    };
    n >= peak * beside as f32
}

/// The groups of `fits` joined through neighbouring cells (a fit's cell and the 8 around it).
fn groups(fits: &[Fit], (ww, wh): (u32, u32)) -> Vec<Vec<Fit>> {
    let (cw, ch) = (ww.div_ceil(CELL) as usize, wh.div_ceil(CELL) as usize);
    let cell = |f: &Fit| (f.y / CELL) as usize * cw + (f.x / CELL) as usize;
    let mut occupied = vec![false; cw * ch];
    for f in fits {
        occupied[cell(f)] = true;
    }
    let joined = dilate(&occupied, cw, ch, 1);
    let (label, count) = labels(&joined, cw, ch);
    let mut out = vec![Vec::new(); count];
    for f in fits {
        out[label[cell(f)]].push(*f);
    }
    out
}

/// Groups that line up as the glyphs of one line: at least three, of about one height (from
/// 0.45 to 1.5 times the tallest's), overlapping its row by half the smaller height, each
/// within 0.7 of its height of the next; with the fragments that lie within their box.
fn lines(mut glyphs: Vec<Vec<Fit>>) -> Vec<Vec<Fit>> {
    glyphs.retain(|g| g.len() >= MIN_GLYPH_FITS);
    let boxes: Vec<(u32, u32, u32, u32)> = glyphs.iter().map(|g| bounds(g)).collect();
    let height = |i: usize| boxes[i].3 - boxes[i].1 + 1;
    let mut order: Vec<usize> = (0..glyphs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(height(i)));
    let mut used = vec![false; glyphs.len()];
    let mut out = Vec::new();
    for &seed in &order {
        if used[seed] {
            continue;
        }
        let (_, sy0, _, sy1) = boxes[seed];
        let sh = height(seed);
        let peer = |i: usize| {
            let (_, y0, _, y1) = boxes[i];
            let overlap = (y1.min(sy1) + 1).saturating_sub(y0.max(sy0));
            let hh = height(i);
            2 * overlap >= hh.min(sh) && 20 * hh >= 9 * sh && 2 * hh <= 3 * sh
        };
        let mut row: Vec<usize> = (0..glyphs.len()).filter(|&i| !used[i] && peer(i)).collect();
        row.sort_by_key(|&i| boxes[i].0);
        // The run of glyphs through the seed with gaps under 0.7 of the seed's height.
        let gap = (sh as f32 * 0.7) as u32 + 1;
        let at = row.iter().position(|&i| i == seed).unwrap_or(0);
        let (mut lo, mut hi) = (at, at);
        let mut right = boxes[seed].2;
        while hi + 1 < row.len() && boxes[row[hi + 1]].0 <= right + gap {
            hi += 1;
            right = right.max(boxes[row[hi]].2);
        }
        let mut left = boxes[seed].0;
        while lo > 0 && boxes[row[lo - 1]].2 + gap >= left {
            lo -= 1;
            left = left.min(boxes[row[lo]].0);
        }
        let run = &row[lo..=hi];
        if run.len() < 3 {
            continue;
        }
        let (ly0, ly1) = run.iter().fold((u32::MAX, 0), |(a, b), &i| (a.min(boxes[i].1), b.max(boxes[i].3)));
        let within = |i: usize| {
            let (x0, y0, x1, y1) = boxes[i];
            x0 >= left && x1 <= right && y0 >= ly0 && y1 <= ly1
        };
        let mut line = Vec::new();
        let taken: Vec<usize> =
            (0..glyphs.len()).filter(|&i| !used[i] && (run.contains(&i) || within(i))).collect();
        for i in taken {
            used[i] = true;
            line.extend_from_slice(&glyphs[i]);
        }
        out.push(line);
    }
    out
}

fn bounds(members: &[Fit]) -> (u32, u32, u32, u32) {
    members.iter().fold((u32::MAX, u32::MAX, 0, 0), |(x0, y0, x1, y1), f| {
        (x0.min(f.x), y0.min(f.y), x1.max(f.x), y1.max(f.y))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::{photo, psnr_in};
    use super::*;
    use image::Rgb;

    /// The word's box in [`photo`]: five block letters (H, E, L, I, O) 30 × 48 px with strokes
    /// 9 px wide, 12 px apart, centred.
    const WORD: PixelBox = PixelBox::new(221, 186, 198, 48);

    /// Whether (x, y) of the picture is on one of the word's letters.
    fn on_letter(x: u32, y: u32) -> bool {
        if !(WORD.x..WORD.right()).contains(&x) || !(WORD.y..WORD.bottom()).contains(&y) {
            return false;
        }
        let (lx, ly) = (x - WORD.x, y - WORD.y);
        let (letter, gx) = ((lx / 42) as usize, lx % 42);
        if gx >= 30 {
            return false;
        }
        let (left, right, top, bottom) = (gx < 9, gx >= 21, ly < 9, ly >= 39);
        let middle = (20..29).contains(&ly);
        match letter {
            0 => left || right || middle,
            1 => left || top || middle || bottom,
            2 => left || bottom,
            3 => (11..20).contains(&gx),
            _ => left || right || top || bottom,
        }
    }

    /// [`photo`] with the word laid over it in `colour` at `alpha`.
    fn with_word(mut img: RgbImage, colour: [f32; 3], alpha: f32) -> RgbImage {
        for (x, y, p) in img.enumerate_pixels_mut() {
            if on_letter(x, y) {
                p.0 = [0, 1, 2].map(|c| (f32::from(p[c]) * (1.0 - alpha) + colour[c] * alpha).round() as u8);
            }
        }
        img
    }

    #[test]
    fn a_translucent_word_across_the_middle_is_found_and_unblended() {
        // GIVEN a photo with a word in white at 45 % across its middle
        let clean = photo();
        let marked = with_word(clean.clone(), [255.0; 3], 0.45);
        // WHEN the middle is looked at
        let mark = find(&marked, &EdgeFits::of(&marked)).expect("the word is found");
        // THEN the mark is white at about its opacity, over most of the word
        assert_eq!(mark.blend.level, 255.0);
        assert!((mark.blend.alpha - 0.45).abs() < 0.05, "{:?}", mark.blend);
        assert!(2 * mark.region.intersection(&WORD) >= WORD.area(), "{:?}", mark.region);
        // AND un-blending it brings the picture under the word back
        let mut out = marked.clone();
        super::super::translucent::unblend_known(&mut out, &mark.letters, mark.region, mark.blend)
            .expect("un-blended");
        let (before, after) = (psnr_in(&marked, &clean, WORD), psnr_in(&out, &clean, WORD));
        assert!(after >= before + 6.0, "PSNR in the word's box {before:.1} → {after:.1} dB");
    }

    #[test]
    fn a_translucent_word_in_the_border_band_is_found_there_only() {
        // GIVEN the word at 40 % near the bottom of the photo, 20 px above it
        let low = PixelBox::new(WORD.x, 420 - 48 - 20, WORD.width, WORD.height);
        let mut marked = photo();
        for (x, y, p) in marked.enumerate_pixels_mut() {
            if y >= low.y && on_letter(x, y - low.y + WORD.y) {
                p.0 = p.0.map(|v| (f32::from(v) * 0.6 + 255.0 * 0.4).round() as u8);
            }
        }
        let edges = EdgeFits::of(&marked);
        // THEN the middle holds no mark, and the band holds the word
        assert_eq!(find(&marked, &edges).map(|m| m.region), None);
        let mark = find_at(&marked, &edges, Place::Border).expect("found in the band");
        assert!(2 * mark.region.intersection(&low) >= low.area(), "{:?}", mark.region);
        assert!((mark.blend.alpha - 0.4).abs() < 0.05, "{:?}", mark.blend);
    }

    #[test]
    fn opaque_lettering_across_the_middle_is_the_scene() {
        // GIVEN the same word painted opaque in grey, as on a sign
        let sign = with_word(photo(), [170.0; 3], 1.0);
        // THEN no translucent mark is found, in the middle or anywhere
        let edges = EdgeFits::of(&sign);
        assert_eq!(find(&sign, &edges).map(|m| m.region), None);
        assert_eq!(find_at(&sign, &edges, Place::Border).map(|m| m.region), None);
    }

    #[test]
    fn light_lettering_on_a_plain_panel_is_the_scene() {
        // GIVEN a plain blue panel across the middle with light lettering on it (any lettering on
        // one colour fits some blend)
        let mut img = photo();
        for (x, y, p) in img.enumerate_pixels_mut() {
            if (200..440).contains(&x) && (170..250).contains(&y) {
                *p = Rgb([40, 60, 140]);
            }
        }
        let panel = with_word(img, [255.0; 3], 0.45);
        // THEN it is not taken for a mark laid over the picture
        assert_eq!(find(&panel, &EdgeFits::of(&panel)).map(|m| m.region), None);
    }
}
