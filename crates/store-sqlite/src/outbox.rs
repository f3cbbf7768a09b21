//! The outbox on SQLite (see `entreposto_store::outbox`): events inserted by each
//! change's write job, in its savepoint, and sinks' cursors over `seq`.
//!
//! The one writer commits groups in the order it ran them and `seq` is the table's
//! AUTOINCREMENT rowid, so a later commit always has larger `seq`s: a sink's position
//! is the `seq` itself, and `seq > position` never skips a row that commits late.
//! A claim that keeps a lease with more than half its time left reads the sink's row
//! from a snapshot instead of queueing a write, so a relay polling an idle outbox
//! costs the writer nothing.

use async_trait::async_trait;
use entreposto_domain::Timestamp;
use entreposto_store::outbox::{Claim, EventFilter, NewEvent, OutboxEvent, SinkState};
use entreposto_store::{EventPayloads, OutboxStore, Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::{map_err, SqliteStore};

/// Rows per INSERT statement: 8 parameters each, well under SQLite's limit.
const ROWS_PER_INSERT: usize = 64;

const EVENT_COLS: &str =
    "seq, id, type, occurred_at, operator_id, seller_id, entity, entity_id, payload";

const INSERT_ONE: &str = "INSERT INTO outbox_events (id, type, occurred_at, operator_id,
     seller_id, entity, entity_id, payload) VALUES (?,?,?,?,?,?,?,?)";

/// Inserts `events` in the caller's transaction, a statement per 64 of them. The
/// common single event (an order push) takes a fixed statement, built once.
pub(crate) fn insert_events(c: &Connection, events: &[NewEvent]) -> Result<()> {
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let many;
        let sql = if chunk.len() == 1 {
            INSERT_ONE
        } else {
            let rows = vec!["(?,?,?,?,?,?,?,?)"; chunk.len()].join(",");
            many = format!(
                "{} VALUES {rows}",
                INSERT_ONE.split(" VALUES ").next().unwrap_or("")
            );
            &many
        };
        let mut s = c.prepare_cached(sql).map_err(map_err)?;
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 8);
        for e in chunk {
            values.extend_from_slice(&[
                &e.id,
                &e.event_type,
                &e.occurred_at.0,
                &e.operator_id,
                &e.seller_id,
                &e.entity,
                &e.entity_id,
                &e.payload,
            ]);
        }
        s.execute(values.as_slice()).map_err(map_err)?;
    }
    Ok(())
}

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<OutboxEvent> {
    Ok(OutboxEvent {
        seq: r.get(0)?,
        id: r.get(1)?,
        event_type: r.get(2)?,
        occurred_at: Timestamp(r.get(3)?),
        operator_id: r.get(4)?,
        seller_id: r.get(5)?,
        entity: r.get(6)?,
        entity_id: r.get(7)?,
        payload: r.get(8)?,
    })
}

fn events(c: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<OutboxEvent>> {
    let mut s = c.prepare_cached(sql).map_err(map_err)?;
    let rows = s.query_map(p, event_from_row).map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

fn sink_from_row(r: &Row<'_>) -> rusqlite::Result<SinkState> {
    Ok(SinkState {
        sink: r.get(0)?,
        position: r.get(1)?,
        holder: r.get(2)?,
        lease_until: Timestamp(r.get(3)?),
    })
}

fn load_sink(c: &Connection, sink: &str) -> Result<Option<SinkState>> {
    c.prepare_cached("SELECT sink, position, holder, lease_until FROM outbox_sinks WHERE sink = ?1")
        .and_then(|mut s| s.query_row([sink], sink_from_row).optional())
        .map_err(map_err)
}

impl SqliteStore {
    /// With the renderer of event payloads (the server hands the native API's).
    pub fn with_payloads(mut self, payloads: std::sync::Arc<dyn EventPayloads>) -> SqliteStore {
        self.payloads = payloads;
        self
    }

    /// Wakes the relays waiting on [`OutboxStore::event_signal`]: called after a
    /// write that inserted events has committed.
    pub(crate) fn wrote_events(&self) {
        self.events.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_events(
        &self,
        sink: &str,
        holder: &str,
        limit: u32,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<Claim>> {
        let held = self.read_now(|c| load_sink(c, sink))?;
        let half = Timestamp(now.0 + (lease_until.0 - now.0) / 2);
        let position = match held {
            Some(s) if s.holder.as_deref() == Some(holder) && s.lease_until > half => s.position,
            _ => {
                let (sink, holder) = (sink.to_string(), holder.to_string());
                let taken = self
                    .write(move |c| {
                        c.prepare_cached(
                            "INSERT INTO outbox_sinks (sink, position, holder, lease_until, updated_at)
                             VALUES (?1, 0, ?2, ?3, ?4)
                             ON CONFLICT (sink) DO UPDATE SET holder = excluded.holder,
                               lease_until = excluded.lease_until
                             WHERE outbox_sinks.holder IS NULL OR outbox_sinks.holder = ?2
                               OR outbox_sinks.lease_until <= ?4
                             RETURNING position",
                        )
                        .and_then(|mut s| {
                            s.query_row(params![sink, holder, lease_until.0, now.0], |r| {
                                r.get::<_, i64>(0)
                            })
                            .optional()
                        })
                        .map_err(map_err)
                    })
                    .await?;
                match taken {
                    Some(p) => p,
                    None => return Ok(None),
                }
            }
        };
        let events = self
            .read(move |c| {
                events(
                    c,
                    &format!(
                        "SELECT {EVENT_COLS} FROM outbox_events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
                    ),
                    &[&position, &limit],
                )
            })
            .await?;
        let positions = events.iter().map(|e| e.seq).collect();
        Ok(Some(Claim { events, positions }))
    }

    async fn ack_events(&self, sink: &str, holder: &str, through: i64) -> Result<()> {
        let (sink, holder) = (sink.to_string(), holder.to_string());
        let now = Timestamp::now();
        let changed = self
            .write(move |c| {
                c.prepare_cached(
                    "UPDATE outbox_sinks SET position = max(position, ?3), updated_at = ?4
                     WHERE sink = ?1 AND holder = ?2",
                )
                .and_then(|mut s| s.execute(params![sink, holder, through, now.0]))
                .map_err(map_err)
            })
            .await?;
        if changed == 0 {
            return Err(StoreError::Stale);
        }
        Ok(())
    }

    async fn release_sink(&self, sink: &str, holder: &str) -> Result<()> {
        let (sink, holder) = (sink.to_string(), holder.to_string());
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE outbox_sinks SET holder = NULL, lease_until = 0
                 WHERE sink = ?1 AND holder = ?2",
            )
            .and_then(|mut s| s.execute(params![sink, holder]))
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn sink_state(&self, sink: &str) -> Result<Option<SinkState>> {
        self.read_now(|c| load_sink(c, sink))
    }

    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<OutboxEvent>> {
        let f = filter.clone();
        self.read(move |c| {
            let (at, seq) = f.after.unwrap_or((f.since, -1));
            events(
                c,
                &format!(
                    "SELECT {EVENT_COLS} FROM outbox_events
                     WHERE operator_id = ?1 AND (?2 IS NULL OR seller_id = ?2)
                       AND occurred_at >= ?3 AND (occurred_at, seq) > (?4, ?5)
                     ORDER BY occurred_at, seq LIMIT ?6"
                ),
                &[
                    &f.operator_id,
                    &f.seller_id,
                    &f.since.0,
                    &at.0,
                    &seq,
                    &f.limit,
                ],
            )
        })
        .await
    }

    async fn get_event(&self, operator_id: &str, id: &str) -> Result<OutboxEvent> {
        self.read_now(|c| {
            events(
                c,
                &format!(
                    "SELECT {EVENT_COLS} FROM outbox_events WHERE id = ?1 AND operator_id = ?2"
                ),
                &[&id, &operator_id],
            )
        })?
        .pop()
        .ok_or(StoreError::NotFound)
    }

    async fn prune_events(&self, before: Timestamp, limit: u32) -> Result<u64> {
        self.write(move |c| {
            // The oldest `limit` events by `seq`, of which those old enough: `seq`
            // follows time closely, so this never walks past the head of the table.
            c.prepare_cached(
                "DELETE FROM outbox_events WHERE seq IN (
                   SELECT seq FROM (SELECT seq, occurred_at FROM outbox_events
                                    ORDER BY seq LIMIT ?2)
                   WHERE occurred_at < ?1)",
            )
            .and_then(|mut s| s.execute(params![before.0, limit]))
            .map(|n| n as u64)
            .map_err(map_err)
        })
        .await
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.events.subscribe()
    }
}
