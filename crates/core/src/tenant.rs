//! Tenants: whose jobs and pipelines a request may see. A request signed with a tenant's access
//! key sees only what that tenant made (others are `NotFound.*`, and lists leave them out), plus
//! the default pipeline to submit into; the operator (the bearer token), and anyone on a server
//! without keys, sees everything.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorClass, Result};
use crate::pipeline::{Pipeline, PipelineId};

/// Submits a second a tenant may make unless configured: the cloud's own limit per account.
pub const DEFAULT_SUBMITS_PER_SECOND: u32 = 100;

/// What one tenant may do, set by the operator (`[embedded.tenants.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantPolicy {
    /// The buckets its jobs may read and write: a subset of the deployment's (empty: all of them).
    pub buckets: Vec<String>,
    /// Submits a second, in bursts of as many; more are `Throttling.User`.
    pub submits_per_second: u32,
    /// Its jobs running at once, across pipelines (0: no limit beyond the pipelines'); more wait
    /// queued. Embedded mode only so far.
    pub max_running: u32,
}

impl Default for TenantPolicy {
    fn default() -> Self {
        Self { buckets: Vec::new(), submits_per_second: DEFAULT_SUBMITS_PER_SECOND, max_running: 0 }
    }
}

/// Per-tenant submit rates: a token bucket each, refilled continuously.
#[derive(Default)]
pub struct SubmitRates(Mutex<HashMap<String, (f64, Instant)>>);

impl SubmitRates {
    /// Takes one submit from `tenant`'s bucket, or answers `Throttling.User`.
    pub fn take(&self, tenant: &str, per_second: u32) -> Result<()> {
        let rate = f64::from(per_second.max(1));
        let Ok(mut buckets) = self.0.lock() else { return Ok(()) };
        let now = Instant::now();
        let (tokens, at) = buckets.entry(tenant.to_owned()).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
        if *tokens < 1.0 {
            return Err(Error::new(
                ErrorClass::Invalid,
                "Throttling.User",
                format!(
                    "tenant {tenant:?} submits more than {per_second} jobs a second: slow down and retry"
                ),
            ));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

/// Tenant names: what a person types and reads in lists.
pub fn check_tenant(tenant: &str) -> Result<()> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_parameter(
            "Tenant",
            format!("tenant {tenant:?} must be 1-64 letters, digits, '-', '_' or '.'"),
        ))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    #[default]
    All,
    Tenant(String),
}

impl Scope {
    /// The tenant new records belong to (`None` for the operator's).
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::Tenant(t) => Some(t),
        }
    }

    /// Whether a record owned by `owner` is visible.
    pub fn sees(&self, owner: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::Tenant(t) => owner == Some(t.as_str()),
        }
    }

    /// Whether the pipeline may be seen and submitted into: its owner's, or the default one.
    pub fn sees_pipeline(&self, pipeline: &Pipeline) -> bool {
        self.sees(pipeline.tenant.as_deref()) || pipeline.id == PipelineId::default_pipeline()
    }

    /// Whether the pipeline may be changed or deleted: its owner's only.
    pub fn owns_pipeline(&self, pipeline: &Pipeline) -> bool {
        self.sees(pipeline.tenant.as_deref())
    }

    /// A client token as stored: each tenant has its own namespace of tokens.
    pub fn client_token(&self, token: &str) -> String {
        match self {
            Self::All => token.to_owned(),
            Self::Tenant(t) => format!("{t}/{token}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn submits_past_the_rate_are_throttled_then_allowed_again() {
        let rates = SubmitRates::default();
        for _ in 0..3 {
            rates.take("acme", 3).unwrap();
        }
        assert_eq!(rates.take("acme", 3).unwrap_err().code(), "Throttling.User");
        rates.take("beta", 3).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
        rates.take("acme", 3).unwrap();
    }

    #[test]
    fn a_tenant_sees_its_own_records_and_the_default_pipeline_only() {
        let acme = Scope::Tenant("acme".into());
        assert!(acme.sees(Some("acme")) && !acme.sees(Some("other")) && !acme.sees(None));
        assert!(Scope::All.sees(Some("other")) && Scope::All.sees(None));
        let default = Pipeline::default_pipeline(Timestamp::from_millis(1));
        assert!(acme.sees_pipeline(&default) && !acme.owns_pipeline(&default));
        assert_ne!(acme.client_token("t"), Scope::Tenant("other".into()).client_token("t"));
    }
}
