//! The embedded object store: one directory per allowed bucket under `<data root>/buckets`.
//! Writes go to a hidden temp file in the same directory and are renamed into place, so a reader
//! (or an upload trigger) sees the old object or the whole new one, never half of it.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use iprod_core::object_url::ObjectUrl;
use iprod_core::ports::ObjectStore;
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
}

#[async_trait]
impl ObjectStore for DirObjectStore {
    async fn fetch(&self, url: &ObjectUrl, dest: &Path) -> Result<u64> {
        let src = self.path_of(url);
        match tokio::fs::metadata(&src).await {
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
        assert_eq!(store.fetch(&url, &back).await.unwrap(), 10);
        assert_eq!(std::fs::read(&back).unwrap(), b"frame data");
        let leftovers: Vec<_> =
            std::fs::read_dir(dir.path().join("buckets/media/out/deep")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file is left behind");
        let missing = ObjectUrl { bucket: "media".into(), key: "nope.mp4".into() };
        let e = store.fetch(&missing, &back).await.unwrap_err();
        assert_eq!(e.code(), "InvalidInput.NotFound");
        assert!(e.message().contains("nope.mp4"));
    }
}
