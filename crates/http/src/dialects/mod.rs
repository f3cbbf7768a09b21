//! Vendor dialects: each serves one vendor's API, faithfully, over the domain.
//!
//! A dialect module owns its auth extractor (reading that vendor's headers), its error
//! envelope, its DTOs and routes. Vendor words stay inside their module.

pub mod koncili;
pub mod omnik;
pub mod skyhub;
pub mod zerok;

use std::collections::BTreeMap;

use axum::handler::Handler;
use axum::routing::{any, MethodRouter};
use axum::Router;
use entreposto_domain::Dialect;

use crate::envelope::render;
use crate::{AppState, Renderer};

/// One API the hub serves: where it is mounted, its routes (given that prefix), and
/// how it renders an error for a path below its prefix (given the rest of the path).
pub struct Mount {
    pub prefix: &'static str,
    pub routes: fn(&'static str) -> Router<AppState>,
    pub renderer: fn(&str) -> Renderer,
}

/// The routes of one mounted API, written relative to its prefix and registered with
/// the full path.
///
/// axum's `Router::nest` would do the prefixing, but at a price on every request:
/// each nested route is wrapped in layers that rebuild the request's URI without the
/// prefix and record the nesting, two more boxed futures and a URI parse per call, a
/// few percent of a point read. Registering full paths routes in one lookup; the
/// nested router's fallback becomes a catch-all route under the prefix.
pub(crate) struct Routes {
    prefix: &'static str,
    router: Router<AppState>,
}

impl Routes {
    pub(crate) fn under(prefix: &'static str) -> Routes {
        Routes {
            prefix,
            router: Router::new(),
        }
    }

    /// Adds `path` (relative to the prefix, starting with `/`).
    pub(crate) fn route(self, path: &str, methods: MethodRouter<AppState>) -> Routes {
        Routes {
            router: self
                .router
                .route(&format!("{}{path}", self.prefix), methods),
            ..self
        }
    }

    /// The finished router: a method a route does not serve gets `not_allowed`, and any
    /// other path under the prefix (the prefix itself included) gets `unknown`.
    pub(crate) fn finish<H, T, M, U>(self, unknown: H, not_allowed: M) -> Router<AppState>
    where
        H: Handler<T, AppState>,
        T: 'static,
        M: Handler<U, AppState>,
        U: 'static,
    {
        let p = self.prefix;
        self.router
            .method_not_allowed_fallback(not_allowed)
            .route(p, any(unknown.clone()))
            .route(&format!("{p}/"), any(unknown.clone()))
            .route(&format!("{p}/{{*rest}}"), any(unknown))
    }
}

/// Every API and its mount point: the router merges them and errors the framework
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
