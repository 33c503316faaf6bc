//! Configuration, layered: defaults < a TOML file < `IPROD_*` environment variables < flags.
//! `iprod serve --print-config` shows the result.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use iprod_local::EmbeddedConfig;
use iprod_media::EngineSettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServerConfig {
    pub bind: SocketAddr,
    /// Required (as a bearer token) when `bind` is not a loopback address.
    pub api_token: String,
    /// Names (besides IP addresses and `localhost`) clients may call this server by: the `Host`
    /// header must be one of them, which stops DNS-rebinding pages.
    pub allowed_hosts: Vec<String>,
    /// A request's headers must arrive within this many seconds, or the connection is closed.
    pub header_read_timeout_secs: u64,
    /// At most this many connections are open at once; more wait to be accepted.
    pub max_connections: usize,
    /// A file holding the API token (its first line), so the token is in neither `ps` nor the
    /// environment; takes effect when `api_token` is empty (empty: none).
    pub api_token_file: String,
    /// The file that seals tenants' access-key secrets (empty: `<data root>/keys.key`); keep it
    /// out of database backups.
    pub access_key_file: String,
    /// The largest file the console's upload endpoint (`PUT /objects/…`) takes, in bytes.
    pub max_upload_bytes: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_token: String::new(),
            allowed_hosts: Vec::new(),
            header_read_timeout_secs: 10,
            max_connections: 512,
            api_token_file: String::new(),
            access_key_file: String::new(),
            max_upload_bytes: iprod_console::DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    pub server: ServerConfig,
    pub embedded: EmbeddedConfig,
    pub engine: EngineSettings,
}

const MODEL_DIR: &str = "engine.model_dir";

/// `IPROD_*` variables and the config keys they set.
pub(crate) const ENV_KEYS: &[(&str, &str)] = &[
    ("IPROD_BIND", "server.bind"),
    ("IPROD_API_TOKEN", "server.api_token"),
    ("IPROD_API_TOKEN_FILE", "server.api_token_file"),
    ("IPROD_DATA_ROOT", "embedded.data_root"),
    ("IPROD_BUCKETS", "embedded.buckets"),
    ("IPROD_WORKERS", "embedded.workers"),
    ("IPROD_DEFAULT_CONCURRENCY", "embedded.default_concurrency"),
    ("IPROD_LEASE_SECS", "embedded.lease_secs"),
    ("IPROD_MAX_PIPELINES", "embedded.max_pipelines"),
    ("IPROD_RETENTION_DAYS", "embedded.retention_days"),
    ("IPROD_MODEL_DIR", "engine.model_dir"),
    ("IPROD_FFMPEG", "engine.ffmpeg"),
    ("IPROD_FFPROBE", "engine.ffprobe"),
    ("IPROD_INFERENCE_THREADS", "engine.inference_threads"),
    ("IPROD_GPU", "engine.gpu"),
    ("IPROD_JOB_MEMORY_MB", "engine.job_memory_mb"),
];

impl Config {
    /// Builds the configuration from its layers; `overrides` are `key=value` pairs from flags.
    pub(crate) fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &[(String, String)],
    ) -> Result<Self> {
        let mut table = toml::Table::try_from(Config::default()).context("encoding the defaults")?;
        // Whether any layer names the model pack; if none does, it is looked for.
        let mut pack_named = false;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let from_file: toml::Table =
                text.parse().with_context(|| format!("parsing config file {}", path.display()))?;
            pack_named |= from_file.get("engine").and_then(|e| e.get("model_dir")).is_some();
            merge(&mut table, from_file);
        }
        for (var, key) in ENV_KEYS {
            if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                pack_named |= *key == MODEL_DIR;
                set(&mut table, key, &value).with_context(|| format!("applying {var}"))?;
            }
        }
        for (key, value) in overrides {
            pack_named |= key == MODEL_DIR;
            set(&mut table, key, value)?;
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .context("the configuration is not valid (see iprod serve --print-config)")?;
        if !pack_named {
            let executable = std::env::current_exe().ok();
            config.engine.model_dir = crate::model_pack::locate(&env, executable.as_deref());
        }
        Ok(config)
    }

    pub(crate) fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The tenants' access keys of this data root.
    pub(crate) fn key_store(&self) -> Result<iprod_local::keys::KeyStore> {
        let file =
            Some(self.server.access_key_file.trim()).filter(|f| !f.is_empty()).map(std::path::Path::new);
        iprod_local::keys::KeyStore::open(&self.embedded.data_root, file).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The API token: `server.api_token`, else the first line of `server.api_token_file`.
    pub(crate) fn api_token(&self) -> Result<Option<String>> {
        if !self.server.api_token.is_empty() {
            return Ok(Some(self.server.api_token.clone()));
        }
        let path = &self.server.api_token_file;
        if path.is_empty() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read server.api_token_file {path}"))?;
        let token = text.lines().next().unwrap_or("").trim().to_owned();
        if token.is_empty() {
            bail!("server.api_token_file {path} is empty: write the token on its first line");
        }
        Ok(Some(token))
    }

    /// Start-up checks: a missing or unsafe setting fails here, not on the first request.
    pub(crate) fn validate_for_serve(&self) -> Result<()> {
        if !self.server.bind.ip().is_loopback() && self.api_token()?.is_none() {
            bail!(
                "refusing to listen on {} without an API token: set server.api_token_file (IPROD_API_TOKEN_FILE), \
                 server.api_token (IPROD_API_TOKEN or --api-token), or bind 127.0.0.1",
                self.server.bind
            );
        }
        if self.embedded.buckets.is_empty() {
            bail!("no buckets are configured: set embedded.buckets (IPROD_BUCKETS=media,…)");
        }
        Ok(())
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Sets a dotted key from text, keeping the type of the value already there.
fn set(table: &mut toml::Table, dotted: &str, raw: &str) -> Result<()> {
    let (path, leaf) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let mut node = table;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        node = node
            .get_mut(part)
            .and_then(toml::Value::as_table_mut)
            .with_context(|| format!("unknown configuration key {dotted}"))?;
    }
    let value = match node.get(leaf) {
        Some(toml::Value::Integer(_)) => toml::Value::Integer(
            raw.trim().parse().with_context(|| format!("{dotted} must be an integer, got {raw:?}"))?,
        ),
        Some(toml::Value::Boolean(_)) => toml::Value::Boolean(
            raw.trim().parse().with_context(|| format!("{dotted} must be true or false, got {raw:?}"))?,
        ),
        Some(toml::Value::Array(_)) => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.into()))
                .collect(),
        ),
        Some(_) => toml::Value::String(raw.to_owned()),
        None => bail!("unknown configuration key {dotted}"),
    };
    node.insert(leaf.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("iprod.toml");
        std::fs::write(
            &file,
            "[embedded]\nworkers = 3\nbuckets = [\"a\", \"b\"]\n[server]\nbind = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let env = |var: &str| (var == "IPROD_WORKERS").then(|| "5".to_owned());
        let flags = vec![("server.bind".to_owned(), "127.0.0.1:9100".to_owned())];
        let c = Config::load(Some(&file), env, &flags).unwrap();
        assert_eq!(c.embedded.workers, 5, "env beats the file");
        assert_eq!(c.embedded.buckets, ["a", "b"], "the file beats the defaults");
        assert_eq!(c.server.bind.port(), 9100, "flags beat everything");
        assert_eq!(c.embedded.default_concurrency, 10);
    }

    #[test]
    fn bad_values_and_unsafe_binds_are_refused_with_the_key() {
        let env = |var: &str| (var == "IPROD_WORKERS").then(|| "many".to_owned());
        let e = Config::load(None, env, &[]).unwrap_err();
        assert!(format!("{e:#}").contains("embedded.workers"), "{e:#}");
        let open = vec![("server.bind".to_owned(), "0.0.0.0:8080".to_owned())];
        let c = Config::load(None, |_| None, &open).unwrap();
        assert!(c.validate_for_serve().unwrap_err().to_string().contains("api_token"));
    }
}
