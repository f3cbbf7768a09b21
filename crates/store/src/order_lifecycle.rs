//! The order lifecycle's storage contract: an order's progress (its state, history,
//! interactions, invoice, trackings, ERP marks, pendencies, warnings and stock
//! reservation), saved by decided [`OrderChange`]s, and the filtered order listing.
//!
//! A change is saved only if the order is in the caller's scope and its progress is
//! still at the version the change was decided on (`Stale` otherwise), together with
//! its stock moves in the seller's catalog: a move that would take a quantity below
//! zero makes the whole change `Stale` too (the stock moved since it was read), so
//! stock never goes negative and nothing of the change is written. A backend stores
//! the progress apart from the marketplace's body (columns for what listings filter
//! on, the rest in its own stored form), so a push never rewrites the progress and a
//! transition never rewrites the body.

use async_trait::async_trait;
use entreposto_domain::{Order, OrderChange, OrderProgress, OrderState, Scope, Timestamp};

use crate::Result;

/// An order with its progress: what every order rendering needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub order: Order,
    pub progress: OrderProgress,
}

/// Which orders a listing returns, newest placement first (`placed_at` descending,
/// then id descending), paged by offset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// The one order with this hub id (`GET /orders/{id}` with the listing's filters).
    pub id: Option<i64>,
    /// The channel (marketplace name), exact.
    pub channel: Option<String>,
    pub marketplace_order_id: Option<String>,
    /// A payment's transaction id, exact.
    pub transaction_id: Option<String>,
    /// `placed_at` in [from, to].
    pub placed_from: Option<Timestamp>,
    pub placed_to: Option<Timestamp>,
    /// Any of these states (empty: all).
    pub states: Vec<OrderState>,
    /// `Some(true)`: only orders with a pendency; `Some(false)`: only without.
    pub with_pendency: Option<bool>,
    pub with_warnings: Option<bool>,
    /// `Some(false)`: no ERP has taken the order (the ERP's work queue).
    pub erp_sent: Option<bool>,
    /// Orders this ERP took (`sent`).
    pub erp_type: Option<String>,
    /// Only orders at or past this position of the listing order, (`placed_at`, id)
    /// at most this pair: a page read from a remembered position instead of from the
    /// top (the offset then counts from it).
    pub from_position: Option<(Timestamp, i64)>,
    pub offset: u64,
    pub limit: u32,
}

#[async_trait]
pub trait OrderLifecycleStore: Send + Sync {
    /// The order `id` in `scope` with its progress.
    async fn get_order_view(&self, scope: &Scope, id: i64) -> Result<OrderView>;
    /// Persists a decided change (see the module note); returns the stored progress:
    /// the change's, at version `loaded_version + 1` (whatever version it carries). The
    /// order's `updated_at` becomes the change's `now`; each product a stock move
    /// touches gets its version bumped and `updated_at` set likewise.
    async fn save_order_change(&self, scope: &Scope, change: OrderChange) -> Result<OrderProgress>;
    async fn list_order_views(&self, scope: &Scope, filter: &OrderFilter)
        -> Result<Vec<OrderView>>;
    /// How many orders match `filter` (paging ignored).
    async fn count_order_views(&self, scope: &Scope, filter: &OrderFilter) -> Result<u64>;
}
