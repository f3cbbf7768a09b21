//! Reconciliation's storage contract on PostgreSQL, each case in a fresh schema, and
//! what PostgreSQL answers in its own words: a loading conciliation holds its period,
//! a seller the operator does not have is not found. Skipped (and says so) when
//! `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use std::sync::Arc;

use entreposto_domain::*;
use entreposto_store::fixtures::{full_settlement_order, world};
use entreposto_store::*;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

async fn open() -> Option<Box<Arc<dyn Store>>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 8).await.expect("connect");
    Some(Box::new(Arc::new(store)))
}

entreposto_store::finance_contract_tests!(open());

const T0: Timestamp = Timestamp(1_700_000_000_000_000);
const DAY: i64 = 86_400_000_000;

fn statement(seller: &Seller, digest: &str, from_day: i64, to_day: i64) -> Conciliation {
    Conciliation {
        id: 0,
        seller_id: seller.id.clone(),
        channel: "Magalu".into(),
        digest: digest.into(),
        init_date: Timestamp(T0.0 + from_day * DAY),
        end_date: Timestamp(T0.0 + to_day * DAY),
        close_date: None,
        rows: 10,
        refused: 0,
        cursor: 0,
        concilied: 0,
        divergent: 0,
        partial: 0,
        created_at: T0,
    }
}

/// A statement still loading holds its period as a closed one does: another statement
/// of the same days would apply again the rows it applied (and two nodes beginning at
/// once must not both begin; see `finance_nodes`). Once it is resumed by its own
/// digest and closed, a later period begins.
#[tokio::test]
async fn a_load_in_progress_holds_its_period() {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 4).await.expect("connect");
    let w = world(&store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let Begun::New(open) = store
        .begin_conciliation(&scope, &statement(&w.seller_a, "d1", 10, 20))
        .await
        .unwrap()
    else {
        panic!("a first statement begins");
    };
    assert_eq!(
        store
            .begin_conciliation(&scope, &statement(&w.seller_a, "d2", 15, 25))
            .await
            .unwrap(),
        Begun::Overlaps(open.clone())
    );
    assert_eq!(
        store
            .begin_conciliation(&scope, &statement(&w.seller_a, "d1", 10, 20))
            .await
            .unwrap(),
        Begun::Existing(open.clone())
    );
    store
        .close_conciliation(&scope, open.id, T0, &[])
        .await
        .unwrap();
    assert!(matches!(
        store
            .begin_conciliation(&scope, &statement(&w.seller_a, "d3", 21, 25))
            .await
            .unwrap(),
        Begun::New(_)
    ));
}

/// A settlement order or a conciliation for a seller the operator does not have is
/// refused as not found (its foreign key finds no seller), and writes nothing.
#[tokio::test]
async fn a_seller_the_operator_does_not_have_is_not_found() {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 4).await.expect("connect");
    let w = world(&store).await;
    let operator = Scope::operator(&w.operator.id);
    let order = full_settlement_order(&w.operator.id, "01NOSUCHSELLER", "Magalu", "X-1");
    let outcome = store
        .save_settlement(
            &operator,
            &OrderSettlement {
                events: Vec::new(),
                order,
                lines: vec![],
            },
            T0,
        )
        .await;
    assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
    let stranger = Seller {
        id: "01NOSUCHSELLER".into(),
        ..w.seller_a.clone()
    };
    let outcome = store
        .begin_conciliation(&operator, &statement(&stranger, "d", 1, 2))
        .await;
    assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
    assert!(store
        .list_conciliations(&operator, None)
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_channels(&operator).await.unwrap().is_empty());
}
