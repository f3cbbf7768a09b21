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
use axum::http::{HeaderName, Method};
use axum::Router;
use entreposto_domain::{Dialect, RateLimit};
use utoipa::OpenApi;
use utoipa_axum::routes;

use entreposto_http::auth::{
    bad_credentials, header, header_in, missing, verify_request, Principal,
};
use entreposto_http::envelope::{render, Envelope, Failure};
use entreposto_http::mount::Answers;
use entreposto_http::rate_limit::{RatePreset, RateRule};
use entreposto_http::{ApiError, AppState, Mount, Routes};

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("skyhub");

pub mod dto;
pub mod sac;

pub struct Skyhub;

impl Envelope for Skyhub {
    fn body(err: &ApiError) -> serde_json::Value {
        let m = err.message();
        serde_json::json!(dto::SkyhubError {
            error: m.clone(),
            errors: dto::SkyhubErrorDetail { detail: m },
        })
    }
}

// SkyHub's credential headers, parsed once (every request looks them up).
const USER_EMAIL: HeaderName = HeaderName::from_static("x-user-email");
const API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const ACCOUNT_MANAGER_KEY: HeaderName = HeaderName::from_static("x-accountmanager-key");

/// The secret a SkyHub request presents: its `X-Api-Key`.
pub fn secret(headers: &axum::http::HeaderMap) -> Option<&str> {
    header_in(headers, API_KEY)
}

/// SkyHub's published limits (per account and endpoint): about 9 requests a second
/// for writes and one a second for order reads (`/orders`, which the hub answers 404:
/// it serves SkyHub's SAC). `[rate_limits.dialects] skyhub = "vendor"`.
pub static RATE_PRESETS: [RatePreset; 1] = [RatePreset {
    name: "vendor",
    rules: &[
        RateRule {
            name: "writes",
            applies: |m, _| *m != Method::GET && *m != Method::HEAD,
            limit: RateLimit::per_second(9),
        },
        RateRule {
            name: "order reads",
            applies: |m, p| *m == Method::GET && (p == "/orders" || p.starts_with("/orders/")),
            limit: RateLimit::per_second(1),
        },
    ],
}];

/// A verified SkyHub credential.
pub struct SkyhubAuth(pub Principal);

impl FromRequestParts<AppState> for SkyhubAuth {
    type Rejection = Failure<Skyhub>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let email = header(parts, USER_EMAIL).ok_or_else(|| missing("X-User-Email"))?;
        let key = secret(&parts.headers).ok_or_else(|| missing("X-Api-Key"))?;
        let account =
            header(parts, ACCOUNT_MANAGER_KEY).ok_or_else(|| missing("X-Accountmanager-Key"))?;
        let p = verify_request(parts, state, key, DIALECT).await?;
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
        description = "SkyHub's SAC and chats, served by Entreposto under /skyhub (or at the root of a listener of its own). Auth: X-User-Email, X-Api-Key and X-Accountmanager-Key together. Every path also answers with a trailing slash."
    ),
    components(schemas(dto::SkyhubError))
)]
struct SkyhubApi;

/// The document's frame: info, credentials and envelope (the paths come with the routes).
fn document() -> utoipa::openapi::OpenApi {
    let mut doc = SkyhubApi::openapi();
    entreposto_http::openapi::add_header_keys(
        &mut doc,
        &[
            (
                "user_email",
                "X-User-Email",
                "The e-mail the credential was issued for",
            ),
            ("api_key", "X-Api-Key", "The credential's secret"),
            (
                "account_manager_key",
                "X-Accountmanager-Key",
                "The integrating platform's key: any non-empty value",
            ),
        ],
    );
    doc
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    let answers = Answers::of::<Skyhub>("SkyhubError").secured(&[&[
        "user_email",
        "api_key",
        "account_manager_key",
    ]]);
    // Clients call with and without trailing slashes; both spellings route the same.
    Routes::under(prefix, document(), answers)
        .trailing_slash()
        .routes(routes!(sac::list))
        .routes(routes!(sac::one))
        .routes(routes!(sac::instances))
        .routes(routes!(sac::chats, sac::reply, sac::set_status))
        .routes(routes!(
            sac::chats_part,
            sac::reply_part,
            sac::set_status_part
        ))
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
    body_limit: entreposto_http::mount::default_body_limit,
    credential_headers,
    user_email: true,
    secret,
    rate_presets: &RATE_PRESETS,
    scope_headers: &[],
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
