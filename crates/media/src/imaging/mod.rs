//! Pixel-level building blocks with no knowledge of what a picture shows: summed-area tables,
//! the guided filter, gradients, morphology, the camera's motion and the box type. `vision` and
//! the functions build on this layer; it depends on nothing of theirs.

pub mod decimated;
pub mod geometry;
pub mod gradients;
pub mod guided_filter;
pub mod integral;
pub mod min_cut;
pub mod morphology;
pub mod motion;
pub mod parallel;
pub mod resample;
pub mod rotate;
pub mod sample;
pub mod shrink;
