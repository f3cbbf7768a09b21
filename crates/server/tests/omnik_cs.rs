//! Omnik's customer-service API, black-box over HTTP on both backends, written from
//! `000_c560d7b54724ff2f.txt` and WIRE-NOTES: all eight endpoints, paging bounds, the
//! date format, both path spellings, operator/seller scoping, bad input in the
//! document's 4xx shape, and one ticket followed through Omnik and SkyHub.

mod common;

use std::collections::BTreeMap;

use common::{bearer, order_body, TestApp};
use entreposto_domain::{Dialect, Operator, Seller};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    create_read_and_close,
    paging_sorting_and_paths,
    subjects_and_return_subjects,
    operator_and_seller_scoping,
    bad_input_in_omniks_shape,
    one_ticket_through_omnik_and_skyhub,
);

type Headers = BTreeMap<String, String>;

struct Shop {
    op: Operator,
    token: Headers,
    seller: Seller,
    omnik: Headers,
}

async fn shop(app: &TestApp) -> Shop {
    let (op, token) = app.operator().await;
    let token = bearer(&token);
    let seller = app.seller(&op, "Loja A").await;
    let omnik = app
        .credential(&op, Some(&seller), Dialect::named("omnik"))
        .await
        .headers;
    for (name, sla, ret) in [("Produto não chegou", 48, false), ("Devolução", 168, true)] {
        let r = app
            .post(
                "/api/v1/subjects",
                &token,
                &json!({"subject": name, "sla": sla, "forReturn": ret}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    Shop {
        op,
        token,
        seller,
        omnik,
    }
}

async fn order(app: &TestApp, shop: &Shop, seller: &Seller, code: &str) -> String {
    let r = app
        .post("/api/v1/orders", &shop.token, &order_body(&seller.id, code))
        .await;
    r.body["id"].as_str().unwrap().to_string()
}

fn comment(entity: &str, text: &str, visible: bool) -> Value {
    json!({"entity": entity, "subject": "Produto não chegou", "comment": text, "customerCanView": visible,
        "author": {"email": "atendente@loja.com.br"}, "iterationDate": "2023-06-06T21:41:57.123000",
        "responsible": "SELLER"})
}

fn create_body(order_id: &str) -> Value {
    json!({"customerServiceData": {"subject": "Produto não chegou", "responsible": "SELLER"},
        "orderData": {"id": order_id},
        "comments": [comment("CLIENTE", "Meu produto não chegou", true)]})
}

const CS: &str = "/omnik/HUB/v1/orders/customerservice";

fn omnik_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    let b = s.as_bytes();
    s.len() == 26 && b[10] == b'T' && b[19] == b'.' && s[20..].bytes().all(|c| c.is_ascii_digit())
}

async fn create_read_and_close(app: TestApp) {
    let shop = shop(&app).await;
    let order_id = order(&app, &shop, &shop.seller, "02-1000000004").await;
    let created = app
        .post(&format!("{CS}/"), &shop.omnik, &create_body(&order_id))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let b = &created.body;
    assert_eq!(b["tenant"], shop.seller.id.as_str());
    assert_eq!(b["operator"], shop.op.id.as_str());
    assert!(
        omnik_time(&b["createDate"]) && omnik_time(&b["lastUpdate"]),
        "{b}"
    );
    let id = b["customerServiceData"]["id"].as_str().unwrap().to_string();
    assert_eq!(b["customerServiceData"]["subject"], "Produto não chegou");
    assert_eq!(b["customerServiceData"]["responsible"], "SELLER");
    assert!(b["customerServiceData"]["closingDate"].is_null());
    assert_eq!(b["orderData"]["id"], order_id.as_str());
    assert!(omnik_time(&b["orderData"]["orderDate"]));
    assert_eq!(
        b["orderData"]["orderDate"], "2023-06-06T21:41:57.000000",
        "Brasília time, as placed"
    );
    assert_eq!(b["marketplaceData"]["marketPlaceId"], "02-1000000004");
    assert_eq!(b["marketplaceData"]["siteId"], "LASA");
    assert_eq!(b["marketplaceData"]["marketplace"], "Lojas Americanas");
    let c = &b["customerData"];
    assert_eq!(c["document"], "52998224725");
    assert_eq!(c["documentType"], "CPF");
    assert_eq!(c["customerType"], "individual");
    assert_eq!(c["addressData"]["zipcode"], "01310100");
    assert_eq!(c["addressData"]["stateAcronym"], "SP");
    assert_eq!(c["addressData"]["state"], "São Paulo");
    assert_eq!(c["phones"][0]["ddd"], "11");
    let first = &b["comments"][0];
    assert_eq!(first["entity"], "CLIENTE");
    assert_eq!(first["comment"], "Meu produto não chegou");
    assert_eq!(first["customerCanView"], true);
    assert_eq!(first["author"]["email"], "atendente@loja.com.br");
    assert_eq!(first["iterationDate"], "2023-06-06T21:41:57.123000");

    // Without the trailing slash, and GET by id.
    let again = app.post(CS, &shop.omnik, &create_body(&order_id)).await;
    assert_eq!(again.status, 201);
    let read = app.get(&format!("{CS}/{id}"), &shop.omnik).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["comments"], b["comments"]);

    // The final comment carries its own subject and responsible party; they read back
    // as written, while the ticket's stay the ticket's.
    let mut last = comment("SELLER", "Resolvido, obrigado!", true);
    last["subject"] = json!("Troca aprovada");
    last["responsible"] = json!("MARKETPLACE");
    let close = json!({"responsible": "SELLER", "comment": last});
    let closed = app
        .call(
            Method::PUT,
            &format!("{CS}/{id}/close"),
            &shop.omnik,
            Some(serde_json::to_vec(&close).unwrap()),
        )
        .await;
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    assert!(omnik_time(
        &closed.body["customerServiceData"]["closingDate"]
    ));
    assert_eq!(closed.body["comments"].as_array().unwrap().len(), 2);
    assert_eq!(closed.body["comments"][1]["entity"], "SELLER");
    assert_eq!(closed.body["comments"][1]["subject"], "Troca aprovada");
    assert_eq!(closed.body["comments"][1]["responsible"], "MARKETPLACE");
    assert_eq!(closed.body["comments"][0]["subject"], "Produto não chegou");
    assert_eq!(closed.body["comments"][0]["responsible"], "SELLER");
    assert_eq!(
        closed.body["customerServiceData"]["subject"],
        "Produto não chegou"
    );
    assert_eq!(closed.body["customerServiceData"]["responsible"], "SELLER");
    let reread = app.get(&format!("{CS}/{id}"), &shop.omnik).await;
    assert_eq!(reread.body["comments"], closed.body["comments"]);
    let twice = app
        .call(
            Method::PUT,
            &format!("{CS}/{id}/close"),
            &shop.omnik,
            Some(serde_json::to_vec(&close).unwrap()),
        )
        .await;
    assert_eq!(twice.status, 409, "{:?}", twice.body);
    assert_eq!(twice.body["code"], 409);
    assert!(twice.body["messages"][0]["message"]
        .as_str()
        .unwrap()
        .contains("already closed"));
    let missing = app.get(&format!("{CS}/999999"), &shop.omnik).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["code"], 404);
}

async fn paging_sorting_and_paths(app: TestApp) {
    let shop = shop(&app).await;
    let mut ids = Vec::new();
    let shared = order(&app, &shop, &shop.seller, "02-2000000000").await;
    for i in 0..13 {
        let order_id = if i < 2 {
            shared.clone()
        } else {
            order(
                &app,
                &shop,
                &shop.seller,
                &format!("02-{}", 1_000_000_000 + i),
            )
            .await
        };
        let r = app.post(CS, &shop.omnik, &create_body(&order_id)).await;
        assert_eq!(r.status, 201);
        ids.push(
            r.body["customerServiceData"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Touch the oldest ticket: it becomes the most recently updated.
    let touch = json!({"responsible": "SELLER", "comment": comment("SELLER", "Encerrando", false)});
    app.call(
        Method::PUT,
        &format!("{CS}/{}/close", ids[0]),
        &shop.omnik,
        Some(serde_json::to_vec(&touch).unwrap()),
    )
    .await;

    let ids_of = |v: &Value| -> Vec<String> {
        v["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["customerServiceData"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    for path in [CS.to_string(), format!("{CS}/")] {
        let first = app.get(&path, &shop.omnik).await;
        assert_eq!(first.status, 200);
        assert_eq!(first.body["total"], 13);
        assert_eq!(first.body["limit"], 10);
        assert_eq!(first.body["offset"], 0);
        assert_eq!(first.body["sort"], "lastUpdate");
        assert_eq!(
            ids_of(&first.body)[0],
            ids[0],
            "lastUpdate: the closed one first"
        );
        assert_eq!(ids_of(&first.body).len(), 10);
    }
    let rest = app
        .get(&format!("{CS}?offset=10&limit=10"), &shop.omnik)
        .await;
    assert_eq!(ids_of(&rest.body).len(), 3);
    let clamped = app.get(&format!("{CS}?limit=50"), &shop.omnik).await;
    assert_eq!(clamped.body["limit"], 10);
    assert_eq!(ids_of(&clamped.body).len(), 10);
    let small = app
        .get(&format!("{CS}?limit=3&offset=1"), &shop.omnik)
        .await;
    assert_eq!(ids_of(&small.body).len(), 3);
    let beyond = app.get(&format!("{CS}?offset=100"), &shop.omnik).await;
    assert_eq!(beyond.body["total"], 13);
    assert_eq!(ids_of(&beyond.body).len(), 0);
    let by_created = app.get(&format!("{CS}?sort=createDate"), &shop.omnik).await;
    assert_eq!(by_created.body["sort"], "createDate");
    assert_eq!(
        ids_of(&by_created.body)[0],
        ids[12],
        "createDate: the newest first"
    );
    let closed = app.get(&format!("{CS}?status=CLOSED"), &shop.omnik).await;
    assert_eq!(ids_of(&closed.body), vec![ids[0].clone()]);
    let open = app.get(&format!("{CS}?status=OPEN"), &shop.omnik).await;
    assert_eq!(open.body["total"], 12);
    let future = app
        .get(
            &format!("{CS}?last_update=2099-01-01T00:00:00"),
            &shop.omnik,
        )
        .await;
    assert_eq!(future.body["total"], 0);
    let past = app
        .get(
            &format!("{CS}?last_update=2020-01-01T00:00:00"),
            &shop.omnik,
        )
        .await;
    assert_eq!(past.body["total"], 13);
    // A cutoff between the creations and the later close keeps only the closed one:
    // last_update filters on the update time, not the creation time.
    let newest = app.get(CS, &shop.omnik).await;
    let cutoff = newest.body["values"][0]["lastUpdate"]
        .as_str()
        .unwrap()
        .to_string();
    let since = app
        .get(&format!("{CS}?last_update={cutoff}"), &shop.omnik)
        .await;
    assert_eq!(since.body["total"], 1, "{cutoff}");
    assert_eq!(ids_of(&since.body), vec![ids[0].clone()]);

    let by_mkt = app
        .get(
            "/omnik/HUB/v1/orders/marketplaceid/02-2000000000/customerservice",
            &shop.omnik,
        )
        .await;
    assert_eq!(by_mkt.status, 200);
    assert_eq!(by_mkt.body["total"], 2);
    let mut got = ids_of(&by_mkt.body);
    got.sort();
    let mut want = vec![ids[0].clone(), ids[1].clone()];
    want.sort();
    assert_eq!(got, want);
    let none = app
        .get(
            "/omnik/HUB/v1/orders/marketplaceid/NOPE/customerservice/",
            &shop.omnik,
        )
        .await;
    assert_eq!(none.body["total"], 0);
    let by_order = app
        .get(
            &format!("/omnik/HUB/v1/orders/{shared}/customerservice?limit=1"),
            &shop.omnik,
        )
        .await;
    assert_eq!(by_order.status, 200);
    assert_eq!(by_order.body["total"], 2);
    assert_eq!(ids_of(&by_order.body).len(), 1);
    assert_eq!(
        app.get("/omnik/HUB/v1/orders/999999/customerservice", &shop.omnik)
            .await
            .status,
        404
    );

    for bad in [
        "limit=0",
        "limit=-5",
        "limit=ten",
        "offset=-1",
        "offset=x",
        "sort=price",
        "status=LOST",
        "last_update=ontem",
    ] {
        let r = app.get(&format!("{CS}?{bad}"), &shop.omnik).await;
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
        let field = bad.split('=').next().unwrap();
        assert!(
            r.body["message"].as_str().unwrap().starts_with(field),
            "{bad}: {:?}",
            r.body
        );
    }
}

async fn subjects_and_return_subjects(app: TestApp) {
    let shop = shop(&app).await;
    let s = app.get(&format!("{CS}/subjects"), &shop.omnik).await;
    assert_eq!(s.status, 200);
    let list = s.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let dev = list
        .iter()
        .find(|x| x["subjectData"]["subject"] == "Devolução")
        .unwrap();
    assert_eq!(dev["subjectData"]["sla"], 168);
    assert_eq!(dev["tenant"], shop.seller.id.as_str());
    assert_eq!(dev["operator"], shop.op.id.as_str());
    assert!(omnik_time(&dev["createDate"]));

    // hub-web: token only, Portuguese shape, return subjects only.
    let token_only = BTreeMap::from([("token".to_string(), shop.omnik["token"].clone())]);
    let r = app
        .get(
            "/omnik/v1/hub-web/atendimentoAssunto/devolucao",
            &token_only,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["dadoAssunto"]["assunto"], "Devolução");
    assert_eq!(list[0]["dadoAssunto"]["sla"], "168");
    assert_eq!(list[0]["dadoAssunto"]["paraDevolucao"], true);
    assert!(list[0]["dadoAssunto"]["integracaoId"].is_string());
    assert!(list[0]["usuarioManutencao"].is_string());
    let bad = BTreeMap::from([("token".to_string(), "ep_nope".to_string())]);
    let r = app
        .get("/omnik/v1/hub-web/atendimentoAssunto/devolucao", &bad)
        .await;
    assert_eq!(r.status, 401);
    assert!(
        r.body["logId"].is_u64() && r.body["name"].is_string() && r.body["message"].is_string(),
        "{:?}",
        r.body
    );
}

async fn operator_and_seller_scoping(app: TestApp) {
    let shop = shop(&app).await;
    let seller_b = app.seller(&shop.op, "Loja B").await;
    let omnik_b = app
        .credential(&shop.op, Some(&seller_b), Dialect::named("omnik"))
        .await
        .headers;
    let oa = order(&app, &shop, &shop.seller, "02-1").await;
    let ob = order(&app, &shop, &seller_b, "02-2").await;
    let ta = app.post(CS, &shop.omnik, &create_body(&oa)).await;
    let id_a = ta.body["customerServiceData"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // B cannot open a case on A's order, read it, list it or close it.
    assert_eq!(app.post(CS, &omnik_b, &create_body(&oa)).await.status, 404);
    let tb = app.post(CS, &omnik_b, &create_body(&ob)).await;
    assert_eq!(tb.status, 201);
    assert_eq!(tb.body["tenant"], seller_b.id.as_str());
    assert_eq!(app.get(&format!("{CS}/{id_a}"), &omnik_b).await.status, 404);
    assert_eq!(app.get(CS, &omnik_b).await.body["total"], 1);
    assert_eq!(
        app.get(
            &format!("/omnik/HUB/v1/orders/{oa}/customerservice"),
            &omnik_b
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get(
            "/omnik/HUB/v1/orders/marketplaceid/02-1/customerservice",
            &omnik_b
        )
        .await
        .body["total"],
        0
    );
    let close = json!({"responsible": "SELLER", "comment": comment("SELLER", "x", true)});
    let r = app
        .call(
            Method::PUT,
            &format!("{CS}/{id_a}/close"),
            &omnik_b,
            Some(serde_json::to_vec(&close).unwrap()),
        )
        .await;
    assert_eq!(r.status, 404);
    assert!(
        app.get(&format!("{CS}/{id_a}"), &shop.omnik).await.body["customerServiceData"]
            ["closingDate"]
            .is_null()
    );

    // The operator sees both, or one seller with the `seller` header.
    let op = app
        .credential(&shop.op, None, Dialect::named("omnik"))
        .await
        .headers;
    assert_eq!(app.get(CS, &op).await.body["total"], 2);
    let mut for_a = op.clone();
    for_a.insert("seller".into(), shop.seller.id.clone());
    let only_a = app.get(CS, &for_a).await;
    assert_eq!(only_a.body["total"], 1);
    assert_eq!(only_a.body["values"][0]["tenant"], shop.seller.id.as_str());
    // A seller that is not the operator's is refused.
    let (other_op, _) = app.operator().await;
    let stranger = app.seller(&other_op, "Loja Z").await;
    let mut refused = op.clone();
    refused.insert("seller".into(), stranger.id.clone());
    let r = app.get(CS, &refused).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], 403);
    let other = app
        .credential(&other_op, None, Dialect::named("omnik"))
        .await
        .headers;
    assert_eq!(app.get(CS, &other).await.body["total"], 0);
}

async fn bad_input_in_omniks_shape(app: TestApp) {
    let shop = shop(&app).await;
    let order_id = order(&app, &shop, &shop.seller, "02-1").await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = create_body(&order_id);
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "malformed",
            b"{\"customerServiceData\": ".to_vec(),
            400,
            "body",
        ),
        (
            "no subject",
            with(&|v| {
                v["customerServiceData"]
                    .as_object_mut()
                    .unwrap()
                    .remove("subject");
            }),
            400,
            "customerServiceData.subject",
        ),
        (
            "unknown subject",
            with(&|v| v["customerServiceData"]["subject"] = json!("Nada")),
            400,
            "customerServiceData.subject",
        ),
        (
            "bad responsible",
            with(&|v| v["customerServiceData"]["responsible"] = json!("BOT")),
            400,
            "customerServiceData.responsible",
        ),
        (
            "no order",
            with(&|v| {
                v.as_object_mut().unwrap().remove("orderData");
            }),
            400,
            "orderData.id",
        ),
        (
            "order not a number",
            with(&|v| v["orderData"]["id"] = json!("abc")),
            400,
            "orderData.id",
        ),
        (
            "bad entity",
            with(&|v| v["comments"][0]["entity"] = json!("ROBOT")),
            400,
            "comments[0].entity",
        ),
        (
            "no entity",
            with(&|v| {
                v["comments"][0].as_object_mut().unwrap().remove("entity");
            }),
            400,
            "comments[0].entity",
        ),
        (
            "no comment",
            with(&|v| v["comments"][0]["comment"] = json!("")),
            400,
            "comments[0].comment",
        ),
        (
            "no author email",
            with(&|v| v["comments"][0]["author"] = json!({})),
            400,
            "comments[0].author.email",
        ),
        (
            "bad author email",
            with(&|v| v["comments"][0]["author"]["email"] = json!("atendente")),
            400,
            "comments[0].author.email",
        ),
        (
            "date only",
            with(&|v| v["comments"][0]["iterationDate"] = json!("2023-06-06")),
            400,
            "comments[0].iterationDate",
        ),
        (
            "bad date",
            with(&|v| v["comments"][0]["iterationDate"] = json!("06/06/2023 10:00:00")),
            400,
            "comments[0].iterationDate",
        ),
        (
            "no date",
            with(&|v| {
                v["comments"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("iterationDate");
            }),
            400,
            "comments[0].iterationDate",
        ),
        (
            "bad comment responsible",
            with(&|v| v["comments"][0]["responsible"] = json!("X")),
            400,
            "comments[0].responsible",
        ),
        (
            "wrong type",
            with(&|v| v["comments"][0]["customerCanView"] = json!("sim")),
            400,
            "comments[0].customerCanView",
        ),
        (
            "unknown order",
            with(&|v| v["orderData"]["id"] = json!(999999)),
            404,
            "",
        ),
    ];
    for (case, body, status, field) in cases {
        let r = app.call(Method::POST, CS, &shop.omnik, Some(body)).await;
        assert_eq!(r.status, status, "{case}: {:?}", r.body);
        assert_eq!(r.body["code"], status, "{case}");
        assert!(r.body["type"].is_string(), "{case}");
        assert!(r.body["messages"][0]["message"].is_string(), "{case}");
        assert!(
            r.body["message"].as_str().unwrap().starts_with(field),
            "{case}: {:?}",
            r.body
        );
    }
    assert_eq!(
        app.get(CS, &shop.omnik).await.body["total"],
        0,
        "nothing was written"
    );
    let t = app.post(CS, &shop.omnik, &create_body(&order_id)).await;
    let id = t.body["customerServiceData"]["id"].as_str().unwrap();
    let bad_close = [
        (
            json!({"comment": comment("SELLER", "x", true)}),
            "responsible",
        ),
        (json!({"responsible": "SELLER"}), "comment"),
        (
            json!({"responsible": "SELLER", "comment": {"entity": "SELLER"}}),
            "comment.responsible",
        ),
    ];
    for (body, field) in bad_close {
        let r = app
            .call(
                Method::PUT,
                &format!("{CS}/{id}/close"),
                &shop.omnik,
                Some(serde_json::to_vec(&body).unwrap()),
            )
            .await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().starts_with(field),
            "{body}: {:?}",
            r.body
        );
    }
    assert!(
        app.get(&format!("{CS}/{id}"), &shop.omnik).await.body["customerServiceData"]
            ["closingDate"]
            .is_null()
    );
    let none = app.get(CS, &BTreeMap::new()).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["code"], 401);
}

async fn one_ticket_through_omnik_and_skyhub(app: TestApp) {
    let shop = shop(&app).await;
    let sky = app
        .credential(&shop.op, Some(&shop.seller), Dialect::named("skyhub"))
        .await
        .headers;
    let order_id = order(&app, &shop, &shop.seller, "02-1000000004").await;
    // Opened with Omnik's POST.
    let t = app.post(CS, &shop.omnik, &create_body(&order_id)).await;
    assert_eq!(t.status, 201);
    let id = t.body["customerServiceData"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let code = app
        .get(&format!("/api/v1/tickets/{id}"), &shop.token)
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .replace(' ', "%20");
    // Answered via SkyHub's chats POST.
    let r = app
        .post(&format!("/skyhub/sac/{code}/chats/CUSTOMER_SELLER"), &sky,
            &json!({"messageTo": "TO_CUSTOMER", "messageType": "TEXT_MESSAGE", "message": "Já despachamos!"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["messages"][0]["content"], "Meu produto não chegou",
        "Omnik's comment is in SkyHub's chat"
    );
    // Read back with Omnik's GET.
    let read = app.get(&format!("{CS}/{id}"), &shop.omnik).await;
    let comments = read.body["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1]["entity"], "SELLER");
    assert_eq!(comments[1]["comment"], "Já despachamos!");
    assert_eq!(comments[1]["customerCanView"], true);
    // An Omnik comment the customer cannot see lands in SkyHub's B2W_SELLER part.
    let close = json!({"responsible": "MARKETPLACE", "comment": comment("MARKETPLACE", "Caso encerrado pela mediação.", false)});
    let closed = app
        .call(
            Method::PUT,
            &format!("{CS}/{id}/close"),
            &shop.omnik,
            Some(serde_json::to_vec(&close).unwrap()),
        )
        .await;
    assert_eq!(closed.status, 200);
    assert_eq!(
        closed.body["customerServiceData"]["responsible"],
        "MARKETPLACE"
    );
    // Seen closed from both.
    assert!(omnik_time(
        &app.get(&format!("{CS}/{id}"), &shop.omnik).await.body["customerServiceData"]
            ["closingDate"]
    ));
    let chat = app
        .get(&format!("/skyhub/sac/{code}/chats/B2W_SELLER"), &sky)
        .await;
    assert_eq!(chat.body["status"], "CLOSED");
    assert_eq!(
        chat.body["messages"][0]["content"],
        "Caso encerrado pela mediação."
    );
    assert_eq!(chat.body["messages"][0]["part"]["role"], "B2W");
    let cs_chat = app
        .get(&format!("/skyhub/sac/{code}/chats/CUSTOMER_SELLER"), &sky)
        .await;
    assert_eq!(cs_chat.body["status"], "CLOSED");
    // A closed ticket takes no reply.
    let late = app
        .post(
            &format!("/skyhub/sac/{code}/chats/CUSTOMER_SELLER"),
            &sky,
            &json!({"message": "Mais alguma coisa?"}),
        )
        .await;
    assert_eq!(late.status, 422, "{:?}", late.body);
}
