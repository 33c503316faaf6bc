//! The summary's video copied from the source instead of encoded again, when every segment
//! starts on a clean keyframe and ends just before one (or at the video's end).
//!
//! A segment cut at keyframes decodes on its own: ffmpeg's concat demuxer takes the source's
//! packets from the keyframe's presentation time up to the next keyframe's decoding time, and
//! the joined packets are written as they are. No picture is decoded or encoded, so the summary
//! keeps the source's quality and costs a read of its packets; the audio, cut at the same frame
//! times with 30 ms fades at the joins, is encoded as in the encoded summary.
//!
//! Which keyframes are clean is read from the packets' timestamps: a keyframe where no picture
//! decoded after it is shown before it (an open GOP's leading pictures would need the GOP
//! before) and none decoded before it is shown after it.

use std::path::Path;
use std::time::Duration;

use iprod_core::Result;

use super::Segment;
use super::render::audio_chains;
use crate::probe::Probe;
use crate::process::Process;
use crate::video::Render;
use crate::video::info::VideoInfo;
use crate::video::packets::{self, Packet};

/// A keyframe the summary may start at or end before: its frame index, presentation and
/// decoding times (seconds, the file's own timestamps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keyframe {
    pub frame: usize,
    pub pts: f64,
    pub dts: f64,
}

/// Whether a summary of this source may be copied: H.264 in 8-bit 4:2:0 (what the encoded summary
/// would be), in MP4 or MOV, not turned for display, even-sized, written to an MP4 or MOV file.
pub fn copyable(probe: &Probe, output: &Path) -> bool {
    let Some(video) = probe.video() else { return false };
    let format = probe.format.as_ref().and_then(|f| f.format_name.as_deref()).unwrap_or("");
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let even = |side: Option<u32>| side.is_some_and(|s| s > 0 && s % 2 == 0);
    video.codec_name.as_deref() == Some("h264")
        && matches!(video.pix_fmt.as_deref(), Some("yuv420p" | "yuvj420p"))
        && format.starts_with("mov,mp4")
        && video.rotation() == 0
        && even(video.width)
        && even(video.height)
        && matches!(ext.as_str(), "mp4" | "mov")
}

/// The source's clean keyframes, read from its packet index (no decoding: ~0.1 s for minutes of
/// video).
pub async fn keyframes(
    ffprobe: &Path,
    input: &Path,
    info: &VideoInfo,
    timeout: Duration,
) -> Result<Vec<Keyframe>> {
    Ok(clean_keyframes(&packets::read(ffprobe, input, timeout).await?, info))
}

/// The keyframes that cut cleanly (see the module's comment), each on a whole frame of the
/// analysis's frame grid (a keyframe between frames, as in a variable-rate file, is not used).
fn clean_keyframes(packets: &[Packet], info: &VideoInfo) -> Vec<Keyframe> {
    let n = packets.len();
    // Latest presentation before each packet, earliest after it (decoding order; a packet
    // without a time bounds nothing).
    let mut latest_before = vec![f64::NEG_INFINITY; n + 1];
    for (i, p) in packets.iter().enumerate() {
        latest_before[i + 1] = latest_before[i].max(p.pts.unwrap_or(f64::NEG_INFINITY));
    }
    let mut earliest_after = vec![f64::INFINITY; n + 1];
    for i in (0..n).rev() {
        earliest_after[i] = earliest_after[i + 1].min(packets[i].pts.unwrap_or(f64::INFINITY));
    }
    packets
        .iter()
        .enumerate()
        .filter_map(|(i, &Packet { pts, dts, key })| {
            let pts = pts?;
            let dts = dts.unwrap_or(pts);
            let exact = (pts - info.start) * info.fps;
            let frame = exact.round();
            let clean = key && latest_before[i] < pts && earliest_after[i + 1] > pts;
            (clean && frame >= 0.0 && (exact - frame).abs() < 0.1).then_some(Keyframe {
                frame: frame as usize,
                pts,
                dts,
            })
        })
        .collect()
}

/// The concat demuxer's script: each segment from its first keyframe's presentation time to
/// the decoding time of the keyframe that ends it, with its exact length (`duration`, so the
/// next one follows without a gap or an overlap). `None` when a segment is not cut at keyframes.
fn concat_script(
    input: &Path,
    segments: &[Segment],
    keyframes: &[Keyframe],
    frames: usize,
    fps: f64,
) -> Option<String> {
    let at = |frame: usize| keyframes.iter().find(|k| k.frame == frame);
    // ffconcat quotes: a ' inside is closed, escaped and reopened.
    let quoted = input.to_string_lossy().replace('\'', r"'\''");
    let mut script = String::from("ffconcat version 1.0\n");
    for s in segments {
        let first = at(s.start)?;
        // The client's file is read as MP4/MOV only, what the probe found it to be (the list's
        // own demuxer, concat, is not allowed to it).
        script.push_str(&format!("file '{quoted}'\noption format_whitelist mov\ninpoint {:.6}\n", first.pts));
        if s.end < frames {
            script.push_str(&format!("outpoint {:.6}\n", at(s.end)?.dts));
        }
        script.push_str(&format!("duration {:.6}\n", (s.end - s.start) as f64 / fps));
    }
    Some(script)
}

/// Writes the summary with its video copied; `frames`: the source's frame count on the analysis
/// grid. Returns false, having written nothing usable, when a segment is not cut at keyframes
/// or the copy does not hold exactly the segments' frames (checked on the output's packets).
pub async fn render(
    pass: &Render<'_>,
    ffprobe: &Path,
    (segments, keyframes, frames): (&[Segment], &[Keyframe], usize),
    on_progress: impl FnMut(f64),
) -> Result<bool> {
    let info = pass.info;
    // The concat demuxer reads a relative name from the list's folder, not the working one.
    let input = std::path::absolute(pass.input)
        .map_err(|e| iprod_core::Error::internal(format!("resolving the input's path: {e}")))?;
    let Some(script) = concat_script(&input, segments, keyframes, frames, info.fps) else {
        return Ok(false);
    };
    let list = pass.output.with_extension("ffconcat");
    std::fs::write(&list, script)
        .map_err(|e| iprod_core::Error::internal(format!("writing the summary's segment list: {e}")))?;
    // The list is ours; the file it names is the client's, read with the same demuxers as any.
    let mut process = Process::new(pass.ffmpeg, pass.timeout)
        .args(["-nostdin", "-v", "error", "-stats", "-y"])
        .args(["-protocol_whitelist", "file", "-format_whitelist", "concat,mov"])
        .args(["-f", "concat", "-safe", "0", "-i"])
        .arg(&list);
    if info.has_audio {
        process = process.input(pass.input);
    }
    // The first packet shown is the first keyframe: the copy starts at 0, as the audio does.
    process =
        process.args(["-map", "0:v:0", "-c:v", "copy", "-bsf:v", "setts=pts=PTS-STARTPTS:dts=DTS-STARTPTS"]);
    if info.has_audio {
        let (chains, joined) = audio_chains(segments, info, 1);
        let graph = format!("{chains}{joined}concat=n={}:v=0:a=1[outa]", segments.len());
        // With the video copied, the audio's encode is most of the render: AAC's fast coder
        // takes half the time of its default (0.57 s against 1.05 s for 15 s of the bench clip).
        process = process.args(["-filter_complex", &graph, "-map", "[outa]"]);
        process = process.args(["-c:a", "aac", "-aac_coder", "fast", "-b:a", "160k"]);
    }
    let process = process.args(["-movflags", "+faststart"]).arg(pass.output);
    let total: f64 = segments.iter().map(|s| (s.end - s.start) as f64 / info.fps).sum();
    let ran = process.run_with_progress(total, on_progress).await;
    let _ = std::fs::remove_file(&list);
    ran.map_err(|e| e.into_error("copying the summary's segments"))?;
    let expected: usize = segments.iter().map(|s| s.end - s.start).sum();
    let written = video_packets(ffprobe, pass.output, pass.timeout).await?;
    if written != expected {
        tracing::warn!(
            written,
            expected,
            "the copied summary has other frames than its segments; encoding it"
        );
        return Ok(false);
    }
    Ok(true)
}

/// The number of video packets (frames) in our own output file.
async fn video_packets(ffprobe: &Path, file: &Path, timeout: Duration) -> Result<usize> {
    let out = Process::new(ffprobe, timeout)
        .args(["-v", "error", "-select_streams", "v:0", "-count_packets"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(file)
        .run()
        .await
        .map_err(|e| e.into_error("counting the summary's frames"))?;
    Ok(String::from_utf8_lossy(&out).trim().trim_end_matches(',').parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> VideoInfo {
        VideoInfo { width: 640, height: 360, fps: 25.0, duration: 4.0, has_audio: true, start: 0.0 }
    }

    #[test]
    fn keyframes_are_read_from_the_packets_and_open_gops_are_not_clean() {
        // Recorded from x264 with B-frames (`ffprobe -show_entries packet=pts_time,dts_time,flags`),
        // a keyframe at 1.2 s; the third keyframe's GOP is open: a picture decoded after it is
        // shown before it.
        let csv = "0.000000,-0.080000,K_\n0.160000,-0.040000,__\n0.080000,0.000000,__\n0.040000,0.040000,__\n\
                   0.120000,0.080000,__\n1.200000,1.120000,K_\n1.240000,1.160000,__\n\
                   2.000000,1.200000,K_\n1.960000,1.240000,__\n2.040000,1.280000,__\n\
                   2.230000,2.220000,K_\nN/A,N/A,__\n";
        let packets = packets::parse_for_tests(csv);
        assert_eq!(packets.len(), 12);
        assert_eq!(packets[1], Packet { pts: Some(0.16), dts: Some(-0.04), key: false });
        let keys = clean_keyframes(&packets, &info());
        assert_eq!(keys.iter().map(|k| k.frame).collect::<Vec<_>>(), vec![0, 30], "{keys:?}");
        assert_eq!(keys[1], Keyframe { frame: 30, pts: 1.2, dts: 1.12 });
    }

    #[test]
    fn the_script_cuts_at_keyframes_with_exact_lengths() {
        let keys = [
            Keyframe { frame: 0, pts: 0.0, dts: -0.08 },
            Keyframe { frame: 30, pts: 1.2, dts: 1.12 },
            Keyframe { frame: 76, pts: 3.04, dts: 2.96 },
        ];
        let path = Path::new("/w/in'put.mp4");
        let segments = [Segment { start: 0, end: 30 }, Segment { start: 76, end: 100 }];
        let script = concat_script(path, &segments, &keys, 100, 25.0).unwrap();
        assert_eq!(
            script,
            "ffconcat version 1.0\nfile '/w/in'\\''put.mp4'\noption format_whitelist mov\ninpoint 0.000000\n\
             outpoint 1.120000\nduration 1.200000\n\
             file '/w/in'\\''put.mp4'\noption format_whitelist mov\ninpoint 3.040000\nduration 0.960000\n"
        );
        let off_key = [Segment { start: 0, end: 40 }];
        assert_eq!(concat_script(path, &off_key, &keys, 100, 25.0), None, "40 is no keyframe");
    }
}
