//! Webhooks end to end, on both backends: endpoints managed over the native API, events
//! fanned out and delivered to a real receiver on 127.0.0.1 (loopback allowed by the
//! `[webhooks]` setting), signatures checked by an independent Standard Webhooks
//! verifier, the retry schedule walked with a settable clock (no sleeping), disabling
//! after five days of failures and enabling again, replay, recovery since a time,
//! one entity's events in order, private addresses refused, and two nodes on one
//! PostgreSQL delivering each event once while one of them dies mid-delivery.
//!
//! The dispatcher is driven by hand (`deliver_due`) except where the test is about
//! the running loop, so each step is seen before the next.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::receiver::{verify, Receiver};
use common::{bearer, Backend, TestApp};
use entreposto_app::webhooks::WebhookEvent;
use entreposto_app::{Clock, ManualClock};
use entreposto_domain::webhook::{ENDPOINT_DISABLED, RETRY_DELAYS_SECONDS};
use entreposto_domain::{Operator, Seller, Timestamp};
use entreposto_worker::webhooks::{Dispatcher, DispatcherOptions, WebhookSink};
use reqwest::Method;
use serde_json::{json, Value};

const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;

struct Hooks {
    app: TestApp,
    clock: Arc<ManualClock>,
    rx: Receiver,
    op: Operator,
    seller: Seller,
    token: BTreeMap<String, String>,
    node: Dispatcher,
}

fn allow_loopback(c: &mut entreposto::config::Config) {
    c.webhooks.allow_private_addresses = true;
    c.webhooks.worker = false;
}

impl Hooks {
    async fn start(backend: Backend) -> Option<Hooks> {
        Hooks::start_with(backend, allow_loopback).await
    }

    async fn start_with(
        backend: Backend,
        configure: fn(&mut entreposto::config::Config),
    ) -> Option<Hooks> {
        let clock = Arc::new(ManualClock::at(Timestamp::now()));
        let app = TestApp::spawn_full(backend, configure, |r| r, clock.clone()).await?;
        let (op, token) = app.operator().await;
        let seller = app.seller(&op, "Loja A").await;
        let node = Dispatcher::new(
            app.app(),
            DispatcherOptions {
                node: "node-a".into(),
                ..DispatcherOptions::default()
            },
        )
        .expect("dispatcher");
        Some(Hooks {
            rx: Receiver::start().await,
            app,
            clock,
            op,
            seller,
            token: bearer(&token),
            node,
        })
    }

    /// Creates an endpoint at the receiver's `path`; its id and secret.
    async fn endpoint(&self, path: &str, extra: Value) -> (String, String) {
        let mut body = json!({"url": format!("{}{path}", self.rx.url)});
        if let Value::Object(m) = extra {
            body.as_object_mut().unwrap().extend(m);
        }
        let r = self.app.post("/api/v1/webhooks", &self.token, &body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        (
            r.body["id"].as_str().unwrap().to_string(),
            r.body["secret"].as_str().unwrap().to_string(),
        )
    }

    fn event(&self, seq: i64, event_type: &str, entity: &str) -> WebhookEvent {
        WebhookEvent {
            id: format!("evt_{}", entreposto_store::new_id()),
            seq,
            event_type: event_type.into(),
            operator_id: self.op.id.clone(),
            seller_id: Some(self.seller.id.clone()),
            entity: Some(entity.into()),
            occurred_at: self.clock.now(),
            body: json!({
                "type": event_type,
                "timestamp": self.clock.now().to_rfc3339_utc(),
                "data": {"id": entity, "n": seq},
            })
            .to_string(),
        }
    }

    /// Fans events out as the outbox sink does.
    async fn emit(&self, events: &[WebhookEvent]) {
        self.app
            .app()
            .fan_out_webhooks(events)
            .await
            .expect("fan out");
    }

    async fn deliver(&self) -> usize {
        self.node.deliver_due().await.expect("deliver")
    }

    fn advance(&self, micros: i64) {
        self.clock.advance(micros);
    }

    async fn deliveries(&self, id: &str) -> Vec<Value> {
        let r = self
            .app
            .get(&format!("/api/v1/webhooks/{id}/deliveries"), &self.token)
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["items"].as_array().unwrap().clone()
    }

    async fn webhook(&self, id: &str) -> Value {
        let r = self
            .app
            .get(&format!("/api/v1/webhooks/{id}"), &self.token)
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    }

    async fn patch(&self, id: &str, body: Value) -> common::Reply {
        self.app
            .call(
                Method::PATCH,
                &format!("/api/v1/webhooks/{id}"),
                &self.token,
                Some(serde_json::to_vec(&body).unwrap()),
            )
            .await
    }
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let h = super::Hooks::start(super::Backend::Sqlite).await.expect("sqlite");
                super::$name(h).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match super::Hooks::start(super::Backend::Postgres).await {
                    Some(h) => super::$name(h).await,
                    None => eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set"),
                }
            }
        }
    )*};
}

on_both!(
    deliveries_are_signed_as_standard_webhooks,
    a_rotated_secret_signs_beside_the_new_one,
    failures_are_retried_on_the_schedule_then_failed,
    five_days_of_failures_disable_and_patch_enables,
    a_message_is_replayed,
    recovery_sends_what_did_not_arrive_since_a_time,
    one_entity_reaches_an_endpoint_in_order,
    filters_and_scopes_choose_the_endpoints,
    endpoints_are_managed_and_validated,
    the_running_dispatcher_delivers_at_once,
    a_delivery_waiting_for_a_slot_goes_when_one_frees,
    an_order_push_reaches_its_endpoint_through_the_outbox,
    the_log_pages_and_checks_its_parameters,
);

async fn deliveries_are_signed_as_standard_webhooks(h: Hooks) {
    let (id, secret) = h
        .endpoint("/hook", json!({"events": ["order.status_changed"]}))
        .await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let e = h.event(1, "order.status_changed", "order:42");
    h.emit(std::slice::from_ref(&e)).await;
    assert_eq!(h.deliver().await, 1);
    let got = h.rx.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/hook");
    assert_eq!(r.id, e.id);
    assert_eq!(r.timestamp, (h.clock.now().0 / SECOND).to_string());
    assert!(verify(r, &secret), "the signature verifies: {r:?}");
    assert!(!verify(r, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"));
    assert!(r.user_agent.starts_with("Entreposto-Webhooks/"));
    let body = r.json();
    assert_eq!(body["type"], "order.status_changed");
    assert_eq!(body["data"], json!({"id": "order:42", "n": 1}));
    assert_eq!(body["timestamp"], e.occurred_at.to_rfc3339_utc());
    // The log shows the delivery and its attempt.
    let log = h.deliveries(&id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["message"], e.id);
    assert_eq!(log[0]["state"], "succeeded");
    assert_eq!(log[0]["entity"], "order:42");
    let attempt = &log[0]["attempts"][0];
    assert_eq!(attempt["status"], 200);
    assert_eq!(attempt["response"], "answered 200");
    assert_eq!(attempt["node"], "node-a");
    assert!(attempt["error"].is_null());
    // Nothing more is due.
    assert_eq!(h.deliver().await, 0);
}

async fn a_rotated_secret_signs_beside_the_new_one(h: Hooks) {
    let (id, old) = h.endpoint("/hook", json!({})).await;
    let r = h
        .app
        .post(
            &format!("/api/v1/webhooks/{id}/rotate"),
            &h.token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let new = r.body["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(r.body["previousSecretUntil"].is_string());
    h.emit(&[h.event(1, "order.invoiced", "order:1")]).await;
    h.deliver().await;
    let got = h.rx.received();
    assert_eq!(got[0].signature.split(' ').count(), 2, "{:?}", got[0]);
    assert!(verify(&got[0], &new) && verify(&got[0], &old));
    // A day later only the new secret signs.
    h.advance(DAY);
    h.emit(&[h.event(2, "order.invoiced", "order:2")]).await;
    h.deliver().await;
    let got = h.rx.received();
    assert_eq!(got[1].signature.split(' ').count(), 1, "{:?}", got[1]);
    assert!(verify(&got[1], &new) && !verify(&got[1], &old));
}

async fn failures_are_retried_on_the_schedule_then_failed(h: Hooks) {
    let (id, _) = h.endpoint("/hook", json!({})).await;
    h.rx.answer_always(503);
    h.emit(&[h.event(1, "order.invoiced", "order:1")]).await;
    assert_eq!(h.deliver().await, 1, "the first attempt is at once");
    for (i, delay) in RETRY_DELAYS_SECONDS.iter().enumerate() {
        h.advance(delay * SECOND - SECOND);
        assert_eq!(h.deliver().await, 0, "retry {} not before {delay} s", i + 1);
        h.advance(SECOND);
        assert_eq!(h.deliver().await, 1, "retry {} after {delay} s", i + 1);
        let log = h.deliveries(&id).await;
        let expected = if i + 1 == RETRY_DELAYS_SECONDS.len() {
            "failed"
        } else {
            "pending"
        };
        assert_eq!(log[0]["state"], expected, "{:?}", log[0]);
    }
    h.advance(DAY);
    assert_eq!(h.deliver().await, 0, "failed after eight attempts");
    let log = h.deliveries(&id).await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 8);
    assert!(attempts.iter().all(|a| a["status"] == 503));
    assert_eq!(attempts[0]["response"], "answered 503");
    assert_eq!(attempts[0]["error"], "status 503 is not a 2xx");
    assert!(log[0]["nextAttemptAt"].is_null());
    assert_eq!(h.rx.received().len(), 8);
    // Within a day of failures the endpoint stays enabled.
    assert_eq!(h.webhook(&id).await["enabled"], true);
}

async fn five_days_of_failures_disable_and_patch_enables(h: Hooks) {
    let (id, _) = h.endpoint("/hook", json!({})).await;
    h.rx.answer_always(500);
    h.emit(&[h.event(1, "order.invoiced", "order:1")]).await;
    h.deliver().await;
    let first_failure = h.clock.now();
    assert_eq!(
        h.webhook(&id).await["failingSince"],
        first_failure.to_rfc3339_utc()
    );
    // Five days later another event fails too: the endpoint is disabled.
    h.advance(5 * DAY);
    h.emit(&[h.event(2, "order.invoiced", "order:2")]).await;
    h.deliver().await;
    let w = h.webhook(&id).await;
    assert_eq!(w["enabled"], false, "{w:?}");
    assert_eq!(w["disabledReason"], "failing");
    // The outbox has the event saying so.
    let events = h
        .app
        .store
        .list_events(&entreposto_store::EventFilter {
            operator_id: h.op.id.clone(),
            seller_id: None,
            since: first_failure,
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    let disabled: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == ENDPOINT_DISABLED)
        .collect();
    assert_eq!(disabled.len(), 1, "{events:?}");
    assert_eq!(disabled[0].entity_id, id);
    assert_eq!(disabled[0].payload_value()["reason"], "failing");
    // Disabled: nothing is sent, a new event is logged as skipped.
    h.emit(&[h.event(3, "order.invoiced", "order:3")]).await;
    h.advance(DAY);
    assert_eq!(h.deliver().await, 0);
    let sent = h.rx.received().len();
    let log = h.deliveries(&id).await;
    assert_eq!(log[0]["state"], "skipped");
    // Enabled again by PATCH: the pending retries go out, and succeed.
    h.rx.answer_ok();
    let r = h.patch(&id, json!({"enabled": true})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["enabled"], true);
    assert!(r.body["disabledReason"].is_null() && r.body["failingSince"].is_null());
    assert_eq!(h.deliver().await, 2, "both pending deliveries are due");
    assert_eq!(h.rx.received().len(), sent + 2);
    let states: Vec<_> = h
        .deliveries(&id)
        .await
        .iter()
        .map(|d| d["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["skipped", "succeeded", "succeeded"]);
}

async fn a_message_is_replayed(h: Hooks) {
    let (id, secret) = h.endpoint("/hook", json!({})).await;
    let e = h.event(1, "ticket.opened", "ticket:7");
    h.emit(std::slice::from_ref(&e)).await;
    h.deliver().await;
    let r = h
        .app
        .post(
            &format!("/api/v1/webhooks/{id}/deliveries/{}/replay", e.id),
            &h.token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["state"], "pending");
    assert_eq!(h.deliver().await, 1);
    let got = h.rx.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].id, e.id, "a replay keeps the webhook-id");
    assert_eq!(got[1].body, got[0].body);
    assert!(verify(&got[1], &secret));
    let log = h.deliveries(&id).await;
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 2);
    let missing = h
        .app
        .post(
            &format!("/api/v1/webhooks/{id}/deliveries/evt_nope/replay"),
            &h.token,
            &json!({}),
        )
        .await;
    assert_eq!(missing.status, 404, "{:?}", missing.body);
}

async fn recovery_sends_what_did_not_arrive_since_a_time(h: Hooks) {
    let (id, _) = h.endpoint("/hook", json!({})).await;
    // Disabled for a while: three events are skipped, an hour apart.
    assert_eq!(h.patch(&id, json!({"enabled": false})).await.status, 200);
    let mut times = Vec::new();
    for n in 1..=3 {
        times.push(h.clock.now());
        h.emit(&[h.event(n, "order.invoiced", &format!("order:{n}"))])
            .await;
        h.advance(3600 * SECOND);
    }
    assert_eq!(h.webhook(&id).await["disabledReason"], "manual");
    assert_eq!(h.patch(&id, json!({"enabled": true})).await.status, 200);
    assert_eq!(
        h.deliver().await,
        0,
        "skipped deliveries wait for a recovery"
    );
    let r = h
        .app
        .post(
            &format!("/api/v1/webhooks/{id}/recover"),
            &h.token,
            &json!({"since": times[1].to_rfc3339_utc()}),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["requeued"], 2);
    assert_eq!(h.deliver().await, 2);
    let mut got: Vec<i64> =
        h.rx.received()
            .iter()
            .map(|r| r.json()["data"]["n"].as_i64().unwrap())
            .collect();
    got.sort();
    assert_eq!(got, [2, 3]);
    let bad = h
        .app
        .post(
            &format!("/api/v1/webhooks/{id}/recover"),
            &h.token,
            &json!({"since": "yesterday"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    assert_eq!(bad.body["error"]["field"], "since");
}

async fn one_entity_reaches_an_endpoint_in_order(h: Hooks) {
    let (_, _) = h.endpoint("/hook", json!({})).await;
    // The first event of order 1 fails once; order 2's goes on meanwhile.
    h.rx.answer(&[500]);
    let x1 = h.event(1, "order.created", "order:1");
    let y1 = h.event(2, "order.created", "order:2");
    let x2 = h.event(3, "order.status_changed", "order:1");
    let x3 = h.event(4, "order.invoiced", "order:1");
    h.emit(std::slice::from_ref(&x1)).await;
    assert_eq!(h.deliver().await, 1, "order 1's first event, failing");
    h.emit(&[y1.clone(), x2.clone(), x3.clone()]).await;
    assert_eq!(h.deliver().await, 1, "order 2's event; order 1's wait");
    h.advance(4 * SECOND);
    assert_eq!(
        h.deliver().await,
        0,
        "order 1's next events wait behind its retry"
    );
    h.advance(SECOND);
    assert_eq!(h.deliver().await, 1);
    assert_eq!(h.deliver().await, 1);
    assert_eq!(h.deliver().await, 1);
    let ids: Vec<String> = h.rx.received().iter().map(|r| r.id.clone()).collect();
    let of_x: Vec<&String> = ids.iter().filter(|i| **i != y1.id).collect();
    assert_eq!(of_x, [&x1.id, &x1.id, &x2.id, &x3.id]);
}

async fn filters_and_scopes_choose_the_endpoints(h: Hooks) {
    let other = h.app.seller(&h.op, "Loja B").await;
    let (all, _) = h.endpoint("/all", json!({})).await;
    let (invoiced, _) = h
        .endpoint("/invoiced", json!({"events": ["order.invoiced"]}))
        .await;
    let (mine, _) = h.endpoint("/seller", json!({"seller": other.id})).await;
    let mut of_other = h.event(1, "order.created", "order:1");
    of_other.seller_id = Some(other.id.clone());
    let invoice = h.event(2, "order.invoiced", "order:2");
    let mut operator_wide = h.event(3, "credential.issued", "credential:1");
    operator_wide.seller_id = None;
    h.emit(&[of_other.clone(), invoice.clone(), operator_wide.clone()])
        .await;
    while h.deliver().await > 0 {}
    // Sorted: one claim's deliveries (of different entities) go out at once.
    let at = |path: &str| -> Vec<String> {
        let mut ids: Vec<String> =
            h.rx.received()
                .iter()
                .filter(|r| r.path == path)
                .map(|r| r.id.clone())
                .collect();
        ids.sort();
        ids
    };
    let mut everything = vec![
        of_other.id.clone(),
        invoice.id.clone(),
        operator_wide.id.clone(),
    ];
    everything.sort();
    assert_eq!(at("/all"), everything);
    assert_eq!(at("/invoiced"), std::slice::from_ref(&invoice.id));
    assert_eq!(at("/seller"), std::slice::from_ref(&of_other.id));
    for id in [all, invoiced, mine] {
        assert!(!h.deliveries(&id).await.is_empty());
    }
}

async fn endpoints_are_managed_and_validated(h: Hooks) {
    let (id, _) = h.endpoint("/hook", json!({"description": "ERP"})).await;
    let list = h.app.get("/api/v1/webhooks", &h.token).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["id"], id);
    assert!(list.body[0]["events"].is_null() && list.body[0]["seller"].is_null());
    assert!(
        list.body[0].get("secret").is_none(),
        "listings never show secrets"
    );
    // PATCH: events, then every type again with null; a new URL.
    let r = h.patch(&id, json!({"events": ["ticket.closed"]})).await;
    assert_eq!(r.body["events"], json!(["ticket.closed"]));
    let r = h
        .patch(
            &id,
            json!({"events": null, "url": format!("{}/new", h.rx.url)}),
        )
        .await;
    assert!(r.body["events"].is_null(), "{:?}", r.body);
    assert_eq!(r.body["url"], format!("{}/new", h.rx.url));
    assert_eq!(r.body["description"], "ERP");
    // Input mistakes name their field.
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (
            json!({"url": "https://example.com/", "events": ["order.nope"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "seller": "nobody"}),
            "seller",
        ),
        (json!({"events": ["order.invoiced"]}), "url"),
    ] {
        let r = h.app.post("/api/v1/webhooks", &h.token, &body).await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{body}: {:?}", r.body);
    }
    let r = h.patch(&id, json!({"url": "gopher://x"})).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("url"))
    );
    let r = h.patch(&id, json!({"colour": "red"})).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    // Another operator sees none of it.
    let (_, other) = h.app.operator().await;
    let other = bearer(&other);
    for path in [
        format!("/api/v1/webhooks/{id}"),
        format!("/api/v1/webhooks/{id}/deliveries"),
    ] {
        assert_eq!(h.app.get(&path, &other).await.status, 404, "{path}");
    }
    assert!(h
        .app
        .get("/api/v1/webhooks", &other)
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());
    let gone = h
        .app
        .call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            &other,
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
    // The owner deletes it.
    let gone = h
        .app
        .call(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            &h.token,
            None,
        )
        .await;
    assert_eq!(gone.status, 204, "{:?}", gone.body);
    assert_eq!(
        h.app
            .get(&format!("/api/v1/webhooks/{id}"), &h.token)
            .await
            .status,
        404
    );
}

async fn the_log_pages_and_checks_its_parameters(h: Hooks) {
    let (id, _) = h.endpoint("/hook", json!({})).await;
    let events: Vec<WebhookEvent> = (1..=5)
        .map(|n| h.event(n, "order.created", &format!("order:{n}")))
        .collect();
    h.emit(&events).await;
    h.rx.answer(&[500, 500, 500, 500, 500]);
    h.deliver().await;
    h.rx.answer_ok();
    let hooks = &h;
    let page = |q: String| {
        let path = format!("/api/v1/webhooks/{id}/deliveries{q}");
        async move { hooks.app.get(&path, &hooks.token).await }
    };
    let first = page("?limit=2".into()).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let ids: Vec<&str> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [events[4].id.as_str(), events[3].id.as_str()],
        "newest first"
    );
    let next = first.body["next"].as_str().unwrap().to_string();
    let second = page(format!("?limit=2&before={next}")).await;
    let ids: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [events[2].id.as_str(), events[1].id.as_str()]);
    let last = page(format!(
        "?limit=2&before={}",
        second.body["next"].as_str().unwrap()
    ))
    .await;
    assert_eq!(last.body["items"].as_array().unwrap().len(), 1);
    assert!(last.body["next"].is_null());
    let pending = page("?state=pending".into()).await;
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(pending.body["items"][0]["tries"], 1);
    assert!(pending.body["items"][0]["nextAttemptAt"].is_string());
    assert!(page("?state=succeeded".into()).await.body["items"]
        .as_array()
        .unwrap()
        .is_empty());
    for (q, field) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?state=lost", "state"),
        ("?before=x", "before"),
    ] {
        let r = page(q.into()).await;
        assert_eq!(r.status, 422, "{q}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{q}");
    }
}

/// The whole way: an order pushed over the native API writes its event to the
/// outbox with the order, the webhooks' sink fans it out, the dispatcher delivers the
/// order as the native API shows it; a second push of the same order follows it.
async fn an_order_push_reaches_its_endpoint_through_the_outbox(h: Hooks) {
    let (id, secret) = h
        .endpoint(
            "/orders",
            json!({"events": ["order.created", "order.updated"]}),
        )
        .await;
    let relay = entreposto_worker::Relay::new(
        h.app.store.clone(),
        Arc::new(WebhookSink::new(h.app.app())),
        h.clock.clone(),
        "node-a",
        entreposto_worker::RelaySettings::default(),
    );
    let body = common::order_body(&h.seller.id, "02-1000000004");
    let pushed = h.app.post("/api/v1/orders", &h.token, &body).await;
    assert_eq!(pushed.status, 201, "{:?}", pushed.body);
    let mut again = body.clone();
    again["freight"] = json!(20.0);
    assert_eq!(
        h.app.post("/api/v1/orders", &h.token, &again).await.status,
        200
    );
    while matches!(
        relay.turn().await.expect("relay"),
        entreposto_worker::Turn::Delivered { .. }
    ) {}
    while h.deliver().await > 0 {}
    let got = h.rx.received();
    let types: Vec<Value> = got.iter().map(|r| r.json()["type"].clone()).collect();
    assert_eq!(types, [json!("order.created"), json!("order.updated")]);
    assert!(got.iter().all(|r| verify(r, &secret)));
    let created = got[0].json();
    assert_eq!(created["data"]["id"], pushed.body["id"], "{created}");
    assert_eq!(created["id"], got[0].id, "the body carries the webhook-id");
    assert_eq!(created["seller"], h.seller.id.as_str());
    assert_eq!(created["data"]["marketplaceOrderId"], "02-1000000004");
    let log = h.deliveries(&id).await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d["state"] == "succeeded"));
    let order_id = match &pushed.body["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(log[0]["entity"], format!("order:{order_id}"));
    // Relaying again fans nothing out twice.
    assert_eq!(relay.turn().await.unwrap(), entreposto_worker::Turn::Idle);
}

/// The dispatcher as `serve` runs it: a fan-out on this node wakes it at once.
async fn the_running_dispatcher_delivers_at_once(h: Hooks) {
    let (_, secret) = h.endpoint("/hook", json!({})).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let node = h.node.clone();
    let running = tokio::spawn(async move { node.run(stopped).await });
    let e = h.event(1, "order.created", "order:1");
    h.emit(std::slice::from_ref(&e)).await;
    let got = h.rx.wait_for("the delivery", |r| !r.is_empty()).await;
    assert_eq!(got[0].id, e.id);
    assert!(verify(&got[0], &secret));
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the dispatcher stops")
        .unwrap();
}

/// A delivery left for a claim while every slot is held (here, as a fan-out holds
/// them while it writes the deliveries it leases) goes out as soon as a slot frees,
/// not at the dispatcher's next poll (an hour here): the fan-out's notification
/// comes while the slots are still held.
async fn a_delivery_waiting_for_a_slot_goes_when_one_frees(h: Hooks) {
    h.endpoint("/hook", json!({})).await;
    let node = Dispatcher::new(
        h.app.app(),
        DispatcherOptions {
            node: "node-b".into(),
            poll: Duration::from_secs(3600),
            concurrency: 1,
            ..DispatcherOptions::default()
        },
    )
    .expect("dispatcher");
    let held = node.reserve().expect("the only slot");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn({
        let node = node.clone();
        async move { node.run(stopped).await }
    });
    let e = h.event(1, "order.created", "order:1");
    h.emit(std::slice::from_ref(&e)).await;
    // Time for the loop to take the notification while the slot is held: with the
    // loop waiting for the next notification instead, this test failed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(held);
    let got = h.rx.wait_for("the delivery", |r| !r.is_empty()).await;
    assert_eq!(got[0].id, e.id);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the dispatcher stops")
        .unwrap();
}

/// With the setting off, literal private hosts are refused when the endpoint is
/// created, and a name that resolves to loopback is refused when delivering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_without_the_setting() {
    fn refuse(c: &mut entreposto::config::Config) {
        c.webhooks.worker = false;
    }
    let h = Hooks::start_with(Backend::Sqlite, refuse).await.unwrap();
    for url in [
        format!("{}/hook", h.rx.url),
        "http://10.1.2.3/hook".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[::1]:8080/".into(),
        "http://[::ffff:127.0.0.1]/".into(),
    ] {
        let r = h
            .app
            .post("/api/v1/webhooks", &h.token, &json!({"url": url}))
            .await;
        assert_eq!(r.status, 422, "{url}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], "url");
    }
    // `localhost` is a name: accepted, and refused at delivery by what it resolves to.
    let port = h.rx.url.rsplit(':').next().unwrap();
    let r = h
        .app
        .post(
            "/api/v1/webhooks",
            &h.token,
            &json!({"url": format!("http://localhost:{port}/hook")}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    h.emit(&[h.event(1, "order.created", "order:1")]).await;
    assert_eq!(h.deliver().await, 1);
    assert!(h.rx.received().is_empty(), "nothing reached the receiver");
    let log = h.deliveries(&id).await;
    assert_eq!(
        log[0]["state"], "pending",
        "a refusal is retried like a failure"
    );
    let attempt = &log[0]["attempts"][0];
    assert!(attempt["status"].is_null());
    let error = attempt["error"].as_str().unwrap();
    assert!(error.contains("refused"), "{error}");
}

/// A hub node of its own: its own runtime (on a thread), store, outbox relay and
/// dispatcher over `database_url`, on `clock`, as `serve` runs them. Dropping the
/// returned sender kills it at once, as a SIGKILL would: its runtime goes with every
/// task, connection and request in flight.
fn spawn_node(
    name: &str,
    database_url: String,
    clock: Arc<ManualClock>,
) -> tokio::sync::oneshot::Sender<()> {
    let (kill, killed) = tokio::sync::oneshot::channel::<()>();
    let name = name.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("node runtime");
        rt.block_on(async move {
            let mut config = entreposto::config::Config {
                database_url: database_url.as_str().into(),
                pg_max_connections: 4,
                secrets: common::test_secrets(),
                ..Default::default()
            };
            allow_loopback(&mut config);
            config.webhooks.node = Some(name);
            config.webhooks.poll_ms = 20;
            config.webhooks.concurrency = 4;
            config.outbox.poll_ms = 50;
            let store = entreposto::store::open(&config).await.expect("node store");
            let app = entreposto_app::App::new(store.clone(), clock)
                .with_webhook_settings(config.webhooks.settings());
            let (_stop, stopped) = tokio::sync::watch::channel(false);
            let _tasks = entreposto::webhooks::spawn(&app, store, &config, &stopped)
                .expect("webhook workers");
            let _ = killed.await;
        });
        rt.shutdown_background();
    });
    kill
}

async fn log_of(h: &Hooks, id: &str) -> Vec<entreposto_store::webhooks::Delivery> {
    h.app
        .store
        .list_deliveries(
            &h.op.id,
            id,
            &entreposto_store::webhooks::DeliveryFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

/// Two nodes on one PostgreSQL, each relaying the outbox and dispatching, deliver
/// every event of 40 order pushes once; the node holding a delivery dies
/// mid-request, and the other retakes it once its lease has run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_deliver_each_event_once_while_one_dies() {
    let Some(h) = Hooks::start(Backend::Postgres).await else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return;
    };
    let (id, secret) = h
        .endpoint("/hook", json!({"events": ["order.created"]}))
        .await;
    let mut nodes = BTreeMap::from([
        (
            "node-a",
            spawn_node("node-a", h.app.database_url.clone(), h.clock.clone()),
        ),
        (
            "node-b",
            spawn_node("node-b", h.app.database_url.clone(), h.clock.clone()),
        ),
    ]);
    // The receiver holds the first request it gets and never answers it.
    h.rx.hold("*");
    for n in 0..40 {
        let body = common::order_body(&h.seller.id, &format!("02-20000000{n:02}"));
        let r = h.app.post("/api/v1/orders", &h.token, &body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let got =
        h.rx.wait_for("39 answered and one held", |r| {
            r.len() == 40 && r.iter().filter(|r| r.answered == 200).count() == 39
        })
        .await;
    let held = got.iter().find(|r| r.answered == 0).unwrap().id.clone();
    let mut log = Vec::new();
    for _ in 0..2000 {
        log = log_of(&h, &id).await;
        let done = log
            .iter()
            .filter(|d| d.state == entreposto_domain::DeliveryState::Succeeded);
        if done.count() == 39 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let holder = log
        .iter()
        .find(|d| d.message_id == held)
        .and_then(|d| d.claimed_by.clone())
        .expect("the held delivery is claimed");
    // The node holding it dies mid-request.
    drop(nodes.remove(holder.as_str()));
    // Nothing is sent again before the dead node's lease runs out; then it is retaken.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.rx.received().len(), 40);
    h.advance(61 * SECOND);
    let got =
        h.rx.wait_for("the held event, retaken", |r| {
            r.iter().filter(|r| r.answered == 200).count() == 40
        })
        .await;
    let mut ids: Vec<&str> = got
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.id.as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every event accepted once");
    assert_eq!(
        got.len(),
        41,
        "40 events and the request the dead node never finished"
    );
    assert!(got.iter().all(|r| verify(r, &secret)));
    assert!(got.iter().all(|r| r.json()["type"] == "order.created"));
    let mut log = log_of(&h, &id).await;
    for _ in 0..2000 {
        if log
            .iter()
            .all(|d| d.state == entreposto_domain::DeliveryState::Succeeded)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        log = log_of(&h, &id).await;
    }
    assert_eq!(log.len(), 40);
    assert!(log
        .iter()
        .all(|d| d.state == entreposto_domain::DeliveryState::Succeeded));
    let retaken = log.iter().find(|d| d.message_id == held).unwrap();
    assert_eq!(
        retaken.attempts.len(),
        1,
        "the dead node's attempt was never recorded"
    );
    assert_ne!(retaken.attempts[0].node, holder);
    drop(nodes);
}

/// The `entreposto webhook` commands, on a database of each backend.
async fn the_cli_manages_endpoints(backend: Backend) {
    let dir = common::TempDir::new();
    let db = common::fresh_database(backend, &dir)
        .await
        .expect("database");
    let (ok, op, err) = common::cli(&db, &["operator", "create", "--name", "Marketplace"]);
    assert!(ok, "{err}");
    let op = op["id"].as_str().unwrap().to_string();
    let (ok, created, err) = common::cli(
        &db,
        &[
            "webhook",
            "create",
            "--operator",
            &op,
            "--url",
            "https://hooks.example.com/in",
            "--events",
            "order.created,order.invoiced",
        ],
    );
    assert!(ok, "{err}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(
        created["events"],
        json!(["order.created", "order.invoiced"])
    );
    let (ok, _, err) = common::cli(
        &db,
        &[
            "webhook",
            "create",
            "--operator",
            &op,
            "--url",
            "https://x.example/",
            "--events",
            "order.nope",
        ],
    );
    assert!(!ok && err.contains("events[0]"), "{err}");
    let (ok, _, err) = common::cli(
        &db,
        &[
            "webhook",
            "create",
            "--operator",
            &op,
            "--url",
            "http://127.0.0.1:9/",
        ],
    );
    assert!(!ok && err.contains("--url"), "{err}");
    let (ok, list, _) = common::cli(&db, &["webhook", "list", "--operator", &op]);
    assert!(ok);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (ok, off, _) = common::cli(&db, &["webhook", "disable", &id]);
    assert!(
        ok && off["enabled"] == false && off["disabledReason"] == "manual",
        "{off}"
    );
    let (ok, on, _) = common::cli(&db, &["webhook", "enable", &id]);
    assert!(ok && on["enabled"] == true, "{on}");
    let (ok, rotated, _) = common::cli(&db, &["webhook", "rotate", &id]);
    assert!(ok && rotated["secret"] != created["secret"], "{rotated}");
    assert!(rotated["previousSecretUntil"].is_string());
    let (ok, log, _) = common::cli(&db, &["webhook", "deliveries", &id]);
    assert!(ok && log == json!([]), "{log}");
    let (ok, rec, err) = common::cli(
        &db,
        &["webhook", "recover", &id, "--since", "2024-05-01T00:00:00Z"],
    );
    assert!(ok && rec["requeued"] == 0, "{err}");
    let (ok, _, err) = common::cli(&db, &["webhook", "replay", &id, "evt_nope"]);
    assert!(!ok, "{err}");
    let (ok, _, _) = common::cli(&db, &["webhook", "delete", &id]);
    assert!(ok);
    let (ok, _, err) = common::cli(&db, &["webhook", "delete", &id]);
    assert!(!ok && err.contains(&id), "{err}");
}

on_both_databases!(the_cli_manages_endpoints);
