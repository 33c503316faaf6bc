//! Who is calling: the operator (the bearer token), a tenant (a request signed with one of its
//! access keys, either signature generation), or, on a server with neither configured, anyone.
//!
//! - No access key exists: as before keys existed, the bearer token applies when configured,
//!   and signatures are ignored (the SDKs can still talk to a loopback development server).
//! - Keys exist: every request is signed by an enabled key or carries the operator's token.
//!
//! Checks run in an order that reveals nothing the cloud's own codes do not: an unknown key is
//! `InvalidAccessKeyId.NotFound`; a known key is told apart from a wrong secret only once the
//! signature matches (then a disabled key is `Forbidden.AccessKeyDisabled`); the nonce is
//! recorded only for a valid signature, so nobody can burn another caller's nonces.

use axum::http::{HeaderMap, Method, Uri, header};
use iprod_core::{Error, ErrorClass, Result};

use crate::ApiState;
use crate::signature::{Scheme, Signed, incomplete};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The bearer token's holder: sees and may do everything.
    Operator,
    /// A request signed with an access key of this tenant.
    Tenant(String),
    /// No credentials on a server that asks for none (loopback development).
    Anonymous,
}

fn bearer_matches(expected: &str, headers: &HeaderMap) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Constant-time comparison: the token must not leak through response timing.
    given.is_some_and(|g| {
        g.len() == expected.len()
            && g.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    })
}

fn form_pairs(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if body.is_empty()
        || !media_type.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
    {
        return Vec::new();
    }
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub(crate) async fn authenticate(
    state: &ApiState,
    (method, uri, headers): (&Method, &Uri, &HeaderMap),
    body: &[u8],
) -> Result<Caller> {
    if let Some(token) = &state.api_token
        && bearer_matches(token, headers)
    {
        return Ok(Caller::Operator);
    }
    let keys = match &state.access_keys {
        Some(keys) if keys.any().await? => keys,
        _ => {
            return match &state.api_token {
                Some(_) => Err(Error::forbidden(
                    "Token",
                    "this service requires an API token: send Authorization: Bearer <token>",
                )),
                None => Ok(Caller::Anonymous),
            };
        }
    };
    let query: Vec<(String, String)> =
        uri.query().map(serde_urlencoded::from_str).transpose().ok().flatten().unwrap_or_default();
    let form = form_pairs(headers, body);
    let signed =
        Signed { method: method.as_str(), path: uri.path(), query: &query, form: &form, headers, body };
    let scheme = signed.scheme()?.ok_or_else(|| {
        incomplete("this service requires signed requests: sign with an AccessKeyId and AccessKeySecret (the SDKs do), or send the operator's bearer token")
    })?;
    let key_id = match &scheme {
        Scheme::V2 { key_id } => (*key_id).to_owned(),
        Scheme::V3 { key_id, .. } => key_id.clone(),
    };
    let key = keys.key(&key_id).await?.ok_or_else(|| {
        Error::new(
            ErrorClass::NotFound,
            "InvalidAccessKeyId.NotFound",
            format!("the AccessKeyId {key_id:?} does not exist"),
        )
    })?;
    let now = iprod_core::Timestamp::now().unix_seconds();
    let nonce = signed.verify(&scheme, &key.secret, now)?;
    if !key.enabled {
        return Err(Error::new(
            ErrorClass::Forbidden,
            "Forbidden.AccessKeyDisabled",
            format!("the AccessKeyId {key_id:?} is disabled: ask the operator, or use another key"),
        ));
    }
    if !keys.first_use(&key.id, &nonce, now).await? {
        return Err(Error::new(
            ErrorClass::Invalid,
            "SignatureNonceUsed",
            "this SignatureNonce was used already: every request needs a new one",
        ));
    }
    Ok(Caller::Tenant(key.tenant))
}
