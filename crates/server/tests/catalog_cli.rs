//! `entreposto catalog import` through the real binary, on both backends: a CSV
//! spreadsheet (variations, kits, attributes) and a 00K JSON body, the summary it
//! prints, the failed-rows file in the input's own format fixed and imported again,
//! and a file with invalid rows refused whole.

mod common;

use std::path::Path;

use common::{cli, fresh_database, Backend, TempDir};
use entreposto::config::Config;
use entreposto_domain::ProductKind;
use entreposto_domain::Scope;
use entreposto_store::{EntityFilter, ProductFilter, ProductKey, Store};
use serde_json::{json, Value};

on_both_databases!(
    csv_import_and_failed_rows_round_trip,
    json_import_and_failed_rows_round_trip,
    a_failed_group_brings_its_variations,
    invalid_rows_refuse_the_whole_file,
    demo_fills_catalogs_that_orders_name
);

/// A database with an operator and a seller: (dir, url, seller id, its scope, store).
async fn setup(backend: Backend) -> (TempDir, String, String, Scope, std::sync::Arc<dyn Store>) {
    let dir = TempDir::new();
    let db = fresh_database(backend, &dir).await.expect("database");
    let (ok, op, err) = cli(&db, &["operator", "create", "--name", "Marketplace"]);
    assert!(ok, "{err}");
    let op_id = op["id"].as_str().unwrap().to_string();
    let (ok, seller, err) = cli(
        &db,
        &["seller", "create", "--operator", &op_id, "--name", "Loja A"],
    );
    assert!(ok, "{err}");
    let seller_id = seller["id"].as_str().unwrap().to_string();
    let store = entreposto::store::open(&Config {
        database_url: db.as_str().into(),
        ..Config::default()
    })
    .await
    .expect("store");
    let scope = Scope::seller(op_id, &seller_id);
    (dir, db, seller_id, scope, store)
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("write file");
    path.display().to_string()
}

async fn count(store: &dyn Store, scope: &Scope) -> u64 {
    store
        .count_products(scope, &ProductFilter::default())
        .await
        .expect("count")
}

const HEADER: &str = "sku,type,parent,name,subtitle,status,model,quantity,minimum,priceList,priceValue,height,width,length,weight,categories,brand,manufacturer,ean,images,attr:Tamanho,components";

const CSV: &str = "\
CAM,group,,Camiseta Básica,Algodão,1,CB-1,,,,,2,30,40,250,Roupas > Camisetas,Hering,Cia Hering,,,,
CAM-P,,CAM,Camiseta Básica P,Algodão,1,CB-1,7,1,59.90,\"49,90\",2,30,40,250,Roupas > Camisetas,Hering,Cia Hering,7891234567895,https://img.example.com.br/p.jpg|https://img.example.com.br/p2.jpg,P,
CAM-M,simple,CAM,Camiseta Básica M,Algodão,ativo,CB-1,3,1,59.90,49.90,2,30,40,250,Roupas > Camisetas,Hering,,,,M,
MEIA,simple,,Meia Esportiva,Cano alto,1,ME-1,5,0,,19.90,1,10,20,50,Roupas > Meias,,,,,,
KIT,kit,,Kit Camiseta e Meia,Duas camisetas e uma meia,1,KIT-1,,,,89.90,3,30,40,550,,,,,,,CAM-P*2|MEIA
KIT-BAD,kit,,Kit Impossível,Um componente que não existe,1,KIT-2,,,,10.00,1,1,1,1,,,,,,,NAO-EXISTE*1
";

async fn csv_import_and_failed_rows_round_trip(backend: Backend) {
    let (dir, db, seller, scope, store) = setup(backend).await;
    let file = write(&dir.0.join("produtos.csv"), &format!("{HEADER}\n{CSV}"));
    let (ok, out, err) = cli(&db, &["catalog", "import", &file, "--seller", &seller]);
    assert!(ok, "{err}\n{out}");
    assert_eq!(out["format"], "csv");
    assert_eq!(out["rows"], 6);
    assert_eq!(
        (&out["created"], &out["updated"], &out["failed"]),
        (&json!(5), &json!(0), &json!(1))
    );
    assert_eq!(out["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(out["errors"][0]["sku"], "KIT-BAD");
    assert_eq!(out["errors"][0]["row"], 7, "the CSV line of KIT-BAD");
    let reason = out["errors"][0]["reasons"][0].as_str().unwrap();
    assert!(reason.contains("NAO-EXISTE"), "{reason}");
    // The job is the one the native API and 00K show.
    let job = store
        .get_import_job(&scope, out["jobs"][0].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!((job.total, job.succeeded, job.failed), (6, 5, 1));

    // What was written, read back.
    assert_eq!(count(&*store, &scope).await, 5);
    let p = store
        .get_product(&scope, &ProductKey::Sku("CAM-P".into()))
        .await
        .unwrap();
    let f = &p.data.fields;
    assert_eq!(f.price.unwrap().value.0, 4990);
    assert_eq!(f.price.unwrap().list.0, 5990);
    assert_eq!(f.stock[0].quantity, 7);
    assert_eq!(f.images.len(), 2);
    assert_eq!(f.gtins.ean.as_ref().unwrap().as_str(), "7891234567895");
    assert_eq!(f.attribute_groups[0].name, "Tamanho");
    assert_eq!(f.attribute_groups[0].attribute_value, "P");
    assert_eq!(p.data.category_ids.len(), 1);
    assert!(p.data.brand_id.is_some() && p.data.manufacturer_id.is_some());
    let group = store
        .get_product(&scope, &ProductKey::Sku("CAM".into()))
        .await
        .unwrap();
    let parts: Vec<&str> = group
        .data
        .fields
        .parts
        .iter()
        .map(|p| p.sku.as_str())
        .collect();
    assert_eq!(parts, ["CAM-P", "CAM-M"]);
    let kit = store
        .get_product(&scope, &ProductKey::Sku("KIT".into()))
        .await
        .unwrap();
    assert_eq!(kit.data.fields.parts[0].quantity, 2);

    // The failed rows, under the same header, exactly as they were.
    let failed = out["failedFile"].as_str().unwrap();
    assert_eq!(
        failed,
        dir.0.join("produtos.failed.csv").display().to_string()
    );
    let text = std::fs::read_to_string(failed).unwrap();
    let bad_line = CSV.lines().last().unwrap();
    assert_eq!(text, format!("{HEADER}\n{bad_line}\n"));
    // Fixed, they import.
    write(Path::new(failed), &text.replace("NAO-EXISTE*1", "MEIA*3"));
    let (ok, again, err) = cli(&db, &["catalog", "import", failed, "--seller", &seller]);
    assert!(ok, "{err}");
    assert_eq!(
        (&again["created"], &again["failed"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(again["failedFile"], Value::Null);
    assert_eq!(count(&*store, &scope).await, 6);

    // The whole file again: every row that was written is an update now.
    let elsewhere = dir.0.join("falhas.csv").display().to_string();
    let (ok, third, err) = cli(
        &db,
        &[
            "catalog", "import", &file, "--seller", &seller, "--failed", &elsewhere,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        (&third["created"], &third["updated"], &third["failed"]),
        (&json!(0), &json!(5), &json!(1))
    );
    assert_eq!(third["failedFile"], elsewhere.as_str());
    assert!(Path::new(&elsewhere).exists());
    let p = store
        .get_product(&scope, &ProductKey::Sku("CAM-P".into()))
        .await
        .unwrap();
    assert_eq!(p.version, 2);
    assert_eq!(count(&*store, &scope).await, 6);
}

/// A 00K simple product; its `externalId` a number, as the document's example sends it.
fn zerok_product(sku: &str, external_id: u64, name: &str) -> Value {
    json!({
        "sku": sku, "externalId": external_id, "type": "simple",
        "info": {"name": name, "subtitle": "Produto de teste", "status": 1, "published": "publicado", "model": "MOD-1"},
        "stock": [{"info": {"quantity": 15, "minimum": 2}}],
        "price": [{"list": 500, "value": 499.99}],
        "dimensions": {"height": 45, "width": 35, "length": 25, "weight": 500},
        "categories": [{"name": "Eletrônicos", "slug": "eletronicos"}],
        "brand": {"info": {"name": "Marca X"}, "manufacturer": {"name": "Fábrica X"}},
        "images": [{"source": "https://img.example.com.br/a.jpg"}]
    })
}

async fn json_import_and_failed_rows_round_trip(backend: Backend) {
    let (dir, db, seller, scope, store) = setup(backend).await;
    let bad = json!({
        "sku": "KIT-X", "type": "kit",
        "info": {"name": "Kit", "subtitle": "Dois fones", "status": "ativo", "model": "K"},
        "price": [{"list": 900, "value": 899.90}],
        "dimensions": {"height": 1, "width": 1, "length": 1, "weight": 1},
        "simple": [{"sku": "NAO-EXISTE", "type": "simple", "quantity": 2}]
    });
    let body = json!([
        zerok_product("FONE-1", 1006, "Fone Bluetooth"),
        bad,
        zerok_product("FONE-2", 1007, "Fone com fio")
    ]);
    // Any name: the first character says JSON.
    let file = write(
        &dir.0.join("lote"),
        &serde_json::to_string_pretty(&body).unwrap(),
    );
    let (ok, out, err) = cli(&db, &["catalog", "import", &file, "--seller", &seller]);
    assert!(ok, "{err}\n{out}");
    assert_eq!(out["format"], "json");
    assert_eq!((&out["created"], &out["failed"]), (&json!(2), &json!(1)));
    assert_eq!(
        out["errors"][0]["row"], 1,
        "the array index, as 00K's itemIndex"
    );
    assert_eq!(out["errors"][0]["sku"], "KIT-X");
    let p = store
        .get_product(&scope, &ProductKey::Sku("FONE-1".into()))
        .await
        .unwrap();
    assert_eq!(p.data.fields.price.unwrap().value.0, 49999);
    assert_eq!(p.data.fields.external_id.as_deref(), Some("1006"));
    assert!(p.data.fields.info.published);

    // The failed file is an array of the original objects.
    let failed = out["failedFile"].as_str().unwrap();
    assert_eq!(failed, dir.0.join("lote.failed.json").display().to_string());
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(failed).unwrap()).unwrap();
    assert_eq!(kept, json!([bad]));
    let mut fixed = kept;
    fixed[0]["simple"][0]["sku"] = "FONE-1".into();
    write(Path::new(failed), &fixed.to_string());
    let (ok, again, err) = cli(&db, &["catalog", "import", failed, "--seller", &seller]);
    assert!(ok, "{err}");
    assert_eq!(
        (&again["created"], &again["failed"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(count(&*store, &scope).await, 3);

    // One object alone is an import of one.
    let single = write(
        &dir.0.join("um.json"),
        &zerok_product("FONE-1", 1006, "Fone Bluetooth v2").to_string(),
    );
    let (ok, one, err) = cli(&db, &["catalog", "import", &single, "--seller", &seller]);
    assert!(ok, "{err}");
    assert_eq!((&one["rows"], &one["updated"]), (&json!(1), &json!(1)));
    let p = store
        .get_product(&scope, &ProductKey::Sku("FONE-1".into()))
        .await
        .unwrap();
    assert_eq!(p.data.fields.info.name, "Fone Bluetooth v2");
}

async fn a_failed_group_brings_its_variations(backend: Backend) {
    let (dir, db, seller, scope, store) = setup(backend).await;
    let text = "sku,type,parent,name,subtitle,model,quantity,priceValue,height,width,length,weight,brand,attr:Tamanho\n\
        G1-P,simple,G1,Vestido P,Linho,V1,2,99.90,1,1,1,300,,P\n\
        AVULSO,simple,,Lenço,Seda,L1,1,29.90,1,1,1,50,,\n\
        G1,group,,Vestido,Linho,V1,,,1,1,1,300,Marca Que Não Existe,\n\
        G1-M,simple,G1,Vestido M,Linho,V1,4,99.90,1,1,1,300,,M\n";
    let file = write(&dir.0.join("vestidos.csv"), text);
    // Brands must exist: the group's does not, so the group fails; its variations,
    // which name no brand, are written.
    let (ok, out, err) = cli(
        &db,
        &[
            "catalog",
            "import",
            &file,
            "--seller",
            &seller,
            "--verify-brands",
        ],
    );
    assert!(ok, "{err}\n{out}");
    assert_eq!((&out["created"], &out["failed"]), (&json!(3), &json!(1)));
    assert_eq!(out["errors"][0]["sku"], "G1");
    assert_eq!(out["errors"][0]["row"], 4);
    assert_eq!(count(&*store, &scope).await, 3);
    // The group cannot be imported again without the rows that name it: they come
    // along, in the file's order.
    let failed = std::fs::read_to_string(out["failedFile"].as_str().unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        failed,
        format!("{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[3], lines[4])
    );
}

async fn invalid_rows_refuse_the_whole_file(backend: Backend) {
    let (dir, db, seller, scope, store) = setup(backend).await;
    let text = format!(
        "{HEADER}\n{}\n{}\n{}\n",
        // Fine.
        "OK-1,simple,,Camiseta,Algodão,1,M,1,0,,10.00,1,1,1,1,,,,,,,",
        // No name, and a price that is not a whole number of centavos.
        "BAD-1,simple,,,Algodão,1,M,1,0,,10.001,1,1,1,1,,,,,,,",
        // A type that does not exist.
        "BAD-2,bundle,,Camiseta,Algodão,1,M,1,0,,10.00,1,1,1,1,,,,,,,",
    );
    let file = write(&dir.0.join("ruim.csv"), &text);
    let (ok, out, err) = cli(&db, &["catalog", "import", &file, "--seller", &seller]);
    assert!(!ok, "{out}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(out["imported"], false);
    let invalid = out["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 2, "{invalid:?}");
    assert_eq!(invalid[0]["row"], 3);
    assert_eq!(invalid[0]["sku"], "BAD-1");
    let reasons: Vec<&str> = invalid[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("priceValue: ")),
        "{reasons:?}"
    );
    assert_eq!(invalid[1]["row"], 4);
    assert!(invalid[1]["reasons"][0]
        .as_str()
        .unwrap()
        .starts_with("type: "));
    assert_eq!(count(&*store, &scope).await, 0);
    assert!(store.list_import_jobs(&scope, 10).await.unwrap().is_empty());
    assert!(!dir.0.join("ruim.failed.csv").exists());

    // JSON: a field rule broken in one item refuses the array, naming its index.
    let mut second = zerok_product("B", 2, "Fone");
    second["info"]["subtitle"] = "x".repeat(141).into();
    let body = json!([zerok_product("A", 1, "Fone"), second]);
    let file = write(&dir.0.join("ruim.json"), &body.to_string());
    let (ok, out, _) = cli(&db, &["catalog", "import", &file, "--seller", &seller]);
    assert!(!ok);
    assert_eq!(out["invalid"][0]["row"], 1);
    assert!(out["invalid"][0]["reasons"][0]
        .as_str()
        .unwrap()
        .starts_with("info.subtitle: "));
    // A broken file, and an unknown seller, are errors too.
    let file = write(&dir.0.join("quebrado.csv"), "sku,preco\nA,1\n");
    let (ok, _, err) = cli(&db, &["catalog", "import", &file, "--seller", &seller]);
    assert!(!ok);
    assert!(err.contains("unknown column 'preco'"), "{err}");
    let (ok, _, err) = cli(&db, &["catalog", "import", &file, "--seller", "ninguem"]);
    assert!(!ok);
    assert!(err.contains("ninguem"), "{err}");
    assert_eq!(count(&*store, &scope).await, 0);
}

/// `entreposto demo --products N`: each seller's catalog has N products of every
/// type, linked to a category tree and brands, and the demo orders name them.
async fn demo_fills_catalogs_that_orders_name(backend: Backend) {
    let dir = TempDir::new();
    let db = fresh_database(backend, &dir).await.expect("database");
    let (ok, out, err) = cli(
        &db,
        &[
            "demo",
            "--orders",
            "60",
            "--sellers",
            "2",
            "--products",
            "300",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out["products"], 600);
    let store = entreposto::store::open(&Config {
        database_url: db.as_str().into(),
        ..Config::default()
    })
    .await
    .expect("store");
    let op = out["operator"]["id"].as_str().unwrap();
    for seller in out["sellers"].as_array().unwrap() {
        assert_eq!(seller["products"], 300);
        let scope = Scope::seller(op, seller["id"].as_str().unwrap());
        assert_eq!(count(&*store, &scope).await, 300);
        let of = |kind| ProductFilter {
            kind: Some(kind),
            limit: 300,
            ..ProductFilter::default()
        };
        let groups = store
            .list_products(&scope, &of(ProductKind::Group))
            .await
            .unwrap();
        assert!(!groups.is_empty());
        for g in &groups {
            let sizes: Vec<String> = store
                .find_products(
                    &scope,
                    &g.data
                        .fields
                        .parts
                        .iter()
                        .map(|p| ProductKey::Sku(p.sku.clone()))
                        .collect::<Vec<_>>(),
                )
                .await
                .unwrap()
                .iter()
                .map(|v| v.data.fields.attribute_groups[0].attribute_value.clone())
                .collect();
            let mut sorted = sizes.clone();
            sorted.sort();
            assert_eq!(sorted, ["G", "M", "P"], "{}", g.data.sku);
        }
        let kits = store
            .list_products(&scope, &of(ProductKind::Kit))
            .await
            .unwrap();
        assert!(!kits.is_empty());
        assert!(kits.iter().all(|k| k.data.fields.parts.len() == 2));
        let linked = store
            .list_products(&scope, &of(ProductKind::Simple))
            .await
            .unwrap();
        assert!(linked
            .iter()
            .any(|p| p.data.brand_id.is_some() && !p.data.category_ids.is_empty()));
        let categories = store
            .list_categories(&scope, &EntityFilter::default())
            .await
            .unwrap();
        assert!(categories.iter().any(|c| c.parent_id.is_none()));
        assert!(categories.iter().any(|c| c.parent_id.is_some()));
        let brands = store
            .list_brands(&scope, &EntityFilter::default())
            .await
            .unwrap();
        assert!(brands.iter().all(|b| b.manufacturer_id.is_some()));
    }
    // Every order item is a product of the order's seller.
    let mut seen = 0;
    for id in 1..=60 {
        let Ok(order) = store.get_order(&Scope::operator(op), id).await else {
            continue;
        };
        seen += 1;
        let scope = Scope::seller(op, &order.data.seller_id);
        for item in &order.data.items {
            let p = store
                .get_product(&scope, &ProductKey::Sku(item.sku.clone()))
                .await
                .unwrap_or_else(|e| panic!("order {id} names {}: {e:?}", item.sku));
            assert_eq!(p.data.fields.price.map(|p| p.value), Some(item.unit_price));
        }
    }
    assert!(seen >= 50, "only {seen} orders found by id");
}
