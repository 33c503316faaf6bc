//! Stock marks that run diagonally ("SAMPLE" at 30°, as many stock sites tile theirs). The text
//! detector reads each tile as a line with its tilt, but its boxes are axis-aligned: a turned
//! word's box is mostly empty corners and holds parts of its neighbours, and un-blending such
//! boxes aligned them on the neighbours (the dev set's "SAMPLE" at 30° came out with its colour
//! read as black and a shadow of every word one step off: −0.6 dB). Instead the picture is
//! turned so the lines run level, read again, and the mark estimated there as any level
//! repeated mark ([`repeated`]); its alpha map is carried back to the picture and the blend
//! inverted on the picture's own pixels (carrying back the un-blended copy would blur them
//! twice).

use image::RgbImage;
use iprod_core::Result;

use super::repeated::{self, MIN_TILES, RepeatedMark};
use super::{cut, likeness};
use crate::imaging::geometry::PixelBox;
use crate::imaging::rotate::Turned;
use crate::onnx::OnnxRuntime;
use crate::vision::text::{self, TextLine};

/// Lines turned this much (degrees either way) are turned, not level or upright.
const TURNED: std::ops::RangeInclusive<f32> = 10.0..=80.0;
/// At least [`MIN_TILES`] confident lines within this many degrees of their median tilt.
const SAME_TILT: f32 = 4.0;
/// Pictures larger than this many pixels are turned on a copy this large: the canvas holding a
/// picture turned by 45° is twice its size.
const TURN_PIXELS: f64 = 12.0e6;
/// Lines whose box's smaller side is under this (pixels) are specks.
const MIN_SIDE: f32 = 16.0;

/// A repeated mark found and un-blended on the picture turned level, and its tilt (degrees,
/// the text detector's sign: image y grows downwards).
pub struct TurnedMark {
    /// Its tiles as the picture's boxes around each turned tile.
    pub mark: RepeatedMark,
    pub tilt: f32,
}

/// Un-blends a repeated mark that runs at the tilt most of the confident turned `lines` share
/// (when [`MIN_TILES`] of them do), in place. `None` when there is none, or the picture turned
/// level holds no repeated mark ([`repeated::find`], [`likeness::find`]) that un-blends.
pub fn remove(runtime: &OnnxRuntime, image: &mut RgbImage, lines: &[TextLine]) -> Result<Option<TurnedMark>> {
    let Some(tilt) = common_tilt(lines) else { return Ok(None) };
    let (w, h) = image.dimensions();
    // Picture pixels per pixel of the copy that is turned (at most TURN_PIXELS of it).
    let k = (f64::from(w) * f64::from(h) / TURN_PIXELS).sqrt().max(1.0);
    let scaled;
    let source = if k > 1.0 {
        let (sw, sh) = ((f64::from(w) / k).round() as u32, (f64::from(h) / k).round() as u32);
        scaled = image::imageops::resize(image, sw.max(1), sh.max(1), image::imageops::FilterType::Triangle);
        &scaled
    } else {
        &*image
    };
    let turned = Turned::new(source, -f64::from(tilt));
    let level = text::detect(runtime, &turned.image)?;
    // Three lines or more sharing a tilt already say a mark is there: a seed may be half as
    // high as on a level picture (a turned "shutterstock" a thirtieth of the picture high was
    // read whole only in part), measured against the picture, not the larger turned canvas.
    let least = (likeness::least_seed((w, h)) / (k as f32 * 2.0)).max(repeated::MIN_HEIGHT);
    let found = likeness::mark_tiles(&turned.image, &level, least);
    let Some(estimate) = found.and_then(|tiles| repeated::estimate_all(&turned.image, &tiles)) else {
        return Ok(None);
    };
    let (tw, th) = estimate.size;
    let whole = estimate.tiles.iter().map(|t| (t.x as i32, t.y as i32));
    let corners: Vec<(i32, i32)> = whole.chain(estimate.cut.iter().copied()).collect();
    let canvas = turned.image.dimensions();
    let colour = estimate.colour;
    // Most marks have no shadow: its map is then not sampled at every pixel.
    let shadowed = estimate.shadow.iter().any(|s| *s > 0.0);
    // Each pixel once: a tile's box on the picture overlaps its neighbours'.
    let mut done = vec![0u64; ((w as usize) * (h as usize)).div_ceil(64)];
    let mut boxes = Vec::with_capacity(corners.len());
    for corner in corners {
        let Some(b) =
            cut::visible(corner, (tw, th), canvas).and_then(|t| box_in_picture(&turned, t, k, (w, h)))
        else {
            continue;
        };
        boxes.push(b);
        for y in b.y..b.y + b.height {
            for x in b.x..b.x + b.width {
                let (u, v) = turned.forward((f64::from(x) + 0.5) / k, (f64::from(y) + 0.5) / k);
                let at = (u - 0.5 - f64::from(corner.0), v - 0.5 - f64::from(corner.1));
                let a = bilinear(&estimate.alpha, (tw, th), at.0, at.1);
                let s = if shadowed { bilinear(&estimate.shadow, (tw, th), at.0, at.1) } else { 0.0 };
                let i = y as usize * w as usize + x as usize;
                if (a <= 0.0 && s <= 0.0) || done[i / 64] & (1 << (i % 64)) != 0 {
                    continue;
                }
                done[i / 64] |= 1 << (i % 64);
                let p = image.get_pixel_mut(x, y);
                p.0 = repeated::unblend_pixel(p.0, (a, s), colour);
            }
        }
    }
    let mark = RepeatedMark { tiles: boxes, alpha: estimate.mean, colour: colour as u8 };
    Ok(Some(TurnedMark { mark, tilt }))
}

/// The median tilt of the confident turned lines, when at least [`MIN_TILES`] lie within
/// [`SAME_TILT`] of it.
fn common_tilt(lines: &[TextLine]) -> Option<f32> {
    let mut tilts: Vec<f32> = lines
        .iter()
        .filter(|l| {
            l.score >= 0.6 && TURNED.contains(&l.tilt.abs()) && l.rect.width.min(l.rect.height) >= MIN_SIDE
        })
        .map(|l| l.tilt)
        .collect();
    tilts.sort_by(f32::total_cmp);
    let median = *tilts.get(tilts.len() / 2)?;
    let near = tilts.iter().filter(|t| (*t - median).abs() <= SAME_TILT).count();
    (near >= MIN_TILES).then_some(median)
}

/// The picture's box around a tile of the turned copy (its four corners carried back, `k`
/// picture pixels per pixel of the copy that was turned), clipped to the picture; `None` when
/// it lies outside.
fn box_in_picture(turned: &Turned, t: PixelBox, k: f64, (w, h): (u32, u32)) -> Option<PixelBox> {
    let (x0, y0, x1, y1) =
        (f64::from(t.x), f64::from(t.y), f64::from(t.x + t.width), f64::from(t.y + t.height));
    let corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)].map(|(x, y)| {
        let (px, py) = turned.back(x, y);
        (px * k, py * k)
    });
    let left = corners.iter().map(|c| c.0).fold(f64::MAX, f64::min).floor().max(0.0);
    let top = corners.iter().map(|c| c.1).fold(f64::MAX, f64::min).floor().max(0.0);
    let right = corners.iter().map(|c| c.0).fold(f64::MIN, f64::max).ceil().min(f64::from(w));
    let bottom = corners.iter().map(|c| c.1).fold(f64::MIN, f64::max).ceil().min(f64::from(h));
    (right > left && bottom > top)
        .then(|| PixelBox::new(left as u32, top as u32, (right - left) as u32, (bottom - top) as u32))
}

/// Bilinear sample of a map (`w` × `h`) at (x, y), zero beyond it.
fn bilinear(map: &[f32], (w, h): (u32, u32), x: f64, y: f64) -> f32 {
    let at = |x: i64, y: i64| {
        if x < 0 || y < 0 || x >= i64::from(w) || y >= i64::from(h) {
            0.0
        } else {
            map[(y * i64::from(w) + x) as usize]
        }
    };
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::Rect;

    fn line(tilt: f32, score: f32) -> TextLine {
        TextLine { rect: Rect { x: 10.0, y: 10.0, width: 120.0, height: 80.0 }, score, tilt }
    }

    #[test]
    fn the_tilt_most_confident_turned_lines_share_is_the_marks() {
        let lines = [line(-30.5, 0.9), line(-29.8, 0.95), line(-31.2, 0.9), line(2.0, 0.99), line(60.0, 0.9)];
        assert_eq!(common_tilt(&lines), Some(-29.8));
        // Two lines are not a repeated mark, nor are unsure ones or level ones.
        assert_eq!(common_tilt(&lines[..2]), None);
        assert_eq!(common_tilt(&[line(-30.0, 0.5), line(-30.0, 0.5), line(-30.0, 0.5)]), None);
        assert_eq!(common_tilt(&[line(3.0, 0.9), line(3.0, 0.9), line(3.0, 0.9)]), None);
    }

    #[test]
    fn a_tile_of_the_turned_copy_is_boxed_in_the_picture() {
        let img = RgbImage::new(400, 300);
        let turned = Turned::new(&img, -30.0);
        // A tile at the turned copy's centre, carried back, is centred in the picture and holds
        // the tile turned.
        let (cw, ch) = turned.image.dimensions();
        let tile = PixelBox::new(cw / 2 - 50, ch / 2 - 10, 100, 20);
        let b = box_in_picture(&turned, tile, 1.0, (400, 300)).expect("inside");
        assert!((b.x + b.width / 2).abs_diff(200) <= 1 && (b.y + b.height / 2).abs_diff(150) <= 1, "{b:?}");
        // 100 × 20 turned by 30°: 96.6 × 67.3.
        assert!(b.width.abs_diff(97) <= 2 && b.height.abs_diff(68) <= 2, "{b:?}");
        // A tile in a corner the picture does not reach gives nothing.
        assert_eq!(box_in_picture(&turned, PixelBox::new(0, 0, 20, 20), 1.0, (400, 300)), None);
        // On a copy half the picture's size, the box is twice as large.
        let b2 = box_in_picture(&turned, tile, 2.0, (800, 600)).expect("inside");
        assert!(b2.width.abs_diff(2 * b.width) <= 2 && b2.height.abs_diff(2 * b.height) <= 2, "{b2:?}");
    }
}
