//! Name searches on one seller's catalog, answered from the seller's own rows when the
//! word is common there. The trigram index is quick for a rare word, but for a common
//! one it reads every seller's matches (40,000 entries for a word in 1 name in 30 of
//! a million) before it returns any. The planner's other path, a walk of the primary
//! key, first passes every row of the sellers created before this one, since it takes
//! a seller's rows as spread evenly through the table. So a page first reads a window
//! at the start of the seller's listing along the seller's own index. The window is
//! a bounded number of rows, and the folded name is read from the index alone. When
//! the window holds the whole page, that is the exact page, because the window is
//! where the listing starts. A count first probes samples across the seller's id
//! range. When the probe finds the word common, the count walks on until it has
//! passed the cap. Otherwise, or when the window or the walk comes up short, the
//! general statement of [`super::read`] answers (for a rare word, through the
//! trigram index).

use deadpool_postgres::GenericClient;
use entreposto_domain::*;
use entreposto_store::*;

use super::read::{conditions, order_sql, product_from_row, products_sql};
use crate::{map_err, Params};

/// The seller's rows a count's probe reads, [`SLICES`] samples together.
const PROBE_ROWS: i64 = 2_000;
/// How many parts of the seller's id range a count samples and walks.
const SLICES: i64 = 10;
/// Matches in the probe from which a word counts as common: 1 in 100.
const PROBE_COMMON: i64 = 20;
/// The most ids a count of a common word walks, its [`SLICES`] parts together,
/// before it leaves the word to the trigram index: at 1 in 100, about the rows that
/// hold the cap's matches.
const COUNT_WINDOW: i64 = 100_000;
/// A page's window: this many rows for each one up to the page's end, within
/// bounds. The first page of 30 looks through 3,000 rows, enough for a word in 1
/// name in 100.
const PAGE_WINDOW_PER_ROW: i64 = 100;
const PAGE_WINDOW_MIN: i64 = 3_000;
const PAGE_WINDOW_MAX: i64 = 100_000;

/// The scope's seller, for a name search on one seller's catalog.
fn searched_seller<'s>(scope: &'s Scope, f: &ProductFilter) -> Option<&'s str> {
    f.name.as_ref()?;
    scope.seller_id.as_deref()
}

/// The seller's rows, over `q`, as a range that only one of the seller's indexes can
/// read in the listing's order. Given `seller_id = $s`, the planner drops the seller
/// from the order (a constant there) and, whenever the table must be read anyway,
/// walks the primary key instead, through the other sellers' rows first. The
/// seller must also be the operator's, or no row is.
fn seller_rows(scope: &Scope, seller: &str, p: &mut Params) -> String {
    let s = p.push(seller.to_string());
    let operator = p.push(scope.operator_id.clone());
    format!(
        "q.seller_id >= {s} AND q.seller_id <= {s}
         AND EXISTS (SELECT 1 FROM sellers o WHERE o.id = {s} AND o.operator_id = {operator})"
    )
}

/// The listing's order along the seller's index for it, the seller first.
fn window_order(order: ProductOrder) -> String {
    let seller = match order {
        ProductOrder::NameDesc | ProductOrder::PriceDesc => "q.seller_id DESC",
        ProductOrder::Id | ProductOrder::NameAsc | ProductOrder::PriceAsc => "q.seller_id",
    };
    format!("{seller}, {}", order_sql(order, "q."))
}

/// The first `rows` of the seller's listing in `order` (as rows `q`).
fn window(rows_sql: &str, order: &str, rows: i64) -> String {
    format!("(SELECT q.* FROM products q WHERE {rows_sql} ORDER BY {order} LIMIT {rows}) q")
}

/// The rows a page's window reads: enough for a word in 1 name in 100 to fill it.
fn page_window(f: &ProductFilter) -> i64 {
    let end = f.offset.saturating_add(u64::from(f.limit));
    let rows = i64::try_from(end).unwrap_or(i64::MAX);
    rows.saturating_mul(PAGE_WINDOW_PER_ROW)
        .clamp(PAGE_WINDOW_MIN, PAGE_WINDOW_MAX)
}

/// A page of a name search from the window at the start of the seller's listing,
/// when the window holds the whole page; `None` when the scope has no seller, the
/// filter no name, or the window too few matches.
pub(super) async fn page_from_window(
    c: &impl GenericClient,
    scope: &Scope,
    f: &ProductFilter,
) -> Result<Option<Vec<Product>>> {
    let Some(seller) = searched_seller(scope, f) else {
        return Ok(None);
    };
    let (sql, p) = page_sql(scope, seller, f);
    let rows = c.query(&sql, &p.refs()).await.map_err(map_err)?;
    if rows.len() < f.limit as usize {
        return Ok(None);
    }
    rows.iter()
        .map(product_from_row)
        .collect::<Result<_>>()
        .map(Some)
}

/// The page's statement: the window's rows that pass the filter, paged, then whole.
pub(super) fn page_sql(scope: &Scope, seller: &str, f: &ProductFilter) -> (String, Params) {
    let mut p = Params::default();
    let rows = seller_rows(scope, seller, &mut p);
    let w = conditions(scope, f, &mut p);
    let limit = p.push(i64::from(f.limit));
    let offset = p.push(f.offset.min(i64::MAX as u64) as i64);
    let order = window_order(f.order);
    let window = window(&rows, &order, page_window(f));
    // The page's ids from the window (read from the index alone when the filter is the
    // name only), then the page's rows by id.
    let inner = format!(
        "SELECT r.* FROM products r WHERE r.id IN (
           SELECT q.id FROM {window} WHERE TRUE{w} ORDER BY {order} LIMIT {limit} OFFSET {offset})"
    );
    (products_sql(&inner, &order_sql(f.order, "p.")), p)
}

/// A name search's count (up to one past [`NAME_COUNT_CAP`]) from samples of the
/// seller's rows: the whole count when the seller's ids span few rows, one past the
/// cap when a common word's walk found that many; `None` otherwise (as for
/// [`page_from_window`]).
pub(super) async fn count_from_window(
    c: &impl GenericClient,
    scope: &Scope,
    f: &ProductFilter,
) -> Result<Option<u64>> {
    let Some(seller) = searched_seller(scope, f) else {
        return Ok(None);
    };
    let (sql, p) = count_sql(scope, seller, f);
    let row = c.query_one(&sql, &p.refs()).await.map_err(map_err)?;
    let (whole, hits, walked): (bool, i64, Option<i64>) = (row.get(0), row.get(1), row.get(2));
    let cap = NAME_COUNT_CAP + 1;
    Ok(if whole {
        Some((hits as u64).min(cap))
    } else {
        walked.map(|n| n as u64).filter(|&n| n >= cap)
    })
}

/// The count's statement, answering `(whole, hits, walked)`. When the seller's ids
/// span at most [`PROBE_ROWS`], all the seller's rows are read: `whole`, and `hits`
/// is the count. Otherwise the id range is cut into [`SLICES`] parts, and the probe
/// reads rows from the middle of each (`hits`), which gives a word's density across
/// the whole catalog. The start of the listing alone would take a word clustered
/// there for a common one (a reference number, where numbers follow ids), and each
/// part's start would meet the round numbers there. When the probe finds the word
/// common, the walk reads on through each part in turn and stops at the cap's match
/// (`walked`). The parts do not overlap, so no match counts twice.
pub(super) fn count_sql(scope: &Scope, seller: &str, f: &ProductFilter) -> (String, Params) {
    let mut p = Params::default();
    let rows = seller_rows(scope, seller, &mut p);
    let s = p.push(seller.to_string());
    let w = conditions(scope, f, &mut p);
    let per_probe = PROBE_ROWS / SLICES;
    let per_walk = COUNT_WINDOW / SLICES;
    let cap = NAME_COUNT_CAP + 1;
    // The seller's rows with ids from `{l}.lo` up to `{l}.hi`: the seller's id index
    // starts and stops at those ids (a row comparison would stop only at the seller's
    // last row), and no other index can read more rows than the range holds.
    let range = |l: &str| format!("q.seller_id = {s} AND q.id >= {l}.lo AND q.id < {l}.hi");
    let part = |l: &str, limit: i64| {
        format!(
            "(SELECT q.* FROM products q WHERE {} ORDER BY q.id LIMIT {limit}) q",
            range(l)
        )
    };
    let (all, probe) = (part("b", PROBE_ROWS), part("l", per_probe));
    // The walk reads at most `per_walk` ids of each part, the filter applied in the
    // index scan itself.
    let walk =
        format!("q.seller_id = {s} AND q.id >= l.lo AND q.id < LEAST(l.hi, l.lo + {per_walk})");
    (
        format!(
            "WITH bounds AS MATERIALIZED (SELECT
               (SELECT q.id FROM products q WHERE {rows} ORDER BY q.seller_id, q.id LIMIT 1) AS lo,
               (SELECT q.id + 1 FROM products q WHERE {rows}
                ORDER BY q.seller_id DESC, q.id DESC LIMIT 1) AS hi),
             slices AS (SELECT b.lo + (b.hi - b.lo) * (2 * k + 1) / {halves} AS lo,
                 CASE WHEN k = {last} THEN b.hi ELSE b.lo + (b.hi - b.lo) * (2 * k + 3) / {halves} END AS hi
               FROM bounds b CROSS JOIN generate_series(0, {last}) k),
             probe AS MATERIALIZED (SELECT count(*) AS hits
               FROM slices l CROSS JOIN LATERAL (SELECT 1 FROM {probe} WHERE TRUE{w}) x)
             SELECT b.small,
               CASE WHEN b.small THEN (SELECT count(*) FROM {all} WHERE TRUE{w})
                 ELSE (SELECT hits FROM probe) END,
               CASE WHEN NOT b.small AND (SELECT hits FROM probe) >= {PROBE_COMMON} THEN
                 (SELECT count(*) FROM (SELECT 1 FROM slices l CROSS JOIN LATERAL
                    (SELECT 1 FROM products q WHERE {walk}{w}) x
                    LIMIT {cap}) t)
               END
             FROM (SELECT lo, hi, COALESCE(hi - lo <= {PROBE_ROWS}, TRUE) AS small FROM bounds) b",
            halves = 2 * SLICES,
            last = SLICES - 1,
        ),
        p,
    )
}

#[cfg(test)]
mod tests {
    use entreposto_store::catalog_contract::simple_fields;
    use entreposto_store::fixtures::world;

    use super::*;
    use crate::{fresh_schema_url, PgStore};

    /// The window answers a common word's first page and its count, and leaves to
    /// the general statement a rare word, a word clustered where the probe looks (the
    /// end of each part), and a word clustered at the start (for the count only: the
    /// page is found there). Another seller's rows come first, as in the benchmark.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_window_answers_common_words_only() {
        let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
            eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
            return;
        };
        let store = PgStore::connect(&fresh_schema_url(&url).await.unwrap(), 2)
            .await
            .unwrap();
        let w = world(&store).await;
        let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
        let now = Timestamp(1_700_000_000_000_000);
        let rows = |prefix: &str, n: usize| -> Vec<(String, ProductFields)> {
            (0..n)
                .map(|i| {
                    let mut name = format!("Item {i:05}");
                    for (tag, has) in [
                        (" comum", i.is_multiple_of(4)),
                        (" raro", i % 1_000 == 3),
                        (" ponta", i % 600 >= 300 && i % 600 < 330),
                        (" inicio", i < 40),
                    ] {
                        if has {
                            name.push_str(tag);
                        }
                    }
                    (format!("{prefix}-{i:05}"), simple_fields(&name, Some(100)))
                })
                .collect()
        };
        let other = Scope::seller(&w.operator.id, &w.seller_b.id);
        store
            .import_products_bulk(&other, &rows("B", 5_000), now)
            .await
            .unwrap();
        store
            .import_products_bulk(&scope, &rows("A", 6_000), now)
            .await
            .unwrap();
        let c = store.conn().await.unwrap();
        c.batch_execute("VACUUM ANALYZE products").await.unwrap();
        let named = |n: &str| ProductFilter {
            name: Some(n.into()),
            limit: 30,
            ..Default::default()
        };
        let count = |n: &'static str| {
            let (c, scope) = (&c, &scope);
            async move { count_from_window(c, scope, &named(n)).await.unwrap() }
        };
        let page = |n: &'static str| {
            let (c, scope) = (&c, &scope);
            async move {
                page_from_window(c, scope, &named(n))
                    .await
                    .unwrap()
                    .map(|p| p.len())
            }
        };
        assert_eq!(count("comum").await, Some(NAME_COUNT_CAP + 1));
        assert_eq!(page("comum").await, Some(30));
        assert_eq!((count("raro").await, page("raro").await), (None, None));
        // 30 in each 600 ids, all where the probe reads: it takes the word for a
        // common one, and the walk finds 300 in all, too few to answer.
        assert_eq!(count("ponta").await, None);
        assert_eq!(count("inicio").await, None);
        assert_eq!(page("inicio").await, Some(30));
        // A small catalog is counted whole, whatever the word.
        let tiny = Seller {
            id: new_id(),
            name: "Loja pequena".into(),
            document: None,
            ..w.seller_b.clone()
        };
        store.create_seller(&tiny).await.unwrap();
        let tiny = Scope::seller(&w.operator.id, &tiny.id);
        store
            .import_products_bulk(&tiny, &rows("T", 100), now)
            .await
            .unwrap();
        let f = named("comum");
        assert_eq!(count_from_window(&c, &tiny, &f).await.unwrap(), Some(25));
        // Another operator's scope on this seller counts nothing.
        let stranger = Scope::seller(new_id(), &w.seller_a.id);
        assert_eq!(count_from_window(&c, &stranger, &f).await.unwrap(), Some(0));
        assert_eq!(page_from_window(&c, &stranger, &f).await.unwrap(), None);
    }
}
