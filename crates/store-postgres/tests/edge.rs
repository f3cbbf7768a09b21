//! The edge's storage contract (idempotency records, rate buckets) on PostgreSQL, each
//! case in a fresh schema. Skipped (and says so) when `ENTREPOSTO_TEST_POSTGRES_URL`
//! is not set.

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

async fn open() -> Option<Box<Arc<dyn Store>>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 8).await.expect("connect");
    Some(Box::new(Arc::new(store)))
}

entreposto_store::edge_contract_tests!(open());
