//! Request parameters: PascalCase names from the query string, a form body or a JSON body,
//! merged (the body wins over the query string).

use std::collections::HashMap;

use iprod_core::{Error, Result};
use serde_json::Value;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Result<Self> {
        let mut map: HashMap<String, String> = HashMap::new();
        if let Some(query) = query {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| {
                Error::invalid_parameter("Query", format!("the query string is not valid: {e}"))
            })?;
            map.extend(pairs);
        }
        if !body.is_empty() {
            // JSON only as application/json: a web page can send text/plain (or no type) to any
            // origin without asking, so a JSON-looking body of another type is refused, not read.
            let media_type =
                content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            let is_json = media_type == "application/json" || media_type.ends_with("+json");
            let is_form = media_type == "application/x-www-form-urlencoded" || media_type.is_empty();
            if !is_json && !is_form || (media_type.is_empty() && body.first() == Some(&b'{')) {
                return Err(Error::invalid_parameter(
                    "ContentType",
                    format!(
                        "a body of type {:?} is not read: send application/json or \
                         application/x-www-form-urlencoded",
                        content_type.unwrap_or("(none)")
                    ),
                ));
            }
            if is_json {
                let value: Value = serde_json::from_slice(body).map_err(|e| {
                    Error::invalid_parameter("Body", format!("the JSON body is not valid: {e}"))
                })?;
                let Value::Object(fields) = value else {
                    return Err(Error::invalid_parameter(
                        "Body",
                        "the JSON body must be an object of parameters",
                    ));
                };
                for (name, value) in fields {
                    // Clients often send JobParams as an object rather than a JSON string.
                    let text = match value {
                        Value::String(s) => s,
                        Value::Null => continue,
                        other => other.to_string(),
                    };
                    map.insert(name, text);
                }
            } else {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
                    Error::invalid_parameter("Body", format!("the form body is not valid: {e}"))
                })?;
                map.extend(pairs);
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_form_and_json() {
        let p = Params::parse(
            Some("Action=A&JobId=1"),
            Some("application/x-www-form-urlencoded"),
            b"JobId=2&X=%7B%7D",
        )
        .unwrap();
        assert_eq!((p.get("Action"), p.get("JobId"), p.get("X")), (Some("A"), Some("2"), Some("{}")));
        let p = Params::parse(
            None,
            Some("application/json"),
            br#"{"Action":"B","JobParams":{"Model":"gif"},"N":null}"#,
        )
        .unwrap();
        assert_eq!(p.get("JobParams"), Some(r#"{"Model":"gif"}"#));
        assert_eq!(p.get("N"), None);
        assert_eq!(
            Params::parse(None, Some("application/json"), b"{bad").unwrap_err().code(),
            "InvalidParameter.Body"
        );
    }

    #[test]
    fn json_is_read_only_as_application_json() {
        // The CSRF: a page posts text/plain (or a typeless blob) holding JSON to another origin.
        let json = br#"{"Action":"AddPipeline","Name":"x"}"#;
        for content_type in
            [Some("text/plain"), Some("text/plain;charset=UTF-8"), None, Some("multipart/form-data")]
        {
            let e = Params::parse(None, content_type, json).unwrap_err();
            assert_eq!(e.code(), "InvalidParameter.ContentType", "{content_type:?}");
            assert!(e.message().contains("application/json"), "{}", e.message());
        }
        let p = Params::parse(None, Some("application/json; charset=utf-8"), json).unwrap();
        assert_eq!(p.get("Action"), Some("AddPipeline"));
        // A form without a type (curl -d sends one; some clients do not) is still a form.
        assert_eq!(Params::parse(None, None, b"Action=B").unwrap().get("Action"), Some("B"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]

        /// Any query, type and body is answered: parameters, or a coded InvalidParameter.
        #[test]
        fn any_request_is_answered_with_parameters_or_a_coded_refusal(
            query in proptest::option::of("[ -~]{0,60}"),
            content_type in proptest::option::of(proptest::sample::select(vec![
                "application/json", "application/x-www-form-urlencoded", "text/plain",
                "application/json; charset=utf-8", "multipart/form-data", "",
            ])),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            json_like in "\\{[ -~]{0,60}\\}?",
        ) {
            for body in [body.as_slice(), json_like.as_bytes()] {
                if let Err(e) = Params::parse(query.as_deref(), content_type, body) {
                    proptest::prop_assert!(e.code().starts_with("InvalidParameter."), "{}", e.code());
                }
            }
        }
    }
}
