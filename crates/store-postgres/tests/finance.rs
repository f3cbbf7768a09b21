//! Reconciliation's storage contract on PostgreSQL, each case in a fresh schema, and
//! the cases PostgreSQL answers in its own way (a write refused whole, the step cursor,
//! scoping). Skipped (and says so) when `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use std::sync::Arc;

use entreposto_domain::*;
use entreposto_store::fixtures::{full_channel_terms, full_settlement_order, world, World};
use entreposto_store::*;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

async fn open() -> Option<Box<Arc<dyn Store>>> {
    let url = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL").ok()?;
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 8).await.expect("connect");
    Some(Box::new(Arc::new(store)))
}

entreposto_store::finance_contract_tests!(open());

const T0: Timestamp = Timestamp(1_700_000_000_000_000);
const DAY: i64 = 86_400_000_000;
const CHANNEL: &str = "Magalu";

/// A fresh store with an operator and two sellers, or `None` without PostgreSQL.
async fn setup() -> Option<(PgStore, World)> {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return None;
    };
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let store = PgStore::connect(&url, 4).await.expect("connect");
    let w = world(&store).await;
    Some((store, w))
}

fn scope_of(s: &Seller) -> Scope {
    Scope::seller(&s.operator_id, &s.id)
}

/// A waiting line expecting `cents`, due on day `day`.
fn waiting(seller: &str, code: &str, kind: ExtractType, plot: u32, cents: i64, day: i64) -> ExtractLine {
    ExtractLine {
        id: 0,
        seller_id: seller.into(),
        channel: CHANNEL.into(),
        key: LineKey {
            order_code: code.into(),
            kind,
            plot_number: plot,
        },
        plots_quantity: Some(2),
        plot_value: Some(Cents(cents)),
        total_value: Some(Cents(cents * 2)),
        expected_value: Some(Cents(cents)),
        expected_percent: (kind == ExtractType::Comission).then_some(Rate(1600)),
        expected_date: Some(Timestamp(T0.0 + day * DAY)),
        original_value: Some(Cents(cents)),
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
    }
}

/// `line` released in full by conciliation `c` on day `day`.
fn released(mut line: ExtractLine, c: i64, day: i64, cents: i64) -> ExtractLine {
    line.released_value = Some(Cents(cents));
    line.released_parts += 1;
    line.released_date = Some(Timestamp(T0.0 + day * DAY));
    line.conciliation_id = Some(c);
    line.situation = if line.expected_value == Some(Cents(cents)) {
        Situation::Concilied
    } else {
        Situation::Divergent
    };
    line.observation = Some("OK".into());
    line.extra = Some(r#"{"batch":"7"}"#.into());
    line
}

/// Saves order `code` of `seller` with SALE 1 and 2 and a COMISSION 1.
async fn save_order(store: &PgStore, seller: &Seller, code: &str) -> Vec<ExtractLine> {
    let order = full_settlement_order(&seller.operator_id, &seller.id, CHANNEL, code);
    let lines = vec![
        LineWrite::New(waiting(&seller.id, code, ExtractType::Comission, 1, 1_600, 30)),
        LineWrite::New(waiting(&seller.id, code, ExtractType::Sale, 2, 10_000, 60)),
        LineWrite::New(waiting(&seller.id, code, ExtractType::Sale, 1, 10_000, 30)),
    ];
    store
        .save_settlement(&scope_of(seller), &OrderSettlement { order, lines }, T0)
        .await
        .expect("save settlement")
}

fn conciliation(seller: &Seller, digest: &str, from_day: i64, to_day: i64, rows: u64) -> Conciliation {
    Conciliation {
        id: 0,
        seller_id: seller.id.clone(),
        channel: CHANNEL.into(),
        digest: digest.into(),
        init_date: Timestamp(T0.0 + from_day * DAY),
        end_date: Timestamp(T0.0 + to_day * DAY),
        close_date: None,
        rows,
        refused: 1,
        cursor: 0,
        concilied: 0,
        divergent: 0,
        partial: 0,
        created_at: T0,
    }
}

async fn begin_new(store: &PgStore, seller: &Seller, c: Conciliation) -> Conciliation {
    match store.begin_conciliation(&scope_of(seller), &c).await.expect("begin") {
        Begun::New(c) => c,
        other => panic!("expected a new conciliation, got {other:?}"),
    }
}

fn listing(listing: Listing) -> LineFilter {
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

async fn ids(store: &PgStore, scope: &Scope, f: &LineFilter) -> (u64, Vec<i64>) {
    let page = store.list_lines(scope, f).await.expect("list");
    let count = store.count_lines(scope, f).await.expect("count");
    (count, page.iter().map(|v| v.line.id).collect())
}

/// An order and its lines read back as written, the lines by type then installment,
/// every field of the line kept; a second save replaces the order and updates lines
/// in place (same ids).
#[tokio::test]
async fn a_settlement_reads_back_and_updates_in_place() {
    let Some((store, w)) = setup().await else { return };
    let scope = scope_of(&w.seller_a);
    let saved = save_order(&store, &w.seller_a, "A-1").await;
    assert_eq!(saved.len(), 3);
    assert!(saved.iter().all(|l| l.id > 0 && l.updated_at == T0));
    let (order, lines) = store
        .get_settlement(&scope, CHANNEL, "A-1")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        order,
        full_settlement_order(&w.operator.id, &w.seller_a.id, CHANNEL, "A-1")
    );
    let keys: Vec<(ExtractType, u32)> = lines
        .iter()
        .map(|l| (l.key.kind, l.key.plot_number))
        .collect();
    assert_eq!(
        keys,
        [
            (ExtractType::Sale, 1),
            (ExtractType::Sale, 2),
            (ExtractType::Comission, 1)
        ]
    );
    let sale1 = saved.iter().find(|l| l.key.kind == ExtractType::Sale && l.key.plot_number == 1);
    assert_eq!(lines[0], *sale1.unwrap());

    let mut order2 = order.clone();
    order2.status = SettlementStatus::Canceled;
    order2.cancelled_at = Some(Timestamp(T0.0 + DAY));
    let mut zeroed = lines[0].clone();
    zeroed.expected_value = Some(Cents(0));
    let later = Timestamp(T0.0 + 1);
    let again = store
        .save_settlement(
            &scope,
            &OrderSettlement {
                order: order2.clone(),
                lines: vec![LineWrite::Update(zeroed.clone())],
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(again[0].id, zeroed.id);
    let (order, lines) = store
        .get_settlement(&scope, CHANNEL, "A-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order, order2);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].expected_value, Some(Cents(0)));
    assert_eq!(lines[0].original_value, Some(Cents(10_000)));
    assert_eq!(lines[0].updated_at, later);
    assert!(store
        .get_settlement(&scope_of(&w.seller_b), CHANNEL, "A-1")
        .await
        .unwrap()
        .is_none());
}

/// A write naming another seller's line is refused whole: the order is not replaced
/// and no line is created.
#[tokio::test]
async fn a_write_over_another_sellers_line_changes_nothing() {
    let Some((store, w)) = setup().await else { return };
    let theirs = save_order(&store, &w.seller_b, "B-1").await;
    let scope = scope_of(&w.seller_a);
    save_order(&store, &w.seller_a, "A-1").await;
    let mut order = full_settlement_order(&w.operator.id, &w.seller_a.id, CHANNEL, "A-1");
    order.total = Cents(1);
    let mut stolen = theirs[0].clone();
    stolen.expected_value = Some(Cents(1));
    let outcome = store
        .save_settlement(
            &scope,
            &OrderSettlement {
                order,
                lines: vec![
                    LineWrite::New(waiting(&w.seller_a.id, "A-1", ExtractType::Ship, 1, 500, 30)),
                    LineWrite::Update(stolen),
                ],
            },
            T0,
        )
        .await;
    assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
    let (order, lines) = store
        .get_settlement(&scope, CHANNEL, "A-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.total, Cents(60_000));
    assert_eq!(lines.len(), 3);
    let (_, b_lines) = store
        .get_settlement(&scope_of(&w.seller_b), CHANNEL, "B-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b_lines[0].expected_value, Some(Cents(10_000)));
    // An order of a seller the scope is not, or of another operator: refused.
    let foreign = full_settlement_order(&w.operator.id, &w.seller_b.id, CHANNEL, "X");
    let outcome = store
        .save_settlement(&scope, &OrderSettlement { order: foreign, lines: vec![] }, T0)
        .await;
    assert!(matches!(outcome, Err(StoreError::NotFound)));
    let stranger = full_settlement_order(&w.operator.id, "01NOSUCHSELLER", CHANNEL, "X");
    let outcome = store
        .save_settlement(
            &Scope::operator(&w.operator.id),
            &OrderSettlement { order: stranger, lines: vec![] },
            T0,
        )
        .await;
    assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
}

/// Keys find their lines in the seller's channel only; absent keys and repeated keys
/// are fine; orders come back by code.
#[tokio::test]
async fn lines_and_orders_are_found_by_key() {
    let Some((store, w)) = setup().await else { return };
    save_order(&store, &w.seller_a, "A-1").await;
    save_order(&store, &w.seller_a, "A-2").await;
    save_order(&store, &w.seller_b, "A-1").await;
    let scope = scope_of(&w.seller_a);
    let key = |code: &str, kind, plot| LineKey {
        order_code: code.into(),
        kind,
        plot_number: plot,
    };
    let keys = [
        key("A-1", ExtractType::Sale, 2),
        key("A-1", ExtractType::Sale, 2),
        key("A-2", ExtractType::Comission, 1),
        key("A-2", ExtractType::Ship, 1),
        key("NOPE", ExtractType::Sale, 1),
    ];
    let mut found: Vec<LineKey> = store
        .lines_for_keys(&scope, CHANNEL, &keys)
        .await
        .unwrap()
        .into_iter()
        .inspect(|l| assert_eq!(l.seller_id, w.seller_a.id))
        .map(|l| l.key)
        .collect();
    found.sort();
    assert_eq!(found, [keys[0].clone(), keys[2].clone()]);
    assert!(store
        .lines_for_keys(&scope, "Other", &keys)
        .await
        .unwrap()
        .is_empty());
    let codes = ["A-2".to_string(), "A-9".to_string(), "A-1".to_string()];
    let mut orders: Vec<String> = store
        .settlements_for_codes(&scope, CHANNEL, &codes)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.order_code)
        .collect();
    orders.sort();
    assert_eq!(orders, ["A-1", "A-2"]);
    // A lookup by a seller's key needs a seller.
    assert!(store
        .lines_for_keys(&Scope::operator(&w.operator.id), CHANNEL, &keys)
        .await
        .is_err());
}

/// Begin: new, the same digest again (existing, at its cursor), an overlapping period
/// (refused naming the other), an adjacent one (new); another channel or seller is
/// never in the way.
#[tokio::test]
async fn conciliations_begin_resume_and_refuse_overlaps() {
    let Some((store, w)) = setup().await else { return };
    let scope = scope_of(&w.seller_a);
    let first = begin_new(&store, &w.seller_a, conciliation(&w.seller_a, "d1", 10, 20, 4)).await;
    assert!(first.id > 0);
    assert_eq!((first.cursor, first.rows, first.refused), (0, 4, 1));
    store
        .apply_conciliation_step(
            &scope,
            &ConciliationStep {
                conciliation_id: first.id,
                from_row: 0,
                to_row: 2,
                lines: vec![],
                now: T0,
            },
        )
        .await
        .unwrap();
    match store
        .begin_conciliation(&scope, &conciliation(&w.seller_a, "d1", 10, 20, 4))
        .await
        .unwrap()
    {
        Begun::Existing(c) => assert_eq!((c.id, c.cursor), (first.id, 2)),
        other => panic!("{other:?}"),
    }
    for (from, to) in [(20, 25), (5, 10), (12, 13), (0, 30)] {
        match store
            .begin_conciliation(&scope, &conciliation(&w.seller_a, "d2", from, to, 4))
            .await
            .unwrap()
        {
            Begun::Overlaps(c) => assert_eq!(c.id, first.id, "{from}..{to}"),
            other => panic!("{from}..{to}: {other:?}"),
        }
    }
    begin_new(&store, &w.seller_a, conciliation(&w.seller_a, "d2", 21, 25, 4)).await;
    let mut other_channel = conciliation(&w.seller_a, "d3", 10, 20, 4);
    other_channel.channel = "Other".into();
    begin_new(&store, &w.seller_a, other_channel).await;
    begin_new(&store, &w.seller_b, conciliation(&w.seller_b, "d1", 10, 20, 4)).await;
    // A seller cannot begin another's.
    let outcome = store
        .begin_conciliation(&scope, &conciliation(&w.seller_b, "d9", 90, 99, 1))
        .await;
    assert!(matches!(outcome, Err(StoreError::NotFound)));
    let listed: Vec<i64> = store
        .list_conciliations(&scope, Some(CHANNEL))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed[0] > listed[1], "newest first");
    assert_eq!(store.list_conciliations(&scope, None).await.unwrap().len(), 3);
    let got = store.get_conciliation(&scope, first.id).await.unwrap();
    assert_eq!(got.digest, "d1");
    assert!(matches!(
        store.get_conciliation(&scope_of(&w.seller_b), first.id).await,
        Err(StoreError::NotFound)
    ));
}

/// A step applies once: repeated (or decided on a moved cursor) it is `Stale` and
/// writes nothing; a step naming another seller's line is refused whole and leaves
/// the cursor where it was; closing counts the conciliation's lines.
#[tokio::test]
async fn steps_are_guarded_by_the_cursor_and_close_counts() {
    let Some((store, w)) = setup().await else { return };
    let scope = scope_of(&w.seller_a);
    let lines = save_order(&store, &w.seller_a, "A-1").await;
    let theirs = save_order(&store, &w.seller_b, "B-1").await;
    let c = begin_new(&store, &w.seller_a, conciliation(&w.seller_a, "d1", 10, 20, 3)).await;
    let sale1 = lines
        .iter()
        .find(|l| l.key.kind == ExtractType::Sale && l.key.plot_number == 1)
        .unwrap()
        .clone();
    let unknown = {
        let mut l = waiting(&w.seller_a.id, "GHOST", ExtractType::Sale, 1, 0, 0);
        l.expected_value = None;
        l.original_value = None;
        l.plots_quantity = None;
        l.plot_value = None;
        l.total_value = None;
        l.expected_date = None;
        l.expected_percent = None;
        released(l, c.id, 12, -500)
    };
    let step = ConciliationStep {
        conciliation_id: c.id,
        from_row: 0,
        to_row: 2,
        lines: vec![
            LineWrite::Update(released(sale1.clone(), c.id, 11, 10_000)),
            LineWrite::New(unknown),
        ],
        now: Timestamp(T0.0 + 5),
    };
    store.apply_conciliation_step(&scope, &step).await.unwrap();
    assert!(matches!(
        store.apply_conciliation_step(&scope, &step).await,
        Err(StoreError::Stale)
    ));
    let ghost = store
        .order_lines(&scope, CHANNEL, "GHOST", None)
        .await
        .unwrap();
    assert_eq!(ghost.len(), 1, "the repeated step created nothing");
    assert!(ghost[0].order.is_none());
    assert_eq!(ghost[0].line.released_value, Some(Cents(-500)));
    assert_eq!(ghost[0].conciliation.as_ref().map(|c| c.id), Some(c.id));

    let bad = ConciliationStep {
        conciliation_id: c.id,
        from_row: 2,
        to_row: 3,
        lines: vec![
            LineWrite::Update(released(lines[0].clone(), c.id, 12, 1)),
            LineWrite::Update(released(theirs[0].clone(), c.id, 12, 1)),
        ],
        now: T0,
    };
    assert!(matches!(
        store.apply_conciliation_step(&scope, &bad).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.get_conciliation(&scope, c.id).await.unwrap().cursor, 2);
    let (_, b) = store
        .get_settlement(&scope_of(&w.seller_b), CHANNEL, "B-1")
        .await
        .unwrap()
        .unwrap();
    assert!(b.iter().all(|l| l.conciliation_id.is_none()));
    // Of another seller's conciliation, a step is not found.
    assert!(matches!(
        store
            .apply_conciliation_step(&scope_of(&w.seller_b), &ConciliationStep { from_row: 2, ..bad.clone() })
            .await,
        Err(StoreError::NotFound)
    ));

    let mut partial = released(lines[0].clone(), c.id, 13, 100);
    partial.partial = true;
    store
        .apply_conciliation_step(
            &scope,
            &ConciliationStep {
                conciliation_id: c.id,
                from_row: 2,
                to_row: 3,
                lines: vec![LineWrite::Update(partial)],
                now: T0,
            },
        )
        .await
        .unwrap();
    let closed = store
        .close_conciliation(&scope, c.id, Timestamp(T0.0 + 9))
        .await
        .unwrap();
    assert_eq!(closed.close_date, Some(Timestamp(T0.0 + 9)));
    assert_eq!(
        (closed.cursor, closed.concilied, closed.divergent, closed.partial),
        (3, 1, 2, 1)
    );
    assert_eq!(store.get_conciliation(&scope, c.id).await.unwrap(), closed);
    // Closed, it takes no step.
    assert!(matches!(
        store
            .apply_conciliation_step(
                &scope,
                &ConciliationStep {
                    conciliation_id: c.id,
                    from_row: 3,
                    to_row: 4,
                    lines: vec![],
                    now: T0
                }
            )
            .await,
        Err(StoreError::Stale)
    ));
}

/// The listings: released lines in id order (`concilieds`), the unresolved ones,
/// each filter, offset paging that gives every line once, counts that match; resolve
/// and read marks report other sellers' and unknown ids.
#[tokio::test]
async fn listings_filter_page_and_follow_the_erp_marks() {
    let Some((store, w)) = setup().await else { return };
    let scope = scope_of(&w.seller_a);
    let mut all = Vec::new();
    for n in 0..4 {
        all.extend(save_order(&store, &w.seller_a, &format!("A-{n}")).await);
    }
    let theirs = save_order(&store, &w.seller_b, "B-1").await;
    let c1 = begin_new(&store, &w.seller_a, conciliation(&w.seller_a, "d1", 10, 19, 12)).await;
    // Lines 0..8 released by c1 on days 10..17; the rest wait.
    let step = ConciliationStep {
        conciliation_id: c1.id,
        from_row: 0,
        to_row: 8,
        lines: all[..8]
            .iter()
            .enumerate()
            .map(|(i, l)| LineWrite::Update(released(l.clone(), c1.id, 10 + i as i64, 1)))
            .collect(),
        now: T0,
    };
    store.apply_conciliation_step(&scope, &step).await.unwrap();
    let mut released_ids: Vec<i64> = all[..8].iter().map(|l| l.id).collect();
    released_ids.sort_unstable();

    let f = listing(Listing::Concilieds);
    assert_eq!(ids(&store, &scope, &f).await, (8, released_ids.clone()));
    let mut paged = Vec::new();
    for page in 0..3 {
        let f = LineFilter {
            offset: page * 3,
            limit: 3,
            ..listing(Listing::Unresolveds)
        };
        let (count, page) = ids(&store, &scope, &f).await;
        assert_eq!(count, 8);
        paged.extend(page);
    }
    assert_eq!(paged, released_ids);
    let first = store.list_lines(&scope, &f).await.unwrap();
    assert_eq!(first[0].conciliation.as_ref().map(|c| c.id), Some(c1.id));
    assert_eq!(first[0].order.as_ref().map(|o| o.order_code.as_str()), Some("A-0"));
    assert_eq!(first[0].line.extra.as_deref(), Some(r#"{"batch":"7"}"#));

    // Release dates, whole range inclusive at both ends.
    let dated = LineFilter {
        from: Some(Timestamp(T0.0 + 11 * DAY)),
        to: Some(Timestamp(T0.0 + 13 * DAY)),
        ..listing(Listing::Concilieds)
    };
    let mut want: Vec<i64> = all[1..4].iter().map(|l| l.id).collect();
    want.sort_unstable();
    assert_eq!(ids(&store, &scope, &dated).await, (3, want));
    let by_c = LineFilter {
        conciliation_id: Some(c1.id),
        ..listing(Listing::Concilieds)
    };
    assert_eq!(ids(&store, &scope, &by_c).await.0, 8);
    let other_c = LineFilter {
        conciliation_id: Some(c1.id + 1000),
        ..listing(Listing::Concilieds)
    };
    assert_eq!(ids(&store, &scope, &other_c).await, (0, vec![]));
    let other_channel = LineFilter {
        channel: Some("Other".into()),
        ..listing(Listing::Concilieds)
    };
    assert_eq!(ids(&store, &scope, &other_channel).await.0, 0);
    // The other seller sees none of them.
    assert_eq!(
        ids(&store, &scope_of(&w.seller_b), &listing(Listing::Concilieds)).await,
        (0, vec![])
    );

    let mut batch: Vec<i64> = released_ids[..5].to_vec();
    batch.push(theirs[0].id);
    batch.push(9_999_999);
    batch.push(released_ids[0]);
    let marked = store.resolve_lines(&scope, &batch, T0).await.unwrap();
    assert_eq!(marked.applied, released_ids[..5]);
    assert_eq!(marked.unknown, [theirs[0].id, 9_999_999]);
    let again = store.resolve_lines(&scope, &released_ids[..1], T0).await.unwrap();
    assert_eq!(again.applied, released_ids[..1]);
    assert_eq!(
        ids(&store, &scope, &listing(Listing::Unresolveds)).await,
        (3, released_ids[5..].to_vec())
    );
    assert_eq!(ids(&store, &scope, &listing(Listing::Concilieds)).await.0, 8);
    let (_, b) = store
        .get_settlement(&scope_of(&w.seller_b), CHANNEL, "B-1")
        .await
        .unwrap()
        .unwrap();
    assert!(b.iter().all(|l| !l.resolved_in_erp));

    store
        .mark_lines_read(&scope, &released_ids[6..], T0)
        .await
        .unwrap();
    let unread = LineFilter {
        only_unread: true,
        ..listing(Listing::Unresolveds)
    };
    assert_eq!(
        ids(&store, &scope, &unread).await,
        (1, released_ids[5..6].to_vec())
    );
    let line = store.get_line(&scope, released_ids[7]).await.unwrap();
    assert!(line.line.read && !line.line.resolved_in_erp);
    assert!(matches!(
        store.get_line(&scope_of(&w.seller_b), released_ids[7]).await,
        Err(StoreError::NotFound)
    ));
    // The operator sees every seller's.
    let op = Scope::operator(&w.operator.id);
    assert_eq!(ids(&store, &op, &listing(Listing::Concilieds)).await.0, 8);
}

/// Deleting an order takes its lines with nothing released and keeps (rewritten) the
/// released ones; an unknown order is not found.
#[tokio::test]
async fn deleting_an_order_keeps_its_released_lines() {
    let Some((store, w)) = setup().await else { return };
    let scope = scope_of(&w.seller_a);
    let lines = save_order(&store, &w.seller_a, "A-1").await;
    let c = begin_new(&store, &w.seller_a, conciliation(&w.seller_a, "d1", 10, 20, 1)).await;
    let kept = released(lines[0].clone(), c.id, 11, 1_600);
    store
        .apply_conciliation_step(
            &scope,
            &ConciliationStep {
                conciliation_id: c.id,
                from_row: 0,
                to_row: 1,
                lines: vec![LineWrite::Update(kept.clone())],
                now: T0,
            },
        )
        .await
        .unwrap();
    let mut orphan = kept.clone();
    orphan.expected_value = None;
    orphan.situation = Situation::Divergent;
    orphan.observation = Some("no such order".into());
    store
        .delete_settlement(&scope, CHANNEL, "A-1", &[LineWrite::Update(orphan.clone())], T0)
        .await
        .unwrap();
    assert!(store
        .get_settlement(&scope, CHANNEL, "A-1")
        .await
        .unwrap()
        .is_none());
    let left = store.order_lines(&scope, CHANNEL, "A-1", None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].line.id, kept.id);
    assert_eq!(left[0].line.observation.as_deref(), Some("no such order"));
    assert!(left[0].order.is_none());
    assert!(matches!(
        store.delete_settlement(&scope, CHANNEL, "A-1", &[], T0).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .delete_settlement(&scope_of(&w.seller_b), CHANNEL, "A-1", &[], T0)
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Terms per seller and channel, replaced by a second put; channels listed sorted from
/// terms, orders and lines alike.
#[tokio::test]
async fn terms_and_channels() {
    let Some((store, w)) = setup().await else { return };
    let scope = scope_of(&w.seller_a);
    assert!(store.get_channel_terms(&scope, "Zoom").await.unwrap().is_none());
    let mut t = full_channel_terms("Zoom");
    store.put_channel_terms(&scope, &t, T0).await.unwrap();
    t.commission.rate = Rate(1234);
    store.put_channel_terms(&scope, &t, T0).await.unwrap();
    assert_eq!(store.get_channel_terms(&scope, "Zoom").await.unwrap(), Some(t));
    assert!(store
        .get_channel_terms(&scope_of(&w.seller_b), "Zoom")
        .await
        .unwrap()
        .is_none());
    save_order(&store, &w.seller_a, "A-1").await;
    save_order(&store, &w.seller_b, "B-1").await;
    let mut stray = waiting(&w.seller_a.id, "X", ExtractType::Sale, 1, 1, 1);
    stray.channel = "Americanas".into();
    let c = {
        let mut c = conciliation(&w.seller_a, "d", 1, 2, 1);
        c.channel = "Americanas".into();
        begin_new(&store, &w.seller_a, c).await
    };
    store
        .apply_conciliation_step(
            &scope,
            &ConciliationStep {
                conciliation_id: c.id,
                from_row: 0,
                to_row: 1,
                lines: vec![LineWrite::New(released(stray, c.id, 1, 5))],
                now: T0,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_channels(&scope).await.unwrap(),
        ["Americanas", "Magalu", "Zoom"]
    );
    assert_eq!(store.list_channels(&scope_of(&w.seller_b)).await.unwrap(), ["Magalu"]);
    assert_eq!(
        store
            .list_channels(&Scope::operator(&w.operator.id))
            .await
            .unwrap(),
        ["Americanas", "Magalu", "Zoom"]
    );
}

/// Months by expected date (released date when nothing was expected), SALE and SHIP
/// apart from COMISSION, divergences counted with their absolute difference.
#[tokio::test]
async fn month_summaries_add_up() {
    let Some((store, w)) = setup().await else { return };
    let scope = scope_of(&w.seller_a);
    // T0 is 2023-11-14: day 30 is in December, day 60 in January 2024.
    let lines = save_order(&store, &w.seller_a, "A-1").await;
    let c = begin_new(&store, &w.seller_a, conciliation(&w.seller_a, "d", 30, 40, 2)).await;
    let sale1 = lines
        .iter()
        .find(|l| l.key.kind == ExtractType::Sale && l.key.plot_number == 1)
        .unwrap();
    let comission = lines
        .iter()
        .find(|l| l.key.kind == ExtractType::Comission)
        .unwrap();
    let mut ghost = waiting(&w.seller_a.id, "GHOST", ExtractType::Sale, 1, 0, 0);
    ghost.expected_value = None;
    ghost.expected_date = None;
    store
        .apply_conciliation_step(
            &scope,
            &ConciliationStep {
                conciliation_id: c.id,
                from_row: 0,
                to_row: 2,
                lines: vec![
                    LineWrite::Update(released(sale1.clone(), c.id, 31, 9_000)),
                    LineWrite::Update(released(comission.clone(), c.id, 31, 1_600)),
                    LineWrite::New(released(ghost, c.id, 32, -300)),
                ],
                now: T0,
            },
        )
        .await
        .unwrap();
    let months = store
        .month_summaries(&scope, None, "2023-12", "2024-01")
        .await
        .unwrap();
    assert_eq!(
        months,
        [
            MonthSummary {
                channel: CHANNEL.into(),
                month: "2023-12".into(),
                expected: Cents(10_000),
                released: Cents(8_700),
                commission_expected: Cents(1_600),
                commission_released: Cents(1_600),
                divergent_count: 2,
                divergent_amount: Cents(1_300),
            },
            MonthSummary {
                channel: CHANNEL.into(),
                month: "2024-01".into(),
                expected: Cents(10_000),
                released: Cents(0),
                commission_expected: Cents(0),
                commission_released: Cents(0),
                divergent_count: 0,
                divergent_amount: Cents(0),
            },
        ]
    );
    assert_eq!(
        store
            .month_summaries(&scope, Some("Other"), "2023-01", "2024-12")
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        store
            .month_summaries(&scope, None, "2024-01", "2024-01")
            .await
            .unwrap()
            .len(),
        1
    );
}
