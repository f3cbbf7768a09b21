//! The catalog's storage contract on SQLite, each case on its own fresh database file.

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

struct TempStore {
    store: Arc<dyn Store>,
    _dir: TempDir,
}

impl std::ops::Deref for TempStore {
    type Target = Arc<dyn Store>;
    fn deref(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open() -> Option<TempStore> {
    let dir =
        std::env::temp_dir().join(format!("entreposto-catalog-{}", entreposto_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("test.db"), SqliteOptions::default()).expect("open");
    Some(TempStore {
        store: Arc::new(store),
        _dir: TempDir(dir),
    })
}

entreposto_store::catalog_contract_tests!(open());

/// The trigram index, which the store keeps in step with `products` itself, holds
/// exactly the names of the products there are after inserts, renames, unchanged
/// names, deletes, rolled-back changes and a bulk load (FTS5's own check, against
/// the content table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_name_index_follows_every_write() {
    use entreposto_domain::*;
    use entreposto_store::catalog_contract::{new_write, simple_fields};
    use entreposto_store::{CatalogChange, CatalogStore, ProductFilter, ProductWrite, StoreError};

    let dir = TempDir(
        std::env::temp_dir().join(format!("entreposto-names-{}", entreposto_store::new_id())),
    );
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let path = dir.0.join("test.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("open");
    let w = entreposto_store::fixtures::world(&store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let change = |products: Vec<ProductWrite>, deletes: Vec<(i64, i64)>| CatalogChange {
        now: Timestamp(1),
        products,
        deletes: deletes
            .into_iter()
            .map(|(product_id, version)| entreposto_store::ProductDelete {
                product_id,
                version,
                events: vec![CatalogEvent::ProductDeleted],
            })
            .collect(),
        ..Default::default()
    };
    let simple =
        |sku: &str, name: &str| new_write(sku, ProductKind::Simple, simple_fields(name, Some(1)));
    let ids = store
        .save_catalog(
            &scope,
            change(
                vec![
                    simple("A", "Camiseta"),
                    simple("B", "Bermuda"),
                    simple("C", "Calça"),
                ],
                vec![],
            ),
        )
        .await
        .unwrap()
        .products;
    let update = |id: i64, version: i64, sku: &str, name: &str| ProductWrite {
        existing: Some((id, version)),
        ..simple(sku, name)
    };
    store
        .save_catalog(
            &scope,
            change(
                vec![
                    update(ids[0], 1, "A", "Regata"),
                    update(ids[1], 1, "B", "Bermuda"),
                ],
                vec![(ids[2], 1)],
            ),
        )
        .await
        .unwrap();
    // Refused after renaming and deleting: none of it may reach the index.
    let refused = store
        .save_catalog(
            &scope,
            change(
                vec![
                    update(ids[0], 2, "A", "Outra"),
                    update(ids[1], 1, "B", "Velha"),
                ],
                vec![(ids[0], 3)],
            ),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Stale)), "{refused:?}");
    let bulk: Vec<(String, ProductFields)> = (0..300)
        .map(|n| {
            (
                format!("BULK-{n}"),
                simple_fields(&format!("Meia {n}"), Some(1)),
            )
        })
        .collect();
    store
        .import_products_bulk(&scope, &bulk, Timestamp(2))
        .await
        .unwrap();
    let named = |name: &str| ProductFilter {
        name: Some(name.into()),
        limit: 1000,
        ..Default::default()
    };
    for (name, n) in [
        ("regata", 1),
        ("camiseta", 0),
        ("bermuda", 1),
        ("calca", 0),
        ("meia", 300),
        ("outra", 0),
    ] {
        assert_eq!(
            store.count_products(&scope, &named(name)).await.unwrap(),
            n,
            "{name}"
        );
    }
    drop(store);
    let c = rusqlite::Connection::open(&path).expect("open file");
    c.execute(
        "INSERT INTO product_names (product_names, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the trigram index matches the products");
    let indexed: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM product_names WHERE name_key LIKE '%ega%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexed, 1);
}
