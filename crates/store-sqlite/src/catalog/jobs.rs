//! Durable import jobs: the job row with its counts and lease, its rows (the drafts as
//! validated, `catalog_json`) and one result per row done. A step's results are
//! written by [`super::write::save_change`] with the products they name.

use entreposto_domain::*;
use entreposto_store::catalog_json::{decode_draft, encode_draft};
use entreposto_store::*;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::read::{fill, PRODUCT_COLS};
use super::{clash, corrupt, in_list, scope_sql, CHUNK};
use crate::map_err;

const JOB_COLS: &str = "j.id, j.operator_id, j.seller_id, j.state, j.verify_categories, \
     j.verify_brands, j.total, j.processed, j.succeeded, j.failed, j.created_at, j.updated_at, \
     j.finished_at";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<ImportJob> {
    let state = match r.get_ref(3)?.as_str()? {
        "pending" => ImportState::Pending,
        "running" => ImportState::Running,
        "finished" => ImportState::Finished,
        other => return Err(corrupt(3, format!("unknown import state '{other}'"))),
    };
    Ok(ImportJob {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        seller_id: r.get(2)?,
        state,
        verify_categories: r.get(4)?,
        verify_brands: r.get(5)?,
        total: r.get(6)?,
        processed: r.get(7)?,
        succeeded: r.get(8)?,
        failed: r.get(9)?,
        created_at: Timestamp(r.get(10)?),
        updated_at: Timestamp(r.get(11)?),
        finished_at: r.get::<_, Option<i64>>(12)?.map(Timestamp),
    })
}

/// Stores a new job, pending, with its rows.
pub(super) fn create(c: &Connection, scope: &Scope, job: &NewImportJob) -> Result<ImportJob> {
    let seller = scope
        .seller_id
        .as_deref()
        .ok_or_else(super::write::no_seller)?;
    let stored = ImportJob {
        id: job.id.clone(),
        operator_id: scope.operator_id.clone(),
        seller_id: seller.into(),
        state: ImportState::Pending,
        verify_categories: job.verify_categories,
        verify_brands: job.verify_brands,
        total: u32::try_from(job.rows.len())
            .map_err(|_| StoreError::Other("an import job holds at most 2^32 rows".into()))?,
        processed: 0,
        succeeded: 0,
        failed: 0,
        created_at: job.created_at,
        updated_at: job.created_at,
        finished_at: None,
    };
    // The (seller, operator) foreign key refuses a seller outside the operator; the
    // check first makes that `NotFound`, as for every other write.
    c.prepare_cached("SELECT 1 FROM sellers WHERE id = ?1 AND operator_id = ?2")
        .and_then(|mut s| {
            s.query_row(params![seller, scope.operator_id], |_| Ok(()))
                .optional()
        })
        .map_err(map_err)?
        .ok_or(StoreError::NotFound)?;
    c.prepare_cached(
        "INSERT INTO import_jobs (id, operator_id, seller_id, state, verify_categories,
         verify_brands, total, processed, succeeded, failed, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, 0, ?8, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            stored.id,
            stored.operator_id,
            stored.seller_id,
            stored.state.as_str(),
            stored.verify_categories,
            stored.verify_brands,
            stored.total,
            stored.created_at.0
        ])
    })
    .map_err(|e| clash(e, |_| format!("import job '{}' already exists", job.id)))?;
    let mut s = c
        .prepare_cached("INSERT INTO import_rows (job_id, row, draft) VALUES (?1, ?2, ?3)")
        .map_err(map_err)?;
    for (n, draft) in job.rows.iter().enumerate() {
        s.execute(params![job.id, n as i64, encode_draft(draft)])
            .map_err(map_err)?;
    }
    Ok(stored)
}

pub(super) fn get(c: &Connection, scope: &Scope, id: &str) -> Result<ImportJob> {
    let mut params = vec![Value::Text(id.into())];
    let sql = format!(
        "SELECT {JOB_COLS} FROM import_jobs j WHERE j.id = ?{}",
        scope_sql(scope, "j.", &mut params)
    );
    c.prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params_from_iter(params), job_from_row))
        .map_err(map_err)
}

/// The scope's jobs, newest first.
pub(super) fn list(c: &Connection, scope: &Scope, limit: u32) -> Result<Vec<ImportJob>> {
    let mut params = Vec::new();
    let sql = format!(
        "SELECT {JOB_COLS} FROM import_jobs j WHERE 1 = 1{}
         ORDER BY j.created_at DESC, j.id DESC LIMIT ?",
        scope_sql(scope, "j.", &mut params)
    );
    params.push(Value::Integer(i64::from(limit)));
    let mut s = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = s
        .query_map(params_from_iter(params), job_from_row)
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

pub(super) fn rows(
    c: &Connection,
    job_id: &str,
    from: u32,
    limit: u32,
) -> Result<Vec<(u32, ProductDraft)>> {
    let mut s = c
        .prepare_cached(
            "SELECT row, draft FROM import_rows WHERE job_id = ?1 AND row >= ?2
             ORDER BY row LIMIT ?3",
        )
        .map_err(map_err)?;
    let mut rows = s.query(params![job_id, from, limit]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        let row: u32 = r.get(0).map_err(map_err)?;
        let draft: String = r.get(1).map_err(map_err)?;
        let draft = decode_draft(&draft).map_err(StoreError::Other)?;
        out.push((row, draft));
    }
    Ok(out)
}

/// The failed rows of a job in scope, by row.
pub(super) fn errors(c: &Connection, scope: &Scope, id: &str) -> Result<Vec<RowError>> {
    get(c, scope, id)?;
    let mut s = c
        .prepare_cached(
            "SELECT row, sku, errors FROM import_results
             WHERE job_id = ?1 AND errors IS NOT NULL ORDER BY row",
        )
        .map_err(map_err)?;
    let mut rows = s.query([id]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        let reasons: String = r.get(2).map_err(map_err)?;
        out.push(RowError {
            row: r.get(0).map_err(map_err)?,
            sku: r.get(1).map_err(map_err)?,
            reasons: serde_json::from_str(&reasons)
                .map_err(|e| StoreError::Other(format!("corrupt import errors: {e}")))?,
        });
    }
    Ok(out)
}

/// The products a job in scope wrote, each once, in the order of the first row that
/// wrote it; products deleted since are left out.
pub(super) fn products(c: &Connection, scope: &Scope, id: &str) -> Result<Vec<Product>> {
    get(c, scope, id)?;
    let ids: Vec<i64> = {
        let mut s = c
            .prepare_cached(
                "SELECT product_id FROM import_results WHERE job_id = ?1 AND product_id IS NOT NULL
                 GROUP BY product_id ORDER BY MIN(row)",
            )
            .map_err(map_err)?;
        let rows = s.query_map([id], |r| r.get(0)).map_err(map_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(map_err)?
    };
    let values: Vec<Value> = ids.iter().map(|&id| Value::Integer(id)).collect();
    let mut found = std::collections::HashMap::new();
    for chunk in values.chunks(CHUNK) {
        let mut params = Vec::new();
        let list = in_list(chunk, &mut params);
        let sql = format!(
            "SELECT {PRODUCT_COLS} FROM products p WHERE p.id IN ({list}){}",
            scope_sql(scope, "p.", &mut params)
        );
        let mut s = c.prepare_cached(&sql).map_err(map_err)?;
        let rows = s
            .query_map(params_from_iter(params), super::read::product_from_row)
            .map_err(map_err)?;
        for p in rows {
            let p = p.map_err(map_err)?;
            found.insert(p.id, p);
        }
    }
    let mut out: Vec<Product> = ids.iter().filter_map(|id| found.remove(id)).collect();
    fill(c, &mut out)?;
    Ok(out)
}

/// Takes the oldest unfinished job whose lease is free or ran out before `now`.
pub(super) fn claim(
    c: &Connection,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Option<ImportJob>> {
    // The lease is the nodes' bookkeeping: taking one marks the job running but does
    // not move its `updated_at`, which follows its progress.
    let sql = format!(
        "UPDATE import_jobs AS j SET lease_until = ?2, state = 'running'
         WHERE j.id = (SELECT id FROM import_jobs WHERE state <> 'finished'
             AND (lease_until IS NULL OR lease_until < ?1) ORDER BY created_at, id LIMIT 1)
         RETURNING {}",
        JOB_COLS.replace("j.", "")
    );
    c.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![now.0, lease_until.0], job_from_row)
                .optional()
        })
        .map_err(map_err)
}

pub(super) fn renew(c: &Connection, id: &str, lease_until: Timestamp) -> Result<()> {
    let n = c
        .prepare_cached("UPDATE import_jobs SET lease_until = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![id, lease_until.0]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
