//! The change feeds' storage contract suite: what every backend's
//! [`FeedStore`](crate::FeedStore) shows, written once against the trait alone.
//!
//! A backend's `tests/feeds.rs` calls [`feed_contract_tests!`](crate::feed_contract_tests)
//! with an async expression opening a fresh, empty store, as for the catalog's suite.
//! What the trait leaves open and this suite pins: saving settings again keeps the
//! position unless told otherwise and voids a claim under way; a claim takes the feed
//! due soonest, only once its lease has run out is it claimable again, and a disabled
//! feed is never claimed; a holder whose claim was voided or taken over is refused
//! `Stale` and changes nothing; a seller of another operator is `NotFound`.

use std::sync::Arc;

use entreposto_domain::*;

use crate::fixtures::world;
use crate::{FeedPollEnd, FeedProgress, FeedSettings, Store, StoreError};

/// Expands to one `#[tokio::test]` per feed contract case. `$open` is an async
/// expression yielding `Option<impl Deref<Target = Arc<dyn Store>>>`.
#[macro_export]
macro_rules! feed_contract_tests {
    ($open:expr) => {
        $crate::feed_contract_tests!(@case $open, settings_round_trip_and_keep_the_position);
        $crate::feed_contract_tests!(@case $open, feeds_are_claimed_once_under_a_lease);
        $crate::feed_contract_tests!(@case $open, only_the_holder_moves_a_feed);
        $crate::feed_contract_tests!(@case $open, other_operators_sellers_are_not_found);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => $crate::feed_contract::$name(std::sync::Arc::clone(&*store)).await,
                None => eprintln!("skipped: the backend under test is not configured"),
            }
        }
    };
}

const T0: Timestamp = Timestamp(1_700_000_000_000_000);

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * 1_000_000)
}

fn settings(url: &str) -> FeedSettings {
    FeedSettings {
        url: url.into(),
        headers: vec![
            ("Authorization".into(), "erp-key-1".into()),
            ("X-Loja".into(), "7".into()),
        ],
        interval_seconds: 60,
        enabled: true,
    }
}

fn progress(position: &str, applied: u64, lease: i64) -> FeedProgress {
    FeedProgress {
        position: position.into(),
        applied,
        rejected: 0,
        last_rejection: None,
        lease_until: at(lease),
    }
}

/// Settings are stored as given; saving them again replaces them, makes the feed due
/// and keeps the position unless a new one (or none) is given; delete removes it.
pub async fn settings_round_trip_and_keep_the_position(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    assert!(matches!(
        s.get_change_feed(&scope).await,
        Err(StoreError::NotFound)
    ));
    let f = s
        .put_change_feed(
            &scope,
            &settings("https://erp.example/changes"),
            None,
            at(0),
        )
        .await
        .unwrap();
    assert_eq!(f.seller_id, w.seller_a.id);
    assert_eq!(f.operator_id, w.operator.id);
    assert_eq!(f.settings, settings("https://erp.example/changes"));
    assert_eq!((f.position.as_deref(), f.next_poll_at), (None, at(0)));
    assert_eq!((f.failures, f.applied, f.rejected), (0, 0, 0));
    assert_eq!((f.created_at, f.updated_at), (at(0), at(0)));
    assert_eq!(s.get_change_feed(&scope).await.unwrap(), f);

    // A poll moves it to position 10 and fails once.
    let claimed = s
        .claim_change_feed(at(1), at(61), "node-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.last_polled_at, Some(at(1)));
    s.advance_change_feed(&w.seller_a.id, "node-a", &progress("10", 3, 62))
        .await
        .unwrap();
    s.end_change_feed_poll(
        &w.seller_a.id,
        "node-a",
        &FeedPollEnd {
            at: at(2),
            next_poll_at: at(300),
            error: Some("503 from the seller".into()),
            failures: 1,
        },
    )
    .await
    .unwrap();

    let mut other = settings("https://erp.example/v2/changes");
    other.headers = vec![];
    other.interval_seconds = 5;
    let f = s
        .put_change_feed(&scope, &other, None, at(10))
        .await
        .unwrap();
    assert_eq!(f.settings, other);
    assert_eq!(f.position.as_deref(), Some("10"), "the position is kept");
    assert_eq!((f.next_poll_at, f.failures), (at(10), 0));
    assert_eq!(f.applied, 3);
    assert_eq!(f.last_error.as_deref(), Some("503 from the seller"));
    assert_eq!((f.created_at, f.updated_at), (at(0), at(10)));
    let f = s
        .put_change_feed(&scope, &other, Some(Some("7".into())), at(11))
        .await
        .unwrap();
    assert_eq!(f.position.as_deref(), Some("7"));
    let f = s
        .put_change_feed(&scope, &other, Some(None), at(12))
        .await
        .unwrap();
    assert_eq!(f.position, None);

    s.delete_change_feed(&scope).await.unwrap();
    assert!(matches!(
        s.get_change_feed(&scope).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_change_feed(&scope).await,
        Err(StoreError::NotFound)
    ));
}

/// The feed due soonest is claimed first, each by one holder until its lease has
/// passed; feeds not yet due and disabled ones are never claimed.
pub async fn feeds_are_claimed_once_under_a_lease(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let a = Scope::seller(&w.operator.id, &w.seller_a.id);
    let b = Scope::seller(&w.operator.id, &w.seller_b.id);
    s.put_change_feed(&a, &settings("https://a.example/c"), None, at(5))
        .await
        .unwrap();
    s.put_change_feed(&b, &settings("https://b.example/c"), None, at(3))
        .await
        .unwrap();
    assert!(s
        .claim_change_feed(at(2), at(100), "x")
        .await
        .unwrap()
        .is_none());
    let first = s
        .claim_change_feed(at(5), at(20), "x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.seller_id, w.seller_b.id, "due soonest first");
    let second = s
        .claim_change_feed(at(5), at(30), "y")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.seller_id, w.seller_a.id);
    assert!(s
        .claim_change_feed(at(6), at(90), "z")
        .await
        .unwrap()
        .is_none());
    // A lease holds up to its instant.
    assert!(s
        .claim_change_feed(at(20), at(90), "z")
        .await
        .unwrap()
        .is_none());
    let taken = s
        .claim_change_feed(at(21), at(90), "z")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.seller_id, w.seller_b.id);
    // Ended with a next poll in the future, the feed waits for it.
    s.end_change_feed_poll(
        &w.seller_b.id,
        "z",
        &FeedPollEnd {
            at: at(22),
            next_poll_at: at(82),
            error: None,
            failures: 0,
        },
    )
    .await
    .unwrap();
    let f = s.get_change_feed(&b).await.unwrap();
    assert_eq!((f.last_success_at, f.next_poll_at), (Some(at(22)), at(82)));
    assert_eq!(f.last_error, None);
    // Seller A's lease ran out at 30; B waits for its next poll, at 82.
    let again = s
        .claim_change_feed(at(81), at(99), "w")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.seller_id, w.seller_a.id);
    assert!(s
        .claim_change_feed(at(81), at(99), "w")
        .await
        .unwrap()
        .is_none());
    // Disabled, B is not claimed even when due and free.
    let mut off = settings("https://b.example/c");
    off.enabled = false;
    s.put_change_feed(&b, &off, None, at(83)).await.unwrap();
    assert!(s
        .claim_change_feed(at(84), at(90), "z")
        .await
        .unwrap()
        .is_none());
    assert!(!s.get_change_feed(&b).await.unwrap().settings.enabled);
}

/// Only the holder advances or ends a poll: once another node has taken the feed
/// over, or the settings were saved again, the old holder is `Stale` and changes
/// nothing.
pub async fn only_the_holder_moves_a_feed(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let a = Scope::seller(&w.operator.id, &w.seller_a.id);
    let seller = w.seller_a.id.as_str();
    s.put_change_feed(&a, &settings("https://a.example/c"), None, at(0))
        .await
        .unwrap();
    s.claim_change_feed(at(1), at(10), "old")
        .await
        .unwrap()
        .unwrap();
    s.advance_change_feed(seller, "old", &progress("p-1", 2, 20))
        .await
        .unwrap();
    // The renewed lease holds until 20.
    assert!(s
        .claim_change_feed(at(15), at(40), "new")
        .await
        .unwrap()
        .is_none());
    s.claim_change_feed(at(21), at(40), "new")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        s.advance_change_feed(seller, "old", &progress("p-9", 5, 50))
            .await,
        Err(StoreError::Stale)
    ));
    let end = FeedPollEnd {
        at: at(22),
        next_poll_at: at(23),
        error: Some("late".into()),
        failures: 4,
    };
    assert!(matches!(
        s.end_change_feed_poll(seller, "old", &end).await,
        Err(StoreError::Stale)
    ));
    let f = s.get_change_feed(&a).await.unwrap();
    assert_eq!((f.position.as_deref(), f.applied), (Some("p-1"), 2));
    assert_eq!((f.failures, f.last_error), (0, None));
    s.advance_change_feed(
        seller,
        "new",
        &FeedProgress {
            position: "p-2".into(),
            applied: 1,
            rejected: 2,
            last_rejection: Some("p-2: no product with sku 'X'".into()),
            lease_until: at(45),
        },
    )
    .await
    .unwrap();
    s.advance_change_feed(seller, "new", &progress("p-3", 1, 46))
        .await
        .unwrap();
    let f = s.get_change_feed(&a).await.unwrap();
    assert_eq!(
        (f.position.as_deref(), f.applied, f.rejected),
        (Some("p-3"), 4, 2)
    );
    assert_eq!(
        f.last_rejection.as_deref(),
        Some("p-2: no product with sku 'X'"),
        "kept until another change is refused"
    );
    // Saving the settings voids the claim: the holder's next write is refused.
    s.put_change_feed(&a, &settings("https://a.example/c"), None, at(30))
        .await
        .unwrap();
    assert!(matches!(
        s.advance_change_feed(seller, "new", &progress("p-4", 1, 50))
            .await,
        Err(StoreError::Stale)
    ));
    let f = s
        .claim_change_feed(at(31), at(60), "next")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.position.as_deref(), Some("p-3"));
    s.end_change_feed_poll(seller, "next", &end).await.unwrap();
    let f = s.get_change_feed(&a).await.unwrap();
    assert_eq!((f.failures, f.last_error.as_deref()), (4, Some("late")));
    assert_eq!((f.last_error_at, f.next_poll_at), (Some(at(22)), at(23)));
    assert_eq!(f.last_success_at, None);
}

/// A seller of another operator has no feed to read, write or remove here.
pub async fn other_operators_sellers_are_not_found(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let other = world(&*s).await;
    let wrong = Scope::seller(&w.operator.id, &other.seller_a.id);
    assert!(matches!(
        s.put_change_feed(&wrong, &settings("https://x.example/c"), None, at(0))
            .await,
        Err(StoreError::NotFound)
    ));
    let theirs = Scope::seller(&other.operator.id, &other.seller_a.id);
    s.put_change_feed(&theirs, &settings("https://x.example/c"), None, at(0))
        .await
        .unwrap();
    assert!(matches!(
        s.get_change_feed(&wrong).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_change_feed(&wrong).await,
        Err(StoreError::NotFound)
    ));
    // Writing over another operator's feed changes nothing there.
    assert!(matches!(
        s.put_change_feed(&wrong, &settings("https://evil.example/c"), None, at(1))
            .await,
        Err(StoreError::NotFound)
    ));
    let f = s.get_change_feed(&theirs).await.unwrap();
    assert_eq!(f.settings.url, "https://x.example/c");
    let operator_only = Scope {
        operator_id: w.operator.id.clone(),
        seller_id: None,
    };
    assert!(matches!(
        s.get_change_feed(&operator_only).await,
        Err(StoreError::NotFound)
    ));
}
