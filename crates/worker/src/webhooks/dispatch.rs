//! The dispatcher: claims due deliveries (once across nodes, see
//! `WebhookStore::claim_deliveries`), POSTs each signed as Standard Webhooks, and
//! reports what came back to the application, which decides the retry.
//!
//! An attempt succeeds on a 2xx within [`ATTEMPT_TIMEOUT`] (15 s); anything else
//! (another status, a refused or reset connection, a timeout, an address the guard
//! refuses) is a failure. Up to [`DispatcherOptions::concurrency`] attempts run at
//! once; a slow endpoint holds only its own. Outcomes are recorded in batches by one
//! recorder task (a write for all that finished meanwhile, see [`RECORD_BATCH`]).
//! The loop claims whenever it has room; with every slot taken it waits for one to
//! free, and otherwise for this node's next fan-out or replay, or its poll interval
//! (deliveries another node wrote, retries coming due). The node's fan-out also hands over the deliveries it wrote leased
//! to this node ([`Dispatcher::send_claimed`]); whoever leases takes the slots first
//! ([`Dispatcher::reserve`]), so a leased delivery starts at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entreposto_app::webhooks::{AttemptResult, ATTEMPT_TIMEOUT};
use entreposto_app::App;
use entreposto_store::webhooks::ClaimedDelivery;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use super::sign::signature_header;
use entreposto_http::outbound::{check_literal, guarded_client};

/// Most attempt outcomes one write records.
pub const RECORD_BATCH: usize = 256;

/// An attempt done, waiting to be recorded, with the slot it holds.
type Finished = (ClaimedDelivery, AttemptResult, OwnedSemaphorePermit);

/// Free attempt slots taken for deliveries about to be claimed
/// ([`Dispatcher::reserve`]); freed when dropped.
pub struct Slots {
    permits: OwnedSemaphorePermit,
    free: u32,
}

impl Slots {
    /// How many deliveries they make room for.
    pub fn free(&self) -> u32 {
        self.free
    }
}

/// How much of a response body the log keeps.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// How a node's dispatcher runs.
#[derive(Debug, Clone)]
pub struct DispatcherOptions {
    /// This node's name in leases and the attempt log.
    pub node: String,
    /// How often an idle dispatcher looks for due deliveries.
    pub poll: Duration,
    /// Most attempts in flight at once.
    pub concurrency: usize,
    /// How long an attempt may take.
    pub timeout: Duration,
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        DispatcherOptions {
            node: default_node_name(),
            poll: Duration::from_millis(500),
            concurrency: 64,
            timeout: ATTEMPT_TIMEOUT,
        }
    }
}

/// The host's name and this process's id: distinct per node and per restart.
pub fn default_node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "node".into());
    format!("{host}-{}", std::process::id())
}

/// The configuration key that lets deliveries reach private addresses.
const SETTING: &str = "[webhooks] allow_private_addresses";

/// Sends the deliveries of one node.
#[derive(Clone)]
pub struct Dispatcher {
    app: App,
    client: reqwest::Client,
    options: Arc<DispatcherOptions>,
    allow_private: bool,
    slots: Arc<Semaphore>,
    /// Where finished attempts wait for the recorder ([`Dispatcher::run`] takes the
    /// receiving end).
    outcomes: mpsc::UnboundedSender<Finished>,
    received: Arc<std::sync::Mutex<Option<mpsc::UnboundedReceiver<Finished>>>>,
}

impl Dispatcher {
    pub fn new(app: App, options: DispatcherOptions) -> Result<Dispatcher, reqwest::Error> {
        let allow_private = app.webhook_settings().allow_private_addresses;
        let client = guarded_client(allow_private, SETTING)
            .timeout(options.timeout)
            .user_agent(concat!("Entreposto-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
        let (outcomes, received) = mpsc::unbounded_channel();
        Ok(Dispatcher {
            app,
            client,
            options: Arc::new(options),
            allow_private,
            slots,
            outcomes,
            received: Arc::new(std::sync::Mutex::new(Some(received))),
        })
    }

    /// Takes every free slot, for deliveries about to be claimed (or written leased
    /// to this node): a slot is reserved before its delivery is leased, so a leased
    /// delivery never waits for one while its lease runs. `None` when none is free.
    pub fn reserve(&self) -> Option<Slots> {
        let free = self.slots.available_permits();
        if free == 0 {
            return None;
        }
        let free = u32::try_from(free).unwrap_or(u32::MAX);
        self.slots
            .clone()
            .try_acquire_many_owned(free)
            .ok()
            .map(|permits| Slots { permits, free })
    }

    /// Sends deliveries claimed with `slots` reserved (here, or by a fan-out that
    /// leased them to this node, see `App::fan_out_webhooks_to`): each takes one of
    /// them, and its outcome is recorded by [`Dispatcher::run`]'s recorder. The
    /// slots left over are freed.
    pub fn send_claimed(&self, mut slots: Slots, claimed: Vec<ClaimedDelivery>) {
        for d in claimed {
            let Some(permit) = slots.permits.split(1) else {
                // More deliveries than slots: a bug of the caller's; the lease runs
                // out and the delivery is claimed again.
                tracing::error!(delivery = d.id, "a delivery was claimed without a slot");
                continue;
            };
            self.launch(d, permit);
        }
    }

    /// Attempts `d` in a task of its own, holding `permit` until its outcome is
    /// recorded.
    fn launch(&self, d: ClaimedDelivery, permit: OwnedSemaphorePermit) {
        let this = self.clone();
        tokio::spawn(async move {
            let result = this.attempt(&d).await;
            tracing::debug!(
                endpoint = %d.endpoint.id, message = %d.message_id,
                status = ?result.status, error = ?result.error, "webhook attempt"
            );
            // The slot stays taken until the outcome is recorded.
            let _ = this.outcomes.send((d, result, permit));
        });
    }

    pub fn node(&self) -> &str {
        &self.options.node
    }

    /// Claims what is due now and sends it, waiting for every attempt to be recorded;
    /// how many were attempted. For tests and tools: [`Dispatcher::run`] is the loop.
    pub async fn deliver_due(&self) -> entreposto_app::Result<usize> {
        let claimed = self
            .app
            .claim_webhook_deliveries(self.node(), self.options.concurrency.max(1) as u32)
            .await?;
        let n = claimed.len();
        let results = futures::future::join_all(claimed.iter().map(|d| self.attempt(d))).await;
        self.app
            .record_webhook_attempts(self.node(), claimed.into_iter().zip(results).collect())
            .await?;
        Ok(n)
    }

    /// Sends deliveries until `shutdown` turns true; attempts in flight then finish
    /// (at most the attempt timeout) before it returns.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let Some(received) = self.received.lock().ok().and_then(|mut r| r.take()) else {
            tracing::error!("a dispatcher runs once");
            return;
        };
        let recorder = tokio::spawn(self.clone().record(received));
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Full: every slot is taken, by attempts in flight, by this claim, or by
            // this node's fan-out while it writes the deliveries it leases. A
            // delivery waiting for a claim then waits for a slot, not for the next
            // notification: the one a fan-out sends for the deliveries it could not
            // lease may arrive while it still holds the slots, and waiting for
            // another would leave those deliveries to the poll.
            let full = match self.reserve() {
                None => true,
                Some(slots) => {
                    let room = slots.free();
                    let claimed = match self.app.claim_webhook_deliveries(self.node(), room).await {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook dispatcher could not claim");
                            Vec::new()
                        }
                    };
                    let full = !claimed.is_empty() && claimed.len() as u64 == u64::from(room);
                    self.send_claimed(slots, claimed);
                    full
                }
            };
            if full {
                // Every slot taken: claim again as soon as one frees.
                tokio::select! {
                    p = self.slots.clone().acquire_owned() => drop(p),
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
                continue;
            }
            tokio::select! {
                _ = self.app.webhook_work_arrived() => {}
                _ = tokio::time::sleep(self.options.poll) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
        // Let the attempts in flight record their outcomes: each holds its slot until
        // recorded, so once every slot is back the recorder has nothing left to do.
        // The slots then close: a delivery handed over later is not attempted (its
        // lease runs out and it is claimed again).
        let all = u32::try_from(self.options.concurrency.max(1)).unwrap_or(u32::MAX);
        if let Ok(held) = self.slots.acquire_many(all).await {
            held.forget();
        }
        self.slots.close();
        recorder.abort();
    }

    /// Records the outcomes of finished attempts as they come, in batches of what
    /// has arrived since the last write (up to [`RECORD_BATCH`]): one write for many
    /// deliveries, not a commit each. Each attempt's slot is freed once it is recorded.
    async fn record(self, mut received: mpsc::UnboundedReceiver<Finished>) {
        let mut batch: Vec<Finished> = Vec::new();
        while let Some(first) = received.recv().await {
            batch.push(first);
            while batch.len() < RECORD_BATCH {
                match received.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let mut permits = Vec::with_capacity(batch.len());
            let attempts: Vec<_> = batch
                .drain(..)
                .map(|(d, r, p)| {
                    permits.push(p);
                    (d, r)
                })
                .collect();
            let n = attempts.len();
            if let Err(e) = self
                .app
                .record_webhook_attempts(self.node(), attempts)
                .await
            {
                // The leases run out and the deliveries are attempted again: at least
                // once.
                tracing::warn!(error = %e, attempts = n, "could not record webhook attempts");
            }
            drop(permits);
        }
    }

    /// One POST of `d`, signed with every secret its endpoint signs with now.
    pub async fn attempt(&self, d: &ClaimedDelivery) -> AttemptResult {
        let at = self.app.now();
        let started = Instant::now();
        let failed = |error: String| AttemptResult {
            at,
            status: None,
            response: String::new(),
            duration_ms: started.elapsed().as_millis() as i64,
            error: Some(error),
        };
        let url = match reqwest::Url::parse(d.endpoint.url.as_str()) {
            Ok(u) => u,
            Err(e) => return failed(format!("bad URL: {e}")),
        };
        if let Err(e) = check_literal(&url, self.allow_private, SETTING) {
            return failed(e);
        }
        let timestamp = at.0.div_euclid(1_000_000);
        let secrets = d.endpoint.signing_secrets(at);
        let signature = signature_header(&secrets, &d.message_id, timestamp, d.body.as_bytes());
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.body.clone())
            .send()
            .await;
        let mut res = match sent {
            Ok(r) => r,
            Err(e) => return failed(describe(&e)),
        };
        let status = res.status().as_u16();
        let mut excerpt = Vec::new();
        let mut error = None;
        while excerpt.len() < RESPONSE_EXCERPT_BYTES {
            match res.chunk().await {
                Ok(Some(c)) => excerpt.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    error = Some(format!("reading the response: {}", describe(&e)));
                    break;
                }
            }
        }
        AttemptResult {
            at,
            status: Some(status),
            response: excerpt_text(&excerpt),
            duration_ms: started.elapsed().as_millis() as i64,
            error: error.or_else(|| {
                (!(200..300).contains(&status)).then(|| format!("status {status} is not a 2xx"))
            }),
        }
    }
}

/// The first [`RESPONSE_EXCERPT_BYTES`] of a body as text, cut on a character.
fn excerpt_text(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(RESPONSE_EXCERPT_BYTES)];
    let text = String::from_utf8_lossy(cut);
    // A multi-byte character cut in two decodes as U+FFFD at the end: drop it.
    let text = if bytes.len() > RESPONSE_EXCERPT_BYTES {
        text.trim_end_matches('\u{FFFD}')
    } else {
        &text
    };
    text.to_string()
}

/// What went wrong, in words an operator reads in the log: the error and its causes.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_stop_at_a_kibibyte_on_a_character() {
        assert_eq!(excerpt_text(b"ok"), "ok");
        let long = "é".repeat(1000);
        let e = excerpt_text(long.as_bytes());
        assert!(e.len() <= RESPONSE_EXCERPT_BYTES && e.chars().all(|c| c == 'é'));
        assert_eq!(e.len(), 1024);
        let odd = format!("x{}", "é".repeat(1000));
        let e = excerpt_text(odd.as_bytes());
        assert_eq!(e.len(), 1023);
    }
}
