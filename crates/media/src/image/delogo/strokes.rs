//! The strokes of a translucent line of text whose blend is known. A pixel is taken for the
//! mark where the blend, laid over the picture's local background, gives the colour seen there.
//!
//! That finds what the overlay mask's contrast threshold misses over a busy picture. There the
//! mask held half a letter, and the picture under the other half was estimated from that half:
//! "© Anna K" in white at 35 % over concrete kept whole letters. It also finds the glyphs the
//! text detector left out of the line's box: the "©" before a name, the last letters of
//! "ARCHIVE" run into a flag's stars.

use image::RgbImage;

use super::translucent::Blend;
use crate::imaging::geometry::PixelBox;
use crate::imaging::morphology::{components, extreme};

/// The background is the picture with what is narrower than a window of this share of the
/// line's height (either way) taken out: a bold letter's strokes are about half of it.
const WINDOW: f32 = 0.12;
/// Least change (grey levels, RMS over the channels) the blend makes over the background for a
/// pixel to be told by it.
const MIN_CHANGE: f32 = 8.0;
/// How far the colour seen may miss the blend's: this share of the blend's change, plus noise.
const MISS: f32 = 0.35;
const NOISE: f32 = 4.0;
/// A glyph is at least this share of the line's height tall.
const GLYPH_HEIGHT: f32 = 0.35;
/// A glyph is not part of something that changes the picture more than the blend can (a white
/// star on a flag, a lamp): at most this share of its box is such.
const MOST_OVERSHOOT: f32 = 0.25;
/// The glyphs of one line are at most this many line heights apart, and the line is followed
/// at most this many line heights past the detector's box.
const GAP: f32 = 0.7;
const REACH: f32 = 3.0;

/// What a pixel's colour says of the blend over its background.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    /// The blend explains it.
    Blended,
    /// It changed towards the mark's colour by more than the blend can.
    Overshoot,
    Other,
}

/// The glyphs of a line of text, as the blend tells them.
pub struct LineGlyphs {
    /// The line's box in the picture, widened over the glyphs that continue the line.
    pub region: PixelBox,
    /// The glyphs' strokes over `region`, row-major.
    pub strokes: Vec<bool>,
    /// The picture's local background over `region`, which the strokes were told against.
    pub background: Vec<[f32; 3]>,
}

/// The glyphs of the line of text in `region`, which is widened over the glyphs that continue
/// its line where it may `reach` past it (a detected line, not a client's box).
pub fn line_glyphs(image: &RgbImage, region: PixelBox, blend: Blend, reach: bool) -> LineGlyphs {
    let (iw, ih) = image.dimensions();
    let line = region.height.max(1);
    let reach = if reach { (REACH * line as f32) as u32 } else { 0 };
    // The rows and columns of the region in the picture, and the reach beside it.
    let (right, bottom) = (region.right().min(iw), region.bottom().min(ih));
    if right <= region.x || bottom <= region.y {
        let region = PixelBox::new(region.x, region.y, 0, 0);
        return LineGlyphs { region, strokes: Vec::new(), background: Vec::new() };
    }
    let region = PixelBox::from_edges(region.x, region.y, right, bottom);
    let x0 = region.x.saturating_sub(reach);
    let x1 = (right + reach).min(iw);
    let area = PixelBox::new(x0, region.y, x1 - x0, region.height);
    let (w, h) = (area.width as usize, area.height as usize);
    let (seen, background) = classify(image, area, blend, line);
    let blended: Vec<bool> = seen.iter().map(|s| *s == Seen::Blended).collect();
    let glyphs: Vec<(usize, usize, usize, usize, usize)> = components(&blended, w, h)
        .into_iter()
        .filter(|&(gx0, gy0, gx1, gy1, n)| {
            let tall = (gy1 - gy0 + 1) as f32 >= GLYPH_HEIGHT * line as f32;
            let over = (gy0..=gy1)
                .flat_map(|y| (gx0..=gx1).map(move |x| y * w + x))
                .filter(|&i| seen[i] == Seen::Overshoot)
                .count();
            let boxed = (gx1 - gx0 + 1) * (gy1 - gy0 + 1);
            // At least a stroke two pixels wide and two thirds of the line high.
            let inked = n >= 2 * h / 3;
            tall && inked && (over as f32) <= MOST_OVERSHOOT * boxed as f32
        })
        .collect();
    let box_columns = ((region.x - x0) as usize, (region.right() - x0) as usize);
    let (left, right) = follow(&glyphs, box_columns, (GAP * line as f32) as usize);
    let grown = PixelBox::new(x0 + left as u32, region.y, (right - left) as u32, region.height);
    let gw = grown.width as usize;
    let mut strokes = vec![false; gw * h];
    for &(gx0, gy0, gx1, gy1, _) in &glyphs {
        if gx1 < left || gx0 >= right {
            continue;
        }
        for y in gy0..=gy1 {
            for x in gx0.max(left)..=gx1.min(right - 1) {
                strokes[y * gw + x - left] |= blended[y * w + x];
            }
        }
    }
    let background = (0..gw * h).map(|i| background[(i / gw) * w + left + i % gw]).collect();
    LineGlyphs { region: grown, strokes, background }
}

/// The columns `[left, right)` of the line: the box's, widened glyph by glyph (`(x0, y0, x1, y1,
/// pixels)`) on either side while the next one starts within `gap` columns.
fn follow(
    glyphs: &[(usize, usize, usize, usize, usize)],
    (mut left, mut right): (usize, usize),
    gap: usize,
) -> (usize, usize) {
    while let Some(end) = glyphs
        .iter()
        .filter(|g| g.0 <= right + gap && g.2 >= right)
        .map(|g| g.2 + 1)
        .max()
        .filter(|&e| e > right)
    {
        right = end;
    }
    while let Some(start) =
        glyphs.iter().filter(|g| g.2 + gap >= left && g.0 < left).map(|g| g.0).min().filter(|&s| s < left)
    {
        left = start;
    }
    (left, right)
}

/// Each pixel of `area`, against the picture's local background there (an opening for a mark
/// brighter than the picture, a closing for a darker one), and that background.
fn classify(image: &RgbImage, area: PixelBox, blend: Blend, line: u32) -> (Vec<Seen>, Vec<[f32; 3]>) {
    let (w, h) = (area.width as usize, area.height as usize);
    let at = |i: usize| image.get_pixel(area.x + (i % w) as u32, area.y + (i / w) as u32).0;
    let mean = (0..w * h).map(|i| at(i).iter().map(|&v| f32::from(v)).sum::<f32>() / 3.0).sum::<f32>()
        / (w * h).max(1) as f32;
    let bright = blend.level > mean;
    let r = ((WINDOW * line as f32).ceil() as usize).max(2);
    let planes: Vec<Vec<f32>> = (0..3)
        .map(|c| {
            let plane: Vec<f32> = (0..w * h).map(|i| f32::from(at(i)[c])).collect();
            let first = extreme(&plane, w, h, r, !bright);
            extreme(&first, w, h, r, bright)
        })
        .collect();
    let background: Vec<[f32; 3]> = (0..w * h).map(|i| [planes[0][i], planes[1][i], planes[2][i]]).collect();
    let seen = (0..w * h)
        .map(|i| {
            let seen = at(i);
            let (mut change, mut miss, mut towards) = (0.0, 0.0, 0.0);
            for c in 0..3 {
                let under = background[i][c];
                let step = blend.alpha * (blend.level - under);
                let moved = f32::from(seen[c]) - under;
                change += step * step;
                miss += (moved - step).powi(2);
                towards += moved * step.signum();
            }
            let (change, miss) = ((change / 3.0).sqrt(), (miss / 3.0).sqrt());
            if change < MIN_CHANGE {
                Seen::Other
            } else if miss <= MISS * change + NOISE {
                Seen::Blended
            } else if towards / 3.0 > change {
                Seen::Overshoot
            } else {
                Seen::Other
            }
        })
        .collect();
    (seen, background)
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::{photo, psnr_in};
    use super::*;
    use image::Rgb;

    /// A line at 35 % white over a photo: six letter-like bars with a ring (a "©") before them,
    /// and an opaque white lamp after them. The detector's box holds the bars only.
    fn marked_line() -> (RgbImage, RgbImage, PixelBox) {
        let clean = photo();
        let mut marked = clean.clone();
        let blend = |p: &mut Rgb<u8>, a: f32| {
            p.0 = p.0.map(|v| (f32::from(v) * (1.0 - a) + 255.0 * a).round() as u8);
        };
        for y in 206..234u32 {
            for x in 140..360u32 {
                let bar = (200..310).contains(&x) && (x - 200) % 20 < 7;
                let (dx, dy) = (x as f32 - 160.0, y as f32 - 220.0);
                let ring = (9.0..=14.0).contains(&(dx * dx + dy * dy).sqrt());
                if bar || ring {
                    blend(marked.get_pixel_mut(x, y), 0.35);
                } else if (330..350).contains(&x) && (208..232).contains(&y) {
                    blend(marked.get_pixel_mut(x, y), 1.0);
                }
            }
        }
        (clean, marked, PixelBox::new(196, 200, 112, 40))
    }

    #[test]
    fn a_glyph_the_box_left_out_is_taken_into_the_line_and_an_opaque_lamp_is_not() {
        let (_, marked, region) = marked_line();
        let LineGlyphs { region: grown, strokes: mask, .. } =
            line_glyphs(&marked, region, Blend { alpha: 0.35, level: 255.0 }, true);
        assert!(grown.x <= 147 && grown.right() < 330, "{grown:?}");
        // The ring's pixels are the mark's.
        let ring: Vec<(u32, u32)> = (206..234u32)
            .flat_map(|y| (146..175u32).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let (dx, dy) = (x as f32 - 160.0, y as f32 - 220.0);
                (10.0..=13.0).contains(&(dx * dx + dy * dy).sqrt())
            })
            .collect();
        let held = ring
            .iter()
            .filter(|&&(x, y)| mask[(y - grown.y) as usize * grown.width as usize + (x - grown.x) as usize])
            .count();
        assert!(held * 10 >= ring.len() * 8, "{held} of {} ring pixels", ring.len());
        // Not given the reach (a client's box), the box stays.
        let kept = line_glyphs(&marked, region, Blend { alpha: 0.35, level: 255.0 }, false);
        assert_eq!(kept.region, region);
    }

    #[test]
    fn the_glyph_left_out_is_unblended_with_its_line() {
        use super::super::mask::overlay_mask;
        use super::super::translucent::unblend;
        let (clean, marked, region) = marked_line();
        let mask = overlay_mask(&marked, region);
        let mut out = marked.clone();
        let (blend, grown) = unblend(&mut out, &mask, region, true).expect("un-blended");
        assert!((blend.alpha - 0.35).abs() < 0.06, "{blend:?}");
        assert!(grown.x <= 147, "{grown:?}");
        let ring = PixelBox::new(146, 206, 29, 28);
        let (before, after) = (psnr_in(&marked, &clean, ring), psnr_in(&out, &clean, ring));
        assert!(after > before + 10.0, "the ring: PSNR {before:.1} → {after:.1} dB");
        // The lamp is left as it is.
        let lamp = PixelBox::new(330, 208, 20, 24);
        assert_eq!(psnr_in(&out, &marked, lamp), psnr_in(&marked, &marked, lamp));
    }
}
