//! The catalog with several hub nodes on one PostgreSQL database: each node is its
//! own `PgStore` (its own pool) on the same schema, racing the others. Skipped (and
//! says so) when `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use std::collections::HashMap;
use std::sync::Arc;

use entreposto_domain::*;
use entreposto_store::catalog_contract::{new_write, simple_fields};
use entreposto_store::fixtures::world;
use entreposto_store::*;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

const T0: Timestamp = Timestamp(1_700_000_000_000_000);

/// `n` nodes on one fresh schema, or `None` when PostgreSQL is not configured.
async fn nodes(n: usize) -> Option<Vec<Arc<PgStore>>> {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return None;
    };
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(PgStore::connect(&url, 4).await.expect("connect")));
    }
    Some(out)
}

fn draft(sku: &str) -> ProductDraft {
    ProductDraft {
        sku: Some(sku.into()),
        kind: Some(ProductKind::Simple),
        fields: simple_fields("Camiseta", Some(100)),
        ..Default::default()
    }
}

/// Four nodes claiming at once, each until nothing is left: every job is taken by
/// exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_never_claim_the_same_job() {
    let Some(nodes) = nodes(4).await else { return };
    let w = world(&*nodes[0]).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let mut ids = Vec::new();
    for n in 0..24 {
        let job = NewImportJob {
            id: new_id(),
            verify_categories: false,
            verify_brands: false,
            rows: vec![draft(&format!("S-{n}"))],
            created_at: Timestamp(T0.0 + n),
        };
        ids.push(
            nodes[n as usize % 4]
                .create_import_job(&scope, job)
                .await
                .unwrap()
                .id,
        );
    }
    let now = Timestamp(T0.0 + 1_000_000);
    let until = Timestamp(now.0 + 60_000_000);
    let claims = nodes.iter().cloned().enumerate().map(|(i, node)| {
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = node.claim_import_job(now, until).await.unwrap() {
                assert_eq!(job.state, ImportState::Running);
                mine.push((job.id, i));
            }
            mine
        })
    });
    let mut holder: HashMap<String, usize> = HashMap::new();
    for c in claims {
        for (job, node) in c.await.unwrap() {
            assert!(
                holder.insert(job.clone(), node).is_none(),
                "{job} claimed twice"
            );
        }
    }
    let mut claimed: Vec<String> = holder.into_keys().collect();
    claimed.sort();
    ids.sort();
    assert_eq!(claimed, ids);
    // Held until `until`: nobody takes them back before.
    assert!(nodes[0]
        .claim_import_job(until, until)
        .await
        .unwrap()
        .is_none());
}

/// Two nodes saving the same import step at once (both took the job, one after its
/// lease ran out): one lands, the other is `Stale`, and the product is written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_steps_land_once() {
    let Some(nodes) = nodes(2).await else { return };
    let w = world(&*nodes[0]).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    for round in 0..8 {
        let job = nodes[0]
            .create_import_job(
                &scope,
                NewImportJob {
                    id: new_id(),
                    verify_categories: false,
                    verify_brands: false,
                    rows: vec![draft("X")],
                    created_at: T0,
                },
            )
            .await
            .unwrap();
        let sku = format!("R-{round}");
        let step = |node: usize| CatalogChange {
            now: T0,
            new_categories: vec![NewCategory {
                parent: None,
                name: format!("Categoria {round} {node}"),
                description: None,
                slug: "c".into(),
                keywords: None,
                image_source: None,
                external_id: None,
            }],
            products: vec![new_write(
                &sku,
                ProductKind::Simple,
                simple_fields("Camiseta", Some(100)),
            )],
            step: Some(ImportStep {
                job_id: job.id.clone(),
                from: 0,
                outcomes: vec![(Some(sku.clone()), RowOutcome::Written { product: 0 })],
                finished: true,
                events: vec![],
            }),
            ..Default::default()
        };
        let (a, b) = tokio::join!(
            nodes[0].save_catalog(&scope, step(0)),
            nodes[1].save_catalog(&scope, step(1)),
        );
        let stale = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Stale)))
            .count();
        assert_eq!(
            (a.is_ok() as u8 + b.is_ok() as u8, stale),
            (1, 1),
            "{a:?} {b:?}"
        );
        let filter = ProductFilter {
            sku: Some(sku.clone()),
            ..Default::default()
        };
        assert_eq!(nodes[1].count_products(&scope, &filter).await.unwrap(), 1);
        // The loser's category went with its change.
        let cats = nodes[1]
            .list_categories(
                &scope,
                &EntityFilter {
                    name: Some(format!("categoria {round} ")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(cats.len(), 1, "{cats:?}");
        let j = nodes[1].get_import_job(&scope, &job.id).await.unwrap();
        assert_eq!(
            (j.state, j.processed, j.succeeded),
            (ImportState::Finished, 1, 1)
        );
    }
}

/// Two nodes creating the same root category at once: the second waits on the first
/// and gets `Conflict` naming the name, writing nothing of its change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_category_taken_meanwhile_conflicts() {
    let Some(nodes) = nodes(2).await else { return };
    let w = world(&*nodes[0]).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let change = |sku: &str| CatalogChange {
        now: T0,
        new_categories: vec![NewCategory {
            parent: None,
            name: "Moda".into(),
            description: None,
            slug: "moda".into(),
            keywords: None,
            image_source: None,
            external_id: None,
        }],
        products: vec![ProductWrite {
            categories: vec![Link::New(0)],
            ..new_write(sku, ProductKind::Simple, simple_fields("Camiseta", Some(1)))
        }],
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        nodes[0].save_catalog(&scope, change("A")),
        nodes[1].save_catalog(&scope, change("B")),
    );
    let conflicts: Vec<_> = [&a, &b]
        .into_iter()
        .filter_map(|r| match r {
            Err(StoreError::Conflict(m)) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(conflicts.len(), 1, "{a:?} {b:?}");
    assert!(conflicts[0].contains("name"), "{}", conflicts[0]);
    assert_eq!(
        nodes[0]
            .count_products(&scope, &ProductFilter::default())
            .await
            .unwrap(),
        1
    );
}
