//! What a video is, from its probe, checked against the configured limits before any decode.

use iprod_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::probe::Probe;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoLimits {
    pub max_bytes: u64,
    pub max_duration_secs: f64,
    pub max_width: u32,
    pub max_height: u32,
    pub max_fps: f64,
}

impl Default for VideoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 4 << 30,
            max_duration_secs: 4.0 * 3600.0,
            max_width: 7680,
            max_height: 4320,
            max_fps: 240.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub duration: f64,
    pub has_audio: bool,
    /// The file's first timestamp (seconds), as ffprobe reports packet times. ffmpeg's filters
    /// do not see it: the command line shifts every input to start at 0.
    pub start: f64,
}

fn parse_rate(raw: &str) -> Option<f64> {
    let (n, d) = raw.split_once('/').unwrap_or((raw, "1"));
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (d > 0.0 && n > 0.0).then_some(n / d)
}

/// A video stream within the limits, or an `InvalidInput.*` error saying what is wrong.
pub fn check_video(probe: &Probe, bytes: u64, limits: &VideoLimits) -> Result<VideoInfo> {
    if bytes == 0 {
        return Err(Error::invalid_input("Media", "the input is empty"));
    }
    if bytes > limits.max_bytes {
        return Err(Error::invalid_input(
            "TooLarge",
            format!("the input is {bytes} bytes; the limit is {}", limits.max_bytes),
        ));
    }
    let format = probe.format.as_ref().and_then(|f| f.format_name.clone()).unwrap_or_default();
    let stream =
        probe.video().filter(|_| !format.ends_with("_pipe") && format != "image2").ok_or_else(|| {
            Error::invalid_input(
                "Format",
                format!("the input ({format}) has no video stream: send a video file"),
            )
        })?;
    let (mut width, mut height) = (stream.width.unwrap_or(0), stream.height.unwrap_or(0));
    // A quarter turn: the displayed (and decoded) picture is the stream's, sideways.
    if stream.rotation() % 180 == 90 {
        std::mem::swap(&mut width, &mut height);
    }
    let fps = [&stream.avg_frame_rate, &stream.r_frame_rate]
        .iter()
        .find_map(|rate| rate.as_deref().and_then(parse_rate))
        .unwrap_or(0.0);
    let duration =
        probe.duration_seconds().or_else(|| stream.duration.as_deref()?.parse().ok()).unwrap_or(0.0);
    if width == 0 || height == 0 || fps <= 0.0 {
        return Err(Error::invalid_input(
            "Media",
            "the video stream has no size or frame rate (corrupt header)",
        ));
    }
    if duration <= 0.0 {
        return Err(Error::invalid_input("Media", "the video has no duration (zero-length or corrupt)"));
    }
    if width > limits.max_width
        || height > limits.max_height
        || fps > limits.max_fps
        || duration > limits.max_duration_secs
    {
        return Err(Error::invalid_input(
            "TooLarge",
            format!(
                "the video is {width}x{height} at {fps:.2} fps for {duration:.1} s; the limits are {}x{}, {} fps, {} s",
                limits.max_width, limits.max_height, limits.max_fps, limits.max_duration_secs
            ),
        ));
    }
    let has_audio = probe.streams.iter().any(|s| s.codec_type.as_deref() == Some("audio"));
    Ok(VideoInfo { width, height, fps, duration, has_audio, start: probe.start_seconds() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_size_rate_and_duration_and_enforces_limits() {
        let probe = Probe::parse(br#"{"streams":[{"index":0,"codec_type":"video","codec_name":"h264","width":640,"height":272,"avg_frame_rate":"25/1"},{"index":1,"codec_type":"audio","codec_name":"aac"}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"10.000000"}}"#).unwrap();
        let info = check_video(&probe, 1000, &VideoLimits::default()).unwrap();
        assert_eq!(
            (info.width, info.height, info.fps, info.duration, info.has_audio),
            (640, 272, 25.0, 10.0, true)
        );
        let tight = VideoLimits { max_duration_secs: 5.0, ..VideoLimits::default() };
        assert_eq!(check_video(&probe, 1000, &tight).unwrap_err().code(), "InvalidInput.TooLarge");
        let turned = Probe::parse(br#"{"streams":[{"index":0,"codec_type":"video","codec_name":"h264","width":640,"height":272,"avg_frame_rate":"25/1","side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"10.0"}}"#).unwrap();
        let info = check_video(&turned, 1000, &VideoLimits::default()).unwrap();
        assert_eq!((info.width, info.height), (272, 640), "a phone video held upright");
        let image = Probe::parse(br#"{"streams":[{"index":0,"codec_type":"video","codec_name":"png","width":6,"height":6}],"format":{"format_name":"png_pipe"}}"#).unwrap();
        assert_eq!(
            check_video(&image, 10, &VideoLimits::default()).unwrap_err().code(),
            "InvalidInput.Format"
        );
    }
}
