//! Omnik's customer-service JSON, field for field as its document spells it, and the
//! conversions from the domain.
//!
//! Omnik renders times zone-less with six fraction digits (`1970-01-01T00:00:00.000000`);
//! we write them in Brasília time, the zone Omnik's clients read them in. Parties are
//! `CLIENTE`, `SELLER` and `MARKETPLACE`.

use entreposto_domain::time::brasilia;
use entreposto_domain::{
    OrderState, OrderSummary, Party, Subject, TicketHead, TicketMessage, Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `yyyy-MM-dd'T'HH:mm:ss.SSSSSS` in Brasília time.
pub fn omnik_time(t: Timestamp) -> String {
    t.to_local_micros(brasilia())
}

pub fn entity_name(p: Party) -> &'static str {
    match p {
        Party::Customer => "CLIENTE",
        Party::Seller => "SELLER",
        Party::Marketplace => "MARKETPLACE",
    }
}

pub fn parse_entity(s: &str) -> Option<Party> {
    match s.trim().to_ascii_uppercase().as_str() {
        "CLIENTE" => Some(Party::Customer),
        "SELLER" => Some(Party::Seller),
        "MARKETPLACE" => Some(Party::Marketplace),
        _ => None,
    }
}

/// The HUB's error envelope.
#[derive(Serialize, ToSchema)]
pub struct OmnikError {
    /// The HTTP status.
    pub code: u16,
    /// The kind of error in capitals (`UNAUTHORIZED`, `INVALID_FIELD`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    pub messages: Vec<OmnikErrorMessage>,
}

#[derive(Serialize, ToSchema)]
pub struct OmnikErrorMessage {
    pub code: u16,
    pub message: String,
}

/// hub-web's error envelope.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OmnikWebError {
    pub log_id: u64,
    /// The kind of error in capitals.
    pub name: String,
    pub message: String,
}

// The closed vocabularies, for the document only (the wire carries strings).

/// A party as Omnik names it (read in any letter case).
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum Entity {
    CLIENTE,
    SELLER,
    MARKETPLACE,
}

#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum DocumentType {
    CPF,
    CNPJ,
}

#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum CustomerType {
    Individual,
    Company,
}

/// A page's order (read in any letter case).
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum Sort {
    lastUpdate,
    createDate,
}

/// Open or closed cases: `OPEN` (also `OPENED`, `ABERTO`) or `CLOSED` (also
/// `FECHADO`, `ENCERRADO`), in any letter case.
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum CaseStatus {
    OPEN,
    OPENED,
    ABERTO,
    CLOSED,
    FECHADO,
    ENCERRADO,
}

/// The statuses an order shows: its lifecycle state's (never `new`).
fn order_status() -> utoipa::openapi::schema::Object {
    let mut words: Vec<&str> = Vec::new();
    for s in OrderState::ALL {
        let w = s.marketplace_status().as_str();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    entreposto_http::openapi::string_enum(words, false)
}

fn gender() -> utoipa::openapi::schema::Object {
    entreposto_http::openapi::string_enum(entreposto_domain::vocabulary::GENDERS, true)
}

/// A time as Omnik writes it, rendered while the response is serialized (no string
/// per field: a case carries a dozen times).
#[derive(Clone, Copy)]
pub struct OmnikTime(pub Timestamp);

impl Serialize for OmnikTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.local_micros_text(brasilia()))
    }
}

// The response shapes below borrow from the ticket, order and messages they render:
// a case is rendered on every read and copying each string into it was a visible
// part of a read's cost.

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerServiceData<'a> {
    pub id: String,
    pub subject: &'a str,
    #[schema(value_type = String)]
    pub open_date: OmnikTime,
    #[schema(value_type = Option<String>)]
    pub closing_date: Option<OmnikTime>,
    #[schema(value_type = Entity)]
    pub responsible: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDataOut {
    pub id: String,
    #[schema(schema_with = order_status)]
    pub status: &'static str,
    #[schema(value_type = String)]
    pub order_date: OmnikTime,
    #[schema(value_type = Option<String>)]
    pub approval_date: Option<OmnikTime>,
    #[schema(value_type = Option<String>)]
    pub cancel_date: Option<OmnikTime>,
}

#[derive(Serialize, ToSchema)]
pub struct MarketplaceData<'a> {
    #[serde(rename = "marketPlaceId")]
    pub market_place_id: &'a str,
    #[serde(rename = "siteId")]
    pub site_id: Option<&'a str>,
    pub marketplace: &'a str,
    #[serde(rename = "lastUpdate")]
    #[schema(value_type = String)]
    pub last_update: OmnikTime,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressData<'a> {
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
    pub zipcode: &'a str,
    pub address: &'a str,
    pub number: Option<&'a str>,
    pub complement: Option<&'a str>,
    pub neighborhood: Option<&'a str>,
    pub city: &'a str,
    pub state: &'a str,
    pub state_acronym: &'a str,
    pub country: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneOut<'a> {
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
    pub ddi: &'a str,
    pub ddd: &'a str,
    pub number: &'a str,
    pub local: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerData<'a> {
    pub name: &'a str,
    pub document: &'a str,
    #[schema(value_type = DocumentType)]
    pub document_type: &'static str,
    #[schema(schema_with = gender)]
    pub gender: Option<&'a str>,
    #[schema(value_type = CustomerType)]
    pub customer_type: &'static str,
    pub email: Option<&'a str>,
    pub corporate_name: Option<&'a str>,
    pub trade_name: Option<&'a str>,
    pub corporate_document: Option<&'a str>,
    pub corporate_phone: Option<&'a str>,
    pub state_inscription: Option<&'a str>,
    pub address_data: Option<AddressData<'a>>,
    pub phones: Vec<PhoneOut<'a>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorOut<'a> {
    pub code: Option<&'a str>,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub login: Option<&'a str>,
    pub hub_session_id: Option<&'a str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentOut<'a> {
    #[schema(value_type = Entity)]
    pub entity: &'static str,
    pub subject: &'a str,
    pub comment: &'a str,
    pub customer_can_view: bool,
    pub author: AuthorOut<'a>,
    #[schema(value_type = String)]
    pub iteration_date: OmnikTime,
    #[schema(value_type = Entity)]
    pub responsible: &'static str,
}

/// One customer-service case ("atendimento") in Omnik's shape.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerService<'a> {
    /// The seller's id.
    pub tenant: &'a str,
    /// The operator's id.
    pub operator: &'a str,
    #[schema(value_type = String)]
    pub create_date: OmnikTime,
    #[schema(value_type = String)]
    pub last_update: OmnikTime,
    pub customer_service_data: CustomerServiceData<'a>,
    pub order_data: OrderDataOut,
    pub marketplace_data: MarketplaceData<'a>,
    pub customer_data: CustomerData<'a>,
    pub comments: Vec<CommentOut<'a>>,
}

impl<'a> CustomerService<'a> {
    pub fn of(
        t: &'a TicketHead,
        order: &'a OrderSummary,
        order_state: OrderState,
        messages: &'a [TicketMessage],
    ) -> CustomerService<'a> {
        let d = &order.head;
        let c = &d.customer;
        let responsible = entity_name(t.responsible);
        CustomerService {
            tenant: &t.seller_id,
            operator: &t.operator_id,
            create_date: OmnikTime(t.created_at),
            last_update: OmnikTime(t.updated_at),
            customer_service_data: CustomerServiceData {
                id: t.id.to_string(),
                subject: &t.subject,
                open_date: OmnikTime(t.created_at),
                closing_date: t.closed_at.map(OmnikTime),
                responsible,
            },
            order_data: OrderDataOut {
                id: order.id.to_string(),
                // The lifecycle's state, as every dialect shows it, not the pushed status.
                status: order_state.marketplace_status().as_str(),
                order_date: OmnikTime(d.placed_at),
                approval_date: d.approved_at.map(OmnikTime),
                cancel_date: d.cancelled_at.map(OmnikTime),
            },
            marketplace_data: MarketplaceData {
                market_place_id: &d.marketplace_order_id,
                site_id: d.site_id.as_deref(),
                marketplace: &d.channel,
                last_update: OmnikTime(order.updated_at),
            },
            customer_data: CustomerData {
                name: &c.name,
                document: &c.document.number,
                document_type: c.document.kind.as_str(),
                gender: c.gender.as_deref(),
                customer_type: c.customer_type(),
                email: c.email.as_deref(),
                corporate_name: c.corporate_name.as_deref(),
                trade_name: c.trade_name.as_deref(),
                corporate_document: c.corporate_document.as_deref(),
                corporate_phone: c.corporate_phone.as_deref(),
                state_inscription: c.state_inscription.as_deref(),
                address_data: d.shipping_address.as_ref().map(|a| AddressData {
                    kind: a.kind.as_deref(),
                    zipcode: &a.zipcode,
                    address: &a.address,
                    number: a.number.as_deref(),
                    complement: a.complement.as_deref(),
                    neighborhood: a.neighborhood.as_deref(),
                    city: &a.city,
                    state: entreposto_domain::uf_name(&a.state).unwrap_or(&a.state),
                    state_acronym: &a.state,
                    country: &a.country,
                }),
                phones: c
                    .phones
                    .iter()
                    .map(|p| PhoneOut {
                        kind: p.kind.as_deref(),
                        ddi: &p.ddi,
                        ddd: &p.ddd,
                        number: &p.number,
                        local: None,
                    })
                    .collect(),
            },
            comments: messages
                .iter()
                .map(|m| CommentOut {
                    entity: entity_name(m.author.party),
                    subject: m.subject.as_deref().unwrap_or(&t.subject),
                    comment: &m.content,
                    customer_can_view: m.customer_can_view,
                    author: AuthorOut {
                        code: m.author.code.as_deref(),
                        name: m.author.name.as_deref(),
                        email: m.author.email.as_deref(),
                        login: m.author.email.as_deref(),
                        hub_session_id: None,
                    },
                    iteration_date: OmnikTime(m.created_at),
                    responsible: m.responsible.map_or(responsible, entity_name),
                })
                .collect(),
        }
    }
}

/// A page of Omnik's offset paging.
#[derive(Serialize, ToSchema)]
pub struct Page<'a> {
    pub total: u64,
    #[schema(minimum = 1, maximum = 10)]
    pub limit: u32,
    pub offset: u64,
    #[schema(value_type = Sort)]
    pub sort: &'static str,
    pub values: Vec<CustomerService<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct SubjectData {
    pub id: String,
    pub subject: String,
    pub sla: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubjectOut {
    pub tenant: String,
    pub operator: String,
    pub create_date: String,
    pub last_update: String,
    pub subject_data: SubjectData,
}

impl SubjectOut {
    pub fn of(s: &Subject, tenant: &str) -> SubjectOut {
        SubjectOut {
            tenant: tenant.to_string(),
            operator: s.operator_id.clone(),
            create_date: omnik_time(s.created_at),
            last_update: omnik_time(s.updated_at),
            subject_data: SubjectData {
                id: s.id.clone(),
                subject: s.name.clone(),
                sla: s.sla_hours,
            },
        }
    }
}

/// A return subject in hub-web's Portuguese shape.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReturnSubject {
    pub id: String,
    pub create_date: String,
    pub last_update: String,
    pub tenant: String,
    pub operator: String,
    pub dado_assunto: DadoAssunto,
    pub usuario_manutencao: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DadoAssunto {
    pub assunto: String,
    /// Hours, as a string the way the document shows it.
    pub sla: String,
    pub integracao_id: String,
    pub para_devolucao: bool,
}

impl ReturnSubject {
    pub fn of(s: &Subject, tenant: &str) -> ReturnSubject {
        ReturnSubject {
            id: s.id.clone(),
            create_date: omnik_time(s.created_at),
            last_update: omnik_time(s.updated_at),
            tenant: tenant.to_string(),
            operator: s.operator_id.clone(),
            dado_assunto: DadoAssunto {
                assunto: s.name.clone(),
                sla: s.sla_hours.to_string(),
                integracao_id: s.id.clone(),
                para_devolucao: s.for_return,
            },
            usuario_manutencao: "entreposto".into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct AuthorIn {
    #[schema(value_type = String, required = true, format = Email, max_length = 254)]
    pub email: Option<String>,
    pub name: Option<String>,
    pub code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentIn {
    #[schema(value_type = Entity, required = true)]
    pub entity: Option<String>,
    pub subject: Option<String>,
    /// Not blank.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 20000, pattern = r"\S")]
    pub comment: Option<String>,
    /// Default false: the comment stays between marketplace and seller.
    pub customer_can_view: Option<bool>,
    #[schema(value_type = AuthorIn, required = true)]
    pub author: Option<AuthorIn>,
    /// `yyyy-MM-dd'T'HH:mm:ss.SSS'000'` (fraction and zone optional; zone-less is
    /// Brasília time).
    #[schema(value_type = String, required = true, max_length = 40,
        pattern = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")]
    pub iteration_date: Option<String>,
    #[schema(value_type = Entity, required = true)]
    pub responsible: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CustomerServiceDataIn {
    /// One of the operator's subjects, by id or name.
    #[schema(value_type = String, required = true, pattern = r"\S")]
    pub subject: Option<String>,
    #[schema(value_type = Entity, required = true)]
    pub responsible: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct OrderDataIn {
    /// The hub's order id (as `GET /HUB/v1/orders/{id}/customerservice` takes), a
    /// number or its text.
    #[schema(value_type = OrderId, required = true)]
    pub id: Option<serde_json::Value>,
}

/// An order id, as a number or its text.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum OrderId {
    Number(i64),
    Text(String),
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({
    "customerServiceData": {"subject": "Produto não chegou", "responsible": "SELLER"},
    "orderData": {"id": 1},
    "comments": [{"entity": "MARKETPLACE", "subject": "Produto não chegou",
        "comment": "O cliente informa que o produto não chegou.", "customerCanView": false,
        "author": {"email": "atendimento@marketplace.com.br", "name": "Atendimento"},
        "iterationDate": "2023-06-06T21:41:57.123000", "responsible": "SELLER"}]
})))]
pub struct CreateIn {
    #[schema(value_type = CustomerServiceDataIn, required = true)]
    pub customer_service_data: Option<CustomerServiceDataIn>,
    #[schema(value_type = OrderDataIn, required = true)]
    pub order_data: Option<OrderDataIn>,
    #[serde(default)]
    pub comments: Vec<CommentIn>,
}

#[derive(Deserialize, ToSchema)]
#[schema(examples(json!({
    "responsible": "SELLER",
    "comment": {"entity": "SELLER", "comment": "Pedido reenviado, caso encerrado.",
        "customerCanView": true, "author": {"email": "sac@loja.com.br", "name": "SAC Loja"},
        "iterationDate": "2023-06-07T10:00:00.000000", "responsible": "SELLER"}
})))]
pub struct CloseIn {
    #[schema(value_type = Entity, required = true)]
    pub responsible: Option<String>,
    /// The final comment. The document's table calls it `comments`; both are read.
    #[serde(alias = "comments")]
    #[schema(value_type = CommentIn, required = true)]
    pub comment: Option<CommentIn>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_entities() {
        let t = Timestamp::parse("2023-06-07T00:41:57.123456Z").unwrap();
        assert_eq!(omnik_time(t), "2023-06-06T21:41:57.123456");
        assert_eq!(parse_entity("cliente"), Some(Party::Customer));
        assert_eq!(parse_entity("BUYER"), None);
        assert_eq!(
            serde_json::to_string(&OmnikTime(t)).unwrap(),
            "\"2023-06-06T21:41:57.123456\""
        );
    }
}
