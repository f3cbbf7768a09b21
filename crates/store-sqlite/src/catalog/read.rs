//! Catalog reads: products assembled from their row and child tables, the listing's
//! filters and orders as SQL, and the entities products link to.

use std::collections::{HashMap, HashSet};

use entreposto_domain::*;
use entreposto_store::catalog_json::{decode_body, kind_from_name, stock_status_from_code};
use entreposto_store::*;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};

use super::{corrupt, in_list, owner_sql, scope_sql, CHUNK};
use crate::map_err;

/// The columns [`product_from_row`] reads, on alias `p`.
pub(super) const PRODUCT_COLS: &str = "p.id, p.operator_id, p.seller_id, p.sku, p.kind, \
     p.price_list, p.price_value, p.price_expires_at, p.brand_id, p.manufacturer_id, \
     p.version, p.created_at, p.updated_at, p.body";

/// A product from its row, without its stock and links (see [`fill`]).
pub(super) fn product_from_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    let kind = kind_from_name(r.get_ref(4)?.as_str()?).map_err(|e| corrupt(4, e))?;
    let mut fields = decode_body(r.get_ref(13)?.as_str()?).map_err(|e| corrupt(13, e))?;
    fields.price = match (r.get::<_, Option<i64>>(5)?, r.get::<_, Option<i64>>(6)?) {
        (Some(list), Some(value)) => Some(Price {
            list: Cents(list),
            value: Cents(value),
            expires_at: r.get::<_, Option<i64>>(7)?.map(Timestamp),
        }),
        _ => None,
    };
    Ok(Product {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        seller_id: r.get(2)?,
        version: r.get(10)?,
        created_at: Timestamp(r.get(11)?),
        updated_at: Timestamp(r.get(12)?),
        data: ProductData {
            sku: r.get(3)?,
            kind,
            fields,
            category_ids: Vec::new(),
            brand_id: r.get(8)?,
            manufacturer_id: r.get(9)?,
            collection_ids: Vec::new(),
        },
    })
}

/// Runs a product query and fills in what its rows lack.
fn query_products(c: &Connection, sql: &str, params: Vec<Value>) -> Result<Vec<Product>> {
    let mut s = c.prepare_cached(sql).map_err(map_err)?;
    let rows = s
        .query_map(params_from_iter(params), product_from_row)
        .map_err(map_err)?;
    let mut products = rows
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_err)?;
    fill(c, &mut products)?;
    Ok(products)
}

/// Reads the stock levels, categories and collections of `products` from their child
/// tables: one statement per table for each chunk of products.
pub(super) fn fill(c: &Connection, products: &mut [Product]) -> Result<()> {
    let at: HashMap<i64, usize> = products
        .iter()
        .enumerate()
        .map(|(n, p)| (p.id, n))
        .collect();
    let ids: Vec<Value> = products.iter().map(|p| Value::Integer(p.id)).collect();
    for chunk in ids.chunks(CHUNK) {
        let mut params = Vec::new();
        let list = in_list(chunk, &mut params);
        let sql = format!(
            "SELECT product_id, location_id, location_name, quantity, minimum, status
             FROM product_stock WHERE product_id IN ({list}) ORDER BY product_id, location_id"
        );
        let mut s = c.prepare_cached(&sql).map_err(map_err)?;
        let mut rows = s.query(params_from_iter(&params)).map_err(map_err)?;
        while let Some(r) = rows.next().map_err(map_err)? {
            let id: i64 = r.get(0).map_err(map_err)?;
            let status = stock_status_from_code(r.get(5).map_err(map_err)?)
                .map_err(|e| map_err(corrupt(5, e)))?;
            let level = StockLevel {
                location: Location {
                    id: r.get(1).map_err(map_err)?,
                    name: r.get(2).map_err(map_err)?,
                },
                quantity: r.get(3).map_err(map_err)?,
                minimum: r.get(4).map_err(map_err)?,
                status,
            };
            if let Some(&n) = at.get(&id) {
                products[n].data.fields.stock.push(level);
            }
        }
        for (table, column) in [
            ("product_categories", "category_id"),
            ("product_collections", "collection_id"),
        ] {
            let sql = format!(
                "SELECT product_id, {column} FROM {table} WHERE product_id IN ({list})
                 ORDER BY product_id, position"
            );
            let mut s = c.prepare_cached(&sql).map_err(map_err)?;
            let mut rows = s.query(params_from_iter(&params)).map_err(map_err)?;
            while let Some(r) = rows.next().map_err(map_err)? {
                let id: i64 = r.get(0).map_err(map_err)?;
                let linked: i64 = r.get(1).map_err(map_err)?;
                if let Some(&n) = at.get(&id) {
                    let data = &mut products[n].data;
                    match table {
                        "product_categories" => data.category_ids.push(linked),
                        _ => data.collection_ids.push(linked),
                    }
                }
            }
        }
    }
    Ok(())
}

pub(super) fn get_product(c: &Connection, scope: &Scope, key: &ProductKey) -> Result<Product> {
    let (column, value) = match key {
        ProductKey::Id(id) => ("id", Value::Integer(*id)),
        ProductKey::Sku(s) => ("sku", Value::Text(s.clone())),
        ProductKey::ExternalId(e) => ("external_id", Value::Text(e.clone())),
    };
    let mut params = vec![value];
    let sql = format!(
        "SELECT {PRODUCT_COLS} FROM products p WHERE p.{column} = ?{}",
        scope_sql(scope, "p.", &mut params)
    );
    query_products(c, &sql, params)?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// The products named by `keys`, each once: one statement per kind of key and chunk.
pub(super) fn find_products(
    c: &Connection,
    scope: &Scope,
    keys: &[ProductKey],
) -> Result<Vec<Product>> {
    let mut by: [(&str, Vec<Value>); 3] = [
        ("id", Vec::new()),
        ("sku", Vec::new()),
        ("external_id", Vec::new()),
    ];
    for key in keys {
        match key {
            ProductKey::Id(id) => by[0].1.push(Value::Integer(*id)),
            ProductKey::Sku(s) => by[1].1.push(Value::Text(s.clone())),
            ProductKey::ExternalId(e) => by[2].1.push(Value::Text(e.clone())),
        }
    }
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for (column, values) in &by {
        for chunk in values.chunks(CHUNK) {
            let mut params = Vec::new();
            let list = in_list(chunk, &mut params);
            let sql = format!(
                "SELECT {PRODUCT_COLS} FROM products p WHERE p.{column} IN ({list}){}",
                scope_sql(scope, "p.", &mut params)
            );
            let mut s = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = s
                .query_map(params_from_iter(params), product_from_row)
                .map_err(map_err)?;
            for p in rows {
                let p = p.map_err(map_err)?;
                if seen.insert(p.id) {
                    found.push(p);
                }
            }
        }
    }
    fill(c, &mut found)?;
    Ok(found)
}

/// Folded text shorter than this is searched without the trigram index (which needs
/// three characters to look anything up).
const TRIGRAM: usize = 3;

/// Whether the listing runs from the name index: the index, cross-joined to
/// `products` (so SQLite reads the index first and in id order, never the seller's
/// whole index first), finds the page without counting every match.
/// A key (SKU, external id, URL) finds its row directly: then the name is only tested
/// on that row.
fn name_joined(f: &ProductFilter) -> bool {
    let keyed = f.sku.is_some() || f.external_id.is_some() || f.url.is_some();
    !keyed
        && f.name
            .as_ref()
            .is_some_and(|n| n.chars().count() >= TRIGRAM)
}

/// The listing's `FROM`: `products p`, or the name index `f` driving it.
fn from_sql(f: &ProductFilter) -> &'static str {
    if name_joined(f) {
        "product_names f CROSS JOIN products p ON p.id = f.rowid"
    } else {
        "products p"
    }
}

/// `WHERE` conditions of a product listing on alias `p`, scope included.
///
/// With no statistics (the schema runs no `ANALYZE`) SQLite takes `seller_id = ?` for
/// a few rows and walks the seller's whole index, probing the set of ids a name,
/// category or collection condition makes: 20 ms on 100,000 products for a name that
/// matches nothing. When such a set is there and no key (SKU, external id, URL) finds
/// the row directly, the owner column is written `+p.seller_id`, which no index
/// serves, so the set drives: a rare name is then a millisecond.
fn filter_sql(scope: &Scope, f: &ProductFilter, params: &mut Vec<Value>) -> String {
    let id_set = f.category_name.is_some()
        || f.category_slug.is_some()
        || f.collection_id.is_some()
        || f.collection_name.is_some();
    let keyed = f.sku.is_some() || f.external_id.is_some() || f.url.is_some();
    let alias = if id_set && !keyed { "+p." } else { "p." };
    let mut sql = scope_sql(scope, alias, params);
    let mut push = |clause: &str, values: Vec<Value>, sql: &mut String| {
        params.extend(values);
        sql.push_str(clause);
    };
    let text = |s: &String| Value::Text(s.clone());
    if let Some(k) = f.kind {
        push(
            " AND p.kind = ?",
            vec![Value::Text(k.as_str().into())],
            &mut sql,
        );
    }
    if let Some(name) = &f.name {
        // Three characters or more: a phrase of the name's trigrams in the index, which
        // keeps their positions (`detail = 'full'`), so a match is exact containment
        // with no look at the row; the index drives the statement ([`from_sql`]).
        // Shorter text has no trigram: `instr` on each of the scope's rows.
        if name_joined(f) {
            push(
                " AND f.product_names MATCH ?",
                vec![Value::Text(format!("\"{}\"", name.replace('"', "\"\"")))],
                &mut sql,
            );
        } else {
            push(" AND instr(p.name_key, ?) > 0", vec![text(name)], &mut sql);
        }
    }
    if let Some(sku) = &f.sku {
        push(" AND p.sku = ?", vec![text(sku)], &mut sql);
    }
    if let Some(e) = &f.external_id {
        push(" AND p.external_id = ?", vec![text(e)], &mut sql);
    }
    if let Some(u) = &f.url {
        push(" AND p.seo_url = ?", vec![text(u)], &mut sql);
    }
    for (op, bound) in [
        ("<", f.price_lt),
        ("<=", f.price_lte),
        (">", f.price_gt),
        (">=", f.price_gte),
    ] {
        if let Some(b) = bound {
            push(
                &format!(" AND p.price_value {op} ?"),
                vec![Value::Integer(b.0)],
                &mut sql,
            );
        }
    }
    if let Some(c) = f.collection_id {
        push(
            " AND p.id IN (SELECT product_id FROM product_collections WHERE collection_id = ?)",
            vec![Value::Integer(c)],
            &mut sql,
        );
    }
    // Conditions on linked entities: the entity's rows of the scope's owner first.
    let mut linked = |sql: &mut String, clause: &str, value: &String| {
        let mut p = Vec::new();
        let owner = owner_sql(scope, "e.", &mut p);
        p.push(text(value));
        params.extend(p);
        sql.push_str(&clause.replace("{owner}", &owner));
    };
    if let Some(b) = &f.brand {
        linked(
            &mut sql,
            " AND p.brand_id IN (SELECT e.id FROM brands e WHERE {owner} AND instr(e.name_key, ?) > 0)",
            b,
        );
    }
    if let Some(n) = &f.category_name {
        linked(
            &mut sql,
            " AND p.id IN (SELECT l.product_id FROM categories e
               JOIN product_categories l ON l.category_id = e.id
               WHERE {owner} AND instr(e.name_key, ?) > 0)",
            n,
        );
    }
    if let Some(s) = &f.category_slug {
        linked(
            &mut sql,
            " AND p.id IN (SELECT l.product_id FROM categories e
               JOIN product_categories l ON l.category_id = e.id WHERE {owner} AND e.slug = ?)",
            s,
        );
    }
    if let Some(n) = &f.collection_name {
        linked(
            &mut sql,
            " AND p.id IN (SELECT l.product_id FROM collections e
               JOIN product_collections l ON l.collection_id = e.id
               WHERE {owner} AND instr(e.name_key, ?) > 0)",
            n,
        );
    }
    sql
}

/// The listing's `ORDER BY`: ties by id in the order's direction, which every index
/// of the order (ending in the rowid) gives when read either way. A missing price is
/// NULL, which SQLite sorts first: the cheapest.
fn order_sql(order: ProductOrder) -> &'static str {
    match order {
        ProductOrder::Id => "p.id",
        ProductOrder::NameAsc => "p.name_key, p.id",
        ProductOrder::NameDesc => "p.name_key DESC, p.id DESC",
        ProductOrder::PriceAsc => "p.price_value, p.id",
        ProductOrder::PriceDesc => "p.price_value DESC, p.id DESC",
    }
}

pub(super) fn list_products(
    c: &Connection,
    scope: &Scope,
    f: &ProductFilter,
) -> Result<Vec<Product>> {
    let (sql, params) = list_sql(scope, f);
    query_products(c, &sql, params)
}

/// The listing's statement and parameters.
fn list_sql(scope: &Scope, f: &ProductFilter) -> (String, Vec<Value>) {
    let mut params = Vec::new();
    let conditions = filter_sql(scope, f, &mut params);
    let from = from_sql(f);
    // From the name index, id order is the index's own (its rowid), so no sort.
    let inner = if name_joined(f) && f.order == ProductOrder::Id {
        "f.rowid"
    } else {
        order_sql(f.order)
    };
    let order = order_sql(f.order);
    params.push(Value::Integer(i64::from(f.limit)));
    let sql = if f.offset == 0 {
        format!(
            "SELECT {PRODUCT_COLS} FROM {from} WHERE 1 = 1{conditions} ORDER BY {inner} LIMIT ?"
        )
    } else {
        // The page's ids are picked first (often from an index alone), then only those
        // rows are read: the offset skips index entries, not whole bodies.
        params.push(Value::Integer(f.offset.min(i64::MAX as u64) as i64));
        format!(
            "SELECT {PRODUCT_COLS} FROM products p WHERE p.id IN (SELECT p.id FROM {from}
             WHERE 1 = 1{conditions} ORDER BY {inner} LIMIT ? OFFSET ?) ORDER BY {order}"
        )
    };
    (sql, params)
}

pub(super) fn count_products(c: &Connection, scope: &Scope, f: &ProductFilter) -> Result<u64> {
    let mut params = Vec::new();
    let conditions = filter_sql(scope, f, &mut params);
    // A name search counts at most one past the cap (see `NAME_COUNT_CAP`).
    let sql = if f.name.is_some() {
        format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE 1 = 1{conditions} LIMIT {})",
            from_sql(f),
            NAME_COUNT_CAP + 1
        )
    } else {
        format!("SELECT COUNT(*) FROM products p WHERE 1 = 1{conditions}")
    };
    let n: i64 = c
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params_from_iter(params), |r| r.get(0)))
        .map_err(map_err)?;
    Ok(n as u64)
}

pub(super) fn containers_of(
    c: &Connection,
    scope: &Scope,
    skus: &[String],
) -> Result<Vec<(String, String, ProductKind)>> {
    let skus: Vec<Value> = skus.iter().map(|s| Value::Text(s.clone())).collect();
    let mut found = Vec::new();
    for chunk in skus.chunks(CHUNK) {
        let mut params = Vec::new();
        let list = in_list(chunk, &mut params);
        // Parts are found through (seller_id, part_sku): for an operator, its sellers'.
        let owner = match &scope.seller_id {
            Some(s) => {
                params.push(Value::Text(s.clone()));
                "l.seller_id = ?"
            }
            None => {
                params.push(Value::Text(scope.operator_id.clone()));
                "l.seller_id IN (SELECT id FROM sellers WHERE operator_id = ?)"
            }
        };
        let sql = format!(
            "SELECT l.part_sku, p.sku, p.kind FROM product_parts l
             JOIN products p ON p.id = l.product_id
             WHERE l.part_sku IN ({list}) AND {owner}{}",
            scope_sql(scope, "p.", &mut params)
        );
        let mut s = c.prepare_cached(&sql).map_err(map_err)?;
        let mut rows = s.query(params_from_iter(params)).map_err(map_err)?;
        while let Some(r) = rows.next().map_err(map_err)? {
            let kind: String = r.get(2).map_err(map_err)?;
            let kind = kind_from_name(&kind).map_err(|e| map_err(corrupt(2, e)))?;
            found.push((r.get(0).map_err(map_err)?, r.get(1).map_err(map_err)?, kind));
        }
    }
    found.sort_by(|a: &(String, String, ProductKind), b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    found.dedup();
    Ok(found)
}

const CATEGORY_COLS: &str =
    "e.id, e.seller_id, e.parent_id, e.name, e.description, e.slug, e.keywords, e.image_source, e.external_id";

fn category_from_row(r: &Row<'_>) -> rusqlite::Result<Category> {
    Ok(Category {
        id: r.get(0)?,
        seller_id: r.get(1)?,
        parent_id: r.get(2)?,
        name: r.get(3)?,
        description: r.get(4)?,
        slug: r.get(5)?,
        keywords: r.get(6)?,
        image_source: r.get(7)?,
        external_id: r.get(8)?,
    })
}

const BRAND_COLS: &str =
    "e.id, e.seller_id, e.name, e.external_id, e.image_source, e.manufacturer_id";

fn brand_from_row(r: &Row<'_>) -> rusqlite::Result<Brand> {
    Ok(Brand {
        id: r.get(0)?,
        seller_id: r.get(1)?,
        name: r.get(2)?,
        external_id: r.get(3)?,
        image_source: r.get(4)?,
        manufacturer_id: r.get(5)?,
    })
}

const MANUFACTURER_COLS: &str = "e.id, e.seller_id, e.name, e.external_id, e.image_source";

fn manufacturer_from_row(r: &Row<'_>) -> rusqlite::Result<Manufacturer> {
    Ok(Manufacturer {
        id: r.get(0)?,
        seller_id: r.get(1)?,
        name: r.get(2)?,
        external_id: r.get(3)?,
        image_source: r.get(4)?,
    })
}

const COLLECTION_COLS: &str = "e.id, e.seller_id, e.name, e.external_id";

fn collection_from_row(r: &Row<'_>) -> rusqlite::Result<Collection> {
    Ok(Collection {
        id: r.get(0)?,
        seller_id: r.get(1)?,
        name: r.get(2)?,
        external_id: r.get(3)?,
    })
}

/// The scope's rows of one entity table (alias `e`) matching `f`, by id.
fn list_entities<T>(
    c: &Connection,
    scope: &Scope,
    f: &EntityFilter,
    table: &str,
    cols: &str,
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut params = Vec::new();
    let mut sql = format!(
        "SELECT {cols} FROM {table} e WHERE 1 = 1{}",
        scope_sql(scope, "e.", &mut params)
    );
    if let Some(id) = f.id {
        params.push(Value::Integer(id));
        sql.push_str(" AND e.id = ?");
    }
    if let Some(x) = &f.external_id {
        params.push(Value::Text(x.clone()));
        sql.push_str(" AND e.external_id = ?");
    }
    if let Some(n) = &f.name {
        params.push(Value::Text(n.clone()));
        sql.push_str(" AND instr(e.name_key, ?) > 0");
    }
    sql.push_str(" ORDER BY e.id");
    let mut s = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = s
        .query_map(params_from_iter(params), from_row)
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

pub(super) fn list_categories(
    c: &Connection,
    scope: &Scope,
    f: &EntityFilter,
) -> Result<Vec<Category>> {
    list_entities(c, scope, f, "categories", CATEGORY_COLS, category_from_row)
}

pub(super) fn list_brands(c: &Connection, scope: &Scope, f: &EntityFilter) -> Result<Vec<Brand>> {
    list_entities(c, scope, f, "brands", BRAND_COLS, brand_from_row)
}

pub(super) fn list_manufacturers(
    c: &Connection,
    scope: &Scope,
    f: &EntityFilter,
) -> Result<Vec<Manufacturer>> {
    list_entities(
        c,
        scope,
        f,
        "manufacturers",
        MANUFACTURER_COLS,
        manufacturer_from_row,
    )
}

pub(super) fn list_collections(
    c: &Connection,
    scope: &Scope,
    f: &EntityFilter,
) -> Result<Vec<Collection>> {
    list_entities(
        c,
        scope,
        f,
        "collections",
        COLLECTION_COLS,
        collection_from_row,
    )
}

pub(super) fn find_sibling_category(
    c: &Connection,
    scope: &Scope,
    parent: Option<i64>,
    folded_name: &str,
) -> Result<Option<Category>> {
    // `COALESCE(e.parent_id, 0)` as written in `categories_sibling_name`, so it serves.
    let mut params = vec![
        Value::Integer(parent.unwrap_or(0)),
        Value::Text(folded_name.into()),
    ];
    let sql = format!(
        "SELECT {CATEGORY_COLS} FROM categories e
         WHERE COALESCE(e.parent_id, 0) = ? AND e.name_key = ?{} ORDER BY e.id LIMIT 1",
        scope_sql(scope, "e.", &mut params)
    );
    c.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params_from_iter(params), category_from_row)
                .optional()
        })
        .map_err(map_err)
}

/// The ids a page of products links to, gathered before the read.
pub(super) struct LinkIds {
    categories: Vec<i64>,
    brands: Vec<i64>,
    manufacturers: Vec<i64>,
    collections: Vec<i64>,
}

impl LinkIds {
    pub(super) fn of(products: &[Product]) -> LinkIds {
        let sorted = |mut v: Vec<i64>| {
            v.sort_unstable();
            v.dedup();
            v
        };
        let d = || products.iter().map(|p| &p.data);
        LinkIds {
            categories: sorted(d().flat_map(|p| p.category_ids.iter().copied()).collect()),
            brands: sorted(d().filter_map(|p| p.brand_id).collect()),
            manufacturers: sorted(d().filter_map(|p| p.manufacturer_id).collect()),
            collections: sorted(d().flat_map(|p| p.collection_ids.iter().copied()).collect()),
        }
    }
}

/// The scope's rows of one entity table with these ids, by id.
fn entities_by_id<T>(
    c: &Connection,
    scope: &Scope,
    ids: &[i64],
    table: &str,
    cols: &str,
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let ids: Vec<Value> = ids.iter().map(|&id| Value::Integer(id)).collect();
    let mut all = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut params = Vec::new();
        let list = in_list(chunk, &mut params);
        let sql = format!(
            "SELECT {cols} FROM {table} e WHERE e.id IN ({list}){} ORDER BY e.id",
            scope_sql(scope, "e.", &mut params)
        );
        let mut s = c.prepare_cached(&sql).map_err(map_err)?;
        let rows = s
            .query_map(params_from_iter(params), from_row)
            .map_err(map_err)?;
        all.extend(
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?,
        );
    }
    Ok(all)
}

/// What `ids` link to, in scope; the manufacturers include those of the brands, which
/// a brand is shown with.
pub(super) fn links_of(c: &Connection, scope: &Scope, ids: &LinkIds) -> Result<CatalogLinks> {
    let brands = entities_by_id(c, scope, &ids.brands, "brands", BRAND_COLS, brand_from_row)?;
    let mut makers = ids.manufacturers.clone();
    makers.extend(brands.iter().filter_map(|b| b.manufacturer_id));
    makers.sort_unstable();
    makers.dedup();
    Ok(CatalogLinks {
        categories: entities_by_id(
            c,
            scope,
            &ids.categories,
            "categories",
            CATEGORY_COLS,
            category_from_row,
        )?,
        manufacturers: entities_by_id(
            c,
            scope,
            &makers,
            "manufacturers",
            MANUFACTURER_COLS,
            manufacturer_from_row,
        )?,
        collections: entities_by_id(
            c,
            scope,
            &ids.collections,
            "collections",
            COLLECTION_COLS,
            collection_from_row,
        )?,
        brands,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migrated empty database, for query plans.
    fn schema() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrate(&mut c).unwrap();
        c
    }

    /// The steps of SQLite's plan for the listing `f` of a seller.
    fn plan(f: ProductFilter) -> Vec<String> {
        let (sql, params) = list_sql(&Scope::seller("O", "S"), &f);
        schema()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(params_from_iter(params), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn page(f: ProductFilter) -> ProductFilter {
        ProductFilter { limit: 50, ..f }
    }

    /// Every order of an unfiltered listing reads an index in order and stops at the
    /// page: no sort of the seller's whole catalog.
    #[test]
    fn orders_read_an_index_without_sorting() {
        for (order, index) in [
            (ProductOrder::Id, "products_seller "),
            (ProductOrder::NameAsc, "products_seller_name"),
            (ProductOrder::NameDesc, "products_seller_name"),
            (ProductOrder::PriceAsc, "products_seller_price"),
            (ProductOrder::PriceDesc, "products_seller_price"),
        ] {
            let steps = plan(page(ProductFilter {
                order,
                ..Default::default()
            }));
            assert!(steps[0].contains(index), "{order:?}: {steps:?}");
            assert!(
                !steps.iter().any(|s| s.contains("TEMP B-TREE")),
                "{order:?}: {steps:?}"
            );
        }
    }

    /// A name of three characters or more is a phrase query on the trigram index,
    /// which drives the statement in id order (no sort, no look at other rows); a
    /// shorter one is tested on the seller's rows.
    #[test]
    fn a_name_is_found_through_the_trigram_index() {
        let steps = plan(page(ProductFilter {
            name: Some("camiseta".into()),
            ..Default::default()
        }));
        assert!(
            steps[0].starts_with("SCAN f VIRTUAL TABLE INDEX") && steps[0].contains(":M"),
            "{steps:?}"
        );
        assert!(
            steps.contains(&"SEARCH p USING INTEGER PRIMARY KEY (rowid=?)".to_string()),
            "{steps:?}"
        );
        assert!(
            !steps.iter().any(|s| s.contains("TEMP B-TREE")),
            "{steps:?}"
        );
        let short = plan(page(ProductFilter {
            name: Some("ca".into()),
            ..Default::default()
        }));
        assert!(
            !short.iter().any(|s| s.contains("product_names")),
            "{short:?}"
        );
    }

    /// A key finds its row through its unique index, whatever else is asked.
    #[test]
    fn keys_use_their_indexes() {
        for (f, index) in [
            (
                ProductFilter {
                    sku: Some("A".into()),
                    name: Some("camiseta".into()),
                    ..Default::default()
                },
                "products_sku",
            ),
            (
                ProductFilter {
                    external_id: Some("A".into()),
                    ..Default::default()
                },
                "products_external_id",
            ),
            (
                ProductFilter {
                    url: Some("a".into()),
                    ..Default::default()
                },
                "products_seller_url",
            ),
        ] {
            let steps = plan(page(f.clone()));
            assert!(steps[0].contains(index), "{f:?}: {steps:?}");
        }
    }
}
