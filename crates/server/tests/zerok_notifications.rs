//! 00K's notifications, both ways, black-box over HTTP on both backends (the opening
//! section of `003_c7f08c88db349587.txt`: notifications PASSIVA and ATIVA).
//!
//! Passive: a store's system posts notifications to `/00k/notifications` and they
//! are applied through the catalog's and orders' use cases (what the store's own
//! endpoints then show), bad input refused naming the field, another store's ids
//! never found. Active: a change list served by a real HTTP server on 127.0.0.1 in
//! the test (pages of two, `since` positions, relative `next` links) is polled
//! through the feed set on the native API; polls are driven by hand on a clock the
//! test sets (`work_one_poll`), as the import worker's suites do, so intervals,
//! leases and retries are seen without sleeping: resumed after a restart from the
//! stored position, failures recorded and retried later, and two nodes on one
//! database applying each change once while one of them dies mid-poll. One case runs
//! the poller `serve` runs, on the system clock, to the end of a list.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{bearer, cli, order_body, TestApp};
use entreposto::config::Config;
use entreposto_app::notifications::feeds::ChangeSource;
use entreposto_app::{App, ManualClock};
use entreposto_dialect_zerok::feed::{FeedClient, FeedOptions};
use entreposto_domain::{Dialect, Operator, Seller, Timestamp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    passive_notifications_apply_through_the_use_cases,
    repeated_notifications_change_nothing,
    bad_notifications_are_refused_naming_the_field,
    another_stores_ids_are_refused,
    feeds_are_set_on_the_native_api,
    feeds_are_set_from_the_command_line,
);

on_both_backends!(with manual_polls;
    a_feed_is_read_page_by_page_and_resumed_after_a_restart,
    a_failing_feed_is_recorded_and_retried_later,
    refused_changes_are_recorded_and_passed_over,
    a_private_address_is_refused_unless_allowed,
    two_nodes_apply_each_change_once,
);

on_both_backends!(with quick_poller; the_server_polls_feeds_on_its_own);

type Headers = BTreeMap<String, String>;

/// The feed poller off: the cases poll by hand on their own clock.
fn manual_polls(c: &mut Config) {
    common::no_feed_poller(c);
    // The feeds are set on the test's change lists, on loopback.
    c.notifications.allow_private_addresses = true;
}

/// The poller `serve` runs, looking for due feeds every 20 ms, allowed to reach the
/// test's change list on loopback.
fn quick_poller(c: &mut Config) {
    c.notifications.tick_ms = 20;
    c.notifications.allow_private_addresses = true;
}

/// An operator with stores A and B, their 00K keys, and the operator's own 00K key.
struct World {
    op: Operator,
    token: Headers,
    a: Seller,
    b: Seller,
    key_a: Headers,
    key_b: Headers,
    operator_key: Headers,
}

async fn world(app: &TestApp) -> World {
    let (op, token) = app.operator().await;
    let a = app.seller(&op, "Loja A").await;
    let b = app.seller(&op, "Loja B").await;
    let zerok = Dialect::named("zerok");
    let key_a = app.credential(&op, Some(&a), zerok).await.headers;
    let key_b = app.credential(&op, Some(&b), zerok).await.headers;
    let operator_key = app.credential(&op, None, zerok).await.headers;
    World {
        op,
        token: bearer(&token),
        a,
        b,
        key_a,
        key_b,
        operator_key,
    }
}

/// A whole product, as `POST /catalog/import` takes one, notified.
fn whole(sku: &str, quantity: i64, price: f64) -> Value {
    json!({"type": "product", "product": {
        "sku": sku, "externalId": format!("ext-{sku}"), "type": "simple",
        "info": {"name": format!("Camiseta {sku}"), "subtitle": "Algodão", "status": 1, "model": "C1"},
        "stock": [{"info": {"quantity": quantity, "minimum": 1}}],
        "price": [{"list": price, "value": price}],
        "dimensions": {"height": 2, "width": 30, "length": 40, "weight": 200},
        "categories": [{"name": "Camisetas"}], "brand": {"info": {"name": "Marca"}}}})
}

fn stock(sku: &str, quantity: i64) -> Value {
    json!({"type": "stock", "sku": sku, "stock": [{"info": {"quantity": quantity, "minimum": 1}}]})
}

fn price(sku: &str, value: f64) -> Value {
    json!({"type": "price", "sku": sku, "price": [{"list": value, "value": value}]})
}

fn taken(order: i64) -> Value {
    json!({"type": "order", "id": order, "erp": {"type": "bling", "sent": true, "errorMessage": null}})
}

async fn notify(app: &TestApp, key: &Headers, body: &Value) -> common::Reply {
    app.post("/00k/notifications", key, body).await
}

/// Notifies `body` and expects every notification applied.
async fn applied(app: &TestApp, key: &Headers, body: &Value) -> Value {
    let r = notify(app, key, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["failed"], 0, "{:?}", r.body);
    r.body
}

/// Asserts a 00K error: the status, JSON, the document's code and `httpCode`.
#[track_caller]
fn refused(r: &common::Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.body["code"], code, "{:?}", r.body);
    assert_eq!(r.body["httpCode"], status, "{:?}", r.body);
}

/// The product with `sku` as 00K lists it.
async fn product(app: &TestApp, key: &Headers, sku: &str) -> Value {
    let r = app
        .get(&format!("/00k/catalog/products/all?sku={sku}"), key)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["total"], 1, "{sku}: {:?}", r.body);
    r.body["items"][0].clone()
}

fn quantity(p: &Value) -> i64 {
    p["stock"][0]["info"]["quantity"].as_i64().unwrap()
}

/// A product's version, as the native API shows it.
async fn version(app: &TestApp, w: &World, seller: &Seller, id: i64) -> i64 {
    let r = app
        .get(
            &format!("/api/v1/sellers/{}/products/{id}", seller.id),
            &w.token,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["version"].as_i64().unwrap()
}

/// A paid order of `seller`, pushed by the marketplace; its id.
async fn paid_order(app: &TestApp, w: &World, seller: &Seller, code: &str) -> i64 {
    let r = app
        .post("/api/v1/orders", &w.token, &order_body(&seller.id, code))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id: i64 = r.body["id"].as_str().unwrap().parse().unwrap();
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/orders/{id}/payment"),
            &w.token,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    id
}

/// The ids of `key`'s store's paid orders no ERP has taken.
async fn erp_queue(app: &TestApp, key: &Headers) -> Vec<i64> {
    let r = app
        .get("/00k/orders?erp_sent=false&status=accepted_payment", key)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["order"]["id"].as_i64().unwrap())
        .collect()
}

async fn passive_notifications_apply_through_the_use_cases(app: TestApp) {
    let w = world(&app).await;
    let order = paid_order(&app, &w, &w.a, "N-1").await;
    assert_eq!(erp_queue(&app, &w.key_a).await, [order]);
    let body = applied(
        &app,
        &w.key_a,
        &json!([
            whole("CAM-P", 5, 49.9),
            stock("CAM-P", 12),
            price("CAM-P", 39.9),
            {"type": "product", "sku": "CAM-P", "product": {"info": {"name": "Camiseta Básica P"}}},
            taken(order),
        ]),
    )
    .await;
    assert_eq!((&body["total"], &body["updated"]), (&json!(5), &json!(5)));
    let kinds: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["product", "stock", "price", "product", "order"]);
    let p = product(&app, &w.key_a, "CAM-P").await;
    let id = p["id"].as_i64().unwrap();
    for item in &body["items"].as_array().unwrap()[..4] {
        assert_eq!(
            (&item["id"], &item["sku"], &item["status"]),
            (&json!(id), &json!("CAM-P"), &json!("updated"))
        );
        assert_eq!(item["errors"], json!([]));
    }
    assert_eq!(body["items"][4]["id"], order);
    // Each change landed in order: the stock and price after the product's creation,
    // the name after both.
    assert_eq!(quantity(&p), 12);
    assert_eq!(p["price"][0]["value"], 39.9);
    assert_eq!(p["info"]["name"], "Camiseta Básica P");
    assert_eq!(
        p["info"]["subtitle"], "Algodão",
        "a partial update keeps the rest"
    );
    // The order was taken: it left the ERP's work queue, marked as 00K shows it.
    assert_eq!(erp_queue(&app, &w.key_a).await, Vec::<i64>::new());
    let r = app.get(&format!("/00k/orders/{order}"), &w.key_a).await;
    let erp = &r.body["items"][0]["erp"][0];
    assert_eq!(
        (&erp["type"], &erp["sent"]),
        (&json!("bling"), &json!(true))
    );

    // One notification alone (an object) is answered the same way.
    let one = applied(&app, &w.key_a, &stock("CAM-P", 3)).await;
    assert_eq!(
        (&one["total"], &one["items"][0]["type"]),
        (&json!(1), &json!("stock"))
    );
    assert_eq!(quantity(&product(&app, &w.key_a, "CAM-P").await), 3);
    // A whole product again replaces it (by its SKU), keeping its id.
    applied(&app, &w.key_a, &whole("CAM-P", 8, 59.9)).await;
    let p = product(&app, &w.key_a, "CAM-P").await;
    assert_eq!((p["id"].as_i64(), quantity(&p)), (Some(id), 8));
    assert_eq!(p["info"]["name"], "Camiseta CAM-P");
    // Keys as the batches take them: the hub's id and the store's external id.
    applied(
        &app,
        &w.key_a,
        &json!([
            {"type": "stock", "id": id, "stock": [{"info": {"quantity": 21}}]},
            {"type": "price", "externalId": "ext-CAM-P", "price": [{"value": 19.9}]},
        ]),
    )
    .await;
    let p = product(&app, &w.key_a, "CAM-P").await;
    assert_eq!((quantity(&p), &p["price"][0]["value"]), (21, &json!(19.9)));
    // What another store sees is unchanged: nothing.
    let r = app
        .get("/00k/catalog/products/all?sku=CAM-P", &w.key_b)
        .await;
    assert_eq!(r.body["total"], 0);
}

/// Applying the same notifications again (a store's system retrying, a feed page
/// applied twice) leaves the product as it is: its version does not move.
async fn repeated_notifications_change_nothing(app: TestApp) {
    let w = world(&app).await;
    applied(&app, &w.key_a, &whole("REP-1", 5, 10.0)).await;
    let id = product(&app, &w.key_a, "REP-1").await["id"]
        .as_i64()
        .unwrap();
    let changes = json!([
        stock("REP-1", 7),
        price("REP-1", 12.5),
        {"type": "product", "sku": "REP-1", "product": {"info": {"name": "Outro nome"}, "dimensions": {"height": 3, "width": 30, "length": 40, "weight": 210}}},
    ]);
    applied(&app, &w.key_a, &changes).await;
    let before = version(&app, &w, &w.a, id).await;
    let shown = product(&app, &w.key_a, "REP-1").await;
    for _ in 0..2 {
        let again = applied(&app, &w.key_a, &changes).await;
        assert_eq!(again["updated"], 3);
    }
    assert_eq!(version(&app, &w, &w.a, id).await, before);
    let after = product(&app, &w.key_a, "REP-1").await;
    assert_eq!(after["info"]["updatedAt"], shown["info"]["updatedAt"]);
    assert_eq!(after, shown);
    // A change that changes something still moves it.
    applied(&app, &w.key_a, &stock("REP-1", 8)).await;
    assert_eq!(version(&app, &w, &w.a, id).await, before + 1);
    // Within one request the last word wins, even when it sets what was stored
    // before the request.
    applied(
        &app,
        &w.key_a,
        &json!([
            stock("REP-1", 8),
            stock("REP-1", 2),
            stock("REP-1", 8),
            price("REP-1", 12.5),
            price("REP-1", 3.0),
            price("REP-1", 12.5)
        ]),
    )
    .await;
    let p = product(&app, &w.key_a, "REP-1").await;
    assert_eq!((quantity(&p), &p["price"][0]["value"]), (8, &json!(12.5)));
}

async fn bad_notifications_are_refused_naming_the_field(app: TestApp) {
    let w = world(&app).await;
    applied(&app, &w.key_a, &whole("BAD-1", 5, 10.0)).await;
    for (body, field) in [
        (json!({"sku": "BAD-1"}), "type"),
        (json!({"type": "estoque", "sku": "BAD-1"}), "type"),
        (
            json!({"type": "stock", "stock": [{"info": {"quantity": 1}}]}),
            "id",
        ),
        (
            json!({"type": "stock", "sku": "BAD-1", "stock": [{"info": {"quantity": "abc"}}]}),
            "stock[0].info.quantity",
        ),
        (
            json!({"type": "stock", "sku": "BAD-1", "stock": [{"info": {"quantity": -3}}]}),
            "stock[0].info.quantity",
        ),
        (
            json!({"type": "price", "sku": "BAD-1", "price": [{"value": "caro"}]}),
            "price[0].value",
        ),
        (
            json!({"type": "price", "sku": "BAD-1", "price": [{"value": 1.005}]}),
            "price[0].value",
        ),
        (
            json!({"type": "product", "sku": "BAD-1", "product": {"info": {"subtitle": 3}}}),
            "product.info.subtitle",
        ),
        (
            json!({"type": "product", "product": {"sku": "NEW", "type": "simple"}}),
            "product.info",
        ),
        (
            json!({"type": "order", "id": 1, "erp": {"type": "sigma", "sent": true}}),
            "erp.type",
        ),
        (
            json!({"type": "order", "erp": {"type": "bling", "sent": true}}),
            "id",
        ),
    ] {
        let r = notify(&app, &w.key_a, &body).await;
        refused(&r, 400, "2.1");
        let item = &r.body["errors"][0];
        assert_eq!(item["itemIndex"], 0, "{body}: {:?}", r.body);
        let reason = item["errors"][0].as_str().unwrap();
        assert!(reason.starts_with(field), "{body}: {reason}");
        assert!(r.body["description"].as_str().unwrap().contains(field));
    }
    // A value an update sets breaks a rule whatever the product is (too long a
    // subtitle, an empty name, a negative quantity): refused before anything is
    // applied, the field named under `product`, the good notifications beside it
    // not applied either.
    for bad in [
        json!({"info": {"subtitle": "x".repeat(141)}}),
        json!({"info": {"name": ""}}),
        json!({"stock": [{"info": {"quantity": -1}}]}),
    ] {
        let r = notify(
            &app,
            &w.key_a,
            &json!([stock("BAD-1", 122), {"type": "product", "sku": "BAD-1", "product": bad}]),
        )
        .await;
        refused(&r, 400, "2.1");
        let item = &r.body["errors"][0];
        assert_eq!(item["itemIndex"], 1, "{bad}: {:?}", r.body);
        assert_eq!(item["sku"], "BAD-1", "{bad}: {:?}", r.body);
        assert!(
            item["errors"][0]
                .as_str()
                .unwrap()
                .starts_with("product.info.")
                || item["errors"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("product.stock[0].info.quantity"),
            "{bad}: {:?}",
            r.body
        );
        assert_eq!(
            quantity(&product(&app, &w.key_a, "BAD-1").await),
            5,
            "{bad}"
        );
    }
    // One bad notification refuses the request whole: the good ones are not applied,
    // and each bad one is listed.
    let r = notify(
        &app,
        &w.key_a,
        &json!([stock("BAD-1", 99), {"type": "stock", "sku": "BAD-1"}, price("BAD-1", 1.0), {"type": "?"}]),
    )
    .await;
    refused(&r, 400, "2.1");
    let rows: Vec<(i64, &str)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["itemIndex"].as_i64().unwrap(),
                e["sku"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(rows, [(1, "BAD-1"), (3, "")]);
    assert_eq!(quantity(&product(&app, &w.key_a, "BAD-1").await), 5);
    // Bodies that are no notifications.
    for raw in [&b"not json"[..], b"[]", b"42", b""] {
        let r = app
            .call(
                Method::POST,
                "/00k/notifications",
                &w.key_a,
                Some(raw.to_vec()),
            )
            .await;
        refused(&r, 400, "2.1");
    }
    let many: Vec<Value> = (0..1001).map(|n| stock("BAD-1", n)).collect();
    refused(&notify(&app, &w.key_a, &json!(many)).await, 400, "2.1");
    // A lone notification the use case refuses: as its endpoint would answer.
    let r = notify(&app, &w.key_a, &stock("NOPE", 1)).await;
    refused(&r, 400, "2.0");
    assert!(r.body["description"].as_str().unwrap().contains("NOPE"));
    let r = notify(
        &app,
        &w.key_a,
        &json!({"type": "product", "sku": "BAD-1", "product": {"sku": "BAD-2"}, "ignored": 1}),
    )
    .await;
    assert_eq!(r.status, 200, "unknown members are ignored: {:?}", r.body);
    // In an array, the same refusal is that item's.
    let r = notify(
        &app,
        &w.key_a,
        &json!([stock("NOPE", 1), stock("BAD-2", 4)]),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (&r.body["updated"], &r.body["failed"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(r.body["items"][0]["status"], "failed");
    assert_eq!(
        r.body["items"][0]["errors"],
        json!(["no product with sku 'NOPE'"])
    );
    // The store's key: missing, unknown, an operator's.
    let r = app
        .post("/00k/notifications", &Headers::new(), &stock("BAD-2", 1))
        .await;
    refused(&r, 401, "1.2");
    let r = app
        .post(
            "/00k/notifications",
            &bearer("ep_nope_nope"),
            &stock("BAD-2", 1),
        )
        .await;
    refused(&r, 401, "1.3");
    let r = notify(&app, &w.operator_key, &stock("BAD-2", 1)).await;
    refused(&r, 403, "1.3");
}

async fn another_stores_ids_are_refused(app: TestApp) {
    let w = world(&app).await;
    applied(&app, &w.key_b, &whole("B-1", 5, 10.0)).await;
    let theirs = product(&app, &w.key_b, "B-1").await;
    let their_id = theirs["id"].as_i64().unwrap();
    let their_order = paid_order(&app, &w, &w.b, "B-ORDER").await;
    // Store A names B's product and order by id, SKU and external id.
    for body in [
        json!({"type": "stock", "id": their_id, "stock": [{"info": {"quantity": 99}}]}),
        stock("B-1", 99),
        json!({"type": "price", "externalId": "ext-B-1", "price": [{"value": 1.0}]}),
        json!({"type": "product", "id": their_id, "product": {"info": {"name": "Tomado"}}}),
        taken(their_order),
    ] {
        let r = notify(&app, &w.key_a, &body).await;
        refused(&r, 400, "2.0");
    }
    let r = notify(
        &app,
        &w.key_a,
        &json!([{"type": "stock", "id": their_id, "stock": [{"info": {"quantity": 99}}]}, taken(their_order),
            {"type": "product", "id": their_id, "product": {"info": {"name": "Tomado"}}}]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["failed"], 3, "{:?}", r.body);
    for i in [0, 2] {
        assert_eq!(
            r.body["items"][i]["id"],
            Value::Null,
            "B's id is not shown to A"
        );
    }
    // A whole product naming B's id is refused as an import row would be.
    let mut grab = whole("A-1", 1, 1.0);
    grab["product"]["id"] = json!(their_id);
    let r = notify(&app, &w.key_a, &grab).await;
    refused(&r, 400, "2.1");
    // Nothing of B's moved, and A's catalog got nothing.
    assert_eq!(product(&app, &w.key_b, "B-1").await, theirs);
    assert_eq!(erp_queue(&app, &w.key_b).await, [their_order]);
    let r = app.get("/00k/catalog/products/all", &w.key_a).await;
    assert_eq!(r.body["total"], 0);
    // A's own product refused by a rule of the product as updated (a simple one
    // listing parts) keeps the id it was named by.
    applied(&app, &w.key_a, &whole("A-0", 1, 1.0)).await;
    let own = product(&app, &w.key_a, "A-0").await["id"].as_i64().unwrap();
    let r = notify(
        &app,
        &w.key_a,
        &json!([{"type": "product", "id": own, "product": {"simple": [{"sku": "A-0", "quantity": 1}]}}]),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["items"][0]["status"], "failed", "{:?}", r.body);
    assert_eq!(r.body["items"][0]["id"], own, "{:?}", r.body);
    let _ = &w.op;
}

async fn feeds_are_set_on_the_native_api(app: TestApp) {
    let w = world(&app).await;
    let path = format!("/api/v1/sellers/{}/change-feed", w.a.id);
    assert_eq!(app.get(&path, &w.token).await.status, 404);
    // What the poller could never read is refused now, as a webhook URL is: a
    // loopback address (this server does not allow private ones), credentials in
    // the URL.
    for url in [
        "http://127.0.0.1:9/changes",
        "http://[::1]/changes",
        "https://user:pw@erp.example/changes",
    ] {
        let r = app.put(&path, &w.token, &json!({"url": url})).await;
        assert_eq!(r.status, 422, "{url}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], "url", "{url}: {:?}", r.body);
    }
    let r = app
        .put(&path, &w.token, &json!({"url": "http://10.0.0.1/c"}))
        .await;
    assert!(
        r.body
            .to_string()
            .contains("[notifications] allow_private_addresses"),
        "{:?}",
        r.body
    );
    assert_eq!(
        app.get(&path, &w.token).await.status,
        404,
        "nothing was set"
    );
    let r = app
        .put(
            &path,
            &w.token,
            &json!({"url": "https://erp.example/00k/changes", "headers": {"Authorization": "erp-secret", "X-Loja": "7"}, "intervalSeconds": 30}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let f = &r.body;
    assert_eq!(f["seller"], w.a.id.as_str());
    assert_eq!(f["url"], "https://erp.example/00k/changes");
    assert_eq!(f["headers"], json!(["Authorization", "X-Loja"]));
    assert!(
        !r.body.to_string().contains("erp-secret"),
        "values are never shown"
    );
    assert_eq!(
        (&f["intervalSeconds"], &f["enabled"]),
        (&json!(30), &json!(true))
    );
    assert_eq!(
        (&f["position"], &f["failures"], &f["applied"]),
        (&Value::Null, &json!(0), &json!(0))
    );
    assert!(f["nextPollAt"].as_str().unwrap().ends_with('Z'));
    // A put keeps what it does not send.
    let r = app
        .put(
            &path,
            &w.token,
            &json!({"enabled": false, "position": "1003"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["url"], "https://erp.example/00k/changes");
    assert_eq!(r.body["headers"], json!(["Authorization", "X-Loja"]));
    assert_eq!(
        (&r.body["enabled"], &r.body["position"]),
        (&json!(false), &json!("1003"))
    );
    let r = app.put(&path, &w.token, &json!({"position": null})).await;
    assert_eq!(r.body["position"], Value::Null);
    assert_eq!(app.get(&path, &w.token).await.body, r.body);
    // Bad settings name their field.
    let b_path = format!("/api/v1/sellers/{}/change-feed", w.b.id);
    for (body, field) in [
        (json!({"intervalSeconds": 30}), "url"),
        (json!({"url": "ftp://erp.example/"}), "url"),
        (
            json!({"url": "https://erp.example/", "intervalSeconds": 0}),
            "intervalSeconds",
        ),
        (
            json!({"url": "https://erp.example/", "headers": {"Bad Name": "x"}}),
            "headers[0].name",
        ),
        (
            json!({"url": "https://erp.example/", "headers": {"Host": "x"}}),
            "headers[0].name",
        ),
        (
            json!({"url": "https://erp.example/", "headers": {"X-Ok": "a\nb"}}),
            "headers[0].value",
        ),
        (
            json!({"url": "https://erp.example/", "position": ""}),
            "position",
        ),
        (json!({"url": "https://erp.example/", "bogus": 1}), "bogus"),
        (
            json!({"url": "https://erp.example/", "enabled": "yes"}),
            "enabled",
        ),
    ] {
        let r = app.put(&b_path, &w.token, &body).await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{body}: {:?}", r.body);
    }
    assert_eq!(app.get(&b_path, &w.token).await.status, 404);
    // Another operator's seller, and an unknown one, are not found.
    let (_, other_token) = app.operator().await;
    let other = bearer(&other_token);
    assert_eq!(app.get(&path, &other).await.status, 404);
    let r = app
        .put(&path, &other, &json!({"url": "https://evil.example/"}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.get(&path, &w.token).await.body["url"],
        "https://erp.example/00k/changes"
    );
    let r = app
        .put(
            "/api/v1/sellers/NOPE/change-feed",
            &w.token,
            &json!({"url": "https://x.example/"}),
        )
        .await;
    assert_eq!(r.status, 404);
    // A store's own 00K key does not reach the native API.
    assert_eq!(app.get(&path, &w.key_a).await.status, 401);
    let r = app.call(Method::DELETE, &path, &w.token, None).await;
    assert_eq!(r.status, 204);
    assert_eq!(app.get(&path, &w.token).await.status, 404);
    assert_eq!(
        app.call(Method::DELETE, &path, &w.token, None).await.status,
        404
    );
}

// ---- Active: a change list on 127.0.0.1 ----

/// What the test's change list serves and what it was asked.
struct ListState {
    /// The store's changes, oldest first; change `n` (from 0) is at position `n + 1`.
    changes: Vec<Value>,
    page_size: usize,
    /// Answer every request with this status.
    fail: Option<u16>,
    /// Answer this many more requests, then fail each with 500.
    fail_after: Option<usize>,
    /// Answer with something that is no change list.
    garbage: bool,
    /// Answer the first page whatever is asked, its `next` linking back to it.
    repeat: bool,
    /// A request asking `since` this never gets an answer (the poller dies waiting).
    stall_since: Option<String>,
    /// Each request's `since` (`None` without one) and `Authorization` header.
    seen: Vec<(Option<String>, Option<String>)>,
}

#[derive(Clone)]
struct ChangeList {
    url: String,
    state: Arc<Mutex<ListState>>,
}

impl ChangeList {
    async fn start(changes: Vec<Value>) -> ChangeList {
        let state = Arc::new(Mutex::new(ListState {
            changes,
            page_size: 2,
            fail: None,
            fail_after: None,
            garbage: false,
            repeat: false,
            stall_since: None,
            seen: Vec::new(),
        }));
        let router = axum::Router::new()
            .route("/erp/00k/changes", axum::routing::get(serve_changes))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        ChangeList {
            url: format!("http://{addr}/erp/00k/changes?store=7"),
            state,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ListState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// The `since` of every request, in order.
    fn asked(&self) -> Vec<Option<String>> {
        self.with(|s| s.seen.iter().map(|(since, _)| since.clone()).collect())
    }

    fn push(&self, change: Value) {
        self.with(|s| s.changes.push(change));
    }
}

async fn serve_changes(
    State(state): State<Arc<Mutex<ListState>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let url = reqwest::Url::parse(&format!("http://x/?{}", query.unwrap_or_default())).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let since = param("since");
    let (stall, reply) = {
        let mut s = state.lock().unwrap();
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        s.seen.push((since.clone(), auth));
        let stall = since.is_some() && since == s.stall_since;
        let exhausted = match &mut s.fail_after {
            Some(0) => true,
            Some(k) => {
                *k -= 1;
                false
            }
            None => false,
        };
        let reply = if let Some(code) = s.fail.or(exhausted.then_some(500)) {
            (StatusCode::from_u16(code).unwrap(), "down for maintenance").into_response()
        } else if s.garbage {
            (StatusCode::OK, "<html>oops</html>").into_response()
        } else {
            assert_eq!(
                param("store").as_deref(),
                Some("7"),
                "the list's own parameters are kept"
            );
            let from: usize = if s.repeat {
                0
            } else {
                since.as_deref().map_or(0, |p| p.parse().unwrap())
            };
            let to = (from + s.page_size).min(s.changes.len());
            let items: Vec<Value> = s.changes[from.min(to)..to]
                .iter()
                .enumerate()
                .map(|(n, c)| {
                    let mut c = c.clone();
                    // Positions as numbers and as strings: both are read.
                    c["position"] = if n % 2 == 0 {
                        json!(from + n + 1)
                    } else {
                        json!((from + n + 1).to_string())
                    };
                    c
                })
                .collect();
            let next = if s.repeat {
                Some("?store=7&since=0".to_string())
            } else {
                (to < s.changes.len()).then(|| format!("?store=7&since={to}"))
            };
            axum::Json(json!({"total": s.changes.len(), "items": items, "next": next}))
                .into_response()
        };
        (stall, reply)
    };
    if stall {
        std::future::pending::<()>().await;
    }
    reply
}

/// The client `serve` builds, allowed to reach loopback.
fn loopback_client() -> Arc<dyn ChangeSource> {
    Arc::new(
        FeedClient::new(&FeedOptions {
            allow_private_addresses: true,
            timeout: Duration::from_secs(10),
        })
        .unwrap(),
    )
}

/// A node: the use cases over `store`, on the test's clock.
fn node(store: Arc<dyn entreposto_store::Store>, clock: &Arc<ManualClock>) -> App {
    App::new(store, clock.clone())
}

/// Another node on the same database (its own pool or SQLite connections).
async fn second_node(app: &TestApp, clock: &Arc<ManualClock>) -> App {
    let config = Config {
        database_url: app.database_url.as_str().into(),
        pg_max_connections: 4,
        secrets: common::test_secrets(),
        ..Config::default()
    };
    node(
        entreposto::store::open(&config).await.expect("second node"),
        clock,
    )
}

/// Sets A's feed to `list` through the native API; the clock, at the feed's time.
async fn set_feed(app: &TestApp, w: &World, list: &ChangeList, interval: u32) -> Arc<ManualClock> {
    let r = app
        .put(
            &format!("/api/v1/sellers/{}/change-feed", w.a.id),
            &w.token,
            &json!({"url": list.url, "headers": {"Authorization": "erp-secret"}, "intervalSeconds": interval}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Just after the feed became due.
    Arc::new(ManualClock::at(Timestamp(Timestamp::now().0 + 1_000)))
}

async fn feed(app: &TestApp, w: &World) -> Value {
    let r = app
        .get(&format!("/api/v1/sellers/{}/change-feed", w.a.id), &w.token)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

const SECOND: i64 = 1_000_000;

async fn a_feed_is_read_page_by_page_and_resumed_after_a_restart(app: TestApp) {
    let w = world(&app).await;
    let order = paid_order(&app, &w, &w.a, "F-1").await;
    let list = ChangeList::start(vec![
        whole("FEED-1", 5, 10.0),
        stock("FEED-1", 6),
        price("FEED-1", 11.5),
        stock("FEED-1", 7),
        taken(order),
    ])
    .await;
    let clock = set_feed(&app, &w, &list, 60).await;
    let source = loopback_client();
    let first = node(app.store.clone(), &clock);
    assert!(first.work_one_poll(&*source).await.unwrap());
    // The first page without `since`, then each `next` link to the end.
    assert_eq!(list.asked(), [None, Some("2".into()), Some("4".into())]);
    assert!(list.with(|s| s
        .seen
        .iter()
        .all(|(_, a)| a.as_deref() == Some("erp-secret"))));
    let p = product(&app, &w.key_a, "FEED-1").await;
    assert_eq!((quantity(&p), &p["price"][0]["value"]), (7, &json!(11.5)));
    assert_eq!(erp_queue(&app, &w.key_a).await, Vec::<i64>::new());
    let f = feed(&app, &w).await;
    assert_eq!(
        (&f["position"], &f["applied"], &f["rejected"]),
        (&json!("5"), &json!(5), &json!(0))
    );
    assert_eq!((&f["failures"], &f["lastError"]), (&json!(0), &Value::Null));
    assert!(f["lastSuccessAt"].is_string() && f["lastPolledAt"].is_string());
    // Not due again before its interval.
    clock.advance(59 * SECOND);
    assert!(!first.work_one_poll(&*source).await.unwrap());

    // The store's system lists two more changes; the hub restarts (a new node on the
    // same database) and resumes after the stored position.
    list.push(stock("FEED-1", 8));
    list.push(price("FEED-1", 12.0));
    drop(first);
    let restarted = second_node(&app, &clock).await;
    clock.advance(2 * SECOND);
    assert!(restarted.work_one_poll(&*source).await.unwrap());
    assert_eq!(list.asked()[3..], [Some("5".into())]);
    settled(&app, &w, |f| f["position"] == "7").await;
    let p = product(&app, &w.key_a, "FEED-1").await;
    assert_eq!((quantity(&p), &p["price"][0]["value"]), (8, &json!(12.0)));
    let f = feed(&app, &w).await;
    assert_eq!((&f["position"], &f["applied"]), (&json!("7"), &json!(7)));
    // Nothing new: the next poll asks since 7 and moves nothing.
    clock.advance(61 * SECOND);
    assert!(restarted.work_one_poll(&*source).await.unwrap());
    assert_eq!(list.asked()[4..], [Some("7".into())]);
    assert_eq!(feed(&app, &w).await["position"], "7");
    // Set back to the beginning, it reads the whole list again: harmless, stock and
    // prices are set, not added to.
    let r = app
        .put(
            &format!("/api/v1/sellers/{}/change-feed", w.a.id),
            &w.token,
            &json!({"position": null}),
        )
        .await;
    assert_eq!(r.status, 200);
    clock.set(Timestamp(Timestamp::now().0 + SECOND));
    assert!(restarted.work_one_poll(&*source).await.unwrap());
    assert_eq!(list.asked()[5], None);
    assert_eq!(quantity(&product(&app, &w.key_a, "FEED-1").await), 8);
    // Disabled, it is not polled.
    app.put(
        &format!("/api/v1/sellers/{}/change-feed", w.a.id),
        &w.token,
        &json!({"enabled": false}),
    )
    .await;
    clock.advance(3600 * SECOND);
    let asked = list.asked().len();
    assert!(!restarted.work_one_poll(&*source).await.unwrap());
    assert_eq!(list.asked().len(), asked);
}

async fn a_failing_feed_is_recorded_and_retried_later(app: TestApp) {
    let w = world(&app).await;
    let list = ChangeList::start(vec![
        whole("RETRY-1", 1, 5.0),
        stock("RETRY-1", 2),
        stock("RETRY-1", 3),
    ])
    .await;
    list.with(|s| s.fail = Some(503));
    let clock = set_feed(&app, &w, &list, 60).await;
    let source = loopback_client();
    let hub = node(app.store.clone(), &clock);
    assert!(hub.work_one_poll(&*source).await.unwrap());
    let f = feed(&app, &w).await;
    assert_eq!(f["failures"], 1);
    let error = f["lastError"].as_str().unwrap();
    assert!(
        error.contains("503") && error.contains("down for maintenance"),
        "{error}"
    );
    assert!(f["lastErrorAt"].is_string());
    assert_eq!(
        (&f["position"], &f["lastSuccessAt"]),
        (&Value::Null, &Value::Null)
    );
    // Retried after the interval, then twice as long after the second failure.
    clock.advance(59 * SECOND);
    assert!(!hub.work_one_poll(&*source).await.unwrap());
    clock.advance(2 * SECOND);
    assert!(hub.work_one_poll(&*source).await.unwrap());
    assert_eq!(feed(&app, &w).await["failures"], 2);
    clock.advance(119 * SECOND);
    assert!(!hub.work_one_poll(&*source).await.unwrap());
    // An answer that is no change list fails too, saying so.
    list.with(|s| {
        s.fail = None;
        s.garbage = true;
    });
    clock.advance(2 * SECOND);
    assert!(hub.work_one_poll(&*source).await.unwrap());
    let f = feed(&app, &w).await;
    assert_eq!(f["failures"], 3);
    assert!(
        f["lastError"]
            .as_str()
            .unwrap()
            .contains("not a change list"),
        "{f}"
    );
    // The list answers again: everything is applied, the failures cleared.
    list.with(|s| s.garbage = false);
    clock.advance(241 * SECOND);
    assert!(hub.work_one_poll(&*source).await.unwrap());
    let f = feed(&app, &w).await;
    assert_eq!(
        (&f["failures"], &f["position"], &f["applied"]),
        (&json!(0), &json!("3"), &json!(3))
    );
    assert!(f["lastSuccessAt"].is_string());
    assert_eq!(quantity(&product(&app, &w.key_a, "RETRY-1").await), 3);
    // A failure midway keeps what was recorded before it: the next poll resumes there.
    for q in 4..=6 {
        list.push(stock("RETRY-1", q));
    }
    list.with(|s| {
        s.page_size = 1;
        s.fail_after = Some(1);
    });
    clock.advance(61 * SECOND);
    assert!(hub.work_one_poll(&*source).await.unwrap());
    assert_eq!(
        list.asked()[list.asked().len() - 2..],
        [Some("3".into()), Some("4".into())]
    );
    let f = feed(&app, &w).await;
    assert_eq!(
        (&f["failures"], &f["position"]),
        (&json!(1), &json!("4")),
        "{f}"
    );
    assert!(f["lastError"].as_str().unwrap().contains("500"), "{f}");
    assert_eq!(quantity(&product(&app, &w.key_a, "RETRY-1").await), 4);
    list.with(|s| s.fail_after = None);
    clock.advance(61 * SECOND);
    assert!(hub.work_one_poll(&*source).await.unwrap());
    assert_eq!(
        list.asked()[list.asked().len() - 2..],
        [Some("4".into()), Some("5".into())]
    );
    let f = feed(&app, &w).await;
    assert_eq!(
        (&f["failures"], &f["position"], &f["applied"]),
        (&json!(0), &json!("6"), &json!(6))
    );
    assert_eq!(quantity(&product(&app, &w.key_a, "RETRY-1").await), 6);
}

async fn refused_changes_are_recorded_and_passed_over(app: TestApp) {
    let w = world(&app).await;
    applied(&app, &w.key_b, &whole("THEIRS", 5, 10.0)).await;
    let list = ChangeList::start(vec![
        whole("OK-1", 1, 5.0),
        stock("NOPE", 2),
        json!({"type": "stock", "sku": "OK-1", "stock": [{"info": {"quantity": "x"}}]}),
        stock("THEIRS", 99),
        stock("OK-1", 4),
    ])
    .await;
    let clock = set_feed(&app, &w, &list, 60).await;
    let hub = node(app.store.clone(), &clock);
    assert!(hub.work_one_poll(&*loopback_client()).await.unwrap());
    let f = feed(&app, &w).await;
    assert_eq!(
        (
            &f["position"],
            &f["applied"],
            &f["rejected"],
            &f["failures"]
        ),
        (&json!("5"), &json!(2), &json!(3), &json!(0))
    );
    assert_eq!(f["lastRejection"], "4: no product with sku 'THEIRS'");
    assert_eq!(quantity(&product(&app, &w.key_a, "OK-1").await), 4);
    assert_eq!(quantity(&product(&app, &w.key_b, "THEIRS").await), 5);
    // A list that repeats its first page (its `next` links back): the poll stops
    // once a page ends where the one before did, and waits for the interval.
    let repeating = ChangeList::start(vec![stock("OK-1", 6), stock("OK-1", 7)]).await;
    repeating.with(|s| s.repeat = true);
    let r = app
        .put(
            &format!("/api/v1/sellers/{}/change-feed", w.a.id),
            &w.token,
            &json!({"url": repeating.url, "position": null}),
        )
        .await;
    assert_eq!(r.status, 200);
    clock.set(Timestamp(Timestamp::now().0 + SECOND));
    assert!(hub.work_one_poll(&*loopback_client()).await.unwrap());
    assert_eq!(repeating.asked(), [None, Some("0".into())]);
    assert!(!hub.work_one_poll(&*loopback_client()).await.unwrap());
    let f = feed(&app, &w).await;
    assert_eq!((&f["position"], &f["failures"]), (&json!("2"), &json!(0)));
    assert_eq!(quantity(&product(&app, &w.key_a, "OK-1").await), 7);
}

async fn a_private_address_is_refused_unless_allowed(app: TestApp) {
    let w = world(&app).await;
    let list = ChangeList::start(vec![stock("X", 1)]).await;
    let clock = set_feed(&app, &w, &list, 60).await;
    let strict: Arc<dyn ChangeSource> = Arc::new(FeedClient::new(&FeedOptions::default()).unwrap());
    let hub = node(app.store.clone(), &clock);
    assert!(hub.work_one_poll(&*strict).await.unwrap());
    let f = feed(&app, &w).await;
    assert!(
        f["lastError"]
            .as_str()
            .unwrap()
            .contains("allow_private_addresses"),
        "{f}"
    );
    assert!(list.asked().is_empty(), "no request reached the list");
    // By name, `localhost` resolves to loopback only: refused as well.
    let by_name = list.url.replace("127.0.0.1", "localhost");
    app.put(
        &format!("/api/v1/sellers/{}/change-feed", w.a.id),
        &w.token,
        &json!({"url": by_name}),
    )
    .await;
    clock.set(Timestamp(Timestamp::now().0 + SECOND));
    assert!(hub.work_one_poll(&*strict).await.unwrap());
    let f = feed(&app, &w).await;
    assert!(
        f["lastError"]
            .as_str()
            .unwrap()
            .contains("no public address"),
        "{f}"
    );
    assert!(list.asked().is_empty());
}

/// Two nodes on one database polling at once, each as often as it can: every
/// change is applied once (a stock change that sets a new quantity moves the
/// product's version by one). Then one node dies mid-poll, holding the feed: the
/// other waits for its lease, takes the feed over and resumes at the last page the
/// dead node recorded.
async fn two_nodes_apply_each_change_once(app: TestApp) {
    let w = world(&app).await;
    applied(&app, &w.key_a, &whole("TWO-1", 0, 5.0)).await;
    let id = product(&app, &w.key_a, "TWO-1").await["id"]
        .as_i64()
        .unwrap();
    let start = version(&app, &w, &w.a, id).await;
    let n = 40;
    let list = ChangeList::start((1..=n).map(|q| stock("TWO-1", q)).collect()).await;
    // One change a page, so each is one write of its own.
    list.with(|s| s.page_size = 1);
    let clock = set_feed(&app, &w, &list, 60).await;
    let source = loopback_client();
    let nodes = [
        node(app.store.clone(), &clock),
        second_node(&app, &clock).await,
    ];
    let mut racing = Vec::new();
    for hub in nodes.iter() {
        let hub = hub.clone();
        let source = source.clone();
        racing.push(tokio::spawn(async move {
            let mut polls = 0;
            for _ in 0..20 {
                if hub.work_one_poll(&*source).await.unwrap() {
                    polls += 1;
                }
                tokio::task::yield_now().await;
            }
            polls
        }));
    }
    let mut polls = 0;
    for r in racing {
        polls += r.await.unwrap();
    }
    assert_eq!(polls, 1, "the feed was due once, so polled once");
    settled(&app, &w, |f| f["applied"] == n).await;
    assert_eq!(version(&app, &w, &w.a, id).await, start + n);
    let asked = list.asked();
    let mut unique = asked.clone();
    unique.dedup();
    assert_eq!(
        asked.len(),
        unique.len(),
        "no page was read twice: {asked:?}"
    );

    // More changes; node 0 dies waiting for the page after position 42.
    for q in (n + 1)..=(n + 6) {
        list.push(stock("TWO-1", q));
    }
    list.with(|s| s.stall_since = Some((n + 2).to_string()));
    clock.advance(61 * SECOND);
    let dying = nodes[0].clone();
    let source0 = source.clone();
    let dead = tokio::spawn(async move { dying.work_one_poll(&*source0).await });
    // Wait (real time) until it is stuck on that page.
    for _ in 0..500 {
        if list.asked().last().cloned().flatten() == Some((n + 2).to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        list.asked().last().cloned().flatten(),
        Some((n + 2).to_string())
    );
    dead.abort();
    list.with(|s| s.stall_since = None);
    let held = (n + 2).to_string();
    settled(&app, &w, |f| f["position"] == held.as_str()).await;
    // Its lease holds the feed: the other node waits for it to run out.
    clock.advance(30 * SECOND);
    assert!(!nodes[1].work_one_poll(&*source).await.unwrap());
    clock.advance(31 * SECOND);
    assert!(nodes[1].work_one_poll(&*source).await.unwrap());
    assert_eq!(
        list.asked().last().cloned().flatten(),
        Some((n + 5).to_string())
    );
    let end = (n + 6).to_string();
    let f = settled(&app, &w, |f| f["position"] == end.as_str()).await;
    assert_eq!(
        (&f["position"], &f["applied"]),
        (&json!((n + 6).to_string()), &json!(n + 6))
    );
    assert_eq!(version(&app, &w, &w.a, id).await, start + n + 6);
    assert_eq!(quantity(&product(&app, &w.key_a, "TWO-1").await), n + 6);
}

/// The feed once `done` says it is: what another node on SQLite wrote is seen by the
/// server's own connections within 50 ms (their snapshots are renewed when they are
/// that old), so a read right after may be older; waits up to 5 s.
async fn settled(app: &TestApp, w: &World, done: impl Fn(&Value) -> bool) -> Value {
    let mut f = Value::Null;
    for _ in 0..250 {
        f = feed(app, w).await;
        if done(&f) {
            // Past the snapshots' age, so the other reads of the case are current too.
            tokio::time::sleep(Duration::from_millis(60)).await;
            return f;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the feed did not settle: {f}");
}

/// The poller `serve` runs finds the feed due and reads the list to its end on its
/// own, on the system clock.
async fn the_server_polls_feeds_on_its_own(app: TestApp) {
    let w = world(&app).await;
    let list = ChangeList::start(vec![
        whole("AUTO-1", 1, 5.0),
        stock("AUTO-1", 2),
        price("AUTO-1", 6.5),
        stock("AUTO-1", 3),
    ])
    .await;
    set_feed(&app, &w, &list, 1).await;
    let mut f = Value::Null;
    for _ in 0..500 {
        f = feed(&app, &w).await;
        if f["applied"] == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (&f["applied"], &f["position"]),
        (&json!(4), &json!("4")),
        "{f}"
    );
    let p = product(&app, &w.key_a, "AUTO-1").await;
    assert_eq!((quantity(&p), &p["price"][0]["value"]), (3, &json!(6.5)));
}

/// `entreposto seller feed` against the database of a running server: the same
/// settings and checks as the native API's `PUT`, what it does not give kept.
async fn feeds_are_set_from_the_command_line(app: TestApp) {
    let w = world(&app).await;
    let db = app.database_url.as_str();
    let seller = w.a.id.as_str();
    let (ok, _, err) = cli(db, &["seller", "feed", "--seller", seller]);
    assert!(!ok && err.contains("no change feed"), "{err}");
    let (ok, out, err) = cli(
        db,
        &[
            "seller",
            "feed",
            "--seller",
            seller,
            "--url",
            "https://erp.example/00k/changes",
            "--header",
            "Authorization: erp-secret",
            "--header",
            "X-Loja: 7",
            "--interval",
            "30",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out["url"], "https://erp.example/00k/changes");
    assert_eq!(out["headers"], json!(["Authorization", "X-Loja"]));
    assert_eq!(
        (&out["intervalSeconds"], &out["enabled"]),
        (&json!(30), &json!(true))
    );
    assert!(!out.to_string().contains("erp-secret"));
    let (ok, out, err) = cli(
        db,
        &[
            "seller",
            "feed",
            "--seller",
            seller,
            "--disable",
            "--position",
            "77",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        (&out["enabled"], &out["position"], &out["intervalSeconds"]),
        (&json!(false), &json!("77"), &json!(30))
    );
    assert_eq!(out["headers"], json!(["Authorization", "X-Loja"]));
    // The server reads what the command wrote.
    let mut shown = Value::Null;
    for _ in 0..100 {
        shown = feed(&app, &w).await;
        if shown["position"] == "77" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (&shown["position"], &shown["enabled"]),
        (&json!("77"), &json!(false))
    );
    let (ok, _, err) = cli(
        db,
        &["seller", "feed", "--seller", seller, "--interval", "0"],
    );
    assert!(!ok && err.contains("intervalSeconds"), "{err}");
    let (ok, _, err) = cli(
        db,
        &["seller", "feed", "--seller", seller, "--header", "no colon"],
    );
    assert!(!ok && err.contains("Name: value"), "{err}");
    let (ok, out, err) = cli(
        db,
        &[
            "seller",
            "feed",
            "--seller",
            seller,
            "--restart",
            "--no-headers",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        (&out["position"], &out["headers"]),
        (&Value::Null, &json!([]))
    );
    let (ok, out, _) = cli(db, &["seller", "feed", "--seller", seller, "--remove"]);
    assert!(ok);
    assert_eq!(out["removed"], true);
    let (ok, _, _) = cli(
        db,
        &[
            "seller",
            "feed",
            "--seller",
            "NOPE",
            "--url",
            "https://x.example/",
        ],
    );
    assert!(!ok);
}
