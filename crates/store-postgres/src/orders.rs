//! Orders on PostgreSQL: `INSERT .. ON CONFLICT` upsert, scoped reads, `UNNEST` bulk load.
//!
//! The columns queries filter on are real columns; the rest of the order is one JSON
//! `body` in the shape [`crate::order_json`] owns.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::{OrderStore, Result, StoreError};
use tokio_postgres::Row;

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
        now: Timestamp,
        _events: &[OrderEvent],
    ) -> Result<(Order, Upserted)> {
        let body = encode(data)?;
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO orders (operator_id, seller_id, channel, marketplace_order_id, status,
                 placed_at, total, created_at, updated_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
                 ON CONFLICT (seller_id, channel, marketplace_order_id) DO UPDATE SET
                   status = EXCLUDED.status, placed_at = EXCLUDED.placed_at,
                   total = EXCLUDED.total, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body
                 RETURNING id, created_at, (xmax = 0) AS inserted",
            )
            .await
            .map_err(map_err)?;
        let r = c
            .query_one(
                &stmt,
                &[
                    &data.operator_id,
                    &data.seller_id,
                    &data.channel,
                    &data.marketplace_order_id,
                    &data.status.as_str(),
                    &data.placed_at.0,
                    &data.total().0,
                    &now.0,
                    &body,
                ],
            )
            .await
            .map_err(map_err)?;
        let inserted: bool = r.get(2);
        Ok((
            Order {
                id: r.get(0),
                data: data.clone(),
                created_at: Timestamp(r.get(1)),
                updated_at: now,
            },
            if inserted {
                Upserted::Created
            } else {
                Upserted::Updated
            },
        ))
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

    async fn import_orders(&self, orders: &[OrderData], now: Timestamp) -> Result<u64> {
        let mut cols: [Vec<String>; 6] = Default::default();
        let (mut placed, mut total) = (Vec::new(), Vec::new());
        for o in orders {
            cols[0].push(o.operator_id.clone());
            cols[1].push(o.seller_id.clone());
            cols[2].push(o.channel.clone());
            cols[3].push(o.marketplace_order_id.clone());
            cols[4].push(o.status.as_str().to_string());
            cols[5].push(encode(o)?);
            placed.push(o.placed_at.0);
            total.push(o.total().0);
        }
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let n = tx
            .execute(
                "INSERT INTO orders (operator_id, seller_id, channel, marketplace_order_id, status,
                 placed_at, total, created_at, updated_at, body)
                 SELECT o, s, ch, m, st, p, t, $9, $9, b
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::int8[], $7::int8[], $8::text[]) AS u(o, s, ch, m, st, p, t, b)",
                &[
                    &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &placed, &total, &cols[5],
                    &now.0,
                ],
            )
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }
}
