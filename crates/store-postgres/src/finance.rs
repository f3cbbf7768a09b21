//! Reconciliation on PostgreSQL: channel terms and settlement orders as JSON bodies
//! (`entreposto_store::finance_json`), extract lines as columns, conciliations with
//! their step cursor (see the migration for the tables and their indexes).
//!
//! A statement of a million rows is applied in steps of thousands, so a step costs a
//! fixed number of statements whatever its size: its lines are read with one join of
//! the keys (`UNNEST` of three arrays) to the line key index, and written in one
//! transaction that first moves the conciliation's cursor from the value the step was
//! decided on (a second node on the same step waits for that row's lock, then finds
//! the cursor moved: `Stale`), then replaces the changed lines with one
//! `UPDATE ... FROM UNNEST` (in id order, the order every writer locks lines in) and
//! inserts the new ones with one `INSERT ... SELECT FROM UNNEST`. A conciliation
//! begins under a transaction-scoped advisory lock on its seller and channel, so two
//! nodes loading overlapping statements of one channel check and record their periods
//! one after the other: one records, the other finds it and is told it overlaps.
//! Listings pick a page's ids from the listing indexes (index-only, offset included)
//! and only then read those lines with their orders and conciliations.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use entreposto_domain::*;
use entreposto_store::events::{conciliation_events, line_events};
use entreposto_store::finance_json::{
    self, kind_code, kind_from_code, situation_code, situation_from_code, SettlementRow,
};
use entreposto_store::*;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::order_lifecycle::scope_sql;
use crate::outbox::insert_events;
use crate::{map_err, scope_seller, Params, PgStore};

/// The advisory lock class of "a conciliation begins on this seller's channel" (the
/// second key is a hash of both): two-key locks never meet the migrations' one-key lock.
const BEGIN_LOCK: i32 = 7_401_012;

/// An extract line's columns on alias `l`, in [`line_from_row`]'s order.
const LINE_COLS: &str = "l.id, l.seller_id, l.channel, l.order_code, l.kind, l.plot_number, \
    l.plots_quantity, l.plot_value, l.total_value, l.expected_value, l.expected_percent, \
    l.expected_date, l.original_value, l.released_value, l.released_parts, \
    l.released_percent, l.released_date, l.situation, l.partial, l.observation, \
    l.conciliation_id, l.resolved_in_erp, l.read, l.extra, l.updated_at, l.version";
const LINE_WIDTH: usize = 26;

/// A conciliation's columns on alias `c`, in [`conciliation_from_row`]'s order.
const CONCILIATION_COLS: &str = "c.id, c.seller_id, c.channel, c.digest, c.init_date, \
    c.end_date, c.close_date, c.rows, c.refused, c.cursor, c.concilied, c.divergent, \
    c.partial, c.created_at";

/// The columns a line write takes as arrays (all but the id, the tenant and the
/// channel, which a write names once), in [`LineRows::columns`] order: the rest of the
/// key first ([`KEY_WIDTH`] columns), which an insert sets and an update matches.
const WRITTEN: [(&str, &str); 22] = [
    ("order_code", "text"),
    ("kind", "text"),
    ("plot_number", "int4"),
    ("plots_quantity", "int4"),
    ("plot_value", "int8"),
    ("total_value", "int8"),
    ("expected_value", "int8"),
    ("expected_percent", "int8"),
    ("expected_date", "int8"),
    ("original_value", "int8"),
    ("released_value", "int8"),
    ("released_parts", "int4"),
    ("released_percent", "int8"),
    ("released_date", "int8"),
    ("situation", "text"),
    ("partial", "bool"),
    ("observation", "text"),
    ("conciliation_id", "int8"),
    ("resolved_in_erp", "bool"),
    ("read", "bool"),
    ("extra", "text"),
    ("updated_at", "int8"),
];

const KEY_WIDTH: usize = 3;

/// A settlement order's columns on alias `o`, in [`SettlementRow`]'s order.
const ORDER_COLS: &str = "o.operator_id, o.seller_id, o.channel, o.order_code, o.order_id, \
    o.hub_order_id, o.status, o.ordered_at, o.invoiced_at, o.total, o.body";
const ORDER_WIDTH: usize = 11;

/// `UNNEST($first::type[], ...) AS u(names)` over `columns`.
fn unnest(first: usize, columns: &[(&str, &str)]) -> String {
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, t))| format!("${}::{t}[]", first + i))
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    format!("UNNEST({}) AS u({})", arrays.join(", "), names.join(", "))
}

/// New lines: `$1` the operator, `$2` the seller, `$3` the channel, then
/// [`WRITTEN`]'s arrays; each new line's key comes back with its id.
static INSERT_LINES: LazyLock<String> = LazyLock::new(|| {
    let names: Vec<&str> = WRITTEN.iter().map(|c| c.0).collect();
    let names = names.join(", ");
    format!(
        "INSERT INTO extract_lines (operator_id, seller_id, channel, {names})
         SELECT $1, $2, $3, {names} FROM {}
         RETURNING id, order_code, kind, plot_number",
        unnest(4, &WRITTEN)
    )
});

/// Replaced lines: `$1` the operator, `$2` the seller, `$3` the channel, `$4` the ids,
/// `$5` the versions they were read at, then [`WRITTEN`]'s arrays. A line is replaced
/// only where its id and whole key match, so a write can touch neither another
/// seller's line nor another line of the seller's (the key itself never moves), and
/// only if it is still at the version it was read at.
static UPDATE_LINES: LazyLock<String> = LazyLock::new(|| {
    let mut columns = vec![("id", "int8"), ("version", "int8")];
    columns.extend(WRITTEN);
    let sets: Vec<String> = WRITTEN[KEY_WIDTH..]
        .iter()
        .map(|(name, _)| format!("{name} = u.{name}"))
        .collect();
    format!(
        "UPDATE extract_lines l SET {}, version = l.version + 1 FROM {}
         WHERE l.id = u.id AND l.operator_id = $1 AND l.seller_id = $2 AND l.channel = $3
           AND l.order_code = u.order_code AND l.kind = u.kind
           AND l.plot_number = u.plot_number AND l.version = u.version",
        sets.join(", "),
        unnest(4, &columns)
    )
});

/// The lines of keys: `$1` the seller, `$2` the channel, `$3`..`$5` the keys' codes,
/// types and installments, `$6` the operator. One descent of the key index per key,
/// whatever the planner thinks of the table: a lateral subquery runs per key (the
/// key is unique, so `LIMIT 1` changes nothing but the plan's shape). As a plain
/// join, 5,000 keys against a table the statistics call small (a seller that just
/// grew) are hashed against a scan of every line, at each step.
static LINES_FOR_KEYS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {LINE_COLS}
         FROM UNNEST($3::text[], $4::text[], $5::int4[]) AS k(code, kind, plot)
         CROSS JOIN LATERAL (
           SELECT * FROM extract_lines x
           WHERE x.seller_id = $1 AND x.channel = $2 AND x.order_code = k.code
             AND x.kind = k.kind AND x.plot_number = k.plot AND x.operator_id = $6
           LIMIT 1
         ) l"
    )
});

/// A database error of a finance write: a seller that is not the operator's (its
/// foreign key finds nothing) is `NotFound`, as every read outside the scope is.
pub(crate) fn finance_err(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
        tracing::debug!(error = %e, "finance write for a seller outside the operator");
        return StoreError::NotFound;
    }
    map_err(e)
}

fn corrupt(what: &str, id: impl std::fmt::Display, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("{what} {id}: {e}"))
}

/// A stored count or cursor as an `INTEGER`/`BIGINT` column takes it.
fn int4(v: u32, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| StoreError::Other(format!("{what} {v} is out of range")))
}

fn int8(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Other(format!("{what} {v} is out of range")))
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The seller a record names, if the scope may write it: an operator's scope any of
/// its sellers (the foreign keys check the seller is the operator's), a seller's only
/// its own.
fn owned_seller<'a>(scope: &Scope, seller: &'a str) -> Result<&'a str> {
    match &scope.seller_id {
        Some(s) if s != seller => Err(StoreError::NotFound),
        _ => Ok(seller),
    }
}

fn line_from_row(r: &Row, at: usize) -> Result<ExtractLine> {
    let id: i64 = r.get(at);
    let cents = |i: usize| r.get::<_, Option<i64>>(at + i).map(Cents);
    let rate = |i: usize| r.get::<_, Option<i64>>(at + i).map(Rate);
    let time = |i: usize| r.get::<_, Option<i64>>(at + i).map(Timestamp);
    let unsigned = |i: usize| -> Result<u32> {
        let v: i32 = r.get(at + i);
        u32::try_from(v).map_err(|_| corrupt("extract line", id, format!("column {i} is {v}")))
    };
    let kind = kind_from_code(r.get(at + 4)).map_err(|e| corrupt("extract line", id, e))?;
    let situation =
        situation_from_code(r.get(at + 17)).map_err(|e| corrupt("extract line", id, e))?;
    let plots_quantity = match r.get::<_, Option<i32>>(at + 6) {
        Some(v) => {
            Some(u32::try_from(v).map_err(|_| corrupt("extract line", id, "negative plots"))?)
        }
        None => None,
    };
    Ok(ExtractLine {
        id,
        seller_id: r.get(at + 1),
        channel: r.get(at + 2),
        key: LineKey {
            order_code: r.get(at + 3),
            kind,
            plot_number: unsigned(5)?,
        },
        plots_quantity,
        plot_value: cents(7),
        total_value: cents(8),
        expected_value: cents(9),
        expected_percent: rate(10),
        expected_date: time(11),
        original_value: cents(12),
        released_value: cents(13),
        released_parts: unsigned(14)?,
        released_percent: rate(15),
        released_date: time(16),
        situation,
        partial: r.get(at + 18),
        observation: r.get(at + 19),
        conciliation_id: r.get(at + 20),
        resolved_in_erp: r.get(at + 21),
        read: r.get(at + 22),
        extra: r.get(at + 23),
        updated_at: Timestamp(r.get(at + 24)),
        version: r.get(at + 25),
    })
}

fn conciliation_from_row(r: &Row, at: usize) -> Conciliation {
    let n = |i: usize| count(r.get(at + i));
    Conciliation {
        id: r.get(at),
        seller_id: r.get(at + 1),
        channel: r.get(at + 2),
        digest: r.get(at + 3),
        init_date: Timestamp(r.get(at + 4)),
        end_date: Timestamp(r.get(at + 5)),
        close_date: r.get::<_, Option<i64>>(at + 6).map(Timestamp),
        rows: n(7),
        refused: n(8),
        cursor: n(9),
        concilied: n(10),
        divergent: n(11),
        partial: n(12),
        created_at: Timestamp(r.get(at + 13)),
    }
}

/// The settlement order of [`ORDER_COLS`] at `at`.
fn order_from_row(r: &Row, at: usize) -> Result<SettlementOrder> {
    let row = SettlementRow {
        operator_id: r.get(at),
        seller_id: r.get(at + 1),
        channel: r.get(at + 2),
        order_code: r.get(at + 3),
        order_id: r.get(at + 4),
        hub_order_id: r.get(at + 5),
        status: r.get(at + 6),
        ordered_at: r.get(at + 7),
        invoiced_at: r.get(at + 8),
        total: r.get(at + 9),
        body: r.get(at + 10),
    };
    let key = format!("{}/{}", row.channel, row.order_code);
    finance_json::decode_settlement(row).map_err(|e| corrupt("settlement order", key, e))
}

/// The lines `inner` selects (a query yielding `id`s of `extract_lines`), each with
/// its order (if the channel has it) and the conciliation that last released on it,
/// read in `order` (over `k`, `l`).
fn views_sql(inner: &str, order: &str) -> String {
    format!(
        "SELECT {LINE_COLS}, {ORDER_COLS}, {CONCILIATION_COLS}
         FROM ({inner}) k
         JOIN extract_lines l ON l.id = k.id
         LEFT JOIN settlement_orders o ON o.seller_id = l.seller_id
              AND o.channel = l.channel AND o.order_code = l.order_code
         LEFT JOIN conciliations c ON c.id = l.conciliation_id
         ORDER BY {order}"
    )
}

fn view_from_row(r: &Row) -> Result<LineView> {
    let line = line_from_row(r, 0)?;
    // Outer joins: a missing order or conciliation is a row of NULLs.
    let order = match r.get::<_, Option<&str>>(LINE_WIDTH) {
        Some(_) => Some(order_from_row(r, LINE_WIDTH)?),
        None => None,
    };
    let at = LINE_WIDTH + ORDER_WIDTH;
    let conciliation = r
        .get::<_, Option<i64>>(at)
        .map(|_| conciliation_from_row(r, at));
    Ok(LineView {
        line,
        order,
        conciliation,
    })
}

/// A listing's rows: `SELECT {what} FROM extract_lines WHERE ...` (no order, no
/// paging). The listing predicates are written as the partial indexes state them, so
/// the planner can prove a listing is served by one.
fn listing_sql(scope: &Scope, f: &LineFilter, what: &str, p: &mut Params) -> String {
    let mut sql = format!(
        "SELECT {what} FROM extract_lines WHERE conciliation_id IS NOT NULL{}",
        scope_sql(scope, p)
    );
    if f.listing == Listing::Unresolveds {
        sql.push_str(" AND NOT resolved_in_erp");
    }
    if let Some(t) = f.from {
        sql.push_str(&format!(" AND released_date >= {}", p.push(t.0)));
    }
    if let Some(t) = f.to {
        sql.push_str(&format!(" AND released_date <= {}", p.push(t.0)));
    }
    if let Some(id) = f.conciliation_id {
        sql.push_str(&format!(" AND conciliation_id = {}", p.push(id)));
    }
    if let Some(c) = &f.channel {
        sql.push_str(&format!(" AND channel = {}", p.push(c.clone())));
    }
    if f.only_unread {
        sql.push_str(" AND NOT read");
    }
    sql
}

/// Lines to write, one array per column of [`WRITTEN`] (and the ids of updates).
#[derive(Default)]
struct LineRows<'a> {
    id: Vec<i64>,
    /// The versions the lines were read at (updates only).
    version: Vec<i64>,
    order_code: Vec<&'a str>,
    kind: Vec<&'static str>,
    plot_number: Vec<i32>,
    plots_quantity: Vec<Option<i32>>,
    plot_value: Vec<Option<i64>>,
    total_value: Vec<Option<i64>>,
    expected_value: Vec<Option<i64>>,
    expected_percent: Vec<Option<i64>>,
    expected_date: Vec<Option<i64>>,
    original_value: Vec<Option<i64>>,
    released_value: Vec<Option<i64>>,
    released_parts: Vec<i32>,
    released_percent: Vec<Option<i64>>,
    released_date: Vec<Option<i64>>,
    situation: Vec<&'static str>,
    partial: Vec<bool>,
    observation: Vec<Option<&'a str>>,
    conciliation_id: Vec<Option<i64>>,
    resolved_in_erp: Vec<bool>,
    read: Vec<bool>,
    extra: Vec<Option<&'a str>>,
    updated_at: Vec<i64>,
}

impl<'a> LineRows<'a> {
    fn push(&mut self, l: &'a ExtractLine, now: Timestamp) -> Result<()> {
        self.id.push(l.id);
        self.version.push(l.version);
        self.order_code.push(&l.key.order_code);
        self.kind.push(kind_code(l.key.kind));
        self.plot_number
            .push(int4(l.key.plot_number, "plot number")?);
        self.plots_quantity.push(match l.plots_quantity {
            Some(q) => Some(int4(q, "plots quantity")?),
            None => None,
        });
        self.plot_value.push(l.plot_value.map(|c| c.0));
        self.total_value.push(l.total_value.map(|c| c.0));
        self.expected_value.push(l.expected_value.map(|c| c.0));
        self.expected_percent.push(l.expected_percent.map(|r| r.0));
        self.expected_date.push(l.expected_date.map(|t| t.0));
        self.original_value.push(l.original_value.map(|c| c.0));
        self.released_value.push(l.released_value.map(|c| c.0));
        self.released_parts
            .push(int4(l.released_parts, "released parts")?);
        self.released_percent.push(l.released_percent.map(|r| r.0));
        self.released_date.push(l.released_date.map(|t| t.0));
        self.situation.push(situation_code(l.situation));
        self.partial.push(l.partial);
        self.observation.push(l.observation.as_deref());
        self.conciliation_id.push(l.conciliation_id);
        self.resolved_in_erp.push(l.resolved_in_erp);
        self.read.push(l.read);
        self.extra.push(l.extra.as_deref());
        self.updated_at.push(now.0);
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// [`WRITTEN`]'s arrays, in its order.
    fn columns(&self) -> [&(dyn ToSql + Sync); 22] {
        [
            &self.order_code,
            &self.kind,
            &self.plot_number,
            &self.plots_quantity,
            &self.plot_value,
            &self.total_value,
            &self.expected_value,
            &self.expected_percent,
            &self.expected_date,
            &self.original_value,
            &self.released_value,
            &self.released_parts,
            &self.released_percent,
            &self.released_date,
            &self.situation,
            &self.partial,
            &self.observation,
            &self.conciliation_id,
            &self.resolved_in_erp,
            &self.read,
            &self.extra,
            &self.updated_at,
        ]
    }
}

/// A line's key within a channel, as the insert hands it back.
type StoredKey = (String, &'static str, i32);

/// Writes `lines` in `tx`: updates in one statement (each must name a stored line by
/// its id and key, else `NotFound`), new lines in another (a key that has a line is a
/// `Conflict`). Answers the lines as stored: ids given, `updated_at` = `now`.
async fn write_lines(
    tx: &Transaction<'_>,
    o: &LineOwner<'_>,
    lines: &[LineWrite],
    now: Timestamp,
) -> Result<Vec<ExtractLine>> {
    let mut updates: Vec<&ExtractLine> = Vec::new();
    let mut news = LineRows::default();
    for w in lines {
        o.check(w)?;
        match w {
            LineWrite::Update(l) => updates.push(l),
            LineWrite::New(l) => news.push(l, now)?,
        }
    }
    // In id order: two writers touching the same lines lock them in the same order.
    updates.sort_unstable_by_key(|l| l.id);
    if let Some(w) = updates.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(StoreError::Other(format!(
            "extract line {} is written twice in one change",
            w[0].id
        )));
    }
    if !updates.is_empty() {
        let mut rows = LineRows::default();
        for l in &updates {
            rows.push(l, now)?;
        }
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&o.operator, &o.seller, &o.channel, &rows.id, &rows.version];
        params.extend(rows.columns());
        let stmt = tx.prepare_cached(&UPDATE_LINES).await.map_err(map_err)?;
        let n = tx.execute(&stmt, &params).await.map_err(map_err)?;
        if n as usize != updates.len() {
            // Some line moved since it was read (or is not stored under its id and
            // key): nothing of the change is kept, and the caller decides anew.
            return Err(StoreError::Stale);
        }
    }
    let mut ids: HashMap<StoredKey, i64> = HashMap::new();
    if !news.is_empty() {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&o.operator, &o.seller, &o.channel];
        params.extend(news.columns());
        let stmt = tx.prepare_cached(&INSERT_LINES).await.map_err(map_err)?;
        let rows = tx.query(&stmt, &params).await.map_err(line_clash)?;
        // Keys are unique within a channel, so they say which id went to which new
        // line (the order RETURNING gives rows in is not promised).
        ids.reserve(rows.len());
        for r in &rows {
            let kind = kind_from_code(r.get(2)).map_err(|e| corrupt("new line", "", e))?;
            ids.insert((r.get(1), kind_code(kind), r.get(3)), r.get(0));
        }
    }
    lines
        .iter()
        .map(|w| {
            let id = match w {
                LineWrite::Update(l) => l.id,
                LineWrite::New(l) => {
                    let key = (
                        l.key.order_code.clone(),
                        kind_code(l.key.kind),
                        int4(l.key.plot_number, "plot number")?,
                    );
                    ids.get(&key).copied().ok_or_else(|| {
                        StoreError::Other(format!("no id came back for new line {key:?}"))
                    })?
                }
            };
            Ok(w.written(id, now))
        })
        .collect()
}

impl PgStore {
    /// Inserts the events of the lines a write wrote (`written`, in `lines`' order).
    async fn insert_line_events(
        &self,
        tx: &Transaction<'_>,
        operator_id: &str,
        lines: &[LineWrite],
        written: &[ExtractLine],
        events: &[(usize, FinanceEvent)],
        now: Timestamp,
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = written.iter().map(|l| l.id).collect();
        let rows = line_events(&*self.payloads, operator_id, lines, &ids, events, now);
        insert_events(tx, &rows).await
    }
}

/// How many of `lines` are new (for [`PgStore::grew`]).
fn new_lines(lines: &[LineWrite]) -> u64 {
    lines
        .iter()
        .filter(|w| matches!(w, LineWrite::New(_)))
        .count() as u64
}

/// A new line on a key that has one, worded with the key; any other error as
/// [`map_err`].
fn line_clash(e: tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        return map_err(e);
    };
    if db.constraint() != Some("extract_lines_key") {
        return map_err(e);
    }
    // `Key (seller_id, channel, order_code, kind, plot_number)=(S, M, A-1, SALE, 1)`.
    match db
        .detail()
        .and_then(|d| crate::catalog::clashing_value(d, 2))
    {
        Some(key) => StoreError::Conflict(format!(
            "a line already exists for order, type and installment ({key})"
        )),
        None => StoreError::Conflict("a line already exists for the key".into()),
    }
}

/// An order's lines by type (the domain's order: SALE, COMISSION, SHIP), then
/// installment.
fn sort_lines(lines: &mut [ExtractLine]) {
    lines.sort_by_key(|l| (l.key.kind, l.key.plot_number));
}

/// Sets `column` (a flag of the ERP's) on the scope's lines among `ids`. A line marked
/// before is reported applied and not written again (its `updated_at` stays): the
/// second part of the statement reads the snapshot the update started from.
async fn mark(
    store: &PgStore,
    scope: &Scope,
    column: &str,
    ids: &[i64],
    now: Timestamp,
) -> Result<Marked> {
    let mut wanted: Vec<i64> = Vec::with_capacity(ids.len());
    for id in ids {
        if !wanted.contains(id) {
            wanted.push(*id);
        }
    }
    if wanted.is_empty() {
        return Ok(Marked::default());
    }
    let mut p = Params::default();
    let scope_cond = scope_sql(scope, &mut p);
    let ids_param = p.push(wanted.clone());
    let now_param = p.push(now.0);
    let sql = format!(
        "WITH marked AS (
           UPDATE extract_lines SET {column} = true, updated_at = {now_param},
             version = version + 1
           WHERE id = ANY({ids_param}){scope_cond} AND NOT {column} RETURNING id
         )
         SELECT id FROM marked
         UNION ALL
         SELECT id FROM extract_lines WHERE id = ANY({ids_param}){scope_cond} AND {column}"
    );
    let c = store.conn().await?;
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let rows = c.query(&stmt, &p.refs()).await.map_err(map_err)?;
    let done: std::collections::HashSet<i64> = rows.iter().map(|r| r.get(0)).collect();
    let (applied, unknown) = wanted.into_iter().partition(|id| done.contains(id));
    Ok(Marked { applied, unknown })
}

#[async_trait]
impl FinanceStore for PgStore {
    async fn get_channel_terms(
        &self,
        scope: &Scope,
        channel: &str,
    ) -> Result<Option<ChannelTerms>> {
        let seller = scope_seller(scope, "channel terms")?;
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(
                "SELECT terms FROM channel_terms
                 WHERE seller_id = $1 AND channel = $2 AND operator_id = $3",
            )
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&seller, &channel, &scope.operator_id])
            .await
            .map_err(map_err)?;
        row.map(|r| {
            finance_json::decode_terms(channel, r.get(0))
                .map_err(|e| corrupt("channel terms", channel, e))
        })
        .transpose()
    }

    async fn put_channel_terms(
        &self,
        scope: &Scope,
        terms: &ChannelTerms,
        now: Timestamp,
    ) -> Result<()> {
        let seller = scope_seller(scope, "channel terms")?;
        let body = finance_json::encode_terms(terms);
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO channel_terms (operator_id, seller_id, channel, terms, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (seller_id, channel)
                 DO UPDATE SET terms = excluded.terms, updated_at = excluded.updated_at",
            )
            .await
            .map_err(map_err)?;
        c.execute(
            &stmt,
            &[&scope.operator_id, &seller, &terms.channel, &body, &now.0],
        )
        .await
        .map_err(finance_err)?;
        Ok(())
    }

    async fn list_channels(&self, scope: &Scope) -> Result<Vec<String>> {
        let c = self.conn().await?;
        let rows = match &scope.seller_id {
            // The distinct channels of the seller's lines and orders are walked along
            // their keys' indexes, one descent per channel, never row by row.
            Some(seller) => {
                let stmt = c
                    .prepare_cached(
                        "WITH RECURSIVE me AS (
                           SELECT id FROM sellers WHERE id = $2 AND operator_id = $1
                         ), l(c) AS (
                           (SELECT channel FROM extract_lines
                            WHERE seller_id = (SELECT id FROM me) ORDER BY channel LIMIT 1)
                           UNION ALL
                           SELECT (SELECT channel FROM extract_lines
                                   WHERE seller_id = (SELECT id FROM me) AND channel > l.c
                                   ORDER BY channel LIMIT 1)
                           FROM l WHERE l.c IS NOT NULL
                         ), o(c) AS (
                           (SELECT channel FROM settlement_orders
                            WHERE seller_id = (SELECT id FROM me) ORDER BY channel LIMIT 1)
                           UNION ALL
                           SELECT (SELECT channel FROM settlement_orders
                                   WHERE seller_id = (SELECT id FROM me) AND channel > o.c
                                   ORDER BY channel LIMIT 1)
                           FROM o WHERE o.c IS NOT NULL
                         )
                         SELECT c FROM l WHERE c IS NOT NULL
                         UNION SELECT c FROM o WHERE c IS NOT NULL
                         UNION SELECT channel FROM channel_terms
                               WHERE seller_id = (SELECT id FROM me)
                         ORDER BY 1",
                    )
                    .await
                    .map_err(map_err)?;
                c.query(&stmt, &[&scope.operator_id, seller])
                    .await
                    .map_err(map_err)?
            }
            None => {
                let stmt = c
                    .prepare_cached(
                        "SELECT channel FROM extract_lines WHERE operator_id = $1
                         UNION SELECT channel FROM settlement_orders WHERE operator_id = $1
                         UNION SELECT channel FROM channel_terms WHERE operator_id = $1
                         ORDER BY 1",
                    )
                    .await
                    .map_err(map_err)?;
                c.query(&stmt, &[&scope.operator_id])
                    .await
                    .map_err(map_err)?
            }
        };
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn get_settlement(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
    ) -> Result<Option<(SettlementOrder, Vec<ExtractLine>)>> {
        let seller = scope_seller(scope, "a settlement order")?;
        let c = self.conn().await?;
        // The order with its lines in one statement (one snapshot, one round trip):
        // a row per line, the order's columns repeated on each.
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {LINE_COLS}, {ORDER_COLS} FROM settlement_orders o
                 LEFT JOIN extract_lines l ON l.seller_id = o.seller_id
                      AND l.channel = o.channel AND l.order_code = o.order_code
                 WHERE o.seller_id = $1 AND o.channel = $2 AND o.order_code = $3
                   AND o.operator_id = $4"
            ))
            .await
            .map_err(map_err)?;
        let rows = c
            .query(&stmt, &[&seller, &channel, &order_code, &scope.operator_id])
            .await
            .map_err(map_err)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let order = order_from_row(first, LINE_WIDTH)?;
        let mut lines = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.get::<_, Option<i64>>(0).is_some() {
                lines.push(line_from_row(r, 0)?);
            }
        }
        sort_lines(&mut lines);
        Ok(Some((order, lines)))
    }

    async fn save_settlement(
        &self,
        scope: &Scope,
        s: &OrderSettlement,
        now: Timestamp,
    ) -> Result<Vec<ExtractLine>> {
        let order = &s.order;
        if order.operator_id != scope.operator_id {
            return Err(StoreError::NotFound);
        }
        let seller = owned_seller(scope, &order.seller_id)?;
        let row = finance_json::encode_settlement(order);
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO settlement_orders (operator_id, seller_id, channel, order_code,
                   order_id, hub_order_id, status, ordered_at, invoiced_at, total, body,
                   created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                 ON CONFLICT (seller_id, channel, order_code) DO UPDATE SET
                   order_id = excluded.order_id, hub_order_id = excluded.hub_order_id,
                   status = excluded.status, ordered_at = excluded.ordered_at,
                   invoiced_at = excluded.invoiced_at, total = excluded.total,
                   body = excluded.body, updated_at = excluded.updated_at",
            )
            .await
            .map_err(map_err)?;
        tx.execute(
            &stmt,
            &[
                &row.operator_id,
                &seller,
                &row.channel,
                &row.order_code,
                &row.order_id,
                &row.hub_order_id,
                &row.status,
                &row.ordered_at,
                &row.invoiced_at,
                &row.total,
                &row.body,
                &now.0,
            ],
        )
        .await
        .map_err(finance_err)?;
        let owner = LineOwner {
            operator: &order.operator_id,
            seller,
            channel: &order.channel,
            order_code: Some(&order.order_code),
        };
        let written = write_lines(&tx, &owner, &s.lines, now).await?;
        self.insert_line_events(&tx, &scope.operator_id, &s.lines, &written, &s.events, now)
            .await?;
        tx.commit().await.map_err(map_err)?;
        self.grew(&self.lines_grown, new_lines(&s.lines), "extract_lines");
        if !s.events.is_empty() {
            self.wrote_events();
        }
        Ok(written)
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
        let seller = scope_seller(scope, "a settlement order")?;
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let stmt = tx
            .prepare_cached(
                "DELETE FROM settlement_orders
                 WHERE seller_id = $1 AND channel = $2 AND order_code = $3 AND operator_id = $4",
            )
            .await
            .map_err(map_err)?;
        let n = tx
            .execute(&stmt, &[&seller, &channel, &order_code, &scope.operator_id])
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        // The lines handed back stay (rewritten below), whatever they hold.
        let kept: Vec<i64> = lines
            .iter()
            .filter_map(|w| match w {
                LineWrite::Update(l) => Some(l.id),
                LineWrite::New(_) => None,
            })
            .collect();
        let stmt = tx
            .prepare_cached(
                "DELETE FROM extract_lines
                 WHERE seller_id = $1 AND channel = $2 AND order_code = $3 AND operator_id = $4
                   AND released_parts = 0 AND NOT (id = ANY($5))",
            )
            .await
            .map_err(map_err)?;
        tx.execute(
            &stmt,
            &[&seller, &channel, &order_code, &scope.operator_id, &kept],
        )
        .await
        .map_err(map_err)?;
        let owner = LineOwner {
            operator: &scope.operator_id,
            seller,
            channel,
            order_code: Some(order_code),
        };
        let written = write_lines(&tx, &owner, lines, now).await?;
        self.insert_line_events(&tx, &scope.operator_id, lines, &written, events, now)
            .await?;
        tx.commit().await.map_err(map_err)?;
        if !events.is_empty() {
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
        let seller = scope_seller(scope, "a line lookup")?;
        let mut keys: Vec<&LineKey> = keys.iter().collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let codes: Vec<&str> = keys.iter().map(|k| k.order_code.as_str()).collect();
        let kinds: Vec<&str> = keys.iter().map(|k| kind_code(k.kind)).collect();
        let plots = keys
            .iter()
            .map(|k| int4(k.plot_number, "plot number"))
            .collect::<Result<Vec<i32>>>()?;
        let c = self.conn().await?;
        let stmt = c.prepare_cached(&LINES_FOR_KEYS).await.map_err(map_err)?;
        let rows = c
            .query(
                &stmt,
                &[
                    &seller,
                    &channel,
                    &codes,
                    &kinds,
                    &plots,
                    &scope.operator_id,
                ],
            )
            .await
            .map_err(map_err)?;
        rows.iter().map(|r| line_from_row(r, 0)).collect()
    }

    async fn settlements_for_codes(
        &self,
        scope: &Scope,
        channel: &str,
        codes: &[String],
    ) -> Result<Vec<SettlementOrder>> {
        let seller = scope_seller(scope, "a settlement lookup")?;
        let mut codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {ORDER_COLS} FROM settlement_orders o
                 WHERE o.seller_id = $1 AND o.channel = $2 AND o.order_code = ANY($3)
                   AND o.operator_id = $4"
            ))
            .await
            .map_err(map_err)?;
        let rows = c
            .query(&stmt, &[&seller, &channel, &codes, &scope.operator_id])
            .await
            .map_err(map_err)?;
        rows.iter().map(|r| order_from_row(r, 0)).collect()
    }

    /// A new conciliation starts at cursor 0 with no counts, whatever it is handed. Its
    /// period is refused when it meets any other of the channel's, closed or still
    /// loading: a load in progress has applied rows a second statement of the same
    /// days would apply again, and two nodes beginning at once must not both begin.
    async fn begin_conciliation(&self, scope: &Scope, c: &Conciliation) -> Result<Begun> {
        let seller = owned_seller(scope, &c.seller_id)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(map_err)?;
        // Until this transaction ends no other node checks or records a period of
        // this channel; each statement after it sees what the one before committed.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&BEGIN_LOCK, &format!("{seller}\u{1f}{}", c.channel)],
        )
        .await
        .map_err(map_err)?;
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT {CONCILIATION_COLS} FROM conciliations c
                 WHERE c.seller_id = $1 AND c.channel = $2 AND c.digest = $3
                   AND c.operator_id = $4"
            ))
            .await
            .map_err(map_err)?;
        if let Some(r) = tx
            .query_opt(&stmt, &[&seller, &c.channel, &c.digest, &scope.operator_id])
            .await
            .map_err(map_err)?
        {
            tx.commit().await.map_err(map_err)?;
            return Ok(Begun::Existing(conciliation_from_row(&r, 0)));
        }
        let stmt = tx
            .prepare_cached(&format!(
                "SELECT {CONCILIATION_COLS} FROM conciliations c
                 WHERE c.seller_id = $1 AND c.channel = $2 AND c.operator_id = $3
                   AND c.init_date <= $4 AND c.end_date >= $5
                 ORDER BY c.id LIMIT 1"
            ))
            .await
            .map_err(map_err)?;
        if let Some(r) = tx
            .query_opt(
                &stmt,
                &[
                    &seller,
                    &c.channel,
                    &scope.operator_id,
                    &c.end_date.0,
                    &c.init_date.0,
                ],
            )
            .await
            .map_err(map_err)?
        {
            tx.commit().await.map_err(map_err)?;
            return Ok(Begun::Overlaps(conciliation_from_row(&r, 0)));
        }
        let stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO conciliations AS c (operator_id, seller_id, channel, digest,
                   init_date, end_date, close_date, rows, refused, cursor, concilied,
                   divergent, partial, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, 0, 0, 0, 0, $9)
                 RETURNING {CONCILIATION_COLS}"
            ))
            .await
            .map_err(map_err)?;
        let r = tx
            .query_one(
                &stmt,
                &[
                    &scope.operator_id,
                    &seller,
                    &c.channel,
                    &c.digest,
                    &c.init_date.0,
                    &c.end_date.0,
                    &int8(c.rows, "rows")?,
                    &int8(c.refused, "refused rows")?,
                    &c.created_at.0,
                ],
            )
            .await
            .map_err(finance_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Begun::New(conciliation_from_row(&r, 0)))
    }

    async fn apply_conciliation_step(&self, scope: &Scope, step: &ConciliationStep) -> Result<()> {
        let from = int8(step.from_row, "step start")?;
        let to = int8(step.to_row, "step end")?;
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // The cursor moves first: the row's lock holds off a second node on the same
        // step until this one commits or rolls back, and then its guard fails.
        let stmt = tx
            .prepare_cached(
                "UPDATE conciliations SET cursor = $3
                 WHERE id = $1 AND cursor = $2 AND close_date IS NULL
                   AND operator_id = $4 AND ($5::text IS NULL OR seller_id = $5)
                 RETURNING seller_id, channel",
            )
            .await
            .map_err(map_err)?;
        let moved = tx
            .query_opt(
                &stmt,
                &[
                    &step.conciliation_id,
                    &from,
                    &to,
                    &scope.operator_id,
                    &scope.seller_id,
                ],
            )
            .await
            .map_err(map_err)?;
        let Some(row) = moved else {
            let stmt = tx
                .prepare_cached(
                    "SELECT 1 FROM conciliations
                     WHERE id = $1 AND operator_id = $2 AND ($3::text IS NULL OR seller_id = $3)",
                )
                .await
                .map_err(map_err)?;
            let exists = tx
                .query_opt(
                    &stmt,
                    &[&step.conciliation_id, &scope.operator_id, &scope.seller_id],
                )
                .await
                .map_err(map_err)?;
            return Err(if exists.is_some() {
                StoreError::Stale
            } else {
                StoreError::NotFound
            });
        };
        let (seller, channel): (String, String) = (row.get(0), row.get(1));
        let owner = LineOwner {
            operator: &scope.operator_id,
            seller: &seller,
            channel: &channel,
            order_code: None,
        };
        let written = write_lines(&tx, &owner, &step.lines, step.now).await?;
        let op = &scope.operator_id;
        self.insert_line_events(&tx, op, &step.lines, &written, &step.events, step.now)
            .await?;
        tx.commit().await.map_err(map_err)?;
        self.grew(&self.lines_grown, new_lines(&step.lines), "extract_lines");
        if !step.events.is_empty() {
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
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // Counted along the seller's released lines (the listing index carries the
        // conciliation). A closed one keeps its first close (and counts): closing
        // again answers it.
        let stmt = tx
            .prepare_cached(&format!(
                "WITH n AS (
                   SELECT count(*) FILTER (WHERE situation = $5) AS concilied,
                          count(*) FILTER (WHERE situation = $6) AS divergent,
                          count(*) FILTER (WHERE partial) AS partial
                   FROM extract_lines
                   WHERE conciliation_id IS NOT NULL AND conciliation_id = $1
                     AND seller_id = (SELECT seller_id FROM conciliations WHERE id = $1)
                 )
                 UPDATE conciliations c SET concilied = n.concilied, divergent = n.divergent,
                   partial = n.partial, close_date = $4
                 FROM n
                 WHERE c.id = $1 AND c.operator_id = $2 AND ($3::text IS NULL OR c.seller_id = $3)
                   AND c.close_date IS NULL
                 RETURNING {CONCILIATION_COLS}"
            ))
            .await
            .map_err(map_err)?;
        let closed = tx
            .query_opt(
                &stmt,
                &[
                    &id,
                    &scope.operator_id,
                    &scope.seller_id,
                    &now.0,
                    &situation_code(Situation::Concilied),
                    &situation_code(Situation::Divergent),
                ],
            )
            .await
            .map_err(map_err)?;
        let Some(r) = closed else {
            drop(tx);
            return self.get_conciliation(scope, id).await;
        };
        let conc = conciliation_from_row(&r, 0);
        let rows = conciliation_events(&*self.payloads, events, &scope.operator_id, &conc, now);
        insert_events(&tx, &rows).await?;
        tx.commit().await.map_err(map_err)?;
        if !rows.is_empty() {
            self.wrote_events();
        }
        Ok(conc)
    }

    async fn get_conciliation(&self, scope: &Scope, id: i64) -> Result<Conciliation> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {CONCILIATION_COLS} FROM conciliations c
                 WHERE c.id = $1 AND c.operator_id = $2 AND ($3::text IS NULL OR c.seller_id = $3)"
            ))
            .await
            .map_err(map_err)?;
        let r = c
            .query_opt(&stmt, &[&id, &scope.operator_id, &scope.seller_id])
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        Ok(conciliation_from_row(&r, 0))
    }

    async fn list_conciliations(
        &self,
        scope: &Scope,
        channel: Option<&str>,
    ) -> Result<Vec<Conciliation>> {
        let mut p = Params::default();
        let mut sql = format!(
            "SELECT {CONCILIATION_COLS} FROM conciliations c WHERE TRUE{}",
            p.scope(scope, "c.")
        );
        if let Some(ch) = channel {
            sql.push_str(&format!(" AND c.channel = {}", p.push(ch.to_string())));
        }
        sql.push_str(" ORDER BY c.id DESC");
        let c = self.conn().await?;
        let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
        let rows = c.query(&stmt, &p.refs()).await.map_err(map_err)?;
        Ok(rows.iter().map(|r| conciliation_from_row(r, 0)).collect())
    }

    async fn get_line(&self, scope: &Scope, id: i64) -> Result<LineView> {
        let mut p = Params::default();
        let inner = format!(
            "SELECT id FROM extract_lines WHERE TRUE{} AND id = {}",
            scope_sql(scope, &mut p),
            p.push(id)
        );
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&views_sql(&inner, "l.id"))
            .await
            .map_err(map_err)?;
        let r = c
            .query_opt(&stmt, &p.refs())
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        view_from_row(&r)
    }

    async fn order_lines(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
        kind: Option<ExtractType>,
    ) -> Result<Vec<LineView>> {
        let seller = scope_seller(scope, "an order's lines")?;
        let mut p = Params::default();
        let mut inner = format!(
            "SELECT id FROM extract_lines WHERE operator_id = {} AND seller_id = {}
               AND channel = {} AND order_code = {}",
            p.push(scope.operator_id.clone()),
            p.push(seller.to_string()),
            p.push(channel.to_string()),
            p.push(order_code.to_string())
        );
        if let Some(k) = kind {
            inner.push_str(&format!(" AND kind = {}", p.push(kind_code(k))));
        }
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&views_sql(&inner, "l.id"))
            .await
            .map_err(map_err)?;
        let rows = c.query(&stmt, &p.refs()).await.map_err(map_err)?;
        let mut views = rows.iter().map(view_from_row).collect::<Result<Vec<_>>>()?;
        views.sort_by_key(|v| (v.line.key.kind, v.line.key.plot_number));
        Ok(views)
    }

    async fn list_lines(&self, scope: &Scope, filter: &LineFilter) -> Result<Vec<LineView>> {
        let mut p = Params::default();
        let ids = listing_sql(scope, filter, "id", &mut p);
        let limit = p.push(i64::from(filter.limit));
        let offset = p.push(i64::try_from(filter.offset).unwrap_or(i64::MAX));
        let inner = format!("{ids} ORDER BY id LIMIT {limit} OFFSET {offset}");
        let c = self.conn().await?;
        // Planned with the values (an unnamed statement): a day's release dates and a
        // year's are served by different indexes.
        let rows = c
            .query(&views_sql(&inner, "k.id"), &p.refs())
            .await
            .map_err(map_err)?;
        rows.iter().map(view_from_row).collect()
    }

    async fn count_lines(&self, scope: &Scope, filter: &LineFilter) -> Result<u64> {
        let mut p = Params::default();
        let sql = listing_sql(scope, filter, "COUNT(*)", &mut p);
        let c = self.conn().await?;
        let r = c.query_one(&sql, &p.refs()).await.map_err(map_err)?;
        Ok(count(r.get(0)))
    }

    async fn resolve_lines(&self, scope: &Scope, ids: &[i64], now: Timestamp) -> Result<Marked> {
        mark(self, scope, "resolved_in_erp", ids, now).await
    }

    async fn mark_lines_read(&self, scope: &Scope, ids: &[i64], now: Timestamp) -> Result<Marked> {
        mark(self, scope, "read", ids, now).await
    }

    async fn month_summaries(
        &self,
        scope: &Scope,
        channel: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<MonthSummary>> {
        let mut p = Params::default();
        let scope_cond = scope_sql(scope, &mut p);
        let from = p.push(format!("{from}-01"));
        let to = p.push(format!("{to}-01"));
        let commission = p.push(kind_code(ExtractType::Comission));
        let divergent = p.push(situation_code(Situation::Divergent));
        // The month of whole seconds: a double (what `to_timestamp` takes) cannot hold
        // today's epoch in microseconds, and the last one of a month would round into
        // the next.
        let mut sql = format!(
            "SELECT channel, to_char(to_timestamp(floor(counted_at / 1000000.0)) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
               COALESCE(SUM(expected_value) FILTER (WHERE kind <> {commission}), 0)::int8,
               COALESCE(SUM(released_value) FILTER (WHERE kind <> {commission}), 0)::int8,
               COALESCE(SUM(expected_value) FILTER (WHERE kind = {commission}), 0)::int8,
               COALESCE(SUM(released_value) FILTER (WHERE kind = {commission}), 0)::int8,
               count(*) FILTER (WHERE situation = {divergent}),
               COALESCE(SUM(abs(COALESCE(released_value, 0) - COALESCE(expected_value, 0)))
                 FILTER (WHERE situation = {divergent}), 0)::int8
             FROM (SELECT channel, kind, situation, expected_value, released_value,
                     COALESCE(expected_date, released_date) AS counted_at
                   FROM extract_lines
                   WHERE TRUE{scope_cond}
                     AND COALESCE(expected_date, released_date)
                         >= (EXTRACT(EPOCH FROM {from}::text::timestamp) * 1000000)::int8
                     AND COALESCE(expected_date, released_date)
                         < (EXTRACT(EPOCH FROM {to}::text::timestamp + interval '1 month') * 1000000)::int8"
        );
        if let Some(ch) = channel {
            sql.push_str(&format!(" AND channel = {}", p.push(ch.to_string())));
        }
        sql.push_str(") x GROUP BY 1, 2 ORDER BY 1, 2");
        let c = self.conn().await?;
        let rows = c.query(&sql, &p.refs()).await.map_err(map_err)?;
        Ok(rows
            .iter()
            .map(|r| MonthSummary {
                channel: r.get(0),
                month: r.get(1),
                expected: Cents(r.get(2)),
                released: Cents(r.get(3)),
                commission_expected: Cents(r.get(4)),
                commission_released: Cents(r.get(5)),
                divergent_count: count(r.get(6)),
                divergent_amount: Cents(r.get(7)),
            })
            .collect())
    }
}

/// The plans of what a million-row statement and a listing page run, on enough lines
/// (vacuumed and analyzed, as autovacuum leaves a table) for the planner to choose as
/// it will in production: key lookups and step updates by index, never a scan of the
/// table; listing counts and offsets from the listing indexes alone.
#[cfg(test)]
mod plan_tests {
    use entreposto_store::fixtures::world;

    use super::*;
    use crate::fresh_schema_url;

    /// Lines per seller: a third waiting, the rest released, half of those resolved.
    const LINES: i64 = 60_000;

    pub(super) fn filter(listing: Listing) -> LineFilter {
        LineFilter {
            listing,
            from: None,
            to: None,
            conciliation_id: None,
            channel: None,
            only_unread: false,
            offset: 0,
            limit: 100,
        }
    }

    async fn explain(
        c: &deadpool_postgres::Object,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> String {
        let rows = c
            .query(&format!("EXPLAIN {sql}"), p)
            .await
            .expect("explain");
        let plan: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
        plan.join("\n")
    }

    /// The plan of a listing's count.
    async fn count_plan(c: &deadpool_postgres::Object, scope: &Scope, f: &LineFilter) -> String {
        let mut p = Params::default();
        let sql = listing_sql(scope, f, "COUNT(*)", &mut p);
        explain(c, &sql, &p.refs()).await
    }

    #[tokio::test]
    async fn steps_and_listings_run_on_their_indexes() {
        let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
            eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
            return;
        };
        let url = fresh_schema_url(&url).await.expect("schema");
        let store = PgStore::connect(&url, 2).await.expect("connect");
        let w = world(&store).await;
        let c = store.conn().await.unwrap();
        for seller in [&w.seller_a, &w.seller_b] {
            c.execute(
                "INSERT INTO extract_lines (operator_id, seller_id, channel, order_code, kind,
                   plot_number, plots_quantity, plot_value, total_value, expected_value,
                   expected_date, original_value, released_value, released_parts,
                   released_date, situation, partial, conciliation_id, resolved_in_erp, read,
                   updated_at)
                 SELECT $1, $2, 'Magalu', 'O-' || (n / 3),
                   (ARRAY['SALE', 'COMISSION', 'SHIP'])[n % 3 + 1], 1, 1, 1000, 1000, 1000,
                   $4 + n, 1000,
                   CASE WHEN n % 3 <> 0 THEN 1000 END, CASE WHEN n % 3 <> 0 THEN 1 ELSE 0 END,
                   CASE WHEN n % 3 <> 0 THEN $4 + n * 1000000 END,
                   CASE WHEN n % 3 <> 0 THEN 'CONCILIED' ELSE 'WAITING' END, false,
                   CASE WHEN n % 3 <> 0 THEN 1 + n / 20000 END, n % 2 = 0, false, $4
                 FROM generate_series(0, $3::int8 - 1) n",
                &[
                    &w.operator.id,
                    &seller.id,
                    &LINES,
                    &1_700_000_000_000_000i64,
                ],
            )
            .await
            .unwrap();
        }
        c.batch_execute("VACUUM ANALYZE extract_lines")
            .await
            .unwrap();
        // Index-only plans need the visibility map, which VACUUM sets only for rows no
        // open transaction may still miss: with other tests running on the database it
        // may be left unset, and then the plans that rest on it are not asserted.
        let visible: f64 = c
            .query_one(
                "SELECT relallvisible::float8 / greatest(relpages, 1) FROM pg_class
                 WHERE oid = 'extract_lines'::regclass",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let visible = visible > 0.95;
        if !visible {
            eprintln!("the visibility map is not set (a concurrent transaction): index-only plans not asserted");
        }
        let scope = Scope::seller(&w.operator.id, &w.seller_a.id);

        // A step's lookup of 5,000 keys.
        let codes: Vec<String> = (0..5_000).map(|n| format!("O-{}", n * 3)).collect();
        let kinds: Vec<&str> = (0..5_000).map(|_| "SALE").collect();
        let plots: Vec<i32> = vec![1; 5_000];
        let plan = explain(
            &c,
            &LINES_FOR_KEYS,
            &[
                &w.seller_a.id,
                &"Magalu",
                &codes,
                &kinds,
                &plots,
                &w.operator.id,
            ],
        )
        .await;
        assert!(
            plan.contains("Index Scan using extract_lines_key"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{plan}");

        // A step's update, at a step's share of the table (5,000 of a million and a
        // half lines: 200 of these 60,000; the planner hashes a larger share against
        // a scan, as it should).
        let lines: Vec<ExtractLine> = store
            .lines_for_keys(
                &scope,
                "Magalu",
                &codes
                    .iter()
                    .map(|code| LineKey {
                        order_code: code.clone(),
                        kind: ExtractType::Sale,
                        plot_number: 1,
                    })
                    .collect::<Vec<_>>(),
            )
            .await
            .unwrap();
        assert_eq!(lines.len(), 5_000);
        let mut rows = LineRows::default();
        for l in &lines[..200] {
            rows.push(l, Timestamp(0)).unwrap();
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &w.operator.id,
            &w.seller_a.id,
            &"Magalu",
            &rows.id,
            &rows.version,
        ];
        params.extend(rows.columns());
        let plan = explain(&c, &UPDATE_LINES, &params).await;
        assert!(
            plan.contains("Index Scan using extract_lines_pkey"),
            "{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{plan}");

        // Listing counts and a page deep in the listing, for each listing.
        for listing in [Listing::Concilieds, Listing::Unresolveds] {
            let index = match listing {
                Listing::Concilieds => "extract_lines_concilieds",
                Listing::Unresolveds => "extract_lines_unresolveds",
            };
            let f = LineFilter {
                channel: Some("Magalu".into()),
                only_unread: true,
                offset: 20_000,
                ..filter(listing)
            };
            let plan = count_plan(&c, &scope, &f).await;
            if visible {
                // (A count of `concilieds` may as well read the release date index,
                // which holds the same entries.)
                assert!(
                    plan.contains("Index Only Scan using extract_lines_"),
                    "{plan}"
                );
                assert!(!plan.contains("Seq Scan"), "{plan}");
                if listing == Listing::Unresolveds {
                    assert!(
                        plan.contains(&format!("Index Only Scan using {index}")),
                        "{plan}"
                    );
                }
            }
            let mut p = Params::default();
            let ids = listing_sql(&scope, &f, "id", &mut p);
            let sql = format!("{ids} ORDER BY id LIMIT 100 OFFSET 20000");
            let plan = explain(&c, &views_sql(&sql, "k.id"), &p.refs()).await;
            // Which of the listing indexes walks it is the planner's choice (it moved
            // with the statistics another test's rows left); that one does, in id
            // order, is the point. Its walk is index-only: without the visibility
            // map (a concurrent transaction kept VACUUM from setting it) a scan and a
            // sort cost less, rightly, so the plan is asserted only with the map.
            let _ = index;
            if visible {
                assert!(plan.contains("using extract_lines_"), "{plan}");
                assert!(!plan.contains("Seq Scan on extract_lines"), "{plan}");
                assert!(!plan.contains("Sort"), "the index gives id order: {plan}");
            }
        }

        // A conciliation's lines, counted when it closes.
        let f = LineFilter {
            conciliation_id: Some(2),
            ..filter(Listing::Concilieds)
        };
        let plan = count_plan(&c, &scope, &f).await;
        if visible {
            assert!(
                plan.contains("Index Only Scan using extract_lines_"),
                "{plan}"
            );
            assert!(!plan.contains("Seq Scan"), "{plan}");
        }
        // A day of releases.
        let day = LineFilter {
            from: Some(Timestamp(1_700_000_000_000_000 + 3_000_000_000)),
            to: Some(Timestamp(1_700_000_000_000_000 + 3_500_000_000)),
            ..filter(Listing::Concilieds)
        };
        let plan = count_plan(&c, &scope, &day).await;
        assert!(plan.contains("Scan using extract_lines_released"), "{plan}");
        let n = store.count_lines(&scope, &day).await.unwrap();
        // Released lines (n % 3 != 0) with n in [3000, 3500].
        assert_eq!(n, (3_000..=3_500).filter(|n| n % 3 != 0).count() as u64);
    }
}

/// A statement at scale, run by hand and read: a million rows applied in steps of
/// 5,000 (the application's `STEP_ROWS`) against a million and a half lines, each
/// step one key lookup and one step write, as the load use case calls them.
/// `cargo nextest run -p entreposto-store-postgres --run-ignored ignored-only
/// --no-capture statement_at_scale`; `ENTREPOSTO_SCALE_LINES` and
/// `ENTREPOSTO_SCALE_ROWS` change the sizes.
#[cfg(test)]
mod scale_tests {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use entreposto_store::fixtures::world;

    use super::*;
    use crate::fresh_schema_url;

    fn size(var: &str, default: i64) -> i64 {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a million-row statement: run by hand"]
    async fn statement_at_scale() {
        let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
            eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
            return;
        };
        let lines = size("ENTREPOSTO_SCALE_LINES", 1_500_000);
        let rows = size("ENTREPOSTO_SCALE_ROWS", 1_000_000);
        let url = fresh_schema_url(&url).await.expect("schema");
        let store = PgStore::connect(&url, 4).await.expect("connect");
        let w = world(&store).await;
        let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
        let t0 = 1_700_000_000_000_000i64;
        let started = Instant::now();
        {
            let c = store.conn().await.unwrap();
            // Line n: order O-(n / 3), its SALE, COMISSION or SHIP, waiting.
            c.execute(
                "INSERT INTO extract_lines (operator_id, seller_id, channel, order_code, kind,
                   plot_number, plots_quantity, plot_value, total_value, expected_value,
                   expected_date, original_value, released_parts, situation, partial,
                   resolved_in_erp, read, updated_at)
                 SELECT $1, $2, 'Magalu', 'O-' || (n / 3),
                   (ARRAY['SALE', 'COMISSION', 'SHIP'])[n % 3 + 1], 1, 1, 1000, 1000, 1000,
                   $4 + n, 1000, 0, 'WAITING', false, false, false, $4
                 FROM generate_series(0, $3::int8 - 1) n",
                &[&w.operator.id, &w.seller_a.id, &lines, &t0],
            )
            .await
            .unwrap();
            c.batch_execute("VACUUM ANALYZE extract_lines")
                .await
                .unwrap();
        }
        println!("{lines} lines loaded in {:?}", started.elapsed());

        let kinds = [ExtractType::Sale, ExtractType::Comission, ExtractType::Ship];
        // Row r releases line r (a twentieth of the rows name unknown orders).
        let key = |r: i64| LineKey {
            order_code: if r % 20 == 19 {
                format!("X-{r}")
            } else {
                format!("O-{}", r / 3)
            },
            kind: kinds[(r % 3) as usize],
            plot_number: 1,
        };
        let c = match store
            .begin_conciliation(
                &scope,
                &Conciliation {
                    id: 0,
                    seller_id: w.seller_a.id.clone(),
                    channel: "Magalu".into(),
                    digest: "scale".into(),
                    init_date: Timestamp(t0),
                    end_date: Timestamp(t0 + 1),
                    close_date: None,
                    rows: rows as u64,
                    refused: 0,
                    cursor: 0,
                    concilied: 0,
                    divergent: 0,
                    partial: 0,
                    created_at: Timestamp(t0),
                },
            )
            .await
            .unwrap()
        {
            Begun::New(c) => c,
            other => panic!("{other:?}"),
        };
        let (mut reading, mut writing) = (Duration::ZERO, Duration::ZERO);
        let started = Instant::now();
        let mut from = 0i64;
        while from < rows {
            let to = (from + 5_000).min(rows);
            let keys: Vec<LineKey> = (from..to).map(key).collect();
            let t = Instant::now();
            let found: HashMap<LineKey, ExtractLine> = store
                .lines_for_keys(&scope, "Magalu", &keys)
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.key.clone(), l))
                .collect();
            reading += t.elapsed();
            let writes = keys
                .into_iter()
                .map(|k| {
                    let mut line = match found.get(&k) {
                        Some(l) => l.clone(),
                        None => ExtractLine {
                            id: 0,
                            seller_id: w.seller_a.id.clone(),
                            channel: "Magalu".into(),
                            key: k.clone(),
                            plots_quantity: None,
                            plot_value: None,
                            total_value: None,
                            expected_value: None,
                            expected_percent: None,
                            expected_date: None,
                            original_value: None,
                            released_value: None,
                            released_parts: 0,
                            released_percent: None,
                            released_date: None,
                            situation: Situation::Waiting,
                            partial: false,
                            observation: None,
                            conciliation_id: None,
                            resolved_in_erp: false,
                            read: false,
                            extra: None,
                            updated_at: Timestamp(t0),
                            version: 0,
                        },
                    };
                    line.released_value = Some(Cents(1000));
                    line.released_parts += 1;
                    line.released_date = Some(Timestamp(t0));
                    line.conciliation_id = Some(c.id);
                    line.situation = if line.expected_value.is_some() {
                        Situation::Concilied
                    } else {
                        Situation::Divergent
                    };
                    line.observation = Some("OK".into());
                    if line.id == 0 {
                        LineWrite::New(line)
                    } else {
                        LineWrite::Update(line)
                    }
                })
                .collect();
            let t = Instant::now();
            store
                .apply_conciliation_step(
                    &scope,
                    &ConciliationStep {
                        events: Vec::new(),
                        conciliation_id: c.id,
                        from_row: from as u64,
                        to_row: to as u64,
                        lines: writes,
                        now: Timestamp(t0),
                    },
                )
                .await
                .unwrap();
            writing += t.elapsed();
            from = to;
        }
        let total = started.elapsed();
        let t = Instant::now();
        let closed = store
            .close_conciliation(&scope, c.id, Timestamp(t0), &[])
            .await
            .unwrap();
        let closing = t.elapsed();
        println!(
            "{rows} rows in {} steps: {total:?} (lookups {reading:?}, step writes {writing:?}), \
             close {closing:?}: {} concilied, {} divergent",
            (rows + 4_999) / 5_000,
            closed.concilied,
            closed.divergent
        );
        let f = LineFilter {
            offset: 500_000,
            ..super::plan_tests::filter(Listing::Unresolveds)
        };
        for round in ["first", "second"] {
            let t = Instant::now();
            let n = store.count_lines(&scope, &f).await.unwrap();
            let counted = t.elapsed();
            let t = Instant::now();
            let page = store.list_lines(&scope, &f).await.unwrap();
            println!(
                "{round} unresolveds page at offset 500,000: count {n} in {counted:?}, \
                 page of {} in {:?}",
                page.len(),
                t.elapsed()
            );
        }
        assert_eq!(closed.concilied + closed.divergent, rows as u64);
        // Its gigabyte and a half goes with it.
        let c = store.conn().await.unwrap();
        let schema: String = c
            .query_one("SELECT current_schema()", &[])
            .await
            .unwrap()
            .get(0);
        c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    }
}
