//! Starting this node's webhook work, as `serve` and the tests do: the outbox sink
//! that fans events out into deliveries, and the dispatcher that sends them.

use std::sync::Arc;

use anyhow::Context;
use entreposto_store::Store;
use entreposto_webhook_delivery::{Dispatcher, Relay};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// Spawns the relay and the dispatcher on `app` (whose webhook settings are
/// `config`'s); both stop when `stopped` turns true.
pub fn spawn(
    app: &entreposto_app::App,
    store: Arc<dyn Store>,
    config: &Config,
    stopped: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let options = config.webhooks.dispatcher();
    let relay = Relay::new(
        app.clone(),
        store,
        &options.node,
        config.webhooks.poll(),
        config.webhooks.settings().lease,
    );
    let dispatcher =
        Dispatcher::new(app.clone(), options).context("building the webhooks HTTP client")?;
    let (r, d) = (stopped.clone(), stopped.clone());
    Ok(vec![
        tokio::spawn(async move { relay.run(r).await }),
        tokio::spawn(async move { dispatcher.run(d).await }),
    ])
}
