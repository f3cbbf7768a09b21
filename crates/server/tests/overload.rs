//! Overload through HTTP: writes arriving faster than SQLite's writer drains them, on
//! a writer queue of two, are answered 503 with `Retry-After` in each dialect's own
//! envelope (00K's internal-error code 3.0 among them), and every write answered 2xx
//! is there afterwards.
//!
//! The writer is made slow without test hooks: the test holds SQLite's write lock from
//! a connection of its own, so the writer's next `BEGIN IMMEDIATE` waits, its queue
//! fills, and further writes are refused until the lock is released.

mod common;

use std::time::Duration;

use common::{bearer, order_body, Backend, TestApp};
use entreposto_domain::Dialect;
use entreposto_http::ApiError;
use serde_json::{json, Value};

const WRITES: usize = 40;

fn tiny_writer_queue(config: &mut entreposto::config::Config) {
    config.sqlite.writer_queue = 2;
}

/// The answer to an overloaded write: 503, `Retry-After`, JSON.
fn assert_busy(r: &common::Reply, what: &str) {
    assert_eq!(r.status, 503, "{what}: {:?}", r.body);
    let retry = r.headers.get("retry-after").and_then(|v| v.to_str().ok());
    assert_eq!(retry, Some("1"), "{what}: Retry-After");
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/json"),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_past_the_queue_get_503_and_acknowledged_ones_survive() {
    let app = TestApp::spawn_with(Backend::Sqlite, tiny_writer_queue)
        .await
        .expect("sqlite app");
    let (op, token) = app.operator().await;
    let token = bearer(&token);
    let seller = app.seller(&op, "Loja A").await;
    let sky = app
        .credential(&op, Some(&seller), Dialect::named("skyhub"))
        .await
        .headers;
    let omnik = app
        .credential(&op, Some(&seller), Dialect::named("omnik"))
        .await
        .headers;
    let zerok = app
        .credential(&op, Some(&seller), Dialect::named("zerok"))
        .await
        .headers;
    let subject = json!({"subject": "Produto não chegou", "sla": 48, "forReturn": false});
    assert_eq!(
        app.post("/api/v1/subjects", &token, &subject).await.status,
        201
    );
    let order = app
        .post("/api/v1/orders", &token, &order_body(&seller.id, "BASE-1"))
        .await;
    assert_eq!(order.status, 201);
    let order_id = order.body["id"].as_str().unwrap().to_string();
    let ticket = app
        .post(
            &format!("/api/v1/orders/{order_id}/tickets"),
            &token,
            &json!({"subject": "Produto não chegou", "mediation": false}),
        )
        .await;
    assert_eq!(ticket.status, 201, "{:?}", ticket.body);
    let code = ticket.body["code"].as_str().unwrap().replace(' ', "%20");

    let blocker = rusqlite::Connection::open(&app.database_url).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let app = std::sync::Arc::new(app);
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..WRITES {
        let (app, token, seller) = (app.clone(), token.clone(), seller.id.clone());
        writes.spawn(async move {
            let code = format!("LOAD-{i}");
            let r = app
                .post("/api/v1/orders", &token, &order_body(&seller, &code))
                .await;
            (code, r)
        });
    }
    // Refusals come back at once (well before the writer's 10 s busy timeout would
    // answer anything); the accepted writes wait for the writer.
    let mut replies = Vec::new();
    let refusals = async {
        let mut refused = 0;
        while refused < 10 {
            let (code, r) = writes.join_next().await.unwrap().unwrap();
            assert_busy(&r, "native order");
            assert_eq!(r.body["error"]["code"], "busy", "{:?}", r.body);
            refused += 1;
            replies.push((code, r));
        }
    };
    tokio::time::timeout(Duration::from_secs(5), refusals)
        .await
        .expect("writes past the queue were not refused at once");

    // The queue is still full: every dialect's writes are refused in its envelope.
    let omnik_case = json!({"customerServiceData": {"subject": "Produto não chegou", "responsible": "SELLER"},
        "orderData": {"id": order_id},
        "comments": [{"entity": "CLIENTE", "subject": "Produto não chegou", "comment": "Não chegou",
            "customerCanView": true, "author": {"email": "c@example.com"},
            "iterationDate": "2023-06-06T21:41:57.123000", "responsible": "SELLER"}]});
    let r = app
        .post("/omnik/HUB/v1/orders/customerservice", &omnik, &omnik_case)
        .await;
    assert_busy(&r, "omnik");
    assert_eq!(r.body["code"], 503);
    assert!(r.body["messages"][0]["message"].is_string(), "{:?}", r.body);
    let reply = json!({"deliveryId": "3", "identityId": "00007604079750", "messageTo": "TO_CUSTOMER",
        "messageType": "TEXT_MESSAGE", "orderId": "1234567", "message": "Já enviamos"});
    let r = app
        .post(
            &format!("/skyhub/sac/{code}/chats/CUSTOMER_SELLER"),
            &sky,
            &reply,
        )
        .await;
    assert_busy(&r, "skyhub");
    assert!(r.body["errors"]["detail"].is_string(), "{:?}", r.body);
    // 00K's code for an internal error: 3.0.
    let r = app
        .post(
            "/00k/catalog/brands",
            &zerok,
            &json!({"info": {"name": "Marca Cheia"}}),
        )
        .await;
    assert_busy(&r, "zerok");
    assert_eq!(r.body["code"], "3.0", "{:?}", r.body);

    blocker.execute_batch("COMMIT").unwrap();
    while let Some(done) = writes.join_next().await {
        replies.push(done.unwrap());
    }
    let mut acknowledged = 0;
    for (code, r) in &replies {
        match r.status {
            201 => {
                acknowledged += 1;
                let id = r.body["id"].as_str().unwrap();
                let back = app.get(&format!("/api/v1/orders/{id}"), &token).await;
                assert_eq!(back.status, 200, "acknowledged order {code} lost");
                assert_eq!(back.body["marketplaceOrderId"], code.as_str());
            }
            _ => assert_busy(r, code),
        }
    }
    assert!(acknowledged >= 1, "no write was accepted");
    assert_eq!(replies.len(), WRITES);
    // Refused writes left nothing behind: only acknowledged orders (and the first).
    let scope = entreposto_domain::Scope {
        operator_id: op.id.clone(),
        seller_id: Some(seller.id.clone()),
    };
    let count = app.store.count_orders(&scope).await.unwrap();
    assert_eq!(count, acknowledged as u64 + 1);
    // Drained, the same writes are accepted again.
    let r = app
        .post("/api/v1/orders", &token, &order_body(&seller.id, "AFTER-1"))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

/// Every mounted API renders `Busy` as 503 with `Retry-After` in its own envelope
/// (the overload itself is shown over HTTP on the native API's writes above).
#[tokio::test]
async fn every_dialect_renders_busy_with_retry_after() {
    for mount in entreposto::mounts::MOUNTS {
        let res = (mount.renderer)("/anything")(&ApiError::Busy);
        assert_eq!(res.status(), 503, "{}", mount.prefix);
        assert_eq!(res.headers()["retry-after"], "1", "{}", mount.prefix);
        assert_eq!(res.headers()["content-type"], "application/json");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        let text = body.to_string();
        assert!(
            text.contains("busy") || text.contains("consistency"),
            "{}: {text}",
            mount.prefix
        );
    }
}
