//! Order use cases: an order pushed by the marketplace side.
//!
//! An order is identified by its seller, channel and marketplace order id; pushing
//! one that exists replaces its data. Validation happens here, once, whichever edge
//! the order came through.
//!
//! The push is handed to the store as one atomic upsert by that key (PostgreSQL's
//! `INSERT .. ON CONFLICT`, one statement in SQLite's single writer): a push replaces
//! what the marketplace sent, so there is nothing to decide between "create" and
//! "replace" but which one the key's row makes it, and deciding it here would cost
//! every push a read and a retry loop for the race between two first pushes. The
//! store answers which it was, from inside the write, where the outbox will record
//! it with the [`OrderEvent::Pushed`] handed over. State the
//! order lifecycle decides (status transitions, invoices, tracking) will be decided
//! here and saved guarded by a version, as tickets are.

use entreposto_domain::{
    pendencies, Order, OrderData, OrderEvent, OrderProgress, OrderState, StateChange, Upserted,
};

use crate::{App, Result};

/// The progress an order starts with: the state its marketplace status maps to,
/// reached when it was placed, and the pendencies its data has. The store keeps it
/// only for a new order; an existing one keeps its progress and takes these
/// pendencies and warnings.
pub fn initial_progress(data: &OrderData) -> OrderProgress {
    let state = OrderState::from_marketplace(data.status);
    OrderProgress {
        state,
        version: 1,
        history: vec![StateChange {
            from: None,
            to: state,
            at: data.placed_at,
        }],
        interactions: vec![],
        invoice: None,
        trackings: vec![],
        erp: vec![],
        pendencies: pendencies(data, &[]),
        warnings: vec![],
        reservation: vec![],
        shipped_at: None,
        delivered_at: None,
    }
}

impl App {
    /// Validates and stores `data`: a new order, or the new state of the one with the
    /// same key; which of the two the store says.
    pub async fn push_order(&self, data: &OrderData) -> Result<(Order, Upserted)> {
        let now = self.now();
        data.validate(now)?;
        let (order, how) = self
            .store
            .upsert_order(data, &initial_progress(data), now, &[OrderEvent::Pushed])
            .await?;
        Ok((order, how))
    }
}
