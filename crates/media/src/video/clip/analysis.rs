//! VideoClip's analysis: cuts, motion and exposure from the shot pass, faces and saliency
//! concentration once a second from the same decode, audio loudness every 0.1 s.

use crate::video::Source;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use iprod_core::{Error, Result};

use super::{AUDIO_WINDOW, Analysis};
use crate::onnx::OnnxRuntime;
use crate::process::Process;
use crate::video::frames::{AnalysisSpec, Decode, Pixels, analysis_size, shot_pass_with, yuv420_to_rgb};
use crate::video::shots::ShotSettings;
use crate::vision::faces;
use crate::vision::quality::saliency_concentration;

/// One decode serves both analyses, as in VideoH2V: every frame at 320 px in YUV 4:2:0, whose
/// luma feeds the shot detector and the exposure, and of which one frame a second goes, as RGB,
/// to the face detector and the saliency measure on a thread of their own. (A separate RGB
/// decode at one frame a second decoded every frame all the same: a whole second decode.)
pub const FRAMES: AnalysisSpec =
    AnalysisSpec { width: 320, fps: None, pixels: Pixels::Yuv420, decode: Decode::Full };
/// Frames queued for the models at most: the decoders wait while the models are behind.
const MODEL_BACKLOG: usize = 4;
const AUDIO_RATE: usize = 8000;

pub async fn analyse(source: &Source<'_>, runtime: Arc<OnnxRuntime>) -> Result<Analysis> {
    let info = source.info;
    // The shot pass counts its own share; the loudness pass follows it.
    if info.has_audio {
        source.meter.add_pass(info.duration);
    }
    let (aw, ah) = analysis_size(info.width, info.height, FRAMES.width);
    let luma = (aw * ah) as usize;
    let (to_models, inbox) = sync_channel::<(usize, Vec<u8>)>(MODEL_BACKLOG);
    let models = crate::blocking::run("the face detection", move || subjects(&inbox, &runtime, (aw, ah)));
    let half_frame = 0.5 / info.fps;
    // The closure owns the sender: the models' queue closes when the decode ends.
    let pass = shot_pass_with(source, &FRAMES, move |_, f, _| {
        // The frame nearest each whole second goes to the models.
        let second = f.time.round();
        if (-half_frame..half_frame).contains(&(f.time - second)) {
            // Sending fails only when the models stopped on an error, reported below.
            let _ = to_models.send((second as usize, f.pixels.to_vec()));
        }
        exposure(&f.pixels[..luma.min(f.pixels.len())])
    });
    let (pass, subjects) = tokio::join!(pass, models);
    let (detector, exposure) = pass?;
    let (faces, salience) = subjects?.into_iter().unzip();
    let (brightness, contrast) = exposure.into_iter().unzip();
    let motion: Vec<f32> = detector.scores().iter().map(|s| s.1).collect();
    let cuts = detector
        .cuts(&ShotSettings::default())
        .into_iter()
        .map(|t| (t * info.fps).round() as usize)
        .collect();
    let loudness = if info.has_audio { loudness(source).await? } else { Vec::new() };
    Ok(Analysis { fps: info.fps, motion, brightness, contrast, cuts, faces, salience, loudness })
}

/// A frame's luma mean and standard deviation, 0..1.
fn exposure(luma: &[u8]) -> (f32, f32) {
    let n = luma.len().max(1) as f32;
    let mean = luma.iter().map(|p| f32::from(*p)).sum::<f32>() / n;
    let var = luma.iter().map(|p| (f32::from(*p) - mean).powi(2)).sum::<f32>() / n;
    (mean / 255.0, var.sqrt() / 255.0)
}

/// Per second: the largest face's size (square root of its area over the frame's) and the
/// frame's saliency concentration; `(0, 0)` for a second without a frame. The two halves of
/// the shot pass interleave, so the seconds come out of order.
fn subjects(
    inbox: &Receiver<(usize, Vec<u8>)>,
    runtime: &OnnxRuntime,
    (aw, ah): (u32, u32),
) -> Result<Vec<(f32, f32)>> {
    let mut by_second: Vec<(f32, f32)> = Vec::new();
    let area = (aw * ah) as f32;
    for (second, pixels) in inbox {
        crate::blocking::checkpoint()?;
        let image = yuv420_to_rgb(&pixels, aw as usize, ah as usize)
            .ok_or_else(|| Error::internal("an analysis frame was short"))?;
        let found = faces::detect(runtime, &image, faces::DEFAULT_THRESHOLD)?;
        let face = found.iter().map(|face| (face.rect.area() / area).sqrt()).fold(0.0, f32::max);
        if by_second.len() <= second {
            by_second.resize(second + 1, (0.0, 0.0));
        }
        by_second[second] = (face, saliency_concentration(&image));
    }
    Ok(by_second)
}

/// RMS of the first audio stream (mono, 8 kHz) per [`AUDIO_WINDOW`].
async fn loudness(source: &Source<'_>) -> Result<Vec<f32>> {
    let Source { ffmpeg, input, timeout, meter, .. } = *source;
    let window = (AUDIO_RATE as f64 * AUDIO_WINDOW) as usize;
    let mut levels = Vec::new();
    Process::new(ffmpeg, timeout)
        .args(["-nostdin", "-v", "error"])
        .input(input)
        .args(["-map", "0:a:0", "-vn", "-ac", "1", "-ar", &AUDIO_RATE.to_string(), "-f", "s16le", "pipe:1"])
        .stream(window * 2, |bytes| {
            let sum: f64 = bytes
                .chunks_exact(2)
                .map(|s| f64::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0)
                .map(|v| v * v)
                .sum();
            levels.push((sum / window as f64).sqrt() as f32);
            meter.advance(AUDIO_WINDOW);
            true
        })
        .await
        .map_err(|e| e.into_error("decoding the audio"))?;
    Ok(levels)
}
