//! The storage contract on PostgreSQL, each case in a fresh schema. Skipped (and says
//! so) when `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use entreposto_store_postgres::{fresh_schema_url, PgStore};

async fn open() -> Option<Box<PgStore>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = fresh_schema_url(&url).await.expect("create test schema");
    Some(Box::new(PgStore::connect(&url, 8).await.expect("connect")))
}

entreposto_store::contract_tests!(open());
