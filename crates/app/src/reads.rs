//! The reads the edge may make without a use case: lookups and listings that decide
//! nothing, scoped like every store query.
//!
//! The edge gets a [`Reads`] instead of the store itself, so a dialect can read what
//! it renders but cannot write except through a use case of this crate: the store's
//! write half (saving a change, upserting an order, issuing a credential) is not
//! reachable from a handler at all.

use std::sync::Arc;

use entreposto_domain::{Order, Scope, Seller, Subject, Ticket, TicketMessage};
use entreposto_store::{Result, Store, TicketDetail, TicketFilter};

/// Read-only access to the store.
#[derive(Clone)]
pub struct Reads(Arc<dyn Store>);

impl Reads {
    pub fn new(store: Arc<dyn Store>) -> Reads {
        Reads(store)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.0.backend()
    }

    /// The seller `id` if it belongs to `operator_id`.
    pub async fn get_seller(&self, operator_id: &str, id: &str) -> Result<Seller> {
        self.0.get_seller(operator_id, id).await
    }

    pub async fn get_order(&self, scope: &Scope, id: i64) -> Result<Order> {
        self.0.get_order(scope, id).await
    }

    /// Orders of the scope with this marketplace order id (any channel), oldest first.
    pub async fn find_orders_by_marketplace_id(
        &self,
        scope: &Scope,
        marketplace_order_id: &str,
    ) -> Result<Vec<Order>> {
        self.0
            .find_orders_by_marketplace_id(scope, marketplace_order_id)
            .await
    }

    pub async fn list_subjects(&self, operator_id: &str) -> Result<Vec<Subject>> {
        self.0.list_subjects(operator_id).await
    }

    pub async fn get_ticket(&self, scope: &Scope, id: i64) -> Result<Ticket> {
        self.0.get_ticket(scope, id).await
    }

    pub async fn get_ticket_by_code(&self, scope: &Scope, code: &str) -> Result<Ticket> {
        self.0.get_ticket_by_code(scope, code).await
    }

    /// The ticket `id` in `scope` with its order and messages.
    pub async fn get_ticket_detail(&self, scope: &Scope, id: i64) -> Result<TicketDetail> {
        self.0.get_ticket_detail(scope, id).await
    }

    /// Messages of a ticket in `scope`, oldest first.
    pub async fn list_messages(&self, scope: &Scope, ticket_id: i64) -> Result<Vec<TicketMessage>> {
        self.0.list_messages(scope, ticket_id).await
    }

    /// Messages of a page of tickets, by ticket then oldest first.
    pub async fn list_messages_of(
        &self,
        scope: &Scope,
        ticket_ids: &[i64],
    ) -> Result<Vec<TicketMessage>> {
        self.0.list_messages_of(scope, ticket_ids).await
    }

    pub async fn list_tickets(&self, scope: &Scope, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        self.0.list_tickets(scope, filter).await
    }

    /// How many tickets match `filter` (its paging fields are ignored).
    pub async fn count_tickets(&self, scope: &Scope, filter: &TicketFilter) -> Result<u64> {
        self.0.count_tickets(scope, filter).await
    }
}
