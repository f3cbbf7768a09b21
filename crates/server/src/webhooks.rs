//! Starting this node's webhook work, as `serve` and the tests do: a relay of the
//! outbox into the webhooks' sink (fan-out into deliveries), and the dispatcher that
//! sends them. Both time their leases by the use cases' clock.

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
    let relay = Relay::new(
        store,
        Arc::new(WebhookSink::new(app.clone())),
        app.clock(),
        options.node.clone(),
        config.outbox.relay(),
    );
    let dispatcher =
        Dispatcher::new(app.clone(), options).context("building the webhooks HTTP client")?;
    let (r, d) = (stopped.clone(), stopped.clone());
    Ok(vec![
        tokio::spawn(async move { relay.run(r).await }),
        tokio::spawn(async move { dispatcher.run(d).await }),
    ])
}
