//! Webhook signatures, the Standard Webhooks scheme (<https://www.standardwebhooks.com>): the
//! delivery id, the send time and the body are signed together, so a receiver that checks the
//! time against its clock and remembers the ids it has seen refuses a replayed delivery. Each
//! target has its own secret: the pipeline's target the pipeline's `Secret`, a job's own
//! `NotifyUrl` the job's `NotifySecret` (never the pipeline's).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// How far a delivery's timestamp may be from the receiver's clock (the scheme's default).
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The prefix of a secret given in the scheme's own form (`whsec_` + base64 of the key bytes).
const PREFIX: &str = "whsec_";
const MAX_SECRET_CHARS: usize = 256;
/// Shorter keys are guessable offline from one signed delivery.
const MIN_KEY_BYTES: usize = 16;

/// The key bytes of a secret: base64-decoded after `whsec_`, else its UTF-8 bytes.
fn key(secret: &str) -> Vec<u8> {
    match secret.strip_prefix(PREFIX) {
        Some(encoded) => STANDARD.decode(encoded).unwrap_or_else(|_| secret.as_bytes().to_vec()),
        None => secret.as_bytes().to_vec(),
    }
}

/// Checks a `Secret` / `NotifySecret` parameter.
pub fn check_secret(field: &str, secret: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid_parameter(
            field,
            format!(
                "{field} {why}: use `whsec_` followed by base64 of 24 to 64 random bytes (or at least \
                 {MIN_KEY_BYTES} printable characters)"
            ),
        ))
    };
    if secret.chars().count() > MAX_SECRET_CHARS || secret.chars().any(char::is_control) {
        return bad("must be at most 256 printable characters");
    }
    if let Some(encoded) = secret.strip_prefix(PREFIX)
        && STANDARD.decode(encoded).is_err()
    {
        return bad("starts with whsec_ but the rest is not base64");
    }
    if key(secret).len() < MIN_KEY_BYTES {
        return bad("is too short to resist guessing");
    }
    Ok(())
}

/// The `webhook-signature` header: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", STANDARD.encode(mac(secret, id, timestamp, body)))
}

fn mac(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key(secret)) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// What a receiver does: the timestamp within the replay window of `now` (Unix seconds), and one
/// of the space-separated `v1,` signatures matching (compared in constant time).
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    now: i64,
) -> Result<()> {
    let refused = |why: String| Err(Error::forbidden("Signature", why));
    let Ok(sent) = timestamp.trim().parse::<i64>() else {
        return refused(format!("webhook-timestamp {timestamp:?} is not Unix seconds"));
    };
    if (now - sent).abs() > REPLAY_WINDOW_SECS {
        return refused(format!(
            "the delivery was signed at {sent}, over {REPLAY_WINDOW_SECS} s from now ({now})"
        ));
    }
    let Ok(mut expected) = Hmac::<Sha256>::new_from_slice(&key(secret)) else {
        unreachable!("HMAC accepts keys of any length")
    };
    expected.update(format!("{id}.{sent}.").as_bytes());
    expected.update(body);
    let matches = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|given| STANDARD.decode(given).is_ok_and(|given| expected.clone().verify_slice(&given).is_ok()));
    if matches { Ok(()) } else { refused("no signature matches the secret".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn signatures_match_the_reference_implementation() {
        // Printed by the `standardwebhooks` Python package (PyPI) for these inputs.
        assert_eq!(sign(SECRET, ID, 1614265330, BODY), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_receiver_refuses_replays_tampering_and_other_secrets() {
        let signature = sign(SECRET, ID, 1_000_000, BODY);
        assert!(verify(SECRET, ID, "1000000", BODY, &signature, 1_000_100).is_ok());
        // Several signatures (a secret being rotated): one match is enough.
        assert!(verify(SECRET, ID, "1000000", BODY, &format!("v1,AAAA {signature}"), 1_000_000).is_ok());
        for (id, ts, body, now) in [
            (ID, "1000000", BODY, 1_000_000 + REPLAY_WINDOW_SECS + 1), // replayed later
            ("msg_other", "1000000", BODY, 1_000_000),                 // another delivery's id
            (ID, "1000001", BODY, 1_000_000),                          // the time changed
            (ID, "1000000", &br#"{"test": 1}"#[..], 1_000_000),        // the body changed
        ] {
            let e = verify(SECRET, id, ts, body, &signature, now).unwrap_err();
            assert_eq!(e.code(), "Forbidden.Signature");
        }
        let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(verify(other, ID, "1000000", BODY, &signature, 1_000_000).is_err());
    }

    #[test]
    fn secrets_are_checked() {
        assert!(check_secret("Secret", SECRET).is_ok());
        assert!(check_secret("Secret", "a long enough plain secret").is_ok());
        for bad in ["short", "whsec_!!!", "whsec_AAAA", &"x".repeat(300), "line\nbreak in a secret"] {
            assert_eq!(check_secret("Secret", bad).unwrap_err().code(), "InvalidParameter.Secret", "{bad}");
        }
    }
}
