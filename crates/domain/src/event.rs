//! Domain events: what a decided change did, in the business's words.
//!
//! A use case hands the store each change together with the events it produced, and
//! the store persists both in one transaction, in its outbox (`entreposto_store::outbox`),
//! where sinks (webhooks, NATS) read them. An event names its entity implicitly: a
//! ticket event belongs to the ticket of the change that carries it, so events can be
//! decided before the store has given a new ticket or message its id. The names
//! consumers see ([`DomainEvent::type_name`]) are `<entity>.<what happened>`.

use crate::{ReadState, Upserted};

/// Something that happened to a ticket, in the order it happened within one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketEvent {
    Opened,
    /// The change's `index`-th new message was added.
    MessageAdded {
        index: usize,
    },
    ReadStateSet(ReadState),
    MediationRequested,
    Closed,
}

/// Something that happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The marketplace pushed the order: new, or the new state of the one with its
    /// key; which of the two is the store's answer from inside the same write, so the
    /// store writes it as [`OrderEvent::Created`] or [`OrderEvent::Updated`].
    Pushed,
    Created,
    /// A push replaced the order's data (its lifecycle is kept).
    Updated,
    /// Its lifecycle state moved (the change's new history entries say from and to).
    StatusChanged,
    Invoiced,
    TrackingSet,
    /// An ERP marked the order taken (or failed to take it).
    ErpMarked,
}

/// Something that happened in a seller's catalog. A product event belongs to the
/// product write that carries it; `ImportFinished` to the import job of its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogEvent {
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    StockSet,
    PriceSet,
    ImportFinished,
}

impl OrderEvent {
    /// A [`OrderEvent::Pushed`] as the store answered it: created or updated.
    pub fn as_pushed(self, how: Upserted) -> OrderEvent {
        match (self, how) {
            (OrderEvent::Pushed, Upserted::Created) => OrderEvent::Created,
            (OrderEvent::Pushed, Upserted::Updated) => OrderEvent::Updated,
            (other, _) => other,
        }
    }
}

/// Something reconciliation decided: a statement loaded (its conciliation closed), or
/// a line's verdict after a release, on the line the change writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinanceEvent {
    StatementLoaded,
    /// A release made the line's situation CONCILIED (what was released matches what
    /// was expected, within the tolerance).
    LineConciliated,
    /// A release made the line's situation DIVERGENT.
    LineDivergent,
}

/// Something that happened to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialEvent {
    Issued,
    Revoked,
}

/// Any domain event, for code that handles every kind (the outbox, logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainEvent {
    Ticket(TicketEvent),
    Order(OrderEvent),
    Credential(CredentialEvent),
    Catalog(CatalogEvent),
    Finance(FinanceEvent),
}

impl DomainEvent {
    /// The event's type as external consumers (webhooks, NATS subjects) name it.
    /// [`OrderEvent::Pushed`] is never stored as such (see [`OrderEvent::as_pushed`]);
    /// it names the creation a first push is.
    pub fn type_name(self) -> &'static str {
        match self {
            DomainEvent::Ticket(TicketEvent::Opened) => "ticket.opened",
            DomainEvent::Ticket(TicketEvent::MessageAdded { .. }) => "ticket.message_added",
            DomainEvent::Ticket(TicketEvent::ReadStateSet(_)) => "ticket.read_state_changed",
            DomainEvent::Ticket(TicketEvent::MediationRequested) => "ticket.mediation_requested",
            DomainEvent::Ticket(TicketEvent::Closed) => "ticket.closed",
            DomainEvent::Order(OrderEvent::Pushed | OrderEvent::Created) => "order.created",
            DomainEvent::Order(OrderEvent::Updated) => "order.updated",
            DomainEvent::Order(OrderEvent::StatusChanged) => "order.status_changed",
            DomainEvent::Order(OrderEvent::Invoiced) => "order.invoiced",
            DomainEvent::Order(OrderEvent::TrackingSet) => "order.tracking_changed",
            DomainEvent::Order(OrderEvent::ErpMarked) => "order.erp_marked",
            DomainEvent::Credential(CredentialEvent::Issued) => "credential.issued",
            DomainEvent::Credential(CredentialEvent::Revoked) => "credential.revoked",
            DomainEvent::Catalog(CatalogEvent::ProductCreated) => "product.created",
            DomainEvent::Catalog(CatalogEvent::ProductUpdated) => "product.updated",
            DomainEvent::Catalog(CatalogEvent::ProductDeleted) => "product.deleted",
            DomainEvent::Catalog(CatalogEvent::StockSet) => "product.stock_changed",
            DomainEvent::Catalog(CatalogEvent::PriceSet) => "product.price_changed",
            DomainEvent::Catalog(CatalogEvent::ImportFinished) => "import.finished",
            DomainEvent::Finance(FinanceEvent::StatementLoaded) => "statement.loaded",
            DomainEvent::Finance(FinanceEvent::LineConciliated) => "extract_line.conciliated",
            DomainEvent::Finance(FinanceEvent::LineDivergent) => "extract_line.divergent",
        }
    }

    /// Every type name, for documentation and filters that check a name exists.
    pub const TYPE_NAMES: [&'static str; 22] = [
        "order.created",
        "order.updated",
        "order.status_changed",
        "order.invoiced",
        "order.tracking_changed",
        "order.erp_marked",
        "ticket.opened",
        "ticket.message_added",
        "ticket.read_state_changed",
        "ticket.mediation_requested",
        "ticket.closed",
        "product.created",
        "product.updated",
        "product.deleted",
        "product.stock_changed",
        "product.price_changed",
        "import.finished",
        "credential.issued",
        "credential.revoked",
        "statement.loaded",
        "extract_line.conciliated",
        "extract_line.divergent",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event is named `<entity>.<what happened>` in snake case, and listed.
    #[test]
    fn every_event_has_a_listed_snake_case_name() {
        let all = [
            DomainEvent::Ticket(TicketEvent::Opened),
            DomainEvent::Ticket(TicketEvent::MessageAdded { index: 0 }),
            DomainEvent::Ticket(TicketEvent::ReadStateSet(ReadState::Read)),
            DomainEvent::Ticket(TicketEvent::MediationRequested),
            DomainEvent::Ticket(TicketEvent::Closed),
            DomainEvent::Order(OrderEvent::Pushed),
            DomainEvent::Order(OrderEvent::Created),
            DomainEvent::Order(OrderEvent::Updated),
            DomainEvent::Order(OrderEvent::StatusChanged),
            DomainEvent::Order(OrderEvent::Invoiced),
            DomainEvent::Order(OrderEvent::TrackingSet),
            DomainEvent::Order(OrderEvent::ErpMarked),
            DomainEvent::Credential(CredentialEvent::Issued),
            DomainEvent::Credential(CredentialEvent::Revoked),
            DomainEvent::Catalog(CatalogEvent::ProductCreated),
            DomainEvent::Catalog(CatalogEvent::ProductUpdated),
            DomainEvent::Catalog(CatalogEvent::ProductDeleted),
            DomainEvent::Catalog(CatalogEvent::StockSet),
            DomainEvent::Catalog(CatalogEvent::PriceSet),
            DomainEvent::Catalog(CatalogEvent::ImportFinished),
            DomainEvent::Finance(FinanceEvent::StatementLoaded),
            DomainEvent::Finance(FinanceEvent::LineConciliated),
            DomainEvent::Finance(FinanceEvent::LineDivergent),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for e in all {
            let name = e.type_name();
            assert!(
                DomainEvent::TYPE_NAMES.contains(&name),
                "{name} is not listed"
            );
            let (entity, what) = name.split_once('.').expect("entity.what");
            for part in [entity, what] {
                assert!(
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{name}"
                );
            }
            seen.insert(name);
        }
        assert_eq!(seen.len(), DomainEvent::TYPE_NAMES.len());
        assert_eq!(
            OrderEvent::Pushed.as_pushed(Upserted::Updated),
            OrderEvent::Updated
        );
    }
}
