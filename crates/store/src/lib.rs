//! The storage contract: what the rest of Entreposto asks of a database.
//!
//! One trait per aggregate ([`TenantStore`], [`OrderStore`], [`TicketStore`]) gathered
//! in [`Store`], implemented once per backend (SQLite embedded by default, PostgreSQL
//! for scale). Backends persist and query; they decide nothing: a change arrives
//! decided by the application layer (a [`TicketChange`] with its events) and is
//! written as it is, atomically, or refused as [`StoreError::Stale`] when the row
//! moved since it was loaded. Every write takes the domain events the change
//! produced (a [`TicketChange`]'s, or an `events` argument) and inserts them into the
//! [`outbox`] in the same transaction ([`events`] builds the rows, for both
//! backends); the bulk loads (`import_orders`, `import_tickets`,
//! `import_products_bulk`) write none.
//! Every query that touches business rows takes a [`Scope`] and filters by it in SQL,
//! so no call can return another seller's data. The application's `contract` suite,
//! [`catalog_contract`], [`order_lifecycle_contract`], [`finance_contract`],
//! [`feed_contract`] and [`outbox_contract`] hold the tests each backend runs against
//! itself.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use entreposto_domain::{
    Credential, CredentialEvent, FieldError, LoadedTicket, Operator, Order, OrderData, OrderEvent,
    OrderProgress, OrderSummary, ReadState, Scope, Seller, Subject, Ticket, TicketChange,
    TicketHead, TicketMessage, Timestamp, Upserted,
};

pub mod catalog;
pub mod catalog_contract;
pub mod catalog_json;
pub mod count_cache;
pub mod edge;
pub mod edge_contract;
pub mod events;
pub mod feed_contract;
pub mod feeds;
pub mod finance;
pub mod finance_contract;
pub mod finance_json;
pub mod fixtures;
pub mod order_lifecycle;
pub mod order_lifecycle_contract;
pub mod outbox;
pub mod outbox_contract;
pub mod progress_json;
pub mod sealing;

pub use catalog::*;
pub use edge::*;
pub use events::{EventPayloads, PlainPayloads};
pub use feeds::*;
pub use finance::*;
pub use order_lifecycle::*;
pub use outbox::{Claim, EventFilter, NewEvent, OutboxEvent, OutboxStore, SinkState};
pub mod stored_form;
pub mod webhooks;
pub mod webhooks_contract;
pub use webhooks::WebhookStore;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No row, or a row outside the caller's scope (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule would be broken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is overloaded or locked; the caller may retry.
    #[error("database busy")]
    Busy,
    /// A business rule refused the change (a message on a closed ticket).
    #[error("{0}")]
    Rule(FieldError),
    /// The row changed since the change was decided (its version moved); the caller
    /// loads it again and decides anew.
    #[error("changed concurrently")]
    Stale,
    #[error("storage error: {0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The schema versions every backend has, in order, each with its SQL: expands in a
/// backend crate to its own `migrations/NNNN_name.sql` files, so both backends apply
/// the same versions under the same names (each in its own SQL dialect).
#[macro_export]
macro_rules! migrations {
    () => {
        $crate::migrations!(
            1 => "0001_foundation",
            2 => "0002_tickets",
            3 => "0003_ticket_listing",
            4 => "0004_message_topic",
            5 => "0005_messages_by_ticket",
            6 => "0006_ticket_code_key",
            7 => "0007_messages_by_slot",
            8 => "0008_ticket_version",
            9 => "0009_server_keys",
            10 => "0010_catalog",
            11 => "0011_order_lifecycle",
            12 => "0012_finance",
            13 => "0013_outbox",
            14 => "0014_webhooks",
            15 => "0015_idempotency_rate_limits",
            16 => "0016_zerok_notifications",
            17 => "0017_product_search",
            18 => "0018_extract_line_version",
            19 => "0019_outbox_payload_text",
            20 => "0020_outbox_positions",
            21 => "0021_webhook_tables_by_seq",
        )
    };
    ($($v:literal => $name:literal),* $(,)?) => {
        &[$(($v, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $name, ".sql")))),*]
    };
}

/// Refuses a database whose schema (`newest` applied migration) is newer than the
/// `migrations` this binary knows: an older binary would misread what a newer one
/// wrote (SQLite's binary order bodies, its clustered messages) instead of failing.
pub fn check_schema_version(newest: Option<i64>, migrations: &[(i64, &str)]) -> Result<()> {
    let known = migrations.last().map_or(0, |m| m.0);
    match newest {
        Some(v) if v > known => Err(StoreError::Other(format!(
            "the database schema is at version {v}, newer than this binary knows ({known}); \
             run a newer entreposto"
        ))),
        _ => Ok(()),
    }
}

/// A credential's `rate_limit` column read back (`N/s`, as `RateLimit` prints it).
pub fn stored_rate_limit(text: Option<&str>) -> Result<Option<entreposto_domain::RateLimit>> {
    text.map(|t| {
        entreposto_domain::RateLimit::parse(t, "rate_limit")
            .map_err(|e| StoreError::Other(format!("stored credential: {e}")))
    })
    .transpose()
}

/// A fresh application id: a ULID, sortable by creation time, safe in URLs.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn create_operator(&self, operator: &Operator) -> Result<()>;
    async fn get_operator(&self, id: &str) -> Result<Operator>;
    async fn create_seller(&self, seller: &Seller) -> Result<()>;
    /// The seller `id` if it belongs to `operator_id`.
    async fn get_seller(&self, operator_id: &str, id: &str) -> Result<Seller>;
    /// Looks a seller up by id alone: for admin commands, never for a request.
    async fn find_seller(&self, id: &str) -> Result<Seller>;
    async fn list_sellers(&self, operator_id: &str) -> Result<Vec<Seller>>;
    /// Stores a new credential, with the events issuing it produced.
    async fn create_credential(
        &self,
        credential: &Credential,
        events: &[CredentialEvent],
    ) -> Result<()>;
    async fn get_credential(&self, id: &str) -> Result<Credential>;
    /// Marks a credential revoked; revoking twice keeps the first time.
    async fn revoke_credential(
        &self,
        id: &str,
        at: Timestamp,
        events: &[CredentialEvent],
    ) -> Result<()>;
    /// The server key called `name`: `candidate` is stored if there is none yet, and
    /// whichever key is stored is returned, so every node of one database agrees.
    async fn server_key(&self, name: &str, candidate: &[u8; 32]) -> Result<[u8; 32]>;
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates the order, or updates the one with the same seller, channel and
    /// marketplace order id. The returned order carries the hub id either way.
    /// `initial` is the progress of a new order, stored only when the key is new; an
    /// existing order keeps its progress but takes `initial`'s pendencies and warnings
    /// (they follow from the data just replaced), and when that changes them its
    /// progress version moves, so a change decided on the old ones is `Stale`.
    /// The payments' transaction ids are kept for the `transaction_id` filter.
    /// `events` are the push's, written with it.
    async fn upsert_order(
        &self,
        data: &OrderData,
        initial: &OrderProgress,
        now: Timestamp,
        events: &[OrderEvent],
    ) -> Result<(Order, Upserted)>;
    async fn get_order(&self, scope: &Scope, id: i64) -> Result<Order>;
    /// Orders of the scope with this marketplace order id (any channel), oldest first.
    async fn find_orders_by_marketplace_id(
        &self,
        scope: &Scope,
        marketplace_order_id: &str,
    ) -> Result<Vec<Order>>;
    async fn count_orders(&self, scope: &Scope) -> Result<u64>;
    /// Bulk load for demo data and imports: plain inserts in large transactions, each
    /// order with its progress, and no events (nothing is announced for data loaded
    /// this way). Fails with `Conflict` if an order key already exists.
    async fn import_orders(&self, orders: &[ImportOrder], now: Timestamp) -> Result<u64>;
}

/// An order with the progress it starts with, for bulk loads.
#[derive(Debug, Clone)]
pub struct ImportOrder {
    pub data: OrderData,
    pub progress: OrderProgress,
}

/// Which tickets a listing returns. Listings are newest update first (`updated_at`
/// descending, then id descending) and paged by keyset: `after` is the
/// (`updated_at`, `id`) of the last ticket of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// `Some(true)`: only instances (no message yet); `Some(false)`: only tickets with
    /// messages; `None`: both.
    pub instances: Option<bool>,
    pub read_state: Option<ReadState>,
    pub mediation: Option<bool>,
    /// `updated_at` in [from, to).
    pub updated_from: Option<Timestamp>,
    pub updated_to: Option<Timestamp>,
    pub order_id: Option<i64>,
    pub marketplace_order_id: Option<String>,
    /// `Some(true)`: only open tickets; `Some(false)`: only closed ones.
    pub open: Option<bool>,
    /// Listing order (always descending); keyset paging (`after`) needs `UpdatedAt`.
    pub sort: TicketSort,
    pub after: Option<(Timestamp, i64)>,
    /// Rows to skip, for offset-paged dialects (Omnik). Costs grow with the offset.
    pub offset: u64,
    pub limit: u32,
}

/// Which time a ticket listing is sorted by, newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TicketSort {
    #[default]
    UpdatedAt,
    CreatedAt,
}

impl TicketFilter {
    /// The filter's conditions that take no parameter, as SQL over `tickets`, the same
    /// in every backend: what an instance and an open ticket are, in columns.
    pub fn constant_conditions(&self) -> impl Iterator<Item = &'static str> {
        let instances = self.instances.map(|i| {
            if i {
                " AND message_count = 0"
            } else {
                " AND message_count > 0"
            }
        });
        let open = self.open.map(|o| {
            if o {
                " AND closed_at IS NULL"
            } else {
                " AND closed_at IS NOT NULL"
            }
        });
        instances.into_iter().chain(open)
    }
}

impl TicketSort {
    /// The `tickets` column a listing in this order sorts on (same in every backend).
    pub fn column(self) -> &'static str {
        match self {
            TicketSort::UpdatedAt => "updated_at",
            TicketSort::CreatedAt => "created_at",
        }
    }
}

/// A ticket with its messages, for bulk loads (demo data, migrations). The order is
/// found by the ticket's seller, channel and marketplace order id.
#[derive(Debug, Clone)]
pub struct ImportTicket {
    pub ticket: Ticket,
    pub messages: Vec<TicketMessage>,
}

#[async_trait]
pub trait TicketStore: Send + Sync {
    async fn create_subject(&self, subject: &Subject) -> Result<()>;
    async fn list_subjects(&self, operator_id: &str) -> Result<Vec<Subject>>;
    /// The operator's subject with this id, or else with this exact name.
    async fn find_subject(&self, operator_id: &str, id_or_name: &str) -> Result<Subject>;
    /// The ticket `id` in `scope` with its version and messages, for a change to
    /// decide on. A backend may read them in two statements: a message added in
    /// between has moved the version, so a change decided on them is refused stale.
    async fn load_ticket(&self, scope: &Scope, id: i64) -> Result<LoadedTicket>;
    /// How many tickets order `order_id` has (of any state).
    async fn count_order_tickets(&self, order_id: i64) -> Result<i64>;
    /// Whether the seller already has a ticket with this code.
    async fn ticket_code_taken(&self, seller_id: &str, code: &str) -> Result<bool>;
    /// Persists a decided change in one transaction: inserts the ticket when it is
    /// new (`Conflict` if its code is taken), else updates it if its version is still
    /// `loaded_version` (`Stale` otherwise); inserts the new messages in order and
    /// marks the answered ones. Returns the stored ticket and its new messages. The
    /// ticket must be in `scope` (`NotFound` otherwise), checked on the row as every
    /// read is: a change cannot land on another seller's ticket whoever builds it.
    /// The change is taken by value: a backend that writes on another thread (SQLite's
    /// writer) moves it there instead of copying the ticket's whole history.
    async fn save_ticket(
        &self,
        scope: &Scope,
        change: TicketChange,
    ) -> Result<(Ticket, Vec<TicketMessage>)>;
    async fn get_ticket(&self, scope: &Scope, id: i64) -> Result<Ticket>;
    async fn get_ticket_by_code(&self, scope: &Scope, code: &str) -> Result<Ticket>;
    /// Messages of a ticket in `scope`, oldest first.
    async fn list_messages(&self, scope: &Scope, ticket_id: i64) -> Result<Vec<TicketMessage>>;
    /// Messages of a page of tickets in one read, by ticket then oldest first; tickets
    /// not in `scope` contribute none.
    async fn list_messages_of(
        &self,
        scope: &Scope,
        ticket_ids: &[i64],
    ) -> Result<Vec<TicketMessage>>;
    async fn list_tickets(&self, scope: &Scope, filter: &TicketFilter) -> Result<Vec<Ticket>>;
    /// How many tickets match `filter` (its paging fields are ignored).
    async fn count_tickets(&self, scope: &Scope, filter: &TicketFilter) -> Result<u64>;
    /// Bulk load (demo data, migrations): no events are written.
    async fn import_tickets(&self, tickets: &[ImportTicket]) -> Result<u64>;
}

/// A ticket with its order and messages: what a dialect that shows all three
/// (Omnik's customer service) renders for one ticket.
#[derive(Debug, Clone)]
pub struct TicketDetail {
    /// What a case shows of the ticket.
    pub ticket: TicketHead,
    /// The order's head: a case shows no items or payments.
    pub order: OrderSummary,
    /// Where the order is in its lifecycle (kept apart from the pushed body).
    pub order_state: entreposto_domain::OrderState,
    /// Oldest first.
    pub messages: Vec<TicketMessage>,
}

#[async_trait]
pub trait Store:
    TenantStore
    + OrderStore
    + TicketStore
    + CatalogStore
    + OrderLifecycleStore
    + FinanceStore
    + OutboxStore
    + WebhookStore
    + IdempotencyStore
    + RateLimitStore
    + FeedStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Cheap round trip proving the database answers.
    async fn ping(&self) -> Result<()>;

    /// Rewrites every stored secret (webhook endpoints' secrets, change feeds'
    /// headers, the responses kept for idempotency keys, which may show a new
    /// endpoint's secret) that is not yet as the store's sealer stores it now
    /// ([`sealing::Sealer::is_current`]), in one transaction: after a key was set or
    /// rotated. A value no configured key opens fails it with
    /// [`sealing::LostSecrets::Refuse`], naming where it is, and nothing is written;
    /// with [`sealing::LostSecrets::Discard`] it is replaced as that says.
    async fn reseal_secrets(&self, lost: sealing::LostSecrets) -> Result<sealing::Resealed>;

    /// The ticket `id` in `scope` with its order and messages. A backend that can
    /// read all three from one snapshot does (SQLite); this default takes three reads.
    async fn get_ticket_detail(&self, scope: &Scope, id: i64) -> Result<TicketDetail> {
        let ticket = self.get_ticket(scope, id).await?;
        let view = self.get_order_view(scope, ticket.order_id).await?;
        let messages = self.list_messages(scope, id).await?;
        Ok(TicketDetail {
            ticket: ticket.into(),
            order: view.order.into(),
            order_state: view.progress.state,
            messages,
        })
    }
}
