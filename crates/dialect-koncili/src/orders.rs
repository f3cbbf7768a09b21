//! The orders integrators push to Koncili (`POST` and `PUT /externalapi/order`, the
//! body WIRE-NOTES records), their removal, and the order's installments as `GET
//! /order/{orderCode}/{channelName}` answers them.
//!
//! A push carries the whole order: its items and payments replace what was pushed
//! before (`POST` and `PUT` are the same upsert; clients use either). Money is read
//! exactly from the JSON number's text; dates are ISO 8601 (zone-less is Brasília
//! time). The body's shape is checked here, naming the field in Koncili's spelling;
//! the rules of an order (which statuses are reconciled, quantities, installments)
//! are the domain's, and the lines it produces the application layer's. Every answer
//! is the order with its installments, as `GET /order/...` shows it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use entreposto_domain::{
    Document, FieldError, Scope, SettlementItem, SettlementOrder, SettlementPayment,
    SettlementStatus, Timestamp,
};
use entreposto_http::body::{Amount, JsonBody, Text};
use entreposto_http::error::not_found_with;
use entreposto_http::reply::SizedJson;
use entreposto_http::{ApiError, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::line::{LineOut, LINE_BYTES};
use crate::{Koncili, Result, SellerAuth};

/// The customer of a pushed order.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerIn {
    pub name: Option<String>,
    /// CPF or CNPJ, as text or a number.
    pub document_number: Option<Text>,
}

/// One item of a pushed order.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemIn {
    /// The marketplace's item id.
    pub id_in_marketplace: Option<Text>,
    /// The seller's SKU.
    pub code: Text,
    pub quantity: i64,
    /// The unit's price in reais (`285.00`).
    pub unit_value: Amount,
    pub freight_value: Option<Amount>,
    /// When the item was sent (ISO 8601).
    #[schema(schema_with = date_time)]
    pub send_date: Option<String>,
    /// An extension: the item's category, for a channel's commission rate by category.
    pub category: Option<String>,
}

/// One payment of a pushed order.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentIn {
    /// `BILLET`, `CREDIT_CARD`, ... as the marketplace names it.
    pub method: Option<String>,
    /// When it was paid (ISO 8601).
    #[schema(schema_with = date_time)]
    pub date: Option<String>,
    pub value: Amount,
    /// Installments, 1 to 24 (1 when absent).
    pub installment_quantity: Option<i64>,
}

/// `POST`/`PUT /externalapi/order`: an order from INVOICED on, all its components.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderIn {
    /// The marketplace's order code, the order's key within the channel.
    pub order_code: Text,
    /// The marketplace's displayed order id (`01-23456789`); `orderCode` when absent.
    pub order_id: Option<Text>,
    #[schema(schema_with = date_time_required)]
    pub order_date: String,
    /// `INVOICED`, `PAID_WAITING_DELIVERY`, `CONCLUDED` or `CANCELED`; earlier statuses
    /// are refused (reconciliation starts at the invoice).
    pub order_status: String,
    /// The hub that pushes the order.
    pub hub_name: Option<String>,
    /// The seller's account at the marketplace.
    pub account_name: Option<String>,
    /// The channel (marketplace) name, as the extract's `channel`.
    pub channel_name: String,
    /// The order's freight; the items' freight summed when absent.
    pub total_freight_value: Option<Amount>,
    pub invoice_number: Option<Text>,
    #[schema(schema_with = date_time)]
    pub invoice_date: Option<String>,
    /// What the customer paid, freight included.
    pub total_net_value: Amount,
    pub customer: Option<CustomerIn>,
    #[serde(default)]
    pub items: Vec<ItemIn>,
    #[serde(default)]
    pub payments: Vec<PaymentIn>,
}

fn date_time() -> utoipa::openapi::schema::Object {
    entreposto_http::openapi::date_time_text(true)
}

fn date_time_required() -> utoipa::openapi::schema::Object {
    entreposto_http::openapi::date_time_text(false)
}

/// A date field, named on failure.
fn when(raw: &str, field: &str) -> std::result::Result<Timestamp, FieldError> {
    Timestamp::parse(raw).map_err(|e| FieldError::new(field, e.message))
}

fn when_opt(raw: Option<&str>, field: &str) -> std::result::Result<Option<Timestamp>, FieldError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| when(s, field))
        .transpose()
}

/// Text that may be absent or blank: `None` then.
fn given(t: Option<Text>) -> Option<String> {
    t.map(|t| t.0.trim().to_string()).filter(|s| !s.is_empty())
}

/// The customer's CPF or CNPJ in the bare form documents are stored in (the domain
/// checks its digits). Sent as a JSON number it lost its leading zeros, so digits
/// alone are padded back to 11 (a CPF) or, past 11, to 14 (a CNPJ).
fn customer_document(t: Option<Text>) -> Option<String> {
    let raw = given(t)?;
    let digits = raw.bytes().all(|b| b.is_ascii_digit());
    Some(match raw.len() {
        n if digits && n < 11 => format!("{raw:0>11}"),
        n if digits && n > 11 && n < 14 => format!("{raw:0>14}"),
        _ => Document::bare(&raw),
    })
}

fn required(text: &str, field: &str) -> std::result::Result<String, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    Ok(t.to_string())
}

impl OrderIn {
    /// The settlement order for `scope`'s seller. `now` stamps the cancellation of a
    /// `CANCELED` order (the body carries no cancellation date).
    pub fn order(
        self,
        scope: &Scope,
        now: Timestamp,
    ) -> std::result::Result<SettlementOrder, FieldError> {
        let seller_id = scope
            .seller_id
            .clone()
            .ok_or_else(|| FieldError::new("gumgaToken", "names no seller"))?;
        let order_code = required(&self.order_code.0, "orderCode")?;
        let channel = required(&self.channel_name, "channelName")?;
        let status = SettlementStatus::parse(self.order_status.trim())
            .map_err(|e| FieldError::new("orderStatus", e.message))?;
        let ordered_at = when(&self.order_date, "orderDate")?;
        let invoiced_at = when_opt(self.invoice_date.as_deref(), "invoiceDate")?;
        let mut items = Vec::with_capacity(self.items.len());
        for (i, it) in self.items.into_iter().enumerate() {
            let field = |f: &str| format!("items[{i}].{f}");
            items.push(SettlementItem {
                marketplace_item_id: given(it.id_in_marketplace),
                sku: required(&it.code.0, &field("code"))?,
                quantity: it.quantity,
                unit_value: it.unit_value.0,
                freight: it.freight_value.map(|a| a.0).unwrap_or_default(),
                category: it
                    .category
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty()),
                sent_at: when_opt(it.send_date.as_deref(), &field("sendDate"))?,
            });
        }
        let mut payments = Vec::with_capacity(self.payments.len());
        for (i, p) in self.payments.into_iter().enumerate() {
            let field = |f: &str| format!("payments[{i}].{f}");
            let installments = match p.installment_quantity {
                None => 1,
                Some(n) => u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=24).contains(n))
                    .ok_or_else(|| {
                        FieldError::new(
                            field("installmentQuantity"),
                            format!("{n} is not a number of installments (1 to 24)"),
                        )
                    })?,
            };
            payments.push(SettlementPayment {
                method: p
                    .method
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "UNKNOWN".into()),
                paid_at: when_opt(p.date.as_deref(), &field("date"))?,
                value: p.value.0,
                installments,
            });
        }
        let freight = match self.total_freight_value {
            Some(a) => a.0,
            None => items.iter().fold(entreposto_domain::Cents(0), |sum, i| {
                entreposto_domain::Cents(sum.0 + i.freight.0)
            }),
        };
        let customer = self.customer;
        Ok(SettlementOrder {
            operator_id: scope.operator_id.clone(),
            seller_id,
            channel,
            order_id: given(self.order_id).unwrap_or_else(|| order_code.clone()),
            order_code,
            hub_order_id: None,
            hub_name: self
                .hub_name
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
            account_name: self
                .account_name
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty()),
            status,
            ordered_at,
            paid_at: payments.iter().filter_map(|p| p.paid_at).min(),
            invoiced_at,
            invoice_number: given(self.invoice_number),
            sent_at: items.iter().filter_map(|i| i.sent_at).min(),
            delivered_at: None,
            cancelled_at: (status == SettlementStatus::Canceled).then_some(now),
            customer_name: customer
                .as_ref()
                .and_then(|c| c.name.as_deref())
                .map(str::trim)
                .unwrap_or_default()
                .to_string(),
            customer_document: customer_document(customer.and_then(|c| c.document_number)),
            total: self.total_net_value.0,
            freight,
            items,
            payments,
        })
    }
}

/// The order with its installments (`GET /order/{orderCode}/{channelName}`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderOut {
    pub order_code: String,
    pub channel_name: String,
    /// The order's extract lines, by type then installment.
    pub installments: Vec<LineOut>,
}

/// Koncili's answer envelope for an order.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderAnswer {
    /// 200.
    pub status: u16,
    /// `OK`.
    pub message: &'static str,
    pub response_object: OrderOut,
}

/// The order's lines rendered in the answer envelope; 404 when the channel has no
/// line of the order.
async fn answer(state: &AppState, scope: &Scope, code: &str, channel: &str) -> Result<Response> {
    let views = state
        .store
        .order_extract(scope, channel, code, None)
        .await
        .map_err(not_found_with(|| no_order(code, channel)))?;
    if views.is_empty() {
        return Err(ApiError::NotFound(no_order(code, channel)).into());
    }
    Ok(envelope(code, channel, &views))
}

fn envelope(code: &str, channel: &str, views: &[entreposto_store::LineView]) -> Response {
    SizedJson(
        OrderAnswer {
            status: 200,
            message: "OK",
            response_object: OrderOut {
                order_code: code.to_string(),
                channel_name: channel.to_string(),
                installments: views.iter().map(LineOut::of).collect(),
            },
        },
        LINE_BYTES * views.len() + 256,
    )
    .into_response()
}

pub(crate) fn no_order(code: &str, channel: &str) -> String {
    format!("no order '{code}' in channel '{channel}'")
}

async fn push(state: AppState, scope: Scope, body: OrderIn) -> Result<Response> {
    let order = body.order(&scope, state.app.now())?;
    let (code, channel) = (order.order_code.clone(), order.channel.clone());
    state.app.push_settlement(&scope, order).await?;
    answer(&state, &scope, &code, &channel).await
}

/// `POST /externalapi/order`.
#[utoipa::path(post, path = "/externalapi/order", request_body = OrderIn,
    responses((status = 200, description = "The order is stored (a new one, or replacing what was pushed before for its `orderCode` and `channelName`); its lines as they are now", body = OrderAnswer),
              (status = 422, description = "A field is invalid, naming it: a status below INVOICED (with the reason), a quantity that is not positive, an amount that is not whole centavos, installments outside 1 to 24, an invalid date")))]
pub async fn post_order(
    auth: SellerAuth,
    State(state): State<AppState>,
    JsonBody(body, ..): JsonBody<OrderIn, Koncili>,
) -> Result<Response> {
    push(state, auth.scope, body).await
}

/// `PUT /externalapi/order`: the same upsert as `POST`.
#[utoipa::path(put, path = "/externalapi/order", request_body = OrderIn,
    responses((status = 200, description = "The order is stored, as with `POST`; its lines as they are now (a cancelled order's at zero, each keeping its `originalValue`)", body = OrderAnswer),
              (status = 422, description = "A field is invalid, naming it")))]
pub async fn put_order(
    auth: SellerAuth,
    State(state): State<AppState>,
    JsonBody(body, ..): JsonBody<OrderIn, Koncili>,
) -> Result<Response> {
    push(state, auth.scope, body).await
}

/// `GET /externalapi/order/{orderCode}/{channelName}`.
#[utoipa::path(get, path = "/externalapi/order/{orderCode}/{channelName}",
    params(("orderCode" = String, Path, description = "The marketplace's order code"),
           ("channelName" = String, Path, description = "The channel's name")),
    responses((status = 200, description = "The order's installments: its extract lines", body = OrderAnswer),
              (status = 404, description = "The channel has no line of this order")))]
pub async fn order_installments(
    auth: SellerAuth,
    State(state): State<AppState>,
    Path((code, channel)): Path<(String, String)>,
) -> Result<Response> {
    answer(&state, &auth.scope, &code, &channel).await
}

/// `GET /order/{orderCode}/{channelName}`, as the document names it.
#[utoipa::path(get, path = "/order/{orderCode}/{channelName}",
    params(("orderCode" = String, Path, description = "The marketplace's order code"),
           ("channelName" = String, Path, description = "The channel's name")),
    responses((status = 200, description = "The order's installments: its extract lines", body = OrderAnswer),
              (status = 404, description = "The channel has no line of this order")))]
pub async fn order_installments_root(
    auth: SellerAuth,
    State(state): State<AppState>,
    Path((code, channel)): Path<(String, String)>,
) -> Result<Response> {
    answer(&state, &auth.scope, &code, &channel).await
}

/// `DELETE /externalapi/order/{orderCode}/{channelName}`.
#[utoipa::path(delete, path = "/externalapi/order/{orderCode}/{channelName}",
    params(("orderCode" = String, Path, description = "The marketplace's order code"),
           ("channelName" = String, Path, description = "The channel's name")),
    responses((status = 200, description = "The order is gone; `installments` lists the lines that stay because something was released on them, now with nothing expected", body = OrderAnswer),
              (status = 404, description = "The channel has no such order")))]
pub async fn delete_order(
    auth: SellerAuth,
    State(state): State<AppState>,
    Path((code, channel)): Path<(String, String)>,
) -> Result<Response> {
    state
        .app
        .delete_settlement(&auth.scope, &channel, &code)
        .await
        .map_err(not_found_with(|| no_order(&code, &channel)))?;
    let kept = state
        .store
        .order_extract(&auth.scope, &channel, &code, None)
        .await?;
    Ok(envelope(&code, &channel, &kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(edit: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
        let mut v = serde_json::json!({
            "orderCode": "012345678901", "orderId": "01-23456789",
            "orderDate": "2018-01-01T12:00:00.000+0000", "orderStatus": "INVOICED",
            "hubName": "HUB", "accountName": "marketplace_account", "channelName": "B2W",
            "totalFreightValue": 0, "invoiceNumber": "002569",
            "invoiceDate": "2018-01-02T12:00:00.000+0000", "totalNetValue": 570,
            "customer": {"name": "João da Silva", "documentNumber": 52998224725_i64},
            "items": [{"idInMarketplace": "X1", "code": 4321, "quantity": 1, "unitValue": 570,
                "freightValue": 0, "sendDate": "2018-01-03T12:00:00.000+0000"}],
            "payments": [{"method": "BILLET", "date": "2018-01-02T10:00:00.000+0000",
                "value": 570, "installmentQuantity": 1}]
        });
        edit(&mut v);
        v
    }

    fn parse(v: serde_json::Value) -> std::result::Result<OrderIn, ApiError> {
        entreposto_http::body::parse_json(&serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn the_wire_notes_body_reads_exactly() {
        let scope = Scope::seller("op", "s1");
        let o = parse(body(|_| {}))
            .unwrap()
            .order(&scope, Timestamp(0))
            .unwrap();
        assert_eq!(o.seller_id, "s1");
        assert_eq!(o.total.0, 57000);
        assert_eq!(o.items[0].sku, "4321");
        assert_eq!(o.customer_document.as_deref(), Some("52998224725"));
        assert_eq!(o.invoice_number.as_deref(), Some("002569"));
        assert_eq!(
            o.paid_at,
            Some(Timestamp::parse("2018-01-02T10:00:00Z").unwrap())
        );
        assert_eq!(o.cancelled_at, None);
    }

    #[test]
    fn mistakes_name_the_koncili_field() {
        let scope = Scope::seller("op", "s1");
        let field = |edit: fn(&mut serde_json::Value)| -> String {
            match parse(body(edit)) {
                Err(e) => e.field().unwrap().to_string(),
                Ok(o) => o.order(&scope, Timestamp(0)).unwrap_err().field,
            }
        };
        assert_eq!(
            field(|v| v["items"][0]["unitValue"] = 1.005.into()),
            "items[0].unitValue"
        );
        assert_eq!(field(|v| v["orderDate"] = "ontem".into()), "orderDate");
        assert_eq!(field(|v| v["orderCode"] = " ".into()), "orderCode");
        // Rules of the settlement order itself are the domain's, checked on what the
        // body reads as.
        let refused = |v: serde_json::Value| {
            let o = parse(v).unwrap().order(&scope, Timestamp(0)).unwrap();
            o.validate().unwrap_err().field
        };
        let mut v = body(|_| {});
        v["orderCode"] = "9".repeat(101).into();
        assert_eq!(refused(v), "orderCode");
        for bad in [
            serde_json::json!("52998224726"),
            serde_json::json!("abc"),
            serde_json::json!(578654448_i64),
        ] {
            let mut v = body(|_| {});
            v["customer"]["documentNumber"] = bad.clone();
            assert_eq!(refused(v), "customer.documentNumber", "{bad}");
        }
        // A number lost its leading zero: padded back, it is a valid CPF.
        let mut v = body(|_| {});
        v["customer"]["documentNumber"] = serde_json::json!(1_234_567_890_i64);
        let o = parse(v).unwrap().order(&scope, Timestamp(0)).unwrap();
        assert_eq!(o.customer_document.as_deref(), Some("01234567890"));
        assert_eq!(field(|v| v["channelName"] = "".into()), "channelName");
        assert_eq!(
            field(|v| v["payments"][0]["installmentQuantity"] = 0.into()),
            "payments[0].installmentQuantity"
        );
        assert_eq!(
            field(|v| v["items"][0]["sendDate"] = "x".into()),
            "items[0].sendDate"
        );
        assert_eq!(
            field(|v| v["totalNetValue"] = "570".into()),
            "totalNetValue"
        );
        assert_eq!(
            field(|v| {
                v.as_object_mut().unwrap().remove("orderCode");
            }),
            "orderCode"
        );
    }
}
