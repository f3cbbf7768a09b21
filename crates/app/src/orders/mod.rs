//! Order use cases: an order pushed by the marketplace side, and its lifecycle.
//!
//! An order is identified by its seller, channel and marketplace order id; pushing
//! one that exists replaces its data. Validation happens here, once, whichever edge
//! the order came through. The push is handed to the store as one atomic upsert by
//! that key (PostgreSQL's `INSERT .. ON CONFLICT`, one statement in SQLite's single
//! writer), with the progress a new order starts with (its state from the pushed
//! status, the first history entry, its pendencies): a push replaces what the
//! marketplace sent, so deciding "create" or "replace" here would cost every push a
//! read and a retry loop for the race between two first pushes. A re-push replaces
//! the marketplace's data, not the progress (only its pendencies and warnings follow
//! the new data): the state moves only by the actions below. The SKUs the seller's
//! catalog lacks (the `attribute` pendency) cost the push one catalog read.
//!
//! Every other change is an action on the order's progress: the marketplace approves
//! payment (reserving the ordered SKUs in the seller's catalog, or moving the order to
//! `pickandpack/outofstock` when one is short, reserving nothing), cancels (returning
//! exactly the reservation) and confirms delivery; the seller moves pick-and-pack,
//! ships, reports delivery, cancels, records the invoice and tracking codes; an ERP
//! marks the order taken. Each loads the order's view, asks the domain
//! ([`entreposto_domain::lifecycle::transition`]) whether the move is legal, builds one
//! [`OrderChange`] (history entries, interactions worded as the 00K document words
//! them, stock moves, events) and saves it guarded by the version it read.
//!
//! When the save is refused `Stale`, the order is read again. If its state is no
//! longer the one a state-moving change was decided on, the change is not re-applied:
//! the caller gets [`AppError::Conflict`] ("the order moved to X while this update was
//! decided"), because a transition decided on an old state may no longer be what the
//! caller meant (a ship racing a cancel, two moves racing on one step), and one of two
//! racing moves winning with the other told is what "no lost update" asks for. If the
//! state is the one it was decided on (the stock moved meanwhile, or a change that
//! moves no state, an ERP mark or tracking codes, landed first), the action is decided
//! again from the fresh order and catalog, up to [`ATTEMPTS`] times; changes that move
//! no state (invoice, tracking, ERP mark) are always decided again, since the fresh
//! decision checks them against the fresh state.
//!
//! After each saved change (and each push), the order's settlement lines follow it
//! ([`App::follow_order_settlement`], from `pickandpack/billed` on): reconciliation's
//! expected lines are derived from the order, so a failure there is logged and the
//! order's change still stands.

mod stock;

use std::collections::HashMap;

use entreposto_domain::lifecycle::{interaction_wording, transition};
use entreposto_domain::{
    pendencies, warnings, Actor, CatalogEvent, ErpMark, FieldError, Interaction, InteractionOrigin,
    Invoice, OrderChange, OrderData, OrderEvent, OrderProgress, OrderState, ProductKind, Scope,
    StateChange, StockMove, Timestamp, TrackingCode, TransitionFacts, Upserted,
};
use entreposto_store::{OrderView, ProductKey, StoreError};

use crate::{backoff, App, AppError, Result, ATTEMPTS};

pub use stock::Short;

/// What is done to an order's progress, and by whom.
#[derive(Debug, Clone)]
enum Action {
    ApprovePayment,
    Cancel(Actor),
    ConfirmDelivery,
    /// The seller moves the order to this state.
    Move(OrderState),
    Invoice(Invoice),
    Tracking(Vec<TrackingCode>),
    Erp(ErpMark),
}

impl Action {
    fn origin(&self) -> InteractionOrigin {
        match self {
            Action::ApprovePayment
            | Action::Cancel(Actor::Marketplace)
            | Action::ConfirmDelivery => InteractionOrigin::Administration,
            _ => InteractionOrigin::Api,
        }
    }
}

/// A change being decided on an order's view.
struct Draft {
    order_id: i64,
    loaded_version: i64,
    now: Timestamp,
    origin: InteractionOrigin,
    progress: OrderProgress,
    new_history: usize,
    new_interactions: usize,
    stock: Vec<StockMove>,
    events: Vec<OrderEvent>,
}

impl Draft {
    fn on(view: &OrderView, now: Timestamp, origin: InteractionOrigin) -> Draft {
        Draft {
            order_id: view.order.id,
            loaded_version: view.progress.version,
            now,
            origin,
            progress: view.progress.clone(),
            new_history: 0,
            new_interactions: 0,
            stock: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Records a move of the state: its history entry, its interaction (with the
    /// tracking codes when it ships) and its event.
    fn record_move(&mut self, to: OrderState, tracking: Option<&str>) {
        let from = self.progress.state;
        self.progress.history.push(StateChange {
            from: Some(from),
            to,
            at: self.now,
        });
        self.new_history += 1;
        let (action, description) = interaction_wording(from, to, tracking);
        self.interaction(action, description);
        self.events.push(OrderEvent::StatusChanged);
        self.progress.state = to;
        match to {
            OrderState::Shipped => self.progress.shipped_at = Some(self.now),
            OrderState::Delivered => self.progress.delivered_at = Some(self.now),
            _ => {}
        }
    }

    fn interaction(&mut self, action: String, description: String) {
        self.progress.interactions.push(Interaction {
            description,
            origin: self.origin,
            action,
            at: self.now,
        });
        self.new_interactions += 1;
    }

    /// Reserves with `moves`: they leave the catalog now, and a cancellation returns
    /// exactly them.
    fn reserve(&mut self, moves: Vec<StockMove>) {
        self.stock.extend(moves.iter().cloned());
        self.progress.reservation = moves;
    }

    /// Returns the reservation to the catalog (`back`: see [`stock::returns`]).
    fn release(&mut self, back: Vec<StockMove>) {
        self.progress.reservation.clear();
        self.stock.extend(back);
    }

    fn into_change(self) -> OrderChange {
        let mut progress = self.progress;
        progress.version = self.loaded_version + 1;
        OrderChange {
            order_id: self.order_id,
            loaded_version: self.loaded_version,
            now: self.now,
            progress,
            new_history: self.new_history,
            new_interactions: self.new_interactions,
            // A reservation or its return changes the products' stock.
            stock_events: if self.stock.is_empty() {
                Vec::new()
            } else {
                vec![CatalogEvent::StockSet]
            },
            stock: self.stock,
            events: self.events,
        }
    }
}

/// Whether `from` → `to` is legal for `actor` (`false`: the order is there already).
fn check(view: &OrderView, to: OrderState, actor: Actor) -> Result<bool> {
    let facts = TransitionFacts {
        actor,
        has_invoice: view.progress.invoice.is_some(),
    };
    transition(view.progress.state, to, facts).map_err(|e| AppError::Invalid(e.into()))
}

/// The progress a pushed order starts with: its state from the pushed status, that
/// state as the first history entry (reached `at`: when the hub received the order),
/// and the pendencies of its data (`unknown_skus`: the ordered SKUs the seller's
/// catalog lacks). The store keeps it for a new order only; an existing one keeps its
/// progress and takes these pendencies and warnings.
pub fn initial_progress(data: &OrderData, unknown_skus: &[String], at: Timestamp) -> OrderProgress {
    let state = OrderState::from_marketplace(data.status);
    OrderProgress {
        state,
        version: 1,
        history: vec![StateChange {
            from: None,
            to: state,
            at,
        }],
        interactions: Vec::new(),
        invoice: None,
        trackings: Vec::new(),
        erp: Vec::new(),
        pendencies: pendencies(data, unknown_skus),
        warnings: warnings(data, unknown_skus),
        reservation: Vec::new(),
        shipped_at: None,
        delivered_at: None,
    }
}

/// The states an invoice may be recorded (or replaced) in: paid and not yet shipped.
fn invoice_open(state: OrderState) -> bool {
    matches!(
        state,
        OrderState::Paid
            | OrderState::Separated
            | OrderState::Billed
            | OrderState::Packaged
            | OrderState::OutOfStock
    )
}

/// The states tracking codes may be set in: paid, with the goods, until delivered.
fn tracking_open(state: OrderState) -> bool {
    matches!(
        state,
        OrderState::Paid
            | OrderState::Separated
            | OrderState::Billed
            | OrderState::Packaged
            | OrderState::Shipped
            | OrderState::NotDelivered
    )
}

fn refused(field: &str, message: String) -> AppError {
    AppError::Invalid(FieldError::new(field, message))
}

impl App {
    /// Validates and stores `data`: a new order with its initial progress, or the new
    /// data of the one with the same key (its progress kept); which of the two the
    /// store says.
    pub async fn push_order(&self, data: &OrderData) -> Result<(OrderView, Upserted)> {
        let now = self.now();
        data.validate(now)?;
        let scope = Scope::seller(&data.operator_id, &data.seller_id);
        let skus = stock::item_skus(&data.items);
        let keys: Vec<ProductKey> = skus.iter().cloned().map(ProductKey::Sku).collect();
        let known = self.store.find_products(&scope, &keys).await?;
        let unknown: Vec<String> = skus
            .into_iter()
            .filter(|s| !known.iter().any(|p| &p.data.sku == s))
            .collect();
        let progress = initial_progress(data, &unknown, now);
        let (order, how) = self
            .store
            .upsert_order(data, &progress, now, &[OrderEvent::Pushed])
            .await?;
        let progress = match how {
            Upserted::Created => progress,
            Upserted::Updated => self.store.get_order_view(&scope, order.id).await?.progress,
        };
        let view = OrderView { order, progress };
        self.follow_settlement(&view).await;
        Ok((view, how))
    }

    /// The marketplace approves the order's payment: `pending/payment` →
    /// `payment/paid`, reserving its SKUs; or, when one is short, on to
    /// `pickandpack/outofstock` reserving nothing. Approving a paid order changes
    /// nothing.
    pub async fn approve_payment(&self, scope: &Scope, order_id: i64) -> Result<OrderView> {
        self.act(scope, order_id, Action::ApprovePayment).await
    }

    /// Cancels the order for the marketplace, returning its reservation to the
    /// catalog. Cancelling a cancelled order changes nothing.
    pub async fn cancel_order(&self, scope: &Scope, order_id: i64) -> Result<OrderView> {
        self.act(scope, order_id, Action::Cancel(Actor::Marketplace))
            .await
    }

    /// The marketplace confirms the order was delivered.
    pub async fn confirm_delivery(&self, scope: &Scope, order_id: i64) -> Result<OrderView> {
        self.act(scope, order_id, Action::ConfirmDelivery).await
    }

    /// The seller moves the order: through pick-and-pack, to shipped (with an invoice),
    /// to delivered or not delivered, or cancelled (returning the reservation). Leaving
    /// `pickandpack/outofstock` reserves the SKUs, or is refused naming the one still
    /// short. Moving to the state the order is in changes nothing.
    pub async fn move_order(
        &self,
        scope: &Scope,
        order_id: i64,
        to: OrderState,
    ) -> Result<OrderView> {
        let action = match to {
            OrderState::Cancelled => Action::Cancel(Actor::Seller),
            to => Action::Move(to),
        };
        self.act(scope, order_id, action).await
    }

    /// Records (or replaces, until the order ships) the order's NF-e, checked against
    /// the seller's document.
    pub async fn set_invoice(
        &self,
        scope: &Scope,
        order_id: i64,
        invoice: Invoice,
    ) -> Result<OrderView> {
        self.act(scope, order_id, Action::Invoice(invoice)).await
    }

    /// Sets the order's tracking codes (replacing the ones it had).
    pub async fn set_tracking(
        &self,
        scope: &Scope,
        order_id: i64,
        codes: Vec<TrackingCode>,
    ) -> Result<OrderView> {
        self.act(scope, order_id, Action::Tracking(codes)).await
    }

    /// An ERP marks the order taken (or failed to take it): the ERP's mark replaces
    /// its earlier one, at the clock's time (`mark.at` is ignored). The same mark
    /// again changes nothing, so the first time it was taken is kept.
    pub async fn mark_erp(&self, scope: &Scope, order_id: i64, mark: ErpMark) -> Result<OrderView> {
        self.act(scope, order_id, Action::Erp(mark)).await
    }

    /// Loads the order, decides `action` on it and saves the change (see the module
    /// note for what happens when the save lost a race).
    async fn act(&self, scope: &Scope, order_id: i64, action: Action) -> Result<OrderView> {
        let mut view = self.store.get_order_view(scope, order_id).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(draft) = self.decide(&action, &view).await? else {
                return Ok(view);
            };
            let decided_on = view.progress.state;
            let moves_state = draft.new_history > 0;
            match self
                .store
                .save_order_change(scope, draft.into_change())
                .await
            {
                Ok(progress) => {
                    let view = OrderView {
                        order: view.order,
                        progress,
                    };
                    self.follow_settlement(&view).await;
                    return Ok(view);
                }
                Err(StoreError::Stale) => {
                    let fresh = self.store.get_order_view(scope, order_id).await?;
                    if moves_state && fresh.progress.state != decided_on {
                        return Err(AppError::Conflict(format!(
                            "the order moved to {} while this update was decided (on {decided_on}); \
                             read it again and decide anew",
                            fresh.progress.state
                        )));
                    }
                    if attempt >= ATTEMPTS {
                        return Err(AppError::Conflict(
                            "the order (or the stock it reserves) kept changing concurrently; retry"
                                .into(),
                        ));
                    }
                    backoff(attempt).await;
                    view = fresh;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Keeps the order's settlement lines in step with the change just saved (see
    /// [`App::follow_order_settlement`]; the saved view is at hand, so it is not read
    /// again). A failure is logged and not returned: the order's change is saved and
    /// is what the caller asked for, and the lines are derived data, recomputed from
    /// the order on its next change.
    async fn follow_settlement(&self, view: &OrderView) {
        if let Err(e) = self.follow_view(view).await {
            tracing::warn!(
                order_id = view.order.id,
                error = %e,
                "settlement lines not updated after an order change"
            );
        }
    }

    /// The change `action` makes on `view`, `None` when it changes nothing.
    async fn decide(&self, action: &Action, view: &OrderView) -> Result<Option<Draft>> {
        let mut d = Draft::on(view, self.now(), action.origin());
        let state = view.progress.state;
        match action {
            Action::ApprovePayment => {
                if !check(view, OrderState::Paid, Actor::Marketplace)? {
                    return Ok(None);
                }
                d.record_move(OrderState::Paid, None);
                match self.plan_reservation(view).await? {
                    Ok(moves) => d.reserve(moves),
                    Err(_short) => d.record_move(OrderState::OutOfStock, None),
                }
            }
            Action::Cancel(actor) => {
                if !check(view, OrderState::Cancelled, *actor)? {
                    return Ok(None);
                }
                d.record_move(OrderState::Cancelled, None);
                let back = self.returns(view).await?;
                d.release(back);
            }
            Action::ConfirmDelivery => {
                if !check(view, OrderState::Delivered, Actor::Marketplace)? {
                    return Ok(None);
                }
                d.record_move(OrderState::Delivered, None);
            }
            Action::Move(to) => {
                if !check(view, *to, Actor::Seller)? {
                    return Ok(None);
                }
                if state == OrderState::OutOfStock && view.progress.reservation.is_empty() {
                    match self.plan_reservation(view).await? {
                        Ok(moves) => d.reserve(moves),
                        Err(short) => {
                            return Err(refused(
                                "status",
                                format!("cannot move the order from {state} to {to}: {short}"),
                            ))
                        }
                    }
                }
                let codes = view
                    .progress
                    .trackings
                    .iter()
                    .map(TrackingCode::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                let tracking = (*to == OrderState::Shipped && !codes.is_empty()).then_some(codes);
                d.record_move(*to, tracking.as_deref());
            }
            Action::Invoice(invoice) => {
                let data = &view.order.data;
                let seller = self
                    .store
                    .get_seller(&data.operator_id, &data.seller_id)
                    .await?;
                invoice.validate(seller.document.as_ref())?;
                if !invoice_open(state) {
                    return Err(refused(
                        "status",
                        format!(
                            "an invoice is recorded between payment and shipping; the order is {state}"
                        ),
                    ));
                }
                if view.progress.invoice.as_ref() == Some(invoice) {
                    return Ok(None);
                }
                d.progress.invoice = Some(invoice.clone());
                d.events.push(OrderEvent::Invoiced);
            }
            Action::Tracking(codes) => {
                if codes.is_empty() {
                    return Err(refused(
                        "trackings",
                        "must list at least one SRO code".into(),
                    ));
                }
                if !tracking_open(state) {
                    return Err(refused(
                        "status",
                        format!(
                            "tracking codes are set between payment and delivery; the order is {state}"
                        ),
                    ));
                }
                let mut unique: Vec<TrackingCode> = Vec::new();
                for c in codes {
                    if !unique.contains(c) {
                        unique.push(c.clone());
                    }
                }
                if unique == view.progress.trackings {
                    return Ok(None);
                }
                if state == OrderState::Shipped {
                    let joined = unique
                        .iter()
                        .map(TrackingCode::as_str)
                        .collect::<Vec<_>>()
                        .join(", ");
                    let (action, text) = interaction_wording(state, state, Some(&joined));
                    d.interaction(action, text);
                }
                d.progress.trackings = unique;
                d.events.push(OrderEvent::TrackingSet);
            }
            Action::Erp(mark) => {
                let erp = ErpMark::parse_erp(&mark.erp)?;
                let error = mark
                    .error
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string);
                if mark.sent && error.is_some() {
                    return Err(refused(
                        "errorMessage",
                        "an order the ERP took carries no error: send sent=false with it".into(),
                    ));
                }
                let marks = &mut d.progress.erp;
                if let Some(m) = marks.iter().find(|m| m.erp == erp) {
                    if m.sent == mark.sent && m.error == error {
                        return Ok(None);
                    }
                }
                marks.retain(|m| m.erp != erp);
                marks.push(ErpMark {
                    erp,
                    sent: mark.sent,
                    error,
                    at: d.now,
                });
                d.events.push(OrderEvent::ErpMarked);
            }
        }
        Ok(Some(d))
    }

    /// The moves that give the order's reservation back, to the products as they are
    /// now (one read, only when something is reserved).
    async fn returns(&self, view: &OrderView) -> Result<Vec<StockMove>> {
        let reserved = &view.progress.reservation;
        if reserved.is_empty() {
            return Ok(Vec::new());
        }
        let data = &view.order.data;
        let scope = Scope::seller(&data.operator_id, &data.seller_id);
        let mut keys: Vec<ProductKey> = Vec::new();
        for m in reserved {
            let k = ProductKey::Id(m.product_id);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let products = self.store.find_products(&scope, &keys).await?;
        Ok(stock::returns(reserved, &products))
    }

    /// Reads the products the order's items need (and their kits' components) and
    /// plans the reservation; `Err(short)` inside when a SKU is short.
    async fn plan_reservation(
        &self,
        view: &OrderView,
    ) -> Result<std::result::Result<Vec<StockMove>, Short>> {
        let data = &view.order.data;
        let scope = Scope::seller(&data.operator_id, &data.seller_id);
        let keys: Vec<ProductKey> = stock::item_skus(&data.items)
            .into_iter()
            .map(ProductKey::Sku)
            .collect();
        let mut products: HashMap<String, _> = self
            .store
            .find_products(&scope, &keys)
            .await?
            .into_iter()
            .map(|p| (p.data.sku.clone(), p))
            .collect();
        if products.values().any(|p| p.data.kind == ProductKind::Kit) {
            let more: Vec<ProductKey> = stock::component_skus(&data.items, &products)
                .into_iter()
                .map(ProductKey::Sku)
                .collect();
            if !more.is_empty() {
                for p in self.store.find_products(&scope, &more).await? {
                    products.insert(p.data.sku.clone(), p);
                }
            }
        }
        Ok(stock::plan(&data.items, &products))
    }
}
