//! The storage contract of change feeds: per seller, the URL of the seller's own
//! system that lists what changed there (00K's "ATIVA" notifications), its settings,
//! and the poll state the hub keeps (the last position applied, when to poll next,
//! the last error).
//!
//! A feed is polled by one node at a time: [`FeedStore::claim_change_feed`] takes a
//! due feed no node holds and records the claimant (`holder`) with a lease; every
//! later write of that poll ([`FeedStore::advance_change_feed`],
//! [`FeedStore::end_change_feed_poll`]) names the holder and is refused as
//! [`StoreError::Stale`](crate::StoreError::Stale) once another node has taken the
//! feed over (the lease ran out) or the settings were saved again. Positions are
//! the seller's own opaque strings; the store keeps the last one it is handed and
//! decides nothing about them.

use async_trait::async_trait;
use entreposto_domain::{Scope, Timestamp};

use crate::sealing::{feed_headers_place, Sealer};
use crate::Result;

/// What the operator sets for a seller's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSettings {
    /// The change list's URL (`http` or `https`).
    pub url: String,
    /// Sent with every request to the URL, as given (the seller's system's
    /// credentials): name and value.
    pub headers: Vec<(String, String)>,
    /// Seconds between the end of one poll and the next.
    pub interval_seconds: u32,
    /// Disabled feeds are kept with their position but never polled.
    pub enabled: bool,
}

/// A seller's feed: its settings and where polling it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFeed {
    pub operator_id: String,
    pub seller_id: String,
    pub settings: FeedSettings,
    /// The position of the last change applied; `None` before the first.
    pub position: Option<String>,
    /// When the feed is due (the next poll, or the retry after a failure).
    pub next_poll_at: Timestamp,
    /// When the last poll began.
    pub last_polled_at: Option<Timestamp>,
    /// When a poll last ended without an error.
    pub last_success_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    /// Polls that failed in a row (0 after a success or a settings change).
    pub failures: u32,
    /// Changes applied, and refused, since the feed was created.
    pub applied: u64,
    pub rejected: u64,
    /// Why the last refused change was refused (its position and the reason).
    pub last_rejection: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a poll hands the store after applying a page of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedProgress {
    /// The position of the page's last change: the feed resumes after it.
    pub position: String,
    /// Changes of the page applied, and refused.
    pub applied: u64,
    pub rejected: u64,
    /// Set when the page refused a change; the stored one is kept otherwise.
    pub last_rejection: Option<String>,
    /// The holder's lease, renewed.
    pub lease_until: Timestamp,
}

/// How a poll ended, as decided by the poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPollEnd {
    pub at: Timestamp,
    pub next_poll_at: Timestamp,
    /// `None` for a success (which sets `last_success_at`); else what failed.
    pub error: Option<String>,
    /// The feed's new count of failures in a row.
    pub failures: u32,
}

#[async_trait]
pub trait FeedStore: Send + Sync {
    /// Creates or replaces the settings of the scope's seller's feed (`NotFound` for
    /// a seller outside the operator, or a scope without a seller). The feed becomes
    /// due at `now`, its failures are cleared and any node's claim on it is voided
    /// (the poll under way stops at its next write). `position`: `None` keeps the
    /// stored one, `Some(p)` replaces it (`Some(None)`: from the beginning).
    async fn put_change_feed(
        &self,
        scope: &Scope,
        settings: &FeedSettings,
        position: Option<Option<String>>,
        now: Timestamp,
    ) -> Result<ChangeFeed>;
    /// The scope's seller's feed.
    async fn get_change_feed(&self, scope: &Scope) -> Result<ChangeFeed>;
    /// Removes the scope's seller's feed (`NotFound` if it has none).
    async fn delete_change_feed(&self, scope: &Scope) -> Result<()>;
    /// Takes the enabled feed due soonest (`next_poll_at` at or before `now`) that
    /// no node holds, or whose holder's lease ran out before `now`, for `holder`
    /// until `lease_until`; its `last_polled_at` becomes `now`.
    async fn claim_change_feed(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        holder: &str,
    ) -> Result<Option<ChangeFeed>>;
    /// Records a page applied: the new position and counts, and a renewed lease.
    /// `Stale` unless `holder` still holds the seller's feed.
    async fn advance_change_feed(
        &self,
        seller_id: &str,
        holder: &str,
        progress: &FeedProgress,
    ) -> Result<()>;
    /// Ends `holder`'s poll: records how it went and when the feed is due next,
    /// and releases the claim. `Stale` unless `holder` still holds the feed.
    async fn end_change_feed_poll(
        &self,
        seller_id: &str,
        holder: &str,
        end: &FeedPollEnd,
    ) -> Result<()>;
}

/// `Stale` when a holder's write changed no row: it no longer holds the feed (both
/// backends answer a lost claim so).
pub fn held(changed: u64) -> crate::Result<()> {
    if changed == 0 {
        Err(crate::StoreError::Stale)
    } else {
        Ok(())
    }
}

/// A poll's counter as a database integer (saturating).
pub fn stored_count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The stored form of `seller_id`'s feed headers: a JSON array of `[name, value]`
/// pairs (the same text in every backend), sealed by `sealer` (they carry the
/// credentials of the seller's system).
pub fn encode_headers(headers: &[(String, String)], sealer: &Sealer, seller_id: &str) -> String {
    let json = serde_json::to_string(headers).unwrap_or_else(|_| "[]".into());
    sealer.seal(&feed_headers_place(seller_id), &json)
}

/// The headers [`encode_headers`] stored for `seller_id`.
pub fn decode_headers(
    text: &str,
    sealer: &Sealer,
    seller_id: &str,
) -> std::result::Result<Vec<(String, String)>, String> {
    let json = sealer
        .open(&feed_headers_place(seller_id), text)
        .map_err(|e| e.0)?;
    serde_json::from_str(&json).map_err(|e| format!("feed headers: {e}"))
}
