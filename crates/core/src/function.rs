//! The seven functions, spelled exactly as the API spells them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FunctionName {
    VideoH2V,
    VideoDelogo,
    Cover,
    VideoClip,
    ImageMatting,
    ImageH2V,
    ImageDelogo,
}

/// What a function reads: decides which output extensions make sense and which probe applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Video,
    Image,
}

impl FunctionName {
    pub const ALL: [FunctionName; 7] = [
        Self::VideoH2V,
        Self::VideoDelogo,
        Self::Cover,
        Self::VideoClip,
        Self::ImageMatting,
        Self::ImageH2V,
        Self::ImageDelogo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VideoH2V => "VideoH2V",
            Self::VideoDelogo => "VideoDelogo",
            Self::Cover => "Cover",
            Self::VideoClip => "VideoClip",
            Self::ImageMatting => "ImageMatting",
            Self::ImageH2V => "ImageH2V",
            Self::ImageDelogo => "ImageDelogo",
        }
    }

    pub fn input_kind(self) -> MediaKind {
        match self {
            Self::VideoH2V | Self::VideoDelogo | Self::Cover | Self::VideoClip => MediaKind::Video,
            Self::ImageMatting | Self::ImageH2V | Self::ImageDelogo => MediaKind::Image,
        }
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FunctionName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|f| f.as_str()).collect();
            Error::invalid_parameter(
                "FunctionName",
                format!("unknown FunctionName {s:?}: use one of {}", known.join(", ")),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_spelling_only() {
        for f in FunctionName::ALL {
            assert_eq!(f.as_str().parse::<FunctionName>().unwrap(), f);
        }
        let err = "videoh2v".parse::<FunctionName>().unwrap_err();
        assert_eq!(err.code(), "InvalidParameter.FunctionName");
        assert!(err.message().contains("VideoH2V"), "{}", err.message());
    }
}
