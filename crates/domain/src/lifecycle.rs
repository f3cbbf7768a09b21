//! The order lifecycle every dialect shows: status and substatus as the 00K document's
//! `statusHistory` has them, and the transitions between them.
//!
//! `pending/payment` → `payment/paid` → `pickandpack/{separated, billed, packaged,
//! outofstock}` → `shipped` → `delivery/{delivered, notdelivered}`, and `cancelled`.
//! [`transition`] is the one place that says which moves are legal and who may make
//! them: the marketplace side places, approves payment, cancels and confirms delivery;
//! the seller side moves pick-and-pack, ships (only with an invoice) and reports
//! delivery, and may cancel (00K's `PUT /orders/{id}/status` offers `cancelled`).
//! Nothing leaves `cancelled`; nothing goes back (no `delivered` → `pickandpack`); a
//! delivered order is not cancelled (returns are a later capability). The marketplace
//! statuses of pushed orders ([`OrderStatus`]) map onto these states.

use std::fmt;

use crate::{FieldError, OrderStatus};

/// Where an order is, as a (status, substatus) pair of the 00K document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// `pending/payment`: placed, payment not yet confirmed.
    AwaitingPayment,
    /// `payment/paid`.
    Paid,
    /// `pickandpack/separated`.
    Separated,
    /// `pickandpack/billed`: invoiced.
    Billed,
    /// `pickandpack/packaged`.
    Packaged,
    /// `pickandpack/outofstock`: the seller lacks a SKU of the order.
    OutOfStock,
    /// `shipped`.
    Shipped,
    /// `delivery/delivered`.
    Delivered,
    /// `delivery/notdelivered`: the carrier could not deliver.
    NotDelivered,
    /// `cancelled`.
    Cancelled,
}

/// Who asks for a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The marketplace (the native API).
    Marketplace,
    /// The seller's system (00K).
    Seller,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Marketplace => "marketplace",
            Actor::Seller => "seller",
        }
    }
}

impl OrderState {
    pub const ALL: [OrderState; 10] = [
        OrderState::AwaitingPayment,
        OrderState::Paid,
        OrderState::Separated,
        OrderState::Billed,
        OrderState::Packaged,
        OrderState::OutOfStock,
        OrderState::Shipped,
        OrderState::Delivered,
        OrderState::NotDelivered,
        OrderState::Cancelled,
    ];

    /// The 00K `status`.
    pub fn status(self) -> &'static str {
        match self {
            OrderState::AwaitingPayment => "pending",
            OrderState::Paid => "payment",
            OrderState::Separated
            | OrderState::Billed
            | OrderState::Packaged
            | OrderState::OutOfStock => "pickandpack",
            OrderState::Shipped => "shipped",
            OrderState::Delivered | OrderState::NotDelivered => "delivery",
            OrderState::Cancelled => "cancelled",
        }
    }

    /// The 00K `substatus` (`None` for `shipped` and `cancelled`).
    pub fn substatus(self) -> Option<&'static str> {
        match self {
            OrderState::AwaitingPayment => Some("payment"),
            OrderState::Paid => Some("paid"),
            OrderState::Separated => Some("separated"),
            OrderState::Billed => Some("billed"),
            OrderState::Packaged => Some("packaged"),
            OrderState::OutOfStock => Some("outofstock"),
            OrderState::Delivered => Some("delivered"),
            OrderState::NotDelivered => Some("notdelivered"),
            OrderState::Shipped | OrderState::Cancelled => None,
        }
    }

    /// `status/substatus`, for messages.
    pub fn name(self) -> String {
        match self.substatus() {
            Some(s) => format!("{}/{s}", self.status()),
            None => self.status().to_string(),
        }
    }

    /// The state a (status, substatus) pair names; `pickandpack` and `delivery` need
    /// their substatus, the others take none (or their own).
    pub fn parse(status: &str, substatus: Option<&str>) -> Result<OrderState, FieldError> {
        let with_sub: Vec<OrderState> = OrderState::ALL
            .into_iter()
            .filter(|s| s.status() == status)
            .collect();
        if with_sub.is_empty() {
            return Err(FieldError::new(
                "status",
                format!(
                    "'{status}' is not a status (pending, payment, pickandpack, shipped, delivery, cancelled)"
                ),
            ));
        }
        match (with_sub.as_slice(), substatus) {
            ([only], None) => Ok(*only),
            (options, Some(sub)) => options
                .iter()
                .find(|s| s.substatus() == Some(sub))
                .copied()
                .ok_or_else(|| {
                    let subs: Vec<&str> = options.iter().filter_map(|s| s.substatus()).collect();
                    FieldError::new(
                        "substatus",
                        if subs.is_empty() {
                            format!("'{status}' takes no substatus")
                        } else {
                            format!(
                                "'{sub}' is not a substatus of '{status}' ({})",
                                subs.join(", ")
                            )
                        },
                    )
                }),
            (options, None) => {
                let subs: Vec<&str> = options.iter().filter_map(|s| s.substatus()).collect();
                Err(FieldError::new(
                    "substatus",
                    format!("'{status}' requires a substatus ({})", subs.join(", ")),
                ))
            }
        }
    }

    /// How far along the order is; moves go forward only.
    fn rank(self) -> u8 {
        match self {
            OrderState::AwaitingPayment => 0,
            OrderState::Paid => 1,
            OrderState::OutOfStock => 2,
            OrderState::Separated => 3,
            OrderState::Billed => 4,
            OrderState::Packaged => 5,
            OrderState::Shipped => 6,
            OrderState::NotDelivered => 7,
            OrderState::Delivered => 8,
            OrderState::Cancelled => 9,
        }
    }

    fn in_pick_and_pack(self) -> bool {
        self.status() == "pickandpack"
    }

    /// The state of an order the marketplace pushes with this status.
    pub fn from_marketplace(status: OrderStatus) -> OrderState {
        match status {
            OrderStatus::New | OrderStatus::AwaitingPayment => OrderState::AwaitingPayment,
            OrderStatus::Approved => OrderState::Paid,
            OrderStatus::Invoiced => OrderState::Billed,
            OrderStatus::Shipped => OrderState::Shipped,
            OrderStatus::Delivered => OrderState::Delivered,
            OrderStatus::Cancelled => OrderState::Cancelled,
        }
    }

    /// The marketplace status this state shows as where a dialect has only those
    /// (Omnik's `orderData.status`, the native API's `status`).
    pub fn marketplace_status(self) -> OrderStatus {
        match self {
            OrderState::AwaitingPayment => OrderStatus::AwaitingPayment,
            OrderState::Paid | OrderState::Separated | OrderState::OutOfStock => {
                OrderStatus::Approved
            }
            OrderState::Billed | OrderState::Packaged => OrderStatus::Invoiced,
            OrderState::Shipped | OrderState::NotDelivered => OrderStatus::Shipped,
            OrderState::Delivered => OrderStatus::Delivered,
            OrderState::Cancelled => OrderStatus::Cancelled,
        }
    }

    /// The 00K listing's `status` filter word this state falls under.
    pub fn listing_status(self) -> Option<&'static str> {
        match self {
            OrderState::AwaitingPayment => Some("awaiting_payment"),
            OrderState::Paid => Some("accepted_payment"),
            OrderState::Separated
            | OrderState::Billed
            | OrderState::Packaged
            | OrderState::OutOfStock => Some("pick_and_pack"),
            OrderState::Shipped | OrderState::NotDelivered => Some("shipped"),
            OrderState::Delivered => Some("delivered"),
            OrderState::Cancelled => None,
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A refused transition, naming from and to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: OrderState,
    pub to: OrderState,
    pub reason: String,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot move the order from {} to {}: {}",
            self.from, self.to, self.reason
        )
    }
}

impl From<IllegalTransition> for FieldError {
    fn from(t: IllegalTransition) -> FieldError {
        FieldError::new("status", t.to_string())
    }
}

/// What the transition depends on besides the two states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionFacts {
    pub actor: Actor,
    pub has_invoice: bool,
}

/// Whether `from` → `to` is legal for `facts.actor`. Moving to the state the order is
/// already in is not a transition (`Ok(false)`: nothing to record); a legal move is
/// `Ok(true)`.
pub fn transition(
    from: OrderState,
    to: OrderState,
    facts: TransitionFacts,
) -> Result<bool, IllegalTransition> {
    use OrderState::*;
    let refuse = |reason: &str| {
        Err(IllegalTransition {
            from,
            to,
            reason: reason.to_string(),
        })
    };
    if from == to {
        return Ok(false);
    }
    if from == Cancelled {
        return refuse("the order is cancelled");
    }
    if to == Cancelled {
        return match from {
            Delivered => refuse("a delivered order cannot be cancelled (a return is needed)"),
            _ => Ok(true),
        };
    }
    if from == Delivered {
        return refuse("the order is delivered");
    }
    let seller = facts.actor == Actor::Seller;
    match to {
        AwaitingPayment => refuse("an order goes back to awaiting payment never"),
        Paid => match (from, facts.actor) {
            (AwaitingPayment, Actor::Marketplace) => Ok(true),
            (AwaitingPayment, Actor::Seller) => {
                refuse("payment is approved by the marketplace, not the seller")
            }
            _ => refuse("the order is past payment"),
        },
        Separated | Billed | Packaged | OutOfStock => {
            if !seller {
                return refuse("pick and pack is the seller's to move");
            }
            let ok = match from {
                Paid => true,
                OutOfStock => true,
                f if f.in_pick_and_pack() => to == OutOfStock || to.rank() > f.rank(),
                _ => false,
            };
            if !ok {
                return refuse(if from.rank() > to.rank() {
                    "the order is past that stage"
                } else {
                    "payment must be approved first"
                });
            }
            if to == Billed && !facts.has_invoice {
                return refuse("an order is billed when its invoice is recorded");
            }
            Ok(true)
        }
        Shipped => {
            if !seller {
                return refuse("shipping is the seller's to report");
            }
            if !matches!(from, Paid | Separated | Billed | Packaged | NotDelivered) {
                return refuse(match from {
                    OutOfStock => "the order lacks stock",
                    AwaitingPayment => "payment must be approved first",
                    _ => "the order is past shipping",
                });
            }
            if !facts.has_invoice {
                return refuse("an order ships only with its invoice (NF-e) recorded");
            }
            Ok(true)
        }
        Delivered | NotDelivered => {
            if to == NotDelivered && !seller {
                return refuse("a failed delivery is the seller's to report");
            }
            match from {
                Shipped => Ok(true),
                NotDelivered if to == Delivered => Ok(true),
                _ => refuse("the order has not shipped"),
            }
        }
        Cancelled => unreachable!("handled above"),
    }
}

/// How the document words an interaction recording a move (its examples: "O operador
/// trocou o status para Pick and Pack e o estagio para FATURADO", action "Alteração
/// de estagio"): the action, then the description.
pub fn interaction_wording(
    from: OrderState,
    to: OrderState,
    tracking: Option<&str>,
) -> (String, String) {
    let label = |s: OrderState| match s {
        OrderState::AwaitingPayment => "Aguardando Pagamento",
        OrderState::Paid => "Pagamento Aceito",
        OrderState::Separated
        | OrderState::Billed
        | OrderState::Packaged
        | OrderState::OutOfStock => "Pick and Pack",
        OrderState::Shipped => "Pedido enviado",
        OrderState::Delivered => "Pedido entregue",
        OrderState::NotDelivered => "Pedido não entregue",
        OrderState::Cancelled => "Pedido cancelado",
    };
    let stage = |s: OrderState| match s {
        OrderState::Separated => Some("SEPARADO"),
        OrderState::Billed => Some("FATURADO"),
        OrderState::Packaged => Some("EMBALADO"),
        OrderState::OutOfStock => Some("SEM ESTOQUE"),
        _ => None,
    };
    let same_status = from.status() == to.status();
    let action = if same_status && stage(to).is_some() {
        "Alteração de estagio"
    } else {
        "Alteração de status"
    };
    let mut text = format!("O operador trocou o status para {}", label(to));
    if let Some(st) = stage(to) {
        text.push_str(&format!(" e o estagio para {st}"));
    }
    if let Some(code) = tracking {
        text.push_str(&format!(" e o codigo de rastreamento para {code}"));
    }
    (action.to_string(), text)
}

#[cfg(test)]
mod tests {
    use super::OrderState::*;
    use super::*;

    const SELLER: TransitionFacts = TransitionFacts {
        actor: Actor::Seller,
        has_invoice: true,
    };
    const MARKETPLACE: TransitionFacts = TransitionFacts {
        actor: Actor::Marketplace,
        has_invoice: false,
    };

    #[test]
    fn the_happy_path_is_legal() {
        assert_eq!(transition(AwaitingPayment, Paid, MARKETPLACE), Ok(true));
        for (a, b) in [
            (Paid, Separated),
            (Separated, Billed),
            (Billed, Packaged),
            (Packaged, Shipped),
            (Shipped, Delivered),
        ] {
            assert_eq!(transition(a, b, SELLER), Ok(true), "{a} -> {b}");
        }
        assert_eq!(transition(Shipped, Delivered, MARKETPLACE), Ok(true));
    }

    #[test]
    fn illegal_moves_name_from_and_to() {
        let e = transition(Delivered, Separated, SELLER).unwrap_err();
        assert_eq!((e.from, e.to), (Delivered, Separated));
        assert!(
            e.to_string().contains("delivery/delivered")
                && e.to_string().contains("pickandpack/separated")
        );
        assert!(transition(Cancelled, Paid, MARKETPLACE).is_err());
        assert!(transition(Cancelled, Shipped, SELLER).is_err());
        assert!(transition(Delivered, Cancelled, MARKETPLACE).is_err());
        assert!(transition(Packaged, Separated, SELLER).is_err());
        assert!(transition(AwaitingPayment, Separated, SELLER).is_err());
        assert!(transition(AwaitingPayment, Paid, SELLER).is_err());
        assert!(transition(Paid, Separated, MARKETPLACE).is_err());
        assert!(transition(OutOfStock, Shipped, SELLER).is_err());
    }

    #[test]
    fn shipping_needs_an_invoice() {
        let no_invoice = TransitionFacts {
            has_invoice: false,
            ..SELLER
        };
        assert!(transition(Packaged, Shipped, no_invoice)
            .unwrap_err()
            .reason
            .contains("invoice"));
        assert!(transition(Separated, Billed, no_invoice).is_err());
        assert_eq!(transition(Separated, Packaged, no_invoice), Ok(true));
    }

    #[test]
    fn out_of_stock_comes_and_goes_and_cancelling_is_open_until_delivery() {
        assert_eq!(transition(Separated, OutOfStock, SELLER), Ok(true));
        assert_eq!(transition(OutOfStock, Separated, SELLER), Ok(true));
        for from in [
            AwaitingPayment,
            Paid,
            Separated,
            OutOfStock,
            Shipped,
            NotDelivered,
        ] {
            assert_eq!(transition(from, Cancelled, MARKETPLACE), Ok(true), "{from}");
        }
        assert_eq!(transition(Paid, Paid, SELLER), Ok(false));
    }

    #[test]
    fn statuses_parse_with_their_substatus() {
        assert_eq!(OrderState::parse("pickandpack", Some("billed")), Ok(Billed));
        assert_eq!(OrderState::parse("shipped", None), Ok(Shipped));
        assert_eq!(OrderState::parse("cancelled", None), Ok(Cancelled));
        assert_eq!(
            OrderState::parse("pickandpack", None).unwrap_err().field,
            "substatus"
        );
        assert_eq!(
            OrderState::parse("delivery", Some("billed"))
                .unwrap_err()
                .field,
            "substatus"
        );
        assert_eq!(OrderState::parse("lost", None).unwrap_err().field, "status");
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.status(), s.substatus()), Ok(s));
        }
    }

    #[test]
    fn interactions_are_worded_as_the_document() {
        assert_eq!(
            interaction_wording(Separated, Billed, None),
            (
                "Alteração de estagio".into(),
                "O operador trocou o status para Pick and Pack e o estagio para FATURADO".into()
            )
        );
        assert_eq!(
            interaction_wording(Packaged, Shipped, Some("473278-3")).1,
            "O operador trocou o status para Pedido enviado e o codigo de rastreamento para 473278-3"
        );
    }
}
