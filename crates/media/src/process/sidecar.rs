//! How each child is started and its log read. tokio starts the child: it is killed when its
//! [`Running`] is dropped (a timeout, a cancelled job, a consumer that has enough frames) and
//! then reaped by the runtime. ffmpeg-sidecar's `FfmpegLogParser` reads its stderr into events,
//! on a thread of its own, never on the executor: `-stats` lines become progress, the rest the
//! log, of which a bounded tail is kept for errors.
//!
//! Why not its `FfmpegCommand` and `FfmpegChild` (they started every ffmpeg from 60f5833 to
//! 466fc71): the child has neither a kill on drop nor an async wait, so we wrote both around
//! it, and `spawn` appends `-n` to a command without `-y`, `-n` or `-nostdin`, which ffprobe
//! takes as an option wanting a value and fails. tokio's child gives both.
//!
//! Why its parser and not its `FfmpegIterator`: the iterator keeps a sender of its own channel
//! until it sees the end of the log, and its reader thread stops without sending that end when
//! the parser rejects a line (a `Stream #` line outside a stream section), so `next()` then waits
//! forever; and its frames come as copies (docs/benchmarks.md, "ffmpeg through ffmpeg-sidecar").

use std::fs::File;
use std::process::Stdio;

use ffmpeg_sidecar::event::FfmpegEvent;
use ffmpeg_sidecar::ffmpeg_time_duration::FfmpegTimeDuration;
use ffmpeg_sidecar::log_parser::FfmpegLogParser;
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;
use tracing::debug;

use super::{Process, ProcessError, STDERR_TAIL_BYTES};

/// A started child, killed when this is dropped.
pub(super) struct Running {
    pub stdout: ChildStdout,
    /// Seconds of output written, from each `-stats` line; closed when the log ends.
    pub reports: UnboundedReceiver<f64>,
    /// The log's tail, once stderr is closed.
    log: oneshot::Receiver<std::io::Result<String>>,
    child: Child,
}

impl Process {
    pub(super) fn start(&self) -> Result<Running, ProcessError> {
        debug!(program = %self.name(), args = ?self.args, "spawn");
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProcessError::Spawn { program: self.name(), source })?;
        let missing = || self.io(std::io::Error::other("a pipe to the child is missing"));
        let stdout = child.stdout.take().ok_or_else(missing)?;
        // The parser reads blocking; tokio hands the pipe back in blocking mode.
        let stderr = child.stderr.take().ok_or_else(missing)?.into_owned_fd().map_err(|e| self.io(e))?;
        let (report, reports) = unbounded_channel();
        let (done, log) = oneshot::channel();
        // A thread of its own, not one of the runtime's blocking pool: the models' work runs on
        // that pool, and a reader parked there for a whole render made it start more threads
        // (measured: 11 MB more peak in VideoDelogo). Failing to start one is this run's error.
        std::thread::Builder::new()
            .name("ffmpeg-log".into())
            .spawn(move || {
                let _ = done.send(read_log(FfmpegLogParser::new(File::from(stderr)), &report));
            })
            .map_err(|e| self.io(e))?;
        Ok(Running { stdout, reports, log, child })
    }
}

impl Running {
    /// Waits for the log's end and the exit; a non-zero exit is an error carrying the log's tail.
    pub(super) async fn finish(mut self, process: &Process) -> Result<(), ProcessError> {
        let log = self.log.await.map_err(std::io::Error::other).and_then(|tail| tail);
        let stderr = log.map_err(|e| process.io(e))?;
        let status = self.child.wait().await.map_err(|e| process.io(e))?;
        if status.success() {
            return Ok(());
        }
        Err(ProcessError::Failed { program: process.name(), status: status.to_string(), stderr })
    }
}

/// Reads the log to its end: progress to `report`, the rest into the tail it returns, the last
/// [`STDERR_TAIL_BYTES`] of the log: where ffmpeg says what went wrong.
fn read_log(mut parser: FfmpegLogParser<File>, report: &UnboundedSender<f64>) -> std::io::Result<String> {
    let mut tail = String::new();
    loop {
        let line = match parser.parse_next_event() {
            Ok(FfmpegEvent::LogEOF) => return Ok(last_bytes(tail.trim(), STDERR_TAIL_BYTES).to_owned()),
            Ok(FfmpegEvent::Progress(p)) => {
                let _ = report.send(FfmpegTimeDuration::from_str(&p.time).map_or(0.0, |t| t.as_seconds()));
                continue;
            }
            Ok(FfmpegEvent::Log(_, line)) => line,
            Ok(_) => continue,
            Err(e) => match e.downcast::<std::io::Error>() {
                Ok(io) => return Err(io),
                // A line its parser did not expect is still the program's words.
                Err(e) => e.to_string(),
            },
        };
        tail.push_str(&line);
        tail.push('\n');
        // Cut now and then, not on every line: the log of a long render is read at no cost.
        if tail.len() > 2 * STDERR_TAIL_BYTES {
            tail = last_bytes(&tail, STDERR_TAIL_BYTES).to_owned();
        }
    }
}

/// The end of `text`, at most `n` bytes, cut at a character boundary.
fn last_bytes(text: &str, n: usize) -> &str {
    let start = (text.len().saturating_sub(n)..text.len()).find(|&i| text.is_char_boundary(i));
    &text[start.unwrap_or(text.len())..]
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn ffmpeg(seconds: u32, filter: &str, output: &std::path::Path) -> Process {
        Process::new("ffmpeg", Duration::from_secs(60))
            .args(["-nostdin", "-v", "error", "-stats", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc=d={seconds}:s=320x240:r=25"))
            .args(["-vf", filter, "-c:v", "libx264", "-preset", "ultrafast"])
            .arg(output)
    }

    #[tokio::test]
    async fn reports_progress_through_the_render_and_writes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("out.mp4");
        let mut seen = Vec::new();
        ffmpeg(4, "hflip", &output).run_with_progress(4.0, |f| seen.push(f)).await.unwrap();
        assert!(std::fs::metadata(&output).unwrap().len() > 1000, "the render was written");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "rising: {seen:?}");
        assert!(seen.last().is_some_and(|&f| f > 0.95), "the last report is the end: {seen:?}");
    }

    #[tokio::test]
    async fn a_failed_render_carries_ffmpegs_own_words() {
        let dir = tempfile::tempdir().unwrap();
        let err = ffmpeg(1, "no_such_filter", &dir.path().join("out.mp4"))
            .run_with_progress(1.0, |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProcessError::Failed { stderr, .. } if stderr.contains("no_such_filter")),
            "{err}"
        );
        let err = Process::new("/nonexistent/ffmpeg", Duration::from_secs(1))
            .run_with_progress(1.0, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, ProcessError::Spawn { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_line_its_parser_rejects_neither_hangs_nor_hides_the_error() {
        // ffmpeg-sidecar's parser errors on a stream line outside an input or output section;
        // its own iterator then waits forever (tried: still waiting after 5 s, the error lost).
        let stream =
            "  Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720";
        let err = Process::new("sh", Duration::from_secs(10))
            .args(["-c", &format!("echo '{stream}' >&2; echo 'the real error' >&2; exit 1")])
            .run_with_progress(1.0, |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProcessError::Failed { stderr, .. } if stderr.ends_with("the real error")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_log_tail_stays_bounded() {
        let err = Process::new("sh", Duration::from_secs(10))
            .args([
                "-c",
                "i=0; while [ $i -lt 5000 ]; do echo \"line $i of a long log\" >&2; i=$((i+1)); done; exit 1",
            ])
            .run_with_progress(1.0, |_| {})
            .await
            .unwrap_err();
        let ProcessError::Failed { stderr, .. } = err else { panic!("{err}") };
        assert!(
            stderr.len() <= STDERR_TAIL_BYTES && stderr.ends_with("line 4999 of a long log"),
            "{}",
            stderr.len()
        );
    }

    #[test]
    fn the_tail_is_cut_at_a_character_boundary() {
        assert_eq!(last_bytes("abc", 5), "abc");
        // "é" is two bytes: never half of it.
        assert_eq!(last_bytes("aéb", 2), "b");
        assert_eq!(last_bytes("aéb", 3), "éb");
        assert_eq!(last_bytes("é", 1), "");
    }

    /// The pid a `sh -c 'echo $$ …; exec …'` child wrote, once it has.
    async fn pid_written(path: &std::path::Path) -> String {
        for _ in 0..100 {
            if let Ok(pid) = std::fs::read_to_string(path) {
                return pid.trim().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the child never started");
    }

    async fn gone(pid: &str) -> bool {
        for _ in 0..100 {
            // Reaped: no /proc entry at all (a zombie would still have one).
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn a_timeout_or_a_dropped_job_kills_and_reaps_the_child() {
        let dir = tempfile::tempdir().unwrap();
        for (name, timeout) in [("timeout", Duration::from_millis(300)), ("dropped", Duration::from_secs(60))]
        {
            let pidfile = dir.path().join(name);
            let script = format!("echo $$ > {}; exec sleep 30", pidfile.display());
            let run = Process::new("sh", timeout).args(["-c", &script]);
            let started = Instant::now();
            let running = run.run_with_progress(1.0, |_| {});
            let outcome = tokio::time::timeout(Duration::from_secs(2), running).await;
            match name {
                "timeout" => assert!(matches!(outcome, Ok(Err(ProcessError::Timeout { .. })))),
                _ => assert!(outcome.is_err(), "still running when the job was dropped"),
            }
            let pid = pid_written(&pidfile).await;
            assert!(gone(&pid).await, "{name}: the child {pid} was left running");
            assert!(started.elapsed() < Duration::from_secs(10));
        }
    }

    /// Live or unreaped ffmpeg children of this process reading our endless 62x46 source.
    fn endless_children() -> usize {
        let me = std::process::id().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
        entries
            .flatten()
            .filter(|e| {
                let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                status.lines().any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == me))
                    && String::from_utf8_lossy(&cmdline).contains("s=62x46")
            })
            .count()
    }

    async fn no_endless_children_left() -> bool {
        for _ in 0..100 {
            if endless_children() == 0 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn ffmpeg_is_killed_and_reaped_on_timeout_on_drop_and_when_the_reader_has_enough() {
        let source =
            ["-nostdin", "-v", "error", "-stats", "-re", "-f", "lavfi", "-i", "testsrc=s=62x46:r=25"];
        let endless = |timeout| {
            Process::new("ffmpeg", timeout)
                .args(source)
                .args(["-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"])
        };
        let frame = 62 * 46;
        let err = endless(Duration::from_millis(500)).stream(frame, |_| true).await.unwrap_err();
        assert!(matches!(err, ProcessError::Timeout { .. }), "{err}");
        assert!(no_endless_children_left().await, "left running after its timeout");

        let mut frames = 0;
        endless(Duration::from_secs(60))
            .stream(frame, |_| {
                frames += 1;
                frames < 3
            })
            .await
            .unwrap();
        assert_eq!(frames, 3);
        assert!(no_endless_children_left().await, "left running after the reader stopped");

        let mut reports = 0;
        // Writing nothing to stdout, it would not stop on a closed pipe: only the kill stops it.
        let process = Process::new("ffmpeg", Duration::from_secs(60)).args(source).args(["-f", "null", "-"]);
        let running = process.run_with_progress(10.0, |_| reports += 1);
        assert!(tokio::time::timeout(Duration::from_millis(1500), running).await.is_err());
        assert!(no_endless_children_left().await, "left running after the job was dropped");
        assert!(reports > 0, "-stats lines were reported while it ran");
    }
}
