//! 00K's notifications, "PASSIVA": the store's own system tells the hub what changed
//! there (`POST /notifications`), one notification or an array of them, and the hub
//! applies each through the same use cases as the catalog's and the orders'
//! endpoints ([`entreposto_app::notifications`]). The same notification shape is
//! what a store's change list serves for the "ATIVA" way, where the hub polls it
//! ([`crate::feed`]).
//!
//! The document names the two ways and gives no shape, so the shape is the one a 00K
//! client already writes: each notification is a `type` (`stock`, `price`,
//! `product`, `order`) and the body of the endpoint it stands for. `stock` and
//! `price` are an item of `PUT /catalog/products/stock` or `/price` (the product by
//! `id`, `sku` or `externalId`, the first given, as there); `product` carries in
//! `product` the body of `PUT /catalog/import/{campo}/{id}` when the notification
//! names the product at its top level (a partial update), else one product as
//! `POST /catalog/import` takes it (created, or replacing the product with its SKU);
//! `order` names the order by `id` and carries in `erp` the body of
//! `PUT /orders/{id}/erp` (an ERP took it, or failed to). Everything the document's
//! endpoints refuse is refused the same way, naming the field under the
//! notification (`stock[0].info.quantity`, `product.info.name`, `erp.type`).
//!
//! The answer: a body with a notification that cannot be read (or breaks a rule of
//! its own values) is refused whole, 2.1 listing each such notification as the
//! import does (`errors: [{"itemIndex", "sku", "errors"}]`), and nothing is applied.
//! Otherwise each is applied in order, and the answer is the batches' (`{"total",
//! "updated", "failed", "items"}`, with each item's `type`); for a body of one
//! notification (an object) a refusal is the answer instead, as the endpoint it
//! stands for would give it: 2.0 for a product or order the store does not have
//! (another store's included), 2.1 for the rest.

use axum::extract::State;
use axum::Json;
use entreposto_app::notifications::{Change, ChangeOutcome};
use entreposto_domain::{check_price, check_stock, FieldError};
use entreposto_http::envelope::Failure;
use entreposto_http::{ApiError, AppState};
use entreposto_store::{ProductKey, RowError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::input::{self, PatchIn, PriceIn, ProductIn, StockIn};
use crate::orders::input::ErpIn;
use crate::output::{batch_counts, BatchItemOut};
use crate::products::{app_error, RawJson};
use crate::wire::{Id, Text};
use crate::{StoreAuth, Zerok};

/// Most notifications one request (or one page of a change list) may carry.
pub const MAX_NOTIFICATIONS: usize = 1_000;
/// The body limit of `POST /notifications` (and of a change list's page): room for
/// a thousand notifications of whole products.
pub const BODY_BYTES: usize = 8 * 1024 * 1024;

/// One notification: what changed, in the shape of the endpoint it stands for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationIn {
    /// What changed.
    #[serde(rename = "type")]
    #[schema(value_type = NotificationType)]
    pub kind: Option<Text>,
    /// The product's id (stock, price, product) or the order's (order).
    pub id: Option<Id>,
    /// The product's SKU.
    pub sku: Option<Text>,
    /// The store's own id of the product.
    pub external_id: Option<Text>,
    /// `stock`: as an item of `PUT /catalog/products/stock`.
    pub stock: Option<Vec<StockIn>>,
    /// `price`: as an item of `PUT /catalog/products/price` (only the first counts).
    pub price: Option<Vec<PriceIn>>,
    /// `product`: with `id`, `sku` or `externalId` above, a partial update (the
    /// body of `PUT /catalog/import/{campo}/{id}`); without, a whole product (as
    /// `POST /catalog/import` takes one).
    #[schema(value_type = Option<ProductNotified>)]
    pub product: Option<Box<RawValue>>,
    /// `order`: the body of `PUT /orders/{id}/erp`.
    pub erp: Option<ErpIn>,
    /// The change's place in the store's change list (ATIVA); ignored here.
    pub position: Option<Text>,
}

/// The notification types.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum NotificationType {
    stock,
    price,
    product,
    order,
}

/// A product notification's `product`: a partial update or a whole product.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ProductNotified {
    Update(Box<PatchIn>),
    Whole(Box<ProductIn>),
}

/// What `POST /notifications` takes: one notification or an array of them.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum NotificationsBody {
    One(Box<NotificationIn>),
    Many(Vec<NotificationIn>),
}

/// The answer: each notification applied or refused, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsAnswer {
    /// Notifications sent.
    pub total: usize,
    /// Applied.
    pub updated: usize,
    /// Refused.
    pub failed: usize,
    pub items: Vec<NotificationOut>,
}

/// One notification's outcome: a batch item's, with its type.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    #[serde(rename = "type")]
    #[schema(value_type = NotificationType)]
    pub kind: &'static str,
    #[serde(flatten)]
    pub item: BatchItemOut,
}

impl NotificationsAnswer {
    pub fn of(outcomes: Vec<ChangeOutcome>) -> NotificationsAnswer {
        let items: Vec<NotificationOut> = outcomes
            .into_iter()
            .map(|o| NotificationOut {
                kind: o.kind.as_str(),
                item: BatchItemOut::new(o.index, o.id, o.sku, o.error),
            })
            .collect();
        let (total, updated, failed) = batch_counts(items.iter().map(|i| &i.item));
        NotificationsAnswer {
            total,
            updated,
            failed,
            items,
        }
    }
}

fn required(field: &str) -> FieldError {
    FieldError::new(field, "is required")
}

/// The product a notification names at its top level: `id`, `sku` or `externalId`,
/// the first given (as the batches take them).
fn key_of(n: &NotificationIn) -> Option<ProductKey> {
    if let Some(Id(id)) = n.id {
        return Some(ProductKey::Id(id));
    }
    if let Some(s) = &n.sku {
        return Some(ProductKey::Sku(s.0.clone()));
    }
    n.external_id
        .as_ref()
        .map(|e| ProductKey::ExternalId(e.0.clone()))
}

fn product_key(n: &NotificationIn) -> Result<ProductKey, FieldError> {
    key_of(n).ok_or_else(|| FieldError::new("id", "id, sku or externalId is required"))
}

/// A notification as the change it notifies, with the rules of its own values
/// checked (those that need no database); errors name the field as the store's
/// system wrote it.
pub fn change_of(n: NotificationIn) -> Result<Change, FieldError> {
    let kind = n.kind.as_ref().map(|k| k.0.trim().to_ascii_lowercase());
    match kind.as_deref() {
        Some("stock") => {
            let key = product_key(&n)?;
            let levels = input::levels(n.stock.ok_or_else(|| required("stock"))?)?;
            if levels.is_empty() {
                return Err(FieldError::new(
                    "stock",
                    "at least one stock entry is required",
                ));
            }
            for (i, l) in levels.iter().enumerate() {
                check_stock(&format!("stock[{i}]"), l)?;
            }
            Ok(Change::Stock { key, levels })
        }
        Some("price") => {
            let key = product_key(&n)?;
            let price = input::first_price(n.price.ok_or_else(|| required("price"))?)?
                .ok_or_else(|| FieldError::new("price", "at least one price is required"))?;
            check_price("price[0]", &price)?;
            Ok(Change::Price { key, price })
        }
        Some("product") => {
            let raw = n.product.as_deref().ok_or_else(|| required("product"))?;
            match key_of(&n) {
                Some(key) => {
                    let patch = input::item::<PatchIn>(raw)
                        .and_then(PatchIn::patch)
                        .map_err(|e| e.under("product"))?;
                    patch.validate().map_err(|e| e.under("product"))?;
                    Ok(Change::ProductUpdate {
                        key,
                        patch: Box::new(patch),
                    })
                }
                None => {
                    let draft = input::item::<ProductIn>(raw)
                        .and_then(ProductIn::draft)
                        .map_err(|e| e.under("product"))?;
                    draft.validate().map_err(|e| e.under("product"))?;
                    Ok(Change::ProductPut {
                        draft: Box::new(draft),
                    })
                }
            }
        }
        Some("order") => {
            let Some(Id(order_id)) = n.id else {
                return Err(FieldError::new("id", "the order's id is required"));
            };
            let report = n
                .erp
                .ok_or_else(|| required("erp"))?
                .report()
                .map_err(|e| e.under("erp"))?;
            Ok(Change::OrderErp {
                order_id,
                erp: report.erp,
                sent: report.sent,
                error: report.error,
            })
        }
        Some(other) => Err(FieldError::new(
            "type",
            format!("'{other}' is not a notification type: stock, price, product or order"),
        )),
        None => Err(FieldError::new(
            "type",
            "is required: stock, price, product or order",
        )),
    }
}

/// One notification of a body (or of a change list's page) read as a change.
pub fn read(raw: &RawValue) -> Result<Change, FieldError> {
    input::item::<NotificationIn>(raw).and_then(change_of)
}

/// `POST /notifications`: the store's system notifies changes.
#[utoipa::path(post, path = "/notifications", request_body = NotificationsBody,
    responses((status = 200, description = "An extension of the document (its notifications PASSIVA, whose shape it leaves open): each notification applied in order, or refused on its own with its reasons. A body of one notification (an object) that is refused gets the refusal instead", body = NotificationsAnswer),
              (status = 400, description = "2.1: a notification cannot be read or breaks a rule of its own values (nothing is applied: `errors` lists each such one with its `itemIndex`, `sku` and reasons naming the field), or the body holds none or more than 1,000. For a body of one notification: 2.0, no such product or order in this store; 2.1, the change is refused (`errors` gives why)")))]
pub async fn notify(
    auth: StoreAuth,
    State(state): State<AppState>,
    RawJson(body): RawJson,
) -> Result<Json<NotificationsAnswer>, Failure<Zerok>> {
    let one = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let raws = input::items(&body).map_err(ApiError::Invalid)?;
    if raws.is_empty() {
        return Err(ApiError::invalid("body", "holds no notification").into());
    }
    if raws.len() > MAX_NOTIFICATIONS {
        return Err(ApiError::invalid(
            "body",
            format!(
                "{} notifications in one request; at most {MAX_NOTIFICATIONS}",
                raws.len()
            ),
        )
        .into());
    }
    let mut changes = Vec::with_capacity(raws.len());
    let mut problems = Vec::new();
    for (n, raw) in raws.iter().enumerate() {
        match read(raw) {
            Ok(c) => changes.push(c),
            Err(e) => problems.push(RowError {
                row: n as u32,
                sku: input::sku_of(raw),
                reasons: vec![if e.field.is_empty() {
                    e.message
                } else {
                    e.to_string()
                }],
            }),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::InvalidRows(problems).into());
    }
    let outcomes = state
        .app
        .apply_changes(&auth.scope, changes)
        .await
        .map_err(app_error)?;
    if one {
        if let Some(o) = outcomes.first() {
            if let Some(why) = &o.error {
                return Err(refused(o, why).into());
            }
        }
    }
    Ok(Json(NotificationsAnswer::of(outcomes)))
}

/// A lone notification's refusal, as the endpoint it stands for answers it.
fn refused(o: &ChangeOutcome, why: &str) -> ApiError {
    if o.missing {
        return ApiError::NotFound(why.to_string());
    }
    ApiError::InvalidRows(vec![RowError {
        row: 0,
        sku: o.sku.clone(),
        reasons: vec![why.to_string()],
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::Cents;

    fn change(json: &str) -> Result<Change, FieldError> {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        read(&raw)
    }

    #[test]
    fn each_type_reads_as_its_endpoint_body() {
        match change(r#"{"type": "Stock", "sku": "99jjs8", "stock": [{"info": {"quantity": 15, "minimum": 1}, "location": {"id": 2}}]}"#)
            .unwrap()
        {
            Change::Stock { key, levels } => {
                assert_eq!(key, ProductKey::Sku("99jjs8".into()));
                assert_eq!((levels[0].quantity, levels[0].location.id), (15, 2));
            }
            c => panic!("{c:?}"),
        }
        match change(
            r#"{"type": "price", "externalId": 12345, "price": [{"list": 59.9, "value": 49.9}]}"#,
        )
        .unwrap()
        {
            Change::Price { key, price } => {
                assert_eq!(key, ProductKey::ExternalId("12345".into()));
                assert_eq!((price.list, price.value), (Cents(5990), Cents(4990)));
            }
            c => panic!("{c:?}"),
        }
        assert!(matches!(
            change(r#"{"type": "product", "id": 7, "product": {"info": {"name": "Novo nome"}}}"#),
            Ok(Change::ProductUpdate {
                key: ProductKey::Id(7),
                ..
            })
        ));
        assert!(matches!(
            change(r#"{"type": "order", "id": "42", "erp": {"type": "bling", "sent": true}}"#),
            Ok(Change::OrderErp {
                order_id: 42,
                sent: true,
                ..
            })
        ));
    }

    #[test]
    fn mistakes_name_their_field() {
        for (json, field) in [
            (r#"{"sku": "A"}"#, "type"),
            (r#"{"type": "stok", "sku": "A"}"#, "type"),
            (
                r#"{"type": "stock", "stock": [{"info": {"quantity": 1}}]}"#,
                "id",
            ),
            (r#"{"type": "stock", "sku": "A"}"#, "stock"),
            (
                r#"{"type": "stock", "sku": "A", "stock": [{"info": {"quantity": "x"}}]}"#,
                "stock[0].info.quantity",
            ),
            (
                r#"{"type": "stock", "sku": "A", "stock": [{"info": {"quantity": -1}}]}"#,
                "stock[0].info.quantity",
            ),
            (
                r#"{"type": "price", "sku": "A", "price": [{"value": 1.001}]}"#,
                "price[0].value",
            ),
            (r#"{"type": "product", "sku": "A"}"#, "product"),
            (
                r#"{"type": "product", "sku": "A", "product": {"info": {"subtitle": 3}}}"#,
                "product.info.subtitle",
            ),
            (
                r#"{"type": "product", "product": {"sku": "A", "type": "simple"}}"#,
                "product.info",
            ),
            (
                r#"{"type": "order", "erp": {"type": "bling", "sent": true}}"#,
                "id",
            ),
            (
                r#"{"type": "order", "id": 4, "erp": {"type": "sigma", "sent": true}}"#,
                "erp.type",
            ),
            (r#"{"type": "order", "id": 4}"#, "erp"),
        ] {
            let e = change(json).unwrap_err();
            assert!(e.field.starts_with(field), "{json}: {e}");
        }
    }
}
