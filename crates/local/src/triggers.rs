//! Upload-triggered processing: a rule (bucket + key prefix → function, output, params, pipeline)
//! submits a job when a file lands under the prefix.
//!
//! Files are found by scanning (no inotify dependency, works on any filesystem). A file is
//! submitted once its size and modification time held still for one scan, so a file still being
//! copied in is not processed half-written. Each submit carries a ClientToken derived from the
//! file's identity, so a restart never submits the same upload twice.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use iprod_core::Timestamp;
use iprod_core::object_url::ObjectUrl;
use iprod_core::service::JobService;
use iprod_core::trigger::TriggerRule;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tracing::{info, warn};

type FileIdentity = (u64, u128);

pub struct TriggerWatcher {
    pub rules: Vec<TriggerRule>,
    pub buckets_root: PathBuf,
    pub service: Arc<JobService>,
    pub interval: Duration,
}

impl TriggerWatcher {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut last_seen: Vec<HashMap<String, FileIdentity>> = vec![HashMap::new(); self.rules.len()];
        let mut submitted: HashSet<(usize, String, FileIdentity)> = HashSet::new();
        loop {
            for (index, rule) in self.rules.iter().enumerate() {
                let root = self.buckets_root.join(&rule.bucket);
                let prefix = rule.prefix.clone();
                let scan =
                    tokio::task::spawn_blocking(move || scan(&root, &prefix)).await.unwrap_or_default();
                for (key, identity) in &scan {
                    let stable = last_seen[index].get(key) == Some(identity);
                    if stable && !submitted.contains(&(index, key.clone(), *identity)) {
                        self.submit(rule, key, *identity).await;
                        submitted.insert((index, key.clone(), *identity));
                    }
                }
                last_seen[index] = scan;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn submit(&self, rule: &TriggerRule, key: &str, identity: FileIdentity) {
        let input = format!("oss://{}/{key}", rule.bucket);
        if let Err(e) = ObjectUrl::parse("Input", &input) {
            warn!(%input, error = %e, "upload ignored: its key cannot be an object key");
            return;
        }
        let token = Sha256::digest(format!("{}\0{key}\0{}\0{}", rule.bucket, identity.0, identity.1));
        let request = rule.request(&input, &hex::encode(token));
        match self.service.submit(request, Timestamp::now(), &iprod_core::tenant::Scope::All).await {
            Ok(job) => info!(%input, job = %job.id, "upload submitted a job"),
            Err(e) => warn!(%input, error = %e, "upload could not be submitted"),
        }
    }
}

/// Files under `root` whose key starts with `prefix`, skipping hidden names (temp files).
fn scan(root: &Path, prefix: &str) -> HashMap<String, FileIdentity> {
    let start_dir = prefix.rfind('/').map_or(String::new(), |i| prefix[..i].to_owned());
    let mut found = HashMap::new();
    let mut pending = vec![root.join(&start_dir)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                let Ok(rel) = path.strip_prefix(root) else {
                    continue;
                };
                let key =
                    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                if key.starts_with(prefix) {
                    let mtime = meta
                        .modified()
                        .ok()
                        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    found.insert(key, (meta.len(), mtime));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_files_under_the_prefix_only_and_skips_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        for rel in ["in/a.jpg", "in/sub/b.jpg", "in/.c.tmp", "other/d.jpg", "inbox.jpg"] {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let mut keys: Vec<String> = scan(dir.path(), "in/").into_keys().collect();
        keys.sort();
        assert_eq!(keys, ["in/a.jpg", "in/sub/b.jpg"]);
        assert_eq!(scan(dir.path(), "in").len(), 3, "a bare prefix also matches inbox.jpg");
    }
}
