//! Typed `JobParams` per function, parsed from the request's `JobParams` JSON string.
//!
//! Every key a function does not know is rejected with its name, so a typo never silently falls
//! back to a default.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::function::FunctionName;

pub mod schema;

use schema::{ParamKind, ParamSpec};

/// The largest `JobParams` string accepted (bytes).
pub const MAX_JOB_PARAMS_BYTES: usize = 64 * 1024;
/// A job may name at most this many logo boxes.
pub const MAX_LOGO_BOXES: usize = 2;

/// A logo region in normalised coordinates: `[xmin, ymin, width, height]`, each in 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogoBox {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// `Cover.Model`: still image(s), or an animated GIF cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum CoverModel {
    #[default]
    Still,
    Gif,
}

/// The shape of a reframed output, `Width:Height` (default 9:16, vertical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Aspect {
    pub width: u32,
    pub height: u32,
}

impl Default for Aspect {
    fn default() -> Self {
        Self { width: 9, height: 16 }
    }
}

/// `Cover.Count` when not given, and its largest value.
pub const DEFAULT_COVER_COUNT: u32 = 3;
pub const MAX_COVER_COUNT: u32 = 20;

/// What a `VideoClip` summary should be (seconds), as Cloudinary's `e_preview` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClipParams {
    /// Target length of the summary; the whole video when it is shorter.
    pub duration: f64,
    /// At most this many segments.
    pub max_segments: u32,
    /// No segment shorter than this (except when the whole video is).
    pub min_segment: f64,
}

impl Default for ClipParams {
    fn default() -> Self {
        Self { duration: 15.0, max_segments: 5, min_segment: 2.0 }
    }
}

/// The largest output width `ImageH2V.Width` and `VideoH2V.Width` accept, in pixels; no side of
/// any output may be longer.
pub const MAX_OUTPUT_WIDTH: u32 = 8192;
/// The most pixels an output picture may have (8192 × 4608, past 8K UHD): a reframed output's
/// size follows the parameters, and `{"Aspect":"1:100","Width":8192}` once asked for 20 GB.
pub const MAX_OUTPUT_PIXELS: u64 = 8192 * 4608;

/// Whether a `width` × `height` output is within [`MAX_OUTPUT_WIDTH`] and [`MAX_OUTPUT_PIXELS`].
pub fn output_fits(width: u64, height: u64) -> bool {
    width <= u64::from(MAX_OUTPUT_WIDTH)
        && height <= u64::from(MAX_OUTPUT_WIDTH)
        && width.saturating_mul(height) <= MAX_OUTPUT_PIXELS
}

/// The output height a `width` makes at `aspect`.
pub fn height_for(width: u32, aspect: Aspect) -> u64 {
    (f64::from(width) * f64::from(aspect.height) / f64::from(aspect.width)).round() as u64
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum JobParams {
    /// `width`: the output's width in pixels (even; the height follows the aspect); `None`: the
    /// window's own size in the source.
    VideoH2V {
        aspect: Aspect,
        width: Option<u32>,
    },
    /// Empty `logos`: find static logos automatically.
    VideoDelogo {
        logos: Vec<LogoBox>,
    },
    /// `count`: how many still covers, best first (a GIF cover is always one).
    Cover {
        model: CoverModel,
        count: u32,
    },
    VideoClip(ClipParams),
    ImageMatting,
    /// `width`: scale the result to this many pixels wide (default: the source's own pixels).
    ImageH2V {
        aspect: Aspect,
        width: Option<u32>,
    },
    /// Empty `logos`: detect logos and watermarks automatically.
    ImageDelogo {
        logos: Vec<LogoBox>,
    },
}

impl JobParams {
    /// Parses `raw` (the request's `JobParams`; empty means none) for `function`.
    pub fn parse(function: FunctionName, raw: &str) -> Result<Self> {
        if raw.len() > MAX_JOB_PARAMS_BYTES {
            return Err(Error::invalid_parameter(
                "JobParams",
                format!("JobParams is {} bytes; the limit is {MAX_JOB_PARAMS_BYTES}", raw.len()),
            ));
        }
        let mut fields = parse_object(raw)?;
        let params = match function {
            FunctionName::VideoH2V => {
                let (aspect, width) = take_shape(&mut fields)?;
                Self::VideoH2V { aspect, width }
            }
            FunctionName::VideoClip => Self::VideoClip(take_clip(&mut fields)?),
            FunctionName::ImageMatting => Self::ImageMatting,
            FunctionName::ImageH2V => {
                let (aspect, width) = take_shape(&mut fields)?;
                Self::ImageH2V { aspect, width }
            }
            FunctionName::VideoDelogo => Self::VideoDelogo { logos: take_logos(&mut fields)? },
            FunctionName::ImageDelogo => Self::ImageDelogo { logos: take_logos(&mut fields)? },
            FunctionName::Cover => {
                let model = take_cover_model(&mut fields)?;
                let count = take_number(&mut fields, &schema::COVER_COUNT)?;
                let count = count.map_or(DEFAULT_COVER_COUNT, |c| c as u32);
                Self::Cover { model, count }
            }
        };
        if let Some(key) = fields.keys().next() {
            return Err(Error::invalid_parameter(
                "JobParams",
                format!("JobParams key {key:?} is not known to {function}: {}", schema::known_keys(function)),
            ));
        }
        Ok(params)
    }

    pub fn function(&self) -> FunctionName {
        match self {
            Self::VideoH2V { .. } => FunctionName::VideoH2V,
            Self::VideoDelogo { .. } => FunctionName::VideoDelogo,
            Self::Cover { .. } => FunctionName::Cover,
            Self::VideoClip(_) => FunctionName::VideoClip,
            Self::ImageMatting => FunctionName::ImageMatting,
            Self::ImageH2V { .. } => FunctionName::ImageH2V,
            Self::ImageDelogo { .. } => FunctionName::ImageDelogo,
        }
    }
}

fn parse_object(raw: &str) -> Result<Map<String, Value>> {
    if raw.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::invalid_parameter("JobParams", "JobParams must be a JSON object, e.g. {}")),
        Err(e) => Err(Error::invalid_parameter("JobParams", format!("JobParams is not valid JSON: {e}"))),
    }
}

fn take_aspect(fields: &mut Map<String, Value>) -> Result<Aspect> {
    let raw = match fields.remove("Aspect") {
        None | Some(Value::Null) => return Ok(Aspect::default()),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    let parsed = raw
        .split_once(':')
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    let max_side = schema::ASPECT_MAX_SIDE;
    match parsed {
        Some((w, h)) if (1..=max_side).contains(&w) && (1..=max_side).contains(&h) => {
            Ok(Aspect { width: w, height: h })
        }
        _ => Err(Error::invalid_parameter(
            "JobParams",
            format!(
                "JobParams.Aspect {raw:?} must be \"W:H\" with integers 1-{max_side}, e.g. \"9:16\" or \"4:5\""
            ),
        )),
    }
}

/// `Aspect` and `Width` together: the output they make must fit [`output_fits`].
fn take_shape(fields: &mut Map<String, Value>) -> Result<(Aspect, Option<u32>)> {
    let aspect = take_aspect(fields)?;
    let width = take_output_width(fields)?;
    if let Some(w) = width {
        let h = height_for(w, aspect);
        if !output_fits(u64::from(w), h) {
            // The widest output of this aspect that fits, for the message.
            let most = (1..=w).rev().find(|&c| output_fits(u64::from(c), height_for(c, aspect))).unwrap_or(0);
            return Err(Error::invalid_parameter(
                "JobParams",
                format!(
                    "JobParams.Width {w} with Aspect {}:{} makes a {w}x{h} output; outputs are at most \
                     {MAX_OUTPUT_WIDTH} pixels a side and {MAX_OUTPUT_PIXELS} pixels in all: ask for a \
                     Width of at most {most} at this aspect",
                    aspect.width, aspect.height
                ),
            ));
        }
    }
    Ok((aspect, width))
}

fn take_output_width(fields: &mut Map<String, Value>) -> Result<Option<u32>> {
    let (min, max) = (schema::MIN_OUTPUT_WIDTH, MAX_OUTPUT_WIDTH);
    match fields.remove("Width") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(w) if (u64::from(min)..=u64::from(max)).contains(&w) => Ok(Some(w as u32)),
            _ => Err(Error::invalid_parameter(
                "JobParams",
                format!("JobParams.Width {v} must be an integer from {min} to {max} (pixels)"),
            )),
        },
    }
}

/// A number within `spec`'s bounds (an integer when it is an integer key), or `None` when absent.
fn take_number(fields: &mut Map<String, Value>, spec: &ParamSpec) -> Result<Option<f64>> {
    let (min, max, integer) = match spec.kind {
        ParamKind::Integer { min, max, .. } => (f64::from(min), f64::from(max), true),
        ParamKind::Number { min, max, .. } => (min, max, false),
        _ => unreachable!("{} is not a number", spec.key),
    };
    let key = spec.key;
    let value = match fields.remove(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    match value.as_f64() {
        Some(n) if (min..=max).contains(&n) && (!integer || n.fract() == 0.0) => Ok(Some(n)),
        _ => Err(Error::invalid_parameter(
            "JobParams",
            format!(
                "JobParams.{key} is {value}; it must be {} from {min} to {max}",
                if integer { "an integer" } else { "a number" }
            ),
        )),
    }
}

fn take_clip(fields: &mut Map<String, Value>) -> Result<ClipParams> {
    let defaults = ClipParams::default();
    let duration = take_number(fields, &schema::CLIP_DURATION)?.unwrap_or(defaults.duration);
    let max_segments = take_number(fields, &schema::CLIP_MAX_SEGMENTS)?;
    let min_segment = take_number(fields, &schema::CLIP_MIN_SEGMENT)?;
    let min_segment = min_segment.unwrap_or(defaults.min_segment.min(duration));
    if min_segment > duration {
        return Err(Error::invalid_parameter(
            "JobParams",
            format!(
                "JobParams.MinSegmentDuration ({min_segment} s) is longer than Duration ({duration} s): lower it or raise Duration"
            ),
        ));
    }
    let max_segments = max_segments.map_or(defaults.max_segments, |n| n as u32);
    Ok(ClipParams { duration, max_segments, min_segment })
}

fn take_cover_model(fields: &mut Map<String, Value>) -> Result<CoverModel> {
    match fields.remove("Model") {
        None | Some(Value::Null) => Ok(CoverModel::Still),
        Some(Value::String(s)) if s.is_empty() => Ok(CoverModel::Still),
        Some(Value::String(s)) if s == "gif" => Ok(CoverModel::Gif),
        Some(other) => Err(Error::invalid_parameter(
            "JobParams",
            format!("JobParams.Model is {other}; use \"\" for still covers or \"gif\" for an animated cover"),
        )),
    }
}

/// `Logo` is a list of `[xmin, ymin, width, height]`; clients of the cloud service sometimes send
/// that list as a JSON string, so a string holding the list is accepted too.
fn take_logos(fields: &mut Map<String, Value>) -> Result<Vec<LogoBox>> {
    let value = match fields.remove("Logo") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => serde_json::from_str(&s).map_err(|e| {
            Error::invalid_parameter("JobParams", format!("JobParams.Logo is not a JSON list of boxes: {e}"))
        })?,
        Some(v) => v,
    };
    let Value::Array(boxes) = value else {
        return Err(logo_error("JobParams.Logo must be a list of [xmin, ymin, width, height] boxes"));
    };
    if boxes.len() > MAX_LOGO_BOXES {
        return Err(logo_error(format!(
            "JobParams.Logo has {} boxes; at most {MAX_LOGO_BOXES} are allowed",
            boxes.len()
        )));
    }
    boxes.iter().enumerate().map(|(i, b)| parse_logo_box(i, b)).collect()
}

fn parse_logo_box(index: usize, value: &Value) -> Result<LogoBox> {
    let numbers: Option<Vec<f64>> = value.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect());
    let Some([x, y, width, height]) = numbers.as_deref().and_then(|n| <[f64; 4]>::try_from(n).ok()) else {
        return Err(logo_error(format!(
            "JobParams.Logo[{index}] must be four numbers [xmin, ymin, width, height], got {value}"
        )));
    };
    let in_unit = |v: f64| (0.0..=1.0).contains(&v);
    if !(in_unit(x) && in_unit(y) && in_unit(width) && in_unit(height)) {
        return Err(logo_error(format!(
            "JobParams.Logo[{index}] = {value}: every value must lie in 0..1 (normalised to the frame)"
        )));
    }
    if width == 0.0 || height == 0.0 {
        return Err(logo_error(format!("JobParams.Logo[{index}] = {value}: width and height must be > 0")));
    }
    // A small tolerance absorbs decimal rounding such as 0.7 + 0.3.
    if x + width > 1.0 + 1e-9 || y + height > 1.0 + 1e-9 {
        return Err(logo_error(format!(
            "JobParams.Logo[{index}] = {value}: the box leaves the frame (xmin + width and ymin + height must be <= 1)"
        )));
    }
    Ok(LogoBox { x, y, width, height })
}

fn logo_error(message: impl Into<String>) -> Error {
    Error::invalid_parameter("JobParams", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(function: FunctionName, raw: &str) -> Error {
        JobParams::parse(function, raw).unwrap_err()
    }

    #[test]
    fn empty_params_give_defaults() {
        assert_eq!(
            JobParams::parse(FunctionName::Cover, "").unwrap(),
            JobParams::Cover { model: CoverModel::Still, count: 3 }
        );
        assert_eq!(
            JobParams::parse(FunctionName::VideoH2V, "{}").unwrap(),
            JobParams::VideoH2V { aspect: Aspect::default(), width: None }
        );
        assert_eq!(
            JobParams::parse(FunctionName::VideoDelogo, " ").unwrap(),
            JobParams::VideoDelogo { logos: vec![] }
        );
    }

    #[test]
    fn cover_model_is_empty_or_gif() {
        let gif = JobParams::parse(FunctionName::Cover, r#"{"Model":"gif"}"#).unwrap();
        assert_eq!(gif, JobParams::Cover { model: CoverModel::Gif, count: 3 });
        let e = err(FunctionName::Cover, r#"{"Model":"mp4"}"#);
        assert_eq!(e.code(), "InvalidParameter.JobParams");
        assert!(e.message().contains("gif"));
    }

    #[test]
    fn cover_count_is_a_small_integer() {
        let five = JobParams::parse(FunctionName::Cover, r#"{"Count":5}"#).unwrap();
        assert_eq!(five, JobParams::Cover { model: CoverModel::Still, count: 5 });
        for bad in [r#"{"Count":0}"#, r#"{"Count":21}"#, r#"{"Count":2.5}"#, r#"{"Count":"3"}"#] {
            let e = err(FunctionName::Cover, bad);
            assert!(e.message().contains("JobParams.Count"), "{bad}: {}", e.message());
        }
    }

    #[test]
    fn clip_params_have_defaults_and_bounds() {
        assert_eq!(
            JobParams::parse(FunctionName::VideoClip, "").unwrap(),
            JobParams::VideoClip(ClipParams { duration: 15.0, max_segments: 5, min_segment: 2.0 })
        );
        let raw = r#"{"Duration":8.5,"MaxSegments":2,"MinSegmentDuration":3}"#;
        assert_eq!(
            JobParams::parse(FunctionName::VideoClip, raw).unwrap(),
            JobParams::VideoClip(ClipParams { duration: 8.5, max_segments: 2, min_segment: 3.0 })
        );
        // A short target lowers the default minimum with it.
        assert_eq!(
            JobParams::parse(FunctionName::VideoClip, r#"{"Duration":1}"#).unwrap(),
            JobParams::VideoClip(ClipParams { duration: 1.0, max_segments: 5, min_segment: 1.0 })
        );
        assert!(err(FunctionName::VideoClip, r#"{"Duration":0}"#).message().contains("JobParams.Duration"));
        assert!(err(FunctionName::VideoClip, r#"{"MaxSegments":0}"#).message().contains("MaxSegments"));
        let e = err(FunctionName::VideoClip, r#"{"Duration":5,"MinSegmentDuration":6}"#);
        assert!(e.message().contains("longer than Duration"), "{}", e.message());
        assert!(err(FunctionName::VideoClip, r#"{"Length":5}"#).message().contains("\"Length\""));
    }

    #[test]
    fn logo_boxes_parse_from_list_or_string() {
        let expected =
            JobParams::VideoDelogo { logos: vec![LogoBox { x: 0.8, y: 0.05, width: 0.15, height: 0.1 }] };
        assert_eq!(
            JobParams::parse(FunctionName::VideoDelogo, r#"{"Logo":[[0.8,0.05,0.15,0.1]]}"#).unwrap(),
            expected
        );
        assert_eq!(
            JobParams::parse(FunctionName::VideoDelogo, r#"{"Logo":"[[0.8,0.05,0.15,0.1]]"}"#).unwrap(),
            expected
        );
    }

    #[test]
    fn logo_boxes_are_validated() {
        let three = r#"{"Logo":[[0,0,0.1,0.1],[0.2,0.2,0.1,0.1],[0.5,0.5,0.1,0.1]]}"#;
        assert!(err(FunctionName::VideoDelogo, three).message().contains("at most 2"));
        assert!(err(FunctionName::VideoDelogo, r#"{"Logo":[[0,0,1.5,0.1]]}"#).message().contains("0..1"));
        assert!(
            err(FunctionName::VideoDelogo, r#"{"Logo":[[0.9,0,0.2,0.1]]}"#)
                .message()
                .contains("leaves the frame")
        );
        assert!(
            err(FunctionName::VideoDelogo, r#"{"Logo":[[0.9,0,0.2]]}"#).message().contains("four numbers")
        );
        assert!(err(FunctionName::VideoDelogo, r#"{"Logo":[[0.1,0,0,0.1]]}"#).message().contains("> 0"));
        // Edge of the frame is fine, with decimal rounding.
        JobParams::parse(FunctionName::VideoDelogo, r#"{"Logo":[[0.7,0.7,0.3,0.3]]}"#).unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_json_are_named() {
        let e = err(FunctionName::VideoClip, r#"{"Aspect":"9:16"}"#);
        assert_eq!(e.code(), "InvalidParameter.JobParams");
        assert!(e.message().contains("\"Aspect\""), "{}", e.message());
        let e = err(FunctionName::Cover, r#"{"Model":"gif","Logo":[]}"#);
        assert!(e.message().contains("\"Logo\""), "{}", e.message());
        assert!(err(FunctionName::Cover, "{not json").message().contains("not valid JSON"));
        assert!(err(FunctionName::Cover, "[1]").message().contains("JSON object"));
    }

    #[test]
    fn image_h2v_takes_an_aspect_and_a_width() {
        assert_eq!(
            JobParams::parse(FunctionName::ImageH2V, "").unwrap(),
            JobParams::ImageH2V { aspect: Aspect { width: 9, height: 16 }, width: None }
        );
        assert_eq!(
            JobParams::parse(FunctionName::ImageH2V, r#"{"Aspect":"4:5","Width":1080}"#).unwrap(),
            JobParams::ImageH2V { aspect: Aspect { width: 4, height: 5 }, width: Some(1080) }
        );
        assert!(err(FunctionName::ImageH2V, r#"{"Aspect":"wide"}"#).message().contains("W:H"));
        assert!(err(FunctionName::ImageH2V, r#"{"Width":5}"#).message().contains("16 to"));
        assert_eq!(
            JobParams::parse(FunctionName::VideoH2V, r#"{"Aspect":"1:1","Width":720}"#).unwrap(),
            JobParams::VideoH2V { aspect: Aspect { width: 1, height: 1 }, width: Some(720) }
        );
        assert!(
            err(FunctionName::VideoH2V, r#"{"Aspect":"9:16","Mode":"x"}"#).message().contains("\"Mode\"")
        );
    }

    #[test]
    fn an_output_too_large_is_refused_at_submit_with_the_width_that_fits() {
        // The attack: 1:100 at 8192 wide asked for an 8192x819200 picture (20 GB).
        let e = err(FunctionName::ImageH2V, r#"{"Aspect":"1:100","Width":8192}"#);
        assert_eq!(e.code(), "InvalidParameter.JobParams");
        assert!(
            e.message().contains("8192x819200") && e.message().contains("at most 81 "),
            "{}",
            e.message()
        );
        let e = err(FunctionName::VideoH2V, r#"{"Aspect":"9:16","Width":8192}"#);
        assert!(e.message().contains("at most 4608 "), "{}", e.message());
        // The largest that fits passes.
        assert!(JobParams::parse(FunctionName::ImageH2V, r#"{"Aspect":"1:100","Width":81}"#).is_ok());
        assert!(JobParams::parse(FunctionName::VideoH2V, r#"{"Aspect":"16:9","Width":8192}"#).is_ok());
    }

    #[test]
    fn oversized_params_are_rejected() {
        let raw = format!(r#"{{"Model":"{}"}}"#, "x".repeat(MAX_JOB_PARAMS_BYTES));
        assert!(err(FunctionName::Cover, &raw).message().contains("limit"));
    }
}
