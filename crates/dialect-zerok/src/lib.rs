//! 00K API v2.0, mounted under `/00k`.
//!
//! Auth is the store's key in `Authorization`, no `Bearer` prefix (one is tolerated).
//! Errors follow the document's table: `{"code", "httpCode", "type", "description",
//! "errors"}` with code 1.2 for a missing or malformed header, 1.3 for an unknown
//! store, 2.0 for nothing found, 2.1 for validation, 3.0 for internal errors. The
//! document answers 1.2 with HTTP 400; we answer both auth failures with 401 so every
//! dialect's clients see the same status for bad credentials (the body's `code` still
//! tells them apart). Validation errors are 400 as documented.

#![forbid(unsafe_code)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Router;
use entreposto_domain::Dialect;

use entreposto_http::auth::{authorization_token, Principal};
use entreposto_http::envelope::{render, Envelope, Failure};
use entreposto_http::mount::Answers;
use entreposto_http::{ApiError, AppState, Mount, Routes};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("zerok");

pub struct Zerok;

const MISSING_AUTH: &str = "missing Authorization header";

impl Envelope for Zerok {
    fn status(err: &ApiError) -> StatusCode {
        match err {
            ApiError::Invalid(_) | ApiError::InvalidRows(_) => StatusCode::BAD_REQUEST,
            e => e.status(),
        }
    }

    fn body(err: &ApiError) -> serde_json::Value {
        let (code, kind) = match err {
            ApiError::Unauthorized(m) if m == MISSING_AUTH => {
                ("1.2", "Invalid authorization header")
            }
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) => ("1.3", "The store is invalid"),
            ApiError::NotFound(_) => ("2.0", "Item not Found"),
            ApiError::Invalid(_)
            | ApiError::InvalidRows(_)
            | ApiError::PayloadTooLarge
            | ApiError::Conflict(_) => ("2.1", "Validation Error"),
            ApiError::MethodNotAllowed
            | ApiError::UriTooLong
            | ApiError::HeadersTooLarge
            | ApiError::BadRequest(_)
            | ApiError::RequestTimeout => ("2.1", "Validation Error"),
            ApiError::Busy | ApiError::Timeout | ApiError::Internal => {
                ("3.0", "Data consistency error")
            }
        };
        let errors: Vec<serde_json::Value> = match err {
            // The document's shape for an import: each item with its index, SKU and
            // reasons.
            ApiError::InvalidRows(rows) => rows
                .iter()
                .map(|r| serde_json::json!({"itemIndex": r.row, "sku": r.sku, "errors": r.reasons}))
                .collect(),
            _ => err
                .field()
                .map(|_| serde_json::Value::String(err.message()))
                .into_iter()
                .collect(),
        };
        serde_json::json!(ZerokError {
            code,
            http_code: Self::status(err).as_u16(),
            kind,
            description: err.message(),
            errors,
        })
    }
}

/// 00K's error envelope.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZerokError {
    /// 1.2 missing or malformed `Authorization`, 1.3 unknown store, 2.0 nothing
    /// found, 2.1 validation, 3.0 internal.
    #[schema(value_type = ZerokErrorCode)]
    pub code: &'static str,
    /// The HTTP status.
    pub http_code: u16,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
    /// The validation messages, naming their fields; for an import, one
    /// `{"itemIndex", "sku", "errors"}` per invalid product.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<serde_json::Value>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub enum ZerokErrorCode {
    #[schema(rename = "1.2")]
    MissingAuthorization,
    #[schema(rename = "1.3")]
    UnknownStore,
    #[schema(rename = "2.0")]
    NotFound,
    #[schema(rename = "2.1")]
    Validation,
    #[schema(rename = "3.0")]
    Internal,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Entreposto: 00K API v2.0",
        description = "The 00K API, served by Entreposto under /00k (or at the root of a listener of its own). Auth: the store's key in `Authorization` (a `Bearer` prefix is tolerated). No operation is served yet: every path answers 401 without a valid key, else 404."
    ),
    components(schemas(ZerokError)),
    security(("store_key" = []))
)]
struct ZerokApi;

/// The document's frame: info, credentials and envelope (the paths come with the routes).
fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ZerokApi::openapi();
    entreposto_http::openapi::add_header_keys(
        &mut doc,
        &[(
            "store_key",
            "Authorization",
            "The store's key, no `Bearer` prefix",
        )],
    );
    doc
}

/// A verified 00K store key.
pub struct ZerokAuth(pub Principal);

impl FromRequestParts<AppState> for ZerokAuth {
    type Rejection = Failure<Zerok>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = authorization_token(parts)
            .ok_or_else(|| ApiError::Unauthorized(MISSING_AUTH.into()))?;
        Ok(ZerokAuth(state.credentials.verify(token, DIALECT).await?))
    }
}

async fn unknown(_: ZerokAuth) -> Failure<Zerok> {
    Failure::new(ApiError::NotFound("resource not found".into()))
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    let answers = Answers::of::<Zerok>("ZerokError").secured(&[&["store_key"]]);
    Routes::under(prefix, document(), answers).finish(
        unknown,
        entreposto_http::envelope::method_not_allowed::<Zerok>,
    )
}

/// 00K as the hub serves it.
pub const MOUNT: Mount = Mount {
    dialect: DIALECT,
    prefix: "/00k",
    routes,
    renderer: |_| render::<Zerok>,
    credential_headers,
    user_email: false,
};

/// What a 00K client sends: the key, no `Bearer`.
pub fn credential_headers(
    _id: &str,
    secret: &str,
    _user_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    vec![("Authorization", secret.to_string())]
}
