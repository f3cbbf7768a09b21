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
pub mod metrics;
pub mod native;
pub mod query;

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
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState(Arc::new(Shared {
            credentials: auth::CredentialCache::new(store.clone(), Duration::from_secs(1)),
            store,
            metrics: metrics::Metrics::default(),
        }))
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics::render))
        .nest("/api/v1", native::routes())
        .nest("/skyhub", dialects::skyhub::routes())
        .nest("/omnik", dialects::omnik::routes())
        .nest("/00k", dialects::zerok::routes())
        .nest("/koncili", dialects::koncili::routes())
        .fallback(|| async { ApiError::NotFound("no such route".into()).into_response() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(ensure_json_content_type))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Some vendor clients crash on a response without `Content-Type`; every response we
/// send (204s aside, which have no body) says JSON.
async fn ensure_json_content_type(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut res = next.run(req).await;
    if res.status() != StatusCode::NO_CONTENT && !res.headers().contains_key(header::CONTENT_TYPE) {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    res
}
