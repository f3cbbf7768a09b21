//! The order lifecycle on SQLite: order views (body and progress from one row),
//! decided changes with their stock moves in one writer job, the filtered listing.
//!
//! A progress is stored as `entreposto_store::progress_json` splits it: `state` and
//! the flags (`has_pendency`, `has_warnings`, `erp_sent`) are columns listings filter
//! on, `progress_version` guards changes, `pendencies` and `warnings` are columns a
//! push replaces, `progress` is the JSON of the rest; the ERP marks are mirrored in
//! `order_erp_marks` for the `erp_type` filter. A change is one job of the writer, so
//! its savepoint makes it all or nothing: the version guard, the progress, the marks
//! and every stock move (a move that would go below zero fails the job, and with it
//! the moves already applied). Listings walk one index chosen per filter shape (see
//! [`listing_index`]), newest placement first, so no listing sorts and the rows an
//! offset skips are index entries, never table rows.

use std::collections::BTreeSet;

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::progress_json::{self, StoredProgress};
use entreposto_store::*;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use entreposto_store::events::{order_events, stock_move_events};

use crate::orders::{order_at, order_cols};
use crate::outbox::insert_events;
use crate::{map_err, SqliteStore};

/// An order view's columns: the order's (`order_cols!`), then its progress's.
const VIEW_COLS: &str = concat!(
    order_cols!(),
    ", state, progress_version, progress, pendencies, warnings"
);

const VIEW_BY_ID: &str = concat!(
    "SELECT ",
    order_cols!(),
    ", state, progress_version, progress, pendencies, warnings",
    " FROM orders WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)"
);

/// An order view from a row of [`VIEW_COLS`]; a body or progress that does not decode
/// is an error naming the order (the outer result is SQLite's).
fn view_from_row(r: &Row<'_>) -> rusqlite::Result<Result<OrderView>> {
    let order = match order_at(r, 0)? {
        Ok(o) => o,
        Err(e) => return Ok(Err(e)),
    };
    let progress = progress_json::decode(
        r.get_ref(4)?.as_str()?,
        r.get(5)?,
        r.get_ref(6)?.as_str()?,
        r.get_ref(7)?.as_str()?,
        r.get_ref(8)?.as_str()?,
    );
    Ok(match progress {
        Ok(progress) => Ok(OrderView { order, progress }),
        Err(e) => Err(StoreError::Other(format!("order {}: {e}", order.id))),
    })
}

/// The scope on `orders`, with its parameters. For a seller the rows are found through
/// `seller_id` alone (so the seller's indexes serve), compared with a constant subquery
/// that is the seller only if it is the operator's: it is evaluated once, before the
/// scan, where an `EXISTS` beside it was a subroutine call for every index entry a
/// listing's offset skips.
pub(crate) fn scope_sql(scope: &Scope, params: &mut Vec<Value>) -> String {
    params.push(Value::Text(scope.operator_id.clone()));
    let op = params.len();
    match &scope.seller_id {
        Some(seller) => {
            params.push(Value::Text(seller.clone()));
            let s = params.len();
            format!(
                " AND seller_id = (SELECT id FROM sellers WHERE id = ?{s} AND operator_id = ?{op})"
            )
        }
        None => format!(" AND operator_id = ?{op}"),
    }
}

/// The index a listing walks, newest first. Without statistics SQLite cannot tell a
/// seller's queue from a seller's whole history, and a wrong pick either sorts every
/// matching row or reads the table for every row an offset skips, so the listing
/// names it: the unsent orders of one state (the ERP's work queue), one state's
/// orders, or all of the seller's (several states, or none, checked in the index). A
/// marketplace or transaction id finds its few rows by their own index instead.
fn listing_index(scope: &Scope, f: &OrderFilter) -> Option<&'static str> {
    if f.id.is_some() || f.marketplace_order_id.is_some() || f.transaction_id.is_some() {
        return None;
    }
    Some(match (&scope.seller_id, f.states.as_slice(), f.erp_sent) {
        (None, _, _) => "orders_operator_listing",
        (Some(_), [_], Some(false)) => "orders_seller_unsent",
        (Some(_), [_], _) => "orders_seller_state",
        (Some(_), _, _) => "orders_seller_listing",
    })
}

/// `SELECT {what} FROM orders ... WHERE ...` for a scope and filter, with its
/// parameters (no order, no paging).
fn filter_sql(scope: &Scope, f: &OrderFilter, what: &str) -> (String, Vec<Value>) {
    let mut p = Vec::new();
    let indexed = listing_index(scope, f)
        .map(|i| format!(" INDEXED BY {i}"))
        .unwrap_or_default();
    let mut sql = format!(
        "SELECT {what} FROM orders{indexed} WHERE 1 = 1{}",
        scope_sql(scope, &mut p)
    );
    let op = 1; // the scope's operator is always the first parameter
    let mut push = |clause: &str, v: Value, sql: &mut String| {
        p.push(v);
        sql.push_str(&clause.replace("?v", &format!("?{}", p.len())));
    };
    let text = |s: &String| Value::Text(s.clone());
    if let Some(id) = f.id {
        push(" AND id = ?v", Value::Integer(id), &mut sql);
    }
    if let Some(c) = &f.channel {
        push(" AND channel = ?v", text(c), &mut sql);
    }
    if let Some(m) = &f.marketplace_order_id {
        // With the operator named on the row, the (operator, marketplace id) index
        // finds the order for a seller's scope too.
        push(
            &format!(" AND operator_id = ?{op} AND marketplace_order_id = ?v"),
            text(m),
            &mut sql,
        );
    }
    if let Some(t) = &f.transaction_id {
        push(
            &format!(
                " AND id IN (SELECT order_id FROM order_payment_ids
                   WHERE operator_id = ?{op} AND transaction_id = ?v)"
            ),
            text(t),
            &mut sql,
        );
    }
    if let Some(t) = f.placed_from {
        push(" AND placed_at >= ?v", Value::Integer(t.0), &mut sql);
    }
    // Of the two upper bounds, only the tighter one: given both, the planner ranges
    // the index on `placed_to` and filters the position row by row (a deep page read
    // from its position then walked the whole listing above it).
    let position = f
        .from_position
        .filter(|(t, _)| f.placed_to.is_none_or(|to| *t <= to));
    if let Some(t) = f.placed_to.filter(|_| position.is_none()) {
        push(" AND placed_at <= ?v", Value::Integer(t.0), &mut sql);
    }
    if let Some((t, id)) = position {
        // A row value: the listing index's (placed_at, id) columns bound it as a range.
        push(" AND (placed_at, id) <= (?v", Value::Integer(t.0), &mut sql);
        push(", ?v)", Value::Integer(id), &mut sql);
    }
    match f.states.as_slice() {
        [] => {}
        [one] => push(
            " AND state = ?v",
            Value::Text(progress_json::state_name(*one).into()),
            &mut sql,
        ),
        many => {
            let names: BTreeSet<&str> =
                many.iter().map(|s| progress_json::state_name(*s)).collect();
            let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
            sql.push_str(&format!(" AND state IN ({})", list.join(", ")));
        }
    }
    // Flags as literals: the work queue's partial index serves only `erp_sent = 0`
    // written as such.
    for (column, value) in [
        ("has_pendency", f.with_pendency),
        ("has_warnings", f.with_warnings),
        ("erp_sent", f.erp_sent),
    ] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = {}", i32::from(v)));
        }
    }
    if let Some(e) = &f.erp_type {
        push(
            " AND EXISTS (SELECT 1 FROM order_erp_marks m
               WHERE m.order_id = orders.id AND m.erp = ?v AND m.sent = 1)",
            text(e),
            &mut sql,
        );
    }
    (sql, p)
}

fn list_sql(scope: &Scope, f: &OrderFilter) -> (String, Vec<Value>) {
    let (mut sql, mut p) = filter_sql(scope, f, VIEW_COLS);
    p.push(Value::Integer(i64::from(f.limit)));
    p.push(Value::Integer(i64::try_from(f.offset).unwrap_or(i64::MAX)));
    sql.push_str(&format!(
        " ORDER BY placed_at DESC, id DESC LIMIT ?{} OFFSET ?{}",
        p.len() - 1,
        p.len()
    ));
    (sql, p)
}

/// Persists a decided change (see [`OrderLifecycleStore::save_order_change`]) inside
/// the writer's savepoint for this job: any error leaves nothing of it. Returns the
/// order as stored after it (its events' payload shows it), read by the update
/// itself.
fn save_change(
    c: &Connection,
    scope: &Scope,
    change: &OrderChange,
    stored: &StoredProgress,
) -> Result<Order> {
    let updated: Option<Result<Order>> = c
        .prepare_cached(concat!(
            "UPDATE orders SET state = ?5, progress_version = ?4 + 1, has_pendency = ?6,
             has_warnings = ?7, erp_sent = ?8, pendencies = ?9, warnings = ?10,
             progress = ?11, updated_at = ?12
             WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)
               AND progress_version = ?4
             RETURNING ",
            order_cols!()
        ))
        .and_then(|mut s| {
            s.query_row(
                params![
                    change.order_id,
                    scope.operator_id,
                    scope.seller_id,
                    change.loaded_version,
                    stored.state,
                    stored.has_pendency,
                    stored.has_warnings,
                    stored.erp_sent,
                    stored.pendencies,
                    stored.warnings,
                    stored.progress,
                    change.now.0,
                ],
                |r| order_at(r, 0),
            )
            .optional()
        })
        .map_err(map_err)?;
    let Some(order) = updated.transpose()? else {
        let exists = c
            .prepare_cached(
                "SELECT 1 FROM orders
                 WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![change.order_id, scope.operator_id, scope.seller_id],
                    |_| Ok(()),
                )
                .optional()
            })
            .map_err(map_err)?;
        return Err(match exists {
            Some(()) => StoreError::Stale,
            None => StoreError::NotFound,
        });
    };
    let seller = &order.data.seller_id;
    for m in &change.stock {
        apply_move(c, seller, m)?;
    }
    let moved: BTreeSet<i64> = change.stock.iter().map(|m| m.product_id).collect();
    for id in moved {
        c.prepare_cached(
            "UPDATE products SET version = version + 1, updated_at = ?3
             WHERE id = ?1 AND seller_id = ?2",
        )
        .and_then(|mut s| s.execute(params![id, seller, change.now.0]))
        .map_err(map_err)?;
    }
    replace_erp_marks(
        c,
        change.order_id,
        &scope.operator_id,
        seller,
        &change.progress.erp,
    )?;
    Ok(order)
}

/// Moves one product's stock at one location by `delta` if the quantity stays at or
/// above zero (`Stale` otherwise); the product must be `seller`'s and have that
/// location (`NotFound` otherwise).
fn apply_move(c: &Connection, seller: &str, m: &StockMove) -> Result<()> {
    let n = c
        .prepare_cached(
            "UPDATE product_stock SET quantity = quantity + ?3
             WHERE product_id = ?1 AND location_id = ?2 AND quantity + ?3 >= 0
               AND EXISTS (SELECT 1 FROM products WHERE id = ?1 AND seller_id = ?4)",
        )
        .and_then(|mut s| s.execute(params![m.product_id, m.location_id, m.delta, seller]))
        .map_err(map_err)?;
    if n == 1 {
        return Ok(());
    }
    let there = c
        .prepare_cached(
            "SELECT 1 FROM product_stock s JOIN products p ON p.id = s.product_id
             WHERE s.product_id = ?1 AND s.location_id = ?2 AND p.seller_id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![m.product_id, m.location_id, seller], |_| Ok(()))
                .optional()
        })
        .map_err(map_err)?;
    Err(match there {
        Some(()) => StoreError::Stale,
        None => StoreError::NotFound,
    })
}

/// Replaces the order's rows in `order_erp_marks` with `marks` (the last mark of an
/// ERP listed twice wins).
fn replace_erp_marks(
    c: &Connection,
    order_id: i64,
    operator: &str,
    seller: &str,
    marks: &[ErpMark],
) -> Result<()> {
    c.prepare_cached("DELETE FROM order_erp_marks WHERE order_id = ?1")
        .and_then(|mut s| s.execute([order_id]))
        .map_err(map_err)?;
    for m in marks {
        c.prepare_cached(
            "INSERT OR REPLACE INTO order_erp_marks (order_id, operator_id, seller_id, erp,
             sent, error, marked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut s| {
            s.execute(params![
                order_id, operator, seller, m.erp, m.sent, m.error, m.at.0
            ])
        })
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl OrderLifecycleStore for SqliteStore {
    async fn get_order_view(&self, scope: &Scope, id: i64) -> Result<OrderView> {
        self.read_now(|c| {
            c.prepare_cached(VIEW_BY_ID)
                .and_then(|mut s| {
                    s.query_row(
                        params![id, scope.operator_id, scope.seller_id],
                        view_from_row,
                    )
                })
                .map_err(map_err)?
        })
    }

    async fn save_order_change(&self, scope: &Scope, change: OrderChange) -> Result<OrderProgress> {
        // Encoding outside the writer keeps the single writer thread on SQL only.
        let stored = progress_json::encode(&change.progress);
        let scope = scope.clone();
        let payloads = self.payloads.clone();
        let wrote = !change.events.is_empty() || !change.stock_events.is_empty();
        let progress = self
            .write(move |c| {
                let order = save_change(c, &scope, &change, &stored)?;
                let mut progress = change.progress;
                progress.version = change.loaded_version + 1;
                let view = OrderView { order, progress };
                let mut rows = order_events(&*payloads, &change.events, None, &view, change.now);
                if !change.stock_events.is_empty() && !change.stock.is_empty() {
                    let mut ids: Vec<i64> = change.stock.iter().map(|m| m.product_id).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let (products, links) = crate::catalog::products_with_links(c, &scope, &ids)?;
                    rows.extend(stock_move_events(
                        &*payloads,
                        &scope.operator_id,
                        &change.stock_events,
                        &products,
                        &links,
                        change.now,
                    ));
                }
                insert_events(c, &rows)?;
                Ok(view.progress)
            })
            .await?;
        if wrote {
            self.wrote_events();
        }
        Ok(progress)
    }

    async fn list_order_views(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
    ) -> Result<Vec<OrderView>> {
        let (sql, p) = list_sql(scope, filter);
        self.read(move |c| {
            let mut s = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = s
                .query_map(params_from_iter(p), view_from_row)
                .map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?
                .into_iter()
                .collect()
        })
        .await
    }

    async fn count_order_views(&self, scope: &Scope, filter: &OrderFilter) -> Result<u64> {
        let (sql, p) = filter_sql(scope, filter, "COUNT(*)");
        self.cached_count(sql, p).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listing shape walks its index in order: no sort, and the work queue and a
    /// state's orders through the index made for them.
    #[test]
    fn listings_never_sort() {
        let dir = std::env::temp_dir().join(format!("entreposto-plans-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(dir.join("t.db"), crate::SqliteOptions::default()).unwrap();
        let seller = Scope::seller("op", "s");
        let operator = Scope::operator("op");
        let base = OrderFilter {
            limit: 30,
            offset: 29_970,
            ..Default::default()
        };
        let cases = [
            (&seller, base.clone(), "orders_seller_listing"),
            (
                &seller,
                OrderFilter {
                    states: vec![OrderState::Paid],
                    erp_sent: Some(false),
                    ..base.clone()
                },
                "orders_seller_unsent",
            ),
            (
                &seller,
                OrderFilter {
                    states: vec![OrderState::Paid],
                    erp_sent: Some(false),
                    from_position: Some((Timestamp(5), 7)),
                    ..base.clone()
                },
                "orders_seller_unsent",
            ),
            (
                &seller,
                OrderFilter {
                    states: vec![OrderState::Shipped],
                    with_pendency: Some(true),
                    placed_from: Some(Timestamp(5)),
                    ..base.clone()
                },
                "orders_seller_state",
            ),
            (
                &seller,
                OrderFilter {
                    states: vec![OrderState::Separated, OrderState::Billed],
                    erp_type: Some("bling".into()),
                    ..base.clone()
                },
                "orders_seller_listing",
            ),
            (
                &operator,
                OrderFilter {
                    erp_sent: Some(true),
                    ..base.clone()
                },
                "orders_operator_listing",
            ),
        ];
        for (scope, filter, index) in cases {
            let (sql, p) = list_sql(scope, &filter);
            let plan = crate::query_plan(&store, &sql, p);
            assert!(plan.contains(index), "{filter:?}:\n{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{filter:?} sorts:\n{plan}");
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
