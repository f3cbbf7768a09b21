//! Koncili's external API, mounted under `/koncili` (every path below `/externalapi`,
//! and `GET /order/{orderCode}/{channelName}` beside it): the orders integrators push
//! ([`orders`]), the extract lines reconciliation keeps for them and the listings and
//! batches an ERP works through ([`extract`]), rendered with every field of the
//! document's line ([`line`]).
//!
//! Auth is `gumgaToken`, or `Authorization` as the newer API sends it. An extract is
//! one seller's, so an operator's token (no seller) is refused with 403 on every call
//! ([`SellerAuth`]). Errors are read by clients as `{"response": "..."}`, with the
//! hub's statuses (a field that breaks a rule is 422, the message naming it).
//!
//! Every decision (an order's lines, a line's situation, what a batch may mark) is the
//! application layer's; handlers parse, call a use case or a read, and render.

#![forbid(unsafe_code)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use axum::Router;
use entreposto_domain::{Dialect, RateLimit, Scope};

use entreposto_http::auth::{
    authorization_token_in, header_in, missing, verify_request, Principal,
};
use entreposto_http::envelope::{render, Envelope, Failure};
use entreposto_http::mount::Answers;
use entreposto_http::rate_limit::{RatePreset, RateRule};
use entreposto_http::{ApiError, AppState, Mount, Routes};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::routes;

pub mod extract;
pub mod line;
pub mod orders;

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("koncili");

/// The setting (see `entreposto_http::HttpOptions::dialect_settings`) that picks the
/// shape of an order's extract: [`SHAPE_ELEMENTS`] (default) or [`SHAPE_ARRAY`].
pub const EXTRACT_SHAPE_SETTING: &str = "koncili.extract_shape";
/// `{"elements": [...]}`, what the client in use reads.
pub const SHAPE_ELEMENTS: &str = "elements";
/// The bare array Koncili's document shows.
pub const SHAPE_ARRAY: &str = "array";

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
    /// What went wrong; a validation failure names its field (`items[0].quantity: ...`).
    pub response: String,
}

type Result<T> = std::result::Result<T, Failure<Koncili>>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Entreposto: Koncili external API",
        description = "Koncili's order extract, served by Entreposto under /koncili (every path below /externalapi, and `GET /order/{orderCode}/{channelName}` beside it), or at the root of a listener of its own. Auth: `gumgaToken`, or `Authorization` as the newer API sends it; an extract is one seller's, so an operator's token is refused with 403.\n\nIntegrators push orders from INVOICED on (`POST`/`PUT /externalapi/order`, one order with all its items and payments; earlier statuses are refused with the reason); the hub keeps the lines each order is expected to produce (one SALE and one COMISSION per installment, one SHIP for freight) and matches them against the payout statements the operator loads. ERPs page `concilieds` and `unresolveds` (100 lines a page) and mark lines with the `resolve` and `read` batches.\n\nLines carry every field of the document's line. Dates are UTC as the document writes them (`2018-01-01T12:00:00.000+0000`); money and percentages are JSON numbers. Errors are `{\"response\": \"...\"}`: 401 bad credentials, 403 an operator's token, 404 nothing found, 409 a conflict, 422 a field that breaks a rule (named in the message)."
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

/// The secret a Koncili request presents: `gumgaToken`, else `Authorization`.
pub fn secret(headers: &axum::http::HeaderMap) -> Option<&str> {
    header_in(headers, GUMGA_TOKEN).or_else(|| authorization_token_in(headers))
}

const GUMGA_TOKEN: axum::http::HeaderName = axum::http::HeaderName::from_static("gumgatoken");

/// Koncili's published limits: 3 requests a minute for the listings (`concilieds`,
/// `unresolveds`) and 90 a minute for the batches that mark lines (`read/batch`,
/// `resolve/batch`). `[rate_limits.dialects] koncili = "vendor"`.
pub static RATE_PRESETS: [RatePreset; 1] = [RatePreset {
    name: "vendor",
    rules: &[
        RateRule {
            name: "listings",
            applies: |m, p| {
                *m == Method::GET
                    && matches!(
                        p.trim_end_matches('/'),
                        "/externalapi/orderextract/concilieds"
                            | "/externalapi/orderextract/unresolveds"
                    )
            },
            limit: RateLimit::per_minute(3),
        },
        RateRule {
            name: "batches",
            applies: |m, p| {
                *m == Method::PUT
                    && matches!(
                        p.trim_end_matches('/'),
                        "/externalapi/orderextract/read/batch"
                            | "/externalapi/orderextract/resolve/batch"
                    )
            },
            limit: RateLimit::per_minute(90),
        },
    ],
}];

/// A verified Koncili token.
pub struct KonciliAuth(pub Principal);

impl FromRequestParts<AppState> for KonciliAuth {
    type Rejection = Failure<Koncili>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let token = secret(&parts.headers).ok_or_else(|| missing("gumgaToken"))?;
        Ok(KonciliAuth(
            verify_request(parts, state, token, DIALECT).await?,
        ))
    }
}

/// A verified Koncili token of a seller: the one whose orders and extract every call
/// reads and writes. An operator's token names no seller, so it reaches no extract.
pub struct SellerAuth {
    pub scope: Scope,
}

impl FromRequestParts<AppState> for SellerAuth {
    type Rejection = Failure<Koncili>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let KonciliAuth(principal) = KonciliAuth::from_request_parts(parts, state).await?;
        if principal.credential.seller_id.is_none() {
            return Err(Failure::new(ApiError::Forbidden(
                "this is an operator's token, which names no seller: an extract is a seller's, \
                 call with a token issued for the seller"
                    .into(),
            )));
        }
        Ok(SellerAuth {
            scope: principal.scope(),
        })
    }
}

async fn unknown(_: KonciliAuth) -> Failure<Koncili> {
    Failure::new(ApiError::NotFound("resource not found".into()))
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    let answers = Answers::of::<Koncili>("KonciliError")
        .secured(&[&["gumga_token"], &["authorization"]])
        .forbidding("An operator's token, which names no seller");
    Routes::under(prefix, document(), answers)
        .document_at("/externalapi/openapi.json")
        .routes(routes!(orders::post_order, orders::put_order))
        .routes(routes!(orders::order_installments, orders::delete_order))
        .routes(routes!(orders::order_installments_root))
        .routes(routes!(extract::concilieds))
        .routes(routes!(extract::unresolveds))
        .routes(routes!(extract::resolve_batch))
        .routes(routes!(extract::read_batch))
        .routes(routes!(extract::line))
        .routes(routes!(extract::order_extract))
        .routes(routes!(extract::order_extract_of_type))
        .routes(routes!(extract::channels))
        .routes(routes!(extract::release_types))
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
    // An order with all its items and payments, and a batch of 100 ids, fit in the
    // hub's default limit.
    body_limit: entreposto_http::mount::default_body_limit,
    credential_headers,
    user_email: false,
    secret,
    rate_presets: &RATE_PRESETS,
    scope_headers: &[],
};

/// What a Koncili client sends.
pub fn credential_headers(
    _id: &str,
    secret: &str,
    _user_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    vec![("gumgaToken", secret.to_string())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_a_response_naming_the_field() {
        let e = ApiError::invalid("items[0].quantity", "must be positive");
        assert_eq!(
            Koncili::body(&e),
            serde_json::json!({"response": "items[0].quantity: must be positive"})
        );
        assert_eq!(Koncili::status(&e).as_u16(), 422);
        let gone = ApiError::NotFound("no extract line 7".into());
        assert_eq!(Koncili::status(&gone).as_u16(), 404);
    }
}
