//! Error envelopes: how each vendor shapes a failure.
//!
//! A dialect implements [`Envelope`]; handlers return `Result<_, Failure<D>>` (or use
//! `?` on anything convertible to [`ApiError`]) and the failure renders in `D`'s shape
//! with the right status, `Content-Type: application/json`, and `Retry-After` when the
//! client should come back later (a 5xx, a 429, a key still in flight).

use std::marker::PhantomData;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ApiError;

pub trait Envelope: Send + Sync + 'static {
    fn body(err: &ApiError) -> serde_json::Value;

    /// The HTTP status; a vendor that documents other codes overrides it.
    fn status(err: &ApiError) -> StatusCode {
        err.status()
    }
}

pub fn render<D: Envelope>(err: &ApiError) -> Response {
    let mut res = (D::status(err), axum::Json(D::body(err))).into_response();
    // Omnik's clients (and others) retry 5xx and 429; tell them when.
    match err {
        ApiError::TooManyRequests { retry_after, .. } => {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        ApiError::IdempotencyInFlight => {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ if res.status().is_server_error() => {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    res
}

/// An [`ApiError`] on its way out through dialect `D`.
pub struct Failure<D: Envelope>(pub ApiError, PhantomData<D>);

impl<D: Envelope> Failure<D> {
    pub fn new(err: ApiError) -> Self {
        Failure(err, PhantomData)
    }
}

impl<D: Envelope, E: Into<ApiError>> From<E> for Failure<D> {
    fn from(e: E) -> Self {
        Failure::new(e.into())
    }
}

impl<D: Envelope> IntoResponse for Failure<D> {
    fn into_response(self) -> Response {
        render::<D>(&self.0)
    }
}

impl<D: Envelope> std::fmt::Debug for Failure<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The hub's own envelope, `{"error": {"code", "message", "field"}}`: for paths no
/// API owns, and the native API's.
pub struct Plain;

impl Envelope for Plain {
    fn body(err: &ApiError) -> serde_json::Value {
        let mut e = serde_json::json!({"code": err.kind(), "message": err.message()});
        if let Some(f) = err.field() {
            e["field"] = f.into();
        }
        serde_json::json!({ "error": e })
    }
}

/// The fallback a dialect router uses for unknown paths, in its own envelope.
pub async fn not_found<D: Envelope>() -> Response {
    render::<D>(&ApiError::NotFound("no such route".into()))
}

/// The method-not-allowed answer in the dialect's envelope.
pub async fn method_not_allowed<D: Envelope>() -> Response {
    render::<D>(&ApiError::MethodNotAllowed)
}
