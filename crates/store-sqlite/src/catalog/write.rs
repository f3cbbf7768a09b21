//! Catalog writes, run by the writer thread inside one savepoint: a decided
//! [`CatalogChange`] written as it is, or refused whole (the writer rolls the
//! savepoint back on any error).

use entreposto_domain::search::fold;
use entreposto_domain::*;
use entreposto_store::catalog_json::{encode_body, kind_name, stock_status_code};
use entreposto_store::*;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::clash;
use crate::map_err;

/// Products per write job of a bulk load.
pub(super) const BULK_CHUNK: usize = 10_000;

pub(super) fn no_seller() -> StoreError {
    StoreError::Other("a catalog write needs a seller's scope, not only an operator's".into())
}

/// Who every row of a change belongs to.
struct Owner<'a> {
    operator: &'a str,
    seller: &'a str,
}

/// The scope's seller, checked to be its operator's (`NotFound` otherwise).
fn owner_of<'a>(c: &Connection, scope: &'a Scope) -> Result<Owner<'a>> {
    let seller = scope.seller_id.as_deref().ok_or_else(no_seller)?;
    c.prepare_cached("SELECT 1 FROM sellers WHERE id = ?1 AND operator_id = ?2")
        .and_then(|mut s| {
            s.query_row(params![seller, scope.operator_id], |_| Ok(()))
                .optional()
        })
        .map_err(map_err)?
        .ok_or(StoreError::NotFound)?;
    Ok(Owner {
        operator: &scope.operator_id,
        seller,
    })
}

/// The kinds of entity a [`Link`] points to.
#[derive(Clone, Copy)]
enum Entity {
    Category,
    Manufacturer,
    Brand,
    Collection,
}

impl Entity {
    fn table(self) -> &'static str {
        match self {
            Entity::Category => "categories",
            Entity::Manufacturer => "manufacturers",
            Entity::Brand => "brands",
            Entity::Collection => "collections",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Entity::Category => "category",
            Entity::Manufacturer => "manufacturer",
            Entity::Brand => "brand",
            Entity::Collection => "collection",
        }
    }

    /// What a uniqueness violation on this entity's row means, from SQLite's message.
    fn clash(self, message: &str, name: &str, external_id: Option<&str>) -> String {
        let noun = self.noun();
        match external_id {
            Some(e) if message.contains("external_id") => {
                format!("{noun} externalId '{e}' is taken")
            }
            _ if matches!(self, Entity::Category) => {
                format!("a category named '{name}' already exists under the same parent")
            }
            _ => format!("a {noun} named '{name}' already exists"),
        }
    }
}

/// The id `link` names: one of `created` (the change's new rows of that kind, so far)
/// or an existing row of the seller's (`NotFound` otherwise).
fn resolve(
    c: &Connection,
    o: &Owner<'_>,
    entity: Entity,
    link: Link,
    created: &[i64],
) -> Result<i64> {
    match link {
        Link::New(n) => created.get(n).copied().ok_or_else(|| {
            StoreError::Other(format!(
                "the change links new {} {n}, which it does not create before the link",
                entity.noun()
            ))
        }),
        Link::Existing(id) => c
            .prepare_cached(&format!(
                "SELECT 1 FROM {} WHERE id = ?1 AND seller_id = ?2",
                entity.table()
            ))
            .and_then(|mut s| s.query_row(params![id, o.seller], |_| Ok(())).optional())
            .map_err(map_err)?
            .map(|_| id)
            .ok_or(StoreError::NotFound),
    }
}

fn resolve_all(
    c: &Connection,
    o: &Owner<'_>,
    entity: Entity,
    links: &[Link],
    created: &[i64],
) -> Result<Vec<i64>> {
    links
        .iter()
        .map(|&l| resolve(c, o, entity, l, created))
        .collect()
}

fn resolve_opt(
    c: &Connection,
    o: &Owner<'_>,
    entity: Entity,
    link: Option<Link>,
    created: &[i64],
) -> Result<Option<i64>> {
    link.map(|l| resolve(c, o, entity, l, created)).transpose()
}

/// Persists a decided change (see [`CatalogStore::save_catalog`]).
/// Applies the change; returns the ids it gave and the SKU of each product it deleted.
pub(super) fn save_change(
    c: &Connection,
    scope: &Scope,
    change: &CatalogChange,
) -> Result<(CatalogSaved, Vec<String>)> {
    let o = owner_of(c, scope)?;
    let now = change.now;
    // The job's cursor first: a stale step is refused before anything is written.
    if let Some(step) = &change.step {
        advance_job(c, &o, step, now)?;
    }
    let mut saved = CatalogSaved::default();
    for cat in &change.new_categories {
        let parent = resolve_opt(c, &o, Entity::Category, cat.parent, &saved.categories)?;
        saved
            .categories
            .push(insert_category(c, &o, cat, parent, now)?);
    }
    for m in &change.new_manufacturers {
        saved
            .manufacturers
            .push(insert_party(c, &o, Entity::Manufacturer, m, None, now)?);
    }
    for b in &change.new_brands {
        let maker = resolve_opt(
            c,
            &o,
            Entity::Manufacturer,
            b.manufacturer,
            &saved.manufacturers,
        )?;
        saved
            .brands
            .push(insert_party(c, &o, Entity::Brand, &b.party, maker, now)?);
    }
    for col in &change.new_collections {
        saved
            .collections
            .push(insert_party(c, &o, Entity::Collection, col, None, now)?);
    }
    for w in &change.products {
        let id = write_product(c, &o, w, &saved, now)?;
        saved.products.push(id);
    }
    for s in &change.stock {
        bump(c, &o, s.product_id, now)?;
        for level in &s.levels {
            upsert_stock(c, s.product_id, level)?;
        }
    }
    for p in &change.prices {
        set_price(c, &o, p, now)?;
    }
    let mut deleted = Vec::with_capacity(change.deletes.len());
    for d in &change.deletes {
        deleted.push(delete_product(c, &o, d.product_id, d.version)?);
    }
    if let Some(step) = &change.step {
        record_outcomes(c, step, &saved.products)?;
    }
    Ok((saved, deleted))
}

fn insert_category(
    c: &Connection,
    o: &Owner<'_>,
    cat: &NewCategory,
    parent: Option<i64>,
    now: Timestamp,
) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO categories (operator_id, seller_id, parent_id, name, name_key, description,
         slug, keywords, image_source, external_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut s| {
        s.execute(params![
            o.operator,
            o.seller,
            parent,
            cat.name,
            fold(&cat.name),
            cat.description,
            cat.slug,
            cat.keywords,
            cat.image_source,
            cat.external_id,
            now.0
        ])
    })
    .map_err(|e| {
        clash(e, |m| {
            Entity::Category.clash(m, &cat.name, cat.external_id.as_deref())
        })
    })?;
    Ok(c.last_insert_rowid())
}

/// Inserts a manufacturer, brand (with its `manufacturer`) or collection.
fn insert_party(
    c: &Connection,
    o: &Owner<'_>,
    entity: Entity,
    p: &NewParty,
    manufacturer: Option<i64>,
    now: Timestamp,
) -> Result<i64> {
    let sql = match entity {
        Entity::Brand => {
            "INSERT INTO brands (operator_id, seller_id, name, name_key, external_id,
             image_source, created_at, manufacturer_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        }
        Entity::Manufacturer => {
            "INSERT INTO manufacturers (operator_id, seller_id, name, name_key, external_id,
             image_source, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        Entity::Collection => {
            "INSERT INTO collections (operator_id, seller_id, name, name_key, external_id,
             image_source, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        Entity::Category => {
            return Err(StoreError::Other(
                "categories are inserted by insert_category".into(),
            ))
        }
    };
    let mut values = vec![
        Value::Text(o.operator.into()),
        Value::Text(o.seller.into()),
        Value::Text(p.name.clone()),
        Value::Text(fold(&p.name)),
        p.external_id.clone().map_or(Value::Null, Value::Text),
        p.image_source.clone().map_or(Value::Null, Value::Text),
        Value::Integer(now.0),
    ];
    if matches!(entity, Entity::Brand) {
        values.push(manufacturer.map_or(Value::Null, Value::Integer));
    }
    c.prepare_cached(sql)
        .and_then(|mut s| s.execute(params_from_iter(values)))
        .map_err(|e| clash(e, |m| entity.clash(m, &p.name, p.external_id.as_deref())))?;
    Ok(c.last_insert_rowid())
}

/// What a product's own row holds, links resolved.
struct ProductRow<'a> {
    sku: &'a str,
    kind: ProductKind,
    fields: &'a ProductFields,
    brand: Option<i64>,
    maker: Option<i64>,
}

/// The values of a product's own columns, `?3` to `?18` of [`INSERT_PRODUCT`] and
/// [`UPDATE_PRODUCT`].
fn product_values(p: &ProductRow<'_>, now: Timestamp) -> Vec<Value> {
    let ProductRow {
        sku,
        kind,
        fields: f,
        brand,
        maker,
    } = *p;
    let opt_text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    let opt_int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    let i = &f.info;
    vec![
        Value::Text(sku.into()),
        opt_text(&f.external_id),
        Value::Text(kind_name(kind).into()),
        Value::Text(i.name.clone()),
        Value::Text(fold(&i.name)),
        Value::Integer(i64::from(i.active)),
        Value::Integer(i64::from(i.published)),
        Value::Integer(i64::from(i.archived)),
        opt_int(f.price.map(|p| p.list.0)),
        opt_int(f.price.map(|p| p.value.0)),
        opt_int(f.price.and_then(|p| p.expires_at).map(|t| t.0)),
        opt_int(brand),
        opt_int(maker),
        opt_text(&f.seo.url),
        Value::Integer(now.0),
        Value::Text(encode_body(f)),
    ]
}

const INSERT_PRODUCT: &str = "INSERT INTO products (operator_id, seller_id, sku, external_id,
     kind, name, name_key, active, published, archived, price_list, price_value,
     price_expires_at, brand_id, manufacturer_id, seo_url, version, created_at, updated_at, body)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1, ?17, ?17, ?18)";

/// `?1` the id, `?2` the seller, `?19` the version the change was decided on.
const UPDATE_PRODUCT: &str = "UPDATE products SET sku = ?3, external_id = ?4, kind = ?5,
     name = ?6, name_key = ?7, active = ?8, published = ?9, archived = ?10, price_list = ?11,
     price_value = ?12, price_expires_at = ?13, brand_id = ?14, manufacturer_id = ?15,
     seo_url = ?16, updated_at = ?17, body = ?18, version = version + 1
     WHERE id = ?1 AND seller_id = ?2 AND version = ?19";

fn product_clash(message: &str, sku: &str, f: &ProductFields) -> String {
    match &f.external_id {
        Some(e) if message.contains("external_id") => {
            format!("externalId '{e}' is taken by another product")
        }
        _ => format!("sku '{sku}' is taken by another product"),
    }
}

/// Inserts a product with version 1 and its stock (links and parts are the caller's).
fn insert_product(
    c: &Connection,
    o: &Owner<'_>,
    p: &ProductRow<'_>,
    now: Timestamp,
) -> Result<i64> {
    let mut values = vec![Value::Text(o.operator.into()), Value::Text(o.seller.into())];
    values.extend(product_values(p, now));
    c.prepare_cached(INSERT_PRODUCT)
        .and_then(|mut s| s.execute(params_from_iter(values)))
        .map_err(|e| clash(e, |m| product_clash(m, p.sku, p.fields)))?;
    let id = c.last_insert_rowid();
    index_name(c, id, &fold(&p.fields.info.name))?;
    for level in &p.fields.stock {
        insert_stock(c, id, level)?;
    }
    Ok(id)
}

/// Adds a product's folded name to the trigram index (see migration 10 for why the
/// store, not a trigger, keeps it).
fn index_name(c: &Connection, id: i64, name_key: &str) -> Result<()> {
    c.prepare_cached("INSERT INTO product_names (rowid, name_key) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![id, name_key]))
        .map_err(map_err)?;
    Ok(())
}

/// Takes a product's folded name, as indexed, out of the trigram index.
fn unindex_name(c: &Connection, id: i64, name_key: &str) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO product_names (product_names, rowid, name_key) VALUES ('delete', ?1, ?2)",
    )
    .and_then(|mut s| s.execute(params![id, name_key]))
    .map_err(map_err)?;
    Ok(())
}

/// The folded name of the seller's product `id` (`NotFound` if it has none such):
/// read before a guarded update or delete, to take it out of the index after.
fn indexed_name(c: &Connection, o: &Owner<'_>, id: i64) -> Result<String> {
    c.prepare_cached("SELECT name_key FROM products WHERE id = ?1 AND seller_id = ?2")
        .and_then(|mut s| s.query_row(params![id, o.seller], |r| r.get(0)))
        .map_err(map_err)
}

/// Inserts or replaces a whole product: its row, stock, links and parts.
fn write_product(
    c: &Connection,
    o: &Owner<'_>,
    w: &ProductWrite,
    saved: &CatalogSaved,
    now: Timestamp,
) -> Result<i64> {
    let categories = resolve_all(c, o, Entity::Category, &w.categories, &saved.categories)?;
    let collections = resolve_all(c, o, Entity::Collection, &w.collections, &saved.collections)?;
    let brand = resolve_opt(c, o, Entity::Brand, w.brand, &saved.brands)?;
    let maker = resolve_opt(
        c,
        o,
        Entity::Manufacturer,
        w.manufacturer,
        &saved.manufacturers,
    )?;
    let row = ProductRow {
        sku: &w.sku,
        kind: w.kind,
        fields: &w.fields,
        brand,
        maker,
    };
    let id = match w.existing {
        None => insert_product(c, o, &row, now)?,
        Some((id, version)) => {
            // The seller's product (`NotFound` otherwise); then the version guard.
            let old_name = indexed_name(c, o, id)?;
            let mut values = vec![Value::Integer(id), Value::Text(o.seller.into())];
            values.extend(product_values(&row, now));
            values.push(Value::Integer(version));
            let n = c
                .prepare_cached(UPDATE_PRODUCT)
                .and_then(|mut s| s.execute(params_from_iter(values)))
                .map_err(|e| clash(e, |m| product_clash(m, &w.sku, &w.fields)))?;
            if n == 0 {
                return Err(StoreError::Stale);
            }
            let name = fold(&w.fields.info.name);
            if name != old_name {
                unindex_name(c, id, &old_name)?;
                index_name(c, id, &name)?;
            }
            for table in [
                "product_stock",
                "product_categories",
                "product_collections",
                "product_parts",
            ] {
                c.prepare_cached(&format!("DELETE FROM {table} WHERE product_id = ?1"))
                    .and_then(|mut s| s.execute([id]))
                    .map_err(map_err)?;
            }
            for level in &w.fields.stock {
                insert_stock(c, id, level)?;
            }
            id
        }
    };
    for (table, column, linked) in [
        ("product_categories", "category_id", &categories),
        ("product_collections", "collection_id", &collections),
    ] {
        for (position, linked) in linked.iter().enumerate() {
            c.prepare_cached(&format!(
                "INSERT INTO {table} (product_id, {column}, position) VALUES (?1, ?2, ?3)"
            ))
            .and_then(|mut s| s.execute(params![id, linked, position as i64]))
            .map_err(map_err)?;
        }
    }
    for (position, part) in w.fields.parts.iter().enumerate() {
        c.prepare_cached(
            "INSERT INTO product_parts (product_id, seller_id, part_sku, quantity, position)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                o.seller,
                part.sku,
                part.quantity,
                position as i64
            ])
        })
        .map_err(map_err)?;
    }
    Ok(id)
}

fn stock_params(id: i64, l: &StockLevel) -> [Value; 6] {
    [
        Value::Integer(id),
        Value::Integer(l.location.id),
        l.location.name.clone().map_or(Value::Null, Value::Text),
        Value::Integer(l.quantity),
        Value::Integer(l.minimum),
        stock_status_code(l.status).map_or(Value::Null, Value::Integer),
    ]
}

fn insert_stock(c: &Connection, id: i64, l: &StockLevel) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO product_stock (product_id, location_id, location_name, quantity, minimum,
         status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params_from_iter(stock_params(id, l))))
    .map_err(|e| {
        clash(e, |_| {
            format!("stock location {} is listed twice", l.location.id)
        })
    })?;
    Ok(())
}

fn upsert_stock(c: &Connection, id: i64, l: &StockLevel) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO product_stock (product_id, location_id, location_name, quantity, minimum,
         status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (product_id, location_id) DO UPDATE SET location_name = excluded.location_name,
         quantity = excluded.quantity, minimum = excluded.minimum, status = excluded.status",
    )
    .and_then(|mut s| s.execute(params_from_iter(stock_params(id, l))))
    .map_err(map_err)?;
    Ok(())
}

/// Moves a product's version and `updated_at` for a stock write (`NotFound` unless
/// it is the seller's).
fn bump(c: &Connection, o: &Owner<'_>, id: i64, now: Timestamp) -> Result<()> {
    let n = c
        .prepare_cached(
            "UPDATE products SET version = version + 1, updated_at = ?3
             WHERE id = ?1 AND seller_id = ?2",
        )
        .and_then(|mut s| s.execute(params![id, o.seller, now.0]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn set_price(c: &Connection, o: &Owner<'_>, p: &PriceWrite, now: Timestamp) -> Result<()> {
    let n = c
        .prepare_cached(
            "UPDATE products SET price_list = ?3, price_value = ?4, price_expires_at = ?5,
             version = version + 1, updated_at = ?6 WHERE id = ?1 AND seller_id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                p.product_id,
                o.seller,
                p.price.list.0,
                p.price.value.0,
                p.price.expires_at.map(|t| t.0),
                now.0
            ])
        })
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a product still at `version`; its stock, links and parts go with it
/// (`ON DELETE CASCADE`), its name leaves the index. Returns its SKU.
fn delete_product(c: &Connection, o: &Owner<'_>, id: i64, version: i64) -> Result<String> {
    let name = indexed_name(c, o, id)?;
    let sku: Option<String> = c
        .prepare_cached(
            "DELETE FROM products WHERE id = ?1 AND seller_id = ?2 AND version = ?3
             RETURNING sku",
        )
        .and_then(|mut s| {
            s.query_row(params![id, o.seller, version], |r| r.get(0))
                .optional()
        })
        .map_err(map_err)?;
    let sku = sku.ok_or(StoreError::Stale)?;
    unindex_name(c, id, &name)?;
    Ok(sku)
}

/// Moves the job's cursor past the step's rows if it is still at `step.from`, with
/// its counts; `Stale` if the cursor moved (or the job finished), `NotFound` if the
/// job is not the seller's.
fn advance_job(c: &Connection, o: &Owner<'_>, step: &ImportStep, now: Timestamp) -> Result<()> {
    let done = step.outcomes.len() as i64;
    let succeeded = step
        .outcomes
        .iter()
        .filter(|(_, r)| matches!(r, RowOutcome::Written { .. }))
        .count() as i64;
    let state = if step.finished {
        ImportState::Finished
    } else {
        ImportState::Running
    };
    let n = c
        .prepare_cached(
            "UPDATE import_jobs SET processed = processed + ?4, succeeded = succeeded + ?5,
             failed = failed + ?6, state = ?7, updated_at = ?8,
             finished_at = COALESCE(?9, finished_at)
             WHERE id = ?1 AND seller_id = ?2 AND processed = ?3 AND state <> 'finished'",
        )
        .and_then(|mut s| {
            s.execute(params![
                step.job_id,
                o.seller,
                step.from,
                done,
                succeeded,
                done - succeeded,
                state.as_str(),
                now.0,
                step.finished.then_some(now.0)
            ])
        })
        .map_err(map_err)?;
    if n == 0 {
        let exists = c
            .prepare_cached("SELECT 1 FROM import_jobs WHERE id = ?1 AND seller_id = ?2")
            .and_then(|mut s| {
                s.query_row(params![step.job_id, o.seller], |_| Ok(()))
                    .optional()
            })
            .map_err(map_err)?;
        return Err(match exists {
            Some(()) => StoreError::Stale,
            None => StoreError::NotFound,
        });
    }
    Ok(())
}

/// One `import_results` row per outcome; a written row records its product's id.
fn record_outcomes(c: &Connection, step: &ImportStep, products: &[i64]) -> Result<()> {
    for (n, (sku, outcome)) in step.outcomes.iter().enumerate() {
        let (product, errors) = match outcome {
            RowOutcome::Written { product } => {
                let id = products.get(*product).copied().ok_or_else(|| {
                    StoreError::Other(format!(
                        "import row {} names product write {product}, which the change lacks",
                        step.from as usize + n
                    ))
                })?;
                (Some(id), None)
            }
            RowOutcome::Failed { reasons } => (
                None,
                Some(serde_json::to_string(reasons).map_err(|e| StoreError::Other(e.to_string()))?),
            ),
        };
        c.prepare_cached(
            "INSERT INTO import_results (job_id, row, sku, product_id, errors)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                step.job_id,
                i64::from(step.from) + n as i64,
                sku,
                product,
                errors
            ])
        })
        .map_err(map_err)?;
    }
    Ok(())
}

/// One chunk of a bulk load: plain inserts of simple products with their stock.
pub(super) fn insert_bulk(
    c: &Connection,
    scope: &Scope,
    products: &[(String, ProductFields)],
    now: Timestamp,
) -> Result<u64> {
    let o = owner_of(c, scope)?;
    for (sku, fields) in products {
        let row = ProductRow {
            sku,
            kind: ProductKind::Simple,
            fields,
            brand: None,
            maker: None,
        };
        insert_product(c, &o, &row, now)?;
    }
    Ok(products.len() as u64)
}
