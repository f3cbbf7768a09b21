//! The change feeds' storage contract on PostgreSQL, each case in a fresh schema. Skipped
//! (and says so) when `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

async fn open() -> Option<Box<Arc<dyn Store>>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 8).await.expect("connect");
    Some(Box::new(Arc::new(store)))
}

entreposto_store::feed_contract_tests!(open());

/// Four nodes (each its own pool on one schema) claiming at once, each until nothing
/// is left: every due feed is taken by exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_never_claim_the_same_feed() {
    use entreposto_domain::{Operator, Scope, Seller, Timestamp};
    use entreposto_store::{new_id, FeedSettings, FeedStore, TenantStore};
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(Arc::new(PgStore::connect(&url, 4).await.expect("connect")));
    }
    let t0 = Timestamp(1_700_000_000_000_000);
    let op = Operator {
        id: new_id(),
        name: "Marketplace".into(),
        created_at: t0,
    };
    nodes[0].create_operator(&op).await.unwrap();
    let mut sellers = Vec::new();
    for n in 0..24 {
        let s = Seller {
            id: new_id(),
            operator_id: op.id.clone(),
            name: format!("Loja {n}"),
            document: None,
            created_at: t0,
        };
        nodes[0].create_seller(&s).await.unwrap();
        let settings = FeedSettings {
            url: format!("https://erp{n}.example/changes"),
            headers: vec![],
            interval_seconds: 60,
            enabled: true,
        };
        nodes[n % 4]
            .put_change_feed(&Scope::seller(&op.id, &s.id), &settings, None, t0)
            .await
            .unwrap();
        sellers.push(s.id);
    }
    let now = Timestamp(t0.0 + 1_000_000);
    let until = Timestamp(now.0 + 60_000_000);
    let claims = nodes.iter().cloned().enumerate().map(|(i, node)| {
        tokio::spawn(async move {
            let mut mine = Vec::new();
            let holder = format!("node-{i}");
            while let Some(f) = node.claim_change_feed(now, until, &holder).await.unwrap() {
                mine.push(f.seller_id);
            }
            mine
        })
    });
    let mut seen = std::collections::HashSet::new();
    for c in claims {
        for seller in c.await.unwrap() {
            assert!(seen.insert(seller.clone()), "{seller} claimed twice");
        }
    }
    assert_eq!(seen.len(), sellers.len(), "every feed was claimed");
}
