//! Filling a logo over a still picture with the best spatial fill. Where the picture under and
//! around a logo holds still (a photo held on screen, a title card, a locked-off shot), nothing
//! can be un-blended (the statistics see no spread) and no other frame shows what the logo hides
//! (the camera does not move); `delogo`, which interpolates each pixel from the box's edges,
//! leaves a smear. ImageDelogo's fill does better on one picture: Telea or patches, whichever
//! rebuilds the mark's shape better in known places beside it, over the mark's own pixels only.
//!
//! So the statistics' decode also watches, per box, whether the ring of picture around it holds
//! still ([`StillTracker`]); for each still stretch that shows the logo, one frame is decoded at
//! full resolution, its box filled as ImageDelogo fills a photo, and the render lays that filled
//! box over the `delogo` fill while the stretch lasts. When the same still stretch also has a
//! moment without the logo (a caption shown for part of a held shot), that frame's box is the
//! picture itself and is laid over instead. Elsewhere `delogo` (or the fill from other frames,
//! where the camera moves) stays.

use std::path::{Path, PathBuf};

use iprod_core::{Error, Result};

use super::Logo;
use super::removal::{Removal, crop_420};
use super::unblend::{self, Region};
use crate::image::delogo::mask::overlay_mask;
use crate::image::delogo::patchmatch::{Fill, fill_best};
use crate::imaging::geometry::PixelBox;
use crate::video::frames::{AnalysisSpec, Decode, Pixels, frame_at, yuv420_to_rgb};

/// A still stretch shorter than this (seconds) keeps `delogo`: a fill that shows for a moment
/// would flicker more than it hides.
const MIN_STILL: f64 = 1.0;
/// At most this many still stretches are filled per job, the longest first: each costs a seek,
/// a fill and one more input to the render.
const MAX_FILLS: usize = 8;
/// The ring around a box holds still while its mean luma step from the stretch's first frame
/// stays under this (grey levels). An encoder repeats a still picture exactly (x264 skips its
/// blocks: 0.00); a slow zoom over smooth sky drifts by 0.7 within a second, and a fill taken
/// from a frame a second away then no longer matches.
const STILL_MEAN: f64 = 0.5;
/// A ring pixel that steps by more than this has moved …
const MOVED_STEP: u8 = 12;
/// … and the ring holds still while at most this share of its pixels moved (a hand entering
/// the frame beside the logo moves a few percent of the ring and little of its mean).
const MOVED_SHARE: f64 = 0.01;
/// A ring of fewer pixels than this says too little to call the picture still.
const MIN_RING: usize = 32;
/// Neighbourhood of known pixels each filled pixel is estimated from (as ImageDelogo's).
const RADIUS: u32 = 7;

/// Watches whether the picture around one box holds still, over the statistics' frames (the
/// region around the box, 4:2:0, luma read).
pub struct StillTracker {
    region: Region,
    /// The luma of the current stretch's first frame.
    reference: Vec<u8>,
    /// The current stretch's first and last frame times.
    current: Option<(f64, f64)>,
    stretches: Vec<(f64, f64)>,
}

impl StillTracker {
    pub fn new(region: Region) -> Self {
        Self { region, reference: Vec::new(), current: None, stretches: Vec::new() }
    }

    /// The next region frame (times in order).
    pub fn push(&mut self, time: f64, yuv: &[u8]) {
        let luma = (self.region.width * self.region.height) as usize;
        let Some(luma) = yuv.get(..luma) else { return };
        match self.current {
            Some((first, _)) if self.holds(luma) => self.current = Some((first, time)),
            _ => {
                // The change came between the last still frame and this one: the stretch runs
                // to halfway (a cut then shows at most half a sampling step of the old fill or
                // of `delogo`, not a whole step of `delogo`'s smear).
                if let Some((_, last)) = &mut self.current {
                    *last = (*last + time) / 2.0;
                }
                self.close();
                self.reference.clear();
                self.reference.extend_from_slice(luma);
                self.current = Some((time, time));
            }
        }
    }

    /// The stretches the ring held still for at least [`MIN_STILL`]: from their first frame's
    /// time to halfway to the frame that changed, or to the video's end (`duration`).
    pub fn finish(mut self, duration: f64) -> Vec<(f64, f64)> {
        if let Some((_, last)) = &mut self.current {
            *last = last.max(duration);
        }
        self.close();
        self.stretches
    }

    fn close(&mut self) {
        if let Some((first, last)) = self.current.take()
            && last - first >= MIN_STILL
        {
            self.stretches.push((first, last));
        }
    }

    /// Whether `luma`'s ring (the region outside the box) is the reference's, give or take noise.
    fn holds(&self, luma: &[u8]) -> bool {
        let (w, inner) = (self.region.width as usize, self.region.inner);
        let (x0, x1) = (inner.x as usize, (inner.x + inner.width) as usize);
        let rows = inner.y as usize..(inner.y + inner.height) as usize;
        let (mut ring, mut sum, mut moved) = (0usize, 0u64, 0usize);
        for (y, (now, then)) in luma.chunks_exact(w).zip(self.reference.chunks_exact(w)).enumerate() {
            // Rows through the box: only the parts either side of it.
            let parts = if rows.contains(&y) { [0..x0.min(w), x1.min(w)..w] } else { [0..w, w..w] };
            for part in parts {
                for (&a, &b) in now[part.clone()].iter().zip(&then[part]) {
                    let step = a.abs_diff(b);
                    ring += 1;
                    sum += u64::from(step);
                    moved += usize::from(step > MOVED_STEP);
                }
            }
        }
        ring >= MIN_RING
            && (sum as f64) < STILL_MEAN * ring as f64
            && (moved as f64) <= MOVED_SHARE * ring as f64
    }
}

/// One still stretch of one logo while it is shown (`range`, seconds), and a time in the same
/// stretch when it is not (`clean`, at least [`CLEAN_MARGIN`] from when it is): there the box
/// shows the very picture the logo hides.
#[derive(Debug, Clone, PartialEq)]
pub struct StillRange {
    pub logo: usize,
    pub range: (f64, f64),
    pub clean: Option<f64>,
}

/// A clean frame is taken this far (seconds) from when the logo is shown: the ends of its
/// ranges are measured 5 times a second, and an overlay may fade.
const CLEAN_MARGIN: f64 = 0.5;
/// The box of the clean frame must differ from the shown frame's by this much (mean luma step,
/// grey levels) to be taken: within a still stretch only the logo differs, so a clean frame
/// that shows the same box shows the logo too (its ranges were wrong).
const CLEAN_DIFFERS: f64 = 2.0;

/// How a still stretch's box was made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// Filled in the frame in the stretch's middle.
    Filled(Fill),
    /// Taken from the frame at this time, in the same still stretch, that does not show the logo.
    Revealed(f64),
}

/// One still stretch of one logo, done: laid over the logo's box (`rect`, on even coordinates)
/// from `range.0` to `range.1` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct StillFill {
    /// The logo's index.
    pub logo: usize,
    pub range: (f64, f64),
    pub rect: PixelBox,
    /// The box, a one-frame 4:2:0 YUV4MPEG file (one of the render's inputs).
    pub path: PathBuf,
    pub source: Source,
}

/// The still stretches worth a spatial fill: for each logo `delogo` fills, the parts of its
/// still stretches (`still`, per logo) while it is shown, at least [`MIN_STILL`] long, each with
/// the stretch's clean time if it has one; at most [`MAX_FILLS`], the longest, in time order per
/// logo.
pub fn ranges(
    logos: &[(Logo, PixelBox)],
    removals: &[Removal],
    still: &[Vec<(f64, f64)>],
) -> Vec<StillRange> {
    let mut out: Vec<StillRange> = Vec::new();
    for (n, ((logo, _), removal)) in logos.iter().zip(removals).enumerate() {
        if !matches!(removal, Removal::Fill(_)) {
            continue;
        }
        for &(a, b) in still.get(n).map_or(&[][..], Vec::as_slice) {
            let clean = clean_time((a, b), &logo.shown);
            for &(s, e) in &logo.shown {
                let (from, to) = (a.max(s), b.min(e));
                if to - from >= MIN_STILL {
                    out.push(StillRange { logo: n, range: (from, to), clean });
                }
            }
        }
    }
    let length = |r: &StillRange| r.range.1 - r.range.0;
    out.sort_by(|x, y| length(y).total_cmp(&length(x)));
    out.truncate(MAX_FILLS);
    out.sort_by(|x, y| x.logo.cmp(&y.logo).then(x.range.0.total_cmp(&y.range.0)));
    out
}

/// The middle of the longest part of `stretch` at least [`CLEAN_MARGIN`] from every `shown`
/// range, if there is one.
fn clean_time((a, b): (f64, f64), shown: &[(f64, f64)]) -> Option<f64> {
    let mut busy: Vec<(f64, f64)> = shown.iter().map(|(s, e)| (s - CLEAN_MARGIN, e + CLEAN_MARGIN)).collect();
    busy.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (mut from, mut best) = (a, None::<(f64, f64)>);
    for (s, e) in busy.into_iter().chain([(b, b)]) {
        let gap = (from, s.min(b));
        if gap.1 > gap.0 && best.is_none_or(|g| gap.1 - gap.0 > g.1 - g.0) {
            best = Some(gap);
        }
        from = from.max(e);
    }
    best.map(|(s, e)| (s + e) / 2.0)
}

/// For each of `ranges`, the box the render lays over the logo, written into `work`: taken from
/// the stretch's clean frame where it has one that differs from the shown one, otherwise the
/// frame in the range's middle filled (its overlay's pixels only, by [`fill_best`]); frames
/// decoded at full resolution.
pub async fn prepare(
    source: &crate::video::Source<'_>,
    logos: &[(Logo, PixelBox)],
    ranges: &[StillRange],
    work: &Path,
) -> Result<Vec<StillFill>> {
    let mut fills = Vec::new();
    for (k, still) in ranges.iter().enumerate() {
        let Some((_, pixels)) = logos.get(still.logo) else { continue };
        let (from, to) = still.range;
        let Some((frame, size)) = full_frame(source, (from + to) / 2.0).await? else { continue };
        let clean = match still.clean {
            Some(time) => full_frame(source, time).await?.map(|(f, _)| (time, f)),
            None => None,
        };
        let (pixels, path, still) = (*pixels, work.join(format!("still-fill-{k}.y4m")), still.clone());
        let making = move || {
            let rect = even_rect(pixels, size);
            let revealed = clean.filter(|(_, c)| box_step(&frame, c, size, pixels) >= CLEAN_DIFFERS);
            let (yuv, source) = match revealed {
                Some((time, clean)) => {
                    let mut yuv = Vec::new();
                    crop_420(&clean, size, rect, &mut yuv);
                    (yuv, Source::Revealed(time))
                }
                None => {
                    let (yuv, fill) = fill_box(&frame, size, pixels);
                    (yuv, Source::Filled(fill))
                }
            };
            unblend::write_y4m(&path, rect.width, rect.height, &yuv)
                .map_err(|e| Error::internal(format!("writing a still fill failed: {e}")))?;
            Ok(StillFill { logo: still.logo, range: still.range, rect, path, source })
        };
        fills.push(crate::blocking::run("the still fill", making).await?);
    }
    Ok(fills)
}

/// The frame at `time`, 4:2:0 at full resolution (even-sized): an exact seek.
async fn full_frame(source: &crate::video::Source<'_>, time: f64) -> Result<Option<(Vec<u8>, (u32, u32))>> {
    let width = source.info.width;
    let spec = AnalysisSpec { width, fps: None, pixels: Pixels::Yuv420, decode: Decode::Full };
    frame_at(source, &spec, time).await
}

/// The mean luma step between two 4:2:0 frames of `size` over `pixels`.
fn box_step(a: &[u8], b: &[u8], (w, _): (u32, u32), pixels: PixelBox) -> f64 {
    let (x, y, bw, bh) = pixels.xywh();
    let (mut sum, mut n) = (0u64, 0u64);
    for row in y..y + bh {
        let at = (row * w + x) as usize..(row * w + x + bw) as usize;
        let (Some(p), Some(q)) = (a.get(at.clone()), b.get(at)) else { continue };
        sum += p.iter().zip(q).map(|(p, q)| u64::from(p.abs_diff(*q))).sum::<u64>();
        n += u64::from(bw);
    }
    sum as f64 / n.max(1) as f64
}

/// `pixels` grown to even coordinates and size inside a frame of `(w, h)` (both even).
fn even_rect(pixels: PixelBox, (w, h): (u32, u32)) -> PixelBox {
    let (x0, y0) = (pixels.x & !1, pixels.y & !1);
    let x1 = ((pixels.x + pixels.width + 1) & !1).clamp(x0 + 2, w);
    let y1 = ((pixels.y + pixels.height + 1) & !1).clamp(y0 + 2, h);
    PixelBox::new(x0, y0, x1 - x0, y1 - y0)
}

/// Fills the overlay's pixels of `pixels` in a 4:2:0 frame of `size`: the 4:2:0 planes of its
/// [`even_rect`] (unfilled pixels as they were) and how it was filled.
fn fill_box(frame: &[u8], (w, h): (u32, u32), pixels: PixelBox) -> (Vec<u8>, Fill) {
    let rect = even_rect(pixels, (w, h));
    let (x0, y0) = (rect.x, rect.y);
    let mut original = Vec::new();
    crop_420(frame, (w, h), rect, &mut original);
    let Some(mut image) = yuv420_to_rgb(frame, w as usize, h as usize) else {
        return (original, Fill::Telea);
    };
    let mask = overlay_mask(&image, pixels);
    let fill = fill_best(&mut image, &mask, RADIUS);
    let (rw, rh) = (rect.width as usize, rect.height as usize);
    let mut out = original;
    let (luma, cw) = (rw * rh, rw / 2);
    let masked = |x: usize, y: usize| mask.get_pixel(x0 + x as u32, y0 + y as u32).0[0] > 0;
    let colour = |x: usize, y: usize| to_yuv(image.get_pixel(x0 + x as u32, y0 + y as u32).0);
    for y in 0..rh {
        for x in 0..rw {
            if masked(x, y) {
                out[y * rw + x] = colour(x, y)[0];
            }
        }
    }
    // Chroma: a 2×2 block with a filled pixel takes the mean of its four pixels' colours.
    for by in 0..rh / 2 {
        for bx in 0..cw {
            let block =
                [(2 * bx, 2 * by), (2 * bx + 1, 2 * by), (2 * bx, 2 * by + 1), (2 * bx + 1, 2 * by + 1)];
            if !block.iter().any(|&(x, y)| masked(x, y)) {
                continue;
            }
            let mean = |c: usize| {
                let sum: f32 = block.iter().map(|&(x, y)| f32::from(colour(x, y)[c])).sum();
                (sum / 4.0).round() as u8
            };
            out[luma + by * cw + bx] = mean(1);
            out[luma + luma / 4 + by * cw + bx] = mean(2);
        }
    }
    (out, fill)
}

/// BT.601 limited-range Y'CbCr of an RGB colour: the inverse of [`yuv420_to_rgb`]'s conversion.
fn to_yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [
        clamp(16.0 + 0.257 * r + 0.504 * g + 0.098 * b),
        clamp(128.0 - 0.148 * r - 0.291 * g + 0.439 * b),
        clamp(128.0 + 0.439 * r - 0.368 * g - 0.071 * b),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_time_keeps_clear_of_when_the_logo_is_shown() {
        // Shown 2–4 s of a 0–10 s stretch: 4.5–10 is the longest clear part.
        assert_eq!(clean_time((0.0, 10.0), &[(2.0, 4.0)]), Some(7.25));
        assert_eq!(clean_time((0.0, 10.0), &[(0.0, 10.0)]), None);
        // Shown from the start to 9.8 s: 10.3 is past the stretch's end.
        assert_eq!(clean_time((0.0, 10.0), &[(0.0, 9.8)]), None);
        assert_eq!(clean_time((5.0, 9.0), &[(0.0, 3.0), (8.0, 10.0)]), Some(6.25));
    }
    use crate::video::delogo::unblend::NotBlended;
    use iprod_core::params::LogoBox;

    fn region() -> Region {
        Region { x: 0, y: 0, width: 20, height: 12, inner: PixelBox::new(6, 4, 8, 4) }
    }

    /// A 4:2:0 frame of the region: a gradient ring, `inside` in the box, `shift` added to the
    /// ring.
    fn frame(inside: u8, shift: u8) -> Vec<u8> {
        let r = region();
        let mut yuv = vec![128; r.frame_bytes()];
        for y in 0..r.height {
            for x in 0..r.width {
                let boxed = (6..14).contains(&x) && (4..8).contains(&y);
                yuv[(y * r.width + x) as usize] = if boxed { inside } else { (40 + 8 * x) as u8 + shift };
            }
        }
        yuv
    }

    #[test]
    fn still_stretches_end_where_the_ring_changes_not_where_the_box_does() {
        let mut tracker = StillTracker::new(region());
        // 0–2 s: still, while the box's content changes (the logo coming and going).
        for i in 0..=20 {
            tracker.push(f64::from(i) * 0.1, &frame(if i % 5 == 0 { 250 } else { 10 }, 0));
        }
        // A cut at 2.1 s: a new still picture to 3.5 s; then 0.5 s of motion (too short).
        for i in 21..=35 {
            tracker.push(f64::from(i) * 0.1, &frame(10, 30));
        }
        for i in 36..=40 {
            tracker.push(f64::from(i) * 0.1, &frame(10, (i * 7 % 50) as u8));
        }
        let stretches = tracker.finish(4.04);
        assert_eq!(stretches.len(), 2, "{stretches:?}");
        assert!((stretches[0].0 - 0.0).abs() < 1e-9 && (stretches[0].1 - 2.05).abs() < 1e-9, "{stretches:?}");
        assert!((stretches[1].0 - 2.1).abs() < 1e-9 && (stretches[1].1 - 3.55).abs() < 1e-9, "{stretches:?}");
    }

    #[test]
    fn noise_around_a_still_box_keeps_it_still() {
        let mut tracker = StillTracker::new(region());
        for i in 0..=15 {
            let mut f = frame(10, 0);
            // A level of re-encoding noise on every fourth pixel.
            f.iter_mut().step_by(4).for_each(|v| *v = v.saturating_add((i % 2) as u8));
            tracker.push(f64::from(i) * 0.1, &f);
        }
        // Still to the last frame: to the video's end.
        assert_eq!(tracker.finish(1.54), vec![(0.0, 1.54)]);
    }

    #[test]
    fn only_filled_logos_get_still_ranges_while_shown_longest_first() {
        let area = LogoBox { x: 0.0, y: 0.0, width: 0.1, height: 0.1 };
        let logos = [
            (Logo { area, shown: vec![(0.0, 3.0), (5.0, 10.0)] }, PixelBox::new(4, 4, 10, 10)),
            (Logo::whole(area, 10.0), PixelBox::new(40, 4, 10, 10)),
            (Logo::whole(area, 10.0), PixelBox::new(80, 4, 10, 10)),
        ];
        let removals = [
            Removal::Fill(NotBlended::StillPicture),
            Removal::Fill(NotBlended::Opaque),
            Removal::Left(NotBlended::TooLarge, 0.5),
        ];
        let still = vec![vec![(1.0, 6.5)], vec![(0.0, 0.5), (2.0, 9.0)], vec![(0.0, 10.0)]];
        let got: Vec<_> =
            ranges(&logos, &removals, &still).into_iter().map(|r| (r.logo, r.range, r.clean)).collect();
        // The first logo is shown in two parts of its stretch; 5.0–6.5 and 1.0–3.0 qualify, and
        // 3.5–4.5 of the stretch is clear of both (with the margin): its middle is clean.
        assert_eq!(got, vec![(0, (1.0, 3.0), Some(4.0)), (0, (5.0, 6.5), Some(4.0)), (1, (2.0, 9.0), None)]);
    }

    #[test]
    fn a_still_frames_mark_is_filled_from_the_picture_around_it() {
        // A 64×32 grey frame with a white 10×6 mark at (21, 13): the box covers it and more.
        let (w, h) = (64u32, 32u32);
        let mut frame = vec![100u8; (w * h) as usize * 3 / 2];
        frame[(w * h) as usize..].fill(128);
        for y in 13..19 {
            for x in 21..31 {
                frame[(y * w + x) as usize] = 235;
            }
        }
        let pixels = PixelBox::new(17, 11, 18, 10);
        assert_eq!(even_rect(pixels, (w, h)), PixelBox::new(16, 10, 20, 12));
        let (yuv, _) = fill_box(&frame, (w, h), pixels);
        assert_eq!(yuv.len(), 20 * 12 * 3 / 2);
        // The mark is gone: every luma sample is the grey around it (give or take rounding).
        assert!(yuv[..240].iter().all(|&v| v.abs_diff(100) <= 2), "{:?}", &yuv[..240]);
        assert!(yuv[240..].iter().all(|&v| v.abs_diff(128) <= 2));
    }
}
