//! The order lifecycle through the native API, black-box over HTTP on both backends:
//! the marketplace's actions (payment, cancel, delivery) and the ERP mark, stock
//! reserved and returned in the seller's catalog, refusals in the native envelope
//! naming from and to, and one order's state seen the same through the native API and
//! Omnik as it moves (the seller's moves through the use cases 00K calls).

mod common;

use std::collections::BTreeMap;

use common::{bearer, order_body, TestApp};
use entreposto_domain::fiscal::mod11_check_digit;
use entreposto_domain::{
    Cents, Dialect, Invoice, InvoiceProduct, Location, NfeAccessKey, OrderState, ProductKind,
    Scope, Seller, StockLevel, Timestamp,
};
use entreposto_store::catalog_contract::{new_write, simple_fields};
use entreposto_store::{CatalogChange, ProductKey};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    marketplace_actions_move_the_order_and_its_stock,
    refusals_name_what_is_wrong,
    native_and_omnik_show_the_same_state,
);

type Headers = BTreeMap<String, String>;

/// Seller's product `A` with `units` at location 0.
async fn stock_a(app: &TestApp, seller: &Seller, units: i64) {
    let mut f = simple_fields("A", Some(49999));
    f.stock = vec![StockLevel {
        location: Location::default(),
        quantity: units,
        minimum: 0,
        status: None,
    }];
    let change = CatalogChange {
        now: Timestamp::now(),
        products: vec![new_write("A", ProductKind::Simple, f)],
        ..Default::default()
    };
    app.store
        .save_catalog(&Scope::seller(&seller.operator_id, &seller.id), change)
        .await
        .expect("product");
}

async fn units_of_a(app: &TestApp, seller: &Seller) -> i64 {
    let p = app
        .store
        .get_product(
            &Scope::seller(&seller.operator_id, &seller.id),
            &ProductKey::Sku("A".into()),
        )
        .await
        .expect("product");
    p.data.fields.stock.iter().map(|l| l.quantity).sum()
}

/// Pushes an order of one `A`; its hub id.
async fn push(app: &TestApp, auth: &Headers, seller: &Seller, code: &str) -> String {
    let mut body = order_body(&seller.id, code);
    body["items"][0]["sku"] = json!("A");
    let r = app.post("/api/v1/orders", auth, &body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn put(app: &TestApp, path: &str, auth: &Headers, body: &Value) -> common::Reply {
    app.call(
        Method::PUT,
        path,
        auth,
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
}

async fn marketplace_actions_move_the_order_and_its_stock(app: TestApp) {
    let (op, token) = app.operator().await;
    let auth = bearer(&token);
    let seller = app.seller(&op, "Loja A").await;
    stock_a(&app, &seller, 2).await;
    let id = push(&app, &auth, &seller, "LIFE-1").await;

    let o = app.get(&format!("/api/v1/orders/{id}"), &auth).await.body;
    assert_eq!(o["status"], "awaiting_payment");
    assert_eq!(
        o["state"],
        json!({"status": "pending", "substatus": "payment"})
    );
    assert_eq!(o["statusHistory"].as_array().unwrap().len(), 1);
    assert!(o["statusHistory"][0]["from"].is_null());
    assert_eq!(o["pendencies"], json!([]), "{o}");
    assert_eq!(o["trackings"], json!([]));
    assert!(o["invoice"].is_null());

    let paid = app
        .post(&format!("/api/v1/orders/{id}/payment"), &auth, &json!({}))
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    let p = &paid.body;
    assert_eq!(p["status"], "approved");
    assert_eq!(
        p["state"],
        json!({"status": "payment", "substatus": "paid"})
    );
    assert_eq!(
        p["statusHistory"][1]["from"],
        json!({"status": "pending", "substatus": "payment"})
    );
    assert_eq!(
        p["interactions"][0],
        json!({"description": "O operador trocou o status para Pagamento Aceito",
            "origin": "administration", "action": "Alteração de status",
            "at": p["statusHistory"][1]["at"]})
    );
    assert_eq!(units_of_a(&app, &seller).await, 1, "one unit reserved");
    let again = app
        .post(&format!("/api/v1/orders/{id}/payment"), &auth, &json!({}))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["statusHistory"], p["statusHistory"]);
    assert_eq!(units_of_a(&app, &seller).await, 1);

    let mark = put(
        &app,
        &format!("/api/v1/orders/{id}/erp"),
        &auth,
        &json!({"type": "Bling", "sent": true, "errorMessage": null}),
    )
    .await;
    assert_eq!(mark.status, 200, "{:?}", mark.body);
    assert_eq!(mark.body["erp"][0]["type"], "bling");
    assert_eq!(mark.body["erp"][0]["sent"], true);
    assert!(mark.body["erp"][0]["errorMessage"].is_null());

    let cancelled = app
        .post(&format!("/api/v1/orders/{id}/cancel"), &auth, &json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(
        cancelled.body["state"],
        json!({"status": "cancelled", "substatus": null})
    );
    assert_eq!(units_of_a(&app, &seller).await, 2, "the unit is back");

    // A second order finds the last units; a third, none: it goes out of stock.
    let two = push(&app, &auth, &seller, "LIFE-2").await;
    let mut body = order_body(&seller.id, "LIFE-3");
    body["items"][0]["sku"] = json!("A");
    body["items"][0]["quantity"] = json!(3);
    body["payments"][0]["value"] = json!(1514.97);
    let three = app.post("/api/v1/orders", &auth, &body).await;
    assert_eq!(three.status, 201, "{:?}", three.body);
    let three = three.body["id"].as_str().unwrap().to_string();
    let r = app
        .post(&format!("/api/v1/orders/{two}/payment"), &auth, &json!({}))
        .await;
    assert_eq!(r.body["status"], "approved");
    let r = app
        .post(
            &format!("/api/v1/orders/{three}/payment"),
            &auth,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["state"],
        json!({"status": "pickandpack", "substatus": "outofstock"})
    );
    assert_eq!(r.body["status"], "approved");
    assert_eq!(units_of_a(&app, &seller).await, 1);

    // The seller ships order two; the marketplace confirms its delivery.
    let scope = Scope::seller(&op.id, &seller.id);
    let n: i64 = two.parse().unwrap();
    let uc = app.app();
    uc.set_invoice(&scope, n, invoice()).await.unwrap();
    uc.move_order(&scope, n, OrderState::Shipped).await.unwrap();
    let delivered = app
        .post(&format!("/api/v1/orders/{two}/delivery"), &auth, &json!({}))
        .await;
    assert_eq!(delivered.status, 200, "{:?}", delivered.body);
    assert_eq!(delivered.body["status"], "delivered");
    assert_eq!(delivered.body["invoice"]["series"], 1);
    assert_eq!(delivered.body["invoice"]["products"][0]["cfop"], 5102);
    assert!(delivered.body["shippedAt"].is_string());
    assert!(delivered.body["deliveredAt"].is_string());
    assert_eq!(delivered.body["statusHistory"].as_array().unwrap().len(), 4);
}

/// An invoice of series 1, number 77, from a valid issuer.
fn invoice() -> Invoice {
    let body = format!("352306{}55{:03}{:09}1{:08}", "11444777000161", 1, 77, 1234);
    let key = format!("{body}{}", mod11_check_digit(&body));
    Invoice {
        series: 1,
        number: 77,
        access_key: NfeAccessKey::parse(&key).unwrap(),
        issued_at: Timestamp::parse("2023-06-08T10:00:00Z").unwrap(),
        value: Cents(51499),
        products: vec![InvoiceProduct {
            kind: ProductKind::Simple,
            sku: "A".into(),
            cfop: 5102,
        }],
    }
}

async fn refusals_name_what_is_wrong(app: TestApp) {
    let (op, token) = app.operator().await;
    let auth = bearer(&token);
    let seller = app.seller(&op, "Loja A").await;
    let id = push(&app, &auth, &seller, "BAD-1").await;

    let r = app
        .post(&format!("/api/v1/orders/{id}/delivery"), &auth, &json!({}))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert_eq!(r.body["error"]["field"], "status");
    let m = r.body["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("pending/payment") && m.contains("delivery/delivered"),
        "{m}"
    );

    for (body, field) in [
        (json!({"type": "sankhya", "sent": true}), "type"),
        (json!({"type": "bling"}), "sent"),
        (
            json!({"type": "bling", "sent": true, "errorMessage": "falhou"}),
            "errorMessage",
        ),
    ] {
        let r = put(&app, &format!("/api/v1/orders/{id}/erp"), &auth, &body).await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{body}");
    }

    for path in ["payment", "cancel", "delivery"] {
        let r = app
            .post(
                &format!("/api/v1/orders/99999999/{path}"),
                &auth,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 404, "{path}");
        let r = app
            .post(&format!("/api/v1/orders/x/{path}"), &auth, &json!({}))
            .await;
        assert_eq!(r.status, 404, "{path}");
    }
    // Another operator does not reach the order.
    let (_, other) = app.operator().await;
    let r = app
        .post(
            &format!("/api/v1/orders/{id}/cancel"),
            &bearer(&other),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    let o = app.get(&format!("/api/v1/orders/{id}"), &auth).await.body;
    assert_eq!(o["status"], "awaiting_payment");
    assert_eq!(o["erp"], json!([]));
}

const CS: &str = "/omnik/HUB/v1/orders";

async fn native_and_omnik_show_the_same_state(app: TestApp) {
    let (op, token) = app.operator().await;
    let auth = bearer(&token);
    let seller = app.seller(&op, "Loja A").await;
    let omnik = app
        .credential(&op, Some(&seller), Dialect::named("omnik"))
        .await
        .headers;
    let r = app
        .post(
            "/api/v1/subjects",
            &auth,
            &json!({"subject": "Atraso", "sla": 48}),
        )
        .await;
    assert_eq!(r.status, 201);
    // Pushed as approved: the lifecycle starts paid.
    let mut body = order_body(&seller.id, "SAME-1");
    body["status"] = json!("approved");
    body["approvedAt"] = json!("2023-06-06T22:00:00-03:00");
    let r = app.post("/api/v1/orders", &auth, &body).await;
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let case = app
        .post(
            &format!("{CS}/customerservice"),
            &omnik,
            &json!({"customerServiceData": {"subject": "Atraso", "responsible": "SELLER"},
                "orderData": {"id": id},
                "comments": [{"entity": "CLIENTE", "subject": "Atraso", "comment": "Cadê?",
                    "customerCanView": true, "author": {"email": "a@b.com"},
                    "iterationDate": "2023-06-07T10:00:00.000000",
                    "responsible": "SELLER"}]}),
        )
        .await;
    assert_eq!(case.status, 201, "{:?}", case.body);
    let case_id = case.body["customerServiceData"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let scope = Scope::seller(&op.id, &seller.id);
    let n: i64 = id.parse().unwrap();
    let uc = app.app();
    let seen = |expected: &'static str| {
        let (app, auth, omnik, id, case_id) = (&app, &auth, &omnik, &id, &case_id);
        async move {
            let native = app.get(&format!("/api/v1/orders/{id}"), auth).await.body;
            assert_eq!(native["status"], expected, "native: {native}");
            let one = app
                .get(&format!("{CS}/customerservice/{case_id}"), omnik)
                .await
                .body;
            assert_eq!(one["orderData"]["status"], expected, "omnik case: {one}");
            let page = app
                .get(&format!("{CS}/{id}/customerservice"), omnik)
                .await
                .body;
            let listed = page.to_string();
            assert!(
                listed.contains(&format!("\"status\":\"{expected}\"")),
                "omnik listing: {listed}"
            );
        }
    };
    seen("approved").await;
    uc.move_order(&scope, n, OrderState::Separated)
        .await
        .unwrap();
    seen("approved").await;
    uc.set_invoice(&scope, n, invoice()).await.unwrap();
    uc.move_order(&scope, n, OrderState::Billed).await.unwrap();
    seen("invoiced").await;
    uc.move_order(&scope, n, OrderState::Shipped).await.unwrap();
    seen("shipped").await;
    uc.move_order(&scope, n, OrderState::NotDelivered)
        .await
        .unwrap();
    seen("shipped").await;
    let r = app
        .post(&format!("/api/v1/orders/{id}/delivery"), &auth, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    seen("delivered").await;
    let r = app
        .post(&format!("/api/v1/orders/{id}/cancel"), &auth, &json!({}))
        .await;
    assert_eq!(r.status, 422);
    seen("delivered").await;
}
