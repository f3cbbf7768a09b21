//! `entreposto catalog import`: a catalog file imported through the same use case as
//! 00K's `POST /catalog/import`, run in this process with its progress shown.
//!
//! The file is read and every row checked first; any row that breaks a field rule
//! refuses the whole file, naming each such row, and nothing is imported (the API's
//! rule). Otherwise the rows become import jobs ([`App::start_import`], at most
//! [`IMPORT_MAX_ROWS`] rows each, run one after another so a later job sees what an
//! earlier one wrote) and this process runs them. Jobs are durable: if the command is
//! stopped, a running `entreposto serve` on the same database finishes them, and a
//! server that claims one meanwhile shares the work (each step is guarded by the job's
//! cursor). At the end a JSON summary goes to stdout and the rows that failed are
//! written in the input's format, to be fixed and imported again.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use entreposto_app::catalog::IMPORT_MAX_ROWS;
use entreposto_app::{App, AppError};
use entreposto_domain::Scope;
use entreposto_store::{ImportJob, ImportState, ProductKey, Store};

use super::{Format, Input, Row};

/// What the command was asked to do.
pub struct Options {
    pub file: PathBuf,
    pub seller: String,
    pub verify_categories: bool,
    pub verify_brands: bool,
    /// Where to write the failed rows; default `<file stem>.failed.<ext>` beside it.
    pub failed: Option<PathBuf>,
    /// The input's format when its extension does not say.
    pub format: Option<Format>,
}

/// How often progress is read back from the job.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// With no progress for this long on a job another process holds, give up waiting.
const STALLED_AFTER: Duration = Duration::from_secs(150);

/// A row's problems, as reported.
fn problem(row: &Row, reasons: Vec<String>) -> serde_json::Value {
    serde_json::json!({"row": row.at, "sku": row.sku, "reasons": reasons})
}

/// The default failed-rows file: `<stem>.failed.<ext>` beside the input.
fn default_failed_path(file: &Path, format: Format) -> PathBuf {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("catalog");
    file.with_file_name(format!("{stem}.failed.{}", format.extension()))
}

/// Progress on stderr: a bar on a terminal, a plain line per second otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: Instant,
    done_before: u64,
}

impl Progress {
    fn new(total: u64) -> Progress {
        Progress {
            bar: crate::progress::rows_bar(total),
            last_line: Instant::now(),
            done_before: 0,
        }
    }

    /// Shows `job`'s progress (rows of earlier jobs counted before it).
    fn show(&mut self, job: &ImportJob, failed_before: u32, force: bool) {
        let pos = self.done_before + u64::from(job.processed);
        let failed = failed_before + job.failed;
        match &self.bar {
            Some(bar) => {
                bar.set_position(pos);
                bar.set_message(format!("{failed} failed"));
            }
            None if force || self.last_line.elapsed() >= Duration::from_secs(1) => {
                self.last_line = Instant::now();
                eprintln!(
                    "import {}: {}/{} rows of this job, {} written, {} failed",
                    job.id, job.processed, job.total, job.succeeded, job.failed
                );
            }
            None => {}
        }
    }

    fn job_done(&mut self, job: &ImportJob) {
        self.done_before += u64::from(job.total);
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// Runs `job` here until it is finished, showing progress; when another process holds
/// it, waits for that one to finish it.
async fn run_job(
    app: &App,
    scope: &Scope,
    job: ImportJob,
    progress: &mut Progress,
    failed_before: u32,
) -> anyhow::Result<ImportJob> {
    let reads = app.reads();
    let id = job.id.clone();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let run = app.run_import_job(job);
    tokio::pin!(run);
    let ended = loop {
        tokio::select! {
            r = &mut run => break r,
            _ = tick.tick() => {
                if let Ok(j) = reads.get_import_job(scope, &id).await {
                    progress.show(&j, failed_before, false);
                }
            }
        }
    };
    let mut job = ended.map_err(|e| {
        anyhow::anyhow!(
            "import {id} stopped: {e}; it is stored, and `entreposto serve` on this database resumes it"
        )
    })?;
    // Another process took the job over: wait for it, as long as it moves.
    let mut moved = Instant::now();
    while job.state != ImportState::Finished {
        tick.tick().await;
        let now = reads.get_import_job(scope, &id).await?;
        if now.processed != job.processed {
            moved = Instant::now();
        } else if moved.elapsed() > STALLED_AFTER {
            anyhow::bail!(
                "import {id} is held by another process and has not moved for {}s; \
                 `entreposto serve` on this database resumes it",
                STALLED_AFTER.as_secs()
            );
        }
        job = now;
        progress.show(&job, failed_before, false);
    }
    progress.show(&job, failed_before, true);
    Ok(job)
}

/// The SKUs of `rows` that already name a product of the seller.
async fn existing_skus(
    store: &dyn Store,
    scope: &Scope,
    rows: &[Row],
) -> anyhow::Result<HashSet<String>> {
    let keys: Vec<ProductKey> = rows
        .iter()
        .filter_map(|r| r.sku.clone().map(ProductKey::Sku))
        .collect();
    let mut found = HashSet::new();
    for chunk in keys.chunks(500) {
        for p in store.find_products(scope, chunk).await? {
            found.insert(p.data.sku);
        }
    }
    Ok(found)
}

pub async fn run(store: Arc<dyn Store>, options: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let seller = store
        .find_seller(&options.seller)
        .await
        .with_context(|| format!("seller {}", options.seller))?;
    let scope = Scope::seller(&seller.operator_id, &seller.id);
    let bytes = std::fs::read(&options.file)
        .with_context(|| format!("reading {}", options.file.display()))?;
    let format = options
        .format
        .unwrap_or_else(|| Format::detect(&options.file, &bytes));
    let Input { source, rows, .. } = super::read(format, &bytes)
        .with_context(|| format!("{} is not a catalog file", options.file.display()))?;
    if rows.is_empty() {
        anyhow::bail!("{} holds no product", options.file.display());
    }
    let invalid: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|r| r.draft.as_ref().err().map(|e| problem(r, e.clone())))
        .collect();
    if !invalid.is_empty() {
        return refuse(&invalid);
    }
    let app = App::with_system_clock(store.clone());
    let mut progress = Progress::new(rows.len() as u64);
    let mut jobs = Vec::new();
    let (mut created, mut updated) = (0u64, 0u64);
    let mut seen: HashSet<String> = HashSet::new();
    let mut errors = Vec::new();
    let mut failed_sources = Vec::new();
    let mut failed_before = 0u32;
    for chunk in rows.chunks(IMPORT_MAX_ROWS) {
        let existing = existing_skus(&*store, &scope, chunk).await?;
        let drafts = chunk
            .iter()
            .filter_map(|r| r.draft.as_ref().ok().cloned())
            .collect();
        let job = match app
            .start_import(
                &scope,
                drafts,
                options.verify_categories,
                options.verify_brands,
            )
            .await
        {
            Ok(job) => job,
            Err(AppError::InvalidRows(bad)) => {
                let invalid: Vec<_> = bad
                    .into_iter()
                    .map(|e| problem(&chunk[e.row as usize], e.reasons))
                    .collect();
                return refuse(&invalid);
            }
            Err(e) => return Err(anyhow::anyhow!("the import was refused: {e}")),
        };
        let job = run_job(&app, &scope, job, &mut progress, failed_before).await?;
        progress.job_done(&job);
        failed_before += job.failed;
        let failed: HashMap<u32, Vec<String>> = app
            .reads()
            .import_errors(&scope, &job.id)
            .await?
            .into_iter()
            .map(|e| (e.row, e.reasons))
            .collect();
        for (i, row) in chunk.iter().enumerate() {
            match failed.get(&(i as u32)) {
                Some(reasons) => {
                    errors.push(problem(row, reasons.clone()));
                    failed_sources.extend(row.sources.iter().copied());
                }
                None => match &row.sku {
                    Some(sku) if !existing.contains(sku) && seen.insert(sku.clone()) => {
                        created += 1
                    }
                    _ => updated += 1,
                },
            }
        }
        jobs.push(job.id);
    }
    progress.finish();
    let failed_file = if errors.is_empty() {
        None
    } else {
        let path = options
            .failed
            .clone()
            .unwrap_or_else(|| default_failed_path(&options.file, format));
        source.write_failed(&path, &failed_sources)?;
        Some(path.display().to_string())
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "seller": seller.id,
            "file": options.file.display().to_string(),
            "format": format.extension(),
            "jobs": jobs,
            "rows": rows.len(),
            "created": created,
            "updated": updated,
            "failed": errors.len(),
            "failedFile": failed_file,
            "errors": errors,
            "elapsedSeconds": started.elapsed().as_secs_f64(),
        }))?
    );
    Ok(())
}

/// Reports the rows that refuse the file (stdout, as JSON) and fails the command.
fn refuse(invalid: &[serde_json::Value]) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "imported": false,
            "invalid": invalid,
        }))?
    );
    anyhow::bail!(
        "{} row(s) break a field rule (listed on stdout); nothing was imported",
        invalid.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_rows_go_beside_the_input() {
        assert_eq!(
            default_failed_path(Path::new("/tmp/x/produtos.csv"), Format::Csv),
            PathBuf::from("/tmp/x/produtos.failed.csv")
        );
        assert_eq!(
            default_failed_path(Path::new("import"), Format::Json),
            PathBuf::from("import.failed.json")
        );
    }
}
