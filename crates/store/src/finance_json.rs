//! The stored form of reconciliation data, the same on every backend: the words the
//! tables hold for a line's type and situation and an order's status, the JSON of a
//! channel's terms, and a settlement order split into the columns listings and
//! renderings read and the JSON of the rest.
//!
//! The words are the storage's own, spelled as Koncili spells them (`SALE`,
//! `CONCILIED`, `PAID_WAITING_DELIVERY`) but defined here, so what is on disk never
//! moves when the wire's vocabulary is reworded. The domain's types carry no serde
//! layout; the mirrors below are the stored shape, key for key, with short keys
//! because every order holds one: money is centavos, rates hundredths of a percent
//! and times UTC microseconds, as integers. JSON names its keys: a new field is added
//! with `#[serde(default)]` and needs no version; renaming one is a migration.

use entreposto_domain::{
    CategoryRate, Cents, ChannelTerms, CommissionRule, ExtractType, PaymentTerms, Rate,
    SettlementItem, SettlementOrder, SettlementPayment, SettlementStatus, Situation, TermsBase,
    Timestamp, Tolerance,
};
use serde::{Deserialize, Serialize};

/// The stored word of a line's type (`extract_lines.kind`).
pub fn kind_code(kind: ExtractType) -> &'static str {
    match kind {
        ExtractType::Sale => "SALE",
        ExtractType::Comission => "COMISSION",
        ExtractType::Ship => "SHIP",
    }
}

pub fn kind_from_code(code: &str) -> Result<ExtractType, String> {
    ExtractType::ALL
        .into_iter()
        .find(|k| kind_code(*k) == code)
        .ok_or_else(|| format!("unknown extract line type '{code}'"))
}

/// The stored word of a line's situation (`extract_lines.situation`).
pub fn situation_code(s: Situation) -> &'static str {
    match s {
        Situation::Waiting => "WAITING",
        Situation::Concilied => "CONCILIED",
        Situation::Divergent => "DIVERGENT",
    }
}

pub fn situation_from_code(code: &str) -> Result<Situation, String> {
    Situation::ALL
        .into_iter()
        .find(|s| situation_code(*s) == code)
        .ok_or_else(|| format!("unknown line situation '{code}'"))
}

const STATUSES: [SettlementStatus; 4] = [
    SettlementStatus::Invoiced,
    SettlementStatus::PaidWaitingDelivery,
    SettlementStatus::Concluded,
    SettlementStatus::Canceled,
];

/// The stored word of a settlement order's status (`settlement_orders.status`).
pub fn status_code(s: SettlementStatus) -> &'static str {
    match s {
        SettlementStatus::Invoiced => "INVOICED",
        SettlementStatus::PaidWaitingDelivery => "PAID_WAITING_DELIVERY",
        SettlementStatus::Concluded => "CONCLUDED",
        SettlementStatus::Canceled => "CANCELED",
    }
}

pub fn status_from_code(code: &str) -> Result<SettlementStatus, String> {
    STATUSES
        .into_iter()
        .find(|s| status_code(*s) == code)
        .ok_or_else(|| format!("unknown settlement status '{code}'"))
}

/// The JSON of a channel's terms (`channel_terms.terms`); the channel is a column.
pub fn encode_terms(t: &ChannelTerms) -> String {
    let j = TermsJson {
        rate: t.commission.rate.0,
        cats: t
            .commission
            .by_category
            .iter()
            .map(|c| CatJson {
                cat: c.category.clone(),
                rate: c.rate.0,
            })
            .collect(),
        per_order: t.commission.fixed_per_order.0,
        per_item: t.commission.fixed_per_item.0,
        base: match t.payment.base {
            TermsBase::Invoice => "invoice".into(),
            TermsBase::Delivery => "delivery".into(),
        },
        days: t.payment.days,
        tol: t.tolerance.amount.0,
        tol_pct: t.tolerance.percent.0,
    };
    serde_json::to_string(&j).expect("terms always serialize")
}

/// The terms stored for `channel` as `json`.
pub fn decode_terms(channel: &str, json: &str) -> Result<ChannelTerms, String> {
    let j: TermsJson =
        serde_json::from_str(json).map_err(|e| format!("corrupt channel terms: {e}"))?;
    let base = match j.base.as_str() {
        "invoice" => TermsBase::Invoice,
        "delivery" => TermsBase::Delivery,
        other => return Err(format!("unknown terms base '{other}'")),
    };
    Ok(ChannelTerms {
        channel: channel.to_string(),
        commission: CommissionRule {
            rate: Rate(j.rate),
            by_category: j
                .cats
                .into_iter()
                .map(|c| CategoryRate {
                    category: c.cat,
                    rate: Rate(c.rate),
                })
                .collect(),
            fixed_per_order: Cents(j.per_order),
            fixed_per_item: Cents(j.per_item),
        },
        payment: PaymentTerms { base, days: j.days },
        tolerance: Tolerance {
            amount: Cents(j.tol),
            percent: Rate(j.tol_pct),
        },
    })
}

#[derive(Serialize, Deserialize)]
struct TermsJson {
    rate: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cats: Vec<CatJson>,
    #[serde(default)]
    per_order: i64,
    #[serde(default)]
    per_item: i64,
    base: String,
    days: u32,
    #[serde(default)]
    tol: i64,
    #[serde(default)]
    tol_pct: i64,
}

#[derive(Serialize, Deserialize)]
struct CatJson {
    cat: String,
    rate: i64,
}

/// A settlement order as a row of `settlement_orders`: its key, the columns a backend
/// reads without the body (rendering a line's order header, looking an order up by its
/// hub id), and `body`, the JSON of everything else. The same struct goes both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub operator_id: String,
    pub seller_id: String,
    pub channel: String,
    pub order_code: String,
    pub order_id: String,
    pub hub_order_id: Option<i64>,
    /// [`status_code`] of the status.
    pub status: String,
    pub ordered_at: i64,
    pub invoiced_at: Option<i64>,
    pub total: i64,
    pub body: String,
}

/// The row to store for `o`.
pub fn encode_settlement(o: &SettlementOrder) -> SettlementRow {
    let body = OrderJson {
        hub: o.hub_name.clone(),
        account: o.account_name.clone(),
        paid: o.paid_at.map(|t| t.0),
        nf: o.invoice_number.clone(),
        sent: o.sent_at.map(|t| t.0),
        delivered: o.delivered_at.map(|t| t.0),
        cancelled: o.cancelled_at.map(|t| t.0),
        customer: o.customer_name.clone(),
        doc: o.customer_document.clone(),
        freight: o.freight.0,
        items: o.items.iter().map(ItemJson::from).collect(),
        pays: o.payments.iter().map(PayJson::from).collect(),
    };
    SettlementRow {
        operator_id: o.operator_id.clone(),
        seller_id: o.seller_id.clone(),
        channel: o.channel.clone(),
        order_code: o.order_code.clone(),
        order_id: o.order_id.clone(),
        hub_order_id: o.hub_order_id,
        status: status_code(o.status).to_string(),
        ordered_at: o.ordered_at.0,
        invoiced_at: o.invoiced_at.map(|t| t.0),
        total: o.total.0,
        body: serde_json::to_string(&body).expect("a settlement order always serializes"),
    }
}

/// The order stored as `row`.
pub fn decode_settlement(row: SettlementRow) -> Result<SettlementOrder, String> {
    let b: OrderJson = serde_json::from_str(&row.body)
        .map_err(|e| format!("order {}: corrupt settlement body: {e}", row.order_code))?;
    Ok(SettlementOrder {
        status: status_from_code(&row.status)?,
        operator_id: row.operator_id,
        seller_id: row.seller_id,
        channel: row.channel,
        order_code: row.order_code,
        order_id: row.order_id,
        hub_order_id: row.hub_order_id,
        hub_name: b.hub,
        account_name: b.account,
        ordered_at: Timestamp(row.ordered_at),
        paid_at: b.paid.map(Timestamp),
        invoiced_at: row.invoiced_at.map(Timestamp),
        invoice_number: b.nf,
        sent_at: b.sent.map(Timestamp),
        delivered_at: b.delivered.map(Timestamp),
        cancelled_at: b.cancelled.map(Timestamp),
        customer_name: b.customer,
        customer_document: b.doc,
        total: Cents(row.total),
        freight: Cents(b.freight),
        items: b.items.into_iter().map(SettlementItem::from).collect(),
        payments: b.pays.into_iter().map(SettlementPayment::from).collect(),
    })
}

#[derive(Serialize, Deserialize)]
struct OrderJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivered: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancelled: Option<i64>,
    customer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    doc: Option<String>,
    #[serde(default)]
    freight: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    items: Vec<ItemJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pays: Vec<PayJson>,
}

#[derive(Serialize, Deserialize)]
struct ItemJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mkt: Option<String>,
    sku: String,
    qty: i64,
    unit: i64,
    #[serde(default)]
    freight: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct PayJson {
    method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paid: Option<i64>,
    value: i64,
    plots: u32,
}

impl From<&SettlementItem> for ItemJson {
    fn from(i: &SettlementItem) -> ItemJson {
        ItemJson {
            mkt: i.marketplace_item_id.clone(),
            sku: i.sku.clone(),
            qty: i.quantity,
            unit: i.unit_value.0,
            freight: i.freight.0,
            cat: i.category.clone(),
            sent: i.sent_at.map(|t| t.0),
        }
    }
}

impl From<ItemJson> for SettlementItem {
    fn from(i: ItemJson) -> SettlementItem {
        SettlementItem {
            marketplace_item_id: i.mkt,
            sku: i.sku,
            quantity: i.qty,
            unit_value: Cents(i.unit),
            freight: Cents(i.freight),
            category: i.cat,
            sent_at: i.sent.map(Timestamp),
        }
    }
}

impl From<&SettlementPayment> for PayJson {
    fn from(p: &SettlementPayment) -> PayJson {
        PayJson {
            method: p.method.clone(),
            paid: p.paid_at.map(|t| t.0),
            value: p.value.0,
            plots: p.installments,
        }
    }
}

impl From<PayJson> for SettlementPayment {
    fn from(p: PayJson) -> SettlementPayment {
        SettlementPayment {
            method: p.method,
            paid_at: p.paid.map(Timestamp),
            value: Cents(p.value),
            installments: p.plots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{full_channel_terms, full_settlement_order};

    #[test]
    fn terms_read_back_as_written() {
        let t = full_channel_terms("Magalu");
        assert_eq!(decode_terms("Magalu", &encode_terms(&t)).unwrap(), t);
    }

    #[test]
    fn a_full_settlement_order_reads_back_as_written() {
        let o = full_settlement_order("op", "s", "Magalu", "A-1");
        assert_eq!(decode_settlement(encode_settlement(&o)).unwrap(), o);
        let row = encode_settlement(&o);
        assert_eq!(row.status, "CONCLUDED");
    }

    #[test]
    fn a_bare_settlement_order_has_a_small_body() {
        let mut o = full_settlement_order("op", "s", "Magalu", "A-1");
        o.hub_name = None;
        o.account_name = None;
        o.paid_at = None;
        o.invoice_number = None;
        o.sent_at = None;
        o.delivered_at = None;
        o.cancelled_at = None;
        o.customer_document = None;
        o.freight = Cents(0);
        o.items.clear();
        o.payments.clear();
        o.status = SettlementStatus::Invoiced;
        let row = encode_settlement(&o);
        assert_eq!(row.body, r#"{"customer":"Maria Souza","freight":0}"#);
        assert_eq!(decode_settlement(row).unwrap(), o);
    }

    /// Every type, situation and status has its own stored word, and it reads back.
    #[test]
    fn every_word_reads_back_and_strangers_are_refused() {
        for k in ExtractType::ALL {
            assert_eq!(kind_from_code(kind_code(k)), Ok(k));
        }
        for s in Situation::ALL {
            assert_eq!(situation_from_code(situation_code(s)), Ok(s));
        }
        for s in STATUSES {
            assert_eq!(status_from_code(status_code(s)), Ok(s));
        }
        assert!(kind_from_code("TRANSFER").unwrap_err().contains("TRANSFER"));
        assert!(situation_from_code("waiting").is_err());
        assert!(status_from_code("NEW").is_err());
        assert!(decode_terms("x", "{").unwrap_err().contains("terms"));
        let mut row = encode_settlement(&full_settlement_order("op", "s", "M", "A-1"));
        row.body = "[]".into();
        assert!(decode_settlement(row).unwrap_err().contains("A-1"));
    }
}
