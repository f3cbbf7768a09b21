//! Omnik's customer service ("atendimento"): read one, list three ways with offset
//! paging, subjects, return subjects, open with comments, close with a final comment.
//! Comments map onto the ticket core: `entity` is the author's party and
//! `customerCanView` picks the conversation, so a comment posted here shows in
//! SkyHub's chats and the other way round.

use std::collections::hash_map::{Entry, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use entreposto_app::{AppError, OpenTicket};
use entreposto_domain::{
    check_email, Author, Conversation, NewMessage, OrderState, OrderSummary, Party, Scope,
    TicketHead, TicketMessage, Timestamp,
};
use entreposto_store::{OrderView, TicketFilter, TicketSort};
use utoipa::IntoParams;

use super::dto::{
    parse_entity, CaseStatus, CloseIn, CommentIn, CreateIn, CustomerService, Page, ReturnSubject,
    Sort, SubjectOut,
};
use super::{Omnik, OmnikAuth, OmnikWeb, OmnikWebAuth};
use entreposto_http::body::JsonBody;
use entreposto_http::envelope::Failure;
use entreposto_http::query::QueryPairs;
use entreposto_http::reply::SizedJson;
use entreposto_http::{ApiError, AppState};

type Result<T> = std::result::Result<T, Failure<Omnik>>;

/// Omnik documents `limit` as "from 10 to at most 10": larger values are read as 10.
pub const MAX_LIMIT: u32 = 10;

/// Room for one rendered case (about 1.2 to 2 KiB), so its JSON is written without
/// regrowing the buffer.
const CASE_BYTES: usize = 2560;

fn entity(raw: Option<&str>, field: String) -> std::result::Result<Party, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::invalid(field.clone(), "is required"))?;
    parse_entity(raw).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("unknown value '{raw}': expected CLIENTE, SELLER or MARKETPLACE"),
        )
    })
}

/// `yyyy-MM-dd'T'HH:mm:ss` with an optional fraction (the document writes `.SSS'000'`)
/// and optional zone; zone-less is Brasília time.
fn iteration_date(raw: Option<&str>, field: String) -> std::result::Result<Timestamp, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::invalid(field.clone(), "is required"))?;
    let b = raw.as_bytes();
    let shaped = b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':';
    let bad = || {
        ApiError::invalid(
            field.clone(),
            format!("'{raw}' is not yyyy-MM-dd'T'HH:mm:ss.SSS'000'"),
        )
    };
    if !shaped {
        return Err(bad());
    }
    Timestamp::parse(raw).map_err(|_| bad())
}

/// Validates one comment against the document's required fields.
fn comment(c: CommentIn, prefix: &str) -> std::result::Result<NewMessage, ApiError> {
    let f = |name: &str| format!("{prefix}.{name}");
    let party = entity(c.entity.as_deref(), f("entity"))?;
    let responsible = entity(c.responsible.as_deref(), f("responsible"))?;
    let text = c.comment.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::invalid(f("comment"), "is required"));
    }
    let author = c
        .author
        .ok_or_else(|| ApiError::invalid(f("author"), "is required"))?;
    let email = author.email.unwrap_or_default();
    if email.trim().is_empty() {
        return Err(ApiError::invalid(f("author.email"), "is required"));
    }
    check_email(&f("author.email"), &email).map_err(ApiError::Invalid)?;
    let at = iteration_date(c.iteration_date.as_deref(), f("iterationDate"))?;
    // The conversation decides who sees the comment (a customer's own comment is
    // always in the customer's conversation).
    let mut msg = NewMessage::new(
        Conversation::of_comment(party, c.customer_can_view.unwrap_or(false)),
        Author {
            party,
            name: author.name,
            email: Some(email),
            code: author.code,
        },
        text,
    );
    msg.at = Some(at);
    // Kept with the comment so it reads back as written; the ticket's own subject
    // and responsible are set by the create body and by close.
    msg.responsible = Some(responsible);
    msg.subject = c
        .subject
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    msg.validate()
        .map_err(|e| ApiError::Invalid(e.under(prefix)))?;
    Ok(msg)
}

fn not_found<'a, E: Into<AppError> + 'a>(what: &'a str) -> impl FnOnce(E) -> ApiError + 'a {
    entreposto_http::error::not_found_with(move || format!("{what} not found"))
}

/// Renders tickets with their order and comments. Tickets of one order (the by-order
/// listings) share one read of it; `known` is an order the caller has already read.
/// What a page of cases is rendered from: the orders and comments of its tickets.
struct PageData {
    /// Each order with its lifecycle state (what `orderData.status` shows).
    orders: HashMap<i64, (OrderSummary, OrderState)>,
    messages: HashMap<i64, Vec<TicketMessage>>,
}

impl PageData {
    async fn read(
        state: &AppState,
        scope: &Scope,
        tickets: &[TicketHead],
        known: Option<OrderView>,
    ) -> std::result::Result<PageData, ApiError> {
        let summary = |v: OrderView| (v.order.id, (v.order.into(), v.progress.state));
        let mut orders: HashMap<i64, (OrderSummary, OrderState)> =
            known.map(summary).into_iter().collect();
        let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
        let mut messages: HashMap<i64, Vec<_>> = HashMap::new();
        for m in state.store.list_messages_of(scope, &ids).await? {
            messages.entry(m.ticket_id).or_default().push(m);
        }
        for t in tickets {
            if let Entry::Vacant(slot) = orders.entry(t.order_id) {
                slot.insert(summary(state.store.get_order_view(scope, t.order_id).await?).1);
            }
        }
        Ok(PageData { orders, messages })
    }

    fn render<'a>(&'a self, tickets: &'a [TicketHead]) -> Vec<CustomerService<'a>> {
        tickets
            .iter()
            .map(|t| {
                let mine = self.messages.get(&t.id).map_or(&[][..], Vec::as_slice);
                let (order, order_state) = &self.orders[&t.order_id];
                CustomerService::of(t, order, *order_state, mine)
            })
            .collect()
    }
}

/// One case in Omnik's shape, read in one go (ticket, order, comments) and answered
/// with `status`. It returns the finished response because the case borrows from
/// what was read, which ends here.
async fn detail(
    state: &AppState,
    scope: &Scope,
    id: i64,
    status: StatusCode,
) -> std::result::Result<Response, ApiError> {
    let d = state
        .store
        .get_ticket_detail(scope, id)
        .await
        .map_err(not_found("customer service"))?;
    // The order's status is its lifecycle's, kept apart from the pushed body (the
    // detail reads it with the order, in the same statement on SQLite).
    let case = CustomerService::of(&d.ticket, &d.order, d.order_state, &d.messages);
    Ok((status, SizedJson(case, CASE_BYTES)).into_response())
}

/// The paging and filters of the three list endpoints.
fn list_filter(q: &QueryPairs) -> std::result::Result<(TicketFilter, &'static str), ApiError> {
    let mut f = TicketFilter::default();
    let offset = match q.get("offset") {
        // Read as i64: the stores page with signed offsets, and the document says so.
        Some(o) => o
            .parse::<i64>()
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::invalid("offset", format!("'{o}' is not a non-negative integer"))
            })?,
        None => 0,
    };
    let limit = match q.get("limit") {
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n >= 1 => (n as u64).min(MAX_LIMIT as u64) as u32,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("'{l}' is not a limit between 1 and {MAX_LIMIT}"),
                ))
            }
        },
        None => MAX_LIMIT,
    };
    let sort = match q.get("sort") {
        None => "lastUpdate",
        Some(s) if s.eq_ignore_ascii_case("lastUpdate") => "lastUpdate",
        Some(s) if s.eq_ignore_ascii_case("createDate") => "createDate",
        Some(s) => {
            return Err(ApiError::invalid(
                "sort",
                format!("unknown sort '{s}': expected lastUpdate or createDate"),
            ))
        }
    };
    f.sort = if sort == "createDate" {
        TicketSort::CreatedAt
    } else {
        TicketSort::UpdatedAt
    };
    if let Some(s) = q.get("status") {
        f.open = Some(match s.to_ascii_uppercase().as_str() {
            "OPEN" | "OPENED" | "ABERTO" => true,
            "CLOSED" | "FECHADO" | "ENCERRADO" => false,
            _ => {
                return Err(ApiError::invalid(
                    "status",
                    format!("unknown status '{s}': expected OPEN or CLOSED"),
                ))
            }
        });
    }
    if let Some(d) = q.get("last_update") {
        f.updated_from = Some(Timestamp::parse(d).map_err(|_| {
            ApiError::invalid("last_update", format!("'{d}' is not yyyy-MM-dd'T'HH:mm:ss"))
        })?);
    }
    f.offset = offset;
    f.limit = limit;
    Ok((f, sort))
}

async fn page(
    state: &AppState,
    scope: &Scope,
    q: &QueryPairs,
    narrow: impl FnOnce(&mut TicketFilter),
    known: Option<OrderView>,
) -> Result<Response> {
    let (mut f, sort) = list_filter(q)?;
    narrow(&mut f);
    let total = state.store.count_tickets(scope, &f).await?;
    let tickets: Vec<TicketHead> = if f.offset >= total {
        Vec::new()
    } else {
        let listed = state.store.list_tickets(scope, &f).await?;
        listed.into_iter().map(TicketHead::from).collect()
    };
    let data = PageData::read(state, scope, &tickets, known).await?;
    let size = CASE_BYTES * tickets.len() + 128;
    Ok(SizedJson(
        Page {
            total,
            limit: f.limit,
            offset: f.offset,
            sort,
            values: data.render(&tickets),
        },
        size,
    )
    .into_response())
}

/// The paging and filters of the list endpoints.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Cases to skip.
    #[param(minimum = 0)]
    offset: Option<i64>,
    /// Cases per page, at least 1; more than 10 reads as 10.
    #[param(minimum = 1)]
    limit: Option<i64>,
    /// Default `lastUpdate`, newest first.
    #[param(value_type = Option<Sort>, inline)]
    sort: Option<String>,
    #[param(value_type = Option<CaseStatus>, inline)]
    status: Option<String>,
    /// Only cases updated since this time.
    #[param(schema_with = last_update)]
    last_update: Option<String>,
}

fn last_update() -> utoipa::openapi::schema::Object {
    entreposto_http::openapi::date_time_text(false)
}

/// The header an operator credential names one of its sellers with.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct SellerHeader {
    /// One of the operator's sellers, to act for it (a seller credential may name
    /// only its own).
    seller: Option<String>,
}

fn ticket_id(raw: &str) -> std::result::Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::NotFound(format!("customer service '{raw}' not found")))
}

/// `GET /HUB/v1/orders/customerservice/{id}`.
#[utoipa::path(get, path = "/HUB/v1/orders/customerservice/{id}",
    params(("id" = i64, Path, example = 1, description = "The case's id"), SellerHeader),
    responses((status = 200, description = "The case", body = CustomerService<'static>)))]
pub async fn get_one(
    auth: OmnikAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response> {
    Ok(detail(&state, &auth.scope, ticket_id(&id)?, StatusCode::OK).await?)
}

/// `GET /HUB/v1/orders/customerservice/` (with or without the slash).
#[utoipa::path(get, path = "/HUB/v1/orders/customerservice", params(ListQuery, SellerHeader),
    responses((status = 200, description = "A page of cases", body = Page<'static>)))]
pub async fn list(
    auth: OmnikAuth,
    State(state): State<AppState>,
    q: QueryPairs,
) -> Result<Response> {
    page(&state, &auth.scope, &q, |_| {}, None).await
}

/// `GET /HUB/v1/orders/marketplaceid/{marketplaceid}/customerservice`.
#[utoipa::path(get, path = "/HUB/v1/orders/marketplaceid/{marketplaceid}/customerservice",
    params(("marketplaceid" = String, Path, description = "The marketplace's order id"), ListQuery, SellerHeader),
    responses((status = 200, description = "A page of the order's cases (empty when there is no such order)", body = Page<'static>)))]
pub async fn by_marketplace_id(
    auth: OmnikAuth,
    State(state): State<AppState>,
    Path(marketplace_id): Path<String>,
    q: QueryPairs,
) -> Result<Response> {
    page(
        &state,
        &auth.scope,
        &q,
        |f| f.marketplace_order_id = Some(marketplace_id),
        None,
    )
    .await
}

/// `GET /HUB/v1/orders/{id}/customerservice`: by the hub's order id.
#[utoipa::path(get, path = "/HUB/v1/orders/{id}/customerservice",
    params(("id" = i64, Path, example = 1, description = "The hub's order id"), ListQuery, SellerHeader),
    responses((status = 200, description = "A page of the order's cases", body = Page<'static>)))]
pub async fn by_order(
    auth: OmnikAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response> {
    let order_id: i64 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::NotFound(format!("order '{id}' not found")))?;
    let order = state
        .store
        .get_order_view(&auth.scope, order_id)
        .await
        .map_err(not_found("order"))?;
    page(
        &state,
        &auth.scope,
        &q,
        |f| f.order_id = Some(order_id),
        Some(order),
    )
    .await
}

fn tenant_of(auth: &OmnikAuth) -> String {
    auth.scope
        .seller_id
        .clone()
        .unwrap_or_else(|| auth.scope.operator_id.clone())
}

/// `GET /HUB/v1/orders/customerservice/subjects`.
#[utoipa::path(get, path = "/HUB/v1/orders/customerservice/subjects", params(SellerHeader),
    responses((status = 200, description = "The operator's subjects", body = [SubjectOut])))]
pub async fn subjects(
    auth: OmnikAuth,
    State(state): State<AppState>,
) -> Result<Json<Vec<SubjectOut>>> {
    let list = state.store.list_subjects(&auth.scope.operator_id).await?;
    let tenant = tenant_of(&auth);
    Ok(Json(
        list.iter().map(|s| SubjectOut::of(s, &tenant)).collect(),
    ))
}

/// `GET /v1/hub-web/atendimentoAssunto/devolucao`: return subjects, Portuguese shape.
#[utoipa::path(get, path = "/v1/hub-web/atendimentoAssunto/devolucao", params(SellerHeader),
    responses((status = 200, description = "The operator's return subjects", body = [ReturnSubject])))]
pub async fn return_subjects(
    auth: OmnikWebAuth,
    State(state): State<AppState>,
) -> std::result::Result<Json<Vec<ReturnSubject>>, Failure<OmnikWeb>> {
    let list = state.store.list_subjects(&auth.0.scope.operator_id).await?;
    let tenant = tenant_of(&auth.0);
    Ok(Json(
        list.iter()
            .filter(|s| s.for_return)
            .map(|s| ReturnSubject::of(s, &tenant))
            .collect(),
    ))
}

/// `POST /HUB/v1/orders/customerservice/`: opens a case on an order.
#[utoipa::path(post, path = "/HUB/v1/orders/customerservice", request_body = CreateIn, params(SellerHeader),
    responses((status = 201, description = "The case opened", body = CustomerService<'static>),
              (status = 404, description = "`orderData.id` names no order in this credential's scope")))]
pub async fn create(
    auth: OmnikAuth,
    State(state): State<AppState>,
    JsonBody(body, ..): JsonBody<CreateIn, Omnik>,
) -> Result<Response> {
    let csd = body
        .customer_service_data
        .ok_or_else(|| ApiError::invalid("customerServiceData", "is required"))?;
    let subject_raw = csd
        .subject
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("customerServiceData.subject", "is required"))?;
    let responsible = entity(
        csd.responsible.as_deref(),
        "customerServiceData.responsible".into(),
    )?;
    let order_raw = body
        .order_data
        .and_then(|o| o.id)
        .ok_or_else(|| ApiError::invalid("orderData.id", "is required"))?;
    let order_id = match &order_raw {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ApiError::invalid("orderData.id", format!("{order_raw} is not an order id")))?;
    let messages = body
        .comments
        .into_iter()
        .enumerate()
        .map(|(i, c)| comment(c, &format!("comments[{i}]")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let opened_by = if auth.principal.credential.seller_id.is_some() {
        Party::Seller
    } else {
        Party::Marketplace
    };
    let t = state
        .app
        .open_ticket(
            &auth.scope,
            &OpenTicket {
                order_id,
                subject: subject_raw.trim().to_string(),
                responsible,
                opened_by,
                mediation: false,
                messages,
            },
        )
        .await
        .map_err(|e| match e {
            AppError::UnknownSubject(_) => ApiError::invalid(
                "customerServiceData.subject",
                format!("unknown subject '{subject_raw}'"),
            ),
            e => not_found("orderData.id: order")(e),
        })?;
    Ok(detail(&state, &auth.scope, t.id, StatusCode::CREATED).await?)
}

/// `PUT /HUB/v1/orders/customerservice/{id}/close`: closes with a final comment.
#[utoipa::path(put, path = "/HUB/v1/orders/customerservice/{id}/close", request_body = CloseIn,
    params(("id" = i64, Path, example = 1, description = "The case's id"), SellerHeader),
    responses((status = 200, description = "The case, closed", body = CustomerService<'static>),
              (status = 409, description = "The case is already closed")))]
pub async fn close(
    auth: OmnikAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<CloseIn, Omnik>,
) -> Result<Response> {
    let id = ticket_id(&id)?;
    let responsible = entity(body.responsible.as_deref(), "responsible".into())?;
    let c = body
        .comment
        .ok_or_else(|| ApiError::invalid("comment", "is required"))?;
    let msg = comment(c, "comment")?;
    let t = state
        .app
        .close_ticket(&auth.scope, id, Some(&msg), Some(responsible))
        .await
        .map_err(|e| match e {
            AppError::AlreadyClosed => {
                ApiError::Conflict("the customer service is already closed".into())
            }
            e => not_found("customer service")(e),
        })?;
    Ok(detail(&state, &auth.scope, t.id, StatusCode::OK).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_dates() {
        assert!(iteration_date(Some("2023-06-06T21:41:57.123000"), "d".into()).is_ok());
        assert!(iteration_date(Some("2023-06-06T21:41:57"), "d".into()).is_ok());
        assert!(iteration_date(Some("2023-06-06"), "d".into()).is_err());
        assert!(iteration_date(Some("06/06/2023 21:41:57"), "d".into()).is_err());
        assert!(iteration_date(None, "d".into()).is_err());
    }
}
