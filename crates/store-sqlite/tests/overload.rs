//! Overload on SQLite: a bounded writer queue refuses what it cannot hold with `Busy`,
//! at once, and every write it accepted is committed before it is answered.
//!
//! The writer is made slow by holding SQLite's write lock from another connection:
//! its next `BEGIN IMMEDIATE` waits, the queue fills, and further writes are refused.

use std::sync::Arc;

use entreposto_domain::{Operator, Timestamp};
use entreposto_store::{new_id, StoreError, TenantStore};
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};

const QUEUE: usize = 2;
const WRITES: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_writer_queue_refuses_and_loses_no_acknowledged_write() {
    let dir = std::env::temp_dir().join(format!("entreposto-overload-{}", new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("overload.db");
    let options = SqliteOptions {
        writer_queue: QUEUE,
        ..SqliteOptions::default()
    };
    let store = Arc::new(SqliteStore::open(&path, options).unwrap());

    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut writes = tokio::task::JoinSet::new();
    for i in 0..WRITES {
        let store = store.clone();
        writes.spawn(async move {
            let op = Operator {
                id: new_id(),
                name: format!("Operador {i}"),
                created_at: Timestamp::now(),
            };
            let outcome = store.create_operator(&op).await;
            (op.id, outcome)
        });
    }
    // Refusals come back at once while the writer is stuck (well before its 10 s busy
    // timeout could answer `Busy` too); the accepted writes wait for it.
    let mut outcomes = Vec::new();
    let refusals = async {
        let mut refused = 0;
        while refused < 10 {
            let (writer_queued, _) = store.queued();
            assert!(writer_queued <= QUEUE, "{writer_queued} writes queued");
            let (id, outcome) = writes.join_next().await.unwrap().unwrap();
            match &outcome {
                Err(StoreError::Busy) => refused += 1,
                other => panic!("a write finished while the writer was blocked: {other:?}"),
            }
            outcomes.push((id, outcome));
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), refusals)
        .await
        .expect("writes past the bound were not refused at once");
    assert!(store.queued().0 <= QUEUE);
    blocker.execute_batch("COMMIT").unwrap();
    while let Some(done) = writes.join_next().await {
        outcomes.push(done.unwrap());
    }

    let (mut acknowledged, mut busy) = (0, 0);
    for (id, outcome) in &outcomes {
        match outcome {
            Ok(()) => {
                acknowledged += 1;
                store
                    .get_operator(id)
                    .await
                    .expect("acknowledged write lost");
            }
            Err(StoreError::Busy) => {
                busy += 1;
                // Refused before it ran: nothing of it was written.
                assert!(matches!(
                    store.get_operator(id).await,
                    Err(StoreError::NotFound)
                ));
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(acknowledged + busy, WRITES);
    assert!(acknowledged >= 1, "no write was accepted");
    assert!(busy >= 10);
    // With the writer free again, writes are accepted.
    let op = Operator {
        id: new_id(),
        name: "Depois".into(),
        created_at: Timestamp::now(),
    };
    store.create_operator(&op).await.unwrap();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
