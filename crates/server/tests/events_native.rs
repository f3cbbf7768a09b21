//! Events show their entities in the native API's shapes: the server hands the store
//! the native renderer, so an order's `order.created` payload is the body of
//! `GET /api/v1/orders/{id}` as it stood, and a product's `product.created` the body
//! of `GET /api/v1/sellers/{seller}/products/{id}`. SQLite and PostgreSQL.

mod common;

use common::{order_body, TestApp};
use entreposto_domain::{
    BrandRef, CategoryRef, Cents, Dimensions, Location, PartyRef, Price, ProductDraft,
    ProductFields, ProductInfo, ProductKind,
};
use entreposto_domain::{Scope, StockLevel, Timestamp};
use entreposto_store::{EventFilter, OutboxEvent};

on_both_backends!(
    an_order_event_shows_the_order_as_the_api_does,
    a_product_event_shows_the_product_as_the_api_does
);

/// The operator's events but its credential's (`credential.issued` by the harness).
async fn events(app: &TestApp, operator: &str) -> Vec<OutboxEvent> {
    let mut all = app
        .store
        .list_events(&EventFilter {
            operator_id: operator.into(),
            seller_id: None,
            since: Timestamp(0),
            after: None,
            limit: 100,
        })
        .await
        .expect("events");
    all.retain(|e| e.entity != "credential");
    all
}

async fn an_order_event_shows_the_order_as_the_api_does(app: TestApp) {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let auth = common::bearer(&token);
    let r = app
        .post("/api/v1/orders", &auth, &order_body(&seller.id, "EVT-1"))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let got = app.get(&format!("/api/v1/orders/{id}"), &auth).await;
    let evs = events(&app, &op.id).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_type, "order.created");
    assert_eq!(evs[0].entity_id, id);
    assert_eq!(evs[0].payload_value(), got.body);
    // A lifecycle move: its event shows the order after it, as the API reads it.
    let r = app
        .post(
            &format!("/api/v1/orders/{id}/payment"),
            &auth,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let got = app.get(&format!("/api/v1/orders/{id}"), &auth).await;
    let evs = events(&app, &op.id).await;
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[1].event_type, "order.status_changed");
    assert_eq!(evs[1].payload_value(), got.body);
    assert_eq!(evs[1].payload_value()["state"]["substatus"], "paid");
}

async fn a_product_event_shows_the_product_as_the_api_does(app: TestApp) {
    let (op, token) = app.operator().await;
    let seller = app.seller(&op, "Loja A").await;
    let scope = Scope::seller(&op.id, &seller.id);
    let draft = ProductDraft {
        sku: Some("EVT-SKU".into()),
        kind: Some(ProductKind::Simple),
        fields: ProductFields {
            info: ProductInfo {
                name: "Camiseta".into(),
                subtitle: "Algodão".into(),
                active: true,
                model: "M".into(),
                ..Default::default()
            },
            // Two locations, the later one first: a read returns them by location.
            stock: vec![
                StockLevel {
                    location: Location {
                        id: 7,
                        name: Some("CD Sul".into()),
                    },
                    quantity: 3,
                    ..Default::default()
                },
                StockLevel {
                    quantity: 5,
                    ..Default::default()
                },
            ],
            price: Some(Price {
                list: Cents(5000),
                value: Cents(4500),
                expires_at: None,
            }),
            dimensions: Some(Dimensions {
                height: 2.0,
                width: 30.0,
                length: 40.0,
                weight_grams: 250,
            }),
            ..Default::default()
        },
        categories: vec![CategoryRef {
            name: Some("Roupas".into()),
            ..Default::default()
        }],
        brand: Some(BrandRef {
            info: PartyRef {
                name: Some("Marca A".into()),
                ..Default::default()
            },
            manufacturer: Some(PartyRef {
                name: Some("Fábrica A".into()),
                ..Default::default()
            }),
        }),
        ..Default::default()
    };
    let job = app
        .app()
        .start_import(&scope, vec![draft.clone()], false, false)
        .await
        .expect("import");
    let job = app.wait_for_import(&scope, &job.id).await;
    let evs = events(&app, &op.id).await;
    assert_eq!(
        evs.iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["product.created", "import.finished"]
    );
    let id = &evs[0].entity_id;
    let auth = common::bearer(&token);
    let got = app
        .get(
            &format!("/api/v1/sellers/{}/products/{id}", seller.id),
            &auth,
        )
        .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(evs[0].payload_value(), got.body);
    assert_eq!(evs[1].entity_id, job.id);
    assert_eq!(evs[1].payload_value()["state"], "finished");
    assert_eq!(evs[1].payload_value()["succeeded"], 1);

    // An update shows the product as replaced, created when it was.
    let mut again = draft.clone();
    again.fields.info.name = "Camiseta Nova".into();
    again.fields.stock.pop();
    let job = app
        .app()
        .start_import(&scope, vec![again], false, false)
        .await
        .expect("import");
    app.wait_for_import(&scope, &job.id).await;
    let evs = events(&app, &op.id).await;
    assert_eq!(evs[2].event_type, "product.updated");
    let got = app
        .get(
            &format!("/api/v1/sellers/{}/products/{id}", seller.id),
            &auth,
        )
        .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(evs[2].payload_value(), got.body);
}
