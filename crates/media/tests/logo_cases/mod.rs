//! Synthetic logos with ground truth, pasted onto real photos.
#![allow(dead_code)]

use std::path::PathBuf;

use image::{Rgb, RgbImage};
use iprod_media::imaging::geometry::PixelBox;

/// The test photos, laid out by `layers/fetch-test-media.sh` (`make test` runs it).
pub(crate) fn media_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/test-media")
}

pub(crate) fn load(name: &str) -> RgbImage {
    let path = media_dir().join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run layers/fetch-test-media.sh)", path.display()))
        .to_rgb8()
}

/// Re-encodes as JPEG, as a logo burnt into a published photo would be.
pub(crate) fn jpeg_roundtrip(img: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
    img.write_with_encoder(enc).expect("encode");
    image::load_from_memory(&bytes).expect("decode").to_rgb8()
}

/// 5x7 bitmap glyphs, enough for a few channel names.
fn glyph(c: char) -> [u8; 7] {
    match c {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x1F],
        'N' => [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        _ => [0; 7],
    }
}

/// Coverage in 0..1 of `text` laid out to fill a `w` x `h` box (glyphs touch the box edges),
/// supersampled 4x4 for antialiasing; `inset` leaves a margin in box pixels.
fn text_coverage(text: &str, w: u32, h: u32, inset: f32) -> Vec<f32> {
    let n = text.chars().count() as f32;
    let cols = n * 6.0 - 1.0;
    let (iw, ih) = (w as f32 - 2.0 * inset, h as f32 - 2.0 * inset);
    let chars: Vec<[u8; 7]> = text.chars().map(glyph).collect();
    let mut cov = vec![0.0f32; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let mut hits = 0;
            for sy in 0..4 {
                for sx in 0..4 {
                    let fx = (x as f32 + (sx as f32 + 0.5) / 4.0 - inset) / iw * cols;
                    let fy = (y as f32 + (sy as f32 + 0.5) / 4.0 - inset) / ih * 7.0;
                    if fx < 0.0 || fy < 0.0 || fx >= cols || fy >= 7.0 {
                        continue;
                    }
                    let (ci, gx, gy) = ((fx / 6.0) as usize, (fx as usize) % 6, fy as usize);
                    if gx < 5 && (chars[ci][gy] >> (4 - gx)) & 1 == 1 {
                        hits += 1;
                    }
                }
            }
            cov[(y * w + x) as usize] = hits as f32 / 16.0;
        }
    }
    cov
}

/// Grows coverage by `r` pixels (max filter), for outlines.
fn grow(cov: &[f32], w: u32, h: u32, r: i32) -> Vec<f32> {
    let mut out = vec![0.0f32; cov.len()];
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let mut m = 0.0f32;
            for dy in -r..=r {
                for dx in -r..=r {
                    let (xx, yy) = (x + dx, y + dy);
                    if xx >= 0 && yy >= 0 && xx < w as i32 && yy < h as i32 && dx * dx + dy * dy <= r * r + 1
                    {
                        m = m.max(cov[(yy as u32 * w + xx as u32) as usize]);
                    }
                }
            }
            out[(y as u32 * w + x as u32) as usize] = m;
        }
    }
    out
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Style {
    /// White letters with a dark outline (a typical burnt-in channel name).
    OutlinedText,
    /// A coloured rounded plate with white letters (a channel bug).
    Plate,
    /// White letters and a frame at alpha 0.5 (a semi-transparent watermark).
    Translucent,
    /// A white disc with a letter cut out, at alpha 0.5 (a semi-transparent shape).
    TranslucentShape,
}

fn blend(p: &mut Rgb<u8>, c: [f32; 3], a: f32) {
    for (v, c) in p.0.iter_mut().zip(c) {
        *v = (f32::from(*v) * (1.0 - a) + c * a).round().clamp(0.0, 255.0) as u8;
    }
}

/// Pastes a logo of `style` filling `b` exactly; `b` is the ground truth.
pub(crate) fn paste(img: &mut RgbImage, b: PixelBox, style: Style, text: &str) {
    let (w, h) = (b.width, b.height);
    let idx = |x: u32, y: u32| (y * w + x) as usize;
    match style {
        Style::OutlinedText => {
            let o = (h as f32 / 14.0).max(1.0);
            let fill = text_coverage(text, w, h, o);
            let outline = grow(&fill, w, h, o.round() as i32);
            for y in 0..h {
                for x in 0..w {
                    let p = img.get_pixel_mut(b.x + x, b.y + y);
                    blend(p, [20.0, 20.0, 30.0], outline[idx(x, y)]);
                    blend(p, [255.0, 255.0, 255.0], fill[idx(x, y)]);
                }
            }
        }
        Style::Plate => {
            let inset = h as f32 * 0.2;
            let fill = text_coverage(text, w, h, inset);
            let rad = h as f32 * 0.2;
            for y in 0..h {
                for x in 0..w {
                    // Rounded rectangle coverage, supersampled.
                    let mut hits = 0;
                    for s in 0..16 {
                        let fx = x as f32 + ((s % 4) as f32 + 0.5) / 4.0;
                        let fy = y as f32 + ((s / 4) as f32 + 0.5) / 4.0;
                        let cx = fx.clamp(rad, w as f32 - rad);
                        let cy = fy.clamp(rad, h as f32 - rad);
                        if (fx - cx).powi(2) + (fy - cy).powi(2) <= rad * rad {
                            hits += 1;
                        }
                    }
                    let p = img.get_pixel_mut(b.x + x, b.y + y);
                    blend(p, [190.0, 25.0, 35.0], hits as f32 / 16.0);
                    blend(p, [255.0, 255.0, 255.0], fill[idx(x, y)]);
                }
            }
        }
        Style::Translucent => {
            let t = (h as f32 / 12.0).max(1.5);
            let fill = text_coverage(text, w, h, t * 2.5);
            for y in 0..h {
                for x in 0..w {
                    let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                    let frame = fx < t || fy < t || fx > w as f32 - t || fy > h as f32 - t;
                    let a = if frame { 1.0 } else { fill[idx(x, y)] };
                    blend(img.get_pixel_mut(b.x + x, b.y + y), [255.0, 255.0, 255.0], 0.5 * a);
                }
            }
        }
        Style::TranslucentShape => {
            let letter = text_coverage(&text[..1], w, h, w.min(h) as f32 * 0.25);
            let (cx, cy, r) = (w as f32 / 2.0, h as f32 / 2.0, w.min(h) as f32 / 2.0);
            for y in 0..h {
                for x in 0..w {
                    let mut hits = 0;
                    for s in 0..16 {
                        let fx = x as f32 + ((s % 4) as f32 + 0.5) / 4.0;
                        let fy = y as f32 + ((s / 4) as f32 + 0.5) / 4.0;
                        if (fx - cx).powi(2) + (fy - cy).powi(2) <= r * r {
                            hits += 1;
                        }
                    }
                    let a = hits as f32 / 16.0 * (1.0 - letter[idx(x, y)]);
                    blend(img.get_pixel_mut(b.x + x, b.y + y), [255.0, 255.0, 255.0], 0.5 * a);
                }
            }
        }
    }
}

/// Where the logo goes: a corner or the middle of an edge, with a margin.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
    Top,
    Bottom,
    Left,
    Right,
}

/// A box of `frac` of the image width, `aspect` = width / height, at `place` with a 3 % margin.
pub(crate) fn place_box(img_w: u32, img_h: u32, place: Place, frac: f32, aspect: f32) -> PixelBox {
    place_box_margin(img_w, img_h, place, frac, aspect, 0.03)
}

/// As [`place_box`] with the margin as a fraction of the image size.
pub(crate) fn place_box_margin(
    img_w: u32,
    img_h: u32,
    place: Place,
    frac: f32,
    aspect: f32,
    margin: f32,
) -> PixelBox {
    let width = (img_w as f32 * frac).round() as u32;
    let height = (width as f32 / aspect).round() as u32;
    let mx = (img_w as f32 * margin).round() as u32;
    let my = (img_h as f32 * margin).round() as u32;
    let (l, r) = (mx, img_w - mx - width);
    let (t, bt) = (my, img_h - my - height);
    let (cx, cy) = ((img_w - width) / 2, (img_h - height) / 2);
    let (x, y) = match place {
        Place::TopLeft => (l, t),
        Place::TopRight => (r, t),
        Place::BottomLeft => (l, bt),
        Place::BottomRight => (r, bt),
        Place::Top => (cx, t),
        Place::Bottom => (cx, bt),
        Place::Left => (l, cy),
        Place::Right => (r, cy),
    };
    PixelBox { x, y, width, height }
}

pub(crate) fn iou(a: PixelBox, b: PixelBox) -> f32 {
    let ix = (a.x + a.width).min(b.x + b.width).saturating_sub(a.x.max(b.x));
    let iy = (a.y + a.height).min(b.y + b.height).saturating_sub(a.y.max(b.y));
    let inter = (ix * iy) as f32;
    let uni = (a.width * a.height + b.width * b.height) as f32 - inter;
    if uni > 0.0 { inter / uni } else { 0.0 }
}

/// Mean absolute error per channel between `a` and `b` inside `r`.
pub(crate) fn mae_in(a: &RgbImage, b: &RgbImage, r: PixelBox) -> f64 {
    let mut s = 0.0;
    for y in r.y..r.y + r.height {
        for x in r.x..r.x + r.width {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            s += (0..3).map(|c| f64::from(p[c].abs_diff(q[c]))).sum::<f64>();
        }
    }
    s / (3.0 * f64::from(r.width * r.height))
}

/// The synthetic cases: (name, style, text, place, width fraction, aspect).
pub(crate) fn cases() -> Vec<(&'static str, Style, &'static str, Place, f32, f32)> {
    use Place::*;
    use Style::*;
    vec![
        ("outlined-tl-12", OutlinedText, "NEWS", TopLeft, 0.12, 2.8),
        ("outlined-br-20", OutlinedText, "IPROD", BottomRight, 0.20, 3.2),
        ("outlined-tr-6", OutlinedText, "TV", TopRight, 0.06, 1.6),
        ("outlined-bottom-15", OutlinedText, "HD", Bottom, 0.15, 1.8),
        ("plate-tr-10", Plate, "TV1", TopRight, 0.10, 1.8),
        ("plate-bl-16", Plate, "NEWS", BottomLeft, 0.16, 2.4),
        ("plate-left-8", Plate, "A2", Left, 0.08, 1.3),
        ("plate-top-14", Plate, "SPORT", Top, 0.14, 2.8),
        ("translucent-br-18", Translucent, "PHOTO", BottomRight, 0.18, 3.0),
        ("translucent-tl-14", Translucent, "STOCK", TopLeft, 0.14, 2.6),
        ("translucent-right-10", Translucent, "DEMO", Right, 0.10, 2.2),
        ("shape-bl-10", TranslucentShape, "P", BottomLeft, 0.10, 1.0),
        ("shape-tr-16", TranslucentShape, "W", TopRight, 0.16, 1.0),
    ]
}
