//! What happens to an order after the marketplace placed it: its lifecycle state and
//! history, the interactions that record each step, its invoice (NF-e), tracking
//! codes, the ERPs that took it, pendencies and warnings.
//!
//! The marketplace's own data (customer, items, payments) is [`OrderData`], replaced
//! by each push; this is the hub's, changed only by decided [`OrderChange`]s (see
//! `crate::lifecycle` for which moves are legal) and saved guarded by the version it
//! was decided on, so two updates racing on one order never lose one: the second is
//! decided again on the first's result, or refused.

use chrono::Datelike;

use crate::{
    CatalogEvent, Cents, Document, FieldError, NfeAccessKey, OrderData, OrderEvent, OrderState,
    ProductKind, Timestamp, TrackingCode,
};

/// One product line of an invoice, with its CFOP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceProduct {
    /// `simple` or `kit` (the document supports only those).
    pub kind: ProductKind,
    pub sku: String,
    pub cfop: u32,
}

/// An order's NF-e.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub series: u32,
    pub number: u64,
    pub access_key: NfeAccessKey,
    pub issued_at: Timestamp,
    pub value: Cents,
    pub products: Vec<InvoiceProduct>,
}

impl Invoice {
    /// Checks what the invoice says against its key and the seller: the key's series
    /// and number are the invoice's, its issuer the seller (when the seller has a
    /// document); CFOPs are exit codes; the value is positive; products are simple or
    /// kit. The key itself was checked when parsed.
    pub fn validate(&self, seller: Option<&Document>) -> Result<(), FieldError> {
        self.access_key
            .check_matches(self.series, self.number, seller)
            .map_err(|e| e.under("accessKey"))?;
        if self.number == 0 {
            return Err(FieldError::new("number", "an NF-e's number starts at 1"));
        }
        // The key's AAMM is the month of issue, in the issuer's (Brasília) time: a
        // date in another month is not this NF-e's.
        let issued = self.issued_at.in_zone(crate::time::brasilia());
        let (year, month) = self.access_key.year_month();
        if (issued.year(), issued.month()) != (year, month) {
            return Err(FieldError::new(
                "date",
                format!(
                    "the NF-e was issued in {year}-{month:02} (its key's AAMM), not in {}",
                    issued.format("%Y-%m")
                ),
            ));
        }
        if self.value.0 <= 0 {
            return Err(FieldError::new("value", "must be greater than zero"));
        }
        if self.products.is_empty() {
            return Err(FieldError::new(
                "products",
                "must list the invoiced products",
            ));
        }
        for (i, p) in self.products.iter().enumerate() {
            if p.kind == ProductKind::Group {
                return Err(FieldError::new(
                    format!("products[{i}].type"),
                    "only simple and kit products are invoiced",
                ));
            }
            crate::catalog::check_key(&format!("products[{i}].sku"), &p.sku)?;
            crate::fiscal::check_exit_cfop(p.cfop)
                .map_err(|e| e.under(&format!("products[{i}].cfop")))?;
        }
        Ok(())
    }
}

/// One move of the order's state (`statusHistory`): `from` is `None` for the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub from: Option<OrderState>,
    pub to: OrderState,
    pub at: Timestamp,
}

/// Who an interaction is attributed to, in the document's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionOrigin {
    /// The marketplace side (the document's `administration`).
    Administration,
    /// The seller's system through its API.
    Api,
}

impl InteractionOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionOrigin::Administration => "administration",
            InteractionOrigin::Api => "api",
        }
    }
}

/// A recorded step of the order, worded for people (`interactions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub description: String,
    pub origin: InteractionOrigin,
    pub action: String,
    pub at: Timestamp,
}

/// The ERPs whose state `erp_type` filters by (00K's list).
pub const ERP_TYPES: [&str; 9] = [
    "tiny",
    "bling",
    "informix",
    "sony",
    "abacos",
    "eccosys",
    "millenium",
    "softvar",
    "sap",
];

/// Which ERP took the order, when, and its error if taking it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpMark {
    /// One of [`ERP_TYPES`].
    pub erp: String,
    pub sent: bool,
    pub error: Option<String>,
    pub at: Timestamp,
}

impl ErpMark {
    pub fn parse_erp(raw: &str) -> Result<String, FieldError> {
        let s = raw.trim().to_ascii_lowercase();
        if ERP_TYPES.contains(&s.as_str()) {
            Ok(s)
        } else {
            Err(FieldError::new(
                "type",
                format!("'{raw}' is not an ERP type ({})", ERP_TYPES.join(", ")),
            ))
        }
    }
}

/// What is missing for an order to be handled without a person looking (`pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pendency {
    /// A company customer without its state inscription.
    Document,
    /// No payment, or payments that do not add up to the order's total.
    Payment,
    /// No customer e-mail.
    Email,
    /// No shipping address, or one without a number.
    Address,
    /// An ordered SKU the seller's catalog does not have.
    Attribute,
}

impl Pendency {
    pub const ALL: [Pendency; 5] = [
        Pendency::Document,
        Pendency::Payment,
        Pendency::Email,
        Pendency::Address,
        Pendency::Attribute,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pendency::Document => "document",
            Pendency::Payment => "payment",
            Pendency::Email => "email",
            Pendency::Address => "address",
            Pendency::Attribute => "attribute",
        }
    }
}

/// The pendencies that follow from the order's data; `unknown_skus` are the ordered
/// SKUs the seller's catalog lacks (the caller looked them up).
pub fn pendencies(data: &OrderData, unknown_skus: &[String]) -> Vec<Pendency> {
    let mut out = Vec::new();
    let c = &data.customer;
    if c.document.kind == crate::DocumentKind::Cnpj && c.state_inscription.is_none() {
        out.push(Pendency::Document);
    }
    let paid: i64 = data.payments.iter().map(|p| p.value.0).sum();
    if data.payments.is_empty() || paid != data.total().0 {
        out.push(Pendency::Payment);
    }
    if c.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
        out.push(Pendency::Email);
    }
    if data
        .shipping_address
        .as_ref()
        .is_none_or(|a| a.number.as_deref().is_none_or(|n| n.trim().is_empty()))
    {
        out.push(Pendency::Address);
    }
    if !unknown_skus.is_empty() {
        out.push(Pendency::Attribute);
    }
    out
}

/// The warnings an order's data gives, kept with it for the seller to read: what the
/// `attribute` pendency only flags (which ordered SKUs the catalog lacks) and items
/// sold at no price. Each names its item by SKU; the order is kept and can still move.
pub fn warnings(data: &OrderData, unknown_skus: &[String]) -> Vec<String> {
    let mut out: Vec<String> = unknown_skus
        .iter()
        .map(|sku| format!("SKU {sku} is not in the catalog: its stock is not reserved"))
        .collect();
    for item in &data.items {
        if item.unit_price.0 == 0 {
            out.push(format!("SKU {} is sold at no price", item.sku));
        }
    }
    out
}

/// A move of stock an order's change makes in the seller's catalog: `delta` units of
/// one product at one location (negative reserves, positive returns). The store
/// applies it only if the quantity stays at or above zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    pub product_id: i64,
    pub location_id: i64,
    pub delta: i64,
}

/// The hub's side of a stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderProgress {
    pub state: OrderState,
    /// Bumped by every change; a change is saved only over the version it read.
    pub version: i64,
    pub history: Vec<StateChange>,
    pub interactions: Vec<Interaction>,
    pub invoice: Option<Invoice>,
    pub trackings: Vec<TrackingCode>,
    /// One mark per ERP, the latest.
    pub erp: Vec<ErpMark>,
    pub pendencies: Vec<Pendency>,
    pub warnings: Vec<String>,
    /// The stock moves that reserved the order's SKUs, while they are reserved (a
    /// cancellation returns exactly these).
    pub reservation: Vec<StockMove>,
    pub shipped_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
}

impl OrderProgress {
    /// Whether any ERP has taken the order.
    pub fn erp_sent(&self) -> bool {
        self.erp.iter().any(|m| m.sent)
    }
}

/// A decided change to an order's progress, saved in one transaction with its stock
/// moves, or refused `Stale` when the order's version is no longer `loaded_version`
/// (or a stock move would take a quantity below zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderChange {
    pub order_id: i64,
    pub loaded_version: i64,
    pub now: Timestamp,
    /// The order's progress after the change (history and interactions included).
    pub progress: OrderProgress,
    /// History entries and interactions new in this change (the tail of `progress`'s).
    pub new_history: usize,
    pub new_interactions: usize,
    pub stock: Vec<StockMove>,
    pub events: Vec<OrderEvent>,
    /// The events of each product the stock moves touch (its stock changed), written
    /// once per product.
    pub stock_events: Vec<CatalogEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(number: u64, issued_at: &str) -> Invoice {
        // cUF 35, AAMM 2403, the issuer, model 55, series 001, nNF, tpEmis 1, cNF.
        let body = format!("352403{}55001{number:09}100010800", "11222333000181");
        let key = format!("{body}{}", crate::fiscal::mod11_check_digit(&body));
        Invoice {
            series: 1,
            number,
            access_key: NfeAccessKey::parse(&key).unwrap(),
            issued_at: Timestamp::parse(issued_at).unwrap(),
            value: Cents(100),
            products: vec![InvoiceProduct {
                kind: ProductKind::Simple,
                sku: "A1".into(),
                cfop: 5102,
            }],
        }
    }

    #[test]
    fn an_invoice_is_dated_in_its_keys_month_and_numbered_from_one() {
        // March 2024 in Brasília runs to 2024-04-01T03:00Z.
        invoice(7, "2024-03-01T03:00:00Z").validate(None).unwrap();
        invoice(7, "2024-04-01T02:59:59Z").validate(None).unwrap();
        for at in [
            "2024-04-01T03:00:00Z",
            "2024-03-01T02:59:59Z",
            "2999-03-05T10:00:00Z",
        ] {
            assert_eq!(
                invoice(7, at).validate(None).unwrap_err().field,
                "date",
                "{at}"
            );
        }
        assert_eq!(
            invoice(0, "2024-03-05T10:00:00Z")
                .validate(None)
                .unwrap_err()
                .field,
            "number"
        );
    }

    #[test]
    fn warnings_name_unknown_skus_and_unpriced_items() {
        let mut data = crate::order::tests::sample();
        assert_eq!(warnings(&data, &[]), Vec::<String>::new());
        data.items[0].unit_price = Cents(0);
        let sku = data.items[0].sku.clone();
        let got = warnings(&data, &["GONE-1".to_string()]);
        assert_eq!(
            got,
            vec![
                "SKU GONE-1 is not in the catalog: its stock is not reserved".to_string(),
                format!("SKU {sku} is sold at no price"),
            ]
        );
    }
}
