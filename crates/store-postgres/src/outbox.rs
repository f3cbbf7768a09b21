//! The outbox on PostgreSQL (see `entreposto_store::outbox`): events inserted last in
//! each change's transaction, positions stamped after commit, sinks' cursors over them.
//!
//! A claim runs in three short steps: it takes or keeps the sink's lease (one
//! statement: the sink's row says who holds it until when; a lease with more than
//! half its time left is kept without writing), stamps positions on the
//! events committed since the last stamp (under `outbox_stamp`'s row lock, in `seq`
//! order, in a transaction of its own so the lock is held for one statement), and
//! reads the sink's next events by position. Positions live apart from the events
//! (a commit lists its events' `seq`s in `outbox_unstamped`, a stamp moves them to
//! `outbox_positions`), so stamping never rewrites an event's row and payload. Several nodes may claim at once: only
//! one holds a sink's lease, and whichever stamps first stamps for every sink.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use entreposto_domain::Timestamp;
use entreposto_store::outbox::{Claim, EventFilter, NewEvent, OutboxEvent, SinkState};
use entreposto_store::{EventPayloads, OutboxStore, Result, StoreError};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::{map_err, PgStore};

/// Takes the stamp's lock (and reads the last position given): stamps, and the
/// retention that deletes stamped events, run one at a time under it.
const LOCK_STAMP: &str = "SELECT position FROM outbox_stamp WHERE id = 1 FOR UPDATE";

/// Most events one stamp gives positions to.
const STAMP_BATCH: i64 = 10_000;

const EVENT_COLS: &str = "e.seq, e.id, e.type, e.occurred_at, e.operator_id, e.seller_id, \
                          e.entity, e.entity_id, e.payload";

/// The events, and their `seq`s into `outbox_unstamped` for the stamper.
const INSERT_EVENTS: &str = "WITH e AS (
       INSERT INTO outbox_events (id, type, occurred_at, operator_id, seller_id, entity,
         entity_id, payload)
       SELECT id, type, at, op, seller, entity, entity_id, payload
       FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[],
                   $6::text[], $7::text[], $8::text[])
         WITH ORDINALITY AS e(id, type, at, op, seller, entity, entity_id, payload, n)
       ORDER BY n
       RETURNING seq)
     INSERT INTO outbox_unstamped (seq) SELECT seq FROM e";

/// The events as the columns of [`INSERT_EVENTS`].
struct Columns<'a> {
    text: [Vec<&'a str>; 6],
    at: Vec<i64>,
    sellers: Vec<Option<&'a str>>,
}

impl<'a> Columns<'a> {
    fn of(events: &'a [NewEvent]) -> Columns<'a> {
        let mut c = Columns {
            text: Default::default(),
            at: Vec::with_capacity(events.len()),
            sellers: Vec::with_capacity(events.len()),
        };
        for e in events {
            for (col, v) in c.text.iter_mut().zip([
                e.id.as_str(),
                e.event_type,
                &e.operator_id,
                e.entity,
                &e.entity_id,
                &e.payload,
            ]) {
                col.push(v);
            }
            c.at.push(e.occurred_at.0);
            c.sellers.push(e.seller_id.as_deref());
        }
        c
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        let t = &self.text;
        [
            &t[0],
            &t[1],
            &self.at,
            &t[2],
            &self.sellers,
            &t[3],
            &t[4],
            &t[5],
        ]
    }
}

/// Inserts `events` with one statement, in the caller's transaction: last, after the
/// change's rows (see the module note of `entreposto_store::outbox` on why).
pub(crate) async fn insert_events(c: &impl GenericClient, events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let stmt = c.prepare_cached(INSERT_EVENTS).await.map_err(map_err)?;
    let cols = Columns::of(events);
    c.execute(&stmt, &cols.params()).await.map_err(map_err)?;
    Ok(())
}

/// A transaction run by hand on a pooled connection, so that `BEGIN` travels with the
/// first statement and `COMMIT` with the events (two round trips for a write whose
/// events need its answer, where `Transaction` takes four). Dropped while open (an
/// error, a cancelled request), it rolls back before the connection is reused.
pub(crate) struct HandTx {
    conn: Option<deadpool_postgres::Object>,
    open: bool,
}

impl HandTx {
    /// Runs `BEGIN` and the statement `first` (already prepared) in one round trip.
    pub(crate) async fn begin_with(
        conn: deadpool_postgres::Object,
        first: &tokio_postgres::Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(HandTx, Row)> {
        let tx = HandTx {
            conn: Some(conn),
            open: true,
        };
        let c = tx.client();
        let (begun, row) = futures::join!(c.batch_execute("BEGIN"), c.query_one(first, params));
        begun.map_err(map_err)?;
        let row = row.map_err(map_err)?;
        Ok((tx, row))
    }

    pub(crate) fn client(&self) -> &deadpool_postgres::Object {
        self.conn.as_ref().expect("open until dropped")
    }

    /// Inserts `events` and commits, in one round trip (once the insert is prepared on
    /// this connection). If the insert fails, PostgreSQL answers the `COMMIT` with a
    /// rollback: the insert's error is returned and nothing of the change stays.
    pub(crate) async fn commit_with(mut self, events: &[NewEvent]) -> Result<()> {
        let c = self.client();
        let stmt = c.prepare_cached(INSERT_EVENTS).await.map_err(map_err)?;
        let cols = Columns::of(events);
        let params = cols.params();
        // Polled in order: the insert is sent before the `COMMIT`.
        let (inserted, committed) =
            futures::join!(c.execute(&stmt, &params), c.batch_execute("COMMIT"));
        self.open = false;
        inserted.map_err(map_err)?;
        committed.map_err(map_err)
    }
}

impl Drop for HandTx {
    fn drop(&mut self) {
        if let (true, Some(c)) = (self.open, self.conn.take()) {
            tokio::spawn(async move {
                if let Err(e) = c.batch_execute("ROLLBACK").await {
                    tracing::warn!(error = %e, "rolling back an abandoned transaction");
                }
            });
        }
    }
}

fn event_from_row(r: &Row) -> OutboxEvent {
    OutboxEvent {
        seq: r.get(0),
        id: r.get(1),
        event_type: r.get(2),
        occurred_at: Timestamp(r.get(3)),
        operator_id: r.get(4),
        seller_id: r.get(5),
        entity: r.get(6),
        entity_id: r.get(7),
        payload: r.get(8),
    }
}

impl PgStore {
    /// With the renderer of event payloads (the server hands the native API's).
    pub fn with_payloads(mut self, payloads: std::sync::Arc<dyn EventPayloads>) -> PgStore {
        self.payloads = payloads;
        self
    }

    /// Wakes the relays waiting on [`OutboxStore::event_signal`]: called after a
    /// transaction that inserted events has committed.
    pub(crate) fn wrote_events(&self) {
        self.events.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Gives positions to committed events that have none, in `seq` order.
    async fn stamp(&self) -> Result<()> {
        let mut c = self.conn().await?;
        // Nothing to stamp is the common case when idle: one index probe, no lock.
        let waiting = c
            .query_opt("SELECT 1 FROM outbox_unstamped LIMIT 1", &[])
            .await
            .map_err(map_err)?;
        if waiting.is_none() {
            return Ok(());
        }
        let tx = c.transaction().await.map_err(map_err)?;
        // The lock first, then (a new statement, so a new snapshot under READ
        // COMMITTED) the events: every stamp committed before is seen.
        let last: i64 = tx.query_one(LOCK_STAMP, &[]).await.map_err(map_err)?.get(0);
        let stamped = tx
            .query_one(
                "WITH next AS (
                   SELECT seq FROM outbox_unstamped ORDER BY seq LIMIT $2
                 ), taken AS (
                   DELETE FROM outbox_unstamped u USING next WHERE u.seq = next.seq
                   RETURNING u.seq
                 ), done AS (
                   INSERT INTO outbox_positions (position, seq)
                   SELECT $1 + row_number() OVER (ORDER BY seq), seq FROM taken
                   RETURNING position
                 )
                 SELECT COALESCE(MAX(position), $1) FROM done",
                &[&last, &STAMP_BATCH],
            )
            .await
            .map_err(map_err)?
            .get::<_, i64>(0);
        if stamped != last {
            tx.execute(
                "UPDATE outbox_stamp SET position = $1 WHERE id = 1",
                &[&stamped],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn claim_events(
        &self,
        sink: &str,
        holder: &str,
        limit: u32,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<Claim>> {
        // A lease held with more than half its time left is kept without a write:
        // an idle relay's claims then cost one read.
        let held = self.sink_state(sink).await?;
        let half = Timestamp(now.0 + (lease_until.0 - now.0) / 2);
        let position: i64 = match held {
            Some(s) if s.holder.as_deref() == Some(holder) && s.lease_until > half => s.position,
            _ => {
                let c = self.conn().await?;
                let stmt = c
                    .prepare_cached(
                        "INSERT INTO outbox_sinks AS s (sink, position, holder, lease_until,
                           updated_at)
                         VALUES ($1, 0, $2, $3, $4)
                         ON CONFLICT (sink) DO UPDATE SET holder = EXCLUDED.holder,
                           lease_until = EXCLUDED.lease_until
                         WHERE s.holder IS NULL OR s.holder = $2 OR s.lease_until <= $4
                         RETURNING position",
                    )
                    .await
                    .map_err(map_err)?;
                match c
                    .query_opt(&stmt, &[&sink, &holder, &lease_until.0, &now.0])
                    .await
                    .map_err(map_err)?
                {
                    Some(r) => r.get(0),
                    None => return Ok(None),
                }
            }
        };
        self.stamp().await?;
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {EVENT_COLS}, p.position FROM outbox_positions p
                 JOIN outbox_events e ON e.seq = p.seq
                 WHERE p.position > $1 ORDER BY p.position LIMIT $2"
            ))
            .await
            .map_err(map_err)?;
        let rows = c
            .query(&stmt, &[&position, &i64::from(limit)])
            .await
            .map_err(map_err)?;
        let mut events = Vec::with_capacity(rows.len());
        let mut positions = Vec::with_capacity(rows.len());
        for r in &rows {
            events.push(event_from_row(r));
            positions.push(r.get(9));
        }
        Ok(Some(Claim { events, positions }))
    }

    async fn ack_events(&self, sink: &str, holder: &str, through: i64) -> Result<()> {
        let c = self.conn().await?;
        let changed = c
            .execute(
                "UPDATE outbox_sinks SET position = GREATEST(position, $3), updated_at = $4
                 WHERE sink = $1 AND holder = $2",
                &[&sink, &holder, &through, &Timestamp::now().0],
            )
            .await
            .map_err(map_err)?;
        if changed == 0 {
            return Err(StoreError::Stale);
        }
        Ok(())
    }

    async fn release_sink(&self, sink: &str, holder: &str) -> Result<()> {
        let c = self.conn().await?;
        c.execute(
            "UPDATE outbox_sinks SET holder = NULL, lease_until = 0
             WHERE sink = $1 AND holder = $2",
            &[&sink, &holder],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn sink_state(&self, sink: &str) -> Result<Option<SinkState>> {
        let c = self.conn().await?;
        let row = c
            .query_opt(
                "SELECT sink, position, holder, lease_until FROM outbox_sinks WHERE sink = $1",
                &[&sink],
            )
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| SinkState {
            sink: r.get(0),
            position: r.get(1),
            holder: r.get(2),
            lease_until: Timestamp(r.get(3)),
        }))
    }

    async fn list_events(&self, f: &EventFilter) -> Result<Vec<OutboxEvent>> {
        let (at, seq) = f.after.unwrap_or((f.since, -1));
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {EVENT_COLS} FROM outbox_events e
                 WHERE e.operator_id = $1 AND ($2::text IS NULL OR e.seller_id = $2)
                   AND e.occurred_at >= $3 AND (e.occurred_at, e.seq) > ($4, $5)
                 ORDER BY e.occurred_at, e.seq LIMIT $6"
            ))
            .await
            .map_err(map_err)?;
        let rows = c
            .query(
                &stmt,
                &[
                    &f.operator_id,
                    &f.seller_id,
                    &f.since.0,
                    &at.0,
                    &seq,
                    &i64::from(f.limit),
                ],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(event_from_row).collect())
    }

    async fn get_event(&self, operator_id: &str, id: &str) -> Result<OutboxEvent> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {EVENT_COLS} FROM outbox_events e WHERE e.id = $1 AND e.operator_id = $2"
            ))
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&id, &operator_id])
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        Ok(event_from_row(&row))
    }

    async fn prune_events(&self, before: Timestamp, limit: u32) -> Result<u64> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // Under the stamp's lock, then (a new statement, a new snapshot) the delete:
        // every stamp committed before is seen, so no position outlives its event.
        tx.query_one(LOCK_STAMP, &[]).await.map_err(map_err)?;
        // The oldest `limit` events by `seq`, of which those old enough (`seq` follows
        // time closely, so this never walks past the head of the table), with their
        // positions (or their place in the stamp's line, had they none yet).
        let row = tx
            .query_one(
                "WITH gone AS (
                   DELETE FROM outbox_events WHERE seq IN (
                     SELECT seq FROM (SELECT seq, occurred_at FROM outbox_events
                                      ORDER BY seq LIMIT $2) head
                     WHERE occurred_at < $1)
                   RETURNING seq
                 ), positions AS (
                   DELETE FROM outbox_positions p USING gone WHERE p.seq = gone.seq
                 ), unstamped AS (
                   DELETE FROM outbox_unstamped u USING gone WHERE u.seq = gone.seq
                 )
                 SELECT count(*) FROM gone",
                &[&before.0, &i64::from(limit)],
            )
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.events.subscribe()
    }
}
