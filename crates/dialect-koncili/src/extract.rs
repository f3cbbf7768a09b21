//! The extract as an ERP reads and marks it: one line, an order's lines, the
//! `concilieds` and `unresolveds` listings, the `resolve` and `read` batches, and the
//! channels and release types.
//!
//! Listings are lines in id order paged by `offset` and `limit` (100 a page, the most
//! one page holds; larger limits read as 100), so a client that asks without `offset`
//! and then loops `ceil(count / limit)` pages adding `limit` gets every line exactly
//! once. `initDate` and `endDate` are whole UTC days, both inclusive, on the line's
//! release date; clients send `yyyy-MM-dd` (a longer value is cut to its first ten
//! characters, as clients cut dates). Unknown parameters are ignored; a bad value is a
//! 422 naming it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use entreposto_domain::{ExtractType, FieldError, Timestamp};
use entreposto_http::body::JsonList;
use entreposto_http::error::not_found_with;
use entreposto_http::query::QueryPairs;
use entreposto_http::reply::SizedJson;
use entreposto_http::{ApiError, AppState};
use entreposto_store::{LineFilter, LineView, Listing, Marked};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::line::{LineOut, LINE_BYTES};
use crate::orders::no_order;
use crate::{Koncili, Result, SellerAuth, EXTRACT_SHAPE_SETTING, SHAPE_ARRAY};

/// Lines a page holds at most, and when `limit` is not given.
pub const PAGE_LIMIT: u32 = 100;
/// Ids a batch takes at most.
pub const BATCH_MAX: usize = 100;

/// A listing's query parameters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
pub struct ListingQuery {
    /// The first UTC day of the release dates listed (`yyyy-MM-dd`).
    #[param(example = "2018-01-15")]
    initDate: Option<String>,
    /// The last UTC day of the release dates listed (`yyyy-MM-dd`), inclusive.
    #[param(example = "2018-01-15")]
    endDate: Option<String>,
    /// Lines to skip (default 0).
    #[param(minimum = 0, maximum = 1000000000)]
    offset: Option<u64>,
    /// Lines per page, 1 to 100 (default 100; larger values read as 100).
    #[param(minimum = 1)]
    limit: Option<u64>,
    /// Only lines the conciliation (loaded statement) last released on.
    conciliationId: Option<i64>,
    /// Only lines of this channel.
    channelName: Option<String>,
    /// Only lines not marked read (`true`/`false`, default `false`).
    onlyUnread: Option<bool>,
}

/// The start of the UTC day `raw` names (its first ten characters, `yyyy-MM-dd`).
fn day(raw: &str, field: &str) -> std::result::Result<Timestamp, FieldError> {
    let bad = || FieldError::new(field, format!("'{raw}' is not a date (yyyy-MM-dd)"));
    let d = raw.trim().get(..10).unwrap_or(raw.trim());
    let shaped = d.len() == 10
        && d.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(bad());
    }
    Timestamp::parse(&format!("{d}T00:00:00Z")).map_err(|_| bad())
}

const DAY_MICROS: i64 = 86_400_000_000;
/// The deepest `offset` a listing takes (the databases take signed 64-bit offsets).
const MAX_OFFSET: u64 = 1_000_000_000;

fn whole(q: &QueryPairs, key: &str) -> std::result::Result<Option<u64>, FieldError> {
    q.get(key)
        .map(|raw| {
            raw.trim().parse::<u64>().map_err(|_| {
                FieldError::new(key, format!("'{raw}' is not a whole number (0 or more)"))
            })
        })
        .transpose()
}

/// The filter of a listing, from its query.
pub fn filter(q: &QueryPairs, listing: Listing) -> std::result::Result<LineFilter, FieldError> {
    let from = q.get("initDate").map(|d| day(d, "initDate")).transpose()?;
    let to = q
        .get("endDate")
        .map(|d| day(d, "endDate"))
        .transpose()?
        .map(|t| Timestamp(t.0 + DAY_MICROS - 1));
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(FieldError::new("initDate", "must not be after endDate"));
        }
    }
    let offset = whole(q, "offset")?.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(FieldError::new(
            "offset",
            format!("{offset} is past the deepest page ({MAX_OFFSET})"),
        ));
    }
    let limit = match whole(q, "limit")? {
        None => PAGE_LIMIT,
        Some(0) => return Err(FieldError::new("limit", "must be at least 1")),
        Some(n) => n.min(u64::from(PAGE_LIMIT)) as u32,
    };
    let conciliation_id = q
        .get("conciliationId")
        .map(|raw| {
            raw.trim().parse::<i64>().map_err(|_| {
                FieldError::new(
                    "conciliationId",
                    format!("'{raw}' is not a conciliation id (a whole number)"),
                )
            })
        })
        .transpose()?;
    let only_unread = match q.get("onlyUnread").map(str::trim) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(FieldError::new(
                "onlyUnread",
                format!("'{v}' is not true or false"),
            ))
        }
    };
    Ok(LineFilter {
        listing,
        from,
        to,
        conciliation_id,
        channel: q.get("channelName").map(|c| c.trim().to_string()),
        only_unread,
        offset,
        limit,
    })
}

/// A listing's page position.
#[derive(Serialize, ToSchema)]
pub struct PageOut {
    pub limit: u32,
    pub offset: u64,
    /// Lines the listing holds in all.
    pub count: u64,
}

/// A page of a listing.
#[derive(Serialize, ToSchema)]
pub struct ListingOut {
    pub page: PageOut,
    pub content: Vec<LineOut>,
}

fn lines(views: &[LineView]) -> Vec<LineOut> {
    views.iter().map(LineOut::of).collect()
}

async fn listing(
    state: &AppState,
    auth: &SellerAuth,
    q: &QueryPairs,
    which: Listing,
) -> Result<Response> {
    let f = filter(q, which).map_err(ApiError::Invalid)?;
    let (count, views) = state.store.extract_listing(&auth.scope, &f).await?;
    Ok(SizedJson(
        ListingOut {
            page: PageOut {
                limit: f.limit,
                offset: f.offset,
                count,
            },
            content: lines(&views),
        },
        LINE_BYTES * views.len() + 128,
    )
    .into_response())
}

/// `GET /externalapi/orderextract/concilieds`.
#[utoipa::path(get, path = "/externalapi/orderextract/concilieds", params(ListingQuery),
    responses((status = 200, description = "A page of the lines some conciliation released on (any situation), in id order", body = ListingOut),
              (status = 422, description = "A parameter is invalid, naming it")))]
pub async fn concilieds(
    auth: SellerAuth,
    State(state): State<AppState>,
    q: QueryPairs,
) -> Result<Response> {
    listing(&state, &auth, &q, Listing::Concilieds).await
}

/// `GET /externalapi/orderextract/unresolveds`.
#[utoipa::path(get, path = "/externalapi/orderextract/unresolveds", params(ListingQuery),
    responses((status = 200, description = "A page of the conciliated lines not yet resolved in the ERP (`resolvedInERP` false), in id order", body = ListingOut),
              (status = 422, description = "A parameter is invalid, naming it")))]
pub async fn unresolveds(
    auth: SellerAuth,
    State(state): State<AppState>,
    q: QueryPairs,
) -> Result<Response> {
    listing(&state, &auth, &q, Listing::Unresolveds).await
}

/// What a batch did.
#[derive(Serialize, ToSchema)]
pub struct BatchOut {
    /// The ids marked (those marked before included), in the order sent.
    pub applied: Vec<i64>,
    /// Ids that are no line of this seller (unknown, or another seller's): nothing
    /// was done with them.
    pub unknown: Vec<i64>,
}

fn batch_ids(ids: Vec<i64>) -> std::result::Result<Vec<i64>, ApiError> {
    if ids.len() > BATCH_MAX {
        return Err(ApiError::invalid(
            "body",
            format!("{} ids: a batch takes at most {BATCH_MAX}", ids.len()),
        ));
    }
    Ok(ids)
}

fn batch_out(m: Marked) -> Json<BatchOut> {
    Json(BatchOut {
        applied: m.applied,
        unknown: m.unknown,
    })
}

/// `PUT /externalapi/orderextract/resolve/batch`.
#[utoipa::path(put, path = "/externalapi/orderextract/resolve/batch", request_body = Vec<i64>,
    responses((status = 200, description = "The seller's lines among the ids are resolved in the ERP (`resolvedInERP` true: they leave `unresolveds`); unknown ids and other sellers' are reported, not applied", body = BatchOut),
              (status = 422, description = "The body is not a JSON array of 1 to 100 line ids")))]
pub async fn resolve_batch(
    auth: SellerAuth,
    State(state): State<AppState>,
    JsonList(ids, ..): JsonList<i64, Koncili>,
) -> Result<Json<BatchOut>> {
    let ids = batch_ids(ids)?;
    Ok(batch_out(state.app.resolve_lines(&auth.scope, &ids).await?))
}

/// `PUT /externalapi/orderextract/read/batch`.
#[utoipa::path(put, path = "/externalapi/orderextract/read/batch", request_body = Vec<i64>,
    responses((status = 200, description = "The seller's lines among the ids are marked read (they leave listings asked with `onlyUnread=true`); unknown ids and other sellers' are reported, not applied", body = BatchOut),
              (status = 422, description = "The body is not a JSON array of 1 to 100 line ids")))]
pub async fn read_batch(
    auth: SellerAuth,
    State(state): State<AppState>,
    JsonList(ids, ..): JsonList<i64, Koncili>,
) -> Result<Json<BatchOut>> {
    let ids = batch_ids(ids)?;
    Ok(batch_out(
        state.app.mark_lines_read(&auth.scope, &ids).await?,
    ))
}

/// `GET /externalapi/orderextract/{id}`.
#[utoipa::path(get, path = "/externalapi/orderextract/{id}",
    params(("id" = i64, Path, example = 197, description = "The line's id")),
    responses((status = 200, description = "The line", body = LineOut),
              (status = 404, description = "No line of this seller has this id")))]
pub async fn line(
    auth: SellerAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response> {
    let missing = || format!("no extract line '{id}'");
    let key: i64 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::NotFound(missing()))?;
    let view = state
        .store
        .extract_line(&auth.scope, key)
        .await
        .map_err(not_found_with(missing))?;
    Ok(SizedJson(LineOut::of(&view), LINE_BYTES).into_response())
}

/// An order's lines in the configured shape.
#[derive(Serialize, ToSchema)]
pub struct ElementsOut {
    pub elements: Vec<LineOut>,
}

/// The answer of an order's extract: `{"elements": [...]}` (the client in use), or
/// the document's bare array.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum OrderExtractOut {
    Elements(ElementsOut),
    Array(Vec<LineOut>),
}

async fn order_lines(
    state: &AppState,
    auth: &SellerAuth,
    code: &str,
    channel: &str,
    kind: Option<&str>,
) -> Result<Response> {
    let kind = kind
        .map(|k| ExtractType::parse(k.trim()).map_err(|e| FieldError::new("type", e.message)))
        .transpose()?;
    let views = state
        .store
        .order_extract(&auth.scope, channel, code, None)
        .await
        .map_err(not_found_with(|| no_order(code, channel)))?;
    if views.is_empty() {
        return Err(ApiError::NotFound(no_order(code, channel)).into());
    }
    let out: Vec<LineOut> = views
        .iter()
        .filter(|v| kind.is_none_or(|k| v.line.key.kind == k))
        .map(LineOut::of)
        .collect();
    let capacity = LINE_BYTES * out.len() + 32;
    Ok(
        if state.dialect_setting(EXTRACT_SHAPE_SETTING) == Some(SHAPE_ARRAY) {
            SizedJson(out, capacity).into_response()
        } else {
            SizedJson(ElementsOut { elements: out }, capacity).into_response()
        },
    )
}

/// `GET /externalapi/orderextract/{orderCode}/{channelName}`.
#[utoipa::path(get, path = "/externalapi/orderextract/{orderCode}/{channelName}",
    params(("orderCode" = String, Path, description = "The marketplace's order code"),
           ("channelName" = String, Path, description = "The channel's name")),
    responses((status = 200, description = "The order's lines by type then installment: `{\"elements\": [...]}` as the client in use reads them, or the bare array of Koncili's document when the server's `koncili_extract_shape` is `array`", body = OrderExtractOut),
              (status = 404, description = "The channel has no line of this order")))]
pub async fn order_extract(
    auth: SellerAuth,
    State(state): State<AppState>,
    Path((code, channel)): Path<(String, String)>,
) -> Result<Response> {
    order_lines(&state, &auth, &code, &channel, None).await
}

/// `GET /externalapi/orderextract/{orderCode}/{channelName}/{type}`.
#[utoipa::path(get, path = "/externalapi/orderextract/{orderCode}/{channelName}/{type}",
    params(("orderCode" = String, Path, description = "The marketplace's order code"),
           ("channelName" = String, Path, description = "The channel's name"),
           ("type" = String, Path, example = "SALE", description = "`SALE`, `COMISSION` or `SHIP`")),
    responses((status = 200, description = "The order's lines of this type (none is an empty list), in the shape of the order's extract", body = OrderExtractOut),
              (status = 404, description = "The channel has no line of this order"),
              (status = 422, description = "`type` is not an extract type")))]
pub async fn order_extract_of_type(
    auth: SellerAuth,
    State(state): State<AppState>,
    Path((code, channel, kind)): Path<(String, String, String)>,
) -> Result<Response> {
    order_lines(&state, &auth, &code, &channel, Some(&kind)).await
}

/// `GET /externalapi/channel/list`.
#[utoipa::path(get, path = "/externalapi/channel/list",
    responses((status = 200, description = "The names of the channels the seller has terms, orders or lines in, sorted", body = Vec<String>)))]
pub async fn channels(
    auth: SellerAuth,
    State(state): State<AppState>,
) -> Result<Json<Vec<String>>> {
    Ok(Json(state.store.finance_channels(&auth.scope).await?))
}

/// A release type.
#[derive(Serialize, ToSchema)]
pub struct ReleaseTypeOut {
    #[schema(example = "SALE")]
    pub code: &'static str,
    pub description: &'static str,
}

/// The release types of a channel.
#[derive(Serialize, ToSchema)]
pub struct ReleaseTypesOut {
    pub elements: Vec<ReleaseTypeOut>,
}

/// `GET /externalapi/releasetype/{channel}`.
#[utoipa::path(get, path = "/externalapi/releasetype/{channel}",
    params(("channel" = String, Path, description = "The channel's name")),
    responses((status = 200, description = "The types of the lines the hub keeps, the same for every channel", body = ReleaseTypesOut)))]
pub async fn release_types(
    _auth: SellerAuth,
    Path(_channel): Path<String>,
) -> Json<ReleaseTypesOut> {
    Json(ReleaseTypesOut {
        elements: ExtractType::ALL
            .iter()
            .map(|k| ReleaseTypeOut {
                code: k.as_str(),
                description: k.description(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(q: &str) -> String {
        filter(&QueryPairs::parse(q), Listing::Unresolveds)
            .unwrap_err()
            .field
    }

    #[test]
    fn the_clients_query_reads_as_whole_utc_days() {
        let f = filter(
            &QueryPairs::parse("initDate=2018-01-15&endDate=2018-01-15T23:00:00&offset=100&conciliationId=7&channelName=B2W&onlyUnread=TRUE&x=1"),
            Listing::Concilieds,
        )
        .unwrap();
        let start = Timestamp::parse("2018-01-15T00:00:00Z").unwrap();
        assert_eq!(f.from, Some(start));
        assert_eq!(f.to, Some(Timestamp(start.0 + DAY_MICROS - 1)));
        assert_eq!((f.offset, f.limit), (100, PAGE_LIMIT));
        assert_eq!(f.conciliation_id, Some(7));
        assert_eq!(f.channel.as_deref(), Some("B2W"));
        assert!(f.only_unread);
        let d = filter(&QueryPairs::parse("limit=500"), Listing::Unresolveds).unwrap();
        assert_eq!((d.offset, d.limit, d.from, d.to), (0, 100, None, None));
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(field("initDate=2018-13-01"), "initDate");
        assert_eq!(field("initDate=15/01/2018"), "initDate");
        assert_eq!(field("endDate=2018-02-30"), "endDate");
        assert_eq!(field("initDate=2018-02-02&endDate=2018-02-01"), "initDate");
        assert_eq!(field("offset=-1"), "offset");
        assert_eq!(field("offset=99999999999999999999"), "offset");
        assert_eq!(field("offset=1000000001"), "offset");
        assert_eq!(field("limit=0"), "limit");
        assert_eq!(field("limit=abc"), "limit");
        assert_eq!(field("conciliationId=x"), "conciliationId");
        assert_eq!(field("onlyUnread=maybe"), "onlyUnread");
    }
}
