//! ffprobe's JSON, parsed into strict types. Untrusted media is probed before anything decodes it.

use std::path::Path;
use std::time::Duration;

use iprod_core::{Error, Result};
use serde::Deserialize;

use crate::process::{Process, ProcessError};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Probe {
    #[serde(default)]
    pub streams: Vec<Stream>,
    pub format: Option<Format>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Stream {
    pub index: u32,
    pub codec_type: Option<String>,
    pub codec_name: Option<String>,
    /// The decoded picture's format (`yuv420p`, `yuv420p10le`, …).
    pub pix_fmt: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub avg_frame_rate: Option<String>,
    /// The base rate: what is known of a variable-rate stream whose average is not (Matroska).
    pub r_frame_rate: Option<String>,
    pub duration: Option<String>,
    /// Where a display matrix says how the picture is turned (phone videos).
    #[serde(default)]
    pub side_data_list: Vec<SideData>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SideData {
    pub rotation: Option<f64>,
}

impl Stream {
    /// Degrees the picture is turned for display (0, 90, 180 or 270); ffmpeg applies it when
    /// decoding, so every decode sees the displayed picture.
    pub fn rotation(&self) -> i64 {
        let degrees = self
            .side_data_list
            .iter()
            .find_map(|d| d.rotation)
            .or_else(|| self.tags.get("rotate").and_then(|r| r.parse().ok()))
            .unwrap_or(0.0);
        (degrees.round() as i64).rem_euclid(360)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Format {
    pub format_name: Option<String>,
    pub duration: Option<String>,
    pub size: Option<String>,
    /// Seconds of the first timestamp (ffmpeg's `-ss` and `trim` count from the file's 0).
    pub start_time: Option<String>,
}

impl Probe {
    pub fn parse(json: &[u8]) -> Result<Self> {
        serde_json::from_slice(json).map_err(|e| {
            Error::invalid_input(
                "Media",
                format!("the media could not be read (unexpected ffprobe output: {e})"),
            )
        })
    }

    pub fn video(&self) -> Option<&Stream> {
        self.streams.iter().find(|s| s.codec_type.as_deref() == Some("video"))
    }

    pub fn start_seconds(&self) -> f64 {
        let start = self.format.as_ref().and_then(|f| f.start_time.as_deref()?.parse::<f64>().ok());
        start.filter(|s| s.is_finite()).unwrap_or(0.0)
    }

    pub fn duration_seconds(&self) -> Option<f64> {
        self.format.as_ref()?.duration.as_deref()?.parse().ok()
    }
}

/// Probes `path` with `ffprobe`; unreadable media is `InvalidInput.Media`.
pub async fn probe(ffprobe: &Path, path: &Path, timeout: Duration) -> Result<Probe> {
    let output = Process::new(ffprobe, timeout)
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .args(crate::process::UNTRUSTED_INPUT)
        .arg(path)
        .run()
        .await
        .map_err(|e| match e {
            ProcessError::Failed { stderr, .. } if stderr.contains("not on whitelist") => {
                Error::invalid_input(
                    "Format",
                    format!(
                        "the input is not a media file this service reads ({}): playlists and lists that \
                     refer to other files are refused; send the video (MP4, MOV, MKV, WebM, AVI, TS, \
                     FLV) or image (JPEG, PNG, WebP, BMP, TIFF) itself",
                        refused_format(&stderr)
                    ),
                )
            }
            other => other.into_error("reading the media with ffprobe"),
        })?;
    Probe::parse(&output)
}

/// The demuxer ffmpeg named when it refused the input (`[hls @ 0x…] Format not on whitelist`).
fn refused_format(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.contains("not on whitelist"))
        .and_then(|l| l.strip_prefix('[')?.split_once(" @")?.0.into())
        .unwrap_or("unknown format")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from `ffprobe -show_format -show_streams` on a 2 s 320x240 lavfi testsrc clip.
    const RECORDED: &str = r#"{"streams":[{"index":0,"codec_name":"h264","codec_type":"video","width":320,"height":240,"avg_frame_rate":"25/1","duration":"2.000000"}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"2.000000","size":"23011"}}"#;

    #[test]
    fn parses_recorded_ffprobe_output() {
        let p = Probe::parse(RECORDED.as_bytes()).unwrap();
        let v = p.video().unwrap();
        assert_eq!((v.width, v.height, v.codec_name.as_deref()), (Some(320), Some(240), Some("h264")));
        assert_eq!(p.duration_seconds(), Some(2.0));
        assert_eq!(Probe::parse(b"not json").unwrap_err().code(), "InvalidInput.Media");
    }

    #[test]
    fn a_refused_demuxer_is_named() {
        let stderr = "[hls @ 0x55aabfeec6c0] Format not on whitelist 'mov,matroska'\ninput: Invalid argument";
        assert_eq!(refused_format(stderr), "hls");
        assert_eq!(refused_format("Format not on whitelist"), "unknown format");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]

        /// ffprobe's output is parsed whatever it holds (a hostile file can make ffprobe print
        /// odd values): a probe or InvalidInput.Media, never a panic; durations are finite.
        #[test]
        fn any_ffprobe_output_is_a_probe_or_a_coded_error(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            duration in "[-+0-9.eEinfaN]{0,12}",
            width in proptest::prelude::any::<i64>(),
        ) {
            let shaped = format!(
                r#"{{"streams":[{{"codec_type":"video","width":{width},"height":2,"avg_frame_rate":"{duration}"}}],"format":{{"format_name":"mov","duration":"{duration}","start_time":"{duration}"}}}}"#
            );
            for bytes in [raw.as_slice(), shaped.as_bytes()] {
                match Probe::parse(bytes) {
                    Ok(p) => {
                        proptest::prop_assert!(p.start_seconds().is_finite());
                        let _ = p.video();
                        let _ = p.duration_seconds();
                    }
                    Err(e) => proptest::prop_assert_eq!(e.code(), "InvalidInput.Media"),
                }
            }
        }
    }
}
