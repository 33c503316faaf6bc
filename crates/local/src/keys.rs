//! Tenants' access keys in embedded mode: `keys.sqlite` under the data root, read on every
//! request (so keys added by `iprod keys` while the server runs count at once), each secret
//! encrypted with ChaCha20-Poly1305 under a key file kept outside the database
//! (`<data root>/keys.key` unless configured, created 0600 with the first key): a copy of the
//! database alone gives no secret away.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use iprod_core::access::{AccessKey, AccessKeys, KeyInfo, NonceMemory};
use iprod_core::{Error, Result, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS access_keys (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    secret BLOB NOT NULL,
    enabled INTEGER NOT NULL,
    created INTEGER NOT NULL
)";

pub struct KeyStore {
    conn: Mutex<Connection>,
    key_file: PathBuf,
    /// The sealing key once read: signed requests would otherwise read the file each time.
    cipher: Mutex<Option<ChaCha20Poly1305>>,
    nonces: NonceMemory,
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::transient("Database", "the access-key database could not be used").with_source(e)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(16) {
        chunk.copy_from_slice(&uuid::Uuid::new_v4().into_bytes()[..chunk.len()]);
    }
    out
}

impl KeyStore {
    /// Opens `keys.sqlite` under `data_root`; secrets are sealed with `key_file`.
    pub fn open(data_root: &Path, key_file: Option<&Path>) -> Result<Self> {
        std::fs::create_dir_all(data_root)
            .map_err(|e| Error::internal(format!("cannot create {}", data_root.display())).with_source(e))?;
        let conn = Connection::open(data_root.join("keys.sqlite")).map_err(db_error)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;").map_err(db_error)?;
        conn.execute_batch(SCHEMA).map_err(db_error)?;
        let key_file = key_file.map_or_else(|| data_root.join("keys.key"), Path::to_owned);
        Ok(Self {
            conn: Mutex::new(conn),
            key_file,
            cipher: Mutex::default(),
            nonces: NonceMemory::default(),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| Error::internal("the access-key database lock was poisoned"))
    }

    /// The sealing key; created (0600) when `create` and missing.
    fn cipher(&self, create: bool) -> Result<ChaCha20Poly1305> {
        if let Some(known) = self.cipher.lock().ok().and_then(|c| c.clone()) {
            return Ok(known);
        }
        let bytes = match std::fs::read(&self.key_file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let fresh = random_bytes::<32>();
                write_private(&self.key_file, &fresh)?;
                fresh.to_vec()
            }
            Err(e) => {
                return Err(Error::internal(format!(
                    "cannot read the access-key file {}: the keys' secrets cannot be opened without it",
                    self.key_file.display()
                ))
                .with_source(e));
            }
        };
        if bytes.len() != 32 {
            return Err(Error::internal(format!("{} is not a 32-byte key file", self.key_file.display())));
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&bytes));
        if let Ok(mut cache) = self.cipher.lock() {
            *cache = Some(cipher.clone());
        }
        Ok(cipher)
    }

    /// A new key for `tenant`: its id and secret (shown once).
    pub fn add(&self, tenant: &str) -> Result<(String, String)> {
        iprod_core::tenant::check_tenant(tenant)?;
        let (id, secret) = iprod_core::access::new_key();
        let nonce = random_bytes::<12>();
        let sealed = self
            .cipher(true)?
            .encrypt(Nonce::from_slice(&nonce), secret.as_bytes())
            .map_err(|_| Error::internal("sealing the secret failed"))?;
        let stored = [nonce.as_slice(), &sealed].concat();
        self.conn()?
            .execute(
                "INSERT INTO access_keys (id, tenant, secret, enabled, created) VALUES (?1, ?2, ?3, 1, ?4)",
                params![id, tenant, stored, Timestamp::now().millis()],
            )
            .map_err(db_error)?;
        Ok((id, secret))
    }

    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT id, tenant, enabled, created FROM access_keys ORDER BY created")
            .map_err(db_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(KeyInfo {
                    access_key_id: r.get(0)?,
                    tenant: r.get(1)?,
                    enabled: r.get::<_, i64>(2)? != 0,
                    create_time: Timestamp::from_millis(r.get(3)?).rfc3339(),
                })
            })
            .map_err(db_error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db_error)
    }

    /// Enables or disables a key; `NotFound.AccessKey` for an unknown id.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<()> {
        let changed = self
            .conn()?
            .execute("UPDATE access_keys SET enabled = ?2 WHERE id = ?1", params![id, i64::from(enabled)])
            .map_err(db_error)?;
        if changed == 0 { Err(unknown(id)) } else { Ok(()) }
    }

    pub fn delete(&self, id: &str) -> Result<()> {
        let changed =
            self.conn()?.execute("DELETE FROM access_keys WHERE id = ?1", [id]).map_err(db_error)?;
        if changed == 0 { Err(unknown(id)) } else { Ok(()) }
    }
}

fn unknown(id: &str) -> Error {
    Error::not_found("AccessKey", format!("no access key {id:?}: `iprod keys list` shows them"))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| Error::internal(format!("cannot write {}", path.display())).with_source(e);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[async_trait]
impl AccessKeys for KeyStore {
    async fn any(&self) -> Result<bool> {
        self.conn()?
            .query_row("SELECT EXISTS (SELECT 1 FROM access_keys)", [], |r| r.get(0))
            .map_err(db_error)
    }

    async fn key(&self, id: &str) -> Result<Option<AccessKey>> {
        let row: Option<(String, Vec<u8>, i64)> = self
            .conn()?
            .query_row("SELECT tenant, secret, enabled FROM access_keys WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(db_error)?;
        let Some((tenant, stored, enabled)) = row else { return Ok(None) };
        if stored.len() < 12 {
            return Err(Error::internal(format!("the stored secret of {id} is damaged")));
        }
        let (nonce, sealed) = stored.split_at(12);
        let secret = self.cipher(false)?.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| {
            Error::internal(format!("the secret of {id} does not open with {}", self.key_file.display()))
        })?;
        let secret = String::from_utf8(secret).map_err(|_| Error::internal("a stored secret is not text"))?;
        Ok(Some(AccessKey { id: id.to_owned(), secret, tenant, enabled: enabled != 0 }))
    }

    async fn first_use(&self, id: &str, nonce: &str, now: i64) -> Result<bool> {
        Ok(self.nonces.first_use(id, nonce, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_added_listed_disabled_and_their_secrets_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path(), None).unwrap();
        assert!(!store.any().await.unwrap());
        let (id, secret) = store.add("acme").unwrap();
        assert!(id.starts_with("LTAI") && secret.len() == 30);
        assert_eq!(store.key(&id).await.unwrap().unwrap().secret, secret);
        // The database alone does not hold the secret.
        let raw = std::fs::read(dir.path().join("keys.sqlite")).unwrap();
        assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("keys.key")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        store.set_enabled(&id, false).unwrap();
        assert!(!store.key(&id).await.unwrap().unwrap().enabled);
        assert_eq!(store.list().unwrap()[0].tenant, "acme");
        // Without the key file the secrets stay shut (for a process that has not read it yet).
        std::fs::remove_file(dir.path().join("keys.key")).unwrap();
        assert!(KeyStore::open(dir.path(), None).unwrap().key(&id).await.is_err());
        store.delete(&id).unwrap();
        assert_eq!(store.delete(&id).unwrap_err().code(), "NotFound.AccessKey");
        assert_eq!(store.add("no spaces please").unwrap_err().code(), "InvalidParameter.Tenant");
    }
}
