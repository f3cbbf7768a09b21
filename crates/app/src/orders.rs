//! Order use cases: an order pushed by the marketplace side.
//!
//! An order is identified by its seller, channel and marketplace order id; pushing
//! one that exists replaces its data. Validation happens here, once, whichever edge
//! the order came through.

use entreposto_domain::{Order, OrderData, OrderEvent, Upserted};

use crate::{App, Result};

impl App {
    /// Validates and stores `data`: a new order, or the new state of the one with the
    /// same key. The event says which.
    pub async fn push_order(&self, data: &OrderData) -> Result<(Order, Upserted, OrderEvent)> {
        let now = self.now();
        data.validate(now)?;
        let (order, how) = self.store.upsert_order(data, now).await?;
        Ok((order, how, OrderEvent::Upserted(how)))
    }
}
