//! Customer-service tickets on PostgreSQL.
//!
//! A change arrives decided (a [`TicketChange`]) and is persisted in one transaction,
//! the ticket's update guarded by the version it was loaded at: a change decided on a
//! ticket that moved meanwhile (another node's, say) writes nothing and is `Stale`.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use entreposto_domain::*;
use entreposto_store::events::ticket_events;
use entreposto_store::{ImportTicket, Result, StoreError, TicketFilter, TicketStore};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use crate::outbox::insert_events;
use crate::{map_err, Params, PgStore};

const TICKET_COLS: &str = "id, operator_id, seller_id, order_id, code, subject_id, subject, \
    sla_hours, for_return, responsible, opened_by, read_state, mediation, message_count, \
    last_message_at, closed_at, channel, marketplace_order_id, warehouse, created_at, updated_at";

const MESSAGE_COLS: &str = "m.id, m.ticket_id, m.conversation, m.author_party, m.author_name, \
    m.author_email, m.author_code, m.content, m.customer_can_view, m.created_at, m.replied_at, \
    m.subject, m.responsible";

/// Point reads are cached statements taking the scope as `$2` (operator) and `$3`
/// (seller or NULL), checked on the row: a ticket's (seller, operator) pair is a
/// foreign key into `sellers`, so matching both is the whole tenant check.
const ROW_SCOPE: &str = "operator_id = $2 AND ($3::text IS NULL OR seller_id = $3)";

const SUBJECT_COLS: &str = "id, operator_id, name, sla_hours, for_return, created_at, updated_at";

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("unknown {what} in database"))
}

fn party(r: &Row, idx: usize) -> Result<Party> {
    Party::parse(r.get(idx)).ok_or_else(|| corrupt("party"))
}

fn ticket_from_row(r: &Row) -> Result<Ticket> {
    Ok(Ticket {
        id: r.get(0),
        operator_id: r.get(1),
        seller_id: r.get(2),
        order_id: r.get(3),
        code: r.get(4),
        subject_id: r.get(5),
        subject: r.get(6),
        sla_hours: r.get(7),
        for_return: r.get(8),
        responsible: party(r, 9)?,
        opened_by: party(r, 10)?,
        read_state: ReadState::parse(r.get(11)).ok_or_else(|| corrupt("read state"))?,
        mediation: r.get(12),
        message_count: r.get(13),
        last_message_at: r.get::<_, Option<i64>>(14).map(Timestamp),
        closed_at: r.get::<_, Option<i64>>(15).map(Timestamp),
        channel: r.get(16),
        marketplace_order_id: r.get(17),
        warehouse: r.get(18),
        created_at: Timestamp(r.get(19)),
        updated_at: Timestamp(r.get(20)),
    })
}

fn message_from_row(r: &Row) -> Result<TicketMessage> {
    Ok(TicketMessage {
        id: r.get(0),
        ticket_id: r.get(1),
        conversation: Conversation::parse(r.get(2)).ok_or_else(|| corrupt("conversation"))?,
        author: Author {
            party: party(r, 3)?,
            name: r.get(4),
            email: r.get(5),
            code: r.get(6),
        },
        content: r.get(7),
        customer_can_view: r.get(8),
        created_at: Timestamp(r.get(9)),
        replied_at: r.get::<_, Option<i64>>(10).map(Timestamp),
        subject: r.get(11),
        responsible: match r.get::<_, Option<&str>>(12) {
            Some(p) => Some(Party::parse(p).ok_or_else(|| corrupt("party"))?),
            None => None,
        },
    })
}

fn subject_from_row(r: &Row) -> Subject {
    Subject {
        id: r.get(0),
        operator_id: r.get(1),
        name: r.get(2),
        sla_hours: r.get(3),
        for_return: r.get(4),
        created_at: Timestamp(r.get(5)),
        updated_at: Timestamp(r.get(6)),
    }
}

/// `SELECT {what} FROM tickets WHERE ...` for a scope and filter, with its parameters.
fn filter_sql(scope: &Scope, f: &TicketFilter, what: &str) -> (String, Params) {
    let mut p = Params::default();
    let mut sql = format!(
        "SELECT {what} FROM tickets WHERE TRUE{}",
        p.scope(scope, "")
    );
    for condition in f.constant_conditions() {
        sql.push_str(condition);
    }
    if let Some(s) = f.read_state {
        sql.push_str(&format!(" AND read_state = {}", p.push(s.as_str())));
    }
    if let Some(m) = f.mediation {
        sql.push_str(&format!(" AND mediation = {}", p.push(m)));
    }
    if let Some(t) = f.updated_from {
        sql.push_str(&format!(" AND updated_at >= {}", p.push(t.0)));
    }
    if let Some(t) = f.updated_to {
        sql.push_str(&format!(" AND updated_at < {}", p.push(t.0)));
    }
    if let Some(o) = f.order_id {
        sql.push_str(&format!(" AND order_id = {}", p.push(o)));
    }
    if let Some(m) = &f.marketplace_order_id {
        sql.push_str(&format!(
            " AND marketplace_order_id = {}",
            p.push(m.clone())
        ));
    }
    if let Some((u, id)) = f.after {
        sql.push_str(&format!(
            " AND (updated_at, id) < ({}, {})",
            p.push(u.0),
            p.push(id)
        ));
    }
    (sql, p)
}

/// Writes back the parts of a ticket that change after it is opened, if it is in
/// `scope` and still has version `loaded`; `Stale` if it does not.
async fn update_ticket(
    c: &impl GenericClient,
    scope: &Scope,
    t: &Ticket,
    loaded: i64,
) -> Result<()> {
    let n = c
        .execute(
            "UPDATE tickets SET read_state = $2, mediation = $3, message_count = $4,
             last_message_at = $5, closed_at = $6, updated_at = $7, responsible = $8,
             version = $9 + 1 WHERE id = $1 AND version = $9
             AND operator_id = $10 AND ($11::text IS NULL OR seller_id = $11)",
            &[
                &t.id,
                &t.read_state.as_str(),
                &t.mediation,
                &t.message_count,
                &t.last_message_at.map(|x| x.0),
                &t.closed_at.map(|x| x.0),
                &t.updated_at.0,
                &t.responsible.as_str(),
                &loaded,
                &scope.operator_id,
                &scope.seller_id,
            ],
        )
        .await
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Inserts `t` with its order id given by `order_sql` (`$3`, or a lookup for bulk
/// imports). An order id that comes out NULL (no such order) is `NotFound`.
async fn insert_ticket(c: &impl GenericClient, t: &Ticket, order_sql: &str) -> Result<i64> {
    let sql = format!(
        "INSERT INTO tickets (operator_id, seller_id, order_id, code, subject_id, subject,
         sla_hours, for_return, responsible, opened_by, read_state, mediation, message_count,
         last_message_at, closed_at, channel, marketplace_order_id, warehouse, created_at, updated_at)
         VALUES ($1, $2, {order_sql}, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
         RETURNING id"
    );
    let row = c
        .query_opt(
            &sql,
            &[
                &t.operator_id,
                &t.seller_id,
                &t.order_id,
                &t.code,
                &t.subject_id,
                &t.subject,
                &t.sla_hours,
                &t.for_return,
                &t.responsible.as_str(),
                &t.opened_by.as_str(),
                &t.read_state.as_str(),
                &t.mediation,
                &t.message_count,
                &t.last_message_at.map(|x| x.0),
                &t.closed_at.map(|x| x.0),
                &t.channel,
                &t.marketplace_order_id,
                &t.warehouse,
                &t.created_at.0,
                &t.updated_at.0,
            ],
        )
        .await
        .map_err(|e| {
            let no_order = e.as_db_error().is_some_and(|d| {
                *d.code() == SqlState::NOT_NULL_VIOLATION && d.column() == Some("order_id")
            });
            if no_order {
                StoreError::NotFound
            } else {
                map_err(e)
            }
        })?;
    row.map(|r| r.get(0)).ok_or(StoreError::NotFound)
}

async fn insert_message(
    c: &impl GenericClient,
    ticket_id: i64,
    m: &NewMessage,
    at: Timestamp,
    replied_at: Option<Timestamp>,
) -> Result<TicketMessage> {
    let row = c
        .query_one(
            "INSERT INTO ticket_messages (ticket_id, conversation, author_party, author_name,
             author_email, author_code, content, customer_can_view, created_at, replied_at,
             subject, responsible)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &[
                &ticket_id,
                &m.conversation.as_str(),
                &m.author.party.as_str(),
                &m.author.name,
                &m.author.email,
                &m.author.code,
                &m.content,
                &m.customer_can_view,
                &at.0,
                &replied_at.map(|x| x.0),
                &m.subject,
                &m.responsible.map(Party::as_str),
            ],
        )
        .await
        .map_err(map_err)?;
    Ok(m.stored(row.get(0), ticket_id, at, replied_at))
}

#[async_trait]
impl TicketStore for PgStore {
    async fn create_subject(&self, s: &Subject) -> Result<()> {
        let c = self.conn().await?;
        c.execute(
            &format!("INSERT INTO subjects ({SUBJECT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &s.id,
                &s.operator_id,
                &s.name,
                &s.sla_hours,
                &s.for_return,
                &s.created_at.0,
                &s.updated_at.0,
            ],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_subjects(&self, operator_id: &str) -> Result<Vec<Subject>> {
        let c = self.conn().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {SUBJECT_COLS} FROM subjects WHERE operator_id = $1 ORDER BY name COLLATE \"C\""
                ),
                &[&operator_id],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(subject_from_row).collect())
    }

    async fn find_subject(&self, operator_id: &str, id_or_name: &str) -> Result<Subject> {
        let c = self.conn().await?;
        c.query_opt(
            &format!(
                "SELECT {SUBJECT_COLS} FROM subjects WHERE operator_id = $1 AND (id = $2 OR name = $2)
                 ORDER BY id = $2 DESC LIMIT 1"
            ),
            &[&operator_id, &id_or_name],
        )
        .await
        .map_err(map_err)?
        .map(|r| subject_from_row(&r))
        .ok_or(StoreError::NotFound)
    }

    async fn load_ticket(&self, scope: &Scope, id: i64) -> Result<LoadedTicket> {
        // Two plain reads: a message added between them has moved the version, so a
        // change decided on them is refused as stale and decided again.
        let c = self.conn().await?;
        let mut p = Params::default();
        let idp = p.push(id);
        let sql = format!(
            "SELECT {TICKET_COLS}, version FROM tickets WHERE id = {idp}{}",
            p.scope(scope, "")
        );
        let row = c
            .query_opt(&sql, &p.refs())
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        let ticket = ticket_from_row(&row)?;
        let version: i64 = row.get(21);
        drop(c);
        let messages = self.list_messages(scope, id).await?;
        Ok(LoadedTicket {
            ticket,
            version,
            messages,
        })
    }

    async fn count_order_tickets(&self, order_id: i64) -> Result<i64> {
        let c = self.conn().await?;
        let row = c
            .query_one(
                "SELECT COUNT(*) FROM tickets WHERE order_id = $1",
                &[&order_id],
            )
            .await
            .map_err(map_err)?;
        Ok(row.get(0))
    }

    async fn ticket_code_taken(&self, seller_id: &str, code: &str) -> Result<bool> {
        let c = self.conn().await?;
        let row = c
            .query_opt(
                "SELECT 1 FROM tickets WHERE seller_id = $1 AND code = $2",
                &[&seller_id, &code],
            )
            .await
            .map_err(map_err)?;
        Ok(row.is_some())
    }

    async fn save_ticket(
        &self,
        scope: &Scope,
        change: TicketChange,
    ) -> Result<(Ticket, Vec<TicketMessage>)> {
        let mut t = change.ticket.clone();
        if change.loaded_version.is_none() && !scope.sees(&t.operator_id, &t.seller_id) {
            return Err(StoreError::NotFound);
        }
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        match change.loaded_version {
            None => t.id = insert_ticket(&tx, &t, "$3").await?,
            Some(v) => update_ticket(&tx, scope, &t, v).await?,
        }
        for &(id, at) in &change.answered {
            tx.execute(
                "UPDATE ticket_messages SET replied_at = $3 WHERE ticket_id = $1 AND id = $2",
                &[&t.id, &id, &at.0],
            )
            .await
            .map_err(map_err)?;
        }
        let mut added = Vec::with_capacity(change.new_messages.len());
        for d in &change.new_messages {
            added.push(insert_message(&tx, t.id, &d.message, d.at, d.replied_at).await?);
        }
        let rows = ticket_events(&*self.payloads, &change.events, &t, &added);
        insert_events(&tx, &rows).await?;
        tx.commit().await.map_err(map_err)?;
        if !rows.is_empty() {
            self.wrote_events();
        }
        Ok((t, added))
    }

    async fn get_ticket(&self, scope: &Scope, id: i64) -> Result<Ticket> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {TICKET_COLS} FROM tickets WHERE id = $1 AND {ROW_SCOPE}"
            ))
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&id, &scope.operator_id, &scope.seller_id])
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        ticket_from_row(&row)
    }

    async fn get_ticket_by_code(&self, scope: &Scope, code: &str) -> Result<Ticket> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {TICKET_COLS} FROM tickets WHERE code = $1 AND {ROW_SCOPE}
                 ORDER BY id LIMIT 1"
            ))
            .await
            .map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&code, &scope.operator_id, &scope.seller_id])
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        ticket_from_row(&row)
    }

    async fn list_messages(&self, scope: &Scope, ticket_id: i64) -> Result<Vec<TicketMessage>> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM ticket_messages m WHERE m.ticket_id = $1
                 AND EXISTS (SELECT 1 FROM tickets WHERE id = $1 AND {ROW_SCOPE})
                 ORDER BY m.id"
            ))
            .await
            .map_err(map_err)?;
        let rows = c
            .query(&stmt, &[&ticket_id, &scope.operator_id, &scope.seller_id])
            .await
            .map_err(map_err)?;
        rows.iter().map(message_from_row).collect()
    }

    async fn list_messages_of(
        &self,
        scope: &Scope,
        ticket_ids: &[i64],
    ) -> Result<Vec<TicketMessage>> {
        if ticket_ids.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM ticket_messages m WHERE m.ticket_id IN
                 (SELECT id FROM tickets WHERE id = ANY($1) AND {ROW_SCOPE})
                 ORDER BY m.ticket_id, m.id"
            ))
            .await
            .map_err(map_err)?;
        let ids = ticket_ids.to_vec();
        let rows = c
            .query(&stmt, &[&ids, &scope.operator_id, &scope.seller_id])
            .await
            .map_err(map_err)?;
        rows.iter().map(message_from_row).collect()
    }

    async fn list_tickets(&self, scope: &Scope, f: &TicketFilter) -> Result<Vec<Ticket>> {
        let c = self.conn().await?;
        let (mut sql, mut p) = filter_sql(scope, f, TICKET_COLS);
        let col = f.sort.column();
        let limit = p.push(f.limit as i64);
        let offset = p.push(f.offset.min(i64::MAX as u64) as i64);
        sql.push_str(&format!(
            " ORDER BY {col} DESC, id DESC LIMIT {limit} OFFSET {offset}"
        ));
        let rows = c.query(&sql, &p.refs()).await.map_err(map_err)?;
        rows.iter().map(ticket_from_row).collect()
    }

    async fn count_tickets(&self, scope: &Scope, f: &TicketFilter) -> Result<u64> {
        let c = self.conn().await?;
        let mut f = f.clone();
        f.after = None;
        let (sql, p) = filter_sql(scope, &f, "COUNT(*)");
        let row = c.query_one(&sql, &p.refs()).await.map_err(map_err)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    async fn import_tickets(&self, tickets: &[ImportTicket]) -> Result<u64> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let order_sql = "(SELECT id FROM orders WHERE seller_id = $2 AND channel = $16 AND marketplace_order_id = $17 AND $3::int8 IS NOT NULL)";
        for it in tickets {
            let id = insert_ticket(&tx, &it.ticket, order_sql)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => StoreError::Conflict(format!(
                        "no order {} for ticket {}",
                        it.ticket.marketplace_order_id, it.ticket.code
                    )),
                    e => e,
                })?;
            for m in &it.messages {
                let nm = NewMessage::from(m);
                insert_message(&tx, id, &nm, m.created_at, m.replied_at).await?;
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(tickets.len() as u64)
    }
}
