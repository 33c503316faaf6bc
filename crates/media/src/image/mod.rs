//! Still-image functions and their shared machinery.

pub mod delogo;
pub mod h2v;
pub mod io;
pub mod matting;

use image::DynamicImage;
use iprod_core::params::JobParams;
use iprod_core::{Error, Result};
use serde_json::{Value, json};

use crate::onnx::OnnxRuntime;
use crate::vision::{faces, framing, saliency, text};

/// Runs the image function that `params` names on a decoded, upright image: the output image
/// and the job's `Result`.
pub fn run(
    runtime: &OnnxRuntime,
    model_id: &str,
    params: &JobParams,
    image: DynamicImage,
) -> Result<(DynamicImage, Value)> {
    match params {
        JobParams::ImageMatting => {
            let (width, height) = (image.width(), image.height());
            let matte = matting::cut_out(runtime, crate::models::matting_model(model_id), image)?;
            let result = json!({"Width": width, "Height": height, "Coverage": round3(matte.coverage)});
            Ok((matte.cutout, result))
        }
        JobParams::ImageH2V { aspect, width } => {
            let rgb = image.into_rgb8();
            let found = faces::detect(runtime, &rgb, faces::DEFAULT_THRESHOLD)?;
            // Saliency only decides when no face does (it costs one more inference).
            let salient = if found.is_empty() { Some(saliency::saliency(runtime, &rgb)?) } else { None };
            let map = text::probability_map(runtime, &rgb, framing::TEXT_SIDE)?;
            let texts = framing::on_screen_text(
                &text::lines(&map, rgb.width(), rgb.height()),
                rgb.width(),
                rgb.height(),
            );
            let plan = framing::plan(rgb.width(), rgb.height(), *aspect, &found, salient.as_ref(), &texts);
            let out = h2v::render(&rgb, &plan, *aspect, *width)?;
            let faces: Vec<Value> = found
                .iter()
                .map(|f| {
                    let r = f.rect;
                    json!({"X": r.x.round(), "Y": r.y.round(), "Width": r.width.round(), "Height": r.height.round(), "Score": round3(f64::from(f.score))})
                })
                .collect();
            let text: Vec<Value> = texts
                .iter()
                .map(|r| json!({"X": r.x.round(), "Y": r.y.round(), "Width": r.width.round(), "Height": r.height.round()}))
                .collect();
            let result = json!({
                "Crop": plan.window, "Mode": plan.mode, "Basis": plan.basis, "Faces": faces, "Text": text,
                "Width": out.width(), "Height": out.height()
            });
            Ok((DynamicImage::ImageRgb8(out), result))
        }
        JobParams::ImageDelogo { logos } => {
            let mut rgb = image.into_rgb8();
            let result = delogo::clean(runtime, &mut rgb, logos)?;
            Ok((DynamicImage::ImageRgb8(rgb), result))
        }
        other => Err(Error::internal(format!("{} is not an image function", other.function()))),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
