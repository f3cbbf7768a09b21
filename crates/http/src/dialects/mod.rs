//! Vendor dialects: each serves one vendor's API, faithfully, over the domain.
//!
//! A dialect module owns its auth extractor (reading that vendor's headers), its error
//! envelope, its DTOs and routes. Vendor words stay inside their module.

pub mod koncili;
pub mod omnik;
pub mod skyhub;
pub mod zerok;

use std::collections::BTreeMap;

use axum::Router;
use entreposto_domain::Dialect;

use crate::envelope::render;
use crate::{AppState, Renderer};

/// One API the hub serves: where it is mounted, its routes, and how it renders an
/// error for a path below its prefix (given the rest of the path).
pub struct Mount {
    pub prefix: &'static str,
    pub routes: fn() -> Router<AppState>,
    pub renderer: fn(&str) -> Renderer,
}

/// Every API and its mount point: the router nests them and errors the framework
/// raises are re-rendered by the owner of the path, from this one table.
pub const MOUNTS: [Mount; 5] = [
    Mount {
        prefix: "/api/v1",
        routes: crate::native::routes,
        renderer: |_| render::<crate::native::Native>,
    },
    Mount {
        prefix: "/skyhub",
        routes: skyhub::routes,
        renderer: |_| render::<skyhub::Skyhub>,
    },
    Mount {
        prefix: "/omnik",
        routes: omnik::routes,
        renderer: omnik::renderer,
    },
    Mount {
        prefix: "/00k",
        routes: zerok::routes,
        renderer: |_| render::<zerok::Zerok>,
    },
    Mount {
        prefix: "/koncili",
        routes: koncili::routes,
        renderer: |_| render::<koncili::Koncili>,
    },
];

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
