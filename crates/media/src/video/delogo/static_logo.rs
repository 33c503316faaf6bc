//! Static overlays in a video (channel logos, burnt-in watermarks): pixels whose edges stay put
//! while the picture under them changes. Found on sparse analysis frames: per pixel, how often
//! it is on an edge and how much its value varies over time (opaque overlays: persistent edges
//! with little variation), and how consistently its gradient points the same way (semi-
//! transparent overlays: the picture shows through, so values vary, but the overlay's own
//! edges add the same gradient to every frame while the moving picture's average out). Near the
//! border, grouped into boxes.

use iprod_core::params::LogoBox;

use super::logo_times::LogoTemplate;
use crate::imaging::gradients::sobel_grey as sobel;
use crate::imaging::morphology::{components, dilate};

/// An edge stronger than this (Sobel magnitude / 8, grey levels per pixel) counts.
const EDGE: f32 = 12.0;
/// A logo pixel is on an edge in at least this fraction of the frames…
const PERSISTENT: f32 = 0.8;
/// …and its value varies less than this (standard deviation, grey levels).
const STEADY: f32 = 10.0;
/// A semi-transparent overlay's mean gradient (Sobel / 8, signed, averaged over the frames) is
/// at least this strong…
const COHERENT_EDGE: f32 = 10.0;
/// …and at least this share of the gradient's average magnitude: it points the same way in
/// every frame…
const COHERENCE: f32 = 0.95;
/// …and it is there (at least half of [`COHERENT_EDGE`]) in this fraction of the frames. An edge
/// of the picture that a slow zoom or pan sweeps across a pixel also points the same way each
/// time it is there, and a strong one gives a mean as strong as an overlay's while it covers the
/// pixel in a fifth of the frames (the rim of a cup in a slow zoom: two false logos).
const PRESENT: f32 = 0.8;
/// Only overlays within this fraction of the frame from a border are searched.
const BORDER_BAND: f32 = 0.3;
/// A video in which fewer pixels than this share change (temporal standard deviation of at
/// least [`STEADY`]) is a still picture: every edge in it is steady, and a compact cluster of
/// them near a border is the photo's, not a logo (a still flower with a caption shown for its
/// first third: the caption's coming and going was the only change).
const MIN_MOVING: f32 = 0.03;
/// Fewer analysed frames cannot tell a logo from a still scene.
pub const MIN_FRAMES: usize = 8;
/// A frame whose mean step from the last one counted is under this (grey levels) repeats it and
/// is not counted: the statistics weigh distinct pictures, not how long each is held. A
/// slideshow of two photos is two pictures, however many frames show them, and two pictures
/// share edges by chance (a cat's fur and a cup's rim: two false logos when each frame counted).
/// An encoder repeats a held picture exactly; a talking head moves by several levels.
const REPEAT: f32 = 0.5;

/// Per-pixel statistics accumulated over the analysis frames (memory: a few floats per pixel).
pub struct StaticOverlayFinder {
    width: usize,
    height: usize,
    frames: usize,
    edge_count: Vec<u32>,
    /// Per pixel: the frames with a gradient of at least half [`COHERENT_EDGE`].
    present: Vec<u32>,
    mean: Vec<f32>,
    m2: Vec<f32>,
    /// Per pixel: the sums of the signed gradient (x, y) and of its magnitude.
    gradient: Vec<[f32; 3]>,
    /// The last frame counted.
    last: Vec<u8>,
}

impl StaticOverlayFinder {
    pub fn new(width: usize, height: usize) -> Self {
        let n = width * height;
        Self {
            width,
            height,
            frames: 0,
            edge_count: vec![0; n],
            present: vec![0; n],
            mean: vec![0.0; n],
            m2: vec![0.0; n],
            gradient: vec![[0.0; 3]; n],
            last: Vec::new(),
        }
    }

    /// The next analysis frame (grey); one that repeats the last counted is skipped.
    pub fn push(&mut self, pixels: &[u8]) {
        let (w, h) = (self.width, self.height);
        if self.repeats(pixels) {
            return;
        }
        self.last.clear();
        self.last.extend_from_slice(&pixels[..w * h]);
        self.frames += 1;
        let k = self.frames as f32;
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let v = f32::from(pixels[i]);
                // Welford's running variance.
                let delta = v - self.mean[i];
                self.mean[i] += delta / k;
                self.m2[i] += delta * (v - self.mean[i]);
                if x > 0 && y > 0 && x + 1 < w && y + 1 < h {
                    let (gx, gy) = sobel(pixels, w, x, y);
                    if (gx.abs() + gy.abs()) / 8.0 > EDGE {
                        self.edge_count[i] += 1;
                    }
                    let magnitude = gx.hypot(gy) / 8.0;
                    self.present[i] += u32::from(magnitude >= COHERENT_EDGE / 2.0);
                    let g = &mut self.gradient[i];
                    g[0] += gx / 8.0;
                    g[1] += gy / 8.0;
                    g[2] += magnitude;
                }
            }
        }
    }

    /// Whether `pixels` is the last counted frame again, give or take the encoder's noise.
    fn repeats(&self, pixels: &[u8]) -> bool {
        if self.last.len() != self.width * self.height {
            return false;
        }
        let step: u64 = self.last.iter().zip(pixels).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
        (step as f32) < REPEAT * self.last.len() as f32
    }

    /// What `logo` (a box from [`boxes`](Self::boxes)) looks like on average: its pixels' mean
    /// signed gradient (Sobel / 8) over the frames, in analysis pixels.
    pub fn template(&self, logo: &LogoBox) -> LogoTemplate {
        let (w, h) = (self.width, self.height);
        let x0 = ((logo.x * w as f64).floor() as usize).clamp(1, w.saturating_sub(2).max(1));
        let y0 = ((logo.y * h as f64).floor() as usize).clamp(1, h.saturating_sub(2).max(1));
        let x1 = (((logo.x + logo.width) * w as f64).ceil() as usize).clamp(x0 + 1, w - 1);
        let y1 = (((logo.y + logo.height) * h as f64).ceil() as usize).clamp(y0 + 1, h - 1);
        let frames = self.frames.max(1) as f32;
        let gradient = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .map(|(x, y)| {
                let [sx, sy, _] = self.gradient[y * w + x];
                (sx / frames, sy / frames)
            })
            .collect();
        LogoTemplate { width: w, area: (x0, y0, x1, y1), gradient }
    }

    /// Up to `max` boxes (normalised), most prominent first. Empty when the video is too short or
    /// too still to tell.
    pub fn boxes(&self, max: usize) -> Vec<LogoBox> {
        let (w, h) = (self.width, self.height);
        if self.frames < MIN_FRAMES {
            return Vec::new();
        }
        let frames = self.frames as f32;
        let moving = self.m2.iter().filter(|m2| (*m2 / frames).sqrt() >= STEADY).count();
        if (moving as f32) < MIN_MOVING * (w * h) as f32 {
            return Vec::new();
        }
        let steady_edge: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let in_band = (x as f32) < BORDER_BAND * w as f32
                    || (x as f32) > (1.0 - BORDER_BAND) * w as f32
                    || (y as f32) < BORDER_BAND * h as f32
                    || (y as f32) > (1.0 - BORDER_BAND) * h as f32;
                let std = (self.m2[i] / frames).sqrt();
                let opaque = self.edge_count[i] as f32 >= PERSISTENT * frames && std < STEADY;
                let [sx, sy, magnitude] = self.gradient[i];
                let mean = sx.hypot(sy);
                let translucent = mean / frames >= COHERENT_EDGE
                    && mean >= COHERENCE * magnitude
                    && self.present[i] as f32 >= PRESENT * frames;
                in_band && (opaque || translucent)
            })
            .collect();
        // If much of the frame is steady edges, the scene itself is still: nothing to tell apart.
        let share = steady_edge.iter().filter(|s| **s).count() as f32 / (w * h) as f32;
        if share > 0.05 {
            return Vec::new();
        }
        let r = (w / 80).max(2);
        let grown = dilate(&steady_edge, w, h, r);
        // The smallest logo side (analysis pixels, 8 at 480 px wide): a few steady pixels are a
        // fragment (e.g. of a logo shown too briefly to be found whole), not a logo.
        let min_side = (w / 60).max(4) + 2 * r;
        let mut found: Vec<(usize, usize, usize, usize, usize)> = components(&grown, w, h)
            .into_iter()
            .filter(|c| {
                let (bw, bh) = (c.2 - c.0 + 1, c.3 - c.1 + 1);
                // Logos are compact: not a fragment, not a large part of the frame.
                bw >= min_side && bh >= min_side && bw * bh <= w * h / 8 && bw <= w / 2 && bh <= h / 2
            })
            .collect();
        found.sort_by_key(|c| std::cmp::Reverse(c.4));
        found
            .into_iter()
            .take(max)
            // Undo the dilation (it only joined the strokes), with one pixel to spare.
            .map(|(x0, y0, x1, y1, n)| {
                (
                    x0 + r - 1,
                    y0 + r - 1,
                    x1.saturating_sub(r - 1).max(x0 + r),
                    y1.saturating_sub(r - 1).max(y0 + r),
                    n,
                )
            })
            .map(|(x0, y0, x1, y1, _)| LogoBox {
                x: x0 as f64 / w as f64,
                y: y0 as f64 / h as f64,
                width: (x1 - x0 + 1) as f64 / w as f64,
                height: (y1 - y0 + 1) as f64 / h as f64,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_mark_over_changing_noise_is_boxed() {
        let (w, h) = (160, 90);
        let mut finder = StaticOverlayFinder::new(w, h);
        for f in 0..12u32 {
            let pixels: Vec<u8> = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    if (130..150).contains(&x) && (8..20).contains(&y) {
                        if (134..146).contains(&x) && (11..17).contains(&y) { 250 } else { 10 }
                    } else {
                        // Smooth, moving content: no steady edges.
                        ((x as u32 * 2 + y as u32 + f * 37) % 200) as u8 / 4 + 60
                    }
                })
                .collect();
            finder.push(&pixels);
        }
        let boxes = finder.boxes(2);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        assert!((b.x * 160.0 - 130.0).abs() < 6.0 && (b.y * 90.0 - 8.0).abs() < 6.0, "{b:?}");
    }

    #[test]
    fn a_still_picture_tells_nothing() {
        // The same mark, but nothing around it ever changes: its edges are no steadier than
        // the picture's.
        let (w, h) = (160, 90);
        let mut finder = StaticOverlayFinder::new(w, h);
        let pixels: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                if (134..146).contains(&x) && (11..17).contains(&y) { 250 } else { 60 }
            })
            .collect();
        for _ in 0..12 {
            finder.push(&pixels);
        }
        assert!(finder.boxes(2).is_empty());
    }

    #[test]
    fn a_slideshow_counts_each_picture_once() {
        // Two pictures held for 6 frames each, sharing an edge by chance where a logo would be:
        // two pictures are too few to call it an overlay.
        let (w, h) = (160, 90);
        let mut finder = StaticOverlayFinder::new(w, h);
        for f in 0..12u32 {
            let picture = f / 6;
            let pixels: Vec<u8> = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    if (134..146).contains(&x) && (11..17).contains(&y) {
                        250
                    } else {
                        ((x as u32 * 2 + y as u32 + picture * 90) % 200) as u8 / 4 + 60
                    }
                })
                .collect();
            finder.push(&pixels);
        }
        assert_eq!(finder.frames, 2);
        assert!(finder.boxes(2).is_empty());
    }
}
