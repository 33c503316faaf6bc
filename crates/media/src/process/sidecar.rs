//! How each child is started and its log read, with ffmpeg-sidecar: `FfmpegCommand` spawns
//! ffmpeg (ffprobe goes through std's `Command`, see [`Child`]), and `FfmpegLogParser` reads
//! stderr into events (`-stats` lines into progress, the rest into log lines). What it leaves to
//! us, we add here: the parser runs on a thread of its own, never on the executor; the child is
//! killed when its [`Running`] is dropped (a timeout, a cancelled job, a consumer that has enough
//! frames) and then reaped; only a bounded tail of the log is kept, for errors.
//!
//! Why its parser and not its `FfmpegIterator`: the iterator keeps a sender of its own channel
//! until it sees the end of the log, and its reader thread stops without sending that end when
//! the parser rejects a line (a `Stream #` line outside a stream section), so `next()` then waits
//! forever; and its frames come as copies (docs/benchmarks.md, "ffmpeg through ffmpeg-sidecar").

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::FfmpegEvent;
use ffmpeg_sidecar::ffmpeg_time_duration::FfmpegTimeDuration;
use ffmpeg_sidecar::log_parser::FfmpegLogParser;
use tokio::process::ChildStdout;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;
use tracing::debug;

use super::{Process, ProcessError, STDERR_TAIL_BYTES};

/// A started child, killed when this is dropped; its log thread then reaps it.
pub(super) struct Running {
    pub stdout: ChildStdout,
    /// Seconds of output written, from each `-stats` line; closed when the log ends.
    pub reports: UnboundedReceiver<f64>,
    log: oneshot::Receiver<std::io::Result<(ExitStatus, String)>>,
    _kill: KillOnDrop,
}

/// ffmpeg runs as an `FfmpegChild`. ffprobe (and any other program) runs as std's `Child`:
/// `FfmpegCommand::spawn` appends `-n` to a command without `-y`, `-n` or `-nostdin`, which
/// ffprobe refuses (every ffmpeg run of ours has `-nostdin`).
enum Child {
    Ffmpeg(FfmpegChild),
    Other(std::process::Child),
}

impl Child {
    fn inner(&mut self) -> &mut std::process::Child {
        match self {
            Child::Ffmpeg(child) => child.as_inner_mut(),
            Child::Other(child) => child,
        }
    }
}

impl Process {
    pub(super) fn start(&self) -> Result<Running, ProcessError> {
        let program = self.name();
        debug!(%program, args = ?self.args, "spawn");
        let mut command = Command::new(&self.program);
        // FfmpegChild wants all three pipes; stdin is closed at once, as good as /dev/null.
        command.args(&self.args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let is_ffmpeg =
            Path::new(&self.program).file_name().is_some_and(|n| n.to_string_lossy().starts_with("ffmpeg"));
        let spawned = match is_ffmpeg {
            true => FfmpegCommand::from(command).spawn().map(Child::Ffmpeg),
            false => command.spawn().map(Child::Other),
        };
        let mut child = spawned.map_err(|source| ProcessError::Spawn { program, source })?;
        let inner = child.inner();
        drop(inner.stdin.take());
        let (stdout, stderr) = (inner.stdout.take(), inner.stderr.take());
        // Armed before anything else can fail, so an early return leaves no child running.
        let kill = KillOnDrop(Arc::new(Mutex::new(child)));
        let (report, reports) = unbounded_channel();
        let waiter = kill.0.clone();
        let (done, log) = oneshot::channel();
        // A thread of its own, not one of the runtime's blocking pool: the models' work runs on
        // that pool, and a reader parked there for a whole render made it start more threads
        // (measured: 11 MB more peak in VideoDelogo).
        let reader = move || {
            let read = || {
                let tail =
                    stderr.map(|stderr| read_log(FfmpegLogParser::new(stderr), &report)).transpose()?;
                // stderr is closed: the child has exited (or is about to), so this wait is short.
                let status = waiter.lock().unwrap_or_else(PoisonError::into_inner).inner().wait()?;
                Ok((status, tail.unwrap_or_default()))
            };
            let _ = done.send(read());
        };
        // A thread that cannot be started is this run's error, not a panic of the service.
        std::thread::Builder::new().name("ffmpeg-log".into()).spawn(reader).map_err(|e| self.io(e))?;
        let stdout = stdout.map(ChildStdout::from_std).transpose().map_err(|e| self.io(e))?;
        Ok(Running {
            stdout: stdout.ok_or_else(|| self.io(std::io::Error::other("no stdout")))?,
            reports,
            log,
            _kill: kill,
        })
    }
}

impl Running {
    /// Waits for the log's end and the exit; a non-zero exit is an error carrying the log's tail.
    pub(super) async fn finish(self, process: &Process) -> Result<(), ProcessError> {
        let (status, stderr) =
            self.log.await.map_err(std::io::Error::other).and_then(|r| r).map_err(|e| process.io(e))?;
        match status.success() {
            true => Ok(()),
            false => {
                Err(ProcessError::Failed { program: process.name(), status: status.to_string(), stderr })
            }
        }
    }
}

struct KillOnDrop(Arc<Mutex<Child>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // After a normal end the child is already reaped, and std then sends no signal.
        let _ = self.0.lock().unwrap_or_else(PoisonError::into_inner).inner().kill();
    }
}

/// Reads the log to its end: progress to `report`, the rest into the tail it returns.
fn read_log(
    mut parser: FfmpegLogParser<std::process::ChildStderr>,
    report: &UnboundedSender<f64>,
) -> std::io::Result<String> {
    let mut tail = LogTail::default();
    loop {
        match parser.parse_next_event() {
            Ok(FfmpegEvent::LogEOF) => return Ok(tail.into_text()),
            Ok(FfmpegEvent::Progress(p)) => {
                let _ = report.send(FfmpegTimeDuration::from_str(&p.time).map_or(0.0, |t| t.as_seconds()));
            }
            Ok(FfmpegEvent::Log(_, line)) => tail.push(line),
            Ok(_) => {}
            Err(e) => match e.downcast::<std::io::Error>() {
                Ok(io) => return Err(io),
                // A line its parser did not expect is still the program's words.
                Err(e) => tail.push(e.to_string()),
            },
        }
    }
}

/// The last lines of the log, at most [`STDERR_TAIL_BYTES`]: where ffmpeg says what went wrong.
#[derive(Default)]
struct LogTail {
    lines: VecDeque<String>,
    bytes: usize,
}

impl LogTail {
    fn push(&mut self, line: String) {
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.bytes > STDERR_TAIL_BYTES && self.lines.len() > 1 {
            self.bytes -= self.lines.pop_front().map_or(0, |l| l.len() + 1);
        }
    }

    fn into_text(self) -> String {
        Vec::from(self.lines).join("\n").trim().to_owned()
    }
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
