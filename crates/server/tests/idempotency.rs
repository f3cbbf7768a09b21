//! `Idempotency-Key` over HTTP on both backends, the clock set by the test: in every
//! dialect a repeated write answers the first answer without doing the work again
//! (rows counted), the same key with another request (another body or query, or a
//! credential header dropped) is a 422 naming the header in the dialect's envelope,
//! a key belongs to its operation (method and path) and to its credential, a failure is not kept, the answer
//! outlives the server that gave it (a second server on the same database replays
//! it), a key still in flight is a 409 until its lease runs out, and a key expires
//! after a day.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{bearer, order_body, recon, Backend, Reply, TestApp};
use entreposto_app::ManualClock;
use entreposto_domain::{Dialect, Scope, Timestamp};
use entreposto_store::{IdempotencyClaim, TicketFilter};
use reqwest::Method;
use serde_json::{json, Value};

type Headers = BTreeMap<String, String>;

const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;

on_both_databases!(
    native_orders_are_pushed_once,
    skyhub_replies_are_sent_once,
    omnik_tickets_are_opened_once,
    zerok_imports_are_started_once,
    koncili_orders_are_pushed_once,
    keys_are_per_credential,
    concurrent_repeats_run_once,
    failures_are_not_kept,
    answers_outlive_their_server,
    a_key_in_flight_is_a_conflict_until_its_lease_ends,
    keys_expire_after_a_day,
);

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at(Timestamp::now()))
}

async fn spawn(backend: Backend, clock: &Arc<ManualClock>) -> TestApp {
    TestApp::spawn_clocked(backend, clock.clone(), |_| {})
        .await
        .expect("app")
}

fn keyed(headers: &Headers, key: &str) -> Headers {
    let mut h = headers.clone();
    h.insert("Idempotency-Key".into(), key.into());
    h
}

async fn send(app: &TestApp, method: Method, path: &str, headers: &Headers, body: &Value) -> Reply {
    app.call(
        method,
        path,
        headers,
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
}

/// `again` is `first` replayed: the same status, content type and body, marked.
fn replayed(first: &Reply, again: &Reply) {
    assert_eq!(again.status, first.status, "{:?}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.content_type, first.content_type);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert!(first.headers.get("idempotent-replayed").is_none());
}

/// The 422 of a key sent with another request, in the dialect's envelope.
fn reused(r: &Reply, message: &Value) {
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let text = message.as_str().unwrap_or_default();
    assert!(text.contains("Idempotency-Key"), "{}", r.body);
    assert!(text.contains("another request"), "{}", r.body);
}

async fn orders(app: &TestApp, scope: &Scope) -> u64 {
    app.store.count_orders(scope).await.unwrap()
}

async fn native_orders_are_pushed_once(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let token = bearer(&token);
    let scope = Scope::seller(op.id.clone(), &seller.id);
    let body = order_body(&seller.id, "02-100");
    let h = keyed(&token, "order-02-100");
    let first = send(&app, Method::POST, "/api/v1/orders", &h, &body).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    // The order changes meanwhile (paid): a replay is still the first answer.
    let id = first.body["id"].as_str().unwrap();
    let paid = app
        .post(&format!("/api/v1/orders/{id}/payment"), &token, &json!({}))
        .await;
    assert!(paid.status < 300, "{:?}", paid.body);
    let again = send(&app, Method::POST, "/api/v1/orders", &h, &body).await;
    replayed(&first, &again);
    assert_eq!(orders(&app, &scope).await, 1);
    // Without the key the same push is done again: an update, 200.
    let plain = send(&app, Method::POST, "/api/v1/orders", &token, &body).await;
    assert_eq!(plain.status, 200, "{:?}", plain.body);

    let other = order_body(&seller.id, "02-101");
    let r = send(&app, Method::POST, "/api/v1/orders", &h, &other).await;
    reused(&r, &r.body["error"]["message"]);
    assert_eq!(r.body["error"]["field"], "Idempotency-Key");
    assert_eq!(
        orders(&app, &scope).await,
        1,
        "the other order was not pushed"
    );
    // A malformed key names the header too.
    let bad = send(
        &app,
        Method::POST,
        "/api/v1/orders",
        &keyed(&token, "a b"),
        &other,
    )
    .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["error"]["field"], "Idempotency-Key");

    // A key belongs to its operation: on another endpoint it is another key, and a
    // method the path does not serve answers its 405 whatever key it carries.
    let paid_again = send(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{id}/payment"),
        &h,
        &json!({}),
    )
    .await;
    assert!(paid_again.status < 300, "{:?}", paid_again.body);
    assert!(paid_again.headers.get("idempotent-replayed").is_none());
    for _ in 0..2 {
        let wrong = send(&app, Method::PATCH, "/api/v1/orders", &h, &body).await;
        assert_eq!(wrong.status, 405, "{:?}", wrong.body);
    }
}

async fn skyhub_replies_are_sent_once(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let shop = common::shop(&app).await;
    let order = app
        .post(
            "/api/v1/orders",
            &shop.token,
            &order_body(&shop.seller.id, "02-200"),
        )
        .await;
    let order_id = order.body["id"].as_str().unwrap();
    let t = app
        .post(
            &format!("/api/v1/orders/{order_id}/tickets"),
            &shop.token,
            &json!({"subject": "Produto não chegou", "mediation": false}),
        )
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    let code = t.body["code"].as_str().unwrap().replace(' ', "%20");
    let url = format!("/skyhub/sac/{code}/chats/CUSTOMER_SELLER");
    let reply = json!({"messageTo": "TO_CUSTOMER", "messageType": "TEXT_MESSAGE", "message": "Já enviamos."});
    let h = keyed(&shop.sky, "reply-1");
    let first = send(&app, Method::POST, &url, &h, &reply).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let again = send(&app, Method::POST, &url, &h, &reply).await;
    replayed(&first, &again);
    let chats = app
        .get(&format!("/skyhub/sac/{code}/chats"), &shop.sky)
        .await;
    let messages = chats.body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "one reply: {}", chats.body);

    let r = send(
        &app,
        Method::POST,
        &url,
        &h,
        &json!({"messageTo": "TO_CUSTOMER",
        "messageType": "TEXT_MESSAGE", "message": "Outra."}),
    )
    .await;
    reused(&r, &r.body["errors"]["detail"]);
    // A PATCH is a write too.
    let status = keyed(&shop.sky, "status-1");
    let read = send(
        &app,
        Method::PATCH,
        &url,
        &status,
        &json!({"status": "READ"}),
    )
    .await;
    assert_eq!(read.status, 204, "{:?}", read.body);
    replayed(
        &read,
        &send(
            &app,
            Method::PATCH,
            &url,
            &status,
            &json!({"status": "READ"}),
        )
        .await,
    );
}

async fn omnik_tickets_are_opened_once(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let shop = common::shop(&app).await;
    let omnik = app
        .credential(&shop.op, Some(&shop.seller), Dialect::named("omnik"))
        .await
        .headers;
    let order = app
        .post(
            "/api/v1/orders",
            &shop.token,
            &order_body(&shop.seller.id, "02-300"),
        )
        .await;
    let order_id = order.body["id"].as_str().unwrap();
    let create = json!({"customerServiceData": {"subject": "Produto não chegou", "responsible": "SELLER"},
        "orderData": {"id": order_id},
        "comments": [{"entity": "CLIENTE", "subject": "Produto não chegou", "comment": "Não chegou",
            "customerCanView": true, "author": {"email": "a@loja.com.br"},
            "iterationDate": "2023-06-06T21:41:57.123000", "responsible": "SELLER"}]});
    let cs = "/omnik/HUB/v1/orders/customerservice";
    let h = keyed(&omnik, "open-1");
    let first = send(&app, Method::POST, cs, &h, &create).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = send(&app, Method::POST, cs, &h, &create).await;
    replayed(&first, &again);
    let scope = Scope::seller(shop.op.id.clone(), &shop.seller.id);
    let tickets = app
        .store
        .count_tickets(&scope, &TicketFilter::default())
        .await
        .unwrap();
    assert_eq!(tickets, 1);
    // The trailing-slash spelling is the same operation sent otherwise: another
    // request with its key.
    let r = send(&app, Method::POST, &format!("{cs}/"), &h, &create).await;
    reused(&r, &r.body["message"]);
    assert_eq!(r.body["code"], 422);
    // A repeat without the credential's `application_id` is not the request that was
    // answered: refused, not replayed, and nothing is opened.
    let mut partial = h.clone();
    partial.remove("application_id");
    let r = send(&app, Method::POST, cs, &partial, &create).await;
    assert!((400..500).contains(&r.status), "{:?}", r.body);
    assert!(r.headers.get("idempotent-replayed").is_none());
    let tickets = app
        .store
        .count_tickets(&scope, &TicketFilter::default())
        .await
        .unwrap();
    assert_eq!(tickets, 1);
    // An operator's credential names its seller in `seller`: the same key for
    // another seller is another request, refused, never answered with the first
    // seller's ticket.
    let other = app.seller(&shop.op, "Loja B").await;
    let operator = app
        .credential(&shop.op, None, Dialect::named("omnik"))
        .await
        .headers;
    let mut for_a = keyed(&operator, "open-op");
    for_a.insert("seller".into(), shop.seller.id.clone());
    let another = app
        .post(
            "/api/v1/orders",
            &shop.token,
            &order_body(&shop.seller.id, "02-301"),
        )
        .await;
    let mut second = create.clone();
    second["orderData"]["id"] = another.body["id"].clone();
    let first = send(&app, Method::POST, cs, &for_a, &second).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let mut for_b = for_a.clone();
    for_b.insert("seller".into(), other.id.clone());
    let r = send(&app, Method::POST, cs, &for_b, &second).await;
    assert!(
        r.headers.get("idempotent-replayed").is_none(),
        "{:?}",
        r.body
    );
    reused(&r, &r.body["message"]);
    let mut unscoped = for_a.clone();
    unscoped.remove("seller");
    let r = send(&app, Method::POST, cs, &unscoped, &second).await;
    assert!(
        r.headers.get("idempotent-replayed").is_none(),
        "{:?}",
        r.body
    );
    let theirs = Scope::seller(shop.op.id.clone(), &other.id);
    let tickets = app
        .store
        .count_tickets(&theirs, &TicketFilter::default())
        .await
        .unwrap();
    assert_eq!(tickets, 0);
}

/// A 00K store key, and its scope.
async fn store_key(
    app: &TestApp,
) -> (
    Headers,
    Scope,
    entreposto_domain::Operator,
    entreposto_domain::Seller,
) {
    let (op, _) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let key = app
        .credential(&op, Some(&seller), Dialect::named("zerok"))
        .await
        .headers;
    (key, Scope::seller(op.id.clone(), &seller.id), op, seller)
}

/// A 00K import of one product: every run of it is a job of its own.
fn import() -> Value {
    json!([{
        "sku": "SKU-1", "externalId": 1, "type": "simple",
        "info": {"name": "Produto", "subtitle": "Teste", "status": 1, "published": "publicado", "model": "M-1"},
        "stock": [{"info": {"quantity": 15, "minimum": 2}}],
        "price": [{"list": 500, "value": 499.99}],
        "dimensions": {"height": 45, "width": 35, "length": 25, "weight": 500}
    }])
}

async fn jobs(app: &TestApp, scope: &Scope) -> usize {
    app.store.list_import_jobs(scope, 100).await.unwrap().len()
}

const IMPORT: &str = "/00k/catalog/import";

async fn zerok_imports_are_started_once(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let (key, scope, ..) = store_key(&app).await;
    let h = keyed(&key, "import-1");
    let first = send(&app, Method::POST, IMPORT, &h, &import()).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let again = send(&app, Method::POST, IMPORT, &h, &import()).await;
    replayed(&first, &again);
    assert_eq!(jobs(&app, &scope).await, 1);
    let mut other = import();
    other[0]["sku"] = json!("SKU-2");
    let r = send(&app, Method::POST, IMPORT, &h, &other).await;
    reused(&r, &r.body["description"]);
    assert_eq!(r.body["code"], "2.1");
    assert_eq!(r.body["httpCode"], 422);
    // Without the key the same body is another job.
    let plain = send(&app, Method::POST, IMPORT, &key, &import()).await;
    assert_eq!(plain.status, 202);
    assert_ne!(plain.body, first.body);
    assert_eq!(jobs(&app, &scope).await, 2);
}

async fn koncili_orders_are_pushed_once(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let r = recon::recon(&app, "Loja A").await;
    let body = recon::koncili_order("K-1", |_| {});
    let h = keyed(&r.kon, "push-K-1");
    let first = send(&app, Method::POST, "/koncili/externalapi/order", &h, &body).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let pushed = recon::extract(&app, &r.kon, "K-1").await;
    // The integrator corrects the order (without a key)...
    let corrected = recon::koncili_order("K-1", |v| {
        v["totalNetValue"] = json!(600.0);
        v["items"][0]["unitValue"] = json!(600.0);
        v["payments"][0]["value"] = json!(600.0);
    });
    recon::push(&app, &r.kon, &corrected).await;
    let now = recon::extract(&app, &r.kon, "K-1").await;
    assert_ne!(now, pushed);
    // ...then a retry of the first push: its first answer, and the first body is not
    // pushed over the correction.
    let again = send(&app, Method::POST, "/koncili/externalapi/order", &h, &body).await;
    replayed(&first, &again);
    assert_eq!(recon::extract(&app, &r.kon, "K-1").await, now);
    // The same key under another method is another operation's key: it runs.
    let put = send(&app, Method::PUT, "/koncili/externalapi/order", &h, &body).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert!(put.headers.get("idempotent-replayed").is_none());
    assert_eq!(recon::extract(&app, &r.kon, "K-1").await, pushed);
}

async fn keys_are_per_credential(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let (key, scope, op, seller) = store_key(&app).await;
    let other = app
        .credential(&op, Some(&seller), Dialect::named("zerok"))
        .await
        .headers;
    let mut answers = Vec::new();
    for headers in [&key, &other] {
        let r = send(
            &app,
            Method::POST,
            IMPORT,
            &keyed(headers, "same"),
            &import(),
        )
        .await;
        assert_eq!(r.status, 202, "{:?}", r.body);
        assert!(r.headers.get("idempotent-replayed").is_none());
        answers.push(r.body);
    }
    assert_ne!(
        answers[0], answers[1],
        "each credential's key did its own work"
    );
    assert_eq!(jobs(&app, &scope).await, 2);
}

async fn concurrent_repeats_run_once(backend: Backend) {
    let clock = clock();
    let app = Arc::new(spawn(backend, &clock).await);
    let (key, scope, ..) = store_key(&app).await;
    let h = keyed(&key, "burst");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, h) = (app.clone(), h.clone());
            tokio::spawn(async move { send(&app, Method::POST, IMPORT, &h, &import()).await })
        })
        .collect();
    let mut ran = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            202 if r.headers.get("idempotent-replayed").is_none() => ran += 1,
            // Replayed, or told the first is still in flight.
            202 | 409 => {}
            s => panic!("{s}: {:?}", r.body),
        }
    }
    assert_eq!(ran, 1, "one of the racing requests ran");
    assert_eq!(jobs(&app, &scope).await, 1);
}

async fn failures_are_not_kept(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let h = keyed(&bearer(&token), "retry-me");
    let mut body = order_body(&seller.id, "02-400");
    body["items"][0]["quantity"] = json!(0);
    let refused = send(&app, Method::POST, "/api/v1/orders", &h, &body).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.body["error"]["field"], "items[0].quantity");
    // Corrected and sent again with the same key: it runs.
    body["items"][0]["quantity"] = json!(1);
    let done = send(&app, Method::POST, "/api/v1/orders", &h, &body).await;
    assert_eq!(done.status, 201, "{:?}", done.body);
    assert!(done.headers.get("idempotent-replayed").is_none());
}

async fn answers_outlive_their_server(backend: Backend) {
    let clock = clock();
    let first_server = spawn(backend, &clock).await;
    let (op, token) = first_server.operator().await;
    let seller = first_server.seller(&op, "Loja A").await;
    let h = keyed(&bearer(&token), "once");
    let body = order_body(&seller.id, "02-500");
    let first = send(&first_server, Method::POST, "/api/v1/orders", &h, &body).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    // Another server on the same database (a restart, or another node).
    let url = first_server.database_url.clone();
    let second_server = TestApp::spawn_clocked(backend, clock.clone(), |c| {
        c.database_url = url.as_str().into()
    })
    .await
    .unwrap();
    let again = send(&second_server, Method::POST, "/api/v1/orders", &h, &body).await;
    replayed(&first, &again);
    let scope = Scope::seller(op.id.clone(), &seller.id);
    assert_eq!(orders(&second_server, &scope).await, 1);
}

async fn a_key_in_flight_is_a_conflict_until_its_lease_ends(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let (op, _) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let c = app
        .credential(&op, Some(&seller), Dialect::named("zerok"))
        .await;
    let body = import();
    let bytes = serde_json::to_vec(&body).unwrap();
    // Another node took the key for this very request and has not answered (it died).
    let authorization = c.headers["Authorization"].as_bytes();
    let claim = IdempotencyClaim {
        credential_id: c.id.clone(),
        key: entreposto_http::idempotency::operation_key(&Method::POST, "/catalog/import", "slow"),
        request_hash: entreposto_http::idempotency::request_hash(
            &Method::POST,
            "/catalog/import",
            &[("Authorization", Some(authorization))],
            &bytes,
        ),
        at: clock.now_ts(),
    };
    let none = app
        .store
        .claim_idempotency_key(&claim, Timestamp(0), Timestamp(0))
        .await
        .unwrap();
    assert!(none.is_none());
    let h = keyed(&c.headers, "slow");
    let busy = send(&app, Method::POST, IMPORT, &h, &body).await;
    assert_eq!(busy.status, 409, "{:?}", busy.body);
    assert_eq!(busy.headers["retry-after"], "1");
    assert_eq!(busy.body["code"], "2.1");
    assert!(busy.body["description"]
        .as_str()
        .unwrap()
        .contains("has not finished"));
    let scope = Scope::seller(op.id.clone(), &seller.id);
    assert_eq!(jobs(&app, &scope).await, 0);
    // Past the lease (a minute by default) the next request takes the key over.
    clock.advance(61 * SECOND);
    let done = send(&app, Method::POST, IMPORT, &h, &body).await;
    assert_eq!(done.status, 202, "{:?}", done.body);
    replayed(&done, &send(&app, Method::POST, IMPORT, &h, &body).await);
    assert_eq!(jobs(&app, &scope).await, 1);
    // The dead node's late answer is not kept over it.
    let late = entreposto_store::StoredResponse {
        status: 201,
        content_type: None,
        body: b"late".to_vec(),
    };
    assert!(!app
        .store
        .complete_idempotency_key(&claim, &late)
        .await
        .unwrap());
}

async fn keys_expire_after_a_day(backend: Backend) {
    let clock = clock();
    let app = spawn(backend, &clock).await;
    let (key, scope, ..) = store_key(&app).await;
    let h = keyed(&key, "daily");
    let first = send(&app, Method::POST, IMPORT, &h, &import()).await;
    assert_eq!(first.status, 202);
    clock.advance(DAY - SECOND);
    replayed(
        &first,
        &send(&app, Method::POST, IMPORT, &h, &import()).await,
    );
    assert_eq!(jobs(&app, &scope).await, 1);
    clock.advance(2 * SECOND);
    let anew = send(&app, Method::POST, IMPORT, &h, &import()).await;
    assert_eq!(anew.status, 202, "{:?}", anew.body);
    assert!(anew.headers.get("idempotent-replayed").is_none());
    assert_eq!(jobs(&app, &scope).await, 2, "done again");
    // The hourly cleanup deletes what has expired, and only that.
    let (kept, _) = entreposto::housekeeping::sweep(app.store.as_ref(), clock.now_ts())
        .await
        .unwrap();
    assert_eq!(kept, 0, "the key's new record is young");
    clock.advance(DAY + SECOND);
    let (purged, _) = entreposto::housekeeping::sweep(app.store.as_ref(), clock.now_ts())
        .await
        .unwrap();
    assert_eq!(purged, 1);
}

/// The manual clock's time.
trait Now {
    fn now_ts(&self) -> Timestamp;
}

impl Now for ManualClock {
    fn now_ts(&self) -> Timestamp {
        entreposto_app::Clock::now(self)
    }
}
