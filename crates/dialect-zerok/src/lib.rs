//! 00K API v2.0, mounted under `/00k`: its catalog (products, imports, stock and
//! prices, categories, brands) and its orders ([`orders`]: the listing, status,
//! tracking, invoice, and the ERP mark, an extension).
//!
//! Auth is the store's key in `Authorization`, no `Bearer` prefix (one is tolerated).
//! A 00K key is a store's: the catalog and the orders are one seller's, so an
//! operator's key (no seller) is refused with 1.3 and 403 on every call ([`StoreAuth`]).
//! Errors follow the document's table: `{"code", "httpCode", "type", "description",
//! "errors"}` with code 1.2 for a missing or malformed header, 1.3 for an unknown
//! store, 2.0 for nothing found, 2.1 for validation, 3.0 for internal errors. The
//! document answers 1.2 with HTTP 400; we answer both auth failures with 401 so every
//! dialect's clients see the same status for bad credentials (the body's `code` still
//! tells them apart). Validation errors (conflicts with the stored data included) and
//! items not found are 400 as documented; a path that is no route of the API is 2.0
//! with 404.

#![forbid(unsafe_code)]

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Router;
use entreposto_domain::{Dialect, Scope};

use entreposto_http::auth::{authorization_token_in, verify_request, Principal};
use entreposto_http::envelope::{render, Envelope, Failure};
use entreposto_http::mount::Answers;
use entreposto_http::{ApiError, AppState, Mount, Routes};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::routes;

pub mod entities;
pub mod feed;
pub mod input;
pub mod notifications;
pub mod orders;
pub mod output;
pub mod products;
pub mod wire;

/// The name credentials of this API carry.
pub const DIALECT: Dialect = Dialect::named("zerok");

pub struct Zerok;

const MISSING_AUTH: &str = "missing Authorization header";

/// What a path that is no route of the API answers (404, unlike items not found).
const NO_ROUTE: &str = "resource not found";

impl Envelope for Zerok {
    fn status(err: &ApiError) -> StatusCode {
        match err {
            ApiError::NotFound(m) if m == NO_ROUTE => StatusCode::NOT_FOUND,
            // The document's table has no 409: a key another product took meanwhile
            // is a validation failure of the data sent, 2.1 with 400.
            ApiError::Invalid(_)
            | ApiError::InvalidRows(_)
            | ApiError::NotFound(_)
            | ApiError::Conflict(_) => StatusCode::BAD_REQUEST,
            e => e.status(),
        }
    }

    fn body(err: &ApiError) -> serde_json::Value {
        let (code, kind) = match err {
            ApiError::Unauthorized(m) if m == MISSING_AUTH => {
                ("1.2", "Invalid authorization header")
            }
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) => ("1.3", "The store is invalid"),
            // The document says each client's call limit is provisioned, not what
            // passing it answers: an extension of the auth codes, with 429.
            ApiError::TooManyRequests { .. } => ("1.4", "Request limit exceeded"),
            ApiError::NotFound(_) => ("2.0", "Item not Found"),
            ApiError::Invalid(_)
            | ApiError::InvalidRows(_)
            | ApiError::PayloadTooLarge
            | ApiError::IdempotencyKeyReused
            | ApiError::IdempotencyInFlight
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
    /// 1.2 missing or malformed `Authorization`, 1.3 unknown store, 1.4 the key's
    /// request rate exceeded (429, an extension), 2.0 nothing found, 2.1 validation,
    /// 3.0 internal.
    #[schema(value_type = ZerokErrorCode)]
    pub code: &'static str,
    /// The HTTP status.
    pub http_code: u16,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
    /// The validation messages, naming their fields; for an import, one
    /// `{"itemIndex", "sku", "errors"}` per invalid product.
    #[schema(value_type = Vec<ZerokErrorEntry>)]
    pub errors: Vec<serde_json::Value>,
}

/// One entry of an error's `errors`: a message, or an import's invalid product.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ZerokErrorEntry {
    Message(String),
    Item(output::ItemErrors),
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub enum ZerokErrorCode {
    #[schema(rename = "1.2")]
    MissingAuthorization,
    #[schema(rename = "1.3")]
    UnknownStore,
    #[schema(rename = "1.4")]
    RequestLimitExceeded,
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
        description = "The 00K API's catalog and orders, served by Entreposto under /00k (or at the root of a listener of its own). Auth: the store's key in `Authorization` (a `Bearer` prefix is tolerated); an operator's key, which names no store, is refused with 1.3 (403). Every path also answers with a trailing slash; unknown query parameters are ignored.\n\nErrors are `{code, httpCode, type, description, errors}`: 1.2 missing or malformed `Authorization` (401), 1.3 unknown store (401) or a key without a store (403), 2.0 nothing found (400; a path that is no route: 404), 2.1 validation (400, the message names the field; an import's invalid products are listed in `errors` with `itemIndex`, `sku` and reasons), 3.0 internal (500). Extensions: 1.4 the key's request rate exceeded (429 with `Retry-After`), 2.1 with 422 an `Idempotency-Key` sent again with another request, 2.1 with 409 one whose first request is still in flight.\n\nOrders: `GET /orders` and `GET /orders/{id}` answer `{total, items, next, previous}` (pages from 0, 30 orders each; `next` and `previous` relative, as the document writes them) with every block of the document's example on every order; the updates answer the order after them (the invoice: 204). An illegal status move is 2.1 naming from and to.\n\nExtensions of the document: `GET /catalog/products/process/{processId}/status` (an import's progress and errors); `simple[].quantity` and `collections` in products; the answer of the stock and price batches (`{total, updated, failed, items[{index, id, sku, status, errors}]}`), which the document leaves open; `PUT /orders/{id}/erp` (`{type, sent, errorMessage}`: an ERP marks an order taken, so `erp_sent=false` is its work queue); the order's body in the answers of the order updates.\n\nNotifications (the document's opening section names two ways, PASSIVA and ATIVA, and leaves their shape open; these are extensions in the shape a 00K client already writes). Each notification is a `type` (`stock`, `price`, `product`, `order`) with the body of the endpoint it stands for: `stock` and `price` an item of `PUT /catalog/products/stock` or `/price` (the product by `id`, `sku` or `externalId`); `product` carries in `product` the body of `PUT /catalog/import/{campo}/{id}` when the notification names the product (a partial update), else one product as `POST /catalog/import` takes it (created or replaced); `order` names the order by `id` and carries in `erp` the body of `PUT /orders/{id}/erp`. PASSIVA: the store's system posts them to `POST /notifications`. ATIVA: the hub reads the store's change list, a URL of the store's own system set by the marketplace's operator, with `GET <url>?since=<position>` (no `since` the first time), and applies each change listed; the list answers `ChangeListPage` (`{total, items, next}` as 00K's listings, each item a notification with its `position`), the hub follows `next` and stores the position of the last page applied, resuming after it. Applying a notification twice is harmless: stock and prices are set, not added to, and an update that changes nothing writes nothing."
    ),
    components(schemas(ZerokError, ZerokErrorEntry, feed::ChangeListPage, feed::ChangeListItem)),
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
        let token = authorization_token_in(&parts.headers)
            .ok_or_else(|| ApiError::Unauthorized(MISSING_AUTH.into()))?;
        Ok(ZerokAuth(
            verify_request(parts, state, token, DIALECT).await?,
        ))
    }
}

/// A verified 00K key of a store: the seller whose catalog every call reads and
/// writes. An operator's key names no store, so it cannot reach a catalog.
pub struct StoreAuth {
    pub principal: Principal,
    pub scope: Scope,
}

impl FromRequestParts<AppState> for StoreAuth {
    type Rejection = Failure<Zerok>;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ZerokAuth(principal) = ZerokAuth::from_request_parts(parts, state).await?;
        if principal.credential.seller_id.is_none() {
            return Err(Failure::new(ApiError::Forbidden(
                "this is an operator's key, which names no store: the catalog and the orders \
                 are a store's, call with a key issued for the seller"
                    .into(),
            )));
        }
        Ok(StoreAuth {
            scope: principal.scope(),
            principal,
        })
    }
}

async fn unknown(_: ZerokAuth) -> Failure<Zerok> {
    Failure::new(ApiError::NotFound(NO_ROUTE.into()))
}

pub fn routes(prefix: &'static str) -> Router<AppState> {
    let answers = Answers::of::<Zerok>("ZerokError")
        .secured(&[&["store_key"]])
        .forbidding("1.3: an operator's key, which names no store");
    // Clients append paths with and without the trailing slash the document shows.
    Routes::under(prefix, document(), answers)
        .trailing_slash()
        .routes(routes!(products::list))
        .routes(routes!(products::delete))
        .routes(routes!(products::import))
        .routes(routes!(products::update))
        .routes(routes!(products::process))
        .routes(routes!(products::process_status))
        .routes(routes!(products::set_stock))
        .routes(routes!(products::stock_batch))
        .routes(routes!(products::price_batch))
        .routes(routes!(entities::categories, entities::create_categories))
        .routes(routes!(entities::category))
        .routes(routes!(entities::brands, entities::create_brand))
        .routes(routes!(entities::brand))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::set_order_status))
        .routes(routes!(orders::set_order_tracking))
        .routes(routes!(orders::set_order_invoice))
        .routes(routes!(orders::set_order_erp))
        .routes(routes!(notifications::notify))
        .finish(
            unknown,
            entreposto_http::envelope::method_not_allowed::<Zerok>,
        )
}

/// The largest body each path takes: imports carry up to ten thousand products.
pub fn body_limit(path: &str) -> usize {
    match path.strip_suffix('/').unwrap_or(path) {
        "/catalog/import" => products::IMPORT_BODY_BYTES,
        "/notifications" => notifications::BODY_BYTES,
        _ => entreposto_http::MAX_BODY_BYTES,
    }
}

/// 00K as the hub serves it.
pub const MOUNT: Mount = Mount {
    dialect: DIALECT,
    prefix: "/00k",
    routes,
    renderer: |_| render::<Zerok>,
    body_limit,
    credential_headers,
    user_email: false,
    // A store's key, in `Authorization`.
    secret: authorization_token_in,
    // 00K provisions each client's limit when it grants access (the document gives no
    // figure): set per credential (`--rate-limit`) or per dialect.
    rate_presets: &[],
    scope_headers: &[],
};

/// What a 00K client sends: the key, no `Bearer`.
pub fn credential_headers(
    _id: &str,
    secret: &str,
    _user_email: Option<&str>,
) -> Vec<(&'static str, String)> {
    vec![("Authorization", secret.to_string())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_imports_take_large_bodies() {
        assert_eq!(body_limit("/catalog/import"), products::IMPORT_BODY_BYTES);
        assert_eq!(body_limit("/catalog/import/"), products::IMPORT_BODY_BYTES);
        assert_eq!(
            body_limit("/catalog/import/sku/X"),
            entreposto_http::MAX_BODY_BYTES
        );
        assert_eq!(
            body_limit("/catalog/products/stock"),
            entreposto_http::MAX_BODY_BYTES
        );
    }

    #[test]
    fn items_not_found_are_400_and_unknown_paths_404() {
        let nothing = ApiError::NotFound("no product with sku 'X'".into());
        assert_eq!(Zerok::status(&nothing), StatusCode::BAD_REQUEST);
        assert_eq!(Zerok::body(&nothing)["code"], "2.0");
        assert_eq!(Zerok::body(&nothing)["httpCode"], 400);
        let route = ApiError::NotFound(NO_ROUTE.into());
        assert_eq!(Zerok::status(&route), StatusCode::NOT_FOUND);
        let rows = ApiError::InvalidRows(vec![entreposto_store::RowError {
            row: 0,
            sku: Some("99jjs8".into()),
            reasons: vec!["stock: Stock is required".into()],
        }]);
        assert_eq!(
            Zerok::body(&rows)["errors"],
            serde_json::json!([{"itemIndex": 0, "sku": "99jjs8", "errors": ["stock: Stock is required"]}])
        );
        let clash = ApiError::Conflict("sku: 'A' was taken meanwhile".into());
        assert_eq!(Zerok::status(&clash), StatusCode::BAD_REQUEST);
        assert_eq!(Zerok::body(&clash)["code"], "2.1");
        let op = ApiError::Forbidden("operator".into());
        assert_eq!(Zerok::body(&op)["code"], "1.3");
    }
}
