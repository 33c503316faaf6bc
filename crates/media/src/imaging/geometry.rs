//! The one box type of the engine's pixel work: a rectangle in whole pixels of the picture (or
//! frame) it was found in. Detections in model coordinates stay `vision::Rect` (fractional).

/// A rectangle in pixels of the image it was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PixelBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl PixelBox {
    /// The area (pixels) this box shares with `other`.
    pub fn intersection(&self, other: &PixelBox) -> u32 {
        let ix = (self.x + self.width).min(other.x + other.width).saturating_sub(self.x.max(other.x));
        let iy = (self.y + self.height).min(other.y + other.height).saturating_sub(self.y.max(other.y));
        ix * iy
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &PixelBox) -> PixelBox {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        let x1 = (self.x + self.width).max(other.x + other.width);
        let y1 = (self.y + self.height).max(other.y + other.height);
        PixelBox { x, y, width: x1 - x, height: y1 - y }
    }
}

impl PixelBox {
    pub const fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }

    /// The box `[x0, x1) × [y0, y1)` (`x0 <= x1`, `y0 <= y1`).
    pub fn from_edges(x0: u32, y0: u32, x1: u32, y1: u32) -> Self {
        Self { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
    }

    /// One past the last column.
    pub fn right(&self) -> u32 {
        self.x + self.width
    }

    /// One past the last row.
    pub fn bottom(&self) -> u32 {
        self.y + self.height
    }

    pub fn area(&self) -> u32 {
        self.width * self.height
    }

    pub fn overlaps(&self, other: &PixelBox) -> bool {
        self.intersection(other) > 0
    }

    /// Intersection over union.
    pub fn iou(&self, other: &PixelBox) -> f32 {
        let inter = self.intersection(other) as f32;
        inter / (self.area() as f32 + other.area() as f32 - inter).max(1.0)
    }

    /// The box's centre, in pixels.
    pub fn centre(&self) -> (f32, f32) {
        (self.x as f32 + self.width as f32 / 2.0, self.y as f32 + self.height as f32 / 2.0)
    }

    /// The box as `(x, y, width, height)`, as ffmpeg's filters take it.
    pub fn xywh(&self) -> (u32, u32, u32, u32) {
        (self.x, self.y, self.width, self.height)
    }
}
