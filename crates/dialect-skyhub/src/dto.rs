//! SkyHub's JSON, exactly as its documents spell it, and the conversions to it.
//!
//! Times are Brasília time with the offset (`2023-06-06T21:41:57-03:00`). The three
//! conversations are SkyHub's "parts": `CUSTOMER_SELLER`, `B2W_SELLER` (marketplace and
//! seller) and `CUSTOMER_B2W`; roles are `CUSTOMER`, `SELLER` and `B2W`.

use entreposto_domain::time::brasilia;
use entreposto_domain::{Conversation, Party, Ticket, TicketMessage, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Brasília time with offset, as SkyHub renders every time.
pub fn br_time(t: Timestamp) -> String {
    t.to_offset_seconds(brasilia())
}

pub fn part_name(c: Conversation) -> &'static str {
    match c {
        Conversation::CustomerSeller => "CUSTOMER_SELLER",
        Conversation::MarketplaceSeller => "B2W_SELLER",
        Conversation::CustomerMarketplace => "CUSTOMER_B2W",
    }
}

pub fn parse_part(s: &str) -> Option<Conversation> {
    match s {
        "CUSTOMER_SELLER" => Some(Conversation::CustomerSeller),
        "B2W_SELLER" => Some(Conversation::MarketplaceSeller),
        "CUSTOMER_B2W" => Some(Conversation::CustomerMarketplace),
        _ => None,
    }
}

fn role(p: Party) -> &'static str {
    match p {
        Party::Customer => "CUSTOMER",
        Party::Seller => "SELLER",
        Party::Marketplace => "B2W",
    }
}

/// The error envelope: the documented `errors.detail`, and the top-level `error` older
/// clients look for (the same message).
#[derive(Serialize, ToSchema)]
pub struct SkyhubError {
    pub error: String,
    pub errors: SkyhubErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct SkyhubErrorDetail {
    pub detail: String,
}

// The closed vocabularies, for the document only: the wire carries them as strings
// (read in any letter case).

/// The seller's read state of a SAC.
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum SacStatus {
    READ,
    UNREAD,
    ARCHIVED,
}

/// A SAC's conversation ("part").
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum Part {
    CUSTOMER_SELLER,
    B2W_SELLER,
    CUSTOMER_B2W,
}

/// The parts a seller writes in (not `CUSTOMER_B2W`).
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum SellerPart {
    CUSTOMER_SELLER,
    B2W_SELLER,
}

/// Who wrote a chat message.
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum Role {
    CUSTOMER,
    SELLER,
    B2W,
}

/// Whether the SAC is open.
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum ChatStatus {
    ACTIVE,
    CLOSED,
}

/// Where a reply without a part in its URL goes (`TO_MARKETPLACE` is `TO_B2W`).
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum MessageTo {
    TO_CUSTOMER,
    TO_B2W,
    TO_MARKETPLACE,
}

#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum MessageType {
    TEXT_MESSAGE,
}

/// A time as SkyHub renders it ([`br_time`]), written while serializing.
pub struct BrTime(pub Timestamp);

impl Serialize for BrTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.offset_seconds_text(brasilia()))
    }
}

// Borrowed from the ticket it renders: the one-ticket read is SkyHub's hottest route,
// and copying its strings showed in its cost.
/// One SAC ticket as `/sac` and `/sac/{code}` show it.
#[derive(Serialize, ToSchema)]
pub struct Sac<'a> {
    pub code: &'a str,
    #[schema(value_type = String, format = DateTime, example = "2023-06-06T21:41:57-03:00")]
    pub created_at: BrTime,
    pub mediation: bool,
    pub order_code: &'a str,
    /// Always `B2w`.
    pub platform: &'static str,
    #[schema(value_type = SacStatus)]
    pub status: &'static str,
    #[schema(value_type = String, format = DateTime, example = "2023-06-06T21:41:57-03:00")]
    pub updated_at: BrTime,
    pub warehouse: Option<&'a str>,
}

impl<'a> From<&'a Ticket> for Sac<'a> {
    fn from(t: &'a Ticket) -> Sac<'a> {
        Sac {
            code: &t.code,
            created_at: BrTime(t.created_at),
            mediation: t.mediation,
            order_code: &t.marketplace_order_id,
            platform: "B2w",
            status: t.read_state.as_str(),
            updated_at: BrTime(t.updated_at),
            warehouse: t.warehouse.as_deref(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SacPage<'a> {
    /// Full URL of the next page, carrying an opaque `cursor`; null on the last page.
    pub next_page: Option<String>,
    pub sacs: Vec<Sac<'a>>,
}

/// An instance: a ticket opened with no message exchanged yet.
#[derive(Serialize, ToSchema)]
pub struct Instance {
    pub code: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub order_code: String,
    pub subject: String,
    /// Hours.
    pub sla: i64,
    #[schema(format = DateTime)]
    pub deadline: String,
    pub late: bool,
    pub mediation: bool,
    #[schema(value_type = SacStatus)]
    pub status: String,
    pub warehouse: Option<String>,
}

impl From<&Ticket> for Instance {
    fn from(t: &Ticket) -> Instance {
        Instance {
            code: t.code.clone(),
            created_at: br_time(t.created_at),
            updated_at: br_time(t.updated_at),
            order_code: t.marketplace_order_id.clone(),
            subject: t.subject.clone(),
            sla: t.sla_hours,
            deadline: br_time(t.deadline()),
            late: t.is_late(Timestamp::now()),
            mediation: t.mediation,
            status: t.read_state.as_str().into(),
            warehouse: t.warehouse.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Instances {
    pub instances: Vec<Instance>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatPart {
    #[schema(value_type = Role)]
    pub role: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The author's code, null when there is none.
    pub code: Option<AuthorCode>,
}

/// An author's code: a number when it is one, else the text.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AuthorCode {
    Number(i64),
    Text(String),
}

#[derive(Serialize, ToSchema)]
pub struct ChatMessage {
    /// When the other side answered it (SkyHub's spelling).
    #[schema(format = DateTime)]
    pub replyed_at: Option<String>,
    pub part: ChatPart,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub content: String,
}

/// The chat of one part of a SAC ticket (the spec file's single-object shape).
#[derive(Serialize, ToSchema)]
pub struct Chat {
    /// `ACTIVE` while the ticket is open, `CLOSED` after.
    #[schema(value_type = ChatStatus)]
    pub status: String,
    /// The seller's read state of the ticket.
    #[schema(value_type = SacStatus)]
    pub seller_status: String,
    #[schema(value_type = Part)]
    pub parts: String,
    pub messages: Vec<ChatMessage>,
    /// When the part's latest message was written.
    #[schema(format = DateTime)]
    pub last_message: Option<String>,
}

impl Chat {
    pub fn of(t: &Ticket, part: Conversation, messages: &[TicketMessage]) -> Chat {
        let msgs: Vec<&TicketMessage> =
            messages.iter().filter(|m| m.conversation == part).collect();
        Chat {
            status: if t.is_open() { "ACTIVE" } else { "CLOSED" }.into(),
            seller_status: t.read_state.as_str().into(),
            parts: part_name(part).into(),
            last_message: msgs.iter().map(|m| m.created_at).max().map(br_time),
            messages: msgs
                .into_iter()
                .map(|m| ChatMessage {
                    replyed_at: m.replied_at.map(br_time),
                    part: ChatPart {
                        role: role(m.author.party).into(),
                        name: m.author.name.clone(),
                        email: m.author.email.clone(),
                        code: m.author.code.as_ref().map(|c| match c.parse::<i64>() {
                            Ok(n) => AuthorCode::Number(n),
                            Err(_) => AuthorCode::Text(c.clone()),
                        }),
                    },
                    created_at: br_time(m.created_at),
                    content: m.content.clone(),
                })
                .collect(),
        }
    }
}

/// The seller's reply, as the spec's example body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(examples(json!({"deliveryId": "3", "identityId": "00007604079750",
    "messageTo": "TO_CUSTOMER", "messageType": "TEXT_MESSAGE", "orderId": "1234567",
    "message": "Olá! O pedido foi reenviado hoje."})))]
pub struct ReplyIn {
    /// Picks the part when the URL has none (then `TO_CUSTOMER` by default); with
    /// a part in the URL it must agree with it.
    #[schema(value_type = Option<MessageTo>)]
    pub message_to: Option<String>,
    #[schema(value_type = Option<MessageType>)]
    pub message_type: Option<String>,
    /// The text, not blank.
    #[schema(min_length = 1, max_length = 20000, pattern = r"\S")]
    pub message: String,
    pub order_id: Option<serde_json::Value>,
    pub delivery_id: Option<serde_json::Value>,
    pub identity_id: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[schema(examples(json!({"status": "READ"})))]
pub struct StatusIn {
    #[schema(value_type = SacStatus)]
    pub status: String,
}
