//! Omnik's customer-service JSON, field for field as its document spells it, and the
//! conversions from the domain.
//!
//! Omnik renders times zone-less with six fraction digits (`1970-01-01T00:00:00.000000`);
//! we write them in Brasília time, the zone Omnik's clients read them in. Parties are
//! `CLIENTE`, `SELLER` and `MARKETPLACE`.

use entreposto_domain::time::brasilia;
use entreposto_domain::{Order, Party, Subject, Ticket, TicketMessage, Timestamp};
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

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerServiceData {
    pub id: String,
    pub subject: String,
    pub open_date: String,
    pub closing_date: Option<String>,
    pub responsible: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDataOut {
    pub id: String,
    pub status: String,
    pub order_date: String,
    pub approval_date: Option<String>,
    pub cancel_date: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MarketplaceData {
    #[serde(rename = "marketPlaceId")]
    pub market_place_id: String,
    #[serde(rename = "siteId")]
    pub site_id: Option<String>,
    pub marketplace: String,
    #[serde(rename = "lastUpdate")]
    pub last_update: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressData {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub zipcode: String,
    pub address: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: String,
    pub state: String,
    pub state_acronym: String,
    pub country: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneOut {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub ddi: String,
    pub ddd: String,
    pub number: String,
    pub local: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerData {
    pub name: String,
    pub document: String,
    pub document_type: String,
    pub gender: Option<String>,
    pub customer_type: String,
    pub email: Option<String>,
    pub corporate_name: Option<String>,
    pub trade_name: Option<String>,
    pub corporate_document: Option<String>,
    pub corporate_phone: Option<String>,
    pub state_inscription: Option<String>,
    pub address_data: Option<AddressData>,
    pub phones: Vec<PhoneOut>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorOut {
    pub code: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub login: Option<String>,
    pub hub_session_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentOut {
    pub entity: String,
    pub subject: String,
    pub comment: String,
    pub customer_can_view: bool,
    pub author: AuthorOut,
    pub iteration_date: String,
    pub responsible: String,
}

/// One customer-service case ("atendimento") in Omnik's shape.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerService {
    /// The seller's id.
    pub tenant: String,
    /// The operator's id.
    pub operator: String,
    pub create_date: String,
    pub last_update: String,
    pub customer_service_data: CustomerServiceData,
    pub order_data: OrderDataOut,
    pub marketplace_data: MarketplaceData,
    pub customer_data: CustomerData,
    pub comments: Vec<CommentOut>,
}

fn state_name(uf: &str) -> String {
    entreposto_domain::uf_name(uf).unwrap_or(uf).to_string()
}

impl CustomerService {
    pub fn of(t: &Ticket, order: &Order, messages: &[TicketMessage]) -> CustomerService {
        let d = &order.data;
        let c = &d.customer;
        let responsible = entity_name(t.responsible).to_string();
        CustomerService {
            tenant: t.seller_id.clone(),
            operator: t.operator_id.clone(),
            create_date: omnik_time(t.created_at),
            last_update: omnik_time(t.updated_at),
            customer_service_data: CustomerServiceData {
                id: t.id.to_string(),
                subject: t.subject.clone(),
                open_date: omnik_time(t.created_at),
                closing_date: t.closed_at.map(omnik_time),
                responsible: responsible.clone(),
            },
            order_data: OrderDataOut {
                id: order.id.to_string(),
                status: d.status.as_str().to_string(),
                order_date: omnik_time(d.placed_at),
                approval_date: d.approved_at.map(omnik_time),
                cancel_date: d.cancelled_at.map(omnik_time),
            },
            marketplace_data: MarketplaceData {
                market_place_id: d.marketplace_order_id.clone(),
                site_id: d.site_id.clone(),
                marketplace: d.channel.clone(),
                last_update: omnik_time(order.updated_at),
            },
            customer_data: CustomerData {
                name: c.name.clone(),
                document: c.document.number.clone(),
                document_type: c.document.kind.as_str().to_string(),
                gender: c.gender.clone(),
                customer_type: c.customer_type().to_string(),
                email: c.email.clone(),
                corporate_name: c.corporate_name.clone(),
                trade_name: c.trade_name.clone(),
                corporate_document: c.corporate_document.clone(),
                corporate_phone: c.corporate_phone.clone(),
                state_inscription: c.state_inscription.clone(),
                address_data: d.shipping_address.as_ref().map(|a| AddressData {
                    kind: a.kind.clone(),
                    zipcode: a.zipcode.clone(),
                    address: a.address.clone(),
                    number: a.number.clone(),
                    complement: a.complement.clone(),
                    neighborhood: a.neighborhood.clone(),
                    city: a.city.clone(),
                    state: state_name(&a.state),
                    state_acronym: a.state.clone(),
                    country: a.country.clone(),
                }),
                phones: c
                    .phones
                    .iter()
                    .map(|p| PhoneOut {
                        kind: p.kind.clone(),
                        ddi: p.ddi.clone(),
                        ddd: p.ddd.clone(),
                        number: p.number.clone(),
                        local: None,
                    })
                    .collect(),
            },
            comments: messages
                .iter()
                .map(|m| CommentOut {
                    entity: entity_name(m.author.party).to_string(),
                    subject: m.subject.clone().unwrap_or_else(|| t.subject.clone()),
                    comment: m.content.clone(),
                    customer_can_view: m.customer_can_view,
                    author: AuthorOut {
                        code: m.author.code.clone(),
                        name: m.author.name.clone(),
                        email: m.author.email.clone(),
                        login: m.author.email.clone(),
                        hub_session_id: None,
                    },
                    iteration_date: omnik_time(m.created_at),
                    responsible: m
                        .responsible
                        .map_or_else(|| responsible.clone(), |p| entity_name(p).to_string()),
                })
                .collect(),
        }
    }
}

/// A page of Omnik's offset paging.
#[derive(Serialize, ToSchema)]
pub struct Page {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub sort: String,
    pub values: Vec<CustomerService>,
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
    pub email: Option<String>,
    pub name: Option<String>,
    pub code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentIn {
    /// `CLIENTE`, `SELLER` or `MARKETPLACE`.
    pub entity: Option<String>,
    pub subject: Option<String>,
    pub comment: Option<String>,
    /// Default false: the comment stays between marketplace and seller.
    pub customer_can_view: Option<bool>,
    pub author: Option<AuthorIn>,
    /// `yyyy-MM-dd'T'HH:mm:ss.SSS'000'`.
    pub iteration_date: Option<String>,
    pub responsible: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CustomerServiceDataIn {
    pub subject: Option<String>,
    pub responsible: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct OrderDataIn {
    /// The hub's order id (as `GET /HUB/v1/orders/{id}/customerservice` takes).
    pub id: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateIn {
    pub customer_service_data: Option<CustomerServiceDataIn>,
    pub order_data: Option<OrderDataIn>,
    #[serde(default)]
    pub comments: Vec<CommentIn>,
}

#[derive(Deserialize, ToSchema)]
pub struct CloseIn {
    pub responsible: Option<String>,
    /// The final comment. The document's table calls it `comments`; both are read.
    #[serde(alias = "comments")]
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
        assert_eq!(state_name("SP"), "São Paulo");
    }
}
