//! The video an analysis pass reads, and how: one argument instead of five.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::info::VideoInfo;
use super::meter::Meter;

#[derive(Clone, Copy)]
pub struct Source<'a> {
    /// The ffmpeg to run.
    pub ffmpeg: &'a Path,
    /// The downloaded input and what the probe found in it.
    pub input: &'a Path,
    pub info: &'a VideoInfo,
    /// Each ffmpeg run's time limit.
    pub timeout: Duration,
    /// The job's progress over its passes (an `Arc`: model work on blocking threads advances it).
    pub meter: &'a Arc<Meter>,
}
