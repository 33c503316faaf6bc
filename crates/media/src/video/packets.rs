//! The video stream's packets, read from the file's index by ffprobe (no decoding): when each
//! is shown and decoded, and which are keyframes. Cover samples its keyframes; VideoClip cuts at
//! the clean ones.

use std::path::Path;
use std::time::Duration;

use iprod_core::Result;

use crate::process::{Process, UNTRUSTED_INPUT};

/// One packet, in decoding order: presentation and decoding time (seconds, the file's own
/// timestamps; absent when the file has none), and whether it is a keyframe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packet {
    pub pts: Option<f64>,
    pub dts: Option<f64>,
    pub key: bool,
}

/// The first video stream's packets.
pub async fn read(ffprobe: &Path, input: &Path, timeout: Duration) -> Result<Vec<Packet>> {
    let csv = Process::new(ffprobe, timeout)
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "packet=pts_time,dts_time,flags", "-of", "csv=p=0"])
        .args(UNTRUSTED_INPUT)
        .arg(input)
        .run()
        .await
        .map_err(|e| e.into_error("reading the video's packets"))?;
    Ok(parse(&String::from_utf8_lossy(&csv)))
}

/// ffprobe's `pts_time,dts_time,flags` lines.
fn parse(csv: &str) -> Vec<Packet> {
    csv.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split(',');
            let time = |f: Option<&str>| f.and_then(|v| v.parse::<f64>().ok()).filter(|t| t.is_finite());
            let (pts, dts) = (time(fields.next()), time(fields.next()));
            let flags = fields.next()?;
            Some(Packet { pts, dts, key: flags.starts_with('K') })
        })
        .collect()
}

#[cfg(test)]
pub(crate) fn parse_for_tests(csv: &str) -> Vec<Packet> {
    parse(csv)
}
