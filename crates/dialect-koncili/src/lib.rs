//! Koncili order extract, mounted under `/koncili` (every path below `/externalapi`).
//!
//! Auth is `gumgaToken`, or `Authorization` as the newer API sends it. Errors are read
//! by clients as `{"response": "..."}`.

#![forbid(unsafe_code)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Router;
use entreposto_domain::Dialect;

use entreposto_http::auth::{authorization_token, header, missing, Principal};
use entreposto_http::envelope::{render, Envelope, Failure};
use entreposto_http::mount::Answers;
use entreposto_http::{ApiError, AppState, Mount, Routes};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("koncili");

pub struct Koncili;

impl Envelope for Koncili {
    fn body(err: &ApiError) -> serde_json::Value {
        serde_json::json!(KonciliError {
            response: err.message()
        })
    }
}

/// Koncili's error envelope.
#[derive(Serialize, ToSchema)]
pub struct KonciliError {
    /// What went wrong.
    pub response: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Entreposto: Koncili external API",
        description = "Koncili's order extract, served by Entreposto under /koncili (every path below /externalapi), or at the root of a listener of its own. Auth: `gumgaToken`, or `Authorization` as the newer API sends it. No operation is served yet: every path answers 401 without a valid token, else 404."
    ),
    components(schemas(KonciliError)),
    security(("gumga_token" = []), ("authorization" = []))
)]
struct KonciliApi;

/// The document's frame: info, credentials and envelope (the paths come with the routes).
fn document() -> utoipa::openapi::OpenApi {
    let mut doc = KonciliApi::openapi();
    entreposto_http::openapi::add_header_keys(
        &mut doc,
        &[
            ("gumga_token", "gumgaToken", "The credential's secret"),
            (
                "authorization",
                "Authorization",
                "The credential's secret (a `Bearer` prefix is tolerated)",
            ),
        ],
    );
    doc
}

/// A verified Koncili token.
pub struct KonciliAuth(pub Principal);

impl FromRequestParts<AppState> for KonciliAuth {
    type Rejection = Failure<Koncili>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = header(parts, "gumgatoken")
            .or_else(|| authorization_token(parts))
            .ok_or_else(|| missing("gumgaToken"))?;
        Ok(KonciliAuth(state.credentials.verify(token, DIALECT).await?))
    }
}

async fn unknown(_: KonciliAuth) -> Failure<Koncili> {
    Failure::new(ApiError::NotFound("resource not found".into()))
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    let answers =
        Answers::of::<Koncili>("KonciliError").secured(&[&["gumga_token"], &["authorization"]]);
    Routes::under(prefix, document(), answers)
        .document_at("/externalapi/openapi.json")
        .finish(
            unknown,
            entreposto_http::envelope::method_not_allowed::<Koncili>,
        )
}

/// Koncili as the hub serves it.
pub const MOUNT: Mount = Mount {
    dialect: DIALECT,
    prefix: "/koncili",
    routes,
    renderer: |_| render::<Koncili>,
    body_limit: entreposto_http::mount::default_body_limit,
    credential_headers,
    user_email: false,
};

/// What a Koncili client sends.
pub fn credential_headers(
    _id: &str,
    secret: &str,
    _user_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    vec![("gumgaToken", secret.to_string())]
}
