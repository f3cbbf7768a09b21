//! The webhooks' outbox sink: consumes the outbox as the sink `webhooks` and fans each
//! event out into deliveries ([`App::fan_out_webhooks`]), written durably before the
//! sink's cursor moves past it. One node holds the sink at a time (its lease), so
//! events are fanned out in outbox order and one entity's deliveries queue in it; a
//! node that dies after fanning out and before acking leaves the events to be fanned
//! out again, which writes nothing twice.

use std::sync::Arc;
use std::time::Duration;

use entreposto_app::webhooks::WebhookEvent;
use entreposto_app::App;
use entreposto_store::outbox::OutboxEvent;
use entreposto_store::Store;
use tokio::sync::watch;

/// The sink's name in the outbox.
pub const SINK: &str = "webhooks";

/// Events fanned out per claim.
pub const BATCH: u32 = 256;

/// The event as the webhooks take it, at `position` in the outbox.
pub fn webhook_event(e: &OutboxEvent, position: i64) -> WebhookEvent {
    WebhookEvent {
        id: e.id.clone(),
        seq: position,
        event_type: e.event_type.clone(),
        operator_id: e.operator_id.clone(),
        seller_id: e.seller_id.clone(),
        entity: Some(format!("{}:{}", e.entity, e.entity_id)),
        occurred_at: e.occurred_at,
        payload: e.payload.clone(),
    }
}

/// Consumes the outbox into webhook deliveries on one node.
#[derive(Clone)]
pub struct Relay {
    app: App,
    store: Arc<dyn Store>,
    node: String,
    poll: Duration,
    lease: Duration,
}

impl Relay {
    pub fn new(
        app: App,
        store: Arc<dyn Store>,
        node: &str,
        poll: Duration,
        lease: Duration,
    ) -> Relay {
        Relay {
            app,
            store,
            node: node.to_string(),
            poll,
            lease,
        }
    }

    /// Fans out the next batch of events if this node holds (or takes) the sink; how
    /// many events it fanned out.
    pub async fn relay_once(&self) -> entreposto_app::Result<usize> {
        let now = self.app.now();
        let lease = i64::try_from(self.lease.as_micros()).unwrap_or(i64::MAX);
        let until = entreposto_domain::Timestamp(now.0.saturating_add(lease));
        let Some(claim) = self
            .store
            .claim_events(SINK, &self.node, BATCH, now, until)
            .await?
        else {
            return Ok(0);
        };
        let Some(last) = claim.last() else {
            return Ok(0);
        };
        let events: Vec<WebhookEvent> = claim
            .events
            .iter()
            .zip(&claim.positions)
            .map(|(e, p)| webhook_event(e, *p))
            .collect();
        self.app.fan_out_webhooks(&events).await?;
        self.store.ack_events(SINK, &self.node, last).await?;
        Ok(events.len())
    }

    /// Relays until `shutdown` turns true, then gives the sink up.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut signal = self.store.event_signal();
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.relay_once().await {
                Ok(n) if n as u32 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook relay could not fan out"),
            }
            tokio::select! {
                _ = signal.changed() => {}
                _ = tokio::time::sleep(self.poll) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
        if let Err(e) = self.store.release_sink(SINK, &self.node).await {
            tracing::debug!(error = %e, "releasing the webhooks sink");
        }
    }
}
