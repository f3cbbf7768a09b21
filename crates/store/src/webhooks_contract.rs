//! Webhooks' storage contract suite: what every backend's
//! [`WebhookStore`](crate::WebhookStore) shows, written once against the trait alone.
//!
//! A backend's `tests/webhooks.rs` calls
//! [`webhooks_contract_tests!`](crate::webhooks_contract_tests) with an async
//! expression opening a fresh, empty store (`Option<impl Deref<Target = Arc<dyn
//! Store>>>`, `None` when the backend is not configured: the cases then say so and
//! pass). Times are fixed values, never the clock.
//!
//! What the trait leaves open and this suite pins: endpoints list oldest first; an
//! update on an old version is `Stale` and one on another operator's endpoint
//! `NotFound`; a message fanned out again writes no delivery; a claim hands a due
//! delivery to one claimer until its lease runs out, never one of a disabled endpoint
//! nor one behind an earlier pending delivery of the same entity; an outcome recorded
//! under a lost lease only logs its attempt; an endpoint is disabled by a failure only
//! when failing since the threshold or earlier, and a batch of outcomes leaves what
//! recording them one by one in its order would (writing its `webhook.endpoint_disabled` event to the
//! outbox in that change), and a success ends its failing; a
//! fan-out's lease takes none, or exactly the first of its new deliveries a claim
//! could take (up to its limit, never one whose endpoint changed since the fan-out
//! read it), and a claim never takes those back while leased; a
//! listing is newest first with each delivery's attempts oldest first; a replay and a
//! recovery make deliveries due again with their tries counted anew.

use std::sync::Arc;

use entreposto_domain::*;

use crate::fixtures::{world, World};
use crate::webhooks::*;
use crate::{Store, StoreError};

/// Expands to one `#[tokio::test]` per webhooks contract case. `$open` is an async
/// expression yielding `Option<impl Deref<Target = Arc<dyn Store>>>`.
#[macro_export]
macro_rules! webhooks_contract_tests {
    ($open:expr) => {
        $crate::webhooks_contract_tests!(@case $open, endpoints_are_written_read_and_deleted);
        $crate::webhooks_contract_tests!(@case $open, a_message_fanned_out_twice_is_written_once);
        $crate::webhooks_contract_tests!(@case $open, a_due_delivery_is_claimed_once_until_its_lease_ends);
        $crate::webhooks_contract_tests!(@case $open, one_entity_is_claimed_in_order);
        $crate::webhooks_contract_tests!(@case $open, a_fan_out_leases_only_what_a_claim_could_take);
        $crate::webhooks_contract_tests!(@case $open, an_outcome_under_a_lost_lease_only_logs);
        $crate::webhooks_contract_tests!(@case $open, failing_long_enough_disables_the_endpoint);
        $crate::webhooks_contract_tests!(@case $open, a_batch_of_outcomes_applies_them_in_order);
        $crate::webhooks_contract_tests!(@case $open, the_log_is_newest_first_with_attempts);
        $crate::webhooks_contract_tests!(@case $open, replay_and_recovery_make_deliveries_due);
        $crate::webhooks_contract_tests!(@case $open, deleting_an_endpoint_removes_its_deliveries);
        $crate::webhooks_contract_tests!(@case $open, retention_keeps_pending_and_recent_deliveries);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => {
                    $crate::webhooks_contract::$name(std::sync::Arc::clone(&*store)).await
                }
                None => eprintln!("skipped: the backend under test is not configured"),
            }
        }
    };
}

const T0: Timestamp = Timestamp(1_700_000_000_000_000);

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * 1_000_000)
}

fn endpoint(w: &World, id: &str, seller: Option<&Seller>) -> WebhookEndpoint {
    crate::fixtures::webhook_endpoint(w, id, seller, T0)
}

fn message(w: &World, id: &str, seq: i64, entity: &str, to: &[&str]) -> OutgoingMessage {
    OutgoingMessage {
        id: id.into(),
        seq,
        operator_id: w.operator.id.clone(),
        seller_id: Some(w.seller_a.id.clone()),
        event_type: "order.status_changed".into(),
        entity: entity.into(),
        occurred_at: at(seq),
        body: format!("{{\"type\":\"order.status_changed\",\"n\":{seq}}}"),
        deliveries: to
            .iter()
            .map(|e| NewDelivery {
                endpoint_id: e.to_string(),
                endpoint_version: 1,
                state: DeliveryState::Pending,
                due_at: at(seq),
            })
            .collect(),
    }
}

fn attempt(now: Timestamp, status: Option<u16>) -> Attempt {
    Attempt {
        at: now,
        node: "node-a".into(),
        status,
        response: "ok".into(),
        duration_ms: 12,
        error: None,
    }
}

fn disabled_event(operator_id: &str, now: Timestamp) -> crate::outbox::NewEvent {
    crate::outbox::NewEvent::new(
        webhook::ENDPOINT_DISABLED,
        now,
        operator_id,
        None,
        WEBHOOK_ENTITY,
        "ep1".into(),
        "{\"reason\":\"failing\"}".into(),
    )
}

/// `d`'s attempt at `now` answered 2xx.
fn success_of(d: &ClaimedDelivery, now: Timestamp) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id: d.id,
        endpoint_id: d.endpoint.id.clone(),
        lease_token: d.lease_token.clone(),
        attempt: attempt(now, Some(200)),
        next: DeliveryNext::Succeeded,
        health: EndpointHealth::Succeeded,
    }
}

/// `d`'s attempt at `now` answered 500; its endpoint is disabled if failing since
/// `threshold` or earlier.
fn failure_of(
    d: &ClaimedDelivery,
    now: Timestamp,
    next: DeliveryNext,
    threshold: Timestamp,
) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id: d.id,
        endpoint_id: d.endpoint.id.clone(),
        lease_token: d.lease_token.clone(),
        attempt: attempt(now, Some(500)),
        next,
        health: EndpointHealth::Failed {
            now,
            disable_if_failing_since: threshold,
            event: disabled_event(&d.endpoint.operator_id, now),
        },
    }
}

async fn success(store: &dyn Store, d: &ClaimedDelivery, now: Timestamp) -> Recorded {
    store.record_attempt(&success_of(d, now)).await.unwrap()
}

async fn failure(
    store: &dyn Store,
    d: &ClaimedDelivery,
    now: Timestamp,
    next: DeliveryNext,
    threshold: Timestamp,
) -> Recorded {
    store
        .record_attempt(&failure_of(d, now, next, threshold))
        .await
        .unwrap()
}

/// The first ten deliveries of `endpoint`'s log.
async fn log_of(store: &dyn Store, operator_id: &str, endpoint: &str) -> Vec<Delivery> {
    store
        .list_deliveries(
            operator_id,
            endpoint,
            &DeliveryFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

fn ids(claimed: &[ClaimedDelivery]) -> Vec<String> {
    claimed.iter().map(|d| d.message_id.clone()).collect()
}

pub async fn endpoints_are_written_read_and_deleted(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let mut e1 = endpoint(&w, "ep1", None);
    e1.events = EventFilter::Only(vec!["order.invoiced".into(), "ticket.opened".into()]);
    e1.previous_secret = Some(PreviousSecret {
        secret: WebhookSecret::from_key(&[3; 24]),
        until: at(100),
    });
    store.create_endpoint(&e1).await.unwrap();
    let mut e2 = endpoint(&w, "ep2", Some(&w.seller_a));
    e2.created_at = at(1);
    store.create_endpoint(&e2).await.unwrap();
    assert!(matches!(
        store.create_endpoint(&e1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_endpoint(&w.operator.id, "ep1").await.unwrap(), e1);
    assert_eq!(store.find_endpoint("ep2").await.unwrap(), e2);
    assert!(matches!(
        store.get_endpoint("another-operator", "ep1").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.list_endpoints(&w.operator.id).await.unwrap(),
        vec![e1.clone(), e2.clone()]
    );
    assert_eq!(
        store
            .endpoints_of(&[w.operator.id.clone(), "nobody".into()])
            .await
            .unwrap()
            .len(),
        2
    );

    let mut changed = e1.clone();
    changed.url = WebhookUrl::stored("https://other.example.com/");
    changed.set_enabled(false, at(5));
    let stored = store.update_endpoint(&changed, 1).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        store.get_endpoint(&w.operator.id, "ep1").await.unwrap(),
        stored
    );
    assert_eq!(stored.disabled_reason, Some(DisabledReason::Manual));
    assert!(matches!(
        store.update_endpoint(&changed, 1).await,
        Err(StoreError::Stale)
    ));
    let mut stranger = changed.clone();
    stranger.operator_id = "another-operator".into();
    assert!(matches!(
        store.update_endpoint(&stranger, 2).await,
        Err(StoreError::NotFound)
    ));

    assert!(matches!(
        store.delete_endpoint("another-operator", "ep1").await,
        Err(StoreError::NotFound)
    ));
    store.delete_endpoint(&w.operator.id, "ep1").await.unwrap();
    assert_eq!(
        store.list_endpoints(&w.operator.id).await.unwrap(),
        vec![e2]
    );
}

pub async fn a_message_fanned_out_twice_is_written_once(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    store
        .create_endpoint(&endpoint(&w, "ep2", None))
        .await
        .unwrap();
    let m = message(&w, "m1", 1, "order:1", &["ep1", "ep2"]);
    assert_eq!(
        store
            .enqueue_messages(std::slice::from_ref(&m))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.enqueue_messages(&[m]).await.unwrap(), 0);
    // A delivery to an endpoint deleted meanwhile is not written.
    let gone = message(&w, "m2", 2, "order:2", &["ep1", "deleted"]);
    assert_eq!(store.enqueue_messages(&[gone]).await.unwrap(), 1);
    let mut skipped = message(&w, "m3", 3, "order:3", &["ep2"]);
    skipped.deliveries[0].state = DeliveryState::Skipped;
    assert_eq!(store.enqueue_messages(&[skipped]).await.unwrap(), 1);
    let claimed = store
        .claim_deliveries("node-a", at(100), at(160), 10)
        .await
        .unwrap();
    let mut got = ids(&claimed);
    got.sort();
    assert_eq!(got, ["m1", "m1", "m2"], "skipped deliveries are not sent");
    let d = claimed.iter().find(|d| d.message_id == "m2").unwrap();
    assert_eq!(d.body, "{\"type\":\"order.status_changed\",\"n\":2}");
    assert_eq!(d.endpoint.id, "ep1");
    assert_eq!(d.tries, 0);
    assert_eq!(d.event_type, "order.status_changed");
}

pub async fn a_due_delivery_is_claimed_once_until_its_lease_ends(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    let mut off = endpoint(&w, "off", None);
    off.enabled = false;
    off.disabled_reason = Some(DisabledReason::Manual);
    store.create_endpoint(&off).await.unwrap();
    let mut later = message(&w, "later", 50, "order:9", &["ep1"]);
    later.deliveries[0].due_at = at(500);
    store
        .enqueue_messages(&[message(&w, "m1", 1, "order:1", &["ep1", "off"]), later])
        .await
        .unwrap();
    // Two claimers at once: each due delivery goes to one of them.
    let (a, b) = tokio::join!(
        store.claim_deliveries("node-a", at(100), at(160), 10),
        store.claim_deliveries("node-b", at(100), at(160), 10)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "{a:?} {b:?}");
    let first = a.into_iter().chain(b).next().unwrap();
    assert_eq!(first.message_id, "m1");
    assert_eq!(first.endpoint.id, "ep1");
    assert!(store
        .claim_deliveries("node-b", at(159), at(220), 10)
        .await
        .unwrap()
        .is_empty());
    // The lease ran out (its node died): another node takes it.
    let again = store
        .claim_deliveries("node-b", at(160), at(220), 10)
        .await
        .unwrap();
    assert_eq!(ids(&again), ["m1"]);
    assert_ne!(again[0].lease_token, first.lease_token);
    let log = log_of(&*store, &w.operator.id, "ep1").await;
    let m1 = log.iter().find(|d| d.message_id == "m1").unwrap();
    assert_eq!(m1.claimed_by.as_deref(), Some("node-b"));
    success(&*store, &again[0], at(161)).await;
    // Not due yet, then due.
    assert!(store
        .claim_deliveries("node-a", at(499), at(560), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(&store
            .claim_deliveries("node-a", at(500), at(560), 10)
            .await
            .unwrap()),
        ["later"]
    );
    // A limit of one claims one.
    store
        .enqueue_messages(&[
            message(&w, "x1", 60, "order:20", &["ep1"]),
            message(&w, "x2", 61, "order:21", &["ep1"]),
        ])
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_deliveries("node-a", at(600), at(660), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn one_entity_is_claimed_in_order(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    store
        .create_endpoint(&endpoint(&w, "ep2", None))
        .await
        .unwrap();
    store
        .enqueue_messages(&[
            message(&w, "a1", 1, "order:1", &["ep1", "ep2"]),
            message(&w, "b1", 2, "order:2", &["ep1"]),
            message(&w, "a2", 3, "order:1", &["ep1", "ep2"]),
        ])
        .await
        .unwrap();
    let first = store
        .claim_deliveries("node-a", at(10), at(70), 10)
        .await
        .unwrap();
    let mut got: Vec<_> = first
        .iter()
        .map(|d| format!("{}@{}", d.message_id, d.endpoint.id))
        .collect();
    got.sort();
    assert_eq!(got, ["a1@ep1", "a1@ep2", "b1@ep1"]);
    // a1 fails at ep1 and waits for its retry: a2 waits behind it there, not at ep2.
    let a1_ep1 = first
        .iter()
        .find(|d| d.message_id == "a1" && d.endpoint.id == "ep1")
        .unwrap();
    failure(
        &*store,
        a1_ep1,
        at(11),
        DeliveryNext::RetryAt(at(300)),
        at(0),
    )
    .await;
    let a1_ep2 = first
        .iter()
        .find(|d| d.message_id == "a1" && d.endpoint.id == "ep2")
        .unwrap();
    success(&*store, a1_ep2, at(11)).await;
    let b1 = first.iter().find(|d| d.message_id == "b1").unwrap();
    success(&*store, b1, at(11)).await;
    let next = store
        .claim_deliveries("node-a", at(200), at(260), 10)
        .await
        .unwrap();
    let got: Vec<_> = next
        .iter()
        .map(|d| format!("{}@{}", d.message_id, d.endpoint.id))
        .collect();
    assert_eq!(got, ["a2@ep2"]);
    success(&*store, &next[0], at(201)).await;
    // Its retry comes, succeeds, and a2 follows at ep1.
    let retry = store
        .claim_deliveries("node-a", at(300), at(360), 10)
        .await
        .unwrap();
    assert_eq!(ids(&retry), ["a1"]);
    assert_eq!(retry[0].tries, 1);
    success(&*store, &retry[0], at(301)).await;
    let last = store
        .claim_deliveries("node-a", at(302), at(360), 10)
        .await
        .unwrap();
    assert_eq!(ids(&last), ["a2"]);
    assert_eq!(last[0].endpoint.id, "ep1");
    success(&*store, &last[0], at(303)).await;
    // A failed delivery does not hold the entity's next ones.
    store
        .enqueue_messages(&[
            message(&w, "c1", 10, "order:3", &["ep2"]),
            message(&w, "c2", 11, "order:3", &["ep2"]),
        ])
        .await
        .unwrap();
    let c1 = store
        .claim_deliveries("node-a", at(400), at(460), 10)
        .await
        .unwrap();
    assert_eq!(ids(&c1), ["c1"]);
    failure(&*store, &c1[0], at(401), DeliveryNext::Failed, at(0)).await;
    assert_eq!(
        ids(&store
            .claim_deliveries("node-a", at(402), at(460), 10)
            .await
            .unwrap()),
        ["c2"]
    );
}

pub async fn a_fan_out_leases_only_what_a_claim_could_take(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let ep1 = endpoint(&w, "ep1", None);
    store.create_endpoint(&ep1).await.unwrap();
    // ep2 changed after the fan-out read it at version 1.
    let ep2 = endpoint(&w, "ep2", None);
    store.create_endpoint(&ep2).await.unwrap();
    store.update_endpoint(&ep2, 1).await.unwrap();
    // An earlier pending delivery of order:1, not claimed yet.
    store
        .enqueue_messages(&[message(&w, "m0", 1, "order:1", &["ep1"])])
        .await
        .unwrap();
    let mut not_due = message(&w, "e", 7, "order:5", &["ep1"]);
    not_due.deliveries[0].due_at = at(500);
    let batch = [
        message(&w, "a", 2, "order:1", &["ep1"]),
        message(&w, "b1", 3, "order:2", &["ep1"]),
        message(&w, "b2", 4, "order:2", &["ep1"]),
        // ep2 first: its version is checked before the limit is reached.
        message(&w, "c", 5, "order:3", &["ep2", "ep1"]),
        not_due,
        message(&w, "d", 6, "order:4", &["ep1"]),
    ];
    let lease = FanOutLease {
        node: "node-a".into(),
        now: at(10),
        until: at(70),
        limit: 2,
    };
    let written = store.enqueue_leasing(&batch, &lease).await.unwrap();
    assert_eq!(written.new, 7);
    let leased: Vec<String> = written
        .leased
        .iter()
        .map(|l| {
            let m = &batch[l.message];
            format!("{}@{}", m.id, m.deliveries[l.delivery].endpoint_id)
        })
        .collect();
    // a waits behind m0, b2 behind b1, c@ep2's endpoint changed, e is not due, and
    // d is past the limit.
    assert!(
        leased.is_empty() || leased == ["b1@ep1", "c@ep1"],
        "{leased:?}"
    );
    assert_eq!(written.lease_token.is_empty(), leased.is_empty());
    // A claim takes what may go and is not leased.
    let claimed = store
        .claim_deliveries("node-b", at(10), at(70), 10)
        .await
        .unwrap();
    let mut got: Vec<String> = claimed
        .iter()
        .map(|d| format!("{}@{}", d.message_id, d.endpoint.id))
        .collect();
    assert!(got.iter().all(|g| !leased.contains(g)), "{got:?}");
    got.extend(leased.iter().cloned());
    got.sort();
    assert_eq!(got, ["b1@ep1", "c@ep1", "c@ep2", "d@ep1", "m0@ep1"]);
    // A leased delivery's outcome applies under the fan-out's token.
    if let Some(l) = written.leased.first() {
        let m = &batch[l.message];
        let d = ClaimedDelivery {
            id: l.id,
            lease_token: written.lease_token.clone(),
            endpoint: ep1.clone(),
            message_id: m.id.clone(),
            event_type: m.event_type.clone(),
            entity: m.entity.clone(),
            body: m.body.clone(),
            tries: 0,
        };
        assert!(success(&*store, &d, at(11)).await.applied);
        let log = log_of(&*store, &w.operator.id, "ep1").await;
        let b1 = log.iter().find(|d| d.message_id == "b1").unwrap();
        assert_eq!(b1.state, DeliveryState::Succeeded);
        assert_eq!(b1.attempts.len(), 1);
        // b2 may go now.
        let next = store
            .claim_deliveries("node-b", at(12), at(70), 10)
            .await
            .unwrap();
        assert_eq!(ids(&next), ["b2"]);
    }
}

pub async fn an_outcome_under_a_lost_lease_only_logs(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    store
        .enqueue_messages(&[message(&w, "m1", 1, "order:1", &["ep1"])])
        .await
        .unwrap();
    let old = store
        .claim_deliveries("node-a", at(10), at(70), 10)
        .await
        .unwrap();
    let new = store
        .claim_deliveries("node-b", at(70), at(130), 10)
        .await
        .unwrap();
    assert_eq!(ids(&new), ["m1"]);
    let late = success(&*store, &old[0], at(80)).await;
    assert!(!late.applied);
    let log = log_of(&*store, &w.operator.id, "ep1").await;
    assert_eq!(log[0].state, DeliveryState::Pending);
    assert_eq!(
        log[0].attempts.len(),
        1,
        "the attempt happened: it is logged"
    );
    let own = failure(&*store, &new[0], at(81), DeliveryNext::Failed, at(0)).await;
    assert!(own.applied);
    let log = log_of(&*store, &w.operator.id, "ep1").await;
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert_eq!(log[0].tries, 1);
    assert_eq!(log[0].claimed_by, None);
    assert_eq!(log[0].attempts.len(), 2);
}

pub async fn failing_long_enough_disables_the_endpoint(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    let msgs: Vec<_> = (1..=4)
        .map(|i| message(&w, &format!("m{i}"), i, &format!("order:{i}"), &["ep1"]))
        .collect();
    store.enqueue_messages(&msgs).await.unwrap();
    let claimed = store
        .claim_deliveries("node-a", at(10), at(1_000_000), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    // First failure at 20: failing since 20. A threshold before it does not disable.
    let r = failure(&*store, &claimed[0], at(20), DeliveryNext::Failed, at(19)).await;
    assert!(!r.disabled);
    let e = store.get_endpoint(&w.operator.id, "ep1").await.unwrap();
    assert_eq!(e.failing_since, Some(at(20)));
    assert!(e.enabled);
    // A later failure keeps the first time; a success ends the failing.
    failure(&*store, &claimed[1], at(30), DeliveryNext::Failed, at(19)).await;
    assert_eq!(
        store
            .get_endpoint(&w.operator.id, "ep1")
            .await
            .unwrap()
            .failing_since,
        Some(at(20))
    );
    success(&*store, &claimed[2], at(40)).await;
    assert_eq!(
        store
            .get_endpoint(&w.operator.id, "ep1")
            .await
            .unwrap()
            .failing_since,
        None
    );
    // Failing since 50; a failure whose threshold is at or after 50 disables it.
    failure(&*store, &claimed[3], at(50), DeliveryNext::Failed, at(49)).await;
    store
        .enqueue_messages(&[message(&w, "m5", 5, "order:5", &["ep1"])])
        .await
        .unwrap();
    let m5 = store
        .claim_deliveries("node-a", at(60), at(1_000_000), 10)
        .await
        .unwrap();
    let r = failure(
        &*store,
        &m5[0],
        at(60),
        DeliveryNext::RetryAt(at(65)),
        at(50),
    )
    .await;
    assert!(r.disabled && r.applied);
    // The change wrote its event, once.
    let events = store
        .list_events(&crate::outbox::EventFilter {
            operator_id: w.operator.id.clone(),
            seller_id: None,
            since: T0,
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, [webhook::ENDPOINT_DISABLED]);
    assert_eq!(events[0].entity, WEBHOOK_ENTITY);
    assert_eq!(events[0].entity_id, "ep1");
    assert_eq!(events[0].occurred_at, at(60));
    let e = store.get_endpoint(&w.operator.id, "ep1").await.unwrap();
    assert!(!e.enabled);
    assert_eq!(e.disabled_reason, Some(DisabledReason::Failing));
    assert_eq!(e.version, 2);
    // Its pending delivery waits: a disabled endpoint's deliveries are not claimed.
    assert!(store
        .claim_deliveries("node-a", at(100), at(160), 10)
        .await
        .unwrap()
        .is_empty());
    let mut enabled = e.clone();
    enabled.set_enabled(true, at(200));
    store.update_endpoint(&enabled, e.version).await.unwrap();
    assert_eq!(
        ids(&store
            .claim_deliveries("node-a", at(200), at(260), 10)
            .await
            .unwrap()),
        ["m5"]
    );
}

pub async fn a_batch_of_outcomes_applies_them_in_order(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    for id in ["ep1", "ep2"] {
        store
            .create_endpoint(&endpoint(&w, id, None))
            .await
            .unwrap();
    }
    let msgs: Vec<_> = (1..=6)
        .map(|i| {
            let to = if i <= 3 { "ep1" } else { "ep2" };
            message(&w, &format!("m{i}"), i, &format!("order:{i}"), &[to])
        })
        .collect();
    store.enqueue_messages(&msgs).await.unwrap();
    let claimed = store
        .claim_deliveries("node-a", at(10), at(1_000), 10)
        .await
        .unwrap();
    assert_eq!(ids(&claimed), ["m1", "m2", "m3", "m4", "m5", "m6"]);
    // ep2 is failing before the batch.
    failure(
        &*store,
        &claimed[3],
        at(11),
        DeliveryNext::RetryAt(at(500)),
        at(0),
    )
    .await;
    // ep1 fails, succeeds, fails again: failing since the last failure. ep2 succeeds
    // twice: no longer failing. m4's lease was spent by the failure above: only logged.
    let recorded = store
        .record_attempts(&[
            failure_of(&claimed[0], at(20), DeliveryNext::Failed, at(0)),
            success_of(&claimed[4], at(21)),
            success_of(&claimed[1], at(22)),
            success_of(&claimed[3], at(23)),
            failure_of(&claimed[2], at(24), DeliveryNext::RetryAt(at(30)), at(0)),
            success_of(&claimed[5], at(25)),
            // m2's claim a second time: its lease was spent by the first, so only
            // logged (and ep1 stays failing since 24).
            failure_of(&claimed[1], at(26), DeliveryNext::Failed, at(0)),
        ])
        .await
        .unwrap();
    let applied: Vec<bool> = recorded.iter().map(|r| r.applied).collect();
    assert_eq!(applied, [true, true, true, false, true, true, false]);
    assert!(recorded.iter().all(|r| !r.disabled));
    let ep1 = store.get_endpoint(&w.operator.id, "ep1").await.unwrap();
    assert_eq!(ep1.failing_since, Some(at(24)));
    let ep2 = store.get_endpoint(&w.operator.id, "ep2").await.unwrap();
    assert_eq!(ep2.failing_since, None);
    let states = |l: &[Delivery]| {
        l.iter()
            .map(|d| (d.message_id.clone(), d.state, d.tries, d.attempts.len()))
            .collect::<Vec<_>>()
    };
    use DeliveryState::*;
    assert_eq!(
        states(&log_of(&*store, &w.operator.id, "ep1").await),
        [
            ("m3".to_string(), Pending, 1, 1),
            ("m2".to_string(), Succeeded, 1, 2),
            ("m1".to_string(), Failed, 1, 1),
        ]
    );
    assert_eq!(
        states(&log_of(&*store, &w.operator.id, "ep2").await),
        [
            ("m6".to_string(), Succeeded, 1, 1),
            ("m5".to_string(), Succeeded, 1, 1),
            ("m4".to_string(), Pending, 1, 2),
        ]
    );
    let m3 = log_of(&*store, &w.operator.id, "ep1").await.remove(0);
    assert_eq!(m3.next_attempt_at, Some(at(30)));
}

pub async fn the_log_is_newest_first_with_attempts(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    let msgs: Vec<_> = (1..=5)
        .map(|i| message(&w, &format!("m{i}"), i, &format!("order:{i}"), &["ep1"]))
        .collect();
    store.enqueue_messages(&msgs).await.unwrap();
    let claimed = store
        .claim_deliveries("node-a", at(10), at(70), 10)
        .await
        .unwrap();
    let m2 = claimed.iter().find(|d| d.message_id == "m2").unwrap();
    failure(&*store, m2, at(11), DeliveryNext::RetryAt(at(16)), at(0)).await;
    let retry = store
        .claim_deliveries("node-a", at(16), at(70), 10)
        .await
        .unwrap();
    let m2 = retry.iter().find(|d| d.message_id == "m2").unwrap();
    success(&*store, m2, at(17)).await;

    let all = DeliveryFilter {
        limit: 10,
        ..Default::default()
    };
    let log = store
        .list_deliveries(&w.operator.id, "ep1", &all)
        .await
        .unwrap();
    let order: Vec<_> = log.iter().map(|d| d.message_id.as_str()).collect();
    assert_eq!(order, ["m5", "m4", "m3", "m2", "m1"]);
    let m2 = &log[3];
    assert_eq!(m2.state, DeliveryState::Succeeded);
    assert_eq!(m2.tries, 2);
    assert_eq!(m2.next_attempt_at, None);
    assert_eq!(m2.occurred_at, at(2));
    assert_eq!(m2.entity, "order:2");
    assert_eq!(m2.event_type, "order.status_changed");
    let statuses: Vec<_> = m2.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(200)]);
    assert_eq!(m2.attempts[0].at, at(11));
    assert_eq!(m2.attempts[0].duration_ms, 12);
    assert_eq!(log[0].state, DeliveryState::Pending);
    assert!(log[0].attempts.is_empty());

    let page = DeliveryFilter {
        limit: 2,
        before: Some(4),
        ..Default::default()
    };
    let order: Vec<_> = store
        .list_deliveries(&w.operator.id, "ep1", &page)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.message_id)
        .collect();
    assert_eq!(order, ["m3", "m2"]);
    let succeeded = DeliveryFilter {
        state: Some(DeliveryState::Succeeded),
        limit: 10,
        ..Default::default()
    };
    let order: Vec<_> = store
        .list_deliveries(&w.operator.id, "ep1", &succeeded)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.message_id)
        .collect();
    assert_eq!(order, ["m2"]);
    assert!(matches!(
        store.list_deliveries("another-operator", "ep1", &all).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn replay_and_recovery_make_deliveries_due(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    let mut msgs: Vec<_> = (1..=4)
        .map(|i| message(&w, &format!("m{i}"), i, &format!("order:{i}"), &["ep1"]))
        .collect();
    msgs[3].deliveries[0].state = DeliveryState::Skipped;
    store.enqueue_messages(&msgs).await.unwrap();
    let claimed = store
        .claim_deliveries("node-a", at(10), at(70), 10)
        .await
        .unwrap();
    for d in &claimed {
        match d.message_id.as_str() {
            "m1" => {
                success(&*store, d, at(11)).await;
            }
            _ => {
                failure(&*store, d, at(11), DeliveryNext::Failed, at(0)).await;
            }
        }
    }
    // Replay of a delivered message: due again, tries anew, log kept.
    let replayed = store
        .requeue_delivery(&w.operator.id, "ep1", "m1", at(20))
        .await
        .unwrap();
    assert_eq!(replayed.state, DeliveryState::Pending);
    assert_eq!(replayed.tries, 0);
    assert_eq!(replayed.next_attempt_at, Some(at(20)));
    assert_eq!(replayed.attempts.len(), 1);
    assert!(matches!(
        store
            .requeue_delivery(&w.operator.id, "ep1", "nope", at(20))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .requeue_delivery("another-operator", "ep1", "m1", at(20))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        ids(&store
            .claim_deliveries("node-a", at(20), at(80), 10)
            .await
            .unwrap()),
        ["m1"]
    );
    // Recovery since m3's time: m3 (failed) and m4 (skipped), not m2 (before) nor m1.
    assert_eq!(
        store
            .requeue_since(&w.operator.id, "ep1", at(3), at(30))
            .await
            .unwrap(),
        2
    );
    let mut got = ids(&store
        .claim_deliveries("node-a", at(30), at(90), 10)
        .await
        .unwrap());
    got.sort();
    assert_eq!(got, ["m3", "m4"]);
    assert!(matches!(
        store
            .requeue_since("another-operator", "ep1", at(0), at(30))
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn deleting_an_endpoint_removes_its_deliveries(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    store
        .create_endpoint(&endpoint(&w, "ep2", None))
        .await
        .unwrap();
    store
        .enqueue_messages(&[message(&w, "m1", 1, "order:1", &["ep1", "ep2"])])
        .await
        .unwrap();
    let claimed = store
        .claim_deliveries("node-a", at(10), at(70), 10)
        .await
        .unwrap();
    for d in &claimed {
        failure(&*store, d, at(11), DeliveryNext::RetryAt(at(20)), at(0)).await;
    }
    store.delete_endpoint(&w.operator.id, "ep1").await.unwrap();
    let left = store
        .claim_deliveries("node-a", at(20), at(80), 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].endpoint.id, "ep2");
    assert!(matches!(
        store
            .list_deliveries(
                &w.operator.id,
                "ep1",
                &DeliveryFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn retention_keeps_pending_and_recent_deliveries(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    store
        .create_endpoint(&endpoint(&w, "ep1", None))
        .await
        .unwrap();
    let msgs: Vec<_> = (1..=4)
        .map(|i| message(&w, &format!("m{i}"), i, &format!("order:{i}"), &["ep1"]))
        .collect();
    store.enqueue_messages(&msgs).await.unwrap();
    let claimed = store
        .claim_deliveries("node-a", at(10), at(70), 10)
        .await
        .unwrap();
    for d in &claimed {
        if d.message_id != "m2" {
            success(&*store, d, at(11)).await;
        }
    }
    // Before m3's time: m1 (done) goes, m2 (still pending) stays.
    assert_eq!(store.prune_deliveries(at(3), 100).await.unwrap(), 1);
    let left: Vec<_> = log_of(&*store, &w.operator.id, "ep1")
        .await
        .into_iter()
        .map(|d| d.message_id)
        .collect();
    assert_eq!(left, ["m4", "m3", "m2"]);
    // Its message went with it: fanning it out again writes it anew.
    assert_eq!(
        store
            .enqueue_messages(&[message(&w, "m1", 1, "order:1", &["ep1"])])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.prune_deliveries(at(100), 1).await.unwrap(),
        1,
        "a limit"
    );
}
