//! The operator reads its sellers' catalogs on the native API: products with filters
//! and paging, one product with its links, parts and derived stock, categories,
//! brands, import jobs with their per-row errors; another seller's or operator's ids
//! are 404, bad parameters a 422 naming the parameter.

mod common;

use common::{bearer, TestApp};
use entreposto_domain::{
    AttributeGroup, BrandRef, CategoryRef, Cents, Dimensions, PartyRef, Price, ProductDraft,
    ProductFields, ProductInfo, ProductKind, ProductPart, Scope, StockLevel,
};
use serde_json::Value;
use std::collections::BTreeMap;

on_both_backends!(reads_a_sellers_catalog, other_tenants_ids_are_not_found);

fn category(path: &[&str]) -> CategoryRef {
    path.iter()
        .fold(None, |parent: Option<CategoryRef>, name| {
            Some(CategoryRef {
                name: Some(name.to_string()),
                parent: parent.map(Box::new),
                ..Default::default()
            })
        })
        .expect("a path")
}

fn simple(sku: &str, name: &str, cents: i64, quantity: i64) -> ProductDraft {
    ProductDraft {
        sku: Some(sku.into()),
        kind: Some(ProductKind::Simple),
        fields: ProductFields {
            info: ProductInfo {
                name: name.into(),
                subtitle: format!("{name} de algodão"),
                active: true,
                published: true,
                model: "M-2024".into(),
                ..Default::default()
            },
            stock: vec![StockLevel {
                quantity,
                minimum: 1,
                ..Default::default()
            }],
            price: Some(Price {
                list: Cents(cents + 1000),
                value: Cents(cents),
                expires_at: None,
            }),
            dimensions: Some(Dimensions {
                height: 2.0,
                width: 30.0,
                length: 40.0,
                weight_grams: 250,
            }),
            images: vec![format!("https://img.example.com.br/{sku}.jpg")],
            ..Default::default()
        },
        categories: vec![category(&["Roupas", "Camisetas"])],
        brand: Some(BrandRef {
            info: PartyRef {
                name: Some("Hering".into()),
                ..Default::default()
            },
            manufacturer: Some(PartyRef {
                name: Some("Cia Hering".into()),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

fn sized(sku: &str, size: &str, quantity: i64) -> ProductDraft {
    let mut d = simple(sku, &format!("Camiseta Básica {size}"), 4990, quantity);
    d.fields.attribute_groups = vec![AttributeGroup {
        name: "Tamanho".into(),
        attribute_name: "Tamanho".into(),
        attribute_value: size.into(),
        attribute_type: None,
    }];
    d
}

fn container(sku: &str, kind: ProductKind, name: &str, parts: &[(&str, i64)]) -> ProductDraft {
    let mut d = simple(sku, name, 8990, 0);
    d.kind = Some(kind);
    d.fields.stock.clear();
    if kind == ProductKind::Group {
        d.fields.price = None;
    }
    d.fields.parts = parts
        .iter()
        .map(|(sku, quantity)| ProductPart {
            sku: sku.to_string(),
            kind: ProductKind::Simple,
            quantity: *quantity,
        })
        .collect();
    d
}

/// Seller A's catalog: a group of three sizes, a sock, a kit of two P shirts and a
/// sock, and a kit whose component does not exist (the import's one failed row).
fn catalog_a() -> Vec<ProductDraft> {
    let mut meia = simple("MEIA-1", "Meia Esportiva", 1990, 5);
    meia.categories = vec![category(&["Roupas", "Meias"])];
    vec![
        sized("CAM-P", "P", 7),
        sized("CAM-M", "M", 3),
        sized("CAM-G", "G", 0),
        container(
            "CAM",
            ProductKind::Group,
            "Camiseta Básica",
            &[("CAM-P", 1), ("CAM-M", 1), ("CAM-G", 1)],
        ),
        meia,
        container(
            "KIT-1",
            ProductKind::Kit,
            "Kit Camiseta e Meia",
            &[("CAM-P", 2), ("MEIA-1", 1)],
        ),
        container(
            "KIT-BAD",
            ProductKind::Kit,
            "Kit Impossível",
            &[("NAO-EXISTE", 1)],
        ),
    ]
}

async fn import(app: &TestApp, scope: &Scope, rows: Vec<ProductDraft>) -> String {
    let job = app
        .app()
        .start_import(scope, rows, false, false)
        .await
        .expect("import accepted");
    app.wait_for_import(scope, &job.id).await;
    job.id
}

fn skus(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["sku"].as_str().expect("sku"))
        .collect()
}

async fn reads_a_sellers_catalog(app: TestApp) {
    let (op, token) = app.operator().await;
    let auth = bearer(&token);
    let a = app.seller(&op, "Loja A").await;
    let b = app.seller(&op, "Loja B").await;
    let scope_a = Scope::seller(&op.id, &a.id);
    let job = import(&app, &scope_a, catalog_a()).await;
    import(
        &app,
        &Scope::seller(&op.id, &b.id),
        vec![simple("B-1", "Camiseta da Loja B", 3000, 1)],
    )
    .await;
    let base = format!("/api/v1/sellers/{}", a.id);

    // Every product of A, oldest first; not B's, not the failed row's.
    let all = app.get(&format!("{base}/products"), &auth).await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    assert_eq!(all.body["total"], 6);
    assert_eq!(
        skus(&all.body),
        ["CAM-P", "CAM-M", "CAM-G", "CAM", "MEIA-1", "KIT-1"]
    );
    assert_eq!(
        (all.body["offset"].as_u64(), all.body["limit"].as_u64()),
        (Some(0), Some(50))
    );

    // A simple as written: money in reais, stock per location, links by name.
    let p = &all.body["items"][0];
    assert_eq!(p["seller"], a.id.as_str());
    assert_eq!(p["type"], "simple");
    assert_eq!(p["version"], 1);
    assert_eq!(p["name"], "Camiseta Básica P");
    assert_eq!(p["price"]["value"], 49.9);
    assert_eq!(p["price"]["list"], 59.9);
    assert_eq!(p["stock"][0]["quantity"], 7);
    assert_eq!(p["stock"][0]["location"]["id"], 0);
    assert_eq!(p["sellable"], 7);
    assert_eq!(p["dimensions"]["weight"], 250);
    assert_eq!(p["attributes"][0]["group"], "Tamanho");
    assert_eq!(p["attributes"][0]["value"], "P");
    assert_eq!(p["categories"][0]["name"], "Camisetas");
    assert_eq!(p["brand"]["name"], "Hering");
    assert_eq!(p["manufacturer"]["name"], "Cia Hering");
    let mut part_of: Vec<&str> = p["partOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sku"].as_str().unwrap())
        .collect();
    part_of.sort();
    assert_eq!(part_of, ["CAM", "KIT-1"]);
    // A group's and a kit's stock follow from their parts.
    let group = &all.body["items"][3];
    assert_eq!(group["type"], "group");
    assert_eq!(group["price"], Value::Null);
    assert_eq!(group["stock"], serde_json::json!([]));
    assert_eq!(group["sellable"], 10);
    assert_eq!(group["parts"].as_array().unwrap().len(), 3);
    let kit = &all.body["items"][5];
    assert_eq!(kit["sellable"], 3, "7 P shirts make 3 kits of two");
    assert_eq!(
        kit["parts"][0],
        serde_json::json!({"sku": "CAM-P", "type": "simple", "quantity": 2})
    );

    // Filters.
    let list = |q: &'static str| {
        let (app, auth, base) = (&app, &auth, &base);
        async move {
            let r = app.get(&format!("{base}/products?{q}"), auth).await;
            assert_eq!(r.status, 200, "{q}: {:?}", r.body);
            r.body
        }
    };
    assert_eq!(
        skus(&list("name=CAMISETA%20basica").await),
        ["CAM-P", "CAM-M", "CAM-G", "CAM"]
    );
    assert_eq!(skus(&list("sku=MEIA-1").await), ["MEIA-1"]);
    assert_eq!(skus(&list("type=kit").await), ["KIT-1"]);
    assert_eq!(skus(&list("category=meias").await), ["MEIA-1"]);
    assert_eq!(skus(&list("brand=hering&type=group").await), ["CAM"]);
    assert_eq!(skus(&list("priceMin=19.90&priceMax=20").await), ["MEIA-1"]);
    assert_eq!(skus(&list("priceMin=80").await), ["KIT-1"]);
    assert_eq!(
        skus(&list("type=simple&order=price&limit=1").await),
        ["MEIA-1"]
    );
    assert_eq!(skus(&list("order=-price&limit=1").await), ["KIT-1"]);
    let page = list("limit=2&offset=2").await;
    assert_eq!(page["total"], 6);
    assert_eq!(skus(&page), ["CAM-G", "CAM"]);
    assert_eq!(list("name=inexistente").await["total"], 0);

    // One product, with the same shape as in the listing.
    let id = p["id"].as_str().unwrap();
    let one = app.get(&format!("{base}/products/{id}"), &auth).await;
    assert_eq!(one.status, 200);
    assert_eq!(&one.body, p);

    // Categories as a tree, brands with their manufacturers.
    let cats = app.get(&format!("{base}/categories"), &auth).await;
    assert_eq!(cats.status, 200);
    let cats = cats.body.as_array().unwrap().clone();
    assert_eq!(cats.len(), 3, "{cats:?}");
    let named = |n: &str| cats.iter().find(|c| c["name"] == n).unwrap().clone();
    assert_eq!(named("Roupas")["parentId"], Value::Null);
    assert_eq!(named("Camisetas")["parentId"], named("Roupas")["id"]);
    assert_eq!(named("Meias")["parentId"], named("Roupas")["id"]);
    assert_eq!(named("Camisetas")["slug"], "camisetas");
    let found = app
        .get(&format!("{base}/categories?name=CAMIS"), &auth)
        .await;
    assert_eq!(found.body.as_array().unwrap().len(), 1);
    let brands = app.get(&format!("{base}/brands"), &auth).await;
    assert_eq!(brands.status, 200);
    assert_eq!(brands.body.as_array().unwrap().len(), 1);
    assert_eq!(brands.body[0]["name"], "Hering");
    assert_eq!(brands.body[0]["manufacturer"]["name"], "Cia Hering");

    // The import job: counts, and the row that failed with its reasons.
    let jobs = app.get(&format!("{base}/imports"), &auth).await;
    assert_eq!(jobs.status, 200);
    assert_eq!(jobs.body.as_array().unwrap().len(), 1);
    assert_eq!(jobs.body[0]["id"], job.as_str());
    assert!(jobs.body[0].get("errors").is_none());
    let j = app.get(&format!("{base}/imports/{job}"), &auth).await;
    assert_eq!(j.status, 200);
    let j = &j.body;
    assert_eq!(j["state"], "finished");
    assert_eq!(
        (
            &j["total"],
            &j["processed"],
            &j["succeeded"],
            &j["failed"],
            &j["pending"]
        ),
        (&7.into(), &7.into(), &6.into(), &1.into(), &0.into())
    );
    assert!(j["finishedAt"].is_string());
    assert!(j["createdAt"].is_string());
    assert_eq!(j["errors"].as_array().unwrap().len(), 1);
    assert_eq!(j["errors"][0]["row"], 6);
    assert_eq!(j["errors"][0]["sku"], "KIT-BAD");
    let reason = j["errors"][0]["reasons"][0].as_str().unwrap();
    assert!(reason.contains("NAO-EXISTE"), "{reason}");

    // Bad parameters name themselves.
    for (q, field) in [
        ("type=bundle", "type"),
        ("priceMin=1.234", "priceMin"),
        ("limit=500", "limit"),
        ("order=random", "order"),
    ] {
        let r = app.get(&format!("{base}/products?{q}"), &auth).await;
        assert_eq!(r.status, 422, "{q}");
        assert_eq!(r.body["error"]["field"], field, "{q}: {:?}", r.body);
    }
    let r = app.get(&format!("{base}/imports?limit=0"), &auth).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["field"], "limit");
}

async fn not_found(app: &TestApp, path: String, auth: &BTreeMap<String, String>) {
    let r = app.get(&path, auth).await;
    assert_eq!(r.status, 404, "{path}: {:?}", r.body);
    assert_eq!(r.body["error"]["code"], "not_found", "{path}");
}

async fn other_tenants_ids_are_not_found(app: TestApp) {
    let (op, token) = app.operator().await;
    let auth = bearer(&token);
    let a = app.seller(&op, "Loja A").await;
    let b = app.seller(&op, "Loja B").await;
    let (op2, token2) = app.operator().await;
    let auth2 = bearer(&token2);
    let c = app.seller(&op2, "Loja C").await;
    let job = import(
        &app,
        &Scope::seller(&op.id, &a.id),
        vec![simple("A-1", "Camiseta", 3000, 1)],
    )
    .await;
    let page = app
        .get(&format!("/api/v1/sellers/{}/products", a.id), &auth)
        .await;
    let id = page.body["items"][0]["id"].as_str().unwrap().to_string();
    let ok = app
        .get(&format!("/api/v1/sellers/{}/products/{id}", a.id), &auth)
        .await;
    assert_eq!(ok.status, 200);

    // A's product and job under seller B's path.
    not_found(
        &app,
        format!("/api/v1/sellers/{}/products/{id}", b.id),
        &auth,
    )
    .await;
    not_found(
        &app,
        format!("/api/v1/sellers/{}/imports/{job}", b.id),
        &auth,
    )
    .await;
    // Another operator's token on A, and the other operator's own seller C's path.
    for path in ["products", "categories", "brands", "imports"] {
        not_found(&app, format!("/api/v1/sellers/{}/{path}", a.id), &auth2).await;
        not_found(&app, format!("/api/v1/sellers/{}/{path}", c.id), &auth).await;
    }
    not_found(
        &app,
        format!("/api/v1/sellers/{}/products/{id}", a.id),
        &auth2,
    )
    .await;
    not_found(
        &app,
        format!("/api/v1/sellers/{}/products/{id}", c.id),
        &auth2,
    )
    .await;
    not_found(
        &app,
        format!("/api/v1/sellers/{}/imports/{job}", c.id),
        &auth2,
    )
    .await;
    // Unknown ids and ids that are not ids.
    not_found(&app, "/api/v1/sellers/nobody/products".into(), &auth).await;
    not_found(
        &app,
        format!("/api/v1/sellers/{}/products/abc", a.id),
        &auth,
    )
    .await;
    not_found(
        &app,
        format!("/api/v1/sellers/{}/products/999999", a.id),
        &auth,
    )
    .await;
    not_found(
        &app,
        format!("/api/v1/sellers/{}/imports/no-such-job", a.id),
        &auth,
    )
    .await;
    // B's catalog is empty, not A's.
    let empty = app
        .get(&format!("/api/v1/sellers/{}/products", b.id), &auth)
        .await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["total"], 0);
    let c_page = app
        .get(&format!("/api/v1/sellers/{}/products", c.id), &auth2)
        .await;
    assert_eq!(c_page.body["total"], 0);
}
