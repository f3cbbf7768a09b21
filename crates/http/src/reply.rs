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
//! was a fifth of the instructions of an Omnik case read. `[http] fast_json = false`
//! ([`crate::HttpOptions::fast_json`]) writes them with serde_json instead: the JSON
//! writer holds the crate's only unsafe code.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

tokio::task_local! {
    /// Whether the request being served writes [`SizedJson`] with the JSON writer. A
    /// task-local rather than a process-wide flag, so two servers in one process (the
    /// tests) can differ; set around every request by the JSON edge.
    static FAST_JSON: bool;
}

/// Runs `handler` (one request) with the `fast_json` setting in force.
pub(crate) async fn serving<F: std::future::Future>(fast_json: bool, handler: F) -> F::Output {
    FAST_JSON.scope(fast_json, handler).await
}

/// `value` as a JSON response body, serialized into a buffer of `capacity` bytes
/// (grown if the body is larger).
pub struct SizedJson<T>(pub T, pub usize);

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(self.1);
        // Outside a served request (unit tests) the default, the JSON writer.
        let written = if FAST_JSON.try_with(|on| *on).unwrap_or(true) {
            crate::json_writer::to_writer(&mut buf, &self.0).map_err(|e| e.to_string())
        } else {
            serde_json::to_writer(&mut buf, &self.0).map_err(|e| e.to_string())
        };
        match written {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                buf,
            )
                .into_response(),
            // Only a map with non-string keys fails to serialize; none of ours has one.
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
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

    /// The switch reaches the writer: a field name the JSON writer copies unescaped
    /// (none of ours needs escaping, see `json_writer`) tells the two apart.
    #[tokio::test]
    async fn fast_json_off_writes_with_serde_json() {
        #[derive(Serialize)]
        struct Probe {
            #[serde(rename = "a\"b")]
            field: u8,
        }
        let body = |fast: bool| {
            serving(fast, async {
                let res = SizedJson(Probe { field: 1 }, 4).into_response();
                axum::body::to_bytes(res.into_body(), 1 << 10)
                    .await
                    .unwrap()
            })
        };
        assert_eq!(&body(false).await[..], br#"{"a\"b":1}"#);
        assert_eq!(&body(true).await[..], br#"{"a"b":1}"#);
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
