//! The memory a job may use, and the admission check that keeps it there: what an input needs
//! is estimated from its probed size before anything is decoded, and an input that would need
//! more than the budget is refused with what to change. The embedded service derives its default
//! worker count from the same budget, so the jobs running at once fit in the machine's memory.
//!
//! The estimates were measured (peak RSS of `iprod run`, ffmpeg children included, release
//! build): a 40 MP photo took 707 MB in ImageMatting and 963 MB in ImageH2V (about 24 bytes per
//! pixel over a fixed 150 MB of models and runtime); a 4K clip took 930 MB in VideoDelogo, most
//! of it the H.264 encoder's frames (about 100 bytes per pixel of one frame over 200 MB).

use iprod_core::function::MediaKind;
use iprod_core::{Error, ErrorClass, Result};

/// What one job may use unless configured (`engine.job_memory_mb`): an 8K video or a 40 MP
/// photo fits.
pub const DEFAULT_JOB_MEMORY_MB: u64 = 4096;

const MB: u64 = 1024 * 1024;
const IMAGE_FIXED: u64 = 150 * MB;
const IMAGE_PER_PIXEL: u64 = 24;
const VIDEO_FIXED: u64 = 200 * MB;
const VIDEO_PER_PIXEL: u64 = 100;

/// The peak memory a job on a `width`×`height` input is expected to need.
pub fn estimate(kind: MediaKind, width: u32, height: u32) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    match kind {
        MediaKind::Image => IMAGE_FIXED + pixels * IMAGE_PER_PIXEL,
        MediaKind::Video => VIDEO_FIXED + pixels * VIDEO_PER_PIXEL,
    }
}

/// Refuses an input whose estimate is over `budget_mb`.
pub fn check(kind: MediaKind, width: u32, height: u32, budget_mb: u64) -> Result<()> {
    let needed = estimate(kind, width, height);
    if needed <= budget_mb.saturating_mul(MB) {
        return Ok(());
    }
    Err(Error::new(
        ErrorClass::Invalid,
        "InvalidInput.TooLarge",
        format!(
            "a {width}×{height} input needs about {} MB to process, over this service's per-job memory budget of \
             {budget_mb} MB: send a smaller picture, or raise engine.job_memory_mb",
            needed / MB
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_takes_the_largest_default_inputs_and_refuses_beyond() {
        // 40 MP photos and 8K video are within the default input limits: they must fit.
        assert!(check(MediaKind::Image, 7746, 5164, DEFAULT_JOB_MEMORY_MB).is_ok());
        assert!(check(MediaKind::Video, 7680, 4320, DEFAULT_JOB_MEMORY_MB).is_ok());
        let e = check(MediaKind::Image, 7746, 5164, 512).unwrap_err();
        assert_eq!(e.code(), "InvalidInput.TooLarge");
        assert!(e.message().contains("engine.job_memory_mb"), "{}", e.message());
        assert!(!e.is_retryable());
    }
}
