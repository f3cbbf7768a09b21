//! `entreposto demo`: a realistic operator, sellers with credentials for every
//! dialect, a catalog per seller ([`catalog`]), and orders of the sellers' products
//! with Brazilian data (valid CPFs and CNPJs, real CEPs and area codes), printed as
//! JSON so the credentials can be used at once.
//!
//! Orders are generated deterministically and loaded in transactions of 10,000 while
//! the next batch is generated, so a million orders take seconds, not hours.

mod catalog;

use std::sync::Arc;
use std::time::Instant;

use crate::mounts::issue_credential;
use entreposto_app::orders::initial_progress;
use entreposto_domain::document::{cnpj_with_check_digits, cpf_with_check_digits};
use entreposto_domain::*;
use entreposto_store::{new_id, ImportOrder, ImportTicket, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FIRST: &[&str] = &[
    "João",
    "Maria",
    "José",
    "Ana",
    "Francisco",
    "Antônia",
    "Carlos",
    "Adriana",
    "Paulo",
    "Juliana",
    "Pedro",
    "Márcia",
    "Lucas",
    "Fernanda",
    "Luiz",
    "Patrícia",
    "Marcos",
    "Aline",
    "Gabriel",
    "Camila",
    "Rafael",
    "Bruna",
    "Thiago",
    "Letícia",
];
const LAST: &[&str] = &[
    "da Silva",
    "dos Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
];
/// (CEP, street, neighbourhood, city, UF, DDD): real addresses' CEPs and area codes.
const PLACES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "01310100",
        "Avenida Paulista",
        "Bela Vista",
        "São Paulo",
        "SP",
        "11",
    ),
    (
        "20040020",
        "Avenida Rio Branco",
        "Centro",
        "Rio de Janeiro",
        "RJ",
        "21",
    ),
    (
        "30130010",
        "Avenida Afonso Pena",
        "Centro",
        "Belo Horizonte",
        "MG",
        "31",
    ),
    (
        "40020000",
        "Avenida Sete de Setembro",
        "Centro",
        "Salvador",
        "BA",
        "71",
    ),
    (
        "80020310",
        "Rua XV de Novembro",
        "Centro",
        "Curitiba",
        "PR",
        "41",
    ),
    (
        "90010150",
        "Rua dos Andradas",
        "Centro Histórico",
        "Porto Alegre",
        "RS",
        "51",
    ),
    (
        "50030230",
        "Avenida Guararapes",
        "Santo Antônio",
        "Recife",
        "PE",
        "81",
    ),
    (
        "60060440",
        "Avenida Santos Dumont",
        "Aldeota",
        "Fortaleza",
        "CE",
        "85",
    ),
    (
        "70040010",
        "Setor Bancário Sul",
        "Asa Sul",
        "Brasília",
        "DF",
        "61",
    ),
    (
        "69005070",
        "Avenida Eduardo Ribeiro",
        "Centro",
        "Manaus",
        "AM",
        "92",
    ),
    (
        "88010400",
        "Rua Felipe Schmidt",
        "Centro",
        "Florianópolis",
        "SC",
        "48",
    ),
    (
        "74015010",
        "Avenida Goiás",
        "Setor Central",
        "Goiânia",
        "GO",
        "62",
    ),
];
/// (channel, site id, warehouse, order code prefix)
const CHANNELS: &[(&str, &str, &str, &str)] = &[
    ("Lojas Americanas", "LASA", "98", "02"),
    ("Shoptime", "SHOP", "98", "03"),
    ("Submarino", "SUBA", "98", "01"),
    ("Mercado Livre", "MLB", "1", "20"),
    ("Magalu", "MGLU", "1", "15"),
];
const PRODUCTS: &[(&str, &str, i64)] = &[
    ("99jjs8", "Fone de Ouvido Bluetooth", 19990),
    ("TV50-4K", "Smart TV 50\" 4K", 249900),
    ("CAF-110", "Cafeteira Elétrica 110V", 15990),
    ("LIV-0042", "Livro Dom Casmurro", 2990),
    ("TEN-39", "Tênis de Corrida 39", 29999),
    ("PAN-5PC", "Jogo de Panelas 5 peças", 34990),
    ("CEL-128", "Smartphone 128GB", 149900),
    ("MOC-20L", "Mochila Escolar 20L", 8990),
];
const METHODS: &[&str] = &["credit_card", "boleto", "pix", "debit_card"];

const SUBJECTS: &[(&str, i64, bool)] = &[
    ("Produto não chegou", 48, false),
    ("Produto com defeito", 72, false),
    ("Devolução", 168, true),
    ("Troca", 168, true),
    ("Cancelamento", 24, false),
    ("Dúvida sobre o produto", 24, false),
    ("Nota fiscal", 48, false),
];
const CUSTOMER_LINES: &[&str] = &[
    "Bom dia! Meu pedido ainda não chegou, o prazo já venceu.",
    "O produto veio com defeito, não liga.",
    "Gostaria de devolver o produto, não serviu.",
    "Podem me enviar a nota fiscal, por favor?",
    "Recebi um item diferente do que comprei.",
    "Quero cancelar a compra.",
];
const SELLER_LINES: &[&str] = &[
    "Olá! Verificamos com a transportadora e o pedido sai para entrega amanhã.",
    "Sentimos muito! Já abrimos a troca, o código de postagem segue por e-mail.",
    "Segue a nota fiscal em anexo.",
    "Pedido cancelado, o estorno aparece na próxima fatura.",
];

/// What `entreposto demo` makes.
pub struct Sizes {
    pub orders: u64,
    pub sellers: usize,
    pub tickets: Option<u64>,
    /// Products per seller.
    pub products: u64,
}

pub async fn run(store: Arc<dyn Store>, sizes: Sizes) -> anyhow::Result<()> {
    let Sizes {
        orders,
        sellers,
        tickets,
        products,
    } = sizes;
    let tickets = tickets.unwrap_or(orders / 4).min(orders);
    let app = entreposto_app::App::with_system_clock(store.clone());
    let started = Instant::now();
    let now = Timestamp::now();
    let operator = Operator {
        id: new_id(),
        name: "Marketplace Brasil (demo)".into(),
        created_at: now,
    };
    store.create_operator(&operator).await?;
    let native = issue_credential(
        &app,
        &operator.id,
        None,
        entreposto_api_native::DIALECT,
        None,
    )
    .await?;
    let operator_omnik = issue_credential(
        &app,
        &operator.id,
        None,
        entreposto_dialect_omnik::DIALECT,
        None,
    )
    .await?;

    let mut subjects = Vec::new();
    for (name, sla, for_return) in SUBJECTS {
        let subject = Subject {
            id: new_id(),
            operator_id: operator.id.clone(),
            name: name.to_string(),
            sla_hours: *sla,
            for_return: *for_return,
            created_at: now,
            updated_at: now,
        };
        store.create_subject(&subject).await?;
        subjects.push(subject);
    }

    let mut rng = StdRng::seed_from_u64(0x5EED);
    let mut seller_rows = Vec::new();
    let mut seller_json = Vec::new();
    let mut catalogs: Vec<Vec<catalog::Sellable>> = Vec::new();
    let mut loaded_products = 0u64;
    let catalog_started = Instant::now();
    let names = [
        "Casa & Cia Utilidades",
        "Eletro Norte Comércio",
        "Livraria Paulista",
        "Esporte Total",
        "Mundo Tech",
    ];
    for i in 0..sellers.max(1) {
        let base: [u32; 12] = std::array::from_fn(|k| {
            if k >= 8 {
                [0, 0, 0, 1][k - 8]
            } else {
                rng.gen_range(0..10)
            }
        });
        let doc = Document::parse(&cnpj_with_check_digits(&base), Some(DocumentKind::Cnpj))
            .map_err(|e| anyhow::anyhow!("generated CNPJ: {e}"))?;
        let seller = Seller {
            id: new_id(),
            operator_id: operator.id.clone(),
            name: format!("{} {}", names[i % names.len()], i / names.len() + 1),
            document: Some(doc),
            created_at: now,
        };
        store.create_seller(&seller).await?;
        let mut creds = serde_json::Map::new();
        // A seller credential for every vendor dialect (native tokens are operators').
        let dialects = crate::mounts::MOUNTS
            .iter()
            .map(|m| m.dialect)
            .filter(|d| *d != entreposto_api_native::DIALECT);
        for d in dialects {
            let c = issue_credential(&app, &operator.id, Some(&seller.id), d, None).await?;
            creds.insert(
                d.as_str().into(),
                serde_json::json!({"id": c.id, "headers": c.headers}),
            );
        }
        let filled = catalog::fill(&*store, &app, &mut rng, &seller, products, now).await?;
        loaded_products += filled.products;
        seller_json.push(serde_json::json!({
            "id": seller.id, "name": seller.name,
            "document": seller.document.as_ref().map(|d| d.number.clone()),
            "credentials": creds,
            "products": filled.products,
        }));
        // Orders name the seller's own products; without a catalog, a fixed list.
        catalogs.push(if filled.sellable.is_empty() {
            PRODUCTS
                .iter()
                .map(|(sku, name, price)| (sku.to_string(), name.to_string(), *price))
                .collect()
        } else {
            filled.sellable
        });
        seller_rows.push(seller);
    }
    let catalog_seconds = catalog_started.elapsed().as_secs_f64();

    const BATCH: u64 = 10_000;
    type Loaded = entreposto_store::Result<(u64, u64)>;
    let mut pending: Option<tokio::task::JoinHandle<Loaded>> = None;
    let mut made = 0u64;
    let (mut loaded, mut loaded_tickets) = (0u64, 0u64);
    while made < orders {
        let n = BATCH.min(orders - made);
        let batch: Vec<ImportOrder> = (made..made + n)
            .map(|seq| {
                let s = (seq % seller_rows.len() as u64) as usize;
                let data = make_order(&mut rng, &seller_rows[s], &catalogs[s], seq, now);
                ImportOrder {
                    progress: initial_progress(&data, &[], data.placed_at),
                    data,
                }
            })
            .collect();
        let ticket_batch: Vec<ImportTicket> = batch
            .iter()
            .zip(made..)
            .filter(|(_, seq)| *seq < tickets)
            .map(|(o, seq)| {
                make_ticket(
                    &mut rng,
                    &o.data,
                    &subjects[(seq % subjects.len() as u64) as usize],
                    seq,
                    now,
                )
            })
            .collect();
        made += n;
        if let Some(p) = pending.take() {
            let (o, t) = p.await??;
            loaded += o;
            loaded_tickets += t;
            if loaded.is_multiple_of(100_000) {
                tracing::info!(loaded, loaded_tickets, "demo orders loaded");
            }
        }
        let s = store.clone();
        pending = Some(tokio::spawn(async move {
            let o = s.import_orders(&batch, Timestamp::now()).await?;
            let t = if ticket_batch.is_empty() {
                0
            } else {
                s.import_tickets(&ticket_batch).await?
            };
            Ok((o, t))
        }));
    }
    if let Some(p) = pending {
        let (o, t) = p.await??;
        loaded += o;
        loaded_tickets += t;
    }

    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "operator": {
                "id": operator.id, "name": operator.name,
                "token": native.headers["Authorization"].trim_start_matches("Bearer "),
                "credentials": {"omnik": {"id": operator_omnik.id, "headers": operator_omnik.headers}},
            },
            "sellers": seller_json,
            "products": loaded_products,
            "orders": loaded,
            "tickets": loaded_tickets,
            "subjects": subjects.iter().map(|s| serde_json::json!({"id": s.id, "subject": s.name, "sla": s.sla_hours})).collect::<Vec<_>>(),
            "catalogSeconds": catalog_seconds,
            "elapsedSeconds": started.elapsed().as_secs_f64(),
        }))?
    );
    Ok(())
}

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

fn make_order(
    rng: &mut StdRng,
    seller: &Seller,
    catalog: &[catalog::Sellable],
    seq: u64,
    now: Timestamp,
) -> OrderData {
    let (channel, site, warehouse, prefix) = *pick(rng, CHANNELS);
    let (cep, street, hood, city, uf, ddd) = *pick(rng, PLACES);
    let name = format!("{} {}", pick(rng, FIRST), pick(rng, LAST));
    let base: [u32; 9] = std::array::from_fn(|_| rng.gen_range(0..10));
    let cpf = cpf_with_check_digits(&base);
    let document = Document::parse(&cpf, Some(DocumentKind::Cpf)).unwrap_or(Document {
        kind: DocumentKind::Cpf,
        number: "52998224725".into(),
    });
    let n_items = rng.gen_range(1..=3);
    let items: Vec<OrderItem> = (0..n_items)
        .map(|_| {
            let (sku, pname, price) = pick(rng, catalog).clone();
            OrderItem {
                sku,
                name: pname,
                quantity: rng.gen_range(1..=2),
                unit_price: Cents(price),
                marketplace_item_id: None,
                freight: None,
            }
        })
        .collect();
    let freight = Cents(rng.gen_range(0..5000));
    // Orders placed over the last ~two years, newest last.
    let placed_at = Timestamp(now.0 - rng.gen_range(0..63_072_000_000_000i64));
    let status = *pick(
        rng,
        &[
            OrderStatus::Approved,
            OrderStatus::Invoiced,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
            OrderStatus::Delivered,
            OrderStatus::Cancelled,
        ],
    );
    let mut data = OrderData {
        operator_id: seller.operator_id.clone(),
        seller_id: seller.id.clone(),
        channel: channel.into(),
        marketplace_order_id: format!("{prefix}-{}", 1_000_000_000 + seq),
        site_id: Some(site.into()),
        warehouse: Some(warehouse.into()),
        status,
        placed_at,
        approved_at: Some(Timestamp(
            placed_at.0 + rng.gen_range(60_000_000..7_200_000_000),
        )),
        cancelled_at: None,
        customer: Customer {
            email: Some(format!(
                "{}.{}@example.com.br",
                ascii_fold(name.split(' ').next().unwrap_or("cliente")).to_lowercase(),
                seq
            )),
            name: name.clone(),
            document,
            gender: Some(pick(rng, &["male", "female"]).to_string()),
            birth_date: None,
            corporate_name: None,
            trade_name: None,
            corporate_document: None,
            corporate_phone: None,
            state_inscription: None,
            phones: vec![Phone {
                kind: Some("mobile".into()),
                ddi: "55".into(),
                ddd: ddd.into(),
                number: format!("9{:08}", rng.gen_range(0..100_000_000)),
            }],
        },
        shipping_address: Some(Address {
            kind: Some("residential".into()),
            recipient: Some(name),
            zipcode: cep.into(),
            address: street.into(),
            number: Some(rng.gen_range(1..3000).to_string()),
            complement: None,
            neighborhood: Some(hood.into()),
            city: city.into(),
            state: uf.into(),
            country: "BR".into(),
            reference: None,
        }),
        items,
        freight,
        discount: Cents::ZERO,
        payments: vec![],
    };
    if status == OrderStatus::Cancelled {
        data.cancelled_at = Some(Timestamp(placed_at.0 + 86_400_000_000));
    }
    data.payments.push(Payment {
        method: pick(rng, METHODS).to_string(),
        installments: rng.gen_range(1..=10),
        value: data.total(),
        paid_at: data.approved_at,
        gateway: None,
        transaction_id: None,
    });
    data
}

/// A ticket on `order`: mostly conversations between customer and seller, some
/// instances with no message yet, some mediated or archived, a few closed.
fn make_ticket(
    rng: &mut StdRng,
    order: &OrderData,
    subject: &Subject,
    seq: u64,
    now: Timestamp,
) -> ImportTicket {
    let opened = Timestamp(
        (order.placed_at.0 + rng.gen_range(86_400_000_000..1_209_600_000_000)).min(now.0),
    );
    let customer = Author {
        party: Party::Customer,
        name: Some(order.customer.name.clone()),
        email: order.customer.email.clone(),
        code: Some((100_000 + seq).to_string()),
    };
    let seller = Author {
        party: Party::Seller,
        name: None,
        email: None,
        code: None,
    };
    let instance = seq % 10 == 9;
    let mut messages = Vec::new();
    let mut at = opened;
    if !instance {
        messages.push(TicketMessage {
            id: 0,
            ticket_id: 0,
            conversation: Conversation::CustomerSeller,
            author: customer.clone(),
            content: pick(rng, CUSTOMER_LINES).to_string(),
            customer_can_view: true,
            created_at: at,
            replied_at: None,
            subject: None,
            responsible: None,
        });
        if rng.gen_bool(0.6) {
            at = Timestamp(at.0 + rng.gen_range(600_000_000..86_400_000_000));
            messages[0].replied_at = Some(at);
            messages.push(TicketMessage {
                id: 0,
                ticket_id: 0,
                conversation: Conversation::CustomerSeller,
                author: seller,
                content: pick(rng, SELLER_LINES).to_string(),
                customer_can_view: true,
                created_at: at,
                replied_at: None,
                subject: None,
                responsible: None,
            });
        }
    }
    let replied = messages.len() == 2;
    let read_state = match (instance, replied, seq % 7) {
        (_, _, 0) => ReadState::Archived,
        (false, false, _) => ReadState::Unread,
        _ => ReadState::Read,
    };
    let closed_at = (replied && seq.is_multiple_of(5)).then(|| Timestamp(at.0 + 3_600_000_000));
    ImportTicket {
        ticket: Ticket {
            id: 0,
            operator_id: order.operator_id.clone(),
            seller_id: order.seller_id.clone(),
            order_id: 0,
            code: ticket_code(&order.channel, &order.marketplace_order_id, 1),
            subject_id: Some(subject.id.clone()),
            subject: subject.name.clone(),
            sla_hours: subject.sla_hours,
            for_return: subject.for_return,
            responsible: Party::Seller,
            opened_by: Party::Customer,
            read_state,
            mediation: seq % 20 == 3,
            message_count: messages.len() as i64,
            last_message_at: messages.last().map(|m| m.created_at),
            closed_at,
            channel: order.channel.clone(),
            marketplace_order_id: order.marketplace_order_id.clone(),
            warehouse: order.warehouse.clone(),
            created_at: opened,
            updated_at: closed_at.unwrap_or(at),
        },
        messages,
    }
}

/// Drops Portuguese accents for e-mail local parts (`José` -> `Jose`).
fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'Á' | 'À' | 'Â' | 'Ã' => 'A',
            'é' | 'ê' => 'e',
            'É' | 'Ê' => 'E',
            'í' => 'i',
            'Í' => 'I',
            'ó' | 'ô' | 'õ' => 'o',
            'Ó' | 'Ô' | 'Õ' => 'O',
            'ú' | 'ü' => 'u',
            'Ú' => 'U',
            'ç' => 'c',
            'Ç' => 'C',
            c => c,
        })
        .collect()
}
