//! A picture turned about its centre by any angle, onto a canvas that holds all of it, with the
//! maps between the two frames: work done on the turned copy (a diagonal mark made level) can be
//! carried back to the picture.

use image::{Rgb, RgbImage};

use super::sample::bilinear_rgb;

/// A picture turned by `degrees` (image coordinates, y down: a positive angle turns the
/// picture's x axis towards its y axis, clockwise as seen).
pub struct Turned {
    pub image: RgbImage,
    /// sin and cos of the angle.
    sin: f64,
    cos: f64,
    /// Centres of the source and of the canvas.
    from_centre: (f64, f64),
    to_centre: (f64, f64),
}

impl Turned {
    /// `image` turned by `degrees`, sampled bilinearly; canvas pixels beyond the picture take
    /// its nearest edge (no hard black corner for a detector to read as an edge).
    pub fn new(image: &RgbImage, degrees: f64) -> Self {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (w, h) = (f64::from(image.width()), f64::from(image.height()));
        let (tw, th) = ((w * cos.abs() + h * sin.abs()).ceil(), (w * sin.abs() + h * cos.abs()).ceil());
        let mut turned = Turned {
            image: RgbImage::new(1, 1),
            sin,
            cos,
            from_centre: (w / 2.0, h / 2.0),
            to_centre: (tw / 2.0, th / 2.0),
        };
        turned.image = RgbImage::from_fn(tw as u32, th as u32, |x, y| {
            let (sx, sy) = turned.back(f64::from(x) + 0.5, f64::from(y) + 0.5);
            sample(image, sx - 0.5, sy - 0.5)
        });
        turned
    }

    /// A point of the picture (pixel units, 0 at its top-left corner) on the canvas.
    pub fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.from_centre.0, y - self.from_centre.1);
        (dx * self.cos - dy * self.sin + self.to_centre.0, dx * self.sin + dy * self.cos + self.to_centre.1)
    }

    /// A point of the canvas in the picture.
    pub fn back(&self, x: f64, y: f64) -> (f64, f64) {
        let (dx, dy) = (x - self.to_centre.0, y - self.to_centre.1);
        (
            dx * self.cos + dy * self.sin + self.from_centre.0,
            -dx * self.sin + dy * self.cos + self.from_centre.1,
        )
    }
}

/// Bilinear sample of `image` at (x, y) (pixel centres at whole numbers), clamped to its edges,
/// rounded to a pixel.
fn sample(image: &RgbImage, x: f64, y: f64) -> Rgb<u8> {
    Rgb(bilinear_rgb(image, x as f32, y as f32).map(|v| v.round().clamp(0.0, 255.0) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_go_there_and_back_and_the_canvas_holds_the_picture() {
        let img = RgbImage::from_fn(200, 100, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 0]));
        let turned = Turned::new(&img, 30.0);
        let (tw, th) = turned.image.dimensions();
        assert_eq!((tw, th), (224, 187));
        for (x, y) in [(0.0, 0.0), (200.0, 0.0), (0.0, 100.0), (200.0, 100.0), (57.0, 33.0)] {
            let (u, v) = turned.forward(x, y);
            assert!(
                (-0.01..=f64::from(tw) + 0.01).contains(&u) && (-0.01..=f64::from(th) + 0.01).contains(&v)
            );
            let (bx, by) = turned.back(u, v);
            assert!((bx - x).abs() < 1e-9 && (by - y).abs() < 1e-9);
        }
        // The picture's x axis turns towards its y axis: its top edge now runs down to the right.
        let (a, b) = (turned.forward(0.0, 0.0), turned.forward(200.0, 0.0));
        assert!(b.1 > a.1 && b.0 > a.0);
        // A pixel lands where its value says it came from.
        let (u, v) = turned.forward(120.5, 40.5);
        let p = sample(&turned.image, u - 0.5, v - 0.5);
        assert!(p[0].abs_diff(120) <= 1 && p[1].abs_diff(40) <= 1, "{p:?}");
    }
}
