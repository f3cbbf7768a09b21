//! The stored form of an order's body on PostgreSQL: JSON, in the `orders.body` column.
//!
//! The domain's [`OrderData`] carries no on-disk contract: this module owns the JSON.
//! `OrderJson` and its parts are the stored shape, key for key (snake_case names,
//! `type` for a phone's or an address's kind, statuses in snake_case, document kinds
//! in capitals, money in centavos and times in UTC microseconds as integers), so every
//! row written so far reads. Reading moves the decoded strings into the domain value;
//! writing borrows from it. (SQLite's codec uses serde remote definitions instead, to
//! keep its head decode free of the conversion; here the conversion is about 4% of a
//! JSON decode, 7% of an encode, a microsecond next to a network round trip, and
//! plain types keep each key's default on the stored side.)
//!
//! **Changing the shape**: JSON names its keys, so a new field is added here with
//! `#[serde(default)]` (rows written before lack it) and needs no version. Renaming or
//! reinterpreting a key is a migration: rewrite the stored bodies in SQL in the
//! migration that changes the code's expectation, or add a version key and keep a
//! decoder for the shape without it. The conversions build the domain values field
//! by field and match exhaustively on its enums, so a new domain field or
//! `OrderStatus` does not compile until it is given its key here.
//!
//! **What the body holds**: what the marketplace sends of an order. State the order's
//! lifecycle changes and queries filter on (status history, tracking, invoice, ERP
//! state) goes into columns of `orders` (as `status`, `placed_at` and `total` already
//! are) or tables keyed by the order id, read next to the body by `orders::decode`, so
//! changing it never rewrites a body.

use std::borrow::Cow;

use entreposto_domain::{
    Address, Cents, Customer, Document, DocumentKind, OrderData, OrderItem, OrderStatus, Payment,
    Phone, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The JSON to store for `data`.
pub(crate) fn encode(data: &OrderData) -> Result<String, String> {
    serde_json::to_string(&OrderJson::from(data)).map_err(|e| e.to_string())
}

/// The order a stored body holds.
pub(crate) fn decode(json: &str) -> Result<OrderData, String> {
    serde_json::from_str::<OrderJson>(json)
        .map(OrderData::from)
        .map_err(|e| format!("corrupt body: {e}"))
}

/// An order body as stored. Strings borrow when writing and are owned when read
/// (serde decodes a `Cow` owned), so one type serves both directions.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderJson<'a> {
    pub operator_id: Cow<'a, str>,
    pub seller_id: Cow<'a, str>,
    pub channel: Cow<'a, str>,
    pub marketplace_order_id: Cow<'a, str>,
    pub site_id: Option<Cow<'a, str>>,
    pub warehouse: Option<Cow<'a, str>>,
    pub status: StatusJson,
    pub placed_at: i64,
    pub approved_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub customer: CustomerJson<'a>,
    pub shipping_address: Option<AddressJson<'a>>,
    pub items: Vec<ItemJson<'a>>,
    pub freight: i64,
    pub discount: i64,
    pub payments: Vec<PaymentJson<'a>>,
}

/// Order statuses by stored name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusJson {
    New,
    AwaitingPayment,
    Approved,
    Invoiced,
    Shipped,
    Delivered,
    Cancelled,
}

/// Document kinds by stored name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DocumentKindJson {
    Cpf,
    Cnpj,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DocumentJson<'a> {
    pub kind: DocumentKindJson,
    pub number: Cow<'a, str>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PhoneJson<'a> {
    #[serde(rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    pub ddi: Cow<'a, str>,
    pub ddd: Cow<'a, str>,
    pub number: Cow<'a, str>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CustomerJson<'a> {
    pub name: Cow<'a, str>,
    pub document: DocumentJson<'a>,
    pub gender: Option<Cow<'a, str>>,
    pub email: Option<Cow<'a, str>>,
    pub birth_date: Option<Cow<'a, str>>,
    pub corporate_name: Option<Cow<'a, str>>,
    pub trade_name: Option<Cow<'a, str>>,
    pub corporate_document: Option<Cow<'a, str>>,
    pub corporate_phone: Option<Cow<'a, str>>,
    pub state_inscription: Option<Cow<'a, str>>,
    /// Bodies from before phones were kept have none.
    #[serde(default)]
    pub phones: Vec<PhoneJson<'a>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AddressJson<'a> {
    #[serde(rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    pub recipient: Option<Cow<'a, str>>,
    pub zipcode: Cow<'a, str>,
    pub address: Cow<'a, str>,
    pub number: Option<Cow<'a, str>>,
    pub complement: Option<Cow<'a, str>>,
    pub neighborhood: Option<Cow<'a, str>>,
    pub city: Cow<'a, str>,
    pub state: Cow<'a, str>,
    pub country: Cow<'a, str>,
    pub reference: Option<Cow<'a, str>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ItemJson<'a> {
    pub sku: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub quantity: i64,
    pub unit_price: i64,
    pub marketplace_item_id: Option<Cow<'a, str>>,
    pub freight: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentJson<'a> {
    pub method: Cow<'a, str>,
    pub installments: i64,
    pub value: i64,
    pub paid_at: Option<i64>,
    pub gateway: Option<Cow<'a, str>>,
    pub transaction_id: Option<Cow<'a, str>>,
}

// Writing: borrow every string of the domain value.

fn b(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

fn ob(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(Cow::Borrowed)
}

impl<'a> From<&'a OrderData> for OrderJson<'a> {
    fn from(d: &'a OrderData) -> Self {
        OrderJson {
            operator_id: b(&d.operator_id),
            seller_id: b(&d.seller_id),
            channel: b(&d.channel),
            marketplace_order_id: b(&d.marketplace_order_id),
            site_id: ob(&d.site_id),
            warehouse: ob(&d.warehouse),
            status: d.status.into(),
            placed_at: d.placed_at.0,
            approved_at: d.approved_at.map(|t| t.0),
            cancelled_at: d.cancelled_at.map(|t| t.0),
            customer: (&d.customer).into(),
            shipping_address: d.shipping_address.as_ref().map(AddressJson::from),
            items: d.items.iter().map(ItemJson::from).collect(),
            freight: d.freight.0,
            discount: d.discount.0,
            payments: d.payments.iter().map(PaymentJson::from).collect(),
        }
    }
}

impl From<OrderStatus> for StatusJson {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::New => StatusJson::New,
            OrderStatus::AwaitingPayment => StatusJson::AwaitingPayment,
            OrderStatus::Approved => StatusJson::Approved,
            OrderStatus::Invoiced => StatusJson::Invoiced,
            OrderStatus::Shipped => StatusJson::Shipped,
            OrderStatus::Delivered => StatusJson::Delivered,
            OrderStatus::Cancelled => StatusJson::Cancelled,
        }
    }
}

impl From<DocumentKind> for DocumentKindJson {
    fn from(k: DocumentKind) -> Self {
        match k {
            DocumentKind::Cpf => DocumentKindJson::Cpf,
            DocumentKind::Cnpj => DocumentKindJson::Cnpj,
        }
    }
}

impl<'a> From<&'a Customer> for CustomerJson<'a> {
    fn from(c: &'a Customer) -> Self {
        CustomerJson {
            name: b(&c.name),
            document: DocumentJson {
                kind: c.document.kind.into(),
                number: b(&c.document.number),
            },
            gender: ob(&c.gender),
            email: ob(&c.email),
            birth_date: ob(&c.birth_date),
            corporate_name: ob(&c.corporate_name),
            trade_name: ob(&c.trade_name),
            corporate_document: ob(&c.corporate_document),
            corporate_phone: ob(&c.corporate_phone),
            state_inscription: ob(&c.state_inscription),
            phones: c
                .phones
                .iter()
                .map(|p| PhoneJson {
                    kind: ob(&p.kind),
                    ddi: b(&p.ddi),
                    ddd: b(&p.ddd),
                    number: b(&p.number),
                })
                .collect(),
        }
    }
}

impl<'a> From<&'a Address> for AddressJson<'a> {
    fn from(a: &'a Address) -> Self {
        AddressJson {
            kind: ob(&a.kind),
            recipient: ob(&a.recipient),
            zipcode: b(&a.zipcode),
            address: b(&a.address),
            number: ob(&a.number),
            complement: ob(&a.complement),
            neighborhood: ob(&a.neighborhood),
            city: b(&a.city),
            state: b(&a.state),
            country: b(&a.country),
            reference: ob(&a.reference),
        }
    }
}

impl<'a> From<&'a OrderItem> for ItemJson<'a> {
    fn from(i: &'a OrderItem) -> Self {
        ItemJson {
            sku: b(&i.sku),
            name: b(&i.name),
            quantity: i.quantity,
            unit_price: i.unit_price.0,
            marketplace_item_id: ob(&i.marketplace_item_id),
            freight: i.freight.map(|c| c.0),
        }
    }
}

impl<'a> From<&'a Payment> for PaymentJson<'a> {
    fn from(p: &'a Payment) -> Self {
        PaymentJson {
            method: b(&p.method),
            installments: p.installments,
            value: p.value.0,
            paid_at: p.paid_at.map(|t| t.0),
            gateway: ob(&p.gateway),
            transaction_id: ob(&p.transaction_id),
        }
    }
}

// Reading: move every decoded string into the domain value.

fn s(c: Cow<'_, str>) -> String {
    c.into_owned()
}

fn os(c: Option<Cow<'_, str>>) -> Option<String> {
    c.map(Cow::into_owned)
}

fn ts(t: Option<i64>) -> Option<Timestamp> {
    t.map(Timestamp)
}

impl From<OrderJson<'_>> for OrderData {
    fn from(d: OrderJson<'_>) -> Self {
        OrderData {
            operator_id: s(d.operator_id),
            seller_id: s(d.seller_id),
            channel: s(d.channel),
            marketplace_order_id: s(d.marketplace_order_id),
            site_id: os(d.site_id),
            warehouse: os(d.warehouse),
            status: d.status.into(),
            placed_at: Timestamp(d.placed_at),
            approved_at: ts(d.approved_at),
            cancelled_at: ts(d.cancelled_at),
            customer: d.customer.into(),
            shipping_address: d.shipping_address.map(Address::from),
            items: d.items.into_iter().map(OrderItem::from).collect(),
            freight: Cents(d.freight),
            discount: Cents(d.discount),
            payments: d.payments.into_iter().map(Payment::from).collect(),
        }
    }
}

impl From<StatusJson> for OrderStatus {
    fn from(s: StatusJson) -> Self {
        match s {
            StatusJson::New => OrderStatus::New,
            StatusJson::AwaitingPayment => OrderStatus::AwaitingPayment,
            StatusJson::Approved => OrderStatus::Approved,
            StatusJson::Invoiced => OrderStatus::Invoiced,
            StatusJson::Shipped => OrderStatus::Shipped,
            StatusJson::Delivered => OrderStatus::Delivered,
            StatusJson::Cancelled => OrderStatus::Cancelled,
        }
    }
}

impl From<DocumentKindJson> for DocumentKind {
    fn from(k: DocumentKindJson) -> Self {
        match k {
            DocumentKindJson::Cpf => DocumentKind::Cpf,
            DocumentKindJson::Cnpj => DocumentKind::Cnpj,
        }
    }
}

impl From<CustomerJson<'_>> for Customer {
    fn from(c: CustomerJson<'_>) -> Self {
        Customer {
            name: s(c.name),
            document: Document {
                kind: c.document.kind.into(),
                number: s(c.document.number),
            },
            gender: os(c.gender),
            email: os(c.email),
            birth_date: os(c.birth_date),
            corporate_name: os(c.corporate_name),
            trade_name: os(c.trade_name),
            corporate_document: os(c.corporate_document),
            corporate_phone: os(c.corporate_phone),
            state_inscription: os(c.state_inscription),
            phones: c
                .phones
                .into_iter()
                .map(|p| Phone {
                    kind: os(p.kind),
                    ddi: s(p.ddi),
                    ddd: s(p.ddd),
                    number: s(p.number),
                })
                .collect(),
        }
    }
}

impl From<AddressJson<'_>> for Address {
    fn from(a: AddressJson<'_>) -> Self {
        Address {
            kind: os(a.kind),
            recipient: os(a.recipient),
            zipcode: s(a.zipcode),
            address: s(a.address),
            number: os(a.number),
            complement: os(a.complement),
            neighborhood: os(a.neighborhood),
            city: s(a.city),
            state: s(a.state),
            country: s(a.country),
            reference: os(a.reference),
        }
    }
}

impl From<ItemJson<'_>> for OrderItem {
    fn from(i: ItemJson<'_>) -> Self {
        OrderItem {
            sku: s(i.sku),
            name: s(i.name),
            quantity: i.quantity,
            unit_price: Cents(i.unit_price),
            marketplace_item_id: os(i.marketplace_item_id),
            freight: i.freight.map(Cents),
        }
    }
}

impl From<PaymentJson<'_>> for Payment {
    fn from(p: PaymentJson<'_>) -> Self {
        Payment {
            method: s(p.method),
            installments: p.installments,
            value: Cents(p.value),
            paid_at: ts(p.paid_at),
            gateway: os(p.gateway),
            transaction_id: os(p.transaction_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::Seller;

    /// The JSON rows hold: every key, its spelling and the vocabularies' words. If this
    /// changes, bodies already stored would no longer read.
    #[test]
    fn the_stored_json_is_pinned() {
        let seller = Seller {
            id: "01SELLER0000000000000000AA".into(),
            operator_id: "01OPERATOR00000000000000AA".into(),
            name: "Loja".into(),
            document: None,
            created_at: Timestamp(0),
        };
        let data = entreposto_store::fixtures::sample_order(&seller, "02-1000000004");
        let pinned = include_str!("../tests/fixtures/order_body.json").trim_end();
        assert_eq!(encode(&data).unwrap(), pinned);
        assert_eq!(decode(pinned).unwrap(), data);
    }

    #[test]
    fn every_status_and_document_kind_reads_back() {
        for st in OrderStatus::ALL {
            assert_eq!(OrderStatus::from(StatusJson::from(st)), st);
            let json = serde_json::to_string(&StatusJson::from(st)).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
        for k in [DocumentKind::Cpf, DocumentKind::Cnpj] {
            assert_eq!(DocumentKind::from(DocumentKindJson::from(k)), k);
            let json = serde_json::to_string(&DocumentKindJson::from(k)).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }

    /// Rows written before phones were kept read with none.
    #[test]
    fn a_body_without_phones_reads() {
        let pinned = include_str!("../tests/fixtures/order_body.json");
        let mut v: serde_json::Value = serde_json::from_str(pinned).unwrap();
        v["customer"].as_object_mut().unwrap().remove("phones");
        let data = decode(&v.to_string()).unwrap();
        assert!(data.customer.phones.is_empty());
    }
}
