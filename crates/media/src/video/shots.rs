//! Shot boundaries (hard cuts), as PySceneDetect's adaptive detector does it: a per-frame content
//! change score, compared with the scores around it rather than with one global threshold, so a
//! cut in a calm scene and a cut in a busy, shaky one are both found and camera motion is not.
//!
//! The score mixes the change of local grey histograms (4×4 cells, 16 bins: robust to motion
//! within the cells) and of a 16×9 thumbnail (catches cuts between shots of similar tones).

/// Summary of one analysis frame: what the score compares.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSignature {
    histograms: Vec<f32>,
    thumbnail: Vec<f32>,
}

const GRID: usize = 4;
const BINS: usize = 16;
const THUMB_W: usize = 16;
const THUMB_H: usize = 9;

impl FrameSignature {
    pub fn of(pixels: &[u8], width: usize, height: usize) -> Self {
        let mut histograms = vec![0f32; GRID * GRID * BINS];
        let mut thumbnail = vec![0f32; THUMB_W * THUMB_H];
        let mut thumb_count = vec![0u32; THUMB_W * THUMB_H];
        // Every frame goes through here: the cell of each column is looked up, not divided.
        let cell_x: Vec<usize> = (0..width).map(|x| x * GRID / width).collect();
        let thumb_x: Vec<usize> = (0..width).map(|x| x * THUMB_W / width).collect();
        for (y, row) in pixels.chunks_exact(width).take(height).enumerate() {
            let (cell_row, thumb_row) = ((y * GRID / height) * GRID, (y * THUMB_H / height) * THUMB_W);
            for ((v, cx), tx) in row.iter().zip(&cell_x).zip(&thumb_x) {
                histograms[(cell_row + cx) * BINS + usize::from(*v) * BINS / 256] += 1.0;
                thumbnail[thumb_row + tx] += f32::from(*v);
                thumb_count[thumb_row + tx] += 1;
            }
        }
        let per_cell = (width * height) as f32 / (GRID * GRID) as f32;
        histograms.iter_mut().for_each(|h| *h /= per_cell.max(1.0));
        thumbnail.iter_mut().zip(&thumb_count).for_each(|(t, n)| *t /= (*n).max(1) as f32 * 255.0);
        Self { histograms, thumbnail }
    }

    /// The signature of an RGB picture, from its luma.
    pub fn of_rgb(image: &image::RgbImage) -> Self {
        let luma: Vec<u8> = image
            .pixels()
            .map(|p| ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000) as u8)
            .collect();
        Self::of(&luma, image.width() as usize, image.height() as usize)
    }

    /// How different two frames are, 0 (same) to 1 (nothing alike).
    pub fn distance(&self, other: &Self) -> f32 {
        let hist = self.histograms.iter().zip(&other.histograms).map(|(a, b)| (a - b).abs()).sum::<f32>()
            / (2.0 * (GRID * GRID) as f32);
        let thumb = self.thumbnail.iter().zip(&other.thumbnail).map(|(a, b)| (a - b).abs()).sum::<f32>()
            / (THUMB_W * THUMB_H) as f32;
        0.5 * hist + 0.5 * (thumb * 4.0).min(1.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShotSettings {
    /// A cut's score must be this many times the average score of the frames around it.
    pub ratio: f32,
    /// …and at least this in absolute terms (a flicker in a static scene is not a cut).
    pub min_score: f32,
    /// Frames on each side that make up "around".
    pub window: usize,
    /// Shorter shots are merged into the previous one (seconds).
    pub min_shot: f64,
}

impl Default for ShotSettings {
    fn default() -> Self {
        Self { ratio: 3.0, min_score: 0.1, window: 6, min_shot: 0.5 }
    }
}

/// Collects the per-frame change scores while frames stream by (three floats per frame).
#[derive(Default)]
pub struct ShotDetector {
    /// The first three and the last three frames' signatures (newest last): what joining two
    /// detectors of consecutive parts needs.
    first: Vec<FrameSignature>,
    recent: Vec<FrameSignature>,
    /// (time of the frame, its change score against the previous frame).
    scores: Vec<(f64, f32)>,
    /// Per frame, its distance to the frames two and three back: small right after a flash,
    /// when the picture comes back to what it was.
    returns: Vec<[f32; 2]>,
}

/// A flash lasts at most this many frames.
const FLASH_FRAMES: usize = 2;

impl ShotDetector {
    pub fn push(&mut self, time: f64, pixels: &[u8], width: usize, height: usize) {
        let signature = FrameSignature::of(pixels, width, height);
        let back = |k: usize| {
            self.recent.len().checked_sub(k).map_or(f32::MAX, |i| self.recent[i].distance(&signature))
        };
        self.scores.push((time, if self.recent.is_empty() { 0.0 } else { back(1) }));
        self.returns.push([back(2), back(3)]);
        if self.first.len() < 3 {
            self.first.push(signature.clone());
        }
        if self.recent.len() == 3 {
            self.recent.remove(0);
        }
        self.recent.push(signature);
    }

    /// Continues this detector with `next`, the detector of the frames right after its own
    /// (e.g. the second half of a video decoded at the same time): the result is what one
    /// detector over all the frames would hold.
    pub fn join(mut self, next: ShotDetector) -> ShotDetector {
        let before = self.recent.len();
        {
            // Only `next`'s first frames look back past its start, into `self`'s last ones.
            let window: Vec<&FrameSignature> = self.recent.iter().chain(&next.first).collect();
            for (j, (mut score, mut returns)) in next.scores.into_iter().zip(next.returns).enumerate() {
                if j < next.first.len() {
                    let at = before + j;
                    let back =
                        |k: usize| at.checked_sub(k).map_or(f32::MAX, |i| window[i].distance(window[at]));
                    if before > 0 {
                        score.1 = back(1);
                    }
                    returns = [back(2), back(3)];
                }
                self.scores.push(score);
                self.returns.push(returns);
            }
        }
        if self.first.len() < 3 {
            let missing = 3 - self.first.len();
            self.first.extend(next.first.iter().take(missing).cloned());
        }
        let mut recent: Vec<FrameSignature> = self.recent.into_iter().chain(next.recent).collect();
        let keep = recent.len().saturating_sub(3);
        self.recent = recent.split_off(keep);
        self
    }

    /// Whether the change at frame `t` is undone within [`FLASH_FRAMES`] (a photo flash, a
    /// one-frame glitch), or itself undoes one, rather than a new shot.
    fn is_flash(&self, t: usize) -> bool {
        let score = self.scores[t].1;
        let undone =
            (1..=FLASH_FRAMES).any(|k| self.returns.get(t + k).is_some_and(|r| r[k - 1] < 0.3 * score));
        let undoes = self.returns[t].iter().any(|r| *r < 0.3 * score);
        undone || undoes
    }
    /// Whether a frame after `since` (seconds) changed as a cut does, judged from the frames
    /// seen so far: its score is at least `min_score` and `ratio` times the mean of the
    /// `window` scores before it. The final [`cuts`](Self::cuts) also look ahead; this is for
    /// decisions that cannot wait for the end of the pass.
    pub fn changed_since(&self, since: f64, settings: &ShotSettings) -> bool {
        let first = self.scores.partition_point(|(t, _)| *t <= since).max(1);
        (first..self.scores.len()).any(|i| {
            let before = &self.scores[i.saturating_sub(settings.window)..i];
            let mean = before.iter().map(|s| s.1).sum::<f32>() / before.len().max(1) as f32;
            let score = self.scores[i].1;
            score >= settings.min_score && score >= settings.ratio * mean
        })
    }

    pub fn scores(&self) -> &[(f64, f32)] {
        &self.scores
    }

    /// The times (seconds) at which new shots start, after the first.
    pub fn cuts(&self, settings: &ShotSettings) -> Vec<f64> {
        let s = &self.scores;
        let mut cuts: Vec<f64> = Vec::new();
        for t in 1..s.len() {
            let score = s[t].1;
            if score < settings.min_score {
                continue;
            }
            let (lo, hi) = (t.saturating_sub(settings.window), (t + settings.window + 1).min(s.len()));
            // The frames right next to a cut can be transition frames: leave them out.
            let around: Vec<f32> = (lo..hi).filter(|i| i.abs_diff(t) > 1 && *i > 0).map(|i| s[i].1).collect();
            let local = around.iter().sum::<f32>() / around.len().max(1) as f32;
            let is_peak = (lo.max(1)..hi).all(|i| i == t || s[i].1 <= score);
            if is_peak && score >= settings.ratio * local.max(0.01) && !self.is_flash(t) {
                match cuts.last() {
                    Some(last) if s[t].0 - last < settings.min_shot => {}
                    _ => cuts.push(s[t].0),
                }
            }
        }
        cuts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(level: u8, stripe: usize) -> Vec<u8> {
        (0..64 * 36).map(|i| if (i % 64) / 8 == stripe { 255 } else { level }).collect()
    }

    #[test]
    fn a_change_as_large_as_a_cut_is_seen_as_it_comes() {
        let mut detector = ShotDetector::default();
        for n in 0..10 {
            detector.push(n as f64 * 0.04, &frame(if n < 6 { 40 } else { 200 }, n / 3), 64, 36);
        }
        let settings = ShotSettings::default();
        assert!(
            detector.changed_since(0.1, &settings),
            "the cut at frame 6 (0.24 s): {:?}",
            detector.scores()
        );
        assert!(!detector.changed_since(0.3, &settings), "nothing after it");
    }

    #[test]
    fn a_hard_cut_is_found_and_motion_is_not() {
        let mut d = ShotDetector::default();
        // Shot 1: a bright stripe moving right over grey; shot 2 (from frame 12): dark.
        for i in 0..24 {
            let pixels = if i < 12 { frame(90, i % 8) } else { frame(20, (i / 3) % 8) };
            d.push(i as f64 / 10.0, &pixels, 64, 36);
        }
        assert_eq!(d.cuts(&ShotSettings::default()), vec![1.2]);
    }

    #[test]
    fn a_flash_is_not_a_cut() {
        let mut d = ShotDetector::default();
        // A steady scene with a white frame at 10 and a two-frame flash at 20-21.
        for i in 0..30 {
            let pixels = if i == 10 || i == 20 || i == 21 { vec![255; 64 * 36] } else { frame(90, i % 8) };
            d.push(i as f64 / 10.0, &pixels, 64, 36);
        }
        assert!(d.cuts(&ShotSettings::default()).is_empty(), "{:?}", d.cuts(&ShotSettings::default()));
    }

    #[test]
    fn two_joined_halves_score_as_one_pass() {
        let frames: Vec<Vec<u8>> =
            (0..24).map(|i| if i < 12 { frame(90, i % 8) } else { frame(20, (i / 3) % 8) }).collect();
        let mut whole = ShotDetector::default();
        let (mut a, mut b) = (ShotDetector::default(), ShotDetector::default());
        for (i, pixels) in frames.iter().enumerate() {
            let t = i as f64 / 10.0;
            whole.push(t, pixels, 64, 36);
            if i < 11 { a.push(t, pixels, 64, 36) } else { b.push(t, pixels, 64, 36) }
        }
        let joined = a.join(b);
        assert_eq!(joined.scores, whole.scores);
        assert_eq!(joined.returns, whole.returns);
        assert_eq!(joined.cuts(&ShotSettings::default()), vec![1.2]);
    }

    #[test]
    fn identical_frames_are_distance_zero() {
        let f = FrameSignature::of(&frame(50, 2), 64, 36);
        assert_eq!(f.distance(&f), 0.0);
    }
}
