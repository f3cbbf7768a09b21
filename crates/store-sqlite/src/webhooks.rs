//! Webhook endpoints, deliveries and their log on SQLite. One node writes at a time
//! (the writer thread), so a claim is a plain update of the due rows inside the
//! writer's transaction: no other claim can interleave with it. A claim first looks
//! for a due delivery in a read snapshot, so an idle dispatcher's polls cost the
//! writer nothing.

use async_trait::async_trait;
use entreposto_domain::{DeliveryState, Timestamp, WebhookEndpoint};
use entreposto_store::webhooks::{
    attach_attempts, claimed_endpoint, state_from_column, Attempt, AttemptOutcome, ClaimedDelivery,
    Delivery, DeliveryFilter, EndpointHealth, EndpointRow, Enqueued, FanOutLease, LeasedDelivery,
    OutgoingMessage, Recorded, ATTEMPT_COLS, DELIVERY_COLS, ENDPOINT_COLS,
};
use entreposto_store::{new_id, Result, StoreError, WebhookStore};
use rusqlite::{params, Connection, OptionalExtension, Row};

use entreposto_store::sealing::{
    reseal_body, reseal_endpoint, reseal_feed, LostSecrets, Resealed, Sealer,
};

use crate::{map_err, SqliteStore};

fn endpoint_row(r: &Row<'_>) -> rusqlite::Result<EndpointRow> {
    endpoint_row_at(r, 0)
}

/// The endpoint whose [`ENDPOINT_COLS`] start at column `at`.
fn endpoint_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<EndpointRow> {
    Ok(EndpointRow {
        id: r.get(at)?,
        operator_id: r.get(at + 1)?,
        seller_id: r.get(at + 2)?,
        url: r.get(at + 3)?,
        events: r.get(at + 4)?,
        description: r.get(at + 5)?,
        enabled: r.get(at + 6)?,
        disabled_reason: r.get(at + 7)?,
        secret: r.get(at + 8)?,
        previous_secret: r.get(at + 9)?,
        previous_until: r.get(at + 10)?,
        failing_since: r.get(at + 11)?,
        created_at: r.get(at + 12)?,
        updated_at: r.get(at + 13)?,
        version: r.get(at + 14)?,
    })
}

fn endpoints(
    c: &Connection,
    sealer: &Sealer,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<WebhookEndpoint>> {
    let mut s = c.prepare_cached(sql).map_err(map_err)?;
    let rows = s
        .query_map(p, endpoint_row)
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    rows.into_iter().map(|e| e.into_endpoint(sealer)).collect()
}

fn one_endpoint(
    c: &Connection,
    sealer: &Sealer,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<WebhookEndpoint> {
    endpoints(c, sealer, sql, p)?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

fn delivery_row(r: &Row<'_>) -> rusqlite::Result<(Delivery, String)> {
    Ok((
        Delivery {
            id: r.get(0)?,
            seq: r.get(1)?,
            message_id: r.get(2)?,
            event_type: r.get(3)?,
            entity: r.get(4)?,
            occurred_at: Timestamp(r.get(5)?),
            state: DeliveryState::Pending,
            tries: r.get(7)?,
            next_attempt_at: r.get::<_, Option<i64>>(8)?.map(Timestamp),
            claimed_by: r.get(9)?,
            attempts: Vec::new(),
        },
        r.get(6)?,
    ))
}

fn attempt_row(r: &Row<'_>) -> rusqlite::Result<(i64, Attempt)> {
    Ok((
        r.get(0)?,
        Attempt {
            at: Timestamp(r.get(1)?),
            node: r.get(2)?,
            status: r.get(3)?,
            response: r.get(4)?,
            duration_ms: r.get(5)?,
            error: r.get(6)?,
        },
    ))
}

/// The deliveries `sql` selects (its columns [`DELIVERY_COLS`]), with their attempts.
fn deliveries(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Delivery>> {
    let mut s = c.prepare_cached(sql).map_err(map_err)?;
    let rows = s
        .query_map(p, delivery_row)
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for (mut d, state) in rows {
        d.state = state_from_column(&state)?;
        out.push(d);
    }
    if out.is_empty() {
        return Ok(out);
    }
    let ids: Vec<String> = out.iter().map(|d| d.id.to_string()).collect();
    let mut s = c
        .prepare(&format!(
            "SELECT {ATTEMPT_COLS} FROM webhook_attempts WHERE delivery_id IN ({}) \
             ORDER BY delivery_id, id",
            ids.join(",")
        ))
        .map_err(map_err)?;
    let attempts = s
        .query_map([], attempt_row)
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    attach_attempts(&mut out, attempts);
    Ok(out)
}

/// `items` as one JSON array, for a statement that reads it with `json_each`: one
/// statement, kept in the cache, whatever the list's length.
fn json_list<T: serde::Serialize>(items: &[T]) -> Result<String> {
    serde_json::to_string(items).map_err(|e| StoreError::Other(e.to_string()))
}

/// The endpoint `id` of `operator_id` exists (`NotFound` otherwise).
fn check_endpoint(c: &Connection, operator_id: &str, id: &str) -> Result<()> {
    c.prepare_cached("SELECT 1 FROM webhook_endpoints WHERE id = ?1 AND operator_id = ?2")
        .and_then(|mut s| s.query_row(params![id, operator_id], |_| Ok(())))
        .map_err(map_err)
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<()> {
        let e = EndpointRow::of(endpoint, &self.sealer);
        self.write(move |c| {
            c.prepare_cached(&format!(
                "INSERT INTO webhook_endpoints ({ENDPOINT_COLS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    e.id,
                    e.operator_id,
                    e.seller_id,
                    e.url,
                    e.events,
                    e.description,
                    e.enabled,
                    e.disabled_reason,
                    e.secret,
                    e.previous_secret,
                    e.previous_until,
                    e.failing_since,
                    e.created_at,
                    e.updated_at,
                    e.version
                ])
            })
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn get_endpoint(&self, operator_id: &str, id: &str) -> Result<WebhookEndpoint> {
        self.read_now(|c| {
            one_endpoint(
                c,
                &self.sealer,
                &format!(
                    "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = ?1 AND operator_id = ?2"
                ),
                params![id, operator_id],
            )
        })
    }

    async fn find_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        self.read_now(|c| {
            one_endpoint(
                c,
                &self.sealer,
                &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = ?1"),
                [id],
            )
        })
    }

    async fn list_endpoints(&self, operator_id: &str) -> Result<Vec<WebhookEndpoint>> {
        let operator_id = operator_id.to_string();
        let sealer = self.sealer.clone();
        self.read(move |c| {
            endpoints(
                c,
                &sealer,
                &format!(
                    "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE operator_id = ?1
                     ORDER BY created_at, id"
                ),
                [operator_id],
            )
        })
        .await
    }

    async fn endpoints_of(&self, operator_ids: &[String]) -> Result<Vec<WebhookEndpoint>> {
        let ids = json_list(operator_ids)?;
        self.read_now(|c| {
            endpoints(
                c,
                &self.sealer,
                &format!(
                    "SELECT {ENDPOINT_COLS} FROM webhook_endpoints
                     WHERE operator_id IN (SELECT value FROM json_each(?1))
                     ORDER BY created_at, id"
                ),
                [&ids],
            )
        })
    }

    async fn update_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        loaded_version: i64,
    ) -> Result<WebhookEndpoint> {
        let mut e = EndpointRow::of(endpoint, &self.sealer);
        e.version = loaded_version + 1;
        let sealer = self.sealer.clone();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE webhook_endpoints SET url = ?3, events = ?4, description = ?5,
                       enabled = ?6, disabled_reason = ?7, secret = ?8, previous_secret = ?9,
                       previous_until = ?10, failing_since = ?11, updated_at = ?12, version = ?13
                     WHERE id = ?1 AND operator_id = ?2 AND version = ?14",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        e.id,
                        e.operator_id,
                        e.url,
                        e.events,
                        e.description,
                        e.enabled,
                        e.disabled_reason,
                        e.secret,
                        e.previous_secret,
                        e.previous_until,
                        e.failing_since,
                        e.updated_at,
                        e.version,
                        loaded_version
                    ])
                })
                .map_err(map_err)?;
            if n == 0 {
                check_endpoint(c, &e.operator_id, &e.id)?;
                return Err(StoreError::Stale);
            }
            e.into_endpoint(&sealer)
        })
        .await
    }

    async fn delete_endpoint(&self, operator_id: &str, id: &str) -> Result<()> {
        let (operator_id, id) = (operator_id.to_string(), id.to_string());
        self.write(move |c| {
            let n = c
                .execute(
                    "DELETE FROM webhook_endpoints WHERE id = ?1 AND operator_id = ?2",
                    params![id, operator_id],
                )
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn enqueue_messages(&self, messages: &[OutgoingMessage]) -> Result<u64> {
        let messages = messages.to_vec();
        self.write(move |c| enqueue(c, &messages, None).map(|e| e.new))
            .await
    }

    async fn enqueue_leasing(
        &self,
        messages: &[OutgoingMessage],
        lease: &FanOutLease,
    ) -> Result<Enqueued> {
        let (messages, lease) = (messages.to_vec(), lease.clone());
        self.write(move |c| enqueue(c, &messages, Some(&lease)))
            .await
    }

    async fn claim_deliveries(
        &self,
        node: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        // Most polls find nothing due: a read from a snapshot answers those without
        // queueing a write (which would also end every cached read's generation).
        let due = self.read_now(|c| {
            c.prepare_cached(
                "SELECT 1 FROM webhook_deliveries
                 WHERE state = 'pending' AND next_attempt_at <= ?1
                   AND (lease_until IS NULL OR lease_until <= ?1) LIMIT 1",
            )
            .and_then(|mut s| s.exists([now.0]))
            .map_err(map_err)
        })?;
        if !due {
            return Ok(Vec::new());
        }
        let node = node.to_string();
        let sealer = self.sealer.clone();
        self.write(move |c| {
            let token = new_id();
            let mut claim = c
                .prepare_cached(
                    "UPDATE webhook_deliveries SET lease_until = ?3, lease_token = ?4, lease_owner = ?5
                     WHERE id IN (
                       SELECT d.id FROM webhook_deliveries d
                       JOIN webhook_endpoints e ON e.id = d.endpoint_id
                       WHERE d.state = 'pending' AND d.next_attempt_at <= ?1
                         AND (d.lease_until IS NULL OR d.lease_until <= ?1)
                         AND e.enabled
                         AND NOT EXISTS (
                           SELECT 1 FROM webhook_deliveries p
                           WHERE p.endpoint_id = d.endpoint_id AND p.entity = d.entity
                             AND p.state = 'pending' AND p.seq < d.seq)
                       ORDER BY d.next_attempt_at, d.seq
                       LIMIT ?2)
                     RETURNING id",
                )
                .map_err(map_err)?;
            let ids = claim
                .query_map(params![now.0, limit, lease_until.0, token, node], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?;
            claimed(c, &sealer, &ids, &token)
        })
        .await
    }

    async fn record_attempts(&self, outcomes: &[AttemptOutcome]) -> Result<Vec<Recorded>> {
        let outcomes = outcomes.to_vec();
        let recorded = self
            .write(move |c| {
                outcomes
                    .iter()
                    .map(|o| record_one(c, o))
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        if recorded.iter().any(|r| r.disabled) {
            self.wrote_events();
        }
        Ok(recorded)
    }

    async fn list_deliveries(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        let (operator_id, endpoint_id, f) = (
            operator_id.to_string(),
            endpoint_id.to_string(),
            filter.clone(),
        );
        self.read(move |c| {
            check_endpoint(c, &operator_id, &endpoint_id)?;
            deliveries(
                c,
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries d
                     JOIN webhook_messages m ON m.seq = d.seq
                     WHERE d.endpoint_id = ?1 AND (?2 IS NULL OR d.state = ?2)
                       AND (?3 IS NULL OR d.seq < ?3)
                     ORDER BY d.seq DESC LIMIT ?4"
                ),
                params![endpoint_id, f.state.map(|s| s.as_str()), f.before, f.limit],
            )
        })
        .await
    }

    async fn requeue_delivery(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        message_id: &str,
        now: Timestamp,
    ) -> Result<Delivery> {
        let (operator_id, endpoint_id, message_id) = (
            operator_id.to_string(),
            endpoint_id.to_string(),
            message_id.to_string(),
        );
        self.write(move |c| {
            check_endpoint(c, &operator_id, &endpoint_id)?;
            let n = c
                .prepare_cached(
                    "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?3,
                       tries = 0
                     WHERE endpoint_id = ?1
                       AND seq = (SELECT seq FROM webhook_messages WHERE id = ?2)",
                )
                .and_then(|mut s| s.execute(params![endpoint_id, message_id, now.0]))
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            deliveries(
                c,
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries d
                     JOIN webhook_messages m ON m.seq = d.seq
                     WHERE d.endpoint_id = ?1
                       AND d.seq = (SELECT seq FROM webhook_messages WHERE id = ?2)"
                ),
                params![endpoint_id, message_id],
            )?
            .pop()
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn prune_deliveries(&self, before: Timestamp, limit: u32) -> Result<u64> {
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "DELETE FROM webhook_deliveries WHERE id IN (
                       SELECT id FROM webhook_deliveries
                       WHERE occurred_at < ?1 AND state != 'pending' LIMIT ?2)",
                )
                .and_then(|mut s| s.execute(params![before.0, limit]))
                .map_err(map_err)?;
            // Messages no delivery names any more, oldest first: the walk stops at the
            // first message of `before` or later (messages are in `seq` order, which
            // is their events' order), and a message's deliveries are found through
            // each endpoint's (endpoint_id, seq) key.
            let gone = c
                .prepare_cached(
                    "DELETE FROM webhook_messages WHERE seq IN (
                   SELECT m.seq FROM webhook_messages m
                   WHERE m.seq < (SELECT coalesce(min(seq), 9223372036854775807)
                                  FROM webhook_messages WHERE occurred_at >= ?1)
                     AND NOT EXISTS (
                       SELECT 1 FROM webhook_endpoints e
                       JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.seq = m.seq
                       WHERE e.operator_id = m.operator_id)
                   ORDER BY m.seq LIMIT ?2)",
                )
                .and_then(|mut s| s.execute(params![before.0, limit]))
                .map_err(map_err)?;
            // Deleting an endpoint leaves its messages to this walk: the caller goes
            // on while either kind filled its batch.
            Ok(n.max(gone) as u64)
        })
        .await
    }

    async fn requeue_since(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u64> {
        let (operator_id, endpoint_id) = (operator_id.to_string(), endpoint_id.to_string());
        self.write(move |c| {
            check_endpoint(c, &operator_id, &endpoint_id)?;
            c.prepare_cached(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?3, tries = 0
                 WHERE endpoint_id = ?1 AND occurred_at >= ?2 AND state IN ('failed', 'skipped')",
            )
            .and_then(|mut s| s.execute(params![endpoint_id, since.0, now.0]))
            .map(|n| n as u64)
            .map_err(map_err)
        })
        .await
    }
}

/// Writes `messages` and their deliveries, leasing what `lease` asks for (see
/// [`WebhookStore::enqueue_leasing`]) inside the same insert: a leased delivery is
/// written once, never claimed back.
fn enqueue(
    c: &Connection,
    messages: &[OutgoingMessage],
    lease: Option<&FanOutLease>,
) -> Result<Enqueued> {
    let mut message = c
        .prepare_cached(
            "INSERT INTO webhook_messages
               (id, seq, operator_id, seller_id, event_type, entity, occurred_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
        )
        .map_err(map_err)?;
    // One statement for every delivery: `go` (asked for by ?11, and only if the claim's
    // conditions hold on the row about to be written) leases it as it is written.
    let mut delivery = c
        .prepare_cached(
            "INSERT INTO webhook_deliveries
               (endpoint_id, message_id, seq, entity, occurred_at, state, tries,
                next_attempt_at, lease_until, lease_token, lease_owner)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, 0, ?7,
                    CASE WHEN go THEN ?8 END, CASE WHEN go THEN ?9 END,
                    CASE WHEN go THEN ?10 END
             FROM (SELECT
                     ?11
                     AND EXISTS (SELECT 1 FROM webhook_endpoints
                                 WHERE id = ?1 AND enabled AND version = ?12)
                     AND NOT EXISTS (
                       SELECT 1 FROM webhook_deliveries p
                       WHERE p.endpoint_id = ?1 AND p.entity = ?4
                         AND p.state = 'pending' AND p.seq < ?3) AS go)
             WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?1)
             ON CONFLICT (endpoint_id, seq) DO NOTHING
             RETURNING id, lease_token IS NOT NULL",
        )
        .map_err(map_err)?;
    let token = new_id();
    let mut out = Enqueued::default();
    for (mi, m) in messages.iter().enumerate() {
        message
            .execute(params![
                m.id,
                m.seq,
                m.operator_id,
                m.seller_id,
                m.event_type,
                m.entity,
                m.occurred_at.0,
                m.body
            ])
            .map_err(map_err)?;
        for (di, d) in m.deliveries.iter().enumerate() {
            let pending = d.state == DeliveryState::Pending;
            let lease = lease.filter(|l| {
                pending && d.due_at <= l.now && (out.leased.len() as u64) < u64::from(l.limit)
            });
            let written = delivery
                .query_row(
                    params![
                        d.endpoint_id,
                        m.id,
                        m.seq,
                        m.entity,
                        m.occurred_at.0,
                        d.state.as_str(),
                        pending.then_some(d.due_at.0),
                        lease.map(|l| l.until.0),
                        lease.map(|_| &token),
                        lease.map(|l| &l.node),
                        lease.is_some(),
                        d.endpoint_version
                    ],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)),
                )
                .optional()
                .map_err(map_err)?;
            if let Some((id, leased)) = written {
                out.new += 1;
                if leased {
                    out.leased.push(LeasedDelivery {
                        message: mi,
                        delivery: di,
                        id,
                    });
                }
            }
        }
    }
    if !out.leased.is_empty() {
        out.lease_token = token;
    }
    Ok(out)
}

/// The claimed deliveries with their endpoints and messages, the ids a JSON array.
static CLAIMED_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let cols: String = ENDPOINT_COLS
        .split(", ")
        .map(|c| format!("e.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT d.id, d.message_id, m.event_type, d.entity, m.body, d.tries, {cols}
         FROM webhook_deliveries d
         JOIN webhook_messages m ON m.seq = d.seq
         JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.id IN (SELECT value FROM json_each(?1)) ORDER BY d.next_attempt_at, d.seq"
    )
});

/// The deliveries `ids` just claimed under `token`, with their endpoints and messages.
fn claimed(
    c: &Connection,
    sealer: &Sealer,
    ids: &[i64],
    token: &str,
) -> Result<Vec<ClaimedDelivery>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // The ids go in as one JSON array, so the statement is the same for every claim
    // and stays in the cache (a claim's own statement, prepared each time, was 3% of
    // the writer's time under a push storm).
    let mut s = c.prepare_cached(&CLAIMED_SQL).map_err(map_err)?;
    let rows = s
        .query_map([json_list(ids)?], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, u32>(5)?,
                endpoint_row_at(r, 6)?,
            ))
        })
        .map_err(map_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, message_id, event_type, entity, body, tries, e)| {
            Some(ClaimedDelivery {
                id,
                lease_token: token.to_string(),
                endpoint: claimed_endpoint(id, e, sealer)?,
                message_id,
                event_type,
                entity,
                body,
                tries,
            })
        })
        .collect())
}

/// One outcome of [`WebhookStore::record_attempts`], inside its transaction.
fn record_one(c: &Connection, o: &AttemptOutcome) -> Result<Recorded> {
    let a = &o.attempt;
    c.prepare_cached(
        "INSERT INTO webhook_attempts
       (delivery_id, at, node, status, response, duration_ms, error)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
     WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ?1)",
    )
    .and_then(|mut s| {
        s.execute(params![
            o.delivery_id,
            a.at.0,
            a.node,
            a.status,
            a.response,
            a.duration_ms,
            a.error
        ])
    })
    .map_err(map_err)?;
    let (state, due) = o.next.columns();
    let applied = c
        .prepare_cached(
            "UPDATE webhook_deliveries SET state = ?3, next_attempt_at = ?4,
           tries = tries + 1, lease_until = NULL, lease_token = NULL,
           lease_owner = NULL
         WHERE id = ?1 AND lease_token = ?2",
        )
        .and_then(|mut s| s.execute(params![o.delivery_id, o.lease_token, state.as_str(), due]))
        .map_err(map_err)?
        > 0;
    let disabled = match &o.health {
        EndpointHealth::Succeeded => {
            c.prepare_cached(
                "UPDATE webhook_endpoints SET failing_since = NULL
             WHERE id = ?1 AND failing_since IS NOT NULL",
            )
            .and_then(|mut s| s.execute([&o.endpoint_id]))
            .map_err(map_err)?;
            false
        }
        EndpointHealth::Failed {
            now,
            disable_if_failing_since,
            event,
        } => {
            c.prepare_cached(
                "UPDATE webhook_endpoints SET failing_since = ?2
             WHERE id = ?1 AND failing_since IS NULL",
            )
            .and_then(|mut s| s.execute(params![o.endpoint_id, now.0]))
            .map_err(map_err)?;
            let disabled = c
                .prepare_cached(
                    "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'failing',
                   updated_at = ?3, version = version + 1
                 WHERE id = ?1 AND enabled AND failing_since <= ?2",
                )
                .and_then(|mut s| {
                    s.execute(params![o.endpoint_id, disable_if_failing_since.0, now.0])
                })
                .map_err(map_err)?
                > 0;
            if disabled {
                crate::outbox::insert_events(c, std::slice::from_ref(event))?;
            }
            disabled
        }
    };
    Ok(Recorded { applied, disabled })
}

/// Rewrites the endpoints' secrets, the feeds' headers and the kept responses not
/// yet stored as `sealer` stores them now (`Store::reseal_secrets`), inside the
/// caller's transaction.
pub(crate) fn reseal_secrets(
    c: &Connection,
    sealer: &Sealer,
    lost: LostSecrets,
) -> Result<Resealed> {
    let mut count = Resealed::default();
    // Only rows with a value not stored as it should be now are read: those not under
    // the current key (without one: those sealed, which do not open).
    let prefix = sealer.current_prefix();
    let endpoints: Vec<(String, String, Option<String>)> = c
        .prepare(
            "SELECT id, secret, previous_secret FROM webhook_endpoints
             WHERE (CASE WHEN ?1 IS NULL THEN substr(secret, 1, length(?2)) = ?2 ELSE substr(secret, 1, length(?1)) <> ?1 END) OR (CASE WHEN ?1 IS NULL THEN substr(previous_secret, 1, length(?2)) = ?2 ELSE substr(previous_secret, 1, length(?1)) <> ?1 END)
             ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map(params![prefix, Sealer::PREFIX], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(map_err)?;
    for (id, secret, previous) in endpoints {
        let Some(e) =
            reseal_endpoint(sealer, &lost, &mut count, &id, &secret, previous.as_deref())?
        else {
            continue;
        };
        c.execute(
            "UPDATE webhook_endpoints SET secret = ?2, previous_secret = ?3,
               previous_until = CASE WHEN ?3 IS NULL THEN NULL ELSE previous_until END,
               enabled = CASE WHEN ?4 THEN 0 ELSE enabled END,
               disabled_reason = CASE WHEN ?4 AND enabled THEN 'manual' ELSE disabled_reason END
             WHERE id = ?1",
            params![id, e.secret, e.previous_secret, e.disable],
        )
        .map_err(map_err)?;
    }
    let feeds: Vec<(String, String)> = c
        .prepare(
            "SELECT seller_id, headers FROM change_feeds WHERE CASE WHEN ?1 IS NULL THEN substr(headers, 1, length(?2)) = ?2 ELSE substr(headers, 1, length(?1)) <> ?1 END
             ORDER BY seller_id",
        )
        .and_then(|mut s| {
            s.query_map(params![prefix, Sealer::PREFIX], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(map_err)?;
    for (seller, headers) in feeds {
        let Some(f) = reseal_feed(sealer, &lost, &mut count, &seller, &headers)? else {
            continue;
        };
        c.execute(
            "UPDATE change_feeds SET headers = ?2, enabled = CASE WHEN ?3 THEN 0 ELSE enabled END
             WHERE seller_id = ?1",
            params![seller, f.headers, f.disable],
        )
        .map_err(map_err)?;
    }
    // Kept responses may carry secrets too (a new endpoint's): those not sealed under
    // the current key (without one: those sealed, which do not open).
    let bodies: Vec<(String, String, Vec<u8>)> = c
        .prepare(
            "SELECT credential_id, idem_key, body FROM idempotency_keys
             WHERE body IS NOT NULL AND CASE WHEN ?1 IS NULL
               THEN substr(body, 1, length(?2)) = CAST(?2 AS BLOB)
               ELSE substr(body, 1, length(?1)) <> CAST(?1 AS BLOB) END",
        )
        .and_then(|mut s| {
            s.query_map(params![prefix, Sealer::PREFIX], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(map_err)?;
    for (credential, key, body) in bodies {
        match reseal_body(sealer, &lost, &mut count, &credential, &key, &body)? {
            Some(body) => c.execute(
                "UPDATE idempotency_keys SET body = ?3 WHERE credential_id = ?1 AND idem_key = ?2",
                params![credential, key, body],
            ),
            None => c.execute(
                "DELETE FROM idempotency_keys WHERE credential_id = ?1 AND idem_key = ?2",
                params![credential, key],
            ),
        }
        .map_err(map_err)?;
    }
    Ok(count)
}
