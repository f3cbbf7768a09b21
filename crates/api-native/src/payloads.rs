//! Event payloads in the native API's shapes (`entreposto_store::EventPayloads`): the
//! server hands this renderer to the store, so an event shows an order, a ticket, a
//! product, an import job or a conciliation exactly as this API's answers do, through
//! the same conversions. Credentials and extract lines, which this API does not
//! answer with, get shapes of their own here, in its conventions (camelCase, money as
//! decimal reais, times RFC 3339 UTC).

use entreposto_app::CatalogView;
use entreposto_domain::{Credential, Product, Ticket, TicketMessage, Timestamp};
use entreposto_store::events::{EventPayloads, ProductHead};
use entreposto_store::{CatalogLinks, Conciliation, ExtractLine, ImportJob, OrderView};
use serde::Serialize;

use crate::catalog::{job_out, product_out};
use crate::dto::OrderOut;
use crate::finance::conciliation_out;
use crate::tickets::ticket_out;

/// The native renderer of event payloads.
#[derive(Debug, Default, Clone, Copy)]
pub struct NativePayloads;

/// A credential as events show it (never its secret).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialOut {
    pub id: String,
    /// `null` for an operator's credential.
    pub seller: Option<String>,
    pub dialect: String,
    pub user_email: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A deleted product's identity.
#[derive(Serialize)]
pub struct DeletedProductOut<'a> {
    pub id: String,
    pub seller: &'a str,
    pub sku: &'a str,
}

/// An extract line (Koncili's words for its fields live in that dialect).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineOut {
    pub id: String,
    pub seller: String,
    pub channel: String,
    pub order_code: String,
    /// `SALE`, `COMISSION` or `SHIP`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub installment: u32,
    pub expected_value: Option<f64>,
    pub expected_date: Option<String>,
    pub released_value: Option<f64>,
    pub released_date: Option<String>,
    /// `WAITING`, `CONCILIED` or `DIVERGENT`.
    pub situation: &'static str,
    pub partial: bool,
    pub observation: Option<String>,
    pub conciliation_id: Option<i64>,
    pub updated_at: String,
}

/// JSON text of a value made of strings, numbers and lists (it cannot fail).
fn text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl EventPayloads for NativePayloads {
    fn order(&self, view: &OrderView) -> String {
        text(&OrderOut::from(view))
    }

    fn ticket(&self, ticket: &Ticket, messages: &[TicketMessage]) -> String {
        text(&ticket_out(ticket, messages))
    }

    fn product(&self, product: &Product, links: &CatalogLinks) -> String {
        let view = CatalogView {
            links: links.clone(),
            ..CatalogView::default()
        };
        text(&product_out(product, &view))
    }

    fn product_deleted(&self, head: ProductHead<'_>) -> String {
        text(&DeletedProductOut {
            id: head.id.to_string(),
            seller: head.seller_id,
            sku: head.sku,
        })
    }

    fn import_job(&self, job: &ImportJob) -> String {
        text(&job_out(job, None))
    }

    fn credential(&self, c: &Credential) -> String {
        text(&CredentialOut {
            id: c.id.clone(),
            seller: c.seller_id.clone(),
            dialect: c.dialect.as_str().to_string(),
            user_email: c.user_email.clone(),
            created_at: c.created_at.to_rfc3339_utc(),
            revoked_at: c.revoked_at.map(Timestamp::to_rfc3339_utc),
        })
    }

    fn conciliation(&self, c: &Conciliation) -> String {
        text(&conciliation_out(c))
    }

    fn extract_line(&self, l: &ExtractLine) -> String {
        use entreposto_store::finance_json::{kind_code, situation_code};
        text(&LineOut {
            id: l.id.to_string(),
            seller: l.seller_id.clone(),
            channel: l.channel.clone(),
            order_code: l.key.order_code.clone(),
            kind: kind_code(l.key.kind),
            installment: l.key.plot_number,
            expected_value: l.expected_value.map(|c| c.to_decimal()),
            expected_date: l.expected_date.map(Timestamp::to_rfc3339_utc),
            released_value: l.released_value.map(|c| c.to_decimal()),
            released_date: l.released_date.map(Timestamp::to_rfc3339_utc),
            situation: situation_code(l.situation),
            partial: l.partial,
            observation: l.observation.clone(),
            conciliation_id: l.conciliation_id,
            updated_at: l.updated_at.to_rfc3339_utc(),
        })
    }
}
