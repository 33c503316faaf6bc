//! Still-image functions and their shared machinery.

pub mod guided_filter;
pub mod io;
pub mod matting;
