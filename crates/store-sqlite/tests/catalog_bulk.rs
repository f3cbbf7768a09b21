//! How long a bulk load of 100,000 simple products and name searches on them take:
//! a measurement to run by hand, not an assertion on time.
//!
//! `cargo test --release -p entreposto-store-sqlite --test catalog_bulk -- --ignored --nocapture`

use std::time::Instant;

use entreposto_domain::search::fold;
use entreposto_domain::*;
use entreposto_store::catalog_contract::simple_fields;
use entreposto_store::fixtures::world;
use entreposto_store::{CatalogStore, ProductFilter, ProductOrder};
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

const PRODUCTS: usize = 100_000;

fn name(n: usize) -> String {
    const ITEMS: [&str; 10] = [
        "Camiseta", "Calça", "Bermuda", "Tênis", "Boné", "Jaqueta", "Vestido", "Saia", "Meia",
        "Cinto",
    ];
    const KINDS: [&str; 8] = [
        "Básica",
        "Algodão",
        "Esportiva",
        "Jeans",
        "Slim",
        "Infantil",
        "Feminina",
        "Masculina",
    ];
    const COLOURS: [&str; 5] = ["Azul", "Preta", "Branca", "Vermelha", "Verde"];
    format!(
        "{} {} {} {n:06}",
        ITEMS[n % 10],
        KINDS[(n / 10) % 8],
        COLOURS[(n / 80) % 5]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand in release"]
async fn bulk_load_and_name_search() {
    let dir = std::env::temp_dir().join(format!("entreposto-bulk-{}", entreposto_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("bulk.db"), SqliteOptions::default()).expect("open");
    let w = world(&store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let products: Vec<(String, ProductFields)> = (0..PRODUCTS)
        .map(|n| {
            let mut f = simple_fields(&name(n), Some(1000 + (n as i64 * 7919) % 100_000));
            f.external_id = Some(format!("ext-{n}"));
            (format!("SKU-{n:06}"), f)
        })
        .collect();
    let started = Instant::now();
    let n = store
        .import_products_bulk(&scope, &products, Timestamp(1))
        .await
        .expect("bulk");
    println!("import_products_bulk {n}: {:?}", started.elapsed());

    for (query, order) in [
        ("algodao azul", ProductOrder::Id),
        ("camiseta basica azul 000", ProductOrder::NameAsc),
        ("000042", ProductOrder::Id),
        ("slim", ProductOrder::PriceAsc),
        ("nada disso", ProductOrder::Id),
        ("sa", ProductOrder::Id),
    ] {
        let filter = ProductFilter {
            name: Some(fold(query)),
            order,
            limit: 50,
            ..Default::default()
        };
        // Once to warm the caches, then timed.
        store.list_products(&scope, &filter).await.expect("list");
        let started = Instant::now();
        let page = store.list_products(&scope, &filter).await.expect("list");
        let listed = started.elapsed();
        let started = Instant::now();
        let count = store.count_products(&scope, &filter).await.expect("count");
        println!(
            "name '{query}' {order:?}: page of {} in {listed:?}, count {count} in {:?}",
            page.len(),
            started.elapsed()
        );
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
