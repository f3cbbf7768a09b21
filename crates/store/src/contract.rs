//! The contract suite: behaviour every backend must show, written once.
//!
//! Each backend's `tests/contract.rs` calls [`contract_tests!`] with an expression
//! that opens a fresh, empty store (a temporary SQLite file, or a new PostgreSQL
//! schema), so tests run in parallel without seeing each other's rows. When the
//! expression yields `None` (PostgreSQL not configured) the tests say so and pass.

use entreposto_domain::*;

use crate::{new_id, ImportTicket, NewTicket, Store, StoreError, TicketFilter, TicketSort};

/// Expands to one `#[tokio::test]` per contract case. `$open` is an async expression
/// yielding `Option<impl Deref<Target = impl Store>>`.
#[macro_export]
macro_rules! contract_tests {
    ($open:expr) => {
        $crate::contract_tests!(@case $open, tenants_and_credentials);
        $crate::contract_tests!(@case $open, order_upsert_is_idempotent);
        $crate::contract_tests!(@case $open, orders_are_scoped_to_their_seller);
        $crate::contract_tests!(@case $open, bulk_import_and_counts);
        $crate::contract_tests!(@case $open, concurrent_upserts_all_land);
        $crate::contract_tests!(@case $open, subjects);
        $crate::contract_tests!(@case $open, ticket_life);
        $crate::contract_tests!(@case $open, coinciding_ticket_codes_take_the_next_free);
        $crate::contract_tests!(@case $open, tickets_are_scoped);
        $crate::contract_tests!(@case $open, ticket_listing_pages_by_keyset);
        $crate::contract_tests!(@case $open, ticket_import);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => $crate::contract::$name(&*store).await,
                None => eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set"),
            }
        }
    };
}

/// An operator with two sellers, as most cases need.
pub struct World {
    pub operator: Operator,
    pub seller_a: Seller,
    pub seller_b: Seller,
}

pub async fn world(store: &dyn Store) -> World {
    let now = Timestamp::now();
    let operator = Operator {
        id: new_id(),
        name: "Marketplace Brasil".into(),
        created_at: now,
    };
    store.create_operator(&operator).await.expect("operator");
    let mk = |name: &str, doc: Option<&str>| Seller {
        id: new_id(),
        operator_id: operator.id.clone(),
        name: name.into(),
        document: doc.map(|d| Document::parse(d, None).expect("valid")),
        created_at: now,
    };
    let seller_a = mk("Loja A", Some("11222333000181"));
    let seller_b = mk("Loja B", None);
    store.create_seller(&seller_a).await.expect("seller a");
    store.create_seller(&seller_b).await.expect("seller b");
    World {
        operator,
        seller_a,
        seller_b,
    }
}

/// A complete, valid order of `seller` with marketplace id `code`.
pub fn sample_order(seller: &Seller, code: &str) -> OrderData {
    OrderData {
        operator_id: seller.operator_id.clone(),
        seller_id: seller.id.clone(),
        channel: "Lojas Americanas".into(),
        marketplace_order_id: code.into(),
        site_id: Some("LASA".into()),
        warehouse: Some("98".into()),
        status: OrderStatus::Approved,
        placed_at: Timestamp::parse("2023-06-06T21:41:57-03:00").expect("date"),
        approved_at: Some(Timestamp::parse("2023-06-06T22:00:00-03:00").expect("date")),
        cancelled_at: None,
        customer: Customer {
            name: "João da Silva".into(),
            document: Document::parse("52998224725", None).expect("cpf"),
            gender: Some("male".into()),
            email: Some("joao@example.com".into()),
            birth_date: None,
            corporate_name: None,
            trade_name: None,
            corporate_document: None,
            corporate_phone: None,
            state_inscription: None,
            phones: vec![Phone {
                kind: Some("mobile".into()),
                ddi: "55".into(),
                ddd: "11".into(),
                number: "912345678".into(),
            }],
        },
        shipping_address: Some(Address {
            kind: None,
            recipient: Some("João da Silva".into()),
            zipcode: "01310100".into(),
            address: "Av. Paulista".into(),
            number: Some("1000".into()),
            complement: Some("ap 12".into()),
            neighborhood: Some("Bela Vista".into()),
            city: "São Paulo".into(),
            state: "SP".into(),
            country: "BR".into(),
            reference: None,
        }),
        items: vec![OrderItem {
            sku: "99jjs8".into(),
            name: "Produto".into(),
            quantity: 1,
            unit_price: Cents(49999),
            marketplace_item_id: None,
            freight: None,
        }],
        freight: Cents(1500),
        discount: Cents::ZERO,
        payments: vec![Payment {
            method: "credit_card".into(),
            installments: 3,
            value: Cents(51499),
            paid_at: None,
            gateway: None,
            transaction_id: None,
        }],
    }
}

pub async fn tenants_and_credentials(store: &dyn Store) {
    let w = world(store).await;
    assert_eq!(
        store.get_operator(&w.operator.id).await.unwrap(),
        w.operator
    );
    assert_eq!(
        store
            .get_seller(&w.operator.id, &w.seller_a.id)
            .await
            .unwrap(),
        w.seller_a
    );
    assert_eq!(store.find_seller(&w.seller_b.id).await.unwrap(), w.seller_b);
    let mut sellers = store.list_sellers(&w.operator.id).await.unwrap();
    sellers.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(sellers, vec![w.seller_a.clone(), w.seller_b.clone()]);

    // A seller is invisible through another operator.
    let other = world(store).await;
    assert!(matches!(
        store.get_seller(&other.operator.id, &w.seller_a.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_operator("nope").await,
        Err(StoreError::NotFound)
    ));

    let cred = Credential {
        id: new_id(),
        operator_id: w.operator.id.clone(),
        seller_id: Some(w.seller_a.id.clone()),
        dialect: Dialect::Skyhub,
        secret_hash: [7u8; 32],
        user_email: Some("loja-a@example.com".into()),
        created_at: Timestamp::now(),
        revoked_at: None,
    };
    store.create_credential(&cred).await.unwrap();
    assert_eq!(store.get_credential(&cred.id).await.unwrap(), cred);
    assert!(matches!(
        store.create_credential(&cred).await,
        Err(StoreError::Conflict(_))
    ));
    let at = Timestamp(cred.created_at.0 + 1);
    store.revoke_credential(&cred.id, at).await.unwrap();
    store
        .revoke_credential(&cred.id, Timestamp(at.0 + 5))
        .await
        .unwrap();
    assert_eq!(
        store.get_credential(&cred.id).await.unwrap().revoked_at,
        Some(at)
    );
    assert!(matches!(
        store.revoke_credential("missing", at).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn order_upsert_is_idempotent(store: &dyn Store) {
    let w = world(store).await;
    let data = sample_order(&w.seller_a, "02-1000000004");
    let t0 = Timestamp::now();
    let (created, how) = store.upsert_order(&data, t0).await.unwrap();
    assert_eq!(how, Upserted::Created);
    assert_eq!(created.data, data);
    assert_eq!(created.created_at, t0);

    let mut changed = data.clone();
    changed.status = OrderStatus::Shipped;
    changed.items[0].quantity = 2;
    let t1 = Timestamp(t0.0 + 1000);
    let (updated, how) = store.upsert_order(&changed, t1).await.unwrap();
    assert_eq!(how, Upserted::Updated);
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.created_at, t0);
    assert_eq!(updated.updated_at, t1);

    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let read = store.get_order(&scope, created.id).await.unwrap();
    assert_eq!(read.data, changed);
    assert_eq!(read.updated_at, t1);
    assert_eq!(store.count_orders(&scope).await.unwrap(), 1);

    // The same marketplace id on another channel is another order.
    let mut other_channel = data.clone();
    other_channel.channel = "Shoptime".into();
    let (o2, how) = store.upsert_order(&other_channel, t1).await.unwrap();
    assert_eq!(how, Upserted::Created);
    assert_ne!(o2.id, created.id);
    let found = store
        .find_orders_by_marketplace_id(&scope, "02-1000000004")
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![created.id, o2.id]
    );
}

pub async fn orders_are_scoped_to_their_seller(store: &dyn Store) {
    let w = world(store).await;
    let other = world(store).await;
    let now = Timestamp::now();
    let (a, _) = store
        .upsert_order(&sample_order(&w.seller_a, "A-1"), now)
        .await
        .unwrap();
    // Seller B pushes the same marketplace code: a different order, not an update of A's.
    let (b, how) = store
        .upsert_order(&sample_order(&w.seller_b, "A-1"), now)
        .await
        .unwrap();
    assert_eq!(how, Upserted::Created);
    assert_ne!(a.id, b.id);

    let scope_a = Scope::seller(&w.operator.id, &w.seller_a.id);
    let scope_b = Scope::seller(&w.operator.id, &w.seller_b.id);
    let scope_op = Scope::operator(&w.operator.id);
    let scope_other_op = Scope::operator(&other.operator.id);
    let forged = Scope::seller(&other.operator.id, &w.seller_a.id);

    assert!(store.get_order(&scope_a, a.id).await.is_ok());
    assert!(store.get_order(&scope_op, a.id).await.is_ok());
    for scope in [&scope_b, &scope_other_op, &forged] {
        assert!(
            matches!(
                store.get_order(scope, a.id).await,
                Err(StoreError::NotFound)
            ),
            "{scope:?} must not see seller A's order"
        );
    }
    assert_eq!(store.count_orders(&scope_a).await.unwrap(), 1);
    assert_eq!(store.count_orders(&scope_op).await.unwrap(), 2);
    assert_eq!(store.count_orders(&scope_other_op).await.unwrap(), 0);
    let found = store
        .find_orders_by_marketplace_id(&scope_b, "A-1")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, b.id);
}

pub async fn bulk_import_and_counts(store: &dyn Store) {
    let w = world(store).await;
    let orders: Vec<OrderData> = (0..2500)
        .map(|i| sample_order(&w.seller_a, &format!("BULK-{i}")))
        .collect();
    let n = store
        .import_orders(&orders, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(n, 2500);
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    assert_eq!(store.count_orders(&scope).await.unwrap(), 2500);
    let dup = vec![sample_order(&w.seller_a, "BULK-7")];
    assert!(matches!(
        store.import_orders(&dup, Timestamp::now()).await,
        Err(StoreError::Conflict(_))
    ));
    // A failed import writes nothing.
    assert_eq!(store.count_orders(&scope).await.unwrap(), 2500);
    let found = store
        .find_orders_by_marketplace_id(&scope, "BULK-7")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].data.marketplace_order_id, "BULK-7");
}

pub async fn concurrent_upserts_all_land(store: &dyn Store) {
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    // Many writers at once, half of them repeating a key: every call must answer,
    // and each key must exist exactly once.
    let futs = (0..200).map(|i| {
        let data = sample_order(&w.seller_a, &format!("C-{}", i % 100));
        async move { store.upsert_order(&data, Timestamp::now()).await }
    });
    let results = futures::future::join_all(futs).await;
    let mut created = 0;
    for r in results {
        if r.expect("upsert").1 == Upserted::Created {
            created += 1;
        }
    }
    assert_eq!(created, 100);
    assert_eq!(store.count_orders(&scope).await.unwrap(), 100);
}

pub fn subject(operator: &Operator, name: &str, sla_hours: i64) -> Subject {
    Subject {
        id: new_id(),
        operator_id: operator.id.clone(),
        name: name.into(),
        sla_hours,
        for_return: name.contains("Devolução"),
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    }
}

pub fn message(conversation: Conversation, party: Party, content: &str) -> NewMessage {
    NewMessage::new(
        conversation,
        Author {
            party,
            name: Some(format!("{} name", party.as_str())),
            email: Some("someone@example.com".into()),
            code: None,
        },
        content,
    )
}

pub async fn subjects(store: &dyn Store) {
    let w = world(store).await;
    let a = subject(&w.operator, "Produto não chegou", 48);
    let b = subject(&w.operator, "Devolução", 72);
    store.create_subject(&a).await.unwrap();
    store.create_subject(&b).await.unwrap();
    let list = store.list_subjects(&w.operator.id).await.unwrap();
    assert_eq!(list, vec![b.clone(), a.clone()]);
    assert_eq!(store.find_subject(&w.operator.id, &a.id).await.unwrap(), a);
    assert_eq!(
        store
            .find_subject(&w.operator.id, "Devolução")
            .await
            .unwrap(),
        b
    );
    let other = world(store).await;
    assert!(matches!(
        store.find_subject(&other.operator.id, &a.id).await,
        Err(StoreError::NotFound)
    ));
    let dup = subject(&w.operator, "Produto não chegou", 24);
    assert!(matches!(
        store.create_subject(&dup).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn order_and_subject(
    store: &dyn Store,
    w: &World,
    seller: &Seller,
    code: &str,
) -> (Order, Subject) {
    let (order, _) = store
        .upsert_order(&sample_order(seller, code), Timestamp::now())
        .await
        .unwrap();
    let s = match store
        .find_subject(&w.operator.id, "Produto não chegou")
        .await
    {
        Ok(s) => s,
        Err(_) => {
            let s = subject(&w.operator, "Produto não chegou", 48);
            store.create_subject(&s).await.unwrap();
            s
        }
    };
    (order, s)
}

fn new_ticket(order: &Order, subject: &Subject, messages: Vec<NewMessage>) -> NewTicket {
    NewTicket {
        order_id: order.id,
        subject: subject.clone(),
        responsible: Party::Seller,
        opened_by: Party::Marketplace,
        mediation: false,
        messages,
    }
}

/// Orders `12-3` and `2-13` give the same code digits (`213`); the second order's
/// first ticket takes the next free sequence number instead of failing.
pub async fn coinciding_ticket_codes_take_the_next_free(store: &dyn Store) {
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let t0 = Timestamp(1_700_000_000_000_000);
    let (a, subj) = order_and_subject(store, &w, &w.seller_a, "12-3").await;
    let (b, _) = order_and_subject(store, &w, &w.seller_a, "2-13").await;
    let ta = store
        .open_ticket(&scope, &new_ticket(&a, &subj, vec![]), t0)
        .await
        .unwrap();
    let tb = store
        .open_ticket(&scope, &new_ticket(&b, &subj, vec![]), t0)
        .await
        .unwrap();
    assert_eq!(ta.code, "Lojas Americanas-213001");
    assert_eq!(tb.code, "Lojas Americanas-213002");
}

pub async fn ticket_life(store: &dyn Store) {
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "02-1000000004").await;
    let t0 = Timestamp(1_700_000_000_000_000);
    let t = store
        .open_ticket(&scope, &new_ticket(&order, &subj, vec![]), t0)
        .await
        .unwrap();
    assert_eq!(t.code, "Lojas Americanas-201000000004001");
    assert!(t.is_instance());
    assert_eq!(t.warehouse.as_deref(), Some("98"));
    assert_eq!(t.sla_hours, 48);
    assert_eq!(t.read_state, ReadState::Unread);
    let second = store
        .open_ticket(&scope, &new_ticket(&order, &subj, vec![]), t0)
        .await
        .unwrap();
    assert_eq!(second.code, "Lojas Americanas-201000000004002");

    let t1 = Timestamp(t0.0 + 1_000_000);
    store
        .set_read_state(&scope, t.id, ReadState::Read, t1)
        .await
        .unwrap();
    let (t_after, m1) = store
        .add_message(
            &scope,
            t.id,
            &message(
                Conversation::CustomerSeller,
                Party::Customer,
                "Produto não chegou!",
            ),
            Timestamp(t1.0 + 1),
        )
        .await
        .unwrap();
    assert_eq!(t_after.read_state, ReadState::Unread);
    assert_eq!(t_after.message_count, 1);
    assert_eq!(t_after.updated_at, Timestamp(t1.0 + 1));
    assert!(m1.replied_at.is_none());

    let t2 = Timestamp(t1.0 + 5_000_000);
    store
        .set_read_state(&scope, t.id, ReadState::Read, t2)
        .await
        .unwrap();
    let (after_reply, _) = store
        .add_message(
            &scope,
            t.id,
            &message(Conversation::CustomerSeller, Party::Seller, "Já enviamos."),
            t2,
        )
        .await
        .unwrap();
    assert_eq!(after_reply.read_state, ReadState::Read);
    let msgs = store.list_messages(&scope, t.id).await.unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        msgs[0].replied_at,
        Some(t2),
        "the seller's reply answers the customer"
    );
    assert_eq!(msgs[1].author.party, Party::Seller);
    assert!(msgs[0].customer_can_view);

    // A seller cannot write in the customer-marketplace conversation.
    let wrong = store
        .add_message(
            &scope,
            t.id,
            &message(Conversation::CustomerMarketplace, Party::Seller, "x"),
            t2,
        )
        .await;
    assert!(
        matches!(wrong, Err(StoreError::Rule(ref f)) if f.field == "part"),
        "{wrong:?}"
    );
    assert_eq!(
        store.list_messages(&scope, t.id).await.unwrap().len(),
        2,
        "a refused message writes nothing"
    );

    let med = store
        .request_mediation(&scope, t.id, Timestamp(t2.0 + 1))
        .await
        .unwrap();
    assert!(med.mediation);
    let by_code = store.get_ticket_by_code(&scope, &t.code).await.unwrap();
    assert_eq!(by_code.id, t.id);
    assert!(by_code.mediation);

    let closed = store
        .close_ticket(
            &scope,
            t.id,
            Some(&message(
                Conversation::MarketplaceSeller,
                Party::Marketplace,
                "Encerrado",
            )),
            Some(Party::Marketplace),
            Timestamp(t2.0 + 2),
        )
        .await
        .unwrap();
    assert_eq!(closed.closed_at, Some(Timestamp(t2.0 + 2)));
    assert_eq!(closed.responsible, Party::Marketplace);
    assert_eq!(closed.message_count, 3);
    assert!(matches!(
        store
            .close_ticket(&scope, t.id, None, None, Timestamp(t2.0 + 3))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .add_message(
                &scope,
                t.id,
                &message(Conversation::CustomerSeller, Party::Customer, "oi"),
                Timestamp(t2.0 + 4)
            )
            .await,
        Err(StoreError::Rule(_))
    ));
    let reread = store.get_ticket(&scope, t.id).await.unwrap();
    assert_eq!(reread, closed);
}

pub async fn tickets_are_scoped(store: &dyn Store) {
    let w = world(store).await;
    let other = world(store).await;
    let scope_a = Scope::seller(&w.operator.id, &w.seller_a.id);
    let scope_b = Scope::seller(&w.operator.id, &w.seller_b.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "SC-1").await;
    // Seller B cannot open a ticket on A's order.
    assert!(matches!(
        store
            .open_ticket(
                &scope_b,
                &new_ticket(&order, &subj, vec![]),
                Timestamp::now()
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let t = store
        .open_ticket(
            &scope_a,
            &new_ticket(
                &order,
                &subj,
                vec![message(Conversation::CustomerSeller, Party::Customer, "oi")],
            ),
            Timestamp::now(),
        )
        .await
        .unwrap();
    let forged = Scope::seller(&other.operator.id, &w.seller_a.id);
    for scope in [&scope_b, &Scope::operator(&other.operator.id), &forged] {
        assert!(matches!(
            store.get_ticket(scope, t.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.get_ticket_by_code(scope, &t.code).await,
            Err(StoreError::NotFound)
        ));
        assert!(store.list_messages(scope, t.id).await.unwrap().is_empty());
        assert!(matches!(
            store.get_ticket_detail(scope, t.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(store
            .list_messages_of(scope, &[t.id])
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            store
                .add_message(
                    scope,
                    t.id,
                    &message(Conversation::CustomerSeller, Party::Seller, "x"),
                    Timestamp::now()
                )
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .set_read_state(scope, t.id, ReadState::Archived, Timestamp::now())
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .close_ticket(scope, t.id, None, None, Timestamp::now())
                .await,
            Err(StoreError::NotFound)
        ));
        let all = TicketFilter {
            limit: 100,
            ..Default::default()
        };
        assert!(store.list_tickets(scope, &all).await.unwrap().is_empty());
    }
    assert_eq!(
        store
            .get_ticket(&Scope::operator(&w.operator.id), t.id)
            .await
            .unwrap()
            .id,
        t.id
    );
    assert_eq!(
        store.get_ticket(&scope_a, t.id).await.unwrap().read_state,
        ReadState::Unread
    );
    for scope in [&scope_a, &Scope::operator(&w.operator.id)] {
        let d = store.get_ticket_detail(scope, t.id).await.unwrap();
        assert_eq!(d.ticket.id, t.id);
        assert_eq!(d.order.id, order.id);
        assert_eq!(
            d.order.head.marketplace_order_id,
            order.data.marketplace_order_id
        );
        assert_eq!(d.messages.len(), 1);
        assert_eq!(d.messages[0].content, "oi");
        let of = store.list_messages_of(scope, &[t.id, -1]).await.unwrap();
        assert_eq!(of, d.messages);
    }
    assert!(store
        .list_messages_of(&scope_a, &[])
        .await
        .unwrap()
        .is_empty());
}

pub async fn ticket_listing_pages_by_keyset(store: &dyn Store) {
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let base = 1_700_000_000_000_000i64;
    let mut ids = Vec::new();
    for i in 0..25 {
        let (order, subj) = order_and_subject(store, &w, &w.seller_a, &format!("LST-{i}")).await;
        // Tickets 0..5 stay instances; the rest get a message. Two share each time.
        let msgs = if i < 5 {
            vec![]
        } else {
            vec![message(Conversation::CustomerSeller, Party::Customer, "oi")]
        };
        let mut nt = new_ticket(&order, &subj, msgs);
        nt.mediation = i % 3 == 0;
        let t = store
            .open_ticket(&scope, &nt, Timestamp(base + (i / 2) * 1_000_000))
            .await
            .unwrap();
        ids.push(t.id);
    }
    store
        .set_read_state(
            &scope,
            ids[24],
            ReadState::Archived,
            Timestamp(base + 100_000_000),
        )
        .await
        .unwrap();
    let with_messages = TicketFilter {
        instances: Some(false),
        limit: 7,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut filter = with_messages.clone();
    loop {
        let page = store.list_tickets(&scope, &filter).await.unwrap();
        for pair in page.windows(2) {
            assert!((pair[0].updated_at, pair[0].id) > (pair[1].updated_at, pair[1].id));
        }
        seen.extend(page.iter().map(|t| t.id));
        match page.last() {
            Some(last) if page.len() == 7 => filter.after = Some((last.updated_at, last.id)),
            _ => break,
        }
    }
    assert_eq!(seen.len(), 20, "every ticket with messages exactly once");
    assert_eq!(seen[0], ids[24], "the newest update first");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 20);

    let instances = store
        .list_tickets(
            &scope,
            &TicketFilter {
                instances: Some(true),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(instances.len(), 5);
    let archived = store
        .list_tickets(
            &scope,
            &TicketFilter {
                read_state: Some(ReadState::Archived),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        archived.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![ids[24]]
    );
    let mediated = store
        .list_tickets(
            &scope,
            &TicketFilter {
                mediation: Some(true),
                instances: Some(false),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(mediated.len(), (5..25).filter(|i| i % 3 == 0).count());
    let window = TicketFilter {
        updated_from: Some(Timestamp(base + 10_000_000)),
        updated_to: Some(Timestamp(base + 11_000_000)),
        limit: 50,
        ..Default::default()
    };
    let in_window = store.list_tickets(&scope, &window).await.unwrap();
    assert_eq!(
        in_window.len(),
        2,
        "tickets 20 and 21 were updated in that second"
    );
    let by_order = store.get_ticket(&scope, ids[3]).await.unwrap().order_id;
    let of_order = store
        .list_tickets(
            &scope,
            &TicketFilter {
                order_id: Some(by_order),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        of_order.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![ids[3]]
    );

    // Offset paging, creation-time order, counts, open/closed and marketplace ids.
    let all = TicketFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.count_tickets(&scope, &all).await.unwrap(), 25);
    assert_eq!(
        store.count_tickets(&scope, &with_messages).await.unwrap(),
        20
    );
    let by_created = TicketFilter {
        sort: TicketSort::CreatedAt,
        limit: 10,
        offset: 20,
        ..Default::default()
    };
    let tail = store.list_tickets(&scope, &by_created).await.unwrap();
    assert_eq!(
        tail.iter().map(|t| t.id).collect::<Vec<_>>(),
        ids[..5].iter().rev().copied().collect::<Vec<_>>()
    );
    store
        .close_ticket(&scope, ids[7], None, None, Timestamp(base + 200_000_000))
        .await
        .unwrap();
    let closed = TicketFilter {
        open: Some(false),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.list_tickets(&scope, &closed).await.unwrap()[0].id,
        ids[7]
    );
    assert_eq!(
        store
            .count_tickets(
                &scope,
                &TicketFilter {
                    open: Some(true),
                    ..Default::default()
                }
            )
            .await
            .unwrap(),
        24
    );
    let by_code = TicketFilter {
        marketplace_order_id: Some("LST-9".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store.list_tickets(&scope, &by_code).await.unwrap()[0].id,
        ids[9]
    );
    let other_seller = Scope::seller(&w.operator.id, &w.seller_b.id);
    assert_eq!(store.count_tickets(&other_seller, &all).await.unwrap(), 0);
}

pub async fn ticket_import(store: &dyn Store) {
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "IMP-1").await;
    let now = Timestamp(1_700_000_000_000_000);
    let ticket = Ticket {
        id: 0,
        operator_id: w.operator.id.clone(),
        seller_id: w.seller_a.id.clone(),
        order_id: 0,
        code: ticket_code(&order.data.channel, "IMP-1", 1),
        subject_id: Some(subj.id.clone()),
        subject: subj.name.clone(),
        sla_hours: subj.sla_hours,
        for_return: false,
        responsible: Party::Seller,
        opened_by: Party::Customer,
        read_state: ReadState::Unread,
        mediation: false,
        message_count: 1,
        last_message_at: Some(now),
        closed_at: None,
        channel: order.data.channel.clone(),
        marketplace_order_id: "IMP-1".into(),
        warehouse: Some("98".into()),
        created_at: now,
        updated_at: now,
    };
    let msg = TicketMessage {
        id: 0,
        ticket_id: 0,
        conversation: Conversation::CustomerSeller,
        author: Author {
            party: Party::Customer,
            name: Some("João".into()),
            email: None,
            code: None,
        },
        content: "Cadê meu pedido?".into(),
        customer_can_view: true,
        created_at: now,
        replied_at: None,
        subject: None,
        responsible: None,
    };
    let n = store
        .import_tickets(&[ImportTicket {
            ticket: ticket.clone(),
            messages: vec![msg],
        }])
        .await
        .unwrap();
    assert_eq!(n, 1);
    let t = store
        .get_ticket_by_code(&scope, &ticket.code)
        .await
        .unwrap();
    assert_eq!(t.order_id, order.id);
    assert_eq!(
        store.list_messages(&scope, t.id).await.unwrap()[0].content,
        "Cadê meu pedido?"
    );
    let mut orphan = ticket.clone();
    orphan.marketplace_order_id = "NOPE".into();
    assert!(store
        .import_tickets(&[ImportTicket {
            ticket: orphan,
            messages: vec![]
        }])
        .await
        .is_err());
}
