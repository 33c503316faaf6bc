//! How far an analysis has got, for the job's progress while it runs: the analysis passes add
//! the seconds of video they have been through, against the seconds they expect to go through;
//! the engine reads the fraction on a timer and reports it. Lock-free, shared with the blocking
//! threads that run the models.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Meter {
    done_us: AtomicU64,
    expected_us: AtomicU64,
}

fn micros(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1e6) as u64
}

impl Meter {
    /// One more pass over `seconds` of video is to come.
    pub fn add_pass(&self, seconds: f64) {
        self.expected_us.fetch_add(micros(seconds), Ordering::Relaxed);
    }

    /// `seconds` more of video have been analysed.
    pub fn advance(&self, seconds: f64) {
        self.done_us.fetch_add(micros(seconds), Ordering::Relaxed);
    }

    /// 0..1 (0 until something is expected).
    pub fn fraction(&self) -> f64 {
        let expected = self.expected_us.load(Ordering::Relaxed);
        if expected == 0 {
            return 0.0;
        }
        (self.done_us.load(Ordering::Relaxed) as f64 / expected as f64).min(1.0)
    }
}

/// Runs `work`, reporting `from + fraction × (to - from)` every quarter second meanwhile.
pub async fn metered<T>(work: impl Future<Output = T>, meter: &Meter, mut report: impl FnMut(f64)) -> T {
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticks.tick() => report(meter.fraction()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_is_done_over_expected() {
        let meter = Meter::default();
        assert_eq!(meter.fraction(), 0.0);
        meter.add_pass(10.0);
        meter.add_pass(10.0);
        meter.advance(5.0);
        assert_eq!(meter.fraction(), 0.25);
        meter.advance(100.0);
        assert_eq!(meter.fraction(), 1.0);
    }
}
