//! Koncili's extract line, every field of the document's, with its names, from a
//! stored line with its order and conciliation ([`LineView`]).
//!
//! Dates are UTC as the document writes them (`2018-01-01T12:00:00.000+0000`), money
//! and percentages JSON numbers (85.5). Where the document's fields have no
//! counterpart in the hub they are derived, and the choice is written on the field:
//! `oi` is the order's id at the hub that pushed it, `internalStatus` repeats
//! `channelStatus` (the hub keeps one status per settlement order), `origin` is the
//! hub that pushed the order (its `hubName`), else the channel.
//! `customerDocumentNumber` is text, so a CPF keeps its leading zeros.

use entreposto_domain::{ExtractType, Situation, Timestamp};
use entreposto_http::body::Amount;
use entreposto_http::openapi::string_enum;
use entreposto_store::LineView;
use serde::Serialize;
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

/// `t` as Koncili writes dates: UTC with milliseconds and `+0000`.
pub fn koncili_time(t: Timestamp) -> String {
    let mut s = t.to_rfc3339_utc();
    // `...000Z`: the zone is the last character.
    s.pop();
    s.push_str("+0000");
    s
}

fn time(t: Option<Timestamp>) -> Option<String> {
    t.map(koncili_time)
}

fn extract_type() -> Object {
    string_enum(ExtractType::ALL.map(ExtractType::as_str), false)
}

fn situation() -> Object {
    string_enum(Situation::ALL.map(Situation::as_str), false)
}

fn status() -> Object {
    string_enum(
        ["INVOICED", "PAID_WAITING_DELIVERY", "CONCLUDED", "CANCELED"],
        true,
    )
}

/// One extract line.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineOut {
    /// The line's id, what `GET /externalapi/orderextract/{id}` and the batches take.
    pub id: i64,
    /// The order's id at the hub that pushed it (`orderIdHubOrigin` as text), else
    /// its `orderCode`; null for a line no known order has.
    pub oi: Option<String>,
    /// The order's status as last pushed.
    #[schema(schema_with = status)]
    pub channel_status: Option<&'static str>,
    /// The same as `channelStatus`: the hub keeps one status per order.
    #[schema(schema_with = status)]
    pub internal_status: Option<&'static str>,
    pub order_code: String,
    #[schema(example = "2018-01-01T12:00:00.000+0000")]
    pub order_date: Option<String>,
    pub paid_date: Option<String>,
    pub invoice_date: Option<String>,
    pub sent_date: Option<String>,
    pub cancel_date: Option<String>,
    /// The marketplace's displayed order id.
    pub order_id: Option<String>,
    /// The hub that pushed the order (`hubName`), else the channel.
    pub origin: Option<String>,
    pub payment_method: Option<String>,
    /// The SALE installment's value this line belongs to.
    pub plot_value: Option<Amount>,
    /// What the customer paid for the order.
    pub total_value: Option<Amount>,
    pub plots_quantity: Option<u32>,
    pub plot_number: u32,
    #[schema(schema_with = extract_type)]
    pub extract_type: &'static str,
    /// What is expected (zero for a cancelled order); null when nothing was expected
    /// for a released line (an unknown order, a chargeback).
    pub expected_value: Option<Amount>,
    /// The sum of every release on the line; null until the first.
    pub released_value: Option<Amount>,
    pub expected_percentual_comission: Option<f64>,
    pub released_percentual_comission: Option<f64>,
    pub expected_date: Option<String>,
    /// The latest release's date.
    pub released_date: Option<String>,
    #[schema(schema_with = situation)]
    pub situation: &'static str,
    /// Whether the situation is `CONCILIED`.
    pub concilied: bool,
    /// Why the line is in its situation, in words finance reads; "OK" when equal.
    pub observation: Option<String>,
    /// The conciliation (loaded statement) that last released on the line.
    pub conciliation_id: Option<i64>,
    pub channel: String,
    #[serde(rename = "resolvedInERP")]
    pub resolved_in_erp: bool,
    /// The hub's own order id, for orders of the hub's order lifecycle.
    pub order_id_hub_origin: Option<i64>,
    pub account_name: Option<String>,
    pub invoice_number: Option<String>,
    pub customer_name: Option<String>,
    pub customer_document_number: Option<String>,
    pub conciliation_init_date: Option<String>,
    pub conciliation_end_date: Option<String>,
    pub conciliation_close_date: Option<String>,
    /// Released short of expected, in parts (or one) that do not add up yet.
    pub partial_concilied: bool,
    /// The first expected value, kept when a later change of the order moved it.
    pub original_value: Option<Amount>,
}

/// Room for one rendered line, so a page is written without regrowing its buffer.
pub const LINE_BYTES: usize = 1536;

impl LineOut {
    pub fn of(v: &LineView) -> LineOut {
        let l = &v.line;
        let o = v.order.as_ref();
        let c = v.conciliation.as_ref();
        let status = o.map(|o| o.status.as_str());
        LineOut {
            id: l.id,
            oi: o.map(|o| {
                o.hub_order_id
                    .map_or_else(|| o.order_code.clone(), |id| id.to_string())
            }),
            channel_status: status,
            internal_status: status,
            order_code: l.key.order_code.clone(),
            order_date: o.map(|o| koncili_time(o.ordered_at)),
            paid_date: time(o.and_then(|o| o.paid_at)),
            invoice_date: time(o.and_then(|o| o.invoiced_at)),
            sent_date: time(o.and_then(|o| o.sent_at)),
            cancel_date: time(o.and_then(|o| o.cancelled_at)),
            order_id: o.map(|o| o.order_id.clone()),
            origin: Some(
                o.and_then(|o| o.hub_name.clone())
                    .unwrap_or_else(|| l.channel.clone()),
            ),
            payment_method: o.and_then(|o| o.payment_method().map(str::to_string)),
            plot_value: l.plot_value.map(Amount),
            total_value: l.total_value.map(Amount),
            plots_quantity: l.plots_quantity,
            plot_number: l.key.plot_number,
            extract_type: l.key.kind.as_str(),
            expected_value: l.expected_value.map(Amount),
            released_value: l.released_value.map(Amount),
            expected_percentual_comission: l.expected_percent.map(|r| r.to_decimal()),
            released_percentual_comission: l.released_percent.map(|r| r.to_decimal()),
            expected_date: time(l.expected_date),
            released_date: time(l.released_date),
            situation: l.situation.as_str(),
            concilied: l.situation == Situation::Concilied,
            observation: l.observation.clone(),
            conciliation_id: l.conciliation_id,
            channel: l.channel.clone(),
            resolved_in_erp: l.resolved_in_erp,
            order_id_hub_origin: o.and_then(|o| o.hub_order_id),
            account_name: o.and_then(|o| o.account_name.clone()),
            invoice_number: o.and_then(|o| o.invoice_number.clone()),
            customer_name: o.map(|o| o.customer_name.clone()),
            customer_document_number: o.and_then(|o| o.customer_document.clone()),
            conciliation_init_date: c.map(|c| koncili_time(c.init_date)),
            conciliation_end_date: c.map(|c| koncili_time(c.end_date)),
            conciliation_close_date: time(c.and_then(|c| c.close_date)),
            partial_concilied: l.partial,
            original_value: l.original_value.map(Amount),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_the_document_writes_them() {
        let t = Timestamp::parse("2018-01-01T12:00:00.000+0000").unwrap();
        assert_eq!(koncili_time(t), "2018-01-01T12:00:00.000+0000");
        let t = Timestamp::parse("2018-02-01T00:00:00.123-03:00").unwrap();
        assert_eq!(koncili_time(t), "2018-02-01T03:00:00.123+0000");
    }
}
