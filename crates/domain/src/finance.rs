//! Financial reconciliation: what a marketplace should pay a seller for an order
//! (expected extract lines), what its payout statements say it paid (releases), and
//! the verdict on each line (situation, observation) that finance reads.
//!
//! An order a marketplace settles is a [`SettlementOrder`], keyed by seller, channel
//! and the marketplace's order code: it comes from the order lifecycle when an order
//! reaches INVOICED (and follows its later changes), or is pushed by an integrator
//! through Koncili alone. Each channel has [`ChannelTerms`]: a commission rule, payment
//! terms and a tolerance, configured by the operator or taken from a preset.
//! [`expected_lines`] decides an order's lines (one `SALE` per installment, its
//! `COMISSION` per installment, one `SHIP` for freight); [`judge`] decides a line's
//! situation from what was expected and what was released so far. Money is integer
//! centavos everywhere; percentages are integer hundredths of a percent ([`Rate`]).
//!
//! Sign convention (the document's): every line's expected value is a positive
//! amount, the commission included (what the marketplace charges, 85.5 for 15% of
//! 570); a statement writes releases with the same sign, and a negative release is a
//! reversal of that kind (a sale refunded, a commission returned).

use crate::{Cents, FieldError, Timestamp};

/// The kind of an extract line, as Koncili spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExtractType {
    Sale,
    /// Koncili's spelling.
    Comission,
    Ship,
}

impl ExtractType {
    pub const ALL: [ExtractType; 3] =
        [ExtractType::Sale, ExtractType::Comission, ExtractType::Ship];

    /// `SALE`, `COMISSION`, `SHIP`.
    pub fn as_str(self) -> &'static str {
        todo!()
    }

    /// What a finance person reads for the type (`releasetype` lists it).
    pub fn description(self) -> &'static str {
        todo!()
    }

    /// Exact, upper case; anything else (`TRANSFER` included) is refused naming `type`.
    pub fn parse(raw: &str) -> Result<ExtractType, FieldError> {
        todo!()
    }
}

/// A line's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Situation {
    /// Nothing released yet.
    Waiting,
    /// Released equal to expected within the channel's tolerance.
    Concilied,
    /// Released differs beyond the tolerance (value or commission percentage), is
    /// short of expected (see [`Verdict::partial`]), or nothing was expected.
    Divergent,
}

impl Situation {
    pub const ALL: [Situation; 3] = [
        Situation::Waiting,
        Situation::Concilied,
        Situation::Divergent,
    ];
    /// `WAITING`, `CONCILIED`, `DIVERGENT`.
    pub fn as_str(self) -> &'static str {
        todo!()
    }
    pub fn parse(raw: &str) -> Result<Situation, FieldError> {
        todo!()
    }
}

/// A percentage in hundredths of a percent: 15% is `Rate(1500)`, 15.5% `Rate(1550)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(pub i64);

impl Rate {
    /// Exact decimal text with at most two decimals (`15`, `15.5`, `15.25`), 0 to 100.
    pub fn parse_decimal(text: &str) -> Result<Rate, FieldError> {
        todo!()
    }
    /// As the wire writes it (15.5).
    pub fn to_decimal(self) -> f64 {
        self.0 as f64 / 100.0
    }
    /// `amount` times this rate, rounded half away from zero to the centavo.
    pub fn of(self, amount: Cents) -> Cents {
        todo!()
    }
}

/// A commission rate for one category (by the category's name or id as the order's
/// items carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRate {
    pub category: String,
    pub rate: Rate,
}

/// What a channel charges: `rate` of the items' value (or the category's rate for an
/// item whose category is listed), plus a fixed fee per order and one per item unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionRule {
    pub rate: Rate,
    pub by_category: Vec<CategoryRate>,
    pub fixed_per_order: Cents,
    pub fixed_per_item: Cents,
}

/// The date installments are counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermsBase {
    Invoice,
    Delivery,
}

impl TermsBase {
    /// `invoice`, `delivery`.
    pub fn as_str(self) -> &'static str {
        todo!()
    }
    pub fn parse(raw: &str) -> Result<TermsBase, FieldError> {
        todo!()
    }
}

/// When a channel pays: installment 1 `days` after the base date (midnight UTC of that
/// day), each next one a calendar month later (day clamped to the month's end). An
/// order not yet delivered under `Delivery` terms is expected from its invoice date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentTerms {
    pub base: TermsBase,
    pub days: u32,
}

/// How far a release may be from what was expected and still be `CONCILIED`: the
/// difference is at most the larger of `amount` and `percent` of the expected value;
/// a commission percentage differs when it is more than `percent` of the expected
/// percentage away (exactly equal when `percent` is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tolerance {
    pub amount: Cents,
    pub percent: Rate,
}

/// A channel's configured (or preset) rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelTerms {
    pub channel: String,
    pub commission: CommissionRule,
    pub payment: PaymentTerms,
    pub tolerance: Tolerance,
}

impl ChannelTerms {
    /// The preset for a channel name (case-insensitive): the large Brazilian
    /// marketplaces' published commission and payout terms, and for any other name a
    /// default (16%, 30 days after invoice, tolerance R$ 0.05). Document the table.
    pub fn preset(channel: &str) -> ChannelTerms {
        todo!()
    }

    /// Checks the rules (rates 0–100%, fees and tolerance not negative, days at most
    /// 365, category names not blank and not repeated), naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        todo!()
    }
}

/// Where a settlement order stands, in Koncili's `orderStatus` vocabulary. Orders are
/// reconciled from INVOICED on; anything earlier is refused by [`SettlementStatus::parse`]
/// with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementStatus {
    Invoiced,
    /// Shipped, waiting delivery.
    PaidWaitingDelivery,
    /// Delivered.
    Concluded,
    Canceled,
}

impl SettlementStatus {
    /// `INVOICED`, `PAID_WAITING_DELIVERY`, `CONCLUDED`, `CANCELED`.
    pub fn as_str(self) -> &'static str {
        todo!()
    }
    /// The four above; Koncili's earlier statuses (`NEW`, `APPROVED`,
    /// `PAID_WAITING_SHIP`, `PENDING`...) refused as "below INVOICED", others unknown.
    pub fn parse(raw: &str) -> Result<SettlementStatus, FieldError> {
        todo!()
    }
}

/// One item of a settlement order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementItem {
    /// The marketplace's item id (`idInMarketplace`).
    pub marketplace_item_id: Option<String>,
    /// The seller's SKU (`code`).
    pub sku: String,
    pub quantity: i64,
    pub unit_value: Cents,
    pub freight: Cents,
    /// The category its commission rate is looked up by, when known.
    pub category: Option<String>,
    pub sent_at: Option<Timestamp>,
}

/// One payment of a settlement order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementPayment {
    pub method: String,
    pub paid_at: Option<Timestamp>,
    pub value: Cents,
    /// At least 1.
    pub installments: u32,
}

/// An order as reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementOrder {
    pub operator_id: String,
    pub seller_id: String,
    /// The channel (marketplace) name, as Koncili's `channelName`.
    pub channel: String,
    /// The marketplace's order code (`orderCode`), the key within the channel.
    pub order_code: String,
    /// The marketplace's displayed order id (`orderId`, "01-23456789").
    pub order_id: String,
    /// The hub's own order id (`orderIdHubOrigin`) when the order lives in the order
    /// lifecycle; `None` for orders pushed through Koncili alone.
    pub hub_order_id: Option<i64>,
    pub hub_name: Option<String>,
    pub account_name: Option<String>,
    pub status: SettlementStatus,
    pub ordered_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub invoiced_at: Option<Timestamp>,
    pub invoice_number: Option<String>,
    pub sent_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub customer_name: String,
    pub customer_document: Option<String>,
    /// What the customer paid (`totalNetValue`), freight included.
    pub total: Cents,
    pub freight: Cents,
    pub items: Vec<SettlementItem>,
    pub payments: Vec<SettlementPayment>,
}

impl SettlementOrder {
    /// Field rules (order code not blank, quantities positive, values not negative,
    /// an invoice date from INVOICED on, installments 1 to 24), naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        todo!()
    }
    /// The first payment's method (`paymentMethod`), if any.
    pub fn payment_method(&self) -> Option<&str> {
        todo!()
    }
    /// The number of installments the SALE is paid in (the first payment's, at least 1).
    pub fn plots(&self) -> u32 {
        todo!()
    }
}

/// The key of a line within a seller's channel: order, type, installment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    pub order_code: String,
    pub kind: ExtractType,
    pub plot_number: u32,
}

/// One line an order is expected to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedLine {
    pub kind: ExtractType,
    pub plot_number: u32,
    pub plots_quantity: u32,
    /// The SALE installment's value this line belongs to (`plotValue`).
    pub plot_value: Cents,
    /// What is expected for this line (zero for a cancelled order).
    pub value: Cents,
    /// The commission percentage, on COMISSION lines when one rate applies to all items.
    pub percent: Option<Rate>,
    pub due: Timestamp,
}

/// The lines `order` is expected to produce under `terms`: SALE per installment
/// (`total` split evenly, the centavos left over on installment 1), COMISSION per
/// installment (the commission split the same way), one SHIP line (plot 1 of 1) when
/// freight is positive. A cancelled order expects every line it would have had, at
/// zero. Deterministic: the same order and terms give the same lines in the same order
/// (by type, then installment).
pub fn expected_lines(order: &SettlementOrder, terms: &ChannelTerms) -> Vec<ExpectedLine> {
    todo!()
}

/// What a line has received so far, summed over every statement that released on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Released {
    pub value: Cents,
    /// How many release rows were summed.
    pub parts: u32,
    /// The latest release's commission percentage, if it carried one.
    pub percent: Option<Rate>,
    pub last_at: Option<Timestamp>,
}

/// A line's facts for [`judge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFacts {
    pub kind: ExtractType,
    /// `None`: nothing is expected for this key (an unknown order, an installment or
    /// type the order does not have): a chargeback, an adjustment.
    pub expected: Option<Cents>,
    pub expected_percent: Option<Rate>,
    /// The order was cancelled (its expected values are zero).
    pub cancelled: bool,
    pub released: Released,
}

/// A line's situation and the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub situation: Situation,
    /// Released in parts (or one) that do not yet add up: same sign as expected and
    /// short of it beyond the tolerance. The situation is then `DIVERGENT`.
    pub partial: bool,
    /// "OK" when equal; otherwise why, in words finance reads, amounts as R$ 1.234,56
    /// ("Released R$ 560,00 of R$ 570,00 expected: R$ 10,00 short, beyond the tolerance
    /// of R$ 0,05"); `None` while waiting.
    pub observation: Option<String>,
}

/// Decides a line's verdict (see [`Situation`] and [`Verdict`]).
pub fn judge(facts: &LineFacts, tolerance: &Tolerance) -> Verdict {
    todo!()
}

/// One row of a payout statement, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    /// The row's 1-based position among the statement's data rows.
    pub row: u64,
    pub order_code: String,
    pub kind: ExtractType,
    pub plot_number: u32,
    /// May be negative (a reversal); exact in centavos.
    pub value: Cents,
    pub percent: Option<Rate>,
    pub released_at: Timestamp,
    /// Columns the format does not name, kept as given (name, text).
    pub extra: Vec<(String, String)>,
}

impl StatementRow {
    /// The row's key.
    pub fn key(&self) -> LineKey {
        LineKey {
            order_code: self.order_code.clone(),
            kind: self.kind,
            plot_number: self.plot_number,
        }
    }

    /// Validates one row given as (column, text) pairs (a CSV record with its header,
    /// or a JSON object's members, numbers as their decimal text): `orderCode` not
    /// blank, `type` one of [`ExtractType`], `plotNumber` a positive integer (1 when
    /// absent), `releasedValue` exact in centavos, `releasedPercentualComission`
    /// optional (0–100, two decimals), `releasedDate` an ISO 8601 date or time (a
    /// bare date is midnight UTC). Errors name the column.
    pub fn parse(row: u64, fields: &[(String, String)]) -> Result<StatementRow, FieldError> {
        todo!()
    }
}
