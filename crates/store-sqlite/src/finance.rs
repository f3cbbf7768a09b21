//! Reconciliation on SQLite: channel terms, settlement orders and their extract lines,
//! conciliations loaded in cursor-guarded steps, and the line listings (schema in
//! migration 12, stored words and JSON from `entreposto_store::finance_json`).
//!
//! Written for a statement of a million rows: a step's lookups ([`lines_for_keys`])
//! are one indexed seek per order code on the line key index, with cached statements,
//! split over two reader threads when they are many; a step ([`apply_step`]) is one
//! writer job, so one savepoint: the cursor guard first, then one cached `UPDATE` by
//! rowid or `INSERT` per line. An `UPDATE` never sets a key column, so the key index is never rewritten;
//! only the listing index is, and only because a release moves what it covers. That
//! index (`extract_lines_listing`) is the seller's released lines in id order with
//! every column a listing filters on, so a page's offset, a listing's count and a
//! close's counts are read from it alone. Writes check the seller once per job; reads
//! check the scope on the row (the operator is on every row, and the foreign key to
//! `sellers` ties it to the seller), or, where the listing index must answer alone,
//! by the constant seller subquery of [`crate::order_lifecycle::scope_sql`].
//!
//! [`lines_for_keys`]: FinanceStore::lines_for_keys

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::events::{conciliation_events, line_events};
use entreposto_store::finance_json::{
    decode_settlement, decode_terms, encode_settlement, encode_terms, kind_code, kind_from_code,
    situation_code, situation_from_code, SettlementRow,
};
use entreposto_store::*;
use rusqlite::types::{Type, Value};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Statement, ToSql};

use crate::order_lifecycle::scope_sql;
use crate::outbox::insert_events;
use crate::{map_err, SqliteStore};

/// A line's id and key, then its [`LINE_BODY`]: the columns a line is read from, in
/// the order [`line_at`] reads them.
const LINE_HEAD: [&str; 6] = [
    "id",
    "seller_id",
    "channel",
    "order_code",
    "kind",
    "plot_number",
];

/// A line's columns with `p` (`"l."`) before each: its head, its body, its version.
fn line_cols(p: &str) -> String {
    format!(
        "{}, {}, {p}version",
        prefixed(p, &LINE_HEAD),
        prefixed(p, &LINE_BODY)
    )
}

const ORDER_COLS: [&str; 11] = [
    "operator_id",
    "seller_id",
    "channel",
    "order_code",
    "order_id",
    "hub_order_id",
    "status",
    "ordered_at",
    "invoiced_at",
    "total",
    "body",
];

const CONC_COLS: [&str; 14] = [
    "id",
    "seller_id",
    "channel",
    "digest",
    "init_date",
    "end_date",
    "close_date",
    "rows_valid",
    "rows_refused",
    "cursor_row",
    "concilied_count",
    "divergent_count",
    "partial_count",
    "created_at",
];

fn prefixed(p: &str, cols: &[&str]) -> String {
    cols.iter()
        .map(|c| format!("{p}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A line's columns with its order's and conciliation's: `l.`, then `o.`, then `c.`.
static VIEW_COLS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}, {}, {}",
        line_cols("l."),
        prefixed("o.", &ORDER_COLS),
        prefixed("c.", &CONC_COLS)
    )
});
/// What joins a line (`l`) to its order and conciliation.
const VIEW_JOINS: &str = "LEFT JOIN settlement_orders o ON o.seller_id = l.seller_id
         AND o.channel = l.channel AND o.order_code = l.order_code
     LEFT JOIN conciliations c ON c.id = l.conciliation_id";
static VIEW_SELECT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM extract_lines l {VIEW_JOINS}", *VIEW_COLS));
const ORDER_AT: usize = LINE_HEAD.len() + LINE_BODY.len() + 1;
const CONC_AT: usize = ORDER_AT + ORDER_COLS.len();

static LINE_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE l.id = ?1 AND l.operator_id = ?2 AND (?3 IS NULL OR l.seller_id = ?3)",
        *VIEW_SELECT
    )
});

/// An order's lines, for a seller's scope (on the key index) or an operator's.
static ORDER_LINES_OF_SELLER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE l.seller_id = ?3 AND l.operator_id = ?2 AND l.channel = ?4
           AND l.order_code = ?5 AND (?1 IS NULL OR l.kind = ?1)",
        *VIEW_SELECT
    )
});
static ORDER_LINES_OF_OPERATOR: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} WHERE l.operator_id = ?2 AND ?3 IS NULL AND l.channel = ?4
           AND l.order_code = ?5 AND (?1 IS NULL OR l.kind = ?1)",
        *VIEW_SELECT
    )
});

/// The lines of one order code, for a step's lookups.
static LINES_OF_CODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM extract_lines
         WHERE seller_id = ?1 AND channel = ?2 AND order_code = ?3 AND operator_id = ?4",
        line_cols("")
    )
});

static SETTLEMENT_BY_CODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM settlement_orders
         WHERE seller_id = ?1 AND channel = ?2 AND order_code = ?3 AND operator_id = ?4",
        ORDER_COLS.join(", ")
    )
});

static CONC_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM conciliations
         WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)",
        CONC_COLS.join(", ")
    )
});

static CONC_BY_DIGEST: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM conciliations WHERE seller_id = ?1 AND channel = ?2 AND digest = ?3",
        CONC_COLS.join(", ")
    )
});

/// The first conciliation of the channel, closed or still loading, whose period meets
/// [?3, ?4] (a loading one holds its period: two loads of overlapping statements must
/// not both begin, and an abandoned load's rows are finished by loading it again).
static CONC_OVERLAPPING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM conciliations
         WHERE seller_id = ?1 AND channel = ?2 AND init_date <= ?4 AND end_date >= ?3
         ORDER BY id LIMIT 1",
        CONC_COLS.join(", ")
    )
});

static CONC_LIST: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM conciliations
         WHERE operator_id = ?1 AND (?2 IS NULL OR seller_id = ?2)
           AND (?3 IS NULL OR channel = ?3)
         ORDER BY id DESC",
        CONC_COLS.join(", ")
    )
});

/// Every column of a line but its id and key, numbered from 7 in the two statements
/// below (see [`bind_line`]); `?1` to `?6` are the id (or operator) and the key.
const LINE_BODY: [&str; 19] = [
    "plots_quantity",
    "plot_value",
    "total_value",
    "expected_value",
    "expected_percent",
    "expected_date",
    "original_value",
    "released_value",
    "released_parts",
    "released_percent",
    "released_date",
    "situation",
    "partial",
    "observation",
    "conciliation_id",
    "resolved_in_erp",
    "is_read",
    "extra",
    "updated_at",
];

/// Rewrites a line whole but for its key, which must be the stored one, if it is still
/// at the version it was read at (the last parameter): an update naming another
/// seller's line, or another order's, or a line written since, changes nothing.
static UPDATE_LINE: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = LINE_BODY
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ?{}", i + 7))
        .collect();
    format!(
        "UPDATE extract_lines SET {}, version = version + 1
         WHERE id = ?1 AND seller_id = ?2 AND channel = ?3
           AND order_code = ?4 AND kind = ?5 AND plot_number = ?6 AND version = ?{}",
        sets.join(", "),
        LINE_VERSION_PARAM
    )
});

/// [`UPDATE_LINE`]'s parameter for the version the line was read at.
const LINE_VERSION_PARAM: usize = 7 + LINE_BODY.len();

static INSERT_LINE: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = (1..=6 + LINE_BODY.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO extract_lines (operator_id, seller_id, channel, order_code, kind,
           plot_number, {}) VALUES ({})",
        LINE_BODY.join(", "),
        values.join(", ")
    )
});

/// A stored value that does not decode, as the error a row mapper returns.
fn corrupt(idx: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, message.into())
}

fn cents(v: Option<i64>) -> Option<Cents> {
    v.map(Cents)
}

fn line_at(r: &Row<'_>, b: usize) -> rusqlite::Result<ExtractLine> {
    let kind = kind_from_code(r.get_ref(b + 4)?.as_str()?).map_err(|e| corrupt(b + 4, e))?;
    let situation =
        situation_from_code(r.get_ref(b + 17)?.as_str()?).map_err(|e| corrupt(b + 17, e))?;
    Ok(ExtractLine {
        id: r.get(b)?,
        seller_id: r.get(b + 1)?,
        channel: r.get(b + 2)?,
        key: LineKey {
            order_code: r.get(b + 3)?,
            kind,
            plot_number: r.get(b + 5)?,
        },
        plots_quantity: r.get(b + 6)?,
        plot_value: cents(r.get(b + 7)?),
        total_value: cents(r.get(b + 8)?),
        expected_value: cents(r.get(b + 9)?),
        expected_percent: r.get::<_, Option<i64>>(b + 10)?.map(Rate),
        expected_date: r.get::<_, Option<i64>>(b + 11)?.map(Timestamp),
        original_value: cents(r.get(b + 12)?),
        released_value: cents(r.get(b + 13)?),
        released_parts: r.get(b + 14)?,
        released_percent: r.get::<_, Option<i64>>(b + 15)?.map(Rate),
        released_date: r.get::<_, Option<i64>>(b + 16)?.map(Timestamp),
        situation,
        partial: r.get(b + 18)?,
        observation: r.get(b + 19)?,
        conciliation_id: r.get(b + 20)?,
        resolved_in_erp: r.get(b + 21)?,
        read: r.get(b + 22)?,
        extra: r.get(b + 23)?,
        updated_at: Timestamp(r.get(b + 24)?),
        version: r.get(b + 25)?,
    })
}

/// The order at `b`, `None` when a left join found none.
fn order_at(r: &Row<'_>, b: usize) -> rusqlite::Result<Option<SettlementOrder>> {
    let Some(operator_id) = r.get::<_, Option<String>>(b)? else {
        return Ok(None);
    };
    let row = SettlementRow {
        operator_id,
        seller_id: r.get(b + 1)?,
        channel: r.get(b + 2)?,
        order_code: r.get(b + 3)?,
        order_id: r.get(b + 4)?,
        hub_order_id: r.get(b + 5)?,
        status: r.get(b + 6)?,
        ordered_at: r.get(b + 7)?,
        invoiced_at: r.get(b + 8)?,
        total: r.get(b + 9)?,
        body: r.get(b + 10)?,
    };
    decode_settlement(row)
        .map(Some)
        .map_err(|e| corrupt(b + 10, e))
}

/// The conciliation at `b`, `None` when a left join found none.
fn conc_at(r: &Row<'_>, b: usize) -> rusqlite::Result<Option<Conciliation>> {
    let Some(id) = r.get::<_, Option<i64>>(b)? else {
        return Ok(None);
    };
    Ok(Some(Conciliation {
        id,
        seller_id: r.get(b + 1)?,
        channel: r.get(b + 2)?,
        digest: r.get(b + 3)?,
        init_date: Timestamp(r.get(b + 4)?),
        end_date: Timestamp(r.get(b + 5)?),
        close_date: r.get::<_, Option<i64>>(b + 6)?.map(Timestamp),
        rows: r.get(b + 7)?,
        refused: r.get(b + 8)?,
        cursor: r.get(b + 9)?,
        concilied: r.get(b + 10)?,
        divergent: r.get(b + 11)?,
        partial: r.get(b + 12)?,
        created_at: Timestamp(r.get(b + 13)?),
    }))
}

fn conc_row(r: &Row<'_>) -> rusqlite::Result<Conciliation> {
    conc_at(r, 0)?.ok_or_else(|| corrupt(0, "conciliation without id".into()))
}

fn view_row(r: &Row<'_>) -> rusqlite::Result<LineView> {
    Ok(LineView {
        line: line_at(r, 0)?,
        order: order_at(r, ORDER_AT)?,
        conciliation: conc_at(r, CONC_AT)?,
    })
}

fn no_seller() -> StoreError {
    StoreError::Other("a finance write needs a seller's scope, not only an operator's".into())
}

/// The scope's seller (`no_seller` for an operator's scope).
fn seller_of(scope: &Scope) -> Result<&str> {
    scope.seller_id.as_deref().ok_or_else(no_seller)
}

/// `NotFound` unless `seller` is one of `operator`'s sellers.
pub(crate) fn check_seller(c: &Connection, operator: &str, seller: &str) -> Result<()> {
    c.prepare_cached("SELECT 1 FROM sellers WHERE id = ?1 AND operator_id = ?2")
        .and_then(|mut s| {
            s.query_row(params![seller, operator], |_| Ok(()))
                .optional()
        })
        .map_err(map_err)?
        .ok_or(StoreError::NotFound)
}

/// `NotFound` unless the scope sees `seller` (named by a record the call writes) and
/// the seller is the operator's.
fn check_owner(c: &Connection, scope: &Scope, seller: &str) -> Result<()> {
    if !scope.sees(&scope.operator_id, seller) {
        return Err(StoreError::NotFound);
    }
    check_seller(c, &scope.operator_id, seller)
}

/// Binds `first` as `?1`, the line's key as `?2` to `?6` (the owner's seller and
/// channel, which the line was checked to have) and its [`LINE_BODY`] from `?7` on,
/// with `now` as its update time.
fn bind_line(
    s: &mut Statement<'_>,
    first: &dyn ToSql,
    o: &LineOwner<'_>,
    l: &ExtractLine,
    now: Timestamp,
) -> rusqlite::Result<()> {
    s.raw_bind_parameter(1, first)?;
    s.raw_bind_parameter(2, o.seller)?;
    s.raw_bind_parameter(3, o.channel)?;
    s.raw_bind_parameter(4, l.key.order_code.as_str())?;
    s.raw_bind_parameter(5, kind_code(l.key.kind))?;
    s.raw_bind_parameter(6, l.key.plot_number)?;
    let c = |v: Option<Cents>| v.map(|c| c.0);
    s.raw_bind_parameter(7, l.plots_quantity)?;
    s.raw_bind_parameter(8, c(l.plot_value))?;
    s.raw_bind_parameter(9, c(l.total_value))?;
    s.raw_bind_parameter(10, c(l.expected_value))?;
    s.raw_bind_parameter(11, l.expected_percent.map(|r| r.0))?;
    s.raw_bind_parameter(12, l.expected_date.map(|t| t.0))?;
    s.raw_bind_parameter(13, c(l.original_value))?;
    s.raw_bind_parameter(14, c(l.released_value))?;
    s.raw_bind_parameter(15, l.released_parts)?;
    s.raw_bind_parameter(16, l.released_percent.map(|r| r.0))?;
    s.raw_bind_parameter(17, l.released_date.map(|t| t.0))?;
    s.raw_bind_parameter(18, situation_code(l.situation))?;
    s.raw_bind_parameter(19, l.partial)?;
    s.raw_bind_parameter(20, l.observation.as_deref())?;
    s.raw_bind_parameter(21, l.conciliation_id)?;
    s.raw_bind_parameter(22, l.resolved_in_erp)?;
    s.raw_bind_parameter(23, l.read)?;
    s.raw_bind_parameter(24, l.extra.as_deref())?;
    s.raw_bind_parameter(25, now.0)
}

/// Writes `lines` (see [`LineWrite`]), answering their ids (the new ones assigned),
/// in order: no line is copied on the writer thread unless a caller needs it back.
fn write_lines(
    c: &Connection,
    o: &LineOwner<'_>,
    lines: &[LineWrite],
    now: Timestamp,
) -> Result<Vec<i64>> {
    let mut update = c.prepare_cached(&UPDATE_LINE).map_err(map_err)?;
    let mut insert = c.prepare_cached(&INSERT_LINE).map_err(map_err)?;
    let mut written = Vec::with_capacity(lines.len());
    for w in lines {
        let l = o.check(w)?;
        // `?1` is the line's id in the update, its operator in the insert.
        let (s, first): (&mut Statement<'_>, &dyn ToSql) = match w {
            LineWrite::Update(_) => (&mut update, &l.id),
            LineWrite::New(_) => (&mut insert, &o.operator),
        };
        bind_line(s, first, o, l, now).map_err(map_err)?;
        let id = match w {
            LineWrite::Update(_) => {
                s.raw_bind_parameter(LINE_VERSION_PARAM, l.version)
                    .map_err(map_err)?;
                if s.raw_execute().map_err(map_err)? != 1 {
                    // Moved since it was read (or gone, or never the owner's line):
                    // the caller reads it again and decides anew.
                    return Err(StoreError::Stale);
                }
                l.id
            }
            LineWrite::New(_) => {
                s.raw_execute().map_err(|e| line_clash(e, l))?;
                c.last_insert_rowid()
            }
        };
        written.push(id);
    }
    Ok(written)
}

/// A new line on a key that has one already, worded; any other error as [`map_err`].
fn line_clash(e: rusqlite::Error, l: &ExtractLine) -> StoreError {
    match map_err(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "order {} already has a {} line {}",
            l.key.order_code,
            kind_code(l.key.kind),
            l.key.plot_number
        )),
        other => other,
    }
}

fn save_settlement(
    c: &Connection,
    scope: &Scope,
    s: &OrderSettlement,
    row: &SettlementRow,
    now: Timestamp,
) -> Result<Vec<ExtractLine>> {
    if row.operator_id != scope.operator_id {
        return Err(StoreError::NotFound);
    }
    check_owner(c, scope, &row.seller_id)?;
    c.prepare_cached(
        "INSERT INTO settlement_orders (operator_id, seller_id, channel, order_code, order_id,
           hub_order_id, status, ordered_at, invoiced_at, total, body, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (seller_id, channel, order_code) DO UPDATE SET
           order_id = excluded.order_id, hub_order_id = excluded.hub_order_id,
           status = excluded.status, ordered_at = excluded.ordered_at,
           invoiced_at = excluded.invoiced_at, total = excluded.total,
           body = excluded.body, updated_at = excluded.updated_at",
    )
    .and_then(|mut st| {
        st.execute(params![
            row.operator_id,
            row.seller_id,
            row.channel,
            row.order_code,
            row.order_id,
            row.hub_order_id,
            row.status,
            row.ordered_at,
            row.invoiced_at,
            row.total,
            row.body,
            now.0
        ])
    })
    .map_err(map_err)?;
    let owner = LineOwner {
        operator: &row.operator_id,
        seller: &row.seller_id,
        channel: &row.channel,
        order_code: Some(&row.order_code),
    };
    let ids = write_lines(c, &owner, &s.lines, now)?;
    Ok(s.lines
        .iter()
        .zip(ids)
        .map(|(w, id)| w.written(id, now))
        .collect())
}

fn delete_settlement(
    c: &Connection,
    scope: &Scope,
    channel: &str,
    order_code: &str,
    lines: &[LineWrite],
    now: Timestamp,
) -> Result<Vec<i64>> {
    let seller = seller_of(scope)?;
    check_seller(c, &scope.operator_id, seller)?;
    let gone = c
        .prepare_cached(
            "DELETE FROM settlement_orders
             WHERE seller_id = ?1 AND channel = ?2 AND order_code = ?3",
        )
        .and_then(|mut s| s.execute(params![seller, channel, order_code]))
        .map_err(map_err)?;
    if gone == 0 {
        return Err(StoreError::NotFound);
    }
    let owner = LineOwner {
        operator: &scope.operator_id,
        seller,
        channel,
        order_code: Some(order_code),
    };
    let ids = write_lines(c, &owner, lines, now)?;
    c.prepare_cached(
        "DELETE FROM extract_lines
         WHERE seller_id = ?1 AND channel = ?2 AND order_code = ?3 AND released_parts = 0",
    )
    .and_then(|mut s| s.execute(params![seller, channel, order_code]))
    .map_err(map_err)?;
    Ok(ids)
}

/// From how many keys [`FinanceStore::lines_for_keys`] reads on two threads.
const PARALLEL_KEYS: usize = 1_000;

/// The lines of `keys` (exactly those), one indexed read per distinct order code.
fn lines_for_keys(
    c: &Connection,
    scope: &Scope,
    channel: &str,
    keys: &[LineKey],
) -> Result<Vec<ExtractLine>> {
    let seller = seller_of(scope)?;
    // Codes in key order, so consecutive seeks walk the index forward; all of them in
    // one read transaction (one snapshot, and one WAL read lock instead of one per
    // statement).
    let mut wanted: BTreeMap<&str, Vec<(&'static str, u32)>> = BTreeMap::new();
    for k in keys {
        wanted
            .entry(k.order_code.as_str())
            .or_default()
            .push((kind_code(k.kind), k.plot_number));
    }
    let _snapshot = c.unchecked_transaction().map_err(map_err)?;
    let mut s = c.prepare_cached(&LINES_OF_CODE).map_err(map_err)?;
    let mut found = Vec::with_capacity(keys.len());
    for (code, of_code) in wanted {
        let mut rows = s
            .query(params![seller, channel, code, scope.operator_id])
            .map_err(map_err)?;
        while let Some(r) = rows.next().map_err(map_err)? {
            // Only the keys asked for are decoded: an order's other lines are skipped
            // on their type and installment.
            let kind = r
                .get_ref(4)
                .and_then(|v| Ok(v.as_str()?))
                .map_err(map_err)?;
            let plot: u32 = r.get(5).map_err(map_err)?;
            if of_code.iter().any(|&(k, p)| k == kind && p == plot) {
                found.push(line_at(r, 0).map_err(map_err)?);
            }
        }
    }
    Ok(found)
}

fn settlements_for_codes(
    c: &Connection,
    scope: &Scope,
    channel: &str,
    codes: &[String],
) -> Result<Vec<SettlementOrder>> {
    let seller = seller_of(scope)?;
    let _snapshot = c.unchecked_transaction().map_err(map_err)?;
    let mut s = c.prepare_cached(&SETTLEMENT_BY_CODE).map_err(map_err)?;
    let mut seen = HashSet::with_capacity(codes.len());
    let mut found = Vec::new();
    for code in codes {
        if !seen.insert(code.as_str()) {
            continue;
        }
        let order = s
            .query_row(params![seller, channel, code, scope.operator_id], |r| {
                order_at(r, 0)
            })
            .optional()
            .map_err(map_err)?
            .flatten();
        found.extend(order);
    }
    Ok(found)
}

fn begin(c: &Connection, scope: &Scope, n: &Conciliation) -> Result<Begun> {
    check_owner(c, scope, &n.seller_id)?;
    let existing = c
        .prepare_cached(&CONC_BY_DIGEST)
        .and_then(|mut s| {
            s.query_row(params![n.seller_id, n.channel, n.digest], conc_row)
                .optional()
        })
        .map_err(map_err)?;
    if let Some(e) = existing {
        return Ok(Begun::Existing(e));
    }
    let overlapping = c
        .prepare_cached(&CONC_OVERLAPPING)
        .and_then(|mut s| {
            s.query_row(
                params![n.seller_id, n.channel, n.init_date.0, n.end_date.0],
                conc_row,
            )
            .optional()
        })
        .map_err(map_err)?;
    if let Some(o) = overlapping {
        return Ok(Begun::Overlaps(o));
    }
    c.prepare_cached(
        "INSERT INTO conciliations (operator_id, seller_id, channel, digest, init_date,
           end_date, close_date, rows_valid, rows_refused, cursor_row, concilied_count,
           divergent_count, partial_count, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, 0, 0, 0, 0, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            scope.operator_id,
            n.seller_id,
            n.channel,
            n.digest,
            n.init_date.0,
            n.end_date.0,
            n.rows,
            n.refused,
            n.created_at.0
        ])
    })
    .map_err(map_err)?;
    Ok(Begun::New(Conciliation {
        id: c.last_insert_rowid(),
        close_date: None,
        cursor: 0,
        concilied: 0,
        divergent: 0,
        partial: 0,
        ..n.clone()
    }))
}

/// One step (see [`ConciliationStep`]): the cursor moves from `from_row` to `to_row`
/// on an open conciliation of the scope, or nothing is written.
/// Returns the ids of the step's lines, in order.
fn apply_step(c: &Connection, scope: &Scope, step: &ConciliationStep) -> Result<Vec<i64>> {
    let moved: Option<(String, String)> = c
        .prepare_cached(
            "UPDATE conciliations SET cursor_row = ?5
             WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)
               AND cursor_row = ?4 AND close_date IS NULL
             RETURNING seller_id, channel",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    step.conciliation_id,
                    scope.operator_id,
                    scope.seller_id,
                    step.from_row,
                    step.to_row
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
        .map_err(map_err)?;
    let Some((seller, channel)) = moved else {
        return Err(match conciliation(c, scope, step.conciliation_id) {
            Ok(_) => StoreError::Stale,
            Err(e) => e,
        });
    };
    let owner = LineOwner {
        operator: &scope.operator_id,
        seller: &seller,
        channel: &channel,
        order_code: None,
    };
    write_lines(c, &owner, &step.lines, step.now)
}

fn conciliation(c: &Connection, scope: &Scope, id: i64) -> Result<Conciliation> {
    c.prepare_cached(&CONC_BY_ID)
        .and_then(|mut s| s.query_row(params![id, scope.operator_id, scope.seller_id], conc_row))
        .map_err(map_err)
}

/// Counts the conciliation's lines from the listing index alone (the seller's
/// released lines, filtered on `conciliation_id` in the index) and closes it; a closed
/// conciliation is answered as it was closed (and `false`: not closed now).
fn close(c: &Connection, scope: &Scope, id: i64, now: Timestamp) -> Result<(Conciliation, bool)> {
    let conc = conciliation(c, scope, id)?;
    if conc.close_date.is_some() {
        return Ok((conc, false));
    }
    let (concilied, divergent, partial): (u64, u64, u64) = c
        .prepare_cached(
            "SELECT COALESCE(SUM(situation = 'CONCILIED'), 0),
                    COALESCE(SUM(situation = 'DIVERGENT'), 0), COALESCE(SUM(partial), 0)
             FROM extract_lines INDEXED BY extract_lines_listing
             WHERE conciliation_id IS NOT NULL AND seller_id = ?1 AND conciliation_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![conc.seller_id, id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })
        .map_err(map_err)?;
    c.prepare_cached(
        "UPDATE conciliations SET close_date = ?2, concilied_count = ?3, divergent_count = ?4,
           partial_count = ?5 WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![id, now.0, concilied, divergent, partial]))
    .map_err(map_err)?;
    Ok((
        Conciliation {
            close_date: Some(now),
            concilied,
            divergent,
            partial,
            ..conc
        },
        true,
    ))
}

/// Which mark a batch sets.
#[derive(Clone, Copy)]
enum Mark {
    Resolved,
    Read,
}

impl Mark {
    fn column(self) -> &'static str {
        match self {
            Mark::Resolved => "resolved_in_erp",
            Mark::Read => "is_read",
        }
    }
}

/// Sets the mark on the scope's lines among `ids` (each reported once, in the order
/// given); a line marked already keeps its update time.
fn mark(c: &Connection, scope: &Scope, ids: &[i64], m: Mark, now: Timestamp) -> Result<Marked> {
    let col = m.column();
    let mut set = c
        .prepare_cached(&format!(
            "UPDATE extract_lines SET {col} = 1, updated_at = ?4, version = version + 1
             WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3) AND {col} = 0"
        ))
        .map_err(map_err)?;
    let mut there = c
        .prepare_cached(
            "SELECT 1 FROM extract_lines
             WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)",
        )
        .map_err(map_err)?;
    let mut out = Marked::default();
    let mut seen = HashSet::with_capacity(ids.len());
    for &id in ids {
        if !seen.insert(id) {
            continue;
        }
        let p = params![id, scope.operator_id, scope.seller_id, now.0];
        let applied = set.execute(p).map_err(map_err)? == 1
            || there
                .query_row(&p[..3], |_| Ok(()))
                .optional()
                .map_err(map_err)?
                .is_some();
        if applied {
            out.applied.push(id);
        } else {
            out.unknown.push(id);
        }
    }
    Ok(out)
}

/// `SELECT {what} FROM extract_lines WHERE ...` for a listing: on the listing index
/// for a seller's scope (the scope by the constant seller subquery, so no table row is
/// read), with its parameters.
fn listing_sql(scope: &Scope, f: &LineFilter, what: &str) -> (String, Vec<Value>) {
    let mut p = Vec::new();
    let indexed = if scope.seller_id.is_some() {
        " INDEXED BY extract_lines_listing"
    } else {
        ""
    };
    let mut sql = format!(
        "SELECT {what} FROM extract_lines{indexed} WHERE conciliation_id IS NOT NULL{}",
        scope_sql(scope, &mut p)
    );
    if f.listing == Listing::Unresolveds {
        sql.push_str(" AND resolved_in_erp = 0");
    }
    if f.only_unread {
        sql.push_str(" AND is_read = 0");
    }
    let mut push = |clause: &str, v: Value, sql: &mut String| {
        p.push(v);
        sql.push_str(&clause.replace("?v", &format!("?{}", p.len())));
    };
    if let Some(t) = f.from {
        push(" AND released_date >= ?v", Value::Integer(t.0), &mut sql);
    }
    if let Some(t) = f.to {
        push(" AND released_date <= ?v", Value::Integer(t.0), &mut sql);
    }
    if let Some(id) = f.conciliation_id {
        push(" AND conciliation_id = ?v", Value::Integer(id), &mut sql);
    }
    if let Some(ch) = &f.channel {
        push(" AND channel = ?v", Value::Text(ch.clone()), &mut sql);
    }
    (sql, p)
}

/// A listing's page: the ids from the index (the offset skips index entries only),
/// then the page's lines with their orders and conciliations.
fn list_sql(scope: &Scope, f: &LineFilter) -> (String, Vec<Value>) {
    let (inner, mut p) = listing_sql(scope, f, "id");
    p.push(Value::Integer(i64::from(f.limit)));
    p.push(Value::Integer(i64::try_from(f.offset).unwrap_or(i64::MAX)));
    // CROSS JOIN: SQLite keeps the page's ids outermost, each line then found by id.
    let sql = format!(
        "SELECT {} FROM ({inner} ORDER BY id LIMIT ?{} OFFSET ?{}) page
         CROSS JOIN extract_lines l ON l.id = page.id {VIEW_JOINS} ORDER BY l.id",
        *VIEW_COLS,
        p.len() - 1,
        p.len()
    );
    (sql, p)
}

fn list_channels(c: &Connection, scope: &Scope) -> Result<Vec<String>> {
    let rows = match &scope.seller_id {
        Some(seller) => {
            match check_seller(c, &scope.operator_id, seller) {
                Err(StoreError::NotFound) => return Ok(vec![]),
                other => other?,
            }
            // Distinct channels by skipping along the key indexes, one seek per
            // channel, instead of reading every line of the seller.
            let mut s = c
                .prepare_cached(
                    "WITH RECURSIVE
                       lc(ch) AS (
                         SELECT (SELECT MIN(channel) FROM extract_lines WHERE seller_id = ?1)
                         UNION ALL
                         SELECT (SELECT MIN(channel) FROM extract_lines
                                 WHERE seller_id = ?1 AND channel > lc.ch)
                         FROM lc WHERE lc.ch IS NOT NULL),
                       oc(ch) AS (
                         SELECT (SELECT MIN(channel) FROM settlement_orders WHERE seller_id = ?1)
                         UNION ALL
                         SELECT (SELECT MIN(channel) FROM settlement_orders
                                 WHERE seller_id = ?1 AND channel > oc.ch)
                         FROM oc WHERE oc.ch IS NOT NULL)
                     SELECT ch FROM lc WHERE ch IS NOT NULL
                     UNION SELECT ch FROM oc WHERE ch IS NOT NULL
                     UNION SELECT channel FROM channel_terms WHERE seller_id = ?1
                     ORDER BY 1",
                )
                .map_err(map_err)?;
            let rows = s
                .query_map([seller], |r| r.get(0))
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<String>>>();
            rows
        }
        None => {
            let mut s = c
                .prepare_cached(
                    "SELECT channel FROM extract_lines WHERE operator_id = ?1
                     UNION SELECT channel FROM settlement_orders WHERE operator_id = ?1
                     UNION SELECT channel FROM channel_terms WHERE operator_id = ?1
                     ORDER BY 1",
                )
                .map_err(map_err)?;
            let rows = s
                .query_map([&scope.operator_id], |r| r.get(0))
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<String>>>();
            rows
        }
    };
    rows.map_err(map_err)
}

/// Per channel and UTC month (of the expected date, or the release's when nothing
/// was expected), months with lines only, by channel then month.
fn month_summaries(
    c: &Connection,
    scope: &Scope,
    channel: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<MonthSummary>> {
    let owner = match scope.seller_id {
        Some(_) => "seller_id = ?2 AND operator_id = ?1",
        None => "operator_id = ?1 AND ?2 IS NULL",
    };
    let sql = format!(
        "SELECT channel, month,
           COALESCE(SUM(CASE WHEN kind <> 'COMISSION' THEN expected_value END), 0),
           COALESCE(SUM(CASE WHEN kind <> 'COMISSION' THEN released_value END), 0),
           COALESCE(SUM(CASE WHEN kind = 'COMISSION' THEN expected_value END), 0),
           COALESCE(SUM(CASE WHEN kind = 'COMISSION' THEN released_value END), 0),
           COALESCE(SUM(situation = 'DIVERGENT'), 0),
           COALESCE(SUM(CASE WHEN situation = 'DIVERGENT'
             THEN abs(COALESCE(released_value, 0) - COALESCE(expected_value, 0)) END), 0)
         FROM (SELECT channel, kind, expected_value, released_value, situation,
                 strftime('%Y-%m', COALESCE(expected_date, released_date) / 1000000,
                          'unixepoch') AS month
               FROM extract_lines
               WHERE {owner} AND (?3 IS NULL OR channel = ?3)
                 AND COALESCE(expected_date, released_date) IS NOT NULL)
         WHERE month BETWEEN ?4 AND ?5
         GROUP BY channel, month ORDER BY channel, month"
    );
    let mut s = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = s
        .query_map(
            params![scope.operator_id, scope.seller_id, channel, from, to],
            |r| {
                Ok(MonthSummary {
                    channel: r.get(0)?,
                    month: r.get(1)?,
                    expected: Cents(r.get(2)?),
                    released: Cents(r.get(3)?),
                    commission_expected: Cents(r.get(4)?),
                    commission_released: Cents(r.get(5)?),
                    divergent_count: r.get(6)?,
                    divergent_amount: Cents(r.get(7)?),
                })
            },
        )
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

#[async_trait]
impl FinanceStore for SqliteStore {
    async fn get_channel_terms(
        &self,
        scope: &Scope,
        channel: &str,
    ) -> Result<Option<ChannelTerms>> {
        let seller = seller_of(scope)?;
        self.read_now(|c| {
            let json: Option<String> = c
                .prepare_cached(
                    "SELECT terms FROM channel_terms
                     WHERE seller_id = ?1 AND channel = ?2 AND operator_id = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![seller, channel, scope.operator_id], |r| r.get(0))
                        .optional()
                })
                .map_err(map_err)?;
            json.map(|j| decode_terms(channel, &j).map_err(StoreError::Other))
                .transpose()
        })
    }

    async fn put_channel_terms(
        &self,
        scope: &Scope,
        terms: &ChannelTerms,
        now: Timestamp,
    ) -> Result<()> {
        let seller = seller_of(scope)?.to_string();
        let operator = scope.operator_id.clone();
        let (channel, json) = (terms.channel.clone(), encode_terms(terms));
        self.write(move |c| {
            check_seller(c, &operator, &seller)?;
            c.prepare_cached(
                "INSERT INTO channel_terms (operator_id, seller_id, channel, terms, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (seller_id, channel) DO UPDATE SET
                   terms = excluded.terms, updated_at = excluded.updated_at",
            )
            .and_then(|mut s| s.execute(params![operator, seller, channel, json, now.0]))
            .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn list_channels(&self, scope: &Scope) -> Result<Vec<String>> {
        let scope = scope.clone();
        self.read(move |c| list_channels(c, &scope)).await
    }

    async fn get_settlement(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
    ) -> Result<Option<(SettlementOrder, Vec<ExtractLine>)>> {
        let seller = seller_of(scope)?;
        self.read_now(|c| {
            let order = c
                .prepare_cached(&SETTLEMENT_BY_CODE)
                .and_then(|mut s| {
                    s.query_row(
                        params![seller, channel, order_code, scope.operator_id],
                        |r| order_at(r, 0),
                    )
                    .optional()
                })
                .map_err(map_err)?
                .flatten();
            let Some(order) = order else {
                return Ok(None);
            };
            let mut s = c.prepare_cached(&LINES_OF_CODE).map_err(map_err)?;
            let mut lines = s
                .query_map(
                    params![seller, channel, order_code, scope.operator_id],
                    |r| line_at(r, 0),
                )
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?;
            lines.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(Some((order, lines)))
        })
    }

    async fn save_settlement(
        &self,
        scope: &Scope,
        s: &OrderSettlement,
        now: Timestamp,
    ) -> Result<Vec<ExtractLine>> {
        // Encoding outside the writer keeps the single writer thread on SQL only.
        let row = encode_settlement(&s.order);
        let (scope, s) = (scope.clone(), s.clone());
        let payloads = self.payloads.clone();
        let wrote = !s.events.is_empty();
        let lines = self
            .write(move |c| {
                let lines = save_settlement(c, &scope, &s, &row, now)?;
                let ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
                let op = &scope.operator_id;
                insert_events(
                    c,
                    &line_events(&*payloads, op, &s.lines, &ids, &s.events, now),
                )?;
                Ok(lines)
            })
            .await?;
        if wrote {
            self.wrote_events();
        }
        Ok(lines)
    }

    async fn delete_settlement(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
        lines: &[LineWrite],
        events: &[(usize, FinanceEvent)],
        now: Timestamp,
    ) -> Result<()> {
        let (scope, channel, code) = (scope.clone(), channel.to_string(), order_code.to_string());
        let (lines, events, payloads) = (lines.to_vec(), events.to_vec(), self.payloads.clone());
        let wrote = !events.is_empty();
        self.write(move |c| {
            let ids = delete_settlement(c, &scope, &channel, &code, &lines, now)?;
            let op = &scope.operator_id;
            insert_events(c, &line_events(&*payloads, op, &lines, &ids, &events, now))
        })
        .await?;
        if wrote {
            self.wrote_events();
        }
        Ok(())
    }

    async fn lines_for_keys(
        &self,
        scope: &Scope,
        channel: &str,
        keys: &[LineKey],
    ) -> Result<Vec<ExtractLine>> {
        if keys.is_empty() {
            return Ok(vec![]);
        }
        // A statement step's keys are read in two halves on two reader threads at
        // once: the load waits on them with the writer idle, so both cores can seek.
        // Split between order codes, so each half reads whole orders.
        let mut first = keys.to_vec();
        let mut second = Vec::new();
        if first.len() >= PARALLEL_KEYS {
            first.sort_unstable_by(|a, b| a.order_code.cmp(&b.order_code));
            let mut mid = first.len() / 2;
            while mid < first.len() && first[mid].order_code == first[mid - 1].order_code {
                mid += 1;
            }
            second = first.split_off(mid);
        }
        let read = |part: Vec<LineKey>| {
            let (scope, channel) = (scope.clone(), channel.to_string());
            self.read(move |c| lines_for_keys(c, &scope, &channel, &part))
        };
        if second.is_empty() {
            return read(first).await;
        }
        let (mut a, b) = tokio::try_join!(read(first), read(second))?;
        a.extend(b);
        Ok(a)
    }

    async fn settlements_for_codes(
        &self,
        scope: &Scope,
        channel: &str,
        codes: &[String],
    ) -> Result<Vec<SettlementOrder>> {
        if codes.is_empty() {
            return Ok(vec![]);
        }
        let (scope, channel, codes) = (scope.clone(), channel.to_string(), codes.to_vec());
        self.read(move |c| settlements_for_codes(c, &scope, &channel, &codes))
            .await
    }

    async fn begin_conciliation(&self, scope: &Scope, c: &Conciliation) -> Result<Begun> {
        let (scope, n) = (scope.clone(), c.clone());
        self.write(move |c| begin(c, &scope, &n)).await
    }

    async fn apply_conciliation_step(&self, scope: &Scope, step: &ConciliationStep) -> Result<()> {
        let (scope, step) = (scope.clone(), step.clone());
        let payloads = self.payloads.clone();
        let wrote = !step.events.is_empty();
        self.write(move |c| {
            let ids = apply_step(c, &scope, &step)?;
            let (op, at) = (&scope.operator_id, step.now);
            insert_events(
                c,
                &line_events(&*payloads, op, &step.lines, &ids, &step.events, at),
            )
        })
        .await?;
        if wrote {
            self.wrote_events();
        }
        Ok(())
    }

    async fn close_conciliation(
        &self,
        scope: &Scope,
        id: i64,
        now: Timestamp,
        events: &[FinanceEvent],
    ) -> Result<Conciliation> {
        let scope = scope.clone();
        let (events, payloads) = (events.to_vec(), self.payloads.clone());
        let (conc, closed) = self
            .write(move |c| {
                let (conc, closed) = close(c, &scope, id, now)?;
                if closed {
                    let op = &scope.operator_id;
                    insert_events(c, &conciliation_events(&*payloads, &events, op, &conc, now))?;
                }
                Ok((conc, closed))
            })
            .await?;
        if closed {
            self.wrote_events();
        }
        Ok(conc)
    }

    async fn get_conciliation(&self, scope: &Scope, id: i64) -> Result<Conciliation> {
        self.read_now(|c| conciliation(c, scope, id))
    }

    async fn list_conciliations(
        &self,
        scope: &Scope,
        channel: Option<&str>,
    ) -> Result<Vec<Conciliation>> {
        let (scope, channel) = (scope.clone(), channel.map(str::to_string));
        self.read(move |c| {
            let mut s = c.prepare_cached(&CONC_LIST).map_err(map_err)?;
            let rows = s
                .query_map(
                    params![scope.operator_id, scope.seller_id, channel],
                    conc_row,
                )
                .map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
        })
        .await
    }

    async fn get_line(&self, scope: &Scope, id: i64) -> Result<LineView> {
        self.read_now(|c| {
            c.prepare_cached(&LINE_BY_ID)
                .and_then(|mut s| {
                    s.query_row(params![id, scope.operator_id, scope.seller_id], view_row)
                })
                .map_err(map_err)
        })
    }

    async fn order_lines(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
        kind: Option<ExtractType>,
    ) -> Result<Vec<LineView>> {
        let sql = match scope.seller_id {
            Some(_) => ORDER_LINES_OF_SELLER.as_str(),
            None => ORDER_LINES_OF_OPERATOR.as_str(),
        };
        self.read_now(|c| {
            let mut s = c.prepare_cached(sql).map_err(map_err)?;
            let mut views = s
                .query_map(
                    params![
                        kind.map(kind_code),
                        scope.operator_id,
                        scope.seller_id,
                        channel,
                        order_code
                    ],
                    view_row,
                )
                .map_err(map_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(map_err)?;
            views.sort_by(|a, b| a.line.key.cmp(&b.line.key));
            Ok(views)
        })
    }

    async fn list_lines(&self, scope: &Scope, filter: &LineFilter) -> Result<Vec<LineView>> {
        let (sql, p) = list_sql(scope, filter);
        self.read(move |c| {
            let mut s = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = s
                .query_map(params_from_iter(p), view_row)
                .map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
        })
        .await
    }

    async fn count_lines(&self, scope: &Scope, filter: &LineFilter) -> Result<u64> {
        let (sql, p) = listing_sql(scope, filter, "COUNT(*)");
        self.cached_count(sql, p).await
    }

    async fn resolve_lines(&self, scope: &Scope, ids: &[i64], now: Timestamp) -> Result<Marked> {
        let (scope, ids) = (scope.clone(), ids.to_vec());
        self.write(move |c| mark(c, &scope, &ids, Mark::Resolved, now))
            .await
    }

    async fn mark_lines_read(&self, scope: &Scope, ids: &[i64], now: Timestamp) -> Result<Marked> {
        let (scope, ids) = (scope.clone(), ids.to_vec());
        self.write(move |c| mark(c, &scope, &ids, Mark::Read, now))
            .await
    }

    async fn month_summaries(
        &self,
        scope: &Scope,
        channel: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<MonthSummary>> {
        let (scope, channel) = (scope.clone(), channel.map(str::to_string));
        let (from, to) = (from.to_string(), to.to_string());
        self.read(move |c| month_summaries(c, &scope, channel.as_deref(), &from, &to))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query_plan as plan;

    /// A seller's listing counts and pages read the listing index alone whatever the
    /// filter, in id order (no sort for the page's ids); a step's lookups seek the key
    /// index; a close counts from the listing index.
    #[test]
    fn listings_and_lookups_read_their_indexes() {
        let dir = std::env::temp_dir().join(format!("entreposto-fin-plans-{}", new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(dir.join("t.db"), crate::SqliteOptions::default()).unwrap();
        let seller = Scope::seller("op", "s");
        let base = LineFilter {
            listing: Listing::Unresolveds,
            from: None,
            to: None,
            conciliation_id: None,
            channel: None,
            only_unread: false,
            offset: 5_000,
            limit: 100,
        };
        let full = LineFilter {
            listing: Listing::Concilieds,
            from: Some(Timestamp(1)),
            to: Some(Timestamp(2)),
            conciliation_id: Some(3),
            channel: Some("Magalu".into()),
            only_unread: true,
            ..base.clone()
        };
        for f in [base, full] {
            let (sql, p) = listing_sql(&seller, &f, "COUNT(*)");
            let counted = plan(&store, &sql, p);
            assert!(
                counted.contains("USING COVERING INDEX extract_lines_listing"),
                "{f:?}:\n{counted}"
            );
            let (sql, p) = listing_sql(&seller, &f, "id");
            let paged = plan(&store, &format!("{sql} ORDER BY id LIMIT 100"), p);
            assert!(
                paged.contains("USING COVERING INDEX extract_lines_listing"),
                "{f:?}:\n{paged}"
            );
            assert!(!paged.contains("TEMP B-TREE"), "{f:?} sorts:\n{paged}");
            let (sql, p) = list_sql(&seller, &f);
            let page = plan(&store, &sql, p);
            assert!(page.contains("extract_lines_listing"), "{f:?}:\n{page}");
            assert!(
                page.contains("sqlite_autoindex_settlement_orders"),
                "{f:?}:\n{page}"
            );
        }
        let lookup = plan(
            &store,
            &LINES_OF_CODE,
            vec![
                Value::Text("s".into()),
                Value::Text("c".into()),
                Value::Text("A-1".into()),
                Value::Text("op".into()),
            ],
        );
        assert!(lookup.contains("USING INDEX extract_lines_key"), "{lookup}");
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn new_id() -> String {
        entreposto_store::new_id()
    }
}
