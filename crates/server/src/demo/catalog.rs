//! The demo sellers' catalogs: a small category tree, brands with their
//! manufacturers, simple products, clothes as groups of sizes (Tamanho P/M/G) and
//! kits, with valid EANs and exact prices.
//!
//! What links to categories and brands, and every group and kit, goes through the
//! import use case (`start_import` + `run_import_job`), as a seller's ERP would send
//! it, so the demo catalog follows every rule a real one does. The bulk of plain
//! simple products, which link to nothing, is loaded with the store's bulk insert
//! (`import_products_bulk`): thousands of products in a few transactions.

use entreposto_app::App;
use entreposto_domain::gtin::gtin_check_digit;
use entreposto_domain::*;
use entreposto_store::Store;
use rand::rngs::StdRng;
use rand::Rng;

/// (department, category, product names, price range in centavos, clothing sold in
/// sizes).
type Shelf = (
    &'static str,
    &'static str,
    &'static [&'static str],
    (i64, i64),
    bool,
);

const SHELVES: &[Shelf] = &[
    (
        "Moda",
        "Camisetas",
        &["Camiseta Básica", "Camiseta Estampada", "Camiseta Polo"],
        (3990, 12990),
        true,
    ),
    (
        "Moda",
        "Vestidos",
        &["Vestido Midi", "Vestido Longo Floral"],
        (8990, 29990),
        true,
    ),
    (
        "Calçados",
        "Tênis",
        &["Tênis de Corrida", "Tênis Casual"],
        (14990, 49990),
        false,
    ),
    (
        "Casa",
        "Cozinha",
        &[
            "Jogo de Panelas 5 peças",
            "Cafeteira Elétrica",
            "Liquidificador",
        ],
        (8990, 59990),
        false,
    ),
    (
        "Eletrônicos",
        "Áudio",
        &["Fone de Ouvido Bluetooth", "Caixa de Som Portátil"],
        (9990, 89990),
        false,
    ),
    (
        "Eletrônicos",
        "Celulares",
        &["Smartphone 128GB", "Smartphone 256GB"],
        (99990, 499990),
        false,
    ),
    (
        "Livros",
        "Literatura Brasileira",
        &[
            "Dom Casmurro",
            "Memórias Póstumas de Brás Cubas",
            "O Cortiço",
        ],
        (1990, 5990),
        false,
    ),
];

/// (brand, manufacturer)
const BRANDS: &[(&str, &str)] = &[
    ("Hering", "Cia Hering"),
    ("Tramontina", "Tramontina S.A."),
    ("Multilaser", "Multilaser Industrial S.A."),
    ("Olympikus", "Vulcabras"),
    ("Mondial", "Mondial Eletrodomésticos"),
    ("Companhia das Letras", "Grupo Companhia das Letras"),
];

const SIZES: [&str; 3] = ["P", "M", "G"];

/// A product an order may name: SKU, name, sale price.
pub type Sellable = (String, String, i64);

/// What one seller's catalog holds once filled.
pub struct Filled {
    pub products: u64,
    /// The simples and kits, for orders to name.
    pub sellable: Vec<Sellable>,
}

/// A valid EAN-13 from a Brazilian prefix (789) and `n`.
fn ean(n: u64) -> Gtin {
    let body = format!("789{:09}", n % 1_000_000_000);
    let digits = format!("{body}{}", gtin_check_digit(&body));
    Gtin::parse(&digits).expect("a computed EAN-13 is valid")
}

fn fields(rng: &mut StdRng, sku: &str, name: &str, shelf: &Shelf, seq: u64) -> ProductFields {
    let (lo, hi) = shelf.3;
    // Prices end in ,90 as shops write them.
    let value = (rng.gen_range(lo..=hi) / 100) * 100 + 90;
    ProductFields {
        external_id: Some(format!("ERP-{sku}")),
        info: ProductInfo {
            name: name.to_string(),
            subtitle: format!("{name} - {}", shelf.1),
            active: true,
            published: rng.gen_bool(0.9),
            archived: false,
            model: format!("{}-{}", &shelf.1[..3].to_uppercase(), seq % 1000),
            item_flag: None,
            warranty: Some("90 dias".into()),
        },
        stock: vec![StockLevel {
            quantity: rng.gen_range(0..200),
            minimum: rng.gen_range(0..5),
            ..Default::default()
        }],
        price: Some(Price {
            list: Cents(value + value / 5 / 100 * 100),
            value: Cents(value),
            expires_at: None,
        }),
        dimensions: Some(Dimensions {
            height: f64::from(rng.gen_range(2..40)),
            width: f64::from(rng.gen_range(10..60)),
            length: f64::from(rng.gen_range(10..60)),
            weight_grams: rng.gen_range(100..5000),
        }),
        descriptions: vec![Description {
            title: "Descrição".into(),
            text: format!("<p>{name}: produto de demonstração da loja.</p>"),
        }],
        images: vec![format!("https://img.example.com.br/{sku}.jpg")],
        gtins: Gtins {
            ean: Some(ean(seq)),
            ..Default::default()
        },
        seo: Seo {
            url: Some(slugify(&format!("{name} {sku}"))),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn category(shelf: &Shelf) -> CategoryRef {
    CategoryRef {
        name: Some(shelf.1.to_string()),
        parent: Some(Box::new(CategoryRef {
            name: Some(shelf.0.to_string()),
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn brand(n: usize) -> BrandRef {
    let (b, m) = BRANDS[n % BRANDS.len()];
    BrandRef {
        info: PartyRef {
            name: Some(b.into()),
            ..Default::default()
        },
        manufacturer: Some(PartyRef {
            name: Some(m.into()),
            ..Default::default()
        }),
    }
}

fn part(sku: &str, quantity: i64) -> ProductPart {
    ProductPart {
        sku: sku.into(),
        kind: ProductKind::Simple,
        quantity,
    }
}

/// Fills `seller`'s catalog with about `products` products (at least the linked
/// ones: a few groups, kits and simples per shelf).
pub async fn fill(
    store: &dyn Store,
    app: &App,
    rng: &mut StdRng,
    seller: &Seller,
    products: u64,
    now: Timestamp,
) -> anyhow::Result<Filled> {
    if products == 0 {
        return Ok(Filled {
            products: 0,
            sellable: Vec::new(),
        });
    }
    let scope = Scope::seller(&seller.operator_id, &seller.id);
    // About a tenth of the catalog is linked: groups of three sizes (four products
    // each), kits of two simples, simples with a category and a brand.
    let groups = (products / 40).max(1);
    let kits = (products / 100).max(1);
    let linked_simples = (products / 20).max(2);
    let mut drafts: Vec<ProductDraft> = Vec::new();
    let mut sellable = Vec::new();
    let mut seq = 0u64;
    let mut next = |prefix: &str| {
        seq += 1;
        (format!("{prefix}-{seq:06}"), seq)
    };
    let mut simples = Vec::new();
    for n in 0..linked_simples as usize {
        let shelf = &SHELVES[n % SHELVES.len()];
        let (sku, s) = next("SKU");
        let name = shelf.2[n % shelf.2.len()];
        let f = fields(rng, &sku, name, shelf, s);
        sellable.push((
            sku.clone(),
            name.to_string(),
            f.price.map_or(0, |p| p.value.0),
        ));
        simples.push(sku.clone());
        drafts.push(ProductDraft {
            sku: Some(sku),
            kind: Some(ProductKind::Simple),
            fields: f,
            categories: vec![category(shelf)],
            brand: Some(brand(n)),
            ..Default::default()
        });
    }
    let clothes: Vec<&Shelf> = SHELVES.iter().filter(|s| s.4).collect();
    let mut group_rows = Vec::new();
    for n in 0..groups as usize {
        let shelf = clothes[n % clothes.len()];
        let (sku, s) = next("GRP");
        let name = shelf.2[n % shelf.2.len()];
        let base = fields(rng, &sku, name, shelf, s);
        let mut parts = Vec::new();
        for size in SIZES {
            let vsku = format!("{sku}-{size}");
            let vname = format!("{name} {size}");
            let mut f = fields(
                rng,
                &vsku,
                &vname,
                shelf,
                500_000_000 + s * 10 + parts.len() as u64,
            );
            f.price = base.price;
            f.attribute_groups = vec![AttributeGroup {
                name: "Tamanho".into(),
                attribute_name: size.into(),
                attribute_value: size.into(),
                attribute_type: None,
            }];
            sellable.push((vsku.clone(), vname, f.price.map_or(0, |p| p.value.0)));
            parts.push(part(&vsku, 1));
            drafts.push(ProductDraft {
                sku: Some(vsku),
                kind: Some(ProductKind::Simple),
                fields: f,
                categories: vec![category(shelf)],
                brand: Some(brand(0)),
                ..Default::default()
            });
        }
        let mut f = base;
        f.stock.clear();
        f.parts = parts;
        group_rows.push(ProductDraft {
            sku: Some(sku),
            kind: Some(ProductKind::Group),
            fields: f,
            categories: vec![category(shelf)],
            brand: Some(brand(0)),
            ..Default::default()
        });
    }
    drafts.extend(group_rows);
    for n in 0..kits as usize {
        let (a, b) = (
            &simples[n % simples.len()],
            &simples[(n + 1) % simples.len()],
        );
        let shelf = &SHELVES[n % SHELVES.len()];
        let (sku, s) = next("KIT");
        let name = format!("Kit {}", shelf.2[n % shelf.2.len()]);
        let mut f = fields(rng, &sku, &name, shelf, s);
        f.stock.clear();
        f.parts = vec![part(a, 1), part(b, 2)];
        sellable.push((sku.clone(), name, f.price.map_or(0, |p| p.value.0)));
        drafts.push(ProductDraft {
            sku: Some(sku),
            kind: Some(ProductKind::Kit),
            fields: f,
            categories: vec![category(shelf)],
            brand: Some(brand(n)),
            ..Default::default()
        });
    }
    let linked = drafts.len() as u64;
    let job = app.start_import(&scope, drafts, false, false).await?;
    let job = app.run_import_job(job).await?;
    if job.failed > 0 {
        let errors = app.reads().import_errors(&scope, &job.id).await?;
        anyhow::bail!("demo catalog import failed rows: {errors:?}");
    }

    let bulk = products.saturating_sub(linked);
    let mut rows = Vec::with_capacity(bulk as usize);
    for n in 0..bulk as usize {
        let shelf = &SHELVES[n % SHELVES.len()];
        let (sku, s) = next("SKU");
        let name = format!("{} {}", shelf.2[n % shelf.2.len()], s);
        let f = fields(rng, &sku, &name, shelf, s);
        sellable.push((sku.clone(), name, f.price.map_or(0, |p| p.value.0)));
        rows.push((sku, f));
    }
    let loaded = if rows.is_empty() {
        0
    } else {
        store.import_products_bulk(&scope, &rows, now).await?
    };
    Ok(Filled {
        products: u64::from(job.succeeded) + loaded,
        sellable,
    })
}
