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
            let is_json = content_type.is_some_and(|c| c.contains("json")) || body.first() == Some(&b'{');
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
}
