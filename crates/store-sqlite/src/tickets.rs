//! Customer-service tickets on SQLite.
//!
//! A change arrives decided (a [`TicketChange`]); the writer thread persists it in one
//! savepoint, the ticket's update guarded by the version it was loaded at, so a
//! change decided on a ticket that moved meanwhile writes nothing and is `Stale`.

use async_trait::async_trait;
use entreposto_domain::*;
use entreposto_store::{ImportTicket, Result, StoreError, TicketDetail, TicketFilter, TicketStore};
use rusqlite::types::{Type, Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use entreposto_store::events::ticket_events;

use crate::orders::order_cols;
use crate::outbox::insert_events;
use crate::{map_err, SqliteStore};

// Column lists, optionally qualified with a table alias (`ticket_cols!("t.")`) for
// statements that join.
#[rustfmt::skip]
macro_rules! ticket_cols {
    () => {
        ticket_cols!("")
    };
    ($p:literal) => {
        concat!(
            $p, "id, ", $p, "operator_id, ", $p, "seller_id, ", $p, "order_id, ", $p, "code, ",
            $p, "subject_id, ", $p, "subject, ", $p, "sla_hours, ", $p, "for_return, ",
            $p, "responsible, ", $p, "opened_by, ", $p, "read_state, ", $p, "mediation, ",
            $p, "message_count, ", $p, "last_message_at, ", $p, "closed_at, ", $p, "channel, ",
            $p, "marketplace_order_id, ", $p, "warehouse, ", $p, "created_at, ", $p, "updated_at"
        )
    };
}

#[rustfmt::skip]
macro_rules! message_cols {
    () => {
        message_cols!("")
    };
    ($p:literal) => {
        concat!(
            $p, "id, ", $p, "ticket_id, ", $p, "conversation, ", $p, "author_party, ",
            $p, "author_name, ", $p, "author_email, ", $p, "author_code, ", $p, "content, ",
            $p, "customer_can_view, ", $p, "created_at, ", $p, "replied_at, ", $p, "subject, ",
            $p, "responsible"
        )
    };
}

/// Columns of `crate::orders::order_cols!`, which follow the ticket's in a joined row.
const ORDER_COLUMNS: usize = 4;

/// A [`TicketHead`]'s columns: what a detail read selects of the ticket.
#[rustfmt::skip]
macro_rules! ticket_head_cols {
    ($p:literal) => {
        concat!(
            $p, "id, ", $p, "operator_id, ", $p, "seller_id, ", $p, "order_id, ",
            $p, "subject, ", $p, "responsible, ", $p, "closed_at, ", $p, "created_at, ",
            $p, "updated_at"
        )
    };
}
/// Columns of `ticket_head_cols!`.
const TICKET_HEAD_COLUMNS: usize = 9;

pub(crate) const TICKET_COLS: &str = ticket_cols!();

// Point lookups are fixed statements (no SQL built per call) taking the scope as
// `?2` (operator) and `?3` (seller or NULL), checked on the row itself: a ticket's
// (seller, operator) pair is a foreign key into `sellers`, so matching both is the
// whole tenant check.
const TICKET_BY_ID: &str = concat!(
    "SELECT ",
    ticket_cols!(),
    " FROM tickets WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)"
);
/// A ticket with its version, for a change to decide on.
const TICKET_FOR_CHANGE: &str = concat!(
    "SELECT ",
    ticket_cols!(),
    ", version FROM tickets WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)"
);
/// Found through `tickets_code_key` (`?4` is [`code_key`] of the code `?1`).
const TICKET_BY_CODE: &str = concat!(
    "SELECT ",
    ticket_cols!(),
    " FROM tickets WHERE code_key = ?4 AND code = ?1 AND operator_id = ?2
     AND (?3 IS NULL OR seller_id = ?3) ORDER BY id LIMIT 1"
);

/// The integer a ticket is found by from its code (`tickets.code_key`, migration 6):
/// 64-bit FNV-1a of the code's UTF-8 bytes, as SQLite's signed integer. It is part of
/// the file format: rows written by one version are looked up by the next, so the
/// function never changes (a test pins its values). Different codes may share a key;
/// every lookup also compares the code.
pub(crate) fn code_key(code: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    code.bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME)) as i64
}

/// How many messages a ticket can hold: its messages are stored at `slot`s (the rowid
/// of `ticket_messages`, migration 7) from `ticket_id * MESSAGE_SLOTS` on, one per
/// message in arrival order, so one range descent reads a conversation in order. 2^24
/// messages per ticket, and ticket ids up to 2^39, both far past any real use.
const MESSAGE_SLOTS: i64 = 1 << 24;

/// The slots of ticket `$t` (an SQL expression), as a `BETWEEN` range for the rowid.
macro_rules! slots_of {
    ($t:literal) => {
        concat!(
            "BETWEEN ",
            $t,
            " * 16777216 AND ",
            $t,
            " * 16777216 + 16777215"
        )
    };
}

/// A ticket's messages, oldest first; nothing unless the ticket is in scope.
const MESSAGES_OF_TICKET: &str = concat!(
    "SELECT ",
    message_cols!(),
    " FROM ticket_messages WHERE slot ",
    slots_of!("?1"),
    " AND EXISTS (SELECT 1 FROM tickets
     WHERE id = ?1 AND operator_id = ?2 AND (?3 IS NULL OR seller_id = ?3)) ORDER BY slot"
);

/// A ticket in scope with its order and its messages, oldest first, in one statement:
/// one row per message (one row with NULL message columns when there is none), each
/// carrying the ticket's head and the order. Three statements cost a microsecond or
/// two more (statement cache lookup, binding and resetting each), a tenth of an Omnik
/// case read. The order is the ticket's by construction; its seller is compared anyway.
const TICKET_DETAIL: &str = concat!(
    "SELECT ",
    ticket_head_cols!("t."),
    ", ",
    order_cols!("o."),
    ", o.state, ",
    message_cols!("m."),
    " FROM tickets t JOIN orders o ON o.id = t.order_id AND o.seller_id = t.seller_id
     LEFT JOIN ticket_messages m ON m.slot ",
    slots_of!("t.id"),
    "
     WHERE t.id = ?1 AND t.operator_id = ?2 AND (?3 IS NULL OR t.seller_id = ?3)
     ORDER BY m.slot"
);

fn bad(idx: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, format!("unknown {what}").into())
}

fn party(r: &Row<'_>, idx: usize) -> rusqlite::Result<Party> {
    Party::parse(r.get_ref(idx)?.as_str()?).ok_or_else(|| bad(idx, "party"))
}

pub(crate) fn ticket_from_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    let state = r.get_ref(11)?.as_str()?;
    Ok(Ticket {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        seller_id: r.get(2)?,
        order_id: r.get(3)?,
        code: r.get(4)?,
        subject_id: r.get(5)?,
        subject: r.get(6)?,
        sla_hours: r.get(7)?,
        for_return: r.get(8)?,
        responsible: party(r, 9)?,
        opened_by: party(r, 10)?,
        read_state: ReadState::parse(state).ok_or_else(|| bad(11, "read state"))?,
        mediation: r.get(12)?,
        message_count: r.get(13)?,
        last_message_at: r.get::<_, Option<i64>>(14)?.map(Timestamp),
        closed_at: r.get::<_, Option<i64>>(15)?.map(Timestamp),
        channel: r.get(16)?,
        marketplace_order_id: r.get(17)?,
        warehouse: r.get(18)?,
        created_at: Timestamp(r.get(19)?),
        updated_at: Timestamp(r.get(20)?),
    })
}

/// A ticket's head from the `ticket_head_cols!` at the start of a row.
fn ticket_head_from_row(r: &Row<'_>) -> rusqlite::Result<TicketHead> {
    Ok(TicketHead {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        seller_id: r.get(2)?,
        order_id: r.get(3)?,
        subject: r.get(4)?,
        responsible: party(r, 5)?,
        closed_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
        created_at: Timestamp(r.get(7)?),
        updated_at: Timestamp(r.get(8)?),
    })
}

fn message_from_row(r: &Row<'_>) -> rusqlite::Result<TicketMessage> {
    message_at(r, 0)
}

/// A message from the `message_cols!` that start at column `b`.
fn message_at(r: &Row<'_>, b: usize) -> rusqlite::Result<TicketMessage> {
    let conv = r.get_ref(b + 2)?.as_str()?;
    Ok(TicketMessage {
        id: r.get(b)?,
        ticket_id: r.get(b + 1)?,
        conversation: Conversation::parse(conv).ok_or_else(|| bad(b + 2, "conversation"))?,
        author: Author {
            party: party(r, b + 3)?,
            name: r.get(b + 4)?,
            email: r.get(b + 5)?,
            code: r.get(b + 6)?,
        },
        content: r.get(b + 7)?,
        customer_can_view: r.get(b + 8)?,
        created_at: Timestamp(r.get(b + 9)?),
        replied_at: r.get::<_, Option<i64>>(b + 10)?.map(Timestamp),
        subject: r.get(b + 11)?,
        responsible: match r.get_ref(b + 12)?.as_str_or_null()? {
            Some(p) => Some(Party::parse(p).ok_or_else(|| bad(b + 12, "party"))?),
            None => None,
        },
    })
}

/// The scope as SQL for table alias `t`, with its parameters.
///
/// For a seller the rows are found through `seller_id` alone, so the planner always
/// uses the seller's own indexes and an index-only count stays index-only; the
/// operator is checked once, by a constant subquery on `sellers`, so a scope whose
/// seller is not its operator's sees nothing (tickets carry a foreign key to the
/// (seller, operator) pair, so the two checks together are the operator check).
fn scope_sql(scope: &Scope, alias: &str, params: &mut Vec<Value>) -> String {
    params.push(Value::Text(scope.operator_id.clone()));
    let op = params.len();
    match &scope.seller_id {
        Some(seller) => {
            params.push(Value::Text(seller.clone()));
            let s = params.len();
            format!(
                " AND {alias}seller_id = ?{s} AND EXISTS (SELECT 1 FROM sellers WHERE id = ?{s} AND operator_id = ?{op})"
            )
        }
        None => format!(" AND {alias}operator_id = ?{op}"),
    }
}

impl SqliteStore {
    /// Runs the count `sql` on a reader, or answers it from [`entreposto_store::count_cache::CountCache`].
    ///
    /// Offset-paged dialects (Omnik, 00K) count the whole listing for every page; a
    /// count stays valid until this process commits anything (the generation moves)
    /// and for at most five seconds, which bounds how late other processes' writes
    /// show.
    pub(crate) async fn cached_count(&self, sql: String, p: Vec<Value>) -> Result<u64> {
        let key = format!("{sql}|{p:?}");
        let arrived = self.generation();
        if let Some(n) = self.counts.get(&key, arrived) {
            return Ok(n);
        }
        let flight = self.counts.flight(&key);
        let _turn = flight.lock().await;
        // Whoever held the turn before us may have just counted; a count begun after
        // we arrived is current enough for us even if writes have committed since
        // (otherwise, under steady writes, every waiter would recount in turn).
        if let Some(n) = self.counts.get(&key, arrived) {
            return Ok(n);
        }
        let generation = self.generation();
        let n = self
            .read(move |c| {
                let n: i64 = c
                    .prepare_cached(&sql)
                    .and_then(|mut s| s.query_row(params_from_iter(p), |r| r.get(0)))
                    .map_err(map_err)?;
                Ok(n as u64)
            })
            .await?;
        self.counts.put(key, generation, n);
        Ok(n)
    }
}

/// `SELECT {what} FROM tickets WHERE ...` for a scope and filter, with its parameters.
fn filter_sql(scope: &Scope, f: &TicketFilter, what: &str) -> (String, Vec<Value>) {
    let mut p = Vec::new();
    let mut sql = format!(
        "SELECT {what} FROM tickets WHERE 1 = 1{}",
        scope_sql(scope, "", &mut p)
    );
    let mut push = |clause: &str, v: Value, sql: &mut String| {
        p.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", p.len())));
    };
    for condition in f.constant_conditions() {
        sql.push_str(condition);
    }
    if let Some(s) = f.read_state {
        push(
            " AND read_state = ?",
            Value::Text(s.as_str().into()),
            &mut sql,
        );
    }
    if let Some(m) = f.mediation {
        push(" AND mediation = ?", Value::Integer(m as i64), &mut sql);
    }
    if let Some(t) = f.updated_from {
        push(" AND updated_at >= ?", Value::Integer(t.0), &mut sql);
    }
    if let Some(t) = f.updated_to {
        push(" AND updated_at < ?", Value::Integer(t.0), &mut sql);
    }
    if let Some(o) = f.order_id {
        push(" AND order_id = ?", Value::Integer(o), &mut sql);
    }
    if let Some(m) = &f.marketplace_order_id {
        push(
            " AND marketplace_order_id = ?",
            Value::Text(m.clone()),
            &mut sql,
        );
    }
    if let Some((u, id)) = f.after {
        // The first conjunct is a plain range on the (seller_id, updated_at, id)
        // index, so a deep page starts where the last one ended instead of
        // scanning from the top.
        push(" AND updated_at <= ?", Value::Integer(u.0), &mut sql);
        push(" AND (updated_at < ?", Value::Integer(u.0), &mut sql);
        push(" OR id < ?)", Value::Integer(id), &mut sql);
    }
    (sql, p)
}

pub(crate) fn load_ticket(c: &Connection, scope: &Scope, id: i64) -> Result<Ticket> {
    c.prepare_cached(TICKET_BY_ID)
        .and_then(|mut s| {
            s.query_row(
                params![id, scope.operator_id, scope.seller_id],
                ticket_from_row,
            )
        })
        .map_err(map_err)
}

/// The messages of a ticket in `scope`, oldest first (none if it is not in scope).
pub(crate) fn load_messages(
    c: &Connection,
    scope: &Scope,
    ticket_id: i64,
) -> Result<Vec<TicketMessage>> {
    let mut s = c.prepare_cached(MESSAGES_OF_TICKET).map_err(map_err)?;
    let rows = s
        .query_map(
            params![ticket_id, scope.operator_id, scope.seller_id],
            message_from_row,
        )
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

/// A ticket in `scope`, its order and its messages, from [`TICKET_DETAIL`].
pub(crate) fn load_detail(c: &Connection, scope: &Scope, id: i64) -> Result<TicketDetail> {
    let mut s = c.prepare_cached(TICKET_DETAIL).map_err(map_err)?;
    let mut rows = s
        .query(params![id, scope.operator_id, scope.seller_id])
        .map_err(map_err)?;
    let first = rows.next().map_err(map_err)?.ok_or(StoreError::NotFound)?;
    let ticket = ticket_head_from_row(first).map_err(map_err)?;
    let order = crate::orders::order_summary_at(first, TICKET_HEAD_COLUMNS).map_err(map_err)??;
    let state_at = TICKET_HEAD_COLUMNS + ORDER_COLUMNS;
    let order_state = entreposto_store::progress_json::state_from_name(
        first
            .get_ref(state_at)
            .map_err(map_err)?
            .as_str()
            .map_err(|e| StoreError::Other(e.to_string()))?,
    )
    .map_err(|e| StoreError::Other(format!("order {}: {e}", order.id)))?;
    let m = state_at + 1;
    let mut messages = Vec::new();
    if first.get_ref(m).map_err(map_err)? != ValueRef::Null {
        messages.push(message_at(first, m).map_err(map_err)?);
        while let Some(r) = rows.next().map_err(map_err)? {
            messages.push(message_at(r, m).map_err(map_err)?);
        }
    }
    Ok(TicketDetail {
        ticket,
        order,
        order_state,
        messages,
    })
}

/// Writes back the parts of a ticket that change after it is opened, if it is in
/// `scope` and still has version `loaded`; `Stale` if it does not.
fn update_ticket(c: &Connection, scope: &Scope, t: &Ticket, loaded: i64) -> Result<()> {
    let n = c
        .prepare_cached(
            "UPDATE tickets SET read_state = ?2, mediation = ?3, message_count = ?4,
             last_message_at = ?5, closed_at = ?6, updated_at = ?7, responsible = ?8,
             version = ?9 + 1 WHERE id = ?1 AND version = ?9
             AND operator_id = ?10 AND (?11 IS NULL OR seller_id = ?11)",
        )
        .and_then(|mut s| {
            s.execute(params![
                t.id,
                t.read_state.as_str(),
                t.mediation,
                t.message_count,
                t.last_message_at.map(|x| x.0),
                t.closed_at.map(|x| x.0),
                t.updated_at.0,
                t.responsible.as_str(),
                loaded,
                scope.operator_id,
                scope.seller_id
            ])
        })
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Marks a stored message of ticket `ticket_id` answered at `at`.
fn mark_answered(c: &Connection, ticket_id: i64, message_id: i64, at: Timestamp) -> Result<()> {
    c.prepare_cached(concat!(
        "UPDATE ticket_messages SET replied_at = ?3 WHERE slot ",
        slots_of!("?1"),
        " AND id = ?2"
    ))
    .and_then(|mut s| s.execute(params![ticket_id, message_id, at.0]))
    .map_err(map_err)?;
    Ok(())
}

/// Persists a decided change (see [`TicketStore::save_ticket`]); runs in the writer.
fn save_change(
    c: &Connection,
    scope: &Scope,
    change: &TicketChange,
) -> Result<(Ticket, Vec<TicketMessage>)> {
    let mut t = change.ticket.clone();
    match change.loaded_version {
        None if !scope.sees(&t.operator_id, &t.seller_id) => return Err(StoreError::NotFound),
        None => t.id = insert_ticket(c, &t)?,
        Some(v) => update_ticket(c, scope, &t, v)?,
    }
    for &(id, at) in &change.answered {
        mark_answered(c, t.id, id, at)?;
    }
    let mut added = Vec::with_capacity(change.new_messages.len());
    for d in &change.new_messages {
        added.push(insert_message(c, t.id, &d.message, d.at, d.replied_at)?);
    }
    Ok((t, added))
}

fn insert_ticket(c: &Connection, t: &Ticket) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO tickets (operator_id, seller_id, order_id, code, subject_id, subject,
         sla_hours, for_return, responsible, opened_by, read_state, mediation, message_count,
         last_message_at, closed_at, channel, marketplace_order_id, warehouse, created_at, updated_at,
         code_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
    )
    .and_then(|mut s| {
        s.execute(params![
            t.operator_id,
            t.seller_id,
            t.order_id,
            t.code,
            t.subject_id,
            t.subject,
            t.sla_hours,
            t.for_return,
            t.responsible.as_str(),
            t.opened_by.as_str(),
            t.read_state.as_str(),
            t.mediation,
            t.message_count,
            t.last_message_at.map(|x| x.0),
            t.closed_at.map(|x| x.0),
            t.channel,
            t.marketplace_order_id,
            t.warehouse,
            t.created_at.0,
            t.updated_at.0,
            code_key(&t.code)
        ])
    })
    .map_err(map_err)?;
    Ok(c.last_insert_rowid())
}

fn insert_message(
    c: &Connection,
    ticket_id: i64,
    m: &NewMessage,
    at: Timestamp,
    replied_at: Option<Timestamp>,
) -> Result<TicketMessage> {
    // Ids are global (see migration 0005): MAX + 1 inside the write transaction. Read
    // first, then a plain INSERT: an INSERT with a subquery and RETURNING runs in its
    // own statement journal, whose release grew with the transaction (bulk imports
    // slowed from 9 s to minutes per 100,000 tickets).
    // With it, the next free slot of the ticket: one descent to its last message.
    let (id, next_slot): (i64, Option<i64>) = c
        .prepare_cached(concat!(
            "SELECT (SELECT IFNULL(MAX(id), 0) + 1 FROM ticket_messages),
             (SELECT slot + 1 FROM ticket_messages WHERE slot ",
            slots_of!("?1"),
            " ORDER BY slot DESC LIMIT 1)"
        ))
        .and_then(|mut s| s.query_row([ticket_id], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(map_err)?;
    let first = ticket_id.checked_mul(MESSAGE_SLOTS).ok_or_else(|| {
        StoreError::Conflict(format!("ticket {ticket_id} is past the last message slot"))
    })?;
    let slot = next_slot.unwrap_or(first);
    if slot >= first + MESSAGE_SLOTS {
        return Err(StoreError::Conflict(format!(
            "ticket {ticket_id} holds the most messages a ticket can ({MESSAGE_SLOTS})"
        )));
    }
    c.prepare_cached(
        "INSERT INTO ticket_messages (slot, id, ticket_id, conversation, author_party,
         author_name, author_email, author_code, content, customer_can_view, created_at,
         replied_at, subject, responsible)
         VALUES (?14, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            ticket_id,
            m.conversation.as_str(),
            m.author.party.as_str(),
            m.author.name,
            m.author.email,
            m.author.code,
            m.content,
            m.customer_can_view,
            at.0,
            replied_at.map(|x| x.0),
            m.subject,
            m.responsible.map(Party::as_str),
            slot
        ])
    })
    .map_err(map_err)?;
    Ok(m.stored(id, ticket_id, at, replied_at))
}

fn subject_from_row(r: &Row<'_>) -> rusqlite::Result<Subject> {
    Ok(Subject {
        id: r.get(0)?,
        operator_id: r.get(1)?,
        name: r.get(2)?,
        sla_hours: r.get(3)?,
        for_return: r.get(4)?,
        created_at: Timestamp(r.get(5)?),
        updated_at: Timestamp(r.get(6)?),
    })
}

const SUBJECT_COLS: &str = "id, operator_id, name, sla_hours, for_return, created_at, updated_at";

#[async_trait]
impl TicketStore for SqliteStore {
    async fn create_subject(&self, s: &Subject) -> Result<()> {
        let s = s.clone();
        self.write(move |c| {
            c.prepare_cached(&format!(
                "INSERT INTO subjects ({SUBJECT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))
            .and_then(|mut st| {
                st.execute(params![
                    s.id,
                    s.operator_id,
                    s.name,
                    s.sla_hours,
                    s.for_return,
                    s.created_at.0,
                    s.updated_at.0
                ])
            })
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn list_subjects(&self, operator_id: &str) -> Result<Vec<Subject>> {
        self.read_now(|c| {
            let mut s = c
                .prepare_cached(&format!(
                    "SELECT {SUBJECT_COLS} FROM subjects WHERE operator_id = ?1 ORDER BY name"
                ))
                .map_err(map_err)?;
            let rows = s
                .query_map([operator_id], subject_from_row)
                .map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
        })
    }

    async fn find_subject(&self, operator_id: &str, id_or_name: &str) -> Result<Subject> {
        self.read_now(|c| {
            c.prepare_cached(&format!(
                "SELECT {SUBJECT_COLS} FROM subjects WHERE operator_id = ?1 AND (id = ?2 OR name = ?2)
                 ORDER BY id = ?2 DESC LIMIT 1"
            ))
            .and_then(|mut s| s.query_row(params![operator_id, id_or_name], subject_from_row))
            .map_err(map_err)
        })
    }

    async fn load_ticket(&self, scope: &Scope, id: i64) -> Result<LoadedTicket> {
        self.read_now(|c| {
            let (ticket, version) = c
                .prepare_cached(TICKET_FOR_CHANGE)
                .and_then(|mut s| {
                    s.query_row(params![id, scope.operator_id, scope.seller_id], |r| {
                        Ok((ticket_from_row(r)?, r.get(21)?))
                    })
                })
                .map_err(map_err)?;
            let messages = load_messages(c, scope, id)?;
            Ok(LoadedTicket {
                ticket,
                version,
                messages,
            })
        })
    }

    async fn count_order_tickets(&self, order_id: i64) -> Result<i64> {
        self.read_now(|c| {
            c.prepare_cached("SELECT COUNT(*) FROM tickets WHERE order_id = ?1")
                .and_then(|mut s| s.query_row([order_id], |r| r.get(0)))
                .map_err(map_err)
        })
    }

    async fn ticket_code_taken(&self, seller_id: &str, code: &str) -> Result<bool> {
        self.read_now(|c| {
            c.prepare_cached("SELECT 1 FROM tickets WHERE seller_id = ?1 AND code = ?2")
                .and_then(|mut s| s.query_row(params![seller_id, code], |_| Ok(())).optional())
                .map(|row| row.is_some())
                .map_err(map_err)
        })
    }

    async fn save_ticket(
        &self,
        scope: &Scope,
        change: TicketChange,
    ) -> Result<(Ticket, Vec<TicketMessage>)> {
        let scope = scope.clone();
        let payloads = self.payloads.clone();
        let wrote = !change.events.is_empty();
        let saved = self
            .write(move |c| {
                let (ticket, added) = save_change(c, &scope, &change)?;
                insert_events(
                    c,
                    &ticket_events(&*payloads, &change.events, &ticket, &added),
                )?;
                Ok((ticket, added))
            })
            .await?;
        if wrote {
            self.wrote_events();
        }
        Ok(saved)
    }

    async fn get_ticket(&self, scope: &Scope, id: i64) -> Result<Ticket> {
        self.read_now(|c| load_ticket(c, scope, id))
    }

    async fn get_ticket_by_code(&self, scope: &Scope, code: &str) -> Result<Ticket> {
        self.read_now(|c| {
            c.prepare_cached(TICKET_BY_CODE)
                .and_then(|mut s| {
                    s.query_row(
                        params![code, scope.operator_id, scope.seller_id, code_key(code)],
                        ticket_from_row,
                    )
                })
                .map_err(map_err)
        })
    }

    async fn list_messages(&self, scope: &Scope, ticket_id: i64) -> Result<Vec<TicketMessage>> {
        self.read_now(|c| load_messages(c, scope, ticket_id))
    }

    async fn list_messages_of(
        &self,
        scope: &Scope,
        ticket_ids: &[i64],
    ) -> Result<Vec<TicketMessage>> {
        // The page's tickets one by one, through the scoped point statement, on one
        // snapshot. A single `ticket_id IN (SELECT ... WHERE id IN (...))` statement
        // was planned by SQLite as a walk over the whole messages index: 100 ms a
        // page on a million tickets instead of tens of microseconds.
        let mut ids = ticket_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.read_now(|c| {
            let mut all = Vec::new();
            for &id in &ids {
                all.extend(load_messages(c, scope, id)?);
            }
            Ok(all)
        })
    }

    async fn list_tickets(&self, scope: &Scope, f: &TicketFilter) -> Result<Vec<Ticket>> {
        let (scope, f) = (scope.clone(), f.clone());
        self.read(move |c| {
            let col = f.sort.column();
            // The page's ids are picked from the index alone, then only those rows are
            // read: an offset then skips index entries, not whole rows (a page 300,000
            // tickets deep went from ~70 to thousands of requests a second).
            // Without an offset (every keyset page) the plain query is cheaper.
            let (sql, p) = if f.offset == 0 {
                let (mut sql, mut p) = filter_sql(&scope, &f, TICKET_COLS);
                p.push(Value::Integer(f.limit as i64));
                sql.push_str(&format!(" ORDER BY {col} DESC, id DESC LIMIT ?{}", p.len()));
                (sql, p)
            } else {
                let (inner, mut p) = filter_sql(&scope, &f, "id");
                p.push(Value::Integer(f.limit as i64));
                p.push(Value::Integer(f.offset.min(i64::MAX as u64) as i64));
                let sql = format!(
                    "SELECT {TICKET_COLS} FROM tickets WHERE id IN ({inner} ORDER BY {col} DESC, id DESC
                     LIMIT ?{} OFFSET ?{}) ORDER BY {col} DESC, id DESC",
                    p.len() - 1,
                    p.len()
                );
                (sql, p)
            };
            let mut s = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = s
                .query_map(params_from_iter(p), ticket_from_row)
                .map_err(map_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
        })
        .await
    }

    async fn count_tickets(&self, scope: &Scope, f: &TicketFilter) -> Result<u64> {
        let mut f = f.clone();
        f.after = None;
        let (sql, p) = filter_sql(scope, &f, "COUNT(*)");
        self.cached_count(sql, p).await
    }

    async fn import_tickets(&self, tickets: &[ImportTicket]) -> Result<u64> {
        let tickets = tickets.to_vec();
        self.write(move |c| {
            for it in &tickets {
                let mut t = it.ticket.clone();
                t.order_id = c
                    .prepare_cached(
                        "SELECT id FROM orders WHERE seller_id = ?1 AND channel = ?2 AND marketplace_order_id = ?3",
                    )
                    .and_then(|mut s| s.query_row(params![t.seller_id, t.channel, t.marketplace_order_id], |r| r.get(0)).optional())
                    .map_err(map_err)?
                    .ok_or_else(|| StoreError::Conflict(format!("no order {} for ticket {}", t.marketplace_order_id, t.code)))?;
                let id = insert_ticket(c, &t)?;
                for m in &it.messages {
                    let nm = NewMessage::from(m);
                    insert_message(c, id, &nm, m.created_at, m.replied_at)?;
                }
            }
            Ok(tickets.len() as u64)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `code_key` is stored: a change would make every existing ticket unfindable.
    #[test]
    fn code_key_is_pinned_fnv1a() {
        assert_eq!(code_key(""), -3750763034362895579);
        assert_eq!(code_key("a"), -5808556873153909620);
        assert_eq!(
            code_key("Lojas Americanas-201000000004001"),
            -3361517601086539449
        );
        assert_eq!(code_key("Submarino-9ção"), 7501632722437021044);
    }

    /// A migrated empty database, for query plans.
    fn schema() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrate(&mut c).unwrap();
        c
    }

    /// The steps of SQLite's plan for `sql` with `params`.
    fn plan(c: &Connection, sql: &str, params: impl rusqlite::Params) -> Vec<String> {
        c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(params, |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// The lookup by code descends `tickets_code_key`, for a seller and an operator
    /// scope alike, instead of scanning the table.
    #[test]
    fn lookup_by_code_uses_the_code_key_index() {
        let c = schema();
        for seller in [Some("S"), None] {
            assert_eq!(
                plan(&c, TICKET_BY_CODE, params!["X-1", "O", seller, 1]),
                ["SEARCH tickets USING INDEX tickets_code_key (code_key=?)"],
                "seller {seller:?}"
            );
        }
    }

    /// The joined detail row is cut at these offsets: they must follow the lists.
    #[test]
    fn joined_column_offsets_match_the_column_lists() {
        let count = |cols: &str| cols.split(',').count();
        // What `ticket_from_row` reads.
        assert_eq!(count(ticket_cols!()), 21);
        assert_eq!(count(ticket_head_cols!("")), TICKET_HEAD_COLUMNS);
        assert_eq!(count(order_cols!()), ORDER_COLUMNS);
        assert_eq!(
            count(TICKET_DETAIL.split(" FROM ").next().unwrap()),
            // The order's lifecycle state sits between the order and the messages.
            TICKET_HEAD_COLUMNS + ORDER_COLUMNS + 1 + count(message_cols!())
        );
    }

    /// The detail read is three primary-key descents, with no sort: the messages come
    /// in arrival order from their slots.
    #[test]
    fn detail_is_three_descents_without_a_sort() {
        assert_eq!(
            plan(&schema(), TICKET_DETAIL, params![1, "O", "S"]),
            [
                "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)",
                "SEARCH o USING INTEGER PRIMARY KEY (rowid=?)",
                "SEARCH m USING INTEGER PRIMARY KEY (rowid>? AND rowid<?) LEFT-JOIN"
            ]
        );
    }

    /// A conversation, a new message's slot and the replies it answers are each one
    /// range of the ticket's slots.
    #[test]
    fn messages_are_read_and_written_by_slot_range() {
        let c = schema();
        let range = "SEARCH ticket_messages USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)";
        let conversation = plan(&c, MESSAGES_OF_TICKET, params![1, "O", "S"]);
        assert_eq!(conversation[0], range, "{conversation:?}");
        assert!(!conversation.iter().any(|s| s.contains("TEMP B-TREE")));
        assert_eq!(
            slots_of!("1"),
            format!(
                "BETWEEN 1 * {MESSAGE_SLOTS} AND 1 * {MESSAGE_SLOTS} + {}",
                MESSAGE_SLOTS - 1
            )
        );
    }
}
