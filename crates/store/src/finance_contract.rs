//! Reconciliation's storage contract suite: what every backend's
//! [`FinanceStore`](crate::FinanceStore) shows, written once against the trait alone.
//!
//! A backend's `tests/finance.rs` calls
//! [`finance_contract_tests!`](crate::finance_contract_tests) with an async expression
//! opening a fresh, empty store (`Option<impl Deref<Target = Arc<dyn Store>>>`, `None`
//! when the backend is not configured: the cases then say so and pass). Lines are
//! built here by hand, as the application would decide them (the store decides
//! nothing), so each case states exactly what the store is handed and what it must
//! answer; times are fixed values, never the clock.
//!
//! What the trait leaves open and this suite pins: a written line's `updated_at` is
//! the call's `now`; an `Update` must name the stored line by id *and* key (seller,
//! channel, order, type, installment), otherwise the call is refused and writes
//! nothing; a `New` line on a key that has a line is a `Conflict`; a settlement's and
//! an order's lines come by type (SALE, COMISSION, SHIP) then installment; lookups by
//! keys or codes answer each line or order once, however many keys a call names (a
//! step's worth included); `begin_conciliation` looks for the
//! digest first (the same statement is `Existing` whatever else it overlaps), then for
//! any conciliation of the seller's channel, closed or still loading, whose period
//! meets this one (both ends inclusive); a new conciliation starts at cursor 0 with no counts whatever it
//! was handed; a step on a closed conciliation is `Stale`, on one outside the scope
//! `NotFound`; closing twice answers the first close; conciliations list newest
//! first; a mark batch reports each id once, in the order given, a line marked before
//! among the applied (keeping its update time); month summaries list the months that have lines, by channel then
//! month, `from` and `to` inclusive; writes that name no seller (terms, a delete) need
//! a seller's scope.

use std::sync::Arc;

use entreposto_domain::*;

use crate::fixtures::{full_channel_terms, full_settlement_order, world, World};
use crate::{
    Begun, Conciliation, ConciliationStep, ExtractLine, LineFilter, LineWrite, Listing,
    MonthSummary, OrderSettlement, Store, StoreError,
};

/// Expands to one `#[tokio::test]` per finance contract case. `$open` is an async
/// expression yielding `Option<impl Deref<Target = Arc<dyn Store>>>`.
#[macro_export]
macro_rules! finance_contract_tests {
    ($open:expr) => {
        $crate::finance_contract_tests!(@case $open, terms_are_put_read_and_replaced);
        $crate::finance_contract_tests!(@case $open, a_settlement_reads_back_with_its_lines);
        $crate::finance_contract_tests!(@case $open, a_replaced_settlement_keeps_its_line_ids);
        $crate::finance_contract_tests!(@case $open, a_refused_line_write_writes_nothing);
        $crate::finance_contract_tests!(@case $open, a_delete_keeps_the_released_lines);
        $crate::finance_contract_tests!(@case $open, lookups_answer_exactly_the_keys_asked);
        $crate::finance_contract_tests!(@case $open, lookups_of_a_whole_step);
        $crate::finance_contract_tests!(@case $open, begin_finds_the_digest_then_overlaps);
        $crate::finance_contract_tests!(@case $open, a_step_writes_lines_and_moves_the_cursor);
        $crate::finance_contract_tests!(@case $open, a_stale_step_writes_nothing);
        $crate::finance_contract_tests!(@case $open, a_line_written_since_it_was_read_is_stale);
        $crate::finance_contract_tests!(@case $open, close_counts_the_lines_per_situation);
        $crate::finance_contract_tests!(@case $open, listings_filter_and_page);
        $crate::finance_contract_tests!(@case $open, mark_batches_report_strangers);
        $crate::finance_contract_tests!(@case $open, month_summaries_add_up);
        $crate::finance_contract_tests!(@case $open, channels_are_listed_once_sorted);
        $crate::finance_contract_tests!(@case $open, sellers_never_see_each_other);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => {
                    $crate::finance_contract::$name(std::sync::Arc::clone(&*store)).await
                }
                None => eprintln!("skipped: the backend under test is not configured"),
            }
        }
    };
}

/// The instant most cases write at.
const T0: Timestamp = Timestamp(1_700_000_000_000_000);
const MAGALU: &str = "Magalu";
const SHOPEE: &str = "Shopee";

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * 1_000_000)
}

fn day(n: i64) -> Timestamp {
    at(n * 86_400)
}

fn utc(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("a test date")
}

fn scope_of(w: &World, seller: &Seller) -> Scope {
    Scope::seller(&w.operator.id, &seller.id)
}

fn key(code: &str, kind: ExtractType, plot: u32) -> LineKey {
    LineKey {
        order_code: code.into(),
        kind,
        plot_number: plot,
    }
}

/// A settlement order of `seller`.
fn order(seller: &Seller, channel: &str, code: &str) -> SettlementOrder {
    full_settlement_order(&seller.operator_id, &seller.id, channel, code)
}

/// An expected line, nothing released yet.
fn expected(seller: &Seller, channel: &str, k: LineKey, value: i64) -> ExtractLine {
    let commission = k.kind == ExtractType::Comission;
    ExtractLine {
        id: 0,
        seller_id: seller.id.clone(),
        channel: channel.into(),
        key: k,
        plots_quantity: Some(1),
        plot_value: Some(Cents(value)),
        total_value: Some(Cents(value)),
        expected_value: Some(Cents(value)),
        expected_percent: commission.then_some(Rate(1600)),
        expected_date: Some(day(30)),
        original_value: Some(Cents(value)),
        released_value: None,
        released_parts: 0,
        released_percent: None,
        released_date: None,
        situation: Situation::Waiting,
        partial: false,
        observation: None,
        conciliation_id: None,
        resolved_in_erp: false,
        read: false,
        extra: None,
        updated_at: T0,
        version: 0,
    }
}

/// `l` after one more release of `value` on `when` by conciliation `by`, judged
/// `situation` (partial when short).
fn release(
    mut l: ExtractLine,
    value: i64,
    when: Timestamp,
    by: i64,
    situation: Situation,
) -> ExtractLine {
    let sum = l.released_value.map_or(0, |c| c.0) + value;
    l.partial =
        situation == Situation::Divergent && l.expected_value.is_some_and(|e| sum > 0 && sum < e.0);
    l.released_value = Some(Cents(sum));
    l.released_parts += 1;
    l.released_percent = (l.key.kind == ExtractType::Comission).then_some(Rate(1500));
    l.released_date = Some(when);
    l.situation = situation;
    l.observation = Some(match situation {
        Situation::Concilied => "OK".into(),
        _ => format!("Released R$ {sum} against what was expected"),
    });
    l.conciliation_id = Some(by);
    l.extra = Some(r#"{"batch":"7"}"#.into());
    l
}

/// A released line nothing was expected for (an unknown order, a chargeback).
fn unexpected(
    seller: &Seller,
    channel: &str,
    k: LineKey,
    value: i64,
    when: Timestamp,
    by: i64,
) -> ExtractLine {
    let mut l = expected(seller, channel, k, 0);
    l.plots_quantity = None;
    l.plot_value = None;
    l.total_value = None;
    l.expected_value = None;
    l.expected_percent = None;
    l.expected_date = None;
    l.original_value = None;
    let mut l = release(l, value, when, by, Situation::Divergent);
    l.observation = Some("Released for an order the channel has no record of".into());
    l
}

/// Saves `order` with `lines`, all new; answers them stored.
async fn settle(
    store: &dyn Store,
    scope: &Scope,
    order: SettlementOrder,
    lines: Vec<ExtractLine>,
) -> Vec<ExtractLine> {
    let s = OrderSettlement {
        events: Vec::new(),
        order,
        lines: lines.into_iter().map(LineWrite::New).collect(),
    };
    store.save_settlement(scope, &s, T0).await.expect("save")
}

fn statement(seller: &Seller, channel: &str, digest: &str, init: i64, end: i64) -> Conciliation {
    Conciliation {
        id: 0,
        seller_id: seller.id.clone(),
        channel: channel.into(),
        digest: digest.into(),
        init_date: day(init),
        end_date: day(end),
        close_date: None,
        rows: 10,
        refused: 1,
        cursor: 0,
        concilied: 0,
        divergent: 0,
        partial: 0,
        created_at: T0,
    }
}

/// A conciliation recorded now (it must be new).
async fn begin_new(store: &dyn Store, scope: &Scope, c: &Conciliation) -> Conciliation {
    match store.begin_conciliation(scope, c).await.expect("begin") {
        Begun::New(c) => c,
        other => panic!("expected a new conciliation, got {other:?}"),
    }
}

fn step(c: &Conciliation, from: u64, to: u64, lines: Vec<LineWrite>) -> ConciliationStep {
    ConciliationStep {
        events: Vec::new(),
        conciliation_id: c.id,
        from_row: from,
        to_row: to,
        lines,
        now: at(100),
    }
}

fn filter(listing: Listing) -> LineFilter {
    LineFilter {
        listing,
        from: None,
        to: None,
        conciliation_id: None,
        channel: None,
        only_unread: false,
        offset: 0,
        limit: 100,
    }
}

fn ids(lines: &[ExtractLine]) -> Vec<i64> {
    lines.iter().map(|l| l.id).collect()
}

/// The line as stored by a write at `now` (an update moves its version).
fn stored(mut l: ExtractLine, now: Timestamp) -> ExtractLine {
    if l.id != 0 {
        l.version += 1;
    }
    l.updated_at = now;
    l
}

pub async fn terms_are_put_read_and_replaced(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    assert_eq!(store.get_channel_terms(&a, MAGALU).await.unwrap(), None);
    let terms = full_channel_terms(MAGALU);
    store.put_channel_terms(&a, &terms, T0).await.unwrap();
    assert_eq!(
        store.get_channel_terms(&a, MAGALU).await.unwrap(),
        Some(terms.clone())
    );
    // The channel's exact name: another spelling is another channel.
    assert_eq!(store.get_channel_terms(&a, "magalu").await.unwrap(), None);

    let mut replaced = terms.clone();
    replaced.commission.rate = Rate(1850);
    replaced.commission.by_category.clear();
    replaced.payment = PaymentTerms {
        base: TermsBase::Invoice,
        days: 15,
    };
    replaced.tolerance.amount = Cents(0);
    store.put_channel_terms(&a, &replaced, at(1)).await.unwrap();
    assert_eq!(
        store.get_channel_terms(&a, MAGALU).await.unwrap(),
        Some(replaced)
    );

    // Terms belong to a seller: an operator's scope cannot write them.
    let operator = Scope::operator(&w.operator.id);
    assert!(store
        .put_channel_terms(&operator, &terms, T0)
        .await
        .is_err());
}

pub async fn a_settlement_reads_back_with_its_lines(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    assert_eq!(store.get_settlement(&a, MAGALU, "A-1").await.unwrap(), None);
    let o = order(s, MAGALU, "A-1");
    // Handed out of order: read back by type, then installment.
    let lines = vec![
        expected(s, MAGALU, key("A-1", ExtractType::Ship, 1), 3_000),
        expected(s, MAGALU, key("A-1", ExtractType::Sale, 2), 20_000),
        expected(s, MAGALU, key("A-1", ExtractType::Comission, 1), 3_200),
        expected(s, MAGALU, key("A-1", ExtractType::Sale, 1), 20_000),
    ];
    let saved = settle(&*store, &a, o.clone(), lines.clone()).await;
    assert_eq!(saved.len(), 4);
    for (written, handed) in saved.iter().zip(&lines) {
        assert!(written.id > 0);
        assert_eq!(
            *written,
            ExtractLine {
                id: written.id,
                ..handed.clone()
            }
        );
    }
    let mut distinct = ids(&saved);
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "every line has its own id");

    let (read, read_lines) = store
        .get_settlement(&a, MAGALU, "A-1")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(read, o);
    let mut by_key = saved.clone();
    by_key.sort_by(|x, y| x.key.cmp(&y.key));
    assert_eq!(read_lines, by_key);
    assert_eq!(
        read_lines.iter().map(|l| l.key.clone()).collect::<Vec<_>>(),
        vec![
            key("A-1", ExtractType::Sale, 1),
            key("A-1", ExtractType::Sale, 2),
            key("A-1", ExtractType::Comission, 1),
            key("A-1", ExtractType::Ship, 1),
        ]
    );
    // Another channel's order of the same code is another order.
    assert_eq!(store.get_settlement(&a, SHOPEE, "A-1").await.unwrap(), None);

    // One line, and the order's lines (all, or of one type), with the order.
    let view = store.get_line(&a, saved[1].id).await.unwrap();
    assert_eq!(view.line, saved[1]);
    assert_eq!(view.order, Some(o.clone()));
    assert_eq!(view.conciliation, None);
    let all = store.order_lines(&a, MAGALU, "A-1", None).await.unwrap();
    assert_eq!(
        all.iter().map(|v| v.line.clone()).collect::<Vec<_>>(),
        by_key
    );
    assert!(all.iter().all(|v| v.order.as_ref() == Some(&o)));
    let sales = store
        .order_lines(&a, MAGALU, "A-1", Some(ExtractType::Sale))
        .await
        .unwrap();
    assert_eq!(
        sales.iter().map(|v| v.line.id).collect::<Vec<_>>(),
        vec![saved[3].id, saved[1].id]
    );
    assert!(store
        .order_lines(&a, MAGALU, "A-2", None)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.get_line(&a, saved[0].id + 1_000).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_replaced_settlement_keeps_its_line_ids(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let first = settle(
        &*store,
        &a,
        order(s, MAGALU, "R-1"),
        vec![
            expected(s, MAGALU, key("R-1", ExtractType::Sale, 1), 20_000),
            expected(s, MAGALU, key("R-1", ExtractType::Comission, 1), 3_200),
        ],
    )
    .await;

    // The order is cancelled: its lines go to zero, keeping their first expected
    // value, and a SHIP line appears.
    let mut cancelled = order(s, MAGALU, "R-1");
    cancelled.status = SettlementStatus::Canceled;
    cancelled.cancelled_at = Some(at(50));
    cancelled.total = Cents(0);
    cancelled.items.pop();
    let zeroed: Vec<ExtractLine> = first
        .iter()
        .map(|l| ExtractLine {
            expected_value: Some(Cents(0)),
            observation: Some("Order cancelled".into()),
            ..l.clone()
        })
        .collect();
    let ship = expected(s, MAGALU, key("R-1", ExtractType::Ship, 1), 0);
    let change = OrderSettlement {
        events: Vec::new(),
        order: cancelled.clone(),
        lines: vec![
            LineWrite::Update(zeroed[0].clone()),
            LineWrite::Update(zeroed[1].clone()),
            LineWrite::New(ship.clone()),
        ],
    };
    let second = store.save_settlement(&a, &change, at(50)).await.unwrap();
    assert_eq!(second[0], stored(zeroed[0].clone(), at(50)));
    assert_eq!(second[1], stored(zeroed[1].clone(), at(50)));
    assert_eq!(ids(&second[..2]), ids(&first));
    assert!(second[2].id > 0 && !ids(&first).contains(&second[2].id));
    assert_eq!(second[2].updated_at, at(50));

    let (read, lines) = store
        .get_settlement(&a, MAGALU, "R-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, cancelled);
    assert_eq!(lines, second);
    assert!(lines
        .iter()
        .all(|l| l.expected_value == Some(Cents(0)) && l.updated_at == at(50)));
    assert_eq!(lines[0].original_value, Some(Cents(20_000)));
}

pub async fn a_refused_line_write_writes_nothing(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let r1 = settle(
        &*store,
        &a,
        order(s, MAGALU, "R-1"),
        vec![expected(
            s,
            MAGALU,
            key("R-1", ExtractType::Sale, 1),
            20_000,
        )],
    )
    .await;
    let r2 = settle(
        &*store,
        &a,
        order(s, MAGALU, "R-2"),
        vec![expected(s, MAGALU, key("R-2", ExtractType::Sale, 1), 9_000)],
    )
    .await;
    let before = store.get_settlement(&a, MAGALU, "R-1").await.unwrap();
    let mut changed = order(s, MAGALU, "R-1");
    changed.total = Cents(1);

    // An update naming R-2's line by id under R-1's key; another order's line; a new
    // line on a key that has one; an update of a line that is not there.
    let stray_id = ExtractLine {
        id: r2[0].id,
        ..r1[0].clone()
    };
    let refused: Vec<Vec<LineWrite>> = vec![
        vec![LineWrite::Update(stray_id)],
        vec![LineWrite::Update(r2[0].clone())],
        vec![LineWrite::New(expected(
            s,
            MAGALU,
            key("R-1", ExtractType::Sale, 1),
            1,
        ))],
        vec![LineWrite::Update(ExtractLine {
            id: r2[0].id + 1_000,
            ..r1[0].clone()
        })],
    ];
    for (i, lines) in refused.into_iter().enumerate() {
        let mut lines = lines;
        // A valid new line first, so a partial write would show.
        lines.insert(
            0,
            LineWrite::New(expected(s, MAGALU, key("R-1", ExtractType::Ship, 1), 50)),
        );
        let change = OrderSettlement {
            events: Vec::new(),
            order: changed.clone(),
            lines,
        };
        let outcome = store.save_settlement(&a, &change, at(9)).await;
        assert!(outcome.is_err(), "case {i}: {outcome:?}");
        if i == 2 {
            assert!(
                matches!(outcome, Err(StoreError::Conflict(_))),
                "{outcome:?}"
            );
        }
        assert_eq!(
            store.get_settlement(&a, MAGALU, "R-1").await.unwrap(),
            before,
            "case {i} wrote something"
        );
    }
    assert_eq!(
        store.get_line(&a, r2[0].id).await.unwrap().line,
        r2[0],
        "R-2's line was touched"
    );

    // Another seller's scope cannot write seller A's order, nor its lines.
    let b = scope_of(&w, &w.seller_b);
    let change = OrderSettlement {
        events: Vec::new(),
        order: changed.clone(),
        lines: vec![],
    };
    assert!(matches!(
        store.save_settlement(&b, &change, at(9)).await,
        Err(StoreError::NotFound)
    ));
    let mut b_order = order(&w.seller_b, MAGALU, "R-1");
    b_order.total = Cents(2);
    let mut hijack = r1[0].clone();
    hijack.seller_id = w.seller_b.id.clone();
    hijack.expected_value = Some(Cents(1));
    let change = OrderSettlement {
        events: Vec::new(),
        order: b_order,
        lines: vec![LineWrite::Update(hijack)],
    };
    assert!(store.save_settlement(&b, &change, at(9)).await.is_err());
    assert_eq!(store.get_line(&a, r1[0].id).await.unwrap().line, r1[0]);
    assert_eq!(store.get_settlement(&b, MAGALU, "R-1").await.unwrap(), None);
}

pub async fn a_delete_keeps_the_released_lines(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let lines = settle(
        &*store,
        &a,
        order(s, MAGALU, "D-1"),
        vec![
            expected(s, MAGALU, key("D-1", ExtractType::Sale, 1), 20_000),
            expected(s, MAGALU, key("D-1", ExtractType::Comission, 1), 3_200),
            expected(s, MAGALU, key("D-1", ExtractType::Ship, 1), 3_000),
        ],
    )
    .await;
    let other = settle(
        &*store,
        &a,
        order(s, MAGALU, "D-2"),
        vec![expected(s, MAGALU, key("D-2", ExtractType::Sale, 1), 1_000)],
    )
    .await;
    let c = begin_new(&*store, &a, &statement(s, MAGALU, "d", 1, 1)).await;
    let sale = release(lines[0].clone(), 20_000, day(1), c.id, Situation::Concilied);
    store
        .apply_conciliation_step(&a, &step(&c, 0, 1, vec![LineWrite::Update(sale.clone())]))
        .await
        .unwrap();

    let b = scope_of(&w, &w.seller_b);
    assert!(matches!(
        store
            .delete_settlement(&b, MAGALU, "D-1", &[], &[], at(5))
            .await,
        Err(StoreError::NotFound)
    ));
    // The released line stays, rewritten by the caller as nothing expected.
    let orphan = ExtractLine {
        plots_quantity: None,
        plot_value: None,
        total_value: None,
        expected_value: None,
        expected_percent: None,
        expected_date: None,
        situation: Situation::Divergent,
        observation: Some("The order was removed".into()),
        // As the step left it.
        version: sale.version + 1,
        ..sale.clone()
    };
    store
        .delete_settlement(
            &a,
            MAGALU,
            "D-1",
            &[LineWrite::Update(orphan.clone())],
            &[],
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(store.get_settlement(&a, MAGALU, "D-1").await.unwrap(), None);
    let left = store.order_lines(&a, MAGALU, "D-1", None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].line, stored(orphan.clone(), at(5)));
    assert_eq!(left[0].order, None);
    assert_eq!(left[0].conciliation.as_ref().map(|c| c.id), Some(c.id));
    let keys: Vec<LineKey> = lines.iter().map(|l| l.key.clone()).collect();
    assert_eq!(
        store.lines_for_keys(&a, MAGALU, &keys).await.unwrap(),
        vec![stored(orphan, at(5))]
    );
    // Another order is untouched; a second delete finds nothing.
    assert_eq!(
        store.get_settlement(&a, MAGALU, "D-2").await.unwrap(),
        Some((order(s, MAGALU, "D-2"), other))
    );
    assert!(matches!(
        store
            .delete_settlement(&a, MAGALU, "D-1", &[], &[], at(6))
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn lookups_answer_exactly_the_keys_asked(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let a1 = settle(
        &*store,
        &a,
        order(s, MAGALU, "A-1"),
        vec![
            expected(s, MAGALU, key("A-1", ExtractType::Sale, 1), 10_000),
            expected(s, MAGALU, key("A-1", ExtractType::Sale, 2), 10_000),
            expected(s, MAGALU, key("A-1", ExtractType::Comission, 1), 1_600),
        ],
    )
    .await;
    let a2 = settle(
        &*store,
        &a,
        order(s, MAGALU, "A-2"),
        vec![expected(s, MAGALU, key("A-2", ExtractType::Sale, 1), 5_000)],
    )
    .await;
    // The same keys in another channel, and in another seller's.
    settle(
        &*store,
        &a,
        order(s, SHOPEE, "A-1"),
        vec![expected(s, SHOPEE, key("A-1", ExtractType::Sale, 2), 1)],
    )
    .await;
    let b = scope_of(&w, &w.seller_b);
    settle(
        &*store,
        &b,
        order(&w.seller_b, MAGALU, "A-2"),
        vec![expected(
            &w.seller_b,
            MAGALU,
            key("A-2", ExtractType::Sale, 1),
            2,
        )],
    )
    .await;

    let asked = [
        key("A-1", ExtractType::Sale, 2),
        key("A-1", ExtractType::Ship, 1),
        key("A-2", ExtractType::Sale, 1),
        key("Z-9", ExtractType::Sale, 1),
        key("A-1", ExtractType::Sale, 2),
        key("A-2", ExtractType::Sale, 3),
    ];
    let mut found = store.lines_for_keys(&a, MAGALU, &asked).await.unwrap();
    found.sort_by_key(|l| l.id);
    assert_eq!(found, vec![a1[1].clone(), a2[0].clone()]);
    assert!(store
        .lines_for_keys(&a, MAGALU, &[])
        .await
        .unwrap()
        .is_empty());

    let codes: Vec<String> = ["A-1", "Z-9", "A-2", "A-1"].map(String::from).to_vec();
    let mut orders = store
        .settlements_for_codes(&a, MAGALU, &codes)
        .await
        .unwrap();
    orders.sort_by(|x, y| x.order_code.cmp(&y.order_code));
    assert_eq!(
        orders,
        vec![order(s, MAGALU, "A-1"), order(s, MAGALU, "A-2")]
    );
    let theirs = store
        .settlements_for_codes(&b, MAGALU, &codes)
        .await
        .unwrap();
    assert_eq!(theirs, vec![order(&w.seller_b, MAGALU, "A-2")]);
}

/// A step's worth of keys (more than a backend may read in one go): every line asked
/// for once, none other.
pub async fn lookups_of_a_whole_step(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let mut stored = vec![];
    for code in ["W-1", "W-2", "W-3"] {
        let lines = (1..=500)
            .map(|plot| expected(s, MAGALU, key(code, ExtractType::Sale, plot), 100))
            .collect();
        stored.extend(settle(&*store, &a, order(s, MAGALU, code), lines).await);
    }
    // Every other line, some twice, interleaved with keys of no line.
    let mut asked = vec![];
    let mut wanted = vec![];
    for (i, l) in stored.iter().enumerate() {
        if i % 2 == 0 {
            asked.push(l.key.clone());
            wanted.push(l.clone());
            if i % 10 == 0 {
                asked.push(l.key.clone());
            }
        } else if i % 3 == 0 {
            asked.push(key(&l.key.order_code, ExtractType::Ship, l.key.plot_number));
        }
    }
    asked.extend((501..=550).map(|plot| key("W-2", ExtractType::Sale, plot)));
    asked.reverse();
    assert!(asked.len() > 1_000);
    let mut found = store.lines_for_keys(&a, MAGALU, &asked).await.unwrap();
    found.sort_by_key(|l| l.id);
    assert_eq!(found, wanted);
}

pub async fn begin_finds_the_digest_then_overlaps(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    // Handed with a cursor and counts, recorded with none.
    let mut handed = statement(s, MAGALU, "d1", 1, 5);
    handed.id = 99;
    handed.cursor = 7;
    handed.concilied = 3;
    let c1 = begin_new(&*store, &a, &handed).await;
    assert!(c1.id > 0);
    assert_eq!(
        c1,
        Conciliation {
            id: c1.id,
            cursor: 0,
            concilied: 0,
            ..statement(s, MAGALU, "d1", 1, 5)
        }
    );
    assert_eq!(store.get_conciliation(&a, c1.id).await.unwrap(), c1);
    // The same statement again, even handed another period: the one recorded.
    assert_eq!(
        store
            .begin_conciliation(&a, &statement(s, MAGALU, "d1", 20, 21))
            .await
            .unwrap(),
        Begun::Existing(c1.clone())
    );
    let closed = store
        .close_conciliation(&a, c1.id, at(10), &[])
        .await
        .unwrap();
    assert_eq!(closed.close_date, Some(at(10)));
    assert_eq!(
        store
            .begin_conciliation(&a, &statement(s, MAGALU, "d1", 1, 5))
            .await
            .unwrap(),
        Begun::Existing(closed.clone())
    );

    // Periods meeting the closed one, edges included, overlap it.
    for (init, end) in [(5, 6), (0, 1), (2, 3), (0, 9)] {
        let digest = format!("o-{init}-{end}");
        assert_eq!(
            store
                .begin_conciliation(&a, &statement(s, MAGALU, &digest, init, end))
                .await
                .unwrap(),
            Begun::Overlaps(closed.clone()),
            "[{init}, {end}]"
        );
    }
    assert!(store
        .list_conciliations(&a, Some(MAGALU))
        .await
        .unwrap()
        .iter()
        .all(|c| c.digest == "d1"));
    // After it, another channel, another seller, the same digest in another channel:
    // all new.
    let c2 = begin_new(&*store, &a, &statement(s, MAGALU, "d2", 6, 9)).await;
    // A conciliation still loading holds its period too.
    assert_eq!(
        store
            .begin_conciliation(&a, &statement(s, MAGALU, "d-open", 9, 12))
            .await
            .unwrap(),
        Begun::Overlaps(c2.clone())
    );
    let c3 = begin_new(&*store, &a, &statement(s, SHOPEE, "d1", 1, 5)).await;
    let b = scope_of(&w, &w.seller_b);
    let c4 = begin_new(&*store, &b, &statement(&w.seller_b, MAGALU, "d1", 1, 5)).await;
    assert!(c2.id > c1.id && c3.id > c2.id && c4.id > c3.id);
    // A conciliation of seller A cannot be begun in seller B's scope.
    assert!(matches!(
        store
            .begin_conciliation(&b, &statement(s, MAGALU, "d9", 30, 31))
            .await,
        Err(StoreError::NotFound)
    ));

    // Newest first, of the scope and channel asked.
    let listed: Vec<i64> = store
        .list_conciliations(&a, None)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, vec![c3.id, c2.id, c1.id]);
    let magalu: Vec<i64> = store
        .list_conciliations(&a, Some(MAGALU))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(magalu, vec![c2.id, c1.id]);
    let operator = Scope::operator(&w.operator.id);
    assert_eq!(
        store
            .list_conciliations(&operator, None)
            .await
            .unwrap()
            .len(),
        4
    );
}

pub async fn a_step_writes_lines_and_moves_the_cursor(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let lines = settle(
        &*store,
        &a,
        order(s, MAGALU, "A-1"),
        vec![
            expected(s, MAGALU, key("A-1", ExtractType::Sale, 1), 10_000),
            expected(s, MAGALU, key("A-1", ExtractType::Comission, 1), 1_600),
        ],
    )
    .await;
    let c = begin_new(&*store, &a, &statement(s, MAGALU, "d", 1, 2)).await;
    let sale = release(lines[0].clone(), 10_000, day(1), c.id, Situation::Concilied);
    let stray = unexpected(
        s,
        MAGALU,
        key("Z-9", ExtractType::Sale, 1),
        700,
        day(2),
        c.id,
    );
    store
        .apply_conciliation_step(
            &a,
            &step(
                &c,
                0,
                3,
                vec![
                    LineWrite::Update(sale.clone()),
                    LineWrite::New(stray.clone()),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(store.get_conciliation(&a, c.id).await.unwrap().cursor, 3);
    let mut found = store
        .lines_for_keys(
            &a,
            MAGALU,
            &[
                key("A-1", ExtractType::Sale, 1),
                key("Z-9", ExtractType::Sale, 1),
            ],
        )
        .await
        .unwrap();
    found.sort_by_key(|l| l.id);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0], stored(sale.clone(), at(100)));
    assert!(found[1].id > lines[1].id);
    assert_eq!(
        found[1],
        ExtractLine {
            id: found[1].id,
            ..stored(stray.clone(), at(100))
        }
    );
    let view = store.get_line(&a, found[1].id).await.unwrap();
    assert_eq!(view.order, None);
    // A code with lines and no order has no settlement; its lines are the order's.
    assert_eq!(store.get_settlement(&a, MAGALU, "Z-9").await.unwrap(), None);
    assert_eq!(
        store
            .order_lines(&a, MAGALU, "Z-9", None)
            .await
            .unwrap()
            .iter()
            .map(|v| v.line.id)
            .collect::<Vec<_>>(),
        vec![found[1].id]
    );
    assert_eq!(view.conciliation.map(|v| (v.id, v.cursor)), Some((c.id, 3)));

    // The next step, from the cursor, releases the same line again.
    let again = release(
        found[0].clone(),
        -10_000,
        day(2),
        c.id,
        Situation::Divergent,
    );
    store
        .apply_conciliation_step(&a, &step(&c, 3, 5, vec![LineWrite::Update(again.clone())]))
        .await
        .unwrap();
    assert_eq!(store.get_conciliation(&a, c.id).await.unwrap().cursor, 5);
    let line = store.get_line(&a, sale.id).await.unwrap().line;
    assert_eq!(line, stored(again, at(100)));
    assert_eq!(
        (line.released_value, line.released_parts),
        (Some(Cents(0)), 2)
    );
    // An empty step moves the cursor alone.
    store
        .apply_conciliation_step(&a, &step(&c, 5, 6, vec![]))
        .await
        .unwrap();
    assert_eq!(store.get_conciliation(&a, c.id).await.unwrap().cursor, 6);
}

/// `line` is as it was, and no line was created for Z-9.
async fn untouched(store: &dyn Store, scope: &Scope, line: &ExtractLine) {
    assert_eq!(store.get_line(scope, line.id).await.unwrap().line, *line);
    assert!(store
        .lines_for_keys(scope, MAGALU, &[key("Z-9", ExtractType::Sale, 1)])
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_stale_step_writes_nothing(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let lines = settle(
        &*store,
        &a,
        order(s, MAGALU, "A-1"),
        vec![expected(
            s,
            MAGALU,
            key("A-1", ExtractType::Sale, 1),
            10_000,
        )],
    )
    .await;
    let c = begin_new(&*store, &a, &statement(s, MAGALU, "d", 1, 2)).await;
    store
        .apply_conciliation_step(&a, &step(&c, 0, 2, vec![]))
        .await
        .unwrap();
    let sale = release(lines[0].clone(), 10_000, day(1), c.id, Situation::Concilied);
    let stray = unexpected(
        s,
        MAGALU,
        key("Z-9", ExtractType::Sale, 1),
        700,
        day(2),
        c.id,
    );
    let writes = vec![LineWrite::Update(sale), LineWrite::New(stray)];
    // Behind the cursor, and ahead of it.
    for from in [0, 1, 3] {
        let outcome = store
            .apply_conciliation_step(&a, &step(&c, from, from + 2, writes.clone()))
            .await;
        assert!(
            matches!(outcome, Err(StoreError::Stale)),
            "{from}: {outcome:?}"
        );
        assert_eq!(store.get_conciliation(&a, c.id).await.unwrap().cursor, 2);
        untouched(&*store, &a, &lines[0]).await;
    }
    // A step whose line cannot be written leaves the cursor where it was.
    let missing = ExtractLine {
        id: lines[0].id + 1_000,
        ..lines[0].clone()
    };
    assert!(store
        .apply_conciliation_step(
            &a,
            &step(
                &c,
                2,
                4,
                vec![writes[1].clone(), LineWrite::Update(missing)]
            )
        )
        .await
        .is_err());
    assert_eq!(store.get_conciliation(&a, c.id).await.unwrap().cursor, 2);
    untouched(&*store, &a, &lines[0]).await;
    // Another seller's scope, an unknown conciliation: not found.
    let b = scope_of(&w, &w.seller_b);
    assert!(matches!(
        store
            .apply_conciliation_step(&b, &step(&c, 2, 4, writes.clone()))
            .await,
        Err(StoreError::NotFound)
    ));
    let unknown = Conciliation {
        id: c.id + 1_000,
        ..c.clone()
    };
    assert!(matches!(
        store
            .apply_conciliation_step(&a, &step(&unknown, 2, 4, vec![]))
            .await,
        Err(StoreError::NotFound)
    ));
    // A closed conciliation takes no more steps, even from its cursor.
    store
        .close_conciliation(&a, c.id, at(10), &[])
        .await
        .unwrap();
    assert!(matches!(
        store
            .apply_conciliation_step(&a, &step(&c, 2, 4, writes.clone()))
            .await,
        Err(StoreError::Stale)
    ));
    untouched(&*store, &a, &lines[0]).await;
}

/// A line rewritten whole on what was read before another write moved it (a push
/// racing a statement step, or an ERP mark) is refused `Stale`, whole, and the other
/// write stays: no acknowledged release or mark is overwritten.
pub async fn a_line_written_since_it_was_read_is_stale(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let sale_key = key("R-1", ExtractType::Sale, 1);
    let lines = settle(
        &*store,
        &a,
        order(s, MAGALU, "R-1"),
        vec![
            expected(s, MAGALU, sale_key.clone(), 10_000),
            expected(s, MAGALU, key("R-1", ExtractType::Comission, 1), -1_600),
        ],
    )
    .await;
    assert!(lines.iter().all(|l| l.version == 0));
    // A push reads the lines here; then a statement step releases on the sale.
    let read = lines.clone();
    let c = begin_new(&*store, &a, &statement(s, MAGALU, "r", 1, 1)).await;
    let sale = release(lines[0].clone(), 10_000, day(1), c.id, Situation::Concilied);
    store
        .apply_conciliation_step(&a, &step(&c, 0, 1, vec![LineWrite::Update(sale.clone())]))
        .await
        .unwrap();
    let released = store
        .lines_for_keys(&a, MAGALU, std::slice::from_ref(&sale_key))
        .await
        .unwrap();
    assert_eq!(released, vec![stored(sale.clone(), at(100))]);
    assert_eq!(released[0].version, 1);

    // The push, decided on what it read: a new expected value on both lines.
    let repriced: Vec<LineWrite> = read
        .iter()
        .map(|l| {
            LineWrite::Update(ExtractLine {
                expected_value: Some(Cents(l.expected_value.unwrap().0 * 2)),
                ..l.clone()
            })
        })
        .collect();
    let push = OrderSettlement {
        order: order(s, MAGALU, "R-1"),
        lines: repriced.clone(),
        events: Vec::new(),
    };
    assert!(matches!(
        store.save_settlement(&a, &push, at(200)).await,
        Err(StoreError::Stale)
    ));
    // Nothing of it landed, not even the line nobody else touched.
    assert_eq!(
        store
            .lines_for_keys(&a, MAGALU, std::slice::from_ref(&sale_key))
            .await
            .unwrap(),
        released
    );
    untouched(&*store, &a, &lines[1]).await;
    // The same push decided on the lines as they are now lands, release kept.
    let fresh = store
        .get_settlement(&a, MAGALU, "R-1")
        .await
        .unwrap()
        .unwrap()
        .1;
    let repriced: Vec<LineWrite> = fresh
        .iter()
        .map(|l| {
            LineWrite::Update(ExtractLine {
                expected_value: Some(Cents(l.expected_value.unwrap().0 * 2)),
                ..l.clone()
            })
        })
        .collect();
    let saved = store
        .save_settlement(
            &a,
            &OrderSettlement {
                order: order(s, MAGALU, "R-1"),
                lines: repriced,
                events: Vec::new(),
            },
            at(300),
        )
        .await
        .unwrap();
    assert_eq!(saved[0].released_value, Some(Cents(10_000)));
    assert_eq!(saved[0].expected_value, Some(Cents(20_000)));
    assert_eq!(saved[0].version, 2);
    assert_eq!(saved[1].version, 1);

    // An ERP mark moves the line too: a step decided before it is refused.
    let before_mark = saved[0].clone();
    store
        .resolve_lines(&a, &[before_mark.id], at(400))
        .await
        .unwrap();
    let again = release(before_mark.clone(), 500, day(1), c.id, Situation::Divergent);
    assert!(matches!(
        store
            .apply_conciliation_step(&a, &step(&c, 1, 2, vec![LineWrite::Update(again)]))
            .await,
        Err(StoreError::Stale)
    ));
    let now = store.lines_for_keys(&a, MAGALU, &[sale_key]).await.unwrap();
    assert!(now[0].resolved_in_erp);
    assert_eq!(now[0].version, 3);
    assert_eq!(now[0].released_value, Some(Cents(10_000)));
    assert_eq!(store.get_conciliation(&a, c.id).await.unwrap().cursor, 1);
}

pub async fn close_counts_the_lines_per_situation(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let lines = settle(
        &*store,
        &a,
        order(s, MAGALU, "A-1"),
        vec![
            expected(s, MAGALU, key("A-1", ExtractType::Sale, 1), 10_000),
            expected(s, MAGALU, key("A-1", ExtractType::Sale, 2), 10_000),
            expected(s, MAGALU, key("A-1", ExtractType::Comission, 1), 1_600),
            expected(s, MAGALU, key("A-1", ExtractType::Comission, 2), 1_600),
            expected(s, MAGALU, key("A-1", ExtractType::Ship, 1), 3_000),
        ],
    )
    .await;
    let earlier = begin_new(&*store, &a, &statement(s, MAGALU, "e", 1, 1)).await;
    let c = begin_new(&*store, &a, &statement(s, MAGALU, "d", 2, 3)).await;
    // One line released by the earlier conciliation only: not counted in `c`.
    store
        .apply_conciliation_step(
            &a,
            &step(
                &earlier,
                0,
                1,
                vec![LineWrite::Update(release(
                    lines[4].clone(),
                    3_000,
                    day(1),
                    earlier.id,
                    Situation::Concilied,
                ))],
            ),
        )
        .await
        .unwrap();
    let writes = vec![
        LineWrite::Update(release(
            lines[0].clone(),
            10_000,
            day(2),
            c.id,
            Situation::Concilied,
        )),
        LineWrite::Update(release(
            lines[1].clone(),
            10_000,
            day(2),
            c.id,
            Situation::Concilied,
        )),
        LineWrite::Update(release(
            lines[2].clone(),
            800,
            day(3),
            c.id,
            Situation::Divergent,
        )),
        LineWrite::Update(release(
            lines[3].clone(),
            2_000,
            day(3),
            c.id,
            Situation::Divergent,
        )),
        LineWrite::New(unexpected(
            s,
            MAGALU,
            key("Z-9", ExtractType::Sale, 1),
            500,
            day(3),
            c.id,
        )),
    ];
    store
        .apply_conciliation_step(&a, &step(&c, 0, 10, writes))
        .await
        .unwrap();
    let closed = store
        .close_conciliation(&a, c.id, at(20), &[])
        .await
        .unwrap();
    assert_eq!(
        closed,
        Conciliation {
            close_date: Some(at(20)),
            cursor: 10,
            concilied: 2,
            divergent: 3,
            partial: 1,
            ..c.clone()
        }
    );
    assert_eq!(store.get_conciliation(&a, c.id).await.unwrap(), closed);
    // Closing again answers the first close.
    assert_eq!(
        store
            .close_conciliation(&a, c.id, at(30), &[])
            .await
            .unwrap(),
        closed
    );
    let first = store
        .close_conciliation(&a, earlier.id, at(21), &[])
        .await
        .unwrap();
    assert_eq!((first.concilied, first.divergent, first.partial), (1, 0, 0));
    let b = scope_of(&w, &w.seller_b);
    assert!(matches!(
        store.close_conciliation(&b, c.id, at(30), &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .close_conciliation(&a, c.id + 1_000, at(30), &[])
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Seller A's lines released on days 1 to 3 in two channels (and two never
/// released), seller B's one: what the listing cases read.
struct Listed {
    w: World,
    a: Scope,
    b: Scope,
    c1: Conciliation,
    c2: Conciliation,
    /// A's released lines, in id order: M-1 SALE (day 1), M-1 COMISSION (day 2),
    /// M-2 SALE 1 (day 3, partial), S-1 SALE (Shopee, day 2), Z-9 SALE (day 3, no
    /// order).
    released: Vec<ExtractLine>,
    /// B's released line.
    theirs: ExtractLine,
}

async fn listed(store: &dyn Store) -> Listed {
    let w = world(store).await;
    let a = scope_of(&w, &w.seller_a);
    let b = scope_of(&w, &w.seller_b);
    let s = &w.seller_a;
    let m1 = settle(
        store,
        &a,
        order(s, MAGALU, "M-1"),
        vec![
            expected(s, MAGALU, key("M-1", ExtractType::Sale, 1), 10_000),
            expected(s, MAGALU, key("M-1", ExtractType::Comission, 1), 1_600),
            expected(s, MAGALU, key("M-1", ExtractType::Ship, 1), 3_000),
        ],
    )
    .await;
    let m2 = settle(
        store,
        &a,
        order(s, MAGALU, "M-2"),
        vec![
            expected(s, MAGALU, key("M-2", ExtractType::Sale, 1), 5_000),
            expected(s, MAGALU, key("M-2", ExtractType::Sale, 2), 5_000),
        ],
    )
    .await;
    let s1 = settle(
        store,
        &a,
        order(s, SHOPEE, "S-1"),
        vec![expected(s, SHOPEE, key("S-1", ExtractType::Sale, 1), 7_000)],
    )
    .await;
    let tb = settle(
        store,
        &b,
        order(&w.seller_b, MAGALU, "M-1"),
        vec![expected(
            &w.seller_b,
            MAGALU,
            key("M-1", ExtractType::Sale, 1),
            10_000,
        )],
    )
    .await;
    let c1 = begin_new(store, &a, &statement(s, MAGALU, "c1", 1, 3)).await;
    let c2 = begin_new(store, &a, &statement(s, SHOPEE, "c2", 2, 2)).await;
    let cb = begin_new(store, &b, &statement(&w.seller_b, MAGALU, "cb", 1, 1)).await;
    let writes = [
        release(m1[0].clone(), 10_000, day(1), c1.id, Situation::Concilied),
        release(m1[1].clone(), 1_600, day(2), c1.id, Situation::Concilied),
        release(m2[0].clone(), 2_000, day(3), c1.id, Situation::Divergent),
    ];
    let stray = unexpected(
        s,
        MAGALU,
        key("Z-9", ExtractType::Sale, 1),
        900,
        day(3),
        c1.id,
    );
    let mut step1: Vec<LineWrite> = writes.iter().cloned().map(LineWrite::Update).collect();
    step1.push(LineWrite::New(stray));
    store
        .apply_conciliation_step(&a, &step(&c1, 0, 4, step1))
        .await
        .unwrap();
    let shopee = release(s1[0].clone(), 7_000, day(2), c2.id, Situation::Concilied);
    store
        .apply_conciliation_step(&a, &step(&c2, 0, 1, vec![LineWrite::Update(shopee)]))
        .await
        .unwrap();
    let theirs = release(tb[0].clone(), 10_000, day(1), cb.id, Situation::Concilied);
    store
        .apply_conciliation_step(
            &b,
            &step(&cb, 0, 1, vec![LineWrite::Update(theirs.clone())]),
        )
        .await
        .unwrap();
    let c1 = store
        .close_conciliation(&a, c1.id, at(200), &[])
        .await
        .unwrap();
    let c2 = store
        .close_conciliation(&a, c2.id, at(200), &[])
        .await
        .unwrap();

    let mut released = store
        .lines_for_keys(
            &a,
            MAGALU,
            &[
                key("M-1", ExtractType::Sale, 1),
                key("M-1", ExtractType::Comission, 1),
                key("M-2", ExtractType::Sale, 1),
                key("Z-9", ExtractType::Sale, 1),
            ],
        )
        .await
        .unwrap();
    released.extend(
        store
            .lines_for_keys(&a, SHOPEE, &[key("S-1", ExtractType::Sale, 1)])
            .await
            .unwrap(),
    );
    released.sort_by_key(|l| l.id);
    assert_eq!(released.len(), 5);
    Listed {
        w,
        a,
        b,
        c1,
        c2,
        released,
        theirs: stored(theirs, at(100)),
    }
}

/// The listing's ids and its count, which must agree with a page holding everything.
async fn listing(store: &dyn Store, scope: &Scope, f: LineFilter) -> Vec<i64> {
    let page: Vec<i64> = store
        .list_lines(scope, &f)
        .await
        .unwrap()
        .iter()
        .map(|v| v.line.id)
        .collect();
    let count = store.count_lines(scope, &f).await.unwrap();
    assert_eq!(count, page.len() as u64, "{f:?}");
    page
}

pub async fn listings_filter_and_page(store: Arc<dyn Store>) {
    let l = listed(&*store).await;
    let (a, r) = (&l.a, &l.released);
    let [m1_sale, m1_com, m2_sale, s1_sale, z9] = [0, 1, 2, 3, 4].map(|i| r[i].clone());
    let by_key = |k: &LineKey| r.iter().find(|x| &x.key == k).unwrap().id;
    assert_eq!(m1_sale.id, by_key(&key("M-1", ExtractType::Sale, 1)));
    assert_eq!(z9.id, by_key(&key("Z-9", ExtractType::Sale, 1)));
    assert_eq!(s1_sale.channel, SHOPEE);
    let all = ids(r);

    // Every released line once, in id order, with its order and conciliation.
    let views = store
        .list_lines(a, &filter(Listing::Concilieds))
        .await
        .unwrap();
    assert_eq!(views.iter().map(|v| v.line.clone()).collect::<Vec<_>>(), *r);
    let o = views.iter().find(|v| v.line.id == m1_sale.id).unwrap();
    assert_eq!(o.order, Some(order(&l.w.seller_a, MAGALU, "M-1")));
    assert_eq!(o.conciliation, Some(l.c1.clone()));
    let z = views.iter().find(|v| v.line.id == z9.id).unwrap();
    assert_eq!(
        (z.order.clone(), z.conciliation.clone()),
        (None, Some(l.c1.clone()))
    );
    assert_eq!(listing(&*store, a, filter(Listing::Unresolveds)).await, all);

    // ERP marks.
    store
        .resolve_lines(a, &[m1_sale.id], at(300))
        .await
        .unwrap();
    store
        .mark_lines_read(a, &[m1_com.id], at(300))
        .await
        .unwrap();
    assert_eq!(listing(&*store, a, filter(Listing::Concilieds)).await, all);
    assert_eq!(
        listing(&*store, a, filter(Listing::Unresolveds)).await,
        vec![m1_com.id, m2_sale.id, s1_sale.id, z9.id]
    );
    let unread = LineFilter {
        only_unread: true,
        ..filter(Listing::Concilieds)
    };
    assert_eq!(
        listing(&*store, a, unread).await,
        vec![m1_sale.id, m2_sale.id, s1_sale.id, z9.id]
    );

    // Release dates, both ends inclusive.
    let dates = |from: Option<i64>, to: Option<i64>| LineFilter {
        from: from.map(day),
        to: to.map(day),
        ..filter(Listing::Concilieds)
    };
    assert_eq!(
        listing(&*store, a, dates(Some(2), Some(2))).await,
        vec![m1_com.id, s1_sale.id]
    );
    assert_eq!(
        listing(&*store, a, dates(Some(3), None)).await,
        vec![m2_sale.id, z9.id]
    );
    assert_eq!(
        listing(&*store, a, dates(None, Some(1))).await,
        vec![m1_sale.id]
    );
    assert!(listing(&*store, a, dates(Some(4), None)).await.is_empty());

    // Conciliation and channel.
    let of = |c: i64| LineFilter {
        conciliation_id: Some(c),
        ..filter(Listing::Concilieds)
    };
    assert_eq!(listing(&*store, a, of(l.c2.id)).await, vec![s1_sale.id]);
    assert_eq!(
        listing(&*store, a, of(l.c1.id)).await,
        vec![m1_sale.id, m1_com.id, m2_sale.id, z9.id]
    );
    let channel = |c: &str| LineFilter {
        channel: Some(c.into()),
        ..filter(Listing::Concilieds)
    };
    assert_eq!(listing(&*store, a, channel(SHOPEE)).await, vec![s1_sale.id]);
    assert_eq!(listing(&*store, a, channel(MAGALU)).await.len(), 4);
    assert!(listing(&*store, a, channel("magalu")).await.is_empty());

    // Everything at once.
    let combined = LineFilter {
        channel: Some(MAGALU.into()),
        from: Some(day(2)),
        conciliation_id: Some(l.c1.id),
        ..filter(Listing::Unresolveds)
    };
    assert_eq!(
        listing(&*store, a, combined.clone()).await,
        vec![m1_com.id, m2_sale.id, z9.id]
    );
    assert_eq!(
        listing(
            &*store,
            a,
            LineFilter {
                only_unread: true,
                ..combined
            }
        )
        .await,
        vec![m2_sale.id, z9.id]
    );

    // Pages: a client looping ceil(count / limit) pages sees every line once; the
    // count ignores the paging.
    let paged = |offset: u64| LineFilter {
        offset,
        limit: 2,
        ..filter(Listing::Concilieds)
    };
    let mut seen = vec![];
    for offset in [0, 2, 4] {
        let page = store.list_lines(a, &paged(offset)).await.unwrap();
        assert!(page.len() <= 2);
        assert_eq!(store.count_lines(a, &paged(offset)).await.unwrap(), 5);
        seen.extend(page.iter().map(|v| v.line.id));
    }
    assert_eq!(seen, all);
    assert!(store.list_lines(a, &paged(5)).await.unwrap().is_empty());
    assert!(store.list_lines(a, &paged(500)).await.unwrap().is_empty());

    // Counts follow writes: resolving the rest empties `unresolveds`.
    store.resolve_lines(a, &all, at(301)).await.unwrap();
    assert!(listing(&*store, a, filter(Listing::Unresolveds))
        .await
        .is_empty());
    assert_eq!(listing(&*store, a, filter(Listing::Concilieds)).await, all);

    // The other seller's listing holds its own line only; the operator's holds both.
    assert_eq!(
        listing(&*store, &l.b, filter(Listing::Concilieds)).await,
        vec![l.theirs.id]
    );
    let operator = Scope::operator(&l.w.operator.id);
    let mut everyone = all.clone();
    everyone.push(l.theirs.id);
    everyone.sort_unstable();
    assert_eq!(
        listing(&*store, &operator, filter(Listing::Concilieds)).await,
        everyone
    );
}

pub async fn mark_batches_report_strangers(store: Arc<dyn Store>) {
    let l = listed(&*store).await;
    let (a, r) = (&l.a, &l.released);
    let unknown = r.iter().map(|x| x.id).max().unwrap().max(l.theirs.id) + 1_000;
    let batch = [r[0].id, l.theirs.id, unknown, r[0].id, r[1].id];
    let marked = store.resolve_lines(a, &batch, at(300)).await.unwrap();
    assert_eq!(marked.applied, vec![r[0].id, r[1].id]);
    assert_eq!(marked.unknown, vec![l.theirs.id, unknown]);
    let line = store.get_line(a, r[0].id).await.unwrap().line;
    assert!(line.resolved_in_erp && !line.read);
    assert_eq!(line.updated_at, at(300));
    // The other seller's line is untouched.
    assert_eq!(
        store.get_line(&l.b, l.theirs.id).await.unwrap().line,
        l.theirs
    );
    // Marked before: applied again, its update time kept.
    let again = store.resolve_lines(a, &[r[0].id], at(400)).await.unwrap();
    assert_eq!(again.applied, vec![r[0].id]);
    assert_eq!(
        store.get_line(a, r[0].id).await.unwrap().line.updated_at,
        at(300)
    );

    let read = store
        .mark_lines_read(a, &[r[2].id, unknown, l.theirs.id], at(500))
        .await
        .unwrap();
    assert_eq!(read.applied, vec![r[2].id]);
    assert_eq!(read.unknown, vec![unknown, l.theirs.id]);
    let line = store.get_line(a, r[2].id).await.unwrap().line;
    assert!(line.read && !line.resolved_in_erp);
    assert!(!store.get_line(&l.b, l.theirs.id).await.unwrap().line.read);
    assert_eq!(
        store.resolve_lines(a, &[], at(500)).await.unwrap(),
        Default::default()
    );
}

pub async fn month_summaries_add_up(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    let due = |l: ExtractLine, date: &str| ExtractLine {
        expected_date: Some(utc(date)),
        ..l
    };
    let j1 = settle(
        &*store,
        &a,
        order(s, MAGALU, "J-1"),
        vec![
            due(
                expected(s, MAGALU, key("J-1", ExtractType::Sale, 1), 10_000),
                "2024-01-15T00:00:00+00:00",
            ),
            due(
                expected(s, MAGALU, key("J-1", ExtractType::Comission, 1), 1_600),
                "2024-01-15T00:00:00+00:00",
            ),
            due(
                expected(s, MAGALU, key("J-1", ExtractType::Ship, 1), 3_000),
                "2024-02-10T00:00:00+00:00",
            ),
        ],
    )
    .await;
    settle(
        &*store,
        &a,
        order(s, MAGALU, "K-1"),
        vec![due(
            expected(s, MAGALU, key("K-1", ExtractType::Sale, 1), 5_000),
            "2024-03-05T00:00:00+00:00",
        )],
    )
    .await;
    let s1 = settle(
        &*store,
        &a,
        order(s, SHOPEE, "S-1"),
        vec![due(
            expected(s, SHOPEE, key("S-1", ExtractType::Sale, 1), 7_000),
            // The last microsecond of January, in UTC.
            "2024-01-31T23:59:59.999999+00:00",
        )],
    )
    .await;
    let b = scope_of(&w, &w.seller_b);
    settle(
        &*store,
        &b,
        order(&w.seller_b, MAGALU, "J-1"),
        vec![due(
            expected(
                &w.seller_b,
                MAGALU,
                key("J-1", ExtractType::Sale, 1),
                99_999,
            ),
            "2024-01-15T00:00:00+00:00",
        )],
    )
    .await;
    let c = begin_new(&*store, &a, &statement(s, MAGALU, "m", 1, 2)).await;
    let released_at = utc("2024-02-20T12:00:00+00:00");
    store
        .apply_conciliation_step(
            &a,
            &step(
                &c,
                0,
                3,
                vec![
                    LineWrite::Update(release(
                        j1[0].clone(),
                        10_000,
                        released_at,
                        c.id,
                        Situation::Concilied,
                    )),
                    LineWrite::Update(release(
                        j1[1].clone(),
                        1_500,
                        released_at,
                        c.id,
                        Situation::Divergent,
                    )),
                    // Nothing expected: its month is its release's.
                    LineWrite::New(unexpected(
                        s,
                        MAGALU,
                        key("U-1", ExtractType::Sale, 1),
                        -2_000,
                        released_at,
                        c.id,
                    )),
                ],
            ),
        )
        .await
        .unwrap();
    let c2 = begin_new(&*store, &a, &statement(s, SHOPEE, "m2", 1, 2)).await;
    store
        .apply_conciliation_step(
            &a,
            &step(
                &c2,
                0,
                1,
                vec![LineWrite::Update(release(
                    s1[0].clone(),
                    7_000,
                    released_at,
                    c2.id,
                    Situation::Concilied,
                ))],
            ),
        )
        .await
        .unwrap();

    let month = |channel: &str, month: &str, v: [i64; 6]| MonthSummary {
        channel: channel.into(),
        month: month.into(),
        expected: Cents(v[0]),
        released: Cents(v[1]),
        commission_expected: Cents(v[2]),
        commission_released: Cents(v[3]),
        divergent_count: v[4] as u64,
        divergent_amount: Cents(v[5]),
    };
    let magalu_jan = month(MAGALU, "2024-01", [10_000, 10_000, 1_600, 1_500, 1, 100]);
    let magalu_feb = month(MAGALU, "2024-02", [3_000, -2_000, 0, 0, 1, 2_000]);
    let shopee_jan = month(SHOPEE, "2024-01", [7_000, 7_000, 0, 0, 0, 0]);
    assert_eq!(
        store
            .month_summaries(&a, None, "2024-01", "2024-02")
            .await
            .unwrap(),
        vec![magalu_jan.clone(), magalu_feb.clone(), shopee_jan.clone()]
    );
    assert_eq!(
        store
            .month_summaries(&a, Some(SHOPEE), "2024-01", "2024-12")
            .await
            .unwrap(),
        vec![shopee_jan]
    );
    assert_eq!(
        store
            .month_summaries(&a, Some(MAGALU), "2024-02", "2024-03")
            .await
            .unwrap(),
        vec![magalu_feb, month(MAGALU, "2024-03", [5_000, 0, 0, 0, 0, 0])]
    );
    assert!(store
        .month_summaries(&a, None, "2023-01", "2023-12")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .month_summaries(&b, None, "2024-01", "2024-12")
            .await
            .unwrap(),
        vec![month(MAGALU, "2024-01", [99_999, 0, 0, 0, 0, 0])]
    );
}

pub async fn channels_are_listed_once_sorted(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = scope_of(&w, &w.seller_a);
    let s = &w.seller_a;
    assert!(store.list_channels(&a).await.unwrap().is_empty());
    // Terms alone, an order with lines, lines with no order (a released unknown one).
    store
        .put_channel_terms(&a, &full_channel_terms("Zoom"), T0)
        .await
        .unwrap();
    settle(
        &*store,
        &a,
        order(s, MAGALU, "A-1"),
        vec![expected(s, MAGALU, key("A-1", ExtractType::Sale, 1), 1)],
    )
    .await;
    settle(&*store, &a, order(s, "Carrefour", "C-1"), vec![]).await;
    store
        .put_channel_terms(&a, &full_channel_terms(MAGALU), T0)
        .await
        .unwrap();
    let c = begin_new(&*store, &a, &statement(s, SHOPEE, "d", 1, 1)).await;
    store
        .apply_conciliation_step(
            &a,
            &step(
                &c,
                0,
                1,
                vec![LineWrite::New(unexpected(
                    s,
                    SHOPEE,
                    key("Z-9", ExtractType::Sale, 1),
                    1,
                    day(1),
                    c.id,
                ))],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_channels(&a).await.unwrap(),
        vec!["Carrefour", MAGALU, SHOPEE, "Zoom"]
    );
    let b = scope_of(&w, &w.seller_b);
    assert!(store.list_channels(&b).await.unwrap().is_empty());
    settle(&*store, &b, order(&w.seller_b, "Amazon", "X"), vec![]).await;
    assert_eq!(store.list_channels(&b).await.unwrap(), vec!["Amazon"]);
    let operator = Scope::operator(&w.operator.id);
    assert_eq!(
        store.list_channels(&operator).await.unwrap(),
        vec!["Amazon", "Carrefour", MAGALU, SHOPEE, "Zoom"]
    );
}

pub async fn sellers_never_see_each_other(store: Arc<dyn Store>) {
    let l = listed(&*store).await;
    let (a, r) = (&l.a, &l.released);
    let w = &l.w;
    store
        .put_channel_terms(a, &full_channel_terms(MAGALU), T0)
        .await
        .unwrap();
    // Seller B (with data of its own), seller A under another operator's name, and a
    // seller of no one.
    let elsewhere = Scope::seller("another-operator", &w.seller_a.id);
    let nobody = Scope::seller(&w.operator.id, "no-such-seller");
    for scope in [&l.b, &elsewhere, &nobody] {
        let who = format!("{scope:?}");
        assert_eq!(
            store.get_channel_terms(scope, MAGALU).await.unwrap(),
            None,
            "{who}"
        );
        assert!(matches!(
            store.get_line(scope, r[0].id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.get_conciliation(scope, l.c1.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(store
            .order_lines(scope, MAGALU, "M-2", None)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.get_settlement(scope, MAGALU, "M-2").await.unwrap(),
            None,
            "{who}"
        );
        assert!(store
            .lines_for_keys(scope, MAGALU, &[key("M-2", ExtractType::Sale, 1)])
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .settlements_for_codes(scope, MAGALU, &["M-2".to_string()])
            .await
            .unwrap()
            .is_empty());
        let conciliations = store.list_conciliations(scope, None).await.unwrap();
        assert!(
            conciliations
                .iter()
                .all(|c| c.id != l.c1.id && c.id != l.c2.id),
            "{who}"
        );
        for listing_kind in [Listing::Concilieds, Listing::Unresolveds] {
            let f = LineFilter {
                channel: Some(SHOPEE.into()),
                ..filter(listing_kind)
            };
            assert!(
                store.list_lines(scope, &f).await.unwrap().is_empty(),
                "{who}"
            );
            assert_eq!(store.count_lines(scope, &f).await.unwrap(), 0, "{who}");
        }
        assert!(store
            .month_summaries(scope, Some(SHOPEE), "2000-01", "2099-12")
            .await
            .unwrap()
            .is_empty());
        assert!(!store
            .list_channels(scope)
            .await
            .unwrap()
            .contains(&SHOPEE.to_string()));
    }
    // The operator sees its sellers' lines; another operator sees none.
    let operator = Scope::operator(&w.operator.id);
    assert_eq!(store.get_line(&operator, r[0].id).await.unwrap().line, r[0]);
    let stranger = Scope::operator("another-operator");
    assert!(matches!(
        store.get_line(&stranger, r[0].id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store
        .list_lines(&stranger, &filter(Listing::Concilieds))
        .await
        .unwrap()
        .is_empty());
}
