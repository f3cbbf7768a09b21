//! The stored form of an order's body on SQLite, and a decoder per stored version.
//!
//! The domain's [`OrderData`] carries no on-disk contract: this module owns it. A body
//! is a BLOB, a format byte then the fields in postcard (compact, not
//! self-describing: a field is its position, an enum variant its index), or, in rows
//! written by versions before postcard, JSON TEXT (SQLite keeps each value's type, so
//! the type tells the two apart). The types here (`StoredOrderV1` and its parts) are
//! that layout, field for field; they are frozen, and the fixtures in
//! `tests/order_body.rs` pin their bytes and enum positions. The JSON rows were written
//! from the very same serde shape (postcard ignores the names and renames JSON uses),
//! so both read through these types. Reading converts the stored values into domain
//! types by moving them (strings are decoded owned and handed over, never copied);
//! writing borrows from the domain value.
//!
//! **Adding a version** (the domain's order gains, drops or reshapes a field): add
//! `StoredOrderV2` and its head `StoredHeadV2` (fields in the new order, the head's a
//! prefix of the body's), a new format byte `BODY_V2`, and make [`encode`] write it;
//! keep `StoredOrderV1` and its decoder unchanged, and let its conversion into the
//! domain fill what V1 lacks (a default, `None`). Pin V2 with a fixture next to V1's.
//! Old rows keep decoding as V1 until they are next written. The conversions match
//! exhaustively on the domain's enums, so a new `OrderStatus` or `DocumentKind` does
//! not compile until it is given a position here (append it: positions are stored).
//!
//! **What the body holds**: what the marketplace sends of an order. State the order's
//! lifecycle changes and queries filter on (status history, tracking, invoice, ERP
//! state) does not belong in the body, where every change would rewrite it and no
//! index could reach it: it goes into columns of `orders` (as `status`, `placed_at`
//! and `total` already are) or tables keyed by the order id (`order_status_history`,
//! `order_shipments`, ...), read next to the body by `orders::order_at` and added to
//! the domain's `Order` beside `data`, not inside `OrderData`'s stored types.

use std::borrow::Cow;

use entreposto_domain::{
    Address, Cents, Customer, Document, DocumentKind, OrderData, OrderHead, OrderItem, OrderStatus,
    Payment, Phone, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The format byte of a postcard body of [`StoredOrderV1`].
pub const BODY_V1: u8 = 1;

/// A stored body as SQLite hands it over: a BLOB (format byte first) or JSON TEXT.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Blob(&'a [u8]),
    Text(&'a [u8]),
}

/// The body to store for `data`: the current format byte, then its fields.
pub fn encode(data: &OrderData) -> Result<Vec<u8>, String> {
    postcard::to_extend(&StoredOrderV1::from(data), vec![BODY_V1]).map_err(|e| e.to_string())
}

/// The order a stored body holds, whatever version wrote it.
pub fn decode(body: Body<'_>) -> Result<OrderData, String> {
    match body {
        Body::Blob([BODY_V1, rest @ ..]) => decode_v1(rest),
        Body::Text(json) => decode_json(json),
        Body::Blob(b) => Err(unknown(b)),
    }
}

/// The head of a stored body (see [`OrderHead`]). For postcard only the body's leading
/// fields are read, the items and payments after them are left untouched: this is the
/// customer-service case read, the hot path.
pub fn decode_head(body: Body<'_>) -> Result<OrderHead, String> {
    match body {
        Body::Blob([BODY_V1, rest @ ..]) => decode_head_v1(rest),
        Body::Text(json) => decode_head_json(json),
        Body::Blob(b) => Err(unknown(b)),
    }
}

fn unknown(b: &[u8]) -> String {
    format!("body in an unknown format (first byte {:?})", b.first())
}

fn decode_v1(postcard: &[u8]) -> Result<OrderData, String> {
    postcard::from_bytes::<StoredOrderV1>(postcard)
        .map(OrderData::from)
        .map_err(|e| format!("corrupt body: {e}"))
}

fn decode_head_v1(postcard: &[u8]) -> Result<OrderHead, String> {
    postcard::take_from_bytes::<StoredHeadV1>(postcard)
        .map(|(head, _rest)| OrderHead::from(head))
        .map_err(|e| format!("corrupt body: {e}"))
}

/// JSON TEXT, written by the versions before postcard bodies.
fn decode_json(json: &[u8]) -> Result<OrderData, String> {
    serde_json::from_slice::<StoredOrderV1>(json)
        .map(OrderData::from)
        .map_err(|e| format!("corrupt JSON body: {e}"))
}

fn decode_head_json(json: &[u8]) -> Result<OrderHead, String> {
    serde_json::from_slice::<StoredHeadV1>(json)
        .map(OrderHead::from)
        .map_err(|e| format!("corrupt JSON body: {e}"))
}

/// An order body as version 1 stores it. Strings borrow when writing and are owned
/// when read (serde decodes a `Cow` owned), so one type serves both directions.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredOrderV1<'a> {
    pub operator_id: Cow<'a, str>,
    pub seller_id: Cow<'a, str>,
    pub channel: Cow<'a, str>,
    pub marketplace_order_id: Cow<'a, str>,
    pub site_id: Option<Cow<'a, str>>,
    pub warehouse: Option<Cow<'a, str>>,
    pub status: StatusV1,
    pub placed_at: i64,
    pub approved_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub customer: CustomerV1<'a>,
    pub shipping_address: Option<AddressV1<'a>>,
    pub items: Vec<ItemV1<'a>>,
    pub freight: i64,
    pub discount: i64,
    pub payments: Vec<PaymentV1<'a>>,
}

/// The leading fields of [`StoredOrderV1`], in its order: postcard decodes a body's
/// head from the body's beginning. A unit test pins that this stays a prefix.
#[derive(Debug, Deserialize)]
pub struct StoredHeadV1<'a> {
    pub operator_id: Cow<'a, str>,
    pub seller_id: Cow<'a, str>,
    pub channel: Cow<'a, str>,
    pub marketplace_order_id: Cow<'a, str>,
    pub site_id: Option<Cow<'a, str>>,
    pub warehouse: Option<Cow<'a, str>>,
    pub status: StatusV1,
    pub placed_at: i64,
    pub approved_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub customer: CustomerV1<'a>,
    pub shipping_address: Option<AddressV1<'a>>,
}

/// Order statuses by stored position (postcard) and name (JSON). Append only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusV1 {
    New,
    AwaitingPayment,
    Approved,
    Invoiced,
    Shipped,
    Delivered,
    Cancelled,
}

/// Document kinds by stored position (postcard) and name (JSON). Append only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DocumentKindV1 {
    Cpf,
    Cnpj,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DocumentV1<'a> {
    pub kind: DocumentKindV1,
    pub number: Cow<'a, str>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PhoneV1<'a> {
    #[serde(rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    pub ddi: Cow<'a, str>,
    pub ddd: Cow<'a, str>,
    pub number: Cow<'a, str>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CustomerV1<'a> {
    pub name: Cow<'a, str>,
    pub document: DocumentV1<'a>,
    pub gender: Option<Cow<'a, str>>,
    pub email: Option<Cow<'a, str>>,
    pub birth_date: Option<Cow<'a, str>>,
    pub corporate_name: Option<Cow<'a, str>>,
    pub trade_name: Option<Cow<'a, str>>,
    pub corporate_document: Option<Cow<'a, str>>,
    pub corporate_phone: Option<Cow<'a, str>>,
    pub state_inscription: Option<Cow<'a, str>>,
    /// JSON bodies from before phones were kept have none.
    #[serde(default)]
    pub phones: Vec<PhoneV1<'a>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AddressV1<'a> {
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
pub struct ItemV1<'a> {
    pub sku: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub quantity: i64,
    pub unit_price: i64,
    pub marketplace_item_id: Option<Cow<'a, str>>,
    pub freight: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentV1<'a> {
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

impl<'a> From<&'a OrderData> for StoredOrderV1<'a> {
    fn from(d: &'a OrderData) -> Self {
        StoredOrderV1 {
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
            shipping_address: d.shipping_address.as_ref().map(AddressV1::from),
            items: d.items.iter().map(ItemV1::from).collect(),
            freight: d.freight.0,
            discount: d.discount.0,
            payments: d.payments.iter().map(PaymentV1::from).collect(),
        }
    }
}

impl From<OrderStatus> for StatusV1 {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::New => StatusV1::New,
            OrderStatus::AwaitingPayment => StatusV1::AwaitingPayment,
            OrderStatus::Approved => StatusV1::Approved,
            OrderStatus::Invoiced => StatusV1::Invoiced,
            OrderStatus::Shipped => StatusV1::Shipped,
            OrderStatus::Delivered => StatusV1::Delivered,
            OrderStatus::Cancelled => StatusV1::Cancelled,
        }
    }
}

impl From<DocumentKind> for DocumentKindV1 {
    fn from(k: DocumentKind) -> Self {
        match k {
            DocumentKind::Cpf => DocumentKindV1::Cpf,
            DocumentKind::Cnpj => DocumentKindV1::Cnpj,
        }
    }
}

impl<'a> From<&'a Customer> for CustomerV1<'a> {
    fn from(c: &'a Customer) -> Self {
        CustomerV1 {
            name: b(&c.name),
            document: DocumentV1 {
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
                .map(|p| PhoneV1 {
                    kind: ob(&p.kind),
                    ddi: b(&p.ddi),
                    ddd: b(&p.ddd),
                    number: b(&p.number),
                })
                .collect(),
        }
    }
}

impl<'a> From<&'a Address> for AddressV1<'a> {
    fn from(a: &'a Address) -> Self {
        AddressV1 {
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

impl<'a> From<&'a OrderItem> for ItemV1<'a> {
    fn from(i: &'a OrderItem) -> Self {
        ItemV1 {
            sku: b(&i.sku),
            name: b(&i.name),
            quantity: i.quantity,
            unit_price: i.unit_price.0,
            marketplace_item_id: ob(&i.marketplace_item_id),
            freight: i.freight.map(|c| c.0),
        }
    }
}

impl<'a> From<&'a Payment> for PaymentV1<'a> {
    fn from(p: &'a Payment) -> Self {
        PaymentV1 {
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

impl From<StoredOrderV1<'_>> for OrderData {
    fn from(d: StoredOrderV1<'_>) -> Self {
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

impl From<StoredHeadV1<'_>> for OrderHead {
    fn from(h: StoredHeadV1<'_>) -> Self {
        OrderHead {
            operator_id: s(h.operator_id),
            seller_id: s(h.seller_id),
            channel: s(h.channel),
            marketplace_order_id: s(h.marketplace_order_id),
            site_id: os(h.site_id),
            warehouse: os(h.warehouse),
            status: h.status.into(),
            placed_at: Timestamp(h.placed_at),
            approved_at: ts(h.approved_at),
            cancelled_at: ts(h.cancelled_at),
            customer: h.customer.into(),
            shipping_address: h.shipping_address.map(Address::from),
        }
    }
}

impl From<StatusV1> for OrderStatus {
    fn from(s: StatusV1) -> Self {
        match s {
            StatusV1::New => OrderStatus::New,
            StatusV1::AwaitingPayment => OrderStatus::AwaitingPayment,
            StatusV1::Approved => OrderStatus::Approved,
            StatusV1::Invoiced => OrderStatus::Invoiced,
            StatusV1::Shipped => OrderStatus::Shipped,
            StatusV1::Delivered => OrderStatus::Delivered,
            StatusV1::Cancelled => OrderStatus::Cancelled,
        }
    }
}

impl From<DocumentKindV1> for DocumentKind {
    fn from(k: DocumentKindV1) -> Self {
        match k {
            DocumentKindV1::Cpf => DocumentKind::Cpf,
            DocumentKindV1::Cnpj => DocumentKind::Cnpj,
        }
    }
}

impl From<CustomerV1<'_>> for Customer {
    fn from(c: CustomerV1<'_>) -> Self {
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

impl From<AddressV1<'_>> for Address {
    fn from(a: AddressV1<'_>) -> Self {
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

impl From<ItemV1<'_>> for OrderItem {
    fn from(i: ItemV1<'_>) -> Self {
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

impl From<PaymentV1<'_>> for Payment {
    fn from(p: PaymentV1<'_>) -> Self {
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

    fn sample() -> OrderData {
        let seller = Seller {
            id: "S".into(),
            operator_id: "O".into(),
            name: "Loja".into(),
            document: None,
            created_at: Timestamp(0),
        };
        let mut data = entreposto_store::fixtures::sample_order(&seller, "02-1");
        data.items.push(data.items[0].clone());
        data.payments.push(data.payments[0].clone());
        data
    }

    /// A head read from the beginning of a stored body is the body's head:
    /// `StoredHeadV1`'s fields are `StoredOrderV1`'s first ones, in order. Reordering
    /// either breaks this.
    #[test]
    fn a_head_decodes_from_the_beginning_of_a_body() {
        let data = sample();
        let body = encode(&data).unwrap();
        assert_eq!(
            decode_head(Body::Blob(&body)).unwrap(),
            OrderHead::from(data.clone())
        );
        let json = serde_json::to_vec(&StoredOrderV1::from(&data)).unwrap();
        assert_eq!(
            decode_head(Body::Text(&json)).unwrap(),
            OrderHead::from(data)
        );
    }

    #[test]
    fn every_version_reads_back_what_was_written() {
        let data = sample();
        let body = encode(&data).unwrap();
        assert_eq!(body[0], BODY_V1);
        assert_eq!(decode(Body::Blob(&body)).unwrap(), data);
        let json = serde_json::to_vec(&StoredOrderV1::from(&data)).unwrap();
        assert_eq!(decode(Body::Text(&json)).unwrap(), data);
    }

    #[test]
    fn enums_round_trip_through_their_stored_positions() {
        for st in OrderStatus::ALL {
            assert_eq!(OrderStatus::from(StatusV1::from(st)), st);
        }
        for k in [DocumentKind::Cpf, DocumentKind::Cnpj] {
            assert_eq!(DocumentKind::from(DocumentKindV1::from(k)), k);
        }
    }
}
