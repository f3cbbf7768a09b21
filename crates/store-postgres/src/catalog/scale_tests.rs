//! Scale checks run by hand, once, in release: a million products of one seller
//! loaded in bulk after another seller's 100,000, the plans of name searches over
//! them, and the time of big changes.
//! Ignored by default (minutes of work and a few GB of disk); run with
//! `cargo nextest run -p entreposto-store-postgres --release --run-ignored ignored-only
//! --no-capture scale` and read what they print.

use std::time::Instant;

use entreposto_domain::search::fold;
use entreposto_domain::*;
use entreposto_store::fixtures::world;
use entreposto_store::*;

use super::{read, search};
use crate::{fresh_schema_url, PgStore};

const NOUNS: [&str; 10] = [
    "Camiseta",
    "Bermuda",
    "Tênis",
    "Meia",
    "Boné",
    "Jaqueta",
    "Vestido",
    "Calça",
    "Sandália",
    "Mochila",
];
const ADJECTIVES: [&str; 10] = [
    "Básica",
    "Esportiva",
    "Infantil",
    "Premium",
    "Slim",
    "Casual",
    "Térmica",
    "Estampada",
    "Lisa",
    "Oversize",
];
const COLOURS: [&str; 10] = [
    "Azul", "Preta", "Branca", "Vermelha", "Verde", "Amarela", "Cinza", "Rosa", "Marrom", "Bege",
];

/// Product `n`: one of a thousand name shapes (each a tenth of a percent of the
/// catalog) ending in its own reference number.
fn product(n: usize) -> (String, ProductFields) {
    let name = format!(
        "{} {} {} ref {n:07}",
        NOUNS[n % 10],
        ADJECTIVES[n / 10 % 10],
        COLOURS[n / 100 % 10]
    );
    let fields = ProductFields {
        info: ProductInfo {
            name,
            subtitle: "Produto de teste".into(),
            active: true,
            model: format!("M-{}", n % 97),
            ..Default::default()
        },
        stock: vec![StockLevel {
            location: Location::default(),
            quantity: (n % 50) as i64,
            minimum: 1,
            status: None,
        }],
        price: Some(Price {
            list: Cents(10_000 + (n % 5_000) as i64),
            value: Cents(9_000 + (n % 5_000) as i64),
            expires_at: None,
        }),
        dimensions: Some(Dimensions {
            height: 10.0,
            width: 20.0,
            length: 5.0,
            weight_grams: 300,
        }),
        images: vec![format!("https://img.example.com/{n}.jpg")],
        ..Default::default()
    };
    (format!("SKU-{n:07}"), fields)
}

async fn explain(store: &PgStore, label: &str, sql: &str, p: &crate::Params) -> String {
    let c = store.conn().await.unwrap();
    let rows = c
        .query(&format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), &p.refs())
        .await
        .unwrap();
    let plan: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    let plan = plan.join("\n");
    println!("--- {label}\n{plan}\n");
    plan
}

fn name_filter(name: &str, order: ProductOrder) -> ProductFilter {
    ProductFilter {
        name: Some(fold(name)),
        order,
        limit: 50,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "loads a million products: run by hand, in release"]
async fn scale_a_million_products_of_one_seller() {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_schema_url(&url).await.unwrap();
    let store = PgStore::connect(&url, 4).await.unwrap();
    let w = world(&store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let now = Timestamp(1_700_000_000_000_000);

    // Another seller's 100,000 products first, as in bench/catalog.sh: an ordered walk
    // of the primary key passes them before it reaches this seller's.
    const BATCH: usize = 100_000;
    let other = Scope::seller(&w.operator.id, &w.seller_b.id);
    let reference: Vec<_> = (0..BATCH).map(product).collect();
    store
        .import_products_bulk(&other, &reference, now)
        .await
        .unwrap();
    // Batches of 100,000; `ENTREPOSTO_SCALE_BATCHES` (10 by default) of them.
    let batches: usize = std::env::var("ENTREPOSTO_SCALE_BATCHES")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(10);
    let mut loaded = 0;
    let all = Instant::now();
    for b in 0..batches {
        let batch: Vec<_> = (b * BATCH..(b + 1) * BATCH).map(product).collect();
        let t = Instant::now();
        loaded += store
            .import_products_bulk(&scope, &batch, now)
            .await
            .unwrap();
        println!(
            "bulk load of products {}..{}: {:?}",
            b * BATCH,
            (b + 1) * BATCH,
            t.elapsed()
        );
    }
    println!("{loaded} products loaded in {:?}", all.elapsed());
    {
        let c = store.conn().await.unwrap();
        for table in ["products", "product_stock"] {
            c.batch_execute(&format!("VACUUM ANALYZE {table}"))
                .await
                .unwrap();
        }
    }

    // One product's reference: a handful of rows among a million.
    let (sql, p) = read::list_sql(&scope, &name_filter("ref 0048213", ProductOrder::Id));
    let rare = explain(&store, "rare name, by id", &sql, &p).await;
    assert!(rare.contains("products_name_trgm"), "{rare}");
    let (sql, p) = read::count_sql(&scope, &name_filter("ref 0048213", ProductOrder::Id));
    let count = explain(&store, "rare name, count", &sql, &p).await;
    assert!(count.contains("products_name_trgm"), "{count}");
    // One name shape: a thousand rows.
    let (sql, p) = read::list_sql(
        &scope,
        &name_filter("mochila oversize bege", ProductOrder::NameAsc),
    );
    let shape = explain(&store, "a thousand matches, by name", &sql, &p).await;
    assert!(shape.contains("products_name_trgm"), "{shape}");
    // A tenth of the catalog: the seller's own rows answer, from its id index alone.
    let seller = &w.seller_a.id;
    let common = name_filter("camiseta", ProductOrder::Id);
    let (sql, p) = search::page_sql(&scope, seller, &common);
    let page = explain(&store, "a tenth matches, page from the window", &sql, &p).await;
    assert!(
        page.contains("Index Only Scan using products_seller_id"),
        "{page}"
    );
    let (sql, p) = search::count_sql(&scope, seller, &common);
    let count = explain(&store, "a tenth matches, count from the walk", &sql, &p).await;
    assert!(count.contains("rows=1001"), "{count}");
    // The general statements, which answer when the window does not.
    let (sql, p) = read::list_sql(&scope, &common);
    explain(&store, "a tenth matches, by id, general", &sql, &p).await;
    let (sql, p) = read::count_sql(&scope, &common);
    explain(&store, "a tenth matches, count, general", &sql, &p).await;
    let (sql, p) = search::count_sql(
        &scope,
        seller,
        &name_filter("ref 0048213", ProductOrder::Id),
    );
    explain(&store, "rare name, the count's probe", &sql, &p).await;

    let found = store
        .list_products(&scope, &name_filter("REF 0048213", ProductOrder::Id))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].data.sku, "SKU-0048213");

    big_changes(&store, &scope, now).await;
}

/// Times a 1,000-row import step creating products, one replacing them, and a
/// 1,000-item stock batch, on the loaded catalog.
async fn big_changes(store: &PgStore, scope: &Scope, now: Timestamp) {
    const N: usize = 1_000;
    let drafts: Vec<ProductDraft> = (0..N)
        .map(|n| {
            let (sku, fields) = product(2_000_000 + n);
            ProductDraft {
                sku: Some(sku),
                kind: Some(ProductKind::Simple),
                fields,
                ..Default::default()
            }
        })
        .collect();
    let job = store
        .create_import_job(
            scope,
            NewImportJob {
                id: new_id(),
                verify_categories: false,
                verify_brands: false,
                // Twice over: a step creating them, a step replacing them.
                rows: [drafts.clone(), drafts.clone()].concat(),
                created_at: now,
            },
        )
        .await
        .unwrap();
    let step = |from: u32, products: Vec<ProductWrite>| {
        let outcomes = products
            .iter()
            .enumerate()
            .map(|(i, p)| (Some(p.sku.clone()), RowOutcome::Written { product: i }))
            .collect();
        CatalogChange {
            now,
            new_categories: vec![NewCategory {
                parent: None,
                name: format!("Categoria {from}"),
                description: None,
                slug: format!("categoria-{from}"),
                keywords: None,
                image_source: None,
                external_id: None,
            }],
            new_brands: vec![NewBrand {
                party: NewParty {
                    name: format!("Marca {from}"),
                    external_id: None,
                    image_source: None,
                },
                manufacturer: None,
            }],
            products,
            step: Some(ImportStep {
                job_id: job.id.clone(),
                from,
                outcomes,
                finished: false,
                events: vec![],
            }),
            ..Default::default()
        }
    };
    let writes: Vec<ProductWrite> = drafts
        .iter()
        .map(|d| ProductWrite {
            existing: None,
            sku: d.sku.clone().unwrap(),
            kind: ProductKind::Simple,
            fields: d.fields.clone(),
            categories: vec![Link::New(0)],
            brand: Some(Link::New(0)),
            manufacturer: None,
            collections: vec![],
            events: vec![],
        })
        .collect();
    let t = Instant::now();
    let saved = store
        .save_catalog(scope, step(0, writes.clone()))
        .await
        .unwrap();
    println!("import step creating {N} products: {:?}", t.elapsed());

    let replaced: Vec<ProductWrite> = writes
        .into_iter()
        .zip(&saved.products)
        .map(|(mut w, &id)| {
            w.existing = Some((id, 1));
            w.fields.info.name.push_str(" v2");
            w.categories = vec![Link::Existing(saved.categories[0])];
            w.brand = Some(Link::Existing(saved.brands[0]));
            w
        })
        .collect();
    let mut again = step(N as u32, replaced);
    again.new_categories.clear();
    again.new_brands.clear();
    let t = Instant::now();
    store.save_catalog(scope, again).await.unwrap();
    println!("import step replacing {N} products: {:?}", t.elapsed());

    let stock = CatalogChange {
        now,
        stock: saved
            .products
            .iter()
            .map(|&id| StockWrite {
                product_id: id,
                levels: vec![StockLevel {
                    location: Location {
                        id: 7,
                        name: Some("CD 7".into()),
                    },
                    quantity: 3,
                    minimum: 0,
                    status: None,
                }],
                events: vec![],
            })
            .collect(),
        ..Default::default()
    };
    let t = Instant::now();
    store.save_catalog(scope, stock).await.unwrap();
    println!("stock batch of {N} items: {:?}", t.elapsed());
    let p = store
        .get_product(scope, &ProductKey::Id(saved.products[0]))
        .await
        .unwrap();
    assert_eq!((p.version, p.data.fields.stock.len()), (3, 2));
}
