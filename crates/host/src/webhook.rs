//! Webhook delivery, the same in both runtimes.

use std::net::SocketAddr;
use std::time::Duration;

use iprod_core::notify::WebhookPolicy;
use iprod_core::ports::Callback;
use iprod_core::signing::sign;
use iprod_core::{Error, Result, Timestamp};

/// POSTs callbacks to webhooks: no redirects (a target cannot bounce us elsewhere), a timeout,
/// the delivery id for de-duplication, and a Standard Webhooks signature (id, time and body)
/// when the target has a secret.
/// Both runtimes' notifiers deliver webhooks with it.
///
/// The policy is applied again at send time: a host name is resolved, every address it has must
/// pass, and the connection is pinned to a checked address (so a name that points at a private
/// address, or is rebound to one between the check and the connection, is not called).
#[derive(Clone)]
pub struct WebhookPoster {
    timeout: Duration,
    policy: WebhookPolicy,
    http: reqwest::Client,
}

impl WebhookPoster {
    pub fn new(timeout: Duration, policy: WebhookPolicy) -> Result<Self> {
        let http = Self::client(timeout, None)?;
        Ok(Self { timeout, policy, http })
    }

    /// A client; with `pinned`, the name connects to that address only.
    fn client(timeout: Duration, pinned: Option<(&str, SocketAddr)>) -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("iproduction/", env!("CARGO_PKG_VERSION")));
        if let Some((name, addr)) = pinned {
            builder = builder.resolve(name, addr);
        }
        builder.build().map_err(|e| Error::internal("cannot build the HTTP client").with_source(e))
    }

    /// The client for `url`: its host checked by the policy now, names on every address.
    async fn checked_client(&self, url: &str) -> Result<reqwest::Client> {
        self.policy.check("NotifyUrl", url)?;
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::invalid_parameter("NotifyUrl", format!("{url:?} is not a URL: {e}")))?;
        let Some(url::Host::Domain(name)) = parsed.host() else {
            return Ok(self.http.clone()); // an address, checked above
        };
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| Error::transient("Webhook", format!("cannot resolve {name}")).with_source(e))?
            .collect();
        let first = *addrs
            .first()
            .ok_or_else(|| Error::transient("Webhook", format!("{name} resolves to no address")))?;
        for addr in &addrs {
            self.policy.check_address(addr.ip()).map_err(|why| {
                Error::forbidden(
                    "NotifyTarget",
                    format!("POST {url} is refused by the webhook policy: {name} resolves to {why}"),
                )
            })?;
        }
        Self::client(self.timeout, Some((name, first)))
    }

    pub async fn post(&self, url: &str, callback: &Callback) -> Result<()> {
        let mut request = self
            .checked_client(url)
            .await?
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-IProduction-Delivery", &callback.delivery_id)
            .header("webhook-id", &callback.delivery_id)
            .body(callback.body.clone());
        if let Some(secret) = &callback.secret {
            // Signed at each attempt, with the time of that attempt: a retry an hour later is
            // still within the receiver's replay window.
            let now = Timestamp::now().unix_seconds();
            request = request.header("webhook-timestamp", now.to_string()).header(
                "webhook-signature",
                sign(secret, &callback.delivery_id, now, callback.body.as_bytes()),
            );
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::transient("Webhook", format!("POST {url} failed")).with_source(e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::transient("Webhook", format!("POST {url} answered {status}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use iprod_core::JobId;
    use iprod_core::notify::NotifyTarget;
    use iprod_core::ports::CallbackState;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A receiver on 127.0.0.1 that answers 200 and counts the requests it got.
    async fn receiver() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        (port, hits)
    }

    fn callback(url: &str) -> Callback {
        Callback {
            delivery_id: "d-1".into(),
            job_id: JobId::generate(),
            target: NotifyTarget::Webhook(url.into()),
            body: "{}".into(),
            secret: None,
            attempts: 0,
            state: CallbackState::Pending,
            last_error: None,
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_private_address_is_refused_when_sending() {
        // GIVEN a receiver on loopback, reached by this machine's own name (which passes the
        // URL check: it is neither an address nor `localhost`)
        let (port, hits) = receiver().await;
        let name = std::fs::read_to_string("/etc/hostname").unwrap_or_default().trim().to_owned();
        let resolved: Vec<SocketAddr> =
            tokio::net::lookup_host((name.as_str(), port)).await.unwrap().collect();
        assert!(
            !resolved.is_empty() && resolved.iter().all(|a| a.ip().is_loopback()),
            "this test needs the machine's name ({name}) to resolve to loopback only (Debian's \
             /etc/hosts maps it to 127.0.1.1); it resolves to {resolved:?}"
        );
        let url = format!("http://{name}:{port}/hook");
        WebhookPolicy::default().check("NotifyUrl", &url).unwrap();
        // WHEN a callback is sent under the default policy
        let poster = WebhookPoster::new(Duration::from_secs(5), WebhookPolicy::default()).unwrap();
        let e = poster.post(&url, &callback(&url)).await.unwrap_err();
        // THEN it is refused after resolving, and nothing reached the receiver
        assert_eq!(e.code(), "Forbidden.NotifyTarget", "{}", e.message());
        assert!(e.message().contains("resolves to"), "{}", e.message());
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
        // AND a policy that allows private targets delivers to the checked address
        let local = WebhookPolicy { allow_private: true, ..WebhookPolicy::default() };
        let poster = WebhookPoster::new(Duration::from_secs(5), local).unwrap();
        poster.post(&url, &callback(&url)).await.unwrap();
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
