//! Bad input to the native order API: every case gets a 4xx naming the field, in the
//! native envelope, and leaves the database unchanged.

mod common;

use common::{bearer, order_body, TestApp};
use entreposto_domain::Scope;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(bad_orders_are_refused_and_nothing_is_written);

/// (case, body bytes, expected status, expected field)
fn cases(seller: &str) -> Vec<(&'static str, Vec<u8>, u16, &'static str)> {
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = order_body(seller, "BAD-1");
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    vec![
        (
            "malformed JSON",
            br#"{"seller": "x", "#.to_vec(),
            422,
            "body",
        ),
        ("not an object", b"[1,2,3]".to_vec(), 422, "body"),
        ("empty body", Vec::new(), 422, "body"),
        (
            "wrong type quantity",
            with(&|v| v["items"][0]["quantity"] = json!("one")),
            422,
            "items[0].quantity",
        ),
        (
            "wrong type unitPrice",
            with(&|v| v["items"][0]["unitPrice"] = json!("499,99")),
            422,
            "items[0].unitPrice",
        ),
        (
            "wrong type customer",
            with(&|v| v["customer"] = json!("João")),
            422,
            "customer",
        ),
        (
            "missing marketplaceOrderId",
            with(&|v| {
                v.as_object_mut().unwrap().remove("marketplaceOrderId");
            }),
            422,
            "marketplaceOrderId",
        ),
        (
            "missing customer name",
            with(&|v| {
                v["customer"].as_object_mut().unwrap().remove("name");
            }),
            422,
            "customer.name",
        ),
        (
            "missing items",
            with(&|v| {
                v.as_object_mut().unwrap().remove("items");
            }),
            422,
            "items",
        ),
        (
            "empty items",
            with(&|v| v["items"] = json!([])),
            422,
            "items",
        ),
        (
            "blank channel",
            with(&|v| v["channel"] = json!("  ")),
            422,
            "channel",
        ),
        (
            "invalid CPF",
            with(&|v| v["customer"]["document"] = json!("52998224724")),
            422,
            "customer.document",
        ),
        (
            "invalid CNPJ",
            with(&|v| {
                v["customer"]["document"] = json!("11222333000182");
                v["customer"]["documentType"] = json!("CNPJ");
            }),
            422,
            "customer.document",
        ),
        (
            "unknown document type",
            with(&|v| v["customer"]["documentType"] = json!("RG")),
            422,
            "customer.documentType",
        ),
        (
            "bad date",
            with(&|v| v["placedAt"] = json!("06/06/2023")),
            422,
            "placedAt",
        ),
        (
            "impossible date",
            with(&|v| v["placedAt"] = json!("2023-02-30T10:00:00Z")),
            422,
            "placedAt",
        ),
        (
            "bad payment date",
            with(&|v| v["payments"][0]["paidAt"] = json!("yesterday")),
            422,
            "payments[0].paidAt",
        ),
        (
            "negative freight",
            with(&|v| v["freight"] = json!(-15.0)),
            422,
            "freight",
        ),
        (
            "negative unit price",
            with(&|v| v["items"][0]["unitPrice"] = json!(-1)),
            422,
            "items[0].unitPrice",
        ),
        (
            "negative payment",
            with(&|v| v["payments"][0]["value"] = json!(-514.99)),
            422,
            "payments[0].value",
        ),
        (
            "fraction of a centavo",
            with(&|v| v["freight"] = json!(15.001)),
            422,
            "freight",
        ),
        (
            "zero quantity",
            with(&|v| v["items"][0]["quantity"] = json!(0)),
            422,
            "items[0].quantity",
        ),
        (
            "unknown status",
            with(&|v| v["status"] = json!("teleported")),
            422,
            "status",
        ),
        (
            "bad CEP",
            with(&|v| v["shippingAddress"]["zipcode"] = json!("0131010")),
            422,
            "shippingAddress.zipcode",
        ),
        (
            "bad UF",
            with(&|v| v["shippingAddress"]["state"] = json!("XX")),
            422,
            "shippingAddress.state",
        ),
        (
            "bad phone",
            with(&|v| v["customer"]["phones"][0]["number"] = json!("12ab")),
            422,
            "customer.phones[0].number",
        ),
        (
            "bad email",
            with(&|v| v["customer"]["email"] = json!("joao.example.com")),
            422,
            "customer.email",
        ),
        (
            "zero installments",
            with(&|v| v["payments"][0]["installments"] = json!(0)),
            422,
            "payments[0].installments",
        ),
        (
            "unknown seller",
            with(&|v| v["seller"] = json!("01ARZ3NDEKTSV4RRFFQ69G5FAV")),
            422,
            "seller",
        ),
        (
            "approved before placed",
            with(&|v| v["approvedAt"] = json!("2020-01-01")),
            422,
            "approvedAt",
        ),
    ]
}

async fn bad_orders_are_refused_and_nothing_is_written(app: TestApp) {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let auth = bearer(&token);
    let scope = Scope::operator(&op.id);

    for (case, body, status, field) in cases(&seller.id) {
        let r = app
            .call(Method::POST, "/api/v1/orders", &auth, Some(body))
            .await;
        assert_eq!(r.status, status, "{case}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{case}: {:?}", r.body);
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(field),
            "{case}: {:?}",
            r.body
        );
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json"),
            "{case}"
        );
        assert_eq!(
            app.store.count_orders(&scope).await.unwrap(),
            0,
            "{case} wrote"
        );
    }

    // A 10 MiB body is refused before it is read in full.
    let mut huge = order_body(&seller.id, "HUGE-1");
    huge["customer"]["name"] = json!("x".repeat(10 * 1024 * 1024));
    let r = app
        .call(
            Method::POST,
            "/api/v1/orders",
            &auth,
            Some(serde_json::to_vec(&huge).unwrap()),
        )
        .await;
    assert_eq!(r.status, 413, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "payload_too_large");
    assert_eq!(app.store.count_orders(&scope).await.unwrap(), 0);

    // A valid body still works afterwards.
    let ok = app
        .post("/api/v1/orders", &auth, &order_body(&seller.id, "GOOD-1"))
        .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    assert_eq!(app.store.count_orders(&scope).await.unwrap(), 1);
}
