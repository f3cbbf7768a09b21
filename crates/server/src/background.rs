//! This node's background work, started the same way by `serve` and by the tests'
//! harness: the edge's cleanup, the import worker, the webhooks' relay and
//! dispatcher, the change feed pollers and the outbox relays, each as the
//! configuration says. Every piece claims its work with a lease, so every node runs
//! all of them; each task stops between units of work once `stopped` turns true.

use std::sync::Arc;

use anyhow::Context;
use entreposto_app::notifications::feeds::ChangeSource;
use entreposto_app::App;
use entreposto_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// The running tasks, each with what it is (for a panic's report).
pub struct Background {
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

/// Starts the background work `config` asks for over `app` and `store`.
pub fn start(
    app: &App,
    store: Arc<dyn Store>,
    config: &Config,
    stopped: &watch::Receiver<bool>,
) -> anyhow::Result<Background> {
    let mut tasks: Vec<(&'static str, JoinHandle<()>)> = Vec::new();
    // Idempotency records past their day and full rate buckets go, on every node.
    tasks.push((
        "the edge cleanup",
        tokio::spawn(crate::housekeeping::run(
            store.clone(),
            app.clone(),
            stopped.clone(),
        )),
    ));
    // Imports run on every node: the worker claims jobs with a lease, so a job this
    // node accepted and a job a dead node left behind are both finished by someone.
    // It stops between steps (a step is one transaction, so stopping there loses
    // nothing).
    if config.import_worker {
        for _ in 0..config.import_workers.max(1) {
            let (app, stopped) = (app.clone(), stopped.clone());
            tasks.push((
                "an import worker",
                tokio::spawn(async move { app.run_import_worker(stopped).await }),
            ));
        }
    }
    // The outbox's webhooks sink is held by one node at a time and each delivery is
    // claimed by one, so any node may die mid-delivery.
    if config.webhooks.worker {
        for t in crate::webhooks::spawn(app, store.clone(), config, stopped)? {
            tasks.push(("a webhook worker", t));
        }
    }
    // Each feed is claimed by one poller at a time; a poll that stops midway is
    // resumed at its last recorded page by whoever polls the feed next.
    if config.notifications.poller {
        let source: Arc<dyn ChangeSource> = Arc::new(config.notifications.feed_client()?);
        for _ in 0..config.notifications.pollers.max(1) {
            let (app, source, stopped) = (app.clone(), source.clone(), stopped.clone());
            let tick = config.notifications.tick();
            tasks.push((
                "a change feed poller",
                tokio::spawn(async move { app.run_feed_poller(source, tick, stopped).await }),
            ));
        }
    }
    // The outbox's other sinks (one holder per sink) and its retention.
    for t in crate::relays::start(store, app.clock(), config, stopped.clone()) {
        tasks.push(("an outbox relay", t));
    }
    Ok(Background { tasks })
}

impl Background {
    /// Waits for every task to end (after `stopped` turned true).
    pub async fn join(self) -> anyhow::Result<()> {
        for (what, task) in self.tasks {
            task.await.with_context(|| format!("{what} panicked"))?;
        }
        Ok(())
    }
}
