//! The adapters wired together once per process (a Lambda cold start): what every function
//! builds the same way.

use std::sync::Arc;
use std::time::Duration;

use iprod_core::Result;
use iprod_core::notify::WebhookPolicy;
use iprod_core::object_url::BucketAllowList;
use iprod_core::ports::{JobStore, MediaEngine, Queue};
use iprod_core::service::{JobService, ServicePolicy};
use iprod_core::worker::{DEFAULT_MAX_ATTEMPTS, Worker, WorkerSettings};

use crate::{AwsClients, AwsNotifier, AwsSettings, DynamoStore, S3ObjectStore, SqsQueue};

pub struct AwsStack {
    pub settings: AwsSettings,
    pub clients: AwsClients,
    pub store: Arc<DynamoStore>,
    pub queue: Arc<SqsQueue>,
}

impl AwsStack {
    /// Builds the adapters and makes sure the default pipeline exists.
    pub async fn new(clients: AwsClients, settings: AwsSettings) -> Result<Self> {
        let retention = iprod_core::retention::retention(settings.retention_days);
        let store = Arc::new(
            DynamoStore::new(clients.dynamodb.clone(), settings.table.clone())
                .with_retention(retention)
                .with_tenant_limits(
                    settings
                        .tenants
                        .iter()
                        .map(|(t, p)| (t.clone(), p.max_running))
                        .filter(|(_, m)| *m > 0)
                        .collect(),
                ),
        );
        store.ensure_default_pipeline(settings.default_concurrency).await?;
        let queue = Arc::new(
            SqsQueue::new(clients.sqs.clone(), settings.queue_url.clone(), store.clone())
                .with_fleet(settings.fleet_queue_url.clone()),
        );
        Ok(Self { settings, clients, store, queue })
    }

    pub fn job_store(&self) -> Arc<dyn JobStore> {
        self.store.clone()
    }

    pub fn job_queue(&self) -> Arc<dyn Queue> {
        self.queue.clone()
    }

    pub fn policy(&self) -> ServicePolicy {
        ServicePolicy {
            allowed_buckets: BucketAllowList::new(self.settings.buckets.iter().cloned()),
            // No loopback exemption on AWS: a Lambda's loopback is the runtime API. Private
            // targets only where a deployment says so (tests against local receivers).
            webhooks: WebhookPolicy {
                require_https: true,
                allowed_hosts: self.settings.webhook_hosts.clone(),
                allow_private: self.settings.webhook_allow_private,
            },
            max_pipelines: self.settings.max_pipelines,
            tenants: self.settings.tenants.clone().into_iter().collect(),
            fleet_routes: self.settings.fleet_queue_url.as_ref().map(|_| self.settings.fleet_routes.clone()),
        }
    }

    /// The job service of the API and the upload trigger.
    pub fn service(&self) -> JobService {
        JobService::new(self.job_store(), self.job_queue(), self.policy())
    }

    pub fn worker(&self, engine: Arc<dyn MediaEngine>, settings: WorkerSettings) -> Worker {
        let objects = Arc::new(S3ObjectStore::new(self.clients.s3.clone()));
        Worker::new(self.job_store(), self.job_queue(), objects, engine, settings)
    }

    /// Tenants' access keys, when this deployment verifies signatures (`IPROD_KMS_KEY`).
    pub fn access_keys(&self) -> Option<crate::keys::DynamoKeys> {
        let key = self.settings.kms_key.clone()?;
        Some(crate::keys::DynamoKeys::new(
            self.clients.dynamodb.clone(),
            self.clients.kms.clone(),
            self.settings.table.clone(),
            key,
        ))
    }

    pub fn notifier(&self) -> Result<AwsNotifier> {
        AwsNotifier::new(
            self.clients.sqs.clone(),
            self.clients.sns.clone(),
            self.settings.topic_arn_prefix.clone(),
            Duration::from_secs(10),
            self.policy().webhooks,
        )
    }
}

/// Worker settings for a function: a lease a few heartbeats long, under `scratch` (`/tmp` on
/// Lambda), each attempt at most `max_job_time`.
pub fn worker_settings(
    scratch: std::path::PathBuf,
    lease: Duration,
    max_job_time: Duration,
) -> WorkerSettings {
    WorkerSettings {
        scratch_root: scratch,
        lease,
        max_attempts: DEFAULT_MAX_ATTEMPTS,
        max_job_time,
        hand_off_longer_than: None,
    }
}
