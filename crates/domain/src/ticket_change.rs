//! A decided change to one ticket: its new state, the messages to add, the earlier
//! messages those answer, and the events it produced.
//!
//! Every ticket flow (opening, a message, the read state, mediation, closing) is a
//! sequence of steps on a [`TicketChange`]; the store then persists the change as it
//! is, atomically, guarded by the version the ticket had when it was loaded. So the
//! rules (which messages a reply answers, who becomes responsible, what a closed
//! ticket refuses) are decided here once, for every backend.

use crate::{
    AlreadyClosed, FieldError, NewMessage, Party, ReadState, Subject, Ticket, TicketEvent,
    TicketMessage, TicketOrder, Timestamp,
};

/// A message decided but not stored yet: the store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    pub message: NewMessage,
    /// When it was written (the sender's time, or when it reached us).
    pub at: Timestamp,
    /// Set when a later message of the same change already answers it.
    pub replied_at: Option<Timestamp>,
}

/// A ticket as loaded for a change: its state, the version that state has, and its
/// messages oldest first.
#[derive(Debug, Clone)]
pub struct LoadedTicket {
    pub ticket: Ticket,
    pub version: i64,
    pub messages: Vec<TicketMessage>,
}

#[derive(Debug, Clone)]
pub struct TicketChange {
    /// The ticket as it must be stored (id 0 while it is being opened).
    pub ticket: Ticket,
    /// The version the stored ticket must still have for the change to apply; `None`
    /// for a ticket being opened. The store writes `version + 1`.
    pub loaded_version: Option<i64>,
    /// Messages to insert, in arrival order.
    pub new_messages: Vec<MessageDraft>,
    /// Earlier stored messages (by id) that this change's messages answer, with when.
    pub answered: Vec<(i64, Timestamp)>,
    pub events: Vec<TicketEvent>,
    /// The stored messages, kept up to date with `answered`, to decide further replies.
    earlier: Vec<TicketMessage>,
}

impl TicketChange {
    /// Opens a ticket on `order` under `subject`, with no message yet.
    pub fn open(
        order: TicketOrder,
        code: String,
        subject: &Subject,
        responsible: Party,
        opened_by: Party,
        mediation: bool,
        now: Timestamp,
    ) -> TicketChange {
        let ticket = Ticket::open(order, code, subject, responsible, opened_by, mediation, now);
        TicketChange {
            ticket,
            loaded_version: None,
            new_messages: Vec::new(),
            answered: Vec::new(),
            events: vec![TicketEvent::Opened],
            earlier: Vec::new(),
        }
    }

    /// A change to a stored ticket.
    pub fn on(loaded: LoadedTicket) -> TicketChange {
        TicketChange {
            ticket: loaded.ticket,
            loaded_version: Some(loaded.version),
            new_messages: Vec::new(),
            answered: Vec::new(),
            events: Vec::new(),
            earlier: loaded.messages,
        }
    }

    /// The arrival of `message` at `now`: the ticket's rule (it must be open, the
    /// message valid; read state and times follow), and the earlier messages of its
    /// conversation written by another party and not yet answered become answered.
    pub fn receive(&mut self, message: &NewMessage, now: Timestamp) -> Result<(), FieldError> {
        self.ticket.receive(message, now)?;
        let at = message.at.unwrap_or(now);
        let answers = |conversation, party: Party, replied: Option<Timestamp>| {
            conversation == message.conversation
                && party != message.author.party
                && replied.is_none()
        };
        for m in &mut self.earlier {
            if answers(m.conversation, m.author.party, m.replied_at) {
                m.replied_at = Some(at);
                self.answered.push((m.id, at));
            }
        }
        for d in &mut self.new_messages {
            if answers(d.message.conversation, d.message.author.party, d.replied_at) {
                d.replied_at = Some(at);
            }
        }
        self.events.push(TicketEvent::MessageAdded {
            index: self.new_messages.len(),
        });
        self.new_messages.push(MessageDraft {
            message: message.clone(),
            at,
            replied_at: None,
        });
        Ok(())
    }

    pub fn set_read_state(&mut self, state: ReadState, now: Timestamp) {
        self.ticket.set_read_state(state, now);
        self.events.push(TicketEvent::ReadStateSet(state));
    }

    pub fn request_mediation(&mut self, now: Timestamp) {
        self.ticket.request_mediation(now);
        self.events.push(TicketEvent::MediationRequested);
    }

    /// Closes the ticket: it must be open; `responsible`, when given, becomes the
    /// ticket's; `final_message`, when given, is received first.
    pub fn close(
        &mut self,
        final_message: Option<&NewMessage>,
        responsible: Option<Party>,
        now: Timestamp,
    ) -> Result<(), CloseError> {
        self.ticket.begin_close(responsible)?;
        if let Some(m) = final_message {
            self.receive(m, now).map_err(CloseError::Invalid)?;
        }
        self.ticket.close(now)?;
        self.events.push(TicketEvent::Closed);
        Ok(())
    }
}

/// Why a ticket could not be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseError {
    AlreadyClosed,
    /// The final message broke a rule.
    Invalid(FieldError),
}

impl From<AlreadyClosed> for CloseError {
    fn from(_: AlreadyClosed) -> CloseError {
        CloseError::AlreadyClosed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Author, Conversation};

    fn subject() -> Subject {
        Subject {
            id: "sub".into(),
            operator_id: "op".into(),
            name: "Atraso".into(),
            sla_hours: 48,
            for_return: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn order() -> TicketOrder {
        TicketOrder {
            operator_id: "op".into(),
            seller_id: "s".into(),
            order_id: 7,
            channel: "Lojas Americanas".into(),
            marketplace_order_id: "02-1".into(),
            warehouse: None,
        }
    }

    fn msg(conversation: Conversation, party: Party) -> NewMessage {
        let author = Author {
            party,
            name: None,
            email: None,
            code: None,
        };
        NewMessage::new(conversation, author, "texto")
    }

    fn stored(id: i64, conversation: Conversation, party: Party) -> TicketMessage {
        let m = msg(conversation, party);
        TicketMessage {
            id,
            ticket_id: 1,
            conversation,
            author: m.author,
            content: m.content,
            customer_can_view: m.customer_can_view,
            created_at: Timestamp(1),
            replied_at: None,
            subject: None,
            responsible: None,
        }
    }

    #[test]
    fn a_reply_answers_the_other_partys_unanswered_messages_of_its_conversation() {
        use Conversation::*;
        let mut t = TicketChange::open(
            order(),
            "c".into(),
            &subject(),
            Party::Seller,
            Party::Customer,
            false,
            Timestamp(0),
        );
        t.ticket.id = 1;
        let loaded = LoadedTicket {
            ticket: t.ticket.clone(),
            version: 3,
            messages: vec![
                stored(10, CustomerSeller, Party::Customer),
                stored(11, MarketplaceSeller, Party::Marketplace),
                stored(12, CustomerSeller, Party::Seller),
            ],
        };
        let mut c = TicketChange::on(loaded);
        c.receive(&msg(CustomerSeller, Party::Seller), Timestamp(5))
            .unwrap();
        assert_eq!(c.answered, vec![(10, Timestamp(5))], "only the customer's");
        c.receive(&msg(CustomerSeller, Party::Customer), Timestamp(6))
            .unwrap();
        assert_eq!(
            c.answered,
            vec![(10, Timestamp(5)), (12, Timestamp(6))],
            "the seller's stored message; message 10 is answered already"
        );
        assert_eq!(c.new_messages[0].replied_at, Some(Timestamp(6)));
        assert_eq!(c.new_messages[1].replied_at, None);
        assert_eq!(c.loaded_version, Some(3));
        assert_eq!(
            c.events,
            vec![
                TicketEvent::MessageAdded { index: 0 },
                TicketEvent::MessageAdded { index: 1 }
            ]
        );
    }

    #[test]
    fn closing_takes_the_final_message_and_refuses_twice() {
        let mut c = TicketChange::open(
            order(),
            "c".into(),
            &subject(),
            Party::Seller,
            Party::Customer,
            false,
            Timestamp(0),
        );
        let last = msg(Conversation::CustomerSeller, Party::Seller);
        c.close(Some(&last), Some(Party::Marketplace), Timestamp(9))
            .unwrap();
        assert_eq!(c.ticket.closed_at, Some(Timestamp(9)));
        assert_eq!(c.ticket.responsible, Party::Marketplace);
        assert_eq!(c.new_messages.len(), 1);
        assert_eq!(
            c.close(None, None, Timestamp(10)),
            Err(CloseError::AlreadyClosed)
        );
        assert_eq!(c.events.last(), Some(&TicketEvent::Closed));
    }
}
