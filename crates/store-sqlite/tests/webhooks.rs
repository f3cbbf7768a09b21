//! Webhooks' storage contract on SQLite, each case on its own fresh database
//! file (removed when the case's store is dropped).

use std::sync::Arc;

use entreposto_store::Store;
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

struct TempStore {
    store: Arc<dyn Store>,
    dir: std::path::PathBuf,
}

impl std::ops::Deref for TempStore {
    type Target = Arc<dyn Store>;
    fn deref(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn open() -> Option<TempStore> {
    let dir = std::env::temp_dir().join(format!(
        "entreposto-webhooks-{}",
        entreposto_store::new_id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(dir.join("test.db"), SqliteOptions::default()).expect("open");
    Some(TempStore {
        store: Arc::new(store),
        dir,
    })
}

entreposto_store::webhooks_contract_tests!(open());

/// SQLite does lease at fan-out (the contract allows a backend to lease none): the
/// contract case then checks exactly which deliveries it leased.
#[tokio::test]
async fn sqlite_leases_what_its_fan_out_may_send() {
    use entreposto_domain::{DeliveryState, Timestamp};
    use entreposto_store::webhooks::{FanOutLease, NewDelivery, OutgoingMessage};
    let store = open().await.unwrap();
    let w = entreposto_store::fixtures::world(&**store).await;
    let now = Timestamp(1_700_000_000_000_000);
    let ep = entreposto_store::fixtures::webhook_endpoint(&w, "ep1", None, now);
    store.create_endpoint(&ep).await.unwrap();
    let message = |id: &str, seq: i64| OutgoingMessage {
        id: id.into(),
        seq,
        operator_id: w.operator.id.clone(),
        seller_id: None,
        event_type: "order.created".into(),
        entity: format!("order:{seq}"),
        occurred_at: now,
        body: "{}".into(),
        deliveries: vec![NewDelivery {
            endpoint_id: "ep1".into(),
            endpoint_version: ep.version,
            state: DeliveryState::Pending,
            due_at: now,
        }],
    };
    let lease = FanOutLease {
        node: "node-a".into(),
        now,
        until: Timestamp(now.0 + 60_000_000),
        limit: 10,
    };
    let written = store
        .enqueue_leasing(&[message("m1", 1), message("m2", 2)], &lease)
        .await
        .unwrap();
    assert_eq!(written.new, 2);
    assert_eq!(written.leased.len(), 2);
    assert!(store
        .claim_deliveries("node-b", now, lease.until, 10)
        .await
        .unwrap()
        .is_empty());
}
