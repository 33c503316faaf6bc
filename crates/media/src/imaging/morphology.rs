//! Binary morphology on row-major masks.

/// Binary dilation with a (2r+1)² square, done as two separable passes.
pub fn dilate(src: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let mut tmp = vec![false; w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let mut last: Option<usize> = None;
        // Distance to the nearest set pixel on the left, then on the right.
        for x in 0..w {
            if row[x] {
                last = Some(x);
            }
            tmp[y * w + x] = last.is_some_and(|l| x - l <= r);
        }
        last = None;
        for x in (0..w).rev() {
            if row[x] {
                last = Some(x);
            }
            tmp[y * w + x] |= last.is_some_and(|l| l - x <= r);
        }
    }
    let mut out = vec![false; w * h];
    for x in 0..w {
        let mut last: Option<usize> = None;
        for y in 0..h {
            if tmp[y * w + x] {
                last = Some(y);
            }
            out[y * w + x] = last.is_some_and(|l| y - l <= r);
        }
        last = None;
        for y in (0..h).rev() {
            if tmp[y * w + x] {
                last = Some(y);
            }
            out[y * w + x] |= last.is_some_and(|l| l - y <= r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pixel_grows_into_a_square() {
        let (w, h) = (7, 5);
        let mut mask = vec![false; w * h];
        mask[2 * w + 3] = true;
        let grown = dilate(&mask, w, h, 1);
        let set: Vec<(usize, usize)> = (0..w * h).filter(|&i| grown[i]).map(|i| (i % w, i / w)).collect();
        assert_eq!(set.len(), 9);
        assert!(set.iter().all(|&(x, y)| (2..=4).contains(&x) && (1..=3).contains(&y)));
        // At the border the square is cut, not wrapped.
        let mut corner = vec![false; w * h];
        corner[0] = true;
        assert_eq!(dilate(&corner, w, h, 2).iter().filter(|&&b| b).count(), 9);
    }
}
