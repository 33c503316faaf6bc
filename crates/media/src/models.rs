//! The ONNX files behind each `ModelId` of the catalogue (`iprod_core::catalog`), from the
//! model pack (see layers/).

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

/// U²-Net-p with symbolic input dims (derived in the pack, same weights): saliency runs it at
/// the picture's own aspect, any multiple of 32 (a 16:9 video frame at 320×192).
pub const U2NETP_DYNAMIC: OnnxModel = OnnxModel {
    file: "u2netp-dynamic.onnx",
    sha256: "02fa093588a1a8b39520b0b69b60c6057816f34e6184bc701224d559056ce2e2",
    input: "input.1",
    input_size: None,
    preprocessing: "as u2netp, resized to width and height multiples of 32 instead of 320x320",
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

/// The ONNX files behind a catalogue `ModelId` (`iprod_core::catalog::MODELS`); `None` for an
/// id the engine does not know.
pub fn onnx_files(model_id: &str) -> Option<&'static [&'static OnnxModel]> {
    Some(match model_id {
        "u2netp" => &[&U2NETP],
        "u2net" => &[&U2NET],
        "centerface" => &[&CENTERFACE, &U2NETP_DYNAMIC],
        "inpaint" => &[&PPOCR_DET],
        "shots" => &[],
        _ => return None,
    })
}

/// The U²-Net variant behind an ImageMatting `ModelId`.
pub fn matting_model(model_id: &str) -> &'static OnnxModel {
    if model_id == "u2net" { &U2NET } else { &U2NETP }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_model_has_its_files_here() {
        for model in iprod_core::catalog::MODELS {
            assert!(onnx_files(model.id).is_some(), "{} has no files listed", model.id);
        }
        assert_eq!(onnx_files("centerface").unwrap().len(), 2);
    }

    #[test]
    fn model_files_match_the_pack_manifest() {
        let manifest = include_str!("../../../layers/model-pack.sha256");
        for model in [&U2NETP, &U2NETP_DYNAMIC, &U2NET, &CENTERFACE, &PPOCR_DET] {
            assert!(
                manifest.contains(&format!("{}  {}", model.sha256, model.file)),
                "{} not in the manifest",
                model.file
            );
        }
    }
}
