//! 00K's categories and brands: listing (all of the store's, by id, by external id, by
//! name) and creation (categories with their parents, a brand with its manufacturer).
//!
//! A listing with filters that match nothing is an empty array; a lookup by id that
//! finds nothing is 2.0 ("Nenhum item atende aos filtros"), as the document words it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use entreposto_domain::search::fold;
use entreposto_domain::FieldError;
use entreposto_http::body::JsonBody;
use entreposto_http::envelope::Failure;
use entreposto_http::query::QueryPairs;
use entreposto_http::{ApiError, AppState};
use entreposto_store::EntityFilter;
use utoipa::IntoParams;

use crate::input::{self, BrandIn, CategoryIn};
use crate::output::{BrandListOut, CategoryOut, Created};
use crate::products::{app_error, RawJson};
use crate::{StoreAuth, Zerok};

type Result<T> = std::result::Result<T, Failure<Zerok>>;

/// The filters of both listings.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EntityQuery {
    /// The seller's id of it, exactly (`externalId` is read too).
    externalid: Option<String>,
    /// Contained in its name (case- and accent-insensitive).
    name: Option<String>,
}

fn entity_filter(q: &QueryPairs, id: Option<i64>) -> EntityFilter {
    EntityFilter {
        id,
        external_id: q
            .get("externalid")
            .or_else(|| q.get("externalId"))
            .map(str::to_string),
        name: q.get("name").map(fold).filter(|n| !n.is_empty()),
    }
}

/// An id in a path: one that is not a number names nothing.
fn path_id(raw: &str, what: &str) -> std::result::Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no {what} with id '{raw}'")))
}

/// `GET /catalog/categories` (with or without the trailing slash).
#[utoipa::path(get, path = "/catalog/categories", params(EntityQuery),
    responses((status = 200, description = "The store's categories matching the filters (an empty array when none does)", body = [CategoryOut<'static>])))]
pub async fn categories(
    auth: StoreAuth,
    State(state): State<AppState>,
    q: QueryPairs,
) -> Result<Response> {
    let list = state
        .store
        .list_categories(&auth.scope, &entity_filter(&q, None))
        .await?;
    Ok(Json(list.iter().map(CategoryOut::from).collect::<Vec<_>>()).into_response())
}

/// `GET /catalog/categories/{id}`.
#[utoipa::path(get, path = "/catalog/categories/{id}",
    params(("id" = i64, Path, description = "The category's id"), EntityQuery),
    responses((status = 200, description = "The category, in an array", body = [CategoryOut<'static>]),
              (status = 400, description = "2.0: no category of this store has this id (and matches the filters)")))]
pub async fn category(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response> {
    let id = path_id(&id, "category")?;
    let list = state
        .store
        .list_categories(&auth.scope, &entity_filter(&q, Some(id)))
        .await?;
    if list.is_empty() {
        return Err(ApiError::NotFound(format!("no category with id {id}")).into());
    }
    Ok(Json(list.iter().map(CategoryOut::from).collect::<Vec<_>>()).into_response())
}

/// `POST /catalog/categories`: categories with their parents, created or linked.
#[utoipa::path(post, path = "/catalog/categories", request_body = Vec<CategoryIn>,
    responses((status = 201, description = "The id of each category given, in order (linked or created; parents are created or linked with them)", body = [Created]),
              (status = 400, description = "2.1: a category is invalid; the message names it (`[0].name`)")))]
pub async fn create_categories(
    auth: StoreAuth,
    State(state): State<AppState>,
    RawJson(body): RawJson,
) -> Result<Response> {
    let raws = input::items(&body).map_err(ApiError::Invalid)?;
    let refs = raws
        .iter()
        .enumerate()
        .map(|(n, raw)| {
            input::item::<CategoryIn>(raw)
                .map(CategoryIn::reference)
                .map_err(|e| e.under(&format!("[{n}]")))
        })
        .collect::<std::result::Result<Vec<_>, FieldError>>()
        .map_err(ApiError::Invalid)?;
    let ids = state
        .app
        .create_categories(&auth.scope, &refs)
        .await
        .map_err(app_error)?;
    let created: Vec<Created> = ids.into_iter().map(|id| Created { id }).collect();
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /catalog/brands` (with or without the trailing slash).
#[utoipa::path(get, path = "/catalog/brands", params(EntityQuery),
    responses((status = 200, description = "The store's brands matching the filters (an empty array when none does)", body = [BrandListOut<'static>])))]
pub async fn brands(
    auth: StoreAuth,
    State(state): State<AppState>,
    q: QueryPairs,
) -> Result<Response> {
    let list = state
        .store
        .list_brands(&auth.scope, &entity_filter(&q, None))
        .await?;
    Ok(Json(list.iter().map(BrandListOut::from).collect::<Vec<_>>()).into_response())
}

/// `GET /catalog/brands/{id}`.
#[utoipa::path(get, path = "/catalog/brands/{id}",
    params(("id" = i64, Path, description = "The brand's id"), EntityQuery),
    responses((status = 200, description = "The brand, in an array", body = [BrandListOut<'static>]),
              (status = 400, description = "2.0: no brand of this store has this id (and matches the filters)")))]
pub async fn brand(
    auth: StoreAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> Result<Response> {
    let id = path_id(&id, "brand")?;
    let list = state
        .store
        .list_brands(&auth.scope, &entity_filter(&q, Some(id)))
        .await?;
    if list.is_empty() {
        return Err(ApiError::NotFound(format!("no brand with id {id}")).into());
    }
    Ok(Json(list.iter().map(BrandListOut::from).collect::<Vec<_>>()).into_response())
}

/// `POST /catalog/brands`: a brand with its manufacturer, created or linked.
#[utoipa::path(post, path = "/catalog/brands", request_body = BrandIn,
    responses((status = 201, description = "The brand's id (an existing one when `info` names one by `id`, `externalId` or name)", body = Created),
              (status = 400, description = "2.1: the brand is invalid; the message names the field")))]
pub async fn create_brand(
    auth: StoreAuth,
    State(state): State<AppState>,
    JsonBody(body, ..): JsonBody<BrandIn, Zerok>,
) -> Result<Response> {
    let r = body.reference("").map_err(ApiError::Invalid)?;
    let id = state
        .app
        .create_brand(&auth.scope, &r)
        .await
        .map_err(app_error)?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}
