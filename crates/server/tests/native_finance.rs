//! Reconciliation on the native API, black-box over HTTP on both backends: a seller's
//! terms per channel (the preset, a partial update, refusals naming the field),
//! statements as CSV and as a JSON array (rows refused and reported, the valid ones
//! loaded; bodies that are no statement refused), the conciliations, and the summary
//! per channel and month; another operator's seller is not found.

mod common;

use common::recon::{
    cents, conciliations, extract, koncili_order, line, load_as, loaded, push, recon, set_terms,
    CHANNEL, HEADER,
};
use common::{bearer, TestApp};
use serde_json::{json, Value};

on_both_backends!(
    terms_per_channel,
    statements_as_csv_and_json,
    conciliations_and_the_monthly_summary,
    another_operators_seller_is_not_found,
);

fn terms_path(seller: &str, channel: &str) -> String {
    format!(
        "/api/v1/sellers/{seller}/finance/channels/{}",
        common::recon::enc(channel)
    )
}

#[track_caller]
fn invalid(r: &common::Reply, field: &str) {
    assert_eq!(r.status, 422, "{field}: {:?}", r.body);
    let f = r.body["error"]["field"].as_str().unwrap_or_default();
    assert!(f.contains(field), "{field} in {:?}", r.body);
}

async fn terms_per_channel(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    // A channel with no terms of the seller's answers its preset.
    let preset = app
        .get(&terms_path(&r.seller.id, "Mercado Livre"), &r.token)
        .await;
    assert_eq!(preset.status, 200, "{:?}", preset.body);
    let p = &preset.body;
    assert_eq!(p["channel"], "Mercado Livre");
    assert!(p["commission"]["rate"].as_f64().unwrap() > 0.0, "{p}");
    assert!(["invoice", "delivery"].contains(&p["payment"]["base"].as_str().unwrap()));
    assert!(p["tolerance"]["amount"].is_number());
    // The suite's terms for B2W, as set.
    let b2w = app.get(&terms_path(&r.seller.id, CHANNEL), &r.token).await;
    assert_eq!(b2w.status, 200, "{:?}", b2w.body);
    assert_eq!(
        b2w.body,
        json!({"channel": CHANNEL,
            "commission": {"rate": 15.0, "byCategory": [], "fixedPerOrder": 0.0, "fixedPerItem": 0.0},
            "payment": {"base": "invoice", "days": 30},
            "tolerance": {"amount": 0.05, "percent": 0.0}})
    );
    // A section alone replaces that section; the answer round-trips.
    let set = set_terms(
        &app,
        &r,
        CHANNEL,
        &json!({"commission": {"rate": 12.5, "byCategory": [{"category": "Livros", "rate": 8}],
            "fixedPerOrder": 5.00, "fixedPerItem": 0.50}}),
    )
    .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.body["commission"]["rate"].as_f64(), Some(12.5));
    assert_eq!(
        set.body["commission"]["byCategory"][0]["category"],
        "Livros"
    );
    assert_eq!(cents(&set.body["commission"]["fixedPerOrder"]), 500);
    assert_eq!(set.body["payment"]["days"], 30, "kept");
    let back = set_terms(&app, &r, CHANNEL, &set.body).await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(back.body, set.body);
    assert_eq!(
        app.get(&terms_path(&r.seller.id, CHANNEL), &r.token)
            .await
            .body,
        set.body
    );
    // The new commission decides the lines of orders pushed from now on.
    let lines = push(
        &app,
        &r.kon,
        &koncili_order("T-1", |v| v["items"][0]["quantity"] = json!(2)),
    )
    .await;
    // 12.5% of two units of 570.00, plus 5.00 for the order and 0.50 per unit.
    let com = line(&lines, "COMISSION", 1);
    assert_eq!(cents(&com["expectedValue"]), 14850, "{com}");
    // With fixed fees in it, the commission is no one percentage of the items.
    assert_eq!(com["expectedPercentualComission"], Value::Null, "{com}");

    for (body, field) in [
        (json!({"commission": {"rate": 101}}), "commission.rate"),
        (json!({"commission": {"rate": 15.555}}), "commission.rate"),
        (json!({"commission": {"rate": "15"}}), "commission.rate"),
        (
            json!({"commission": {"rate": 15, "fixedPerOrder": 1.001}}),
            "commission.fixedPerOrder",
        ),
        (
            json!({"payment": {"base": "weekly", "days": 30}}),
            "payment.base",
        ),
        (json!({"payment": {"base": "invoice", "days": 400}}), "days"),
        (json!({"tolerance": {"amount": -1}}), "tolerance"),
        (json!({"channel": "Outro"}), "channel"),
        (json!({"comission": {"rate": 15}}), "comission"),
        (
            json!({"commission": {"rate": 15, "byCategory": [{"category": "A", "rate": 1}, {"category": "A", "rate": 2}]}}),
            // The domain names the list its own way; either spelling holds "ategor".
            "ategor",
        ),
    ] {
        invalid(&set_terms(&app, &r, CHANNEL, &body).await, field);
    }
    assert_eq!(
        app.get(&terms_path(&r.seller.id, CHANNEL), &r.token)
            .await
            .body,
        set.body,
        "nothing refused was stored"
    );
    let missing = app
        .get(&terms_path("no-such-seller", CHANNEL), &r.token)
        .await;
    assert_eq!(missing.status, 404, "{:?}", missing.body);
}

async fn statements_as_csv_and_json(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    for code in ["S-1", "S-2"] {
        push(&app, &r.kon, &koncili_order(code, |_| {})).await;
    }
    // JSON, numbers exact, an extra member kept; rows of an unknown type or a
    // fraction of a centavo refused.
    let rows = json!([
        {"orderCode": "S-1", "type": "SALE", "plotNumber": 1, "releasedValue": 570.00,
         "releasedDate": "2018-09-01", "lote": "A7"},
        {"orderCode": "S-1", "type": "COMISSION", "releasedValue": 85.5,
         "releasedPercentualComission": 15, "releasedDate": "2018-09-01T00:00:00Z"},
        {"orderCode": "S-1", "type": "TRANSFER", "releasedValue": 1, "releasedDate": "2018-09-01"},
        {"orderCode": "S-2", "type": "SALE", "releasedValue": 570.001, "releasedDate": "2018-09-01"},
        // Years and fields chrono alone would read (as 0000-01-01 and 2018-09-01).
        {"orderCode": "S-2", "type": "SALE", "releasedValue": 570.00, "releasedDate": "-0001-01-01"},
        {"orderCode": "S-2", "type": "SALE", "releasedValue": 570.00, "releasedDate": "2018-9-1"}
    ]);
    let l = load_as(
        &app,
        &r,
        CHANNEL,
        "application/json",
        serde_json::to_vec(&rows).unwrap(),
    )
    .await;
    assert_eq!(l.status, 201, "{:?}", l.body);
    assert_eq!(l.body["conciliation"]["rows"], 2, "{:?}", l.body);
    assert_eq!(l.body["conciliation"]["refused"], 4);
    let refused: Vec<(u64, String)> = l.body["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["row"].as_u64().unwrap(),
                x["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (3, "type".to_string()),
            (4, "releasedValue".to_string()),
            (5, "releasedDate".to_string()),
            (6, "releasedDate".to_string())
        ]
    );
    let s1 = extract(&app, &r.kon, "S-1").await;
    assert_eq!(line(&s1, "SALE", 1)["situation"], "CONCILIED");
    assert_eq!(line(&s1, "COMISSION", 1)["situation"], "CONCILIED");
    let s2 = extract(&app, &r.kon, "S-2").await;
    assert_eq!(
        line(&s2, "SALE", 1)["situation"],
        "WAITING",
        "its row was refused"
    );

    // CSV under a type that says neither: told by its first character.
    let csv = format!("{HEADER}\nS-2,SALE,1,570.00,,2018-09-02\n");
    let l = load_as(
        &app,
        &r,
        CHANNEL,
        "application/octet-stream",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(l.status, 201, "{:?}", l.body);
    let s2 = extract(&app, &r.kon, "S-2").await;
    assert_eq!(line(&s2, "SALE", 1)["situation"], "CONCILIED");

    // Bodies that are no statement; a missing channel.
    for (kind, body) in [
        ("application/json", b"{\"orderCode\": \"S-1\"}".to_vec()),
        ("application/json", b"[1, 2]".to_vec()),
        ("application/json", b"[{\"orderCode\": ".to_vec()),
    ] {
        let l = load_as(&app, &r, CHANNEL, kind, body.clone()).await;
        assert_eq!(
            l.status,
            422,
            "{}: {:?}",
            String::from_utf8_lossy(&body),
            l.body
        );
    }
    let l = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/sellers/{}/finance/statements", r.seller.id),
            &r.token,
            "text/csv",
            format!("{HEADER}\nS-1,SALE,1,1.00,,2019-01-01\n").into_bytes(),
        )
        .await;
    invalid(&l, "channel");
}

async fn conciliations_and_the_monthly_summary(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    for code in ["M-1", "M-2"] {
        push(&app, &r.kon, &koncili_order(code, |_| {})).await;
    }
    let c1 = loaded(
        &app,
        &r,
        &format!("{HEADER}\nM-1,SALE,1,570.00,,2018-02-01\nM-1,COMISSION,1,85.50,15,2018-02-01\n"),
    )
    .await;
    let c2 = loaded(
        &app,
        &r,
        &format!("{HEADER}\nM-2,SALE,1,560.00,,2018-02-10\nM-2,COMISSION,1,85.50,15,2018-02-10\n"),
    )
    .await;
    let list = conciliations(&app, &r, "").await;
    let ids: Vec<i64> = list.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [c2, c1], "newest first");
    let c = &list[0];
    assert_eq!(c["channel"], CHANNEL);
    assert_eq!(c["rows"], 2);
    assert_eq!((&c["concilied"], &c["divergent"]), (&json!(1), &json!(1)));
    assert_eq!(c["digest"].as_str().unwrap().len(), 64);
    assert_eq!(
        conciliations(&app, &r, "?channel=Magalu").await,
        Vec::<Value>::new()
    );
    assert_eq!(
        conciliations(&app, &r, &format!("?channel={CHANNEL}")).await,
        list
    );

    let summary = app
        .get(
            &format!(
                "/api/v1/sellers/{}/finance/summary?from=2018-01&to=2018-03",
                r.seller.id
            ),
            &r.token,
        )
        .await;
    assert_eq!(summary.status, 200, "{:?}", summary.body);
    let months = summary.body.as_array().unwrap();
    assert_eq!(months.len(), 1, "{months:?}");
    let m: &Value = &months[0];
    assert_eq!(m["channel"], CHANNEL);
    assert_eq!(m["month"], "2018-02");
    assert_eq!(cents(&m["expected"]), 114000);
    assert_eq!(cents(&m["released"]), 113000);
    assert_eq!(cents(&m["commissionExpected"]), 17100);
    assert_eq!(cents(&m["commissionReleased"]), 17100);
    assert_eq!(m["divergentCount"], 1);
    assert_eq!(cents(&m["divergentAmount"]), 1000);
    for query in [
        "from=2018-03&to=2018-12",
        "channel=Magalu&from=2018-01&to=2018-12",
    ] {
        let s = app
            .get(
                &format!("/api/v1/sellers/{}/finance/summary?{query}", r.seller.id),
                &r.token,
            )
            .await;
        assert_eq!(s.body, json!([]), "{query}");
    }
    for (query, field) in [
        ("from=2018-13", "from"),
        ("to=2018", "to"),
        ("from=2018-05&to=2018-01", "from"),
        // Year 0 reached PostgreSQL as a date and failed there (a 500).
        ("from=0000-01&to=2024-01", "from"),
    ] {
        invalid(
            &app.get(
                &format!("/api/v1/sellers/{}/finance/summary?{query}", r.seller.id),
                &r.token,
            )
            .await,
            field,
        );
    }
}

async fn another_operators_seller_is_not_found(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    let (_, other) = app.operator().await;
    let other = bearer(&other);
    let s = &r.seller.id;
    for path in [
        terms_path(s, CHANNEL),
        format!("/api/v1/sellers/{s}/finance/conciliations"),
        format!("/api/v1/sellers/{s}/finance/summary"),
    ] {
        let res = app.get(&path, &other).await;
        assert_eq!(res.status, 404, "{path}: {:?}", res.body);
    }
    let res = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/sellers/{s}/finance/statements?channel={CHANNEL}"),
            &other,
            "text/csv",
            format!("{HEADER}\nX,SALE,1,1.00,,2019-01-01\n").into_bytes(),
        )
        .await;
    assert_eq!(res.status, 404, "{:?}", res.body);
    let res = app
        .put(
            &terms_path(s, CHANNEL),
            &other,
            &json!({"commission": {"rate": 1}}),
        )
        .await;
    assert_eq!(res.status, 404, "{:?}", res.body);
    // A seller's Koncili token is no native token.
    let res = app.get(&terms_path(s, CHANNEL), &r.kon).await;
    assert_eq!(res.status, 401, "{:?}", res.body);
}
