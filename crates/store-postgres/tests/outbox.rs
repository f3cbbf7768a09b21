//! The outbox's storage contract on PostgreSQL, each case in a fresh schema, and what
//! only PostgreSQL can show: a transaction that took its `seq` first but commits
//! last is not skipped by a sink that acked the events committed meanwhile (the
//! reason positions are stamped after commit). Skipped (and says so) when
//! `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use std::sync::Arc;

use entreposto_domain::*;
use entreposto_store::fixtures::world;
use entreposto_store::*;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

async fn open() -> Option<Box<Arc<dyn Store>>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 8).await.expect("connect");
    Some(Box::new(Arc::new(store)))
}

entreposto_store::outbox_contract_tests!(open());

const T0: Timestamp = Timestamp(1_700_000_000_000_000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_is_not_skipped() {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_schema_url(&url).await.expect("schema");
    let store = PgStore::connect(&url, 4).await.expect("connect");
    let w = world(&store).await;
    // A transaction inserts an event (taking the next `seq`) and waits.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("raw connection");
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "BEGIN; WITH e AS (INSERT INTO outbox_events (id, type, occurred_at, operator_id,
               seller_id, entity, entity_id, payload)
             VALUES ('evt_late', 'credential.issued', {}, '{}', NULL, 'credential', 'late', '{{}}')
             RETURNING seq) INSERT INTO outbox_unstamped (seq) SELECT seq FROM e",
            T0.0, w.operator.id
        ))
        .await
        .expect("late insert");
    // Another change commits after it (a larger `seq`); the sink delivers and acks it.
    let c = Credential {
        id: new_id(),
        operator_id: w.operator.id.clone(),
        seller_id: None,
        dialect: Dialect::named("native"),
        secret_hash: [2; 32],
        user_email: None,
        created_at: T0,
        revoked_at: None,
        rate_limit: None,
    };
    store
        .create_credential(&c, &[CredentialEvent::Issued])
        .await
        .unwrap();
    let until = Timestamp(T0.0 + 30_000_000);
    let first = store
        .claim_events("s", "A", 10, T0, until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.events.len(), 1);
    assert_eq!(first.events[0].entity_id, c.id);
    store
        .ack_events("s", "A", first.last().unwrap())
        .await
        .unwrap();
    // The early `seq` commits last: the sink still gets it.
    client.batch_execute("COMMIT").await.expect("late commit");
    let next = store
        .claim_events("s", "A", 10, T0, until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.events.len(), 1);
    assert_eq!(next.events[0].id, "evt_late");
    assert!(next.events[0].seq < first.events[0].seq);
}
