//! The order lifecycle on PostgreSQL: order views (body and progress from one row),
//! decided changes with their stock moves in one transaction, the filtered listing.
//!
//! A progress is stored as `entreposto_store::progress_json` splits it (see the
//! migration): `state` and the flags are columns listings filter on,
//! `progress_version` guards changes, `pendencies` and `warnings` are columns a push
//! replaces, `progress` is the JSON of the rest; the ERP marks are mirrored in
//! `order_erp_marks` for the `erp_type` filter. A change's `UPDATE` is guarded by the
//! version on the row: of two changes racing on one order, the second waits for the
//! first's row lock, re-reads the row, finds the version moved and updates nothing
//! (`Stale`). Stock moves are `quantity = quantity + delta` guarded the same way by
//! `quantity + delta >= 0`; the products they touch are locked first, by id, as
//! catalog writes lock them, so the two never deadlock. A listing picks the page's
//! ids in a subquery over the listing indexes, which carry the columns filters test,
//! so the rows an offset skips are skipped by an index-only scan; only the page's
//! rows are then read.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::progress_json::{self, StoredProgress};
use entreposto_store::*;
use tokio_postgres::Row;

use entreposto_store::events::{order_events, stock_move_events};

use crate::outbox::insert_events;
use crate::{map_err, orders, Params, PgStore};

/// An order view's columns on alias `o`: the order's (`orders::ORDER_COLS`), then its
/// progress's.
const VIEW_COLS: &str = "o.id, o.created_at, o.updated_at, o.body, \
     o.state, o.progress_version, o.progress, o.pendencies, o.warnings";

fn view_from_row(r: &Row) -> Result<OrderView> {
    let order = orders::decode(r)?;
    let progress = progress_json::decode(r.get(4), r.get(5), r.get(6), r.get(7), r.get(8))
        .map_err(|e| StoreError::Other(format!("order {}: {e}", order.id)))?;
    Ok(OrderView { order, progress })
}

/// The scope on `orders` (or any table with `operator_id` and `seller_id`, unaliased).
/// For a seller the rows are found through `seller_id` alone, so the seller's indexes
/// serve, compared with a constant subquery (evaluated once) that is the seller only
/// if it is the operator's.
pub(crate) fn scope_sql(scope: &Scope, p: &mut Params) -> String {
    let op = p.push(scope.operator_id.clone());
    match &scope.seller_id {
        Some(seller) => {
            let s = p.push(seller.clone());
            format!(
                " AND seller_id = (SELECT id FROM sellers WHERE id = {s} AND operator_id = {op})"
            )
        }
        None => format!(" AND operator_id = {op}"),
    }
}

/// `SELECT {what} FROM orders WHERE ...` for a scope and filter (no order, no paging).
fn filter_sql(scope: &Scope, f: &OrderFilter, what: &str, p: &mut Params) -> String {
    let mut sql = format!(
        "SELECT {what} FROM orders WHERE TRUE{}",
        scope_sql(scope, p)
    );
    // The scope's operator is always the first parameter.
    let op = "$1";
    if let Some(id) = f.id {
        sql.push_str(&format!(" AND id = {}", p.push(id)));
    }
    if let Some(c) = &f.channel {
        sql.push_str(&format!(" AND channel = {}", p.push(c.clone())));
    }
    if let Some(m) = &f.marketplace_order_id {
        // With the operator named on the row, the (operator, marketplace id) index
        // finds the order for a seller's scope too.
        sql.push_str(&format!(
            " AND operator_id = {op} AND marketplace_order_id = {}",
            p.push(m.clone())
        ));
    }
    if let Some(t) = &f.transaction_id {
        sql.push_str(&format!(
            " AND id IN (SELECT order_id FROM order_payment_ids
               WHERE operator_id = {op} AND transaction_id = {})",
            p.push(t.clone())
        ));
    }
    if let Some(t) = f.placed_from {
        sql.push_str(&format!(" AND placed_at >= {}", p.push(t.0)));
    }
    // Of the two upper bounds, only the tighter one: given both, the planner ranges
    // the index on `placed_to` and filters the position row by row (a deep page read
    // from its position then walked the whole listing above it).
    let position = f
        .from_position
        .filter(|(t, _)| f.placed_to.is_none_or(|to| *t <= to));
    if let Some(t) = f.placed_to.filter(|_| position.is_none()) {
        sql.push_str(&format!(" AND placed_at <= {}", p.push(t.0)));
    }
    if let Some((t, id)) = position {
        // A row comparison: the listing index's (placed_at, id) columns bound it.
        let t = p.push(t.0);
        sql.push_str(&format!(" AND (placed_at, id) <= ({t}, {})", p.push(id)));
    }
    match f.states.as_slice() {
        [] => {}
        [one] => sql.push_str(&format!(
            " AND state = {}",
            p.push(progress_json::state_name(*one).to_string())
        )),
        many => {
            let names: Vec<String> = many
                .iter()
                .map(|s| progress_json::state_name(*s).to_string())
                .collect();
            sql.push_str(&format!(" AND state = ANY({}::text[])", p.push(names)));
        }
    }
    // Flags as literals: the work queue's partial index serves `NOT erp_sent` as such.
    for (column, value) in [
        ("has_pendency", f.with_pendency),
        ("has_warnings", f.with_warnings),
        ("erp_sent", f.erp_sent),
    ] {
        match value {
            Some(true) => sql.push_str(&format!(" AND {column}")),
            Some(false) => sql.push_str(&format!(" AND NOT {column}")),
            None => {}
        }
    }
    if let Some(e) = &f.erp_type {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM order_erp_marks m
               WHERE m.order_id = orders.id AND m.erp = {} AND m.sent)",
            p.push(e.clone())
        ));
    }
    sql
}

/// The page's ids in listing order from the indexes alone, then their rows.
fn list_sql(scope: &Scope, f: &OrderFilter, p: &mut Params) -> String {
    let ids = filter_sql(scope, f, "id, placed_at", p);
    let limit = p.push(i64::from(f.limit));
    let offset = p.push(i64::try_from(f.offset).unwrap_or(i64::MAX));
    format!(
        "SELECT {VIEW_COLS} FROM ({ids} ORDER BY placed_at DESC, id DESC
           LIMIT {limit} OFFSET {offset}) k
         JOIN orders o ON o.id = k.id
         ORDER BY k.placed_at DESC, k.id DESC"
    )
}

/// The moves of a change, grouped by product and location in id order (locks are
/// taken in one order by every change), keeping the change's order within a group.
fn sorted_moves(moves: &[StockMove]) -> Vec<StockMove> {
    let mut sorted = moves.to_vec();
    sorted.sort_by_key(|m| (m.product_id, m.location_id));
    sorted
}

async fn save_change(
    store: &PgStore,
    scope: &Scope,
    change: &OrderChange,
    stored: &StoredProgress,
) -> Result<()> {
    let mut c = store.conn().await?;
    let tx = c.transaction().await.map_err(map_err)?;
    let row = tx
        .query_opt(
            &format!(
                "UPDATE orders SET state = $5, progress_version = $4 + 1, has_pendency = $6,
             has_warnings = $7, erp_sent = $8, pendencies = $9, warnings = $10,
             progress = $11, updated_at = $12
             WHERE id = $1 AND operator_id = $2 AND ($3::text IS NULL OR seller_id = $3)
               AND progress_version = $4
             RETURNING {}",
                orders::ORDER_COLS
            ),
            &[
                &change.order_id,
                &scope.operator_id,
                &scope.seller_id,
                &change.loaded_version,
                &stored.state,
                &stored.has_pendency,
                &stored.has_warnings,
                &stored.erp_sent,
                &stored.pendencies,
                &stored.warnings,
                &stored.progress,
                &change.now.0,
            ],
        )
        .await
        .map_err(map_err)?;
    let Some(row) = row else {
        let exists = tx
            .query_opt(
                "SELECT 1 FROM orders
                 WHERE id = $1 AND operator_id = $2 AND ($3::text IS NULL OR seller_id = $3)",
                &[&change.order_id, &scope.operator_id, &scope.seller_id],
            )
            .await
            .map_err(map_err)?;
        return Err(if exists.is_some() {
            StoreError::Stale
        } else {
            StoreError::NotFound
        });
    };
    // The order as stored after the change, for its events' payload.
    let order = orders::decode(&row)?;
    let seller = order.data.seller_id.clone();
    if !change.stock.is_empty() {
        let mut products: Vec<i64> = change.stock.iter().map(|m| m.product_id).collect();
        products.sort_unstable();
        products.dedup();
        let bumped = tx
            .execute(
                "UPDATE products SET version = version + 1, updated_at = $3
                 WHERE id = ANY($1) AND seller_id = $2",
                &[&products, &seller, &change.now.0],
            )
            .await
            .map_err(map_err)?;
        if bumped as usize != products.len() {
            return Err(StoreError::NotFound);
        }
        for m in sorted_moves(&change.stock) {
            let n = tx
                .execute(
                    "UPDATE product_stock SET quantity = quantity + $3
                     WHERE product_id = $1 AND location_id = $2 AND quantity + $3 >= 0",
                    &[&m.product_id, &m.location_id, &m.delta],
                )
                .await
                .map_err(map_err)?;
            if n == 1 {
                continue;
            }
            // The product is the seller's (its version moved above); the location?
            let there = tx
                .query_opt(
                    "SELECT 1 FROM product_stock WHERE product_id = $1 AND location_id = $2",
                    &[&m.product_id, &m.location_id],
                )
                .await
                .map_err(map_err)?;
            return Err(if there.is_some() {
                StoreError::Stale
            } else {
                StoreError::NotFound
            });
        }
    }
    // The ERP marks the filter sees: the change's, the last of an ERP listed twice.
    let marks = &change.progress.erp;
    let erps: Vec<&str> = marks.iter().map(|m| m.erp.as_str()).collect();
    let sent: Vec<bool> = marks.iter().map(|m| m.sent).collect();
    let errors: Vec<Option<&str>> = marks.iter().map(|m| m.error.as_deref()).collect();
    let at: Vec<i64> = marks.iter().map(|m| m.at.0).collect();
    tx.execute(
        "DELETE FROM order_erp_marks WHERE order_id = $1",
        &[&change.order_id],
    )
    .await
    .map_err(map_err)?;
    if !marks.is_empty() {
        tx.execute(
            "INSERT INTO order_erp_marks (order_id, operator_id, seller_id, erp, sent, error,
             marked_at)
             SELECT DISTINCT ON (e) $1, $2, $3, e, s, er, a
             FROM UNNEST($4::text[], $5::bool[], $6::text[], $7::int8[])
               WITH ORDINALITY AS u(e, s, er, a, n)
             ORDER BY e, n DESC",
            &[
                &change.order_id,
                &scope.operator_id,
                &seller,
                &erps,
                &sent,
                &errors,
                &at,
            ],
        )
        .await
        .map_err(map_err)?;
    }
    let mut progress = change.progress.clone();
    progress.version = change.loaded_version + 1;
    let view = OrderView { order, progress };
    let mut rows = order_events(&*store.payloads, &change.events, None, &view, change.now);
    if !change.stock_events.is_empty() && !change.stock.is_empty() {
        let mut ids: Vec<i64> = change.stock.iter().map(|m| m.product_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let (products, links) = crate::catalog::products_with_links(&tx, scope, &ids).await?;
        rows.extend(stock_move_events(
            &*store.payloads,
            &scope.operator_id,
            &change.stock_events,
            &products,
            &links,
            change.now,
        ));
    }
    insert_events(&tx, &rows).await?;
    tx.commit().await.map_err(map_err)?;
    if !rows.is_empty() {
        store.wrote_events();
    }
    Ok(())
}

#[async_trait]
impl OrderLifecycleStore for PgStore {
    async fn get_order_view(&self, scope: &Scope, id: i64) -> Result<OrderView> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {VIEW_COLS} FROM orders o WHERE o.id = $1 AND o.operator_id = $2
                 AND ($3::text IS NULL OR o.seller_id = $3)"
            ))
            .await
            .map_err(map_err)?;
        let r = c
            .query_opt(&stmt, &[&id, &scope.operator_id, &scope.seller_id])
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        view_from_row(&r)
    }

    async fn save_order_change(&self, scope: &Scope, change: OrderChange) -> Result<OrderProgress> {
        let stored = progress_json::encode(&change.progress);
        // Counted listings change with any order change, even a failed save's
        // attempt may have committed nothing: bump after, whatever the outcome.
        let saved = save_change(self, scope, &change, &stored).await;
        self.orders_written
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        saved?;
        let mut progress = change.progress;
        progress.version = change.loaded_version + 1;
        Ok(progress)
    }

    async fn list_order_views(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
    ) -> Result<Vec<OrderView>> {
        let mut p = Params::default();
        let sql = list_sql(scope, filter, &mut p);
        let c = self.conn().await?;
        let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
        let rows = c.query(&stmt, &p.refs()).await.map_err(map_err)?;
        rows.iter().map(view_from_row).collect()
    }

    /// From the node's count cache when this node wrote no order since the count was
    /// made, and for a few seconds ([`entreposto_store::count_cache`]): counting the
    /// ERP's work queue walks every one of its index entries (70 ms for 150,000).
    async fn count_order_views(&self, scope: &Scope, filter: &OrderFilter) -> Result<u64> {
        use std::sync::atomic::Ordering;
        let mut p = Params::default();
        let sql = filter_sql(scope, filter, "COUNT(*)", &mut p);
        let key = format!("{sql}|{:?}", p.debug());
        let arrived = self.orders_written.load(Ordering::Acquire);
        if let Some(n) = self.order_counts.get(&key, arrived) {
            return Ok(n);
        }
        let flight = self.order_counts.flight(&key);
        let _turn = flight.lock().await;
        if let Some(n) = self.order_counts.get(&key, arrived) {
            return Ok(n);
        }
        let generation = self.orders_written.load(Ordering::Acquire);
        let c = self.conn().await?;
        let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
        let r = c.query_one(&stmt, &p.refs()).await.map_err(map_err)?;
        let n = r.get::<_, i64>(0) as u64;
        self.order_counts.put(key, generation, n);
        Ok(n)
    }
}
