//! Reading a picture between its pixels.

use image::RgbImage;

/// Bilinear colour at a sub-pixel position (clamped to the image).
pub fn bilinear_rgb(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = img.dimensions();
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let mut out = [0.0f32; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let v = |xx: u32, yy: u32| f32::from(img.get_pixel(xx, yy)[c]);
        *o = (v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx) * (1.0 - fy)
            + (v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx) * fy;
    }
    out
}
