//! The catalog on PostgreSQL: products with their stock, links and parts, the entities
//! they link to, and durable import jobs.
//!
//! A decided [`CatalogChange`] is written in one transaction in a fixed number of
//! round trips whatever its size ([`write`]): rows of one kind go in one `UNNEST`
//! statement, and the ids of new rows are drawn from their sequences first, so links
//! between new rows (a category under a new one, a product on a new brand) are known
//! before anything is inserted. The rows a change rests on are locked `FOR UPDATE`
//! and checked first (the step's job, then the products by id order), so a change
//! decided on moved rows is `Stale` before it writes anything. Reads ([`read`]) fetch
//! a page of products with their stock and links in one statement; a name search on
//! one seller's catalog first tries that seller's own rows ([`search`]). Jobs and the
//! bulk load are in [`jobs`].

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::*;
use tokio_postgres::error::SqlState;

use crate::{map_err, PgStore};

mod jobs;
mod read;
#[cfg(test)]
mod scale_tests;
mod search;
mod write;

/// The seller a write is for: a catalog belongs to one seller, so an operator-wide
/// scope cannot write one.
fn writing_seller(scope: &Scope) -> Result<&str> {
    crate::scope_seller(scope, "a catalog write")
}

/// A uniqueness clash as a `Conflict` naming what clashed (and the value, read from
/// the database's detail line); a foreign key that finds nothing (a link to a row
/// that does not exist, a seller that is not the operator's) as `NotFound`.
pub(crate) fn catalog_err(e: tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        return map_err(e);
    };
    if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
        tracing::debug!(error = %db, "catalog link to a missing row");
        return StoreError::NotFound;
    }
    if *db.code() != SqlState::UNIQUE_VIOLATION {
        return map_err(e);
    }
    tracing::debug!(error = %db, detail = ?db.detail(), "catalog constraint");
    // (what clashed, how many key columns come before the one named).
    let (what, leading) = match db.constraint().unwrap_or_default() {
        "products_seller_sku" => ("SKU", 1),
        "products_seller_external" => ("product externalId", 1),
        "categories_seller_external" => ("category externalId", 1),
        "categories_seller_parent_name" => ("category name under this parent", 2),
        "manufacturers_seller_external" => ("manufacturer externalId", 1),
        "manufacturers_seller_name" => ("manufacturer name", 1),
        "brands_seller_external" => ("brand externalId", 1),
        "brands_seller_name" => ("brand name", 1),
        "collections_seller_external" => ("collection externalId", 1),
        "collections_seller_name" => ("collection name", 1),
        "import_jobs_pkey" => ("import job id", 0),
        _ => return map_err(e),
    };
    match db.detail().and_then(|d| clashing_value(d, leading)) {
        Some(v) => StoreError::Conflict(format!("{what} '{v}' is already taken")),
        None => StoreError::Conflict(format!("{what} is already taken")),
    }
}

/// The last key column's value in a unique violation's detail,
/// `Key (seller_id, sku)=(S1, A-1) already exists.`, after `leading` columns (the
/// seller's id, a parent id: neither holds ", ").
pub(crate) fn clashing_value(detail: &str, leading: usize) -> Option<&str> {
    let values = detail.split_once(")=(")?.1;
    let values = values.strip_suffix(") already exists.")?;
    values.splitn(leading + 1, ", ").nth(leading)
}

/// A `LIKE` pattern matching text that contains `folded` (`%`, `_` and `\` in it
/// match themselves).
fn contains_pattern(folded: &str) -> String {
    let mut p = String::with_capacity(folded.len() + 2);
    p.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Products `ids` of `scope` as `c` sees them (inside a write: as it left them), with
/// what they link to: what their events show.
pub(crate) async fn products_with_links(
    c: &impl deadpool_postgres::GenericClient,
    scope: &Scope,
    ids: &[i64],
) -> Result<(Vec<Product>, CatalogLinks)> {
    if ids.is_empty() {
        return Ok((Vec::new(), CatalogLinks::default()));
    }
    let keys: Vec<ProductKey> = ids.iter().copied().map(ProductKey::Id).collect();
    let products = read::find_products(c, scope, &keys).await?;
    let links = read::links_of(c, scope, &products).await?;
    Ok((products, links))
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn save_catalog(&self, scope: &Scope, change: CatalogChange) -> Result<CatalogSaved> {
        write::save_catalog(self, scope, change).await
    }

    async fn get_product(&self, scope: &Scope, key: &ProductKey) -> Result<Product> {
        let c = self.conn().await?;
        read::find_products(&c, scope, std::slice::from_ref(key))
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn find_products(&self, scope: &Scope, keys: &[ProductKey]) -> Result<Vec<Product>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.conn().await?;
        read::find_products(&c, scope, keys).await
    }

    async fn list_products(&self, scope: &Scope, filter: &ProductFilter) -> Result<Vec<Product>> {
        let c = self.conn().await?;
        read::list_products(&c, scope, filter).await
    }

    async fn count_products(&self, scope: &Scope, filter: &ProductFilter) -> Result<u64> {
        let c = self.conn().await?;
        read::count_products(&c, scope, filter).await
    }

    async fn containers_of(
        &self,
        scope: &Scope,
        skus: &[String],
    ) -> Result<Vec<(String, String, ProductKind)>> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.conn().await?;
        read::containers_of(&c, scope, skus).await
    }

    async fn list_categories(&self, scope: &Scope, filter: &EntityFilter) -> Result<Vec<Category>> {
        let c = self.conn().await?;
        read::list_entities(&c, &read::CATEGORIES, scope, filter, None).await
    }

    async fn list_brands(&self, scope: &Scope, filter: &EntityFilter) -> Result<Vec<Brand>> {
        let c = self.conn().await?;
        read::list_entities(&c, &read::BRANDS, scope, filter, None).await
    }

    async fn list_manufacturers(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Manufacturer>> {
        let c = self.conn().await?;
        read::list_entities(&c, &read::MANUFACTURERS, scope, filter, None).await
    }

    async fn list_collections(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Collection>> {
        let c = self.conn().await?;
        read::list_entities(&c, &read::COLLECTIONS, scope, filter, None).await
    }

    async fn find_sibling_category(
        &self,
        scope: &Scope,
        parent: Option<i64>,
        folded_name: &str,
    ) -> Result<Option<Category>> {
        let c = self.conn().await?;
        read::find_sibling_category(&c, scope, parent, folded_name).await
    }

    async fn links_of(&self, scope: &Scope, products: &[Product]) -> Result<CatalogLinks> {
        let c = self.conn().await?;
        read::links_of(&c, scope, products).await
    }

    async fn create_import_job(&self, scope: &Scope, job: NewImportJob) -> Result<ImportJob> {
        jobs::create_import_job(self, scope, job).await
    }

    async fn get_import_job(&self, scope: &Scope, id: &str) -> Result<ImportJob> {
        jobs::get_import_job(self, scope, id).await
    }

    async fn list_import_jobs(&self, scope: &Scope, limit: u32) -> Result<Vec<ImportJob>> {
        jobs::list_import_jobs(self, scope, limit).await
    }

    async fn import_rows(
        &self,
        job_id: &str,
        from: u32,
        limit: u32,
    ) -> Result<Vec<(u32, ProductDraft)>> {
        jobs::import_rows(self, job_id, from, limit).await
    }

    async fn import_errors(&self, scope: &Scope, id: &str) -> Result<Vec<RowError>> {
        jobs::import_errors(self, scope, id).await
    }

    async fn import_products(&self, scope: &Scope, id: &str) -> Result<Vec<Product>> {
        jobs::import_products(self, scope, id).await
    }

    async fn claim_import_job(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ImportJob>> {
        jobs::claim_import_job(self, now, lease_until).await
    }

    async fn renew_import_job(&self, id: &str, lease_until: Timestamp) -> Result<()> {
        jobs::renew_import_job(self, id, lease_until).await
    }

    async fn import_products_bulk(
        &self,
        scope: &Scope,
        products: &[(String, ProductFields)],
        now: Timestamp,
    ) -> Result<u64> {
        jobs::import_products_bulk(self, scope, products, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clashing_values_come_out_of_the_detail() {
        let d = "Key (seller_id, sku)=(01HSELLER, A-1, x) already exists.";
        assert_eq!(clashing_value(d, 1), Some("A-1, x"));
        let d = "Key (seller_id, COALESCE(parent_id, 0::bigint), name_key)=(S, 0, moda) already exists.";
        assert_eq!(clashing_value(d, 2), Some("moda"));
        assert_eq!(
            clashing_value("Key (id)=(J1) already exists.", 0),
            Some("J1")
        );
        assert_eq!(clashing_value("something else", 1), None);
    }

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(contains_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
    }
}
