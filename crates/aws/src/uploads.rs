//! Storage-upload-triggered processing on AWS: an S3 `ObjectCreated` event whose key matches a
//! trigger rule (the same rules as embedded, from `IPROD_TRIGGERS`) submits a job.
//!
//! Events are read leniently from JSON rather than through `aws_lambda_events`' `S3Event`,
//! which requires fields (`userIdentity`, `requestParameters`, `responseElements`) that S3
//! emulators omit. Keys arrive URL-encoded with `+` for spaces. Each submit carries a ClientToken
//! from the bucket, key, ETag and sequencer, so a duplicate delivery of one upload makes one job.

use iprod_core::service::JobService;
use iprod_core::trigger::TriggerRule;
use iprod_core::{Error, Result, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

/// What became of one record of an S3 event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    Submitted {
        key: String,
        job_id: String,
    },
    /// No rule matches the bucket and key (or it is not an ObjectCreated record).
    Ignored {
        key: String,
    },
    /// A rule matched but the submit was refused (a bad key, a full bucket policy…).
    Refused {
        key: String,
        code: String,
        message: String,
    },
}

/// Parses `IPROD_TRIGGERS`: a JSON array of rules; each is validated (no rule may write under
/// its own prefix).
pub fn parse_rules(raw: &str) -> Result<Vec<TriggerRule>> {
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    let rules: Vec<TriggerRule> = serde_json::from_str(raw).map_err(|e| {
        Error::invalid_parameter(
            "Trigger",
            format!("IPROD_TRIGGERS is not a JSON array of trigger rules: {e}"),
        )
    })?;
    for rule in &rules {
        rule.validate()?;
    }
    Ok(rules)
}

/// Undoes S3's event key encoding: `+` is a space, `%XX` a byte (UTF-8 sequences included).
pub fn decode_key(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an event is one S3 sent (a `Records` list from `aws:s3`, or S3's test event).
pub fn is_s3_event(event: &Value) -> bool {
    event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
        || event["Records"].as_array().is_some_and(|records| {
            records.iter().any(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:s3"))
        })
}

/// Submits a job for every created object that a rule matches.
pub async fn submit_uploads(
    service: &JobService,
    rules: &[TriggerRule],
    event: &Value,
) -> Vec<UploadOutcome> {
    let mut outcomes = Vec::new();
    for record in event["Records"].as_array().into_iter().flatten() {
        let name = record["eventName"].as_str().unwrap_or("");
        let bucket = record["s3"]["bucket"]["name"].as_str().unwrap_or("");
        let key = decode_key(record["s3"]["object"]["key"].as_str().unwrap_or(""));
        let rule = rules.iter().find(|r| r.bucket == bucket && key.starts_with(&r.prefix));
        let (true, Some(rule)) = (name.starts_with("ObjectCreated:"), rule) else {
            outcomes.push(UploadOutcome::Ignored { key });
            continue;
        };
        let object = &record["s3"]["object"];
        let identity = format!(
            "{bucket}\0{key}\0{}\0{}",
            object["eTag"].as_str().unwrap_or(""),
            object["sequencer"].as_str().unwrap_or("")
        );
        let input = format!("oss://{bucket}/{key}");
        let request = rule.request(&input, &hex::encode(Sha256::digest(identity)));
        match service.submit(request, Timestamp::now(), &iprod_core::tenant::Scope::All).await {
            Ok(job) => {
                info!(%input, job = %job.id, "upload submitted a job");
                outcomes.push(UploadOutcome::Submitted { key, job_id: job.id.to_string() });
            }
            Err(e) => {
                warn!(%input, error = %e, "upload could not be submitted");
                outcomes.push(UploadOutcome::Refused {
                    key,
                    code: e.code().to_owned(),
                    message: e.message().to_owned(),
                });
            }
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded_with_plus_as_space() {
        assert_eq!(decode_key("in/my+clip+%C3%BC%2B1.mp4"), "in/my clip ü+1.mp4");
        assert_eq!(decode_key("in%2Fa.jpg"), "in/a.jpg");
        assert_eq!(decode_key("100%"), "100%");
        assert_eq!(decode_key("bad%zzx"), "bad%zzx");
    }

    #[test]
    fn rules_are_checked() {
        assert!(parse_rules("").unwrap().is_empty());
        assert_eq!(parse_rules("{").unwrap_err().code(), "InvalidParameter.Trigger");
        let looping = r#"[{"bucket":"media","prefix":"in/","function_name":"ImageMatting","output":"oss://media/in/x/{source}.png"}]"#;
        assert_eq!(parse_rules(looping).unwrap_err().code(), "InvalidParameter.Trigger");
    }

    #[test]
    fn s3_events_are_recognised() {
        assert!(is_s3_event(&serde_json::json!({"Event": "s3:TestEvent"})));
        assert!(is_s3_event(&serde_json::json!({"Records": [{"eventSource": "aws:s3"}]})));
        assert!(!is_s3_event(&serde_json::json!({"Records": [{"eventSource": "aws:sqs"}]})));
        assert!(!is_s3_event(&serde_json::json!({"version": "2.0", "rawPath": "/"})));
    }
}
