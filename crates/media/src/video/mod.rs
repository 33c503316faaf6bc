//! The video functions (`h2v`, `delogo`, `cover`, `clip`) and their shared machinery: strict
//! probe and limits, small sparse analysis frames streamed from ffmpeg with bounded memory,
//! shot-boundary detection, and the render pass (`render.rs`).

pub mod clip;
pub mod cover;
pub mod delogo;
pub mod frames;
pub mod h2v;
pub mod hardware;
pub mod info;
pub mod meter;
pub mod packets;
pub mod shots;

mod render;
mod source;

pub use render::{EVEN, Render, h264_output};
pub use source::Source;
