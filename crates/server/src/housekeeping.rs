//! The edge's periodic cleanup on every node: idempotency records past their day and
//! rate buckets full again are deleted, once at start and then hourly. Running it on
//! every node of one database is harmless (a delete of what another already deleted
//! deletes nothing), so no node has to be the one that does it.

use std::sync::Arc;
use std::time::Duration;

use entreposto_domain::Timestamp;
use entreposto_store::Store;

/// How often the cleanup runs.
pub const EVERY: Duration = Duration::from_secs(3600);

/// One pass at `now`: what it deleted (idempotency records, rate buckets).
pub async fn sweep(store: &dyn Store, now: Timestamp) -> entreposto_store::Result<(u64, u64)> {
    let keys = store
        .purge_idempotency_keys(Timestamp(
            now.0 - entreposto_http::idempotency::RETENTION_MICROS,
        ))
        .await?;
    // A bucket whose time has passed is full, as one never stored is.
    let buckets = store.purge_rate_buckets(now).await?;
    Ok((keys, buckets))
}

/// Sweeps every [`EVERY`] until `stopped` turns true; times from `app`'s clock.
pub async fn run(
    store: Arc<dyn Store>,
    app: entreposto_app::App,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match sweep(store.as_ref(), app.now()).await {
            Ok((keys, buckets)) => {
                tracing::debug!(
                    keys,
                    buckets,
                    "expired idempotency keys and rate buckets deleted"
                )
            }
            Err(e) => tracing::warn!(error = %e, "edge cleanup failed; retried in an hour"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}
