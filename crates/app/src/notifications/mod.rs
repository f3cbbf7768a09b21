//! Notified changes: what a seller's own system says changed there (a product's
//! stock or price, a product created or updated, an order an ERP took), applied
//! through the catalog's and the orders' use cases, so a change notified follows the
//! same rules as the same change made through the dialect's own endpoints.
//!
//! Changes arrive two ways (00K's "PASSIVA" and "ATIVA" notifications): pushed by the
//! seller's system to the hub, or listed by the seller's system at a URL the hub
//! polls ([`feeds`]). Either way they are [`Change`]s, applied in the order given by
//! [`App::apply_changes`], each refused or applied on its own. Applying a change
//! twice is harmless, which the feed relies on (a page applied, then the node dies
//! before recording its position, is applied again by the next node): stock and
//! price are set, not added to, and a product update or ERP mark that sets what is
//! already stored writes nothing (see the use cases), so a repeat moves no version
//! and adds no event. A product replaced whole (an import row) is written again
//! with the same values: same state, a newer version.

pub mod feeds;

use entreposto_domain::{
    ErpMark, FieldError, Price, ProductDraft, ProductPatch, Scope, StockLevel,
};
use entreposto_store::{ProductKey, RowError};

use crate::catalog::{describe_key, BatchItem, BatchOutcome, BATCH_MAX};
use crate::{App, AppError, Result};

/// One change a seller's system notified.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A simple product's stock at the locations given (others keep theirs).
    Stock {
        key: ProductKey,
        levels: Vec<StockLevel>,
    },
    Price {
        key: ProductKey,
        price: Price,
    },
    /// A partial update of an existing product.
    ProductUpdate {
        key: ProductKey,
        patch: Box<ProductPatch>,
    },
    /// A whole product, created or replacing the one with its SKU (or id), as an
    /// import row; related categories and brands are linked or created.
    ProductPut {
        draft: Box<ProductDraft>,
    },
    /// An ERP took the order (or failed to).
    OrderErp {
        order_id: i64,
        erp: String,
        sent: bool,
        error: Option<String>,
    },
}

/// What a change is about, as answers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Stock,
    Price,
    Product,
    Order,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Stock => "stock",
            ChangeKind::Price => "price",
            ChangeKind::Product => "product",
            ChangeKind::Order => "order",
        }
    }
}

impl Change {
    pub fn kind(&self) -> ChangeKind {
        match self {
            Change::Stock { .. } => ChangeKind::Stock,
            Change::Price { .. } => ChangeKind::Price,
            Change::ProductUpdate { .. } | Change::ProductPut { .. } => ChangeKind::Product,
            Change::OrderErp { .. } => ChangeKind::Order,
        }
    }
}

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutcome {
    /// The change's place in the list given, from 0.
    pub index: usize,
    pub kind: ChangeKind,
    /// The product or order the change named, when found.
    pub id: Option<i64>,
    pub sku: Option<String>,
    /// Why the change was refused; `None` when it was applied.
    pub error: Option<String>,
    /// Whether it was refused because the product or order it names is not the
    /// seller's (none has that key, or another seller's has).
    pub missing: bool,
}

/// A use case's refusal of one change, as its outcome says it; `Err` for what is no
/// refusal of the change (the database busy or failing), which stops the whole list.
fn refusal(e: AppError, not_found: impl FnOnce() -> String) -> Result<String> {
    match e {
        AppError::NotFound => Ok(not_found()),
        // (`missing` is set by the caller, which knows the error was `NotFound`.)
        AppError::Invalid(f) if f.field.is_empty() => Ok(f.message),
        AppError::Invalid(f) => Ok(f.to_string()),
        AppError::InvalidRows(rows) => Ok(rows
            .into_iter()
            .flat_map(|r: RowError| r.reasons)
            .collect::<Vec<_>>()
            .join("; ")),
        AppError::Conflict(m) => Ok(m),
        AppError::UnknownSubject(_) | AppError::AlreadyClosed => Ok(e.to_string()),
        AppError::Busy | AppError::Internal(_) => Err(e),
    }
}

fn batch_item<T>(key: &ProductKey, value: T) -> BatchItem<T> {
    let (mut id, mut sku, mut external_id) = (None, None, None);
    match key {
        ProductKey::Id(i) => id = Some(*i),
        ProductKey::Sku(s) => sku = Some(s.clone()),
        ProductKey::ExternalId(e) => external_id = Some(e.clone()),
    }
    BatchItem {
        id,
        sku,
        external_id,
        value: Ok(value),
    }
}

/// A run of consecutive stock (or price) changes, applied as one batch.
enum Run {
    Stock(Vec<(usize, BatchItem<Vec<StockLevel>>)>),
    Price(Vec<(usize, BatchItem<Price>)>),
    One(usize, Change),
}

/// The changes in runs: consecutive stock changes together, consecutive prices
/// together (up to a batch each), anything else alone, the order kept.
fn runs(changes: Vec<Change>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for (index, c) in changes.into_iter().enumerate() {
        match (c, out.last_mut()) {
            (Change::Stock { key, levels }, Some(Run::Stock(items))) if items.len() < BATCH_MAX => {
                items.push((index, batch_item(&key, levels)))
            }
            (Change::Stock { key, levels }, _) => {
                out.push(Run::Stock(vec![(index, batch_item(&key, levels))]))
            }
            (Change::Price { key, price }, Some(Run::Price(items))) if items.len() < BATCH_MAX => {
                items.push((index, batch_item(&key, price)))
            }
            (Change::Price { key, price }, _) => {
                out.push(Run::Price(vec![(index, batch_item(&key, price))]))
            }
            (c, _) => out.push(Run::One(index, c)),
        }
    }
    out
}

fn from_batch(
    indexes: &[usize],
    kind: ChangeKind,
    outcomes: Vec<BatchOutcome>,
) -> Vec<ChangeOutcome> {
    outcomes
        .into_iter()
        .map(|o| ChangeOutcome {
            index: indexes[o.index],
            kind,
            id: o.product_id,
            sku: o.sku,
            // A batch item refused without a product found named none of the seller's.
            missing: o.error.is_some() && o.product_id.is_none(),
            error: o.error,
        })
        .collect()
}

impl App {
    /// Applies `changes` to the scope's seller in order, each through its use case,
    /// and says of each whether it was applied. Consecutive stock changes are one
    /// batch (one write), as are consecutive prices; a product or order change is
    /// applied alone, so every change lands after the ones before it. A change's
    /// refusal (no such product or order, a value a rule refuses) is its outcome;
    /// an error of the database stops the list and is the answer (the changes
    /// before it stay applied).
    pub async fn apply_changes(
        &self,
        scope: &Scope,
        changes: Vec<Change>,
    ) -> Result<Vec<ChangeOutcome>> {
        if scope.seller_id.is_none() {
            return Err(
                FieldError::new("seller", "changes are a seller's: name the seller").into(),
            );
        }
        let mut out = Vec::with_capacity(changes.len());
        for run in runs(changes) {
            match run {
                Run::Stock(items) => {
                    let (indexes, items): (Vec<_>, Vec<_>) = items.into_iter().unzip();
                    let outcomes = self.set_stock_batch(scope, items).await?;
                    out.extend(from_batch(&indexes, ChangeKind::Stock, outcomes));
                }
                Run::Price(items) => {
                    let (indexes, items): (Vec<_>, Vec<_>) = items.into_iter().unzip();
                    let outcomes = self.set_price_batch(scope, items).await?;
                    out.extend(from_batch(&indexes, ChangeKind::Price, outcomes));
                }
                Run::One(index, change) => out.push(self.apply_one(scope, index, change).await?),
            }
        }
        Ok(out)
    }

    async fn apply_one(
        &self,
        scope: &Scope,
        index: usize,
        change: Change,
    ) -> Result<ChangeOutcome> {
        let kind = change.kind();
        let mut outcome = ChangeOutcome {
            index,
            kind,
            id: None,
            sku: None,
            error: None,
            missing: false,
        };
        match change {
            Change::ProductUpdate { key, patch } => {
                if let ProductKey::Sku(s) = &key {
                    outcome.sku = Some(s.clone());
                }
                match self.update_product(scope, &key, &patch).await {
                    Ok(p) => {
                        outcome.id = Some(p.id);
                        outcome.sku = Some(p.data.sku);
                    }
                    Err(e) => {
                        outcome.missing = e == AppError::NotFound;
                        // Named by the id it gave, once that is known to be the seller's
                        // (another store's id is not echoed, as in batches).
                        if let (ProductKey::Id(i), false) = (&key, outcome.missing) {
                            outcome.id = Some(*i);
                        }
                        outcome.error = Some(refusal(e, || {
                            format!("no product with {}", describe_key(&key))
                        })?)
                    }
                }
            }
            Change::ProductPut { draft } => {
                outcome.sku = draft.sku.clone();
                outcome.id = draft.id;
                match self.put_product(scope, &draft, false, false).await {
                    Ok(p) => {
                        outcome.id = Some(p.id);
                        outcome.sku = Some(p.data.sku);
                    }
                    Err(e) => {
                        outcome.missing = e == AppError::NotFound;
                        outcome.error = Some(refusal(e, || "no such product".to_string())?)
                    }
                }
            }
            Change::OrderErp {
                order_id,
                erp,
                sent,
                error,
            } => {
                outcome.id = Some(order_id);
                let mark = ErpMark {
                    erp,
                    sent,
                    error,
                    // The use case stamps its own time.
                    at: self.now(),
                };
                if let Err(e) = self.mark_erp(scope, order_id, mark).await {
                    outcome.missing = e == AppError::NotFound;
                    outcome.error = Some(refusal(e, || format!("no order with id {order_id}"))?);
                }
            }
            // `runs` puts these in batches of their own.
            Change::Stock { .. } | Change::Price { .. } => {
                return Err(AppError::Internal(
                    "stock and price changes are applied in batches".into(),
                ))
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(sku: &str) -> Change {
        Change::Stock {
            key: ProductKey::Sku(sku.into()),
            levels: vec![],
        }
    }

    fn price(sku: &str) -> Change {
        Change::Price {
            key: ProductKey::Sku(sku.into()),
            price: Price {
                list: entreposto_domain::Cents(100),
                value: entreposto_domain::Cents(90),
                expires_at: None,
            },
        }
    }

    #[test]
    fn consecutive_stock_and_prices_are_batched_in_order() {
        let erp = Change::OrderErp {
            order_id: 1,
            erp: "bling".into(),
            sent: true,
            error: None,
        };
        let r = runs(vec![
            stock("A"),
            stock("B"),
            price("A"),
            erp.clone(),
            stock("C"),
            price("B"),
            price("C"),
        ]);
        let shape: Vec<String> = r
            .iter()
            .map(|r| match r {
                Run::Stock(i) => format!("stock{:?}", i.iter().map(|x| x.0).collect::<Vec<_>>()),
                Run::Price(i) => format!("price{:?}", i.iter().map(|x| x.0).collect::<Vec<_>>()),
                Run::One(i, _) => format!("one{i}"),
            })
            .collect();
        assert_eq!(
            shape,
            ["stock[0, 1]", "price[2]", "one3", "stock[4]", "price[5, 6]"]
        );
    }

    #[test]
    fn a_full_run_starts_another() {
        let r = runs((0..BATCH_MAX + 1).map(|n| stock(&n.to_string())).collect());
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn database_errors_are_no_refusal() {
        assert!(refusal(AppError::Busy, String::new).is_err());
        assert_eq!(
            refusal(AppError::NotFound, || "no order with id 4".into()).unwrap(),
            "no order with id 4"
        );
        assert_eq!(
            refusal(
                AppError::Invalid(FieldError::new(
                    "stock[0].info.quantity",
                    "must not be negative"
                )),
                String::new
            )
            .unwrap(),
            "stock[0].info.quantity: must not be negative"
        );
    }
}
