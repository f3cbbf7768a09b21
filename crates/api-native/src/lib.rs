//! The native API (`/api/v1`): how the operator's marketplace pushes data in and
//! administers the hub. Operator Bearer tokens only; described by an OpenAPI document
//! at `/api/v1/openapi.json`.

#![forbid(unsafe_code)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Router;
use entreposto_domain::Dialect;
use utoipa::OpenApi;
use utoipa_axum::routes;

use entreposto_http::auth::{authorization_token_in, missing, verify_request, Principal};
use entreposto_http::envelope::{render, Envelope, Failure, Plain};
use entreposto_http::mount::Answers;
use entreposto_http::{ApiError, AppState, Mount, Routes};

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("native");

pub mod catalog;
pub mod dto;
pub mod feeds;
pub mod finance;
pub mod orders;
pub mod payloads;
pub mod tickets;
pub mod webhooks;

/// The native error envelope: the hub's plain one, `{"error": {"code", "message",
/// "field"}}`.
pub struct Native;

impl Envelope for Native {
    fn body(err: &ApiError) -> serde_json::Value {
        Plain::body(err)
    }
}

type Result<T> = std::result::Result<T, Failure<Native>>;

/// An operator's native credential (`Authorization: Bearer ...`).
pub struct OperatorAuth(pub Principal);

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = Failure<Native>;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token =
            authorization_token_in(&parts.headers).ok_or_else(|| missing("Authorization"))?;
        let p = verify_request(parts, state, token, DIALECT).await?;
        if p.credential.seller_id.is_some() {
            return Err(
                ApiError::Forbidden("the native API needs an operator token".into()).into(),
            );
        }
        Ok(OperatorAuth(p))
    }
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    let answers = Answers::of::<Native>("ErrorBody")
        .secured(&[&["operator_token"]])
        .forbidding("The token is a seller's: the native API needs an operator's");
    Routes::under(prefix, document(), answers)
        .routes(routes!(orders::push_order))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::approve_payment))
        .routes(routes!(orders::cancel_order))
        .routes(routes!(orders::confirm_delivery))
        .routes(routes!(orders::mark_erp))
        .routes(routes!(tickets::create_subject, tickets::list_subjects))
        .routes(routes!(tickets::open_ticket))
        .routes(routes!(tickets::get_ticket))
        .routes(routes!(tickets::add_message))
        .routes(routes!(tickets::request_mediation))
        .routes(routes!(catalog::list_products))
        .routes(routes!(catalog::get_product))
        .routes(routes!(catalog::list_categories))
        .routes(routes!(catalog::list_brands))
        .routes(routes!(catalog::list_imports))
        .routes(routes!(catalog::get_import))
        .routes(routes!(finance::get_terms, finance::put_terms))
        .routes(routes!(finance::load_statement))
        .routes(routes!(finance::list_conciliations))
        .routes(routes!(finance::summary))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::rotate_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::replay_delivery))
        .routes(routes!(webhooks::recover_webhook))
        .routes(routes!(
            feeds::get_feed,
            feeds::put_feed,
            feeds::delete_feed
        ))
        .finish(
            entreposto_http::envelope::not_found::<Native>,
            entreposto_http::envelope::method_not_allowed::<Native>,
        )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Entreposto native API",
        description = "The operator's API: push marketplace orders and move them through payment, cancellation and delivery, run customer service, read the sellers' catalogs and imports, set the sellers' reconciliation terms per channel and load the marketplaces' payout statements, set the sellers' change feeds (the 00K change lists the hub polls), receive the hub's events by webhook (Standard Webhooks signatures), administer the hub. Auth: an operator's token as `Authorization: Bearer`."
    ),
    components(schemas(dto::ErrorBody))
)]
struct NativeApi;

/// The document's frame: info, credentials and envelope (the paths come with the routes).
fn document() -> utoipa::openapi::OpenApi {
    let mut doc = NativeApi::openapi();
    entreposto_http::openapi::add_bearer(&mut doc, "operator_token", "An operator's native token");
    doc
}

/// The native API as the hub serves it.
pub const MOUNT: Mount = Mount {
    dialect: DIALECT,
    prefix: "/api/v1",
    routes,
    renderer: |_| render::<Native>,
    body_limit,
    credential_headers,
    user_email: false,
    secret: authorization_token_in,
    rate_presets: &[],
    scope_headers: &[],
};

/// The largest body each path takes: statements carry up to hundreds of thousands of
/// rows.
pub fn body_limit(path: &str) -> usize {
    if finance::is_statement_path(path) {
        finance::STATEMENT_BODY_BYTES
    } else {
        entreposto_http::MAX_BODY_BYTES
    }
}

/// What a native API client sends.
pub fn credential_headers(
    _id: &str,
    secret: &str,
    _user_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    vec![("Authorization", format!("Bearer {secret}"))]
}
