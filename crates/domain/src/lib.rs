//! The business types and rules of Entreposto, shared by every dialect and backend.
//!
//! Nothing here does IO or knows about HTTP, SQL or any vendor's JSON: a dialect parses
//! its wire format into these types (and gets a [`FieldError`] naming the offending
//! field when the input breaks a rule), the store persists them, and a dialect renders
//! them back. Money is integer centavos ([`Cents`]), time is UTC microseconds
//! ([`Timestamp`]).
#![forbid(unsafe_code)]

pub mod catalog;
pub mod document;
pub mod email;
pub mod error;
pub mod event;
pub mod finance;
pub mod fiscal;
pub mod gtin;
pub mod lifecycle;
pub mod money;
pub mod order;
pub mod order_progress;
pub mod rate_limit;
pub mod search;
pub mod tenant;
pub mod ticket;
pub mod ticket_change;
pub mod time;
pub mod vocabulary;
pub mod webhook;

pub use catalog::*;
pub use document::{Document, DocumentKind};
pub use email::check_email;
pub use error::FieldError;
pub use event::*;
pub use finance::*;
pub use fiscal::{NfeAccessKey, TrackingCode};
pub use gtin::Gtin;
pub use lifecycle::{Actor, IllegalTransition, OrderState, TransitionFacts};
pub use money::Cents;
pub use order::*;
pub use order_progress::*;
pub use rate_limit::{Admission, RateLimit};
pub use tenant::*;
pub use ticket::*;
pub use ticket_change::*;
pub use time::Timestamp;
pub use vocabulary::{
    parse_country, parse_gender, parse_payment_method, parse_phone_type, COUNTRIES, GENDERS,
    PAYMENT_METHODS, PHONE_TYPES,
};
pub use webhook::{
    DeliveryState, DisabledReason, EventFilter, PreviousSecret, WebhookEndpoint, WebhookSecret,
    WebhookUrl,
};
