//! The catalog's storage contract: products, categories, brands, manufacturers,
//! collections and import jobs.
//!
//! Writes arrive decided as one [`CatalogChange`]: the entities to create (new
//! categories may hang under other new ones, new products link new brands, by index
//! in the change, [`Link::New`]), the product writes guarded by the version they were
//! decided on, stock and price writes, deletions, and for an import step the job's
//! progress. A backend applies all of it in one transaction, or nothing: a product
//! whose version moved, or a job whose cursor moved, makes the whole change
//! [`StoreError::Stale`](crate::StoreError::Stale); a uniqueness clash (a SKU, an
//! external id, a sibling category's name taken meanwhile) makes it `Conflict`. The
//! use case then loads again and decides anew.
//!
//! Import jobs are durable: the rows are stored with the job, each step saves the
//! products of a run of rows together with the job's new cursor, so a job resumed
//! after a crash starts exactly where the last committed step ended and no product is
//! written twice.

use async_trait::async_trait;
use entreposto_domain::{
    Brand, CatalogEvent, Category, Cents, Collection, Manufacturer, Price, Product, ProductDraft,
    ProductFields, ProductKind, Scope, StockLevel, Timestamp,
};

use crate::Result;

/// How a product is named in a request: the hub's id, the SKU or the external id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProductKey {
    Id(i64),
    Sku(String),
    ExternalId(String),
}

/// Listing order of products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProductOrder {
    /// Oldest first (by id).
    #[default]
    Id,
    NameAsc,
    NameDesc,
    PriceAsc,
    PriceDesc,
}

/// Which products a listing returns. Text filters marked *folded* hold text already
/// passed through `entreposto_domain::search::fold` and match when contained in the
/// folded column; the others are exact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub kind: Option<ProductKind>,
    /// Folded; contained in the product's name (FTS5 trigram / `pg_trgm` index).
    pub name: Option<String>,
    /// Folded; contained in the brand's name.
    pub brand: Option<String>,
    pub sku: Option<String>,
    pub external_id: Option<String>,
    /// Folded; contained in the name of one of the product's categories.
    pub category_name: Option<String>,
    pub category_slug: Option<String>,
    /// The product's SEO URL, exact.
    pub url: Option<String>,
    pub collection_id: Option<i64>,
    /// Folded; contained in the name of one of the product's collections.
    pub collection_name: Option<String>,
    /// Bounds on the sale price (`price.value`).
    pub price_lt: Option<Cents>,
    pub price_lte: Option<Cents>,
    pub price_gt: Option<Cents>,
    pub price_gte: Option<Cents>,
    pub order: ProductOrder,
    pub offset: u64,
    pub limit: u32,
}

/// The most matches a name search counts exactly. Counting every product that
/// contains a common word (a tenth of a million-product catalog) costs far more than
/// finding a page of them, so past this many a count only says "more", as search
/// engines do (Elasticsearch's `track_total_hits`; "1,000+ results"). Measured on a
/// million products: counting the first 10,000 matches of a common word took 15 to
/// 25 ms on SQLite and 40 to 80 ms on PostgreSQL, the first 1,000 a tenth of that.
pub const NAME_COUNT_CAP: u64 = 1_000;

/// Which categories (or brands) a listing returns; all of the scope when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityFilter {
    pub id: Option<i64>,
    pub external_id: Option<String>,
    /// Folded; contained in the name.
    pub name: Option<String>,
}

/// A link from a new row to an entity: one that exists, or the `n`-th of its kind
/// created by the same change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    Existing(i64),
    New(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    pub parent: Option<Link>,
    pub name: String,
    pub description: Option<String>,
    pub slug: String,
    pub keywords: Option<String>,
    pub image_source: Option<String>,
    pub external_id: Option<String>,
}

/// A new brand, manufacturer or collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParty {
    pub name: String,
    pub external_id: Option<String>,
    pub image_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBrand {
    pub party: NewParty,
    pub manufacturer: Option<Link>,
}

/// A product to insert (`existing` is `None`) or to replace whole.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductWrite {
    /// The id and version the product had when the change was decided.
    pub existing: Option<(i64, i64)>,
    pub sku: String,
    pub kind: ProductKind,
    /// Stock included: a write replaces all of the product's stock levels.
    pub fields: ProductFields,
    pub categories: Vec<Link>,
    pub brand: Option<Link>,
    pub manufacturer: Option<Link>,
    pub collections: Vec<Link>,
    pub events: Vec<CatalogEvent>,
}

/// New stock levels for some of a product's locations (others are kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockWrite {
    pub product_id: i64,
    pub levels: Vec<StockLevel>,
    pub events: Vec<CatalogEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceWrite {
    pub product_id: i64,
    pub price: Price,
    pub events: Vec<CatalogEvent>,
}

/// A product to delete, with the version it was decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDelete {
    pub product_id: i64,
    pub version: i64,
    pub events: Vec<CatalogEvent>,
}

/// What happened to one row of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// The row is the change's `n`-th product write (created or updated).
    Written { product: usize },
    /// The row failed and nothing of it was written.
    Failed { reasons: Vec<String> },
}

/// An import step: rows `from..from + outcomes.len()` of job `job_id`, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportStep {
    pub job_id: String,
    /// Must be the job's stored cursor, or the step is stale (another node took it).
    pub from: u32,
    /// One per row, in order, each with the row's SKU (as sent, if any).
    pub outcomes: Vec<(Option<String>, RowOutcome)>,
    /// The job has no rows after these: it is marked finished, with `events`.
    pub finished: bool,
    pub events: Vec<CatalogEvent>,
}

/// One decided change to a seller's catalog, applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogChange {
    pub now: Timestamp,
    pub new_categories: Vec<NewCategory>,
    pub new_manufacturers: Vec<NewParty>,
    pub new_brands: Vec<NewBrand>,
    pub new_collections: Vec<NewParty>,
    pub products: Vec<ProductWrite>,
    pub stock: Vec<StockWrite>,
    pub prices: Vec<PriceWrite>,
    pub deletes: Vec<ProductDelete>,
    pub step: Option<ImportStep>,
}

impl CatalogChange {
    pub fn is_empty(&self) -> bool {
        self.new_categories.is_empty()
            && self.new_manufacturers.is_empty()
            && self.new_brands.is_empty()
            && self.new_collections.is_empty()
            && self.products.is_empty()
            && self.stock.is_empty()
            && self.prices.is_empty()
            && self.deletes.is_empty()
            && self.step.is_none()
    }
}

/// The ids a saved change gave its new rows, index for index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogSaved {
    pub categories: Vec<i64>,
    pub manufacturers: Vec<i64>,
    pub brands: Vec<i64>,
    pub collections: Vec<i64>,
    /// The id of each product write (new or existing).
    pub products: Vec<i64>,
}

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportState {
    /// Rows wait to be imported (none taken yet, or a node is on it, or it stopped).
    Pending,
    Running,
    Finished,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Pending => "pending",
            ImportState::Running => "running",
            ImportState::Finished => "finished",
        }
    }
}

/// A durable import job and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    /// A UUID (the 00K document's `proccessId`).
    pub id: String,
    pub operator_id: String,
    pub seller_id: String,
    pub state: ImportState,
    pub verify_categories: bool,
    pub verify_brands: bool,
    /// Rows the job holds.
    pub total: u32,
    /// Rows done (written or failed): the cursor a resumed job starts from.
    pub processed: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl ImportJob {
    pub fn pending(&self) -> u32 {
        self.total - self.processed
    }
}

/// A new job: its rows, validated, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImportJob {
    pub id: String,
    pub verify_categories: bool,
    pub verify_brands: bool,
    pub rows: Vec<ProductDraft>,
    pub created_at: Timestamp,
}

/// A row of a job that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: u32,
    pub sku: Option<String>,
    pub reasons: Vec<String>,
}

/// What a product listing shows of the entities products link to, for one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogLinks {
    pub categories: Vec<Category>,
    pub brands: Vec<Brand>,
    pub manufacturers: Vec<Manufacturer>,
    pub collections: Vec<Collection>,
}

#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Applies a decided change atomically (see the module note); returns the ids of
    /// its new rows. Every row written carries the scope's seller (`scope.seller_id`
    /// must be set), every link and product id is checked to be that seller's
    /// (`NotFound` otherwise).
    async fn save_catalog(&self, scope: &Scope, change: CatalogChange) -> Result<CatalogSaved>;

    async fn get_product(&self, scope: &Scope, key: &ProductKey) -> Result<Product>;
    /// The products with these keys, in no particular order; missing keys are left out.
    async fn find_products(&self, scope: &Scope, keys: &[ProductKey]) -> Result<Vec<Product>>;
    async fn list_products(&self, scope: &Scope, filter: &ProductFilter) -> Result<Vec<Product>>;
    /// How many products match `filter` (its paging fields are ignored). With a name
    /// filter the count stops past [`NAME_COUNT_CAP`]: it is exact up to the cap, and
    /// `NAME_COUNT_CAP + 1` means "more than the cap".
    async fn count_products(&self, scope: &Scope, filter: &ProductFilter) -> Result<u64>;
    /// The kits and groups that list any of `skus` among their parts: (the part's
    /// SKU, the container's SKU, the container's type), by part then container SKU.
    async fn containers_of(
        &self,
        scope: &Scope,
        skus: &[String],
    ) -> Result<Vec<(String, String, ProductKind)>>;

    async fn list_categories(&self, scope: &Scope, filter: &EntityFilter) -> Result<Vec<Category>>;
    async fn list_brands(&self, scope: &Scope, filter: &EntityFilter) -> Result<Vec<Brand>>;
    async fn list_manufacturers(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Manufacturer>>;
    async fn list_collections(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Collection>>;
    /// A category that is a child of `parent` (or a root) with this folded name.
    async fn find_sibling_category(
        &self,
        scope: &Scope,
        parent: Option<i64>,
        folded_name: &str,
    ) -> Result<Option<Category>>;
    /// The categories, brands, manufacturers and collections these products link to.
    async fn links_of(&self, scope: &Scope, products: &[Product]) -> Result<CatalogLinks>;

    /// Stores a new job with its rows (state pending).
    async fn create_import_job(&self, scope: &Scope, job: NewImportJob) -> Result<ImportJob>;
    async fn get_import_job(&self, scope: &Scope, id: &str) -> Result<ImportJob>;
    async fn list_import_jobs(&self, scope: &Scope, limit: u32) -> Result<Vec<ImportJob>>;
    /// Rows `from..from + limit` of a job, with their numbers.
    async fn import_rows(
        &self,
        job_id: &str,
        from: u32,
        limit: u32,
    ) -> Result<Vec<(u32, ProductDraft)>>;
    async fn import_errors(&self, scope: &Scope, id: &str) -> Result<Vec<RowError>>;
    /// The products the job wrote, by row.
    async fn import_products(&self, scope: &Scope, id: &str) -> Result<Vec<Product>>;
    /// Takes the oldest unfinished job that no node holds (or whose holder's lease
    /// ran out before `now`), holding it until `lease_until`; marks it running.
    async fn claim_import_job(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ImportJob>>;
    /// Extends the lease of a job this node holds.
    async fn renew_import_job(&self, id: &str, lease_until: Timestamp) -> Result<()>;
    /// Bulk load for benchmarks and demo data: plain inserts of complete simple
    /// products (no links), in large transactions. `Conflict` if a SKU exists.
    async fn import_products_bulk(
        &self,
        scope: &Scope,
        products: &[(String, ProductFields)],
        now: Timestamp,
    ) -> Result<u64>;
}
