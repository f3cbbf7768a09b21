//! Webhook delivery, the IO half of webhooks: the outbox sink that fans events out
//! into deliveries ([`relay`]), the dispatcher that sends them ([`dispatch`]), their
//! Standard Webhooks signatures ([`sign`]) and the guard that keeps them off private
//! addresses ([`guard`]). What a delivery's outcome means (retries, disabling) is
//! decided by the application (`entreposto_app::webhooks`).
#![forbid(unsafe_code)]

pub mod dispatch;
pub mod guard;
pub mod relay;
pub mod sign;

pub use dispatch::{Dispatcher, DispatcherOptions};
pub use relay::Relay;
