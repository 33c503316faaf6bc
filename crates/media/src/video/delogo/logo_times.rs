//! When a found overlay is on screen. The whole-video finder (`static_logo`) catches a logo that
//! is shown for about half the video or more, but not when; the statistics' decode then asks of
//! 5 analysis frames a second whether the box's gradients point the way the logo's average gradients
//! do (cosine similarity). The logo's own edges make them agree; the picture without it is
//! unrelated to them and scores near zero, still or moving. Searching short windows for new
//! boxes instead was tried and failed: scenery that stays still for a few seconds looks like a
//! logo there.

/// A frame shows the logo when its gradients agree with the template at least this much.
pub const PRESENT: f32 = 0.3;
/// Absences shorter than this (seconds) are misses (the logo over a matching background), not
/// the logo leaving.
const MAX_GAP: f64 = 1.0;
/// Appearances shorter than this (seconds) are chance agreement, not the logo.
const MIN_RUN: f64 = 0.5;

/// A logo box's mean gradient per pixel, in the analysis frames' pixels.
pub struct LogoTemplate {
    /// The analysis frames' width.
    pub(super) width: usize,
    /// x0, y0, x1, y1 (exclusive), inside the frame by at least one pixel.
    pub(super) area: (usize, usize, usize, usize),
    /// Row-major over `area`: (gx, gy).
    pub(super) gradient: Vec<(f32, f32)>,
}

impl LogoTemplate {
    /// How evenly the template's edges spread over orientations: the smaller over the larger
    /// eigenvalue of its structure tensor, 0 for edges that all run one way (a rim, a stripe,
    /// wood grain), towards 1 for lettering and most logos (edges every way, corners).
    pub fn orientation_spread(&self) -> f32 {
        let (mut xx, mut xy, mut yy) = (0f32, 0f32, 0f32);
        for (tx, ty) in &self.gradient {
            (xx, xy, yy) = (xx + tx * tx, xy + tx * ty, yy + ty * ty);
        }
        let (half_trace, root) = ((xx + yy) / 2.0, (((xx - yy) / 2.0).powi(2) + xy * xy).sqrt());
        let (large, small) = (half_trace + root, half_trace - root);
        if large > 0.0 { (small / large).max(0.0) } else { 0.0 }
    }

    /// Cosine similarity of the frame's gradients in the box with the template's, -1..1.
    pub fn presence(&self, pixels: &[u8]) -> f32 {
        let (x0, y0, x1, y1) = self.area;
        let (mut dot, mut frame, mut template) = (0f32, 0f32, 0f32);
        let points = (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y)));
        for ((x, y), (tx, ty)) in points.zip(&self.gradient) {
            let (gx, gy) = crate::imaging::gradients::sobel_grey(pixels, self.width, x, y);
            let (gx, gy) = (gx / 8.0, gy / 8.0);
            dot += gx * tx + gy * ty;
            frame += gx * gx + gy * gy;
            template += tx * tx + ty * ty;
        }
        dot / (frame.sqrt() * template.sqrt()).max(1e-6)
    }
}

/// The time ranges (seconds) in which the logo is shown, from per-frame presence scores taken
/// `step` seconds apart. Each range reaches half a step past its outer samples on both sides
/// plus the step's uncertainty (the logo came or went somewhere between two samples): better a
/// fraction of a second of needless removal than a logo left showing. The whole video, as one
/// range, when the logo is shown nearly throughout or never clearly.
pub fn shown(scores: &[(f64, f32)], step: f64, duration: f64) -> Vec<(f64, f64)> {
    let whole = vec![(0.0, duration)];
    let mut runs: Vec<(f64, f64)> = Vec::new();
    for (t, score) in scores {
        if *score < PRESENT {
            continue;
        }
        match runs.last_mut() {
            Some(run) if t - run.1 <= MAX_GAP + step * 0.5 => run.1 = *t,
            _ => runs.push((*t, *t)),
        }
    }
    runs.retain(|(a, b)| b - a + step >= MIN_RUN);
    let ranges: Vec<(f64, f64)> =
        runs.into_iter().map(|(a, b)| ((a - step).max(0.0), (b + step).min(duration))).collect();
    let covered: f64 = ranges.iter().map(|(a, b)| b - a).sum();
    if ranges.is_empty() || covered >= duration - 2.0 * step {
        return whole;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(present: impl Fn(f64) -> bool) -> Vec<(f64, f32)> {
        (0..50).map(|k| f64::from(k) * 0.2).map(|t| (t, if present(t) { 0.7 } else { 0.05 })).collect()
    }

    #[test]
    fn a_logo_shown_from_3_to_8_seconds_gets_that_range() {
        let ranges = shown(&scores(|t| (3.0..8.0).contains(&t)), 0.2, 10.0);
        assert_eq!(ranges.len(), 1, "{ranges:?}");
        assert!((ranges[0].0 - 2.8).abs() < 1e-9 && (ranges[0].1 - 8.0).abs() < 1e-9, "{ranges:?}");
    }

    #[test]
    fn short_misses_are_bridged_and_chance_agreement_is_ignored() {
        // Shown 2-4 s with a 0.6 s miss, a one-sample blip at 7 s, shown again 8.0-9.8 s.
        let present = |t: f64| {
            ((2.0..4.0).contains(&t) && !(2.9..3.5).contains(&t)) || (6.9..7.1).contains(&t) || t >= 7.9
        };
        let ranges = shown(&scores(present), 0.2, 10.0);
        assert_eq!(ranges.len(), 2, "{ranges:?}");
        assert!((ranges[0].0 - 1.8).abs() < 1e-9 && (ranges[1].1 - 10.0).abs() < 1e-9, "{ranges:?}");
    }

    #[test]
    fn shown_throughout_or_never_clearly_is_the_whole_video() {
        assert_eq!(shown(&scores(|_| true), 0.2, 10.0), vec![(0.0, 10.0)]);
        assert_eq!(shown(&scores(|t| t > 0.1), 0.2, 10.0), vec![(0.0, 10.0)]);
        assert_eq!(shown(&scores(|_| false), 0.2, 10.0), vec![(0.0, 10.0)]);
    }
}
