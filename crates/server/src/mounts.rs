//! The APIs this binary serves: one line per dialect crate (and the native API).
//!
//! Everything that has to know every API (the shared router, framework errors
//! rendered in the owner's envelope, the headers shown when a credential is issued)
//! reads this list, so a fifth dialect is one crate and one line here.

use entreposto_app::{App, AppError};
use entreposto_domain::{Dialect, RateLimit};
use entreposto_http::auth::IssuedCredential;
use entreposto_http::Mount;

/// Every API the hub serves, each under its prefix on the shared listener.
pub static MOUNTS: [Mount; 5] = [
    entreposto_api_native::MOUNT,
    entreposto_dialect_skyhub::MOUNT,
    entreposto_dialect_omnik::MOUNT,
    entreposto_dialect_zerok::MOUNT,
    entreposto_dialect_koncili::MOUNT,
];

/// Issues a credential ([`entreposto_http::auth::issue_credential`]) with the headers
/// its dialect's mount names.
pub async fn issue_credential(
    app: &App,
    operator_id: &str,
    seller_id: Option<&str>,
    dialect: Dialect,
    user_email: Option<String>,
) -> Result<IssuedCredential, AppError> {
    issue_limited_credential(app, operator_id, seller_id, dialect, user_email, None).await
}

/// [`issue_credential`], the credential limited to its own `rate_limit`.
pub async fn issue_limited_credential(
    app: &App,
    operator_id: &str,
    seller_id: Option<&str>,
    dialect: Dialect,
    user_email: Option<String>,
    rate_limit: Option<RateLimit>,
) -> Result<IssuedCredential, AppError> {
    entreposto_http::auth::issue_credential(
        app,
        &MOUNTS,
        operator_id,
        seller_id,
        dialect,
        user_email,
        rate_limit,
    )
    .await
}
