//! The model registry: the `ModelId`s users pass, the functions each serves, each function's
//! default, and the ONNX files behind them (from the model pack, see layers/).

use iprod_core::{Error, FunctionName, Result};

/// One ONNX file of the model pack.
pub struct OnnxModel {
    pub file: &'static str,
    pub sha256: &'static str,
    pub input: &'static str,
    /// Fixed input size (width, height); `None` when the model takes any multiple of 32.
    pub input_size: Option<(u32, u32)>,
    pub preprocessing: &'static str,
}

pub const U2NETP: OnnxModel = OnnxModel {
    file: "u2netp.onnx",
    sha256: "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
    input: "input.1",
    input_size: Some((320, 320)),
    preprocessing: "RGB, Lanczos resize to 320x320, divide by the image max, ImageNet mean/std, NCHW; output 0 min-max normalised",
};

/// The full U²-Net: the same graph and preprocessing as U²-Net-p, ~38× the weights.
pub const U2NET: OnnxModel = OnnxModel {
    file: "u2net.onnx",
    sha256: "8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491",
    input: "input.1",
    input_size: Some((320, 320)),
    preprocessing: U2NETP.preprocessing,
};

pub const CENTERFACE: OnnxModel = OnnxModel {
    file: "centerface-dynamic.onnx",
    sha256: "e50c58b64599f94a343ac1dc58fa4902635c2e1939b316afb39142c39c99b22e",
    input: "input.1",
    input_size: None,
    preprocessing: "RGB 0..255 floats, NCHW, width and height multiples of 32; outputs at 1/4 resolution",
};

/// PP-OCRv5 text detection (a DB head): a per-pixel text probability at the input's resolution.
pub const PPOCR_DET: OnnxModel = OnnxModel {
    file: "ppocrv5-det.onnx",
    sha256: "4d97c44a20d30a81aad087d6a396b08f786c4635742afc391f6621f5c6ae78ae",
    input: "x",
    input_size: None,
    preprocessing: "BGR, divide by 255, ImageNet mean/std, NCHW, width and height multiples of 32; output [N,1,H,W] text probability",
};

pub struct ModelEntry {
    pub id: &'static str,
    pub functions: &'static [FunctionName],
    pub description: &'static str,
    pub files: &'static [&'static OnnxModel],
}

use FunctionName::*;

/// The first entry naming a function is its default model.
pub const MODELS: &[ModelEntry] = &[
    ModelEntry {
        id: "u2netp",
        functions: &[ImageMatting],
        description: "U2-Net-p salient-object segmentation (rembg's u2netp) + guided-filter edges",
        files: &[&U2NETP],
    },
    ModelEntry {
        id: "u2net",
        functions: &[ImageMatting],
        description: "full U2-Net (rembg's u2net, 168 MiB): ~2.5x slower than u2netp, slightly cleaner edges",
        files: &[&U2NET],
    },
    ModelEntry {
        id: "centerface",
        functions: &[VideoH2V, ImageH2V, Cover],
        description: "CenterFace face detector with U2-Net-p saliency",
        files: &[&CENTERFACE, &U2NETP],
    },
    ModelEntry {
        id: "inpaint",
        functions: &[VideoDelogo, ImageDelogo],
        description: "overlay text (PP-OCRv5 detection), graphic marks and static overlays found; inpainting",
        files: &[&PPOCR_DET],
    },
    ModelEntry {
        id: "shots",
        functions: &[VideoClip],
        description: "shot detection and segment scoring",
        files: &[],
    },
];

/// The U²-Net variant behind an ImageMatting `ModelId`.
pub fn matting_model(model_id: &str) -> &'static OnnxModel {
    if model_id == "u2net" { &U2NET } else { &U2NETP }
}

pub fn default_model(function: FunctionName) -> &'static str {
    MODELS.iter().find(|m| m.functions.contains(&function)).map_or("", |m| m.id)
}

/// Empty → the function's default; otherwise the id must exist and serve `function`.
pub fn resolve(function: FunctionName, model_id: &str) -> Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_default_and_unknown_ids_are_rejected() {
        for f in FunctionName::ALL {
            assert!(!default_model(f).is_empty(), "{f}");
            assert_eq!(resolve(f, "").unwrap(), default_model(f));
        }
        assert_eq!(resolve(ImageMatting, "u2netp").unwrap(), "u2netp");
        let e = resolve(ImageMatting, "shots").unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.ModelId");
        assert!(e.message().contains("u2netp"));
    }

    #[test]
    fn model_files_match_the_pack_manifest() {
        let manifest = include_str!("../../../layers/model-pack.sha256");
        for model in [&U2NETP, &U2NET, &CENTERFACE, &PPOCR_DET] {
            assert!(
                manifest.contains(&format!("{}  {}", model.sha256, model.file)),
                "{} not in the manifest",
                model.file
            );
        }
    }
}
