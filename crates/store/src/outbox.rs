//! The transactional outbox: every business change writes its events in the same
//! transaction as the change, and sinks (webhooks, NATS) consume them from here.
//!
//! **Writing.** A backend turns the domain events a write is handed into
//! [`NewEvent`]s and inserts them with one multi-row statement, last in the change's
//! transaction (after the entity's row was written, hence locked): the event exists
//! exactly when the change does. `seq` comes from the table's sequence at that
//! insert, so two changes of one entity (serialized by the entity row's lock) get
//! their `seq` in commit order.
//!
//! **Consuming.** Each sink is a named cursor over the events' *position*, a gap-free
//! order in which events become visible, held by one node at a time: a node takes
//! the sink with [`OutboxStore::claim_events`] (a lease until a time it names,
//! renewed by every claim), hands the events to its sink, and records how far it got
//! with [`OutboxStore::ack_events`]. A node killed mid-claim simply stops renewing; once
//! the lease has passed, another node's claim takes the sink over and starts again
//! after the last ack, so delivery is at-least-once (sinks dedupe by the event `id`,
//! which never changes: JetStream's `Nats-Msg-Id`, the webhook's `webhook-id`). One
//! holder per sink delivers the stream in position order, which keeps every entity's
//! events in order.
//!
//! **Why positions, not `seq > cursor`.** On PostgreSQL a sequence value is taken when
//! a transaction inserts, not when it commits: a transaction holding `seq` 10 may
//! commit after one holding 11 was read, and a cursor that moved past 11 would skip
//! 10 forever. So PostgreSQL stamps positions after commit: a claim first takes the
//! one stamping lock (a row lock), gives every committed unstamped event the next
//! positions in `seq` order, and commits; stampers are serialized by the lock, so a
//! position is only ever visible after every smaller one is, and `position > cursor`
//! skips nothing. Per-row per-sink marks would also be gap-free but cost a row per
//! sink per event; snapshot `xmin` filtering holds every event back behind the
//! oldest running transaction of the whole server. Events of one entity keep their
//! order: the later one commits later, so it is never visible (stamped) before the
//! earlier one, and within one stamp batch `seq` orders them. On SQLite a single
//! writer commits in `seq` order, so the position is the `seq` itself.
//!
//! Reads for recovery ([`OutboxStore::list_events`], events since a time) and by id
//! ([`OutboxStore::get_event`]) are scoped by the operator (and seller), like every
//! other read.

use async_trait::async_trait;
use entreposto_domain::Timestamp;

use crate::Result;

/// What an event is about: the kind of its entity, as `OutboxEvent::entity` holds it.
pub mod entity {
    pub const ORDER: &str = "order";
    pub const TICKET: &str = "ticket";
    pub const PRODUCT: &str = "product";
    pub const IMPORT: &str = "import";
    pub const CREDENTIAL: &str = "credential";
    pub const EXTRACT_LINE: &str = "extract_line";
    pub const CONCILIATION: &str = "conciliation";
}

/// A stored event, as sinks and readers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// The store's insert order: per entity, commit order. Unique, never reused.
    pub seq: i64,
    /// `evt_<ULID>`: unique, stable across redeliveries (NATS message id, webhook id).
    pub id: String,
    /// `<entity>.<what happened>`, e.g. `order.status_changed` (see `DomainEvent`).
    pub event_type: String,
    /// When the change happened (its use case's clock).
    pub occurred_at: Timestamp,
    pub operator_id: String,
    /// `None` for an operator-wide entity (an operator's credential).
    pub seller_id: Option<String>,
    /// One of [`entity`]'s kinds.
    pub entity: String,
    /// The entity's id as the native API writes it (a number's decimal text, a UUID).
    pub entity_id: String,
    /// The entity (or the part the event is about) in the native API's shape, as the
    /// JSON text rendered when the event was written. Sinks splice it into their
    /// bodies as it is: parsing it into a tree and printing it again per delivery was
    /// a tenth of a node's work under a stream of webhooks.
    pub payload: String,
}

impl OutboxEvent {
    /// The payload parsed, for readers that look inside it (tests, tools).
    pub fn payload_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// An event a backend is about to insert with its change; `seq` comes on insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: String,
    pub event_type: &'static str,
    pub occurred_at: Timestamp,
    pub operator_id: String,
    pub seller_id: Option<String>,
    pub entity: &'static str,
    pub entity_id: String,
    /// JSON text.
    pub payload: String,
}

impl NewEvent {
    /// A new event with a fresh id.
    pub fn new(
        event_type: &'static str,
        occurred_at: Timestamp,
        operator_id: &str,
        seller_id: Option<&str>,
        entity: &'static str,
        entity_id: String,
        payload: String,
    ) -> NewEvent {
        NewEvent {
            id: new_event_id(),
            event_type,
            occurred_at,
            operator_id: operator_id.to_string(),
            seller_id: seller_id.map(str::to_string),
            entity,
            entity_id,
            payload,
        }
    }
}

/// A fresh event id: `evt_` and a ULID (time-ordered, so the id index grows at its end).
pub fn new_event_id() -> String {
    format!("evt_{}", ulid::Ulid::new())
}

/// Events handed to one sink holder by [`OutboxStore::claim_events`].
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// In position order (every entity's events in commit order).
    pub events: Vec<OutboxEvent>,
    /// `positions[i]` is `events[i]`'s position in the stream: what
    /// [`OutboxStore::ack_events`] takes.
    pub positions: Vec<i64>,
}

impl Claim {
    /// The position to ack once the first `n` events are delivered (`None` for 0).
    pub fn through(&self, n: usize) -> Option<i64> {
        n.checked_sub(1)
            .and_then(|i| self.positions.get(i))
            .copied()
    }

    /// The position to ack once every event is delivered.
    pub fn last(&self) -> Option<i64> {
        self.positions.last().copied()
    }
}

/// Which events [`OutboxStore::list_events`] returns: the operator's (one seller's
/// only, when named) that occurred at or after `since`, by (`occurred_at`, `seq`),
/// after `after` (the (`occurred_at`, `seq`) of the previous page's last event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    pub operator_id: String,
    pub seller_id: Option<String>,
    pub since: Timestamp,
    pub after: Option<(Timestamp, i64)>,
    pub limit: u32,
}

/// Where a sink is (for status pages and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkState {
    pub sink: String,
    /// The last acked position (0: none yet).
    pub position: i64,
    pub holder: Option<String>,
    pub lease_until: Timestamp,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Takes (or keeps) sink `sink` for `holder` until `lease_until` and returns up to
    /// `limit` events after its last ack, in position order; `None` when another
    /// holder's lease runs past `now`. A sink claimed for the first time starts at the
    /// oldest stored event. Claiming again before acking returns the same events
    /// again (plus newer ones): a holder acks what it delivered, then claims.
    async fn claim_events(
        &self,
        sink: &str,
        holder: &str,
        limit: u32,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<Claim>>;
    /// Records that `sink` delivered every event up to position `through` (from a
    /// [`Claim`]); acking an older position again changes nothing. `Stale` when
    /// `holder` no longer holds the sink (another node took it over after the lease
    /// ran out: it delivers from the last ack, so nothing is lost, some is repeated).
    async fn ack_events(&self, sink: &str, holder: &str, through: i64) -> Result<()>;
    /// Gives the sink up (a clean shutdown), so another node takes it without waiting
    /// for the lease. Releasing a sink one does not hold changes nothing.
    async fn release_sink(&self, sink: &str, holder: &str) -> Result<()>;
    /// The sink's state, `None` if no node ever claimed it.
    async fn sink_state(&self, sink: &str) -> Result<Option<SinkState>>;
    /// Events by time, for recovery (see [`EventFilter`]).
    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<OutboxEvent>>;
    /// The operator's event `id` (`NotFound` if absent or another operator's).
    async fn get_event(&self, operator_id: &str, id: &str) -> Result<OutboxEvent>;
    /// Deletes up to `limit` events that occurred before `before` (retention);
    /// returns how many went.
    async fn prune_events(&self, before: Timestamp, limit: u32) -> Result<u64>;
    /// Changes each time this process commits events, so a relay can wake at once
    /// instead of waiting for its next poll (other nodes' events wait for the poll).
    fn event_signal(&self) -> tokio::sync::watch::Receiver<u64>;
}
