//! JSON responses written into one buffer of about their final size, fast.
//!
//! axum's `Json` starts its buffer at 128 bytes and doubles it as it writes, copying
//! what it has each time: four copies for an Omnik case (about 2 KiB), seven for a
//! page of them. The hot read routes say how large their bodies usually are instead.
//!
//! They are serialized by [`crate::json_writer`] rather than serde_json: the same
//! `Serialize` impls and the same bytes out (a test below holds it to serde_json's
//! output), with field names written as they are and strings checked for escapes
//! eight bytes at a time; serde_json's byte-at-a-time escaping of every key and value
//! was a fifth of the instructions of an Omnik case read.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `value` as a JSON response body, serialized into a buffer of `capacity` bytes
/// (grown if the body is larger).
pub struct SizedJson<T>(pub T, pub usize);

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(self.1);
        match crate::json_writer::to_writer(&mut buf, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                buf,
            )
                .into_response(),
            // Only a map with non-string keys fails to serialize; none of ours has one.
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_json_with_its_content_type() {
        let res = SizedJson(serde_json::json!({"a": [1, "dois"]}), 4).into_response();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(res.into_body(), 1 << 10)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"a":[1,"dois"]}"#);
    }

    /// Clients parse what serde_json wrote before; the bytes must not change.
    #[tokio::test]
    async fn writes_what_serde_json_writes() {
        let tricky = [
            "plain ascii",
            "aspas \" e barra \\ e / barra",
            "controles \u{0} \u{1f} \u{8} \u{c} \n \r \t \u{7f}",
            "acentuação: São Paulo, maçã, coração",
            "separadores \u{2028} \u{2029} e emoji 📦🚚",
            "uma linha longa o bastante para passar de dezesseis bytes com \"aspas\" no meio",
            "",
        ];
        let value = serde_json::json!({
            "strings": tricky,
            "numbers": [0, -1, 1234567890123_i64, u64::MAX],
            "nested": {"null": null, "bool": true, "empty": []},
        });
        let res = SizedJson(&value, 16).into_response();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
    }
}
