//! NVIDIA's video engines on a GPU host: NVENC for the renders (else x264 on the CPU) and NVDEC
//! for the analysis decodes (else the CPU). Each is used only when the engine runs with `gpu` on
//! and a test through it works: ffmpeg lists `h264_nvenc` and the `cuda` hwaccel whether or not
//! a GPU, a driver with the video capability (a container needs `NVIDIA_DRIVER_CAPABILITIES` with
//! `video`) and a free session are there, so listing proves nothing. Otherwise the CPU does the
//! work, and the log says why once.

use std::path::Path;
use std::process::{Command, Stdio};

/// Which H.264 encoder renders the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoEncoder {
    /// libx264, `veryfast`, constant rate factor.
    #[default]
    X264,
    /// NVIDIA's hardware encoder, constant quality on the same scale.
    Nvenc,
}

impl VideoEncoder {
    /// The encoder for an engine: NVENC when `gpu` is asked for and a test encode succeeds,
    /// x264 otherwise (with a log line saying why, when the GPU was asked for).
    pub fn detect(ffmpeg: &Path, gpu: bool) -> Self {
        if !gpu {
            return Self::X264;
        }
        match nvenc_works(ffmpeg) {
            Ok(()) => {
                tracing::info!("rendering with NVENC (h264_nvenc)");
                Self::Nvenc
            }
            Err(why) => {
                tracing::warn!(reason = %why, "NVENC is not usable here: rendering with libx264 on the CPU");
                Self::X264
            }
        }
    }

    /// The video codec options at quality `crf` (x264's scale: 18 is visually lossless, 23 the
    /// default), in 4:2:0.
    pub fn args(self, crf: u8) -> Vec<String> {
        let crf = crf.to_string();
        let args: &[&str] = match self {
            Self::X264 => &["-c:v", "libx264", "-preset", "veryfast", "-crf", &crf],
            // p5 + hq: NVENC's quality-oriented preset; -cq with -b:v 0 is its constant quality.
            Self::Nvenc => &[
                "-c:v",
                "h264_nvenc",
                "-preset",
                "p5",
                "-tune",
                "hq",
                "-rc",
                "vbr",
                "-cq",
                &crf,
                "-b:v",
                "0",
            ],
        };
        args.iter().map(|a| (*a).to_owned()).chain(["-pix_fmt".to_owned(), "yuv420p".to_owned()]).collect()
    }
}

/// Whether the analysis decodes can use NVDEC (`-hwaccel cuda`; frames come back to memory for
/// the CPU's scaling). Logs the outcome.
pub fn nvdec_usable(ffmpeg: &Path) -> bool {
    match nvdec_works(ffmpeg) {
        Ok(()) => {
            tracing::info!("analysis decodes use NVDEC (-hwaccel cuda)");
            true
        }
        Err(why) => {
            tracing::warn!(reason = %why, "NVDEC is not usable here: analysis decodes run on the CPU");
            false
        }
    }
}

/// A tenth of a second of a generated picture through `h264_nvenc`; the error is ffmpeg's last
/// line (no device, no driver, no session).
fn nvenc_works(ffmpeg: &Path) -> Result<(), String> {
    let encoder = VideoEncoder::Nvenc.args(23);
    let mut args = vec!["-f", "lavfi", "-i", "color=c=gray:s=256x256:r=25:d=0.1"];
    args.extend(encoder.iter().map(String::as_str));
    args.extend(["-f", "null", "-"]);
    run(ffmpeg, &args)
}

/// A fifth of a second of H.264 (encoded here with x264) decoded through `-hwaccel cuda`.
fn nvdec_works(ffmpeg: &Path) -> Result<(), String> {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let sample = std::env::temp_dir().join(format!("iprod-nvdec-{}-{nanos}.mp4", std::process::id()));
    let sample_arg = sample.to_string_lossy().into_owned();
    let made = run(
        ffmpeg,
        &["-y", "-f", "lavfi", "-i", "color=c=gray:s=256x256:r=25:d=0.2", "-c:v", "libx264", &sample_arg],
    );
    let decoded =
        made.and_then(|()| run(ffmpeg, &["-hwaccel", "cuda", "-i", &sample_arg, "-f", "null", "-"]));
    let _ = std::fs::remove_file(&sample);
    decoded
}

/// Runs ffmpeg quietly; the error is its last line.
fn run(ffmpeg: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new(ffmpeg)
        .args(["-nostdin", "-v", "error"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", ffmpeg.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("ffmpeg failed").trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_gpu_asked_for_it_is_x264_and_nvenc_is_never_tried() {
        assert_eq!(VideoEncoder::detect(Path::new("/nonexistent/ffmpeg"), false), VideoEncoder::X264);
    }

    #[test]
    fn an_unusable_nvenc_falls_back_to_x264() {
        // No ffmpeg at all is the plainest unusable NVENC; a host without a GPU is tested
        // through a whole job in tests/videos.rs.
        assert_eq!(VideoEncoder::detect(Path::new("/nonexistent/ffmpeg"), true), VideoEncoder::X264);
    }

    #[test]
    fn nvdec_is_not_used_where_its_test_decode_fails() {
        // This machine has no GPU (tests/videos run the whole job with gpu on); a missing
        // ffmpeg is unusable anywhere.
        assert!(!nvdec_usable(Path::new("/nonexistent/ffmpeg")));
        if !Path::new("/dev/nvidia0").exists() {
            assert!(!nvdec_usable(Path::new("ffmpeg")), "no GPU here: the CPU decodes");
        }
    }

    #[test]
    fn both_encoders_write_4_2_0() {
        for encoder in [VideoEncoder::X264, VideoEncoder::Nvenc] {
            let args = encoder.args(20);
            assert!(args.windows(2).any(|w| w == ["-pix_fmt", "yuv420p"]), "{args:?}");
        }
        assert!(VideoEncoder::Nvenc.args(20).windows(2).any(|w| w == ["-cq", "20"]));
    }
}
