//! The NATS JetStream sink against the NATS server on 127.0.0.1:4222 (JetStream on),
//! each case on its own stream and subject prefix, over SQLite and (when
//! `ENTREPOSTO_TEST_POSTGRES_URL` is set) PostgreSQL: events arrive once each with
//! their id as `Nats-Msg-Id`, on their subjects, in order; rows published again (a
//! relay that died after publishing, before its ack) are dropped by JetStream.

use std::sync::Arc;

use entreposto_app::{Clock, ManualClock};
use entreposto_domain::*;
use entreposto_store::fixtures::{initial_progress, sample_order, world};
use entreposto_store::{new_id, Store};
use entreposto_worker::nats::{NatsSettings, NatsSink};
use entreposto_worker::{Relay, RelaySettings, Sink, Turn};

const NATS: &str = "nats://127.0.0.1:4222";

async fn sqlite() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("entreposto-nats-{}", new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = entreposto_store_sqlite::SqliteStore::open(dir.join("t.db"), Default::default())
        .expect("open");
    Arc::new(store)
}

async fn postgres() -> Option<Arc<dyn Store>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = entreposto_store_postgres::fresh_schema_url(&url)
        .await
        .unwrap();
    Some(Arc::new(
        entreposto_store_postgres::PgStore::connect(&url, 4)
            .await
            .unwrap(),
    ))
}

/// Settings for a stream and prefix of this case alone.
fn settings() -> (NatsSettings, String) {
    let id = new_id();
    let prefix = format!("test{}", id.to_lowercase());
    (
        NatsSettings {
            url: Some(NATS.into()),
            stream: format!("T{id}"),
            subject_prefix: prefix.clone(),
            duplicate_window_secs: 120,
        },
        prefix,
    )
}

/// Three pushes (two orders, one pushed twice) and a credential: four events.
async fn write_events(store: &dyn Store) -> (World, Vec<String>) {
    let w = world(store).await;
    let now = Timestamp(1_700_000_000_000_000);
    for code in ["N-1", "N-2", "N-1"] {
        let data = sample_order(&w.seller_a, code);
        store
            .upsert_order(&data, &initial_progress(&data), now, &[OrderEvent::Pushed])
            .await
            .unwrap();
    }
    let credential = Credential {
        id: new_id(),
        operator_id: w.operator.id.clone(),
        seller_id: None,
        dialect: Dialect::named("native"),
        secret_hash: [7; 32],
        user_email: None,
        created_at: now,
        revoked_at: None,
        rate_limit: None,
    };
    store
        .create_credential(&credential, &[CredentialEvent::Issued])
        .await
        .unwrap();
    let filter = entreposto_store::EventFilter {
        operator_id: w.operator.id.clone(),
        seller_id: None,
        since: Timestamp(0),
        after: None,
        limit: 100,
    };
    let ids = store
        .list_events(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    (w, ids)
}

use entreposto_store::fixtures::World;

async fn jetstream() -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(NATS).await.expect("NATS at 4222"))
}

/// The stream's messages: (subject, Nats-Msg-Id, body).
async fn messages(stream: &str) -> Vec<(String, String, serde_json::Value)> {
    let js = jetstream().await;
    let mut s = js.get_stream(stream).await.unwrap();
    let n = s.info().await.unwrap().state.messages;
    let mut out = Vec::new();
    for seq in 1..=n {
        let m = s.get_raw_message(seq).await.unwrap();
        let id = m
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        out.push((
            m.subject.to_string(),
            id,
            serde_json::from_slice(&m.payload).unwrap(),
        ));
    }
    out
}

fn relay(
    store: &Arc<dyn Store>,
    sink: Arc<dyn Sink>,
    clock: Arc<ManualClock>,
    holder: &str,
) -> Relay {
    let clock: Arc<dyn Clock> = clock;
    Relay::new(store.clone(), sink, clock, holder, RelaySettings::default())
}

async fn events_arrive_once_each_in_order(store: Arc<dyn Store>) {
    let (w, ids) = write_events(&*store).await;
    assert_eq!(ids.len(), 4);
    let (nats, prefix) = settings();
    let sink: Arc<dyn Sink> = Arc::new(NatsSink::connect(&nats).await.unwrap());
    let clock = Arc::new(ManualClock::at(Timestamp(1_700_000_000_000_000)));
    let r = relay(&store, sink, clock, "node-a");
    assert_eq!(
        r.turn().await.unwrap(),
        Turn::Delivered {
            delivered: 4,
            claimed: 4
        }
    );
    assert_eq!(r.turn().await.unwrap(), Turn::Idle);
    let got = messages(&nats.stream).await;
    let got_ids: Vec<&str> = got.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(got_ids, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let (op, seller) = (&w.operator.id, &w.seller_a.id);
    let subjects: Vec<&str> = got.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        [
            format!("{prefix}.{op}.{seller}.order.created"),
            format!("{prefix}.{op}.{seller}.order.created"),
            format!("{prefix}.{op}.{seller}.order.updated"),
            format!("{prefix}.{op}._.credential.issued"),
        ]
    );
    let body = &got[0].2;
    assert_eq!(body["id"], ids[0].as_str());
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["entity"], "order");
    assert_eq!(body["seller"], seller.as_str());
    assert_eq!(body["data"]["marketplaceOrderId"], "N-1");
    let _ = jetstream().await.delete_stream(&nats.stream).await;
}

async fn a_republish_is_dropped_by_jetstream(store: Arc<dyn Store>) {
    let (_, ids) = write_events(&*store).await;
    let (nats, _) = settings();
    let sink = Arc::new(NatsSink::connect(&nats).await.unwrap());
    // Node A publishes everything and dies before acking: the rows stay unacked.
    let now = Timestamp(1_700_000_000_000_000);
    let lease = RelaySettings::default().lease;
    let until = Timestamp(now.0 + lease.as_micros() as i64);
    let claim = store
        .claim_events("nats", "node-a", 100, now, until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sink.deliver(&claim.events).await.unwrap(), 4);
    // Node B cannot take the sink while A's lease runs; once it has passed it
    // delivers the same rows again, and JetStream keeps one copy of each.
    let clock = Arc::new(ManualClock::at(now));
    let b = relay(&store, sink.clone(), clock.clone(), "node-b");
    assert_eq!(b.turn().await.unwrap(), Turn::NotHeld);
    clock.set(Timestamp(until.0 + 1));
    assert_eq!(
        b.turn().await.unwrap(),
        Turn::Delivered {
            delivered: 4,
            claimed: 4
        }
    );
    let got = messages(&nats.stream).await;
    assert_eq!(got.len(), 4, "{got:?}");
    let got_ids: Vec<&str> = got.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(got_ids, ids.iter().map(String::as_str).collect::<Vec<_>>());
    // A's late ack is refused: B holds the sink now.
    assert!(matches!(
        store
            .ack_events("nats", "node-a", claim.last().unwrap())
            .await,
        Err(entreposto_store::StoreError::Stale)
    ));
    let _ = jetstream().await.delete_stream(&nats.stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_events_arrive_once_each_in_order() {
    events_arrive_once_each_in_order(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_republish_is_dropped_by_jetstream() {
    a_republish_is_dropped_by_jetstream(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_arrive_once_each_in_order() {
    match postgres().await {
        Some(s) => events_arrive_once_each_in_order(s).await,
        None => eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_republish_is_dropped_by_jetstream() {
    match postgres().await {
        Some(s) => a_republish_is_dropped_by_jetstream(s).await,
        None => eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set"),
    }
}

/// Two nodes on one PostgreSQL relay to one stream: node A delivers some batches,
/// then dies in the middle of one (published, not acked); node B takes the sink over
/// once A's lease has passed and delivers the rest. JetStream holds every event
/// exactly once, in the outbox's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_nodes_deliver_each_event_once_while_one_dies() {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = entreposto_store_postgres::fresh_schema_url(&url)
        .await
        .unwrap();
    let node = |url: String| async move {
        let s: Arc<dyn Store> = Arc::new(
            entreposto_store_postgres::PgStore::connect(&url, 4)
                .await
                .unwrap(),
        );
        s
    };
    let (a_store, b_store) = (node(url.clone()).await, node(url).await);
    let w = world(&*a_store).await;
    let push = |store: Arc<dyn Store>, from: usize, to: usize| {
        let w = w.seller_a.clone();
        async move {
            for n in from..to {
                let data = sample_order(&w, &format!("M-{n}"));
                store
                    .upsert_order(
                        &data,
                        &initial_progress(&data),
                        Timestamp(1),
                        &[OrderEvent::Pushed],
                    )
                    .await
                    .unwrap();
            }
        }
    };
    push(a_store.clone(), 0, 60).await;
    let (nats, _) = settings();
    let sink = Arc::new(NatsSink::connect(&nats).await.unwrap());
    let clock = Arc::new(ManualClock::at(Timestamp(1_700_000_000_000_000)));
    let small = RelaySettings {
        batch: 20,
        ..RelaySettings::default()
    };
    let a = Relay::new(
        a_store.clone(),
        sink.clone() as Arc<dyn Sink>,
        clock.clone() as Arc<dyn Clock>,
        "node-a",
        small.clone(),
    );
    let b = Relay::new(
        b_store.clone(),
        sink.clone() as Arc<dyn Sink>,
        clock.clone() as Arc<dyn Clock>,
        "node-b",
        small.clone(),
    );
    for _ in 0..2 {
        assert!(matches!(a.turn().await.unwrap(), Turn::Delivered { .. }));
        assert_eq!(b.turn().await.unwrap(), Turn::NotHeld);
    }
    // Both nodes take writes meanwhile.
    push(b_store.clone(), 60, 90).await;
    // A dies mid-batch: it published the next 20 and never acked them.
    let now = clock.now();
    let until = Timestamp(now.0 + small.lease.as_micros() as i64);
    let dying = a_store
        .claim_events("nats", "node-a", 20, now, until)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sink.deliver(&dying.events).await.unwrap(), 20);
    assert_eq!(b.turn().await.unwrap(), Turn::NotHeld);
    clock.set(Timestamp(until.0 + 1));
    let mut turns = 0;
    while b.turn().await.unwrap() != Turn::Idle {
        turns += 1;
        assert!(turns < 20);
    }
    let all: Vec<String> = b_store
        .list_events(&entreposto_store::EventFilter {
            operator_id: w.operator.id.clone(),
            seller_id: Some(w.seller_a.id.clone()),
            since: Timestamp(0),
            after: None,
            limit: 1_000,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all.len(), 90);
    let got = messages(&nats.stream).await;
    let got_ids: Vec<String> = got.into_iter().map(|(_, id, _)| id).collect();
    let mut sorted = got_ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), got_ids.len(), "a message was stored twice");
    assert_eq!(got_ids, all, "every event once, in the outbox's order");
    let _ = jetstream().await.delete_stream(&nats.stream).await;
}
