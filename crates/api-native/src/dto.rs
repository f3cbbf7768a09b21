//! The native API's JSON, and its conversion to and from the domain.
//!
//! Money travels as decimal numbers (`499.99`), dates as ISO 8601 strings (read
//! liberally, written as RFC 3339 UTC). Every conversion error is re-rooted at the
//! JSON path of the field that caused it.

use entreposto_domain::{
    check_email, parse_birth_date, parse_country, parse_gender, parse_payment_method,
    parse_phone_type, parse_uf, parse_zipcode, Address, Customer, Document, DocumentKind,
    FieldError, Order, OrderData, OrderItem, OrderStatus, Payment, Phone, Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use entreposto_http::body::Amount;

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
    /// `mobile`, `home` or `work` (any letter case; stored in lower case).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Country code, `55` when absent.
    pub ddi: Option<String>,
    pub ddd: String,
    pub number: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct CustomerDto {
    pub name: String,
    /// CPF or CNPJ, with or without punctuation; check digits are verified.
    pub document: String,
    /// `CPF` or `CNPJ`; inferred from the length when absent.
    pub document_type: Option<String>,
    /// `individual` or `company` (output only).
    #[serde(default, skip_deserializing)]
    pub customer_type: Option<String>,
    /// `female`, `male` or `other` (any letter case; stored in lower case).
    pub gender: Option<String>,
    pub email: Option<String>,
    /// `yyyy-MM-dd`, a real date not in the future; a date-time's date part is taken
    /// as written. Stored and returned as `yyyy-MM-dd`.
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
    /// CEP, 8 digits (a dash is accepted).
    pub zipcode: String,
    pub address: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: String,
    /// State acronym (`SP`).
    pub state: String,
    /// ISO 3166-1 alpha-2 code (any letter case), `BR` when absent.
    pub country: Option<String>,
    pub reference: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ItemDto {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Amount,
    pub marketplace_item_id: Option<String>,
    pub freight: Option<Amount>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDto {
    /// `credit_card`, `debit_card`, `boleto`, `pix`, `bank_transfer`, `voucher`,
    /// `gift_card` or `wallet` (any letter case; stored in lower case).
    pub method: String,
    #[serde(default = "one")]
    pub installments: i64,
    pub value: Amount,
    pub paid_at: Option<String>,
    pub gateway: Option<String>,
    pub transaction_id: Option<String>,
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
    /// Marketplace name, e.g. `Lojas Americanas`.
    pub channel: String,
    pub marketplace_order_id: String,
    pub site_id: Option<String>,
    pub warehouse: Option<String>,
    /// `new` (default), `awaiting_payment`, `approved`, `invoiced`, `shipped`,
    /// `delivered` or `cancelled`.
    pub status: Option<String>,
    pub placed_at: String,
    pub approved_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub customer: CustomerDto,
    pub shipping_address: Option<AddressDto>,
    pub items: Vec<ItemDto>,
    pub freight: Option<Amount>,
    pub discount: Option<Amount>,
    #[serde(default)]
    pub payments: Vec<PaymentDto>,
}

/// A stored order.
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
    pub status: String,
    pub placed_at: String,
    pub approved_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub customer: CustomerDto,
    pub shipping_address: Option<AddressDto>,
    pub items: Vec<ItemDto>,
    pub freight: f64,
    pub discount: f64,
    pub items_total: f64,
    pub total: f64,
    pub payments: Vec<PaymentDto>,
    pub created_at: String,
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

impl From<&Order> for OrderOut {
    fn from(o: &Order) -> OrderOut {
        let d = &o.data;
        let c = &d.customer;
        OrderOut {
            id: o.id.to_string(),
            seller: d.seller_id.clone(),
            channel: d.channel.clone(),
            marketplace_order_id: d.marketplace_order_id.clone(),
            site_id: d.site_id.clone(),
            warehouse: d.warehouse.clone(),
            status: d.status.as_str().into(),
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
