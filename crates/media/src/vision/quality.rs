//! Measurable qualities of a still frame, for choosing covers: sharpness (variance of the
//! Laplacian), exposure and clipping, contrast, colourfulness (Hasler and Süsstrunk) and how
//! concentrated its salient content is (frequency-tuned saliency, Achanta et al. 2009).
//! All cheap: a few passes over a frame of at most a few hundred pixels wide.

use image::RgbImage;
use image::imageops::{FilterType, resize};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Mean luma, 0..1.
    pub brightness: f32,
    /// Standard deviation of luma, 0..1.
    pub contrast: f32,
    /// Fraction of pixels crushed to black or blown to white.
    pub clipped: f32,
    /// Variance of the 4-neighbour Laplacian of luma (0..255 units). Only comparable between
    /// frames of the same size.
    pub sharpness: f32,
    /// Hasler-Süsstrunk colourfulness (0..255 units; ~15 is dull, ~60 colourful, >100 vivid).
    pub colourfulness: f32,
    /// 1 when the salient content sits in one compact place, 0 when it is spread evenly.
    pub concentration: f32,
}

/// Why a frame can never be a cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Black,
    White,
    /// Next to no structure: a flat colour, a title card's background.
    Blank,
}

impl Quality {
    pub fn of(image: &RgbImage) -> Self {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let luma: Vec<f32> = image
            .pixels()
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        let n = luma.len().max(1) as f32;
        let mean = luma.iter().sum::<f32>() / n;
        let variance = luma.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
        let clipped = luma.iter().filter(|v| **v < 10.0 || **v > 245.0).count() as f32 / n;
        Self {
            brightness: mean / 255.0,
            contrast: variance.sqrt() / 255.0,
            clipped,
            sharpness: laplacian_variance(&luma, w, h),
            colourfulness: colourfulness(image),
            concentration: saliency_concentration(image),
        }
    }

    pub fn unusable(&self) -> Option<Unusable> {
        if self.brightness < 0.08 {
            Some(Unusable::Black)
        } else if self.brightness > 0.94 {
            Some(Unusable::White)
        } else if self.contrast < 0.035 {
            Some(Unusable::Blank)
        } else {
            None
        }
    }

    /// Exposure, 1 for a mid-toned frame with nothing clipped, falling towards dark, bright and
    /// clipped frames.
    pub fn exposure(&self) -> f32 {
        let tone = 1.0 - ((self.brightness - 0.45).abs() / 0.45).min(1.0);
        tone * (1.0 - self.clipped).powi(2)
    }
}

fn laplacian_variance(luma: &[f32], w: usize, h: usize) -> f32 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut sum, mut sum2) = (0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            let l = f64::from(luma[i - 1] + luma[i + 1] + luma[i - w] + luma[i + w] - 4.0 * luma[i]);
            sum += l;
            sum2 += l * l;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    (sum2 / n - (sum / n).powi(2)) as f32
}

fn colourfulness(image: &RgbImage) -> f32 {
    let n = (image.width() * image.height()).max(1) as f64;
    let (mut rg, mut yb, mut rg2, mut yb2) = (0f64, 0f64, 0f64, 0f64);
    for p in image.pixels() {
        let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        let (a, c) = (r - g, 0.5 * (r + g) - b);
        rg += a;
        yb += c;
        rg2 += a * a;
        yb2 += c * c;
    }
    let (mrg, myb) = (rg / n, yb / n);
    let (srg, syb) = ((rg2 / n - mrg * mrg).max(0.0), (yb2 / n - myb * myb).max(0.0));
    ((srg + syb).sqrt() + 0.3 * (mrg * mrg + myb * myb).sqrt()) as f32
}

/// The thumbnail the saliency is computed on (its width; the height keeps the aspect).
const SALIENCY_WIDTH: u32 = 64;

/// Frequency-tuned saliency: each pixel's Lab distance from the frame's mean colour, after a
/// light blur. The result is 1 − (the saliency-weighted spatial spread ÷ the spread of an even
/// spread), so one distinct subject scores high and texture all over scores low.
pub fn saliency_concentration(image: &RgbImage) -> f32 {
    let tw = SALIENCY_WIDTH.min(image.width()).max(1);
    let th = ((image.height() * tw) / image.width().max(1)).max(1);
    // The triangle filter at this reduction is the blur the method asks for.
    let small = resize(image, tw, th, FilterType::Triangle);
    let lab: Vec<[f32; 3]> = small.pixels().map(|p| srgb_to_lab(p.0)).collect();
    let n = lab.len() as f32;
    let mean = lab.iter().fold([0f32; 3], |m, c| [m[0] + c[0] / n, m[1] + c[1] / n, m[2] + c[2] / n]);
    let distance: Vec<f32> = lab
        .iter()
        .map(|c| ((c[0] - mean[0]).powi(2) + (c[1] - mean[1]).powi(2) + (c[2] - mean[2]).powi(2)).sqrt())
        .collect();
    // Only what stands out more than the median pixel counts: a large plain background is
    // not "spread" saliency.
    let mut sorted = distance.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    let saliency: Vec<f32> = distance.iter().map(|d| (d - median).max(0.0)).collect();
    let total: f32 = saliency.iter().sum();
    // Less than ~1 Lab unit above the median on average: nothing stands out anywhere.
    if total / n < 1.0 {
        return 0.0;
    }
    let (w, h) = (tw as usize, th as usize);
    let (mut cx, mut cy) = (0f32, 0f32);
    for (i, s) in saliency.iter().enumerate() {
        cx += s * (i % w) as f32;
        cy += s * (i / w) as f32;
    }
    let (cx, cy) = (cx / total, cy / total);
    let spread = saliency
        .iter()
        .enumerate()
        .map(|(i, s)| s * (((i % w) as f32 - cx).powi(2) + ((i / w) as f32 - cy).powi(2)))
        .sum::<f32>()
        / total;
    let even = ((w * w + h * h) as f32 / 12.0).max(1e-6);
    (1.0 - (spread / even).sqrt()).clamp(0.0, 1.0)
}

fn srgb_to_lab(rgb: [u8; 3]) -> [f32; 3] {
    let linear = rgb.map(|c| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    });
    let [r, g, b] = linear;
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.950_47;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.088_83;
    let f = |t: f32| if t > 0.008_856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn checker(size: u32, cell: u32) -> RgbImage {
        RgbImage::from_fn(size, size, |x, y| {
            if (x / cell + y / cell).is_multiple_of(2) { Rgb([220, 90, 60]) } else { Rgb([20, 60, 150]) }
        })
    }

    #[test]
    fn black_and_flat_frames_are_unusable() {
        let black = RgbImage::from_pixel(64, 36, Rgb([5, 5, 5]));
        assert_eq!(Quality::of(&black).unusable(), Some(Unusable::Black));
        let grey = RgbImage::from_pixel(64, 36, Rgb([120, 120, 120]));
        assert_eq!(Quality::of(&grey).unusable(), Some(Unusable::Blank));
        assert_eq!(Quality::of(&checker(64, 8)).unusable(), None);
    }

    #[test]
    fn blur_lowers_sharpness_and_grey_lowers_colourfulness() {
        let sharp = checker(96, 6);
        let blurred = image::imageops::blur(&sharp, 3.0);
        assert!(Quality::of(&sharp).sharpness > 4.0 * Quality::of(&blurred).sharpness);
        let grey = image::DynamicImage::ImageRgb8(sharp.clone()).grayscale().to_rgb8();
        assert!(Quality::of(&sharp).colourfulness > 3.0 * Quality::of(&grey).colourfulness);
    }

    #[test]
    fn one_subject_is_more_concentrated_than_texture_everywhere() {
        let mut subject = RgbImage::from_pixel(128, 72, Rgb([90, 110, 130]));
        for y in 25..45 {
            for x in 55..75 {
                subject.put_pixel(x, y, Rgb([240, 200, 40]));
            }
        }
        let one = Quality::of(&subject).concentration;
        let everywhere = Quality::of(&checker(128, 4)).concentration;
        assert!(one > 0.6 && everywhere < 0.3, "{one} vs {everywhere}");
    }
}
