//! No change without its events, no event without its change, across a SIGKILL: the
//! real binary takes order pushes from several clients at once and is killed with
//! `kill -9` in their middle; started again on the same database, every push it had
//! acknowledged has exactly one `order.created` event naming that order, and every
//! event names an order that exists with the pushed marketplace id (pushes in flight
//! at the kill either landed whole, with their event, or not at all). SQLite and
//! PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{cli, fresh_database, order_body, serve, Backend, TempDir};
use entreposto::config::Config;
use entreposto_domain::{Scope, Timestamp};
use entreposto_store::EventFilter;

binary_on_both_backends!(a_killed_server_keeps_every_change_with_its_events);

/// Pushes acknowledged before the kill.
const ACKED_BEFORE_KILL: usize = 300;
const CLIENTS: usize = 8;

async fn a_killed_server_keeps_every_change_with_its_events(backend: Backend) {
    let dir = TempDir::new();
    let db = fresh_database(backend, &dir).await.expect("database");
    let (ok, op, err) = cli(&db, &["operator", "create", "--name", "Marketplace"]);
    assert!(ok, "{err}");
    let op_id = op["id"].as_str().unwrap().to_string();
    let token = format!("Bearer {}", op["token"].as_str().unwrap());
    let (ok, seller, err) = cli(
        &db,
        &["seller", "create", "--operator", &op_id, "--name", "Loja"],
    );
    assert!(ok, "{err}");
    let seller_id = seller["id"].as_str().unwrap().to_string();

    let (mut server, base) = serve(&db);
    // marketplace id -> hub id, for every push answered 201.
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let client = reqwest::Client::new();
    let mut pushers = Vec::new();
    for c in 0..CLIENTS {
        let (acked, client, base, token, seller_id) = (
            acked.clone(),
            client.clone(),
            base.clone(),
            token.clone(),
            seller_id.clone(),
        );
        pushers.push(tokio::spawn(async move {
            for n in 0.. {
                let code = format!("K-{c}-{n}");
                let sent = client
                    .post(format!("{base}/api/v1/orders"))
                    .header("authorization", &token)
                    .json(&order_body(&seller_id, &code))
                    .send()
                    .await;
                // The kill breaks connections: this client is done.
                let Ok(r) = sent else { return };
                if r.status().as_u16() != 201 {
                    continue;
                }
                let Ok(body) = r.json::<serde_json::Value>().await else {
                    return;
                };
                let id = body["id"].as_str().unwrap_or_default().to_string();
                acked.lock().unwrap().insert(code, id);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL {
        assert!(Instant::now() < deadline, "the pushes did not get through");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("SIGKILL");
    let _ = server.wait();
    for p in pushers {
        let _ = p.await;
    }
    let acked = acked.lock().unwrap().clone();

    // Started again on the same database; then read what it holds.
    let (mut server, _) = serve(&db);
    let _ = server.kill();
    let _ = server.wait();
    let store = entreposto::store::open(&Config {
        database_url: db.as_str().into(),
        ..Config::default()
    })
    .await
    .expect("store");
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_events(&EventFilter {
                operator_id: op_id.clone(),
                seller_id: Some(seller_id.clone()),
                since: Timestamp(0),
                after,
                limit: 1000,
            })
            .await
            .expect("events");
        let Some(last) = page.last() else { break };
        after = Some((last.occurred_at, last.seq));
        events.extend(page);
    }
    let scope = Scope::seller(&op_id, &seller_id);
    let mut evented: BTreeSet<String> = BTreeSet::new();
    for e in &events {
        assert_eq!(e.event_type, "order.created", "{e:?}");
        assert!(
            evented.insert(e.entity_id.clone()),
            "two events for {}",
            e.entity_id
        );
        // No event without its change: the order is there, as pushed.
        let id: i64 = e.entity_id.parse().expect("order id");
        let view = store.get_order_view(&scope, id).await.expect("its order");
        assert_eq!(
            e.payload_value()["marketplaceOrderId"],
            view.order.data.marketplace_order_id.as_str()
        );
    }
    // No change without its event: every acknowledged push, and every order stored.
    for (code, id) in &acked {
        assert!(
            evented.contains(id),
            "push {code} (order {id}) has no event"
        );
    }
    let orders = store.count_orders(&scope).await.expect("count");
    assert_eq!(orders, events.len() as u64);
    eprintln!(
        "{} pushes acknowledged before the kill, {} orders stored, each with its event",
        acked.len(),
        orders
    );
}
