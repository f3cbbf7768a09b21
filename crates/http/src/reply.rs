//! JSON responses written into one buffer of about their final size.
//!
//! axum's `Json` starts its buffer at 128 bytes and doubles it as it writes, copying
//! what it has each time: four copies for an Omnik case (about 2 KiB), seven for a
//! page of them. The hot read routes say how large their bodies usually are instead.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `value` as a JSON response body, serialized into a buffer of `capacity` bytes
/// (grown if the body is larger).
pub struct SizedJson<T>(pub T, pub usize);

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(self.1);
        match serde_json::to_writer(&mut buf, &self.0) {
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
}
