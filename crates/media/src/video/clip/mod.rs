//! VideoClip: a summary of the video, the most interesting segments joined in their original
//! order, at a target length.
//!
//! Analysis (bounded memory): one decode, every frame at 320 px for cuts, motion and exposure,
//! and of those one a second for faces and saliency concentration; audio loudness every 0.1 s.
//! Each frame gets an interest score (motion, faces, loudness, a distinct subject, contrast);
//! runs of black and blank frames are never used. Segments are chosen greedily, best window
//! first, preferring shots not used yet, then each is shifted by up to half a second so that it
//! starts and ends on a cut or on the stillest frame nearby.
//! When the source's H.264 can be copied and a summary on its keyframes is nearly as good
//! (`on_keyframes`), that one is taken and its video copied (`copy`): no decode, no encode.
//! Otherwise rendering is one ffmpeg pass: `trim`/`atrim` per segment, 30 ms audio fades at
//! every join (no clicks), `concat`, H.264/AAC MP4.

use iprod_core::params::ClipParams;

mod analysis;
pub mod copy;
mod on_keyframes;
mod render;

pub use analysis::{FRAMES as ANALYSIS_FRAMES, analyse};
pub use render::{graph, render, result};

/// Audio loudness is measured over windows of this many seconds.
const AUDIO_WINDOW: f64 = 0.1;
/// A segment's ends may move this far (seconds) to land on a cut or a still frame.
const SNAP: f64 = 0.5;
/// Chosen segments keep at least this gap (seconds), so two never read as one jumpy segment.
const GAP: f64 = 0.5;
/// Flat frames (black, white, blank) for at least this long (seconds) are never used.
const FLAT_RUN: f64 = 0.3;
/// Each fade at a join (seconds).
pub const FADE: f64 = 0.03;

/// What the analysis measured, per frame of the source (at its frame rate).
pub struct Analysis {
    pub fps: f64,
    /// Content change from the previous frame (the shot detector's score).
    pub motion: Vec<f32>,
    /// Luma mean and standard deviation, 0..1.
    pub brightness: Vec<f32>,
    pub contrast: Vec<f32>,
    /// Frame indices where a new shot starts.
    pub cuts: Vec<usize>,
    /// Largest face (fraction of the frame's side, ~0..0.5), once a second.
    pub faces: Vec<f32>,
    /// How concentrated the salient content is (0..1, `vision::quality`), once a second.
    pub salience: Vec<f32>,
    /// RMS loudness (0..1) every [`AUDIO_WINDOW`] s; empty without audio.
    pub loudness: Vec<f32>,
}

impl Analysis {
    pub fn frames(&self) -> usize {
        self.motion.len()
    }

    fn flat(&self, frame: usize) -> bool {
        self.brightness[frame] < 0.08 || self.brightness[frame] > 0.94 || self.contrast[frame] < 0.035
    }

    /// Frames never to use: runs of black, white or flat frames lasting 0.3 s or more (a black
    /// gap, a blank card). A lone flash frame is content, just not interesting.
    fn forbidden(&self) -> Vec<bool> {
        let min_run = (FLAT_RUN * self.fps).ceil() as usize;
        let mut forbidden = vec![false; self.frames()];
        let mut run_start = 0;
        for i in 0..=self.frames() {
            if i < self.frames() && self.flat(i) {
                continue;
            }
            if i - run_start >= min_run {
                forbidden[run_start..i].iter_mut().for_each(|f| *f = true);
            }
            run_start = i + 1;
        }
        forbidden
    }

    /// Interest of each frame, 0..1; 0 for frames never to use, a floor of 0.01 otherwise.
    pub fn interest(&self) -> Vec<f32> {
        let cut_frames: std::collections::HashSet<usize> = self.cuts.iter().copied().collect();
        // The score at a cut is the cut itself, not motion.
        let motion: Vec<f32> = self
            .motion
            .iter()
            .enumerate()
            .map(|(i, m)| if cut_frames.contains(&i) || i == 0 { 0.0 } else { *m })
            .collect();
        let motion_scale = 2.0 * median_positive(&motion);
        let loud_scale = 2.0 * median_positive(&self.loudness);
        let contrast_scale = 2.0 * median_positive(&self.contrast);
        let norm = |v: f32, scale: f32| if scale > 0.0 { (v / scale).min(1.0) } else { 0.0 };
        let forbidden = self.forbidden();
        (0..self.frames())
            .map(|i| {
                if forbidden[i] {
                    return 0.0;
                }
                if self.flat(i) {
                    return 0.01;
                }
                let t = i as f64 / self.fps;
                let face = self.faces.get(t as usize).copied().unwrap_or(0.0);
                let salient = self.salience.get(t as usize).copied().unwrap_or(0.0);
                let loud = self.loudness.get((t / AUDIO_WINDOW) as usize).copied().unwrap_or(0.0);
                // A tiny floor keeps a usable frame distinguishable from an unusable one.
                0.01 + 0.30 * norm(motion[i], motion_scale)
                    + 0.28 * (face / 0.15).min(1.0)
                    + 0.22 * norm(loud, loud_scale)
                    + 0.12 * salient
                    + 0.07 * norm(self.contrast[i], contrast_scale)
            })
            .collect()
    }
}

fn median_positive(values: &[f32]) -> f32 {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| *x > 0.0).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// A chosen segment, in frames of the source: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
}

/// Chooses the segments (chronological) for `params` from the analysis.
pub fn select(analysis: &Analysis, duration: f64, params: &ClipParams) -> Vec<Segment> {
    let fps = analysis.fps;
    let frames = analysis.frames();
    let interest = analysis.interest();
    let usable_frames = interest.iter().filter(|v| **v > 0.0).count();
    // The whole video is the summary when it is no longer than the target.
    if duration <= params.duration + 0.5 / fps || usable_frames == 0 {
        return vec![Segment { start: 0, end: frames }];
    }
    let target = (params.duration * fps).round() as usize;
    let min_len = ((params.min_segment * fps).round() as usize).max(1);
    let count = (params.max_segments as usize).min((target / min_len).max(1));
    let mut prefix = vec![0f64; frames + 1];
    for (i, v) in interest.iter().enumerate() {
        prefix[i + 1] = prefix[i] + f64::from(*v);
    }
    let shot_of = shot_index(&analysis.cuts, frames);
    let gap = (GAP * fps).round() as usize;
    let mut chosen: Vec<Segment> = Vec::new();
    let mut remaining = target;
    while remaining > 0 && chosen.len() < count {
        // A remainder shorter than a segment may be is added to the chosen ones (`fill`).
        if remaining < min_len && !chosen.is_empty() {
            break;
        }
        let slots_left = count - chosen.len();
        let wanted = if slots_left == 1 { remaining } else { (remaining / slots_left).max(min_len) };
        // Free runs of usable frames bound what fits: shorter windows are tried, down to min_len.
        let mut length = wanted.min(remaining.max(min_len));
        let found = loop {
            let found = best_window(&interest, &prefix, &shot_of, &chosen, length, gap);
            if found.is_some() || length <= min_len {
                break found;
            }
            length = (length * 4 / 5).max(min_len);
        };
        let Some(segment) = found else { break };
        remaining = remaining.saturating_sub(segment.end - segment.start);
        chosen.push(segment);
    }
    if chosen.is_empty() {
        // No run of usable frames is as long as a segment may be: the best window of the
        // target's length, whatever it holds, rather than nothing.
        let length = target.min(frames);
        let start = (0..=frames - length)
            .max_by(|a, b| (prefix[a + length] - prefix[*a]).total_cmp(&(prefix[b + length] - prefix[*b])))
            .unwrap_or(0);
        return vec![Segment { start, end: start + length }];
    }
    chosen.sort_by_key(|s| s.start);
    fill(&mut chosen, &interest, remaining, gap);
    for i in 0..chosen.len() {
        chosen[i] = snap(analysis, &interest, &chosen, i, fps);
    }
    chosen
}

/// `chosen` (from [`select`]) moved onto the source's clean keyframes (frame indices), when a
/// summary there is nearly as interesting and as long (`on_keyframes`); such a summary is copied.
pub fn on_keyframes(
    analysis: &Analysis,
    params: &ClipParams,
    chosen: &[Segment],
    keyframes: &[usize],
) -> Option<Vec<Segment>> {
    let fps = analysis.fps;
    let target = (params.duration * fps).round() as usize;
    let min_len = ((params.min_segment * fps).round() as usize).max(1);
    on_keyframes::align(analysis, chosen, keyframes, target, min_len)
}

/// For each frame, the index of its shot.
fn shot_index(cuts: &[usize], frames: usize) -> Vec<usize> {
    let mut shot = 0;
    (0..frames)
        .map(|i| {
            while shot < cuts.len() && cuts[shot] <= i {
                shot += 1;
            }
            shot
        })
        .collect()
}

fn clear_of(segment: Segment, chosen: &[Segment], gap: usize) -> bool {
    chosen.iter().all(|c| segment.end + gap <= c.start || c.end + gap <= segment.start)
}

/// The best window of `length` usable frames that keeps clear of `chosen`: mean interest, less
/// for a window in a shot already used (variety).
fn best_window(
    interest: &[f32],
    prefix: &[f64],
    shot_of: &[usize],
    chosen: &[Segment],
    length: usize,
    gap: usize,
) -> Option<Segment> {
    let used: Vec<usize> = chosen.iter().flat_map(|c| [shot_of[c.start], shot_of[c.end - 1]]).collect();
    let mut best: Option<(f64, Segment)> = None;
    let mut run_start = 0;
    for end in 1..=interest.len() {
        if interest[end - 1] <= 0.0 {
            run_start = end;
            continue;
        }
        if end - run_start < length {
            continue;
        }
        let segment = Segment { start: end - length, end };
        if !clear_of(segment, chosen, gap) {
            continue;
        }
        let mut value = (prefix[end] - prefix[end - length]) / length as f64;
        let (first, last) = (shot_of[segment.start], shot_of[end - 1]);
        if used.contains(&first) || used.contains(&last) {
            value *= 0.6;
        }
        // A cut just inside either end would leave a flash of another shot: a last resort.
        let edge = gap.min(length / 2);
        if shot_of[segment.start] != shot_of[segment.start + edge]
            || shot_of[end - 1] != shot_of[end - 1 - edge]
        {
            value *= 0.25;
        }
        if best.is_none_or(|(v, _)| value > v) {
            best = Some((value, segment));
        }
    }
    best.map(|(_, s)| s)
}

/// Grows chosen segments (chronological) into usable neighbouring frames until `missing`
/// frames are added or nothing can grow.
fn fill(chosen: &mut [Segment], interest: &[f32], mut missing: usize, gap: usize) {
    while missing > 0 {
        let mut grown = false;
        for i in 0..chosen.len() {
            if missing == 0 {
                break;
            }
            let limit_after = chosen.get(i + 1).map_or(interest.len(), |n| n.start.saturating_sub(gap));
            let limit_before = if i == 0 { 0 } else { chosen[i - 1].end + gap };
            let s = chosen[i];
            let after = (s.end < limit_after && interest[s.end] > 0.0).then(|| interest[s.end]);
            let before =
                (s.start > limit_before && interest[s.start - 1] > 0.0).then(|| interest[s.start - 1]);
            match (before, after) {
                (Some(b), Some(a)) if b > a => chosen[i].start -= 1,
                (_, Some(_)) => chosen[i].end += 1,
                (Some(_), None) => chosen[i].start -= 1,
                (None, None) => continue,
            }
            missing -= 1;
            grown = true;
        }
        if !grown {
            break;
        }
    }
}

/// The cost of a segment boundary at frame `f` (the first frame in, or the first frame after):
/// none on a cut or the video's ends, else its motion relative to the typical motion of the
/// second around it (so "still" means still for this shot), at most 3; 4 when a cut lies within
/// [`SNAP`] inside the segment from it (a flash of another shot).
fn boundary_cost(analysis: &Analysis, f: usize, is_start: bool) -> f32 {
    let frames = analysis.frames();
    let edge = (SNAP * analysis.fps).round() as usize;
    let inside = if is_start { f + 1..(f + edge).min(frames) } else { f.saturating_sub(edge) + 1..f };
    if analysis.cuts.iter().any(|c| inside.contains(c)) {
        return 4.0;
    }
    if f == 0 || f >= frames || analysis.cuts.contains(&f) {
        return 0.0;
    }
    let second = analysis.fps.round().max(1.0) as usize;
    let mut around: Vec<f32> = analysis.motion[f.saturating_sub(second)..(f + second).min(frames)].to_vec();
    around.sort_by(f32::total_cmp);
    (analysis.motion[f] / around[around.len() / 2].max(1e-3)).min(3.0)
}

/// Shifts segment `i` by up to [`SNAP`] so that both its ends land on a cut (or the video's
/// ends), else on the stillest frames near them; its length does not change.
fn snap(analysis: &Analysis, interest: &[f32], chosen: &[Segment], i: usize, fps: f64) -> Segment {
    let s = chosen[i];
    let frames = interest.len();
    let reach = (SNAP * fps).round() as isize;
    let cost = |f: usize, is_start: bool| boundary_cost(analysis, f, is_start);
    let others: Vec<Segment> = chosen.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| *c).collect();
    let mut best = (cost(s.start, true) + cost(s.end, false), 0isize);
    for shift in -reach..=reach {
        let (start, end) = (s.start as isize + shift, s.end as isize + shift);
        if start < 0 || end > frames as isize {
            continue;
        }
        let moved = Segment { start: start as usize, end: end as usize };
        if !clear_of(moved, &others, 0) || interest[moved.start..moved.end].iter().any(|v| *v <= 0.0) {
            continue;
        }
        let c = cost(moved.start, true) + cost(moved.end, false);
        if c < best.0 - 1e-6 || ((c - best.0).abs() <= 1e-6 && shift.abs() < best.1.abs()) {
            best = (c, shift);
        }
    }
    Segment { start: (s.start as isize + best.1) as usize, end: (s.end as isize + best.1) as usize }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::info::VideoInfo;

    /// 25 fps, 40 s: shots of 10 s; shot 2 (10-20 s) busy but for a still frame every 0.8 s,
    /// shot 3 black from 20 to 22 s.
    fn analysis() -> Analysis {
        let frames = 1000;
        let still = |i: usize| i.is_multiple_of(20);
        let motion =
            (0..frames).map(|i| if (250..500).contains(&i) && !still(i) { 0.2 } else { 0.02 }).collect();
        let brightness = (0..frames).map(|i| if (500..550).contains(&i) { 0.01 } else { 0.4 }).collect();
        Analysis {
            fps: 25.0,
            motion,
            brightness,
            contrast: vec![0.2; frames],
            cuts: vec![250, 500, 750],
            faces: vec![0.0; 40],
            salience: vec![0.0; 40],
            loudness: Vec::new(),
        }
    }

    #[test]
    fn segments_fill_the_target_prefer_busy_shots_and_skip_black() {
        let a = analysis();
        let params = ClipParams { duration: 12.0, max_segments: 3, min_segment: 2.0 };
        let segments = select(&a, 40.0, &params);
        let total: usize = segments.iter().map(|s| s.end - s.start).sum();
        assert_eq!(total, 300, "{segments:?}");
        assert!(segments.len() <= 3);
        assert!(segments.windows(2).all(|w| w[0].end <= w[1].start), "chronological: {segments:?}");
        assert!(segments.iter().any(|s| s.start >= 250 && s.end <= 500), "the busy shot: {segments:?}");
        assert!(segments.iter().all(|s| s.end <= 500 || s.start >= 550), "no black: {segments:?}");
        // Every segment starts and ends on a cut, the video's ends, or a still frame.
        for s in &segments {
            for edge in [s.start, s.end] {
                assert!(a.cuts.contains(&edge) || edge == 0 || edge == 1000 || a.motion[edge] < 0.1, "{s:?}");
            }
        }
    }

    #[test]
    fn a_short_video_is_its_own_summary() {
        let a = analysis();
        let params = ClipParams { duration: 60.0, ..ClipParams::default() };
        assert_eq!(select(&a, 40.0, &params), vec![Segment { start: 0, end: 1000 }]);
    }

    #[test]
    fn the_graph_trims_each_segment_and_fades_the_joins() {
        let info =
            VideoInfo { width: 640, height: 360, fps: 25.0, duration: 40.0, has_audio: true, start: 0.0 };
        let g = graph(&[Segment { start: 25, end: 75 }, Segment { start: 250, end: 300 }], &info);
        assert!(g.contains("[v0]trim=start=0.980000:end=2.980000"), "{g}");
        assert!(g.contains("[a1]atrim=start=10.000000:end=12.000000"), "{g}");
        assert!(g.contains("afade=t=out:st=1.970000:d=0.03"), "{g}");
        assert!(g.contains("[vs0][as0][vs1][as1]concat=n=2:v=1:a=1[joined][outa];[joined]crop="), "{g}");
    }
}
