//! The native order API end to end: push, idempotent re-push, read back, scoping,
//! auth, and the OpenAPI document.

mod common;

use common::{bearer, order_body, TestApp};
use entreposto_domain::{Dialect, Scope, Timestamp};
use serde_json::json;

on_both_backends!(
    push_then_update_is_idempotent,
    order_reads_back_exactly,
    operators_cannot_see_each_other,
    openapi_document_describes_the_routes,
    health_and_metrics,
);
// Revocation must show on the next request: no credential cache to outwait.
on_both_backends!(with common::no_credential_cache; native_api_needs_a_live_operator_token);

async fn push_then_update_is_idempotent(app: TestApp) {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let auth = bearer(&token);

    let first = app
        .post(
            "/api/v1/orders",
            &auth,
            &order_body(&seller.id, "02-1000000004"),
        )
        .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let id = first.body["id"].as_str().unwrap().to_string();
    // `new` is the lifecycle's `pending/payment`, shown as `awaiting_payment`.
    assert_eq!(first.body["status"], "awaiting_payment");

    let mut again = order_body(&seller.id, "02-1000000004");
    again["status"] = json!("approved");
    again["approvedAt"] = json!("2023-06-06 22:10");
    let second = app.post("/api/v1/orders", &auth, &again).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["id"], id.as_str());
    // A re-push replaces the data, not the lifecycle: payment is approved by its action.
    assert_eq!(second.body["status"], "awaiting_payment");
    assert_eq!(second.body["createdAt"], first.body["createdAt"]);

    let read = app.get(&format!("/api/v1/orders/{id}"), &auth).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["status"], "awaiting_payment");
    assert_eq!(read.body["approvedAt"], "2023-06-07T01:10:00.000Z");
    let scope = Scope::operator(&op.id);
    assert_eq!(app.store.count_orders(&scope).await.unwrap(), 1);
}

async fn order_reads_back_exactly(app: TestApp) {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let auth = bearer(&token);
    let created = app
        .post("/api/v1/orders", &auth, &order_body(&seller.id, "X-1"))
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap();
    let o = app.get(&format!("/api/v1/orders/{id}"), &auth).await.body;
    assert_eq!(o["seller"], seller.id.as_str());
    assert_eq!(o["channel"], "Lojas Americanas");
    assert_eq!(o["marketplaceOrderId"], "X-1");
    assert_eq!(o["siteId"], "LASA");
    assert_eq!(o["warehouse"], "98");
    assert_eq!(o["placedAt"], "2023-06-07T00:41:57.000Z");
    assert_eq!(o["customer"]["document"], "52998224725");
    assert_eq!(o["customer"]["documentType"], "CPF");
    assert_eq!(o["customer"]["customerType"], "individual");
    assert_eq!(o["customer"]["phones"][0]["ddd"], "11");
    assert_eq!(o["shippingAddress"]["zipcode"], "01310100");
    assert_eq!(o["shippingAddress"]["state"], "SP");
    assert_eq!(o["items"][0]["unitPrice"], 499.99);
    assert_eq!(o["freight"], 15.0);
    assert_eq!(o["itemsTotal"], 499.99);
    assert_eq!(o["total"], 514.99);
    assert_eq!(o["payments"][0]["installments"], 3);
    assert_eq!(o["payments"][0]["value"], 514.99);
    // Centavos inside: the stored total is exact.
    let stored = app
        .store
        .get_order(&Scope::operator(&op.id), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(stored.data.total().0, 51499);

    let missing = app.get("/api/v1/orders/999999", &auth).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "not_found");
    let garbage = app.get("/api/v1/orders/abc", &auth).await;
    assert_eq!(garbage.status, 404);
}

async fn operators_cannot_see_each_other(app: TestApp) {
    let (op_a, token_a) = app.operator().await;
    let (op_b, token_b) = app.operator().await;
    let seller_a = app.seller(&op_a, "Loja A").await;
    let created = app
        .post(
            "/api/v1/orders",
            &bearer(&token_a),
            &order_body(&seller_a.id, "ISO-1"),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();

    // Operator B cannot read A's order, nor push orders for A's seller.
    let read = app
        .get(&format!("/api/v1/orders/{id}"), &bearer(&token_b))
        .await;
    assert_eq!(read.status, 404);
    let mut changed = order_body(&seller_a.id, "ISO-1");
    changed["status"] = json!("cancelled");
    let push = app
        .post("/api/v1/orders", &bearer(&token_b), &changed)
        .await;
    assert_eq!(push.status, 422);
    assert_eq!(push.body["error"]["field"], "seller");
    let stored = app
        .store
        .get_order(&Scope::operator(&op_a.id), id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(stored.data.status.as_str(), "new");
    assert_eq!(
        app.store
            .count_orders(&Scope::operator(&op_b.id))
            .await
            .unwrap(),
        0
    );

    // Seller credentials of any dialect are not native tokens.
    for dialect in [
        Dialect::named("skyhub"),
        Dialect::named("omnik"),
        Dialect::named("zerok"),
        Dialect::named("koncili"),
    ] {
        let c = app.credential(&op_a, Some(&seller_a), dialect).await;
        let secret = c
            .headers
            .values()
            .find(|v| v.starts_with("ep_"))
            .unwrap()
            .clone();
        let r = app
            .get(
                &format!("/api/v1/orders/{id}"),
                &bearer(&format!("Bearer {secret}")),
            )
            .await;
        assert_eq!(
            r.status, 401,
            "{dialect:?} credential must not work natively"
        );
    }
}

async fn native_api_needs_a_live_operator_token(app: TestApp) {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let body = order_body(&seller.id, "AUTH-1");
    let none = app.post("/api/v1/orders", &Default::default(), &body).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["error"]["code"], "unauthorized");
    assert_eq!(none.content_type.as_deref(), Some("application/json"));
    let last = if token.ends_with('x') { "y" } else { "x" };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    assert_eq!(
        app.post("/api/v1/orders", &bearer(&wrong), &body)
            .await
            .status,
        401
    );
    assert_eq!(
        app.post("/api/v1/orders", &bearer("Bearer nonsense"), &body)
            .await
            .status,
        401
    );
    // Lower-case scheme and header name work.
    let lower = std::collections::BTreeMap::from([(
        "authorization".to_string(),
        token.replace("Bearer", "bearer"),
    )]);
    assert_eq!(app.post("/api/v1/orders", &lower, &body).await.status, 201);

    // A revoked token stops working (at once: this app caches no credential).
    let cred_id = entreposto_http::auth::credential_id_of(token.trim_start_matches("Bearer "))
        .unwrap()
        .to_string();
    app.store
        .revoke_credential(&cred_id, Timestamp::now(), &[])
        .await
        .unwrap();
    assert_eq!(
        app.post("/api/v1/orders", &bearer(&token), &body)
            .await
            .status,
        401
    );
}

async fn openapi_document_describes_the_routes(app: TestApp) {
    let doc = app.get("/api/v1/openapi.json", &Default::default()).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc.body["paths"]["/orders"]["post"].is_object());
    assert!(doc.body["paths"]["/orders/{id}"]["get"].is_object());
    assert!(
        doc.body["components"]["schemas"]["OrderIn"]["properties"]["marketplaceOrderId"]
            .is_object()
    );
}

async fn health_and_metrics(app: TestApp) {
    let h = app.get("/health", &Default::default()).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "ok");
    let _ = app.get("/api/v1/orders/1", &Default::default()).await;
    let m = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(
            r#"entreposto_http_requests_total{method="GET",route="/health",status="200"} 1"#
        ),
        "{m}"
    );
    assert!(
        m.contains(r#"route="/api/v1/orders/{id}",status="401""#),
        "{m}"
    );
    assert!(m.contains("entreposto_http_request_duration_seconds_bucket"));
}
