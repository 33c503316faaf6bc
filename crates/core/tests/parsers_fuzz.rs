//! Property tests for the parsers that take what clients send: object URLs, output templates,
//! JobParams and the webhook URL policy. Whatever the input, they answer (never panic), and what
//! they accept keeps the invariants the adapters rely on. Bounded to a few hundred cases each so
//! they fit in `make test`.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use iprod_core::FunctionName;
use iprod_core::notify::{NotifyTarget, WebhookPolicy};
use iprod_core::object_url::{MAX_KEY_BYTES, MAX_SEGMENT_BYTES, ObjectUrl};
use iprod_core::params::{JobParams, MAX_OUTPUT_PIXELS, MAX_OUTPUT_WIDTH, height_for};
use iprod_core::template::OutputTemplate;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 400, ..ProptestConfig::default() }
}

/// Strings made of the characters that matter to URL and key parsing.
fn url_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r"(oss|s3|http|https|mns|ftp)?(://)?[a-zA-Z0-9./\\%@:?#{}\[\]_ -]{0,80}")
        .unwrap()
}

const FUNCTIONS: [FunctionName; 7] = [
    FunctionName::VideoH2V,
    FunctionName::VideoClip,
    FunctionName::ImageMatting,
    FunctionName::ImageH2V,
    FunctionName::VideoDelogo,
    FunctionName::ImageDelogo,
    FunctionName::Cover,
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn object_urls_either_fail_with_a_code_or_hold_safe_keys(raw in url_like()) {
        match ObjectUrl::parse("Input", &raw) {
            Ok(url) => {
                prop_assert!(!url.key.is_empty() && url.key.len() <= MAX_KEY_BYTES);
                for segment in url.key.split('/') {
                    prop_assert!(!segment.is_empty() && segment != "." && segment != "..");
                    prop_assert!(segment.len() <= MAX_SEGMENT_BYTES);
                }
                prop_assert!(!url.key.contains('\\') && !url.key.chars().any(char::is_control));
            }
            Err(e) => prop_assert_eq!(e.code(), "InvalidParameter.Input"),
        }
    }

    #[test]
    fn output_templates_expand_only_to_safe_keys(raw in url_like(), name in "[a-zA-Z0-9 ._-]{1,300}") {
        let input = ObjectUrl { bucket: "media".into(), key: format!("in/{name}") };
        if let Ok(template) = OutputTemplate::parse(&raw) {
            for (index, count) in [(0, 1), (3, 5)] {
                if let Ok(out) = template.expand(&input, 1_700_000_000, index, count) {
                    prop_assert!(out.key.len() <= MAX_KEY_BYTES);
                    prop_assert!(out.key.split('/').all(|s| !s.is_empty() && s != "." && s != ".." && s.len() <= MAX_SEGMENT_BYTES));
                }
            }
        }
    }

    #[test]
    fn job_params_answer_any_json_and_bound_the_output(
        function in 0usize..7,
        aspect_w in 0u32..150,
        aspect_h in 0u32..150,
        width in 0u64..20_000,
        noise in "[ -~]{0,60}",
    ) {
        let function = FUNCTIONS[function];
        let shaped = format!(r#"{{"Aspect":"{aspect_w}:{aspect_h}","Width":{width}}}"#);
        for raw in [shaped.as_str(), noise.as_str()] {
            match JobParams::parse(function, raw) {
                Ok(JobParams::ImageH2V { aspect, width: Some(w) } | JobParams::VideoH2V { aspect, width: Some(w) }) => {
                    let h = height_for(w, aspect);
                    prop_assert!(w <= MAX_OUTPUT_WIDTH && h <= u64::from(MAX_OUTPUT_WIDTH));
                    prop_assert!(u64::from(w) * h <= MAX_OUTPUT_PIXELS);
                }
                Ok(_) => {}
                Err(e) => prop_assert!(e.code().starts_with("InvalidParameter."), "{}", e.code()),
            }
        }
    }

    #[test]
    fn the_webhook_policy_never_lets_a_refused_address_through(
        raw in url_like(),
        // First octets of the refused ranges (and a few public ones), so refusals are tried often.
        first in prop::sample::select(vec![0u8, 10, 100, 127, 169, 172, 192, 224, 255, 8, 93, 203]),
        rest in any::<[u8; 3]>(),
        form in 0usize..4,
    ) {
        let policy = WebhookPolicy::default();
        let octets = [first, rest[0], rest[1], rest[2]];
        let ip = std::net::Ipv4Addr::from(octets);
        // The same address in the spellings a URL parser accepts.
        let number = u32::from(ip);
        let host = match form {
            0 => ip.to_string(),
            1 => number.to_string(),
            2 => format!("{number:#x}"),
            _ => format!("{ip}."),
        };
        let url = format!("http://{host}/hook");
        let refused = ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
            || ip.is_multicast() || ip.is_broadcast() || (octets[0] == 100 && (64..128).contains(&octets[1]));
        let verdict = policy.check("NotifyUrl", &url);
        if refused {
            prop_assert!(verdict.is_err(), "{url} ({ip}) was let through");
        }
        // Any input answers with a target or a coded refusal.
        match NotifyTarget::parse("NotifyUrl", &raw, &policy) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.code() == "InvalidParameter.NotifyUrl" || e.code() == "Forbidden.NotifyTarget", "{}", e.code()),
        }
    }
}
