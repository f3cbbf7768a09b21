//! The mount table's types: what an API served by the hub tells the edge about itself.
//!
//! Each dialect crate (and the native API) exports one [`Mount`]; the server lists
//! them and hands the list to [`crate::router`]. The edge never names a vendor: it
//! routes, renders framework errors and builds credential headers through the table.

use std::collections::BTreeMap;

use axum::handler::Handler;
use axum::routing::{any, MethodRouter};
use axum::Router;
use entreposto_domain::Dialect;

use crate::{AppState, Renderer};

/// The headers a client sends with a credential, given the credential's id, its
/// secret and (SkyHub) the user e-mail it was issued for.
pub type CredentialHeaders = fn(&str, &str, Option<&str>) -> Vec<(&'static str, String)>;

/// One API the hub serves: the credentials it accepts, where it is mounted on the
/// shared listener, its routes (given a prefix: the mount's, or `""` at the root of
/// a listener of its own), how it renders an error for a path it owns (given the
/// path below its prefix), and the headers its clients send.
#[derive(Clone, Copy)]
pub struct Mount {
    pub dialect: Dialect,
    pub prefix: &'static str,
    pub routes: fn(&'static str) -> Router<AppState>,
    pub renderer: fn(&str) -> Renderer,
    pub credential_headers: CredentialHeaders,
    /// Whether its credentials carry a user e-mail the client sends with the secret
    /// (SkyHub's `X-User-Email`).
    pub user_email: bool,
}

impl Mount {
    /// The API's name, as `--dialect` and the config's `[dialects.<name>]` spell it.
    pub fn name(&self) -> &str {
        self.dialect.as_str()
    }
}

/// The routes of one mounted API, written relative to its prefix and registered with
/// the full path.
///
/// axum's `Router::nest` would do the prefixing, but at a price on every request:
/// each nested route is wrapped in layers that rebuild the request's URI without the
/// prefix and record the nesting, two more boxed futures and a URI parse per call, a
/// few percent of a point read. Registering full paths routes in one lookup; the
/// nested router's fallback becomes a catch-all route under the prefix.
pub struct Routes {
    prefix: &'static str,
    router: Router<AppState>,
}

impl Routes {
    pub fn under(prefix: &'static str) -> Routes {
        Routes {
            prefix,
            router: Router::new(),
        }
    }

    /// Adds `path` (relative to the prefix, starting with `/`).
    pub fn route(self, path: &str, methods: MethodRouter<AppState>) -> Routes {
        Routes {
            router: self
                .router
                .route(&format!("{}{path}", self.prefix), methods),
            ..self
        }
    }

    /// The finished router: a method a route does not serve gets `not_allowed`, and any
    /// other path under the prefix (the prefix itself included) gets `unknown`.
    pub fn finish<H, T, M, U>(self, unknown: H, not_allowed: M) -> Router<AppState>
    where
        H: Handler<T, AppState>,
        T: 'static,
        M: Handler<U, AppState>,
        U: 'static,
    {
        let p = self.prefix;
        let mut router = self.router.method_not_allowed_fallback(not_allowed);
        // At the root of a listener of its own the prefix is empty, and `/` below
        // covers it.
        if !p.is_empty() {
            router = router.route(p, any(unknown.clone()));
        }
        router
            .route(&format!("{p}/"), any(unknown.clone()))
            .route(&format!("{p}/{{*rest}}"), any(unknown))
    }
}

/// The headers a client of `dialect` sends with a credential, from the mount that
/// serves `dialect` (none when no mount does).
pub fn credential_headers(
    mounts: &[Mount],
    dialect: Dialect,
    id: &str,
    secret: &str,
    user_email: Option<&str>,
) -> BTreeMap<String, String> {
    mounts
        .iter()
        .filter(|m| m.dialect == dialect)
        .flat_map(|m| (m.credential_headers)(id, secret, user_email))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// An API's OpenAPI document, its paths declared under `declared` (the mount's
/// prefix), as served under `prefix`: at the root of a listener of its own the
/// document lists `/sac`, not `/skyhub/sac`.
pub fn openapi_under(
    mut doc: utoipa::openapi::OpenApi,
    declared: &str,
    prefix: &str,
) -> utoipa::openapi::OpenApi {
    if declared != prefix {
        doc.paths.paths = std::mem::take(&mut doc.paths.paths)
            .into_iter()
            .map(|(path, item)| {
                let rest = path.strip_prefix(declared).unwrap_or(&path);
                (format!("{prefix}{rest}"), item)
            })
            .collect();
    }
    doc
}
