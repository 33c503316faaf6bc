//! Framing a picture in a window of another shape, as a person would: faces decide first (all
//! of them when they fit, else the dominant one, never a face cut by the window edge), then the
//! salient subject, else the centre. On-screen text (titles, captions, lower thirds) is kept
//! whole like a face: framed with the subject when both fit, else the picture is padded rather
//! than the text cut (AutoFlip's rule for required regions). ImageH2V frames its image with it;
//! VideoH2V frames each analysis sample with it.

use iprod_core::params::Aspect;
use serde::Serialize;

use crate::vision::Rect;
use crate::vision::faces::Face;
use crate::vision::saliency::SaliencyMap;
use crate::vision::text::{TextLine, join_lines};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    #[serde(rename = "crop")]
    Crop,
    #[serde(rename = "pad")]
    Pad,
}

/// The chosen window in source pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Window {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Plan {
    #[serde(rename = "Crop")]
    pub window: Window,
    #[serde(rename = "Mode")]
    pub mode: Mode,
    /// What decided the framing: faces, saliency or centre.
    #[serde(rename = "Basis")]
    pub basis: &'static str,
}

/// A subject's extent along the free axis, and how much it matters.
#[derive(Debug, Clone, Copy)]
struct Span {
    lo: f32,
    hi: f32,
    weight: f32,
}

enum Placement {
    At(f32),
    Pad,
}

/// Faces get a margin of this fraction of their size on each side (hair, ears, breathing room).
const FACE_MARGIN: f32 = 0.35;
/// A second face at least this fraction of the dominant face's size is a peer, not a bystander:
/// cutting it out would lose important content.
const PEER_FACE: f32 = 0.6;
/// A salient subject wider than this many windows is shown padded rather than cropped.
const SALIENT_TOO_WIDE: f32 = 1.6;
/// Text lines at least this high (a fraction of the picture's height) are on-screen text a
/// viewer reads (titles, captions, lower thirds); smaller text is scene detail.
const READABLE_TEXT: f32 = 0.03;
/// The picture is read for text at this long side: readable text (≥ [`READABLE_TEXT`] of the
/// height) is found there, and reading at delogo's 960 made ImageH2V 5× slower (52 → 273 ms).
pub const TEXT_SIDE: u32 = 640;
/// Lines tilted more than this (degrees) are printed on scene surfaces.
const TEXT_MAX_TILT: f32 = 5.0;
/// Text within this fraction of two borders at once (a corner) and narrower than
/// [`CORNER_MARK_WIDTH`] of the picture is a burnt-in logo or watermark: never a subject.
const CORNER_BAND: f32 = 0.12;
const CORNER_MARK_WIDTH: f32 = 0.25;

/// The on-screen text blocks among `lines` that framing must keep whole: readable, level, not a
/// corner mark; lines of one caption joined.
pub fn on_screen_text(lines: &[TextLine], width: u32, height: u32) -> Vec<Rect> {
    let (w, h) = (width as f32, height as f32);
    let readable: Vec<&TextLine> = lines
        .iter()
        .filter(|l| {
            let r = l.rect;
            let corner = (r.x / w <= CORNER_BAND || (w - r.right()) / w <= CORNER_BAND)
                && (r.y / h <= CORNER_BAND || (h - r.bottom()) / h <= CORNER_BAND)
                && r.width < CORNER_MARK_WIDTH * w;
            l.score >= 0.6
                && l.line_height() >= READABLE_TEXT * h
                // Words are wider than high; a squarish blob is a pattern the detector took for
                // text (a red-and-white target measured 168x166).
                && r.width >= 1.5 * r.height
                && l.tilt.abs() <= TEXT_MAX_TILT
                && !corner
        })
        .collect();
    join_lines(&readable).into_iter().map(|(r, _)| r).collect()
}

pub fn plan(
    width: u32,
    height: u32,
    aspect: Aspect,
    faces: &[Face],
    saliency: Option<&SaliencyMap>,
    texts: &[Rect],
) -> Plan {
    let target = aspect.width as f32 / aspect.height as f32;
    let horizontal = width as f32 / height as f32 > target;
    // The window spans the whole fixed axis and slides along the free one.
    let (extent, window) = if horizontal {
        (width as f32, (height as f32 * target).round().clamp(1.0, width as f32))
    } else {
        (height as f32, (width as f32 / target).round().clamp(1.0, height as f32))
    };
    let spans: Vec<Span> = faces
        .iter()
        .map(|f| {
            let (lo, len) = if horizontal { (f.rect.x, f.rect.width) } else { (f.rect.y, f.rect.height) };
            Span { lo: lo - len * FACE_MARGIN, hi: lo + len * (1.0 + FACE_MARGIN), weight: f.rect.area() }
        })
        .collect();
    let text_spans: Vec<Span> = texts
        .iter()
        .map(|r| {
            let (lo, len) = if horizontal { (r.x, r.width) } else { (r.y, r.height) };
            Span { lo, hi: lo + len, weight: r.area() }
        })
        .collect();
    let (placement, basis) = if !spans.is_empty() {
        (place_faces(&spans, window, extent), "faces")
    } else if let Some(span) = saliency.and_then(|s| salient_span(s, horizontal, extent)) {
        if span.hi - span.lo > SALIENT_TOO_WIDE * window {
            (Placement::Pad, "saliency")
        } else {
            (Placement::At(span.weight - window / 2.0), "saliency")
        }
    } else {
        (Placement::At((extent - window) / 2.0), "centre")
    };
    let (placement, basis) = with_text(placement, basis, (&spans, &text_spans), window, extent);
    let (mode, start) = match placement {
        Placement::At(start) => (Mode::Crop, start.clamp(0.0, extent - window).round() as u32),
        Placement::Pad => (Mode::Pad, 0),
    };
    let window = match (mode, horizontal) {
        (Mode::Pad, _) => Window { x: 0, y: 0, width, height },
        (Mode::Crop, true) => Window { x: start, y: 0, width: window as u32, height },
        (Mode::Crop, false) => Window { x: 0, y: start, width, height: window as u32 },
    };
    Plan { window, mode, basis }
}

/// The placement with the on-screen text kept whole: unchanged when it already holds every text
/// block; else the faces (or the framed subject) and the text framed together when they fit one
/// window; else padded, rather than a line cut.
fn with_text(
    placement: Placement,
    basis: &'static str,
    (faces, texts): (&[Span], &[Span]),
    window: f32,
    extent: f32,
) -> (Placement, &'static str) {
    let Placement::At(start) = placement else { return (placement, basis) };
    if texts.is_empty() {
        return (placement, basis);
    }
    let start = start.clamp(0.0, extent - window);
    if texts.iter().all(|t| t.lo >= start - 0.5 && t.hi <= start + window + 0.5) {
        return (Placement::At(start), basis);
    }
    // What the subject needs: the faces, or (no face) the window chosen so far, shrunk to its
    // middle third so the subject stays in view.
    let (mut lo, mut hi) = if faces.is_empty() {
        (start + window / 3.0, start + 2.0 * window / 3.0)
    } else {
        faces.iter().fold((f32::MAX, f32::MIN), |(lo, hi), s| (lo.min(s.lo), hi.max(s.hi)))
    };
    if basis == "centre" {
        (lo, hi) = (f32::MAX, f32::MIN);
    }
    for t in texts {
        (lo, hi) = (lo.min(t.lo), hi.max(t.hi));
    }
    let joined = match basis {
        "faces" => "faces+text",
        "saliency" => "saliency+text",
        _ => "text",
    };
    if hi - lo <= window {
        (Placement::At((lo + hi) / 2.0 - window / 2.0), joined)
    } else {
        (Placement::Pad, joined)
    }
}

fn place_faces(spans: &[Span], window: f32, extent: f32) -> Placement {
    let union = |set: &mut dyn Iterator<Item = &Span>| {
        set.fold((f32::MAX, f32::MIN), |(lo, hi), s| (lo.min(s.lo), hi.max(s.hi)))
    };
    let (lo, hi) = union(&mut spans.iter());
    if hi - lo <= window {
        return Placement::At((lo + hi) / 2.0 - window / 2.0);
    }
    // Not all fit: frame the dominant face and its peers (faces nearly as large), which are
    // the content; if even they do not fit one window, nothing may be cut: pad.
    let largest = spans.iter().map(|s| s.weight).fold(0.0, f32::max);
    let is_peer = |s: &Span| s.weight >= PEER_FACE * largest;
    let (plo, phi) = union(&mut spans.iter().filter(|s| is_peer(s)));
    if phi - plo > window {
        return Placement::Pad;
    }
    let centred = ((plo + phi) / 2.0 - window / 2.0).clamp(0.0, extent - window);
    // Smaller faces are bystanders: slide so none is cut by the window edge, if the peers allow
    // (either past the bystander, or far enough to take it in whole).
    let mut start = centred;
    for s in spans.iter().filter(|s| !is_peer(s)) {
        let cut = (s.lo < start && s.hi > start) || (s.lo < start + window && s.hi > start + window);
        if !cut {
            continue;
        }
        let candidates = [s.hi, s.lo, s.lo - window, s.hi - window];
        if let Some(best) = candidates
            .into_iter()
            .filter(|c| *c >= 0.0 && *c + window <= extent && *c <= plo && *c + window >= phi)
            .min_by(|a, b| (a - centred).abs().total_cmp(&(b - centred).abs()))
        {
            start = best;
        }
    }
    Placement::At(start)
}

/// The span holding the central 90 % of the salient mass along the free axis, with its centroid
/// in `weight` (pixels of an `extent_px`-long axis); `None` when nothing stands out.
fn salient_span(map: &SaliencyMap, horizontal: bool, extent_px: f32) -> Option<Span> {
    if map.peak < 0.3 {
        return None;
    }
    let extent = map.extent(horizontal)?;
    let scale = extent_px / if horizontal { map.width } else { map.height } as f32;
    Some(Span { lo: extent.lo as f32 * scale, hi: extent.hi as f32 * scale, weight: extent.centroid * scale })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::Rect;
    use crate::vision::saliency::SIDE;

    fn face(x: f32, y: f32, size: f32) -> Face {
        Face { rect: Rect { x, y, width: size, height: size }, score: 0.9, landmarks: None }
    }

    const V: Aspect = Aspect { width: 9, height: 16 };

    #[test]
    fn all_faces_that_fit_are_framed_together() {
        // 1920x1080 → window 608 wide. Two faces 300 px apart on the right.
        let p = plan(1920, 1080, V, &[face(1300.0, 300.0, 100.0), face(1500.0, 320.0, 90.0)], None, &[]);
        assert_eq!(p.mode, Mode::Crop);
        assert_eq!((p.window.width, p.window.height), (608, 1080));
        assert!(p.window.x <= 1300 && p.window.x + p.window.width >= 1590, "{p:?}");
    }

    #[test]
    fn a_dominant_face_wins_and_small_bystanders_are_not_cut() {
        let faces = [face(300.0, 300.0, 200.0), face(1700.0, 400.0, 60.0)];
        let p = plan(1920, 1080, V, &faces, None, &[]);
        assert_eq!(p.mode, Mode::Crop);
        assert!(p.window.x <= 300 && p.window.x + p.window.width >= 500, "{p:?}");
    }

    #[test]
    fn peers_too_far_apart_are_padded_not_cut() {
        let p = plan(1920, 1080, V, &[face(100.0, 300.0, 150.0), face(1600.0, 300.0, 150.0)], None, &[]);
        assert_eq!(p.mode, Mode::Pad);
        assert_eq!(p.window, Window { x: 0, y: 0, width: 1920, height: 1080 });
    }

    #[test]
    fn nothing_salient_means_the_centre() {
        let p = plan(1000, 500, V, &[], None, &[]);
        assert_eq!((p.mode, p.basis), (Mode::Crop, "centre"));
        assert_eq!(p.window.x, (1000 - 281) / 2 + 1);
    }

    #[test]
    fn saliency_on_the_left_moves_the_window_left() {
        let mut values = vec![0f32; SIDE * SIDE];
        for y in 100..250 {
            for x in 20..80 {
                values[y * SIDE + x] = 1.0;
            }
        }
        let map = SaliencyMap { values, width: SIDE, height: SIDE, peak: 0.99 };
        let p = plan(1920, 1080, V, &[], Some(&map), &[]);
        assert_eq!((p.mode, p.basis), (Mode::Crop, "saliency"));
        // The subject spans x ≈ 120..480 of 1920.
        assert!(p.window.x <= 120 && p.window.x + p.window.width >= 480, "{p:?}");
    }

    fn line(x: f32, y: f32, width: f32, height: f32) -> TextLine {
        TextLine { rect: Rect { x, y, width, height }, score: 0.9, tilt: 0.0 }
    }

    #[test]
    fn a_face_and_a_caption_that_fit_are_framed_together() {
        // 1920x1080 → window 608. A face at 1000..1100 and a caption at 1150..1500 below it.
        let texts = on_screen_text(&[line(1150.0, 900.0, 350.0, 50.0)], 1920, 1080);
        assert_eq!(texts.len(), 1);
        let p = plan(1920, 1080, V, &[face(1000.0, 300.0, 100.0)], None, &texts);
        assert_eq!((p.mode, p.basis), (Mode::Crop, "faces+text"));
        assert!(p.window.x <= 965 && p.window.x + p.window.width >= 1500, "{p:?}");
    }

    #[test]
    fn text_that_cannot_fit_with_the_subject_pads_instead_of_being_cut() {
        // A subtitle 1000 px wide: no 608 px window holds it.
        let texts = on_screen_text(&[line(460.0, 950.0, 1000.0, 60.0)], 1920, 1080);
        let p = plan(1920, 1080, V, &[face(900.0, 300.0, 120.0)], None, &texts);
        assert_eq!(p.mode, Mode::Pad, "{p:?}");
        // A title card alone, narrower than the window, is framed on its own.
        let title = on_screen_text(&[line(200.0, 500.0, 500.0, 80.0)], 1920, 1080);
        let p = plan(1920, 1080, V, &[], None, &title);
        assert_eq!((p.mode, p.basis), (Mode::Crop, "text"));
        assert!(p.window.x <= 200 && p.window.x + p.window.width >= 700, "{p:?}");
    }

    #[test]
    fn corner_marks_small_text_and_tilted_text_are_not_framed() {
        let lines = [
            line(1700.0, 40.0, 180.0, 40.0), // a channel name in the top-right corner
            line(900.0, 600.0, 100.0, 12.0), // small scene text
            TextLine {
                rect: Rect { x: 300.0, y: 500.0, width: 300.0, height: 60.0 },
                score: 0.9,
                tilt: 12.0,
            },
        ];
        assert!(on_screen_text(&lines, 1920, 1080).is_empty());
        // With nothing to keep, the framing is what it was.
        let p = plan(1920, 1080, V, &[face(100.0, 300.0, 100.0)], None, &on_screen_text(&lines, 1920, 1080));
        assert_eq!(p.basis, "faces");
    }
}
