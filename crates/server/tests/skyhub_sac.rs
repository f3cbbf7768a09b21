//! SkyHub's SAC API, black-box over HTTP on both backends, written from the spec files
//! (`002` SAC listing, `001` chats) and WIRE-NOTES: listing with cursor pages and
//! filters, one SAC, instances, chats, replies, read state, the client quirks, seller
//! isolation and bad input.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};

use common::{order_body, shop, Shop, TestApp};
use entreposto_domain::{Dialect, Seller};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    listing_pages_with_a_cursor_and_filters,
    one_sac_instances_and_chats,
    replies_and_read_state,
    wire_quirks,
    seller_b_cannot_touch_seller_a,
    bad_input_names_the_field,
);

type Headers = BTreeMap<String, String>;

/// A bad request: method, path, body, expected status, field named in the detail.
type Case = (Method, String, Option<&'static [u8]>, u16, &'static str);

/// Pushes an order and opens a ticket on it; with `message`, the customer writes first.
async fn ticket(
    app: &TestApp,
    shop: &Shop,
    seller: &Seller,
    code: &str,
    message: bool,
) -> (String, String) {
    let order = app
        .post("/api/v1/orders", &shop.token, &order_body(&seller.id, code))
        .await;
    assert!(
        order.status == 201 || order.status == 200,
        "{:?}",
        order.body
    );
    let order_id = order.body["id"].as_str().unwrap();
    let mut body = json!({"subject": "Produto não chegou", "mediation": false});
    if message {
        body["message"] = json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER",
            "content": "Bom dia! Produto não chegou!", "authorName": "John John", "authorEmail": "john@example.com"});
    }
    let t = app
        .post(
            &format!("/api/v1/orders/{order_id}/tickets"),
            &shop.token,
            &body,
        )
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    (
        t.body["id"].as_str().unwrap().to_string(),
        t.body["code"].as_str().unwrap().to_string(),
    )
}

fn enc(code: &str) -> String {
    code.replace(' ', "%20")
}

/// Strips the server part of a `next_page` URL.
fn path_of(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    rest[rest.find('/').unwrap()..].to_string()
}

async fn listing_pages_with_a_cursor_and_filters(app: TestApp) {
    let shop = shop(&app).await;
    let mut codes = Vec::new();
    for i in 0..112 {
        let (id, code) = ticket(
            &app,
            &shop,
            &shop.seller,
            &format!("02-{}", 1_000_000_000 + i),
            true,
        )
        .await;
        if i % 10 == 0 {
            let r = app
                .post(
                    &format!("/api/v1/tickets/{id}/mediation"),
                    &shop.token,
                    &json!({}),
                )
                .await;
            assert_eq!(r.status, 200);
        }
        codes.push(code);
    }
    // Instances are not listed under /sac.
    let (_, instance) = ticket(&app, &shop, &shop.seller, "02-1999999999", false).await;

    let mut seen = Vec::new();
    let mut path = "/skyhub/sac".to_string();
    let mut pages = 0;
    loop {
        let r = app.get(&path, &shop.sky).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let sacs = r.body["sacs"].as_array().unwrap();
        pages += 1;
        for s in sacs {
            for key in [
                "code",
                "created_at",
                "mediation",
                "order_code",
                "platform",
                "status",
                "updated_at",
                "warehouse",
            ] {
                assert!(s.get(key).is_some(), "missing {key} in {s}");
            }
            assert!(s["updated_at"].as_str().unwrap().ends_with("-03:00"));
            seen.push(s["code"].as_str().unwrap().to_string());
        }
        match r.body["next_page"].as_str() {
            Some(next) => {
                assert!(next.starts_with("http://"), "{next}");
                assert!(next.contains("/skyhub/sac?cursor="), "{next}");
                assert_eq!(sacs.len(), 50);
                // With a cursor, other filters are ignored.
                path = format!("{}&status=ARCHIVED&mediation=true", path_of(next));
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 112);
    assert!(!seen.contains(&instance));
    let mut expected = codes.clone();
    expected.reverse();
    assert_eq!(seen, expected, "newest update first, each ticket once");

    let mediated = app.get("/skyhub/sac?mediation=true", &shop.sky).await;
    assert_eq!(mediated.body["sacs"].as_array().unwrap().len(), 12);
    assert!(mediated.body["sacs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["mediation"] == true));
    let unread = app
        .get("/skyhub/sac?status=UNREAD&platform=b2w", &shop.sky)
        .await;
    assert_eq!(unread.body["sacs"].as_array().unwrap().len(), 50);
    let read = app.get("/skyhub/sac?status=READ", &shop.sky).await;
    assert_eq!(read.body["sacs"].as_array().unwrap().len(), 0);
    assert!(read.body["next_page"].is_null());

    // updated_at is a Brasília calendar day.
    let today = entreposto_domain::Timestamp::now()
        .in_zone(entreposto_domain::time::brasilia())
        .format("%Y-%m-%d")
        .to_string();
    let day = app
        .get(&format!("/skyhub/sac?updated_at={today}"), &shop.sky)
        .await;
    assert_eq!(day.body["sacs"].as_array().unwrap().len(), 50);
    let other = app
        .get("/skyhub/sac?updated_at=2023-06-04", &shop.sky)
        .await;
    assert_eq!(other.body["sacs"].as_array().unwrap().len(), 0);
    let cut = app
        .get(
            &format!("/skyhub/sac?updated_at={today}T10:00:00"),
            &shop.sky,
        )
        .await;
    assert_eq!(
        cut.status, 200,
        "clients cut dates to 10 characters; longer values read the same"
    );
}

async fn one_sac_instances_and_chats(app: TestApp) {
    let shop = shop(&app).await;
    let (id, code) = ticket(&app, &shop, &shop.seller, "02-1000000004", false).await;
    assert_eq!(code, "Lojas Americanas-201000000004001");
    let one = app
        .get(&format!("/skyhub/sac/{}", enc(&code)), &shop.sky)
        .await;
    assert_eq!(one.status, 200, "{:?}", one.body);
    assert_eq!(one.body["code"], code.as_str());
    assert_eq!(one.body["order_code"], "02-1000000004");
    assert_eq!(one.body["platform"], "B2w");
    assert_eq!(one.body["warehouse"], "98");
    assert_eq!(one.body["status"], "UNREAD");

    let inst = app
        .get(&format!("/skyhub/sac/{}/instances", enc(&code)), &shop.sky)
        .await;
    assert_eq!(inst.status, 200);
    let list = inst.body["instances"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["code"], code.as_str());
    assert_eq!(list[0]["sla"], 48);
    assert_eq!(
        app.get("/skyhub/sac", &shop.sky).await.body["sacs"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The customer writes: no longer an instance, now listed.
    let m = app
        .post(&format!("/api/v1/tickets/{id}/messages"), &shop.token,
            &json!({"author": "CUSTOMER", "part": "CUSTOMER_SELLER", "content": "Bom dia! Produto não chegou!",
                    "authorName": "John John", "authorEmail": "john@skyhub.com.br", "authorCode": "123456"}))
        .await;
    assert_eq!(m.status, 201, "{:?}", m.body);
    let inst = app
        .get(&format!("/skyhub/sac/{}/instances/", enc(&code)), &shop.sky)
        .await;
    assert_eq!(inst.body["instances"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.get("/skyhub/sac", &shop.sky).await.body["sacs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The marketplace writes to the seller too.
    app.post(&format!("/api/v1/tickets/{id}/messages"), &shop.token,
        &json!({"author": "MARKETPLACE", "part": "MARKETPLACE_SELLER", "content": "Favor responder o cliente."})).await;

    let chat = app
        .get(
            &format!("/skyhub/sac/{}/chats/CUSTOMER_SELLER", enc(&code)),
            &shop.sky,
        )
        .await;
    assert_eq!(chat.status, 200, "{:?}", chat.body);
    let c = &chat.body;
    assert_eq!(c["status"], "ACTIVE");
    assert_eq!(c["seller_status"], "UNREAD");
    assert_eq!(c["parts"], "CUSTOMER_SELLER");
    let msg = &c["messages"][0];
    assert_eq!(msg["content"], "Bom dia! Produto não chegou!");
    assert_eq!(msg["part"]["role"], "CUSTOMER");
    assert_eq!(msg["part"]["name"], "John John");
    assert_eq!(msg["part"]["email"], "john@skyhub.com.br");
    assert_eq!(msg["part"]["code"], 123456);
    assert!(msg["replyed_at"].is_null());
    assert!(msg["created_at"].as_str().unwrap().ends_with("-03:00"));
    assert_eq!(c["last_message"], msg["created_at"]);
    assert_eq!(c["messages"].as_array().unwrap().len(), 1);

    let b2w = app
        .get(
            &format!("/skyhub/sac/{}/chats/B2W_SELLER/", enc(&code)),
            &shop.sky,
        )
        .await;
    assert_eq!(b2w.body["parts"], "B2W_SELLER");
    assert_eq!(b2w.body["messages"][0]["part"]["role"], "B2W");
    // Without a part: the part with the latest message.
    let latest = app
        .get(&format!("/skyhub/sac/{}/chats", enc(&code)), &shop.sky)
        .await;
    assert_eq!(latest.body["parts"], "B2W_SELLER");
    let by_query = app
        .get(
            &format!("/skyhub/sac/{}/chats/?parts=CUSTOMER_SELLER", enc(&code)),
            &shop.sky,
        )
        .await;
    assert_eq!(by_query.body["parts"], "CUSTOMER_SELLER");

    let missing = app
        .get("/skyhub/sac/Lojas%20Americanas-999", &shop.sky)
        .await;
    assert_eq!(missing.status, 404);
    assert!(missing.body["errors"]["detail"]
        .as_str()
        .unwrap()
        .contains("not found"));
    let doc = app.get("/skyhub/openapi.json", &BTreeMap::new()).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/sac"]["get"].is_object());
    assert!(doc.body["paths"]["/sac/{code}/chats/{parts}"]["post"].is_object());
    assert!(doc.body["paths"]["/sac/{code}/chats"]["post"].is_object());
}

async fn replies_and_read_state(app: TestApp) {
    let shop = shop(&app).await;
    let (id, code) = ticket(&app, &shop, &shop.seller, "02-1000000006", true).await;
    let url = format!("/skyhub/sac/{}/chats/CUSTOMER_SELLER", enc(&code));
    let body = json!({"deliveryId": "3", "identityId": "00007604079750", "messageTo": "TO_CUSTOMER",
        "messageType": "TEXT_MESSAGE", "orderId": "1234567", "message": "Tralalá trililí"});
    let r = app.post(&url, &shop.sky, &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let msgs = r.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1]["part"]["role"], "SELLER");
    assert_eq!(msgs[1]["content"], "Tralalá trililí");
    assert!(
        msgs[0]["replyed_at"].is_string(),
        "the customer's message is now replied"
    );

    // POST without a part in the URL: messageTo picks it.
    let to_b2w = app
        .post(&format!("/skyhub/sac/{}/chats/", enc(&code)), &shop.sky,
            &json!({"messageTo": "TO_B2W", "messageType": "TEXT_MESSAGE", "message": "Pedido reenviado."}))
        .await;
    assert_eq!(to_b2w.status, 200, "{:?}", to_b2w.body);
    assert_eq!(to_b2w.body["parts"], "B2W_SELLER");

    for status in ["READ", "ARCHIVED", "UNREAD"] {
        let p = app
            .call(
                Method::PATCH,
                &format!("{url}/"),
                &shop.sky,
                Some(serde_json::to_vec(&json!({"status": status})).unwrap()),
            )
            .await;
        assert_eq!(p.status, 204, "{status}: {:?}", p.body);
        // One vendor client crashes on a 204 without a JSON Content-Type.
        assert_eq!(p.content_type.as_deref(), Some("application/json"));
        assert_eq!(p.body, serde_json::Value::Null);
        let one = app
            .get(&format!("/skyhub/sac/{}", enc(&code)), &shop.sky)
            .await;
        assert_eq!(one.body["status"], status);
    }
    // The native view sees the seller's reply.
    let t = app.get(&format!("/api/v1/tickets/{id}"), &shop.token).await;
    let parts: Vec<&str> = t.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"]["party"].as_str().unwrap())
        .collect();
    assert_eq!(parts, vec!["CUSTOMER", "SELLER", "SELLER"]);
}

/// Sends raw bytes and returns the status line and body.
fn raw(base: &str, request: &str) -> (String, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.lines().next().unwrap_or_default().to_string();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

async fn wire_quirks(app: TestApp) {
    let shop = shop(&app).await;
    let (_, code) = ticket(&app, &shop, &shop.seller, "02-1000000008", true).await;
    // Trailing empty `?`, PHP-style arrays and unknown parameters are accepted.
    let r = app.get("/skyhub/sac?", &shop.sky).await;
    assert_eq!(r.status, 200);
    let r = app
        .get(
            "/skyhub/sac?filters%5Bstatuses%5D%5B0%5D=NEW&foo=bar",
            &shop.sky,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["sacs"].as_array().unwrap().len(), 1);
    let r = app
        .get(&format!("/skyhub/sac/{}?", enc(&code)), &shop.sky)
        .await;
    assert_eq!(r.status, 200);
    // Header names in any case.
    let odd: Headers = shop
        .sky
        .iter()
        .map(|(k, v)| (k.to_uppercase(), v.clone()))
        .collect();
    assert_eq!(
        app.get(&format!("/skyhub/sac/{}", enc(&code)), &odd)
            .await
            .status,
        200
    );
    // HTTP/1.0, no Host header, the code %20-encoded.
    let mut req = format!("GET /skyhub/sac/{} HTTP/1.0\r\n", enc(&code));
    for (k, v) in &shop.sky {
        req.push_str(&format!("{}: {v}\r\n", k.to_lowercase()));
    }
    req.push_str("\r\n");
    let (status, body) = raw(&app.base, &req);
    assert!(
        status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200"),
        "{status}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], code.as_str());
    // A forced Host header changes nothing.
    let mut forced = shop.sky.clone();
    forced.insert("Host".into(), "api.skyhub.com.br".into());
    assert_eq!(app.get("/skyhub/sac", &forced).await.status, 200);
    for i in 0..50 {
        ticket(
            &app,
            &shop,
            &shop.seller,
            &format!("02-{}", 1_100_000_000 + i),
            true,
        )
        .await;
    }
    let paged = app.get("/skyhub/sac", &forced).await;
    let next = paged.body["next_page"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/skyhub/sac?cursor=", app.base)),
        "next_page must point at this server: {next}"
    );
    // NUL characters and undecodable path segments are 4xx in SkyHub's envelope.
    for path in [
        "/skyhub/sac/%00",
        "/skyhub/sac/%FF%FE",
        "/skyhub/sac?status=%00",
    ] {
        let r = app.get(path, &shop.sky).await;
        assert!(
            r.status == 400 || r.status == 422 || r.status == 404,
            "{path}: {}",
            r.status
        );
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/json"),
            "{path}"
        );
        assert!(
            r.body["errors"]["detail"].is_string(),
            "{path}: {:?}",
            r.body
        );
    }
    // A NUL in a query parameter is named by the parameter.
    let r = app.get("/skyhub/sac?page=1&status=a%00b", &shop.sky).await;
    assert!(
        r.body["errors"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("status")),
        "{:?}",
        r.body
    );
    let nul = app
        .post(
            &format!("/skyhub/sac/{}/chats/CUSTOMER_SELLER", enc(&code)),
            &shop.sky,
            &json!({"message": "oi\u{0}"}),
        )
        .await;
    assert_eq!(nul.status, 422, "{:?}", nul.body);
    // The NUL is reported in the field that holds it.
    assert!(nul.body["errors"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("message: "));
    // Errors are JSON with Content-Type too.
    let e = app.get("/skyhub/sac/nope", &shop.sky).await;
    assert_eq!(e.status, 404);
    assert_eq!(e.content_type.as_deref(), Some("application/json"));
    assert!(e.body["error"].is_string());
}

async fn seller_b_cannot_touch_seller_a(app: TestApp) {
    let shop = shop(&app).await;
    let seller_b = app.seller(&shop.op, "Loja B").await;
    let sky_b = app
        .credential(&shop.op, Some(&seller_b), Dialect::named("skyhub"))
        .await
        .headers;
    let (_, code) = ticket(&app, &shop, &shop.seller, "02-1000000010", true).await;
    let c = enc(&code);
    for path in [
        format!("/skyhub/sac/{c}"),
        format!("/skyhub/sac/{c}/instances"),
        format!("/skyhub/sac/{c}/chats"),
        format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
    ] {
        let r = app.get(&path, &sky_b).await;
        assert_eq!(r.status, 404, "{path}: {:?}", r.body);
        assert!(r.body["errors"]["detail"].is_string());
    }
    let reply = app
        .post(
            &format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            &sky_b,
            &json!({"message": "intruso"}),
        )
        .await;
    assert_eq!(reply.status, 404);
    let patch = app
        .call(
            Method::PATCH,
            &format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            &sky_b,
            Some(br#"{"status":"ARCHIVED"}"#.to_vec()),
        )
        .await;
    assert_eq!(patch.status, 404);
    assert_eq!(
        app.get("/skyhub/sac", &sky_b).await.body["sacs"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Nothing changed for A.
    let one = app.get(&format!("/skyhub/sac/{c}"), &shop.sky).await;
    assert_eq!(one.body["status"], "UNREAD");
    let chat = app
        .get(&format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"), &shop.sky)
        .await;
    assert_eq!(chat.body["messages"].as_array().unwrap().len(), 1);
    // A's operator-level SkyHub credential sees it; another operator's does not.
    let op_cred = app
        .credential(&shop.op, None, Dialect::named("skyhub"))
        .await
        .headers;
    assert_eq!(
        app.get(&format!("/skyhub/sac/{c}"), &op_cred).await.status,
        200
    );
    let (other_op, _) = app.operator().await;
    let other = app
        .credential(&other_op, None, Dialect::named("skyhub"))
        .await
        .headers;
    assert_eq!(
        app.get(&format!("/skyhub/sac/{c}"), &other).await.status,
        404
    );
}

async fn bad_input_names_the_field(app: TestApp) {
    let shop = shop(&app).await;
    let (id, code) = ticket(&app, &shop, &shop.seller, "02-1000000012", true).await;
    let c = enc(&code);
    let detail = |r: &common::Reply| {
        r.body["errors"]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    let cases: Vec<Case> = vec![
        (
            Method::GET,
            "/skyhub/sac?status=PENDING".into(),
            None,
            422,
            "status",
        ),
        (
            Method::GET,
            "/skyhub/sac?mediation=maybe".into(),
            None,
            422,
            "mediation",
        ),
        (
            Method::GET,
            "/skyhub/sac?updated_at=04/06/2023".into(),
            None,
            422,
            "updated_at",
        ),
        (
            Method::GET,
            "/skyhub/sac?cursor=garbage".into(),
            None,
            422,
            "cursor",
        ),
        (
            Method::GET,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_MARS"),
            None,
            422,
            "parts",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/SELLER_CUSTOMER"),
            Some(br#"{"message":"x"}"#),
            422,
            "parts",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_B2W"),
            Some(br#"{"message":"x"}"#),
            422,
            "parts",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"message":"#),
            422,
            "body",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"messageTo":"TO_CUSTOMER"}"#),
            422,
            "message",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"message":42}"#),
            422,
            "message",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"message":"   "}"#),
            422,
            "message",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"message":"x","messageTo":"TO_MARS"}"#),
            422,
            "messageTo",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"message":"x","messageTo":"TO_B2W"}"#),
            422,
            "messageTo",
        ),
        (
            Method::POST,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"message":"x","messageType":"IMAGE"}"#),
            422,
            "messageType",
        ),
        (
            Method::PATCH,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"status":"DELETED"}"#),
            422,
            "status",
        ),
        (
            Method::PATCH,
            format!("/skyhub/sac/{c}/chats/WHATEVER"),
            Some(br#"{"status":"READ"}"#),
            422,
            "parts",
        ),
        (
            Method::PATCH,
            format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            Some(br#"{"state":"READ"}"#),
            422,
            "status",
        ),
    ];
    for (method, path, body, status, field) in cases {
        let r = app
            .call(method.clone(), &path, &shop.sky, body.map(<[u8]>::to_vec))
            .await;
        assert_eq!(r.status, status, "{method} {path}: {:?}", r.body);
        assert!(
            detail(&r).starts_with(field),
            "{method} {path}: {:?}",
            r.body
        );
        assert_eq!(r.body["error"], r.body["errors"]["detail"]);
    }
    let huge = format!(r#"{{"message":"{}"}}"#, "x".repeat(10 * 1024 * 1024));
    let r = app
        .call(
            Method::POST,
            &format!("/skyhub/sac/{c}/chats/CUSTOMER_SELLER"),
            &shop.sky,
            Some(huge.into_bytes()),
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(r.body["errors"]["detail"].is_string());
    // None of that wrote anything.
    let t = app.get(&format!("/api/v1/tickets/{id}"), &shop.token).await;
    assert_eq!(t.body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(t.body["readState"], "UNREAD");
}
