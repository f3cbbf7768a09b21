//! Background work every hub node runs: the outbox relay, which hands committed
//! events to sinks (webhooks, NATS JetStream), and the sinks themselves.
//!
//! A [`Relay`] owns one named sink. Each turn it claims the sink's next events from
//! the store (`OutboxStore::claim_events`: one node at a time holds a sink, by a lease
//! every claim renews), hands them to the [`Sink`] in order, and acks as far as the
//! sink says it delivered; then it claims again at once. With nothing to deliver it
//! waits for this node's next commit of events (the store's signal) or for its poll
//! interval, whichever comes first, so other nodes' events wait at most a poll. A
//! sink that fails is retried after a growing pause; a node that dies simply stops
//! renewing, and once its lease has passed another node's relay takes the sink over
//! from the last ack: delivery is at least once, and sinks deduplicate by event id.
//! Lease times come from a [`Clock`], so tests move time instead of sleeping; the
//! pauses between turns are real time (a test drives [`Relay::turn`] itself).
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use entreposto_app::Clock;
use entreposto_domain::Timestamp;
use entreposto_store::{OutboxEvent, Store, StoreError};

pub mod nats;
pub mod webhooks;

/// Why a sink did not take (all of) a batch.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Where a relay hands events.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// The sink's name: its cursor in the outbox (`webhooks`, `nats`).
    fn name(&self) -> &str;
    /// Delivers `events` (in order; every entity's events in commit order) and answers
    /// how many of them, from the first, are delivered for good: the relay acks those
    /// and hands the rest again. An error means none of them (after a pause, all are
    /// handed again); a sink that delivered some before failing answers `Ok(n)`.
    async fn deliver(&self, events: &[OutboxEvent]) -> Result<usize, SinkError>;
}

/// How a relay paces itself.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Events per claim.
    pub batch: u32,
    /// How long a claim holds the sink: another node takes it over this long after
    /// this one stopped renewing.
    pub lease: Duration,
    /// The longest wait between claims when idle (or when another node holds the sink).
    pub poll: Duration,
    /// The first pause after a failed delivery; it doubles up to `poll * 30`.
    pub retry: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            batch: 500,
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            retry: Duration::from_millis(200),
        }
    }
}

/// What one [`Relay::turn`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// Another node holds the sink.
    NotHeld,
    /// Nothing to deliver.
    Idle,
    /// Delivered and acked this many events (of `claimed`).
    Delivered { delivered: usize, claimed: usize },
    /// The sink failed; nothing more was acked.
    Failed(String),
    /// The ack was refused: another node took the sink over meanwhile.
    LostLease,
}

/// Hands one sink the outbox's events (see the module note).
pub struct Relay {
    store: Arc<dyn Store>,
    sink: Arc<dyn Sink>,
    clock: Arc<dyn Clock>,
    /// This node's name in the sink's lease.
    holder: String,
    settings: RelaySettings,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Relay {
    pub fn new(
        store: Arc<dyn Store>,
        sink: Arc<dyn Sink>,
        clock: Arc<dyn Clock>,
        holder: impl Into<String>,
        settings: RelaySettings,
    ) -> Relay {
        Relay {
            store,
            sink,
            clock,
            holder: holder.into(),
            settings,
        }
    }

    /// One claim, delivery and ack.
    pub async fn turn(&self) -> Result<Turn, StoreError> {
        let name = self.sink.name();
        let now = self.clock.now();
        let until = Timestamp(now.0.saturating_add(micros(self.settings.lease)));
        let Some(claim) = self
            .store
            .claim_events(name, &self.holder, self.settings.batch, now, until)
            .await?
        else {
            return Ok(Turn::NotHeld);
        };
        if claim.events.is_empty() {
            return Ok(Turn::Idle);
        }
        let claimed = claim.events.len();
        let (delivered, failure) = match self.sink.deliver(&claim.events).await {
            Ok(n) => (n.min(claimed), None),
            Err(e) => (0, Some(e.0)),
        };
        if let Some(through) = claim.through(delivered) {
            match self.store.ack_events(name, &self.holder, through).await {
                Ok(()) => {}
                Err(StoreError::Stale) => return Ok(Turn::LostLease),
                Err(e) => return Err(e),
            }
        }
        Ok(match failure {
            Some(e) => Turn::Failed(e),
            None if delivered < claimed => {
                Turn::Failed(format!("the sink took {delivered} of {claimed} events"))
            }
            None => Turn::Delivered { delivered, claimed },
        })
    }

    /// Runs turns until `stop` turns true, then gives the sink up for another node.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut signal = self.store.event_signal();
        let mut pause = self.settings.retry;
        let name = self.sink.name().to_string();
        tracing::info!(sink = %name, holder = %self.holder, "outbox relay started");
        while !*stop.borrow() {
            let wait = match self.turn().await {
                Ok(Turn::Delivered { .. }) => {
                    pause = self.settings.retry;
                    continue;
                }
                Ok(Turn::Idle | Turn::NotHeld | Turn::LostLease) => {
                    pause = self.settings.retry;
                    self.settings.poll
                }
                Ok(Turn::Failed(e)) => {
                    tracing::warn!(sink = %name, error = %e, retry_in = ?pause, "delivery failed");
                    let p = pause;
                    pause = (pause * 2).min(self.settings.poll * 30);
                    p
                }
                Err(e) => {
                    tracing::warn!(sink = %name, error = %e, "outbox claim failed");
                    let p = pause;
                    pause = (pause * 2).min(self.settings.poll * 30);
                    p
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = signal.changed() => {}
                _ = stop.changed() => {}
            }
        }
        if let Err(e) = self.store.release_sink(&name, &self.holder).await {
            tracing::warn!(sink = %name, error = %e, "releasing the sink");
        }
        tracing::info!(sink = %name, "outbox relay stopped");
    }
}

/// An event as sinks send it: the same JSON body on NATS and in webhooks.
/// `{"data" (the payload), "entity", "entityId", "id", "operator", "seller" (or null),
/// "timestamp" (RFC 3339 UTC), "type"}`, keys in that (alphabetical) order. The
/// payload is spliced in as the text it was stored as (rendered by the store's
/// `EventPayloads` when the event was written), never parsed, so its keys keep the
/// native API's order.
pub fn envelope(e: &OutboxEvent) -> String {
    /// The fields around the payload, printed as one JSON object.
    #[derive(serde::Serialize)]
    struct Around<'a> {
        entity: &'a str,
        #[serde(rename = "entityId")]
        entity_id: &'a str,
        id: &'a str,
        operator: &'a str,
        seller: Option<&'a str>,
        timestamp: String,
        #[serde(rename = "type")]
        event_type: &'a str,
    }
    let around = serde_json::to_string(&Around {
        entity: &e.entity,
        entity_id: &e.entity_id,
        id: &e.id,
        operator: &e.operator_id,
        seller: e.seller_id.as_deref(),
        timestamp: e.occurred_at.to_rfc3339_utc(),
        event_type: &e.event_type,
    })
    .expect("an object of strings always serializes");
    // `{"data":<payload>,` + the rest of `around` after its opening brace.
    let mut body = String::with_capacity(e.payload.len() + around.len() + 8);
    body.push_str("{\"data\":");
    body.push_str(&e.payload);
    body.push(',');
    body.push_str(&around[1..]);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_the_json_object_of_its_fields() {
        let e = OutboxEvent {
            seq: 7,
            id: "evt_1".into(),
            event_type: "order.created".into(),
            occurred_at: Timestamp(1_700_000_000_123_456),
            operator_id: "op".into(),
            seller_id: None,
            entity: "order".into(),
            entity_id: "42".into(),
            payload: r#"{"b":[1,2],"a":"x\"y"}"#.into(),
        };
        let body = envelope(&e);
        let expected = serde_json::json!({
            "data": {"b": [1, 2], "a": "x\"y"},
            "entity": "order",
            "entityId": "42",
            "id": "evt_1",
            "operator": "op",
            "seller": null,
            "timestamp": e.occurred_at.to_rfc3339_utc(),
            "type": "order.created",
        });
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            expected
        );
        // The payload's own text, key order included, is kept.
        assert!(body.starts_with(r#"{"data":{"b":[1,2],"a":"x\"y"},"entity":"order""#));
    }
}
