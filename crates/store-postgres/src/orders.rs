//! Orders on PostgreSQL: `INSERT .. ON CONFLICT` upsert, scoped reads, `UNNEST` bulk load.
//!
//! The columns queries filter on are real columns; the rest of the order is one JSON
//! `body` in the shape [`crate::order_json`] owns. A new order's progress goes in with
//! it (the columns of `entreposto_store::progress_json`, see
//! [`crate::order_lifecycle`]); an update keeps it but for the pendencies and warnings.
//! The payments' transaction ids are kept in `order_payment_ids`, replaced by the same
//! statement as the order.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::events::order_events;
use entreposto_store::progress_json;
use entreposto_store::{ImportOrder, OrderStore, OrderView, Result, StoreError};
use tokio_postgres::Row;

use crate::outbox::HandTx;
use crate::{map_err, order_json, PgStore};

pub(crate) const ORDER_COLS: &str = "id, created_at, updated_at, body";

pub(crate) fn decode(r: &Row) -> Result<Order> {
    let id: i64 = r.get(0);
    let body: &str = r.get(3);
    let data =
        order_json::decode(body).map_err(|e| StoreError::Other(format!("order {id}: {e}")))?;
    Ok(Order {
        id,
        data,
        created_at: Timestamp(r.get(1)),
        updated_at: Timestamp(r.get(2)),
    })
}

fn encode(data: &OrderData) -> Result<String> {
    order_json::encode(data).map_err(StoreError::Other)
}

#[async_trait]
impl OrderStore for PgStore {
    async fn upsert_order(
        &self,
        data: &OrderData,
        initial: &OrderProgress,
        now: Timestamp,
        events: &[OrderEvent],
    ) -> Result<(Order, Upserted)> {
        let body = encode(data)?;
        let progress = progress_json::encode(initial);
        let tids = transaction_ids(data);
        let c = self.conn().await?;
        // One statement: the order (its progress only if new; pendencies and warnings
        // always, the version moving when they change) and its transaction ids.
        let stmt = c
            .prepare_cached(
                "WITH o AS (
                   INSERT INTO orders (operator_id, seller_id, channel, marketplace_order_id,
                     status, placed_at, total, created_at, updated_at, body, state,
                     progress_version, has_pendency, has_warnings, erp_sent, pendencies,
                     warnings, progress)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14,
                     $15, $16, $17)
                   ON CONFLICT (seller_id, channel, marketplace_order_id) DO UPDATE SET
                     status = EXCLUDED.status, placed_at = EXCLUDED.placed_at,
                     total = EXCLUDED.total, updated_at = EXCLUDED.updated_at,
                     body = EXCLUDED.body,
                     progress_version = orders.progress_version + CASE
                       WHEN orders.pendencies = EXCLUDED.pendencies
                        AND orders.warnings = EXCLUDED.warnings THEN 0 ELSE 1 END,
                     has_pendency = EXCLUDED.has_pendency,
                     has_warnings = EXCLUDED.has_warnings,
                     pendencies = EXCLUDED.pendencies, warnings = EXCLUDED.warnings
                   RETURNING id, created_at, (xmax = 0) AS inserted, state, progress_version,
                     progress, pendencies, warnings
                 ), gone AS (
                   DELETE FROM order_payment_ids d USING o
                   WHERE d.order_id = o.id AND NOT (d.transaction_id = ANY($18::text[]))
                 ), added AS (
                   INSERT INTO order_payment_ids (order_id, operator_id, seller_id, transaction_id)
                   SELECT o.id, $1, $2, t FROM o, UNNEST($18::text[]) AS t
                   ON CONFLICT DO NOTHING
                 )
                 SELECT id, created_at, inserted, state, progress_version, progress,
                   pendencies, warnings FROM o",
            )
            .await
            .map_err(map_err)?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 18] = [
            &data.operator_id,
            &data.seller_id,
            &data.channel,
            &data.marketplace_order_id,
            &data.status.as_str(),
            &data.placed_at.0,
            &data.total().0,
            &now.0,
            &body,
            &progress.state,
            &initial.version,
            &progress.has_pendency,
            &progress.has_warnings,
            &progress.erp_sent,
            &progress.pendencies,
            &progress.warnings,
            &progress.progress,
            &tids,
        ];
        // Without events the upsert is one statement; with them, `BEGIN` goes with it
        // and `COMMIT` with the events the answer lets us build.
        let answered = if events.is_empty() {
            c.query_one(&stmt, &params)
                .await
                .map_err(map_err)
                .map(|r| (r, None))
        } else {
            HandTx::begin_with(c, &stmt, &params)
                .await
                .map(|(tx, r)| (r, Some(tx)))
        };
        let counted = || {
            self.orders_written
                .fetch_add(1, std::sync::atomic::Ordering::Release)
        };
        let (r, tx) = match answered {
            Ok(a) => a,
            Err(e) => {
                counted();
                return Err(e);
            }
        };
        let how = if r.get::<_, bool>(2) {
            Upserted::Created
        } else {
            Upserted::Updated
        };
        let order = Order {
            id: r.get(0),
            data: data.clone(),
            created_at: Timestamp(r.get(1)),
            updated_at: now,
        };
        let Some(tx) = tx else {
            counted();
            return Ok((order, how));
        };
        let progress = progress_json::decode(r.get(3), r.get(4), r.get(5), r.get(6), r.get(7))
            .map_err(|e| StoreError::Other(format!("order {}: {e}", order.id)))?;
        let view = OrderView { order, progress };
        let rows = order_events(&*self.payloads, events, Some(how), &view, now);
        let committed = tx.commit_with(&rows).await;
        counted();
        committed?;
        self.wrote_events();
        Ok((view.order, how))
    }

    async fn get_order(&self, scope: &Scope, id: i64) -> Result<Order> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {ORDER_COLS} FROM orders WHERE id = $1 AND operator_id = $2
                 AND ($3::text IS NULL OR seller_id = $3)"
            ))
            .await
            .map_err(map_err)?;
        let r = c
            .query_opt(&stmt, &[&id, &scope.operator_id, &scope.seller_id])
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        decode(&r)
    }

    async fn find_orders_by_marketplace_id(
        &self,
        scope: &Scope,
        marketplace_order_id: &str,
    ) -> Result<Vec<Order>> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {ORDER_COLS} FROM orders WHERE operator_id = $1
                 AND marketplace_order_id = $2 AND ($3::text IS NULL OR seller_id = $3)
                 ORDER BY id"
            ))
            .await
            .map_err(map_err)?;
        let rows = c
            .query(
                &stmt,
                &[&scope.operator_id, &marketplace_order_id, &scope.seller_id],
            )
            .await
            .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    async fn count_orders(&self, scope: &Scope) -> Result<u64> {
        let c = self.conn().await?;
        let r = c
            .query_one(
                "SELECT COUNT(*) FROM orders WHERE operator_id = $1
                 AND ($2::text IS NULL OR seller_id = $2)",
                &[&scope.operator_id, &scope.seller_id],
            )
            .await
            .map_err(map_err)?;
        Ok(r.get::<_, i64>(0) as u64)
    }

    async fn import_orders(&self, orders: &[ImportOrder], now: Timestamp) -> Result<u64> {
        let mut text: [Vec<String>; 10] = Default::default();
        let (mut placed, mut total, mut version) = (Vec::new(), Vec::new(), Vec::new());
        let mut flags: [Vec<bool>; 3] = Default::default();
        // The transaction ids, by the order's key (its id is drawn by the insert).
        let mut tids: [Vec<String>; 4] = Default::default();
        for ImportOrder { data: o, progress } in orders {
            let stored = progress_json::encode(progress);
            for t in transaction_ids(o) {
                tids[0].push(o.seller_id.clone());
                tids[1].push(o.channel.clone());
                tids[2].push(o.marketplace_order_id.clone());
                tids[3].push(t);
            }
            text[0].push(o.operator_id.clone());
            text[1].push(o.seller_id.clone());
            text[2].push(o.channel.clone());
            text[3].push(o.marketplace_order_id.clone());
            text[4].push(o.status.as_str().to_string());
            text[5].push(encode(o)?);
            text[6].push(stored.state.to_string());
            text[7].push(stored.pendencies);
            text[8].push(stored.warnings);
            text[9].push(stored.progress);
            flags[0].push(stored.has_pendency);
            flags[1].push(stored.has_warnings);
            flags[2].push(stored.erp_sent);
            placed.push(o.placed_at.0);
            total.push(o.total().0);
            version.push(progress.version);
        }
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let n = tx
            .execute(
                "INSERT INTO orders (operator_id, seller_id, channel, marketplace_order_id, status,
                 placed_at, total, created_at, updated_at, body, state, progress_version,
                 has_pendency, has_warnings, erp_sent, pendencies, warnings, progress)
                 SELECT o, s, ch, m, st, p, t, $9, $9, b, sa, v, hp, hw, es, pe, w, pr
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::int8[], $7::int8[], $8::text[], $10::text[], $11::int8[],
                             $12::bool[], $13::bool[], $14::bool[], $15::text[], $16::text[],
                             $17::text[])
                   AS u(o, s, ch, m, st, p, t, b, sa, v, hp, hw, es, pe, w, pr)",
                &[
                    &text[0], &text[1], &text[2], &text[3], &text[4], &placed, &total, &text[5],
                    &now.0, &text[6], &version, &flags[0], &flags[1], &flags[2], &text[7],
                    &text[8], &text[9],
                ],
            )
            .await
            .map_err(map_err)?;
        if !tids[3].is_empty() {
            tx.execute(
                "INSERT INTO order_payment_ids (order_id, operator_id, seller_id, transaction_id)
                 SELECT o.id, o.operator_id, o.seller_id, u.t
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS u(s, ch, m, t)
                 JOIN orders o
                   ON o.seller_id = u.s AND o.channel = u.ch AND o.marketplace_order_id = u.m
                 ON CONFLICT DO NOTHING",
                &[&tids[0], &tids[1], &tids[2], &tids[3]],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        self.orders_written
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(n)
    }
}

/// The transaction ids of `data`'s payments, each once.
fn transaction_ids(data: &OrderData) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for t in data
        .payments
        .iter()
        .filter_map(|p| p.transaction_id.as_deref())
    {
        if !ids.iter().any(|i| i == t) {
            ids.push(t.to_string());
        }
    }
    ids
}
