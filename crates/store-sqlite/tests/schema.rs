//! Schema versions on SQLite: a database written by an earlier schema (version 4:
//! JSON order bodies, messages in a rowid table, no code keys) opens, migrates and
//! reads the same; a database newer than the binary is refused instead of misread.

use entreposto_app::{App, AppError, ManualClock};
use entreposto_domain::{Author, Conversation, NewMessage, Party, Scope, Seller, Timestamp};
use entreposto_store::{fixtures::sample_order, Store, StoreError};
use entreposto_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::{params, Connection};

struct Dir(std::path::PathBuf);

impl Dir {
    fn new() -> Dir {
        let d =
            std::env::temp_dir().join(format!("entreposto-schema-{}", entreposto_store::new_id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const OP: &str = "01OPERATOR00000000000000AA";
const SELLER: &str = "01SELLER0000000000000000AA";

/// Builds the database a version-4 binary left: its migrations, one order (JSON
/// body), two tickets whose messages interleave by id.
fn version_4_database(path: &std::path::Path) {
    let c = Connection::open(path).expect("open");
    c.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .expect("migrations table");
    for (v, sql) in [
        (1, include_str!("../migrations/0001_foundation.sql")),
        (2, include_str!("../migrations/0002_tickets.sql")),
        (3, include_str!("../migrations/0003_ticket_listing.sql")),
        (4, include_str!("../migrations/0004_message_topic.sql")),
    ] {
        c.execute_batch(sql).expect("old migration");
        c.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [v])
            .expect("version");
    }
    let seller = Seller {
        id: SELLER.into(),
        operator_id: OP.into(),
        name: "Loja".into(),
        document: None,
        created_at: Timestamp(0),
    };
    let order = sample_order(&seller, "02-1000000004");
    c.execute_batch(&format!(
        "INSERT INTO operators (id, name, created_at) VALUES ('{OP}', 'Op', 0);
         INSERT INTO sellers (id, operator_id, name, created_at) VALUES ('{SELLER}', '{OP}', 'Loja', 0);"
    ))
    .expect("tenants");
    c.execute(
        "INSERT INTO orders (id, operator_id, seller_id, channel, marketplace_order_id, status,
         placed_at, total, created_at, updated_at, body) VALUES (1, ?1, ?2, ?3, ?4, 'approved', 0, 0, 0, 0, ?5)",
        params![OP, SELLER, order.channel, order.marketplace_order_id, include_str!("fixtures/order_body_v0.json").trim_end()],
    )
    .expect("order");
    for (id, code) in [(1, "A-1"), (2, "A-2")] {
        c.execute(
            "INSERT INTO tickets (id, operator_id, seller_id, order_id, code, subject, sla_hours,
             for_return, responsible, opened_by, read_state, mediation, message_count, channel,
             marketplace_order_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, 1, ?4, 'Atraso', 24, 0, 'SELLER', 'CUSTOMER', 'UNREAD', 0, 0,
             ?5, ?6, 0, 0)",
            params![
                id,
                OP,
                SELLER,
                code,
                order.channel,
                order.marketplace_order_id
            ],
        )
        .expect("ticket");
    }
    // Messages of the two tickets arrive interleaved, as they do in use.
    for (id, ticket, text, subject) in [
        (5, 1, "primeira", None),
        (6, 2, "outra", None),
        (9, 1, "segunda", Some("Troca")),
        (12, 1, "terceira", None),
    ] {
        c.execute(
            "INSERT INTO ticket_messages (id, ticket_id, conversation, author_party, author_name,
             content, customer_can_view, created_at, subject, responsible)
             VALUES (?1, ?2, 'CUSTOMER_SELLER', 'CUSTOMER', 'Ana', ?3, 1, ?1, ?4, NULL)",
            params![id, ticket, text, subject],
        )
        .expect("message");
    }
}

fn scope() -> Scope {
    Scope {
        operator_id: OP.into(),
        seller_id: Some(SELLER.into()),
    }
}

#[tokio::test]
async fn a_version_4_database_migrates_and_reads_the_same() {
    let dir = Dir::new();
    let path = dir.0.join("old.db");
    version_4_database(&path);
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        SqliteStore::open(&path, SqliteOptions::default()).expect("open and migrate"),
    );
    let clock = std::sync::Arc::new(ManualClock::at(Timestamp(1_000)));
    let app = App::new(store.clone(), clock.clone());

    let d = store.get_ticket_detail(&scope(), 1).await.expect("detail");
    let read: Vec<(i64, &str, Option<&str>)> = d
        .messages
        .iter()
        .map(|m| (m.id, m.content.as_str(), m.subject.as_deref()))
        .collect();
    assert_eq!(
        read,
        [
            (5, "primeira", None),
            (9, "segunda", Some("Troca")),
            (12, "terceira", None)
        ]
    );
    assert_eq!(d.messages[0].author.name.as_deref(), Some("Ana"));
    assert_eq!(d.order.head.customer.name, "João da Silva");
    let other = store
        .list_messages(&scope(), 2)
        .await
        .expect("other ticket");
    assert_eq!(other.iter().map(|m| m.id).collect::<Vec<_>>(), [6]);
    // Version 6 filled the code keys of existing tickets: they are found by code.
    for (id, code) in [(1, "A-1"), (2, "A-2")] {
        let t = store.get_ticket_by_code(&scope(), code).await.expect(code);
        assert_eq!(t.id, id);
    }

    // New messages continue the global id sequence.
    let reply = NewMessage {
        conversation: Conversation::CustomerSeller,
        author: Author {
            party: Party::Seller,
            name: None,
            email: None,
            code: None,
        },
        content: "resposta".into(),
        customer_can_view: true,
        at: None,
        subject: None,
        responsible: None,
    };
    let (_, m) = app.add_message(&scope(), 2, &reply).await.expect("reply");
    assert_eq!(m.id, 13);
    let other = store.list_messages(&scope(), 2).await.expect("after reply");
    assert_eq!(other.iter().map(|m| m.id).collect::<Vec<_>>(), [6, 13]);

    // Version 7 put each ticket's messages at consecutive slots from ticket id * 2^24,
    // in id order; the reply took the next one.
    let db = Connection::open(&path).unwrap();
    let slots: Vec<(i64, i64)> = db
        .prepare("SELECT slot, id FROM ticket_messages ORDER BY slot")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let base = 1 << 24;
    assert_eq!(
        slots,
        [
            (base, 5),
            (base + 1, 9),
            (base + 2, 12),
            (2 * base, 6),
            (2 * base + 1, 13)
        ]
    );
    // A ticket whose last slot is taken cannot take another message: a conflict, not
    // a write into the next ticket's slots.
    db.execute(
        "INSERT INTO ticket_messages (slot, id, ticket_id, conversation, author_party,
         content, customer_can_view, created_at)
         VALUES (?1, 100, 1, 'CUSTOMER_SELLER', 'CUSTOMER', 'última', 1, 0)",
        [2 * base - 1],
    )
    .unwrap();
    clock.set(Timestamp(2_000));
    let full = app.add_message(&scope(), 1, &reply).await;
    assert!(matches!(full, Err(AppError::Conflict(_))), "{full:?}");
    let versions: i64 = db
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    // Every known migration applied, the newest last.
    let known: &[(i64, &str)] = entreposto_store::migrations!();
    assert_eq!(Some(versions), known.last().map(|m| m.0));
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused() {
    let dir = Dir::new();
    let path = dir.0.join("new.db");
    drop(SqliteStore::open(&path, SqliteOptions::default()).expect("create"));
    Connection::open(&path)
        .unwrap()
        .execute("INSERT INTO schema_migrations VALUES (99, 0)", [])
        .unwrap();
    match SqliteStore::open(&path, SqliteOptions::default()) {
        Err(StoreError::Other(m)) => assert!(m.contains("version 99"), "{m}"),
        Err(e) => panic!("unexpected error {e:?}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

/// Builds the database a version-20 binary left: its migrations, an endpoint with two
/// messages, their deliveries (one pending, one delivered with its attempt).
fn version_20_database(path: &std::path::Path) {
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let c = Connection::open(path).expect("open");
    // Migrations 6 and 11 fill columns through the store's functions; the tables they
    // fill are empty here.
    for f in ["entreposto_code_key", "entreposto_payment_ids"] {
        c.create_scalar_function(
            f,
            1,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            |_| Ok(rusqlite::types::Value::Null),
        )
        .expect("function");
    }
    c.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .expect("migrations table");
    for (i, f) in files.iter().take(20).enumerate() {
        c.execute_batch(&std::fs::read_to_string(f).expect("migration"))
            .expect("old migration");
        c.execute(
            "INSERT INTO schema_migrations VALUES (?1, 0)",
            [i as i64 + 1],
        )
        .expect("version");
    }
    c.execute_batch(&format!(
        "PRAGMA foreign_keys=ON;
         INSERT INTO operators (id, name, created_at) VALUES ('{OP}', 'Op', 0);
         INSERT INTO webhook_endpoints (id, operator_id, seller_id, url, events, description,
           enabled, secret, created_at, updated_at, version)
         VALUES ('ep1', '{OP}', NULL, 'https://hooks.example.com/', NULL, '', 1,
           'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3', 0, 0, 1);
         INSERT INTO webhook_messages VALUES
           ('evt_B', 8, '{OP}', NULL, 'order.created', 'order:2', 20, '{{\"n\":2}}'),
           ('evt_A', 7, '{OP}', NULL, 'order.created', 'order:1', 10, '{{\"n\":1}}');
         INSERT INTO webhook_deliveries (id, endpoint_id, message_id, seq, entity, occurred_at,
           state, tries, next_attempt_at)
         VALUES (1, 'ep1', 'evt_A', 7, 'order:1', 10, 'succeeded', 1, NULL),
                (2, 'ep1', 'evt_B', 8, 'order:2', 20, 'pending', 0, 30);
         INSERT INTO webhook_attempts (delivery_id, at, node, status, response, duration_ms)
         VALUES (1, 11, 'node-a', 204, '', 3);"
    ))
    .expect("webhooks");
}

#[tokio::test]
async fn a_version_20_database_keeps_its_webhooks() {
    use entreposto_store::webhooks::DeliveryFilter;
    let dir = Dir::new();
    let path = dir.0.join("old.db");
    version_20_database(&path);
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        SqliteStore::open(&path, SqliteOptions::default()).expect("open and migrate"),
    );
    let log = store
        .list_deliveries(
            OP,
            "ep1",
            &DeliveryFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("log");
    let read: Vec<(&str, i64, usize)> = log
        .iter()
        .map(|d| (d.message_id.as_str(), d.seq, d.attempts.len()))
        .collect();
    assert_eq!(read, [("evt_B", 8, 0), ("evt_A", 7, 1)]);
    // The pending one is claimed with its body; the delivered one can be replayed.
    let claimed = store
        .claim_deliveries("node-b", Timestamp(40), Timestamp(100), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].id, claimed[0].body.as_str()), (2, "{\"n\":2}"));
    let replayed = store
        .requeue_delivery(OP, "ep1", "evt_A", Timestamp(50))
        .await
        .expect("replay");
    assert_eq!((replayed.id, replayed.tries), (1, 0));
    // The tables have their new keys, and every reference holds.
    let db = Connection::open(&path).unwrap();
    let indexes: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'webhook_deliveries' AND type = 'index' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        !indexes.iter().any(|i| i == "webhook_deliveries_log"),
        "{indexes:?}"
    );
    let broken: i64 = db
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);
}
