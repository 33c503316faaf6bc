//! Whether a found box stays put while the camera moves, as an overlay does, or is an edge of
//! the picture that the camera slides along itself. The whole-video statistics take edges that
//! do not change, and in a slow zoom or pan such an edge (a cup's rim, wood grain, the frame of
//! a window) does not change either: two of them were found in a slow zoom over a photo. Two
//! things give it away:
//! - its edges all run one way ([`LogoTemplate::orientation_spread`] 0.03–0.07 on the false
//!   boxes of two zooms; 0.35–0.73 on lettering, a faint ident and a badge): only such an edge
//!   can slide along itself;
//! - between two analysis frames a second apart, with the camera's motion measured from the
//!   whole picture, its pixels match better where the camera took them than where they were
//!   (weighted by the box's mean gradient, so its own edges decide).
//!
//! The second alone is not enough: behind a faint ident the footage is most of what the box
//! holds, and it moves with the camera (the ident at 55 % over bikes.mp4 matched better moved,
//! 0.62 of left in place). Lettering and logos have edges every way, and are kept.

use std::collections::VecDeque;

use super::logo_times::LogoTemplate;
use crate::imaging::motion::{CameraMotion, Grey, estimate};

/// The camera must move the box at least this far (analysis pixels) between the two frames for
/// them to tell anything (a slow zoom moves a point near a corner by ~0.5 px between frames
/// 0.2 s apart: too little to tell; a second apart, enough).
const MIN_SHIFT: f32 = 1.0;
/// This many such pairs of frames, while the box shows its content, are needed to decide.
const MIN_PAIRS: usize = 4;
/// The box follows the camera when its pixels, moved with the camera, differ by less than this
/// share of what they differ left in place (0.26–0.36 on the false boxes of two zooms; a badge
/// and lettering over a pan or zoom differ 10–27× more moved than in place).
const FOLLOWS: f32 = 0.7;
/// Edges this unevenly spread over orientations run one way (see the module's note).
const ONE_WAY: f32 = 0.15;

/// The evidence for one box over the video.
#[derive(Debug, Default, Clone)]
pub struct Steadiness {
    pairs: usize,
    /// Weighted differences: left in place, and moved with the camera.
    in_place: f32,
    with_camera: f32,
}

impl Steadiness {
    /// Adds the pair `from` → `to` of `w`-wide analysis frames, between which the camera moved
    /// by `motion`.
    pub fn add(&mut self, template: &LogoTemplate, (from, to): (&[u8], &[u8]), motion: &CameraMotion) {
        let (x0, y0, x1, y1) = template.area;
        let w = template.width;
        let h = from.len() / w.max(1);
        let centre = ((x0 + x1) as f32 / 2.0, (y0 + y1) as f32 / 2.0);
        let (dx, dy) = motion.displacement(centre, (w, h));
        if dx.hypot(dy) < MIN_SHIFT {
            return;
        }
        let before = Grey { pixels: from, width: w, height: h };
        let points = (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y)));
        let (mut in_place, mut with_camera) = (0.0, 0.0);
        for ((x, y), (tx, ty)) in points.zip(&template.gradient) {
            let weight = tx.hypot(*ty);
            let now = f32::from(to[y * w + x]);
            let (dx, dy) = motion.displacement((x as f32, y as f32), (w, h));
            in_place += weight * (now - f32::from(from[y * w + x])).abs();
            with_camera += weight * (now - before.sample(x as f32 - dx, y as f32 - dy)).abs();
        }
        self.pairs += 1;
        self.in_place += in_place;
        self.with_camera += with_camera;
    }

    /// Whether the box's pixels move with the camera.
    pub fn follows_camera(&self) -> bool {
        self.pairs >= MIN_PAIRS && self.with_camera < FOLLOWS * self.in_place
    }

    /// Whether the box (with `template`, its mean gradient) is an edge of the picture sliding
    /// along itself as the camera moves, not an overlay.
    pub fn slides_with_the_camera(&self, template: &LogoTemplate) -> bool {
        runs_one_way(template) && self.follows_camera()
    }
}

/// Whether the box's edges run one way: only then can they slide along themselves.
fn runs_one_way(template: &LogoTemplate) -> bool {
    template.orientation_spread() < ONE_WAY
}

/// The last frames, each with the camera's motion from it to the newest: a baseline of a second
/// or so from frame-to-frame estimates, which stay small enough to match. A cut (no estimate)
/// clears the motions across it.
pub struct RecentFrames {
    frames: VecDeque<(Vec<u8>, Option<CameraMotion>)>,
    /// How many frames back the baseline reaches.
    span: usize,
    width: usize,
}

impl RecentFrames {
    pub fn new(span: usize, width: usize) -> Self {
        Self { frames: VecDeque::with_capacity(span + 1), span: span.max(1), width }
    }

    /// Adds the newest frame; the camera's motion from the one before, when it is known.
    pub fn push(&mut self, pixels: &[u8]) -> Option<CameraMotion> {
        let grey = |pixels| Grey { pixels, width: self.width, height: pixels.len() / self.width.max(1) };
        let step = self.frames.back().and_then(|(last, _)| estimate(grey(last), grey(pixels)));
        for (_, motion) in &mut self.frames {
            *motion = motion.zip(step).map(|(m, step)| m.then(&step));
        }
        // The oldest frame's buffer is reused for the newest.
        let mut buffer = match self.frames.len() > self.span {
            true => self.frames.pop_front().map(|(b, _)| b).unwrap_or_default(),
            false => Vec::new(),
        };
        buffer.clear();
        buffer.extend_from_slice(pixels);
        self.frames.push_back((buffer, Some(CameraMotion::STILL)));
        step
    }

    /// The frame `span` frames back, and the camera's motion from it to the newest.
    pub fn baseline(&self) -> Option<(&[u8], &[u8], CameraMotion)> {
        if self.frames.len() <= self.span {
            return None;
        }
        let (oldest, motion) = self.frames.front()?;
        Some((oldest, &self.frames.back()?.0, (*motion)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 120×80 frame of diagonal stripes panned by `shift` pixels, with a fixed bright square
    /// (the overlay) at 80..100 × 10..30 when `overlay`.
    fn frame(shift: f32, overlay: bool) -> Vec<u8> {
        (0..120 * 80)
            .map(|i| {
                let (x, y) = ((i % 120) as f32, (i / 120) as f32);
                if overlay && (80.0..100.0).contains(&x) && (10.0..30.0).contains(&y) {
                    return if (84.0..96.0).contains(&x) && (14.0..26.0).contains(&y) { 240 } else { 20 };
                }
                (128.0 + 80.0 * ((x - shift) * 0.3 + y * 0.2).sin()) as u8
            })
            .collect()
    }

    /// The box 78..102 × 8..32 with the mean gradient of the given frames.
    fn template(frames: &[Vec<u8>]) -> LogoTemplate {
        let (x0, y0, x1, y1) = (78, 8, 102, 32);
        let gradient = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .map(|(x, y)| {
                let sum = frames.iter().fold((0.0, 0.0), |(sx, sy), f| {
                    let (gx, gy) = crate::imaging::gradients::sobel_grey(f, 120, x, y);
                    (sx + gx / 8.0, sy + gy / 8.0)
                });
                (sum.0 / frames.len() as f32, sum.1 / frames.len() as f32)
            })
            .collect();
        LogoTemplate { width: 120, area: (x0, y0, x1, y1), gradient }
    }

    #[test]
    fn an_overlay_over_a_pan_stays_and_the_panned_picture_follows() {
        let pan = CameraMotion { scale: 1.0, dx: 1.5, dy: 0.0 };
        for (overlay, follows) in [(true, false), (false, true)] {
            let frames: Vec<Vec<u8>> = (0..8).map(|k| frame(1.5 * k as f32, overlay)).collect();
            let template = template(&frames);
            let mut steadiness = Steadiness::default();
            for pair in frames.windows(2) {
                steadiness.add(&template, (&pair[0], &pair[1]), &pan);
            }
            assert_eq!(steadiness.follows_camera(), follows, "overlay {overlay}: {steadiness:?}");
            // The stripes run one way and slide with the camera; the square has edges both ways.
            assert_eq!(steadiness.slides_with_the_camera(&template), follows, "overlay {overlay}");
        }
        // A still camera tells nothing: the box is kept.
        let still = CameraMotion { scale: 1.0, dx: 0.0, dy: 0.0 };
        let frames: Vec<Vec<u8>> = (0..8).map(|_| frame(0.0, false)).collect();
        let mut steadiness = Steadiness::default();
        for pair in frames.windows(2) {
            steadiness.add(&template(&frames), (&pair[0], &pair[1]), &still);
        }
        assert!(!steadiness.follows_camera());
    }
}
