//! IProduction's media engine: the seven algorithms behind `MediaEngine`, the one subprocess
//! wrapper for ffmpeg/ffprobe, the probe, and the model registry.
//!
//! The `MediaEngine` trait itself is defined in `iprod-core` (the worker use-case calls it) and
//! re-exported here, the home of its implementations.

pub mod blocking;
pub mod engine;
pub mod image;
pub mod imaging;
pub mod memory;
pub mod models;
pub mod onnx;
pub mod probe;
pub mod process;
pub mod video;
pub mod vision;

pub use engine::{Engine, EngineSettings};
pub use iprod_core::ports::{MediaEngine, MediaOutput, MediaTask, Progress};
