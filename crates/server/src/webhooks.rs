//! Starting this node's webhook work, as `serve` and the tests do: a relay of the
//! outbox into the webhooks' sink (fan-out into deliveries), the dispatcher that
//! sends them, and the retention of the delivery log. They time their leases by the
//! use cases' clock.

use std::sync::Arc;

use anyhow::Context;
use entreposto_store::Store;
use entreposto_worker::webhooks::{Dispatcher, WebhookSink};
use entreposto_worker::Relay;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// Spawns the webhooks' relay and dispatcher on `app` (whose webhook settings are
/// `config`'s); both stop when `stopped` turns true.
pub fn spawn(
    app: &entreposto_app::App,
    store: Arc<dyn Store>,
    config: &Config,
    stopped: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let options = config.webhooks.dispatcher();
    let node = options.node.clone();
    let dispatcher =
        Dispatcher::new(app.clone(), options).context("building the webhooks HTTP client")?;
    let relay = Relay::new(
        store,
        Arc::new(WebhookSink::new(app.clone()).handing_to(dispatcher.clone())),
        app.clock(),
        node,
        config.outbox.relay(),
    );
    let (r, d) = (stopped.clone(), stopped.clone());
    let mut tasks = vec![
        tokio::spawn(async move { relay.run(r).await }),
        tokio::spawn(async move { dispatcher.run(d).await }),
    ];
    let days = config.webhooks.retention_days;
    if days > 0 {
        let (app, mut stopped) = (app.clone(), stopped.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(e) = app.prune_webhook_deliveries(days, PRUNE_BATCH).await {
                    tracing::warn!(error = %e, "webhook delivery retention");
                }
                tokio::select! {
                    _ = tokio::time::sleep(PRUNE_EVERY) => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
            }
        }));
    }
    Ok(tasks)
}

/// How often old deliveries are deleted, and how many per statement.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
const PRUNE_BATCH: u32 = 10_000;
