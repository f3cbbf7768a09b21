//! Both sides of `[http] fast_json`: the hot read responses (SkyHub SACs, Omnik
//! cases) written by our JSON writer and by serde_json are the same bytes. Two servers
//! over one store, one with each setting, answer the same requests.

mod common;

use common::{bearer, order_body, TestApp};
use entreposto_domain::Dialect;
use entreposto_http::{AppState, HttpOptions};
use serde_json::json;

on_both_backends!(hot_responses_are_the_same_bytes_either_way);

/// Text that needs escaping, and text that does not.
const TRICKY: &str = "Aspas \" e barra \\ numa linha\nnova,\ttab, São Paulo, 📦 \u{2028} fim";

async fn hot_responses_are_the_same_bytes_either_way(app: TestApp) {
    let (op, token) = app.operator().await;
    let token = bearer(&token);
    let seller = app.seller(&op, "Loja \"A\"").await;
    let sky = app
        .credential(&op, Some(&seller), Dialect::named("skyhub"))
        .await
        .headers;
    let omnik = app
        .credential(&op, Some(&seller), Dialect::named("omnik"))
        .await
        .headers;
    let subject = json!({"subject": "Produto não chegou", "sla": 48, "forReturn": false});
    assert_eq!(
        app.post("/api/v1/subjects", &token, &subject).await.status,
        201
    );
    let order = app
        .post(
            "/api/v1/orders",
            &token,
            &order_body(&seller.id, "02-1000000004"),
        )
        .await;
    let order_id = order.body["id"].as_str().unwrap().to_string();
    let case = json!({"customerServiceData": {"subject": "Produto não chegou", "responsible": "SELLER"},
        "orderData": {"id": order_id},
        "comments": [{"entity": "CLIENTE", "subject": "Produto não chegou", "comment": TRICKY,
            "customerCanView": true, "author": {"email": "cliente@example.com"},
            "iterationDate": "2023-06-06T21:41:57.123000", "responsible": "SELLER"}]});
    let created = app
        .post("/omnik/HUB/v1/orders/customerservice", &omnik, &case)
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let case_id = created.body["customerServiceData"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = app.get("/skyhub/sac", &sky).await;
    let code = listed.body["sacs"][0]["code"]
        .as_str()
        .unwrap()
        .replace(' ', "%20");

    // The same store behind a second server with serde_json.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain = format!("http://{}", listener.local_addr().unwrap());
    let options = HttpOptions {
        fast_json: false,
        ..HttpOptions::default()
    };
    let router = entreposto_http::router(
        AppState::with_options(app.store.clone(), &app.base, options),
        &entreposto::mounts::MOUNTS,
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let client = reqwest::Client::new();
    let fetch = |base: &str, path: &str, headers: &std::collections::BTreeMap<String, String>| {
        let mut req = client.get(format!("{base}{path}"));
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.bytes().await.unwrap()
        }
    };
    for (path, headers) in [
        (format!("/skyhub/sac/{code}"), &sky),
        ("/skyhub/sac".to_string(), &sky),
        (
            format!("/omnik/HUB/v1/orders/customerservice/{case_id}"),
            &omnik,
        ),
        ("/omnik/HUB/v1/orders/customerservice".to_string(), &omnik),
    ] {
        let fast = fetch(&app.base, &path, headers).await;
        let serde = fetch(&plain, &path, headers).await;
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&serde),
            "{path}"
        );
        let parsed: serde_json::Value = serde_json::from_slice(&fast).unwrap();
        assert!(
            parsed.to_string().contains("Aspas") || path.starts_with("/skyhub"),
            "{path}"
        );
    }
}
