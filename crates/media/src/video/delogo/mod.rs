//! VideoDelogo: the given boxes, or the overlays found on sparse analysis frames (static overlays
//! and persistent overlay text, with the time ranges they are shown in), removed in one ffmpeg
//! pass while they are shown: un-blended where their statistics allow (`removal`, `unblend`),
//! filled by `delogo` otherwise; audio kept, H.264 MP4 with +faststart.

pub mod camera_fill;
pub mod logo_times;
pub mod presence;
pub mod removal;
pub mod static_logo;
pub mod steady;
pub mod still_fill;
pub mod text_marks;
pub mod unblend;

use crate::imaging::geometry::PixelBox;
use crate::video::Source;
use std::sync::Arc;

use iprod_core::Result;
use iprod_core::params::LogoBox;
use serde_json::{Value, json};

use crate::onnx::OnnxRuntime;
use crate::video::frames::{AnalysisSpec, Decode, Pixels, analysis_size, for_each_frame, frame_at};
use crate::video::info::VideoInfo;
use image::RgbImage;
use logo_times::LogoTemplate;
use presence::Candidate;
use removal::Removal;
use static_logo::StaticOverlayFinder;
use std::sync::mpsc::sync_channel;
use text_marks::{TextMark, TextReader, TextSampler};

/// Analysis for static overlays: 2 frames a second at ≤ 480 px is plenty for something that
/// does not move.
const ANALYSIS: AnalysisSpec =
    AnalysisSpec { width: 480, fps: Some(2.0), pixels: Pixels::Gray, decode: Decode::References };

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

/// At most this many overlays are removed when they are found (the API takes two given boxes;
/// a trailer has idents in both lower corners and a URL besides).
pub const MAX_FOUND: usize = 4;

/// The overlays the analysis finds: static overlays from the whole-video statistics, and overlay
/// text confirmed by persistence (`text_marks`). When each is shown, and whether it stays put
/// while the camera moves, are asked in the removal statistics' decode (`presence`).
pub async fn find_candidates(source: &Source<'_>, runtime: Arc<OnnxRuntime>) -> Result<Vec<Candidate>> {
    let Source { ffmpeg, input, info, timeout, meter } = *source;
    let (w, h) = analysis_size(info.width, info.height, ANALYSIS.width);
    let (w, h) = (w as usize, h as usize);
    let dims = (info.width, info.height, info.fps);
    let mut finder = StaticOverlayFinder::new(w, h);
    let mut sampler = TextSampler::new(info.duration);
    // The text detector reads each sample while the decode goes on (it is most of the analysis:
    // ~0.1 s a sample), through a queue of two.
    let (to_reader, inbox) = sync_channel::<(f64, Vec<u8>)>(2);
    let reading = crate::blocking::run("the text detection", move || {
        let mut reader = TextReader::new(w, h);
        for sample in inbox {
            crate::blocking::checkpoint()?;
            reader.offer(&runtime, sample)?;
        }
        tracing::debug!(reads = reader.reads(), "text samples read");
        Ok(reader)
    });
    meter.add_pass(info.duration);
    // The closure owns the sender, so the reader's queue closes when the decode ends.
    let pushing = &mut finder;
    let decoding = for_each_frame(ffmpeg, input, dims, &ANALYSIS, timeout, move |frame| {
        pushing.push(frame.pixels);
        if let Some(sample) = sampler.offer(frame.time, frame.pixels) {
            // Fails only when the reader stopped on an error, reported below.
            let _ = to_reader.send(sample);
        }
        meter.advance(1.0 / ANALYSIS.fps.unwrap_or(info.fps));
        true
    });
    let (decoded, reader) = tokio::join!(decoding, reading);
    decoded?;
    let reader = reader?;
    let statics = finder.boxes(iprod_core::params::MAX_LOGO_BOXES);
    // A static logo's own lettering adds nothing (`overlays`): no icon is looked for beside it.
    let mut texts: Vec<TextMark> = reader
        .confirmed()
        .into_iter()
        .filter(|mark| !statics.iter().any(|s| lettering_of(s, &normalised(mark.area, (w, h)))))
        .collect();
    for mark in &mut texts {
        // The icon beside the text, in colour at the last two times it was seen.
        let mut frames = Vec::new();
        for time in mark.seen.iter().rev().take(2) {
            frames.extend(colour_frame(source, *time).await?);
        }
        if let Some(area) = text_marks::icon_beside(mark, &frames) {
            reader.widen(mark, area);
        }
    }
    Ok(overlays(&finder, statics, texts, (w, h))
        .into_iter()
        .map(|(area, template)| Candidate { area, template })
        .collect())
}

/// The analysis frame at `time` in colour (an exact seek: a keyframe's GOP decoded at most).
async fn colour_frame(source: &Source<'_>, time: f64) -> Result<Option<RgbImage>> {
    let spec = AnalysisSpec { fps: None, pixels: Pixels::Rgb, decode: Decode::Full, ..ANALYSIS };
    let frame = frame_at(source, &spec, time).await?;
    Ok(frame.and_then(|(pixels, (w, h))| RgbImage::from_raw(w, h, pixels)))
}

/// The size of the analysis frames the camera's motion is measured on.
pub fn analysis_frame_size(info: &VideoInfo) -> (u32, u32) {
    analysis_size(info.width, info.height, ANALYSIS.width)
}

/// Static boxes (`found`: the static statistics keep their own limit of two boxes, what they were
/// measured with) and confirmed text joined: a text block that overlaps a static box widens it (a
/// logo with its name), the others are added; at most [`MAX_FOUND`], static ones first.
fn overlays(
    finder: &StaticOverlayFinder,
    mut found: Vec<LogoBox>,
    texts: Vec<TextMark>,
    (w, h): (usize, usize),
) -> Vec<(LogoBox, LogoTemplate)> {
    let mut from_text: Vec<(LogoBox, LogoTemplate)> = Vec::new();
    for mark in texts {
        let b = normalised(mark.area, (w, h));
        match found.iter_mut().find(|s| overlap(s, &b) > 0.0) {
            Some(s) if lettering_of(s, &b) => {}
            Some(s) => *s = union(s, &b),
            None => from_text.push((b, mark.template)),
        }
    }
    let mut out: Vec<(LogoBox, LogoTemplate)> = found.into_iter().map(|b| (b, finder.template(&b))).collect();
    out.extend(from_text);
    out.truncate(MAX_FOUND);
    out
}

/// An analysis-pixel box (x0, y0, x1, y1 exclusive) as a fraction of the `w` × `h` frame.
fn normalised((x0, y0, x1, y1): (usize, usize, usize, usize), (w, h): (usize, usize)) -> LogoBox {
    LogoBox {
        x: x0 as f64 / w as f64,
        y: y0 as f64 / h as f64,
        width: (x1 - x0) as f64 / w as f64,
        height: (y1 - y0) as f64 / h as f64,
    }
}

/// Text mostly inside a static box is that logo's own lettering: the static outline is the
/// tighter one. Text reaching well outside is the logo's name beside it.
fn lettering_of(logo: &LogoBox, text: &LogoBox) -> bool {
    overlap(logo, text) >= 0.6 * text.width * text.height
}

/// The area two boxes share.
fn overlap(a: &LogoBox, b: &LogoBox) -> f64 {
    let w = (a.x + a.width).min(b.x + b.width) - a.x.max(b.x);
    let h = (a.y + a.height).min(b.y + b.height) - a.y.max(b.y);
    w.max(0.0) * h.max(0.0)
}

fn union(a: &LogoBox, b: &LogoBox) -> LogoBox {
    let (x, y) = (a.x.min(b.x), a.y.min(b.y));
    LogoBox {
        x,
        y,
        width: (a.x + a.width).max(b.x + b.width) - x,
        height: (a.y + a.height).max(b.y + b.height) - y,
    }
}

/// A box in source pixels that ffmpeg's delogo accepts: inside the frame with a 1 px margin.
pub fn delogo_box(logo: &LogoBox, width: u32, height: u32) -> PixelBox {
    let clamp = |v: f64, lo: f64, hi: f64| v.max(lo).min(hi);
    let (fw, fh) = (f64::from(width), f64::from(height));
    let x0 = clamp((logo.x * fw).floor(), 1.0, fw - 3.0);
    let y0 = clamp((logo.y * fh).floor(), 1.0, fh - 3.0);
    let x1 = clamp(((logo.x + logo.width) * fw).ceil(), x0 + 2.0, fw - 1.0);
    let y1 = clamp(((logo.y + logo.height) * fh).ceil(), y0 + 2.0, fh - 1.0);
    PixelBox::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
}

/// The job's `Result`: each logo's box, when it is shown, and how it was removed (`Method`:
/// `unblend` with the overlay's measured `Opacity`, or `delogo` with the `Reason` it was not
/// un-blended). A box too large to fill and not un-blended is `"Removed": false` with the reason.
///
/// A filled logo whose box was also taken from other frames says when (`FromFrames`) and from
/// how far (`FrameShift`, seconds; negative: earlier frames); one over a still picture says when
/// its box was laid over (`StillFill`: `Range`) and what with: `Fill`, `telea` or `patchmatch`,
/// or `FromFrame`, the time of a frame of the same still picture without the logo.
pub fn result(
    info: &VideoInfo,
    logos: &[(Logo, PixelBox)],
    (removals, patches, stills): (&[Removal], &[Option<camera_fill::Patch>], &[still_fill::StillFill]),
    detected: bool,
) -> Value {
    let round2 = |t: f64| (t * 100.0).round() / 100.0;
    let logos: Vec<Value> = logos
        .iter()
        .zip(removals)
        .enumerate()
        .map(|(n, ((logo, pixels), removal))| {
            let (x, y, w, h) = pixels.xywh();
            let l = &logo.area;
            let shown: Vec<Value> = logo.shown.iter().map(|(a, b)| json!([round2(*a), round2(*b)])).collect();
            let mut entry = json!({
                "Box": [round4(l.x), round4(l.y), round4(l.width), round4(l.height)],
                "X": x, "Y": y, "Width": w, "Height": h,
                "Shown": shown,
                "Source": if detected { "detected" } else { "given" },
                "Removed": true,
            });
            match removal {
                Removal::Unblend(maps) => {
                    entry["Method"] = json!("unblend");
                    entry["Opacity"] = json!(round2(f64::from(maps.opacity)));
                }
                Removal::Fill(why) => {
                    entry["Method"] = json!("delogo");
                    entry["Reason"] = json!(why.reason());
                    if let Some(Some(patch)) = patches.get(n) {
                        let when: Vec<Value> =
                            patch.ranges.iter().map(|(a, b)| json!([round2(*a), round2(*b)])).collect();
                        entry["FromFrames"] = json!(when);
                        entry["FrameShift"] = json!(round2(patch.shift));
                    }
                    let still: Vec<Value> = stills
                        .iter()
                        .filter(|s| s.logo == n)
                        .map(|s| {
                            let mut entry = json!({"Range": [round2(s.range.0), round2(s.range.1)]});
                            match s.source {
                                still_fill::Source::Filled(fill) => entry["Fill"] = json!(fill.name()),
                                still_fill::Source::Revealed(time) => {
                                    entry["FromFrame"] = json!(round2(time))
                                }
                            }
                            entry
                        })
                        .collect();
                    if !still.is_empty() {
                        entry["StillFill"] = json!(still);
                    }
                }
                Removal::Left(..) => {
                    entry["Removed"] = json!(false);
                    entry["Reason"] = json!(removal.left_because());
                }
            }
            entry
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
        assert_eq!(delogo_box(&corner, 640, 360), PixelBox::new(1, 1, 63, 35));
        let edge = LogoBox { x: 0.9, y: 0.9, width: 0.1, height: 0.1 };
        assert_eq!(delogo_box(&edge, 640, 360), PixelBox::new(576, 324, 63, 35));
    }

    #[test]
    fn a_logo_shown_for_part_of_the_video_is_removed_only_then() {
        use super::removal::{enable, graph};
        use super::unblend::NotBlended;
        let area = LogoBox { x: 0.8, y: 0.0, width: 0.1, height: 0.1 };
        let info =
            VideoInfo { width: 640, height: 360, fps: 25.0, duration: 10.0, has_audio: false, start: 0.0 };
        let always = (Logo::whole(area, 10.0), PixelBox::new(512, 1, 64, 36));
        let sometimes = (Logo { area, shown: vec![(2.8, 8.2), (9.0, 10.0)] }, PixelBox::new(8, 8, 32, 16));
        let fill = Removal::Fill(NotBlended::Opaque);
        assert_eq!(
            graph(std::slice::from_ref(&always), std::slice::from_ref(&fill), (&[], &[]), &[], &info, "null"),
            "[0:v:0]delogo=x=512:y=1:w=64:h=36,null[out]"
        );
        assert_eq!(
            graph(
                &[always, sometimes.clone()],
                &[fill.clone(), fill.clone()],
                (&[], &[]),
                &[],
                &info,
                "null"
            ),
            "[0:v:0]delogo=x=512:y=1:w=64:h=36,delogo=x=8:y=8:w=32:h=16:\
             enable='between(t,2.800,8.200)+between(t,9.000,10.000)',null[out]"
        );
        // A file whose first timestamp is 1.5 s: ffmpeg's filters still count from 0.
        let late = VideoInfo { start: 1.5, ..info };
        assert_eq!(enable(&sometimes.0, &late).unwrap(), "between(t,2.800,8.200)+between(t,9.000,10.000)");
        let result = result(&info, &[sometimes], (&[fill], &[], &[]), true);
        assert_eq!(result["Logos"][0]["Shown"], json!([[2.8, 8.2], [9.0, 10.0]]));
        assert_eq!(result["Logos"][0]["Method"], "delogo");
    }
}
