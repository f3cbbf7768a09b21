//! Webhooks' storage: endpoints, the messages fanned out to them, one delivery per
//! message and endpoint, and the log of every attempt.
//!
//! The application decides everything: which endpoints an event goes to (handed in
//! as a [`OutgoingMessage`]'s deliveries), what an attempt's outcome does to its delivery
//! and endpoint ([`AttemptOutcome`]). The store keeps two promises of its own, since
//! only it sees every node's writes: a claim ([`WebhookStore::claim_deliveries`])
//! hands out each due delivery to one node at a time (a lease; on PostgreSQL
//! `FOR UPDATE SKIP LOCKED`), and never one whose endpoint has an earlier pending
//! delivery for the same entity, so one entity's events reach an endpoint in order.
//! Fanning out the same message twice (an outbox event consumed again after a crash)
//! writes nothing the second time. A fan-out may also lease what it writes to the
//! node that will send it ([`WebhookStore::enqueue_leasing`]), under exactly the
//! claim's conditions, so that node need not claim it back; messages must come in
//! `seq` order (the relay's), as one entity's order is judged against what is
//! already written.

use async_trait::async_trait;
use entreposto_domain::{DeliveryState, Timestamp, WebhookEndpoint};

use crate::outbox::NewEvent;
use crate::sealing::{endpoint_secret_place, Sealer};
use crate::Result;

/// A message to fan out: the event as receivers get it, and its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The event's id: the `webhook-id` receivers deduplicate on.
    pub id: String,
    /// The event's position in the outbox: one entity's deliveries go out in it.
    pub seq: i64,
    pub operator_id: String,
    pub seller_id: Option<String>,
    pub event_type: String,
    /// What the event is about (`order:42`); events of one entity reach an endpoint
    /// in `seq` order.
    pub entity: String,
    pub occurred_at: Timestamp,
    /// The JSON body POSTed, byte for byte (it is signed as it is).
    pub body: String,
    /// One per endpoint it goes to: pending from the given time, or skipped.
    pub deliveries: Vec<NewDelivery>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub endpoint_id: String,
    /// The endpoint's version the fan-out decided on: a fan-out lease
    /// ([`WebhookStore::enqueue_leasing`]) only takes a delivery whose endpoint is
    /// still at it, so an endpoint changed meanwhile is sent to as it now is.
    pub endpoint_version: i64,
    /// `Pending` (due at the message's fan-out time) or `Skipped`.
    pub state: DeliveryState,
    pub due_at: Timestamp,
}

/// What a fan-out asks to lease of the deliveries it writes: the node that will
/// send them at once, until when, and how many it has room for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOutLease {
    pub node: String,
    pub now: Timestamp,
    pub until: Timestamp,
    pub limit: u32,
}

/// What [`WebhookStore::enqueue_leasing`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enqueued {
    /// New deliveries, leased or not.
    pub new: u64,
    /// The token of the lease on `leased` (empty when none is).
    pub lease_token: String,
    /// The new deliveries leased to the fan-out's node, in the order written.
    pub leased: Vec<LeasedDelivery>,
}

/// A delivery written already leased: its message and delivery (indexes into the
/// fan-out's messages and that message's deliveries) and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasedDelivery {
    pub message: usize,
    pub delivery: usize,
    pub id: i64,
}

/// A delivery claimed for an attempt: what to send, where, and the claim's token.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    /// Proves the claim is still this node's when its outcome is recorded.
    pub lease_token: String,
    pub endpoint: WebhookEndpoint,
    pub message_id: String,
    pub event_type: String,
    pub entity: String,
    pub body: String,
    /// Attempts made since it was last enqueued (the retry schedule counts these).
    pub tries: u32,
}

/// One attempt as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: Timestamp,
    /// The node that made it.
    pub node: String,
    /// The response's status, `None` when none came (refused, timed out).
    pub status: Option<u16>,
    /// The start of the response body (about a KiB).
    pub response: String,
    pub duration_ms: i64,
    /// Why it failed without a response, or what the status meant.
    pub error: Option<String>,
}

/// What an attempt does to its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    Succeeded,
    /// Pending again, due then.
    RetryAt(Timestamp),
    Failed,
}

impl DeliveryNext {
    /// The delivery's `state` and `next_attempt_at` columns after it.
    pub fn columns(self) -> (DeliveryState, Option<i64>) {
        match self {
            DeliveryNext::Succeeded => (DeliveryState::Succeeded, None),
            DeliveryNext::RetryAt(t) => (DeliveryState::Pending, Some(t.0)),
            DeliveryNext::Failed => (DeliveryState::Failed, None),
        }
    }
}

/// What an attempt does to its endpoint's health.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointHealth {
    /// It answered: no longer failing.
    Succeeded,
    /// It failed: failing since `now` unless it already was; and when it has been
    /// failing since `disable_if_failing_since` or earlier (and is still enabled), it
    /// is disabled for failing, `event` (`webhook.endpoint_disabled`) written to the
    /// outbox with that change.
    Failed {
        now: Timestamp,
        disable_if_failing_since: Timestamp,
        event: NewEvent,
    },
}

/// The entity kind of events about an endpoint (`webhook.endpoint_disabled`).
pub const WEBHOOK_ENTITY: &str = "webhook";

/// An attempt's outcome, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptOutcome {
    pub delivery_id: i64,
    pub endpoint_id: String,
    pub lease_token: String,
    pub attempt: Attempt,
    pub next: DeliveryNext,
    pub health: EndpointHealth,
}

/// How a batch of outcomes touches its endpoints' health, for a store that writes a
/// batch with a few statements: endpoints that only succeeded in the batch (cleared
/// of failing with one statement, whatever their order), and the outcomes, in batch
/// order, of endpoints that also failed (their indexes; applied one at a time, since
/// the order of a success and a failure decides whether the endpoint ends failing or
/// disabled).
pub fn health_plan(outcomes: &[AttemptOutcome]) -> (Vec<&str>, Vec<usize>) {
    let failing: std::collections::HashSet<&str> = outcomes
        .iter()
        .filter(|o| matches!(o.health, EndpointHealth::Failed { .. }))
        .map(|o| o.endpoint_id.as_str())
        .collect();
    let mut cleared: Vec<&str> = outcomes
        .iter()
        .map(|o| o.endpoint_id.as_str())
        .filter(|e| !failing.contains(e))
        .collect();
    cleared.sort_unstable();
    cleared.dedup();
    let ordered = (0..outcomes.len())
        .filter(|&i| failing.contains(outcomes[i].endpoint_id.as_str()))
        .collect();
    (cleared, ordered)
}

/// What recording an outcome did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The delivery was still this claim's, and took the outcome's next state. When
    /// not (its lease ran out and another node took it), only the attempt is logged.
    pub applied: bool,
    /// The endpoint was disabled by this outcome.
    pub disabled: bool,
}

/// One delivery as the log shows it, with its attempts, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub seq: i64,
    pub message_id: String,
    pub event_type: String,
    pub entity: String,
    pub occurred_at: Timestamp,
    pub state: DeliveryState,
    pub tries: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<Timestamp>,
    /// The node attempting it now (its lease may have run out if that node died).
    pub claimed_by: Option<String>,
    pub attempts: Vec<Attempt>,
}

/// Which deliveries of an endpoint a listing returns: newest message first, paged by
/// `before` (the `seq` of the last delivery of the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub before: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint (`Conflict` if its id is taken).
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<()>;
    /// The endpoint `id` of `operator_id`.
    async fn get_endpoint(&self, operator_id: &str, id: &str) -> Result<WebhookEndpoint>;
    /// Looks an endpoint up by id alone: for admin commands, never for a request.
    async fn find_endpoint(&self, id: &str) -> Result<WebhookEndpoint>;
    /// The operator's endpoints, oldest first.
    async fn list_endpoints(&self, operator_id: &str) -> Result<Vec<WebhookEndpoint>>;
    /// The endpoints of several operators at once, for a fan-out of a batch of events.
    async fn endpoints_of(&self, operator_ids: &[String]) -> Result<Vec<WebhookEndpoint>>;
    /// Writes `endpoint` over the stored one if its version is still
    /// `loaded_version` (`Stale` otherwise, `NotFound` if gone); the stored version
    /// becomes `loaded_version + 1`, as the returned endpoint says.
    async fn update_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        loaded_version: i64,
    ) -> Result<WebhookEndpoint>;
    /// Removes the endpoint with its deliveries and their log.
    async fn delete_endpoint(&self, operator_id: &str, id: &str) -> Result<()>;

    /// Writes each message and its deliveries; a message (and a delivery) already
    /// there is left as it is. Answers how many deliveries were new.
    async fn enqueue_messages(&self, messages: &[OutgoingMessage]) -> Result<u64>;
    /// [`WebhookStore::enqueue_messages`], also leasing to `lease.node` until
    /// `lease.until` up to `lease.limit` of the new deliveries that a claim at
    /// `lease.now` could take (pending and due, endpoint enabled and still at the
    /// fan-out's version, no earlier pending delivery of the same endpoint and
    /// entity, which includes one written just before in the same fan-out): the
    /// node sends those at once instead of claiming them back. A backend may lease
    /// none, as this default does; whatever is not leased is claimed as usual.
    async fn enqueue_leasing(
        &self,
        messages: &[OutgoingMessage],
        lease: &FanOutLease,
    ) -> Result<Enqueued> {
        let _ = lease;
        Ok(Enqueued {
            new: self.enqueue_messages(messages).await?,
            ..Enqueued::default()
        })
    }
    /// Claims up to `limit` deliveries due at `now` (pending, next attempt at or
    /// before `now`, no unexpired lease, endpoint enabled, no earlier pending
    /// delivery of the same endpoint and entity), leasing them to `node` until
    /// `lease_until`. A claim whose lease runs out is claimable again.
    async fn claim_deliveries(
        &self,
        node: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>>;
    /// Logs each attempt, and applies its outcome to the delivery if the claim
    /// (`lease_token`) is still its own, and the health change to the endpoint, in
    /// order and in one transaction: one [`Recorded`] per outcome. A dispatcher
    /// records what its attempts got in batches, so a busy endpoint's deliveries do
    /// not cost a commit each.
    async fn record_attempts(&self, outcomes: &[AttemptOutcome]) -> Result<Vec<Recorded>>;

    /// One outcome: [`WebhookStore::record_attempts`] of it alone.
    async fn record_attempt(&self, outcome: &AttemptOutcome) -> Result<Recorded> {
        self.record_attempts(std::slice::from_ref(outcome))
            .await?
            .pop()
            .ok_or_else(|| crate::StoreError::Other("an outcome was not recorded".into()))
    }

    /// The endpoint's deliveries, with their attempts.
    async fn list_deliveries(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        filter: &DeliveryFilter,
    ) -> Result<Vec<Delivery>>;
    /// Makes the endpoint's delivery of `message_id` pending again, due at `now`,
    /// with its tries counted anew (its log kept); `NotFound` if there is none.
    async fn requeue_delivery(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        message_id: &str,
        now: Timestamp,
    ) -> Result<Delivery>;
    /// Deletes up to `limit` deliveries that are done (succeeded, failed or skipped)
    /// of events that occurred before `before`, with their log, and the messages of
    /// before then left without deliveries, up to `limit` of them or all (retention);
    /// answers how many deliveries went, or how many messages if more: the caller
    /// repeats while the answer is `limit`.
    async fn prune_deliveries(&self, before: Timestamp, limit: u32) -> Result<u64>;
    /// Makes every failed or skipped delivery of the endpoint whose event occurred
    /// at or after `since` pending again, due at `now`; answers how many.
    async fn requeue_since(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u64>;
}

/// The `webhook_endpoints` columns every backend reads, in this order.
pub const ENDPOINT_COLS: &str = "id, operator_id, seller_id, url, events, description, enabled, \
     disabled_reason, secret, previous_secret, previous_until, failing_since, created_at, \
     updated_at, version";

/// An endpoint as its row holds it, the same in every backend: the event filter as a
/// JSON array (`NULL` for all), words for the reason, times as microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub id: String,
    pub operator_id: String,
    pub seller_id: Option<String>,
    pub url: String,
    pub events: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

impl EndpointRow {
    /// The row of `e`, its secrets sealed by `sealer`.
    pub fn of(e: &WebhookEndpoint, sealer: &Sealer) -> EndpointRow {
        EndpointRow {
            id: e.id.clone(),
            operator_id: e.operator_id.clone(),
            seller_id: e.seller_id.clone(),
            url: e.url.as_str().to_string(),
            events: e
                .events
                .types()
                .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into())),
            description: e.description.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.map(|r| r.as_str().to_string()),
            secret: sealer.seal(&endpoint_secret_place(&e.id, false), e.secret.expose()),
            previous_secret: e
                .previous_secret
                .as_ref()
                .map(|p| sealer.seal(&endpoint_secret_place(&e.id, true), p.secret.expose())),
            previous_until: e.previous_secret.as_ref().map(|p| p.until.0),
            failing_since: e.failing_since.map(|t| t.0),
            created_at: e.created_at.0,
            updated_at: e.updated_at.0,
            version: e.version,
        }
    }

    /// The endpoint this row holds, its secrets opened by `sealer`.
    pub fn into_endpoint(self, sealer: &Sealer) -> Result<WebhookEndpoint> {
        use entreposto_domain::{
            DisabledReason, EventFilter, PreviousSecret, WebhookSecret, WebhookUrl,
        };
        let bad =
            |what: &str| crate::StoreError::Other(format!("endpoint {}: bad {what}", self.id));
        let events = match &self.events {
            None => EventFilter::All,
            Some(json) => {
                let types: Vec<String> = serde_json::from_str(json).map_err(|_| bad("events"))?;
                EventFilter::Only(types)
            }
        };
        let opened = |stored: &str, previous: bool| {
            sealer
                .open(&endpoint_secret_place(&self.id, previous), stored)
                .map_err(|e| crate::StoreError::Other(e.0))
        };
        let secret =
            WebhookSecret::parse(&opened(&self.secret, false)?).map_err(|_| bad("secret"))?;
        let previous_secret = match (&self.previous_secret, self.previous_until) {
            (Some(s), Some(until)) => Some(PreviousSecret {
                secret: WebhookSecret::parse(&opened(s, true)?)
                    .map_err(|_| bad("previous secret"))?,
                until: Timestamp(until),
            }),
            _ => None,
        };
        let disabled_reason = match &self.disabled_reason {
            None => None,
            Some(r) => Some(DisabledReason::parse(r).ok_or_else(|| bad("disabled reason"))?),
        };
        Ok(WebhookEndpoint {
            url: WebhookUrl::stored(self.url),
            events,
            secret,
            previous_secret,
            disabled_reason,
            id: self.id,
            operator_id: self.operator_id,
            seller_id: self.seller_id,
            description: self.description,
            enabled: self.enabled,
            failing_since: self.failing_since.map(Timestamp),
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
            version: self.version,
        })
    }
}

/// The endpoint of claimed delivery `delivery_id`, or `None` (logged) when its row
/// does not open: its secret sealed under a key this node lacks, as during a key
/// rotation not yet on every node. That delivery alone then waits for its lease to
/// run out and a node that opens it, instead of the whole claim failing.
pub fn claimed_endpoint(
    delivery_id: i64,
    row: EndpointRow,
    sealer: &Sealer,
) -> Option<WebhookEndpoint> {
    match row.into_endpoint(sealer) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::error!(delivery = delivery_id, error = %e, "a claimed delivery's endpoint does not open");
            None
        }
    }
}

/// A delivery state as stored.
pub fn state_from_column(s: &str) -> Result<DeliveryState> {
    DeliveryState::parse(s)
        .ok_or_else(|| crate::StoreError::Other(format!("unknown delivery state '{s}'")))
}

/// The columns of `webhook_deliveries d` joined with `webhook_messages m` a
/// [`Delivery`] is read from, in [`DeliveryRow`]'s order.
pub const DELIVERY_COLS: &str =
    "d.id, d.seq, d.message_id, m.event_type, d.entity, d.occurred_at, d.state, d.tries, \
     d.next_attempt_at, d.lease_owner";

/// The columns of `webhook_attempts` an [`Attempt`] is read from, after its
/// `delivery_id`.
pub const ATTEMPT_COLS: &str = "delivery_id, at, node, status, response, duration_ms, error";

/// Gathers each delivery's attempts (`attempts` by delivery, then oldest first).
pub fn attach_attempts(deliveries: &mut [Delivery], attempts: Vec<(i64, Attempt)>) {
    let mut by_id: std::collections::HashMap<i64, Vec<Attempt>> = Default::default();
    for (id, a) in attempts {
        by_id.entry(id).or_default().push(a);
    }
    for d in deliveries {
        d.attempts = by_id.remove(&d.id).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::{EventFilter, WebhookSecret, WebhookUrl};

    fn endpoint() -> WebhookEndpoint {
        WebhookEndpoint {
            id: "ep_1".into(),
            operator_id: "op".into(),
            seller_id: None,
            url: WebhookUrl::stored("https://hooks.example.com/1"),
            events: EventFilter::All,
            description: String::new(),
            enabled: true,
            disabled_reason: None,
            secret: WebhookSecret::from_key(&[7; 24]),
            previous_secret: None,
            failing_since: None,
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
            version: 1,
        }
    }

    #[test]
    fn a_claimed_endpoint_that_does_not_open_is_left_out_alone() {
        let node = Sealer::with_keys(&[1; 32], &[]).unwrap();
        let other = Sealer::with_keys(&[2; 32], &[]).unwrap();
        let e = endpoint();
        assert_eq!(
            claimed_endpoint(1, EndpointRow::of(&e, &node), &node),
            Some(e.clone())
        );
        assert_eq!(
            claimed_endpoint(2, EndpointRow::of(&e, &other), &node),
            None
        );
        // Plain rows (written before a key was set) open under any key.
        let plain = EndpointRow::of(&e, &Sealer::plain());
        assert_eq!(claimed_endpoint(3, plain, &node), Some(e));
    }
}
