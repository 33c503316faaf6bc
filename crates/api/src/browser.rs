//! Requests a browser makes on a web page's behalf. A server on loopback without a token is
//! reachable from any page the user opens: by DNS rebinding (a name the attacker controls,
//! re-pointed at 127.0.0.1, so the page is "same-origin" with this server) and by cross-site
//! requests that need no preflight (a form post, a `text/plain` fetch, an image URL).
//!
//! - The `Host` header must be an IP address, `localhost`, or a configured name: a rebinding
//!   page's requests carry the attacker's name.
//! - Writes must not come from another origin: an `Origin` header must be this server's own, and
//!   `Sec-Fetch-Site` (sent by current browsers, also for image and link requests) must not say
//!   `cross-site` or `same-site`.
//! - JSON bodies are read only as `application/json`, which a page cannot send to another origin
//!   without a preflight this server never answers (see `params`).

use std::net::IpAddr;

use axum::http::{HeaderMap, header};
use iprod_core::{Error, Result};

/// The host part of a `Host` header or an origin's authority (no port, no brackets), lowercase.
fn host_part(authority: &str) -> String {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(h, _)| h)
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Refuses a `Host` that is not an address, `localhost` or one of `allowed`.
pub(crate) fn check_host(headers: &HeaderMap, allowed: &[String]) -> Result<()> {
    let Some(raw) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return Ok(()); // HTTP/1.0 without Host: no browser sends that
    };
    let host = host_part(raw);
    let known = host.parse::<IpAddr>().is_ok()
        || host == "localhost"
        || allowed.iter().any(|a| a.trim_end_matches('.').eq_ignore_ascii_case(&host));
    if known {
        Ok(())
    } else {
        Err(Error::forbidden(
            "Host",
            format!(
                "this server does not answer to the name {host:?}: call it by its address or localhost, \
                 or add the name to server.allowed_hosts in the configuration"
            ),
        ))
    }
}

/// Refuses a write that a browser sent from another origin.
pub(crate) fn check_same_origin(headers: &HeaderMap) -> Result<()> {
    let refused = |why: String| {
        Error::forbidden(
            "CrossOrigin",
            format!("{why}: this API does not take writes from web pages of other origins"),
        )
    };
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("");
    if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
        return Err(refused(format!("the request came from another site (Sec-Fetch-Site: {site})")));
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(()); // not a browser, or a same-origin navigation
    };
    let own = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let authority = origin.split_once("://").map_or("", |(_, rest)| rest.trim_end_matches('/'));
    if !own.is_empty() && authority.eq_ignore_ascii_case(own) {
        Ok(())
    } else {
        Err(refused(format!("the request came from the page origin {origin:?}, not from {own:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn hosts_are_addresses_localhost_or_configured_names() {
        for ok in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "10.0.0.5", "LOCALHOST."] {
            check_host(&headers(&[("host", ok)]), &[]).unwrap();
        }
        let e = check_host(&headers(&[("host", "rebind.attacker.example:8080")]), &[]).unwrap_err();
        assert_eq!(e.code(), "Forbidden.Host");
        assert!(e.message().contains("server.allowed_hosts"), "{}", e.message());
        check_host(&headers(&[("host", "media-box:8080")]), &["media-box".into()]).unwrap();
    }

    #[test]
    fn writes_from_other_origins_are_refused() {
        let same = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")]);
        check_same_origin(&same).unwrap();
        check_same_origin(&headers(&[("host", "127.0.0.1:8080")])).unwrap();
        for h in [
            headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:9999")]),
            headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]),
        ] {
            assert_eq!(check_same_origin(&h).unwrap_err().code(), "Forbidden.CrossOrigin", "{h:?}");
        }
    }
}
