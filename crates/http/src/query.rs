//! Liberal query-string parsing shared by the dialects.
//!
//! Vendor clients send trailing `?`, repeated keys, PHP-style arrays
//! (`filters%5Bstatuses%5D%5B0%5D=NEW`) and parameters we do not know. We parse the raw
//! query into ordered pairs, never reject unknown keys, and let each handler pick what
//! it understands; PHP array keys are kept as sent (`filters[statuses][0]`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::convert::Infallible;

#[derive(Debug, Default, Clone)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn parse(raw: &str) -> QueryPairs {
        QueryPairs(
            form_urlencoded::parse(raw.as_bytes())
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value for `key`, ignoring empty values.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key` given either as `key=..` or as a PHP array `key[..]=..`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| {
                !v.is_empty()
                    && (k == key
                        || k.strip_prefix(key)
                            .is_some_and(|rest| rest.starts_with('[')))
            })
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryPairs::parse(parts.uri.query().unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_arrays_and_noise() {
        let q = QueryPairs::parse(
            "filters%5Bstatuses%5D%5B0%5D=NEW&filters%5Bstatuses%5D%5B1%5D=OLD&x=&status=READ&&",
        );
        assert_eq!(q.all("filters"), vec!["NEW", "OLD"]);
        assert_eq!(q.get("status"), Some("READ"));
        assert_eq!(q.get("x"), None);
        assert_eq!(QueryPairs::parse("").0.len(), 0);
    }
}
