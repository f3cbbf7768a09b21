//! Reconciliation with several hub nodes on one PostgreSQL database: each node is its
//! own `PgStore` (its own pool) on the same schema, racing the others to begin
//! overlapping statements and to apply the same step. Skipped (and says so) when
//! `ENTREPOSTO_TEST_POSTGRES_URL` is not set.

use std::sync::Arc;

use entreposto_domain::*;
use entreposto_store::fixtures::world;
use entreposto_store::*;
use entreposto_store_postgres::{fresh_schema_url, PgStore};

const T0: Timestamp = Timestamp(1_700_000_000_000_000);
const DAY: i64 = 86_400_000_000;

async fn nodes(n: usize) -> Option<Vec<Arc<PgStore>>> {
    let Ok(url) = std::env::var("ENTREPOSTO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set");
        return None;
    };
    let url = fresh_schema_url(&url).await.expect("create test schema");
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(PgStore::connect(&url, 4).await.expect("connect")));
    }
    Some(out)
}

fn conciliation(
    seller: &str,
    channel: &str,
    digest: &str,
    from_day: i64,
    to_day: i64,
) -> Conciliation {
    Conciliation {
        id: 0,
        seller_id: seller.into(),
        channel: channel.into(),
        digest: digest.into(),
        init_date: Timestamp(T0.0 + from_day * DAY),
        end_date: Timestamp(T0.0 + to_day * DAY),
        close_date: None,
        rows: 10,
        refused: 0,
        cursor: 0,
        concilied: 0,
        divergent: 0,
        partial: 0,
        created_at: T0,
    }
}

/// Two nodes begin two different statements with overlapping periods on the same
/// channel at once, in thirty channels: in each exactly one is recorded, and the
/// other is told it overlaps that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_overlapping_loads_at_once_one_begins() {
    let Some(nodes) = nodes(2).await else { return };
    let w = world(&*nodes[0]).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let mut races = Vec::new();
    for ch in 0..30 {
        for (n, node) in nodes.iter().enumerate() {
            let node = node.clone();
            let scope = scope.clone();
            let c = conciliation(
                &w.seller_a.id,
                &format!("Channel {ch}"),
                &format!("digest {n}"),
                10 + n as i64,
                20 + n as i64,
            );
            races.push(tokio::spawn(async move {
                (
                    ch,
                    node.begin_conciliation(&scope, &c).await.expect("begin"),
                )
            }));
        }
    }
    let mut outcomes: Vec<Vec<Begun>> = (0..30).map(|_| Vec::new()).collect();
    for r in races {
        let (ch, begun) = r.await.unwrap();
        outcomes[ch].push(begun);
    }
    for (ch, pair) in outcomes.iter().enumerate() {
        let new: Vec<&Conciliation> = pair
            .iter()
            .filter_map(|b| match b {
                Begun::New(c) => Some(c),
                _ => None,
            })
            .collect();
        let over: Vec<&Conciliation> = pair
            .iter()
            .filter_map(|b| match b {
                Begun::Overlaps(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!((new.len(), over.len()), (1, 1), "channel {ch}: {pair:?}");
        assert_eq!(new[0].id, over[0].id, "channel {ch}");
    }
}

/// Two nodes apply the same step at once: one applies it, the other is `Stale`, and
/// the step's new line exists once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_nodes_on_the_same_step_one_applies_it() {
    let Some(nodes) = nodes(2).await else { return };
    let w = world(&*nodes[0]).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    for round in 0..10 {
        let channel = format!("Channel {round}");
        let c = match nodes[0]
            .begin_conciliation(&scope, &conciliation(&w.seller_a.id, &channel, "d", 1, 2))
            .await
            .unwrap()
        {
            Begun::New(c) => c,
            other => panic!("{other:?}"),
        };
        let line = ExtractLine {
            id: 0,
            seller_id: w.seller_a.id.clone(),
            channel: channel.clone(),
            key: LineKey {
                order_code: "UNKNOWN".into(),
                kind: ExtractType::Sale,
                plot_number: 1,
            },
            plots_quantity: None,
            plot_value: None,
            total_value: None,
            expected_value: None,
            expected_percent: None,
            expected_date: None,
            original_value: None,
            released_value: Some(Cents(990)),
            released_parts: 1,
            released_percent: None,
            released_date: Some(Timestamp(T0.0 + DAY)),
            situation: Situation::Divergent,
            partial: false,
            observation: Some("unknown order".into()),
            conciliation_id: Some(c.id),
            resolved_in_erp: false,
            read: false,
            extra: None,
            updated_at: T0,
            version: 0,
        };
        let step = ConciliationStep {
            events: Vec::new(),
            conciliation_id: c.id,
            from_row: 0,
            to_row: 1,
            lines: vec![LineWrite::New(line)],
            now: T0,
        };
        let tasks: Vec<_> = nodes
            .iter()
            .map(|node| {
                let (node, scope, step) = (node.clone(), scope.clone(), step.clone());
                tokio::spawn(async move { node.apply_conciliation_step(&scope, &step).await })
            })
            .collect();
        let mut applied = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => applied += 1,
                Err(StoreError::Stale) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(applied, 1, "round {round}");
        let lines = nodes[1]
            .order_lines(&scope, &channel, "UNKNOWN", None)
            .await
            .unwrap();
        assert_eq!(lines.len(), 1);
        let got = nodes[1].get_conciliation(&scope, c.id).await.unwrap();
        assert_eq!(got.cursor, 1);
    }
}
