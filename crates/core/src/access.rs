//! Tenants' access keys, as the request verifier needs them: the port the key stores implement
//! (a SQLite file embedded, the table on AWS), and the memory of used signature nonces.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::Result;

/// How far a signed request's timestamp may be from the server's clock; a nonce is remembered
/// for twice that.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// A new key's id and secret, in the cloud's form (`LTAI` + 20 characters; a 30-character
/// secret), from the operating system's random source (v4 UUIDs: 122 random bits each).
pub fn new_key() -> (String, String) {
    let id = format!("LTAI{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
    let secret = uuid::Uuid::new_v4().simple().to_string()[..30].to_owned();
    (id, secret)
}

/// A key as `iprod keys list` shows it, from either store (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyInfo {
    pub access_key_id: String,
    pub tenant: String,
    pub enabled: bool,
    pub create_time: String,
}

/// An access key as the verifier needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    pub tenant: String,
    pub enabled: bool,
}

/// Where access keys and used nonces live (a SQLite file embedded, the table on AWS).
#[async_trait]
pub trait AccessKeys: Send + Sync {
    /// Whether any key exists: without keys, signatures are not asked for.
    async fn any(&self) -> Result<bool>;
    async fn key(&self, id: &str) -> Result<Option<AccessKey>>;
    /// Records `nonce` of key `id`; `false` when it was used within the window already.
    async fn first_use(&self, id: &str, nonce: &str, now: i64) -> Result<bool>;
}

/// Used nonces in this process's memory, for as long as their timestamps are acceptable (one
/// embedded server is one process).
#[derive(Default)]
pub struct NonceMemory(Mutex<HashMap<String, i64>>);

impl NonceMemory {
    pub fn first_use(&self, id: &str, nonce: &str, now: i64) -> bool {
        let Ok(mut seen) = self.0.lock() else { return false };
        seen.retain(|_, at| now - *at <= 2 * MAX_SKEW_SECS);
        match seen.entry(format!("{id}\n{nonce}")) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(now);
                true
            }
        }
    }
}
