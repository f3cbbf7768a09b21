//! The native API's JSON, and its conversion to and from the domain.
//!
//! Money travels as decimal numbers (`499.99`), dates as ISO 8601 strings (read
//! liberally, written as RFC 3339 UTC). Every conversion error is re-rooted at the
//! JSON path of the field that caused it.

use entreposto_domain::vocabulary::{COUNTRIES, GENDERS, PAYMENT_METHODS, PHONE_TYPES};
use entreposto_domain::{
    check_email, parse_birth_date, parse_country, parse_gender, parse_payment_method,
    parse_phone_type, parse_uf, parse_zipcode, Address, Customer, Document, DocumentKind, ErpMark,
    FieldError, InteractionOrigin, OrderData, OrderItem, OrderProgress, OrderState, OrderStatus,
    Payment, Pendency, Phone, ProductKind, Timestamp, ERP_TYPES,
};
use entreposto_store::OrderView;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use entreposto_http::body::Amount;
use entreposto_http::openapi::string_enum;

/// The native error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_field`, `unauthorized`, `not_found`, ...
    pub code: String,
    pub message: String,
    /// The JSON path of the offending field, for `invalid_field`.
    pub field: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PhoneDto {
    /// Any letter case; stored in lower case.
    #[serde(rename = "type")]
    #[schema(schema_with = phone_type)]
    pub kind: Option<String>,
    /// Country code, 1 to 3 digits, `55` when absent. In these three, spaces,
    /// dashes, parentheses and `+` are ignored.
    #[schema(pattern = r"^[ ()+-]*([0-9][ ()+-]*){1,3}$")]
    pub ddi: Option<String>,
    /// 2 digits.
    #[schema(pattern = r"^[ ()+-]*([0-9][ ()+-]*){2}$")]
    pub ddd: String,
    /// 8 or 9 digits.
    #[schema(pattern = r"^[ ()+-]*([0-9][ ()+-]*){8,9}$")]
    pub number: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct CustomerDto {
    /// Not blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// CPF or CNPJ, with or without punctuation; check digits are verified.
    pub document: String,
    /// Inferred from the length when absent (any letter case).
    #[schema(schema_with = document_type)]
    pub document_type: Option<String>,
    /// Output only: ignored on input.
    #[serde(default, deserialize_with = "ignored")]
    #[schema(schema_with = customer_type)]
    pub customer_type: Option<String>,
    /// Any letter case; stored in lower case.
    #[schema(schema_with = gender)]
    pub gender: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// `yyyy-MM-dd`, a real date not in the future; a date-time's date part is taken
    /// as written. Stored and returned as `yyyy-MM-dd`.
    #[schema(pattern = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]|\s*$)")]
    pub birth_date: Option<String>,
    pub corporate_name: Option<String>,
    pub trade_name: Option<String>,
    pub corporate_document: Option<String>,
    pub corporate_phone: Option<String>,
    pub state_inscription: Option<String>,
    #[serde(default)]
    pub phones: Vec<PhoneDto>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AddressDto {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub recipient: Option<String>,
    /// CEP, 8 digits (dashes and dots are ignored).
    #[schema(pattern = r"^[.-]*([0-9][.-]*){8}$")]
    pub zipcode: String,
    pub address: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: String,
    /// A Brazilian state's acronym (`SP`, any letter case).
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$")]
    pub state: String,
    /// ISO 3166-1 alpha-2 code (any letter case), `BR` when absent.
    #[schema(schema_with = country)]
    pub country: Option<String>,
    pub reference: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ItemDto {
    /// Not blank.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub sku: String,
    /// Not blank.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub name: String,
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: i64,
    /// Not negative.
    pub unit_price: Amount,
    pub marketplace_item_id: Option<String>,
    pub freight: Option<Amount>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDto {
    /// Any letter case; stored in lower case.
    #[schema(schema_with = payment_method)]
    pub method: String,
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 99, default = 1)]
    pub installments: i64,
    /// Not negative.
    pub value: Amount,
    /// Written back as RFC 3339 UTC.
    #[schema(schema_with = date_time_or_null)]
    pub paid_at: Option<String>,
    pub gateway: Option<String>,
    pub transaction_id: Option<String>,
}

// The vocabularies from the domain's own constants (`entreposto_domain::vocabulary`),
// so the document lists exactly what the server accepts.
fn payment_method() -> Object {
    string_enum(PAYMENT_METHODS, false)
}

fn phone_type() -> Object {
    string_enum(PHONE_TYPES, true)
}

fn gender() -> Object {
    string_enum(GENDERS, true)
}

fn country() -> Object {
    string_enum(COUNTRIES, true)
}

fn document_type() -> Object {
    string_enum(
        [DocumentKind::Cpf, DocumentKind::Cnpj].map(DocumentKind::as_str),
        true,
    )
}

fn customer_type() -> Object {
    string_enum(["individual", "company"], true)
}

/// The statuses an order shows: its lifecycle state's (never `new`).
fn order_status() -> Object {
    let mut words: Vec<&str> = Vec::new();
    for s in OrderState::ALL {
        let w = s.marketplace_status().as_str();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    string_enum(words, false)
}

fn order_status_in() -> Object {
    string_enum(OrderStatus::ALL.map(OrderStatus::as_str), true)
}

/// Reads any value and keeps none: for output-only fields a client may echo back.
fn ignored<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(None)
}

fn date_time() -> Object {
    entreposto_http::openapi::date_time_text(false)
}

fn date_time_or_null() -> Object {
    entreposto_http::openapi::date_time_text(true)
}

fn one() -> i64 {
    1
}

/// An order as the marketplace delivers it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderIn {
    /// The seller's id (from `entreposto seller create`).
    pub seller: String,
    /// Marketplace name, e.g. `Lojas Americanas`. Not blank.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub channel: String,
    /// Not blank; with `channel`, identifies the seller's order (a second push updates it).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub marketplace_order_id: String,
    pub site_id: Option<String>,
    pub warehouse: Option<String>,
    /// `new` when absent.
    #[schema(schema_with = order_status_in)]
    pub status: Option<String>,
    #[schema(schema_with = date_time)]
    pub placed_at: String,
    /// Not before `placedAt`.
    #[schema(schema_with = date_time_or_null)]
    pub approved_at: Option<String>,
    #[schema(schema_with = date_time_or_null)]
    pub cancelled_at: Option<String>,
    pub customer: CustomerDto,
    pub shipping_address: Option<AddressDto>,
    #[schema(min_items = 1)]
    pub items: Vec<ItemDto>,
    pub freight: Option<Amount>,
    pub discount: Option<Amount>,
    #[serde(default)]
    pub payments: Vec<PaymentDto>,
}

/// Where an order is in its lifecycle, as the 00K document's `status`/`substatus`.
#[derive(Serialize, ToSchema)]
pub struct StateOut {
    #[schema(schema_with = lifecycle_status)]
    pub status: &'static str,
    /// `null` for `shipped` and `cancelled`.
    #[schema(schema_with = lifecycle_substatus)]
    pub substatus: Option<&'static str>,
}

impl From<OrderState> for StateOut {
    fn from(s: OrderState) -> StateOut {
        StateOut {
            status: s.status(),
            substatus: s.substatus(),
        }
    }
}

/// One move of the order's state.
#[derive(Serialize, ToSchema)]
pub struct StateChangeOut {
    /// `null` for the first entry (the state the order was pushed in).
    pub from: Option<StateOut>,
    pub to: StateOut,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A recorded step of the order, worded for people as the 00K document words them.
#[derive(Serialize, ToSchema)]
pub struct InteractionOut {
    pub description: String,
    /// `administration` (the marketplace side) or `api` (the seller's system).
    #[schema(schema_with = interaction_origin)]
    pub origin: &'static str,
    pub action: String,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceProductOut {
    #[serde(rename = "type")]
    #[schema(schema_with = invoiced_kind)]
    pub kind: &'static str,
    pub sku: String,
    pub cfop: u32,
}

/// The order's NF-e.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceOut {
    pub series: u32,
    pub number: u64,
    /// The 44-digit access key.
    pub access_key: String,
    #[schema(format = DateTime)]
    pub issued_at: String,
    pub value: f64,
    pub products: Vec<InvoiceProductOut>,
}

/// Which ERP took the order, when, and its error if taking it failed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErpOut {
    #[serde(rename = "type")]
    #[schema(schema_with = erp_type)]
    pub kind: String,
    pub sent: bool,
    pub error_message: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
}

/// An ERP's mark on an order: it took the order (`sent`), or failed to (`sent` false
/// with `errorMessage`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"type": "bling", "sent": true, "errorMessage": null})))]
pub struct ErpIn {
    /// Any letter case.
    #[serde(rename = "type")]
    #[schema(schema_with = erp_type)]
    pub kind: String,
    pub sent: bool,
    /// Only with `sent` false.
    pub error_message: Option<String>,
}

impl ErpIn {
    pub fn into_domain(self) -> Result<ErpMark, FieldError> {
        Ok(ErpMark {
            erp: ErpMark::parse_erp(&self.kind)?,
            sent: self.sent,
            error: self.error_message,
            at: Timestamp(0),
        })
    }
}

fn lifecycle_status() -> Object {
    let mut words: Vec<&str> = Vec::new();
    for s in OrderState::ALL {
        if !words.contains(&s.status()) {
            words.push(s.status());
        }
    }
    string_enum(words, false)
}

fn lifecycle_substatus() -> Object {
    string_enum(
        OrderState::ALL
            .into_iter()
            .filter_map(OrderState::substatus),
        true,
    )
}

fn interaction_origin() -> Object {
    string_enum(
        [InteractionOrigin::Administration, InteractionOrigin::Api].map(InteractionOrigin::as_str),
        false,
    )
}

fn invoiced_kind() -> Object {
    string_enum(
        [ProductKind::Simple, ProductKind::Kit].map(ProductKind::as_str),
        false,
    )
}

fn erp_type() -> Object {
    string_enum(ERP_TYPES, false)
}

fn pendency() -> Object {
    string_enum(Pendency::ALL.map(Pendency::as_str), false)
}

/// A stored order with its lifecycle.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderOut {
    /// The hub's order id.
    pub id: String,
    pub seller: String,
    pub channel: String,
    pub marketplace_order_id: String,
    pub site_id: Option<String>,
    pub warehouse: Option<String>,
    /// The lifecycle's state in the marketplace's words (what Omnik shows too):
    /// `awaiting_payment`, `approved` (paid and in pick-and-pack before the invoice),
    /// `invoiced`, `shipped` (also when a delivery failed), `delivered`, `cancelled`.
    #[schema(schema_with = order_status)]
    pub status: String,
    /// The lifecycle's state.
    pub state: StateOut,
    /// Every move of the state, oldest first.
    pub status_history: Vec<StateChangeOut>,
    /// Oldest first.
    pub interactions: Vec<InteractionOut>,
    pub invoice: Option<InvoiceOut>,
    /// Correios SRO codes.
    pub trackings: Vec<String>,
    /// One mark per ERP, the latest.
    pub erp: Vec<ErpOut>,
    /// What is missing for the order to be handled without a person looking.
    #[schema(schema_with = pendencies)]
    pub pendencies: Vec<&'static str>,
    pub warnings: Vec<String>,
    #[schema(format = DateTime)]
    pub shipped_at: Option<String>,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    #[schema(format = DateTime)]
    pub placed_at: String,
    #[schema(format = DateTime)]
    pub approved_at: Option<String>,
    #[schema(format = DateTime)]
    pub cancelled_at: Option<String>,
    pub customer: CustomerDto,
    pub shipping_address: Option<AddressDto>,
    pub items: Vec<ItemDto>,
    pub freight: f64,
    pub discount: f64,
    pub items_total: f64,
    pub total: f64,
    pub payments: Vec<PaymentDto>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn at<T>(r: Result<T, FieldError>, field: &str) -> Result<T, FieldError> {
    r.map_err(|e| e.under(field))
}

fn time(raw: &str, field: &str) -> Result<Timestamp, FieldError> {
    at(Timestamp::parse(raw), field)
}

fn opt_time(raw: &Option<String>, field: &str) -> Result<Option<Timestamp>, FieldError> {
    raw.as_deref().map(|r| time(r, field)).transpose()
}

/// A vocabulary word in its canonical spelling (see `entreposto_domain::vocabulary`).
fn word(
    raw: Option<&str>,
    parse: fn(&str) -> Result<&'static str, FieldError>,
    field: &str,
) -> Result<Option<String>, FieldError> {
    raw.map(|r| at(parse(r), field).map(str::to_string))
        .transpose()
}

fn digits(raw: &str, field: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let d: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
        .collect();
    if d.len() < min || d.len() > max || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            field,
            format!("'{raw}' must be {min} to {max} digits"),
        ));
    }
    Ok(d)
}

impl OrderIn {
    pub fn into_domain(self, operator_id: &str, seller_id: &str) -> Result<OrderData, FieldError> {
        let c = self.customer;
        let kind = c
            .document_type
            .as_deref()
            .map(|k| at(DocumentKind::parse(k), "customer.documentType"))
            .transpose()?;
        let document = at(Document::parse(&c.document, kind), "customer.document")?;
        if let Some(email) = &c.email {
            check_email("customer.email", email)?;
        }
        let phones = c
            .phones
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(Phone {
                    kind: word(
                        p.kind.as_deref(),
                        parse_phone_type,
                        &format!("customer.phones[{i}].type"),
                    )?,
                    ddi: match &p.ddi {
                        Some(d) => digits(d, &format!("customer.phones[{i}].ddi"), 1, 3)?,
                        None => "55".into(),
                    },
                    ddd: digits(&p.ddd, &format!("customer.phones[{i}].ddd"), 2, 2)?,
                    number: digits(&p.number, &format!("customer.phones[{i}].number"), 8, 9)?,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        let shipping_address = self
            .shipping_address
            .map(|a| {
                Ok::<_, FieldError>(Address {
                    kind: a.kind,
                    recipient: a.recipient,
                    zipcode: at(parse_zipcode(&a.zipcode), "shippingAddress.zipcode")?,
                    address: a.address,
                    number: a.number,
                    complement: a.complement,
                    neighborhood: a.neighborhood,
                    city: a.city,
                    state: at(parse_uf(&a.state), "shippingAddress.state")?,
                    country: match a.country.as_deref() {
                        Some(c) => at(parse_country(c), "shippingAddress.country")?.into(),
                        None => "BR".into(),
                    },
                    reference: a.reference,
                })
            })
            .transpose()?;
        let items = self
            .items
            .into_iter()
            .map(|it| OrderItem {
                unit_price: it.unit_price.0,
                freight: it.freight.map(|f| f.0),
                sku: it.sku,
                name: it.name,
                quantity: it.quantity,
                marketplace_item_id: it.marketplace_item_id,
            })
            .collect();
        let payments = self
            .payments
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(Payment {
                    value: p.value.0,
                    paid_at: opt_time(&p.paid_at, &format!("payments[{i}].paidAt"))?,
                    method: at(
                        parse_payment_method(&p.method),
                        &format!("payments[{i}].method"),
                    )?
                    .into(),
                    installments: p.installments,
                    gateway: p.gateway,
                    transaction_id: p.transaction_id,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        Ok(OrderData {
            operator_id: operator_id.to_string(),
            seller_id: seller_id.to_string(),
            status: match &self.status {
                Some(s) => at(OrderStatus::parse(s), "status")?,
                None => OrderStatus::New,
            },
            placed_at: time(&self.placed_at, "placedAt")?,
            approved_at: opt_time(&self.approved_at, "approvedAt")?,
            cancelled_at: opt_time(&self.cancelled_at, "cancelledAt")?,
            channel: self.channel,
            marketplace_order_id: self.marketplace_order_id,
            site_id: self.site_id,
            warehouse: self.warehouse,
            customer: Customer {
                name: c.name,
                document,
                gender: word(c.gender.as_deref(), parse_gender, "customer.gender")?,
                email: c.email,
                birth_date: c
                    .birth_date
                    .as_deref()
                    .map(|b| at(parse_birth_date(b), "customer.birthDate"))
                    .transpose()?,
                corporate_name: c.corporate_name,
                trade_name: c.trade_name,
                corporate_document: c.corporate_document,
                corporate_phone: c.corporate_phone,
                state_inscription: c.state_inscription,
                phones,
            },
            shipping_address,
            items,
            freight: self.freight.unwrap_or_default().0,
            discount: self.discount.unwrap_or_default().0,
            payments,
        })
    }
}

fn pendencies() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::Array::new(pendency())
}

impl From<&OrderView> for OrderOut {
    fn from(v: &OrderView) -> OrderOut {
        let o = &v.order;
        let p: &OrderProgress = &v.progress;
        let d = &o.data;
        let c = &d.customer;
        OrderOut {
            id: o.id.to_string(),
            seller: d.seller_id.clone(),
            channel: d.channel.clone(),
            marketplace_order_id: d.marketplace_order_id.clone(),
            site_id: d.site_id.clone(),
            warehouse: d.warehouse.clone(),
            status: p.state.marketplace_status().as_str().into(),
            state: p.state.into(),
            status_history: p
                .history
                .iter()
                .map(|h| StateChangeOut {
                    from: h.from.map(StateOut::from),
                    to: h.to.into(),
                    at: h.at.to_rfc3339_utc(),
                })
                .collect(),
            interactions: p
                .interactions
                .iter()
                .map(|i| InteractionOut {
                    description: i.description.clone(),
                    origin: i.origin.as_str(),
                    action: i.action.clone(),
                    at: i.at.to_rfc3339_utc(),
                })
                .collect(),
            invoice: p.invoice.as_ref().map(|i| InvoiceOut {
                series: i.series,
                number: i.number,
                access_key: i.access_key.as_str().into(),
                issued_at: i.issued_at.to_rfc3339_utc(),
                value: i.value.to_decimal(),
                products: i
                    .products
                    .iter()
                    .map(|p| InvoiceProductOut {
                        kind: p.kind.as_str(),
                        sku: p.sku.clone(),
                        cfop: p.cfop,
                    })
                    .collect(),
            }),
            trackings: p.trackings.iter().map(|t| t.as_str().into()).collect(),
            erp: p
                .erp
                .iter()
                .map(|m| ErpOut {
                    kind: m.erp.clone(),
                    sent: m.sent,
                    error_message: m.error.clone(),
                    at: m.at.to_rfc3339_utc(),
                })
                .collect(),
            pendencies: p.pendencies.iter().map(|x| x.as_str()).collect(),
            warnings: p.warnings.clone(),
            shipped_at: p.shipped_at.map(Timestamp::to_rfc3339_utc),
            delivered_at: p.delivered_at.map(Timestamp::to_rfc3339_utc),
            placed_at: d.placed_at.to_rfc3339_utc(),
            approved_at: d.approved_at.map(Timestamp::to_rfc3339_utc),
            cancelled_at: d.cancelled_at.map(Timestamp::to_rfc3339_utc),
            customer: CustomerDto {
                name: c.name.clone(),
                document: c.document.number.clone(),
                document_type: Some(c.document.kind.as_str().into()),
                customer_type: Some(c.customer_type().into()),
                gender: c.gender.clone(),
                email: c.email.clone(),
                birth_date: c.birth_date.clone(),
                corporate_name: c.corporate_name.clone(),
                trade_name: c.trade_name.clone(),
                corporate_document: c.corporate_document.clone(),
                corporate_phone: c.corporate_phone.clone(),
                state_inscription: c.state_inscription.clone(),
                phones: c
                    .phones
                    .iter()
                    .map(|p| PhoneDto {
                        kind: p.kind.clone(),
                        ddi: Some(p.ddi.clone()),
                        ddd: p.ddd.clone(),
                        number: p.number.clone(),
                    })
                    .collect(),
            },
            shipping_address: d.shipping_address.as_ref().map(|a| AddressDto {
                kind: a.kind.clone(),
                recipient: a.recipient.clone(),
                zipcode: a.zipcode.clone(),
                address: a.address.clone(),
                number: a.number.clone(),
                complement: a.complement.clone(),
                neighborhood: a.neighborhood.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                country: Some(a.country.clone()),
                reference: a.reference.clone(),
            }),
            items: d
                .items
                .iter()
                .map(|i| ItemDto {
                    sku: i.sku.clone(),
                    name: i.name.clone(),
                    quantity: i.quantity,
                    unit_price: Amount(i.unit_price),
                    marketplace_item_id: i.marketplace_item_id.clone(),
                    freight: i.freight.map(Amount),
                })
                .collect(),
            freight: d.freight.to_decimal(),
            discount: d.discount.to_decimal(),
            items_total: d.items_total().to_decimal(),
            total: d.total().to_decimal(),
            payments: d
                .payments
                .iter()
                .map(|p| PaymentDto {
                    method: p.method.clone(),
                    installments: p.installments,
                    value: Amount(p.value),
                    paid_at: p.paid_at.map(Timestamp::to_rfc3339_utc),
                    gateway: p.gateway.clone(),
                    transaction_id: p.transaction_id.clone(),
                })
                .collect(),
            created_at: o.created_at.to_rfc3339_utc(),
            updated_at: o.updated_at.to_rfc3339_utc(),
        }
    }
}
