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

/// Connected components (4-connected): (x0, y0, x1, y1 inclusive, pixel count).
pub fn components(mask: &[bool], w: usize, h: usize) -> Vec<(usize, usize, usize, usize, usize)> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for start in 0..w * h {
        if !mask[start] || seen[start] {
            continue;
        }
        let (mut x0, mut y0, mut x1, mut y1, mut n) = (w, h, 0, 0, 0);
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1, n) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y), n + 1);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < w).then(|| i + 1),
                (y > 0).then(|| i - w),
                (y + 1 < h).then(|| i + w),
            ];
            for j in neighbours.into_iter().flatten() {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        out.push((x0, y0, x1, y1, n));
    }
    out
}

/// The least (`largest` false) or largest value over a (2r+1)² square around each value, as two
/// separable passes; the square is cut at the border.
pub fn extreme(src: &[f32], w: usize, h: usize, r: usize, largest: bool) -> Vec<f32> {
    let pick = |a: f32, b: f32| if largest { a.max(b) } else { a.min(b) };
    let mut tmp = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let row = &src[y * w + x.saturating_sub(r)..y * w + (x + r + 1).min(w)];
            tmp[y * w + x] = row.iter().copied().reduce(pick).unwrap_or(0.0);
        }
    }
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = (y.saturating_sub(r)..(y + r + 1).min(h))
                .map(|yy| tmp[yy * w + x])
                .reduce(pick)
                .unwrap_or(0.0);
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
