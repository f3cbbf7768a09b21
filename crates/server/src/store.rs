//! Choosing and opening the storage backend from the database URL.

use std::sync::Arc;

use anyhow::Context;
use entreposto_store::sealing::{LostSecrets, Resealed};
use entreposto_store::{EventPayloads, Store};
use entreposto_store_postgres::PgStore;
use entreposto_store_sqlite::{Durability, SqliteOptions, SqliteStore};

use crate::config::Config;

/// `postgres://` or `postgresql://` URLs open PostgreSQL; anything else is a SQLite
/// file path, with an optional `sqlite://` or `sqlite:` prefix. The stored secrets
/// are then resealed under `[secrets] key` where they are not yet (see
/// `SecretsConfig`): a value no configured key opens stops the command here.
pub async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_resealing(config, LostSecrets::Refuse).await?.0)
}

/// Like [`open`], a stored secret no configured key opens handled as `lost` says;
/// also what it resealed.
pub async fn open_resealing(
    config: &Config,
    lost: LostSecrets,
) -> anyhow::Result<(Arc<dyn Store>, Resealed)> {
    let store = open_backend(config).await?;
    let done = store
        .reseal_secrets(lost)
        .await
        .context("resealing the stored secrets under [secrets] key")?;
    if done.resealed > 0 {
        tracing::info!(
            resealed = done.resealed,
            "stored secrets resealed under the current [secrets] key"
        );
    }
    if done.discarded > 0 {
        tracing::warn!(
            discarded = done.discarded,
            "stored secrets no configured key opens were discarded"
        );
    }
    Ok((store, done))
}

async fn open_backend(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let sealer = Arc::new(config.secrets.sealer()?);
    let url = config.database_url.expose().trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PgStore::connect_with(
            url,
            config.pg_max_connections,
            std::time::Duration::from_millis(config.pg_pool_wait_ms),
        )
        .await
        .context("opening PostgreSQL")?;
        return Ok(Arc::new(
            store.with_payloads(payloads()).with_sealer(sealer),
        ));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let mut options = SqliteOptions {
        durability: Durability::parse(&config.sqlite_synchronous).with_context(|| {
            format!(
                "sqlite_synchronous must be normal or full, not '{}'",
                config.sqlite_synchronous
            )
        })?,
        writer_queue: config.sqlite.writer_queue,
        reader_queue: config.sqlite.reader_queue,
        vfs_shim: config.sqlite.vfs_shim,
        ..SqliteOptions::default()
    };
    if let Some(n) = config.sqlite_readers {
        options.readers = n;
    }
    let store =
        SqliteStore::open(path, options).with_context(|| format!("opening SQLite file {path}"))?;
    Ok(Arc::new(
        store.with_payloads(payloads()).with_sealer(sealer),
    ))
}

/// Events show their entities as the native API does.
fn payloads() -> Arc<dyn EventPayloads> {
    Arc::new(entreposto_api_native::payloads::NativePayloads)
}
