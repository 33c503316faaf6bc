//! VideoH2V: a landscape video reframed to 9:16 (or a given aspect) with a virtual camera that
//! keeps the subject.
//!
//! Analysis is one decode, bounded in memory (one frame per decoder, a few queued for the
//! models): every frame at 320 px for shot boundaries, and 2.5 frames a second of those for
//! faces (CenterFace), with saliency (U²-Net-p, one map per shot refreshed every few seconds,
//! its subject followed by block matching in between) where a frame has no face. The models run
//! on their own thread while the decode goes on, text reading on a second one beside them. Each
//! sample is framed as a still image would be (`vision::framing::plan`). Per shot the camera is
//! stationary when the subject stays within a tenth of the frame, else it tracks it along a
//! zero-phase smoothed path; it never pans across a cut.
//! Rendering is one ffmpeg pass: `crop` driven per frame by `sendcmd`, audio copied, H.264 MP4
//! with +faststart.

pub mod framer;
pub mod subject_track;

use crate::video::Source;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel, sync_channel};

use iprod_core::params::Aspect;
use iprod_core::{Error, Result};
use serde_json::{Value, json};

use crate::models::PPOCR_DET;
use crate::onnx::OnnxRuntime;
use crate::video::frames::{AnalysisSpec, Decode, Pixels, analysis_size, shot_pass_with, yuv420_to_rgb};
use crate::video::shots::ShotSettings;
use crate::vision::saliency::{self, SaliencyMap};
use crate::vision::text::{self, TextMap};
use crate::vision::{Rect, faces};
use framer::{Framer, Looked};
use image::RgbImage;
use subject_track::SubjectTrack;

/// One decode serves both analyses: every frame (cuts must be frame-accurate) at 320 px in YUV
/// 4:2:0, whose luma feeds the shot detector and of which a few frames a second are turned to
/// RGB for the models. (Faces smaller than ~12 px at this size, ~50 px in a 1280-wide source,
/// are not found.)
const FRAMES: AnalysisSpec =
    AnalysisSpec { width: 320, fps: None, pixels: Pixels::Yuv420, decode: Decode::Fast };
/// Faces, and saliency where there is no face, are looked for this many times a second.
const SUBJECT_RATE: f64 = 2.5;
/// Entries a second of the crop path in the Result.
const PATH_RATE: f64 = 5.0;
/// Frames queued for the models at most: the decoders wait while the models are behind.
const MODEL_BACKLOG: usize = 4;
/// The analysis frames are read for text at this long side (~25 ms a read; at 320 px a title was
/// read in only some frames), on every [`TEXT_READ_EVERY`]th sample and after a cut (every sample
/// cost 0.4x the crop's time on the bench clip). Text counts once read at the same place
/// (IoU ≥ [`TEXT_SAME_PLACE`]) in two consecutive readings of a part (single readings on real
/// footage were patterns, not text), and is held through one reading that misses it.
const TEXT_SIDE: u32 = 480;
const TEXT_READ_EVERY: usize = 3;
const TEXT_SAME_PLACE: f32 = 0.4;
/// Frames queued for the text reader at most: faces and saliency wait while it is behind.
const TEXT_BACKLOG: usize = 2;
/// Saliency costs ~0.15 s (more than everything else per sample), so a map serves a shot: it is
/// made again after a change as large as a cut's, or once it is `SALIENCY_MAX_AGE` seconds old;
/// in between, its subject is followed by block matching (`subject_track`). Measured on the
/// bench clip, whose shots change a lot within themselves: re-making it whenever the picture's
/// signature moved (> 0.08 after 1 s) cost ~32 maps in 30 s, every 2 s ~20, every 4 s ~17.
const SALIENCY_MAX_AGE: f64 = 4.0;
/// A subject moving less than this fraction of the width within a shot gets a still camera.
const STATIONARY: f32 = 0.1;
/// Smoothing of a tracking camera (Gaussian sigma, seconds).
const SMOOTHING: f64 = 0.6;

/// Where the subject is at one analysed instant: the centre of its window, in source pixels.
#[derive(Debug, Clone)]
pub struct Sample {
    pub time: f64,
    pub center: f32,
    /// The content that must be seen does not fit the window (two people far apart, a subject
    /// wider than the frame, a caption wider than the window).
    pub padded: bool,
    /// The on-screen text the framing kept whole (source pixels).
    pub text: Vec<Rect>,
}

#[derive(Debug, Clone)]
pub struct Shot {
    pub start: f64,
    pub end: f64,
    pub stationary: bool,
    /// The whole frame, scaled to the window's width over a blurred fill, instead of a crop.
    pub padded: bool,
    /// (time, window x in source pixels), smoothed.
    pub path: Vec<(f64, f32)>,
}

/// A shot is padded when at least this share of its samples cannot be cropped.
const PADDED_SHARE: f64 = 0.5;

/// A frame for the models: which part of the shot pass decoded it (parts interleave), when, and
/// whether the picture changed as at a cut since the part's previous sample.
struct Subject {
    part: usize,
    time: f64,
    new_picture: bool,
    pixels: Vec<u8>,
}

/// The cuts and the subject samples, from one decode of the video.
pub async fn analyse(
    source: &Source<'_>,
    aspect: Aspect,
    runtime: Arc<OnnxRuntime>,
) -> Result<(Vec<f64>, Vec<Sample>)> {
    let info = source.info;
    let (aw, ah) = analysis_size(info.width, info.height, FRAMES.width);
    let scale = info.width as f32 / aw as f32;
    let (to_models, inbox) = sync_channel::<Subject>(MODEL_BACKLOG);
    let models =
        tokio::task::spawn_blocking(move || find_subjects(&inbox, &runtime, (aw, ah, aspect), scale));
    let half_frame = 0.5 / info.fps;
    let settings = ShotSettings::default();
    let pass = shot_pass_with(source, &FRAMES, |part, f, detector| {
        // The frame nearest each sampling instant goes to the models.
        let offset = f.time - (f.time * SUBJECT_RATE).round() / SUBJECT_RATE;
        if (-half_frame..half_frame).contains(&offset) {
            let new_picture = detector.changed_since(f.time - 1.0 / SUBJECT_RATE, &settings);
            // Sending fails only when the models stopped on an error, reported below.
            let _ = to_models.send(Subject { part, time: f.time, new_picture, pixels: f.pixels.to_vec() });
        }
    })
    .await;
    drop(to_models);
    let samples = models.await.map_err(|e| Error::internal("the analysis task failed").with_source(e))?;
    let (detector, _) = pass?;
    Ok((detector.cuts(&settings), samples?))
}

/// Frames each sample as a still image would be (`vision::framing::plan`): faces first, else the
/// salient subject, else the centre.
///
/// Text is read on a thread of its own, one intra-op thread, while faces and saliency go on with
/// the next samples (a read costs ~3× a face search on a 480 px frame): a sample is framed once
/// its reading is in, in order, and the reader is at most [`TEXT_BACKLOG`] reads behind.
fn find_subjects(
    inbox: &Receiver<Subject>,
    runtime: &OnnxRuntime,
    (aw, ah, aspect): (u32, u32, Aspect),
    scale: f32,
) -> Result<Vec<Sample>> {
    // Per part: the last map, when it was made, and its subject followed since.
    let mut maps: HashMap<usize, (f64, SaliencyMap, Option<SubjectTrack>)> = HashMap::new();
    // Per part: how many samples it has had (every `TEXT_READ_EVERY`th is read).
    let mut counts: HashMap<usize, usize> = HashMap::new();
    let mut framer = Framer::new((aw, ah, aspect), scale);
    let session = runtime.single_threaded_session(&PPOCR_DET)?;
    std::thread::scope(|scope| {
        let (to_reader, to_read) = sync_channel::<RgbImage>(TEXT_BACKLOG);
        let (read_out, readings) = channel::<Result<TextMap>>();
        let reader = scope.spawn(move || {
            for image in to_read {
                // Fails only when the framing below stopped on an error, returned there.
                let _ = read_out.send(text::probability_map_in(&session, &image, TEXT_SIDE));
            }
        });
        let mut waiting: VecDeque<Looked> = VecDeque::new();
        let framed = (|| {
            for subject in inbox {
                let image = yuv420_to_rgb(&subject.pixels, aw as usize, ah as usize)
                    .ok_or_else(|| Error::internal("an analysis frame was short"))?;
                let count = counts.entry(subject.part).or_default();
                let reading = count.is_multiple_of(TEXT_READ_EVERY) || subject.new_picture;
                *count += 1;
                let luma = &subject.pixels[..(aw * ah) as usize];
                let (found, salient, followed) =
                    look_for_subject(runtime, &image, luma, &subject, &mut maps, (aw, ah))?;
                if reading && to_reader.send(image).is_err() {
                    return Err(Error::internal("the text reader stopped"));
                }
                let (part, time) = (subject.part, subject.time);
                waiting.push_back(Looked { part, time, reading, found, salient, followed });
                // The samples at the front whose reading is in (or that have none) are framed.
                while let Some(front) = waiting.front() {
                    let map = match front.reading.then(|| readings.try_recv()) {
                        None => None,
                        Some(Ok(map)) => Some(map?),
                        Some(Err(TryRecvError::Empty)) => break,
                        Some(Err(TryRecvError::Disconnected)) => {
                            return Err(Error::internal("the text reader stopped"));
                        }
                    };
                    framer.frame(waiting.pop_front().expect("the front exists"), map);
                }
            }
            Ok(())
        })();
        drop(to_reader);
        framed?;
        for looked in waiting {
            let map = match looked.reading {
                true => Some(readings.recv().map_err(|_| Error::internal("the text reader stopped"))??),
                false => None,
            };
            framer.frame(looked, map);
        }
        reader.join().map_err(|_| Error::internal("text reading panicked"))?;
        Ok(framer.samples())
    })
}

/// The faces in a sample, and where there are none the salient subject: the part's map while
/// it is fresh, its subject followed by block matching (`(map, where the subject is now)`).
fn look_for_subject(
    runtime: &OnnxRuntime,
    image: &image::RgbImage,
    luma: &[u8],
    subject: &Subject,
    maps: &mut HashMap<usize, (f64, SaliencyMap, Option<SubjectTrack>)>,
    (aw, ah): (u32, u32),
) -> Result<(Vec<faces::Face>, Option<SaliencyMap>, Option<f32>)> {
    let found = faces::detect(runtime, image, faces::DEFAULT_THRESHOLD)?;
    // Only a frame without faces is framed on saliency.
    if !found.is_empty() {
        return Ok((found, None, None));
    }
    let stale = |(made, _, _): &(f64, SaliencyMap, Option<SubjectTrack>)| {
        subject.new_picture || subject.time - made >= SALIENCY_MAX_AGE
    };
    let followed = match maps.get_mut(&subject.part) {
        Some(entry) if !stale(entry) => entry.2.as_mut().map(|track| track.follow(luma)),
        _ => {
            // At the frame's own size, not stretched to rembg's 320² as a still image is: 0.6×
            // the time for 16:9 (320×192), and on 53 frames (the bench clip, 16:9 crops of the
            // test photos) the maps held whole subjects the square one reduced to a part (a
            // cat's face, not its eye; a walker beside a bicycle).
            let map = saliency::saliency_at_own_size(runtime, image)?;
            let track = SubjectTrack::start(&map, luma, aw as usize, ah as usize);
            let followed = track.as_ref().map(SubjectTrack::center);
            maps.insert(subject.part, (subject.time, map, track));
            followed
        }
    };
    Ok((found, maps.get(&subject.part).map(|(_, map, _)| map.clone()), followed))
}

/// Per shot: a still or a smoothed tracking camera, as window x positions (source pixels).
pub fn camera(samples: &[Sample], cuts: &[f64], duration: f64, width: u32, window: u32) -> Vec<Shot> {
    let max_x = (width - window) as f32;
    let bounds: Vec<f64> =
        std::iter::once(0.0).chain(cuts.iter().copied()).chain(std::iter::once(duration)).collect();
    bounds
        .windows(2)
        .map(|b| {
            let (start, end) = (b[0], b[1]);
            let all: Vec<&Sample> = samples.iter().filter(|s| s.time >= start && s.time < end).collect();
            let to_x = |c: f32| (c - window as f32 / 2.0).clamp(0.0, max_x);
            let padded = all.iter().filter(|s| s.padded).count();
            if !all.is_empty() && padded as f64 >= PADDED_SHARE * all.len() as f64 {
                return Shot { start, end, stationary: true, padded: true, path: vec![(start, 0.0)] };
            }
            // The camera follows what can be framed; the few unframeable samples do not pull it.
            let inside: Vec<&Sample> = all.into_iter().filter(|s| !s.padded).collect();
            let centers: Vec<f32> = inside.iter().map(|s| s.center).collect();
            if centers.is_empty() {
                return Shot {
                    start,
                    end,
                    stationary: true,
                    padded: false,
                    path: vec![(start, max_x / 2.0)],
                };
            }
            let (lo, hi) = centers.iter().fold((f32::MAX, f32::MIN), |(l, h), c| (l.min(*c), h.max(*c)));
            if hi - lo <= STATIONARY * width as f32 {
                let mut sorted = centers;
                sorted.sort_by(f32::total_cmp);
                return Shot {
                    start,
                    end,
                    stationary: true,
                    padded: false,
                    path: vec![(start, to_x(sorted[sorted.len() / 2]))],
                };
            }
            // Gaussian smoothing over time is zero-phase: the camera does not lag the subject.
            let mut path: Vec<(f64, f32)> = inside
                .iter()
                .map(|s| {
                    let (mut sum, mut weight) = (0f64, 0f64);
                    for o in &inside {
                        let w = (-((o.time - s.time) / SMOOTHING).powi(2) / 2.0).exp();
                        sum += w * f64::from(o.center);
                        weight += w;
                    }
                    (s.time, to_x((sum / weight) as f32))
                })
                .collect();
            // The camera keeps its speed from the shot's first frame to its last, as one that
            // follows a moving subject does, instead of starting late and stopping early.
            let extend = |(t0, x0): (f64, f32), (t1, x1): (f64, f32), t: f64| {
                let slope = (x1 - x0) / (t1 - t0).max(1e-9) as f32;
                (t, (x1 + slope * (t - t1) as f32).clamp(0.0, max_x))
            };
            if let [first, second, ..] = path[..]
                && first.0 > start
            {
                path.insert(0, extend(second, first, start));
            }
            if let [.., before, last] = path[..]
                && last.0 < end
            {
                path.push(extend(before, last, end));
            }
            Shot { start, end, stationary: false, padded: false, path }
        })
        .collect()
}

/// The window x at `time`: linear between path points of its shot.
fn x_at(shots: &[Shot], time: f64) -> f32 {
    let shot = shots.iter().find(|s| time >= s.start && time < s.end).or(shots.last());
    let Some(shot) = shot else { return 0.0 };
    let path = &shot.path;
    match path.iter().position(|(t, _)| *t > time) {
        None => path.last().map_or(0.0, |p| p.1),
        Some(0) => path[0].1,
        Some(i) => {
            let ((t0, x0), (t1, x1)) = (path[i - 1], path[i]);
            let k = ((time - t0) / (t1 - t0).max(1e-9)) as f32;
            x0 + (x1 - x0) * k
        }
    }
}

/// Renders the reframed video in one ffmpeg pass: `crop` moved per frame by a `sendcmd` script;
/// padded shots show the whole frame over a blurred fill, `streamselect` switching at their cuts.
/// `output`: the size to scale the window to, when not its own.
pub async fn render(
    pass: &super::Render<'_>,
    (work, shots): (&Path, &[Shot]),
    window: (u32, u32),
    output: Option<(u32, u32)>,
    on_progress: impl FnMut(f64),
) -> Result<()> {
    let info = pass.info;
    let frames = (info.duration * info.fps).ceil() as usize + 1;
    let mut commands = String::new();
    let mut last = u32::MAX;
    for n in 0..frames {
        let t = n as f64 / info.fps;
        let x = (x_at(shots, t).round() as u32) & !1;
        if x != last {
            commands.push_str(&format!("{t:.4} crop@camera x {x};\n"));
            last = x;
        }
    }
    let padding = shots.iter().any(|s| s.padded);
    if padding {
        for shot in shots {
            commands.push_str(&format!(
                "{:.4} streamselect@mode map {};\n",
                shot.start,
                u8::from(shot.padded)
            ));
        }
    }
    let script: PathBuf = work.join("camera.cmd");
    std::fs::write(&script, commands)
        .map_err(|e| Error::transient("Scratch", "cannot write the camera script").with_source(e))?;
    let first_x = (x_at(shots, 0.0).round() as u32) & !1;
    let (w, h) = window;
    // Timestamps start at 0 so the script's times match; the crop starts where the camera does.
    let crop = format!("crop@camera=w={w}:h={h}:x={first_x}:y={}", (info.height - h) / 2);
    let script = script.display().to_string().replace('\'', "");
    let mut filter = if padding {
        // Both framings are made for every frame and `streamselect` shows one per shot. The
        // source is scaled down once, to the window's width (by area averaging: as sharp as
        // bicubic at this ~3× reduction, and 0.1–0.2 s less on the bench clip, where every frame
        // pays for it); the fill is that copy cover-scaled to an eighth of the window,
        // box-blurred and stretched back (bilinear: it is a blur). The same look as a Gaussian
        // blur of the source, at half the filters' cost (measured on the bench clip: 1.5 s →
        // 0.8 s over a plain crop; `gblur` alone took ~0.4 s of it).
        let small = ((w / 8).max(2) & !1, (h / 8).max(2) & !1);
        format!(
            "setpts=PTS-STARTPTS,sendcmd=f='{script}',split[c][p];[c]{crop}[cropped];\
             [p]scale={w}:-2:flags=area,split[fit][bg];\
             [bg]scale={}:{}:force_original_aspect_ratio=increase:flags=bilinear,crop={}:{},\
             boxblur=luma_radius='min(2,min(w,h)/2)':chroma_radius='min(2,min(cw,ch)/2)',\
             scale={w}:{h}:flags=bilinear[fill];\
             [fill][fit]overlay=(W-w)/2:(H-h)/2[padded];\
             [cropped][padded]streamselect@mode=inputs=2:map={}",
            small.0,
            small.1,
            small.0,
            small.1,
            u8::from(shots.first().is_some_and(|s| s.padded))
        )
    } else {
        format!("setpts=PTS-STARTPTS,sendcmd=f='{script}',{crop}")
    };
    if let Some((ow, oh)) = output {
        filter.push_str(&format!(",scale={ow}:{oh}:flags=lanczos"));
    }
    pass.run(&filter, 20, on_progress).await
}

/// The window for a source: full height (even), width from the aspect (even). An error when the
/// aspect is wider than the source: the camera slides sideways only.
pub fn window_size(width: u32, height: u32, aspect: Aspect) -> Result<(u32, u32)> {
    let h = height & !1;
    let exact = f64::from(h) * f64::from(aspect.width) / f64::from(aspect.height);
    if exact > f64::from(width) + 1.0 {
        return Err(Error::invalid_parameter(
            "JobParams",
            format!(
                "JobParams.Aspect {}:{} is wider than the video ({width}x{height}): VideoH2V keeps the full height and \
                 crops the sides; ask for an aspect no wider than the video's",
                aspect.width, aspect.height
            ),
        ));
    }
    Ok((((exact.round() as u32) & !1).clamp(2, width & !1), h))
}

/// The output size for a requested width: even sides, the height from the aspect.
pub fn output_size(width: u32, aspect: Aspect) -> (u32, u32) {
    let w = (width & !1).max(2);
    let h = ((f64::from(w) * f64::from(aspect.height) / f64::from(aspect.width)).round() as u32 & !1).max(2);
    (w, h)
}

/// The Result: the output size, the shots with their camera mode, and the crop path at 5
/// entries a second as `[t, x, y, w, h]` in source pixels (a padded shot's entry is the whole
/// frame), so users can reuse it; between two entries of a shot the render moves the window
/// linearly, and after a shot's last entry it goes on at the same speed until the cut.
/// The on-screen text the framing kept, as regions with the time span they were seen in
/// (consecutive samples with an overlapping region are one entry).
pub fn text_regions(samples: &[Sample]) -> Value {
    let mut regions: Vec<(f64, f64, Rect)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for s in samples {
        let mut still_open = Vec::new();
        for r in &s.text {
            match open.iter().find(|k| regions[**k].2.iou(r) >= 0.5) {
                Some(k) => {
                    regions[*k].1 = s.time;
                    still_open.push(*k);
                }
                None => {
                    regions.push((s.time, s.time, *r));
                    still_open.push(regions.len() - 1);
                }
            }
        }
        open = still_open;
    }
    let round2 = |t: f64| (t * 100.0).round() / 100.0;
    regions
        .iter()
        .map(|(from, to, r)| {
            json!({"Start": round2(*from), "End": round2(*to), "X": r.x.round(), "Y": r.y.round(),
                   "Width": r.width.round(), "Height": r.height.round()})
        })
        .collect()
}

pub fn result(
    shots: &[Shot],
    (window, output): ((u32, u32), (u32, u32)),
    source: (u32, u32),
    duration: f64,
) -> Value {
    let round3 = |t: f64| (t * 1000.0).round() / 1000.0;
    let mode = |s: &Shot| {
        if s.padded {
            "padded"
        } else if s.stationary {
            "stationary"
        } else {
            "tracking"
        }
    };
    let listed: Vec<Value> = shots
        .iter()
        .map(|s| json!({"Start": round3(s.start), "End": round3(s.end), "Mode": mode(s)}))
        .collect();
    let rate = PATH_RATE;
    let y = (source.1 - window.1) / 2;
    let path: Vec<Value> = (0..=((duration * rate).floor() as usize))
        .map(|k| {
            let t = k as f64 / rate;
            let padded =
                shots.iter().find(|s| t >= s.start && t < s.end).or(shots.last()).is_some_and(|s| s.padded);
            if padded {
                json!([round3(t), 0, 0, source.0, source.1])
            } else {
                json!([round3(t), (x_at(shots, t).round() as u32) & !1, y, window.0, window.1])
            }
        })
        .collect();
    let overall = match (shots.iter().any(|s| s.padded), shots.iter().all(|s| s.padded)) {
        (false, _) => "crop",
        (true, true) => "pad",
        (true, false) => "mixed",
    };
    json!({"Mode": overall, "Width": output.0, "Height": output.1, "Shots": listed, "CropPath": path})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(time: f64, center: f32) -> Sample {
        Sample { time, center, padded: false, text: Vec::new() }
    }

    #[test]
    fn a_shot_whose_people_do_not_fit_is_padded() {
        let mut samples: Vec<Sample> = (0..10).map(|i| s(f64::from(i) * 0.2, 900.0)).collect();
        samples.iter_mut().skip(3).for_each(|s| s.padded = true);
        samples.push(s(2.5, 300.0));
        let shots = camera(&samples, &[2.4], 3.0, 1920, 608);
        assert!(shots[0].padded, "7 of 10 samples cannot be cropped");
        assert!(!shots[1].padded);
    }

    #[test]
    fn a_still_subject_gets_a_still_camera_and_cuts_reset_it() {
        let samples = vec![s(0.0, 300.0), s(0.5, 310.0), s(1.0, 305.0), s(1.5, 1500.0), s(2.0, 1510.0)];
        let shots = camera(&samples, &[1.5], 2.5, 1920, 608);
        assert_eq!(shots.len(), 2);
        assert!(shots.iter().all(|s| s.stationary));
        assert_eq!(shots[0].path, vec![(0.0, 1.0)]);
        assert_eq!(x_at(&shots, 1.49), 1.0);
        assert_eq!(x_at(&shots, 1.5), 1206.0, "the camera jumps at the cut, to the new subject");
    }

    #[test]
    fn a_moving_subject_is_tracked_smoothly() {
        let samples: Vec<Sample> = (0..20).map(|i| s(f64::from(i) * 0.2, 400.0 + i as f32 * 40.0)).collect();
        let shots = camera(&samples, &[], 4.0, 1920, 608);
        assert!(!shots[0].stationary);
        let xs: Vec<f32> = shots[0].path.iter().map(|p| p.1).collect();
        assert!(xs.windows(2).all(|w| w[1] >= w[0]), "monotonic: {xs:?}");
        assert!(xs.windows(2).all(|w| w[1] - w[0] <= 45.0), "no jumps: {xs:?}");
        assert_eq!(window_size(1920, 1080, Aspect::default()).unwrap(), (608, 1080));
        assert_eq!(window_size(1280, 721, Aspect::default()).unwrap(), (404, 720));
        let square = Aspect { width: 1, height: 1 };
        assert_eq!(window_size(1280, 720, square).unwrap(), (720, 720));
        assert_eq!(window_size(1080, 1920, Aspect::default()).unwrap(), (1080, 1920), "already 9:16");
        let e = window_size(720, 1280, square).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.JobParams");
        assert!(e.message().contains("1:1 is wider than the video (720x1280)"), "{}", e.message());
        assert_eq!(output_size(541, Aspect::default()), (540, 960));
    }
}
