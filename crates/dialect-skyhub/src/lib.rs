//! SkyHub (B2W / Americanas hub), mounted under `/skyhub` (or at the root of a
//! listener of its own).
//!
//! Auth is `X-User-Email` + `X-Api-Key` + `X-Accountmanager-Key`. The account-manager
//! key identifies the integrating platform, not the seller (one official SDK sends a
//! fixed value), so any non-empty value is accepted and logged. Errors are
//! `{"error": "...", "errors": {"detail": "..."}}`: the documented `errors.detail`
//! plus the top-level `error` older clients look for.

#![forbid(unsafe_code)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderName;
use axum::routing::get;
use axum::{Json, Router};
use entreposto_domain::Dialect;
use utoipa::OpenApi;

use entreposto_http::auth::{bad_credentials, header, missing, Principal};
use entreposto_http::envelope::{render, Envelope, Failure};
use entreposto_http::{ApiError, AppState, Mount, Routes};

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("skyhub");

pub mod dto;
pub mod sac;

pub struct Skyhub;

impl Envelope for Skyhub {
    fn body(err: &ApiError) -> serde_json::Value {
        let m = err.message();
        serde_json::json!({"error": m, "errors": {"detail": m}})
    }
}

// SkyHub's credential headers, parsed once (every request looks them up).
const USER_EMAIL: HeaderName = HeaderName::from_static("x-user-email");
const API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const ACCOUNT_MANAGER_KEY: HeaderName = HeaderName::from_static("x-accountmanager-key");

/// A verified SkyHub credential.
pub struct SkyhubAuth(pub Principal);

impl FromRequestParts<AppState> for SkyhubAuth {
    type Rejection = Failure<Skyhub>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let email = header(parts, USER_EMAIL).ok_or_else(|| missing("X-User-Email"))?;
        let key = header(parts, API_KEY).ok_or_else(|| missing("X-Api-Key"))?;
        let account =
            header(parts, ACCOUNT_MANAGER_KEY).ok_or_else(|| missing("X-Accountmanager-Key"))?;
        let p = state.credentials.verify(key, DIALECT).await?;
        let expected = p.credential.user_email.as_deref().unwrap_or_default();
        if !expected.eq_ignore_ascii_case(email) {
            return Err(bad_credentials().into());
        }
        tracing::debug!(credential = %p.credential.id, account_manager_key = account, "skyhub call");
        Ok(SkyhubAuth(p))
    }
}

/// Unknown SkyHub paths: authenticate first (a bad credential is a 401 everywhere),
/// then 404 in SkyHub's envelope.
async fn unknown(_: SkyhubAuth) -> Failure<Skyhub> {
    Failure::new(ApiError::NotFound("resource not found".into()))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Entreposto: SkyHub SAC API",
        description = "SkyHub's SAC and chats, served by Entreposto under /skyhub. Auth: X-User-Email, X-Api-Key, X-Accountmanager-Key."
    ),
    paths(
        sac::list,
        sac::one,
        sac::instances,
        sac::chats,
        sac::chats_part,
        sac::reply_part,
        sac::set_status_part
    ),
    components(schemas(
        dto::Sac,
        dto::SacPage,
        dto::Instance,
        dto::Instances,
        dto::Chat,
        dto::ChatMessage,
        dto::ChatPart,
        dto::ReplyIn,
        dto::StatusIn
    ))
)]
pub struct SkyhubApi;

/// The document, its paths under `prefix` (see [`entreposto_http::mount::openapi_under`]).
async fn openapi(prefix: &'static str) -> Json<utoipa::openapi::OpenApi> {
    Json(entreposto_http::mount::openapi_under(
        SkyhubApi::openapi(),
        MOUNT.prefix,
        prefix,
    ))
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    // Clients call with and without trailing slashes; both spellings route the same.
    Routes::under(prefix)
        .route("/openapi.json", get(move || openapi(prefix)))
        .route("/sac", get(sac::list))
        .route("/sac/", get(sac::list))
        .route("/sac/{code}", get(sac::one))
        .route("/sac/{code}/", get(sac::one))
        .route("/sac/{code}/instances", get(sac::instances))
        .route("/sac/{code}/instances/", get(sac::instances))
        .route(
            "/sac/{code}/chats",
            get(sac::chats).post(sac::reply).patch(sac::set_status),
        )
        .route(
            "/sac/{code}/chats/",
            get(sac::chats).post(sac::reply).patch(sac::set_status),
        )
        .route(
            "/sac/{code}/chats/{parts}",
            get(sac::chats_part)
                .post(sac::reply_part)
                .patch(sac::set_status_part),
        )
        .route(
            "/sac/{code}/chats/{parts}/",
            get(sac::chats_part)
                .post(sac::reply_part)
                .patch(sac::set_status_part),
        )
        .finish(
            unknown,
            entreposto_http::envelope::method_not_allowed::<Skyhub>,
        )
}

/// SkyHub as the hub serves it.
pub const MOUNT: Mount = Mount {
    dialect: DIALECT,
    prefix: "/skyhub",
    routes,
    renderer: |_| render::<Skyhub>,
    credential_headers,
    user_email: true,
};

/// What a SkyHub client sends; the account-manager key is the integrator's, any value.
pub fn credential_headers(
    _id: &str,
    secret: &str,
    user_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    vec![
        ("X-User-Email", user_email.unwrap_or_default().to_string()),
        ("X-Api-Key", secret.to_string()),
        ("X-Accountmanager-Key", "entreposto".to_string()),
    ]
}
