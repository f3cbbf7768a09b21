//! The order lifecycle's storage contract suite: what every backend's
//! [`OrderLifecycleStore`](crate::OrderLifecycleStore) (and the progress side of
//! [`OrderStore`](crate::OrderStore)'s upsert and import) shows, written once against
//! the trait alone.
//!
//! A backend's `tests/order_lifecycle.rs` calls
//! [`order_lifecycle_contract_tests!`](crate::order_lifecycle_contract_tests) with an
//! async expression opening a fresh, empty store (as the catalog suite does). Changes
//! are built here by hand, as a use case would decide them; times are fixed values.
//!
//! What the trait leaves open and this suite pins: a saved change stores its progress
//! with the version `loaded_version + 1` whatever version the progress it carries says,
//! and moves the order's `updated_at` to the change's `now`, never its body; a stock
//! move's product must be the order's seller's and have the move's location (else
//! `NotFound`); each product a change moves gets its
//! version bumped once and `updated_at` set to `now`; a re-push that changes the
//! pendencies or warnings moves the progress version, one that does not leaves it;
//! `placed_from` and `placed_to` are both inclusive; `erp_type` matches only marks
//! with `sent`.

use std::sync::Arc;

use entreposto_domain::*;

use crate::catalog_contract::{new_write, simple_fields};
use crate::fixtures::{full_progress, initial_progress, sample_order, world, World};
use crate::{CatalogChange, ImportOrder, OrderFilter, OrderView, ProductKey, Store, StoreError};

/// Expands to one `#[tokio::test]` per case. `$open` is an async expression yielding
/// `Option<impl Deref<Target = Arc<dyn Store>>>`.
#[macro_export]
macro_rules! order_lifecycle_contract_tests {
    ($open:expr) => {
        $crate::order_lifecycle_contract_tests!(@case $open, a_pushed_order_has_its_initial_progress);
        $crate::order_lifecycle_contract_tests!(@case $open, a_change_round_trips_every_progress_field);
        $crate::order_lifecycle_contract_tests!(@case $open, a_stale_change_is_refused_and_writes_nothing);
        $crate::order_lifecycle_contract_tests!(@case $open, another_sellers_order_is_not_found);
        $crate::order_lifecycle_contract_tests!(@case $open, a_move_below_zero_is_stale_and_writes_nothing);
        $crate::order_lifecycle_contract_tests!(@case $open, moves_apply_and_return);
        $crate::order_lifecycle_contract_tests!(@case $open, listing_filters);
        $crate::order_lifecycle_contract_tests!(@case $open, listing_orders_and_pages);
        $crate::order_lifecycle_contract_tests!(@case $open, a_repush_keeps_progress_and_updates_pendencies);
        $crate::order_lifecycle_contract_tests!(@case $open, two_changes_on_one_version_one_lands);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => {
                    $crate::order_lifecycle_contract::$name(std::sync::Arc::clone(&*store)).await
                }
                None => eprintln!("skipped: the backend under test is not configured"),
            }
        }
    };
}

const T0: Timestamp = Timestamp(1_700_000_000_000_000);

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * 1_000_000)
}

fn scope_of(w: &World, seller: &Seller) -> Scope {
    Scope::seller(&w.operator.id, &seller.id)
}

/// Pushes `data` as a new order with its initial progress; returns its view.
async fn push(store: &dyn Store, data: &OrderData) -> OrderView {
    let (order, how) = store
        .upsert_order(data, &initial_progress(data), T0, &[OrderEvent::Pushed])
        .await
        .expect("pushed");
    assert_eq!(how, Upserted::Created);
    let scope = Scope::seller(&data.operator_id, &data.seller_id);
    store.get_order_view(&scope, order.id).await.expect("view")
}

/// The change that moves `view` to `progress`, decided on the view's version.
fn change(view: &OrderView, progress: OrderProgress, now: Timestamp) -> OrderChange {
    OrderChange {
        order_id: view.order.id,
        loaded_version: view.progress.version,
        now,
        progress,
        new_history: 0,
        new_interactions: 0,
        stock: vec![],
        events: vec![OrderEvent::StatusChanged],
        stock_events: vec![],
    }
}

/// `view`'s progress in state `to` (one more history entry at `when`).
fn moved(view: &OrderView, to: OrderState, when: Timestamp) -> OrderProgress {
    let mut p = view.progress.clone();
    p.history.push(StateChange {
        from: Some(p.state),
        to,
        at: when,
    });
    p.state = to;
    p
}

fn mark(erp: &str, sent: bool) -> ErpMark {
    ErpMark {
        erp: erp.into(),
        sent,
        error: (!sent).then(|| format!("{erp} refused the order")),
        at: at(50),
    }
}

fn reserve(product_id: i64, delta: i64) -> StockMove {
    StockMove {
        product_id,
        location_id: Location::DEFAULT_ID,
        delta,
    }
}

/// Saves new simple products (5 units at the default location each); returns ids.
async fn products(store: &dyn Store, scope: &Scope, skus: &[&str]) -> Vec<i64> {
    store
        .save_catalog(
            scope,
            CatalogChange {
                now: T0,
                products: skus
                    .iter()
                    .map(|s| new_write(s, ProductKind::Simple, simple_fields(s, Some(100))))
                    .collect(),
                ..Default::default()
            },
        )
        .await
        .expect("products")
        .products
}

/// A product's quantity at the default location, its version and `updated_at`.
async fn stock(store: &dyn Store, scope: &Scope, id: i64) -> (i64, i64, Timestamp) {
    let p = store
        .get_product(scope, &ProductKey::Id(id))
        .await
        .expect("product");
    let q = p
        .data
        .fields
        .stock
        .iter()
        .find(|l| l.location.id == Location::DEFAULT_ID)
        .map_or(-1, |l| l.quantity);
    (q, p.version, p.updated_at)
}

async fn view(store: &dyn Store, scope: &Scope, id: i64) -> OrderView {
    store.get_order_view(scope, id).await.expect("view")
}

/// A pushed order reads back with the progress it was pushed with, as does every
/// imported order with its own.
pub async fn a_pushed_order_has_its_initial_progress(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let data = sample_order(&w.seller_a, "P-1");
    let v = push(store, &data).await;
    assert_eq!(v.order.data, data);
    assert_eq!(v.progress, initial_progress(&data));
    assert_eq!(v.progress.state, OrderState::Paid);
    assert_eq!(v.order.created_at, T0);
    // The same view through the operator's scope and in a listing.
    assert_eq!(
        view(store, &Scope::operator(&w.operator.id), v.order.id).await,
        v
    );
    let all = OrderFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_order_views(&scope, &all).await.unwrap(), vec![v]);

    let imported: Vec<ImportOrder> = (0..3)
        .map(|i| {
            let mut data = sample_order(&w.seller_a, &format!("I-{i}"));
            data.status = [
                OrderStatus::New,
                OrderStatus::Invoiced,
                OrderStatus::Delivered,
            ][i];
            data.customer.email = (i != 1).then(|| "a@example.com".into());
            data.placed_at = at(i as i64);
            let mut progress = initial_progress(&data);
            progress.warnings = vec![format!("aviso {i}")];
            ImportOrder { data, progress }
        })
        .collect();
    assert_eq!(store.import_orders(&imported, at(9)).await.unwrap(), 3);
    let listed = store.list_order_views(&scope, &all).await.unwrap();
    let mut expected: Vec<(OrderData, OrderProgress)> = imported
        .iter()
        .rev()
        .map(|i| (i.data.clone(), i.progress.clone()))
        .collect();
    expected.push((data.clone(), initial_progress(&data)));
    let got: Vec<(OrderData, OrderProgress)> = listed
        .into_iter()
        .map(|v| (v.order.data, v.progress))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got[1].1.pendencies, vec![Pendency::Email]);
    assert_eq!(got[0].1.state, OrderState::Delivered);
}

/// A change stores every field of the progress it carries, at the next version, and
/// leaves the body alone; a later change replaces the ERP marks the filters see.
pub async fn a_change_round_trips_every_progress_field(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let v = push(store, &sample_order(&w.seller_a, "R-1")).await;
    // The version the change's progress carries is not the store's business.
    let saved = store
        .save_order_change(&scope, change(&v, full_progress(99), at(30)))
        .await
        .expect("saved");
    let mut expected = full_progress(v.progress.version + 1);
    assert_eq!(saved, expected);
    let read = view(store, &scope, v.order.id).await;
    assert_eq!(read.progress, expected);
    assert_eq!(
        read.order.data, v.order.data,
        "a change never touches the body"
    );
    assert_eq!((read.order.created_at, read.order.updated_at), (T0, at(30)));
    let by_erp = |erp: &str| OrderFilter {
        erp_type: Some(erp.into()),
        limit: 10,
        ..Default::default()
    };
    let ids = |views: Vec<OrderView>| views.iter().map(|v| v.order.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .list_order_views(&scope, &by_erp("bling"))
            .await
            .unwrap()),
        [v.order.id]
    );
    // `tiny` failed: not taken.
    assert!(store
        .list_order_views(&scope, &by_erp("tiny"))
        .await
        .unwrap()
        .is_empty());

    // The next change, from what was stored: bling's mark goes, tiny takes it.
    expected.erp = vec![mark("tiny", true)];
    expected.invoice = None;
    expected.trackings.clear();
    expected.reservation.clear();
    expected.pendencies.clear();
    expected.warnings.clear();
    expected.shipped_at = None;
    expected.delivered_at = Some(at(40));
    let saved = store
        .save_order_change(&scope, change(&read, expected.clone(), at(40)))
        .await
        .expect("saved again");
    expected.version = read.progress.version + 1;
    assert_eq!(saved, expected);
    assert_eq!(view(store, &scope, v.order.id).await.progress, expected);
    assert!(store
        .list_order_views(&scope, &by_erp("bling"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(store
            .list_order_views(&scope, &by_erp("tiny"))
            .await
            .unwrap()),
        [v.order.id]
    );
    let unsent = OrderFilter {
        erp_sent: Some(false),
        with_pendency: Some(false),
        with_warnings: Some(false),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.count_order_views(&scope, &unsent).await.unwrap(), 0);
}

/// A change decided on a version that moved is `Stale`, and writes nothing of itself:
/// not its progress, not its stock moves.
pub async fn a_stale_change_is_refused_and_writes_nothing(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let ids = products(store, &scope, &["S-1"]).await;
    let v = push(store, &sample_order(&w.seller_a, "S-1")).await;
    let first = store
        .save_order_change(
            &scope,
            change(&v, moved(&v, OrderState::Separated, at(1)), at(1)),
        )
        .await
        .expect("first");
    let mut late = change(&v, moved(&v, OrderState::Cancelled, at(2)), at(2));
    late.stock = vec![reserve(ids[0], -2)];
    assert!(matches!(
        store.save_order_change(&scope, late).await,
        Err(StoreError::Stale)
    ));
    let read = view(store, &scope, v.order.id).await;
    assert_eq!(read.progress, first);
    assert_eq!(read.order.updated_at, at(1));
    assert_eq!(stock(store, &scope, ids[0]).await, (5, 1, T0));
    // A version never stored (ahead of the order's) is stale too.
    let mut ahead = change(&read, moved(&read, OrderState::Cancelled, at(3)), at(3));
    ahead.loaded_version += 5;
    assert!(matches!(
        store.save_order_change(&scope, ahead).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(view(store, &scope, v.order.id).await.progress, first);
}

/// Another seller's order is `NotFound` to read and to change (whatever its version),
/// and a change cannot move another seller's stock.
pub async fn another_sellers_order_is_not_found(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let other = world(store).await;
    let scope_a = scope_of(&w, &w.seller_a);
    let scope_b = scope_of(&w, &w.seller_b);
    let v = push(store, &sample_order(&w.seller_a, "N-1")).await;
    let forged = Scope::seller(&other.operator.id, &w.seller_a.id);
    for scope in [&scope_b, &Scope::operator(&other.operator.id), &forged] {
        assert!(
            matches!(
                store.get_order_view(scope, v.order.id).await,
                Err(StoreError::NotFound)
            ),
            "{scope:?} must not see seller A's order"
        );
        assert!(matches!(
            store
                .save_order_change(scope, change(&v, full_progress(1), at(1)))
                .await,
            Err(StoreError::NotFound)
        ));
        let all = OrderFilter {
            limit: 10,
            ..Default::default()
        };
        assert!(store
            .list_order_views(scope, &all)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.count_order_views(scope, &all).await.unwrap(), 0);
    }
    assert!(matches!(
        store.get_order_view(&scope_a, v.order.id + 1000).await,
        Err(StoreError::NotFound)
    ));
    let mut missing = change(&v, full_progress(1), at(1));
    missing.order_id += 1000;
    assert!(matches!(
        store.save_order_change(&scope_a, missing).await,
        Err(StoreError::NotFound)
    ));
    // Seller B's product, or a location the product does not have: NotFound, and
    // nothing written.
    let b_product = products(store, &scope_b, &["B-1"]).await[0];
    let a_product = products(store, &scope_a, &["A-1"]).await[0];
    let mut theirs = change(&v, moved(&v, OrderState::Separated, at(1)), at(1));
    theirs.stock = vec![reserve(a_product, -1), reserve(b_product, -1)];
    assert!(matches!(
        store.save_order_change(&scope_a, theirs).await,
        Err(StoreError::NotFound)
    ));
    let mut nowhere = change(&v, moved(&v, OrderState::Separated, at(1)), at(1));
    nowhere.stock = vec![StockMove {
        product_id: a_product,
        location_id: 77,
        delta: 1,
    }];
    assert!(matches!(
        store.save_order_change(&scope_a, nowhere).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(stock(store, &scope_b, b_product).await, (5, 1, T0));
    assert_eq!(stock(store, &scope_a, a_product).await, (5, 1, T0));
    assert_eq!(view(store, &scope_a, v.order.id).await, v);
    // The operator's scope changes any of its sellers' orders.
    let saved = store
        .save_order_change(
            &Scope::operator(&w.operator.id),
            change(&v, moved(&v, OrderState::Cancelled, at(2)), at(2)),
        )
        .await
        .expect("operator's change");
    assert_eq!(saved.state, OrderState::Cancelled);
}

/// A move that would take a quantity below zero makes the whole change `Stale`: the
/// moves before it are undone, the progress is not written.
pub async fn a_move_below_zero_is_stale_and_writes_nothing(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let ids = products(store, &scope, &["Z-1", "Z-2"]).await;
    let v = push(store, &sample_order(&w.seller_a, "Z-1")).await;
    let mut short = change(&v, moved(&v, OrderState::Separated, at(1)), at(1));
    short.progress.reservation = vec![reserve(ids[0], -2), reserve(ids[1], -6)];
    short.stock = short.progress.reservation.clone();
    assert!(matches!(
        store.save_order_change(&scope, short).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(stock(store, &scope, ids[0]).await, (5, 1, T0));
    assert_eq!(stock(store, &scope, ids[1]).await, (5, 1, T0));
    assert_eq!(view(store, &scope, v.order.id).await, v);
    // Two moves of one product that together go below zero: the same.
    let mut twice = change(&v, moved(&v, OrderState::Separated, at(1)), at(1));
    twice.stock = vec![reserve(ids[0], -3), reserve(ids[0], -3)];
    assert!(matches!(
        store.save_order_change(&scope, twice).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(stock(store, &scope, ids[0]).await, (5, 1, T0));
    assert_eq!(view(store, &scope, v.order.id).await, v);
}

/// Moves reserve and return stock: quantities move by their deltas (down to exactly
/// zero), each moved product's version and `updated_at` with them.
pub async fn moves_apply_and_return(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let ids = products(store, &scope, &["M-1", "M-2", "M-3"]).await;
    let v = push(store, &sample_order(&w.seller_a, "M-1")).await;
    let mut paid = change(&v, moved(&v, OrderState::Separated, at(1)), at(1));
    paid.progress.reservation = vec![
        reserve(ids[0], -5),
        reserve(ids[1], -1),
        reserve(ids[1], -1),
    ];
    paid.stock = paid.progress.reservation.clone();
    let saved = store
        .save_order_change(&scope, paid)
        .await
        .expect("reserved");
    assert_eq!(saved.reservation.len(), 3);
    assert_eq!(stock(store, &scope, ids[0]).await, (0, 2, at(1)));
    assert_eq!(stock(store, &scope, ids[1]).await, (3, 2, at(1)));
    assert_eq!(stock(store, &scope, ids[2]).await, (5, 1, T0));
    // Nothing left of the first product: another order's reservation is stale.
    let other = push(store, &sample_order(&w.seller_a, "M-2")).await;
    let mut short = change(&other, moved(&other, OrderState::Separated, at(2)), at(2));
    short.stock = vec![reserve(ids[0], -1)];
    assert!(matches!(
        store.save_order_change(&scope, short).await,
        Err(StoreError::Stale)
    ));
    // The cancellation returns exactly what was reserved.
    let read = view(store, &scope, v.order.id).await;
    let mut cancel = change(&read, moved(&read, OrderState::Cancelled, at(3)), at(3));
    cancel.stock = read
        .progress
        .reservation
        .iter()
        .map(|m| StockMove {
            delta: -m.delta,
            ..m.clone()
        })
        .collect();
    cancel.progress.reservation.clear();
    let saved = store
        .save_order_change(&scope, cancel)
        .await
        .expect("returned");
    assert!(saved.reservation.is_empty());
    assert_eq!(stock(store, &scope, ids[0]).await, (5, 3, at(3)));
    assert_eq!(stock(store, &scope, ids[1]).await, (5, 3, at(3)));
    assert_eq!(stock(store, &scope, ids[2]).await, (5, 1, T0));
}

/// The orders of the filter case, by name.
struct Shop {
    o1: i64,
    o2: i64,
    o3: i64,
    o4: i64,
    o5: i64,
    b1: i64,
}

/// Seller A: o1 paid (transaction T-1); o2 paid on Shoptime, taken by bling; o3
/// separated, with two transactions and a pendency (no e-mail), failed by tiny; o4
/// shipped, placed with o3, with a warning, taken by tiny; o5 cancelled, a pendency.
/// Seller B: b1, with o1's marketplace id and transaction.
async fn shop(store: &dyn Store, w: &World) -> Shop {
    let scope = scope_of(w, &w.seller_a);
    let order = |seller: &Seller, code: &str, placed: i64, tids: &[&str]| {
        let mut d = sample_order(seller, code);
        d.placed_at = at(placed);
        d.payments = tids
            .iter()
            .map(|t| Payment {
                method: "pix".into(),
                installments: 1,
                value: Cents(0),
                paid_at: None,
                gateway: None,
                transaction_id: Some((*t).into()),
            })
            .collect();
        // The payments add up to the total: no pendency but the ones set below.
        let total = d.total();
        if let Some(p) = d.payments.first_mut() {
            p.value = total;
        }
        d
    };
    let o1 = push(store, &order(&w.seller_a, "A-1", 1, &["T-1"])).await;
    let mut d2 = order(&w.seller_a, "A-2", 2, &[]);
    d2.channel = "Shoptime".into();
    d2.payments = sample_order(&w.seller_a, "A-2").payments;
    let o2 = push(store, &d2).await;
    let mut d3 = order(&w.seller_a, "A-3", 3, &["T-3a", "T-3b"]);
    d3.customer.email = None;
    let o3 = push(store, &d3).await;
    let o4 = push(store, &order(&w.seller_a, "A-4", 3, &["T-4"])).await;
    let mut d5 = order(&w.seller_a, "A-5", 5, &[]);
    d5.payments = sample_order(&w.seller_a, "A-5").payments;
    d5.customer.email = None;
    let o5 = push(store, &d5).await;
    let b1 = push(store, &order(&w.seller_b, "A-1", 4, &["T-1"])).await;

    let mut p2 = o2.progress.clone();
    p2.erp = vec![mark("bling", true)];
    let mut p3 = moved(&o3, OrderState::Separated, at(10));
    p3.erp = vec![mark("tiny", false)];
    let mut p4 = moved(&o4, OrderState::Shipped, at(10));
    p4.erp = vec![mark("tiny", true), mark("bling", false)];
    p4.warnings = vec!["Cliente pediu troca de endereço".into()];
    let p5 = moved(&o5, OrderState::Cancelled, at(10));
    for (v, p) in [(&o2, p2), (&o3, p3), (&o4, p4), (&o5, p5)] {
        store
            .save_order_change(&scope, change(v, p, at(10)))
            .await
            .expect("shop change");
    }
    Shop {
        o1: o1.order.id,
        o2: o2.order.id,
        o3: o3.order.id,
        o4: o4.order.id,
        o5: o5.order.id,
        b1: b1.order.id,
    }
}

/// A filter's order ids, in listing order, and its count (which must agree).
async fn listed(store: &dyn Store, scope: &Scope, filter: OrderFilter) -> Vec<i64> {
    let filter = OrderFilter {
        limit: 100,
        ..filter
    };
    let ids: Vec<i64> = store
        .list_order_views(scope, &filter)
        .await
        .expect("list")
        .iter()
        .map(|v| v.order.id)
        .collect();
    let counted = store
        .count_order_views(scope, &filter)
        .await
        .expect("count");
    assert_eq!(counted, ids.len() as u64, "count of {filter:?}");
    ids
}

/// Every filter field, alone and together, in seller and operator scope.
pub async fn listing_filters(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let sh = shop(store, &w).await;
    let a = scope_of(&w, &w.seller_a);
    let op = Scope::operator(&w.operator.id);
    let f = OrderFilter::default;
    let (o1, o2, o3, o4, o5, b1) = (sh.o1, sh.o2, sh.o3, sh.o4, sh.o5, sh.b1);
    assert_eq!(listed(store, &a, f()).await, [o5, o4, o3, o2, o1]);
    assert_eq!(listed(store, &op, f()).await, [o5, b1, o4, o3, o2, o1]);
    let text = |s: &str| Some(s.to_string());
    let cases: Vec<(OrderFilter, Vec<i64>, Vec<i64>)> = vec![
        (
            OrderFilter {
                channel: text("Shoptime"),
                ..f()
            },
            vec![o2],
            vec![o2],
        ),
        (
            OrderFilter {
                channel: text("Lojas Americanas"),
                ..f()
            },
            vec![o5, o4, o3, o1],
            vec![o5, b1, o4, o3, o1],
        ),
        (
            OrderFilter {
                marketplace_order_id: text("A-1"),
                ..f()
            },
            vec![o1],
            vec![b1, o1],
        ),
        (
            OrderFilter {
                marketplace_order_id: text("a-1"),
                ..f()
            },
            vec![],
            vec![],
        ),
        (
            OrderFilter {
                transaction_id: text("T-3b"),
                ..f()
            },
            vec![o3],
            vec![o3],
        ),
        (
            OrderFilter {
                transaction_id: text("T-1"),
                ..f()
            },
            vec![o1],
            vec![b1, o1],
        ),
        (
            OrderFilter {
                transaction_id: text("T-9"),
                ..f()
            },
            vec![],
            vec![],
        ),
        (
            OrderFilter {
                placed_from: Some(at(2)),
                placed_to: Some(at(3)),
                ..f()
            },
            vec![o4, o3, o2],
            vec![o4, o3, o2],
        ),
        (
            OrderFilter {
                placed_from: Some(at(4)),
                ..f()
            },
            vec![o5],
            vec![o5, b1],
        ),
        (
            OrderFilter {
                placed_to: Some(Timestamp(at(3).0 - 1)),
                ..f()
            },
            vec![o2, o1],
            vec![o2, o1],
        ),
        (
            OrderFilter {
                states: vec![OrderState::Paid],
                ..f()
            },
            vec![o2, o1],
            vec![b1, o2, o1],
        ),
        (
            OrderFilter {
                states: vec![OrderState::Shipped, OrderState::Separated],
                ..f()
            },
            vec![o4, o3],
            vec![o4, o3],
        ),
        (
            OrderFilter {
                states: vec![OrderState::Delivered],
                ..f()
            },
            vec![],
            vec![],
        ),
        (
            OrderFilter {
                with_pendency: Some(true),
                ..f()
            },
            vec![o5, o3],
            vec![o5, o3],
        ),
        (
            OrderFilter {
                with_pendency: Some(false),
                ..f()
            },
            vec![o4, o2, o1],
            vec![b1, o4, o2, o1],
        ),
        (
            OrderFilter {
                with_warnings: Some(true),
                ..f()
            },
            vec![o4],
            vec![o4],
        ),
        (
            OrderFilter {
                with_warnings: Some(false),
                ..f()
            },
            vec![o5, o3, o2, o1],
            vec![o5, b1, o3, o2, o1],
        ),
        (
            OrderFilter {
                erp_sent: Some(false),
                ..f()
            },
            vec![o5, o3, o1],
            vec![o5, b1, o3, o1],
        ),
        (
            OrderFilter {
                erp_sent: Some(true),
                ..f()
            },
            vec![o4, o2],
            vec![o4, o2],
        ),
        (
            OrderFilter {
                erp_type: text("tiny"),
                ..f()
            },
            vec![o4],
            vec![o4],
        ),
        (
            OrderFilter {
                erp_type: text("bling"),
                ..f()
            },
            vec![o2],
            vec![o2],
        ),
        (
            OrderFilter {
                erp_type: text("sap"),
                ..f()
            },
            vec![],
            vec![],
        ),
        // The 00K work queue.
        (
            OrderFilter {
                states: vec![OrderState::Paid],
                erp_sent: Some(false),
                ..f()
            },
            vec![o1],
            vec![b1, o1],
        ),
        (
            OrderFilter {
                states: vec![OrderState::Paid, OrderState::Separated],
                erp_sent: Some(false),
                with_pendency: Some(true),
                ..f()
            },
            vec![o3],
            vec![o3],
        ),
        (
            OrderFilter {
                channel: text("Lojas Americanas"),
                transaction_id: text("T-4"),
                placed_from: Some(at(3)),
                placed_to: Some(at(3)),
                states: vec![OrderState::Shipped],
                with_pendency: Some(false),
                with_warnings: Some(true),
                erp_sent: Some(true),
                erp_type: text("tiny"),
                ..f()
            },
            vec![o4],
            vec![o4],
        ),
        (
            OrderFilter {
                marketplace_order_id: text("A-1"),
                erp_sent: Some(true),
                ..f()
            },
            vec![],
            vec![],
        ),
    ];
    for (filter, seller, operator) in cases {
        assert_eq!(
            listed(store, &a, filter.clone()).await,
            seller,
            "{filter:?}"
        );
        assert_eq!(
            listed(store, &op, filter.clone()).await,
            operator,
            "operator {filter:?}"
        );
    }
    // Seller B sees only its own, whatever the filter.
    let b = scope_of(&w, &w.seller_b);
    assert_eq!(listed(store, &b, f()).await, [b1]);
    assert_eq!(
        listed(
            store,
            &b,
            OrderFilter {
                transaction_id: text("T-3b"),
                ..f()
            }
        )
        .await,
        Vec::<i64>::new()
    );
}

/// Newest placement first, ties by id descending; offset and limit page through it;
/// the count ignores paging.
pub async fn listing_orders_and_pages(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let placed = [5, 1, 3, 3, 9, 1, 3];
    let mut ids = Vec::new();
    for (n, p) in placed.iter().enumerate() {
        let mut d = sample_order(&w.seller_a, &format!("O-{n}"));
        d.placed_at = at(*p);
        ids.push(push(store, &d).await.order.id);
    }
    let mut expected: Vec<(i64, i64)> = placed.iter().copied().zip(ids.iter().copied()).collect();
    expected.sort_by(|x, y| y.cmp(x));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();
    let page = |offset: u64, limit: u32| OrderFilter {
        states: vec![OrderState::Paid],
        erp_sent: Some(false),
        offset,
        limit,
        ..Default::default()
    };
    let ids_of = |views: Vec<OrderView>| views.iter().map(|v| v.order.id).collect::<Vec<_>>();
    for filter in [
        page(0, 100),
        OrderFilter {
            limit: 100,
            ..Default::default()
        },
    ] {
        assert_eq!(
            ids_of(store.list_order_views(&scope, &filter).await.unwrap()),
            expected
        );
    }
    let mut walked = Vec::new();
    for n in 0..3 {
        let got = ids_of(
            store
                .list_order_views(&scope, &page(n * 3, 3))
                .await
                .unwrap(),
        );
        assert_eq!(got.len(), if n < 2 { 3 } else { 1 });
        walked.extend(got);
        assert_eq!(
            store
                .count_order_views(&scope, &page(n * 3, 3))
                .await
                .unwrap(),
            7
        );
    }
    assert_eq!(walked, expected);
    assert!(store
        .list_order_views(&scope, &page(7, 3))
        .await
        .unwrap()
        .is_empty());
    // From a position: every listed order at or past it (ties on placement by id),
    // the offset counting from it.
    // With an upper bound on placement too, above or below the position.
    let views = store.list_order_views(&scope, &page(0, 100)).await.unwrap();
    let key = |v: &OrderView| (v.order.data.placed_at, v.order.id);
    for placed_to in [None, Some(at(4))] {
        for v in &views {
            let from = OrderFilter {
                from_position: Some(key(v)),
                placed_to,
                ..page(1, 2)
            };
            let want: Vec<i64> = views
                .iter()
                .filter(|x| placed_to.is_none_or(|to| x.order.data.placed_at <= to))
                .filter(|x| key(x) <= key(v))
                .skip(1)
                .take(2)
                .map(|x| x.order.id)
                .collect();
            assert_eq!(
                ids_of(store.list_order_views(&scope, &from).await.unwrap()),
                want,
                "from {:?}, placed_to {placed_to:?}",
                key(v)
            );
        }
    }
}

/// Pushing an existing order again replaces its data and its pendencies and warnings,
/// and keeps the rest of its progress; the transaction ids follow the new payments.
pub async fn a_repush_keeps_progress_and_updates_pendencies(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let mut data = sample_order(&w.seller_a, "U-1");
    data.payments[0].transaction_id = Some("T-OLD".into());
    let v = push(store, &data).await;
    let mut decided = full_progress(0);
    decided.pendencies.clear();
    decided.warnings.clear();
    let progress = store
        .save_order_change(&scope, change(&v, decided, at(1)))
        .await
        .unwrap();

    let mut again = data.clone();
    again.customer.email = None;
    again.status = OrderStatus::Cancelled;
    again.payments[0].transaction_id = Some("T-NEW".into());
    let mut initial = initial_progress(&again);
    initial.warnings = vec!["e-mail removido".into()];
    let (order, how) = store
        .upsert_order(&again, &initial, at(2), &[OrderEvent::Pushed])
        .await
        .unwrap();
    assert_eq!((how, order.id), (Upserted::Updated, v.order.id));
    let read = view(store, &scope, v.order.id).await;
    assert_eq!(read.order.data, again);
    let mut expected = progress.clone();
    expected.pendencies = vec![Pendency::Email];
    expected.warnings = vec!["e-mail removido".into()];
    expected.version = progress.version + 1;
    assert_eq!(read.progress, expected, "the state and the rest are kept");
    // A change decided on the version before the push is stale: it would put the old
    // pendencies back.
    let mut before_push = change(&v, progress.clone(), at(3));
    before_push.loaded_version = progress.version;
    assert!(matches!(
        store.save_order_change(&scope, before_push).await,
        Err(StoreError::Stale)
    ));
    // The same push again changes no pendency: the version stays.
    store
        .upsert_order(&again, &initial, at(4), &[OrderEvent::Pushed])
        .await
        .unwrap();
    assert_eq!(view(store, &scope, v.order.id).await.progress, expected);
    let by_tid = |t: &str| OrderFilter {
        transaction_id: Some(t.into()),
        ..Default::default()
    };
    assert_eq!(listed(store, &scope, by_tid("T-NEW")).await, [v.order.id]);
    assert!(listed(store, &scope, by_tid("T-OLD")).await.is_empty());
    let with_pendency = OrderFilter {
        with_pendency: Some(true),
        with_warnings: Some(true),
        ..Default::default()
    };
    assert_eq!(listed(store, &scope, with_pendency).await, [v.order.id]);
}

/// Two changes decided on the same version, saved at once: one lands, the other is
/// `Stale`, and only the winner's stock moves are applied.
pub async fn two_changes_on_one_version_one_lands(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let ids = products(store, &scope, &["C-1"]).await;
    let mut reserved = 0;
    for round in 0..5 {
        let v = push(store, &sample_order(&w.seller_a, &format!("C-{round}"))).await;
        let mut a = change(&v, moved(&v, OrderState::Separated, at(1)), at(1));
        a.stock = vec![reserve(ids[0], -1)];
        let mut b = change(&v, moved(&v, OrderState::Cancelled, at(1)), at(1));
        b.stock = vec![reserve(ids[0], 0)];
        let (ra, rb) = futures::join!(
            store.save_order_change(&scope, a),
            store.save_order_change(&scope, b)
        );
        let won = match (&ra, &rb) {
            (Ok(p), Err(StoreError::Stale)) | (Err(StoreError::Stale), Ok(p)) => p.clone(),
            other => panic!("exactly one must land: {other:?}"),
        };
        let read = view(store, &scope, v.order.id).await;
        assert_eq!(read.progress, won);
        assert_eq!(read.progress.version, v.progress.version + 1);
        if ra.is_ok() {
            reserved += 1;
        }
        let (q, _, _) = stock(store, &scope, ids[0]).await;
        assert_eq!(q, 5 - reserved, "round {round}");
    }
}

/// The orders [`load_at_scale`] makes: one seller's, placed a minute apart (newest
/// last), in the demo's mix of marketplace statuses (a sixth approved: the ERP's work
/// queue), every third with a transaction id, every tenth without an e-mail.
pub fn scale_order(seller: &Seller, n: usize) -> ImportOrder {
    const STATUSES: [OrderStatus; 6] = [
        OrderStatus::Approved,
        OrderStatus::Invoiced,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];
    // A fixed scramble of n, so statuses do not follow placement in lockstep.
    let h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    let mut data = sample_order(seller, &format!("SC-{n:08}"));
    data.placed_at = Timestamp(T0.0 - 100_000_000 * 60_000_000 + n as i64 * 60_000_000);
    data.status = STATUSES[(h % 6) as usize];
    if n.is_multiple_of(3) {
        data.payments[0].transaction_id = Some(format!("TX-{n}"));
    }
    if n.is_multiple_of(10) {
        data.customer.email = None;
    }
    ImportOrder {
        progress: initial_progress(&data),
        data,
    }
}

/// Loads `orders` orders of one new seller through `import_orders`, in batches of
/// 10,000; returns the seller's scope and what it took.
pub async fn load_at_scale(store: &dyn Store, orders: usize) -> (Scope, std::time::Duration) {
    let w = world(store).await;
    let started = std::time::Instant::now();
    let mut n = 0;
    while n < orders {
        let batch: Vec<ImportOrder> = (n..orders.min(n + 10_000))
            .map(|i| scale_order(&w.seller_a, i))
            .collect();
        n += batch.len();
        store.import_orders(&batch, T0).await.expect("import batch");
    }
    (scope_of(&w, &w.seller_a), started.elapsed())
}

/// Mean time of `f` over `runs` runs, after three unmeasured ones.
async fn timed<F, Fut>(runs: u32, mut f: F) -> std::time::Duration
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..3 {
        f(i).await;
    }
    let started = std::time::Instant::now();
    for i in 0..runs {
        f(i).await;
    }
    started.elapsed() / runs
}

/// The change a seller's system makes taking a paid order to separation.
fn separate(v: &OrderView) -> OrderChange {
    let mut p = moved(v, OrderState::Separated, T0);
    p.interactions.push(Interaction {
        description: "O operador trocou o status para Pick and Pack e o estagio para SEPARADO"
            .into(),
        origin: InteractionOrigin::Api,
        action: "Alteração de estagio".into(),
        at: T0,
    });
    OrderChange {
        new_history: 1,
        new_interactions: 1,
        ..change(v, p, T0)
    }
}

/// Measures a loaded seller's listing, point reads and changes; returns the figures,
/// one a line. `changes` changes are saved by `concurrency` tasks at once, each on
/// its own orders (read the view, decide payment → separated, save).
pub async fn measure_at_scale(
    s: Arc<dyn Store>,
    scope: &Scope,
    changes: usize,
    concurrency: usize,
) -> Vec<String> {
    let store: &dyn Store = &*s;
    let mut out = Vec::new();
    let queue = |offset: u64| OrderFilter {
        states: vec![OrderState::Paid],
        erp_sent: Some(false),
        offset,
        limit: 30,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let total = store
        .count_order_views(scope, &queue(0))
        .await
        .expect("count");
    out.push(format!(
        "count of the queue (state=paid & erp_sent=false): {total} orders, first count {:?}",
        started.elapsed()
    ));
    let runs = 200;
    let page = |offset: u64| {
        let filter = queue(offset);
        move |_| {
            let filter = filter.clone();
            async move {
                let page = store.list_order_views(scope, &filter).await.expect("page");
                assert_eq!(page.len(), 30);
            }
        }
    };
    let first = timed(runs, page(0)).await;
    let deep = timed(runs, page(29_970)).await;
    out.push(format!(
        "queue page 1: {first:?}; page 1,000 (offset 29,970): {deep:?}; ratio {:.2}",
        deep.as_secs_f64() / first.as_secs_f64()
    ));
    let all = |offset: u64| OrderFilter {
        offset,
        limit: 30,
        ..Default::default()
    };
    let unfiltered_first = timed(runs, |_| {
        let f = all(0);
        async move {
            store.list_order_views(scope, &f).await.expect("page");
        }
    })
    .await;
    let unfiltered_deep = timed(runs, |_| {
        let f = all(29_970);
        async move {
            store.list_order_views(scope, &f).await.expect("page");
        }
    })
    .await;
    out.push(format!(
        "unfiltered page 1: {unfiltered_first:?}; page 1,000: {unfiltered_deep:?}"
    ));
    // Point reads of orders spread over the table.
    let ids: Vec<i64> = store
        .list_order_views(
            scope,
            &OrderFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .expect("newest")
        .iter()
        .map(|v| v.order.id)
        .collect();
    let newest = ids[0];
    let point = timed(2_000, |i| async move {
        let id = newest - i64::from(i * 397 % 900_000);
        let _ = store.get_order_view(scope, id).await;
    })
    .await;
    let per_page = first.as_secs_f64();
    out.push(format!(
        "get_order_view: {point:?}; 30 listed orders / 30 fetched ones: listing {:.0} orders/s vs {:.0} fetched/s (ratio {:.2})",
        30.0 / per_page,
        1.0 / point.as_secs_f64(),
        (30.0 / per_page) * point.as_secs_f64()
    ));

    // Changes: the queue's orders from its far end, one task per slice.
    let mut targets = Vec::new();
    let mut offset = 0;
    while targets.len() < changes {
        let f = OrderFilter {
            states: vec![OrderState::Paid],
            erp_sent: Some(false),
            offset,
            limit: 1000,
            ..Default::default()
        };
        let page = store.list_order_views(scope, &f).await.expect("targets");
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        targets.extend(page.into_iter().map(|v| v.order.id));
    }
    targets.truncate(changes);
    // Half of them read, decided and saved by each task in turn; the other half
    // decided beforehand, so the second figure is the saves alone.
    let (read_too, saves_only) = targets.split_at(targets.len() / 2);
    let chunk = |ids: &[i64]| ids.len().div_ceil(concurrency).max(1);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = read_too
        .chunks(chunk(read_too))
        .map(|ids| {
            let (s, scope, ids) = (Arc::clone(&s), scope.clone(), ids.to_vec());
            tokio::spawn(async move {
                for id in ids {
                    let v = s.get_order_view(&scope, id).await.expect("view");
                    s.save_order_change(&scope, separate(&v))
                        .await
                        .expect("saved");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let took = started.elapsed();
    out.push(format!(
        "save_order_change: {} changes by {concurrency} tasks in {took:?}: {:.0}/s (each read, decided, saved)",
        read_too.len(),
        read_too.len() as f64 / took.as_secs_f64()
    ));
    let mut decided = Vec::new();
    for id in saves_only {
        decided.push(separate(
            &store.get_order_view(scope, *id).await.expect("view"),
        ));
    }
    let size = chunk(saves_only);
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    while !decided.is_empty() {
        let batch: Vec<OrderChange> = decided.drain(..size.min(decided.len())).collect();
        let (s, scope) = (Arc::clone(&s), scope.clone());
        tasks.push(tokio::spawn(async move {
            for c in batch {
                s.save_order_change(&scope, c).await.expect("saved");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let took = started.elapsed();
    out.push(format!(
        "save_order_change alone: {} changes by {concurrency} tasks in {took:?}: {:.0}/s",
        saves_only.len(),
        saves_only.len() as f64 / took.as_secs_f64()
    ));
    out
}
