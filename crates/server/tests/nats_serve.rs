//! `entreposto serve` with `[nats]` configured relays the outbox to JetStream: an
//! order pushed through the native API arrives on
//! `<prefix>.<operator>.<seller>.order.created` with its event id as `Nats-Msg-Id`
//! and the envelope as its body. Against the NATS server on 127.0.0.1:4222, on a
//! stream and prefix of this test's own; SQLite and PostgreSQL.

mod common;

use std::time::{Duration, Instant};

use common::{cli, fresh_database, order_body, serve_with_env, Backend, TempDir};

binary_on_both_backends!(served_events_reach_jetstream);

async fn served_events_reach_jetstream(backend: Backend) {
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
    let id = entreposto_store::new_id();
    let (stream, prefix) = (format!("S{id}"), format!("serve{}", id.to_lowercase()));
    let env = [
        ("ENTREPOSTO_NATS__URL", "nats://127.0.0.1:4222"),
        ("ENTREPOSTO_NATS__STREAM", stream.as_str()),
        ("ENTREPOSTO_NATS__SUBJECT_PREFIX", prefix.as_str()),
    ];
    let (mut server, base) = serve_with_env(&db, &env);
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/orders"))
        .header("authorization", &token)
        .json(&order_body(&seller_id, "NATS-1"))
        .send()
        .await
        .expect("push");
    assert_eq!(r.status().as_u16(), 201);
    let order: serde_json::Value = r.json().await.unwrap();

    let js =
        async_nats::jetstream::new(async_nats::connect("nats://127.0.0.1:4222").await.unwrap());
    let subject = format!("{prefix}.{op_id}.{seller_id}.order.created");
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        if let Ok(s) = js.get_stream(&stream).await {
            if let Ok(m) = s.get_last_raw_message_by_subject(&subject).await {
                break m;
            }
        }
        assert!(Instant::now() < deadline, "no message on {subject}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = server.kill();
    let _ = server.wait();
    let body: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["entityId"], order["id"]);
    assert_eq!(body["data"]["marketplaceOrderId"], "NATS-1");
    let msg_id = message
        .headers
        .get(async_nats::header::NATS_MESSAGE_ID)
        .map(|v| v.as_str().to_string());
    assert_eq!(msg_id.as_deref(), body["id"].as_str());
    let _ = js.delete_stream(&stream).await;
}
