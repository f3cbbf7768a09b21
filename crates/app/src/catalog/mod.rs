//! Catalog use cases: imports (as durable jobs), updates and deletions of one product,
//! stock and price batches, categories and brands.
//!
//! Each use case loads what it needs, decides one [`CatalogChange`] and hands it to the
//! store, which applies it atomically or answers that a row moved meanwhile (`Stale`)
//! or that a key was taken meanwhile (`Conflict`); the use case then loads again and
//! decides anew. Rules that need no database are the domain's
//! ([`ProductDraft::validate`], [`ProductFields::validate`]); the ones that need it are
//! here: whether a SKU exists (an import of an existing SKU replaces the product),
//! whether an external id or a new SKU belongs to another product, whether a kit's or
//! group's parts exist as simples, which categories and brands to link or create
//! ([`resolve`]), and that a product still listed as a part cannot be deleted.
//!
//! An import is a job ([`App::start_import`]): validated at once as a whole (any row
//! that breaks a field rule refuses the request, naming the row), stored with its rows,
//! then imported by [`App::run_import_job`] in steps of [`STEP_ROWS`] rows, each step
//! one change that also moves the job's cursor. A crash between steps loses nothing
//! and repeats nothing: the next run starts at the stored cursor.

mod resolve;

use std::collections::{HashMap, HashSet};

use entreposto_domain::{
    CatalogEvent, FieldError, Price, Product, ProductDraft, ProductKind, ProductPatch, Scope,
    StockLevel,
};
use entreposto_store::{
    CatalogChange, CatalogSaved, ImportJob, ImportStep, Link, NewImportJob, PriceWrite,
    ProductDelete, ProductKey, ProductWrite, RowError, RowOutcome, StockWrite, StoreError,
};

use crate::{backoff, App, AppError, Result, ATTEMPTS};
use resolve::Resolver;

pub mod jobs;

/// Rows one import step decides and saves together: large enough that a commit's cost
/// is shared by many products, small enough that a step's change stays a few MiB and a
/// lost race repeats little.
pub const STEP_ROWS: u32 = 250;
/// Most products one import request may carry.
pub const IMPORT_MAX_ROWS: usize = 10_000;
/// Most items of one stock or price batch (the 00K document's batches).
pub const BATCH_MAX: usize = 1_000;

/// One item of a stock or price batch: the product by `id`, `sku` or `externalId`
/// (the first present of those, in that order), and what to set, or why the edge could
/// not read it (an item it could not read far enough to find a key reports that).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem<T> {
    pub id: Option<i64>,
    pub sku: Option<String>,
    pub external_id: Option<String>,
    pub value: std::result::Result<T, FieldError>,
}

/// What became of one batch item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub index: usize,
    /// The product the item named, when found.
    pub product_id: Option<i64>,
    pub sku: Option<String>,
    /// Why the item was refused; `None` when it was applied.
    pub error: Option<String>,
}

impl<T> BatchItem<T> {
    fn key(&self) -> Option<ProductKey> {
        if let Some(id) = self.id {
            return Some(ProductKey::Id(id));
        }
        if let Some(s) = &self.sku {
            return Some(ProductKey::Sku(s.clone()));
        }
        self.external_id.clone().map(ProductKey::ExternalId)
    }
}

fn seller_scope(scope: &Scope) -> Result<()> {
    if scope.seller_id.is_none() {
        return Err(AppError::Invalid(FieldError::new(
            "seller",
            "a catalog belongs to one seller: name the seller",
        )));
    }
    Ok(())
}

/// Whether a store refusal means "decide again": a row moved or a key was taken.
fn lost_race(e: &StoreError) -> bool {
    matches!(e, StoreError::Stale | StoreError::Conflict(_))
}

/// Products by each of their keys, for deciding a change.
#[derive(Default)]
struct Known {
    by_id: HashMap<i64, Product>,
    id_by_sku: HashMap<String, i64>,
    id_by_external: HashMap<String, i64>,
}

impl Known {
    fn new(products: Vec<Product>) -> Known {
        let mut k = Known::default();
        for p in products {
            k.id_by_sku.insert(p.data.sku.clone(), p.id);
            if let Some(e) = &p.data.fields.external_id {
                k.id_by_external.insert(e.clone(), p.id);
            }
            k.by_id.insert(p.id, p);
        }
        k
    }

    fn get(&self, key: &ProductKey) -> Option<&Product> {
        let id = match key {
            ProductKey::Id(id) => Some(*id),
            ProductKey::Sku(s) => self.id_by_sku.get(s).copied(),
            ProductKey::ExternalId(e) => self.id_by_external.get(e).copied(),
        };
        id.and_then(|id| self.by_id.get(&id))
    }
}

/// The keys a draft's decision needs looked up: itself, its new external id, its parts.
fn draft_keys(d: &ProductDraft, keys: &mut Vec<ProductKey>) {
    if let Some(id) = d.id {
        keys.push(ProductKey::Id(id));
    }
    if let Some(s) = &d.sku {
        keys.push(ProductKey::Sku(s.clone()));
    }
    if let Some(e) = &d.fields.external_id {
        keys.push(ProductKey::ExternalId(e.clone()));
    }
    for p in &d.fields.parts {
        keys.push(ProductKey::Sku(p.sku.clone()));
    }
}

/// What a draft decides against the catalog: which product it writes and the write,
/// or why it cannot.
struct Decided {
    sku: String,
    write: ProductWrite,
}

impl App {
    /// Validates an import at once and stores it as a job; the job's rows are imported
    /// in the background ([`App::run_import_job`]). Refuses the whole request when
    /// any row breaks a field rule, with every such row's errors
    /// ([`AppError::InvalidRows`]).
    pub async fn start_import(
        &self,
        scope: &Scope,
        rows: Vec<ProductDraft>,
        verify_categories: bool,
        verify_brands: bool,
    ) -> Result<ImportJob> {
        seller_scope(scope)?;
        if rows.is_empty() {
            return Err(FieldError::new("", "the import holds no product").into());
        }
        if rows.len() > IMPORT_MAX_ROWS {
            return Err(FieldError::new(
                "",
                format!(
                    "{} products in one import; at most {IMPORT_MAX_ROWS}",
                    rows.len()
                ),
            )
            .into());
        }
        let problems: Vec<RowError> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                d.validate().err().map(|e| RowError {
                    row: i as u32,
                    sku: d.sku.clone(),
                    reasons: vec![e.to_string()],
                })
            })
            .collect();
        if !problems.is_empty() {
            return Err(AppError::InvalidRows(problems));
        }
        let job = NewImportJob {
            id: new_uuid(),
            verify_categories,
            verify_brands,
            rows,
            created_at: self.now(),
        };
        let job = self.store.create_import_job(scope, job).await?;
        self.jobs.notify_one();
        Ok(job)
    }

    /// Imports the rest of `job`, a step at a time, until it is finished or another
    /// node took it over (its cursor moved under this one). Returns the job as it ended.
    pub async fn run_import_job(&self, job: ImportJob) -> Result<ImportJob> {
        let mut job = job;
        let scope = Scope::seller(&job.operator_id, &job.seller_id);
        let mut resolver = Resolver::new(
            &*self.store,
            &scope,
            job.verify_categories,
            job.verify_brands,
        );
        while job.processed < job.total {
            match self.import_step(&scope, &job, &mut resolver).await? {
                Some(next) => job = next,
                None => break,
            }
            self.store
                .renew_import_job(&job.id, self.lease_until())
                .await?;
        }
        Ok(job)
    }

    pub(crate) fn lease_until(&self) -> entreposto_domain::Timestamp {
        entreposto_domain::Timestamp(self.now().0.saturating_add(self.import_lease_micros))
    }

    /// Decides and saves the next step of `job`; `None` if the job's cursor is no longer
    /// where this node left it (another node holds the job).
    async fn import_step(
        &self,
        scope: &Scope,
        job: &ImportJob,
        resolver: &mut Resolver<'_>,
    ) -> Result<Option<ImportJob>> {
        let rows = self
            .store
            .import_rows(&job.id, job.processed, STEP_ROWS)
            .await?;
        if rows.is_empty() {
            return Err(AppError::Internal(format!(
                "import {} has no row {} of {}",
                job.id, job.processed, job.total
            )));
        }
        // A step that keeps losing races shrinks to one row, and a single row that
        // still clashes fails with the clash rather than holding the job forever.
        let mut width = rows.len();
        for attempt in 1..=ATTEMPTS {
            let take = &rows[..width.min(rows.len())];
            let change = self.decide_step(scope, job, take, resolver).await?;
            let r = self.store.save_catalog(scope, change).await;
            if r.is_err() {
                resolver.forget();
            }
            match r {
                Ok(_) => return Ok(Some(self.store.get_import_job(scope, &job.id).await?)),
                Err(StoreError::Stale) => {
                    let now = self.store.get_import_job(scope, &job.id).await?;
                    if now.processed != job.processed {
                        return Ok(None);
                    }
                }
                Err(StoreError::Conflict(m)) if width == 1 && attempt > 3 => {
                    let sku = take[0].1.sku.clone();
                    let change = CatalogChange {
                        now: self.now(),
                        step: Some(ImportStep {
                            job_id: job.id.clone(),
                            from: job.processed,
                            outcomes: vec![(sku, RowOutcome::Failed { reasons: vec![m] })],
                            finished: job.processed + 1 >= job.total,
                            events: finished_events(job.processed + 1 >= job.total),
                        }),
                        ..Default::default()
                    };
                    self.store.save_catalog(scope, change).await?;
                    return Ok(Some(self.store.get_import_job(scope, &job.id).await?));
                }
                Err(StoreError::Conflict(_)) => {
                    if attempt >= 3 {
                        width = 1;
                    }
                }
                // A linked product or entity deleted between the read and the write.
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            backoff(attempt).await;
        }
        Err(AppError::Conflict(format!(
            "import {} kept clashing with concurrent writes at row {}",
            job.id, job.processed
        )))
    }

    /// The change for as many of `rows` as one step may take: it stops before a row
    /// whose SKU or external id an earlier row of the step writes, as that row must see
    /// the product the earlier one creates.
    async fn decide_step(
        &self,
        scope: &Scope,
        job: &ImportJob,
        rows: &[(u32, ProductDraft)],
        resolver: &mut Resolver<'_>,
    ) -> Result<CatalogChange> {
        let mut keys = Vec::new();
        for (_, d) in rows {
            draft_keys(d, &mut keys);
        }
        keys.sort_by_key(|k| format!("{k:?}"));
        keys.dedup();
        let known = Known::new(self.store.find_products(scope, &keys).await?);
        resolver.next_change();
        let mut change = CatalogChange {
            now: self.now(),
            ..Default::default()
        };
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut written_skus: HashSet<String> = HashSet::new();
        let mut written_external: HashSet<String> = HashSet::new();
        // SKUs of simples this step writes, for later rows' parts.
        let mut new_simples: HashSet<String> = HashSet::new();
        for (_, draft) in rows {
            let target_sku = draft.sku.clone().or_else(|| {
                draft
                    .id
                    .and_then(|id| known.by_id.get(&id))
                    .map(|p| p.data.sku.clone())
            });
            let repeats = target_sku
                .as_ref()
                .is_some_and(|s| written_skus.contains(s))
                || draft
                    .fields
                    .external_id
                    .as_ref()
                    .is_some_and(|e| written_external.contains(e));
            if repeats && !outcomes.is_empty() {
                break;
            }
            let at = resolver.checkpoint(&change);
            match self
                .decide_draft(draft, &known, &new_simples, resolver, &mut change)
                .await?
            {
                Ok(decided) => {
                    written_skus.insert(decided.sku.clone());
                    if let Some(e) = &decided.write.fields.external_id {
                        written_external.insert(e.clone());
                    }
                    if decided.write.kind == ProductKind::Simple {
                        new_simples.insert(decided.sku.clone());
                    }
                    change.products.push(decided.write);
                    outcomes.push((
                        draft.sku.clone().or(Some(decided.sku)),
                        RowOutcome::Written {
                            product: change.products.len() - 1,
                        },
                    ));
                }
                Err(reasons) => {
                    resolver.rollback(&mut change, at);
                    outcomes.push((draft.sku.clone(), RowOutcome::Failed { reasons }));
                }
            }
        }
        let taken = outcomes.len();
        let finished = job.processed + taken as u32 >= job.total;
        change.step = Some(ImportStep {
            job_id: job.id.clone(),
            from: job.processed,
            outcomes,
            finished,
            events: finished_events(finished),
        });
        Ok(change)
    }

    /// Decides one import row: the product write, or the reasons the row fails.
    async fn decide_draft(
        &self,
        draft: &ProductDraft,
        known: &Known,
        new_simples: &HashSet<String>,
        resolver: &mut Resolver<'_>,
        change: &mut CatalogChange,
    ) -> Result<std::result::Result<Decided, Vec<String>>> {
        let existing = match (draft.id, &draft.sku) {
            (Some(id), _) => match known.get(&ProductKey::Id(id)) {
                Some(p) => Some(p),
                None => return Ok(Err(vec![format!("id: no product with id {id}")])),
            },
            (None, Some(sku)) => known.get(&ProductKey::Sku(sku.clone())),
            (None, None) => None,
        };
        let sku = match (&draft.sku, existing) {
            (Some(s), _) => s.clone(),
            (None, Some(p)) => p.data.sku.clone(),
            (None, None) => return Ok(Err(vec!["sku: sku or id is required".into()])),
        };
        let own_id = existing.map(|p| p.id);
        let mut reasons = Vec::new();
        if let Some(other) = known.get(&ProductKey::Sku(sku.clone())) {
            if Some(other.id) != own_id {
                reasons.push(format!(
                    "sku: '{sku}' is already the SKU of product {}",
                    other.id
                ));
            }
        }
        if let Some(e) = &draft.fields.external_id {
            if let Some(other) = known.get(&ProductKey::ExternalId(e.clone())) {
                if Some(other.id) != own_id {
                    reasons.push(format!(
                        "externalId: '{e}' is already the external id of product '{}'",
                        other.data.sku
                    ));
                }
            }
        }
        for (n, part) in draft.fields.parts.iter().enumerate() {
            let stored = known
                .get(&ProductKey::Sku(part.sku.clone()))
                .map(|p| p.data.kind);
            let ok = stored == Some(ProductKind::Simple) || new_simples.contains(&part.sku);
            if !ok {
                reasons.push(match stored {
                    Some(k) => format!(
                        "simple[{n}].sku: '{}' is a {}, not a simple product",
                        part.sku,
                        k.as_str()
                    ),
                    None => format!("simple[{n}].sku: no simple product with SKU '{}'", part.sku),
                });
            }
        }
        let mut categories = Vec::with_capacity(draft.categories.len());
        for (n, c) in draft.categories.iter().enumerate() {
            match resolver.category(c, change).await? {
                Ok(l) => {
                    if !categories.contains(&l) {
                        categories.push(l)
                    }
                }
                Err(e) => reasons.push(format!("categories[{n}]: {e}")),
            }
        }
        let (brand, manufacturer) = match &draft.brand {
            Some(b) => match resolver.brand(b, change).await? {
                Ok((b, m)) => (Some(b), m),
                Err(e) => {
                    reasons.push(format!("brand: {e}"));
                    (None, None)
                }
            },
            None => (None, None),
        };
        let mut collections = Vec::new();
        for (n, c) in draft.collections.iter().enumerate() {
            match resolver.collection(c, change).await? {
                Ok(l) => {
                    if !collections.contains(&l) {
                        collections.push(l)
                    }
                }
                Err(e) => reasons.push(format!("collections[{n}]: {e}")),
            }
        }
        if !reasons.is_empty() {
            return Ok(Err(reasons));
        }
        let kind = draft.kind.unwrap_or(ProductKind::Simple);
        let mut fields = draft.fields.clone();
        if kind != ProductKind::Simple {
            fields.stock.clear();
        }
        let event = if existing.is_some() {
            CatalogEvent::ProductUpdated
        } else {
            CatalogEvent::ProductCreated
        };
        Ok(Ok(Decided {
            sku: sku.clone(),
            write: ProductWrite {
                existing: existing.map(|p| (p.id, p.version)),
                sku,
                kind,
                fields,
                categories,
                brand,
                manufacturer,
                collections,
                events: vec![event],
            },
        }))
    }

    /// Updates one product with what `patch` sends (see [`ProductPatch`]). Categories
    /// and brands named in an update must exist.
    pub async fn update_product(
        &self,
        scope: &Scope,
        key: &ProductKey,
        patch: &ProductPatch,
    ) -> Result<Product> {
        seller_scope(scope)?;
        patch.validate()?;
        for attempt in 1..=ATTEMPTS {
            let stored = self.store.get_product(scope, key).await?;
            let fields = patch.apply(&stored.data.fields);
            fields.validate(stored.data.kind)?;
            let sku = patch.sku.clone().unwrap_or_else(|| stored.data.sku.clone());
            let mut keys = vec![ProductKey::Sku(sku.clone())];
            if let Some(e) = &fields.external_id {
                keys.push(ProductKey::ExternalId(e.clone()));
            }
            for p in &fields.parts {
                keys.push(ProductKey::Sku(p.sku.clone()));
            }
            let known = Known::new(self.store.find_products(scope, &keys).await?);
            if let Some(other) = known.get(&ProductKey::Sku(sku.clone())) {
                if other.id != stored.id {
                    return Err(FieldError::new(
                        "sku",
                        format!("'{sku}' is already the SKU of product {}", other.id),
                    )
                    .into());
                }
            }
            if let Some(e) = &fields.external_id {
                if let Some(other) = known.get(&ProductKey::ExternalId(e.clone())) {
                    if other.id != stored.id {
                        return Err(FieldError::new(
                            "externalId",
                            format!(
                                "'{e}' is already the external id of product '{}'",
                                other.data.sku
                            ),
                        )
                        .into());
                    }
                }
            }
            for (n, part) in fields.parts.iter().enumerate() {
                if known
                    .get(&ProductKey::Sku(part.sku.clone()))
                    .map(|p| p.data.kind)
                    != Some(ProductKind::Simple)
                {
                    return Err(FieldError::new(
                        format!("simple[{n}].sku"),
                        format!("no simple product with SKU '{}'", part.sku),
                    )
                    .into());
                }
            }
            let mut change = CatalogChange {
                now: self.now(),
                ..Default::default()
            };
            let mut resolver = Resolver::new(&*self.store, scope, true, true);
            let categories = match &patch.categories {
                Some(refs) => {
                    let mut links = Vec::new();
                    for (n, c) in refs.iter().enumerate() {
                        let l = resolver
                            .category(c, &mut change)
                            .await?
                            .map_err(|e| FieldError::new(format!("categories[{n}]"), e))?;
                        links.push(l);
                    }
                    links
                }
                None => stored
                    .data
                    .category_ids
                    .iter()
                    .map(|id| Link::Existing(*id))
                    .collect(),
            };
            let (brand, manufacturer) = match &patch.brand {
                Some(b) => {
                    let (b, m) = resolver
                        .brand(b, &mut change)
                        .await?
                        .map_err(|e| FieldError::new("brand", e))?;
                    (Some(b), m)
                }
                None => (
                    stored.data.brand_id.map(Link::Existing),
                    stored.data.manufacturer_id.map(Link::Existing),
                ),
            };
            let collections = match &patch.collections {
                Some(refs) => {
                    let mut links = Vec::new();
                    for (n, c) in refs.iter().enumerate() {
                        let l = resolver
                            .collection(c, &mut change)
                            .await?
                            .map_err(|e| FieldError::new(format!("collections[{n}]"), e))?;
                        links.push(l);
                    }
                    links
                }
                None => stored
                    .data
                    .collection_ids
                    .iter()
                    .map(|id| Link::Existing(*id))
                    .collect(),
            };
            // The same update again (a notification repeated, a feed page applied
            // again) decides nothing new: the product is answered as it is, its
            // version and time unmoved.
            let same_links = categories
                == stored
                    .data
                    .category_ids
                    .iter()
                    .map(|id| Link::Existing(*id))
                    .collect::<Vec<_>>()
                && brand == stored.data.brand_id.map(Link::Existing)
                && manufacturer == stored.data.manufacturer_id.map(Link::Existing)
                && collections
                    == stored
                        .data
                        .collection_ids
                        .iter()
                        .map(|id| Link::Existing(*id))
                        .collect::<Vec<_>>();
            if change.is_empty()
                && same_links
                && sku == stored.data.sku
                && fields == stored.data.fields
            {
                return Ok(stored);
            }
            change.products.push(ProductWrite {
                existing: Some((stored.id, stored.version)),
                sku,
                kind: stored.data.kind,
                fields,
                categories,
                brand,
                manufacturer,
                collections,
                events: vec![CatalogEvent::ProductUpdated],
            });
            match self.store.save_catalog(scope, change).await {
                Ok(_) => {
                    return Ok(self
                        .store
                        .get_product(scope, &ProductKey::Id(stored.id))
                        .await?)
                }
                Err(e) if lost_race(&e) && attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the product kept changing concurrently; retry".into(),
        ))
    }

    /// Creates or replaces one product at once: decided exactly as a row of an
    /// import (the same validation, links and rules, [`App::start_import`]) but
    /// saved in the call rather than by a job, for a change the seller's system
    /// notified, which must land before the changes notified after it. A product
    /// the row cannot be is refused as the import's row would be
    /// ([`AppError::InvalidRows`], one row, index 0).
    pub async fn put_product(
        &self,
        scope: &Scope,
        draft: &ProductDraft,
        verify_categories: bool,
        verify_brands: bool,
    ) -> Result<Product> {
        seller_scope(scope)?;
        draft.validate()?;
        let mut keys = Vec::new();
        draft_keys(draft, &mut keys);
        for attempt in 1..=ATTEMPTS {
            let known = Known::new(self.store.find_products(scope, &keys).await?);
            let mut resolver = Resolver::new(&*self.store, scope, verify_categories, verify_brands);
            let mut change = CatalogChange {
                now: self.now(),
                ..Default::default()
            };
            let decided = match self
                .decide_draft(draft, &known, &HashSet::new(), &mut resolver, &mut change)
                .await?
            {
                Ok(d) => d,
                Err(reasons) => {
                    return Err(AppError::InvalidRows(vec![RowError {
                        row: 0,
                        sku: draft.sku.clone(),
                        reasons,
                    }]))
                }
            };
            let sku = decided.sku;
            change.products.push(decided.write);
            match self.store.save_catalog(scope, change).await {
                Ok(_) => return Ok(self.store.get_product(scope, &ProductKey::Sku(sku)).await?),
                // A linked product or entity deleted between the read and the write.
                Err(StoreError::NotFound) if attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) if lost_race(&e) && attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the product kept changing concurrently; retry".into(),
        ))
    }

    /// Deletes a product of type `kind`; refused while a kit or group lists it.
    pub async fn delete_product(
        &self,
        scope: &Scope,
        kind: ProductKind,
        key: &ProductKey,
    ) -> Result<Product> {
        seller_scope(scope)?;
        for attempt in 1..=ATTEMPTS {
            let p = self.store.get_product(scope, key).await?;
            if p.data.kind != kind {
                return Err(AppError::NotFound);
            }
            let containers = self
                .store
                .containers_of(scope, std::slice::from_ref(&p.data.sku))
                .await?;
            if let Some((_, container, ckind)) = containers.first() {
                return Err(FieldError::new(
                    "id",
                    format!(
                        "product '{}' is part of the {} '{container}'; remove it from there first",
                        p.data.sku,
                        ckind.as_str()
                    ),
                )
                .into());
            }
            let change = CatalogChange {
                now: self.now(),
                deletes: vec![ProductDelete {
                    product_id: p.id,
                    version: p.version,
                    events: vec![CatalogEvent::ProductDeleted],
                }],
                ..Default::default()
            };
            match self.store.save_catalog(scope, change).await {
                Ok(_) => return Ok(p),
                Err(e) if lost_race(&e) && attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the product kept changing concurrently; retry".into(),
        ))
    }

    /// Sets the stock of one product at the locations given (other locations keep theirs).
    pub async fn set_stock(
        &self,
        scope: &Scope,
        key: &ProductKey,
        levels: Vec<StockLevel>,
    ) -> Result<Product> {
        let item = BatchItem {
            id: match key {
                ProductKey::Id(id) => Some(*id),
                _ => None,
            },
            sku: match key {
                ProductKey::Sku(s) => Some(s.clone()),
                _ => None,
            },
            external_id: match key {
                ProductKey::ExternalId(e) => Some(e.clone()),
                _ => None,
            },
            value: Ok(levels),
        };
        let outcome = self.set_stock_batch(scope, vec![item]).await?;
        match &outcome[0] {
            BatchOutcome {
                error: None,
                product_id: Some(id),
                ..
            } => Ok(self.store.get_product(scope, &ProductKey::Id(*id)).await?),
            BatchOutcome {
                product_id: None, ..
            } => Err(AppError::NotFound),
            BatchOutcome { error: Some(e), .. } => Err(FieldError::new("stock", e.clone()).into()),
        }
    }

    /// Applies each item that can be applied, in one write; says of each whether it was.
    pub async fn set_stock_batch(
        &self,
        scope: &Scope,
        items: Vec<BatchItem<Vec<StockLevel>>>,
    ) -> Result<Vec<BatchOutcome>> {
        self.batch(scope, items, |p, levels, change| {
            if p.data.kind != ProductKind::Simple {
                return Err(format!(
                    "the stock of a {} follows from its simple products",
                    p.data.kind.as_str()
                ));
            }
            if levels.is_empty() {
                return Err("stock: at least one stock entry is required".into());
            }
            for (n, l) in levels.iter().enumerate() {
                entreposto_domain::check_stock(&format!("stock[{n}]"), l)
                    .map_err(|e| e.to_string())?;
            }
            // Stock is set, not added to: an item that sets what is stored (a
            // notification repeated, a feed page applied again) writes nothing,
            // unless an earlier item of the batch sets the product's stock otherwise.
            let earlier = change.stock.iter().any(|w| w.product_id == p.id);
            if !earlier && levels.iter().all(|l| p.data.fields.stock.contains(l)) {
                return Ok(());
            }
            change.stock.push(StockWrite {
                product_id: p.id,
                levels: levels.clone(),
                events: vec![CatalogEvent::StockSet],
            });
            Ok(())
        })
        .await
    }

    pub async fn set_price_batch(
        &self,
        scope: &Scope,
        items: Vec<BatchItem<Price>>,
    ) -> Result<Vec<BatchOutcome>> {
        self.batch(scope, items, |p, price, change| {
            entreposto_domain::check_price("price[0]", price).map_err(|e| e.to_string())?;
            // The price the product has already: nothing to write (see the stock's).
            let earlier = change.prices.iter().any(|w| w.product_id == p.id);
            if !earlier && p.data.fields.price.as_ref() == Some(price) {
                return Ok(());
            }
            change.prices.push(PriceWrite {
                product_id: p.id,
                price: *price,
                events: vec![CatalogEvent::PriceSet],
            });
            Ok(())
        })
        .await
    }

    /// A batch: resolve every item's product in one read, decide each item, save the
    /// applied ones in one change (stock and prices are absolute values, so a batch
    /// that races another write needs no version: the later write wins, as it would
    /// one call later).
    async fn batch<T>(
        &self,
        scope: &Scope,
        items: Vec<BatchItem<T>>,
        decide: impl Fn(&Product, &T, &mut CatalogChange) -> std::result::Result<(), String>,
    ) -> Result<Vec<BatchOutcome>> {
        seller_scope(scope)?;
        if items.is_empty() {
            return Err(FieldError::new("", "the batch holds no item").into());
        }
        if items.len() > BATCH_MAX {
            return Err(FieldError::new(
                "",
                format!("{} items in one batch; at most {BATCH_MAX}", items.len()),
            )
            .into());
        }
        for attempt in 1..=ATTEMPTS {
            let keys: Vec<ProductKey> = items.iter().filter_map(BatchItem::key).collect();
            let known = Known::new(self.store.find_products(scope, &keys).await?);
            let mut change = CatalogChange {
                now: self.now(),
                ..Default::default()
            };
            let mut outcomes = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let mut outcome = BatchOutcome {
                    index,
                    product_id: None,
                    sku: item.sku.clone(),
                    error: None,
                };
                let product = item.key().and_then(|k| known.get(&k));
                match (item.key(), product, &item.value) {
                    // An item the edge could not read far enough to find its key: its
                    // own reason says more than the missing key.
                    (None, _, Err(e)) => outcome.error = Some(e.to_string()),
                    (None, _, Ok(_)) => {
                        outcome.error = Some("id, sku or externalId is required".into())
                    }
                    (Some(k), None, _) => {
                        outcome.error = Some(format!("no product with {}", describe_key(&k)))
                    }
                    (_, Some(p), Err(e)) => {
                        outcome.product_id = Some(p.id);
                        outcome.sku = Some(p.data.sku.clone());
                        outcome.error = Some(e.to_string());
                    }
                    (_, Some(p), Ok(v)) => {
                        outcome.product_id = Some(p.id);
                        outcome.sku = Some(p.data.sku.clone());
                        outcome.error = decide(p, v, &mut change).err();
                    }
                }
                outcomes.push(outcome);
            }
            if change.is_empty() {
                return Ok(outcomes);
            }
            match self.store.save_catalog(scope, change).await {
                Ok(_) => return Ok(outcomes),
                // A product deleted between the read and the write: decide again.
                Err(StoreError::NotFound) if attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) if lost_race(&e) && attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the products kept changing concurrently; retry".into(),
        ))
    }

    /// Creates (or links, when they exist) categories with their parents; returns the
    /// id of each category given, in order.
    pub async fn create_categories(
        &self,
        scope: &Scope,
        refs: &[entreposto_domain::CategoryRef],
    ) -> Result<Vec<i64>> {
        seller_scope(scope)?;
        if refs.is_empty() {
            return Err(FieldError::new("", "the request holds no category").into());
        }
        for (n, c) in refs.iter().enumerate() {
            c.validate(&format!("[{n}]"))?;
            if c.name.is_none() {
                return Err(FieldError::new(format!("[{n}].name"), "name is required").into());
            }
        }
        for attempt in 1..=ATTEMPTS {
            let mut change = CatalogChange {
                now: self.now(),
                ..Default::default()
            };
            let mut resolver = Resolver::new(&*self.store, scope, false, false);
            let mut links = Vec::with_capacity(refs.len());
            for (n, c) in refs.iter().enumerate() {
                let l = resolver
                    .category(c, &mut change)
                    .await?
                    .map_err(|e| FieldError::new(format!("[{n}]"), e))?;
                links.push(l);
            }
            match self.save_links(scope, change).await {
                Ok(saved) => {
                    return Ok(links.iter().map(|l| id_of(*l, &saved.categories)).collect())
                }
                Err(e) if lost_race(&e) && attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the categories kept changing concurrently; retry".into(),
        ))
    }

    /// Creates a brand with its manufacturer (or links the existing ones); its id.
    pub async fn create_brand(
        &self,
        scope: &Scope,
        r: &entreposto_domain::BrandRef,
    ) -> Result<i64> {
        seller_scope(scope)?;
        r.info.validate("info")?;
        if r.info.name.is_none() {
            return Err(FieldError::new("info.name", "name is required").into());
        }
        if let Some(m) = &r.manufacturer {
            m.validate("manufacturer")?;
        }
        for attempt in 1..=ATTEMPTS {
            let mut change = CatalogChange {
                now: self.now(),
                ..Default::default()
            };
            let mut resolver = Resolver::new(&*self.store, scope, false, false);
            let (brand, _) = resolver
                .brand(r, &mut change)
                .await?
                .map_err(|e| FieldError::new("info", e))?;
            match self.save_links(scope, change).await {
                Ok(saved) => return Ok(id_of(brand, &saved.brands)),
                Err(e) if lost_race(&e) && attempt < ATTEMPTS => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the brands kept changing concurrently; retry".into(),
        ))
    }

    async fn save_links(
        &self,
        scope: &Scope,
        change: CatalogChange,
    ) -> std::result::Result<CatalogSaved, StoreError> {
        if change.is_empty() {
            return Ok(CatalogSaved::default());
        }
        self.store.save_catalog(scope, change).await
    }
}

fn id_of(link: Link, created: &[i64]) -> i64 {
    match link {
        Link::Existing(id) => id,
        Link::New(n) => created[n],
    }
}

fn finished_events(finished: bool) -> Vec<CatalogEvent> {
    if finished {
        vec![CatalogEvent::ImportFinished]
    } else {
        Vec::new()
    }
}

pub(crate) fn describe_key(k: &ProductKey) -> String {
    match k {
        ProductKey::Id(id) => format!("id {id}"),
        ProductKey::Sku(s) => format!("sku '{s}'"),
        ProductKey::ExternalId(e) => format!("externalId '{e}'"),
    }
}

/// A random (version 4) UUID, the form 00K's process ids take.
fn new_uuid() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
