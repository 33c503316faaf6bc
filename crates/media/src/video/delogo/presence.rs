//! When each found overlay is on screen, asked during the removal statistics' decode (one pass
//! for both: a separate presence pass cost a reference-frame decode, ~1.3 s of the bench's 30 s
//! clip): per sample of the analysis frame, each candidate's presence score
//! (`LogoTemplate::presence`), whether it stays put while the camera moves (`steady`), and the
//! camera's motion for the fill from other frames (`camera_fill`).
//!
//! The statistics want only the frames that surely show the overlay, which the ranges say only
//! at the end. A frame is taken when every sample within [`MARGIN`] of it shows the overlay,
//! which needs the samples a moment ahead: the statistics hold a few frames back until then.

use iprod_core::params::LogoBox;

use super::Logo;
use super::camera_fill::CameraTrack;
use super::logo_times::{self, LogoTemplate, PRESENT};
use super::steady::{RecentFrames, Steadiness};

/// The analysis frame is sampled this many times a second: the ranges' ends are this precise.
pub const PRESENCE_FPS: f64 = 5.0;

/// Whether a found box stays put is asked of samples this many steps apart (a second at 5 a
/// second).
const STEADINESS_SPAN: usize = 5;

/// A frame counts towards an overlay's statistics when every sample within this many seconds
/// either side shows it: the ranges' ends are a sampling step uncertain, and a few frames
/// without the overlay among those with it would add the picture's whole contrast to its spread.
pub const MARGIN: f64 = 0.3;

/// An overlay found by the analysis (a box and its mean gradients), not yet known to stay put or
/// when it is shown.
pub struct Candidate {
    pub area: LogoBox,
    pub template: LogoTemplate,
}

/// The presence of each candidate, sample by sample, and the camera's motion.
pub struct PresenceWatch {
    candidates: Vec<Candidate>,
    scores: Vec<Vec<(f64, f32)>>,
    steadiness: Vec<Steadiness>,
    recent: RecentFrames,
    camera: CameraTrack,
    /// Seconds between samples.
    step: f64,
}

impl PresenceWatch {
    /// Watches `candidates` on analysis frames of `size` (no candidates: the camera alone, as
    /// for given boxes).
    pub fn new(candidates: Vec<Candidate>, size: (usize, usize)) -> Self {
        let n = candidates.len();
        Self {
            candidates,
            scores: vec![Vec::new(); n],
            steadiness: vec![Steadiness::default(); n],
            recent: RecentFrames::new(STEADINESS_SPAN, size.0),
            camera: CameraTrack::new(size),
            step: 1.0 / PRESENCE_FPS,
        }
    }

    /// The samples come `step` seconds apart (the decode's rate, divided down).
    pub fn sampled_every(&mut self, step: f64) {
        self.step = step;
    }

    /// The analysis frames' size.
    pub fn frame_size(&self) -> (usize, usize) {
        self.camera.size
    }

    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// The analysis frame at `time`: each candidate's score, and the camera's motion (~3 ms).
    pub fn sample(&mut self, time: f64, pixels: &[u8]) {
        self.camera.samples.push((time, self.recent.push(pixels)));
        let baseline = self.recent.baseline();
        for ((candidate, scores), steadiness) in
            self.candidates.iter().zip(&mut self.scores).zip(&mut self.steadiness)
        {
            let template = &candidate.template;
            scores.push((time, template.presence(pixels)));
            // Asked only while the box shows what was found, at both ends of the baseline.
            let shown = |back: usize| scores.iter().rev().nth(back).is_some_and(|s| s.1 >= PRESENT);
            if let Some((from, to, camera)) = baseline.filter(|_| shown(0) && shown(STEADINESS_SPAN)) {
                steadiness.add(template, (from, to), &camera);
            }
        }
    }

    /// Whether candidate `i` surely shows at `time`: `None` until the samples [`MARGIN`] ahead
    /// are in, unless `ended` (the video ended: the samples there are all there will be).
    pub fn surely_shown(&self, i: usize, time: f64, ended: bool) -> Option<bool> {
        let scores = &self.scores[i];
        let latest = scores.last().map_or(f64::NEG_INFINITY, |s| s.0);
        if !ended && latest < time + MARGIN {
            return None;
        }
        let from = scores.partition_point(|s| s.0 < time - MARGIN);
        let near = scores[from..].iter().take_while(|s| s.0 <= time + MARGIN);
        let mut any = false;
        for s in near {
            if s.1 < PRESENT {
                return Some(false);
            }
            any = true;
        }
        Some(any)
    }

    /// The candidates as logos with the ranges they are shown in (`None`: an edge of the
    /// picture that slides with the camera, not an overlay), and the camera's track.
    pub fn finish(self, duration: f64) -> (Vec<Option<Logo>>, CameraTrack) {
        let step = self.step;
        let logos = self
            .candidates
            .into_iter()
            .zip(&self.scores)
            .zip(&self.steadiness)
            .map(|((candidate, scores), steadiness)| {
                (!steadiness.slides_with_the_camera(&candidate.template))
                    .then(|| Logo { area: candidate.area, shown: logo_times::shown(scores, step, duration) })
            })
            .collect();
        (logos, self.camera)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20×20 frame with a bright square in the middle, or flat.
    fn frame(square: bool) -> Vec<u8> {
        (0..400)
            .map(|i| {
                let (x, y) = (i % 20, i / 20);
                if square && (6..14).contains(&x) && (6..14).contains(&y) { 230 } else { 40 }
            })
            .collect()
    }

    fn watch() -> PresenceWatch {
        let gradient = {
            let f = frame(true);
            (4..16)
                .flat_map(|y| (4..16).map(move |x| (x, y)))
                .map(|(x, y)| {
                    let (gx, gy) = crate::imaging::gradients::sobel_grey(&f, 20, x, y);
                    (gx / 8.0, gy / 8.0)
                })
                .collect()
        };
        let template = LogoTemplate { width: 20, area: (4, 4, 16, 16), gradient };
        let area = LogoBox { x: 0.2, y: 0.2, width: 0.6, height: 0.6 };
        PresenceWatch::new(vec![Candidate { area, template }], (20, 20))
    }

    #[test]
    fn frames_are_taken_only_well_inside_the_time_the_overlay_shows() {
        // Shown from 2.0 s to 4.0 s of 6 s, sampled every 0.2 s.
        let mut w = watch();
        let times: Vec<f64> = (0..30).map(|k| f64::from(k) * 0.2).collect();
        let shown = |t: f64| (1.99..4.01).contains(&t);
        for t in &times {
            w.sample(*t, &frame(shown(*t)));
        }
        assert_eq!(w.surely_shown(0, 3.0, false), Some(true));
        // Within the margin of the sample before it appeared, or after it went.
        assert_eq!(w.surely_shown(0, 2.05, false), Some(false));
        assert_eq!(w.surely_shown(0, 3.95, false), Some(false));
        assert_eq!(w.surely_shown(0, 1.0, false), Some(false));
        // At the end, only what was sampled decides.
        assert_eq!(w.surely_shown(0, 5.9, false), None);
        assert_eq!(w.surely_shown(0, 5.9, true), Some(false));
        let (logos, camera) = w.finish(6.0);
        let logo = logos[0].as_ref().expect("kept");
        assert_eq!(logo.shown.len(), 1, "{:?}", logo.shown);
        assert!((logo.shown[0].0 - 1.8).abs() < 1e-9 && (logo.shown[0].1 - 4.2).abs() < 1e-9);
        assert_eq!(camera.samples.len(), 30);
    }

    #[test]
    fn a_frame_is_decided_once_the_samples_past_its_margin_are_in() {
        let mut w = watch();
        for k in 0..3 {
            w.sample(f64::from(k) * 0.2, &frame(true));
        }
        // Samples up to 0.4 s: a frame at 0.05 s is decided, one at 0.2 s waits for 0.5 s.
        assert_eq!(w.surely_shown(0, 0.05, false), Some(true));
        assert_eq!(w.surely_shown(0, 0.2, false), None);
    }
}
