//! Which output extensions each function can write, checked at submit time.

use iprod_core::params::{CoverModel, JobParams};
use iprod_core::template::OutputTemplate;
use iprod_core::{Error, FunctionName, Result};

const VIDEO: &[&str] = &["mp4", "mov", "mkv"];
const STILL: &[&str] = &["jpg", "jpeg", "png", "webp"];
const ALPHA: &[&str] = &["png", "webp"];
/// An animated cover: GIF, or animated WebP / a silent MP4 when the Output says so.
const ANIMATED: &[&str] = &["gif", "webp", "mp4"];

pub fn allowed_extensions(function: FunctionName, params: &JobParams) -> &'static [&'static str] {
    match (function, params) {
        (FunctionName::VideoH2V | FunctionName::VideoDelogo | FunctionName::VideoClip, _) => VIDEO,
        (FunctionName::Cover, JobParams::Cover { model: CoverModel::Gif, .. }) => ANIMATED,
        (FunctionName::ImageMatting, _) => ALPHA,
        _ => STILL,
    }
}

/// A template without an extension gets the function's first format; one with an extension
/// the function cannot write is rejected.
pub fn check_output(function: FunctionName, params: &JobParams, template: &OutputTemplate) -> Result<()> {
    let allowed = allowed_extensions(function, params);
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
    fn extensions_follow_the_function() {
        let t = |raw: &str| OutputTemplate::parse(raw).unwrap();
        check_output(
            FunctionName::VideoH2V,
            &JobParams::VideoH2V { aspect: Default::default(), width: None },
            &t("oss://out/{source}.mp4"),
        )
        .unwrap();
        check_output(FunctionName::ImageMatting, &JobParams::ImageMatting, &t("oss://out/{source}")).unwrap();
        let e = check_output(FunctionName::ImageMatting, &JobParams::ImageMatting, &t("oss://out/a.jpg"))
            .unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.Output");
        assert!(e.message().contains(".png"));
        let gif = JobParams::Cover { model: CoverModel::Gif, count: 1 };
        assert!(check_output(FunctionName::Cover, &gif, &t("oss://out/c.jpg")).is_err());
    }
}
