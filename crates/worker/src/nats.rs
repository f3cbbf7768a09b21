//! The NATS JetStream sink: every outbox event published once, on a subject per
//! operator, seller and type, acked by JetStream before the outbox row is.
//!
//! Subjects are `<prefix>.<operator>.<seller or _>.<type>`, e.g.
//! `entreposto.01J….01J….order.status_changed` (a token's `.`, `*`, `>` and spaces
//! become `_`), so a consumer filters with the usual wildcards
//! (`entreposto.*.SELLER.order.>`). The body is [`crate::envelope`]'s JSON. Each
//! message carries `Nats-Msg-Id` = the event id: when a relay publishes rows again
//! (it died after publishing, before its ack reached the outbox), JetStream drops the
//! copies it has seen within the stream's duplicate window, so keep that window
//! longer than the relay's lease. The stream is created if missing, capturing
//! `<prefix>.>`. A batch is published pipelined (every message sent, then the acks
//! awaited in order); the sink answers how many from the first were acked.

use std::time::Duration;

use async_nats::jetstream::{self, context::Publish, stream};
use async_trait::async_trait;
use entreposto_store::OutboxEvent;
use serde::{Deserialize, Serialize};

use crate::{envelope, Sink, SinkError};

/// `[nats]` in the configuration file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://host:port`; no URL, no NATS sink.
    pub url: Option<String>,
    /// The JetStream stream events go to (created if missing).
    pub stream: String,
    /// The first token of every subject.
    pub subject_prefix: String,
    /// How long JetStream remembers message ids to drop repeats, in seconds (set on a
    /// stream this creates).
    pub duplicate_window_secs: u64,
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings {
            url: None,
            stream: "ENTREPOSTO".into(),
            subject_prefix: "entreposto".into(),
            duplicate_window_secs: 600,
        }
    }
}

/// A subject token: NATS separates tokens with `.` and reads `*` and `>` as
/// wildcards, none of which may appear inside one.
fn token(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' | '*' | '>' | ' ' | '\t' | '\r' | '\n' => '_',
            c => c,
        })
        .collect()
}

/// The subject of `e` under `prefix` (see the module note).
pub fn subject(prefix: &str, e: &OutboxEvent) -> String {
    let seller = e.seller_id.as_deref().map_or_else(|| "_".into(), token);
    // The type's own dot stays: `order.created` is two tokens, filterable as such.
    let kind: Vec<String> = e.event_type.split('.').map(token).collect();
    format!(
        "{prefix}.{}.{seller}.{}",
        token(&e.operator_id),
        kind.join(".")
    )
}

/// Publishes events to JetStream (see the module note).
pub struct NatsSink {
    js: jetstream::Context,
    prefix: String,
    name: String,
}

impl NatsSink {
    /// Connects and makes sure the stream exists. The sink's outbox cursor is named
    /// `nats`.
    pub async fn connect(s: &NatsSettings) -> Result<NatsSink, SinkError> {
        let url = s
            .url
            .as_deref()
            .ok_or_else(|| SinkError("[nats] url is not set".into()))?;
        let client = async_nats::connect(url)
            .await
            .map_err(|e| SinkError(format!("connecting to NATS at {url}: {e}")))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: s.stream.clone(),
            subjects: vec![format!("{}.>", s.subject_prefix)],
            duplicate_window: Duration::from_secs(s.duplicate_window_secs.max(1)),
            ..Default::default()
        })
        .await
        .map_err(|e| SinkError(format!("JetStream stream {}: {e}", s.stream)))?;
        Ok(NatsSink {
            js,
            prefix: s.subject_prefix.clone(),
            name: "nats".into(),
        })
    }

    /// Under another outbox cursor name (tests run several sinks on one outbox).
    pub fn named(mut self, name: impl Into<String>) -> NatsSink {
        self.name = name.into();
        self
    }
}

#[async_trait]
impl Sink for NatsSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, events: &[OutboxEvent]) -> Result<usize, SinkError> {
        let mut pending = Vec::with_capacity(events.len());
        for e in events {
            let body = envelope(e).into_bytes();
            let publish = Publish::build().payload(body.into()).message_id(&e.id);
            match self
                .js
                .send_publish(subject(&self.prefix, e), publish)
                .await
            {
                Ok(ack) => pending.push(ack),
                Err(err) if pending.is_empty() => return Err(SinkError(err.to_string())),
                // Those sent before may still be acked.
                Err(err) => {
                    tracing::warn!(error = %err, "NATS publish failed mid-batch");
                    break;
                }
            }
        }
        let mut acked = 0;
        for ack in pending {
            match ack.await {
                Ok(_) => acked += 1,
                Err(err) if acked == 0 => return Err(SinkError(err.to_string())),
                Err(err) => {
                    tracing::warn!(error = %err, acked, "JetStream ack missing mid-batch");
                    break;
                }
            }
        }
        Ok(acked)
    }
}
