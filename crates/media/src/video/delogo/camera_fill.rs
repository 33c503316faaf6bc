//! Filling an opaque logo with the background that other frames reveal, where the camera moves.
//! Under a logo that stays put on screen, a panning or zooming camera carries the picture along:
//! the part the logo hides at time t is in view, beside the logo, a moment earlier or later.
//! From the camera's motion (measured in the statistics' decode, 5 frames a second), each frame's
//! box is taken from the frame `shift` seconds away, at the place the camera moved that part of
//! the picture to: the picture itself, where `delogo` can only interpolate from the box's edges.
//!
//! The render does it in the same ffmpeg pass: the source opened a second time, `shift` seconds
//! ahead (`-ss`) or behind (`-itsoffset`), so each decoder keeps pace with the output and no
//! frames queue up; `crop` moved per frame by a `sendcmd` script; `overlay` onto the box, over
//! the `delogo` fill, enabled only while the moved box is inside the frame and clear of every
//! logo. Elsewhere (a still camera, across a cut, the video's ends) the `delogo` fill stays.

use iprod_core::{Error, Result};

use super::Logo;
use crate::imaging::geometry::PixelBox;
use crate::imaging::motion::CameraMotion;
use crate::video::info::VideoInfo;

/// The shifts tried (seconds, either way, rounded to whole samples): the smallest that reveals
/// the most is taken (the picture changes less over a shorter time, and the chained motion
/// drifts less).
const SHIFTS: [f64; 6] = [0.4, 0.8, 1.2, 1.6, 2.0, 2.4];
/// The moved box keeps at least this far (source pixels) from every logo's box.
const CLEARANCE: f64 = 4.0;
/// A fill from other frames is used when it covers at least this share of the logo's samples.
const MIN_COVERAGE: f64 = 0.25;
/// Stretches shorter than this (seconds) are left to `delogo`: a patch flickering in and out
/// would show more than it hides.
const MIN_RUN: f64 = 0.4;

/// The camera's motion over the video, from the statistics' decode: per sample, its time and the
/// motion from the sample before (`None` for the first, across a cut, or on a picture without
/// texture).
#[derive(Debug, Clone, Default)]
pub struct CameraTrack {
    pub samples: Vec<(f64, Option<CameraMotion>)>,
    /// The analysis frames' size.
    pub size: (usize, usize),
}

impl CameraTrack {
    /// An empty track for analysis frames of `size`.
    pub fn new(size: (usize, usize)) -> Self {
        Self { samples: Vec::new(), size }
    }

    /// Where the camera took the point `at` (source pixels) of sample `i` by sample `j`, for a
    /// `width`-wide source; `None` when a step between them is unknown.
    fn moved(&self, i: usize, j: usize, at: (f64, f64), width: u32) -> Option<(f64, f64)> {
        let factor = f64::from(width) / self.size.0.max(1) as f64;
        let (lo, hi) = (i.min(j), i.max(j));
        let mut motion = CameraMotion::STILL;
        for step in self.samples.get(lo + 1..=hi)? {
            motion = motion.then(&step.1?);
        }
        // About the analysis frame's centre, in analysis pixels: the same zoom, the pan scaled.
        let (cx, cy) = (self.size.0 as f64 / 2.0 * factor, self.size.1 as f64 / 2.0 * factor);
        let (s, dx, dy) =
            (f64::from(motion.scale), f64::from(motion.dx) * factor, f64::from(motion.dy) * factor);
        Some(if j >= i {
            (cx + s * (at.0 - cx) + dx, cy + s * (at.1 - cy) + dy)
        } else {
            (cx + (at.0 - cx - dx) / s, cy + (at.1 - cy - dy) / s)
        })
    }
}

/// Per sample, where the box's picture is in the frame `shift` seconds away (its top-left
/// corner, source pixels), when it can be taken from there.
type Place = Option<(f64, f64)>;

/// One logo's fill from other frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// Seconds from each frame to the frame its box is taken from (negative: earlier).
    pub shift: f64,
    /// The `sendcmd` script moving `crop@patch{n}` (its x and y) per frame.
    pub commands: String,
    /// Where the crop starts.
    pub first: (u32, u32),
    /// When the fill from other frames is laid over the box (seconds).
    pub ranges: Vec<(f64, f64)>,
}

impl Patch {
    /// The overlay's `enable` expression.
    pub fn enable(&self) -> String {
        super::removal::between(&self.ranges)
    }
}

/// For each logo (`fill`: the ones `delogo` fills), the fill from other frames, where the camera
/// reveals what it hides for long enough.
pub fn plan(
    track: &CameraTrack,
    logos: &[(Logo, PixelBox)],
    fill: &[bool],
    info: &VideoInfo,
) -> Vec<Option<Patch>> {
    logos
        .iter()
        .zip(fill)
        .enumerate()
        .map(|(n, ((logo, pixels), fill))| {
            fill.then(|| best_patch(track, n, (logo, *pixels), logos, info)).flatten()
        })
        .collect()
}

fn best_patch(
    track: &CameraTrack,
    n: usize,
    (logo, pixels): (&Logo, PixelBox),
    logos: &[(Logo, PixelBox)],
    info: &VideoInfo,
) -> Option<Patch> {
    let shown: Vec<usize> = (0..track.samples.len())
        .filter(|i| logo.shown.iter().any(|(a, b)| (*a..=*b).contains(&track.samples[*i].0)))
        .collect();
    let mut best: Option<(usize, f64, Vec<Place>)> = None;
    // Whole samples apart: the shift the render uses is the one the places were measured over.
    let step = track.samples.get(1).map_or(0.2, |s| s.0) - track.samples.first().map_or(0.0, |s| s.0);
    for k in SHIFTS.iter().map(|s| (s / step.max(1e-3)).round().max(1.0) as isize).flat_map(|k| [k, -k]) {
        let shift = k as f64 * step;
        let places = places(track, (pixels, k), logos, info);
        let covered = shown.iter().filter(|i| places[**i].is_some()).count();
        // Strictly more: ties keep the smaller shift, tried first.
        if best.as_ref().is_none_or(|b| covered > b.0) {
            best = Some((covered, shift, places));
        }
    }
    let (covered, shift, places) = best?;
    if (covered as f64) < MIN_COVERAGE * shown.len().max(1) as f64 {
        return None;
    }
    script(track, n, (logo, pixels), (shift, &places), info)
}

/// Per sample, the top-left corner (source pixels) of the box moved to the sample `k` samples
/// away, when it is inside that frame and clear of every logo.
fn places(
    track: &CameraTrack,
    (pixels, k): (PixelBox, isize),
    logos: &[(Logo, PixelBox)],
    info: &VideoInfo,
) -> Vec<Place> {
    let (x, y, w, h) = pixels.xywh();
    let (w, h) = (f64::from(w), f64::from(h));
    let centre = (f64::from(x) + w / 2.0, f64::from(y) + h / 2.0);
    (0..track.samples.len())
        .map(|i| {
            let j = i.checked_add_signed(k).filter(|j| *j < track.samples.len())?;
            let moved = track.moved(i, j, centre, info.width)?;
            let corner = (moved.0 - w / 2.0, moved.1 - h / 2.0);
            let inside = corner.0 >= 0.0
                && corner.1 >= 0.0
                && corner.0 + w <= f64::from(info.width)
                && corner.1 + h <= f64::from(info.height);
            let clear = logos.iter().all(|(_, other)| {
                let (ox, oy, ow, oh) = other.xywh();
                let apart_x =
                    corner.0 + w + CLEARANCE <= f64::from(ox) || f64::from(ox + ow) + CLEARANCE <= corner.0;
                let apart_y =
                    corner.1 + h + CLEARANCE <= f64::from(oy) || f64::from(oy + oh) + CLEARANCE <= corner.1;
                apart_x || apart_y
            });
            (inside && clear).then_some(corner)
        })
        .collect()
}

/// The crop's positions per output frame (interpolated between samples) as a `sendcmd` script,
/// and the times they are good for as an `enable` expression.
fn script(
    track: &CameraTrack,
    n: usize,
    (logo, pixels): (&Logo, PixelBox),
    (shift, places): (f64, &[Place]),
    info: &VideoInfo,
) -> Option<Patch> {
    let (_, _, w, h) = pixels.xywh();
    let frames = (info.duration * info.fps).ceil() as usize;
    let max = (f64::from(info.width - w), f64::from(info.height - h));
    let mut commands = String::new();
    let mut runs: Vec<(f64, f64)> = Vec::new();
    let mut first = None;
    let mut last = None;
    for f in 0..frames {
        let t = f as f64 / info.fps;
        let shown = logo.shown.iter().any(|(a, b)| (*a..=*b).contains(&t));
        let Some(place) = at(track, places, t).filter(|_| shown) else { continue };
        let corner = (place.0.round().clamp(0.0, max.0) as u32, place.1.round().clamp(0.0, max.1) as u32);
        first.get_or_insert(corner);
        if last != Some(corner) {
            commands
                .push_str(&format!("{t:.4} crop@patch{n} x {}, crop@patch{n} y {};\n", corner.0, corner.1));
            last = Some(corner);
        }
        match runs.last_mut() {
            Some(run) if t - run.1 <= 1.5 / info.fps => run.1 = t,
            _ => runs.push((t, t)),
        }
    }
    let half = 0.5 / info.fps;
    let round3 = |t: f64| (t * 1000.0).round() / 1000.0;
    let ranges: Vec<(f64, f64)> = runs
        .iter()
        .filter(|(a, b)| b - a >= MIN_RUN)
        .map(|(a, b)| (round3((a - half).max(0.0)), round3(b + half)))
        .collect();
    (!ranges.is_empty()).then(|| Patch { shift, commands, first: first.unwrap_or((0, 0)), ranges })
}

/// The moved box's corner at time `t`, between the samples around it (both must have one).
fn at(track: &CameraTrack, places: &[Place], t: f64) -> Option<(f64, f64)> {
    // The samples are in time order. Past the last one (by less than a step): its place.
    let after = track.samples.partition_point(|s| s.0 < t).min(track.samples.len().checked_sub(1)?);
    let before = after.saturating_sub(1);
    let (a, b) = ((*places.get(before)?)?, (*places.get(after)?)?);
    let (ta, tb) = (track.samples[before].0, track.samples[after].0);
    let f = if tb > ta { ((t - ta) / (tb - ta)).clamp(0.0, 1.0) } else { 0.0 };
    Some((a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1)))
}

/// The scripts written beside the job's work, one per patch.
pub fn write_scripts(
    patches: &[Option<Patch>],
    work: &std::path::Path,
) -> Result<Vec<Option<std::path::PathBuf>>> {
    patches
        .iter()
        .enumerate()
        .map(|(n, patch)| {
            let Some(patch) = patch else { return Ok(None) };
            let path = work.join(format!("patch-{n}.cmd"));
            std::fs::write(&path, &patch.commands)
                .map_err(|e| Error::transient("Scratch", "cannot write the patch script").with_source(e))?;
            Ok(Some(path))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iprod_core::params::LogoBox;

    fn info() -> VideoInfo {
        VideoInfo { width: 640, height: 360, fps: 25.0, duration: 10.0, has_audio: false, start: 0.0 }
    }

    /// 5 samples a second of a 480×270 analysis: the picture moving `dx` analysis pixels a
    /// sample (none known across the cut at `cut` seconds, if any).
    fn track(dx: f32, cut: Option<f64>) -> CameraTrack {
        track_every(0.2, dx, cut)
    }

    fn track_every(step: f64, dx: f32, cut: Option<f64>) -> CameraTrack {
        let samples = (0..(10.0 / step) as u32)
            .map(|i| {
                let t = f64::from(i) * step;
                let known = i > 0 && cut.is_none_or(|c| (t - c).abs() > 0.1);
                (t, known.then_some(CameraMotion { scale: 1.0, dx, dy: 0.0 }))
            })
            .collect();
        CameraTrack { samples, size: (480, 270) }
    }

    fn badge() -> (Logo, PixelBox) {
        let area = LogoBox { x: 0.03, y: 0.87, width: 0.09, height: 0.07 };
        (Logo::whole(area, 10.0), PixelBox::new(18, 314, 60, 28))
    }

    #[test]
    fn a_pan_fills_a_box_at_its_trailing_edge_from_earlier_frames() {
        // The picture moves left 40 px a second (6 analysis px a sample): what the box at the left
        // edge hides was in view to its right a moment before.
        let patches = plan(&track(-6.0, None), &[badge()], &[true], &info());
        let patch = patches[0].as_ref().expect("a pan reveals the background");
        assert!(patch.shift < 0.0, "{patch:?}");
        // The box moved by the camera over the shift: clear of itself (60 px wide at 40 px/s).
        assert!(-patch.shift * 40.0 >= 60.0 + CLEARANCE, "{patch:?}");
        let first = patch.ranges.first().expect("a range");
        assert!(
            first.0 >= -patch.shift - 0.1 && patch.ranges.last().is_some_and(|r| r.1 >= 9.9),
            "{patch:?}"
        );
        // At 5 s the crop starts where the picture now under the box was then.
        assert!(
            patch.commands.contains(&format!("crop@patch0 x {}", 18 + (-patch.shift * 40.0).round() as u32))
        );
    }

    #[test]
    fn the_shift_is_whole_samples_whatever_their_spacing() {
        // Samples 0.25 s apart (a video of 8 frames a second, measured every other frame), the
        // picture moving 12 analysis px (16 source px) a sample, 64 px a second: the 1.2 s tried
        // is 5 samples, 1.25 s.
        let patch =
            plan(&track_every(0.25, -12.0, None), &[badge()], &[true], &info()).remove(0).expect("a fill");
        assert!((patch.shift + 1.25).abs() < 1e-9, "{patch:?}");
        let moved = (-patch.shift * 64.0).round() as u32;
        assert!(patch.commands.contains(&format!("crop@patch0 x {}", 18 + moved)), "{patch:?}");
    }

    #[test]
    fn a_still_camera_or_a_box_given_to_delogo_gets_no_fill_from_frames() {
        assert_eq!(plan(&track(0.0, None), &[badge()], &[true], &info()), vec![None]);
        // Un-blended (not filled): no patch either.
        assert_eq!(plan(&track(-6.0, None), &[badge()], &[false], &info()), vec![None]);
    }

    #[test]
    fn no_fill_reaches_across_a_cut() {
        let patch = plan(&track(-6.0, Some(5.0)), &[badge()], &[true], &info()).remove(0).expect("a fill");
        let shift = -patch.shift;
        // Frames from before the cut are not used after it: a gap after 5 s, as long as the shift.
        assert!(patch.ranges.iter().all(|(a, b)| *b <= 5.0 + 0.1 || *a >= 5.0 + shift - 0.3), "{patch:?}");
    }
}
