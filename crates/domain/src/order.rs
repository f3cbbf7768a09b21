//! Orders as marketplaces deliver them, with the rules every dialect relies on.
//!
//! An order belongs to one seller and is identified in the marketplace by
//! (`channel`, `marketplace_order_id`); pushing the same pair again updates it. The
//! model carries what every vendor API shows of an order (Omnik's order, marketplace
//! and customer data; 00K's customer, address, products, freight and payments;
//! Koncili's payment installments and totals), so later dialects read it without a
//! schema change. How it is stored is each backend's business: the types here carry
//! no serde layout (SQLite's `order_codec` and PostgreSQL's `order_json` own theirs).

use chrono::{Datelike, NaiveDate};

use crate::time::brasilia;
use crate::vocabulary::{
    check_canonical, parse_country, parse_gender, parse_payment_method, parse_phone_type,
};
use crate::{Cents, Document, DocumentKind, FieldError, Timestamp};

/// Where an order is in its life. Vendors spell these differently; each dialect maps,
/// and each storage backend gives a status its stored form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OrderStatus {
    #[default]
    New,
    AwaitingPayment,
    Approved,
    Invoiced,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::New,
        OrderStatus::AwaitingPayment,
        OrderStatus::Approved,
        OrderStatus::Invoiced,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Approved => "approved",
            OrderStatus::Invoiced => "invoiced",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<OrderStatus, FieldError> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "",
                    format!(
                        "unknown status '{s}': expected one of {}",
                        OrderStatus::ALL.map(|s| s.as_str()).join(", ")
                    ),
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `mobile`, `home`, `work`, as the marketplace labels it.
    pub kind: Option<String>,
    pub ddi: String,
    pub ddd: String,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub name: String,
    pub document: Document,
    pub gender: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<String>,
    pub corporate_name: Option<String>,
    pub trade_name: Option<String>,
    pub corporate_document: Option<String>,
    pub corporate_phone: Option<String>,
    pub state_inscription: Option<String>,
    pub phones: Vec<Phone>,
}

impl Customer {
    /// `individual` for a CPF, `company` for a CNPJ: the distinction vendors show.
    pub fn customer_type(&self) -> &'static str {
        match self.document.kind {
            DocumentKind::Cpf => "individual",
            DocumentKind::Cnpj => "company",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub kind: Option<String>,
    pub recipient: Option<String>,
    /// Eight digits, no punctuation.
    pub zipcode: String,
    pub address: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighborhood: Option<String>,
    pub city: String,
    /// Federative unit acronym (`SP`).
    pub state: String,
    pub country: String,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Cents,
    pub marketplace_item_id: Option<String>,
    pub freight: Option<Cents>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// `credit_card`, `boleto`, `pix`, ... as the marketplace names it.
    pub method: String,
    pub installments: i64,
    pub value: Cents,
    pub paid_at: Option<Timestamp>,
    pub gateway: Option<String>,
    pub transaction_id: Option<String>,
}

/// Everything about an order that the marketplace sends; what the store persists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderData {
    pub operator_id: String,
    pub seller_id: String,
    /// Marketplace name as shown to the seller (`Lojas Americanas`).
    pub channel: String,
    pub marketplace_order_id: String,
    pub site_id: Option<String>,
    pub warehouse: Option<String>,
    pub status: OrderStatus,
    pub placed_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub customer: Customer,
    pub shipping_address: Option<Address>,
    pub items: Vec<OrderItem>,
    pub freight: Cents,
    pub discount: Cents,
    pub payments: Vec<Payment>,
}

/// The head of an order: everything a customer-service case shows of it, which is all
/// but its items, freight, discount and payments. A backend may read it without the
/// rest (SQLite decodes only the beginning of a stored body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderHead {
    pub operator_id: String,
    pub seller_id: String,
    pub channel: String,
    pub marketplace_order_id: String,
    pub site_id: Option<String>,
    pub warehouse: Option<String>,
    pub status: OrderStatus,
    pub placed_at: Timestamp,
    pub approved_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub customer: Customer,
    pub shipping_address: Option<Address>,
}

impl From<OrderData> for OrderHead {
    fn from(d: OrderData) -> OrderHead {
        OrderHead {
            operator_id: d.operator_id,
            seller_id: d.seller_id,
            channel: d.channel,
            marketplace_order_id: d.marketplace_order_id,
            site_id: d.site_id,
            warehouse: d.warehouse,
            status: d.status,
            placed_at: d.placed_at,
            approved_at: d.approved_at,
            cancelled_at: d.cancelled_at,
            customer: d.customer,
            shipping_address: d.shipping_address,
        }
    }
}

/// A stored order's head with the hub's id and bookkeeping times: the order a ticket's
/// detail carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub id: i64,
    pub head: OrderHead,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Order> for OrderSummary {
    fn from(o: Order) -> OrderSummary {
        OrderSummary {
            id: o.id,
            head: o.data.into(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A stored order: its data plus the hub's id and bookkeeping times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The hub's order id: sequential, shown as a number by vendors that show numbers.
    pub id: i64,
    pub data: OrderData,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Whether an upsert made a new order or updated the one with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// The 27 federative units: acronym and name.
const UFS: [(&str, &str); 27] = [
    ("AC", "Acre"),
    ("AL", "Alagoas"),
    ("AP", "Amapá"),
    ("AM", "Amazonas"),
    ("BA", "Bahia"),
    ("CE", "Ceará"),
    ("DF", "Distrito Federal"),
    ("ES", "Espírito Santo"),
    ("GO", "Goiás"),
    ("MA", "Maranhão"),
    ("MT", "Mato Grosso"),
    ("MS", "Mato Grosso do Sul"),
    ("MG", "Minas Gerais"),
    ("PA", "Pará"),
    ("PB", "Paraíba"),
    ("PR", "Paraná"),
    ("PE", "Pernambuco"),
    ("PI", "Piauí"),
    ("RJ", "Rio de Janeiro"),
    ("RN", "Rio Grande do Norte"),
    ("RS", "Rio Grande do Sul"),
    ("RO", "Rondônia"),
    ("RR", "Roraima"),
    ("SC", "Santa Catarina"),
    ("SP", "São Paulo"),
    ("SE", "Sergipe"),
    ("TO", "Tocantins"),
];

/// The name of the state with acronym `uf` (`SP` -> `São Paulo`).
pub fn uf_name(uf: &str) -> Option<&'static str> {
    UFS.iter().find(|(a, _)| *a == uf).map(|(_, n)| *n)
}

/// Normalises a CEP (`01310-100` -> `01310100`), refusing anything but eight digits.
pub fn parse_zipcode(raw: &str) -> Result<String, FieldError> {
    let z: String = raw.chars().filter(|c| *c != '-' && *c != '.').collect();
    if z.len() != 8 || !z.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            "",
            format!("'{raw}' is not a CEP (8 digits)"),
        ));
    }
    Ok(z)
}

/// Checks a federative-unit acronym.
pub fn parse_uf(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim().to_ascii_uppercase();
    if uf_name(&s).is_some() {
        Ok(s)
    } else {
        Err(FieldError::new(
            "",
            format!("'{raw}' is not a Brazilian state acronym"),
        ))
    }
}

/// Reads a birth date: a bare `yyyy-MM-dd`, or an ISO 8601 date-time whose date part
/// is taken as written (00K sends `1980-01-01T00:00:00.000Z`; moving that midnight
/// to Brasília would make the customer a day older).
fn birth_date(raw: &str) -> Result<NaiveDate, FieldError> {
    let s = raw.trim();
    let bad = || {
        FieldError::new(
            "",
            format!("'{raw}' is not a date (expected yyyy-MM-dd, e.g. 1980-01-31)"),
        )
    };
    let (date, rest) = match (s.get(..10), s.get(10..)) {
        (Some(d), Some(r)) => (d, r),
        _ => return Err(bad()),
    };
    let time_ok = rest.is_empty() || (rest.starts_with(['T', ' ']) && Timestamp::parse(s).is_ok());
    if !time_ok {
        return Err(bad());
    }
    // chrono's `%Y-%m-%d` also takes `1980-1-31` and signed years: insist on the shape.
    let b = date.as_bytes();
    let shaped = b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let d = shaped
        .then(|| {
            NaiveDate::from_ymd_opt(
                date[0..4].parse().ok()?,
                date[5..7].parse().ok()?,
                date[8..10].parse().ok()?,
            )
        })
        .flatten()
        .ok_or_else(bad)?;
    if d.year() < 1900 {
        return Err(FieldError::new("", format!("'{raw}' is before 1900")));
    }
    Ok(d)
}

/// Normalises a birth date to `yyyy-MM-dd`, refusing what is not a real date
/// (`banana`, `2023-02-30`). Whether it lies in the future is for
/// [`OrderData::validate`], which knows the time.
pub fn parse_birth_date(raw: &str) -> Result<String, FieldError> {
    birth_date(raw).map(|d| d.format("%Y-%m-%d").to_string())
}

fn required(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(())
}

impl OrderData {
    /// The rules an order must satisfy before it is stored at `now`, whatever dialect
    /// sent it. Fields are named by the native API's JSON paths. Vocabulary fields
    /// must already hold their canonical spelling (see [`crate::vocabulary`]).
    pub fn validate(&self, now: Timestamp) -> Result<(), FieldError> {
        required("channel", &self.channel, 100)?;
        required("marketplaceOrderId", &self.marketplace_order_id, 100)?;
        self.validate_customer(now)?;
        if let Some(a) = &self.shipping_address {
            check_canonical("shippingAddress.country", &a.country, parse_country)?;
        }
        if self.items.is_empty() {
            return Err(FieldError::new("items", "must have at least one item"));
        }
        for (i, item) in self.items.iter().enumerate() {
            let f = |name: &str| format!("items[{i}].{name}");
            required(&f("sku"), &item.sku, 100)?;
            required(&f("name"), &item.name, 500)?;
            if item.quantity <= 0 || item.quantity > 1_000_000 {
                return Err(FieldError::new(
                    f("quantity"),
                    "must be between 1 and 1000000",
                ));
            }
            if item.unit_price.0 < 0 {
                return Err(FieldError::new(f("unitPrice"), "must not be negative"));
            }
            if item.freight.is_some_and(|c| c.0 < 0) {
                return Err(FieldError::new(f("freight"), "must not be negative"));
            }
        }
        if self.freight.0 < 0 {
            return Err(FieldError::new("freight", "must not be negative"));
        }
        if self.discount.0 < 0 {
            return Err(FieldError::new("discount", "must not be negative"));
        }
        // A discount past what the customer pays would make the total negative.
        let payable = self.items_total() + self.freight;
        if self.discount > payable {
            return Err(FieldError::new(
                "discount",
                format!(
                    "{} is more than the items and freight ({payable})",
                    self.discount
                ),
            ));
        }
        for (i, p) in self.payments.iter().enumerate() {
            check_canonical(
                &format!("payments[{i}].method"),
                &p.method,
                parse_payment_method,
            )?;
            if p.installments < 1 || p.installments > 99 {
                return Err(FieldError::new(
                    format!("payments[{i}].installments"),
                    "must be between 1 and 99",
                ));
            }
            if p.value.0 < 0 {
                return Err(FieldError::new(
                    format!("payments[{i}].value"),
                    "must not be negative",
                ));
            }
        }
        if let Some(a) = self.approved_at {
            if a < self.placed_at {
                return Err(FieldError::new("approvedAt", "is before placedAt"));
            }
        }
        Ok(())
    }

    fn validate_customer(&self, now: Timestamp) -> Result<(), FieldError> {
        let c = &self.customer;
        required("customer.name", &c.name, 200)?;
        if let Some(g) = &c.gender {
            check_canonical("customer.gender", g, parse_gender)?;
        }
        if let Some(raw) = &c.birth_date {
            let field = "customer.birthDate";
            let date = birth_date(raw).map_err(|e| e.under(field))?;
            if *raw != date.format("%Y-%m-%d").to_string() {
                return Err(FieldError::new(field, "must be written yyyy-MM-dd"));
            }
            if date > now.in_zone(brasilia()).date_naive() {
                return Err(FieldError::new(field, format!("'{raw}' is in the future")));
            }
        }
        if let Some(d) = &c.corporate_document {
            // The company's CNPJ, as checked as the customer's own document is.
            Document::parse(d, Some(DocumentKind::Cnpj))
                .map_err(|e| e.under("customer.corporateDocument"))?;
        }
        for (i, p) in c.phones.iter().enumerate() {
            if let Some(kind) = &p.kind {
                check_canonical(
                    &format!("customer.phones[{i}].type"),
                    kind,
                    parse_phone_type,
                )?;
            }
        }
        Ok(())
    }

    pub fn items_total(&self) -> Cents {
        self.items
            .iter()
            .map(|i| {
                i.unit_price
                    .checked_mul(i.quantity)
                    .unwrap_or(Cents(i64::MAX))
            })
            .sum()
    }

    /// What the customer pays: items plus freight minus discount.
    pub fn total(&self) -> Cents {
        self.items_total() + self.freight - self.discount
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> OrderData {
        OrderData {
            operator_id: "op".into(),
            seller_id: "s".into(),
            channel: "Lojas Americanas".into(),
            marketplace_order_id: "02-1000000004".into(),
            site_id: Some("LASA".into()),
            warehouse: Some("98".into()),
            status: OrderStatus::New,
            placed_at: Timestamp::parse("2023-06-06T21:41:57-03:00").unwrap(),
            approved_at: None,
            cancelled_at: None,
            customer: Customer {
                name: "João da Silva".into(),
                document: Document::parse("52998224725", None).unwrap(),
                gender: None,
                email: None,
                birth_date: None,
                corporate_name: None,
                trade_name: None,
                corporate_document: None,
                corporate_phone: None,
                state_inscription: None,
                phones: vec![],
            },
            shipping_address: None,
            items: vec![OrderItem {
                sku: "99jjs8".into(),
                name: "Produto".into(),
                quantity: 2,
                unit_price: Cents(49999),
                marketplace_item_id: None,
                freight: None,
            }],
            freight: Cents(1500),
            discount: Cents(100),
            payments: vec![],
        }
    }

    #[test]
    fn totals() {
        let o = sample();
        assert_eq!(o.items_total(), Cents(99998));
        assert_eq!(o.total(), Cents(99998 + 1500 - 100));
        assert!(o.validate(now()).is_ok());
    }

    #[test]
    fn rules_name_the_field() {
        let mut o = sample();
        o.items[0].quantity = 0;
        assert_eq!(o.validate(now()).unwrap_err().field, "items[0].quantity");
        let mut o = sample();
        o.items.clear();
        assert_eq!(o.validate(now()).unwrap_err().field, "items");
        let mut o = sample();
        o.approved_at = Some(Timestamp(0));
        assert_eq!(o.validate(now()).unwrap_err().field, "approvedAt");
        // A discount up to the items and freight; past them the total would be
        // negative.
        let mut o = sample();
        o.discount = o.items_total() + o.freight;
        assert!(o.validate(now()).is_ok());
        o.discount.0 += 1;
        assert_eq!(o.validate(now()).unwrap_err().field, "discount");
        // A company customer's CNPJ has valid check digits.
        let mut o = sample();
        o.customer.corporate_document = Some("11.222.333/0001-81".into());
        assert!(o.validate(now()).is_ok());
        o.customer.corporate_document = Some("11222333000182".into());
        assert_eq!(
            o.validate(now()).unwrap_err().field,
            "customer.corporateDocument"
        );
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-12-01T10:00:00Z").unwrap()
    }

    #[test]
    fn birth_dates_are_real_and_past() {
        assert_eq!(parse_birth_date("1980-01-31").unwrap(), "1980-01-31");
        assert_eq!(
            parse_birth_date("1980-01-01T00:00:00.000Z").unwrap(),
            "1980-01-01"
        );
        for bad in [
            "banana",
            "2023-02-30",
            "1980-1-31",
            "31/01/1980",
            "+1980-01-31",
            "1980-01-31Tnoon",
            "1899-12-31",
            "",
        ] {
            assert!(parse_birth_date(bad).is_err(), "{bad}");
        }
        let with = |b: &str| {
            let mut o = sample();
            o.customer.birth_date = Some(b.into());
            o.validate(now())
        };
        assert!(with("2026-12-01").is_ok());
        assert!(with("1980-01-31").is_ok());
        for bad in ["2026-12-02", "2023-02-30", "1980-01-01T00:00:00Z", "banana"] {
            assert_eq!(with(bad).unwrap_err().field, "customer.birthDate", "{bad}");
        }
    }

    #[test]
    fn vocabularies_name_the_field() {
        let mut o = sample();
        o.customer.gender = Some("banana".into());
        assert_eq!(o.validate(now()).unwrap_err().field, "customer.gender");
        let mut o = sample();
        o.customer.phones.push(Phone {
            kind: Some("pager".into()),
            ddi: "55".into(),
            ddd: "11".into(),
            number: "912345678".into(),
        });
        assert_eq!(
            o.validate(now()).unwrap_err().field,
            "customer.phones[0].type"
        );
        let mut o = sample();
        o.payments.push(Payment {
            method: "Credit_Card".into(),
            installments: 1,
            value: Cents(1),
            paid_at: None,
            gateway: None,
            transaction_id: None,
        });
        assert_eq!(o.validate(now()).unwrap_err().field, "payments[0].method");
        o.payments[0].method = "credit_card".into();
        assert!(o.validate(now()).is_ok());
        let mut o = sample();
        o.shipping_address = Some(Address {
            kind: None,
            recipient: None,
            zipcode: "01310100".into(),
            address: "Av. Paulista".into(),
            number: None,
            complement: None,
            neighborhood: None,
            city: "São Paulo".into(),
            state: "SP".into(),
            country: "XX".into(),
            reference: None,
        });
        assert_eq!(
            o.validate(now()).unwrap_err().field,
            "shippingAddress.country"
        );
        let mut o = sample();
        o.items[0].freight = Some(Cents(-1));
        assert_eq!(o.validate(now()).unwrap_err().field, "items[0].freight");
    }

    #[test]
    fn zip_and_uf() {
        assert_eq!(parse_zipcode("01310-100").unwrap(), "01310100");
        assert!(parse_zipcode("1310100").is_err());
        assert_eq!(parse_uf("sp").unwrap(), "SP");
        assert!(parse_uf("XX").is_err());
        assert!(OrderStatus::parse("shipped").is_ok());
        assert!(OrderStatus::parse("lost").is_err());
    }
}
