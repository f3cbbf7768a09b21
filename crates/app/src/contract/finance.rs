//! Contract cases of reconciliation: settlement orders pushed and followed from the
//! order lifecycle, statements loaded over each backend (each situation a statement
//! row built for it), re-loads, overlapping periods, and loads resumed after a step
//! lost to another load or a load that stopped half way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use entreposto_domain::*;
use entreposto_store::fixtures::{sample_order, world, World};
use entreposto_store::{ConciliationStep, LineFilter, LineView, LineWrite, Listing, Store};

use super::orders::{access_key, invoice};
use crate::finance::{StatementFormat, StatementSource};
use crate::{App, AppError, ManualClock};

const CHANNEL: &str = "B2W";

/// The operator's reconciliation events (statements and lines), oldest first.
async fn finance_events(store: &dyn Store, w: &World) -> Vec<entreposto_store::OutboxEvent> {
    let mut all = store
        .list_events(&entreposto_store::EventFilter {
            operator_id: w.operator.id.clone(),
            seller_id: None,
            since: Timestamp(0),
            after: None,
            limit: 1_000,
        })
        .await
        .expect("events");
    all.retain(|e| e.entity == "conciliation" || e.entity == "extract_line");
    all
}

fn scope_a(w: &World) -> Scope {
    Scope::seller(&w.operator.id, &w.seller_a.id)
}

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).expect("date")
}

fn app(store: &Arc<dyn Store>) -> App {
    let clock = Arc::new(ManualClock::at(ts("2018-02-10T12:00:00Z")));
    App::new(store.clone(), clock)
}

/// A B2W order of seller A, invoiced 2018-01-02, `total` in one item (freight on top
/// when given) paid in `plots`.
fn settlement(w: &World, code: &str, total: i64, freight: i64, plots: u32) -> SettlementOrder {
    SettlementOrder {
        operator_id: w.operator.id.clone(),
        seller_id: w.seller_a.id.clone(),
        channel: CHANNEL.into(),
        order_code: code.into(),
        order_id: format!("01-{code}"),
        hub_order_id: None,
        hub_name: Some("hub".into()),
        account_name: Some("marketplace_account".into()),
        status: SettlementStatus::Concluded,
        ordered_at: ts("2018-01-01T12:00:00.000+0000"),
        paid_at: Some(ts("2018-01-02T10:00:00.000+0000")),
        invoiced_at: Some(ts("2018-01-02T12:00:00.000+0000")),
        invoice_number: Some("002569".into()),
        sent_at: Some(ts("2018-01-03T12:00:00.000+0000")),
        delivered_at: None,
        cancelled_at: None,
        customer_name: "João da Silva".into(),
        customer_document: Some("52998224725".into()),
        total: Cents(total),
        freight: Cents(freight),
        items: vec![SettlementItem {
            marketplace_item_id: Some("1".into()),
            sku: "A".into(),
            quantity: 1,
            unit_value: Cents(total - freight),
            freight: Cents(freight),
            category: None,
            sent_at: None,
        }],
        payments: vec![SettlementPayment {
            method: "BILLET".into(),
            paid_at: None,
            value: Cents(total),
            installments: plots,
        }],
    }
}

/// A statement held in memory.
struct Text {
    format: StatementFormat,
    text: String,
    /// Opens that hand out only the first `short_lines` lines (a source that changes).
    short_opens: Vec<usize>,
    short_lines: usize,
    opens: AtomicUsize,
}

impl Text {
    fn csv(rows: &[(&str, &str, u32, &str, &str, &str)]) -> Text {
        let mut text = String::from(
            "orderCode,type,plotNumber,releasedValue,releasedPercentualComission,releasedDate,note\n",
        );
        for (code, kind, plot, value, percent, date) in rows {
            text.push_str(&format!(
                "{code},{kind},{plot},{value},{percent},{date},n-{code}\n"
            ));
        }
        Text::of(StatementFormat::Csv, text)
    }

    fn of(format: StatementFormat, text: String) -> Text {
        Text {
            format,
            text,
            short_opens: Vec::new(),
            short_lines: 0,
            opens: AtomicUsize::new(0),
        }
    }
}

impl StatementSource for Text {
    fn format(&self) -> StatementFormat {
        self.format
    }
    fn open(&self) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        let n = self.opens.fetch_add(1, Ordering::SeqCst);
        let text = if self.short_opens.contains(&n) {
            self.text
                .split_inclusive('\n')
                .take(self.short_lines)
                .collect::<String>()
        } else {
            self.text.clone()
        };
        Ok(Box::new(std::io::Cursor::new(text.into_bytes())))
    }
}

fn quiet(_: u64, _: u64) {}

/// The order's line of `kind` and installment `plot`.
async fn line(app: &App, w: &World, code: &str, kind: ExtractType, plot: u32) -> LineView {
    app.reads()
        .order_extract(&scope_a(w), CHANNEL, code, Some(kind))
        .await
        .expect("extract")
        .into_iter()
        .find(|v| v.line.key.plot_number == plot)
        .unwrap_or_else(|| panic!("{code} has no {kind:?} {plot}"))
}

/// The line's (situation, partial, released, parts).
fn verdict(v: &LineView) -> (Situation, bool, Option<Cents>, u32) {
    let l = &v.line;
    (l.situation, l.partial, l.released_value, l.released_parts)
}

fn observation(v: &LineView) -> &str {
    v.line.observation.as_deref().unwrap_or("")
}

async fn b2w_at_15(app: &App, w: &World) {
    let mut terms = ChannelTerms::preset(CHANNEL);
    terms.commission.rate = Rate(1500);
    app.set_channel_terms(&scope_a(w), terms)
        .await
        .expect("terms");
}

pub async fn pushed_orders_expect_lines_and_follow_changes(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let app = app(&s);
    let scope = scope_a(&w);
    b2w_at_15(&app, &w).await;
    assert_eq!(
        app.channel_terms(&scope, CHANNEL)
            .await
            .unwrap()
            .commission
            .rate,
        Rate(1500)
    );
    assert_eq!(
        app.channel_terms(&scope, "MAGALU")
            .await
            .unwrap()
            .payment
            .base,
        TermsBase::Delivery,
        "unset terms are the preset"
    );
    let mut bad = ChannelTerms::preset(CHANNEL);
    bad.payment.days = 400;
    match app.set_channel_terms(&scope, bad).await {
        Err(AppError::Invalid(f)) => assert_eq!(f.field, "payment.days"),
        other => panic!("{other:?}"),
    }

    // The document's order: 570 in one installment.
    let lines = app
        .push_settlement(&scope, settlement(&w, "012345678901", 57000, 0, 1))
        .await
        .expect("push");
    assert_eq!(lines.len(), 2);
    let sale = line(&app, &w, "012345678901", ExtractType::Sale, 1).await;
    assert_eq!(sale.line.expected_value, Some(Cents(57000)));
    assert_eq!(sale.line.original_value, Some(Cents(57000)));
    assert_eq!(sale.line.situation, Situation::Waiting);
    assert_eq!(sale.line.observation, None);
    assert_eq!(
        sale.line.expected_date.unwrap().to_rfc3339_utc(),
        "2018-02-01T00:00:00.000Z"
    );
    assert_eq!(sale.order.as_ref().unwrap().order_id, "01-012345678901");
    let fee = line(&app, &w, "012345678901", ExtractType::Comission, 1).await;
    assert_eq!(fee.line.expected_value, Some(Cents(8550)));
    assert_eq!(fee.line.expected_percent, Some(Rate(1500)));

    // Two first pushes of one order at once: both land, on one set of lines.
    let race = || app.push_settlement(&scope, settlement(&w, "RACE", 10000, 0, 1));
    let (a, b) = tokio::join!(race(), race());
    a.expect("first");
    b.expect("second");
    let raced = app
        .reads()
        .order_extract(&scope, CHANNEL, "RACE", None)
        .await
        .unwrap();
    assert_eq!(raced.len(), 2, "{raced:?}");

    // Refusals name the field.
    let mut early = settlement(&w, "X1", 100, 0, 1);
    early.invoiced_at = None;
    match app.push_settlement(&scope, early).await {
        Err(AppError::Invalid(f)) => assert_eq!(f.field, "invoiceDate"),
        other => panic!("{other:?}"),
    }
    let other_seller = Scope::seller(&w.operator.id, &w.seller_b.id);
    assert!(matches!(
        app.push_settlement(&other_seller, settlement(&w, "X2", 100, 0, 1))
            .await,
        Err(AppError::Invalid(_))
    ));

    // A release, then the order changes: the line keeps its id and release, its first
    // expected value, and is judged again.
    let load = app
        .load_statement(
            &scope,
            CHANNEL,
            &Text::csv(&[("012345678901", "SALE", 1, "570.00", "", "2018-02-01")]),
            &quiet,
        )
        .await
        .expect("load");
    assert_eq!(load.conciliation.concilied, 1);
    let mut bigger = settlement(&w, "012345678901", 60000, 0, 2);
    bigger.payments[0].value = Cents(60000);
    app.push_settlement(&scope, bigger.clone())
        .await
        .expect("push");
    let after = line(&app, &w, "012345678901", ExtractType::Sale, 1).await;
    assert_eq!(after.line.id, sale.line.id);
    assert_eq!(after.line.expected_value, Some(Cents(30000)));
    assert_eq!(after.line.original_value, Some(Cents(57000)));
    assert_eq!(after.line.released_value, Some(Cents(57000)));
    assert_eq!(after.line.situation, Situation::Divergent);
    assert!(observation(&after).contains("R$ 270,00 over"), "{after:?}");
    let second = line(&app, &w, "012345678901", ExtractType::Sale, 2).await;
    assert_eq!(second.line.expected_value, Some(Cents(30000)));
    assert_eq!(
        second.line.expected_date.unwrap().to_rfc3339_utc(),
        "2018-03-01T00:00:00.000Z"
    );

    // Cancelled: every line expects zero and keeps its first expected value.
    let mut cancelled = bigger;
    cancelled.status = SettlementStatus::Canceled;
    cancelled.cancelled_at = Some(ts("2018-02-05T10:00:00Z"));
    app.push_settlement(&scope, cancelled).await.expect("push");
    let all = app
        .reads()
        .order_extract(&scope, CHANNEL, "012345678901", None)
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|v| v.line.expected_value == Some(Cents(0))));
    let sale = line(&app, &w, "012345678901", ExtractType::Sale, 1).await;
    assert_eq!(sale.line.original_value, Some(Cents(57000)));
    assert_eq!(sale.line.situation, Situation::Divergent);
    assert!(
        observation(&sale).starts_with("Order cancelled"),
        "{sale:?}"
    );

    // Deleted: the released line stays, expecting nothing; the others go.
    app.delete_settlement(&scope, CHANNEL, "012345678901")
        .await
        .expect("delete");
    let left = app
        .reads()
        .order_extract(&scope, CHANNEL, "012345678901", None)
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].line.expected_value, None);
    assert_eq!(left[0].line.released_value, Some(Cents(57000)));
    assert!(
        observation(&left[0]).starts_with("Unknown order"),
        "{left:?}"
    );
    assert_eq!(
        app.delete_settlement(&scope, CHANNEL, "012345678901").await,
        Err(AppError::NotFound)
    );
}

pub async fn a_statement_reconciles_each_situation(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let app = app(&s);
    let scope = scope_a(&w);
    b2w_at_15(&app, &w).await;
    app.push_settlement(&scope, settlement(&w, "O1", 57000, 0, 1))
        .await
        .unwrap();
    for code in ["O2", "O3", "O4", "O5", "O6", "O7"] {
        app.push_settlement(&scope, settlement(&w, code, 10000, 0, 1))
            .await
            .unwrap();
    }
    let mut cancelled = settlement(&w, "O8", 10000, 0, 1);
    cancelled.status = SettlementStatus::Canceled;
    app.push_settlement(&scope, cancelled).await.unwrap();

    let statement = Text::csv(&[
        // equal
        ("O1", "SALE", 1, "570.00", "", "2018-02-01"),
        ("O1", "COMISSION", 1, "85.5", "15", "2018-02-01"),
        // within the tolerance
        ("O2", "SALE", 1, "99.97", "", "2018-02-01"),
        // over the tolerance
        ("O3", "SALE", 1, "110.00", "", "2018-02-01"),
        // the commission's percentage off, its value right
        ("O4", "COMISSION", 1, "15.00", "16", "2018-02-01"),
        // in parts that add up
        ("O5", "SALE", 1, "60.00", "", "2018-02-01"),
        ("O5", "SALE", 1, "40.00", "", "2018-02-03"),
        // short: partial
        ("O6", "SALE", 1, "50.00", "", "2018-02-01"),
        // paid, then reversed
        ("O7", "SALE", 1, "100.00", "", "2018-02-01"),
        ("O7", "SALE", 1, "-100.00", "", "2018-02-04"),
        // a cancelled order: a release, and a commission reversed to nothing
        ("O8", "SALE", 1, "100.00", "", "2018-02-02"),
        ("O8", "COMISSION", 1, "15.00", "15", "2018-02-02"),
        ("O8", "COMISSION", 1, "-15.00", "15", "2018-02-03"),
        // nothing expected: an unknown order, and a line the order does not have
        ("GHOST", "SALE", 1, "10.00", "", "2018-02-02"),
        ("O1", "SHIP", 1, "12.00", "", "2018-02-02"),
        // refused: not a reconciled type, a fraction of a centavo
        ("O1", "TRANSFER", 1, "1.00", "", "2018-02-02"),
        ("O2", "SALE", 1, "1.001", "", "2018-02-02"),
    ]);
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |done: u64, total: u64| seen.lock().unwrap().push((done, total));
    let load = app
        .load_statement(&scope, CHANNEL, &statement, &progress)
        .await
        .expect("load");
    assert!(!load.unchanged);
    let c = &load.conciliation;
    assert_eq!((c.rows, c.refused, c.cursor), (15, 2, 15));
    assert_eq!((c.concilied, c.divergent, c.partial), (5, 7, 1), "{c:?}");
    assert_eq!(c.init_date.to_rfc3339_utc(), "2018-02-01T00:00:00.000Z");
    assert_eq!(c.end_date.to_rfc3339_utc(), "2018-02-04T00:00:00.000Z");
    assert!(c.close_date.is_some());
    assert_eq!(seen.lock().unwrap().last(), Some(&(15, 15)));
    let refused: Vec<(u64, &str)> = load
        .refused
        .iter()
        .map(|r| (r.row, r.error.field.as_str()))
        .collect();
    assert_eq!(refused, vec![(16, "type"), (17, "releasedValue")]);
    // The load's events: each line it released on, by verdict, then the statement.
    let events = finance_events(&*s, &w).await;
    let count = |t: &str| events.iter().filter(|e| e.event_type == t).count() as u64;
    assert_eq!(count("extract_line.conciliated"), c.concilied);
    assert_eq!(count("extract_line.divergent"), c.divergent);
    let loaded: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "statement.loaded")
        .collect();
    assert_eq!(loaded.len(), 1);
    assert_eq!(
        events.last().map(|e| e.event_type.as_str()),
        Some("statement.loaded")
    );
    assert_eq!(loaded[0].entity, "conciliation");
    assert_eq!(loaded[0].entity_id, c.id.to_string());
    assert_eq!(loaded[0].seller_id.as_deref(), Some(w.seller_a.id.as_str()));

    use ExtractType::{Comission, Sale, Ship};
    use Situation::{Concilied, Divergent};
    let o1 = line(&app, &w, "O1", Sale, 1).await;
    assert_eq!(verdict(&o1), (Concilied, false, Some(Cents(57000)), 1));
    assert_eq!(observation(&o1), "OK");
    assert_eq!(o1.line.conciliation_id, Some(c.id));
    assert_eq!(o1.conciliation.as_ref().map(|c| c.id), Some(c.id));
    assert_eq!(o1.line.extra.as_deref(), Some(r#"{"note":"n-O1"}"#));
    let fee = line(&app, &w, "O1", Comission, 1).await;
    assert_eq!(verdict(&fee), (Concilied, false, Some(Cents(8550)), 1));
    assert_eq!(fee.line.released_percent, Some(Rate(1500)));

    let o2 = line(&app, &w, "O2", Sale, 1).await;
    assert_eq!(verdict(&o2), (Concilied, false, Some(Cents(9997)), 1));
    assert!(observation(&o2).contains("R$ 0,03 short, within the tolerance of R$ 0,05"));

    let o3 = line(&app, &w, "O3", Sale, 1).await;
    assert_eq!(verdict(&o3), (Divergent, false, Some(Cents(11000)), 1));
    assert!(observation(&o3).contains("R$ 10,00 over, beyond the tolerance"));

    let o4 = line(&app, &w, "O4", Comission, 1).await;
    assert_eq!(verdict(&o4), (Divergent, false, Some(Cents(1500)), 1));
    assert!(
        observation(&o4).contains("16% where 15% was expected"),
        "{o4:?}"
    );

    let o5 = line(&app, &w, "O5", Sale, 1).await;
    assert_eq!(verdict(&o5), (Concilied, false, Some(Cents(10000)), 2));
    assert_eq!(
        o5.line.released_date.unwrap().to_rfc3339_utc(),
        "2018-02-03T00:00:00.000Z"
    );

    let o6 = line(&app, &w, "O6", Sale, 1).await;
    assert_eq!(verdict(&o6), (Divergent, true, Some(Cents(5000)), 1));
    assert!(observation(&o6).contains("R$ 50,00 short"));

    let o7 = line(&app, &w, "O7", Sale, 1).await;
    assert_eq!(verdict(&o7), (Divergent, false, Some(Cents(0)), 2));

    let o8 = line(&app, &w, "O8", Sale, 1).await;
    assert_eq!(verdict(&o8), (Divergent, false, Some(Cents(10000)), 1));
    assert!(observation(&o8).starts_with("Order cancelled"));
    let o8_fee = line(&app, &w, "O8", Comission, 1).await;
    assert_eq!(verdict(&o8_fee), (Concilied, false, Some(Cents(0)), 2));

    let ghost = app
        .reads()
        .order_extract(&scope, CHANNEL, "GHOST", None)
        .await
        .unwrap();
    assert_eq!(ghost.len(), 1);
    assert_eq!(verdict(&ghost[0]), (Divergent, false, Some(Cents(1000)), 1));
    assert_eq!(ghost[0].line.expected_value, None);
    assert!(ghost[0].order.is_none());
    assert!(observation(&ghost[0]).starts_with("Unknown order GHOST"));
    let ship = line(&app, &w, "O1", Ship, 1).await;
    assert_eq!(ship.line.expected_value, None);
    assert!(observation(&ship).starts_with("The order has no SHIP line"));

    // The unknown order is pushed after its release: its line (the same one) now
    // expects what was released.
    app.push_settlement(&scope, settlement(&w, "GHOST", 1000, 0, 1))
        .await
        .expect("push after the release");
    let found = line(&app, &w, "GHOST", Sale, 1).await;
    assert_eq!(found.line.id, ghost[0].line.id);
    assert_eq!(verdict(&found), (Concilied, false, Some(Cents(1000)), 1));
    assert_eq!(found.line.original_value, Some(Cents(1000)));
    assert_eq!(observation(&found), "OK");

    // The ERP's side: listings, resolve and read batches.
    let filter = |listing| LineFilter {
        listing,
        from: None,
        to: None,
        conciliation_id: Some(c.id),
        channel: None,
        only_unread: false,
        offset: 0,
        limit: 100,
    };
    let (count, page) = app
        .reads()
        .extract_listing(&scope, &filter(Listing::Unresolveds))
        .await
        .unwrap();
    assert_eq!((count, page.len()), (12, 12));
    let ids: Vec<i64> = page.iter().take(5).map(|v| v.line.id).collect();
    let mut batch = ids.clone();
    batch.push(i64::MAX);
    let marked = app.resolve_lines(&scope, &batch).await.unwrap();
    assert_eq!(marked.applied, ids);
    assert_eq!(marked.unknown, vec![i64::MAX]);
    let (count, _) = app
        .reads()
        .extract_listing(&scope, &filter(Listing::Unresolveds))
        .await
        .unwrap();
    assert_eq!(count, 7);
    let (count, _) = app
        .reads()
        .extract_listing(&scope, &filter(Listing::Concilieds))
        .await
        .unwrap();
    assert_eq!(count, 12);
    let other = Scope::seller(&w.operator.id, &w.seller_b.id);
    let marked = app.mark_lines_read(&other, &ids).await.unwrap();
    assert_eq!(marked.unknown, ids, "another seller's lines are not marked");
    for bad in [Vec::new(), (1..=101).collect::<Vec<i64>>()] {
        match app.resolve_lines(&scope, &bad).await {
            Err(AppError::Invalid(f)) => assert_eq!(f.field, "ids"),
            other => panic!("{other:?}"),
        }
        match app.mark_lines_read(&scope, &bad).await {
            Err(AppError::Invalid(f)) => assert_eq!(f.field, "ids"),
            other => panic!("{other:?}"),
        }
    }
    let mut too_many = filter(Listing::Concilieds);
    too_many.limit = 101;
    match app.reads().extract_listing(&scope, &too_many).await {
        Err(AppError::Invalid(f)) => assert_eq!(f.field, "limit"),
        other => panic!("{other:?}"),
    }
}

pub async fn reloading_changes_nothing_and_overlapping_periods_are_refused(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let app = app(&s);
    let scope = scope_a(&w);
    b2w_at_15(&app, &w).await;
    app.push_settlement(&scope, settlement(&w, "O1", 57000, 0, 1))
        .await
        .unwrap();
    let rows = [
        ("O1", "SALE", 1, "300.00", "", "2018-02-01"),
        ("O1", "SALE", 1, "270.00", "", "2018-02-05T10:00:00Z"),
    ];
    let first = app
        .load_statement(&scope, CHANNEL, &Text::csv(&rows), &quiet)
        .await
        .unwrap();
    assert!(!first.unchanged);
    let written = finance_events(&*s, &w).await.len();
    let again = app
        .load_statement(&scope, CHANNEL, &Text::csv(&rows), &quiet)
        .await
        .unwrap();
    assert!(again.unchanged);
    // Loading it again changes nothing, and writes no event.
    assert_eq!(finance_events(&*s, &w).await.len(), written);
    assert_eq!(again.conciliation.id, first.conciliation.id);
    // The same rows as JSON, numbers and dates spelled otherwise: the same statement.
    let json = r#"[
        {"orderCode": "O1", "type": "SALE", "plotNumber": 1, "releasedValue": 300,
         "releasedDate": "2018-02-01", "note": "n-O1"},
        {"orderCode": "O1", "type": "SALE", "plotNumber": 1, "releasedValue": 2.7e2,
         "releasedDate": "2018-02-05T07:00:00-03:00", "note": "n-O1",
         "releasedPercentualComission": null}
    ]"#;
    let as_json = app
        .load_statement(
            &scope,
            CHANNEL,
            &Text::of(StatementFormat::Json, json.into()),
            &quiet,
        )
        .await
        .unwrap();
    assert!(as_json.unchanged, "{as_json:?}");
    let sale = line(&app, &w, "O1", ExtractType::Sale, 1).await;
    assert_eq!(
        verdict(&sale),
        (Situation::Concilied, false, Some(Cents(57000)), 2)
    );

    // Another statement whose period overlaps the first one's.
    let overlapping = Text::csv(&[("O1", "SALE", 1, "1.00", "", "2018-02-05")]);
    match app
        .load_statement(&scope, CHANNEL, &overlapping, &quiet)
        .await
    {
        Err(AppError::Conflict(m)) => {
            assert!(m.contains(&first.conciliation.id.to_string()), "{m}");
            assert!(m.contains("2018-02-01"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let sale = line(&app, &w, "O1", ExtractType::Sale, 1).await;
    assert_eq!(
        sale.line.released_value,
        Some(Cents(57000)),
        "nothing written"
    );
    // The next period loads; another seller's or channel's periods are their own.
    let next = Text::csv(&[("O1", "SALE", 1, "1.00", "", "2018-02-06")]);
    app.load_statement(&scope, CHANNEL, &next, &quiet)
        .await
        .expect("next period");
    let b = Scope::seller(&w.operator.id, &w.seller_b.id);
    app.load_statement(&b, CHANNEL, &overlapping, &quiet)
        .await
        .expect("seller B's own period");
    let sale = line(&app, &w, "O1", ExtractType::Sale, 1).await;
    assert_eq!(sale.line.released_value, Some(Cents(57100)));
    assert_eq!(sale.line.released_parts, 3);
    assert_eq!(
        app.reads()
            .conciliations(&scope, Some(CHANNEL))
            .await
            .unwrap()
            .len(),
        2
    );
    // A statement with no valid row is refused naming it.
    let empty = Text::csv(&[("O1", "TRANSFER", 1, "1.00", "", "2018-03-01")]);
    match app.load_statement(&scope, CHANNEL, &empty, &quiet).await {
        Err(AppError::Invalid(f)) => assert_eq!(f.field, "statement"),
        other => panic!("{other:?}"),
    }
}

type Row = (
    &'static str,
    &'static str,
    u32,
    &'static str,
    &'static str,
    &'static str,
);

/// Six releases on one line, a day apart, each a different power of two (1.00 to
/// 32.00, 63.00 in all), so their sum tells exactly which rows were applied (loaded
/// in steps of two rows).
fn six_releases() -> Vec<Row> {
    [
        ("1.00", "2018-02-01"),
        ("2.00", "2018-02-02"),
        ("4.00", "2018-02-03"),
        ("8.00", "2018-02-04"),
        ("16.00", "2018-02-05"),
        ("32.00", "2018-02-06"),
    ]
    .into_iter()
    .map(|(value, date)| ("O1", "SALE", 1, value, "", date))
    .collect()
}

pub async fn a_load_resumes_after_a_stale_step(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let app = app(&s);
    let scope = scope_a(&w);
    app.push_settlement(&scope, settlement(&w, "O1", 6300, 0, 1))
        .await
        .unwrap();
    // After the first step (rows 0 and 1), another load of the statement applies rows
    // 2 and 3 first: this load's step from row 2 is then stale.
    let store = s.clone();
    let hook_scope = scope.clone();
    let fired = Arc::new(AtomicBool::new(false));
    let hook_fired = fired.clone();
    let progress = move |done: u64, _total: u64| {
        if done != 2 || hook_fired.swap(true, Ordering::SeqCst) {
            return;
        }
        let store = store.clone();
        let scope = hook_scope.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let c = store
                    .list_conciliations(&scope, Some(CHANNEL))
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|c| c.close_date.is_none())
                    .expect("the open conciliation");
                assert_eq!(c.cursor, 2);
                let key = LineKey {
                    order_code: "O1".into(),
                    kind: ExtractType::Sale,
                    plot_number: 1,
                };
                let mut line = store
                    .lines_for_keys(&scope, CHANNEL, &[key])
                    .await
                    .unwrap()
                    .remove(0);
                // Rows 2 and 3: 4.00 and 8.00.
                line.released_value = Some(line.released_value.unwrap() + Cents(1200));
                line.released_parts += 2;
                line.conciliation_id = Some(c.id);
                store
                    .apply_conciliation_step(
                        &scope,
                        &ConciliationStep {
                            events: Vec::new(),
                            conciliation_id: c.id,
                            from_row: 2,
                            to_row: 4,
                            lines: vec![LineWrite::Update(line)],
                            now: Timestamp::now(),
                        },
                    )
                    .await
                    .unwrap();
            })
        })
        .join()
        .unwrap();
    };
    let load = app
        .load_statement_in_steps(&scope, CHANNEL, &Text::csv(&six_releases()), &progress, 2)
        .await
        .expect("load");
    assert!(fired.load(Ordering::SeqCst), "the other load stepped in");
    assert_eq!(load.conciliation.cursor, 6);
    let sale = line(&app, &w, "O1", ExtractType::Sale, 1).await;
    // Every row once: none twice, none lost.
    assert_eq!(
        verdict(&sale),
        (Situation::Concilied, false, Some(Cents(6300)), 6)
    );
}

/// Orders pushed again and again (repriced) while a statement releases on their lines
/// step by step: each push merges into the lines as they are when it writes, each step
/// into what the pushes left, so in the end every line has both the last price and
/// its release (a push decided on a line a step moved since is `Stale` and merges
/// again, and so is a step decided on a line a push moved).
pub async fn pushes_racing_a_load_keep_every_release(s: Arc<dyn Store>) {
    const ORDERS: usize = 12;
    const ROUNDS: i64 = 6;
    let w = Arc::new(world(&*s).await);
    let app = app(&s);
    let scope = scope_a(&w);
    let code = |i: usize| format!("RACE-{i}");
    for i in 0..ORDERS {
        app.push_settlement(&scope, settlement(&w, &code(i), 10_000, 0, 1))
            .await
            .unwrap();
    }
    let codes: Vec<String> = (0..ORDERS).map(code).collect();
    let rows: Vec<(&str, &str, u32, &str, &str, &str)> = codes
        .iter()
        .map(|c| (c.as_str(), "SALE", 1, "100.00", "", "2018-02-01"))
        .collect();
    let statement = Text::csv(&rows);
    // Two integrators pushing, one in each order, so each line sees pushes race one
    // another as well as the load; each push runs on a task of its own, so the
    // runtime's two threads interleave them with the load's steps.
    let pushes = |reverse: bool| {
        let (app, scope, w) = (app.clone(), scope.clone(), Arc::clone(&w));
        tokio::spawn(async move {
            for round in 1..=ROUNDS {
                for n in 0..ORDERS {
                    let i = if reverse { ORDERS - 1 - n } else { n };
                    let order = settlement(&w, &format!("RACE-{i}"), 10_000 + round, 0, 1);
                    app.push_settlement(&scope, order).await.expect("push");
                }
            }
        })
    };
    let (up, down) = (pushes(false), pushes(true));
    let load = app
        .load_statement_in_steps(&scope, CHANNEL, &statement, &quiet, 1)
        .await;
    up.await.unwrap();
    down.await.unwrap();
    assert_eq!(load.expect("load").conciliation.cursor, ORDERS as u64);
    for i in 0..ORDERS {
        let sale = line(&app, &w, &code(i), ExtractType::Sale, 1).await.line;
        assert_eq!(
            (
                sale.expected_value,
                sale.released_value,
                sale.released_parts
            ),
            (Some(Cents(10_000 + ROUNDS)), Some(Cents(10_000)), 1),
            "{}",
            code(i)
        );
    }
}

pub async fn a_load_that_stopped_resumes_at_its_cursor(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let app = app(&s);
    let scope = scope_a(&w);
    app.push_settlement(&scope, settlement(&w, "O1", 6300, 0, 1))
        .await
        .unwrap();
    // The second read of the statement gives only its header and first four rows:
    // two steps land, then the load stops (the source changed under it).
    let mut broken = Text::csv(&six_releases());
    broken.short_opens = vec![1];
    broken.short_lines = 5;
    match app
        .load_statement_in_steps(&scope, CHANNEL, &broken, &quiet, 2)
        .await
    {
        Err(AppError::Conflict(m)) => assert!(m.contains("changed"), "{m}"),
        other => panic!("{other:?}"),
    }
    let half = line(&app, &w, "O1", ExtractType::Sale, 1).await;
    assert_eq!(half.line.released_value, Some(Cents(1500)));
    assert_eq!(half.line.situation, Situation::Divergent);
    assert!(half.line.partial);
    // Loaded again whole: the same statement, resumed from row 4.
    let load = app
        .load_statement_in_steps(&scope, CHANNEL, &Text::csv(&six_releases()), &quiet, 2)
        .await
        .expect("resume");
    assert!(!load.unchanged);
    assert_eq!(load.conciliation.id, half.line.conciliation_id.unwrap());
    let sale = line(&app, &w, "O1", ExtractType::Sale, 1).await;
    assert_eq!(
        verdict(&sale),
        (Situation::Concilied, false, Some(Cents(6300)), 6)
    );
}

async fn extract(app: &App, scope: &Scope, channel: &str, code: &str) -> Vec<LineView> {
    app.reads()
        .order_extract(scope, channel, code, None)
        .await
        .expect("extract")
}

pub async fn lifecycle_orders_are_followed_from_billed_on(s: Arc<dyn Store>) {
    let w = world(&*s).await;
    let app = App::new(
        s.clone(),
        Arc::new(ManualClock::at(ts("2023-06-08T12:00:00Z"))),
    );
    let scope = scope_a(&w);
    let mut data = sample_order(&w.seller_a, "LA-1");
    data.status = OrderStatus::Invoiced;
    let (view, _) = app.push_order(&data).await.expect("push");
    let channel = data.channel.clone();
    assert!(
        extract(&app, &scope, &channel, "LA-1").await.is_empty(),
        "no invoice yet: no lines"
    );
    let key = access_key(&w.seller_a.document.as_ref().unwrap().number, 1, 77);
    app.set_invoice(&scope, view.order.id, invoice(&key, 1, 77))
        .await
        .expect("invoice");
    let lines = extract(&app, &scope, &channel, "LA-1").await;
    // "Lojas Americanas" takes B2W's preset: 16%, 30 days after the invoice. 514.99
    // less 15.00 of freight (its own SHIP line) in 3 installments; 16% of 499.99 =
    // 80.00.
    let values: Vec<(ExtractType, u32, Option<i64>)> = lines
        .iter()
        .map(|v| {
            (
                v.line.key.kind,
                v.line.key.plot_number,
                v.line.expected_value.map(|c| c.0),
            )
        })
        .collect();
    use ExtractType::{Comission, Sale, Ship};
    assert_eq!(
        values,
        vec![
            (Sale, 1, Some(16667)),
            (Sale, 2, Some(16666)),
            (Sale, 3, Some(16666)),
            (Comission, 1, Some(2668)),
            (Comission, 2, Some(2666)),
            (Comission, 3, Some(2666)),
            (Ship, 1, Some(1500)),
        ]
    );
    assert_eq!(
        lines[0].line.expected_date.unwrap().to_rfc3339_utc(),
        "2023-07-08T00:00:00.000Z"
    );
    let order = lines[0].order.as_ref().expect("the settlement order");
    assert_eq!(order.hub_order_id, Some(view.order.id));
    assert_eq!(order.order_code, "LA-1");
    assert_eq!(order.status, SettlementStatus::Invoiced);
    assert_eq!(order.invoice_number.as_deref(), Some("77"));

    app.move_order(&scope, view.order.id, OrderState::Shipped)
        .await
        .expect("ship");
    let lines = extract(&app, &scope, &channel, "LA-1").await;
    let order = lines[0].order.as_ref().unwrap();
    assert_eq!(order.status, SettlementStatus::PaidWaitingDelivery);
    assert!(order.sent_at.is_some());
    assert_eq!(
        lines[0].line.id,
        extract(&app, &scope, &channel, "LA-1").await[0].line.id
    );
    app.confirm_delivery(&scope, view.order.id)
        .await
        .expect("deliver");
    let after = extract(&app, &scope, &channel, "LA-1").await;
    assert_eq!(
        after[0].order.as_ref().unwrap().status,
        SettlementStatus::Concluded
    );
    assert_eq!(
        after.iter().map(|v| v.line.id).collect::<Vec<_>>(),
        lines.iter().map(|v| v.line.id).collect::<Vec<_>>(),
        "the lines follow, keeping their ids"
    );
    // The use case reads the order itself too.
    app.follow_order_settlement(&scope, view.order.id)
        .await
        .expect("follow");
    assert_eq!(extract(&app, &scope, &channel, "LA-1").await.len(), 7);
}
