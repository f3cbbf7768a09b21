//! Orders on SQLite: upsert by marketplace key, scoped reads, bulk import.
//!
//! The columns a query filters or sorts on are real columns; the rest of the order
//! (`OrderData`) is one `body` value. Bodies are written as a BLOB: a format byte
//! ([`BODY_V1`]) then `OrderData` in postcard, a compact binary serde format. Decoding
//! it costs about a third of decoding the same order as JSON (measured 1.9 µs for a
//! demo order's JSON), and reading an order is most of what a GET of one does. Rows
//! written before (TEXT, JSON) still read: SQLite keeps each value's type, so the type
//! tells the two apart. Postcard is not self-describing, so `OrderData` and the types
//! inside it cannot change shape under `BODY_V1`: a change means a new format byte
//! and keeping a decoder for the old one (the `v1_body_fixture` test fails first).

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::{OrderStore, Result, StoreError};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::{map_err, SqliteStore};

#[rustfmt::skip]
macro_rules! order_cols {
    () => {
        order_cols!("")
    };
    ($p:literal) => {
        concat!($p, "id, ", $p, "created_at, ", $p, "updated_at, ", $p, "body")
    };
}
pub(crate) use order_cols;

// Reads are fixed statements taking the scope as `?2` (operator) and `?3` (seller or
// NULL), checked on the row.
const ORDER_BY_ID: &str = concat!(
    "SELECT ",
    order_cols!(),
    " FROM orders WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)"
);
const ORDERS_BY_MARKETPLACE_ID: &str = concat!(
    "SELECT ",
    order_cols!(),
    " FROM orders WHERE operator_id = ?2 AND marketplace_order_id = ?1
      AND (?3 IS NULL OR seller_id = ?3) ORDER BY id"
);

/// Decodes an order row (`order_cols!`) straight from the statement's buffer, with no
/// intermediate copy of the body.
fn order_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Order>> {
    order_at(r, 0)
}

/// The `order_cols!` that start at column `b`: the id, the body read by `decode`, and
/// the created and updated times. A body that does not decode is an error naming the
/// order (the outer result is SQLite's).
type StoredOrder<T> = (i64, T, Timestamp, Timestamp);

fn stored_at<T>(
    r: &Row<'_>,
    b: usize,
    decode: fn(ValueRef<'_>) -> std::result::Result<T, String>,
) -> rusqlite::Result<Result<StoredOrder<T>>> {
    let id: i64 = r.get(b)?;
    let body = match decode(r.get_ref(b + 3)?) {
        Ok(body) => body,
        Err(e) => return Ok(Err(StoreError::Other(format!("order {id}: {e}")))),
    };
    Ok(Ok((
        id,
        body,
        Timestamp(r.get(b + 1)?),
        Timestamp(r.get(b + 2)?),
    )))
}

/// An order from the `order_cols!` that start at column `b`.
pub(crate) fn order_at(r: &Row<'_>, b: usize) -> rusqlite::Result<Result<Order>> {
    Ok(
        stored_at(r, b, decode)?.map(|(id, data, created_at, updated_at)| Order {
            id,
            data,
            created_at,
            updated_at,
        }),
    )
}

/// The head of an order (see [`OrderHead`]) from the `order_cols!` that start at
/// column `b`: only the beginning of the body is decoded.
pub(crate) fn order_summary_at(r: &Row<'_>, b: usize) -> rusqlite::Result<Result<OrderSummary>> {
    Ok(
        stored_at(r, b, decode_head)?.map(|(id, head, created_at, updated_at)| OrderSummary {
            id,
            head,
            created_at,
            updated_at,
        }),
    )
}

/// One order in `scope`.
pub(crate) fn load_order(c: &Connection, scope: &Scope, id: i64) -> Result<Order> {
    c.prepare_cached(ORDER_BY_ID)
        .and_then(|mut s| {
            s.query_row(
                params![id, scope.operator_id, scope.seller_id],
                order_from_row,
            )
        })
        .map_err(map_err)?
}

/// The format byte of a postcard body.
const BODY_V1: u8 = 1;

fn encode(data: &OrderData) -> Result<Vec<u8>> {
    postcard::to_extend(data, vec![BODY_V1]).map_err(|e| StoreError::Other(e.to_string()))
}

fn decode(body: ValueRef<'_>) -> std::result::Result<OrderData, String> {
    match body {
        ValueRef::Blob([BODY_V1, rest @ ..]) => {
            postcard::from_bytes(rest).map_err(|e| format!("corrupt body: {e}"))
        }
        ValueRef::Text(json) => {
            serde_json::from_slice(json).map_err(|e| format!("corrupt JSON body: {e}"))
        }
        ValueRef::Blob(b) => Err(format!(
            "body in an unknown format (first byte {:?})",
            b.first()
        )),
        _ => Err("body is neither a BLOB nor text".into()),
    }
}

/// The head of a stored body: a postcard body's leading fields (the rest is left
/// unread), or a JSON body's fields of the head.
fn decode_head(body: ValueRef<'_>) -> std::result::Result<OrderHead, String> {
    match body {
        ValueRef::Blob([BODY_V1, rest @ ..]) => postcard::take_from_bytes(rest)
            .map(|(head, _)| head)
            .map_err(|e| format!("corrupt body: {e}")),
        ValueRef::Text(json) => {
            serde_json::from_slice(json).map_err(|e| format!("corrupt JSON body: {e}"))
        }
        other => decode(other).map(OrderHead::from),
    }
}

fn insert(c: &Connection, data: &OrderData, body: &[u8], now: Timestamp) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO orders (operator_id, seller_id, channel, marketplace_order_id, status,
         placed_at, total, created_at, updated_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            data.operator_id,
            data.seller_id,
            data.channel,
            data.marketplace_order_id,
            data.status.as_str(),
            data.placed_at.0,
            data.total().0,
            now.0,
            body
        ])
    })
    .map_err(map_err)?;
    Ok(c.last_insert_rowid())
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn upsert_order(&self, data: &OrderData, now: Timestamp) -> Result<(Order, Upserted)> {
        let data = data.clone();
        // Encoding outside the writer keeps the single writer thread on SQL only.
        let body = encode(&data)?;
        self.write(move |c| {
            let existing: Option<(i64, i64)> = c
                .prepare_cached(
                    "SELECT id, created_at FROM orders
                     WHERE seller_id = ?1 AND channel = ?2 AND marketplace_order_id = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(
                        params![data.seller_id, data.channel, data.marketplace_order_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                })
                .map_err(map_err)?;
            match existing {
                Some((id, created)) => {
                    c.prepare_cached(
                        "UPDATE orders SET status = ?2, placed_at = ?3, total = ?4,
                         updated_at = ?5, body = ?6 WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            id,
                            data.status.as_str(),
                            data.placed_at.0,
                            data.total().0,
                            now.0,
                            body
                        ])
                    })
                    .map_err(map_err)?;
                    Ok((
                        Order {
                            id,
                            data,
                            created_at: Timestamp(created),
                            updated_at: now,
                        },
                        Upserted::Updated,
                    ))
                }
                None => {
                    let id = insert(c, &data, &body, now)?;
                    Ok((
                        Order {
                            id,
                            data,
                            created_at: now,
                            updated_at: now,
                        },
                        Upserted::Created,
                    ))
                }
            }
        })
        .await
    }

    async fn get_order(&self, scope: &Scope, id: i64) -> Result<Order> {
        self.read_now(|c| load_order(c, scope, id))
    }

    async fn find_orders_by_marketplace_id(
        &self,
        scope: &Scope,
        marketplace_order_id: &str,
    ) -> Result<Vec<Order>> {
        let rows = self.read_now(|c| {
            let mut s = c
                .prepare_cached(ORDERS_BY_MARKETPLACE_ID)
                .map_err(map_err)?;
            let rows = s
                .query_map(
                    params![marketplace_order_id, scope.operator_id, scope.seller_id],
                    order_from_row,
                )
                .map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
        })?;
        rows.into_iter().collect()
    }

    async fn count_orders(&self, scope: &Scope) -> Result<u64> {
        let scope = scope.clone();
        self.read(move |c| {
            let n: i64 = match &scope.seller_id {
                Some(seller) => {
                    c.prepare_cached(
                        "SELECT COUNT(*) FROM orders WHERE seller_id = ?1 AND operator_id = ?2",
                    )
                    .and_then(|mut s| s.query_row(params![seller, scope.operator_id], |r| r.get(0)))
                }
                None => c
                    .prepare_cached("SELECT COUNT(*) FROM orders WHERE operator_id = ?1")
                    .and_then(|mut s| s.query_row(params![scope.operator_id], |r| r.get(0))),
            }
            .map_err(map_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn import_orders(&self, orders: &[OrderData], now: Timestamp) -> Result<u64> {
        let encoded = orders
            .iter()
            .map(|o| encode(o).map(|b| (o.clone(), b)))
            .collect::<Result<Vec<_>>>()?;
        self.write(move |c| {
            for (data, body) in &encoded {
                insert(c, data, body, now)?;
            }
            Ok(encoded.len() as u64)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A head read from the beginning of a stored body is the body's head: `OrderHead`'s
    /// fields are `OrderData`'s first ones, in order. Reordering either breaks this.
    #[test]
    fn a_head_decodes_from_the_beginning_of_a_body() {
        let seller = Seller {
            id: "S".into(),
            operator_id: "O".into(),
            name: "Loja".into(),
            document: None,
            created_at: Timestamp(0),
        };
        let mut data = entreposto_store::fixtures::sample_order(&seller, "02-1");
        data.items.push(data.items[0].clone());
        data.payments.push(data.payments[0].clone());
        let body = encode(&data).unwrap();
        let head = decode_head(ValueRef::Blob(&body)).unwrap();
        assert_eq!(head, OrderHead::from(data.clone()));
        let json = serde_json::to_vec(&data).unwrap();
        assert_eq!(
            decode_head(ValueRef::Text(&json)).unwrap(),
            OrderHead::from(data)
        );
    }
}
