//! Webhooks on the native API: the operator's endpoints (for the whole operator, or
//! one seller's events), their delivery log, replay of one message and recovery of
//! everything since a time.
//!
//! A new endpoint answers its secret once (`whsec_...`); so does a rotation, after
//! which the old secret keeps signing beside the new one for a day. Deliveries are
//! signed as Standard Webhooks (see the README's "Webhooks"). Every route is scoped
//! to the token's operator: another operator's endpoint is a 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use entreposto_app::webhooks::{NewWebhook, WebhookPatch};
use entreposto_domain::webhook::event_types as known_event_types;
use entreposto_domain::{DeliveryState, Timestamp, WebhookEndpoint};
use entreposto_http::body::JsonBody;
use entreposto_http::error::not_found_with;
use entreposto_http::openapi::string_enum;
use entreposto_http::query::QueryPairs;
use entreposto_http::{ApiError, AppState};
use entreposto_store::webhooks::{Attempt, Delivery, DeliveryFilter};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{Array, Object};
use utoipa::ToSchema;

use super::{Native, OperatorAuth, Result};

/// Deliveries listed when `limit` is not given, and the most one page may hold.
pub const DELIVERIES_DEFAULT: u32 = 50;
pub const DELIVERIES_MAX: u32 = 200;

fn event_types() -> Array {
    Array::new(string_enum(known_event_types(), false))
}

/// [`event_types`], or `null` (every type): `nullable` beside `schema_with` is not
/// applied, so the array's type says it.
fn event_types_or_null() -> Array {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::schema::ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(string_enum(known_event_types(), false))
        .build()
}

fn delivery_state() -> Object {
    string_enum(DeliveryState::ALL.iter().map(|s| s.as_str()), false)
}

fn disabled_reason() -> Object {
    string_enum(["manual", "failing"], true)
}

/// `POST /webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"url": "https://erp.example.com/hooks/entreposto",
    "events": ["order.status_changed", "order.invoiced"]})))]
pub struct WebhookIn {
    /// Where deliveries are POSTed: `http` or `https`. A host that is a loopback,
    /// private or link-local address is refused unless the server allows them.
    #[schema(max_length = 2048)]
    pub url: String,
    /// The event types it receives; absent: all of them.
    #[schema(schema_with = event_types)]
    pub events: Option<Vec<String>>,
    /// Only this seller's events; absent: the whole operator's.
    pub seller: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Present with a value (`Some(Some)`), present as `null` (`Some(None)`), or absent
/// (`None`, through `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::deserialize(d).map(Some)
}

/// `PATCH /webhooks/{id}`: the fields given are replaced.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"enabled": true})))]
pub struct WebhookPatchIn {
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// The event types it receives; `null`: all of them.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = event_types_or_null)]
    pub events: Option<Option<Vec<String>>>,
    /// `true` enables it again (after it was disabled by hand or for failing), its
    /// pending deliveries going out; `false` disables it (events that come meanwhile
    /// are logged as `skipped`, for a recovery to send).
    pub enabled: Option<bool>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// An endpoint, without its secret.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookOut {
    pub id: String,
    pub url: String,
    /// `null`: every type.
    #[schema(schema_with = event_types_or_null)]
    pub events: Option<Vec<String>>,
    /// `null`: the whole operator.
    pub seller: Option<String>,
    pub description: String,
    pub enabled: bool,
    /// Why it is disabled: `manual` (PATCH or the CLI) or `failing` (every attempt
    /// failed for five days).
    #[schema(schema_with = disabled_reason)]
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (`null` while its last one succeeded).
    #[schema(format = DateTime)]
    pub failing_since: Option<String>,
    /// Until when the secret rotated out last still signs beside the current one.
    #[schema(format = DateTime)]
    pub previous_secret_until: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// An endpoint with its secret: answered by a creation and a rotation only.
#[derive(Serialize, ToSchema)]
pub struct WebhookSecretOut {
    /// `whsec_` and the base64 of the signing key.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
    #[serde(flatten)]
    pub endpoint: WebhookOut,
}

pub fn webhook_out(e: &WebhookEndpoint) -> WebhookOut {
    WebhookOut {
        id: e.id.clone(),
        url: e.url.as_str().to_string(),
        events: e.events.types().map(<[String]>::to_vec),
        seller: e.seller_id.clone(),
        description: e.description.clone(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.map(|r| r.as_str().to_string()),
        failing_since: e.failing_since.map(Timestamp::to_rfc3339_utc),
        previous_secret_until: e.previous_secret.as_ref().map(|p| p.until.to_rfc3339_utc()),
        created_at: e.created_at.to_rfc3339_utc(),
        updated_at: e.updated_at.to_rfc3339_utc(),
    }
}

fn with_secret(e: &WebhookEndpoint) -> WebhookSecretOut {
    WebhookSecretOut {
        secret: e.secret.expose().to_string(),
        endpoint: webhook_out(e),
    }
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptOut {
    #[schema(format = DateTime)]
    pub at: String,
    /// The response's status; `null` when none came (refused, timed out).
    pub status: Option<u16>,
    /// The start of the response body (about 1 KiB).
    pub response: String,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// The hub node that made it.
    pub node: String,
}

/// One event's delivery to the endpoint.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOut {
    /// The event's id: the `webhook-id` header, the same on every attempt and replay.
    pub message: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// What the event is about (`order:42`).
    pub entity: String,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    #[schema(schema_with = delivery_state)]
    pub state: String,
    /// Attempts since it was last enqueued (the retry schedule counts these).
    pub tries: u32,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptOut>,
}

/// A page of an endpoint's deliveries, newest event first.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryOut>,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next: Option<String>,
}

fn attempt_out(a: &Attempt) -> AttemptOut {
    AttemptOut {
        at: a.at.to_rfc3339_utc(),
        status: a.status,
        response: a.response.clone(),
        duration_ms: a.duration_ms,
        error: a.error.clone(),
        node: a.node.clone(),
    }
}

impl DeliveryOut {
    pub fn of(d: &Delivery) -> DeliveryOut {
        delivery_out(d)
    }
}

fn delivery_out(d: &Delivery) -> DeliveryOut {
    DeliveryOut {
        message: d.message_id.clone(),
        event_type: d.event_type.clone(),
        entity: d.entity.clone(),
        occurred_at: d.occurred_at.to_rfc3339_utc(),
        state: d.state.as_str().to_string(),
        tries: d.tries,
        next_attempt_at: d.next_attempt_at.map(Timestamp::to_rfc3339_utc),
        attempts: d.attempts.iter().map(attempt_out).collect(),
    }
}

fn not_found<'a, E: Into<entreposto_app::AppError> + 'a>(
    id: &'a str,
) -> impl FnOnce(E) -> ApiError + 'a {
    not_found_with(move || format!("no webhook '{id}'"))
}

/// Creates an endpoint.
#[utoipa::path(post, path = "/webhooks", request_body = WebhookIn,
    responses((status = 201, description = "Created: its id and secret (shown only here and on rotation)", body = WebhookSecretOut),
              (status = 422, description = "A field is invalid, naming it (`url`: not http or https, or a private address; `events[i]`: an unknown type; `seller`: not the operator's)")))]
pub async fn create_webhook(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    JsonBody(body, ..): JsonBody<WebhookIn, Native>,
) -> Result<(StatusCode, Json<WebhookSecretOut>)> {
    let e = state
        .app
        .create_webhook(
            &p.credential.operator_id,
            NewWebhook {
                url: body.url,
                events: body.events,
                seller: body.seller,
                description: body.description,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(with_secret(&e))))
}

/// Lists the operator's endpoints, oldest first.
#[utoipa::path(get, path = "/webhooks",
    responses((status = 200, description = "The operator's endpoints", body = [WebhookOut])))]
pub async fn list_webhooks(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
) -> Result<Json<Vec<WebhookOut>>> {
    let list = state.store.list_webhooks(&p.credential.operator_id).await?;
    Ok(Json(list.iter().map(webhook_out).collect()))
}

/// One endpoint.
#[utoipa::path(get, path = "/webhooks/{id}",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = WebhookOut),
              (status = 404, description = "No such endpoint for this operator")))]
pub async fn get_webhook(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>> {
    let e = state
        .store
        .get_webhook(&p.credential.operator_id, &id)
        .await
        .map_err(not_found(&id))?;
    Ok(Json(webhook_out(&e)))
}

/// Changes an endpoint's URL, event types, description, or enables or disables it.
#[utoipa::path(patch, path = "/webhooks/{id}", request_body = WebhookPatchIn,
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint as changed", body = WebhookOut),
              (status = 404, description = "No such endpoint for this operator"),
              (status = 422, description = "A field is invalid, naming it")))]
pub async fn update_webhook(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<WebhookPatchIn, Native>,
) -> Result<Json<WebhookOut>> {
    let patch = WebhookPatch {
        url: body.url,
        events: body.events,
        enabled: body.enabled,
        description: body.description,
    };
    let e = state
        .app
        .update_webhook(&p.credential.operator_id, &id, patch)
        .await
        .map_err(not_found(&id))?;
    Ok(Json(webhook_out(&e)))
}

/// Deletes an endpoint with its delivery log.
#[utoipa::path(delete, path = "/webhooks/{id}",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such endpoint for this operator")))]
pub async fn delete_webhook(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state
        .app
        .delete_webhook(&p.credential.operator_id, &id)
        .await
        .map_err(not_found(&id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives the endpoint a new secret; the old one keeps signing beside it for a day
/// (deliveries carry both signatures meanwhile).
#[utoipa::path(post, path = "/webhooks/{id}/rotate",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The new secret", body = WebhookSecretOut),
              (status = 404, description = "No such endpoint for this operator")))]
pub async fn rotate_webhook(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WebhookSecretOut>> {
    let e = state
        .app
        .rotate_webhook_secret(&p.credential.operator_id, &id)
        .await
        .map_err(not_found(&id))?;
    Ok(Json(with_secret(&e)))
}

/// The endpoint's delivery log: each event's delivery with its attempts, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries",
    params(("id" = String, Path, description = "The endpoint's id"),
           ("state" = Option<String>, Query, description = "Only deliveries in this state: pending, succeeded, failed or skipped"),
           ("before" = Option<String>, Query, description = "The previous page's `next`"),
           ("limit" = Option<u32>, Query, description = "At most this many (default 50, at most 200)")),
    responses((status = 200, description = "A page of deliveries", body = DeliveryPage),
              (status = 404, description = "No such endpoint for this operator"),
              (status = 422, description = "A parameter is invalid, naming it")))]
pub async fn list_deliveries(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Json<DeliveryPage>> {
    let filter = DeliveryFilter {
        state: q
            .get("state")
            .map(|s| {
                DeliveryState::parse(s).ok_or_else(|| {
                    ApiError::invalid("state", "must be pending, succeeded, failed or skipped")
                })
            })
            .transpose()?,
        before: q
            .get("before")
            .map(|b| {
                b.parse::<i64>()
                    .map_err(|_| ApiError::invalid("before", "must be a page's `next`"))
            })
            .transpose()?,
        limit: q
            .get("limit")
            .map(|l| match l.parse::<u32>() {
                Ok(n) if (1..=DELIVERIES_MAX).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid(
                    "limit",
                    format!("must be 1 to {DELIVERIES_MAX}"),
                )),
            })
            .transpose()?
            .unwrap_or(DELIVERIES_DEFAULT),
    };
    let list = state
        .store
        .list_webhook_deliveries(&p.credential.operator_id, &id, &filter)
        .await
        .map_err(not_found(&id))?;
    let next = (list.len() == filter.limit as usize)
        .then(|| list.last().map(|d| d.seq.to_string()))
        .flatten();
    Ok(Json(DeliveryPage {
        items: list.iter().map(delivery_out).collect(),
        next,
    }))
}

/// Sends one message to the endpoint again, now, whatever became of it before.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{message}/replay",
    params(("id" = String, Path, description = "The endpoint's id"),
           ("message" = String, Path, description = "The message (event) id: a delivery's `message`, the `webhook-id` header")),
    responses((status = 202, description = "Queued: the delivery as it is now", body = DeliveryOut),
              (status = 404, description = "No such endpoint, or no delivery of that message to it")))]
pub async fn replay_delivery(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path((id, message)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryOut>)> {
    let d = state
        .app
        .replay_webhook_message(&p.credential.operator_id, &id, &message)
        .await
        .map_err(not_found_with(|| {
            format!("no delivery of message '{message}' to webhook '{id}'")
        }))?;
    Ok((StatusCode::ACCEPTED, Json(delivery_out(&d))))
}

/// `POST /webhooks/{id}/recover`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"since": "2024-05-01T00:00:00Z"})))]
pub struct RecoverIn {
    /// Events that occurred at or after this time (ISO 8601; Brasília time when it has
    /// no offset).
    #[schema(format = DateTime)]
    pub since: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoverOut {
    /// How many deliveries were queued again.
    pub requeued: u64,
}

/// Sends again every delivery of events since a time that did not arrive: those
/// that failed, and those skipped while the endpoint was disabled.
#[utoipa::path(post, path = "/webhooks/{id}/recover", request_body = RecoverIn,
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 202, description = "Queued", body = RecoverOut),
              (status = 404, description = "No such endpoint for this operator"),
              (status = 422, description = "`since` is not a time")))]
pub async fn recover_webhook(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<RecoverIn, Native>,
) -> Result<(StatusCode, Json<RecoverOut>)> {
    let since = Timestamp::parse(&body.since).map_err(|e| e.under("since"))?;
    let requeued = state
        .app
        .recover_webhook(&p.credential.operator_id, &id, since)
        .await
        .map_err(not_found(&id))?;
    Ok((StatusCode::ACCEPTED, Json(RecoverOut { requeued })))
}
