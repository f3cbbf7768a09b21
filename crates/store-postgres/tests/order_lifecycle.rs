//! The order lifecycle's storage contract on PostgreSQL, each case in a fresh schema.
//! Skipped (and says so) when `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

async fn open() -> Option<Box<Arc<dyn Store>>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 8).await.expect("connect");
    Some(Box::new(Arc::new(store)))
}

entreposto_store::order_lifecycle_contract_tests!(open());

const OP: &str = "01OPERATOR00000000000000AA";
const SELLER: &str = "01SELLER0000000000000000AA";

/// A schema a version-10 binary left, with two orders whose JSON bodies hold
/// transaction ids: migration 11 gives them the state their status maps to, reached at
/// placement, and finds their transaction ids in the bodies.
#[tokio::test]
async fn orders_from_before_the_lifecycle_get_their_progress() {
    use entreposto_domain::*;
    use entreposto_store::{OrderFilter, OrderLifecycleStore};

    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_schema_url(&url).await.expect("create test schema");
    {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let handle = tokio::spawn(conn);
        c.batch_execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await
        .expect("migrations table");
        let known: &[(i64, &str)] = entreposto_store::migrations!();
        for (v, sql) in known.iter().filter(|(v, _)| *v <= 10) {
            c.batch_execute(sql).await.expect("old migration");
            c.execute("INSERT INTO schema_migrations VALUES ($1, 0)", &[v])
                .await
                .expect("version");
        }
        c.batch_execute(&format!(
            "INSERT INTO operators (id, name, created_at) VALUES ('{OP}', 'Op', 0);
             INSERT INTO sellers (id, operator_id, name, created_at) VALUES ('{SELLER}', '{OP}', 'Loja', 0);"
        ))
        .await
        .expect("tenants");
        let body = include_str!("fixtures/order_body.json").trim_end();
        let paid = body.replace("\"transaction_id\":null", "\"transaction_id\":\"TX-1\"");
        let cancelled = body
            .replace("\"transaction_id\":null", "\"transaction_id\":\"TX-2\"")
            .replace("\"status\":\"approved\"", "\"status\":\"cancelled\"")
            .replace("02-1000000004", "02-2");
        for (id, code, status, placed, body) in [
            (
                1i64,
                "02-1000000004",
                "approved",
                1_686_098_517_000_000i64,
                paid,
            ),
            (2, "02-2", "cancelled", 1_690_000_000_000_000, cancelled),
        ] {
            c.execute(
                "INSERT INTO orders (id, operator_id, seller_id, channel, marketplace_order_id,
                 status, placed_at, total, created_at, updated_at, body)
                 VALUES ($1, $2, $3, 'Lojas Americanas', $4, $5, $6, 0, 0, 0, $7)",
                &[&id, &OP, &SELLER, &code, &status, &placed, &body],
            )
            .await
            .expect("order");
        }
        drop(c);
        let _ = handle.await;
    }
    let store = PgStore::connect(&url, 4)
        .await
        .expect("connect and migrate");
    let scope = Scope::seller(OP, SELLER);
    let entry = |to, at| StateChange { from: None, to, at };
    let first = store.get_order_view(&scope, 1).await.expect("first");
    assert_eq!(
        (first.progress.state, first.progress.version),
        (OrderState::Paid, 1)
    );
    assert_eq!(
        first.progress.history,
        [entry(OrderState::Paid, Timestamp(1_686_098_517_000_000))]
    );
    assert!(first.progress.pendencies.is_empty() && first.progress.erp.is_empty());
    let second = store.get_order_view(&scope, 2).await.expect("second");
    assert_eq!(
        second.progress.history,
        [entry(
            OrderState::Cancelled,
            Timestamp(1_690_000_000_000_000)
        )]
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
    for (t, expected) in [("TX-1", 1), ("TX-2", 2)] {
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
/// `cargo test --release -p entreposto-store-postgres --test order_lifecycle -- --ignored --nocapture`.
/// `ENTREPOSTO_SCALE_ORDERS` sets the number of orders (a million by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a million orders: run by hand, in a release build"]
async fn figures_at_scale() {
    use entreposto_store::order_lifecycle_contract::{load_at_scale, measure_at_scale};

    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let orders: usize = std::env::var("ENTREPOSTO_SCALE_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    // `ENTREPOSTO_SCALE_URL` (a URL this test printed) measures a loaded schema again.
    let (url, loaded) = match std::env::var("ENTREPOSTO_SCALE_URL") {
        Ok(kept) => (kept, true),
        Err(_) => (
            fresh_schema_url(&url).await.expect("create test schema"),
            false,
        ),
    };
    println!("schema: {url}");
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url, 16).await.expect("connect"));
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let handle = tokio::spawn(conn);
    let scope = if loaded {
        let r = c
            .query_one(
                "SELECT operator_id, seller_id FROM orders ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .expect("a loaded seller");
        entreposto_domain::Scope::seller(r.get::<_, String>(0), r.get::<_, String>(1))
    } else {
        let (scope, took) = load_at_scale(&*store, orders).await;
        println!(
            "import_orders: {orders} orders in {took:?} ({:.0}/s)",
            orders as f64 / took.as_secs_f64()
        );
        scope
    };
    // What autovacuum would do in time: statistics, and the visibility map the
    // listing's index-only scans rely on.
    let started = std::time::Instant::now();
    for table in ["orders", "order_payment_ids", "order_erp_marks", "products"] {
        c.batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await
            .expect("vacuum");
    }
    println!("VACUUM ANALYZE: {:?}", started.elapsed());
    for line in measure_at_scale(store, &scope, 20_000, 16).await {
        println!("{line}");
    }
    let plan = c
        .query(
            &format!(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT id, placed_at FROM orders
                 WHERE seller_id = '{}' AND state = 'paid' AND NOT erp_sent
                 ORDER BY placed_at DESC, id DESC LIMIT 30 OFFSET 29970",
                scope.seller_id.as_deref().unwrap_or_default()
            ),
            &[],
        )
        .await
        .expect("plan");
    for r in plan {
        println!("{}", r.get::<_, String>(0));
    }
    drop(c);
    let _ = handle.await;
}
