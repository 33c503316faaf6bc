//! VideoClip's analysis: cuts, motion and exposure from the shot pass, faces and saliency
//! concentration once a second, audio loudness every 0.1 s.

use crate::video::Source;
use std::sync::Arc;

use image::RgbImage;
use iprod_core::Result;

use super::{AUDIO_WINDOW, Analysis};
use crate::onnx::OnnxRuntime;
use crate::process::Process;
use crate::video::frames::{AnalysisSpec, Decode, Pixels, for_each_frame, shot_pass};
use crate::video::shots::ShotSettings;
use crate::vision::faces;
use crate::vision::quality::saliency_concentration;

const FACES: AnalysisSpec =
    AnalysisSpec { width: 320, fps: Some(1.0), pixels: Pixels::Rgb, decode: Decode::Full };
const AUDIO_RATE: usize = 8000;

pub async fn analyse(source: &Source<'_>, runtime: Arc<OnnxRuntime>) -> Result<Analysis> {
    let info = source.info;
    let meter = source.meter.clone();
    // The shot pass expects its own share; then the subjects and, with audio, the loudness.
    meter.add_pass(info.duration * if info.has_audio { 2.0 } else { 1.0 });
    let (detector, exposure) = shot_pass(source, |pixels| {
        let n = pixels.len().max(1) as f32;
        let mean = pixels.iter().map(|p| f32::from(*p)).sum::<f32>() / n;
        let var = pixels.iter().map(|p| (f32::from(*p) - mean).powi(2)).sum::<f32>() / n;
        (mean / 255.0, var.sqrt() / 255.0)
    })
    .await?;
    let (brightness, contrast) = exposure.into_iter().unzip();
    let motion: Vec<f32> = detector.scores().iter().map(|s| s.1).collect();
    let cuts = detector
        .cuts(&ShotSettings::default())
        .into_iter()
        .map(|t| (t * info.fps).round() as usize)
        .collect();
    let loudness = if info.has_audio { loudness(source).await? } else { Vec::new() };

    let (ffmpeg, input, info, timeout) =
        (source.ffmpeg.to_owned(), source.input.to_owned(), *info, source.timeout);
    let handle = tokio::runtime::Handle::current();
    let subjects = crate::blocking::run("the analysis task", move || {
        let source = Source { ffmpeg: &ffmpeg, input: &input, info: &info, timeout, meter: &meter };
        subjects(&handle, &source, &runtime)
    })
    .await?;
    let (faces, salience) = subjects.into_iter().unzip();
    Ok(Analysis { fps: info.fps, motion, brightness, contrast, cuts, faces, salience, loudness })
}

/// Once a second: the largest face's size (square root of its area over the frame's) and the
/// frame's saliency concentration.
fn subjects(
    handle: &tokio::runtime::Handle,
    source: &Source<'_>,
    runtime: &OnnxRuntime,
) -> Result<Vec<(f32, f32)>> {
    let Source { ffmpeg, input, info, timeout, meter } = *source;
    let mut sizes = Vec::new();
    let mut failure = None;
    handle.block_on(for_each_frame(
        ffmpeg,
        input,
        (info.width, info.height, info.fps),
        &FACES,
        timeout,
        |f| {
            let Some(image) = RgbImage::from_raw(f.width as u32, f.height as u32, f.pixels.to_vec()) else {
                return false;
            };
            match faces::detect(runtime, &image, faces::DEFAULT_THRESHOLD) {
                Ok(found) => {
                    let area = (f.width * f.height) as f32;
                    let face = found.iter().map(|face| (face.rect.area() / area).sqrt()).fold(0.0, f32::max);
                    sizes.push((face, saliency_concentration(&image)));
                    meter.advance(1.0 / FACES.fps.unwrap_or(info.fps));
                    true
                }
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }
        },
    ))?;
    failure.map_or(Ok(sizes), Err)
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
