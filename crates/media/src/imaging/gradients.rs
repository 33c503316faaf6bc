//! The one Sobel operator. Callers read their own pictures (grey bytes, luma floats, one colour
//! channel) and decide what lies past the border; the kernel is here once.

/// The Sobel gradient `(gx, gy)` of the 3×3 neighbourhood `at(dx, dy)` reads, `dx` and `dy` in
/// `-1..=1`. Divide by 8 for about the step per pixel.
#[inline]
pub fn sobel(at: impl Fn(isize, isize) -> f32) -> (f32, f32) {
    let gx = at(1, -1) + 2.0 * at(1, 0) + at(1, 1) - at(-1, -1) - 2.0 * at(-1, 0) - at(-1, 1);
    let gy = at(-1, 1) + 2.0 * at(0, 1) + at(1, 1) - at(-1, -1) - 2.0 * at(0, -1) - at(1, -1);
    (gx, gy)
}

/// The Sobel gradient at an inner pixel `(x, y)` of a grey picture `w` pixels wide.
#[inline]
pub fn sobel_grey(pixels: &[u8], w: usize, x: usize, y: usize) -> (f32, f32) {
    sobel(|dx, dy| f32::from(pixels[(y as isize + dy) as usize * w + (x as isize + dx) as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vertical_edge_has_a_horizontal_gradient() {
        // 3×3: dark left column, bright right column.
        let pixels = [0u8, 50, 100, 0, 50, 100, 0, 50, 100];
        assert_eq!(sobel_grey(&pixels, 3, 1, 1), (400.0, 0.0));
        let flat = [7u8; 9];
        assert_eq!(sobel_grey(&flat, 3, 1, 1), (0.0, 0.0));
    }
}
