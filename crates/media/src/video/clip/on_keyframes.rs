//! The summary moved onto the source's keyframes, so that it can be copied (`copy`).
//!
//! The free choice (`select`) picks the most interesting windows; this looks, for each of them,
//! at the spans between keyframes that cover most of it (or none), and takes the combination that is
//! chronological, keeps the gap between segments (or continues the one before: spans that touch
//! are joined), hits the target length as the free choice
//! does (±0.5 s) and holds the most interest. It is used only when it holds nearly as much
//! interest as the free choice ([`KEPT_INTEREST`]): a summary is chosen for what it shows, and
//! copying is a saving, not a reason to show something duller. Where an encoder put keyframes at
//! scene cuts (x264 and x265 do), the spans are whole shots or runs of shots.

use super::{Analysis, GAP, Segment, boundary_cost};

/// The keyframe summary must hold at least this share of the free choice's interest.
const KEPT_INTEREST: f64 = 0.9;
/// …and last as long as the target within this many seconds.
const LENGTH_TOLERANCE: f64 = 0.5;
/// A span stands for a chosen window when they share at least this share of the shorter one.
const COVER: f64 = 0.5;
/// Partial summaries kept while combining (the best by interest): enough for 20 segments.
const BEAM: usize = 400;
/// More keyframes than this (an intra-only file) are not searched: such files are encoded.
const MAX_KEYFRAMES: usize = 5000;

/// `chosen` (chronological, from `select`) moved onto `keyframes` (frame indices, ascending),
/// or `None` when no such summary is close enough; `target` and `min_len` in frames.
pub(super) fn align(
    analysis: &Analysis,
    chosen: &[Segment],
    keyframes: &[usize],
    target: usize,
    min_len: usize,
) -> Option<Vec<Segment>> {
    let frames = analysis.frames();
    if chosen.is_empty() || keyframes.len() > MAX_KEYFRAMES || keyframes.first() != Some(&0) {
        return None;
    }
    let interest = analysis.interest();
    let mut prefix = vec![0f64; frames + 1];
    for (i, v) in interest.iter().enumerate() {
        prefix[i + 1] = prefix[i] + f64::from(*v);
    }
    let sum = |s: Segment| prefix[s.end] - prefix[s.start];
    let free_total: usize = chosen.iter().map(|s| s.end - s.start).sum();
    // The whole video is its own summary: copied when it can be, as it is.
    if chosen.len() == 1 && free_total == frames {
        return Some(chosen.to_vec());
    }
    let cuts: Vec<usize> = keyframes.iter().copied().filter(|k| *k < frames).chain([frames]).collect();
    let gap = (GAP * analysis.fps).round() as usize;
    let tolerance = (LENGTH_TOLERANCE * analysis.fps).round() as usize;
    let usable = |s: Segment| interest[s.start..s.end].iter().all(|v| *v > 0.0);
    let no_flash = |s: Segment| {
        boundary_cost(analysis, s.start, true) < 4.0 && boundary_cost(analysis, s.end, false) < 4.0
    };
    // Partial summaries: (interest, segments so far, frames so far).
    let mut beam: Vec<(f64, Vec<Segment>, usize)> = vec![(0.0, Vec::new(), 0)];
    for window in chosen {
        let len = window.end - window.start;
        let mut spans = Vec::new();
        for (a, &start) in cuts.iter().enumerate() {
            for &end in &cuts[a + 1..] {
                let span = Segment { start, end };
                if end - start > 2 * len.max(min_len) {
                    break;
                }
                let shared = end.min(window.end).saturating_sub(start.max(window.start));
                if end - start >= min_len.min(len)
                    && shared as f64 >= COVER * (end - start).min(len) as f64
                    && usable(span)
                    && no_flash(span)
                {
                    spans.push(span);
                }
            }
        }
        // A window may also go without a span: where the keyframes are far apart, fewer and
        // longer spans make the length.
        let mut next = beam.clone();
        for (value, segments, total) in &beam {
            // A span right after the previous one continues it (one longer segment of the
            // source, not a jump); otherwise the gap between segments holds.
            let last_end = segments.last().map(|s: &Segment| s.end);
            let follows = |s: &&Segment| last_end.is_none_or(|end| s.start == end || s.start >= end + gap);
            for span in spans.iter().filter(follows) {
                let grown = total + (span.end - span.start);
                if grown <= target + tolerance {
                    let mut with = segments.clone();
                    with.push(*span);
                    next.push((value + sum(*span), with, grown));
                }
            }
        }
        next.sort_by(|a, b| b.0.total_cmp(&a.0));
        next.truncate(BEAM);
        beam = next;
    }
    let free_interest: f64 = chosen.iter().map(|s| sum(*s)).sum();
    let (value, segments, _) = beam
        .into_iter()
        .filter(|(_, _, total)| total.abs_diff(free_total.min(target)) <= tolerance)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    (value >= KEPT_INTEREST * free_interest).then(|| joined(segments))
}

/// Chronological segments with the ones that touch joined into one.
fn joined(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments {
        match out.last_mut() {
            Some(last) if last.end == s.start => last.end = s.end,
            _ => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 25 fps, 40 s, shots of 2.4 s (cuts every 60 frames), motion everywhere but in the
    /// dull last quarter.
    fn analysis() -> Analysis {
        let frames = 1000;
        Analysis {
            fps: 25.0,
            motion: (0..frames).map(|i| if i < 750 { 0.2 } else { 0.01 }).collect(),
            brightness: vec![0.4; frames],
            contrast: vec![0.2; frames],
            cuts: (1..17).map(|k| k * 60).collect(),
            faces: vec![0.0; 40],
            salience: vec![0.0; 40],
            loudness: Vec::new(),
        }
    }

    #[test]
    fn windows_move_onto_keyframe_spans_of_the_same_length_in_all() {
        let a = analysis();
        // Keyframes at the cuts (x264's scene cuts) and every 250 frames.
        let mut keys: Vec<usize> = (0..17).map(|k| k * 60).chain([250, 500, 750]).collect();
        keys.sort_unstable();
        let chosen = [
            Segment { start: 44, end: 119 },
            Segment { start: 294, end: 369 },
            Segment { start: 500, end: 575 },
        ];
        let aligned = align(&a, &chosen, &keys, 225, 50).expect("aligned");
        let total: usize = aligned.iter().map(|s| s.end - s.start).sum();
        assert!(total.abs_diff(225) <= 12, "{aligned:?}");
        assert!(!aligned.is_empty() && aligned.len() <= 3, "{aligned:?}");
        for s in &aligned {
            assert!(keys.contains(&s.start) && keys.contains(&s.end), "{s:?}");
            let covers = |w: &Segment| s.end.min(w.end) > s.start.max(w.start);
            assert!(chosen.iter().any(covers), "{s:?} stands for a chosen window");
        }
        assert!(aligned.windows(2).all(|p| p[0].end + 12 <= p[1].start), "{aligned:?}");
    }

    #[test]
    fn sparse_keyframes_or_duller_spans_keep_the_free_choice() {
        let a = analysis();
        let chosen = [Segment { start: 44, end: 119 }, Segment { start: 294, end: 369 }];
        // One keyframe every 10 s: no span is near a 3 s window.
        assert_eq!(align(&a, &chosen, &[0, 250, 500, 750], 150, 50), None);
        // The only span reaches half into the dull quarter: less interest than the free choice.
        let busy = [Segment { start: 700, end: 750 }];
        assert_eq!(align(&a, &busy, &[0, 725, 775], 50, 25), None);
        assert!(align(&a, &busy, &[0, 700, 750], 50, 25).is_some(), "the same span without the dull half");
        // The whole video stays whole.
        let whole = [Segment { start: 0, end: 1000 }];
        assert_eq!(align(&a, &whole, &[0, 500], 1000, 50), Some(whole.to_vec()));
    }
}
