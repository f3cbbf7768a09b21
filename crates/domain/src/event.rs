//! Domain events: what a decided change did, in the business's words.
//!
//! A use case hands the store each change together with the events it produced, and
//! the store persists both in one transaction (the outbox of a later capability reads
//! them from there). An event names its entity implicitly: a ticket event belongs to
//! the ticket of the change that carries it, so events can be decided before the
//! store has given a new ticket or message its id.

use crate::ReadState;

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
    /// key; which of the two is the store's answer from inside the same write.
    Pushed,
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
}

impl DomainEvent {
    /// The event's type as external consumers (webhooks, NATS subjects) name it.
    pub fn type_name(self) -> &'static str {
        match self {
            DomainEvent::Ticket(TicketEvent::Opened) => "ticket.opened",
            DomainEvent::Ticket(TicketEvent::MessageAdded { .. }) => "ticket.message_added",
            DomainEvent::Ticket(TicketEvent::ReadStateSet(_)) => "ticket.read_state_set",
            DomainEvent::Ticket(TicketEvent::MediationRequested) => "ticket.mediation_requested",
            DomainEvent::Ticket(TicketEvent::Closed) => "ticket.closed",
            DomainEvent::Order(OrderEvent::Pushed) => "order.pushed",
            DomainEvent::Order(OrderEvent::StatusChanged) => "order.status_changed",
            DomainEvent::Order(OrderEvent::Invoiced) => "order.invoiced",
            DomainEvent::Order(OrderEvent::TrackingSet) => "order.tracking_set",
            DomainEvent::Order(OrderEvent::ErpMarked) => "order.erp_marked",
            DomainEvent::Credential(CredentialEvent::Issued) => "credential.issued",
            DomainEvent::Credential(CredentialEvent::Revoked) => "credential.revoked",
            DomainEvent::Catalog(CatalogEvent::ProductCreated) => "product.created",
            DomainEvent::Catalog(CatalogEvent::ProductUpdated) => "product.updated",
            DomainEvent::Catalog(CatalogEvent::ProductDeleted) => "product.deleted",
            DomainEvent::Catalog(CatalogEvent::StockSet) => "product.stock_set",
            DomainEvent::Catalog(CatalogEvent::PriceSet) => "product.price_set",
            DomainEvent::Catalog(CatalogEvent::ImportFinished) => "import.finished",
        }
    }
}
