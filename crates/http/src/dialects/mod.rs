//! Vendor dialects: each serves one vendor's API, faithfully, over the domain.
//!
//! A dialect module owns its auth extractor (reading that vendor's headers), its error
//! envelope, its DTOs and routes. Vendor words stay inside their module.

pub mod koncili;
pub mod omnik;
pub mod skyhub;
pub mod zerok;

use std::collections::BTreeMap;

use entreposto_domain::Dialect;

/// The headers a client of `dialect` sends with a credential: each dialect names its
/// own, so vendor header names stay in their modules.
pub fn credential_headers(
    dialect: Dialect,
    id: &str,
    secret: &str,
    user_email: Option<&str>,
) -> BTreeMap<String, String> {
    let pairs: Vec<(&str, String)> = match dialect {
        Dialect::Skyhub => skyhub::credential_headers(secret, user_email.unwrap_or_default()),
        Dialect::Omnik => omnik::credential_headers(id, secret),
        Dialect::Zerok => zerok::credential_headers(secret),
        Dialect::Koncili => koncili::credential_headers(secret),
        Dialect::Native => crate::native::credential_headers(secret),
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
