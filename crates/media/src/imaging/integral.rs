//! Summed-area tables (integral images): the sum of any axis-aligned rectangle in four lookups,
//! for box filters and window searches that stay O(pixels).

pub struct SummedArea {
    stride: usize,
    sums: Vec<f64>,
}

impl SummedArea {
    /// The table of `values`, row-major `width`×`height`.
    pub fn new(values: &[f32], width: usize, height: usize) -> Self {
        let stride = width + 1;
        let mut sums = vec![0f64; stride * (height + 1)];
        for y in 0..height {
            let mut row = 0f64;
            for x in 0..width {
                row += f64::from(values[y * width + x]);
                sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row;
            }
        }
        Self { stride, sums }
    }

    /// The sum over columns `x0..x1` and rows `y0..y1` (half-open).
    pub fn sum(&self, (x0, y0): (usize, usize), (x1, y1): (usize, usize)) -> f64 {
        let s = self.stride;
        self.sums[y1 * s + x1] - self.sums[y0 * s + x1] - self.sums[y1 * s + x0] + self.sums[y0 * s + x0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_any_rectangle() {
        // 3×2: 1 2 3 / 4 5 6
        let table = SummedArea::new(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
        assert_eq!(table.sum((0, 0), (3, 2)), 21.0);
        assert_eq!(table.sum((1, 0), (3, 2)), 16.0);
        assert_eq!(table.sum((2, 1), (3, 2)), 6.0);
        assert_eq!(table.sum((1, 1), (1, 2)), 0.0);
    }
}
