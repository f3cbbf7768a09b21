//! Customer service on the native API: the marketplace side. Subjects with their SLA,
//! opening tickets on orders, adding customer and marketplace messages, asking for
//! mediation, and reading a ticket with its conversation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use entreposto_app::{AppError, OpenTicket};
use entreposto_domain::{
    Author, Conversation, NewMessage, Party, ReadState, Scope, Subject, Ticket, TicketMessage,
    Timestamp,
};
use entreposto_store::new_id;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{OperatorAuth, Result};
use entreposto_http::body::JsonBody;
use entreposto_http::ApiError;
use entreposto_http::AppState;

use super::Native;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"subject": "Produto chegou quebrado", "sla": 48})))]
pub struct SubjectIn {
    /// The subject's name, unique per operator (`Produto não chegou`), not blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: String,
    /// Service-level agreement in hours.
    #[schema(minimum = 1, maximum = 8760)]
    pub sla: i64,
    /// A return (devolução) subject.
    #[serde(default)]
    pub for_return: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectOut {
    pub id: String,
    pub subject: String,
    pub sla: i64,
    pub for_return: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct IdOut {
    pub id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER",
    "content": "Meu pedido ainda não chegou.", "authorName": "Ana Soares"})))]
pub struct MessageIn {
    /// Sellers answer through their dialect; the author must be a party of `part`.
    #[schema(schema_with = message_author)]
    pub author: String,
    #[schema(schema_with = conversation)]
    pub part: String,
    /// Not blank.
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    pub content: String,
    pub author_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub author_email: Option<String>,
    pub author_code: Option<String>,
    /// Defaults to whether the conversation includes the customer.
    pub customer_can_view: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"subject": "Produto não chegou", "message": {"author": "CUSTOMER",
    "part": "CUSTOMER_SELLER", "content": "Meu pedido ainda não chegou."}})))]
pub struct OpenTicketIn {
    /// Subject id or exact name.
    pub subject: String,
    #[serde(default)]
    pub mediation: bool,
    /// `SELLER` by default.
    #[schema(schema_with = responsible)]
    pub responsible: Option<String>,
    /// `MARKETPLACE` by default.
    #[schema(schema_with = opened_by)]
    pub opened_by: Option<String>,
    /// An optional first message.
    pub message: Option<MessageIn>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenedOut {
    pub id: String,
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuthorOut {
    #[schema(schema_with = party_out)]
    pub party: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub code: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageOut {
    pub id: String,
    #[schema(schema_with = conversation)]
    pub part: String,
    pub author: AuthorOut,
    pub content: String,
    pub customer_can_view: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub replied_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketOut {
    pub id: String,
    pub code: String,
    pub order: String,
    pub seller: String,
    pub channel: String,
    pub marketplace_order_id: String,
    pub subject: String,
    pub sla: i64,
    pub for_return: bool,
    #[schema(schema_with = party_out)]
    pub responsible: String,
    #[schema(schema_with = party_out)]
    pub opened_by: String,
    /// The seller's read state.
    #[schema(schema_with = read_state)]
    pub read_state: String,
    pub mediation: bool,
    #[schema(value_type = TicketStatus)]
    pub status: String,
    /// Opened with no message exchanged yet.
    pub instance: bool,
    #[schema(format = DateTime)]
    pub deadline: String,
    pub late: bool,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub messages: Vec<MessageOut>,
}

#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum TicketStatus {
    OPEN,
    CLOSED,
}

// The vocabularies from the domain's own constants, so the document says exactly
// what the server accepts and writes.
fn words(parties: &[Party], nullable: bool) -> utoipa::openapi::schema::Object {
    entreposto_http::openapi::string_enum(parties.iter().map(|p| p.as_str()), nullable)
}

fn message_author() -> utoipa::openapi::schema::Object {
    words(&[Party::Customer, Party::Marketplace], false)
}

fn responsible() -> utoipa::openapi::schema::Object {
    words(&[Party::Seller, Party::Marketplace, Party::Customer], true)
}

fn opened_by() -> utoipa::openapi::schema::Object {
    words(&[Party::Marketplace, Party::Customer], true)
}

fn party_out() -> utoipa::openapi::schema::Object {
    words(&[Party::Customer, Party::Seller, Party::Marketplace], false)
}

fn conversation() -> utoipa::openapi::schema::Object {
    entreposto_http::openapi::string_enum(Conversation::ALL.map(Conversation::as_str), false)
}

fn read_state() -> utoipa::openapi::schema::Object {
    entreposto_http::openapi::string_enum(ReadState::ALL.map(ReadState::as_str), false)
}

fn party(raw: &str, field: &str, allowed: &[Party]) -> std::result::Result<Party, ApiError> {
    Party::parse(raw)
        .filter(|p| allowed.contains(p))
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                format!(
                    "unknown value '{raw}': expected {}",
                    allowed
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            )
        })
}

fn to_message(m: MessageIn, prefix: &str) -> std::result::Result<NewMessage, ApiError> {
    let f = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let author = party(
        &m.author,
        &f("author"),
        &[Party::Customer, Party::Marketplace],
    )?;
    let conversation = Conversation::parse(&m.part).ok_or_else(|| {
        ApiError::invalid(
            f("part"),
            format!("unknown part '{}': expected CUSTOMER_SELLER, MARKETPLACE_SELLER or CUSTOMER_MARKETPLACE", m.part),
        )
    })?;
    let mut msg = NewMessage::new(
        conversation,
        Author {
            party: author,
            name: m.author_name,
            email: m.author_email,
            code: m.author_code,
        },
        m.content,
    );
    if let Some(v) = m.customer_can_view {
        msg.customer_can_view = v;
    }
    msg.validate()
        .map_err(|e| ApiError::Invalid(e.under(prefix)))?;
    Ok(msg)
}

fn subject_out(s: &Subject) -> SubjectOut {
    SubjectOut {
        id: s.id.clone(),
        subject: s.name.clone(),
        sla: s.sla_hours,
        for_return: s.for_return,
        created_at: s.created_at.to_rfc3339_utc(),
    }
}

pub fn message_out(m: &TicketMessage) -> MessageOut {
    MessageOut {
        id: m.id.to_string(),
        part: m.conversation.as_str().into(),
        author: AuthorOut {
            party: m.author.party.as_str().into(),
            name: m.author.name.clone(),
            email: m.author.email.clone(),
            code: m.author.code.clone(),
        },
        content: m.content.clone(),
        customer_can_view: m.customer_can_view,
        created_at: m.created_at.to_rfc3339_utc(),
        replied_at: m.replied_at.map(Timestamp::to_rfc3339_utc),
    }
}

pub(crate) fn ticket_out(t: &Ticket, messages: &[TicketMessage]) -> TicketOut {
    TicketOut {
        id: t.id.to_string(),
        code: t.code.clone(),
        order: t.order_id.to_string(),
        seller: t.seller_id.clone(),
        channel: t.channel.clone(),
        marketplace_order_id: t.marketplace_order_id.clone(),
        subject: t.subject.clone(),
        sla: t.sla_hours,
        for_return: t.for_return,
        responsible: t.responsible.as_str().into(),
        opened_by: t.opened_by.as_str().into(),
        read_state: t.read_state.as_str().into(),
        mediation: t.mediation,
        status: if t.is_open() { "OPEN" } else { "CLOSED" }.into(),
        instance: t.is_instance(),
        deadline: t.deadline().to_rfc3339_utc(),
        late: t.is_late(Timestamp::now()),
        closed_at: t.closed_at.map(Timestamp::to_rfc3339_utc),
        created_at: t.created_at.to_rfc3339_utc(),
        updated_at: t.updated_at.to_rfc3339_utc(),
        messages: messages.iter().map(message_out).collect(),
    }
}

fn parse_id(raw: &str, what: &str) -> std::result::Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no {what} '{raw}'")))
}

fn not_found<E: Into<AppError>>(what: &'static str, id: String) -> impl FnOnce(E) -> ApiError {
    entreposto_http::error::not_found_with(move || format!("no {what} '{id}'"))
}

/// Creates a customer-service subject with its SLA.
#[utoipa::path(post, path = "/subjects", request_body = SubjectIn,
    responses((status = 201, description = "Created", body = IdOut), (status = 409, description = "Name already used")))]
pub async fn create_subject(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    JsonBody(body, ..): JsonBody<SubjectIn, Native>,
) -> Result<(StatusCode, Json<IdOut>)> {
    let now = state.app.now();
    let s = Subject {
        id: new_id(),
        operator_id: p.credential.operator_id.clone(),
        name: body.subject.trim().to_string(),
        sla_hours: body.sla,
        for_return: body.for_return,
        created_at: now,
        updated_at: now,
    };
    state.app.create_subject(&s).await.map_err(|e| match e {
        AppError::Conflict(_) => ApiError::Conflict(format!("subject '{}' already exists", s.name)),
        e => e.into(),
    })?;
    Ok((StatusCode::CREATED, Json(IdOut { id: s.id })))
}

/// Lists the operator's subjects.
#[utoipa::path(get, path = "/subjects", responses((status = 200, description = "The operator's subjects", body = [SubjectOut])))]
pub async fn list_subjects(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
) -> Result<Json<Vec<SubjectOut>>> {
    let list = state.store.list_subjects(&p.credential.operator_id).await?;
    Ok(Json(list.iter().map(subject_out).collect()))
}

/// Opens a ticket on an order, with an optional first message.
#[utoipa::path(post, path = "/orders/{id}/tickets", request_body = OpenTicketIn,
    params(("id" = i64, Path, example = 1, description = "The hub's order id")),
    responses((status = 201, description = "Opened", body = OpenedOut), (status = 404, description = "No such order")))]
pub async fn open_ticket(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(order): Path<String>,
    JsonBody(body, ..): JsonBody<OpenTicketIn, Native>,
) -> Result<(StatusCode, Json<OpenedOut>)> {
    let order_id = parse_id(&order, "order")?;
    let scope = p.scope();
    let all = [Party::Customer, Party::Seller, Party::Marketplace];
    let responsible = match &body.responsible {
        Some(r) => party(r, "responsible", &all)?,
        None => Party::Seller,
    };
    let opened_by = match &body.opened_by {
        Some(r) => party(r, "openedBy", &[Party::Customer, Party::Marketplace])?,
        None => Party::Marketplace,
    };
    let messages = match body.message {
        Some(m) => vec![to_message(m, "message")?],
        None => vec![],
    };
    let t = state
        .app
        .open_ticket(
            &scope,
            &OpenTicket {
                order_id,
                subject: body.subject,
                responsible,
                opened_by,
                mediation: body.mediation,
                messages,
            },
        )
        .await
        .map_err(not_found("order", order))?;
    Ok((
        StatusCode::CREATED,
        Json(OpenedOut {
            id: t.id.to_string(),
            code: t.code,
        }),
    ))
}

/// Adds a message from the customer or the marketplace.
#[utoipa::path(post, path = "/tickets/{id}/messages", request_body = MessageIn,
    params(("id" = i64, Path, example = 1, description = "The ticket's id")),
    responses((status = 201, description = "Added", body = MessageOut), (status = 404, description = "No such ticket")))]
pub async fn add_message(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body, ..): JsonBody<MessageIn, Native>,
) -> Result<(StatusCode, Json<MessageOut>)> {
    let ticket_id = parse_id(&id, "ticket")?;
    let msg = to_message(body, "")?;
    let (_, stored) = state
        .app
        .add_message(&p.scope(), ticket_id, &msg)
        .await
        .map_err(not_found("ticket", id))?;
    Ok((StatusCode::CREATED, Json(message_out(&stored))))
}

/// Asks the marketplace to mediate the ticket.
#[utoipa::path(post, path = "/tickets/{id}/mediation", params(("id" = i64, Path, example = 1, description = "The ticket's id")),
    responses((status = 200, description = "The ticket, in mediation", body = TicketOut), (status = 404, description = "No such ticket")))]
pub async fn request_mediation(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TicketOut>> {
    let ticket_id = parse_id(&id, "ticket")?;
    let scope = p.scope();
    let t = state
        .app
        .request_mediation(&scope, ticket_id)
        .await
        .map_err(not_found("ticket", id))?;
    let messages = state.store.list_messages(&scope, t.id).await?;
    Ok(Json(ticket_out(&t, &messages)))
}

/// A ticket with all its messages.
#[utoipa::path(get, path = "/tickets/{id}", params(("id" = i64, Path, example = 1, description = "The ticket's id")),
    responses((status = 200, description = "The ticket", body = TicketOut), (status = 404, description = "No such ticket")))]
pub async fn get_ticket(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TicketOut>> {
    let ticket_id = parse_id(&id, "ticket")?;
    let scope: Scope = p.scope();
    let t = state
        .store
        .get_ticket(&scope, ticket_id)
        .await
        .map_err(not_found("ticket", id))?;
    let messages = state.store.list_messages(&scope, t.id).await?;
    Ok(Json(ticket_out(&t, &messages)))
}
