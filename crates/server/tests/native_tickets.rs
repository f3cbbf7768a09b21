//! The marketplace side of customer service on the native API: subjects, opening
//! tickets, messages, mediation, reading a ticket, and the 4xx for bad input.

mod common;

use common::{bearer, order_body, TestApp};
use serde_json::json;

on_both_backends!(subjects_and_tickets, bad_ticket_input);

async fn subjects_and_tickets(app: TestApp) {
    let (op, token) = app.operator().await;
    let auth = bearer(&token);
    let seller = app.seller(&op, "Loja A").await;
    let s = app
        .post(
            "/api/v1/subjects",
            &auth,
            &json!({"subject": "Devolução", "sla": 168, "forReturn": true}),
        )
        .await;
    assert_eq!(s.status, 201);
    let subject_id = s.body["id"].as_str().unwrap().to_string();
    let list = app.get("/api/v1/subjects", &auth).await;
    assert_eq!(list.body[0]["subject"], "Devolução");
    assert_eq!(list.body[0]["sla"], 168);
    assert_eq!(list.body[0]["forReturn"], true);
    let dup = app
        .post(
            "/api/v1/subjects",
            &auth,
            &json!({"subject": "Devolução", "sla": 24}),
        )
        .await;
    assert_eq!(dup.status, 409);

    let order = app
        .post(
            "/api/v1/orders",
            &auth,
            &order_body(&seller.id, "02-1000000004"),
        )
        .await;
    let order_id = order.body["id"].as_str().unwrap();
    // By subject id, with a first message and mediation.
    let t = app
        .post(&format!("/api/v1/orders/{order_id}/tickets"), &auth,
            &json!({"subject": subject_id, "mediation": true, "message": {"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": "Quero devolver"}}))
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    assert_eq!(t.body["code"], "Lojas Americanas-201000000004001");
    let id = t.body["id"].as_str().unwrap();
    let m = app
        .post(&format!("/api/v1/tickets/{id}/messages"), &auth,
            &json!({"author": "MARKETPLACE", "part": "MARKETPLACE_SELLER", "content": "Responda, por favor", "authorName": "Mediação"}))
        .await;
    assert_eq!(m.status, 201);
    assert_eq!(m.body["customerCanView"], false);
    let read = app.get(&format!("/api/v1/tickets/{id}"), &auth).await;
    assert_eq!(read.status, 200);
    let b = &read.body;
    assert_eq!(b["subject"], "Devolução");
    assert_eq!(b["forReturn"], true);
    assert_eq!(b["mediation"], true);
    assert_eq!(b["readState"], "UNREAD");
    assert_eq!(b["status"], "OPEN");
    assert_eq!(b["instance"], false);
    assert_eq!(b["late"], false);
    assert_eq!(b["messages"].as_array().unwrap().len(), 2);
    assert_eq!(b["messages"][1]["part"], "MARKETPLACE_SELLER");
    // By subject name, without a message: an instance; the second ticket of the order.
    let t2 = app
        .post(
            &format!("/api/v1/orders/{order_id}/tickets"),
            &auth,
            &json!({"subject": "Devolução"}),
        )
        .await;
    assert_eq!(t2.body["code"], "Lojas Americanas-201000000004002");
    let id2 = t2.body["id"].as_str().unwrap();
    let r2 = app.get(&format!("/api/v1/tickets/{id2}"), &auth).await;
    assert_eq!(r2.body["instance"], true);
    let med = app
        .post(
            &format!("/api/v1/tickets/{id2}/mediation"),
            &auth,
            &json!({}),
        )
        .await;
    assert_eq!(med.status, 200);
    assert_eq!(med.body["mediation"], true);

    // Another operator sees none of it.
    let (_, other) = app.operator().await;
    let other = bearer(&other);
    assert_eq!(
        app.get(&format!("/api/v1/tickets/{id}"), &other)
            .await
            .status,
        404
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/tickets/{id}/messages"),
            &other,
            &json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": "x"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/orders/{order_id}/tickets"),
            &other,
            &json!({"subject": "Devolução"})
        )
        .await
        .status,
        422,
        "the other operator has no such subject"
    );
    assert_eq!(
        app.get("/api/v1/subjects", &other)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

async fn bad_ticket_input(app: TestApp) {
    let (op, token) = app.operator().await;
    let auth = bearer(&token);
    let seller = app.seller(&op, "Loja A").await;
    app.post(
        "/api/v1/subjects",
        &auth,
        &json!({"subject": "Atraso", "sla": 48}),
    )
    .await;
    let order = app
        .post("/api/v1/orders", &auth, &order_body(&seller.id, "02-1"))
        .await;
    let order_id = order.body["id"].as_str().unwrap().to_string();
    let t = app
        .post(
            &format!("/api/v1/orders/{order_id}/tickets"),
            &auth,
            &json!({"subject": "Atraso"}),
        )
        .await;
    let id = t.body["id"].as_str().unwrap().to_string();

    let cases = vec![
        (
            "/api/v1/subjects".to_string(),
            json!({"subject": "", "sla": 48}),
            422,
            "subject",
        ),
        (
            "/api/v1/subjects".to_string(),
            json!({"subject": "X", "sla": 0}),
            422,
            "sla",
        ),
        (
            "/api/v1/subjects".to_string(),
            json!({"subject": "X", "sla": "48h"}),
            422,
            "sla",
        ),
        (
            "/api/v1/subjects".to_string(),
            json!({"sla": 48}),
            422,
            "subject",
        ),
        (
            format!("/api/v1/orders/{order_id}/tickets"),
            json!({"subject": "Nope"}),
            422,
            "subject",
        ),
        (
            format!("/api/v1/orders/{order_id}/tickets"),
            json!({"subject": "Atraso", "responsible": "BOT"}),
            422,
            "responsible",
        ),
        (
            format!("/api/v1/orders/{order_id}/tickets"),
            json!({"subject": "Atraso", "message": {"author": "SELLER", "part": "CUSTOMER_SELLER", "content": "x"}}),
            422,
            "message.author",
        ),
        (
            format!("/api/v1/orders/{order_id}/tickets"),
            json!({"subject": "Atraso", "mediation": "yes"}),
            422,
            "mediation",
        ),
        (
            format!("/api/v1/tickets/{id}/messages"),
            json!({"author": "ALIEN", "part": "CUSTOMER_SELLER", "content": "x"}),
            422,
            "author",
        ),
        (
            format!("/api/v1/tickets/{id}/messages"),
            json!({"author": "CUSTOMER", "part": "CUSTOMER_ALIEN", "content": "x"}),
            422,
            "part",
        ),
        (
            format!("/api/v1/tickets/{id}/messages"),
            json!({"author": "CUSTOMER", "part": "MARKETPLACE_SELLER", "content": "x"}),
            422,
            "part",
        ),
        (
            format!("/api/v1/tickets/{id}/messages"),
            json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": " "}),
            422,
            "content",
        ),
        (
            format!("/api/v1/tickets/{id}/messages"),
            json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": "x", "authorEmail": "nope"}),
            422,
            "authorEmail",
        ),
        (
            format!("/api/v1/tickets/{id}/messages"),
            json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER"}),
            422,
            "content",
        ),
        (
            "/api/v1/orders/999999/tickets".to_string(),
            json!({"subject": "Atraso"}),
            404,
            "",
        ),
        (
            "/api/v1/tickets/999999/messages".to_string(),
            json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": "x"}),
            404,
            "",
        ),
    ];
    for (path, body, status, field) in cases {
        let r = app.post(&path, &auth, &body).await;
        assert_eq!(r.status, status, "{path} {body}: {:?}", r.body);
        if !field.is_empty() {
            assert_eq!(
                r.body["error"]["field"], field,
                "{path} {body}: {:?}",
                r.body
            );
        }
    }
    let read = app.get(&format!("/api/v1/tickets/{id}"), &auth).await;
    assert_eq!(
        read.body["messages"].as_array().unwrap().len(),
        0,
        "no bad message was written"
    );
    assert_eq!(
        app.get("/api/v1/subjects", &auth)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
