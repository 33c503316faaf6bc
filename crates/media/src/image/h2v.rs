//! ImageH2V: a landscape image reframed to a vertical (default 9:16) window that keeps the
//! subject. Faces decide first (all of them when they fit, else the dominant one, never a face
//! cut by the window edge), then the salient subject, else the centre. When the important content
//! is wider than any window, the whole image is shown padded over a blurred fill instead.

use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use iprod_core::params::Aspect;
use serde::Serialize;

use crate::vision::faces::Face;
use crate::vision::saliency::{SIDE, SaliencyMap};

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

pub fn plan(width: u32, height: u32, aspect: Aspect, faces: &[Face], saliency: Option<&SaliencyMap>) -> Plan {
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
    let scale = extent_px / SIDE as f32;
    Some(Span { lo: extent.lo as f32 * scale, hi: extent.hi as f32 * scale, weight: extent.centroid * scale })
}

/// Renders the plan: the crop (scaled to `out_width` when given), or the whole image centred
/// over a blurred, darkened fill of the window's shape.
pub fn render(image: &RgbImage, plan: &Plan, aspect: Aspect, out_width: Option<u32>) -> RgbImage {
    let w = plan.window;
    match plan.mode {
        Mode::Crop => {
            let crop = image::imageops::crop_imm(image, w.x, w.y, w.width, w.height).to_image();
            match out_width {
                Some(ow) => {
                    // Exactly the requested shape (the window's own rounding is < 1 px off it).
                    let oh = (ow as f32 * aspect.height as f32 / aspect.width as f32).round().max(1.0) as u32;
                    image::imageops::resize(&crop, ow, oh, FilterType::Lanczos3)
                }
                None => crop,
            }
        }
        Mode::Pad => {
            let target = aspect.width as f32 / aspect.height as f32;
            let (iw, ih) = image.dimensions();
            let (cw, ch) = match out_width {
                Some(ow) => (ow, (ow as f32 / target).round() as u32),
                None if iw as f32 / ih as f32 > target => ((ih as f32 * target).round() as u32, ih),
                None => (iw, (iw as f32 / target).round() as u32),
            };
            let (cw, ch) = (cw.max(1), ch.max(1));
            let source = DynamicImage::ImageRgb8(image.clone());
            let mut canvas = source.resize_to_fill(cw, ch, FilterType::Triangle).to_rgb8();
            canvas = image::imageops::fast_blur(&canvas, cw as f32 / 20.0);
            for p in canvas.pixels_mut() {
                for c in 0..3 {
                    p[c] = (f32::from(p[c]) * 0.7) as u8;
                }
            }
            let scale = (cw as f32 / iw as f32).min(ch as f32 / ih as f32);
            let (fw, fh) =
                (((iw as f32 * scale).round() as u32).max(1), ((ih as f32 * scale).round() as u32).max(1));
            let fitted = image::imageops::resize(image, fw, fh, FilterType::Lanczos3);
            image::imageops::overlay(
                &mut canvas,
                &fitted,
                i64::from((cw - fw) / 2),
                i64::from((ch - fh) / 2),
            );
            canvas
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::Rect;

    fn face(x: f32, y: f32, size: f32) -> Face {
        Face { rect: Rect { x, y, width: size, height: size }, score: 0.9, landmarks: None }
    }

    const V: Aspect = Aspect { width: 9, height: 16 };

    #[test]
    fn all_faces_that_fit_are_framed_together() {
        // 1920x1080 → window 608 wide. Two faces 300 px apart on the right.
        let p = plan(1920, 1080, V, &[face(1300.0, 300.0, 100.0), face(1500.0, 320.0, 90.0)], None);
        assert_eq!(p.mode, Mode::Crop);
        assert_eq!((p.window.width, p.window.height), (608, 1080));
        assert!(p.window.x <= 1300 && p.window.x + p.window.width >= 1590, "{p:?}");
    }

    #[test]
    fn a_dominant_face_wins_and_small_bystanders_are_not_cut() {
        let faces = [face(300.0, 300.0, 200.0), face(1700.0, 400.0, 60.0)];
        let p = plan(1920, 1080, V, &faces, None);
        assert_eq!(p.mode, Mode::Crop);
        assert!(p.window.x <= 300 && p.window.x + p.window.width >= 500, "{p:?}");
    }

    #[test]
    fn peers_too_far_apart_are_padded_not_cut() {
        let p = plan(1920, 1080, V, &[face(100.0, 300.0, 150.0), face(1600.0, 300.0, 150.0)], None);
        assert_eq!(p.mode, Mode::Pad);
        assert_eq!(p.window, Window { x: 0, y: 0, width: 1920, height: 1080 });
    }

    #[test]
    fn nothing_salient_means_the_centre() {
        let p = plan(1000, 500, V, &[], None);
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
        let map = SaliencyMap { values, peak: 0.99 };
        let p = plan(1920, 1080, V, &[], Some(&map));
        assert_eq!((p.mode, p.basis), (Mode::Crop, "saliency"));
        // The subject spans x ≈ 120..480 of 1920.
        assert!(p.window.x <= 120 && p.window.x + p.window.width >= 480, "{p:?}");
    }

    #[test]
    fn pad_render_has_the_window_shape_and_keeps_the_whole_image() {
        let image = RgbImage::from_pixel(400, 200, image::Rgb([200, 10, 10]));
        let plan =
            Plan { window: Window { x: 0, y: 0, width: 400, height: 200 }, mode: Mode::Pad, basis: "faces" };
        let out = render(&image, &plan, V, None);
        assert_eq!(out.dimensions(), (113, 200));
        // The image (scaled to 113x57) sits in the middle; the fill above it is darker.
        assert_eq!(out.get_pixel(56, 100)[0], 200);
        assert!(out.get_pixel(56, 5)[0] < 160);
    }
}
