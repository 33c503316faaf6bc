//! The guided filter (He, Sun, Tang 2010) with a grayscale guide: an edge-preserving smoothing
//! of a mask that makes its edges follow the image's edges. O(pixels) thanks to box sums.

use super::integral::SummedArea;

/// A box mean over a `(2r+1)²` window, clamped at the borders, via a summed-area table.
fn box_mean(src: &[f32], width: usize, height: usize, r: usize) -> Vec<f32> {
    let table = SummedArea::new(src, width, height);
    let mut out = vec![0f32; width * height];
    for y in 0..height {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(height));
        for x in 0..width {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(width));
            let sum = table.sum((x0, y0), (x1, y1));
            out[y * width + x] = (sum / ((y1 - y0) * (x1 - x0)) as f64) as f32;
        }
    }
    out
}

/// Filters `input` (values 0..1) guided by `guide` (0..1), window radius `r`, regulariser `eps`.
pub fn guided_filter(
    guide: &[f32],
    input: &[f32],
    width: usize,
    height: usize,
    r: usize,
    eps: f32,
) -> Vec<f32> {
    let (mean_a, mean_b) = coefficients(guide, input, width, height, r, eps);
    guide.iter().zip(mean_a.iter().zip(&mean_b)).map(|(i, (a, b))| (a * i + b).clamp(0.0, 1.0)).collect()
}

/// The filter's linear model per pixel, averaged over the windows that cover it: the output is
/// `a · guide + b`. The fast guided filter computes these on a subsampled guide and input and
/// applies them, upsampled, to the full-resolution guide.
pub fn coefficients(
    guide: &[f32],
    input: &[f32],
    width: usize,
    height: usize,
    r: usize,
    eps: f32,
) -> (Vec<f32>, Vec<f32>) {
    let mean_i = box_mean(guide, width, height, r);
    let mean_p = box_mean(input, width, height, r);
    let ii: Vec<f32> = guide.iter().map(|v| v * v).collect();
    let ip: Vec<f32> = guide.iter().zip(input).map(|(i, p)| i * p).collect();
    let corr_i = box_mean(&ii, width, height, r);
    let corr_ip = box_mean(&ip, width, height, r);
    let mut a = vec![0f32; width * height];
    let mut b = vec![0f32; width * height];
    for k in 0..width * height {
        let var_i = corr_i[k] - mean_i[k] * mean_i[k];
        let cov_ip = corr_ip[k] - mean_i[k] * mean_p[k];
        a[k] = cov_ip / (var_i + eps);
        b[k] = mean_p[k] - a[k] * mean_i[k];
    }
    (box_mean(&a, width, height, r), box_mean(&b, width, height, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blurred_mask_snaps_to_the_guide_edge() {
        // Guide: a sharp vertical edge at x = 32. Mask: the same edge, blurred over ±8 px.
        let (w, h) = (64, 16);
        let guide: Vec<f32> = (0..w * h).map(|k| if k % w < 32 { 0.1 } else { 0.9 }).collect();
        let blurred: Vec<f32> = (0..w * h).map(|k| ((k % w) as f32 - 24.0).clamp(0.0, 16.0) / 16.0).collect();
        let refined = guided_filter(&guide, &blurred, w, h, 8, 1e-4);
        let row = &refined[8 * w..9 * w];
        assert!(row[28] < 0.25 && row[36] > 0.75, "edge should sharpen: {:?}", &row[24..40]);
        assert!(row[0] < 0.05 && row[63] > 0.95);
    }

    #[test]
    fn box_mean_of_a_constant_is_that_constant() {
        let m = box_mean(&[0.5; 35], 7, 5, 2);
        assert!(m.iter().all(|v| (v - 0.5).abs() < 1e-6));
    }
}
