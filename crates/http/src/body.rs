//! Reading JSON request bodies so that every mistake names its field.
//!
//! `serde_path_to_error` gives the path of the value that failed (`items[0].quantity`);
//! a missing field is reported by serde on its parent, so we append the field's name.
//! Syntax errors name `body`. Oversized bodies become [`ApiError::PayloadTooLarge`].
//! The `Content-Type` is not checked: some vendor clients send none or a wrong one.

use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::envelope::{Envelope, Failure};
use crate::ApiError;

/// A JSON object body of type `T`, failures rendered in dialect `D`'s envelope.
/// Top-level arrays and scalars are refused here (serde would otherwise read a struct
/// from an array positionally).
pub struct JsonBody<T, D>(pub T, pub PhantomData<D>);

impl<T, D, S> FromRequest<S> for JsonBody<T, D>
where
    T: DeserializeOwned,
    D: Envelope,
    S: Send + Sync,
{
    type Rejection = Failure<D>;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_limited(req).await.map_err(Failure::new)?;
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | None => {}
            Some(_) => {
                return Err(Failure::new(ApiError::invalid(
                    "body",
                    "expected a JSON object",
                )));
            }
        }
        parse_json(&bytes)
            .map(|v| JsonBody(v, PhantomData))
            .map_err(Failure::new)
    }
}

/// Past the limit we keep reading (and discarding) up to this much, so the client,
/// which is still sending, can read our 413 instead of seeing a reset connection.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// Reads the body up to [`crate::MAX_BODY_BYTES`].
pub async fn read_limited(req: Request) -> Result<Bytes, ApiError> {
    use futures::StreamExt;
    let mut stream = req.into_body().into_data_stream();
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::invalid("body", "could not read the request body"))?;
        seen += chunk.len();
        if seen <= crate::MAX_BODY_BYTES {
            buf.extend_from_slice(&chunk);
        } else if seen > DRAIN_BYTES {
            break;
        }
    }
    if seen > crate::MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(buf.freeze())
}

/// Parses `bytes` as `T`, turning serde's error into a field-named [`ApiError`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::invalid("body", "a JSON body is required"));
    }
    // JSON may spell a NUL character `\u0000`; PostgreSQL cannot store one and no
    // vendor sends one, so refuse it here rather than fail in the database.
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(ApiError::invalid(
            "body",
            "contains a NUL character (\\u0000)",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let mut message = inner.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid("body", format!("malformed JSON: {message}"));
        }
        let mut field = if path == "." { String::new() } else { path };
        if let Some(rest) = message.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            field = if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            };
            message = "is required".into();
        }
        if field.is_empty() {
            field = "body".into();
        }
        ApiError::invalid(field, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        qty: i64,
        name: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    fn field_of(json: &str) -> String {
        parse_json::<Outer>(json.as_bytes())
            .unwrap_err()
            .field()
            .unwrap()
            .to_string()
    }

    #[test]
    fn names_the_field() {
        assert_eq!(
            field_of(r#"{"items":[{"qty":"x","name":"a"}]}"#),
            "items[0].qty"
        );
        assert_eq!(field_of(r#"{"items":[{"qty":1}]}"#), "items[0].name");
        assert_eq!(field_of(r#"{}"#), "items");
        assert_eq!(field_of(r#"{"items": [}"#), "body");
        assert_eq!(field_of(""), "body");
    }
}
