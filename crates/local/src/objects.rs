//! The embedded object store: one directory per allowed bucket under `<data root>/buckets`.
//! Writes go to a hidden temp file in the same directory and are renamed into place, so a reader
//! (or an upload trigger) sees the old object or the whole new one, never half of it.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use iprod_core::object_url::ObjectUrl;
use iprod_core::ports::{ObjectStore, too_large};
use iprod_core::{Error, Result};

#[derive(Debug, Clone)]
pub struct DirObjectStore {
    root: PathBuf,
}

impl DirObjectStore {
    /// Creates the bucket directories so users see where to put inputs.
    pub fn new<'a>(root: PathBuf, buckets: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        for bucket in buckets {
            std::fs::create_dir_all(root.join(bucket)).map_err(|e| {
                Error::internal(format!("cannot create bucket directory under {}", root.display()))
                    .with_source(e)
            })?;
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file behind `url`. Keys were checked by the core (no `..`, no empty segments).
    pub fn path_of(&self, url: &ObjectUrl) -> PathBuf {
        self.root.join(&url.bucket).join(&url.key)
    }

    /// The first symbolic link on the way from the bucket's directory to `url` (its directories,
    /// and its file when `with_file`), if any. Links are never followed: a link in a bucket
    /// could point reads and writes anywhere on the machine.
    async fn link_on_path(&self, url: &ObjectUrl, with_file: bool) -> std::io::Result<Option<PathBuf>> {
        let mut path = self.root.join(&url.bucket);
        let segments: Vec<&str> = url.key.split('/').collect();
        let upto = if with_file { segments.len() } else { segments.len() - 1 };
        for segment in &segments[..upto] {
            path.push(segment);
            match tokio::fs::symlink_metadata(&path).await {
                Ok(meta) if meta.file_type().is_symlink() => return Ok(Some(path)),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// The refusal of a key that passes through a symbolic link.
fn linked(url: &ObjectUrl, link: &Path, root: &Path) -> Error {
    let shown = link.strip_prefix(root).unwrap_or(link).display().to_string();
    Error::invalid_input(
        "Link",
        format!(
            "{url} passes through the symbolic link {shown}: links in buckets are not followed; store the file itself"
        ),
    )
}

#[async_trait]
impl ObjectStore for DirObjectStore {
    async fn fetch(&self, url: &ObjectUrl, dest: &Path, max_bytes: u64) -> Result<u64> {
        let src = self.path_of(url);
        let io = |e: std::io::Error| Error::transient("Storage", format!("cannot read {url}")).with_source(e);
        if let Some(link) = self.link_on_path(url, true).await.map_err(io)? {
            return Err(linked(url, &link, &self.root));
        }
        match tokio::fs::metadata(&src).await {
            Ok(meta) if meta.is_file() && meta.len() > max_bytes => {
                return Err(too_large(url, meta.len(), max_bytes));
            }
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(Error::invalid_input("NotFound", format!("the input {url} is not a file")));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::invalid_input("NotFound", format!("the input {url} does not exist")));
            }
            Err(e) => {
                return Err(Error::transient("Storage", format!("cannot read {url}")).with_source(e));
            }
        }
        tokio::fs::copy(&src, dest)
            .await
            .map_err(|e| Error::transient("Storage", format!("cannot read {url}")).with_source(e))
    }

    async fn store(&self, url: &ObjectUrl, src: &Path) -> Result<()> {
        let dest = self.path_of(url);
        let parent =
            dest.parent().ok_or_else(|| Error::internal(format!("{url} has no parent directory")))?;
        let io =
            |e: std::io::Error| Error::transient("Storage", format!("cannot write {url}")).with_source(e);
        // A linked directory on the way would put the file outside the bucket; a link at the
        // file's own name is replaced by the rename below, never written through.
        if let Some(link) = self.link_on_path(url, false).await.map_err(io)? {
            return Err(linked(url, &link, &self.root));
        }
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
        let temp = parent.join(format!(".iprod-{}.tmp", uuid::Uuid::new_v4().simple()));
        let written = async {
            tokio::fs::copy(src, &temp).await?;
            tokio::fs::File::open(&temp).await?.sync_all().await?;
            tokio::fs::rename(&temp, &dest).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        written.map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn store_then_fetch_round_trips_and_missing_input_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirObjectStore::new(dir.path().join("buckets"), ["media"]).unwrap();
        let src = dir.path().join("src.bin");
        std::fs::write(&src, b"frame data").unwrap();
        let url = ObjectUrl { bucket: "media".into(), key: "out/deep/x.bin".into() };
        store.store(&url, &src).await.unwrap();
        let back = dir.path().join("back.bin");
        assert_eq!(store.fetch(&url, &back, u64::MAX).await.unwrap(), 10);
        assert_eq!(std::fs::read(&back).unwrap(), b"frame data");
        let leftovers: Vec<_> =
            std::fs::read_dir(dir.path().join("buckets/media/out/deep")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
        let missing = ObjectUrl { bucket: "media".into(), key: "nope.mp4".into() };
        let e = store.fetch(&missing, &back, u64::MAX).await.unwrap_err();
        assert_eq!(e.code(), "InvalidInput.NotFound");
        assert!(e.message().contains("nope.mp4"));
    }

    #[tokio::test]
    async fn symbolic_links_in_a_bucket_are_not_followed_for_reads_or_writes() {
        // GIVEN a secret outside the buckets, and links to it and to its directory in a bucket
        let dir = tempfile::tempdir().unwrap();
        let store = DirObjectStore::new(dir.path().join("buckets"), ["media"]).unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.mp4"), b"secret").unwrap();
        let bucket = dir.path().join("buckets/media");
        std::os::unix::fs::symlink(outside.join("secret.mp4"), bucket.join("file-link.mp4")).unwrap();
        std::os::unix::fs::symlink(&outside, bucket.join("dir-link")).unwrap();
        let back = dir.path().join("back.bin");
        // THEN reading through either link is refused, naming the link
        for key in ["file-link.mp4", "dir-link/secret.mp4"] {
            let url = ObjectUrl { bucket: "media".into(), key: key.into() };
            let e = store.fetch(&url, &back, u64::MAX).await.unwrap_err();
            assert_eq!(e.code(), "InvalidInput.Link", "{key}");
            assert!(e.message().contains("symbolic link"), "{}", e.message());
        }
        assert!(!back.exists());
        // AND writing into a linked directory is refused, leaving the outside untouched
        let src = dir.path().join("src.bin");
        std::fs::write(&src, b"new").unwrap();
        let into = ObjectUrl { bucket: "media".into(), key: "dir-link/planted.mp4".into() };
        assert_eq!(store.store(&into, &src).await.unwrap_err().code(), "InvalidInput.Link");
        assert!(!outside.join("planted.mp4").exists());
        // AND writing at a link's own name replaces the link, not the file it pointed to
        let over = ObjectUrl { bucket: "media".into(), key: "file-link.mp4".into() };
        store.store(&over, &src).await.unwrap();
        assert_eq!(std::fs::read(outside.join("secret.mp4")).unwrap(), b"secret");
        assert_eq!(std::fs::read(bucket.join("file-link.mp4")).unwrap(), b"new");
    }
}
