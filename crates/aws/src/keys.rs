//! Tenants' access keys on AWS: items of the job table (`accesskey#ID`), each secret encrypted
//! with a KMS key (the table holds only ciphertext; decrypting needs `kms:Decrypt` on that key),
//! and used signature nonces as items that DynamoDB's TTL removes after the replay window. A
//! nonce is recorded with a conditional put, so two Lambda instances cannot both accept it.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use iprod_core::access::{AccessKey, AccessKeys, KeyInfo, MAX_SKEW_SECS};
use iprod_core::{Error, Result, Timestamp};

use crate::dynamo::schema::{EXPIRES, KEY};
use crate::dynamo::{Item, Table};
use crate::sdk_error::transient;

pub struct DynamoKeys {
    table: Table,
    kms: aws_sdk_kms::Client,
    /// The KMS key that seals the secrets (`IPROD_KMS_KEY`: id, ARN or alias).
    kms_key: String,
}

fn key_item(id: &str) -> String {
    format!("accesskey#{id}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl DynamoKeys {
    pub fn new(
        dynamodb: aws_sdk_dynamodb::Client,
        kms: aws_sdk_kms::Client,
        table: impl Into<String>,
        kms_key: impl Into<String>,
    ) -> Self {
        Self { table: Table { client: dynamodb, name: table.into() }, kms, kms_key: kms_key.into() }
    }

    /// A new key for `tenant`: its id and secret (shown once).
    pub async fn add(&self, tenant: &str) -> Result<(String, String)> {
        iprod_core::tenant::check_tenant(tenant)?;
        let (id, secret) = iprod_core::access::new_key();
        let sealed = self
            .kms
            .encrypt()
            .key_id(&self.kms_key)
            .plaintext(Blob::new(secret.as_bytes()))
            .send()
            .await
            .map_err(|e| transient("Keys", "sealing a secret with KMS", e))?
            .ciphertext_blob
            .ok_or_else(|| Error::internal("KMS returned no ciphertext"))?;
        let item: Item = [
            (KEY.to_owned(), s(key_item(&id))),
            ("Tenant".to_owned(), s(tenant)),
            (
                "Secret".to_owned(),
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(sealed.into_inner())),
            ),
            ("Enabled".to_owned(), AttributeValue::Bool(true)),
            ("CreateTime".to_owned(), s(Timestamp::now().rfc3339())),
        ]
        .into();
        // A fresh random id: it is never taken, and never overwritten.
        if !self.table.put_new(item).await? {
            return Err(Error::internal(format!("the new access key id {id} is taken")));
        }
        Ok((id, secret))
    }

    /// Every key, oldest first (never a secret). A scan of the table for its key items:
    /// managing keys is rare, and the jobs' items are not read, only skipped.
    pub async fn list(&self) -> Result<Vec<KeyInfo>> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .table
                .client
                .scan()
                .table_name(&self.table.name)
                .filter_expression("begins_with(#id, :prefix)")
                .expression_attribute_names("#id", KEY)
                .expression_attribute_values(":prefix", s("accesskey#"))
                .projection_expression("#id, Tenant, Enabled, CreateTime")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| transient("Keys", "listing the access keys", e))?;
            for item in page.items() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => v.clone(),
                    _ => String::new(),
                };
                keys.push(KeyInfo {
                    access_key_id: text(KEY).trim_start_matches("accesskey#").to_owned(),
                    tenant: text("Tenant"),
                    enabled: matches!(item.get("Enabled"), Some(AttributeValue::Bool(true))),
                    create_time: text("CreateTime"),
                });
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        keys.sort_by(|a, b| a.create_time.cmp(&b.create_time));
        Ok(keys)
    }

    /// Removes a key for good; `NotFound.AccessKey` for an unknown id.
    pub async fn delete(&self, id: &str) -> Result<()> {
        if self.table.delete_existing(&key_item(id)).await? { Ok(()) } else { Err(unknown(id)) }
    }

    /// Enables or disables a key; `NotFound.AccessKey` for an unknown id.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<()> {
        let values = vec![(":e", AttributeValue::Bool(enabled))];
        let updated =
            self.table.update(&key_item(id), "SET Enabled = :e", "attribute_exists(#Id)", values).await?;
        if updated { Ok(()) } else { Err(unknown(id)) }
    }
}

fn unknown(id: &str) -> Error {
    Error::not_found("AccessKey", format!("no access key {id:?}: `iprod keys --aws list` shows them"))
}

#[async_trait]
impl AccessKeys for DynamoKeys {
    /// On a deployment that verifies signatures, they are always required.
    async fn any(&self) -> Result<bool> {
        Ok(true)
    }

    async fn key(&self, id: &str) -> Result<Option<AccessKey>> {
        let Some(item) = self.table.get(&key_item(id)).await? else { return Ok(None) };
        let sealed = match item.get("Secret") {
            Some(AttributeValue::B(blob)) => blob.clone().into_inner(),
            _ => return Err(Error::internal(format!("access key {id} has no sealed secret"))),
        };
        let opened = self
            .kms
            .decrypt()
            .ciphertext_blob(Blob::new(sealed))
            .send()
            .await
            .map_err(|e| transient("Keys", "opening a secret with KMS", e))?
            .plaintext
            .ok_or_else(|| Error::internal("KMS returned no plaintext"))?;
        let secret = String::from_utf8(opened.into_inner())
            .map_err(|_| Error::internal("a stored secret is not text"))?;
        let tenant = match item.get("Tenant") {
            Some(AttributeValue::S(t)) => t.clone(),
            _ => return Err(Error::internal(format!("access key {id} names no tenant"))),
        };
        let enabled = matches!(item.get("Enabled"), Some(AttributeValue::Bool(true)));
        Ok(Some(AccessKey { id: id.to_owned(), secret, tenant, enabled }))
    }

    async fn first_use(&self, id: &str, nonce: &str, now: i64) -> Result<bool> {
        let item: Item = [
            (KEY.to_owned(), s(format!("nonce#{id}#{nonce}"))),
            (EXPIRES.to_owned(), AttributeValue::N((now + 2 * MAX_SKEW_SECS).to_string())),
        ]
        .into();
        self.table.put_new(item).await
    }
}
