//! The stored form of an order's body on PostgreSQL: JSON, in the `orders.body` column.
//!
//! The domain's [`OrderData`] carries no on-disk contract: this module owns the JSON.
//! `OrderJson` and its parts are the stored shape, key for key (snake_case names,
//! `type` for a phone's or an address's kind, statuses in snake_case, document kinds
//! in capitals, money in centavos and times in UTC microseconds as integers), so every
//! row written so far reads. They are serde remote definitions of the domain types
//! (glue from `entreposto_store::stored_form`): a body decodes straight into
//! `OrderData` and encodes from it in place; owned mirror types converted afterwards
//! cost 4% more instructions per decode and 7% per encode.
//!
//! **Changing the shape**: a remote definition names every field of its domain type
//! and matches its enums exhaustively, so a new domain field or `OrderStatus` does
//! not compile until it is given its key here. JSON names its keys, so a new field is
//! added with `#[serde(default)]` (rows written before lack it) and needs no version.
//! Renaming or reinterpreting a key is a migration: rewrite the stored bodies in SQL
//! in the migration that changes the code's expectation, or add a version key and
//! keep a decoder for the shape without it.
//!
//! **What the body holds**: what the marketplace sends of an order. State the order's
//! lifecycle changes and queries filter on (status history, tracking, invoice, ERP
//! state) goes into columns of `orders` (as `status`, `placed_at` and `total` already
//! are) or tables keyed by the order id, read next to the body by `orders::decode`, so
//! changing it never rewrites a body.

use entreposto_domain::{
    Address, Cents, Customer, Document, DocumentKind, OrderData, OrderItem, OrderStatus, Payment,
    Phone, Timestamp,
};
use serde::{Deserialize, Serialize};

/// The JSON to store for `data`.
pub(crate) fn encode(data: &OrderData) -> Result<String, String> {
    serde_json::to_string(&AsJson(data)).map_err(|e| e.to_string())
}

/// The order a stored body holds.
pub(crate) fn decode(json: &str) -> Result<OrderData, String> {
    serde_json::from_str::<FromJson<OrderData>>(json)
        .map(|FromJson(data)| data)
        .map_err(|e| format!("corrupt body: {e}"))
}

entreposto_store::stored_form! {
    /// A domain type's stored JSON: how it is written and read.
    pub(crate) trait Json, writer AsJson, reader FromJson, with json opt_json vec_json
}

entreposto_store::stored_form_impls! {
    Json:
    OrderData => OrderJson,
    OrderStatus => StatusJson,
    DocumentKind => DocumentKindJson,
    Document => DocumentJson,
    Phone => PhoneJson,
    Customer => CustomerJson,
    Address => AddressJson,
    OrderItem => ItemJson,
    Payment => PaymentJson;
    // Times are UTC microseconds, money is centavos: plain integers.
    i64 newtypes: Timestamp, Cents
}

// Optional fields read through `opt_json` carry `#[serde(default)]`, as plain `Option`
// fields have it implicitly: a body without the key reads as `None`.

/// An order body as stored.
#[derive(Serialize, Deserialize)]
#[serde(remote = "OrderData")]
pub(crate) struct OrderJson {
    pub operator_id: String,
    pub seller_id: String,
    pub channel: String,
    pub marketplace_order_id: String,
    pub site_id: Option<String>,
    pub warehouse: Option<String>,
    #[serde(with = "json")]
    pub status: OrderStatus,
    #[serde(with = "json")]
    pub placed_at: Timestamp,
    #[serde(default, with = "opt_json")]
    pub approved_at: Option<Timestamp>,
    #[serde(default, with = "opt_json")]
    pub cancelled_at: Option<Timestamp>,
    #[serde(with = "json")]
    pub customer: Customer,
    #[serde(default, with = "opt_json")]
    pub shipping_address: Option<Address>,
    #[serde(with = "vec_json")]
    pub items: Vec<OrderItem>,
    #[serde(with = "json")]
    pub freight: Cents,
    #[serde(with = "json")]
    pub discount: Cents,
    #[serde(with = "vec_json")]
    pub payments: Vec<Payment>,
}

/// Order statuses by stored name.
#[derive(Serialize, Deserialize)]
#[serde(remote = "OrderStatus", rename_all = "snake_case")]
pub(crate) enum StatusJson {
    New,
    AwaitingPayment,
    Approved,
    Invoiced,
    Shipped,
    Delivered,
    Cancelled,
}

/// Document kinds by stored name.
#[derive(Serialize, Deserialize)]
#[serde(remote = "DocumentKind", rename_all = "UPPERCASE")]
pub(crate) enum DocumentKindJson {
    Cpf,
    Cnpj,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Document")]
pub(crate) struct DocumentJson {
    #[serde(with = "json")]
    pub kind: DocumentKind,
    pub number: String,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Phone")]
pub(crate) struct PhoneJson {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub ddi: String,
    pub ddd: String,
    pub number: String,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Customer")]
pub(crate) struct CustomerJson {
    pub name: String,
    #[serde(with = "json")]
    pub document: Document,
    pub gender: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<String>,
    pub corporate_name: Option<String>,
    pub trade_name: Option<String>,
    pub corporate_document: Option<String>,
    pub corporate_phone: Option<String>,
    pub state_inscription: Option<String>,
    /// Bodies from before phones were kept have none.
    #[serde(default, with = "vec_json")]
    pub phones: Vec<Phone>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Address")]
pub(crate) struct AddressJson {
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
pub(crate) struct ItemJson {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    #[serde(with = "json")]
    pub unit_price: Cents,
    pub marketplace_item_id: Option<String>,
    #[serde(default, with = "opt_json")]
    pub freight: Option<Cents>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Payment")]
pub(crate) struct PaymentJson {
    pub method: String,
    pub installments: i64,
    #[serde(with = "json")]
    pub value: Cents,
    #[serde(default, with = "opt_json")]
    pub paid_at: Option<Timestamp>,
    pub gateway: Option<String>,
    pub transaction_id: Option<String>,
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
    fn every_status_and_document_kind_is_stored_by_its_name() {
        for st in OrderStatus::ALL {
            let json = serde_json::to_string(&AsJson(&st)).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            let FromJson(back) = serde_json::from_str::<FromJson<OrderStatus>>(&json).unwrap();
            assert_eq!(back, st);
        }
        for k in [DocumentKind::Cpf, DocumentKind::Cnpj] {
            let json = serde_json::to_string(&AsJson(&k)).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            let FromJson(back) = serde_json::from_str::<FromJson<DocumentKind>>(&json).unwrap();
            assert_eq!(back, k);
        }
    }

    /// Bodies read as serde read them before these definitions: optional keys may be
    /// missing (`None`), so may the phones (none).
    #[test]
    fn a_body_without_optional_keys_reads() {
        let pinned = include_str!("../tests/fixtures/order_body.json");
        let mut v: serde_json::Value = serde_json::from_str(pinned).unwrap();
        for key in ["approved_at", "cancelled_at", "shipping_address", "site_id"] {
            v.as_object_mut().unwrap().remove(key);
        }
        v["customer"].as_object_mut().unwrap().remove("phones");
        v["items"][0].as_object_mut().unwrap().remove("freight");
        v["payments"][0].as_object_mut().unwrap().remove("paid_at");
        let data = decode(&v.to_string()).unwrap();
        assert_eq!((data.approved_at, data.site_id), (None, None));
        assert!(data.shipping_address.is_none() && data.customer.phones.is_empty());
        assert_eq!(data.items[0].freight, None);
    }
}
