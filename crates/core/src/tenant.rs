//! Tenants: whose jobs and pipelines a request may see. A request signed with a tenant's access
//! key sees only what that tenant made (others are `NotFound.*`, and lists leave them out), plus
//! the default pipeline to submit into; the operator (the bearer token), and anyone on a server
//! without keys, sees everything.

use crate::pipeline::{Pipeline, PipelineId};

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
    fn a_tenant_sees_its_own_records_and_the_default_pipeline_only() {
        let acme = Scope::Tenant("acme".into());
        assert!(acme.sees(Some("acme")) && !acme.sees(Some("other")) && !acme.sees(None));
        assert!(Scope::All.sees(Some("other")) && Scope::All.sees(None));
        let default = Pipeline::default_pipeline(Timestamp::from_millis(1));
        assert!(acme.sees_pipeline(&default) && !acme.owns_pipeline(&default));
        assert_ne!(acme.client_token("t"), Scope::Tenant("other".into()).client_token("t"));
    }
}
