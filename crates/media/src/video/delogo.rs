//! VideoDelogo: the given boxes, or the static overlays found on sparse analysis frames, removed
//! in one ffmpeg pass with its `delogo` filter (interpolation from the box's surroundings), audio
//! kept, H.264 MP4 with +faststart.

use std::path::Path;
use std::time::Duration;

use iprod_core::Result;
use iprod_core::params::LogoBox;
use serde_json::{Value, json};

use super::frames::{AnalysisSpec, Decode, Pixels, analysis_size, for_each_frame};
use super::info::VideoInfo;
use super::meter::Meter;
use super::static_logo::StaticOverlayFinder;

/// Analysis for static overlays: 2 frames a second at ≤ 480 px is plenty for something that
/// does not move.
const ANALYSIS: AnalysisSpec =
    AnalysisSpec { width: 480, fps: Some(2.0), pixels: Pixels::Gray, decode: Decode::Full };

pub async fn find_static_logos(
    ffmpeg: &Path,
    input: &Path,
    info: &VideoInfo,
    (timeout, meter): (Duration, &Meter),
) -> Result<Vec<LogoBox>> {
    let (w, h) = analysis_size(info.width, info.height, ANALYSIS.width);
    let mut finder = StaticOverlayFinder::new(w as usize, h as usize);
    meter.expect(info.duration);
    for_each_frame(ffmpeg, input, (info.width, info.height, info.fps), &ANALYSIS, timeout, |frame| {
        finder.push(frame.pixels);
        meter.advance(1.0 / ANALYSIS.fps.unwrap_or(info.fps));
        true
    })
    .await?;
    Ok(finder.boxes(iprod_core::params::MAX_LOGO_BOXES))
}

/// A box in source pixels that ffmpeg's delogo accepts: inside the frame with a 1 px margin.
pub fn delogo_box(logo: &LogoBox, width: u32, height: u32) -> (u32, u32, u32, u32) {
    let clamp = |v: f64, lo: f64, hi: f64| v.max(lo).min(hi);
    let (fw, fh) = (f64::from(width), f64::from(height));
    let x0 = clamp((logo.x * fw).floor(), 1.0, fw - 3.0);
    let y0 = clamp((logo.y * fh).floor(), 1.0, fh - 3.0);
    let x1 = clamp(((logo.x + logo.width) * fw).ceil(), x0 + 2.0, fw - 1.0);
    let y1 = clamp(((logo.y + logo.height) * fh).ceil(), y0 + 2.0, fh - 1.0);
    (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
}

/// The filter that removes every box (a pass-through when there is none).
pub fn filter(boxes: &[(u32, u32, u32, u32)]) -> String {
    if boxes.is_empty() {
        return "null".to_owned();
    }
    boxes.iter().map(|(x, y, w, h)| format!("delogo=x={x}:y={y}:w={w}:h={h}")).collect::<Vec<_>>().join(",")
}

pub fn result(
    info: &VideoInfo,
    logos: &[LogoBox],
    pixel_boxes: &[(u32, u32, u32, u32)],
    detected: bool,
) -> Value {
    let logos: Vec<Value> = logos
        .iter()
        .zip(pixel_boxes)
        .map(|(l, (x, y, w, h))| {
            json!({
                "Box": [round4(l.x), round4(l.y), round4(l.width), round4(l.height)],
                "X": x, "Y": y, "Width": w, "Height": h,
                "Source": if detected { "detected" } else { "given" }
            })
        })
        .collect();
    json!({"Logos": logos, "Width": info.width, "Height": info.height, "Duration": round4(info.duration)})
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_are_kept_one_pixel_inside_the_frame() {
        let corner = LogoBox { x: 0.0, y: 0.0, width: 0.1, height: 0.1 };
        assert_eq!(delogo_box(&corner, 640, 360), (1, 1, 63, 35));
        let edge = LogoBox { x: 0.9, y: 0.9, width: 0.1, height: 0.1 };
        assert_eq!(delogo_box(&edge, 640, 360), (576, 324, 63, 35));
    }
}
