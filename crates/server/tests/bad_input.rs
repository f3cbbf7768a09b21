//! Bad input to the native order API: every case gets a 4xx naming the field, in the
//! native envelope, and leaves the database unchanged. The body rules every dialect
//! shares (one JSON value, NUL characters) are also tried on SkyHub and Omnik, in
//! their envelopes.

mod common;

use common::{bearer, order_body, TestApp};
use entreposto_domain::{Cents, Dialect, Scope};
use entreposto_store::TicketFilter;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    bad_orders_are_refused_and_nothing_is_written,
    every_dialect_reads_exactly_one_json_value,
);

/// Marks a value that [`raw_json`] replaces with literal JSON text: the cases below
/// need number spellings (`1.999999999999`, `1e400`) that a `Value` cannot carry.
const RAW: &str = "@RAW@";

fn raw_json(v: &Value, text: &str) -> Vec<u8> {
    serde_json::to_string(v)
        .unwrap()
        .replace(&format!("\"{RAW}\""), text)
        .into_bytes()
}

/// (case, body bytes, expected status, expected field)
fn cases(seller: &str) -> Vec<(&'static str, Vec<u8>, u16, &'static str)> {
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = order_body(seller, "BAD-1");
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    // The order with one value written as literal JSON text.
    let raw = |f: &dyn Fn(&mut Value), text: &str| {
        let mut v = order_body(seller, "BAD-1");
        f(&mut v);
        raw_json(&v, text)
    };
    let trailing = |tail: &str| {
        let mut b = serde_json::to_vec(&order_body(seller, "BAD-1")).unwrap();
        b.extend_from_slice(tail.as_bytes());
        b
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
        // Money is decided on its decimal text: a fraction of a centavo is refused
        // whether an f64 would round it away or not.
        (
            "large amount past centavos",
            raw(
                &|v| v["items"][0]["unitPrice"] = json!(RAW),
                "123456789.123",
            ),
            422,
            "items[0].unitPrice",
        ),
        (
            "near-integer amount past centavos",
            raw(&|v| v["freight"] = json!(RAW), "1.999999999999"),
            422,
            "freight",
        ),
        (
            "half a centavo",
            raw(&|v| v["payments"][0]["value"] = json!(RAW), "1.005"),
            422,
            "payments[0].value",
        ),
        (
            "item freight past centavos",
            raw(&|v| v["items"][0]["freight"] = json!(RAW), "0.001"),
            422,
            "items[0].freight",
        ),
        (
            "amount out of range",
            raw(&|v| v["discount"] = json!(RAW), "1e400"),
            422,
            "discount",
        ),
        (
            "negative item freight",
            with(&|v| v["items"][0]["freight"] = json!(-1)),
            422,
            "items[0].freight",
        ),
        // Exactly one JSON value.
        ("text after the body", trailing(" xyz"), 422, "body"),
        (
            "two bodies",
            trailing(&serde_json::to_string(&order_body(seller, "BAD-2")).unwrap()),
            422,
            "body",
        ),
        // Vocabularies and dates.
        (
            "birth date not a date",
            with(&|v| v["customer"]["birthDate"] = json!("banana")),
            422,
            "customer.birthDate",
        ),
        (
            "impossible birth date",
            with(&|v| v["customer"]["birthDate"] = json!("2023-02-30")),
            422,
            "customer.birthDate",
        ),
        (
            "birth date in the future",
            with(&|v| v["customer"]["birthDate"] = json!("2999-01-01")),
            422,
            "customer.birthDate",
        ),
        (
            "unknown gender",
            with(&|v| v["customer"]["gender"] = json!("banana")),
            422,
            "customer.gender",
        ),
        (
            "unknown phone type",
            with(&|v| v["customer"]["phones"][0]["type"] = json!("pager")),
            422,
            "customer.phones[0].type",
        ),
        (
            "unknown payment method",
            with(&|v| v["payments"][0]["method"] = json!("cash")),
            422,
            "payments[0].method",
        ),
        (
            "unknown country",
            with(&|v| v["shippingAddress"]["country"] = json!("XX")),
            422,
            "shippingAddress.country",
        ),
        // A value the grammar accepts but that cannot be read names its field.
        (
            "NUL in a field",
            with(&|v| v["customer"]["name"] = json!("João\u{0}")),
            422,
            "customer.name",
        ),
        (
            "NUL in an item",
            with(&|v| v["items"][0]["sku"] = json!("99\u{0}jjs8")),
            422,
            "items[0].sku",
        ),
        (
            "raw control character",
            raw(&|v| v["customer"]["name"] = json!(RAW), "\"Jo\u{1}ão\""),
            422,
            "customer.name",
        ),
        (
            "quantity of 1e30",
            raw(&|v| v["items"][0]["quantity"] = json!(RAW), "1e30"),
            422,
            "items[0].quantity",
        ),
        (
            "quantity past i64",
            raw(
                &|v| v["items"][0]["quantity"] = json!(RAW),
                "9223372036854775808",
            ),
            422,
            "items[0].quantity",
        ),
        (
            "installments out of range",
            raw(&|v| v["payments"][0]["installments"] = json!(RAW), "1e400"),
            422,
            "payments[0].installments",
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

    // Large amounts stay exact, exponents that are whole centavos are read, and
    // vocabulary words are stored in their canonical spelling.
    let mut v = order_body(&seller.id, "GOOD-2");
    v["items"][0]["unitPrice"] = json!(RAW);
    v["freight"] = json!("@FREIGHT@");
    v["customer"]["gender"] = json!("MALE");
    v["customer"]["birthDate"] = json!("1980-01-31T00:00:00.000Z");
    v["customer"]["phones"][0]["type"] = json!("Mobile");
    v["shippingAddress"]["country"] = json!("br");
    v["payments"][0]["method"] = json!("CREDIT_CARD");
    let body = String::from_utf8(raw_json(&v, "123456789.12"))
        .unwrap()
        .replace("\"@FREIGHT@\"", "1e2");
    let r = app
        .call(
            Method::POST,
            "/api/v1/orders",
            &auth,
            Some(body.into_bytes()),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["items"][0]["unitPrice"], json!(123456789.12));
    assert_eq!(r.body["freight"], json!(100.0));
    let id: i64 = r.body["id"].as_str().unwrap().parse().unwrap();
    let stored = app.store.get_order(&scope, id).await.unwrap().data;
    assert_eq!(stored.items[0].unit_price, Cents(12_345_678_912));
    assert_eq!(stored.freight, Cents(10_000));
    assert_eq!(stored.customer.gender.as_deref(), Some("male"));
    assert_eq!(stored.customer.birth_date.as_deref(), Some("1980-01-31"));
    assert_eq!(stored.customer.phones[0].kind.as_deref(), Some("mobile"));
    assert_eq!(stored.shipping_address.unwrap().country, "BR");
    assert_eq!(stored.payments[0].method, "credit_card");
}

/// Every JSON body, in every dialect that takes one, is exactly one value and names
/// the field holding a NUL; the refusal is in the dialect's envelope and writes nothing.
async fn every_dialect_reads_exactly_one_json_value(app: TestApp) {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let native = bearer(&token);
    let scope = Scope::operator(&op.id);
    let r = app
        .post(
            "/api/v1/subjects",
            &native,
            &json!({"subject": "Produto não chegou", "sla": 48, "forReturn": false}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let order = app
        .post("/api/v1/orders", &native, &order_body(&seller.id, "ONE-1"))
        .await;
    let order_id = order.body["id"].as_str().unwrap().to_string();
    let t = app
        .post(
            &format!("/api/v1/orders/{order_id}/tickets"),
            &native,
            &json!({"subject": "Produto não chegou", "message": {"author": "CUSTOMER",
                "part": "CUSTOMER_SELLER", "content": "Produto não chegou!"}}),
        )
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    let ticket_id: i64 = t.body["id"].as_str().unwrap().parse().unwrap();
    let code = t.body["code"].as_str().unwrap().replace(' ', "%20");
    let sky = app
        .credential(&op, Some(&seller), Dialect::named("skyhub"))
        .await
        .headers;
    let omnik = app
        .credential(&op, Some(&seller), Dialect::named("omnik"))
        .await
        .headers;

    let after = |v: Value, tail: &str| {
        let mut b = serde_json::to_vec(&v).unwrap();
        b.extend_from_slice(tail.as_bytes());
        b
    };
    let native_message = json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": "Oi"});
    let reply =
        json!({"messageTo": "TO_CUSTOMER", "messageType": "TEXT_MESSAGE", "message": "Olá"});
    let create = json!({"customerServiceData": {"subject": "Produto não chegou", "responsible": "SELLER"},
        "orderData": {"id": order_id},
        "comments": [{"entity": "CLIENTE", "subject": "Produto não chegou", "comment": "Oi",
            "customerCanView": true, "author": {"email": "atendente@loja.com.br"},
            "iterationDate": "2023-06-06T21:41:57.123000", "responsible": "SELLER"}]});
    let mut create_nul = create.clone();
    create_nul["comments"][0]["comment"] = json!("O\u{0}i");
    let mut reply_nul = reply.clone();
    reply_nul["message"] = json!("O\u{0}lá");

    let native_path = format!("/api/v1/tickets/{ticket_id}/messages");
    let sky_path = format!("/skyhub/sac/{code}/chats/CUSTOMER_SELLER");
    let cs = "/omnik/HUB/v1/orders/customerservice/";
    // (case, path, headers, body, status, field)
    let cases = [
        (
            "native, text after",
            &native_path,
            &native,
            after(native_message.clone(), " x"),
            422,
            "body",
        ),
        (
            "native, two values",
            &native_path,
            &native,
            after(native_message.clone(), "{}"),
            422,
            "body",
        ),
        (
            "skyhub, text after",
            &sky_path,
            &sky,
            after(reply.clone(), " xyz"),
            422,
            "body",
        ),
        (
            "skyhub, two values",
            &sky_path,
            &sky,
            after(reply.clone(), &reply.to_string()),
            422,
            "body",
        ),
        (
            "skyhub, NUL",
            &sky_path,
            &sky,
            after(reply_nul, ""),
            422,
            "message",
        ),
        (
            "omnik, text after",
            &cs.to_string(),
            &omnik,
            after(create.clone(), " xyz"),
            400,
            "body",
        ),
        (
            "omnik, two values",
            &cs.to_string(),
            &omnik,
            after(create.clone(), &create.to_string()),
            400,
            "body",
        ),
        (
            "omnik, NUL",
            &cs.to_string(),
            &omnik,
            after(create_nul, ""),
            400,
            "comments[0].comment",
        ),
    ];
    for (case, path, headers, body, status, field) in cases {
        let r = app.call(Method::POST, path, headers, Some(body)).await;
        assert_eq!(r.status, status, "{case}: {:?}", r.body);
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json"),
            "{case}"
        );
        // Each dialect's own envelope, its message starting with the field.
        let message = if case.starts_with("native") {
            assert_eq!(r.body["error"]["field"], field, "{case}: {:?}", r.body);
            &r.body["error"]["message"]
        } else if case.starts_with("skyhub") {
            assert_eq!(r.body["errors"]["detail"], r.body["error"], "{case}");
            &r.body["error"]
        } else {
            assert_eq!(r.body["code"], status, "{case}: {:?}", r.body);
            assert!(r.body["messages"][0]["message"].is_string(), "{case}");
            &r.body["message"]
        };
        assert!(
            message.as_str().unwrap().starts_with(&format!("{field}: ")),
            "{case}: {:?}",
            r.body
        );
    }
    let messages = app.store.list_messages(&scope, ticket_id).await.unwrap();
    assert_eq!(messages.len(), 1, "a refused body wrote a message");
    let tickets = app
        .store
        .count_tickets(&scope, &TicketFilter::default())
        .await
        .unwrap();
    assert_eq!(tickets, 1, "a refused body opened a ticket");
}
