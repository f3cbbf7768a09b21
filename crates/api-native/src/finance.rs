//! Reconciliation on the native API: the operator sets each seller's terms per
//! channel (commission, payment terms, tolerance), loads the marketplaces' payout
//! statements, and reads the conciliations and a summary per channel and month.
//!
//! Every route names the seller in its path and is scoped to it, as the catalog's
//! are: a seller of another operator is a 404. A statement is the body itself, CSV
//! (`Content-Type: text/csv`) or a JSON array of objects with the same names; what
//! the body is when the type says neither is told by its first character. It is read
//! twice by the use case (check, then apply), from the bytes held here. Money is
//! decimal reais (`499.99`), percentages decimal (`15.5`), both exact.

use std::io::Read;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use bytes::Bytes;
use entreposto_app::finance::{LoadSummary, StatementFormat, StatementSource};
use entreposto_domain::{
    CategoryRate, ChannelTerms, CommissionRule, PaymentTerms, Scope, TermsBase, Timestamp,
    Tolerance,
};
use entreposto_http::body::{read_limited, Amount, JsonBody, Percent};
use entreposto_http::openapi::string_enum;
use entreposto_http::query::QueryPairs;
use entreposto_http::{ApiError, AppState};
use entreposto_store::{Conciliation, MonthSummary};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

use super::catalog::seller_scope;
use super::{Native, OperatorAuth, Result};

/// The largest statement body: about 300,000 rows of CSV. Larger statements are
/// loaded with `entreposto recon load`, which streams the file.
pub const STATEMENT_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Whether `path` (below the prefix) is a statement upload, which takes
/// [`STATEMENT_BODY_BYTES`].
pub fn is_statement_path(path: &str) -> bool {
    path.strip_prefix("/sellers/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(seller, rest)| !seller.is_empty() && rest == "finance/statements")
}

fn terms_base() -> Object {
    string_enum(["invoice", "delivery"], false)
}

/// A commission rate for one category.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CategoryRateIo {
    /// The category's name or id as the order's items carry it.
    pub category: String,
    pub rate: Percent,
}

/// What a channel charges.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommissionIo {
    /// Of the items' value.
    pub rate: Percent,
    /// Rates of categories that differ from `rate`.
    #[serde(default)]
    pub by_category: Vec<CategoryRateIo>,
    /// A fee per order, in reais (0 when absent).
    #[serde(default)]
    pub fixed_per_order: Amount,
    /// A fee per item unit, in reais (0 when absent).
    #[serde(default)]
    pub fixed_per_item: Amount,
}

/// When a channel pays.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PaymentIo {
    /// The date installments are counted from: `invoice` or `delivery` (an order not
    /// delivered yet is counted from its invoice).
    #[schema(schema_with = terms_base)]
    pub base: String,
    /// Installment 1 is paid this many days after the base date (0 to 365); each
    /// next one a calendar month later.
    pub days: u32,
}

/// How far a release may be from what was expected and still be conciliated.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ToleranceIo {
    /// In reais.
    pub amount: Amount,
    /// Of the expected value (and of the expected commission percentage); 0 when absent.
    #[serde(default)]
    pub percent: Percent,
}

/// A seller's terms for one channel: stored ones, or the channel's preset.
#[derive(Serialize, ToSchema)]
pub struct TermsOut {
    pub channel: String,
    pub commission: CommissionIo,
    pub payment: PaymentIo,
    pub tolerance: ToleranceIo,
}

/// `PUT .../finance/channels/{channel}`: the sections given replace the current
/// terms' (stored, or the preset); the others are kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsIn {
    /// The path's channel, if given (so a `GET`'s answer can be sent back edited).
    pub channel: Option<String>,
    pub commission: Option<CommissionIo>,
    pub payment: Option<PaymentIo>,
    pub tolerance: Option<ToleranceIo>,
}

fn terms_out(t: ChannelTerms) -> TermsOut {
    TermsOut {
        channel: t.channel,
        commission: CommissionIo {
            rate: Percent(t.commission.rate),
            by_category: t
                .commission
                .by_category
                .into_iter()
                .map(|c| CategoryRateIo {
                    category: c.category,
                    rate: Percent(c.rate),
                })
                .collect(),
            fixed_per_order: Amount(t.commission.fixed_per_order),
            fixed_per_item: Amount(t.commission.fixed_per_item),
        },
        payment: PaymentIo {
            base: t.payment.base.as_str().to_string(),
            days: t.payment.days,
        },
        tolerance: ToleranceIo {
            amount: Amount(t.tolerance.amount),
            percent: Percent(t.tolerance.percent),
        },
    }
}

impl TermsIn {
    /// `current` with the sections given replaced.
    fn apply(self, mut current: ChannelTerms) -> std::result::Result<ChannelTerms, ApiError> {
        if let Some(c) = &self.channel {
            if *c != current.channel {
                return Err(ApiError::invalid(
                    "channel",
                    format!("'{c}' is not the path's channel '{}'", current.channel),
                ));
            }
        }
        if let Some(c) = self.commission {
            current.commission = CommissionRule {
                rate: c.rate.0,
                by_category: c
                    .by_category
                    .into_iter()
                    .map(|c| CategoryRate {
                        category: c.category,
                        rate: c.rate.0,
                    })
                    .collect(),
                fixed_per_order: c.fixed_per_order.0,
                fixed_per_item: c.fixed_per_item.0,
            };
        }
        if let Some(p) = self.payment {
            current.payment = PaymentTerms {
                base: TermsBase::parse(p.base.trim())
                    .map_err(|e| ApiError::invalid("payment.base", e.message))?,
                days: p.days,
            };
        }
        if let Some(t) = self.tolerance {
            current.tolerance = Tolerance {
                amount: t.amount.0,
                percent: t.percent.0,
            };
        }
        Ok(current)
    }
}

/// One seller's terms for a channel.
#[utoipa::path(get, path = "/sellers/{seller_id}/finance/channels/{channel}",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("channel" = String, Path, example = "Lojas Americanas", description = "The channel's name, exactly as orders name it")),
    responses((status = 200, description = "The seller's terms for the channel: the ones stored, else the channel's preset", body = TermsOut),
              (status = 404, description = "No such seller for this operator")))]
pub async fn get_terms(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path((seller_id, channel)): Path<(String, String)>,
) -> Result<Json<TermsOut>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    Ok(Json(terms_out(
        state.app.channel_terms(&scope, &channel).await?,
    )))
}

/// Sets one seller's terms for a channel.
#[utoipa::path(put, path = "/sellers/{seller_id}/finance/channels/{channel}", request_body = TermsIn,
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("channel" = String, Path, example = "Lojas Americanas", description = "The channel's name, exactly as orders name it")),
    responses((status = 200, description = "The terms stored; they decide the lines of orders pushed or changed from now on (lines already released on are not judged again)", body = TermsOut),
              (status = 404, description = "No such seller for this operator"),
              (status = 422, description = "A field is invalid, naming it (rates 0 to 100 with two decimals, fees and tolerance not negative, days at most 365, category names not blank nor repeated)")))]
pub async fn put_terms(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path((seller_id, channel)): Path<(String, String)>,
    JsonBody(body, ..): JsonBody<TermsIn, Native>,
) -> Result<Json<TermsOut>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    if channel.trim().is_empty() || channel.chars().any(char::is_control) {
        return Err(ApiError::invalid("channel", "must be a channel's name").into());
    }
    let current = state.app.channel_terms(&scope, &channel).await?;
    let terms = body.apply(current)?;
    Ok(Json(terms_out(
        state.app.set_channel_terms(&scope, terms).await?,
    )))
}

/// A statement held in memory, read as often as the use case opens it.
pub struct BodyStatement {
    pub format: StatementFormat,
    pub bytes: Bytes,
}

impl StatementSource for BodyStatement {
    fn format(&self) -> StatementFormat {
        self.format
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(self.bytes.clone())))
    }
}

/// The format of a statement whose type says nothing: JSON when its first character
/// (after white space and a byte-order mark) opens an array or object, else CSV.
pub fn sniff_format(start: &[u8]) -> StatementFormat {
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    match start.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[' | b'{') => StatementFormat::Json,
        _ => StatementFormat::Csv,
    }
}

/// One row of a statement in JSON (a CSV statement has these columns).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct StatementRowIn {
    /// The marketplace's order code.
    order_code: String,
    /// `SALE`, `COMISSION` or `SHIP`; other types are refused per row.
    #[serde(rename = "type")]
    kind: String,
    /// The installment (1 when absent).
    plot_number: Option<u32>,
    /// What was released, in reais; negative for a reversal.
    released_value: f64,
    /// The commission percentage the marketplace applied (COMISSION rows).
    released_percentual_comission: Option<f64>,
    /// When it was released: an ISO 8601 date or time (a date is midnight UTC).
    #[schema(example = "2018-02-01")]
    released_date: String,
}

/// A loaded statement: a conciliation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConciliationOut {
    /// Koncili's `conciliationId`.
    pub id: i64,
    pub channel: String,
    /// SHA-256 of the statement's valid rows in canonical form (hex): the same
    /// statement loaded again is recognised by it.
    pub digest: String,
    /// The earliest and latest release dates of the statement.
    pub init_date: String,
    pub end_date: String,
    /// When the load finished; null while loading.
    pub close_date: Option<String>,
    /// Valid rows applied, and rows refused.
    pub rows: u64,
    pub refused: u64,
    /// Lines per situation once closed, and how many of the divergent are partial.
    pub concilied: u64,
    pub divergent: u64,
    pub partial: u64,
    pub created_at: String,
}

pub fn conciliation_out(c: &Conciliation) -> ConciliationOut {
    ConciliationOut {
        id: c.id,
        channel: c.channel.clone(),
        digest: c.digest.clone(),
        init_date: c.init_date.to_rfc3339_utc(),
        end_date: c.end_date.to_rfc3339_utc(),
        close_date: c.close_date.map(Timestamp::to_rfc3339_utc),
        rows: c.rows,
        refused: c.refused,
        concilied: c.concilied,
        divergent: c.divergent,
        partial: c.partial,
        created_at: c.created_at.to_rfc3339_utc(),
    }
}

/// A refused row of a statement.
#[derive(Serialize, ToSchema)]
pub struct RefusedRowOut {
    /// The row's position among the data rows, from 1.
    pub row: u64,
    /// The column at fault.
    pub field: String,
    pub reason: String,
}

/// What a statement load did.
#[derive(Serialize, ToSchema)]
pub struct LoadOut {
    pub conciliation: ConciliationOut,
    /// True when this statement had been loaded before: nothing changed, and
    /// `conciliation` is the earlier one.
    pub unchanged: bool,
    /// The first 100 rows refused (their count is `conciliation.refused`); the valid
    /// rows were loaded.
    pub refused: Vec<RefusedRowOut>,
}

pub fn load_out(s: &LoadSummary) -> LoadOut {
    LoadOut {
        conciliation: conciliation_out(&s.conciliation),
        unchanged: s.unchanged,
        refused: s
            .refused
            .iter()
            .map(|r| RefusedRowOut {
                row: r.row,
                field: r.error.field.clone(),
                reason: r.error.message.clone(),
            })
            .collect(),
    }
}

/// Loads a payout statement.
#[utoipa::path(post, path = "/sellers/{seller_id}/finance/statements",
    request_body(description = "The statement: CSV with a header row, or a JSON array of objects with the same names. Columns: `orderCode`, `type` (`SALE`, `COMISSION`, `SHIP`), `plotNumber` (1 when absent), `releasedValue` (reais, exact, negative for a reversal), `releasedPercentualComission` (optional), `releasedDate` (ISO 8601 date or time); other columns are kept with the lines. Up to 32 MiB.",
        content((String = "text/csv", example = "orderCode,type,plotNumber,releasedValue,releasedPercentualComission,releasedDate\n012345678901,SALE,1,570.00,,2018-02-01\n012345678901,COMISSION,1,85.50,15,2018-02-01\n"),
                ([StatementRowIn] = "application/json"))),
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("channel" = String, Query, example = "Lojas Americanas", description = "The channel the statement is of")),
    responses((status = 201, description = "The statement is loaded: its conciliation, and the rows refused (each with its row, column and reason)", body = LoadOut),
              (status = 200, description = "The same statement was loaded before: nothing changed (`unchanged` true, the earlier conciliation)", body = LoadOut),
              (status = 404, description = "No such seller for this operator"),
              (status = 409, description = "The statement's period overlaps another conciliation of the channel (named)"),
              (status = 413, description = "The body is over 32 MiB"),
              (status = 422, description = "`channel` is missing, or the body is not a CSV file with a header row nor a JSON array of objects (naming the row)")))]
pub async fn load_statement(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    q: QueryPairs,
    req: Request,
) -> Result<(StatusCode, Json<LoadOut>)> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let channel = channel_param(&q)?.ok_or_else(|| ApiError::invalid("channel", "is required"))?;
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let bytes = read_limited(req).await?;
    let format = match declared.as_deref() {
        Some("text/csv") => StatementFormat::Csv,
        Some("application/json") => StatementFormat::Json,
        _ => sniff_format(&bytes),
    };
    let source = BodyStatement { format, bytes };
    let summary = state
        .app
        .load_statement(&scope, &channel, &source, &|_, _| {})
        .await?;
    let status = if summary.unchanged {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(load_out(&summary))))
}

fn channel_param(q: &QueryPairs) -> std::result::Result<Option<String>, ApiError> {
    match q.get("channel") {
        Some(c) if c.chars().any(char::is_control) => Err(ApiError::invalid(
            "channel",
            "must not contain control characters",
        )),
        Some(c) if c.trim().is_empty() => Ok(None),
        c => Ok(c.map(|c| c.trim().to_string())),
    }
}

/// A seller's conciliations, newest first.
#[utoipa::path(get, path = "/sellers/{seller_id}/finance/conciliations",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("channel" = Option<String>, Query, description = "Only this channel's")),
    responses((status = 200, description = "The seller's conciliations (one per statement loaded), newest first", body = [ConciliationOut]),
              (status = 404, description = "No such seller for this operator")))]
pub async fn list_conciliations(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Vec<ConciliationOut>>> {
    let scope = seller_scope(&state, &p, &seller_id).await?;
    let channel = channel_param(&q)?;
    let list = state
        .store
        .conciliations(&scope, channel.as_deref())
        .await?;
    Ok(Json(list.iter().map(conciliation_out).collect()))
}

/// One channel's month.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthOut {
    pub channel: String,
    /// `yyyy-MM` (UTC), of the lines' expected dates (release dates for lines
    /// nothing was expected for).
    #[schema(example = "2018-02")]
    pub month: String,
    /// SALE and SHIP lines: expected and released, in reais.
    pub expected: Amount,
    pub released: Amount,
    /// COMISSION lines: expected and released.
    pub commission_expected: Amount,
    pub commission_released: Amount,
    /// Lines divergent, and the sum of their differences (|released − expected|).
    pub divergent_count: u64,
    pub divergent_amount: Amount,
}

/// A month `yyyy-MM` as (year, month).
fn month(raw: &str, field: &str) -> std::result::Result<(i32, u32), ApiError> {
    let bad = || ApiError::invalid(field, format!("'{raw}' is not a month (yyyy-MM)"));
    let (y, m) = raw.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) {
        return Err(bad());
    }
    // The years timestamps may name; PostgreSQL refuses year 0 as a date.
    let years = entreposto_domain::time::YEARS;
    if !years.contains(&y) {
        return Err(ApiError::invalid(
            field,
            format!(
                "'{raw}' is outside the supported years ({} to {})",
                years.start(),
                years.end()
            ),
        ));
    }
    Ok((y, m))
}

fn month_text((y, m): (i32, u32)) -> String {
    format!("{y:04}-{m:02}")
}

/// A summary's months: `to` defaults to the current UTC month, `from` to eleven
/// months before `to`.
pub fn summary_months(
    q: &QueryPairs,
    now: Timestamp,
) -> std::result::Result<(String, String), ApiError> {
    let current = now.to_rfc3339_utc();
    let to = match q.get("to") {
        Some(t) => month(t, "to")?,
        None => month(&current[..7], "to")?,
    };
    let from = match q.get("from") {
        Some(f) => month(f, "from")?,
        None => {
            let months = to.0 * 12 + to.1 as i32 - 1 - 11;
            (months.div_euclid(12), months.rem_euclid(12) as u32 + 1)
        }
    };
    if from > to {
        return Err(ApiError::invalid("from", "must not be after to"));
    }
    Ok((month_text(from), month_text(to)))
}

fn month_out(m: &MonthSummary) -> MonthOut {
    MonthOut {
        channel: m.channel.clone(),
        month: m.month.clone(),
        expected: Amount(m.expected),
        released: Amount(m.released),
        commission_expected: Amount(m.commission_expected),
        commission_released: Amount(m.commission_released),
        divergent_count: m.divergent_count,
        divergent_amount: Amount(m.divergent_amount),
    }
}

/// A seller's reconciliation per channel and month.
#[utoipa::path(get, path = "/sellers/{seller_id}/finance/summary",
    params(("seller_id" = String, Path, description = "The seller's id"),
           ("channel" = Option<String>, Query, description = "Only this channel"),
           ("from" = Option<String>, Query, example = "2018-01", description = "The first month, `yyyy-MM` (default: eleven months before `to`)"),
           ("to" = Option<String>, Query, example = "2018-12", description = "The last month, `yyyy-MM`, inclusive (default: the current UTC month)")),
    responses((status = 200, description = "Per channel and month with lines: what was expected and released, the commission, and the divergent lines' count and amount", body = [MonthOut]),
              (status = 404, description = "No such seller for this operator"),
              (status = 422, description = "`from` or `to` is not a month, or `from` is after `to`")))]
pub async fn summary(
    OperatorAuth(p): OperatorAuth,
    State(state): State<AppState>,
    Path(seller_id): Path<String>,
    q: QueryPairs,
) -> Result<Json<Vec<MonthOut>>> {
    let scope: Scope = seller_scope(&state, &p, &seller_id).await?;
    let channel = channel_param(&q)?;
    let (from, to) = summary_months(&q, state.app.now())?;
    let months = state
        .store
        .month_summaries(&scope, channel.as_deref(), &from, &to)
        .await?;
    Ok(Json(months.iter().map(month_out).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_paths_take_large_bodies() {
        assert!(is_statement_path("/sellers/01HX/finance/statements"));
        assert!(!is_statement_path("/sellers//finance/statements"));
        assert!(!is_statement_path("/sellers/01HX/finance/summary"));
        assert!(!is_statement_path("/orders"));
    }

    #[test]
    fn formats_are_sniffed_from_the_first_character() {
        assert_eq!(
            sniff_format(b"  [{\"orderCode\": 1}]"),
            StatementFormat::Json
        );
        assert_eq!(sniff_format(b"\xEF\xBB\xBF[]"), StatementFormat::Json);
        assert_eq!(sniff_format(b"orderCode,type"), StatementFormat::Csv);
        assert_eq!(sniff_format(b""), StatementFormat::Csv);
    }

    #[test]
    fn summary_months_default_to_a_year_and_are_checked() {
        let now = Timestamp::parse("2024-03-10T12:00:00Z").unwrap();
        let q = |s: &str| QueryPairs::parse(s);
        assert_eq!(
            summary_months(&q(""), now).unwrap(),
            ("2023-04".into(), "2024-03".into())
        );
        assert_eq!(
            summary_months(&q("to=2024-11"), now).unwrap(),
            ("2023-12".into(), "2024-11".into())
        );
        assert_eq!(
            summary_months(&q("from=2018-01&to=2018-01"), now).unwrap(),
            ("2018-01".into(), "2018-01".into())
        );
        for (query, field) in [
            ("from=2018-13", "from"),
            ("to=2018-1", "to"),
            ("from=18-01", "from"),
            ("from=2019-01&to=2018-12", "from"),
            // Year 0 was a 500 on PostgreSQL.
            ("from=0000-01&to=2024-01", "from"),
            ("to=0000-12", "to"),
            ("from=1899-12", "from"),
        ] {
            let e = summary_months(&q(query), now).unwrap_err();
            assert_eq!(e.field(), Some(field), "{query}");
        }
    }
}
