//! The order lifecycle on this backend: not written yet (every call fails clearly).

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::*;

use crate::SqliteStore;

fn missing() -> StoreError {
    StoreError::Other("the order lifecycle is not implemented on this backend yet".into())
}

#[async_trait]
impl OrderLifecycleStore for SqliteStore {
    async fn get_order_view(&self, _scope: &Scope, _id: i64) -> Result<OrderView> {
        Err(missing())
    }
    async fn save_order_change(
        &self,
        _scope: &Scope,
        _change: OrderChange,
    ) -> Result<OrderProgress> {
        Err(missing())
    }
    async fn list_order_views(
        &self,
        _scope: &Scope,
        _filter: &OrderFilter,
    ) -> Result<Vec<OrderView>> {
        Err(missing())
    }
    async fn count_order_views(&self, _scope: &Scope, _filter: &OrderFilter) -> Result<u64> {
        Err(missing())
    }
}
