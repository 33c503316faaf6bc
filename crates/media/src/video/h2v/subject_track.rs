//! Follows the salient subject between two saliency maps. A map costs ~0.15 s (U²-Net-p), so
//! video analysis makes one per shot and refreshes it every few seconds; in between, a subject
//! that moves (a cyclist crossing the frame) is found again by block matching: the luma inside
//! the map's salient box is the template, searched for in each later frame around where it was
//! (sum of absolute differences, coarse then fine). About a millisecond a frame.

use crate::vision::saliency::SaliencyMap;

/// A match worse than this (mean absolute difference, grey levels) has lost the subject.
const LOST: f32 = 40.0;

pub struct SubjectTrack {
    width: usize,
    height: usize,
    /// The subject's box in frame pixels: x, y, w, h.
    area: (usize, usize, usize, usize),
    template: Vec<u8>,
    lost: bool,
}

impl SubjectTrack {
    /// The subject of `map` in `luma` (`width`×`height`, the frame the map was made from);
    /// `None` when nothing is salient or the salient part is most of the frame (nothing to follow).
    pub fn start(map: &SaliencyMap, luma: &[u8], width: usize, height: usize) -> Option<Self> {
        let (across, down) = (map.extent(true)?, map.extent(false)?);
        let (x0, x1, y0, y1) = (across.lo, across.hi, down.lo, down.hi);
        let (sx, sy) = (width as f32 / map.width as f32, height as f32 / map.height as f32);
        let x = (x0 as f32 * sx) as usize;
        let y = (y0 as f32 * sy) as usize;
        let w = ((x1 - x0) as f32 * sx).ceil() as usize;
        let h = ((y1 - y0) as f32 * sy).ceil() as usize;
        if w < 4 || h < 4 || w > width * 4 / 5 || x + w > width || y + h > height {
            return None;
        }
        let mut track = Self { width, height, area: (x, y, w, h), template: Vec::new(), lost: false };
        track.template = track.cut(luma, x, y);
        Some(track)
    }

    /// Finds the subject in the next frame; its horizontal centre there (frame pixels). Once
    /// lost, it stays where it was last seen.
    pub fn follow(&mut self, luma: &[u8]) -> f32 {
        if self.lost || luma.len() < self.width * self.height {
            return self.center();
        }
        let (x, y, w, h) = self.area;
        let reach = (self.width / 10).max(4) as isize;
        let (reach_x, reach_y) = (reach, (reach / 4).max(2));
        let place = |dx: isize, dy: isize| {
            let (nx, ny) = (x as isize + dx, y as isize + dy);
            (nx >= 0 && ny >= 0 && nx as usize + w <= self.width && ny as usize + h <= self.height)
                .then_some((nx as usize, ny as usize))
        };
        let mut best = (f32::MAX, 0isize, 0isize);
        let consider = |dx: isize, dy: isize, best: &mut (f32, isize, isize)| {
            if let Some((nx, ny)) = place(dx, dy) {
                let cost = self.difference(luma, nx, ny);
                if cost < best.0 {
                    *best = (cost, dx, dy);
                }
            }
        };
        for dy in (-reach_y..=reach_y).step_by(2) {
            for dx in (-reach_x..=reach_x).step_by(2) {
                consider(dx, dy, &mut best);
            }
        }
        let (_, cx, cy) = best;
        for dy in cy - 1..=cy + 1 {
            for dx in cx - 1..=cx + 1 {
                consider(dx, dy, &mut best);
            }
        }
        let (cost, dx, dy) = best;
        if cost > LOST {
            self.lost = true;
            return self.center();
        }
        let (nx, ny) = place(dx, dy).unwrap_or((x, y));
        self.area = (nx, ny, w, h);
        // The template follows the subject's look as it turns or changes size.
        self.template = self.cut(luma, nx, ny);
        self.center()
    }

    /// The subject's horizontal centre now (frame pixels).
    pub fn center(&self) -> f32 {
        self.area.0 as f32 + self.area.2 as f32 / 2.0
    }

    fn cut(&self, luma: &[u8], x: usize, y: usize) -> Vec<u8> {
        let (_, _, w, h) = self.area;
        (y..y + h)
            .flat_map(|row| luma[row * self.width + x..row * self.width + x + w].iter().copied())
            .collect()
    }

    /// Mean absolute difference between the template and `luma` at (x, y), every other pixel.
    fn difference(&self, luma: &[u8], x: usize, y: usize) -> f32 {
        let (_, _, w, h) = self.area;
        let (mut sum, mut count) = (0u32, 0u32);
        for row in (0..h).step_by(2) {
            let frame = &luma[(y + row) * self.width + x..(y + row) * self.width + x + w];
            let template = &self.template[row * w..(row + 1) * w];
            for (a, b) in frame.iter().zip(template).step_by(2) {
                sum += u32::from(a.abs_diff(*b));
                count += 1;
            }
        }
        sum as f32 / count.max(1) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::saliency::SIDE;

    /// A 320×180 frame: a textured 40×40 square at `x` over a smooth gradient.
    fn frame(x: usize) -> Vec<u8> {
        (0..320 * 180)
            .map(|i| {
                let (px, py) = (i % 320, i / 320);
                if (x..x + 40).contains(&px) && (70..110).contains(&py) {
                    if (px - x) / 8 % 2 == (py - 70) / 8 % 2 { 230 } else { 30 }
                } else {
                    (60 + px / 8) as u8
                }
            })
            .collect()
    }

    fn map_of(x: usize) -> SaliencyMap {
        // The square in map coordinates (320×320 stretched over 320×180).
        let values = (0..SIDE * SIDE)
            .map(|i| {
                let (mx, my) = (i % SIDE, i / SIDE);
                let y = my * 180 / SIDE;
                f32::from(u8::from((x..x + 40).contains(&mx) && (70..110).contains(&y)))
            })
            .collect();
        SaliencyMap { values, width: SIDE, height: SIDE, peak: 0.99 }
    }

    #[test]
    fn a_moving_subject_is_found_again_frame_after_frame() {
        let mut track = SubjectTrack::start(&map_of(40), &frame(40), 320, 180).unwrap();
        let first = track.center();
        let mut shift = 0.0;
        for x in (52..=220).step_by(12) {
            shift = track.follow(&frame(x)) - first;
        }
        assert!((shift - 180.0).abs() <= 2.0, "moved 180 px, followed {shift}");
        assert!((track.center() - 240.0).abs() <= 3.0, "{}", track.center());
    }

    #[test]
    fn nothing_salient_is_nothing_to_follow() {
        let empty = SaliencyMap { values: vec![0.0; SIDE * SIDE], width: SIDE, height: SIDE, peak: 0.1 };
        assert!(SubjectTrack::start(&empty, &frame(40), 320, 180).is_none());
    }
}
