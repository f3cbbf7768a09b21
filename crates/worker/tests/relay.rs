//! The relay's turns over a real store (SQLite) with a sink that records what it is
//! handed and fails on demand: events are handed in order and acked as far as the
//! sink delivered, a failure hands the rest again, a second node waits while the
//! first holds the sink and takes over once its lease passed (on the relay's clock),
//! and `run` wakes on this node's commits and gives the sink up when stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use entreposto_app::{Clock, ManualClock};
use entreposto_domain::*;
use entreposto_store::fixtures::world;
use entreposto_store::{new_id, OutboxEvent, Store};
use entreposto_worker::{Relay, RelaySettings, Sink, SinkError, Turn};

/// Records event ids; takes at most `take` of a batch (then fails if `fail`).
#[derive(Default)]
struct Recorder {
    got: Mutex<Vec<String>>,
    take: AtomicUsize,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Sink for Recorder {
    fn name(&self) -> &str {
        "test"
    }

    async fn deliver(&self, events: &[OutboxEvent]) -> Result<usize, SinkError> {
        let n = events.len().min(self.take.load(Ordering::SeqCst));
        self.got
            .lock()
            .unwrap()
            .extend(events[..n].iter().map(|e| e.id.clone()));
        if self.fail.load(Ordering::SeqCst) && n == 0 {
            return Err(SinkError("down".into()));
        }
        Ok(n)
    }
}

fn store() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("entreposto-relay-{}", new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(
        entreposto_store_sqlite::SqliteStore::open(dir.join("t.db"), Default::default()).unwrap(),
    )
}

async fn issue(store: &dyn Store, operator: &str, n: usize) {
    for _ in 0..n {
        let c = Credential {
            id: new_id(),
            operator_id: operator.into(),
            seller_id: None,
            dialect: Dialect::named("native"),
            secret_hash: [3; 32],
            user_email: None,
            created_at: Timestamp(1),
            revoked_at: None,
            rate_limit: None,
        };
        store
            .create_credential(&c, &[CredentialEvent::Issued])
            .await
            .unwrap();
    }
}

fn relay(
    store: &Arc<dyn Store>,
    sink: &Arc<Recorder>,
    clock: &Arc<ManualClock>,
    holder: &str,
) -> Relay {
    let sink: Arc<dyn Sink> = sink.clone();
    let clock: Arc<dyn Clock> = clock.clone();
    Relay::new(
        store.clone(),
        sink,
        clock,
        holder,
        RelaySettings {
            batch: 3,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            retry: Duration::from_millis(10),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_deliver_in_order_and_ack_what_was_delivered() {
    let store = store();
    let w = world(&*store).await;
    issue(&*store, &w.operator.id, 5).await;
    let sink = Arc::new(Recorder::default());
    let clock = Arc::new(ManualClock::at(Timestamp(1_000_000)));
    let a = relay(&store, &sink, &clock, "A");
    sink.take.store(2, Ordering::SeqCst);
    // The sink takes two of three: those are acked, the third comes again.
    assert!(matches!(a.turn().await.unwrap(), Turn::Failed(_)));
    sink.take.store(usize::MAX, Ordering::SeqCst);
    assert_eq!(
        a.turn().await.unwrap(),
        Turn::Delivered {
            delivered: 3,
            claimed: 3
        }
    );
    // Down: nothing acked, the same events next time.
    sink.take.store(0, Ordering::SeqCst);
    sink.fail.store(true, Ordering::SeqCst);
    assert_eq!(a.turn().await.unwrap(), Turn::Idle);
    issue(&*store, &w.operator.id, 1).await;
    assert_eq!(a.turn().await.unwrap(), Turn::Failed("down".into()));
    sink.take.store(usize::MAX, Ordering::SeqCst);
    assert_eq!(
        a.turn().await.unwrap(),
        Turn::Delivered {
            delivered: 1,
            claimed: 1
        }
    );
    let all: Vec<String> = store
        .list_events(&entreposto_store::EventFilter {
            operator_id: w.operator.id.clone(),
            seller_id: None,
            since: Timestamp(0),
            after: None,
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(*sink.got.lock().unwrap(), all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_takes_over_once_the_lease_passed() {
    let store = store();
    let w = world(&*store).await;
    issue(&*store, &w.operator.id, 2).await;
    let sink = Arc::new(Recorder::default());
    let clock = Arc::new(ManualClock::at(Timestamp(1_000_000)));
    let (a, b) = (
        relay(&store, &sink, &clock, "A"),
        relay(&store, &sink, &clock, "B"),
    );
    sink.take.store(usize::MAX, Ordering::SeqCst);
    assert!(matches!(a.turn().await.unwrap(), Turn::Delivered { .. }));
    issue(&*store, &w.operator.id, 1).await;
    assert_eq!(b.turn().await.unwrap(), Turn::NotHeld);
    clock.advance(31_000_000);
    assert_eq!(
        b.turn().await.unwrap(),
        Turn::Delivered {
            delivered: 1,
            claimed: 1
        }
    );
    assert_eq!(a.turn().await.unwrap(), Turn::NotHeld);
    assert_eq!(sink.got.lock().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_wakes_on_commits_and_releases_on_stop() {
    let store = store();
    let w = world(&*store).await;
    let sink = Arc::new(Recorder::default());
    sink.take.store(usize::MAX, Ordering::SeqCst);
    let clock = Arc::new(ManualClock::at(Timestamp(1_000_000)));
    // A poll far longer than the test: only the store's signal can wake it.
    let settings = RelaySettings {
        poll: Duration::from_secs(3600),
        ..RelaySettings::default()
    };
    let r = Relay::new(
        store.clone(),
        sink.clone() as Arc<dyn Sink>,
        clock.clone() as Arc<dyn Clock>,
        "A",
        settings,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(r.run(stopped));
    tokio::time::sleep(Duration::from_millis(50)).await;
    issue(&*store, &w.operator.id, 2).await;
    let mut waited = 0;
    while sink.got.lock().unwrap().len() < 2 {
        assert!(waited < 500, "the relay did not wake");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    let state = store.sink_state("test").await.unwrap().unwrap();
    assert_eq!(state.holder, None);
}
