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
    let (label, count) = labels(mask, w, h);
    let mut out = vec![(w, h, 0, 0, 0); count];
    for (i, &l) in label.iter().enumerate().filter(|(_, l)| **l != usize::MAX) {
        let (x, y) = (i % w, i / w);
        let (x0, y0, x1, y1, n) = out[l];
        out[l] = (x0.min(x), y0.min(y), x1.max(x), y1.max(y), n + 1);
    }
    out
}

/// Each pixel's connected component of `mask` (4-connected), numbered in the order their first
/// pixels come, `usize::MAX` off the mask; and how many there are.
pub fn labels(mask: &[bool], w: usize, h: usize) -> (Vec<usize>, usize) {
    let mut label = vec![usize::MAX; w * h];
    let mut count = 0;
    for start in 0..w * h {
        if !mask[start] || label[start] != usize::MAX {
            continue;
        }
        label[start] = count;
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < w).then(|| i + 1),
                (y > 0).then(|| i - w),
                (y + 1 < h).then(|| i + w),
            ];
            for j in neighbours.into_iter().flatten() {
                if mask[j] && label[j] == usize::MAX {
                    label[j] = count;
                    stack.push(j);
                }
            }
        }
        count += 1;
    }
    (label, count)
}

/// The least (`largest` false) or largest value over a (2r+1)² square around each value, as two
/// separable passes; the square is cut at the border. Each pass costs the same whatever `r`
/// (van Herk / Gil-Werman: running extremes within blocks of the window's length).
pub fn extreme(src: &[f32], w: usize, h: usize, r: usize, largest: bool) -> Vec<f32> {
    let mut rows = vec![0.0; w * h];
    let mut line = Vec::with_capacity(w.max(h));
    let mut out_line = vec![0.0; w.max(h)];
    for y in 0..h {
        sliding(&src[y * w..(y + 1) * w], r, largest, &mut out_line[..w]);
        rows[y * w..(y + 1) * w].copy_from_slice(&out_line[..w]);
    }
    let mut out = vec![0.0; w * h];
    for x in 0..w {
        line.clear();
        line.extend((0..h).map(|y| rows[y * w + x]));
        sliding(&line, r, largest, &mut out_line[..h]);
        for y in 0..h {
            out[y * w + x] = out_line[y];
        }
    }
    out
}

/// The extreme of `line` over `[i − r, i + r]` (cut at the ends) into `out[i]`.
fn sliding(line: &[f32], r: usize, largest: bool, out: &mut [f32]) {
    let pick = |a: f32, b: f32| if largest { a.max(b) } else { a.min(b) };
    let neutral = if largest { f32::NEG_INFINITY } else { f32::INFINITY };
    let (n, k) = (line.len(), 2 * r + 1);
    // The line padded with r neutral values at each end, in blocks of k.
    let m = n + 2 * r;
    let at = |j: usize| if j < r || j >= r + n { neutral } else { line[j - r] };
    let mut from_start = vec![neutral; m];
    let mut to_end = vec![neutral; m];
    for j in 0..m {
        from_start[j] = if j % k == 0 { at(j) } else { pick(from_start[j - 1], at(j)) };
    }
    for j in (0..m).rev() {
        to_end[j] = if j % k == k - 1 || j == m - 1 { at(j) } else { pick(to_end[j + 1], at(j)) };
    }
    // The window [i, i + 2r] of the padded line spans the end of one block and the start of the next.
    for (i, o) in out.iter_mut().enumerate().take(n) {
        *o = pick(to_end[i], from_start[i + 2 * r]);
    }
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

    #[test]
    fn the_running_extreme_matches_the_square_it_stands_for() {
        let (w, h) = (23, 17);
        let src: Vec<f32> = (0..w * h).map(|i| ((i * 7919) % 101) as f32).collect();
        for r in [0, 1, 3, 8, 30] {
            for largest in [false, true] {
                let fast = extreme(&src, w, h, r, largest);
                for y in 0..h {
                    for x in 0..w {
                        let square = (y.saturating_sub(r)..(y + r + 1).min(h))
                            .flat_map(|yy| (x.saturating_sub(r)..(x + r + 1).min(w)).map(move |xx| (xx, yy)))
                            .map(|(xx, yy)| src[yy * w + xx]);
                        let want = if largest {
                            square.fold(f32::MIN, f32::max)
                        } else {
                            square.fold(f32::MAX, f32::min)
                        };
                        assert_eq!(fast[y * w + x], want, "r {r} largest {largest} at ({x}, {y})");
                    }
                }
            }
        }
    }
}
