//! Which pixels a translucent mark of known blend covers, decided for the whole mark at once by a
//! minimum cut rather than pixel by pixel.
//!
//! Each pixel's share of the mark is measured against an estimate of the picture under it. Over
//! texture (a pagoda's carved front, an engine) the estimate is off by as much as the mark's own
//! step, so letters were un-blended in patches and the texture beside them darkened. What tells a
//! letter from the picture is its outline: un-blending the pixels inside makes the step at the
//! outline vanish, whatever the texture on either side. So each pair of pixels one or two apart
//! (two: across the antialiased rim, which is half covered whichever way it is labelled) costs,
//! where one is taken as covered and the other not, how far apart the picture would be across
//! them; pairs labelled alike cost what they differ by now, either way (un-blending both scales
//! their difference by the blend alone). Each pixel's measured share is its evidence, and the
//! labelling of least total cost is a minimum cut ([`MinCut`]).
//!
//! The rim of what is covered is then inverted at its pixels' measured shares, or, where a pixel
//! has none (the cut took it in beyond the measured mask), at the share it shows against the
//! uncovered picture just outside.

use image::RgbImage;

use super::translucent::{Blend, share};
use crate::imaging::min_cut::MinCut;
use crate::imaging::morphology::dilate;
use crate::imaging::shrink::shrink_area;

/// Parts larger than this are cut on a shrunk copy: the cut's memory grows with the part (~220
/// bytes a pixel) and its time faster (1.5-3.6 µs a pixel on the development set's parts of
/// 16,000-45,000 pixels)…
const MAX_PIXELS: usize = 80_000;
/// …shrunk at most this many times each way (beyond, the shares alone decide).
const MAX_SHRINK: usize = 5;
/// Neighbours compared: one and two pixels apart, along rows and columns.
const OFFSETS: [(usize, usize); 4] = [(1, 0), (0, 1), (2, 0), (0, 2)];
/// The cost (grey levels) of a pair labelled apart, on top of their difference: short outlines
/// are preferred, and isolated pixels do not flip on noise.
const SPLIT: f32 = 8.0;
/// The cost of a pixel taken as covered, whatever its evidence: on no evidence, nothing changes.
const COVER_COST: f32 = 1.0;
/// What a pixel's measured share weighs: taking a pixel with no share as covered costs
/// [`AGAINST_SHARE`], leaving one wholly covered [`FOR_SHARE`] (grey levels; a step of the mark
/// at an outline is ~20-100 a pair). On the development set's centred words 15 and 30 gained
/// 1.0-4.3 dB over the shares alone; an equal 30 lost the letters over a dark seat that the
/// shares missed.
const AGAINST_SHARE: f32 = 15.0;
const FOR_SHARE: f32 = 30.0;
/// A pixel whose un-blended value falls this far outside 0-255 is not covered.
const OUT_OF_RANGE: f32 = 12.0;
/// Costs are scaled to whole numbers at this many steps a grey level…
const SCALE: f32 = 4.0;
/// …and a pixel that cannot be covered costs this (far more than all its pairs together).
const FORBIDDEN: f32 = 1.0e7;
/// The rim's share is measured against the uncovered picture within this radius, at least this
/// far from what is covered (the rim's own pixels are part covered).
const RIM_WINDOW: usize = 3;
const RIM_CLEARANCE: usize = 2;

/// Whether each pixel of `part` is wholly covered by the mark of `blend`, given each pixel's
/// measured share (`shares`, 0 where nothing was measured), and how many pixels either side of
/// the outline that leaves uncertain (the rim, [`covers`]); the part's border is taken as
/// uncovered. A part over [`MAX_PIXELS`] is cut on a copy shrunk by a whole factor (its outline
/// is then as uncertain as a shrunk pixel is wide): a signature in a 12 MP photo is 2-3 times
/// the size of the development set's. `None` where even that would be too coarse
/// ([`MAX_SHRINK`]).
pub(super) fn covered(part: &RgbImage, shares: &[f32], blend: Blend) -> Option<(Vec<bool>, usize)> {
    let (w, h) = (part.width() as usize, part.height() as usize);
    let by = ((w * h) as f64 / MAX_PIXELS as f64).sqrt().ceil().max(1.0) as usize;
    if w < 3 * by || h < 3 * by || by > MAX_SHRINK {
        return None;
    }
    if by == 1 {
        return Some((cut(part, shares, blend), 1));
    }
    let (sw, sh) = (w.div_ceil(by), h.div_ceil(by));
    let small = shrink_area(part, sw as u32, sh as u32);
    let (sw, sh) = (small.width() as usize, small.height() as usize);
    let cell = |i: usize| (i / w) * sh / h * sw + (i % w) * sw / w;
    let (mut sum, mut count) = (vec![0.0f32; sw * sh], vec![0.0f32; sw * sh]);
    for (i, s) in shares.iter().enumerate() {
        sum[cell(i)] += s.clamp(0.0, 1.0);
        count[cell(i)] += 1.0;
    }
    let small_shares: Vec<f32> = sum.iter().zip(&count).map(|(s, n)| s / n.max(1.0)).collect();
    let labels = cut(&small, &small_shares, blend);
    Some(((0..w * h).map(|i| labels[cell(i)]).collect(), by))
}

/// [`covered`] on `part` as it is.
fn cut(part: &RgbImage, shares: &[f32], blend: Blend) -> Vec<bool> {
    let (w, h) = (part.width() as usize, part.height() as usize);
    let (a, level) = (blend.alpha, blend.level);
    let seen: Vec<[f32; 3]> = part.pixels().map(|p| p.0.map(f32::from)).collect();
    let under: Vec<[f32; 3]> = seen.iter().map(|o| o.map(|v| (v - a * level) / (1.0 - a))).collect();
    // Cost of each pixel uncovered and covered.
    let mut uncovered: Vec<f32> = shares.iter().map(|s| FOR_SHARE * s.clamp(0.0, 1.0)).collect();
    let mut cover: Vec<f32> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let border = x == 0 || y == 0 || x + 1 == w || y + 1 == h;
            let impossible = under[i].iter().any(|v| !(-OUT_OF_RANGE..=255.0 + OUT_OF_RANGE).contains(v));
            if border || impossible {
                return FORBIDDEN;
            }
            AGAINST_SHARE * (1.0 - shares[i].clamp(0.0, 1.0)) + COVER_COST
        })
        .collect();
    let apart = |p: &[f32; 3], q: &[f32; 3]| (0..3).map(|c| (p[c] - q[c]).abs()).sum::<f32>() / 3.0;
    let mut cut = MinCut::new(w * h);
    for (dx, dy) in OFFSETS {
        for y in 0..h - dy {
            for x in 0..w - dx {
                let (p, q) = (y * w + x, (y + dy) * w + x + dx);
                // A pair's cost by its labels (p, q): alike, its difference now; (uncovered,
                // covered) and (covered, uncovered), the difference that would be, plus SPLIT.
                let alike = apart(&seen[p], &seen[q]);
                let p_only_left = apart(&seen[p], &under[q]) + SPLIT;
                let q_only_left = apart(&under[p], &seen[q]) + SPLIT;
                // As labels: alike + (q_only_left − alike)·[p covered] + (alike − q_only_left)·[q
                // covered] + (p_only_left + q_only_left − 2·alike)·[p uncovered, q covered].
                let lean = q_only_left - alike;
                if lean >= 0.0 {
                    cover[p] += lean;
                    uncovered[q] += lean;
                } else {
                    uncovered[p] -= lean;
                    cover[q] -= lean;
                }
                // Never negative where the blend is right; where noise makes it so, the pair is
                // taken as no evidence either way (the labelling stays exactly solvable).
                let split = p_only_left + q_only_left - 2.0 * alike;
                if split > 0.0 {
                    cut.pair(p, q, (split * SCALE).round() as i32);
                }
            }
        }
    }
    let whole = |v: f32| (v.min(FORBIDDEN) * SCALE).round() as i32;
    for i in 0..w * h {
        cut.terminal(i, whole(uncovered[i]), whole(cover[i]));
    }
    cut.sink_side()
}

/// The share of the mark to invert at each pixel of `part`, given what is wholly `covered` and how
/// wide its `rim` is: the blend's opacity inside, none away from it, and on the rim (pixels
/// within `rim` of the outline, on either side) the pixel's `measured` share where there is one
/// (its estimate of the picture under it is made for the purpose: the development set's
/// cleanest signatures lost 5-7 dB against the picture near it), otherwise what it shows
/// against the uncovered picture near it.
pub(super) fn covers(
    part: &RgbImage,
    (covered, rim): (&[bool], usize),
    measured: &[Option<f32>],
    blend: Blend,
) -> Vec<f32> {
    let (w, h) = (part.width() as usize, part.height() as usize);
    let near_cover = dilate(covered, w, h, rim);
    // Uncovered within `rim` along the pixel's row or column (its four neighbours at the
    // least: diagonal ones leave the pixel whole, which measured 0.1-0.4 dB better).
    let near_uncovered = |x: usize, y: usize| {
        let row = x.saturating_sub(rim)..(x + rim + 1).min(w);
        let column = y.saturating_sub(rim)..(y + rim + 1).min(h);
        row.into_iter().any(|xx| !covered[y * w + xx]) || column.into_iter().any(|yy| !covered[yy * w + x])
    };
    let clear: Vec<bool> = dilate(covered, w, h, rim + RIM_CLEARANCE - 1).iter().map(|n| !n).collect();
    let window = RIM_WINDOW + rim - 1;
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            if covered[i] && !near_uncovered(x, y) {
                return blend.alpha;
            }
            if !near_cover[i] {
                return 0.0;
            }
            if let Some(share) = measured[i] {
                return blend.alpha * share.clamp(0.0, 1.0);
            }
            // The rim: against the mean of the clear picture around it.
            let (mut sum, mut n) = ([0.0f32; 3], 0.0f32);
            for yy in y.saturating_sub(window)..(y + window + 1).min(h) {
                for xx in x.saturating_sub(window)..(x + window + 1).min(w) {
                    if clear[yy * w + xx] {
                        let p = part.get_pixel(xx as u32, yy as u32).0;
                        (0..3).for_each(|c| sum[c] += f32::from(p[c]));
                        n += 1.0;
                    }
                }
            }
            let whole = if covered[i] { blend.alpha } else { 0.0 };
            if n == 0.0 {
                return whole;
            }
            let seen = part.get_pixel(x as u32, y as u32).0.map(f32::from);
            share(seen, sum.map(|v| v / n), blend).map_or(whole, |s| blend.alpha * s.clamp(0.0, 1.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::super::test_marks::{noisy_gradient, psnr_in};
    use super::*;
    use crate::imaging::geometry::PixelBox;

    /// Whether (x, y) is on a blocky "E" 24 px high, 16 wide, at (20, 8), strokes 5 px.
    fn on_letter(x: u32, y: u32) -> bool {
        let (lx, ly) = (x.wrapping_sub(20), y.wrapping_sub(8));
        lx < 16 && ly < 24 && (lx < 5 || ly < 5 || (10..15).contains(&ly) || ly >= 19)
    }

    /// A textured picture: darker stripes, `stripe` px wide units, over a noisy gradient.
    fn textured(w: u32, h: u32, stripe: u32) -> RgbImage {
        let base = noisy_gradient(w, h);
        RgbImage::from_fn(w, h, |x, y| {
            let dark = if (x / stripe * 3 + y / stripe * 5) % 11 < 4 { 30 } else { 0 };
            Rgb(base.get_pixel(x, y).0.map(|v| v.saturating_sub(dark)))
        })
    }

    const WHITE_40: Blend = Blend { alpha: 0.4, level: 255.0 };

    /// `clean` with white at 40 % where `on` says.
    fn marked_with(clean: &RgbImage, on: impl Fn(u32, u32) -> bool) -> RgbImage {
        let mut marked = clean.clone();
        for (x, y, p) in marked.enumerate_pixels_mut() {
            if on(x, y) {
                p.0 = p.0.map(|v| (0.6 * f32::from(v) + 0.4 * 255.0).round() as u8);
            }
        }
        marked
    }

    /// `marked` with the blend inverted at each pixel's share (`covers`).
    fn inverted(marked: &RgbImage, shares: &[f32]) -> RgbImage {
        let mut out = marked.clone();
        for (p, a) in out.pixels_mut().zip(shares) {
            p.0 = p.0.map(|v| ((f32::from(v) - a * 255.0) / (1.0 - a)).round().clamp(0.0, 255.0) as u8);
        }
        out
    }

    #[test]
    fn a_white_letter_over_texture_is_covered_whole_from_scant_evidence() {
        let clean = textured(60, 40, 1);
        let marked = marked_with(&clean, on_letter);
        // Evidence on every third letter pixel only, and some on the picture beside it.
        let shares: Vec<f32> = (0..60 * 40)
            .map(|i| {
                let (x, y) = ((i % 60) as u32, (i / 60) as u32);
                if on_letter(x, y) && i % 3 == 0 || !on_letter(x, y) && i % 23 == 0 { 0.9 } else { 0.0 }
            })
            .collect();
        let (covered, rim) = covered(&marked, &shares, WHITE_40).expect("small enough");
        assert_eq!(rim, 1);
        let wrong =
            (0..60 * 40).filter(|&i| covered[i] != on_letter((i % 60) as u32, (i / 60) as u32)).count();
        assert!(wrong <= 12, "{wrong} pixels labelled wrong of {} on the letter", 16 * 24);
        // Inverted at those covers, the letter is gone.
        let out = inverted(&marked, &covers(&marked, (&covered, rim), &[None; 60 * 40], WHITE_40));
        let letter = PixelBox::new(18, 6, 20, 28);
        let gain = psnr_in(&out, &clean, letter) - psnr_in(&marked, &clean, letter);
        assert!(gain >= 15.0, "gain {gain:.1} dB");
    }

    #[test]
    fn a_large_part_is_cut_on_a_shrunk_copy_and_its_outline_taken_at_full_size() {
        // GIVEN the letter four times as large in a part of 100,000 pixels (a signature in a
        // 12 MP photo), with evidence on every third of its pixels
        let (w, h) = (400u32, 250u32);
        let on = |x: u32, y: u32| on_letter(x / 4, y / 4);
        let clean = textured(w, h, 2);
        let marked = marked_with(&clean, on);
        let n = (w * h) as usize;
        let shares: Vec<f32> =
            (0..n).map(|i| if on(i as u32 % w, i as u32 / w) && i % 3 == 0 { 0.9 } else { 0.0 }).collect();
        // WHEN its coverage is cut
        let (covered, rim) = covered(&marked, &shares, WHITE_40).expect("cut shrunk");
        // THEN it was cut at half size, and inverted at those covers the letter is gone (20.7 dB)
        assert_eq!(rim, 2);
        let out = inverted(&marked, &covers(&marked, (&covered, rim), &vec![None; n], WHITE_40));
        let letter = PixelBox::new(72, 24, 80, 112);
        let gain = psnr_in(&out, &clean, letter) - psnr_in(&marked, &clean, letter);
        assert!(gain >= 12.0, "gain {gain:.1} dB");
    }

    #[test]
    fn bright_picture_without_evidence_is_left_uncovered() {
        // A white bar across a dark picture is what un-blending would dim, but nothing says it
        // is a mark.
        let picture =
            RgbImage::from_fn(
                60,
                40,
                |_, y| if (15..25).contains(&y) { Rgb([240; 3]) } else { Rgb([60; 3]) },
            );
        let (covered, _) = covered(&picture, &[0.0; 60 * 40], WHITE_40).expect("small");
        assert!(covered.iter().all(|c| !c));
    }
}
