//! A plane of values split into its `step` × `step` decimated phases, so that every `step`-th
//! value of a row, from any column on, is one contiguous slice, with a summed-area table of its
//! squares (a window's energy in four reads); and the sums a normalised correlation needs, over
//! such slices, in independent lanes the compiler turns into SIMD.
//!
//! The delogo's tile alignments compare a template's samples (every `step`-th row and column)
//! with hundreds of shifted windows of a high-pass. Gathering each window's strided samples one
//! by one and summing them in one chain was a fifth of a 12 MP tiled ImageDelogo.

/// Lanes of the sums: 8 f32, two SSE registers (the build's baseline).
const LANES: usize = 8;

/// `values` (`width` × `height`, row-major) as its decimated phases.
pub struct Decimated {
    step: usize,
    /// Phase (`x % step`, `y % step`) at `(y % step) * step + x % step`: its values at
    /// (x, y) = (phase.0 + k·step, phase.1 + j·step), row j from `j * width`.
    phases: Vec<Phase>,
}

struct Phase {
    width: usize,
    values: Vec<f32>,
    /// Summed-area table of the values' squares, (width + 1) wide, with a zero first row and
    /// column (f64: a window's energy is a difference of large sums).
    squares: Vec<f64>,
}

impl Decimated {
    pub fn new(values: &[f32], (width, height): (usize, usize), step: usize) -> Self {
        let step = step.max(1);
        let phases = (0..step * step)
            .map(|p| {
                let (px, py) = (p % step, p / step);
                let columns = width.saturating_sub(px).div_ceil(step);
                let values = (py..height)
                    .step_by(step)
                    .flat_map(|y| {
                        values[(y * width + px).min((y + 1) * width)..(y + 1) * width]
                            .iter()
                            .step_by(step)
                            .copied()
                    })
                    .collect::<Vec<f32>>();
                let mut squares = vec![0.0f64; (columns + 1) * (values.len() / columns.max(1) + 1)];
                for (r, row) in values.chunks_exact(columns.max(1)).enumerate() {
                    let mut sum = 0.0f64;
                    for (c, v) in row.iter().enumerate() {
                        sum += f64::from(*v).powi(2);
                        squares[(r + 1) * (columns + 1) + c + 1] = squares[r * (columns + 1) + c + 1] + sum;
                    }
                }
                Phase { width: columns, values, squares }
            })
            .collect();
        Self { step, phases }
    }

    /// The values at (x + k·step, y) for k in 0..n, cut short at the row's end.
    pub fn row(&self, x: usize, y: usize, n: usize) -> &[f32] {
        let phase = &self.phases[(y % self.step) * self.step + x % self.step];
        let (column, row) = (x / self.step, y / self.step);
        let start = (row * phase.width + column).min(phase.values.len());
        let end = (start + n.min(phase.width.saturating_sub(column))).min(phase.values.len());
        &phase.values[start..end]
    }

    /// Σ of the squares of the values at (x + k·step, y + j·step), k in 0..n, j in 0..rows, cut
    /// short at the plane's edges: a window's energy in four reads.
    pub fn energy(&self, x: usize, y: usize, n: usize, rows: usize) -> f32 {
        let phase = &self.phases[(y % self.step) * self.step + x % self.step];
        let height = phase.squares.len() / (phase.width + 1) - 1;
        let (c0, r0) = ((x / self.step).min(phase.width), (y / self.step).min(height));
        let (c1, r1) = ((c0 + n).min(phase.width), (r0 + rows).min(height));
        let at = |r: usize, c: usize| phase.squares[r * (phase.width + 1) + c];
        (at(r1, c1) - at(r0, c1) - at(r1, c0) + at(r0, c0)).max(0.0) as f32
    }
}

/// The values of `plane` (rows `stride` long) at every `step`-th row and column of its top-left
/// `width` × `height`, row by row: a template sampled as the windows [`Decimated::row`] gives.
pub fn every_step(plane: &[f32], stride: usize, (width, height): (usize, usize), step: usize) -> Vec<f32> {
    let step = step.max(1);
    (0..height)
        .step_by(step)
        .flat_map(|y| plane[y * stride..y * stride + width].iter().step_by(step).copied())
        .collect()
}

/// Σab, Σaa and Σbb over the pairs of `a` and `b` (the shorter one's length).
pub fn correlation_sums(a: &[f32], b: &[f32]) -> [f32; 3] {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // Three passes over data in L1, each one sum: fused into one loop, the compiler interleaved
    // the three sums' lanes into shuffles and ran at half the speed.
    [dot(a, b), dot(a, a), dot(b, b)]
}

/// Σab over `a` and `b` (the shorter one's length), in [`LANES`] independent sums.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; LANES];
    let ((xs, x_tail), (ys, y_tail)) = (a.as_chunks::<LANES>(), b.as_chunks::<LANES>());
    for (x, y) in xs.iter().zip(ys) {
        for l in 0..LANES {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + x_tail.iter().zip(y_tail).map(|(x, y)| x * y).sum::<f32>()
}

/// The normalised correlation (no mean removed) from [`correlation_sums`].
pub fn correlation([ab, aa, bb]: [f32; 3]) -> f32 {
    ab / (aa * bb).sqrt().max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_of_a_phase_is_every_step_th_value_from_its_column() {
        let (w, h) = (11, 7);
        let values: Vec<f32> = (0..w * h).map(|i| i as f32).collect();
        for step in 1..=4 {
            let d = Decimated::new(&values, (w, h), step);
            for y in 0..h {
                for x in 0..w {
                    let expected: Vec<f32> =
                        (x..w).step_by(step).take(3).map(|c| values[y * w + c]).collect();
                    assert_eq!(d.row(x, y, 3), &expected[..], "step {step} at ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn a_window_s_energy_is_the_sum_of_its_samples_squares() {
        let (w, h) = (13, 9);
        let values: Vec<f32> = (0..w * h).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        for step in 1..=3 {
            let d = Decimated::new(&values, (w, h), step);
            for (x, y, n, rows) in [(0, 0, 4, 3), (2, 1, 3, 2), (5, 4, 9, 9), (12, 8, 1, 1)] {
                let expected: f32 = (y..h)
                    .step_by(step)
                    .take(rows)
                    .flat_map(|r| d.row(x, r, n).iter().map(|v| v * v).collect::<Vec<_>>())
                    .sum();
                assert!((d.energy(x, y, n, rows) - expected).abs() < 1e-3, "step {step} at ({x}, {y})");
            }
        }
    }

    #[test]
    fn a_template_is_sampled_at_every_step_th_row_and_column() {
        let plane: Vec<f32> = (0..30).map(|i| i as f32).collect(); // 6 wide, 5 high
        assert_eq!(every_step(&plane, 6, (5, 4), 2), vec![0.0, 2.0, 4.0, 12.0, 14.0, 16.0]);
        assert_eq!(every_step(&plane, 6, (2, 2), 1), vec![0.0, 1.0, 6.0, 7.0]);
    }

    #[test]
    fn the_sums_are_those_of_the_pairs() {
        let a: Vec<f32> = (0..21).map(|i| (i as f32 * 0.7).sin()).collect();
        let b: Vec<f32> = (0..19).map(|i| (i as f32 * 0.3).cos()).collect();
        let [ab, aa, bb] = correlation_sums(&a, &b);
        let pairs = a.iter().zip(&b);
        assert!((ab - pairs.clone().map(|(x, y)| x * y).sum::<f32>()).abs() < 1e-4);
        assert!((aa - a[..19].iter().map(|x| x * x).sum::<f32>()).abs() < 1e-4);
        assert!((bb - b.iter().map(|y| y * y).sum::<f32>()).abs() < 1e-4);
        assert!((correlation(correlation_sums(&a, &a)) - 1.0).abs() < 1e-5);
    }
}
