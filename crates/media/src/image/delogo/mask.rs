//! The overlay mask: which pixels of a logo box are the mark (its strokes and their outline), so
//! the fill replaces those and keeps the picture between them.

use image::{GrayImage, Luma, RgbImage};

use super::telea::inpaint_telea;
use crate::imaging::geometry::PixelBox;
use crate::imaging::morphology::dilate;

/// Marks (255) the pixels of `region` that belong to an overlay, so that inpainting fills the
/// logo's strokes rather than the whole rectangle; the result has the image's size.
///
/// The background inside the box is estimated smoothly from the pixels around it (a Telea fill of
/// the box, radius a sixth of its smaller side, 4 to 8 px); pixels whose colour differs from that estimate by more than Otsu's
/// threshold over the box (at least [`OVERLAY_MIN_DIFF`]) seed the overlay, which then grows over
/// connected pixels that differ by at least [`OVERLAY_MIN_DIFF`] or sit on a strong edge (a plate
/// behind white letters, outlines, shadows). The marks are dilated by 2 px plus 1 px per 60 px of
/// the box's smaller side, to cover antialiasing, outlines and JPEG ringing, and stay inside the
/// box (growing them beyond it measured worse: the fill then starts further from good pixels).
/// When nothing stands out (fewer than 0.5 % of the box), when the marks cover at least 95 % of
/// the box anyway, or when the box is the whole image, the whole box is marked.
///
/// Over texture (foliage, a building's ornament) the growth over strong edges floods the box. A
/// mark drawn in colours of its own (white letters, a red icon) is then told by those colours
/// ([`own_colour_pixels`]); the smaller of the two masks is kept. The region is clipped to the
/// image; an empty region gives an empty mask.
pub fn overlay_mask(image: &RgbImage, region: PixelBox) -> GrayImage {
    let (iw, ih) = image.dimensions();
    let mut out = GrayImage::new(iw, ih);
    let x0 = region.x.min(iw);
    let y0 = region.y.min(ih);
    let x1 = region.x.saturating_add(region.width).min(iw);
    let y1 = region.y.saturating_add(region.height).min(ih);
    if x1 <= x0 || y1 <= y0 {
        return out;
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    let (w, h) = (bw as usize, bh as usize);
    let mut marked = vec![true; w * h];
    if bw < iw || bh < ih {
        let (found, diff, seed) = overlay_pixels(image, x0, y0, w, h);
        if count(&found) * 200 >= w * h {
            let grown = dilate(&found, w, h, grown_by(PixelBox::new(x0, y0, bw, bh)));
            if count(&grown) * 100 < w * h * 95 {
                marked = grown;
            }
        }
        // A flooded mask is nearly the box: the own colours need hold less to beat it.
        let flooded = count(&marked) as f64 >= FLOODED * (w * h) as f64;
        let holds = if flooded { OWN_HOLDS_FLOODED } else { OWN_HOLDS };
        if let Some(own) = own_colour_pixels(image, (x0, y0, w, h), (&diff, seed), holds)
            && count(&own) < count(&marked)
        {
            marked = own;
        }
    }
    for gy in 0..h {
        for gx in 0..w {
            if marked[gy * w + gx] {
                out.put_pixel(x0 + gx as u32, y0 + gy as u32, Luma([255]));
            }
        }
    }
    out
}

/// How far [`overlay_mask`] grows a mark's pixels in `region` (antialiasing, outlines, ringing).
pub fn grown_by(region: PixelBox) -> usize {
    (2 + region.width.min(region.height) / 60) as usize
}

fn count(marked: &[bool]) -> usize {
    marked.iter().filter(|&&m| m).count()
}

/// A colour cell: 32 levels a channel.
fn cell([r, g, b]: [u8; 3]) -> usize {
    (usize::from(r >> 5) << 6) | (usize::from(g >> 5) << 3) | usize::from(b >> 5)
}

/// A colour cell is the overlay's own when it holds at least this share of the box …
const OWN_SHARE: f64 = 0.02;
/// … and is at least this many times as common in the box as in the ring around it.
const OWN_RATIO: f64 = 5.0;
/// The own colours must cover at least this share of the box to be the mark.
const OWN_TOTAL: f64 = 0.05;
/// How far (px) the own-coloured pixels grow over pixels that differ from the background
/// estimate by [`OVERLAY_MIN_DIFF`] (antialiasing, a thin outline or shadow); then 1 px more
/// for the encoder's ringing.
const OWN_REACH: usize = 2;

/// The pixels of the `w`×`h` box at (`x0`, `y0`) drawn in the overlay's own colours: colour
/// cells much more common in the box than in a ring around it (as wide as half the box's
/// smaller side, 8 to 32 px). Letters and icons are drawn in a few flat colours the picture
/// around them does not have; texture, however busy, is made of the surroundings' colours.
/// `None` when no such colours cover a fair share of the box.
fn own_colour_pixels(
    image: &RgbImage,
    (x0, y0, w, h): (u32, u32, usize, usize),
    (diff, seed): (&[u8], u8),
    holds: f64,
) -> Option<Vec<bool>> {
    let (iw, ih) = image.dimensions();
    let ring = (w.min(h) as u32 / 2).clamp(8, 32);
    let (x1, y1) = (x0 + w as u32, y0 + h as u32);
    let (rx0, ry0, rx1, ry1) =
        (x0.saturating_sub(ring), y0.saturating_sub(ring), (x1 + ring).min(iw), (y1 + ring).min(ih));
    let (mut inside, mut around) = (vec![0usize; 512], vec![0usize; 512]);
    for y in ry0..ry1 {
        for x in rx0..rx1 {
            let c = cell(image.get_pixel(x, y).0);
            if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                inside[c] += 1;
            } else {
                around[c] += 1;
            }
        }
    }
    let (n_in, n_around) = ((w * h) as f64, around.iter().sum::<usize>().max(1) as f64);
    let own: Vec<bool> = (0..512)
        .map(|c| {
            let share = inside[c] as f64 / n_in;
            share >= OWN_SHARE && share >= OWN_RATIO * (around[c] + 1) as f64 / n_around
        })
        .collect();
    let mut marked = vec![false; w * h];
    for (i, m) in marked.iter_mut().enumerate() {
        *m = own[cell(image.get_pixel(x0 + (i % w) as u32, y0 + (i / w) as u32).0)];
    }
    if (count(&marked) as f64) < OWN_TOTAL * n_in {
        return None;
    }
    for _ in 0..OWN_REACH {
        let grown = dilate(&marked, w, h, 1);
        marked = grown
            .iter()
            .zip(&marked)
            .zip(diff)
            .map(|((&g, &m), &d)| m || (g && d >= OVERLAY_MIN_DIFF))
            .collect();
    }
    let marked = dilate(&marked, w, h, 1 + w.min(h) / 60);
    // The own colours must hold what stands out most from the background estimate: white
    // letters over a white rocket are not told by colour, and only their shadow would be.
    let strong = |i: &usize| diff[*i] > seed;
    let seeds = (0..w * h).filter(strong).count();
    let held = (0..w * h).filter(strong).filter(|&i| marked[i]).count();
    // Nothing standing out (a smooth gradient has colours of its own too) is no mark.
    (seeds * 200 >= w * h && held as f64 >= holds * seeds as f64).then_some(marked)
}

/// The share of the strongest overlay pixels the own colours' mask must hold …
const OWN_HOLDS: f64 = 0.9;
/// … or, when the other mask covers at least [`FLOODED`] of the box, this share.
const OWN_HOLDS_FLOODED: f64 = 0.8;
const FLOODED: f64 = 0.85;

/// The overlay pixels of the `w` x `h` box at (`x0`, `y0`), before dilation (see
/// [`overlay_mask`]), each pixel's colour difference to the smooth background estimate, and the
/// difference above which a pixel seeds the overlay.
fn overlay_pixels(image: &RgbImage, x0: u32, y0: u32, w: usize, h: usize) -> (Vec<bool>, Vec<u8>, u8) {
    let (iw, ih) = image.dimensions();
    // Smooth background estimate: fill the whole box from its surroundings, on a crop that holds
    // everything the fill reads.
    let bg_radius = ((w.min(h) / 6) as u32).clamp(4, 8);
    let pad = bg_radius + 2;
    let (cx0, cy0) = (x0.saturating_sub(pad), y0.saturating_sub(pad));
    let (cx1, cy1) = ((x0 + w as u32 + pad).min(iw), (y0 + h as u32 + pad).min(ih));
    let crop = image::imageops::crop_imm(image, cx0, cy0, cx1 - cx0, cy1 - cy0).to_image();
    let bg = smooth_background(crop, (x0 - cx0, y0 - cy0, w as u32, h as u32), bg_radius);

    let mut diff = vec![0u8; w * h];
    let mut edge = vec![0u8; w * h];
    for gy in 0..h {
        for gx in 0..w {
            let (x, y) = (x0 + gx as u32, y0 + gy as u32);
            let a = image.get_pixel(x, y).0;
            let b = bg.get_pixel(x - cx0, y - cy0).0;
            diff[gy * w + gx] = (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0);
            // Local contrast: largest colour step to a 4-neighbour inside the image.
            let mut e = 0u8;
            for (nx, ny) in [(x.wrapping_sub(1), y), (x + 1, y), (x, y.wrapping_sub(1)), (x, y + 1)] {
                if nx < iw && ny < ih {
                    let q = image.get_pixel(nx, ny).0;
                    e = e.max((0..3).map(|c| a[c].abs_diff(q[c])).max().unwrap_or(0));
                }
            }
            edge[gy * w + gx] = e;
        }
    }

    // Hysteresis: seeds above Otsu's threshold, grown over connected pixels that still differ by
    // at least OVERLAY_MIN_DIFF or sit on a strong edge.
    let thr = otsu(&diff).max(OVERLAY_MIN_DIFF);
    let mut marked: Vec<bool> = diff.iter().map(|&d| d > thr).collect();
    let mut stack: Vec<usize> = (0..w * h).filter(|&i| marked[i]).collect();
    while let Some(i) = stack.pop() {
        let (gx, gy) = (i % w, i / w);
        for ny in gy.saturating_sub(1)..(gy + 2).min(h) {
            for nx in gx.saturating_sub(1)..(gx + 2).min(w) {
                let j = ny * w + nx;
                if !marked[j] && (diff[j] >= OVERLAY_MIN_DIFF || edge[j] >= OVERLAY_EDGE) {
                    marked[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    (marked, diff, thr)
}

/// Boxes larger than this (pixels) get their smooth background estimated on a copy shrunk to
/// about this area and scaled back: the estimate is smooth anyway, and a full-size fill of a
/// 1000×140 box took 0.8 s.
const BACKGROUND_FULL_AREA: usize = 24_000;

/// `crop` with the box `(bx, by, bw, bh)` (in crop pixels) filled from around it by Telea.
pub(super) fn smooth_background(
    mut crop: RgbImage,
    (bx, by, bw, bh): (u32, u32, u32, u32),
    radius: u32,
) -> RgbImage {
    let area = (bw * bh) as usize;
    let (cw, ch) = crop.dimensions();
    if area <= BACKGROUND_FULL_AREA {
        let mask = GrayImage::from_fn(cw, ch, |x, y| {
            let inside = x >= bx && y >= by && x < bx + bw && y < by + bh;
            Luma([if inside { 255 } else { 0 }])
        });
        inpaint_telea(&mut crop, &mask, radius);
        return crop;
    }
    let s = ((area as f64 / BACKGROUND_FULL_AREA as f64).sqrt().ceil() as u32).max(2);
    let (sw, sh) = (cw.div_ceil(s), ch.div_ceil(s));
    let mut small = image::imageops::resize(&crop, sw, sh, image::imageops::FilterType::Triangle);
    // A small pixel that overlaps the box at all is filled: its value mixes in the overlay.
    let mask = GrayImage::from_fn(sw, sh, |x, y| {
        let (px0, py0, px1, py1) = (x * s, y * s, (x + 1) * s, (y + 1) * s);
        let inside = px1 + s > bx && px0 < bx + bw + s && py1 + s > by && py0 < by + bh + s;
        Luma([if inside { 255 } else { 0 }])
    });
    inpaint_telea(&mut small, &mask, (radius / s).max(3));
    image::imageops::resize(&small, cw, ch, image::imageops::FilterType::Triangle)
}

/// Smallest colour difference to the background estimate that `overlay_mask` treats as overlay.
pub const OVERLAY_MIN_DIFF: u8 = 28;
/// Smallest step to a neighbour that counts as a strong edge in `overlay_mask`.
const OVERLAY_EDGE: u8 = 40;

/// Otsu's threshold of a set of 8-bit values.
fn otsu(values: &[u8]) -> u8 {
    let mut hist = [0u64; 256];
    for &v in values {
        hist[v as usize] += 1;
    }
    let total = values.len() as f64;
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0.0f64, 0.0f64, -1.0f64, 0u8);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c as f64;
        sum0 += t as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) / 2) as u8]))
    }

    #[test]
    fn overlay_mask_marks_strokes_not_the_box() {
        let mut img = gradient(160, 120);
        let region = PixelBox { x: 100, y: 10, width: 50, height: 30 };
        // A white "T" with a one-pixel black outline.
        let stroke = |x: i32, y: i32| {
            ((15..20).contains(&y) && (110..140).contains(&x))
                || ((20..36).contains(&y) && (122..128).contains(&x))
        };
        let outline = |x: i32, y: i32| (-1..=1).any(|dy| (-1..=1).any(|dx| stroke(x + dx, y + dy)));
        for y in 10..40 {
            for x in 100..150 {
                if stroke(x, y) {
                    img.put_pixel(x as u32, y as u32, Rgb([255, 255, 255]));
                } else if outline(x, y) {
                    img.put_pixel(x as u32, y as u32, Rgb([0, 0, 0]));
                }
            }
        }
        let m = overlay_mask(&img, region);
        let marked = m.pixels().filter(|p| p.0[0] > 0).count();
        assert!(marked < 50 * 30 * 3 / 4, "marked {marked}");
        for y in 10..40 {
            for x in 100..150 {
                if outline(x, y) {
                    assert!(m.get_pixel(x as u32, y as u32).0[0] > 0, "stroke pixel {x},{y} not marked");
                }
            }
        }
        assert!(m.enumerate_pixels().all(|(x, y, p)| p.0[0] == 0 || (region_contains(region, x, y))));
    }

    #[test]
    fn white_letters_over_busy_texture_are_told_by_their_colour() {
        // Foliage-like texture: 3×3 blocks of greens and browns with strong steps between them.
        let palette = [[40u8, 90, 30], [90, 120, 40], [70, 50, 30], [20, 50, 20], [110, 90, 60]];
        let mut img = RgbImage::from_fn(200, 120, |x, y| {
            let k = ((x / 3) * 7 + (y / 3) * 13 + (x / 3) * (y / 3)) as usize % palette.len();
            Rgb(palette[k])
        });
        // White "letters": vertical strokes 3 px wide, 4 px apart, in a 100×30 box.
        let region = PixelBox { x: 50, y: 60, width: 100, height: 30 };
        let stroke = |x: u32, y: u32| (65..75).contains(&y) && (60..140).contains(&x) && (x - 60) % 7 < 3;
        for y in 60..90 {
            for x in 50..150 {
                if stroke(x, y) {
                    img.put_pixel(x, y, Rgb([255, 255, 255]));
                }
            }
        }
        let m = overlay_mask(&img, region);
        let marked = m.pixels().filter(|p| p.0[0] > 0).count();
        // Every stroke pixel is marked; the texture between and around them mostly is not.
        for y in 60..90 {
            for x in 50..150 {
                if stroke(x, y) {
                    assert!(m.get_pixel(x, y).0[0] > 0, "stroke pixel {x},{y} not marked");
                }
            }
        }
        assert!(marked < 100 * 30 / 2, "marked {marked} of {}", 100 * 30);
    }

    #[test]
    fn overlay_mask_falls_back_to_the_box() {
        let img = gradient(100, 100);
        let region = PixelBox { x: 10, y: 60, width: 30, height: 20 };
        let m = overlay_mask(&img, region);
        let marked = m.pixels().filter(|p| p.0[0] > 0).count();
        assert_eq!(marked, 30 * 20);
    }

    fn region_contains(b: PixelBox, x: u32, y: u32) -> bool {
        x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height
    }
}
