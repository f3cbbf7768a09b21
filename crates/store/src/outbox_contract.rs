//! The outbox's storage contract suite: the events every kind of write inserts with
//! its change (and none with a refused one), and the claim, ack and lease semantics
//! sinks rely on, written once against the traits.
//!
//! A backend's tests call [`outbox_contract_tests!`](crate::outbox_contract_tests)
//! with an async expression opening a fresh, empty store (as the other suites). The
//! store renders payloads with [`PlainPayloads`](crate::PlainPayloads) (no edge
//! configured it), so a case compares an event's payload with that renderer's view of
//! the entity read back after the change: the store handed it the entity as stored.

use std::sync::Arc;

use entreposto_domain::*;

use crate::catalog_contract::{new_write, simple_fields};
use crate::events::{EventPayloads, PlainPayloads};
use crate::fixtures::{initial_progress, message, sample_order, subject, world, World};
use crate::outbox::entity;
use crate::{
    CatalogChange, CatalogLinks, EventFilter, OutboxEvent, PriceWrite, ProductDelete, ProductKey,
    StockWrite, Store, StoreError,
};

/// Expands to one `#[tokio::test]` per outbox contract case.
#[macro_export]
macro_rules! outbox_contract_tests {
    ($open:expr) => {
        $crate::outbox_contract_tests!(@case $open, order_writes_write_their_events);
        $crate::outbox_contract_tests!(@case $open, refused_changes_write_no_event);
        $crate::outbox_contract_tests!(@case $open, ticket_changes_write_their_events);
        $crate::outbox_contract_tests!(@case $open, catalog_changes_write_their_events);
        $crate::outbox_contract_tests!(@case $open, stock_moves_write_product_events);
        $crate::outbox_contract_tests!(@case $open, credential_events_only_for_changes);
        $crate::outbox_contract_tests!(@case $open, a_sink_is_held_by_one_holder);
        $crate::outbox_contract_tests!(@case $open, a_lapsed_lease_hands_the_work_over);
        $crate::outbox_contract_tests!(@case $open, sinks_have_cursors_of_their_own);
        $crate::outbox_contract_tests!(@case $open, concurrent_claimers_get_disjoint_events);
        $crate::outbox_contract_tests!(@case $open, events_are_listed_by_time_and_scope);
        $crate::outbox_contract_tests!(@case $open, old_events_are_pruned);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => {
                    $crate::outbox_contract::$name(std::sync::Arc::clone(&*store)).await
                }
                None => eprintln!("skipped: the backend under test is not configured"),
            }
        }
    };
}

const T0: Timestamp = Timestamp(1_700_000_000_000_000);
const SECOND: i64 = 1_000_000;

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * SECOND)
}

/// Every event of the operator, in (occurred_at, seq) order.
async fn events_of(store: &dyn Store, operator: &str) -> Vec<OutboxEvent> {
    store
        .list_events(&EventFilter {
            operator_id: operator.into(),
            seller_id: None,
            since: Timestamp(0),
            after: None,
            limit: 1_000,
        })
        .await
        .expect("events")
}

fn json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).expect("payload JSON")
}

fn types(events: &[OutboxEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

fn credential(w: &World, seller: Option<&Seller>) -> Credential {
    Credential {
        id: crate::new_id(),
        operator_id: w.operator.id.clone(),
        seller_id: seller.map(|s| s.id.clone()),
        dialect: Dialect::named("native"),
        secret_hash: [1; 32],
        user_email: None,
        created_at: T0,
        revoked_at: None,
        rate_limit: None,
    }
}

/// A new simple product of `scope`'s seller (with its `product.created` event), as
/// stored.
async fn new_product(store: &dyn Store, scope: &Scope, sku: &str) -> entreposto_domain::Product {
    let saved = store
        .save_catalog(
            scope,
            CatalogChange {
                now: at(1),
                products: vec![new_write(
                    sku,
                    ProductKind::Simple,
                    simple_fields(sku, Some(100)),
                )],
                ..Default::default()
            },
        )
        .await
        .expect("product");
    store
        .get_product(scope, &ProductKey::Id(saved.products[0]))
        .await
        .expect("stored")
}

/// Writes `n` events (credentials issued at `at(i)`).
async fn some_events(store: &dyn Store, w: &World, n: i64) {
    for i in 0..n {
        let mut c = credential(w, Some(&w.seller_a));
        c.created_at = at(i);
        store
            .create_credential(&c, &[CredentialEvent::Issued])
            .await
            .expect("credential");
    }
}

/// A push writes `order.created`, a second push `order.updated`, a lifecycle change
/// its own events, each with the order as stored after it.
pub async fn order_writes_write_their_events(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let data = sample_order(&w.seller_a, "EV-1");
    let (order, _) = store
        .upsert_order(
            &data,
            &initial_progress(&data),
            at(1),
            &[OrderEvent::Pushed],
        )
        .await
        .unwrap();
    let created = store.get_order_view(&scope, order.id).await.unwrap();
    store
        .upsert_order(
            &data,
            &initial_progress(&data),
            at(2),
            &[OrderEvent::Pushed],
        )
        .await
        .unwrap();
    let updated = store.get_order_view(&scope, order.id).await.unwrap();
    let mut progress = updated.progress.clone();
    progress.state = OrderState::Paid;
    progress.history.push(StateChange {
        from: Some(updated.progress.state),
        to: OrderState::Paid,
        at: at(3),
    });
    progress.version = updated.progress.version + 1;
    let change = OrderChange {
        order_id: order.id,
        loaded_version: updated.progress.version,
        now: at(3),
        progress,
        new_history: 1,
        new_interactions: 0,
        stock: vec![],
        events: vec![OrderEvent::StatusChanged, OrderEvent::Invoiced],
        stock_events: vec![],
    };
    store.save_order_change(&scope, change).await.unwrap();
    let changed = store.get_order_view(&scope, order.id).await.unwrap();
    let events = events_of(&*store, &w.operator.id).await;
    assert_eq!(
        types(&events),
        [
            "order.created",
            "order.updated",
            "order.status_changed",
            "order.invoiced"
        ]
    );
    for e in &events {
        assert_eq!(e.entity, entity::ORDER);
        assert_eq!(e.entity_id, order.id.to_string());
        assert_eq!(e.seller_id.as_deref(), Some(w.seller_a.id.as_str()));
        assert_eq!(e.operator_id, w.operator.id);
        assert!(e.id.starts_with("evt_"), "{}", e.id);
    }
    assert_eq!(events[0].occurred_at, at(1));
    assert_eq!(
        events[0].payload_value(),
        json(PlainPayloads.order(&created))
    );
    assert_eq!(
        events[1].payload_value(),
        json(PlainPayloads.order(&updated))
    );
    assert_eq!(
        events[2].payload_value(),
        json(PlainPayloads.order(&changed))
    );
    assert_eq!(events[2].payload_value(), events[3].payload_value());
    assert_eq!(events[2].payload_value()["state"]["substatus"], "paid");
    // Ids are unique; `seq` grows with each write.
    assert!(events.windows(2).all(|p| p[0].seq < p[1].seq));
    assert_eq!(
        store
            .get_event(&w.operator.id, &events[2].id)
            .await
            .unwrap(),
        events[2]
    );
}

/// A change refused (stale, outside its scope) writes no event; nor does an
/// import (a bulk path).
pub async fn refused_changes_write_no_event(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let data = sample_order(&w.seller_a, "EV-2");
    let (order, _) = store
        .upsert_order(
            &data,
            &initial_progress(&data),
            at(1),
            &[OrderEvent::Pushed],
        )
        .await
        .unwrap();
    let view = store.get_order_view(&scope, order.id).await.unwrap();
    let stale = OrderChange {
        order_id: order.id,
        loaded_version: view.progress.version + 7,
        now: at(2),
        progress: view.progress.clone(),
        new_history: 0,
        new_interactions: 0,
        stock: vec![],
        events: vec![OrderEvent::TrackingSet],
        stock_events: vec![],
    };
    assert!(matches!(
        store.save_order_change(&scope, stale.clone()).await,
        Err(StoreError::Stale)
    ));
    let other = Scope::seller(&w.operator.id, &w.seller_b.id);
    assert!(matches!(
        store
            .save_order_change(
                &other,
                OrderChange {
                    loaded_version: view.progress.version,
                    ..stale
                }
            )
            .await,
        Err(StoreError::NotFound)
    ));
    // A product write on a version that moved: nothing of the change, no event.
    let saved = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(3),
                products: vec![new_write(
                    "EV-SKU",
                    ProductKind::Simple,
                    simple_fields("A", Some(100)),
                )],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = events_of(&*store, &w.operator.id).await.len();
    let mut again = new_write("EV-SKU", ProductKind::Simple, simple_fields("B", Some(100)));
    again.existing = Some((saved.products[0], 99));
    again.events = vec![CatalogEvent::ProductUpdated];
    let refused = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(4),
                products: vec![again],
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Stale)), "{refused:?}");
    let bulk = sample_order(&w.seller_a, "EV-BULK");
    store
        .import_orders(
            &[crate::ImportOrder {
                progress: initial_progress(&bulk),
                data: bulk,
            }],
            at(5),
        )
        .await
        .unwrap();
    let events = events_of(&*store, &w.operator.id).await;
    assert_eq!(events.len(), before);
    assert_eq!(types(&events), ["order.created", "product.created"]);
}

/// Opening with a message, a reply, the read state, mediation and closing: one event
/// per domain event, message events showing their message.
pub async fn ticket_changes_write_their_events(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let data = sample_order(&w.seller_a, "EV-3");
    let (order, _) = store
        .upsert_order(&data, &initial_progress(&data), at(1), &[])
        .await
        .unwrap();
    let subj = subject(&w.operator, "Atraso", 24);
    store.create_subject(&subj).await.unwrap();
    let mut open = TicketChange::open(
        TicketOrder::of(order.id, order.data.clone()),
        "Lojas Americanas-EV3".into(),
        &subj,
        Party::Seller,
        Party::Customer,
        false,
        at(2),
    );
    open.receive(
        &message(Conversation::CustomerSeller, Party::Customer, "Onde está?"),
        at(2),
    )
    .unwrap();
    let (ticket, first) = store.save_ticket(&scope, open).await.unwrap();
    let loaded = store.load_ticket(&scope, ticket.id).await.unwrap();
    let mut change = TicketChange::on(loaded);
    change.set_read_state(ReadState::Read, at(3));
    change.request_mediation(at(3));
    change.close(None, None, at(3)).unwrap();
    let (closed, none) = store.save_ticket(&scope, change).await.unwrap();
    assert!(none.is_empty());
    let events = events_of(&*store, &w.operator.id).await;
    assert_eq!(
        types(&events),
        [
            "ticket.opened",
            "ticket.message_added",
            "ticket.read_state_changed",
            "ticket.mediation_requested",
            "ticket.closed"
        ]
    );
    for e in &events {
        assert_eq!(e.entity, entity::TICKET);
        assert_eq!(e.entity_id, ticket.id.to_string());
        assert_eq!(e.seller_id.as_deref(), Some(w.seller_a.id.as_str()));
    }
    assert_eq!(
        events[0].payload_value(),
        json(PlainPayloads.ticket(&ticket, &first))
    );
    assert_eq!(
        events[1].payload_value()["messages"],
        serde_json::json!([first[0].id.to_string()])
    );
    assert_eq!(
        events[4].payload_value(),
        json(PlainPayloads.ticket(&closed, &[]))
    );
    assert_eq!(events[4].payload_value()["closed"], true);
    assert_eq!(events[4].occurred_at, at(3));
}

/// Product writes, stock and price writes and deletions write product events with
/// the product as stored after the whole change; a deletion shows its SKU.
pub async fn catalog_changes_write_their_events(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let p = new_product(&*store, &scope, "EV-P1").await;
    let id = p.id;
    let mut level = p.data.fields.stock[0].clone();
    level.quantity = 42;
    store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(2),
                stock: vec![StockWrite {
                    product_id: id,
                    levels: vec![level],
                    events: vec![CatalogEvent::StockSet],
                }],
                prices: vec![PriceWrite {
                    product_id: id,
                    price: Price {
                        list: Cents(900),
                        value: Cents(800),
                        expires_at: None,
                    },
                    events: vec![CatalogEvent::PriceSet],
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let after = store
        .get_product(&scope, &ProductKey::Id(id))
        .await
        .unwrap();
    store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(3),
                deletes: vec![ProductDelete {
                    product_id: id,
                    version: after.version,
                    events: vec![CatalogEvent::ProductDeleted],
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let events = events_of(&*store, &w.operator.id).await;
    assert_eq!(
        types(&events),
        [
            "product.created",
            "product.stock_changed",
            "product.price_changed",
            "product.deleted"
        ]
    );
    for e in &events {
        assert_eq!(e.entity, entity::PRODUCT);
        assert_eq!(e.entity_id, id.to_string());
        assert_eq!(e.seller_id.as_deref(), Some(w.seller_a.id.as_str()));
    }
    let links = CatalogLinks::default();
    assert_eq!(
        events[0].payload_value(),
        json(PlainPayloads.product(&p, &links))
    );
    // Both events of the second change show the product after all of it.
    assert_eq!(
        events[1].payload_value(),
        json(PlainPayloads.product(&after, &links))
    );
    assert_eq!(events[2].payload_value(), events[1].payload_value());
    assert_eq!(events[1].payload_value()["version"], after.version);
    assert_eq!(events[3].payload_value()["sku"], "EV-P1");
}

/// An order change's stock moves (a reservation) write each moved product's stock
/// event once, with the product after the moves, after the order's own events.
pub async fn stock_moves_write_product_events(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let before = new_product(&*store, &scope, "EV-R").await;
    let id = before.id;
    let level = &before.data.fields.stock[0];
    let data = sample_order(&w.seller_a, "EV-R1");
    let (order, _) = store
        .upsert_order(&data, &initial_progress(&data), at(2), &[])
        .await
        .unwrap();
    let view = store.get_order_view(&scope, order.id).await.unwrap();
    let mut progress = view.progress.clone();
    progress.version += 1;
    let moves = vec![
        StockMove {
            product_id: id,
            location_id: level.location.id,
            delta: -1,
        },
        StockMove {
            product_id: id,
            location_id: level.location.id,
            delta: -1,
        },
    ];
    progress.reservation = moves.clone();
    store
        .save_order_change(
            &scope,
            OrderChange {
                order_id: order.id,
                loaded_version: view.progress.version,
                now: at(3),
                progress,
                new_history: 0,
                new_interactions: 0,
                stock: moves,
                events: vec![OrderEvent::ErpMarked],
                stock_events: vec![CatalogEvent::StockSet],
            },
        )
        .await
        .unwrap();
    let after = store
        .get_product(&scope, &ProductKey::Id(id))
        .await
        .unwrap();
    assert_eq!(after.data.fields.stock[0].quantity, level.quantity - 2);
    let events = events_of(&*store, &w.operator.id).await;
    assert_eq!(
        types(&events),
        [
            "product.created",
            "order.erp_marked",
            "product.stock_changed"
        ]
    );
    let e = &events[2];
    assert_eq!(
        (e.entity.as_str(), e.entity_id.clone()),
        (entity::PRODUCT, id.to_string())
    );
    assert_eq!(e.occurred_at, at(3));
    assert_eq!(
        e.payload_value(),
        json(PlainPayloads.product(&after, &CatalogLinks::default()))
    );
}

/// Issuing and revoking write events (an operator's credential has no seller); a
/// second revocation changes nothing and writes none.
pub async fn credential_events_only_for_changes(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = credential(&w, None);
    store
        .create_credential(&c, &[CredentialEvent::Issued])
        .await
        .unwrap();
    store
        .revoke_credential(&c.id, at(5), &[CredentialEvent::Revoked])
        .await
        .unwrap();
    store
        .revoke_credential(&c.id, at(9), &[CredentialEvent::Revoked])
        .await
        .unwrap();
    assert!(matches!(
        store
            .revoke_credential("nope", at(9), &[CredentialEvent::Revoked])
            .await,
        Err(StoreError::NotFound)
    ));
    let events = events_of(&*store, &w.operator.id).await;
    assert_eq!(types(&events), ["credential.issued", "credential.revoked"]);
    assert_eq!(events[1].seller_id, None);
    assert_eq!(events[1].entity, entity::CREDENTIAL);
    assert_eq!(events[1].entity_id, c.id);
    assert_eq!(events[1].occurred_at, at(5));
    let revoked = store.get_credential(&c.id).await.unwrap();
    assert_eq!(
        events[1].payload_value(),
        json(PlainPayloads.credential(&revoked))
    );
}

/// One holder at a time: another claimer gets `None` while the lease runs; acks move
/// the cursor, so a claim after an ack starts after it.
pub async fn a_sink_is_held_by_one_holder(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    some_events(&*store, &w, 5).await;
    let a = store
        .claim_events("s", "A", 3, at(0), at(30))
        .await
        .unwrap()
        .expect("A takes the sink");
    assert_eq!(a.events.len(), 3);
    assert!(store
        .claim_events("s", "B", 3, at(1), at(31))
        .await
        .unwrap()
        .is_none());
    // Claiming again before acking hands the same events.
    let again = store
        .claim_events("s", "A", 3, at(1), at(31))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.events, a.events);
    store.ack_events("s", "A", a.last().unwrap()).await.unwrap();
    // An older ack changes nothing.
    store
        .ack_events("s", "A", a.through(1).unwrap())
        .await
        .unwrap();
    let rest = store
        .claim_events("s", "A", 10, at(2), at(32))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest.events.len(), 2);
    assert!(rest.positions[0] > a.last().unwrap());
    let all: Vec<String> = a
        .events
        .iter()
        .chain(&rest.events)
        .map(|e| e.id.clone())
        .collect();
    let listed: Vec<String> = events_of(&*store, &w.operator.id)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all, listed);
    store
        .ack_events("s", "A", rest.last().unwrap())
        .await
        .unwrap();
    assert!(store
        .claim_events("s", "A", 10, at(3), at(33))
        .await
        .unwrap()
        .unwrap()
        .events
        .is_empty());
    // A released sink is taken at once.
    store.release_sink("s", "A").await.unwrap();
    assert!(store
        .claim_events("s", "B", 10, at(4), at(34))
        .await
        .unwrap()
        .is_some());
    let state = store.sink_state("s").await.unwrap().unwrap();
    assert_eq!(state.holder.as_deref(), Some("B"));
    assert_eq!(state.position, rest.last().unwrap());
}

/// A holder that stops renewing (killed mid-claim) leaves its unacked events to the
/// next claimer once its lease has passed; its late ack is refused.
pub async fn a_lapsed_lease_hands_the_work_over(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    some_events(&*store, &w, 4).await;
    let a = store
        .claim_events("s", "A", 10, at(0), at(30))
        .await
        .unwrap()
        .unwrap();
    store
        .ack_events("s", "A", a.through(1).unwrap())
        .await
        .unwrap();
    assert!(store
        .claim_events("s", "B", 10, at(29), at(59))
        .await
        .unwrap()
        .is_none());
    let b = store
        .claim_events("s", "B", 10, at(30), at(60))
        .await
        .unwrap()
        .expect("the lease passed");
    assert_eq!(b.events, a.events[1..].to_vec());
    assert!(matches!(
        store.ack_events("s", "A", a.last().unwrap()).await,
        Err(StoreError::Stale)
    ));
    store.ack_events("s", "B", b.last().unwrap()).await.unwrap();
}

/// Each sink sees every event, whatever the others acked.
pub async fn sinks_have_cursors_of_their_own(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    some_events(&*store, &w, 3).await;
    let n = store
        .claim_events("nats", "A", 10, at(0), at(30))
        .await
        .unwrap()
        .unwrap();
    store
        .ack_events("nats", "A", n.last().unwrap())
        .await
        .unwrap();
    let h = store
        .claim_events("webhooks", "A", 10, at(0), at(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.events, n.events);
    assert!(matches!(
        store.ack_events("never-claimed", "A", 1).await,
        Err(StoreError::Stale)
    ));
}

/// Claimers racing on one sink: one holds it, the other gets nothing, so no event is
/// handed to both.
pub async fn concurrent_claimers_get_disjoint_events(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    some_events(&*store, &w, 6).await;
    let tasks: Vec<_> = ["A", "B", "C", "D"]
        .into_iter()
        .map(|holder| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_events("race", holder, 10, at(0), at(30))
                    .await
                    .unwrap()
                    .map(|c| (holder, c))
            })
        })
        .collect();
    let mut held = Vec::new();
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            held.push(c);
        }
    }
    assert_eq!(
        held.len(),
        1,
        "{:?}",
        held.iter().map(|h| h.0).collect::<Vec<_>>()
    );
    assert_eq!(held[0].1.events.len(), 6);
}

/// Events since a time, paged by (occurred_at, seq), within the operator (and
/// seller); an event of another operator is not found.
pub async fn events_are_listed_by_time_and_scope(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    some_events(&*store, &w, 5).await;
    let mut c = credential(&w, Some(&w.seller_b));
    c.created_at = at(2);
    store
        .create_credential(&c, &[CredentialEvent::Issued])
        .await
        .unwrap();
    let other = world(&*store).await;
    some_events(&*store, &other, 1).await;
    let page = |seller: Option<&Seller>, after| EventFilter {
        operator_id: w.operator.id.clone(),
        seller_id: seller.map(|s| s.id.clone()),
        since: at(2),
        after,
        limit: 2,
    };
    let first = store.list_events(&page(None, None)).await.unwrap();
    let times: Vec<Timestamp> = first.iter().map(|e| e.occurred_at).collect();
    assert_eq!(times, [at(2), at(2)]);
    let last = first.last().unwrap();
    let second = store
        .list_events(&page(None, Some((last.occurred_at, last.seq))))
        .await
        .unwrap();
    let times: Vec<Timestamp> = second.iter().map(|e| e.occurred_at).collect();
    assert_eq!(times, [at(3), at(4)]);
    let b = store
        .list_events(&page(Some(&w.seller_b), None))
        .await
        .unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].entity_id, c.id);
    let theirs = events_of(&*store, &other.operator.id).await;
    assert_eq!(theirs.len(), 1);
    assert!(matches!(
        store.get_event(&w.operator.id, &theirs[0].id).await,
        Err(StoreError::NotFound)
    ));
}

/// Retention deletes events older than a time, oldest first, in batches.
pub async fn old_events_are_pruned(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    some_events(&*store, &w, 5).await;
    assert_eq!(store.prune_events(at(3), 2).await.unwrap(), 2);
    assert_eq!(store.prune_events(at(3), 2).await.unwrap(), 1);
    assert_eq!(store.prune_events(at(3), 2).await.unwrap(), 0);
    let left: Vec<Timestamp> = events_of(&*store, &w.operator.id)
        .await
        .iter()
        .map(|e| e.occurred_at)
        .collect();
    assert_eq!(left, [at(3), at(4)]);
}
