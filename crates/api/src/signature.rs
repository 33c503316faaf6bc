//! The cloud's request signatures, both generations, so its own SDKs can call this service with
//! an access key:
//!
//! - **V2** (`aliyun-python-sdk-core` and its kin): `Signature` is the base64 HMAC-SHA1, keyed
//!   with `secret + "&"`, of `METHOD&%2F&` + the percent-encoded canonical query (every parameter
//!   but `Signature`, sorted, `key=value` percent-encoded and joined by `&`). `Timestamp` and
//!   `SignatureNonce` are parameters.
//! - **V3** (`alibabacloud-*` Tea SDKs): `Authorization: ACS3-HMAC-SHA256 Credential=ID,
//!   SignedHeaders=…,Signature=HEX` over the canonical request (method, path, sorted query,
//!   the signed headers, the body's SHA-256 from `x-acs-content-sha256`). `x-acs-date` and
//!   `x-acs-signature-nonce` are headers.
//!
//! The SDKs' source (in their PyPI packages) is the reference these follow; the tests drive the
//! real SDKs. A request is accepted within 15 minutes of its timestamp, and a nonce only once in
//! that window.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use iprod_core::access::MAX_SKEW_SECS;
use iprod_core::{Error, ErrorClass, Result};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The API version the SDKs send; any other is refused.
pub const API_VERSION: &str = "2014-06-18";

/// The request as signed: method, path, the decoded query pairs, the decoded form-body pairs,
/// the headers and the raw body.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub form: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Which generation signed a request, if any.
pub enum Scheme<'a> {
    V2 { key_id: &'a str },
    V3 { key_id: String, signed_headers: String, signature: String },
}

fn error(class: ErrorClass, code: &'static str, message: impl Into<String>) -> Error {
    Error::new(class, code, message)
}

pub fn incomplete(message: impl Into<String>) -> Error {
    error(ErrorClass::Invalid, "IncompleteSignature", message)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

impl<'a> Signed<'a> {
    /// The scheme the request claims, from its `Authorization` header or `Signature` parameter.
    pub fn scheme(&self) -> Result<Option<Scheme<'a>>> {
        if let Some(auth) = header(self.headers, "authorization").filter(|a| a.starts_with("ACS3-")) {
            let rest = auth
                .strip_prefix("ACS3-HMAC-SHA256 ")
                .ok_or_else(|| incomplete("only ACS3-HMAC-SHA256 is supported among the ACS3 signatures"))?;
            let field = |name: &str| {
                rest.split(',')
                    .filter_map(|part| part.trim().split_once('='))
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_owned())
                    .ok_or_else(|| incomplete(format!("the Authorization header has no {name}")))
            };
            return Ok(Some(Scheme::V3 {
                key_id: field("Credential")?,
                signed_headers: field("SignedHeaders")?,
                signature: field("Signature")?,
            }));
        }
        if param(self.query, "Signature").or(param(self.form, "Signature")).is_some() {
            let key_id = param(self.query, "AccessKeyId")
                .or(param(self.form, "AccessKeyId"))
                .ok_or_else(|| incomplete("a signed request needs AccessKeyId"))?;
            return Ok(Some(Scheme::V2 { key_id }));
        }
        Ok(None)
    }

    fn all_params(&self) -> impl DoubleEndedIterator<Item = &(String, String)> {
        self.query.iter().chain(self.form)
    }

    /// Checks the signature with `secret`, the timestamp against `now` (Unix seconds); returns the
    /// nonce to record.
    pub fn verify(&self, scheme: &Scheme<'_>, secret: &str, now: i64) -> Result<String> {
        let (timestamp, nonce) = match scheme {
            Scheme::V2 { .. } => {
                let given = self.all_params().rev().find(|(k, _)| k == "Signature").map(|(_, v)| v.as_str());
                let expected = v2_signature(secret, &v2_string_to_sign(self.method, self.all_params()));
                if !given.is_some_and(|g| same(g, &expected)) {
                    return Err(mismatch());
                }
                let get =
                    |name: &str| self.all_params().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                (get("Timestamp"), get("SignatureNonce"))
            }
            Scheme::V3 { signed_headers, signature, .. } => {
                let payload = header(self.headers, "x-acs-content-sha256")
                    .ok_or_else(|| incomplete("a V3 signature needs the x-acs-content-sha256 header"))?;
                if !same(payload, &hex(&Sha256::digest(self.body))) {
                    return Err(mismatch());
                }
                let canonical = v3_canonical_request(self, signed_headers, payload)?;
                if !same(signature, &v3_signature(secret, &canonical)) {
                    return Err(mismatch());
                }
                let get = |name: &str| header(self.headers, name).map(str::to_owned);
                (get("x-acs-date"), get("x-acs-signature-nonce"))
            }
        };
        let timestamp = timestamp.ok_or_else(|| incomplete("a signed request needs its timestamp"))?;
        let at = time::OffsetDateTime::parse(&timestamp, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                error(
                    ErrorClass::Invalid,
                    "InvalidTimeStamp.Format",
                    format!("the timestamp {timestamp:?} is not ISO 8601 UTC (YYYY-MM-DDThh:mm:ssZ)"),
                )
            })?
            .unix_timestamp();
        if (now - at).abs() > MAX_SKEW_SECS {
            return Err(error(
                ErrorClass::Invalid,
                "InvalidTimeStamp.Expired",
                format!(
                    "the request was signed at {timestamp}, more than 15 minutes from the server's clock"
                ),
            ));
        }
        nonce.filter(|n| !n.is_empty()).ok_or_else(|| incomplete("a signed request needs a signature nonce"))
    }
}

fn mismatch() -> Error {
    error(
        ErrorClass::Invalid,
        "SignatureDoesNotMatch",
        "the request signature does not match: check the AccessKeySecret and that the request was not changed",
    )
}

/// Compares in constant time (for equal lengths).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~`, as the SDKs encode.
pub fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn v2_string_to_sign<'p>(method: &str, params: impl Iterator<Item = &'p (String, String)>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs.dedup_by(|a, b| a.0 == b.0);
    let canonical: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}&%2F&{}", percent_encode(&canonical.join("&")))
}

pub fn v2_signature(secret: &str, string_to_sign: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn v3_canonical_request(request: &Signed<'_>, signed_headers: &str, payload: &str) -> Result<String> {
    let mut query: Vec<(&str, String)> =
        request.query.iter().map(|(k, v)| (k.as_str(), percent_encode(v))).collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<&str> =
            request.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        if values.is_empty() {
            return Err(incomplete(format!("the signed header {name} is missing")));
        }
        let mut values: Vec<&str> = values.into_iter().map(str::trim).collect();
        values.sort_unstable();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(format!(
        "{}\n{}\n{}\n{headers}\n{signed_headers}\n{payload}",
        request.method,
        request.path,
        query.join("&")
    ))
}

pub fn v3_signature(secret: &str, canonical_request: &str) -> String {
    let to_sign = format!("ACS3-HMAC-SHA256\n{}", hex(&Sha256::digest(canonical_request.as_bytes())));
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(raw).unwrap()
    }

    #[test]
    fn a_v2_request_captured_from_the_old_sdk_verifies() {
        // Sent by aliyun-python-sdk-core 2.16.1 (aliyun-python-sdk-mts 3.3.46), secret "SECRET".
        let query = pairs(
            "FunctionName=VideoH2V&Input=oss%3A%2F%2Fmedia%2Fin%2Fa.mp4&Output=oss%3A%2F%2Fmedia%2Fout%2F%7Bsource%7D.mp4&Version=2014-06-18&Action=SubmitIProductionJob&Format=JSON&RegionId=cn-shanghai&Timestamp=2026-12-04T19%3A04%3A02Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=4f76910ea4dddbe116accb6abf6cadd5&AccessKeyId=AKID&Signature=yUCx5GZQZK21KZ3CmacHW%2BAyurs%3D",
        );
        let headers = HeaderMap::new();
        let signed =
            Signed { method: "POST", path: "/", query: &query, form: &[], headers: &headers, body: b"" };
        let scheme = signed.scheme().unwrap().unwrap();
        let at = 1_796_411_042; // 2026-12-04T19:04:02Z
        assert_eq!(signed.verify(&scheme, "SECRET", at).unwrap(), "4f76910ea4dddbe116accb6abf6cadd5");
        assert_eq!(signed.verify(&scheme, "OTHER", at).unwrap_err().code(), "SignatureDoesNotMatch");
        let late = signed.verify(&scheme, "SECRET", at + MAX_SKEW_SECS + 1).unwrap_err();
        assert_eq!(late.code(), "InvalidTimeStamp.Expired");
    }

    #[test]
    fn a_v3_request_captured_from_the_current_sdk_verifies() {
        // Sent by alibabacloud-mts20140618 6.0.3 (tea-openapi 0.4.6), secret "SECRET".
        let query = pairs(
            "FunctionName=VideoH2V&Input=oss%3A%2F%2Fmedia%2Fin%2Fa.mp4&JobParams=%7B%22Aspect%22%3A%229%3A16%22%7D&Output=oss%3A%2F%2Fmedia%2Fout%2F%7Bsource%7D.mp4&ScheduleParams=%7B%22Priority%22%3A5%7D",
        );
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("host", "127.0.0.1:8765"),
            ("x-acs-version", "2014-06-18"),
            ("x-acs-action", "SubmitIProductionJob"),
            ("user-agent", "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"),
            ("x-acs-date", "2026-12-04T19:04:02Z"),
            ("x-acs-signature-nonce", "1b98418333f3efd22685e97b044c7f45"),
            ("accept", "application/json"),
            ("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("x-acs-credentials-provider", "static_ak"),
            (
                "authorization",
                "ACS3-HMAC-SHA256 Credential=AKID,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=f0ce5992573a0048b0c4d2dd9026ee35230e0886a84afee09599188738b83fe1",
            ),
        ] {
            headers.insert(k, v.parse().unwrap());
        }
        let signed =
            Signed { method: "POST", path: "/", query: &query, form: &[], headers: &headers, body: b"" };
        let scheme = signed.scheme().unwrap().unwrap();
        let at = 1_796_411_042;
        assert_eq!(signed.verify(&scheme, "SECRET", at).unwrap(), "1b98418333f3efd22685e97b044c7f45");
        assert_eq!(signed.verify(&scheme, "OTHER", at).unwrap_err().code(), "SignatureDoesNotMatch");
        // A body that is not the one hashed is refused too.
        let changed = Signed { body: b"x", ..signed };
        assert_eq!(changed.verify(&scheme, "SECRET", at).unwrap_err().code(), "SignatureDoesNotMatch");
    }

    #[test]
    fn a_nonce_is_accepted_once_within_the_window() {
        use iprod_core::access::NonceMemory;
        let memory = NonceMemory::default();
        assert!(memory.first_use("AKID", "n1", 1000));
        assert!(!memory.first_use("AKID", "n1", 1100));
        assert!(memory.first_use("OTHER", "n1", 1100), "per key");
        assert!(memory.first_use("AKID", "n1", 1000 + 2 * MAX_SKEW_SECS + 1), "forgotten after the window");
    }
}
