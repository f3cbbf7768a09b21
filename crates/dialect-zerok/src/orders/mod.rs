//! 00K's orders: the listing with its filters and pages, one order, and the updates
//! a store's system makes: status, tracking codes, the invoice, and the ERP mark (an
//! extension of the document, so `erp_sent=false` is an ERP's work queue: poll, take,
//! mark).
//!
//! Each handler parses ([`filter`], [`input`]), calls a use case of `entreposto_app`
//! or one of its reads, and renders ([`output`]); whether a move is legal, whether an
//! invoice is the order's and the seller's, when tracking codes may be set: all of it
//! is the use cases'. `GET /orders/{id}` answers the listing's shape with the one
//! order, as the document's single endpoint `GET /orders/{id}{?...}` does; its filters
//! apply to that order too (none matching is an empty page), and an id that is not an
//! order of the store (another store's included) is 2.0. The updates answer the order
//! as it is after them (the document shows no body; some clients take a 200 without
//! one for a failure), the invoice 204 as documented. An illegal move is 2.1 naming
//! from and to; a move that lost a race to another is 2.1 too (the document's table has
//! no conflict), saying so.

pub mod filter;
pub mod input;
pub mod origin;
pub mod output;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use entreposto_domain::{ErpMark, Scope};
use entreposto_http::body::JsonBody;
use entreposto_http::envelope::Failure;
use entreposto_http::error::not_found_with;
use entreposto_http::query::QueryPairs;
use entreposto_http::reply::SizedJson;
use entreposto_http::{ApiError, AppState};
use entreposto_store::{OrderFilter, OrderView};

use crate::{StoreAuth, Zerok};
use filter::{ListQuery, Listing, PAGE_SIZE};
use input::{ErpIn, InvoiceIn, StatusIn, TrackingIn};
use output::{OrderItemOut, OrderPage};

type Result<T> = std::result::Result<T, Failure<Zerok>>;

/// How deep the pages of an origin naming several marketplaces go (see [`read_page`]).
pub const MERGED_DEPTH: u64 = 3_000;

/// Room for one rendered order, so a page is written without regrowing its buffer.
const ORDER_BYTES: usize = 4096;

fn order_id(raw: &str) -> std::result::Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no order with id '{raw}'")))
}

fn no_order<E: Into<entreposto_app::AppError>>(id: i64) -> impl FnOnce(E) -> ApiError {
    not_found_with(move || format!("no order with id {id}"))
}

/// Orders rendered as a page.
fn page(
    views: &[OrderView],
    total: u64,
    next: Option<String>,
    previous: Option<String>,
) -> Response {
    SizedJson(
        OrderPage {
            total,
            items: views.iter().map(OrderItemOut::of).collect(),
            next,
            previous,
        },
        ORDER_BYTES * views.len() + 256,
    )
    .into_response()
}

/// One order in the listing's item shape.
fn one(view: &OrderView) -> Response {
    SizedJson(OrderItemOut::of(view), ORDER_BYTES).into_response()
}

/// The page `listing` asks for, and the total, from the store.
async fn read_page(
    state: &AppState,
    scope: &Scope,
    l: &Listing,
) -> std::result::Result<(Vec<OrderView>, u64), ApiError> {
    if l.nothing {
        return Ok((Vec::new(), 0));
    }
    if l.channels.is_empty() {
        let total = state.store.count_order_views(scope, &l.filter).await?;
        let views = if l.filter.offset >= total {
            Vec::new()
        } else {
            state.store.list_order_views(scope, &l.filter).await?
        };
        return Ok((views, total));
    }
    // An origin naming several marketplaces (`b2w`, `cnova`): the store filters by one
    // channel, so each channel's orders up to the page's end are read and merged in
    // the listing's order (newest placement, then highest id, first). That reads up to
    // a page's end from every channel, so such pages go [`MERGED_DEPTH`] orders deep.
    let end = l.filter.offset + u64::from(l.filter.limit);
    let mut total = 0;
    let mut counted = Vec::with_capacity(l.channels.len());
    for c in &l.channels {
        let one = OrderFilter {
            channel: Some(c.clone()),
            offset: 0,
            limit: l.filter.limit,
            ..l.filter.clone()
        };
        let n = state.store.count_order_views(scope, &one).await?;
        total += n;
        counted.push((one, n));
    }
    if l.filter.offset >= total {
        return Ok((Vec::new(), total));
    }
    if end > MERGED_DEPTH {
        return Err(ApiError::invalid(
            "page",
            format!(
                "an origin of several marketplaces is listed {MERGED_DEPTH} orders deep (page {}): \
                 filter by one of its marketplaces (marketplace=...) to go further",
                MERGED_DEPTH / PAGE_SIZE - 1
            ),
        ));
    }
    let mut merged = Vec::new();
    for (mut one, n) in counted {
        if n > 0 {
            one.limit = end as u32;
            merged.extend(state.store.list_order_views(scope, &one).await?);
        }
    }
    merged.sort_by(|a, b| {
        (b.order.data.placed_at, b.order.id).cmp(&(a.order.data.placed_at, a.order.id))
    });
    let views = merged
        .into_iter()
        .skip(l.filter.offset as usize)
        .take(l.filter.limit as usize)
        .collect();
    Ok((views, total))
}

/// `GET /orders` (with or without the trailing slash).
#[utoipa::path(get, path = "/orders", params(ListQuery),
    responses((status = 200, description = "A page of orders matching every filter given, newest placement first (an empty page when none does)", body = OrderPage<'static>),
              (status = 400, description = "2.1: a filter or the page is invalid; the message names it (an origin naming several marketplaces, `b2w` or `cnova`, is listed 3,000 orders deep)")))]
pub async fn list_orders(
    auth: StoreAuth,
    State(state): State<AppState>,
    q: QueryPairs,
) -> Result<Response> {
    let l = filter::listing(&q, state.app.now())?;
    let (views, total) = read_page(&state, &auth.scope, &l).await?;
    let next = (l.filter.offset + PAGE_SIZE < total).then(|| filter::page_link(&q, l.page + 1));
    let previous = (l.page > 0).then(|| filter::page_link(&q, l.page - 1));
    Ok(page(&views, total, next, previous))
}

/// `GET /orders/{id}`: the listing's shape with the one order.
#[utoipa::path(get, path = "/orders/{id}",
    params(("id" = i64, Path, example = 1, description = "The hub's id of the order"), ListQuery),
    responses((status = 200, description = "The order as a page of one (`total` 1), or an empty page when a filter given leaves it out", body = OrderPage<'static>),
              (status = 400, description = "2.0: the store has no order with this id; 2.1: a filter is invalid (the message names it)")))]
pub async fn get_order(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response> {
    let l = filter::listing(&q, state.app.now())?;
    let id = order_id(&id)?;
    let view = state
        .store
        .get_order_view(&auth.scope, id)
        .await
        .map_err(no_order(id))?;
    // The filters decide as the listing's do: the store's query narrowed to the one
    // order (a read the common case, no filter, does without).
    let (views, total) = if l.unfiltered && l.filter.placed_to >= Some(view.order.data.placed_at) {
        (vec![view], 1)
    } else {
        let one = Listing {
            filter: OrderFilter {
                id: Some(id),
                offset: 0,
                ..l.filter.clone()
            },
            ..l
        };
        read_page(&state, &auth.scope, &one).await?
    };
    Ok(page(&views, total, None, None))
}

/// `PUT /orders/{id}/status`.
#[utoipa::path(put, path = "/orders/{id}/status", request_body = StatusIn,
    params(("id" = i64, Path, example = 1, description = "The hub's id of the order")),
    responses((status = 200, description = "The order after the move (moving to the state it is in changes nothing)", body = OrderItemOut<'static>),
              (status = 400, description = "2.0: no such order; 2.1: the status or substatus is invalid, or the move is illegal (the message names from and to: nothing leaves cancelled, nothing goes back, a delivered order is not cancelled, shipping needs the invoice, payment is the marketplace's), or another update moved the order meanwhile")))]
pub async fn set_order_status(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<StatusIn, Zerok>,
) -> Result<Response> {
    let id = order_id(&id)?;
    let to = body.state().map_err(ApiError::Invalid)?;
    let view = state
        .app
        .move_order(&auth.scope, id, to)
        .await
        .map_err(no_order(id))?;
    Ok(one(&view))
}

/// `PUT /orders/{id}/tracking`.
#[utoipa::path(put, path = "/orders/{id}/tracking", request_body = TrackingIn,
    params(("id" = i64, Path, example = 1, description = "The hub's id of the order")),
    responses((status = 200, description = "The order with these tracking codes (replacing the ones it had)", body = OrderItemOut<'static>),
              (status = 400, description = "2.0: no such order; 2.1: a code is not a Correios SRO code or its check digit is wrong (each wrong one named), or the order is not between payment and delivery")))]
pub async fn set_order_tracking(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<TrackingIn, Zerok>,
) -> Result<Response> {
    let id = order_id(&id)?;
    let codes = body.codes().map_err(ApiError::Invalid)?;
    let view = state
        .app
        .set_tracking(&auth.scope, id, codes)
        .await
        .map_err(no_order(id))?;
    Ok(one(&view))
}

/// `PUT /orders/{id}/invoice`.
#[utoipa::path(put, path = "/orders/{id}/invoice", request_body = InvoiceIn,
    params(("id" = i64, Path, example = 1, description = "The hub's id of the order")),
    responses((status = 204, description = "The invoice is recorded (replacing an earlier one, until the order ships)"),
              (status = 400, description = "2.0: no such order; 2.1: a field is invalid, naming it; for the access key, naming its part (cUF, AAMM, CNPJ, mod, serie, nNF, tpEmis, cDV) and why: its series and number must be the invoice's and its issuer the store's CNPJ; CFOPs are exit codes (5xxx, 6xxx, 7xxx); or the order is not between payment and shipping")))]
pub async fn set_order_invoice(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<InvoiceIn, Zerok>,
) -> Result<Response> {
    let id = order_id(&id)?;
    let invoice = body.invoice().map_err(ApiError::Invalid)?;
    state
        .app
        .set_invoice(&auth.scope, id, invoice)
        .await
        .map_err(no_order(id))?;
    // No body, as documented; the content type still says JSON for clients that look.
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
    )
        .into_response())
}

/// `PUT /orders/{id}/erp`: an extension of the document.
#[utoipa::path(put, path = "/orders/{id}/erp", request_body = ErpIn,
    params(("id" = i64, Path, example = 1, description = "The hub's id of the order")),
    responses((status = 200, description = "An extension of the document: the ERP's report is recorded (replacing its earlier one; the same report again changes nothing, so the first time it took the order is kept). With `sent` true the order leaves the `erp_sent=false` listing, the ERP's work queue", body = OrderItemOut<'static>),
              (status = 400, description = "2.0: no such order; 2.1: `type` is not one of the ERPs, `sent` is missing, or `errorMessage` comes with `sent` true")))]
pub async fn set_order_erp(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<ErpIn, Zerok>,
) -> Result<Response> {
    let id = order_id(&id)?;
    let report = body.report().map_err(ApiError::Invalid)?;
    let mark = ErpMark {
        erp: report.erp,
        sent: report.sent,
        error: report.error,
        // The use case stamps its own time.
        at: state.app.now(),
    };
    let view = state
        .app
        .mark_erp(&auth.scope, id, mark)
        .await
        .map_err(no_order(id))?;
    Ok(one(&view))
}
