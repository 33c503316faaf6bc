//! The one way to run ffmpeg and ffprobe: argument lists (never a shell string), a timeout that
//! kills, a kill when the job's future is dropped so a cancelled job leaves no orphan, the log
//! kept (its tail) for errors. tokio starts the child and ffmpeg-sidecar parses its log
//! (`sidecar.rs`); stdout, ffprobe's JSON or raw frames, is read here.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

use iprod_core::{Error, ErrorClass};
use tokio::io::AsyncReadExt;

mod sidecar;

/// Only the end of stderr is kept: that is where ffmpeg says what went wrong.
const STDERR_TAIL_BYTES: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{program} could not be started: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} ran longer than {timeout:?} and was killed")]
    Timeout { program: String, timeout: Duration },
    #[error("{program} exited with {status}: {stderr}")]
    Failed { program: String, status: String, stderr: String },
    #[error("reading {program}'s output failed: {source}")]
    Io { program: String, source: std::io::Error },
}

impl ProcessError {
    /// The job's error for a run that was `doing` something (`"rendering the summary"`), classed
    /// by what went wrong, with this error kept as its source:
    /// - the program could not start (ffmpeg missing or broken): ours, `InternalError`;
    /// - it ran out of time: `InternalError.Timeout`, not the media's fault (the machine may be
    ///   slow or loaded; the message names the limit);
    /// - it exited with an error: the media's, `InvalidInput.Media`, with ffmpeg's own words;
    /// - its output could not be read: ours, `InternalError`.
    pub fn into_error(self, doing: &str) -> Error {
        let message = format!("{doing} failed: {self}");
        let error = match &self {
            Self::Spawn { .. } => {
                Error::internal(format!("{message}; install ffmpeg (apt-get install ffmpeg)"))
            }
            Self::Timeout { .. } => Error::new(ErrorClass::Internal, "InternalError.Timeout", message),
            Self::Failed { .. } => Error::invalid_input("Media", message),
            Self::Io { .. } => Error::internal(message),
        };
        error.with_source(self)
    }
}

impl From<ProcessError> for Error {
    fn from(e: ProcessError) -> Self {
        e.into_error("running ffmpeg")
    }
}

/// The demuxers a client's file may be read with: video containers and still-image decoders
/// that carry their media inside. Playlists (HLS, DASH), `concat` lists and the like are refused:
/// they make ffmpeg open other files, outside the storage allow-list and past the size limit. (A
/// `.mp4` holding an HLS playlist is refused too: the format is decided from the content.)
/// `image2` reads the one file it is named (ffmpeg picks it for still images named `.jpg` or
/// `.png`); it would read a numbered sequence only for a name with a pattern in it, and the
/// worker names every input `input`.
pub const INPUT_FORMATS: &str =
    "mov,matroska,avi,mpegts,flv,png_pipe,jpeg_pipe,webp_pipe,bmp_pipe,tiff_pipe,image2";

/// Options that go before a client's file on every ffmpeg and ffprobe call: local files only,
/// and only the demuxers of [`INPUT_FORMATS`].
pub const UNTRUSTED_INPUT: [&str; 4] = ["-protocol_whitelist", "file", "-format_whitelist", INPUT_FORMATS];

#[derive(Debug, Clone)]
pub struct Process {
    program: OsString,
    args: Vec<OsString>,
    timeout: Duration,
}

impl Process {
    pub fn new(program: impl AsRef<OsStr>, timeout: Duration) -> Self {
        Self { program: program.as_ref().to_owned(), args: Vec::new(), timeout }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Adds a client's file as an input (`-i`), read under [`UNTRUSTED_INPUT`].
    pub fn input(self, path: impl AsRef<OsStr>) -> Self {
        self.args(UNTRUSTED_INPUT).arg("-i").arg(path)
    }

    fn name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// Runs to completion, returning stdout; a non-zero exit is an error carrying the log's tail.
    pub async fn run(&self) -> Result<Vec<u8>, ProcessError> {
        self.bounded(async {
            let mut running = self.start()?;
            let mut stdout = Vec::new();
            // The log is read on its own thread meanwhile, so a chatty stderr never blocks.
            running.stdout.read_to_end(&mut stdout).await.map_err(|e| self.io(e))?;
            running.finish(self).await.map(|()| stdout)
        })
        .await
    }

    /// Runs ffmpeg to the end; with `-stats` among the arguments, `on_progress` gets the fraction
    /// of `duration` (seconds of output) written so far, twice a second, from ffmpeg-sidecar's
    /// parse of those lines. A non-zero exit is an error carrying the log's tail. For runs that
    /// write files: stdout is not read.
    pub async fn run_with_progress(
        &self,
        duration: f64,
        mut on_progress: impl FnMut(f64),
    ) -> Result<(), ProcessError> {
        self.bounded(async {
            let mut running = self.start()?;
            let duration = duration.max(1e-3);
            // The reports end with the log, when ffmpeg exits.
            while let Some(written) = running.reports.recv().await {
                on_progress((written / duration).clamp(0.0, 1.0));
            }
            running.finish(self).await
        })
        .await
    }

    /// Runs while handing stdout to `on_chunk` in pieces of exactly `chunk` bytes (e.g. one raw
    /// video frame each), read into one buffer, so memory stays bounded whatever the input's
    /// length (ffmpeg-sidecar's frame iterator holds up to three: docs/benchmarks.md).
    /// A trailing partial chunk is dropped. Stops early (killing the child) when `on_chunk`
    /// returns false.
    pub async fn stream(
        &self,
        chunk: usize,
        mut on_chunk: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), ProcessError> {
        self.bounded(async {
            let mut running = self.start()?;
            let mut buf = vec![0u8; chunk.max(1)];
            loop {
                match running.stdout.read_exact(&mut buf).await {
                    Ok(_) if on_chunk(&buf) => {}
                    // The consumer has what it needs: `running` is dropped, which kills the
                    // child rather than decode the rest.
                    Ok(_) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(self.io(e)),
                }
            }
            running.finish(self).await
        })
        .await
    }

    /// `work` under this run's timeout; when it runs out, `work` is dropped and with it the
    /// child (killed).
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, ProcessError>>,
    ) -> Result<T, ProcessError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or_else(|_| Err(ProcessError::Timeout { program: self.name(), timeout }))
    }

    fn io(&self, source: std::io::Error) -> ProcessError {
        ProcessError::Io { program: self.name(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn collects_stdout_and_reports_failures_with_stderr() {
        let out = Process::new("sh", Duration::from_secs(5))
            .args(["-c", "printf hello; echo oops >&2"])
            .run()
            .await
            .unwrap();
        assert_eq!(out, b"hello", "stdout alone; stderr's \"oops\" is the log");
        let err = Process::new("sh", Duration::from_secs(5))
            .args(["-c", "echo broken >&2; exit 3"])
            .run()
            .await
            .unwrap_err();
        assert!(matches!(&err, ProcessError::Failed { stderr, .. } if stderr == "broken"), "{err}");
    }

    #[tokio::test]
    async fn kills_on_timeout_and_reports_missing_programs() {
        let started = std::time::Instant::now();
        let err = Process::new("sleep", Duration::from_millis(200)).arg("30").run().await.unwrap_err();
        assert!(matches!(err, ProcessError::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let err = Process::new("/nonexistent/ffmpeg", Duration::from_secs(1)).run().await.unwrap_err();
        assert!(matches!(err, ProcessError::Spawn { .. }));
    }

    #[tokio::test]
    async fn failures_are_classed_by_whose_fault_they_are() {
        use iprod_core::ErrorClass;
        let missing = Process::new("/nonexistent/ffmpeg", Duration::from_secs(1)).run().await.unwrap_err();
        let e = missing.into_error("rendering the video");
        assert_eq!((e.class(), e.code()), (ErrorClass::Internal, "InternalError"), "ffmpeg missing is ours");
        assert!(e.message().starts_with("rendering the video failed") && e.message().contains("apt-get"));
        assert!(std::error::Error::source(&e).is_some(), "the process error is kept as the source");
        let slow = Process::new("sleep", Duration::from_millis(100)).arg("30").run().await.unwrap_err();
        let e = slow.into_error("decoding the video");
        assert_eq!(e.code(), "InternalError.Timeout", "a timeout is not bad media");
        let bad = Process::new("sh", Duration::from_secs(5))
            .args(["-c", "echo 'Invalid data found' >&2; exit 1"])
            .run()
            .await
            .unwrap_err();
        let e: Error = bad.into();
        assert_eq!(e.code(), "InvalidInput.Media");
        assert!(e.message().contains("Invalid data found"), "ffmpeg's own words: {}", e.message());
    }

    #[tokio::test]
    async fn streams_stdout_in_fixed_chunks_and_can_stop_early() {
        let mut chunks = Vec::new();
        Process::new("printf", Duration::from_secs(5))
            .arg("aaabbbccc")
            .stream(3, |c| {
                chunks.push(c.to_vec());
                true
            })
            .await
            .unwrap();
        assert_eq!(chunks, [b"aaa".to_vec(), b"bbb".to_vec(), b"ccc".to_vec()]);
        let mut seen = 0;
        let started = std::time::Instant::now();
        Process::new("yes", Duration::from_secs(10))
            .stream(4, |_| {
                seen += 1;
                seen < 5
            })
            .await
            .unwrap();
        assert_eq!(seen, 5);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn arguments_are_never_interpreted_by_a_shell() {
        let out = Process::new("echo", Duration::from_secs(5)).arg("$(id); rm -rf /").run().await.unwrap();
        assert_eq!(String::from_utf8(out).unwrap().trim(), "$(id); rm -rf /");
    }
}
