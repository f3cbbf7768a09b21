//! The PostgreSQL backend, chosen by a `postgres://` database URL.
//!
//! Same schema and migration versions as SQLite (types adapted: `BIGINT` times,
//! `BYTEA` hashes, an identity column for order ids). A pool of connections serves
//! reads and writes; PostgreSQL does its own concurrency control, so there is no
//! writer thread here. The schema is whatever `search_path` selects, which is how the
//! tests give every case a fresh schema in one database (`?options=-csearch_path%3D...`).
//! Connections use TLS as the URL's `sslmode` and `sslrootcert` ask (see [`tls`]).
#![forbid(unsafe_code)]

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use entreposto_domain::{Scope, Timestamp};
use entreposto_store::{Result, Store, StoreError};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

mod catalog;
mod edge;
mod feeds;
mod finance;
mod order_json;
mod order_lifecycle;
mod orders;
mod outbox;
mod tenants;
mod tickets;
mod tls;
mod webhooks;

use std::sync::Arc;

const MIGRATIONS: &[(i64, &str)] = entreposto_store::migrations!();

pub struct PgStore {
    pool: Pool,
    /// Products this node inserted since it last refreshed the planner's statistics
    /// of the catalog (see [`PgStore::grew`]).
    pub(crate) products_grown: Arc<Growth>,
    /// Order listing counts (see [`entreposto_store::count_cache`]), valid while
    /// `orders_written` (bumped by this node's every commit that writes orders) has not
    /// moved and for a few seconds.
    pub(crate) order_counts: Arc<entreposto_store::count_cache::CountCache>,
    pub(crate) orders_written: Arc<std::sync::atomic::AtomicU64>,
    /// Extract lines this node inserted since it last refreshed their statistics
    /// (orders pushed by the hundred thousand, a statement's unknown keys).
    pub(crate) lines_grown: Arc<Growth>,
    /// Bumped after each commit that wrote events (see `OutboxStore::event_signal`).
    pub(crate) events: Arc<tokio::sync::watch::Sender<u64>>,
    /// Renders the payloads of the events writes insert (see `entreposto_store::events`).
    pub(crate) payloads: Arc<dyn entreposto_store::EventPayloads>,
    /// Seals the secrets rows keep (see `entreposto_store::sealing`).
    pub(crate) sealer: Arc<entreposto_store::sealing::Sealer>,
}

impl PgStore {
    /// With the sealer of the secrets rows keep (see `entreposto_store::sealing`);
    /// without one they are kept as they are.
    pub fn with_sealer(mut self, sealer: Arc<entreposto_store::sealing::Sealer>) -> PgStore {
        self.sealer = sealer;
        self
    }
}

/// Rows a node inserts into a table before it first refreshes the table's
/// statistics; each next refresh comes after twice as many as the last, up to
/// [`ANALYZE_EVERY`]. The count is the node's inserts into the whole table, not one
/// seller's, so the cap keeps a new seller's import in a large table from waiting on
/// a refresh for as many rows as the table already holds. (A step of 20,000 cost 8
/// ANALYZEs of the whole rows, 0.4 s each, in a 100,000-product import; over the
/// columns below one takes 0.2 s.)
const ANALYZE_FIRST: u64 = 1_000;
const ANALYZE_EVERY: u64 = 50_000;

/// The columns of the catalog's products the planner estimates from: the keys and
/// filters. Not the product's stored body, whose statistics nothing uses and which
/// took most of an ANALYZE's time to read.
pub(crate) const PRODUCTS_STATISTICS: &str = "products (id, operator_id, seller_id, sku, \
    external_id, kind, name_key, price_value, brand_id, seo_url, active, published, archived)";

/// Rows a node inserted into a table since it last refreshed its statistics, and
/// after how many it refreshes them next (see [`PgStore::grew`]).
#[derive(Debug)]
pub(crate) struct Growth {
    since: std::sync::atomic::AtomicU64,
    next: std::sync::atomic::AtomicU64,
}

impl Default for Growth {
    fn default() -> Self {
        Growth {
            since: 0.into(),
            next: ANALYZE_FIRST.into(),
        }
    }
}

pub(crate) fn map_err(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::FOREIGN_KEY_VIOLATION => {
            // The database's own words name constraints and tables: logged, not sent
            // (and SQLite's conflicts read the same).
            tracing::debug!(error = %with_causes(&e), "constraint");
            StoreError::Conflict("conflicts with an existing record".into())
        }
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
        {
            StoreError::Busy
        }
        _ => StoreError::Other(with_causes(&e)),
    }
}

/// An error's message followed by its causes: tokio-postgres words a failed TLS
/// handshake "error performing TLS handshake" and keeps why (an unknown issuer, a
/// wrong host name) in its source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}

/// The seller of a scope, for `what` (a write, a lookup by a seller's own key) that
/// belongs to one seller: an operator-wide scope cannot name one.
pub(crate) fn scope_seller<'s>(scope: &'s Scope, what: &str) -> Result<&'s str> {
    scope
        .seller_id
        .as_deref()
        .ok_or_else(|| StoreError::Other(format!("{what} needs a seller's scope")))
}

pub(crate) fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => map_err(e),
        deadpool_postgres::PoolError::Timeout(_) => StoreError::Busy,
        other => StoreError::Other(other.to_string()),
    }
}

/// Parameters of a dynamically built query.
#[derive(Default)]
pub(crate) struct Params(Vec<Box<dyn ToSql + Sync + Send>>);

impl Params {
    pub(crate) fn push(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(v));
        format!("${}", self.0.len())
    }

    /// The values, for a cache key.
    pub(crate) fn debug(&self) -> String {
        format!("{:?}", self.0)
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    pub(crate) fn scope(&mut self, scope: &Scope, alias: &str) -> String {
        let mut s = format!(
            " AND {alias}operator_id = {}",
            self.push(scope.operator_id.clone())
        );
        if let Some(seller) = &scope.seller_id {
            s.push_str(&format!(
                " AND {alias}seller_id = {}",
                self.push(seller.clone())
            ));
        }
        s
    }
}

/// How long a request waits for a pooled connection when all are in use before it is
/// answered busy (503 with `Retry-After`) instead of queueing without bound.
pub const DEFAULT_POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl PgStore {
    /// Counts `n` rows inserted into `table` (a table, or a table and the columns to
    /// sample), and once enough have gone in (see [`ANALYZE_FIRST`]) refreshes its statistics, in the background: autovacuum analyzes a table after
    /// a tenth of it changed, and until then the planner takes a seller that grew by
    /// a large import for the few rows it had, and walks that seller's whole id index
    /// for a SKU (70 ms instead of one descent of the SKU's unique index).
    pub(crate) fn grew(&self, growth: &Growth, n: u64, table: &'static str) {
        use std::sync::atomic::Ordering;
        if n == 0 {
            return;
        }
        let before = growth.since.fetch_add(n, Ordering::Relaxed);
        let next = growth.next.load(Ordering::Relaxed);
        if before + n < next {
            return;
        }
        growth.since.store(0, Ordering::Relaxed);
        growth
            .next
            .store((next * 2).min(ANALYZE_EVERY), Ordering::Relaxed);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let outcome = match pool.get().await {
                Ok(c) => c
                    .batch_execute(&format!("ANALYZE {table}"))
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = outcome {
                tracing::warn!(table, error = %e, "refreshing statistics failed");
            }
        });
    }

    /// Connects with `url` and applies pending migrations.
    pub async fn connect(url: &str, max_connections: usize) -> Result<PgStore> {
        PgStore::connect_with(url, max_connections, DEFAULT_POOL_WAIT).await
    }

    /// Like [`PgStore::connect`], a request waiting at most `pool_wait` for one of
    /// the `max_connections` pooled connections (then `Busy`).
    pub async fn connect_with(
        url: &str,
        max_connections: usize,
        pool_wait: std::time::Duration,
    ) -> Result<PgStore> {
        let (config, tls) = tls::connect_settings(url)?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .wait_timeout(Some(pool_wait))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let store = PgStore {
            pool,
            products_grown: Arc::default(),
            order_counts: Arc::default(),
            orders_written: Arc::default(),
            lines_grown: Arc::default(),
            events: Arc::new(tokio::sync::watch::Sender::new(0)),
            payloads: Arc::new(entreposto_store::PlainPayloads),
            sealer: Arc::default(),
        };
        store.migrate().await?;
        tracing::debug!(tls = store.tls_in_use().await?, "PostgreSQL connected");
        Ok(store)
    }

    /// Whether a pooled connection runs over TLS, as the server sees it.
    pub async fn tls_in_use(&self) -> Result<bool> {
        let c = self.conn().await?;
        let row = c
            .query_opt(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(map_err)?;
        Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
    }

    pub(crate) async fn conn(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // Serialise concurrent starts against the same database.
        tx.execute("SELECT pg_advisory_xact_lock(7401002)", &[])
            .await
            .map_err(map_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(map_err)?;
        let newest: Option<i64> = tx
            .query_one("SELECT MAX(version) FROM schema_migrations", &[])
            .await
            .map_err(map_err)?
            .get(0);
        entreposto_store::check_schema_version(newest, MIGRATIONS)?;
        for (version, sql) in MIGRATIONS {
            let done = tx
                .query_opt(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    &[version],
                )
                .await
                .map_err(map_err)?;
            if done.is_some() {
                continue;
            }
            tx.batch_execute(sql).await.map_err(map_err)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &Timestamp::now().micros()],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }
}

/// Creates a new empty schema in the database at `url` and returns a URL whose
/// connections use it. Tests use this to isolate every case.
pub async fn fresh_schema_url(url: &str) -> Result<String> {
    let (config, tls) = tls::connect_settings(url)?;
    let (client, conn) = config.connect(tls).await.map_err(map_err)?;
    let handle = tokio::spawn(conn);
    let schema = format!(
        "entreposto_test_{}",
        entreposto_store::new_id().to_lowercase()
    );
    // The trigram extension is one per database: installed in `public` here, it
    // outlives every test schema instead of belonging to the first one migrated (and
    // going with it, indexes of every other schema included, when that is dropped).
    // Under the migrations' lock, so tests starting together do not race to create it.
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(7401002);
             CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public; COMMIT;
             CREATE SCHEMA {schema}"
        ))
        .await
        .map_err(map_err)?;
    drop(client);
    let _ = handle.await;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-csearch_path%3D{schema}"))
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        let c = self.conn().await?;
        c.simple_query("SELECT 1").await.map_err(map_err)?;
        Ok(())
    }

    async fn reseal_secrets(
        &self,
        lost: entreposto_store::sealing::LostSecrets,
    ) -> Result<entreposto_store::sealing::Resealed> {
        self.reseal_stored_secrets(lost).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With every pooled connection taken, a request is answered busy after the
    /// configured wait instead of queueing without bound.
    #[tokio::test]
    async fn a_full_pool_answers_busy_after_the_wait() {
        let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
            eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
            return;
        };
        let url = fresh_schema_url(&url).await.expect("schema");
        let store = PgStore::connect_with(&url, 1, std::time::Duration::from_millis(100))
            .await
            .expect("connect");
        let held = store.conn().await.expect("the one connection");
        let started = std::time::Instant::now();
        assert!(matches!(store.ping().await, Err(StoreError::Busy)));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        drop(held);
        store.ping().await.expect("free again");
    }
}
