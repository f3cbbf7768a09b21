//! A decided [`CatalogChange`] written in one transaction, in a number of statements
//! that does not grow with the change: each kind of row is one `UNNEST` statement.
//!
//! The order: the step's job is locked and its cursor checked (a second node on the
//! same step waits here, then finds the cursor moved); the products the change
//! rests on are locked by id and their versions checked; links to existing entities
//! are checked to be the seller's; ids for every new row are drawn from the
//! sequences; then entities, products and their children, stock, prices, deletions
//! and the step's results are written, in that order.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{GenericClient, Transaction};
use entreposto_domain::search::fold;
use entreposto_domain::*;
use entreposto_store::catalog_json::{encode_body, kind_name, stock_status_code};
use entreposto_store::*;
use tokio_postgres::types::ToSql;

use entreposto_store::events::{
    catalog_events, catalog_has_events, catalog_products_replaced, catalog_products_to_read,
    written_products, CatalogAfter,
};

use super::{catalog_err, writing_seller};
use crate::outbox::insert_events;
use crate::{map_err, PgStore};

pub(super) async fn save_catalog(
    store: &PgStore,
    scope: &Scope,
    change: CatalogChange,
) -> Result<CatalogSaved> {
    let seller = writing_seller(scope)?;
    if change.is_empty() {
        return Ok(CatalogSaved::default());
    }
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await.map_err(map_err)?;
    let w = Writer {
        tx: &tx,
        operator: &scope.operator_id,
        seller,
        now: change.now.0,
    };
    if let Some(step) = &change.step {
        w.lock_job(step).await?;
    }
    w.lock_products(&change).await?;
    w.check_links(&change).await?;
    let ids = w.allocate(&change).await?;
    let (saved, deleted_skus) = w.write(&change, ids).await?;
    let has_events = catalog_has_events(&change);
    if has_events {
        // The products as stored after the change: the ones it wrote whole from the
        // writes, the ones it restocked or repriced read inside it.
        let read_ids = catalog_products_to_read(&change);
        let replaced = catalog_products_replaced(&change, &read_ids);
        let created: HashMap<i64, Timestamp> = if replaced.is_empty() {
            HashMap::new()
        } else {
            tx.query(
                "SELECT id, created_at FROM products WHERE id = ANY($1) AND seller_id = $2",
                &[&replaced, &seller],
            )
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| (r.get(0), Timestamp(r.get(1))))
            .collect()
        };
        let mut products = written_products(scope, &change, &saved, &read_ids, &created);
        if !read_ids.is_empty() {
            let keys: Vec<ProductKey> = read_ids.iter().copied().map(ProductKey::Id).collect();
            products.extend(super::read::find_products(&tx, scope, &keys).await?);
        }
        let links = super::read::links_of(&tx, scope, &products).await?;
        let job = match &change.step {
            Some(s) if !s.events.is_empty() => {
                Some(super::jobs::job_in_scope(&tx, scope, &s.job_id).await?)
            }
            _ => None,
        };
        let after = CatalogAfter {
            products: &products,
            links: &links,
            deleted_skus: &deleted_skus,
            job: job.as_ref(),
        };
        let rows = catalog_events(&*store.payloads, scope, &change, &saved, after);
        insert_events(&tx, &rows).await?;
    }
    tx.commit().await.map_err(map_err)?;
    if has_events {
        store.wrote_events();
    }
    let inserted = change
        .products
        .iter()
        .filter(|p| p.existing.is_none())
        .count();
    store.grew(
        &store.products_grown,
        inserted as u64,
        crate::PRODUCTS_STATISTICS,
    );
    Ok(saved)
}

pub(super) struct Writer<'a> {
    pub(super) tx: &'a Transaction<'a>,
    pub(super) operator: &'a str,
    pub(super) seller: &'a str,
    pub(super) now: i64,
}

/// Ids drawn for the change's new rows, kind by kind, in the change's order.
#[derive(Default)]
struct NewIds {
    categories: Vec<i64>,
    manufacturers: Vec<i64>,
    brands: Vec<i64>,
    collections: Vec<i64>,
    products: Vec<i64>,
}

/// The id a link names: an existing row's, or the `n`-th new row's of its kind.
fn resolve(link: Link, new: &[i64], what: &str) -> Result<i64> {
    match link {
        Link::Existing(id) => Ok(id),
        Link::New(n) => new.get(n).copied().ok_or_else(|| {
            StoreError::Other(format!(
                "the change links new {what} {n} but creates {}",
                new.len()
            ))
        }),
    }
}

fn existing(link: &Link) -> Option<i64> {
    match link {
        Link::Existing(id) => Some(*id),
        Link::New(_) => None,
    }
}

/// Columns of products to insert or replace, one array per column.
#[derive(Default)]
pub(super) struct ProductRows<'a> {
    pub(super) id: Vec<i64>,
    /// The version an update was decided on (unused by inserts).
    pub(super) expected: Vec<i64>,
    pub(super) sku: Vec<&'a str>,
    pub(super) external_id: Vec<Option<&'a str>>,
    pub(super) kind: Vec<&'static str>,
    pub(super) name: Vec<&'a str>,
    pub(super) name_key: Vec<String>,
    pub(super) active: Vec<bool>,
    pub(super) published: Vec<bool>,
    pub(super) archived: Vec<bool>,
    pub(super) price_list: Vec<Option<i64>>,
    pub(super) price_value: Vec<Option<i64>>,
    pub(super) price_expires_at: Vec<Option<i64>>,
    pub(super) brand: Vec<Option<i64>>,
    pub(super) manufacturer: Vec<Option<i64>>,
    pub(super) seo_url: Vec<Option<&'a str>>,
    pub(super) body: Vec<String>,
}

impl<'a> ProductRows<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        id: i64,
        expected: i64,
        sku: &'a str,
        kind: ProductKind,
        f: &'a ProductFields,
        brand: Option<i64>,
        manufacturer: Option<i64>,
    ) {
        self.id.push(id);
        self.expected.push(expected);
        self.sku.push(sku);
        self.external_id.push(f.external_id.as_deref());
        self.kind.push(kind_name(kind));
        self.name.push(&f.info.name);
        self.name_key.push(fold(&f.info.name));
        self.active.push(f.info.active);
        self.published.push(f.info.published);
        self.archived.push(f.info.archived);
        self.price_list.push(f.price.map(|p| p.list.0));
        self.price_value.push(f.price.map(|p| p.value.0));
        self.price_expires_at
            .push(f.price.and_then(|p| p.expires_at.map(|t| t.0)));
        self.brand.push(brand);
        self.manufacturer.push(manufacturer);
        self.seo_url.push(f.seo.url.as_deref());
        self.body.push(encode_body(f));
    }

    fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// `$4..$19`, after the operator, seller and time (`$1..$3`).
    fn columns(&self) -> [&(dyn ToSql + Sync); 16] {
        [
            &self.id,
            &self.sku,
            &self.external_id,
            &self.kind,
            &self.name,
            &self.name_key,
            &self.active,
            &self.published,
            &self.archived,
            &self.price_list,
            &self.price_value,
            &self.price_expires_at,
            &self.brand,
            &self.manufacturer,
            &self.seo_url,
            &self.body,
        ]
    }
}

const PRODUCT_UNNEST: &str = "UNNEST($4::int8[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::bool[], $11::bool[], $12::bool[], $13::int8[], $14::int8[], $15::int8[],
    $16::int8[], $17::int8[], $18::text[], $19::text[]";
const PRODUCT_ALIASES: &str = "u(id, sku, ext, kind, name, name_key, active, published, archived,
    plist, pvalue, pexp, brand, maker, url, body";

/// Rows of a product's children (stock levels, category and collection links, parts).
#[derive(Default)]
pub(super) struct ChildRows<'a> {
    stock: StockRows<'a>,
    category_product: Vec<i64>,
    category_id: Vec<i64>,
    category_position: Vec<i32>,
    collection_product: Vec<i64>,
    collection_id: Vec<i64>,
    collection_position: Vec<i32>,
    part_product: Vec<i64>,
    part_sku: Vec<&'a str>,
    part_quantity: Vec<i64>,
    part_position: Vec<i32>,
}

#[derive(Default)]
struct StockRows<'a> {
    product: Vec<i64>,
    location: Vec<i64>,
    name: Vec<Option<&'a str>>,
    quantity: Vec<i64>,
    minimum: Vec<i64>,
    status: Vec<Option<i64>>,
}

impl<'a> StockRows<'a> {
    fn push(&mut self, product: i64, l: &'a StockLevel) {
        self.product.push(product);
        self.location.push(l.location.id);
        self.name.push(l.location.name.as_deref());
        self.quantity.push(l.quantity);
        self.minimum.push(l.minimum);
        self.status.push(stock_status_code(l.status));
    }
}

impl<'a> ChildRows<'a> {
    /// The stock levels and parts of `fields`, and the given links, for `product`.
    pub(super) fn push(
        &mut self,
        product: i64,
        fields: &'a ProductFields,
        categories: &[i64],
        collections: &[i64],
    ) {
        for l in &fields.stock {
            self.stock.push(product, l);
        }
        for (n, &id) in categories.iter().enumerate() {
            self.category_product.push(product);
            self.category_id.push(id);
            self.category_position.push(n as i32);
        }
        for (n, &id) in collections.iter().enumerate() {
            self.collection_product.push(product);
            self.collection_id.push(id);
            self.collection_position.push(n as i32);
        }
        for (n, part) in fields.parts.iter().enumerate() {
            self.part_product.push(product);
            self.part_sku.push(&part.sku);
            self.part_quantity.push(part.quantity);
            self.part_position.push(n as i32);
        }
    }
}

impl Writer<'_> {
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(map_err)?;
        self.tx.execute(&stmt, params).await.map_err(catalog_err)
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(map_err)?;
        self.tx.query(&stmt, params).await.map_err(catalog_err)
    }

    /// Locks the step's job; `NotFound` if it is not the seller's, `Stale` if its
    /// cursor is not where the step starts.
    async fn lock_job(&self, step: &ImportStep) -> Result<()> {
        let rows = self
            .query(
                "SELECT processed FROM import_jobs
                 WHERE id = $1 AND operator_id = $2 AND seller_id = $3 FOR UPDATE",
                &[&step.job_id, &self.operator, &self.seller],
            )
            .await?;
        let row = rows.first().ok_or(StoreError::NotFound)?;
        if row.get::<_, i64>(0) != i64::from(step.from) {
            return Err(StoreError::Stale);
        }
        Ok(())
    }

    /// Locks every existing product the change writes, restocks, reprices or deletes,
    /// in id order (two changes on overlapping products queue instead of
    /// deadlocking); `NotFound` if one is not the seller's, `Stale` if a write or a
    /// delete was decided on another version than the stored one.
    async fn lock_products(&self, change: &CatalogChange) -> Result<()> {
        let mut ids: Vec<i64> = change
            .products
            .iter()
            .filter_map(|p| p.existing.map(|e| e.0))
            .chain(change.stock.iter().map(|s| s.product_id))
            .chain(change.prices.iter().map(|p| p.product_id))
            .chain(change.deletes.iter().map(|d| d.product_id))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        ids.sort_unstable();
        ids.dedup();
        let rows = self
            .query(
                "SELECT id, version FROM products
                 WHERE id = ANY($1) AND operator_id = $2 AND seller_id = $3
                 ORDER BY id FOR UPDATE",
                &[&ids, &self.operator, &self.seller],
            )
            .await?;
        if rows.len() != ids.len() {
            return Err(StoreError::NotFound);
        }
        let versions: HashMap<i64, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let decided = change
            .products
            .iter()
            .filter_map(|p| p.existing)
            .chain(change.deletes.iter().map(|d| (d.product_id, d.version)));
        for (id, version) in decided {
            if versions.get(&id) != Some(&version) {
                return Err(StoreError::Stale);
            }
        }
        Ok(())
    }

    /// Checks that every existing entity the change links to is the seller's.
    async fn check_links(&self, change: &CatalogChange) -> Result<()> {
        let mut categories: HashSet<i64> = change
            .new_categories
            .iter()
            .filter_map(|c| c.parent.as_ref().and_then(existing))
            .collect();
        let mut manufacturers: HashSet<i64> = change
            .new_brands
            .iter()
            .filter_map(|b| b.manufacturer.as_ref().and_then(existing))
            .collect();
        let mut brands = HashSet::new();
        let mut collections = HashSet::new();
        for p in &change.products {
            categories.extend(p.categories.iter().filter_map(existing));
            brands.extend(p.brand.as_ref().and_then(existing));
            manufacturers.extend(p.manufacturer.as_ref().and_then(existing));
            collections.extend(p.collections.iter().filter_map(existing));
        }
        if categories.is_empty()
            && manufacturers.is_empty()
            && brands.is_empty()
            && collections.is_empty()
        {
            return Ok(());
        }
        let sets = [categories, manufacturers, brands, collections];
        let arrays: Vec<Vec<i64>> = sets.iter().map(|s| s.iter().copied().collect()).collect();
        let row = self
            .query(
                "SELECT
                   (SELECT COUNT(*) FROM categories WHERE id = ANY($1) AND operator_id = $5 AND seller_id = $6),
                   (SELECT COUNT(*) FROM manufacturers WHERE id = ANY($2) AND operator_id = $5 AND seller_id = $6),
                   (SELECT COUNT(*) FROM brands WHERE id = ANY($3) AND operator_id = $5 AND seller_id = $6),
                   (SELECT COUNT(*) FROM collections WHERE id = ANY($4) AND operator_id = $5 AND seller_id = $6)",
                &[
                    &arrays[0],
                    &arrays[1],
                    &arrays[2],
                    &arrays[3],
                    &self.operator,
                    &self.seller,
                ],
            )
            .await?;
        let row = &row[0];
        for (i, a) in arrays.iter().enumerate() {
            if row.get::<_, i64>(i) != a.len() as i64 {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    /// Draws ids for the change's new rows from the tables' sequences, in one round
    /// trip.
    async fn allocate(&self, change: &CatalogChange) -> Result<NewIds> {
        let new_products = change
            .products
            .iter()
            .filter(|p| p.existing.is_none())
            .count();
        let counts = [
            change.new_categories.len(),
            change.new_manufacturers.len(),
            change.new_brands.len(),
            change.new_collections.len(),
            new_products,
        ]
        .map(|n| n as i64);
        if counts.iter().all(|&n| n == 0) {
            return Ok(NewIds::default());
        }
        let row = self
            .query(
                "SELECT
                   ARRAY(SELECT nextval(pg_get_serial_sequence('categories', 'id')) FROM generate_series(1, $1::int8)),
                   ARRAY(SELECT nextval(pg_get_serial_sequence('manufacturers', 'id')) FROM generate_series(1, $2::int8)),
                   ARRAY(SELECT nextval(pg_get_serial_sequence('brands', 'id')) FROM generate_series(1, $3::int8)),
                   ARRAY(SELECT nextval(pg_get_serial_sequence('collections', 'id')) FROM generate_series(1, $4::int8)),
                   ARRAY(SELECT nextval(pg_get_serial_sequence('products', 'id')) FROM generate_series(1, $5::int8))",
                &[&counts[0], &counts[1], &counts[2], &counts[3], &counts[4]],
            )
            .await?;
        let row = &row[0];
        // Ascending, so new rows keep the change's order in "oldest first" listings.
        let ids = |i: usize| {
            let mut v: Vec<i64> = row.get(i);
            v.sort_unstable();
            v
        };
        Ok(NewIds {
            categories: ids(0),
            manufacturers: ids(1),
            brands: ids(2),
            collections: ids(3),
            products: ids(4),
        })
    }

    /// Writes the change; returns the ids it gave and the SKU of each deletion.
    async fn write(
        &self,
        change: &CatalogChange,
        ids: NewIds,
    ) -> Result<(CatalogSaved, Vec<String>)> {
        self.insert_categories(&change.new_categories, &ids.categories)
            .await?;
        self.insert_parties(
            "manufacturers",
            &change.new_manufacturers,
            &ids.manufacturers,
        )
        .await?;
        self.insert_brands(&change.new_brands, &ids.brands, &ids.manufacturers)
            .await?;
        self.insert_parties("collections", &change.new_collections, &ids.collections)
            .await?;
        let products = self.write_products(&change.products, &ids).await?;
        self.write_stock(&change.stock).await?;
        self.write_prices(&change.prices).await?;
        let mut deleted = Vec::with_capacity(change.deletes.len());
        if !change.deletes.is_empty() {
            let ids: Vec<i64> = change.deletes.iter().map(|d| d.product_id).collect();
            let rows = self
                .query(
                    "DELETE FROM products WHERE id = ANY($1) AND operator_id = $2
                     AND seller_id = $3 RETURNING id, sku",
                    &[&ids, &self.operator, &self.seller],
                )
                .await?;
            let skus: HashMap<i64, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            for d in &change.deletes {
                deleted.push(skus.get(&d.product_id).cloned().unwrap_or_default());
            }
        }
        if let Some(step) = &change.step {
            self.write_step(step, &products).await?;
        }
        let saved = CatalogSaved {
            categories: ids.categories,
            manufacturers: ids.manufacturers,
            brands: ids.brands,
            collections: ids.collections,
            products,
        };
        Ok((saved, deleted))
    }

    async fn insert_categories(&self, new: &[NewCategory], ids: &[i64]) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        let mut parent = Vec::with_capacity(new.len());
        for c in new {
            parent.push(c.parent.map(|l| resolve(l, ids, "category")).transpose()?);
        }
        let name: Vec<&str> = new.iter().map(|c| c.name.as_str()).collect();
        let key: Vec<String> = new.iter().map(|c| fold(&c.name)).collect();
        let description: Vec<Option<&str>> = new.iter().map(|c| c.description.as_deref()).collect();
        let slug: Vec<&str> = new.iter().map(|c| c.slug.as_str()).collect();
        let keywords: Vec<Option<&str>> = new.iter().map(|c| c.keywords.as_deref()).collect();
        let image: Vec<Option<&str>> = new.iter().map(|c| c.image_source.as_deref()).collect();
        let external: Vec<Option<&str>> = new.iter().map(|c| c.external_id.as_deref()).collect();
        let ids = ids.to_vec();
        self.execute(
            "INSERT INTO categories (id, operator_id, seller_id, parent_id, name, name_key,
               description, slug, keywords, image_source, external_id, created_at)
             SELECT u.id, $1, $2, u.parent, u.name, u.name_key, u.descr, u.slug, u.kw, u.img,
               u.ext, $3
             FROM UNNEST($4::int8[], $5::int8[], $6::text[], $7::text[], $8::text[], $9::text[],
               $10::text[], $11::text[], $12::text[])
               AS u(id, parent, name, name_key, descr, slug, kw, img, ext)",
            &[
                &self.operator,
                &self.seller,
                &self.now,
                &ids,
                &parent,
                &name,
                &key,
                &description,
                &slug,
                &keywords,
                &image,
                &external,
            ],
        )
        .await?;
        Ok(())
    }

    /// Manufacturers or collections (same columns).
    async fn insert_parties(&self, table: &str, new: &[NewParty], ids: &[i64]) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        let (name, key, external, image) = party_columns(new.iter());
        let ids = ids.to_vec();
        self.execute(
            &format!(
                "INSERT INTO {table} (id, operator_id, seller_id, name, name_key, external_id,
                   image_source, created_at)
                 SELECT u.id, $1, $2, u.name, u.name_key, u.ext, u.img, $3
                 FROM UNNEST($4::int8[], $5::text[], $6::text[], $7::text[], $8::text[])
                   AS u(id, name, name_key, ext, img)"
            ),
            &[
                &self.operator,
                &self.seller,
                &self.now,
                &ids,
                &name,
                &key,
                &external,
                &image,
            ],
        )
        .await?;
        Ok(())
    }

    async fn insert_brands(
        &self,
        new: &[NewBrand],
        ids: &[i64],
        new_manufacturers: &[i64],
    ) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        let (name, key, external, image) = party_columns(new.iter().map(|b| &b.party));
        let mut maker = Vec::with_capacity(new.len());
        for b in new {
            maker.push(
                b.manufacturer
                    .map(|l| resolve(l, new_manufacturers, "manufacturer"))
                    .transpose()?,
            );
        }
        let ids = ids.to_vec();
        self.execute(
            "INSERT INTO brands (id, operator_id, seller_id, name, name_key, external_id,
               image_source, manufacturer_id, created_at)
             SELECT u.id, $1, $2, u.name, u.name_key, u.ext, u.img, u.maker, $3
             FROM UNNEST($4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int8[])
               AS u(id, name, name_key, ext, img, maker)",
            &[
                &self.operator,
                &self.seller,
                &self.now,
                &ids,
                &name,
                &key,
                &external,
                &image,
                &maker,
            ],
        )
        .await?;
        Ok(())
    }

    /// Inserts the new products and replaces the existing ones (columns, body and all
    /// children); returns each write's product id. An existing product written twice
    /// in one change is replaced once, by its last write.
    async fn write_products(&self, writes: &[ProductWrite], ids: &NewIds) -> Result<Vec<i64>> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let last: HashMap<i64, usize> = writes
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.existing.map(|e| (e.0, i)))
            .collect();
        let mut inserts = ProductRows::default();
        let mut updates = ProductRows::default();
        let mut children = ChildRows::default();
        let mut saved = Vec::with_capacity(writes.len());
        let mut fresh = ids.products.iter();
        for (i, w) in writes.iter().enumerate() {
            let (id, rows) = match w.existing {
                Some((id, _)) if last[&id] != i => {
                    saved.push(id);
                    continue;
                }
                Some((id, version)) => {
                    saved.push(id);
                    (id, (&mut updates, version))
                }
                None => {
                    let id = *fresh
                        .next()
                        .ok_or_else(|| StoreError::Other("product ids ran out".into()))?;
                    saved.push(id);
                    (id, (&mut inserts, 0))
                }
            };
            let brand = w
                .brand
                .map(|l| resolve(l, &ids.brands, "brand"))
                .transpose()?;
            let maker = w
                .manufacturer
                .map(|l| resolve(l, &ids.manufacturers, "manufacturer"))
                .transpose()?;
            let categories = w
                .categories
                .iter()
                .map(|&l| resolve(l, &ids.categories, "category"))
                .collect::<Result<Vec<_>>>()?;
            let collections = w
                .collections
                .iter()
                .map(|&l| resolve(l, &ids.collections, "collection"))
                .collect::<Result<Vec<_>>>()?;
            rows.0
                .push(id, rows.1, &w.sku, w.kind, &w.fields, brand, maker);
            children.push(id, &w.fields, &categories, &collections);
        }
        self.insert_products(&inserts).await?;
        if !updates.is_empty() {
            let mut params: Vec<&(dyn ToSql + Sync)> =
                vec![&self.operator, &self.seller, &self.now];
            params.extend(updates.columns());
            params.push(&updates.expected);
            let n = self
                .execute(
                    &format!(
                        "UPDATE products p SET sku = u.sku, external_id = u.ext, kind = u.kind,
                           name = u.name, name_key = u.name_key, active = u.active,
                           published = u.published, archived = u.archived,
                           price_list = u.plist, price_value = u.pvalue,
                           price_expires_at = u.pexp, brand_id = u.brand,
                           manufacturer_id = u.maker, seo_url = u.url, body = u.body,
                           version = p.version + 1, updated_at = $3
                         FROM {PRODUCT_UNNEST}, $20::int8[]) AS {PRODUCT_ALIASES}, expected)
                         WHERE p.id = u.id AND p.version = u.expected
                           AND p.operator_id = $1 AND p.seller_id = $2"
                    ),
                    &params,
                )
                .await?;
            if n != updates.id.len() as u64 {
                return Err(StoreError::Stale);
            }
            // A replaced product's children are all rewritten.
            self.execute(
                "WITH s AS (DELETE FROM product_stock WHERE product_id = ANY($1)),
                      c AS (DELETE FROM product_categories WHERE product_id = ANY($1)),
                      k AS (DELETE FROM product_collections WHERE product_id = ANY($1))
                 DELETE FROM product_parts WHERE product_id = ANY($1)",
                &[&updates.id],
            )
            .await?;
        }
        self.insert_children(&children).await?;
        Ok(saved)
    }

    pub(super) async fn insert_products(&self, rows: &ProductRows<'_>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&self.operator, &self.seller, &self.now];
        params.extend(rows.columns());
        self.execute(
            &format!(
                "INSERT INTO products (id, operator_id, seller_id, sku, external_id, kind, name,
                   name_key, active, published, archived, price_list, price_value,
                   price_expires_at, brand_id, manufacturer_id, seo_url, version, created_at,
                   updated_at, body)
                 SELECT u.id, $1, $2, u.sku, u.ext, u.kind, u.name, u.name_key, u.active,
                   u.published, u.archived, u.plist, u.pvalue, u.pexp, u.brand, u.maker, u.url,
                   1, $3, $3, u.body
                 FROM {PRODUCT_UNNEST}) AS {PRODUCT_ALIASES})"
            ),
            &params,
        )
        .await?;
        Ok(())
    }

    /// Every child row of the products written, one statement for the four tables.
    pub(super) async fn insert_children(&self, c: &ChildRows<'_>) -> Result<()> {
        if c.stock.product.is_empty()
            && c.category_product.is_empty()
            && c.collection_product.is_empty()
            && c.part_product.is_empty()
        {
            return Ok(());
        }
        let s = &c.stock;
        self.execute(
            "WITH s AS (INSERT INTO product_stock (product_id, location_id, location_name,
                   quantity, minimum, status)
                 SELECT * FROM UNNEST($2::int8[], $3::int8[], $4::text[], $5::int8[],
                   $6::int8[], $7::int8[])),
               c AS (INSERT INTO product_categories (product_id, category_id, position)
                 SELECT * FROM UNNEST($8::int8[], $9::int8[], $10::int4[])),
               k AS (INSERT INTO product_collections (product_id, collection_id, position)
                 SELECT * FROM UNNEST($11::int8[], $12::int8[], $13::int4[]))
             INSERT INTO product_parts (product_id, seller_id, part_sku, quantity, position)
             SELECT u.product, $1, u.sku, u.qty, u.pos
             FROM UNNEST($14::int8[], $15::text[], $16::int8[], $17::int4[])
               AS u(product, sku, qty, pos)",
            &[
                &self.seller,
                &s.product,
                &s.location,
                &s.name,
                &s.quantity,
                &s.minimum,
                &s.status,
                &c.category_product,
                &c.category_id,
                &c.category_position,
                &c.collection_product,
                &c.collection_id,
                &c.collection_position,
                &c.part_product,
                &c.part_sku,
                &c.part_quantity,
                &c.part_position,
            ],
        )
        .await?;
        Ok(())
    }

    /// Upserts the levels given (a location written twice keeps its last level) and
    /// moves each restocked product's version on.
    async fn write_stock(&self, writes: &[StockWrite]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut last: HashMap<(i64, i64), &StockLevel> = HashMap::new();
        let mut order = Vec::new();
        for w in writes {
            for l in &w.levels {
                if last.insert((w.product_id, l.location.id), l).is_none() {
                    order.push((w.product_id, l.location.id));
                }
            }
        }
        let mut rows = StockRows::default();
        for key in &order {
            rows.push(key.0, last[key]);
        }
        if !order.is_empty() {
            self.execute(
                "INSERT INTO product_stock (product_id, location_id, location_name, quantity,
                   minimum, status)
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int8[], $5::int8[],
                   $6::int8[])
                 ON CONFLICT (product_id, location_id) DO UPDATE SET
                   location_name = EXCLUDED.location_name, quantity = EXCLUDED.quantity,
                   minimum = EXCLUDED.minimum, status = EXCLUDED.status",
                &[
                    &rows.product,
                    &rows.location,
                    &rows.name,
                    &rows.quantity,
                    &rows.minimum,
                    &rows.status,
                ],
            )
            .await?;
        }
        let mut ids: Vec<i64> = writes.iter().map(|w| w.product_id).collect();
        ids.sort_unstable();
        ids.dedup();
        self.execute(
            "UPDATE products SET version = version + 1, updated_at = $2
             WHERE id = ANY($1) AND operator_id = $3 AND seller_id = $4",
            &[&ids, &self.now, &self.operator, &self.seller],
        )
        .await?;
        Ok(())
    }

    /// Sets the prices (a product priced twice keeps its last price), moving each
    /// product's version on.
    async fn write_prices(&self, writes: &[PriceWrite]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let last: HashMap<i64, &Price> = writes.iter().map(|w| (w.product_id, &w.price)).collect();
        let ids: Vec<i64> = last.keys().copied().collect();
        let list: Vec<i64> = ids.iter().map(|id| last[id].list.0).collect();
        let value: Vec<i64> = ids.iter().map(|id| last[id].value.0).collect();
        let expires: Vec<Option<i64>> = ids
            .iter()
            .map(|id| last[id].expires_at.map(|t| t.0))
            .collect();
        self.execute(
            "UPDATE products p SET price_list = u.list, price_value = u.value,
               price_expires_at = u.expires, version = p.version + 1, updated_at = $1
             FROM UNNEST($2::int8[], $3::int8[], $4::int8[], $5::int8[])
               AS u(id, list, value, expires)
             WHERE p.id = u.id AND p.operator_id = $6 AND p.seller_id = $7",
            &[
                &self.now,
                &ids,
                &list,
                &value,
                &expires,
                &self.operator,
                &self.seller,
            ],
        )
        .await?;
        Ok(())
    }

    /// One result per row of the step, and the job's cursor and counts moved on.
    async fn write_step(&self, step: &ImportStep, products: &[i64]) -> Result<()> {
        let n = step.outcomes.len();
        let (mut row, mut sku, mut product, mut errors) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut succeeded, mut failed) = (0i64, 0i64);
        for (i, (s, outcome)) in step.outcomes.iter().enumerate() {
            row.push(i64::from(step.from) + i as i64);
            sku.push(s.as_deref());
            match outcome {
                RowOutcome::Written { product: p } => {
                    let id = products.get(*p).copied().ok_or_else(|| {
                        StoreError::Other(format!(
                            "row {} names product write {p} of {}",
                            step.from as usize + i,
                            products.len()
                        ))
                    })?;
                    product.push(Some(id));
                    errors.push(None);
                    succeeded += 1;
                }
                RowOutcome::Failed { reasons } => {
                    product.push(None);
                    errors.push(Some(
                        serde_json::to_string(reasons).expect("strings serialize"),
                    ));
                    failed += 1;
                }
            }
        }
        if n > 0 {
            self.execute(
                "INSERT INTO import_results (job_id, row, sku, product_id, errors)
                 SELECT $1, u.row, u.sku, u.product, u.errors
                 FROM UNNEST($2::int8[], $3::text[], $4::int8[], $5::text[])
                   AS u(row, sku, product, errors)",
                &[&step.job_id, &row, &sku, &product, &errors],
            )
            .await?;
        }
        let processed = i64::from(step.from) + n as i64;
        self.execute(
            "UPDATE import_jobs SET processed = $2, succeeded = succeeded + $3,
               failed = failed + $4, updated_at = $5,
               state = CASE WHEN $6 THEN 'finished' ELSE 'running' END,
               finished_at = CASE WHEN $6 THEN $5 ELSE finished_at END,
               lease_until = CASE WHEN $6 THEN NULL ELSE lease_until END
             WHERE id = $1",
            &[
                &step.job_id,
                &processed,
                &succeeded,
                &failed,
                &self.now,
                &step.finished,
            ],
        )
        .await?;
        Ok(())
    }
}

/// Name, folded name, external id and image of new parties, one array each.
#[allow(clippy::type_complexity)]
fn party_columns<'a>(
    parties: impl Iterator<Item = &'a NewParty>,
) -> (
    Vec<&'a str>,
    Vec<String>,
    Vec<Option<&'a str>>,
    Vec<Option<&'a str>>,
) {
    let (mut name, mut key, mut external, mut image) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in parties {
        name.push(p.name.as_str());
        key.push(fold(&p.name));
        external.push(p.external_id.as_deref());
        image.push(p.image_source.as_deref());
    }
    (name, key, external, image)
}
