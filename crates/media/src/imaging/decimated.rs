//! A plane of values split into its `step` × `step` decimated phases, so that every `step`-th
//! value of a row, from any column on, is one contiguous slice; and the sums a normalised
//! correlation needs, over such slices, in independent lanes the compiler turns into SIMD.
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
                    .collect();
                Phase { width: columns, values }
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
}

/// Σab, Σaa and Σbb over the pairs of `a` and `b` (the shorter one's length).
pub fn correlation_sums(a: &[f32], b: &[f32]) -> [f32; 3] {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // Three passes over data in L1, each one sum: fused into one loop, the compiler interleaved
    // the three sums' lanes into shuffles and ran at half the speed.
    [dot(a, b), dot(a, a), dot(b, b)]
}

/// Σab over equally long `a` and `b`, in [`LANES`] independent sums.
fn dot(a: &[f32], b: &[f32]) -> f32 {
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
