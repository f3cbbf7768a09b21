//! The contract suite of the edge's state ([`IdempotencyStore`](crate::IdempotencyStore)
//! and [`RateLimitStore`](crate::RateLimitStore)), written once against the traits.
//!
//! A backend's tests call [`edge_contract_tests!`](crate::edge_contract_tests) with an
//! async expression opening a fresh, empty store (`Option<impl Deref<Target =
//! Arc<dyn Store>>>`, `None` when the backend is not configured). Times are fixed
//! values, never the clock. What the traits leave open and this suite pins: a claim
//! is told from a later one by its time, so completing or releasing a claim that was
//! taken over writes nothing; a refused rate request leaves its bucket as it was, and
//! concurrent requests on one bucket are each counted once.

use std::sync::Arc;

use entreposto_domain::{RateLimit, Timestamp};

use crate::{IdempotencyClaim, IdempotencyRecord, Store, StoredResponse};

/// Expands to one `#[tokio::test]` per edge contract case.
#[macro_export]
macro_rules! edge_contract_tests {
    ($open:expr) => {
        $crate::edge_contract_tests!(@case $open, a_key_is_claimed_once_then_replayed);
        $crate::edge_contract_tests!(@case $open, keys_are_per_credential);
        $crate::edge_contract_tests!(@case $open, an_expired_record_is_claimed_anew);
        $crate::edge_contract_tests!(@case $open, an_abandoned_claim_is_taken_over);
        $crate::edge_contract_tests!(@case $open, a_released_key_is_free_again);
        $crate::edge_contract_tests!(@case $open, purges_delete_by_age);
        $crate::edge_contract_tests!(@case $open, buckets_admit_a_burst_then_one_per_emission);
        $crate::edge_contract_tests!(@case $open, concurrent_requests_are_each_counted);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => $crate::edge_contract::$name(std::sync::Arc::clone(&*store)).await,
                None => eprintln!("skipped: the backend under test is not configured"),
            }
        }
    };
}

const T0: Timestamp = Timestamp(1_700_000_000_000_000);
const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3600 * SECOND;

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * SECOND)
}

fn claim(credential: &str, key: &str, hash: u8, when: Timestamp) -> IdempotencyClaim {
    IdempotencyClaim {
        credential_id: credential.into(),
        key: key.into(),
        request_hash: [hash; 32],
        at: when,
    }
}

fn created(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
    }
}

/// Claims `c` as the edge does at `c.at`: records older than a day are expired,
/// in-flight ones older than a minute abandoned.
async fn take(store: &Arc<dyn Store>, c: &IdempotencyClaim) -> Option<IdempotencyRecord> {
    let (expired, abandoned) = (
        Timestamp(c.at.0 - 24 * HOUR),
        Timestamp(c.at.0 - 60 * SECOND),
    );
    store
        .claim_idempotency_key(c, expired, abandoned)
        .await
        .expect("claim")
}

pub async fn a_key_is_claimed_once_then_replayed(store: Arc<dyn Store>) {
    let first = claim("C1", "k-1", 1, T0);
    assert_eq!(take(&store, &first).await, None, "a new key is claimed");
    let again = claim("C1", "k-1", 2, at(1));
    let held = take(&store, &again).await.expect("the key is held");
    assert_eq!(held.request_hash, [1; 32], "the first request's, untouched");
    assert_eq!(held.created_at, T0);
    assert_eq!(held.response, None, "still in flight");

    let response = created(r#"{"id":7}"#);
    assert!(store
        .complete_idempotency_key(&first, &response)
        .await
        .unwrap());
    let done = take(&store, &again).await.expect("the key is held");
    assert_eq!(done.response, Some(response));
    assert_eq!(done.request_hash, [1; 32]);
    // A binary body and no content type come back as they went in.
    let other = claim("C1", "k-2", 3, T0);
    take(&store, &other).await;
    let raw = StoredResponse {
        status: 200,
        content_type: None,
        body: vec![0, 159, 255],
    };
    assert!(store.complete_idempotency_key(&other, &raw).await.unwrap());
    let back = take(&store, &other).await.unwrap();
    assert_eq!(back.response, Some(raw));
}

pub async fn keys_are_per_credential(store: Arc<dyn Store>) {
    for credential in ["C1", "C2"] {
        let c = claim(credential, "same-key", 1, T0);
        assert_eq!(take(&store, &c).await, None, "{credential} claims its own");
        assert!(store
            .complete_idempotency_key(&c, &created(credential))
            .await
            .unwrap());
    }
    let c2 = take(&store, &claim("C2", "same-key", 1, T0)).await.unwrap();
    assert_eq!(c2.response.unwrap().body, b"C2");
}

pub async fn an_expired_record_is_claimed_anew(store: Arc<dyn Store>) {
    let first = claim("C1", "k", 1, T0);
    take(&store, &first).await;
    store
        .complete_idempotency_key(&first, &created("old"))
        .await
        .unwrap();
    // Just within the day: still the first response.
    let day = 24 * 3600;
    let within = claim("C1", "k", 2, at(day - 1));
    assert!(take(&store, &within).await.is_some());
    // Past it: claimed anew, by the new request.
    let later = claim("C1", "k", 2, at(day + 1));
    assert_eq!(take(&store, &later).await, None);
    let record = take(&store, &claim("C1", "k", 3, at(day + 2)))
        .await
        .unwrap();
    assert_eq!(record.request_hash, [2; 32]);
    assert_eq!(record.created_at, at(day + 1));
    assert_eq!(record.response, None);
}

pub async fn an_abandoned_claim_is_taken_over(store: Arc<dyn Store>) {
    let first = claim("C1", "k", 1, T0);
    take(&store, &first).await;
    // Within the minute the first request still holds it.
    assert!(take(&store, &claim("C1", "k", 1, at(59))).await.is_some());
    let second = claim("C1", "k", 1, at(61));
    assert_eq!(
        take(&store, &second).await,
        None,
        "past the minute it is taken over"
    );
    // The first request finishing late writes nothing; the second's answer is kept.
    assert!(!store
        .complete_idempotency_key(&first, &created("late"))
        .await
        .unwrap());
    store.release_idempotency_key(&first).await.unwrap();
    assert!(store
        .complete_idempotency_key(&second, &created("second"))
        .await
        .unwrap());
    let record = take(&store, &claim("C1", "k", 1, at(62))).await.unwrap();
    assert_eq!(record.response.unwrap().body, b"second");
    // A finished record is never taken over as abandoned.
    assert!(take(&store, &claim("C1", "k", 1, at(3600))).await.is_some());
}

pub async fn a_released_key_is_free_again(store: Arc<dyn Store>) {
    let first = claim("C1", "k", 1, T0);
    take(&store, &first).await;
    store.release_idempotency_key(&first).await.unwrap();
    let next = claim("C1", "k", 2, at(1));
    assert_eq!(take(&store, &next).await, None);
    // Releasing a finished key keeps it.
    store
        .complete_idempotency_key(&next, &created("x"))
        .await
        .unwrap();
    store.release_idempotency_key(&next).await.unwrap();
    assert!(take(&store, &next).await.is_some());
}

pub async fn purges_delete_by_age(store: Arc<dyn Store>) {
    for (i, when) in [T0, at(10), at(20)].into_iter().enumerate() {
        let c = claim("C1", &format!("k{i}"), 1, when);
        take(&store, &c).await;
    }
    assert_eq!(store.purge_idempotency_keys(at(15)).await.unwrap(), 2);
    assert_eq!(store.purge_idempotency_keys(at(15)).await.unwrap(), 0);
    // The young one stays.
    assert!(take(&store, &claim("C1", "k2", 1, at(21))).await.is_some());

    let limit = RateLimit::per_second(10);
    store.admit_rate("old", limit, T0).await.unwrap();
    store.admit_rate("young", limit, at(100)).await.unwrap();
    // `old` is full again a tenth of a second after T0, `young` after 100.1 s.
    assert_eq!(store.purge_rate_buckets(at(50)).await.unwrap(), 1);
    let young = store.admit_rate("young", limit, at(100)).await.unwrap();
    assert_eq!(young.remaining, 8, "the young bucket was kept");
}

pub async fn buckets_admit_a_burst_then_one_per_emission(store: Arc<dyn Store>) {
    let limit = RateLimit::per_minute(3);
    for left in [2, 1, 0] {
        let a = store.admit_rate("C1", limit, T0).await.unwrap();
        assert!(a.admitted);
        assert_eq!(a.remaining, left);
    }
    let refused = store.admit_rate("C1", limit, at(1)).await.unwrap();
    assert!(!refused.admitted);
    assert_eq!(refused.remaining, 0);
    assert_eq!(
        refused.retry_after_micros,
        19 * SECOND,
        "one emission (20 s) after T0"
    );
    // Refusals take nothing: the next token comes when it would have anyway.
    for _ in 0..5 {
        assert!(!store.admit_rate("C1", limit, at(2)).await.unwrap().admitted);
    }
    assert!(
        store
            .admit_rate("C1", limit, at(20))
            .await
            .unwrap()
            .admitted
    );
    assert!(
        !store
            .admit_rate("C1", limit, at(20))
            .await
            .unwrap()
            .admitted
    );
    // Another bucket is full.
    assert_eq!(
        store
            .admit_rate("C2", limit, at(20))
            .await
            .unwrap()
            .remaining,
        2
    );
}

pub async fn concurrent_requests_are_each_counted(store: Arc<dyn Store>) {
    let limit = RateLimit::per_second(10);
    let tasks: Vec<_> = (0..25)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.admit_rate("hot", limit, T0).await.unwrap() })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        if t.await.unwrap().admitted {
            admitted += 1;
        }
    }
    assert_eq!(
        admitted, 10,
        "exactly the burst, however the requests interleave"
    );
}
