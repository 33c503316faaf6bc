//! The engine behind every job: each function is dispatched to its algorithm module, after its
//! input has been probed and checked against the configured limits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use iprod_core::function::MediaKind;
use iprod_core::params::{CoverModel, JobParams};
use iprod_core::ports::{MediaEngine, MediaOutput, MediaTask, Progress};
use iprod_core::{Error, FunctionName, Result};
use serde::{Deserialize, Serialize};

use crate::image::io::{self as image_io, ImageLimits};
use crate::onnx::OnnxRuntime;
use crate::video::hardware::{self, VideoEncoder};
use crate::video::info::{VideoInfo, VideoLimits, check_video};
use crate::video::meter::{Meter, metered};
use crate::video::{Render, Source};
use crate::{memory, models, probe};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Directory holding the ONNX Runtime library and the models (see layers/).
    pub model_dir: PathBuf,
    /// Threads per inference session.
    pub inference_threads: usize,
    /// Use ONNX Runtime's CUDA provider when the library in `model_dir` has it (put
    /// onnxruntime-gpu's there on a GPU host); the CPU otherwise.
    pub gpu: bool,
    /// Longest a single ffmpeg/ffprobe run may take, in seconds.
    pub process_timeout_secs: u64,
    /// What an image input may be (checked on the probe, before decoding).
    pub image_limits: ImageLimits,
    /// What a video input may be (checked on the probe, before decoding).
    pub video_limits: VideoLimits,
    /// The memory one job may need, in MB: larger inputs are refused on their probed size
    /// (`crate::memory`), and the embedded service runs as many jobs at once as fit.
    pub job_memory_mb: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            model_dir: ".iprod/model-pack".into(),
            inference_threads: 2,
            gpu: false,
            process_timeout_secs: 3600,
            image_limits: ImageLimits::default(),
            video_limits: VideoLimits::default(),
            job_memory_mb: memory::DEFAULT_JOB_MEMORY_MB,
        }
    }
}

impl EngineSettings {
    pub fn process_timeout(&self) -> Duration {
        Duration::from_secs(self.process_timeout_secs)
    }
}

pub struct Engine {
    settings: EngineSettings,
    /// Sessions are created on first use, so an engine that only validates (submit) never
    /// loads ONNX Runtime.
    runtime: Arc<OnnxRuntime>,
    /// NVENC only with `gpu` on and a working test encode (NVDEC for the analysis decodes
    /// likewise), decided once when the engine is made, not in a job's async path.
    encoder: VideoEncoder,
}

impl Engine {
    pub fn new(settings: EngineSettings) -> Self {
        let runtime = Arc::new(
            OnnxRuntime::new(settings.model_dir.clone(), settings.inference_threads).with_gpu(settings.gpu),
        );
        // On a GPU host: a test encode and decode of a fifth of a second each, once.
        if settings.gpu {
            crate::video::frames::set_cuda_decoding(hardware::nvdec_usable(&settings.ffmpeg));
        }
        let encoder = VideoEncoder::detect(&settings.ffmpeg, settings.gpu);
        Self { settings, runtime, encoder }
    }

    /// The H.264 encoder this engine renders with.
    pub fn video_encoder(&self) -> VideoEncoder {
        self.encoder
    }

    /// The output file for `task`: the template's extension, else the function's first format.
    fn output_path(task: &MediaTask) -> PathBuf {
        let ext = task.outputs.extension().unwrap_or_else(|| {
            iprod_core::catalog::output_extensions(task.function, &task.params)[0].to_owned()
        });
        task.work_dir.join(format!("output.{ext}"))
    }

    async fn process_video(&self, task: &MediaTask, progress: &dyn Progress) -> Result<MediaOutput> {
        // Every input is probed and checked before anything decodes it, for every function.
        let bytes = input_size(&task.input)?;
        let probed =
            probe::probe(&self.settings.ffprobe, &task.input, self.settings.process_timeout()).await?;
        let info = check_video(&probed, bytes, &self.settings.video_limits)?;
        memory::check(MediaKind::Video, info.width, info.height, self.settings.job_memory_mb)?;
        let audio_codec = probed
            .streams
            .iter()
            .find(|s| s.codec_type.as_deref() == Some("audio"))
            .and_then(|s| s.codec_name.clone());
        // A missing or corrupt model pack fails the job now, not after minutes of decoding.
        let needed: &[&models::OnnxModel] = match &task.params {
            JobParams::VideoH2V { .. } => &[&models::CENTERFACE, &models::U2NETP_DYNAMIC, &models::PPOCR_DET],
            JobParams::Cover { .. } | JobParams::VideoClip(_) => &[&models::CENTERFACE],
            // Finding the logos reads overlay text; given boxes need no model.
            JobParams::VideoDelogo { logos } if logos.is_empty() => &[&models::PPOCR_DET],
            _ => &[],
        };
        for model in needed {
            self.runtime.session(model)?;
        }
        progress.report(5);
        let (ffmpeg, timeout) = (&self.settings.ffmpeg, self.settings.process_timeout());
        let output = Self::output_path(task);
        let pass = Render {
            ffmpeg,
            input: &task.input,
            output: &output,
            info: &info,
            audio_codec: audio_codec.as_deref(),
            timeout,
            encoder: self.video_encoder(),
        };
        let result = match &task.params {
            JobParams::Cover { model, count } => {
                return self.cover(task, &info, *model, *count as usize, progress).await;
            }
            JobParams::VideoClip(params) => {
                use crate::video::clip;
                let meter = Arc::new(Meter::default());
                let source = Source { ffmpeg, input: &task.input, info: &info, timeout, meter: &meter };
                let analysing = clip::analyse(&source, self.runtime.clone());
                let analysing = metered(analysing, &meter, |f| progress.report(5 + (f * 55.0) as u8));
                // The keyframes are read from the packet index while the analysis decodes.
                let keyframes = async {
                    if !clip::copy::copyable(&probed, &output) {
                        return Vec::new();
                    }
                    let ffprobe = &self.settings.ffprobe;
                    clip::copy::keyframes(ffprobe, &task.input, &info, timeout).await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "the keyframes could not be listed; the summary is encoded");
                        Vec::new()
                    })
                };
                let (analysis, keyframes) = tokio::join!(analysing, keyframes);
                let analysis = analysis?;
                progress.report(60);
                let chosen = clip::select(&analysis, info.duration, params);
                let key_frames: Vec<usize> = keyframes.iter().map(|k| k.frame).collect();
                let on_keys = clip::on_keyframes(&analysis, params, &chosen, &key_frames);
                let report = |f: f64| progress.report(60 + (f * 35.0) as u8);
                let copied = match &on_keys {
                    Some(segments) => {
                        let cut = (segments.as_slice(), keyframes.as_slice(), analysis.frames());
                        // Copying is a saving: where it fails, the summary is encoded.
                        clip::copy::render(&pass, &self.settings.ffprobe, cut, report).await.unwrap_or_else(
                            |e| {
                                tracing::warn!(error = %e, "copying the summary failed; encoding it");
                                false
                            },
                        )
                    }
                    None => false,
                };
                let segments = match on_keys {
                    Some(segments) if copied => segments,
                    _ => {
                        clip::render(&pass, &chosen, report).await?;
                        chosen
                    }
                };
                clip::result(&segments, info.fps, copied)
            }
            JobParams::VideoDelogo { logos } => {
                use crate::video::EVEN;
                use crate::video::delogo::{self, removal};
                let detected = logos.is_empty();
                let size = delogo::analysis_frame_size(&info);
                let size = (size.0 as usize, size.1 as usize);
                let (logos, watch) = if detected {
                    let meter = Arc::new(Meter::default());
                    let source = Source { ffmpeg, input: &task.input, info: &info, timeout, meter: &meter };
                    let finding = delogo::find_candidates(&source, self.runtime.clone());
                    let found = metered(finding, &meter, |f| progress.report(5 + (f * 20.0) as u8)).await?;
                    // Shown throughout until the statistics' decode says when.
                    let logos: Vec<_> =
                        found.iter().map(|c| delogo::Logo::whole(c.area, info.duration)).collect();
                    (logos, delogo::presence::PresenceWatch::new(found, size))
                } else {
                    let given: Vec<_> =
                        logos.iter().map(|b| delogo::Logo::whole(*b, info.duration)).collect();
                    (given, delogo::presence::PresenceWatch::new(Vec::new(), size))
                };
                progress.report(25);
                let mut logos: Vec<_> = logos
                    .into_iter()
                    .map(|l| {
                        let pixels = delogo::delogo_box(&l.area, info.width, info.height);
                        (l, pixels)
                    })
                    .collect();
                let meter = Arc::new(Meter::default());
                let source = Source { ffmpeg, input: &task.input, info: &info, timeout, meter: &meter };
                let planning = removal::plan(&source, &mut logos, watch);
                let removal::Planned { removals, camera, still } =
                    metered(planning, &meter, |f| progress.report(25 + (f * 20.0) as u8)).await?;
                let filled: Vec<bool> =
                    removals.iter().map(|r| matches!(r, removal::Removal::Fill(_))).collect();
                let patches = delogo::camera_fill::plan(&camera, &logos, &filled, &info);
                let scripts = delogo::camera_fill::write_scripts(&patches, &task.work_dir)?;
                let still_ranges = delogo::still_fill::ranges(&logos, &removals, &still);
                let stills =
                    delogo::still_fill::prepare(&source, &logos, &still_ranges, &task.work_dir).await?;
                let maps = removal::write_maps(&removals, &task.work_dir)?;
                let graph = removal::graph(&logos, &removals, (&patches, &scripts), &stills, &info, EVEN);
                let mut inputs: Vec<PathBuf> = maps.into_iter().flatten().flat_map(|(g, o)| [g, o]).collect();
                inputs.extend(stills.iter().map(|s| s.path.clone()));
                let shifted: Vec<f64> = patches.iter().flatten().map(|p| p.shift).collect();
                pass.run_graph(&inputs, &shifted, &graph, 18, |f| progress.report(45 + (f * 50.0) as u8))
                    .await?;
                delogo::result(&info, &logos, (&removals, &patches, &stills), detected)
            }
            JobParams::VideoH2V { aspect, width } => {
                use crate::video::h2v;
                // A shape the camera cannot make fails before any decoding.
                let window = h2v::window_size(info.width, info.height, *aspect)?;
                let output = width.map(|w| h2v::output_size(w, *aspect));
                let meter = Arc::new(Meter::default());
                let source = Source { ffmpeg, input: &task.input, info: &info, timeout, meter: &meter };
                let analysing = h2v::analyse(&source, *aspect, self.runtime.clone());
                let (cuts, samples) =
                    metered(analysing, &meter, |f| progress.report(5 + (f * 45.0) as u8)).await?;
                progress.report(50);
                let shots = h2v::camera(&samples, &cuts, info.duration, info.width, window.0);
                h2v::render(&pass, (&task.work_dir, &shots), window, output, |f| {
                    progress.report(50 + (f * 45.0) as u8)
                })
                .await?;
                let mut result = h2v::result(
                    &shots,
                    (window, output.unwrap_or(window)),
                    (info.width, info.height),
                    info.duration,
                );
                result["Text"] = h2v::text_regions(&samples);
                result
            }
            other => {
                return Err(Error::internal(format!("{} is not a video function", other.function())));
            }
        };
        Ok(MediaOutput { files: vec![output], result })
    }

    /// Still covers (the best `count`, `{sequenceId}` in rank order) or one animated cover.
    async fn cover(
        &self,
        task: &MediaTask,
        info: &VideoInfo,
        model: CoverModel,
        count: usize,
        progress: &dyn Progress,
    ) -> Result<MediaOutput> {
        use crate::video::cover;
        let settings = &self.settings;
        let timeout = settings.process_timeout();
        let (ffmpeg, ffprobe, input) =
            (settings.ffmpeg.clone(), settings.ffprobe.clone(), task.input.clone());
        let (runtime, handle, analysed) = (self.runtime.clone(), tokio::runtime::Handle::current(), *info);
        let candidates = crate::blocking::run("the cover analysis", move || {
            cover::candidates(&handle, (&ffmpeg, &ffprobe), &input, &analysed, &runtime, timeout)
        })
        .await?;
        progress.report(70);
        let ext = Self::output_path(task).extension().and_then(|e| e.to_str()).unwrap_or("jpg").to_owned();
        let ffmpeg = &settings.ffmpeg;
        let chosen: Vec<&cover::Candidate> = match model {
            CoverModel::Still => cover::pick(&candidates, count),
            CoverModel::Gif => candidates.iter().take(1).collect(),
        };
        let files = cover::output_paths(&task.work_dir, chosen.len(), &ext);
        match model {
            CoverModel::Still => {
                let stills: Vec<(f64, PathBuf)> =
                    chosen.iter().map(|c| c.time).zip(files.iter().cloned()).collect();
                cover::write_stills(ffmpeg, &task.input, &stills, timeout).await?;
            }
            CoverModel::Gif => {
                for (candidate, path) in chosen.iter().zip(&files) {
                    let span =
                        cover::animated_span(ffmpeg, &task.input, info, candidate.time, timeout).await?;
                    cover::write_animated(ffmpeg, &task.input, info, span, path, timeout).await?;
                }
            }
        }
        let mut entries = Vec::with_capacity(chosen.len());
        for (i, candidate) in chosen.iter().enumerate() {
            let url = task.outputs.cited(i, chosen.len())?;
            entries.push((candidate.score, candidate.time, url));
        }
        progress.report(95);
        Ok(MediaOutput { files, result: cover::result(&entries) })
    }

    async fn process_image(&self, task: &MediaTask, progress: &dyn Progress) -> Result<MediaOutput> {
        let bytes = input_size(&task.input)?;
        let probed =
            probe::probe(&self.settings.ffprobe, &task.input, self.settings.process_timeout()).await?;
        let (width, height) = image_io::check_image(&probed, bytes, &self.settings.image_limits)?;
        memory::check(MediaKind::Image, width, height, self.settings.job_memory_mb)?;
        progress.report(10);
        let (input, output, limits) =
            (task.input.clone(), Self::output_path(task), self.settings.image_limits.clone());
        let (params, model_id, runtime) = (task.params.clone(), task.model_id.clone(), self.runtime.clone());
        let result = crate::blocking::run("the image task", move || -> Result<serde_json::Value> {
            let image = image_io::decode(&input, &limits)?;
            crate::blocking::checkpoint()?;
            let (out, result) = crate::image::run(&runtime, &model_id, &params, image)?;
            crate::blocking::checkpoint()?;
            image_io::encode(&out, &output)?;
            Ok(result)
        })
        .await?;
        progress.report(95);
        Ok(MediaOutput { files: vec![Self::output_path(task)], result })
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }
}

#[async_trait]
impl MediaEngine for Engine {
    fn job_memory_bytes(&self) -> Option<u64> {
        Some(self.settings.job_memory_mb.saturating_mul(1024 * 1024))
    }

    fn max_input_bytes(&self, function: FunctionName) -> u64 {
        match function.input_kind() {
            MediaKind::Video => self.settings.video_limits.max_bytes,
            MediaKind::Image => self.settings.image_limits.max_bytes,
        }
    }

    /// The container's duration as ffprobe reads it; an unreadable file says nothing here (the
    /// job's own probe fails it with its code).
    async fn input_duration(&self, function: FunctionName, input: &Path) -> Result<Option<f64>> {
        if function.input_kind() != MediaKind::Video {
            return Ok(None);
        }
        match probe::probe(&self.settings.ffprobe, input, self.settings.process_timeout()).await {
            Ok(probed) => Ok(probed.duration_seconds()),
            Err(_) => Ok(None),
        }
    }

    async fn process(&self, task: &MediaTask, progress: &dyn Progress) -> Result<MediaOutput> {
        match task.function {
            FunctionName::ImageMatting | FunctionName::ImageH2V | FunctionName::ImageDelogo => {
                self.process_image(task, progress).await
            }
            _ => self.process_video(task, progress).await,
        }
    }
}

fn input_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| Error::transient("Scratch", "cannot read the fetched input").with_source(e))
}
