//! The order lifecycle's storage contract on SQLite, each case on its own fresh
//! database file.

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
    let dir = std::env::temp_dir().join(format!(
        "entreposto-lifecycle-{}",
        entreposto_store::new_id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("test.db"), SqliteOptions::default()).expect("open");
    Some(TempStore {
        store: Arc::new(store),
        _dir: TempDir(dir),
    })
}

entreposto_store::order_lifecycle_contract_tests!(open());

const OP: &str = "01OPERATOR00000000000000AA";
const SELLER: &str = "01SELLER0000000000000000AA";

/// A database a version-10 binary left, with two orders: one with a JSON body (as the
/// first versions wrote them), one with a postcard body, both with transaction ids.
/// Migration 11 gives them the state their status maps to, reached at placement, and
/// finds their transaction ids in either kind of body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_from_before_the_lifecycle_get_their_progress() {
    use entreposto_domain::*;
    use entreposto_store::{OrderFilter, OrderLifecycleStore};
    use rusqlite::{params, Connection};

    let dir = TempDir(std::env::temp_dir().join(format!(
        "entreposto-migrate-11-{}",
        entreposto_store::new_id()
    )));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let path = dir.0.join("old.db");
    let seller = Seller {
        id: SELLER.into(),
        operator_id: OP.into(),
        name: "Loja".into(),
        document: None,
        created_at: Timestamp(0),
    };
    let mut blob_order = entreposto_store::fixtures::sample_order(&seller, "02-2");
    blob_order.status = OrderStatus::Cancelled;
    blob_order.placed_at = Timestamp(1_690_000_000_000_000);
    for t in ["TX-BLOB-1", "TX-BLOB-2"] {
        let mut p = blob_order.payments[0].clone();
        p.transaction_id = Some(t.into());
        blob_order.payments.push(p);
    }
    {
        let c = Connection::open(&path).expect("open");
        // Migration 6 names the store's code-key function; no ticket needs it here.
        c.create_scalar_function("entreposto_code_key", 1, Default::default(), |_| Ok(0))
            .expect("stand-in function");
        c.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .expect("migrations table");
        let known: &[(i64, &str)] = entreposto_store::migrations!();
        for (v, sql) in known.iter().filter(|(v, _)| *v <= 10) {
            c.execute_batch(sql).expect("old migration");
            c.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [v])
                .expect("version");
        }
        c.execute_batch(&format!(
            "INSERT INTO operators (id, name, created_at) VALUES ('{OP}', 'Op', 0);
             INSERT INTO sellers (id, operator_id, name, created_at) VALUES ('{SELLER}', '{OP}', 'Loja', 0);"
        ))
        .expect("tenants");
        let json = include_str!("fixtures/order_body_v0.json")
            .trim_end()
            .replace("\"transaction_id\":null", "\"transaction_id\":\"TX-JSON\"");
        let blob = entreposto_store_sqlite::order_codec::encode(&blob_order).expect("encode");
        let insert =
            "INSERT INTO orders (id, operator_id, seller_id, channel, marketplace_order_id,
             status, placed_at, total, created_at, updated_at, body)
             VALUES (?1, ?2, ?3, 'Lojas Americanas', ?4, ?5, ?6, 0, 0, 0, ?7)";
        c.execute(
            insert,
            params![
                1,
                OP,
                SELLER,
                "02-1000000004",
                "approved",
                1_686_098_517_000_000i64,
                json
            ],
        )
        .expect("JSON order");
        c.execute(
            insert,
            params![
                2,
                OP,
                SELLER,
                "02-2",
                "cancelled",
                blob_order.placed_at.0,
                blob
            ],
        )
        .expect("postcard order");
    }
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("open and migrate");
    let scope = Scope::seller(OP, SELLER);
    let first = store.get_order_view(&scope, 1).await.expect("JSON order");
    let placed = Timestamp(1_686_098_517_000_000);
    let entry = |to, at| StateChange { from: None, to, at };
    assert_eq!(first.progress.state, OrderState::Paid);
    assert_eq!(first.progress.version, 1);
    assert_eq!(first.progress.history, [entry(OrderState::Paid, placed)]);
    assert!(first.progress.pendencies.is_empty() && first.progress.erp.is_empty());
    let second = store
        .get_order_view(&scope, 2)
        .await
        .expect("postcard order");
    assert_eq!(second.order.data, blob_order);
    assert_eq!(
        second.progress.history,
        [entry(OrderState::Cancelled, blob_order.placed_at)]
    );
    let ids = |f: OrderFilter| {
        let store = &store;
        let scope = &scope;
        async move {
            let f = OrderFilter { limit: 10, ..f };
            let views = store.list_order_views(scope, &f).await.expect("list");
            views.iter().map(|v| v.order.id).collect::<Vec<_>>()
        }
    };
    for (t, expected) in [("TX-JSON", 1), ("TX-BLOB-1", 2), ("TX-BLOB-2", 2)] {
        let f = OrderFilter {
            transaction_id: Some(t.into()),
            ..Default::default()
        };
        assert_eq!(ids(f).await, [expected], "{t}");
    }
    let queue = OrderFilter {
        states: vec![OrderState::Paid],
        erp_sent: Some(false),
        ..Default::default()
    };
    assert_eq!(ids(queue).await, [1]);
    assert_eq!(ids(OrderFilter::default()).await, [2, 1]);
}

/// Figures at scale, run once by hand (release build):
/// `cargo test --release -p entreposto-store-sqlite --test order_lifecycle -- --ignored --nocapture`.
/// `ENTREPOSTO_SCALE_ORDERS` sets the number of orders (a million by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a million orders: run by hand, in a release build"]
async fn figures_at_scale() {
    use entreposto_store::order_lifecycle_contract::{load_at_scale, measure_at_scale};
    use entreposto_store_sqlite::Durability;

    let orders: usize = std::env::var("ENTREPOSTO_SCALE_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    // `ENTREPOSTO_SCALE_KEEP=path` keeps the database there, to look at afterwards.
    let keep = std::env::var("ENTREPOSTO_SCALE_KEEP").ok();
    let dir = TempDir(
        std::env::temp_dir().join(format!("entreposto-scale-{}", entreposto_store::new_id())),
    );
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let path = keep.map_or_else(|| dir.0.join("scale.db"), std::path::PathBuf::from);
    // A kept database is measured again as it is, without loading more.
    let scope = if path.exists() {
        let c = rusqlite::Connection::open(&path).expect("kept database");
        c.query_row(
            "SELECT operator_id, seller_id FROM orders ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok(entreposto_domain::Scope::seller(
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                ))
            },
        )
        .expect("a loaded seller")
    } else {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&path, SqliteOptions::default()).expect("open"));
        let (scope, took) = load_at_scale(&*store, orders).await;
        println!(
            "import_orders: {orders} orders in {took:?} ({:.0}/s)",
            orders as f64 / took.as_secs_f64()
        );
        scope
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("database file: {} MiB", size >> 20);
    for durability in [Durability::Normal, Durability::Full] {
        let options = SqliteOptions {
            durability,
            ..SqliteOptions::default()
        };
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, options).expect("reopen"));
        println!("-- synchronous={durability:?}");
        for line in measure_at_scale(store, &scope, 20_000, 64).await {
            println!("{line}");
        }
    }
}
