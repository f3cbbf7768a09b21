//! An import survives the server being killed in its middle: the real binary runs a
//! large import job, is SIGKILLed once some steps have landed and others have not,
//! and once started again finishes the job with every product written exactly once
//! (as many products as distinct SKUs, each at version 1, the job's counts adding up,
//! one result per row, every category and brand created once). SQLite and PostgreSQL.
//!
//! The import arrives as a seller's ERP sends it, `POST /00k/catalog/import` with
//! 10,000 products; the test watches the job in the database itself. A killed node's
//! lease on the job must run out before another node takes it over: the servers here
//! run with a lease of two seconds (`import_lease_seconds`), so the restarted one
//! resumes the job two seconds after the kill.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{cli, fresh_database, serve_with_env, Backend, TempDir};

const SHORT_LEASE: &[(&str, &str)] = &[("ENTREPOSTO_IMPORT_LEASE_SECONDS", "2")];
use entreposto::config::Config;
use entreposto_app::catalog::IMPORT_MAX_ROWS;
use entreposto_domain::Scope;
use entreposto_store::{EntityFilter, ImportState, ProductFilter};
use serde_json::{json, Value};

macro_rules! both {
    ($($name:ident),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").is_err() {
                    eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
                    return;
                }
                super::$name(crate::common::Backend::Postgres).await;
            }
        }
    )*};
}

both!(a_killed_import_finishes_once_after_restart);

const CATEGORIES: usize = 12;
const BRANDS: usize = 6;

/// Product `n` of the import, in 00K's shape.
fn row(n: usize) -> Value {
    json!({
        "sku": format!("SKU-{n:05}"), "externalId": format!("EXT-{n}"), "type": "simple",
        "info": {"name": format!("Produto {n}"), "subtitle": "Importação grande",
            "status": 1, "model": format!("M-{}", n % 97)},
        "stock": [{"info": {"quantity": n % 50, "minimum": 0}}],
        "price": [{"list": 10 + n, "value": 9 + n}],
        "dimensions": {"height": 1, "width": 2, "length": 3, "weight": 100},
        "categories": [{"name": format!("Categoria {}", n % CATEGORIES),
            "parent": {"name": "Departamento"}}],
        "brand": {"info": {"name": format!("Marca {}", n % BRANDS)}}
    })
}

async fn a_killed_import_finishes_once_after_restart(backend: Backend) {
    let dir = TempDir::new();
    let db = fresh_database(backend, &dir).await.expect("database");
    let (ok, op, err) = cli(&db, &["operator", "create", "--name", "Marketplace"]);
    assert!(ok, "{err}");
    let op_id = op["id"].as_str().unwrap().to_string();
    let (ok, seller, err) = cli(
        &db,
        &["seller", "create", "--operator", &op_id, "--name", "Loja"],
    );
    assert!(ok, "{err}");
    let scope = Scope::seller(&op_id, seller["id"].as_str().unwrap());
    let store = entreposto::store::open(&Config {
        database_url: db.as_str().into(),
        ..Config::default()
    })
    .await
    .expect("store");
    let total = IMPORT_MAX_ROWS;

    let (ok, cred, err) = cli(
        &db,
        &[
            "credential",
            "create",
            "--seller",
            seller["id"].as_str().unwrap(),
            "--dialect",
            "zerok",
        ],
    );
    assert!(ok, "{err}");
    let token = cred["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .to_string();

    let (mut server, base) = serve_with_env(&db, SHORT_LEASE);
    let body: Vec<Value> = (0..total).map(row).collect();
    let r = reqwest::Client::new()
        .post(format!("{base}/00k/catalog/import"))
        .header("authorization", &token)
        .json(&body)
        .send()
        .await
        .expect("import request");
    assert_eq!(r.status().as_u16(), 202);
    let answer: Value = r.json().await.expect("answer");
    let id = answer["data"]["proccessId"]
        .as_str()
        .expect("proccessId")
        .to_string();
    let job = store.get_import_job(&scope, &id).await.expect("the job");
    // Kill the server once the job is partly done: some steps committed, some not.
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let j = store.get_import_job(&scope, &job.id).await.expect("job");
        if j.processed > 0 {
            server.kill().expect("SIGKILL");
            let _ = server.wait();
            break j;
        }
        assert!(
            Instant::now() < deadline,
            "the server never started the import: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let after_kill = store.get_import_job(&scope, &job.id).await.expect("job");
    assert!(
        after_kill.processed < after_kill.total,
        "the import ended before the kill ({after_kill:?}); it must be killed in its middle"
    );
    eprintln!(
        "killed at {}/{} rows (seen {} just before)",
        after_kill.processed, after_kill.total, at_kill.processed
    );

    // Started again, the server takes the job over once the dead node's lease runs out.
    let (mut server, _base) = serve_with_env(&db, SHORT_LEASE);
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let j = store.get_import_job(&scope, &job.id).await.expect("job");
        if j.state == ImportState::Finished {
            break j;
        }
        assert!(
            Instant::now() < deadline,
            "the import did not resume: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = server.kill();
    let _ = server.wait();

    let total = total as u32;
    assert_eq!(done.total, total);
    assert_eq!(done.processed, total);
    assert_eq!(done.succeeded + done.failed, done.processed);
    assert_eq!(
        done.failed,
        0,
        "{:?}",
        store.import_errors(&scope, &job.id).await
    );
    assert!(done.finished_at.is_some());
    assert!(store
        .import_errors(&scope, &job.id)
        .await
        .unwrap()
        .is_empty());
    // One result per row, each a different product.
    let written = store
        .import_products(&scope, &job.id)
        .await
        .expect("results");
    assert_eq!(written.len(), total as usize);
    let ids: HashSet<i64> = written.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), total as usize, "a row's result is repeated");
    // As many products as SKUs, each written once.
    let all = ProductFilter::default();
    assert_eq!(
        store.count_products(&scope, &all).await.unwrap(),
        u64::from(total)
    );
    let mut skus = HashSet::new();
    let mut offset = 0;
    loop {
        let page = store
            .list_products(
                &scope,
                &ProductFilter {
                    offset,
                    limit: 1000,
                    ..ProductFilter::default()
                },
            )
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        for p in &page {
            assert_eq!(p.version, 1, "{} was written more than once", p.data.sku);
            assert!(
                skus.insert(p.data.sku.clone()),
                "{} is listed twice",
                p.data.sku
            );
        }
        offset += page.len() as u64;
    }
    assert_eq!(skus.len(), total as usize);
    // The categories and brands the rows named were created once each.
    let categories = store
        .list_categories(&scope, &EntityFilter::default())
        .await
        .unwrap();
    assert_eq!(categories.len(), CATEGORIES + 1, "{categories:?}");
    let brands = store
        .list_brands(&scope, &EntityFilter::default())
        .await
        .unwrap();
    assert_eq!(brands.len(), BRANDS);
}
