//! 00K's catalog API, black-box over HTTP on both backends, written from
//! `003_c7f08c88db349587.txt` (Padrões, Produtos, Categorias, Marcas, Processos) and
//! WIRE-NOTES: the document's own import example read back in the listing's shape,
//! every listing filter, order and page link, imports refused item by item, the
//! process and its status, updates, deletes, stock and prices one at a time and in
//! batches, categories and brands, one store never seeing another's catalog, the
//! credentials' errors, and the import's larger body limit.
//!
//! Imports run as jobs: the tests drive them with the use cases' own worker step
//! (`work_one_import`), and only when a worker of the server holds the job wait for it.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::TestApp;
use entreposto::config::{Config, OwnListener};
use entreposto_domain::{Dialect, Operator, Seller};
use reqwest::Method;
use serde_json::{json, Value};

on_both_backends!(
    the_documents_example_reads_back_in_the_listings_shape,
    every_listing_filter_order_and_page,
    imports_are_refused_item_by_item,
    verified_references_fail_their_products,
    partial_updates,
    deletes,
    stock_and_prices,
    categories_and_brands,
    one_store_never_sees_another,
    credentials_and_envelopes,
    imports_take_large_bodies,
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

/// An operator with two stores (sellers), each with its 00K key, and the operator's
/// own 00K key (which names no store).
struct Shops {
    op: Operator,
    a: Seller,
    key_a: Headers,
    key_b: Headers,
    operator_key: Headers,
}

async fn shops(app: &TestApp) -> Shops {
    let (op, _) = app.operator().await;
    let a = app.seller(&op, "Loja A").await;
    let b = app.seller(&op, "Loja B").await;
    let zerok = Dialect::named("zerok");
    let key_a = app.credential(&op, Some(&a), zerok).await.headers;
    let key_b = app.credential(&op, Some(&b), zerok).await.headers;
    let operator_key = app.credential(&op, None, zerok).await.headers;
    Shops {
        op,
        a,
        key_a,
        key_b,
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

async fn delete(app: &TestApp, path: &str, key: &Headers) -> common::Reply {
    app.call(Method::DELETE, path, key, None).await
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

/// A 2.1 whose description names `field`.
#[track_caller]
fn invalid(r: &common::Reply, field: &str) {
    refused(r, 400, "2.1");
    let d = r.body["description"].as_str().unwrap();
    assert!(d.contains(field), "'{field}' not in {d:?}");
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
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

/// A complete simple product.
fn simple(sku: &str, name: &str, price: f64, quantity: i64) -> Value {
    json!({
        "sku": sku, "type": "simple",
        "info": {"name": name, "subtitle": "Um produto de teste", "status": 1, "published": 1, "model": "M1"},
        "stock": [{"info": {"quantity": quantity, "minimum": 1}}],
        "price": [{"list": price, "value": price}],
        "dimensions": {"height": 10, "width": 20, "length": 30, "weight": 400}
    })
}

/// A kit or group of `parts` (SKU, units).
fn bundle(kind: &str, sku: &str, parts: &[(&str, i64)]) -> Value {
    let simple: Vec<Value> = parts
        .iter()
        .map(|(s, q)| json!({"sku": s, "type": "simple", "quantity": q}))
        .collect();
    json!({
        "sku": sku, "type": kind,
        "info": {"name": format!("Conjunto {sku}"), "subtitle": "Vários produtos", "status": "ativo", "model": "K"},
        "price": [{"list": 100, "value": 90}],
        "dimensions": {"height": 1, "width": 1, "length": 1, "weight": 1},
        "simple": simple
    })
}

/// The document's import example (its stray single quotes fixed, GTINs with right
/// check digits, no `id`: none exists yet), with an attribute and a related product.
fn the_documents_example() -> Value {
    json!({
        "sku": "99jjs8", "externalId": 12345, "type": "simple",
        "info": {"name": "Produto Teste - Favor não ofertar", "subtitle": "Produto Teste - Não oferte",
                 "status": 1, "published": 0, "model": "3KFD9KK48DFK", "itemFlag": "Flag produto"},
        "stock": [{"info": {"quantity": 15, "minimum": 15}, "location": {"id": 2, "name": "Locality name"}}],
        "price": [{"list": 500, "value": 499.99, "expireDate": "2015-06-02T20:33:02:0000Z"}],
        "dimensions": {"height": 45, "width": 35, "length": 25, "weight": 500},
        "freight": {"free": 1, "fixed": 15.00, "additional": 45, "deadline": 25,
                    "freeRange": {"start": "04688010", "end": "05872130"}},
        "categories": [{"id": 15, "name": "Product X Category", "description": "Category Description",
                        "slug": "product-x-category", "metaKeywords": "meta, descriptions, whatever", "externalId": "450"}],
        "images": [{"source": "http://www.brightlinkprep.com/wp-content/uploads/2014/04/sample.jpg"}],
        "brand": {"info": {"id": 15, "name": "Brand Name", "externalId": "15"},
                  "manufacturer": {"id": 15, "name": "Manufacturer Name", "externalId": "15"}},
        "descriptions": [{"title": "Description Title", "text": "Description Text"}],
        "gtins": {"mpn": "089776987887", "ean": "7891000315507", "jan": "4901234567894", "isbn": "978-85-359-0277-8"},
        "seo": {"url": "produto-teste-favor-nao-ofertar", "title": "title, separated by comma",
                "metaDescription": "meta description, separated by comma"},
        "attributeGroups": [{"name": "Tamanho", "attribute": {"name": "P", "value": "P", "type": "width"}}],
        "related": [{"sku": "ASD123", "type": "simple"}]
    })
}

/// The status of import `id`, driven to its end: a step of the worker at a time, or,
/// when a worker of the server holds the job, waiting for it.
async fn finish(app: &TestApp, key: &Headers, base: &str, id: &str) -> Value {
    for _ in 0..4000 {
        let s = app
            .call_url(
                Method::GET,
                &format!("{base}/catalog/products/process/{id}/status"),
                key,
                None,
            )
            .await;
        assert_eq!(s.status, 200, "{:?}", s.body);
        if s.body["state"] == "finished" {
            return s.body;
        }
        if !app.app().work_one_import().await.expect("import worker") {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    panic!("import {id} did not finish");
}

/// Imports `body` (one product or an array) for `key`'s store, waits for the job and
/// returns its id and final status.
async fn import(app: &TestApp, key: &Headers, body: &Value) -> (String, Value) {
    import_at(app, key, &format!("{}/00k", app.base), body).await
}

async fn import_at(app: &TestApp, key: &Headers, base: &str, body: &Value) -> (String, Value) {
    let r = app
        .call_url(
            Method::POST,
            &format!("{base}/catalog/import"),
            key,
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let id = r.body["data"]["proccessId"].as_str().unwrap().to_string();
    let status = finish(app, key, base, &id).await;
    (id, status)
}

/// The listing's items for `query` (after `/00k/catalog/products/`).
async fn list(app: &TestApp, key: &Headers, query: &str) -> Value {
    let r = app
        .get(&format!("/00k/catalog/products/{query}"), key)
        .await;
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    r.body
}

async fn by_sku(app: &TestApp, key: &Headers, sku: &str) -> Value {
    let b = list(app, key, &format!("all?sku={sku}")).await;
    assert_eq!(b["total"], 1, "{sku}: {b}");
    b["items"][0].clone()
}

async fn the_documents_example_reads_back_in_the_listings_shape(app: TestApp) {
    let s = shops(&app).await;
    let body = json!([
        the_documents_example(),
        simple("S2", "Segundo", 10.0, 4),
        bundle("kit", "KIT1", &[("99jjs8", 2), ("S2", 1)]),
        bundle("group", "G1", &[("99jjs8", 1), ("S2", 1)]),
    ]);
    let r = app.post("/00k/catalog/import/", &s.key_a, &body).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let id = r.body["data"]["proccessId"].as_str().unwrap().to_string();
    let uuid: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(uuid, [8, 4, 4, 4, 12], "{id}");

    // Before a worker ran: pending, nothing written. (A worker of the server may have
    // taken the job already: then what the process lists, read first, is at most what
    // the status, read after, says was written, and the counts add up.)
    let early = app
        .get(&format!("/00k/catalog/products/process/{id}"), &s.key_a)
        .await;
    assert_eq!(early.status, 200, "{:?}", early.body);
    let status = app
        .get(
            &format!("/00k/catalog/products/process/{id}/status"),
            &s.key_a,
        )
        .await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    let b = &status.body;
    assert!(early.body["total"].as_u64().unwrap() <= b["succeeded"].as_u64().unwrap());
    if b["state"] == "pending" && b["read"] == 0 {
        assert_eq!(
            *b,
            json!({"proccessId": id, "state": "pending", "total": 4, "read": 0, "succeeded": 0,
                   "failed": 0, "pending": 4, "errors": []})
        );
        assert_eq!(early.body["items"], json!([]));
    } else {
        assert_eq!(b["proccessId"], id.as_str());
        assert_eq!(b["total"], 4);
        let (read, pending) = (b["read"].as_u64().unwrap(), b["pending"].as_u64().unwrap());
        assert_eq!(read + pending, 4, "{b}");
    }

    let done = finish(&app, &s.key_a, &format!("{}/00k", app.base), &id).await;
    assert_eq!(
        done,
        json!({"proccessId": id, "state": "finished", "total": 4, "read": 4, "succeeded": 4,
               "failed": 0, "pending": 0, "errors": []})
    );

    // The process lists what it wrote, in the order sent.
    let p = app
        .get(&format!("/00k/catalog/products/process/{id}/"), &s.key_a)
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(p.body["total"], 4);
    assert!(p.body["next"].is_null());
    let skus: Vec<&str> = p.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["99jjs8", "S2", "KIT1", "G1"]);

    let item = by_sku(&app, &s.key_a, "99jjs8").await;
    assert_eq!(
        item, p.body["items"][0],
        "the listing and the process agree"
    );
    assert!(item["id"].is_i64());
    assert_eq!(
        item["externalId"], 12345,
        "a number, as the example writes it"
    );
    assert_eq!(item["type"], "simple");
    let info = &item["info"];
    assert_eq!(info["name"], "Produto Teste - Favor não ofertar");
    assert_eq!(info["subtitle"], "Produto Teste - Não oferte");
    assert_eq!(
        (&info["status"], &info["published"], &info["archived"]),
        (&json!(1), &json!(0), &json!(0))
    );
    assert!(
        zerok_time(&info["createdAt"]) && zerok_time(&info["updatedAt"]),
        "{info}"
    );
    assert_eq!(info["model"], "3KFD9KK48DFK");
    assert_eq!(info["defaultView"], 1);
    assert_eq!(info["installments"], 0);
    assert!(info["warranty"].is_null());
    assert_eq!(info["itemFlag"], "Flag produto");
    assert_eq!(
        item["stock"],
        json!([{"info": {"quantity": 15, "minimum": 15}, "location": {"id": 2, "name": "Locality name"}}])
    );
    let price = &item["price"][0];
    assert_eq!((num(&price["list"]), num(&price["value"])), (500.0, 499.99));
    assert_eq!(price["expireDate"], "2015-06-02T20:33:02.000Z");
    let d = &item["dimensions"];
    assert_eq!(
        [num(&d["height"]), num(&d["width"]), num(&d["length"])],
        [45.0, 35.0, 25.0]
    );
    assert_eq!(d["weight"], 500);
    let f = &item["freight"];
    assert_eq!(f["free"], 1);
    assert_eq!((num(&f["fixed"]), num(&f["additional"])), (15.0, 45.0));
    assert_eq!(f["deadline"], 25);
    assert_eq!(
        f["freeRange"],
        json!({"start": "04688010", "end": "05872130"})
    );
    let c = &item["categories"][0];
    assert!(c["id"].is_i64());
    assert_eq!(c["name"], "Product X Category");
    assert_eq!(c["description"], "Category Description");
    assert_eq!(c["slug"], "product-x-category");
    assert_eq!(c["metaKeywords"], "meta, descriptions, whatever");
    assert!(c["imageSource"].is_null());
    assert_eq!(c["externalId"], "450");
    assert_eq!(item["brand"]["info"]["name"], "Brand Name");
    assert_eq!(item["brand"]["info"]["externalId"], "15");
    assert_eq!(item["brand"]["manufacturer"]["name"], "Manufacturer Name");
    assert_eq!(item["brand"]["manufacturer"]["externalId"], "15");
    assert_eq!(
        item["descriptions"],
        json!([{"id": 1, "title": "Description Title", "text": "Description Text"}])
    );
    assert_eq!(item["documents"], json!([]));
    assert_eq!(
        item["images"],
        json!([{"source": "http://www.brightlinkprep.com/wp-content/uploads/2014/04/sample.jpg"}])
    );
    assert_eq!(
        item["seo"],
        json!({"url": "produto-teste-favor-nao-ofertar", "title": "title, separated by comma",
               "metaDescription": "meta description, separated by comma"})
    );
    assert_eq!(
        item["gtins"],
        json!({"mpn": "089776987887", "ean": "7891000315507", "jan": "4901234567894",
               "isbn": "978-85-359-0277-8"})
    );
    assert_eq!(
        item["attributeGroups"],
        json!([{"name": "Tamanho", "attribute": {"name": "P", "value": "P", "type": "width"}}])
    );
    assert_eq!(
        item["related"],
        json!([{"sku": "ASD123", "type": "simple"}])
    );
    assert_eq!(
        item["kits"],
        json!([{"sku": "G1", "type": "group"}, {"sku": "KIT1", "type": "kit"}]),
        "the kits and groups it is part of"
    );
    assert_eq!(item["simple"], json!([]));
    assert!(item.get("partner").is_none());

    // A kit's stock is what its scarcest component allows (15 / 2 and 4 / 1), a
    // group's the sum of its variations'; both list their parts.
    let kit = by_sku(&app, &s.key_a, "KIT1").await;
    assert_eq!(kit["type"], "kit");
    assert_eq!(
        kit["stock"],
        json!([{"info": {"quantity": 4, "minimum": 0}, "location": {"id": 0, "name": null}}])
    );
    assert_eq!(
        kit["simple"],
        json!([{"sku": "99jjs8", "type": "simple", "quantity": 2},
               {"sku": "S2", "type": "simple", "quantity": 1}])
    );
    assert!(kit["externalId"].is_null());
    let group = by_sku(&app, &s.key_a, "G1").await;
    assert_eq!(group["stock"][0]["info"]["quantity"], 19);
    assert_eq!(group["simple"][1]["quantity"], 1);
    assert_eq!(list(&app, &s.key_a, "kit").await["total"], 1);
    assert_eq!(list(&app, &s.key_a, "group").await["total"], 1);
    assert_eq!(list(&app, &s.key_a, "simple").await["total"], 2);
    assert_eq!(list(&app, &s.key_a, "all").await["total"], 4);

    // Importing the same SKU again replaces the product (one single object this time).
    let mut again = simple("S2", "Segundo, revisto", 11.0, 6);
    again["externalId"] = json!("ERP-S2");
    let (_, st) = import(&app, &s.key_a, &again).await;
    assert_eq!(st["succeeded"], 1, "{st}");
    let s2 = by_sku(&app, &s.key_a, "S2").await;
    assert_eq!(s2["info"]["name"], "Segundo, revisto");
    assert_eq!(s2["externalId"], "ERP-S2", "text stays text");
    assert_eq!(list(&app, &s.key_a, "all").await["total"], 4);
    let kit = by_sku(&app, &s.key_a, "KIT1").await;
    assert_eq!(
        kit["stock"][0]["info"]["quantity"], 6,
        "it follows its parts"
    );
}

async fn every_listing_filter_order_and_page(app: TestApp) {
    let s = shops(&app).await;
    let products: Vec<Value> = (0..35)
        .map(|i| {
            let mut p = simple(
                &format!("S{i:02}"),
                &format!("Produto {i:02}"),
                10.0 + i as f64,
                5,
            );
            p["externalId"] = json!(format!("E{i}"));
            p["brand"] =
                json!({"info": {"name": if i % 2 == 0 { "Marca Par" } else { "Marca Ímpar" }}});
            p["categories"] =
                json!([{"name": if i < 10 { "Calçados Femininos" } else { "Bolsas" }}]);
            p["seo"] = json!({"url": format!("produto-{i}")});
            if i % 5 == 0 {
                p["collections"] = json!([{"name": "Verão"}]);
            }
            p
        })
        .collect();
    let (_, st) = import(&app, &s.key_a, &json!(products)).await;
    assert_eq!(st["succeeded"], 35, "{st}");

    // Pages of 30 from 0, `next` the full URL of the one after; the last has none.
    let first = list(&app, &s.key_a, "all").await;
    assert_eq!(first["total"], 35);
    assert_eq!(first["items"].as_array().unwrap().len(), 30);
    assert_eq!(first["items"][0]["sku"], "S00", "oldest first by default");
    let next = first["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!("{}/00k/catalog/products/all?page=1", app.base)
    );
    let second = app.call_url(Method::GET, next, &s.key_a, None).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(second.body["items"][0]["sku"], "S30");
    assert!(second.body["next"].is_null());
    let past = list(&app, &s.key_a, "all?page=9").await;
    assert_eq!(past["total"], 35);
    assert_eq!(past["items"], json!([]));
    assert!(past["next"].is_null());

    // `next` repeats the filters (unknown parameters left out), with the path as sent.
    let b = list(
        &app,
        &s.key_a,
        "all/?brand=marca&orderBy=price:desc&foo=bar",
    )
    .await;
    assert_eq!(b["total"], 35);
    assert_eq!(num(&b["items"][0]["price"][0]["value"]), 44.0);
    let next = b["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!(
            "{}/00k/catalog/products/all/?brand=marca&orderBy=price%3Adesc&page=1",
            app.base
        )
    );
    let after = app.call_url(Method::GET, next, &s.key_a, None).await;
    assert_eq!(num(&after.body["items"][0]["price"][0]["value"]), 14.0);
    assert_eq!(after.body["items"].as_array().unwrap().len(), 5);

    let total = |q: &'static str| {
        let app = &app;
        let key = &s.key_a;
        async move { list(app, key, q).await["total"].as_u64().unwrap() }
    };
    // Contained in the name, case- and accent-insensitive.
    assert_eq!(total("all?name=produto%200").await, 10);
    assert_eq!(total("all?name=PRODUTO%2001").await, 1);
    assert_eq!(total("all?name=Pr%C3%B3duto").await, 35);
    assert_eq!(total("all?brand=%C3%ADmpar").await, 17);
    assert_eq!(total("all?brand=impar").await, 17);
    assert_eq!(total("all?sku=S07").await, 1);
    assert_eq!(total("all?sku=s07").await, 0, "a SKU is exact");
    assert_eq!(total("all?externalId=E7").await, 1);
    assert_eq!(total("all?category_name=calcados").await, 10);
    assert_eq!(total("all?category_name=FEMININOS").await, 10);
    assert_eq!(total("all?category_slug=bolsas").await, 25);
    assert_eq!(total("all?category_slug=calcados-femininos").await, 10);
    assert_eq!(total("all?url=produto-3").await, 1);
    assert_eq!(total("all?collection_name=verao").await, 7);
    assert_eq!(total("all?price_lt=12").await, 2);
    assert_eq!(total("all?price_lte=12").await, 3);
    assert_eq!(total("all?price_lt=12.5").await, 3);
    assert_eq!(total("all?price_gt=43").await, 1);
    assert_eq!(total("all?price_gte=43").await, 2);
    assert_eq!(total("all?price_gte=11&price_lte=13.00").await, 3);
    assert_eq!(
        total("all?brand=marca%20par&category_name=bolsas").await,
        13
    );
    assert_eq!(total("simple?sku=S07").await, 1);
    assert_eq!(total("kit?sku=S07").await, 0);
    assert_eq!(total("group").await, 0);
    assert_eq!(total("all?sku=S07&unknown=1&filters%5Ba%5D=b").await, 1);
    assert_eq!(total("all?sku=").await, 35, "an empty filter is no filter");

    let coll = by_sku(&app, &s.key_a, "S05").await;
    assert_eq!(coll["collections"][0]["name"], "Verão");
    let coll_id = coll["collections"][0]["id"].as_i64().unwrap();
    let by_coll = list(&app, &s.key_a, &format!("all?collection_id={coll_id}")).await;
    assert_eq!(by_coll["total"], 7);
    assert_eq!(
        list(
            &app,
            &s.key_a,
            &format!("all?collection_id={}", coll_id + 1000)
        )
        .await["total"],
        0
    );

    for (q, sku) in [
        ("all?orderBy=name", "S00"),
        ("all?orderBy=name:asc", "S00"),
        ("all?orderBy=name:desc", "S34"),
        ("all?orderBy=price", "S00"),
        ("all?orderBy=price:desc", "S34"),
        ("all?orderBy=price:desc&page=1", "S04"),
    ] {
        assert_eq!(list(&app, &s.key_a, q).await["items"][0]["sku"], sku, "{q}");
    }

    for (q, field) in [
        ("bundle", "type"),
        ("all?price_lt=abc", "price_lt"),
        ("all?price_gte=10.001", "price_gte"),
        ("all?orderBy=stock", "orderBy"),
        ("all?orderBy=price:up", "orderBy"),
        ("all?page=x", "page"),
        ("all?page=-1", "page"),
        ("all?collection_id=verao", "collection_id"),
    ] {
        let r = app
            .get(&format!("/00k/catalog/products/{q}"), &s.key_a)
            .await;
        invalid(&r, field);
    }
}

async fn imports_are_refused_item_by_item(app: TestApp) {
    let s = shops(&app).await;
    let mut gtin = simple("BAD-GTIN", "GTIN", 10.0, 1);
    gtin["gtins"] = json!({"ean": "7891000315508"});
    let mut subtitle = simple("BAD-SUB", "Sub", 10.0, 1);
    subtitle["info"]["subtitle"] = json!("x".repeat(141));
    let negative = simple("BAD-STOCK", "Estoque", 10.0, -1);
    let mut kind = simple("BAD-TYPE", "Tipo", 10.0, 1);
    kind["type"] = json!("bundle");
    let mut text_price = simple("BAD-PRICE", "Preço", 10.0, 1);
    text_price["price"] = json!([{"list": "10.00", "value": 10}]);
    let mut status = simple("BAD-STATUS", "Status", 10.0, 1);
    status["info"]["status"] = json!("sim");
    let mut published = simple("BAD-PUB", "Publicado", 10.0, 1);
    published["info"]["published"] = json!("talvez");
    let mut isbn = simple("BAD-ISBN", "ISBN", 10.0, 1);
    isbn["gtins"] = json!({"isbn": "0306406153"});
    let mut cents = simple("BAD-CENTS", "Centavos", 10.0, 1);
    cents["price"] = json!([{"list": 10, "value": 9.999}]);
    let mut no_stock = simple("NO-STOCK", "Sem estoque", 10.0, 1);
    no_stock["stock"] = json!([]);
    let mut numeric_ids = simple("99", "Números", 10.0, 1);
    numeric_ids["sku"] = json!(99);
    numeric_ids["externalId"] = json!(4321);
    let body = json!([
        simple("OK-1", "Válido", 10.0, 1),
        gtin,
        subtitle,
        negative,
        kind,
        text_price,
        status,
        published,
        isbn,
        cents,
        no_stock,
        "not a product",
        numeric_ids,
    ]);
    let r = app.post("/00k/catalog/import", &s.key_a, &body).await;
    refused(&r, 400, "2.1");
    let errors = r.body["errors"].as_array().expect("errors");
    let expected = [
        (1, Some("BAD-GTIN"), "gtins.ean"),
        (2, Some("BAD-SUB"), "info.subtitle"),
        (3, Some("BAD-STOCK"), "stock[0].info.quantity"),
        (4, Some("BAD-TYPE"), "type"),
        (5, Some("BAD-PRICE"), "price[0].list"),
        (6, Some("BAD-STATUS"), "info.status"),
        (7, Some("BAD-PUB"), "info.published"),
        (8, Some("BAD-ISBN"), "gtins.isbn"),
        (9, Some("BAD-CENTS"), "price[0].value"),
        (10, Some("NO-STOCK"), "Stock is required"),
        (11, None, "expected a JSON object"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:?}");
    for (e, (index, sku, text)) in errors.iter().zip(expected) {
        assert_eq!(e["itemIndex"], index, "{e}");
        assert_eq!(e["sku"].as_str(), sku, "{e}");
        let reasons = e["errors"].as_array().unwrap();
        assert!(
            reasons.iter().any(|m| m.as_str().unwrap().contains(text)),
            "item {index}: '{text}' not in {reasons:?}"
        );
    }
    assert!(errors[0]["errors"][0]
        .as_str()
        .unwrap()
        .contains("check digit 8, expected 7"));
    // Nothing of a refused import is written.
    assert_eq!(list(&app, &s.key_a, "all").await["total"], 0);

    // The body and the parameters as a whole.
    let raw = |body: &'static [u8]| {
        let app = &app;
        let key = &s.key_a;
        async move {
            app.call(
                Method::POST,
                "/00k/catalog/import",
                key,
                Some(body.to_vec()),
            )
            .await
        }
    };
    invalid(&raw(b"[{\"sku\": \"A\"}] trailing").await, "body");
    invalid(&raw(b"{\"sku\": \"A\"}{\"sku\": \"B\"}").await, "body");
    invalid(&raw(b"not json").await, "body");
    invalid(&raw(b"[{\"sku\": ").await, "body");
    invalid(&raw(b"42").await, "body");
    invalid(&raw(b"").await, "body");
    invalid(&raw(b"[]").await, "body");
    let one = json!([simple("OK-2", "Válido", 10.0, 1)]);
    for q in ["verify_categories=maybe", "verify_brands=1"] {
        let r = app
            .post(&format!("/00k/catalog/import?{q}"), &s.key_a, &one)
            .await;
        invalid(&r, q.split('=').next().unwrap());
    }
    // The same product alone goes through, numbers for SKU and external id included.
    let mut numeric = simple("x", "Números", 10.0, 1);
    numeric["sku"] = json!(99);
    numeric["externalId"] = json!(4321);
    let (_, st) = import(
        &app,
        &s.key_a,
        &json!([numeric, simple("OK-1", "Válido", 10.0, 1)]),
    )
    .await;
    assert_eq!(st["succeeded"], 2, "{st}");
    let p = by_sku(&app, &s.key_a, "99").await;
    assert_eq!(p["externalId"], 4321);
}

async fn verified_references_fail_their_products(app: TestApp) {
    let s = shops(&app).await;
    let mut known = simple("K1", "Conhecido", 10.0, 1);
    known["categories"] = json!([{"name": "Existente", "externalId": "C1"}]);
    known["brand"] = json!({"info": {"name": "Marca Existente", "externalId": "B1"}});
    import(&app, &s.key_a, &json!([known])).await;

    let mut unknown_category = simple("U1", "Categoria nova", 10.0, 1);
    unknown_category["categories"] = json!([{"name": "Nova", "externalId": "C-NEW"}]);
    let mut linked = simple("U2", "Ligado", 10.0, 1);
    linked["categories"] = json!([{"externalId": "C1"}]);
    linked["brand"] = json!({"info": {"externalId": "B1"}});
    let mut unknown_brand = simple("U3", "Marca nova", 10.0, 1);
    unknown_brand["brand"] = json!({"info": {"name": "Nova Marca", "externalId": "B-NEW"}});
    let r = app
        .post(
            "/00k/catalog/import?verify_categories=true&verify_brands=TRUE",
            &s.key_a,
            &json!([unknown_category, linked, unknown_brand]),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let id = r.body["data"]["proccessId"].as_str().unwrap().to_string();
    let st = finish(&app, &s.key_a, &format!("{}/00k", app.base), &id).await;
    assert_eq!(
        (&st["succeeded"], &st["failed"], &st["read"]),
        (&json!(1), &json!(2), &json!(3)),
        "{st}"
    );
    let errors = st["errors"].as_array().unwrap();
    assert_eq!(errors[0]["itemIndex"], 0);
    assert_eq!(errors[0]["sku"], "U1");
    assert!(errors[0]["errors"][0]
        .as_str()
        .unwrap()
        .starts_with("categories[0]"));
    assert_eq!(errors[1]["itemIndex"], 2);
    assert!(errors[1]["errors"][0]
        .as_str()
        .unwrap()
        .starts_with("brand"));
    let p = app
        .get(&format!("/00k/catalog/products/process/{id}"), &s.key_a)
        .await;
    assert_eq!(p.body["total"], 1);
    assert_eq!(p.body["items"][0]["sku"], "U2");
    assert_eq!(p.body["items"][0]["categories"][0]["externalId"], "C1");
    assert_eq!(p.body["items"][0]["brand"]["info"]["externalId"], "B1");
    // Nothing was created for the failed ones.
    let cats = app
        .get("/00k/catalog/categories?externalid=C-NEW", &s.key_a)
        .await;
    assert_eq!(cats.body, json!([]));
}

async fn partial_updates(app: TestApp) {
    let s = shops(&app).await;
    let mut p = simple("99jjs8", "Original", 10.0, 3);
    p["externalId"] = json!("E-1");
    import(
        &app,
        &s.key_a,
        &json!([p, simple("OTHER", "Outro", 1.0, 1)]),
    )
    .await;
    let id = by_sku(&app, &s.key_a, "99jjs8").await["id"]
        .as_i64()
        .unwrap();
    let cats = app
        .post(
            "/00k/catalog/categories",
            &s.key_a,
            &json!([{"name": "Destino"}, {"name": "Outra"}]),
        )
        .await;
    assert_eq!(cats.status, 201, "{:?}", cats.body);
    let (c1, c2) = (cats.body[0]["id"].clone(), cats.body[1]["id"].clone());
    let brand = app
        .post(
            "/00k/catalog/brands",
            &s.key_a,
            &json!({"info": {"name": "Nova"}}),
        )
        .await;
    assert_eq!(brand.status, 201, "{:?}", brand.body);
    let brand_id = brand.body["id"].clone();

    // The document's example body.
    let body = json!({
        "sku": "99jjs8-novo", "externalId": 12345,
        "info": {"name": "Produto Teste - Favor não ofertar", "subtitle": "Produto Teste - Não oferte", "status": 0},
        "price": [{"list": 500, "value": 499.99}],
        "dimensions": {"height": 45, "width": 35, "length": 25, "weight": 500},
        "categoriesId": c1, "brandId": brand_id
    });
    let r = put(
        &app,
        &format!("/00k/catalog/import/id/{id}"),
        &s.key_a,
        &body,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = &r.body;
    assert_eq!(b["id"], id);
    assert_eq!(b["sku"], "99jjs8-novo");
    assert_eq!(b["externalId"], 12345);
    assert_eq!(b["info"]["name"], "Produto Teste - Favor não ofertar");
    assert_eq!(b["info"]["status"], 0);
    assert_eq!(b["info"]["model"], "M1", "what is not sent is kept");
    assert_eq!(b["info"]["published"], 1);
    assert_eq!(b["stock"][0]["info"]["quantity"], 3);
    assert_eq!(num(&b["price"][0]["value"]), 499.99);
    assert_eq!(b["dimensions"]["weight"], 500);
    assert_eq!(b["categories"][0]["id"], c1);
    assert_eq!(b["brand"]["info"]["id"], brand_id);
    assert!(zerok_time(&b["info"]["updatedAt"]));

    // By SKU and by external id, categories as an array.
    let r = put(
        &app,
        "/00k/catalog/import/sku/99jjs8-novo",
        &s.key_a,
        &json!({"categoriesId": [c1, c2], "info": {"published": "não publicado"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["categories"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["info"]["published"], 0);
    let r = put(
        &app,
        "/00k/catalog/import/external_id/12345/",
        &s.key_a,
        &json!({"info": {"subtitle": "Pelo id externo"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["info"]["subtitle"], "Pelo id externo");
    assert_eq!(
        by_sku(&app, &s.key_a, "99jjs8-novo").await["info"]["subtitle"],
        "Pelo id externo"
    );

    for (path, body, code, field) in [
        ("/00k/catalog/import/id/999999", json!({}), "2.0", "999999"),
        ("/00k/catalog/import/id/abc", json!({}), "2.0", "abc"),
        ("/00k/catalog/import/sku/NOPE", json!({}), "2.0", "NOPE"),
        ("/00k/catalog/import/ean/1", json!({}), "2.1", "campo"),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"info": {"subtitle": "y".repeat(141)}}),
            "2.1",
            "info.subtitle",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"categoriesId": 999999}),
            "2.1",
            "categories[0]",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"categoriesId": "x"}),
            "2.1",
            "categoriesId",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"sku": "99jjs8-novo"}),
            "2.1",
            "sku",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"externalId": 12345}),
            "2.1",
            "externalId",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"info": {"status": 2}}),
            "2.1",
            "info.status",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"price": [{"value": "1,00"}]}),
            "2.1",
            "price[0].value",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"gtins": {"ean": "7891000315508"}}),
            "2.1",
            "gtins.ean",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!({"brandId": 999999}),
            "2.1",
            "brand",
        ),
        (
            "/00k/catalog/import/sku/OTHER",
            json!([{"sku": "x"}]),
            "2.1",
            "body",
        ),
    ] {
        let r = put(&app, path, &s.key_a, &body).await;
        refused(&r, 400, code);
        let d = r.body["description"].as_str().unwrap();
        assert!(d.contains(field), "{path} {body}: '{field}' not in {d}");
    }
    let garbage = app
        .call(
            Method::PUT,
            "/00k/catalog/import/sku/OTHER",
            &s.key_a,
            Some(b"{\"info\": {}} junk".to_vec()),
        )
        .await;
    invalid(&garbage, "body");
    assert_eq!(
        by_sku(&app, &s.key_a, "OTHER").await["info"]["name"],
        "Outro"
    );
}

async fn deletes(app: TestApp) {
    let s = shops(&app).await;
    import(
        &app,
        &s.key_a,
        &json!([
            simple("S1", "Um", 1.0, 1),
            simple("S2", "Dois", 1.0, 1),
            bundle("kit", "K1", &[("S1", 1)])
        ]),
    )
    .await;
    let s1 = by_sku(&app, &s.key_a, "S1").await["id"].as_i64().unwrap();
    let k1 = by_sku(&app, &s.key_a, "K1").await["id"].as_i64().unwrap();

    let r = delete(
        &app,
        &format!("/00k/catalog/products/simple/{s1}"),
        &s.key_a,
    )
    .await;
    invalid(&r, "K1");
    let r = delete(&app, &format!("/00k/catalog/products/kit/{s1}"), &s.key_a).await;
    refused(&r, 400, "2.0");
    let r = delete(&app, &format!("/00k/catalog/products/all/{s1}"), &s.key_a).await;
    invalid(&r, "type");
    let r = delete(&app, "/00k/catalog/products/simple/abc", &s.key_a).await;
    refused(&r, 400, "2.0");

    let r = delete(&app, &format!("/00k/catalog/products/kit/{k1}"), &s.key_a).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"updated": {"type": "kit", "id": k1.to_string()}})
    );
    let r = delete(
        &app,
        &format!("/00k/catalog/products/simple/{s1}/"),
        &s.key_a,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"updated": {"type": "simple", "id": s1.to_string()}})
    );
    let r = delete(
        &app,
        &format!("/00k/catalog/products/simple/{s1}"),
        &s.key_a,
    )
    .await;
    refused(&r, 400, "2.0");
    let left = list(&app, &s.key_a, "all").await;
    assert_eq!(left["total"], 1);
    assert_eq!(left["items"][0]["sku"], "S2");
}

async fn stock_and_prices(app: TestApp) {
    let s = shops(&app).await;
    let mut s1 = simple("S1", "Um", 10.0, 10);
    s1["externalId"] = json!("E1");
    import(
        &app,
        &s.key_a,
        &json!([
            s1,
            simple("S2", "Dois", 20.0, 5),
            bundle("kit", "K1", &[("S1", 2)])
        ]),
    )
    .await;
    let id1 = by_sku(&app, &s.key_a, "S1").await["id"].as_i64().unwrap();
    let id2 = by_sku(&app, &s.key_a, "S2").await["id"].as_i64().unwrap();

    // One product, one location; the others keep theirs.
    let r = put(
        &app,
        "/00k/catalog/products/stock/sku/S1",
        &s.key_a,
        &json!({"info": {"quantity": 7, "minimum": 2}, "location": {"id": 2}}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["stock"],
        json!([{"info": {"quantity": 10, "minimum": 1}, "location": {"id": 0, "name": null}},
               {"info": {"quantity": 7, "minimum": 2}, "location": {"id": 2, "name": null}}])
    );
    let r = put(
        &app,
        "/00k/catalog/products/stock/external_id/E1/",
        &s.key_a,
        &json!({"info": {"status": 2}}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["stock"][0]["info"],
        json!({"quantity": 0, "minimum": 0, "status": 2})
    );
    let r = put(
        &app,
        &format!("/00k/catalog/products/stock/id/{id1}"),
        &s.key_a,
        &json!({"info": {"quantity": 8, "minimum": 0}}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["stock"][0]["info"],
        json!({"quantity": 8, "minimum": 0})
    );
    // The kit follows: 8 + 7 units of S1, two a kit.
    assert_eq!(
        by_sku(&app, &s.key_a, "K1").await["stock"][0]["info"]["quantity"],
        7
    );

    for (path, body, code, field) in [
        (
            "/00k/catalog/products/stock/sku/S1",
            json!({"info": {"quantity": -1}}),
            "2.1",
            "quantity",
        ),
        (
            "/00k/catalog/products/stock/sku/S1",
            json!({"info": {"quantity": "5"}}),
            "2.1",
            "info.quantity",
        ),
        (
            "/00k/catalog/products/stock/sku/S1",
            json!({"info": {"quantity": 1, "status": 9}}),
            "2.1",
            "info.status",
        ),
        (
            "/00k/catalog/products/stock/sku/S1",
            json!({"location": {"id": 1}}),
            "2.1",
            "info",
        ),
        (
            "/00k/catalog/products/stock/sku/K1",
            json!({"info": {"quantity": 1}}),
            "2.1",
            "kit",
        ),
        (
            "/00k/catalog/products/stock/sku/NOPE",
            json!({"info": {"quantity": 1}}),
            "2.0",
            "NOPE",
        ),
        (
            "/00k/catalog/products/stock/id/x",
            json!({"info": {"quantity": 1}}),
            "2.0",
            "x",
        ),
        (
            "/00k/catalog/products/stock/ean/1",
            json!({"info": {"quantity": 1}}),
            "2.1",
            "campo",
        ),
    ] {
        let r = put(&app, path, &s.key_a, &body).await;
        refused(&r, 400, code);
        let d = r.body["description"].as_str().unwrap();
        assert!(d.contains(field), "{path} {body}: '{field}' not in {d}");
    }
    // Named as this body spells it, not as the batch the use case takes.
    let r = put(
        &app,
        "/00k/catalog/products/stock/sku/S1",
        &s.key_a,
        &json!({"info": {"quantity": -1}}),
    )
    .await;
    let d = r.body["description"].as_str().unwrap();
    assert!(d.contains("info.quantity") && !d.contains("stock"), "{d}");

    // A batch: each item applied or refused on its own.
    let r = put(
        &app,
        "/00k/catalog/products/stock",
        &s.key_a,
        &json!([
            {"sku": "S1", "stock": [{"info": {"quantity": 3, "minimum": 0}}]},
            {"id": id2, "sku": "ignored", "stock": [{"info": {"quantity": -4, "minimum": 0}}]},
            {"sku": "NOPE", "stock": [{"info": {"quantity": 1, "minimum": 0}}]},
            {"sku": "S2", "stock": [{"info": {"quantity": "5", "minimum": 0}}]},
            {"stock": [{"info": {"quantity": 1}}]},
            {"id": "abc", "stock": [{"info": {"quantity": 1}}]},
            {"sku": "K1", "stock": [{"info": {"quantity": 1}}]},
            {"externalId": "E1", "stock": [{"info": {"quantity": 4}, "location": {"id": 3}}]}
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = &r.body;
    assert_eq!(
        (&b["total"], &b["updated"], &b["failed"]),
        (&json!(8), &json!(2), &json!(6)),
        "{b}"
    );
    let items = b["items"].as_array().unwrap();
    let statuses: Vec<&str> = items
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["updated", "failed", "failed", "failed", "failed", "failed", "failed", "updated"]
    );
    for (n, item) in items.iter().enumerate() {
        assert_eq!(item["index"], n);
    }
    assert_eq!(items[0]["id"], id1);
    assert_eq!(items[0]["sku"], "S1");
    assert_eq!(items[0]["errors"], json!([]));
    assert_eq!(items[1]["id"], id2, "found by id, the first key");
    assert_eq!(items[1]["sku"], "S2");
    let reason = |n: usize| items[n]["errors"][0].as_str().unwrap().to_string();
    assert!(
        reason(1).contains("stock[0].info.quantity"),
        "{}",
        reason(1)
    );
    assert!(items[2]["id"].is_null());
    assert!(reason(2).contains("NOPE"), "{}", reason(2));
    assert!(
        reason(3).contains("stock[0].info.quantity"),
        "{}",
        reason(3)
    );
    assert!(reason(4).contains("id, sku or externalId"), "{}", reason(4));
    assert!(reason(5).starts_with("id"), "{}", reason(5));
    assert!(reason(6).contains("kit"), "{}", reason(6));
    let s1 = by_sku(&app, &s.key_a, "S1").await;
    let levels: Vec<(i64, i64)> = s1["stock"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["location"]["id"].as_i64().unwrap(),
                l["info"]["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(levels, [(0, 3), (2, 7), (3, 4)]);
    assert_eq!(
        by_sku(&app, &s.key_a, "S2").await["stock"][0]["info"]["quantity"],
        5
    );

    // Prices: only the first item of each `price` counts, amounts are exact.
    let r = put(
        &app,
        "/00k/catalog/products/price",
        &s.key_a,
        &json!([
            {"id": id1, "price": [{"list": 20, "value": 19.9}, {"list": 1, "value": 1}]},
            {"sku": "S2", "price": [{"list": 20, "value": "19.90"}]},
            {"sku": "S2", "price": [{"list": 20, "value": 1.001}]},
            {"sku": "S2", "price": [{"list": 20, "value": -1}]},
            {"sku": "S2"},
            {"sku": "K1", "price": [{"list": 150.5, "value": 120}]}
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = &r.body;
    assert_eq!((&b["updated"], &b["failed"]), (&json!(2), &json!(4)), "{b}");
    let items = b["items"].as_array().unwrap();
    let reason = |n: usize| items[n]["errors"][0].as_str().unwrap().to_string();
    assert!(reason(1).contains("price[0].value"), "{}", reason(1));
    assert!(reason(2).contains("price[0].value"), "{}", reason(2));
    assert!(reason(3).contains("negative"), "{}", reason(3));
    assert!(reason(4).contains("price"), "{}", reason(4));
    let p1 = by_sku(&app, &s.key_a, "S1").await;
    assert_eq!(
        (num(&p1["price"][0]["list"]), num(&p1["price"][0]["value"])),
        (20.0, 19.9)
    );
    assert_eq!(
        num(&by_sku(&app, &s.key_a, "S2").await["price"][0]["value"]),
        20.0
    );
    assert_eq!(
        num(&by_sku(&app, &s.key_a, "K1").await["price"][0]["list"]),
        150.5
    );
    assert_eq!(
        list(&app, &s.key_a, "all?price_lte=19.90").await["total"],
        1
    );

    // The batch as a whole.
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({"sku": "S1", "price": [{"value": 1}]}))
        .collect();
    for (path, body) in [
        ("/00k/catalog/products/price", json!(many)),
        ("/00k/catalog/products/price", json!([])),
        ("/00k/catalog/products/stock", json!([])),
        ("/00k/catalog/products/stock", json!(3)),
    ] {
        let r = put(&app, path, &s.key_a, &body).await;
        refused(&r, 400, "2.1");
    }
    let r = app
        .call(
            Method::PUT,
            "/00k/catalog/products/stock",
            &s.key_a,
            Some(b"[{\"sku\":\"S1\",\"stock\":[{\"info\":{\"quantity\":1}}]}] []".to_vec()),
        )
        .await;
    invalid(&r, "body");
    assert_eq!(
        by_sku(&app, &s.key_a, "S1").await["stock"][0]["info"]["quantity"],
        3
    );
}

async fn categories_and_brands(app: TestApp) {
    let s = shops(&app).await;
    // The document's example: a category created with its parent...
    let r = app
        .post(
            "/00k/catalog/categories",
            &s.key_a,
            &json!([{"name": "Example Category", "description": "Category Description",
                     "slug": "example-category", "metaKeywords": "meta, example", "externalId": 123,
                     "parent": {"name": "Parent Category", "description": "Parent example",
                                "slug": "parent-category", "metaKeywords": "meta, example", "externalId": 125}}]),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let example = r.body[0]["id"].as_i64().unwrap();
    // ... and one linked to an existing parent by its external id.
    let r = app
        .post(
            "/00k/catalog/categories/",
            &s.key_a,
            &json!([{"name": "Another Category", "description": "Category Example",
                     "slug": "another-category", "metaKeywords": "meta, another, example",
                     "externalId": 124, "parent": {"externalId": 125}}]),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let another = r.body[0]["id"].as_i64().unwrap();

    let all = app.get("/00k/catalog/categories", &s.key_a).await;
    assert_eq!(all.status, 200);
    let rows = all.body.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let parent = rows.iter().find(|c| c["externalId"] == "125").unwrap();
    let row = rows.iter().find(|c| c["id"] == example).unwrap();
    assert_eq!(
        *row,
        json!({"id": example, "name": "Example Category", "description": "Category Description",
               "parent": parent["id"], "url": "example-category", "keywords": "meta, example",
               "externalId": "123"})
    );
    assert!(parent["parent"].is_null());
    let row = rows.iter().find(|c| c["id"] == another).unwrap();
    assert_eq!(row["parent"], parent["id"]);

    let got = |path: String| {
        let app = &app;
        let key = &s.key_a;
        async move { app.get(&path, key).await }
    };
    let one = got("/00k/catalog/categories?externalid=123".into()).await;
    assert_eq!(one.body.as_array().unwrap().len(), 1);
    assert_eq!(one.body[0]["id"], example);
    assert_eq!(
        got("/00k/catalog/categories?externalId=124".into())
            .await
            .body[0]["id"],
        another
    );
    assert_eq!(
        got("/00k/catalog/categories?name=EXAMPLE".into())
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        got("/00k/catalog/categories?name=categ%C3%B3ry".into())
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let none = got("/00k/catalog/categories?externalid=nope".into()).await;
    assert_eq!((none.status, &none.body), (200, &json!([])));
    let by_id = got(format!("/00k/catalog/categories/{example}")).await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.body.as_array().unwrap().len(), 1);
    assert_eq!(by_id.body[0]["name"], "Example Category");
    assert_eq!(
        got(format!("/00k/catalog/categories/{example}/"))
            .await
            .status,
        200
    );
    refused(
        &got("/00k/catalog/categories/999999".into()).await,
        400,
        "2.0",
    );
    refused(&got("/00k/catalog/categories/abc".into()).await, 400, "2.0");
    refused(
        &got(format!("/00k/catalog/categories/{example}?name=zzz")).await,
        400,
        "2.0",
    );
    // The same again links instead of creating.
    let again = app
        .post(
            "/00k/catalog/categories",
            &s.key_a,
            &json!([{"name": "X", "externalId": "123"}]),
        )
        .await;
    assert_eq!(again.body, json!([{"id": example}]));
    for (body, field) in [
        (json!([{"description": "sem nome"}]), "[0]"),
        (json!([{"name": "ok"}, {"name": 5}]), "[1].name"),
        (
            json!([{"name": "ok", "parent": {"description": "x"}}]),
            "[0].parent",
        ),
        (json!([]), "body"),
        (json!("x"), "body"),
    ] {
        let r = app.post("/00k/catalog/categories", &s.key_a, &body).await;
        invalid(&r, field);
    }

    // Brands with their manufacturers.
    let brand = json!({"info": {"name": "Brand Name", "externalId": "15"},
                       "manufacturer": {"name": "Manufacturer Name", "externalId": "15"}});
    let r = app.post("/00k/catalog/brands", &s.key_a, &brand).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let again = app.post("/00k/catalog/brands/", &s.key_a, &brand).await;
    assert_eq!(again.body, json!({"id": id}), "linked by its external id");
    let other = app
        .post(
            "/00k/catalog/brands",
            &s.key_a,
            &json!({"info": {"name": "Ótima"}}),
        )
        .await;
    assert_eq!(other.status, 201, "{:?}", other.body);
    let all = got("/00k/catalog/brands".into()).await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let row = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap();
    assert_eq!(
        *row,
        json!({"id": id, "name": "Brand Name", "imageSource": null, "externalId": "15"})
    );
    assert_eq!(
        got("/00k/catalog/brands?externalid=15".into())
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let found = got("/00k/catalog/brands?name=otima".into()).await;
    assert_eq!(found.body.as_array().unwrap().len(), 1);
    assert_eq!(found.body[0]["name"], "Ótima");
    assert_eq!(
        got("/00k/catalog/brands?name=zzz".into()).await.body,
        json!([])
    );
    let by_id = got(format!("/00k/catalog/brands/{id}")).await;
    assert_eq!(by_id.body.as_array().unwrap().len(), 1);
    refused(&got("/00k/catalog/brands/0".into()).await, 400, "2.0");
    refused(&got("/00k/catalog/brands/x".into()).await, 400, "2.0");
    for (body, field) in [
        (json!({}), "info"),
        (json!({"info": {}}), "info"),
        (json!({"info": {"name": ["x"]}}), "info.name"),
        (
            json!({"info": {"name": "x", "imageSource": "not a url"}}),
            "info.imageSource",
        ),
        (json!([brand]), "body"),
    ] {
        let r = app.post("/00k/catalog/brands", &s.key_a, &body).await;
        invalid(&r, field);
    }
}

async fn one_store_never_sees_another(app: TestApp) {
    let s = shops(&app).await;
    let mut p = simple("SHARED", "Da loja A", 10.0, 5);
    p["categories"] = json!([{"name": "Categoria A", "externalId": "CA"}]);
    p["brand"] = json!({"info": {"name": "Marca A", "externalId": "BA"}});
    let (job_a, _) = import(&app, &s.key_a, &json!([p])).await;
    let a = by_sku(&app, &s.key_a, "SHARED").await;
    let id_a = a["id"].as_i64().unwrap();
    let cat_a = a["categories"][0]["id"].as_i64().unwrap();
    let brand_a = a["brand"]["info"]["id"].as_i64().unwrap();

    let b = &s.key_b;
    assert_eq!(list(&app, b, "all").await["total"], 0);
    assert_eq!(list(&app, b, "all?sku=SHARED").await["total"], 0);
    for path in [
        format!("/00k/catalog/products/process/{job_a}"),
        format!("/00k/catalog/products/process/{job_a}/status"),
        format!("/00k/catalog/categories/{cat_a}"),
        format!("/00k/catalog/brands/{brand_a}"),
    ] {
        refused(&app.get(&path, b).await, 400, "2.0");
    }
    assert_eq!(app.get("/00k/catalog/categories", b).await.body, json!([]));
    assert_eq!(
        app.get("/00k/catalog/categories?externalid=CA", b)
            .await
            .body,
        json!([])
    );
    assert_eq!(app.get("/00k/catalog/brands", b).await.body, json!([]));
    let r = put(
        &app,
        &format!("/00k/catalog/import/id/{id_a}"),
        b,
        &json!({"info": {"name": "Roubado"}}),
    )
    .await;
    refused(&r, 400, "2.0");
    let r = put(
        &app,
        "/00k/catalog/import/sku/SHARED",
        b,
        &json!({"info": {"name": "Roubado"}}),
    )
    .await;
    refused(&r, 400, "2.0");
    refused(
        &delete(&app, &format!("/00k/catalog/products/simple/{id_a}"), b).await,
        400,
        "2.0",
    );
    let r = put(
        &app,
        "/00k/catalog/products/stock/sku/SHARED",
        b,
        &json!({"info": {"quantity": 0}}),
    )
    .await;
    refused(&r, 400, "2.0");
    let r = put(
        &app,
        "/00k/catalog/products/stock",
        b,
        &json!([{"id": id_a, "stock": [{"info": {"quantity": 0}}]}]),
    )
    .await;
    assert_eq!(r.body["failed"], 1, "{:?}", r.body);
    let r = put(
        &app,
        "/00k/catalog/products/price",
        b,
        &json!([{"sku": "SHARED", "price": [{"value": 0}]}]),
    )
    .await;
    assert_eq!(r.body["failed"], 1, "{:?}", r.body);
    // Linking to another store's category or brand by id or external id links nothing
    // of it: with verification on, the product fails.
    let mut theirs = simple("B1", "Da loja B", 1.0, 1);
    theirs["categories"] = json!([{"id": cat_a}]);
    theirs["brand"] = json!({"info": {"externalId": "BA"}});
    let r = app
        .post(
            "/00k/catalog/import?verify_categories=true&verify_brands=true",
            b,
            &json!([theirs]),
        )
        .await;
    let job_b = r.body["data"]["proccessId"].as_str().unwrap().to_string();
    let st = finish(&app, b, &format!("{}/00k", app.base), &job_b).await;
    assert_eq!(st["failed"], 1, "{st}");
    // The same SKU in store B is another product.
    let (_, st) = import(&app, b, &json!([simple("SHARED", "Da loja B", 2.0, 1)])).await;
    assert_eq!(st["succeeded"], 1, "{st}");
    let in_b = by_sku(&app, b, "SHARED").await;
    assert_ne!(in_b["id"], id_a);
    assert!(in_b["categories"].as_array().unwrap().is_empty());
    let still = by_sku(&app, &s.key_a, "SHARED").await;
    assert_eq!(still["info"]["name"], "Da loja A");
    assert_eq!(still["stock"][0]["info"]["quantity"], 5);
    assert_eq!(num(&still["price"][0]["value"]), 10.0);
    // Store A's process lists only its own product.
    let p = app
        .get(&format!("/00k/catalog/products/process/{job_a}"), &s.key_a)
        .await;
    assert_eq!(p.body["total"], 1);
    assert_eq!(p.body["items"][0]["id"], id_a);
}

async fn credentials_and_envelopes(app: TestApp) {
    let s = shops(&app).await;
    let paths: [(Method, &str); 7] = [
        (Method::GET, "/00k/catalog/products/all"),
        (Method::POST, "/00k/catalog/import"),
        (Method::GET, "/00k/catalog/products/process/x/status"),
        (Method::PUT, "/00k/catalog/products/stock"),
        (Method::GET, "/00k/catalog/categories"),
        (Method::POST, "/00k/catalog/brands"),
        (Method::DELETE, "/00k/catalog/products/simple/1"),
    ];
    let sky = app
        .credential(&s.op, Some(&s.a), Dialect::named("skyhub"))
        .await
        .headers;
    let sky_as_zerok = BTreeMap::from([("Authorization".to_string(), sky["X-Api-Key"].clone())]);
    let garbage = BTreeMap::from([("Authorization".to_string(), "opaque-token".to_string())]);
    for (method, path) in paths {
        let body = (method != Method::GET && method != Method::DELETE).then(|| b"[]".to_vec());
        let call = |key: Headers| {
            let app = &app;
            let method = method.clone();
            let body = body.clone();
            async move { app.call(method, path, &key, body).await }
        };
        refused(&call(Headers::new()).await, 401, "1.2");
        refused(&call(garbage.clone()).await, 401, "1.3");
        refused(&call(sky_as_zerok.clone()).await, 401, "1.3");
        let op = call(s.operator_key.clone()).await;
        refused(&op, 403, "1.3");
        assert!(
            op.body["description"]
                .as_str()
                .unwrap()
                .contains("operator"),
            "{:?}",
            op.body
        );
    }
    // A tolerated `Bearer` prefix; an unknown path under the mount is 404 in 00K's shape.
    let bearer = BTreeMap::from([(
        "Authorization".to_string(),
        format!("Bearer {}", s.key_a["Authorization"]),
    )]);
    assert_eq!(
        app.get("/00k/catalog/products/all", &bearer).await.status,
        200
    );
    refused(&app.get("/00k/catalog/nothing", &s.key_a).await, 404, "2.0");
    let wrong = app
        .call(Method::PATCH, "/00k/catalog/products/all", &s.key_a, None)
        .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.body["code"], "2.1");
}

async fn imports_take_large_bodies(app: TestApp) {
    let s = shops(&app).await;
    // A thousand products with long descriptions: about 2.5 MB, over the 1 MiB that
    // every other path takes.
    let long = "Descrição longa do produto, com muitos detalhes. ".repeat(40);
    let products: Vec<Value> = (0..1000)
        .map(|i| {
            let mut p = simple(
                &format!("L{i:04}"),
                &format!("Produto {i}"),
                1.0 + i as f64,
                1,
            );
            p["descriptions"] = json!([{"title": "Detalhes", "text": long}]);
            p
        })
        .collect();
    let body = serde_json::to_vec(&products).unwrap();
    assert!(body.len() > 2 * 1024 * 1024, "{}", body.len());
    let (id, st) = import(&app, &s.key_a, &json!(products)).await;
    assert_eq!(
        (&st["succeeded"], &st["failed"], &st["total"]),
        (&json!(1000), &json!(0), &json!(1000)),
        "{st}"
    );
    assert_eq!(list(&app, &s.key_a, "all").await["total"], 1000);
    let p = app
        .get(&format!("/00k/catalog/products/process/{id}"), &s.key_a)
        .await;
    assert_eq!(p.body["total"], 1000);
    assert_eq!(p.body["items"][999]["sku"], "L0999");

    // The same size elsewhere is too large.
    let batch: Vec<Value> = (0..1000)
        .map(|i| json!({"sku": format!("L{i:04}"), "price": [{"value": 1}], "padding": long}))
        .collect();
    let r = put(&app, "/00k/catalog/products/price", &s.key_a, &json!(batch)).await;
    refused(&r, 413, "2.1");
    let r = app
        .call(
            Method::PUT,
            "/00k/catalog/import/sku/L0001",
            &s.key_a,
            Some(body.clone()),
        )
        .await;
    refused(&r, 413, "2.1");
    // And imports have their limit too.
    let huge = vec![b' '; 32 * 1024 * 1024 + 1];
    let r = app
        .call(Method::POST, "/00k/catalog/import", &s.key_a, Some(huge))
        .await;
    refused(&r, 413, "2.1");
}

async fn at_the_root_of_its_own_listener(app: TestApp) {
    let s = shops(&app).await;
    let own = app.own["zerok"].clone();
    let products: Vec<Value> = (0..31)
        .map(|i| simple(&format!("R{i:02}"), &format!("Raiz {i}"), 1.0, 1))
        .collect();
    let (id, st) = import_at(&app, &s.key_a, &own, &json!(products)).await;
    assert_eq!(st["succeeded"], 31, "{st}");
    let r = app
        .call_url(
            Method::GET,
            &format!("{own}/catalog/products/all?name=raiz"),
            &s.key_a,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["total"], 31);
    assert_eq!(
        r.body["next"],
        format!("{own}/catalog/products/all?name=raiz&page=1"),
        "the link points at the listener that was called"
    );
    let next = app
        .call_url(
            Method::GET,
            r.body["next"].as_str().unwrap(),
            &s.key_a,
            None,
        )
        .await;
    assert_eq!(next.body["items"][0]["sku"], "R30");
    // The same catalog on the shared listener.
    let shared = app
        .get(&format!("/00k/catalog/products/process/{id}"), &s.key_a)
        .await;
    assert_eq!(shared.body["total"], 31);
    let r = app
        .call_url(
            Method::GET,
            &format!("{own}/catalog/categories"),
            &Headers::new(),
            None,
        )
        .await;
    refused(&r, 401, "1.2");
}
