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

use chrono::{Days, Months, NaiveDate, NaiveTime};

use crate::{Cents, Document, FieldError, Order, OrderProgress, OrderState, Timestamp};

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
        match self {
            ExtractType::Sale => "SALE",
            ExtractType::Comission => "COMISSION",
            ExtractType::Ship => "SHIP",
        }
    }

    /// What a finance person reads for the type (`releasetype` lists it).
    pub fn description(self) -> &'static str {
        match self {
            ExtractType::Sale => "Sale",
            ExtractType::Comission => "Commission",
            ExtractType::Ship => "Shipping",
        }
    }

    /// Exact, upper case; anything else (`TRANSFER` included) is refused naming `type`.
    pub fn parse(raw: &str) -> Result<ExtractType, FieldError> {
        match raw.trim() {
            "SALE" => Ok(ExtractType::Sale),
            "COMISSION" => Ok(ExtractType::Comission),
            "SHIP" => Ok(ExtractType::Ship),
            "TRANSFER" => Err(FieldError::new(
                "type",
                "TRANSFER lines are not reconciled (types: SALE, COMISSION, SHIP)",
            )),
            other => Err(FieldError::new(
                "type",
                format!("unknown type '{other}' (types: SALE, COMISSION, SHIP)"),
            )),
        }
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
        match self {
            Situation::Waiting => "WAITING",
            Situation::Concilied => "CONCILIED",
            Situation::Divergent => "DIVERGENT",
        }
    }
    pub fn parse(raw: &str) -> Result<Situation, FieldError> {
        Situation::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "situation",
                    format!("unknown situation '{raw}' (WAITING, CONCILIED, DIVERGENT)"),
                )
            })
    }
}

/// A percentage in hundredths of a percent: 15% is `Rate(1500)`, 15.5% `Rate(1550)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(pub i64);

impl Rate {
    /// Exact decimal text with at most two decimals (`15`, `15.5`, `15.25`), 0 to 100.
    pub fn parse_decimal(text: &str) -> Result<Rate, FieldError> {
        use crate::money::{parse_hundredths, DecimalError};
        let value = parse_hundredths(text, 10_000).map_err(|e| {
            FieldError::new(
                "",
                match e {
                    DecimalError::NotANumber => format!("'{text}' is not a decimal number"),
                    DecimalError::TooPrecise => {
                        format!("'{text}' has more than two decimals")
                    }
                    DecimalError::TooLarge => format!("'{text}' is past 100%"),
                },
            )
        })?;
        if value < 0 {
            return Err(FieldError::new(
                "",
                format!("'{text}' is negative (a percentage is 0 to 100)"),
            ));
        }
        Ok(Rate(value))
    }
    /// As the wire writes it (15.5).
    pub fn to_decimal(self) -> f64 {
        self.0 as f64 / 100.0
    }
    /// `amount` times this rate, rounded half away from zero to the centavo.
    pub fn of(self, amount: Cents) -> Cents {
        Cents(round_div(i128::from(amount.0) * i128::from(self.0), 10_000))
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
        match self {
            TermsBase::Invoice => "invoice",
            TermsBase::Delivery => "delivery",
        }
    }
    pub fn parse(raw: &str) -> Result<TermsBase, FieldError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "invoice" => Ok(TermsBase::Invoice),
            "delivery" => Ok(TermsBase::Delivery),
            _ => Err(FieldError::new(
                "base",
                format!("unknown base '{raw}' (invoice or delivery)"),
            )),
        }
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
        let key: String = channel
            .trim()
            .chars()
            .map(|c| match c {
                ' ' | '-' | '.' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect();
        let (rate, fixed_per_item, base, days) = PRESETS
            .iter()
            .find(|p| p.names.contains(&key.as_str()))
            .map(|p| (p.rate, p.fixed_per_item, p.base, p.days))
            .unwrap_or((DEFAULT_RATE, 0, TermsBase::Invoice, 30));
        ChannelTerms {
            channel: channel.trim().to_string(),
            commission: CommissionRule {
                rate: Rate(rate),
                by_category: Vec::new(),
                fixed_per_order: Cents::ZERO,
                fixed_per_item: Cents(fixed_per_item),
            },
            payment: PaymentTerms { base, days },
            tolerance: Tolerance {
                amount: Cents(5),
                percent: Rate(0),
            },
        }
    }

    /// Checks the rules (rates 0–100%, fees and tolerance not negative, days at most
    /// 365, category names not blank and not repeated), naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.channel.trim().is_empty() {
            return Err(FieldError::new("channel", "is required"));
        }
        let rate = |field: &str, r: Rate| {
            if (0..=10_000).contains(&r.0) {
                Ok(())
            } else {
                Err(FieldError::new(field, "must be between 0 and 100 (%)"))
            }
        };
        let not_negative = |field: &str, c: Cents| {
            if c.0 >= 0 {
                Ok(())
            } else {
                Err(FieldError::new(field, "must not be negative"))
            }
        };
        let c = &self.commission;
        rate("commission.rate", c.rate)?;
        for (i, cat) in c.by_category.iter().enumerate() {
            let name = cat.category.trim();
            if name.is_empty() {
                return Err(FieldError::new(
                    format!("commission.byCategory[{i}].category"),
                    "is required",
                ));
            }
            if c.by_category[..i]
                .iter()
                .any(|o| o.category.trim().eq_ignore_ascii_case(name))
            {
                return Err(FieldError::new(
                    format!("commission.byCategory[{i}].category"),
                    format!("'{name}' is listed twice"),
                ));
            }
            rate(&format!("commission.byCategory[{i}].rate"), cat.rate)?;
        }
        not_negative("commission.fixedPerOrder", c.fixed_per_order)?;
        not_negative("commission.fixedPerItem", c.fixed_per_item)?;
        if self.payment.days > 365 {
            return Err(FieldError::new("payment.days", "must be at most 365"));
        }
        not_negative("tolerance.amount", self.tolerance.amount)?;
        rate("tolerance.percent", self.tolerance.percent)
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
        match self {
            SettlementStatus::Invoiced => "INVOICED",
            SettlementStatus::PaidWaitingDelivery => "PAID_WAITING_DELIVERY",
            SettlementStatus::Concluded => "CONCLUDED",
            SettlementStatus::Canceled => "CANCELED",
        }
    }
    /// The four above; Koncili's earlier statuses (`NEW`, `APPROVED`,
    /// `PAID_WAITING_SHIP`, `PENDING`...) refused as "below INVOICED", others unknown.
    pub fn parse(raw: &str) -> Result<SettlementStatus, FieldError> {
        let s = raw.trim();
        match s.to_ascii_uppercase().as_str() {
            "INVOICED" => Ok(SettlementStatus::Invoiced),
            "PAID_WAITING_DELIVERY" => Ok(SettlementStatus::PaidWaitingDelivery),
            "CONCLUDED" => Ok(SettlementStatus::Concluded),
            "CANCELED" => Ok(SettlementStatus::Canceled),
            "NEW" | "PENDING" | "APPROVED" | "PAID" | "PAYMENT_PENDING" | "WAITING_PAYMENT"
            | "PAID_WAITING_SHIP" | "PROCESSING" => Err(FieldError::new(
                "orderStatus",
                format!(
                    "'{s}' is below INVOICED: orders are reconciled from INVOICED on \
                     (INVOICED, PAID_WAITING_DELIVERY, CONCLUDED, CANCELED)"
                ),
            )),
            _ => Err(FieldError::new(
                "orderStatus",
                format!(
                    "unknown status '{s}' (INVOICED, PAID_WAITING_DELIVERY, CONCLUDED, CANCELED)"
                ),
            )),
        }
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

/// The longest order code, channel name or item code a settlement order takes.
const CODE_MAX: usize = 100;

impl SettlementOrder {
    /// Field rules (order code not blank, quantities positive, values not negative,
    /// an invoice date from INVOICED on, installments 1 to 24), naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let required = |field: &str, v: &str| {
            if v.trim().is_empty() {
                Err(FieldError::new(field, "is required"))
            } else {
                Ok(())
            }
        };
        let not_negative = |field: String, c: Cents| {
            if c.0 >= 0 {
                Ok(())
            } else {
                Err(FieldError::new(field, "must not be negative"))
            }
        };
        // Codes are keys, at most CODE_MAX characters (the native API's order ids'
        // cap).
        let capped = |field: String, v: &str| {
            if v.chars().count() > CODE_MAX {
                Err(FieldError::new(
                    field,
                    format!("has more than {CODE_MAX} characters"),
                ))
            } else {
                Ok(())
            }
        };
        required("orderCode", &self.order_code)?;
        capped("orderCode".into(), &self.order_code)?;
        required("orderId", &self.order_id)?;
        required("channelName", &self.channel)?;
        capped("channelName".into(), &self.channel)?;
        for (i, item) in self.items.iter().enumerate() {
            capped(format!("items[{i}].code"), &item.sku)?;
        }
        if let Some(d) = &self.customer_document {
            // Check digits verified, as everywhere in the hub. Koncili's own example
            // (`578654448`) has none that hold, which a real document always has: it
            // is refused like any other bad document.
            Document::parse(d, None).map_err(|e| e.under("customer.documentNumber"))?;
        }
        if self.invoiced_at.is_none() {
            return Err(FieldError::new(
                "invoiceDate",
                format!(
                    "is required: an order is reconciled from INVOICED on (this one is {})",
                    self.status.as_str()
                ),
            ));
        }
        not_negative("totalNetValue".into(), self.total)?;
        not_negative("totalFreightValue".into(), self.freight)?;
        for (i, item) in self.items.iter().enumerate() {
            if item.quantity <= 0 {
                return Err(FieldError::new(
                    format!("items[{i}].quantity"),
                    "must be positive",
                ));
            }
            not_negative(format!("items[{i}].unitValue"), item.unit_value)?;
            not_negative(format!("items[{i}].freightValue"), item.freight)?;
        }
        for (i, p) in self.payments.iter().enumerate() {
            not_negative(format!("payments[{i}].value"), p.value)?;
            if !(1..=24).contains(&p.installments) {
                return Err(FieldError::new(
                    format!("payments[{i}].installmentQuantity"),
                    "must be between 1 and 24",
                ));
            }
        }
        Ok(())
    }
    /// The first payment's method (`paymentMethod`), if any.
    pub fn payment_method(&self) -> Option<&str> {
        self.payments.first().map(|p| p.method.as_str())
    }
    /// The number of installments the SALE is paid in (the first payment's, at least 1).
    pub fn plots(&self) -> u32 {
        self.payments.first().map_or(1, |p| p.installments.max(1))
    }
}

impl SettlementOrder {
    /// The settlement order of an order of the lifecycle: from `pickandpack/billed` on
    /// with its invoice recorded (a cancelled order only if it had been billed, so its
    /// lines go to zero); `None` before that. Keyed by the marketplace's order id
    /// (`orderCode` and `orderId` alike), carrying the hub's id.
    pub fn from_lifecycle(order: &Order, progress: &OrderProgress) -> Option<SettlementOrder> {
        let invoice = progress.invoice.as_ref()?;
        let billed = |s: OrderState| {
            matches!(
                s,
                OrderState::Billed
                    | OrderState::Packaged
                    | OrderState::Shipped
                    | OrderState::Delivered
                    | OrderState::NotDelivered
            )
        };
        let status = match progress.state {
            OrderState::Billed | OrderState::Packaged => SettlementStatus::Invoiced,
            OrderState::Shipped | OrderState::NotDelivered => SettlementStatus::PaidWaitingDelivery,
            OrderState::Delivered => SettlementStatus::Concluded,
            OrderState::Cancelled if progress.history.iter().any(|h| billed(h.to)) => {
                SettlementStatus::Canceled
            }
            _ => return None,
        };
        let d = &order.data;
        let cancelled_at = if status == SettlementStatus::Canceled {
            d.cancelled_at.or_else(|| {
                progress
                    .history
                    .iter()
                    .rev()
                    .find(|h| h.to == OrderState::Cancelled)
                    .map(|h| h.at)
            })
        } else {
            None
        };
        Some(SettlementOrder {
            operator_id: d.operator_id.clone(),
            seller_id: d.seller_id.clone(),
            channel: d.channel.clone(),
            order_code: d.marketplace_order_id.clone(),
            order_id: d.marketplace_order_id.clone(),
            hub_order_id: Some(order.id),
            hub_name: None,
            account_name: None,
            status,
            ordered_at: d.placed_at,
            paid_at: d.approved_at,
            invoiced_at: Some(invoice.issued_at),
            invoice_number: Some(invoice.number.to_string()),
            sent_at: progress.shipped_at,
            delivered_at: progress.delivered_at,
            cancelled_at,
            customer_name: d.customer.name.clone(),
            customer_document: Some(d.customer.document.number.clone()),
            total: d.total(),
            freight: d.freight,
            items: d
                .items
                .iter()
                .map(|i| SettlementItem {
                    marketplace_item_id: i.marketplace_item_id.clone(),
                    sku: i.sku.clone(),
                    quantity: i.quantity,
                    unit_value: i.unit_price,
                    freight: i.freight.unwrap_or(Cents::ZERO),
                    category: None,
                    sent_at: progress.shipped_at,
                })
                .collect(),
            payments: d
                .payments
                .iter()
                .map(|p| SettlementPayment {
                    method: p.method.clone(),
                    paid_at: p.paid_at,
                    value: p.value,
                    installments: u32::try_from(p.installments.max(1)).unwrap_or(u32::MAX),
                })
                .collect(),
        })
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
/// (`total` less freight split evenly, the centavos left over on installment 1: the
/// freight is its own SHIP line, so the lines add up to what the customer paid, less
/// the commission), COMISSION per
/// installment (the commission split the same way), one SHIP line (plot 1 of 1) when
/// freight is positive. A cancelled order expects every line it would have had, at
/// zero. Deterministic: the same order and terms give the same lines in the same order
/// (by type, then installment).
pub fn expected_lines(order: &SettlementOrder, terms: &ChannelTerms) -> Vec<ExpectedLine> {
    let plots = order.plots();
    let cancelled = order.status == SettlementStatus::Canceled;
    let (commission, percent) = commission_of(order, &terms.commission);
    let sale = split(Cents((order.total.0 - order.freight.0).max(0)), plots);
    let fee = split(commission, plots);
    let first_due = first_due(order, &terms.payment);
    let due = |plot: u32| add_months(first_due, plot - 1);
    let value = |v: Cents| if cancelled { Cents::ZERO } else { v };
    let mut lines = Vec::with_capacity(plots as usize * 2 + 1);
    for (i, v) in sale.iter().enumerate() {
        let plot = i as u32 + 1;
        lines.push(ExpectedLine {
            kind: ExtractType::Sale,
            plot_number: plot,
            plots_quantity: plots,
            plot_value: *v,
            value: value(*v),
            percent: None,
            due: due(plot),
        });
    }
    for (i, v) in fee.iter().enumerate() {
        let plot = i as u32 + 1;
        lines.push(ExpectedLine {
            kind: ExtractType::Comission,
            plot_number: plot,
            plots_quantity: plots,
            plot_value: sale[i],
            value: value(*v),
            percent,
            due: due(plot),
        });
    }
    if order.freight.0 > 0 {
        lines.push(ExpectedLine {
            kind: ExtractType::Ship,
            plot_number: 1,
            plots_quantity: 1,
            plot_value: order.freight,
            value: value(order.freight),
            percent: None,
            due: first_due,
        });
    }
    lines
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
    let r = facts.released;
    let verdict = |situation, partial, observation: String| Verdict {
        situation,
        partial,
        observation: Some(observation),
    };
    if r.parts == 0 {
        return Verdict {
            situation: Situation::Waiting,
            partial: false,
            observation: None,
        };
    }
    let Some(expected) = facts.expected else {
        return verdict(
            Situation::Divergent,
            false,
            format!("Released {} where nothing was expected", brl(r.value)),
        );
    };
    if facts.cancelled {
        return if r.value.0 == 0 {
            verdict(
                Situation::Concilied,
                false,
                "Order cancelled: its releases net to zero".into(),
            )
        } else {
            verdict(
                Situation::Divergent,
                false,
                format!(
                    "Order cancelled: released {} where nothing is expected any more",
                    brl(r.value)
                ),
            )
        };
    }
    // The commission percentage, when both sides state one.
    let percent_off = match (facts.kind, facts.expected_percent, r.percent) {
        (ExtractType::Comission, Some(e), Some(got)) => {
            let allowed = i128::from(e.0) * i128::from(tolerance.percent.0);
            (i128::from((got.0 - e.0).abs()) * 10_000 > allowed).then(|| {
                format!(
                    "commission charged at {} where {} was expected",
                    percent_text(got),
                    percent_text(e)
                )
            })
        }
        _ => None,
    };
    let diff = r.value.0 - expected.0;
    let allowed = tolerance
        .amount
        .0
        .max(tolerance.percent.of(Cents(expected.0.abs())).0);
    let amounts = || {
        let by = if diff > 0 { "over" } else { "short" };
        format!(
            "Released {} of {} expected: {} {by}",
            brl(r.value),
            brl(expected),
            brl(Cents(diff.abs()))
        )
    };
    if diff.abs() <= allowed {
        return match (diff, percent_off) {
            (0, None) => verdict(Situation::Concilied, false, "OK".into()),
            (0, Some(p)) => verdict(Situation::Divergent, false, capitalized(&p)),
            (_, None) => verdict(
                Situation::Concilied,
                false,
                format!(
                    "{}, within the tolerance of {}",
                    amounts(),
                    brl(Cents(allowed))
                ),
            ),
            (_, Some(p)) => verdict(
                Situation::Divergent,
                false,
                format!(
                    "{}, within the tolerance of {}; {p}",
                    amounts(),
                    brl(Cents(allowed))
                ),
            ),
        };
    }
    // Short, with the sign of what was expected: released in parts (or one) that
    // do not add up yet.
    let partial = diff < 0 && expected.0 > 0 && r.value.0 > 0;
    let mut text = format!(
        "{}, beyond the tolerance of {}",
        amounts(),
        brl(Cents(allowed))
    );
    if let Some(p) = percent_off {
        text.push_str("; ");
        text.push_str(&p);
    }
    verdict(Situation::Divergent, partial, text)
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
        let mut known: [Option<&str>; 6] = [None; 6];
        let mut extra = Vec::new();
        for (name, text) in fields {
            match STATEMENT_COLUMNS.iter().position(|c| *c == name.as_str()) {
                Some(i) => {
                    if known[i].is_some() {
                        return Err(FieldError::new(name.as_str(), "is given twice"));
                    }
                    known[i] = Some(text.trim());
                }
                None => extra.push((name.clone(), text.clone())),
            }
        }
        let given = |i: usize| known[i].filter(|t| !t.is_empty());
        let order_code = given(0)
            .ok_or_else(|| FieldError::new("orderCode", "is required"))?
            .to_string();
        let kind =
            ExtractType::parse(given(1).ok_or_else(|| FieldError::new("type", "is required"))?)?;
        let plot_number = match given(2) {
            None => 1,
            Some(t) => t
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1 && t.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    FieldError::new("plotNumber", format!("'{t}' is not a positive integer"))
                })?,
        };
        let value = Cents::parse_decimal(
            given(3).ok_or_else(|| FieldError::new("releasedValue", "is required"))?,
        )
        .map_err(|e| e.under("releasedValue"))?;
        let percent = given(4)
            .map(Rate::parse_decimal)
            .transpose()
            .map_err(|e| e.under("releasedPercentualComission"))?;
        let released_at = parse_release_date(
            given(5).ok_or_else(|| FieldError::new("releasedDate", "is required"))?,
        )
        .map_err(|e| e.under("releasedDate"))?;
        Ok(StatementRow {
            row,
            order_code,
            kind,
            plot_number,
            value,
            percent,
            released_at,
            extra,
        })
    }
}

/// The statement columns [`StatementRow::parse`] reads, in the order it checks them.
pub const STATEMENT_COLUMNS: [&str; 6] = [
    "orderCode",
    "type",
    "plotNumber",
    "releasedValue",
    "releasedPercentualComission",
    "releasedDate",
];

/// The observation of a released line nothing is expected for: the order is not
/// known in the channel (a chargeback or adjustment of an order the hub never saw),
/// or it is and has no such line (an installment or type it does not have).
pub fn unexpected_observation(key: &LineKey, order_known: bool, released: Cents) -> String {
    let why = if order_known {
        format!(
            "The order has no {} line for installment {}",
            key.kind.as_str(),
            key.plot_number
        )
    } else {
        format!("Unknown order {}", key.order_code)
    };
    format!(
        "{why}: released {} where nothing was expected",
        brl(released)
    )
}

/// A release date: a bare `yyyy-MM-dd` is that day at midnight UTC (statements date
/// a payout by its day, and the day must stay the day whatever the zone), anything
/// else as [`Timestamp::parse`] reads it.
fn parse_release_date(text: &str) -> Result<Timestamp, FieldError> {
    let b = text.as_bytes();
    let bare = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if bare {
        if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(midnight(d));
        }
    }
    Timestamp::parse(text)
}

fn midnight(d: NaiveDate) -> Timestamp {
    Timestamp(d.and_time(NaiveTime::MIN).and_utc().timestamp_micros())
}

/// `n / d` rounded half away from zero (`d` positive).
fn round_div(n: i128, d: i128) -> i64 {
    let q = n / d;
    let r = n % d;
    let q = if r.abs() * 2 >= d { q + n.signum() } else { q };
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// A channel's preset (see [`PRESETS`]).
struct Preset {
    /// Upper case, words joined by `_`.
    names: &'static [&'static str],
    /// Hundredths of a percent.
    rate: i64,
    /// Centavos per item unit.
    fixed_per_item: i64,
    base: TermsBase,
    days: u32,
}

/// The default commission: 16%.
const DEFAULT_RATE: i64 = 1600;

/// The presets, by channel name (case-insensitive; spaces, dots and hyphens read as
/// `_`). The marketplaces' published seller terms for their main category band, a
/// starting point the operator refines per seller (by category, fees):
///
/// | channel                                   | commission             | paid               |
/// |-------------------------------------------|------------------------|--------------------|
/// | B2W, Americanas, Lojas Americanas, Submarino, Shoptime | 16%       | 30 days after invoice  |
/// | Mercado Livre                             | 13% + R$ 6,00 per unit | 30 days after delivery |
/// | Magalu, Magazine Luiza                    | 16%                    | 30 days after delivery |
/// | Amazon                                    | 12%                    | 14 days after delivery |
/// | Shopee                                    | 14% + R$ 3,00 per unit | 15 days after delivery |
/// | Via, Via Varejo, Cnova, Casas Bahia, Extra, Ponto | 16%            | 30 days after invoice  |
/// | any other                                 | 16%                    | 30 days after invoice  |
///
/// Every preset tolerates R$ 0,05 (and 0%): rounding centavos, never a fee.
const PRESETS: &[Preset] = &[
    Preset {
        names: &[
            "B2W",
            "AMERICANAS",
            "LOJAS_AMERICANAS",
            "SUBMARINO",
            "SHOPTIME",
        ],
        rate: 1600,
        fixed_per_item: 0,
        base: TermsBase::Invoice,
        days: 30,
    },
    Preset {
        names: &["MERCADO_LIVRE", "MERCADOLIVRE", "MERCADO_LIBRE", "MELI"],
        rate: 1300,
        fixed_per_item: 600,
        base: TermsBase::Delivery,
        days: 30,
    },
    Preset {
        names: &["MAGALU", "MAGAZINE_LUIZA", "MAGAZINELUIZA"],
        rate: 1600,
        fixed_per_item: 0,
        base: TermsBase::Delivery,
        days: 30,
    },
    Preset {
        names: &["AMAZON", "AMAZON_BR", "AMAZON_BRASIL"],
        rate: 1200,
        fixed_per_item: 0,
        base: TermsBase::Delivery,
        days: 14,
    },
    Preset {
        names: &["SHOPEE"],
        rate: 1400,
        fixed_per_item: 300,
        base: TermsBase::Delivery,
        days: 15,
    },
    Preset {
        names: &[
            "VIA",
            "VIA_VAREJO",
            "CNOVA",
            "CASAS_BAHIA",
            "EXTRA",
            "PONTO",
            "PONTO_FRIO",
        ],
        rate: 1600,
        fixed_per_item: 0,
        base: TermsBase::Invoice,
        days: 30,
    },
];

/// The order's commission under `rule`, and its percentage when one rate applies to
/// every item and no fixed fee is charged. Summed exactly over the items, rounded
/// once.
fn commission_of(order: &SettlementOrder, rule: &CommissionRule) -> (Cents, Option<Rate>) {
    let rate_of = |item: &SettlementItem| {
        item.category
            .as_deref()
            .map(str::trim)
            .and_then(|c| {
                rule.by_category
                    .iter()
                    .find(|r| r.category.trim().eq_ignore_ascii_case(c))
            })
            .map_or(rule.rate, |r| r.rate)
    };
    let mut exact: i128 = 0;
    let mut units: i64 = 0;
    let mut single: Option<Option<Rate>> = None;
    for item in &order.items {
        let rate = rate_of(item);
        exact += i128::from(item.unit_value.0) * i128::from(item.quantity) * i128::from(rate.0);
        units = units.saturating_add(item.quantity);
        single = match single {
            None => Some(Some(rate)),
            Some(Some(r)) if r == rate => Some(Some(r)),
            Some(_) => Some(None),
        };
    }
    let fixed = rule.fixed_per_order + Cents(rule.fixed_per_item.0.saturating_mul(units));
    let commission = Cents(round_div(exact, 10_000)) + fixed;
    let percent = if fixed.0 == 0 {
        single.unwrap_or(Some(rule.rate))
    } else {
        None
    };
    (commission, percent)
}

/// `total` over `plots` installments, evenly, the centavos left over on the first.
fn split(total: Cents, plots: u32) -> Vec<Cents> {
    let n = i64::from(plots.max(1));
    let each = total.0 / n;
    let first = total.0 - each * (n - 1);
    (0..n)
        .map(|i| Cents(if i == 0 { first } else { each }))
        .collect()
}

/// Installment 1's due date: midnight UTC, `days` after the base date's UTC day.
fn first_due(order: &SettlementOrder, terms: &PaymentTerms) -> Timestamp {
    let base = match terms.base {
        TermsBase::Delivery => order.delivered_at.or(order.invoiced_at),
        TermsBase::Invoice => order.invoiced_at,
    }
    .unwrap_or(order.ordered_at);
    let day = base.to_utc().date_naive();
    let due = day
        .checked_add_days(Days::new(u64::from(terms.days)))
        .unwrap_or(day);
    midnight(due)
}

/// `t` (a midnight) `months` calendar months later, the day clamped to the month's end.
fn add_months(t: Timestamp, months: u32) -> Timestamp {
    let day = t.to_utc().date_naive();
    midnight(day.checked_add_months(Months::new(months)).unwrap_or(day))
}

/// An amount as finance reads it: `R$ 1.234,56`, `-R$ 10,00`.
pub fn brl(c: Cents) -> String {
    let sign = if c.0 < 0 { "-" } else { "" };
    let abs = c.0.unsigned_abs();
    let reais = (abs / 100).to_string();
    let mut grouped = String::with_capacity(reais.len() + reais.len() / 3);
    for (i, ch) in reais.chars().enumerate() {
        if i > 0 && (reais.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{sign}R$ {grouped},{:02}", abs % 100)
}

/// A percentage as finance reads it: `15%`, `15,5%`, `15,25%`.
fn percent_text(r: Rate) -> String {
    let whole = r.0 / 100;
    match r.0 % 100 {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole},{}%", f / 10),
        f => format!("{whole},{f:02}%"),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn order(total: i64, freight: i64, plots: u32) -> SettlementOrder {
        SettlementOrder {
            operator_id: "op".into(),
            seller_id: "s".into(),
            channel: "B2W".into(),
            order_code: "012345678901".into(),
            order_id: "01-23456789".into(),
            hub_order_id: Some(123654),
            hub_name: None,
            account_name: Some("marketplace_account".into()),
            status: SettlementStatus::Concluded,
            ordered_at: ts("2018-01-01T12:00:00.000+0000"),
            paid_at: Some(ts("2018-01-02T10:00:00.000+0000")),
            invoiced_at: Some(ts("2018-01-02T12:00:00.000+0000")),
            invoice_number: Some("002569".into()),
            sent_at: Some(ts("2018-01-03T12:00:00.000+0000")),
            delivered_at: Some(ts("2018-01-10T12:00:00.000+0000")),
            cancelled_at: None,
            customer_name: "João da Silva".into(),
            customer_document: Some("52998224725".into()),
            total: Cents(total),
            freight: Cents(freight),
            items: vec![SettlementItem {
                marketplace_item_id: None,
                sku: "A".into(),
                quantity: 1,
                unit_value: Cents(total - freight),
                freight: Cents(freight),
                category: None,
                sent_at: None,
            }],
            payments: vec![SettlementPayment {
                method: "BILLET".into(),
                paid_at: None,
                value: Cents(total),
                installments: plots,
            }],
        }
    }

    fn terms(rate: i64) -> ChannelTerms {
        let mut t = ChannelTerms::preset("B2W");
        t.commission.rate = Rate(rate);
        t
    }

    #[test]
    fn vocabularies_round_trip() {
        for t in ExtractType::ALL {
            assert_eq!(ExtractType::parse(t.as_str()), Ok(t));
            assert!(!t.description().is_empty());
        }
        for s in Situation::ALL {
            assert_eq!(Situation::parse(s.as_str()), Ok(s));
        }
        for b in [TermsBase::Invoice, TermsBase::Delivery] {
            assert_eq!(TermsBase::parse(b.as_str()), Ok(b));
        }
        for s in [
            SettlementStatus::Invoiced,
            SettlementStatus::PaidWaitingDelivery,
            SettlementStatus::Concluded,
            SettlementStatus::Canceled,
        ] {
            assert_eq!(SettlementStatus::parse(s.as_str()), Ok(s));
        }
        let e = ExtractType::parse("TRANSFER").unwrap_err();
        assert_eq!(e.field, "type");
        assert!(e.message.contains("TRANSFER"));
        assert!(ExtractType::parse("sale").is_err());
        let e = SettlementStatus::parse("APPROVED").unwrap_err();
        assert_eq!(e.field, "orderStatus");
        assert!(e.message.contains("below INVOICED"), "{e}");
        let e = SettlementStatus::parse("SHIPPING").unwrap_err();
        assert!(e.message.contains("unknown"), "{e}");
        assert!(Situation::parse("OK").is_err());
    }

    #[test]
    fn rates_are_exact_hundredths() {
        assert_eq!(Rate::parse_decimal("15"), Ok(Rate(1500)));
        assert_eq!(Rate::parse_decimal("15.5"), Ok(Rate(1550)));
        assert_eq!(Rate::parse_decimal("15.25"), Ok(Rate(1525)));
        assert_eq!(Rate::parse_decimal("100"), Ok(Rate(10000)));
        assert_eq!(Rate::parse_decimal("0"), Ok(Rate(0)));
        assert_eq!(Rate::parse_decimal("1.5e1"), Ok(Rate(1500)));
        assert!(Rate::parse_decimal("15.255")
            .unwrap_err()
            .message
            .contains("two decimals"));
        assert!(Rate::parse_decimal("100.01")
            .unwrap_err()
            .message
            .contains("100%"));
        assert!(Rate::parse_decimal("-1")
            .unwrap_err()
            .message
            .contains("negative"));
        assert!(Rate::parse_decimal("abc").is_err());
        assert!(Rate::parse_decimal("15,5").is_err());
    }

    #[test]
    fn rate_of_rounds_half_away_from_zero() {
        assert_eq!(Rate(1500).of(Cents(57000)), Cents(8550));
        // 0.5 centavo rounds up, and down for a negative amount.
        assert_eq!(Rate(5000).of(Cents(1)), Cents(1));
        assert_eq!(Rate(5000).of(Cents(-1)), Cents(-1));
        // 15% of 0.03 = 0.0045: down.
        assert_eq!(Rate(1500).of(Cents(3)), Cents(0));
        assert_eq!(Rate(1550).of(Cents(9999)), Cents(1550));
        assert_eq!(Rate(10000).of(Cents(12345)), Cents(12345));
        assert_eq!(Rate(0).of(Cents(12345)), Cents(0));
    }

    #[test]
    fn presets_and_validation() {
        let b2w = ChannelTerms::preset("b2w");
        assert_eq!(b2w.commission.rate, Rate(1600));
        assert_eq!(
            b2w.payment,
            PaymentTerms {
                base: TermsBase::Invoice,
                days: 30
            }
        );
        let ml = ChannelTerms::preset("Mercado Livre");
        assert_eq!(ml.commission.rate, Rate(1300));
        assert_eq!(ml.commission.fixed_per_item, Cents(600));
        assert_eq!(ml.payment.base, TermsBase::Delivery);
        assert_eq!(ml.channel, "Mercado Livre");
        assert_eq!(ChannelTerms::preset("AMAZON").payment.days, 14);
        assert_eq!(
            ChannelTerms::preset("shopee").commission.fixed_per_item,
            Cents(300)
        );
        let other = ChannelTerms::preset("Loja do Zé");
        assert_eq!(other.commission.rate, Rate(1600));
        assert_eq!(
            other.tolerance,
            Tolerance {
                amount: Cents(5),
                percent: Rate(0)
            }
        );
        for t in [b2w, ml, other] {
            assert_eq!(t.validate(), Ok(()));
        }
        let bad = |f: &dyn Fn(&mut ChannelTerms)| {
            let mut t = ChannelTerms::preset("B2W");
            f(&mut t);
            t.validate().unwrap_err().field
        };
        assert_eq!(bad(&|t| t.commission.rate = Rate(10001)), "commission.rate");
        assert_eq!(
            bad(&|t| t.commission.fixed_per_item = Cents(-1)),
            "commission.fixedPerItem"
        );
        assert_eq!(
            bad(&|t| t.commission.fixed_per_order = Cents(-1)),
            "commission.fixedPerOrder"
        );
        assert_eq!(bad(&|t| t.payment.days = 366), "payment.days");
        assert_eq!(bad(&|t| t.tolerance.amount = Cents(-5)), "tolerance.amount");
        assert_eq!(
            bad(&|t| t.tolerance.percent = Rate(-1)),
            "tolerance.percent"
        );
        assert_eq!(bad(&|t| t.channel = " ".into()), "channel");
        let cat = |name: &str| CategoryRate {
            category: name.into(),
            rate: Rate(1000),
        };
        assert_eq!(
            bad(&|t| t.commission.by_category = vec![cat("Livros"), cat("livros")]),
            "commission.byCategory[1].category"
        );
        assert_eq!(
            bad(&|t| t.commission.by_category = vec![cat(" ")]),
            "commission.byCategory[0].category"
        );
    }

    #[test]
    fn settlement_order_rules() {
        let o = order(57000, 0, 1);
        assert_eq!(o.validate(), Ok(()));
        assert_eq!(o.payment_method(), Some("BILLET"));
        assert_eq!(o.plots(), 1);
        let bad = |f: &dyn Fn(&mut SettlementOrder)| {
            let mut o = order(57000, 0, 1);
            f(&mut o);
            o.validate().unwrap_err().field
        };
        assert_eq!(bad(&|o| o.order_code = "".into()), "orderCode");
        assert_eq!(bad(&|o| o.invoiced_at = None), "invoiceDate");
        assert_eq!(bad(&|o| o.items[0].quantity = 0), "items[0].quantity");
        assert_eq!(
            bad(&|o| o.items[0].unit_value = Cents(-1)),
            "items[0].unitValue"
        );
        assert_eq!(
            bad(&|o| o.payments[0].installments = 0),
            "payments[0].installmentQuantity"
        );
        assert_eq!(
            bad(&|o| o.payments[0].installments = 25),
            "payments[0].installmentQuantity"
        );
        assert_eq!(bad(&|o| o.total = Cents(-1)), "totalNetValue");
        let mut none = order(100, 0, 1);
        none.payments.clear();
        assert_eq!(none.plots(), 1);
        assert_eq!(none.payment_method(), None);
    }

    #[test]
    fn the_documents_order_expects_its_lines() {
        // The document's example: 570 in one installment at 15%, 30 days after invoice.
        let lines = expected_lines(&order(57000, 0, 1), &terms(1500));
        assert_eq!(lines.len(), 2);
        let due = ts("2018-02-01T00:00:00.000+0000");
        assert_eq!(
            lines[0],
            ExpectedLine {
                kind: ExtractType::Sale,
                plot_number: 1,
                plots_quantity: 1,
                plot_value: Cents(57000),
                value: Cents(57000),
                percent: None,
                due,
            }
        );
        assert_eq!(
            lines[1],
            ExpectedLine {
                kind: ExtractType::Comission,
                plot_number: 1,
                plots_quantity: 1,
                plot_value: Cents(57000),
                value: Cents(8550),
                percent: Some(Rate(1500)),
                due,
            }
        );
    }

    #[test]
    fn installments_split_with_the_leftover_on_the_first() {
        let lines = expected_lines(&order(10000, 1000, 3), &terms(1500));
        let kinds: Vec<_> = lines.iter().map(|l| (l.kind, l.plot_number)).collect();
        assert_eq!(
            kinds,
            vec![
                (ExtractType::Sale, 1),
                (ExtractType::Sale, 2),
                (ExtractType::Sale, 3),
                (ExtractType::Comission, 1),
                (ExtractType::Comission, 2),
                (ExtractType::Comission, 3),
                (ExtractType::Ship, 1),
            ]
        );
        let values: Vec<i64> = lines.iter().map(|l| l.value.0).collect();
        // 100.00 less 10.00 of freight over 3: 30.00 each; commission 15% of 90.00 =
        // 13.50: 4.50 each; freight 10.00, its own line.
        assert_eq!(values, vec![3000, 3000, 3000, 450, 450, 450, 1000]);
        assert_eq!(lines[4].plot_value, Cents(3000));
        assert_eq!(lines[6].plots_quantity, 1);
        // Due dates a calendar month apart.
        let dues: Vec<String> = lines.iter().map(|l| l.due.to_rfc3339_utc()).collect();
        assert_eq!(dues[0], "2018-02-01T00:00:00.000Z");
        assert_eq!(dues[1], "2018-03-01T00:00:00.000Z");
        assert_eq!(dues[2], "2018-04-01T00:00:00.000Z");
        assert_eq!(dues[6], dues[0]);
    }

    #[test]
    fn due_days_clamp_to_the_months_end_and_follow_delivery() {
        let mut o = order(30000, 0, 3);
        o.invoiced_at = Some(ts("2024-01-01T10:00:00Z"));
        let lines = expected_lines(&o, &terms(1000));
        // Jan 1 + 30 days = Jan 31; then Feb 29 (leap year), Mar 31.
        let dues: Vec<String> = lines[..3].iter().map(|l| l.due.to_rfc3339_utc()).collect();
        assert_eq!(
            dues,
            vec![
                "2024-01-31T00:00:00.000Z",
                "2024-02-29T00:00:00.000Z",
                "2024-03-31T00:00:00.000Z"
            ]
        );
        let mut t = terms(1000);
        t.payment = PaymentTerms {
            base: TermsBase::Delivery,
            days: 14,
        };
        let lines = expected_lines(&o, &t);
        assert_eq!(lines[0].due.to_rfc3339_utc(), "2018-01-24T00:00:00.000Z");
        // Not yet delivered: from the invoice.
        o.delivered_at = None;
        let lines = expected_lines(&o, &t);
        assert_eq!(lines[0].due.to_rfc3339_utc(), "2024-01-15T00:00:00.000Z");
    }

    #[test]
    fn commission_by_category_and_fixed_fees() {
        let mut o = order(30000, 0, 1);
        o.items = vec![
            SettlementItem {
                marketplace_item_id: None,
                sku: "BOOK".into(),
                quantity: 2,
                unit_value: Cents(5000),
                freight: Cents::ZERO,
                category: Some("Livros".into()),
                sent_at: None,
            },
            SettlementItem {
                marketplace_item_id: None,
                sku: "TV".into(),
                quantity: 1,
                unit_value: Cents(20000),
                freight: Cents::ZERO,
                category: Some("TV".into()),
                sent_at: None,
            },
        ];
        let mut t = terms(1600);
        t.commission.by_category = vec![CategoryRate {
            category: "livros".into(),
            rate: Rate(1000),
        }];
        let lines = expected_lines(&o, &t);
        // 10% of 100.00 + 16% of 200.00 = 10.00 + 32.00.
        assert_eq!(lines[1].value, Cents(4200));
        assert_eq!(lines[1].percent, None, "two rates apply");
        t.commission.by_category.clear();
        t.commission.fixed_per_item = Cents(600);
        t.commission.fixed_per_order = Cents(100);
        let lines = expected_lines(&o, &t);
        // 16% of 300.00 + 3 units × 6.00 + 1.00.
        assert_eq!(lines[1].value, Cents(4800 + 1800 + 100));
        assert_eq!(lines[1].percent, None, "fixed fees");
        t.commission.fixed_per_item = Cents::ZERO;
        t.commission.fixed_per_order = Cents::ZERO;
        assert_eq!(expected_lines(&o, &t)[1].percent, Some(Rate(1600)));
    }

    #[test]
    fn a_cancelled_order_expects_every_line_at_zero() {
        let mut o = order(10000, 1000, 2);
        let live = expected_lines(&o, &terms(1500));
        o.status = SettlementStatus::Canceled;
        let dead = expected_lines(&o, &terms(1500));
        assert_eq!(live.len(), dead.len());
        for (a, b) in live.iter().zip(&dead) {
            assert_eq!(
                (a.kind, a.plot_number, a.due),
                (b.kind, b.plot_number, b.due)
            );
            assert_eq!(b.value, Cents::ZERO);
        }
        assert_eq!(expected_lines(&o, &terms(1500)), dead, "deterministic");
    }

    fn facts(expected: Option<i64>, released: &[i64]) -> LineFacts {
        LineFacts {
            kind: ExtractType::Sale,
            expected: expected.map(Cents),
            expected_percent: None,
            cancelled: false,
            released: Released {
                value: Cents(released.iter().sum()),
                parts: released.len() as u32,
                percent: None,
                last_at: None,
            },
        }
    }

    const TOL: Tolerance = Tolerance {
        amount: Cents(5),
        percent: Rate(0),
    };

    #[test]
    fn judging_values() {
        let v = judge(&facts(Some(57000), &[]), &TOL);
        assert_eq!(
            (v.situation, v.partial, v.observation),
            (Situation::Waiting, false, None)
        );

        let v = judge(&facts(Some(57000), &[57000]), &TOL);
        assert_eq!(v.situation, Situation::Concilied);
        assert_eq!(v.observation.as_deref(), Some("OK"));

        let v = judge(&facts(Some(57000), &[56997]), &TOL);
        assert_eq!(v.situation, Situation::Concilied);
        assert_eq!(
            v.observation.as_deref(),
            Some("Released R$ 569,97 of R$ 570,00 expected: R$ 0,03 short, within the tolerance of R$ 0,05")
        );

        let v = judge(&facts(Some(57000), &[58000]), &TOL);
        assert_eq!((v.situation, v.partial), (Situation::Divergent, false));
        assert!(v
            .observation
            .unwrap()
            .contains("R$ 10,00 over, beyond the tolerance of R$ 0,05"));

        let v = judge(&facts(Some(57000), &[56000]), &TOL);
        assert_eq!((v.situation, v.partial), (Situation::Divergent, true));
        assert_eq!(
            v.observation.as_deref(),
            Some("Released R$ 560,00 of R$ 570,00 expected: R$ 10,00 short, beyond the tolerance of R$ 0,05")
        );

        // Parts that add up.
        let v = judge(&facts(Some(57000), &[30000, 27000]), &TOL);
        assert_eq!((v.situation, v.partial), (Situation::Concilied, false));

        // A sale and its reversal: nothing net, not a partial payment.
        let v = judge(&facts(Some(57000), &[57000, -57000]), &TOL);
        assert_eq!((v.situation, v.partial), (Situation::Divergent, false));

        // A percentage tolerance wider than the amount's.
        let wide = Tolerance {
            amount: Cents(5),
            percent: Rate(100),
        };
        let v = judge(&facts(Some(123456789), &[123456789 - 1000000]), &wide);
        assert_eq!(v.situation, Situation::Concilied);
        assert!(v.observation.unwrap().contains("tolerance of R$ 12.345,68"));

        let v = judge(&facts(None, &[-1500]), &TOL);
        assert_eq!(v.situation, Situation::Divergent);
        assert_eq!(
            v.observation.as_deref(),
            Some("Released -R$ 15,00 where nothing was expected")
        );
    }

    #[test]
    fn judging_commission_percentages() {
        let mut f = facts(Some(8550), &[8550]);
        f.kind = ExtractType::Comission;
        f.expected_percent = Some(Rate(1500));
        f.released.percent = Some(Rate(1500));
        assert_eq!(judge(&f, &TOL).observation.as_deref(), Some("OK"));
        f.released.percent = Some(Rate(1600));
        let v = judge(&f, &TOL);
        assert_eq!(v.situation, Situation::Divergent);
        assert_eq!(
            v.observation.as_deref(),
            Some("Commission charged at 16% where 15% was expected")
        );
        // Within a percentage tolerance: 1% of 15% is 0.15 points.
        let tol = Tolerance {
            amount: Cents(5),
            percent: Rate(100),
        };
        f.released.percent = Some(Rate(1515));
        assert_eq!(judge(&f, &tol).situation, Situation::Concilied);
        f.released.percent = Some(Rate(1516));
        assert_eq!(judge(&f, &tol).situation, Situation::Divergent);
        // Only one side states a percentage: the value decides.
        f.released.percent = None;
        assert_eq!(judge(&f, &TOL).situation, Situation::Concilied);
    }

    #[test]
    fn judging_cancelled_orders() {
        let mut f = facts(Some(0), &[57000, -57000]);
        f.cancelled = true;
        let v = judge(&f, &TOL);
        assert_eq!(v.situation, Situation::Concilied);
        assert!(v.observation.unwrap().contains("net to zero"));
        let mut f = facts(Some(0), &[57000]);
        f.cancelled = true;
        let v = judge(&f, &TOL);
        assert_eq!(v.situation, Situation::Divergent);
        assert!(v.observation.unwrap().starts_with("Order cancelled"));
    }

    #[test]
    fn amounts_and_percentages_as_finance_reads_them() {
        assert_eq!(brl(Cents(123456)), "R$ 1.234,56");
        assert_eq!(brl(Cents(5)), "R$ 0,05");
        assert_eq!(brl(Cents(-100000000)), "-R$ 1.000.000,00");
        assert_eq!(brl(Cents(99999)), "R$ 999,99");
        assert_eq!(percent_text(Rate(1550)), "15,5%");
        assert_eq!(percent_text(Rate(1525)), "15,25%");
        assert_eq!(percent_text(Rate(1505)), "15,05%");
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn statement_rows() {
        let r = StatementRow::parse(
            7,
            &fields(&[
                ("orderCode", "012345678901"),
                ("type", "COMISSION"),
                ("plotNumber", "2"),
                ("releasedValue", "-85.5"),
                ("releasedPercentualComission", "15"),
                ("releasedDate", "2018-01-15"),
                ("note", "ajuste"),
            ]),
        )
        .unwrap();
        assert_eq!(r.row, 7);
        assert_eq!(r.key().plot_number, 2);
        assert_eq!(r.kind, ExtractType::Comission);
        assert_eq!(r.value, Cents(-8550));
        assert_eq!(r.percent, Some(Rate(1500)));
        assert_eq!(r.released_at.to_rfc3339_utc(), "2018-01-15T00:00:00.000Z");
        assert_eq!(r.extra, vec![("note".to_string(), "ajuste".to_string())]);

        let r = StatementRow::parse(
            1,
            &fields(&[
                ("orderCode", "A"),
                ("type", "SALE"),
                ("releasedValue", "10"),
                ("releasedPercentualComission", ""),
                ("releasedDate", "2018-01-15T10:00:00-03:00"),
            ]),
        )
        .unwrap();
        assert_eq!(r.plot_number, 1);
        assert_eq!(r.percent, None);
        assert_eq!(r.released_at.to_rfc3339_utc(), "2018-01-15T13:00:00.000Z");

        let err = |pairs: &[(&str, &str)]| StatementRow::parse(1, &fields(pairs)).unwrap_err();
        let base = [
            ("orderCode", "A"),
            ("type", "SALE"),
            ("plotNumber", "1"),
            ("releasedValue", "10"),
            ("releasedDate", "2018-01-15"),
        ];
        let with = |col: &str, v: &'static str| {
            let mut b = base.to_vec();
            b.iter_mut().find(|(c, _)| *c == col).unwrap().1 = v;
            err(&b)
        };
        assert_eq!(with("orderCode", " ").field, "orderCode");
        assert_eq!(with("type", "TRANSFER").field, "type");
        assert_eq!(with("plotNumber", "0").field, "plotNumber");
        assert_eq!(with("plotNumber", "1.5").field, "plotNumber");
        assert_eq!(with("releasedValue", "10.005").field, "releasedValue");
        assert_eq!(with("releasedValue", "").field, "releasedValue");
        assert_eq!(with("releasedDate", "15/01/2018").field, "releasedDate");
        assert_eq!(err(&base[..4]).field, "releasedDate");
        let mut b = base.to_vec();
        b.push(("releasedPercentualComission", "15.555"));
        assert_eq!(err(&b).field, "releasedPercentualComission");
    }
}
