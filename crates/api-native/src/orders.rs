//! Orders on the native API: the marketplace side of the lifecycle. The marketplace
//! pushes an order, approves its payment (reserving its SKUs in the seller's catalog),
//! cancels it (returning them) and confirms its delivery; an ERP working for the
//! operator may mark orders taken, as 00K's `PUT /orders/{id}/erp` does for a seller's.
//! Every order answer shows the lifecycle's state, history and interactions, the
//! invoice and tracking codes the seller recorded, the ERP marks and the pendencies.
//! An illegal move is a 422 naming from and to (field `status`); a move that lost a
//! race to another is a 409.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use entreposto_domain::Upserted;
use entreposto_http::body::JsonBody;
use entreposto_http::error::not_found_with;
use entreposto_http::{ApiError, AppState};
use entreposto_store::StoreError;

use crate::dto::{ErpIn, OrderIn, OrderOut};
use crate::{Native, OperatorAuth, Result};

fn order_id(raw: &str) -> std::result::Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no order '{raw}'")))
}

/// Creates an order, or updates the seller's order with the same channel and
/// marketplace order id (its data; the lifecycle moves only by the actions).
#[utoipa::path(
    post,
    path = "/orders",
    request_body = OrderIn,
    responses(
        (status = 201, description = "Order created, in the state its `status` names", body = OrderOut),
        (status = 200, description = "Existing order's data replaced (its lifecycle kept)", body = OrderOut),
    )
)]
pub async fn push_order(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    JsonBody(body, ..): JsonBody<OrderIn, Native>,
) -> Result<(StatusCode, Json<OrderOut>)> {
    let operator_id = &p.credential.operator_id;
    let seller = match state.store.get_seller(operator_id, &body.seller).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => {
            return Err(
                ApiError::invalid("seller", format!("unknown seller '{}'", body.seller)).into(),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let data = body.into_domain(operator_id, &seller.id)?;
    let (view, how) = state.app.push_order(&data).await?;
    let status = match how {
        Upserted::Created => StatusCode::CREATED,
        Upserted::Updated => StatusCode::OK,
    };
    Ok((status, Json(OrderOut::from(&view))))
}

/// Reads one order of the operator's sellers by its hub id.
#[utoipa::path(
    get,
    path = "/orders/{id}",
    params(("id" = i64, Path, example = 1, description = "The hub's order id")),
    responses(
        (status = 200, description = "The order", body = OrderOut),
        (status = 404, description = "No such order for this operator"),
    )
)]
pub async fn get_order(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OrderOut>> {
    let n = order_id(&id)?;
    answer(&id, state.store.get_order_view(&p.scope(), n).await)
}

/// Approves the order's payment: `pending/payment` → `payment/paid`, reserving the
/// ordered SKUs in the seller's catalog (a kit through its components; products that
/// sell without stock or on pre-sale, and SKUs the catalog lacks, reserve nothing).
/// When a SKU is short the order goes on to `pickandpack/outofstock` and reserves
/// nothing. Approving a paid order changes nothing.
#[utoipa::path(
    post,
    path = "/orders/{id}/payment",
    params(("id" = i64, Path, example = 1, description = "The hub's order id")),
    responses(
        (status = 200, description = "The order, paid (or out of stock)", body = OrderOut),
        (status = 404, description = "No such order for this operator"),
        (status = 409, description = "The order moved while the approval was decided"),
        (status = 422, description = "The order is past payment or cancelled (the message names from and to)"),
    )
)]
pub async fn approve_payment(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OrderOut>> {
    let n = order_id(&id)?;
    answer(&id, state.app.approve_payment(&p.scope(), n).await)
}

/// Cancels the order, returning the stock its approval reserved. A delivered order is
/// not cancelled (a return is needed); cancelling a cancelled order changes nothing.
#[utoipa::path(
    post,
    path = "/orders/{id}/cancel",
    params(("id" = i64, Path, example = 1, description = "The hub's order id")),
    responses(
        (status = 200, description = "The order, cancelled", body = OrderOut),
        (status = 404, description = "No such order for this operator"),
        (status = 409, description = "The order moved while the cancellation was decided"),
        (status = 422, description = "The order is delivered (the message names from and to)"),
    )
)]
pub async fn cancel_order(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OrderOut>> {
    let n = order_id(&id)?;
    answer(&id, state.app.cancel_order(&p.scope(), n).await)
}

/// Confirms the order was delivered: `shipped` (or `delivery/notdelivered`) →
/// `delivery/delivered`.
#[utoipa::path(
    post,
    path = "/orders/{id}/delivery",
    params(("id" = i64, Path, example = 1, description = "The hub's order id")),
    responses(
        (status = 200, description = "The order, delivered", body = OrderOut),
        (status = 404, description = "No such order for this operator"),
        (status = 409, description = "The order moved while the confirmation was decided"),
        (status = 422, description = "The order has not shipped (the message names from and to)"),
    )
)]
pub async fn confirm_delivery(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OrderOut>> {
    let n = order_id(&id)?;
    answer(&id, state.app.confirm_delivery(&p.scope(), n).await)
}

/// Marks the order taken by an ERP (`sent` true), or its failure to take it (`sent`
/// false with `errorMessage`): the ERP's mark replaces its earlier one. The same mark
/// again changes nothing (its time stays the first). The 00K dialect offers the same
/// to sellers' ERPs.
#[utoipa::path(
    put,
    path = "/orders/{id}/erp",
    params(("id" = i64, Path, example = 1, description = "The hub's order id")),
    request_body = ErpIn,
    responses(
        (status = 200, description = "The order with the mark", body = OrderOut),
        (status = 404, description = "No such order for this operator"),
        (status = 422, description = "An unknown ERP type, or an error message on a taken order"),
    )
)]
pub async fn mark_erp(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<ErpIn, Native>,
) -> Result<Json<OrderOut>> {
    let n = order_id(&id)?;
    let mark = body.into_domain()?;
    let view = state
        .app
        .mark_erp(&p.scope(), n, mark)
        .await
        .map_err(not_found_with(|| format!("no order '{id}'")))?;
    Ok(Json(OrderOut::from(&view)))
}

/// The order a read or an action on `id` came to, or 404 naming the id: what every
/// order route answers.
fn answer<E: Into<entreposto_app::AppError>>(
    id: &str,
    outcome: std::result::Result<entreposto_store::OrderView, E>,
) -> Result<Json<OrderOut>> {
    outcome
        .map(|view| Json(OrderOut::from(&view)))
        .map_err(|e| not_found_with(|| format!("no order '{id}'"))(e).into())
}
