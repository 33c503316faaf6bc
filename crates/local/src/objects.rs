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

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    pub modified: std::time::SystemTime,
}

/// What is under a prefix, one level deep (as S3's `delimiter=/` answers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub objects: Vec<ListedObject>,
    /// The "folders" one level down, each ending in `/`.
    pub prefixes: Vec<String>,
    /// More entries matched than `limit`.
    pub truncated: bool,
}

impl DirObjectStore {
    /// Opens `url` for reading (its length with it); a missing object is `NotFound.Object`.
    pub async fn open(&self, url: &ObjectUrl) -> Result<(tokio::fs::File, u64)> {
        let io = |e: std::io::Error| Error::transient("Storage", format!("cannot read {url}")).with_source(e);
        if let Some(link) = self.link_on_path(url, true).await.map_err(io)? {
            return Err(linked(url, &link, &self.root));
        }
        let missing = || Error::not_found("Object", format!("{url} does not exist"));
        let file = match tokio::fs::File::open(self.path_of(url)).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            Err(e) => return Err(io(e)),
        };
        let meta = file.metadata().await.map_err(io)?;
        if !meta.is_file() {
            return Err(missing());
        }
        Ok((file, meta.len()))
    }

    /// The objects and folders directly under `prefix` in `bucket`, sorted by key, at most
    /// `limit` of them. A prefix not ending in `/` matches the start of names in its folder.
    /// Links and the store's own temporary files are left out.
    pub async fn list(&self, bucket: &str, prefix: &str, limit: usize) -> Result<Listing> {
        let (folder, start) = prefix.rsplit_once('/').map_or(("", prefix), |(f, s)| (f, s));
        let bad = |why: &str| Error::invalid_parameter("Prefix", format!("Prefix {prefix:?} {why}"));
        if prefix.starts_with('/') || folder.split('/').any(|s| s == ".." || s == ".") {
            return Err(bad("must be a key prefix such as in/ (no leading /, no . or .. segments)"));
        }
        if !folder.is_empty() && folder.split('/').any(str::is_empty) {
            return Err(bad("has an empty segment (//)"));
        }
        let dir = self.root.join(bucket).join(folder);
        let base = if folder.is_empty() { String::new() } else { format!("{folder}/") };
        if !folder.is_empty() {
            let probe = ObjectUrl { bucket: bucket.to_owned(), key: format!("{folder}/x") };
            if self.link_on_path(&probe, false).await.unwrap_or(None).is_some() {
                return Ok(Listing::default());
            }
        }
        let io = |e: std::io::Error| {
            Error::transient("Storage", format!("cannot list oss://{bucket}/{prefix}")).with_source(e)
        };
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
            Err(e) => return Err(io(e)),
        };
        let mut listing = Listing::default();
        let mut found = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            let Ok(name) = entry.file_name().into_string() else { continue };
            if name.starts_with(".iprod-") || !name.starts_with(start) {
                continue;
            }
            let meta = entry.metadata().await.map_err(io)?;
            found.push((name, meta));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, meta) in found {
            if listing.objects.len() + listing.prefixes.len() == limit {
                listing.truncated = true;
                break;
            }
            if meta.is_dir() {
                listing.prefixes.push(format!("{base}{name}/"));
            } else if meta.is_file() {
                let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                listing.objects.push(ListedObject {
                    key: format!("{base}{name}"),
                    size: meta.len(),
                    modified,
                });
            }
        }
        Ok(listing)
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
    async fn listings_show_one_level_under_a_prefix_without_links_or_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirObjectStore::new(dir.path().join("buckets"), ["media"]).unwrap();
        let bucket = dir.path().join("buckets/media");
        std::fs::create_dir_all(bucket.join("in/deep")).unwrap();
        std::fs::write(bucket.join("in/b.mp4"), b"12345").unwrap();
        std::fs::write(bucket.join("in/a.png"), b"1").unwrap();
        std::fs::write(bucket.join("in/.iprod-x.tmp"), b"partial").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", bucket.join("in/link")).unwrap();
        let all = store.list("media", "in/", 100).await.unwrap();
        let keys: Vec<&str> = all.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["in/a.png", "in/b.mp4"]);
        assert_eq!(all.objects[1].size, 5);
        assert_eq!(all.prefixes, ["in/deep/"]);
        let top = store.list("media", "", 100).await.unwrap();
        assert_eq!((top.objects.len(), top.prefixes.clone()), (0, vec!["in/".to_owned()]));
        let started = store.list("media", "in/b", 100).await.unwrap();
        assert_eq!(started.objects.len(), 1);
        let capped = store.list("media", "in/", 1).await.unwrap();
        assert!(capped.truncated && capped.objects.len() == 1);
        assert!(store.list("media", "nothing/", 10).await.unwrap().objects.is_empty());
        assert_eq!(store.list("media", "../x/", 10).await.unwrap_err().code(), "InvalidParameter.Prefix");
        let (_, len) =
            store.open(&ObjectUrl { bucket: "media".into(), key: "in/b.mp4".into() }).await.unwrap();
        assert_eq!(len, 5);
        let e = store.open(&ObjectUrl { bucket: "media".into(), key: "in/link".into() }).await.unwrap_err();
        assert_eq!(e.code(), "InvalidInput.Link");
        let e = store.open(&ObjectUrl { bucket: "media".into(), key: "in/deep".into() }).await.unwrap_err();
        assert_eq!(e.code(), "NotFound.Object");
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
