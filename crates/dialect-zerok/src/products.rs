//! 00K's product endpoints: the listing with its filters and pages, imports (accepted
//! as jobs, read back by process id), partial updates, deletion, and stock and price,
//! one product or in batches.
//!
//! Each handler parses (wire types in [`crate::input`]), calls a use case of
//! `entreposto_app` or one of its reads, and renders ([`crate::output`]); no rule
//! about products lives here. An import's items are parsed one by one so that each
//! item's mistakes are that item's (`errors[{itemIndex, sku, errors}]`), as are a
//! batch's. Products are named in paths as the document does: by `id` (the hub's),
//! `sku` or `external_id`.

use axum::extract::{FromRequest, OriginalUri, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use entreposto_app::catalog::BatchItem;
use entreposto_app::AppError;
use entreposto_domain::search::fold;
use entreposto_domain::{Cents, FieldError, Product, ProductKind, Scope};
use entreposto_http::body::{read_limited, JsonBody};
use entreposto_http::envelope::Failure;
use entreposto_http::query::QueryPairs;
use entreposto_http::reply::SizedJson;
use entreposto_http::{ApiError, AppState};
use entreposto_store::{ProductFilter, ProductKey, ProductOrder, RowError, NAME_COUNT_CAP};
use serde_json::value::RawValue;
use utoipa::IntoParams;

use crate::input::{
    self, BatchKeys, ImportBody, PatchIn, PriceItemIn, ProductIn, StockItemIn, StockOne,
};
use crate::output::{
    BatchAnswer, BatchItemOut, Deleted, DeletedProduct, ImportAccepted, ProcessId, ProcessStatus,
    ProductOut, ProductPage,
};
use crate::{StoreAuth, Zerok};

type Result<T> = std::result::Result<T, Failure<Zerok>>;

/// Products on a page of the listing.
pub const PAGE_SIZE: u64 = 30;

/// Room for one rendered product, so a page is written without regrowing its buffer.
const PRODUCT_BYTES: usize = 2048;

/// A request body of any JSON shape (an object or an array), read up to the path's
/// limit; parsed by the handler.
pub struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = Failure<Zerok>;

    async fn from_request(req: Request, _: &S) -> std::result::Result<Self, Self::Rejection> {
        Ok(RawJson(read_limited(req).await?))
    }
}

/// A use case's refusal; one about the request as a whole (no field) names `body`.
pub(crate) fn app_error(e: AppError) -> ApiError {
    match e {
        AppError::Invalid(f) if f.field.is_empty() => ApiError::Invalid(f.under("body")),
        e => e.into(),
    }
}

/// A use case's or a read's refusal, `NotFound` worded as `what()` says.
pub(crate) fn not_found<E: Into<AppError>>(
    what: impl FnOnce() -> String,
) -> impl FnOnce(E) -> ApiError {
    move |e| match e.into() {
        AppError::NotFound => ApiError::NotFound(what()),
        e => app_error(e),
    }
}

/// An item's refusal as its reason: the field and why (just why, for the item itself).
fn reason(e: &FieldError) -> String {
    if e.field.is_empty() {
        e.message.clone()
    } else {
        e.to_string()
    }
}

/// How a path names one product: `{campo}` is `id`, `sku` or `external_id`.
fn product_key(campo: &str, id: &str) -> std::result::Result<ProductKey, ApiError> {
    match campo {
        "id" => id
            .trim()
            .parse()
            .map(ProductKey::Id)
            .map_err(|_| ApiError::NotFound(format!("no product with id '{id}'"))),
        "sku" => Ok(ProductKey::Sku(id.to_string())),
        "external_id" | "externalId" => Ok(ProductKey::ExternalId(id.to_string())),
        _ => Err(ApiError::invalid(
            "campo",
            format!("'{campo}' is not a key: id, sku or external_id"),
        )),
    }
}

fn describe(key: &ProductKey) -> String {
    match key {
        ProductKey::Id(id) => format!("no product with id {id}"),
        ProductKey::Sku(s) => format!("no product with sku '{s}'"),
        ProductKey::ExternalId(e) => format!("no product with external_id '{e}'"),
    }
}

/// Renders products with what their page needs.
async fn rendered(
    state: &AppState,
    scope: &Scope,
    products: Vec<Product>,
    total: u64,
    total_exact: Option<bool>,
    next: Option<String>,
) -> Result<Response> {
    let view = state.store.catalog_view(scope, products).await?;
    let size = PRODUCT_BYTES * view.products.len() + 256;
    Ok(SizedJson(
        ProductPage {
            total,
            total_exact,
            items: ProductOut::all(&view),
            next,
        },
        size,
    )
    .into_response())
}

/// One product in the listing's shape.
async fn one(state: &AppState, scope: &Scope, p: Product) -> Result<Response> {
    let view = state.store.catalog_view(scope, vec![p]).await?;
    let out = view
        .products
        .first()
        .map(|p| ProductOut::of(p, &view))
        .ok_or(ApiError::Internal)?;
    Ok(SizedJson(out, PRODUCT_BYTES).into_response())
}

/// The listing's filters, as the document names them, in the order `next` repeats them.
const FILTERS: [&str; 14] = [
    "name",
    "brand",
    "sku",
    "externalId",
    "category_name",
    "category_slug",
    "url",
    "collection_id",
    "collection_name",
    "price_lt",
    "price_lte",
    "price_gt",
    "price_gte",
    "orderBy",
];

fn list_type(raw: &str) -> std::result::Result<Option<ProductKind>, ApiError> {
    let t = raw.trim().to_ascii_lowercase();
    if t == "all" {
        return Ok(None);
    }
    ProductKind::parse(&t).map(Some).map_err(|_| {
        ApiError::invalid(
            "type",
            format!("'{raw}' is not a product type: all, simple, group or kit"),
        )
    })
}

fn price_bound(q: &QueryPairs, name: &str) -> std::result::Result<Option<Cents>, ApiError> {
    q.get(name)
        .map(|v| {
            Cents::parse_decimal(v).map_err(|_| {
                ApiError::invalid(
                    name,
                    format!("'{v}' is not an amount in reais with at most two decimals (10.10)"),
                )
            })
        })
        .transpose()
}

fn order_by(raw: &str) -> std::result::Result<ProductOrder, ApiError> {
    let (field, dir) = raw.split_once(':').unwrap_or((raw, "asc"));
    let desc = match dir.trim().to_ascii_lowercase().as_str() {
        "asc" => false,
        "desc" => true,
        _ => {
            return Err(ApiError::invalid(
                "orderBy",
                format!("'{raw}': the direction is asc or desc"),
            ))
        }
    };
    match (field.trim().to_ascii_lowercase().as_str(), desc) {
        ("name", false) => Ok(ProductOrder::NameAsc),
        ("name", true) => Ok(ProductOrder::NameDesc),
        ("price", false) => Ok(ProductOrder::PriceAsc),
        ("price", true) => Ok(ProductOrder::PriceDesc),
        _ => Err(ApiError::invalid(
            "orderBy",
            format!("'{raw}' is not an order: name or price, with :asc or :desc"),
        )),
    }
}

/// The listing's filter and page from its path type and query.
fn product_filter(
    kind: &str,
    q: &QueryPairs,
) -> std::result::Result<(ProductFilter, u64), ApiError> {
    let page = match q.get("page") {
        Some(p) => p
            .trim()
            .parse::<u64>()
            .ok()
            // Offsets are signed in the stores.
            .filter(|n| {
                n.checked_mul(PAGE_SIZE)
                    .is_some_and(|o| o <= i64::MAX as u64)
            })
            .ok_or_else(|| {
                ApiError::invalid("page", format!("'{p}' is not a page number (0, 1, ...)"))
            })?,
        None => 0,
    };
    let folded = |name: &str| q.get(name).map(fold).filter(|s| !s.is_empty());
    let exact = |name: &str| q.get(name).map(str::to_string);
    let collection_id = q
        .get("collection_id")
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ApiError::invalid("collection_id", format!("'{v}' is not a collection id"))
            })
        })
        .transpose()?;
    let filter = ProductFilter {
        kind: list_type(kind)?,
        name: folded("name"),
        brand: folded("brand"),
        sku: exact("sku"),
        external_id: exact("externalId"),
        category_name: folded("category_name"),
        category_slug: exact("category_slug"),
        url: exact("url"),
        collection_id,
        collection_name: folded("collection_name"),
        price_lt: price_bound(q, "price_lt")?,
        price_lte: price_bound(q, "price_lte")?,
        price_gt: price_bound(q, "price_gt")?,
        price_gte: price_bound(q, "price_gte")?,
        order: q
            .get("orderBy")
            .map(order_by)
            .transpose()?
            .unwrap_or_default(),
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE as u32,
    };
    Ok((filter, page))
}

/// The next page's URL: this listener's URL, the path as it came, the filters given
/// (unknown parameters left out) and the next page number.
fn next_url(state: &AppState, path: &str, q: &QueryPairs, page: u64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for name in FILTERS {
        if let Some(v) = q.get(name) {
            query.append_pair(name, v);
        }
    }
    query.append_pair("page", &(page + 1).to_string());
    format!("{}{path}?{}", state.public_url, query.finish())
}

/// The listing's query parameters (unknown ones are ignored).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
pub struct ListQuery {
    /// Contained in the product's name (case- and accent-insensitive).
    name: Option<String>,
    /// Contained in the brand's name (case- and accent-insensitive).
    brand: Option<String>,
    /// The SKU, exactly.
    sku: Option<String>,
    /// The seller's id of the product, exactly.
    externalId: Option<String>,
    /// Contained in the name of one of the product's categories.
    category_name: Option<String>,
    /// The slug of one of the product's categories, exactly.
    category_slug: Option<String>,
    /// The product's SEO URL, exactly.
    url: Option<String>,
    /// One of the product's collections.
    collection_id: Option<i64>,
    /// Contained in the name of one of the product's collections.
    collection_name: Option<String>,
    /// Sale price less than this (reais, at most two decimals).
    price_lt: Option<f64>,
    /// Sale price at most this.
    price_lte: Option<f64>,
    /// Sale price more than this.
    price_gt: Option<f64>,
    /// Sale price at least this.
    price_gte: Option<f64>,
    /// `name` or `price`, optionally with `:asc` (the default) or `:desc` (in any
    /// letter case); oldest first when left out.
    #[param(pattern = r"^(name|price)(:(asc|desc))?$")]
    orderBy: Option<String>,
    /// The page, from 0; 30 products a page.
    #[param(minimum = 0)]
    page: Option<u64>,
}

/// The listing's types.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum ListType {
    all,
    simple,
    group,
    kit,
}

/// `GET /catalog/products/{type}` (with or without the trailing slash).
#[utoipa::path(get, path = "/catalog/products/{type}",
    params(("type" = inline(ListType), Path, description = "Only products of this type (`all` for every type)"), ListQuery),
    responses((status = 200, description = "A page of products matching every filter given (an empty page when none does)", body = ProductPage<'static>),
              (status = 400, description = "2.1: a filter, the type or the page is invalid; the message names it")))]
pub async fn list(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(kind): Path<String>,
    OriginalUri(uri): OriginalUri,
    q: QueryPairs,
) -> Result<Response> {
    let (filter, page) = product_filter(&kind, &q)?;
    let counted = state.store.count_products(&auth.scope, &filter).await?;
    // A name search counts no further than the cap: past it, whether there is a next
    // page is whether this one is full.
    let exact = counted <= NAME_COUNT_CAP;
    let products = if exact && filter.offset >= counted {
        Vec::new()
    } else {
        state.store.list_products(&auth.scope, &filter).await?
    };
    let more = if exact {
        filter.offset + PAGE_SIZE < counted
    } else {
        products.len() as u64 == PAGE_SIZE
    };
    let next = more.then(|| next_url(&state, uri.path(), &q, page));
    let total = counted.min(NAME_COUNT_CAP);
    rendered(&state, &auth.scope, products, total, Some(exact), next).await
}

fn verify_flag(q: &QueryPairs, name: &str) -> std::result::Result<bool, ApiError> {
    match q.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(_) => Err(ApiError::invalid(
            name,
            format!("'{}' is not true or false", q.get(name).unwrap_or_default()),
        )),
    }
}

/// The body limit of imports: a thousand products are about 2 MB, and an import may
/// hold ten thousand.
pub const IMPORT_BODY_BYTES: usize = 32 * 1024 * 1024;

/// `POST /catalog/import` (with or without the trailing slash).
#[utoipa::path(post, path = "/catalog/import", request_body = ImportBody,
    params(("verify_categories" = Option<bool>, Query, description = "true: categories must exist (by `id` or `externalId`); the product fails otherwise. false (the default): unknown ones are created"),
           ("verify_brands" = Option<bool>, Query, description = "true: brands and manufacturers must exist; false (the default): unknown ones are created")),
    responses((status = 202, description = "Accepted: the products are imported in the background; follow them with the process id", body = ImportAccepted),
              (status = 400, description = "2.1: nothing was imported. For items that break a rule, `errors` holds each one's `itemIndex`, `sku` and reasons"),
              (status = 413, description = "The body is larger than 32 MiB")))]
pub async fn import(
    auth: StoreAuth,
    State(state): State<AppState>,
    q: QueryPairs,
    RawJson(body): RawJson,
) -> Result<Response> {
    let verify_categories = verify_flag(&q, "verify_categories")?;
    let verify_brands = verify_flag(&q, "verify_brands")?;
    let raws = input::items(&body).map_err(ApiError::Invalid)?;
    let mut drafts = Vec::with_capacity(raws.len());
    let mut problems = Vec::new();
    for (n, raw) in raws.iter().enumerate() {
        match input::item::<ProductIn>(raw).and_then(ProductIn::draft) {
            Ok(d) => drafts.push((n as u32, d)),
            Err(e) => problems.push(RowError {
                row: n as u32,
                sku: input::sku_of(raw),
                reasons: vec![reason(&e)],
            }),
        }
    }
    if !problems.is_empty() {
        // One answer for every item: the domain's own check of those that did parse
        // (what the use case would have answered for them).
        for (row, d) in &drafts {
            if let Err(e) = d.validate() {
                problems.push(RowError {
                    row: *row,
                    sku: d.sku.clone(),
                    reasons: vec![reason(&e)],
                });
            }
        }
        problems.sort_by_key(|p| p.row);
        return Err(ApiError::InvalidRows(problems).into());
    }
    let job = state
        .app
        .start_import(
            &auth.scope,
            drafts.into_iter().map(|(_, d)| d).collect(),
            verify_categories,
            verify_brands,
        )
        .await
        .map_err(app_error)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ImportAccepted {
            data: ProcessId {
                proccess_id: job.id,
            },
        }),
    )
        .into_response())
}

fn no_process(id: &str) -> impl FnOnce(entreposto_store::StoreError) -> ApiError + '_ {
    not_found(move || format!("no import process '{id}'"))
}

/// `GET /catalog/products/process/{processId}`.
#[utoipa::path(get, path = "/catalog/products/process/{processId}",
    params(("processId" = String, Path, description = "The `proccessId` an import answered")),
    responses((status = 200, description = "Every product the import has written so far, in the order sent (`next` is always null)", body = ProductPage<'static>),
              (status = 400, description = "2.0: no import of this store has this id")))]
pub async fn process(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response> {
    state
        .store
        .get_import_job(&auth.scope, &id)
        .await
        .map_err(no_process(&id))?;
    let products = state
        .store
        .import_products(&auth.scope, &id)
        .await
        .map_err(no_process(&id))?;
    let total = products.len() as u64;
    rendered(&state, &auth.scope, products, total, None, None).await
}

/// `GET /catalog/products/process/{processId}/status`: an extension.
#[utoipa::path(get, path = "/catalog/products/process/{processId}/status",
    params(("processId" = String, Path, description = "The `proccessId` an import answered")),
    responses((status = 200, description = "An extension of the document: where the import is, and why each failed product failed", body = ProcessStatus),
              (status = 400, description = "2.0: no import of this store has this id")))]
pub async fn process_status(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ProcessStatus>> {
    let job = state
        .store
        .get_import_job(&auth.scope, &id)
        .await
        .map_err(no_process(&id))?;
    let errors = state
        .store
        .import_errors(&auth.scope, &id)
        .await
        .map_err(no_process(&id))?;
    Ok(Json(ProcessStatus::of(&job, errors)))
}

/// The path parameters naming one product.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ProductPath {
    /// Which key `id` is: the hub's `id`, the `sku` or the seller's `external_id`.
    #[param(inline)]
    campo: Campo,
    /// The product's key.
    id: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum Campo {
    id,
    sku,
    external_id,
}

/// `PUT /catalog/import/{campo}/{id}`: a partial update.
#[utoipa::path(put, path = "/catalog/import/{campo}/{id}", request_body = PatchIn, params(ProductPath),
    responses((status = 200, description = "The product as updated", body = ProductOut<'static>),
              (status = 400, description = "2.0: no such product; 2.1: a field is invalid (the message names it)")))]
pub async fn update(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path((campo, id)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<PatchIn, Zerok>,
) -> Result<Response> {
    let key = product_key(&campo, &id)?;
    let patch = body.patch().map_err(ApiError::Invalid)?;
    let p = state
        .app
        .update_product(&auth.scope, &key, &patch)
        .await
        .map_err(not_found(|| describe(&key)))?;
    one(&state, &auth.scope, p).await
}

/// The types a product is deleted as.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum DeleteType {
    simple,
    group,
    kit,
}

/// `DELETE /catalog/products/{type}/{id}`.
#[utoipa::path(delete, path = "/catalog/products/{type}/{id}",
    params(("type" = inline(DeleteType), Path, description = "The product's type"),
           ("id" = i64, Path, description = "The product's id")),
    responses((status = 200, description = "Deleted", body = Deleted),
              (status = 400, description = "2.0: no product of this type has this id; 2.1: the type is not simple, group or kit, or a kit or group still lists the product")))]
pub async fn delete(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<Deleted>> {
    let kind = match list_type(&kind)? {
        Some(k) => k,
        None => {
            return Err(
                ApiError::invalid("type", "a product is deleted as simple, group or kit").into(),
            )
        }
    };
    let key = product_key("id", &id)?;
    let p = state
        .app
        .delete_product(&auth.scope, kind, &key)
        .await
        .map_err(not_found(|| format!("no {} with id {id}", kind.as_str())))?;
    Ok(Json(Deleted {
        updated: DeletedProduct {
            kind: p.data.kind.as_str(),
            id: p.id.to_string(),
        },
    }))
}

/// `PUT /catalog/products/stock/{campo}/{id}`: one product's stock at one location.
#[utoipa::path(put, path = "/catalog/products/stock/{campo}/{id}", request_body = StockOne, params(ProductPath),
    responses((status = 200, description = "The product with its new stock (other locations keep theirs)", body = ProductOut<'static>),
              (status = 400, description = "2.0: no such product; 2.1: the stock is invalid, or the product is a kit or group (their stock follows from their parts)")))]
pub async fn set_stock(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path((campo, id)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<StockOne, Zerok>,
) -> Result<Response> {
    let key = product_key(&campo, &id)?;
    let level = body.level().map_err(ApiError::Invalid)?;
    // Checked here too so that a mistake is named as this body spells it
    // (`info.quantity`), not as the batch the use case takes it in (`stock[0]`).
    entreposto_domain::check_stock("", &level).map_err(ApiError::Invalid)?;
    let p = state
        .app
        .set_stock(&auth.scope, &key, vec![level])
        .await
        .map_err(not_found(|| describe(&key)))?;
    one(&state, &auth.scope, p).await
}

/// A batch item's keys as the use case takes them.
fn keyed<T>(
    id: Option<crate::wire::Id>,
    sku: Option<crate::wire::Text>,
    external_id: Option<crate::wire::Text>,
    value: std::result::Result<T, FieldError>,
) -> BatchItem<T> {
    BatchItem {
        id: id.map(|i| i.0),
        sku: sku.map(|s| s.0),
        external_id: external_id.map(|e| e.0),
        value,
    }
}

/// The items of a batch body, each parsed on its own by `parse`; an item that does
/// not parse still names its product when its keys do.
fn batch_items<T, I: serde::de::DeserializeOwned>(
    body: &[u8],
    parse: impl Fn(I) -> BatchItem<T>,
) -> std::result::Result<Vec<BatchItem<T>>, ApiError> {
    let raws: Vec<Box<RawValue>> = input::items(body).map_err(ApiError::Invalid)?;
    Ok(raws
        .iter()
        .map(|raw| match input::item::<I>(raw) {
            Ok(it) => parse(it),
            Err(e) => {
                let keys: BatchKeys = input::item(raw).unwrap_or_default();
                keyed(keys.id, keys.sku, keys.external_id, Err(e))
            }
        })
        .collect())
}

/// `PUT /catalog/products/stock`: the stock of many products.
#[utoipa::path(put, path = "/catalog/products/stock", request_body = Vec<StockItemIn>,
    responses((status = 200, description = "Each item applied or refused on its own (at most 1,000 items; each names its product by `id`, `sku` or `externalId`, the first given)", body = BatchAnswer),
              (status = 400, description = "2.1: the body is not an array of items, is empty or holds more than 1,000")))]
pub async fn stock_batch(
    auth: StoreAuth,
    State(state): State<AppState>,
    RawJson(body): RawJson,
) -> Result<Json<BatchAnswer>> {
    let items = batch_items(&body, |it: StockItemIn| {
        let value = input::levels(it.stock.unwrap_or_default());
        keyed(it.id, it.sku, it.external_id, value)
    })?;
    let outcomes = state
        .app
        .set_stock_batch(&auth.scope, items)
        .await
        .map_err(app_error)?;
    Ok(Json(BatchAnswer::of(
        outcomes.into_iter().map(BatchItemOut::of).collect(),
    )))
}

/// `PUT /catalog/products/price`: the price of many products.
#[utoipa::path(put, path = "/catalog/products/price", request_body = Vec<PriceItemIn>,
    responses((status = 200, description = "Each item applied or refused on its own (at most 1,000 items; each names its product by `id`, `sku` or `externalId`, the first given)", body = BatchAnswer),
              (status = 400, description = "2.1: the body is not an array of items, is empty or holds more than 1,000")))]
pub async fn price_batch(
    auth: StoreAuth,
    State(state): State<AppState>,
    RawJson(body): RawJson,
) -> Result<Json<BatchAnswer>> {
    let items = batch_items(&body, |it: PriceItemIn| {
        let value = input::first_price(it.price.unwrap_or_default())
            .and_then(|p| p.ok_or_else(|| FieldError::new("price", "is required")));
        keyed(it.id, it.sku, it.external_id, value)
    })?;
    let outcomes = state
        .app
        .set_price_batch(&auth.scope, items)
        .await
        .map_err(app_error)?;
    Ok(Json(BatchAnswer::of(
        outcomes.into_iter().map(BatchItemOut::of).collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> QueryPairs {
        QueryPairs::parse(s)
    }

    #[test]
    fn every_filter_of_the_document() {
        let (f, page) = product_filter(
            "kit",
            &q(
                "name=Cal%C3%A7ado&brand=MARCA&sku=S1&externalId=E1&category_name=Sa%C3%BAde\
                &category_slug=saude&url=u&collection_id=7&collection_name=Ver%C3%A3o\
                &price_lt=10.1&price_lte=10&price_gt=0.5&price_gte=1e1&orderBy=price:desc&page=2\
                &unknown=1",
            ),
        )
        .unwrap();
        assert_eq!(page, 2);
        assert_eq!(f.kind, Some(ProductKind::Kit));
        assert_eq!(f.name.as_deref(), Some("calcado"));
        assert_eq!(f.brand.as_deref(), Some("marca"));
        assert_eq!(f.category_name.as_deref(), Some("saude"));
        assert_eq!(f.collection_name.as_deref(), Some("verao"));
        assert_eq!(f.sku.as_deref(), Some("S1"));
        assert_eq!(f.external_id.as_deref(), Some("E1"));
        assert_eq!(f.category_slug.as_deref(), Some("saude"));
        assert_eq!(f.collection_id, Some(7));
        assert_eq!(f.price_lt, Some(Cents(1010)));
        assert_eq!(f.price_lte, Some(Cents(1000)));
        assert_eq!(f.price_gt, Some(Cents(50)));
        assert_eq!(f.price_gte, Some(Cents(1000)));
        assert_eq!(f.order, ProductOrder::PriceDesc);
        assert_eq!((f.offset, f.limit), (60, 30));
        let (f, _) = product_filter("all", &q("orderBy=name")).unwrap();
        assert_eq!((f.kind, f.order), (None, ProductOrder::NameAsc));
    }

    #[test]
    fn bad_filters_name_themselves() {
        for (kind, query, field) in [
            ("bundle", "", "type"),
            ("all", "price_lt=abc", "price_lt"),
            ("all", "price_gte=1.001", "price_gte"),
            ("all", "orderBy=stock", "orderBy"),
            ("all", "orderBy=price:up", "orderBy"),
            ("all", "page=-1", "page"),
            ("all", "page=x", "page"),
            ("all", "page=999999999999999999", "page"),
            ("all", "collection_id=x", "collection_id"),
        ] {
            let e = product_filter(kind, &q(query)).unwrap_err();
            assert_eq!(e.field(), Some(field), "{kind} {query}: {e:?}");
        }
    }

    #[test]
    fn keys_in_paths() {
        assert_eq!(product_key("id", "12").unwrap(), ProductKey::Id(12));
        assert!(matches!(
            product_key("id", "x").unwrap_err(),
            ApiError::NotFound(_)
        ));
        assert_eq!(
            product_key("external_id", "E").unwrap(),
            ProductKey::ExternalId("E".into())
        );
        assert_eq!(product_key("ean", "1").unwrap_err().field(), Some("campo"));
    }

    #[test]
    fn batch_items_keep_their_keys_when_their_values_fail() {
        let items = batch_items(
            br#"[{"sku": "A", "stock": [{"info": {"quantity": "x"}}]},
                 {"id": "nope"}, 3, {"externalId": 9, "stock": [{"info": {"quantity": 1}}]}]"#,
            |it: StockItemIn| {
                let value = input::levels(it.stock.unwrap_or_default());
                keyed(it.id, it.sku, it.external_id, value)
            },
        )
        .unwrap();
        assert_eq!(items[0].sku.as_deref(), Some("A"));
        assert_eq!(
            items[0].value.as_ref().unwrap_err().field,
            "stock[0].info.quantity"
        );
        assert_eq!(items[1].id, None);
        assert_eq!(items[1].value.as_ref().unwrap_err().field, "id");
        assert!(items[2].value.is_err());
        assert_eq!(items[3].external_id.as_deref(), Some("9"));
        assert_eq!(items[3].value.as_ref().unwrap()[0].quantity, 1);
    }
}
