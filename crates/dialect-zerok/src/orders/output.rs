//! 00K's orders as the listing's example shows them, from the hub's order views.
//!
//! Every block of the example is present on every order, so clients can read
//! `order.invoice.accessKey` or `freight.tracking` without checking for the block
//! first: a block the order has nothing for is written with its fields null (the
//! invoice before one is recorded, the address of an order without one) or empty
//! (`erp`, `payments`), and `warnings` is null when there are none, as the example
//! writes it. Dates are the catalog's (`2015-07-07T17:44:18.000Z`), money numbers in
//! reais, the history and the interactions newest first, as in the example.
//!
//! What each identifier carries, from the hub's order:
//! - `id`: the hub's order id, the one paths take (`/orders/{id}`).
//! - `externalId` and `marketPlaceId`: the order's id at its marketplace (the hub keeps
//!   one; both filters `external_id` and `marketplace_id` match it), a number when it
//!   is one, as the example writes them, else the text. `externalIdAlias` is the same
//!   id always as text, so a client reads an id with letters or leading zeros exactly.
//! - `marketPlace`: the marketplace's name as it pushed the order (the channel,
//!   `Lojas Americanas`); the `marketplace` filter takes it back.
//! - `origin`: the position, from 1, of the order's `order_origin` word in the
//!   document's list (see [`super::origin`]); null for a marketplace it does not name.
//! - `token` (also in `pending`): an opaque handle of the order, its id as 16
//!   hexadecimal digits. Never a credential: the store's key is not written anywhere.
//!
//! What the hub does not keep (a customer id, a nickname, freight service names,
//! payment gateways' fees) is null, and `mercadoLibre` and `operator` are null.

use entreposto_domain::{
    Customer, DocumentKind, InteractionOrigin, OrderState, Pendency, StateChange,
};
use entreposto_http::body::Amount;
use entreposto_store::OrderView;
use serde::Serialize;
use utoipa::ToSchema;

use crate::output::{zerok_time, ExternalId};

/// A page of orders (`GET /orders`).
#[derive(Serialize, ToSchema)]
pub struct OrderPage<'a> {
    /// Orders matching the filters, all pages together.
    pub total: u64,
    pub items: Vec<OrderItemOut<'a>>,
    /// The next page, relative as the document writes it (`?page=2`, the filters
    /// given repeated), or null on the last page.
    pub next: Option<String>,
    /// The page before (`?page=0`), or null on page 0.
    pub previous: Option<String>,
}

/// One order, in the listing's shape (also the answer of `GET /orders/{id}` and of the
/// updates).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderItemOut<'a> {
    pub order: OrderOut<'a>,
    pub freight: OrderFreightOut<'a>,
    pub pending: PendingOut,
    pub shipping: ShippingOut,
    pub invoice: InvoiceOut<'a>,
    /// The ERPs that took the order (or failed to), one entry each, the latest report.
    pub erp: Vec<ErpOut<'a>>,
    pub erp_length: usize,
    /// Always null: the hub keeps no operator per order.
    pub operator: Option<&'static str>,
    pub customer: CustomerOut<'a>,
    pub address: AddressOut<'a>,
    pub products: Vec<ProductLineOut<'a>>,
    pub products_length: usize,
    /// The products' value: unit value times quantity, summed.
    pub products_total: Amount,
    pub interactions: Vec<InteractionOut<'a>>,
    /// The order's warnings, or null when it has none.
    pub warnings: Option<Vec<&'a str>>,
    /// Always null: the hub keeps no Mercado Livre shipping or qualifications.
    pub mercado_libre: Option<&'static str>,
    pub payments: Vec<PaymentOut<'a>>,
    pub payments_length: usize,
    pub payments_total: Amount,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderOut<'a> {
    /// Every move of the order, newest first; the first has `old` all null.
    pub status_history: Vec<StatusHistoryOut>,
    /// When the order was placed.
    #[schema(format = DateTime)]
    pub date: String,
    /// The order's id at its marketplace: a number when it is one, else the text.
    pub external_id: ExternalId<'a>,
    /// The hub's id of the order.
    pub id: i64,
    /// The marketplace's name, as it pushed the order.
    pub market_place: &'a str,
    /// The order's id at its marketplace (as `externalId`).
    pub market_place_id: ExternalId<'a>,
    /// The position of the order's origin in the document's `order_origin` list, from
    /// 1; null for a marketplace the list does not name.
    pub origin: Option<u8>,
    #[schema(value_type = StatusName)]
    pub status: &'static str,
    #[schema(value_type = Option<SubstatusName>)]
    pub substatus: Option<&'static str>,
    /// An opaque handle of the order (its id in 16 hexadecimal digits).
    pub token: String,
    /// The order's id at its marketplace, always as text.
    pub external_id_alias: &'a str,
    /// What the customer pays: products plus freight minus discount.
    pub total: Amount,
    pub discount: Amount,
}

/// The statuses an order shows.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum StatusName {
    pending,
    payment,
    pickandpack,
    shipped,
    delivery,
    cancelled,
}

/// The substatuses an order shows.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum SubstatusName {
    payment,
    paid,
    separated,
    billed,
    packaged,
    outofstock,
    delivered,
    notdelivered,
}

#[derive(Serialize, ToSchema)]
pub struct StatusHistoryOut {
    pub new: StatusPairOut,
    pub old: StatusPairOut,
    #[schema(format = DateTime)]
    pub date: String,
}

#[derive(Serialize, ToSchema)]
pub struct StatusPairOut {
    #[schema(value_type = Option<SubstatusName>)]
    pub substatus: Option<&'static str>,
    #[schema(value_type = Option<StatusName>)]
    pub status: Option<&'static str>,
}

impl StatusPairOut {
    fn of(state: Option<OrderState>) -> StatusPairOut {
        StatusPairOut {
            substatus: state.and_then(OrderState::substatus),
            status: state.map(OrderState::status),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderFreightOut<'a> {
    /// Always false: the hub keeps no delivery receipt option (AR).
    #[serde(rename = "isAR")]
    pub is_ar: bool,
    /// Always false: the hub keeps no declared value option (VD).
    #[serde(rename = "isVD")]
    pub is_vd: bool,
    /// Always 0.
    pub is_sigep: u8,
    /// The order's Correios tracking codes (`PUT /orders/{id}/tracking`).
    pub tracking: Vec<&'a str>,
    /// Null: the hub keeps no freight service name.
    pub name: Option<&'static str>,
    /// The freight the customer pays.
    pub value: Amount,
    /// Null: the hub keeps no freight service code.
    pub code: Option<&'static str>,
    /// Null: the hub keeps no freight deadline.
    pub deadline: Option<u32>,
}

/// What is missing for the order to be handled without a person looking.
#[derive(Serialize, ToSchema)]
pub struct PendingOut {
    /// A company customer without its state inscription.
    pub document: bool,
    /// No payment, or payments that do not add up to the order's total.
    pub payment: bool,
    /// The order's token, as in `order`.
    pub token: String,
    /// No customer e-mail.
    pub email: bool,
    /// No shipping address, or one without a number.
    pub address: bool,
    /// An ordered SKU the store's catalog does not have.
    pub attribute: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOut {
    /// When the order shipped.
    #[schema(format = DateTime)]
    pub shipped_date: Option<String>,
    /// When it was delivered.
    #[schema(format = DateTime)]
    pub delivered_date: Option<String>,
    /// Null: the hub keeps no shipping origin.
    pub origin: Option<u8>,
    /// Null: not kept.
    #[schema(format = DateTime)]
    pub handled_date: Option<String>,
    /// Null: not kept.
    #[schema(format = DateTime)]
    pub handling_date: Option<String>,
    /// Null: not kept.
    #[schema(format = DateTime)]
    pub estimated_date: Option<String>,
    /// Null: not kept.
    pub packages: Option<u32>,
    /// Null: not kept.
    #[schema(value_type = Option<f64>)]
    pub real_value: Option<Amount>,
}

/// The order's NF-e: its fields null until one is recorded (`PUT /orders/{id}/invoice`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceOut<'a> {
    pub serie: Option<u32>,
    /// The 44-digit access key.
    pub access_key: Option<&'a str>,
    pub number: Option<u64>,
    /// When it was issued.
    #[schema(format = DateTime)]
    pub date: Option<String>,
}

/// An ERP's report on the order (`PUT /orders/{id}/erp`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErpOut<'a> {
    /// Why taking the order failed, if it did.
    pub error_message: Option<&'a str>,
    /// Whether the ERP has the order.
    pub sent: bool,
    /// Whether it reported an error.
    pub error: bool,
    /// When it reported.
    #[schema(format = DateTime)]
    pub sent_date: String,
    /// Which ERP.
    #[serde(rename = "type")]
    #[schema(value_type = super::filter::ErpType)]
    pub erp: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerOut<'a> {
    /// The birth date at midnight UTC, as the document writes it.
    #[schema(format = DateTime)]
    pub birthdate: Option<String>,
    pub cnpj: Option<&'a str>,
    pub cpf: Option<&'a str>,
    pub email: Option<&'a str>,
    /// Null: the hub keeps no customer id.
    pub id: Option<i64>,
    /// The state inscription of a company customer.
    pub ie: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub name: &'a str,
    /// Null: not kept.
    #[serde(rename = "nicknameML")]
    pub nickname_ml: Option<&'static str>,
    pub phone: Vec<PhoneOut<'a>>,
    /// Null: not kept.
    pub rg: Option<&'static str>,
    /// Null: not kept.
    pub status: Option<&'static str>,
    /// `individual` (a CPF) or `company` (a CNPJ).
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneOut<'a> {
    /// The DDD.
    pub area_code: &'a str,
    /// The DDI.
    pub country_code: &'a str,
    pub number_extension: Option<&'static str>,
    pub number: &'a str,
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
}

/// The shipping address; every field null for an order without one.
#[derive(Serialize, ToSchema)]
pub struct AddressOut<'a> {
    /// The complement.
    pub adjunct: Option<&'a str>,
    /// Null: the hub keeps no address id.
    pub id: Option<i64>,
    pub city: Option<&'a str>,
    pub country: Option<&'a str>,
    pub number: Option<&'a str>,
    pub recipient: Option<&'a str>,
    /// The neighbourhood.
    pub region: Option<&'a str>,
    /// The state's acronym (`SP`).
    pub state: Option<&'a str>,
    pub street: Option<&'a str>,
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
    /// The CEP, eight digits.
    pub zip: Option<&'a str>,
}

/// An ordered product.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductLineOut<'a> {
    pub erp_id: Option<&'static str>,
    pub childs_length: u32,
    /// The CFOP the invoice gives this SKU, once invoiced.
    pub cfop: Option<u32>,
    pub image: Option<&'static str>,
    pub kit_id: Option<&'static str>,
    pub sku: &'a str,
    pub product_id: Option<&'static str>,
    pub group_id: Option<&'static str>,
    pub stock_local: Option<&'static str>,
    pub name: &'a str,
    /// The unit value.
    pub value: Amount,
    pub childs: Option<Vec<&'static str>>,
    pub quantity: i64,
    pub attributes: Option<Vec<&'static str>>,
    /// The item's id at the marketplace.
    pub market_place_id: Option<&'a str>,
}

/// A recorded step of the order, worded as the document's examples.
#[derive(Serialize, ToSchema)]
pub struct InteractionOut<'a> {
    pub description: &'a str,
    /// `administration` (the marketplace side) or `api` (the store's system).
    pub origin: &'static str,
    pub action: &'a str,
    #[schema(format = DateTime)]
    pub date: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOut<'a> {
    pub transaction_id: Option<&'a str>,
    pub gateway: Option<&'a str>,
    #[schema(format = DateTime)]
    pub paid_at: Option<String>,
    /// `paid` once the order's payment is approved, `pending` before, `cancelled` for
    /// a cancelled order.
    pub status: &'static str,
    pub gateway_transaction_id: Option<&'static str>,
    pub origin: Option<u8>,
    #[schema(value_type = Option<f64>)]
    pub market_place_fee: Option<Amount>,
    pub operator: Option<&'static str>,
    pub installments: i64,
    pub credit_card: Option<&'static str>,
    pub id: Option<i64>,
    pub substatus: Option<&'static str>,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    pub value: Amount,
    pub bank: Option<&'static str>,
    /// `credit_card`, `boleto`, `pix`, ... as the marketplace named it.
    pub method: &'a str,
}

/// The order's opaque token.
pub fn token(id: i64) -> String {
    format!("{id:016x}")
}

fn history(h: &StateChange) -> StatusHistoryOut {
    StatusHistoryOut {
        new: StatusPairOut::of(Some(h.to)),
        old: StatusPairOut::of(h.from),
        date: zerok_time(h.at),
    }
}

fn customer(c: &Customer) -> CustomerOut<'_> {
    let (cpf, cnpj) = match c.document.kind {
        DocumentKind::Cpf => (Some(c.document.number.as_str()), None),
        DocumentKind::Cnpj => (None, Some(c.document.number.as_str())),
    };
    CustomerOut {
        birthdate: c
            .birth_date
            .as_deref()
            .map(|d| format!("{d}T00:00:00.000Z")),
        cnpj,
        cpf,
        email: c.email.as_deref(),
        id: None,
        ie: c.state_inscription.as_deref(),
        gender: c.gender.as_deref(),
        name: &c.name,
        nickname_ml: None,
        phone: c
            .phones
            .iter()
            .map(|p| PhoneOut {
                area_code: &p.ddd,
                country_code: &p.ddi,
                number_extension: None,
                number: &p.number,
                kind: p.kind.as_deref(),
            })
            .collect(),
        rg: None,
        status: None,
        kind: c.customer_type(),
    }
}

impl<'a> OrderItemOut<'a> {
    pub fn of(view: &'a OrderView) -> OrderItemOut<'a> {
        let o = &view.order;
        let d = &o.data;
        let p = &view.progress;
        let token = token(o.id);
        let pending = |x: Pendency| p.pendencies.contains(&x);
        let address = d.shipping_address.as_ref();
        let cfop_of = |sku: &str| {
            p.invoice
                .as_ref()
                .and_then(|i| i.products.iter().find(|ip| ip.sku == sku))
                .map(|ip| ip.cfop)
        };
        let payment_status = match p.state {
            OrderState::AwaitingPayment => "pending",
            OrderState::Cancelled => "cancelled",
            _ => "paid",
        };
        OrderItemOut {
            order: OrderOut {
                status_history: p.history.iter().rev().map(history).collect(),
                date: zerok_time(d.placed_at),
                external_id: ExternalId(&d.marketplace_order_id),
                id: o.id,
                market_place: &d.channel,
                market_place_id: ExternalId(&d.marketplace_order_id),
                origin: super::origin::origin_number(&d.channel),
                status: p.state.status(),
                substatus: p.state.substatus(),
                token: token.clone(),
                external_id_alias: &d.marketplace_order_id,
                total: Amount(d.total()),
                discount: Amount(d.discount),
            },
            freight: OrderFreightOut {
                is_ar: false,
                is_vd: false,
                is_sigep: 0,
                tracking: p.trackings.iter().map(|t| t.as_str()).collect(),
                name: None,
                value: Amount(d.freight),
                code: None,
                deadline: None,
            },
            pending: PendingOut {
                document: pending(Pendency::Document),
                payment: pending(Pendency::Payment),
                token,
                email: pending(Pendency::Email),
                address: pending(Pendency::Address),
                attribute: pending(Pendency::Attribute),
            },
            shipping: ShippingOut {
                shipped_date: p.shipped_at.map(zerok_time),
                delivered_date: p.delivered_at.map(zerok_time),
                origin: None,
                handled_date: None,
                handling_date: None,
                estimated_date: None,
                packages: None,
                real_value: None,
            },
            invoice: InvoiceOut {
                serie: p.invoice.as_ref().map(|i| i.series),
                access_key: p.invoice.as_ref().map(|i| i.access_key.as_str()),
                number: p.invoice.as_ref().map(|i| i.number),
                date: p.invoice.as_ref().map(|i| zerok_time(i.issued_at)),
            },
            erp: p
                .erp
                .iter()
                .map(|m| ErpOut {
                    error_message: m.error.as_deref(),
                    sent: m.sent,
                    error: m.error.is_some(),
                    sent_date: zerok_time(m.at),
                    erp: &m.erp,
                })
                .collect(),
            erp_length: p.erp.len(),
            operator: None,
            customer: customer(&d.customer),
            address: AddressOut {
                adjunct: address.and_then(|a| a.complement.as_deref()),
                id: None,
                city: address.map(|a| a.city.as_str()),
                country: address.map(|a| a.country.as_str()),
                number: address.and_then(|a| a.number.as_deref()),
                recipient: address.and_then(|a| a.recipient.as_deref()),
                region: address.and_then(|a| a.neighborhood.as_deref()),
                state: address.map(|a| a.state.as_str()),
                street: address.map(|a| a.address.as_str()),
                kind: address.and_then(|a| a.kind.as_deref()),
                zip: address.map(|a| a.zipcode.as_str()),
            },
            products: d
                .items
                .iter()
                .map(|i| ProductLineOut {
                    erp_id: None,
                    childs_length: 0,
                    cfop: cfop_of(&i.sku),
                    image: None,
                    kit_id: None,
                    sku: &i.sku,
                    product_id: None,
                    group_id: None,
                    stock_local: None,
                    name: &i.name,
                    value: Amount(i.unit_price),
                    childs: None,
                    quantity: i.quantity,
                    attributes: None,
                    market_place_id: i.marketplace_item_id.as_deref(),
                })
                .collect(),
            products_length: d.items.len(),
            products_total: Amount(d.items_total()),
            interactions: p
                .interactions
                .iter()
                .rev()
                .map(|i| InteractionOut {
                    description: &i.description,
                    origin: match i.origin {
                        InteractionOrigin::Administration => "administration",
                        InteractionOrigin::Api => "api",
                    },
                    action: &i.action,
                    date: zerok_time(i.at),
                })
                .collect(),
            warnings: (!p.warnings.is_empty())
                .then(|| p.warnings.iter().map(String::as_str).collect()),
            mercado_libre: None,
            payments: d
                .payments
                .iter()
                .map(|pay| PaymentOut {
                    transaction_id: pay.transaction_id.as_deref(),
                    gateway: pay.gateway.as_deref(),
                    paid_at: pay.paid_at.map(zerok_time),
                    status: payment_status,
                    gateway_transaction_id: None,
                    origin: None,
                    market_place_fee: None,
                    operator: None,
                    installments: pay.installments,
                    credit_card: None,
                    id: None,
                    substatus: None,
                    created_at: None,
                    value: Amount(pay.value),
                    bank: None,
                    method: &pay.method,
                })
                .collect(),
            payments_length: d.payments.len(),
            payments_total: Amount(d.payments.iter().map(|x| x.value).sum()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    const KEY: &str = "35150810406561000149550010000349861000108001";

    /// A shipped order of the fixtures' seller, invoiced, tracked and taken by an ERP.
    fn view() -> OrderView {
        let seller = Seller {
            id: "s".into(),
            operator_id: "op".into(),
            name: "Loja".into(),
            document: None,
            created_at: Timestamp(0),
        };
        let mut data = entreposto_store::fixtures::sample_order(&seller, "1234567");
        data.channel = "Mercado Livre".into();
        data.customer.birth_date = Some("1980-01-01".into());
        let placed = data.placed_at;
        let moves = [
            (None, OrderState::AwaitingPayment, "2015-06-27T08:44:11Z"),
            (
                Some(OrderState::AwaitingPayment),
                OrderState::Paid,
                "2015-06-27T08:44:13Z",
            ),
            (
                Some(OrderState::Paid),
                OrderState::Billed,
                "2015-06-30T19:36:49Z",
            ),
            (
                Some(OrderState::Billed),
                OrderState::Shipped,
                "2015-06-30T19:37:03Z",
            ),
        ];
        let (action, description) = entreposto_domain::lifecycle::interaction_wording(
            OrderState::Billed,
            OrderState::Shipped,
            Some("XY123456785BR"),
        );
        OrderView {
            order: Order {
                id: 42,
                data,
                created_at: placed,
                updated_at: placed,
            },
            progress: OrderProgress {
                state: OrderState::Shipped,
                version: 4,
                history: moves
                    .iter()
                    .map(|(from, to, t)| StateChange {
                        from: *from,
                        to: *to,
                        at: at(t),
                    })
                    .collect(),
                interactions: vec![Interaction {
                    description,
                    origin: InteractionOrigin::Api,
                    action,
                    at: at("2015-06-30T19:37:03Z"),
                }],
                invoice: Some(Invoice {
                    series: 1,
                    number: 34986,
                    access_key: NfeAccessKey::parse(KEY).unwrap(),
                    issued_at: at("2015-08-21T03:00:00Z"),
                    value: Cents(51499),
                    products: vec![InvoiceProduct {
                        kind: ProductKind::Simple,
                        sku: "99jjs8".into(),
                        cfop: 6108,
                    }],
                }),
                trackings: vec![TrackingCode::parse("XY123456785BR").unwrap()],
                erp: vec![ErpMark {
                    erp: "bling".into(),
                    sent: true,
                    error: None,
                    at: at("2015-06-28T10:00:00Z"),
                }],
                pendencies: vec![Pendency::Payment],
                warnings: vec![],
                reservation: vec![],
                shipped_at: Some(at("2015-06-30T19:37:03Z")),
                delivered_at: None,
            },
        }
    }

    fn json(v: &OrderView) -> serde_json::Value {
        serde_json::to_value(OrderItemOut::of(v)).unwrap()
    }

    #[test]
    fn every_block_of_the_documents_example() {
        let j = json(&view());
        let blocks = [
            "order",
            "freight",
            "pending",
            "shipping",
            "invoice",
            "erp",
            "erpLength",
            "operator",
            "customer",
            "address",
            "products",
            "productsLength",
            "productsTotal",
            "interactions",
            "warnings",
            "mercadoLibre",
            "payments",
            "paymentsLength",
            "paymentsTotal",
        ];
        let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), blocks.len(), "{keys:?}");
        for b in blocks {
            assert!(j.get(b).is_some(), "{b} missing");
        }
        let o = &j["order"];
        assert_eq!(o["id"], 42);
        assert_eq!(o["externalId"], 1234567);
        assert_eq!(o["marketPlaceId"], 1234567);
        assert_eq!(o["externalIdAlias"], "1234567");
        assert_eq!(o["marketPlace"], "Mercado Livre");
        assert_eq!(o["origin"], 2);
        assert_eq!(o["token"], "000000000000002a");
        assert_eq!(
            (&o["status"], &o["substatus"]),
            (&"shipped".into(), &serde_json::Value::Null)
        );
        assert_eq!(o["total"], 514.99);
        assert_eq!(o["date"], "2023-06-07T00:41:57.000Z");
        let h = o["statusHistory"].as_array().unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h[0]["new"]["status"], "shipped");
        assert_eq!(
            h[0]["old"],
            serde_json::json!({"substatus": "billed", "status": "pickandpack"})
        );
        assert_eq!(h[0]["date"], "2015-06-30T19:37:03.000Z");
        assert_eq!(
            h[3]["old"],
            serde_json::json!({"substatus": null, "status": null})
        );
        assert_eq!(
            h[3]["new"],
            serde_json::json!({"substatus": "payment", "status": "pending"})
        );
        assert_eq!(
            j["freight"]["tracking"],
            serde_json::json!(["XY123456785BR"])
        );
        assert_eq!(j["freight"]["value"], 15.0);
        assert_eq!(j["freight"]["isAR"], false);
        assert_eq!(j["pending"]["payment"], true);
        assert_eq!(j["pending"]["email"], false);
        assert_eq!(j["pending"]["token"], "000000000000002a");
        assert_eq!(j["shipping"]["shippedDate"], "2015-06-30T19:37:03.000Z");
        assert_eq!(j["shipping"]["deliveredDate"], serde_json::Value::Null);
        assert_eq!(
            j["invoice"],
            serde_json::json!({"serie": 1, "accessKey": KEY, "number": 34986, "date": "2015-08-21T03:00:00.000Z"})
        );
        assert_eq!(j["erp"][0]["type"], "bling");
        assert_eq!(j["erp"][0]["sent"], true);
        assert_eq!(j["erp"][0]["error"], false);
        assert_eq!(j["erpLength"], 1);
        let c = &j["customer"];
        assert_eq!(c["cpf"], "52998224725");
        assert_eq!(c["cnpj"], serde_json::Value::Null);
        assert_eq!(c["type"], "individual");
        assert_eq!(c["birthdate"], "1980-01-01T00:00:00.000Z");
        assert_eq!(
            c["phone"][0],
            serde_json::json!({"areaCode": "11", "countryCode": "55", "numberExtension": null, "number": "912345678", "type": "mobile"})
        );
        assert_eq!(j["address"]["zip"], "01310100");
        assert_eq!(j["address"]["region"], "Bela Vista");
        assert_eq!(j["address"]["adjunct"], "ap 12");
        assert_eq!(j["products"][0]["cfop"], 6108);
        assert_eq!(j["products"][0]["value"], 499.99);
        assert_eq!(
            (&j["productsLength"], &j["productsTotal"]),
            (&1.into(), &499.99.into())
        );
        assert_eq!(j["interactions"][0]["action"], "Alteração de status");
        assert_eq!(j["interactions"][0]["origin"], "api");
        assert!(j["interactions"][0]["description"]
            .as_str()
            .unwrap()
            .contains("XY123456785BR"));
        assert_eq!(j["warnings"], serde_json::Value::Null);
        assert_eq!(j["payments"][0]["status"], "paid");
        assert_eq!(j["payments"][0]["method"], "credit_card");
        assert_eq!(
            (&j["paymentsLength"], &j["paymentsTotal"]),
            (&1.into(), &514.99.into())
        );
    }

    #[test]
    fn blocks_stay_present_when_empty() {
        let mut v = view();
        v.progress.invoice = None;
        v.progress.erp.clear();
        v.progress.trackings.clear();
        v.progress.warnings = vec!["CEP fora da área de entrega".into()];
        v.order.data.shipping_address = None;
        v.order.data.marketplace_order_id = "02-1000000004".into();
        v.order.data.channel = "Magalu".into();
        let j = json(&v);
        assert_eq!(
            j["invoice"],
            serde_json::json!({"serie": null, "accessKey": null, "number": null, "date": null})
        );
        assert_eq!(j["erp"], serde_json::json!([]));
        assert_eq!(j["erpLength"], 0);
        assert_eq!(j["freight"]["tracking"], serde_json::json!([]));
        assert_eq!(
            j["warnings"],
            serde_json::json!(["CEP fora da área de entrega"])
        );
        assert!(j["address"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.is_null()));
        assert_eq!(j["order"]["externalId"], "02-1000000004");
        assert_eq!(j["order"]["origin"], serde_json::Value::Null);
        assert_eq!(j["products"][0]["cfop"], serde_json::Value::Null);
    }

    #[test]
    fn the_json_writer_writes_what_serde_json_writes() {
        let v = view();
        let mut fast = Vec::new();
        entreposto_http::json_writer::to_writer(&mut fast, &OrderItemOut::of(&v)).unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            serde_json::to_string(&OrderItemOut::of(&v)).unwrap()
        );
    }
}
