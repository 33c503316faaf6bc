//! Object URLs: `oss://bucket.oss-region.aliyuncs.com/key`, `oss://bucket/key`, `s3://bucket/key`.
//!
//! Keys are checked here once so every adapter (a directory per bucket, S3) can trust them: no
//! empty, `.` or `..` segments, no leading `/`, no backslashes or control characters.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const MAX_KEY_BYTES: usize = 1024;
/// One segment of a key (a file or directory name) is at most this long: file systems refuse
/// longer names, and the storage error they give would be retried as if it could pass.
pub const MAX_SEGMENT_BYTES: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectUrl {
    pub bucket: String,
    pub key: String,
}

impl ObjectUrl {
    /// Parses `raw`; `field` (`Input`, `Output`) names the request field in errors.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::invalid_parameter(
                field,
                format!(
                    "{field} {raw:?} {why}: use oss://bucket.oss-region.aliyuncs.com/path, oss://bucket/path or s3://bucket/path"
                ),
            )
        };
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| bad("is not an object URL"))?;
        let (host, key) = rest.split_once('/').ok_or_else(|| bad("has no object key"))?;
        let bucket = match scheme {
            // The OSS endpoint form puts the bucket in the first label of the host.
            "oss" => host.split_once('.').map_or(host, |(bucket, _endpoint)| bucket),
            "s3" => host,
            _ => return Err(bad("has an unsupported scheme")),
        };
        check_bucket(bucket).map_err(|why| bad(&why))?;
        check_key(key).map_err(|why| bad(&why))?;
        Ok(Self { bucket: bucket.to_owned(), key: key.to_owned() })
    }

    /// The last path segment of the key.
    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }

    /// The extension of the key's file name, lowercase, without the dot.
    pub fn extension(&self) -> Option<String> {
        let name = self.file_name();
        let (stem, ext) = name.rsplit_once('.')?;
        (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oss://{}/{}", self.bucket, self.key)
    }
}

fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    let ok_chars =
        bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ok_ends = bucket.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bucket.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && ok_chars && ok_ends && !bucket.contains("..") {
        Ok(())
    } else {
        Err(format!(
            "has an invalid bucket name {bucket:?} (3-63 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit)"
        ))
    }
}

/// Checks a key (also used on keys produced by template expansion).
pub fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("has an empty object key".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("has a key longer than {MAX_KEY_BYTES} bytes"));
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return Err("has a control character or backslash in its key".into());
    }
    if key.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err("has an empty, '.' or '..' segment in its key".into());
    }
    if let Some(long) = key.split('/').find(|segment| segment.len() > MAX_SEGMENT_BYTES) {
        return Err(format!(
            "has a key segment of {} bytes ({}…); a file or directory name is at most {MAX_SEGMENT_BYTES} bytes",
            long.len(),
            long.chars().take(24).collect::<String>()
        ));
    }
    Ok(())
}

/// The buckets jobs may read and write. Every adapter sees only these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketAllowList(BTreeSet<String>);

impl BucketAllowList {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(buckets: I) -> Self {
        Self(buckets.into_iter().map(Into::into).collect())
    }

    pub fn check(&self, field: &str, url: &ObjectUrl) -> Result<()> {
        if self.0.contains(&url.bucket) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.0.iter().map(String::as_str).collect();
        Err(Error::invalid_parameter(
            field,
            format!(
                "{field} bucket {:?} is not allowed on this service; allowed buckets: {}",
                url.bucket,
                if allowed.is_empty() { "none configured".to_owned() } else { allowed.join(", ") }
            ),
        ))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> ObjectUrl {
        ObjectUrl::parse("Input", raw).unwrap()
    }

    #[test]
    fn three_forms_parse_to_bucket_and_key() {
        let expected = ObjectUrl { bucket: "media".into(), key: "in/a b.mp4".into() };
        assert_eq!(url("oss://media.oss-cn-shanghai.aliyuncs.com/in/a b.mp4"), expected);
        assert_eq!(url("oss://media/in/a b.mp4"), expected);
        assert_eq!(url("s3://media/in/a b.mp4"), expected);
        assert_eq!(url("s3://my.dotted.bucket/k").bucket, "my.dotted.bucket");
    }

    #[test]
    fn rejects_bad_urls_naming_the_field() {
        for raw in [
            "http://media/in.mp4",
            "oss://media",
            "oss://media/",
            "oss://media/a/../b.mp4",
            "oss://media/./b.mp4",
            "oss://media//b.mp4",
            "oss://Media/b.mp4",
            "oss://me/b.mp4",
            "media/b.mp4",
            "oss://media/a\\b",
        ] {
            let e = ObjectUrl::parse("Output", raw).unwrap_err();
            assert_eq!(e.code(), "InvalidParameter.Output", "{raw}");
            assert!(e.message().contains("Output"), "{raw}: {}", e.message());
        }
    }

    #[test]
    fn allow_list_names_the_bucket() {
        let allowed = BucketAllowList::new(["media"]);
        allowed.check("Input", &url("oss://media/x.mp4")).unwrap();
        let e = allowed.check("Input", &url("oss://other/x.mp4")).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter.Input");
        assert!(e.message().contains("\"other\"") && e.message().contains("media"));
    }

    #[test]
    fn file_name_and_extension() {
        let u = url("oss://media/dir/Clip.Final.MP4");
        assert_eq!(u.file_name(), "Clip.Final.MP4");
        assert_eq!(u.extension().as_deref(), Some("mp4"));
        assert_eq!(url("oss://media/dir/.hidden").extension(), None);
    }
}
