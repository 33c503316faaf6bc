//! Overlay text in a video (idents, URLs, channel names), found by the text detector on sparse
//! samples of the analysis frames and confirmed by persistence: the same line, with the same
//! gradients, at the same place in at least [`MIN_SIGHTINGS`] samples. This holds where the
//! static-overlay statistics cannot tell: a background that stays still for long stretches,
//! faint grey text, and overlays shown for only part of the video.

use image::{Rgb, RgbImage};
use iprod_core::Result;

use super::logo_times::LogoTemplate;
use crate::image::delogo::detect::graphic_beside;
use crate::imaging::geometry::PixelBox;
use crate::imaging::gradients::sobel_grey as sobel;
use crate::onnx::OnnxRuntime;
use crate::vision::Rect;
use crate::vision::overlay_text::{CAPTION_HEIGHT, Placement, placement};
use crate::vision::text::{self, TextLine};

/// Seconds between text samples: an overlay shown for [`SAMPLE_EVERY`] × [`MIN_SIGHTINGS`]
/// seconds or more is seen often enough to be confirmed.
pub const SAMPLE_EVERY: f64 = 1.5;
/// At most this many samples (spread evenly over longer videos): ~150 ms of inference each.
pub const MAX_SAMPLES: usize = 40;
/// The detector reads the 480 px analysis frames scaled up to this long side: small, faint text
/// is found only when scaled up (at 720 a lower-third URL came apart into pieces and scenery
/// read as text; at 960 it was one clean line).
const TEXT_SIDE: u32 = 960;
/// A sample read for a neighbour's sake is read around each of its lines this many line heights…
const READ_MARGIN: f32 = 2.0;
/// …and at least this many analysis pixels.
const MIN_READ_MARGIN: f32 = 16.0;
/// A line must be seen in at least this many samples…
const MIN_SIGHTINGS: usize = 2;
/// …at boxes overlapping this much…
const SAME_PLACE: f32 = 0.4;
/// …with gradients this alike (cosine similarity to the sightings' mean): the same text, not
/// changing captions or dialogue subtitles in one place.
const SAME_TEXT: f32 = 0.5;

/// Picks the grey analysis frames for the text detector, one every [`SAMPLE_EVERY`] seconds.
pub struct TextSampler {
    every: f64,
    next: f64,
    taken: usize,
}

impl TextSampler {
    /// Samples for a video of `duration` seconds: every [`SAMPLE_EVERY`] s, fewer on long videos.
    pub fn new(duration: f64) -> Self {
        let every = SAMPLE_EVERY.max(duration / MAX_SAMPLES as f64);
        Self { every, next: every / 2.0, taken: 0 }
    }

    /// The frame as a sample `(time, pixels)`, when one is due.
    pub fn offer(&mut self, time: f64, pixels: &[u8]) -> Option<(f64, Vec<u8>)> {
        if time + 1e-6 >= self.next && self.taken < MAX_SAMPLES {
            self.next += self.every;
            self.taken += 1;
            return Some((time, pixels.to_vec()));
        }
        None
    }
}

/// Reads the samples as they come (the detector runs while the analysis decode goes on), and
/// confirms the overlay text among them at the end.
///
/// Every other sample is read; the ones between are read only beside a sample that showed
/// overlay-looking text, for its second sighting. Footage without overlay text costs half the
/// reads (the detector is most of the analysis), and an overlay shown for two sampling steps or
/// more is still seen in a read sample and confirmed beside it.
pub struct TextReader {
    width: usize,
    height: usize,
    samples: Vec<(f64, Vec<u8>)>,
    /// Per sample: not read yet, or whether it showed overlay-looking text.
    read: Vec<Option<bool>>,
    /// Per sample: the regions read (the whole frame, or around a neighbour's lines)…
    looked: Vec<Vec<Rect>>,
    /// …and the overlay-looking lines found there.
    lines: Vec<Vec<Rect>>,
    /// Per place where text was seen: in which samples.
    tracks: Vec<Track>,
}

impl TextReader {
    /// For analysis frames of `width` × `height`.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            samples: Vec::new(),
            read: Vec::new(),
            looked: Vec::new(),
            lines: Vec::new(),
            tracks: Vec::new(),
        }
    }

    /// Takes one sample, and reads it or the one before it as needed: a sample due in its own
    /// right is read whole; one read for its neighbour's sake only around the neighbour's lines
    /// (a second sighting is looked for where the first was), at the same scale.
    pub fn offer(&mut self, runtime: &OnnxRuntime, sample: (f64, Vec<u8>)) -> Result<()> {
        self.samples.push(sample);
        self.read.push(None);
        self.looked.push(Vec::new());
        self.lines.push(Vec::new());
        let k = self.samples.len() - 1;
        if due(&self.read, k) {
            let whole = Rect { x: 0.0, y: 0.0, width: self.width as f32, height: self.height as f32 };
            let regions = match k.is_multiple_of(2) {
                true => vec![whole],
                false => self.around_lines_of(k - 1, k),
            };
            self.read_regions(runtime, k, &regions)?;
            // The one before, unread or read only around other lines.
            let partly = |b: usize| self.read[k] == Some(true) && !self.looked[b].iter().any(|r| r == &whole);
            if let Some(before) = due_before(&self.read, k).or(k.checked_sub(1).filter(|b| partly(*b))) {
                let regions = self.around_lines_of(k, before);
                if !regions.is_empty() {
                    self.read_regions(runtime, before, &regions)?;
                }
            }
        }
        Ok(())
    }

    /// The regions of sample `other` to read for the lines sample `k` showed: each line with a
    /// margin, less what `other` was already read over.
    fn around_lines_of(&self, k: usize, other: usize) -> Vec<Rect> {
        let frame = (self.width, self.height);
        let regions = reading_regions(&self.lines[k], frame, self.scale());
        regions.into_iter().filter(|r| !self.looked[other].iter().any(|l| within(r, l))).collect()
    }

    /// Detector pixels per analysis pixel.
    fn scale(&self) -> f32 {
        TEXT_SIDE as f32 / self.width.max(self.height) as f32
    }

    /// Reads `regions` of sample `k` for overlay-looking lines.
    fn read_regions(&mut self, runtime: &OnnxRuntime, k: usize, regions: &[Rect]) -> Result<()> {
        let (width, height) = (self.width, self.height);
        let pixels = &self.samples[k].1;
        let picture = RgbImage::from_fn(width as u32, height as u32, |x, y| {
            let v = pixels[y as usize * width + x as usize];
            Rgb([v, v, v])
        });
        let mut any = self.read[k] == Some(true);
        for region in regions {
            let (x, y) = (region.x as u32, region.y as u32);
            let (w, h) = (region.width as u32, region.height as u32);
            let crop = image::imageops::crop_imm(&picture, x, y, w, h).to_image();
            let side = (w.max(h) as f32 * self.scale()).round() as u32;
            let map = text::probability_map(runtime, &crop, side)?;
            for mut line in text::lines(&map, w, h) {
                line.rect.x += x as f32;
                line.rect.y += y as f32;
                // Without the subject at hand, interior text must be caption-sized to count.
                let overlay = match placement(&picture, &line) {
                    Placement::Edge => true,
                    Placement::Interior => line.line_height() >= CAPTION_HEIGHT * height as f32,
                    Placement::NotOverlay => false,
                };
                if !overlay {
                    continue;
                }
                any = true;
                self.lines[k].push(line.rect);
                match self.tracks.iter_mut().find(|t| t.rect.iou(&line.rect) >= SAME_PLACE) {
                    Some(t) => t.add(k, &line),
                    None => self.tracks.push(Track { rect: line.rect, sightings: vec![k] }),
                }
            }
            self.looked[k].push(*region);
        }
        self.read[k] = Some(any);
        Ok(())
    }

    /// How many samples the detector read.
    pub fn reads(&self) -> usize {
        self.read.iter().flatten().count()
    }

    /// The overlay text confirmed by persistence over the samples read.
    pub fn confirmed(&self) -> Vec<TextMark> {
        confirm(&self.tracks, &self.samples, self.width, self.height)
    }

    /// `mark` over `area` instead (its icon taken in, [`icon_beside`]), its template's gradients
    /// measured again over the samples that confirmed it.
    pub fn widen(&self, mark: &mut TextMark, area: (usize, usize, usize, usize)) {
        let kept: Vec<Vec<(f32, f32)>> =
            mark.sightings.iter().map(|k| box_gradient(&self.samples[*k].1, self.width, area)).collect();
        mark.area = area;
        mark.template = LogoTemplate { width: self.width, area, gradient: mean_gradient(&kept) };
    }
}

/// Whether the newest sample `k` is read: every other one, and one after a sample that showed
/// overlay-looking text (`read`: per sample, not read or whether it showed some).
fn due(read: &[Option<bool>], k: usize) -> bool {
    k.is_multiple_of(2) || k.checked_sub(1).and_then(|i| read[i]) == Some(true)
}

/// The sample before `k` when it is still unread and `k` showed overlay-looking text.
fn due_before(read: &[Option<bool>], k: usize) -> Option<usize> {
    let before = k.checked_sub(1)?;
    (read[k] == Some(true) && read[before].is_none()).then_some(before)
}

/// The regions to read around `lines` in a frame of `width` × `height`: each line grown by
/// [`READ_MARGIN`] line heights (at least [`MIN_READ_MARGIN`] px; the detector sees a line's
/// surroundings), overlapping ones joined, each side a whole number of the detector's 32 px
/// cells at `scale` (so it reads them at the scale a whole frame is read at), inside the frame.
fn reading_regions(lines: &[Rect], (width, height): (usize, usize), scale: f32) -> Vec<Rect> {
    let cell = (32.0 / scale).ceil();
    let grown: Vec<Rect> = lines
        .iter()
        .map(|l| {
            let margin = (READ_MARGIN * l.height.min(l.width)).max(MIN_READ_MARGIN);
            let (x, w) = snap_span((l.x, l.right()), margin, cell, width);
            let (y, h) = snap_span((l.y, l.bottom()), margin, cell, height);
            Rect { x, y, width: w, height: h }
        })
        .collect();
    let mut joined: Vec<Rect> = Vec::new();
    for r in grown {
        match joined.iter_mut().find(|j| j.intersection(&r) > 0.0) {
            Some(j) => {
                let (x, w) = snap_span((j.x.min(r.x), j.right().max(r.right())), 0.0, cell, width);
                let (y, h) = snap_span((j.y.min(r.y), j.bottom().max(r.bottom())), 0.0, cell, height);
                *j = Rect { x, y, width: w, height: h };
            }
            None => joined.push(r),
        }
    }
    joined
}

/// The span `from..to` grown by `margin` each way to a whole number of `cell`s (at least one,
/// at most as many as fit in `limit`), centred on it and moved inside `0..limit`: its start and
/// size.
fn snap_span((from, to): (f32, f32), margin: f32, cell: f32, limit: usize) -> (f32, f32) {
    let limit = limit as f32;
    let size = ((to - from + 2.0 * margin) / cell).ceil() * cell;
    let size = size.min((limit / cell).floor() * cell).max(cell.min(limit));
    let start = ((from + to) / 2.0 - size / 2.0).round().clamp(0.0, limit - size);
    (start, size)
}

/// Whether `r` lies inside `outer`.
fn within(r: &Rect, outer: &Rect) -> bool {
    r.x >= outer.x && r.y >= outer.y && r.right() <= outer.right() && r.bottom() <= outer.bottom()
}

/// A confirmed overlay text block: its box in analysis pixels (x0, y0, x1, y1 exclusive), when
/// it was seen, and its mean gradients (for the presence scores, `presence`).
pub struct TextMark {
    pub area: (usize, usize, usize, usize),
    pub seen: Vec<f64>,
    pub template: LogoTemplate,
    /// The samples it was seen in.
    sightings: Vec<usize>,
}

/// The box of the icon or logo close beside `mark`'s text taken in (`graphic_beside`), when every
/// one of `frames` (colour analysis frames at times the text was seen) shows it at the same place.
/// Colour, not the grey samples: a red icon over foliage is a small step in grey, and in the
/// development set's still trailer the grey frame offered the pavilion's railing instead.
pub fn icon_beside(mark: &TextMark, frames: &[RgbImage]) -> Option<(usize, usize, usize, usize)> {
    let (x0, y0, x1, y1) = mark.area;
    let line = PixelBox::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32);
    let (first, rest) = frames.split_first()?;
    let icon = graphic_beside(first, line)?;
    if !rest.iter().all(|f| graphic_beside(f, line).is_some_and(|other| other.iou(&icon) >= SAME_PLACE)) {
        return None;
    }
    let u = line.union(&icon);
    let (w, h) = first.dimensions();
    let r = Rect { x: u.x as f32, y: u.y as f32, width: u.width as f32, height: u.height as f32 };
    Some(inner_area(r, w as usize, h as usize))
}

/// The tracks seen in at least [`MIN_SIGHTINGS`] samples with the same gradients. `width` ×
/// `height` is the analysis frames' size.
fn confirm(tracks: &[Track], samples: &[(f64, Vec<u8>)], width: usize, height: usize) -> Vec<TextMark> {
    let mut marks = Vec::new();
    for track in tracks {
        if track.sightings.len() < MIN_SIGHTINGS {
            continue;
        }
        let area = inner_area(track.rect, width, height);
        let gradients: Vec<Vec<(f32, f32)>> =
            track.sightings.iter().map(|k| box_gradient(&samples[*k].1, width, area)).collect();
        let mean = mean_gradient(&gradients);
        // Keep the sightings that show the same text; enough of them must remain.
        let same: Vec<usize> = track
            .sightings
            .iter()
            .zip(&gradients)
            .filter(|(_, g)| cosine(g, &mean) >= SAME_TEXT)
            .map(|(k, _)| *k)
            .collect();
        if same.len() < MIN_SIGHTINGS {
            continue;
        }
        let kept: Vec<Vec<(f32, f32)>> =
            same.iter().map(|k| box_gradient(&samples[*k].1, width, area)).collect();
        marks.push(TextMark {
            area,
            seen: same.iter().map(|k| samples[*k].0).collect(),
            template: LogoTemplate { width, area, gradient: mean_gradient(&kept) },
            sightings: same,
        });
    }
    marks
}

/// One place where text was seen, and in which samples.
struct Track {
    rect: Rect,
    sightings: Vec<usize>,
}

impl Track {
    fn add(&mut self, sample: usize, line: &TextLine) {
        // Samples can be read out of order (one read for its neighbour's sake): kept sorted.
        // The union: a line read a little shorter in one frame still belongs.
        let (x0, y0) = (self.rect.x.min(line.rect.x), self.rect.y.min(line.rect.y));
        let x1 = self.rect.right().max(line.rect.right());
        let y1 = self.rect.bottom().max(line.rect.bottom());
        self.rect = Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
        if let Err(at) = self.sightings.binary_search(&sample) {
            self.sightings.insert(at, sample);
        }
    }
}

/// `r` as a box at least one pixel inside the frame (where Sobel is defined).
fn inner_area(r: Rect, w: usize, h: usize) -> (usize, usize, usize, usize) {
    let x0 = (r.x.floor() as usize).clamp(1, w.saturating_sub(2).max(1));
    let y0 = (r.y.floor() as usize).clamp(1, h.saturating_sub(2).max(1));
    let x1 = (r.right().ceil() as usize).clamp(x0 + 1, w - 1);
    let y1 = (r.bottom().ceil() as usize).clamp(y0 + 1, h - 1);
    (x0, y0, x1, y1)
}

fn box_gradient(pixels: &[u8], w: usize, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> Vec<(f32, f32)> {
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .map(|(x, y)| {
            let (gx, gy) = sobel(pixels, w, x, y);
            (gx / 8.0, gy / 8.0)
        })
        .collect()
}

fn mean_gradient(all: &[Vec<(f32, f32)>]) -> Vec<(f32, f32)> {
    let n = all.len().max(1) as f32;
    let mut mean = vec![(0.0f32, 0.0f32); all.first().map_or(0, Vec::len)];
    for g in all {
        for (m, v) in mean.iter_mut().zip(g) {
            m.0 += v.0 / n;
            m.1 += v.1 / n;
        }
    }
    mean
}

fn cosine(a: &[(f32, f32)], b: &[(f32, f32)]) -> f32 {
    let (mut dot, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (p, q) in a.iter().zip(b) {
        dot += p.0 * q.0 + p.1 * q.1;
        aa += p.0 * p.0 + p.1 * p.1;
        bb += q.0 * q.0 + q.1 * q.1;
    }
    dot / (aa.sqrt() * bb.sqrt()).max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_spread_over_the_video() {
        let mut s = TextSampler::new(10.0);
        let times: Vec<f64> =
            (0..20).filter_map(|k| s.offer(f64::from(k) * 0.5, &[0u8; 4])).map(|(t, _)| t).collect();
        assert_eq!(times, vec![1.0, 2.5, 4.0, 5.5, 7.0, 8.5]);
        let mut long = TextSampler::new(600.0);
        let taken: Vec<f64> =
            (0..1200).filter_map(|k| long.offer(f64::from(k) * 0.5, &[0u8; 4])).map(|(t, _)| t).collect();
        assert_eq!(taken.len(), MAX_SAMPLES);
        assert!(taken.last().is_some_and(|t| *t > 580.0));
    }

    #[test]
    fn every_other_sample_is_read_and_the_ones_beside_text_too() {
        // Overlay-looking text in samples 5 to 8 of 12.
        let mut read: Vec<Option<bool>> = Vec::new();
        let mut order = Vec::new();
        for k in 0..12 {
            read.push(None);
            if due(&read, k) {
                read[k] = Some((5..=8).contains(&k));
                order.push(k);
                if let Some(before) = due_before(&read, k) {
                    read[before] = Some((5..=8).contains(&before));
                    order.push(before);
                }
            }
        }
        // 6 shows text: 5 before it is read then, 7 after it as it comes; 8 shows it too, so 9.
        assert_eq!(order, vec![0, 2, 4, 6, 5, 7, 8, 9, 10]);
        let seen: Vec<usize> = (0..12).filter(|k| read[*k] == Some(true)).collect();
        assert_eq!(seen, vec![5, 6, 7, 8]);
    }

    #[test]
    fn a_neighbour_is_read_around_each_line_in_whole_detector_cells_inside_the_frame() {
        let line = |x: f32, y: f32, w: f32, h: f32| Rect { x, y, width: w, height: h };
        // A URL in the lower third and a corner ident; the frame is read at 2× (16 px cells).
        let lines = [line(40.0, 230.0, 120.0, 10.0), line(440.0, 250.0, 36.0, 12.0)];
        let regions = reading_regions(&lines, (480, 270), 2.0);
        assert_eq!(regions.len(), 2, "{regions:?}");
        for (r, l) in regions.iter().zip(&lines) {
            assert!(r.x >= 0.0 && r.y >= 0.0 && r.right() <= 480.0 && r.bottom() <= 270.0, "{r:?}");
            assert_eq!((r.width % 16.0, r.height % 16.0), (0.0, 0.0), "{r:?}");
            // The line with its margin (16 px at least) is inside, as far as the frame allows.
            assert!(r.x <= (l.x - 16.0).max(0.0) && r.right() >= (l.right() + 16.0).min(480.0), "{r:?}");
            assert!(r.y <= l.y - 16.0 && r.bottom() >= (l.bottom() + 16.0).min(270.0), "{r:?}");
        }
        // Two words of one line: one region.
        let words = [line(40.0, 100.0, 50.0, 10.0), line(100.0, 100.0, 50.0, 10.0)];
        assert_eq!(reading_regions(&words, (480, 270), 2.0).len(), 1);
    }

    #[test]
    fn the_same_gradients_agree_and_other_text_does_not() {
        let a = vec![(1.0, 0.0), (0.0, 1.0), (-1.0, 0.5)];
        let b = vec![(0.0, 1.0), (1.0, 0.0), (0.5, -1.0)];
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!(cosine(&a, &b) < SAME_TEXT);
    }
}
