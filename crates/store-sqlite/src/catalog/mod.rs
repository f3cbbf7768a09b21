//! The catalog on SQLite: products, their categories, brands, manufacturers and
//! collections, and durable import jobs (schema in migration 10).
//!
//! A [`CatalogChange`] arrives decided and is written by the writer thread in one
//! savepoint ([`write::save_change`]): any refusal (a stale version or cursor, a
//! uniqueness clash, a link outside the seller) rolls all of it back. A product is one
//! row (the columns listings filter and sort on, and the JSON body of the rest) with
//! its stock, links and parts in child tables; reads assemble it from a page's rows
//! and one statement per child table ([`read`]). Name search runs on an FTS5 trigram
//! index of the folded names. Import jobs, their rows and their results are in
//! [`jobs`].

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::events::{
    catalog_events, catalog_has_events, catalog_products_replaced, catalog_products_to_read,
    written_products, CatalogAfter,
};
use entreposto_store::*;
use rusqlite::types::{Type, Value};

use crate::outbox::insert_events;
use crate::{map_err, SqliteStore};

mod jobs;
mod read;
mod write;

/// Most values one `IN (...)` list binds; longer key lists are read in chunks.
const CHUNK: usize = 500;

/// The lengths an `IN` list is padded to (repeating its last value), so a handful of
/// statement shapes serve every list and stay in the prepared-statement cache.
const LIST_SIZES: [usize; 5] = [1, 8, 64, 256, CHUNK];

/// `?, ?, ...` for `values` (at most [`CHUNK`]), padded; appends them to `params`.
fn in_list(values: &[Value], params: &mut Vec<Value>) -> String {
    let n = LIST_SIZES
        .into_iter()
        .find(|&n| n >= values.len())
        .unwrap_or(values.len());
    let last = values.last().cloned().unwrap_or(Value::Null);
    params.extend(values.iter().cloned());
    params.extend(std::iter::repeat_n(last, n - values.len()));
    vec!["?"; n].join(", ")
}

/// The scope as SQL on table alias `t` (`"p."`), with unnumbered parameters.
///
/// For a seller the rows are found by `seller_id` alone, so the seller's indexes
/// serve; the operator is checked once, on `sellers` (every catalog row carries a
/// foreign key to its (seller, operator) pair, so the two together are the operator
/// check), and a scope whose seller is not its operator's sees nothing.
fn scope_sql(scope: &Scope, t: &str, params: &mut Vec<Value>) -> String {
    match &scope.seller_id {
        Some(seller) => {
            params.push(Value::Text(seller.clone()));
            params.push(Value::Text(seller.clone()));
            params.push(Value::Text(scope.operator_id.clone()));
            format!(
                " AND {t}seller_id = ? AND EXISTS (SELECT 1 FROM sellers WHERE id = ? AND operator_id = ?)"
            )
        }
        None => {
            params.push(Value::Text(scope.operator_id.clone()));
            format!(" AND {t}operator_id = ?")
        }
    }
}

/// Only the owner column of the scope, for a subquery inside a statement that already
/// checked the whole scope (it narrows the rows the subquery looks at).
fn owner_sql(scope: &Scope, t: &str, params: &mut Vec<Value>) -> String {
    match &scope.seller_id {
        Some(seller) => {
            params.push(Value::Text(seller.clone()));
            format!("{t}seller_id = ?")
        }
        None => {
            params.push(Value::Text(scope.operator_id.clone()));
            format!("{t}operator_id = ?")
        }
    }
}

/// A stored value that does not decode, as the error a row mapper returns.
fn corrupt(idx: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, message.into())
}

/// A uniqueness violation as `Conflict`, worded by `what` from SQLite's message
/// (which names the index's columns, or the index); any other error as [`map_err`].
fn clash(e: rusqlite::Error, what: impl FnOnce(&str) -> String) -> StoreError {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    if let rusqlite::Error::SqliteFailure(f, Some(message)) = &e {
        if f.extended_code == SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return StoreError::Conflict(what(message));
        }
    }
    map_err(e)
}

/// Products `ids` of `scope` as stored now (inside a write, as it left them), with
/// what they link to: what their events show.
pub(crate) fn products_with_links(
    c: &rusqlite::Connection,
    scope: &Scope,
    ids: &[i64],
) -> Result<(Vec<Product>, CatalogLinks)> {
    let keys: Vec<ProductKey> = ids.iter().copied().map(ProductKey::Id).collect();
    let products = read::find_products(c, scope, &keys)?;
    let links = read::links_of(c, scope, &read::LinkIds::of(&products))?;
    Ok((products, links))
}

/// When each of products `ids` of `scope`'s seller was created.
fn created_times(
    c: &rusqlite::Connection,
    scope: &Scope,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Timestamp>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let mut stmt = c
        .prepare_cached("SELECT created_at FROM products WHERE id = ?1 AND seller_id = ?2")
        .map_err(map_err)?;
    for &id in ids {
        let at: i64 = stmt
            .query_row(rusqlite::params![id, scope.seller_id], |r| r.get(0))
            .map_err(map_err)?;
        out.insert(id, Timestamp(at));
    }
    Ok(out)
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn save_catalog(&self, scope: &Scope, change: CatalogChange) -> Result<CatalogSaved> {
        let scope = scope.clone();
        let payloads = self.payloads.clone();
        let has_events = catalog_has_events(&change);
        let saved = self
            .write(move |c| {
                let (saved, deleted_skus) = write::save_change(c, &scope, &change)?;
                if !has_events {
                    return Ok(saved);
                }
                // The products as stored after the change: the ones it wrote whole from
                // the writes, the ones it restocked or repriced read inside it.
                let read_ids = catalog_products_to_read(&change);
                let replaced = catalog_products_replaced(&change, &read_ids);
                let created = created_times(c, &scope, &replaced)?;
                let mut products = written_products(&scope, &change, &saved, &read_ids, &created);
                let keys: Vec<ProductKey> = read_ids.into_iter().map(ProductKey::Id).collect();
                products.extend(read::find_products(c, &scope, &keys)?);
                let links = read::links_of(c, &scope, &read::LinkIds::of(&products))?;
                let job = match &change.step {
                    Some(s) if !s.events.is_empty() => Some(jobs::get(c, &scope, &s.job_id)?),
                    _ => None,
                };
                let after = CatalogAfter {
                    products: &products,
                    links: &links,
                    deleted_skus: &deleted_skus,
                    job: job.as_ref(),
                };
                let rows = catalog_events(&*payloads, &scope, &change, &saved, after);
                insert_events(c, &rows)?;
                Ok(saved)
            })
            .await?;
        if has_events {
            self.wrote_events();
        }
        Ok(saved)
    }

    async fn get_product(&self, scope: &Scope, key: &ProductKey) -> Result<Product> {
        self.read_now(|c| read::get_product(c, scope, key))
    }

    async fn find_products(&self, scope: &Scope, keys: &[ProductKey]) -> Result<Vec<Product>> {
        let (scope, keys) = (scope.clone(), keys.to_vec());
        self.read(move |c| read::find_products(c, &scope, &keys))
            .await
    }

    async fn list_products(&self, scope: &Scope, filter: &ProductFilter) -> Result<Vec<Product>> {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.read(move |c| read::list_products(c, &scope, &filter))
            .await
    }

    async fn count_products(&self, scope: &Scope, filter: &ProductFilter) -> Result<u64> {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.read(move |c| read::count_products(c, &scope, &filter))
            .await
    }

    async fn containers_of(
        &self,
        scope: &Scope,
        skus: &[String],
    ) -> Result<Vec<(String, String, ProductKind)>> {
        let (scope, skus) = (scope.clone(), skus.to_vec());
        self.read(move |c| read::containers_of(c, &scope, &skus))
            .await
    }

    async fn list_categories(&self, scope: &Scope, filter: &EntityFilter) -> Result<Vec<Category>> {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.read(move |c| read::list_categories(c, &scope, &filter))
            .await
    }

    async fn list_brands(&self, scope: &Scope, filter: &EntityFilter) -> Result<Vec<Brand>> {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.read(move |c| read::list_brands(c, &scope, &filter))
            .await
    }

    async fn list_manufacturers(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Manufacturer>> {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.read(move |c| read::list_manufacturers(c, &scope, &filter))
            .await
    }

    async fn list_collections(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Collection>> {
        let (scope, filter) = (scope.clone(), filter.clone());
        self.read(move |c| read::list_collections(c, &scope, &filter))
            .await
    }

    async fn find_sibling_category(
        &self,
        scope: &Scope,
        parent: Option<i64>,
        folded_name: &str,
    ) -> Result<Option<Category>> {
        self.read_now(|c| read::find_sibling_category(c, scope, parent, folded_name))
    }

    async fn links_of(&self, scope: &Scope, products: &[Product]) -> Result<CatalogLinks> {
        let scope = scope.clone();
        let ids = read::LinkIds::of(products);
        self.read(move |c| read::links_of(c, &scope, &ids)).await
    }

    async fn create_import_job(&self, scope: &Scope, job: NewImportJob) -> Result<ImportJob> {
        let scope = scope.clone();
        self.write(move |c| jobs::create(c, &scope, &job)).await
    }

    async fn get_import_job(&self, scope: &Scope, id: &str) -> Result<ImportJob> {
        self.read_now(|c| jobs::get(c, scope, id))
    }

    async fn list_import_jobs(&self, scope: &Scope, limit: u32) -> Result<Vec<ImportJob>> {
        let scope = scope.clone();
        self.read(move |c| jobs::list(c, &scope, limit)).await
    }

    async fn import_rows(
        &self,
        job_id: &str,
        from: u32,
        limit: u32,
    ) -> Result<Vec<(u32, ProductDraft)>> {
        let job_id = job_id.to_string();
        self.read(move |c| jobs::rows(c, &job_id, from, limit))
            .await
    }

    async fn import_errors(&self, scope: &Scope, id: &str) -> Result<Vec<RowError>> {
        let (scope, id) = (scope.clone(), id.to_string());
        self.read(move |c| jobs::errors(c, &scope, &id)).await
    }

    async fn import_products(&self, scope: &Scope, id: &str) -> Result<Vec<Product>> {
        let (scope, id) = (scope.clone(), id.to_string());
        self.read(move |c| jobs::products(c, &scope, &id)).await
    }

    async fn claim_import_job(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ImportJob>> {
        self.write(move |c| jobs::claim(c, now, lease_until)).await
    }

    async fn renew_import_job(&self, id: &str, lease_until: Timestamp) -> Result<()> {
        let id = id.to_string();
        self.write(move |c| jobs::renew(c, &id, lease_until)).await
    }

    async fn import_products_bulk(
        &self,
        scope: &Scope,
        products: &[(String, ProductFields)],
        now: Timestamp,
    ) -> Result<u64> {
        if scope.seller_id.is_none() {
            return Err(write::no_seller());
        }
        // Each chunk is one write job, so one transaction: large enough that commits
        // cost little, small enough that other writes are not held back long.
        let mut written = 0;
        for chunk in products.chunks(write::BULK_CHUNK) {
            let (scope, chunk) = (scope.clone(), chunk.to_vec());
            written += self
                .write(move |c| write::insert_bulk(c, &scope, &chunk, now))
                .await?;
        }
        Ok(written)
    }
}
