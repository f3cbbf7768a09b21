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

use entreposto_domain::{Order, OrderData, OrderEvent, Upserted};

use crate::{App, Result};

impl App {
    /// Validates and stores `data`: a new order, or the new state of the one with the
    /// same key; which of the two the store says.
    pub async fn push_order(&self, data: &OrderData) -> Result<(Order, Upserted)> {
        let now = self.now();
        data.validate(now)?;
        let (order, how) = self
            .store
            .upsert_order(data, now, &[OrderEvent::Pushed])
            .await?;
        Ok((order, how))
    }
}
