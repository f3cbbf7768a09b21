//! The HTTP edge of Entreposto: the native API and every vendor dialect.
//!
//! Each dialect lives under its own prefix (`/skyhub`, `/omnik`, `/00k`, `/koncili`;
//! the native API under `/api/v1`) with its own auth extractor and error envelope, so
//! a client gets exactly the bodies its vendor documents, failures included. Handlers
//! are thin: parse the vendor's request into domain types, call the store, render the
//! vendor's JSON. Errors are one [`ApiError`] everywhere, rendered per dialect only at
//! the edge by an [`envelope::Envelope`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use entreposto_store::Store;

pub mod auth;
pub mod body;
pub mod dialects;
pub mod envelope;
pub mod error;
pub mod json_writer;
pub mod limits;
pub mod metrics;
pub mod native;
pub mod query;
pub mod reply;

pub use error::ApiError;

/// Largest request body accepted anywhere; bigger ones get a 413 in the dialect's shape.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach. One `Arc`, so the per-request clones axum makes of
/// the state cost one atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub credentials: auth::CredentialCache,
    pub metrics: metrics::Metrics,
    /// The server's URL as clients reach it (`http://host:port`, no trailing slash),
    /// for links such as SkyHub's `next_page`. Never taken from the `Host` header,
    /// which some clients force to the vendor's own host.
    pub public_url: String,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, public_url: &str) -> AppState {
        AppState(Arc::new(Shared {
            credentials: auth::CredentialCache::new(store.clone(), Duration::from_secs(1)),
            store,
            metrics: metrics::Metrics::default(),
            public_url: public_url.trim_end_matches('/').to_string(),
        }))
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let router = dialects::MOUNTS
        .iter()
        .fold(Router::new(), |r, m| r.merge((m.routes)(m.prefix)));
    router
        .route("/health", get(health))
        .route("/metrics", get(metrics::render))
        .fallback(|| async { ApiError::NotFound("no such route".into()).into_response() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(json_edge))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// How the API that owns a path renders an error.
pub(crate) type Renderer = fn(&ApiError) -> Response;

fn renderer_for(path: &str) -> Renderer {
    dialects::MOUNTS
        .iter()
        .find(|m| path.starts_with(m.prefix))
        .map_or(envelope::render::<native::Native>, |m| {
            (m.renderer)(&path[m.prefix.len()..])
        })
}

/// The JSON edge every request passes. Every response is JSON with
/// `Content-Type: application/json` (204s aside, which
/// have no body): some vendor clients crash on anything else. Errors produced by the
/// framework itself (an undecodable path segment, a wrong method) arrive as plain
/// text and are re-rendered in the dialect's envelope. A `%00` anywhere in the URI is
/// refused up front: PostgreSQL cannot store NUL characters, and no vendor sends them;
/// so are a URI, headers or declared body over the limits of [`limits`].
/// A panicking handler answers a 500 in the envelope instead of a dropped connection.
async fn json_edge(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let uri = req.uri();
    let render = renderer_for(uri.path());
    if uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00")) {
        return render(&ApiError::invalid("path", "contains a NUL character"));
    }
    let req = match limits::refuse_oversize(req, render) {
        Ok(req) => req,
        Err(res) => return *res,
    };
    // A panicking handler (a bug) answers a 500 in the dialect's envelope instead of
    // dropping the connection without a response.
    let mut res =
        match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(next.run(req))).await {
            Ok(res) => res,
            Err(_) => {
                tracing::error!("handler panicked");
                return render(&ApiError::Internal);
            }
        };
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let err = match status {
            StatusCode::NOT_FOUND => ApiError::NotFound("no such route".into()),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNAUTHORIZED => {
                ApiError::Unauthorized("invalid or missing credentials".into())
            }
            s if s.is_server_error() => ApiError::Internal,
            _ => ApiError::invalid("path", "the request path or query could not be read"),
        };
        return render(&err);
    }
    if status != StatusCode::NO_CONTENT && !res.headers().contains_key(header::CONTENT_TYPE) {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    res
}
