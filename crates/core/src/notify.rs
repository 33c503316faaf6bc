//! Where callbacks go, and which webhook targets the service agrees to call.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A callback destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "StoredTarget")]
pub enum NotifyTarget {
    /// HTTP(S) POST of the callback JSON.
    Webhook(String),
    /// `mns://endpoint/queues/NAME`: a message queue (a JSON-lines file embedded, SQS on AWS).
    Queue { name: String, endpoint: String },
    /// `mns://endpoint/topics/NAME`: a topic (a JSON-lines file embedded, SNS on AWS).
    Topic { name: String, endpoint: String },
}

/// Targets as stored: jobs and pipelines written before the endpoint was kept hold only the
/// queue or topic name (`{"Queue":"NAME"}`); they read back with the endpoint `local`.
#[derive(Deserialize)]
enum StoredTarget {
    Webhook(String),
    Queue(StoredMns),
    Topic(StoredMns),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredMns {
    Named { name: String, endpoint: String },
    NameOnly(String),
}

impl StoredMns {
    fn parts(self) -> (String, String) {
        match self {
            Self::Named { name, endpoint } => (name, endpoint),
            Self::NameOnly(name) => (name, "local".to_owned()),
        }
    }
}

impl From<StoredTarget> for NotifyTarget {
    fn from(stored: StoredTarget) -> Self {
        match stored {
            StoredTarget::Webhook(url) => Self::Webhook(url),
            StoredTarget::Queue(mns) => {
                let (name, endpoint) = mns.parts();
                Self::Queue { name, endpoint }
            }
            StoredTarget::Topic(mns) => {
                let (name, endpoint) = mns.parts();
                Self::Topic { name, endpoint }
            }
        }
    }
}

impl NotifyTarget {
    /// Parses a target and applies `policy` to webhooks; `field` names the request field.
    pub fn parse(field: &str, raw: &str, policy: &WebhookPolicy) -> Result<Self> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("mns://") {
            let mut parts = rest.splitn(2, '/');
            // Kept only to show the target as the client wrote it: the queue or topic is found
            // by name in this deployment (a file embedded, SQS or SNS on AWS).
            let endpoint = parts.next().unwrap_or("").to_owned();
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
                "queues" => Ok(Self::Queue { name: name.to_owned(), endpoint }),
                "topics" => Ok(Self::Topic { name: name.to_owned(), endpoint }),
                _ => Err(Error::invalid_parameter(
                    field,
                    format!("{field} {raw:?}: the path must start with /queues/ or /topics/"),
                )),
            };
        }
        policy.check(field, raw)?;
        Ok(Self::Webhook(raw.to_owned()))
    }

    /// The target as the client wrote it (an `mns://` endpoint is kept as given).
    pub fn as_url(&self) -> String {
        match self {
            Self::Webhook(url) => url.clone(),
            Self::Queue { name, endpoint } => format!("mns://{endpoint}/queues/{name}"),
            Self::Topic { name, endpoint } => format!("mns://{endpoint}/topics/{name}"),
        }
    }
}

fn is_queue_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which webhook URLs may be called.
///
/// URLs are read by the same parser the HTTP client sends with (the WHATWG rules of the `url`
/// crate), so every spelling of an address is the address: `http://2852039166/`,
/// `http://0xa9fea9fe/`, `http://0251.0376.0251.0376/` and `http://169.254.169.254./` are all the
/// metadata address, and a backslash ends the host as it does for the sender. Cloud metadata,
/// link-local, unspecified, multicast and broadcast addresses are always refused; loopback and
/// private ranges unless [`allow_private`](Self::allow_private). Names are checked again when a
/// callback is sent, on every address they resolve to ([`check_address`](Self::check_address)),
/// and the connection goes to the address that was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookPolicy {
    /// Only `https://` targets when true (plain http stays allowed for private targets when
    /// those are allowed: a local receiver).
    pub require_https: bool,
    /// When not empty, the webhook host must equal one of these or end with `.` + one of them.
    pub allowed_hosts: Vec<String>,
    /// Loopback (`127.0.0.0/8`, `::1`, `localhost`), private (`10/8`, `172.16/12`, `192.168/16`,
    /// `fc00::/7`) and shared (`100.64/10`) addresses may be called: a receiver on this machine
    /// or network, during development. Off by default, and never on AWS.
    pub allow_private: bool,
}

impl WebhookPolicy {
    pub fn check(&self, field: &str, raw: &str) -> Result<()> {
        let refused = |why: String| {
            Error::forbidden(
                "NotifyTarget",
                format!("{field} {raw:?} is refused by the webhook policy: {why}"),
            )
        };
        let url = url::Url::parse(raw).map_err(|e| {
            Error::invalid_parameter(
                field,
                format!("{field} {raw:?} must be an http(s):// URL or mns://endpoint/queues/NAME ({e})"),
            )
        })?;
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(Error::invalid_parameter(
                field,
                format!("{field} {raw:?} has scheme {scheme:?}: use https, http or mns"),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused("credentials in the URL are not allowed".into()));
        }
        let (host, private) = match url.host() {
            None => return Err(Error::invalid_parameter(field, format!("{field} {raw:?} has no host"))),
            Some(url::Host::Ipv4(v4)) => {
                let ip = IpAddr::V4(v4);
                self.check_address(ip).map_err(refused)?;
                (v4.to_string(), is_private(ip))
            }
            Some(url::Host::Ipv6(v6)) => {
                let ip = IpAddr::V6(v6);
                self.check_address(ip).map_err(refused)?;
                (v6.to_string(), is_private(ip))
            }
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "metadata.google.internal" || name == "metadata" {
                    return Err(refused("cloud metadata hosts are never called".into()));
                }
                let local = name == "localhost" || name.ends_with(".localhost");
                if local && !self.allow_private {
                    return Err(refused(format!("{name} is this machine: {PRIVATE_HINT}")));
                }
                (name, local)
            }
        };
        if self.require_https && scheme != "https" && !(private && self.allow_private) {
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

    /// Whether a webhook may connect to `ip`; the reason when not.
    pub fn check_address(&self, ip: IpAddr) -> std::result::Result<(), String> {
        if is_never_allowed(ip) {
            return Err(format!("{ip} is a link-local, metadata, unspecified or multicast address"));
        }
        if is_private(ip) && !self.allow_private {
            return Err(format!("{ip} is a loopback or private address: {PRIVATE_HINT}"));
        }
        Ok(())
    }
}

/// What to change when a private target is refused.
const PRIVATE_HINT: &str = "send callbacks to a public host, or set webhooks.allow_private in the configuration for a local receiver";

/// Loopback, private, shared (carrier-grade NAT) and unique-local addresses.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback() || v4.is_private() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
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
        assert_eq!(
            q,
            NotifyTarget::Queue {
                name: "ipro-done".into(),
                endpoint: "123.mns.cn-shanghai.aliyuncs.com".into()
            }
        );
        assert_eq!(q.as_url(), "mns://123.mns.cn-shanghai.aliyuncs.com/queues/ipro-done");
        assert_eq!(
            NotifyTarget::parse("x", "mns://e/topics/t1", &p).unwrap(),
            NotifyTarget::Topic { name: "t1".into(), endpoint: "e".into() }
        );
        assert_eq!(
            NotifyTarget::parse("NotifyUrl", "mns://e/queues/../x", &p).unwrap_err().code(),
            "InvalidParameter.NotifyUrl"
        );
    }

    #[test]
    fn targets_stored_before_endpoints_were_kept_still_read() {
        let old: NotifyTarget = serde_json::from_str(r#"{"Queue":"done"}"#).unwrap();
        assert_eq!(old.as_url(), "mns://local/queues/done");
        let target = NotifyTarget::Topic { name: "t".into(), endpoint: "acct.mns.example".into() };
        let stored = serde_json::to_string(&target).unwrap();
        assert_eq!(serde_json::from_str::<NotifyTarget>(&stored).unwrap(), target);
        let hook: NotifyTarget = serde_json::from_str(r#"{"Webhook":"https://h.example/cb"}"#).unwrap();
        assert_eq!(hook, NotifyTarget::Webhook("https://h.example/cb".into()));
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
        let local = WebhookPolicy { allow_private: true, ..WebhookPolicy::default() };
        NotifyTarget::parse("NotifyUrl", "http://127.0.0.1:9000/cb", &local).unwrap();
        assert_eq!(
            NotifyTarget::parse("NotifyUrl", "file:///etc/passwd", &p).unwrap_err().code(),
            "InvalidParameter.NotifyUrl"
        );
    }

    #[test]
    fn every_spelling_of_a_refused_address_is_refused() {
        let p = WebhookPolicy::default();
        for raw in [
            // The metadata address in decimal, hex, octal, and with a trailing dot.
            "http://2852039166/",
            "http://0xa9fea9fe/",
            "http://0251.0376.0251.0376/",
            "http://169.254.169.254./",
            "http://169.254.169.254.:80/latest",
            "http://[::ffff:a9fe:a9fe]/",
        ] {
            let e = p.check("NotifyUrl", raw).unwrap_err();
            assert_eq!(e.code(), "Forbidden.NotifyTarget", "{raw}");
            assert!(e.message().contains("169.254.169.254"), "{raw}: {}", e.message());
        }
        // Loopback and private ranges in any spelling, refused by default.
        for raw in [
            "http://127.0.0.1:9000/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://017700000001/",
            "http://127.1/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://[::1]/",
            "http://10.0.0.8/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
        ] {
            let e = p.check("NotifyUrl", raw).unwrap_err();
            assert_eq!(e.code(), "Forbidden.NotifyTarget", "{raw}");
            assert!(e.message().contains("allow_private"), "{raw}: {}", e.message());
        }
        let local = WebhookPolicy { allow_private: true, ..WebhookPolicy::default() };
        local.check("NotifyUrl", "http://2130706433:8080/x").unwrap();
        assert!(local.check("NotifyUrl", "http://0xa9fea9fe/").is_err(), "metadata stays refused");
    }

    #[test]
    fn a_backslash_ends_the_host_as_the_sender_reads_it() {
        let p = WebhookPolicy { allowed_hosts: vec!["example.com".into()], ..WebhookPolicy::default() };
        for raw in ["http://evil.test\\.example.com/", "https://evil.test\\@hooks.example.com/"] {
            let e = p.check("NotifyUrl", raw).unwrap_err();
            assert_eq!(e.code(), "Forbidden.NotifyTarget", "{raw}: {}", e.message());
        }
        p.check("NotifyUrl", "https://hooks.example.com./x").unwrap();
    }

    #[test]
    fn allowed_hosts_and_https() {
        let p = WebhookPolicy {
            require_https: true,
            allowed_hosts: vec!["example.com".into()],
            allow_private: false,
        };
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
