//! What the service offers, as lookup tables: the `ModelId`s and the functions each serves
//! (the first model naming a function is its default), and the output formats each function
//! writes. Submits are validated against them here, in every runtime, without the engine;
//! `crates/media` maps each model to its ONNX files.

use crate::error::{Error, Result};
use crate::function::FunctionName;
use crate::params::{CoverModel, JobParams};
use crate::template::OutputTemplate;

/// A `ModelId` a client may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    pub id: &'static str,
    pub functions: &'static [FunctionName],
    pub description: &'static str,
}

use FunctionName::*;

/// The first entry naming a function is its default model.
pub const MODELS: &[Model] = &[
    Model {
        id: "u2netp",
        functions: &[ImageMatting],
        description: "U2-Net-p salient-object segmentation (rembg's u2netp) + guided-filter edges",
    },
    Model {
        id: "u2net",
        functions: &[ImageMatting],
        description: "full U2-Net (rembg's u2net, 168 MiB): ~2.5x slower than u2netp, slightly cleaner edges",
    },
    Model {
        id: "centerface",
        functions: &[VideoH2V, ImageH2V, Cover],
        description: "CenterFace face detector with U2-Net-p saliency",
    },
    Model {
        id: "inpaint",
        functions: &[VideoDelogo, ImageDelogo],
        description: "overlay text (PP-OCRv5 detection), graphic marks and static overlays found; inpainting",
    },
    Model { id: "shots", functions: &[VideoClip], description: "shot detection and segment scoring" },
];

pub fn default_model(function: FunctionName) -> &'static str {
    MODELS.iter().find(|m| m.functions.contains(&function)).map_or("", |m| m.id)
}

/// Empty → the function's default; otherwise the id must exist and serve `function`.
pub fn resolve_model(function: FunctionName, model_id: &str) -> Result<String> {
    let model_id = model_id.trim();
    if model_id.is_empty() {
        return Ok(default_model(function).to_owned());
    }
    let accepted: Vec<&str> =
        MODELS.iter().filter(|m| m.functions.contains(&function)).map(|m| m.id).collect();
    if accepted.contains(&model_id) {
        Ok(model_id.to_owned())
    } else {
        Err(Error::invalid_parameter(
            "ModelId",
            format!(
                "ModelId {model_id:?} does not serve {function}: use one of {} or leave it empty",
                accepted.join(", ")
            ),
        ))
    }
}

const VIDEO: &[&str] = &["mp4", "mov", "mkv"];
const STILL: &[&str] = &["jpg", "jpeg", "png", "webp"];
const ALPHA: &[&str] = &["png", "webp"];
/// An animated cover: GIF, or animated WebP / a silent MP4 when the Output says so.
const ANIMATED: &[&str] = &["gif", "webp", "mp4"];

/// The extensions `function` writes with `params`; the first is its default.
pub fn output_extensions(function: FunctionName, params: &JobParams) -> &'static [&'static str] {
    match (function, params) {
        (VideoH2V | VideoDelogo | VideoClip, _) => VIDEO,
        (Cover, JobParams::Cover { model: CoverModel::Gif, .. }) => ANIMATED,
        (ImageMatting, _) => ALPHA,
        _ => STILL,
    }
}

/// A template without an extension gets the function's first format; one with an extension
/// the function cannot write is rejected.
pub fn check_output(function: FunctionName, params: &JobParams, template: &OutputTemplate) -> Result<()> {
    let allowed = output_extensions(function, params);
    match template.extension() {
        Some(ext) if !allowed.contains(&ext.as_str()) => Err(Error::invalid_parameter(
            "Output",
            format!(
                "{function} cannot write .{ext} files: end the Output with one of .{}",
                allowed.join(", ."),
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_default_and_unknown_ids_are_rejected() {
        for f in FunctionName::ALL {
            assert!(!default_model(f).is_empty(), "{f}");
            assert_eq!(resolve_model(f, "").unwrap(), default_model(f));
        }
        assert_eq!(resolve_model(ImageMatting, "u2netp").unwrap(), "u2netp");
        let e = resolve_model(ImageMatting, "shots").unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.ModelId");
        assert!(e.message().contains("u2netp"));
    }

    #[test]
    fn extensions_follow_the_function() {
        let t = |raw: &str| OutputTemplate::parse(raw).unwrap();
        check_output(
            VideoH2V,
            &JobParams::VideoH2V { aspect: Default::default(), width: None },
            &t("oss://out/{source}.mp4"),
        )
        .unwrap();
        check_output(ImageMatting, &JobParams::ImageMatting, &t("oss://out/{source}")).unwrap();
        let e = check_output(ImageMatting, &JobParams::ImageMatting, &t("oss://out/a.jpg")).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.Output");
        assert!(e.message().contains(".png"));
        let gif = JobParams::Cover { model: CoverModel::Gif, count: 1 };
        assert!(check_output(Cover, &gif, &t("oss://out/c.jpg")).is_err());
    }
}
