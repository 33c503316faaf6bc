//! A translucent mark's blend read across its strokes' edges. Either side of an edge of a
//! stroke lies the same picture, once seen through the mark and once not: a pair of colours a
//! few pixels apart whose picture differs only by the picture's own detail at that scale.
//!
//! The body's pixels against a smooth estimate of the picture under them (`translucent`) need
//! that estimate to be right across a whole letter: where a letter spans a flag's stripes and a
//! wall, or bright petals and dark leaves, it is not, and no blend was found ("PHOTO BY KIM",
//! "© M. Rossi"), or a grey one at the wrong opacity ("© Ana Lima", white at 30 %, measured grey
//! 135 at 55 % and un-blended into dark yellow letters). Across the edges every pair brings its
//! own picture: on the development set's twelve fresh signatures, of the nine whose line the
//! detector boxed, eight came out within 0.02 of the opacity drawn and one at 0.29 for 0.35.

use image::RgbImage;

use super::translucent::{Blend, fit, opacity};
use crate::imaging::gradients::sobel;
use crate::imaging::sample::bilinear_rgb;

/// A colour seen through the mark and the picture beside it, under no mark.
type Pair = ([f32; 3], [f32; 3]);

/// Edge pixels have a luma gradient of at least this (levels per pixel, Sobel / 8).
const EDGE_MIN: f32 = 6.0;
/// The colours are read this share of the line's height to either side of an edge pixel, and
/// at least [`MIN_REACH`] and at most [`MAX_REACH`] pixels: inside a bold stroke (about a
/// tenth of the line's height across), past the antialiased rim. At 1 px the opacities came out
/// lower (the rim), at 2 px a 27 px line's thin strokes were crossed. A stroke narrower than
/// twice that is read at its middle: faint idents in a regular face have strokes 2 px wide, and
/// read 1.5 px in, "PICTURES" in grey at 45 % measured as white at 21 % (+5.5 dB; at their
/// middle +9.9).
const REACH: f32 = 0.05;
const MIN_REACH: f32 = 1.5;
const MAX_REACH: f32 = 3.0;
/// A stroke is at most this share of the line's height across: an edge whose lighter side
/// meets an edge facing the other way within that is a light stroke's.
const STROKE: f32 = 0.3;

/// Where the picture under the pairs varies this much (luma standard deviation) or more, it
/// must be seen to show through: what is seen follows it at the slope the blend gives,
/// `1 − a`, within [`SLOPE_TOLERANCE`]. An opaque mark's colour does not follow it (a dark
/// blue word over the sky, read as a 61 % black blend, measured a slope of 1.30 against the
/// 0.39 that blend predicts). Over a
/// flatter picture the slope says nothing (a 45 % white over plain grey measured 0.21 against
/// 0.55: the noise flattens it), and any blend explains the pairs about as well: the fit's
/// preference for white and black decides there.
const SHOWS_THROUGH_SPREAD: f32 = 20.0;
const SLOPE_TOLERANCE: f32 = 0.15;

/// The blend of a light mark (a white or grey signature, an ident) under `marked` in `crop`, a
/// line `line_height` px high, read across its light strokes' edges, the lighter side for the
/// mark; `None` where the mark is not light. It is light where its edges bound more light
/// strokes than dark ones (light signatures measured 1.01-1.68 times as many, a dark blue word
/// at 60 % across a brown rocket 0.84, opaque over the sky 0.68), or where it lifts `estimate`,
/// the picture continued smoothly into the mark, on average (over a garage's dark tyre, the
/// mask of "© M. Rossi" took in more of the tyre than of the letters and did not).
///
/// Dark marks are left to the body's fit: the darker sides of an opaque white word's edges are
/// its translucent shadow, a clean 60 % black blend across them ("NEWS 24"), and a dark blue
/// word over a flat sky fits a 61 % black one there (flat: the slope cannot tell).
pub(super) fn blend_across(
    crop: &RgbImage,
    estimate: &RgbImage,
    marked: &[bool],
    line_height: f32,
) -> Option<Blend> {
    let (lifted, dark_strokes) = pairs(crop, marked, line_height);
    let light = lifted.len() > dark_strokes || lifts(crop, estimate, marked);
    if !light {
        return None;
    }
    let blend = fit(&lifted)?;
    shows_through(&lifted, blend).then_some(blend)
}

/// Whether the `marked` pixels of `crop` are lighter on average than `estimate` there.
fn lifts(crop: &RgbImage, estimate: &RgbImage, marked: &[bool]) -> bool {
    let change: f64 = crop
        .pixels()
        .zip(estimate.pixels())
        .zip(marked)
        .filter(|(_, m)| **m)
        .map(|((seen, under), _)| f64::from(luma(seen.0.map(f32::from)) - luma(under.0.map(f32::from))))
        .sum();
    change > 0.0
}

/// Whether what is seen follows the picture under it as `blend` says, where that picture
/// varies enough to tell ([`SHOWS_THROUGH_SPREAD`]).
fn shows_through(pairs: &[Pair], blend: Blend) -> bool {
    let points: Vec<(f32, f32)> = pairs
        .iter()
        .filter(|(seen, under)| opacity(*seen, *under, blend.level).is_some())
        .map(|(seen, under)| (luma(*under), luma(*seen)))
        .collect();
    let n = points.len() as f32;
    if n < 2.0 {
        return false;
    }
    let mean_under = points.iter().map(|p| p.0).sum::<f32>() / n;
    let mean_seen = points.iter().map(|p| p.1).sum::<f32>() / n;
    let variance = points.iter().map(|p| (p.0 - mean_under).powi(2)).sum::<f32>() / n;
    if variance.sqrt() < SHOWS_THROUGH_SPREAD {
        return true;
    }
    let covariance = points.iter().map(|p| (p.0 - mean_under) * (p.1 - mean_seen)).sum::<f32>() / n;
    (covariance / variance - (1.0 - blend.alpha)).abs() <= SLOPE_TOLERANCE
}

fn luma(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// Colour pairs `(seen, under)` read across the edges inside `marked` of `crop` whose lighter
/// side is a stroke, for a line `line_height` px high, the lighter side for `seen`; and how many
/// edges there bound a dark stroke.
fn pairs(crop: &RgbImage, marked: &[bool], line_height: f32) -> (Vec<Pair>, usize) {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let reach = (line_height * REACH).clamp(MIN_REACH, MAX_REACH);
    let grey: Vec<f32> = crop.pixels().map(|p| luma(p.0.map(f32::from))).collect();
    // Gradient magnitude and unit direction (towards brighter) per inner pixel.
    let mut gradient = vec![(0.0f32, 0.0f32, 0.0f32); w * h];
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let (gx, gy) = sobel(|dx, dy| grey[(y as isize + dy) as usize * w + (x as isize + dx) as usize]);
            let g = (gx * gx + gy * gy).sqrt();
            if g > 0.0 {
                gradient[y * w + x] = (g / 8.0, gx / g, gy / g);
            }
        }
    }
    // How wide the stroke on one `side` (1 the lighter, -1 the darker) of the edge at (x, y)
    // whose gradient points along (nx, ny) is, if one lies there: its far edge, within a
    // stroke's width, faces back (a light stroke's far edge darkens away from it, a dark one's
    // lightens).
    let widest = (line_height * STROKE).ceil().max(2.0) as isize;
    let stroke_width = |x: usize, y: usize, (nx, ny): (f32, f32), side: f32| {
        (2..=widest).find(|&t| {
            let step = side * t as f32;
            let (px, py) =
                (x as isize + (step * nx).round() as isize, y as isize + (step * ny).round() as isize);
            if px < 1 || py < 1 || px >= w as isize - 1 || py >= h as isize - 1 {
                return false;
            }
            let (g, mx, my) = gradient[py as usize * w + px as usize];
            g >= EDGE_MIN && nx * mx + ny * my < -0.5
        })
    };
    let mut lifted = Vec::new();
    let mut dark_strokes = 0;
    for y in 2..h.saturating_sub(2) {
        for x in 2..w.saturating_sub(2) {
            let i = y * w + x;
            let (g, nx, ny) = gradient[i];
            if !marked[i] || g < EDGE_MIN {
                continue;
            }
            // The edge's middle: no stronger neighbour across it.
            let (sx, sy) = (nx.round() as isize, ny.round() as isize);
            let across =
                |s: isize| gradient[(y as isize + s * sy) as usize * w + (x as isize + s * sx) as usize].0;
            if g < across(1) || g < across(-1) {
                continue;
            }
            if stroke_width(x, y, (nx, ny), -1.0).is_some() {
                dark_strokes += 1;
            }
            let Some(width) = stroke_width(x, y, (nx, ny), 1.0) else { continue };
            // A thin stroke is read at its middle: its rim is most of it.
            let inside = reach.min(width as f32 / 2.0);
            let (x, y) = (x as f32, y as f32);
            let bright = bilinear_rgb(crop, x + inside * nx, y + inside * ny);
            let dark = bilinear_rgb(crop, x - reach * nx, y - reach * ny);
            lifted.push((bright, dark));
        }
    }
    (lifted, dark_strokes)
}

#[cfg(test)]
mod tests {
    use super::super::translucent::under;
    use super::*;
    use crate::imaging::morphology::dilate;
    use image::Rgb;

    const W: u32 = 120;
    const H: u32 = 40;

    /// A word's strokes: upright bars 5 px wide every 14 px, rows 8-31, and a bar across.
    fn stroke(x: u32, y: u32) -> bool {
        (8..32).contains(&y)
            && (((6..115).contains(&x) && (x - 6) % 14 < 5) || (18..23).contains(&y) && x < 115)
    }

    /// The strokes grown past their rim, as the overlay mask is.
    fn marked() -> Vec<bool> {
        let strokes: Vec<bool> = (0..W * H).map(|i| stroke(i % W, i / W)).collect();
        dilate(&strokes, W as usize, H as usize, 2)
    }

    /// A picture that darkens from left to right, from 220 to 40: no edges of its own.
    fn picture(x: u32) -> f32 {
        220.0 - 1.5 * x as f32
    }

    fn measured(crop: &RgbImage) -> Option<Blend> {
        let marked = marked();
        blend_across(crop, &under(crop, &marked), &marked, 24.0)
    }

    #[test]
    fn a_translucent_white_word_is_read_across_its_strokes_edges_over_a_changing_picture() {
        let crop = RgbImage::from_fn(W, H, |x, y| {
            let b = picture(x);
            let v = if stroke(x, y) { 0.6 * b + 0.4 * 255.0 } else { b };
            Rgb([v.round() as u8; 3])
        });
        let blend = measured(&crop).expect("a blend");
        assert_eq!(blend.level, 255.0);
        assert!((blend.alpha - 0.4).abs() <= 0.04, "{blend:?}");
    }

    #[test]
    fn thin_strokes_are_read_at_their_middle() {
        // A regular face's strokes, about 1.6 px wide: one pixel covered, its neighbours in
        // part (as "PICTURES" in grey at 45 % measured), in white at 40 %.
        let cover = |x: u32, y: u32| -> f32 {
            if !(8..32).contains(&y) || !(4..116).contains(&x) {
                return 0.0;
            }
            match (x - 4) % 8 {
                0 => 0.6,
                1 => 1.0,
                2 => 0.05,
                _ => 0.0,
            }
        };
        let crop = RgbImage::from_fn(W, H, |x, y| {
            let b = picture(x);
            let a = 0.4 * cover(x, y);
            Rgb([((1.0 - a) * b + a * 255.0).round() as u8; 3])
        });
        let marked: Vec<bool> = (0..W * H).map(|i| cover(i % W, i / W) > 0.0).collect();
        let marked = dilate(&marked, W as usize, H as usize, 2);
        let blend = blend_across(&crop, &under(&crop, &marked), &marked, 24.0).expect("a blend");
        assert!((blend.alpha - 0.4).abs() <= 0.06, "{blend:?}");
    }

    #[test]
    fn an_opaque_white_word_with_a_translucent_shadow_is_no_blend() {
        // The shadow, black at 60 %, lies 2 px right of and below each stroke.
        let crop = RgbImage::from_fn(W, H, |x, y| {
            let b = picture(x);
            let shadow = x >= 2 && y >= 2 && stroke(x - 2, y - 2);
            let v = if stroke(x, y) {
                250.0
            } else if shadow {
                0.4 * b
            } else {
                b
            };
            Rgb([v.round() as u8; 3])
        });
        assert_eq!(measured(&crop), None);
    }

    #[test]
    fn an_opaque_dark_word_over_the_sky_is_no_light_mark() {
        let crop = RgbImage::from_fn(W, H, |x, y| {
            let sky = [150.0 + 0.2 * x as f32, 190.0, 230.0];
            let c = if stroke(x, y) { [20.0, 40.0, 120.0] } else { sky };
            Rgb(c.map(|v: f32| v.round() as u8))
        });
        // Its edges' lighter sides, read as a light mark, fit a 67 % white blend: it is the
        // strokes' geometry that says the word is dark.
        let (lifted, dark_strokes) = pairs(&crop, &marked(), 24.0);
        assert!(fit(&lifted).is_some() && dark_strokes > 2 * lifted.len());
        assert_eq!(measured(&crop), None);
    }

    #[test]
    fn what_is_seen_must_follow_the_picture_where_it_varies() {
        // A flat light-grey word over the changing picture: its edges fit a blend of about
        // the same opacity along the word, but what is seen stays put as the picture darkens.
        let pairs: Vec<Pair> = (0..100).map(|i| ([200.0; 3], [picture(i) * 0.5; 3])).collect();
        let follows: Vec<Pair> =
            (0..100).map(|i| ([0.6 * picture(i) * 0.5 + 102.0; 3], [picture(i) * 0.5; 3])).collect();
        let blend = Blend { alpha: 0.4, level: 255.0 };
        assert!(!shows_through(&pairs, blend));
        assert!(shows_through(&follows, blend));
    }
}
