//! 00K's orders API, black-box over HTTP on both backends, written from
//! `003_c7f08c88db349587.txt` (Orders: Listagem, Atualização de Status, Atualização de
//! SRO, Inserir nota fiscal) and WIRE-NOTES: an order through its whole life with every
//! block of the listing's item, its status the same through 00K, the native API and
//! Omnik at each step; every listing filter and the pages; the ERP work queue (poll,
//! take, mark); every illegal move refused naming from and to; tables of NF-e keys
//! (each rule broken once) and of tracking codes; races of two updates on one order;
//! another store's orders never found; the credentials' errors; the root of a listener
//! of its own.
//!
//! Orders are pushed and paid through the native API (the marketplace's side); the
//! store moves them through 00K.

mod common;

use std::collections::BTreeMap;

use common::{bearer, order_body, TestApp};
use entreposto::config::{Config, OwnListener};
use entreposto_domain::fiscal::{mod11_check_digit, sro_check_digit};
use entreposto_domain::{Dialect, Document, Operator, Scope, Seller, Timestamp};
use entreposto_store::new_id;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    an_order_through_its_life,
    every_listing_filter,
    pages_of_thirty,
    the_erp_work_queue,
    illegal_moves_name_from_and_to,
    status_bodies_name_their_field,
    invoice_keys_checked_part_by_part,
    tracking_codes_checked,
    two_updates_racing_on_one_order,
    another_stores_orders_are_not_found,
    keys_and_envelopes,
);

on_both_backends!(with own_zerok; at_the_root_of_its_own_listener);

type Headers = BTreeMap<String, String>;

fn own_zerok(c: &mut Config) {
    c.dialects.insert(
        "zerok".into(),
        OwnListener {
            listen: "127.0.0.1:0".into(),
            public_url: None,
        },
    );
}

/// The CNPJ inside the document's example key: store A's document.
const CNPJ_A: &str = "10406561000149";
/// The document's example key (series 1, number 34986, issuer [`CNPJ_A`]).
const DOC_KEY: &str = "35150810406561000149550010000349861000108001";

/// An operator (its native token) with store A (whose CNPJ is the example key's
/// issuer) and store B (no document), their 00K keys, A's Omnik key, and the
/// operator's own 00K key (which names no store).
struct World {
    op: Operator,
    token: Headers,
    a: Seller,
    b: Seller,
    key_a: Headers,
    key_b: Headers,
    omnik_a: Headers,
    operator_key: Headers,
}

async fn world(app: &TestApp) -> World {
    let (op, token) = app.operator().await;
    let seller = |name: &str, doc: Option<&str>| Seller {
        id: new_id(),
        operator_id: op.id.clone(),
        name: name.into(),
        document: doc.map(|d| Document::parse(d, None).expect("cnpj")),
        created_at: Timestamp::now(),
    };
    let a = seller("Loja A", Some(CNPJ_A));
    let b = seller("Loja B", None);
    app.store.create_seller(&a).await.expect("seller a");
    app.store.create_seller(&b).await.expect("seller b");
    let zerok = Dialect::named("zerok");
    let key_a = app.credential(&op, Some(&a), zerok).await.headers;
    let key_b = app.credential(&op, Some(&b), zerok).await.headers;
    let omnik_a = app
        .credential(&op, Some(&a), Dialect::named("omnik"))
        .await
        .headers;
    let operator_key = app.credential(&op, None, zerok).await.headers;
    World {
        op,
        token: bearer(&token),
        a,
        b,
        key_a,
        key_b,
        omnik_a,
        operator_key,
    }
}

async fn put(app: &TestApp, path: &str, key: &Headers, body: &Value) -> common::Reply {
    app.call(
        Method::PUT,
        path,
        key,
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
}

/// Asserts a 00K error: the status, JSON, the document's code and `httpCode`.
#[track_caller]
fn refused(r: &common::Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.body["code"], code, "{:?}", r.body);
    assert_eq!(r.body["httpCode"], status, "{:?}", r.body);
    assert!(r.body["type"].is_string() && r.body["description"].is_string());
}

/// A 2.1 whose description holds every one of `words`.
#[track_caller]
fn invalid(r: &common::Reply, words: &[&str]) {
    refused(r, 400, "2.1");
    let d = r.body["description"].as_str().unwrap();
    for w in words {
        assert!(d.contains(w), "'{w}' not in {d:?}");
    }
}

/// `2015-06-02T20:33:02.000Z`.
fn zerok_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    let b = s.as_bytes();
    s.len() == 24
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && s.ends_with('Z')
        && s[20..23].bytes().all(|c| c.is_ascii_digit())
}

/// Pushes an order of `seller` through the native API, `edit` applied to the
/// foundation issue's body first; its hub id.
async fn push(
    app: &TestApp,
    w: &World,
    seller: &Seller,
    code: &str,
    edit: impl FnOnce(&mut Value),
) -> i64 {
    let mut body = order_body(&seller.id, code);
    edit(&mut body);
    let r = app.post("/api/v1/orders", &w.token, &body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().parse().unwrap()
}

/// The marketplace's side: `action` is `payment`, `cancel` or `delivery`.
async fn native(app: &TestApp, w: &World, id: i64, action: &str) -> common::Reply {
    app.call(
        Method::POST,
        &format!("/api/v1/orders/{id}/{action}"),
        &w.token,
        None,
    )
    .await
}

async fn pay(app: &TestApp, w: &World, id: i64) {
    let r = native(app, w, id, "payment").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// Moves order `id` of `key`'s store through 00K, expecting success; the order after.
async fn set(app: &TestApp, key: &Headers, id: i64, status: &str, sub: Option<&str>) -> Value {
    let r = put(
        app,
        &format!("/00k/orders/{id}/status"),
        key,
        &json!({"status": status, "substatus": sub}),
    )
    .await;
    assert_eq!(r.status, 200, "{status}/{sub:?}: {:?}", r.body);
    r.body
}

/// A valid NF-e key from its parts (`tpEmis` 1, `cNF` 00010800, the check digit
/// computed).
fn nfe_key(cuf: &str, aamm: &str, cnpj: &str, model: &str, serie: u32, number: u64) -> String {
    let body = format!("{cuf}{aamm}{cnpj}{model}{serie:03}{number:09}100010800");
    format!("{body}{}", mod11_check_digit(&body))
}

/// The key for store A, series 1, number 34986.
fn key_a() -> String {
    nfe_key("35", "2403", CNPJ_A, "55", 1, 34986)
}

fn invoice_body(key: &str) -> Value {
    json!({
        "serie": 1, "accessKey": key, "number": 34986,
        "date": "2024-03-05T10:00:00.000Z", "value": 514.99,
        "products": [{"type": "simple", "sku": "99jjs8", "cfop": 5102}]
    })
}

async fn invoice(app: &TestApp, key: &Headers, id: i64, body: &Value) -> common::Reply {
    put(app, &format!("/00k/orders/{id}/invoice"), key, body).await
}

/// A valid Correios code of these eight digits.
fn sro(digits: &str) -> String {
    format!("AA{digits}{}BR", sro_check_digit(digits))
}

/// Takes a paid order of store A to shipped (separated, invoiced, billed, tracked).
async fn ship(app: &TestApp, w: &World, id: i64) {
    set(app, &w.key_a, id, "pickandpack", Some("separated")).await;
    let r = invoice(app, &w.key_a, id, &invoice_body(&key_a())).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    set(app, &w.key_a, id, "pickandpack", Some("billed")).await;
    set(app, &w.key_a, id, "shipped", None).await;
}

/// Imports one simple product of `sku` with `quantity` units into store A's catalog.
async fn stock(app: &TestApp, w: &World, sku: &str, quantity: i64) {
    let body = json!([{
        "sku": sku, "type": "simple",
        "info": {"name": "Produto", "subtitle": "Um produto", "status": 1, "published": 1, "model": "M1"},
        "stock": [{"info": {"quantity": quantity, "minimum": 0}}],
        "price": [{"list": 499.99, "value": 499.99}],
        "dimensions": {"height": 10, "width": 20, "length": 30, "weight": 400}
    }]);
    let r = app.post("/00k/catalog/import", &w.key_a, &body).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let job = r.body["data"]["proccessId"].as_str().unwrap().to_string();
    app.wait_for_import(&Scope::seller(&w.op.id, &w.a.id), &job)
        .await;
}

/// `GET /00k/orders{query}`, expecting a page.
async fn listing(app: &TestApp, key: &Headers, query: &str) -> Value {
    let r = app.get(&format!("/00k/orders{query}"), key).await;
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    r.body
}

/// The ids a listing query answers, in order (checking `total` is their number).
async fn ids(app: &TestApp, key: &Headers, query: &str) -> Vec<i64> {
    let b = listing(app, key, query).await;
    let ids: Vec<i64> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["order"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(b["total"], ids.len(), "{query}: {b}");
    ids
}

/// The one order `GET /00k/orders/{id}` answers.
async fn order(app: &TestApp, key: &Headers, id: i64) -> Value {
    let b = listing(app, key, &format!("/{id}")).await;
    assert_eq!(b["total"], 1, "{b}");
    assert_eq!(b["next"], Value::Null);
    assert_eq!(b["previous"], Value::Null);
    b["items"][0].clone()
}

/// 00K's status and substatus of order `id`, checked to be the native API's state,
/// and the native status to be Omnik's `orderData.status` on case `case`.
async fn same_everywhere(app: &TestApp, w: &World, id: i64, case: &str) -> (String, Value) {
    let z = order(app, &w.key_a, id).await;
    let n = app.get(&format!("/api/v1/orders/{id}"), &w.token).await;
    assert_eq!(n.status, 200, "{:?}", n.body);
    assert_eq!(
        n.body["state"]["status"], z["order"]["status"],
        "{}",
        n.body
    );
    assert_eq!(n.body["state"]["substatus"], z["order"]["substatus"]);
    let o = app
        .get(
            &format!("/omnik/HUB/v1/orders/customerservice/{case}"),
            &w.omnik_a,
        )
        .await;
    assert_eq!(o.status, 200, "{:?}", o.body);
    assert_eq!(
        o.body["orderData"]["status"], n.body["status"],
        "{}",
        o.body
    );
    (
        z["order"]["status"].as_str().unwrap().to_string(),
        z["order"]["substatus"].clone(),
    )
}

async fn an_order_through_its_life(app: TestApp) {
    let w = world(&app).await;
    stock(&app, &w, "99jjs8", 10).await;
    let id = push(&app, &w, &w.a, "02-1000000004", |b| {
        b["payments"][0]["transactionId"] = json!("TX-1");
        b["customer"]["birthDate"] = json!("1980-01-31");
    })
    .await;
    let subject = app
        .post(
            "/api/v1/subjects",
            &w.token,
            &json!({"subject": "Produto não chegou", "sla": 48, "forReturn": false}),
        )
        .await;
    assert_eq!(subject.status, 201, "{:?}", subject.body);
    let case = app
        .post(
            "/omnik/HUB/v1/orders/customerservice",
            &w.omnik_a,
            &json!({"customerServiceData": {"subject": "Produto não chegou", "responsible": "SELLER"},
                "orderData": {"id": id.to_string()},
                "comments": [{"entity": "CLIENTE", "subject": "Produto não chegou", "comment": "Cadê?",
                    "customerCanView": true, "author": {"email": "c@example.com"},
                    "iterationDate": "2023-06-06T21:41:57.123000", "responsible": "SELLER"}]}),
        )
        .await;
    assert_eq!(case.status, 201, "{:?}", case.body);
    let case = case.body["customerServiceData"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Placed: every block of the document's example, the ones with nothing yet too.
    let o = order(&app, &w.key_a, id).await;
    for block in [
        "order",
        "freight",
        "pending",
        "shipping",
        "invoice",
        "erp",
        "erpLength",
        "operator",
        "customer",
        "address",
        "products",
        "productsLength",
        "productsTotal",
        "interactions",
        "warnings",
        "payments",
        "paymentsLength",
        "paymentsTotal",
    ] {
        assert!(o.get(block).is_some(), "{block} missing: {o}");
    }
    let head = &o["order"];
    assert_eq!(head["id"], id);
    assert_eq!(head["externalId"], "02-1000000004");
    assert_eq!(head["marketPlaceId"], "02-1000000004");
    assert_eq!(head["externalIdAlias"], "02-1000000004");
    assert_eq!(head["marketPlace"], "Lojas Americanas");
    assert_eq!(head["origin"], 6, "b2w_americanas is the 6th origin");
    assert_eq!(head["token"], format!("{id:016x}"));
    assert_eq!(
        (&head["status"], &head["substatus"]),
        (&json!("pending"), &json!("payment"))
    );
    assert_eq!(head["total"], 514.99);
    assert_eq!(head["discount"], 0.0);
    assert_eq!(head["date"], "2023-06-07T00:41:57.000Z");
    let h = head["statusHistory"].as_array().unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["old"], json!({"substatus": null, "status": null}));
    assert_eq!(
        h[0]["new"],
        json!({"substatus": "payment", "status": "pending"})
    );
    assert!(zerok_time(&h[0]["date"]), "{h:?}");
    assert_eq!(
        o["invoice"],
        json!({"serie": null, "accessKey": null, "number": null, "date": null})
    );
    assert_eq!(o["freight"]["tracking"], json!([]));
    assert_eq!(o["freight"]["value"], 15.0);
    assert_eq!((&o["erp"], &o["erpLength"]), (&json!([]), &json!(0)));
    assert_eq!(o["warnings"], Value::Null);
    assert_eq!(o["pending"]["token"], head["token"]);
    for p in ["document", "payment", "email", "address", "attribute"] {
        assert_eq!(o["pending"][p], false, "{p}: {}", o["pending"]);
    }
    let c = &o["customer"];
    assert_eq!(c["cpf"], "52998224725");
    assert_eq!(c["cnpj"], Value::Null);
    assert_eq!(c["type"], "individual");
    assert_eq!(c["email"], "joao@example.com");
    assert_eq!(c["birthdate"], "1980-01-31T00:00:00.000Z");
    assert_eq!(
        c["phone"][0],
        json!({"areaCode": "11", "countryCode": "55", "numberExtension": null, "number": "912345678", "type": "mobile"})
    );
    let a = &o["address"];
    assert_eq!(
        (
            &a["zip"],
            &a["street"],
            &a["number"],
            &a["adjunct"],
            &a["region"],
            &a["city"],
            &a["state"],
            &a["country"]
        ),
        (
            &json!("01310100"),
            &json!("Av. Paulista"),
            &json!("1000"),
            &json!("ap 12"),
            &json!("Bela Vista"),
            &json!("São Paulo"),
            &json!("SP"),
            &json!("BR")
        )
    );
    assert_eq!(o["products"][0]["sku"], "99jjs8");
    assert_eq!(o["products"][0]["value"], 499.99);
    assert_eq!(o["products"][0]["quantity"], 1);
    assert_eq!(o["products"][0]["cfop"], Value::Null);
    assert_eq!(
        (&o["productsLength"], &o["productsTotal"]),
        (&json!(1), &json!(499.99))
    );
    let pay0 = &o["payments"][0];
    assert_eq!(pay0["transactionId"], "TX-1");
    assert_eq!(pay0["method"], "credit_card");
    assert_eq!(pay0["installments"], 3);
    assert_eq!(pay0["status"], "pending");
    assert_eq!(
        (&o["paymentsLength"], &o["paymentsTotal"]),
        (&json!(1), &json!(514.99))
    );
    assert_eq!(same_everywhere(&app, &w, id, &case).await.0, "pending");

    // The marketplace approves the payment; the store takes it from there.
    pay(&app, &w, id).await;
    assert_eq!(
        same_everywhere(&app, &w, id, &case).await,
        ("payment".into(), json!("paid"))
    );
    let o = set(&app, &w.key_a, id, "pickandpack", Some("separated")).await;
    assert_eq!(
        (&o["order"]["status"], &o["order"]["substatus"]),
        (&json!("pickandpack"), &json!("separated"))
    );
    assert_eq!(o["interactions"][0]["action"], "Alteração de status");
    assert_eq!(
        o["interactions"][0]["description"],
        "O operador trocou o status para Pick and Pack e o estagio para SEPARADO"
    );
    assert_eq!(o["interactions"][0]["origin"], "api");
    assert!(zerok_time(&o["interactions"][0]["date"]));
    assert_eq!(
        same_everywhere(&app, &w, id, &case).await,
        ("pickandpack".into(), json!("separated"))
    );

    let r = invoice(&app, &w.key_a, id, &invoice_body(&key_a())).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let o = order(&app, &w.key_a, id).await;
    assert_eq!(
        o["invoice"],
        json!({"serie": 1, "accessKey": key_a(), "number": 34986, "date": "2024-03-05T10:00:00.000Z"})
    );
    assert_eq!(o["products"][0]["cfop"], 5102);

    let o = set(&app, &w.key_a, id, "pickandpack", Some("billed")).await;
    assert_eq!(o["interactions"][0]["action"], "Alteração de estagio");
    assert_eq!(
        o["interactions"][0]["description"],
        "O operador trocou o status para Pick and Pack e o estagio para FATURADO"
    );
    set(&app, &w.key_a, id, "pickandpack", Some("packaged")).await;
    assert_eq!(
        same_everywhere(&app, &w, id, &case).await,
        ("pickandpack".into(), json!("packaged"))
    );
    let code = sro("47327830");
    let r = put(
        &app,
        &format!("/00k/orders/{id}/tracking"),
        &w.key_a,
        &json!({"trackings": [code.to_lowercase()]}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["freight"]["tracking"], json!([code]));
    let o = set(&app, &w.key_a, id, "shipped", None).await;
    assert_eq!(
        (&o["order"]["status"], &o["order"]["substatus"]),
        (&json!("shipped"), &Value::Null)
    );
    assert_eq!(
        o["interactions"][0]["description"],
        format!(
            "O operador trocou o status para Pedido enviado e o codigo de rastreamento para {code}"
        )
    );
    assert!(
        zerok_time(&o["shipping"]["shippedDate"]),
        "{}",
        o["shipping"]
    );
    assert_eq!(o["shipping"]["deliveredDate"], Value::Null);
    assert_eq!(same_everywhere(&app, &w, id, &case).await.0, "shipped");

    let o = set(&app, &w.key_a, id, "delivery", Some("delivered")).await;
    assert!(zerok_time(&o["shipping"]["deliveredDate"]));
    assert_eq!(o["payments"][0]["status"], "paid");
    assert_eq!(
        same_everywhere(&app, &w, id, &case).await,
        ("delivery".into(), json!("delivered"))
    );
    // The whole history, newest first, each move from the one before.
    let h = o["order"]["statusHistory"].as_array().unwrap();
    let pairs: Vec<(Value, Value)> = h
        .iter()
        .map(|e| (e["old"]["status"].clone(), e["new"]["substatus"].clone()))
        .collect();
    assert_eq!(
        pairs,
        [
            (json!("shipped"), json!("delivered")),
            (json!("pickandpack"), Value::Null),
            (json!("pickandpack"), json!("packaged")),
            (json!("pickandpack"), json!("billed")),
            (json!("payment"), json!("separated")),
            (json!("pending"), json!("paid")),
            (Value::Null, json!("payment")),
        ]
    );
    for pair in h.windows(2) {
        assert_eq!(pair[0]["old"], pair[1]["new"], "{pair:?}");
        assert!(pair[0]["date"].as_str() >= pair[1]["date"].as_str());
    }
    assert_eq!(
        o["interactions"][0]["description"],
        "O operador trocou o status para Pedido entregue"
    );
}

async fn every_listing_filter(app: TestApp) {
    let w = world(&app).await;
    stock(&app, &w, "99jjs8", 100).await;
    let at = |date: &'static str| move |b: &mut Value| b["placedAt"] = json!(date);
    // Paid, with a transaction id, on 1 March 2024 at 10:00 Brasília time.
    let o1 = push(&app, &w, &w.a, "1001", |b| {
        b["placedAt"] = json!("2024-03-01T10:00:00-03:00");
        b["payments"][0]["transactionId"] = json!("T-1");
    })
    .await;
    pay(&app, &w, o1).await;
    // Awaiting payment, with no e-mail (a pendency), late on 2 March.
    let o2 = push(&app, &w, &w.a, "ML-2002", |b| {
        b["channel"] = json!("Mercado Livre");
        b["placedAt"] = json!("2024-03-02T23:30:00-03:00");
        b["customer"].as_object_mut().unwrap().remove("email");
    })
    .await;
    // Paid and taken by Bling.
    let o3 = push(&app, &w, &w.a, "3003", |b| {
        b["channel"] = json!("Shoptime");
        at("2024-03-03T12:00:00-03:00")(b);
    })
    .await;
    pay(&app, &w, o3).await;
    let r = put(
        &app,
        &format!("/00k/orders/{o3}/erp"),
        &w.key_a,
        &json!({"type": "bling", "sent": true, "errorMessage": null}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // In pick and pack, from a marketplace no origin names.
    let o4 = push(&app, &w, &w.a, "4004", |b| {
        b["channel"] = json!("Magalu");
        at("2024-02-10T12:00:00-03:00")(b);
    })
    .await;
    pay(&app, &w, o4).await;
    set(&app, &w.key_a, o4, "pickandpack", Some("separated")).await;
    // Cancelled: in no listing status. With a gift at no price: a warning.
    let o5 = push(&app, &w, &w.a, "5005", |b| {
        b["channel"] = json!("Submarino");
        at("2024-01-25T12:00:00-03:00")(b);
        b["items"]
            .as_array_mut()
            .unwrap()
            .push(json!({"sku": "99jjs8", "name": "Brinde", "quantity": 1, "unitPrice": 0}));
    })
    .await;
    assert_eq!(native(&app, &w, o5, "cancel").await.status, 200);
    // Delivered and shipped, from two Cnova marketplaces.
    let o6 = push(&app, &w, &w.a, "6006", |b| {
        b["channel"] = json!("Extra");
        at("2024-01-15T12:00:00-03:00")(b);
    })
    .await;
    pay(&app, &w, o6).await;
    ship(&app, &w, o6).await;
    set(&app, &w.key_a, o6, "delivery", Some("delivered")).await;
    let o7 = push(&app, &w, &w.a, "7007", |b| {
        b["channel"] = json!("Casas Bahia");
        at("2024-01-20T12:00:00-03:00")(b);
    })
    .await;
    pay(&app, &w, o7).await;
    ship(&app, &w, o7).await;
    // Store B's order, with A's codes: never in A's listing.
    let ob = push(&app, &w, &w.b, "1001", |b| {
        at("2024-03-01T10:00:00-03:00")(b)
    })
    .await;
    let key = &w.key_a;

    let all = vec![o3, o2, o1, o4, o5, o7, o6];
    assert_eq!(ids(&app, key, "").await, all, "newest placement first");
    assert_eq!(ids(&app, key, "/").await, all, "with the trailing slash");
    assert_eq!(ids(&app, key, "?unknown=1&").await, all);
    assert_eq!(ids(&app, &w.key_b, "").await, [ob]);

    for (query, want) in [
        ("?external_id=1001", vec![o1]),
        ("?marketplace_id=ML-2002", vec![o2]),
        ("?external_id=1001&marketplace_id=1001", vec![o1]),
        ("?external_id=1001&marketplace_id=3003", vec![]),
        ("?marketplace=mercado-livre", vec![o2]),
        ("?marketplace=Lojas%20Americanas", vec![o1]),
        ("?marketplace=MAGALU", vec![]),
        ("?marketplace=Magalu", vec![o4]),
        ("?start=2024-03-02&end=2024-03-02", vec![o2]),
        ("?start=2024-03-01+00:00&end=2024-03-01+23:59", vec![o1]),
        ("?start=2024-03-01%2010:01", vec![o3, o2]),
        ("?start=2024-03-01T13:00:00.000Z", vec![o3, o2, o1]),
        ("?end=2024-01-20", vec![o7, o6]),
        ("?start=2030-01-01", vec![]),
        ("?trans_id=T-1", vec![o1]),
        ("?trans_id=T-2", vec![]),
        ("?status=awaiting_payment", vec![o2]),
        ("?status=accepted_payment", vec![o3, o1]),
        ("?status=pick_and_pack", vec![o4]),
        ("?status=shipped", vec![o7]),
        ("?status=delivered", vec![o6]),
        ("?status=shipped,delivered", vec![o7, o6]),
        ("?with_pendency=true", vec![o2]),
        ("?with_pendency=false", vec![o3, o1, o4, o5, o7, o6]),
        ("?erp_sent=true", vec![o3]),
        ("?erp_sent=false", vec![o2, o1, o4, o5, o7, o6]),
        ("?erp_type=bling", vec![o3]),
        ("?erp_type=tiny", vec![]),
        ("?with_warnings=true", vec![o5]),
        ("?with_warnings=false", vec![o3, o2, o1, o4, o7, o6]),
        ("?order_origin=b2w_americanas", vec![o1]),
        ("?order_origin=mercadolivre", vec![o2]),
        ("?order_origin=b2w", vec![o3, o1, o5]),
        ("?order_origin=cnova", vec![o7, o6]),
        ("?order_origin=cnova_extra", vec![o6]),
        ("?order_origin=ecommerce", vec![]),
        ("?order_origin=b2w&marketplace=shoptime", vec![o3]),
        ("?order_origin=mercadolivre&marketplace=Shoptime", vec![]),
        (
            "?status=accepted_payment&erp_sent=false&with_pendency=false",
            vec![o1],
        ),
    ] {
        assert_eq!(ids(&app, key, query).await, want, "{query}");
    }
    // An order's origin number and marketplace, as the listing writes them.
    let b = listing(&app, key, "?order_origin=cnova").await;
    assert_eq!(b["items"][0]["order"]["marketPlace"], "Casas Bahia");
    assert_eq!(b["items"][0]["order"]["origin"], 11);
    assert_eq!(b["items"][1]["order"]["origin"], 10);
    let b = listing(&app, key, "?marketplace=Magalu").await;
    assert_eq!(b["items"][0]["order"]["origin"], Value::Null);
    // The warning, in the order's words.
    let b = listing(&app, key, "?with_warnings=true").await;
    assert_eq!(
        b["items"][0]["warnings"],
        json!(["SKU 99jjs8 is sold at no price"])
    );

    // The filters apply to `GET /orders/{id}` too.
    for (query, total) in [
        ("?status=accepted_payment", 1),
        ("?status=delivered", 0),
        ("?erp_sent=false&trans_id=T-1", 1),
        ("?marketplace=mercadolivre", 0),
        ("?order_origin=b2w", 1),
        ("?start=2024-03-02", 0),
    ] {
        let b = listing(&app, key, &format!("/{o1}{query}")).await;
        assert_eq!(b["total"], total, "{query}: {b}");
        assert_eq!(b["items"].as_array().unwrap().len(), total, "{query}");
    }

    for (query, field) in [
        ("?start=2024-02-30", "start"),
        ("?end=2024-13-01", "end"),
        ("?start=ontem", "start"),
        ("?start=2024-03-02&end=2024-03-01", "end"),
        ("?page=-1", "page"),
        ("?page=um", "page"),
        ("?status=cancelled", "status"),
        ("?status=paid", "status"),
        ("?with_pendency=sim", "with_pendency"),
        ("?erp_sent=nao", "erp_sent"),
        ("?with_warnings=2", "with_warnings"),
        ("?erp_type=totvs", "erp_type"),
        ("?order_origin=amazon", "order_origin"),
    ] {
        invalid(
            &app.get(&format!("/00k/orders{query}"), key).await,
            &[field],
        );
        invalid(
            &app.get(&format!("/00k/orders/{o1}{query}"), key).await,
            &[field],
        );
    }
}

async fn pages_of_thirty(app: TestApp) {
    let w = world(&app).await;
    let mut pushed = Vec::new();
    for i in 0..65 {
        let id = push(&app, &w, &w.a, &format!("P-{i}"), |b| {
            b["placedAt"] = json!(format!("2024-01-01T{:02}:{:02}:00-03:00", i / 60, i % 60));
        })
        .await;
        pushed.push(id);
    }
    pushed.reverse();
    let key = &w.key_a;
    let p0 = listing(&app, key, "").await;
    assert_eq!(p0["total"], 65);
    assert_eq!(p0["items"].as_array().unwrap().len(), 30);
    assert_eq!(p0["next"], "?page=1");
    assert_eq!(p0["previous"], Value::Null);
    let p1 = listing(&app, key, "?page=1").await;
    assert_eq!(
        (&p1["next"], &p1["previous"]),
        (&json!("?page=2"), &json!("?page=0"))
    );
    let p2 = listing(&app, key, "?page=2").await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 5);
    assert_eq!(
        (&p2["next"], &p2["previous"]),
        (&Value::Null, &json!("?page=1"))
    );
    let mut seen = Vec::new();
    for p in [&p0, &p1, &p2] {
        seen.extend(
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["order"]["id"].as_i64().unwrap()),
        );
    }
    assert_eq!(seen, pushed, "every order once, newest placement first");
    let past = listing(&app, key, "?page=3").await;
    assert_eq!((&past["total"], &past["items"]), (&json!(65), &json!([])));
    assert_eq!(past["next"], Value::Null);
    // Links keep the filters given, in the document's order, and drop unknown ones.
    // (Every order has a pendency: no catalog holds their SKU.)
    let f = listing(
        &app,
        key,
        "?x=1&with_pendency=true&status=awaiting_payment&page=1",
    )
    .await;
    assert_eq!(f["total"], 65);
    assert_eq!(
        f["next"],
        "?status=awaiting_payment&with_pendency=true&page=2"
    );
    assert_eq!(
        f["previous"],
        "?status=awaiting_payment&with_pendency=true&page=0"
    );
    // A link followed from the listing's path is the next page.
    let next = listing(&app, key, p0["next"].as_str().unwrap()).await;
    assert_eq!(next["items"], p1["items"]);
    // A group origin's pages merge its marketplaces in the listing's order.
    let past = listing(&app, key, "?order_origin=b2w&page=100").await;
    assert_eq!((&past["total"], &past["items"]), (&json!(65), &json!([])));
    let g = listing(&app, key, "?order_origin=b2w&page=2").await;
    assert_eq!(g["total"], 65);
    assert_eq!(g["items"], p2["items"]);
}

async fn the_erp_work_queue(app: TestApp) {
    let w = world(&app).await;
    let mut paid = Vec::new();
    for i in 0..3 {
        let id = push(&app, &w, &w.a, &format!("Q-{i}"), |b| {
            b["placedAt"] = json!(format!("2024-02-0{}T10:00:00-03:00", i + 1));
        })
        .await;
        pay(&app, &w, id).await;
        paid.push(id);
    }
    paid.reverse();
    push(&app, &w, &w.a, "Q-unpaid", |_| {}).await;
    let key = &w.key_a;
    const QUEUE: &str = "?erp_sent=false&status=accepted_payment";
    assert_eq!(ids(&app, key, QUEUE).await, paid);

    // Poll, take the first, mark it: it leaves the queue.
    let taken = ids(&app, key, QUEUE).await[0];
    let r = put(
        &app,
        &format!("/00k/orders/{taken}/erp"),
        key,
        &json!({"type": "bling", "sent": true, "errorMessage": null}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let erp = &r.body["erp"];
    assert_eq!(r.body["erpLength"], 1);
    assert_eq!(
        (
            &erp[0]["type"],
            &erp[0]["sent"],
            &erp[0]["error"],
            &erp[0]["errorMessage"]
        ),
        (&json!("bling"), &json!(true), &json!(false), &Value::Null)
    );
    assert!(zerok_time(&erp[0]["sentDate"]));
    let first_sent = erp[0]["sentDate"].clone();
    assert_eq!(ids(&app, key, QUEUE).await, paid[1..]);
    assert_eq!(
        ids(&app, key, "?erp_sent=true&erp_type=bling").await,
        [taken]
    );
    assert_eq!(ids(&app, key, "?erp_type=tiny").await, Vec::<i64>::new());
    // The same mark again keeps the first time it was taken.
    let again = put(
        &app,
        &format!("/00k/orders/{taken}/erp/"),
        key,
        &json!({"type": "Bling", "sent": 1}),
    )
    .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["erp"][0]["sentDate"], first_sent);

    // A failure is recorded and keeps the order in the queue.
    let failed = paid[1];
    let r = put(
        &app,
        &format!("/00k/orders/{failed}/erp"),
        key,
        &json!({"type": "tiny", "sent": false, "errorMessage": "SKU 99jjs8 desconhecido"}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (
            &r.body["erp"][0]["error"],
            &r.body["erp"][0]["errorMessage"]
        ),
        (&json!(true), &json!("SKU 99jjs8 desconhecido"))
    );
    assert_eq!(ids(&app, key, QUEUE).await, paid[1..]);
    // Then taken after all.
    put(
        &app,
        &format!("/00k/orders/{failed}/erp"),
        key,
        &json!({"type": "tiny", "sent": true}),
    )
    .await;
    assert_eq!(ids(&app, key, QUEUE).await, [paid[2]]);
    assert_eq!(order(&app, key, failed).await["erp"][0]["error"], false);

    for (body, field) in [
        (json!({"type": "totvs", "sent": true}), "type"),
        (json!({"sent": true}), "type"),
        (json!({"type": "sap"}), "sent"),
        (json!({"type": "sap", "sent": "talvez"}), "sent"),
        (
            json!({"type": "sap", "sent": true, "errorMessage": "falhou"}),
            "errorMessage",
        ),
    ] {
        invalid(
            &put(&app, &format!("/00k/orders/{}/erp", paid[2]), key, &body).await,
            &[field],
        );
    }
    assert_eq!(ids(&app, key, QUEUE).await, [paid[2]]);
}

async fn illegal_moves_name_from_and_to(app: TestApp) {
    let w = world(&app).await;
    let key = &w.key_a;
    let n = std::sync::atomic::AtomicU32::new(0);
    // A fresh order of store A in `state` (a name of the lifecycle).
    let reach = |state: &'static str| {
        let (app, w, n) = (&app, &w, &n);
        async move {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let id = push(app, w, &w.a, &format!("I-{i}"), |_| {}).await;
            if state == "pending/payment" {
                return id;
            }
            if state == "cancelled" {
                assert_eq!(native(app, w, id, "cancel").await.status, 200);
                return id;
            }
            pay(app, w, id).await;
            match state {
                "payment/paid" => {}
                "pickandpack/separated" => {
                    set(app, &w.key_a, id, "pickandpack", Some("separated")).await;
                }
                "pickandpack/outofstock" => {
                    set(app, &w.key_a, id, "pickandpack", Some("outofstock")).await;
                }
                "pickandpack/packaged" => {
                    set(app, &w.key_a, id, "pickandpack", Some("packaged")).await;
                }
                "shipped" => ship(app, w, id).await,
                "delivery/delivered" | "delivery/notdelivered" => {
                    ship(app, w, id).await;
                    let sub = state.split('/').nth(1);
                    set(app, &w.key_a, id, "delivery", sub).await;
                }
                other => panic!("no way to {other}"),
            }
            id
        }
    };
    for (from, status, sub, why) in [
        (
            "pending/payment",
            "pickandpack",
            Some("separated"),
            "payment",
        ),
        ("pending/payment", "shipped", None, "payment"),
        ("pending/payment", "delivery", Some("delivered"), "shipped"),
        (
            "pending/payment",
            "delivery",
            Some("notdelivered"),
            "shipped",
        ),
        ("payment/paid", "pickandpack", Some("billed"), "invoice"),
        ("payment/paid", "shipped", None, "invoice"),
        ("payment/paid", "delivery", Some("delivered"), "shipped"),
        ("pickandpack/separated", "shipped", None, "invoice"),
        (
            "pickandpack/packaged",
            "pickandpack",
            Some("separated"),
            "past",
        ),
        ("pickandpack/outofstock", "shipped", None, "stock"),
        ("shipped", "pickandpack", Some("packaged"), "past"),
        (
            "delivery/delivered",
            "pickandpack",
            Some("separated"),
            "delivered",
        ),
        ("delivery/delivered", "shipped", None, "delivered"),
        (
            "delivery/delivered",
            "delivery",
            Some("notdelivered"),
            "delivered",
        ),
        ("delivery/delivered", "cancelled", None, "return"),
        ("cancelled", "pickandpack", Some("separated"), "cancelled"),
        ("cancelled", "shipped", None, "cancelled"),
        ("cancelled", "delivery", Some("delivered"), "cancelled"),
    ] {
        let id = reach(from).await;
        let to = match sub {
            Some(s) => format!("{status}/{s}"),
            None => status.to_string(),
        };
        let r = put(
            &app,
            &format!("/00k/orders/{id}/status"),
            key,
            &json!({"status": status, "substatus": sub}),
        )
        .await;
        invalid(&r, &[from, &to, why]);
        let after = order(&app, key, id).await;
        let now = match after["order"]["substatus"].as_str() {
            Some(s) => format!("{}/{s}", after["order"]["status"].as_str().unwrap()),
            None => after["order"]["status"].as_str().unwrap().to_string(),
        };
        assert_eq!(now, from, "a refused move changes nothing");
    }
    // Moving to where the order is changes nothing, and is no error.
    let id = reach("pickandpack/separated").await;
    let before = order(&app, key, id).await;
    let same = set(&app, key, id, "pickandpack", Some("separated")).await;
    assert_eq!(
        same["order"]["statusHistory"],
        before["order"]["statusHistory"]
    );
    let id = reach("cancelled").await;
    set(&app, key, id, "cancelled", None).await;
    // The seller may cancel until delivery, and report a failed delivery.
    let id = reach("shipped").await;
    set(&app, key, id, "delivery", Some("notdelivered")).await;
    set(&app, key, id, "shipped", None).await;
    set(&app, key, id, "cancelled", None).await;
}

async fn status_bodies_name_their_field(app: TestApp) {
    let w = world(&app).await;
    let id = push(&app, &w, &w.a, "S-1", |_| {}).await;
    pay(&app, &w, id).await;
    let path = format!("/00k/orders/{id}/status");
    for (body, field) in [
        (json!({"status": "pickandpack"}), "substatus"),
        (
            json!({"status": "pickandpack", "substatus": "delivered"}),
            "substatus",
        ),
        (json!({"status": "delivery"}), "substatus"),
        (
            json!({"status": "shipped", "substatus": "billed"}),
            "substatus",
        ),
        (json!({"status": "payment", "substatus": "paid"}), "status"),
        (json!({"status": "pending"}), "status"),
        (json!({"status": "perdido"}), "status"),
        (json!({"status": 3}), "status"),
        (json!({}), "status"),
    ] {
        invalid(&put(&app, &path, &w.key_a, &body).await, &[field]);
    }
    for raw in [&b"[1]"[..], b"{\"status\":", b"", b"\"shipped\""] {
        let r = app
            .call(Method::PUT, &path, &w.key_a, Some(raw.to_vec()))
            .await;
        invalid(&r, &["body"]);
    }
    // Case, spaces and an empty substatus are read as clients write them.
    set(&app, &w.key_a, id, "PickAndPack", Some(" Separated ")).await;
    let o = set(&app, &w.key_a, id, "cancelled", Some("")).await;
    assert_eq!(o["order"]["status"], "cancelled");
    assert_eq!(o["payments"][0]["status"], "cancelled");
}

async fn invoice_keys_checked_part_by_part(app: TestApp) {
    let w = world(&app).await;
    let id = push(&app, &w, &w.a, "N-1", |_| {}).await;
    // Not yet paid: no invoice.
    invalid(
        &invoice(&app, &w.key_a, id, &invoice_body(&key_a())).await,
        &["status"],
    );
    pay(&app, &w, id).await;
    let good = key_a();
    let mut letter = good.clone();
    letter.replace_range(10..11, "X");
    let mut wrong_dv = good.clone();
    let last = wrong_dv.pop().unwrap();
    wrong_dv.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    for (key, words) in [
        (letter, vec!["accessKey", "digits"]),
        (good[..43].to_string(), vec!["accessKey", "44"]),
        (format!("{good}1"), vec!["accessKey", "44"]),
        (
            nfe_key("99", "2403", CNPJ_A, "55", 1, 34986),
            vec!["accessKey", "cUF"],
        ),
        (
            nfe_key("10", "2403", CNPJ_A, "55", 1, 34986),
            vec!["accessKey", "cUF"],
        ),
        (
            nfe_key("35", "2413", CNPJ_A, "55", 1, 34986),
            vec!["accessKey", "AAMM"],
        ),
        (
            nfe_key("35", "2400", CNPJ_A, "55", 1, 34986),
            vec!["accessKey", "AAMM"],
        ),
        (
            nfe_key("35", "2403", "10406561000148", "55", 1, 34986),
            vec!["accessKey", "CNPJ", "10406561000148"],
        ),
        (
            nfe_key("35", "2403", "11222333000181", "55", 1, 34986),
            vec!["accessKey", "CNPJ", "seller", CNPJ_A],
        ),
        (
            nfe_key("35", "2403", CNPJ_A, "57", 1, 34986),
            vec!["accessKey", "mod", "57"],
        ),
        (
            nfe_key("35", "2403", CNPJ_A, "55", 2, 34986),
            vec!["accessKey", "serie", "2"],
        ),
        (
            nfe_key("35", "2403", CNPJ_A, "55", 1, 34987),
            vec!["accessKey", "nNF", "34987"],
        ),
        (wrong_dv, vec!["accessKey", "cDV"]),
    ] {
        let r = invoice(&app, &w.key_a, id, &invoice_body(&key)).await;
        invalid(&r, &words);
    }
    // The rest of the body, each mistake named.
    for (edit, field) in [
        (json!({"serie": "um"}), "serie"),
        (json!({"number": null}), "number"),
        (json!({"date": "ontem"}), "date"),
        // Not the month its key's AAMM says (March 2024), in Brasília time.
        (json!({"date": "2024-04-05T10:00:00.000Z"}), "date"),
        (json!({"date": "2999-03-05T10:00:00.000Z"}), "date"),
        (json!({"value": 0}), "value"),
        (json!({"value": "514.99"}), "value"),
        (json!({"products": []}), "products"),
        (
            json!({"products": [{"type": "group", "sku": "G", "cfop": 5102}]}),
            "products[0].type",
        ),
        (
            json!({"products": [{"type": "bundle", "sku": "G", "cfop": 5102}]}),
            "products[0].type",
        ),
        (
            json!({"products": [{"type": "kit", "cfop": 5102}]}),
            "products[0].sku",
        ),
        (
            json!({"products": [{"type": "kit", "sku": "K", "cfop": 1102}]}),
            "products[0].cfop",
        ),
        (
            json!({"products": [{"type": "kit", "sku": "K", "cfop": 510}]}),
            "products[0].cfop",
        ),
        (json!({"accessKey": null}), "accessKey"),
    ] {
        let mut body = invoice_body(&good);
        for (k, v) in edit.as_object().unwrap() {
            body[k] = v.clone();
        }
        invalid(&invoice(&app, &w.key_a, id, &body).await, &[field]);
    }
    assert_eq!(
        order(&app, &w.key_a, id).await["invoice"]["accessKey"],
        Value::Null,
        "nothing recorded"
    );

    // The document's example key, spelled as its schema spells it, numbers as strings.
    let r = invoice(&app, &w.key_a, id, &json!({
        "serie": "1", "acessKey": DOC_KEY, "number": "34986", "date": "2015-08-21T03:00:00.000Z",
        "value": 20.58, "products": [{"type": "kit", "sku": "2647", "cfop": "6108"}]
    })).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let o = order(&app, &w.key_a, id).await;
    assert_eq!(
        o["invoice"],
        json!({"serie": 1, "accessKey": DOC_KEY, "number": 34986, "date": "2015-08-21T03:00:00.000Z"})
    );
    // Replaced until the order ships; the key printed in groups is read too.
    let grouped: String = good
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        invoice(&app, &w.key_a, id, &invoice_body(&grouped))
            .await
            .status,
        204
    );
    assert_eq!(
        order(&app, &w.key_a, id).await["invoice"]["accessKey"],
        good
    );
    // A store without a document: any issuer with valid check digits.
    let ob = push(&app, &w, &w.b, "N-2", |_| {}).await;
    pay(&app, &w, ob).await;
    let other = nfe_key("33", "2403", "11222333000181", "65", 1, 34986);
    assert_eq!(
        invoice(&app, &w.key_b, ob, &invoice_body(&other))
            .await
            .status,
        204
    );
    // Shipped: the invoice is closed.
    set(&app, &w.key_a, id, "shipped", None).await;
    invalid(
        &invoice(&app, &w.key_a, id, &invoice_body(&good)).await,
        &["status"],
    );
}

async fn tracking_codes_checked(app: TestApp) {
    let w = world(&app).await;
    let id = push(&app, &w, &w.a, "T-1", |_| {}).await;
    let path = format!("/00k/orders/{id}/tracking");
    let good = sro("12345678");
    assert_eq!(good, "AA123456785BR");
    // Not yet paid: no tracking.
    invalid(
        &put(&app, &path, &w.key_a, &json!({"trackings": [good]})).await,
        &["status"],
    );
    pay(&app, &w, id).await;
    for (codes, words) in [
        (
            json!(["XY123456789BR"]),
            vec!["trackings[0]", "check digit"],
        ),
        (json!([good, "XY12345678BR"]), vec!["trackings[1]"]),
        (
            json!([good, "1123456-3", "XY123456789BR"]),
            vec!["trackings[1]", "trackings[2]"],
        ),
        (json!(["AA12345678BR5"]), vec!["trackings[0]"]),
        (json!(["A1123456785BR"]), vec!["trackings[0]"]),
        (json!([]), vec!["trackings"]),
        (json!(null), vec!["trackings"]),
        (json!("AA123456785BR"), vec!["trackings"]),
    ] {
        let r = put(&app, &path, &w.key_a, &json!({"trackings": codes})).await;
        invalid(&r, &words);
        let d = r.body["description"].as_str().unwrap();
        assert!(
            !d.contains("trackings[0]") || codes[0] != json!(good),
            "{d}"
        );
    }
    assert_eq!(
        order(&app, &w.key_a, id).await["freight"]["tracking"],
        json!([])
    );
    for (codes, want) in [
        (json!([" aa123456785br "]), json!([good])),
        (
            json!([good, sro("00000000"), good]),
            json!([good, "AA000000005BR"]),
        ),
        (json!([sro("99999999")]), json!([sro("99999999")])),
    ] {
        let r = put(&app, &path, &w.key_a, &json!({"trackings": codes})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["freight"]["tracking"], want);
    }
    // Once shipped, new codes are an interaction of their own.
    ship(&app, &w, id).await;
    let r = put(&app, &path, &w.key_a, &json!({"trackings": [good]})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["interactions"][0]["description"]
        .as_str()
        .unwrap()
        .contains(&good));
    set(&app, &w.key_a, id, "delivery", Some("delivered")).await;
    invalid(
        &put(&app, &path, &w.key_a, &json!({"trackings": [good]})).await,
        &["status"],
    );
}

async fn two_updates_racing_on_one_order(app: TestApp) {
    let w = world(&app).await;
    for round in 0..6 {
        let id = push(&app, &w, &w.a, &format!("R-{round}"), |_| {}).await;
        pay(&app, &w, id).await;
        let path = format!("/00k/orders/{id}/status");
        let separate = json!({"status": "pickandpack", "substatus": "separated"});
        let cancel = json!({"status": "cancelled"});
        let (a, b) = tokio::join!(
            put(&app, &path, &w.key_a, &separate),
            put(&app, &path, &w.key_a, &cancel),
        );
        let ok = [&a, &b].iter().filter(|r| r.status == 200).count();
        assert!(ok >= 1, "one wins: {:?} {:?}", a.body, b.body);
        // The loser lost the race ("moved"), or came second and the move is illegal.
        for r in [&a, &b] {
            if r.status != 200 {
                refused(r, 400, "2.1");
                let d = r.body["description"].as_str().unwrap();
                assert!(d.contains("moved") || d.contains("cannot move"), "{d}");
            }
        }
        // No lost update: every update answered 200 is in the history, in order.
        let o = order(&app, &w.key_a, id).await;
        let h = o["order"]["statusHistory"].as_array().unwrap();
        assert_eq!(h.len(), 2 + ok, "{h:?}");
        let last = if ok == 2 || (b.status == 200 && a.status != 200) {
            "cancelled"
        } else {
            "pickandpack"
        };
        assert_eq!(o["order"]["status"], last, "{a:?} {b:?}");
    }
    // Two ERPs marking one order at once: both marks kept.
    let id = push(&app, &w, &w.a, "R-erp", |_| {}).await;
    pay(&app, &w, id).await;
    let path = format!("/00k/orders/{id}/erp");
    let (bling, tiny) = (
        json!({"type": "bling", "sent": true}),
        json!({"type": "tiny", "sent": true}),
    );
    let (a, b) = tokio::join!(
        put(&app, &path, &w.key_a, &bling),
        put(&app, &path, &w.key_a, &tiny),
    );
    assert_eq!(
        (a.status, b.status),
        (200, 200),
        "{:?} {:?}",
        a.body,
        b.body
    );
    assert_eq!(order(&app, &w.key_a, id).await["erpLength"], 2);
}

async fn another_stores_orders_are_not_found(app: TestApp) {
    let w = world(&app).await;
    let theirs = push(&app, &w, &w.b, "B-1", |_| {}).await;
    pay(&app, &w, theirs).await;
    let key = &w.key_a;
    let not_found = |r: &common::Reply| {
        refused(r, 400, "2.0");
        assert!(
            r.body["description"].as_str().unwrap().contains("order"),
            "{:?}",
            r.body
        );
    };
    not_found(&app.get(&format!("/00k/orders/{theirs}"), key).await);
    for (path, body) in [
        (
            "status",
            json!({"status": "pickandpack", "substatus": "separated"}),
        ),
        ("tracking", json!({"trackings": [sro("12345678")]})),
        (
            "invoice",
            invoice_body(&nfe_key("35", "2403", "11222333000181", "55", 1, 34986)),
        ),
        ("erp", json!({"type": "bling", "sent": true})),
    ] {
        not_found(&put(&app, &format!("/00k/orders/{theirs}/{path}"), key, &body).await);
    }
    assert!(ids(&app, key, "").await.is_empty());
    assert_eq!(ids(&app, key, "?external_id=B-1").await, Vec::<i64>::new());
    // Untouched: still paid for its own store.
    let o = order(&app, &w.key_b, theirs).await;
    assert_eq!(
        (&o["order"]["status"], &o["erp"]),
        (&json!("payment"), &json!([]))
    );
    for id in ["999999999", "abc", "1.5", "-1", "99999999999999999999"] {
        not_found(&app.get(&format!("/00k/orders/{id}"), key).await);
        not_found(
            &put(
                &app,
                &format!("/00k/orders/{id}/status"),
                key,
                &json!({"status": "shipped"}),
            )
            .await,
        );
    }
}

async fn keys_and_envelopes(app: TestApp) {
    let w = world(&app).await;
    let id = push(&app, &w, &w.a, "K-1", |_| {}).await;
    // An operator's key names no store.
    for r in [
        app.get("/00k/orders", &w.operator_key).await,
        app.get(&format!("/00k/orders/{id}"), &w.operator_key).await,
        put(
            &app,
            &format!("/00k/orders/{id}/status"),
            &w.operator_key,
            &json!({"status": "shipped"}),
        )
        .await,
    ] {
        refused(&r, 403, "1.3");
    }
    refused(&app.get("/00k/orders", &BTreeMap::new()).await, 401, "1.2");
    let unknown = BTreeMap::from([("Authorization".to_string(), "ep_x_y".to_string())]);
    refused(&app.get("/00k/orders", &unknown).await, 401, "1.3");
    // The key with a tolerated `Bearer`, and a lower-case header name.
    let bearer_key = BTreeMap::from([(
        "authorization".to_string(),
        format!("Bearer {}", w.key_a["Authorization"]),
    )]);
    assert_eq!(ids(&app, &bearer_key, "").await, [id]);
    // A method a path does not serve, and a path that is no route.
    let r = app
        .call(Method::DELETE, &format!("/00k/orders/{id}"), &w.key_a, None)
        .await;
    assert_eq!(r.status, 405, "{:?}", r.body);
    refused(
        &app.get(&format!("/00k/orders/{id}/nothing"), &w.key_a)
            .await,
        404,
        "2.0",
    );
}

async fn at_the_root_of_its_own_listener(app: TestApp) {
    let w = world(&app).await;
    let id = push(&app, &w, &w.a, "O-1", |_| {}).await;
    pay(&app, &w, id).await;
    let own = app.own["zerok"].clone();
    let r = app
        .call_url(
            Method::GET,
            &format!("{own}/orders?status=accepted_payment"),
            &w.key_a,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["items"][0]["order"]["id"], id);
    let r = app
        .call_url(
            Method::PUT,
            &format!("{own}/orders/{id}/status"),
            &w.key_a,
            Some(
                serde_json::to_vec(&json!({"status": "pickandpack", "substatus": "separated"}))
                    .unwrap(),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["order"]["substatus"], "separated");
}
