//! Thin helpers over the DynamoDB client: every attribute in an expression is written `#Name`
//! (many of ours, like `State`, are reserved words), and conditional failures come back as values
//! rather than errors, because they are how the store learns that somebody else moved first.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use iprod_core::Result;

use super::items::{Item, key};
use crate::sdk_error::{transient, unbuildable};

/// `#Name` → `Name` for every `#Name` in the expressions.
fn names(expressions: &[&str]) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for expr in expressions {
        let mut rest = *expr;
        while let Some(at) = rest.find('#') {
            let tail = &rest[at + 1..];
            let len = tail.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(tail.len());
            names.insert(format!("#{}", &tail[..len]), tail[..len].to_owned());
            rest = &tail[len..];
        }
    }
    names
}

fn values(pairs: Vec<(&str, AttributeValue)>) -> Option<HashMap<String, AttributeValue>> {
    (!pairs.is_empty()).then(|| pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Why a transaction was cancelled, per item in request order (`None`: that item was fine).
pub(super) type Reasons = Vec<Option<String>>;

/// A query over an index: `partition` equals a value, and an optional sort-key condition.
pub(super) struct IndexQuery<'a> {
    pub index: &'a str,
    pub condition: &'a str,
    pub values: Vec<(&'a str, AttributeValue)>,
    pub filter: Option<&'a str>,
    pub forward: bool,
    pub limit: Option<i32>,
    pub start: Option<Item>,
}

impl<'a> IndexQuery<'a> {
    /// All items of `index` matching `condition`, in ascending sort-key order.
    pub(super) fn on(index: &'a str, condition: &'a str, values: Vec<(&'a str, AttributeValue)>) -> Self {
        Self { index, condition, values, filter: None, forward: true, limit: None, start: None }
    }

    pub(super) fn page_size(mut self, limit: usize) -> Self {
        self.limit = Some(limit.clamp(1, 1000) as i32);
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub client: Client,
    pub name: String,
}

impl Table {
    pub(crate) async fn get(&self, id: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| transient("Database", format!("reading {id}"), e))?;
        Ok(out.item)
    }

    /// Reads up to 100 items by id, consistently, in any order.
    pub(super) async fn get_many(&self, ids: &[String]) -> Result<Vec<Item>> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let mut keys: Vec<Item> = chunk.iter().map(|id| key(id.as_str())).collect();
            keys.dedup();
            while !keys.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| unbuildable("building a batch read", e))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, request)
                    .send()
                    .await
                    .map_err(|e| transient("Database", "reading records", e))?;
                if let Some(items) = out.responses.and_then(|mut r| r.remove(&self.name)) {
                    found.extend(items);
                }
                // Throttled keys come back unprocessed: ask again for those only.
                if let Some(again) = out.unprocessed_keys.and_then(|mut u| u.remove(&self.name)) {
                    keys = again.keys;
                }
            }
        }
        Ok(found)
    }

    /// Puts `item` unless its id exists; `false` if it did.
    pub(crate) async fn put_new(&self, item: Item) -> Result<bool> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#Id)")
            .expression_attribute_names("#Id", "Id")
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(transient("Database", "writing a record", other)),
            },
        }
    }

    /// Updates item `id` if `condition` holds; `false` if it did not.
    pub(crate) async fn update(
        &self,
        id: &str,
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(id)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[update, condition])))
            .set_expression_attribute_values(self::values(values))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(transient("Database", format!("updating {id}"), other)),
            },
        }
    }

    /// Deletes item `id`; `false` if there was none.
    pub(crate) async fn delete_existing(&self, id: &str) -> Result<bool> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(id)))
            .condition_expression("attribute_exists(#Id)")
            .expression_attribute_names("#Id", "Id")
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(transient("Database", format!("deleting {id}"), other)),
            },
        }
    }

    pub(super) fn put_item(&self, item: Item) -> Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#Id)")
            .expression_attribute_names("#Id", "Id")
            .build()
            .map_err(|e| unbuildable("building a write", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) fn update_item(
        &self,
        id: &str,
        update: &str,
        condition: Option<&str>,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.name)
            .set_key(Some(key(id)))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(Some(names(&[update, condition.unwrap_or("")])))
            .set_expression_attribute_values(self::values(values))
            .build()
            .map_err(|e| unbuildable("building an update", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(super) fn delete_item(
        &self,
        id: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.name)
            .set_key(Some(key(id)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[condition])))
            .set_expression_attribute_values(self::values(values))
            .build()
            .map_err(|e| unbuildable("building a delete", e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// A transaction step that writes nothing and fails the transaction unless `condition` holds
    /// on item `id`.
    pub(super) fn check_item(
        &self,
        id: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.name)
            .set_key(Some(key(id)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[condition])))
            .set_expression_attribute_values(self::values(values))
            .build()
            .map_err(|e| unbuildable("building a condition check", e))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Writes all or nothing. `Err(reasons)` inside `Ok` when a condition failed. A conflict with
    /// another transaction on the same items is retried here, a few times, with a short pause.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<std::result::Result<(), Reasons>> {
        let mut pause = std::time::Duration::from_millis(20);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent =
                self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let cancelled = match sent {
                Ok(_) => return Ok(Ok(())),
                Err(e) => match e.into_service_error() {
                    TransactWriteItemsError::TransactionCanceledException(c) => c,
                    other => return Err(transient("Database", "writing a transaction", other)),
                },
            };
            let reasons: Reasons = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                .collect();
            let conflict = reasons.iter().flatten().any(|c| c == "TransactionConflict");
            if conflict && attempt < 6 {
                tokio::time::sleep(pause).await;
                pause *= 2;
                continue;
            }
            return Ok(Err(reasons));
        }
    }

    /// One page of an index query.
    pub(super) async fn query(&self, q: IndexQuery<'_>) -> Result<(Vec<Item>, Option<Item>)> {
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(q.index)
            .key_condition_expression(q.condition)
            .set_filter_expression(q.filter.map(str::to_owned))
            .set_expression_attribute_names(Some(names(&[q.condition, q.filter.unwrap_or("")])))
            .set_expression_attribute_values(values(q.values))
            .scan_index_forward(q.forward)
            .set_limit(q.limit)
            .set_exclusive_start_key(q.start)
            .send()
            .await
            .map_err(|e| transient("Database", format!("querying index {}", q.index), e))?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_name_is_mapped() {
        let got = names(&["SET #State = :s, #Running = #Running + :one", "#Attempts = :a"]);
        let mut keys: Vec<_> = got.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["#Attempts", "#Running", "#State"]);
        assert_eq!(got["#State"], "State");
    }
}
