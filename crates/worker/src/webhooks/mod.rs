//! Webhook delivery, the IO half of webhooks: the outbox sink that fans events out
//! into deliveries ([`WebhookSink`], run by a [`crate::Relay`] like every sink), the
//! dispatcher that sends them ([`dispatch`]), their Standard Webhooks signatures
//! ([`sign`]), kept off private addresses by the hub's outbound guard
//! ([`entreposto_http::outbound`]). What an outcome means (retries, disabling) and
//! which endpoints an event goes to are decided by the application
//! (`entreposto_app::webhooks`).
//!
//! The sink writes every event's deliveries durably before the relay acks it (those
//! its node's dispatcher has room for already leased to it, and handed over), and the
//! relay hands the sink events in outbox order from one node at a time, so one
//! entity's deliveries queue in order; a node that dies before acking leaves the
//! events to be fanned out again, which writes nothing twice.

use async_trait::async_trait;
use entreposto_app::webhooks::WebhookEvent;
use entreposto_app::App;
use entreposto_store::OutboxEvent;

use crate::{Sink, SinkError};

pub mod dispatch;
pub mod sign;

pub use dispatch::{Dispatcher, DispatcherOptions};

/// The webhooks' sink name in the outbox.
pub const SINK: &str = "webhooks";

/// The event as the webhooks take it: its body is the sinks' common envelope
/// ([`crate::envelope`]), which holds Standard Webhooks' `type`, `timestamp` and
/// `data`.
pub fn webhook_event(e: &OutboxEvent) -> WebhookEvent {
    WebhookEvent {
        id: e.id.clone(),
        seq: e.seq,
        event_type: e.event_type.clone(),
        operator_id: e.operator_id.clone(),
        seller_id: e.seller_id.clone(),
        entity: Some(format!("{}:{}", e.entity, e.entity_id)),
        occurred_at: e.occurred_at,
        body: crate::envelope(e),
    }
}

/// Fans the outbox's events out into webhook deliveries.
pub struct WebhookSink {
    app: App,
    /// This node's running dispatcher: the deliveries it has room for are written
    /// leased to it and handed over at once, instead of being claimed back.
    dispatcher: Option<Dispatcher>,
}

impl WebhookSink {
    pub fn new(app: App) -> WebhookSink {
        WebhookSink {
            app,
            dispatcher: None,
        }
    }

    /// Hands the deliveries `dispatcher` has room for straight to it; it must be
    /// running ([`Dispatcher::run`]), which records their outcomes.
    pub fn handing_to(mut self, dispatcher: Dispatcher) -> WebhookSink {
        self.dispatcher = Some(dispatcher);
        self
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        SINK
    }

    async fn deliver(&self, events: &[OutboxEvent]) -> Result<usize, SinkError> {
        let batch: Vec<WebhookEvent> = events.iter().map(webhook_event).collect();
        let failed = |e| SinkError(format!("webhook fan-out: {e}"));
        // With this node's dispatcher and a free slot, the fan-out leases to it.
        let to = self
            .dispatcher
            .as_ref()
            .and_then(|d| d.reserve().map(|slots| (d, slots)));
        match to {
            Some((d, slots)) => {
                let out = self
                    .app
                    .fan_out_webhooks_to(&batch, d.node(), slots.free())
                    .await
                    .map_err(failed)?;
                d.send_claimed(slots, out.claimed);
            }
            None => {
                self.app.fan_out_webhooks(&batch).await.map_err(failed)?;
            }
        }
        Ok(events.len())
    }
}
