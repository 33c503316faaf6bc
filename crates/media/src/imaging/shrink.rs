//! A picture shrunk by area averaging, on every core: each output pixel is the mean of the input
//! pixels its area covers (fractional ones weighted by the part covered). The image functions
//! shrink a big photo several times (the text detector's input, the marks' work copies); with
//! `image`'s single-threaded `thumbnail` those copies took ~0.2 s of a 12 MP ImageDelogo.

use image::RgbImage;

use super::parallel;

/// `image` shrunk to `width` × `height` (each no larger than the input's, at least 1; an empty
/// input gives a black picture of the size asked).
pub fn shrink_area(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (iw, ih) = image.dimensions();
    if iw == 0 || ih == 0 {
        return RgbImage::new(width, height);
    }
    let (ow, oh) = (width.clamp(1, iw), height.clamp(1, ih));
    let across = spans(iw, ow);
    let down = spans(ih, oh);
    let stride = iw as usize * 3;
    let raw = image.as_raw();
    // Bands of output rows, one per core. Each output row sums its input rows down first, whole
    // rows at a time (contiguous: the compiler vectorises it), then reduces that sum across once.
    // Across first, per input row, gathered through every span's weights, 13 % of a 12 MP tiled
    // ImageDelogo's CPU time went here (its several shrinks); down first, 6 %.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let bands: Vec<(u32, u32)> = {
        let n = cores.min(oh as usize).max(1) as u32;
        (0..n).map(|k| (k * oh / n, (k + 1) * oh / n)).collect()
    };
    let parts = parallel::map(&bands, |&(y0, y1)| {
        let mut out = vec![0u8; (y1 - y0) as usize * ow as usize * 3];
        let mut column = vec![0.0f32; stride];
        for (y, out_row) in (y0..y1).zip(out.chunks_exact_mut(ow as usize * 3)) {
            column.fill(0.0);
            let (first, weights) = &down[y as usize];
            for (k, wy) in weights.iter().enumerate() {
                let line = &raw[(first + k) * stride..(first + k + 1) * stride];
                for (c, v) in column.iter_mut().zip(line) {
                    *c += wy * f32::from(*v);
                }
            }
            reduce_row(&column, &across, out_row);
        }
        out
    });
    RgbImage::from_raw(ow, oh, parts.concat()).expect("the bands make the whole picture")
}

/// Per output position, the first input position its area covers and the weights (summing to 1)
/// of the input positions from there on.
fn spans(input: u32, output: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = f64::from(input) / f64::from(output);
    (0..output)
        .map(|o| {
            let (a, b) = (f64::from(o) * ratio, (f64::from(o + 1) * ratio).min(f64::from(input)));
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).clamp(first + 1, input as usize);
            let weights = (first..last)
                .map(|i| {
                    let covered = (b.min(i as f64 + 1.0) - a.max(i as f64)).max(0.0);
                    (covered / ratio) as f32
                })
                .collect();
            (first, weights)
        })
        .collect()
}

/// One row of sums (RGB) reduced across to the output's width, rounded.
fn reduce_row(line: &[f32], across: &[(usize, Vec<f32>)], row: &mut [u8]) {
    for ((first, weights), out) in across.iter().zip(row.chunks_exact_mut(3)) {
        let mut acc = [0.0f32; 3];
        for (w, p) in weights.iter().zip(line[first * 3..].chunks_exact(3)) {
            acc[0] += w * p[0];
            acc[1] += w * p[1];
            acc[2] += w * p[2];
        }
        // floor(a + 0.5) is `round` for sums that cannot be negative, without a libm call a pixel.
        for (o, a) in out.iter_mut().zip(acc) {
            *o = (a.clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn each_output_pixel_is_the_mean_of_the_area_it_covers() {
        // 6×4 → 3×2: each output pixel averages a 2×2 block.
        let img = RgbImage::from_fn(6, 4, |x, y| Rgb([(x * 40) as u8, (y * 60) as u8, 100]));
        let small = shrink_area(&img, 3, 2);
        assert_eq!(small.get_pixel(0, 0).0, [20, 30, 100]);
        assert_eq!(small.get_pixel(2, 1).0, [180, 150, 100]);
        // 3 → 2 across: the middle input column is shared half and half.
        let row = RgbImage::from_fn(3, 1, |x, _| Rgb([[0, 90, 180][x as usize]; 3]));
        let two = shrink_area(&row, 2, 1);
        assert_eq!(two.get_pixel(0, 0).0, [30; 3]);
        assert_eq!(two.get_pixel(1, 0).0, [150; 3]);
    }

    #[test]
    fn a_flat_picture_stays_flat_at_any_size() {
        let img = RgbImage::from_pixel(1001, 777, Rgb([13, 200, 77]));
        for (w, h) in [(640, 497), (333, 1), (1, 1), (1001, 777)] {
            let small = shrink_area(&img, w, h);
            assert_eq!(small.dimensions(), (w, h));
            assert!(small.pixels().all(|p| p.0 == [13, 200, 77]));
        }
        assert_eq!(shrink_area(&RgbImage::new(0, 0), 4, 3).dimensions(), (4, 3));
    }
}
