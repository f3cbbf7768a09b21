//! From a change's domain events to the outbox rows a backend inserts with it: the
//! one place that decides each event's type name, entity, seller and payload, so both
//! backends write the same events for the same change.
//!
//! A backend calls these builders inside the change's transaction, once it knows the
//! ids it assigned and the entity as stored (an order's progress, a ticket's new
//! messages), and inserts what they return. The payload's JSON comes from an
//! [`EventPayloads`]: the native API's rendering in the server
//! (`entreposto_api_native::payloads`), so an event shows an order exactly as
//! `GET /api/v1/orders/{id}` does, and [`PlainPayloads`] (a small summary) in a store
//! nobody handed one (storage tests). A change renders each entity once, however many
//! of its events are about it.

use std::collections::HashMap;

use entreposto_domain::{
    CatalogEvent, Credential, CredentialEvent, DomainEvent, FinanceEvent, OrderEvent, Product,
    ProductData, Scope, Ticket, TicketEvent, TicketMessage, Timestamp, Upserted,
};
use serde_json::json;

use crate::outbox::{entity, NewEvent};
use crate::{
    CatalogChange, CatalogLinks, CatalogSaved, Conciliation, ExtractLine, ImportJob, Link,
    OrderView,
};

/// What a product event that does not rewrite the whole product knows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductHead<'a> {
    pub id: i64,
    pub seller_id: &'a str,
    pub sku: &'a str,
    /// After the change.
    pub version: i64,
    pub updated_at: Timestamp,
}

/// Renders event payloads as JSON text. Implementations must not fail: they render
/// values already stored.
pub trait EventPayloads: Send + Sync + 'static {
    /// The order with its progress, after the change.
    fn order(&self, view: &OrderView) -> String;
    /// The ticket after the change, with `messages`: the ones the event is about.
    fn ticket(&self, ticket: &Ticket, messages: &[TicketMessage]) -> String;
    /// A product as stored after the change, with what it links to (the kits and
    /// groups it is part of, and a kit's stock derived from its parts, are not read
    /// for an event).
    fn product(&self, product: &Product, links: &CatalogLinks) -> String;
    /// A product the change deleted.
    fn product_deleted(&self, head: ProductHead<'_>) -> String;
    fn import_job(&self, job: &ImportJob) -> String;
    /// Never the secret (the store does not have it).
    fn credential(&self, credential: &Credential) -> String;
    fn conciliation(&self, conciliation: &Conciliation) -> String;
    fn extract_line(&self, line: &ExtractLine) -> String;
}

/// A summary of each entity (ids, owner, state), for stores no edge configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainPayloads;

impl EventPayloads for PlainPayloads {
    fn order(&self, v: &OrderView) -> String {
        json!({
            "id": v.order.id.to_string(),
            "seller": v.order.data.seller_id,
            "marketplaceOrderId": v.order.data.marketplace_order_id,
            "state": {"status": v.progress.state.status(), "substatus": v.progress.state.substatus()},
            "version": v.progress.version,
        })
        .to_string()
    }

    fn ticket(&self, t: &Ticket, messages: &[TicketMessage]) -> String {
        json!({
            "id": t.id.to_string(),
            "seller": t.seller_id,
            "readState": t.read_state.as_str(),
            "mediation": t.mediation,
            "closed": t.closed_at.is_some(),
            "messages": messages.iter().map(|m| m.id.to_string()).collect::<Vec<_>>(),
        })
        .to_string()
    }

    fn product(&self, p: &Product, links: &CatalogLinks) -> String {
        json!({
            "id": p.id.to_string(),
            "seller": p.seller_id,
            "sku": p.data.sku,
            "version": p.version,
            "categories": links.categories.iter().filter(|c| p.data.category_ids.contains(&c.id))
                .map(|c| c.name.clone()).collect::<Vec<_>>(),
        })
        .to_string()
    }

    fn product_deleted(&self, h: ProductHead<'_>) -> String {
        json!({"id": h.id.to_string(), "seller": h.seller_id, "sku": h.sku}).to_string()
    }

    fn import_job(&self, j: &ImportJob) -> String {
        json!({"id": j.id, "seller": j.seller_id, "state": j.state.as_str(),
               "succeeded": j.succeeded, "failed": j.failed})
        .to_string()
    }

    fn credential(&self, c: &Credential) -> String {
        json!({"id": c.id, "seller": c.seller_id, "revoked": c.revoked_at.is_some()}).to_string()
    }

    fn conciliation(&self, c: &Conciliation) -> String {
        json!({"id": c.id, "seller": c.seller_id, "channel": c.channel,
               "concilied": c.concilied, "divergent": c.divergent})
        .to_string()
    }

    fn extract_line(&self, l: &ExtractLine) -> String {
        json!({"id": l.id, "seller": l.seller_id, "orderCode": l.key.order_code,
               "situation": crate::finance_json::situation_code(l.situation)})
        .to_string()
    }
}

fn event(
    e: DomainEvent,
    at: Timestamp,
    operator_id: &str,
    seller_id: Option<&str>,
    kind: &'static str,
    entity_id: String,
    payload: String,
) -> NewEvent {
    NewEvent::new(
        e.type_name(),
        at,
        operator_id,
        seller_id,
        kind,
        entity_id,
        payload,
    )
}

/// The events of an order write: a push (`pushed`: how the store answered it, and
/// [`OrderEvent::Pushed`] becomes created or updated) or a lifecycle change.
/// `view` is the order as stored after it.
pub fn order_events(
    p: &dyn EventPayloads,
    events: &[OrderEvent],
    pushed: Option<Upserted>,
    view: &OrderView,
    at: Timestamp,
) -> Vec<NewEvent> {
    if events.is_empty() {
        return Vec::new();
    }
    let payload = p.order(view);
    let d = &view.order.data;
    events
        .iter()
        .map(|&e| {
            let e = match pushed {
                Some(how) => e.as_pushed(how),
                None => e,
            };
            event(
                DomainEvent::Order(e),
                at,
                &d.operator_id,
                Some(&d.seller_id),
                entity::ORDER,
                view.order.id.to_string(),
                payload.clone(),
            )
        })
        .collect()
}

/// The events of a saved ticket change: `ticket` as stored, `added` the messages the
/// change inserted (in its order, with their ids). A message event shows its message;
/// the others show the change's new messages.
pub fn ticket_events(
    p: &dyn EventPayloads,
    events: &[TicketEvent],
    ticket: &Ticket,
    added: &[TicketMessage],
) -> Vec<NewEvent> {
    let mut whole: Option<String> = None;
    events
        .iter()
        .map(|&e| {
            let payload = match e {
                TicketEvent::MessageAdded { index } => p.ticket(
                    ticket,
                    added.get(index).map(std::slice::from_ref).unwrap_or(&[]),
                ),
                _ => whole.get_or_insert_with(|| p.ticket(ticket, added)).clone(),
            };
            event(
                DomainEvent::Ticket(e),
                ticket.updated_at,
                &ticket.operator_id,
                Some(&ticket.seller_id),
                entity::TICKET,
                ticket.id.to_string(),
                payload,
            )
        })
        .collect()
}

/// The products whose events a catalog change writes that a backend reads back as
/// stored after the change, with their links, for [`catalog_events`]: the ones it
/// restocked or repriced with events. A product the change writes whole is shown
/// from the write itself ([`written_products`]), unless the change also restocks or
/// reprices it.
pub fn catalog_products_to_read(change: &CatalogChange) -> Vec<i64> {
    let mut ids: Vec<i64> = change
        .stock
        .iter()
        .filter(|s| !s.events.is_empty())
        .map(|s| s.product_id)
        .chain(
            change
                .prices
                .iter()
                .filter(|p| !p.events.is_empty())
                .map(|p| p.product_id),
        )
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The existing products a change writes whole with events (not read back, see
/// [`catalog_products_to_read`]): a backend gives [`written_products`] their
/// creation times, the one thing of them the write does not hold.
/// `read` is [`catalog_products_to_read`] of the change.
pub fn catalog_products_replaced(change: &CatalogChange, read: &[i64]) -> Vec<i64> {
    let mut ids: Vec<i64> = change
        .products
        .iter()
        .filter(|w| !w.events.is_empty())
        .filter_map(|w| w.existing.map(|(id, _)| id))
        .filter(|id| read.binary_search(id).is_err())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The products a saved change wrote whole with events, as they are stored after it,
/// built from the writes (the last one of a product written twice) and the ids the
/// change gave: no read inside the transaction. `created` holds the creation time of
/// each of [`catalog_products_replaced`]; a new product was created by the change.
/// Stock levels come in location order, as a read returns them. `read` is
/// [`catalog_products_to_read`] of the change.
pub fn written_products(
    scope: &Scope,
    change: &CatalogChange,
    saved: &CatalogSaved,
    read: &[i64],
    created: &HashMap<i64, Timestamp>,
) -> Vec<Product> {
    let link = |l: Link, new: &[i64]| match l {
        Link::Existing(id) => id,
        Link::New(n) => new.get(n).copied().unwrap_or_default(),
    };
    let mut out: Vec<Product> = Vec::new();
    let mut at: HashMap<i64, usize> = HashMap::new();
    for (w, &id) in change.products.iter().zip(&saved.products) {
        if w.events.is_empty() || read.binary_search(&id).is_ok() {
            continue;
        }
        let mut fields = w.fields.clone();
        fields.stock.sort_by_key(|l| l.location.id);
        let product = Product {
            id,
            operator_id: scope.operator_id.clone(),
            seller_id: scope.seller_id.clone().unwrap_or_default(),
            version: w.existing.map_or(1, |(_, v)| v + 1),
            created_at: match w.existing {
                Some((id, _)) => created.get(&id).copied().unwrap_or(change.now),
                None => change.now,
            },
            updated_at: change.now,
            data: ProductData {
                sku: w.sku.clone(),
                kind: w.kind,
                fields,
                category_ids: w
                    .categories
                    .iter()
                    .map(|&l| link(l, &saved.categories))
                    .collect(),
                brand_id: w.brand.map(|l| link(l, &saved.brands)),
                manufacturer_id: w.manufacturer.map(|l| link(l, &saved.manufacturers)),
                collection_ids: w
                    .collections
                    .iter()
                    .map(|&l| link(l, &saved.collections))
                    .collect(),
            },
        };
        match at.get(&id) {
            Some(&i) => out[i] = product,
            None => {
                at.insert(id, out.len());
                out.push(product);
            }
        }
    }
    out
}

/// Whether a catalog change has any event (so a backend can skip reading back).
pub fn catalog_has_events(change: &CatalogChange) -> bool {
    change.products.iter().any(|w| !w.events.is_empty())
        || change.stock.iter().any(|s| !s.events.is_empty())
        || change.prices.iter().any(|p| !p.events.is_empty())
        || change.deletes.iter().any(|d| !d.events.is_empty())
        || change.step.as_ref().is_some_and(|s| !s.events.is_empty())
}

/// What a backend read back for [`catalog_events`].
#[derive(Debug, Clone, Copy)]
pub struct CatalogAfter<'a> {
    /// The products of [`written_products`] and of [`catalog_products_to_read`] (as
    /// stored after the change).
    pub products: &'a [Product],
    pub links: &'a CatalogLinks,
    /// The SKU of each of the change's deletions, in order.
    pub deleted_skus: &'a [String],
    /// The import job after the change's step.
    pub job: Option<&'a ImportJob>,
}

/// The events of a saved catalog change of `scope`'s seller, in the change's order:
/// product writes, stock, prices, deletions, the import step.
pub fn catalog_events(
    p: &dyn EventPayloads,
    scope: &Scope,
    change: &CatalogChange,
    saved: &CatalogSaved,
    after: CatalogAfter<'_>,
) -> Vec<NewEvent> {
    let mut rendered: HashMap<i64, String> = HashMap::new();
    let mut out = Vec::new();
    let mut about = |id: i64, events: &[CatalogEvent], out: &mut Vec<NewEvent>| {
        if events.is_empty() {
            return;
        }
        let Some(prod) = after.products.iter().find(|x| x.id == id) else {
            return;
        };
        let payload = rendered
            .entry(id)
            .or_insert_with(|| p.product(prod, after.links));
        product_rows(events, &scope.operator_id, prod, payload, change.now, out);
    };
    for (w, &id) in change.products.iter().zip(&saved.products) {
        about(id, &w.events, &mut out);
    }
    for s in &change.stock {
        about(s.product_id, &s.events, &mut out);
    }
    for pw in &change.prices {
        about(pw.product_id, &pw.events, &mut out);
    }
    let seller = scope.seller_id.as_deref().unwrap_or_default();
    for (d, sku) in change.deletes.iter().zip(after.deleted_skus) {
        if d.events.is_empty() {
            continue;
        }
        let head = ProductHead {
            id: d.product_id,
            seller_id: seller,
            sku,
            version: d.version,
            updated_at: change.now,
        };
        let payload = p.product_deleted(head);
        for &e in &d.events {
            out.push(event(
                DomainEvent::Catalog(e),
                change.now,
                &scope.operator_id,
                Some(seller),
                entity::PRODUCT,
                d.product_id.to_string(),
                payload.clone(),
            ));
        }
    }
    if let (Some(step), Some(job)) = (&change.step, after.job) {
        out.extend(import_events(p, &step.events, job, change.now));
    }
    out
}

/// `events` about product `prod` (its `payload` rendered), appended to `out`.
fn product_rows(
    events: &[CatalogEvent],
    operator_id: &str,
    prod: &Product,
    payload: &str,
    at: Timestamp,
    out: &mut Vec<NewEvent>,
) {
    for &e in events {
        out.push(event(
            DomainEvent::Catalog(e),
            at,
            operator_id,
            Some(&prod.seller_id),
            entity::PRODUCT,
            prod.id.to_string(),
            payload.to_string(),
        ));
    }
}

/// The events of the products an order change's stock moves touched: `events` for
/// each of `products` (as stored after the change, in id order), with their links.
pub fn stock_move_events(
    p: &dyn EventPayloads,
    operator_id: &str,
    events: &[CatalogEvent],
    products: &[Product],
    links: &CatalogLinks,
    at: Timestamp,
) -> Vec<NewEvent> {
    let mut out = Vec::new();
    if events.is_empty() {
        return out;
    }
    let mut sorted: Vec<&Product> = products.iter().collect();
    sorted.sort_by_key(|x| x.id);
    for prod in sorted {
        let payload = p.product(prod, links);
        product_rows(events, operator_id, prod, &payload, at, &mut out);
    }
    out
}

/// The events of an import step (`import.finished` on its last), `job` as stored.
pub fn import_events(
    p: &dyn EventPayloads,
    events: &[CatalogEvent],
    job: &ImportJob,
    at: Timestamp,
) -> Vec<NewEvent> {
    if events.is_empty() {
        return Vec::new();
    }
    let payload = p.import_job(job);
    events
        .iter()
        .map(|&e| {
            event(
                DomainEvent::Catalog(e),
                at,
                &job.operator_id,
                Some(&job.seller_id),
                entity::IMPORT,
                job.id.clone(),
                payload.clone(),
            )
        })
        .collect()
}

/// The events of a credential write, `credential` as stored after it.
pub fn credential_events(
    p: &dyn EventPayloads,
    events: &[CredentialEvent],
    credential: &Credential,
    at: Timestamp,
) -> Vec<NewEvent> {
    if events.is_empty() {
        return Vec::new();
    }
    let payload = p.credential(credential);
    events
        .iter()
        .map(|&e| {
            event(
                DomainEvent::Credential(e),
                at,
                &credential.operator_id,
                credential.seller_id.as_deref(),
                entity::CREDENTIAL,
                credential.id.clone(),
                payload.clone(),
            )
        })
        .collect()
}

/// The events of a conciliation closed (`statement.loaded`), as stored after it.
pub fn conciliation_events(
    p: &dyn EventPayloads,
    events: &[FinanceEvent],
    operator_id: &str,
    c: &Conciliation,
    at: Timestamp,
) -> Vec<NewEvent> {
    if events.is_empty() {
        return Vec::new();
    }
    let payload = p.conciliation(c);
    events
        .iter()
        .map(|&e| {
            event(
                DomainEvent::Finance(e),
                at,
                operator_id,
                Some(&c.seller_id),
                entity::CONCILIATION,
                c.id.to_string(),
                payload.clone(),
            )
        })
        .collect()
}

/// The events of the lines a finance write wrote: `events` names lines by index in
/// `lines`, `ids` are the lines' ids as written (new ones assigned), in order.
pub fn line_events(
    p: &dyn EventPayloads,
    operator_id: &str,
    lines: &[crate::LineWrite],
    ids: &[i64],
    events: &[(usize, FinanceEvent)],
    at: Timestamp,
) -> Vec<NewEvent> {
    events
        .iter()
        .filter_map(|&(i, e)| {
            let (crate::LineWrite::New(l) | crate::LineWrite::Update(l)) = lines.get(i)?;
            let line = ExtractLine {
                id: *ids.get(i)?,
                updated_at: at,
                ..l.clone()
            };
            Some(event(
                DomainEvent::Finance(e),
                at,
                operator_id,
                Some(&line.seller_id),
                entity::EXTRACT_LINE,
                line.id.to_string(),
                p.extract_line(&line),
            ))
        })
        .collect()
}
