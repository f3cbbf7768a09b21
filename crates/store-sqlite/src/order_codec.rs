//! The stored form of an order's body on SQLite, and a decoder per stored version.
//!
//! The domain's [`OrderData`] carries no on-disk contract: this module owns it. A body
//! is a BLOB, a format byte then the fields in postcard (compact, not
//! self-describing: a field is its position, an enum variant its index), or, in rows
//! written by versions before postcard, JSON TEXT (SQLite keeps each value's type, so
//! the type tells the two apart). The definitions here (`StoredOrderV1`, its head
//! `StoredHeadV1` and their parts) are that layout, field for field, and are frozen:
//! the fixtures in `tests/order_body.rs` pin their bytes and enum positions. The JSON
//! rows were written from the very same serde shape (postcard ignores the names and
//! renames JSON uses), so both read through them.
//!
//! They are serde *remote* definitions of the domain types (glue from
//! `entreposto_store::stored_form`): decoding builds the domain values directly and
//! encoding reads them in place, with no intermediate copy. That matters because the customer-service case read decodes a head per
//! request (an owned mirror converted afterwards cost 7% more instructions per head).
//! A remote definition names every field of its domain type, so the domain cannot
//! gain, lose or retype a field without this module failing to compile, and its enums
//! are matched exhaustively, so a new `OrderStatus` or `DocumentKind` needs a position
//! here (append it: positions are stored).
//!
//! **Adding a version** (the domain's order changes shape): write `StoredOrderV2` and
//! `StoredHeadV2` as the remote definitions of the new shape (declared through one
//! macro like `starting_with_the_head_v1!`, so the head stays a prefix of the
//! body), a new format byte `BODY_V2`, and make [`encode`] write it. Keep version 1
//! decoding: the definitions of the parts that changed can no longer be remote ones,
//! so turn them into plain structs (same fields, same order) that deserialize on
//! their own and convert into the domain value, filling what V1 lacks (a default,
//! `None`); unchanged parts stay shared. Rows keep reading as V1 until they are next
//! written. Pin V2 with a fixture next to V1's, and keep V1's fixture.
//!
//! **What the body holds**: what the marketplace sends of an order. State the order's
//! lifecycle changes and queries filter on (status history, tracking, invoice, ERP
//! state) does not belong in the body, where every change would rewrite it and no
//! index could reach it: it goes into columns of `orders` (as `status`, `placed_at`
//! and `total` already are) or tables keyed by the order id (`order_status_history`,
//! `order_shipments`, ...), read next to the body by `orders::order_at` and carried by
//! the domain's `Order` beside `data`, never inside these definitions. The status is
//! in both today, as the marketplace sent it; once the lifecycle moves it, the column
//! is the truth and the row reader sets it over the body's.

use entreposto_domain::{
    Address, Cents, Customer, Document, DocumentKind, OrderData, OrderHead, OrderItem, OrderStatus,
    Payment, Phone, Timestamp,
};
use serde::{Deserialize, Deserializer, Serialize};

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
    postcard::to_extend(&AsV1(data), vec![BODY_V1]).map_err(|e| e.to_string())
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
    postcard::from_bytes::<FromV1<OrderData>>(postcard)
        .map(|FromV1(data)| data)
        .map_err(|e| format!("corrupt body: {e}"))
}

fn decode_head_v1(postcard: &[u8]) -> Result<OrderHead, String> {
    postcard::take_from_bytes::<HeadV1>(postcard)
        .map(|(HeadV1(head), _rest)| head)
        .map_err(|e| format!("corrupt body: {e}"))
}

/// JSON TEXT, written by the versions before postcard bodies.
fn decode_json(json: &[u8]) -> Result<OrderData, String> {
    serde_json::from_slice::<FromV1<OrderData>>(json)
        .map(|FromV1(data)| data)
        .map_err(|e| format!("corrupt JSON body: {e}"))
}

fn decode_head_json(json: &[u8]) -> Result<OrderHead, String> {
    serde_json::from_slice::<HeadV1>(json)
        .map(|HeadV1(head)| head)
        .map_err(|e| format!("corrupt JSON body: {e}"))
}

entreposto_store::stored_form! {
    /// A domain type's version-1 stored form: how it is written and read. `AsV1`
    /// writes a value in it (the fixture tests pin positions through it).
    pub trait V1, writer AsV1, reader FromV1, with v1 opt_v1 vec_v1
}

entreposto_store::stored_form_impls! {
    V1:
    OrderData => StoredOrderV1,
    OrderStatus => StatusV1,
    DocumentKind => DocumentKindV1,
    Document => DocumentV1,
    Phone => PhoneV1,
    Customer => CustomerV1,
    Address => AddressV1,
    OrderItem => ItemV1,
    Payment => PaymentV1;
    // Times are UTC microseconds, money is centavos: plain integers.
    i64 newtypes: Timestamp, Cents
}

/// Reads an order's head from the beginning of a version-1 body, leaving the rest.
struct HeadV1(OrderHead);

impl<'de> Deserialize<'de> for HeadV1 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StoredHeadV1::deserialize(d).map(HeadV1)
    }
}

// The version-1 layout. Optional fields read through `opt_v1` carry
// `#[serde(default)]`, as plain `Option` fields have it implicitly: a JSON body
// without the key reads as `None` (postcard bodies always hold every field).

/// Declares a version-1 definition that starts with the head's fields: the head and
/// the body get them from this one list, so the head is a prefix of the body by
/// construction (postcard decodes a body's head from the body's beginning).
macro_rules! starting_with_the_head_v1 {
    ($(#[$meta:meta])* pub struct $name:ident { $($rest:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            pub operator_id: String,
            pub seller_id: String,
            pub channel: String,
            pub marketplace_order_id: String,
            pub site_id: Option<String>,
            pub warehouse: Option<String>,
            #[serde(with = "v1")]
            pub status: OrderStatus,
            #[serde(with = "v1")]
            pub placed_at: Timestamp,
            #[serde(default, with = "opt_v1")]
            pub approved_at: Option<Timestamp>,
            #[serde(default, with = "opt_v1")]
            pub cancelled_at: Option<Timestamp>,
            #[serde(with = "v1")]
            pub customer: Customer,
            #[serde(default, with = "opt_v1")]
            pub shipping_address: Option<Address>,
            $($rest)*
        }
    };
}

starting_with_the_head_v1! {
    /// An order body as version 1 stores it: the head, then the rest.
    #[derive(Serialize, Deserialize)]
    #[serde(remote = "OrderData")]
    pub struct StoredOrderV1 {
        #[serde(with = "vec_v1")]
        pub items: Vec<OrderItem>,
        #[serde(with = "v1")]
        pub freight: Cents,
        #[serde(with = "v1")]
        pub discount: Cents,
        #[serde(with = "vec_v1")]
        pub payments: Vec<Payment>,
    }
}

starting_with_the_head_v1! {
    /// The leading fields of [`StoredOrderV1`], all a head read decodes.
    #[derive(Deserialize)]
    #[serde(remote = "OrderHead")]
    pub struct StoredHeadV1 {}
}

/// Order statuses by stored position (postcard) and name (JSON). Append only.
#[derive(Serialize, Deserialize)]
#[serde(remote = "OrderStatus", rename_all = "snake_case")]
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
#[derive(Serialize, Deserialize)]
#[serde(remote = "DocumentKind", rename_all = "UPPERCASE")]
pub enum DocumentKindV1 {
    Cpf,
    Cnpj,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Document")]
pub struct DocumentV1 {
    #[serde(with = "v1")]
    pub kind: DocumentKind,
    pub number: String,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Phone")]
pub struct PhoneV1 {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub ddi: String,
    pub ddd: String,
    pub number: String,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Customer")]
pub struct CustomerV1 {
    pub name: String,
    #[serde(with = "v1")]
    pub document: Document,
    pub gender: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<String>,
    pub corporate_name: Option<String>,
    pub trade_name: Option<String>,
    pub corporate_document: Option<String>,
    pub corporate_phone: Option<String>,
    pub state_inscription: Option<String>,
    /// JSON bodies from before phones were kept have none.
    #[serde(default, with = "vec_v1")]
    pub phones: Vec<Phone>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Address")]
pub struct AddressV1 {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub recipient: Option<String>,
    pub zipcode: String,
    pub address: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: String,
    pub state: String,
    pub country: String,
    pub reference: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "OrderItem")]
pub struct ItemV1 {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    #[serde(with = "v1")]
    pub unit_price: Cents,
    pub marketplace_item_id: Option<String>,
    #[serde(default, with = "opt_v1")]
    pub freight: Option<Cents>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Payment")]
pub struct PaymentV1 {
    pub method: String,
    pub installments: i64,
    #[serde(with = "v1")]
    pub value: Cents,
    #[serde(default, with = "opt_v1")]
    pub paid_at: Option<Timestamp>,
    pub gateway: Option<String>,
    pub transaction_id: Option<String>,
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
    /// `StoredHeadV1`'s fields are `StoredOrderV1`'s first ones, in order.
    #[test]
    fn a_head_decodes_from_the_beginning_of_a_body() {
        let data = sample();
        let body = encode(&data).unwrap();
        assert_eq!(
            decode_head(Body::Blob(&body)).unwrap(),
            OrderHead::from(data.clone())
        );
        let json = serde_json::to_vec(&AsV1(&data)).unwrap();
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
        let json = serde_json::to_vec(&AsV1(&data)).unwrap();
        assert_eq!(decode(Body::Text(&json)).unwrap(), data);
    }

    /// JSON bodies read as serde read them before the codec: optional keys may be
    /// missing (`None`), so may the phones (none).
    #[test]
    fn a_json_body_without_optional_keys_reads() {
        let data = sample();
        let mut v = serde_json::to_value(AsV1(&data)).unwrap();
        for key in ["approved_at", "cancelled_at", "shipping_address", "site_id"] {
            v.as_object_mut().unwrap().remove(key);
        }
        v["customer"].as_object_mut().unwrap().remove("phones");
        v["items"][0].as_object_mut().unwrap().remove("freight");
        v["payments"][0].as_object_mut().unwrap().remove("paid_at");
        let read = decode(Body::Text(v.to_string().as_bytes())).unwrap();
        assert_eq!((read.approved_at, read.site_id), (None, None));
        assert!(read.shipping_address.is_none() && read.customer.phones.is_empty());
        assert_eq!(read.items, data.items);
    }
}
