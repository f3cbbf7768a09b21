//! Catalog reads: whole products (columns, body, stock and links in one statement),
//! listings and counts under a [`ProductFilter`], the entities products link to.
//!
//! Listings are built per filter and planned with their values (never a cached
//! generic plan): how selective a name pattern is decides between the trigram index
//! and an ordered walk of a seller's index, and only the value tells. A name search
//! on one seller's catalog first looks through the start of the seller's listing
//! ([`super::search`]), and comes here when that does not answer it.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;
use entreposto_domain::*;
use entreposto_store::catalog_json::{decode_body, kind_from_name, stock_status_from_code};
use entreposto_store::*;
use tokio_postgres::Row;

use super::{contains_pattern, search};
use crate::{map_err, Params};

/// A product's columns (`p`, a row of `products`) with its stock by location and its
/// category and collection ids by position, aggregated by the laterals of
/// [`products_sql`].
const PRODUCT_COLS: &str = "p.id, p.operator_id, p.seller_id, p.sku, p.kind, p.price_list, \
    p.price_value, p.price_expires_at, p.brand_id, p.manufacturer_id, p.version, p.created_at, \
    p.updated_at, p.body, s.loc, s.loc_name, s.qty, s.min, s.status, c.ids, k.ids";

const PRODUCT_LINKS: &str = "
    CROSS JOIN LATERAL (SELECT array_agg(location_id ORDER BY location_id) AS loc,
        array_agg(location_name ORDER BY location_id) AS loc_name,
        array_agg(quantity ORDER BY location_id) AS qty,
        array_agg(minimum ORDER BY location_id) AS min,
        array_agg(status ORDER BY location_id) AS status
        FROM product_stock WHERE product_id = p.id) s
    CROSS JOIN LATERAL (SELECT array_agg(category_id ORDER BY position) AS ids
        FROM product_categories WHERE product_id = p.id) c
    CROSS JOIN LATERAL (SELECT array_agg(collection_id ORDER BY position) AS ids
        FROM product_collections WHERE product_id = p.id) k";

/// Whole products for the rows `inner` selects (a query yielding `products` rows; its
/// own order and limit pick the page), in `order` (over `p`).
pub(super) fn products_sql(inner: &str, order: &str) -> String {
    format!("SELECT {PRODUCT_COLS} FROM ({inner}) p{PRODUCT_LINKS} ORDER BY {order}")
}

pub(super) fn product_from_row(r: &Row) -> Result<Product> {
    let id: i64 = r.get(0);
    let corrupt = |e: String| StoreError::Other(format!("product {id}: {e}"));
    let mut fields = decode_body(r.get(13)).map_err(corrupt)?;
    let kind = kind_from_name(r.get(4)).map_err(corrupt)?;
    fields.price = match (r.get::<_, Option<i64>>(5), r.get::<_, Option<i64>>(6)) {
        (Some(list), Some(value)) => Some(Price {
            list: Cents(list),
            value: Cents(value),
            expires_at: r.get::<_, Option<i64>>(7).map(Timestamp),
        }),
        _ => None,
    };
    let locations: Vec<i64> = r.get::<_, Option<_>>(14).unwrap_or_default();
    let names: Vec<Option<String>> = r.get::<_, Option<_>>(15).unwrap_or_default();
    let quantities: Vec<i64> = r.get::<_, Option<_>>(16).unwrap_or_default();
    let minimums: Vec<i64> = r.get::<_, Option<_>>(17).unwrap_or_default();
    let statuses: Vec<Option<i64>> = r.get::<_, Option<_>>(18).unwrap_or_default();
    fields.stock = Vec::with_capacity(locations.len());
    for (i, ((location, name), status)) in
        locations.into_iter().zip(names).zip(statuses).enumerate()
    {
        fields.stock.push(StockLevel {
            location: Location { id: location, name },
            quantity: quantities[i],
            minimum: minimums[i],
            status: stock_status_from_code(status).map_err(corrupt)?,
        });
    }
    Ok(Product {
        id,
        operator_id: r.get(1),
        seller_id: r.get(2),
        version: r.get(10),
        created_at: Timestamp(r.get(11)),
        updated_at: Timestamp(r.get(12)),
        data: ProductData {
            sku: r.get(3),
            kind,
            fields,
            category_ids: r.get::<_, Option<_>>(19).unwrap_or_default(),
            brand_id: r.get(8),
            manufacturer_id: r.get(9),
            collection_ids: r.get::<_, Option<_>>(20).unwrap_or_default(),
        },
    })
}

/// The scope as conditions over `alias`, for statements cached per connection: the
/// seller's condition is in the text only when there is one (no `$n IS NULL OR`, which
/// would hide the seller from the planner).
fn cached_scope(scope: &Scope, alias: &str, first: usize) -> String {
    let mut s = format!("{alias}operator_id = ${first}");
    if scope.seller_id.is_some() {
        s.push_str(&format!(" AND {alias}seller_id = ${}", first + 1));
    }
    s
}

/// The scope's values for [`cached_scope`].
fn scope_values(scope: &Scope) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    let mut v: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&scope.operator_id];
    if let Some(s) = &scope.seller_id {
        v.push(s);
    }
    v
}

/// Products named by any of `keys` (ids, SKUs and external ids at once), by id.
pub(super) async fn find_products(
    c: &impl GenericClient,
    scope: &Scope,
    keys: &[ProductKey],
) -> Result<Vec<Product>> {
    let (mut ids, mut skus, mut externals) = (Vec::new(), Vec::new(), Vec::new());
    for k in keys {
        match k {
            ProductKey::Id(id) => ids.push(*id),
            ProductKey::Sku(s) => skus.push(s.as_str()),
            ProductKey::ExternalId(e) => externals.push(e.as_str()),
        }
    }
    // Each key kind is looked up through its own index, whatever the planner thinks of
    // the scope, and the ids found are collected first (`= ANY(ARRAY(...))`, an init
    // plan) and then read by primary key, the scope checked on the rows read (`OFFSET
    // 0` keeps the planner from taking the scope's index for them). Statistics that
    // undercount a seller's products (a catalog growing in an import, with autovacuum
    // behind) otherwise make the planner walk the seller's whole id index and match
    // each entry against the keys: an `OR` of the three keys, an `IN (...)` join and a
    // scope beside the ids did that, at 100 ms and more a lookup of 250 SKUs in a
    // catalog of 100,000.
    let owner = if scope.seller_id.is_some() {
        "seller_id = $5"
    } else {
        "operator_id = $4"
    };
    let inner = format!(
        "SELECT q.* FROM (SELECT * FROM products WHERE id = ANY(ARRAY(
           SELECT unnest($1::bigint[])
           UNION SELECT x.id FROM products x WHERE x.{owner} AND x.sku = ANY($2::text[])
           UNION SELECT x.id FROM products x
             WHERE x.{owner} AND x.external_id = ANY($3::text[]))) OFFSET 0) q
         WHERE {}",
        cached_scope(scope, "q.", 4)
    );
    let stmt = c
        .prepare_cached(&products_sql(&inner, "p.id"))
        .await
        .map_err(map_err)?;
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&ids, &skus, &externals];
    params.extend(scope_values(scope));
    let rows = c.query(&stmt, &params).await.map_err(map_err)?;
    rows.iter().map(product_from_row).collect()
}

/// Whole products by id in `scope`, in the order of `ids` (ids missing are left out).
pub(super) async fn products_by_ids(
    c: &impl GenericClient,
    scope: &Scope,
    ids: &[i64],
) -> Result<Vec<Product>> {
    let keys: Vec<ProductKey> = ids.iter().map(|&id| ProductKey::Id(id)).collect();
    let found = find_products(c, scope, &keys).await?;
    let mut by_id: HashMap<i64, Product> = found.into_iter().map(|p| (p.id, p)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The conditions of a product filter over `q` (a row of `products`), scope included.
fn filter_sql(scope: &Scope, f: &ProductFilter, p: &mut Params) -> String {
    let scoped = p.scope(scope, "q.");
    format!("TRUE{scoped}{}", conditions(scope, f, p))
}

/// The filter's own conditions over `q`, each as ` AND ...`, without the scope of `q`
/// itself (the entities they name are read in `scope`).
pub(super) fn conditions(scope: &Scope, f: &ProductFilter, p: &mut Params) -> String {
    let mut w = String::new();
    if let Some(k) = f.kind {
        w.push_str(&format!(" AND q.kind = {}", p.push(k.as_str())));
    }
    if let Some(n) = &f.name {
        w.push_str(&format!(
            " AND q.name_key LIKE {}",
            p.push(contains_pattern(n))
        ));
    }
    if let Some(b) = &f.brand {
        let pattern = p.push(contains_pattern(b));
        let s = p.scope(scope, "b.");
        w.push_str(&format!(
            " AND q.brand_id IN (SELECT b.id FROM brands b WHERE b.name_key LIKE {pattern}{s})"
        ));
    }
    if let Some(s) = &f.sku {
        w.push_str(&format!(" AND q.sku = {}", p.push(s.clone())));
    }
    if let Some(e) = &f.external_id {
        w.push_str(&format!(" AND q.external_id = {}", p.push(e.clone())));
    }
    if let Some(n) = &f.category_name {
        let pattern = p.push(contains_pattern(n));
        let s = p.scope(scope, "c.");
        w.push_str(&format!(
            " AND q.id IN (SELECT pc.product_id FROM product_categories pc
              JOIN categories c ON c.id = pc.category_id WHERE c.name_key LIKE {pattern}{s})"
        ));
    }
    if let Some(slug) = &f.category_slug {
        let slug = p.push(slug.clone());
        let s = p.scope(scope, "c.");
        w.push_str(&format!(
            " AND q.id IN (SELECT pc.product_id FROM product_categories pc
              JOIN categories c ON c.id = pc.category_id WHERE c.slug = {slug}{s})"
        ));
    }
    if let Some(u) = &f.url {
        w.push_str(&format!(" AND q.seo_url = {}", p.push(u.clone())));
    }
    if let Some(id) = f.collection_id {
        w.push_str(&format!(
            " AND q.id IN (SELECT product_id FROM product_collections WHERE collection_id = {})",
            p.push(id)
        ));
    }
    if let Some(n) = &f.collection_name {
        let pattern = p.push(contains_pattern(n));
        let s = p.scope(scope, "k.");
        w.push_str(&format!(
            " AND q.id IN (SELECT pk.product_id FROM product_collections pk
              JOIN collections k ON k.id = pk.collection_id WHERE k.name_key LIKE {pattern}{s})"
        ));
    }
    for (op, bound) in [
        ("<", f.price_lt),
        ("<=", f.price_lte),
        (">", f.price_gt),
        (">=", f.price_gte),
    ] {
        if let Some(b) = bound {
            w.push_str(&format!(" AND q.price_value {op} {}", p.push(b.0)));
        }
    }
    w
}

/// `ORDER BY` of a listing over `alias`, ties by id in the sort's direction (so one
/// index serves each order both ways).
pub(super) fn order_sql(order: ProductOrder, alias: &str) -> String {
    match order {
        ProductOrder::Id => format!("{alias}id"),
        ProductOrder::NameAsc => format!("{alias}name_key, {alias}id"),
        ProductOrder::NameDesc => format!("{alias}name_key DESC, {alias}id DESC"),
        // No price sorts as the cheapest, as on SQLite (and the index keeps it so).
        ProductOrder::PriceAsc => format!("{alias}price_value NULLS FIRST, {alias}id"),
        ProductOrder::PriceDesc => format!("{alias}price_value DESC NULLS LAST, {alias}id DESC"),
    }
}

/// A listing's statement: the page picked from `products` alone, then its stock and
/// links read for the page's rows only.
pub(super) fn list_sql(scope: &Scope, f: &ProductFilter) -> (String, Params) {
    let mut p = Params::default();
    let w = filter_sql(scope, f, &mut p);
    let limit = p.push(i64::from(f.limit));
    let offset = p.push(f.offset.min(i64::MAX as u64) as i64);
    let order = order_sql(f.order, "q.");
    // A seller's name search gets here when the window at the start of the listing
    // held too few matches (`search::page_from_window`): a rare word, or one whose
    // matches lie further on. Its matches are collected first (the trigram index) and
    // then sorted: walked in the listing's order instead, as the planner's guess of a
    // trigram match's frequency (a hundred times too high for a part of a reference
    // number) has it do, the scan reads the listing up to the first matches, 250 ms
    // for one in the middle of a catalog of 1,000,000.
    let inner = if f.name.is_some() && scope.seller_id.is_some() {
        format!(
            "WITH m AS MATERIALIZED (SELECT q.* FROM products q WHERE {w})
             SELECT q.* FROM m q ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        )
    } else {
        format!(
            "SELECT q.* FROM products q WHERE {w} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        )
    };
    (products_sql(&inner, &order_sql(f.order, "p.")), p)
}

pub(super) fn count_sql(scope: &Scope, f: &ProductFilter) -> (String, Params) {
    let mut p = Params::default();
    let w = filter_sql(scope, f, &mut p);
    // A name search counts at most one past the cap (see `NAME_COUNT_CAP`).
    if f.name.is_some() {
        let cap = NAME_COUNT_CAP + 1;
        return (
            format!("SELECT COUNT(*) FROM (SELECT 1 FROM products q WHERE {w} LIMIT {cap}) s"),
            p,
        );
    }
    (format!("SELECT COUNT(*) FROM products q WHERE {w}"), p)
}

pub(super) async fn list_products(
    c: &impl GenericClient,
    scope: &Scope,
    f: &ProductFilter,
) -> Result<Vec<Product>> {
    if let Some(page) = search::page_from_window(c, scope, f).await? {
        return Ok(page);
    }
    let (sql, p) = list_sql(scope, f);
    let rows = c.query(&sql, &p.refs()).await.map_err(map_err)?;
    rows.iter().map(product_from_row).collect()
}

pub(super) async fn count_products(
    c: &impl GenericClient,
    scope: &Scope,
    f: &ProductFilter,
) -> Result<u64> {
    if let Some(n) = search::count_from_window(c, scope, f).await? {
        return Ok(n);
    }
    let (sql, p) = count_sql(scope, f);
    let row = c.query_one(&sql, &p.refs()).await.map_err(map_err)?;
    Ok(row.get::<_, i64>(0) as u64)
}

pub(super) async fn containers_of(
    c: &impl GenericClient,
    scope: &Scope,
    skus: &[String],
) -> Result<Vec<(String, String, ProductKind)>> {
    let sql = format!(
        "SELECT pp.part_sku, q.sku, q.kind FROM product_parts pp
         JOIN products q ON q.id = pp.product_id
         WHERE pp.part_sku = ANY($1) AND {}{}
         ORDER BY pp.part_sku, q.sku",
        cached_scope(scope, "q.", 2),
        if scope.seller_id.is_some() {
            " AND pp.seller_id = $3"
        } else {
            ""
        }
    );
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&skus];
    params.extend(scope_values(scope));
    let rows = c.query(&stmt, &params).await.map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let kind = kind_from_name(r.get(2)).map_err(StoreError::Other)?;
            Ok((r.get(0), r.get(1), kind))
        })
        .collect()
}

/// How one kind of entity is read.
pub(super) struct Entity<T> {
    table: &'static str,
    cols: &'static str,
    decode: fn(&Row) -> T,
}

pub(super) const CATEGORIES: Entity<Category> = Entity {
    table: "categories",
    cols: "id, seller_id, parent_id, name, description, slug, keywords, image_source, external_id",
    decode: |r| Category {
        id: r.get(0),
        seller_id: r.get(1),
        parent_id: r.get(2),
        name: r.get(3),
        description: r.get(4),
        slug: r.get(5),
        keywords: r.get(6),
        image_source: r.get(7),
        external_id: r.get(8),
    },
};

pub(super) const BRANDS: Entity<Brand> = Entity {
    table: "brands",
    cols: "id, seller_id, name, external_id, image_source, manufacturer_id",
    decode: |r| Brand {
        id: r.get(0),
        seller_id: r.get(1),
        name: r.get(2),
        external_id: r.get(3),
        image_source: r.get(4),
        manufacturer_id: r.get(5),
    },
};

pub(super) const MANUFACTURERS: Entity<Manufacturer> = Entity {
    table: "manufacturers",
    cols: "id, seller_id, name, external_id, image_source",
    decode: |r| Manufacturer {
        id: r.get(0),
        seller_id: r.get(1),
        name: r.get(2),
        external_id: r.get(3),
        image_source: r.get(4),
    },
};

pub(super) const COLLECTIONS: Entity<Collection> = Entity {
    table: "collections",
    cols: "id, seller_id, name, external_id",
    decode: |r| Collection {
        id: r.get(0),
        seller_id: r.get(1),
        name: r.get(2),
        external_id: r.get(3),
    },
};

/// Entities of the scope matching `f` (and with one of `ids`, when given), by id.
pub(super) async fn list_entities<T>(
    c: &impl GenericClient,
    e: &Entity<T>,
    scope: &Scope,
    f: &EntityFilter,
    ids: Option<Vec<i64>>,
) -> Result<Vec<T>> {
    let mut p = Params::default();
    let mut sql = format!(
        "SELECT {} FROM {} WHERE TRUE{}",
        e.cols,
        e.table,
        p.scope(scope, "")
    );
    if let Some(ids) = ids {
        sql.push_str(&format!(" AND id = ANY({})", p.push(ids)));
    }
    if let Some(id) = f.id {
        sql.push_str(&format!(" AND id = {}", p.push(id)));
    }
    if let Some(x) = &f.external_id {
        sql.push_str(&format!(" AND external_id = {}", p.push(x.clone())));
    }
    if let Some(n) = &f.name {
        sql.push_str(&format!(
            " AND name_key LIKE {}",
            p.push(contains_pattern(n))
        ));
    }
    sql.push_str(" ORDER BY id");
    let rows = c.query(&sql, &p.refs()).await.map_err(map_err)?;
    Ok(rows.iter().map(e.decode).collect())
}

pub(super) async fn find_sibling_category(
    c: &impl GenericClient,
    scope: &Scope,
    parent: Option<i64>,
    folded_name: &str,
) -> Result<Option<Category>> {
    // COALESCE(parent_id, 0) as the unique index has it, so the index finds it.
    let sql = format!(
        "SELECT {} FROM categories WHERE COALESCE(parent_id, 0) = $1 AND name_key = $2 AND {}
         ORDER BY id LIMIT 1",
        CATEGORIES.cols,
        cached_scope(scope, "", 3)
    );
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let parent = parent.unwrap_or(0);
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&parent, &folded_name];
    params.extend(scope_values(scope));
    let row = c.query_opt(&stmt, &params).await.map_err(map_err)?;
    Ok(row.as_ref().map(CATEGORIES.decode))
}

pub(super) async fn links_of(
    c: &impl GenericClient,
    scope: &Scope,
    products: &[Product],
) -> Result<CatalogLinks> {
    let (mut categories, mut brands, mut manufacturers, mut collections) = (
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
    );
    for p in products {
        categories.extend(p.data.category_ids.iter().copied());
        brands.extend(p.data.brand_id);
        manufacturers.extend(p.data.manufacturer_id);
        collections.extend(p.data.collection_ids.iter().copied());
    }
    let all = EntityFilter::default();
    let ids = |s: HashSet<i64>| (!s.is_empty()).then(|| s.into_iter().collect::<Vec<_>>());
    // Pipelined on the one connection: four statements, one wait.
    let (categories, brands, manufacturers, collections) = futures::try_join!(
        maybe(ids(categories), |ids| list_entities(
            c,
            &CATEGORIES,
            scope,
            &all,
            Some(ids)
        )),
        maybe(ids(brands), |ids| list_entities(
            c,
            &BRANDS,
            scope,
            &all,
            Some(ids)
        )),
        maybe(ids(manufacturers), |ids| list_entities(
            c,
            &MANUFACTURERS,
            scope,
            &all,
            Some(ids)
        )),
        maybe(ids(collections), |ids| list_entities(
            c,
            &COLLECTIONS,
            scope,
            &all,
            Some(ids)
        )),
    )?;
    Ok(CatalogLinks {
        categories,
        brands,
        manufacturers,
        collections,
    })
}

/// Runs `read` when there are ids to read, else yields nothing without a round trip.
async fn maybe<T, F, Fut>(ids: Option<Vec<i64>>, read: F) -> Result<Vec<T>>
where
    F: FnOnce(Vec<i64>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    match ids {
        Some(ids) => read(ids).await,
        None => Ok(Vec::new()),
    }
}
