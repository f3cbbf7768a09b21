//! The sellers' catalogs on the native API, read-only: the operator reads any of its
//! sellers' products (filtered and paged), categories, brands, and import jobs with
//! their progress and per-row errors.
//!
//! Sellers write their catalogs through their own dialect (00K's `POST
//! /catalog/import`) or the `entreposto catalog import` command; the operator watches
//! here. Every route names the seller in its path and is scoped to it: a seller of
//! another operator, and any id of another seller, is a 404. Money is written as the
//! native API writes it everywhere, decimal reais (`499.99`), stored as centavos.

use axum::extract::{Path, State};
use axum::Json;
use entreposto_domain::{
    search::fold, Brand, Category, Cents, Manufacturer, Product, ProductKind, Scope, StockStatus,
    Timestamp,
};
use entreposto_store::{
    EntityFilter, ImportJob, ImportState, ProductFilter, ProductKey, ProductOrder, RowError,
    NAME_COUNT_CAP,
};
use serde::Serialize;
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use entreposto_app::CatalogView;
use entreposto_http::body::Amount;
use entreposto_http::openapi::string_enum;
use entreposto_http::query::QueryPairs;
use entreposto_http::{ApiError, AppState};

use super::{OperatorAuth, Result};

/// Products per page when `limit` is not given, and the most one page may hold.
pub const PAGE_DEFAULT: u32 = 50;
pub const PAGE_MAX: u32 = 200;
/// Import jobs listed when `limit` is not given, and the most.
pub const JOBS_DEFAULT: u32 = 50;
pub const JOBS_MAX: u32 = 500;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceOut {
    pub list: Amount,
    pub value: Amount,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LocationOut {
    /// `0` for stock sent without a location.
    pub id: i64,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StockOut {
    pub location: LocationOut,
    pub quantity: i64,
    pub minimum: i64,
    /// Special stock logic; when set, quantity and minimum do not decide whether the
    /// product sells.
    #[schema(schema_with = stock_status)]
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DimensionsOut {
    pub height: f64,
    pub width: f64,
    pub length: f64,
    /// Grams.
    pub weight: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CepRangeOut {
    pub start: String,
    pub end: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FreightOut {
    pub free: bool,
    pub fixed: Option<Amount>,
    pub additional: Option<Amount>,
    /// Calendar days.
    pub deadline: Option<i64>,
    pub free_range: Option<CepRangeOut>,
}

#[derive(Serialize, ToSchema)]
pub struct DescriptionOut {
    pub title: String,
    /// May hold HTML, as sent.
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentOut {
    pub title: String,
    pub src: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeoOut {
    pub url: Option<String>,
    pub title: Option<String>,
    pub meta_description: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GtinsOut {
    pub mpn: Option<String>,
    pub ean: Option<String>,
    pub jan: Option<String>,
    pub isbn: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeOut {
    /// The attribute group (`Tamanho`).
    pub group: String,
    pub name: String,
    pub value: String,
    /// What the attribute measures (`width`), as sent.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Another product, by SKU.
#[derive(Serialize, ToSchema)]
pub struct PartOut {
    pub sku: String,
    #[serde(rename = "type")]
    #[schema(schema_with = product_type)]
    pub kind: String,
    /// Units of the part in a kit; 1 for a group's variation or a related product.
    pub quantity: i64,
}

/// A kit or group a product is part of.
#[derive(Serialize, ToSchema)]
pub struct ContainerOut {
    pub sku: String,
    #[serde(rename = "type")]
    #[schema(schema_with = product_type)]
    pub kind: String,
}

/// A brand, manufacturer or collection as a product links it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartyOut {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryOut {
    pub id: String,
    /// `null` for a root category.
    pub parent_id: Option<String>,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub keywords: Option<String>,
    pub image_source: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManufacturerOut {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub image_source: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrandOut {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub image_source: Option<String>,
    pub manufacturer: Option<ManufacturerOut>,
}

/// A stored product with what it links to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOut {
    /// The hub's product id.
    pub id: String,
    pub seller: String,
    pub sku: String,
    pub external_id: Option<String>,
    #[serde(rename = "type")]
    #[schema(schema_with = product_type)]
    pub kind: String,
    /// Bumped by every write.
    pub version: i64,
    pub name: String,
    pub subtitle: String,
    pub active: bool,
    pub published: bool,
    pub archived: bool,
    pub model: String,
    pub item_flag: Option<String>,
    pub warranty: Option<String>,
    /// `null` for a group sent without one.
    pub price: Option<PriceOut>,
    /// Per location, for a simple; empty for a kit or group (theirs follows from
    /// their parts, see `sellable`).
    pub stock: Vec<StockOut>,
    /// Units that can be sold from every location; a kit's and group's follow from
    /// their parts. `null`: no limit (sells without stock, or on pre-sale).
    pub sellable: Option<i64>,
    pub dimensions: Option<DimensionsOut>,
    pub freight: Option<FreightOut>,
    pub descriptions: Vec<DescriptionOut>,
    /// Image URLs.
    pub images: Vec<String>,
    pub documents: Vec<DocumentOut>,
    pub seo: SeoOut,
    pub gtins: GtinsOut,
    pub attributes: Vec<AttributeOut>,
    pub related: Vec<PartOut>,
    /// A kit's components or a group's variations.
    pub parts: Vec<PartOut>,
    /// The kits and groups this product is part of.
    pub part_of: Vec<ContainerOut>,
    pub categories: Vec<CategoryOut>,
    pub brand: Option<PartyOut>,
    pub manufacturer: Option<PartyOut>,
    pub collections: Vec<PartyOut>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductPage {
    /// Products matching the filters, on every page; a name search counts at most
    /// 1,000 (then `total` is 1000 and `totalExact` false).
    pub total: u64,
    /// Whether `total` is the exact count.
    #[serde(rename = "totalExact")]
    pub total_exact: bool,
    pub offset: u64,
    pub limit: u32,
    pub items: Vec<ProductOut>,
}

/// A row of an import that failed, and why.
#[derive(Serialize, ToSchema)]
pub struct RowErrorOut {
    /// The row's index in the import, from 0.
    pub row: u32,
    /// The row's SKU as sent, if any.
    pub sku: Option<String>,
    /// Each reason starts with the field it is about (`simple[0].sku: ...`).
    pub reasons: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportJobOut {
    /// The job's UUID (00K's `proccessId`).
    pub id: String,
    pub seller: String,
    #[schema(schema_with = import_state)]
    pub state: String,
    pub verify_categories: bool,
    pub verify_brands: bool,
    /// Rows the import holds.
    pub total: u32,
    /// Rows done, written or failed.
    pub processed: u32,
    /// Rows written (a product created or replaced).
    pub succeeded: u32,
    pub failed: u32,
    /// Rows not done yet.
    pub pending: u32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    /// The failed rows; left out of listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowErrorOut>>,
}

fn product_type() -> Object {
    string_enum(ProductKind::ALL.map(ProductKind::as_str), false)
}

const STOCK_STATUSES: [StockStatus; 3] = [
    StockStatus::NoStock,
    StockStatus::SellWithoutStock,
    StockStatus::PreSale,
];

fn stock_status_word(s: StockStatus) -> &'static str {
    match s {
        StockStatus::NoStock => "no_stock",
        StockStatus::SellWithoutStock => "sell_without_stock",
        StockStatus::PreSale => "pre_sale",
    }
}

fn stock_status() -> Object {
    string_enum(STOCK_STATUSES.map(stock_status_word), true)
}

fn import_state() -> Object {
    string_enum(
        [
            ImportState::Pending,
            ImportState::Running,
            ImportState::Finished,
        ]
        .map(ImportState::as_str),
        false,
    )
}

fn party(id: i64, name: &str, external_id: &Option<String>) -> PartyOut {
    PartyOut {
        id: id.to_string(),
        name: name.to_string(),
        external_id: external_id.clone(),
    }
}

fn category_out(c: &Category) -> CategoryOut {
    CategoryOut {
        id: c.id.to_string(),
        parent_id: c.parent_id.map(|p| p.to_string()),
        name: c.name.clone(),
        slug: c.slug.clone(),
        description: c.description.clone(),
        keywords: c.keywords.clone(),
        image_source: c.image_source.clone(),
        external_id: c.external_id.clone(),
    }
}

fn manufacturer_out(m: &Manufacturer) -> ManufacturerOut {
    ManufacturerOut {
        id: m.id.to_string(),
        name: m.name.clone(),
        external_id: m.external_id.clone(),
        image_source: m.image_source.clone(),
    }
}

fn part_out(p: &entreposto_domain::ProductPart) -> PartOut {
    PartOut {
        sku: p.sku.clone(),
        kind: p.kind.as_str().into(),
        quantity: p.quantity,
    }
}

/// `p` as the native API writes it, with what `view` loaded for its page.
pub fn product_out(p: &Product, view: &CatalogView) -> ProductOut {
    let d = &p.data;
    let f = &d.fields;
    let sellable = match d.kind {
        ProductKind::Simple => entreposto_domain::sellable(&f.stock),
        _ => view.derived_stock.get(&p.id).copied().flatten(),
    };
    ProductOut {
        id: p.id.to_string(),
        seller: p.seller_id.clone(),
        sku: d.sku.clone(),
        external_id: f.external_id.clone(),
        kind: d.kind.as_str().into(),
        version: p.version,
        name: f.info.name.clone(),
        subtitle: f.info.subtitle.clone(),
        active: f.info.active,
        published: f.info.published,
        archived: f.info.archived,
        model: f.info.model.clone(),
        item_flag: f.info.item_flag.clone(),
        warranty: f.info.warranty.clone(),
        price: f.price.map(|pr| PriceOut {
            list: Amount(pr.list),
            value: Amount(pr.value),
            expires_at: pr.expires_at.map(Timestamp::to_rfc3339_utc),
        }),
        stock: f
            .stock
            .iter()
            .map(|s| StockOut {
                location: LocationOut {
                    id: s.location.id,
                    name: s.location.name.clone(),
                },
                quantity: s.quantity,
                minimum: s.minimum,
                status: s.status.map(|s| stock_status_word(s).to_string()),
            })
            .collect(),
        sellable,
        dimensions: f.dimensions.map(|x| DimensionsOut {
            height: x.height,
            width: x.width,
            length: x.length,
            weight: x.weight_grams,
        }),
        freight: f.freight.as_ref().map(|x| FreightOut {
            free: x.free,
            fixed: x.fixed.map(Amount),
            additional: x.additional.map(Amount),
            deadline: x.deadline_days,
            free_range: x.free_range.as_ref().map(|r| CepRangeOut {
                start: r.start.clone(),
                end: r.end.clone(),
            }),
        }),
        descriptions: f
            .descriptions
            .iter()
            .map(|x| DescriptionOut {
                title: x.title.clone(),
                text: x.text.clone(),
            })
            .collect(),
        images: f.images.clone(),
        documents: f
            .documents
            .iter()
            .map(|x| DocumentOut {
                title: x.title.clone(),
                src: x.src.clone(),
            })
            .collect(),
        seo: SeoOut {
            url: f.seo.url.clone(),
            title: f.seo.title.clone(),
            meta_description: f.seo.meta_description.clone(),
        },
        gtins: GtinsOut {
            mpn: f.gtins.mpn.clone(),
            ean: f.gtins.ean.as_ref().map(|g| g.as_str().to_string()),
            jan: f.gtins.jan.as_ref().map(|g| g.as_str().to_string()),
            isbn: f.gtins.isbn.clone(),
        },
        attributes: f
            .attribute_groups
            .iter()
            .map(|a| AttributeOut {
                group: a.name.clone(),
                name: a.attribute_name.clone(),
                value: a.attribute_value.clone(),
                kind: a.attribute_type.clone(),
            })
            .collect(),
        related: f.related.iter().map(part_out).collect(),
        parts: f.parts.iter().map(part_out).collect(),
        part_of: view
            .containers
            .get(&d.sku)
            .map(|cs| {
                cs.iter()
                    .map(|(sku, kind)| ContainerOut {
                        sku: sku.clone(),
                        kind: kind.as_str().into(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        categories: d
            .category_ids
            .iter()
            .filter_map(|id| view.category(*id))
            .map(category_out)
            .collect(),
        brand: d
            .brand_id
            .and_then(|id| view.brand(id))
            .map(|b| party(b.id, &b.name, &b.external_id)),
        manufacturer: d
            .manufacturer_id
            .and_then(|id| view.manufacturer(id))
            .map(|m| party(m.id, &m.name, &m.external_id)),
        collections: d
            .collection_ids
            .iter()
            .filter_map(|id| view.collection(*id))
            .map(|c| party(c.id, &c.name, &c.external_id))
            .collect(),
        created_at: p.created_at.to_rfc3339_utc(),
        updated_at: p.updated_at.to_rfc3339_utc(),
    }
}

pub(crate) fn job_out(j: &ImportJob, errors: Option<Vec<RowError>>) -> ImportJobOut {
    ImportJobOut {
        id: j.id.clone(),
        seller: j.seller_id.clone(),
        state: j.state.as_str().into(),
        verify_categories: j.verify_categories,
        verify_brands: j.verify_brands,
        total: j.total,
        processed: j.processed,
        succeeded: j.succeeded,
        failed: j.failed,
        pending: j.pending(),
        created_at: j.created_at.to_rfc3339_utc(),
        updated_at: j.updated_at.to_rfc3339_utc(),
        finished_at: j.finished_at.map(Timestamp::to_rfc3339_utc),
        errors: errors.map(|rows| {
            rows.into_iter()
                .map(|r| RowErrorOut {
                    row: r.row,
                    sku: r.sku,
                    reasons: r.reasons,
                })
                .collect()
        }),
    }
}

/// The scope of seller `seller_id` if it is one of the caller's; 404 otherwise.
pub(crate) async fn seller_scope(
    state: &AppState,
    p: &entreposto_http::auth::Principal,
    seller_id: &str,
) -> std::result::Result<Scope, ApiError> {
    let operator_id = &p.credential.operator_id;
    state
        .store
        .get_seller(operator_id, seller_id)
        .await
        .map_err(entreposto_http::error::not_found_with(|| {
            format!("no seller '{seller_id}'")
        }))?;
    Ok(Scope::seller(operator_id.clone(), seller_id))
}

fn amount(q: &QueryPairs, key: &str) -> std::result::Result<Option<Cents>, ApiError> {
    q.get(key)
        .map(|raw| {
            let c = Cents::parse_decimal(raw).map_err(|e| e.under(key))?;
            if c.0 < 0 {
                return Err(ApiError::invalid(key, "must not be negative"));
            }
            Ok(c)
        })
        .transpose()
}

/// A whole number from `min` to `max`, `default` when absent.
fn count(
    q: &QueryPairs,
    key: &str,
    min: u64,
    max: u64,
    default: u64,
) -> std::result::Result<u64, ApiError> {
    match q.get(key) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    key,
                    format!("'{raw}' is not a whole number from {min} to {max}"),
                )
            }),
    }
}

/// Orders a listing may ask for, by their query words.
const ORDERS: [(&str, ProductOrder); 5] = [
    ("id", ProductOrder::Id),
    ("name", ProductOrder::NameAsc),
    ("-name", ProductOrder::NameDesc),
    ("price", ProductOrder::PriceAsc),
    ("-price", ProductOrder::PriceDesc),
];

/// A text parameter as sent; control characters (a NUL no database stores) refused.
fn exact(q: &QueryPairs, key: &str) -> std::result::Result<Option<String>, ApiError> {
    match q.get(key) {
        Some(v) if v.chars().any(char::is_control) => Err(ApiError::invalid(
            key,
            "must not contain control characters",
        )),
        v => Ok(v.map(str::to_string)),
    }
}

/// A text parameter matched by containment: folded (accents and case ignored).
fn folded(q: &QueryPairs, key: &str) -> std::result::Result<Option<String>, ApiError> {
    Ok(exact(q, key)?.map(|v| fold(&v)).filter(|s| !s.is_empty()))
}

/// The filter of a products listing, from its documented query parameters.
pub fn product_filter(q: &QueryPairs) -> std::result::Result<ProductFilter, ApiError> {
    let mut f = ProductFilter {
        name: folded(q, "name")?,
        brand: folded(q, "brand")?,
        category_name: folded(q, "category")?,
        sku: exact(q, "sku")?,
        external_id: exact(q, "externalId")?,
        price_gte: amount(q, "priceMin")?,
        price_lte: amount(q, "priceMax")?,
        offset: count(q, "offset", 0, 1_000_000_000, 0)?,
        limit: count(q, "limit", 1, PAGE_MAX.into(), PAGE_DEFAULT.into())? as u32,
        ..ProductFilter::default()
    };
    if let Some(t) = q.get("type") {
        f.kind = Some(ProductKind::parse(t).map_err(ApiError::Invalid)?);
    }
    if let Some(o) = q.get("order") {
        f.order = ORDERS
            .iter()
            .find(|(w, _)| *w == o)
            .map(|(_, order)| *order)
            .ok_or_else(|| {
                ApiError::invalid(
                    "order",
                    format!(
                        "'{o}' is not an order: one of {}",
                        ORDERS.map(|(w, _)| w).join(", ")
                    ),
                )
            })?;
    }
    if let (Some(lo), Some(hi)) = (f.price_gte, f.price_lte) {
        if lo > hi {
            return Err(ApiError::invalid(
                "priceMin",
                "must not be greater than priceMax",
            ));
        }
    }
    Ok(f)
}

/// A seller's products, filtered and paged.
#[utoipa::path(get, path = "/sellers/{seller_id}/products",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("name" = Option<String>, Query, description = "Contained in the name (accents and letter case ignored)"),
           ("sku" = Option<String>, Query, description = "The SKU, exactly"),
           ("externalId" = Option<String>, Query, description = "The seller's own id of the product, exactly"),
           ("type" = inline(Option<ProductTypeParam>), Query, description = "Only products of this type"),
           ("category" = Option<String>, Query, description = "Contained in the name of one of the product's categories (accents and letter case ignored)"),
           ("brand" = Option<String>, Query, description = "Contained in the brand's name (accents and letter case ignored)"),
           ("priceMin" = Option<f64>, Query, minimum = 0, description = "Sale price at least this, in reais (`49.90`)"),
           ("priceMax" = Option<f64>, Query, minimum = 0, description = "Sale price at most this, in reais"),
           ("order" = inline(Option<ProductOrderParam>), Query, description = "`id` (oldest first) by default"),
           ("offset" = Option<u64>, Query, minimum = 0, maximum = 1000000000, description = "Products to skip (default 0)"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Products per page (default 50)")),
    responses((status = 200, description = "A page of the seller's products", body = ProductPage),
              (status = 404, description = "No such seller for this operator")))]
pub async fn list_products(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    q: QueryPairs,
) -> Result<Json<ProductPage>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let filter = product_filter(&q)?;
    let counted = state.store.count_products(&scope, &filter).await?;
    let products = state.store.list_products(&scope, &filter).await?;
    let view = state.store.catalog_view(&scope, products).await?;
    Ok(Json(ProductPage {
        total: counted.min(NAME_COUNT_CAP),
        total_exact: counted <= NAME_COUNT_CAP,
        offset: filter.offset,
        limit: filter.limit,
        items: view
            .products
            .iter()
            .map(|p| product_out(p, &view))
            .collect(),
    }))
}

/// A product's type.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ProductTypeParam {
    Simple,
    Group,
    Kit,
}

/// A listing's order: by id (oldest first), name or sale price, `-` for descending.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub enum ProductOrderParam {
    #[serde(rename = "id")]
    Id,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "price")]
    Price,
    #[serde(rename = "-price")]
    PriceDesc,
}

/// One product of a seller, by the hub's id.
#[utoipa::path(get, path = "/sellers/{seller_id}/products/{id}",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("id" = i64, Path, example = 1, description = "The hub's product id")),
    responses((status = 200, description = "The product", body = ProductOut),
              (status = 404, description = "No such seller, or no such product of the seller")))]
pub async fn get_product(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path((seller_id, id)): Path<(String, String)>,
) -> Result<Json<ProductOut>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let missing = || ApiError::NotFound(format!("no product '{id}'"));
    let key: i64 = id.parse().map_err(|_| missing())?;
    let product = state
        .store
        .get_product(&scope, &ProductKey::Id(key))
        .await
        .map_err(entreposto_http::error::not_found_with(|| {
            format!("no product '{id}'")
        }))?;
    let view = state.store.catalog_view(&scope, vec![product]).await?;
    let out = view.products.first().map(|p| product_out(p, &view));
    Ok(Json(out.ok_or_else(missing)?))
}

fn entity_filter(q: &QueryPairs) -> std::result::Result<EntityFilter, ApiError> {
    Ok(EntityFilter {
        id: None,
        external_id: exact(q, "externalId")?,
        name: folded(q, "name")?,
    })
}

/// A seller's categories: the tree as a list, each naming its parent (`parentId`).
#[utoipa::path(get, path = "/sellers/{seller_id}/categories",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("name" = Option<String>, Query, description = "Contained in the name (accents and letter case ignored)"),
           ("externalId" = Option<String>, Query, description = "The seller's own id of the category, exactly")),
    responses((status = 200, description = "The seller's categories", body = [CategoryOut]),
              (status = 404, description = "No such seller for this operator")))]
pub async fn list_categories(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Vec<CategoryOut>>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let list = state
        .store
        .list_categories(&scope, &entity_filter(&q)?)
        .await?;
    Ok(Json(list.iter().map(category_out).collect()))
}

/// A seller's brands, each with its manufacturer.
#[utoipa::path(get, path = "/sellers/{seller_id}/brands",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("name" = Option<String>, Query, description = "Contained in the name (accents and letter case ignored)"),
           ("externalId" = Option<String>, Query, description = "The seller's own id of the brand, exactly")),
    responses((status = 200, description = "The seller's brands", body = [BrandOut]),
              (status = 404, description = "No such seller for this operator")))]
pub async fn list_brands(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Vec<BrandOut>>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let brands: Vec<Brand> = state.store.list_brands(&scope, &entity_filter(&q)?).await?;
    let makers = if brands.iter().any(|b| b.manufacturer_id.is_some()) {
        state
            .store
            .list_manufacturers(&scope, &EntityFilter::default())
            .await?
    } else {
        Vec::new()
    };
    Ok(Json(
        brands
            .iter()
            .map(|b| BrandOut {
                id: b.id.to_string(),
                name: b.name.clone(),
                external_id: b.external_id.clone(),
                image_source: b.image_source.clone(),
                manufacturer: b
                    .manufacturer_id
                    .and_then(|id| makers.iter().find(|m| m.id == id))
                    .map(manufacturer_out),
            })
            .collect(),
    ))
}

/// A seller's import jobs, newest first, without their row errors.
#[utoipa::path(get, path = "/sellers/{seller_id}/imports",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Jobs to list (default 50)")),
    responses((status = 200, description = "The seller's import jobs, newest first", body = [ImportJobOut]),
              (status = 404, description = "No such seller for this operator")))]
pub async fn list_imports(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Vec<ImportJobOut>>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let limit = count(&q, "limit", 1, JOBS_MAX.into(), JOBS_DEFAULT.into())? as u32;
    let jobs = state.store.list_import_jobs(&scope, limit).await?;
    Ok(Json(jobs.iter().map(|j| job_out(j, None)).collect()))
}

/// One import job: its state, counts and the rows that failed.
#[utoipa::path(get, path = "/sellers/{seller_id}/imports/{id}",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("id" = String, Path, example = "5f3c27ab-8a4b-4c6b-a8bd-be11847429b1", description = "The job's id (00K's `proccessId`)")),
    responses((status = 200, description = "The job with its failed rows", body = ImportJobOut),
              (status = 404, description = "No such seller, or no such job of the seller")))]
pub async fn get_import(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path((seller_id, id)): Path<(String, String)>,
) -> Result<Json<ImportJobOut>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let not_found = || entreposto_http::error::not_found_with(|| format!("no import '{id}'"));
    let job = state
        .store
        .get_import_job(&scope, &id)
        .await
        .map_err(not_found())?;
    let errors = state
        .store
        .import_errors(&scope, &id)
        .await
        .map_err(not_found())?;
    Ok(Json(job_out(&job, Some(errors))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_name_their_field() {
        let err = |q: &str| match product_filter(&QueryPairs::parse(q)) {
            Err(ApiError::Invalid(f)) => f.field,
            other => panic!("{q}: {:?}", other.map(|_| ())),
        };
        assert_eq!(err("type=bundle"), "type");
        assert_eq!(err("priceMin=abc"), "priceMin");
        assert_eq!(err("priceMax=1.001"), "priceMax");
        assert_eq!(err("priceMin=-1"), "priceMin");
        assert_eq!(err("priceMin=10&priceMax=5"), "priceMin");
        assert_eq!(err("limit=0"), "limit");
        assert_eq!(err("limit=201"), "limit");
        assert_eq!(err("offset=-3"), "offset");
        assert_eq!(err("order=random"), "order");
        assert_eq!(err("name=a%00b"), "name");
        assert_eq!(err("sku=%01"), "sku");
    }

    #[test]
    fn documented_words_are_the_accepted_ones() {
        let words = |v: Vec<serde_json::Value>| -> Vec<String> {
            v.iter().map(|w| w.as_str().unwrap().to_string()).collect()
        };
        let orders = [
            ProductOrderParam::Id,
            ProductOrderParam::Name,
            ProductOrderParam::NameDesc,
            ProductOrderParam::Price,
            ProductOrderParam::PriceDesc,
        ]
        .map(|o| serde_json::to_value(o).unwrap());
        assert_eq!(words(orders.to_vec()), ORDERS.map(|(w, _)| w.to_string()));
        let kinds = [
            ProductTypeParam::Simple,
            ProductTypeParam::Group,
            ProductTypeParam::Kit,
        ]
        .map(|k| serde_json::to_value(k).unwrap());
        assert_eq!(
            words(kinds.to_vec()),
            ProductKind::ALL.map(|k| k.as_str().to_string())
        );
    }

    #[test]
    fn filters_fold_text_and_read_prices_exactly() {
        let f = product_filter(&QueryPairs::parse(
            "name=Camiseta%20B%C3%81SICA&category=Cal%C3%A7ados&priceMin=49.90&priceMax=100&type=kit&order=-price&limit=10&offset=20",
        ))
        .unwrap();
        assert_eq!(f.name.as_deref(), Some("camiseta basica"));
        assert_eq!(f.category_name.as_deref(), Some("calcados"));
        assert_eq!(f.price_gte, Some(Cents(4990)));
        assert_eq!(f.price_lte, Some(Cents(10000)));
        assert_eq!(f.kind, Some(ProductKind::Kit));
        assert_eq!(f.order, ProductOrder::PriceDesc);
        assert_eq!((f.offset, f.limit), (20, 10));
        let d = product_filter(&QueryPairs::default()).unwrap();
        assert_eq!((d.offset, d.limit), (0, PAGE_DEFAULT));
    }
}
