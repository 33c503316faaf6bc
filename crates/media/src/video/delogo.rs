//! VideoDelogo: the given boxes, or the static overlays found on sparse analysis frames (with the
//! time ranges they are shown in), removed in one ffmpeg pass with its `delogo` filter
//! (interpolation from the box's surroundings; `enable` limits it to the ranges), audio kept,
//! H.264 MP4 with +faststart.

use std::path::Path;
use std::time::Duration;

use iprod_core::Result;
use iprod_core::params::LogoBox;
use serde_json::{Value, json};

use super::frames::{AnalysisSpec, Decode, Pixels, analysis_size, for_each_frame};
use super::info::VideoInfo;
use super::logo_times::shown;
use super::meter::Meter;
use super::static_logo::StaticOverlayFinder;

/// Analysis for static overlays: 2 frames a second at ≤ 480 px is plenty for something that
/// does not move.
const ANALYSIS: AnalysisSpec =
    AnalysisSpec { width: 480, fps: Some(2.0), pixels: Pixels::Gray, decode: Decode::Full };

/// When a found logo is on screen is asked of this many frames a second (a second pass, only
/// when something was found): the ranges' ends are this precise.
const PRESENCE_FPS: f64 = 5.0;

/// A logo to remove, and when (seconds; the whole video for a given box).
#[derive(Debug, Clone, PartialEq)]
pub struct Logo {
    pub area: LogoBox,
    pub shown: Vec<(f64, f64)>,
}

impl Logo {
    pub fn whole(area: LogoBox, duration: f64) -> Self {
        Self { area, shown: vec![(0.0, duration)] }
    }
}

/// The static overlays of the video, each with the time ranges it is shown in.
pub async fn find_static_logos(
    ffmpeg: &Path,
    input: &Path,
    info: &VideoInfo,
    (timeout, meter): (Duration, &Meter),
) -> Result<Vec<Logo>> {
    let (w, h) = analysis_size(info.width, info.height, ANALYSIS.width);
    let source = (info.width, info.height, info.fps);
    let mut finder = StaticOverlayFinder::new(w as usize, h as usize);
    meter.expect(info.duration);
    for_each_frame(ffmpeg, input, source, &ANALYSIS, timeout, |frame| {
        finder.push(frame.pixels);
        meter.advance(1.0 / ANALYSIS.fps.unwrap_or(info.fps));
        true
    })
    .await?;
    let boxes = finder.boxes(iprod_core::params::MAX_LOGO_BOXES);
    if boxes.is_empty() {
        return Ok(Vec::new());
    }
    let templates: Vec<_> = boxes.iter().map(|b| finder.template(b)).collect();
    let mut scores: Vec<Vec<(f64, f32)>> = vec![Vec::new(); boxes.len()];
    let presence = AnalysisSpec { fps: Some(PRESENCE_FPS), ..ANALYSIS };
    meter.expect(info.duration);
    for_each_frame(ffmpeg, input, source, &presence, timeout, |frame| {
        for (template, scores) in templates.iter().zip(&mut scores) {
            scores.push((frame.time, template.presence(frame.pixels)));
        }
        meter.advance(1.0 / PRESENCE_FPS);
        true
    })
    .await?;
    Ok(boxes
        .into_iter()
        .zip(&scores)
        .map(|(area, scores)| Logo { area, shown: shown(scores, 1.0 / PRESENCE_FPS, info.duration) })
        .collect())
}

/// x, y, width, height in source pixels.
pub type PixelBox = (u32, u32, u32, u32);

/// A box in source pixels that ffmpeg's delogo accepts: inside the frame with a 1 px margin.
pub fn delogo_box(logo: &LogoBox, width: u32, height: u32) -> PixelBox {
    let clamp = |v: f64, lo: f64, hi: f64| v.max(lo).min(hi);
    let (fw, fh) = (f64::from(width), f64::from(height));
    let x0 = clamp((logo.x * fw).floor(), 1.0, fw - 3.0);
    let y0 = clamp((logo.y * fh).floor(), 1.0, fh - 3.0);
    let x1 = clamp(((logo.x + logo.width) * fw).ceil(), x0 + 2.0, fw - 1.0);
    let y1 = clamp(((logo.y + logo.height) * fh).ceil(), y0 + 2.0, fh - 1.0);
    (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
}

/// The filter that removes every box while it is shown (a pass-through when there is none).
/// `enable` sees times from 0, whatever the file's first timestamp: the ffmpeg command line
/// shifts the input to start there.
pub fn filter(logos: &[(Logo, PixelBox)], info: &VideoInfo) -> String {
    if logos.is_empty() {
        return "null".to_owned();
    }
    logos
        .iter()
        .map(|(logo, (x, y, w, h))| {
            let throughout = logo.shown.first().is_some_and(|r| r.0 <= 0.0 && r.1 >= info.duration);
            if throughout {
                format!("delogo=x={x}:y={y}:w={w}:h={h}")
            } else {
                let when: Vec<String> =
                    logo.shown.iter().map(|(a, b)| format!("between(t,{a:.3},{b:.3})")).collect();
                format!("delogo=x={x}:y={y}:w={w}:h={h}:enable='{}'", when.join("+"))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn result(info: &VideoInfo, logos: &[(Logo, PixelBox)], detected: bool) -> Value {
    let round2 = |t: f64| (t * 100.0).round() / 100.0;
    let logos: Vec<Value> = logos
        .iter()
        .map(|(logo, (x, y, w, h))| {
            let l = &logo.area;
            let shown: Vec<Value> = logo.shown.iter().map(|(a, b)| json!([round2(*a), round2(*b)])).collect();
            json!({
                "Box": [round4(l.x), round4(l.y), round4(l.width), round4(l.height)],
                "X": x, "Y": y, "Width": w, "Height": h,
                "Shown": shown,
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

    #[test]
    fn a_logo_shown_for_part_of_the_video_is_removed_only_then() {
        let area = LogoBox { x: 0.8, y: 0.0, width: 0.1, height: 0.1 };
        let info =
            VideoInfo { width: 640, height: 360, fps: 25.0, duration: 10.0, has_audio: false, start: 0.0 };
        let always = (Logo::whole(area, 10.0), (512, 1, 64, 36));
        let sometimes = (Logo { area, shown: vec![(2.8, 8.2), (9.0, 10.0)] }, (8, 8, 32, 16));
        assert_eq!(filter(std::slice::from_ref(&always), &info), "delogo=x=512:y=1:w=64:h=36");
        assert_eq!(
            filter(&[always, sometimes.clone()], &info),
            "delogo=x=512:y=1:w=64:h=36,delogo=x=8:y=8:w=32:h=16:\
             enable='between(t,2.800,8.200)+between(t,9.000,10.000)'"
        );
        // A file whose first timestamp is 1.5 s: ffmpeg's filters still count from 0.
        let late = VideoInfo { start: 1.5, ..info };
        assert!(
            filter(std::slice::from_ref(&sometimes), &late)
                .ends_with("enable='between(t,2.800,8.200)+between(t,9.000,10.000)'")
        );
        assert_eq!(result(&info, &[sometimes], true)["Logos"][0]["Shown"], json!([[2.8, 8.2], [9.0, 10.0]]));
    }
}
