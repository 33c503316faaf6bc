//! Shared video machinery: strict probe and limits, small sparse analysis frames streamed from
//! ffmpeg with bounded memory, and shot-boundary detection.

pub mod delogo;
pub mod frames;
pub mod info;
pub mod shots;
pub mod static_logo;
