//! The contract suite: behaviour every backend shows through the application layer,
//! written once.
//!
//! Each backend's `tests/contract.rs` calls [`contract_tests!`] with an expression
//! that opens a fresh, empty store (a temporary SQLite file, or a new PostgreSQL
//! schema), so tests run in parallel without seeing each other's rows. When the
//! expression yields `None` (PostgreSQL not configured) the tests say so and pass.
//! Flows run through the use cases on a [`ManualClock`], so a case sets the time each
//! change happens at; reads go to the store directly.

use std::sync::Arc;

use entreposto_domain::*;
use entreposto_store::fixtures::{message, sample_order, subject, world, World};
use entreposto_store::{
    new_id, ImportOrder, ImportTicket, Store, StoreError, TicketFilter, TicketSort,
};

use crate::{App, AppError, ManualClock, OpenTicket};
use entreposto_store::fixtures::initial_progress;

mod finance;
mod orders;
pub use finance::*;
pub use orders::*;

/// Expands to one `#[tokio::test]` per contract case. `$open` is an async expression
/// yielding `Option<impl Deref<Target = Arc<dyn Store>>>`.
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
        $crate::contract_tests!(@case $open, racing_messages_all_land_with_their_replies);
        $crate::contract_tests!(@case $open, a_stale_change_is_refused);
        $crate::contract_tests!(@case $open, a_server_key_is_created_once);
        $crate::contract_tests!(@case $open, a_change_outside_its_scope_writes_nothing);
        $crate::contract_tests!(@case $open, approving_reserves_stock_and_cancelling_returns_it);
        $crate::contract_tests!(@case $open, a_short_sku_moves_the_order_out_of_stock_reserving_nothing);
        $crate::contract_tests!(@case $open, concurrent_approvals_never_oversell);
        $crate::contract_tests!(@case $open, racing_status_updates_one_wins);
        $crate::contract_tests!(@case $open, illegal_moves_are_refused_naming_from_and_to);
        $crate::contract_tests!(@case $open, invoices_tracking_and_erp_marks);
        $crate::contract_tests!(@case $open, a_push_keeps_the_lifecycle);
        $crate::contract_tests!(@case $open, a_cancellation_survives_a_deleted_product);
        $crate::contract_tests!(@case $open, pushed_orders_expect_lines_and_follow_changes);
        $crate::contract_tests!(@case $open, a_statement_reconciles_each_situation);
        $crate::contract_tests!(@case $open, reloading_changes_nothing_and_overlapping_periods_are_refused);
        $crate::contract_tests!(@case $open, a_load_resumes_after_a_stale_step);
        $crate::contract_tests!(@case $open, a_load_that_stopped_resumes_at_its_cursor);
        $crate::contract_tests!(@case $open, pushes_racing_a_load_keep_every_release);
        $crate::contract_tests!(@case $open, lifecycle_orders_are_followed_from_billed_on);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => $crate::contract::$name(std::sync::Arc::clone(&*store)).await,
                None => eprintln!("skipped: ENTREPOSTO_TEST_POSTGRES_URL is not set"),
            }
        }
    };
}

/// The use cases over the store under test, each flow at the time it is given: the
/// calls of the cases read as "this happened at t".
struct Flows {
    app: App,
    clock: Arc<ManualClock>,
}

impl Flows {
    fn new(store: &Arc<dyn Store>) -> Flows {
        let clock = Arc::new(ManualClock::at(Timestamp::now()));
        Flows {
            app: App::new(store.clone(), clock.clone()),
            clock,
        }
    }

    async fn open_ticket(
        &self,
        scope: &Scope,
        t: &OpenTicket,
        at: Timestamp,
    ) -> crate::Result<Ticket> {
        self.clock.set(at);
        self.app.open_ticket(scope, t).await
    }

    async fn add_message(
        &self,
        scope: &Scope,
        id: i64,
        m: &NewMessage,
        at: Timestamp,
    ) -> crate::Result<(Ticket, TicketMessage)> {
        self.clock.set(at);
        self.app.add_message(scope, id, m).await
    }

    async fn set_read_state(
        &self,
        scope: &Scope,
        id: i64,
        state: ReadState,
        at: Timestamp,
    ) -> crate::Result<Ticket> {
        self.clock.set(at);
        self.app.set_read_state(scope, id, state).await
    }

    async fn request_mediation(
        &self,
        scope: &Scope,
        id: i64,
        at: Timestamp,
    ) -> crate::Result<Ticket> {
        self.clock.set(at);
        self.app.request_mediation(scope, id).await
    }

    async fn close_ticket(
        &self,
        scope: &Scope,
        id: i64,
        last: Option<&NewMessage>,
        responsible: Option<Party>,
        at: Timestamp,
    ) -> crate::Result<Ticket> {
        self.clock.set(at);
        self.app.close_ticket(scope, id, last, responsible).await
    }
}

pub async fn tenants_and_credentials(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
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
        dialect: Dialect::named("skyhub"),
        secret_hash: [7u8; 32],
        user_email: Some("loja-a@example.com".into()),
        created_at: Timestamp::now(),
        revoked_at: None,
        rate_limit: Some(RateLimit::per_minute(90)),
    };
    store.create_credential(&cred, &[]).await.unwrap();
    assert_eq!(store.get_credential(&cred.id).await.unwrap(), cred);
    assert!(matches!(
        store.create_credential(&cred, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    let at = Timestamp(cred.created_at.0 + 1);
    store.revoke_credential(&cred.id, at, &[]).await.unwrap();
    store
        .revoke_credential(&cred.id, Timestamp(at.0 + 5), &[])
        .await
        .unwrap();
    assert_eq!(
        store.get_credential(&cred.id).await.unwrap().revoked_at,
        Some(at)
    );
    assert!(matches!(
        store.revoke_credential("missing", at, &[]).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn order_upsert_is_idempotent(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let data = sample_order(&w.seller_a, "02-1000000004");
    let t0 = Timestamp::now();
    let (created, how) = store
        .upsert_order(&data, &initial_progress(&data), t0, &[])
        .await
        .unwrap();
    assert_eq!(how, Upserted::Created);
    assert_eq!(created.data, data);
    assert_eq!(created.created_at, t0);

    let mut changed = data.clone();
    changed.status = OrderStatus::Shipped;
    changed.items[0].quantity = 2;
    let t1 = Timestamp(t0.0 + 1000);
    let (updated, how) = store
        .upsert_order(&changed, &initial_progress(&changed), t1, &[])
        .await
        .unwrap();
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
    let (o2, how) = store
        .upsert_order(&other_channel, &initial_progress(&other_channel), t1, &[])
        .await
        .unwrap();
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

pub async fn orders_are_scoped_to_their_seller(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let other = world(store).await;
    let now = Timestamp::now();
    let a_data = sample_order(&w.seller_a, "A-1");
    let (a, _) = store
        .upsert_order(&a_data, &initial_progress(&a_data), now, &[])
        .await
        .unwrap();
    // Seller B pushes the same marketplace code: a different order, not an update of A's.
    let b_data = sample_order(&w.seller_b, "A-1");
    let (b, how) = store
        .upsert_order(&b_data, &initial_progress(&b_data), now, &[])
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

fn imported(data: OrderData) -> ImportOrder {
    ImportOrder {
        progress: initial_progress(&data),
        data,
    }
}

pub async fn bulk_import_and_counts(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let orders: Vec<ImportOrder> = (0..2500)
        .map(|i| imported(sample_order(&w.seller_a, &format!("BULK-{i}"))))
        .collect();
    let n = store
        .import_orders(&orders, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(n, 2500);
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    assert_eq!(store.count_orders(&scope).await.unwrap(), 2500);
    let dup = vec![imported(sample_order(&w.seller_a, "BULK-7"))];
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

pub async fn concurrent_upserts_all_land(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    // Many writers at once, half of them repeating a key: every call must answer,
    // and each key must exist exactly once.
    let futs = (0..200).map(|i| {
        let data = sample_order(&w.seller_a, &format!("C-{}", i % 100));
        async move {
            store
                .upsert_order(&data, &initial_progress(&data), Timestamp::now(), &[])
                .await
        }
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

pub async fn subjects(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
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
    let data = sample_order(seller, code);
    let (order, _) = store
        .upsert_order(&data, &initial_progress(&data), Timestamp::now(), &[])
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

fn new_ticket(order: &Order, subject: &Subject, messages: Vec<NewMessage>) -> OpenTicket {
    OpenTicket {
        order_id: order.id,
        subject: subject.id.clone(),
        responsible: Party::Seller,
        opened_by: Party::Marketplace,
        mediation: false,
        messages,
    }
}

/// Orders `12-3` and `2-13` give the same code digits (`213`); the second order's
/// first ticket takes the next free sequence number instead of failing.
pub async fn coinciding_ticket_codes_take_the_next_free(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let flows = Flows::new(&s);
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let t0 = Timestamp(1_700_000_000_000_000);
    let (a, subj) = order_and_subject(store, &w, &w.seller_a, "12-3").await;
    let (b, _) = order_and_subject(store, &w, &w.seller_a, "2-13").await;
    let ta = flows
        .open_ticket(&scope, &new_ticket(&a, &subj, vec![]), t0)
        .await
        .unwrap();
    let tb = flows
        .open_ticket(&scope, &new_ticket(&b, &subj, vec![]), t0)
        .await
        .unwrap();
    assert_eq!(ta.code, "Lojas Americanas-213001");
    assert_eq!(tb.code, "Lojas Americanas-213002");
}

pub async fn ticket_life(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let flows = Flows::new(&s);
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "02-1000000004").await;
    let t0 = Timestamp(1_700_000_000_000_000);
    let t = flows
        .open_ticket(&scope, &new_ticket(&order, &subj, vec![]), t0)
        .await
        .unwrap();
    assert_eq!(t.code, "Lojas Americanas-201000000004001");
    assert!(t.is_instance());
    assert_eq!(t.warehouse.as_deref(), Some("98"));
    assert_eq!(t.sla_hours, 48);
    assert_eq!(t.read_state, ReadState::Unread);
    let second = flows
        .open_ticket(&scope, &new_ticket(&order, &subj, vec![]), t0)
        .await
        .unwrap();
    assert_eq!(second.code, "Lojas Americanas-201000000004002");

    let t1 = Timestamp(t0.0 + 1_000_000);
    flows
        .set_read_state(&scope, t.id, ReadState::Read, t1)
        .await
        .unwrap();
    let (t_after, m1) = flows
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
    flows
        .set_read_state(&scope, t.id, ReadState::Read, t2)
        .await
        .unwrap();
    let (after_reply, _) = flows
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
    let wrong = flows
        .add_message(
            &scope,
            t.id,
            &message(Conversation::CustomerMarketplace, Party::Seller, "x"),
            t2,
        )
        .await;
    assert!(
        matches!(wrong, Err(AppError::Invalid(ref f)) if f.field == "part"),
        "{wrong:?}"
    );
    assert_eq!(
        store.list_messages(&scope, t.id).await.unwrap().len(),
        2,
        "a refused message writes nothing"
    );

    let med = flows
        .request_mediation(&scope, t.id, Timestamp(t2.0 + 1))
        .await
        .unwrap();
    assert!(med.mediation);
    let by_code = store.get_ticket_by_code(&scope, &t.code).await.unwrap();
    assert_eq!(by_code.id, t.id);
    assert!(by_code.mediation);

    let closed = flows
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
        flows
            .close_ticket(&scope, t.id, None, None, Timestamp(t2.0 + 3))
            .await,
        Err(AppError::AlreadyClosed)
    ));
    assert!(matches!(
        flows
            .add_message(
                &scope,
                t.id,
                &message(Conversation::CustomerSeller, Party::Customer, "oi"),
                Timestamp(t2.0 + 4)
            )
            .await,
        Err(AppError::Invalid(_))
    ));
    let reread = store.get_ticket(&scope, t.id).await.unwrap();
    assert_eq!(reread, closed);
}

pub async fn tickets_are_scoped(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let flows = Flows::new(&s);
    let w = world(store).await;
    let other = world(store).await;
    let scope_a = Scope::seller(&w.operator.id, &w.seller_a.id);
    let scope_b = Scope::seller(&w.operator.id, &w.seller_b.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "SC-1").await;
    // Seller B cannot open a ticket on A's order.
    assert!(matches!(
        flows
            .open_ticket(
                &scope_b,
                &new_ticket(&order, &subj, vec![]),
                Timestamp::now()
            )
            .await,
        Err(AppError::NotFound)
    ));
    let t = flows
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
            flows
                .add_message(
                    scope,
                    t.id,
                    &message(Conversation::CustomerSeller, Party::Seller, "x"),
                    Timestamp::now()
                )
                .await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            flows
                .set_read_state(scope, t.id, ReadState::Archived, Timestamp::now())
                .await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            flows
                .close_ticket(scope, t.id, None, None, Timestamp::now())
                .await,
            Err(AppError::NotFound)
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

pub async fn ticket_listing_pages_by_keyset(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let flows = Flows::new(&s);
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
        let t = flows
            .open_ticket(&scope, &nt, Timestamp(base + (i / 2) * 1_000_000))
            .await
            .unwrap();
        ids.push(t.id);
    }
    flows
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
    flows
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

pub async fn ticket_import(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
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

/// Replies racing on one ticket: every one lands (a lost race is decided again from
/// the fresh ticket), the count matches, and each answers what was unanswered.
pub async fn racing_messages_all_land_with_their_replies(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let app = App::with_system_clock(s.clone());
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "RACE-1").await;
    let t = app
        .open_ticket(
            &scope,
            &new_ticket(
                &order,
                &subj,
                vec![message(Conversation::CustomerSeller, Party::Customer, "oi")],
            ),
        )
        .await
        .unwrap();
    let futs = (0..16).map(|i| {
        let (app, scope) = (app.clone(), scope.clone());
        let party = if i % 2 == 0 {
            Party::Seller
        } else {
            Party::Customer
        };
        async move {
            app.add_message(
                &scope,
                t.id,
                &message(Conversation::CustomerSeller, party, &format!("m{i}")),
            )
            .await
        }
    });
    for r in futures::future::join_all(futs).await {
        r.expect("every racing message lands");
    }
    let ticket = store.get_ticket(&scope, t.id).await.unwrap();
    assert_eq!(ticket.message_count, 17);
    let msgs = store.list_messages(&scope, t.id).await.unwrap();
    assert_eq!(msgs.len(), 17);
    // Every message but the last of each party's run is answered by the next one
    // from the other party: a message is unanswered only if no later message of the
    // other party exists.
    for (i, m) in msgs.iter().enumerate() {
        let answered_later = msgs[i + 1..]
            .iter()
            .any(|n| n.author.party != m.author.party);
        assert_eq!(
            m.replied_at.is_some(),
            answered_later,
            "message {i} by {:?}",
            m.author.party
        );
    }
}

/// A change decided on a version the ticket no longer has is refused as stale and
/// writes nothing.
pub async fn a_stale_change_is_refused(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let app = App::with_system_clock(s.clone());
    let w = world(store).await;
    let scope = Scope::seller(&w.operator.id, &w.seller_a.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "STALE-1").await;
    let t = app
        .open_ticket(&scope, &new_ticket(&order, &subj, vec![]))
        .await
        .unwrap();
    let first = store.load_ticket(&scope, t.id).await.unwrap();
    let mut winner = TicketChange::on(first.clone());
    winner.set_read_state(ReadState::Read, Timestamp::now());
    let winner_version = winner.loaded_version.unwrap() + 1;
    store.save_ticket(&scope, winner).await.unwrap();
    let mut loser = TicketChange::on(first);
    loser
        .receive(
            &message(Conversation::CustomerSeller, Party::Customer, "late"),
            Timestamp::now(),
        )
        .unwrap();
    assert!(matches!(
        store.save_ticket(&scope, loser).await,
        Err(StoreError::Stale)
    ));
    assert!(store.list_messages(&scope, t.id).await.unwrap().is_empty());
    let after = store.load_ticket(&scope, t.id).await.unwrap();
    assert_eq!(after.version, winner_version);
    assert_eq!(after.ticket.read_state, ReadState::Read);
}

/// The first candidate offered for a key name is kept; later ones get it back.
pub async fn a_server_key_is_created_once(s: Arc<dyn Store>) {
    let first = s.server_key("cursor", &[1; 32]).await.unwrap();
    assert_eq!(first, [1; 32]);
    assert_eq!(s.server_key("cursor", &[2; 32]).await.unwrap(), [1; 32]);
    assert_eq!(s.server_key("other", &[3; 32]).await.unwrap(), [3; 32]);
}

/// The store checks the scope on the row it writes, as on every read: a change built
/// on seller A's ticket and saved under seller B's scope (or another operator's)
/// writes nothing, for a new ticket and for an update alike.
pub async fn a_change_outside_its_scope_writes_nothing(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let app = App::with_system_clock(s.clone());
    let w = world(store).await;
    let other = world(store).await;
    let scope_a = Scope::seller(&w.operator.id, &w.seller_a.id);
    let (order, subj) = order_and_subject(store, &w, &w.seller_a, "SCOPE-1").await;
    let t = app
        .open_ticket(&scope_a, &new_ticket(&order, &subj, vec![]))
        .await
        .unwrap();
    let loaded = store.load_ticket(&scope_a, t.id).await.unwrap();
    for wrong in [
        Scope::seller(&w.operator.id, &w.seller_b.id),
        Scope::operator(&other.operator.id),
        Scope::seller(&other.operator.id, &w.seller_a.id),
    ] {
        let mut change = TicketChange::on(loaded.clone());
        change
            .receive(
                &message(Conversation::CustomerSeller, Party::Customer, "intruso"),
                Timestamp::now(),
            )
            .unwrap();
        assert!(
            store.save_ticket(&wrong, change).await.is_err(),
            "{wrong:?}"
        );
        let on = TicketOrder::of(order.id, order.data.clone());
        let opened = TicketChange::open(
            on,
            "Lojas Americanas-X1".into(),
            &subj,
            Party::Seller,
            Party::Marketplace,
            false,
            Timestamp::now(),
        );
        assert!(matches!(
            store.save_ticket(&wrong, opened).await,
            Err(StoreError::NotFound)
        ));
    }
    let after = store.load_ticket(&scope_a, t.id).await.unwrap();
    assert_eq!(after.version, loaded.version);
    assert!(after.messages.is_empty());
    assert!(!store
        .ticket_code_taken(&w.seller_a.id, "Lojas Americanas-X1")
        .await
        .unwrap());
}
