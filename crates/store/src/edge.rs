//! What the HTTP edge keeps in the database: the responses of requests sent with an
//! `Idempotency-Key` ([`IdempotencyStore`]), and rate-limit buckets shared by the hub
//! nodes of one database ([`RateLimitStore`]).
//!
//! The edge decides: which key a request claims, when a stored record has expired or
//! its first request was abandoned (it passes the times), which responses are kept.
//! A backend applies each call atomically, so two nodes racing for one key see one
//! claim win, and two requests on one bucket are both counted.

use async_trait::async_trait;
use entreposto_domain::{Admission, RateLimit, Timestamp};

use crate::Result;

/// A request's hold on an idempotency key: whose key, which request (the digest of
/// its method, path and body), and when it was claimed (which tells this claim from
/// a later one that took the key over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub credential_id: String,
    pub key: String,
    pub request_hash: [u8; 32],
    pub at: Timestamp,
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A key as stored: the request that claimed it, when, and its response once the
/// request finished (`None` while it is in flight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: [u8; 32],
    pub created_at: Timestamp,
    pub response: Option<StoredResponse>,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims the key for `claim`, as in flight, when the credential has no record of
    /// it, or its record was created before `expired_before`, or it is still in
    /// flight and was created before `abandoned_before` (its node died): `None` then.
    /// Otherwise the record as stored, untouched.
    async fn claim_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        expired_before: Timestamp,
        abandoned_before: Timestamp,
    ) -> Result<Option<IdempotencyRecord>>;
    /// Keeps `response` as the answer of `claim`'s key; `false` (and nothing written)
    /// when the key is no longer held by this claim (another took it over).
    async fn complete_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        response: &StoredResponse,
    ) -> Result<bool>;
    /// Gives the key up, if `claim` still holds it in flight: the next request with
    /// it runs as if it were new.
    async fn release_idempotency_key(&self, claim: &IdempotencyClaim) -> Result<()>;
    /// Deletes the records created before `before`; how many.
    async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64>;
}

#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Applies [`RateLimit::admit`] to `bucket` at `now` in one atomic step: the
    /// bucket's time moves only when the request is admitted. A bucket never seen is
    /// full.
    async fn admit_rate(&self, bucket: &str, limit: RateLimit, now: Timestamp)
        -> Result<Admission>;
    /// Forgets the buckets full again before `before` (a bucket not stored is full);
    /// how many.
    async fn purge_rate_buckets(&self, before: Timestamp) -> Result<u64>;
}
