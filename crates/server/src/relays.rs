//! The outbox relays `serve` runs on every node, one per configured sink (NATS when
//! `[nats] url` is set), and the outbox's retention. Each relay claims its sink with
//! a lease (see `entreposto_worker`), so on several nodes of one database exactly one
//! delivers a sink's events at a time and another takes over when it dies. Another
//! sink (webhooks) is one more `Relay` started here over its `entreposto_worker::Sink`,
//! under a name of its own (its cursor in the outbox).

use std::sync::Arc;
use std::time::Duration;

use entreposto_app::Clock;
use entreposto_store::Store;
use entreposto_worker::nats::NatsSink;
use entreposto_worker::{Relay, Sink};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// How often the retention deletes old events, and how many per statement.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const PRUNE_BATCH: u32 = 10_000;

/// Starts this node's relays and the retention; each task ends once `stopped` is true.
/// Leases and the retention's age are timed by `clock`, the application's (which
/// tests set).
pub fn start(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: &Config,
    stopped: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    // This process's name in sink leases.
    let holder = format!("node-{}", entreposto_store::new_id());
    let mut tasks = Vec::new();
    if config.nats.url.is_some() {
        let (store, clock, holder) = (store.clone(), clock.clone(), holder.clone());
        let (nats, settings, mut stopped) =
            (config.nats.clone(), config.outbox.relay(), stopped.clone());
        tasks.push(tokio::spawn(async move {
            // NATS may be down when the hub starts: keep trying, events wait in the
            // outbox meanwhile.
            let mut pause = Duration::from_millis(500);
            let sink = loop {
                match NatsSink::connect(&nats).await {
                    Ok(s) => break s,
                    Err(e) => tracing::warn!(error = %e, retry_in = ?pause, "NATS sink"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
                pause = (pause * 2).min(Duration::from_secs(30));
            };
            let sink: Arc<dyn Sink> = Arc::new(sink);
            Relay::new(store, sink, clock, holder, settings)
                .run(stopped)
                .await;
        }));
    }
    if config.outbox.retention_days > 0 {
        let days = config.outbox.retention_days;
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let age = i64::try_from(days)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(86_400_000_000);
                let before = clock.now().0.saturating_sub(age);
                loop {
                    match store
                        .prune_events(entreposto_domain::Timestamp(before), PRUNE_BATCH)
                        .await
                    {
                        Ok(n) if n == u64::from(PRUNE_BATCH) => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "outbox retention");
                            break;
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(PRUNE_EVERY) => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
            }
        }));
    }
    tasks
}
