//! Callback delivery on AWS: `mns://…/queues/NAME` → the SQS queue NAME, `mns://…/topics/NAME` →
//! the SNS topic NAME, webhooks → a signed HTTPS POST (the same code as embedded).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue as SnsAttribute;
use aws_sdk_sqs::types::MessageAttributeValue as SqsAttribute;
use iprod_core::notify::NotifyTarget;
use iprod_core::ports::{Callback, Notifier};
use iprod_core::{Error, Result};
use iprod_host::webhook::WebhookPoster;
use tokio::sync::Mutex;

use crate::sdk_error::transient;

pub struct AwsNotifier {
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    webhooks: WebhookPoster,
    topic_arn_prefix: Option<String>,
    /// Queue URLs and topic ARNs by name, looked up once per process.
    queue_urls: Mutex<HashMap<String, String>>,
    topic_arns: Mutex<HashMap<String, String>>,
}

impl AwsNotifier {
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        sns: aws_sdk_sns::Client,
        topic_arn_prefix: Option<String>,
        webhook_timeout: Duration,
        webhook_policy: iprod_core::notify::WebhookPolicy,
    ) -> Result<Self> {
        Ok(Self {
            sqs,
            sns,
            webhooks: WebhookPoster::new(webhook_timeout, webhook_policy)?,
            topic_arn_prefix,
            queue_urls: Mutex::default(),
            topic_arns: Mutex::default(),
        })
    }

    async fn queue_url(&self, name: &str) -> Result<String> {
        if let Some(url) = self.queue_urls.lock().await.get(name) {
            return Ok(url.clone());
        }
        let found = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| transient("Notify", format!("finding the SQS queue {name:?}"), e))?;
        let url = found
            .queue_url
            .ok_or_else(|| Error::transient("Notify", format!("SQS gave no URL for {name:?}")))?;
        self.queue_urls.lock().await.insert(name.to_owned(), url.clone());
        Ok(url)
    }

    async fn topic_arn(&self, name: &str) -> Result<String> {
        if let Some(prefix) = &self.topic_arn_prefix {
            return Ok(format!("{prefix}{name}"));
        }
        if let Some(arn) = self.topic_arns.lock().await.get(name) {
            return Ok(arn.clone());
        }
        let suffix = format!(":{name}");
        let mut token = None;
        loop {
            let page = self
                .sns
                .list_topics()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| transient("Notify", "listing SNS topics", e))?;
            let hit = page.topics().iter().filter_map(|t| t.topic_arn()).find(|arn| arn.ends_with(&suffix));
            if let Some(arn) = hit {
                self.topic_arns.lock().await.insert(name.to_owned(), arn.to_owned());
                return Ok(arn.to_owned());
            }
            match page.next_token {
                Some(next) => token = Some(next),
                None => {
                    return Err(Error::transient("Notify", format!("there is no SNS topic named {name:?}")));
                }
            }
        }
    }
}

#[async_trait]
impl Notifier for AwsNotifier {
    async fn deliver(&self, callback: &Callback) -> Result<()> {
        match &callback.target {
            NotifyTarget::Webhook(url) => self.webhooks.post(url, callback).await,
            NotifyTarget::Queue { name, .. } => {
                let url = self.queue_url(name).await?;
                let delivery = SqsAttribute::builder()
                    .data_type("String")
                    .string_value(&callback.delivery_id)
                    .build()
                    .map_err(|e| Error::internal("cannot build a message attribute").with_source(e))?;
                self.sqs
                    .send_message()
                    .queue_url(url)
                    .message_body(&callback.body)
                    .message_attributes("DeliveryId", delivery)
                    .send()
                    .await
                    .map_err(|e| transient("Notify", format!("sending to the SQS queue {name:?}"), e))?;
                Ok(())
            }
            NotifyTarget::Topic { name, .. } => {
                let arn = self.topic_arn(name).await?;
                let delivery = SnsAttribute::builder()
                    .data_type("String")
                    .string_value(&callback.delivery_id)
                    .build()
                    .map_err(|e| Error::internal("cannot build a message attribute").with_source(e))?;
                self.sns
                    .publish()
                    .topic_arn(arn)
                    .message(&callback.body)
                    .message_attributes("DeliveryId", delivery)
                    .send()
                    .await
                    .map_err(|e| transient("Notify", format!("publishing to the SNS topic {name:?}"), e))?;
                Ok(())
            }
        }
    }
}
