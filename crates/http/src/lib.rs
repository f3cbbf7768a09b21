//! The HTTP edge every API of Entreposto shares: auth extractors' building blocks
//! and the credential cache, errors and the [`envelope::Envelope`] trait, body
//! limits and parsing, rendering, metrics, and the router that puts the mounts
//! together.
//!
//! The APIs themselves (each vendor dialect, the native API) live in crates of their
//! own and describe themselves with a [`Mount`]; the server lists them and passes the
//! list to [`router`]. Each lives under its own prefix with its own auth extractor and
//! error envelope, so a client gets exactly the bodies its vendor documents, failures
//! included. Errors are one [`ApiError`] everywhere, rendered per dialect only at the
//! edge.
//!
//! Unsafe code is denied here except in [`json_writer`], which `[http] fast_json =
//! false` ([`HttpOptions::fast_json`]) switches off.
#![deny(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use entreposto_store::Store;

pub mod auth;
pub mod body;
pub mod envelope;
pub mod error;
pub mod idempotency;
#[allow(unsafe_code)]
pub mod json_writer;
pub mod limits;
pub mod metrics;
pub mod mount;
pub mod openapi;
pub mod outbound;
pub mod query;
pub mod rate_limit;
pub mod reply;
pub mod signed;

pub use error::ApiError;
pub use mount::{credential_headers, Mount, Routes};

/// Largest request body accepted on every path but the few whose mount allows more
/// ([`Mount::body_limit`]); bigger ones get a 413 in the dialect's shape.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body limit of the path a request was routed to when it is not
/// [`MAX_BODY_BYTES`], set by the JSON edge for [`body::read_limited`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// What every handler can reach. One `Arc`, so the per-request clones axum makes of
/// the state cost one atomic increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What the routers of every listener share (the store, the credential cache, the
/// metrics), and the one thing each has of its own: its URL.
pub struct Shared {
    /// The use cases: every change goes through them.
    pub app: entreposto_app::App,
    /// Reads that decide nothing: writes go through `app` only.
    pub store: entreposto_app::Reads,
    pub credentials: Arc<auth::CredentialCache>,
    pub metrics: Arc<metrics::Metrics>,
    /// The URL clients reach this router's listener at (`http://host:port`, no
    /// trailing slash), for links such as SkyHub's `next_page`: request paths are
    /// appended to it as they came, prefix included on the shared listener. Never
    /// taken from the `Host` header, which some clients force to the vendor's own host.
    pub public_url: String,
    /// The digest of the `cursor_secret` setting, half of the key page cursors are
    /// signed with ([`signed`]).
    pub cursor_secret: [u8; 32],
    /// See [`HttpOptions::fast_json`].
    pub fast_json: bool,
    /// See [`HttpOptions::dialect_settings`].
    pub dialect_settings: Arc<std::collections::BTreeMap<String, String>>,
    /// Every credential's request rate ([`rate_limit`]), checked by the JSON edge.
    pub limiter: Arc<rate_limit::Limiter>,
    /// The answers kept for `Idempotency-Key` retries ([`idempotency`]).
    pub idempotency: Arc<idempotency::Keys>,
}

impl Shared {
    /// A dialect's own setting (`koncili.extract_shape`), if configured.
    pub fn dialect_setting(&self, key: &str) -> Option<&str> {
        self.dialect_settings.get(key).map(String::as_str)
    }
}

/// Settings of the HTTP edge (`[http]` in the configuration file).
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// How long a verified credential is trusted before it is read again: a
    /// revocation takes effect within this time. Zero reads it on every request.
    pub credential_ttl: Duration,
    /// Serialize the hot read responses with [`json_writer`] (faster, and unsafe code)
    /// instead of serde_json. Both write the same bytes.
    pub fast_json: bool,
    /// Settings of one dialect each, by `<dialect>.<key>` (`koncili.extract_shape`):
    /// the server validates and fills them, the dialect that owns a key reads it, and
    /// the edge itself never looks at them.
    pub dialect_settings: std::collections::BTreeMap<String, String>,
    /// The `[rate_limits]` settings.
    pub rate_limits: rate_limit::RateLimitSettings,
    /// How long a request holds its `Idempotency-Key` before a retry may take it over
    /// as abandoned: longer than the request deadline, so a request still running is
    /// never taken over.
    pub idempotency_lease: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            credential_ttl: Duration::from_secs(1),
            fast_json: true,
            dialect_settings: Default::default(),
            rate_limits: Default::default(),
            idempotency_lease: Duration::from_secs(60),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The state with the default [`HttpOptions`].
    pub fn new(store: Arc<dyn Store>, public_url: &str) -> AppState {
        AppState::with_options(store, public_url, HttpOptions::default())
    }

    pub fn with_options(store: Arc<dyn Store>, public_url: &str, options: HttpOptions) -> AppState {
        AppState(Arc::new(Shared {
            credentials: Arc::new(auth::CredentialCache::new(
                store.clone(),
                options.credential_ttl,
            )),
            store: entreposto_app::Reads::new(store.clone()),
            app: entreposto_app::App::with_system_clock(store.clone()),
            metrics: Arc::default(),
            public_url: public_url.trim_end_matches('/').to_string(),
            // Until `with_cursor_secret` gives it the database's key, a state signs
            // under a key of this process alone.
            cursor_secret: signed::server_secret(&rand::random(), None),
            fast_json: options.fast_json,
            dialect_settings: Arc::new(options.dialect_settings),
            limiter: Arc::new(rate_limit::Limiter::new(options.rate_limits, store.clone())),
            idempotency: Arc::new(idempotency::Keys::new(store, options.idempotency_lease)),
        }))
    }

    /// This state with cursors signed under the database's stored key (see
    /// [`signed`]) and the `cursor_secret` setting.
    pub fn with_cursor_secret(&self, stored_key: &[u8; 32], setting: Option<&str>) -> AppState {
        AppState(Arc::new(Shared {
            cursor_secret: signed::server_secret(stored_key, setting),
            ..self.parts()
        }))
    }

    /// The same store, credential cache and metrics, for a listener reached at
    /// `public_url`.
    pub fn at(&self, public_url: &str) -> AppState {
        AppState(Arc::new(Shared {
            public_url: public_url.trim_end_matches('/').to_string(),
            ..self.parts()
        }))
    }

    /// A copy of what this state holds, the shared parts shared.
    /// This state with its use cases run by `app` (one set up with other settings,
    /// such as its import lease).
    pub fn with_app(&self, app: entreposto_app::App) -> AppState {
        AppState(Arc::new(Shared {
            app,
            ..self.parts()
        }))
    }

    fn parts(&self) -> Shared {
        Shared {
            app: self.app.clone(),
            store: self.store.clone(),
            credentials: self.credentials.clone(),
            metrics: self.metrics.clone(),
            public_url: self.public_url.clone(),
            cursor_secret: self.cursor_secret,
            fast_json: self.fast_json,
            dialect_settings: self.dialect_settings.clone(),
            limiter: self.limiter.clone(),
            idempotency: self.idempotency.clone(),
        }
    }
}

/// The shared listener's router: every API of `mounts` under its prefix, plus
/// `/health` and `/metrics`.
pub fn router(state: AppState, mounts: &'static [Mount]) -> Router {
    let router = mounts
        .iter()
        .fold(Router::new(), |r, m| r.merge((m.routes)(m.prefix)));
    edge(
        router.route("/metrics", get(metrics::render)),
        state,
        Owners::Prefixed(mounts),
    )
}

/// The router of a listener of `mount`'s own: its paths without the prefix (SkyHub's
/// `/sac`, as its official SDK builds them on the host's root), and `/health`. Every
/// error, the framework's 404 and 405 included, is in `mount`'s envelope. `state`
/// carries this listener's URL ([`AppState::at`]).
pub fn root_router(state: AppState, mount: &'static Mount) -> Router {
    edge((mount.routes)(""), state, Owners::Root(mount))
}

/// What every router gets: `/health`, the fallback, metrics, the JSON edge and the
/// body limit.
fn edge(router: Router<AppState>, state: AppState, owners: Owners) -> Router {
    router
        .route("/health", get(health))
        // A bare 404: the JSON edge renders it in the envelope of the path's owner.
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (owners, state.clone()),
            json_edge,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// How the API that owns a path renders an error.
pub type Renderer = fn(&ApiError) -> Response;

/// Who owns the paths a router serves, for rendering errors (also outside the
/// router: the listener's own refusals).
#[derive(Clone, Copy)]
pub enum Owners {
    /// The shared listener: the mount whose prefix the path starts with; paths no
    /// mount owns answer in the hub's plain envelope.
    Prefixed(&'static [Mount]),
    /// A listener of one mount's own: every path is that mount's.
    Root(&'static Mount),
}

impl std::fmt::Debug for Owners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owners::Prefixed(mounts) => f
                .debug_tuple("Prefixed")
                .field(&mounts.iter().map(Mount::name).collect::<Vec<_>>())
                .finish(),
            Owners::Root(m) => f.debug_tuple("Root").field(&m.name()).finish(),
        }
    }
}

impl Owners {
    /// The mount that owns `path`, and the length of the prefix it is served under
    /// there (`path[len..]` is the path below it); none for paths no API owns.
    pub fn mount_of(self, path: &str) -> Option<(&'static Mount, usize)> {
        match self {
            // A prefix owns itself and what is below it (`/skyhub`, `/skyhub/sac`), not
            // a longer name that starts with it (`/skyhubx`).
            Owners::Prefixed(mounts) => mounts.iter().find_map(|m| {
                let rest = path.strip_prefix(m.prefix)?;
                (rest.is_empty() || rest.starts_with('/')).then_some((m, m.prefix.len()))
            }),
            Owners::Root(m) => Some((m, 0)),
        }
    }

    pub fn renderer_for(self, path: &str) -> Renderer {
        match self.mount_of(path) {
            Some((m, at)) => (m.renderer)(&path[at..]),
            None => envelope::render::<envelope::Plain>,
        }
    }

    /// The largest body `path` takes: its mount's limit for it, else
    /// [`MAX_BODY_BYTES`].
    pub fn body_limit_for(self, path: &str) -> usize {
        match self.mount_of(path) {
            Some((m, at)) => (m.body_limit)(&path[at..]),
            None => MAX_BODY_BYTES,
        }
    }
}

/// The JSON edge every request passes. Every response is JSON with
/// `Content-Type: application/json`, a 204 without a body included: some vendor
/// clients crash on anything else, one of them on a 204 without it. Errors produced by the
/// framework itself (an undecodable path segment, a wrong method) arrive as plain
/// text and are re-rendered in the dialect's envelope. A `%00` anywhere in the URI is
/// refused up front: PostgreSQL cannot store NUL characters, and no vendor sends them;
/// so are a URI, headers or declared body over the limits of [`limits`] (the body's,
/// the path's [`Mount::body_limit`], is left on the request as a [`BodyLimit`]).
/// A panicking handler answers a 500 in the envelope instead of a dropped connection.
///
/// A request that presents a credential of the API that owns its path (found by the
/// mount's [`Mount::secret`]) has it verified here, the outcome left on the request
/// for the API's extractor ([`auth::Checked`]), and, when it is valid, is charged to
/// the credential's rate limit ([`rate_limit`]) and, with an `Idempotency-Key`, run
/// at most once for that key ([`idempotency`]). One function rather than layers of
/// their own: each layer costs every request another boxed future.
async fn json_edge(
    axum::extract::State((owners, state)): axum::extract::State<(Owners, AppState)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let uri = req.uri();
    let owner = owners.mount_of(uri.path());
    let render = match owner {
        Some((m, at)) => (m.renderer)(&uri.path()[at..]),
        None => envelope::render::<envelope::Plain>,
    };
    if uri.path().contains("%00") {
        return render(&ApiError::invalid("path", "contains a NUL character"));
    }
    if let Some(q) = uri.query().filter(|q| q.contains("%00")) {
        // Named by its parameter, as every other query mistake is.
        let name = q
            .split('&')
            .find(|pair| pair.contains("%00"))
            .map(|pair| pair.split('=').next().unwrap_or_default())
            .map(|n| {
                percent_encoding::percent_decode_str(n)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .filter(|n| !n.is_empty() && !n.contains('\0'))
            .unwrap_or_else(|| "query".into());
        return render(&ApiError::invalid(name, "contains a NUL character"));
    }
    // Most requests carry no body, and most paths take the default limit: neither
    // looks anything up or inserts anything.
    let limit = match owner {
        Some((m, at)) if !axum::body::HttpBody::is_end_stream(req.body()) => {
            (m.body_limit)(&uri.path()[at..])
        }
        _ => MAX_BODY_BYTES,
    };
    let mut req = match limits::refuse_oversize(req, render, limit) {
        Ok(req) => req,
        Err(res) => return *res,
    };
    if limit != MAX_BODY_BYTES {
        req.extensions_mut().insert(BodyLimit(limit));
    }
    let fast_json = state.fast_json;
    let Some((mount, at)) = owner else {
        return respond(render, fast_json, req, next).await;
    };
    let Some(secret) = (mount.secret)(req.headers()) else {
        return respond(render, fast_json, req, next).await;
    };
    let outcome = state.credentials.verify(secret, mount.dialect).await;
    let principal = outcome.as_ref().ok().cloned();
    req.extensions_mut().insert(auth::Checked {
        dialect: mount.dialect,
        outcome,
    });
    // A request that fails its credentials is charged to none: its extractor refuses it.
    let Some(principal) = principal else {
        return respond(render, fast_json, req, next).await;
    };
    let now = state.app.now();
    let charge = state
        .limiter
        .charge(
            &principal.credential,
            req.method(),
            &req.uri().path()[at..],
            now,
        )
        .await;
    if let Some(c) = charge.filter(|c| !c.admission.admitted) {
        let mut res = render(&ApiError::TooManyRequests {
            limit: c.limit,
            retry_after: c.retry_after_secs(),
        });
        c.write_headers(res.headers_mut());
        return res;
    }
    let mut res = match idempotency::requested_key(req.method(), req.headers()) {
        None => respond(render, fast_json, req, next).await,
        Some(Err(e)) => render(&e),
        Some(Ok(key)) => idempotent(&state, render, &principal, mount, key, at, req, next).await,
    };
    if let Some(c) = charge {
        c.write_headers(res.headers_mut());
    }
    res
}

/// Runs a request with an `Idempotency-Key` once for its credential, operation and
/// key (see [`idempotency`]); `at` is the length of `mount`'s prefix on this listener.
#[allow(clippy::too_many_arguments)]
async fn idempotent(
    state: &AppState,
    render: Renderer,
    principal: &auth::Principal,
    mount: &Mount,
    key: String,
    at: usize,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let limit = parts
        .extensions
        .get::<BodyLimit>()
        .map_or(MAX_BODY_BYTES, |l| l.0);
    let bytes = match body::read_body(body, limit).await {
        Ok(b) => b,
        Err(e) => return render(&e),
    };
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    // The headers the API's clients send with their credential (names only: the
    // values are placeholders), and those that choose the request's scope.
    let names = (mount.credential_headers)("", "", Some(""));
    let headers: Vec<(&str, Option<&[u8]>)> = names
        .iter()
        .map(|(name, _)| *name)
        .chain(mount.scope_headers.iter().copied())
        .map(|name| (name, parts.headers.get(name).map(|v| v.as_bytes())))
        .collect();
    let hash = idempotency::request_hash(&parts.method, &target[at..], &headers, &bytes);
    let key = idempotency::operation_key(&parts.method, &parts.uri.path()[at..], &key);
    let id = &principal.credential.id;
    match state
        .idempotency
        .begin(id, key, hash, state.app.now())
        .await
    {
        idempotency::Begun::Refused(e) => render(&e),
        idempotency::Begun::Replay(res) => res,
        idempotency::Begun::Claimed(claim) => {
            let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
            let res = respond(render, state.fast_json, req, next).await;
            state.idempotency.finish(claim, res).await
        }
    }
}

/// The handler's answer to `req`, as JSON in the envelope of the API (`render`).
async fn respond(
    render: Renderer,
    fast_json: bool,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // A panicking handler (a bug) answers a 500 in the dialect's envelope instead of
    // dropping the connection without a response.
    let handled = reply::serving(fast_json, next.run(req));
    let mut res =
        match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(handled)).await {
            Ok(res) => res,
            Err(_) => {
                tracing::error!("handler panicked");
                return render(&ApiError::Internal);
            }
        };
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let err = match status {
            StatusCode::NOT_FOUND => ApiError::NotFound("no such route".into()),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNAUTHORIZED => {
                ApiError::Unauthorized("invalid or missing credentials".into())
            }
            s if s.is_server_error() => ApiError::Internal,
            _ => ApiError::invalid("path", "the request path or query could not be read"),
        };
        return render(&err);
    }
    if !res.headers().contains_key(header::CONTENT_TYPE) {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    res
}
