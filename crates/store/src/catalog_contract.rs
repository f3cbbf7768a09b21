//! The catalog's storage contract suite: what every backend's
//! [`CatalogStore`](crate::CatalogStore) shows, written once against the trait alone.
//!
//! A backend's `tests/catalog.rs` calls
//! [`catalog_contract_tests!`](crate::catalog_contract_tests) with an async expression
//! opening a fresh, empty store (`Option<impl Deref<Target = Arc<dyn Store>>>`, `None`
//! when the backend is not configured: the cases then say so and pass). Changes are
//! built here by hand, as a use case would decide them, so each case states exactly
//! what the store is handed and what it must answer; times are fixed values, never
//! the clock.
//!
//! What the trait leaves open and this suite pins: a listing sorted by name sorts by
//! the folded name (`Ábaco` before `bolsa`); sorted by name or price it breaks ties
//! by id in the sort's own direction; a product with no price sorts as the cheapest
//! (first ascending, last descending) and never matches a price bound; entity
//! listings come by id and import jobs newest first (`created_at`, then id);
//! a uniqueness clash's message names the field (`sku`, `externalId`, `name`);
//! `find_products` returns a product once however many keys name it; `import_errors`
//! and `import_products` of a job outside the scope are `NotFound`; a lease runs
//! until its instant, so a job is claimable again only once `now` is past it; the id
//! of a deleted product is never given to another.

use std::sync::Arc;

use entreposto_domain::search::fold;
use entreposto_domain::*;

use crate::fixtures::{full_product_draft, world, World};
use crate::NAME_COUNT_CAP;
use crate::{
    CatalogChange, CatalogSaved, EntityFilter, ImportState, ImportStep, Link, NewBrand,
    NewCategory, NewImportJob, NewParty, PriceWrite, ProductDelete, ProductFilter, ProductKey,
    ProductOrder, ProductWrite, RowOutcome, StockWrite, Store, StoreError,
};

/// Expands to one `#[tokio::test]` per catalog contract case. `$open` is an async
/// expression yielding `Option<impl Deref<Target = Arc<dyn Store>>>`.
#[macro_export]
macro_rules! catalog_contract_tests {
    ($open:expr) => {
        $crate::catalog_contract_tests!(@case $open, a_full_draft_round_trips);
        $crate::catalog_contract_tests!(@case $open, new_categories_link_by_index);
        $crate::catalog_contract_tests!(@case $open, a_write_replaces_the_whole_product);
        $crate::catalog_contract_tests!(@case $open, uniqueness_clashes_conflict_and_write_nothing);
        $crate::catalog_contract_tests!(@case $open, a_stale_write_is_refused_and_writes_nothing);
        $crate::catalog_contract_tests!(@case $open, another_sellers_rows_are_not_found);
        $crate::catalog_contract_tests!(@case $open, a_write_needs_a_seller);
        $crate::catalog_contract_tests!(@case $open, listing_filters);
        $crate::catalog_contract_tests!(@case $open, listing_orders_and_pages);
        $crate::catalog_contract_tests!(@case $open, sellers_never_see_each_other);
        $crate::catalog_contract_tests!(@case $open, stock_and_price_writes);
        $crate::catalog_contract_tests!(@case $open, entity_listings_and_siblings);
        $crate::catalog_contract_tests!(@case $open, containers_of_lists_kits_and_groups);
        $crate::catalog_contract_tests!(@case $open, a_delete_is_guarded_by_its_version);
        $crate::catalog_contract_tests!(@case $open, import_steps_follow_the_cursor);
        $crate::catalog_contract_tests!(@case $open, import_jobs_are_claimed_under_a_lease);
        $crate::catalog_contract_tests!(@case $open, bulk_import_inserts_simple_products);
        $crate::catalog_contract_tests!(@case $open, name_counts_stop_past_the_cap);
        $crate::catalog_contract_tests!(@case $open, name_searches_agree_with_a_scan);
    };
    (@case $open:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            match $open.await {
                Some(store) => {
                    $crate::catalog_contract::$name(std::sync::Arc::clone(&*store)).await
                }
                None => eprintln!("skipped: the backend under test is not configured"),
            }
        }
    };
}

/// The instant most cases write at, and later ones.
const T0: Timestamp = Timestamp(1_700_000_000_000_000);

fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * 1_000_000)
}

fn scope_of(w: &World, seller: &Seller) -> Scope {
    Scope::seller(&w.operator.id, &seller.id)
}

/// Complete fields of a simple product (one stock location, a price).
pub fn simple_fields(name: &str, price: Option<i64>) -> ProductFields {
    ProductFields {
        info: ProductInfo {
            name: name.into(),
            subtitle: format!("{name} (subtítulo)"),
            active: true,
            model: "M1".into(),
            ..Default::default()
        },
        stock: vec![StockLevel {
            location: Location::default(),
            quantity: 5,
            minimum: 1,
            status: None,
        }],
        price: price.map(|v| Price {
            list: Cents(v + 1000),
            value: Cents(v),
            expires_at: None,
        }),
        dimensions: Some(Dimensions {
            height: 1.0,
            width: 2.0,
            length: 3.0,
            weight_grams: 100,
        }),
        ..Default::default()
    }
}

/// A new product with no links.
pub fn new_write(sku: &str, kind: ProductKind, fields: ProductFields) -> ProductWrite {
    ProductWrite {
        existing: None,
        sku: sku.into(),
        kind,
        fields,
        categories: vec![],
        brand: None,
        manufacturer: None,
        collections: vec![],
        events: vec![CatalogEvent::ProductCreated],
    }
}

/// The parts list of a kit or group, by SKU and units.
fn parts(of: &[(&str, i64)]) -> Vec<ProductPart> {
    of.iter()
        .map(|(sku, quantity)| ProductPart {
            sku: (*sku).into(),
            kind: ProductKind::Simple,
            quantity: *quantity,
        })
        .collect()
}

fn party(name: &str, external_id: Option<&str>) -> NewParty {
    NewParty {
        name: name.into(),
        external_id: external_id.map(Into::into),
        image_source: None,
    }
}

fn category(name: &str, parent: Option<Link>, external_id: Option<&str>) -> NewCategory {
    NewCategory {
        parent,
        name: name.into(),
        description: None,
        slug: slugify(name),
        keywords: None,
        image_source: None,
        external_id: external_id.map(Into::into),
    }
}

/// Appends `c` and its parents (parents first) to the change's new categories, as a
/// use case would when none of them exists yet; returns the link to `c`.
fn push_category(change: &mut CatalogChange, c: &CategoryRef) -> Link {
    let parent = c.parent.as_deref().map(|p| push_category(change, p));
    let name = c.name.clone().unwrap_or_default();
    change.new_categories.push(NewCategory {
        parent,
        slug: c.slug.clone().unwrap_or_else(|| slugify(&name)),
        name,
        description: c.description.clone(),
        keywords: c.keywords.clone(),
        image_source: c.image_source.clone(),
        external_id: c.external_id.clone(),
    });
    Link::New(change.new_categories.len() - 1)
}

fn new_party(p: &PartyRef) -> NewParty {
    NewParty {
        name: p.name.clone().unwrap_or_default(),
        external_id: p.external_id.clone(),
        image_source: p.image_source.clone(),
    }
}

/// The change that creates `draft` with everything it names, all of it new: its
/// categories under their parents, its brand with its manufacturer (also linked by the
/// product), its collections.
pub fn change_from_draft(draft: &ProductDraft, now: Timestamp) -> CatalogChange {
    let mut change = CatalogChange {
        now,
        ..Default::default()
    };
    let categories = draft
        .categories
        .iter()
        .map(|c| push_category(&mut change, c))
        .collect();
    let (mut brand, mut manufacturer) = (None, None);
    if let Some(b) = &draft.brand {
        if let Some(m) = &b.manufacturer {
            change.new_manufacturers.push(new_party(m));
            manufacturer = Some(Link::New(change.new_manufacturers.len() - 1));
        }
        change.new_brands.push(NewBrand {
            party: new_party(&b.info),
            manufacturer,
        });
        brand = Some(Link::New(change.new_brands.len() - 1));
    }
    let collections = draft
        .collections
        .iter()
        .map(|c| {
            change.new_collections.push(new_party(c));
            Link::New(change.new_collections.len() - 1)
        })
        .collect();
    change.products.push(ProductWrite {
        existing: None,
        sku: draft.sku.clone().expect("a draft with a sku"),
        kind: draft.kind.expect("a draft with a type"),
        fields: draft.fields.clone(),
        categories,
        brand,
        manufacturer,
        collections,
        events: vec![CatalogEvent::ProductCreated],
    });
    change
}

/// One change writing `writes` at `now`.
fn writes(now: Timestamp, products: Vec<ProductWrite>) -> CatalogChange {
    CatalogChange {
        now,
        products,
        ..Default::default()
    }
}

/// Saves new products with no links; returns their ids.
async fn create(store: &dyn Store, scope: &Scope, products: Vec<ProductWrite>) -> Vec<i64> {
    store
        .save_catalog(scope, writes(T0, products))
        .await
        .expect("products saved")
        .products
}

async fn product(store: &dyn Store, scope: &Scope, id: i64) -> Product {
    store
        .get_product(scope, &ProductKey::Id(id))
        .await
        .expect("product")
}

fn is_conflict_naming(r: &crate::Result<CatalogSaved>, what: &str) -> bool {
    matches!(r, Err(StoreError::Conflict(m)) if m.to_lowercase().contains(&what.to_lowercase()))
}

fn all(filter: ProductFilter) -> ProductFilter {
    ProductFilter {
        limit: 1000,
        ..filter
    }
}

/// A filter's SKUs, in listing order, and its count (which must agree).
async fn skus(store: &dyn Store, scope: &Scope, filter: ProductFilter) -> Vec<String> {
    let listed: Vec<String> = store
        .list_products(scope, &filter)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.data.sku)
        .collect();
    if filter.offset == 0 && (listed.len() as u64) < u64::from(filter.limit) {
        let counted = store.count_products(scope, &filter).await.expect("count");
        assert_eq!(counted, listed.len() as u64, "count of {filter:?}");
    }
    listed
}

/// A full draft round-trips every field, through every key; its new category hangs
/// under its new parent and the listing's links are the ones written.
pub async fn a_full_draft_round_trips(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let draft = full_product_draft("CB-01");
    let saved = store
        .save_catalog(&scope, change_from_draft(&draft, T0))
        .await
        .unwrap();
    assert_eq!(saved.categories.len(), 2);
    assert_eq!(
        (
            saved.manufacturers.len(),
            saved.brands.len(),
            saved.collections.len()
        ),
        (1, 1, 1)
    );
    assert_eq!(saved.products.len(), 1);
    let (moda, camisetas) = (saved.categories[0], saved.categories[1]);

    let p = product(store, &scope, saved.products[0]).await;
    assert_eq!(p.id, saved.products[0]);
    assert_eq!(p.operator_id, w.operator.id);
    assert_eq!(p.seller_id, w.seller_a.id);
    assert_eq!((p.version, p.created_at, p.updated_at), (1, T0, T0));
    assert_eq!(
        p.data,
        ProductData {
            sku: "CB-01".into(),
            kind: ProductKind::Simple,
            fields: draft.fields.clone(),
            category_ids: vec![camisetas],
            brand_id: Some(saved.brands[0]),
            manufacturer_id: Some(saved.manufacturers[0]),
            collection_ids: vec![saved.collections[0]],
        }
    );
    for key in [
        ProductKey::Sku("CB-01".into()),
        ProductKey::ExternalId("ext-CB-01".into()),
    ] {
        assert_eq!(store.get_product(&scope, &key).await.unwrap(), p, "{key:?}");
    }
    assert!(matches!(
        store
            .get_product(&scope, &ProductKey::Sku("cb-01".into()))
            .await,
        Err(StoreError::NotFound)
    ));

    let cats = store
        .list_categories(&scope, &EntityFilter::default())
        .await
        .unwrap();
    assert_eq!(
        cats,
        vec![
            Category {
                id: moda,
                seller_id: w.seller_a.id.clone(),
                parent_id: None,
                name: "Moda".into(),
                description: None,
                slug: "moda".into(),
                keywords: None,
                image_source: None,
                external_id: Some("cat-moda".into()),
            },
            Category {
                id: camisetas,
                seller_id: w.seller_a.id.clone(),
                parent_id: Some(moda),
                name: "Camisetas".into(),
                description: None,
                slug: "camisetas".into(),
                keywords: None,
                image_source: None,
                external_id: Some("cat-camisetas".into()),
            },
        ]
    );
    let links = store
        .links_of(&scope, std::slice::from_ref(&p))
        .await
        .unwrap();
    assert_eq!(
        links.categories.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![camisetas]
    );
    assert_eq!(
        links.brands,
        vec![Brand {
            id: saved.brands[0],
            seller_id: w.seller_a.id.clone(),
            name: "Marca Boa".into(),
            external_id: Some("brand-1".into()),
            image_source: None,
            manufacturer_id: Some(saved.manufacturers[0]),
        }]
    );
    assert_eq!(
        links.manufacturers,
        vec![Manufacturer {
            id: saved.manufacturers[0],
            seller_id: w.seller_a.id.clone(),
            name: "Fábrica Boa".into(),
            external_id: Some("maker-1".into()),
            image_source: None,
        }]
    );
    assert_eq!(
        links.collections,
        vec![Collection {
            id: saved.collections[0],
            seller_id: w.seller_a.id.clone(),
            name: "Verão".into(),
            external_id: None,
        }]
    );

    // Mixed keys, one of them missing, two naming the same product: it comes once.
    let found = store
        .find_products(
            &scope,
            &[
                ProductKey::Id(p.id),
                ProductKey::Sku("CB-01".into()),
                ProductKey::ExternalId("ext-CB-01".into()),
                ProductKey::Sku("NOPE".into()),
                ProductKey::Id(p.id + 1000),
            ],
        )
        .await
        .unwrap();
    assert_eq!(found, vec![p.clone()]);

    // A group with no price and a kit round-trip too (parts, no stock, no price).
    let mut group = full_product_draft("GR-01");
    group.kind = Some(ProductKind::Group);
    group.fields.external_id = None;
    group.fields.seo.url = None;
    group.fields.stock.clear();
    group.fields.price = None;
    group.fields.parts = parts(&[("CB-01", 1)]);
    let mut kit = simple_fields("Kit", Some(100));
    kit.stock.clear();
    kit.parts = parts(&[("CB-01", 3), ("OUTRO", 1)]);
    let ids = create(
        store,
        &scope,
        vec![
            new_write("GR-01", ProductKind::Group, group.fields.clone()),
            new_write("KIT-01", ProductKind::Kit, kit.clone()),
        ],
    )
    .await;
    let g = product(store, &scope, ids[0]).await;
    assert_eq!(
        (g.data.kind, &g.data.fields),
        (ProductKind::Group, &group.fields)
    );
    assert!(g.data.category_ids.is_empty() && g.data.brand_id.is_none());
    let k = product(store, &scope, ids[1]).await;
    assert_eq!((k.data.kind, &k.data.fields), (ProductKind::Kit, &kit));
}

/// New categories nest under new ones by index and under existing ones by id; a
/// product links new and existing categories, in the order given.
pub async fn new_categories_link_by_index(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let first = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: T0,
                new_categories: vec![category("Casa", None, Some("casa"))],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let casa = first.categories[0];
    let mut p = new_write("P-1", ProductKind::Simple, simple_fields("Vaso", Some(100)));
    p.categories = vec![Link::New(2), Link::Existing(casa), Link::New(0)];
    let saved = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(1),
                new_categories: vec![
                    category("Decoração", Some(Link::Existing(casa)), None),
                    category("Vasos", Some(Link::New(0)), None),
                    category("Vasos de Barro", Some(Link::New(1)), None),
                    // The same name as a category elsewhere in the tree is no clash.
                    category("Vasos", None, None),
                ],
                products: vec![p],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let [decoracao, vasos, barro, vasos_root] = saved.categories[..] else {
        panic!("four new categories, got {:?}", saved.categories);
    };
    let cats = store
        .list_categories(&scope, &EntityFilter::default())
        .await
        .unwrap();
    let parent_of = |id: i64| cats.iter().find(|c| c.id == id).map(|c| c.parent_id);
    assert_eq!(parent_of(decoracao), Some(Some(casa)));
    assert_eq!(parent_of(vasos), Some(Some(decoracao)));
    assert_eq!(parent_of(barro), Some(Some(vasos)));
    assert_eq!(parent_of(vasos_root), Some(None));
    let p = product(store, &scope, saved.products[0]).await;
    assert_eq!(p.data.category_ids, vec![barro, casa, decoracao]);

    // A link to a category of another seller is refused: nothing of the change lands.
    let other = store
        .save_catalog(
            &scope_of(&w, &w.seller_b),
            CatalogChange {
                now: T0,
                new_categories: vec![category("Alheia", None, None)],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .categories[0];
    for change in [
        CatalogChange {
            now: at(2),
            new_categories: vec![
                category("Nova", None, None),
                category("Filha", Some(Link::Existing(other)), None),
            ],
            ..Default::default()
        },
        CatalogChange {
            now: at(2),
            new_categories: vec![category("Nova", None, None)],
            products: vec![ProductWrite {
                categories: vec![Link::Existing(other)],
                ..new_write("P-2", ProductKind::Simple, simple_fields("X", Some(1)))
            }],
            ..Default::default()
        },
    ] {
        assert!(matches!(
            store.save_catalog(&scope, change).await,
            Err(StoreError::NotFound)
        ));
    }
    let after = store
        .list_categories(&scope, &EntityFilter::default())
        .await
        .unwrap();
    assert_eq!(after.len(), 5, "{after:?}");
    assert!(matches!(
        store
            .get_product(&scope, &ProductKey::Sku("P-2".into()))
            .await,
        Err(StoreError::NotFound)
    ));
}

/// An update replaces the body, the columns, every stock level, the links and the
/// parts; the version moves by one and `updated_at` is the change's time.
pub async fn a_write_replaces_the_whole_product(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let saved = store
        .save_catalog(&scope, change_from_draft(&full_product_draft("CB-01"), T0))
        .await
        .unwrap();
    let id = saved.products[0];
    let mut kit = simple_fields("Kit Praia", Some(7000));
    kit.external_id = Some("ext-novo".into());
    kit.stock = vec![StockLevel {
        location: Location {
            id: 7,
            name: Some("Loja".into()),
        },
        quantity: 1,
        minimum: 0,
        status: Some(StockStatus::NoStock),
    }];
    kit.parts = parts(&[("A", 2)]);
    let update = ProductWrite {
        existing: Some((id, 1)),
        sku: "KIT-PRAIA".into(),
        kind: ProductKind::Kit,
        fields: kit.clone(),
        categories: vec![Link::Existing(saved.categories[0])],
        brand: None,
        manufacturer: None,
        collections: vec![],
        events: vec![CatalogEvent::ProductUpdated],
    };
    let again = store
        .save_catalog(&scope, writes(at(5), vec![update]))
        .await
        .unwrap();
    assert_eq!(again.products, vec![id]);
    let p = product(store, &scope, id).await;
    assert_eq!((p.version, p.created_at, p.updated_at), (2, T0, at(5)));
    assert_eq!(
        p.data,
        ProductData {
            sku: "KIT-PRAIA".into(),
            kind: ProductKind::Kit,
            fields: kit,
            category_ids: vec![saved.categories[0]],
            brand_id: None,
            manufacturer_id: None,
            collection_ids: vec![],
        }
    );
    // The old keys, name, URL and links no longer find it; the new ones do.
    for gone in [
        ProductKey::Sku("CB-01".into()),
        ProductKey::ExternalId("ext-CB-01".into()),
    ] {
        assert!(store.get_product(&scope, &gone).await.is_err(), "{gone:?}");
    }
    let by = |f: ProductFilter| skus(store, &scope, all(f));
    assert!(by(ProductFilter {
        name: Some("camiseta".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        by(ProductFilter {
            name: Some("praia".into()),
            ..Default::default()
        })
        .await,
        ["KIT-PRAIA"]
    );
    assert!(by(ProductFilter {
        collection_id: Some(saved.collections[0]),
        ..Default::default()
    })
    .await
    .is_empty());
    assert!(by(ProductFilter {
        brand: Some("marca".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    assert!(by(ProductFilter {
        url: Some("camiseta-cb-01".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        by(ProductFilter {
            category_name: Some("moda".into()),
            ..Default::default()
        })
        .await,
        ["KIT-PRAIA"]
    );
    let containers = store.containers_of(&scope, &["A".into()]).await.unwrap();
    assert_eq!(
        containers,
        vec![("A".into(), "KIT-PRAIA".into(), ProductKind::Kit)]
    );
    // The SKU it left is free again.
    create(
        store,
        &scope,
        vec![new_write(
            "CB-01",
            ProductKind::Simple,
            simple_fields("Nova", Some(1)),
        )],
    )
    .await;
}

/// A SKU, an external id or a sibling category's name already taken makes the whole
/// change `Conflict`, naming what clashed, and nothing of it is written: not the
/// categories it created before the clashing product, nor its other products.
pub async fn uniqueness_clashes_conflict_and_write_nothing(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let mut first = simple_fields("Camiseta", Some(100));
    first.external_id = Some("E-1".into());
    let saved = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: T0,
                new_categories: vec![category("Camisetas", None, Some("cat-1"))],
                new_brands: vec![NewBrand {
                    party: party("Marca", Some("brand-1")),
                    manufacturer: None,
                }],
                products: vec![new_write("SKU-1", ProductKind::Simple, first)],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let before = (
        store
            .list_categories(&scope, &EntityFilter::default())
            .await
            .unwrap(),
        store
            .count_products(&scope, &ProductFilter::default())
            .await
            .unwrap(),
    );

    let with_new_category = |products: Vec<ProductWrite>| CatalogChange {
        now: at(1),
        new_categories: vec![category("Nova Categoria", None, Some("cat-nova"))],
        products,
        ..Default::default()
    };
    let fresh = |sku: &str| new_write(sku, ProductKind::Simple, simple_fields("Outra", Some(5)));
    let mut ext_taken = fresh("SKU-2");
    ext_taken.fields.external_id = Some("E-1".into());
    let cases: Vec<(CatalogChange, &str)> = vec![
        (
            with_new_category(vec![fresh("SKU-OK"), fresh("SKU-1")]),
            "sku",
        ),
        (
            with_new_category(vec![fresh("SKU-3"), fresh("SKU-3")]),
            "sku",
        ),
        (with_new_category(vec![ext_taken]), "externalId"),
        (
            CatalogChange {
                now: at(1),
                new_categories: vec![
                    category("Nova Categoria", None, None),
                    // Folded, the name of the existing root category.
                    category("CAMISÉTAS", None, None),
                ],
                products: vec![fresh("SKU-4")],
                ..Default::default()
            },
            "name",
        ),
        (
            CatalogChange {
                now: at(1),
                new_categories: vec![category("Outra Raiz", None, Some("cat-1"))],
                ..Default::default()
            },
            "externalId",
        ),
        (
            CatalogChange {
                now: at(1),
                new_brands: vec![NewBrand {
                    party: party("marca", None),
                    manufacturer: None,
                }],
                products: vec![fresh("SKU-5")],
                ..Default::default()
            },
            "name",
        ),
        (
            CatalogChange {
                now: at(1),
                new_manufacturers: vec![party("Fábrica", Some("m-1")), party("Outra", Some("m-1"))],
                ..Default::default()
            },
            "externalId",
        ),
        (
            CatalogChange {
                now: at(1),
                new_collections: vec![party("Verão", None), party("VERAO", None)],
                ..Default::default()
            },
            "name",
        ),
    ];
    for (n, (change, what)) in cases.into_iter().enumerate() {
        let r = store.save_catalog(&scope, change).await;
        assert!(
            is_conflict_naming(&r, what),
            "case {n}: {r:?} should name {what}"
        );
        let now = (
            store
                .list_categories(&scope, &EntityFilter::default())
                .await
                .unwrap(),
            store
                .count_products(&scope, &ProductFilter::default())
                .await
                .unwrap(),
        );
        assert_eq!(now, before, "case {n} wrote something");
    }
    assert!(store
        .list_brands(&scope, &EntityFilter::default())
        .await
        .unwrap()
        .iter()
        .all(|b| b.id == saved.brands[0]));
    assert!(store
        .list_manufacturers(&scope, &EntityFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_collections(&scope, &EntityFilter::default())
        .await
        .unwrap()
        .is_empty());

    // The same keys and names at another seller are no clash.
    let mut twin = simple_fields("Camiseta", Some(100));
    twin.external_id = Some("E-1".into());
    store
        .save_catalog(
            &scope_of(&w, &w.seller_b),
            CatalogChange {
                now: T0,
                new_categories: vec![category("Camisetas", None, Some("cat-1"))],
                products: vec![new_write("SKU-1", ProductKind::Simple, twin)],
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// A product write or delete decided on a version the product no longer has is
/// `Stale`, and nothing of its change is written.
pub async fn a_stale_write_is_refused_and_writes_nothing(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let id = create(
        store,
        &scope,
        vec![new_write(
            "SKU-1",
            ProductKind::Simple,
            simple_fields("Primeira", Some(100)),
        )],
    )
    .await[0];
    let update = |version: i64, name: &str| ProductWrite {
        existing: Some((id, version)),
        ..new_write("SKU-1", ProductKind::Simple, simple_fields(name, Some(200)))
    };
    store
        .save_catalog(&scope, writes(at(1), vec![update(1, "Segunda")]))
        .await
        .unwrap();
    let winner = product(store, &scope, id).await;
    assert_eq!((winner.version, winner.updated_at), (2, at(1)));

    let stale = [
        CatalogChange {
            now: at(2),
            new_categories: vec![category("Criada Antes", None, None)],
            products: vec![
                new_write("SKU-NOVO", ProductKind::Simple, simple_fields("N", Some(1))),
                update(1, "Perdedora"),
            ],
            ..Default::default()
        },
        CatalogChange {
            now: at(2),
            new_brands: vec![NewBrand {
                party: party("Marca Nova", None),
                manufacturer: None,
            }],
            deletes: vec![ProductDelete {
                product_id: id,
                version: 1,
                events: vec![CatalogEvent::ProductDeleted],
            }],
            ..Default::default()
        },
    ];
    for change in stale {
        assert!(matches!(
            store.save_catalog(&scope, change).await,
            Err(StoreError::Stale)
        ));
    }
    assert_eq!(product(store, &scope, id).await, winner);
    assert!(store
        .get_product(&scope, &ProductKey::Sku("SKU-NOVO".into()))
        .await
        .is_err());
    assert!(store
        .list_categories(&scope, &EntityFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_brands(&scope, &EntityFilter::default())
        .await
        .unwrap()
        .is_empty());
    // Decided on the current version, it lands.
    store
        .save_catalog(&scope, writes(at(3), vec![update(2, "Terceira")]))
        .await
        .unwrap();
    let p = product(store, &scope, id).await;
    assert_eq!(
        (p.version, p.data.fields.info.name.as_str()),
        (3, "Terceira")
    );
}

/// Every product id and link of a change is checked to be the scope's seller's: a
/// change naming another seller's product (update, stock, price, delete) or entity is
/// `NotFound`, under a forged scope too, and writes nothing.
pub async fn another_sellers_rows_are_not_found(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let other = world(store).await;
    let scope_a = scope_of(&w, &w.seller_a);
    let saved = store
        .save_catalog(&scope_a, change_from_draft(&full_product_draft("A-1"), T0))
        .await
        .unwrap();
    let id = saved.products[0];
    let before = product(store, &scope_a, id).await;
    let update = ProductWrite {
        existing: Some((id, 1)),
        ..new_write(
            "A-1",
            ProductKind::Simple,
            simple_fields("Intrusa", Some(1)),
        )
    };
    let price = Price {
        list: Cents(1),
        value: Cents(1),
        expires_at: None,
    };
    let changes = |now| {
        let base = CatalogChange {
            now,
            new_collections: vec![party("Coleção B", None)],
            ..Default::default()
        };
        vec![
            CatalogChange {
                products: vec![update.clone()],
                ..base.clone()
            },
            CatalogChange {
                stock: vec![StockWrite {
                    product_id: id,
                    levels: vec![StockLevel::default()],
                    events: vec![],
                }],
                ..base.clone()
            },
            CatalogChange {
                prices: vec![PriceWrite {
                    product_id: id,
                    price,
                    events: vec![],
                }],
                ..base.clone()
            },
            CatalogChange {
                deletes: vec![ProductDelete {
                    product_id: id,
                    version: 1,
                    events: vec![CatalogEvent::ProductDeleted],
                }],
                ..base.clone()
            },
            CatalogChange {
                products: vec![ProductWrite {
                    brand: Some(Link::Existing(saved.brands[0])),
                    ..new_write("B-1", ProductKind::Simple, simple_fields("B", Some(1)))
                }],
                ..base.clone()
            },
            CatalogChange {
                products: vec![ProductWrite {
                    manufacturer: Some(Link::Existing(saved.manufacturers[0])),
                    ..new_write("B-1", ProductKind::Simple, simple_fields("B", Some(1)))
                }],
                ..base.clone()
            },
            CatalogChange {
                products: vec![ProductWrite {
                    collections: vec![Link::Existing(saved.collections[0])],
                    ..new_write("B-1", ProductKind::Simple, simple_fields("B", Some(1)))
                }],
                ..base.clone()
            },
            CatalogChange {
                new_brands: vec![NewBrand {
                    party: party("Marca B", None),
                    manufacturer: Some(Link::Existing(saved.manufacturers[0])),
                }],
                ..base.clone()
            },
        ]
    };
    for wrong in [
        scope_of(&w, &w.seller_b),
        Scope::seller(&other.operator.id, &w.seller_a.id),
    ] {
        for (n, change) in changes(at(1)).into_iter().enumerate() {
            let r = store.save_catalog(&wrong, change).await;
            assert!(
                matches!(r, Err(StoreError::NotFound)),
                "{wrong:?} case {n}: {r:?}"
            );
        }
    }
    assert_eq!(product(store, &scope_a, id).await, before);
    for scope in [scope_a.clone(), scope_of(&w, &w.seller_b)] {
        assert_eq!(
            store
                .list_collections(&scope, &EntityFilter::default())
                .await
                .unwrap()
                .len(),
            usize::from(scope == scope_a),
            "{scope:?}"
        );
    }
}

/// Writes carry the scope's seller: an operator's scope cannot write the catalog.
pub async fn a_write_needs_a_seller(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let op = Scope::operator(&w.operator.id);
    let r = store
        .save_catalog(&op, change_from_draft(&full_product_draft("X-1"), T0))
        .await;
    assert!(matches!(r, Err(StoreError::Other(_))), "{r:?}");
    let job = NewImportJob {
        id: crate::new_id(),
        verify_categories: false,
        verify_brands: false,
        rows: vec![full_product_draft("X-1")],
        created_at: T0,
    };
    assert!(matches!(
        store.create_import_job(&op, job).await,
        Err(StoreError::Other(_))
    ));
    assert!(matches!(
        store
            .import_products_bulk(&op, &[("X-1".into(), simple_fields("X", Some(1)))], T0)
            .await,
        Err(StoreError::Other(_))
    ));
    assert_eq!(
        store
            .count_products(&op, &ProductFilter::default())
            .await
            .unwrap(),
        0
    );
}

/// (sku, name, kind, price, brand, categories, collections) of a product of [`shop`].
type ShopRow<'a> = (
    &'a str,
    &'a str,
    ProductKind,
    Option<i64>,
    Option<usize>,
    &'a [usize],
    &'a [usize],
);

/// The catalog the listing cases run on, for seller A: (sku, name, kind, price,
/// brand, categories, collections), with an external id `ext-{sku}` and URL
/// `url-{sku}` each.
struct Shop {
    scope: Scope,
    verao: i64,
}

async fn shop(store: &dyn Store, w: &World) -> Shop {
    let scope = scope_of(w, &w.seller_a);
    let rows: [ShopRow; 8] = [
        (
            "CAM-1",
            "Camiseta Básica Algodão",
            ProductKind::Simple,
            Some(4999),
            Some(0),
            &[0],
            &[0],
        ),
        (
            "CAM-10",
            "Camiseta Gola V",
            ProductKind::Simple,
            Some(5999),
            Some(0),
            &[0],
            &[],
        ),
        (
            "CAL-1",
            "Calça Jeans",
            ProductKind::Simple,
            Some(12000),
            Some(1),
            &[1],
            &[1],
        ),
        (
            "KIT-1",
            "Kit Camisetas",
            ProductKind::Kit,
            Some(9000),
            None,
            &[0, 1],
            &[0],
        ),
        (
            "GRP-1",
            "Grupo Camiseta",
            ProductKind::Group,
            None,
            Some(0),
            &[0],
            &[],
        ),
        (
            "PE-1",
            "Pé de Moleque",
            ProductKind::Simple,
            Some(300),
            None,
            &[],
            &[],
        ),
        (
            "DSC-1",
            "Desconto 100% Algodão",
            ProductKind::Simple,
            Some(9000),
            None,
            &[],
            &[],
        ),
        (
            "CAM-X",
            "Camisa 100x Algodão",
            ProductKind::Simple,
            Some(8000),
            None,
            &[],
            &[1],
        ),
    ];
    let products = rows
        .iter()
        .map(|(sku, name, kind, price, brand, cats, colls)| {
            let mut fields = simple_fields(name, *price);
            fields.external_id = Some(format!("ext-{sku}"));
            fields.seo.url = Some(format!("url-{sku}"));
            if *kind != ProductKind::Simple {
                fields.stock.clear();
                fields.parts = parts(&[("CAM-1", 1)]);
            }
            ProductWrite {
                brand: brand.map(Link::New),
                categories: cats.iter().map(|&c| Link::New(c)).collect(),
                collections: colls.iter().map(|&c| Link::New(c)).collect(),
                ..new_write(sku, *kind, fields)
            }
        })
        .collect();
    let saved = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: T0,
                new_categories: vec![
                    category("Camisetas", None, None),
                    category("Calças e Bermudas", None, None),
                ],
                new_brands: vec![
                    NewBrand {
                        party: party("Marca Boa", None),
                        manufacturer: None,
                    },
                    NewBrand {
                        party: party("Jeans & Cia", None),
                        manufacturer: None,
                    },
                ],
                new_collections: vec![party("Verão", None), party("Inverno", None)],
                products,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    Shop {
        scope,
        verao: saved.collections[0],
    }
}

/// Every filter of the listing, alone and together, in the listing and the count.
pub async fn listing_filters(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let shop = shop(store, &w).await;
    let cases: Vec<(ProductFilter, Vec<&str>)> = vec![
        (
            ProductFilter::default(),
            vec![
                "CAM-1", "CAM-10", "CAL-1", "KIT-1", "GRP-1", "PE-1", "DSC-1", "CAM-X",
            ],
        ),
        // Contained in the folded name, so accents and case never matter.
        (
            ProductFilter {
                name: Some(fold("CAMISETA")),
                ..Default::default()
            },
            vec!["CAM-1", "CAM-10", "KIT-1", "GRP-1"],
        ),
        (
            ProductFilter {
                name: Some(fold("algodão")),
                ..Default::default()
            },
            vec!["CAM-1", "DSC-1", "CAM-X"],
        ),
        (
            ProductFilter {
                name: Some("a basica alg".into()),
                ..Default::default()
            },
            vec!["CAM-1"],
        ),
        // Fewer than three characters.
        (
            ProductFilter {
                name: Some(fold("Pé")),
                ..Default::default()
            },
            vec!["PE-1"],
        ),
        (
            ProductFilter {
                name: Some("v".into()),
                ..Default::default()
            },
            vec!["CAM-10"],
        ),
        // Wildcards of SQL are plain characters.
        (
            ProductFilter {
                name: Some("100%".into()),
                ..Default::default()
            },
            vec!["DSC-1"],
        ),
        (
            ProductFilter {
                name: Some("0%".into()),
                ..Default::default()
            },
            vec!["DSC-1"],
        ),
        (
            ProductFilter {
                name: Some("_".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            ProductFilter {
                name: Some("sapato".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            ProductFilter {
                brand: Some("boa".into()),
                ..Default::default()
            },
            vec!["CAM-1", "CAM-10", "GRP-1"],
        ),
        (
            ProductFilter {
                brand: Some(fold("JEANS &")),
                ..Default::default()
            },
            vec!["CAL-1"],
        ),
        (
            ProductFilter {
                sku: Some("CAM-1".into()),
                ..Default::default()
            },
            vec!["CAM-1"],
        ),
        (
            ProductFilter {
                sku: Some("cam-1".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            ProductFilter {
                external_id: Some("ext-CAL-1".into()),
                ..Default::default()
            },
            vec!["CAL-1"],
        ),
        (
            ProductFilter {
                category_name: Some(fold("calças")),
                ..Default::default()
            },
            vec!["CAL-1", "KIT-1"],
        ),
        (
            ProductFilter {
                category_name: Some("s".into()),
                ..Default::default()
            },
            vec!["CAM-1", "CAM-10", "CAL-1", "KIT-1", "GRP-1"],
        ),
        (
            ProductFilter {
                category_slug: Some("camisetas".into()),
                ..Default::default()
            },
            vec!["CAM-1", "CAM-10", "KIT-1", "GRP-1"],
        ),
        (
            ProductFilter {
                category_slug: Some("camiseta".into()),
                ..Default::default()
            },
            vec![],
        ),
        (
            ProductFilter {
                url: Some("url-PE-1".into()),
                ..Default::default()
            },
            vec!["PE-1"],
        ),
        (
            ProductFilter {
                collection_id: Some(shop.verao),
                ..Default::default()
            },
            vec!["CAM-1", "KIT-1"],
        ),
        (
            ProductFilter {
                collection_name: Some("inver".into()),
                ..Default::default()
            },
            vec!["CAL-1", "CAM-X"],
        ),
        (
            ProductFilter {
                collection_name: Some("verao".into()),
                ..Default::default()
            },
            vec!["CAM-1", "KIT-1"],
        ),
        // Price bounds; the group has no price and never matches one.
        (
            ProductFilter {
                price_lt: Some(Cents(9000)),
                ..Default::default()
            },
            vec!["CAM-1", "CAM-10", "PE-1", "CAM-X"],
        ),
        (
            ProductFilter {
                price_lte: Some(Cents(9000)),
                ..Default::default()
            },
            vec!["CAM-1", "CAM-10", "KIT-1", "PE-1", "DSC-1", "CAM-X"],
        ),
        (
            ProductFilter {
                price_gt: Some(Cents(9000)),
                ..Default::default()
            },
            vec!["CAL-1"],
        ),
        (
            ProductFilter {
                price_gte: Some(Cents(9000)),
                ..Default::default()
            },
            vec!["CAL-1", "KIT-1", "DSC-1"],
        ),
        (
            ProductFilter {
                price_gt: Some(Cents(300)),
                price_lte: Some(Cents(5999)),
                ..Default::default()
            },
            vec!["CAM-1", "CAM-10"],
        ),
        (
            ProductFilter {
                kind: Some(ProductKind::Kit),
                ..Default::default()
            },
            vec!["KIT-1"],
        ),
        (
            ProductFilter {
                kind: Some(ProductKind::Group),
                ..Default::default()
            },
            vec!["GRP-1"],
        ),
        // Together, every condition holds.
        (
            ProductFilter {
                kind: Some(ProductKind::Simple),
                name: Some("camiseta".into()),
                brand: Some("marca".into()),
                category_slug: Some("camisetas".into()),
                price_gte: Some(Cents(5000)),
                ..Default::default()
            },
            vec!["CAM-10"],
        ),
        (
            ProductFilter {
                name: Some("algodao".into()),
                collection_name: Some("inverno".into()),
                ..Default::default()
            },
            vec!["CAM-X"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            skus(store, &shop.scope, all(filter.clone())).await,
            expected,
            "{filter:?}"
        );
        // The operator sees its sellers' products through the same filters.
        assert_eq!(
            skus(store, &Scope::operator(&w.operator.id), all(filter.clone())).await,
            expected,
            "operator, {filter:?}"
        );
        // The count ignores paging.
        let paged = ProductFilter {
            offset: 1,
            limit: 1,
            ..filter.clone()
        };
        assert_eq!(
            store.count_products(&shop.scope, &paged).await.unwrap(),
            expected.len() as u64,
            "{filter:?}"
        );
    }
}

/// Every order, with ties broken by id in the order's direction, and offset paging.
pub async fn listing_orders_and_pages(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let mut group = simple_fields("bolsa", None);
    group.stock.clear();
    group.parts = parts(&[("B", 1)]);
    create(
        store,
        &scope,
        vec![
            new_write("B", ProductKind::Simple, simple_fields("Bolsa", Some(500))),
            new_write("A", ProductKind::Simple, simple_fields("Ábaco", Some(900))),
            new_write("C", ProductKind::Simple, simple_fields("Caneca", Some(500))),
            new_write("G", ProductKind::Group, group),
            new_write("D", ProductKind::Simple, simple_fields("dado", Some(100))),
        ],
    )
    .await;
    let ordered = |order| {
        all(ProductFilter {
            order,
            ..Default::default()
        })
    };
    for (order, expected) in [
        (ProductOrder::Id, ["B", "A", "C", "G", "D"]),
        (ProductOrder::NameAsc, ["A", "B", "G", "C", "D"]),
        (ProductOrder::NameDesc, ["D", "C", "G", "B", "A"]),
        // No price sorts as the cheapest.
        (ProductOrder::PriceAsc, ["G", "D", "B", "C", "A"]),
        (ProductOrder::PriceDesc, ["A", "C", "B", "D", "G"]),
    ] {
        assert_eq!(
            skus(store, &scope, ordered(order)).await,
            expected,
            "{order:?}"
        );
        // Pages of two, one after another, cover the listing once.
        let mut paged = Vec::new();
        for page in 0..3 {
            paged.extend(
                skus(
                    store,
                    &scope,
                    ProductFilter {
                        order,
                        offset: page * 2,
                        limit: 2,
                        ..Default::default()
                    },
                )
                .await,
            );
        }
        assert_eq!(paged, expected, "{order:?} by pages");
    }
    let deep = ProductFilter {
        offset: 5,
        limit: 10,
        ..Default::default()
    };
    assert!(skus(store, &scope, deep).await.is_empty());
    let filtered = ProductFilter {
        name: Some("ca".into()),
        order: ProductOrder::NameDesc,
        offset: 0,
        limit: 1,
        ..Default::default()
    };
    assert_eq!(skus(store, &scope, filtered).await, ["C"]);
}

/// Seller B, and another operator, never see seller A's catalog, whatever they ask.
pub async fn sellers_never_see_each_other(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let other = world(store).await;
    let scope_a = scope_of(&w, &w.seller_a);
    let mut draft = full_product_draft("A-1");
    draft.fields.parts = vec![];
    let saved = store
        .save_catalog(&scope_a, change_from_draft(&draft, T0))
        .await
        .unwrap();
    let mut kit = simple_fields("Kit A", Some(10));
    kit.parts = parts(&[("A-1", 1)]);
    create(
        store,
        &scope_a,
        vec![new_write("KIT-A", ProductKind::Kit, kit)],
    )
    .await;
    let job = store
        .create_import_job(
            &scope_a,
            NewImportJob {
                id: crate::new_id(),
                verify_categories: true,
                verify_brands: false,
                rows: vec![draft.clone()],
                created_at: T0,
            },
        )
        .await
        .unwrap();
    let p = product(store, &scope_a, saved.products[0]).await;
    assert!(!store
        .list_import_jobs(&scope_a, 10)
        .await
        .unwrap()
        .is_empty());

    for scope in [
        scope_of(&w, &w.seller_b),
        Scope::operator(&other.operator.id),
        Scope::seller(&other.operator.id, &w.seller_a.id),
    ] {
        for key in [
            ProductKey::Id(p.id),
            ProductKey::Sku("A-1".into()),
            ProductKey::ExternalId("ext-A-1".into()),
        ] {
            assert!(
                matches!(
                    store.get_product(&scope, &key).await,
                    Err(StoreError::NotFound)
                ),
                "{scope:?} {key:?}"
            );
        }
        let none = |what: &str, n: usize| assert_eq!(n, 0, "{scope:?} sees A's {what}");
        none(
            "products",
            store
                .find_products(
                    &scope,
                    &[ProductKey::Id(p.id), ProductKey::Sku("A-1".into())],
                )
                .await
                .unwrap()
                .len(),
        );
        for filter in [
            ProductFilter::default(),
            ProductFilter {
                name: Some("camiseta".into()),
                ..Default::default()
            },
            ProductFilter {
                sku: Some("A-1".into()),
                ..Default::default()
            },
            ProductFilter {
                collection_id: Some(saved.collections[0]),
                ..Default::default()
            },
        ] {
            none("listing", skus(store, &scope, all(filter)).await.len());
        }
        let every = EntityFilter::default();
        let by_id = |id| EntityFilter {
            id: Some(id),
            ..Default::default()
        };
        none(
            "categories",
            store.list_categories(&scope, &every).await.unwrap().len(),
        );
        none(
            "category by id",
            store
                .list_categories(&scope, &by_id(saved.categories[0]))
                .await
                .unwrap()
                .len(),
        );
        none(
            "brands",
            store
                .list_brands(&scope, &by_id(saved.brands[0]))
                .await
                .unwrap()
                .len(),
        );
        none(
            "manufacturers",
            store
                .list_manufacturers(&scope, &every)
                .await
                .unwrap()
                .len(),
        );
        none(
            "collections",
            store.list_collections(&scope, &every).await.unwrap().len(),
        );
        assert!(store
            .find_sibling_category(&scope, None, "moda")
            .await
            .unwrap()
            .is_none());
        let links = store
            .links_of(&scope, std::slice::from_ref(&p))
            .await
            .unwrap();
        assert_eq!(links, Default::default(), "{scope:?} sees A's links");
        none(
            "containers",
            store
                .containers_of(&scope, &["A-1".into()])
                .await
                .unwrap()
                .len(),
        );
        assert!(matches!(
            store.get_import_job(&scope, &job.id).await,
            Err(StoreError::NotFound)
        ));
        none(
            "jobs",
            store.list_import_jobs(&scope, 10).await.unwrap().len(),
        );
        assert!(matches!(
            store.import_errors(&scope, &job.id).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store.import_products(&scope, &job.id).await,
            Err(StoreError::NotFound)
        ));
    }
    // A's own operator sees A's product.
    assert_eq!(
        product(store, &Scope::operator(&w.operator.id), p.id).await,
        p
    );
}

/// A stock write sets the locations it names and keeps the others; a price write sets
/// the price. Both move the version and `updated_at`.
pub async fn stock_and_price_writes(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let saved = store
        .save_catalog(&scope, change_from_draft(&full_product_draft("CB-01"), T0))
        .await
        .unwrap();
    let id = saved.products[0];
    let before = product(store, &scope, id).await;
    let levels = vec![
        StockLevel {
            location: Location {
                id: 2,
                name: Some("CD São Paulo".into()),
            },
            quantity: 9,
            minimum: 1,
            status: None,
        },
        StockLevel {
            location: Location {
                id: 5,
                name: Some("CD Recife".into()),
            },
            quantity: 3,
            minimum: 0,
            status: Some(StockStatus::SellWithoutStock),
        },
    ];
    store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(1),
                stock: vec![StockWrite {
                    product_id: id,
                    levels: levels.clone(),
                    events: vec![CatalogEvent::StockSet],
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let p = product(store, &scope, id).await;
    assert_eq!(
        p.data.fields.stock,
        vec![
            before.data.fields.stock[0].clone(),
            levels[0].clone(),
            levels[1].clone()
        ]
    );
    assert_eq!((p.version, p.updated_at, p.created_at), (2, at(1), T0));
    let mut rest = p.data.clone();
    rest.fields.stock = before.data.fields.stock.clone();
    assert_eq!(rest, before.data, "a stock write changes only the stock");

    let price = Price {
        list: Cents(8000),
        value: Cents(7500),
        expires_at: None,
    };
    store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(2),
                prices: vec![PriceWrite {
                    product_id: id,
                    price,
                    events: vec![CatalogEvent::PriceSet],
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let q = product(store, &scope, id).await;
    assert_eq!(q.data.fields.price, Some(price));
    assert_eq!((q.version, q.updated_at), (3, at(2)));
    let mut rest = q.data.clone();
    rest.fields.price = p.data.fields.price;
    assert_eq!(rest, p.data, "a price write changes only the price");
    let by_price = |lo, hi| ProductFilter {
        price_gte: Some(Cents(lo)),
        price_lte: Some(Cents(hi)),
        ..all(ProductFilter::default())
    };
    assert_eq!(skus(store, &scope, by_price(7500, 7500)).await, ["CB-01"]);
    assert!(skus(store, &scope, by_price(4999, 4999)).await.is_empty());

    // A stock write for a product that does not exist is NotFound.
    let missing = CatalogChange {
        now: at(3),
        stock: vec![StockWrite {
            product_id: id + 1000,
            levels: levels.clone(),
            events: vec![],
        }],
        ..Default::default()
    };
    assert!(matches!(
        store.save_catalog(&scope, missing).await,
        Err(StoreError::NotFound)
    ));
    // A product update decided before the stock write is stale.
    let late = ProductWrite {
        existing: Some((id, 1)),
        ..new_write("CB-01", ProductKind::Simple, simple_fields("X", Some(1)))
    };
    assert!(matches!(
        store.save_catalog(&scope, writes(at(4), vec![late])).await,
        Err(StoreError::Stale)
    ));
}

/// Categories, brands, manufacturers and collections by id, external id and folded
/// name; a sibling category by parent and folded name.
pub async fn entity_listings_and_siblings(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let saved = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: T0,
                new_categories: vec![
                    NewCategory {
                        description: Some("Tudo de moda".into()),
                        keywords: Some("moda, roupa".into()),
                        image_source: Some("https://img.example.com/moda.jpg".into()),
                        ..category("Moda", None, Some("c-moda"))
                    },
                    category("Calçados", Some(Link::New(0)), Some("c-calcados")),
                    category("Calçados", None, None),
                ],
                new_manufacturers: vec![party("Fábrica Boa", Some("m-1"))],
                new_brands: vec![
                    NewBrand {
                        party: NewParty {
                            image_source: Some("https://img.example.com/b.png".into()),
                            ..party("Marca Boa", Some("b-1"))
                        },
                        manufacturer: Some(Link::New(0)),
                    },
                    NewBrand {
                        party: party("Outra Marca", None),
                        manufacturer: None,
                    },
                ],
                new_collections: vec![party("Verão", Some("col-1")), party("Inverno", None)],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let [moda, calcados_moda, calcados_raiz] = saved.categories[..] else {
        panic!("three categories");
    };
    let sc = &scope;
    let cat_ids = |f: EntityFilter| async move {
        store
            .list_categories(sc, &f)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        cat_ids(EntityFilter {
            name: Some(fold("CALÇADOS")),
            ..Default::default()
        })
        .await,
        vec![calcados_moda, calcados_raiz]
    );
    assert_eq!(
        cat_ids(EntityFilter {
            external_id: Some("c-calcados".into()),
            ..Default::default()
        })
        .await,
        vec![calcados_moda]
    );
    assert_eq!(
        cat_ids(EntityFilter {
            id: Some(moda),
            ..Default::default()
        })
        .await,
        vec![moda]
    );
    assert!(cat_ids(EntityFilter {
        id: Some(moda),
        name: Some("calc".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    let m = &store
        .list_categories(
            &scope,
            &EntityFilter {
                id: Some(moda),
                ..Default::default()
            },
        )
        .await
        .unwrap()[0];
    assert_eq!(m.description.as_deref(), Some("Tudo de moda"));
    assert_eq!(m.keywords.as_deref(), Some("moda, roupa"));
    assert_eq!(
        m.image_source.as_deref(),
        Some("https://img.example.com/moda.jpg")
    );

    let sibling = |parent, name: &str| {
        let name = name.to_string();
        let scope = scope.clone();
        async move {
            store
                .find_sibling_category(&scope, parent, &name)
                .await
                .unwrap()
                .map(|c| c.id)
        }
    };
    assert_eq!(sibling(Some(moda), "calcados").await, Some(calcados_moda));
    assert_eq!(sibling(None, "calcados").await, Some(calcados_raiz));
    assert_eq!(sibling(None, "moda").await, Some(moda));
    assert_eq!(sibling(Some(calcados_moda), "moda").await, None);
    assert_eq!(sibling(None, "calc").await, None);

    let brands = store
        .list_brands(
            &scope,
            &EntityFilter {
                name: Some("boa".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        brands,
        vec![Brand {
            id: saved.brands[0],
            seller_id: w.seller_a.id.clone(),
            name: "Marca Boa".into(),
            external_id: Some("b-1".into()),
            image_source: Some("https://img.example.com/b.png".into()),
            manufacturer_id: Some(saved.manufacturers[0]),
        }]
    );
    assert_eq!(
        store
            .list_brands(&scope, &EntityFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
    let makers = store
        .list_manufacturers(
            &scope,
            &EntityFilter {
                external_id: Some("m-1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(makers.len(), 1);
    assert_eq!(makers[0].name, "Fábrica Boa");
    let collections = store
        .list_collections(
            &scope,
            &EntityFilter {
                name: Some("verao".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        collections,
        vec![Collection {
            id: saved.collections[0],
            seller_id: w.seller_a.id.clone(),
            name: "Verão".into(),
            external_id: Some("col-1".into()),
        }]
    );
}

/// The kits and groups listing given SKUs among their parts, by part then container.
pub async fn containers_of_lists_kits_and_groups(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let container = |name: &str, of: &[(&str, i64)]| {
        let mut f = simple_fields(name, Some(100));
        f.stock.clear();
        f.parts = parts(of);
        f
    };
    create(
        store,
        &scope,
        vec![
            new_write("A", ProductKind::Simple, simple_fields("A", Some(1))),
            new_write("B", ProductKind::Simple, simple_fields("B", Some(1))),
            new_write(
                "K2",
                ProductKind::Kit,
                container("K2", &[("B", 1), ("A", 2)]),
            ),
            new_write("K1", ProductKind::Kit, container("K1", &[("A", 2)])),
            new_write("G1", ProductKind::Group, container("G1", &[("A", 1)])),
            new_write("K3", ProductKind::Kit, container("K3", &[("C", 1)])),
        ],
    )
    .await;
    let got = store
        .containers_of(&scope, &["B".into(), "A".into(), "Z".into()])
        .await
        .unwrap();
    let row = |part: &str, sku: &str, kind| (part.to_string(), sku.to_string(), kind);
    assert_eq!(
        got,
        vec![
            row("A", "G1", ProductKind::Group),
            row("A", "K1", ProductKind::Kit),
            row("A", "K2", ProductKind::Kit),
            row("B", "K2", ProductKind::Kit),
        ]
    );
    assert!(store.containers_of(&scope, &[]).await.unwrap().is_empty());
    // The same part SKU at another seller belongs to none of these.
    let scope_b = scope_of(&w, &w.seller_b);
    create(
        store,
        &scope_b,
        vec![new_write(
            "KB",
            ProductKind::Kit,
            container("KB", &[("A", 1)]),
        )],
    )
    .await;
    assert_eq!(
        store.containers_of(&scope_b, &["A".into()]).await.unwrap(),
        vec![row("A", "KB", ProductKind::Kit)]
    );
}

/// A delete lands only on the version it was decided on; it takes the product's
/// stock, links and parts with it and frees its SKU.
pub async fn a_delete_is_guarded_by_its_version(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let mut kit = full_product_draft("KIT-1");
    kit.kind = Some(ProductKind::Kit);
    kit.fields.stock.clear();
    kit.fields.parts = parts(&[("A", 1)]);
    let saved = store
        .save_catalog(&scope, change_from_draft(&kit, T0))
        .await
        .unwrap();
    let id = saved.products[0];
    let delete = |version| CatalogChange {
        now: at(1),
        deletes: vec![ProductDelete {
            product_id: id,
            version,
            events: vec![CatalogEvent::ProductDeleted],
        }],
        ..Default::default()
    };
    assert!(matches!(
        store.save_catalog(&scope, delete(2)).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(product(store, &scope, id).await.version, 1);
    store.save_catalog(&scope, delete(1)).await.unwrap();
    assert!(matches!(
        store.get_product(&scope, &ProductKey::Id(id)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.save_catalog(&scope, delete(1)).await,
        Err(StoreError::NotFound)
    ));
    assert!(store
        .containers_of(&scope, &["A".into()])
        .await
        .unwrap()
        .is_empty());
    for filter in [
        ProductFilter {
            name: Some("camiseta".into()),
            ..Default::default()
        },
        ProductFilter {
            category_name: Some("camisetas".into()),
            ..Default::default()
        },
        ProductFilter {
            collection_id: Some(saved.collections[0]),
            ..Default::default()
        },
    ] {
        assert!(skus(store, &scope, all(filter)).await.is_empty());
    }
    // The categories and brand it linked stay; its SKU and external id are free.
    assert_eq!(
        store
            .list_categories(&scope, &EntityFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
    let again = store
        .save_catalog(
            &scope,
            CatalogChange {
                now: at(2),
                products: vec![ProductWrite {
                    categories: vec![Link::Existing(saved.categories[1])],
                    ..new_write("KIT-1", ProductKind::Kit, kit.fields.clone())
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A new product, with an id of its own: ids of deleted products are never reused.
    assert_ne!(again.products[0], id);
}

fn job(rows: Vec<ProductDraft>, created_at: Timestamp) -> NewImportJob {
    NewImportJob {
        id: crate::new_id(),
        verify_categories: true,
        verify_brands: false,
        rows,
        created_at,
    }
}

fn simple_draft(sku: &str, name: &str) -> ProductDraft {
    ProductDraft {
        sku: Some(sku.into()),
        kind: Some(ProductKind::Simple),
        fields: simple_fields(name, Some(100)),
        ..Default::default()
    }
}

/// An import job's rows come back as stored; each step lands only from the job's
/// cursor, records its rows' outcomes and moves the counts; the job finishes with its
/// last step. Its errors and products are read back by row.
pub async fn import_steps_follow_the_cursor(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let rows = vec![
        full_product_draft("P-A"),
        simple_draft("BAD", "Ruim"),
        simple_draft("P-A", "Camiseta de novo"),
        simple_draft("P-B", "Bermuda"),
    ];
    let new = job(rows.clone(), T0);
    let id = new.id.clone();
    let created = store.create_import_job(&scope, new).await.unwrap();
    assert_eq!(
        created,
        crate::ImportJob {
            id: id.clone(),
            operator_id: w.operator.id.clone(),
            seller_id: w.seller_a.id.clone(),
            state: ImportState::Pending,
            verify_categories: true,
            verify_brands: false,
            total: 4,
            processed: 0,
            succeeded: 0,
            failed: 0,
            created_at: T0,
            updated_at: T0,
            finished_at: None,
        }
    );
    assert_eq!(store.get_import_job(&scope, &id).await.unwrap(), created);
    assert_eq!(
        store.list_import_jobs(&scope, 10).await.unwrap(),
        vec![created.clone()]
    );
    let stored = store.import_rows(&id, 0, 10).await.unwrap();
    assert_eq!(
        stored,
        rows.iter()
            .cloned()
            .enumerate()
            .map(|(n, d)| (n as u32, d))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        store
            .import_rows(&id, 1, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(store.import_rows(&id, 4, 10).await.unwrap().is_empty());

    // Rows 0 and 1: one written (with its new entities), one failed.
    let mut first = change_from_draft(&rows[0], at(1));
    first.step = Some(ImportStep {
        job_id: id.clone(),
        from: 0,
        outcomes: vec![
            (Some("P-A".into()), RowOutcome::Written { product: 0 }),
            (
                Some("BAD".into()),
                RowOutcome::Failed {
                    reasons: vec!["price: Price is required".into(), "segundo".into()],
                },
            ),
        ],
        finished: false,
        events: vec![],
    });
    let saved = store.save_catalog(&scope, first.clone()).await.unwrap();
    let pa = saved.products[0];
    let j = store.get_import_job(&scope, &id).await.unwrap();
    assert_eq!(
        (j.state, j.processed, j.succeeded, j.failed, j.pending()),
        (ImportState::Running, 2, 1, 1, 2)
    );
    assert_eq!((j.updated_at, j.finished_at), (at(1), None));

    // The same step again (another node's, late) is stale: its product is not
    // written twice, nor its categories.
    let mut late = first.clone();
    late.products[0].sku = "P-LATE".into();
    late.products[0].fields.external_id = None;
    for c in &mut late.new_categories {
        c.external_id = None;
        c.name.push_str(" (late)");
    }
    late.new_brands.clear();
    late.new_manufacturers.clear();
    late.new_collections.clear();
    late.products[0].brand = None;
    late.products[0].manufacturer = None;
    late.products[0].collections.clear();
    assert!(matches!(
        store.save_catalog(&scope, late).await,
        Err(StoreError::Stale)
    ));
    assert!(store
        .get_product(&scope, &ProductKey::Sku("P-LATE".into()))
        .await
        .is_err());
    assert_eq!(
        store
            .list_categories(&scope, &EntityFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
    // Another seller cannot step A's job.
    let foreign = CatalogChange {
        now: at(2),
        step: Some(ImportStep {
            job_id: id.clone(),
            from: 2,
            outcomes: vec![(
                None,
                RowOutcome::Failed {
                    reasons: vec!["x".into()],
                },
            )],
            finished: false,
            events: vec![],
        }),
        ..Default::default()
    };
    assert!(matches!(
        store
            .save_catalog(&scope_of(&w, &w.seller_b), foreign)
            .await,
        Err(StoreError::NotFound)
    ));

    // Rows 2 and 3: an update of the product row 0 wrote, and a new one; finished.
    let update = ProductWrite {
        existing: Some((pa, 1)),
        ..new_write("P-A", ProductKind::Simple, rows[2].fields.clone())
    };
    let last = CatalogChange {
        now: at(3),
        products: vec![
            new_write("P-B", ProductKind::Simple, rows[3].fields.clone()),
            update,
        ],
        step: Some(ImportStep {
            job_id: id.clone(),
            from: 2,
            outcomes: vec![
                (Some("P-A".into()), RowOutcome::Written { product: 1 }),
                (Some("P-B".into()), RowOutcome::Written { product: 0 }),
            ],
            finished: true,
            events: vec![CatalogEvent::ImportFinished],
        }),
        ..Default::default()
    };
    let saved = store.save_catalog(&scope, last).await.unwrap();
    let pb = saved.products[0];
    assert_eq!(saved.products[1], pa);
    let j = store.get_import_job(&scope, &id).await.unwrap();
    assert_eq!(
        (j.state, j.processed, j.succeeded, j.failed),
        (ImportState::Finished, 4, 3, 1)
    );
    assert_eq!((j.updated_at, j.finished_at), (at(3), Some(at(3))));

    assert_eq!(
        store.import_errors(&scope, &id).await.unwrap(),
        vec![crate::RowError {
            row: 1,
            sku: Some("BAD".into()),
            reasons: vec!["price: Price is required".into(), "segundo".into()],
        }]
    );
    let written = store.import_products(&scope, &id).await.unwrap();
    assert_eq!(
        written.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![pa, pb]
    );
    assert_eq!(written[0].version, 2);
    assert_eq!(written[0].data.fields.info.name, "Camiseta de novo");
    // A finished job takes no more steps.
    let after = CatalogChange {
        now: at(4),
        step: Some(ImportStep {
            job_id: id.clone(),
            from: 2,
            outcomes: vec![],
            finished: true,
            events: vec![],
        }),
        ..Default::default()
    };
    assert!(matches!(
        store.save_catalog(&scope, after).await,
        Err(StoreError::Stale)
    ));
    // Errors and products of a job with none.
    let empty = store
        .create_import_job(&scope, job(vec![simple_draft("Z", "Z")], at(5)))
        .await
        .unwrap();
    assert!(store
        .import_errors(&scope, &empty.id)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .import_products(&scope, &empty.id)
        .await
        .unwrap()
        .is_empty());
    // Newest first.
    assert_eq!(
        store
            .list_import_jobs(&scope, 10)
            .await
            .unwrap()
            .iter()
            .map(|j| j.id.as_str())
            .collect::<Vec<_>>(),
        vec![empty.id.as_str(), id.as_str()]
    );
    assert_eq!(store.list_import_jobs(&scope, 1).await.unwrap().len(), 1);
    // A job id is unique.
    let mut twice = job(vec![], at(6));
    twice.id = id.clone();
    assert!(matches!(
        store.create_import_job(&scope, twice).await,
        Err(StoreError::Conflict(_))
    ));
}

/// Unfinished jobs are claimed oldest first, each by one holder until its lease
/// passes; a renewed lease holds longer; a finished job is never claimed.
pub async fn import_jobs_are_claimed_under_a_lease(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope_a = scope_of(&w, &w.seller_a);
    let scope_b = scope_of(&w, &w.seller_b);
    assert!(store
        .claim_import_job(at(0), at(30))
        .await
        .unwrap()
        .is_none());
    let second = store
        .create_import_job(&scope_b, job(vec![simple_draft("B", "B")], at(2)))
        .await
        .unwrap();
    let first = store
        .create_import_job(&scope_a, job(vec![simple_draft("A", "A")], at(1)))
        .await
        .unwrap();
    let claim = |now: i64, lease: i64| async move {
        store
            .claim_import_job(at(now), at(lease))
            .await
            .unwrap()
            .map(|j| j.id)
    };
    assert_eq!(claim(10, 40).await.as_deref(), Some(first.id.as_str()));
    let held = store.get_import_job(&scope_a, &first.id).await.unwrap();
    assert_eq!(held.state, ImportState::Running);
    assert_eq!(claim(10, 40).await.as_deref(), Some(second.id.as_str()));
    assert_eq!(claim(11, 41).await, None);
    // A lease holds up to its instant.
    assert_eq!(claim(40, 70).await, None);
    // The first job's holder renews; the second's lets its lease pass.
    store.renew_import_job(&first.id, at(100)).await.unwrap();
    assert_eq!(claim(41, 200).await.as_deref(), Some(second.id.as_str()));
    assert_eq!(claim(99, 129).await, None);
    assert_eq!(claim(101, 131).await.as_deref(), Some(first.id.as_str()));
    assert!(matches!(
        store.renew_import_job("no-such-job", at(200)).await,
        Err(StoreError::NotFound)
    ));

    // Finished, the first job is not claimed again even after its lease.
    let finish = CatalogChange {
        now: at(102),
        step: Some(ImportStep {
            job_id: first.id.clone(),
            from: 0,
            outcomes: vec![(
                Some("A".into()),
                RowOutcome::Failed {
                    reasons: vec!["no".into()],
                },
            )],
            finished: true,
            events: vec![],
        }),
        ..Default::default()
    };
    store.save_catalog(&scope_a, finish).await.unwrap();
    assert_eq!(claim(500, 530).await.as_deref(), Some(second.id.as_str()));
    assert_eq!(claim(1000, 1030).await.as_deref(), Some(second.id.as_str()));
    let done = store.get_import_job(&scope_a, &first.id).await.unwrap();
    assert_eq!(
        (done.state, done.processed, done.failed),
        (ImportState::Finished, 1, 1)
    );
}

/// The bulk load inserts complete simple products, readable as any other; a SKU
/// already taken makes it `Conflict`.
pub async fn bulk_import_inserts_simple_products(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let products: Vec<(String, ProductFields)> = (0..1200)
        .map(|n| {
            let mut f = simple_fields(&format!("Produto {n:04} Algodão"), Some(100 + n));
            f.external_id = Some(format!("ext-{n}"));
            f.stock.push(StockLevel {
                location: Location {
                    id: 3,
                    name: Some("CD".into()),
                },
                quantity: n,
                minimum: 0,
                status: None,
            });
            (format!("BULK-{n:04}"), f)
        })
        .collect();
    assert_eq!(
        store
            .import_products_bulk(&scope, &products, T0)
            .await
            .unwrap(),
        1200
    );
    assert_eq!(
        store
            .count_products(&scope, &ProductFilter::default())
            .await
            .unwrap(),
        1200
    );
    let p = store
        .get_product(&scope, &ProductKey::Sku("BULK-0042".into()))
        .await
        .unwrap();
    assert_eq!(p.data.fields, products[42].1);
    assert_eq!(
        (p.data.kind, p.version, p.created_at, p.updated_at),
        (ProductKind::Simple, 1, T0, T0)
    );
    assert_eq!(
        skus(
            store,
            &scope,
            all(ProductFilter {
                name: Some("produto 0042".into()),
                ..Default::default()
            })
        )
        .await,
        ["BULK-0042"]
    );
    let found = store
        .find_products(
            &scope,
            &products
                .iter()
                .map(|(sku, _)| ProductKey::Sku(sku.clone()))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1200);
    let r = store
        .import_products_bulk(
            &scope,
            &[("BULK-0001".into(), simple_fields("Dup", Some(1)))],
            at(1),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
}

/// A name search counts exactly up to `NAME_COUNT_CAP` and says "more" past it (one
/// over the cap); its pages still reach every match, and counts without a name stay
/// exact.
pub async fn name_counts_stop_past_the_cap(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    // 11 rare names (n = 7, 107, ..., 1007) and more common ones than the cap.
    let many = NAME_COUNT_CAP as i64 + 100;
    let products: Vec<(String, ProductFields)> = (0..many)
        .map(|n| {
            let name = if n % 100 == 7 {
                format!("Raro {n}")
            } else {
                format!("Comum {n}")
            };
            (format!("CAP-{n:05}"), simple_fields(&name, Some(100)))
        })
        .collect();
    store
        .import_products_bulk(&scope, &products, T0)
        .await
        .unwrap();
    let named = |n: &str| ProductFilter {
        name: Some(n.into()),
        limit: 30,
        ..Default::default()
    };
    assert_eq!(
        store.count_products(&scope, &named("comum")).await.unwrap(),
        NAME_COUNT_CAP + 1
    );
    assert_eq!(
        store.count_products(&scope, &named("raro")).await.unwrap(),
        11
    );
    assert_eq!(
        store.count_products(&scope, &named("co")).await.unwrap(),
        NAME_COUNT_CAP + 1
    );
    assert_eq!(
        store
            .count_products(&scope, &ProductFilter::default())
            .await
            .unwrap(),
        many as u64
    );
    let last = store
        .list_products(
            &scope,
            &ProductFilter {
                offset: many as u64 - 11 - 1,
                ..named("comum")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        last.len(),
        1,
        "the last page of a capped search still lists its match"
    );
}

/// Name searches on a catalog of thousands answer what a scan of the seller's rows
/// would, whatever how common the word is and where its matches lie: in every name,
/// in a third spread through the catalog, clustered at its start or at its end, in a
/// few, in none; in each order, on several pages, with other filters beside the
/// name, counted exactly up to the cap. Another seller's matching products come
/// before and after this seller's and are never counted or listed. (A backend may
/// answer from a sample of the seller's first rows or of parts of its id range when a
/// word is common there; this layout has words for which each sample is misleading.)
pub async fn name_searches_agree_with_a_scan(s: Arc<dyn Store>) {
    let store: &dyn Store = &*s;
    let w = world(store).await;
    let scope = scope_of(&w, &w.seller_a);
    let other = scope_of(&w, &w.seller_b);
    let words = ["Zeta", "Alfa", "Mu", "Beta", "Ômega"];
    let name = |n: usize| {
        let mut name = format!("{} Produto {n:05}", words[n * 7 % 5]);
        for (tag, has) in [
            (" Dênso", n.is_multiple_of(3)),
            (" Tardio", n >= 5_000 && n.is_multiple_of(2)),
            (" Raro", n % 1_000 == 7),
            (" Início", n < 100),
        ] {
            if has {
                name.push_str(tag);
            }
        }
        name
    };
    let rows = |prefix: &str, range: std::ops::Range<usize>| -> Vec<(String, ProductFields)> {
        range
            .map(|n| {
                let price = (n * 37 % 1_000) as i64 * 100 + 990;
                (
                    format!("{prefix}-{n:05}"),
                    simple_fields(&name(n), Some(price)),
                )
            })
            .collect()
    };
    store
        .import_products_bulk(&other, &rows("B", 0..3_000), T0)
        .await
        .unwrap();
    store
        .import_products_bulk(&scope, &rows("A", 0..6_000), T0)
        .await
        .unwrap();
    store
        .import_products_bulk(&other, &rows("B", 3_000..4_000), T0)
        .await
        .unwrap();
    // The seller's rows as stored (id, SKU, folded name, price), for the scan.
    let catalog: Vec<(i64, String, String, i64)> = store
        .list_products(
            &scope,
            &ProductFilter {
                limit: 10_000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            let price = p.data.fields.price.as_ref().map_or(0, |p| p.value.0);
            (p.id, p.data.sku, fold(&p.data.fields.info.name), price)
        })
        .collect();
    assert_eq!(catalog.len(), 6_000);
    let scan = |f: &ProductFilter| -> Vec<String> {
        let word = f.name.as_deref().unwrap();
        let below = f.price_lt.map_or(i64::MAX, |c| c.0);
        let mut hits: Vec<&(i64, String, String, i64)> = catalog
            .iter()
            .filter(|p| p.2.contains(word) && p.3 < below)
            .collect();
        match f.order {
            ProductOrder::Id => hits.sort_by_key(|p| p.0),
            ProductOrder::NameAsc => hits.sort_by(|a, b| (&a.2, a.0).cmp(&(&b.2, b.0))),
            ProductOrder::NameDesc => hits.sort_by(|a, b| (&b.2, b.0).cmp(&(&a.2, a.0))),
            ProductOrder::PriceAsc => hits.sort_by_key(|p| (p.3, p.0)),
            ProductOrder::PriceDesc => hits.sort_by_key(|p| std::cmp::Reverse((p.3, p.0))),
        }
        hits.into_iter().map(|p| p.1.clone()).collect()
    };
    let cap = NAME_COUNT_CAP + 1;
    for word in [
        "produto 0",
        "denso",
        "tardio",
        "inicio",
        "raro",
        "ausente",
        "u",
    ] {
        for price_lt in [None, Some(Cents(50_000))] {
            for order in [
                ProductOrder::Id,
                ProductOrder::NameAsc,
                ProductOrder::NameDesc,
                ProductOrder::PriceAsc,
                ProductOrder::PriceDesc,
            ] {
                let f = ProductFilter {
                    name: Some(word.into()),
                    price_lt,
                    order,
                    limit: 30,
                    ..Default::default()
                };
                let expected = scan(&f);
                let counted = store.count_products(&scope, &f).await.unwrap();
                assert_eq!(
                    counted,
                    (expected.len() as u64).min(cap),
                    "count of {word:?} under {price_lt:?}"
                );
                for offset in [0, 30, 90, expected.len().saturating_sub(10) as u64] {
                    let page: Vec<String> = store
                        .list_products(
                            &scope,
                            &ProductFilter {
                                offset,
                                ..f.clone()
                            },
                        )
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|p| p.data.sku)
                        .collect();
                    let want: Vec<String> = expected
                        .iter()
                        .skip(offset as usize)
                        .take(30)
                        .cloned()
                        .collect();
                    assert_eq!(page, want, "{word:?} {order:?} {price_lt:?} from {offset}");
                }
            }
        }
    }
    // The other seller's matches are its own, and an operator's listing holds both.
    let denso = |scope: &Scope| {
        let scope = scope.clone();
        async move {
            let f = ProductFilter {
                name: Some("denso".into()),
                limit: 30,
                ..Default::default()
            };
            (
                store.count_products(&scope, &f).await.unwrap(),
                store.list_products(&scope, &f).await.unwrap(),
            )
        }
    };
    let (counted, page) = denso(&other).await;
    assert_eq!(counted, cap);
    assert!(page.iter().all(|p| p.data.sku.starts_with("B-")));
    let (counted, page) = denso(&Scope::operator(&w.operator.id)).await;
    assert_eq!(counted, cap);
    assert_eq!(page.len(), 30);
}
