//! What each function's `JobParams` may hold, as data: the parser takes its keys, bounds and
//! defaults from here, and the console builds its form fields from the same table (served as
//! JSON), so the form and the validation cannot drift apart.

use serde::Serialize;

use crate::function::FunctionName;

/// One `JobParams` key of a function.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParamSpec {
    pub key: &'static str,
    #[serde(flatten)]
    pub kind: ParamKind,
    /// One sentence for a person filling in the field.
    pub help: &'static str,
}

/// The values a key takes. `default: None` means the function decides from the input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "Type")]
pub enum ParamKind {
    Integer {
        #[serde(rename = "Min")]
        min: u32,
        #[serde(rename = "Max")]
        max: u32,
        #[serde(rename = "Default")]
        default: Option<u32>,
    },
    Number {
        #[serde(rename = "Min")]
        min: f64,
        #[serde(rename = "Max")]
        max: f64,
        #[serde(rename = "Default")]
        default: Option<f64>,
    },
    /// `"W:H"`, each side an integer in `1..=max_side`.
    Aspect {
        #[serde(rename = "MaxSide")]
        max_side: u32,
        #[serde(rename = "Default")]
        default: &'static str,
    },
    /// One of the listed values (`""` is a value too).
    Choice {
        #[serde(rename = "Options")]
        options: &'static [ChoiceOption],
    },
    /// A list of at most `max` `[xmin, ymin, width, height]` boxes, normalised to the frame.
    Boxes {
        #[serde(rename = "Max")]
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceOption {
    pub value: &'static str,
    pub label: &'static str,
}

/// The longest side of an `Aspect` ratio.
pub const ASPECT_MAX_SIDE: u32 = 100;
/// The narrowest output `Width` takes, in pixels.
pub const MIN_OUTPUT_WIDTH: u32 = 16;

pub const ASPECT: ParamSpec = ParamSpec {
    key: "Aspect",
    kind: ParamKind::Aspect { max_side: ASPECT_MAX_SIDE, default: "9:16" },
    help: "The output's shape, width:height (9:16 is vertical).",
};
pub const WIDTH: ParamSpec = ParamSpec {
    key: "Width",
    kind: ParamKind::Integer { min: MIN_OUTPUT_WIDTH, max: super::MAX_OUTPUT_WIDTH, default: None },
    help: "The output's width in pixels; the height follows the aspect (empty: the source's own pixels).",
};
pub const LOGO: ParamSpec = ParamSpec {
    key: "Logo",
    kind: ParamKind::Boxes { max: super::MAX_LOGO_BOXES },
    help: "Boxes to clean, [[xmin, ymin, width, height]] in 0..1 of the frame (empty: found automatically).",
};
pub const COVER_MODEL: ParamSpec = ParamSpec {
    key: "Model",
    kind: ParamKind::Choice {
        options: &[
            ChoiceOption { value: "", label: "still images" },
            ChoiceOption { value: "gif", label: "one animated cover" },
        ],
    },
    help: "Still covers, or one animated cover around the best moment.",
};
pub const COVER_COUNT: ParamSpec = ParamSpec {
    key: "Count",
    kind: ParamKind::Integer {
        min: 1,
        max: super::MAX_COVER_COUNT,
        default: Some(super::DEFAULT_COVER_COUNT),
    },
    help: "How many still covers, best first.",
};
pub const CLIP_DURATION: ParamSpec = ParamSpec {
    key: "Duration",
    kind: ParamKind::Number { min: 1.0, max: 3600.0, default: Some(15.0) },
    help: "The summary's length in seconds (the whole video when it is shorter).",
};
pub const CLIP_MAX_SEGMENTS: ParamSpec = ParamSpec {
    key: "MaxSegments",
    kind: ParamKind::Integer { min: 1, max: 20, default: Some(5) },
    help: "At most this many segments.",
};
pub const CLIP_MIN_SEGMENT: ParamSpec = ParamSpec {
    key: "MinSegmentDuration",
    kind: ParamKind::Number { min: 0.5, max: 600.0, default: Some(2.0) },
    help: "No segment shorter than this many seconds (at most Duration).",
};

/// The keys `function` takes, in the order a form shows them.
pub fn specs(function: FunctionName) -> &'static [ParamSpec] {
    match function {
        FunctionName::VideoH2V | FunctionName::ImageH2V => &[ASPECT, WIDTH],
        FunctionName::VideoDelogo | FunctionName::ImageDelogo => &[LOGO],
        FunctionName::Cover => &[COVER_MODEL, COVER_COUNT],
        FunctionName::VideoClip => &[CLIP_DURATION, CLIP_MAX_SEGMENTS, CLIP_MIN_SEGMENT],
        FunctionName::ImageMatting => &[],
    }
}

/// For messages: "the keys are A and B", from [`specs`].
pub fn known_keys(function: FunctionName) -> String {
    let keys: Vec<&str> = specs(function).iter().map(|s| s.key).collect();
    match keys.as_slice() {
        [] => "this function takes no JobParams".to_owned(),
        [one] => format!("the only key is {one}"),
        [init @ .., last] => format!("the keys are {} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::JobParams;

    /// Every bound the table states is the bound the parser applies, and every default parses.
    #[test]
    fn the_parser_applies_the_tables_bounds() {
        for function in FunctionName::ALL {
            for spec in specs(function) {
                let parse = |value: serde_json::Value| {
                    JobParams::parse(function, &serde_json::json!({ spec.key: value }).to_string())
                };
                match spec.kind {
                    ParamKind::Integer { min, max, default } => {
                        assert!(parse(min.into()).is_ok(), "{function} {} {min}", spec.key);
                        // Width's largest value makes too tall an output at the default aspect.
                        assert!(parse(max.into()).is_ok() || spec.key == "Width", "{}", spec.key);
                        assert!(parse((max + 1).into()).is_err(), "{function} {}", spec.key);
                        assert!(parse((min - 1).into()).is_err(), "{function} {}", spec.key);
                        if let Some(d) = default {
                            assert!(parse(d.into()).is_ok());
                        }
                    }
                    ParamKind::Number { min, max, .. } => {
                        assert!(parse((min - 0.01).into()).is_err(), "{function} {}", spec.key);
                        assert!(parse((max + 0.01).into()).is_err(), "{function} {}", spec.key);
                    }
                    ParamKind::Aspect { max_side, default } => {
                        assert!(parse(default.into()).is_ok());
                        assert!(parse(format!("{max_side}:{max_side}").into()).is_ok());
                        assert!(parse(format!("{}:1", max_side + 1).into()).is_err());
                    }
                    ParamKind::Choice { options } => {
                        for o in options {
                            assert!(parse(o.value.into()).is_ok(), "{function} {}", o.value);
                        }
                        assert!(parse("not-an-option".into()).is_err());
                    }
                    ParamKind::Boxes { max } => {
                        let boxes = vec![[0.0, 0.0, 0.1, 0.1]; max + 1];
                        assert!(parse(serde_json::json!(boxes[..max])).is_ok());
                        assert!(parse(serde_json::json!(boxes)).is_err());
                    }
                }
                let e = JobParams::parse(function, r#"{"NoSuchKey":1}"#).unwrap_err();
                assert!(e.message().contains(spec.key), "{}", e.message());
            }
        }
    }

    #[test]
    fn known_keys_read_as_a_sentence() {
        assert_eq!(known_keys(FunctionName::Cover), "the keys are Model and Count");
        assert_eq!(
            known_keys(FunctionName::VideoClip),
            "the keys are Duration, MaxSegments and MinSegmentDuration"
        );
        assert_eq!(known_keys(FunctionName::ImageDelogo), "the only key is Logo");
        assert_eq!(known_keys(FunctionName::ImageMatting), "this function takes no JobParams");
    }
}
