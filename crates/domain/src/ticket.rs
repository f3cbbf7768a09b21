//! Customer-service tickets: post-sale cases on one order, and their conversations.
//!
//! One ticket model serves every dialect (SkyHub's SAC and chats, Omnik's
//! "atendimento"). A ticket has a subject (with an SLA in hours), a responsible party,
//! open/closed dates, the seller's read state and a mediation flag. Its messages
//! belong to one of three conversations between two parties. The rules that every
//! dialect must see the same way live here:
//! - a message from the customer or the marketplace makes the ticket UNREAD for the
//!   seller; a seller's own message marks earlier messages of that conversation as
//!   replied;
//! - every change moves `updated_at` (SkyHub's listing filters on it);
//! - a ticket with no message yet is an *instance*;
//! - the deadline is the opening time plus the subject's SLA;
//! - a closed ticket takes no new messages and cannot be closed again.

use serde::{Deserialize, Serialize};

use crate::{FieldError, Timestamp};

/// Who takes part in a conversation or wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Party {
    Customer,
    Seller,
    Marketplace,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Customer => "CUSTOMER",
            Party::Seller => "SELLER",
            Party::Marketplace => "MARKETPLACE",
        }
    }

    pub fn parse(s: &str) -> Option<Party> {
        match s {
            "CUSTOMER" => Some(Party::Customer),
            "SELLER" => Some(Party::Seller),
            "MARKETPLACE" => Some(Party::Marketplace),
            _ => None,
        }
    }
}

/// The conversation a message belongs to: the pair of parties talking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Conversation {
    CustomerSeller,
    MarketplaceSeller,
    CustomerMarketplace,
}

impl Conversation {
    pub const ALL: [Conversation; 3] = [
        Conversation::CustomerSeller,
        Conversation::MarketplaceSeller,
        Conversation::CustomerMarketplace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Conversation::CustomerSeller => "CUSTOMER_SELLER",
            Conversation::MarketplaceSeller => "MARKETPLACE_SELLER",
            Conversation::CustomerMarketplace => "CUSTOMER_MARKETPLACE",
        }
    }

    pub fn parse(s: &str) -> Option<Conversation> {
        Conversation::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn includes(self, party: Party) -> bool {
        matches!(
            (self, party),
            (
                Conversation::CustomerSeller,
                Party::Customer | Party::Seller
            ) | (
                Conversation::MarketplaceSeller,
                Party::Marketplace | Party::Seller
            ) | (
                Conversation::CustomerMarketplace,
                Party::Customer | Party::Marketplace
            )
        )
    }

    /// Whether the customer sees messages of this conversation.
    pub fn customer_visible(self) -> bool {
        self != Conversation::MarketplaceSeller
    }

    /// The conversation of a message known only by its author and whether the
    /// customer may read it (how Omnik's comments arrive): a customer always writes to
    /// the seller; a seller or the marketplace writes to the customer when visible, and
    /// to each other when not.
    pub fn of_comment(author: Party, customer_can_view: bool) -> Conversation {
        match (author, customer_can_view) {
            (Party::Customer, _) | (Party::Seller, true) => Conversation::CustomerSeller,
            (Party::Marketplace, true) => Conversation::CustomerMarketplace,
            (Party::Seller | Party::Marketplace, false) => Conversation::MarketplaceSeller,
        }
    }
}

/// The seller's read state of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReadState {
    Read,
    Unread,
    Archived,
}

impl ReadState {
    pub const ALL: [ReadState; 3] = [ReadState::Read, ReadState::Unread, ReadState::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            ReadState::Read => "READ",
            ReadState::Unread => "UNREAD",
            ReadState::Archived => "ARCHIVED",
        }
    }

    pub fn parse(s: &str) -> Option<ReadState> {
        match s {
            "READ" => Some(ReadState::Read),
            "UNREAD" => Some(ReadState::Unread),
            "ARCHIVED" => Some(ReadState::Archived),
            _ => None,
        }
    }
}

/// A reason a ticket is opened, with its service-level agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub id: String,
    pub operator_id: String,
    pub name: String,
    pub sla_hours: i64,
    /// A return (devolução) subject.
    pub for_return: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Subject {
    pub fn validate(&self) -> Result<(), FieldError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(FieldError::new("subject", "must be 1 to 200 characters"));
        }
        if !(1..=24 * 365).contains(&self.sla_hours) {
            return Err(FieldError::new("sla", "must be between 1 and 8760 hours"));
        }
        Ok(())
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub party: Party,
    pub name: Option<String>,
    pub email: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMessage {
    pub id: i64,
    pub ticket_id: i64,
    pub conversation: Conversation,
    pub author: Author,
    pub content: String,
    pub customer_can_view: bool,
    pub created_at: Timestamp,
    /// When the other side of the conversation answered it.
    pub replied_at: Option<Timestamp>,
    /// The subject and responsible party the author gave this very message, where a
    /// dialect carries them per message (Omnik's comments); absent, the ticket's apply.
    pub subject: Option<String>,
    pub responsible: Option<Party>,
}

/// A message about to be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub conversation: Conversation,
    pub author: Author,
    pub content: String,
    pub customer_can_view: bool,
    /// When it was written; the time it reaches us when absent.
    pub at: Option<Timestamp>,
    /// See [`TicketMessage::subject`].
    pub subject: Option<String>,
    pub responsible: Option<Party>,
}

/// A stored message as the message that was added (bulk loads re-add them).
impl From<&TicketMessage> for NewMessage {
    fn from(m: &TicketMessage) -> NewMessage {
        NewMessage {
            conversation: m.conversation,
            author: m.author.clone(),
            content: m.content.clone(),
            customer_can_view: m.customer_can_view,
            at: Some(m.created_at),
            subject: m.subject.clone(),
            responsible: m.responsible,
        }
    }
}

impl NewMessage {
    /// The message as stored under `id` on ticket `ticket_id`, written at `at`.
    pub fn stored(
        &self,
        id: i64,
        ticket_id: i64,
        at: Timestamp,
        replied_at: Option<Timestamp>,
    ) -> TicketMessage {
        TicketMessage {
            id,
            ticket_id,
            conversation: self.conversation,
            author: self.author.clone(),
            content: self.content.clone(),
            customer_can_view: self.customer_can_view,
            created_at: at,
            replied_at,
            subject: self.subject.clone(),
            responsible: self.responsible,
        }
    }

    /// A message in `conversation` by `author`, visible to the customer exactly when
    /// the conversation is.
    pub fn new(
        conversation: Conversation,
        author: Author,
        content: impl Into<String>,
    ) -> NewMessage {
        NewMessage {
            conversation,
            customer_can_view: conversation.customer_visible(),
            author,
            content: content.into(),
            at: None,
            subject: None,
            responsible: None,
        }
    }

    pub fn validate(&self) -> Result<(), FieldError> {
        if self.content.trim().is_empty() {
            return Err(FieldError::new("content", "is required"));
        }
        if self.content.chars().count() > 20_000 {
            return Err(FieldError::new(
                "content",
                "is longer than 20000 characters",
            ));
        }
        if !self.conversation.includes(self.author.party) {
            return Err(FieldError::new(
                "part",
                format!(
                    "{} cannot write in {}",
                    self.author.party.as_str(),
                    self.conversation.as_str()
                ),
            ));
        }
        if let Some(e) = &self.author.email {
            crate::check_email("authorEmail", e)?;
        }
        Ok(())
    }
}

/// A stored ticket, with the order facts dialects show next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub operator_id: String,
    pub seller_id: String,
    pub order_id: i64,
    /// SkyHub-shaped code: channel, a dash, digits (`Lojas Americanas-201000000004001`).
    pub code: String,
    pub subject_id: Option<String>,
    pub subject: String,
    pub sla_hours: i64,
    pub for_return: bool,
    pub responsible: Party,
    pub opened_by: Party,
    pub read_state: ReadState,
    pub mediation: bool,
    pub message_count: i64,
    pub last_message_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub channel: String,
    pub marketplace_order_id: String,
    pub warehouse: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a customer-service case (Omnik's) shows of its ticket: the ticket's
/// identity, scope, subject, responsible party and times. A case read selects only
/// these, 9 of a ticket's 21 columns: reading and copying the other twelve was a
/// measurable part of the hottest read Omnik clients make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHead {
    pub id: i64,
    pub operator_id: String,
    pub seller_id: String,
    pub order_id: i64,
    pub subject: String,
    pub responsible: Party,
    pub closed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Ticket> for TicketHead {
    fn from(t: Ticket) -> TicketHead {
        TicketHead {
            id: t.id,
            operator_id: t.operator_id,
            seller_id: t.seller_id,
            order_id: t.order_id,
            subject: t.subject,
            responsible: t.responsible,
            closed_at: t.closed_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// The order facts a ticket is opened on and carries next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketOrder {
    pub operator_id: String,
    pub seller_id: String,
    pub order_id: i64,
    pub channel: String,
    pub marketplace_order_id: String,
    pub warehouse: Option<String>,
}

impl TicketOrder {
    /// The facts of order `order_id` a ticket on it carries.
    pub fn of(order_id: i64, order: crate::OrderData) -> TicketOrder {
        TicketOrder {
            operator_id: order.operator_id,
            seller_id: order.seller_id,
            order_id,
            channel: order.channel,
            marketplace_order_id: order.marketplace_order_id,
            warehouse: order.warehouse,
        }
    }
}

impl Ticket {
    /// A new ticket on `order` under `subject`, not yet stored (id 0) and with no
    /// message yet. It is unread for the seller unless the seller opened it.
    pub fn open(
        order: TicketOrder,
        code: String,
        subject: &Subject,
        responsible: Party,
        opened_by: Party,
        mediation: bool,
        now: Timestamp,
    ) -> Ticket {
        Ticket {
            id: 0,
            operator_id: order.operator_id,
            seller_id: order.seller_id,
            order_id: order.order_id,
            code,
            subject_id: Some(subject.id.clone()),
            subject: subject.name.clone(),
            sla_hours: subject.sla_hours,
            for_return: subject.for_return,
            responsible,
            opened_by,
            read_state: if opened_by == Party::Seller {
                ReadState::Read
            } else {
                ReadState::Unread
            },
            mediation,
            message_count: 0,
            last_message_at: None,
            closed_at: None,
            channel: order.channel,
            marketplace_order_id: order.marketplace_order_id,
            warehouse: order.warehouse,
            created_at: now,
            updated_at: now,
        }
    }

    /// Opened with no message exchanged yet.
    pub fn is_instance(&self) -> bool {
        self.message_count == 0
    }

    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    pub fn deadline(&self) -> Timestamp {
        Timestamp(self.created_at.0 + self.sla_hours * 3_600_000_000)
    }

    /// Open past its deadline at `now`.
    pub fn is_late(&self, now: Timestamp) -> bool {
        self.is_open() && now > self.deadline()
    }

    /// Applies the arrival of `message` at `now`.
    pub fn receive(&mut self, message: &NewMessage, now: Timestamp) -> Result<(), FieldError> {
        if !self.is_open() {
            return Err(FieldError::new("ticket", "is closed"));
        }
        message.validate()?;
        if message.author.party != Party::Seller {
            self.read_state = ReadState::Unread;
        }
        self.message_count += 1;
        self.last_message_at = Some(
            message
                .at
                .unwrap_or(now)
                .max(self.last_message_at.unwrap_or_default()),
        );
        self.updated_at = now;
        Ok(())
    }

    pub fn set_read_state(&mut self, state: ReadState, now: Timestamp) {
        self.read_state = state;
        self.updated_at = now;
    }

    pub fn request_mediation(&mut self, now: Timestamp) {
        self.mediation = true;
        self.updated_at = now;
    }

    /// The first step of closing, before a final message is received: the ticket must
    /// be open, and the party named as responsible for the close becomes the ticket's.
    pub fn begin_close(&mut self, responsible: Option<Party>) -> Result<(), AlreadyClosed> {
        if !self.is_open() {
            return Err(AlreadyClosed);
        }
        if let Some(r) = responsible {
            self.responsible = r;
        }
        Ok(())
    }

    pub fn close(&mut self, now: Timestamp) -> Result<(), AlreadyClosed> {
        if !self.is_open() {
            return Err(AlreadyClosed);
        }
        self.closed_at = Some(now);
        self.updated_at = now;
        Ok(())
    }
}

/// Closing a ticket that is already closed: a conflict with the ticket's state, not
/// bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyClosed;

/// The SkyHub-shaped ticket code for the `seq`-th ticket (1-based) of an order.
///
/// SkyHub shows order `02-1000000004` on Lojas Americanas with the SAC code
/// `Lojas Americanas-201000000004001`: the part before the dash reversed (`02` -> `20`),
/// the rest of the order code, and a three-digit sequence. We follow that shape; codes
/// without a dash keep their digits as they are.
pub fn ticket_code(channel: &str, marketplace_order_id: &str, seq: i64) -> String {
    let digits = match marketplace_order_id.split_once('-') {
        Some((prefix, rest)) => {
            let p: String = prefix
                .chars()
                .rev()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            let r: String = rest.chars().filter(char::is_ascii_alphanumeric).collect();
            format!("{p}{r}")
        }
        None => marketplace_order_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect(),
    };
    format!("{channel}-{digits}{seq:03}")
}

/// The codes a new ticket of an order that already has `existing` tickets may take,
/// in order of preference. Codes are unique per seller, and two orders' codes can
/// coincide (`12-3` and `2-13` both read `213`), so a store takes the first one that
/// is free.
pub fn ticket_code_candidates<'a>(
    on: &'a TicketOrder,
    existing: i64,
) -> impl Iterator<Item = String> + 'a {
    (existing + 1..).map(|seq| ticket_code(&on.channel, &on.marketplace_order_id, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_skyhub() {
        assert_eq!(
            ticket_code("Lojas Americanas", "02-1000000004", 1),
            "Lojas Americanas-201000000004001"
        );
        assert_eq!(
            ticket_code("Lojas Americanas", "02-1111111114", 1),
            "Lojas Americanas-201111111114001"
        );
        assert_eq!(ticket_code("Shoptime", "123456", 2), "Shoptime-123456002");
    }

    fn ticket() -> Ticket {
        Ticket {
            id: 1,
            operator_id: "op".into(),
            seller_id: "s".into(),
            order_id: 1,
            code: "c".into(),
            subject_id: None,
            subject: "Produto não chegou".into(),
            sla_hours: 48,
            for_return: false,
            responsible: Party::Seller,
            opened_by: Party::Marketplace,
            read_state: ReadState::Read,
            mediation: false,
            message_count: 0,
            last_message_at: None,
            closed_at: None,
            channel: "Lojas Americanas".into(),
            marketplace_order_id: "02-1".into(),
            warehouse: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn author(party: Party) -> Author {
        Author {
            party,
            name: None,
            email: None,
            code: None,
        }
    }

    #[test]
    fn messages_drive_read_state_and_updated_at() {
        let mut t = ticket();
        assert!(t.is_instance());
        let m = NewMessage::new(Conversation::CustomerSeller, author(Party::Customer), "Oi");
        t.receive(&m, Timestamp(10)).unwrap();
        assert_eq!(t.read_state, ReadState::Unread);
        assert_eq!(t.updated_at, Timestamp(10));
        assert!(!t.is_instance());
        t.set_read_state(ReadState::Read, Timestamp(20));
        let reply = NewMessage::new(Conversation::CustomerSeller, author(Party::Seller), "Olá");
        t.receive(&reply, Timestamp(30)).unwrap();
        assert_eq!(
            t.read_state,
            ReadState::Read,
            "the seller's own reply keeps it read"
        );
        assert_eq!(t.updated_at, Timestamp(30));
    }

    #[test]
    fn parties_must_belong_to_the_conversation() {
        let m = NewMessage::new(
            Conversation::CustomerMarketplace,
            author(Party::Seller),
            "x",
        );
        assert_eq!(m.validate().unwrap_err().field, "part");
        let empty = NewMessage::new(Conversation::CustomerSeller, author(Party::Customer), " ");
        assert_eq!(empty.validate().unwrap_err().field, "content");
        assert!(!Conversation::MarketplaceSeller.customer_visible());
    }

    #[test]
    fn comments_pick_their_conversation() {
        use Conversation::*;
        assert_eq!(
            Conversation::of_comment(Party::Seller, true),
            CustomerSeller
        );
        assert_eq!(
            Conversation::of_comment(Party::Seller, false),
            MarketplaceSeller
        );
        assert_eq!(
            Conversation::of_comment(Party::Customer, false),
            CustomerSeller
        );
        assert_eq!(
            Conversation::of_comment(Party::Marketplace, true),
            CustomerMarketplace
        );
    }

    #[test]
    fn deadline_and_closing() {
        let mut t = ticket();
        assert_eq!(t.deadline(), Timestamp(48 * 3_600_000_000));
        assert!(!t.is_late(Timestamp(1)));
        assert!(t.is_late(Timestamp(49 * 3_600_000_000)));
        t.close(Timestamp(5)).unwrap();
        assert!(!t.is_late(Timestamp(49 * 3_600_000_000)));
        assert!(t.close(Timestamp(6)).is_err());
        let m = NewMessage::new(Conversation::CustomerSeller, author(Party::Customer), "Oi");
        assert!(t.receive(&m, Timestamp(7)).is_err());
    }
}
