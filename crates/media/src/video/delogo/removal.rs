//! How each logo of a VideoDelogo job is removed: un-blended where its temporal statistics
//! show a semi-transparent overlay over a moving picture (`unblend`), filled by ffmpeg's
//! `delogo` otherwise, with a better box laid over that fill where one is known (from other
//! frames where the camera moves, `camera_fill`; made once per still stretch, `still_fill`). One
//! decode gathers the statistics of every box at once; the render is one ffmpeg filter graph.

use crate::video::Source;
use std::path::{Path, PathBuf};

use iprod_core::params::LogoBox;
use iprod_core::{Error, Result};

use super::Logo;
use super::camera_fill::{CameraTrack, Patch};
use super::presence::{PRESENCE_FPS, PresenceWatch};
use super::still_fill::{StillFill, StillTracker};
use super::unblend::{self, NotBlended, Region, RegionStats, Unblend};
use crate::imaging::geometry::PixelBox;
use crate::process::Process;
use crate::video::info::VideoInfo;
use std::collections::VecDeque;

/// The statistics need many frames, not every frame: consecutive frames say nearly the same.
const STATS_FPS: f64 = 10.0;

/// The largest share of the frame `delogo` fills: beyond it the interpolation from the box's
/// edges is a smear, not a picture (as ImageDelogo's limit).
const MAX_FILL_SHARE: f64 = 0.2;

/// What the render does to one logo.
#[derive(Debug, Clone)]
pub enum Removal {
    Unblend(Box<Unblend>),
    Fill(NotBlended),
    /// Not un-blended, and too large to fill: left as it is (the share of the frame it covers).
    Left(NotBlended, f64),
}

impl Removal {
    /// Why the logo is left in the video, if it is.
    pub fn left_because(&self) -> Option<String> {
        let Removal::Left(why, share) = self else { return None };
        Some(format!(
            "the box covers {:.0} % of the frame (at most {:.0} % can be filled plausibly) and {}: left as it is",
            share * 100.0,
            MAX_FILL_SHARE * 100.0,
            why.reason()
        ))
    }
}

/// What the statistics' decode decided: each logo's removal, the camera's motion, and each
/// logo's still stretches (when the picture around it holds still: [`StillTracker`]).
pub struct Planned {
    pub removals: Vec<Removal>,
    pub camera: CameraTrack,
    pub still: Vec<Vec<(f64, f64)>>,
}

/// Decides, for each logo, between un-blending and `delogo`: one decode of the boxes' regions
/// at full resolution (cropped and stacked by ffmpeg), statistics over the frames that show each.
/// The same decode samples the analysis frame for `watch`: the camera's motion, and for found
/// boxes (`watch`'s candidates, in the order of `logos`) when each is shown and whether it stays
/// put; a found box that slides with the camera is dropped from `logos`. A found opaque logo's
/// box takes in the still pixels next to it ([`unblend::opaque_extent`]), in place; given boxes
/// are the client's and are not grown.
pub async fn plan(
    source: &Source<'_>,
    logos: &mut Vec<(Logo, PixelBox)>,
    mut watch: PresenceWatch,
) -> Result<Planned> {
    let info = source.info;
    let found = !watch.is_empty();
    if logos.is_empty() {
        let camera = watch.finish(info.duration).1;
        return Ok(Planned { removals: Vec::new(), camera, still: Vec::new() });
    }
    let regions: Vec<Region> =
        logos.iter().map(|(_, pixels)| Region::around(*pixels, info.width & !1, info.height & !1)).collect();
    // Regions too large to measure are not decoded for at all.
    let targets: Vec<(usize, Region)> =
        regions.iter().enumerate().filter(|(_, r)| unblend::measurable(r)).map(|(i, r)| (i, *r)).collect();
    let gathered = gather(source, &targets, &mut watch).await?;
    let (kept, camera) = watch.finish(info.duration);
    let mut by_logo: Vec<Option<RegionStats>> = (0..logos.len()).map(|_| None).collect();
    let mut still_by_logo: Vec<Vec<(f64, f64)>> = vec![Vec::new(); logos.len()];
    for ((i, _), (all, present, still)) in targets.iter().zip(gathered) {
        by_logo[*i] = Some(all);
        still_by_logo[*i] = still;
        // A found logo's ranges: the frames that surely show it, unless it is shown throughout.
        let whole = kept.get(*i).and_then(Option::as_ref).is_none_or(|l| throughout(l, info));
        if let Some(present) = present.filter(|_| !whole) {
            by_logo[*i] = Some(present);
        }
    }
    let mut stats = Vec::new();
    let mut measured = Vec::new();
    let mut still = Vec::new();
    let mut index = 0;
    logos.retain_mut(|(logo, _)| {
        let keep = match kept.get(index) {
            Some(Some(found)) => {
                logo.shown = found.shown.clone();
                true
            }
            Some(None) => false,
            None => true,
        };
        if keep {
            still.push(std::mem::take(&mut still_by_logo[index]));
            measured.push(by_logo[index].is_some());
            stats.extend(by_logo[index].take());
        }
        index += 1;
        keep
    });
    let regions: Vec<Region> =
        logos.iter().map(|(_, pixels)| Region::around(*pixels, info.width & !1, info.height & !1)).collect();
    let estimating =
        move || stats.iter().map(|s| (unblend::estimate(s), unblend::opaque_extent(s))).collect::<Vec<_>>();
    let mut estimates =
        crate::blocking::run("the overlay statistics", move || Ok(estimating())).await?.into_iter();
    let frame = f64::from(info.width) * f64::from(info.height);
    let removals = logos
        .iter_mut()
        .zip(&regions)
        .zip(measured)
        .map(|(((logo, pixels), region), measured)| {
            let (estimate, extent) = if measured {
                estimates.next().unwrap_or((Err(NotBlended::TooFewFrames), None))
            } else {
                (Err(NotBlended::TooLarge), None)
            };
            match estimate {
                Ok(maps) => Removal::Unblend(Box::new(maps)),
                Err(why) => {
                    if let Some(extent) = extent.filter(|_| found && why == NotBlended::Opaque) {
                        *pixels = in_frame(region, extent, info);
                        let (x, y, w, h) = pixels.xywh();
                        let (fw, fh) = (f64::from(info.width), f64::from(info.height));
                        logo.area = LogoBox {
                            x: f64::from(x) / fw,
                            y: f64::from(y) / fh,
                            width: f64::from(w) / fw,
                            height: f64::from(h) / fh,
                        };
                    }
                    let share = f64::from(pixels.width * pixels.height) / frame.max(1.0);
                    if share > MAX_FILL_SHARE { Removal::Left(why, share) } else { Removal::Fill(why) }
                }
            }
        })
        .collect();
    Ok(Planned { removals, camera, still })
}

/// Whether `logo` is shown for the whole video (then every frame counts towards its statistics).
fn throughout(logo: &Logo, info: &VideoInfo) -> bool {
    logo.shown.first().is_some_and(|r| r.0 <= 0.0 && r.1 >= info.duration)
}

/// A box relative to `region`, in the frame, kept one pixel inside it as `delogo` needs.
fn in_frame(region: &Region, inner: PixelBox, info: &VideoInfo) -> PixelBox {
    let (x, y, w, h) = inner.xywh();
    let (x0, y0) = ((region.x + x).max(1), (region.y + y).max(1));
    let x1 = (region.x + x + w).min(info.width.saturating_sub(1)).max(x0 + 2);
    let y1 = (region.y + y + h).min(info.height.saturating_sub(1)).max(y0 + 2);
    PixelBox::new(x0, y0, x1 - x0, y1 - y0)
}

/// Region frames (with their times) waiting for the presence samples after them.
type Waiting = VecDeque<(f64, Vec<u8>)>;

/// One region's statistics over every frame, and for a watched candidate, over the frames that
/// surely show it (with the frames still waiting); whether the picture around it holds still.
struct Gathering {
    all: RegionStats,
    present: Option<(RegionStats, Waiting)>,
    still: StillTracker,
}

impl Gathering {
    /// Takes the waiting frames that `watch` can now decide on (all of them once `ended`).
    fn settle(&mut self, watch: &PresenceWatch, candidate: usize, ended: bool) {
        let Some((present, waiting)) = &mut self.present else { return };
        while let Some((time, _)) = waiting.front() {
            let Some(shown) = watch.surely_shown(candidate, *time, ended) else { break };
            let Some((_, frame)) = waiting.pop_front() else { break };
            if shown {
                present.push(&frame);
            }
        }
    }
}

/// The statistics of each target region (`(logo index, region)`), over every frame and, for
/// `watch`'s candidates, over the frames that surely show them, and its still stretches: one
/// decode, the regions cropped at full resolution and stacked by ffmpeg, the whole frame at the
/// analysis size below them for `watch`, 5 samples a second.
async fn gather(
    source: &Source<'_>,
    targets: &[(usize, Region)],
    watch: &mut PresenceWatch,
) -> Result<Vec<(RegionStats, Option<RegionStats>, Vec<(f64, f64)>)>> {
    let Source { ffmpeg, input, info, timeout, meter } = *source;
    let regions: Vec<Region> = targets.iter().map(|(_, r)| *r).collect();
    let watched = |i: usize| i < watch.len();
    let mut gathering: Vec<Gathering> = targets
        .iter()
        .map(|(i, r)| Gathering {
            all: RegionStats::new(*r),
            present: watched(*i).then(|| (RegionStats::new(*r), VecDeque::new())),
            still: StillTracker::new(*r),
        })
        .collect();
    let (aw, ah) = watch.frame_size();
    let camera = (aw as u32, ah as u32);
    let width = regions.iter().map(|r| r.width).max().unwrap_or(2).max(camera.0);
    let height: u32 = regions.iter().map(|r| r.height).sum::<u32>() + camera.1;
    let rate = info.fps.min(STATS_FPS);
    let frame_bytes = (width * height) as usize * 3 / 2;
    let sample_stride = sample_stride(rate);
    watch.sampled_every(sample_stride as f64 / rate);
    // Only the frames others refer to are decoded (exact, and ~20 % cheaper): the statistics
    // take a few a second.
    let process = Process::new(ffmpeg, timeout)
        .args(["-nostdin", "-v", "error", "-skip_frame", "noref"])
        .input(input)
        .args(["-an", "-sn", "-filter_complex", &stack_graph(&regions, camera, width, rate)])
        .args(["-map", "[stack]", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]);
    meter.add_pass(info.duration);
    let mut index = 0usize;
    let (mut region_frame, mut analysis) = (Vec::new(), Vec::new());
    process
        .stream(frame_bytes, |frame| {
            if crate::blocking::stopped() {
                return false;
            }
            let time = index as f64 / rate;
            index += 1;
            let mut top = 0;
            for ((_, r), g) in targets.iter().zip(&mut gathering) {
                crop_420(frame, (width, height), PixelBox::new(0, top, r.width, r.height), &mut region_frame);
                g.all.push(&region_frame);
                g.still.push(time, &region_frame);
                if let Some((_, waiting)) = &mut g.present {
                    waiting.push_back((time, region_frame.clone()));
                }
                top += r.height;
            }
            if (index - 1).is_multiple_of(sample_stride) {
                // Its luma rows only: presence and motion are measured on grey.
                analysis.clear();
                let rows = (top as usize..top as usize + ah).map(|y| y * width as usize);
                rows.for_each(|row| analysis.extend_from_slice(&frame[row..row + aw]));
                watch.sample(time, &analysis);
            }
            for ((i, _), g) in targets.iter().zip(&mut gathering) {
                g.settle(watch, *i, false);
            }
            meter.advance(1.0 / rate);
            true
        })
        .await
        .map_err(crate::video::frames::decode_error)?;
    crate::blocking::checkpoint()?;
    Ok(targets
        .iter()
        .zip(gathering)
        .map(|((i, _), mut g)| {
            g.settle(watch, *i, true);
            (g.all, g.present.map(|(p, _)| p), g.still.finish(info.duration))
        })
        .collect())
}

/// Every how many statistics frames (at `rate` a second) the analysis frame is sampled: 5
/// samples a second, as the ranges' ends and the camera's steps are measured.
fn sample_stride(rate: f64) -> usize {
    ((rate / PRESENCE_FPS).round() as usize).max(1)
}

/// The regions cropped at full resolution, padded to one width and stacked top to bottom, the
/// whole frame scaled to `camera` below them.
fn stack_graph(regions: &[Region], camera: (u32, u32), width: u32, rate: f64) -> String {
    let parts = regions.len() + 1;
    let mut graph = format!("[0:v:0]fps={rate},format=yuv420p,split={parts}");
    graph.extend((0..parts).map(|i| format!("[s{i}]")));
    for (i, r) in regions.iter().enumerate() {
        graph.push_str(&format!(
            ";[s{i}]crop={}:{}:{}:{}:exact=1,pad={width}:ih:0:0[r{i}]",
            r.width, r.height, r.x, r.y
        ));
    }
    let ((w, h), i) = (camera, regions.len());
    graph.push_str(&format!(";[s{i}]scale={w}:{h}:flags=area,pad={width}:ih:0:0[r{i}]"));
    if parts == 1 {
        graph.push_str(";[r0]null[stack]");
    } else {
        graph.push(';');
        graph.extend((0..parts).map(|i| format!("[r{i}]")));
        graph.push_str(&format!("vstack=inputs={parts}[stack]"));
    }
    graph
}

/// `rect` (even coordinates and size) out of a 4:2:0 frame of `width`×`height`, as its own
/// 4:2:0 planes in `out`: a region out of the statistics' stacked frame, a box out of a full one.
pub fn crop_420(frame: &[u8], (width, height): (u32, u32), rect: PixelBox, out: &mut Vec<u8>) {
    out.clear();
    let (fw, fh) = (width as usize, height as usize);
    let (x, y, w, h) = (rect.x as usize, rect.y as usize, rect.width as usize, rect.height as usize);
    for row in y..y + h {
        out.extend_from_slice(&frame[row * fw + x..row * fw + x + w]);
    }
    let (cw, plane) = (fw / 2, fw / 2 * (fh / 2));
    for base in [fw * fh, fw * fh + plane] {
        for row in y / 2..(y + h) / 2 {
            out.extend_from_slice(&frame[base + row * cw + x / 2..base + row * cw + (x + w) / 2]);
        }
    }
}

/// The maps of each un-blended logo written beside the job's work, as the render's extra
/// inputs: (gain, offset) per logo, `None` for a filled one.
pub fn write_maps(removals: &[Removal], work: &Path) -> Result<Vec<Option<(PathBuf, PathBuf)>>> {
    removals
        .iter()
        .enumerate()
        .map(|(i, removal)| {
            let Removal::Unblend(maps) = removal else { return Ok(None) };
            let (gain, offset) =
                (work.join(format!("unblend-{i}-gain.y4m")), work.join(format!("unblend-{i}-offset.y4m")));
            let r = maps.region;
            unblend::write_y4m(&gain, r.width, r.height, &maps.gain)
                .and_then(|()| unblend::write_y4m(&offset, r.width, r.height, &maps.offset))
                .map_err(|e| Error::internal(format!("writing the un-blending maps failed: {e}")))?;
            Ok(Some((gain, offset)))
        })
        .collect()
}

/// ffmpeg's `enable` expression for `shown` (`None`: always).
pub fn enable(logo: &Logo, info: &VideoInfo) -> Option<String> {
    (!throughout(logo, info)).then(|| between(&logo.shown))
}

/// An `enable` expression true within `ranges` (seconds).
pub fn between(ranges: &[(f64, f64)]) -> String {
    let when: Vec<String> = ranges.iter().map(|(a, b)| format!("between(t,{a:.3},{b:.3})")).collect();
    when.join("+")
}

/// The render's filter graph from `[0:v:0]` to `[out]`: each un-blended logo's region cropped,
/// `(O − offset) · 255 / gain` by two `blend`s with the maps (inputs 1, 2, … in pairs, one frame
/// each, repeated), laid back while the logo is shown; then `delogo` for the filled ones. The
/// blends are `blend`'s own modes, `subtract` (max(A − B, 0)) and `divide` (255·A/B, truncated,
/// clipped): an expression evaluated per pixel cost 0.7 s more on the 30 s bench clip, and it
/// wrapped where the picture fell below the offset (noise) instead of clipping to black.
///
/// Then each still stretch's spatial fill (`stills`, one-frame inputs after the maps) is laid
/// over its box while the stretch lasts, and each fill from other frames (`patches`, with their
/// `scripts`; the shifted sources are the inputs after those, in order) while it is good.
pub fn graph(
    logos: &[(Logo, PixelBox)],
    removals: &[Removal],
    (patches, scripts): (&[Option<Patch>], &[Option<PathBuf>]),
    stills: &[StillFill],
    info: &VideoInfo,
    last: &str,
) -> String {
    let mut graph = String::new();
    let mut current = "0:v:0".to_owned();
    if removals.iter().any(|r| matches!(r, Removal::Unblend(_))) {
        // The maps are 8-bit 4:2:0 (limited range, as measured): the picture is made the same,
        // so `blend` does not convert the maps instead.
        graph.push_str("[0:v:0]format=yuv420p[yuv];");
        current = "yuv".to_owned();
    }
    let mut input = 1;
    let mut fills = Vec::new();
    for (i, ((logo, pixels), removal)) in logos.iter().zip(removals).enumerate() {
        match removal {
            Removal::Unblend(maps) => {
                let r = maps.region;
                let timing = enable(logo, info).map(|e| format!(":enable='{e}'")).unwrap_or_default();
                graph.push_str(&format!(
                    "[{current}]split[m{i}][c{i}];[c{i}]crop={w}:{h}:{x}:{y}:exact=1[r{i}];\
                     [r{i}][{offset}:v]blend=all_mode=subtract[d{i}];\
                     [d{i}][{gain}:v]blend=all_mode=divide[u{i}];\
                     [m{i}][u{i}]overlay={x}:{y}{timing}[v{i}];",
                    w = r.width,
                    h = r.height,
                    x = r.x,
                    y = r.y,
                    offset = input + 1,
                    gain = input,
                ));
                input += 2;
                current = format!("v{i}");
            }
            Removal::Fill(_) => fills.push((logo, *pixels)),
            Removal::Left(..) => {}
        }
    }
    let mut chain: Vec<String> = fills
        .iter()
        .map(|(logo, pixels)| {
            let (x, y, w, h) = pixels.xywh();
            let timing = enable(logo, info).map(|e| format!(":enable='{e}'")).unwrap_or_default();
            format!("delogo=x={x}:y={y}:w={w}:h={h}{timing}")
        })
        .collect();
    if patches.iter().all(Option::is_none) && stills.is_empty() {
        chain.push(last.to_owned());
        graph.push_str(&format!("[{current}]{}[out]", chain.join(",")));
        return graph;
    }
    chain.push("null".to_owned());
    graph.push_str(&format!("[{current}]{}[filled];", chain.join(",")));
    current = "filled".to_owned();
    for (k, still) in stills.iter().enumerate() {
        let (x, y, _, _) = still.rect.xywh();
        // One frame, repeated by `overlay` (its end-of-input default) while the stretch lasts.
        graph.push_str(&format!(
            "[{current}][{input}:v]overlay=x={x}:y={y}:enable='{}'[still{k}];",
            between(std::slice::from_ref(&still.range))
        ));
        input += 1;
        current = format!("still{k}");
    }
    for (n, ((patch, script), (_, pixels))) in patches.iter().zip(scripts).zip(logos).enumerate() {
        let (Some(patch), Some(script)) = (patch, script) else { continue };
        let (x, y, w, h) = pixels.xywh();
        let script = script.display().to_string().replace('\'', "");
        // The shifted copy is cut at the video's end: one from earlier frames runs past it, and
        // `overlay` goes on while either input does (the output was 2 s too long). One from
        // later frames ends early; the fill is off by then, and `overlay` passes the rest.
        graph.push_str(&format!(
            "[{input}:v:0]trim=end={:.3},sendcmd=f='{script}',\
             crop@patch{n}=w={w}:h={h}:x={}:y={}:exact=1[sh{n}];\
             [{current}][sh{n}]overlay=x={x}:y={y}:eof_action=pass:enable='{}'[p{n}];",
            info.duration,
            patch.first.0,
            patch.first.1,
            patch.enable()
        ));
        input += 1;
        current = format!("p{n}");
    }
    graph.push_str(&format!("[{current}]{last}[out]"));
    graph
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_stacked_and_cut_back_out() {
        // Two regions, 4×2 and 2×2, stacked into a 4-wide frame of 4 rows.
        let regions = [
            Region { x: 0, y: 0, width: 4, height: 2, inner: PixelBox::new(0, 0, 4, 2) },
            Region { x: 8, y: 8, width: 2, height: 2, inner: PixelBox::new(0, 0, 2, 2) },
        ];
        assert_eq!(
            stack_graph(&regions, (4, 2), 4, 10.0),
            "[0:v:0]fps=10,format=yuv420p,split=3[s0][s1][s2];[s0]crop=4:2:0:0:exact=1,pad=4:ih:0:0[r0];\
             [s1]crop=2:2:8:8:exact=1,pad=4:ih:0:0[r1];[s2]scale=4:2:flags=area,pad=4:ih:0:0[r2];\
             [r0][r1][r2]vstack=inputs=3[stack]"
        );
        // Luma 4×4 = 0..16, then U 2×2 = 100.., V 2×2 = 200..
        let mut frame: Vec<u8> = (0..16).collect();
        frame.extend([100, 101, 102, 103, 200, 201, 202, 203]);
        let mut out = Vec::new();
        crop_420(&frame, (4, 4), PixelBox::new(0, 2, 2, 2), &mut out);
        assert_eq!(out, vec![8, 9, 12, 13, 102, 202]);
        crop_420(&frame, (4, 4), PixelBox::new(0, 0, 4, 2), &mut out);
        assert_eq!(out, vec![0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 200, 201]);
    }

    #[test]
    fn un_blended_logos_take_their_maps_in_order_and_filled_ones_use_delogo() {
        let info =
            VideoInfo { width: 640, height: 360, fps: 25.0, duration: 10.0, has_audio: false, start: 0.0 };
        let area = iprod_core::params::LogoBox { x: 0.0, y: 0.0, width: 0.1, height: 0.1 };
        let maps = |x: u32| {
            Removal::Unblend(Box::new(Unblend {
                region: Region { x, y: 0, width: 20, height: 10, inner: PixelBox::new(4, 2, 12, 6) },
                gain: Vec::new(),
                offset: Vec::new(),
                opacity: 0.5,
                pixels: 40,
            }))
        };
        let logos = [
            (Logo::whole(area, 10.0), PixelBox::new(4, 2, 12, 6)),
            (Logo::whole(area, 10.0), PixelBox::new(100, 100, 30, 20)),
            (Logo { area, shown: vec![(2.0, 4.0)] }, PixelBox::new(204, 2, 12, 6)),
        ];
        let removals = [maps(0), Removal::Fill(NotBlended::Opaque), maps(200)];
        let graph = graph(&logos, &removals, (&[], &[]), &[], &info, "null");
        // The picture is made 4:2:0 first; the first logo's maps are inputs 1 (gain) and 2
        // (offset), the third's 3 and 4; the second is filled after both are laid back.
        assert!(graph.starts_with("[0:v:0]format=yuv420p[yuv];[yuv]split[m0][c0]"), "{graph}");
        assert!(graph.contains("[r0][2:v]blend=all_mode=subtract[d0];[d0][1:v]blend"), "{graph}");
        assert!(graph.contains("[r2][4:v]blend=all_mode=subtract[d2];[d2][3:v]blend"), "{graph}");
        assert!(graph.contains("[m2][u2]overlay=200:0:enable='between(t,2.000,4.000)'[v2]"), "{graph}");
        assert!(graph.ends_with("[v2]delogo=x=100:y=100:w=30:h=20,null[out]"), "{graph}");
    }
}
