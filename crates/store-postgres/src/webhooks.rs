//! Webhook endpoints, deliveries and their log on PostgreSQL, where several nodes
//! claim deliveries at once: a claim locks the due rows it picks with
//! `FOR UPDATE SKIP LOCKED`, so two nodes claiming together take different rows, and
//! leases them in the same statement. A fan-out writes a batch of messages and their
//! deliveries with one `INSERT ... SELECT FROM UNNEST` each.

use async_trait::async_trait;
use entreposto_domain::{DeliveryState, Timestamp, WebhookEndpoint};
use entreposto_store::webhooks::{
    attach_attempts, claimed_endpoint, health_plan, state_from_column, Attempt, AttemptOutcome,
    ClaimedDelivery, Delivery, DeliveryFilter, EndpointHealth, EndpointRow, OutgoingMessage,
    Recorded, ATTEMPT_COLS, DELIVERY_COLS, ENDPOINT_COLS,
};
use entreposto_store::{new_id, Result, StoreError, WebhookStore};
use tokio_postgres::{GenericClient, Row};

use entreposto_store::sealing::{
    reseal_body, reseal_endpoint, reseal_feed, LostSecrets, Resealed, Sealer,
};

use crate::{map_err, PgStore};

fn endpoint_row_at(r: &Row, at: usize) -> EndpointRow {
    EndpointRow {
        id: r.get(at),
        operator_id: r.get(at + 1),
        seller_id: r.get(at + 2),
        url: r.get(at + 3),
        events: r.get(at + 4),
        description: r.get(at + 5),
        enabled: r.get(at + 6),
        disabled_reason: r.get(at + 7),
        secret: r.get(at + 8),
        previous_secret: r.get(at + 9),
        previous_until: r.get(at + 10),
        failing_since: r.get(at + 11),
        created_at: r.get(at + 12),
        updated_at: r.get(at + 13),
        version: r.get(at + 14),
    }
}

fn endpoints(rows: Vec<Row>, sealer: &Sealer) -> Result<Vec<WebhookEndpoint>> {
    rows.iter()
        .map(|r| endpoint_row_at(r, 0).into_endpoint(sealer))
        .collect()
}

fn tries(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn delivery_from_row(r: &Row) -> Result<Delivery> {
    Ok(Delivery {
        id: r.get(0),
        seq: r.get(1),
        message_id: r.get(2),
        event_type: r.get(3),
        entity: r.get(4),
        occurred_at: Timestamp(r.get(5)),
        state: state_from_column(r.get(6))?,
        tries: tries(r.get(7)),
        next_attempt_at: r.get::<_, Option<i64>>(8).map(Timestamp),
        claimed_by: r.get(9),
        attempts: Vec::new(),
    })
}

/// The deliveries `sql` selects (its columns [`DELIVERY_COLS`]), with their attempts.
async fn deliveries(
    c: &impl GenericClient,
    sql: &str,
    p: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Delivery>> {
    let rows = c.query(sql, p).await.map_err(map_err)?;
    let mut out = rows
        .iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<_>>>()?;
    if out.is_empty() {
        return Ok(out);
    }
    let ids: Vec<i64> = out.iter().map(|d| d.id).collect();
    let rows = c
        .query(
            &format!(
                "SELECT {ATTEMPT_COLS} FROM webhook_attempts WHERE delivery_id = ANY($1)
                 ORDER BY delivery_id, id"
            ),
            &[&ids],
        )
        .await
        .map_err(map_err)?;
    let attempts = rows
        .iter()
        .map(|r| {
            (
                r.get::<_, i64>(0),
                Attempt {
                    at: Timestamp(r.get(1)),
                    node: r.get(2),
                    status: r
                        .get::<_, Option<i32>>(3)
                        .and_then(|s| u16::try_from(s).ok()),
                    response: r.get(4),
                    duration_ms: r.get(5),
                    error: r.get(6),
                },
            )
        })
        .collect();
    attach_attempts(&mut out, attempts);
    Ok(out)
}

async fn check_endpoint(c: &impl GenericClient, operator_id: &str, id: &str) -> Result<()> {
    c.query_opt(
        "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND operator_id = $2",
        &[&id, &operator_id],
    )
    .await
    .map_err(map_err)?
    .map(|_| ())
    .ok_or(StoreError::NotFound)
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<()> {
        let e = EndpointRow::of(endpoint, &self.sealer);
        let c = self.conn().await?;
        c.execute(
            &format!(
                "INSERT INTO webhook_endpoints ({ENDPOINT_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ),
            &[
                &e.id,
                &e.operator_id,
                &e.seller_id,
                &e.url,
                &e.events,
                &e.description,
                &e.enabled,
                &e.disabled_reason,
                &e.secret,
                &e.previous_secret,
                &e.previous_until,
                &e.failing_since,
                &e.created_at,
                &e.updated_at,
                &e.version,
            ],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_endpoint(&self, operator_id: &str, id: &str) -> Result<WebhookEndpoint> {
        let c = self.conn().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = $1 AND operator_id = $2"
                ),
                &[&id, &operator_id],
            )
            .await
            .map_err(map_err)?;
        endpoints(rows, &self.sealer)?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn find_endpoint(&self, id: &str) -> Result<WebhookEndpoint> {
        let c = self.conn().await?;
        let rows = c
            .query(
                &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(map_err)?;
        endpoints(rows, &self.sealer)?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn list_endpoints(&self, operator_id: &str) -> Result<Vec<WebhookEndpoint>> {
        let c = self.conn().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE operator_id = $1
                     ORDER BY created_at, id"
                ),
                &[&operator_id],
            )
            .await
            .map_err(map_err)?;
        endpoints(rows, &self.sealer)
    }

    async fn endpoints_of(&self, operator_ids: &[String]) -> Result<Vec<WebhookEndpoint>> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE operator_id = ANY($1)
                 ORDER BY created_at, id"
            ))
            .await
            .map_err(map_err)?;
        let rows = c.query(&stmt, &[&operator_ids]).await.map_err(map_err)?;
        endpoints(rows, &self.sealer)
    }

    async fn update_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        loaded_version: i64,
    ) -> Result<WebhookEndpoint> {
        let mut e = EndpointRow::of(endpoint, &self.sealer);
        e.version = loaded_version + 1;
        let c = self.conn().await?;
        let n = c
            .execute(
                "UPDATE webhook_endpoints SET url = $3, events = $4, description = $5,
                   enabled = $6, disabled_reason = $7, secret = $8, previous_secret = $9,
                   previous_until = $10, failing_since = $11, updated_at = $12, version = $13
                 WHERE id = $1 AND operator_id = $2 AND version = $14",
                &[
                    &e.id,
                    &e.operator_id,
                    &e.url,
                    &e.events,
                    &e.description,
                    &e.enabled,
                    &e.disabled_reason,
                    &e.secret,
                    &e.previous_secret,
                    &e.previous_until,
                    &e.failing_since,
                    &e.updated_at,
                    &e.version,
                    &loaded_version,
                ],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            check_endpoint(&**c, &e.operator_id, &e.id).await?;
            return Err(StoreError::Stale);
        }
        e.into_endpoint(&self.sealer)
    }

    async fn delete_endpoint(&self, operator_id: &str, id: &str) -> Result<()> {
        let c = self.conn().await?;
        let n = c
            .execute(
                "DELETE FROM webhook_endpoints WHERE id = $1 AND operator_id = $2",
                &[&id, &operator_id],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn enqueue_messages(&self, messages: &[OutgoingMessage]) -> Result<u64> {
        if messages.is_empty() {
            return Ok(0);
        }
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let col = |f: fn(&OutgoingMessage) -> String| messages.iter().map(f).collect::<Vec<_>>();
        let (ids, ops, types, entities, bodies) = (
            col(|m| m.id.clone()),
            col(|m| m.operator_id.clone()),
            col(|m| m.event_type.clone()),
            col(|m| m.entity.clone()),
            col(|m| m.body.clone()),
        );
        let sellers: Vec<Option<String>> = messages.iter().map(|m| m.seller_id.clone()).collect();
        let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
        let times: Vec<i64> = messages.iter().map(|m| m.occurred_at.0).collect();
        let stmt = tx
            .prepare_cached(
                "INSERT INTO webhook_messages
                   (id, seq, operator_id, seller_id, event_type, entity, occurred_at, body)
                 SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[],
                                      $5::text[], $6::text[], $7::int8[], $8::text[])
                 ON CONFLICT (id) DO NOTHING",
            )
            .await
            .map_err(map_err)?;
        tx.execute(
            &stmt,
            &[
                &ids, &seqs, &ops, &sellers, &types, &entities, &times, &bodies,
            ],
        )
        .await
        .map_err(map_err)?;
        let mut d_endpoint = Vec::new();
        let mut d_message = Vec::new();
        let mut d_seq = Vec::new();
        let mut d_entity = Vec::new();
        let mut d_time = Vec::new();
        let mut d_state = Vec::new();
        let mut d_due: Vec<Option<i64>> = Vec::new();
        for m in messages {
            for d in &m.deliveries {
                d_endpoint.push(d.endpoint_id.clone());
                d_message.push(m.id.clone());
                d_seq.push(m.seq);
                d_entity.push(m.entity.clone());
                d_time.push(m.occurred_at.0);
                d_state.push(d.state.as_str());
                d_due.push((d.state == DeliveryState::Pending).then_some(d.due_at.0));
            }
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO webhook_deliveries
                   (endpoint_id, message_id, seq, entity, occurred_at, state, tries,
                    next_attempt_at)
                 SELECT n.endpoint_id, n.message_id, n.seq, n.entity, n.occurred_at, n.state, 0,
                        n.due
                 FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::int8[],
                             $6::text[], $7::int8[])
                      AS n (endpoint_id, message_id, seq, entity, occurred_at, state, due)
                 JOIN webhook_endpoints e ON e.id = n.endpoint_id
                 ON CONFLICT (endpoint_id, message_id) DO NOTHING",
            )
            .await
            .map_err(map_err)?;
        let new = tx
            .execute(
                &stmt,
                &[
                    &d_endpoint,
                    &d_message,
                    &d_seq,
                    &d_entity,
                    &d_time,
                    &d_state,
                    &d_due,
                ],
            )
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(new)
    }

    async fn claim_deliveries(
        &self,
        node: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let token = new_id();
        let c = self.conn().await?;
        let cols: String = ENDPOINT_COLS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // One statement: the due rows are locked (others' locked ones skipped),
        // leased, and returned with what an attempt needs.
        let stmt = c
            .prepare_cached(&format!(
                "WITH due AS (
                   SELECT d.id FROM webhook_deliveries d
                   JOIN webhook_endpoints e ON e.id = d.endpoint_id
                   WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                     AND (d.lease_until IS NULL OR d.lease_until <= $1)
                     AND e.enabled
                     AND NOT EXISTS (
                       SELECT 1 FROM webhook_deliveries p
                       WHERE p.endpoint_id = d.endpoint_id AND p.entity = d.entity
                         AND p.state = 'pending' AND p.seq < d.seq)
                   ORDER BY d.next_attempt_at, d.seq
                   LIMIT $2
                   FOR UPDATE OF d SKIP LOCKED),
                 leased AS (
                   UPDATE webhook_deliveries d
                   SET lease_until = $3, lease_token = $4, lease_owner = $5
                   FROM due WHERE d.id = due.id
                   RETURNING d.id, d.message_id, d.entity, d.tries, d.endpoint_id,
                             d.next_attempt_at, d.seq)
                 SELECT l.id, l.message_id, m.event_type, l.entity, m.body, l.tries, {cols}
                 FROM leased l
                 JOIN webhook_messages m ON m.id = l.message_id
                 JOIN webhook_endpoints e ON e.id = l.endpoint_id
                 ORDER BY l.next_attempt_at, l.seq"
            ))
            .await
            .map_err(map_err)?;
        let rows = c
            .query(
                &stmt,
                &[&now.0, &i64::from(limit), &lease_until.0, &token, &node],
            )
            .await
            .map_err(map_err)?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let id = r.get(0);
                Some(ClaimedDelivery {
                    id,
                    lease_token: token.clone(),
                    message_id: r.get(1),
                    event_type: r.get(2),
                    entity: r.get(3),
                    body: r.get(4),
                    tries: tries(r.get(5)),
                    endpoint: claimed_endpoint(id, endpoint_row_at(r, 6), &self.sealer)?,
                })
            })
            .collect())
    }

    async fn record_attempts(&self, outcomes: &[AttemptOutcome]) -> Result<Vec<Recorded>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // The whole batch in four statements (a failing endpoint's outcomes aside):
        // the attempts, the deliveries' next states, and the endpoints cleared of
        // failing. Per outcome that was three round trips, which held a node's
        // deliveries to about a thousand a second.
        insert_attempts(&tx, outcomes).await?;
        let applied = apply_next_states(&tx, outcomes).await?;
        let (cleared, ordered) = health_plan(outcomes);
        if !cleared.is_empty() {
            tx.execute(
                "UPDATE webhook_endpoints SET failing_since = NULL
                 WHERE id = ANY($1) AND failing_since IS NOT NULL",
                &[&cleared],
            )
            .await
            .map_err(map_err)?;
        }
        let mut disabled = vec![false; outcomes.len()];
        for i in ordered {
            disabled[i] = apply_health(&tx, &outcomes[i]).await?;
        }
        tx.commit().await.map_err(map_err)?;
        if disabled.contains(&true) {
            self.wrote_events();
        }
        Ok(applied
            .into_iter()
            .zip(disabled)
            .map(|(applied, disabled)| Recorded { applied, disabled })
            .collect())
    }

    async fn list_deliveries(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        f: &DeliveryFilter,
    ) -> Result<Vec<Delivery>> {
        let c = self.conn().await?;
        check_endpoint(&**c, operator_id, endpoint_id).await?;
        let state = f.state.map(|s| s.as_str());
        deliveries(
            &**c,
            &format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries d
                 JOIN webhook_messages m ON m.id = d.message_id
                 WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.state = $2)
                   AND ($3::int8 IS NULL OR d.seq < $3)
                 ORDER BY d.seq DESC LIMIT $4"
            ),
            &[&endpoint_id, &state, &f.before, &i64::from(f.limit)],
        )
        .await
    }

    async fn requeue_delivery(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        message_id: &str,
        now: Timestamp,
    ) -> Result<Delivery> {
        let c = self.conn().await?;
        check_endpoint(&**c, operator_id, endpoint_id).await?;
        let n = c
            .execute(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, tries = 0
                 WHERE endpoint_id = $1 AND message_id = $2",
                &[&endpoint_id, &message_id, &now.0],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        deliveries(
            &**c,
            &format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries d
                 JOIN webhook_messages m ON m.id = d.message_id
                 WHERE d.endpoint_id = $1 AND d.message_id = $2"
            ),
            &[&endpoint_id, &message_id],
        )
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
    }

    async fn prune_deliveries(&self, before: Timestamp, limit: u32) -> Result<u64> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let n = tx
            .execute(
                "DELETE FROM webhook_deliveries WHERE id IN (
                   SELECT id FROM webhook_deliveries
                   WHERE occurred_at < $1 AND state != 'pending' LIMIT $2)",
                &[&before.0, &i64::from(limit)],
            )
            .await
            .map_err(map_err)?;
        tx.execute(
            "DELETE FROM webhook_messages m WHERE m.occurred_at < $1
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id)",
            &[&before.0],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }

    async fn requeue_since(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u64> {
        let c = self.conn().await?;
        check_endpoint(&**c, operator_id, endpoint_id).await?;
        c.execute(
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, tries = 0
             WHERE endpoint_id = $1 AND occurred_at >= $2 AND state IN ('failed', 'skipped')",
            &[&endpoint_id, &since.0, &now.0],
        )
        .await
        .map_err(map_err)
    }
}

/// The attempts of a batch, in its order (those whose delivery is gone aside).
async fn insert_attempts(
    tx: &deadpool_postgres::Transaction<'_>,
    outcomes: &[AttemptOutcome],
) -> Result<()> {
    let ids: Vec<i64> = outcomes.iter().map(|o| o.delivery_id).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO webhook_attempts
                   (delivery_id, at, node, status, response, duration_ms, error)
                 SELECT a.id, a.at, a.node, a.status, a.response, a.duration_ms, a.error
                 FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int4[], $5::text[],
                             $6::int8[], $7::text[])
                      WITH ORDINALITY AS a (id, at, node, status, response, duration_ms,
                                            error, n)
                 WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.id)
                 ORDER BY a.n",
        )
        .await
        .map_err(map_err)?;
    let attempts: Vec<_> = outcomes.iter().map(|o| &o.attempt).collect();
    tx.execute(
        &stmt,
        &[
            &ids,
            &attempts.iter().map(|a| a.at.0).collect::<Vec<_>>(),
            &attempts.iter().map(|a| a.node.as_str()).collect::<Vec<_>>(),
            &attempts
                .iter()
                .map(|a| a.status.map(i32::from))
                .collect::<Vec<_>>(),
            &attempts
                .iter()
                .map(|a| a.response.as_str())
                .collect::<Vec<_>>(),
            &attempts.iter().map(|a| a.duration_ms).collect::<Vec<_>>(),
            &attempts
                .iter()
                .map(|a| a.error.as_deref())
                .collect::<Vec<_>>(),
        ],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Each claim's delivery takes its outcome's next state if the claim still holds its
/// lease; whether each outcome applied.
async fn apply_next_states(
    tx: &deadpool_postgres::Transaction<'_>,
    outcomes: &[AttemptOutcome],
) -> Result<Vec<bool>> {
    let ids: Vec<i64> = outcomes.iter().map(|o| o.delivery_id).collect();
    // One row per claim: recorded one by one, a claim's second outcome (the same
    // delivery and lease token) would find the lease gone and only be logged.
    let mut first = std::collections::HashSet::new();
    let once: Vec<usize> = (0..outcomes.len())
        .filter(|&i| first.insert((outcomes[i].delivery_id, &outcomes[i].lease_token)))
        .collect();
    let (states, dues): (Vec<&str>, Vec<Option<i64>>) = once
        .iter()
        .map(|&i| {
            let (state, due) = outcomes[i].next.columns();
            (state.as_str(), due)
        })
        .unzip();
    let stmt = tx
        .prepare_cached(
            "UPDATE webhook_deliveries d SET state = u.state, next_attempt_at = u.due,
                   tries = d.tries + 1, lease_until = NULL, lease_token = NULL,
                   lease_owner = NULL
                 FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[])
                      AS u (id, token, state, due, n)
                 WHERE d.id = u.id AND d.lease_token = u.token
                 RETURNING u.n",
        )
        .await
        .map_err(map_err)?;
    let mut applied = vec![false; outcomes.len()];
    for r in tx
        .query(
            &stmt,
            &[
                &once.iter().map(|&i| ids[i]).collect::<Vec<_>>(),
                &once
                    .iter()
                    .map(|&i| outcomes[i].lease_token.as_str())
                    .collect::<Vec<_>>(),
                &states,
                &dues,
                &once.iter().map(|&i| i as i64).collect::<Vec<_>>(),
            ],
        )
        .await
        .map_err(map_err)?
    {
        applied[r.get::<_, i64>(0) as usize] = true;
    }
    Ok(applied)
}

/// What one outcome does to its endpoint's health, inside the batch's transaction:
/// whether it disabled the endpoint.
async fn apply_health(tx: &deadpool_postgres::Transaction<'_>, o: &AttemptOutcome) -> Result<bool> {
    Ok(match &o.health {
        EndpointHealth::Succeeded => {
            tx.execute(
                "UPDATE webhook_endpoints SET failing_since = NULL
                 WHERE id = $1 AND failing_since IS NOT NULL",
                &[&o.endpoint_id],
            )
            .await
            .map_err(map_err)?;
            false
        }
        EndpointHealth::Failed {
            now,
            disable_if_failing_since,
            event,
        } => {
            tx.execute(
                "UPDATE webhook_endpoints SET failing_since = $2
                 WHERE id = $1 AND failing_since IS NULL",
                &[&o.endpoint_id, &now.0],
            )
            .await
            .map_err(map_err)?;
            let disabled = tx
                .execute(
                    "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = 'failing',
                       updated_at = $3, version = version + 1
                     WHERE id = $1 AND enabled AND failing_since <= $2",
                    &[&o.endpoint_id, &disable_if_failing_since.0, &now.0],
                )
                .await
                .map_err(map_err)?
                > 0;
            if disabled {
                crate::outbox::insert_events(tx, std::slice::from_ref(event)).await?;
            }
            disabled
        }
    })
}

impl PgStore {
    /// Rewrites the endpoints' secrets, the feeds' headers and the kept responses
    /// not yet stored as the sealer stores them now (`Store::reseal_secrets`), in one
    /// transaction holding the rows it reads, so a rotation on another node waits
    /// for it.
    pub(crate) async fn reseal_stored_secrets(&self, lost: LostSecrets) -> Result<Resealed> {
        let mut count = Resealed::default();
        // Only rows with a value not stored as it should be now are read (and
        // locked): those not under the current key (without one: those sealed).
        let prefix = self.sealer.current_prefix();
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let rows = tx
            .query(
                "SELECT id, secret, previous_secret FROM webhook_endpoints
                 WHERE (CASE WHEN $1::text IS NULL THEN starts_with(secret, $2) ELSE NOT starts_with(secret, $1) END) OR (CASE WHEN $1::text IS NULL THEN starts_with(previous_secret, $2) ELSE NOT starts_with(previous_secret, $1) END)
                 ORDER BY id FOR UPDATE",
                &[&prefix, &Sealer::PREFIX],
            )
            .await
            .map_err(map_err)?;
        for r in &rows {
            let id: String = r.get(0);
            let previous: Option<String> = r.get(2);
            let Some(e) = reseal_endpoint(
                &self.sealer,
                &lost,
                &mut count,
                &id,
                r.get(1),
                previous.as_deref(),
            )?
            else {
                continue;
            };
            tx.execute(
                "UPDATE webhook_endpoints SET secret = $2, previous_secret = $3::text,
                   previous_until = CASE WHEN $3::text IS NULL THEN NULL ELSE previous_until END,
                   enabled = CASE WHEN $4 THEN false ELSE enabled END,
                   disabled_reason = CASE WHEN $4 AND enabled THEN 'manual' ELSE disabled_reason END
                 WHERE id = $1",
                &[&id, &e.secret, &e.previous_secret, &e.disable],
            )
            .await
            .map_err(map_err)?;
        }
        let rows = tx
            .query(
                "SELECT seller_id, headers FROM change_feeds WHERE CASE WHEN $1::text IS NULL THEN starts_with(headers, $2) ELSE NOT starts_with(headers, $1) END
                 ORDER BY seller_id FOR UPDATE",
                &[&prefix, &Sealer::PREFIX],
            )
            .await
            .map_err(map_err)?;
        for r in &rows {
            let seller: String = r.get(0);
            let Some(f) = reseal_feed(&self.sealer, &lost, &mut count, &seller, r.get(1))? else {
                continue;
            };
            tx.execute(
                "UPDATE change_feeds SET headers = $2,
                   enabled = CASE WHEN $3 THEN false ELSE enabled END
                 WHERE seller_id = $1",
                &[&seller, &f.headers, &f.disable],
            )
            .await
            .map_err(map_err)?;
        }
        // Kept responses may carry secrets too (a new endpoint's): those not sealed
        // under the current key (without one: those sealed, which do not open).
        let rows = tx
            .query(
                "SELECT credential_id, idem_key, body FROM idempotency_keys
                 WHERE body IS NOT NULL AND CASE WHEN $1::text IS NULL
                   THEN substring(body FROM 1 FOR octet_length($2::text)) = convert_to($2, 'UTF8')
                   ELSE substring(body FROM 1 FOR octet_length($1::text)) <> convert_to($1, 'UTF8')
                   END
                 FOR UPDATE",
                &[&prefix, &Sealer::PREFIX],
            )
            .await
            .map_err(map_err)?;
        for r in &rows {
            let (credential, key): (String, String) = (r.get(0), r.get(1));
            let kept = reseal_body(&self.sealer, &lost, &mut count, &credential, &key, r.get(2))?;
            match kept {
                Some(body) => {
                    tx.execute(
                        "UPDATE idempotency_keys SET body = $3
                         WHERE credential_id = $1 AND idem_key = $2",
                        &[&credential, &key, &body],
                    )
                    .await
                }
                None => {
                    tx.execute(
                        "DELETE FROM idempotency_keys WHERE credential_id = $1 AND idem_key = $2",
                        &[&credential, &key],
                    )
                    .await
                }
            }
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(count)
    }
}
