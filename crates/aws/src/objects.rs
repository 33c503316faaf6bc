//! `ObjectStore` on S3. `oss://bucket/key` and `s3://bucket/key` both name S3 bucket `bucket`
//! (the core parsed and allow-listed them). Inputs stream to the job's directory chunk by chunk;
//! outputs above one part go up as a multipart upload, aborted if any part fails, so a half
//! upload never becomes an object.

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use iprod_core::object_url::ObjectUrl;
use iprod_core::ports::{ObjectStore, too_large};
use iprod_core::{Error, Result};
use tokio::io::AsyncWriteExt;

use crate::sdk_error::transient;

/// The part size of multipart uploads. S3 takes at most 10,000 parts of at least 5 MiB (all but
/// the last): 16 MiB parts carry outputs up to about 160 GB, and smaller outputs go up in one PUT.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: Client,
    part_size: u64,
}

impl S3ObjectStore {
    pub fn new(client: Client) -> Self {
        Self { client, part_size: DEFAULT_PART_SIZE }
    }

    /// Outputs larger than `part_size` are uploaded in parts of that size (at least 5 MiB).
    pub fn with_part_size(mut self, part_size: u64) -> Self {
        self.part_size = part_size.max(5 * 1024 * 1024);
        self
    }

    async fn put_multipart(&self, url: &ObjectUrl, src: &Path, len: u64) -> Result<()> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&url.bucket)
            .key(&url.key)
            .send()
            .await
            .map_err(|e| transient("Storage", format!("starting the upload of {url}"), e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| Error::transient("Storage", format!("S3 gave no upload id for {url}")))?
            .to_owned();
        let uploaded = self.upload_parts(url, src, len, &upload_id).await;
        let finished = match uploaded {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&url.bucket)
                .key(&url.key)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| transient("Storage", format!("finishing the upload of {url}"), e)),
            Err(e) => Err(e),
        };
        if finished.is_err() {
            // Parts of an abandoned upload are billed until aborted.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&url.bucket)
                .key(&url.key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        finished
    }

    async fn upload_parts(
        &self,
        url: &ObjectUrl,
        src: &Path,
        len: u64,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>> {
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut number = 1;
        while offset < len {
            let size = self.part_size.min(len - offset);
            let body = ByteStream::read_from()
                .path(src)
                .offset(offset)
                .length(Length::Exact(size))
                .build()
                .await
                .map_err(|e| {
                    Error::transient("Storage", format!("cannot read {}", src.display())).with_source(e)
                })?;
            let part = self
                .client
                .upload_part()
                .bucket(&url.bucket)
                .key(&url.key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body)
                .send()
                .await
                .map_err(|e| transient("Storage", format!("uploading part {number} of {url}"), e))?;
            parts.push(CompletedPart::builder().part_number(number).set_e_tag(part.e_tag).build());
            offset += size;
            number += 1;
        }
        Ok(parts)
    }
}

/// Whether the scratch file system has room for an input of `size` bytes and outputs of about
/// the same size. On Lambda `/tmp` is the function's ephemeral storage (512 MB unless configured):
/// an input that cannot fit fails at once with what to change, instead of filling `/tmp` and
/// being retried until its attempts run out.
fn check_room(dest: &Path, size: u64) -> Result<()> {
    let dir = dest.parent().unwrap_or(dest);
    let Some(free) = free_bytes(dir) else { return Ok(()) };
    let needed = size.saturating_mul(2);
    if needed > free {
        return Err(Error::new(
            iprod_core::ErrorClass::Internal,
            "InternalError.ScratchSpace",
            format!(
                "the input is {size} bytes and its outputs need about as much again, but {} has {free} bytes free: \
                 give the process function more EphemeralStorage (up to 10240 MB), or run the job on a worker host",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Free bytes on the file system holding `dir`, for an unprivileged writer.
fn free_bytes(dir: &Path) -> Option<u64> {
    let stats = rustix::fs::statvfs(dir).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn fetch(&self, url: &ObjectUrl, dest: &Path, max_bytes: u64) -> Result<u64> {
        let object = match self.client.get_object().bucket(&url.bucket).key(&url.key).send().await {
            Ok(object) => object,
            Err(e) => {
                let e = e.into_service_error();
                let missing = matches!(e, GetObjectError::NoSuchKey(_))
                    || aws_sdk_s3::error::ProvideErrorMetadata::code(&e) == Some("NoSuchBucket");
                if missing {
                    return Err(Error::invalid_input("NotFound", format!("the input {url} does not exist")));
                }
                return Err(transient("Storage", format!("cannot read {url}"), e));
            }
        };
        // The size comes with the response headers: a refused object's body is dropped unread.
        let size = object.content_length().unwrap_or(0).max(0) as u64;
        if size > max_bytes {
            return Err(too_large(url, size, max_bytes));
        }
        check_room(dest, size)?;
        let io = |e: std::io::Error| {
            Error::transient("Storage", format!("cannot write {}", dest.display())).with_source(e)
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
        let mut body = object.body;
        let mut written = 0;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| Error::transient("Storage", format!("reading {url} broke off")).with_source(e))?
        {
            written += chunk.len() as u64;
            if written > max_bytes {
                return Err(too_large(url, written, max_bytes));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(written)
    }

    async fn store(&self, url: &ObjectUrl, src: &Path) -> Result<()> {
        let len = tokio::fs::metadata(src)
            .await
            .map_err(|e| Error::internal(format!("cannot read the output {}", src.display())).with_source(e))?
            .len();
        if len > self.part_size {
            return self.put_multipart(url, src, len).await;
        }
        let body = ByteStream::from_path(src).await.map_err(|e| {
            Error::internal(format!("cannot read the output {}", src.display())).with_source(e)
        })?;
        self.client
            .put_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .body(body)
            .send()
            .await
            .map_err(|e| transient("Storage", format!("cannot write {url}"), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_that_cannot_fit_in_scratch_is_refused_with_what_to_change() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("input");
        assert!(check_room(&dest, 1024).is_ok());
        let e = check_room(&dest, u64::MAX / 4).unwrap_err();
        assert_eq!(e.code(), "InternalError.ScratchSpace");
        assert!(e.message().contains("EphemeralStorage"), "{}", e.message());
        assert!(!e.is_retryable(), "another attempt would not fit either");
    }
}
