//! The stored form of an order's body on SQLite (see the `order_codec` module): the
//! postcard format is pinned by a fixture, and bodies written as JSON by earlier
//! versions still read.

use entreposto_domain::{DocumentKind, Operator, OrderData, OrderStatus, Scope, Seller, Timestamp};
use entreposto_store::{fixtures::sample_order, OrderStore, StoreError, TenantStore};
use entreposto_store_sqlite::order_codec::AsV1;
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::Connection;

/// `sample_order` as written by this version: format byte 1, then postcard.
/// If this changes, the stored shape changed: bodies already on disk would no longer
/// decode. Give the new shape a new format byte and keep a decoder for this one.
const V1_FIXTURE: &str = concat!(
    "011a30314f50455241544f52303030303030303030303030303041411a303153454c4c4552303030",
    "303030303030303030303030304141104c6f6a617320416d65726963616e61730d30322d31303030",
    "30303030303401044c415341010239380280fdcbf2ecdffe05018090b6fbf4dffe05000e4a6fc3a3",
    "6f2064612053696c7661000b353239393832323437323501046d616c6501106a6f616f406578616d",
    "706c652e636f6d0000000000000101066d6f62696c65023535023131093931323334353637380100",
    "010e4a6fc3a36f2064612053696c76610830313331303130300c41762e205061756c697374610104",
    "3130303001056170203132010a42656c612056697374610a53c3a36f205061756c6f025350024252",
    "00010639396a6a73380750726f6475746f029e8d060000b81700010b6372656469745f6361726406",
    "d6a406000000",
);

/// `sample_order` as versions before postcard bodies stored it: JSON TEXT.
const V0_JSON_FIXTURE: &str = include_str!("fixtures/order_body_v0.json");

struct Db {
    store: SqliteStore,
    path: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn seller() -> Seller {
    Seller {
        id: "01SELLER0000000000000000AA".into(),
        operator_id: "01OPERATOR00000000000000AA".into(),
        name: "Loja".into(),
        document: None,
        created_at: Timestamp(0),
    }
}

fn scope() -> Scope {
    Scope {
        operator_id: seller().operator_id,
        seller_id: Some(seller().id),
    }
}

/// A fresh database holding `sample_order`; returns it and the order's id.
async fn with_order() -> (Db, i64, OrderData) {
    let dir = std::env::temp_dir().join(format!("entreposto-body-{}", entreposto_store::new_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("test.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("open");
    let s = seller();
    store
        .create_operator(&Operator {
            id: s.operator_id.clone(),
            name: "Op".into(),
            created_at: Timestamp(0),
        })
        .await
        .expect("operator");
    store.create_seller(&s).await.expect("seller");
    let data = sample_order(&s, "02-1000000004");
    let (order, _) = store
        .upsert_order(
            &data,
            &entreposto_store::fixtures::initial_progress(&data),
            Timestamp(1_700_000_000_000_000),
            &[],
        )
        .await
        .expect("upsert");
    (Db { store, path, dir }, order.id, data)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn set_body(db: &Db, id: i64, body: rusqlite::types::Value) {
    let c = Connection::open(&db.path).expect("raw connection");
    c.execute(
        "UPDATE orders SET body = ?2 WHERE id = ?1",
        rusqlite::params![id, body],
    )
    .expect("set body");
}

#[tokio::test]
async fn v1_body_fixture() {
    let (db, id, data) = with_order().await;
    let c = Connection::open(&db.path).expect("raw connection");
    let body: Vec<u8> = c
        .query_row("SELECT body FROM orders WHERE id = ?1", [id], |r| r.get(0))
        .expect("body");
    assert_eq!(hex(&body), V1_FIXTURE, "the stored body format changed");
    // And the fixture, written by an earlier run, decodes to the same order.
    set_body(&db, id, rusqlite::types::Value::Blob(unhex(V1_FIXTURE)));
    let order = db.store.get_order(&scope(), id).await.expect("read back");
    assert_eq!(order.data, data);
}

#[tokio::test]
async fn json_bodies_from_earlier_versions_still_read() {
    let (db, id, data) = with_order().await;
    set_body(
        &db,
        id,
        rusqlite::types::Value::Text(V0_JSON_FIXTURE.trim_end().into()),
    );
    let order = db.store.get_order(&scope(), id).await.expect("read back");
    assert_eq!(order.data, data);
}

#[tokio::test]
async fn a_body_in_an_unknown_format_is_an_error_not_a_panic() {
    let (db, id, _) = with_order().await;
    set_body(&db, id, rusqlite::types::Value::Blob(vec![9, 1, 2, 3]));
    match db.store.get_order(&scope(), id).await {
        Err(StoreError::Other(m)) => assert!(m.contains("unknown format"), "{m}"),
        other => panic!("expected a storage error, got {other:?}"),
    }
    // A truncated postcard body too.
    set_body(&db, id, rusqlite::types::Value::Blob(vec![1, 200]));
    assert!(matches!(
        db.store.get_order(&scope(), id).await,
        Err(StoreError::Other(_))
    ));
}

/// Postcard writes an enum variant's position: reordering or inserting variants would
/// make stored bodies read back as a different status or document kind, silently.
#[test]
fn enum_positions_in_bodies_are_pinned() {
    let statuses = [
        (OrderStatus::New, 0u8),
        (OrderStatus::AwaitingPayment, 1),
        (OrderStatus::Approved, 2),
        (OrderStatus::Invoiced, 3),
        (OrderStatus::Shipped, 4),
        (OrderStatus::Delivered, 5),
        (OrderStatus::Cancelled, 6),
    ];
    assert_eq!(
        statuses.len(),
        OrderStatus::ALL.len(),
        "pin the new status too"
    );
    for (status, position) in statuses {
        assert_eq!(
            postcard::to_allocvec(&AsV1(&status)).unwrap(),
            [position],
            "{status:?}"
        );
    }
    for (kind, position) in [(DocumentKind::Cpf, 0u8), (DocumentKind::Cnpj, 1)] {
        assert_eq!(
            postcard::to_allocvec(&AsV1(&kind)).unwrap(),
            [position],
            "{kind:?}"
        );
    }
}
