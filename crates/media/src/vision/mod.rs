//! What is in a picture: faces (CenterFace), the salient subject (U²-Net-p) and text (PP-OCRv5).
//! Shared by the image functions and the video analysis.

pub mod faces;
pub mod framing;
pub mod overlay_text;
pub mod quality;
pub mod saliency;
pub mod text;
pub mod u2net;

/// A rectangle in pixels of the analysed image.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }

    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    pub fn intersection(&self, other: &Rect) -> f32 {
        let w = self.right().min(other.right()) - self.x.max(other.x);
        let h = self.bottom().min(other.bottom()) - self.y.max(other.y);
        w.max(0.0) * h.max(0.0)
    }

    pub fn iou(&self, other: &Rect) -> f32 {
        let inter = self.intersection(other);
        inter / (self.area() + other.area() - inter).max(1e-6)
    }

    pub fn scaled(&self, sx: f32, sy: f32) -> Rect {
        Rect { x: self.x * sx, y: self.y * sy, width: self.width * sx, height: self.height * sy }
    }
}
