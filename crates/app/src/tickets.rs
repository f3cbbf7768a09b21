//! Customer-service use cases: opening a ticket, its messages, read state, mediation
//! and closing, and the subjects tickets are opened under.
//!
//! Each change is decided on a [`TicketChange`] built from the ticket as loaded, and
//! saved guarded by the version it was loaded at; a change that lost a race is
//! decided again from the ticket as it now is (see [`crate::ATTEMPTS`]).

use entreposto_domain::{
    ticket_code_candidates, CloseError, NewMessage, Party, ReadState, Scope, Subject, Ticket,
    TicketChange, TicketMessage, TicketOrder, Timestamp,
};
use entreposto_store::StoreError;

use crate::{backoff, App, AppError, Result, ATTEMPTS};

/// A ticket to open on an order.
#[derive(Debug, Clone)]
pub struct OpenTicket {
    pub order_id: i64,
    /// The subject's id, or else its exact name.
    pub subject: String,
    pub responsible: Party,
    pub opened_by: Party,
    pub mediation: bool,
    /// First messages, in order; none makes the ticket an instance.
    pub messages: Vec<NewMessage>,
}

impl App {
    /// Creates a subject tickets can be opened under.
    pub async fn create_subject(&self, subject: &Subject) -> Result<()> {
        subject.validate()?;
        Ok(self.store.create_subject(subject).await?)
    }

    /// Opens a ticket on an order in `scope`. `NotFound` means the order is not there;
    /// an unknown subject is [`AppError::UnknownSubject`].
    pub async fn open_ticket(&self, scope: &Scope, req: &OpenTicket) -> Result<Ticket> {
        let subject = self
            .store
            .find_subject(&scope.operator_id, req.subject.trim())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::UnknownSubject(req.subject.clone()),
                e => e.into(),
            })?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let order = self.store.get_order(scope, req.order_id).await?;
            let on = TicketOrder::of(order.id, order.data);
            let existing = self.store.count_order_tickets(order.id).await?;
            let mut code = None;
            for candidate in ticket_code_candidates(&on, existing) {
                if !self
                    .store
                    .ticket_code_taken(&on.seller_id, &candidate)
                    .await?
                {
                    code = Some(candidate);
                    break;
                }
            }
            let code = code.expect("the candidate codes never run out");
            let now = self.now();
            let mut change = TicketChange::open(
                on,
                code,
                &subject,
                req.responsible,
                req.opened_by,
                req.mediation,
                now,
            );
            for m in &req.messages {
                change.receive(m, now)?;
            }
            match self.store.save_ticket(scope, change).await {
                Ok((ticket, _)) => return Ok(ticket),
                // Another ticket of this order (or one with a coinciding code) was
                // opened meanwhile and took the code: pick again.
                Err(StoreError::Conflict(_) | StoreError::Stale) if attempt < ATTEMPTS => {
                    backoff(attempt).await
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Adds a message to a ticket in `scope`: the message and the ticket after it.
    pub async fn add_message(
        &self,
        scope: &Scope,
        ticket_id: i64,
        message: &NewMessage,
    ) -> Result<(Ticket, TicketMessage)> {
        let (ticket, mut added) = self
            .change_ticket(scope, ticket_id, |c, now| Ok(c.receive(message, now)?))
            .await?;
        let message = added
            .pop()
            .ok_or_else(|| AppError::Internal("the store added no message".into()))?;
        Ok((ticket, message))
    }

    pub async fn set_read_state(
        &self,
        scope: &Scope,
        ticket_id: i64,
        state: ReadState,
    ) -> Result<Ticket> {
        let (t, _) = self
            .change_ticket(scope, ticket_id, |c, now| {
                c.set_read_state(state, now);
                Ok(())
            })
            .await?;
        Ok(t)
    }

    pub async fn request_mediation(&self, scope: &Scope, ticket_id: i64) -> Result<Ticket> {
        let (t, _) = self
            .change_ticket(scope, ticket_id, |c, now| {
                c.request_mediation(now);
                Ok(())
            })
            .await?;
        Ok(t)
    }

    /// Closes a ticket, after adding `final_message` if given and handing it to
    /// `responsible` if given; a conflict if it is already closed.
    pub async fn close_ticket(
        &self,
        scope: &Scope,
        ticket_id: i64,
        final_message: Option<&NewMessage>,
        responsible: Option<Party>,
    ) -> Result<Ticket> {
        let (t, _) = self
            .change_ticket(scope, ticket_id, |c, now| {
                c.close(final_message, responsible, now)
                    .map_err(|e| match e {
                        CloseError::AlreadyClosed => AppError::AlreadyClosed,
                        CloseError::Invalid(f) => AppError::Invalid(f),
                    })
            })
            .await?;
        Ok(t)
    }

    /// Loads the ticket, lets `decide` change it, and saves the change; decides again
    /// from the fresh ticket when the save lost a race.
    async fn change_ticket(
        &self,
        scope: &Scope,
        ticket_id: i64,
        decide: impl Fn(&mut TicketChange, Timestamp) -> Result<()>,
    ) -> Result<(Ticket, Vec<TicketMessage>)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let loaded = self.store.load_ticket(scope, ticket_id).await?;
            let mut change = TicketChange::on(loaded);
            decide(&mut change, self.now())?;
            match self.store.save_ticket(scope, change).await {
                Err(StoreError::Stale) if attempt < ATTEMPTS => backoff(attempt).await,
                saved => return Ok(saved?),
            }
        }
    }
}
