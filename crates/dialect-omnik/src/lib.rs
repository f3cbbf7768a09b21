//! Omnik HUB, mounted under `/omnik` (clients' base URL ends in `/omnik/HUB`).
//!
//! Auth is `token` (or `Authorization: Bearer`) + `application_id`, plus an optional
//! `seller` naming one of the operator's sellers when an operator credential acts for
//! it. Errors are `{"code", "type", "message", "messages": [{"code", "message"}]}`.

#![forbid(unsafe_code)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderName;
use axum::Router;
use entreposto_domain::{Dialect, Scope};
use entreposto_store::StoreError;
use utoipa::OpenApi;
use utoipa_axum::routes;

use entreposto_http::auth::{
    authorization_token_in, bad_credentials, header, header_in, missing, verify_request, Principal,
};
use entreposto_http::envelope::{render, Envelope, Failure};
use entreposto_http::mount::Answers;
use entreposto_http::{ApiError, AppState, Mount, Renderer, Routes};

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("omnik");

pub mod cs;
pub mod dto;

pub struct Omnik;

impl Envelope for Omnik {
    /// Validation failures are 400, as Omnik answers them.
    fn status(err: &ApiError) -> axum::http::StatusCode {
        match err {
            ApiError::Invalid(_) => axum::http::StatusCode::BAD_REQUEST,
            e => e.status(),
        }
    }

    fn body(err: &ApiError) -> serde_json::Value {
        let code = Self::status(err).as_u16();
        let m = err.message();
        serde_json::json!(dto::OmnikError {
            code,
            kind: err.kind().to_ascii_uppercase(),
            messages: vec![dto::OmnikErrorMessage {
                code,
                message: m.clone()
            }],
            message: m,
        })
    }
}

/// A verified Omnik credential and the scope it acts in.
pub struct OmnikAuth {
    pub principal: Principal,
    pub scope: Scope,
}

impl FromRequestParts<AppState> for OmnikAuth {
    type Rejection = Failure<Omnik>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, true).await.map_err(Failure::new)
    }
}

// Omnik's credential headers, parsed once (every request looks them up).
const TOKEN: HeaderName = HeaderName::from_static("token");
const APPLICATION_ID: HeaderName = HeaderName::from_static("application_id");
const SELLER: HeaderName = HeaderName::from_static("seller");

/// The secret an Omnik request presents: `token`, else `Authorization`.
pub fn secret(headers: &axum::http::HeaderMap) -> Option<&str> {
    header_in(headers, TOKEN).or_else(|| authorization_token_in(headers))
}

async fn authenticate(
    parts: &Parts,
    state: &AppState,
    need_app_id: bool,
) -> Result<OmnikAuth, ApiError> {
    let token = secret(&parts.headers).ok_or_else(|| missing("token"))?;
    let app = header(parts, APPLICATION_ID);
    if need_app_id && app.is_none() {
        return Err(missing("application_id"));
    }
    let p = verify_request(parts, state, token, DIALECT).await?;
    if app.is_some_and(|a| a != p.credential.id) {
        return Err(bad_credentials());
    }
    let mut scope = p.scope();
    if let Some(seller) = header(parts, SELLER) {
        match &p.credential.seller_id {
            Some(own) if own == seller => {}
            Some(_) => {
                return Err(ApiError::Forbidden(format!(
                    "seller '{seller}' is not this credential's seller"
                )))
            }
            None => match state
                .store
                .get_seller(&p.credential.operator_id, seller)
                .await
            {
                Ok(s) => scope.seller_id = Some(s.id),
                Err(StoreError::NotFound) => {
                    return Err(ApiError::Forbidden(format!(
                        "seller '{seller}' is not one of this operator's sellers"
                    )))
                }
                Err(e) => return Err(e.into()),
            },
        }
    }
    Ok(OmnikAuth {
        principal: p,
        scope,
    })
}

/// hub-web's envelope (`/v1/hub-web/...`): `{"logId", "name", "message"}`.
pub struct OmnikWeb;

impl Envelope for OmnikWeb {
    fn status(err: &ApiError) -> axum::http::StatusCode {
        Omnik::status(err)
    }

    fn body(err: &ApiError) -> serde_json::Value {
        let log_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        serde_json::json!(dto::OmnikWebError {
            log_id,
            name: err.kind().to_ascii_uppercase(),
            message: err.message(),
        })
    }
}

/// hub-web authenticates with `token` alone (its document shows no `application_id`;
/// one sent anyway must match).
pub struct OmnikWebAuth(pub OmnikAuth);

impl FromRequestParts<AppState> for OmnikWebAuth {
    type Rejection = Failure<OmnikWeb>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, false)
            .await
            .map(OmnikWebAuth)
            .map_err(Failure::new)
    }
}

async fn unknown(_: OmnikAuth) -> Failure<Omnik> {
    Failure::new(ApiError::NotFound("resource not found".into()))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Entreposto: Omnik HUB customer service",
        description = "Omnik's customer service (atendimento), served by Entreposto under /omnik (clients' base URL ends in /HUB), or at the root of a listener of its own. Auth: `token` (or `Authorization: Bearer`) with `application_id`; hub-web paths take the token alone. Every path also answers with a trailing slash."
    ),
    components(schemas(dto::OmnikError, dto::OmnikWebError))
)]
struct OmnikApi;

/// The document's frame: info, credentials and envelopes (the paths come with the routes).
fn document() -> utoipa::openapi::OpenApi {
    let mut doc = OmnikApi::openapi();
    entreposto_http::openapi::add_header_keys(
        &mut doc,
        &[
            ("token", "token", "The credential's secret"),
            ("application_id", "application_id", "The credential's id"),
        ],
    );
    entreposto_http::openapi::add_bearer(
        &mut doc,
        "bearer",
        "The credential's secret, instead of `token`",
    );
    doc
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    let hub = Answers::of::<Omnik>("OmnikError")
        .secured(&[&["token", "application_id"], &["bearer", "application_id"]])
        .forbidding("The `seller` header names a seller this credential may not act for");
    let web = Answers::of::<OmnikWeb>("OmnikWebError")
        .secured(&[&["token"], &["bearer"]])
        .forbidding("The `seller` header names a seller this credential may not act for");
    // Clients append paths with and without the trailing slash the document shows.
    Routes::under(prefix, document(), hub)
        .document_at("/HUB/openapi.json")
        .trailing_slash()
        .routes(routes!(cs::list, cs::create))
        .routes(routes!(cs::subjects))
        .routes(routes!(cs::get_one))
        .routes(routes!(cs::close))
        .routes(routes!(cs::by_marketplace_id))
        .routes(routes!(cs::by_order))
        .answering(web)
        .routes(routes!(cs::return_subjects))
        .finish(
            unknown,
            entreposto_http::envelope::method_not_allowed::<Omnik>,
        )
}

/// Omnik's hub-web paths answer errors in their own shape; the rest in the HUB's.
pub fn renderer(rest: &str) -> Renderer {
    if rest.starts_with("/v1/hub-web") {
        render::<OmnikWeb>
    } else {
        render::<Omnik>
    }
}

/// Omnik as the hub serves it.
pub const MOUNT: Mount = Mount {
    dialect: DIALECT,
    prefix: "/omnik",
    routes,
    renderer,
    body_limit: entreposto_http::mount::default_body_limit,
    credential_headers,
    user_email: false,
    secret,
    rate_presets: &[],
    scope_headers: &["seller"],
};

/// What an Omnik client sends: the token and the credential id as `application_id`.
pub fn credential_headers(
    id: &str,
    secret: &str,
    _user_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    vec![
        ("token", secret.to_string()),
        ("application_id", id.to_string()),
    ]
}
