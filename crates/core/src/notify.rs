//! Where callbacks go, and which webhook targets the service agrees to call.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A callback destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotifyTarget {
    /// HTTP(S) POST of the callback JSON.
    Webhook(String),
    /// `mns://endpoint/queues/NAME`: a message queue (a JSON-lines file embedded, SQS on AWS).
    Queue(String),
    /// `mns://endpoint/topics/NAME`: a topic (a JSON-lines file embedded, SNS on AWS).
    Topic(String),
}

impl NotifyTarget {
    /// Parses a target and applies `policy` to webhooks; `field` names the request field.
    pub fn parse(field: &str, raw: &str, policy: &WebhookPolicy) -> Result<Self> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("mns://") {
            let mut parts = rest.splitn(2, '/');
            let _endpoint = parts.next();
            let path = parts.next().unwrap_or("");
            let (kind, name) = path.split_once('/').unwrap_or((path, ""));
            if !is_queue_name(name) {
                return Err(Error::invalid_parameter(
                    field,
                    format!(
                        "{field} {raw:?} must look like mns://endpoint/queues/NAME or mns://endpoint/topics/NAME (NAME: 1-256 letters, digits, '-' or '_')"
                    ),
                ));
            }
            return match kind {
                "queues" => Ok(Self::Queue(name.to_owned())),
                "topics" => Ok(Self::Topic(name.to_owned())),
                _ => Err(Error::invalid_parameter(
                    field,
                    format!("{field} {raw:?}: the path must start with /queues/ or /topics/"),
                )),
            };
        }
        policy.check(field, raw)?;
        Ok(Self::Webhook(raw.to_owned()))
    }

    pub fn as_url(&self) -> String {
        match self {
            Self::Webhook(url) => url.clone(),
            Self::Queue(name) => format!("mns://local/queues/{name}"),
            Self::Topic(name) => format!("mns://local/topics/{name}"),
        }
    }
}

fn is_queue_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which webhook URLs may be called. Cloud metadata and link-local addresses are always refused,
/// so a submitted `NotifyUrl` can never make the service read instance credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookPolicy {
    /// Only `https://` targets (plus loopback, for local receivers) when true.
    pub require_https: bool,
    /// When not empty, the webhook host must equal one of these or end with `.` + one of them.
    pub allowed_hosts: Vec<String>,
}

impl WebhookPolicy {
    pub fn check(&self, field: &str, raw: &str) -> Result<()> {
        let refused = |why: String| {
            Error::forbidden(
                "NotifyTarget",
                format!("{field} {raw:?} is refused by the webhook policy: {why}"),
            )
        };
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| {
            Error::invalid_parameter(
                field,
                format!("{field} {raw:?} must be an http(s):// URL or mns://endpoint/queues/NAME"),
            )
        })?;
        if scheme != "http" && scheme != "https" {
            return Err(Error::invalid_parameter(
                field,
                format!("{field} {raw:?} has scheme {scheme:?}: use https, http or mns"),
            ));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(refused("credentials in the URL are not allowed".into()));
        }
        let host = host_of(authority).to_ascii_lowercase();
        if host.is_empty() {
            return Err(Error::invalid_parameter(field, format!("{field} {raw:?} has no host")));
        }
        let ip = host.trim_matches(['[', ']']).parse::<IpAddr>().ok();
        if let Some(ip) = ip
            && is_never_allowed(ip)
        {
            return Err(refused(format!("{ip} is a link-local, metadata, unspecified or multicast address")));
        }
        if host == "metadata.google.internal" || host == "metadata" {
            return Err(refused("cloud metadata hosts are never called".into()));
        }
        let loopback = ip.is_some_and(|ip| ip.is_loopback()) || host == "localhost";
        if self.require_https && scheme != "https" && !loopback {
            return Err(refused("only https:// targets are allowed".into()));
        }
        if !self.allowed_hosts.is_empty()
            && !self.allowed_hosts.iter().any(|a| host == *a || host.ends_with(&format!(".{a}")))
        {
            return Err(refused(format!(
                "host {host} is not in the allowed hosts ({})",
                self.allowed_hosts.join(", ")
            )));
        }
        Ok(())
    }
}

fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_once(']').map_or(authority, |(h, _)| &h[1..]);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _port)| h)
}

fn is_never_allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_never_allowed(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mns_queue_and_topic_names() {
        let p = WebhookPolicy::default();
        let q =
            NotifyTarget::parse("NotifyUrl", "mns://123.mns.cn-shanghai.aliyuncs.com/queues/ipro-done", &p)
                .unwrap();
        assert_eq!(q, NotifyTarget::Queue("ipro-done".into()));
        assert_eq!(
            NotifyTarget::parse("x", "mns://e/topics/t1", &p).unwrap(),
            NotifyTarget::Topic("t1".into())
        );
        assert_eq!(
            NotifyTarget::parse("NotifyUrl", "mns://e/queues/../x", &p).unwrap_err().code(),
            "InvalidParameter.NotifyUrl"
        );
    }

    #[test]
    fn metadata_and_link_local_are_always_refused() {
        let p = WebhookPolicy::default();
        for raw in [
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]:80/",
            "http://0.0.0.0/",
            "http://[::ffff:169.254.1.1]/",
            "http://metadata.google.internal/",
        ] {
            let e = NotifyTarget::parse("NotifyUrl", raw, &p).unwrap_err();
            assert_eq!(e.code(), "Forbidden.NotifyTarget", "{raw}");
            assert_eq!(e.http_status(), 403);
        }
        NotifyTarget::parse("NotifyUrl", "http://127.0.0.1:9000/cb", &p).unwrap();
        assert_eq!(
            NotifyTarget::parse("NotifyUrl", "file:///etc/passwd", &p).unwrap_err().code(),
            "InvalidParameter.NotifyUrl"
        );
    }

    #[test]
    fn allowed_hosts_and_https() {
        let p = WebhookPolicy { require_https: true, allowed_hosts: vec!["example.com".into()] };
        p.check("NotifyUrl", "https://hooks.example.com/x").unwrap();
        p.check("NotifyUrl", "http://localhost:8080/x").unwrap_err();
        assert!(p.check("NotifyUrl", "http://hooks.example.com/x").unwrap_err().message().contains("https"));
        assert!(
            p.check("NotifyUrl", "https://evil-example.com/x")
                .unwrap_err()
                .message()
                .contains("allowed hosts")
        );
    }
}
