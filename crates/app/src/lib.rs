//! The application layer: one use case per flow, between the edge and the store.
//!
//! A dialect (or the native API, or an admin command) parses its request into domain
//! values and calls a use case here. The use case loads what it needs through the
//! store traits, asks the domain to decide, and hands the store one decided change
//! with the events it produced, to persist atomically. Nothing about a flow is
//! decided in a handler or in a backend, so a ticket opened through Omnik follows the
//! same rules as one opened through the native API, on SQLite and on PostgreSQL.
//! Reads that decide nothing (listings, point lookups) go to the store directly.
//! Time comes from a [`Clock`], so tests set it instead of sleeping.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use entreposto_domain::{FieldError, Timestamp};
use entreposto_store::{Store, StoreError};

pub mod catalog;
pub mod contract;
pub mod credentials;
pub mod finance;
pub mod notifications;
pub mod orders;
pub mod page_marks;
pub mod reads;
pub mod tickets;
pub mod webhooks;

pub use credentials::IssuedSecret;
pub use reads::{CatalogView, Reads};
pub use tickets::OpenTicket;

/// Where use cases get the time from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock tests set and move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(t: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(t.0))
    }
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
    pub fn advance(&self, micros: i64) {
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// Why a use case did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The entity the use case is about (the order, the ticket, the credential) is not
    /// in the caller's scope; each dialect names it its own way.
    #[error("not found")]
    NotFound,
    /// The subject a ticket was to be opened under does not exist.
    #[error("unknown subject '{0}'")]
    UnknownSubject(String),
    /// Input that breaks a rule; names the field.
    #[error("{0}")]
    Invalid(FieldError),
    /// Closing a ticket that is already closed.
    #[error("the ticket is already closed")]
    AlreadyClosed,
    /// Well-formed input that conflicts with the current state (a name already
    /// taken, a record that kept changing under the use case).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Rows of a batch (an import) that break field rules: the whole request is
    /// refused, naming each row and its reasons.
    #[error("{} invalid rows", .0.len())]
    InvalidRows(Vec<entreposto_store::RowError>),
    /// The database is saturated; the caller may retry.
    #[error("busy")]
    Busy,
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Stale => {
                AppError::Conflict("the record kept changing concurrently; retry".into())
            }
            StoreError::Busy => AppError::Busy,
            StoreError::Rule(f) => AppError::Invalid(f),
            StoreError::Other(m) => AppError::Internal(m),
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> AppError {
        AppError::Invalid(e)
    }
}

pub type Result<T> = std::result::Result<T, AppError>;

/// How many times a use case decides again when its change lost a race (the row's
/// version moved, or a new ticket's code was taken meanwhile) before it gives up with
/// a conflict. Races on one ticket are rare, but a burst of replies to one ticket
/// loses all but one per commit group on SQLite, so the budget covers a burst of a
/// few dozen writers, with a growing random pause between tries ([`backoff`]).
const ATTEMPTS: u32 = 32;

/// The pause after losing try `attempt`: the first retry only yields (the winner's
/// commit is usually already visible), later ones sleep a random 0 to `attempt`
/// milliseconds, so racers that lost together do not collide again in lockstep. The
/// timer's granularity is a millisecond, so finer jitter would wake them together.
async fn backoff(attempt: u32) {
    use rand::Rng;
    if attempt <= 1 {
        tokio::task::yield_now().await;
        return;
    }
    let ms = rand::thread_rng().gen_range(0..=u64::from(attempt));
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// The use cases, over one store and one clock.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Woken when this node accepts an import job, so its worker starts at once.
    jobs: Arc<tokio::sync::Notify>,
    /// How long a claimed import job stays this node's without a renewal.
    import_lease_micros: i64,
    /// See [`webhooks::WebhookSettings`].
    webhooks: webhooks::WebhookSettings,
    /// Woken when this node writes deliveries (a fan-out, a replay), so its webhook
    /// dispatcher sends them at once.
    webhook_work: Arc<tokio::sync::Notify>,
    /// How long a claimed change feed stays this node's without a renewal.
    feed_lease_micros: i64,
    /// Whether change feeds may name loopback, private and link-local addresses
    /// (`[notifications] allow_private_addresses`).
    feeds_allow_private: bool,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            clock,
            jobs: Arc::new(tokio::sync::Notify::new()),
            import_lease_micros: catalog::jobs::LEASE_MICROS,
            webhooks: Default::default(),
            webhook_work: Arc::new(tokio::sync::Notify::new()),
            feed_lease_micros: notifications::feeds::LEASE_MICROS,
            feeds_allow_private: false,
        }
    }

    /// With another import lease (see [`catalog::jobs`]): shorter leases hand a dead
    /// node's job to another sooner, at the price of more renewals.
    pub fn with_import_lease(mut self, lease: std::time::Duration) -> App {
        self.import_lease_micros = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX).max(1);
        self
    }

    /// Over the system clock.
    pub fn with_system_clock(store: Arc<dyn Store>) -> App {
        App::new(store, Arc::new(SystemClock))
    }

    /// The reads that decide nothing, for the edge (no write is reachable from them).
    pub fn reads(&self) -> Reads {
        Reads::new(self.store.clone())
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The clock the use cases run on, for workers that time leases by it.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at(Timestamp(10));
        assert_eq!(c.now(), Timestamp(10));
        c.advance(5);
        assert_eq!(c.now(), Timestamp(15));
        c.set(Timestamp(1));
        assert_eq!(c.now(), Timestamp(1));
    }

    #[test]
    fn a_stale_change_surfaces_as_a_conflict() {
        assert!(matches!(
            AppError::from(StoreError::Stale),
            AppError::Conflict(_)
        ));
    }
}
