//! The model registry: the `ModelId`s users pass, the functions each serves, and each function's
//! default. Files, checksums and sessions are added as the algorithms land (see layers/).

use iprod_core::{Error, FunctionName, Result};

pub struct ModelEntry {
    pub id: &'static str,
    pub functions: &'static [FunctionName],
    pub description: &'static str,
}

use FunctionName::*;

/// The first entry naming a function is its default model.
pub const MODELS: &[ModelEntry] = &[
    ModelEntry {
        id: "u2netp",
        functions: &[ImageMatting],
        description: "U2-Net-p salient-object segmentation (rembg's u2netp)",
    },
    ModelEntry {
        id: "centerface",
        functions: &[VideoH2V, ImageH2V, Cover],
        description: "CenterFace face detector with U2-Net-p saliency",
    },
    ModelEntry {
        id: "inpaint",
        functions: &[VideoDelogo, ImageDelogo],
        description: "static-overlay detection and inpainting",
    },
    ModelEntry { id: "shots", functions: &[VideoClip], description: "shot detection and segment scoring" },
];

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
}
