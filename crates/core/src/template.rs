//! Output templates: `{source}`, `{timestamp}`, `{sequenceId}` in the key of an object URL.
//!
//! Decision for multi-output jobs whose template lacks `{sequenceId}`: when a job writes more
//! than one output, `_N` (the sequence id) is inserted before the extension of every output, so
//! `cover.jpg` becomes `cover_0.jpg`, `cover_1.jpg`, ... and no output overwrites another. A job
//! that writes one output uses the template as given.

use crate::error::{Error, Result};
use crate::object_url::{ObjectUrl, check_key};

pub const PLACEHOLDERS: [&str; 3] = ["{source}", "{timestamp}", "{sequenceId}"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTemplate {
    url: ObjectUrl,
    /// `s3` or `oss`, as written: results cite outputs the way the client named them.
    scheme: &'static str,
}

impl OutputTemplate {
    pub fn parse(raw: &str) -> Result<Self> {
        let url = ObjectUrl::parse("Output", raw)?;
        let stripped = PLACEHOLDERS.iter().fold(url.key.clone(), |key, p| key.replace(p, ""));
        if let Some(at) = stripped.find(['{', '}']) {
            let shown: String = stripped[at..].chars().take(24).collect();
            return Err(Error::invalid_parameter(
                "Output",
                format!(
                    "Output has an unknown placeholder or stray brace at {shown:?}: only {{source}}, {{timestamp}} and {{sequenceId}} are expanded"
                ),
            ));
        }
        let scheme = if raw.trim_start().starts_with("s3://") { "s3" } else { "oss" };
        Ok(Self { url, scheme })
    }

    /// `url` written with the template's scheme (`s3://bucket/key` or `oss://bucket/key`).
    pub fn cite(&self, url: &ObjectUrl) -> String {
        format!("{}://{}/{}", self.scheme, url.bucket, url.key)
    }

    pub fn bucket(&self) -> &str {
        &self.url.bucket
    }

    pub fn key_template(&self) -> &str {
        &self.url.key
    }

    /// The extension the outputs will have (decides the encoder), if the template names one.
    pub fn extension(&self) -> Option<String> {
        self.url.extension()
    }

    pub fn has_sequence_id(&self) -> bool {
        self.url.key.contains("{sequenceId}")
    }

    /// The object URL of output `index` of `count` for a job on `input` started at `timestamp`.
    pub fn expand(&self, input: &ObjectUrl, timestamp: i64, index: usize, count: usize) -> Result<ObjectUrl> {
        let mut key = self
            .url
            .key
            .replace("{source}", &source_name(input))
            .replace("{timestamp}", &timestamp.to_string())
            .replace("{sequenceId}", &index.to_string());
        if count > 1 && !self.has_sequence_id() {
            key = insert_before_extension(&key, &format!("_{index}"));
        }
        // `{source}` is made safe above; this re-check is the guarantee, not the hope.
        check_key(&key).map_err(|why| {
            Error::invalid_parameter("Output", format!("expanded Output key {key:?} {why}"))
        })?;
        Ok(ObjectUrl { bucket: self.url.bucket.clone(), key })
    }
}

/// The input's file name without its extension, made safe to splice into a key: it can never be
/// empty, `.` or `..`, and never contains `/` (it is a single segment already).
pub fn source_name(input: &ObjectUrl) -> String {
    let name = input.file_name();
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    if stem.chars().all(|c| c == '.') { "source".to_owned() } else { stem.to_owned() }
}

fn insert_before_extension(key: &str, suffix: &str) -> String {
    let name_start = key.rfind('/').map_or(0, |i| i + 1);
    match key[name_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let at = name_start + dot;
            format!("{}{suffix}{}", &key[..at], &key[at..])
        }
        _ => format!("{key}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(key: &str) -> ObjectUrl {
        ObjectUrl { bucket: "in".into(), key: key.into() }
    }

    #[test]
    fn expands_the_three_placeholders() {
        let t = OutputTemplate::parse(
            "oss://out.oss-cn-beijing.aliyuncs.com/v/{source}-{timestamp}-{sequenceId}.jpg",
        )
        .unwrap();
        let u = t.expand(&input("a/b/holiday.mp4"), 1_700_000_000, 2, 3).unwrap();
        assert_eq!(u, ObjectUrl { bucket: "out".into(), key: "v/holiday-1700000000-2.jpg".into() });
    }

    #[test]
    fn outputs_are_cited_in_the_scheme_the_client_wrote() {
        let s3 = OutputTemplate::parse("s3://out/v/{source}.jpg").unwrap();
        assert_eq!(s3.cite(&s3.expand(&input("a.mp4"), 0, 0, 1).unwrap()), "s3://out/v/a.jpg");
        let oss = OutputTemplate::parse("oss://out.oss-cn-beijing.aliyuncs.com/v/{source}.jpg").unwrap();
        assert_eq!(oss.cite(&oss.expand(&input("a.mp4"), 0, 0, 1).unwrap()), "oss://out/v/a.jpg");
    }

    #[test]
    fn multi_output_without_sequence_id_never_overwrites() {
        let t = OutputTemplate::parse("oss://out/c/{source}.jpg").unwrap();
        let keys: Vec<String> = (0..3).map(|i| t.expand(&input("x.mp4"), 0, i, 3).unwrap().key).collect();
        assert_eq!(keys, ["c/x_0.jpg", "c/x_1.jpg", "c/x_2.jpg"]);
        assert_eq!(t.expand(&input("x.mp4"), 0, 0, 1).unwrap().key, "c/x.jpg");
        let bare = OutputTemplate::parse("oss://out/c/cover").unwrap();
        assert_eq!(bare.expand(&input("x.mp4"), 0, 1, 2).unwrap().key, "c/cover_1");
    }

    #[test]
    fn source_can_never_escape() {
        assert_eq!(source_name(&input("d/...mp4")), "source");
        assert_eq!(source_name(&input("d/.mp4")), ".mp4");
        assert_eq!(source_name(&input("d/archive.tar.gz")), "archive.tar");
        let t = OutputTemplate::parse("oss://out/{source}/x.mp4").unwrap();
        assert_eq!(t.expand(&input("d/...mp4"), 0, 0, 1).unwrap().key, "source/x.mp4");
    }

    #[test]
    fn unknown_placeholders_are_rejected() {
        let e = OutputTemplate::parse("oss://out/{name}.mp4").unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.Output");
        assert!(e.message().contains("{name}"), "{}", e.message());
        assert!(OutputTemplate::parse("oss://out/a}.mp4").is_err());
    }
}
