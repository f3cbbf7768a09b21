//! Webhook use cases: an operator's endpoints (create, change, rotate the secret,
//! enable and disable, delete), replay and recovery, and the decisions the delivery
//! worker asks for: which endpoints an event goes to (the fan-out), and what an
//! attempt's outcome does to its delivery and endpoint (retry, fail, disable).
//!
//! The worker (`entreposto_worker::webhooks`) does the IO: it consumes the outbox, calls
//! [`App::fan_out_webhooks_to`] (which also hands back what it could lease to the
//! node's dispatcher), claims the rest with [`App::claim_webhook_deliveries`], POSTs,
//! and reports with [`App::record_webhook_attempts`]. The rules themselves (schedule,
//! disabling, filters, addresses) are `entreposto_domain::webhook`'s.

use std::collections::BTreeSet;
use std::time::Duration;

use entreposto_domain::webhook::{
    failing_long_enough, next_attempt_after, DISABLE_AFTER_MICROS, ENDPOINT_DISABLED,
};
use entreposto_domain::{
    DeliveryState, EventFilter, FieldError, Timestamp, WebhookEndpoint, WebhookSecret, WebhookUrl,
};
use entreposto_store::outbox::NewEvent;
use entreposto_store::webhooks::{
    Attempt, AttemptOutcome, ClaimedDelivery, Delivery, DeliveryNext, EndpointHealth, Enqueued,
    FanOutLease, NewDelivery, OutgoingMessage, Recorded, WEBHOOK_ENTITY,
};
use entreposto_store::{new_id, StoreError};

use crate::{App, AppError, Result};

/// How the hub delivers webhooks (`[webhooks]` in the configuration file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Let endpoints and deliveries reach loopback, private and link-local addresses.
    pub allow_private_addresses: bool,
    /// How long a claimed delivery stays its node's: a node that dies mid-delivery
    /// leaves it to the others this long after claiming it. Longer than an attempt
    /// may take (15 s).
    pub lease: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private_addresses: false,
            lease: Duration::from_secs(60),
        }
    }
}

/// What a fan-out wrote: how many deliveries are new, and those of them claimed
/// for the node that asked ([`App::fan_out_webhooks_to`]).
#[derive(Debug, Clone, Default)]
pub struct FanOut {
    pub new: u64,
    pub claimed: Vec<ClaimedDelivery>,
}

/// How long an attempt may take before it counts as failed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// The longest description an endpoint may have.
pub const MAX_DESCRIPTION: usize = 500;

/// A new endpoint, as a client asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    /// `None`: every event type.
    pub events: Option<Vec<String>>,
    /// `None`: the whole operator.
    pub seller: Option<String>,
    pub description: Option<String>,
}

/// A change to an endpoint: the fields given are replaced.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    /// `Some(None)`: every event type again.
    pub events: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// An event, as the webhooks see it: what the outbox hands their sink.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub id: String,
    /// Its position in the outbox.
    pub seq: i64,
    pub event_type: String,
    pub operator_id: String,
    pub seller_id: Option<String>,
    /// What it is about (`order:42`); `None` orders it with nothing else.
    pub entity: Option<String>,
    pub occurred_at: Timestamp,
    /// The JSON body POSTed, signed byte for byte: Standard Webhooks' `type`,
    /// `timestamp` and `data` (the entity in the native API's shape), with the
    /// event's other fields (the sinks' common envelope).
    pub body: String,
}

/// What an attempt got: a status and the start of the body, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    /// When it was sent, by the app's clock.
    pub at: Timestamp,
    pub status: Option<u16>,
    pub response: String,
    pub duration_ms: i64,
    pub error: Option<String>,
}

impl AttemptResult {
    /// A 2xx.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

fn description(d: Option<String>) -> Result<String> {
    let d = d.unwrap_or_default();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        )
        .into());
    }
    Ok(d)
}

fn new_secret() -> WebhookSecret {
    WebhookSecret::from_key(&rand::random::<[u8; 24]>())
}

/// How many times a change to an endpoint is decided again when the endpoint moved
/// under it (a concurrent change, the worker disabling it).
const ENDPOINT_ATTEMPTS: u32 = 5;

impl App {
    /// The settings webhooks run with.
    pub fn webhook_settings(&self) -> WebhookSettings {
        self.webhooks
    }

    /// With other webhook settings.
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> App {
        self.webhooks = settings;
        self
    }

    /// Creates an endpoint of `operator_id`: the URL checked (a literal private
    /// address refused unless allowed), the event types known, the seller the
    /// operator's. The endpoint carries its new secret.
    pub async fn create_webhook(
        &self,
        operator_id: &str,
        new: NewWebhook,
    ) -> Result<WebhookEndpoint> {
        let url = WebhookUrl::parse(&new.url, self.webhooks.allow_private_addresses)?;
        let events = EventFilter::parse(new.events.as_deref())?;
        let description = description(new.description)?;
        self.store.get_operator(operator_id).await?;
        if let Some(s) = &new.seller {
            match self.store.get_seller(operator_id, s).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    return Err(FieldError::new(
                        "seller",
                        format!("no seller '{s}' of this operator"),
                    )
                    .into())
                }
                Err(e) => return Err(e.into()),
            }
        }
        let now = self.now();
        let endpoint = WebhookEndpoint {
            id: new_id(),
            operator_id: operator_id.to_string(),
            seller_id: new.seller,
            url,
            events,
            description,
            enabled: true,
            disabled_reason: None,
            secret: new_secret(),
            previous_secret: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        self.store.create_endpoint(&endpoint).await?;
        Ok(endpoint)
    }

    /// Loads the endpoint, lets `change` decide on it, and writes it; decided again
    /// if it moved meanwhile.
    async fn change_endpoint(
        &self,
        operator_id: &str,
        id: &str,
        change: impl Fn(&mut WebhookEndpoint, Timestamp) -> Result<()>,
    ) -> Result<WebhookEndpoint> {
        for attempt in 1..=ENDPOINT_ATTEMPTS {
            let mut e = self.store.get_endpoint(operator_id, id).await?;
            let loaded = e.version;
            let now = self.now();
            change(&mut e, now)?;
            e.updated_at = now;
            match self.store.update_endpoint(&e, loaded).await {
                Err(StoreError::Stale) => crate::backoff(attempt).await,
                other => return Ok(other?),
            }
        }
        Err(AppError::Conflict(
            "the endpoint kept changing concurrently; retry".into(),
        ))
    }

    /// Changes the fields `patch` gives. Enabling an endpoint starts its failures
    /// anew (its pending deliveries go out again).
    pub async fn update_webhook(
        &self,
        operator_id: &str,
        id: &str,
        patch: WebhookPatch,
    ) -> Result<WebhookEndpoint> {
        let url = patch
            .url
            .as_deref()
            .map(|u| WebhookUrl::parse(u, self.webhooks.allow_private_addresses))
            .transpose()?;
        let events = patch
            .events
            .as_ref()
            .map(|e| EventFilter::parse(e.as_deref()))
            .transpose()?;
        let description = patch
            .description
            .map(|d| description(Some(d)))
            .transpose()?;
        self.change_endpoint(operator_id, id, |e, now| {
            if let Some(u) = &url {
                e.url = u.clone();
            }
            if let Some(f) = &events {
                e.events = f.clone();
            }
            if let Some(d) = &description {
                e.description = d.clone();
            }
            if let Some(enabled) = patch.enabled {
                e.set_enabled(enabled, now);
            }
            Ok(())
        })
        .await
    }

    /// Gives the endpoint a new secret; the old one keeps signing beside it for a
    /// day (`ROTATION_OVERLAP_MICROS`).
    pub async fn rotate_webhook_secret(
        &self,
        operator_id: &str,
        id: &str,
    ) -> Result<WebhookEndpoint> {
        let secret = new_secret();
        self.change_endpoint(operator_id, id, |e, now| {
            e.rotate(secret.clone(), now);
            Ok(())
        })
        .await
    }

    pub async fn delete_webhook(&self, operator_id: &str, id: &str) -> Result<()> {
        Ok(self.store.delete_endpoint(operator_id, id).await?)
    }

    /// Sends the endpoint's delivery of `message_id` again, now, whatever became of
    /// it (receivers see the same `webhook-id`).
    pub async fn replay_webhook_message(
        &self,
        operator_id: &str,
        id: &str,
        message_id: &str,
    ) -> Result<Delivery> {
        let d = self
            .store
            .requeue_delivery(operator_id, id, message_id, self.now())
            .await?;
        self.webhook_work.notify_one();
        Ok(d)
    }

    /// Sends again every delivery of the endpoint whose event occurred at or after
    /// `since` and did not arrive (failed, or skipped while it was disabled); how many.
    pub async fn recover_webhook(
        &self,
        operator_id: &str,
        id: &str,
        since: Timestamp,
    ) -> Result<u64> {
        let n = self
            .store
            .requeue_since(operator_id, id, since, self.now())
            .await?;
        self.webhook_work.notify_one();
        Ok(n)
    }

    /// Fans `events` out into deliveries: one per endpoint of the event's operator
    /// that wants it (scope and filter), pending for an enabled endpoint, skipped
    /// for a disabled one. Written durably before it returns; fanning the same events
    /// out again writes nothing. Answers how many deliveries are new.
    pub async fn fan_out_webhooks(&self, events: &[WebhookEvent]) -> Result<u64> {
        Ok(self.fan_out(events, None).await?.new)
    }

    /// [`App::fan_out_webhooks`] for the node that will send them: up to `room` of
    /// the new deliveries that may go at once come back claimed by `node` (leased as
    /// [`App::claim_webhook_deliveries`] would, see `WebhookStore::enqueue_leasing`),
    /// for it to attempt without claiming them back; the rest wait for a claim.
    pub async fn fan_out_webhooks_to(
        &self,
        events: &[WebhookEvent],
        node: &str,
        room: u32,
    ) -> Result<FanOut> {
        self.fan_out(events, (room > 0).then_some((node, room)))
            .await
    }

    async fn fan_out(&self, events: &[WebhookEvent], to: Option<(&str, u32)>) -> Result<FanOut> {
        if events.is_empty() {
            return Ok(FanOut::default());
        }
        let operators: Vec<String> = events
            .iter()
            .map(|e| e.operator_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let endpoints = self.store.endpoints_of(&operators).await?;
        let now = self.now();
        let messages: Vec<OutgoingMessage> = events
            .iter()
            .filter_map(|e| {
                let deliveries: Vec<NewDelivery> = endpoints
                    .iter()
                    .filter(|ep| ep.wants(&e.operator_id, e.seller_id.as_deref(), &e.event_type))
                    .map(|ep| NewDelivery {
                        endpoint_id: ep.id.clone(),
                        endpoint_version: ep.version,
                        state: if ep.enabled {
                            DeliveryState::Pending
                        } else {
                            DeliveryState::Skipped
                        },
                        due_at: now,
                    })
                    .collect();
                (!deliveries.is_empty()).then(|| OutgoingMessage {
                    id: e.id.clone(),
                    seq: e.seq,
                    operator_id: e.operator_id.clone(),
                    seller_id: e.seller_id.clone(),
                    event_type: e.event_type.clone(),
                    entity: e.entity.clone().unwrap_or_else(|| e.id.clone()),
                    occurred_at: e.occurred_at,
                    body: e.body.clone(),
                    deliveries,
                })
            })
            .collect();
        if messages.is_empty() {
            return Ok(FanOut::default());
        }
        let written = match to {
            None => Enqueued {
                new: self.store.enqueue_messages(&messages).await?,
                ..Enqueued::default()
            },
            Some((node, limit)) => {
                let lease = FanOutLease {
                    node: node.to_string(),
                    now,
                    until: self.lease_from(now),
                    limit,
                };
                self.store.enqueue_leasing(&messages, &lease).await?
            }
        };
        if written.new > written.leased.len() as u64 {
            self.webhook_work.notify_one();
        }
        let mut claimed = Vec::with_capacity(written.leased.len());
        for l in &written.leased {
            let (m, d) = (
                &messages[l.message],
                &messages[l.message].deliveries[l.delivery],
            );
            let Some(endpoint) = endpoints.iter().find(|e| e.id == d.endpoint_id) else {
                continue;
            };
            claimed.push(ClaimedDelivery {
                id: l.id,
                lease_token: written.lease_token.clone(),
                endpoint: endpoint.clone(),
                message_id: m.id.clone(),
                event_type: m.event_type.clone(),
                entity: m.entity.clone(),
                body: m.body.clone(),
                tries: 0,
            });
        }
        Ok(FanOut {
            new: written.new,
            claimed,
        })
    }

    /// When a lease taken at `now` runs out ([`WebhookSettings::lease`]).
    fn lease_from(&self, now: Timestamp) -> Timestamp {
        let lease = i64::try_from(self.webhooks.lease.as_micros()).unwrap_or(i64::MAX);
        Timestamp(now.0.saturating_add(lease))
    }

    /// Deletes the deliveries (with their log) of events older than `days` that are
    /// done, `batch` at a time until none is left; how many.
    pub async fn prune_webhook_deliveries(&self, days: u64, batch: u32) -> Result<u64> {
        let age = i64::try_from(days)
            .unwrap_or(i64::MAX)
            .saturating_mul(86_400_000_000);
        let before = Timestamp(self.now().0.saturating_sub(age));
        let mut total = 0;
        loop {
            let n = self.store.prune_deliveries(before, batch).await?;
            total += n;
            if n < u64::from(batch) {
                return Ok(total);
            }
        }
    }

    /// Waits until this node has new deliveries to send (a fan-out, a replay).
    pub async fn webhook_work_arrived(&self) {
        self.webhook_work.notified().await
    }

    /// Claims up to `limit` due deliveries for `node`, leased for the configured
    /// [`WebhookSettings::lease`].
    pub async fn claim_webhook_deliveries(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let now = self.now();
        Ok(self
            .store
            .claim_deliveries(node, now, self.lease_from(now), limit)
            .await?)
    }

    /// Records what an attempt of `delivery` got, deciding its next step: a 2xx
    /// delivers it; a failure schedules the next retry, or fails it after the last;
    /// and an endpoint failing for five days is disabled, with a
    /// `webhook.endpoint_disabled` event written with that change.
    pub async fn record_webhook_attempt(
        &self,
        node: &str,
        delivery: &ClaimedDelivery,
        result: AttemptResult,
    ) -> Result<Recorded> {
        self.record_webhook_attempts(node, vec![(delivery.clone(), result)])
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal("an attempt was not recorded".into()))
    }

    /// [`App::record_webhook_attempt`] for several attempts at once, in one write
    /// (one [`Recorded`] each, in order): what a dispatcher's attempts got since it
    /// last recorded.
    pub async fn record_webhook_attempts(
        &self,
        node: &str,
        attempts: Vec<(ClaimedDelivery, AttemptResult)>,
    ) -> Result<Vec<Recorded>> {
        let outcomes: Vec<AttemptOutcome> = attempts
            .into_iter()
            .map(|(d, r)| self.outcome_of(node, &d, r))
            .collect();
        let recorded = self.store.record_attempts(&outcomes).await?;
        for (o, r) in outcomes.iter().zip(&recorded) {
            if r.disabled {
                tracing::warn!(endpoint = %o.endpoint_id, "webhook endpoint disabled: failing for five days");
            }
        }
        Ok(recorded)
    }

    /// The decided outcome of one attempt (see [`App::record_webhook_attempt`]).
    fn outcome_of(
        &self,
        node: &str,
        delivery: &ClaimedDelivery,
        result: AttemptResult,
    ) -> AttemptOutcome {
        let now = self.now();
        let ok = result.succeeded();
        let next = if ok {
            DeliveryNext::Succeeded
        } else {
            match next_attempt_after(delivery.tries + 1, now) {
                Some(t) => DeliveryNext::RetryAt(t),
                None => DeliveryNext::Failed,
            }
        };
        let e = &delivery.endpoint;
        let health = if ok {
            EndpointHealth::Succeeded
        } else {
            let threshold = Timestamp(now.0 - DISABLE_AFTER_MICROS);
            debug_assert!(failing_long_enough(threshold, now));
            EndpointHealth::Failed {
                now,
                disable_if_failing_since: threshold,
                event: NewEvent::new(
                    ENDPOINT_DISABLED,
                    now,
                    &e.operator_id,
                    e.seller_id.as_deref(),
                    WEBHOOK_ENTITY,
                    e.id.clone(),
                    serde_json::json!({
                        "id": e.id,
                        "url": e.url.as_str(),
                        "seller": e.seller_id,
                        "reason": "failing",
                        "failingSince": e.failing_since.unwrap_or(now).to_rfc3339_utc(),
                        "disabledAt": now.to_rfc3339_utc(),
                    })
                    .to_string(),
                ),
            }
        };
        AttemptOutcome {
            delivery_id: delivery.id,
            endpoint_id: e.id.clone(),
            lease_token: delivery.lease_token.clone(),
            attempt: Attempt {
                at: result.at,
                node: node.to_string(),
                status: result.status,
                response: result.response,
                duration_ms: result.duration_ms,
                error: result.error,
            },
            next,
            health,
        }
    }
}
