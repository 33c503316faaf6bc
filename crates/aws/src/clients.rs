//! One set of SDK clients per process (a Lambda cold start builds them once), configured from the
//! standard AWS environment: region, credentials, and `AWS_ENDPOINT_URL` for an emulator.

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use iprod_core::retention::DEFAULT_RETENTION_DAYS;
use iprod_core::route::FleetRoutes;
use iprod_core::tenant::TenantPolicy;
use iprod_core::worker::DEFAULT_MAX_JOB_TIME;

/// Where IProduction's AWS resources are: from `IPROD_*` variables, set by the SAM template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// DynamoDB table of jobs, pipelines and the callback outbox (`IPROD_TABLE`).
    pub table: String,
    /// URL of the SQS queue that carries one message per startable job (`IPROD_QUEUE_URL`).
    pub queue_url: String,
    /// Buckets jobs may read and write (`IPROD_BUCKETS`, comma-separated).
    pub buckets: Vec<String>,
    /// Concurrency of the default pipeline when it is first created (`IPROD_DEFAULT_CONCURRENCY`).
    pub default_concurrency: u32,
    /// `arn:aws:sns:REGION:ACCOUNT:` so `mns://…/topics/NAME` needs no lookup (`IPROD_TOPIC_ARN_PREFIX`).
    pub topic_arn_prefix: Option<String>,
    /// Webhook hosts callbacks may be sent to (`IPROD_WEBHOOK_HOSTS`, comma-separated; empty:
    /// any public host). Webhooks must be HTTPS on AWS.
    pub webhook_hosts: Vec<String>,
    /// Whether webhooks may target private addresses (`IPROD_WEBHOOK_ALLOW_PRIVATE=true`): for a
    /// receiver inside the VPC, or tests against local receivers. Loopback is refused otherwise.
    pub webhook_allow_private: bool,
    /// `AddPipeline` is refused past this many pipelines besides the default (`IPROD_MAX_PIPELINES`).
    pub max_pipelines: usize,
    /// Days finished jobs, their callbacks and client tokens are kept before DynamoDB's TTL
    /// deletes them (`IPROD_RETENTION_DAYS`, default 30; 0 keeps them).
    pub retention_days: u32,
    /// The longest one job may run on a `--worker` host (`IPROD_MAX_JOB_SECS`, default 6 hours);
    /// a Lambda's own deadline is shorter.
    pub max_job_secs: u64,
    /// The KMS key sealing tenants' access-key secrets (`IPROD_KMS_KEY`). When set, the API
    /// verifies the cloud SDKs' signatures with the keys in the table, and every request must be
    /// signed: for a route without IAM authentication, which SDK clients can call.
    pub kms_key: Option<String>,
    /// What each tenant may do (`IPROD_TENANTS`, JSON: `{"acme": {"buckets": ["archive"],
    /// "submits_per_second": 20, "max_running": 4}}`), as `[embedded.tenants.NAME]`.
    pub tenants: BTreeMap<String, TenantPolicy>,
    /// The worker fleet's queue (`IPROD_FLEET_QUEUE_URL`, the template's GPU fleet): jobs the
    /// routes send there are announced on it, and `process --worker` polls it.
    pub fleet_queue_url: Option<String>,
    /// Which jobs run on the fleet (`IPROD_FLEET_ROUTES`), when it exists.
    pub fleet_routes: FleetRoutes,
}

impl AwsSettings {
    /// Reads the settings; names the variable that is missing or wrong.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let need = |name: &str| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("the environment variable {name} must be set"))
        };
        let buckets: Vec<String> = need("IPROD_BUCKETS")?
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .collect();
        let default_concurrency = match env("IPROD_DEFAULT_CONCURRENCY").filter(|v| !v.trim().is_empty()) {
            None => iprod_core::pipeline::DEFAULT_CONCURRENCY,
            Some(raw) => iprod_core::pipeline::parse_concurrency(&raw).map_err(|e| e.message().to_owned())?,
        };
        let number = |name: &str, default: u64| match env(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("the environment variable {name} must be a whole number, not {raw:?}")),
        };
        let tenants = tenants(env("IPROD_TENANTS").as_deref().unwrap_or(""), &buckets)?;
        let fleet_routes =
            FleetRoutes::parse("IPROD_FLEET_ROUTES", &env("IPROD_FLEET_ROUTES").unwrap_or_default())
                .map_err(|e| e.message().to_owned())?;
        Ok(Self {
            fleet_queue_url: env("IPROD_FLEET_QUEUE_URL").filter(|v| !v.trim().is_empty()),
            fleet_routes,
            tenants,
            max_pipelines: number("IPROD_MAX_PIPELINES", iprod_core::pipeline::DEFAULT_MAX_PIPELINES as u64)?
                as usize,
            kms_key: env("IPROD_KMS_KEY").filter(|v| !v.trim().is_empty()),
            max_job_secs: number("IPROD_MAX_JOB_SECS", DEFAULT_MAX_JOB_TIME.as_secs())?.max(1),
            retention_days: number("IPROD_RETENTION_DAYS", u64::from(DEFAULT_RETENTION_DAYS))?.min(36_500)
                as u32,
            table: need("IPROD_TABLE")?,
            queue_url: need("IPROD_QUEUE_URL")?,
            buckets,
            default_concurrency,
            topic_arn_prefix: env("IPROD_TOPIC_ARN_PREFIX").filter(|v| !v.trim().is_empty()),
            webhook_hosts: list(&env("IPROD_WEBHOOK_HOSTS").unwrap_or_default()),
            webhook_allow_private: env("IPROD_WEBHOOK_ALLOW_PRIVATE").is_some_and(|v| v.trim() == "true"),
        })
    }
}

/// The tenants' policies from `IPROD_TENANTS` (empty: none), each bucket among `buckets`.
fn tenants(raw: &str, buckets: &[String]) -> Result<BTreeMap<String, TenantPolicy>, String> {
    if raw.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let tenants: BTreeMap<String, TenantPolicy> = serde_json::from_str(raw)
        .map_err(|e| format!("IPROD_TENANTS must be JSON like {{\"acme\": {{\"max_running\": 4}}}}: {e}"))?;
    for (tenant, policy) in &tenants {
        iprod_core::tenant::check_tenant(tenant).map_err(|e| format!("IPROD_TENANTS: {}", e.message()))?;
        if let Some(bucket) = policy.buckets.iter().find(|b| !buckets.contains(b)) {
            return Err(format!(
                "IPROD_TENANTS: tenant {tenant:?} lists bucket {bucket:?}, which is not in IPROD_BUCKETS"
            ));
        }
    }
    Ok(tenants)
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',').map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned).collect()
}

#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub kms: aws_sdk_kms::Client,
}

impl AwsClients {
    /// Clients from the standard environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`).
    /// `AWS_S3_FORCE_PATH_STYLE=true` selects path-style S3 URLs, which emulators need.
    pub async fn from_env() -> Self {
        let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let path_style = std::env::var("AWS_S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true" || v == "1");
        Self::from_shared(&shared, path_style)
    }

    pub fn from_shared(shared: &aws_config::SdkConfig, s3_path_style: bool) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(shared).force_path_style(s3_path_style).build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(shared),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(shared),
            sns: aws_sdk_sns::Client::new(shared),
            kms: aws_sdk_kms::Client::new(shared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_what_is_missing() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        let e = AwsSettings::from_env(env(&[("IPROD_BUCKETS", "media")])).unwrap_err();
        assert!(e.contains("IPROD_TABLE"), "{e}");
        let ok = AwsSettings::from_env(env(&[
            ("IPROD_BUCKETS", "media, raw"),
            ("IPROD_TABLE", "jobs"),
            ("IPROD_QUEUE_URL", "http://q"),
        ]))
        .unwrap();
        assert_eq!(ok.buckets, ["media", "raw"]);
        assert_eq!(ok.default_concurrency, iprod_core::pipeline::DEFAULT_CONCURRENCY);
        let bad = AwsSettings::from_env(env(&[
            ("IPROD_BUCKETS", "media"),
            ("IPROD_TABLE", "jobs"),
            ("IPROD_QUEUE_URL", "http://q"),
            ("IPROD_DEFAULT_CONCURRENCY", "0"),
        ]));
        assert!(bad.is_err());
        assert_eq!((ok.max_pipelines, ok.retention_days), (1000, 30));
        let bad_days = AwsSettings::from_env(env(&[
            ("IPROD_BUCKETS", "media"),
            ("IPROD_TABLE", "jobs"),
            ("IPROD_QUEUE_URL", "http://q"),
            ("IPROD_RETENTION_DAYS", "a month"),
        ]))
        .unwrap_err();
        assert!(bad_days.contains("IPROD_RETENTION_DAYS"), "{bad_days}");
    }
}
