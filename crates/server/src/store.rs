//! Choosing and opening the storage backend from the database URL.

use std::sync::Arc;

use anyhow::Context;
use entreposto_store::{EventPayloads, Store};
use entreposto_store_postgres::PgStore;
use entreposto_store_sqlite::{Durability, SqliteOptions, SqliteStore};

use crate::config::Config;

/// `postgres://` or `postgresql://` URLs open PostgreSQL; anything else is a SQLite
/// file path, with an optional `sqlite://` or `sqlite:` prefix.
pub async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url.expose().trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PgStore::connect_with(
            url,
            config.pg_max_connections,
            std::time::Duration::from_millis(config.pg_pool_wait_ms),
        )
        .await
        .context("opening PostgreSQL")?;
        return Ok(Arc::new(store.with_payloads(payloads())));
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
    Ok(Arc::new(store.with_payloads(payloads())))
}

/// Events show their entities as the native API does.
fn payloads() -> Arc<dyn EventPayloads> {
    Arc::new(entreposto_api_native::payloads::NativePayloads)
}
