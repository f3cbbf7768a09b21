//! Import jobs (stored with their rows; claimed by one node at a time under a lease)
//! and the bulk load of simple products.
//!
//! A claim is one `UPDATE` of the oldest claimable job picked `FOR UPDATE SKIP
//! LOCKED`: nodes claiming at once each lock a different candidate instead of
//! queueing on the same one, and a job one node holds (its lease in the future) is
//! not claimable by another. The job's progress is written by the steps of
//! [`super::write`], each with its results.

use deadpool_postgres::GenericClient;
use entreposto_domain::*;
use entreposto_store::catalog_json::{decode_draft, encode_draft};
use entreposto_store::*;
use tokio_postgres::Row;

use super::write::{ChildRows, ProductRows, Writer};
use super::{catalog_err, read, writing_seller};
use crate::{map_err, PgStore};

const JOB_COLS: &str = "id, operator_id, seller_id, state, verify_categories, verify_brands, \
    total, processed, succeeded, failed, created_at, updated_at, finished_at";

fn job_from_row(r: &Row) -> Result<ImportJob> {
    let state = match r.get::<_, &str>(3) {
        "pending" => ImportState::Pending,
        "running" => ImportState::Running,
        "finished" => ImportState::Finished,
        other => return Err(StoreError::Other(format!("unknown job state '{other}'"))),
    };
    let count = |i: usize| r.get::<_, i64>(i) as u32;
    Ok(ImportJob {
        id: r.get(0),
        operator_id: r.get(1),
        seller_id: r.get(2),
        state,
        verify_categories: r.get(4),
        verify_brands: r.get(5),
        total: count(6),
        processed: count(7),
        succeeded: count(8),
        failed: count(9),
        created_at: Timestamp(r.get(10)),
        updated_at: Timestamp(r.get(11)),
        finished_at: r.get::<_, Option<i64>>(12).map(Timestamp),
    })
}

/// The scope over `import_jobs` for a cached statement (operator `$2`, seller `$3`
/// or NULL): a job is found by its primary key, so the seller's condition needs no
/// index.
const JOB_SCOPE: &str = "operator_id = $2 AND ($3::text IS NULL OR seller_id = $3)";

pub(super) async fn create_import_job(
    store: &PgStore,
    scope: &Scope,
    job: NewImportJob,
) -> Result<ImportJob> {
    let seller = writing_seller(scope)?;
    let drafts: Vec<String> = job.rows.iter().map(encode_draft).collect();
    let total = drafts.len() as i64;
    let mut c = store.conn().await?;
    let tx = c.transaction().await.map_err(map_err)?;
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO import_jobs (id, operator_id, seller_id, state, verify_categories,
               verify_brands, total, processed, succeeded, failed, created_at, updated_at)
             VALUES ($1, $2, $3, 'pending', $4, $5, $6, 0, 0, 0, $7, $7)
             RETURNING {JOB_COLS}"
        ))
        .await
        .map_err(map_err)?;
    let row = tx
        .query_one(
            &stmt,
            &[
                &job.id,
                &scope.operator_id,
                &seller,
                &job.verify_categories,
                &job.verify_brands,
                &total,
                &job.created_at.0,
            ],
        )
        .await
        .map_err(catalog_err)?;
    if !drafts.is_empty() {
        // Rows are numbered from 0 in the order given, as the job's cursor counts.
        let stmt = tx
            .prepare_cached(
                "INSERT INTO import_rows (job_id, row, draft)
                 SELECT $1, u.n - 1, u.draft FROM UNNEST($2::text[]) WITH ORDINALITY AS u(draft, n)",
            )
            .await
            .map_err(map_err)?;
        tx.execute(&stmt, &[&job.id, &drafts])
            .await
            .map_err(catalog_err)?;
    }
    tx.commit().await.map_err(map_err)?;
    job_from_row(&row)
}

pub(super) async fn get_import_job(store: &PgStore, scope: &Scope, id: &str) -> Result<ImportJob> {
    let c = store.conn().await?;
    job_in_scope(&c, scope, id).await
}

pub(super) async fn job_in_scope(
    c: &impl GenericClient,
    scope: &Scope,
    id: &str,
) -> Result<ImportJob> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {JOB_COLS} FROM import_jobs WHERE id = $1 AND {JOB_SCOPE}"
        ))
        .await
        .map_err(map_err)?;
    let row = c
        .query_opt(&stmt, &[&id, &scope.operator_id, &scope.seller_id])
        .await
        .map_err(map_err)?
        .ok_or(StoreError::NotFound)?;
    job_from_row(&row)
}

pub(super) async fn list_import_jobs(
    store: &PgStore,
    scope: &Scope,
    limit: u32,
) -> Result<Vec<ImportJob>> {
    let c = store.conn().await?;
    let mut p = crate::Params::default();
    let mut sql = format!(
        "SELECT {JOB_COLS} FROM import_jobs WHERE TRUE{}",
        p.scope(scope, "")
    );
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        p.push(i64::from(limit))
    ));
    let rows = c.query(&sql, &p.refs()).await.map_err(map_err)?;
    rows.iter().map(job_from_row).collect()
}

pub(super) async fn import_rows(
    store: &PgStore,
    job_id: &str,
    from: u32,
    limit: u32,
) -> Result<Vec<(u32, ProductDraft)>> {
    let c = store.conn().await?;
    let stmt = c
        .prepare_cached(
            "SELECT row, draft FROM import_rows WHERE job_id = $1 AND row >= $2 AND row < $2 + $3
             ORDER BY row",
        )
        .await
        .map_err(map_err)?;
    let rows = c
        .query(&stmt, &[&job_id, &i64::from(from), &i64::from(limit)])
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let n = r.get::<_, i64>(0) as u32;
            let draft = decode_draft(r.get(1))
                .map_err(|e| StoreError::Other(format!("job {job_id} row {n}: {e}")))?;
            Ok((n, draft))
        })
        .collect()
}

pub(super) async fn import_errors(
    store: &PgStore,
    scope: &Scope,
    id: &str,
) -> Result<Vec<RowError>> {
    let c = store.conn().await?;
    job_in_scope(&c, scope, id).await?;
    let stmt = c
        .prepare_cached(
            "SELECT row, sku, errors FROM import_results
             WHERE job_id = $1 AND errors IS NOT NULL ORDER BY row",
        )
        .await
        .map_err(map_err)?;
    let rows = c.query(&stmt, &[&id]).await.map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let row = r.get::<_, i64>(0) as u32;
            let reasons: Vec<String> = serde_json::from_str(r.get(2)).map_err(|e| {
                StoreError::Other(format!("job {id} row {row}: corrupt errors: {e}"))
            })?;
            Ok(RowError {
                row,
                sku: r.get(1),
                reasons,
            })
        })
        .collect()
}

pub(super) async fn import_products(
    store: &PgStore,
    scope: &Scope,
    id: &str,
) -> Result<Vec<Product>> {
    let c = store.conn().await?;
    job_in_scope(&c, scope, id).await?;
    // A product written by several rows is listed once, at its first.
    let stmt = c
        .prepare_cached(
            "SELECT product_id FROM import_results WHERE job_id = $1 AND product_id IS NOT NULL
             GROUP BY product_id ORDER BY MIN(row)",
        )
        .await
        .map_err(map_err)?;
    let ids: Vec<i64> = c
        .query(&stmt, &[&id])
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    read::products_by_ids(&c, scope, &ids).await
}

pub(super) async fn claim_import_job(
    store: &PgStore,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Option<ImportJob>> {
    let c = store.conn().await?;
    let stmt = c
        .prepare_cached(&format!(
            "UPDATE import_jobs SET state = 'running', lease_until = $2
             WHERE id = (SELECT id FROM import_jobs
                         WHERE state <> 'finished' AND (lease_until IS NULL OR lease_until < $1)
                         ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING {JOB_COLS}"
        ))
        .await
        .map_err(map_err)?;
    let row = c
        .query_opt(&stmt, &[&now.0, &lease_until.0])
        .await
        .map_err(map_err)?;
    row.as_ref().map(job_from_row).transpose()
}

pub(super) async fn renew_import_job(
    store: &PgStore,
    id: &str,
    lease_until: Timestamp,
) -> Result<()> {
    let c = store.conn().await?;
    let stmt = c
        .prepare_cached("UPDATE import_jobs SET lease_until = $2 WHERE id = $1")
        .await
        .map_err(map_err)?;
    let n = c
        .execute(&stmt, &[&id, &lease_until.0])
        .await
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Products per statement of a bulk load: large enough that round trips do not
/// count, small enough that one statement's arrays stay a few megabytes.
const BULK_CHUNK: usize = 5_000;

pub(super) async fn import_products_bulk(
    store: &PgStore,
    scope: &Scope,
    products: &[(String, ProductFields)],
    now: Timestamp,
) -> Result<u64> {
    let seller = writing_seller(scope)?;
    let mut c = store.conn().await?;
    let tx = c.transaction().await.map_err(map_err)?;
    let w = Writer {
        tx: &tx,
        operator: &scope.operator_id,
        seller,
        now: now.0,
    };
    let ids_stmt = tx
        .prepare_cached(
            "SELECT nextval(pg_get_serial_sequence('products', 'id'))
             FROM generate_series(1, $1::int8)",
        )
        .await
        .map_err(map_err)?;
    for chunk in products.chunks(BULK_CHUNK) {
        let mut ids: Vec<i64> = tx
            .query(&ids_stmt, &[&(chunk.len() as i64)])
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        ids.sort_unstable();
        let mut rows = ProductRows::default();
        let mut children = ChildRows::default();
        for (&id, (sku, fields)) in ids.iter().zip(chunk) {
            rows.push(id, 0, sku, ProductKind::Simple, fields, None, None);
            children.push(id, fields, &[], &[]);
        }
        w.insert_products(&rows).await?;
        w.insert_children(&children).await?;
    }
    tx.commit().await.map_err(map_err)?;
    store.grew(
        &store.products_grown,
        products.len() as u64,
        crate::PRODUCTS_STATISTICS,
    );
    Ok(products.len() as u64)
}
