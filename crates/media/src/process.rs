//! The one way to run ffmpeg and ffprobe: argument lists (never a shell string), a timeout that
//! kills, `kill_on_drop` so a cancelled job leaves no orphan, stderr drained and kept for errors.

use std::ffi::{OsStr, OsString};
use std::process::Stdio;
use std::time::Duration;

use iprod_core::{Error, ErrorClass};
use tokio::io::{AsyncRead, AsyncReadExt};
use tracing::debug;

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

#[derive(Debug)]
pub struct ProcessOutput {
    pub stdout: Vec<u8>,
    pub stderr_tail: String,
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

    /// Starts the child with both outputs piped; it is killed if its handle is dropped.
    fn spawn(&self) -> Result<tokio::process::Child, ProcessError> {
        tokio::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProcessError::Spawn { program: self.name(), source })
    }

    /// Runs to completion, collecting stdout; a non-zero exit is an error carrying stderr's tail.
    pub async fn run(&self) -> Result<ProcessOutput, ProcessError> {
        let program = self.name();
        debug!(%program, args = ?self.args, "spawn");
        let mut child = self.spawn()?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let collect = async {
            // Both pipes are drained concurrently so a chatty stderr can never block the child.
            let (out, err) = tokio::join!(read_all(stdout), read_tail(stderr));
            let status = child.wait().await;
            (out, err, status)
        };
        let (out, err, status) = tokio::time::timeout(self.timeout, collect)
            .await
            .map_err(|_| ProcessError::Timeout { program: program.clone(), timeout: self.timeout })?;
        let io = |source| ProcessError::Io { program: program.clone(), source };
        let stdout = out.map_err(io)?;
        let stderr_tail = err.map_err(io)?;
        let status = status.map_err(io)?;
        if !status.success() {
            return Err(ProcessError::Failed { program, status: status.to_string(), stderr: stderr_tail });
        }
        Ok(ProcessOutput { stdout, stderr_tail })
    }
}

impl Process {
    /// Runs to completion, handing each stdout line to `on_line` as it arrives (e.g. ffmpeg's
    /// `-progress pipe:1` reports); a non-zero exit is an error carrying stderr's tail.
    pub async fn run_with_lines(&self, mut on_line: impl FnMut(&str)) -> Result<(), ProcessError> {
        use tokio::io::AsyncBufReadExt;
        let program = self.name();
        debug!(%program, args = ?self.args, "spawn (lines)");
        let mut child = self.spawn()?;
        let stdout = child.stdout.take();
        let stderr = tokio::spawn(read_tail(child.stderr.take()));
        let io = |source| ProcessError::Io { program: program.clone(), source };
        let reading = async {
            if let Some(out) = stdout {
                let mut lines = tokio::io::BufReader::new(out).lines();
                while let Some(line) = lines.next_line().await? {
                    on_line(&line);
                }
            }
            child.wait().await
        };
        let status = match tokio::time::timeout(self.timeout, reading).await {
            Ok(status) => status.map_err(io)?,
            Err(_) => return Err(ProcessError::Timeout { program, timeout: self.timeout }),
        };
        let stderr_tail = stderr.await.unwrap_or_else(|e| Err(std::io::Error::other(e))).map_err(io)?;
        if !status.success() {
            return Err(ProcessError::Failed { program, status: status.to_string(), stderr: stderr_tail });
        }
        Ok(())
    }

    /// Runs while handing stdout to `on_chunk` in pieces of exactly `chunk` bytes (e.g. one raw
    /// video frame each), so memory stays bounded whatever the input's length. A trailing
    /// partial chunk is dropped. Stops early (killing the child) when `on_chunk` returns false.
    pub async fn stream(
        &self,
        chunk: usize,
        mut on_chunk: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), ProcessError> {
        let program = self.name();
        debug!(%program, args = ?self.args, "spawn (streaming)");
        let mut child = self.spawn()?;
        let mut stdout = child.stdout.take();
        // stderr is drained on its own task so it can never block the child, and so stopping
        // early (kill) does not wait for it.
        let stderr = tokio::spawn(read_tail(child.stderr.take()));
        let io = |source| ProcessError::Io { program: program.clone(), source };
        let reading = async {
            let mut buf = vec![0u8; chunk.max(1)];
            let Some(out) = stdout.as_mut() else { return Ok(true) };
            loop {
                match out.read_exact(&mut buf).await {
                    Ok(_) if on_chunk(&buf) => {}
                    Ok(_) => return Ok(false),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(true),
                    Err(e) => return Err(e),
                }
            }
        };
        let finished = match tokio::time::timeout(self.timeout, reading).await {
            Ok(finished) => finished.map_err(io)?,
            Err(_) => return Err(ProcessError::Timeout { program, timeout: self.timeout }),
        };
        if !finished {
            // The consumer has what it needs: stop the child rather than decode the rest.
            let _ = child.kill().await;
            return Ok(());
        }
        let err = stderr.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let stderr_tail = err.map_err(io)?;
        let status = child.wait().await.map_err(io)?;
        if !status.success() {
            return Err(ProcessError::Failed { program, status: status.to_string(), stderr: stderr_tail });
        }
        Ok(())
    }
}

async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

async fn read_tail(pipe: Option<impl AsyncRead + Unpin>) -> std::io::Result<String> {
    let mut tail: Vec<u8> = Vec::new();
    if let Some(mut pipe) = pipe {
        let mut chunk = [0u8; 4096];
        loop {
            let n = pipe.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&chunk[..n]);
            if tail.len() > 2 * STDERR_TAIL_BYTES {
                tail.drain(..tail.len() - STDERR_TAIL_BYTES);
            }
        }
    }
    let start = tail.len().saturating_sub(STDERR_TAIL_BYTES);
    Ok(String::from_utf8_lossy(&tail[start..]).trim().to_owned())
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
        assert_eq!(out.stdout, b"hello");
        assert_eq!(out.stderr_tail, "oops");
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
        assert!(matches!(err, ProcessError::Timeout { .. }));
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
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "$(id); rm -rf /");
    }
}
