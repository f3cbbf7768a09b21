//! The storage contract: what the rest of Entreposto asks of a database.
//!
//! One trait per aggregate ([`TenantStore`], [`OrderStore`]) gathered in [`Store`],
//! implemented once per backend (SQLite embedded by default, PostgreSQL for scale).
//! Every query that touches business rows takes a [`Scope`] and filters by it in SQL,
//! so no call can return another seller's data. [`contract`] holds the test suite
//! each backend runs against itself.

use async_trait::async_trait;
use entreposto_domain::{
    Credential, Operator, Order, OrderData, Scope, Seller, Timestamp, Upserted,
};

pub mod contract;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No row, or a row outside the caller's scope (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule would be broken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is overloaded or locked; the caller may retry.
    #[error("database busy")]
    Busy,
    #[error("storage error: {0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A fresh application id: a ULID, sortable by creation time, safe in URLs.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn create_operator(&self, operator: &Operator) -> Result<()>;
    async fn get_operator(&self, id: &str) -> Result<Operator>;
    async fn create_seller(&self, seller: &Seller) -> Result<()>;
    /// The seller `id` if it belongs to `operator_id`.
    async fn get_seller(&self, operator_id: &str, id: &str) -> Result<Seller>;
    /// Looks a seller up by id alone: for admin commands, never for a request.
    async fn find_seller(&self, id: &str) -> Result<Seller>;
    async fn list_sellers(&self, operator_id: &str) -> Result<Vec<Seller>>;
    async fn create_credential(&self, credential: &Credential) -> Result<()>;
    async fn get_credential(&self, id: &str) -> Result<Credential>;
    /// Marks a credential revoked; revoking twice keeps the first time.
    async fn revoke_credential(&self, id: &str, at: Timestamp) -> Result<()>;
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates the order, or updates the one with the same seller, channel and
    /// marketplace order id. The returned order carries the hub id either way.
    async fn upsert_order(&self, data: &OrderData, now: Timestamp) -> Result<(Order, Upserted)>;
    async fn get_order(&self, scope: &Scope, id: i64) -> Result<Order>;
    /// Orders of the scope with this marketplace order id (any channel), oldest first.
    async fn find_orders_by_marketplace_id(
        &self,
        scope: &Scope,
        marketplace_order_id: &str,
    ) -> Result<Vec<Order>>;
    async fn count_orders(&self, scope: &Scope) -> Result<u64>;
    /// Bulk load for demo data and imports: plain inserts in large transactions.
    /// Fails with `Conflict` if an order key already exists.
    async fn import_orders(&self, orders: &[OrderData], now: Timestamp) -> Result<u64>;
}

#[async_trait]
pub trait Store: TenantStore + OrderStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Cheap round trip proving the database answers.
    async fn ping(&self) -> Result<()>;
}
