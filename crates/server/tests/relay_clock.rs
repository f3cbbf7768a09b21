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
    let Some(app) = TestApp::spawn_clocked(backend, clock, |c| {
        c.nats.url = Some("nats://127.0.0.1:4222".into());
        c.nats.stream = format!("S{id}");
        c.nats.subject_prefix = format!("clock{}", id.to_lowercase());
    })
    .await
    else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    // Wait until the relay holds its sink, then try to take it over a day after the
    // wall's now: a lease timed by the wall (30 s) would have run out by then, one
    // timed by the application's clock runs ten days more.
    let deadline = Instant::now() + Duration::from_secs(30);
    let wall_tomorrow = Timestamp(Timestamp::now().0 + DAY_US);
    let until = Timestamp(wall_tomorrow.0 + 30_000_000);
    loop {
        let other = app
            .store
            .claim_events("nats", "another-node", 10, wall_tomorrow, until)
            .await
            .expect("claim");
        // Held by the relay: nobody else may take it.
        if other.is_none() {
            break;
        }
        // Not taken yet (the relay connects to NATS first): give it back.
        app.store
            .release_sink("nats", "another-node")
            .await
            .expect("release");
        assert!(
            Instant::now() < deadline,
            "the relay never held its sink past the wall clock's lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
