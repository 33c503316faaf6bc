//! CPU work off the async runtime that stops when its job is dropped. A cancelled job's future
//! is dropped by the worker: that kills its ffmpeg children (`kill_on_drop`), but a thread of the
//! blocking pool cannot be killed. So each blocking task gets a stop flag, set when the future
//! awaiting it is dropped, and its loops call `checkpoint()` (every frame, every band, every
//! inference), which fails once the flag is set: the thread is free within one step.
//!
//! The flag lives in a thread-local of the blocking thread, so the algorithms need no extra
//! parameter; called outside `run` (tests, benches), `checkpoint()` never stops anything.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use iprod_core::{Error, Result};

thread_local! {
    static STOP: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Sets the flag when the awaiting future goes away (finished or dropped).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Clears the thread's flag however the task ends (a panic included).
struct ClearOnExit;

impl Drop for ClearOnExit {
    fn drop(&mut self) {
        STOP.with(|s| *s.borrow_mut() = None);
    }
}

/// Runs `work` on the blocking pool; `what` names it in the error if it panics.
pub async fn run<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let stop = Arc::new(AtomicBool::new(false));
    let _armed = StopOnDrop(stop.clone());
    tokio::task::spawn_blocking(move || {
        STOP.with(|s| *s.borrow_mut() = Some(stop));
        let _clear = ClearOnExit;
        work()
    })
    .await
    .map_err(|e| Error::internal(format!("{what} failed")).with_source(e))?
}

/// Whether this blocking task's job was dropped.
pub fn stopped() -> bool {
    STOP.with(|s| s.borrow().as_ref().is_some_and(|f| f.load(Ordering::Relaxed)))
}

/// `Err` once this blocking task's job was dropped (cancelled, timed out, lost its attempt).
pub fn checkpoint() -> Result<()> {
    if stopped() { Err(Error::job_state_conflict("the job was stopped while running")) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_job_stops_its_blocking_loop_at_the_next_checkpoint() {
        // GIVEN a blocking loop that would run for a minute, checking in every 10 ms
        let exited = Arc::new(AtomicBool::new(false));
        let completed = Arc::new(AtomicBool::new(false));
        let (seen_exit, seen_done) = (exited.clone(), completed.clone());
        let work = run("a long loop", move || {
            let start = Instant::now();
            let outcome = (|| {
                while start.elapsed() < Duration::from_secs(60) {
                    checkpoint()?;
                    std::thread::sleep(Duration::from_millis(10));
                }
                seen_done.store(true, Ordering::Relaxed);
                Ok(())
            })();
            seen_exit.store(true, Ordering::Relaxed);
            outcome
        });
        // WHEN its job is dropped after 100 ms
        assert!(tokio::time::timeout(Duration::from_millis(100), work).await.is_err(), "still running");
        // THEN the loop leaves at its next checkpoint, without completing
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(exited.load(Ordering::Relaxed), "the blocking thread is free again");
        assert!(!completed.load(Ordering::Relaxed), "the long loop never completed");
        assert!(checkpoint().is_ok(), "outside a blocking task nothing is stopped");
    }
}
