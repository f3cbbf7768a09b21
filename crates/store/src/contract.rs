//! The contract suite: behaviour every backend must show, written once.
//!
//! Each backend's `tests/contract.rs` calls [`contract_tests!`] with an expression
//! that opens a fresh, empty store (a temporary SQLite file, or a new PostgreSQL
//! schema), so tests run in parallel without seeing each other's rows. When the
//! expression yields `None` (PostgreSQL not configured) the tests say so and pass.

use entreposto_domain::*;

use crate::{new_id, Store, StoreError};

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
