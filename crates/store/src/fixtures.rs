//! Fixtures every backend's tests and the application's contract suite share: an
//! operator with two sellers, a complete valid order, a subject, a message, a
//! webhook endpoint.

use entreposto_domain::*;

use crate::{new_id, Store};

/// An enabled endpoint `id` of the world's operator (or of `seller`), for every
/// event, created at `at`, with a fixed secret.
pub fn webhook_endpoint(
    w: &World,
    id: &str,
    seller: Option<&Seller>,
    at: Timestamp,
) -> WebhookEndpoint {
    WebhookEndpoint {
        id: id.into(),
        operator_id: w.operator.id.clone(),
        seller_id: seller.map(|s| s.id.clone()),
        url: WebhookUrl::stored(format!("https://hooks.example.com/{id}")),
        events: EventFilter::All,
        description: String::new(),
        enabled: true,
        disabled_reason: None,
        secret: WebhookSecret::from_key(&[7; 24]),
        previous_secret: None,
        failing_since: None,
        created_at: at,
        updated_at: at,
        version: 1,
    }
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

/// A simple product with every field filled in, linking a new category (under a new
/// parent), a new brand with its manufacturer and a new collection.
pub fn full_product_draft(sku: &str) -> ProductDraft {
    ProductDraft {
        id: None,
        sku: Some(sku.into()),
        kind: Some(ProductKind::Simple),
        fields: ProductFields {
            external_id: Some(format!("ext-{sku}")),
            info: ProductInfo {
                name: "Camiseta Básica Algodão".into(),
                subtitle: "Camiseta de algodão".into(),
                active: true,
                published: true,
                archived: false,
                model: "CB-01".into(),
                item_flag: Some("novo".into()),
                warranty: Some("3 meses".into()),
            },
            stock: vec![
                StockLevel {
                    location: Location { id: 0, name: None },
                    quantity: 15,
                    minimum: 2,
                    status: None,
                },
                StockLevel {
                    location: Location {
                        id: 2,
                        name: Some("CD São Paulo".into()),
                    },
                    quantity: 4,
                    minimum: 0,
                    status: Some(StockStatus::PreSale),
                },
            ],
            price: Some(Price {
                list: Cents(5000),
                value: Cents(4999),
                expires_at: Some(Timestamp(1_700_000_000_000_000)),
            }),
            dimensions: Some(Dimensions {
                height: 45.0,
                width: 35.5,
                length: 25.0,
                weight_grams: 500,
            }),
            freight: Some(Freight {
                free: true,
                fixed: Some(Cents(1500)),
                additional: Some(Cents(450)),
                deadline_days: Some(25),
                free_range: Some(CepRange {
                    start: "04688010".into(),
                    end: "05872130".into(),
                }),
            }),
            descriptions: vec![Description {
                title: "Detalhes".into(),
                text: "<p>100% algodão</p>".into(),
            }],
            images: vec!["https://img.example.com/cb01.jpg".into()],
            documents: vec![ProductDocument {
                title: "Guia".into(),
                src: "https://img.example.com/cb01.pdf".into(),
            }],
            seo: Seo {
                url: Some(format!("camiseta-{}", sku.to_lowercase())),
                title: Some("Camiseta".into()),
                meta_description: Some("camiseta, algodão".into()),
            },
            gtins: Gtins {
                mpn: Some("MPN-1".into()),
                ean: Some(Gtin::parse("7891000315507").expect("valid")),
                jan: None,
                isbn: None,
            },
            attribute_groups: vec![AttributeGroup {
                name: "Tamanho".into(),
                attribute_name: "M".into(),
                attribute_value: "M".into(),
                attribute_type: Some("size".into()),
            }],
            related: vec![ProductPart {
                sku: "OUTRO-1".into(),
                kind: ProductKind::Simple,
                quantity: 1,
            }],
            parts: vec![],
        },
        categories: vec![CategoryRef {
            name: Some("Camisetas".into()),
            slug: Some("camisetas".into()),
            external_id: Some("cat-camisetas".into()),
            parent: Some(Box::new(CategoryRef {
                name: Some("Moda".into()),
                external_id: Some("cat-moda".into()),
                ..Default::default()
            })),
            ..Default::default()
        }],
        brand: Some(BrandRef {
            info: PartyRef {
                name: Some("Marca Boa".into()),
                external_id: Some("brand-1".into()),
                ..Default::default()
            },
            manufacturer: Some(PartyRef {
                name: Some("Fábrica Boa".into()),
                external_id: Some("maker-1".into()),
                ..Default::default()
            }),
        }),
        collections: vec![PartyRef {
            name: Some("Verão".into()),
            ..Default::default()
        }],
    }
}

/// The progress a pushed order starts with, as the application builds it: the state
/// its marketplace status maps to, placed at `placed_at`, and the pendencies its data
/// has (no catalog lookup: tests that need `attribute` set it themselves).
pub fn initial_progress(data: &OrderData) -> OrderProgress {
    let state = OrderState::from_marketplace(data.status);
    OrderProgress {
        state,
        version: 1,
        history: vec![StateChange {
            from: None,
            to: state,
            at: data.placed_at,
        }],
        interactions: vec![],
        invoice: None,
        trackings: vec![],
        erp: vec![],
        pendencies: pendencies(data, &[]),
        warnings: vec![],
        reservation: vec![],
        shipped_at: None,
        delivered_at: None,
    }
}

/// A progress with every field filled in (shipped, invoiced, tracked, taken by one
/// ERP and failed by another, with a pendency, a warning and a reservation).
pub fn full_progress(version: i64) -> OrderProgress {
    let t = |s: i64| Timestamp(1_700_000_000_000_000 + s * 1_000_000);
    OrderProgress {
        state: OrderState::Shipped,
        version,
        history: vec![
            StateChange {
                from: None,
                to: OrderState::Paid,
                at: t(0),
            },
            StateChange {
                from: Some(OrderState::Paid),
                to: OrderState::Billed,
                at: t(10),
            },
            StateChange {
                from: Some(OrderState::Billed),
                to: OrderState::Shipped,
                at: t(20),
            },
        ],
        interactions: vec![
            Interaction {
                description:
                    "O operador trocou o status para Pick and Pack e o estagio para FATURADO".into(),
                origin: InteractionOrigin::Api,
                action: "Alteração de estagio".into(),
                at: t(10),
            },
            Interaction {
                description: "O operador trocou o status para Pedido enviado".into(),
                origin: InteractionOrigin::Administration,
                action: "Alteração de status".into(),
                at: t(20),
            },
        ],
        invoice: Some(Invoice {
            series: 1,
            number: 34986,
            access_key: NfeAccessKey::parse("35150810406561000149550010000349861000108001")
                .expect("the document's key"),
            issued_at: t(9),
            value: Cents(51499),
            products: vec![
                InvoiceProduct {
                    kind: ProductKind::Simple,
                    sku: "99jjs8".into(),
                    cfop: 5102,
                },
                InvoiceProduct {
                    kind: ProductKind::Kit,
                    sku: "KIT-1".into(),
                    cfop: 6108,
                },
            ],
        }),
        trackings: vec![TrackingCode::parse("XY123456785BR").expect("valid code")],
        erp: vec![
            ErpMark {
                erp: "bling".into(),
                sent: true,
                error: None,
                at: t(5),
            },
            ErpMark {
                erp: "tiny".into(),
                sent: false,
                error: Some("CPF inválido no Tiny".into()),
                at: t(6),
            },
        ],
        pendencies: vec![Pendency::Email, Pendency::Attribute],
        warnings: vec!["Endereço de entrega revisado".into()],
        reservation: vec![
            StockMove {
                product_id: 41,
                location_id: 0,
                delta: -1,
            },
            StockMove {
                product_id: 42,
                location_id: 2,
                delta: -3,
            },
        ],
        shipped_at: Some(t(20)),
        delivered_at: None,
    }
}

/// A channel's terms with every field set (a category rate, both fixed fees, a
/// tolerance in amount and percent, delivery-based payment).
pub fn full_channel_terms(channel: &str) -> ChannelTerms {
    ChannelTerms {
        channel: channel.into(),
        commission: CommissionRule {
            rate: Rate(1600),
            by_category: vec![CategoryRate {
                category: "Eletrônicos".into(),
                rate: Rate(1150),
            }],
            fixed_per_order: Cents(500),
            fixed_per_item: Cents(100),
        },
        payment: PaymentTerms {
            base: TermsBase::Delivery,
            days: 30,
        },
        tolerance: Tolerance {
            amount: Cents(5),
            percent: Rate(50),
        },
    }
}

/// A delivered settlement order with every field set: two items (one with a
/// category), freight, a payment in three installments.
pub fn full_settlement_order(
    operator_id: &str,
    seller_id: &str,
    channel: &str,
    order_code: &str,
) -> SettlementOrder {
    let t = |s: i64| Timestamp(1_700_000_000_000_000 + s * 1_000_000);
    SettlementOrder {
        operator_id: operator_id.into(),
        seller_id: seller_id.into(),
        channel: channel.into(),
        order_code: order_code.into(),
        order_id: format!("01-{order_code}"),
        hub_order_id: Some(77),
        hub_name: Some("Entreposto".into()),
        account_name: Some("Loja A".into()),
        status: SettlementStatus::Concluded,
        ordered_at: t(0),
        paid_at: Some(t(60)),
        invoiced_at: Some(t(3_600)),
        invoice_number: Some("34986".into()),
        sent_at: Some(t(7_200)),
        delivered_at: Some(t(86_400)),
        cancelled_at: None,
        customer_name: "Maria Souza".into(),
        customer_document: Some("52998224725".into()),
        total: Cents(60_000),
        freight: Cents(3_000),
        items: vec![
            SettlementItem {
                marketplace_item_id: Some("MLB-1".into()),
                sku: "SKU-1".into(),
                quantity: 2,
                unit_value: Cents(20_000),
                freight: Cents(2_000),
                category: Some("Eletrônicos".into()),
                sent_at: Some(t(7_200)),
            },
            SettlementItem {
                marketplace_item_id: None,
                sku: "SKU-2".into(),
                quantity: 1,
                unit_value: Cents(17_000),
                freight: Cents(1_000),
                category: None,
                sent_at: None,
            },
        ],
        payments: vec![SettlementPayment {
            method: "CREDIT_CARD".into(),
            paid_at: Some(t(60)),
            value: Cents(60_000),
            installments: 3,
        }],
    }
}
