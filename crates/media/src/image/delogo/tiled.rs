//! Semi-transparent watermarks tiled over the whole picture (stock-photo style).
//!
//! A tiled mark repeats on a lattice, so the high-pass image correlates with itself shifted by
//! the lattice period, everywhere; a photo's own detail does not. Periods are found by normalised
//! autocorrelation along x and along y on a small copy; the mark is then confirmed by averaging
//! the high-pass image over all lattice cells (the watermark adds up, the photo averages out) and
//! by the two halves of the picture giving the same average cell.
//!
//! What this finds is reported, not removed: marks are un-blended from their tiles' boxes
//! ([`super::repeated`], seeded by text lines or by one line's likeness, [`super::likeness`]),
//! which a lattice of periods does not give. This is the last resort when neither found one.

use image::RgbImage;
use image::imageops::{FilterType, resize};

use crate::imaging::geometry::PixelBox;
use crate::imaging::shrink::shrink_area;

/// Analysis width: periods from 10 px to half the width are searched at this size.
const WORK_WIDTH: u32 = 256;
const MIN_PERIOD: usize = 10;
/// Normalised autocorrelation a period must reach. The photo's own detail dilutes a mark's
/// correlation (a translucent mark over a detailed photo measured ~0.14); photos themselves stay
/// below ~0.05 away from the smallest shifts.
const MIN_CORRELATION: f32 = 0.09;
/// The average cell from the top and the bottom half must agree this well.
const MIN_HALF_AGREEMENT: f32 = 0.6;

#[derive(Debug, Clone, PartialEq)]
pub struct TiledWatermark {
    /// Lattice period in source pixels.
    pub period_x: f32,
    pub period_y: f32,
    /// Autocorrelation at the period (0..1): how clearly it repeats.
    pub strength: f32,
    /// The mark's box within each cell, repeated over the picture (source pixels).
    pub tiles: Vec<PixelBox>,
}

struct Planes {
    w: usize,
    h: usize,
    /// High-pass of each channel (value minus a local mean).
    high: Vec<[f32; 3]>,
}

fn high_pass(image: &RgbImage) -> Planes {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let r = 3usize;
    let mut high = vec![[0f32; 3]; w * h];
    for c in 0..3 {
        let values: Vec<f32> = image.pixels().map(|p| f32::from(p[c])).collect();
        // Separable box mean (2r+1)², clamped at the borders.
        let mut rows = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
                rows[y * w + x] = values[y * w + x0..y * w + x1].iter().sum::<f32>() / (x1 - x0) as f32;
            }
        }
        for y in 0..h {
            let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
            for x in 0..w {
                let mean = (y0..y1).map(|yy| rows[yy * w + x]).sum::<f32>() / (y1 - y0) as f32;
                high[y * w + x][c] = values[y * w + x] - mean;
            }
        }
    }
    Planes { w, h, high }
}

fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// Normalised correlation of the luminance high-pass with itself shifted by (dx, dy).
fn correlation(planes: &Planes, dx: usize, dy: usize) -> f32 {
    let (mut sab, mut saa, mut sbb) = (0f32, 0f32, 0f32);
    for y in 0..planes.h - dy {
        for x in 0..planes.w - dx {
            let a = luma(planes.high[y * planes.w + x]);
            let b = luma(planes.high[(y + dy) * planes.w + x + dx]);
            sab += a * b;
            saa += a * a;
            sbb += b * b;
        }
    }
    sab / (saa * sbb).sqrt().max(1e-6)
}

/// The shift along one axis with the highest correlation, if it is a clear, repeating peak.
fn best_period(planes: &Planes, horizontal: bool) -> Option<(usize, f32)> {
    let extent = if horizontal { planes.w } else { planes.h };
    let shift = |d: usize| if horizontal { correlation(planes, d, 0) } else { correlation(planes, 0, d) };
    let scores: Vec<f32> =
        (0..=extent / 2).map(|d| if d < MIN_PERIOD - 2 { 0.0 } else { shift(d) }).collect();
    let best = (MIN_PERIOD..scores.len()).map(|d| scores[d]).fold(f32::MIN, f32::max);
    // Multiples of the period correlate too (sometimes more): take the smallest clear peak.
    let is_peak = |d: usize| scores[d] >= scores[d - 1] && scores.get(d + 1).is_none_or(|n| scores[d] >= *n);
    let (period, score) = (MIN_PERIOD..scores.len())
        .find(|d| scores[*d] >= 0.7 * best && is_peak(*d))
        .map(|d| (d, scores[d]))?;
    // A real lattice also repeats at twice the period (when that still fits).
    let twice_ok = 2 * period > extent * 2 / 3 || shift(2 * period) > 0.6 * score;
    (score >= MIN_CORRELATION && twice_ok).then_some((period, score))
}

/// The average high-pass cell over rows `rows` of the picture.
fn average_cell(planes: &Planes, px: usize, py: usize, rows: std::ops::Range<usize>) -> Vec<[f32; 3]> {
    let mut sum = vec![[0f32; 3]; px * py];
    let mut count = vec![0u32; px * py];
    for y in rows {
        for x in 0..planes.w {
            let k = (y % py) * px + x % px;
            for (total, v) in sum[k].iter_mut().zip(planes.high[y * planes.w + x]) {
                *total += v;
            }
            count[k] += 1;
        }
    }
    sum.iter().zip(&count).map(|(s, n)| s.map(|v| v / (*n).max(1) as f32)).collect()
}

fn agreement(a: &[[f32; 3]], b: &[[f32; 3]]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0f32, 0f32, 0f32);
    for (p, q) in a.iter().zip(b) {
        let (p, q) = (luma(*p), luma(*q));
        ab += p * q;
        aa += p * p;
        bb += q * q;
    }
    ab / (aa * bb).sqrt().max(1e-6)
}

pub fn detect_tiled(image: &RgbImage) -> Option<TiledWatermark> {
    let (w, h) = image.dimensions();
    let scale = (WORK_WIDTH as f32 / w as f32).min(1.0);
    let (sw, sh) = (((w as f32 * scale).round() as u32).max(1), ((h as f32 * scale).round() as u32).max(1));
    // Area averaging for big photos (a Triangle filter over 12 MP cost ~0.2 s).
    let small = if w > 4 * WORK_WIDTH {
        shrink_area(image, sw, sh)
    } else {
        resize(image, sw, sh, FilterType::Triangle)
    };
    let planes = high_pass(&small);
    if planes.w < 4 * MIN_PERIOD || planes.h < 4 * MIN_PERIOD {
        return None;
    }
    let (px, sx) = best_period(&planes, true)?;
    let (py, sy) = best_period(&planes, false)?;
    // The same average cell must come out of both halves: the mark covers the whole picture.
    let rows =
        |from: usize, to: usize| (from / py * py)..(to / py * py).max(from / py * py + py).min(planes.h);
    let top = average_cell(&planes, px, py, rows(0, planes.h / 2));
    let bottom = average_cell(&planes, px, py, rows(planes.h / 2, planes.h));
    if agreement(&top, &bottom) < MIN_HALF_AGREEMENT {
        return None;
    }
    let cell = average_cell(&planes, px, py, 0..planes.h);
    let tiles = tile_boxes(&cell, px, py, scale, w, h);
    Some(TiledWatermark {
        period_x: px as f32 / scale,
        period_y: py as f32 / scale,
        strength: sx.min(sy),
        tiles,
    })
}

/// Where in a cell the mark is (strong average high-pass), repeated over the picture.
fn tile_boxes(cell: &[[f32; 3]], px: usize, py: usize, scale: f32, w: u32, h: u32) -> Vec<PixelBox> {
    // Row and column profiles of the cell's energy are robust to the photo's leftovers, which
    // are scattered, while the mark's strokes line up.
    let (mut cols_e, mut rows_e) = (vec![0f32; px], vec![0f32; py]);
    for (k, p) in cell.iter().enumerate() {
        let e = luma(*p).abs();
        cols_e[k % px] += e;
        rows_e[k / px] += e;
    }
    let span = |profile: &[f32]| {
        let peak = profile.iter().copied().fold(0.0, f32::max);
        let strong: Vec<usize> = (0..profile.len()).filter(|i| profile[*i] >= 0.4 * peak).collect();
        Some((*strong.first()?, *strong.last()? + 1))
    };
    let (Some((x0, x1)), Some((y0, y1))) = (span(&cols_e), span(&rows_e)) else {
        return Vec::new();
    };
    let mut tiles = Vec::new();
    let (cols, rows) = ((w as f32 * scale) as usize / px + 1, (h as f32 * scale) as usize / py + 1);
    for row in 0..rows {
        for col in 0..cols {
            // Two work pixels of margin: the box is found at a coarser scale than it is used.
            let bx = (((col * px + x0) as f32 - 2.0).max(0.0) / scale) as u32;
            let by = (((row * py + y0) as f32 - 2.0).max(0.0) / scale) as u32;
            if bx >= w || by >= h {
                continue;
            }
            let bw = (((x1 - x0 + 4) as f32 / scale).ceil() as u32).min(w - bx);
            let bh = (((y1 - y0 + 4) as f32 / scale).ceil() as u32).min(h - by);
            tiles.push(PixelBox { x: bx, y: by, width: bw, height: bh });
        }
    }
    tiles
}
