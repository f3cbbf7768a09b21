//! Catalog on this backend: not written yet (every call fails with a clear error).

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::*;

use crate::SqliteStore;

fn missing() -> StoreError {
    StoreError::Other("the catalog is not implemented on this backend yet".into())
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn save_catalog(&self, _scope: &Scope, _change: CatalogChange) -> Result<CatalogSaved> {
        Err(missing())
    }
    async fn get_product(&self, _scope: &Scope, _key: &ProductKey) -> Result<Product> {
        Err(missing())
    }
    async fn find_products(&self, _scope: &Scope, _keys: &[ProductKey]) -> Result<Vec<Product>> {
        Err(missing())
    }
    async fn list_products(&self, _scope: &Scope, _filter: &ProductFilter) -> Result<Vec<Product>> {
        Err(missing())
    }
    async fn count_products(&self, _scope: &Scope, _filter: &ProductFilter) -> Result<u64> {
        Err(missing())
    }
    async fn containers_of(
        &self,
        _scope: &Scope,
        _skus: &[String],
    ) -> Result<Vec<(String, String, ProductKind)>> {
        Err(missing())
    }
    async fn list_categories(
        &self,
        _scope: &Scope,
        _filter: &EntityFilter,
    ) -> Result<Vec<Category>> {
        Err(missing())
    }
    async fn list_brands(&self, _scope: &Scope, _filter: &EntityFilter) -> Result<Vec<Brand>> {
        Err(missing())
    }
    async fn list_manufacturers(
        &self,
        _scope: &Scope,
        _filter: &EntityFilter,
    ) -> Result<Vec<Manufacturer>> {
        Err(missing())
    }
    async fn list_collections(
        &self,
        _scope: &Scope,
        _filter: &EntityFilter,
    ) -> Result<Vec<Collection>> {
        Err(missing())
    }
    async fn find_sibling_category(
        &self,
        _scope: &Scope,
        _parent: Option<i64>,
        _folded_name: &str,
    ) -> Result<Option<Category>> {
        Err(missing())
    }
    async fn links_of(&self, _scope: &Scope, _products: &[Product]) -> Result<CatalogLinks> {
        Err(missing())
    }
    async fn create_import_job(&self, _scope: &Scope, _job: NewImportJob) -> Result<ImportJob> {
        Err(missing())
    }
    async fn get_import_job(&self, _scope: &Scope, _id: &str) -> Result<ImportJob> {
        Err(missing())
    }
    async fn list_import_jobs(&self, _scope: &Scope, _limit: u32) -> Result<Vec<ImportJob>> {
        Err(missing())
    }
    async fn import_rows(
        &self,
        _job_id: &str,
        _from: u32,
        _limit: u32,
    ) -> Result<Vec<(u32, ProductDraft)>> {
        Err(missing())
    }
    async fn import_errors(&self, _scope: &Scope, _id: &str) -> Result<Vec<RowError>> {
        Err(missing())
    }
    async fn import_products(&self, _scope: &Scope, _id: &str) -> Result<Vec<Product>> {
        Err(missing())
    }
    async fn claim_import_job(
        &self,
        _now: Timestamp,
        _lease_until: Timestamp,
    ) -> Result<Option<ImportJob>> {
        Err(missing())
    }
    async fn renew_import_job(&self, _id: &str, _lease_until: Timestamp) -> Result<()> {
        Err(missing())
    }
    async fn import_products_bulk(
        &self,
        _scope: &Scope,
        _products: &[(String, ProductFields)],
        _now: Timestamp,
    ) -> Result<u64> {
        Err(missing())
    }
}
