//! The outbox relays `serve` starts (here NATS's) tell time by the application's
//! clock, as every other background task does: a relay's sink lease runs out by the
//! clock the tests set, not by the wall's. Against the NATS server on 127.0.0.1:4222;
//! SQLite and PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use entreposto_app::ManualClock;
use entreposto_domain::Timestamp;

on_both_databases!(a_relay_leases_its_sink_by_the_applications_clock);

const DAY_US: i64 = 86_400_000_000;

async fn a_relay_leases_its_sink_by_the_applications_clock(backend: Backend) {
    // The application lives ten days ahead of the wall.
    let ahead = Timestamp(Timestamp::now().0 + 10 * DAY_US);
    let clock = Arc::new(ManualClock::at(ahead));
    let id = entreposto_store::new_id();
    let stream = format!("S{id}");
    let Some(app) = TestApp::spawn_clocked(backend, clock, |c| {
        c.nats.url = Some("nats://127.0.0.1:4222".into());
        c.nats.stream = stream.clone();
        c.nats.subject_prefix = format!("clock{}", id.to_lowercase());
    })
    .await
    else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    // Wait until the relay holds its sink (it connects to NATS first).
    let deadline = Instant::now() + Duration::from_secs(30);
    let lease_until = loop {
        let state = app.store.sink_state("nats").await.expect("sink state");
        if let Some(s) = state.filter(|s| s.holder.is_some()) {
            break s.lease_until;
        }
        assert!(Instant::now() < deadline, "the relay never took its sink");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Its lease runs out by the application's clock (ten days ahead), so another node
    // cannot take the sink a day after the wall's now; a lease timed by the wall
    // (30 s) would have run out by then.
    let wall_tomorrow = Timestamp(Timestamp::now().0 + DAY_US);
    assert!(
        lease_until > wall_tomorrow,
        "the lease is timed by the wall"
    );
    let other = app
        .store
        .claim_events(
            "nats",
            "another-node",
            10,
            wall_tomorrow,
            Timestamp(wall_tomorrow.0 + 30_000_000),
        )
        .await
        .expect("claim");
    assert!(other.is_none(), "another node took the relay's sink");
    drop(app);
    let js =
        async_nats::jetstream::new(async_nats::connect("nats://127.0.0.1:4222").await.unwrap());
    let _ = js.delete_stream(&stream).await;
}
