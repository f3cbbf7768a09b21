//! `entreposto catalog bulk-insert`: plain inserts of simple products, no job.
//!
//! The catalog benchmark's reference ("a plain bulk insert of the same rows into the
//! same backend"), and a fast way to load a large catalog of plain simples: the rows
//! of 00K import bodies are parsed and checked by the same rules as an import, then
//! written with `import_products_bulk` in large transactions. Nothing is linked
//! (categories, brands and collections in the rows are ignored), nothing existing is
//! updated (a SKU that exists fails the load), and there is no resuming: a load that
//! stops halfway leaves the transactions it committed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use entreposto_domain::{ProductKind, Scope, Timestamp};
use entreposto_store::Store;

use super::{read, Format};

/// Loads every `.json` file of `paths` (a directory means its `.json` files, in name
/// order) into `seller`'s catalog; prints `{"inserted", "files", "seconds"}`.
pub async fn run(store: Arc<dyn Store>, paths: Vec<PathBuf>, seller: &str) -> anyhow::Result<()> {
    let seller = store
        .find_seller(seller)
        .await
        .with_context(|| format!("seller {seller}"))?;
    let scope = Scope::seller(&seller.operator_id, &seller.id);
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p);
        }
    }
    let started = Instant::now();
    let mut inserted = 0u64;
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let input = read(Format::Json, &bytes).with_context(|| format!("{}", f.display()))?;
        let mut rows = Vec::with_capacity(input.rows.len());
        for row in input.rows {
            let draft = row.draft.map_err(|reasons| {
                anyhow::anyhow!("{}: item {}: {}", f.display(), row.at, reasons.join("; "))
            })?;
            if draft.kind != Some(ProductKind::Simple) {
                anyhow::bail!(
                    "{}: item {}: bulk inserts take simple products only",
                    f.display(),
                    row.at
                );
            }
            let sku = draft
                .sku
                .ok_or_else(|| anyhow::anyhow!("{}: item {}: no sku", f.display(), row.at))?;
            rows.push((sku, draft.fields));
        }
        inserted += store
            .import_products_bulk(&scope, &rows, Timestamp::now())
            .await
            .with_context(|| format!("inserting {}", f.display()))?;
    }
    println!(
        "{}",
        serde_json::json!({
            "inserted": inserted,
            "files": files.len(),
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
