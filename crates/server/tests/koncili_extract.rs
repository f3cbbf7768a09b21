//! Koncili's external API, black-box over HTTP on both backends, written from
//! `004_a27442cefb04892e.txt` (the extract line and its listings) and WIRE-NOTES (the
//! orders integrators push, the client's paging, the batches): every endpoint; every
//! field of the document's line with its date format; the client's whole sequence
//! (push orders, load a statement, page `unresolveds` without and then with `offset`,
//! resolve in batches of 100, nothing left); each situation from a statement built for
//! it; a statement loaded twice changing nothing; an order of the hub's lifecycle
//! invoiced through 00K getting lines; sellers isolated; bad input refused naming the
//! field; the document's bare array as a setting; the root of a listener of its own.
//!
//! Statements are loaded through the native API (the operator's side); channel terms
//! are 15% commission, payment 30 days after the invoice, tolerance R$ 0.05.

mod common;

use std::collections::BTreeSet;

use common::recon::{
    batch, cents, conciliations, enc, extract, koncili_order, koncili_time, line, load, loaded,
    nfe_key, page, page_all, push, recon, recon_of, refused, Headers, CHANNEL, HEADER, LINE_FIELDS,
};
use common::{bearer, order_body, TestApp};
use entreposto::config::{Config, ExtractShape, OwnListener};
use entreposto_domain::Dialect;
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    every_field_of_the_documents_line,
    pushes_below_invoiced_are_refused_with_the_reason,
    every_situation_from_a_statement_built_for_it,
    the_clients_sequence,
    reloading_a_statement_changes_nothing,
    overlapping_periods_are_refused,
    listing_filters,
    a_lifecycle_order_invoiced_through_00k_gets_lines,
    deleting_an_order_keeps_what_was_released,
    sellers_are_isolated,
    bad_input_is_refused_naming_the_field,
    channels_and_release_types,
);

on_both_backends!(with bare_arrays; the_documents_bare_array_as_a_setting);
on_both_backends!(with own_koncili; at_the_root_of_its_own_listener);

fn bare_arrays(c: &mut Config) {
    c.koncili_extract_shape = ExtractShape::Array;
}

fn own_koncili(c: &mut Config) {
    c.dialects.insert(
        "koncili".into(),
        OwnListener {
            listen: "127.0.0.1:0".into(),
            public_url: None,
        },
    );
}

/// The document's order code.
const DOC_CODE: &str = "012345678901";

/// A statement of `rows` (`orderCode,type,plot,value,percent,date`) under [`HEADER`].
fn statement(rows: &[&str]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

async fn every_field_of_the_documents_line(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    let pushed = push(&app, &r.kon, &koncili_order(DOC_CODE, |_| {})).await;
    let lines = extract(&app, &r.kon, DOC_CODE).await;
    assert_eq!(pushed, lines, "the push answers what the extract reads");
    // One SALE and its COMISSION (no freight, no SHIP), by type.
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["extractType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["SALE", "COMISSION"]);
    let fields: BTreeSet<&str> = LINE_FIELDS.into_iter().collect();
    for l in &lines {
        let keys: BTreeSet<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, fields, "{l}");
    }

    let sale = line(&lines, "SALE", 1);
    for (field, value) in [
        ("orderCode", json!(DOC_CODE)),
        ("orderId", json!("01-23456789")),
        ("channel", json!(CHANNEL)),
        ("origin", json!("B2W")),
        ("channelStatus", json!("CONCLUDED")),
        ("internalStatus", json!("CONCLUDED")),
        ("orderDate", json!("2018-01-01T12:00:00.000+0000")),
        ("paidDate", json!("2018-01-02T10:00:00.000+0000")),
        ("invoiceDate", json!("2018-01-02T12:00:00.000+0000")),
        ("sentDate", json!("2018-01-03T12:00:00.000+0000")),
        ("cancelDate", Value::Null),
        ("paymentMethod", json!("BILLET")),
        ("plotsQuantity", json!(1)),
        ("plotNumber", json!(1)),
        // 30 days after the invoice, at midnight UTC: the document's own date.
        ("expectedDate", json!("2018-02-01T00:00:00.000+0000")),
        ("releasedValue", Value::Null),
        ("releasedPercentualComission", Value::Null),
        ("releasedDate", Value::Null),
        ("situation", json!("WAITING")),
        ("concilied", json!(false)),
        ("observation", Value::Null),
        ("conciliationId", Value::Null),
        ("resolvedInERP", json!(false)),
        ("orderIdHubOrigin", Value::Null),
        ("oi", json!(DOC_CODE)),
        ("accountName", json!("marketplace_account")),
        ("invoiceNumber", json!("002569")),
        ("customerName", json!("João da Silva")),
        ("customerDocumentNumber", json!("52998224725")),
        ("conciliationInitDate", Value::Null),
        ("conciliationEndDate", Value::Null),
        ("conciliationCloseDate", Value::Null),
        ("partialConcilied", json!(false)),
    ] {
        assert_eq!(sale[field], value, "SALE {field}: {sale}");
    }
    for field in ["plotValue", "totalValue", "expectedValue", "originalValue"] {
        assert_eq!(cents(&sale[field]), 57000, "SALE {field}: {sale}");
    }
    let com = line(&lines, "COMISSION", 1);
    assert_eq!(cents(&com["expectedValue"]), 8550, "15% of 570: {com}");
    assert_eq!(cents(&com["originalValue"]), 8550);
    assert_eq!(cents(&com["plotValue"]), 57000);
    assert_eq!(com["expectedPercentualComission"].as_f64(), Some(15.0));
    assert_eq!(com["expectedDate"], "2018-02-01T00:00:00.000+0000");

    // One line by id; the order's lines of one type; its installments.
    let id = sale["id"].as_i64().unwrap();
    let one = app
        .get(&format!("/koncili/externalapi/orderextract/{id}"), &r.kon)
        .await;
    assert_eq!(one.status, 200, "{:?}", one.body);
    assert_eq!(&one.body, sale);
    let typed = app
        .get(
            &format!("/koncili/externalapi/orderextract/{DOC_CODE}/{CHANNEL}/COMISSION"),
            &r.kon,
        )
        .await;
    assert_eq!(typed.status, 200, "{:?}", typed.body);
    assert_eq!(typed.body, json!({"elements": [com]}));
    let none = app
        .get(
            &format!("/koncili/externalapi/orderextract/{DOC_CODE}/{CHANNEL}/SHIP"),
            &r.kon,
        )
        .await;
    assert_eq!(
        none.body,
        json!({"elements": []}),
        "no freight, no SHIP line"
    );
    for path in [
        format!("/koncili/order/{DOC_CODE}/{CHANNEL}"),
        format!("/koncili/externalapi/order/{DOC_CODE}/{CHANNEL}"),
    ] {
        let o = app.get(&path, &r.kon).await;
        assert_eq!(o.status, 200, "{path}: {:?}", o.body);
        assert_eq!(o.body["status"], 200);
        assert_eq!(o.body["message"], "OK");
        assert_eq!(o.body["responseObject"]["orderCode"], DOC_CODE);
        assert_eq!(o.body["responseObject"]["channelName"], CHANNEL);
        assert_eq!(o.body["responseObject"]["installments"], json!(lines));
    }

    // Released and conciliated, the line carries its conciliation.
    let c = loaded(
        &app,
        &r,
        &statement(&[
            &format!("{DOC_CODE},SALE,1,570.00,,2018-02-01"),
            &format!("{DOC_CODE},COMISSION,1,85.50,15,2018-02-01T00:00:00Z"),
        ]),
    )
    .await;
    let lines = extract(&app, &r.kon, DOC_CODE).await;
    for l in &lines {
        assert_eq!(l["situation"], "CONCILIED", "{l}");
        assert_eq!(l["concilied"], true);
        assert_eq!(l["observation"], "OK");
        assert_eq!(l["conciliationId"], c);
        assert_eq!(l["releasedDate"], "2018-02-01T00:00:00.000+0000");
        assert_eq!(l["conciliationInitDate"], "2018-02-01T00:00:00.000+0000");
        assert_eq!(l["conciliationEndDate"], "2018-02-01T00:00:00.000+0000");
        assert!(koncili_time(&l["conciliationCloseDate"]), "{l}");
        assert_eq!(l["resolvedInERP"], false);
    }
    let com = line(&lines, "COMISSION", 1);
    assert_eq!(cents(&com["releasedValue"]), 8550);
    assert_eq!(com["releasedPercentualComission"].as_f64(), Some(15.0));
}

async fn pushes_below_invoiced_are_refused_with_the_reason(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    for status in ["NEW", "APPROVED", "PAID_WAITING_SHIP", "PENDING"] {
        let body = koncili_order("EARLY-1", |v| v["orderStatus"] = json!(status));
        let res = app.post("/koncili/externalapi/order", &r.kon, &body).await;
        refused(&res, 422, &["orderStatus", "INVOICED"]);
    }
    let res = app
        .post(
            "/koncili/externalapi/order",
            &r.kon,
            &koncili_order("EARLY-1", |v| v["orderStatus"] = json!("SHIPPED_MAYBE")),
        )
        .await;
    refused(&res, 422, &["orderStatus"]);
    // Nothing was stored.
    let r404 = app
        .get(
            &format!("/koncili/externalapi/orderextract/EARLY-1/{CHANNEL}"),
            &r.kon,
        )
        .await;
    refused(&r404, 404, &["EARLY-1"]);

    // Each status from INVOICED on is taken; PUT is the same upsert.
    for status in ["INVOICED", "PAID_WAITING_DELIVERY", "CONCLUDED"] {
        let body = koncili_order("LATE-1", |v| v["orderStatus"] = json!(status));
        let res = app.put("/koncili/externalapi/order", &r.kon, &body).await;
        assert_eq!(res.status, 200, "{status}: {:?}", res.body);
        let sale = line(
            res.body["responseObject"]["installments"]
                .as_array()
                .unwrap(),
            "SALE",
            1,
        )
        .clone();
        assert_eq!(sale["channelStatus"], status);
    }
    // Credentials: none, and an operator's token (which names no seller).
    let none = app
        .post(
            "/koncili/externalapi/order",
            &Headers::new(),
            &koncili_order("X", |_| {}),
        )
        .await;
    refused(&none, 401, &["gumgaToken"]);
    let operator = app
        .credential(&r.op, None, Dialect::named("koncili"))
        .await
        .headers;
    let res = app
        .post(
            "/koncili/externalapi/order",
            &operator,
            &koncili_order("X", |_| {}),
        )
        .await;
    refused(&res, 403, &["seller"]);
    let res = app
        .get("/koncili/externalapi/orderextract/unresolveds", &operator)
        .await;
    refused(&res, 403, &["seller"]);
}

async fn every_situation_from_a_statement_built_for_it(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    for code in [
        "EQ", "TOL", "OVER", "PCT", "SPLIT", "PART", "REV", "CANC", "CANC-REV",
    ] {
        push(&app, &r.kon, &koncili_order(code, |_| {})).await;
    }
    // Cancelled after being invoiced: what was expected goes to zero, the first
    // expected value stays.
    for code in ["CANC", "CANC-REV"] {
        let lines = push(
            &app,
            &r.kon,
            &koncili_order(code, |v| v["orderStatus"] = json!("CANCELED")),
        )
        .await;
        let sale = line(&lines, "SALE", 1);
        assert_eq!(cents(&sale["expectedValue"]), 0, "{sale}");
        assert_eq!(cents(&sale["originalValue"]), 57000, "{sale}");
        assert_eq!(sale["channelStatus"], "CANCELED");
        assert!(koncili_time(&sale["cancelDate"]), "{sale}");
        assert_eq!(sale["situation"], "WAITING");
    }
    let rows = [
        "EQ,SALE,1,570.00,,2018-02-01",
        "EQ,COMISSION,1,85.50,15,2018-02-01",
        "TOL,SALE,1,569.97,,2018-02-01",
        "TOL,COMISSION,1,85.52,15,2018-02-01",
        "OVER,SALE,1,575.00,,2018-02-01",
        "PCT,COMISSION,1,85.50,16,2018-02-01",
        "SPLIT,SALE,1,300.00,,2018-02-01",
        "SPLIT,SALE,1,270.00,,2018-02-02",
        "PART,SALE,1,300.00,,2018-02-02",
        "REV,SALE,1,570.00,,2018-02-02",
        "REV,SALE,1,-570.00,,2018-02-03",
        "NAO-EXISTE,SALE,1,100.00,,2018-02-03",
        "CANC,SALE,1,570.00,,2018-02-03",
        "CANC-REV,SALE,1,570.00,,2018-02-03",
        "CANC-REV,SALE,1,-570.00,,2018-02-03",
        "EQ,TRANSFER,1,10.00,,2018-02-03",
    ];
    let l = load(&app, &r, &statement(&rows)).await;
    assert_eq!(l.status, 201, "{:?}", l.body);
    let c = &l.body["conciliation"];
    assert_eq!(c["rows"], 15, "{c}");
    assert_eq!(c["refused"], 1, "{c}");
    assert_eq!(c["initDate"], "2018-02-01T00:00:00.000Z");
    assert_eq!(c["endDate"], "2018-02-03T00:00:00.000Z");
    assert!(c["closeDate"].is_string(), "{c}");
    let bad = &l.body["refused"][0];
    assert_eq!(bad["row"], 16, "the data row's position: {bad}");
    assert_eq!(bad["field"], "type", "{bad}");
    assert!(
        bad["reason"].as_str().unwrap().contains("TRANSFER"),
        "{bad}"
    );
    let id = c["id"].as_i64().unwrap();

    let sale = |lines: &[Value]| line(lines, "SALE", 1).clone();
    let com = |lines: &[Value]| line(lines, "COMISSION", 1).clone();
    #[track_caller]
    fn verdict(l: &Value, situation: &str, partial: bool) {
        assert_eq!(l["situation"], situation, "{l}");
        assert_eq!(l["concilied"], situation == "CONCILIED", "{l}");
        assert_eq!(l["partialConcilied"], partial, "{l}");
        if situation == "WAITING" {
            assert_eq!(l["observation"], Value::Null, "{l}");
            return;
        }
        // Why, in words; "OK" only when exactly equal.
        let o = l["observation"].as_str().unwrap_or_else(|| panic!("{l}"));
        assert!(!o.is_empty(), "{l}");
        if situation != "CONCILIED" {
            assert_ne!(o, "OK", "{l}");
        }
    }

    // Equal.
    let eq = extract(&app, &r.kon, "EQ").await;
    verdict(&sale(&eq), "CONCILIED", false);
    verdict(&com(&eq), "CONCILIED", false);
    assert_eq!(sale(&eq)["observation"], "OK");
    assert_eq!(sale(&eq)["conciliationId"], id);
    // Within the tolerance (3 and 2 centavos off).
    let tol = extract(&app, &r.kon, "TOL").await;
    verdict(&sale(&tol), "CONCILIED", false);
    assert_eq!(cents(&sale(&tol)["releasedValue"]), 56997);
    let o = sale(&tol)["observation"].as_str().unwrap().to_string();
    assert!(o.contains("tolerance") && o.contains("0,03"), "{o}");
    verdict(&com(&tol), "CONCILIED", false);
    // Over the tolerance: more than expected.
    let over = extract(&app, &r.kon, "OVER").await;
    verdict(&sale(&over), "DIVERGENT", false);
    assert_eq!(cents(&sale(&over)["releasedValue"]), 57500);
    verdict(&com(&over), "WAITING", false);
    // The commission's percentage off, its value right.
    let pct = extract(&app, &r.kon, "PCT").await;
    verdict(&com(&pct), "DIVERGENT", false);
    assert_eq!(
        com(&pct)["releasedPercentualComission"].as_f64(),
        Some(16.0)
    );
    assert_eq!(cents(&com(&pct)["releasedValue"]), 8550);
    // Released in parts that add up.
    let split = extract(&app, &r.kon, "SPLIT").await;
    verdict(&sale(&split), "CONCILIED", false);
    assert_eq!(cents(&sale(&split)["releasedValue"]), 57000);
    assert_eq!(
        sale(&split)["releasedDate"],
        "2018-02-02T00:00:00.000+0000",
        "the latest release"
    );
    // A part short of the whole.
    let part = extract(&app, &r.kon, "PART").await;
    verdict(&sale(&part), "DIVERGENT", true);
    assert_eq!(cents(&sale(&part)["releasedValue"]), 30000);
    // Released, then reversed: nothing received of what was expected.
    let rev = extract(&app, &r.kon, "REV").await;
    let s = sale(&rev);
    assert_eq!(s["situation"], "DIVERGENT", "{s}");
    assert_eq!(cents(&s["releasedValue"]), 0, "{s}");
    // A cancelled order that was paid anyway; and one whose payment was reversed.
    let canc = extract(&app, &r.kon, "CANC").await;
    let s = sale(&canc);
    verdict(&s, "DIVERGENT", false);
    assert_eq!(cents(&s["expectedValue"]), 0);
    assert_eq!(cents(&s["originalValue"]), 57000);
    assert_eq!(cents(&s["releasedValue"]), 57000);
    let canc_rev = extract(&app, &r.kon, "CANC-REV").await;
    verdict(&sale(&canc_rev), "CONCILIED", false);
    // An order the hub never heard of: kept and listed, nothing expected.
    let listed = page_all(&app, &r.kon, "concilieds", "").await;
    let unknown: Vec<&Value> = listed
        .iter()
        .filter(|l| l["orderCode"] == "NAO-EXISTE")
        .collect();
    assert_eq!(unknown.len(), 1, "{listed:?}");
    let u = unknown[0];
    verdict(u, "DIVERGENT", false);
    assert_eq!(u["expectedValue"], Value::Null, "{u}");
    assert_eq!(cents(&u["releasedValue"]), 10000);
    assert_eq!(u["conciliationId"], id);
    assert_eq!(u["channel"], CHANNEL);
    // Every released line is listed once; WAITING ones are not.
    assert!(listed.iter().all(|l| l["situation"] != "WAITING"));
    assert_eq!(listed.len(), 12, "{listed:?}");
    // The conciliation's counts are the lines'.
    assert_eq!(c["concilied"], 6, "{c}");
    assert_eq!(c["divergent"], 6, "{c}");
    let partial = listed
        .iter()
        .filter(|l| l["partialConcilied"] == true)
        .count();
    assert!(partial >= 1);
    assert_eq!(c["partial"], partial, "{c}");
}

async fn the_clients_sequence(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    const ORDERS: usize = 130;
    let mut rows = Vec::new();
    for i in 0..ORDERS {
        let code = format!("SEQ-{i:03}");
        push(&app, &r.kon, &koncili_order(&code, |_| {})).await;
        let day = 1 + i % 2;
        rows.push(format!("{code},SALE,1,570.00,,2018-02-0{day}"));
        rows.push(format!("{code},COMISSION,1,85.50,15,2018-02-0{day}"));
    }
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    loaded(&app, &r, &statement(&rows)).await;

    let query = "initDate=2018-02-01&endDate=2018-02-02";
    let all = page_all(&app, &r.kon, "unresolveds", query).await;
    assert_eq!(all.len(), 2 * ORDERS);
    let ids: Vec<i64> = all.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "every line exactly once");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order");
    assert!(all.iter().all(|l| l["situation"] == "CONCILIED"));
    // The first page, as the client asks for it, says how many there are.
    let first = page(&app, &r.kon, "unresolveds", &format!("?{query}")).await;
    assert_eq!(
        first["page"],
        json!({"limit": 100, "offset": 0, "count": 2 * ORDERS})
    );

    for chunk in ids.chunks(100) {
        let b = batch(&app, &r.kon, "resolve", chunk).await;
        assert_eq!(b.status, 200, "{:?}", b.body);
        assert_eq!(b.body["applied"], json!(chunk));
        assert_eq!(b.body["unknown"], json!([]));
    }
    let left = page(&app, &r.kon, "unresolveds", &format!("?{query}")).await;
    assert_eq!(left["page"]["count"], 0, "{left}");
    assert_eq!(left["content"], json!([]));
    // Still conciliated, now resolved in the ERP.
    let done = page_all(&app, &r.kon, "concilieds", query).await;
    assert_eq!(done.len(), 2 * ORDERS);
    assert!(done.iter().all(|l| l["resolvedInERP"] == true));
    // Resolving again changes nothing and is no error.
    let again = batch(&app, &r.kon, "resolve", &ids[..3]).await;
    assert_eq!(again.body["applied"], json!(&ids[..3]));
}

async fn reloading_a_statement_changes_nothing(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    for code in ["R-1", "R-2"] {
        push(&app, &r.kon, &koncili_order(code, |_| {})).await;
    }
    let csv = statement(&[
        "R-1,SALE,1,570.00,,2018-03-01",
        "R-1,COMISSION,1,85.50,15,2018-03-01",
        "R-2,SALE,1,300.00,,2018-03-02",
        "R-3,SALE,1,10.00,,2018-03-02",
    ]);
    let id = loaded(&app, &r, &csv).await;
    let before = page_all(&app, &r.kon, "concilieds", "").await;
    assert_eq!(before.len(), 4);
    let again = load(&app, &r, &csv).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["unchanged"], true);
    assert_eq!(again.body["conciliation"]["id"], id);
    let after = page_all(&app, &r.kon, "concilieds", "").await;
    assert_eq!(before, after, "nothing moved");
    let r2 = extract(&app, &r.kon, "R-2").await;
    assert_eq!(cents(&line(&r2, "SALE", 1)["releasedValue"]), 30000);
    let list = conciliations(&app, &r, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], id);
}

async fn overlapping_periods_are_refused(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    push(&app, &r.kon, &koncili_order("P-1", |_| {})).await;
    let first = loaded(
        &app,
        &r,
        &statement(&[
            "P-1,SALE,1,100.00,,2018-04-01",
            "P-1,SALE,1,100.00,,2018-04-05",
        ]),
    )
    .await;
    let clash = load(
        &app,
        &r,
        &statement(&[
            "P-1,SALE,1,370.00,,2018-04-04",
            "P-1,SALE,1,1.00,,2018-04-09",
        ]),
    )
    .await;
    assert_eq!(clash.status, 409, "{:?}", clash.body);
    let m = clash.body["error"]["message"].as_str().unwrap();
    assert!(
        m.contains(&first.to_string()),
        "names the conciliation: {m}"
    );
    // Nothing of it was applied.
    let p = extract(&app, &r.kon, "P-1").await;
    assert_eq!(cents(&line(&p, "SALE", 1)["releasedValue"]), 20000);
    // A period after it is fine.
    loaded(&app, &r, &statement(&["P-1,SALE,1,370.00,,2018-04-06"])).await;
    let p = extract(&app, &r.kon, "P-1").await;
    assert_eq!(line(&p, "SALE", 1)["situation"], "CONCILIED");
}

async fn listing_filters(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    for code in ["F-1", "F-2", "F-3"] {
        push(&app, &r.kon, &koncili_order(code, |_| {})).await;
    }
    let c1 = loaded(
        &app,
        &r,
        &statement(&[
            "F-1,SALE,1,570.00,,2018-05-01",
            "F-2,SALE,1,570.00,,2018-05-01",
        ]),
    )
    .await;
    let c2 = loaded(
        &app,
        &r,
        &statement(&[
            "F-3,SALE,1,570.00,,2018-05-03T23:59:59Z",
            "F-3,COMISSION,1,85.50,15,2018-05-03",
        ]),
    )
    .await;
    let count = |b: &Value| b["page"]["count"].as_u64().unwrap();
    let q = |s: &str| format!("?{s}");
    assert_eq!(count(&page(&app, &r.kon, "concilieds", "").await), 4);
    for (query, n) in [
        ("initDate=2018-05-01&endDate=2018-05-01", 2),
        ("initDate=2018-05-02&endDate=2018-05-02", 0),
        // Whole UTC days, both inclusive; a longer value is cut to its date.
        ("initDate=2018-05-03&endDate=2018-05-03", 2),
        ("initDate=2018-05-03T10:00:00-03:00", 2),
        ("endDate=2018-05-02", 2),
        (format!("conciliationId={c2}").as_str(), 2),
        (
            format!("conciliationId={c1}&channelName={CHANNEL}").as_str(),
            2,
        ),
        ("channelName=Magalu", 0),
        ("conciliationId=999999", 0),
    ] {
        let b = page(&app, &r.kon, "concilieds", &q(query)).await;
        assert_eq!(count(&b), n, "{query}: {b}");
        assert_eq!(b["content"].as_array().unwrap().len() as u64, n);
    }
    // Pages: limit 1 walks them one by one; a limit over 100 reads as 100.
    let b = page(&app, &r.kon, "unresolveds", "?limit=1&offset=2").await;
    assert_eq!(b["page"], json!({"limit": 1, "offset": 2, "count": 4}));
    assert_eq!(b["content"].as_array().unwrap().len(), 1);
    let b = page(&app, &r.kon, "unresolveds", "?limit=500").await;
    assert_eq!(b["page"]["limit"], 100);
    let past = page(&app, &r.kon, "unresolveds", "?offset=40").await;
    assert_eq!(past["content"], json!([]));
    assert_eq!(past["page"]["count"], 4);

    // Read marks: `onlyUnread` leaves them out, in both listings.
    let all = page_all(&app, &r.kon, "unresolveds", "").await;
    let ids: Vec<i64> = all.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    let read = batch(&app, &r.kon, "read", &ids[..3]).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read.body["applied"], json!(&ids[..3]));
    let unread = page(&app, &r.kon, "unresolveds", "?onlyUnread=true").await;
    assert_eq!(count(&unread), 1, "{unread}");
    assert_eq!(unread["content"][0]["id"], ids[3]);
    assert_eq!(
        count(&page(&app, &r.kon, "concilieds", "?onlyUnread=true").await),
        1
    );
    assert_eq!(
        count(&page(&app, &r.kon, "unresolveds", "?onlyUnread=false").await),
        4
    );
    // Reading is not resolving: all four are still unresolved.
    let resolved = batch(&app, &r.kon, "resolve", &ids[..1]).await;
    assert_eq!(resolved.status, 200);
    assert_eq!(count(&page(&app, &r.kon, "unresolveds", "").await), 3);
    assert_eq!(count(&page(&app, &r.kon, "concilieds", "").await), 4);
}

async fn a_lifecycle_order_invoiced_through_00k_gets_lines(app: TestApp) {
    let (op, token) = app.operator().await;
    let native = bearer(&token);
    let r = recon_of(&app, op.clone(), native.clone(), "Loja A").await;
    let zerok = app
        .credential(&op, Some(&r.seller), Dialect::named("zerok"))
        .await
        .headers;
    let created = app
        .post(
            "/api/v1/orders",
            &native,
            &order_body(&r.seller.id, "02-1000000004"),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let channel = enc("Lojas Americanas");
    let path = format!("/koncili/externalapi/orderextract/02-1000000004/{channel}");
    let paid = app
        .post(&format!("/api/v1/orders/{id}/payment"), &native, &json!({}))
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    refused(&app.get(&path, &r.kon).await, 404, &["02-1000000004"]);

    // The seller separates, invoices and bills it through 00K.
    let status = |sub: &str| json!({"status": "pickandpack", "substatus": sub});
    let s = app
        .put(
            &format!("/00k/orders/{id}/status"),
            &zerok,
            &status("separated"),
        )
        .await;
    assert_eq!(s.status, 200, "{:?}", s.body);
    let invoice = json!({
        "serie": 1, "accessKey": nfe_key("11444777000161", 77), "number": 77,
        "date": "2023-06-08T10:00:00.000Z", "value": 514.99,
        "products": [{"type": "simple", "sku": "99jjs8", "cfop": 5102}]
    });
    let i = app
        .put(&format!("/00k/orders/{id}/invoice"), &zerok, &invoice)
        .await;
    assert_eq!(i.status, 204, "{:?}", i.body);
    let s = app
        .put(
            &format!("/00k/orders/{id}/status"),
            &zerok,
            &status("billed"),
        )
        .await;
    assert_eq!(s.status, 200, "{:?}", s.body);

    let got = app.get(&path, &r.kon).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    let lines = got.body["elements"].as_array().unwrap().clone();
    let sales: Vec<&Value> = lines
        .iter()
        .filter(|l| l["extractType"] == "SALE")
        .collect();
    // Three installments (the order's payment) adding up, with the freight's own SHIP
    // line, to what the customer paid.
    assert_eq!(sales.len(), 3, "{lines:?}");
    let total: i64 = sales.iter().map(|l| cents(&l["expectedValue"])).sum();
    let ship: i64 = lines
        .iter()
        .filter(|l| l["extractType"] == "SHIP")
        .map(|l| cents(&l["expectedValue"]))
        .sum();
    assert_eq!((total, ship), (49999, 1500), "{lines:?}");
    for l in &lines {
        assert_eq!(
            l["orderIdHubOrigin"].as_i64(),
            Some(id.parse().unwrap()),
            "{l}"
        );
        assert_eq!(l["orderCode"], "02-1000000004");
        assert_eq!(l["orderId"], "02-1000000004");
        assert_eq!(l["channel"], "Lojas Americanas");
        assert_eq!(l["invoiceNumber"], "77", "{l}");
        assert_eq!(l["invoiceDate"], "2023-06-08T10:00:00.000+0000", "{l}");
        assert_eq!(l["situation"], "WAITING");
        assert_eq!(l["customerName"], "João da Silva");
        assert!(koncili_time(&l["orderDate"]), "{l}");
    }
    let channels = app.get("/koncili/externalapi/channel/list", &r.kon).await;
    assert!(
        channels
            .body
            .as_array()
            .unwrap()
            .contains(&json!("Lojas Americanas")),
        "{:?}",
        channels.body
    );

    // The marketplace cancels it: nothing is expected any more, the first values stay.
    let before: Vec<i64> = sales.iter().map(|l| cents(&l["expectedValue"])).collect();
    let c = app
        .post(&format!("/api/v1/orders/{id}/cancel"), &native, &json!({}))
        .await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    let after = app.get(&path, &r.kon).await.body["elements"]
        .as_array()
        .unwrap()
        .clone();
    let sales: Vec<&Value> = after
        .iter()
        .filter(|l| l["extractType"] == "SALE")
        .collect();
    assert_eq!(sales.len(), 3);
    for (l, first) in sales.iter().zip(before) {
        assert_eq!(cents(&l["expectedValue"]), 0, "{l}");
        assert_eq!(cents(&l["originalValue"]), first, "{l}");
        assert_eq!(l["channelStatus"], "CANCELED", "{l}");
    }
}

async fn deleting_an_order_keeps_what_was_released(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    let lines = push(&app, &r.kon, &koncili_order("DEL-1", |_| {})).await;
    let com_id = line(&lines, "COMISSION", 1)["id"].as_i64().unwrap();
    push(&app, &r.kon, &koncili_order("DEL-2", |_| {})).await;
    loaded(&app, &r, &statement(&["DEL-1,SALE,1,570.00,,2018-06-01"])).await;

    let path = format!("/koncili/externalapi/order/DEL-1/{CHANNEL}");
    let d = app.call(Method::DELETE, &path, &r.kon, None).await;
    assert_eq!(d.status, 200, "{:?}", d.body);
    let kept = d.body["responseObject"]["installments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(kept.len(), 1, "only the released line stays: {kept:?}");
    let sale = &kept[0];
    assert_eq!(sale["extractType"], "SALE");
    assert_eq!(sale["expectedValue"], Value::Null, "{sale}");
    assert_eq!(cents(&sale["releasedValue"]), 57000);
    assert_eq!(sale["situation"], "DIVERGENT", "{sale}");
    refused(
        &app.get(
            &format!("/koncili/externalapi/orderextract/{com_id}"),
            &r.kon,
        )
        .await,
        404,
        &[&com_id.to_string()],
    );
    let again = app.call(Method::DELETE, &path, &r.kon, None).await;
    refused(&again, 404, &["DEL-1"]);
    // An order nothing was released on goes whole.
    let d = app
        .call(
            Method::DELETE,
            &format!("/koncili/externalapi/order/DEL-2/{CHANNEL}"),
            &r.kon,
            None,
        )
        .await;
    assert_eq!(d.status, 200, "{:?}", d.body);
    assert_eq!(d.body["responseObject"]["installments"], json!([]));
    refused(
        &app.get(&format!("/koncili/order/DEL-2/{CHANNEL}"), &r.kon)
            .await,
        404,
        &["DEL-2"],
    );
}

async fn sellers_are_isolated(app: TestApp) {
    let a = recon(&app, "Loja A").await;
    let b = recon_of(&app, a.op.clone(), a.token.clone(), "Loja B").await;
    let lines = push(&app, &a.kon, &koncili_order("ISO-1", |_| {})).await;
    push(
        &app,
        &a.kon,
        &koncili_order("ISO-2", |v| v["channelName"] = json!("Magalu")),
    )
    .await;
    loaded(&app, &a, &statement(&["ISO-1,SALE,1,570.00,,2018-07-01"])).await;
    let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();

    for id in &ids {
        let r = app
            .get(&format!("/koncili/externalapi/orderextract/{id}"), &b.kon)
            .await;
        refused(&r, 404, &[&id.to_string()]);
    }
    refused(
        &app.get(
            &format!("/koncili/externalapi/orderextract/ISO-1/{CHANNEL}"),
            &b.kon,
        )
        .await,
        404,
        &["ISO-1"],
    );
    refused(
        &app.get(&format!("/koncili/order/ISO-1/{CHANNEL}"), &b.kon)
            .await,
        404,
        &["ISO-1"],
    );
    for listing in ["concilieds", "unresolveds"] {
        let p = page(&app, &b.kon, listing, "").await;
        assert_eq!(p["page"]["count"], 0, "{listing}: {p}");
    }
    // B's batches report A's ids as unknown and mark nothing.
    for which in ["resolve", "read"] {
        let r = batch(&app, &b.kon, which, &[ids[0], ids[1], 987654321]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["applied"], json!([]));
        assert_eq!(r.body["unknown"], json!([ids[0], ids[1], 987654321]));
    }
    let still = page(&app, &a.kon, "unresolveds", "?onlyUnread=true").await;
    assert_eq!(still["page"]["count"], 1, "{still}");
    // B's channels are its own; the same order code in B is another order.
    let channels = app.get("/koncili/externalapi/channel/list", &b.kon).await;
    assert!(!channels.body.as_array().unwrap().contains(&json!("Magalu")));
    push(
        &app,
        &b.kon,
        &koncili_order("ISO-1", |v| v["totalNetValue"] = json!(100.00)),
    )
    .await;
    let a_lines = extract(&app, &a.kon, "ISO-1").await;
    assert_eq!(cents(&line(&a_lines, "SALE", 1)["expectedValue"]), 57000);
    assert_eq!(line(&a_lines, "SALE", 1)["situation"], "CONCILIED");
    // Another operator's native token does not reach A's finance.
    let (_, other) = app.operator().await;
    let r = app
        .get(
            &format!("/api/v1/sellers/{}/finance/conciliations", a.seller.id),
            &bearer(&other),
        )
        .await;
    assert_eq!(r.status, 404, "{:?}", r.body);
}

async fn bad_input_is_refused_naming_the_field(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    push(&app, &r.kon, &koncili_order("BAD-1", |_| {})).await;
    // Orders: each edit of the document's body, and the field it must name.
    type Case = (fn(&mut Value), &'static str);
    let cases: [Case; 7] = [
        (
            |v| v["items"][0]["unitValue"] = json!(1.005),
            "items[0].unitValue",
        ),
        (|v| v["items"][0]["quantity"] = json!(0), "quantity"),
        (|v| v["totalNetValue"] = json!("570"), "totalNetValue"),
        (|v| v["invoiceDate"] = json!("ontem"), "invoiceDate"),
        (
            |v| v["payments"][0]["installmentQuantity"] = json!(30),
            "payments[0].installmentQuantity",
        ),
        (
            |v| {
                v.as_object_mut().unwrap().remove("orderCode");
            },
            "orderCode",
        ),
        (|v| v["channelName"] = json!(" "), "channelName"),
    ];
    for (edit, field) in cases {
        let mut body = koncili_order("BAD-2", |_| {});
        edit(&mut body);
        let res = app.post("/koncili/externalapi/order", &r.kon, &body).await;
        assert!(
            (400..500).contains(&res.status),
            "{field}: {} {:?}",
            res.status,
            res.body
        );
        refused(&res, res.status, &[field]);
    }
    refused(
        &app.get(
            &format!("/koncili/externalapi/orderextract/BAD-2/{CHANNEL}"),
            &r.kon,
        )
        .await,
        404,
        &["BAD-2"],
    );
    let raw = app
        .call(
            Method::POST,
            "/koncili/externalapi/order",
            &r.kon,
            Some(b"{\"orderCode\": ".to_vec()),
        )
        .await;
    refused(&raw, 422, &["body"]);
    let arr = app
        .post("/koncili/externalapi/order", &r.kon, &json!([1]))
        .await;
    refused(&arr, 422, &["body"]);

    // Listings.
    for (query, field) in [
        ("initDate=2018-13-01", "initDate"),
        ("endDate=01/02/2018", "endDate"),
        ("initDate=2018-02-02&endDate=2018-02-01", "initDate"),
        ("limit=0", "limit"),
        ("limit=dez", "limit"),
        ("offset=-1", "offset"),
        ("conciliationId=x", "conciliationId"),
        ("onlyUnread=talvez", "onlyUnread"),
    ] {
        for listing in ["concilieds", "unresolveds"] {
            let res = app
                .get(
                    &format!("/koncili/externalapi/orderextract/{listing}?{query}"),
                    &r.kon,
                )
                .await;
            refused(&res, 422, &[field]);
        }
    }
    // Batches.
    let many: Vec<i64> = (1..=101).collect();
    refused(&batch(&app, &r.kon, "resolve", &many).await, 422, &["100"]);
    refused(&batch(&app, &r.kon, "read", &many).await, 422, &["100"]);
    for body in [json!({"ids": [1]}), json!(["a"]), json!([1.5])] {
        let res = app
            .put(
                "/koncili/externalapi/orderextract/resolve/batch",
                &r.kon,
                &body,
            )
            .await;
        assert_eq!(res.status, 422, "{body}: {:?}", res.body);
    }
    refused(
        &app.put(
            "/koncili/externalapi/orderextract/read/batch",
            &r.kon,
            &json!(["a"]),
        )
        .await,
        422,
        &["[0]"],
    );
    refused(
        &batch(&app, &r.kon, "resolve", &[]).await,
        422,
        &["at least one"],
    );
    // Lines and types.
    refused(
        &app.get(
            &format!("/koncili/externalapi/orderextract/BAD-1/{CHANNEL}/TRANSFER"),
            &r.kon,
        )
        .await,
        422,
        &["type"],
    );
    refused(
        &app.get("/koncili/externalapi/orderextract/abc", &r.kon)
            .await,
        404,
        &["abc"],
    );
    refused(
        &app.get("/koncili/externalapi/orderextract/99999999", &r.kon)
            .await,
        404,
        &["99999999"],
    );
    // A method a path does not serve, and a path that is none.
    let res = app
        .call(
            Method::GET,
            "/koncili/externalapi/orderextract/resolve/batch",
            &r.kon,
            None,
        )
        .await;
    assert_eq!(res.status, 405, "{:?}", res.body);
    assert!(res.body["response"].is_string());
    refused(
        &app.get("/koncili/externalapi/nothing/here/at/all", &r.kon)
            .await,
        404,
        &[],
    );
}

async fn channels_and_release_types(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    push(&app, &r.kon, &koncili_order("CH-1", |_| {})).await;
    push(
        &app,
        &r.kon,
        &koncili_order("CH-2", |v| v["channelName"] = json!("Magalu")),
    )
    .await;
    let c = app.get("/koncili/externalapi/channel/list", &r.kon).await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    assert_eq!(c.body, json!([CHANNEL, "Magalu"]));
    let t = app
        .get(
            &format!("/koncili/externalapi/releasetype/{CHANNEL}"),
            &r.kon,
        )
        .await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    let codes: Vec<&str> = t.body["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(!e["description"].as_str().unwrap().is_empty(), "{e}");
            e["code"].as_str().unwrap()
        })
        .collect();
    assert_eq!(codes, ["SALE", "COMISSION", "SHIP"]);
    // The preset of a channel with no terms of the seller's decides its lines.
    let magalu = app
        .get("/koncili/externalapi/orderextract/CH-2/Magalu", &r.kon)
        .await;
    assert_eq!(magalu.status, 200, "{:?}", magalu.body);
    assert!(
        line(magalu.body["elements"].as_array().unwrap(), "COMISSION", 1)["expectedValue"]
            .is_number()
    );
}

async fn the_documents_bare_array_as_a_setting(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    let pushed = push(&app, &r.kon, &koncili_order(DOC_CODE, |_| {})).await;
    let res = app
        .get(
            &format!("/koncili/externalapi/orderextract/{DOC_CODE}/{CHANNEL}"),
            &r.kon,
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body, json!(pushed), "the document's bare array");
    let typed = app
        .get(
            &format!("/koncili/externalapi/orderextract/{DOC_CODE}/{CHANNEL}/SALE"),
            &r.kon,
        )
        .await;
    assert_eq!(typed.body, json!([line(&pushed, "SALE", 1)]));
}

async fn at_the_root_of_its_own_listener(app: TestApp) {
    let r = recon(&app, "Loja A").await;
    let base = app.own["koncili"].clone();
    let res = app
        .call_url(
            Method::POST,
            &format!("{base}/externalapi/order"),
            &r.kon,
            Some(serde_json::to_vec(&koncili_order("OWN-1", |_| {})).unwrap()),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    loaded(&app, &r, &statement(&["OWN-1,SALE,1,570.00,,2018-08-01"])).await;
    for path in [
        format!("/externalapi/orderextract/OWN-1/{CHANNEL}"),
        format!("/order/OWN-1/{CHANNEL}"),
        "/externalapi/orderextract/unresolveds?initDate=2018-08-01&endDate=2018-08-01".into(),
        "/externalapi/channel/list".into(),
    ] {
        let res = app
            .call_url(Method::GET, &format!("{base}{path}"), &r.kon, None)
            .await;
        assert_eq!(res.status, 200, "{path}: {:?}", res.body);
    }
    let p = app
        .call_url(
            Method::GET,
            &format!("{base}/externalapi/orderextract/unresolveds?initDate=2018-08-01&endDate=2018-08-01"),
            &r.kon,
            None,
        )
        .await;
    assert_eq!(p.body["page"]["count"], 1, "{:?}", p.body);
    assert_eq!(p.body["content"][0]["orderCode"], "OWN-1");
    let doc = app
        .call_url(
            Method::GET,
            &format!("{base}/externalapi/openapi.json"),
            &Headers::new(),
            None,
        )
        .await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/externalapi/orderextract/unresolveds"].is_object());
    let none = app
        .call_url(
            Method::GET,
            &format!("{base}/koncili/externalapi/channel/list"),
            &r.kon,
            None,
        )
        .await;
    refused(&none, 404, &[]);
}
